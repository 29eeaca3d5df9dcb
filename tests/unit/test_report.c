/*
 * The report (report.h): pins, seconds pinned, orders, units, oversold,
 * exact revenue, and how much of the sponsored time was disclosed; per
 * offer and per show the KPIs of docs/kpis.md, each checked against
 * figures the test keeps itself.
 */
#include <errno.h>

#include <jansson.h>

#include "lshop/audience.h"
#include "lshop/ledger.h"
#include "lshop/time.h"

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
	return lshop_report_add_order_at(arg, order, at_ms);
}

static int feed_audience(void *arg, const lshop_audience *a, int full,
			 int64_t at_ms)
{
	return lshop_report_add_audience(arg, a, full, at_ms);
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
				.event = feed_event,
				.audience = feed_audience};
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
			       "\"disclosed_seconds\":0.0,\"coverage\":1.0},"
			       "\"shows\":[],\"across_shows\":{\"shows\":0,"
			       "\"viewers_peak\":0,\"viewers_unique\":0,"
			       "\"watch_seconds\":0.0,\"impressions\":0,"
			       "\"clicks\":0,\"ctr\":null,\"orders\":0,"
			       "\"units\":0,\"gmv\":\"0.00\",\"currency\":null,"
			       "\"aov\":null,\"conversion\":null,"
			       "\"click_to_buy\":null,"
			       "\"gmv_per_1000_viewers\":null,"
			       "\"disclosure_coverage\":1.0},"
			       "\"commission_by_host\":[],"
		       "\"refunds\":{\"refunds\":0,\"unmatched\":0,"
		       "\"orders_not_kept\":0}}");
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

	/* The keys of before, byte for byte; the new ones after them. */
	s = lshop_report_to_json(r, STREAM, T0 + 70250, NULL);
	assert_string_equal(
	    s, "{\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:01:10.373Z\","
	       "\"offers\":["
	       "{\"offer_id\":\"sku-a\",\"title\":\"Title of sku-a\","
	       "\"pins\":2,\"seconds_pinned\":40.25,\"orders\":2,\"units\":3,"
	       "\"oversold\":0,\"revenue\":\"59.97\",\"currency\":\"EUR\","
	       "\"viewers_peak\":0,\"viewers_unique\":0,"
	       "\"watch_seconds\":0.0,\"impressions\":0,\"clicks\":0,"
	       "\"ctr\":null,\"gmv\":\"59.97\",\"aov\":\"29.99\","
	       "\"conversion\":null,\"click_to_buy\":null,"
	       "\"gmv_per_1000_viewers\":null},"
	       "{\"offer_id\":\"sku-plain\",\"title\":\"Title of sku-plain\","
	       "\"pins\":1,\"seconds_pinned\":15.5,\"orders\":1,\"units\":2,"
	       "\"oversold\":0,\"revenue\":\"25.00\",\"currency\":\"EUR\","
	       "\"viewers_peak\":0,\"viewers_unique\":0,"
	       "\"watch_seconds\":0.0,\"impressions\":0,\"clicks\":0,"
	       "\"ctr\":null,\"gmv\":\"25.00\",\"aov\":\"25.00\","
	       "\"conversion\":null,\"click_to_buy\":null,"
	       "\"gmv_per_1000_viewers\":null},"
	       "{\"offer_id\":\"sku-never\",\"title\":\"Title of sku-never\","
	       "\"pins\":0,\"seconds_pinned\":0.0,\"orders\":0,\"units\":0,"
	       "\"oversold\":0,\"revenue\":\"0.00\",\"currency\":\"EUR\","
	       "\"viewers_peak\":0,\"viewers_unique\":0,"
	       "\"watch_seconds\":0.0,\"impressions\":0,\"clicks\":0,"
	       "\"ctr\":null,\"gmv\":\"0.00\",\"aov\":null,"
	       "\"conversion\":null,\"click_to_buy\":null,"
	       "\"gmv_per_1000_viewers\":null}],"
	       "\"disclosure\":{\"sponsored_pins\":2,"
	       "\"sponsored_seconds\":40.25,\"disclosed_seconds\":40.25,"
	       "\"coverage\":1.0},\"shows\":[],\"across_shows\":{"
	       "\"shows\":0,\"viewers_peak\":0,\"viewers_unique\":0,"
	       "\"watch_seconds\":0.0,\"impressions\":0,\"clicks\":0,"
	       "\"ctr\":null,\"orders\":0,\"units\":0,\"gmv\":\"0.00\","
	       "\"currency\":null,\"aov\":null,\"conversion\":null,"
	       "\"click_to_buy\":null,\"gmv_per_1000_viewers\":null,"
	       "\"disclosure_coverage\":1.0},\"commission_by_host\":[],"
	       "\"refunds\":{\"refunds\":0,\"unmatched\":0,"
	       "\"orders_not_kept\":0}}");
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

/* The columns of the offers' CSV (report.h), in their order. */
static const char *const offer_cols[] = {"offer_id",
					 "title",
					 "pins",
					 "seconds_pinned",
					 "orders",
					 "units",
					 "oversold",
					 "revenue",
					 "currency",
					 "viewers_peak",
					 "viewers_unique",
					 "watch_seconds",
					 "impressions",
					 "clicks",
					 "ctr",
					 "gmv",
					 "aov",
					 "conversion",
					 "click_to_buy",
					 "gmv_per_1000_viewers"};
#define N_OFFER_COLS (sizeof(offer_cols) / sizeof(offer_cols[0]))

/*
 * rows (a parsed CSV) say what the JSON objects say, column by column:
 * strings as they are, null empty, whole numbers in decimal, seconds to
 * the ms and ratios to 4 decimals (always written with 4).
 */
static void assert_rows_match(json_t *rows, const char *const *cols,
			      const char *const *keys, size_t ncols,
			      json_t *objects)
{
	json_t *row, *o, *j;
	char want[64];
	const char *got;
	size_t i, c;

	assert_int_equal(json_array_size(rows), json_array_size(objects) + 1);
	row = json_array_get(rows, 0);
	assert_int_equal(json_array_size(row), ncols);
	for (c = 0; c < ncols; c++)
		assert_string_equal(json_string_value(json_array_get(row, c)),
				    cols[c]);
	json_array_foreach(objects, i, o)
	{
		row = json_array_get(rows, i + 1);
		assert_int_equal(json_array_size(row), ncols);
		for (c = 0; c < ncols; c++) {
			got = json_string_value(json_array_get(row, c));
			j = json_object_get(o, keys ? keys[c] : cols[c]);
			if (j == NULL || json_is_null(j)) {
				assert_string_equal(got, "");
			} else if (json_is_string(j)) {
				assert_string_equal(got, json_string_value(j));
			} else if (json_is_integer(j)) {
				snprintf(want, sizeof(want), "%lld",
					 (long long)json_integer_value(j));
				assert_string_equal(got, want);
			} else if (strstr(cols[c], "seconds") != NULL) {
				/* seconds: the same number, to the ms */
				assert_true(json_is_real(j));
				assert_int_equal(
				    (int64_t)(strtod(got, NULL) * 1000.0 + 0.5),
				    ms_of(o, keys ? keys[c] : cols[c]));
			} else {
				assert_true(json_is_real(j));
				snprintf(want, sizeof(want), "%.4f",
					 json_real_value(j));
				assert_string_equal(got, want);
			}
		}
	}
}

/* Every CSV row says what the JSON says of its offer, in its order. */
static void assert_csv_matches_json(const lshop_report *r, int64_t now_ms)
{
	json_t *rows = report_csv(r, now_ms), *v = report_json(r, now_ms);

	assert_rows_match(rows, offer_cols, NULL, N_OFFER_COLS,
			  json_object_get(v, "offers"));
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
			       "units,oversold,revenue,currency,viewers_peak,"
			       "viewers_unique,watch_seconds,impressions,"
			       "clicks,ctr,gmv,aov,conversion,click_to_buy,"
			       "gmv_per_1000_viewers\r\n");
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
	       "revenue,currency,viewers_peak,viewers_unique,watch_seconds,"
	       "impressions,clicks,ctr,gmv,aov,conversion,click_to_buy,"
	       "gmv_per_1000_viewers\r\n"
	       "sku-a,Title of sku-a,2,40.257,2,3,0,59.97,EUR,"
	       "0,0,0.0,0,0,,59.97,29.99,,,\r\n"
	       "sku-plain,Title of sku-plain,1,15.5,1,2,0,25.00,EUR,"
	       "0,0,0.0,0,0,,25.00,25.00,,,\r\n"
	       "sku-never,Title of sku-never,0,0.0,0,0,0,0.00,EUR,"
	       "0,0,0.0,0,0,,0.00,,,,\r\n");
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
			 "\r\nsku-%zu,%s,0,0.0,0,0,0,0.00,EUR,"
			 "0,0,0.0,0,0,,0.00,,,,\r\n",
			 i, cases[i].field);
		assert_non_null(strstr(s, row));
	}
	assert_non_null(
	    strstr(s, "\r\nsku-odd,,0,0.0,1,1,0,,,0,0,0.0,0,0,,,,,,\r\n"));
	free(s);
	assert_csv_matches_json(r, T0);
	lshop_report_free(r);
}

