/*
 * The local picture and the queue (shop-model.c): actions checked with
 * the core's rules and shown at once, kept in order, answered, refused;
 * the server's state and events; stock, purchases and the catalog.
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
	char *s;
	int i;

	(void)state;
	lshop_state_init(&st);
	apply_all(&st, evs,
		  lshop_state_plan_pin(&st, &a, T0, 0, "en", evs, &err));
	s = state_json(&st);
	assert_int_equal(shop_model_set_state(m, s, strlen(s), 0, &err), 0);
	free(s);
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
		assert_int_equal(shop_model_apply_event(m, &ev), 0);
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
	s = state_json(&st);
	assert_int_equal(shop_model_set_state(m, s, strlen(s), 0, &err), 0);
	free(s);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
