/*
 * The local picture and the queue (shop-model.c): actions checked with
 * the core's rules and shown at once, kept in order, answered, refused;
 * the server's state and events; stock, purchases and the catalog; the
 * show on air, viewers now and the show's sales from its report.
 */
#include <jansson.h>

#include "plugin_test.h"
#include "shop-model.h"

static shop_model *m;

static int setup(void **state)
{
	char *cat = catalog_json(3);
	lshop_error err;

	(void)state;
	m = shop_model_new(STREAM, "en");
	assert_non_null(m);
	assert_int_equal(shop_model_set_catalog(m, cat, strlen(cat), &err), 0);
	free(cat);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	shop_model_free(m);
	return 0;
}

static shop_action pin_of(const char *id, int64_t at)
{
	shop_action a;

	memset(&a, 0, sizeof(a));
	a.type = SHOP_ACTION_PIN;
	a.at_ms = at;
	a.send_at = 1;
	a.offer = *shop_model_offer(m, id);
	return a;
}

static shop_action simple(shop_action_type type, int64_t at)
{
	shop_action a;

	memset(&a, 0, sizeof(a));
	a.type = type;
	a.at_ms = at;
	a.send_at = 1;
	return a;
}

/* st, as GET state says it, taken by the model (forced or not). */
static void put_state(const lshop_state *st, int force)
{
	char *s = state_json(st);
	lshop_error err;

	assert_int_equal(shop_model_set_state(m, s, strlen(s), force, &err), 0);
	free(s);
}

/* The server's events: applied to st and streamed to the model. */
static void stream(lshop_state *st, lshop_event *evs, size_t n)
{
	size_t i;

	apply_all(st, evs, n);
	for (i = 0; i < n; i++)
		assert_int_equal(shop_model_apply_event(m, &evs[i]), 0);
}

static void test_actions_show_at_once_and_queue_in_order(void **state)
{
	shop_action a = pin_of("a", T0), b = pin_of("b", T0 + 10),
		    u = simple(SHOP_ACTION_UNPIN, T0 + 20);
	shop_view *v = calloc(1, sizeof(*v));
	lshop_error err;

	(void)state;
	assert_int_equal(shop_model_act(m, &a, &err), 0);
	shop_model_view(m, v);
	assert_true(v->pinned);
	assert_string_equal(v->offer.id, "a");
	assert_int_equal(v->offer_stock, 5);
	assert_int_equal(v->pending, 1);
	assert_false(m->server.pinned); /* the server knows nothing yet */

	assert_int_equal(shop_model_act(m, &b, &err), 0);
	shop_model_view(m, v);
	assert_string_equal(v->offer.id, "b");
	/* b needs its "ad" disclosure: shown with it, and required */
	assert_true(v->disclosure);
	assert_string_equal(v->disclosure_kind, "ad");
	assert_string_equal(v->disclosure_text, "Ad");
	assert_true(v->disclosure_required);

	assert_int_equal(shop_model_act(m, &u, &err), 0);
	shop_model_view(m, v);
	assert_false(v->pinned);
	assert_false(v->disclosure); /* hidden with the offer it was for */
	assert_int_equal(v->pending, 3);

	/* sent strictly in order */
	assert_int_equal(shop_model_next(m)->type, SHOP_ACTION_PIN);
	assert_string_equal(shop_model_next(m)->offer.id, "a");
	shop_model_answered(m, 1);
	assert_int_equal(shop_model_pending(m), 2);
	assert_string_equal(shop_model_next(m)->offer.id, "b");
	shop_model_answered(m, 4);
	assert_int_equal(shop_model_next(m)->type, SHOP_ACTION_UNPIN);
	assert_int_equal(shop_model_next(m)->at_ms, T0 + 20);
	free(v);
}

static void test_refused_actions_change_nothing(void **state)
{
	shop_action u = simple(SHOP_ACTION_UNPIN, T0), h, b = pin_of("b", T0);
	lshop_error err;

	(void)state;
	assert_int_equal(shop_model_act(m, &u, &err), -1);
	assert_string_equal(err.code, "not_pinned");
	h = simple(SHOP_ACTION_HIDE, T0);
	assert_int_equal(shop_model_act(m, &h, &err), -1);
	assert_string_equal(err.code, "not_shown");
	assert_int_equal(shop_model_act(m, &b, &err), 0);
	assert_int_equal(shop_model_act(m, &h, &err), -1);
	assert_string_equal(err.code, "disclosure_required");
	assert_non_null(strstr(err.message, "\"b\""));
	assert_int_equal(shop_model_pending(m), 1);
}

static void test_queue_full(void **state)
{
	shop_action c = simple(SHOP_ACTION_COUNTDOWN, T0);
	lshop_error err;
	int i;

	(void)state;
	c.seconds = 30;
	for (i = 0; i < SHOP_QUEUE_MAX; i++)
		assert_int_equal(shop_model_act(m, &c, &err), 0);
	assert_int_equal(shop_model_act(m, &c, &err), -1);
	assert_string_equal(err.code, "queue_full");
	assert_int_equal(shop_model_pending(m), SHOP_QUEUE_MAX);
	/* one answered: room for one more */
	shop_model_drop_next(m);
	assert_int_equal(shop_model_act(m, &c, &err), 0);
}