/* KPIs per offer and per show (SPEC §14, docs/kpis.md) */

/* A well-mixed 64-bit viewer hash (splitmix64), as lshop_viewer_hash's. */
static uint64_t viewer(uint64_t i)
{
	uint64_t z = i + UINT64_C(0x9e3779b97f4a7c15);

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/*
 * The test's own count of the viewers from..to-1 and from2..to2-1: a
 * sketch of their hashes. It must be near the true number: within 3
 * standard errors (p = 11: 2.3 %), a check against gross mistakes.
 */
static uint64_t sketch_of(int from, int to, int from2, int to2, int truth)
{
	lshop_hll h;
	uint64_t n;
	int i;

	lshop_hll_init(&h);
	for (i = from; i < to; i++)
		lshop_hll_add(&h, viewer((uint64_t)i));
	for (i = from2; i < to2; i++)
		lshop_hll_add(&h, viewer((uint64_t)i));
	n = lshop_hll_count(&h);
	if (n * 1000 < (uint64_t)truth * 931 ||
	    n * 1000 > (uint64_t)truth * 1069)
		fail_msg("estimate %llu of %d", (unsigned long long)n, truth);
	return n;
}

static void see(lshop_audience *a, int from, int to, const char *offer)
{
	int i;

	for (i = from; i < to; i++)
		lshop_audience_see(a, viewer((uint64_t)i), offer);
}

static void beacons(lshop_audience *a, int click, const char *offer, int n)
{
	while (n-- > 0)
		lshop_audience_beacon(a, click, offer);
}

static lshop_audience *audience_new(const char *show_id)
{
	lshop_audience *a = malloc(sizeof(*a));

	assert_non_null(a);
	lshop_audience_init(a, show_id);
	return a;
}

/* An audience line in the journal, as the host writes them. */
static void tl_audience(timeline *tl, const lshop_audience *a, int full,
			int64_t at_ms)
{
	size_t len;
	char *line = lshop_journal_audience_line(a, full, at_ms, &len);

	assert_non_null(line);
	tl_write(tl, line, len);
	free(line);
}

static void tl_show_start(timeline *tl, const lshop_show *show, int64_t at_ms)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	size_t n = lshop_state_plan_show_start(&tl->st, show, at_ms, evs, &err);

	if (n == 0)
		fail_msg("show start refused: %s", err.message);
	tl_apply(tl, evs, n);
}

static void tl_show_end(timeline *tl, int64_t at_ms)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	size_t n = lshop_state_plan_show_end(&tl->st, NULL, at_ms, evs, &err);

	if (n == 0)
		fail_msg("show end refused: %s", err.message);
	tl_apply(tl, evs, n);
}

static json_t *show_entry(json_t *report, const char *id)
{
	json_t *shows = json_object_get(report, "shows"), *s;
	size_t i;

	json_array_foreach(shows, i, s)
	{
		if (strcmp(json_string_value(json_object_get(s, "id")), id) ==
		    0)
			return s;
	}
	fail_msg("no show %s in the report", id);
	return NULL;
}

static const char *str_of(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v))
		fail_msg("%s is not a string", key);
	return json_string_value(v);
}

static void assert_null_key(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || !json_is_null(v))
		fail_msg("%s is not null", key);
}

static void assert_time(json_t *obj, const char *key, int64_t ms)
{
	char t[LSHOP_TIME_LEN];

	lshop_time_format(t, ms);
	assert_string_equal(str_of(obj, key), t);
}

/* num / den rounded half up to 4 decimals, in integers; null for den 0. */
static void assert_ratio(json_t *obj, const char *key, int64_t num, int64_t den)
{
	json_t *v = json_object_get(obj, key);
	int64_t q;
	double want;

	assert_non_null(v);
	if (den == 0) {
		assert_null_key(obj, key);
		return;
	}
	q = (num * 20000 + den) / (2 * den);
	want = (double)q / 10000.0;
	if (!json_is_real(v) || json_real_value(v) < want - 1e-9 ||
	    json_real_value(v) > want + 1e-9)
		fail_msg("%s: %f, want %f", key,
			 json_is_real(v) ? json_real_value(v) : -1.0, want);
}

/* What a per-offer or per-show object must say. */
typedef struct want {
	int64_t peak;
	uint64_t unique;
	int64_t watch_ms;
	int64_t impressions;
	int64_t clicks;
	int64_t orders;
	int64_t units;
	const char *gmv; /* NULL: null */
	int64_t gmv_cents;
	const char *aov; /* NULL: null */
} want;

static void assert_kpis(json_t *o, const want *w)
{
	char per[32];
	uint64_t q;

	assert_int_equal(int_of(o, "viewers_peak"), w->peak);
	assert_int_equal(int_of(o, "viewers_unique"), w->unique);
	assert_int_equal(ms_of(o, "watch_seconds"), w->watch_ms);
	assert_int_equal(int_of(o, "impressions"), w->impressions);
	assert_int_equal(int_of(o, "clicks"), w->clicks);
	assert_int_equal(int_of(o, "orders"), w->orders);
	assert_int_equal(int_of(o, "units"), w->units);
	assert_ratio(o, "ctr", w->clicks, w->impressions);
	assert_ratio(o, "conversion", w->orders, (int64_t)w->unique);
	assert_ratio(o, "click_to_buy", w->orders, w->clicks);
	if (w->gmv == NULL)
		assert_null_key(o, "gmv");
	else
		assert_string_equal(str_of(o, "gmv"), w->gmv);
	if (w->aov == NULL)
		assert_null_key(o, "aov");
	else
		assert_string_equal(str_of(o, "aov"), w->aov);
	if (w->gmv == NULL || w->unique == 0) {
		assert_null_key(o, "gmv_per_1000_viewers");
		return;
	}
	/* gmv × 1000 / unique, in cents, half up */
	q = ((uint64_t)w->gmv_cents * 2000 + w->unique) / (2 * w->unique);
	snprintf(per, sizeof(per), "%llu.%02llu", (unsigned long long)(q / 100),
		 (unsigned long long)(q % 100));
	assert_string_equal(str_of(o, "gmv_per_1000_viewers"), per);
}

/* The offer's figures of before that the KPIs sit beside. */
static void assert_offer(json_t *o, int64_t pins, int64_t pinned_ms,
			 int64_t orders, int64_t units, const char *revenue,
			 const char *currency)
{
	assert_int_equal(int_of(o, "pins"), pins);
	assert_int_equal(ms_of(o, "seconds_pinned"), pinned_ms);
	assert_int_equal(int_of(o, "orders"), orders);
	assert_int_equal(int_of(o, "units"), units);
	assert_string_equal(str_of(o, "revenue"), revenue);
	assert_string_equal(str_of(o, "currency"), currency);
}

/* The JSON of one show, parsed; NULL for an unknown one. */
static json_t *show_report(const lshop_report *r, const char *id,
			   int64_t now_ms)
{
	size_t len = 99;
	char *s = lshop_report_show_json(r, STREAM, id, now_ms, &len);
	json_t *v;

	if (s == NULL) {
		assert_int_equal(len, 0);
		return NULL;
	}
	assert_int_equal(len, strlen(s));
	v = json_loads(s, 0, NULL);
	assert_non_null(v);
	free(s);
	return v;
}

static void assert_json_is(json_t *got, const char *expected)
{
	json_t *w = json_loads(expected, 0, NULL);
	char *g;

	assert_non_null(w);
	if (!json_equal(got, w)) {
		g = json_dumps(got, JSON_COMPACT);
		fail_msg("got %s\nwant %s", g, expected);
	}
	json_decref(w);
}

/* The columns of the shows' CSV and the JSON keys they come from. */
static const char *const show_cols[] = {"show_id",
					"series",
					"title",
					"host",
					"started_at",
					"ended_at",
					"viewers_peak",
					"viewers_unique",
					"watch_seconds",
					"impressions",
					"clicks",
					"ctr",
					"orders",
					"units",
					"gmv",
					"currency",
					"aov",
					"conversion",
					"click_to_buy",
					"gmv_per_1000_viewers",
					"disclosure_coverage"};
static const char *const show_keys[] = {"id",
					"series",
					"title",
					"host",
					"started_at",
					"ended_at",
					"viewers_peak",
					"viewers_unique",
					"watch_seconds",
					"impressions",
					"clicks",
					"ctr",
					"orders",
					"units",
					"gmv",
					"currency",
					"aov",
					"conversion",
					"click_to_buy",
					"gmv_per_1000_viewers",
					"disclosure_coverage"};
#define N_SHOW_COLS (sizeof(show_cols) / sizeof(show_cols[0]))

