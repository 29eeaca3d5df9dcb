/*
 * The journal (journal.h): its lines, and the replay that rebuilds a
 * stream from them, torn, damaged or rotated.
 */
#include <jansson.h>

#include "lshop/journal.h"

#include "timeline.h"

/* What a replay handed out. */
typedef struct seen {
	size_t offers, events, restored, checkpoints;
	uint64_t checkpoint_seq;
	uint64_t last_seq;
	char offer_ids[8][LSHOP_ID_MAX + 1];
	int64_t offer_at[8];
	uint64_t restored_seq[4];
	lshop_event_type restored_type[4];
	size_t stop_at_event; /* the callback stops at this event; 0 never */
} seen;

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

static int on_checkpoint(void *arg, uint64_t seq)
{
	seen *s = arg;

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
	lshop_replay_ops ops = {s, on_offer, on_checkpoint, on_event};

	memset(s, 0, sizeof(*s));
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
	line = lshop_journal_checkpoint_line(&st, STREAM, T0, NULL, 0, &len);
	assert_string_equal(line,
			    "{\"checkpoint\":{\"seq\":0,\"at\":\"2026-11-24T10:"
			    "00:00.123Z\",\"offers\":[],\"open\":[],"
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
	line = lshop_journal_checkpoint_line(&tl.st, STREAM, T0 + 5000, catalog,
					     2, &len);
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
		"123Z\",\"offers\":[%s,%s],\"open\":[%s,%s,%s],"
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
	seen s;

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
	seen s;

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
	seen s;

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
	seen s;

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
	seen s;

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
	seen s;

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
	cp = lshop_journal_checkpoint_line(&tl.st, STREAM, T0 + 3000, catalog,
					   3, NULL);
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
	seen s;

	(void)state;
	tl_init(&tl);
	tl_countdown(&tl, T0, 5, "x", NULL);
	assert_int_equal(tl_tick(&tl, T0 + 5000), 1);
	tl_disclose(&tl, T0 + 6000, "ad", NULL);
	tl_hide(&tl, T0 + 7000);
	tl_pin(&tl, &plain, T0 + 7500, 0);
	tl_unpin(&tl, T0 + 8000);
	cp = lshop_journal_checkpoint_line(&tl.st, STREAM, T0 + 9000, NULL, 0,
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
	seen s;

	(void)state;
	tl_init(&tl);
	for (step = 0; step < 1200; step++) {
		n = tl_random_plan(&tl, &rnd, &now, offers, 3, evs);
		if (n > 0)
			tl_apply(&tl, evs, n);
		if (step % 30 == 29 && ncuts < 40) {
			cuts[ncuts] = tl.len;
			cps[ncuts] = lshop_journal_checkpoint_line(
			    &tl.st, STREAM, now, catalog, 3, NULL);
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
	seen s;

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_offer_and_event_lines),
	    cmocka_unit_test(test_checkpoint_line),
	    cmocka_unit_test(test_replay_full_history),
	    cmocka_unit_test(test_replay_torn_last_line),
	    cmocka_unit_test(test_replay_skips_garbage_and_goes_on),
	    cmocka_unit_test(test_replay_skips_out_of_order_seq),
	    cmocka_unit_test(test_replay_callback_stops),
	    cmocka_unit_test(test_checkpoint_round_trip),
	    cmocka_unit_test(test_checkpoint_keeps_edges),
	    cmocka_unit_test(test_checkpoint_anywhere),
	    cmocka_unit_test(test_damaged_checkpoint_is_skipped),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
