/*
 * Stream-scoped control tokens (token.h).
 */
#include "lshop/codec.h"
#include "lshop/token.h"

#include "testutil.h"

#define SECRET "s3cret-for-tests"
#define NOW    INT64_C(1795514400)

static char *mint(const char *stream, int64_t expires)
{
	char *t = lshop_token_mint(SECRET, strlen(SECRET), stream, expires);

	assert_non_null(t);
	return t;
}

static lshop_token_result verify(const char *token, const char *stream,
				 int64_t now)
{
	return lshop_token_verify(SECRET, strlen(SECRET), token, strlen(token),
				  stream, strlen(stream), now);
}

static void test_format(void **state)
{
	char *t = mint("live/demo", 0), *dot1, *dot2, *dot3;
	char signed_part[256], mac_b64[64];
	uint8_t mac[LSHOP_SHA256_LEN], name[64];
	size_t n;

	(void)state;
	/* "ls1." B64URL(stream) "." EXPIRES "." B64URL(mac) */
	assert_memory_equal(t, "ls1.", 4);
	dot1 = strchr(t + 4, '.');
	dot2 = strchr(dot1 + 1, '.');
	assert_non_null(dot2);
	dot3 = strchr(dot2 + 1, '.');
	assert_null(dot3);
	assert_int_equal(
	    lshop_base64_decode(name, &n, t + 4, (size_t)(dot1 - t - 4)), 0);
	assert_int_equal(n, 9);
	assert_memory_equal(name, "live/demo", 9);
	assert_memory_equal(t + 4, "bGl2ZS9kZW1v.0.", 15);
	memcpy(signed_part, t, (size_t)(dot2 - t));
	signed_part[dot2 - t] = '\0';
	assert_string_equal(signed_part, "ls1.bGl2ZS9kZW1v.0");
	lshop_hmac_sha256(mac, SECRET, strlen(SECRET), signed_part,
			  strlen(signed_part));
	lshop_base64_encode(mac_b64, mac, sizeof(mac), 1);
	assert_string_equal(dot2 + 1, mac_b64);
	assert_int_equal(strlen(dot2 + 1), 43);
	free(t);
	t = mint("live/demo", INT64_C(1795514460));
	assert_non_null(strstr(t, ".1795514460."));
	free(t);
}

static void test_ok(void **state)
{
	char *t;

	(void)state;
	t = mint("live/demo", 0);
	assert_int_equal(verify(t, "live/demo", NOW), LSHOP_TOKEN_OK);
	assert_int_equal(verify(t, "live/demo", INT64_MAX), LSHOP_TOKEN_OK);
	free(t);
	t = mint("live/demo", NOW + 60);
	assert_int_equal(verify(t, "live/demo", NOW), LSHOP_TOKEN_OK);
	assert_int_equal(verify(t, "live/demo", NOW + 59), LSHOP_TOKEN_OK);
	free(t);
	t = mint("a/b", INT64_MAX);
	assert_int_equal(verify(t, "a/b", NOW), LSHOP_TOKEN_OK);
	free(t);
}

static void test_expired(void **state)
{
	char *t = mint("live/demo", NOW + 60);

	(void)state;
	assert_int_equal(verify(t, "live/demo", NOW + 60), LSHOP_TOKEN_EXPIRED);
	assert_int_equal(verify(t, "live/demo", NOW + 3600),
			 LSHOP_TOKEN_EXPIRED);
	/* Expiry is decided before the stream. */
	assert_int_equal(verify(t, "live/other", NOW + 61),
			 LSHOP_TOKEN_EXPIRED);
	free(t);
}

static void test_other_stream(void **state)
{
	char *t = mint("live/demo", 0);

	(void)state;
	assert_int_equal(verify(t, "live/other", NOW),
			 LSHOP_TOKEN_OTHER_STREAM);
	assert_int_equal(verify(t, "live/dem", NOW), LSHOP_TOKEN_OTHER_STREAM);
	assert_int_equal(verify(t, "live/demo2", NOW),
			 LSHOP_TOKEN_OTHER_STREAM);
	assert_int_equal(lshop_token_verify(SECRET, strlen(SECRET), t,
					    strlen(t), "live/demo", 4, NOW),
			 LSHOP_TOKEN_OTHER_STREAM);
	free(t);
}

