/*
 * Offers: every rule of SPEC §2, a passing and a failing case each, and
 * hostile titles through the offer's JSON.
 */
#include <jansson.h>

#include "lshop/codec.h"
#include "lshop/offer.h"

#include "testutil.h"

/* The fields of a valid offer, as raw JSON values, in SPEC §2 order. */
static const char *const base_keys[] = {"id",       "title",      "price",
					"currency", "compare_at", "stock",
					"url",      "image",      "disclosure"};
static const char *const base_values[] = {"\"sku-123\"",
					  "\"Vitamin C Serum 30 ml\"",
					  "\"19.99\"",
					  "\"EUR\"",
					  "\"29.99\"",
					  "50",
					  "\"https://shop.example/p/123\"",
					  "\"https://shop.example/i/123.jpg\"",
					  "\"ad\""};
#define N_BASE 9

static const char base_json[] =
    "{\"id\":\"sku-123\",\"title\":\"Vitamin C Serum 30 ml\","
    "\"price\":\"19.99\",\"currency\":\"EUR\",\"compare_at\":\"29.99\","
    "\"stock\":50,\"url\":\"https://shop.example/p/123\","
    "\"image\":\"https://shop.example/i/123.jpg\",\"disclosure\":\"ad\"}";

/*
 * The base offer with k1 and k2 set to raw JSON values r1, r2 (NULL: left
 * out); a key not in the base is added at the end. k2 may be NULL.
 */
static char *offer_with2(const char *k1, const char *r1, const char *k2,
			 const char *r2)
{
	size_t cap = 8192 + (r1 ? strlen(r1) : 0) + (r2 ? strlen(r2) : 0);
	char *out = malloc(cap);
	size_t n = 0, i;
	int found1 = 0, found2 = 0;

	assert_non_null(out);
	n += (size_t)snprintf(out + n, cap - n, "{");
	for (i = 0; i < N_BASE; i++) {
		const char *v = base_values[i];

		if (k1 != NULL && strcmp(k1, base_keys[i]) == 0) {
			found1 = 1;
			v = r1;
		}
		if (k2 != NULL && strcmp(k2, base_keys[i]) == 0) {
			found2 = 1;
			v = r2;
		}
		if (v == NULL)
			continue;
		n += (size_t)snprintf(out + n, cap - n, "%s\"%s\":%s",
				      n > 1 ? "," : "", base_keys[i], v);
	}
	if (!found1 && k1 != NULL && r1 != NULL)
		n += (size_t)snprintf(out + n, cap - n, ",\"%s\":%s", k1, r1);
	if (!found2 && k2 != NULL && r2 != NULL)
		n += (size_t)snprintf(out + n, cap - n, ",\"%s\":%s", k2, r2);
	snprintf(out + n, cap - n, "}");
	return out;
}

static char *offer_with(const char *key, const char *raw)
{
	return offer_with2(key, raw, NULL, NULL);
}

static void expect_ok(const char *key, const char *raw, lshop_offer *o)
{
	char *json = offer_with(key, raw);
	lshop_error err;

	lshop_error_clear(&err);
	if (lshop_offer_parse(json, strlen(json), NULL, o, &err) != 0)
		fail_msg("%s: %s: %s (%s)", key, raw, err.message, err.field);
	free(json);
}

static void expect_err(const char *key, const char *raw, const char *code,
		       const char *field)
{
	char *json = offer_with(key, raw);
	lshop_offer o, before;
	lshop_error err;

	memset(&o, 0x5a, sizeof(o));
	before = o;
	if (lshop_offer_parse(json, strlen(json), NULL, &o, &err) == 0)
		fail_msg("accepted %s = %s", key, raw ? raw : "(absent)");
	assert_string_equal(err.code, code);
	assert_string_equal(err.field, field);
	/* A message a person can act on, naming the field. */
	assert_true(strlen(err.message) > strlen(field) + 8);
	assert_non_null(strstr(err.message, field));
	/* On failure the offer is not written. */
	assert_memory_equal(&o, &before, sizeof(o));
	free(json);
}

static void test_base_offer(void **state)
{
	lshop_offer o;

	(void)state;
	expect_ok(NULL, NULL, &o);
	assert_string_equal(o.id, "sku-123");
	assert_string_equal(o.title, "Vitamin C Serum 30 ml");
	assert_string_equal(o.price, "19.99");
	assert_string_equal(o.currency, "EUR");
	assert_string_equal(o.compare_at, "29.99");
	assert_int_equal(o.stock, 50);
	assert_string_equal(o.url, "https://shop.example/p/123");
	assert_string_equal(o.image, "https://shop.example/i/123.jpg");
	assert_string_equal(o.disclosure, "ad");
}

