/*
 * Bodies of the control calls (request.h).
 */
#include "lshop/request.h"
#include "lshop/time.h"

#include "testutil.h"

#define NOW INT64_C(1795514400123) /* 2026-11-24T10:00:00.123Z */

static void expect_ok(const char *json, lshop_pin_request *req)
{
	lshop_error err;

	if (lshop_pin_request_parse(json, strlen(json), NOW, req, &err) != 0)
		fail_msg("%s: %s", json, err.message);
}

static void expect_err(const char *json, const char *code, const char *field)
{
	lshop_pin_request req;
	lshop_error err;

	memset(&req, 0x33, sizeof(req));
	if (lshop_pin_request_parse(json, strlen(json), NOW, &req, &err) == 0)
		fail_msg("accepted %s", json);
	assert_string_equal(err.code, code);
	assert_string_equal(err.field, field);
	assert_true(strlen(err.message) > 10);
	assert_int_equal(((unsigned char *)&req)[0], 0x33);
}

static void test_minimal(void **state)
{
	lshop_pin_request req;

	(void)state;
	expect_ok("{\"offer\":\"sku-123\"}", &req);
	assert_string_equal(req.offer_id, "sku-123");
	assert_true(req.duration_s == 0);
	assert_true(req.at_ms == NOW);
	expect_ok("{\"offer\":\"sku-123\",\"duration\":null,\"at\":null}",
		  &req);
	assert_true(req.duration_s == 0);
	assert_true(req.at_ms == NOW);
}

static void test_offer(void **state)
{
	(void)state;
	expect_err("{}", "missing_field", "offer");
	expect_err("{\"duration\":5}", "missing_field", "offer");
	expect_err("{\"offer\":\"\"}", "invalid_field", "offer");
	expect_err("{\"offer\":\"a b\"}", "invalid_field", "offer");
	expect_err("{\"offer\":12}", "invalid_field", "offer");
	expect_err("{\"offer\":\"\xff\"}", "invalid_field", "offer");
}

static void test_duration(void **state)
{
	lshop_pin_request req;

	(void)state;
	expect_ok("{\"offer\":\"a\",\"duration\":120}", &req);
	assert_true(req.duration_s == 120);
	expect_ok("{\"offer\":\"a\",\"duration\":1}", &req);
	assert_true(req.duration_s == 1);
	expect_ok("{\"offer\":\"a\",\"duration\":86400}", &req);
	assert_true(req.duration_s == LSHOP_PIN_DURATION_MAX);
	expect_err("{\"offer\":\"a\",\"duration\":0}", "invalid_field",
		   "duration");
	expect_err("{\"offer\":\"a\",\"duration\":86401}", "invalid_field",
		   "duration");
	expect_err("{\"offer\":\"a\",\"duration\":-5}", "invalid_field",
		   "duration");
	expect_err("{\"offer\":\"a\",\"duration\":1.5}", "invalid_field",
		   "duration");
	expect_err("{\"offer\":\"a\",\"duration\":\"120\"}", "invalid_field",
		   "duration");
	expect_err("{\"offer\":\"a\",\"duration\":true}", "invalid_field",
		   "duration");
}

static char *with_at(int64_t ms)
{
	char t[LSHOP_TIME_LEN];

	lshop_time_format(t, ms);
	return fmt("{\"offer\":\"a\",\"at\":\"%s\"}", t);
}

static void test_at(void **state)
{
	lshop_pin_request req;
	char *s;

	(void)state;
	/* SPEC §5: up to 10 s in the past; 1 s of skew ahead. */
	s = with_at(NOW - LSHOP_AT_PAST_MAX);
	expect_ok(s, &req);
	assert_true(req.at_ms == NOW - 10000);
	free(s);
	s = with_at(NOW + LSHOP_AT_FUTURE_MAX);
	expect_ok(s, &req);
	assert_true(req.at_ms == NOW + 1000);
	free(s);
	s = with_at(NOW - LSHOP_AT_PAST_MAX - 1);
	expect_err(s, "invalid_field", "at");
	free(s);
	s = with_at(NOW + LSHOP_AT_FUTURE_MAX + 1);
	expect_err(s, "invalid_field", "at");
	free(s);
	expect_ok("{\"offer\":\"a\",\"at\":\"2026-11-24T11:59:55.123+02:00\"}",
		  &req);
	assert_true(req.at_ms == NOW - 5000);
	expect_err("{\"offer\":\"a\",\"at\":\"now\"}", "invalid_field", "at");
	expect_err("{\"offer\":\"a\",\"at\":1795514400}", "invalid_field",
		   "at");
	expect_err("{\"offer\":\"a\",\"at\":\"2026-11-24T10:00:00\"}",
		   "invalid_field", "at");
}

static void test_shape(void **state)
{
	(void)state;
	expect_err("{\"offer\":\"a\",\"seconds\":5}", "unknown_field",
		   "seconds");
	expect_err("[]", "invalid_json", "");
	expect_err("", "invalid_json", "");
	expect_err("{\"offer\":\"a\",\"offer\":\"b\"}", "invalid_json", "");
	expect_err("{\"offer\":\"a\"", "invalid_json", "");
}

static void countdown_err(const char *json, const char *code, const char *field)
{
	lshop_countdown_request req;
	lshop_error err;

	if (lshop_countdown_request_parse(json, strlen(json), NOW, &req,
					  &err) == 0)
		fail_msg("accepted: %s", json);
	assert_string_equal(err.code, code);
	assert_string_equal(err.field, field);
}

