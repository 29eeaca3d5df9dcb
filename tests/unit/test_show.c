/*
 * Shows (SPEC §14): every field's rule, the recurrence (RFC 5545 RRULE
 * subset), which show a publish starts, broadcasts, and the calendar
 * (RFC 5545). tests/unit/check_ics.py reads the calendar with another
 * implementation.
 */
#include <jansson.h>

#include "lshop/codec.h"
#include "lshop/show.h"
#include "lshop/time.h"

#include "testutil.h"

/* From shared/src/internal.h (not installed): what event.c reads a
 * show.started event's show with. */
int lshop_show_from_object(const json_t *obj, const char *expect_id,
			   int broadcast, const char *prefix, lshop_show *show,
			   lshop_error *err);

#define MIN_MS  INT64_C(60000)
#define HOUR_MS INT64_C(3600000)
#define DAY_MS  INT64_C(86400000)

static const char *const base_keys[] = {"id",        "title",     "host",
					"starts_at", "duration",  "rrule",
					"offers",    "commission"};
static const char *const base_values[] = {
    "\"weekly-tea\"",           "\"Tea time\"", "\"Ana\"",
    "\"2026-11-26T19:00:00Z\"", "3600",         "\"FREQ=WEEKLY;BYDAY=TH\"",
    "[\"sku-1\",\"sku-2\"]",    "\"0.10\""};
#define N_BASE 8

static const char base_json[] =
    "{\"id\":\"weekly-tea\",\"title\":\"Tea time\",\"host\":\"Ana\","
    "\"starts_at\":\"2026-11-26T19:00:00.000Z\",\"duration\":3600,"
    "\"rrule\":\"FREQ=WEEKLY;BYDAY=TH\",\"offers\":[\"sku-1\",\"sku-2\"],"
    "\"commission\":\"0.10\"}";

static int64_t at(const char *rfc3339)
{
	int64_t ms = 0;

	if (lshop_time_parse(rfc3339, strlen(rfc3339), &ms))
		fail_msg("bad time in the test: %s", rfc3339);
	return ms;
}

/* The base show with key set to the raw JSON value raw (NULL: left out);
 * a key not in the base is added at the end. */
static char *show_with(const char *key, const char *raw)
{
	size_t cap = 4096 + (raw ? strlen(raw) : 0), n = 0, i;
	char *out = malloc(cap);
	int found = 0;

	assert_non_null(out);
	n += (size_t)snprintf(out + n, cap - n, "{");
	for (i = 0; i < N_BASE; i++) {
		const char *v = base_values[i];

		if (key != NULL && strcmp(key, base_keys[i]) == 0) {
			found = 1;
			v = raw;
		}
		if (v == NULL)
			continue;
		n += (size_t)snprintf(out + n, cap - n, "%s\"%s\":%s",
				      n > 1 ? "," : "", base_keys[i], v);
	}
	if (!found && key != NULL && raw != NULL)
		n += (size_t)snprintf(out + n, cap - n, ",\"%s\":%s", key, raw);
	snprintf(out + n, cap - n, "}");
	return out;
}

static void expect_ok(const char *key, const char *raw, lshop_show *s)
{
	char *json = show_with(key, raw);
	lshop_error err;

	lshop_error_clear(&err);
	if (lshop_show_parse(json, strlen(json), NULL, s, &err) != 0)
		fail_msg("%s: %s: %s (%s)", key, raw, err.message, err.field);
	free(json);
}

/* Refused with code on field; the message names the field and holds
 * part (if not NULL); the show is not written. */
static void expect_err_msg(const char *key, const char *raw, const char *code,
			   const char *field, const char *part)
{
	char *json = show_with(key, raw);
	lshop_show s, before;
	lshop_error err;

	memset(&s, 0x5a, sizeof(s));
	before = s;
	if (lshop_show_parse(json, strlen(json), NULL, &s, &err) == 0)
		fail_msg("accepted %s = %s", key, raw ? raw : "(absent)");
	if (strcmp(err.code, code) != 0 || strcmp(err.field, field) != 0)
		fail_msg("%s = %s: got %s on \"%s\" (%s), want %s on \"%s\"",
			 key, raw ? raw : "(absent)", err.code, err.field,
			 err.message, code, field);
	assert_true(strlen(err.message) > strlen(field) + 8);
	assert_non_null(strstr(err.message, field));
	if (part != NULL && strstr(err.message, part) == NULL)
		fail_msg("%s = %s: \"%s\" does not say \"%s\"", key, raw,
			 err.message, part);
	assert_memory_equal(&s, &before, sizeof(s));
	free(json);
}

static void expect_err(const char *key, const char *raw, const char *code,
		       const char *field)
{
	expect_err_msg(key, raw, code, field, NULL);
}

static lshop_show show_of(const char *json)
{
	lshop_show s;
	lshop_error err;

	if (lshop_show_parse(json, strlen(json), NULL, &s, &err) != 0)
		fail_msg("%s: %s", json, err.message);
	return s;
}

/* A show starting at starts (RFC 3339) lasting duration_s with rrule. */
static lshop_show show_at(const char *id, const char *starts,
			  int64_t duration_s, const char *rrule)
{
	char *json = fmt("{\"id\":\"%s\",\"title\":\"T\",\"starts_at\":\"%s\","
			 "\"duration\":%lld,\"rrule\":\"%s\"}",
			 id, starts, (long long)duration_s, rrule);
	lshop_show s = show_of(json);

	free(json);
	return s;
}

/* ------------------------------------------------------------- parsing */

static void test_base_show(void **state)
{
	lshop_show s;

	(void)state;
	expect_ok(NULL, NULL, &s);
	assert_string_equal(s.id, "weekly-tea");
	assert_string_equal(s.series, "");
	assert_string_equal(s.title, "Tea time");
	assert_string_equal(s.host, "Ana");
	assert_true(s.starts_at_ms == at("2026-11-26T19:00:00Z"));
	assert_int_equal(s.duration_s, 3600);
	assert_string_equal(s.rrule, "FREQ=WEEKLY;BYDAY=TH");
	assert_int_equal(s.noffers, 2);
	assert_string_equal(s.offers[0], "sku-1");
	assert_string_equal(s.offers[1], "sku-2");
	assert_string_equal(s.commission, "0.10");
}

static void test_round_trip(void **state)
{
	lshop_show s, back;
	lshop_error err;
	size_t len;
	char *json;

	(void)state;
	s = show_of(base_json);
	json = lshop_show_to_json(&s, &len);
	assert_non_null(json);
	assert_string_equal(json, base_json);
	assert_int_equal(len, strlen(base_json));
	memset(&back, 0x5a, sizeof(back));
	assert_int_equal(lshop_show_parse(json, len, "weekly-tea", &back, &err),
			 0);
	assert_memory_equal(&s, &back, sizeof(s));
	free(json);
}

