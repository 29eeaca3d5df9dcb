/*
 * Time: RFC 3339 with milliseconds (time.h).
 */
#include "lshop/time.h"

#include "testutil.h"

static void check_format(int64_t ms, const char *want)
{
	char out[LSHOP_TIME_LEN];

	memset(out, 'x', sizeof(out));
	assert_int_equal(lshop_time_format(out, ms), 24);
	assert_string_equal(out, want);
}

static void test_format(void **state)
{
	(void)state;
	check_format(0, "1970-01-01T00:00:00.000Z");
	check_format(INT64_C(1795514400123), "2026-11-24T10:00:00.123Z");
	check_format(INT64_C(1709251199999), "2024-02-29T23:59:59.999Z");
	check_format(INT64_C(1764000000123), "2025-11-24T16:00:00.123Z");
	check_format(-1, "1969-12-31T23:59:59.999Z");
	check_format(INT64_C(253402300799999), "9999-12-31T23:59:59.999Z");
	check_format(INT64_C(-62167219200000), "0000-01-01T00:00:00.000Z");
	/* Outside four-digit years the time is clamped, never overflowed. */
	check_format(INT64_MAX, "9999-12-31T23:59:59.999Z");
	check_format(INT64_MIN, "0000-01-01T00:00:00.000Z");
}

static void check_parse(const char *s, int64_t want)
{
	int64_t ms = -42;

	assert_int_equal(lshop_time_parse(s, strlen(s), &ms), 0);
	assert_true(ms == want);
}

static void test_parse(void **state)
{
	const int64_t t = INT64_C(1795514400123);

	(void)state;
	check_parse("2026-11-24T10:00:00.123Z", t);
	check_parse("2026-11-24t10:00:00.123z", t);
	check_parse("2026-11-24T11:00:00.123+01:00", t);
	check_parse("2026-11-24T04:30:00.123-05:30", t);
	check_parse("2026-11-24T10:00:00.123+00:00", t);
	check_parse("2026-11-24T10:00:00.123-00:00", t);
	check_parse("2026-11-24T10:00:00.123999999Z", t); /* truncated */
	check_parse("2026-11-24T10:00:00Z", t - 123);
	check_parse("2026-11-24T10:00:00.1Z", t - 23);
	check_parse("2026-11-24T10:00:00.12Z", t - 3);
	check_parse("1970-01-01T00:00:00.000Z", 0);
	check_parse("1969-12-31T23:59:59.999Z", -1);
	check_parse("2024-02-29T23:59:59.999Z", INT64_C(1709251199999));
	check_parse("2000-02-29T00:00:00Z", INT64_C(951782400000));
	check_parse("2026-11-24T23:30:00+23:59", t - 123 + 13 * 3600000 +
						     1800000 - 23 * 3600000 -
						     59 * 60000);
}

static void test_parse_rejects(void **state)
{
	static const char *const bad[] = {
	    "",
	    "garbage",
	    "2026-11-24",
	    "2026-11-24T10:00:00",    /* no zone */
	    "2026-11-24T10:00Z",      /* no seconds */
	    "2026-11-24 10:00:00Z",   /* RFC 3339 wants T */
	    "2026-11-24T10:00:00.Z",  /* empty fraction */
	    "2026-11-24T10:00:00,5Z", /* comma fraction */
	    "2026-11-24T10:00:00ZZ",  /* trailing junk */
	    "2026-11-24T10:00:00Z ",
	    " 2026-11-24T10:00:00Z",
	    "2026-11-24T10:00:00+0100",
	    "2026-11-24T10:00:00+01",
	    "2026-11-24T10:00:00+24:00",
	    "2026-11-24T10:00:00+01:60",
	    "2026-00-24T10:00:00Z",
	    "2026-13-24T10:00:00Z",
	    "2026-11-00T10:00:00Z",
	    "2026-11-31T10:00:00Z",
	    "2026-02-29T10:00:00Z", /* not a leap year */
	    "1900-02-29T10:00:00Z", /* not a leap year either */
	    "2026-04-31T10:00:00Z",
	    "2026-11-24T24:00:00Z",
	    "2026-11-24T10:60:00Z",
	    "2026-11-24T10:00:60Z", /* leap seconds: no Unix time */
	    "2026-11-24T1:00:00Z",
	    "26-11-24T10:00:00Z",
	    "+2026-11-24T10:00:00Z",
	    "2026-1a-24T10:00:00Z",
	    "2026-11-24T10:00:00.123",
	    "2026/11/24T10:00:00Z",
	    "2026-11-24T10:00:00.-1Z",
	    "2026-11-24T10:00:00+-1:00",
	};
	int64_t ms = 7;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(lshop_time_parse(bad[i], strlen(bad[i]), &ms),
				 -1);
		assert_true(ms == 7);
	}
	/* The length bounds the text: a cut time is not a time. */
	assert_int_equal(lshop_time_parse("2026-11-24T10:00:00.123Z", 23, &ms),
			 -1);
	assert_int_equal(lshop_time_parse("2026-11-24T10:00:00Z\0", 21, &ms),
			 -1);
	assert_int_equal(lshop_time_parse(NULL, 0, &ms), -1);
}

static void test_round_trip(void **state)
{
	char out[LSHOP_TIME_LEN];
	int64_t ms, back;

	(void)state;
	for (ms = INT64_C(-2208988800000); ms < INT64_C(4102444800000);
	     ms += INT64_C(86399999) * 97 + 13) {
		lshop_time_format(out, ms);
		assert_int_equal(lshop_time_parse(out, strlen(out), &back), 0);
		assert_true(back == ms);
	}
}

static void test_now(void **state)
{
	int64_t a, b;

	(void)state;
	a = lshop_now_ms();
	b = lshop_now_ms();
	assert_true(a > INT64_C(1600000000000)); /* after 2020 */
	assert_true(b >= a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_parse_rejects),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_now),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