static void test_forged(void **state)
{
	static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
				     "opqrstuvwxyz0123456789-_";
	char *t = mint("live/demo", NOW + 60), *other, *spliced;
	char *mac, *dot;
	size_t i;

	(void)state;
	/* Any changed character of the MAC. */
	mac = strrchr(t, '.') + 1;
	for (i = 0; i < strlen(mac); i++) {
		char keep = mac[i];

		mac[i] = keep == 'A' ? 'B' : 'A';
		assert_int_equal(verify(t, "live/demo", NOW),
				 LSHOP_TOKEN_FORGED);
		mac[i] = keep;
	}
	assert_int_equal(verify(t, "live/demo", NOW), LSHOP_TOKEN_OK);
	(void)b64url;

	/* The stream part of another stream's token. */
	other = mint("live/other", NOW + 60);
	dot = strchr(other + 4, '.');
	spliced = fmt("%.*s%s", (int)(dot - other), other, strchr(t + 4, '.'));
	assert_int_equal(verify(spliced, "live/other", NOW),
			 LSHOP_TOKEN_FORGED);
	free(spliced);
	free(other);

	/* A later expiry. */
	spliced = fmt("ls1.bGl2ZS9kZW1v.%lld.%s", (long long)(NOW + 600), mac);
	assert_int_equal(verify(spliced, "live/demo", NOW), LSHOP_TOKEN_FORGED);
	free(spliced);
	/* No expiry at all. */
	spliced = fmt("ls1.bGl2ZS9kZW1v.0.%s", mac);
	assert_int_equal(verify(spliced, "live/demo", NOW), LSHOP_TOKEN_FORGED);
	free(spliced);

	/* Another secret. */
	assert_int_equal(
	    lshop_token_verify("other", 5, t, strlen(t), "live/demo", 9, NOW),
	    LSHOP_TOKEN_FORGED);
	assert_int_equal(lshop_token_verify(SECRET, strlen(SECRET) - 1, t,
					    strlen(t), "live/demo", 9, NOW),
			 LSHOP_TOKEN_FORGED);
	assert_int_equal(
	    lshop_token_verify("", 0, t, strlen(t), "live/demo", 9, NOW),
	    LSHOP_TOKEN_FORGED);
	/* The MAC is checked before expiry and stream. */
	spliced = fmt("ls1.bGl2ZS9kZW1v.1.%s", mac);
	assert_int_equal(verify(spliced, "live/other", NOW),
			 LSHOP_TOKEN_FORGED);
	free(spliced);
	free(t);
}

static void test_malformed(void **state)
{
	char *t = mint("live/demo", 0), *s, *long_tok;
	const char *mac;
	size_t i;

	(void)state;
	mac = strrchr(t, '.') + 1;
	static const char *const plain[] = {
	    "",
	    "ls1",
	    "ls1.",
	    "ls1...",
	    "Bearer ls1.bGl2ZS9kZW1v.0.x",
	    "ls2.bGl2ZS9kZW1v.0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "LS1.bGl2ZS9kZW1v.0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "ls1.bGl2ZS9kZW1v.0",
	    "ls1.bGl2ZS9kZW1v.0.",
	    "ls1.bGl2ZS9kZW1v.0.AAAA",
	    "ls1..0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "\xff\xfe",
	};
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		assert_int_equal(verify(plain[i], "live/demo", NOW),
				 LSHOP_TOKEN_MALFORMED);

	/* Shapes around a genuine MAC. */
	static const char *const shapes[] = {
	    "ls1.bGl2ZS9kZW1v!.0.%s",  /* outside the alphabet */
	    "ls1.bGl2ZS9kZW1v=.0.%s",  /* padding */
	    "ls1.bGl2ZS9kZW1v+.0.%s",  /* standard alphabet */
	    "ls1.b.0.%s",              /* bad base64 length */
	    "ls1.bGl2ZS9kZW1v.abc.%s", /* expiry not a number */
	    "ls1.bGl2ZS9kZW1v.-1.%s",  /* negative */
	    "ls1.bGl2ZS9kZW1v.00.%s",  /* not canonical */
	    "ls1.bGl2ZS9kZW1v.1e9.%s",
	    "ls1.bGl2ZS9kZW1v..%s",
	    "ls1.bGl2ZS9kZW1v.99999999999999999999.%s", /* > INT64 */
	    "ls1.bGl2ZS9kZW1v.0.%s.",                   /* five parts */
	    "ls1.bGl2ZS9kZW1v.0.0.%s",
	    "ls1.bGl2ZS9kZW1v.0.%sA", /* MAC too long */
	    "ls1.bGl2ZS9kZW1v.0.%s=",
	    " ls1.bGl2ZS9kZW1v.0.%s",
	    "ls1.bGl2ZS9kZW1v.0.%s ",
	    "ls1.bGl2ZS9kZW1v.0.%s\n",
	};
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		s = fmt(shapes[i], mac);
		assert_int_equal(verify(s, "live/demo", NOW),
				 LSHOP_TOKEN_MALFORMED);
		free(s);
	}
	/* A MAC one character short, or with a character outside base64url. */
	s = fmt("ls1.bGl2ZS9kZW1v.0.%.42s", mac);
	assert_int_equal(verify(s, "live/demo", NOW), LSHOP_TOKEN_MALFORMED);
	free(s);
	s = fmt("ls1.bGl2ZS9kZW1v.0.%.42s+", mac);
	assert_int_equal(verify(s, "live/demo", NOW), LSHOP_TOKEN_MALFORMED);
	free(s);

	/* A NUL inside, and a length that cuts the token. */
	s = strdup(t);
	s[10] = '\0';
	assert_int_equal(lshop_token_verify(SECRET, strlen(SECRET), s,
					    strlen(t), "live/demo", 9, NOW),
			 LSHOP_TOKEN_MALFORMED);
	free(s);
	assert_int_equal(lshop_token_verify(SECRET, strlen(SECRET), t,
					    strlen(t) - 1, "live/demo", 9, NOW),
			 LSHOP_TOKEN_MALFORMED);
	assert_int_equal(lshop_token_verify(SECRET, strlen(SECRET), NULL, 0,
					    "live/demo", 9, NOW),
			 LSHOP_TOKEN_MALFORMED);

	/* Over-long. */
	long_tok = repeat("A", 100000);
	memcpy(long_tok, "ls1.", 4);
	assert_int_equal(verify(long_tok, "live/demo", NOW),
			 LSHOP_TOKEN_MALFORMED);
	free(long_tok);
	free(t);
}

