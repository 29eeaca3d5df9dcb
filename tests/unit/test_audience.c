/*
 * Counting viewers without personal data (audience.h): HyperLogLog
 * sketches and their text form, viewer hashes, session ids, days and
 * token buckets.
 */
#include "lshop/audience.h"
#include "lshop/offer.h"

#include "testutil.h"

/*
 * The bound every estimate must meet: 3 standard errors of a sketch of
 * 2048 registers, 3 · 1.04 / sqrt(2048) = 0.0689 (6.9 %).
 */
#define BOUND 0.0690

/* splitmix64 (Steele, Lea, Flood 2014): well-mixed hashes of a counter. */
static uint64_t mix(uint64_t x)
{
	uint64_t z = x + UINT64_C(0x9e3779b97f4a7c15);

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* The sketch of the hashes of counters from..to-1. */
static void fill(lshop_hll *h, uint64_t from, uint64_t to)
{
	uint64_t i;

	for (i = from; i < to; i++)
		lshop_hll_add(h, mix(i));
}

static void assert_near(uint64_t est, uint64_t n)
{
	double off = (double)est - (double)n;

	if (off < 0)
		off = -off;
	if (off > BOUND * (double)n)
		fail_msg("estimate %llu for %llu distinct is %.2f %% off, "
			 "more than %.2f %%",
			 (unsigned long long)est, (unsigned long long)n,
			 100.0 * off / (double)n, 100.0 * BOUND);
}

static const uint8_t salt_a[LSHOP_SALT_LEN] = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

static uint64_t vhash(const uint8_t *salt, const char *stream, const char *id)
{
	uint64_t h = 0;

	assert_int_equal(
	    lshop_viewer_hash(salt, stream, strlen(stream), id, strlen(id), &h),
	    0);
	return h;
}

static void test_hll_empty(void **state)
{
	lshop_hll h;

	(void)state;
	memset(&h, 0x2a, sizeof(h));
	lshop_hll_init(&h);
	assert_int_equal(lshop_hll_count(&h), 0);
	memset(&h, 0, sizeof(h)); /* a zeroed sketch is empty too */
	assert_int_equal(lshop_hll_count(&h), 0);
	assert_int_equal(sizeof(h), 2048);
}

/* Where a hash lands: top 11 bits the register, then the first 1 bit. */
static void test_hll_layout(void **state)
{
	lshop_hll h;
	size_t i, set = 0;

	(void)state;
	lshop_hll_init(&h);
	assert_int_equal(
	    lshop_hll_add(&h, UINT64_C(5) << 53 | UINT64_C(1) << 52), 1);
	assert_int_equal(h.reg[5], 1);
	/* A smaller rank changes nothing; a larger one raises it. */
	assert_int_equal(
	    lshop_hll_add(&h, UINT64_C(5) << 53 | UINT64_C(1) << 52), 0);
	assert_int_equal(
	    lshop_hll_add(&h, UINT64_C(5) << 53 | UINT64_C(1) << 50), 1);
	assert_int_equal(h.reg[5], 3);
	assert_int_equal(
	    lshop_hll_add(&h, UINT64_C(5) << 53 | UINT64_C(1) << 51), 0);
	assert_int_equal(h.reg[5], 3);
	/* All 53 low bits 0: 64 - 11 + 1. */
	assert_int_equal(lshop_hll_add(&h, UINT64_C(5) << 53), 1);
	assert_int_equal(h.reg[5], LSHOP_HLL_REG_MAX);
	assert_int_equal(LSHOP_HLL_REG_MAX, 54);
	assert_int_equal(lshop_hll_add(&h, UINT64_C(2047) << 53 | 1), 1);
	assert_int_equal(h.reg[2047], 53);
	assert_int_equal(lshop_hll_add(&h, UINT64_MAX), 0);
	assert_int_equal(lshop_hll_add(&h, 0), 1);
	assert_int_equal(h.reg[0], 54);
	for (i = 0; i < LSHOP_HLL_M; i++)
		set += h.reg[i] != 0;
	assert_int_equal(set, 3);
	assert_int_equal(lshop_hll_count(&h), 3);
}

static void test_hll_counts(void **state)
{
	static const uint64_t ns[] = {1,    2,     10,     100,
				      1000, 10000, 100000, 1000000};
	lshop_hll h;
	size_t k;

	(void)state;
	lshop_hll_init(&h);
	assert_int_equal(lshop_hll_count(&h), 0);
	/* Grown set by set, so each n is checked on its own sketch. */
	for (k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		fill(&h, k == 0 ? 0 : ns[k - 1], ns[k]);
		assert_near(lshop_hll_count(&h), ns[k]);
	}
	/* Under a few registers taken, linear counting is exact. */
	lshop_hll_init(&h);
	fill(&h, 0, 1);
	assert_int_equal(lshop_hll_count(&h), 1);
	/* Other hashes, same accuracy: 10 000 viewers of lshop_viewer_hash. */
	lshop_hll_init(&h);
	for (k = 0; k < 10000; k++) {
		char id[32];

		snprintf(id, sizeof(id), "session-%06zu", k);
		lshop_hll_add(&h, vhash(salt_a, "live/demo", id));
	}
	assert_near(lshop_hll_count(&h), 10000);
}

static void test_hll_duplicates(void **state)
{
	lshop_hll h, before;
	uint64_t count, i;

	(void)state;
	lshop_hll_init(&h);
	fill(&h, 0, 1000);
	count = lshop_hll_count(&h);
	before = h;
	for (i = 0; i < 1000; i++)
		assert_int_equal(lshop_hll_add(&h, mix(i)), 0);
	for (i = 999; i < 1000; i--)
		assert_int_equal(lshop_hll_add(&h, mix(i)), 0);
	assert_memory_equal(&h, &before, sizeof(h));
	assert_int_equal(lshop_hll_count(&h), count);
	/* 1 viewer seen 10 000 times is 1 viewer. */
	lshop_hll_init(&h);
	for (i = 0; i < 10000; i++)
		lshop_hll_add(&h, vhash(salt_a, "live/demo", "same-session"));
	assert_int_equal(lshop_hll_count(&h), 1);
}

static void test_hll_merge(void **state)
{
	lshop_hll a, b, all, copy, empty;

	(void)state;
	lshop_hll_init(&a);
	lshop_hll_init(&b);
	lshop_hll_init(&all);
	lshop_hll_init(&empty);
	fill(&a, 0, 60000);      /* worker or node A */
	fill(&b, 40000, 100000); /* B: 20 000 seen by both */
	fill(&all, 0, 100000);
	assert_near(lshop_hll_count(&a), 60000);
	assert_near(lshop_hll_count(&b), 60000);
	/* The union's sketch exactly, so its count is the union's. */
	assert_int_equal(lshop_hll_merge(&a, &b), 1);
	assert_memory_equal(&a, &all, sizeof(a));
	assert_near(lshop_hll_count(&a), 100000);
	/* Merging again, or an empty sketch, changes nothing. */
	assert_int_equal(lshop_hll_merge(&a, &b), 0);
	assert_int_equal(lshop_hll_merge(&a, &empty), 0);
	assert_memory_equal(&a, &all, sizeof(a));
	/* Into an empty sketch: a copy. Order does not matter. */
	assert_int_equal(lshop_hll_merge(&empty, &b), 1);
	assert_memory_equal(&empty, &b, sizeof(b));
	copy = b;
	lshop_hll_init(&a);
	fill(&a, 0, 60000);
	assert_int_equal(lshop_hll_merge(&copy, &a), 1);
	assert_memory_equal(&copy, &all, sizeof(copy));
}

static int text_chars_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == ':'))
			return 0;
	}
	return 1;
}

