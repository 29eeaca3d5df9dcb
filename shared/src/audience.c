/*
 * liveshop core: counting viewers without personal data (SPEC §14).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "lshop/audience.h"
#include "lshop/codec.h"
#include "lshop/offer.h"

#include "internal.h"

#define DENSE_PREFIX      "hll1:"
#define DENSE_PREFIX_LEN  5
#define SPARSE_PREFIX     "hll1s:"
#define SPARSE_PREFIX_LEN 6
#define SPARSE_ENTRY      3 /* IDX (2 digits) VAL (1 digit) */

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The value of a base64url digit, -1 for another character. */
static int b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Register i. One above 54 can only come from a sketch written by other
 * hands (lshop_hll_add and lshop_hll_from_text never make one): it is
 * read as 54, so that counting and writing it stay defined.
 */
static unsigned reg(const lshop_hll *h, size_t i)
{
	return h->reg[i] > LSHOP_HLL_REG_MAX ? LSHOP_HLL_REG_MAX : h->reg[i];
}

void lshop_hll_init(lshop_hll *h)
{
	memset(h, 0, sizeof(*h));
}

int lshop_hll_add(lshop_hll *h, uint64_t hash)
{
	/* The top P bits pick the register; the register keeps the
	 * largest position of the first 1 bit in the 64 - P bits below
	 * (all of them 0: 64 - P + 1). */
	size_t i = (size_t)(hash >> (64 - LSHOP_HLL_P));
	uint64_t w = hash << LSHOP_HLL_P;
	uint8_t rho =
	    w == 0 ? LSHOP_HLL_REG_MAX : (uint8_t)(__builtin_clzll(w) + 1);

	if (h->reg[i] >= rho)
		return 0;
	h->reg[i] = rho;
	return 1;
}

int lshop_hll_merge(lshop_hll *into, const lshop_hll *from)
{
	int changed = 0;
	size_t i;

	for (i = 0; i < LSHOP_HLL_M; i++) {
		if (from->reg[i] > into->reg[i]) {
			into->reg[i] = from->reg[i];
			changed = 1;
		}
	}
	return changed;
}

/*
 * Natural logarithm of x ≥ 1, so that the core needs no libm: x = f·2^k
 * with f in [1/√2, √2), then ln f = 2·atanh(s), s = (f-1)/(f+1), |s| <
 * 0.172, whose series converges to double precision in a dozen terms.
 */
static double ln_ge1(double x)
{
	static const double ln2 = 0.69314718055994530942;
	static const double sqrt2 = 1.41421356237309504880;
	double s, s2, term, sum;
	unsigned k = 0, n;

	while (x >= 2.0) {
		x /= 2.0;
		k++;
	}
	if (x >= sqrt2) {
		x /= 2.0;
		k++;
	}
	s = (x - 1.0) / (x + 1.0);
	s2 = s * s;
	term = s;
	sum = 0.0;
	for (n = 1; n < 60; n += 2) {
		double add = term / n;

		if (add == 0.0 || sum + add == sum)
			break;
		sum += add;
		term *= s2;
	}
	return 2.0 * sum + k * ln2;
}

uint64_t lshop_hll_count(const lshop_hll *h)
{
	const double m = LSHOP_HLL_M;
	const double alpha = 0.7213 / (1.0 + 1.079 / m);
	double z = 0.0, e;
	unsigned zeros = 0;
	size_t i;

	for (i = 0; i < LSHOP_HLL_M; i++) {
		/* 2^-54 is exact in a double. */
		z += 1.0 / (double)(UINT64_C(1) << reg(h, i));
		zeros += h->reg[i] == 0;
	}
	e = alpha * m * m / z;
	/* Small range: the raw estimate is biased upwards; the share of
	 * empty registers tells more (linear counting). With 64-bit
	 * hashes no large-range correction is needed. */
	if (e <= 2.5 * m && zeros > 0)
		e = m * ln_ge1(m / zeros);
	/* Only a forged sketch (registers near 54) gets this far. */
	if (e >= 18446744073709551615.0)
		return UINT64_MAX;
	return (uint64_t)(e + 0.5);
}