static void test_only_required(void **state)
{
	static const char json[] =
	    "{\"id\":\"a\",\"title\":\"T\",\"price\":\"1\","
	    "\"currency\":\"USD\",\"url\":\"http://h\"}";
	lshop_offer o;
	lshop_error err;

	(void)state;
	assert_int_equal(lshop_offer_parse(json, strlen(json), NULL, &o, &err),
			 0);
	assert_string_equal(o.compare_at, "");
	assert_true(o.stock == LSHOP_STOCK_UNLIMITED);
	assert_string_equal(o.image, "");
	assert_string_equal(o.disclosure, "");
}

static void test_id(void **state)
{
	char *s64 = repeat("a", 64), *s65 = repeat("a", 65);
	char *q64 = json_quote(s64, 64), *q65 = json_quote(s65, 65);
	lshop_offer o;

	(void)state;
	expect_ok("id", "\"a\"", &o);
	expect_ok("id", "\"AZaz09._-\"", &o);
	assert_string_equal(o.id, "AZaz09._-");
	expect_ok("id", q64, &o);
	assert_string_equal(o.id, s64);
	expect_err("id", q65, "invalid_field", "id");
	expect_err("id", "\"\"", "invalid_field", "id");
	expect_err("id", "\"a b\"", "invalid_field", "id");
	expect_err("id", "\"a/b\"", "invalid_field", "id");
	expect_err("id", "\"a:b\"", "invalid_field", "id");
	expect_err("id", "\"\xc3\xa4\"", "invalid_field", "id");
	expect_err("id", "123", "invalid_field", "id");
	expect_err("id", NULL, "missing_field", "id");
	assert_true(lshop_id_valid("sku-123", 7));
	assert_false(lshop_id_valid("sku-123", 0));
	assert_false(lshop_id_valid(NULL, 0));
	assert_false(lshop_id_valid("sku\0", 4));
	free(s64);
	free(s65);
	free(q64);
	free(q65);
}

static void test_id_from_path(void **state)
{
	char *no_id = offer_with("id", NULL);
	lshop_offer o;
	lshop_error err;

	(void)state;
	/* A body without "id" takes the path's. */
	assert_int_equal(
	    lshop_offer_parse(no_id, strlen(no_id), "sku-9", &o, &err), 0);
	assert_string_equal(o.id, "sku-9");
	/* The same id in both is fine. */
	assert_int_equal(lshop_offer_parse(base_json, strlen(base_json),
					   "sku-123", &o, &err),
			 0);
	/* Another id in the body is an error on "id". */
	assert_int_equal(
	    lshop_offer_parse(base_json, strlen(base_json), "sku-9", &o, &err),
	    -1);
	assert_string_equal(err.code, "invalid_field");
	assert_string_equal(err.field, "id");
	/* An invalid path id is refused too. */
	assert_int_equal(
	    lshop_offer_parse(no_id, strlen(no_id), "a b", &o, &err), -1);
	assert_string_equal(err.field, "id");
	free(no_id);
}

static void title_ok(const char *title)
{
	char *q = json_quote(title, strlen(title));
	lshop_offer o;

	expect_ok("title", q, &o);
	assert_string_equal(o.title, title);
	free(q);
}

static void title_err(const char *title, size_t len)
{
	char *q = json_quote(title, len);

	expect_err("title", q, "invalid_field", "title");
	free(q);
}

static void test_title(void **state)
{
	char *s;
	size_t i;

	(void)state;
	title_ok("x");
	for (i = 0; i < N_HOSTILE; i++)
		title_ok(hostile_titles[i]);
	/* 120 characters is the limit, whatever their bytes. */
	s = repeat("\xc3\xa9", 120); /* é */
	title_ok(s);
	free(s);
	s = repeat("\xf0\x9f\x98\x80", 120); /* 😀 */
	title_ok(s);
	free(s);
	s = repeat("a", 120);
	title_ok(s);
	free(s);
	s = repeat("\xc3\xa9", 121);
	title_err(s, strlen(s));
	free(s);
	s = repeat("\xf0\x9f\x98\x80", 121);
	title_err(s, strlen(s));
	free(s);
	s = repeat("a", 121);
	title_err(s, strlen(s));
	free(s);
	title_err("", 0);
	/* Invalid UTF-8 is named as the title's problem. */
	title_err("\xff", 1);
	title_err("ok \xff ok", 7);
	title_err("\xc0\xaf", 2);
	title_err("\xed\xa0\x80", 3);
	title_err("\xf4\x90\x80\x80", 4);
	title_err("\xe2\x82", 2);
	expect_err("title", "\"a\\u0000b\"", "invalid_field", "title");
	expect_err("title", "\"\\ud800\"", "invalid_field", "title");
	expect_err("title", "\"\\udc00x\"", "invalid_field", "title");
	expect_err("title", "42", "invalid_field", "title");
	expect_err("title", "[\"x\"]", "invalid_field", "title");
	expect_err("title", NULL, "missing_field", "title");
	/* An escaped pair is one valid character. */
	title_ok("\xf0\x9f\x98\x80");
	expect_ok("title", "\"\\ud83d\\ude00\"", &(lshop_offer){0});
}