static void test_only_required(void **state)
{
	static const char in[] = "{\"id\":\"a\",\"title\":\"T\","
				 "\"starts_at\":\"2026-11-26T20:00:00+01:00\","
				 "\"duration\":60,\"host\":null,\"rrule\":\"\","
				 "\"offers\":null,\"commission\":null}";
	lshop_show s = show_of(in);
	char *json;

	(void)state;
	assert_string_equal(s.host, "");
	assert_string_equal(s.rrule, "");
	assert_int_equal(s.noffers, 0);
	assert_string_equal(s.commission, "");
	json = lshop_show_to_json(&s, NULL);
	assert_string_equal(json, "{\"id\":\"a\",\"title\":\"T\","
				  "\"starts_at\":\"2026-11-26T19:00:00.000Z\","
				  "\"duration\":60,\"offers\":[]}");
	free(json);
}

static void test_id(void **state)
{
	char *s48 = repeat("a", 48), *s49 = repeat("a", 49);
	char *q48 = json_quote(s48, 48), *q49 = json_quote(s49, 49);
	char *no_id = show_with("id", NULL);
	lshop_show s;
	lshop_error err;

	(void)state;
	expect_ok("id", "\"AZaz09._-\"", &s);
	assert_string_equal(s.id, "AZaz09._-");
	expect_ok("id", q48, &s);
	assert_string_equal(s.id, s48);
	expect_err("id", q49, "invalid_field", "id");
	expect_err("id", "\"\"", "invalid_field", "id");
	expect_err("id", "\"a b\"", "invalid_field", "id");
	expect_err("id", "\"a/b\"", "invalid_field", "id");
	expect_err("id", "\"\xc3\xa4\"", "invalid_field", "id");
	expect_err("id", "7", "invalid_field", "id");
	expect_err("id", NULL, "missing_field", "id");

	/* The path's id: taken when the body has none, must match else. */
	assert_int_equal(
	    lshop_show_parse(no_id, strlen(no_id), "tea-2", &s, &err), 0);
	assert_string_equal(s.id, "tea-2");
	assert_int_equal(lshop_show_parse(base_json, strlen(base_json),
					  "weekly-tea", &s, &err),
			 0);
	assert_int_equal(
	    lshop_show_parse(base_json, strlen(base_json), "other", &s, &err),
	    -1);
	assert_string_equal(err.code, "invalid_field");
	assert_string_equal(err.field, "id");
	assert_int_equal(
	    lshop_show_parse(no_id, strlen(no_id), "a b", &s, &err), -1);
	assert_string_equal(err.field, "id");
	assert_int_equal(lshop_show_parse(no_id, strlen(no_id), s49, &s, &err),
			 -1);
	assert_string_equal(err.field, "id");
	free(s48);
	free(s49);
	free(q48);
	free(q49);
	free(no_id);
}

static void test_title_and_host(void **state)
{
	char *a120 = repeat("\xc3\xa4", 120), *a121 = repeat("\xc3\xa4", 121);
	char *q120 = json_quote(a120, strlen(a120));
	char *q121 = json_quote(a121, strlen(a121));
	lshop_show s;

	(void)state;
	expect_ok("title", q120, &s);
	assert_string_equal(s.title, a120);
	expect_ok("title", "\"<b>\\\"Tee\\\"</b> & \xf0\x9f\x8d\xb5\"", &s);
	assert_string_equal(s.title, "<b>\"Tee\"</b> & \xf0\x9f\x8d\xb5");
	expect_err("title", q121, "invalid_field", "title");
	expect_err("title", "\"\"", "invalid_field", "title");
	expect_err("title", "\"a\\nb\"", "invalid_field", "title");
	expect_err("title", "\"a\\tb\"", "invalid_field", "title");
	expect_err("title", "\"a\\u007fb\"", "invalid_field", "title");
	expect_err("title", "\"a\\u0085b\"", "invalid_field", "title");
	expect_err("title", "\"a\\u0000b\"", "invalid_field", "title");
	expect_err("title", "\"\xff\"", "invalid_field", "title");
	expect_err("title", "12", "invalid_field", "title");
	expect_err("title", NULL, "missing_field", "title");

	expect_ok("host", "\"\"", &s);
	assert_string_equal(s.host, "");
	expect_ok("host", q120, &s);
	assert_string_equal(s.host, a120);
	expect_err("host", q121, "invalid_field", "host");
	expect_err("host", "\"a\\r\\nb\"", "invalid_field", "host");
	expect_err("host", "[]", "invalid_field", "host");
	free(a120);
	free(a121);
	free(q120);
	free(q121);
}

static void test_starts_at_and_duration(void **state)
{
	lshop_show s;

	(void)state;
	expect_ok("starts_at", "\"2026-11-26T19:00:00.250Z\"", &s);
	assert_true(s.starts_at_ms == at("2026-11-26T19:00:00.250Z"));
	expect_err("starts_at", NULL, "missing_field", "starts_at");
	expect_err("starts_at", "\"2026-11-26 19:00\"", "invalid_field",
		   "starts_at");
	expect_err("starts_at", "1795720000000", "invalid_field", "starts_at");

	expect_ok("duration", "60", &s);
	assert_int_equal(s.duration_s, 60);
	expect_ok("duration", "86400", &s);
	assert_int_equal(s.duration_s, 86400);
	expect_err("duration", "59", "invalid_field", "duration");
	expect_err("duration", "86401", "invalid_field", "duration");
	expect_err("duration", "-3600", "invalid_field", "duration");
	expect_err("duration", "3600.5", "invalid_field", "duration");
	expect_err("duration", "\"3600\"", "invalid_field", "duration");
	expect_err("duration", NULL, "missing_field", "duration");
}

static void test_offers(void **state)
{
	char *id64 = repeat("o", 64), *id65 = repeat("o", 65);
	char *ok64 = fmt("[\"%s\"]", id64),
	     *bad65 = fmt("[\"a\",\"%s\"]", id65);
	char list[400];
	size_t i, n = 0;
	lshop_show s;

	(void)state;
	expect_ok("offers", "[]", &s);
	assert_int_equal(s.noffers, 0);
	expect_ok("offers", ok64, &s);
	assert_int_equal(s.noffers, 1);
	assert_string_equal(s.offers[0], id64);
	n += (size_t)snprintf(list + n, sizeof(list) - n, "[");
	for (i = 0; i < LSHOP_SHOW_OFFERS_MAX; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s\"o%zu\"",
				      i ? "," : "", i);
	snprintf(list + n, sizeof(list) - n, "]");
	expect_ok("offers", list, &s);
	assert_int_equal(s.noffers, LSHOP_SHOW_OFFERS_MAX);
	assert_string_equal(s.offers[15], "o15");
	/* 17 */
	list[strlen(list) - 1] = '\0';
	strcat(list, ",\"o16\"]");
	expect_err("offers", list, "invalid_field", "offers");
	expect_err("offers", "\"sku-1\"", "invalid_field", "offers");
	expect_err("offers", "{}", "invalid_field", "offers");
	expect_err("offers", bad65, "invalid_field", "offers[1]");
	expect_err("offers", "[\"a b\"]", "invalid_field", "offers[0]");
	expect_err("offers", "[\"a\",7]", "invalid_field", "offers[1]");
	expect_err("offers", "[\"a\",null]", "invalid_field", "offers[1]");
	expect_err_msg("offers", "[\"a\",\"b\",\"a\"]", "invalid_field",
		       "offers[2]", "offers[0]");
	free(id64);
	free(id65);
	free(ok64);
	free(bad65);
}

