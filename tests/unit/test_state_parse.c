/*
 * The state's JSON read back (lshop_state_parse): what lshop_state_to_json
 * writes comes back as the same timeline, and a state that breaks a rule
 * is refused naming the field.
 */
#include "lshop/state.h"

#include "timeline.h"

static char *state_json(const timeline *tl, const lshop_stock_entry *stock,
			size_t n)
{
	char *s =
	    lshop_state_to_json(&tl->st, STREAM, T0 + 99000, stock, n, NULL);

	assert_non_null(s);
	return s;
}

static void test_empty_state(void **state)
{
	lshop_stock_value stock[4];
	char stream[LSHOP_STREAM_MAX + 1];
	lshop_error err;
	lshop_state st;
	size_t n = 99;
	timeline tl;
	char *s;

	(void)state;
	tl_init(&tl);
	s = state_json(&tl, NULL, 0);
	memset(&st, 0xff, sizeof(st));
	assert_int_equal(
	    lshop_state_parse(s, strlen(s), &st, stream, stock, 4, &n, &err),
	    0);
	assert_string_equal(stream, STREAM);
	assert_int_equal(st.seq, 0);
	assert_false(st.pinned || st.countdown || st.disclosure);
	assert_int_equal(n, 0);
	free(s);
	tl_free(&tl);
}

/* A pin of an offer with a disclosure, a countdown tied to it, stock. */
static void test_round_trip(void **state)
{
	lshop_offer a = make_offer("sku-a", "19.99", "ad");
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_stock_entry stock_in[] = {{"sku-a", 7}, {"sku-b", 0}};
	lshop_stock_value stock[4];
	lshop_error err;
	lshop_state st;
	size_t n;
	timeline tl;
	char *s;

	(void)state;
	a.stock = 7;
	strcpy(a.compare_at, "29.99");
	tl_init(&tl);
	tl_apply(
	    &tl, evs,
	    lshop_state_plan_pin(&tl.st, &a, T0, T0 + 60000, "de", evs, &err));
	tl_apply(&tl, evs,
		 lshop_state_plan_countdown(&tl.st, T0 + 1000, 30, "Nur heute",
					    "sku-a", evs, &err));
	s = state_json(&tl, stock_in, 2);
	assert_int_equal(
	    lshop_state_parse(s, strlen(s), &st, NULL, stock, 4, &n, &err), 0);
	assert_int_equal(st.seq, tl.st.seq);
	assert_true(st.pinned);
	assert_int_equal(st.pin_seq, tl.st.pin_seq);
	assert_int_equal(st.pin_at_ms, T0);
	assert_int_equal(st.pin_until_ms, T0 + 60000);
	assert_memory_equal(&st.offer, &tl.st.offer, sizeof(st.offer));
	assert_true(st.countdown);
	assert_int_equal(st.countdown_seq, tl.st.countdown_seq);
	assert_int_equal(st.countdown_ends_at_ms, T0 + 31000);
	assert_string_equal(st.countdown_label, "Nur heute");
	assert_string_equal(st.countdown_offer_id, "sku-a");
	assert_true(st.disclosure);
	assert_string_equal(st.disclosure_kind, "ad");
	assert_string_equal(st.disclosure_text, "Anzeige");
	/* shown right before the pin, of its kind: tied to it */
	assert_string_equal(st.disclosure_offer_id, "sku-a");
	assert_int_equal(n, 2);
	assert_string_equal(stock[0].offer_id, "sku-a");
	assert_int_equal(stock[0].stock, 7);
	assert_string_equal(stock[1].offer_id, "sku-b");
	assert_int_equal(stock[1].stock, 0);

	/* unpinning the parsed state hides the tied disclosure, as the
	 * server's own state would */
	n = lshop_state_plan_unpin(&st, T0 + 2000, evs, &err);
	assert_int_equal(n, 2);
	assert_int_equal(evs[1].type, LSHOP_DISCLOSURE_HIDDEN);
	free(s);

	/* only cap stock entries are written */
	s = state_json(&tl, stock_in, 2);
	assert_int_equal(
	    lshop_state_parse(s, strlen(s), &st, NULL, stock, 1, &n, &err), 0);
	assert_int_equal(n, 1);
	free(s);
	tl_free(&tl);
}

