/*
 * liveshop core: purchase webhooks in (SPEC §9) and event webhooks out
 * (SPEC §10).
 *
 * Amounts are kept in units of 1/10000 while an order is read (prices
 * have at most 4 decimals, SPEC §2), so that line totals multiply and add
 * exactly, and are written as decimal strings with the currency's own
 * number of decimals at the end.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "lshop/codec.h"
#include "lshop/webhook.h"

#include "internal.h"

#define WHSEC        "whsec_"
#define WHSEC_LEN    6
#define KEY_B64_MAX  512 /* Standard Webhooks keys are 24-64 bytes */
#define MAC_B64_MAX  88  /* base64 longer than this is no SHA-256 MAC */
#define MAC_HEX_MAX  128
#define TS_DIGITS    19 /* INT64_MAX */
#define QUANTITY_MAX INT64_C(1000000)
/*
 * 999999999999 in 1/10000: 12 integer digits (LSHOP_AMOUNT_DIGITS), and
 * a whole number, so that rounding to the currency's decimals never
 * carries into a 13th.
 */
#define AMOUNT_MAX INT64_C(9999999999990000)
#define SCALE      10000

static const char *const provider_names[] = {"standard", "shopify",
					     "woocommerce", "stripe"};
#define N_PROVIDERS (sizeof(provider_names) / sizeof(provider_names[0]))

int lshop_provider_parse(const char *name, size_t len, lshop_provider *p)
{
	int i = lshop_name_index(provider_names, N_PROVIDERS, name, len);

	if (i < 0)
		return -1;
	*p = (lshop_provider)i;
	return 0;
}

const char *lshop_provider_name(lshop_provider p)
{
	if ((unsigned)p < N_PROVIDERS)
		return provider_names[p];
	return "unknown";
}