/* The three CSVs say what the JSON says. */
static void assert_csvs_match(const lshop_report *r, const char *show_id,
			      int64_t now_ms, size_t last_shows)
{
	json_t *rows, *v;
	size_t len;
	char *s;

	assert_csv_matches_json(r, now_ms);

	s = lshop_report_show_csv(r, show_id, now_ms, &len);
	assert_non_null(s);
	assert_int_equal(len, strlen(s));
	rows = csv_parse(s, len);
	free(s);
	v = show_report(r, show_id, now_ms);
	assert_rows_match(rows, offer_cols, NULL, N_OFFER_COLS,
			  json_object_get(v, "offers"));
	json_decref(rows);
	json_decref(v);

	s = lshop_report_shows_csv(r, last_shows, now_ms, &len);
	assert_non_null(s);
	assert_int_equal(len, strlen(s));
	rows = csv_parse(s, len);
	free(s);
	s = lshop_report_json(r, STREAM, now_ms, last_shows, NULL);
	v = json_loads(s, 0, NULL);
	free(s);
	assert_rows_match(rows, show_cols, show_keys, N_SHOW_COLS,
			  json_object_get(v, "shows"));
	json_decref(rows);
	json_decref(v);
}

/*
 * Two shows through the journal as the host writes it: an order before
 * the first, one between them; the audience tallied by the test as the
 * host does: at each change of show, after its event, the last figures
 * of the tally that ends and the empty one that begins, samples, full
 * tallies midway. The second show's orders are in two currencies, and it
 * is still on air at the end.
 */
static void test_kpis_of_two_shows(void **state)
{
	lshop_offer usd_b = make_offer("sku-b", "5.00", NULL);
	lshop_audience *a1, *gap, *a2, *ghost;
	lshop_show spring, show1, show2;
	const int64_t now = T0 + S(200);
	uint64_t u1, ua1, up1, up, u2, uall;
	lshop_report *r;
	lshop_error err;
	lshop_order o;
	timeline tl;
	json_t *v, *e, *sh;
	char *js;
	want w;
	static const char sched[] =
	    "{\"id\":\"spring\",\"title\":\"Spring Sale\",\"host\":\"Ana\","
	    "\"starts_at\":\"2026-11-24T10:00:00Z\",\"duration\":3600,"
	    "\"rrule\":\"FREQ=WEEKLY\"}";

	(void)state;
	strcpy(usd_b.currency, "USD");
	if (lshop_show_parse(sched, strlen(sched), NULL, &spring, &err))
		fail_msg("show: %s", err.message);
	lshop_show_broadcast(&spring, spring.starts_at_ms, T0, "x", &show1);
	assert_string_equal(show1.id, "spring-20261124");
	lshop_show_broadcast(NULL, 0, T0 + S(100), "Summer", &show2);
	a1 = audience_new(show1.id);
	gap = audience_new(NULL);
	a2 = audience_new(show2.id);
	ghost = audience_new("never-started");

	tl_init(&tl);
	tl_put(&tl, &ad_a, T0 - S(1000));
	tl_put(&tl, &plain, T0 - S(1000));
	tl_put(&tl, &usd_b, T0 - S(1000));
	o = make_order("900", "sku-a", 1, "19.99"); /* before any show */
	tl_order(&tl, &o, LSHOP_PROVIDER_SHOPIFY, T0 - S(60), NULL);
	beacons(gap, 0, "sku-plain", 4); /* its card before the show */
	tl_audience(&tl, gap, 1, T0 - S(30));

	/* show 1: sku-a pinned 10 s..30 s, sku-plain from 30 s on */
	tl_show_start(&tl, &show1, T0);
	tl_audience(&tl, gap, 1, T0);
	tl_audience(&tl, a1, 1, T0);
	tl_pin(&tl, &ad_a, T0 + S(10), 0);
	see(a1, 0, 200, "sku-a");
	lshop_audience_tally(a1, 150, S(10), "sku-a");
	beacons(a1, 0, "sku-a", 30);
	beacons(a1, 1, "sku-a", 6);
	tl_audience(&tl, a1, 0, T0 + S(15));
	o = make_order("1001", "sku-a", 2, "39.98");
	tl_order(&tl, &o, LSHOP_PROVIDER_SHOPIFY, T0 + S(20), NULL);
	tl_audience(&tl, a1, 1, T0 + S(25)); /* so far: replaced later */
	beacons(a1, 0, "sku-a", 10);
	beacons(a1, 1, "sku-a", 4);
	tl_pin(&tl, &plain, T0 + S(30), 0);
	see(a1, 150, 300, "sku-plain");
	lshop_audience_tally(a1, 180, S(20), "sku-plain");
	beacons(a1, 0, "sku-plain", 20);
	beacons(a1, 1, "sku-plain", 3);
	tl_audience(&tl, a1, 0, T0 + S(35));
	o = make_order("1002", "sku-plain", 1, "12.50");
	order_add(&o, "sku-a", 1, "19.99");
	tl_order(&tl, &o, LSHOP_PROVIDER_STRIPE, T0 + S(40), NULL);
	a1->viewers = 210; /* a sample above the tallies' peak */
	tl_audience(&tl, a1, 0, T0 + S(45));
	/* a tally of a show never started here counts nowhere */
	see(ghost, 5000, 5100, "sku-ghost");
	lshop_audience_tally(ghost, 100, S(5), "sku-ghost");
	beacons(ghost, 0, "sku-ghost", 9);
	tl_audience(&tl, ghost, 1, T0 + S(50));
	tl_show_end(&tl, T0 + S(60));
	tl_audience(&tl, a1, 1, T0 + S(60)); /* its last, after the end */
	lshop_audience_init(gap, NULL);
	tl_audience(&tl, gap, 1, T0 + S(60)); /* a new, empty tally */

	/* between shows: sku-plain still pinned until 80 s */
	o = make_order("1003", "sku-plain", 1, "12.50");
	tl_order(&tl, &o, LSHOP_PROVIDER_SHOPIFY, T0 + S(70), NULL);
	see(gap, 250, 350, "sku-plain");
	lshop_audience_tally(gap, 100, S(10), "sku-plain");
	beacons(gap, 0, "sku-plain", 5);
	beacons(gap, 1, "sku-plain", 1);
	tl_audience(&tl, gap, 1, T0 + S(75));
	beacons(gap, 0, "sku-plain", 2);
	tl_unpin(&tl, T0 + S(80));

	/* show 2: sku-b pinned from 110 s, still on air at 200 s */
	tl_show_start(&tl, &show2, T0 + S(100));
	tl_audience(&tl, gap, 1, T0 + S(100)); /* the stretch's last */
	tl_audience(&tl, a2, 1, T0 + S(100));
	tl_pin(&tl, &usd_b, T0 + S(110), 0);
	see(a2, 1000, 1050, "sku-b");
	lshop_audience_tally(a2, 50, S(20), "sku-b");
	beacons(a2, 0, "sku-b", 8);
	o = make_order("2001", "sku-b", 1, "5.00");
	strcpy(o.items[0].currency, "USD");
	tl_order(&tl, &o, LSHOP_PROVIDER_STANDARD, T0 + S(120), NULL);
	o = make_order("2002", "sku-a", 1, "19.99");
	tl_order(&tl, &o, LSHOP_PROVIDER_STANDARD, T0 + S(130), NULL);
	tl_audience(&tl, a2, 1, T0 + S(140));
	r = report_of(&tl);

	/* the test's own counts of distinct viewers */
	u1 = sketch_of(0, 300, 0, 0, 300);
	ua1 = sketch_of(0, 200, 0, 0, 200);
	up1 = sketch_of(150, 300, 0, 0, 150);
	up = sketch_of(150, 300, 250, 350, 200);
	u2 = sketch_of(1000, 1050, 0, 0, 50);
	uall = sketch_of(0, 300, 1000, 1050, 350);

	v = report_json(r, now);
	/* The stream's offers: the orders of the whole stream; audience
	 * figures each show's and the stretch between's latest, added. */
	assert_int_equal(json_array_size(json_object_get(v, "offers")), 3);
	e = offer_entry(v, "sku-a");
	assert_offer(e, 1, S(20), 4, 5, "99.95", "EUR");
	w = (want){150, ua1, S(1500), 40, 10, 4, 5, "99.95", 9995, "24.99"};
	assert_kpis(e, &w);
	e = offer_entry(v, "sku-plain");
	assert_offer(e, 1, S(50), 2, 2, "25.00", "EUR");
	/* impressions: 20 in show 1, 4 before it, 7 after it */
	w = (want){180, up, S(4600), 31, 4, 2, 2, "25.00", 2500, "12.50"};
	assert_kpis(e, &w);
	e = offer_entry(v, "sku-b");
	assert_offer(e, 1, S(90), 1, 1, "5.00", "USD");
	w = (want){50, u2, S(1000), 8, 0, 1, 1, "5.00", 500, "5.00"};
	assert_kpis(e, &w);

	/* The shows, oldest first. */
	assert_int_equal(json_array_size(json_object_get(v, "shows")), 2);
	sh = json_array_get(json_object_get(v, "shows"), 0);
	assert_string_equal(str_of(sh, "id"), "spring-20261124");
	assert_string_equal(str_of(sh, "series"), "spring");
	assert_string_equal(str_of(sh, "title"), "Spring Sale");
	assert_string_equal(str_of(sh, "host"), "Ana");
	assert_time(sh, "started_at", T0);
	assert_time(sh, "ended_at", T0 + S(60));
	/* 2 orders, not 900 (before) nor 1003 (between); 72.47 / 2 =
	 * 36.235, half up */
	w = (want){210, u1, S(5100), 60, 13, 2, 4, "72.47", 7247, "36.24"};
	assert_kpis(sh, &w);
	assert_string_equal(str_of(sh, "currency"), "EUR");
	assert_null(json_object_get(sh, "gmv_by_currency"));
	assert_true(
	    json_real_value(json_object_get(sh, "disclosure_coverage")) == 1.0);

	sh = show_entry(v, show2.id);
	assert_ptr_equal(sh, json_array_get(json_object_get(v, "shows"), 1));
	assert_null(json_object_get(sh, "series"));
	assert_null(json_object_get(sh, "host"));
	assert_string_equal(str_of(sh, "title"), "Summer");
	assert_time(sh, "started_at", T0 + S(100));
	assert_null_key(sh, "ended_at");
	/* two currencies: no one gmv, nor what follows from it */
	w = (want){50, u2, S(1000), 8, 0, 2, 2, NULL, 0, NULL};
	assert_kpis(sh, &w);
	assert_null_key(sh, "currency");
	assert_json_is(json_object_get(sh, "gmv_by_currency"),
		       "{\"USD\":\"5.00\",\"EUR\":\"19.99\"}");

	/* Across the shows: peaks the highest, sketches merged. */
	sh = json_object_get(v, "across_shows");
	assert_int_equal(int_of(sh, "shows"), 2);
	w = (want){210, uall, S(6100), 68, 13, 4, 6, NULL, 0, NULL};
	assert_kpis(sh, &w);
	assert_json_is(json_object_get(sh, "gmv_by_currency"),
		       "{\"EUR\":\"92.46\",\"USD\":\"5.00\"}");
	/* the ghost's offer never came in */
	assert_int_equal(json_array_size(json_object_get(v, "offers")), 3);
	json_decref(v);

	/* The last N shows. */
	js = lshop_report_json(r, STREAM, now, 1, NULL);
	v = json_loads(js, 0, NULL);
	free(js);
	assert_int_equal(json_array_size(json_object_get(v, "shows")), 1);
	assert_string_equal(
	    str_of(json_array_get(json_object_get(v, "shows"), 0), "id"),
	    show2.id);
	sh = json_object_get(v, "across_shows");
	assert_int_equal(int_of(sh, "shows"), 1);
	w = (want){50, u2, S(1000), 8, 0, 2, 2, NULL, 0, NULL};
	assert_kpis(sh, &w);
	json_decref(v);
	js = lshop_report_json(r, STREAM, now, 0, NULL);
	assert_non_null(strstr(js, "\"shows\":[],\"across_shows\":{"
				   "\"shows\":0,"));
	free(js);

	/* Show 1 alone: its offers within its window, its series. */
	v = show_report(r, show1.id, now);
	assert_non_null(v);
	assert_string_equal(str_of(v, "stream"), STREAM);
	assert_time(v, "at", now);
	assert_string_equal(str_of(json_object_get(v, "show"), "id"), show1.id);
	assert_int_equal(json_array_size(json_object_get(v, "offers")), 2);
	e = json_array_get(json_object_get(v, "offers"), 0);
	assert_string_equal(str_of(e, "offer_id"), "sku-a");
	assert_offer(e, 1, S(20), 2, 3, "59.97", "EUR");
	w = (want){150, ua1, S(1500), 40, 10, 2, 3, "59.97", 5997, "29.99"};
	assert_kpis(e, &w);
	e = json_array_get(json_object_get(v, "offers"), 1);
	assert_string_equal(str_of(e, "offer_id"), "sku-plain");
	/* pinned 30 s..80 s: 30 s of it in the show */
	assert_offer(e, 1, S(30), 1, 1, "12.50", "EUR");
	w = (want){180, up1, S(3600), 20, 3, 1, 1, "12.50", 1250, "12.50"};
	assert_kpis(e, &w);
	e = json_object_get(v, "disclosure");
	assert_int_equal(int_of(e, "sponsored_pins"), 1);
	assert_int_equal(ms_of(e, "sponsored_seconds"), S(20));
	assert_int_equal(ms_of(e, "disclosed_seconds"), S(20));
	assert_json_is(
	    json_object_get(json_object_get(v, "series"), "viewers"),
	    "[[1795514400123,0],[1795514415123,150],[1795514425123,150],"
	    "[1795514435123,180],[1795514445123,210],[1795514460123,210]]");
	assert_json_is(json_object_get(json_object_get(v, "series"), "orders"),
		       "[[1795514420123,1,2,39.98],[1795514440123,2,4,72.47]]");
	assert_json_is(json_object_get(json_object_get(v, "series"), "pins"),
		       "[{\"offer_id\":\"sku-a\",\"start\":1795514410123,"
		       "\"end\":1795514430123},{\"offer_id\":\"sku-plain\","
		       "\"start\":1795514430123,\"end\":1795514460123}]");
	json_decref(v);

	/* Show 2 alone, on air: open intervals up to now. */
	v = show_report(r, show2.id, now);
	assert_non_null(v);
	assert_int_equal(json_array_size(json_object_get(v, "offers")), 2);
	e = json_array_get(json_object_get(v, "offers"), 0);
	assert_string_equal(str_of(e, "offer_id"), "sku-b");
	assert_offer(e, 1, S(90), 1, 1, "5.00", "USD");
	w = (want){50, u2, S(1000), 8, 0, 1, 1, "5.00", 500, "5.00"};
	assert_kpis(e, &w);
	e = json_array_get(json_object_get(v, "offers"), 1);
	assert_string_equal(str_of(e, "offer_id"), "sku-a");
	assert_offer(e, 0, 0, 1, 1, "19.99", "EUR");
	w = (want){0, 0, 0, 0, 0, 1, 1, "19.99", 1999, "19.99"};
	assert_kpis(e, &w);
	assert_json_is(json_object_get(json_object_get(v, "series"), "orders"),
		       "[[1795514520123,1,1,5.0],[1795514530123,2,2,null]]");
	assert_json_is(
	    json_object_get(json_object_get(v, "series"), "pins"),
	    "[{\"offer_id\":\"sku-b\",\"start\":1795514510123,\"end\":null}]");
	assert_json_is(json_object_get(json_object_get(v, "series"), "viewers"),
		       "[[1795514500123,0],[1795514540123,50]]");
	json_decref(v);

	/* An unknown show: no report of it (the host's 404). */
	assert_int_equal(lshop_report_has_show(r, show1.id), 1);
	assert_int_equal(lshop_report_has_show(r, "never-started"), 0);
	assert_null(show_report(r, "never-started", now));
	{
		size_t len = 7;

		assert_null(lshop_report_show_csv(r, "nope", now, &len));
		assert_int_equal(len, 0);
	}

	/* The CSVs say the same. */
	assert_csvs_match(r, show1.id, now, 10);
	assert_csvs_match(r, show2.id, now, 1);
	js = lshop_report_shows_csv(r, 10, now, NULL);
	assert_non_null(strstr(
	    js, "\r\nspring-20261124,spring,Spring Sale,Ana,"
		"2026-11-24T10:00:00.123Z,2026-11-24T10:01:00.123Z,210,"));
	assert_non_null(strstr(js, ",Summer,,2026-11-24T10:01:40.123Z,,50,"));
	free(js);

	lshop_report_free(r);
	tl_free(&tl);
	free(a1);
	free(gap);
	free(a2);
	free(ghost);
}