static void price_cases(const char *key)
{
	static const char *const good[] = {
	    "1",         "19.99",         "1.5", "0.0001", "123456789.1234",
	    "000000001", "999999999.9999"};
	static const char *const bad[] = {
	    "1234567890", "1.23456",  ".5",  "5.",      "-1", "+1",
	    "1e3",        " 1",       "1 ",  "1,99",    "",   "1.2.3",
	    "0x10",       "\xd9\xa1", "NaN", "19.99\n", "1.", "Infinity"};
	int is_price = strcmp(key, "price") == 0;
	char raw[64], *json;
	lshop_offer o;
	lshop_error err;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(raw, sizeof(raw), "\"%s\"", good[i]);
		/* Keep compare_at above price while price varies. */
		json = is_price
			   ? offer_with2("price", raw, "compare_at", NULL)
			   : offer_with2("compare_at", raw, "price", "\"0\"");
		if (lshop_offer_parse(json, strlen(json), NULL, &o, &err))
			fail_msg("%s: %s: %s", key, raw, err.message);
		assert_string_equal(is_price ? o.price : o.compare_at, good[i]);
		free(json);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *q = json_quote(bad[i], strlen(bad[i]));

		expect_err(key, q, "invalid_field", key);
		free(q);
	}
	/* A JSON number would go through a double: refused, by name. */
	expect_err(key, "19.99", "invalid_field", key);
	expect_err(key, "20", "invalid_field", key);
	expect_err(key, "true", "invalid_field", key);
	expect_err(key, "{}", "invalid_field", key);
}

static void test_price(void **state)
{
	char *json = offer_with("price", "19.99");
	lshop_offer o;
	lshop_error err;

	(void)state;
	/* compare_at is 29.99 in the base: keep prices below it. */
	expect_ok("price", "\"29.9899\"", &o);
	assert_string_equal(o.price, "29.9899");
	expect_ok("price", "\"0\"", &o);
	assert_string_equal(o.price, "0");
	expect_ok("price", "\"1.5\"", &o);
	price_cases("price");
	expect_err("price", NULL, "missing_field", "price");
	/* The message says what is wrong and what is allowed. */
	assert_int_equal(lshop_offer_parse(json, strlen(json), NULL, &o, &err),
			 -1);
	assert_non_null(strstr(err.message,
			       "price must be a decimal string like \"19.99\" "
			       "(up to 9 digits, 4 decimals)"));
	assert_non_null(strstr(err.message, "JSON number"));
	free(json);
}

static void test_compare_at(void **state)
{
	lshop_offer o;

	(void)state;
	expect_ok("compare_at", NULL, &o);
	assert_string_equal(o.compare_at, "");
	expect_ok("compare_at", "null", &o);
	assert_string_equal(o.compare_at, "");
	expect_ok("compare_at", "\"20\"", &o);
	assert_string_equal(o.compare_at, "20");
	expect_ok("compare_at", "\"19.9901\"", &o);
	expect_ok("compare_at", "\"123456789.1234\"", &o);
	/* Numerically, not as text: 19.990 == 19.99, 9.99 < 19.99. */
	expect_err("compare_at", "\"19.99\"", "invalid_field", "compare_at");
	expect_err("compare_at", "\"19.990\"", "invalid_field", "compare_at");
	expect_err("compare_at", "\"019.99\"", "invalid_field", "compare_at");
	expect_err("compare_at", "\"9.99\"", "invalid_field", "compare_at");
	expect_err("compare_at", "\"19.9899\"", "invalid_field", "compare_at");
	expect_err("compare_at", "\"0\"", "invalid_field", "compare_at");
	price_cases("compare_at");
}