/* The server's state, its events, and the queue planned on top. */
static void test_server_state_and_events(void **state)
{
	lshop_offer a = make_offer("a", NULL, 5), x = make_offer("x", NULL, -1);
	lshop_event evs[LSHOP_PLAN_MAX], ev;
	shop_view *v = calloc(1, sizeof(*v));
	shop_action u = simple(SHOP_ACTION_UNPIN, T0 + 5000);
	lshop_error err;
	lshop_state st;
	int i;

	(void)state;
	lshop_state_init(&st);
	apply_all(&st, evs,
		  lshop_state_plan_pin(&st, &a, T0, 0, "en", evs, &err));
	put_state(&st, 0);
	shop_model_view(m, v);
	assert_string_equal(v->offer.id, "a");

	/* a queued unpin shows on top of it */
	assert_int_equal(shop_model_act(m, &u, &err), 0);
	shop_model_view(m, v);
	assert_false(v->pinned);

	/* stock: from stock.changed, in the catalog and the pinned card */
	memset(&ev, 0, sizeof(ev));
	ev.seq = st.seq + 1;
	strcpy(ev.stream, STREAM);
	ev.type = LSHOP_STOCK_CHANGED;
	ev.at_ms = T0 + 1;
	strcpy(ev.offer_id, "a");
	ev.stock = 2;
	assert_int_equal(shop_model_apply_event(m, &ev), 0);
	assert_int_equal(shop_model_apply_event(m, &ev), 0); /* held: no-op */
	shop_model_view(m, v);
	assert_int_equal(v->catalog[0].stock, 2);

	/* purchases: newest first, the last SHOP_PURCHASES_MAX */
	for (i = 0; i < SHOP_PURCHASES_MAX + 2; i++) {
		ev.seq++;
		ev.type = LSHOP_PURCHASE_COMPLETED;
		ev.quantity = i + 1;
		ev.at_ms = T0 + 100 + i;
		/* the show's sales moved: the worker asks for its report */
		assert_int_equal(shop_model_apply_event(m, &ev),
				 SHOP_EVENT_SALE);
	}
	shop_model_view(m, v);
	assert_int_equal(v->npurchases, SHOP_PURCHASES_MAX);
	assert_int_equal(v->purchases[0].quantity, SHOP_PURCHASES_MAX + 2);
	assert_int_equal(v->purchases[SHOP_PURCHASES_MAX - 1].quantity, 3);

	/* a gap: events missing */
	ev.seq += 2;
	assert_int_equal(shop_model_apply_event(m, &ev), SHOP_EVENT_GAP);
	ev.seq -= 1;

	/* someone else unpinned a and pinned x (not in our catalog) */
	memset(evs, 0, sizeof(evs));
	st.seq = ev.seq - 1;
	st.pinned = 1;
	assert_int_equal(
	    lshop_state_plan_pin(&st, &x, T0 + 200, 0, "en", evs, &err), 2);
	evs[0].seq = ev.seq;
	evs[1].seq = ev.seq + 1;
	strcpy(evs[0].stream, STREAM);
	strcpy(evs[1].stream, STREAM);
	assert_int_equal(shop_model_apply_event(m, &evs[0]), 0);
	assert_int_equal(shop_model_apply_event(m, &evs[1]),
			 SHOP_EVENT_CATALOG);
	/* our unpin now unpins x in the picture; it stays queued */
	shop_model_view(m, v);
	assert_false(v->pinned);
	assert_int_equal(v->pending, 1);
	assert_string_equal(m->server.offer.id, "x");
	free(v);
}

/* An accepted action stays in the picture until its event arrives. */
static void test_answered_waits_for_its_event(void **state)
{
	shop_action a = pin_of("a", T0);
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_offer ao = make_offer("a", NULL, 5);
	lshop_error err;
	lshop_state st;
	char *s;

	(void)state;
	lshop_state_init(&st);
	put_state(&st, 0);
	assert_int_equal(shop_model_act(m, &a, &err), 0);
	shop_model_answered(m, 1);
	assert_int_equal(shop_model_pending(m), 0);
	assert_true(m->local.pinned);
	assert_int_equal(m->qlen, 1);
	apply_all(&st, evs,
		  lshop_state_plan_pin(&st, &ao, T0, 0, "en", evs, &err));
	assert_int_equal(shop_model_apply_event(m, &evs[0]), 0);
	assert_int_equal(m->qlen, 0);
	assert_true(m->local.pinned);
	assert_string_equal(m->local.offer.id, "a");

	/* an older state does not replace a newer one, unless forced */
	lshop_state_init(&st);
	s = state_json(&st);
	assert_int_equal(shop_model_set_state(m, s, strlen(s), 0, &err), 0);
	assert_true(m->local.pinned);
	assert_int_equal(shop_model_set_state(m, s, strlen(s), 1, &err), 0);
	assert_false(m->local.pinned);
	free(s);
	/* another stream's state is refused */
	s = lshop_state_to_json(&st, "live/other", T0, NULL, 0, NULL);
	assert_int_equal(shop_model_set_state(m, s, strlen(s), 1, &err), -1);
	assert_string_equal(err.field, "stream");
	free(s);
}

static void test_catalog(void **state)
{
	char *cat = catalog_json(SHOP_CATALOG_MAX + 5);
	lshop_error err;

	(void)state;
	assert_int_equal(shop_model_set_catalog(m, cat, strlen(cat), &err), 0);
	assert_int_equal(m->ncatalog, SHOP_CATALOG_MAX);
	free(cat);
	cat = "{\"offers\":[{\"id\":\"ok\",\"title\":\"t\",\"price\":\"1\","
	      "\"currency\":\"EUR\",\"url\":\"https://x.example/\"},"
	      "{\"id\":\"bad\",\"title\":\"t\",\"price\":\"one\","
	      "\"currency\":\"EUR\",\"url\":\"https://x.example/\"}]}";
	assert_int_equal(shop_model_set_catalog(m, cat, strlen(cat), &err), -1);
	assert_string_equal(err.field, "price");
	assert_non_null(strstr(err.message, "catalog offer 2"));
	assert_int_equal(m->ncatalog, SHOP_CATALOG_MAX); /* unchanged */
	assert_int_equal(shop_model_set_catalog(m, "{}", 2, &err), -1);
	assert_string_equal(err.field, "offers");
	assert_int_equal(shop_model_set_catalog(m, "{", 1, &err), -1);
	assert_string_equal(err.code, "invalid_json");
}