static lshop_event show_event(lshop_event_type type, const char *id, int64_t at)
{
	lshop_event ev = event(type, at);

	snprintf(ev.show.id, sizeof(ev.show.id), "%s", id);
	snprintf(ev.show.title, sizeof(ev.show.title), "Show %s", id);
	return ev;
}

static void add_order_at(lshop_report *r, const char *id, const char *amount,
			 const char *currency, int64_t at)
{
	lshop_order o = make_order("1", id, 1, amount);

	strcpy(o.items[0].currency, currency);
	assert_int_equal(lshop_report_add_order_at(r, &o, at), 0);
}

/*
 * A show's window, built by hand: a sponsored pin from before it, its
 * disclosure half of the time; a start said again and an end of another
 * show change nothing; a show that starts again goes on; a start ends
 * the show on air. And the null rules.
 */
static void test_show_window_and_null_rules(void **state)
{
	lshop_report *r = lshop_report_new();
	lshop_audience *a = audience_new("s2");
	lshop_offer m = make_offer("sku-m", "3", NULL);
	json_t *v, *sh, *e;
	want w;

	(void)state;
	add_pinned(r, &ad_a, T0);
	add(r, show_event(LSHOP_SHOW_STARTED, "s1", T0 + S(5)));
	add(r, show_event(LSHOP_SHOW_STARTED, "s1", T0 + S(6))); /* again */
	add_disclosure(r, 1, T0 + S(10));
	add_order_at(r, "sku-a", "19.99", "EUR", T0 + S(20));
	add_disclosure(r, 0, T0 + S(30));
	add(r, show_event(LSHOP_SHOW_ENDED, "other", T0 + S(33)));
	add(r, show_event(LSHOP_SHOW_ENDED, "s1", T0 + S(35)));
	add_unpinned(r, "sku-a", T0 + S(40));
	add_order_at(r, "sku-a", "19.99", "EUR", T0 + S(45)); /* between */

	v = show_report(r, "s1", T0 + S(48));
	sh = json_object_get(v, "show");
	assert_time(sh, "started_at", T0 + S(5));
	assert_time(sh, "ended_at", T0 + S(35));
	/* sponsored 5 s..35 s in the show, disclosed 10 s..30 s */
	e = json_object_get(v, "disclosure");
	assert_int_equal(int_of(e, "sponsored_pins"), 1);
	assert_int_equal(ms_of(e, "sponsored_seconds"), S(30));
	assert_int_equal(ms_of(e, "disclosed_seconds"), S(20));
	assert_true(json_real_value(json_object_get(e, "coverage")) > 0.6666 &&
		    json_real_value(json_object_get(e, "coverage")) < 0.6667);
	assert_true(
	    json_real_value(json_object_get(e, "coverage")) ==
	    json_real_value(json_object_get(sh, "disclosure_coverage")));
	e = json_array_get(json_object_get(v, "offers"), 0);
	assert_offer(e, 1, S(30), 1, 1, "19.99", "EUR");
	assert_json_is(json_object_get(json_object_get(v, "series"), "pins"),
		       "[{\"offer_id\":\"sku-a\",\"start\":1795514405123,"
		       "\"end\":1795514435123}]");
	/* no audience: what divides by viewers or clicks is null */
	w = (want){0, 0, 0, 0, 0, 1, 1, "19.99", 1999, "19.99"};
	assert_kpis(sh, &w);
	json_decref(v);
	v = report_json(r, T0 + S(48));
	e = json_object_get(v, "disclosure");
	assert_int_equal(ms_of(e, "sponsored_seconds"), S(40));
	assert_true(json_real_value(json_object_get(e, "coverage")) == 0.5);
	json_decref(v);

	/* s1 again: it goes on, from where it was; the host's tally of it
	 * starts anew (an empty full line), and adds to the first one's */
	lshop_audience_init(a, "s1");
	see(a, 0, 40, "sku-a");
	lshop_audience_tally(a, 40, S(10), "sku-a");
	beacons(a, 0, "sku-a", 5);
	assert_int_equal(lshop_report_add_audience(r, a, 1, T0 + S(36)), 0);
	add(r, show_event(LSHOP_SHOW_STARTED, "s1", T0 + S(50)));
	lshop_audience_init(a, "s1");
	assert_int_equal(lshop_report_add_audience(r, a, 1, T0 + S(50)), 0);
	see(a, 20, 60, "sku-a");
	lshop_audience_tally(a, 30, S(2), "sku-a");
	beacons(a, 0, "sku-a", 2);
	beacons(a, 1, "sku-a", 1);
	assert_int_equal(lshop_report_add_audience(r, a, 1, T0 + S(52)), 0);
	add_order_at(r, "sku-a", "0.01", "EUR", T0 + S(55));
	add_order_at(r, "sku-o", "4.00", "EUR", T0 + S(56));
	lshop_audience_init(a, "s2");
	/* s2 starts: s1 ends there */
	add(r, show_event(LSHOP_SHOW_STARTED, "s2", T0 + S(60)));
	/* null rules: clicks without impressions, viewers without orders,
	 * an offer whose orders are in two currencies */
	assert_int_equal(lshop_report_add_offer(r, &m), 0);
	lshop_audience_beacon(a, 1, "sku-c");
	lshop_audience_beacon(a, 1, "sku-c");
	see(a, 0, 10, "sku-m");
	assert_int_equal(lshop_report_add_audience(r, a, 1, T0 + S(61)), 0);
	add_order_at(r, "sku-m", "3", "EUR", T0 + S(62));
	add_order_at(r, "sku-m", "3", "USD", T0 + S(63));

	v = report_json(r, T0 + S(70));
	assert_int_equal(json_array_size(json_object_get(v, "shows")), 2);
	sh = show_entry(v, "s1");
	assert_time(sh, "started_at", T0 + S(5));
	assert_time(sh, "ended_at", T0 + S(60));
	/* both stints: 3 orders, 24.00 / 3; viewers 0..59, 40 × 10 s +
	 * 30 × 2 s, impressions 5 + 2 */
	w = (want){40,     sketch_of(0, 60, 0, 0, 60),
		   S(460), 7,
		   1,      3,
		   3,      "24.00",
		   2400,   "8.00"};
	assert_kpis(sh, &w);
	sh = show_entry(v, "s2");
	assert_null_key(sh, "ended_at");
	e = offer_entry(v, "sku-c");
	assert_null_key(e, "title");
	w = (want){0, 0, 0, 0, 2, 0, 0, "0", 0, NULL};
	assert_kpis(e, &w); /* ctr null: no impressions; click_to_buy 0 */
	assert_true(json_real_value(json_object_get(e, "click_to_buy")) == 0.0);
	e = offer_entry(v, "sku-m");
	w = (want){0, sketch_of(0, 10, 0, 0, 10), 0, 0, 0, 2, 2, NULL, 0, NULL};
	assert_kpis(e, &w); /* gmv null: so are aov and gmv per 1000 */
	assert_null_key(e, "revenue");
	e = offer_entry(v, "sku-a");
	w = (want){40,     sketch_of(0, 60, 0, 0, 60),
		   S(460), 7,
		   1,      3,
		   3,      "39.99",
		   3999,   "13.33"};
	assert_kpis(e, &w);
	/* orders without viewers: no conversion */
	e = offer_entry(v, "sku-o");
	w = (want){0, 0, 0, 0, 0, 1, 1, "4.00", 400, "4.00"};
	assert_kpis(e, &w);
	json_decref(v);

	/* A show that has had nothing yet. */
	add(r, show_event(LSHOP_SHOW_STARTED, "s3", T0 + S(80)));
	v = show_report(r, "s3", T0 + S(90));
	sh = json_object_get(v, "show");
	w = (want){0, 0, 0, 0, 0, 0, 0, "0.00", 0, NULL};
	assert_kpis(sh, &w);
	assert_null_key(sh, "currency");
	assert_true(
	    json_real_value(json_object_get(sh, "disclosure_coverage")) == 1.0);
	assert_int_equal(json_array_size(json_object_get(v, "offers")), 0);
	assert_json_is(json_object_get(v, "series"),
		       "{\"viewers\":[],\"orders\":[],\"pins\":[]}");
	json_decref(v);
	lshop_report_free(r);
	free(a);
}