/* Round trip of h; returns the length of its text form. */
static size_t round_trip(const lshop_hll *h, const char *prefix)
{
	char buf[LSHOP_HLL_TEXT_MAX + 1];
	lshop_error err;
	lshop_hll back;
	size_t len, n;
	char *t;

	t = lshop_hll_to_text(h, &len);
	assert_non_null(t);
	assert_int_equal(strlen(t), len);
	assert_true(len <= LSHOP_HLL_TEXT_MAX);
	assert_true(text_chars_ok(t, len));
	assert_memory_equal(t, prefix, strlen(prefix));
	n = lshop_hll_write_text(h, buf);
	assert_int_equal(n, len);
	assert_string_equal(buf, t);
	memset(&back, 0x7f, sizeof(back));
	if (lshop_hll_from_text(t, len, &back, &err) != 0)
		fail_msg("%s", err.message);
	assert_memory_equal(&back, h, sizeof(back));
	assert_int_equal(lshop_hll_count(&back), lshop_hll_count(h));
	free(t);
	return len;
}

static void test_hll_text(void **state)
{
	lshop_hll h;
	size_t i, set;
	char *t;

	(void)state;
	lshop_hll_init(&h);
	assert_int_equal(round_trip(&h, "hll1s:"), 6);
	t = lshop_hll_to_text(&h, NULL);
	assert_string_equal(t, "hll1s:");
	free(t);
	/* Known answer: register 0 = 1, register 2047 = 54. */
	h.reg[0] = 1;
	h.reg[2047] = 54;
	t = lshop_hll_to_text(&h, NULL);
	assert_string_equal(t, "hll1s:AABf_2");
	free(t);
	/* 100 viewers: one 3-character entry per register set. */
	lshop_hll_init(&h);
	fill(&h, 0, 100);
	for (i = 0, set = 0; i < LSHOP_HLL_M; i++)
		set += h.reg[i] != 0;
	assert_int_equal(round_trip(&h, "hll1s:"), 6 + 3 * set);
	assert_true(6 + 3 * set <= 306);
	/* 682 registers set is the last sparse sketch, 683 the first
	 * dense. */
	lshop_hll_init(&h);
	for (i = 0; i < 682; i++)
		h.reg[i * 3] = (uint8_t)(1 + i % 54);
	assert_int_equal(round_trip(&h, "hll1s:"), 6 + 3 * 682);
	h.reg[2047] = 7;
	assert_int_equal(round_trip(&h, "hll1:"), 5 + 2048);
	/* Full sketches. */
	lshop_hll_init(&h);
	fill(&h, 0, 1000000);
	assert_int_equal(round_trip(&h, "hll1:"), LSHOP_HLL_TEXT_MAX);
	memset(h.reg, 54, sizeof(h.reg));
	assert_int_equal(round_trip(&h, "hll1:"), 2053);
	/* A register above 54 (not made here) is read and written as 54. */
	h.reg[7] = 200;
	t = lshop_hll_to_text(&h, NULL);
	assert_int_equal(t[5 + 7], '2');
	free(t);
	assert_true(lshop_hll_count(&h) == UINT64_MAX);
	memset(h.reg, 1, sizeof(h.reg));
	t = lshop_hll_to_text(&h, NULL);
	assert_memory_equal(t, "hll1:BBBB", 9);
	assert_int_equal(strspn(t + 5, "B"), 2048);
	free(t);
}

