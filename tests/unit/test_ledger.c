/*
 * The ledger (ledger.h): what rotated-out journal files leave behind.
 * A report made from ledger + the files still there must equal the one
 * made from the whole history, and every order key must stay known.
 */
#include "lshop/audience.h"
#include "lshop/ledger.h"
#include "lshop/report.h"

#include "timeline.h"

/* A replay into a report; events up to seq are counted already. */
typedef struct reporter {
	lshop_report *r;
	uint64_t seq;
} reporter;

static int rep_offer(void *arg, const lshop_offer *o, int64_t at_ms)
{
	(void)at_ms;
	return lshop_report_add_offer(((reporter *)arg)->r, o);
}

static int rep_order(void *arg, const lshop_order *o, lshop_provider p,
		     int64_t at_ms)
{
	(void)p;
	return lshop_report_add_order_at(((reporter *)arg)->r, o, at_ms);
}

static int rep_audience(void *arg, const lshop_audience *a, int full,
			int64_t at_ms)
{
	return lshop_report_add_audience(((reporter *)arg)->r, a, full, at_ms);
}

static int rep_event(void *arg, const lshop_event *ev, const char *json,
		     size_t len, int restored)
{
	reporter *rep = arg;

	(void)json;
	(void)len;
	(void)restored;
	if (ev->seq <= rep->seq)
		return 0;
	rep->seq = ev->seq;
	return lshop_report_add_event(rep->r, ev);
}

/*
 * The report of ledger (may be NULL) + the journal files: its JSON, and
 * when shows are named (NULL-terminated), the JSON and CSV of each, the
 * CSV of the shows and of the offers.
 */
static char *report_with_shows(const char *ledger, const char *const *files,
			       size_t nfiles, int64_t now,
			       const char *const *shows)
{
	lshop_replay_ops ops = {0};
	lshop_state st;
	reporter rep = {lshop_report_new(), 0};
	lshop_error err;
	int64_t file;
	char *json;
	size_t i;

	assert_non_null(rep.r);
	if (ledger != NULL &&
	    lshop_ledger_read(ledger, strlen(ledger), rep.r, NULL, NULL, &file,
			      &rep.seq, &err) != 0)
		fail_msg("ledger: %s", err.message);
	ops.arg = &rep;
	ops.offer = rep_offer;
	ops.order = rep_order;
	ops.event = rep_event;
	ops.audience = rep_audience;
	lshop_state_init(&st);
	for (i = 0; i < nfiles; i++)
		assert_int_equal(lshop_journal_replay(files[i], strlen(files[i]),
						      &st, &ops, NULL),
				 0);
	json = lshop_report_to_json(rep.r, STREAM, now, NULL);
	assert_non_null(json);
	for (i = 0; shows != NULL && shows[i] != NULL; i++) {
		char *sj =
		    lshop_report_show_json(rep.r, STREAM, shows[i], now, NULL);
		char *sc = lshop_report_show_csv(rep.r, shows[i], now, NULL);
		char *all;

		if (sj == NULL || sc == NULL)
			fail_msg("no show %s", shows[i]);
		all = fmt("%s\n%s\n%s", json, sj, sc);
		free(json);
		free(sj);
		free(sc);
		json = all;
	}
	if (shows != NULL) {
		char *csv = lshop_report_shows_csv(rep.r, 10, now, NULL);
		char *offers = lshop_report_to_csv(rep.r, now, NULL);
		char *all;

		assert_non_null(csv);
		assert_non_null(offers);
		all = fmt("%s\n%s\n%s", json, csv, offers);
		free(json);
		free(csv);
		free(offers);
		json = all;
	}
	lshop_report_free(rep.r);
	return json;
}

static char *report_of(const char *ledger, const char *const *files,
		       size_t nfiles, int64_t now)
{
	return report_with_shows(ledger, files, nfiles, now, NULL);
}

typedef struct keys {
	char key[64][LSHOP_ORDER_KEY_MAX];
	int64_t at[64];
	size_t n;
} keys;