/*
 * Memory stays bounded: a show's viewer and order series halve their
 * resolution when full, its pin intervals keep the newer half, and only
 * the last LSHOP_REPORT_SHOWS_MAX shows are kept.
 */
static void test_series_are_thinned(void **state)
{
	lshop_report *r = lshop_report_new();
	lshop_audience *a = audience_new("big");
	lshop_order o = make_order("1", "sku-a", 1, "1.00");
	json_t *v, *pts, *p;
	char id[32];
	size_t i;

	(void)state;
	add(r, show_event(LSHOP_SHOW_STARTED, "big", T0));
	for (i = 0; i < 2500; i++) {
		a->viewers = (int64_t)i;
		assert_int_equal(
		    lshop_report_add_audience(r, a, 0, T0 + (int64_t)i * 1000),
		    0);
	}
	for (i = 0; i < 6001; i++)
		assert_int_equal(
		    lshop_report_add_order_at(r, &o, T0 + (int64_t)i), 0);

	v = show_report(r, "big", T0 + S(3000));
	/* 2000 samples, then every other one: 0, 2, ... 2498, and the
	 * latest, 2499 */
	pts = json_object_get(json_object_get(v, "series"), "viewers");
	assert_int_equal(json_array_size(pts), 1251);
	assert_true(json_array_size(pts) <= LSHOP_REPORT_VIEWER_POINTS_MAX);
	for (i = 0; i < 1250; i++) {
		p = json_array_get(pts, i);
		assert_int_equal(json_integer_value(json_array_get(p, 0)),
				 T0 + (int64_t)i * 2000);
		assert_int_equal(json_integer_value(json_array_get(p, 1)),
				 2 * i);
	}
	p = json_array_get(pts, 1250);
	assert_int_equal(json_integer_value(json_array_get(p, 1)), 2499);
	/* 5000 orders, then every other: orders 1, 3, ... 6001 */
	pts = json_object_get(json_object_get(v, "series"), "orders");
	assert_int_equal(json_array_size(pts), 3001);
	for (i = 0; i < 3001; i++) {
		p = json_array_get(pts, i);
		assert_int_equal(json_integer_value(json_array_get(p, 0)),
				 T0 + (int64_t)(2 * i));
		assert_int_equal(json_integer_value(json_array_get(p, 1)),
				 2 * i + 1);
		assert_true(json_real_value(json_array_get(p, 3)) ==
			    (double)(2 * i + 1));
	}
	assert_int_equal(int_of(json_object_get(v, "show"), "orders"), 6001);
	assert_string_equal(str_of(json_object_get(v, "show"), "gmv"),
			    "6001.00");
	json_decref(v);
	lshop_report_free(r);

	/* 2100 pins: the newest 1100 intervals, all counted */
	r = lshop_report_new();
	add(r, show_event(LSHOP_SHOW_STARTED, "pins", T0));
	for (i = 0; i < 2100; i++)
		add_pinned(r, i % 2 ? &plain : &ad_a, T0 + (int64_t)i * 10);
	v = show_report(r, "pins", T0 + S(100));
	pts = json_object_get(json_object_get(v, "series"), "pins");
	assert_int_equal(json_array_size(pts), 1100);
	assert_int_equal(int_of(json_array_get(pts, 0), "start"), T0 + 10000);
	assert_null_key(json_array_get(pts, 1099), "end");
	assert_int_equal(
	    int_of(json_array_get(json_object_get(v, "offers"), 0), "pins"),
	    1050);
	json_decref(v);
	lshop_report_free(r);

	/* 55 shows: the last 50 kept; the 10 last listed by default */
	r = lshop_report_new();
	for (i = 0; i < 55; i++) {
		snprintf(id, sizeof(id), "show-%zu", i);
		add(r, show_event(LSHOP_SHOW_STARTED, id,
				  T0 + S(10) * (int64_t)i));
		add_order_at(r, "sku-a", "1", "EUR",
			     T0 + S(10) * (int64_t)i + 1);
		add(r, show_event(LSHOP_SHOW_ENDED, id,
				  T0 + S(10) * (int64_t)i + S(5)));
	}
	assert_int_equal(lshop_report_has_show(r, "show-4"), 0);
	assert_int_equal(lshop_report_has_show(r, "show-5"), 1);
	a->viewers = 3;
	strcpy(a->show_id, "show-0"); /* dropped: nothing to add to */
	assert_int_equal(lshop_report_add_audience(r, a, 1, T0 + S(999)), 0);
	v = report_json(r, T0 + S(1000));
	assert_int_equal(json_array_size(json_object_get(v, "shows")), 10);
	assert_string_equal(
	    str_of(json_array_get(json_object_get(v, "shows"), 0), "id"),
	    "show-45");
	/* the stream's offers keep what dropped shows added */
	assert_int_equal(int_of(offer_entry(v, "sku-a"), "orders"), 55);
	json_decref(v);
	{
		char *s = lshop_report_json(r, STREAM, T0, 100, NULL);

		v = json_loads(s, 0, NULL);
		free(s);
	}
	assert_int_equal(json_array_size(json_object_get(v, "shows")),
			 LSHOP_REPORT_SHOWS_MAX);
	assert_int_equal(int_of(json_object_get(v, "across_shows"), "orders"),
			 50);
	json_decref(v);
	lshop_report_free(r);

	/* Without the order line's time: the latest time fed. */
	r = lshop_report_new();
	add(r, show_event(LSHOP_SHOW_STARTED, "t", T0));
	add_pinned(r, &ad_a, T0 + S(7));
	o = make_order("2", "sku-a", 1, "19.99");
	assert_int_equal(lshop_report_add_order(r, &o), 0);
	v = show_report(r, "t", T0 + S(9));
	assert_json_is(json_object_get(json_object_get(v, "series"), "orders"),
		       "[[1795514407123,1,1,19.99]]");
	json_decref(v);
	lshop_report_free(r);
	free(a);
}