static void refused(const char *s, size_t len, const char *why)
{
	lshop_hll out, before;
	lshop_error err;

	memset(&out, 0xab, sizeof(out));
	before = out;
	memset(&err, 0, sizeof(err));
	if (lshop_hll_from_text(s, len, &out, &err) == 0)
		fail_msg("accepted %s", why);
	assert_string_equal(err.code, "invalid_sketch");
	assert_string_equal(err.field, "");
	assert_true(strlen(err.message) > 10);
	assert_memory_equal(&out, &before, sizeof(out));
}

static void accepted(const char *s, size_t len, uint64_t count)
{
	lshop_error err;
	lshop_hll out;

	if (lshop_hll_from_text(s, len, &out, &err) != 0)
		fail_msg("refused %.*s: %s", (int)(len > 40 ? 40 : len), s,
			 err.message);
	assert_int_equal(lshop_hll_count(&out), count);
}

/* "hll1:" and 2048 registers of c, with bad at position at. */
static char *dense(char c, size_t at, char bad, size_t n)
{
	char *s = malloc(5 + n + 1);
	size_t i;

	assert_non_null(s);
	memcpy(s, "hll1:", 5);
	for (i = 0; i < n; i++)
		s[5 + i] = c;
	if (at < n)
		s[5 + at] = bad;
	s[5 + n] = '\0';
	return s;
}

