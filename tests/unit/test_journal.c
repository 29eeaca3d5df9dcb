/*
 * The journal (journal.h): its lines, and the replay that rebuilds a
 * stream from them, torn, damaged or rotated.
 */
#include <jansson.h>

#include "lshop/interaction.h"
#include "lshop/journal.h"

#include "timeline.h"

/* What a replay handed out. */
typedef struct seen {
	size_t offers, events, restored, checkpoints, orders;
	uint64_t checkpoint_seq;
	int64_t checkpoint_file;
	uint64_t last_seq;
	char offer_ids[8][LSHOP_ID_MAX + 1];
	int64_t offer_at[8];
	uint64_t restored_seq[4];
	lshop_event_type restored_type[4];
	size_t stop_at_event; /* the callback stops at this event; 0 never */
	/* orders, when the test keeps them (order_log not NULL) */
	lshop_order *order_log;
	lshop_provider order_provider[8];
	int64_t order_at[8];
	int stop_at_order; /* order() stops at the first one */
	/* the events handed out, each "restored JSON\n", when kept */
	char *trail;
	size_t trail_len;
	int keep_trail;
} seen;

static int on_order(void *arg, const lshop_order *order, lshop_provider p,
		    int64_t at_ms)
{
	seen *s = arg;

	if (s->stop_at_order)
		return -1;
	if (s->order_log != NULL && s->orders < 8) {
		s->order_log[s->orders] = *order;
		s->order_provider[s->orders] = p;
		s->order_at[s->orders] = at_ms;
	}
	s->orders++;
	return 0;
}

static void trail_add(seen *s, const char *json, size_t len, int restored)
{
	s->trail = realloc(s->trail, s->trail_len + len + 4);
	assert_non_null(s->trail);
	s->trail_len +=
	    (size_t)sprintf(s->trail + s->trail_len, "%d ", restored);
	memcpy(s->trail + s->trail_len, json, len);
	s->trail_len += len;
	s->trail[s->trail_len++] = '\n';
	s->trail[s->trail_len] = '\0';
}

static int on_offer(void *arg, const lshop_offer *offer, int64_t at_ms)
{
	seen *s = arg;

	if (s->offers < 8) {
		strcpy(s->offer_ids[s->offers], offer->id);
		s->offer_at[s->offers] = at_ms;
	}
	s->offers++;
	return 0;
}

static int on_checkpoint(void *arg, uint64_t seq, int64_t file)
{
	seen *s = arg;

	s->checkpoint_file = file;
	s->checkpoints++;
	s->checkpoint_seq = seq;
	/* The catalog starts over. */
	s->offers = 0;
	return 0;
}

static int on_event(void *arg, const lshop_event *ev, const char *json,
		    size_t len, int restored)
{
	seen *s = arg;
	lshop_event back;
	lshop_error err;

	/* json is the event itself, without the line's end. */
	assert_int_equal(lshop_event_parse(json, len, &back, &err), 0);
	assert_true(back.seq == ev->seq);
	assert_int_equal(back.type, ev->type);
	assert_null(memchr(json, '\n', len));
	if (s->keep_trail)
		trail_add(s, json, len, restored);
	if (restored) {
		assert_true(s->restored < 4);
		s->restored_seq[s->restored] = ev->seq;
		s->restored_type[s->restored] = ev->type;
		s->restored++;
		return 0;
	}
	s->events++;
	s->last_seq = ev->seq;
	if (s->stop_at_event != 0 && s->events == s->stop_at_event)
		return -1;
	return 0;
}

static lshop_replay_ops ops_for(seen *s)
{
	lshop_replay_ops ops = {.arg = s,
				.offer = on_offer,
				.checkpoint = on_checkpoint,
				.order = on_order,
				.event = on_event};
	lshop_order *log = s->order_log;
	int keep_trail = s->keep_trail;
	char *trail = s->trail;

	/* A test's order log and trail outlive a replay; the rest starts
	 * over. */
	memset(s, 0, sizeof(*s));
	s->order_log = log;
	s->keep_trail = keep_trail;
	s->trail = trail;
	return ops;
}

/* Replays buf onto a fresh state; returns replay's result code. */
static int replay(const char *buf, size_t len, lshop_state *st, seen *s,
		  lshop_replay_result *res)
{
	lshop_replay_ops ops = ops_for(s);

	lshop_state_init(st);
	return lshop_journal_replay(buf, len, st, &ops, res);
}

static size_t count_lines(const char *buf, size_t len)
{
	size_t n = 0, i;

	for (i = 0; i < len; i++)
		n += buf[i] == '\n';
	return n;
}

/* The offset just after the k-th line (1-based) of buf. */
static size_t after_line(const char *buf, size_t k)
{
	const char *p = buf;

	while (k-- > 0) {
		p = strchr(p, '\n');
		assert_non_null(p);
		p++;
	}
	return (size_t)(p - buf);
}

/* buf with extra inserted at offset at; malloc'd. */
static char *insert_at(const char *buf, size_t len, size_t at,
		       const char *extra, size_t *out_len)
{
	size_t n = strlen(extra);
	char *out = malloc(len + n + 1);

	assert_non_null(out);
	memcpy(out, buf, at);
	memcpy(out + at, extra, n);
	memcpy(out + at + n, buf + at, len - at);
	out[len + n] = '\0';
	*out_len = len + n;
	return out;
}

static lshop_offer ad_a, plain, sponsored_c;

static int setup(void **state)
{
	(void)state;
	ad_a = make_offer("sku-a", "19.99", "ad");
	plain = make_offer("sku-plain", "9.99", NULL);
	sponsored_c = make_offer("sku-c", "5", "sponsored");
	strcpy(sponsored_c.title, hostile_titles[1]); /* "a\r\nb" */
	return 0;
}

/* A stream with a bit of everything; the journal is in tl->journal. */
static void sample_history(timeline *tl)
{
	lshop_event evs[2];
	size_t n;

	tl_init(tl);
	tl_put(tl, &ad_a, T0 - 60000);
	tl_put(tl, &plain, T0 - 50000);
	tl_put(tl, &sponsored_c, T0 - 40000);
	tl_pin(tl, &ad_a, T0, 0);
	tl_countdown(tl, T0 + 1000, 30, "Nur noch 30 s", "sku-a");
	tl_purchase(tl, T0 + 2000, "sku-a", 2);
	n = lshop_stock_events("sku-a", 5, 0, T0 + 2000, evs);
	tl_apply(tl, evs, n);
	assert_int_equal(tl_tick(tl, T0 + 40000), 3); /* the tied end */
	tl_disclose(tl, T0 + 41000, "ad", "Dauerwerbesendung");
	tl_pin(tl, &sponsored_c, T0 + 42000, T0 + 100000);
	tl_pin(tl, &plain, T0 + 50000, 0);
	tl_countdown(tl, T0 + 51000, 600, "", NULL);
}

/* Lines */

static void test_offer_and_event_lines(void **state)
{
	lshop_offer o = make_offer("sku-123", "19.99", "ad");
	lshop_event ev;
	size_t len;
	char *line, *json;

	(void)state;
	line = lshop_journal_offer_line(&o, T0, &len);
	assert_non_null(line);
	assert_string_equal(
	    line, "{\"offer\":{\"id\":\"sku-123\",\"title\":\"Title of "
		  "sku-123\",\"price\":\"19.99\",\"currency\":\"EUR\","
		  "\"url\":\"https://shop.example/p/sku-123\","
		  "\"disclosure\":\"ad\"},\"at\":\"2026-11-24T10:00:"
		  "00.123Z\"}\n");
	assert_int_equal(len, strlen(line));
	free(line);

	/* Whatever the title holds, a record is one line. */
	strcpy(o.title, hostile_titles[1]);
	line = lshop_journal_offer_line(&o, T0, &len);
	assert_ptr_equal(strchr(line, '\n'), line + len - 1);
	free(line);

	memset(&ev, 0, sizeof(ev));
	ev.seq = 17;
	ev.type = LSHOP_OFFER_PINNED;
	ev.at_ms = T0;
	strcpy(ev.stream, STREAM);
	ev.offer = o;
	line = lshop_journal_event_line(&ev, &len);
	json = lshop_event_to_json(&ev, NULL);
	assert_int_equal(len, strlen(json) + 1);
	assert_memory_equal(line, json, len - 1);
	assert_string_equal(line + len - 1, "\n");
	assert_ptr_equal(strchr(line, '\n'), line + len - 1);
	free(line);
	free(json);
}