static void test_currency(void **state)
{
	lshop_offer o;

	(void)state;
	expect_ok("currency", "\"USD\"", &o);
	assert_string_equal(o.currency, "USD");
	expect_ok("currency", "\"CHF\"", &o);
	expect_err("currency", "\"eur\"", "invalid_field", "currency");
	expect_err("currency", "\"EU\"", "invalid_field", "currency");
	expect_err("currency", "\"EURO\"", "invalid_field", "currency");
	expect_err("currency", "\"E1R\"", "invalid_field", "currency");
	expect_err("currency", "\"\xc3\x84UR\"", "invalid_field", "currency");
	expect_err("currency", "\"\"", "invalid_field", "currency");
	expect_err("currency", "978", "invalid_field", "currency");
	expect_err("currency", NULL, "missing_field", "currency");
}

static void test_stock(void **state)
{
	lshop_offer o;

	(void)state;
	expect_ok("stock", NULL, &o);
	assert_true(o.stock == LSHOP_STOCK_UNLIMITED);
	expect_ok("stock", "null", &o);
	assert_true(o.stock == LSHOP_STOCK_UNLIMITED);
	expect_ok("stock", "0", &o);
	assert_true(o.stock == 0);
	expect_ok("stock", "50", &o);
	assert_true(o.stock == 50);
	expect_ok("stock", "9007199254740993", &o);
	assert_true(o.stock == INT64_C(9007199254740993));
	expect_err("stock", "-1", "invalid_field", "stock");
	expect_err("stock", "1.5", "invalid_field", "stock");
	expect_err("stock", "1.0", "invalid_field", "stock");
	expect_err("stock", "1e2", "invalid_field", "stock");
	expect_err("stock", "true", "invalid_field", "stock");
	expect_err("stock", "false", "invalid_field", "stock");
	expect_err("stock", "\"5\"", "invalid_field", "stock");
	expect_err("stock", "{}", "invalid_field", "stock");
}

static void url_cases(const char *key)
{
	static const char *const good[] = {
	    "https://shop.example/p/123",
	    "http://shop.example",
	    "HTTPS://SHOP.EXAMPLE/P",
	    "HtTp://h:8080/x?y=1&z=%20#frag",
	    "https://[::1]:8443/p",
	    "https://shop.example?q=1",
	    "https://shop.example#top",
	    "https://user:pw@shop.example/",
	    "https://xn--bcher-kva.example/~a!$&'()*+,;=:@",
	};
	static const char *const bad[] = {
	    "ftp://shop.example/p",
	    "//shop.example/p",
	    "shop.example/p",
	    "/p/123",
	    "javascript:alert(1)",
	    "data:text/html,x",
	    "https:/shop.example",
	    "https://",
	    "https:///p",
	    "https://?q",
	    "https://:443/p",
	    "https://user@/p",
	    "https://h:80x/p",
	    "https://[::1/p",
	    "https://shop.example/a b",
	    "https://shop.example/a\tb",
	    "https://shop.example/a\r\nb",
	    "https://shop.example/\x7f",
	    "https://shop.example/\xc3\xa9",
	    "https://shop.example/\"",
	    "https://shop.example/<",
	    "https://shop.example/>",
	    "https://shop.example/\\",
	    "https://shop.example/^",
	    "https://shop.example/`",
	    "https://shop.example/{",
	    "https://shop.example/|",
	    "https://shop.example/}",
	    " https://shop.example/",
	    "",
	};
	char *long_url, *q;
	lshop_offer o;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		q = json_quote(good[i], strlen(good[i]));
		expect_ok(key, q, &o);
		assert_string_equal(strcmp(key, "url") ? o.image : o.url,
				    good[i]);
		free(q);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		q = json_quote(bad[i], strlen(bad[i]));
		expect_err(key, q, "invalid_field", key);
		free(q);
	}
	/* 2048 bytes is the limit. */
	long_url = malloc(2050);
	assert_non_null(long_url);
	strcpy(long_url, "https://shop.example/");
	memset(long_url + strlen(long_url), 'a', 2048 - strlen(long_url));
	long_url[2048] = '\0';
	q = json_quote(long_url, 2048);
	expect_ok(key, q, &o);
	assert_int_equal(strlen(strcmp(key, "url") ? o.image : o.url), 2048);
	free(q);
	long_url[2048] = 'a';
	long_url[2049] = '\0';
	q = json_quote(long_url, 2049);
	expect_err(key, q, "invalid_field", key);
	free(q);
	free(long_url);
	expect_err(key, "42", "invalid_field", key);
}

static void test_url(void **state)
{
	(void)state;
	url_cases("url");
	expect_err("url", NULL, "missing_field", "url");
}

static void test_image(void **state)
{
	lshop_offer o;

	(void)state;
	url_cases("image");
	expect_ok("image", NULL, &o);
	assert_string_equal(o.image, "");
}