static void test_hll_text_malformed(void **state)
{
	static const char *const bad_sparse[] = {
	    "",                /* no prefix */
	    "hll1",            /* prefix cut */
	    "hll1s",           /* prefix cut */
	    "HLL1s:",          /* case */
	    "hll2s:",          /* version */
	    "hll1x:AAB",       /* form */
	    " hll1s:",         /* space before */
	    "hll1s: ",         /* space after */
	    "hll1s:AAB\n",     /* newline after */
	    "hll1s:AA",        /* entry cut */
	    "hll1s:AABA",      /* entry cut */
	    "hll1s:AAA",       /* value 0 */
	    "hll1s:AA3",       /* value 55 */
	    "hll1s:AA_",       /* value 63 */
	    "hll1s:gAB",       /* index 2048 */
	    "hll1s:__B",       /* index 4095 */
	    "hll1s:ABBAAB",    /* indices decreasing */
	    "hll1s:AABAAB",    /* index twice */
	    "hll1s:AA+",       /* standard base64 */
	    "hll1s:A/B",       /* standard base64 */
	    "hll1s:AB=",       /* padding */
	    "hll1s:A,B",       /* comma */
	    "hll1s:A\"B",      /* quote */
	    "hll1s:A\xc3\xa9", /* UTF-8 */
	};
	char *s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_sparse) / sizeof(bad_sparse[0]); i++)
		refused(bad_sparse[i], strlen(bad_sparse[i]), bad_sparse[i]);
	refused(NULL, 0, "NULL");
	refused("hll1s:AA\0", 9, "NUL as a value");
	refused("hll1s:AAB", 8, "a length cutting the last entry");
	/* Dense: exactly 2048 registers, each 0..54 in base64url. */
	s = dense('A', SIZE_MAX, 0, 2047);
	refused(s, strlen(s), "2047 registers");
	free(s);
	s = dense('A', SIZE_MAX, 0, 2049);
	refused(s, strlen(s), "2049 registers");
	free(s);
	refused("hll1:", 5, "no registers");
	{
		static const char bads[] = {'3', '9', '-',  '_', '+',  '/', '=',
					    ',', '"', '\n', ' ', '\0', '.'};
		size_t k;

		for (k = 0; k < sizeof(bads); k++) {
			s = dense('B', k * 157, bads[k], 2048);
			refused(s, 5 + 2048, "a bad register character");
			free(s);
		}
	}
	/* The edges that are fine. */
	accepted("hll1s:", 6, 0);
	accepted("hll1s:AAB", 9, 1);
	accepted("hll1s:f_2", 9, 1);
	accepted("hll1s:AABAB2f_2", 15, 3);
	s = dense('A', SIZE_MAX, 0, 2048);
	accepted(s, 5 + 2048, 0); /* dense though sparse is shorter */
	free(s);
	s = dense('2', SIZE_MAX, 0, 2048);
	{
		/* Absurd but well-formed: every register 54. The count
		 * saturates instead of overflowing. */
		lshop_error err;
		lshop_hll out;

		assert_int_equal(lshop_hll_from_text(s, 5 + 2048, &out, &err),
				 0);
		assert_true(lshop_hll_count(&out) == UINT64_MAX);
	}
	free(s);
	/* Bytes after the length given are not read. */
	accepted("hll1s:AABAAB", 9, 1);
}