static void test_checkpoint_line(void **state)
{
	lshop_state st;
	lshop_offer catalog[2];
	timeline tl;
	char *line, *expected, *o0, *o1, *e[3];
	size_t len, i, off;
	lshop_event ev;
	lshop_error err;

	(void)state;
	/* Nothing yet. */
	lshop_state_init(&st);
	line = lshop_journal_checkpoint_line(&st, STREAM, T0, 1, NULL, 0, NULL, 0, &len);
	assert_string_equal(line,
			    "{\"checkpoint\":{\"seq\":0,\"at\":\"2026-11-24T10:"
			    "00:00.123Z\",\"file\":1,\"offers\":[],\"open\":[],"
			    "\"edges\":{}}}\n");
	assert_int_equal(len, strlen(line));
	free(line);

	/* An open pin with its tied disclosure, and a countdown: "open"
	 * holds exactly the events that opened them, in seq order. */
	tl_init(&tl);
	tl_pin(&tl, &ad_a, T0, T0 + 90000); /* seq 1 shown, 2 pinned */
	tl_countdown(&tl, T0 + 1000, 10, "x", "sku-a"); /* seq 3 */
	catalog[0] = ad_a;
	catalog[1] = plain;
	line = lshop_journal_checkpoint_line(&tl.st, STREAM, T0 + 5000, 1, catalog,
					     2, NULL, 0, &len);
	assert_non_null(line);
	o0 = lshop_offer_to_json(&ad_a, NULL);
	o1 = lshop_offer_to_json(&plain, NULL);
	for (i = 0, off = 0; i < 3; i++) {
		/* the journal's own lines are the opening events */
		size_t end = after_line(tl.journal, i + 1);

		assert_int_equal(lshop_event_parse(tl.journal + off,
						   end - off - 1, &ev, &err),
				 0);
		e[i] = lshop_event_to_json(&ev, NULL);
		off = end;
	}
	expected =
	    fmt("{\"checkpoint\":{\"seq\":3,\"at\":\"2026-11-24T10:00:05."
		"123Z\",\"file\":1,\"offers\":[%s,%s],\"open\":[%s,%s,%s],"
		"\"edges\":{\"offer\":\"2026-11-24T10:00:00.123Z\","
		"\"countdown\":\"2026-11-24T10:00:01.123Z\","
		"\"disclosure\":\"2026-11-24T10:00:00.123Z\"}}}\n",
		o0, o1, e[0], e[1], e[2]);
	assert_string_equal(line, expected);
	assert_int_equal(len, strlen(expected));
	free(expected);
	free(line);
	free(o0);
	free(o1);
	for (i = 0; i < 3; i++)
		free(e[i]);
	tl_free(&tl);
}

/* Replay */

static void test_replay_full_history(void **state)
{
	lshop_replay_result res;
	lshop_state st;
	timeline tl;
	seen s = {0};

	(void)state;
	sample_history(&tl);
	assert_int_equal(replay(tl.journal, tl.len, &st, &s, &res), 0);
	assert_memory_equal(&st, &tl.st, sizeof(st));
	assert_int_equal(res.records, count_lines(tl.journal, tl.len));
	assert_int_equal(res.skipped, 0);
	assert_int_equal(res.torn, 0);
	assert_int_equal(res.last_good, tl.len);
	assert_string_equal(res.first_problem.code, "");
	assert_int_equal(s.offers, 3);
	assert_string_equal(s.offer_ids[2], "sku-c");
	assert_true(s.offer_at[2] == T0 - 40000);
	assert_int_equal(s.events, tl.st.seq);
	assert_true(s.last_seq == tl.st.seq);
	assert_int_equal(s.restored, 0);
	assert_int_equal(s.checkpoints, 0);

	/* A replay goes on from the state a previous file left. */
	{
		size_t cut = after_line(tl.journal, 9);
		lshop_replay_ops ops = ops_for(&s);

		lshop_state_init(&st);
		assert_int_equal(
		    lshop_journal_replay(tl.journal, cut, &st, &ops, &res), 0);
		assert_int_equal(lshop_journal_replay(tl.journal + cut,
						      tl.len - cut, &st, &ops,
						      &res),
				 0);
		assert_int_equal(res.skipped, 0);
		assert_memory_equal(&st, &tl.st, sizeof(st));
	}
	/* No callbacks at all is fine too. */
	lshop_state_init(&st);
	assert_int_equal(
	    lshop_journal_replay(tl.journal, tl.len, &st, NULL, NULL), 0);
	assert_memory_equal(&st, &tl.st, sizeof(st));
	tl_free(&tl);
}

static void test_replay_torn_last_line(void **state)
{
	lshop_replay_result res;
	lshop_state st;
	lshop_event ev;
	timeline tl;
	size_t good, len, n;
	char *line;
	seen s = {0};

	(void)state;
	sample_history(&tl);
	good = tl.len;
	n = count_lines(tl.journal, tl.len);

	/* The next event, cut short by a crash. */
	memset(&ev, 0, sizeof(ev));
	ev.type = LSHOP_PURCHASE_COMPLETED;
	ev.seq = tl.st.seq + 1;
	ev.at_ms = T0 + 60000;
	strcpy(ev.stream, STREAM);
	strcpy(ev.offer_id, "sku-a");
	ev.quantity = 1;
	line = lshop_journal_event_line(&ev, &len);
	tl_write(&tl, line, len / 2);

	assert_int_equal(replay(tl.journal, tl.len, &st, &s, &res), 0);
	assert_int_equal(res.torn, 1);
	assert_int_equal(res.skipped, 1);
	assert_int_equal(res.records, n);
	assert_int_equal(res.last_good, good);
	assert_string_equal(res.first_problem.code, "torn_line");
	assert_non_null(strstr(res.first_problem.message, "line"));
	assert_true(st.seq == ev.seq - 1);
	assert_int_equal(s.events, ev.seq - 1);

	/* Even whole JSON without its "\n" is torn: the write did not
	 * finish. */
	tl.len = good;
	tl_write(&tl, line, len - 1);
	assert_int_equal(replay(tl.journal, tl.len, &st, &s, &res), 0);
	assert_int_equal(res.torn, 1);
	assert_int_equal(res.skipped, 1);
	assert_int_equal(res.last_good, good);
	assert_true(st.seq == ev.seq - 1);

	/* Cut at last_good, the journal takes the event again. */
	tl.len = res.last_good;
	tl_write(&tl, line, len);
	assert_int_equal(replay(tl.journal, tl.len, &st, &s, &res), 0);
	assert_int_equal(res.torn, 0);
	assert_int_equal(res.skipped, 0);
	assert_int_equal(res.last_good, tl.len);
	assert_true(st.seq == ev.seq);
	free(line);
	tl_free(&tl);
}

static void test_replay_skips_garbage_and_goes_on(void **state)
{
	lshop_replay_result res;
	lshop_state st;
	timeline tl;
	size_t len, n;
	char *buf, *buf2;
	seen s = {0};

	(void)state;
	sample_history(&tl);
	n = count_lines(tl.journal, tl.len);

	/* Line 6 is garbage: skipped, counted, said; the rest replays. */
	buf = insert_at(tl.journal, tl.len, after_line(tl.journal, 5),
			"{\"seq\":\xff garbage\n", &len);
	assert_int_equal(replay(buf, len, &st, &s, &res), 0);
	assert_int_equal(res.skipped, 1);
	assert_int_equal(res.records, n);
	assert_int_equal(res.torn, 0);
	assert_int_equal(res.last_good, len);
	assert_string_equal(res.first_problem.code, "invalid_json");
	assert_non_null(strstr(res.first_problem.message, "line 6 "));
	assert_memory_equal(&st, &tl.st, sizeof(st));

	/* More bad lines: an empty one, an unknown event type, an offer
	 * without its time. Each is counted; the first stays the one
	 * said. */
	buf2 = insert_at(buf, len, after_line(buf, 8),
			 "\n{\"seq\":99,\"type\":\"offer.teleported\"}\n"
			 "{\"offer\":{\"id\":\"x\"}}\n",
			 &len);
	assert_int_equal(replay(buf2, len, &st, &s, &res), 0);
	assert_int_equal(res.skipped, 4);
	assert_int_equal(res.records, n);
	assert_non_null(strstr(res.first_problem.message, "line 6 "));
	assert_memory_equal(&st, &tl.st, sizeof(st));
	free(buf);
	free(buf2);
	tl_free(&tl);
}

static void test_replay_skips_out_of_order_seq(void **state)
{
	lshop_replay_result res;
	lshop_state st;
	timeline tl;
	size_t len, n, a, b;
	char *dup, *buf, *buf2, *gap;
	seen s = {0};

	(void)state;
	sample_history(&tl);
	n = count_lines(tl.journal, tl.len);

	/* Line 5 (an event) written again after line 9. */
	a = after_line(tl.journal, 4);
	b = after_line(tl.journal, 5);
	dup = fmt("%.*s", (int)(b - a), tl.journal + a);
	buf =
	    insert_at(tl.journal, tl.len, after_line(tl.journal, 9), dup, &len);
	assert_int_equal(replay(buf, len, &st, &s, &res), 0);
	assert_int_equal(res.skipped, 1);
	assert_int_equal(res.records, n);
	assert_string_equal(res.first_problem.code, "seq_gap");
	assert_non_null(strstr(res.first_problem.message, "line 10 "));
	assert_memory_equal(&st, &tl.st, sizeof(st));

	/* An event from the future (seq jumps ahead) after line 7. */
	{
		lshop_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.type = LSHOP_PURCHASE_COMPLETED;
		ev.seq = 1000;
		ev.at_ms = T0;
		strcpy(ev.stream, STREAM);
		strcpy(ev.offer_id, "sku-a");
		ev.quantity = 1;
		gap = lshop_journal_event_line(&ev, NULL);
	}
	buf2 = insert_at(buf, len, after_line(buf, 7), gap, &len);
	assert_int_equal(replay(buf2, len, &st, &s, &res), 0);
	assert_int_equal(res.skipped, 2);
	assert_int_equal(res.records, n);
	assert_string_equal(res.first_problem.code, "seq_gap");
	assert_non_null(strstr(res.first_problem.message, "line 8 "));
	assert_memory_equal(&st, &tl.st, sizeof(st));
	assert_int_equal(s.events, tl.st.seq);
	free(dup);
	free(gap);
	free(buf);
	free(buf2);
	tl_free(&tl);
}

static void test_replay_callback_stops(void **state)
{
	lshop_replay_result res;
	lshop_replay_ops ops;
	lshop_state st;
	timeline tl;
	seen s = {0};

	(void)state;
	sample_history(&tl);
	ops = ops_for(&s);
	s.stop_at_event = 3;
	lshop_state_init(&st);
	assert_int_equal(
	    lshop_journal_replay(tl.journal, tl.len, &st, &ops, &res), -1);
	assert_int_equal(s.events, 3);
	/* 3 catalog lines and 2 events were done when it stopped. */
	assert_int_equal(res.records, 5);
	assert_int_equal(res.last_good, after_line(tl.journal, 5));
	tl_free(&tl);
}

