/*
 * The report (report.h): pins, seconds pinned, orders, units, oversold,
 * exact revenue, and how much of the sponsored time was disclosed.
 */
#include <jansson.h>

#include "lshop/report.h"

#include "timeline.h"

#define S(n) (INT64_C(n) * 1000)

static int feed_offer(void *arg, const lshop_offer *offer, int64_t at_ms)
{
	(void)at_ms;
	return lshop_report_add_offer(arg, offer);
}

static int feed_order(void *arg, const lshop_order *order, lshop_provider p,
		      int64_t at_ms)
{
	(void)p;
	(void)at_ms;
	return lshop_report_add_order(arg, order);
}

static int feed_event(void *arg, const lshop_event *ev, const char *json,
		      size_t len, int restored)
{
	(void)json;
	(void)len;
	(void)restored;
	return lshop_report_add_event(arg, ev);
}

/* The report of a journal, as the report call makes it. */
static lshop_report *report_of(const timeline *tl)
{
	lshop_report *r = lshop_report_new();
	lshop_replay_ops ops = {.arg = r,
				.offer = feed_offer,
				.order = feed_order,
				.event = feed_event};
	lshop_replay_result res;
	lshop_state st;

	assert_non_null(r);
	lshop_state_init(&st);
	assert_int_equal(
	    lshop_journal_replay(tl->journal, tl->len, &st, &ops, &res), 0);
	assert_int_equal(res.skipped, 0);
	return r;
}

/* The report's JSON, parsed. */
static json_t *report_json(const lshop_report *r, int64_t now_ms)
{
	char *s = lshop_report_to_json(r, STREAM, now_ms, NULL);
	json_t *v;

	assert_non_null(s);
	v = json_loads(s, 0, NULL);
	assert_non_null(v);
	free(s);
	return v;
}

static json_t *offer_entry(json_t *report, const char *id)
{
	json_t *offers = json_object_get(report, "offers"), *o;
	size_t i;

	json_array_foreach(offers, i, o)
	{
		if (strcmp(json_string_value(json_object_get(o, "offer_id")),
			   id) == 0)
			return o;
	}
	fail_msg("no offer %s in the report", id);
	return NULL;
}

/* A seconds field in ms (it is written with ms precision). */
static int64_t ms_of(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	assert_true(json_is_real(v));
	return (int64_t)(json_real_value(v) * 1000.0 + 0.5);
}

static lshop_event event(lshop_event_type type, int64_t at_ms)
{
	lshop_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.at_ms = at_ms;
	strcpy(ev.stream, STREAM);
	return ev;
}

static void add(lshop_report *r, lshop_event ev)
{
	assert_int_equal(lshop_report_add_event(r, &ev), 0);
}

static void add_pinned(lshop_report *r, const lshop_offer *o, int64_t at)
{
	lshop_event ev = event(LSHOP_OFFER_PINNED, at);

	ev.offer = *o;
	add(r, ev);
}

static void add_unpinned(lshop_report *r, const char *id, int64_t at)
{
	lshop_event ev = event(LSHOP_OFFER_UNPINNED, at);

	strcpy(ev.offer_id, id);
	add(r, ev);
}

static void add_disclosure(lshop_report *r, int shown, int64_t at)
{
	lshop_event ev =
	    event(shown ? LSHOP_DISCLOSURE_SHOWN : LSHOP_DISCLOSURE_HIDDEN, at);

	strcpy(ev.kind, "ad");
	if (shown)
		strcpy(ev.text, "Anzeige");
	add(r, ev);
}

/* An order of one item, fed straight to the report. */
static void add_order(lshop_report *r, const char *id, int64_t quantity,
		      const char *amount)
{
	lshop_order o = make_order("1001", id, quantity, amount);

	assert_int_equal(lshop_report_add_order(r, &o), 0);
}