static void test_action_bodies(void **state)
{
	shop_action a = pin_of("a", T0), c = simple(SHOP_ACTION_COUNTDOWN, T0);
	shop_action d = simple(SHOP_ACTION_DISCLOSE, T0);
	shop_action h = simple(SHOP_ACTION_HIDE, T0 + 1);
	char *s;

	(void)state;
	s = shop_action_body(&a);
	assert_string_equal(s, "{\"offer\":\"a\",\"at\":"
			       "\"2026-11-24T10:00:00.123Z\"}");
	free(s);
	a.send_at = 0;
	s = shop_action_body(&a);
	assert_string_equal(s, "{\"offer\":\"a\"}");
	free(s);
	c.seconds = 30;
	strcpy(c.label, "Only \"today\"");
	strcpy(c.offer_id, "b");
	s = shop_action_body(&c);
	assert_string_equal(s, "{\"seconds\":30,\"label\":\"Only "
			       "\\\"today\\\"\",\"offer\":\"b\",\"at\":"
			       "\"2026-11-24T10:00:00.123Z\"}");
	free(s);
	strcpy(d.kind, "ad");
	s = shop_action_body(&d);
	assert_string_equal(
	    s, "{\"kind\":\"ad\",\"at\":\"2026-11-24T10:00:00.123Z\"}");
	free(s);
	s = shop_action_body(&h);
	assert_string_equal(s, "{\"at\":\"2026-11-24T10:00:00.124Z\"}");
	free(s);
	assert_string_equal(shop_action_method(SHOP_ACTION_HIDE), "DELETE");
	assert_string_equal(shop_action_path(SHOP_ACTION_HIDE), "disclosure");
	assert_string_equal(shop_action_method(SHOP_ACTION_UNPIN), "POST");
	assert_string_equal(shop_action_path(SHOP_ACTION_UNPIN), "unpin");
	assert_string_equal(shop_action_method(SHOP_ACTION_STOP_COUNTDOWN),
			    "DELETE");
	assert_string_equal(shop_action_path(SHOP_ACTION_STOP_COUNTDOWN),
			    "countdown");
	assert_string_equal(shop_action_name(SHOP_ACTION_STOP_COUNTDOWN),
			    "stop countdown");
}

/* GET state's "show" and "viewers" (SPEC §14) reach the view. */
static void test_state_show_and_viewers(void **state)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	shop_view *v = calloc(1, sizeof(*v));
	lshop_error err;
	lshop_state st;
	char *s;

	(void)state;
	shop_model_view(m, v);
	assert_int_equal(v->viewers, -1); /* not said yet */
	assert_false(v->show_live);
	assert_null(shop_model_show_on_air(m));

	lshop_state_init(&st);
	apply_all(&st, evs,
		  plan_show(&st, "weekly-20261124", "Deals night", T0, evs));
	st.viewers = 42;
	s = state_json(&st);
	assert_non_null(strstr(s, "\"viewers\":42"));
	assert_int_equal(shop_model_set_state(m, s, strlen(s), 0, &err), 0);
	free(s);
	shop_model_view(m, v);
	assert_int_equal(v->viewers, 42);
	assert_true(v->show_live);
	assert_string_equal(v->show_id, "weekly-20261124");
	assert_string_equal(v->show_title, "Deals night");
	assert_false(v->have_sales); /* until its report comes */
	assert_string_equal(shop_model_show_on_air(m), "weekly-20261124");

	/* no show, nobody watching */
	lshop_state_init(&st);
	s = state_json(&st);
	assert_non_null(strstr(s, "\"show\":null"));
	assert_non_null(strstr(s, "\"viewers\":0"));
	assert_int_equal(shop_model_set_state(m, s, strlen(s), 1, &err), 0);
	free(s);
	shop_model_view(m, v);
	assert_int_equal(v->viewers, 0);
	assert_false(v->show_live);
	assert_string_equal(v->show_title, "");
	free(v);
}

/* The unnumbered audience message: viewers move, the seq does not. */
static void test_audience(void **state)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	shop_view *v = calloc(1, sizeof(*v));
	lshop_error err;
	lshop_state st;
	int64_t n = -5;

	(void)state;
	lshop_state_init(&st);
	apply_all(&st, evs, plan_show(&st, "s1", "One", T0, evs));
	st.viewers = 3;
	put_state(&st, 0);

	assert_int_equal(shop_audience_parse("{\"viewers\":17}", 14, &n, &err),
			 0);
	assert_int_equal(n, 17);
	assert_int_equal(shop_model_set_viewers(m, n), 1);
	assert_int_equal(shop_model_set_viewers(m, n), 0); /* no change */
	assert_int_equal(m->server.seq, st.seq);
	shop_model_view(m, v);
	assert_int_equal(v->viewers, 17);
	/* kept through events, which never carry viewers */
	evs[0] = purchase_event(st.seq + 1, "a", 1);
	assert_int_equal(shop_model_apply_event(m, &evs[0]), SHOP_EVENT_SALE);
	shop_model_view(m, v);
	assert_int_equal(v->viewers, 17);
	assert_int_equal(m->server.seq, st.seq + 1);

	/* what is not {"viewers":N} is refused, n untouched */
	n = 99;
	assert_int_equal(shop_audience_parse("{\"viewers\":-1}", 14, &n, &err),
			 -1);
	assert_string_equal(err.field, "viewers");
	assert_int_equal(
	    shop_audience_parse("{\"viewers\":\"7\"}", 15, &n, &err), -1);
	assert_int_equal(shop_audience_parse("{}", 2, &n, &err), -1);
	assert_int_equal(shop_audience_parse("viewers", 7, &n, &err), -1);
	assert_string_equal(err.code, "invalid_json");
	assert_int_equal(n, 99);
	free(v);
}