size_t lshop_hll_write_text(const lshop_hll *h,
			    char out[LSHOP_HLL_TEXT_MAX + 1])
{
	size_t set = 0, i, n;

	for (i = 0; i < LSHOP_HLL_M; i++)
		set += h->reg[i] != 0;
	if (SPARSE_PREFIX_LEN + SPARSE_ENTRY * set <
	    DENSE_PREFIX_LEN + LSHOP_HLL_M) {
		memcpy(out, SPARSE_PREFIX, SPARSE_PREFIX_LEN);
		n = SPARSE_PREFIX_LEN;
		for (i = 0; i < LSHOP_HLL_M; i++) {
			if (h->reg[i] == 0)
				continue;
			out[n++] = b64url[i >> 6];
			out[n++] = b64url[i & 63];
			out[n++] = b64url[reg(h, i)];
		}
	} else {
		memcpy(out, DENSE_PREFIX, DENSE_PREFIX_LEN);
		n = DENSE_PREFIX_LEN;
		for (i = 0; i < LSHOP_HLL_M; i++)
			out[n++] = b64url[reg(h, i)];
	}
	out[n] = '\0';
	return n;
}

char *lshop_hll_to_text(const lshop_hll *h, size_t *len)
{
	char *out = malloc(LSHOP_HLL_TEXT_MAX + 1);
	size_t n;

	if (out == NULL)
		return NULL;
	n = lshop_hll_write_text(h, out);
	if (len != NULL)
		*len = n;
	return out;
}

/* A register value at s[at]: 0..54, or -1 with err set. */
static int text_reg(const char *s, size_t at, lshop_error *err)
{
	int v = b64url_value(s[at]);

	if (v < 0) {
		lshop_error_set(err, "invalid_sketch", "",
				"sketch has a character outside base64url at "
				"offset %zu",
				at);
		return -1;
	}
	if (v > LSHOP_HLL_REG_MAX) {
		lshop_error_set(err, "invalid_sketch", "",
				"sketch register at offset %zu is %d, more "
				"than %d",
				at, v, LSHOP_HLL_REG_MAX);
		return -1;
	}
	return v;
}

static int from_dense(const char *s, size_t len, lshop_hll *h, lshop_error *err)
{
	size_t i;
	int v;

	if (len != DENSE_PREFIX_LEN + LSHOP_HLL_M) {
		lshop_error_set(err, "invalid_sketch", "",
				"dense sketch must have %d registers, not %zu",
				LSHOP_HLL_M, len - DENSE_PREFIX_LEN);
		return -1;
	}
	for (i = 0; i < LSHOP_HLL_M; i++) {
		v = text_reg(s, DENSE_PREFIX_LEN + i, err);
		if (v < 0)
			return -1;
		h->reg[i] = (uint8_t)v;
	}
	return 0;
}

static int from_sparse(const char *s, size_t len, lshop_hll *h,
		       lshop_error *err)
{
	size_t at, next = 0;
	int hi, lo, v;

	if ((len - SPARSE_PREFIX_LEN) % SPARSE_ENTRY != 0) {
		lshop_error_set(err, "invalid_sketch", "",
				"sparse sketch must be entries of 3 "
				"characters; %zu are left over",
				(len - SPARSE_PREFIX_LEN) % SPARSE_ENTRY);
		return -1;
	}
	for (at = SPARSE_PREFIX_LEN; at < len; at += SPARSE_ENTRY) {
		size_t i;

		hi = b64url_value(s[at]);
		lo = b64url_value(s[at + 1]);
		if (hi < 0 || lo < 0) {
			lshop_error_set(err, "invalid_sketch", "",
					"sketch has a character outside "
					"base64url at offset %zu",
					hi < 0 ? at : at + 1);
			return -1;
		}
		i = (size_t)hi << 6 | (size_t)lo;
		if (i >= LSHOP_HLL_M) {
			lshop_error_set(err, "invalid_sketch", "",
					"sketch register index %zu at offset "
					"%zu is not below %d",
					i, at, LSHOP_HLL_M);
			return -1;
		}
		if (i < next) {
			lshop_error_set(err, "invalid_sketch", "",
					"sketch register index %zu at offset "
					"%zu does not follow the one before",
					i, at);
			return -1;
		}
		v = text_reg(s, at + 2, err);
		if (v < 0)
			return -1;
		if (v == 0) {
			lshop_error_set(err, "invalid_sketch", "",
					"sparse sketch lists register %zu "
					"with value 0 at offset %zu",
					i, at + 2);
			return -1;
		}
		h->reg[i] = (uint8_t)v;
		next = i + 1;
	}
	return 0;
}