static void test_commission(void **state)
{
	static const char *const good[] = {"\"0\"", "\"1\"", "\"0.1\"",
					   "\"0.0001\"", "\"1.0000\""};
	static const char *const bad[] = {"\"1.0001\"",  "\"2\"",  "\"-0.1\"",
					  "\"0.12345\"", "\".5\"", "\"10%\"",
					  "\"\"",        "0.1",    "true"};
	lshop_show s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		expect_ok("commission", good[i], &s);
	assert_string_equal(s.commission, "1.0000");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_err("commission", bad[i], "invalid_field", "commission");
}

static void test_unknown_fields(void **state)
{
	static const char bc[] =
	    "{\"id\":\"weekly-tea-20261126\",\"series\":\"weekly-tea\","
	    "\"title\":\"T\",\"starts_at\":\"2026-11-26T19:00:00.000Z\","
	    "\"duration\":3600,\"offers\":[]}";
	char *id64 = repeat("b", 64), *id65 = repeat("b", 65);
	char *long_id = fmt("{\"id\":\"%s\",\"title\":\"T\",\"starts_at\":"
			    "\"2026-11-26T19:00:00Z\",\"duration\":60}",
			    id64);
	char *too_long = fmt("{\"id\":\"%s\",\"title\":\"T\",\"starts_at\":"
			     "\"2026-11-26T19:00:00Z\",\"duration\":60}",
			     id65);
	json_t *v;
	lshop_show s;
	lshop_error err;
	char *json;

	(void)state;
	expect_err("titel", "\"x\"", "unknown_field", "titel");
	/* Only broadcasts come from a series. */
	expect_err("series", "\"weekly-tea\"", "unknown_field", "series");
	assert_int_equal(lshop_show_parse("[]", 2, NULL, &s, &err), -1);
	assert_string_equal(err.code, "invalid_json");
	assert_int_equal(lshop_show_parse("{", 1, NULL, &s, &err), -1);
	assert_string_equal(err.code, "invalid_json");

	/* A show.started event's show: series, ids up to 64. */
	v = json_loads(bc, 0, NULL);
	assert_int_equal(
	    lshop_show_from_object(v, NULL, 1, "data.show.", &s, &err), 0);
	assert_string_equal(s.series, "weekly-tea");
	json = lshop_show_to_json(&s, NULL);
	assert_string_equal(json, bc);
	free(json);
	assert_int_equal(
	    lshop_show_from_object(v, NULL, 0, "data.show.", &s, &err), -1);
	assert_string_equal(err.code, "unknown_field");
	assert_string_equal(err.field, "data.show.series");
	json_decref(v);
	v = json_loads(long_id, 0, NULL);
	assert_int_equal(
	    lshop_show_from_object(v, NULL, 1, "data.show.", &s, &err), 0);
	assert_string_equal(s.id, id64);
	assert_int_equal(
	    lshop_show_parse(long_id, strlen(long_id), NULL, &s, &err), -1);
	assert_string_equal(err.field, "id");
	json_decref(v);
	v = json_loads(too_long, 0, NULL);
	assert_int_equal(
	    lshop_show_from_object(v, NULL, 1, "data.show.", &s, &err), -1);
	assert_string_equal(err.field, "data.show.id");
	json_decref(v);
	v = json_string("x");
	assert_int_equal(
	    lshop_show_from_object(v, NULL, 1, "data.show.", &s, &err), -1);
	assert_string_equal(err.field, "data.show");
	json_decref(v);
	free(id64);
	free(id65);
	free(long_id);
	free(too_long);
}

/* ---------------------------------------------------------------- rrule */

static void rrule_err(const char *rrule, const char *part)
{
	char *raw = json_quote(rrule, strlen(rrule));

	expect_err_msg("rrule", raw, "invalid_field", "rrule", part);
	free(raw);
}

static void rrule_is(const char *rrule, const char *normal)
{
	char *raw = json_quote(rrule, strlen(rrule));
	lshop_show s;

	expect_ok("rrule", raw, &s);
	if (strcmp(s.rrule, normal) != 0)
		fail_msg("%s: got %s, want %s", rrule, s.rrule, normal);
	free(raw);
}