static int64_t int_of(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static lshop_offer ad_a, ad_b, plain, never;

static int setup(void **state)
{
	(void)state;
	ad_a = make_offer("sku-a", "19.99", "ad");
	ad_b = make_offer("sku-b", "7", "ad");
	plain = make_offer("sku-plain", "12.5", NULL);
	never = make_offer("sku-never", "1.00", NULL);
	return 0;
}

static void test_empty_report(void **state)
{
	lshop_report *r = lshop_report_new();
	size_t len;
	char *s;

	(void)state;
	s = lshop_report_to_json(r, STREAM, T0, &len);
	assert_string_equal(s, "{\"stream\":\"live/demo\",\"at\":\"2026-11-24T"
			       "10:00:00.123Z\",\"offers\":[],\"disclosure\":{"
			       "\"sponsored_pins\":0,\"sponsored_seconds\":0.0,"
			       "\"disclosed_seconds\":0.0,\"coverage\":1.0}}");
	assert_int_equal(len, strlen(s));
	free(s);
	lshop_report_free(r);
	lshop_report_free(NULL);
}

/* A show, start to end, through the journal as the report call reads it. */
static void test_scripted_show(void **state)
{
	lshop_report *r;
	lshop_order o;
	timeline tl;
	char *s;

	(void)state;
	tl_init(&tl);
	tl_put(&tl, &ad_a, T0 - S(1000));
	tl_put(&tl, &plain, T0 - S(1000));
	tl_put(&tl, &never, T0 - S(1000));
	tl_pin(&tl, &ad_a, T0, 0);
	o = make_order("1001", "sku-a", 1, "19.99");
	tl_order(&tl, &o, LSHOP_PROVIDER_SHOPIFY, T0 + S(5), NULL);
	o = make_order("1002", "sku-a", 2, "39.98");
	tl_order(&tl, &o, LSHOP_PROVIDER_STANDARD, T0 + S(10), NULL);
	tl_pin(&tl, &plain, T0 + S(30), 0);
	o = make_order("1003", "sku-plain", 2, "25.00");
	tl_order(&tl, &o, LSHOP_PROVIDER_STRIPE, T0 + S(31), NULL);
	tl_unpin(&tl, T0 + 45500);
	tl_pin(&tl, &ad_a, T0 + S(60), 0); /* still pinned at the end */
	r = report_of(&tl);

	s = lshop_report_to_json(r, STREAM, T0 + 70250, NULL);
	assert_string_equal(
	    s, "{\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:01:10.373Z\","
	       "\"offers\":["
	       "{\"offer_id\":\"sku-a\",\"title\":\"Title of sku-a\","
	       "\"pins\":2,\"seconds_pinned\":40.25,\"orders\":2,\"units\":3,"
	       "\"oversold\":0,\"revenue\":\"59.97\",\"currency\":\"EUR\"},"
	       "{\"offer_id\":\"sku-plain\",\"title\":\"Title of sku-plain\","
	       "\"pins\":1,\"seconds_pinned\":15.5,\"orders\":1,\"units\":2,"
	       "\"oversold\":0,\"revenue\":\"25.00\",\"currency\":\"EUR\"},"
	       "{\"offer_id\":\"sku-never\",\"title\":\"Title of sku-never\","
	       "\"pins\":0,\"seconds_pinned\":0.0,\"orders\":0,\"units\":0,"
	       "\"oversold\":0,\"revenue\":\"0.00\",\"currency\":\"EUR\"}],"
	       "\"disclosure\":{\"sponsored_pins\":2,"
	       "\"sponsored_seconds\":40.25,\"disclosed_seconds\":40.25,"
	       "\"coverage\":1.0}}");
	free(s);

	/* Open intervals count up to now, whenever now is. */
	s = lshop_report_to_json(r, STREAM, T0 + S(90), NULL);
	assert_non_null(strstr(s, "\"pins\":2,\"seconds_pinned\":60.0,"));
	assert_non_null(strstr(s, "\"sponsored_seconds\":60.0,"
				  "\"disclosed_seconds\":60.0"));
	free(s);
	lshop_report_free(r);
	tl_free(&tl);
}

/* Coverage below 1, built by hand: sponsored time without a disclosure. */
static void test_coverage_below_one(void **state)
{
	lshop_report *r = lshop_report_new();
	json_t *v, *d;

	(void)state;
	/* sku-a pinned 40 s, disclosed for 20 of them */
	add_pinned(r, &ad_a, T0);
	add_disclosure(r, 1, T0 + S(10));
	add_disclosure(r, 0, T0 + S(30));
	add_unpinned(r, "sku-a", T0 + S(40));
	/* a plain pin counts for nothing here */
	add_pinned(r, &plain, T0 + S(40));
	add_unpinned(r, "sku-plain", T0 + S(45));
	/* sku-b pinned 10 s, disclosed throughout */
	add_disclosure(r, 1, T0 + S(50));
	add_pinned(r, &ad_b, T0 + S(50));
	add_unpinned(r, "sku-b", T0 + S(60));
	add_disclosure(r, 0, T0 + S(70));

	v = report_json(r, T0 + S(75));
	d = json_object_get(v, "disclosure");
	assert_int_equal(
	    json_integer_value(json_object_get(d, "sponsored_pins")), 2);
	assert_int_equal(ms_of(d, "sponsored_seconds"), S(50));
	assert_int_equal(ms_of(d, "disclosed_seconds"), S(30));
	assert_true(json_real_value(json_object_get(d, "coverage")) == 0.6);
	assert_int_equal(ms_of(offer_entry(v, "sku-a"), "seconds_pinned"),
			 S(40));
	assert_int_equal(ms_of(offer_entry(v, "sku-plain"), "seconds_pinned"),
			 S(5));
	json_decref(v);

	/* A sponsored pin still open and never disclosed. */
	add_pinned(r, &ad_a, T0 + S(80));
	v = report_json(r, T0 + S(90));
	d = json_object_get(v, "disclosure");
	assert_int_equal(ms_of(d, "sponsored_seconds"), S(60));
	assert_int_equal(ms_of(d, "disclosed_seconds"), S(30));
	assert_true(json_real_value(json_object_get(d, "coverage")) == 0.5);
	assert_int_equal(json_integer_value(
			     json_object_get(offer_entry(v, "sku-a"), "pins")),
			 2);
	json_decref(v);
	lshop_report_free(r);
}

static const char *revenue_of(json_t *report, const char *id)
{
	json_t *rev = json_object_get(offer_entry(report, id), "revenue");

	return json_is_null(rev) ? NULL : json_string_value(rev);
}

static void test_revenue_is_exact(void **state)
{
	lshop_report *r = lshop_report_new();
	lshop_offer a = ad_a;
	lshop_order o;
	json_t *v, *e;
	int i;

	(void)state;
	/* An offer first seen in an order: first in the report, no title,
	 * its currency from the order. */
	add_order(r, "sku-ghost", 4, "10.00");
	/* The amounts the shop charged, whatever the catalog's price. */
	assert_int_equal(lshop_report_add_offer(r, &a), 0);
	add_order(r, "sku-a", 1, "19.99");
	add_order(r, "sku-a", 2, "39.98");
	strcpy(a.price, "17.5");
	add_pinned(r, &a, T0);
	add_order(r, "sku-a", 2, "30"); /* a discount */
	/* Tiny, whole and the most decimals seen. */
	add_order(r, "sku-cheap", 3, "0.0003");
	add_order(r, "sku-cheap", 1, "0.01");
	add_order(r, "sku-5", 2, "10");
	add_order(r, "sku-5", 1, "5");
	/* Huge: beyond 64 bits, still exact; units saturate. */
	for (i = 0; i < 2000; i++)
		add_order(r, "sku-big", INT64_MAX / 1000, "999999999999.9999");
	/* Two items of one offer in one order are one order. */
	o = make_order("2001", "sku-two", 1, "1.50");
	order_add(&o, "sku-two", 2, "3.00");
	order_add(&o, "sku-5", 1, "5");
	assert_int_equal(lshop_report_add_order(r, &o), 0);
	/* purchase.completed alone counts nothing: orders do. */
	{
		lshop_event ev = event(LSHOP_PURCHASE_COMPLETED, T0);

		strcpy(ev.offer_id, "sku-a");
		ev.quantity = 7;
		add(r, ev);
	}

	v = report_json(r, T0);
	assert_int_equal(json_array_size(json_object_get(v, "offers")), 6);
	/* 19.99 + 39.98 + 30 */
	e = offer_entry(v, "sku-a");
	assert_string_equal(revenue_of(v, "sku-a"), "89.97");
	assert_int_equal(int_of(e, "orders"), 3);
	assert_int_equal(int_of(e, "units"), 5);
	assert_int_equal(int_of(e, "oversold"), 0);
	assert_int_equal(int_of(e, "pins"), 1);
	assert_string_equal(revenue_of(v, "sku-cheap"), "0.0103");
	assert_string_equal(revenue_of(v, "sku-5"), "20");
	assert_int_equal(int_of(offer_entry(v, "sku-5"), "orders"), 3);
	assert_string_equal(revenue_of(v, "sku-big"), "1999999999999999.8000");
	assert_true(int_of(offer_entry(v, "sku-big"), "units") == INT64_MAX);
	e = offer_entry(v, "sku-two");
	assert_int_equal(int_of(e, "orders"), 1);
	assert_int_equal(int_of(e, "units"), 3);
	assert_string_equal(revenue_of(v, "sku-two"), "4.50");
	/* The ghost: counted, first, without a title. */
	e = json_array_get(json_object_get(v, "offers"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "offer_id")),
			    "sku-ghost");
	assert_true(json_is_null(json_object_get(e, "title")));
	assert_string_equal(json_string_value(json_object_get(e, "currency")),
			    "EUR");
	assert_string_equal(revenue_of(v, "sku-ghost"), "10.00");
	assert_int_equal(int_of(e, "orders"), 1);
	assert_int_equal(int_of(e, "units"), 4);
	json_decref(v);
	lshop_report_free(r);
}