/* show.started / show.ended from the stream; sales only for the show
 * on air. */
static void test_show_events_and_sales(void **state)
{
	const char *report =
	    "{\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:05:00.000Z\","
	    "\"show\":{\"id\":\"s1\",\"series\":\"weekly\",\"title\":\"One\","
	    "\"started_at\":\"2026-11-24T10:00:00.123Z\",\"ended_at\":null,"
	    "\"viewers_peak\":20,\"orders\":3,\"units\":4,\"gmv\":\"59.97\","
	    "\"currency\":\"EUR\",\"aov\":\"19.99\"},\"offers\":[]}";
	lshop_event evs[LSHOP_PLAN_MAX];
	shop_view *v = calloc(1, sizeof(*v));
	shop_show_sales sales;
	lshop_error err;
	lshop_state st, mine;
	size_t n;

	(void)state;
	lshop_state_init(&st);
	put_state(&st, 0);

	/* show.started */
	stream(&st, evs, plan_show(&st, "s1", "One", T0, evs));
	shop_model_view(m, v);
	assert_true(v->show_live);
	assert_string_equal(v->show_id, "s1");
	assert_string_equal(v->show_title, "One");

	/* its report */
	assert_int_equal(
	    shop_report_parse(report, strlen(report), &sales, &err), 0);
	assert_string_equal(sales.show_id, "s1");
	assert_int_equal(sales.orders, 3);
	assert_int_equal(sales.units, 4);
	assert_int_equal(sales.ngmv, 1);
	assert_string_equal(sales.gmv[0].amount, "59.97");
	assert_string_equal(sales.gmv[0].currency, "EUR");
	assert_int_equal(shop_model_put_sales(m, &sales), 1);
	shop_model_view(m, v);
	assert_true(v->have_sales);
	assert_int_equal(v->sales.orders, 3);
	assert_string_equal(v->sales.gmv[0].amount, "59.97");

	/* another show's report (one that ended meanwhile) is dropped */
	strcpy(sales.show_id, "s0");
	sales.orders = 99;
	assert_int_equal(shop_model_put_sales(m, &sales), 0);
	shop_model_view(m, v);
	assert_int_equal(v->sales.orders, 3);

	/* the next show: s1 ends, s2 starts; s1's sales are not s2's */
	n = plan_show(&st, "s2", "Two", T0 + 60000, evs);
	assert_int_equal(n, 2);
	assert_int_equal(evs[0].type, LSHOP_SHOW_ENDED);
	apply_all(&st, evs, n);
	assert_int_equal(shop_model_apply_event(m, &evs[0]), 0);
	shop_model_view(m, v);
	assert_false(v->show_live);
	assert_false(v->have_sales);
	assert_null(shop_model_show_on_air(m));
	assert_int_equal(shop_model_apply_event(m, &evs[1]), 0);
	shop_model_view(m, v);
	assert_true(v->show_live);
	assert_string_equal(v->show_title, "Two");
	assert_false(v->have_sales);

	/* show.ended alone: nothing on air */
	mine = st;
	memset(evs, 0, sizeof(evs));
	n = lshop_state_plan_show_end(&mine, "s2", T0 + 70000, evs, &err);
	assert_int_equal(n, 1);
	stream(&st, evs, n);
	shop_model_view(m, v);
	assert_false(v->show_live);
	assert_string_equal(v->show_id, "");
	free(v);
}

static void report_of(const char *show_fields, shop_show_sales *out, int rc,
		      lshop_error *err)
{
	char json[2048];

	snprintf(json, sizeof(json),
		 "{\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:05:00Z\","
		 "\"show\":{%s},\"offers\":[]}",
		 show_fields);
	if (shop_report_parse(json, strlen(json), out, err) != rc)
		fail_msg("%s: expected %d (%s)", json, rc, err->message);
}