static int on_key(void *arg, const char *key, size_t len, int64_t at_ms)
{
	keys *k = arg;

	assert_true(k->n < 64);
	assert_int_equal(strlen(key), len);
	snprintf(k->key[k->n], sizeof(k->key[0]), "%s", key);
	k->at[k->n++] = at_ms;
	return 0;
}

static char *checkpoint_of(const timeline *tl, int64_t at, int64_t file,
			   const lshop_offer *catalog, size_t n)
{
	char *cp = lshop_journal_checkpoint_line(&tl->st, STREAM, at, file,
						 catalog, n, NULL, 0, NULL);

	assert_non_null(cp);
	return cp;
}

/* The journal text from byte from on, behind a checkpoint. */
static char *file_from(const timeline *tl, size_t from, const char *cp)
{
	return fmt("%s%.*s", cp ? cp : "", (int)(tl->len - from),
		   tl->journal + from);
}

static void test_fold_keeps_report_and_keys(void **state)
{
	lshop_offer ad = make_offer("sku-ad", "19.99", "ad");
	lshop_offer plain = make_offer("sku-plain", "9.5", NULL);
	lshop_offer catalog[2] = {ad, plain};
	lshop_order o1 = make_order("1001", "sku-ad", 2, "39.98");
	lshop_order o2 = make_order("1002", "sku-plain", 1, "9.50");
	lshop_order o3 = make_order("1003", "sku-ad", 1, "19.99");
	char *f0, *f1, *f2, *cp1, *cp2, *l1, *l2, *full, *part, *again;
	const char *files[3];
	size_t cut1, cut2, len;
	lshop_error err;
	int64_t now = T0 + 600000, file;
	uint64_t seq, seq_at_cut2;
	keys k = {0};

	(void)state;
	strcpy(o2.delivery_id, "wc-delivery-7");
	timeline tl;
	tl_init(&tl);
	tl_put(&tl, &ad, T0);
	tl_put(&tl, &plain, T0);
	tl_pin(&tl, &ad, T0 + 1000, 0);
	tl_order(&tl, &o1, LSHOP_PROVIDER_SHOPIFY, T0 + 2000, NULL);
	cut1 = tl.len;
	/* file 1 begins with the pin still open */
	cp1 = checkpoint_of(&tl, T0 + 3000, 1, catalog, 2);
	tl_order(&tl, &o2, LSHOP_PROVIDER_WOOCOMMERCE, T0 + 4000, NULL);
	tl_unpin(&tl, T0 + 5000);
	tl_pin(&tl, &plain, T0 + 6000, 0);
	cut2 = tl.len;
	seq_at_cut2 = tl.st.seq;
	cp2 = checkpoint_of(&tl, T0 + 7000, 2, catalog, 2);
	tl_order(&tl, &o3, LSHOP_PROVIDER_STRIPE, T0 + 8000, NULL);
	tl_unpin(&tl, T0 + 9000);

	f0 = fmt("%.*s", (int)cut1, tl.journal);
	{
		char *rest = file_from(&tl, cut1, cp1);
		size_t in1 = strlen(cp1) + (cut2 - cut1);

		f1 = fmt("%.*s", (int)in1, rest);
		free(rest);
	}
	f2 = file_from(&tl, cut2, cp2);
	assert_true(lshop_journal_file(f0, strlen(f0)) == 0);
	assert_true(lshop_journal_file(f1, strlen(f1)) == 1);
	assert_true(lshop_journal_file(f2, strlen(f2)) == 2);

	files[0] = tl.journal;
	full = report_of(NULL, files, 1, now);
	assert_non_null(strstr(full, "\"orders\":2"));

	/* file 0 folded: ledger + files 1, 2 tell the whole story */
	l1 = lshop_ledger_fold(NULL, 0, f0, strlen(f0), now, &len, &err);
	if (l1 == NULL)
		fail_msg("fold: %s", err.message);
	assert_int_equal(len, strlen(l1));
	assert_true(l1[len - 1] == '\n');
	files[0] = f1;
	files[1] = f2;
	part = report_of(l1, files, 2, now);
	assert_string_equal(part, full);
	free(part);

	/* the same file again: refused, nothing folded twice */
	again = lshop_ledger_fold(l1, strlen(l1), f0, strlen(f0), now, &len,
				  &err);
	assert_null(again);
	assert_string_equal(err.code, "already_folded");

	/* file 1 too: ledger + file 2 */
	l2 = lshop_ledger_fold(l1, strlen(l1), f1, strlen(f1), now, &len,
			       &err);
	if (l2 == NULL)
		fail_msg("fold: %s", err.message);
	files[0] = f2;
	part = report_of(l2, files, 1, now);
	assert_string_equal(part, full);
	free(part);

	/* every order key, oldest first, with when it was taken */
	assert_int_equal(lshop_ledger_read(l2, strlen(l2), NULL, on_key, &k,
					   &file, &seq, &err),
			 0);
	assert_true(file == 1);
	assert_true(seq == seq_at_cut2);
	assert_int_equal(k.n, 3);
	assert_string_equal(k.key[0], "shopify:o:1001");
	assert_string_equal(k.key[1], "woocommerce:o:1002");
	assert_string_equal(k.key[2], "woocommerce:d:wc-delivery-7");
	assert_true(k.at[0] == T0 + 2000 && k.at[2] == T0 + 4000);

	/* a week later, a fold forgets the keys: shops retried long ago */
	free(again);
	again = lshop_ledger_fold(l1, strlen(l1), f1, strlen(f1),
				  T0 + LSHOP_ORDER_KEEP_MS + 2001, &len, &err);
	assert_non_null(again);
	k.n = 0;
	assert_int_equal(lshop_ledger_read(again, strlen(again), NULL, on_key,
					   &k, &file, &seq, &err),
			 0);
	assert_int_equal(k.n, 2);
	assert_string_equal(k.key[0], "woocommerce:o:1002");
	assert_string_equal(k.key[1], "woocommerce:d:wc-delivery-7");

	free(again);
	free(l1);
	free(l2);
	free(full);
	free(f0);
	free(f1);
	free(f2);
	free(cp1);
	free(cp2);
	tl_free(&tl);
}