/*
 * Revenue is one number in one currency: the orders' currency, else the
 * catalog's; orders in two currencies leave it unsaid (null).
 */
static void test_revenue_currency(void **state)
{
	lshop_report *r = lshop_report_new();
	lshop_offer usd = make_offer("sku-usd", "10", NULL);
	lshop_order o;
	json_t *v, *e;

	(void)state;
	strcpy(usd.currency, "USD");
	assert_int_equal(lshop_report_add_offer(r, &usd), 0);
	assert_int_equal(lshop_report_add_offer(r, &plain), 0);
	v = report_json(r, T0);
	assert_string_equal(json_string_value(json_object_get(
				offer_entry(v, "sku-usd"), "currency")),
			    "USD");
	assert_string_equal(revenue_of(v, "sku-usd"), "0");
	json_decref(v);

	/* The catalog says USD, the shop charged in EUR. */
	add_order(r, "sku-usd", 1, "9.20");
	/* EUR, then JPY: no sum can be said. */
	add_order(r, "sku-plain", 1, "12.50");
	o = make_order("3", "sku-plain", 1, "2000");
	strcpy(o.items[0].currency, "JPY");
	assert_int_equal(lshop_report_add_order(r, &o), 0);
	/* An amount that is no amount (built by hand). */
	o = make_order("4", "sku-odd", 1, "12,50");
	assert_int_equal(lshop_report_add_order(r, &o), 0);

	v = report_json(r, T0);
	e = offer_entry(v, "sku-usd");
	assert_string_equal(json_string_value(json_object_get(e, "currency")),
			    "EUR");
	assert_string_equal(revenue_of(v, "sku-usd"), "9.20");
	e = offer_entry(v, "sku-plain");
	assert_null(revenue_of(v, "sku-plain"));
	assert_int_equal(int_of(e, "orders"), 2);
	assert_int_equal(int_of(e, "units"), 2);
	assert_string_equal(json_string_value(json_object_get(e, "currency")),
			    "EUR");
	e = offer_entry(v, "sku-odd");
	assert_null(revenue_of(v, "sku-odd"));
	assert_int_equal(int_of(e, "orders"), 1);
	json_decref(v);
	lshop_report_free(r);
}