static void test_rrule_refused(void **state)
{
	char *mo70 = repeat("MO,", 70);
	char *long_rule = fmt("FREQ=DAILY;BYDAY=%s", mo70);

	(void)state;
	rrule_err("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1", "part BYSETPOS is not "
						      "supported");
	rrule_err("FREQ=DAILY;BYHOUR=10", "part BYHOUR is not supported");
	rrule_err("FREQ=YEARLY;BYMONTH=12", "FREQ=YEARLY is not supported");
	rrule_err("FREQ=WEEKLY;BYWEEKNO=3", "part BYWEEKNO");
	rrule_err("FREQ=DAILY;BYYEARDAY=3", "part BYYEARDAY");
	rrule_err("FREQ=DAILY;FOO=1", "part FOO");
	rrule_err("FREQ=HOURLY",
		  "rrule FREQ=HOURLY is not supported; use DAILY, WEEKLY or "
		  "MONTHLY");
	rrule_err("FREQ=MINUTELY", "FREQ=MINUTELY is not supported");
	rrule_err("FREQ=SECONDLY", "FREQ=SECONDLY");
	rrule_err("FREQ=FORTNIGHTLY", "FREQ=FORTNIGHTLY");
	rrule_err("BYDAY=TH", "FREQ");
	rrule_err("FREQ=DAILY;FREQ=WEEKLY", "FREQ must appear once");
	rrule_err("FREQ=DAILY;INTERVAL=0", "INTERVAL");
	rrule_err("FREQ=DAILY;INTERVAL=367", "INTERVAL");
	rrule_err("FREQ=DAILY;INTERVAL=-1", "INTERVAL");
	rrule_err("FREQ=DAILY;INTERVAL=", "INTERVAL");
	rrule_err("FREQ=DAILY;BYDAY=MO", "BYDAY is only supported with "
					 "FREQ=WEEKLY");
	rrule_err("FREQ=MONTHLY;BYDAY=MO", "BYDAY");
	rrule_err("FREQ=WEEKLY;BYDAY=1MO", "BYDAY=1MO is not supported");
	rrule_err("FREQ=WEEKLY;BYDAY=-1FR", "BYDAY=-1FR is not supported");
	rrule_err("FREQ=WEEKLY;BYDAY=XX", "BYDAY");
	rrule_err("FREQ=WEEKLY;BYDAY=MO,", "BYDAY");
	rrule_err("FREQ=WEEKLY;BYDAY=", "BYDAY");
	rrule_err("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY is only supported "
					      "with FREQ=MONTHLY");
	rrule_err("FREQ=MONTHLY;BYMONTHDAY=-1", "BYMONTHDAY=-1 is not "
						"supported");
	rrule_err("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY");
	rrule_err("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY");
	rrule_err("FREQ=DAILY;COUNT=0", "COUNT");
	rrule_err("FREQ=DAILY;COUNT=1001", "COUNT");
	rrule_err("FREQ=DAILY;UNTIL=20261231", "UNTIL=20261231 is not "
					       "supported");
	rrule_err("FREQ=DAILY;UNTIL=20261231T235959", "UNTIL");
	rrule_err("FREQ=DAILY;UNTIL=20261331T235959Z", "UNTIL");
	rrule_err("FREQ=DAILY;UNTIL=20260230T120000Z", "UNTIL");
	rrule_err("FREQ=DAILY;UNTIL=20261126T185959Z", "UNTIL is before "
						       "starts_at");
	rrule_err("FREQ=DAILY;COUNT=3;UNTIL=20261231T235959Z", "COUNT and "
							       "UNTIL");
	rrule_err("FREQ=WEEKLY;WKST=SU", "WKST=SU is not supported");
	rrule_err("FREQ=DAILY;;COUNT=2", "empty part");
	rrule_err("FREQ=DAILY;", "empty part");
	rrule_err("FREQ", "NAME=VALUE");
	rrule_err("FREQ=WEEKLY; BYDAY=TH", "ASCII");
	rrule_err("FREQ=WEEKLY;BYDAY=TH\n", "ASCII");
	rrule_err("FREQ=W\xc3\x96\x43HENTLICH", "ASCII");
	rrule_err(long_rule, "200");
	expect_err("rrule", "{\"FREQ\":\"DAILY\"}", "invalid_field", "rrule");
	free(long_rule);
	free(mo70);
}

static void test_rrule_normalised(void **state)
{
	(void)state;
	rrule_is("FREQ=WEEKLY;BYDAY=TH", "FREQ=WEEKLY;BYDAY=TH");
	rrule_is("rrule:freq=weekly;byday=th,tu,th;interval=1;wkst=mo;"
		 "count=06",
		 "FREQ=WEEKLY;BYDAY=TU,TH;COUNT=6");
	rrule_is("RRULE:UNTIL=20270101T000000Z;INTERVAL=2;FREQ=DAILY",
		 "FREQ=DAILY;INTERVAL=2;UNTIL=20270101T000000Z");
	rrule_is("FREQ=MONTHLY;BYMONTHDAY=31,1,15", "FREQ=MONTHLY;"
						    "BYMONTHDAY=1,15,31");
	rrule_is("FREQ=WEEKLY;BYDAY=SU,SA,FR,TH,WE,TU,MO;INTERVAL=366",
		 "FREQ=WEEKLY;INTERVAL=366;BYDAY=MO,TU,WE,TH,FR,SA,SU");
	/* UNTIL at starts_at exactly: the show's one occurrence. */
	rrule_is("FREQ=DAILY;UNTIL=20261126T190000Z",
		 "FREQ=DAILY;UNTIL=20261126T190000Z");
	rrule_is("FREQ=DAILY;COUNT=1000", "FREQ=DAILY;COUNT=1000");
}

/* ---------------------------------------------------------- occurrences */

#define ALL_CAP 2000

/* Every occurrence of s (at most ALL_CAP). */
static size_t all_of(const lshop_show *s, int64_t *out)
{
	return lshop_show_occurrences(s, INT64_MIN, INT64_MAX, out, ALL_CAP);
}

/* The occurrences of s are exactly the times (RFC 3339), then none. */
static void expect_times(const lshop_show *s, const char *const *times,
			 size_t n)
{
	int64_t got[ALL_CAP];
	size_t k = all_of(s, got), i;
	char t[LSHOP_TIME_LEN];

	for (i = 0; i < n && i < k; i++) {
		lshop_time_format(t, got[i]);
		if (got[i] != at(times[i]))
			fail_msg("%s: occurrence %zu is %s, want %s", s->rrule,
				 i, t, times[i]);
	}
	if (k != n)
		fail_msg("%s: %zu occurrences, want %zu", s->rrule, k, n);
}

/*
 * Every window of s gives the slice of the whole list it covers: the
 * arithmetic jumps agree with counting from the start.
 */
static void expect_windows_agree(const lshop_show *s)
{
	static int64_t full[ALL_CAP], part[ALL_CAP];
	size_t nfull = all_of(s, full), n, i, j, lo;
	int64_t from, to, span = full[nfull - 1] - full[0] + 1;

	assert_true(nfull > 0);
	for (i = 0; i < 60; i++) {
		from = full[0] - DAY_MS + span * (int64_t)i / 50 +
		       (int64_t)i * 7919 * MIN_MS % DAY_MS;
		to = from + (int64_t)(i % 7 + 1) * 9 * DAY_MS;
		for (lo = 0; lo < nfull && full[lo] < from; lo++)
			;
		n = lshop_show_occurrences(s, from, to, part, ALL_CAP);
		for (j = 0; j < n; j++)
			if (lo + j >= nfull || part[j] != full[lo + j])
				fail_msg("%s: window %zu, occurrence %zu "
					 "differs",
					 s->rrule, i, j);
		if (lo + n < nfull && full[lo + n] < to)
			fail_msg("%s: window %zu misses an occurrence",
				 s->rrule, i);
		/* cap */
		if (n > 1)
			assert_int_equal(
			    lshop_show_occurrences(s, from, to, part, 1), 1);
	}
	/* Windows from one occurrence to another: [from, to). */
	for (i = 0; i + 3 < nfull; i += 1 + nfull / 40) {
		n = lshop_show_occurrences(s, full[i], full[i + 3], part,
					   ALL_CAP);
		if (n != 3 || part[0] != full[i] || part[2] != full[i + 2])
			fail_msg("%s: [occurrence %zu, occurrence %zu) "
				 "gives %zu",
				 s->rrule, i, i + 3, n);
	}
}