static void test_damaged_ledger_is_named(void **state)
{
	const char *bad[][2] = {
	    {"", ""},
	    {"{\"ledger\":[]}", "ledger"},
	    {"{\"ledger\":{\"file\":-1,\"seq\":0,\"report\":{\"offers\":[]},"
	     "\"orders\":[]}}",
	     "ledger.file"},
	    {"{\"ledger\":{\"file\":0,\"seq\":0,\"report\":{\"offers\":[]},"
	     "\"orders\":[]}}",
	     "report.pinned"},
	    {"{\"ledger\":{\"file\":0,\"seq\":0,\"x\":1}}", "ledger.x"},
	};
	lshop_report *r;
	lshop_error err;
	uint64_t seq;
	int64_t file;
	size_t i, len;
	char *out;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = lshop_report_new();
		if (lshop_ledger_read(bad[i][0], strlen(bad[i][0]), r, NULL,
				      NULL, &file, &seq, &err) == 0)
			fail_msg("accepted %s", bad[i][0]);
		assert_string_equal(err.field, bad[i][1]);
		assert_true(strlen(err.message) > 10);
		lshop_report_free(r);
		out = lshop_ledger_fold(bad[i][0], strlen(bad[i][0]),
					"{\"seq\":1}\n", 10, T0, &len, &err);
		if (bad[i][0][0] != '\0')
			assert_null(out);
		free(out);
	}
}

/* Keys are printable ASCII, as lshop_order_key writes them (found by
 * fuzz_ledger: a "\u0000" reached the key callback inside a key). */