/* The events a replay hands out, in order. */
typedef struct trail {
	lshop_event_type type[64];
	int64_t value[64]; /* quantity or stock */
	size_t n;
	size_t orders;
} trail;

static int trail_order(void *arg, const lshop_order *order, lshop_provider p,
		       int64_t at_ms)
{
	(void)order;
	(void)p;
	(void)at_ms;
	((trail *)arg)->orders++;
	return 0;
}

static int trail_event(void *arg, const lshop_event *ev, const char *json,
		       size_t len, int restored)
{
	trail *t = arg;

	(void)json;
	(void)len;
	assert_int_equal(restored, 0);
	assert_true(t->n < 64);
	t->type[t->n] = ev->type;
	t->value[t->n] =
	    ev->type == LSHOP_PURCHASE_COMPLETED ? ev->quantity : ev->stock;
	t->n++;
	return 0;
}

/*
 * The scenario: 50 orders of 1 unit of an offer with stock 10.
 * The stream sees 10 purchases and the stock going down to 0, then the
 * offer sold out, last; the report shows all 50 orders, 40 of their
 * units oversold, and the revenue of all 50.
 */
static void test_oversold_show(void **state)
{
	lshop_offer limited = make_offer("sku-ltd", "19.99", NULL);
	trail t;
	lshop_replay_ops ops = {
	    .arg = &t, .order = trail_order, .event = trail_event};
	lshop_replay_result res;
	lshop_report *r;
	lshop_state st;
	lshop_order o;
	timeline tl;
	int64_t stock;
	size_t n, i, purchases = 0;
	char id[16];
	json_t *v, *e;
	int k;

	(void)state;
	limited.stock = 10;
	stock = limited.stock;
	tl_init(&tl);
	tl_put(&tl, &limited, T0 - S(10));
	tl_pin(&tl, &limited, T0, 0);
	for (k = 0; k < 50; k++) {
		snprintf(id, sizeof(id), "%d", 5000 + k);
		o = make_order(id, "sku-ltd", 1, "19.99");
		n = tl_order(&tl, &o, LSHOP_PROVIDER_SHOPIFY, T0 + S(1) + k,
			     &stock);
		assert_int_equal(n, k < 9 ? 2 : k == 9 ? 3 : 0);
		assert_true(o.items[0].oversold == (k < 10 ? 0 : 1));
	}
	assert_true(stock == 0);

	memset(&t, 0, sizeof(t));
	lshop_state_init(&st);
	assert_int_equal(
	    lshop_journal_replay(tl.journal, tl.len, &st, &ops, &res), 0);
	assert_int_equal(res.skipped, 0);
	assert_int_equal(t.orders, 50);
	/* offer.pinned, then 10 x (purchase, stock), then sold out */
	assert_int_equal(t.n, 1 + 10 * 2 + 1);
	assert_int_equal(t.type[0], LSHOP_OFFER_PINNED);
	for (i = 1; i < t.n - 1; i += 2) {
		assert_int_equal(t.type[i], LSHOP_PURCHASE_COMPLETED);
		assert_true(t.value[i] == 1);
		purchases++;
		assert_int_equal(t.type[i + 1], LSHOP_STOCK_CHANGED);
		assert_true(t.value[i + 1] == 10 - (int64_t)purchases);
	}
	assert_int_equal(purchases, 10);
	assert_true(t.value[t.n - 2] == 0);
	assert_int_equal(t.type[t.n - 1], LSHOP_OFFER_SOLD_OUT);

	r = report_of(&tl);
	v = report_json(r, T0 + S(60));
	e = offer_entry(v, "sku-ltd");
	assert_int_equal(int_of(e, "orders"), 50);
	assert_int_equal(int_of(e, "units"), 50);
	assert_int_equal(int_of(e, "oversold"), 40);
	assert_string_equal(revenue_of(v, "sku-ltd"), "999.50"); /* 50 x */
	assert_string_equal(json_string_value(json_object_get(e, "currency")),
			    "EUR");
	json_decref(v);
	lshop_report_free(r);
	tl_free(&tl);
}