static void test_disclosure(void **state)
{
	static const char *const kinds[] = {"ad", "sponsored", "affiliate",
					    "gifted", "own"};
	char raw[32];
	lshop_offer o;
	size_t i;

	(void)state;
	for (i = 0; i < 5; i++) {
		snprintf(raw, sizeof(raw), "\"%s\"", kinds[i]);
		expect_ok("disclosure", raw, &o);
		assert_string_equal(o.disclosure, kinds[i]);
		assert_true(
		    lshop_disclosure_kind_valid(kinds[i], strlen(kinds[i])));
	}
	expect_ok("disclosure", NULL, &o);
	assert_string_equal(o.disclosure, "");
	expect_err("disclosure", "\"Ad\"", "invalid_field", "disclosure");
	expect_err("disclosure", "\"paid\"", "invalid_field", "disclosure");
	expect_err("disclosure", "\"ads\"", "invalid_field", "disclosure");
	expect_err("disclosure", "\"\"", "invalid_field", "disclosure");
	expect_err("disclosure", "true", "invalid_field", "disclosure");
	assert_false(lshop_disclosure_kind_valid("a", 1));
	assert_false(lshop_disclosure_kind_valid(NULL, 0));
}

static void test_disclosure_text(void **state)
{
	static const char *const kinds[] = {"ad", "sponsored", "affiliate",
					    "gifted", "own"};
	static const char *const en[] = {"Ad", "Sponsored", "Affiliate link",
					 "Gifted", "Own product"};
	static const char *const de[] = {"Anzeige", "Werbung", "Affiliate-Link",
					 "Unbezahlte Werbung",
					 "Eigenes Produkt"};
	static const char *const de_locales[] = {"de", "de-DE", "de_AT",
						 "DE-ch", "de_DE.UTF-8"};
	static const char *const en_locales[] = {"en", "en-US", "fr",   "",
						 "d",  "deu",   "es-DE"};
	size_t k, l;

	(void)state;
	for (k = 0; k < 5; k++) {
		for (l = 0; l < 5; l++)
			assert_string_equal(
			    lshop_disclosure_text(kinds[k], de_locales[l]),
			    de[k]);
		for (l = 0; l < 7; l++)
			assert_string_equal(
			    lshop_disclosure_text(kinds[k], en_locales[l]),
			    en[k]);
		assert_string_equal(lshop_disclosure_text(kinds[k], NULL),
				    en[k]);
	}
	assert_null(lshop_disclosure_text("paid", "de"));
	assert_null(lshop_disclosure_text("", "en"));
	assert_null(lshop_disclosure_text("Ad", "en"));
	assert_null(lshop_disclosure_text(NULL, "de"));
}

static void test_unknown_field(void **state)
{
	(void)state;
	expect_err("colour", "\"red\"", "unknown_field", "colour");
	expect_err("Price", "\"1\"", "unknown_field", "Price");
	expect_err("stock_count", "1", "unknown_field", "stock_count");
}

static void test_not_an_object(void **state)
{
	static const char *const bad[] = {
	    "",
	    "[]",
	    "[{\"id\":\"a\"}]",
	    "\"x\"",
	    "42",
	    "null",
	    "{",
	    "{\"id\":}",
	    "{} x",
	    "{\"id\":\"a\",\"id\":\"b\"}", /* duplicate key */
	    "\xff",
	};
	lshop_offer o;
	lshop_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    lshop_offer_parse(bad[i], strlen(bad[i]), NULL, &o, &err),
		    -1);
		assert_string_equal(err.code, "invalid_json");
		assert_string_equal(err.field, "");
		assert_true(strlen(err.message) > 10);
	}
	assert_int_equal(lshop_offer_parse(NULL, 0, NULL, &o, &err), -1);
	assert_string_equal(err.code, "invalid_json");
	/* The length bounds the text. */
	assert_int_equal(
	    lshop_offer_parse(base_json, strlen(base_json) - 1, NULL, &o, &err),
	    -1);
	assert_string_equal(err.code, "invalid_json");
}

static void test_error_json(void **state)
{
	char *json = offer_with("currency", "\"eur\"");
	lshop_offer o;
	lshop_error err;
	json_t *v, *e;
	char *s;

	(void)state;
	assert_int_equal(lshop_offer_parse(json, strlen(json), NULL, &o, &err),
			 -1);
	s = lshop_error_json(&err);
	assert_non_null(s);
	v = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(v);
	e = json_object_get(v, "error");
	assert_string_equal(json_string_value(json_object_get(e, "code")),
			    "invalid_field");
	assert_string_equal(json_string_value(json_object_get(e, "field")),
			    "currency");
	assert_string_equal(json_string_value(json_object_get(e, "message")),
			    err.message);
	json_decref(v);
	free(s);
	free(json);
}