/* Checkpoints */

/* The journal rotated at offset cut: a checkpoint of st, then the rest. */
static char *rotated(const timeline *tl, size_t cut, const char *checkpoint,
		     size_t *len)
{
	char *buf =
	    fmt("%s%.*s", checkpoint, (int)(tl->len - cut), tl->journal + cut);

	*len = strlen(buf);
	return buf;
}

static void test_checkpoint_round_trip(void **state)
{
	const lshop_offer catalog[] = {ad_a, plain, sponsored_c};
	lshop_replay_result res;
	lshop_state full, st, at_cut;
	timeline tl;
	size_t cut, len, restored_open;
	char *cp, *buf;
	seen s = {0};

	(void)state;
	/* Cut while a pin (and its tied disclosure) and a countdown are
	 * open, then go on. */
	tl_init(&tl);
	tl_put(&tl, &ad_a, T0 - 1000);
	tl_pin(&tl, &ad_a, T0, 0);
	tl_countdown(&tl, T0 + 1000, 300, "bald", "sku-a");
	tl_purchase(&tl, T0 + 2000, "sku-a", 1);
	at_cut = tl.st;
	cut = tl.len;
	cp = lshop_journal_checkpoint_line(&tl.st, STREAM, T0 + 3000, 2, catalog,
					   3, NULL, 0, NULL);
	assert_non_null(cp);
	tl_pin(&tl, &plain, T0 + 4000, 0);
	tl_purchase(&tl, T0 + 5000, "sku-plain", 3);
	assert_int_equal(tl_tick(&tl, T0 + 301000), 1);
	tl_disclose(&tl, T0 + 302000, "own", NULL);

	assert_int_equal(replay(tl.journal, tl.len, &full, &s, &res), 0);
	assert_int_equal(res.skipped, 0);
	assert_memory_equal(&full, &tl.st, sizeof(full));

	buf = rotated(&tl, cut, cp, &len);
	/* The state the caller holds before a checkpoint does not matter:
	 * the checkpoint starts over. */
	memset(&st, 0x5a, sizeof(st));
	{
		lshop_replay_ops ops = ops_for(&s);

		assert_int_equal(
		    lshop_journal_replay(buf, len, &st, &ops, &res), 0);
	}
	assert_int_equal(res.skipped, 0);
	assert_int_equal(res.records, count_lines(buf, len));
	assert_memory_equal(&st, &full, sizeof(st));

	/* The catalog is handed over, after checkpoint(). */
	assert_int_equal(s.checkpoints, 1);
	assert_true(s.checkpoint_seq == at_cut.seq);
	assert_true(s.checkpoint_file == 2);
	assert_true(lshop_journal_file(buf, len) == 2);
	assert_true(lshop_journal_file("{\"seq\":1}\n", 10) == 0);
	assert_true(lshop_journal_file("", 0) == 0);
	assert_int_equal(s.offers, 3);
	assert_string_equal(s.offer_ids[0], "sku-a");
	assert_string_equal(s.offer_ids[1], "sku-plain");
	assert_string_equal(s.offer_ids[2], "sku-c");
	assert_true(s.offer_at[0] == T0 + 3000);
	/* The open intervals come back as their opening events. */
	restored_open = 3;
	assert_int_equal(s.restored, restored_open);
	assert_int_equal(s.restored_type[0], LSHOP_DISCLOSURE_SHOWN);
	assert_true(s.restored_seq[0] == at_cut.disclosure_seq);
	assert_int_equal(s.restored_type[1], LSHOP_OFFER_PINNED);
	assert_true(s.restored_seq[1] == at_cut.pin_seq);
	assert_int_equal(s.restored_type[2], LSHOP_COUNTDOWN_STARTED);
	assert_true(s.restored_seq[2] == at_cut.countdown_seq);
	assert_int_equal(s.events, tl.st.seq - at_cut.seq);

	/* The checkpoint alone is the state at the cut. */
	assert_int_equal(replay(cp, strlen(cp), &st, &s, &res), 0);
	assert_memory_equal(&st, &at_cut, sizeof(st));
	free(buf);
	free(cp);
	tl_free(&tl);
}

/* Closed intervals leave only their edge: the checkpoint keeps it. */
static void test_checkpoint_keeps_edges(void **state)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_replay_result res;
	lshop_error err;
	lshop_state st;
	timeline tl;
	char *cp;
	seen s = {0};

	(void)state;
	tl_init(&tl);
	tl_countdown(&tl, T0, 5, "x", NULL);
	assert_int_equal(tl_tick(&tl, T0 + 5000), 1);
	tl_disclose(&tl, T0 + 6000, "ad", NULL);
	tl_hide(&tl, T0 + 7000);
	tl_pin(&tl, &plain, T0 + 7500, 0);
	tl_unpin(&tl, T0 + 8000);
	cp = lshop_journal_checkpoint_line(&tl.st, STREAM, T0 + 9000, 1, NULL, 0, NULL, 0,
					   NULL);
	assert_non_null(strstr(cp, "\"open\":[]"));
	assert_int_equal(replay(cp, strlen(cp), &st, &s, &res), 0);
	assert_int_equal(res.skipped, 0);
	assert_memory_equal(&st, &tl.st, sizeof(st));
	assert_true(st.countdown_edge_ms == T0 + 5000);
	assert_true(st.disclosure_edge_ms == T0 + 7000);
	assert_true(st.pin_edge_ms == T0 + 8000);
	/* So planning after a rotation stamps as it would have. */
	assert_int_equal(
	    lshop_state_plan_countdown(&st, T0, 5, "y", NULL, evs, &err), 1);
	assert_true(evs[0].at_ms == T0 + 5000);
	free(cp);
	tl_free(&tl);
}

/* Checkpoints anywhere in a long random history. */
static void test_checkpoint_anywhere(void **state)
{
	const lshop_offer *const offers[] = {&ad_a, &plain, &sponsored_c};
	const lshop_offer catalog[] = {ad_a, plain, sponsored_c};
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_replay_result res;
	lshop_state full, st;
	int64_t now = T0;
	uint32_t rnd = 777;
	timeline tl;
	size_t cuts[40], ncuts = 0, i, n, len;
	char *cps[40], *buf;
	int step;
	seen s = {0};

	(void)state;
	tl_init(&tl);
	for (step = 0; step < 1200; step++) {
		n = tl_random_plan(&tl, &rnd, &now, offers, 3, evs);
		if (n > 0)
			tl_apply(&tl, evs, n);
		if (step % 30 == 29 && ncuts < 40) {
			cuts[ncuts] = tl.len;
			cps[ncuts] = lshop_journal_checkpoint_line(
			    &tl.st, STREAM, now, ncuts + 1, catalog, 3, NULL, 0, NULL);
			assert_non_null(cps[ncuts]);
			ncuts++;
		}
	}
	assert_int_equal(replay(tl.journal, tl.len, &full, &s, &res), 0);
	assert_int_equal(res.skipped, 0);
	assert_memory_equal(&full, &tl.st, sizeof(full));
	for (i = 0; i < ncuts; i++) {
		buf = rotated(&tl, cuts[i], cps[i], &len);
		assert_int_equal(replay(buf, len, &st, &s, &res), 0);
		assert_int_equal(res.skipped, 0);
		assert_memory_equal(&st, &full, sizeof(st));
		free(buf);
		free(cps[i]);
	}
	tl_free(&tl);
}

static void test_damaged_checkpoint_is_skipped(void **state)
{
	static const char *const bad[] = {
	    /* not an object */
	    "{\"checkpoint\":[]}\n",
	    /* an unknown key */
	    "{\"checkpoint\":{\"seq\":1,\"at\":\"2026-11-24T10:00:00Z\","
	    "\"offers\":[],\"open\":[],\"extra\":1}}\n",
	    /* no seq */
	    "{\"checkpoint\":{\"at\":\"2026-11-24T10:00:00Z\","
	    "\"offers\":[],\"open\":[]}}\n",
	    /* an offer that is not one */
	    "{\"checkpoint\":{\"seq\":1,\"at\":\"2026-11-24T10:00:00Z\","
	    "\"offers\":[{\"id\":\"x\"}],\"open\":[]}}\n",
	    /* an open event that opens nothing */
	    "{\"checkpoint\":{\"seq\":5,\"at\":\"2026-11-24T10:00:00Z\","
	    "\"offers\":[],\"open\":[{\"seq\":3,\"id\":\"live/demo:3\","
	    "\"type\":\"offer.unpinned\",\"stream\":\"live/demo\",\"at\":"
	    "\"2026-11-24T10:00:00Z\",\"data\":{\"offer_id\":\"a\"}}]}}\n",
	    /* an open event after the checkpoint */
	    "{\"checkpoint\":{\"seq\":2,\"at\":\"2026-11-24T10:00:00Z\","
	    "\"offers\":[],\"open\":[{\"seq\":3,\"id\":\"live/demo:3\","
	    "\"type\":\"disclosure.shown\",\"stream\":\"live/demo\",\"at\":"
	    "\"2026-11-24T10:00:00Z\",\"data\":{\"kind\":\"ad\",\"text\":"
	    "\"Ad\"}}]}}\n",
	    /* bad edges */
	    "{\"checkpoint\":{\"seq\":1,\"at\":\"2026-11-24T10:00:00Z\","
	    "\"offers\":[],\"open\":[],\"edges\":{\"offer\":\"now\"}}}\n",
	};
	lshop_replay_result res;
	lshop_state st;
	timeline tl;
	size_t i, len;
	char *buf;
	seen s = {0};

	(void)state;
	sample_history(&tl);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf = fmt("%s%s", tl.journal, bad[i]);
		len = strlen(buf);
		assert_int_equal(replay(buf, len, &st, &s, &res), 0);
		if (res.skipped != 1)
			fail_msg("accepted %s", bad[i]);
		assert_int_equal(s.checkpoints, 0);
		assert_memory_equal(&st, &tl.st, sizeof(st));
		assert_non_null(strstr(res.first_problem.field, "checkpoint"));
		free(buf);
	}
	tl_free(&tl);
}