/* Many offers: the per-offer records stay findable as they grow. */
static void test_many_offers(void **state)
{
	lshop_report *r = lshop_report_new();
	lshop_offer o;
	char id[16];
	json_t *v, *e;
	int i;

	(void)state;
	for (i = 0; i < 300; i++) {
		snprintf(id, sizeof(id), "sku-%d", i);
		o = make_offer(id, "1.5", NULL);
		assert_int_equal(lshop_report_add_offer(r, &o), 0);
	}
	for (i = 299; i >= 0; i -= 3) {
		snprintf(id, sizeof(id), "sku-%d", i);
		add_order(r, id, i + 1, "1.5");
	}
	v = report_json(r, T0);
	assert_int_equal(json_array_size(json_object_get(v, "offers")), 300);
	for (i = 0; i < 300; i++) {
		e = json_array_get(json_object_get(v, "offers"), (size_t)i);
		snprintf(id, sizeof(id), "sku-%d", i);
		assert_string_equal(
		    json_string_value(json_object_get(e, "offer_id")), id);
		assert_int_equal(
		    json_integer_value(json_object_get(e, "units")),
		    (299 - i) % 3 == 0 ? i + 1 : 0);
	}
	assert_string_equal(revenue_of(v, "sku-299"), "1.5");
	json_decref(v);
	lshop_report_free(r);
}

