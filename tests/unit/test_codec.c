/*
 * Byte encodings and primitives (codec.h).
 */
#include "lshop/codec.h"

#include "testutil.h"

struct b64_vector {
	const char *raw;
	const char *std;
	const char *url;
};

/* RFC 4648 §10. */
static const struct b64_vector vectors[] = {
    {"", "", ""},
    {"f", "Zg==", "Zg"},
    {"fo", "Zm8=", "Zm8"},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg==", "Zm9vYg"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
    {"\xfb\xff", "+/8=", "-_8"},
    {"\xfb\xef\xbe", "++++", "----"},
};

static void test_base64_encode(void **state)
{
	char out[64];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		n = lshop_base64_encode(out, vectors[i].raw,
					strlen(vectors[i].raw), 0);
		assert_string_equal(out, vectors[i].std);
		assert_int_equal(n, strlen(vectors[i].std));
		assert_true(n + 1 <= LSHOP_BASE64_LEN(strlen(vectors[i].raw)));
		n = lshop_base64_encode(out, vectors[i].raw,
					strlen(vectors[i].raw), 1);
		assert_string_equal(out, vectors[i].url);
		assert_int_equal(n, strlen(vectors[i].url));
	}
}

static void check_decode(const char *in, const char *want)
{
	uint8_t out[64];
	size_t n = 999;

	assert_int_equal(lshop_base64_decode(out, &n, in, strlen(in)), 0);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, n);
}

static void test_base64_decode(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		check_decode(vectors[i].std, vectors[i].raw);
		check_decode(vectors[i].url, vectors[i].raw);
	}
}

static void test_base64_decode_rejects(void **state)
{
	static const char *const bad[] = {
	    "Z",
	    "Zg=",
	    "Zg===",
	    "=",
	    "====",
	    "Zm9v!",
	    "Zm 9v",
	    "Zm=v",
	    "Zm9v\n",
	    "Zh==",
	    "Zm9=",
	    "Zm8=Zm8=",
	    "Zm9v.",
	    "Zm9v%",
	    "\xc3\xa9"
	    "AA",
	};
	uint8_t out[64];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    lshop_base64_decode(out, &n, bad[i], strlen(bad[i])), -1);
	/* "Zm\0v": a NUL inside the given length. */
	assert_int_equal(lshop_base64_decode(out, &n, "Zm\0v", 4), -1);
}

static void test_base64_round_trip(void **state)
{
	uint8_t raw[300], back[300 * 3 / 4 + 300];
	char enc[LSHOP_BASE64_LEN(300)];
	size_t len, n;
	int url;

	(void)state;
	for (len = 0; len < sizeof(raw); len++)
		raw[len] = (uint8_t)(len * 37 + 11);
	for (len = 0; len <= sizeof(raw); len += 1) {
		for (url = 0; url < 2; url++) {
			lshop_base64_encode(enc, raw, len, url);
			assert_int_equal(
			    lshop_base64_decode(back, &n, enc, strlen(enc)), 0);
			assert_int_equal(n, len);
			assert_memory_equal(back, raw, len);
		}
	}
}

static void test_hmac_rfc4231(void **state)
{
	uint8_t mac[LSHOP_SHA256_LEN], key[20];
	char hex[2 * LSHOP_SHA256_LEN + 1];

	(void)state;
	memset(key, 0x0b, sizeof(key));
	lshop_hmac_sha256(mac, key, sizeof(key), "Hi There", 8);
	lshop_hex_encode(hex, mac, sizeof(mac));
	assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c98"
				 "33da726e9376c2e32cff7");
	lshop_hmac_sha256(mac, "Jefe", 4, "what do ya want for nothing?", 28);
	lshop_hex_encode(hex, mac, sizeof(mac));
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2"
				 "739839dec58b964ec3843");
}