static void test_to_json(void **state)
{
	lshop_offer o;
	lshop_error err;
	size_t len;
	char *s;

	(void)state;
	assert_int_equal(
	    lshop_offer_parse(base_json, strlen(base_json), NULL, &o, &err), 0);
	s = lshop_offer_to_json(&o, &len);
	assert_non_null(s);
	assert_string_equal(s, base_json);
	assert_int_equal(len, strlen(base_json));
	free(s);

	/* Absent optional fields are left out. */
	o.compare_at[0] = '\0';
	o.stock = LSHOP_STOCK_UNLIMITED;
	o.image[0] = '\0';
	o.disclosure[0] = '\0';
	s = lshop_offer_to_json(&o, NULL);
	assert_string_equal(s, "{\"id\":\"sku-123\",\"title\":\"Vitamin C "
			       "Serum 30 ml\",\"price\":\"19.99\",\"currency\""
			       ":\"EUR\",\"url\":\"https://shop.example/p/"
			       "123\"}");
	free(s);
	o.stock = 0;
	s = lshop_offer_to_json(&o, NULL);
	assert_non_null(strstr(s, "\"currency\":\"EUR\",\"stock\":0,\"url\""));
	free(s);
}

static void assert_offer_equal(const lshop_offer *a, const lshop_offer *b)
{
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->title, b->title);
	assert_string_equal(a->price, b->price);
	assert_string_equal(a->compare_at, b->compare_at);
	assert_string_equal(a->currency, b->currency);
	assert_true(a->stock == b->stock);
	assert_string_equal(a->url, b->url);
	assert_string_equal(a->image, b->image);
	assert_string_equal(a->disclosure, b->disclosure);
	assert_string_equal(a->checkout, b->checkout);
	assert_string_equal(a->commission, b->commission);
}

static void test_hostile_titles_round_trip(void **state)
{
	const char *titles[N_HOSTILE + 2];
	char *e120 = repeat("\xc3\xa9", 120),
	     *g120 = repeat("\xf0\x9f\x98\x80", 120);
	lshop_offer o, back;
	lshop_error err;
	size_t i, len;
	char *q, *json, *s;

	(void)state;
	for (i = 0; i < N_HOSTILE; i++)
		titles[i] = hostile_titles[i];
	titles[N_HOSTILE] = e120;
	titles[N_HOSTILE + 1] = g120;
	for (i = 0; i < N_HOSTILE + 2; i++) {
		q = json_quote(titles[i], strlen(titles[i]));
		json = offer_with("title", q);
		assert_int_equal(
		    lshop_offer_parse(json, strlen(json), NULL, &o, &err), 0);
		assert_string_equal(o.title, titles[i]);
		s = lshop_offer_to_json(&o, &len);
		assert_non_null(s);
		/* UTF-8 goes out as is, never as \u escapes. */
		if ((unsigned char)titles[i][0] >= 0x80)
			assert_non_null(strstr(s, titles[i]));
		assert_null(strstr(s, "\\u00"));
		assert_int_equal(lshop_offer_parse(s, len, NULL, &back, &err),
				 0);
		assert_offer_equal(&o, &back);
		free(s);
		free(json);
		free(q);
	}
	free(e120);
	free(g120);
}

static void test_stream_names(void **state)
{
	static const char *const good[] = {"live/demo", "a/b", "A-z.0_9/x.y",
					   "live/..a", "live/.a"};
	static const char *const bad[] = {
	    "live",     "live/",  "/demo",   "live/demo/x",   "live/.",
	    "live/..",  "./demo", "../demo", "live/de mo",    "live\\demo",
	    "live/d:1", "",       "/",       "live/d\xc3\xa9"};
	char *p64 = repeat("a", 64), *p65 = repeat("a", 65), *s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(lshop_stream_valid(good[i], strlen(good[i])));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(lshop_stream_valid(bad[i], strlen(bad[i])));
	s = fmt("%s/%s", p64, p64);
	assert_true(lshop_stream_valid(s, strlen(s)));
	free(s);
	s = fmt("%s/%s", p64, p65);
	assert_false(lshop_stream_valid(s, strlen(s)));
	free(s);
	s = fmt("%s/x", p65);
	assert_false(lshop_stream_valid(s, strlen(s)));
	free(s);
	assert_false(lshop_stream_valid("live/demo", 5));
	assert_false(lshop_stream_valid(NULL, 0));
	free(p64);
	free(p65);
}