/*
 * A long random show, planned by the core: every sponsored second is
 * disclosed (coverage exactly 1), and the numbers agree with intervals
 * worked out the slow way.
 */
typedef struct mark {
	lshop_event_type type;
	int64_t at_ms;
	int offer; /* index into the offers */
} mark;

static void test_random_show_is_fully_disclosed(void **state)
{
	const lshop_offer *const offers[] = {&ad_a, &ad_b, &plain};
	lshop_event evs[LSHOP_PLAN_MAX];
	int64_t now = T0, pinned_ms[3] = {0, 0, 0}, sponsored = 0;
	int64_t disclosed = 0, ps = 0, ds, de, s, e;
	uint32_t rnd = 4242;
	size_t n, i, j, k, nmarks = 0;
	mark *marks = calloc(20000, sizeof(*marks));
	lshop_report *r;
	timeline tl;
	json_t *v, *d;
	int step, po = -1;

	(void)state;
	tl_init(&tl);
	for (i = 0; i < 3; i++)
		tl_put(&tl, offers[i], T0);
	for (step = 0; step < 3000; step++) {
		n = tl_random_plan(&tl, &rnd, &now, offers, 3, evs);
		if (n == 0)
			continue;
		tl_apply(&tl, evs, n);
		for (i = 0; i < n; i++) {
			const char *id = evs[i].type == LSHOP_OFFER_PINNED
					     ? evs[i].offer.id
					     : evs[i].offer_id;

			marks[nmarks].type = evs[i].type;
			marks[nmarks].at_ms = evs[i].at_ms;
			marks[nmarks].offer = -1;
			for (k = 0; k < 3; k++)
				if (strcmp(offers[k]->id, id) == 0)
					marks[nmarks].offer = (int)k;
			nmarks++;
		}
	}
	/* Pin intervals and their overlap with disclosure intervals. */
	for (i = 0; i <= nmarks; i++) {
		if (i < nmarks && marks[i].type == LSHOP_OFFER_PINNED) {
			po = marks[i].offer;
			ps = marks[i].at_ms;
			continue;
		}
		if (po < 0 ||
		    (i < nmarks && marks[i].type != LSHOP_OFFER_UNPINNED))
			continue;
		e = i < nmarks ? marks[i].at_ms : now;
		pinned_ms[po] += e - ps;
		if (offers[po]->disclosure[0]) {
			sponsored += e - ps;
			for (j = 0; j < nmarks; j++) {
				if (marks[j].type != LSHOP_DISCLOSURE_SHOWN)
					continue;
				ds = marks[j].at_ms;
				for (k = j + 1;
				     k < nmarks &&
				     marks[k].type != LSHOP_DISCLOSURE_HIDDEN;
				     k++)
					;
				de = k < nmarks ? marks[k].at_ms : now;
				s = ds > ps ? ds : ps;
				if ((de < e ? de : e) > s)
					disclosed += (de < e ? de : e) - s;
			}
		}
		po = -1;
	}
	assert_true(sponsored > S(1000));
	assert_int_equal(disclosed, sponsored);

	r = report_of(&tl);
	v = report_json(r, now);
	for (k = 0; k < 3; k++)
		assert_int_equal(
		    ms_of(offer_entry(v, offers[k]->id), "seconds_pinned"),
		    pinned_ms[k]);
	d = json_object_get(v, "disclosure");
	assert_int_equal(ms_of(d, "sponsored_seconds"), sponsored);
	assert_int_equal(ms_of(d, "disclosed_seconds"), disclosed);
	assert_true(json_real_value(json_object_get(d, "coverage")) == 1.0);
	json_decref(v);
	lshop_report_free(r);
	tl_free(&tl);
	free(marks);
}

/*
 * The CSV's records, parsed as RFC 4180 says (quoted fields, doubled
 * quotes, CRLF line ends), each a JSON array of strings.
 */