/* The report's gmv: one sum, per currency, none yet, not known. */
static void test_report_gmv(void **state)
{
	shop_show_sales s;
	lshop_error err;

	(void)state;
	/* no orders yet: "0.00" in no currency */
	report_of("\"id\":\"s1\",\"orders\":0,\"units\":0,\"gmv\":\"0.00\","
		  "\"currency\":null",
		  &s, 0, &err);
	assert_int_equal(s.ngmv, 1);
	assert_string_equal(s.gmv[0].amount, "0.00");
	assert_string_equal(s.gmv[0].currency, "");

	/* mixed: gmv null, one sum per currency, in currency order */
	report_of("\"id\":\"s1\",\"orders\":3,\"units\":3,\"gmv\":null,"
		  "\"gmv_by_currency\":{\"USD\":\"2.00\",\"EUR\":\"1.00\"},"
		  "\"currency\":null",
		  &s, 0, &err);
	assert_int_equal(s.ngmv, 2);
	assert_string_equal(s.gmv[0].currency, "EUR");
	assert_string_equal(s.gmv[0].amount, "1.00");
	assert_string_equal(s.gmv[1].currency, "USD");
	assert_string_equal(s.gmv[1].amount, "2.00");

	/* not known (too many currencies for the server): no sum */
	report_of("\"id\":\"s1\",\"orders\":30,\"units\":31,\"gmv\":null,"
		  "\"currency\":null",
		  &s, 0, &err);
	assert_int_equal(s.ngmv, 0);
	assert_int_equal(s.orders, 30);
	/* more currencies than kept: a partial sum would mislead */
	report_of("\"id\":\"s1\",\"orders\":9,\"units\":9,\"gmv\":null,"
		  "\"gmv_by_currency\":{\"AAA\":\"1\",\"BBB\":\"1\","
		  "\"CCC\":\"1\",\"DDD\":\"1\",\"EEE\":\"1\",\"FFF\":\"1\","
		  "\"GGG\":\"1\",\"HHH\":\"1\",\"III\":\"1\"}",
		  &s, 0, &err);
	assert_int_equal(s.ngmv, 0);
	/* a sum of many prices: more digits than one price has */
	report_of("\"id\":\"s1\",\"orders\":1,\"units\":1,"
		  "\"gmv\":\"123456789012345.6789\",\"currency\":\"EUR\"",
		  &s, 0, &err);
	assert_string_equal(s.gmv[0].amount, "123456789012345.6789");

	/* refused */
	report_of("\"orders\":1,\"units\":1,\"gmv\":\"1.00\"", &s, -1, &err);
	assert_string_equal(err.field, "show");
	report_of("\"id\":\"s1\",\"orders\":-1,\"units\":1", &s, -1, &err);
	assert_string_equal(err.field, "orders");
	report_of("\"id\":\"s1\",\"orders\":1,\"units\":1,\"gmv\":\"1,00\"", &s,
		  -1, &err);
	assert_string_equal(err.field, "gmv");
	report_of("\"id\":\"s1\",\"orders\":1,\"units\":1,\"gmv\":1.5", &s, -1,
		  &err);
	assert_string_equal(err.field, "gmv");
	report_of("\"id\":\"s1\",\"orders\":1,\"units\":1,\"gmv\":\"1.\"", &s,
		  -1, &err);
	report_of("\"id\":\"s1\",\"orders\":1,\"units\":1,\"gmv\":\"1.00\","
		  "\"currency\":\"euro\"",
		  &s, -1, &err);
	report_of("\"id\":\"s1\",\"orders\":1,\"units\":1,\"gmv\":null,"
		  "\"gmv_by_currency\":{\"EUR\":1}",
		  &s, -1, &err);
	assert_string_equal(err.field, "gmv_by_currency");
	/* the whole stream's report (a server without ?show=) */
	assert_int_equal(
	    shop_report_parse("{\"stream\":\"live/demo\",\"offers\":[]}", 34,
			      &s, &err),
	    -1);
	assert_non_null(strstr(err.message, "report?show="));
	assert_int_equal(shop_report_parse("{", 1, &s, &err), -1);
	assert_string_equal(err.code, "invalid_json");
}

/* SPEC §15 */

static const char *const sizes[] = {"S", "M", "L"};

#define QUESTIONS_JSON                                                         \
	"{\"questions\":["                                                     \
	"{\"id\":\"q1\",\"text\":\"Does it ship to <b>Austria</b>?\","         \
	"\"name\":\"Eve\",\"at\":\"2026-11-24T10:00:01.000Z\",\"held\":false," \
	"\"session\":\"0123456789abcdef\"},"                                   \
	"{\"id\":\"q2\",\"text\":\"idiot question\",\"name\":\"\","            \
	"\"at\":\"2026-11-24T10:00:02.000Z\",\"held\":true,"                   \
	"\"session\":\"fedcba9876543210\"},"                                   \
	"{\"id\":\"q3\",\"text\":\"And to Italy?\",\"name\":\"Eve\","          \
	"\"at\":\"2026-11-24T10:00:03.000Z\",\"held\":false,"                  \
	"\"session\":\"0123456789abcdef\"}],\"blocked_sessions\":2}"

static void put_questions(const char *json)
{
	shop_questions *q = calloc(1, sizeof(*q));
	lshop_error err;

	assert_non_null(q);
	if (shop_questions_parse(json, strlen(json), q, &err) != 0)
		fail_msg("%s: %s", json, err.message);
	shop_model_put_questions(m, q);
	free(q);
}

/* The state's "question" and "poll" (with its live counts) reach the
 * view. */