static void test_fuzz_never_crashes(void **state)
{
	char *t = mint("live/demo", NOW + 5), *s;
	size_t len = strlen(t), i, j;
	unsigned seed = 12345;
	lshop_token_result r;

	(void)state;
	s = malloc(len + 1);
	assert_non_null(s);
	for (i = 0; i < 20000; i++) {
		memcpy(s, t, len + 1);
		for (j = 0; j < 1 + i % 4; j++) {
			seed = seed * 1103515245 + 12345;
			s[(seed >> 8) % len] = (char)(seed >> 16);
		}
		r = lshop_token_verify(SECRET, strlen(SECRET), s,
				       (seed >> 4) % (len + 1), "live/demo", 9,
				       NOW);
		assert_true(r == LSHOP_TOKEN_MALFORMED ||
			    r == LSHOP_TOKEN_FORGED || r == LSHOP_TOKEN_OK);
	}
	free(s);
	free(t);
}

static void test_mint_refuses(void **state)
{
	static const char *const bad[] = {"live",      "live/", "/demo",
					  "live/../x", "a/b/c", "live/de mo",
					  "live/..",   "live/."};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(
		    lshop_token_mint(SECRET, strlen(SECRET), bad[i], 0));
	assert_null(lshop_token_mint(SECRET, strlen(SECRET), NULL, 0));
	assert_null(lshop_token_mint("", 0, "live/demo", 0));
	assert_null(lshop_token_mint(SECRET, strlen(SECRET), "live/demo", -1));
}

static void test_result_text(void **state)
{
	(void)state;
	assert_string_equal(lshop_token_result_text(LSHOP_TOKEN_OK),
			    "token is valid");
	assert_non_null(lshop_token_result_text(LSHOP_TOKEN_MALFORMED));
	assert_non_null(lshop_token_result_text(LSHOP_TOKEN_FORGED));
	assert_non_null(lshop_token_result_text(LSHOP_TOKEN_EXPIRED));
	assert_non_null(lshop_token_result_text(LSHOP_TOKEN_OTHER_STREAM));
	assert_non_null(lshop_token_result_text((lshop_token_result)42));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_ok),
	    cmocka_unit_test(test_expired),
	    cmocka_unit_test(test_other_stream),
	    cmocka_unit_test(test_forged),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_fuzz_never_crashes),
	    cmocka_unit_test(test_mint_refuses),
	    cmocka_unit_test(test_result_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