/* A show's chapters as WebVTT, compared whole. */
static void assert_chapters(const lshop_report *r, const char *show_id,
			    int64_t now_ms, const char *expected)
{
	size_t len = 7;
	char *vtt = lshop_report_show_chapters_vtt(r, show_id, now_ms, &len);

	assert_non_null(vtt);
	assert_int_equal(len, strlen(vtt));
	assert_string_equal(vtt, expected);
	free(vtt);
}

/*
 * Chapters (SPEC §16): cue times relative to the show's start, a pin
 * from before the show cut to it, a pin with no time left out, a hostile
 * title escaped, an open pin up to now while on air and up to the end
 * after, hours past 99; an unknown show is ENOENT.
 */
static void test_chapters_vtt(void **state)
{
	lshop_report *r = lshop_report_new();
	lshop_offer h = make_offer("sku-h", "0.5", NULL);
	size_t len = 7;
	char *vtt;
	const char *cues =
	    "1-sku-a\n00:00:00.000 --> 00:00:02.250\n"
	    "Title of sku-a \xe2\x80\x94 19.99 EUR\n\n"
	    "3-sku-h\n00:00:04.000 --> 00:00:04.001\n"
	    "A&amp;B &lt;b&gt;x&lt;/b&gt; --&gt; &amp;lt; \"q\"  two\xc3\xa9 "
	    "\xe2\x80\x94 0.5 EUR\n\n"
	    "4-sku-plain\n00:01:00.000 --> ";
	char whole[1024];

	(void)state;
	snprintf(h.title, sizeof(h.title), "%s",
		 "A&B <b>x</b> --> &lt; \"q\"\r\ntwo\xc3\xa9");
	errno = 0;
	assert_null(lshop_report_show_chapters_vtt(r, "s1", T0, &len));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(len, 0);

	assert_int_equal(lshop_report_add_offer(r, &plain), 0);
	add_pinned(r, &ad_a, T0);
	add(r, show_event(LSHOP_SHOW_STARTED, "s1", T0 + S(5)));
	assert_chapters(r, "s1", T0 + S(5), "WEBVTT\n\n");
	add_unpinned(r, "sku-a", T0 + S(7) + 250);
	add_pinned(r, &h, T0 + S(8));
	add_unpinned(r, "sku-h", T0 + S(8)); /* no time: left out */
	add_pinned(r, &h, T0 + S(9));
	add_unpinned(r, "sku-h", T0 + S(9) + 1);
	add_pinned(r, &plain, T0 + S(65));
	snprintf(whole, sizeof(whole), "WEBVTT\n\n%s%s", cues,
		 "01:00:00.007\nTitle of sku-plain \xe2\x80\x94 12.5 EUR\n\n");
	assert_chapters(r, "s1", T0 + S(3605) + 7, whole);
	/* still pinned when the show ends: up to its end */
	add(r, show_event(LSHOP_SHOW_ENDED, "s1", T0 + S(3700)));
	snprintf(whole, sizeof(whole), "WEBVTT\n\n%s%s", cues,
		 "01:01:35.000\nTitle of sku-plain \xe2\x80\x94 12.5 EUR\n\n");
	assert_chapters(r, "s1", T0 + S(9000), whole);
	add_unpinned(r, "sku-plain", T0 + S(3800));

	/* a long show: hours take a third digit */
	add(r, show_event(LSHOP_SHOW_STARTED, "s2", T0 + S(4000)));
	add_pinned(r, &ad_b, T0 + S(4000) + S(360000) + 1);
	add_unpinned(r, "sku-b", T0 + S(4000) + S(360001));
	assert_chapters(r, "s2", T0 + S(4000) + S(360002),
			"WEBVTT\n\n1-sku-b\n100:00:00.001 --> 100:00:01.000\n"
			"Title of sku-b \xe2\x80\x94 7 EUR\n\n");
	/* the first show is unchanged */
	assert_chapters(r, "s1", T0 + S(9000), whole);

	errno = 0;
	vtt = lshop_report_show_chapters_vtt(r, "nope", T0, NULL);
	assert_null(vtt);
	assert_int_equal(errno, ENOENT);
	lshop_report_free(r);
}

/*
 * Commissions (docs/kpis.md "Commissions"): an offer's rate overrides
 * its show's, a show's applies to offers without one, none leaves the
 * revenue without commission; rows round once, half up, and add up to
 * the per-show and per-host totals; a period takes the shows started in
 * [from, to); and the ledger carries it all past a rotation.
 */
static lshop_show commission_show(const char *id, const char *host,
				  const char *rate, int64_t at)
{
	lshop_show s;

	memset(&s, 0, sizeof(s));
	snprintf(s.id, sizeof(s.id), "%s", id);
	snprintf(s.title, sizeof(s.title), "Show %s", id);
	snprintf(s.host, sizeof(s.host), "%s", host);
	snprintf(s.commission, sizeof(s.commission), "%s", rate);
	s.starts_at_ms = at;
	s.duration_s = 3600;
	return s;
}

static void commission_order(timeline *tl, const char *id, const char *offer,
			     const char *amount, const char *currency,
			     int64_t at)
{
	lshop_order o = make_order(id, offer, 1, amount);

	strcpy(o.items[0].currency, currency);
	tl_order(tl, &o, LSHOP_PROVIDER_STANDARD, at, NULL);
}

static void assert_due(json_t *commission, const char *key,
		       const char *currency, const char *text)
{
	json_t *m = json_object_get(json_object_get(commission, key), currency);

	if (text == NULL) {
		assert_null(m);
		return;
	}
	assert_non_null(m);
	assert_string_equal(json_string_value(m), text);
}

static char *commissions_csv(const lshop_report *r, int64_t from, int64_t to,
			     int by_host)
{
	char *csv = lshop_report_commissions_csv(r, from, to, by_host, NULL);

	assert_non_null(csv);
	return csv;
}