static void test_equal_ct_and_hex(void **state)
{
	char hex[9];

	(void)state;
	assert_true(lshop_equal_ct("abcd", "abcd", 4));
	assert_false(lshop_equal_ct("abcd", "abce", 4));
	assert_false(lshop_equal_ct("\x00\x01", "\x01\x01", 2));
	assert_true(lshop_equal_ct("x", "y", 0));
	lshop_hex_encode(hex, "\x00\x7f\xab\xff", 4);
	assert_string_equal(hex, "007fabff");
}

static void test_utf8_chars(void **state)
{
	char *s;

	(void)state;
	assert_int_equal(lshop_utf8_chars("", 0), 0);
	assert_int_equal(lshop_utf8_chars(NULL, 0), 0);
	assert_int_equal(lshop_utf8_chars("abc", 3), 3);
	assert_int_equal(lshop_utf8_chars("\xc3\xa9", 2), 1);     /* é */
	assert_int_equal(lshop_utf8_chars("\xe2\x82\xac", 3), 1); /* € */
	assert_int_equal(lshop_utf8_chars("\xef\xbf\xbf", 3), 1); /* U+FFFF */
	assert_int_equal(lshop_utf8_chars("\xf0\x9f\x98\x80", 4), 1); /* 😀 */
	assert_int_equal(lshop_utf8_chars("\xf4\x8f\xbf\xbf", 4), 1);
	assert_int_equal(lshop_utf8_chars("\xed\x9f\xbf", 3), 1); /* U+D7FF */
	assert_int_equal(lshop_utf8_chars("\xee\x80\x80", 3), 1); /* U+E000 */
	assert_int_equal(lshop_utf8_chars("\xc2\x80", 2), 1);     /* U+0080 */
	assert_int_equal(lshop_utf8_chars("\xe0\xa0\x80", 3), 1); /* U+0800 */
	assert_int_equal(lshop_utf8_chars("\xf0\x90\x80\x80", 4), 1);
	assert_int_equal(lshop_utf8_chars("a\r\nb", 4), 4);
	s = repeat("\xf0\x9f\x98\x80", 120);
	assert_int_equal(lshop_utf8_chars(s, strlen(s)), 120);
	free(s);
}

static void test_utf8_rejects(void **state)
{
	static const char *const bad[] = {
	    "\xff", /* never in UTF-8 */
	    "\xfe",
	    "\x80",             /* lone continuation */
	    "\xc0\xaf",         /* overlong '/' */
	    "\xc1\xbf",         /* overlong */
	    "\xe0\x80\xaf",     /* overlong, 3 bytes */
	    "\xe0\x9f\xbf",     /* overlong U+07FF */
	    "\xf0\x80\x80\xaf", /* overlong, 4 bytes */
	    "\xf0\x8f\xbf\xbf", /* overlong U+FFFF */
	    "\xed\xa0\x80",     /* surrogate U+D800 */
	    "\xed\xbf\xbf",     /* surrogate U+DFFF */
	    "\xf4\x90\x80\x80", /* U+110000 */
	    "\xf5\x80\x80\x80",
	    "\xf8\x88\x80\x80\x80",
	    "\xc3", /* truncated */
	    "\xe2\x82",
	    "\xf0\x9f\x98",
	    "a\xc3",
	    "\xc3(",
	    "\xe2(\xa1",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(lshop_utf8_chars(bad[i], strlen(bad[i])), -1);
	/* NUL is not a character of a title. */
	assert_int_equal(lshop_utf8_chars("a\0b", 3), -1);
	/* A length that cuts a sequence. */
	assert_int_equal(lshop_utf8_chars("\xc3\xa9", 1), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64_encode),
	    cmocka_unit_test(test_base64_decode),
	    cmocka_unit_test(test_base64_decode_rejects),
	    cmocka_unit_test(test_base64_round_trip),
	    cmocka_unit_test(test_hmac_rfc4231),
	    cmocka_unit_test(test_equal_ct_and_hex),
	    cmocka_unit_test(test_utf8_chars),
	    cmocka_unit_test(test_utf8_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