/* Mangled texts never crash; what is accepted writes back the same. */
static void test_hll_text_fuzz(void **state)
{
	char buf[LSHOP_HLL_TEXT_MAX + 8], again[LSHOP_HLL_TEXT_MAX + 1];
	static const char pool[] = "AB_-2389azf:s\"\n,=+";
	lshop_hll h, out;
	lshop_error err;
	uint64_t r = 1;
	size_t base_len, len, round, k;
	int form;

	(void)state;
	for (form = 0; form < 2; form++) {
		lshop_hll_init(&h);
		fill(&h, 0, form ? 50000 : 200);
		base_len = lshop_hll_write_text(&h, buf);
		for (round = 0; round < 3000; round++) {
			char t[sizeof(buf)];

			memcpy(t, buf, base_len);
			len = base_len;
			for (k = 0; k < 1 + round % 3; k++) {
				r = mix(r);
				t[r % len] =
				    pool[(r >> 32) % (sizeof(pool) - 1)];
			}
			r = mix(r);
			if (r % 4 == 0)
				len = (size_t)(r >> 16) % (len + 1);
			if (lshop_hll_from_text(t, len, &out, &err) == 0) {
				size_t n = lshop_hll_write_text(&out, again);
				lshop_hll back;

				assert_int_equal(
				    lshop_hll_from_text(again, n, &back, &err),
				    0);
				assert_memory_equal(&back, &out, sizeof(out));
			}
		}
	}
}

static void test_viewer_hash(void **state)
{
	uint8_t salt_b[LSHOP_SALT_LEN];
	char *long_id;
	uint64_t h, seen[1000];
	size_t i, j;

	(void)state;
	/* SipHash-2-4's own vectors (the paper's appendix; key 00..0f,
	 * messages 00 01 02 ... of 0 and 15 bytes) */
	{
		uint8_t key[16], msg[15];

		for (i = 0; i < 16; i++)
			key[i] = (uint8_t)i;
		for (i = 0; i < 15; i++)
			msg[i] = (uint8_t)i;
		assert_true(lshop_siphash24(key, msg, 0) ==
			    UINT64_C(0x726fdb47dd0e0e31));
		assert_true(lshop_siphash24(key, msg, 15) ==
			    UINT64_C(0xa129ca6149be45e5));
	}
	/* Known answer: SipHash-2-4 keyed with the salt's halves XORed
	 * (all 0x10 here) of "live/demo" 0x00 "sess-12345678", from an
	 * independent implementation in Python */
	assert_true(vhash(salt_a, "live/demo", "sess-12345678") ==
		    UINT64_C(0xa72cd96036025215));
	/* Stable for the same inputs. */
	assert_true(vhash(salt_a, "live/demo", "sess-12345678") ==
		    vhash(salt_a, "live/demo", "sess-12345678"));
	/* Another salt (one bit), stream or id: another viewer. */
	memcpy(salt_b, salt_a, sizeof(salt_b));
	salt_b[31] ^= 1;
	assert_true(vhash(salt_b, "live/demo", "sess-12345678") !=
		    vhash(salt_a, "live/demo", "sess-12345678"));
	assert_true(vhash(salt_a, "live/demo2", "sess-12345678") !=
		    vhash(salt_a, "live/demo", "sess-12345678"));
	assert_true(vhash(salt_a, "live/demo", "sess-12345679") !=
		    vhash(salt_a, "live/demo", "sess-12345678"));
	/* The 0x00 separates stream and id. */
	assert_true(vhash(salt_a, "a", "bc") != vhash(salt_a, "ab", "c"));
	assert_true(vhash(salt_a, "live/x", "y") !=
		    vhash(salt_a, "live/", "xy"));
	/* Addresses as ids are fine too; 1000 ids, 1000 hashes. */
	for (i = 0; i < 1000; i++) {
		char id[64];

		snprintf(id, sizeof(id), "[2001:db8::%zx]:%zu", i, 40000 + i);
		seen[i] = vhash(salt_a, "live/demo", id);
		for (j = 0; j < i; j++)
			assert_true(seen[j] != seen[i]);
	}
	/* Limits: id 1..256 bytes, stream up to LSHOP_STREAM_MAX. */
	long_id = repeat("x", LSHOP_VIEWER_ID_MAX + 1);
	h = 42;
	assert_int_equal(lshop_viewer_hash(salt_a, "live/demo", 9, long_id,
					   LSHOP_VIEWER_ID_MAX, &h),
			 0);
	assert_true(h != 42);
	h = 42;
	assert_int_equal(lshop_viewer_hash(salt_a, "live/demo", 9, long_id,
					   LSHOP_VIEWER_ID_MAX + 1, &h),
			 -1);
	assert_int_equal(lshop_viewer_hash(salt_a, "live/demo", 9, "", 0, &h),
			 -1);
	assert_int_equal(lshop_viewer_hash(salt_a, "live/demo", 9, NULL, 0, &h),
			 -1);
	assert_int_equal(lshop_viewer_hash(salt_a, long_id,
					   LSHOP_STREAM_MAX + 1,
					   "sess-12345678", 13, &h),
			 -1);
	assert_int_equal(h, 42);
	assert_int_equal(lshop_viewer_hash(salt_a, long_id, LSHOP_STREAM_MAX,
					   "sess-12345678", 13, &h),
			 0);
	free(long_id);
}