static void test_commissions(void **state)
{
	lshop_offer a = make_offer("sku-a", "19.99", NULL);
	lshop_offer b = make_offer("sku-b", "0.05", NULL);
	lshop_offer c = make_offer("sku-c", "0.20", NULL);
	lshop_show s1, s2, s3;
	lshop_report *r, *folded;
	lshop_error err;
	json_t *v, *sh, *cm, *e, *host;
	char t1[LSHOP_TIME_LEN], t2[LSHOP_TIME_LEN], t3[LSHOP_TIME_LEN];
	char rows[2048], *csv, *csv2, *ledger, *js;
	int64_t file;
	uint64_t seq;
	size_t len;
	timeline tl;

	(void)state;
	strcpy(a.commission, "0.15");
	strcpy(c.commission, "0.125");
	s1 = commission_show("s1", "Ana", "0.10", T0 + S(10));
	s2 = commission_show("s2", "Ben", "", T0 + S(100));
	s3 = commission_show("s3", "Ana", "0.05", T0 + S(200));
	lshop_time_format(t1, T0 + S(10));
	lshop_time_format(t2, T0 + S(100));
	lshop_time_format(t3, T0 + S(200));

	tl_init(&tl);
	tl_put(&tl, &a, T0);
	tl_put(&tl, &b, T0);
	tl_put(&tl, &c, T0);
	/* before any show: no host, no commission */
	commission_order(&tl, "1", "sku-a", "10.00", "EUR", T0 + S(5));
	tl_show_start(&tl, &s1, T0 + S(10));
	/* 19.99 x 0.15 (the offer's) = 2.9985 -> 3.00 */
	commission_order(&tl, "2", "sku-a", "19.99", "EUR", T0 + S(11));
	/* 0.05 x 0.10 (the show's) twice: the row's 0.10 x 0.10 = 0.01,
	 * not two items' 0.005 -> 0.01 each */
	commission_order(&tl, "3", "sku-b", "0.05", "EUR", T0 + S(12));
	commission_order(&tl, "4", "sku-b", "0.05", "EUR", T0 + S(13));
	/* another currency: 12.34 x 0.10 = 1.234 -> 1.23 */
	commission_order(&tl, "5", "sku-b", "12.34", "USD", T0 + S(14));
	/* 0.20 x 0.125 = 0.025 -> 0.03, half up */
	commission_order(&tl, "6", "sku-c", "0.20", "EUR", T0 + S(15));
	tl_show_end(&tl, T0 + S(50));
	tl_show_start(&tl, &s2, T0 + S(100));
	/* no rate: without commission */
	commission_order(&tl, "7", "sku-b", "5.00", "EUR", T0 + S(101));
	/* the offer's rate with a show of none: 2.00 x 0.15 = 0.30 */
	commission_order(&tl, "8", "sku-a", "2.00", "EUR", T0 + S(102));
	tl_show_end(&tl, T0 + S(150));
	tl_show_start(&tl, &s3, T0 + S(200));
	commission_order(&tl, "9", "sku-a", "1.00", "EUR", T0 + S(201));
	/* the offer loses its rate: the show's 0.05 applies from here */
	a.commission[0] = '\0';
	tl_put(&tl, &a, T0 + S(202));
	commission_order(&tl, "10", "sku-a", "10.00", "EUR", T0 + S(203));
	r = report_of(&tl);

	v = report_json(r, T0 + S(300));
	sh = show_entry(v, "s1");
	cm = json_object_get(sh, "commission");
	assert_string_equal(json_string_value(json_object_get(cm, "rate")),
			    "0.10");
	assert_due(cm, "due", "EUR", "3.04");
	assert_due(cm, "due", "USD", "1.23");
	assert_due(cm, "revenue", "EUR", "20.29");
	assert_due(cm, "without_commission", "EUR", "0.00");
	assert_true(json_is_true(json_object_get(cm, "complete")));
	assert_int_equal(json_array_size(json_object_get(cm, "offers")), 4);
	e = json_array_get(json_object_get(cm, "offers"), 0);
	assert_string_equal(
	    json_string_value(json_object_get(e, "rate_source")), "offer");
	assert_string_equal(json_string_value(json_object_get(e, "rate")),
			    "0.15");
	assert_string_equal(json_string_value(json_object_get(e, "commission")),
			    "3.00");
	e = json_array_get(json_object_get(cm, "offers"), 1);
	assert_string_equal(
	    json_string_value(json_object_get(e, "rate_source")), "show");
	assert_string_equal(json_string_value(json_object_get(e, "revenue")),
			    "0.10");
	assert_string_equal(json_string_value(json_object_get(e, "commission")),
			    "0.01");
	cm = json_object_get(show_entry(v, "s2"), "commission");
	assert_true(json_is_null(json_object_get(cm, "rate")));
	assert_due(cm, "due", "EUR", "0.30");
	assert_due(cm, "without_commission", "EUR", "5.00");
	e = json_array_get(json_object_get(cm, "offers"), 0);
	assert_true(json_is_null(json_object_get(e, "rate")));
	assert_true(json_is_null(json_object_get(e, "rate_source")));
	assert_string_equal(json_string_value(json_object_get(e, "commission")),
			    "0.00");
	cm = json_object_get(show_entry(v, "s3"), "commission");
	assert_due(cm, "due", "EUR", "0.65"); /* 0.15 + 0.50 */
	host = json_array_get(json_object_get(v, "commission_by_host"), 0);
	assert_string_equal(json_string_value(json_object_get(host, "host")),
			    "Ana");
	assert_int_equal(int_of(host, "shows"), 2);
	assert_due(host, "due", "EUR", "3.69");
	assert_due(host, "due", "USD", "1.23");
	assert_due(host, "revenue", "EUR", "31.29");
	host = json_array_get(json_object_get(v, "commission_by_host"), 1);
	assert_string_equal(json_string_value(json_object_get(host, "host")),
			    "Ben");
	assert_due(host, "due", "EUR", "0.30");
	assert_due(host, "without_commission", "EUR", "5.00");
	assert_due(host, "due", "USD", NULL);
	json_decref(v);

	/* an offer's object in its show's report carries its rows */
	js = lshop_report_show_json(r, STREAM, "s1", T0 + S(300), NULL);
	v = json_loads(js, 0, NULL);
	free(js);
	e = offer_entry(v, "sku-b");
	assert_int_equal(json_array_size(json_object_get(e, "commission")), 2);
	e = json_array_get(json_object_get(e, "commission"), 1);
	assert_string_equal(json_string_value(json_object_get(e, "currency")),
			    "USD");
	assert_string_equal(json_string_value(json_object_get(e, "commission")),
			    "1.23");
	json_decref(v);

	/* the rows of a period: s2 starts at its from, s3 at its to */
	csv = commissions_csv(r, T0 + S(100), T0 + S(200), 0);
	snprintf(rows, sizeof(rows),
		 "show_id,host,started_at,offer_id,title,currency,revenue,"
		 "refunded,rate,rate_source,commission\r\n"
		 "s2,Ben,%s,sku-b,Title of sku-b,EUR,5.00,0.00,,,0.00\r\n"
		 "s2,Ben,%s,sku-a,Title of sku-a,EUR,2.00,0.00,0.15,offer,"
		 "0.30\r\n",
		 t2, t2);
	assert_string_equal(csv, rows);
	free(csv);
	csv = commissions_csv(r, INT64_MIN, T0 + S(100), 0);
	snprintf(rows, sizeof(rows),
		 "show_id,host,started_at,offer_id,title,currency,revenue,"
		 "refunded,rate,rate_source,commission\r\n"
		 "s1,Ana,%s,sku-a,Title of sku-a,EUR,19.99,0.00,0.15,offer,"
		 "3.00\r\n"
		 "s1,Ana,%s,sku-b,Title of sku-b,EUR,0.10,0.00,0.10,show,"
		 "0.01\r\n"
		 "s1,Ana,%s,sku-b,Title of sku-b,USD,12.34,0.00,0.10,show,"
		 "1.23\r\n"
		 "s1,Ana,%s,sku-c,Title of sku-c,EUR,0.20,0.00,0.125,offer,"
		 "0.03\r\n",
		 t1, t1, t1, t1);
	assert_string_equal(csv, rows);
	free(csv);
	csv = commissions_csv(r, T0 + S(101), T0 + S(199), 0);
	assert_string_equal(csv, "show_id,host,started_at,offer_id,title,"
				 "currency,revenue,refunded,rate,rate_source,"
				 "commission\r\n");
	free(csv);
	csv = commissions_csv(r, INT64_MIN, INT64_MAX, 1);
	assert_string_equal(
	    csv, "host,currency,shows,revenue,refunded,"
		 "revenue_without_commission,commission,complete\r\n"
		 "Ana,EUR,2,31.29,0.00,0.00,3.69,true\r\n"
		 "Ana,USD,2,12.34,0.00,0.00,1.23,true\r\n"
		 "Ben,EUR,1,7.00,0.00,5.00,0.30,true\r\n");
	free(csv);
	csv = commissions_csv(r, T0 + S(200), INT64_MAX, 1);
	assert_string_equal(
	    csv, "host,currency,shows,revenue,refunded,"
		 "revenue_without_commission,commission,complete\r\n"
		 "Ana,EUR,1,11.00,0.00,0.00,0.65,true\r\n");
	free(csv);

	/* folded into a ledger (a rotation), the same */
	ledger = lshop_ledger_fold(NULL, 0, tl.journal, tl.len, T0 + S(300),
				   &len, &err);
	if (ledger == NULL)
		fail_msg("fold: %s", err.message);
	folded = lshop_report_new();
	if (lshop_ledger_read(ledger, len, folded, NULL, NULL, &file, &seq,
			      &err) != 0)
		fail_msg("ledger: %s", err.message);
	csv = commissions_csv(r, INT64_MIN, INT64_MAX, 0);
	csv2 = commissions_csv(folded, INT64_MIN, INT64_MAX, 0);
	assert_string_equal(csv2, csv);
	free(csv);
	free(csv2);
	free(ledger);
	lshop_report_free(folded);
	lshop_report_free(r);
	tl_free(&tl);
}