/* Orders */

static lshop_event purchase_event(uint64_t seq, const char *id, int64_t q)
{
	lshop_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = LSHOP_PURCHASE_COMPLETED;
	ev.seq = seq;
	ev.at_ms = T0;
	strcpy(ev.stream, STREAM);
	strcpy(ev.offer_id, id);
	ev.quantity = q;
	return ev;
}

static void test_order_line(void **state)
{
	lshop_order o = make_order("1001", "sku-a", 2, "39.98");
	lshop_event evs[2];
	char *line, *e0, *e1, *expected;
	size_t len;

	(void)state;
	strcpy(o.delivery_id, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
	o.items[0].oversold = 1;
	evs[0] = purchase_event(7, "sku-a", 1);
	evs[1] = evs[0];
	evs[1].seq = 8;
	evs[1].type = LSHOP_STOCK_CHANGED;
	evs[1].quantity = 0;
	evs[1].stock = 0;
	line = lshop_journal_order_line(&o, LSHOP_PROVIDER_SHOPIFY, T0, evs, 2,
					&len);
	assert_non_null(line);
	e0 = lshop_event_to_json(&evs[0], NULL);
	e1 = lshop_event_to_json(&evs[1], NULL);
	expected = fmt("{\"order\":{\"type\":\"order.paid\",\"order_id\":"
		       "\"1001\",\"stream\":\"live/demo\",\"delivery_id\":"
		       "\"b54557e4-bdd9-4b37-8a5f-bf7d70bcd043\",\"items\":[{"
		       "\"offer\":\"sku-a\",\"quantity\":2,\"amount\":"
		       "\"39.98\",\"currency\":\"EUR\",\"oversold\":1}]},"
		       "\"provider\":\"shopify\",\"at\":\"2026-11-24T10:00:"
		       "00.123Z\",\"events\":[%s,%s]}\n",
		       e0, e1);
	assert_string_equal(line, expected);
	assert_int_equal(len, strlen(expected));
	free(line);
	free(expected);

	/* No delivery id, no events (all of it oversold): both said as
	 * they are. */
	o.delivery_id[0] = '\0';
	o.items[0].oversold = 2;
	line = lshop_journal_order_line(&o, LSHOP_PROVIDER_STANDARD, T0, NULL,
					0, &len);
	assert_string_equal(
	    line, "{\"order\":{\"type\":\"order.paid\",\"order_id\":\"1001\","
		  "\"stream\":\"live/demo\",\"items\":[{\"offer\":\"sku-a\","
		  "\"quantity\":2,\"amount\":\"39.98\",\"currency\":\"EUR\","
		  "\"oversold\":2}]},\"provider\":\"standard\",\"at\":"
		  "\"2026-11-24T10:00:00.123Z\",\"events\":[]}\n");
	free(line);

	/* Where the buyer came from, after the stream; never "". */
	strcpy(o.source, LSHOP_SOURCE_QR);
	line = lshop_journal_order_line(&o, LSHOP_PROVIDER_STRIPE, T0, NULL, 0,
					&len);
	assert_non_null(strstr(line, "\"stream\":\"live/demo\",\"source\":"
				     "\"qr\",\"items\":"));
	free(line);
	free(e0);
	free(e1);
}

/*
 * Orders in a journal: replay hands each order over as written, then its
 * events, and rebuilds the state that applying those events as event
 * lines rebuilds.
 */
static void test_order_round_trip(void **state)
{
	lshop_offer ltd = make_offer("sku-ltd", "19.99", NULL);
	lshop_event *evs = calloc(3 * LSHOP_ORDER_ITEMS_MAX, sizeof(*evs));
	lshop_order written[4];
	static const lshop_provider providers[4] = {
	    LSHOP_PROVIDER_SHOPIFY, LSHOP_PROVIDER_STANDARD,
	    LSHOP_PROVIDER_STRIPE, LSHOP_PROVIDER_WOOCOMMERCE};
	lshop_replay_result res;
	lshop_state st;
	timeline tl, direct; /* order lines; the same as event lines */
	int64_t stocks[LSHOP_ORDER_ITEMS_MAX];
	int64_t direct_stocks[LSHOP_ORDER_ITEMS_MAX], ltd_stock;
	char *trail;
	size_t trail_len, k, i, n;
	seen s = {0};

	(void)state;
	assert_non_null(evs);
	ltd.stock = 3;
	tl_init(&tl);
	tl_init(&direct);
	tl_put(&tl, &ltd, T0 - 1000);
	tl_put(&direct, &ltd, T0 - 1000);
	tl_pin(&tl, &ltd, T0, 0);
	tl_pin(&direct, &ltd, T0, 0);

	/* 2 of 3 sold; a delivery id; from a QR code */
	written[0] = make_order("1001", "sku-ltd", 2, "39.98");
	strcpy(written[0].delivery_id, "wh_1");
	strcpy(written[0].source, LSHOP_SOURCE_QR);
	/* 1 sold, 1 oversold, sold out; plus an offer not in the catalog
	 * and one without a limit */
	written[1] = make_order("1002", "sku-ltd", 2, "39.98");
	order_add(&written[1], "sku-ghost", 3, "3");
	order_add(&written[1], "sku-free", 1, "0");
	strcpy(written[1].items[1].currency, "JPY");
	/* nothing left: no events at all; from the player */
	written[2] = make_order("cs_test_a1", "sku-ltd", 5, "99.95");
	strcpy(written[2].source, LSHOP_SOURCE_PLAYER);
	strcpy(written[2].delivery_id, "evt_1NG8Du2eZvKYlo2CUI79vXWy");
	/* the most items an order holds */
	memset(&written[3], 0, sizeof(written[3]));
	strcpy(written[3].order_id, "Order #4 (\"quoted\")");
	strcpy(written[3].stream, STREAM);
	for (i = 0; i < LSHOP_ORDER_ITEMS_MAX; i++) {
		char id[16];

		snprintf(id, sizeof(id), "sku-%zu", i);
		order_add(&written[3], id, 1 + (int64_t)i, "0.0001");
	}

	ltd_stock = ltd.stock;
	for (k = 0; k < 4; k++) {
		lshop_order copy = written[k];
		int64_t at = T0 + 1000 * (int64_t)k;

		/* Orders 0-2: item 0 is on sku-ltd, item 1 on an offer not
		 * in the catalog, item 2 on one without a limit. Order 3:
		 * none in the catalog. */
		for (i = 0; i < LSHOP_ORDER_ITEMS_MAX; i++)
			stocks[i] = direct_stocks[i] = LSHOP_STOCK_UNKNOWN;
		if (k < 3) {
			stocks[0] = direct_stocks[0] = ltd_stock;
			stocks[2] = direct_stocks[2] = LSHOP_STOCK_UNLIMITED;
		}
		/* The events applied as event lines ... */
		for (i = 0, n = 0; i < copy.nitems; i++)
			n += lshop_purchase_events(
			    &copy.items[i], &direct_stocks[i], at, evs + n);
		for (i = 0; i < n; i += LSHOP_PLAN_MAX)
			tl_apply(&direct, evs + i,
				 n - i < LSHOP_PLAN_MAX ? n - i
							: LSHOP_PLAN_MAX);
		/* ... and with their order. */
		tl_order(&tl, &written[k], providers[k], at, stocks);
		assert_memory_equal(&copy, &written[k], sizeof(copy));
		if (k < 3)
			ltd_stock = stocks[0];
	}
	assert_true(ltd_stock == 0);
	assert_true(written[0].items[0].oversold == 0);
	assert_true(written[1].items[0].oversold == 1);
	assert_true(written[1].items[1].oversold == 0);
	assert_true(written[2].items[0].oversold == 5);
	tl_unpin(&tl, T0 + 9000);
	tl_unpin(&direct, T0 + 9000);
	assert_memory_equal(&tl.st, &direct.st, sizeof(tl.st));

	/* The events as event lines. */
	s.keep_trail = 1;
	assert_int_equal(replay(direct.journal, direct.len, &st, &s, &res), 0);
	assert_int_equal(res.skipped, 0);
	assert_memory_equal(&st, &direct.st, sizeof(st));
	trail = s.trail;
	trail_len = s.trail_len;
	s.trail = NULL;

	/* The same events inside order lines. */
	s.order_log = calloc(8, sizeof(*s.order_log));
	assert_int_equal(replay(tl.journal, tl.len, &st, &s, &res), 0);
	assert_int_equal(res.skipped, 0);
	assert_int_equal(res.records, count_lines(tl.journal, tl.len));
	assert_int_equal(res.last_good, tl.len);
	assert_memory_equal(&st, &tl.st, sizeof(st));
	assert_memory_equal(&st, &direct.st, sizeof(st));
	assert_int_equal(s.events, tl.st.seq);
	assert_int_equal(s.restored, 0);
	assert_int_equal(s.trail_len, trail_len);
	assert_string_equal(s.trail, trail);

	/* Each order as it was written, field by field. */
	assert_int_equal(s.orders, 4);
	for (k = 0; k < 4; k++) {
		const lshop_order *got = &s.order_log[k], *want = &written[k];

		assert_int_equal(s.order_provider[k], providers[k]);
		assert_true(s.order_at[k] == T0 + 1000 * (int64_t)k);
		assert_string_equal(got->order_id, want->order_id);
		assert_string_equal(got->delivery_id, want->delivery_id);
		assert_string_equal(got->stream, want->stream);
		assert_int_equal(got->nitems, want->nitems);
		for (i = 0; i < want->nitems; i++) {
			const lshop_order_item *g = &got->items[i];
			const lshop_order_item *w = &want->items[i];

			assert_string_equal(g->offer_id, w->offer_id);
			assert_true(g->quantity == w->quantity);
			assert_string_equal(g->amount, w->amount);
			assert_string_equal(g->currency, w->currency);
			assert_true(g->oversold == w->oversold);
		}
		assert_memory_equal(got, want, sizeof(*got));
	}
	assert_string_equal(s.order_log[0].delivery_id, "wh_1");
	assert_string_equal(s.order_log[1].delivery_id, "");
	assert_string_equal(s.order_log[0].source, "qr");
	assert_string_equal(s.order_log[1].source, "");
	assert_string_equal(s.order_log[2].source, "player");
	assert_true(s.order_log[1].items[0].oversold == 1);
	assert_true(s.order_log[2].items[0].oversold == 5);

	/* An order line after a checkpoint goes on from it. */
	{
		size_t cut = after_line(tl.journal, 2); /* put, pin */
		lshop_state at_cut;
		char *cp, *buf;
		size_t len;

		lshop_state_init(&at_cut);
		assert_int_equal(
		    lshop_journal_replay(tl.journal, cut, &at_cut, NULL, NULL),
		    0);
		cp = lshop_journal_checkpoint_line(&at_cut, STREAM, T0, 1, &ltd, 1, NULL, 0,
						   NULL);
		buf = rotated(&tl, cut, cp, &len);
		assert_int_equal(replay(buf, len, &st, &s, &res), 0);
		assert_int_equal(res.skipped, 0);
		assert_int_equal(s.orders, 4);
		assert_memory_equal(&st, &tl.st, sizeof(st));
		free(cp);
		free(buf);
	}
	free(trail);
	free(s.trail);
	free(s.order_log);
	free(evs);
	tl_free(&tl);
	tl_free(&direct);
}

/*
 * An order line is taken whole or skipped whole: a line whose events do
 * not follow, or that does not read, changes nothing and hands nothing
 * out; the replay goes on with the next line.
 */
/*
 * A refund line (journal.h): the refund as written, without "oversold"
 * and without events; replay hands it to order() with refund set and
 * changes no state; a damaged one is skipped, naming its field.
 */
static void test_refund_line(void **state)
{
	static const struct {
		const char *line;
		const char *field;
	} bad[] = {
	    /* events belong to orders */
	    {"{\"refund\":{\"type\":\"order.refunded\",\"order_id\":\"1\","
	     "\"stream\":\"live/demo\",\"items\":[]},\"provider\":"
	     "\"standard\",\"at\":\"2026-11-24T10:00:00.123Z\",\"events\":[]}",
	     "events"},
	    /* a refund is no order.paid */
	    {"{\"refund\":{\"type\":\"order.paid\",\"order_id\":\"1\","
	     "\"stream\":\"live/demo\",\"items\":[]},\"provider\":"
	     "\"standard\",\"at\":\"2026-11-24T10:00:00.123Z\"}",
	     "refund.type"},
	    /* its items have no oversold */
	    {"{\"refund\":{\"type\":\"order.refunded\",\"order_id\":\"1\","
	     "\"stream\":\"live/demo\",\"items\":[{\"offer\":\"a\","
	     "\"quantity\":0,\"amount\":\"1.00\",\"currency\":\"EUR\","
	     "\"oversold\":0}]},\"provider\":\"standard\",\"at\":"
	     "\"2026-11-24T10:00:00.123Z\"}",
	     "refund.items[0].oversold"},
	    {"{\"refund\":{\"type\":\"order.refunded\",\"order_id\":\"1\","
	     "\"stream\":\"live/demo\",\"items\":[{\"offer\":\"a\","
	     "\"quantity\":-1,\"amount\":\"1.00\",\"currency\":\"EUR\"}]},"
	     "\"provider\":\"standard\",\"at\":\"2026-11-24T10:00:00.123Z\"}",
	     "refund.items[0].quantity"},
	    {"{\"refund\":{\"type\":\"order.refunded\",\"order_id\":\"1\","
	     "\"stream\":\"live/demo\",\"items\":[]},\"provider\":\"ebay\","
	     "\"at\":\"2026-11-24T10:00:00.123Z\"}",
	     "provider"},
	    {"{\"refund\":[],\"provider\":\"standard\",\"at\":"
	     "\"2026-11-24T10:00:00.123Z\"}",
	     "refund"},
	};
	lshop_order o = make_order("1001", "sku-a", 0, "5.00"), log[8];
	lshop_replay_result res;
	lshop_state st, before;
	char *line, buf[1024];
	size_t len, i;
	seen s = {0};

	(void)state;
	o.refund = 1;
	strcpy(o.delivery_id, "msg_2");
	strcpy(o.source, LSHOP_SOURCE_QR);
	line = lshop_journal_order_line(&o, LSHOP_PROVIDER_SHOPIFY, T0, NULL, 0,
					&len);
	assert_string_equal(
	    line, "{\"refund\":{\"type\":\"order.refunded\",\"order_id\":"
		  "\"1001\",\"stream\":\"live/demo\",\"source\":\"qr\","
		  "\"delivery_id\":\"msg_2\",\"items\":[{\"offer\":\"sku-a\","
		  "\"quantity\":0,\"amount\":\"5.00\",\"currency\":\"EUR\"}]},"
		  "\"provider\":\"shopify\",\"at\":\"2026-11-24T10:00:00.123Z\""
		  "}\n");
	s.order_log = log;
	lshop_state_init(&st);
	before = st;
	assert_int_equal(replay(line, len, &st, &s, &res), 0);
	assert_int_equal(res.skipped, 0);
	assert_int_equal(s.orders, 1);
	assert_int_equal(s.events, 0);
	assert_int_equal(s.order_provider[0], LSHOP_PROVIDER_SHOPIFY);
	assert_true(s.order_at[0] == T0);
	assert_memory_equal(&log[0], &o, sizeof(o));
	assert_memory_equal(&st, &before, sizeof(st));
	free(line);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "%s\n", bad[i].line);
		lshop_state_init(&st);
		assert_int_equal(replay(buf, strlen(buf), &st, &s, &res), 0);
		assert_int_equal(res.skipped, 1);
		assert_int_equal(s.orders, 0);
		if (strcmp(res.first_problem.field, bad[i].field) != 0)
			fail_msg("line %zu: field %s, not %s", i,
				 res.first_problem.field, bad[i].field);
	}
}

