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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_minimal),  cmocka_unit_test(test_offer),
	    cmocka_unit_test(test_duration), cmocka_unit_test(test_at),
	    cmocka_unit_test(test_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