int lshop_hll_from_text(const char *s, size_t len, lshop_hll *out,
			lshop_error *err)
{
	lshop_hll h;
	int r;

	if (s == NULL)
		len = 0;
	lshop_hll_init(&h);
	if (len >= SPARSE_PREFIX_LEN &&
	    memcmp(s, SPARSE_PREFIX, SPARSE_PREFIX_LEN) == 0)
		r = from_sparse(s, len, &h, err);
	else if (len >= DENSE_PREFIX_LEN &&
		 memcmp(s, DENSE_PREFIX, DENSE_PREFIX_LEN) == 0)
		r = from_dense(s, len, &h, err);
	else {
		lshop_error_set(err, "invalid_sketch", "",
				"sketch must start with \"" SPARSE_PREFIX
				"\" or \"" DENSE_PREFIX "\"");
		r = -1;
	}
	if (r == 0)
		memcpy(out, &h, sizeof(h));
	return r;
}

int lshop_salt_new(uint8_t salt[LSHOP_SALT_LEN])
{
	return RAND_bytes(salt, LSHOP_SALT_LEN) == 1 ? 0 : -1;
}

int64_t lshop_audience_day(int64_t ms)
{
	const int64_t day = INT64_C(86400000);
	int64_t d = ms / day;

	/* C division truncates toward 0; a day starts at its midnight. */
	if (ms % day < 0)
		d--;
	return d;
}

/*
 * SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed pseudorandom
 * function made for hashing short inputs fast, here over the viewer's id
 * with a key only the zone knows. About 20 times cheaper than an HMAC,
 * which matters: it runs for every playlist request.
 */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                               \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = ROTL(v1, 13);                                             \
		v1 ^= v0;                                                      \
		v0 = ROTL(v0, 32);                                             \
		v2 += v3;                                                      \
		v3 = ROTL(v3, 16);                                             \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = ROTL(v3, 21);                                             \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = ROTL(v1, 17);                                             \
		v1 ^= v2;                                                      \
		v2 = ROTL(v2, 32);                                             \
	} while (0)

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