static void test_ledger_key_with_nul_is_damaged(void **state)
{
	static const char *const bad_keys[] = {"\"shopify:o:1\\u0000x\"",
					       "\"shopify:o:\\n\"", "\"\""};
	char *good, *bad, *at;
	lshop_error err;
	uint64_t seq;
	int64_t file;
	size_t i, len;

	(void)state;
	good = lshop_ledger_fold(NULL, 0, "", 0, T0, &len, &err);
	assert_non_null(good);
	assert_int_equal(
	    lshop_ledger_read(good, len, NULL, NULL, NULL, &file, &seq, &err),
	    0);
	at = strstr(good, "\"orders\":[]");
	assert_non_null(at);
	for (i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		bad = malloc(len + 64);
		assert_non_null(bad);
		sprintf(bad, "%.*s\"orders\":[[%s,1]]%s", (int)(at - good),
			good, bad_keys[i], at + strlen("\"orders\":[]"));
		assert_int_equal(lshop_ledger_read(bad, strlen(bad), NULL, NULL,
						   NULL, &file, &seq, &err),
				 -1);
		assert_string_equal(err.field, "ledger.orders");
		free(bad);
	}
	free(good);
}

/* A well-mixed 64-bit viewer hash (splitmix64). */
static uint64_t viewer(uint64_t i)
{
	uint64_t z = i + UINT64_C(0x9e3779b97f4a7c15);

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void tl_audience(timeline *tl, const lshop_audience *a, int full,
			int64_t at_ms)
{
	size_t len;
	char *line = lshop_journal_audience_line(a, full, at_ms, &len);

	assert_non_null(line);
	tl_write(tl, line, len);
	free(line);
}

static void tl_show(timeline *tl, const lshop_show *show, int64_t at_ms)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	size_t n;

	if (show != NULL)
		n = lshop_state_plan_show_start(&tl->st, show, at_ms, evs,
						&err);
	else
		n = lshop_state_plan_show_end(&tl->st, NULL, at_ms, evs, &err);
	if (n == 0)
		fail_msg("show refused: %s", err.message);
	tl_apply(tl, evs, n);
}

/*
 * Shows across rotations: file 1 begins in the middle of show 1 (a pin
 * open, tallies half done), file 2 between shows (a pin still open);
 * the ledger carries shows, their figures, sketches and series, and the
 * show on air, so that each report equals the one of the whole journal.
 */