/* A stream-wide disclosure shown long before the pin is not tied. */
static void test_stream_wide_disclosure(void **state)
{
	lshop_offer a = make_offer("sku-a", "19.99", "ad");
	lshop_offer p = make_offer("sku-p", "1", NULL);
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	lshop_state st;
	timeline tl;
	char *s;

	(void)state;
	tl_init(&tl);
	tl_apply(&tl, evs,
		 lshop_state_plan_disclose(&tl.st, T0, "ad", "Werbung", "en",
					   evs, &err));
	tl_apply(&tl, evs,
		 lshop_state_plan_pin(&tl.st, &p, T0 + 1, 0, "en", evs, &err));
	tl_apply(&tl, evs,
		 lshop_state_plan_pin(&tl.st, &a, T0 + 2, 0, "en", evs, &err));
	s = state_json(&tl, NULL, 0);
	assert_int_equal(
	    lshop_state_parse(s, strlen(s), &st, NULL, NULL, 0, NULL, &err), 0);
	assert_string_equal(st.disclosure_offer_id, "");
	assert_string_equal(st.disclosure_text, "Werbung");
	assert_int_equal(st.pin_edge_ms, T0 + 2);
	free(s);
	tl_free(&tl);
}

static void refused(const char *json, const char *code, const char *field)
{
	lshop_error err;
	lshop_state st;

	lshop_state_init(&st);
	st.seq = 42;
	assert_int_equal(lshop_state_parse(json, strlen(json), &st, NULL, NULL,
					   0, NULL, &err),
			 -1);
	assert_string_equal(err.code, code);
	assert_string_equal(err.field, field);
	assert_true(strlen(err.message) > 10);
	assert_int_equal(st.seq, 42); /* unchanged */
}

static void test_refusals(void **state)
{
	(void)state;
	refused("", "invalid_json", "");
	refused("[1]", "invalid_json", "");
	refused("{\"stream\":\"live/demo\",\"seq\":1,\"bogus\":1}",
		"unknown_field", "bogus");
	refused("{\"seq\":1}", "invalid_field", "stream");
	refused("{\"stream\":\"nope\",\"seq\":1}", "invalid_field", "stream");
	refused("{\"stream\":\"live/demo\",\"seq\":-1}", "invalid_field",
		"seq");
	refused("{\"stream\":\"live/demo\",\"seq\":\"1\"}", "invalid_field",
		"seq");
	refused("{\"stream\":\"live/demo\",\"seq\":3,\"pinned\":5}",
		"invalid_field", "pinned");
	/* the interval's event is of another stream, or after seq */
	refused("{\"stream\":\"live/demo\",\"seq\":3,\"pinned\":{\"id\":"
		"\"live/other:2\",\"since\":\"2026-11-24T10:00:00.123Z\","
		"\"offer\":{}}}",
		"invalid_field", "pinned.id");
	refused("{\"stream\":\"live/demo\",\"seq\":3,\"pinned\":{\"id\":"
		"\"live/demo:4\",\"since\":\"2026-11-24T10:00:00.123Z\","
		"\"offer\":{}}}",
		"invalid_field", "pinned.id");
	refused("{\"stream\":\"live/demo\",\"seq\":3,\"pinned\":{\"id\":"
		"\"live/demo:2\",\"since\":\"yesterday\",\"offer\":{}}}",
		"invalid_field", "pinned.since");
	refused("{\"stream\":\"live/demo\",\"seq\":3,\"pinned\":{\"id\":"
		"\"live/demo:2\",\"since\":\"2026-11-24T10:00:00.123Z\","
		"\"offer\":{\"id\":\"x\"}}}",
		"missing_field", "pinned.offer.title");
	refused("{\"stream\":\"live/demo\",\"seq\":3,\"disclosure\":{\"id\":"
		"\"live/demo:2\",\"since\":\"2026-11-24T10:00:00.123Z\","
		"\"kind\":\"secret\",\"text\":\"x\"}}",
		"invalid_field", "disclosure.kind");
	refused("{\"stream\":\"live/demo\",\"seq\":3,\"countdown\":{\"id\":"
		"\"live/demo:2\",\"since\":\"2026-11-24T10:00:00.123Z\","
		"\"ends_at\":\"2026-11-24T10:00:01.123Z\",\"label\":7}}",
		"invalid_field", "countdown.label");
	refused("{\"stream\":\"live/demo\",\"seq\":3,\"stock\":{\"a b\":1}}",
		"invalid_field", "stock.a b");
	refused("{\"stream\":\"live/demo\",\"seq\":3,\"stock\":{\"ab\":-2}}",
		"invalid_field", "stock.ab");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_state),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_stream_wide_disclosure),
	    cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