static void test_bad_order_line_is_skipped_whole(void **state)
{
	/* the field each bad line below is skipped for */
	static const char *const why[] = {"events[0].seq",
					  "events[0].seq",
					  "events[1].seq",
					  "events[0].stream",
					  "order.items[0].oversold",
					  "order.items[0].amount",
					  "order.items[0].oversold",
					  "order.note",
					  "order.items",
					  "provider",
					  "events",
					  "at",
					  "order.source",
					  "order.source"};
	lshop_order o = make_order("1001", "sku-a", 2, "39.98");
	lshop_event evs[3];
	lshop_replay_result res;
	lshop_state st;
	timeline tl;
	char *bad[14], *good, *e1, *buf;
	const char *head;
	size_t nbad = 0, i, len;
	uint64_t next;
	seen s = {0};

	(void)state;
	sample_history(&tl);
	next = tl.st.seq + 1;

	/* The next order, done right. */
	evs[0] = purchase_event(next, "sku-a", 2);
	good = lshop_journal_order_line(&o, LSHOP_PROVIDER_STANDARD, T0, evs, 1,
					NULL);
	e1 = lshop_event_to_json(&evs[0], NULL);

	/* Events that do not follow: a gap; a repeat; the first follows
	 * but the second does not. */
	evs[0] = purchase_event(next + 1, "sku-a", 2);
	bad[nbad++] = lshop_journal_order_line(&o, LSHOP_PROVIDER_STANDARD, T0,
					       evs, 1, NULL);
	evs[0] = purchase_event(next - 1, "sku-a", 2);
	bad[nbad++] = lshop_journal_order_line(&o, LSHOP_PROVIDER_STANDARD, T0,
					       evs, 1, NULL);
	evs[0] = purchase_event(next, "sku-a", 2);
	evs[1] = purchase_event(next + 2, "sku-a", 2);
	bad[nbad++] = lshop_journal_order_line(&o, LSHOP_PROVIDER_STANDARD, T0,
					       evs, 2, NULL);
	/* An event on another stream. */
	evs[0] = purchase_event(next, "sku-a", 2);
	strcpy(evs[0].stream, "live/other");
	bad[nbad++] = lshop_journal_order_line(&o, LSHOP_PROVIDER_STANDARD, T0,
					       evs, 1, NULL);
	/* More oversold than ordered. */
	o.items[0].oversold = 3;
	evs[0] = purchase_event(next, "sku-a", 2);
	bad[nbad++] = lshop_journal_order_line(&o, LSHOP_PROVIDER_STANDARD, T0,
					       evs, 1, NULL);
	o.items[0].oversold = 0;

	/* By hand: what a writer never writes. */
	head = "{\"type\":\"order.paid\",\"order_id\":\"1\",\"stream\":"
	       "\"live/demo\",";
	bad[nbad++] = fmt("{\"order\":%s\"items\":[{\"offer\":\"sku-a\","
			  "\"quantity\":2,\"amount\":\"1,00\",\"currency\":"
			  "\"EUR\",\"oversold\":0}]},\"provider\":\"standard\","
			  "\"at\":\"2026-11-24T10:00:00Z\",\"events\":[%s]}\n",
			  head, e1);
	bad[nbad++] = fmt("{\"order\":%s\"items\":[{\"offer\":\"sku-a\","
			  "\"quantity\":2,\"amount\":\"1.00\",\"currency\":"
			  "\"EUR\"}]},\"provider\":\"standard\","
			  "\"at\":\"2026-11-24T10:00:00Z\",\"events\":[%s]}\n",
			  head, e1);
	bad[nbad++] = fmt("{\"order\":%s\"items\":[],\"note\":1},"
			  "\"provider\":\"standard\",\"at\":"
			  "\"2026-11-24T10:00:00Z\",\"events\":[%s]}\n",
			  head, e1);
	bad[nbad++] = fmt("{\"order\":%s\"items\":{}},\"provider\":"
			  "\"standard\",\"at\":\"2026-11-24T10:00:00Z\","
			  "\"events\":[%s]}\n",
			  head, e1);
	bad[nbad++] = fmt("{\"order\":%s\"items\":[]},\"provider\":"
			  "\"paypal\",\"at\":\"2026-11-24T10:00:00Z\","
			  "\"events\":[%s]}\n",
			  head, e1);
	bad[nbad++] = fmt("{\"order\":%s\"items\":[]},\"provider\":"
			  "\"standard\",\"at\":\"2026-11-24T10:00:00Z\","
			  "\"events\":{}}\n",
			  head);
	bad[nbad++] = fmt("{\"order\":%s\"items\":[]},\"provider\":"
			  "\"standard\",\"events\":[%s]}\n",
			  head, e1);
	/* A source is written only when it is one. */
	bad[nbad++] = fmt("{\"order\":%s\"source\":\"tv\",\"items\":[]},"
			  "\"provider\":\"standard\",\"at\":"
			  "\"2026-11-24T10:00:00Z\",\"events\":[%s]}\n",
			  head, e1);
	bad[nbad++] = fmt("{\"order\":%s\"source\":\"\",\"items\":[]},"
			  "\"provider\":\"standard\",\"at\":"
			  "\"2026-11-24T10:00:00Z\",\"events\":[%s]}\n",
			  head, e1);

	assert_int_equal(nbad, sizeof(why) / sizeof(why[0]));
	for (i = 0; i < nbad; i++) {
		assert_non_null(bad[i]);
		buf = fmt("%s%s%s", tl.journal, bad[i], good);
		len = strlen(buf);
		assert_int_equal(replay(buf, len, &st, &s, &res), 0);
		if (res.skipped != 1)
			fail_msg("accepted %s", bad[i]);
		assert_string_equal(res.first_problem.field, why[i]);
		assert_non_null(
		    strstr(res.first_problem.message, "journal line"));
		/* the good order after it, and only that one */
		assert_int_equal(s.orders, 1);
		assert_true(st.seq == next);
		assert_int_equal(s.events, next);
		assert_int_equal(res.records, count_lines(buf, len) - 1);
		free(buf);
	}
	/* What the first three said. */
	buf = fmt("%s%s", tl.journal, bad[2]);
	assert_int_equal(replay(buf, strlen(buf), &st, &s, &res), 0);
	assert_string_equal(res.first_problem.code, "seq_gap");
	assert_string_equal(res.first_problem.field, "events[1].seq");
	assert_memory_equal(&st, &tl.st, sizeof(st));
	assert_int_equal(s.orders, 0);
	assert_int_equal(s.events, tl.st.seq);
	free(buf);

	/* Torn: the whole order is skipped, its first event included. */
	buf = fmt("%s%.*s", tl.journal, (int)(strlen(good) - 1), good);
	assert_int_equal(replay(buf, strlen(buf), &st, &s, &res), 0);
	assert_int_equal(res.torn, 1);
	assert_int_equal(res.skipped, 1);
	assert_int_equal(res.last_good, tl.len);
	assert_memory_equal(&st, &tl.st, sizeof(st));
	assert_int_equal(s.orders, 0);
	free(buf);

	/* order() stopping the replay: its events are not handed out. */
	buf = fmt("%s%s", tl.journal, good);
	{
		lshop_replay_ops ops = ops_for(&s);

		s.stop_at_order = 1;
		lshop_state_init(&st);
		assert_int_equal(
		    lshop_journal_replay(buf, strlen(buf), &st, &ops, &res),
		    -1);
		assert_int_equal(s.events, tl.st.seq);
		assert_int_equal(res.last_good, tl.len);
	}
	free(buf);

	for (i = 0; i < nbad; i++)
		free(bad[i]);
	free(good);
	free(e1);
	tl_free(&tl);
}