static json_t *csv_parse(const char *s, size_t len)
{
	json_t *rows = json_array(), *row = json_array();
	char field[1024];
	size_t i = 0, n;

	while (i < len) {
		n = 0;
		if (s[i] == '"') {
			for (i++;; i++) {
				assert_true(i < len);
				if (s[i] == '"' && i + 1 < len &&
				    s[i + 1] == '"')
					i++;
				else if (s[i] == '"')
					break;
				assert_true(n < sizeof(field) - 1);
				field[n++] = s[i];
			}
			i++;
		} else {
			for (; i < len && s[i] != ',' && s[i] != '\r'; i++) {
				/* a bare quote, CR or LF is never unquoted */
				assert_true(s[i] != '"' && s[i] != '\n');
				field[n++] = s[i];
			}
		}
		field[n] = '\0';
		json_array_append_new(row, json_string(field));
		assert_true(i < len);
		if (s[i] == ',') {
			i++;
			continue;
		}
		assert_memory_equal(s + i, "\r\n", 2);
		i += 2;
		json_array_append_new(rows, row);
		row = json_array();
	}
	assert_int_equal(json_array_size(row), 0);
	json_decref(row);
	return rows;
}

/* The report's CSV, parsed; its length checked against *len. */
static json_t *report_csv(const lshop_report *r, int64_t now_ms)
{
	size_t len = 0;
	char *s = lshop_report_to_csv(r, now_ms, &len);
	json_t *rows;

	assert_non_null(s);
	assert_int_equal(len, strlen(s));
	rows = csv_parse(s, len);
	free(s);
	return rows;
}

/* Every CSV row says what the JSON says of its offer, in its order. */
static void assert_csv_matches_json(const lshop_report *r, int64_t now_ms)
{
	static const char *const cols[] = {
	    "offer_id", "title",    "pins",    "seconds_pinned", "orders",
	    "units",    "oversold", "revenue", "currency"};
	json_t *rows = report_csv(r, now_ms), *v = report_json(r, now_ms);
	json_t *offers = json_object_get(v, "offers"), *row, *o, *j;
	char want[64];
	const char *got;
	size_t i, c;

	assert_int_equal(json_array_size(rows), json_array_size(offers) + 1);
	row = json_array_get(rows, 0);
	assert_int_equal(json_array_size(row), 9);
	for (c = 0; c < 9; c++)
		assert_string_equal(json_string_value(json_array_get(row, c)),
				    cols[c]);
	json_array_foreach(offers, i, o)
	{
		row = json_array_get(rows, i + 1);
		assert_int_equal(json_array_size(row), 9);
		for (c = 0; c < 9; c++) {
			got = json_string_value(json_array_get(row, c));
			j = json_object_get(o, cols[c]);
			if (json_is_null(j)) {
				assert_string_equal(got, "");
			} else if (json_is_string(j)) {
				assert_string_equal(got, json_string_value(j));
			} else if (json_is_integer(j)) {
				snprintf(want, sizeof(want), "%lld",
					 (long long)json_integer_value(j));
				assert_string_equal(got, want);
			} else {
				/* seconds: the same number, to the ms */
				assert_true(json_is_real(j));
				assert_int_equal(
				    (int64_t)(strtod(got, NULL) * 1000.0 + 0.5),
				    ms_of(o, cols[c]));
			}
		}
	}
	json_decref(rows);
	json_decref(v);
}

static void test_csv_empty_report(void **state)
{
	lshop_report *r = lshop_report_new();
	size_t len;
	char *s;

	(void)state;
	s = lshop_report_to_csv(r, T0, &len);
	assert_string_equal(s, "offer_id,title,pins,seconds_pinned,orders,"
			       "units,oversold,revenue,currency\r\n");
	assert_int_equal(len, strlen(s));
	free(s);
	s = lshop_report_to_csv(r, T0, NULL); /* len is optional */
	assert_non_null(s);
	free(s);
	lshop_report_free(r);
}