static void test_audience_day(void **state)
{
	(void)state;
	assert_int_equal(lshop_audience_day(0), 0);
	assert_int_equal(lshop_audience_day(86399999), 0);
	assert_int_equal(lshop_audience_day(86400000), 1);
	assert_int_equal(lshop_audience_day(-1), -1);
	assert_int_equal(lshop_audience_day(-86400000), -1);
	assert_int_equal(lshop_audience_day(-86400001), -2);
	/* 2026-11-24 is day 20781: 00:00:00.000Z to 23:59:59.999Z. */
	assert_int_equal(lshop_audience_day(INT64_C(1795478399999)), 20780);
	assert_int_equal(lshop_audience_day(INT64_C(1795478400000)), 20781);
	assert_int_equal(lshop_audience_day(INT64_C(1795564799999)), 20781);
	assert_int_equal(lshop_audience_day(INT64_C(1795564800000)), 20782);
	assert_true(lshop_audience_day(INT64_MIN) < 0);
	assert_true(lshop_audience_day(INT64_MAX) > 0);
}

static void test_session_valid(void **state)
{
	char *s;

	(void)state;
	assert_true(lshop_session_valid("abcdefgh", 8));
	assert_false(lshop_session_valid("abcdefg", 7));
	assert_false(lshop_session_valid("", 0));
	assert_false(lshop_session_valid(NULL, 0));
	assert_true(lshop_session_valid("AZaz09_-", 8));
	assert_true(lshop_session_valid("k3J_9-xQ2mPz7vYb", 16));
	s = repeat("a", 65);
	assert_true(lshop_session_valid(s, 64));
	assert_false(lshop_session_valid(s, 65));
	free(s);
	assert_false(lshop_session_valid("abcdefg.", 8));
	assert_false(lshop_session_valid("abcdefg+", 8));
	assert_false(lshop_session_valid("abcd/efg", 8));
	assert_false(lshop_session_valid("abcd efg", 8));
	assert_false(lshop_session_valid("abcdefg=", 8));
	assert_false(lshop_session_valid("abc\0defg", 8));
	assert_false(lshop_session_valid("abcdef\xc3\xa9", 8));
	assert_false(lshop_session_valid("abcdefg\n", 8));
	/* The length given counts, not the NUL. */
	assert_true(lshop_session_valid("abcdefgh+", 8));
}