static void test_state_question_and_poll(void **state)
{
	lshop_question q =
	    make_question("q7", "Which <b>size</b> fits?", "Eve", "Take M");
	lshop_poll p = make_poll("p5", "Which size?", 3, sizes);
	lshop_event evs[LSHOP_PLAN_MAX];
	shop_view *v = calloc(1, sizeof(*v));
	lshop_error err;
	lshop_state st;
	char *s;

	(void)state;
	lshop_state_init(&st);
	apply_all(&st, evs,
		  lshop_state_plan_question_pin(&st, &q, T0, evs, &err));
	apply_all(&st, evs,
		  lshop_state_plan_poll_start(&st, &p, 60, T0 + 10, evs, &err));
	st.poll.counts[0] = 3;
	st.poll.counts[1] = 5;
	s = state_json(&st);
	assert_non_null(strstr(s, "\"counts\":[3,5,0]"));
	assert_int_equal(shop_model_set_state(m, s, strlen(s), 0, &err), 0);
	free(s);
	shop_model_view(m, v);
	assert_true(v->question_pinned);
	assert_string_equal(v->question.id, "q7");
	assert_string_equal(v->question.text, "Which <b>size</b> fits?");
	assert_string_equal(v->question.name, "Eve");
	assert_string_equal(v->question.answer, "Take M");
	assert_true(v->poll_live);
	assert_true(v->poll_shown);
	assert_string_equal(v->poll.id, "p5");
	assert_int_equal(v->poll.options_n, 3);
	assert_string_equal(v->poll.options[2], "L");
	assert_int_equal(v->poll.counts[0], 3);
	assert_int_equal(v->poll.counts[1], 5);
	assert_int_equal(v->poll_votes, 8);
	assert_int_equal(v->poll.ends_at_ms, T0 + 10 + 60000);
	assert_int_equal(v->poll_ended_at_ms, 0);
	assert_int_equal(v->questions_waiting, -1); /* not asked yet */

	/* nothing open: both null */
	lshop_state_init(&st);
	s = state_json(&st);
	assert_non_null(strstr(s, "\"question\":null"));
	assert_non_null(strstr(s, "\"poll\":null"));
	assert_int_equal(shop_model_set_state(m, s, strlen(s), 1, &err), 0);
	free(s);
	shop_model_view(m, v);
	assert_false(v->question_pinned);
	assert_string_equal(v->question.text, "");
	assert_false(v->poll_shown);
	free(v);
}

/* question.* and poll.* from the stream, the live tally of the SSE
 * "poll" message, and the final counts of poll.ended. */
static void test_question_and_poll_events(void **state)
{
	lshop_question q = make_question("q1", "Ship?", "", NULL);
	lshop_poll p = make_poll("p3", "Colour?", 2, sizes), tally;
	lshop_event evs[LSHOP_PLAN_MAX];
	shop_view *v = calloc(1, sizeof(*v));
	lshop_error err;
	lshop_state st;
	int64_t votes = 0;
	size_t n;
	char *s;

	(void)state;
	lshop_state_init(&st);
	put_state(&st, 0);

	stream(&st, evs, lshop_state_plan_question_pin(&st, &q, T0, evs, &err));
	shop_model_view(m, v);
	assert_true(v->question_pinned);
	assert_string_equal(v->question.text, "Ship?");
	assert_string_equal(v->question.name, ""); /* anonymous */

	stream(&st, evs,
	       lshop_state_plan_question_unpin(&st, T0 + 1, evs, &err));
	shop_model_view(m, v);
	assert_false(v->question_pinned);

	stream(&st, evs,
	       lshop_state_plan_poll_start(&st, &p, 30, T0 + 2, evs, &err));
	shop_model_view(m, v);
	assert_true(v->poll_live);
	assert_int_equal(v->poll.counts[0], 0);

	/* the tally: SPEC §15's message, no seq */
	s = "{\"id\":\"p3\",\"counts\":[4,1],\"votes\":5}";
	assert_int_equal(
	    shop_poll_tally_parse(s, strlen(s), &tally, &votes, &err), 0);
	assert_int_equal(votes, 5);
	assert_int_equal(shop_model_set_poll_tally(m, &tally, votes), 1);
	assert_int_equal(shop_model_set_poll_tally(m, &tally, votes), 0);
	assert_int_equal(m->server.seq, st.seq);
	shop_model_view(m, v);
	assert_int_equal(v->poll.counts[0], 4);
	assert_int_equal(v->poll.counts[1], 1);
	assert_int_equal(v->poll_votes, 5);
	/* another poll's tally, or one of the wrong shape, is ignored */
	strcpy(tally.id, "p2");
	tally.counts[0] = 99;
	assert_int_equal(shop_model_set_poll_tally(m, &tally, 99), 0);
	strcpy(tally.id, "p3");
	tally.options_n = 3;
	assert_int_equal(shop_model_set_poll_tally(m, &tally, 99), 0);
	shop_model_view(m, v);
	assert_int_equal(v->poll.counts[0], 4);
	/* what is not a tally is refused */
	assert_int_equal(
	    shop_poll_tally_parse("{\"id\":\"p3\"}", 11, &tally, &votes, &err),
	    -1);
	assert_string_equal(err.field, "counts");
	s = "{\"id\":\"p3\",\"counts\":[1,-2]}";
	assert_int_equal(
	    shop_poll_tally_parse(s, strlen(s), &tally, &votes, &err), -1);
	s = "{\"id\":\"p 3\",\"counts\":[1,2]}";
	assert_int_equal(
	    shop_poll_tally_parse(s, strlen(s), &tally, &votes, &err), -1);
	assert_int_equal(shop_poll_tally_parse("[", 1, &tally, &votes, &err),
			 -1);
	assert_string_equal(err.code, "invalid_json");

	/* poll.ended: its final counts stay in the view, not running */
	n = lshop_state_plan_poll_end(&st, "p3", T0 + 3, evs, &err);
	assert_int_equal(n, 1);
	evs[0].poll.counts[0] = 6;
	evs[0].poll.counts[1] = 2;
	stream(&st, evs, n);
	shop_model_view(m, v);
	assert_false(v->poll_live);
	assert_true(v->poll_shown);
	assert_string_equal(v->poll.question, "Colour?");
	assert_int_equal(v->poll.counts[0], 6);
	assert_int_equal(v->poll.counts[1], 2);
	assert_int_equal(v->poll_votes, 8);
	assert_int_equal(v->poll_ended_at_ms, evs[0].at_ms);

	/* a new poll replaces the result */
	p = make_poll("p9", "Again?", 2, sizes);
	stream(&st, evs,
	       lshop_state_plan_poll_start(&st, &p, 30, T0 + 4, evs, &err));
	shop_model_view(m, v);
	assert_true(v->poll_live);
	assert_string_equal(v->poll.id, "p9");
	assert_int_equal(v->poll.counts[0], 0);
	assert_int_equal(v->poll_ended_at_ms, 0);
	free(v);
}