/* The show of test_scripted_show, as CSV. */
static void test_csv_scripted_show(void **state)
{
	lshop_report *r;
	lshop_order o;
	timeline tl;
	char *s;

	(void)state;
	tl_init(&tl);
	tl_put(&tl, &ad_a, T0 - S(1000));
	tl_put(&tl, &plain, T0 - S(1000));
	tl_put(&tl, &never, T0 - S(1000));
	tl_pin(&tl, &ad_a, T0, 0);
	o = make_order("1001", "sku-a", 1, "19.99");
	tl_order(&tl, &o, LSHOP_PROVIDER_SHOPIFY, T0 + S(5), NULL);
	o = make_order("1002", "sku-a", 2, "39.98");
	tl_order(&tl, &o, LSHOP_PROVIDER_STANDARD, T0 + S(10), NULL);
	tl_pin(&tl, &plain, T0 + S(30), 0);
	o = make_order("1003", "sku-plain", 2, "25.00");
	tl_order(&tl, &o, LSHOP_PROVIDER_STRIPE, T0 + S(31), NULL);
	tl_unpin(&tl, T0 + 45500);
	tl_pin(&tl, &ad_a, T0 + S(60), 0); /* still pinned at the end */
	r = report_of(&tl);

	s = lshop_report_to_csv(r, T0 + 70257, NULL);
	assert_string_equal(
	    s, "offer_id,title,pins,seconds_pinned,orders,units,oversold,"
	       "revenue,currency\r\n"
	       "sku-a,Title of sku-a,2,40.257,2,3,0,59.97,EUR\r\n"
	       "sku-plain,Title of sku-plain,1,15.5,1,2,0,25.00,EUR\r\n"
	       "sku-never,Title of sku-never,0,0.0,0,0,0,0.00,EUR\r\n");
	free(s);
	assert_csv_matches_json(r, T0 + 70257);
	assert_csv_matches_json(r, T0 + S(90));
	lshop_report_free(r);
	tl_free(&tl);
}

/*
 * RFC 4180 2.6-2.7: a title with a comma, a quote, CR or LF is quoted and
 * its quotes doubled; anything else goes as it is, UTF-8 included. What
 * the JSON says is null is an empty field.
 */
static void test_csv_quoting(void **state)
{
	static const struct {
		const char *title, *field;
	} cases[] = {
	    {"Serum \"Glow\", 30 ml", "\"Serum \"\"Glow\"\", 30 ml\""},
	    {"Brush, bamboo", "\"Brush, bamboo\""},
	    {"\"", "\"\"\"\""},
	    {"two\r\nlines", "\"two\r\nlines\""},
	    {"line\nfeed", "\"line\nfeed\""},
	    {"Cr\u00e8me \U0001f525 <b>50 ml</b>; 'x'",
	     "Cr\u00e8me \U0001f525 <b>50 ml</b>; 'x'"},
	};
	lshop_report *r = lshop_report_new();
	lshop_offer offer;
	lshop_order o;
	char id[16], row[256], *s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(id, sizeof(id), "sku-%zu", i);
		offer = make_offer(id, "1.00", NULL);
		snprintf(offer.title, sizeof(offer.title), "%s",
			 cases[i].title);
		assert_int_equal(lshop_report_add_offer(r, &offer), 0);
	}
	/* Seen only in an order, with an amount that is none: no title,
	 * revenue or currency. */
	o = make_order("4", "sku-odd", 1, "12,50");
	assert_int_equal(lshop_report_add_order(r, &o), 0);

	s = lshop_report_to_csv(r, T0, NULL);
	assert_non_null(s);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(row, sizeof(row),
			 "\r\nsku-%zu,%s,0,0.0,0,0,0,0.00,EUR\r\n", i,
			 cases[i].field);
		assert_non_null(strstr(s, row));
	}
	assert_non_null(strstr(s, "\r\nsku-odd,,0,0.0,1,1,0,,\r\n"));
	free(s);
	assert_csv_matches_json(r, T0);
	lshop_report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_report),
	    cmocka_unit_test(test_scripted_show),
	    cmocka_unit_test(test_coverage_below_one),
	    cmocka_unit_test(test_revenue_is_exact),
	    cmocka_unit_test(test_revenue_currency),
	    cmocka_unit_test(test_oversold_show),
	    cmocka_unit_test(test_many_offers),
	    cmocka_unit_test(test_random_show_is_fully_disclosed),
	    cmocka_unit_test(test_csv_empty_report),
	    cmocka_unit_test(test_csv_scripted_show),
	    cmocka_unit_test(test_csv_quoting),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