/* A refund line: what was refunded so far of order id, one item. */
static void refund_line(timeline *tl, const char *id, const char *offer,
			const char *amount, const char *currency, int64_t at)
{
	lshop_order o = make_order(id, offer, 1, amount);
	char *line;
	size_t len;

	o.refund = 1;
	strcpy(o.items[0].currency, currency);
	line = lshop_journal_order_line(&o, LSHOP_PROVIDER_SHOPIFY, at, NULL,
					0, &len);
	assert_non_null(line);
	assert_non_null(strstr(line, "{\"refund\":{\"type\":\"order.refunded\""));
	tl_write(tl, line, len);
	free(line);
}

static const char *row_text(json_t *cm, size_t i, const char *key)
{
	return json_string_value(
	    json_object_get(json_array_get(json_object_get(cm, "offers"), i),
			    key));
}

/*
 * Refunds reduce commission rows (docs/kpis.md): partial, repeated
 * (cumulative: the later figure replaces the earlier), larger than the
 * item (capped), full, of an unknown order or outside any show
 * (unmatched), in another currency than the item (unmatched); GMV stays
 * gross; a ledger folded before the refunds carries what they need.
 */
static void test_refunds(void **state)
{
	lshop_offer a = make_offer("sku-a", "19.99", NULL);
	lshop_offer b = make_offer("sku-b", "5.00", NULL);
	lshop_show s1 = commission_show("s1", "Ana", "0.10", T0 + S(10));
	lshop_order o2 = make_order("o2", "sku-a", 1, "19.99");
	lshop_report *r, *folded;
	lshop_replay_ops ops = {.order = feed_order};
	lshop_replay_result res;
	lshop_state st;
	lshop_error err;
	json_t *v, *cm, *host, *refunds;
	char *csv, *csv2, *ledger, *js, *js2;
	int64_t file;
	uint64_t seq;
	size_t len, half;
	timeline tl;

	(void)state;
	tl_init(&tl);
	tl_put(&tl, &a, T0);
	tl_put(&tl, &b, T0);
	commission_order(&tl, "o0", "sku-a", "19.99", "EUR", T0 + S(5));
	tl_show_start(&tl, &s1, T0 + S(10));
	commission_order(&tl, "o1", "sku-a", "39.98", "EUR", T0 + S(11));
	order_add(&o2, "sku-b", 1, "10.00");
	tl_order(&tl, &o2, LSHOP_PROVIDER_STANDARD, T0 + S(12), NULL);
	commission_order(&tl, "o3", "sku-b", "5.00", "EUR", T0 + S(13));
	commission_order(&tl, "o4", "sku-a", "12.00", "USD", T0 + S(14));
	tl_show_end(&tl, T0 + S(50));
	half = tl.len;
	/* partial, the same again, then more: 15.00 of 39.98 */
	refund_line(&tl, "o1", "sku-a", "10.00", "EUR", T0 + S(60));
	refund_line(&tl, "o1", "sku-a", "10.00", "EUR", T0 + S(61));
	refund_line(&tl, "o1", "sku-a", "15.00", "EUR", T0 + S(62));
	/* full */
	refund_line(&tl, "o3", "sku-b", "5.00", "EUR", T0 + S(63));
	/* more than the item: capped at its 10.00 */
	refund_line(&tl, "o2", "sku-b", "99.00", "EUR", T0 + S(64));
	/* an order never taken; one outside any show; another currency */
	refund_line(&tl, "nope", "sku-a", "1.00", "EUR", T0 + S(65));
	refund_line(&tl, "o0", "sku-a", "19.99", "EUR", T0 + S(66));
	refund_line(&tl, "o4", "sku-a", "12.00", "EUR", T0 + S(67));
	r = report_of(&tl);

	v = report_json(r, T0 + S(300));
	cm = json_object_get(show_entry(v, "s1"), "commission");
	/* sku-a EUR: (59.97 - 15.00) x 0.10 = 4.497 -> 4.50 */
	assert_string_equal(row_text(cm, 0, "revenue"), "59.97");
	assert_string_equal(row_text(cm, 0, "refunded"), "15.00");
	assert_string_equal(row_text(cm, 0, "commission"), "4.50");
	/* sku-b EUR: 15.00, all refunded */
	assert_string_equal(row_text(cm, 1, "revenue"), "15.00");
	assert_string_equal(row_text(cm, 1, "refunded"), "15.00");
	assert_string_equal(row_text(cm, 1, "commission"), "0.00");
	/* sku-a USD: the EUR refund of it matched nothing */
	assert_string_equal(row_text(cm, 2, "refunded"), "0.00");
	assert_string_equal(row_text(cm, 2, "commission"), "1.20");
	assert_due(cm, "due", "EUR", "4.50");
	assert_due(cm, "refunded", "EUR", "30.00");
	assert_due(cm, "revenue", "EUR", "74.97");
	host = json_array_get(json_object_get(v, "commission_by_host"), 0);
	assert_due(host, "due", "EUR", "4.50");
	assert_due(host, "refunded", "EUR", "30.00");
	refunds = json_object_get(v, "refunds");
	assert_int_equal(int_of(refunds, "refunds"), 8);
	assert_int_equal(int_of(refunds, "unmatched"), 3);
	assert_int_equal(int_of(refunds, "orders_not_kept"), 0);
	/* GMV stays gross */
	assert_string_equal(
	    json_string_value(json_object_get(offer_entry(v, "sku-b"), "gmv")),
	    "15.00");
	json_decref(v);

	csv = commissions_csv(r, INT64_MIN, INT64_MAX, 1);
	assert_string_equal(
	    csv, "host,currency,shows,revenue,refunded,"
		 "revenue_without_commission,commission,complete\r\n"
		 "Ana,EUR,1,74.97,30.00,0.00,4.50,true\r\n"
		 "Ana,USD,1,12.00,0.00,0.00,1.20,true\r\n");
	free(csv);

	/* a smaller figure later replaces it too (a shop's correction),
	 * and a refund of the item it left still counts */
	refund_line(&tl, "o1", "sku-a", "5.00", "EUR", T0 + S(70));
	refund_line(&tl, "o2", "sku-a", "0.99", "EUR", T0 + S(71));
	lshop_report_free(r);
	r = report_of(&tl);
	v = report_json(r, T0 + S(300));
	cm = json_object_get(show_entry(v, "s1"), "commission");
	/* (59.97 - 5.99) x 0.10 = 5.398 -> 5.40 */
	assert_string_equal(row_text(cm, 0, "refunded"), "5.99");
	assert_string_equal(row_text(cm, 0, "commission"), "5.40");
	json_decref(v);

	/* the orders folded into a ledger (a rotation), the refunds after:
	 * the same report */
	ledger = lshop_ledger_fold(NULL, 0, tl.journal, half, T0 + S(55), &len,
				   &err);
	if (ledger == NULL)
		fail_msg("fold: %s", err.message);
	folded = lshop_report_new();
	if (lshop_ledger_read(ledger, len, folded, NULL, NULL, &file, &seq,
			      &err) != 0)
		fail_msg("ledger: %s", err.message);
	ops.arg = folded;
	lshop_state_init(&st);
	assert_int_equal(lshop_journal_replay(tl.journal + half, tl.len - half,
					      &st, &ops, &res),
			 0);
	assert_int_equal(res.skipped, 0);
	csv = commissions_csv(r, INT64_MIN, INT64_MAX, 0);
	csv2 = commissions_csv(folded, INT64_MIN, INT64_MAX, 0);
	assert_string_equal(csv2, csv);
	free(csv);
	free(csv2);
	js = lshop_report_to_json(r, STREAM, T0 + S(300), NULL);
	js2 = lshop_report_to_json(folded, STREAM, T0 + S(300), NULL);
	assert_string_equal(js2, js);
	free(js);
	free(js2);
	free(ledger);
	lshop_report_free(folded);
	lshop_report_free(r);
	tl_free(&tl);
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
	    cmocka_unit_test(test_kpis_of_two_shows),
	    cmocka_unit_test(test_show_window_and_null_rules),
	    cmocka_unit_test(test_series_are_thinned),
	    cmocka_unit_test(test_chapters_vtt),
	    cmocka_unit_test(test_commissions),
	    cmocka_unit_test(test_refunds),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