/* The host's question actions: shown at once, the waiting list follows,
 * sent to SPEC §15's paths. */
static void test_question_actions(void **state)
{
	shop_action a;
	shop_view *v = calloc(1, sizeof(*v));
	const shop_waiting_question *w;
	char path[128], *body;
	lshop_error err;
	lshop_state st;

	(void)state;
	lshop_state_init(&st);
	put_state(&st, 0);
	put_questions(QUESTIONS_JSON);
	assert_int_equal(m->questions->n, 3);
	assert_int_equal(m->questions->blocked_sessions, 2);
	w = shop_model_question(m, "q2");
	assert_non_null(w);
	assert_true(w->held);
	assert_string_equal(w->session, "fedcba9876543210");
	assert_int_equal(shop_model_question(m, "q1")->at_ms, T0 + 877);
	shop_model_view(m, v);
	assert_int_equal(v->questions_waiting, 3);

	/* pin q1 with an answer: on the view at once, out of the list */
	memset(&a, 0, sizeof(a));
	a.type = SHOP_ACTION_QUESTION_PIN;
	a.at_ms = T0 + 1000;
	a.send_at = 1;
	a.question = make_question("q1", shop_model_question(m, "q1")->text,
				   "Eve", "Yes, in 3 days");
	assert_int_equal(shop_model_act(m, &a, &err), 0);
	shop_model_view(m, v);
	assert_true(v->question_pinned);
	assert_string_equal(v->question.answer, "Yes, in 3 days");
	assert_null(shop_model_question(m, "q1"));
	assert_int_equal(m->questions->n, 2);
	assert_string_equal(shop_action_url(&a, path, sizeof(path)),
			    "questions/q1/pin");
	body = shop_action_body(&a);
	/* no "at": SPEC §15's calls happen when they arrive */
	assert_string_equal(body, "{\"answer\":\"Yes, in 3 days\"}");
	free(body);

	/* block Eve: q3 (hers too) goes with it, and stays gone when a
	 * list fetched before the server heard of it comes */
	memset(&a, 0, sizeof(a));
	a.type = SHOP_ACTION_QUESTION_BLOCK;
	a.at_ms = T0 + 2000;
	strcpy(a.question.id, "q3");
	strcpy(a.session, "0123456789abcdef");
	assert_int_equal(shop_model_act(m, &a, &err), 0);
	assert_int_equal(m->questions->n, 1);
	assert_string_equal(m->questions->q[0].id, "q2");
	assert_string_equal(shop_action_url(&a, path, sizeof(path)),
			    "questions/q3/block");
	put_questions(QUESTIONS_JSON);
	assert_int_equal(m->questions->n, 1);

	/* dismiss q2: no event comes of it, so its answer ends it */
	a.type = SHOP_ACTION_QUESTION_DISMISS;
	strcpy(a.question.id, "q2");
	a.session[0] = '\0';
	assert_int_equal(shop_model_act(m, &a, &err), 0);
	assert_int_equal(m->questions->n, 0);
	assert_int_equal(shop_model_pending(m), 3);
	shop_model_answered(m, 1); /* the pin: its event to come */
	assert_int_equal(shop_model_next(m)->type, SHOP_ACTION_QUESTION_BLOCK);
	shop_model_answered(m, 0);
	assert_int_equal(shop_model_next(m)->type,
			 SHOP_ACTION_QUESTION_DISMISS);
	shop_model_answered(m, 0);
	assert_null(shop_model_next(m));
	assert_int_equal(m->qlen, 1); /* the pin, until its event */

	/* unpin: refused with none pinned in the picture */
	memset(&a, 0, sizeof(a));
	a.type = SHOP_ACTION_QUESTION_UNPIN;
	a.at_ms = T0 + 3000;
	assert_int_equal(shop_model_act(m, &a, &err), 0);
	assert_int_equal(shop_model_act(m, &a, &err), -1);
	assert_string_equal(err.code, "not_pinned");
	assert_string_equal(shop_action_url(&a, path, sizeof(path)),
			    "unpin-question");
	body = shop_action_body(&a);
	assert_string_equal(body, "{}");
	free(body);
	/* with the moment of the press, as unpin (SPEC §5) */
	a.send_at = 1;
	body = shop_action_body(&a);
	assert_string_equal(body, "{\"at\":\"2026-11-24T10:00:03.123Z\"}");
	free(body);
	free(v);
}