static void test_fold_keeps_shows(void **state)
{
	lshop_offer ad = make_offer("sku-ad", "19.99", "ad");
	lshop_offer plain = make_offer("sku-plain", "9.5", NULL);
	lshop_offer catalog[2] = {ad, plain};
	lshop_audience *a1 = malloc(sizeof(*a1)), *gap = malloc(sizeof(*gap));
	lshop_audience *a2 = malloc(sizeof(*a2));
	lshop_show show1, show2;
	lshop_order o;
	const char *files[3], *shows[3];
	char *f0, *f1, *f2, *cp1, *cp2, *l1, *l2, *full, *part;
	size_t cut1, cut2, len, in1, i;
	lshop_error err;
	int64_t now = T0 + 600000;
	timeline tl;

	(void)state;
	assert_non_null(a1);
	assert_non_null(gap);
	assert_non_null(a2);
	lshop_show_broadcast(NULL, 0, T0, "Morning", &show1);
	lshop_show_broadcast(NULL, 0, T0 + 20000, "Evening", &show2);
	lshop_audience_init(a1, show1.id);
	lshop_audience_init(gap, NULL);
	lshop_audience_init(a2, show2.id);
	shows[0] = show1.id;
	shows[1] = show2.id;
	shows[2] = NULL;

	tl_init(&tl);
	tl_put(&tl, &ad, T0 - 1000);
	tl_put(&tl, &plain, T0 - 1000);
	tl_show(&tl, &show1, T0);
	tl_audience(&tl, gap, 1, T0); /* as the host: the last, the next */
	tl_audience(&tl, a1, 1, T0);
	tl_pin(&tl, &ad, T0 + 1000, 0);
	for (i = 0; i < 120; i++)
		lshop_audience_see(a1, viewer(i), "sku-ad");
	lshop_audience_tally(a1, 90, 1000, "sku-ad");
	lshop_audience_beacon(a1, 0, "sku-ad");
	lshop_audience_beacon(a1, 1, "sku-ad");
	tl_audience(&tl, a1, 1, T0 + 2000);
	o = make_order("1001", "sku-ad", 2, "39.98");
	tl_order(&tl, &o, LSHOP_PROVIDER_SHOPIFY, T0 + 3000, NULL);
	tl_audience(&tl, a1, 0, T0 + 3500);
	cut1 = tl.len;
	cp1 = lshop_journal_checkpoint_line(&tl.st, STREAM, T0 + 4000, 1,
					    catalog, 2, NULL, 0, NULL);
	assert_non_null(cp1);

	o = make_order("1002", "sku-ad", 1, "19.99");
	order_add(&o, "sku-plain", 1, "9.50");
	tl_order(&tl, &o, LSHOP_PROVIDER_STRIPE, T0 + 5000, NULL);
	for (i = 100; i < 200; i++)
		lshop_audience_see(a1, viewer(i), "sku-ad");
	lshop_audience_tally(a1, 110, 2000, "sku-ad");
	lshop_audience_beacon(a1, 0, "sku-ad");
	tl_audience(&tl, a1, 1, T0 + 6000);
	tl_show(&tl, NULL, T0 + 7000);
	tl_audience(&tl, a1, 1, T0 + 7000);
	tl_audience(&tl, gap, 1, T0 + 7000);
	for (i = 150; i < 250; i++)
		lshop_audience_see(gap, viewer(i), "sku-ad");
	lshop_audience_tally(gap, 40, 1000, "sku-ad");
	lshop_audience_beacon(gap, 1, "sku-ad");
	tl_audience(&tl, gap, 1, T0 + 8000);
	o = make_order("1003", "sku-plain", 1, "9.50");
	tl_order(&tl, &o, LSHOP_PROVIDER_SHOPIFY, T0 + 8500, NULL);
	cut2 = tl.len;
	cp2 = lshop_journal_checkpoint_line(&tl.st, STREAM, T0 + 9000, 2,
					    catalog, 2, NULL, 0, NULL);
	assert_non_null(cp2);

	lshop_audience_beacon(gap, 0, "sku-ad");
	tl_audience(&tl, gap, 1, T0 + 9500); /* the same stretch, later */
	tl_unpin(&tl, T0 + 10000);
	tl_show(&tl, &show2, T0 + 20000);
	tl_audience(&tl, gap, 1, T0 + 20000);
	tl_audience(&tl, a2, 1, T0 + 20000);
	tl_pin(&tl, &plain, T0 + 21000, 0);
	for (i = 1000; i < 1030; i++)
		lshop_audience_see(a2, viewer(i), "sku-plain");
	lshop_audience_tally(a2, 30, 5000, "sku-plain");
	o = make_order("2001", "sku-plain", 1, "9.50");
	strcpy(o.items[0].currency, "USD");
	tl_order(&tl, &o, LSHOP_PROVIDER_STANDARD, T0 + 22000, NULL);
	o = make_order("2002", "sku-ad", 1, "19.99");
	tl_order(&tl, &o, LSHOP_PROVIDER_STANDARD, T0 + 23000, NULL);
	tl_audience(&tl, a2, 1, T0 + 24000);
	tl_audience(&tl, a2, 0, T0 + 25000);

	f0 = fmt("%.*s", (int)cut1, tl.journal);
	{
		char *rest = file_from(&tl, cut1, cp1);

		in1 = strlen(cp1) + (cut2 - cut1);
		f1 = fmt("%.*s", (int)in1, rest);
		free(rest);
	}
	f2 = file_from(&tl, cut2, cp2);

	files[0] = tl.journal;
	full = report_with_shows(NULL, files, 1, now, shows);
	/* something to compare: both shows, their audience and orders */
	assert_non_null(strstr(full, "\"shows\":[{\"id\":\"live-"));
	assert_non_null(strstr(full, "\"gmv_by_currency\":{\"USD\":\"9.50\","));
	assert_non_null(strstr(full, "\"impressions\":2,\"clicks\":1,"
				     "\"ctr\":0.5,\"orders\":2,\"units\":4,"
				     "\"gmv\":\"69.47\""));
	assert_non_null(strstr(full, "\"series\":{\"viewers\":[["));

	l1 = lshop_ledger_fold(NULL, 0, f0, strlen(f0), now, &len, &err);
	if (l1 == NULL)
		fail_msg("fold: %s", err.message);
	/* the ledger carries the show on air and its sketch */
	assert_non_null(strstr(l1, "\"on_air\":0"));
	assert_non_null(strstr(l1, "\"unique\":\"hll1"));
	files[0] = f1;
	files[1] = f2;
	part = report_with_shows(l1, files, 2, now, shows);
	assert_string_equal(part, full);
	free(part);

	l2 = lshop_ledger_fold(l1, strlen(l1), f1, strlen(f1), now, &len, &err);
	if (l2 == NULL)
		fail_msg("fold: %s", err.message);
	assert_non_null(strstr(l2, "\"on_air\":-1"));
	files[0] = f2;
	part = report_with_shows(l2, files, 1, now, shows);
	assert_string_equal(part, full);
	free(part);

	/* all three folded: the ledger alone says it all */
	{
		char *l3 = lshop_ledger_fold(l2, strlen(l2), f2, strlen(f2),
					     now, &len, &err);

		if (l3 == NULL)
			fail_msg("fold: %s", err.message);
		part = report_with_shows(l3, files, 0, now, shows);
		assert_string_equal(part, full);
		free(part);
		free(l3);
	}

	free(l1);
	free(l2);
	free(full);
	free(f0);
	free(f1);
	free(f2);
	free(cp1);
	free(cp2);
	free(a1);
	free(gap);
	free(a2);
	tl_free(&tl);
}