static void test_bucket_burst_refill(void **state)
{
	lshop_bucket b;
	int i;

	(void)state;
	memset(&b, 0, sizeof(b)); /* starts full */
	for (i = 0; i < 5; i++)
		assert_int_equal(lshop_bucket_take(&b, 1000, 1, 5), 1);
	assert_int_equal(lshop_bucket_take(&b, 1000, 1, 5), 0);
	assert_int_equal(lshop_bucket_take(&b, 1000, 1, 5), 0);
	/* A refusal takes nothing: a token a second comes back on time. */
	assert_int_equal(lshop_bucket_take(&b, 1999, 1, 5), 0);
	assert_int_equal(lshop_bucket_take(&b, 2000, 1, 5), 1);
	assert_int_equal(lshop_bucket_take(&b, 2000, 1, 5), 0);
	assert_int_equal(lshop_bucket_take(&b, 2500, 1, 5), 0);
	assert_int_equal(lshop_bucket_take(&b, 3000, 1, 5), 1);
	/* A long pause fills it to burst, no more. */
	for (i = 0; i < 5; i++)
		assert_int_equal(lshop_bucket_take(&b, 60000, 1, 5), 1);
	assert_int_equal(lshop_bucket_take(&b, 60000, 1, 5), 0);
	/* 10 a second: one each 100 ms is fine, one each 90 ms is not. */
	memset(&b, 0, sizeof(b));
	for (i = 0; i < 100; i++)
		assert_int_equal(lshop_bucket_take(&b, 100 * i, 10, 1), 1);
	memset(&b, 0, sizeof(b));
	assert_int_equal(lshop_bucket_take(&b, 0, 10, 1), 1);
	assert_int_equal(lshop_bucket_take(&b, 90, 10, 1), 0);
	assert_int_equal(lshop_bucket_take(&b, 99, 10, 1), 0);
	assert_int_equal(lshop_bucket_take(&b, 100, 10, 1), 1);
	/* A zeroed bucket is full whatever the clock, 0 and below too. */
	memset(&b, 0, sizeof(b));
	assert_int_equal(lshop_bucket_take(&b, 0, 1, 2), 1);
	assert_int_equal(lshop_bucket_take(&b, 0, 1, 2), 1);
	assert_int_equal(lshop_bucket_take(&b, 0, 1, 2), 0);
	memset(&b, 0, sizeof(b));
	assert_int_equal(lshop_bucket_take(&b, -5000, 1, 1), 1);
	assert_int_equal(lshop_bucket_take(&b, -5000, 1, 1), 0);
	/* Its at_ms is 0: a clock below that refills only once past it. */
	assert_int_equal(lshop_bucket_take(&b, -4000, 1, 1), 0);
	assert_int_equal(lshop_bucket_take(&b, 999, 1, 1), 0);
	assert_int_equal(lshop_bucket_take(&b, 1000, 1, 1), 1);
}