static void test_occurrences_single(void **state)
{
	lshop_show s = show_of(base_json);
	int64_t t0 = at("2026-11-26T19:00:00Z"), out[4];

	(void)state;
	s.rrule[0] = '\0';
	assert_int_equal(all_of(&s, out), 1);
	assert_true(out[0] == t0);
	/* [from, to) */
	assert_int_equal(lshop_show_occurrences(&s, t0, t0 + 1, out, 4), 1);
	assert_int_equal(
	    lshop_show_occurrences(&s, t0 + 1, t0 + DAY_MS, out, 4), 0);
	assert_int_equal(lshop_show_occurrences(&s, t0 - DAY_MS, t0, out, 4),
			 0);
	assert_int_equal(lshop_show_occurrences(&s, t0, t0, out, 4), 0);
	assert_int_equal(lshop_show_occurrences(&s, t0, t0 + 1, out, 0), 0);
}

static void test_occurrences_weekly(void **state)
{
	static const char *const tu_th[] = {
	    "2026-11-26T19:00:00Z", "2026-12-01T19:00:00Z",
	    "2026-12-03T19:00:00Z", "2026-12-08T19:00:00Z",
	    "2026-12-10T19:00:00Z"};
	/* DTSTART (a Thursday) counts although it is not a Tuesday. */
	static const char *const tu_from_th[] = {"2026-11-26T19:00:00Z",
						 "2026-12-01T19:00:00Z",
						 "2026-12-08T19:00:00Z"};
	static const char *const every_other[] = {
	    "2026-11-24T19:30:00Z", "2026-11-26T19:30:00Z",
	    "2026-12-08T19:30:00Z", "2026-12-10T19:30:00Z",
	    "2026-12-22T19:30:00Z", "2026-12-24T19:30:00Z"};
	/* Starting on a Wednesday: Thursday of the same week, then every
	 * other week's Tuesday and Thursday; UNTIL is inclusive. */
	static const char *const until[] = {
	    "2026-11-25T08:00:00Z", "2026-11-26T08:00:00Z",
	    "2026-12-08T08:00:00Z", "2026-12-10T08:00:00Z",
	    "2026-12-22T08:00:00Z"};
	static const char *const plain[] = {"2026-11-26T19:00:00Z",
					    "2026-12-10T19:00:00Z",
					    "2026-12-24T19:00:00Z"};
	lshop_show s;

	(void)state;
	s = show_at("a", "2026-11-26T19:00:00Z", 3600,
		    "FREQ=WEEKLY;BYDAY=TU,TH;COUNT=5");
	expect_times(&s, tu_th, 5);
	expect_windows_agree(&s);
	s = show_at("a", "2026-11-26T19:00:00Z", 3600,
		    "FREQ=WEEKLY;BYDAY=TU;COUNT=3");
	expect_times(&s, tu_from_th, 3);
	s = show_at("a", "2026-11-24T19:30:00Z", 3600,
		    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;COUNT=6");
	expect_times(&s, every_other, 6);
	expect_windows_agree(&s);
	s = show_at("a", "2026-11-25T08:00:00Z", 3600,
		    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;"
		    "UNTIL=20261222T080000Z");
	expect_times(&s, until, 5);
	s = show_at("a", "2026-11-26T19:00:00Z", 3600,
		    "FREQ=WEEKLY;INTERVAL=2;COUNT=3");
	expect_times(&s, plain, 3);
	s = show_at("a", "2026-11-26T19:00:00Z", 3600,
		    "FREQ=WEEKLY;BYDAY=MO,WE,SA;COUNT=1000");
	expect_windows_agree(&s);
	s = show_at("a", "2026-11-29T23:30:00Z", 3600,
		    "FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,SU;COUNT=999");
	expect_windows_agree(&s);
}

static void test_occurrences_daily(void **state)
{
	static const char *const until[] = {
	    "2026-11-26T19:00:00Z", "2026-11-29T19:00:00Z",
	    "2026-12-02T19:00:00Z", "2026-12-05T19:00:00Z"};
	lshop_show s;

	(void)state;
	s = show_at("a", "2026-11-26T19:00:00Z", 3600,
		    "FREQ=DAILY;INTERVAL=3;UNTIL=20261205T190000Z");
	expect_times(&s, until, 4);
	s = show_at("a", "2026-11-26T19:00:00Z", 3600,
		    "FREQ=DAILY;INTERVAL=3;UNTIL=20261205T185959Z");
	expect_times(&s, until, 3);
	s = show_at("a", "2026-11-26T19:00:00Z", 3600, "FREQ=DAILY;COUNT=1");
	expect_times(&s, until, 1);
	s = show_at("a", "2026-11-26T19:00:00Z", 3600, "FREQ=DAILY;COUNT=1000");
	expect_windows_agree(&s);
	s = show_at("a", "2026-11-26T19:00:00Z", 3600,
		    "FREQ=DAILY;INTERVAL=5;COUNT=777");
	expect_windows_agree(&s);
}

static void test_occurrences_monthly(void **state)
{
	/* RFC 5545 §3.3.10: months without a 31st are skipped, and not
	 * counted. */
	static const char *const d31[] = {
	    "2027-01-31T18:00:00Z", "2027-03-31T18:00:00Z",
	    "2027-05-31T18:00:00Z", "2027-07-31T18:00:00Z",
	    "2027-08-31T18:00:00Z", "2027-10-31T18:00:00Z",
	    "2027-12-31T18:00:00Z"};
	static const char *const d1_15[] = {
	    "2026-11-15T10:00:00Z", "2027-01-01T10:00:00Z",
	    "2027-01-15T10:00:00Z", "2027-03-01T10:00:00Z",
	    "2027-03-15T10:00:00Z"};
	static const char *const feb29[] = {"2028-02-29T12:00:00Z",
					    "2032-02-29T12:00:00Z",
					    "2036-02-29T12:00:00Z"};
	lshop_show s;

	(void)state;
	s = show_at("a", "2027-01-31T18:00:00Z", 3600,
		    "FREQ=MONTHLY;BYMONTHDAY=31;COUNT=7");
	expect_times(&s, d31, 7);
	/* Without BYMONTHDAY: the day of starts_at, skipped alike. */
	s = show_at("a", "2027-01-31T18:00:00Z", 3600, "FREQ=MONTHLY;COUNT=7");
	expect_times(&s, d31, 7);
	s = show_at("a", "2027-01-31T18:00:00Z", 3600,
		    "FREQ=MONTHLY;UNTIL=20271231T180000Z");
	expect_times(&s, d31, 7);
	/* Days of the start month before starts_at are not occurrences. */
	s = show_at("a", "2026-11-15T10:00:00Z", 3600,
		    "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=1,15;COUNT=5");
	expect_times(&s, d1_15, 5);
	s = show_at("a", "2028-02-29T12:00:00Z", 3600,
		    "FREQ=MONTHLY;INTERVAL=12;COUNT=3");
	expect_times(&s, feb29, 3);
	s = show_at("a", "2027-01-31T18:00:00Z", 3600,
		    "FREQ=MONTHLY;BYMONTHDAY=29,30,31;COUNT=1000");
	expect_windows_agree(&s);
	s = show_at("a", "2027-01-31T18:00:00Z", 3600,
		    "FREQ=MONTHLY;INTERVAL=5;BYMONTHDAY=31;COUNT=200");
	expect_windows_agree(&s);
}

static void test_occurrences_far_future(void **state)
{
	int64_t t0 = at("2026-11-26T19:00:00Z"), out[8];
	int64_t from = at("9000-01-01T00:00:00Z"), t;
	char ts[LSHOP_TIME_LEN];
	lshop_show s;
	size_t n, i;

	(void)state;
	/* No end: the window is reached arithmetically, not by stepping
	 * through 2.6 million days. */
	s = show_at("a", "2026-11-26T19:00:00Z", 3600, "FREQ=DAILY");
	for (i = 0; i < 1000; i++) {
		n = lshop_show_occurrences(&s, from, INT64_MAX, out, 8);
		assert_int_equal(n, 8);
	}
	assert_true(out[0] == at("9000-01-01T19:00:00Z"));
	assert_true((out[0] - t0) % DAY_MS == 0);
	assert_true(out[7] - out[0] == 7 * DAY_MS);
	n = lshop_show_occurrences(&s, INT64_MIN, INT64_MAX, out, 3);
	assert_int_equal(n, 3);
	assert_true(out[0] == t0 && out[2] == t0 + 2 * DAY_MS);

	s = show_at("a", "2026-11-26T19:00:00Z", 3600,
		    "FREQ=WEEKLY;INTERVAL=3;BYDAY=TU,SA");
	n = lshop_show_occurrences(&s, from, INT64_MAX, out, 4);
	assert_int_equal(n, 4);
	for (i = 0; i < n; i++) {
		lshop_time_format(ts, out[i]);
		assert_true(out[i] >= from);
		assert_memory_equal(ts + 10, "T19:00:00.000Z", 14);
	}
	/* Tuesday, Saturday, then three weeks on. */
	assert_true(out[1] - out[0] == 4 * DAY_MS ||
		    out[1] - out[0] == 17 * DAY_MS);
	assert_true(out[2] - out[0] == 21 * DAY_MS);

	s = show_at("a", "2027-01-31T18:00:00Z", 3600,
		    "FREQ=MONTHLY;BYMONTHDAY=31");
	n = lshop_show_occurrences(&s, from, INT64_MAX, out, 2);
	assert_int_equal(n, 2);
	assert_true(out[0] == at("9000-01-31T18:00:00Z"));
	assert_true(out[1] == at("9000-03-31T18:00:00Z"));

	/* With COUNT, a window after the last occurrence is empty. */
	s = show_at("a", "2026-11-26T19:00:00Z", 3600,
		    "FREQ=MONTHLY;COUNT=1000");
	assert_int_equal(lshop_show_occurrences(&s, from, INT64_MAX, out, 8),
			 0);
	n = lshop_show_occurrences(&s, at("2109-10-01T00:00:00Z"), INT64_MAX,
				   out, 8);
	assert_int_equal(n, 5);
	t = out[n - 1];
	lshop_time_format(ts, t);
	/* 1000 months from 2026-11 (none skipped: every month has a 26th) */
	assert_string_equal(ts, "2110-02-26T19:00:00.000Z");
}

/* ---------------------------------------------------------------- match */

static void test_match(void **state)
{
	lshop_show shows[3];
	int64_t t0 = at("2026-11-26T19:00:00Z"), occ = 42;

	(void)state;
	shows[0] = show_at("single", "2026-11-26T19:00:00Z", 3600, "");
	/* Window edges: 30 minutes before the start to its end. */
	assert_int_equal(lshop_show_match(shows, 1, t0 - 30 * MIN_MS, &occ), 0);
	assert_true(occ == t0);
	occ = 42;
	assert_int_equal(lshop_show_match(shows, 1, t0 - 30 * MIN_MS - 1, &occ),
			 -1);
	assert_true(occ == 42);
	assert_int_equal(lshop_show_match(shows, 1, t0 + HOUR_MS - 1, &occ), 0);
	assert_int_equal(lshop_show_match(shows, 1, t0 + HOUR_MS, &occ), -1);
	assert_int_equal(lshop_show_match(shows, 0, t0, &occ), -1);
	assert_int_equal(lshop_show_match(shows, 1, t0, NULL), 0);

	/* The nearest start wins; on a tie the one already on. */
	shows[1] = show_at("later", "2026-11-26T19:20:00Z", 3600, "");
	assert_int_equal(lshop_show_match(shows, 2, t0 + 11 * MIN_MS, &occ), 1);
	assert_true(occ == t0 + 20 * MIN_MS);
	assert_int_equal(lshop_show_match(shows, 2, t0 + 9 * MIN_MS, &occ), 0);
	assert_int_equal(lshop_show_match(shows, 2, t0 + 10 * MIN_MS, &occ), 0);
	assert_true(occ == t0);
	assert_int_equal(lshop_show_match(shows, 2, t0 - 10 * MIN_MS, &occ), 0);

	/* A recurring show: the occurrence of that week. */
	shows[2] = show_at("weekly", "2026-11-05T19:00:00Z", 7200,
			   "FREQ=WEEKLY;BYDAY=TH");
	assert_int_equal(
	    lshop_show_match(&shows[2], 1, t0 + 7 * DAY_MS - MIN_MS, &occ), 0);
	assert_true(occ == t0 + 7 * DAY_MS);
	assert_int_equal(
	    lshop_show_match(&shows[2], 1, t0 + 7 * DAY_MS + 2 * HOUR_MS, &occ),
	    -1);
	assert_int_equal(lshop_show_match(shows, 3, t0 + 30 * MIN_MS, &occ), 1);
	assert_int_equal(lshop_show_match(shows, 3, t0 + 70 * MIN_MS, &occ), 1);
	assert_int_equal(lshop_show_match(shows, 3, t0 + 90 * MIN_MS, &occ), 2);
	assert_true(occ == t0);

	/* A daily show of a whole day: two occurrences in the window. */
	shows[0] = show_at("day", "2026-11-20T12:00:00Z", 86400, "FREQ=DAILY");
	assert_int_equal(lshop_show_match(shows, 1, t0 - 50 * MIN_MS, &occ), 0);
	assert_true(occ == at("2026-11-26T12:00:00Z"));
	assert_int_equal(
	    lshop_show_match(shows, 1, at("2026-11-26T11:45:00Z"), &occ), 0);
	assert_true(occ == at("2026-11-26T12:00:00Z"));
	assert_int_equal(
	    lshop_show_match(shows, 1, at("2026-11-20T11:29:59Z"), &occ), -1);
}

/* ------------------------------------------------------------ broadcast */

static void test_broadcast(void **state)
{
	lshop_show s = show_of(base_json), b;
	int64_t occ = at("2026-12-03T19:00:00Z");
	char *id48 = repeat("x", 48), *json;
	char *t130 = repeat("\xc3\xa4", 130), *t120 = repeat("\xc3\xa4", 120);

	(void)state;
	lshop_show_broadcast(&s, occ, occ - 5 * MIN_MS, "ignored", &b);
	assert_string_equal(b.id, "weekly-tea-20261203");
	assert_string_equal(b.series, "weekly-tea");
	assert_string_equal(b.rrule, "");
	assert_true(b.starts_at_ms == occ);
	assert_string_equal(b.title, "Tea time");
	assert_string_equal(b.host, "Ana");
	assert_int_equal(b.duration_s, 3600);
	assert_int_equal(b.noffers, 2);
	assert_string_equal(b.commission, "0.10");
	json = lshop_show_to_json(&b, NULL);
	assert_string_equal(
	    json, "{\"id\":\"weekly-tea-20261203\",\"series\":\"weekly-tea\","
		  "\"title\":\"Tea time\",\"host\":\"Ana\","
		  "\"starts_at\":\"2026-12-03T19:00:00.000Z\","
		  "\"duration\":3600,\"offers\":[\"sku-1\",\"sku-2\"],"
		  "\"commission\":\"0.10\"}");
	free(json);

	/* In place, and a 48-character id still fits. */
	memcpy(s.id, id48, 49);
	lshop_show_broadcast(&s, occ, occ, NULL, &s);
	assert_string_equal(s.series, id48);
	assert_int_equal(strlen(s.id), 48 + 9);
	assert_string_equal(s.id + 48, "-20261203");

	/* A single show keeps its id. */
	s = show_of(base_json);
	s.rrule[0] = '\0';
	lshop_show_broadcast(&s, s.starts_at_ms, s.starts_at_ms, NULL, &b);
	assert_string_equal(b.id, "weekly-tea");
	assert_string_equal(b.series, "weekly-tea");

	/* Unscheduled. */
	lshop_show_broadcast(NULL, 0, at("2026-11-26T19:05:02.999Z"),
			     "Live from the shop", &b);
	assert_string_equal(b.id, "live-20261126-190502");
	assert_string_equal(b.series, "");
	assert_string_equal(b.title, "Live from the shop");
	assert_string_equal(b.host, "");
	assert_string_equal(b.rrule, "");
	assert_string_equal(b.commission, "");
	assert_int_equal(b.noffers, 0);
	assert_int_equal(b.duration_s, 3600);
	assert_true(b.starts_at_ms == at("2026-11-26T19:05:02.999Z"));
	lshop_show_broadcast(NULL, 0, 0, NULL, &b);
	assert_string_equal(b.id, "live-19700101-000000");
	assert_string_equal(b.title, "Live");
	lshop_show_broadcast(NULL, 0, 0, "", &b);
	assert_string_equal(b.title, "Live");
	lshop_show_broadcast(NULL, 0, 0, "two\nlines", &b);
	assert_string_equal(b.title, "Live");
	lshop_show_broadcast(NULL, 0, 0, "\xc3", &b);
	assert_string_equal(b.title, "Live");
	lshop_show_broadcast(NULL, 0, 0, t130, &b);
	assert_string_equal(b.title, t120);
	free(id48);
	free(t130);
	free(t120);
}

/* ------------------------------------------------------------- calendar */

/* Every line ends in CRLF, none has more than 75 octets, every one is
 * valid UTF-8 on its own (folding never splits a sequence). */
static void check_lines(const char *ics, size_t len)
{
	size_t i = 0, start;

	assert_int_equal(strlen(ics), len);
	assert_true(len >= 2 && ics[len - 2] == '\r' && ics[len - 1] == '\n');
	while (i < len) {
		start = i;
		while (i < len && ics[i] != '\r' && ics[i] != '\n')
			i++;
		if (i + 1 >= len || ics[i] != '\r' || ics[i + 1] != '\n')
			fail_msg("line at byte %zu does not end in CRLF",
				 start);
		if (i - start > 75)
			fail_msg("line at byte %zu has %zu octets", start,
				 i - start);
		if (lshop_utf8_chars(ics + start, i - start) < 0)
			fail_msg("line at byte %zu is not UTF-8 by itself",
				 start);
		i += 2;
	}
}

/* The calendar unfolded (RFC 5545 §3.1), malloc'd. */
static char *unfold(const char *ics)
{
	char *out = malloc(strlen(ics) + 1), *o = out;

	assert_non_null(out);
	while (*ics) {
		if (ics[0] == '\r' && ics[1] == '\n' && ics[2] == ' ') {
			ics += 3;
			continue;
		}
		*o++ = *ics++;
	}
	*o = '\0';
	return out;
}

static int has_line(const char *unfolded, const char *line)
{
	char *want = fmt("\r\n%s\r\n", line);
	int r = strstr(unfolded, want) != NULL;

	free(want);
	return r;
}

static void expect_line(const char *unfolded, const char *line)
{
	if (!has_line(unfolded, line))
		fail_msg("no line \"%s\" in\n%s", line, unfolded);
}

static size_t count_of(const char *s, const char *what)
{
	size_t n = 0;

	for (s = strstr(s, what); s != NULL; s = strstr(s + 1, what))
		n++;
	return n;
}

static const char *titles(void *arg, const char *offer_id)
{
	(void)arg;
	if (strcmp(offer_id, "sku-1") == 0)
		return "Serum, 30 ml; \"new\"";
	if (strcmp(offer_id, "sku-2") == 0)
		return "Line 1\r\nLine 2\\ \x01\xff end";
	return NULL;
}

static void test_calendar(void **state)
{
	static const char *const head[] = {"BEGIN:VCALENDAR",
					   "VERSION:2.0",
					   "PRODID:-//liveshop//liveshop//EN",
					   "CALSCALE:GREGORIAN",
					   "METHOD:PUBLISH",
					   "X-WR-CALNAME:live/demo"};
	lshop_show shows[2];
	int64_t now = at("2026-11-20T08:00:00Z");
	char *ics, *u, *ics2;
	size_t len, len2, i;

	(void)state;
	shows[0] = show_of(base_json);
	shows[1] = show_at("single", "2026-11-21T10:00:00Z", 1800, "");
	memcpy(shows[1].title, "a;b,c\\d", 8);
	ics = lshop_show_calendar(shows, 2, "live/demo",
				  "https://shop.example/live/demo", now, titles,
				  NULL, &len);
	assert_non_null(ics);
	check_lines(ics, len);
	u = unfold(ics);
	assert_memory_equal(u, "BEGIN:VCALENDAR\r\n", 17);
	for (i = 1; i < sizeof(head) / sizeof(head[0]); i++)
		expect_line(u, head[i]);
	assert_int_equal(count_of(u, "\r\nBEGIN:VEVENT\r\n"), 2);
	assert_int_equal(count_of(u, "\r\nEND:VEVENT\r\n"), 2);
	assert_int_equal(count_of(u, "\r\nBEGIN:VALARM\r\n"), 2);
	assert_int_equal(count_of(u, "\r\nTRIGGER:-PT15M\r\n"), 2);
	assert_int_equal(count_of(u, "\r\nACTION:DISPLAY\r\n"), 2);
	assert_int_equal(count_of(u, "\r\nDTSTAMP:20261120T080000Z\r\n"), 2);
	assert_int_equal(
	    count_of(u, "\r\nURL:https://shop.example/live/demo\r\n"), 2);
	assert_true(strlen(u) > 15 &&
		    strcmp(u + strlen(u) - 15, "END:VCALENDAR\r\n") == 0);
	expect_line(u, "UID:weekly-tea@live.demo.liveshop");
	expect_line(u, "DTSTART:20261126T190000Z");
	expect_line(u, "DTEND:20261126T200000Z");
	expect_line(u, "RRULE:FREQ=WEEKLY;BYDAY=TH");
	expect_line(u, "SUMMARY:Tea time");
	expect_line(u, "DESCRIPTION:Host: Ana\\nOffers: Serum\\, 30 ml\\; "
		       "\"new\"\\, Line 1\\nLine 2\\\\  end");
	expect_line(u, "DESCRIPTION:Tea time");
	expect_line(u, "UID:single@live.demo.liveshop");
	expect_line(u, "DTSTART:20261121T100000Z");
	expect_line(u, "DTEND:20261121T103000Z");
	/* TEXT escaping, RFC 5545 §3.3.11 */
	expect_line(u, "SUMMARY:a\\;b\\,c\\\\d");
	/* No host, no offer titles: no DESCRIPTION but the alarm's. */
	assert_int_equal(count_of(u, "\r\nDESCRIPTION:"), 3);
	assert_int_equal(count_of(u, "\r\nRRULE:"), 1);

	/* The UID does not change with the time it is asked at. */
	ics2 = lshop_show_calendar(shows, 2, "live/demo", NULL,
				   now + 3 * HOUR_MS, NULL, NULL, &len2);
	assert_non_null(ics2);
	check_lines(ics2, len2);
	free(u);
	u = unfold(ics2);
	expect_line(u, "UID:weekly-tea@live.demo.liveshop");
	expect_line(u, "UID:single@live.demo.liveshop");
	expect_line(u, "DTSTAMP:20261120T110000Z");
	assert_null(strstr(u, "URL:"));
	/* Without a title function: only the host. */
	expect_line(u, "DESCRIPTION:Host: Ana");
	free(ics);
	free(ics2);
	free(u);
}

static void test_calendar_folding(void **state)
{
	lshop_show s = show_of(base_json);
	/* 116 characters of 1 to 4 octets */
	char *title = repeat("\xc3\xa4\xe2\x82\xac\xf0\x9f\x8d\xb5;", 29);
	char *escaped = repeat("\xc3\xa4\xe2\x82\xac\xf0\x9f\x8d\xb5\\;", 29);
	char *want, *ics, *u;
	size_t len, i, off;

	(void)state;
	for (off = 0; off < 4; off++) {
		/* Shift where the folds fall across the sequences. */
		snprintf(s.title, sizeof(s.title), "%.*s%s", (int)off, "xxx",
			 title);
		want = fmt("SUMMARY:%.*s%s", (int)off, "xxx", escaped);
		ics = lshop_show_calendar(&s, 1, "live/x", NULL, 0, NULL, NULL,
					  &len);
		assert_non_null(ics);
		check_lines(ics, len);
		u = unfold(ics);
		expect_line(u, want);
		/* The SUMMARY was folded: some line starts with a space. */
		assert_non_null(strstr(ics, "\r\n "));
		for (i = 0; i + 2 < len; i++)
			if (ics[i] == '\r' && ics[i + 2] == ' ')
				assert_false(
				    ((unsigned char)ics[i + 3] & 0xc0) == 0x80);
		free(ics);
		free(u);
		free(want);
	}
	free(title);
	free(escaped);
}

static void test_calendar_left_out(void **state)
{
	lshop_show shows[4];
	int64_t now = at("2026-12-01T12:00:00Z");
	char *ics, *u;

	(void)state;
	/* Over: left out. */
	shows[0] = show_at("over", "2026-11-30T10:00:00Z", 3600, "");
	/* On air: still in. */
	shows[1] = show_at("on-air", "2026-12-01T11:30:00Z", 3600, "");
	/* Started long ago, recurs: in. */
	shows[2] =
	    show_at("weekly", "2026-01-01T10:00:00Z", 3600, "FREQ=WEEKLY");
	/* Recurs, but its last occurrence is over: left out. */
	shows[3] = show_at("done", "2026-11-01T10:00:00Z", 3600,
			   "FREQ=DAILY;COUNT=30");
	ics = lshop_show_calendar(shows, 4, "live/demo", NULL, now, NULL, NULL,
				  NULL);
	assert_non_null(ics);
	u = unfold(ics);
	assert_false(has_line(u, "UID:over@live.demo.liveshop"));
	expect_line(u, "UID:on-air@live.demo.liveshop");
	expect_line(u, "UID:weekly@live.demo.liveshop");
	assert_false(has_line(u, "UID:done@live.demo.liveshop"));
	assert_int_equal(count_of(u, "BEGIN:VEVENT"), 2);
	free(ics);
	free(u);
	/* Nothing to come: an empty calendar. */
	ics = lshop_show_calendar(shows, 1, "live/demo", NULL, now, NULL, NULL,
				  NULL);
	assert_non_null(ics);
	assert_null(strstr(ics, "VEVENT"));
	assert_non_null(strstr(ics, "END:VCALENDAR\r\n"));
	free(ics);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base_show),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_only_required),
	    cmocka_unit_test(test_id),
	    cmocka_unit_test(test_title_and_host),
	    cmocka_unit_test(test_starts_at_and_duration),
	    cmocka_unit_test(test_offers),
	    cmocka_unit_test(test_commission),
	    cmocka_unit_test(test_unknown_fields),
	    cmocka_unit_test(test_rrule_refused),
	    cmocka_unit_test(test_rrule_normalised),
	    cmocka_unit_test(test_occurrences_single),
	    cmocka_unit_test(test_occurrences_weekly),
	    cmocka_unit_test(test_occurrences_daily),
	    cmocka_unit_test(test_occurrences_monthly),
	    cmocka_unit_test(test_occurrences_far_future),
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_broadcast),
	    cmocka_unit_test(test_calendar),
	    cmocka_unit_test(test_calendar_folding),
	    cmocka_unit_test(test_calendar_left_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
