/*
 * Errors as values (error.h).
 */
#include <jansson.h>

#include "lshop/error.h"

#include "testutil.h"

static void test_set_and_clear(void **state)
{
	lshop_error err;

	(void)state;
	lshop_error_set(&err, "invalid_field", "price", "%s must be %d",
			"price", 42);
	assert_string_equal(err.code, "invalid_field");
	assert_string_equal(err.field, "price");
	assert_string_equal(err.message, "price must be 42");
	lshop_error_clear(&err);
	assert_string_equal(err.code, "");
	assert_string_equal(err.field, "");
	assert_string_equal(err.message, "");
	/* A NULL error is allowed everywhere. */
	lshop_error_set(NULL, "x", "y", "z");
	lshop_error_clear(NULL);
}

static void test_json_shape(void **state)
{
	lshop_error err;
	json_error_t jerr;
	json_t *v;
	char *s;

	(void)state;
	lshop_error_set(&err, "invalid_field", "title",
			"title \"x\" must be <120 characters\n");
	s = lshop_error_json(&err);
	assert_non_null(s);
	assert_string_equal(
	    s, "{\"error\":{\"code\":\"invalid_field\",\"field\":\"title\","
	       "\"message\":\"title \\\"x\\\" must be <120 "
	       "characters\\n\"}}");
	v = json_loads(s, 0, &jerr);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(v, "error"), "message")),
			    err.message);
	json_decref(v);
	free(s);
}

static void test_truncated_utf8_stays_valid(void **state)
{
	lshop_error err;
	char *long_msg = repeat("\xc3\xa9", 400); /* é × 400 */
	json_t *v;
	char *s;

	(void)state;
	/* 255 bytes of message would cut an "é" in half. */
	lshop_error_set(&err, "c", "f\xff", "x%s", long_msg);
	assert_true(strlen(err.message) < sizeof(err.message));
	assert_string_equal(err.field, "f?");
	s = lshop_error_json(&err);
	assert_non_null(s);
	v = json_loads(s, 0, NULL);
	assert_non_null(v);
	json_decref(v);
	free(s);
	free(long_msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_set_and_clear),
	    cmocka_unit_test(test_json_shape),
	    cmocka_unit_test(test_truncated_utf8_stays_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