static void test_bucket_clock_back(void **state)
{
	lshop_bucket b;
	int i;

	(void)state;
	memset(&b, 0, sizeof(b));
	for (i = 0; i < 3; i++)
		assert_int_equal(lshop_bucket_take(&b, 10000, 1, 3), 1);
	assert_int_equal(lshop_bucket_take(&b, 10000, 1, 3), 0);
	/* Back 5 s: nothing added, at_ms kept. */
	assert_int_equal(lshop_bucket_take(&b, 5000, 1, 3), 0);
	assert_int_equal(b.at_ms, 10000);
	assert_int_equal(lshop_bucket_take(&b, 9000, 1, 3), 0);
	/* Forward again: only time past 10000 counts. */
	assert_int_equal(lshop_bucket_take(&b, 10999, 1, 3), 0);
	assert_int_equal(lshop_bucket_take(&b, 11000, 1, 3), 1);
	assert_int_equal(lshop_bucket_take(&b, 11000, 1, 3), 0);
	/* Two workers whose clocks differ by a few ms, taking turns, get
	 * no more than the rate: 100 a second over 1 s is 100 + burst. */
	memset(&b, 0, sizeof(b));
	{
		int allowed = 0, ms;

		for (ms = 0; ms < 1000; ms++) {
			allowed += lshop_bucket_take(&b, 100000 + ms, 100, 5);
			allowed +=
			    lshop_bucket_take(&b, 100000 + ms - 7, 100, 5);
		}
		assert_true(allowed <= 100 + 5);
		assert_true(allowed >= 99);
	}
}

static void test_bucket_edges(void **state)
{
	lshop_bucket b;
	int i;

	(void)state;
	/* No rate: the burst, and nothing more ever. */
	memset(&b, 0, sizeof(b));
	assert_int_equal(lshop_bucket_take(&b, 0, 0, 2), 1);
	assert_int_equal(lshop_bucket_take(&b, 0, 0, 2), 1);
	assert_int_equal(lshop_bucket_take(&b, INT64_MAX, 0, 2), 0);
	assert_int_equal(lshop_bucket_take(&b, INT64_MAX, -5, 2), 0);
	/* No burst: nothing. */
	memset(&b, 0, sizeof(b));
	assert_int_equal(lshop_bucket_take(&b, 0, 100, 0), 0);
	assert_int_equal(lshop_bucket_take(&b, 0, 100, -1), 0);
	/* Extremes do not overflow. */
	memset(&b, 0, sizeof(b));
	b.at_ms = INT64_MIN;
	assert_int_equal(lshop_bucket_take(&b, INT64_MAX, INT64_MAX, INT64_MAX),
			 1);
	assert_int_equal(lshop_bucket_take(&b, INT64_MAX, INT64_MAX, INT64_MAX),
			 1);
	memset(&b, 0, sizeof(b));
	b.at_ms = INT64_MIN;
	assert_int_equal(lshop_bucket_take(&b, INT64_MIN + 1, INT64_MAX, 1), 1);
	assert_int_equal(lshop_bucket_take(&b, INT64_MAX, INT64_MAX, 1), 1);
	assert_int_equal(lshop_bucket_take(&b, INT64_MAX, INT64_MAX, 1), 0);
	/* A bucket read back with a spent count out of range is clamped. */
	b.spent_milli = -1000000;
	b.at_ms = 0;
	for (i = 0; i < 3; i++)
		assert_int_equal(lshop_bucket_take(&b, 0, 1, 3), 1);
	assert_int_equal(lshop_bucket_take(&b, 0, 1, 3), 0);
	b.spent_milli = INT64_MAX;
	assert_int_equal(lshop_bucket_take(&b, 0, 1, 3), 0);
	assert_int_equal(lshop_bucket_take(&b, 1000, 1, 3), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hll_empty),
	    cmocka_unit_test(test_hll_layout),
	    cmocka_unit_test(test_hll_counts),
	    cmocka_unit_test(test_hll_duplicates),
	    cmocka_unit_test(test_hll_merge),
	    cmocka_unit_test(test_hll_text),
	    cmocka_unit_test(test_hll_text_malformed),
	    cmocka_unit_test(test_hll_text_fuzz),
	    cmocka_unit_test(test_viewer_hash),
	    cmocka_unit_test(test_audience_day),
	    cmocka_unit_test(test_session_valid),
	    cmocka_unit_test(test_bucket_burst_refill),
	    cmocka_unit_test(test_bucket_clock_back),
	    cmocka_unit_test(test_bucket_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