static void test_countdown(void **state)
{
	lshop_countdown_request req;
	lshop_error err;
	const char *ok = "{\"seconds\":300,\"label\":\"Nur noch \\\"kurz\\\"\","
			 "\"offer\":\"sku-123\"}";
	char *s, *e60, *e61;

	(void)state;
	assert_int_equal(
	    lshop_countdown_request_parse(ok, strlen(ok), NOW, &req, &err), 0);
	assert_true(req.seconds == 300);
	assert_string_equal(req.label, "Nur noch \"kurz\"");
	assert_string_equal(req.offer_id, "sku-123");
	assert_true(req.at_ms == NOW);

	assert_int_equal(lshop_countdown_request_parse("{\"seconds\":1}", 13,
						       NOW, &req, &err),
			 0);
	assert_string_equal(req.label, "");
	assert_string_equal(req.offer_id, "");

	countdown_err("{}", "missing_field", "seconds");
	countdown_err("{\"seconds\":0}", "invalid_field", "seconds");
	countdown_err("{\"seconds\":86401}", "invalid_field", "seconds");
	countdown_err("{\"seconds\":1.5}", "invalid_field", "seconds");
	countdown_err("{\"seconds\":\"60\"}", "invalid_field", "seconds");
	countdown_err("{\"seconds\":60,\"offer\":\"a b\"}", "invalid_field",
		      "offer");
	countdown_err("{\"seconds\":60,\"label\":7}", "invalid_field", "label");
	countdown_err("{\"seconds\":60,\"labels\":\"x\"}", "unknown_field",
		      "labels");
	countdown_err("{\"seconds\":60,\"at\":\"2020-01-01T00:00:00Z\"}",
		      "invalid_field", "at");

	/* 60 characters of label pass, 61 do not */
	e60 = repeat("\xc3\xa9", 60);
	e61 = repeat("\xc3\xa9", 61);
	s = fmt("{\"seconds\":60,\"label\":\"%s\"}", e60);
	assert_int_equal(lshop_countdown_request_parse(s, strlen(s), NOW, &req,
						       &err),
			 0);
	free(s);
	s = fmt("{\"seconds\":60,\"label\":\"%s\"}", e61);
	countdown_err(s, "invalid_field", "label");
	free(s);
	free(e60);
	free(e61);
}

static void disclosure_err(const char *json, const char *code,
			   const char *field)
{
	lshop_disclosure_request req;
	lshop_error err;

	if (lshop_disclosure_request_parse(json, strlen(json), NOW, &req,
					   &err) == 0)
		fail_msg("accepted: %s", json);
	assert_string_equal(err.code, code);
	assert_string_equal(err.field, field);
}

static void test_disclosure(void **state)
{
	lshop_disclosure_request req;
	lshop_error err;
	const char *ok = "{\"kind\":\"ad\",\"text\":\"Anzeige\"}";

	(void)state;
	assert_int_equal(
	    lshop_disclosure_request_parse(ok, strlen(ok), NOW, &req, &err), 0);
	assert_string_equal(req.kind, "ad");
	assert_string_equal(req.text, "Anzeige");
	assert_int_equal(lshop_disclosure_request_parse("{\"kind\":\"own\"}",
							14, NOW, &req, &err),
			 0);
	assert_string_equal(req.text, "");

	disclosure_err("{}", "missing_field", "kind");
	disclosure_err("{\"kind\":\"advert\"}", "invalid_field", "kind");
	disclosure_err("{\"kind\":\"ad\",\"text\":\"\"}", "invalid_field",
		       "text");
	disclosure_err("{\"kind\":\"ad\",\"text\":\"\xff\"}", "invalid_field",
		       "text");
	disclosure_err("{\"kind\":\"ad\",\"colour\":\"red\"}", "unknown_field",
		       "colour");
	disclosure_err("[]", "invalid_json", "");
}

/* unpin and hiding a disclosure: no body, or only "at" */
static void test_moment(void **state)
{
	const char *moment = "{\"at\":\"2026-11-24T09:59:55.123Z\"}";
	lshop_error err;
	int64_t at = 7;
	const char *bad[][2] = {
		{"{\"at\":\"2026-11-24T09:59:40.000Z\"}", "at"},
		{"{\"at\":1}", "at"},
		{"{\"offer\":\"a\"}", "offer"},
		{"[]", ""},
		{"{", ""},
	};
	size_t i;

	(void)state;
	assert_int_equal(lshop_moment_request_parse("", 0, NOW, &at, &err), 0);
	assert_true(at == NOW);
	assert_int_equal(lshop_moment_request_parse("{}", 2, NOW, &at, &err),
			 0);
	assert_true(at == NOW);
	assert_int_equal(lshop_moment_request_parse(moment, strlen(moment), NOW,
						    &at, &err),
			 0);
	assert_true(at == NOW - 5000);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		at = 7;
		if (lshop_moment_request_parse(bad[i][0], strlen(bad[i][0]), NOW,
					       &at, &err) == 0)
			fail_msg("accepted %s", bad[i][0]);
		assert_string_equal(err.field, bad[i][1]);
		assert_true(at == 7);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_minimal),    cmocka_unit_test(test_offer),
	    cmocka_unit_test(test_duration),   cmocka_unit_test(test_at),
	    cmocka_unit_test(test_shape),      cmocka_unit_test(test_countdown),
	    cmocka_unit_test(test_disclosure), cmocka_unit_test(test_moment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