uint64_t lshop_siphash24(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t *in = data, *end = in + (len - len % 8);
	uint64_t k0 = le64(key), k1 = le64(key + 8), m, b;
	uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575);
	uint64_t v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
	uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261);
	uint64_t v3 = k1 ^ UINT64_C(0x7465646279746573);
	size_t i;

	for (; in != end; in += 8) {
		m = le64(in);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	b = (uint64_t)len << 56;
	for (i = len % 8; i > 0; i--)
		b |= (uint64_t)in[i - 1] << (8 * (i - 1));
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

int lshop_viewer_hash(const uint8_t salt[LSHOP_SALT_LEN], const char *stream,
		      size_t stream_len, const char *id, size_t id_len,
		      uint64_t *hash)
{
	uint8_t msg[LSHOP_STREAM_MAX + 1 + LSHOP_VIEWER_ID_MAX];
	uint8_t key[16];
	size_t i;

	if (salt == NULL || id == NULL || id_len == 0 ||
	    id_len > LSHOP_VIEWER_ID_MAX || stream_len > LSHOP_STREAM_MAX ||
	    (stream == NULL && stream_len > 0))
		return -1;
	/* every byte of the salt is in the key */
	for (i = 0; i < 16; i++)
		key[i] = salt[i] ^ salt[i + 16];
	if (stream_len > 0)
		memcpy(msg, stream, stream_len);
	msg[stream_len] = 0x00;
	memcpy(msg + stream_len + 1, id, id_len);
	*hash = lshop_siphash24(key, msg, stream_len + 1 + id_len);
	/* The id may be an address: leave no copy of it behind. */
	OPENSSL_cleanse(msg, sizeof(msg));
	OPENSSL_cleanse(key, sizeof(key));
	return 0;
}

int lshop_session_valid(const char *s, size_t len)
{
	size_t i;

	if (s == NULL || len < 8 || len > 64)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

int lshop_bucket_take(lshop_bucket *b, int64_t now_ms, int64_t rate_per_s,
		      int64_t burst)
{
	/* Capacity in thousandths of a token, clamped so it cannot
	 * overflow; rate_per_s tokens a second are rate_per_s thousandths
	 * a millisecond. */
	int64_t cap;

	if (burst <= 0)
		return 0;
	cap = burst > INT64_MAX / 1000 ? INT64_MAX / 1000 * 1000 : burst * 1000;
	if (b->spent_milli < 0 || b->spent_milli > cap)
		b->spent_milli = b->spent_milli < 0 ? 0 : cap;
	if (now_ms > b->at_ms) {
		/* now_ms - at_ms can overflow when at_ms is negative. */
		uint64_t elapsed = (uint64_t)now_ms - (uint64_t)b->at_ms;

		if (rate_per_s > 0) {
			uint64_t owed = (uint64_t)b->spent_milli;
			uint64_t rate = (uint64_t)rate_per_s;

			if (elapsed >= owed / rate + 1)
				b->spent_milli = 0;
			else
				b->spent_milli -= (int64_t)(elapsed * rate);
		}
		b->at_ms = now_ms;
	}
	if (b->spent_milli > cap - 1000)
		return 0;
	b->spent_milli += 1000;
	return 1;
}

/* Tallies */

void lshop_audience_init(lshop_audience *a, const char *show_id)
{
	memset(a, 0, sizeof(*a));
	if (show_id != NULL)
		snprintf(a->show_id, sizeof(a->show_id), "%s", show_id);
}

lshop_audience_offer *lshop_audience_offer_of(lshop_audience *a,
					      const char *offer_id)
{
	lshop_audience_offer *o;
	size_t i;

	if (offer_id == NULL || offer_id[0] == '\0')
		return NULL;
	for (i = 0; i < a->noffers; i++)
		if (strcmp(a->offers[i].offer_id, offer_id) == 0)
			return &a->offers[i];
	if (a->noffers == LSHOP_AUDIENCE_OFFERS_MAX)
		return NULL;
	o = &a->offers[a->noffers++];
	memset(o, 0, sizeof(*o));
	snprintf(o->offer_id, sizeof(o->offer_id), "%s", offer_id);
	return o;
}

void lshop_audience_see(lshop_audience *a, uint64_t hash,
			const char *pinned_offer)
{
	lshop_audience_offer *o = lshop_audience_offer_of(a, pinned_offer);

	lshop_hll_add(&a->unique, hash);
	if (o != NULL)
		lshop_hll_add(&o->unique, hash);
}

static int64_t add_sat(int64_t x, int64_t y)
{
	return x > INT64_MAX - y ? INT64_MAX : x + y;
}

/* viewers × elapsed, saturating: watch time never wraps. */
static int64_t watch_of(int64_t viewers, int64_t elapsed_ms)
{
	if (viewers <= 0 || elapsed_ms <= 0)
		return 0;
	if (viewers > INT64_MAX / elapsed_ms)
		return INT64_MAX;
	return viewers * elapsed_ms;
}

void lshop_audience_tally(lshop_audience *a, int64_t viewers,
			  int64_t elapsed_ms, const char *pinned_offer)
{
	lshop_audience_offer *o = lshop_audience_offer_of(a, pinned_offer);
	int64_t w = watch_of(viewers, elapsed_ms);

	a->viewers = viewers < 0 ? 0 : viewers;
	a->watch_ms = add_sat(a->watch_ms, w);
	if (a->viewers > a->peak)
		a->peak = a->viewers;
	if (o == NULL)
		return;
	o->watch_ms = add_sat(o->watch_ms, w);
	if (a->viewers > o->peak)
		o->peak = a->viewers;
}

void lshop_audience_beacon(lshop_audience *a, int click, const char *offer_id)
{
	lshop_audience_offer *o = lshop_audience_offer_of(a, offer_id);

	if (click)
		a->clicks = add_sat(a->clicks, 1);
	else
		a->impressions = add_sat(a->impressions, 1);
	if (o == NULL)
		return;
	if (click)
		o->clicks = add_sat(o->clicks, 1);
	else
		o->impressions = add_sat(o->impressions, 1);
}

void lshop_audience_merge(lshop_audience *into, const lshop_audience *from)
{
	lshop_audience_offer *o;
	size_t i;

	into->viewers = add_sat(into->viewers, from->viewers);
	into->peak = add_sat(into->peak, from->peak);
	into->watch_ms = add_sat(into->watch_ms, from->watch_ms);
	into->impressions = add_sat(into->impressions, from->impressions);
	into->clicks = add_sat(into->clicks, from->clicks);
	lshop_hll_merge(&into->unique, &from->unique);
	for (i = 0; i < from->noffers; i++) {
		o = lshop_audience_offer_of(into, from->offers[i].offer_id);
		if (o == NULL)
			continue;
		o->peak = add_sat(o->peak, from->offers[i].peak);
		o->watch_ms = add_sat(o->watch_ms, from->offers[i].watch_ms);
		o->impressions =
		    add_sat(o->impressions, from->offers[i].impressions);
		o->clicks = add_sat(o->clicks, from->offers[i].clicks);
		lshop_hll_merge(&o->unique, &from->offers[i].unique);
	}
}