/* SPEC §14: schedule lines, and a checkpoint keeping the schedule and the
 * show on air. */
struct schedule_seen {
	char ids[8][LSHOP_ID_MAX + 1];
	int n;
	int deleted;
	int checkpoints;
};

static int on_show(void *arg, const lshop_show *show, const char *deleted_id,
		   int64_t at_ms)
{
	struct schedule_seen *s = arg;
	int i;

	(void)at_ms;
	if (show != NULL) {
		assert_true(s->n < 8);
		strcpy(s->ids[s->n++], show->id);
		return 0;
	}
	s->deleted++;
	for (i = 0; i < s->n; i++)
		if (strcmp(s->ids[i], deleted_id) == 0) {
			memmove(s->ids[i], s->ids[i + 1],
				(size_t)(s->n - i - 1) * sizeof(s->ids[0]));
			s->n--;
			return 0;
		}
	fail_msg("deleted %s, never scheduled", deleted_id);
	return -1;
}

static int on_schedule_checkpoint(void *arg, uint64_t seq, int64_t file)
{
	struct schedule_seen *s = arg;

	(void)seq;
	(void)file;
	s->n = 0;
	s->checkpoints++;
	return 0;
}

static void test_schedule_lines_and_checkpoint(void **state)
{
	struct schedule_seen sched;
	lshop_replay_ops ops = {.arg = &sched,
				.checkpoint = on_schedule_checkpoint,
				.show = on_show};
	lshop_show shows[2];
	lshop_event ev;
	lshop_state st, at_cut;
	lshop_replay_result res;
	lshop_error err;
	char buf[16384], *line;
	size_t len = 0, n;

	(void)state;
	memset(shows, 0, sizeof(shows));
	line = "{\"title\":\"Weekly\",\"starts_at\":\"2026-12-10T19:00:00Z\","
	       "\"duration\":3600,\"rrule\":\"FREQ=WEEKLY;BYDAY=TH\"}";
	if (lshop_show_parse(line, strlen(line), "weekly", &shows[0], &err))
		fail_msg("%s", err.message);
	shows[1] = shows[0];
	strcpy(shows[1].id, "once");
	shows[1].rrule[0] = '\0';

#define ADD(expr)                                                              \
	do {                                                                   \
		line = (expr);                                                 \
		assert_non_null(line);                                         \
		memcpy(buf + len, line, n);                                    \
		len += n;                                                      \
		free(line);                                                    \
	} while (0)
	ADD(lshop_journal_show_line(&shows[0], T0, &n));
	ADD(lshop_journal_show_line(&shows[1], T0, &n));
	ADD(lshop_journal_show_deleted_line("once", T0 + 1, &n));
	memset(&ev, 0, sizeof(ev));
	ev.seq = 1;
	ev.type = LSHOP_SHOW_STARTED;
	ev.at_ms = T0 + 2;
	strcpy(ev.stream, STREAM);
	lshop_show_broadcast(&shows[0], shows[0].starts_at_ms, T0 + 2, STREAM,
			     &ev.show);
	ADD(lshop_journal_event_line(&ev, &n));

	memset(&sched, 0, sizeof(sched));
	lshop_state_init(&st);
	assert_int_equal(lshop_journal_replay(buf, len, &st, &ops, &res), 0);
	assert_int_equal(res.skipped, 0);
	assert_int_equal(sched.n, 1);
	assert_string_equal(sched.ids[0], "weekly");
	assert_int_equal(sched.deleted, 1);
	assert_true(st.show_live && st.show_seq == 1);

	/* the checkpoint of that state keeps both: the schedule and the
	 * show on air */
	line = lshop_journal_checkpoint_line(&st, STREAM, T0 + 3, 1, NULL, 0,
					     shows, 1, &n);
	assert_non_null(line);
	assert_non_null(strstr(line, "\"shows\":[{\"id\":\"weekly\""));
	memset(&sched, 0, sizeof(sched));
	lshop_state_init(&at_cut);
	assert_int_equal(lshop_journal_replay(line, n, &at_cut, &ops, &res), 0);
	assert_int_equal(res.skipped, 0);
	assert_int_equal(sched.checkpoints, 1);
	assert_int_equal(sched.n, 1);
	assert_string_equal(sched.ids[0], "weekly");
	assert_true(at_cut.show_live && at_cut.show_seq == 1);
	assert_string_equal(at_cut.show.id, st.show.id);
	free(line);

	/* a show line that does not hold a show is skipped, named */
	line = strdup("{\"show\":{\"id\":\"x\"},\"at\":\"2026-11-24T10:00:00Z\"}\n");
	lshop_state_init(&at_cut);
	assert_int_equal(
	    lshop_journal_replay(line, strlen(line), &at_cut, &ops, &res), 0);
	assert_int_equal(res.skipped, 1);
	assert_non_null(strstr(res.first_problem.field, "show."));
	free(line);
#undef ADD
}