/*
 * A ledger's shows are checked like the rest: a damaged one is named,
 * and a ledger from before shows (no "shows", no "audience") still reads.
 */
static void test_damaged_shows_are_named(void **state)
{
	const char *bad[][2] = {
	    {"\"shows\":{}", "report.shows"},
	    {"\"shows\":[{\"id\":\"x\"}]", "report.shows.series"},
	    {"\"shows\":[],\"on_air\":0,\"show_pin_from\":0", "report.on_air"},
	    {"\"gap\":[[5,0,0,0]]", "report.gap"},
	};
	static const char head[] =
	    "{\"ledger\":{\"file\":0,\"seq\":0,\"report\":{\"offers\":[],"
	    "\"pinned\":false,\"pin_offer\":0,\"pin_at_ms\":0,"
	    "\"swept\":false,\"sponsored\":false,\"shown\":false,"
	    "\"sweep_ms\":0,\"sponsored_pins\":0,\"sponsored_ms\":0,"
	    "\"disclosed_ms\":0";
	lshop_report *r;
	lshop_error err;
	uint64_t seq;
	int64_t file;
	size_t i;
	char *l;

	(void)state;
	l = fmt("%s},\"orders\":[]}}", head);
	r = lshop_report_new();
	if (lshop_ledger_read(l, strlen(l), r, NULL, NULL, &file, &seq, &err) !=
	    0)
		fail_msg("a ledger from before shows: %s", err.message);
	assert_int_equal(lshop_report_has_show(r, "x"), 0);
	lshop_report_free(r);
	free(l);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		l = fmt("%s,%s},\"orders\":[]}}", head, bad[i][0]);
		r = lshop_report_new();
		if (lshop_ledger_read(l, strlen(l), r, NULL, NULL, &file, &seq,
				      &err) == 0)
			fail_msg("accepted %s", l);
		assert_string_equal(err.field, bad[i][1]);
		lshop_report_free(r);
		free(l);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fold_keeps_report_and_keys),
	    cmocka_unit_test(test_fold_keeps_shows),
	    cmocka_unit_test(test_damaged_shows_are_named),
	    cmocka_unit_test(test_damaged_ledger_is_named),
	    cmocka_unit_test(test_ledger_key_with_nul_is_damaged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