/* Delivery and message ids: 1-128 visible ASCII characters. */
static int delivery_id_valid(const char *s, size_t len)
{
	size_t i;

	if (s == NULL || len < 1 || len > LSHOP_DELIVERY_ID_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	return 1;
}

/* A Unix time in seconds: 1-19 digits, no sign. 0, or -1. */
static int parse_seconds(const char *s, size_t len, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	if (len < 1 || len > TS_DIGITS)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' ||
		    v > (INT64_MAX - (s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

typedef struct hmac_key {
	const void *p;
	size_t len;
	uint8_t buf[KEY_B64_MAX * 3 / 4 + 3];
} hmac_key;

/*
 * Standard Webhooks: "whsec_" + base64 of the key bytes; a secret without
 * the prefix is its own bytes. 0, or -1 for a secret no key comes from.
 */
static int standard_key(hmac_key *k, const char *secret, size_t len)
{
	if (secret == NULL || len == 0)
		return -1;
	if (len > WHSEC_LEN && memcmp(secret, WHSEC, WHSEC_LEN) == 0) {
		if (len - WHSEC_LEN > KEY_B64_MAX ||
		    lshop_base64_decode(k->buf, &k->len, secret + WHSEC_LEN,
					len - WHSEC_LEN) != 0 ||
		    k->len == 0) {
			OPENSSL_cleanse(k->buf, sizeof(k->buf));
			return -1;
		}
		k->p = k->buf;
		return 0;
	}
	if (len == WHSEC_LEN && memcmp(secret, WHSEC, WHSEC_LEN) == 0)
		return -1;
	k->p = secret;
	k->len = len;
	return 0;
}

/*
 * The shops' own secrets are used as they are. Stripe's look like
 * "whsec_…" too, but Stripe signs with the whole string as the key.
 */
static int provider_key(hmac_key *k, lshop_provider p, const char *secret,
			size_t len)
{
	if (p == LSHOP_PROVIDER_STANDARD)
		return standard_key(k, secret, len);
	if (secret == NULL || len == 0)
		return -1;
	k->p = secret;
	k->len = len;
	return 0;
}

static void key_clear(hmac_key *k)
{
	OPENSSL_cleanse(k->buf, sizeof(k->buf));
}

int lshop_webhook_secret_check(lshop_provider p, const char *secret, size_t len,
			       lshop_error *err)
{
	hmac_key k;

	if ((unsigned)p >= N_PROVIDERS) {
		lshop_error_set(err, "invalid_provider", "",
				"unknown webhook provider; use standard, "
				"shopify, woocommerce or stripe");
		return -1;
	}
	if (provider_key(&k, p, secret, len) != 0) {
		key_clear(&k);
		lshop_error_set(err, "invalid_secret", "secret",
				"the %s webhook secret is unusable: it must "
				"not be empty%s",
				provider_names[p],
				p == LSHOP_PROVIDER_STANDARD
				    ? ", and after \"whsec_\" comes the key in "
				      "base64"
				    : "");
		return -1;
	}
	key_clear(&k);
	return 0;
}

/* out = HMAC-SHA256(key, prefix + body). 0, or -1 (ENOMEM). */
static int mac_joined(uint8_t out[LSHOP_SHA256_LEN], const hmac_key *k,
		      const char *prefix, size_t prefix_len, const char *body,
		      size_t len)
{
	char *msg;
	int r;

	if (len > SIZE_MAX - prefix_len - 1)
		return -1;
	msg = malloc(prefix_len + len + 1);
	if (msg == NULL)
		return -1;
	memcpy(msg, prefix, prefix_len);
	if (len > 0)
		memcpy(msg + prefix_len, body, len);
	r = lshop_hmac_sha256_ok(out, k->p, k->len, msg, prefix_len + len);
	free(msg);
	return r;
}

static lshop_verify_result missing(lshop_error *err, const char *name,
				   const char *what)
{
	lshop_error_set(err, "missing_signature", name,
			"the request has no %s header; %s", name, what);
	return LSHOP_VERIFY_MISSING;
}

static lshop_verify_result malformed(lshop_error *err, const char *name,
				     const char *what)
{
	lshop_error_set(err, "malformed_signature", name, "%s must be %s", name,
			what);
	return LSHOP_VERIFY_MALFORMED;
}

static lshop_verify_result forged(lshop_error *err, const char *name)
{
	lshop_error_set(err, "forged_signature", name,
			"%s does not match the body: the delivery was "
			"changed, or the shop signs with another secret than "
			"the one configured",
			name);
	return LSHOP_VERIFY_FORGED;
}

static lshop_verify_result internal_error(lshop_error *err)
{
	lshop_error_set(err, "internal_error", "",
			"the signature could not be computed (out of memory)");
	return LSHOP_VERIFY_FORGED;
}

/*
 * SPEC §9: more than 300 s old is a replay, more than 60 s ahead is not
 * a clock we trust. Differences are taken unsigned so that no now_s can
 * overflow them.
 */
static lshop_verify_result check_window(int64_t ts, int64_t now_s,
					const char *name, lshop_error *err)
{
	uint64_t d;

	if (ts > now_s) {
		d = (uint64_t)ts - (uint64_t)now_s;
		if (d <= LSHOP_TOLERANCE_AHEAD)
			return LSHOP_VERIFY_OK;
		lshop_error_set(err, "stale_timestamp", name,
				"%s is %" PRIu64 " s ahead of this server's "
				"clock (at most %d s allowed); check the "
				"clocks",
				name, d, LSHOP_TOLERANCE_AHEAD);
		return LSHOP_VERIFY_STALE;
	}
	d = (uint64_t)now_s - (uint64_t)ts;
	if (d <= LSHOP_TOLERANCE_PAST)
		return LSHOP_VERIFY_OK;
	lshop_error_set(err, "stale_timestamp", name,
			"%s is %" PRIu64 " s old (at most %d s allowed): a "
			"replayed delivery, or the clocks differ",
			name, d, LSHOP_TOLERANCE_PAST);
	return LSHOP_VERIFY_STALE;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex (either case) into out (len / 2 bytes). 0, or -1. */
static int hex_decode(uint8_t *out, const char *s, size_t len)
{
	size_t i;
	int hi, lo;

	if (len % 2 != 0)
		return -1;
	for (i = 0; i < len; i += 2) {
		hi = hex_value(s[i]);
		lo = hex_value(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Skips spaces around a comma-separated entry. */
static void trim(const char **s, size_t *len)
{
	while (*len > 0 && **s == ' ') {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && (*s)[*len - 1] == ' ')
		(*len)--;
}

/*
 * The next entry of s (len bytes) separated by sep, from *pos on, which
 * moves past it. Returns 1, or 0 once the last entry was read.
 */
static int next_entry(const char *s, size_t len, char sep, size_t *pos,
		      const char **e, size_t *elen)
{
	const char *p;

	if (*pos > len)
		return 0;
	*e = s + *pos;
	p = len > *pos ? memchr(*e, sep, len - *pos) : NULL;
	*elen = p != NULL ? (size_t)(p - *e) : len - *pos;
	*pos += *elen + 1;
	return 1;
}

/*
 * Standard Webhooks 1.0. Entries of webhook-signature that are not
 * "v1,BASE64" (other versions such as "v1a,") are skipped, as the spec
 * asks, so a sender can add schemes or rotate keys. Every v1 entry is
 * compared (no early exit on a match), each in constant time.
 */
static lshop_verify_result verify_standard(const hmac_key *k,
					   lshop_header_fn header, void *arg,
					   const char *body, size_t len,
					   int64_t now_s, char *delivery_id,
					   lshop_error *err)
{
	static const char sig_form[] =
	    "a space-separated list of \"v1,BASE64\" signatures";
	char prefix[LSHOP_DELIVERY_ID_MAX + TS_DIGITS + 3];
	uint8_t want[LSHOP_SHA256_LEN], got[MAC_B64_MAX * 3 / 4 + 3];
	const char *id, *ts, *sig, *e;
	size_t id_len = 0, ts_len = 0, sig_len = 0, n, got_len, elen, pos = 0;
	int64_t t;
	int candidates = 0, match = 0;
	lshop_verify_result r;

	id = header(arg, "webhook-id", &id_len);
	if (id == NULL)
		return missing(err, "webhook-id",
			       "Standard Webhooks sign webhook-id, "
			       "webhook-timestamp and webhook-signature");
	ts = header(arg, "webhook-timestamp", &ts_len);
	if (ts == NULL)
		return missing(err, "webhook-timestamp",
			       "Standard Webhooks sign webhook-id, "
			       "webhook-timestamp and webhook-signature");
	sig = header(arg, "webhook-signature", &sig_len);
	if (sig == NULL)
		return missing(err, "webhook-signature",
			       "Standard Webhooks sign webhook-id, "
			       "webhook-timestamp and webhook-signature");
	if (!delivery_id_valid(id, id_len))
		return malformed(err, "webhook-id",
				 "1-128 visible ASCII characters");
	if (parse_seconds(ts, ts_len, &t) != 0)
		return malformed(err, "webhook-timestamp",
				 "a Unix time in whole seconds");

	n = (size_t)snprintf(prefix, sizeof(prefix), "%.*s.%.*s.", (int)id_len,
			     id, (int)ts_len, ts);
	if (mac_joined(want, k, prefix, n, body, len) != 0)
		return internal_error(err);

	while (next_entry(sig, sig_len, ' ', &pos, &e, &elen)) {
		if (elen > 3 && memcmp(e, "v1,", 3) == 0 &&
		    elen - 3 <= MAC_B64_MAX &&
		    lshop_base64_decode(got, &got_len, e + 3, elen - 3) == 0) {
			candidates++;
			/* Another length is forged: nothing to compare. */
			if (got_len == LSHOP_SHA256_LEN)
				match |= lshop_equal_ct(got, want, got_len);
		}
	}
	if (candidates == 0)
		return malformed(err, "webhook-signature", sig_form);
	if (!match)
		return forged(err, "webhook-signature");
	/*
	 * The window is checked after the signature: the timestamp is signed,
	 * so STALE means an authentic delivery replayed (or a clock off),
	 * while anything not signed with the secret says FORGED. Both are
	 * 401.
	 */
	r = check_window(t, now_s, "webhook-timestamp", err);
	if (r != LSHOP_VERIFY_OK)
		return r;
	memcpy(delivery_id, id, id_len);
	delivery_id[id_len] = '\0';
	return LSHOP_VERIFY_OK;
}

/* Shopify and WooCommerce: BASE64(HMAC-SHA256(secret, BODY)). */
static lshop_verify_result
verify_body_mac(const hmac_key *k, const char *sig_name, const char *id_name,
		lshop_header_fn header, void *arg, const char *body, size_t len,
		char *delivery_id, lshop_error *err)
{
	uint8_t want[LSHOP_SHA256_LEN], got[MAC_B64_MAX * 3 / 4 + 3];
	const char *sig, *id;
	size_t sig_len = 0, id_len = 0, got_len;
	int match;

	sig = header(arg, sig_name, &sig_len);
	if (sig == NULL)
		return missing(err, sig_name,
			       "the shop signs every delivery with it");
	if (sig_len == 0 || sig_len > MAC_B64_MAX ||
	    lshop_base64_decode(got, &got_len, sig, sig_len) != 0)
		return malformed(err, sig_name, "the base64 of an HMAC-SHA256");
	if (lshop_hmac_sha256_ok(want, k->p, k->len, body, len) != 0)
		return internal_error(err);
	match = got_len == LSHOP_SHA256_LEN &&
		lshop_equal_ct(got, want, LSHOP_SHA256_LEN);
	if (!match)
		return forged(err, sig_name);
	/* The delivery id is not signed: read only once the body is. */
	id = header(arg, id_name, &id_len);
	if (id != NULL) {
		if (!delivery_id_valid(id, id_len))
			return malformed(err, id_name,
					 "1-128 visible ASCII characters");
		memcpy(delivery_id, id, id_len);
		delivery_id[id_len] = '\0';
	}
	return LSHOP_VERIFY_OK;
}

/*
 * Stripe: "t=TS,v1=HEX[,v1=HEX…][,v0=…]". Several v1 entries come while
 * a secret is being rolled; v0 and other schemes are skipped, as Stripe's
 * libraries do. The MACs are compared as bytes, which is the lower-case
 * hex comparison Stripe asks for, in constant time.
 */
static lshop_verify_result verify_stripe(const hmac_key *k,
					 lshop_header_fn header, void *arg,
					 const char *body, size_t len,
					 int64_t now_s, lshop_error *err)
{
	static const char name[] = "Stripe-Signature";
	static const char form[] = "\"t=TIMESTAMP,v1=HEX[,v1=HEX...]\"";
	char prefix[TS_DIGITS + 2];
	uint8_t want[LSHOP_SHA256_LEN], got[MAC_HEX_MAX / 2];
	const char *sig, *entry, *eq, *ts = NULL;
	size_t sig_len = 0, ts_len = 0, n, elen, pos;
	int64_t t = 0;
	int candidates = 0, match = 0, pass;

	sig = header(arg, name, &sig_len);
	if (sig == NULL)
		return missing(err, name, "Stripe signs every event with it");
	/* Pass 0 finds t and checks the form; pass 1 compares. */
	for (pass = 0; pass < 2; pass++) {
		pos = 0;
		while (next_entry(sig, sig_len, ',', &pos, &entry, &elen)) {
			trim(&entry, &elen);
			if (elen == 0)
				continue;
			eq = memchr(entry, '=', elen);
			if (eq == NULL)
				return malformed(err, name, form);
			n = (size_t)(eq - entry);
			if (pass == 0 && n == 1 && entry[0] == 't') {
				if (ts != NULL)
					return malformed(err, name, form);
				ts = eq + 1;
				ts_len = elen - 2;
				if (parse_seconds(ts, ts_len, &t) != 0)
					return malformed(err, name, form);
			}
			if (n != 2 || memcmp(entry, "v1", 2) != 0)
				continue;
			n = elen - 3;
			if (n == 0 || n > MAC_HEX_MAX ||
			    hex_decode(got, eq + 1, n) != 0)
				continue;
			if (pass == 0)
				candidates++;
			else if (n / 2 == LSHOP_SHA256_LEN)
				/* Another length is forged: no compare. */
				match |=
				    lshop_equal_ct(got, want, LSHOP_SHA256_LEN);
		}
		if (pass == 1)
			break;
		if (ts == NULL || candidates == 0)
			return malformed(err, name, form);
		n = (size_t)snprintf(prefix, sizeof(prefix), "%.*s.",
				     (int)ts_len, ts);
		if (mac_joined(want, k, prefix, n, body, len) != 0)
			return internal_error(err);
	}
	if (!match)
		return forged(err, name);
	/* As for Standard Webhooks: the signature first, then the window. */
	return check_window(t, now_s, name, err);
}

lshop_verify_result lshop_webhook_verify(lshop_provider p, const char *secret,
					 size_t secret_len,
					 lshop_header_fn header, void *arg,
					 const char *body, size_t len,
					 int64_t now_s, char *delivery_id,
					 lshop_error *err)
{
	lshop_verify_result r;
	char ignored[LSHOP_DELIVERY_ID_MAX + 1];
	hmac_key k;

	if (delivery_id == NULL)
		delivery_id = ignored;
	delivery_id[0] = '\0';
	lshop_error_clear(err);
	if (body == NULL && len != 0)
		return malformed(err, "body", "present");
	if ((unsigned)p >= N_PROVIDERS || header == NULL) {
		lshop_error_set(err, "invalid_provider", "",
				"unknown webhook provider");
		return LSHOP_VERIFY_FORGED;
	}
	/* Nothing verifies against an unusable secret: err says that it is
	 * the configuration, though the answer is the same 401. */
	if (provider_key(&k, p, secret, secret_len) != 0) {
		key_clear(&k);
		lshop_error_set(err, "invalid_secret", "",
				"the %s webhook secret configured here is "
				"unusable, so no delivery can be verified",
				provider_names[p]);
		return LSHOP_VERIFY_FORGED;
	}
	switch (p) {
	case LSHOP_PROVIDER_STANDARD:
		r = verify_standard(&k, header, arg, body, len, now_s,
				    delivery_id, err);
		break;
	case LSHOP_PROVIDER_SHOPIFY:
		r = verify_body_mac(&k, "X-Shopify-Hmac-Sha256",
				    "X-Shopify-Webhook-Id", header, arg, body,
				    len, delivery_id, err);
		break;
	case LSHOP_PROVIDER_WOOCOMMERCE:
		r = verify_body_mac(&k, "X-WC-Webhook-Signature",
				    "X-WC-Webhook-Delivery-ID", header, arg,
				    body, len, delivery_id, err);
		break;
	default:
		r = verify_stripe(&k, header, arg, body, len, now_s, err);
		break;
	}
	key_clear(&k);
	if (r != LSHOP_VERIFY_OK)
		delivery_id[0] = '\0';
	return r;
}

/* ---- orders ---- */

/*
 * ISO 4217 minor units: 0 and 3 decimals are the exceptions to 2 (CLF
 * and UYW, units of account, have 4).
 */
static int currency_decimals(const char *c)
{
	static const char zero[] = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF "
				   "UGX UYI VND VUV XAF XOF XPF";
	static const char three[] = "BHD IQD JOD KWD LYD OMR TND";
	static const char four[] = "CLF UYW";

	if (strstr(zero, c) != NULL)
		return 0;
	if (strstr(three, c) != NULL)
		return 3;
	if (strstr(four, c) != NULL)
		return 4;
	return 2;
}

/*
 * The exponent of Stripe's amounts: its zero-decimal and three-decimal
 * lists, which differ from ISO for a few (ISK, for one, is sent in
 * hundredths; MGA in whole units).
 */
static int stripe_exponent(const char *c)
{
	static const char zero[] = "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF "
				   "UGX VND VUV XAF XOF XPF";
	static const char three[] = "BHD JOD KWD OMR TND";

	if (strstr(zero, c) != NULL)
		return 0;
	if (strstr(three, c) != NULL)
		return 3;
	return 2;
}

static const int64_t pow10_tab[] = {1, 10, 100, 1000, 10000};

/* scaled (1/10000) with the currency's decimals, rounded half up. */
static void format_amount(char *out, size_t cap, int64_t scaled,
			  const char *currency)
{
	int d = currency_decimals(currency);
	int64_t div = pow10_tab[4 - d], unit = pow10_tab[d];
	int64_t v = (scaled + div / 2) / div;
	char buf[48];
	size_t n;

	if (d == 0)
		snprintf(buf, sizeof(buf), "%" PRId64, v);
	else
		snprintf(buf, sizeof(buf), "%" PRId64 ".%0*" PRId64, v / unit,
			 d, v % unit);
	n = strlen(buf); /* < cap: AMOUNT_MAX has 12 integer digits */
	if (n >= cap)
		n = cap - 1;
	memcpy(out, buf, n);
	out[n] = '\0';
}

/* The order being read: its items' amounts in 1/10000 until the end. */
typedef struct order_acc {
	lshop_order o;
	int64_t scaled[LSHOP_ORDER_ITEMS_MAX];
} order_acc;

/*
 * Adds a line, merging it into an earlier one of the same offer and
 * currency (shops repeat a SKU across variants and discount splits).
 * list, qty_field and amount_field name the fields for errors.
 */
static int add_item(order_acc *a, const char *offer, size_t offer_len,
		    int64_t quantity, int64_t amount, const char *currency,
		    const char *list, const char *qty_field,
		    const char *amount_field, lshop_error *err)
{
	lshop_order_item *it;
	size_t i;

	for (i = 0; i < a->o.nitems; i++) {
		it = &a->o.items[i];
		if (strlen(it->offer_id) != offer_len ||
		    memcmp(it->offer_id, offer, offer_len) != 0 ||
		    strcmp(it->currency, currency) != 0)
			continue;
		if (it->quantity > QUANTITY_MAX - quantity) {
			lshop_field_error(err, "invalid_field", "", qty_field,
					  "makes more than %" PRId64
					  " units of one offer in one order",
					  QUANTITY_MAX);
			return -1;
		}
		if (a->scaled[i] > AMOUNT_MAX - amount) {
			lshop_field_error(err, "invalid_field", "",
					  amount_field,
					  "makes the offer's total in this "
					  "order too large");
			return -1;
		}
		it->quantity += quantity;
		a->scaled[i] += amount;
		return 0;
	}
	if (a->o.nitems == LSHOP_ORDER_ITEMS_MAX) {
		lshop_field_error(err, "invalid_field", "", list,
				  "holds more than %d different liveshop "
				  "offers",
				  LSHOP_ORDER_ITEMS_MAX);
		return -1;
	}
	it = &a->o.items[a->o.nitems];
	memcpy(it->offer_id, offer, offer_len);
	it->offer_id[offer_len] = '\0';
	it->quantity = quantity;
	memcpy(it->currency, currency, 4);
	a->scaled[a->o.nitems++] = amount;
	return 0;
}

static void finish_amounts(order_acc *a)
{
	size_t i;

	for (i = 0; i < a->o.nitems; i++)
		format_amount(a->o.items[i].amount,
			      sizeof(a->o.items[i].amount), a->scaled[i],
			      a->o.items[i].currency);
}

/* Acknowledged, not counted: err says why. Returns 0. */
static int ignore(lshop_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int ignore(lshop_error *err, const char *field, const char *fmt, ...)
{
	char msg[sizeof(err->message)];
	va_list ap;

	if (err == NULL)
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lshop_error_set(err, "ignored", field, "%s; acknowledged and ignored",
			msg);
	return 0;
}

/* 1 if v is the string s. */
static int is_string(const json_t *v, const char *s)
{
	return json_is_string(v) && json_string_length(v) == strlen(s) &&
	       memcmp(json_string_value(v), s, strlen(s)) == 0;
}

/* A short, printable rendering of a shop's enum value for messages. */
static const char *shown(const json_t *v)
{
	const char *s;
	size_t len, i;

	if (!lshop_json_text(v, &s, &len) || len > 40)
		return "(another value)";
	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] == '"' || s[i] == '\\')
			return "(another value)";
	return s;
}

/*
 * An order id: a string of 1-255 printable ASCII characters, or a whole
 * number ≥ 0 (Shopify and WooCommerce ids are JSON numbers).
 */
static int order_id_field(const json_t *obj, const char *key,
			  const char *prefix, char out[LSHOP_ORDER_ID_MAX + 1],
			  lshop_error *err)
{
	json_t *v = lshop_json_get(obj, key);
	const char *s;
	size_t len, i;

	if (v == NULL) {
		lshop_field_error(err, "missing_field", prefix, key,
				  "is required: the shop's order id");
		return -1;
	}
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		snprintf(out, LSHOP_ORDER_ID_MAX + 1, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		return 0;
	}
	if (lshop_json_text(v, &s, &len) && len >= 1 &&
	    len <= LSHOP_ORDER_ID_MAX) {
		for (i = 0; i < len; i++)
			if (s[i] < 0x20 || s[i] > 0x7e)
				break;
		if (i == len) {
			memcpy(out, s, len);
			out[len] = '\0';
			return 0;
		}
	}
	lshop_field_error(err, "invalid_field", prefix, key,
			  "must be 1-255 printable ASCII characters or a "
			  "whole number");
	return -1;
}

static int stream_value(const json_t *v, const char *field, char *out,
			lshop_error *err)
{
	const char *s;
	size_t len;

	if (!lshop_json_text(v, &s, &len) || !lshop_stream_valid(s, len)) {
		lshop_field_error(err, "invalid_field", "", field,
				  "must be a stream name APP/NAME like "
				  "\"live/demo\" (each part 1-64 of A-Z a-z "
				  "0-9 . _ -)");
		return -1;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/*
 * A currency code: 3 upper-case letters; lower_ok takes Stripe's
 * lower-case codes and upper-cases them.
 */
static int currency_field(const json_t *obj, const char *key,
			  const char *prefix, int lower_ok, char out[4],
			  lshop_error *err)
{
	json_t *v = lshop_json_get(obj, key);
	const char *s;
	size_t len, i;
	char c;

	if (v == NULL) {
		lshop_field_error(err, "missing_field", prefix, key,
				  "is required: an ISO 4217 code like "
				  "\"EUR\"");
		return -1;
	}
	if (!lshop_json_text(v, &s, &len) || len != 3)
		goto bad;
	for (i = 0; i < 3; i++) {
		c = s[i];
		if (lower_ok && c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z')
			goto bad;
		out[i] = c;
	}
	out[3] = '\0';
	return 0;
bad:
	lshop_field_error(err, "invalid_field", prefix, key,
			  "must be 3 %sletters (an ISO 4217 code like "
			  "\"%s\")",
			  lower_ok ? "" : "upper-case ",
			  lower_ok ? "eur" : "EUR");
	return -1;
}

/* Units: at least 1 in an order, 0 too in a refund (amount only). */
static int quantity_field(const json_t *obj, const char *key,
			  const char *prefix, int64_t min, int64_t *q,
			  lshop_error *err)
{
	json_t *v = lshop_json_get(obj, key);

	if (v == NULL) {
		lshop_field_error(err, "missing_field", prefix, key,
				  "is required: a whole number of units, at "
				  "least %" PRId64,
				  min);
		return -1;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > QUANTITY_MAX) {
		lshop_field_error(err, "invalid_field", prefix, key,
				  "must be a whole number from %" PRId64
				  " to %" PRId64,
				  min, QUANTITY_MAX);
		return -1;
	}
	*q = json_integer_value(v);
	return 0;
}

/*
 * An amount as shops send it: a decimal string ("19.99") or a JSON
 * number, ≥ 0, up to 9 digits and 4 decimals; into 1/10000.
 */
static int amount_field(const json_t *obj, const char *key, const char *prefix,
			int64_t *scaled, lshop_error *err)
{
	json_t *v = lshop_json_get(obj, key);
	char buf[64];
	const char *s;
	size_t len;
	double d;

	if (v == NULL) {
		lshop_field_error(err, "missing_field", prefix, key,
				  "is required: a decimal amount like "
				  "\"19.99\"");
		return -1;
	}
	if (json_is_integer(v)) {
		if (json_integer_value(v) >= 0 &&
		    json_integer_value(v) <= 999999999) {
			*scaled = json_integer_value(v) * SCALE;
			return 0;
		}
	} else if (json_is_real(v)) {
		d = json_real_value(v);
		/* Shops' floats carry 2-4 decimals: %.4f rounds 19.99's
		 * binary neighbour back to 19.9900. */
		if (isfinite(d) && d >= 0 && d < 1e9) {
			snprintf(buf, sizeof(buf), "%.4f", d);
			if (lshop_price_scaled(buf, strlen(buf), scaled) == 0)
				return 0;
		}
	} else if (lshop_json_text(v, &s, &len) &&
		   lshop_price_scaled(s, len, scaled) == 0) {
		return 0;
	}
	lshop_field_error(err, "invalid_field", prefix, key,
			  "must be a decimal amount like \"19.99\" (a string "
			  "or a number, at least 0, up to 9 digits and 4 "
			  "decimals)");
	return -1;
}

/*
 * The value of the entry named name in a list of {name_key, value_key}
 * objects (Shopify's note_attributes, WooCommerce's meta_data). Returns 1
 * with *value and *index, 0 if there is none, -1 with err.
 */
static int find_attribute(const json_t *obj, const char *list_key,
			  const char *name_key, const char *value_key,
			  const char *name, json_t **value, size_t *index,
			  lshop_error *err)
{
	json_t *list = lshop_json_get(obj, list_key), *e;
	char field[sizeof(err->field)];
	size_t i;

	if (list == NULL)
		return 0;
	if (!json_is_array(list)) {
		lshop_field_error(err, "invalid_field", "", list_key,
				  "must be a list of objects");
		return -1;
	}
	json_array_foreach(list, i, e)
	{
		if (!json_is_object(e)) {
			snprintf(field, sizeof(field), "%s[%zu]", list_key, i);
			lshop_field_error(err, "invalid_field", "", field,
					  "must be an object");
			return -1;
		}
		if (!is_string(lshop_json_get(e, name_key), name))
			continue;
		*value = lshop_json_get(e, value_key);
		*index = i;
		if (*value == NULL) {
			snprintf(field, sizeof(field), "%s[%zu].", list_key, i);
			lshop_field_error(err, "missing_field", field,
					  value_key,
					  "is required: the stream APP/NAME");
			return -1;
		}
		return 1;
	}
	return 0;
}

/* The stream from a name/value attribute list; 1, 0 when none, -1. */
static int stream_attribute(const json_t *obj, const char *list_key,
			    const char *name_key, const char *value_key,
			    char *stream, lshop_error *err)
{
	char field[sizeof(err->field)];
	json_t *v;
	size_t i;
	int r;

	r = find_attribute(obj, list_key, name_key, value_key,
			   "liveshop_stream", &v, &i, err);
	if (r <= 0)
		return r;
	snprintf(field, sizeof(field), "%s[%zu].%s", list_key, i, value_key);
	return stream_value(v, field, stream, err) == 0 ? 1 : -1;
}

/*
 * Where the buyer came from: LSHOP_SOURCE_PLAYER or LSHOP_SOURCE_QR into
 * out (8 bytes). Anything else leaves "": a source is a hint for the
 * report, and an order is never refused for it.
 */
static void source_set(char *out, const char *s, size_t len)
{
	const char *known = NULL;

	if (s != NULL && len == strlen(LSHOP_SOURCE_PLAYER) &&
	    memcmp(s, LSHOP_SOURCE_PLAYER, len) == 0)
		known = LSHOP_SOURCE_PLAYER;
	else if (s != NULL && len == strlen(LSHOP_SOURCE_QR) &&
		 memcmp(s, LSHOP_SOURCE_QR, len) == 0)
		known = LSHOP_SOURCE_QR;
	len = known != NULL ? strlen(known) : 0;
	memcpy(out, known != NULL ? known : "", len);
	out[len] = '\0';
}

static void source_value(const json_t *v, char *out)
{
	const char *s;
	size_t len;

	if (lshop_json_text(v, &s, &len))
		source_set(out, s, len);
	else
		source_set(out, NULL, 0);
}

/*
 * The source from a name/value attribute list (liveshop_src), read
 * after its stream; entries of another shape are passed over.
 */
static void source_attribute(const json_t *obj, const char *list_key,
			     const char *name_key, const char *value_key,
			     char *source)
{
	json_t *list = lshop_json_get(obj, list_key), *e;
	size_t i;

	source[0] = '\0';
	if (!json_is_array(list))
		return;
	json_array_foreach(list, i, e)
	{
		if (json_is_object(e) &&
		    is_string(lshop_json_get(e, name_key), "liveshop_src")) {
			source_value(lshop_json_get(e, value_key), source);
			return;
		}
	}
}

/* 1 with the SKU when the line names a liveshop offer; 0 to skip it. */
static int line_sku(const json_t *line, const char **sku, size_t *len)
{
	return lshop_json_text(lshop_json_get(line, "sku"), sku, len) &&
	       lshop_id_valid(*sku, *len);
}

/*
 * Shopify and WooCommerce line items. price_each: the amount is a unit
 * price (Shopify's "price") to multiply, else the line total
 * (WooCommerce's "total").
 */
static int shop_lines(const json_t *root, const char *amount_key,
		      int price_each, const char *currency, order_acc *a,
		      lshop_error *err)
{
	json_t *lines = lshop_json_get(root, "line_items"), *line;
	char prefix[sizeof(err->field)], qf[64], af[64];
	const char *sku;
	size_t i, sku_len;
	int64_t q, amount;

	if (lines == NULL) {
		lshop_field_error(err, "missing_field", "", "line_items",
				  "is required: the order's lines");
		return -1;
	}
	if (!json_is_array(lines)) {
		lshop_field_error(err, "invalid_field", "", "line_items",
				  "must be a list of objects");
		return -1;
	}
	json_array_foreach(lines, i, line)
	{
		snprintf(prefix, sizeof(prefix), "line_items[%zu].", i);
		if (!json_is_object(line)) {
			prefix[strlen(prefix) - 1] = '\0';
			lshop_field_error(err, "invalid_field", "", prefix,
					  "must be an object");
			return -1;
		}
		if (!line_sku(line, &sku, &sku_len))
			continue;
		if (quantity_field(line, "quantity", prefix, 1, &q, err) ||
		    amount_field(line, amount_key, prefix, &amount, err))
			return -1;
		if (price_each) {
			if (amount > AMOUNT_MAX / q) {
				lshop_field_error(err, "invalid_field", prefix,
						  amount_key,
						  "times quantity is too "
						  "large");
				return -1;
			}
			amount *= q;
		}
		snprintf(qf, sizeof(qf), "%squantity", prefix);
		snprintf(af, sizeof(af), "%s%s", prefix, amount_key);
		if (add_item(a, sku, sku_len, q, amount, currency, "line_items",
			     qf, af, err))
			return -1;
	}
	return 0;
}

static int parse_standard(const char *topic, const json_t *root, order_acc *a,
			  lshop_error *err)
{
	static const char *const keys[] = {"type",   "order_id", "stream",
					   "source", "items",    NULL};
	static const char *const item_keys[] = {"offer", "quantity", "amount",
						"currency", NULL};
	json_t *v, *items, *item;
	char prefix[sizeof(err->field)], qf[64], af[64], currency[4];
	const char *s;
	size_t i, len;
	int64_t q, amount;

	(void)topic;
	v = lshop_json_get(root, "type");
	if (v == NULL) {
		lshop_field_error(err, "missing_field", "", "type",
				  "is required: \"order.paid\" or "
				  "\"order.refunded\"");
		return -1;
	}
	if (!json_is_string(v)) {
		lshop_field_error(err, "invalid_field", "", "type",
				  "must be a string such as \"order.paid\"");
		return -1;
	}
	if (is_string(v, "order.refunded"))
		a->o.refund = 1;
	else if (!is_string(v, "order.paid"))
		return ignore(err, "type",
			      "the event type \"%s\" is not \"order.paid\" "
			      "or \"order.refunded\"",
			      shown(v));
	if (lshop_json_known_keys(root, keys, "", err) ||
	    order_id_field(root, "order_id", "", a->o.order_id, err))
		return -1;
	v = lshop_json_get(root, "stream");
	if (v == NULL) {
		lshop_field_error(err, "missing_field", "", "stream",
				  "is required: the stream APP/NAME the order "
				  "came from");
		return -1;
	}
	if (stream_value(v, "stream", a->o.stream, err))
		return -1;
	source_value(lshop_json_get(root, "source"), a->o.source);
	items = lshop_json_get(root, "items");
	if (items == NULL) {
		lshop_field_error(err, "missing_field", "", "items",
				  "is required: a list of {offer, quantity, "
				  "amount, currency}");
		return -1;
	}
	if (!json_is_array(items) ||
	    json_array_size(items) > LSHOP_ORDER_ITEMS_MAX) {
		lshop_field_error(err, "invalid_field", "", "items",
				  "must be a list of at most %d {offer, "
				  "quantity, amount, currency}",
				  LSHOP_ORDER_ITEMS_MAX);
		return -1;
	}
	json_array_foreach(items, i, item)
	{
		snprintf(prefix, sizeof(prefix), "items[%zu].", i);
		if (!json_is_object(item)) {
			prefix[strlen(prefix) - 1] = '\0';
			lshop_field_error(err, "invalid_field", "", prefix,
					  "must be an object {offer, "
					  "quantity, amount, currency}");
			return -1;
		}
		if (lshop_json_known_keys(item, item_keys, prefix, err))
			return -1;
		snprintf(qf, sizeof(qf), "%squantity", prefix);
		snprintf(af, sizeof(af), "%samount", prefix);
		v = lshop_json_get(item, "offer");
		if (v == NULL) {
			lshop_field_error(err, "missing_field", prefix, "offer",
					  "is required: an offer id");
			return -1;
		}
		if (!lshop_json_text(v, &s, &len) || !lshop_id_valid(s, len)) {
			lshop_field_error(err, "invalid_field", prefix, "offer",
					  "must be an offer id: 1-64 "
					  "characters of A-Z a-z 0-9 . _ -");
			return -1;
		}
		if (quantity_field(item, "quantity", prefix,
				   a->o.refund ? 0 : 1, &q, err) ||
		    amount_field(item, "amount", prefix, &amount, err) ||
		    currency_field(item, "currency", prefix, 0, currency,
				   err) ||
		    add_item(a, s, len, q, amount, currency, "items", qf, af,
			     err))
			return -1;
	}
	if (a->o.nitems == 0)
		return ignore(err, "items", "the %s has no items",
			      a->o.refund ? "refund" : "order");
	return 1;
}

/*
 * The order's line a Shopify refund line is of: its "line_item", else
 * the order's line_items[] whose "id" is its "line_item_id"; NULL when
 * neither is there.
 */
static const json_t *shopify_refunded_line(const json_t *root,
					   const json_t *rli)
{
	json_t *line = lshop_json_get(rli, "line_item"), *id, *lines;
	size_t i;

	if (json_is_object(line))
		return line;
	id = lshop_json_get(rli, "line_item_id");
	lines = lshop_json_get(root, "line_items");
	if (!json_is_integer(id) || !json_is_array(lines))
		return NULL;
	json_array_foreach(lines, i, line)
	{
		if (json_is_integer(lshop_json_get(line, "id")) &&
		    json_integer_value(lshop_json_get(line, "id")) ==
			json_integer_value(id))
			return line;
	}
	return NULL;
}

/*
 * Shopify's refunds of an order, all of them so far: per SKU, the sum
 * over refunds[].refund_line_items[] of "subtotal" and "quantity". A
 * refund without line items (shipping, an amount alone) refunds no
 * offer.
 */
static int shopify_refunds(const json_t *root, const json_t *refunds,
			   const char *currency, order_acc *a,
			   lshop_error *err)
{
	char prefix[96], qf[112], af[112];
	const json_t *refund, *rlis, *rli, *line;
	const char *sku;
	size_t i, j, sku_len;
	int64_t q, amount;

	for (i = 0; i < json_array_size(refunds); i++) {
		refund = json_array_get(refunds, i);
		snprintf(prefix, sizeof(prefix), "refunds[%zu]", i);
		if (!json_is_object(refund)) {
			lshop_field_error(err, "invalid_field", "", prefix,
					  "must be an object");
			return -1;
		}
		rlis = lshop_json_get(refund, "refund_line_items");
		if (rlis == NULL)
			continue;
		if (!json_is_array(rlis)) {
			lshop_field_error(err, "invalid_field", prefix,
					  ".refund_line_items",
					  "must be a list of objects");
			return -1;
		}
		for (j = 0; j < json_array_size(rlis); j++) {
			rli = json_array_get(rlis, j);
			snprintf(prefix, sizeof(prefix),
				 "refunds[%zu].refund_line_items[%zu].", i, j);
			if (!json_is_object(rli)) {
				prefix[strlen(prefix) - 1] = '\0';
				lshop_field_error(err, "invalid_field", "",
						  prefix, "must be an object");
				return -1;
			}
			line = shopify_refunded_line(root, rli);
			if (line == NULL || !line_sku(line, &sku, &sku_len))
				continue;
			if (quantity_field(rli, "quantity", prefix, 0, &q,
					   err) ||
			    amount_field(rli, "subtotal", prefix, &amount,
					 err))
				return -1;
			snprintf(qf, sizeof(qf), "%squantity", prefix);
			snprintf(af, sizeof(af), "%ssubtotal", prefix);
			if (add_item(a, sku, sku_len, q, amount, currency,
				     "refunds", qf, af, err))
				return -1;
		}
	}
	return 0;
}

/*
 * Shopify: orders/paid counts; orders/create only once paid (an order
 * awaiting payment counts when orders/paid comes, and dedup on order_id
 * keeps a shop that sends both from counting twice). Without a topic
 * the body decides, as for orders/create.
 */
static int parse_shopify(const char *topic, const json_t *root, order_acc *a,
			 lshop_error *err)
{
	char currency[4];
	json_t *v, *refunds = NULL;
	int r;

	if (topic != NULL && strcmp(topic, "orders/updated") == 0) {
		/* read for its refunds only: what was paid came before */
		refunds = lshop_json_get(root, "refunds");
		if (refunds != NULL && !json_is_array(refunds)) {
			lshop_field_error(err, "invalid_field", "", "refunds",
					  "must be a list of objects");
			return -1;
		}
		if (json_array_size(refunds) == 0)
			return ignore(err, "refunds",
				      "the order has no refunds (orders/"
				      "updated is read for refunds only)");
		a->o.refund = 1;
	} else if (topic != NULL && strcmp(topic, "orders/paid") != 0 &&
		   strcmp(topic, "orders/create") != 0) {
		return ignore(err, "",
			      "the topic is not orders/paid, orders/create "
			      "or orders/updated");
	}
	if (topic == NULL || strcmp(topic, "orders/create") == 0) {
		v = lshop_json_get(root, "financial_status");
		if (!is_string(v, "paid"))
			return ignore(err, "financial_status",
				      "the order is not paid yet "
				      "(financial_status \"%s\"); orders/paid "
				      "counts it",
				      v ? shown(v) : "");
	}
	r = stream_attribute(root, "note_attributes", "name", "value",
			     a->o.stream, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return ignore(err, "note_attributes",
			      "the order has no liveshop_stream note "
			      "attribute, so it did not come from a live "
			      "stream");
	source_attribute(root, "note_attributes", "name", "value",
			 a->o.source);
	if (order_id_field(root, "id", "", a->o.order_id, err) ||
	    currency_field(root, "currency", "", 0, currency, err) ||
	    (a->o.refund
		 ? shopify_refunds(root, refunds, currency, a, err)
		 : shop_lines(root, "price", 1, currency, a, err)))
		return -1;
	if (a->o.nitems == 0)
		return ignore(err, a->o.refund ? "refunds" : "line_items",
			      "no %sline item has a SKU that is a liveshop "
			      "offer id",
			      a->o.refund ? "refunded " : "");
	return 1;
}

/*
 * WooCommerce: order.created / order.updated once processing or done;
 * status "refunded" refunds every line in full. A partial refund leaves
 * the status as it was and the order's lines as they were: not read.
 */
static int parse_woocommerce(const char *topic, const json_t *root,
			     order_acc *a, lshop_error *err)
{
	char currency[4];
	json_t *v;
	int r;

	if (topic != NULL && strcmp(topic, "order.created") != 0 &&
	    strcmp(topic, "order.updated") != 0)
		return ignore(err, "",
			      "the topic is not order.created or "
			      "order.updated");
	v = lshop_json_get(root, "status");
	if (v == NULL) {
		lshop_field_error(err, "missing_field", "", "status",
				  "is required: the order's status");
		return -1;
	}
	if (!json_is_string(v)) {
		lshop_field_error(err, "invalid_field", "", "status",
				  "must be a string such as \"processing\"");
		return -1;
	}
	if (is_string(v, "refunded"))
		a->o.refund = 1;
	else if (!is_string(v, "processing") && !is_string(v, "completed"))
		return ignore(err, "status",
			      "the order's status \"%s\" is not processing, "
			      "completed or refunded",
			      shown(v));
	r = stream_attribute(root, "meta_data", "key", "value", a->o.stream,
			     err);
	if (r < 0)
		return -1;
	if (r == 0)
		return ignore(err, "meta_data",
			      "the order has no liveshop_stream meta data, "
			      "so it did not come from a live stream");
	source_attribute(root, "meta_data", "key", "value", a->o.source);
	if (order_id_field(root, "id", "", a->o.order_id, err) ||
	    currency_field(root, "currency", "", 0, currency, err) ||
	    shop_lines(root, "total", 0, currency, a, err))
		return -1;
	if (a->o.nitems == 0)
		return ignore(err, "line_items",
			      "no line item has a SKU that is a liveshop "
			      "offer id");
	return 1;
}

#define STRIPE_OBJ   "data.object."
#define STRIPE_META  "data.object.metadata."
#define STRIPE_ITEMS "data.object.metadata.liveshop_items"

typedef struct stripe_entry {
	const char *sku;
	size_t sku_len;
	int64_t quantity;
	int64_t scaled; /* -1: no amount given */
} stripe_entry;

static int stripe_entry_error(lshop_error *err, size_t n, const char *what)
{
	lshop_error_set(err, "invalid_field", STRIPE_ITEMS,
			STRIPE_ITEMS " entry %zu must be %s "
				     "(\"SKU:QUANTITY[:AMOUNT],...\", e.g. "
				     "\"sku-123:2,sku-9:1\")",
			n + 1, what);
	return -1;
}

/*
 * metadata.liveshop_items: "SKU:QUANTITY[:AMOUNT],…". AMOUNT, a decimal
 * line total in the session's currency, may be given for every entry or
 * for none; without it a single entry takes amount_total and several
 * share it in proportion to their quantities (Stripe's event carries no
 * line items), in whole minor units, the remainder on the first.
 */
static int stripe_items(const char *s, size_t len, int64_t total_minor,
			const char *currency, order_acc *a, lshop_error *err)
{
	stripe_entry e[LSHOP_ORDER_ITEMS_MAX];
	const char *entry, *c1, *c2, *q;
	size_t n = 0, i, elen, qlen, with_amount = 0, pos = 0;
	int64_t units = 0, share, given = 0, mul;
	int exp = stripe_exponent(currency);

	while (next_entry(s, len, ',', &pos, &entry, &elen)) {
		trim(&entry, &elen);
		if (elen == 0)
			continue;
		if (n == LSHOP_ORDER_ITEMS_MAX) {
			lshop_error_set(err, "invalid_field", STRIPE_ITEMS,
					STRIPE_ITEMS " holds more than %d "
						     "entries",
					LSHOP_ORDER_ITEMS_MAX);
			return -1;
		}
		c1 = memchr(entry, ':', elen);
		if (c1 == NULL)
			return stripe_entry_error(err, n, "SKU:QUANTITY");
		e[n].sku = entry;
		e[n].sku_len = (size_t)(c1 - entry);
		if (!lshop_id_valid(e[n].sku, e[n].sku_len))
			return stripe_entry_error(
			    err, n,
			    "an offer id (1-64 of A-Z a-z 0-9 . _ -) "
			    "followed by :QUANTITY");
		q = c1 + 1;
		c2 = memchr(q, ':', (size_t)(entry + elen - q));
		qlen = (size_t)((c2 ? c2 : entry + elen) - q);
		if (parse_seconds(q, qlen, &e[n].quantity) != 0 ||
		    e[n].quantity < 1 || e[n].quantity > QUANTITY_MAX)
			return stripe_entry_error(
			    err, n,
			    "SKU:QUANTITY with a quantity of 1 to "
			    "1000000");
		e[n].scaled = -1;
		if (c2 != NULL) {
			if (lshop_price_scaled(c2 + 1,
					       (size_t)(entry + elen - c2 - 1),
					       &e[n].scaled) != 0)
				return stripe_entry_error(
				    err, n,
				    "SKU:QUANTITY:AMOUNT with a decimal "
				    "amount like 39.98");
			with_amount++;
		}
		units += e[n].quantity;
		n++;
	}
	if (n == 0)
		return 0;
	if (with_amount != 0 && with_amount != n) {
		lshop_error_set(err, "invalid_field", STRIPE_ITEMS,
				STRIPE_ITEMS " gives an amount for some "
					     "entries only; give one for "
					     "every entry or for none");
		return -1;
	}
	mul = pow10_tab[4 - exp];
	for (i = 0; i < n && with_amount == 0; i++) {
		/* total * q / units without overflow: q <= units. */
		share = total_minor / units * e[i].quantity +
			total_minor % units * e[i].quantity / units;
		e[i].scaled = share;
		given += share;
	}
	if (with_amount == 0) {
		e[0].scaled += total_minor - given;
		for (i = 0; i < n; i++)
			e[i].scaled *= mul;
	}
	for (i = 0; i < n; i++)
		if (add_item(a, e[i].sku, e[i].sku_len, e[i].quantity,
			     e[i].scaled, currency, STRIPE_ITEMS, STRIPE_ITEMS,
			     STRIPE_ITEMS, err))
			return -1;
	return (int)n;
}

/*
 * data.object.client_reference_id as a reference of lshop_ref_encode
 * (what a Payment Link opened as …?client_reference_id=REF passes on):
 * 1 with the stream and source, 0 when it is absent or not one (the
 * shop may use the field for its own ids).
 */
static int stripe_ref(const json_t *obj, char *stream, char *source)
{
	const char *ref, *src = NULL;
	size_t len;

	stream[0] = '\0';
	if (!lshop_json_text(lshop_json_get(obj, "client_reference_id"), &ref,
			     &len) ||
	    len >= LSHOP_REF_MAX ||
	    lshop_ref_decode(ref, len, stream, &src) != 0 ||
	    !lshop_stream_valid(stream, strlen(stream)))
		return 0;
	source_set(source, src, src != NULL ? strlen(src) : 0);
	return source[0] != '\0';
}

/*
 * Stripe: checkout.session.completed once paid, and
 * checkout.session.async_payment_succeeded, which completes a session
 * paid later (SEPA debit, bank transfers); both name the same session,
 * so dedup on order_id counts it once.
 */
static int parse_stripe(const char *topic, const json_t *root, order_acc *a,
			lshop_error *err)
{
	json_t *v, *data, *obj, *meta;
	char currency[4], ref_stream[LSHOP_STREAM_MAX + 1], ref_source[8];
	const char *s;
	size_t len;
	int64_t total;
	int r;

	(void)topic;
	v = lshop_json_get(root, "id");
	if (v == NULL) {
		lshop_field_error(err, "missing_field", "", "id",
				  "is required: the event id \"evt_...\"");
		return -1;
	}
	if (!lshop_json_text(v, &s, &len) || !delivery_id_valid(s, len)) {
		lshop_field_error(err, "invalid_field", "", "id",
				  "must be the event id \"evt_...\" (1-128 "
				  "visible ASCII characters)");
		return -1;
	}
	memcpy(a->o.delivery_id, s, len);
	a->o.delivery_id[len] = '\0';
	v = lshop_json_get(root, "type");
	if (v == NULL || !json_is_string(v)) {
		lshop_field_error(err, v ? "invalid_field" : "missing_field",
				  "", "type",
				  "must be the event type, a string such as "
				  "\"checkout.session.completed\"");
		return -1;
	}
	if (!is_string(v, "checkout.session.completed") &&
	    !is_string(v, "checkout.session.async_payment_succeeded"))
		return ignore(err, "type",
			      "the event type \"%s\" is not "
			      "checkout.session.completed",
			      shown(v));
	data = lshop_json_get(root, "data");
	if (!json_is_object(data)) {
		lshop_field_error(err, data ? "invalid_field" : "missing_field",
				  "", "data",
				  "must be an object holding the checkout "
				  "session");
		return -1;
	}
	obj = lshop_json_get(data, "object");
	if (!json_is_object(obj)) {
		lshop_field_error(err, obj ? "invalid_field" : "missing_field",
				  "data.", "object",
				  "must be the checkout session object");
		return -1;
	}
	v = lshop_json_get(obj, "payment_status");
	if (!json_is_string(v)) {
		lshop_field_error(err, v ? "invalid_field" : "missing_field",
				  STRIPE_OBJ, "payment_status",
				  "must be a string such as \"paid\"");
		return -1;
	}
	if (!is_string(v, "paid"))
		return ignore(err, STRIPE_OBJ "payment_status",
			      "the session is not paid (payment_status "
			      "\"%s\"); checkout.session.async_payment_"
			      "succeeded counts it once it is",
			      shown(v));
	meta = lshop_json_get(obj, "metadata");
	if (meta != NULL && !json_is_object(meta)) {
		lshop_field_error(err, "invalid_field", STRIPE_OBJ, "metadata",
				  "must be an object of strings");
		return -1;
	}
	/*
	 * The stream and its source come from one place: the metadata that
	 * created the session, else the reference of the link it was opened
	 * from (docs/webhooks.md).
	 */
	r = stripe_ref(obj, ref_stream, ref_source);
	v = meta ? lshop_json_get(meta, "liveshop_stream") : NULL;
	if (v != NULL) {
		if (stream_value(v, STRIPE_META "liveshop_stream", a->o.stream,
				 err))
			return -1;
		source_value(lshop_json_get(meta, "liveshop_src"),
			     a->o.source);
		if (a->o.source[0] == '\0' && r == 1 &&
		    strcmp(ref_stream, a->o.stream) == 0)
			memcpy(a->o.source, ref_source, sizeof(ref_source));
	} else if (r == 1) {
		memcpy(a->o.stream, ref_stream, sizeof(ref_stream));
		memcpy(a->o.source, ref_source, sizeof(ref_source));
	} else {
		return ignore(err, STRIPE_META "liveshop_stream",
			      "the session has neither liveshop_stream "
			      "metadata nor a liveshop client_reference_id, "
			      "so it did not come from a live stream");
	}
	if (order_id_field(obj, "id", STRIPE_OBJ, a->o.order_id, err))
		return -1;
	if (currency_field(obj, "currency", STRIPE_OBJ, 1, currency, err))
		return -1;
	v = lshop_json_get(obj, "amount_total");
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > AMOUNT_MAX / SCALE) {
		lshop_field_error(err, v ? "invalid_field" : "missing_field",
				  STRIPE_OBJ, "amount_total",
				  "must be a whole number >= 0 of the "
				  "currency's minor units");
		return -1;
	}
	total = json_integer_value(v);
	v = lshop_json_get(meta, "liveshop_items");
	if (v == NULL)
		return ignore(err, STRIPE_ITEMS,
			      "the session has no liveshop_items metadata");
	if (!lshop_json_text(v, &s, &len)) {
		lshop_error_set(err, "invalid_field", STRIPE_ITEMS,
				STRIPE_ITEMS " must be a string "
					     "\"SKU:QUANTITY,...\"");
		return -1;
	}
	r = stripe_items(s, len, total, currency, a, err);
	if (r < 0)
		return -1;
	if (a->o.nitems == 0)
		return ignore(err, STRIPE_ITEMS,
			      "liveshop_items names no items");
	return 1;
}

int lshop_order_parse(lshop_provider p, const char *topic, const char *body,
		      size_t len, lshop_order *order, lshop_error *err)
{
	static const char *const what[] = {"order", "Shopify order",
					   "WooCommerce order", "Stripe event"};
	order_acc *a;
	json_t *root;
	int r;

	lshop_error_clear(err);
	if ((unsigned)p >= N_PROVIDERS) {
		lshop_error_set(err, "invalid_provider", "",
				"unknown webhook provider");
		return -1;
	}
	/* About 11 kB: off the stack of an nginx worker. */
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		lshop_error_set(err, "internal_error", "", "out of memory");
		return -1;
	}
	root = lshop_json_load(body, len, what[p], err);
	if (root == NULL) {
		free(a);
		memset(order, 0, sizeof(*order));
		return -1;
	}
	switch (p) {
	case LSHOP_PROVIDER_STANDARD:
		r = parse_standard(topic, root, a, err);
		break;
	case LSHOP_PROVIDER_SHOPIFY:
		r = parse_shopify(topic, root, a, err);
		break;
	case LSHOP_PROVIDER_WOOCOMMERCE:
		r = parse_woocommerce(topic, root, a, err);
		break;
	default:
		r = parse_stripe(topic, root, a, err);
		break;
	}
	json_decref(root);
	if (r == 1) {
		finish_amounts(a);
		*order = a->o;
		lshop_error_clear(err);
	} else {
		memset(order, 0, sizeof(*order));
	}
	free(a);
	return r;
}

/*
 * The canonical order as a JSON object; as_kept adds what the journal
 * keeps beyond it: the delivery id (when the shop sent one) and each
 * item's oversold units (a refund's items have none).
 */
json_t *lshop_order_json(const lshop_order *order, int as_kept)
{
	json_t *root, *items, *it;
	size_t i, n;

	root = json_object();
	items = json_array();
	if (root == NULL || items == NULL ||
	    lshop_json_set(root, "type",
			   json_string(order->refund ? "order.refunded"
						     : "order.paid")) ||
	    lshop_json_set(root, "order_id", json_string(order->order_id)) ||
	    lshop_json_set(root, "stream", json_string(order->stream)) ||
	    (order->source[0] != '\0' &&
	     lshop_json_set(root, "source", json_string(order->source))) ||
	    (as_kept && order->delivery_id[0] != '\0' &&
	     lshop_json_set(root, "delivery_id",
			    json_string(order->delivery_id))))
		goto fail;
	n = order->nitems < LSHOP_ORDER_ITEMS_MAX ? order->nitems
						  : LSHOP_ORDER_ITEMS_MAX;
	for (i = 0; i < n; i++) {
		const lshop_order_item *x = &order->items[i];

		it = json_object();
		if (it == NULL || json_array_append_new(items, it) ||
		    lshop_json_set(it, "offer", json_string(x->offer_id)) ||
		    lshop_json_set(it, "quantity", json_integer(x->quantity)) ||
		    lshop_json_set(it, "amount", json_string(x->amount)) ||
		    lshop_json_set(it, "currency", json_string(x->currency)) ||
		    (as_kept && !order->refund &&
		     lshop_json_set(it, "oversold", json_integer(x->oversold))))
			goto fail;
	}
	/* Steals items, also when it fails. */
	if (lshop_json_set(root, "items", items)) {
		json_decref(root);
		return NULL;
	}
	return root;
fail:
	json_decref(items);
	json_decref(root);
	return NULL;
}

char *lshop_order_to_json(const lshop_order *order, size_t *len)
{
	json_t *v = lshop_order_json(order, 0);
	char *out;

	if (v == NULL)
		return NULL;
	out = lshop_json_dump(v, len);
	json_decref(v);
	return out;
}

/* ---- webhooks out ---- */

char *lshop_webhook_sign(const char *secret, size_t secret_len, const char *id,
			 int64_t ts, const char *body, size_t len)
{
	char prefix[LSHOP_DELIVERY_ID_MAX + TS_DIGITS + 3];
	uint8_t mac[LSHOP_SHA256_LEN];
	hmac_key k;
	char *out;
	int n;

	if (id == NULL || !delivery_id_valid(id, strlen(id)) || ts < 0 ||
	    (body == NULL && len != 0))
		return NULL;
	if (standard_key(&k, secret, secret_len) != 0) {
		key_clear(&k);
		return NULL;
	}
	n = snprintf(prefix, sizeof(prefix), "%s.%" PRId64 ".", id, ts);
	if (mac_joined(mac, &k, prefix, (size_t)n, body, len) != 0) {
		key_clear(&k);
		return NULL;
	}
	key_clear(&k);
	out = malloc(3 + LSHOP_BASE64_LEN(LSHOP_SHA256_LEN));
	if (out == NULL)
		return NULL;
	memcpy(out, "v1,", 3);
	lshop_base64_encode(out + 3, mac, sizeof(mac), 0);
	return out;
}

/*
 * SPEC §10: seconds, then minutes, up to a day between tries; a delivery
 * is given up when the next wait would end more than three days after
 * the first failure (11 retries, the last about 70.7 h after it).
 */
static const int32_t retry_s[] = {5,    30,    120,   600,   1800,
				  3600, 10800, 21600, 43200, 86400};
#define N_RETRY      (sizeof(retry_s) / sizeof(retry_s[0]))
#define RETRY_SPAN_S (3 * 86400)

int64_t lshop_webhook_retry_delay(unsigned attempt, double jitter)
{
	int64_t total = 0, delay = 0, ms;
	unsigned i;

	if (attempt == 0)
		attempt = 1;
	for (i = 1; i <= attempt; i++) {
		delay = i <= N_RETRY ? retry_s[i - 1] : retry_s[N_RETRY - 1];
		total += delay;
		if (total > RETRY_SPAN_S)
			return -1;
	}
	if (!(jitter >= 0)) /* also NaN */
		jitter = 0;
	if (jitter > 1)
		jitter = 1;
	ms = delay * 1000;
	return ms + (int64_t)((double)ms * jitter / 4);
}

int lshop_webhook_is_ping(lshop_provider p, lshop_header_fn header, void *arg,
			  const char *body, size_t len)
{
	static const char prefix[] = "webhook_id=";
	size_t i, n = sizeof(prefix) - 1, hlen;

	if (p != LSHOP_PROVIDER_WOOCOMMERCE || header == NULL ||
	    header(arg, "X-WC-Webhook-Signature", &hlen) != NULL ||
	    body == NULL || len <= n || len > n + 20 ||
	    memcmp(body, prefix, n) != 0)
		return 0;
	for (i = n; i < len; i++)
		if (body[i] < '0' || body[i] > '9')
			return 0;
	return 1;
}