struct talk_seen {
	int answers, deleted, words, checkpoints;
	char last_answer[LSHOP_QUESTION_MAX + 1];
	char first_word[LSHOP_BLOCKED_WORD_MAX + 1];
};

static int on_talk_answer(void *arg, const lshop_saved_answer *a,
			  const char *deleted_id, int64_t at_ms)
{
	struct talk_seen *t = arg;

	(void)at_ms;
	if (a == NULL) {
		assert_string_equal(deleted_id, "returns");
		t->deleted++;
		return 0;
	}
	t->answers++;
	strcpy(t->last_answer, a->answer);
	return 0;
}

static int on_talk_words(void *arg, const lshop_blocked_words *w,
			 int64_t at_ms)
{
	struct talk_seen *t = arg;

	(void)at_ms;
	t->words++;
	strcpy(t->first_word, w->n ? w->word[0] : "");
	return 0;
}

static int on_talk_checkpoint(void *arg, uint64_t seq, int64_t file)
{
	(void)seq;
	(void)file;
	((struct talk_seen *)arg)->checkpoints++;
	return 0;
}

/* SPEC §15: saved answers and blocked words, written and read back. */
static void test_answer_and_words_lines(void **state)
{
	struct talk_seen t;
	lshop_replay_ops ops = {.arg = &t,
				.checkpoint = on_talk_checkpoint,
				.answer = on_talk_answer,
				.blocked_words = on_talk_words};
	lshop_saved_answer a;
	lshop_blocked_words *w = calloc(1, sizeof(*w));
	lshop_replay_result res;
	lshop_state st;
	lshop_error err;
	char buf[4096], *line;
	size_t len = 0, n;
	const char *body = "{\"question\":\"Versand?\",\"answer\":\"Ab 50 "
			   "\xe2\x82\xac <frei>\"}";

	(void)state;
	assert_int_equal(lshop_saved_answer_parse(body, strlen(body),
						  "shipping", &a, &err),
			 0);
	body = "{\"words\":[\"Spam\",\"scam link\"]}";
	assert_int_equal(lshop_blocked_words_parse(body, strlen(body), w, &err),
			 0);
#define ADD(expr)                                                              \
	do {                                                                   \
		line = (expr);                                                 \
		assert_non_null(line);                                         \
		memcpy(buf + len, line, n);                                    \
		len += n;                                                      \
		free(line);                                                    \
	} while (0)
	ADD(lshop_journal_answer_line(&a, T0, &n));
	ADD(lshop_journal_answer_deleted_line("returns", T0 + 1, &n));
	ADD(lshop_journal_blocked_words_line(w, T0 + 2, &n));
#undef ADD
	memset(&t, 0, sizeof(t));
	lshop_state_init(&st);
	assert_int_equal(lshop_journal_replay(buf, len, &st, &ops, &res), 0);
	assert_int_equal(res.skipped, 0);
	assert_int_equal(t.answers, 1);
	assert_string_equal(t.last_answer, "Ab 50 \xe2\x82\xac <frei>");
	assert_int_equal(t.deleted, 1);
	assert_int_equal(t.words, 1);
	assert_string_equal(t.first_word, "spam");

	/* an answer line whose text is not clean is skipped, named */
	line = strdup("{\"answer\":{\"id\":\"x\",\"question\":\"a\\nb\","
		      "\"answer\":\"c\"},\"at\":\"2026-11-24T10:00:00Z\"}\n");
	memset(&t, 0, sizeof(t));
	assert_int_equal(
	    lshop_journal_replay(line, strlen(line), &st, &ops, &res), 0);
	assert_int_equal(res.skipped, 1);
	assert_int_equal(t.answers, 0);
	assert_non_null(strstr(res.first_problem.field, "answer."));
	free(line);
	free(w);
}

/* SPEC §15: a pinned question and a running poll outlive a rotation. */
static void test_checkpoint_keeps_question_and_poll(void **state)
{
	lshop_event ev[3];
	lshop_state st, at_cut;
	lshop_replay_result res;
	lshop_error err;
	char *line;
	size_t n, i;

	(void)state;
	memset(ev, 0, sizeof(ev));
	for (i = 0; i < 3; i++) {
		ev[i].seq = i + 1;
		ev[i].at_ms = T0 + (int64_t)i * 1000;
		strcpy(ev[i].stream, STREAM);
	}
	ev[0].type = LSHOP_QUESTION_PINNED;
	strcpy(ev[0].question.id, "q1");
	strcpy(ev[0].question.text, "Passt das <b>auch</b>?");
	strcpy(ev[0].question.answer, "Ja");
	ev[1].type = LSHOP_POLL_STARTED;
	strcpy(ev[1].poll.id, "p2");
	strcpy(ev[1].poll.question, "Next?");
	ev[1].poll.options_n = 2;
	strcpy(ev[1].poll.options[0], "Red");
	strcpy(ev[1].poll.options[1], "Blue");
	ev[1].poll.ends_at_ms = T0 + 60000;
	ev[2] = ev[0];
	ev[2].type = LSHOP_QUESTION_UNPINNED;
	ev[2].seq = 3;
	ev[2].at_ms = T0 + 2000;
	lshop_state_init(&st);
	for (i = 0; i < 2; i++)
		assert_int_equal(lshop_state_apply(&st, &ev[i], &err), 0);

	line = lshop_journal_checkpoint_line(&st, STREAM, T0 + 1500, 1, NULL, 0,
					     NULL, 0, &n);
	assert_non_null(line);
	lshop_state_init(&at_cut);
	assert_int_equal(lshop_journal_replay(line, n, &at_cut, NULL, &res), 0);
	assert_int_equal(res.skipped, 0);
	assert_true(at_cut.question_pinned && at_cut.question_seq == 1);
	assert_memory_equal(&at_cut.question, &st.question,
			    sizeof(st.question));
	assert_true(at_cut.poll_live && at_cut.poll_seq == 2);
	assert_memory_equal(&at_cut.poll, &st.poll, sizeof(st.poll));
	assert_true(lshop_state_next_due(&at_cut) == T0 + 60000);
	free(line);

	/* an unpinned question leaves its edge in the checkpoint */
	assert_int_equal(lshop_state_apply(&st, &ev[2], &err), 0);
	line = lshop_journal_checkpoint_line(&st, STREAM, T0 + 2500, 1, NULL, 0,
					     NULL, 0, &n);
	assert_non_null(strstr(line, "\"question\":\"2026-11-24T10:00:02"));
	lshop_state_init(&at_cut);
	assert_int_equal(lshop_journal_replay(line, n, &at_cut, NULL, &res), 0);
	assert_false(at_cut.question_pinned);
	assert_true(at_cut.question_edge_ms == T0 + 2000);
	assert_true(at_cut.poll_edge_ms == T0 + 1000);
	free(line);
}

/* Catch-up: seek and the events after a seq */

/* A journal file in memory, read as a file would be; counts the bytes. */
typedef struct mem_file {
	const char *buf;
	int64_t len;
	int64_t read;
	int reads;
} mem_file;

static int64_t mem_read(void *arg, char *buf, size_t len, int64_t offset)
{
	mem_file *f = arg;
	int64_t n = f->len - offset;

	if (offset < 0 || offset > f->len)
		return -1;
	if (n > (int64_t)len)
		n = (int64_t)len;
	memcpy(buf, f->buf + offset, (size_t)n);
	f->read += n;
	f->reads++;
	return n;
}

/* The events a full replay hands out after "after", as a trail. */
static char *trail_after(const char *buf, size_t len, uint64_t after)
{
	lshop_replay_ops ops;
	lshop_state st;
	seen s = {0};
	char *out, *p, *line;

	s.keep_trail = 1;
	ops = ops_for(&s);
	lshop_state_init(&st);
	assert_int_equal(lshop_journal_replay(buf, len, &st, &ops, NULL), 0);
	out = calloc(1, s.trail_len + 1);
	assert_non_null(out);
	/* restored events are not events of the file: keep "0 " lines */
	for (p = s.trail; p != NULL && *p; p = strchr(line, '\n') + 1) {
		line = p;
		if (p[0] == '0') {
			lshop_event ev;
			const char *json = p + 2, *nl = strchr(p, '\n');

			assert_int_equal(lshop_event_parse(json,
							   (size_t)(nl - json),
							   &ev, NULL), 0);
			if (ev.seq > after)
				strncat(out, p, (size_t)(nl + 1 - p));
		}
	}
	free(s.trail);
	return out;
}

/* The events a catch-up after "after" and before upto hands out. */
static char *trail_seek(const char *buf, size_t len, uint64_t after,
			uint64_t upto, mem_file *f, int *reaches, int *rc)
{
	lshop_replay_ops ops;
	lshop_replay_result res;
	int64_t off;
	char *out;
	seen s = {0};

	f->buf = buf;
	f->len = (int64_t)len;
	f->read = 0;
	f->reads = 0;
	*reaches = lshop_journal_seek(mem_read, f, f->len, after, &off);
	assert_true(off >= 0 && off <= f->len);
	assert_true(off == 0 || buf[off - 1] == '\n');
	s.keep_trail = 1;
	ops = ops_for(&s);
	*rc = lshop_journal_events(buf + off, len - (size_t)off, after, upto,
				   &ops, &res);
	assert_int_equal(res.skipped, 0);
	assert_int_equal(s.restored, 0);
	out = s.trail != NULL ? s.trail : calloc(1, 1);
	assert_non_null(out);
	return out;
}