/* The shared table of SPEC §16's buy URL rule (the player passes it too). */
static void test_buy_url_table(void **state)
{
	char out[LSHOP_BUY_URL_MAX];
	json_error_t jerr;
	json_t *doc, *cases, *c, *buy, *co;
	const char *checkout;
	size_t i;
	int n;

	(void)state;
	doc = json_load_file(LIVESHOP_BUY_URLS, 0, &jerr);
	if (doc == NULL)
		fail_msg("%s: %s", LIVESHOP_BUY_URLS, jerr.text);
	cases = json_object_get(doc, "cases");
	assert_true(json_array_size(cases) >= 20);
	json_array_foreach(cases, i, c) {
		co = json_object_get(c, "checkout");
		checkout = co != NULL ? json_string_value(co) : NULL;
		buy = json_object_get(c, "buy");
		memset(out, 'x', sizeof(out));
		n = lshop_buy_url(
		    json_string_value(json_object_get(c, "url")), checkout,
		    json_string_value(json_object_get(c, "stream")),
		    json_string_value(json_object_get(c, "source")), out,
		    sizeof(out));
		if (json_is_null(buy)) {
			if (n != -1)
				fail_msg("%s: gave %s, wanted none",
					 json_string_value(
					     json_object_get(c, "name")),
					 out);
			assert_string_equal(out, "");
			continue;
		}
		if (n < 0 || strcmp(out, json_string_value(buy)) != 0)
			fail_msg("%s: gave %s (%d), wanted %s",
				 json_string_value(json_object_get(c, "name")),
				 n < 0 ? "none" : out, n,
				 json_string_value(buy));
		assert_int_equal(n, strlen(out));
	}
	json_decref(doc);
}

static void test_buy_url_bounds(void **state)
{
	static const char url[] = "https://shop.example/p?a=1";
	static const char want[] = "https://shop.example/p?a=1&ls_stream="
				   "live%2Fdemo&ls_src=qr";
	char out[LSHOP_BUY_URL_MAX], *longest, *path;
	lshop_offer o;
	size_t cap;

	(void)state;
	/* Exactly enough room, and one byte less: none, never a cut URL. */
	cap = sizeof(want);
	assert_int_equal(lshop_buy_url(url, NULL, "live/demo", "qr", out, cap),
			 sizeof(want) - 1);
	assert_string_equal(out, want);
	assert_int_equal(
	    lshop_buy_url(url, NULL, "live/demo", "qr", out, cap - 1), -1);
	assert_string_equal(out, "");
	assert_int_equal(lshop_buy_url(NULL, NULL, "live/demo", "qr", out,
				       sizeof(out)),
			 -1);
	assert_int_equal(
	    lshop_buy_url(url, NULL, NULL, "qr", out, sizeof(out)), -1);

	/* The longest url and stream an offer can have fit. */
	path = repeat("a", 2048 - 21);
	longest = fmt("https://shop.example/%s", path);
	free(path);
	assert_int_equal(strlen(longest), LSHOP_URL_MAX);
	memset(&o, 0, sizeof(o));
	memcpy(o.url, longest, LSHOP_URL_MAX + 1);
	{
		char *p64 = repeat("a", 64), *stream = fmt("%s/%s", p64, p64);

		assert_true(lshop_offer_buy_url(&o, stream, "qr", out,
						sizeof(out)) > 0);
		strcpy(o.checkout, "https://buy.stripe.com/x?"
				   "client_reference_id={ref}&s={stream}"
				   "&c={src}");
		assert_true(lshop_offer_buy_url(&o, stream, "qr", out,
						sizeof(out)) > 0);
		assert_null(strstr(out, "shop.example"));
		free(stream);
		free(p64);
	}
	free(longest);
}