/* A poll started here: the server names it, the queued end follows. */
static void test_poll_actions(void **state)
{
	shop_action s_, e;
	shop_view *v = calloc(1, sizeof(*v));
	char path[128], *body;
	lshop_error err;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.type = SHOP_ACTION_POLL_END;
	e.at_ms = T0 + 5000;
	assert_int_equal(shop_model_act(m, &e, &err), -1);
	assert_string_equal(err.code, "not_running");

	memset(&s_, 0, sizeof(s_));
	s_.type = SHOP_ACTION_POLL_START;
	s_.at_ms = T0;
	s_.seconds = 45;
	s_.poll = make_poll(SHOP_POLL_NEW_ID, "Red or \"blue\"?", 2, sizes);
	assert_int_equal(shop_model_act(m, &s_, &err), 0);
	shop_model_view(m, v);
	assert_true(v->poll_live);
	assert_int_equal(v->poll.ends_at_ms, T0 + 45000);
	assert_string_equal(shop_action_url(&s_, path, sizeof(path)), "polls");
	body = shop_action_body(&s_);
	assert_string_equal(body, "{\"question\":\"Red or \\\"blue\\\"?\","
				  "\"options\":[\"S\",\"M\"],\"seconds\":45}");
	free(body);

	strcpy(e.poll.id, SHOP_POLL_NEW_ID);
	assert_int_equal(shop_model_act(m, &e, &err), 0);
	shop_model_view(m, v);
	assert_false(v->poll_live);
	/* the start answered: the end names the server's poll */
	shop_model_poll_named(m, "p12");
	shop_model_answered(m, 12);
	assert_string_equal(shop_model_next(m)->poll.id, "p12");
	assert_string_equal(
	    shop_action_url(shop_model_next(m), path, sizeof(path)),
	    "polls/p12/end");
	assert_string_equal(shop_action_name(SHOP_ACTION_POLL_END), "end poll");
	assert_string_equal(shop_action_method(SHOP_ACTION_POLL_END), "POST");
	assert_true(shop_action_makes_event(SHOP_ACTION_POLL_END));
	assert_false(shop_action_makes_event(SHOP_ACTION_QUESTION_DISMISS));
	free(v);
}

/* GET questions and GET answers: checked, hostile text refused. */
static void test_questions_and_answers_parse(void **state)
{
	shop_questions *q = calloc(1, sizeof(*q));
	lshop_error err;
	const char *s;
	char *big;
	size_t i, len;

	(void)state;
	s = "{\"questions\":[],\"blocked_sessions\":0}";
	assert_int_equal(shop_questions_parse(s, strlen(s), q, &err), 0);
	assert_int_equal(q->n, 0);
	/* not clean viewer text (a CR, a bidi override), a bad session */
	s = "{\"questions\":[{\"id\":\"q1\",\"text\":\"a\\r\\nb\","
	    "\"session\":\"0123456789abcdef\"}]}";
	assert_int_equal(shop_questions_parse(s, strlen(s), q, &err), -1);
	assert_string_equal(err.field, "questions");
	assert_non_null(strstr(err.message, "question 1"));
	s = "{\"questions\":[{\"id\":\"q1\",\"text\":\"\\u202Eevil\"}]}";
	assert_int_equal(shop_questions_parse(s, strlen(s), q, &err), -1);
	s = "{\"questions\":[{\"id\":\"q1\",\"text\":\"ok\","
	    "\"session\":\"XYZ\"}]}";
	assert_int_equal(shop_questions_parse(s, strlen(s), q, &err), -1);
	s = "{\"questions\":[{\"id\":\"q 1\",\"text\":\"ok\"}]}";
	assert_int_equal(shop_questions_parse(s, strlen(s), q, &err), -1);
	assert_int_equal(shop_questions_parse("{}", 2, q, &err), -1);
	assert_int_equal(shop_questions_parse("{", 1, q, &err), -1);
	assert_string_equal(err.code, "invalid_json");

	/* more than kept: the oldest SHOP_QUESTIONS_MAX */
	len = 64 + (SHOP_QUESTIONS_MAX + 5) * 64;
	big = malloc(len);
	assert_non_null(big);
	strcpy(big, "{\"questions\":[");
	for (i = 0; i < SHOP_QUESTIONS_MAX + 5; i++)
		snprintf(big + strlen(big), len - strlen(big),
			 "%s{\"id\":\"q%zu\",\"text\":\"Q %zu\"}", i ? "," : "",
			 i, i);
	strcat(big, "]}");
	assert_int_equal(shop_questions_parse(big, strlen(big), q, &err), 0);
	assert_int_equal(q->n, SHOP_QUESTIONS_MAX);
	assert_string_equal(q->q[0].id, "q0");
	free(big);

	s = "{\"answers\":[{\"id\":\"ship\",\"question\":\"Shipping?\","
	    "\"answer\":\"Free over 50 \xE2\x82\xAC\"},{\"id\":\"size\","
	    "\"question\":\"Sizes?\",\"answer\":\"S to XL\"}]}";
	assert_int_equal(shop_answers_parse(s, strlen(s), q, &err), 0);
	assert_int_equal(q->nanswers, 2);
	assert_string_equal(q->answers[0].id, "ship");
	assert_string_equal(q->answers[0].answer, "Free over 50 \xE2\x82\xAC");
	shop_model_put_answers(m, q);
	assert_non_null(shop_model_answer(m, "size"));
	assert_null(shop_model_answer(m, "nope"));
	s = "{\"answers\":[{\"question\":\"Shipping?\",\"answer\":\"x\"}]}";
	assert_int_equal(shop_answers_parse(s, strlen(s), q, &err), -1);
	s = "{\"answers\":[{\"id\":\"a\",\"question\":\"\",\"answer\":\"x\"}]}";
	assert_int_equal(shop_answers_parse(s, strlen(s), q, &err), -1);
	assert_non_null(strstr(err.message, "saved answer 1"));
	free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_actions_show_at_once_and_queue_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_actions_change_nothing,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue_full, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_server_state_and_events, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_answered_waits_for_its_event,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_catalog, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_action_bodies, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_state_show_and_viewers, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_audience, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_show_events_and_sales, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_report_gmv, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state_question_and_poll, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_question_and_poll_events,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_question_actions, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_poll_actions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_questions_and_answers_parse,
					    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