/* A long stream: events, catalog puts and orders, in one file. */
static void long_history(timeline *tl, int steps)
{
	const lshop_offer *const offers[] = {&ad_a, &plain, &sponsored_c};
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_order o;
	int64_t now = T0;
	uint32_t rnd = 4242;
	char id[32];
	size_t n;
	int step;

	tl_init(tl);
	tl_put(tl, &ad_a, T0 - 1000);
	tl_put(tl, &plain, T0 - 1000);
	tl_put(tl, &sponsored_c, T0 - 1000);
	for (step = 0; step < steps; step++) {
		n = tl_random_plan(tl, &rnd, &now, offers, 3, evs);
		if (n > 0)
			tl_apply(tl, evs, n);
		if (step % 97 == 0)
			tl_put(tl, &plain, now);
		if (step % 131 == 0) {
			snprintf(id, sizeof(id), "order-%d", step);
			o = make_order(id, "sku-a", 1, "19.99");
			tl_order(tl, &o, LSHOP_PROVIDER_STANDARD, now, NULL);
		}
	}
}

static void test_seek_hands_out_exactly_the_events_after(void **state)
{
	timeline tl;
	mem_file f;
	uint64_t last, afters[12];
	size_t i;
	char *want, *got;
	int reaches, rc;

	(void)state;
	long_history(&tl, 6000);
	last = tl.st.seq;
	assert_true(last > 5000);
	afters[0] = 0;
	afters[1] = 1;
	afters[2] = 2;
	afters[3] = last / 3;
	afters[4] = last / 2;
	afters[5] = last / 2 + 1;
	afters[6] = last - 200;
	afters[7] = last - 3;
	afters[8] = last - 1;
	afters[9] = last;
	afters[10] = last + 10;
	afters[11] = 5 * last / 6;
	for (i = 0; i < 12; i++) {
		want = trail_after(tl.journal, tl.len, afters[i]);
		got = trail_seek(tl.journal, tl.len, afters[i], UINT64_MAX, &f,
				 &reaches, &rc);
		assert_string_equal(got, want);
		/* orders' events too */
		if (i == 0)
			assert_non_null(strstr(want, "purchase.completed"));
		assert_true((afters[i] < last) == (want[0] != '\0'));
		assert_int_equal(rc, 0);
		/* the first file reaches back to every seq */
		assert_int_equal(reaches, 1);
		/* a few blocks, not the file */
		assert_true(f.read <= 40 * 4096);
		assert_true((size_t)f.read < tl.len / 10);
		free(want);
		free(got);
	}
	tl_free(&tl);
}

static void test_seek_reads_little_before_what_it_needs(void **state)
{
	lshop_replay_ops ops;
	lshop_replay_result res;
	timeline tl;
	mem_file f = {0};
	int64_t off;
	uint64_t after;
	seen s = {0};
	char *first, *needle;

	(void)state;
	long_history(&tl, 6000);
	after = tl.st.seq - 100;
	f.buf = tl.journal;
	f.len = (int64_t)tl.len;
	assert_int_equal(lshop_journal_seek(mem_read, &f, f.len, after, &off),
			 1);
	/*
	 * nothing after "after" is before off, and the event after it is
	 * within 16 KiB and a block of off
	 */
	needle = fmt("\"seq\":%llu,", (unsigned long long)after + 1);
	first = strstr(tl.journal, needle);
	assert_non_null(first);
	assert_true(first >= tl.journal + off);
	assert_true(first - (tl.journal + off) <= 16 * 1024 + 4096);
	free(needle);
	/* upto stops it: the zone has the rest */
	ops = ops_for(&s);
	assert_int_equal(lshop_journal_events(tl.journal + off,
					      tl.len - (size_t)off, after,
					      after + 11, &ops, &res),
			 1);
	assert_int_equal(s.events, 10);
	assert_true(s.last_seq == after + 10);
	assert_int_equal(res.records, 10);
	tl_free(&tl);
}

static void test_seek_across_a_rotation(void **state)
{
	const lshop_offer catalog[] = {ad_a, plain, sponsored_c};
	timeline tl;
	mem_file f;
	uint64_t cut_seq, last;
	size_t cut, len;
	char *cp, *file1, *want, *got, *both;
	int reaches, rc;

	(void)state;
	long_history(&tl, 3000);
	cut = tl.len;
	cut_seq = tl.st.seq;
	cp = lshop_journal_checkpoint_line(&tl.st, STREAM, T0, 1, catalog, 3,
					   NULL, 0, NULL);
	assert_non_null(cp);

	{
		const lshop_offer *const offers[] = {&ad_a, &plain,
						     &sponsored_c};
		lshop_event evs[LSHOP_PLAN_MAX];
		int64_t now = T0 + 100000000;
		uint32_t rnd = 99;
		size_t n;
		int step;

		for (step = 0; step < 3000; step++) {
			n = tl_random_plan(&tl, &rnd, &now, offers, 3, evs);
			if (n > 0)
				tl_apply(&tl, evs, n);
		}
	}
	last = tl.st.seq;
	file1 = rotated(&tl, cut, cp, &len);

	/* after the checkpoint: the new file alone reaches back */
	got = trail_seek(file1, len, cut_seq + 5, UINT64_MAX, &f, &reaches,
			 &rc);
	assert_int_equal(reaches, 1);
	want = trail_after(tl.journal, tl.len, cut_seq + 5);
	assert_string_equal(got, want);
	free(got);
	free(want);

	/* at the checkpoint's seq: still this file, from its start on */
	got = trail_seek(file1, len, cut_seq, UINT64_MAX, &f, &reaches, &rc);
	assert_int_equal(reaches, 1);
	want = trail_after(tl.journal, tl.len, cut_seq);
	assert_string_equal(got, want);
	free(got);
	free(want);

	/*
	 * before it: the old file first, up to where the new one begins
	 * (upto: its first event), then the new one, from its start
	 */
	got = trail_seek(file1, len, cut_seq - 40, UINT64_MAX, &f, &reaches,
			 &rc);
	assert_int_equal(reaches, 0);
	free(got);
	got = trail_seek(tl.journal, cut, cut_seq - 40, UINT64_MAX, &f,
			 &reaches, &rc);
	assert_int_equal(reaches, 1);
	want = trail_seek(file1, len, cut_seq, UINT64_MAX, &f, &reaches, &rc);
	both = fmt("%s%s", got, want);
	free(got);
	free(want);
	want = trail_after(tl.journal, tl.len, cut_seq - 40);
	assert_string_equal(both, want);
	assert_true(last > cut_seq);
	free(both);
	free(want);
	free(file1);
	free(cp);
	tl_free(&tl);
}

static void test_events_skip_torn_and_damaged_lines(void **state)
{
	lshop_replay_ops ops;
	lshop_replay_result res;
	timeline tl;
	seen s = {0};
	char *buf, *torn;
	size_t len, at;

	(void)state;
	sample_history(&tl);
	/* a damaged event line after the 5th line: said, and passed */
	at = after_line(tl.journal, 5);
	buf = insert_at(tl.journal, tl.len, at, "{\"seq\":9x,\"id\"\n", &len);
	torn = fmt("%s{\"seq\":%llu,\"id\":\"cut", buf,
		   (unsigned long long)tl.st.seq + 1);
	ops = ops_for(&s);
	assert_int_equal(lshop_journal_events(torn, strlen(torn), 0,
					      UINT64_MAX, &ops, &res),
			 0);
	assert_int_equal(res.torn, 1);
	assert_true(s.last_seq == tl.st.seq);
	assert_int_equal(res.records, s.events);
	/* a line that looks like an event but is not JSON is skipped */
	free(buf);
	buf = insert_at(tl.journal, tl.len, at, "{\"seq\":4,\"id\n", &len);
	ops = ops_for(&s);
	assert_int_equal(lshop_journal_events(buf, len, 0, UINT64_MAX, &ops,
					      &res),
			 0);
	assert_int_equal(res.skipped, 1);
	/* and a seq met twice is handed out once */
	free(buf);
	buf = fmt("%s%s", tl.journal, tl.journal + after_line(tl.journal, 3));
	ops = ops_for(&s);
	assert_int_equal(lshop_journal_events(buf, strlen(buf), 0, UINT64_MAX,
					      &ops, &res),
			 0);
	assert_true(s.last_seq == tl.st.seq);
	assert_int_equal(s.events, tl.st.seq);
	free(buf);
	free(torn);
	tl_free(&tl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_checkpoint_keeps_question_and_poll),
	    cmocka_unit_test(test_answer_and_words_lines),
	    cmocka_unit_test(test_offer_and_event_lines),
	    cmocka_unit_test(test_checkpoint_line),
	    cmocka_unit_test(test_schedule_lines_and_checkpoint),
	    cmocka_unit_test(test_replay_full_history),
	    cmocka_unit_test(test_replay_torn_last_line),
	    cmocka_unit_test(test_replay_skips_garbage_and_goes_on),
	    cmocka_unit_test(test_replay_skips_out_of_order_seq),
	    cmocka_unit_test(test_replay_callback_stops),
	    cmocka_unit_test(test_checkpoint_round_trip),
	    cmocka_unit_test(test_checkpoint_keeps_edges),
	    cmocka_unit_test(test_checkpoint_anywhere),
	    cmocka_unit_test(test_damaged_checkpoint_is_skipped),
	    cmocka_unit_test(test_order_line),
	    cmocka_unit_test(test_order_round_trip),
	    cmocka_unit_test(test_bad_order_line_is_skipped_whole),
	    cmocka_unit_test(test_refund_line),
	    cmocka_unit_test(test_seek_hands_out_exactly_the_events_after),
	    cmocka_unit_test(test_seek_reads_little_before_what_it_needs),
	    cmocka_unit_test(test_seek_across_a_rotation),
	    cmocka_unit_test(test_events_skip_torn_and_damaged_lines),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