static void test_ref(void **state)
{
	static const char *const bad[] = {
	    "",          "ls1p_",       "ls1x_bGl2ZS9kZW1v", "ls2p_bGl2ZS9kZW1v",
	    "ls1pbGl2",  "LS1p_bGl2ZS9kZW1v", "ls1p_bGl2ZS9kZW1v=",
	    "ls1p_bGl2ZS+kZW1v", "ls1p_ZGVtbw", /* "demo": no '/' */
	    "ls1p_Li4vZXRj" /* "../etc" */};
	char ref[LSHOP_REF_MAX], stream[LSHOP_STREAM_MAX + 1];
	char *p64 = repeat("z", 64), *longest = fmt("%s/%s", p64, p64);
	const char *source = NULL;
	size_t i;

	(void)state;
	assert_int_equal(lshop_ref_encode("live/demo", "qr", ref, sizeof(ref)),
			 17);
	assert_string_equal(ref, "ls1q_bGl2ZS9kZW1v");
	assert_int_equal(lshop_ref_decode(ref, strlen(ref), stream, &source),
			 0);
	assert_string_equal(stream, "live/demo");
	assert_string_equal(source, "qr");
	/* the longest stream stays within Stripe's 200 characters */
	assert_true(lshop_ref_encode(longest, "player", ref, sizeof(ref)) <
		    200);
	assert_int_equal(lshop_ref_decode(ref, strlen(ref), stream, &source),
			 0);
	assert_string_equal(stream, longest);
	assert_string_equal(source, "player");
	assert_int_equal(lshop_ref_encode("demo", "qr", ref, sizeof(ref)), -1);
	assert_int_equal(lshop_ref_encode("live/demo", "tv", ref, sizeof(ref)),
			 -1);
	assert_int_equal(lshop_ref_encode("live/demo", "qr", ref, 17), -1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (lshop_ref_decode(bad[i], strlen(bad[i]), stream,
				     &source) == 0)
			fail_msg("took %s as a reference", bad[i]);
	free(longest);
	free(p64);
}

static void test_checkout_and_commission(void **state)
{
	lshop_offer o;
	char *s;

	(void)state;
	expect_ok("checkout",
		  "\"https://shop.example/cart/1:1?attributes[liveshop_stream]"
		  "={stream}&attributes[liveshop_src]={src}\"",
		  &o);
	assert_string_equal(o.checkout,
			    "https://shop.example/cart/1:1?attributes["
			    "liveshop_stream]={stream}&attributes[liveshop_src]"
			    "={src}");
	s = lshop_offer_to_json(&o, NULL);
	assert_non_null(strstr(s, "\"checkout\":\"https://shop.example/cart/"));
	free(s);
	expect_ok("checkout", "\"https://buy.stripe.com/x?"
			      "client_reference_id={ref}\"", &o);
	expect_err("checkout", "\"https://shop.example/c?src={src}\"",
		   "invalid_field", "checkout");
	expect_err("checkout", "\"https://shop.example/c?s={stream}&x={x}\"",
		   "invalid_field", "checkout");
	expect_err("checkout", "\"https://shop.example/c?s={stream}}\"",
		   "invalid_field", "checkout");
	expect_err("checkout", "\"https://{stream}.shop.example/\"",
		   "invalid_field", "checkout");
	expect_err("checkout", "\"ftp://shop.example/?s={stream}\"",
		   "invalid_field", "checkout");
	expect_err("checkout", "\"https://shop.example/?s={stream} \"",
		   "invalid_field", "checkout");
	expect_err("checkout", "1", "invalid_field", "checkout");

	expect_ok("commission", "\"0.10\"", &o);
	assert_string_equal(o.commission, "0.10");
	s = lshop_offer_to_json(&o, NULL);
	assert_non_null(strstr(s, "\"commission\":\"0.10\""));
	free(s);
	expect_ok("commission", "\"1\"", &o);
	expect_ok("commission", "\"0\"", &o);
	expect_err("commission", "\"1.0001\"", "invalid_field", "commission");
	expect_err("commission", "0.1", "invalid_field", "commission");
	expect_err("commission", "\"-0.1\"", "invalid_field", "commission");
	expect_err("commission", "\"10%\"", "invalid_field", "commission");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base_offer),
	    cmocka_unit_test(test_only_required),
	    cmocka_unit_test(test_id),
	    cmocka_unit_test(test_id_from_path),
	    cmocka_unit_test(test_title),
	    cmocka_unit_test(test_price),
	    cmocka_unit_test(test_compare_at),
	    cmocka_unit_test(test_currency),
	    cmocka_unit_test(test_stock),
	    cmocka_unit_test(test_url),
	    cmocka_unit_test(test_image),
	    cmocka_unit_test(test_disclosure),
	    cmocka_unit_test(test_disclosure_text),
	    cmocka_unit_test(test_unknown_field),
	    cmocka_unit_test(test_not_an_object),
	    cmocka_unit_test(test_error_json),
	    cmocka_unit_test(test_to_json),
	    cmocka_unit_test(test_hostile_titles_round_trip),
	    cmocka_unit_test(test_stream_names),
	    cmocka_unit_test(test_buy_url_table),
	    cmocka_unit_test(test_buy_url_bounds),
	    cmocka_unit_test(test_ref),
	    cmocka_unit_test(test_checkout_and_commission),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
