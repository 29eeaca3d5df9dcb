/*
 * Purchase webhooks in, event webhooks out (webhook.h), on the sample
 * payloads in config-examples/webhooks. Signatures are computed here
 * with OpenSSL directly, not with the code under test.
 */
#include <math.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lshop/webhook.h"

#include "testutil.h"

#ifndef LIVESHOP_EXAMPLES_DIR
#error "LIVESHOP_EXAMPLES_DIR must name config-examples/webhooks"
#endif

#define NOW INT64_C(1795514400)

/* 24 key bytes, as Standard Webhooks senders make them. */
static const uint8_t std_key[] = "liveshop-test-key-24byte";
#define STD_KEY_LEN   24
#define STD_SECRET    "whsec_bGl2ZXNob3AtdGVzdC1rZXktMjRieXRl"
#define SHOP_SECRET   "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"
#define WC_SECRET     "wc-secret: 8]Xy{q2 Lm"
#define STRIPE_SECRET "whsec_Qm9vZ3VzU3RyaXBlU2VjcmV0Rm9yVGVzdHM"

/* ---- the request's headers ---- */

#define MAX_HEADERS 8

typedef struct headers {
	size_t n;
	char name[MAX_HEADERS][64];
	char value[MAX_HEADERS][1024];
	size_t len[MAX_HEADERS];
} headers;

/* Values are handed out with bytes after them, as nginx does. */
static const char *header_get(void *arg, const char *name, size_t *len)
{
	headers *h = arg;
	size_t i;

	for (i = 0; i < h->n; i++) {
		if (strcasecmp(h->name[i], name) == 0) {
			*len = h->len[i];
			return h->value[i];
		}
	}
	return NULL;
}

/* Sets (or with value NULL removes) a header; names stored lower-case. */
static void header_put(headers *h, const char *name, const char *value)
{
	size_t i, j;

	for (i = 0; i < h->n; i++)
		if (strcasecmp(h->name[i], name) == 0)
			break;
	if (value == NULL) {
		if (i < h->n) {
			for (j = i; j + 1 < h->n; j++) {
				memcpy(h->name[j], h->name[j + 1], 64);
				memcpy(h->value[j], h->value[j + 1], 1024);
				h->len[j] = h->len[j + 1];
			}
			h->n--;
		}
		return;
	}
	if (i == h->n) {
		assert_true(h->n < MAX_HEADERS);
		h->n++;
	}
	assert_true(strlen(name) < 64 && strlen(value) + 8 < 1024);
	for (j = 0; name[j]; j++)
		h->name[i][j] = (char)((name[j] >= 'A' && name[j] <= 'Z')
					   ? name[j] - 'A' + 'a'
					   : name[j]);
	h->name[i][j] = '\0';
	h->len[i] = strlen(value);
	snprintf(h->value[i], 1024, "%s,v1=00 ", value);
}

/* ---- independent crypto ---- */

static void mac(uint8_t out[32], const void *key, size_t key_len,
		const void *msg, size_t len)
{
	unsigned n = 0;

	assert_non_null(
	    HMAC(EVP_sha256(), key, (int)key_len, msg, len, out, &n));
	assert_int_equal(n, 32);
}

static void b64(char *out, const uint8_t *in, size_t len)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

static void hex(char *out, const uint8_t *in, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", in[i]);
}

/* "v1," BASE64(HMAC(key, id "." ts "." body)) */
static char *std_sig(const void *key, size_t key_len, const char *id,
		     int64_t ts, const char *body, size_t len)
{
	char *msg = fmt("%s.%lld.", id, (long long)ts), *out;
	size_t n = strlen(msg);
	uint8_t m[32];

	msg = realloc(msg, n + len + 1);
	assert_non_null(msg);
	memcpy(msg + n, body, len);
	mac(m, key, key_len, msg, n + len);
	free(msg);
	out = malloc(3 + 45);
	assert_non_null(out);
	memcpy(out, "v1,", 3);
	b64(out + 3, m, 32);
	return out;
}

/* BASE64(HMAC(secret, body)): Shopify, WooCommerce. */
static void body_sig(char out[45], const char *secret, const char *body,
		     size_t len)
{
	uint8_t m[32];

	mac(m, secret, strlen(secret), body, len);
	b64(out, m, 32);
}

/* HEX(HMAC(secret, ts "." body)): Stripe. */
static void stripe_hex(char out[65], const char *secret, int64_t ts,
		       const char *body, size_t len)
{
	char *msg = fmt("%lld.", (long long)ts);
	size_t n = strlen(msg);
	uint8_t m[32];

	msg = realloc(msg, n + len + 1);
	assert_non_null(msg);
	memcpy(msg + n, body, len);
	mac(m, secret, strlen(secret), msg, n + len);
	free(msg);
	hex(out, m, 32);
}

/* ---- samples ---- */

static char *load(const char *file, size_t *len)
{
	char *path = fmt("%s/%s", LIVESHOP_EXAMPLES_DIR, file), *buf;
	FILE *f = fopen(path, "rb");
	long n;

	if (f == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	free(path);
	*len = (size_t)n;
	return buf;
}

static json_t *load_json(const char *file)
{
	size_t len;
	char *s = load(file, &len);
	json_error_t e;
	json_t *v = json_loadb(s, len, 0, &e);

	assert_non_null(v);
	free(s);
	return v;
}

static char *dump(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);

	assert_non_null(s);
	return s;
}

#define STANDARD_FILE "standard-order.json"
#define SHOPIFY_FILE  "shopify-orders-paid.json"
#define WC_FILE       "woocommerce-order.json"
#define STRIPE_FILE   "stripe-checkout-session-completed.json"
#define STRIPE_ITEMS  "data.object.metadata.liveshop_items"

static int parse(lshop_provider p, const char *topic, const char *body,
		 lshop_order *o, lshop_error *err)
{
	return lshop_order_parse(p, topic, body, strlen(body), o, err);
}

/* Parses v (then frees it) and expects r; returns the error. */
static lshop_error parse_json(lshop_provider p, const char *topic, json_t *v,
			      int want, lshop_order *o)
{
	char *body = dump(v);
	lshop_error err;
	int r;

	json_decref(v);
	r = parse(p, topic, body, o, &err);
	if (r != want)
		fail_msg("parse gave %d, not %d: %s (%s)", r, want, err.message,
			 err.field);
	free(body);
	return err;
}

static void expect_field_error(lshop_provider p, const char *topic, json_t *v,
			       const char *field)
{
	lshop_order o;
	lshop_error err = parse_json(p, topic, v, -1, &o);

	assert_string_equal(err.field, field);
	/* unknown_field names the key; the others the whole path. */
	if (strcmp(err.code, "unknown_field") != 0)
		assert_non_null(strstr(err.message, field));
	assert_int_equal(o.nitems, 0);
}

static void expect_ignored(lshop_provider p, const char *topic, json_t *v,
			   const char *field)
{
	lshop_order o;
	lshop_error err = parse_json(p, topic, v, 0, &o);

	assert_string_equal(err.code, "ignored");
	assert_true(strlen(err.message) > 20);
	if (field != NULL)
		assert_string_equal(err.field, field);
}

static void test_provider_names(void **state)
{
	static const char *const names[] = {"standard", "shopify",
					    "woocommerce", "stripe"};
	lshop_provider p;
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		assert_int_equal(
		    lshop_provider_parse(names[i], strlen(names[i]), &p), 0);
		assert_int_equal(p, (lshop_provider)i);
		assert_string_equal(lshop_provider_name(p), names[i]);
	}
	assert_int_equal(lshop_provider_parse("Shopify", 7, &p), -1);
	assert_int_equal(lshop_provider_parse("shop", 4, &p), -1);
	assert_int_equal(lshop_provider_parse("stripex", 7, &p), -1);
	assert_int_equal(lshop_provider_parse("stripex", 6, &p), 0);
	assert_int_equal(p, LSHOP_PROVIDER_STRIPE);
	assert_int_equal(lshop_provider_parse(NULL, 0, &p), -1);
}

/* ---- verification ---- */

static lshop_verify_result verify(lshop_provider p, const char *secret,
				  headers *h, const char *body, size_t len,
				  char *id, lshop_error *err)
{
	lshop_verify_result r = lshop_webhook_verify(
	    p, secret, strlen(secret), header_get, h, body, len, NOW, id, err);

	if (r != LSHOP_VERIFY_OK) {
		/* Said for a person, never with the secret in it. */
		assert_true(strlen(err->message) > 10);
		assert_null(strstr(err->message, secret));
		if (strncmp(secret, "whsec_", 6) == 0)
			assert_null(strstr(err->message, secret + 6));
		assert_string_equal(id, "");
	}
	return r;
}

static void std_headers(headers *h, const char *id, int64_t ts, const char *sig)
{
	char t[32];

	memset(h, 0, sizeof(*h));
	snprintf(t, sizeof(t), "%lld", (long long)ts);
	header_put(h, "webhook-id", id);
	header_put(h, "webhook-timestamp", t);
	header_put(h, "webhook-signature", sig);
}

static lshop_verify_result std_verify_at(const char *body, size_t len,
					 int64_t ts, const char *sig_id)
{
	char *sig = std_sig(std_key, STD_KEY_LEN, sig_id, ts, body, len);
	char id[LSHOP_DELIVERY_ID_MAX + 1];
	lshop_error err;
	headers h;

	std_headers(&h, "msg_2Kx9", ts, sig);
	free(sig);
	return verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body, len, id,
		      &err);
}

static void test_standard_verify(void **state)
{
	char id[LSHOP_DELIVERY_ID_MAX + 1], *sig, *bad, *both, *long_id;
	size_t len;
	char *body = load(STANDARD_FILE, &len);
	lshop_error err;
	headers h;

	(void)state;
	sig = std_sig(std_key, STD_KEY_LEN, "msg_2Kx9", NOW, body, len);
	std_headers(&h, "msg_2Kx9", NOW, sig);
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_OK);
	assert_string_equal(id, "msg_2Kx9");

	/* One byte of the body changed. */
	body[10] ^= 1;
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_FORGED);
	assert_string_equal(err.code, "forged_signature");
	assert_string_equal(err.field, "webhook-signature");
	body[10] ^= 1;
	/* One byte more or less. */
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len - 1, id, &err),
			 LSHOP_VERIFY_FORGED);
	/* Another secret. */
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD,
				"whsec_b3RoZXIta2V5LW9mLTI0LWJ5dGVz", &h, body,
				len, id, &err),
			 LSHOP_VERIFY_FORGED);
	/* The id and the timestamp are signed too. */
	header_put(&h, "webhook-id", "msg_2Kx8");
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_FORGED);
	std_headers(&h, "msg_2Kx9", NOW - 1, sig);
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_FORGED);

	/* Each header is needed. */
	std_headers(&h, "msg_2Kx9", NOW, sig);
	header_put(&h, "webhook-signature", NULL);
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_MISSING);
	assert_string_equal(err.field, "webhook-signature");
	std_headers(&h, "msg_2Kx9", NOW, sig);
	header_put(&h, "webhook-id", NULL);
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_MISSING);
	assert_string_equal(err.field, "webhook-id");
	std_headers(&h, "msg_2Kx9", NOW, sig);
	header_put(&h, "webhook-timestamp", NULL);
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_MISSING);
	assert_string_equal(err.field, "webhook-timestamp");

	/* Present but not of the form. */
	std_headers(&h, "msg_2Kx9", NOW, sig);
	header_put(&h, "webhook-timestamp", "1795514400.5");
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_MALFORMED);
	header_put(&h, "webhook-timestamp", "-5");
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_MALFORMED);
	header_put(&h, "webhook-timestamp", "99999999999999999999");
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_MALFORMED);
	std_headers(&h, "msg 2Kx9", NOW, sig);
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_MALFORMED);
	assert_string_equal(err.field, "webhook-id");
	long_id = repeat("m", 129);
	std_headers(&h, long_id, NOW, sig);
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_MALFORMED);
	free(long_id);
	std_headers(&h, "msg_2Kx9", NOW, "garbage");
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_MALFORMED);
	assert_string_equal(err.field, "webhook-signature");
	header_put(&h, "webhook-signature", "v1,not*base64!");
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_MALFORMED);
	header_put(&h, "webhook-signature", "");
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_MALFORMED);
	/* Only other versions: nothing this verifier can check. */
	bad = fmt("v1a,%s", sig + 3);
	header_put(&h, "webhook-signature", bad);
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_MALFORMED);
	free(bad);
	/* A v1 MAC of another length is forged, not malformed. */
	header_put(&h, "webhook-signature", "v1,AAAA");
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_FORGED);
	bad = fmt("v1,%.40s", sig + 3);
	header_put(&h, "webhook-signature", bad);
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_FORGED);
	free(bad);

	/* Key rotation: one valid signature among several is enough. */
	bad = std_sig("old-key", 7, "msg_2Kx9", NOW, body, len);
	both = fmt("%s %s", bad, sig);
	std_headers(&h, "msg_2Kx9", NOW, both);
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_OK);
	free(both);
	both = fmt("v1a,c29tZXRoaW5nIGVsc2U= %s  v2,eHh4", sig);
	header_put(&h, "webhook-signature", both);
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_OK);
	free(both);
	both = fmt("%s %s", sig, bad);
	header_put(&h, "webhook-signature", both);
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_OK);
	free(both);
	/* Only old keys: forged. */
	both = fmt("%s %s", bad, bad);
	header_put(&h, "webhook-signature", both);
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_FORGED);
	free(both);
	free(bad);

	/* A secret without "whsec_" is its own bytes. */
	free(sig);
	sig = std_sig("plain secret", 12, "msg_2Kx9", NOW, body, len);
	std_headers(&h, "msg_2Kx9", NOW, sig);
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, "plain secret", &h,
				body, len, id, &err),
			 LSHOP_VERIFY_OK);
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_FORGED);
	free(sig);
	free(body);
}

static void test_standard_window(void **state)
{
	size_t len;
	char *body = load(STANDARD_FILE, &len), *sig;
	char id[LSHOP_DELIVERY_ID_MAX + 1];
	lshop_error err;
	headers h;

	(void)state;
	assert_int_equal(std_verify_at(body, len, NOW, "msg_2Kx9"),
			 LSHOP_VERIFY_OK);
	assert_int_equal(std_verify_at(body, len, NOW - 300, "msg_2Kx9"),
			 LSHOP_VERIFY_OK);
	assert_int_equal(std_verify_at(body, len, NOW + 60, "msg_2Kx9"),
			 LSHOP_VERIFY_OK);
	assert_int_equal(std_verify_at(body, len, NOW - 301, "msg_2Kx9"),
			 LSHOP_VERIFY_STALE);
	assert_int_equal(std_verify_at(body, len, NOW + 61, "msg_2Kx9"),
			 LSHOP_VERIFY_STALE);
	assert_int_equal(std_verify_at(body, len, 0, "msg_2Kx9"),
			 LSHOP_VERIFY_STALE);
	/* A forged delivery says so, whatever its time. */
	assert_int_equal(std_verify_at(body, len, NOW - 3600, "msg_other"),
			 LSHOP_VERIFY_FORGED);
	/* The reason is in err, on the timestamp. */
	sig = std_sig(std_key, STD_KEY_LEN, "msg_2Kx9", NOW - 400, body, len);
	std_headers(&h, "msg_2Kx9", NOW - 400, sig);
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_STALE);
	assert_string_equal(err.code, "stale_timestamp");
	assert_string_equal(err.field, "webhook-timestamp");
	assert_non_null(strstr(err.message, "400"));
	/* now far from anything: no overflow. */
	assert_int_equal(lshop_webhook_verify(LSHOP_PROVIDER_STANDARD,
					      STD_SECRET, strlen(STD_SECRET),
					      header_get, &h, body, len,
					      INT64_MIN, id, &err),
			 LSHOP_VERIFY_STALE);
	assert_int_equal(lshop_webhook_verify(LSHOP_PROVIDER_STANDARD,
					      STD_SECRET, strlen(STD_SECRET),
					      header_get, &h, body, len,
					      INT64_MAX, id, &err),
			 LSHOP_VERIFY_STALE);
	free(sig);
	free(body);
}

/* Shopify and WooCommerce sign alike, under other names. */
static void body_mac_verify(lshop_provider p, const char *file,
			    const char *secret, const char *sig_name,
			    const char *id_name, const char *delivery)
{
	char id[LSHOP_DELIVERY_ID_MAX + 1], sig[45], hexsig[65];
	uint8_t m[32];
	size_t len;
	char *body = load(file, &len), *long_id;
	lshop_error err;
	headers h;

	memset(&h, 0, sizeof(h));
	body_sig(sig, secret, body, len);
	header_put(&h, sig_name, sig);
	header_put(&h, id_name, delivery);
	assert_int_equal(verify(p, secret, &h, body, len, id, &err),
			 LSHOP_VERIFY_OK);
	assert_string_equal(id, delivery);

	/* Forged body, another secret. */
	body[len / 2] ^= 0x20;
	assert_int_equal(verify(p, secret, &h, body, len, id, &err),
			 LSHOP_VERIFY_FORGED);
	assert_string_equal(err.code, "forged_signature");
	assert_string_equal(err.field, sig_name);
	body[len / 2] ^= 0x20;
	assert_int_equal(verify(p, "another-secret", &h, body, len, id, &err),
			 LSHOP_VERIFY_FORGED);
	/* Whitespace after the body is a change too. */
	body = realloc(body, len + 2);
	body[len] = '\n';
	assert_int_equal(verify(p, secret, &h, body, len + 1, id, &err),
			 LSHOP_VERIFY_FORGED);

	/* The hex of the right MAC is not its base64. */
	mac(m, secret, strlen(secret), body, len);
	hex(hexsig, m, 32);
	header_put(&h, sig_name, hexsig);
	assert_int_equal(verify(p, secret, &h, body, len, id, &err),
			 LSHOP_VERIFY_FORGED);
	header_put(&h, sig_name, "not base64 at all!");
	assert_int_equal(verify(p, secret, &h, body, len, id, &err),
			 LSHOP_VERIFY_MALFORMED);
	header_put(&h, sig_name, "");
	assert_int_equal(verify(p, secret, &h, body, len, id, &err),
			 LSHOP_VERIFY_MALFORMED);
	header_put(&h, sig_name, NULL);
	assert_int_equal(verify(p, secret, &h, body, len, id, &err),
			 LSHOP_VERIFY_MISSING);
	assert_string_equal(err.field, sig_name);

	/* The delivery id is optional, but must be sane when present. */
	header_put(&h, sig_name, sig);
	header_put(&h, id_name, NULL);
	assert_int_equal(verify(p, secret, &h, body, len, id, &err),
			 LSHOP_VERIFY_OK);
	assert_string_equal(id, "");
	long_id = repeat("d", 129);
	header_put(&h, id_name, long_id);
	assert_int_equal(verify(p, secret, &h, body, len, id, &err),
			 LSHOP_VERIFY_MALFORMED);
	assert_string_equal(err.field, id_name);
	free(long_id);
	long_id = repeat("d", 128);
	header_put(&h, id_name, long_id);
	assert_int_equal(verify(p, secret, &h, body, len, id, &err),
			 LSHOP_VERIFY_OK);
	assert_string_equal(id, long_id);
	free(long_id);
	/* A shop's secret is its bytes, also when it looks like whsec_. */
	body_sig(sig, STD_SECRET, body, len);
	header_put(&h, sig_name, sig);
	assert_int_equal(verify(p, STD_SECRET, &h, body, len, id, &err),
			 LSHOP_VERIFY_OK);
	free(body);
}

static void test_shopify_verify(void **state)
{
	(void)state;
	body_mac_verify(LSHOP_PROVIDER_SHOPIFY, SHOPIFY_FILE, SHOP_SECRET,
			"X-Shopify-Hmac-Sha256", "X-Shopify-Webhook-Id",
			"b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
}

static void test_woocommerce_verify(void **state)
{
	(void)state;
	body_mac_verify(LSHOP_PROVIDER_WOOCOMMERCE, WC_FILE, WC_SECRET,
			"X-WC-Webhook-Signature", "X-WC-Webhook-Delivery-ID",
			"8f6a0a3b0c2d4e5f6a7b8c9d0e1f2a3b");
}

/* WooCommerce's ping on saving a webhook: acknowledged, not refused */
static void test_woocommerce_ping(void **state)
{
	const char *ping = "webhook_id=42";
	const char *not_pings[] = {"webhook_id=", "webhook_id=4x",
				   "webhook_id=42&x=1", "{\"id\":42}",
				   "webhook_id=123456789012345678901"};
	headers h;
	size_t i;

	(void)state;
	memset(&h, 0, sizeof(h));
	assert_int_equal(lshop_webhook_is_ping(LSHOP_PROVIDER_WOOCOMMERCE,
					       header_get, &h, ping,
					       strlen(ping)),
			 1);
	for (i = 0; i < sizeof(not_pings) / sizeof(not_pings[0]); i++)
		assert_int_equal(lshop_webhook_is_ping(
				     LSHOP_PROVIDER_WOOCOMMERCE, header_get,
				     &h, not_pings[i], strlen(not_pings[i])),
				 0);
	/* only WooCommerce pings, and only unsigned */
	assert_int_equal(lshop_webhook_is_ping(LSHOP_PROVIDER_SHOPIFY,
					       header_get, &h, ping,
					       strlen(ping)),
			 0);
	header_put(&h, "X-WC-Webhook-Signature", "AAAA");
	assert_int_equal(lshop_webhook_is_ping(LSHOP_PROVIDER_WOOCOMMERCE,
					       header_get, &h, ping,
					       strlen(ping)),
			 0);
}

static lshop_verify_result stripe_verify(const char *value, const char *body,
					 size_t len, lshop_error *err)
{
	char id[LSHOP_DELIVERY_ID_MAX + 1];
	headers h;

	memset(&h, 0, sizeof(h));
	header_put(&h, "Stripe-Signature", value);
	return verify(LSHOP_PROVIDER_STRIPE, STRIPE_SECRET, &h, body, len, id,
		      err);
}

static void test_stripe_verify(void **state)
{
	char good[65], old[65], upper[65], *v, id[LSHOP_DELIVERY_ID_MAX + 1];
	size_t len, i;
	char *body = load(STRIPE_FILE, &len);
	lshop_error err;
	headers h;

	(void)state;
	stripe_hex(good, STRIPE_SECRET, NOW, body, len);
	stripe_hex(old, "whsec_previous", NOW, body, len);

	v = fmt("t=%lld,v1=%s", (long long)NOW, good);
	assert_int_equal(stripe_verify(v, body, len, &err), LSHOP_VERIFY_OK);
	/* The delivery id is the event's, read with the body. */
	memset(&h, 0, sizeof(h));
	header_put(&h, "stripe-signature", v);
	assert_int_equal(verify(LSHOP_PROVIDER_STRIPE, STRIPE_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_OK);
	assert_string_equal(id, "");
	/* Forged body, another secret, the MAC of another time. */
	body[len - 3] ^= 1;
	assert_int_equal(stripe_verify(v, body, len, &err),
			 LSHOP_VERIFY_FORGED);
	assert_string_equal(err.field, "Stripe-Signature");
	body[len - 3] ^= 1;
	free(v);
	v = fmt("t=%lld,v1=%s", (long long)NOW + 1, good);
	assert_int_equal(stripe_verify(v, body, len, &err),
			 LSHOP_VERIFY_FORGED);
	free(v);
	v = fmt("t=%lld,v1=%s", (long long)NOW, good);
	memset(&h, 0, sizeof(h));
	header_put(&h, "Stripe-Signature", v);
	assert_int_equal(verify(LSHOP_PROVIDER_STRIPE, "whsec_xK2mQ9zWrongKey",
				&h, body, len, id, &err),
			 LSHOP_VERIFY_FORGED);
	free(v);

	/* Rolled secrets: several v1, and v0 and others skipped. */
	v = fmt("t=%lld,v1=%s,v1=%s,v0=%s", (long long)NOW, old, good, old);
	assert_int_equal(stripe_verify(v, body, len, &err), LSHOP_VERIFY_OK);
	free(v);
	v = fmt("t=%lld, v0=%s, v1=%s, v1=%s", (long long)NOW, good, good, old);
	assert_int_equal(stripe_verify(v, body, len, &err), LSHOP_VERIFY_OK);
	free(v);
	v = fmt("v1=%s,t=%lld", good, (long long)NOW);
	assert_int_equal(stripe_verify(v, body, len, &err), LSHOP_VERIFY_OK);
	free(v);
	v = fmt("t=%lld,v1=%s,v0=%s", (long long)NOW, old, good);
	assert_int_equal(stripe_verify(v, body, len, &err),
			 LSHOP_VERIFY_FORGED);
	free(v);
	for (i = 0; i < 64; i++)
		upper[i] = (char)(good[i] >= 'a' ? good[i] - 32 : good[i]);
	upper[64] = '\0';
	v = fmt("t=%lld,v1=%s", (long long)NOW, upper);
	assert_int_equal(stripe_verify(v, body, len, &err), LSHOP_VERIFY_OK);
	free(v);
	/* A MAC of another length is forged. */
	v = fmt("t=%lld,v1=%.62s", (long long)NOW, good);
	assert_int_equal(stripe_verify(v, body, len, &err),
			 LSHOP_VERIFY_FORGED);
	free(v);
	v = fmt("t=%lld,v1=%s00", (long long)NOW, good);
	assert_int_equal(stripe_verify(v, body, len, &err),
			 LSHOP_VERIFY_FORGED);
	free(v);

	/* Missing and malformed. */
	memset(&h, 0, sizeof(h));
	assert_int_equal(verify(LSHOP_PROVIDER_STRIPE, STRIPE_SECRET, &h, body,
				len, id, &err),
			 LSHOP_VERIFY_MISSING);
	assert_string_equal(err.field, "Stripe-Signature");
	assert_int_equal(stripe_verify("garbage", body, len, &err),
			 LSHOP_VERIFY_MALFORMED);
	assert_int_equal(stripe_verify("", body, len, &err),
			 LSHOP_VERIFY_MALFORMED);
	v = fmt("v1=%s", good);
	assert_int_equal(stripe_verify(v, body, len, &err),
			 LSHOP_VERIFY_MALFORMED);
	free(v);
	v = fmt("t=%lld", (long long)NOW);
	assert_int_equal(stripe_verify(v, body, len, &err),
			 LSHOP_VERIFY_MALFORMED);
	free(v);
	v = fmt("t=%lld,v0=%s", (long long)NOW, good);
	assert_int_equal(stripe_verify(v, body, len, &err),
			 LSHOP_VERIFY_MALFORMED);
	free(v);
	v = fmt("t=yesterday,v1=%s", good);
	assert_int_equal(stripe_verify(v, body, len, &err),
			 LSHOP_VERIFY_MALFORMED);
	free(v);
	v = fmt("t=%lld,t=%lld,v1=%s", (long long)NOW, (long long)NOW, good);
	assert_int_equal(stripe_verify(v, body, len, &err),
			 LSHOP_VERIFY_MALFORMED);
	free(v);
	v = fmt("t=%lld,v1=%s,junk", (long long)NOW, good);
	assert_int_equal(stripe_verify(v, body, len, &err),
			 LSHOP_VERIFY_MALFORMED);
	free(v);
	v = fmt("t=%lld,v1=zz%.62s", (long long)NOW, good);
	assert_int_equal(stripe_verify(v, body, len, &err),
			 LSHOP_VERIFY_MALFORMED);
	free(v);

	/* The window. */
	stripe_hex(good, STRIPE_SECRET, NOW - 301, body, len);
	v = fmt("t=%lld,v1=%s", (long long)NOW - 301, good);
	assert_int_equal(stripe_verify(v, body, len, &err), LSHOP_VERIFY_STALE);
	assert_string_equal(err.code, "stale_timestamp");
	free(v);
	stripe_hex(good, STRIPE_SECRET, NOW - 300, body, len);
	v = fmt("t=%lld,v1=%s", (long long)NOW - 300, good);
	assert_int_equal(stripe_verify(v, body, len, &err), LSHOP_VERIFY_OK);
	free(v);
	stripe_hex(good, STRIPE_SECRET, NOW + 61, body, len);
	v = fmt("t=%lld,v1=%s", (long long)NOW + 61, good);
	assert_int_equal(stripe_verify(v, body, len, &err), LSHOP_VERIFY_STALE);
	free(v);
	stripe_hex(good, STRIPE_SECRET, NOW + 60, body, len);
	v = fmt("t=%lld,v1=%s", (long long)NOW + 60, good);
	assert_int_equal(stripe_verify(v, body, len, &err), LSHOP_VERIFY_OK);
	free(v);
	/* Forged and old: forged. */
	v = fmt("t=%lld,v1=%s", (long long)NOW - 1000, good);
	assert_int_equal(stripe_verify(v, body, len, &err),
			 LSHOP_VERIFY_FORGED);
	free(v);
	free(body);
}

static void test_secrets(void **state)
{
	static const char *const bad_std[] = {"", "whsec_", "whsec_!!!!",
					      "whsec_QQ=Q"};
	char id[LSHOP_DELIVERY_ID_MAX + 1];
	lshop_error err;
	headers h;
	size_t i;
	int p;

	(void)state;
	for (i = 0; i < sizeof(bad_std) / sizeof(bad_std[0]); i++) {
		assert_int_equal(lshop_webhook_secret_check(
				     LSHOP_PROVIDER_STANDARD, bad_std[i],
				     strlen(bad_std[i]), &err),
				 -1);
		assert_string_equal(err.code, "invalid_secret");
		if (bad_std[i][0] != '\0' && strlen(bad_std[i]) > 6)
			assert_null(strstr(err.message, bad_std[i] + 6));
		std_headers(&h, "msg_1", NOW, "v1,AAAA");
		assert_int_equal(
		    lshop_webhook_verify(LSHOP_PROVIDER_STANDARD, bad_std[i],
					 strlen(bad_std[i]), header_get, &h,
					 "{}", 2, NOW, id, &err),
		    LSHOP_VERIFY_FORGED);
		assert_string_equal(err.code, "invalid_secret");
	}
	assert_int_equal(lshop_webhook_secret_check(LSHOP_PROVIDER_STANDARD,
						    STD_SECRET,
						    strlen(STD_SECRET), &err),
			 0);
	assert_int_equal(
	    lshop_webhook_secret_check(LSHOP_PROVIDER_STANDARD, "raw", 3, &err),
	    0);
	for (p = LSHOP_PROVIDER_SHOPIFY; p <= LSHOP_PROVIDER_STRIPE; p++) {
		assert_int_equal(
		    lshop_webhook_secret_check((lshop_provider)p, "", 0, &err),
		    -1);
		assert_int_equal(lshop_webhook_secret_check(
				     (lshop_provider)p, "whsec_!!!", 9, &err),
				 0);
	}
	assert_int_equal(
	    lshop_webhook_secret_check((lshop_provider)9, "x", 1, &err), -1);
	assert_null(lshop_webhook_sign("", 0, "msg_1", NOW, "{}", 2));
	assert_null(lshop_webhook_sign("whsec_!!!", 9, "msg_1", NOW, "{}", 2));
}

/* ---- mapping ---- */

static void assert_item(const lshop_order *o, size_t i, const char *offer,
			int64_t quantity, const char *amount,
			const char *currency)
{
	assert_true(i < o->nitems);
	assert_string_equal(o->items[i].offer_id, offer);
	assert_int_equal(o->items[i].quantity, quantity);
	assert_string_equal(o->items[i].amount, amount);
	assert_string_equal(o->items[i].currency, currency);
}

static void roundtrip(const lshop_order *o)
{
	lshop_order back;
	lshop_error err;
	size_t len;
	char *json = lshop_order_to_json(o, &len), *again;

	assert_non_null(json);
	assert_int_equal(len, strlen(json));
	assert_int_equal(lshop_order_parse(LSHOP_PROVIDER_STANDARD, NULL, json,
					   len, &back, &err),
			 1);
	assert_string_equal(back.order_id, o->order_id);
	assert_string_equal(back.stream, o->stream);
	assert_string_equal(back.source, o->source);
	assert_int_equal(back.refund, o->refund);
	assert_int_equal(back.nitems, o->nitems);
	assert_memory_equal(back.items, o->items,
			    o->nitems * sizeof(o->items[0]));
	again = lshop_order_to_json(&back, NULL);
	assert_string_equal(again, json);
	free(again);
	free(json);
}

static void test_map_standard(void **state)
{
	size_t len;
	char *body = load(STANDARD_FILE, &len), *json;
	lshop_order o;
	lshop_error err;

	(void)state;
	assert_int_equal(lshop_order_parse(LSHOP_PROVIDER_STANDARD, NULL, body,
					   len, &o, &err),
			 1);
	assert_string_equal(o.order_id, "1001");
	assert_string_equal(o.delivery_id, "");
	assert_string_equal(o.stream, "live/demo");
	assert_int_equal(o.nitems, 2);
	assert_item(&o, 0, "sku-123", 2, "39.98", "EUR");
	assert_item(&o, 1, "sku-9", 1, "24.50", "EUR");
	json = lshop_order_to_json(&o, NULL);
	assert_string_equal(
	    json, "{\"type\":\"order.paid\",\"order_id\":\"1001\",\"stream\":"
		  "\"live/demo\",\"items\":[{\"offer\":\"sku-123\","
		  "\"quantity\":2,\"amount\":\"39.98\",\"currency\":\"EUR\"},"
		  "{\"offer\":\"sku-9\",\"quantity\":1,\"amount\":\"24.50\","
		  "\"currency\":\"EUR\"}]}");
	free(json);
	roundtrip(&o);
	free(body);
}

static void test_map_shopify(void **state)
{
	lshop_order o;
	lshop_error err;
	json_t *v;

	(void)state;
	parse_json(LSHOP_PROVIDER_SHOPIFY, "orders/paid",
		   load_json(SHOPIFY_FILE), 1, &o);
	assert_string_equal(o.order_id, "5839204810771");
	assert_string_equal(o.stream, "live/demo");
	/* The gift wrap line has no SKU: left out. */
	assert_int_equal(o.nitems, 2);
	assert_item(&o, 0, "sku-123", 2, "39.98", "EUR");
	assert_item(&o, 1, "sku-9", 1, "24.50", "EUR");
	roundtrip(&o);

	/* orders/create counts once paid; without a topic the body says. */
	parse_json(LSHOP_PROVIDER_SHOPIFY, "orders/create",
		   load_json(SHOPIFY_FILE), 1, &o);
	assert_int_equal(o.nitems, 2);
	parse_json(LSHOP_PROVIDER_SHOPIFY, NULL, load_json(SHOPIFY_FILE), 1,
		   &o);
	assert_string_equal(o.order_id, "5839204810771");
	v = load_json(SHOPIFY_FILE);
	json_object_set_new(v, "financial_status", json_string("pending"));
	expect_ignored(LSHOP_PROVIDER_SHOPIFY, "orders/create", v,
		       "financial_status");
	v = load_json(SHOPIFY_FILE);
	json_object_set_new(v, "financial_status", json_string("pending"));
	parse_json(LSHOP_PROVIDER_SHOPIFY, "orders/paid", v, 1, &o);

	/* Other topics are acknowledged and ignored. */
	expect_ignored(LSHOP_PROVIDER_SHOPIFY, "orders/updated",
		       load_json(SHOPIFY_FILE), NULL);
	expect_ignored(LSHOP_PROVIDER_SHOPIFY, "orders/cancelled",
		       load_json(SHOPIFY_FILE), NULL);
	expect_ignored(LSHOP_PROVIDER_SHOPIFY, "refunds/create",
		       load_json(SHOPIFY_FILE), NULL);
	/* Even with a body that is not an order at all. */
	expect_ignored(LSHOP_PROVIDER_SHOPIFY, "app/uninstalled",
		       json_pack("{s:i}", "id", 1), NULL);
	(void)err;
}


/* A Shopify refund: {"refund_line_items":[…]} of the sample's lines. */
static json_t *shopify_refund(json_t *lines)
{
	return json_pack("{s:i,s:o}", "id", 929361, "refund_line_items",
			 lines);
}

/*
 * Refunds (docs/webhooks.md): the standard order.refunded; Shopify's
 * orders/updated with refunds, summed per SKU over every refund so far;
 * WooCommerce's status refunded, every line in full; Stripe's refunds
 * not read; hostile shapes refused with the field named.
 */
static void test_map_refunds(void **state)
{
	lshop_order o;
	json_t *v, *refunds;
	lshop_error err;

	(void)state;
	/* standard */
	v = load_json(STANDARD_FILE);
	json_object_set_new(v, "type", json_string("order.refunded"));
	parse_json(LSHOP_PROVIDER_STANDARD, NULL, v, 1, &o);
	assert_int_equal(o.refund, 1);
	roundtrip(&o);
	/* an amount-only refund: 0 units */
	v = json_pack("{s:s,s:s,s:s,s:[{s:s,s:i,s:s,s:s}]}", "type",
		      "order.refunded", "order_id", "1001", "stream",
		      "live/demo", "items", "offer", "sku-123", "quantity", 0,
		      "amount", "2.50", "currency", "EUR");
	parse_json(LSHOP_PROVIDER_STANDARD, NULL, v, 1, &o);
	assert_item(&o, 0, "sku-123", 0, "2.50", "EUR");
	roundtrip(&o);
	/* an order still needs a unit */
	v = json_pack("{s:s,s:s,s:s,s:[{s:s,s:i,s:s,s:s}]}", "type",
		      "order.paid", "order_id", "1001", "stream", "live/demo",
		      "items", "offer", "sku-123", "quantity", 0, "amount",
		      "2.50", "currency", "EUR");
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL, v,
			   "items[0].quantity");

	/* Shopify: two refunds so far, the line by line_item or by id; a
	 * line without a liveshop SKU and a shipping-only refund skipped */
	v = load_json(SHOPIFY_FILE);
	refunds = json_pack(
	    "[o,o,{s:i,s:[]}]",
	    shopify_refund(json_pack(
		"[{s:I,s:i,s:s,s:{s:s}},{s:I,s:i,s:s}]", "line_item_id",
		(json_int_t)14687012345601, "quantity", 1, "subtotal", "19.99",
		"line_item", "sku", "sku-123", "line_item_id",
		(json_int_t)14687012345603, "quantity", 1, "subtotal",
		"0.00")),
	    shopify_refund(json_pack("[{s:I,s:i,s:f},{s:I,s:i,s:s}]",
				     "line_item_id",
				     (json_int_t)14687012345601, "quantity",
				     1, "subtotal", 10.5, "line_item_id",
				     (json_int_t)14687012345602, "quantity", 0,
				     "subtotal", "4.50")),
	    "id", 929363, "refund_line_items");
	json_object_set_new(v, "refunds", refunds);
	parse_json(LSHOP_PROVIDER_SHOPIFY, "orders/updated", json_incref(v), 1,
		   &o);
	assert_int_equal(o.refund, 1);
	assert_string_equal(o.order_id, "5839204810771");
	assert_string_equal(o.stream, "live/demo");
	assert_int_equal(o.nitems, 2);
	assert_item(&o, 0, "sku-123", 2, "30.49", "EUR");
	assert_item(&o, 1, "sku-9", 0, "4.50", "EUR");
	roundtrip(&o);
	/* the same body as orders/paid is the order, not the refund */
	parse_json(LSHOP_PROVIDER_SHOPIFY, "orders/paid", json_incref(v), 1,
		   &o);
	assert_int_equal(o.refund, 0);
	/* hostile shapes */
	json_object_set_new(v, "refunds", json_string("all"));
	expect_field_error(LSHOP_PROVIDER_SHOPIFY, "orders/updated",
			   json_incref(v), "refunds");
	json_object_set_new(v, "refunds", json_pack("[i]", 1));
	expect_field_error(LSHOP_PROVIDER_SHOPIFY, "orders/updated",
			   json_incref(v), "refunds[0]");
	json_object_set_new(v, "refunds",
			    json_pack("[{s:s}]", "refund_line_items", "x"));
	expect_field_error(LSHOP_PROVIDER_SHOPIFY, "orders/updated",
			   json_incref(v), "refunds[0].refund_line_items");
	json_object_set_new(
	    v, "refunds",
	    json_pack("[o]", shopify_refund(json_pack(
				 "[{s:I,s:i,s:s}]", "line_item_id",
				 (json_int_t)14687012345601, "quantity", 1,
				 "subtotal", "-5.00"))));
	expect_field_error(LSHOP_PROVIDER_SHOPIFY, "orders/updated",
			   json_incref(v),
			   "refunds[0].refund_line_items[0].subtotal");
	json_object_set_new(
	    v, "refunds",
	    json_pack("[o]", shopify_refund(json_pack(
				 "[{s:I,s:i,s:s}]", "line_item_id",
				 (json_int_t)14687012345601, "quantity", -1,
				 "subtotal", "5.00"))));
	expect_field_error(LSHOP_PROVIDER_SHOPIFY, "orders/updated",
			   json_incref(v),
			   "refunds[0].refund_line_items[0].quantity");
	/* a refund of no liveshop line, of an unknown line: ignored */
	json_object_set_new(
	    v, "refunds",
	    json_pack("[o]", shopify_refund(json_pack(
				 "[{s:I,s:i,s:s},{s:s,s:i,s:s}]",
				 "line_item_id", (json_int_t)14687012345603,
				 "quantity", 1, "subtotal", "0.00",
				 "line_item_id", "x", "quantity", 1,
				 "subtotal", "1.00"))));
	expect_ignored(LSHOP_PROVIDER_SHOPIFY, "orders/updated",
		       json_incref(v), "refunds");
	/* no refunds: acknowledged and ignored, as before */
	json_object_set_new(v, "refunds", json_array());
	expect_ignored(LSHOP_PROVIDER_SHOPIFY, "orders/updated",
		       json_incref(v), "refunds");
	json_object_del(v, "refunds");
	expect_ignored(LSHOP_PROVIDER_SHOPIFY, "orders/updated", v,
		       "refunds");

	/* WooCommerce: refunded is every line in full */
	v = load_json(WC_FILE);
	json_object_set_new(v, "status", json_string("refunded"));
	parse_json(LSHOP_PROVIDER_WOOCOMMERCE, "order.updated", v, 1, &o);
	assert_int_equal(o.refund, 1);
	assert_string_equal(o.order_id, "727");
	assert_item(&o, 0, "sku-123", 2, "33.60", "EUR");
	assert_item(&o, 1, "sku-9", 1, "20.59", "EUR");
	roundtrip(&o);

	/* Stripe: charge.refunded names neither stream nor items */
	v = json_pack("{s:s,s:s,s:{s:{s:s,s:i}}}", "id", "evt_1", "type",
		      "charge.refunded", "data", "object", "id", "ch_1",
		      "amount_refunded", 1999);
	err = parse_json(LSHOP_PROVIDER_STRIPE, NULL, v, 0, &o);
	assert_string_equal(err.code, "ignored");
}

static void test_map_woocommerce(void **state)
{
	static const char *const ignored[] = {"pending", "on-hold", "cancelled",
					      "failed", "checkout-draft"};
	lshop_order o;
	json_t *v;
	size_t i;

	(void)state;
	parse_json(LSHOP_PROVIDER_WOOCOMMERCE, "order.created",
		   load_json(WC_FILE), 1, &o);
	assert_string_equal(o.order_id, "727");
	assert_string_equal(o.stream, "live/demo");
	assert_int_equal(o.nitems, 2);
	assert_item(&o, 0, "sku-123", 2, "33.60", "EUR");
	assert_item(&o, 1, "sku-9", 1, "20.59", "EUR");
	roundtrip(&o);

	parse_json(LSHOP_PROVIDER_WOOCOMMERCE, "order.updated",
		   load_json(WC_FILE), 1, &o);
	parse_json(LSHOP_PROVIDER_WOOCOMMERCE, NULL, load_json(WC_FILE), 1, &o);
	v = load_json(WC_FILE);
	json_object_set_new(v, "status", json_string("completed"));
	parse_json(LSHOP_PROVIDER_WOOCOMMERCE, "order.updated", v, 1, &o);
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
		v = load_json(WC_FILE);
		json_object_set_new(v, "status", json_string(ignored[i]));
		expect_ignored(LSHOP_PROVIDER_WOOCOMMERCE, "order.updated", v,
			       "status");
	}
	expect_ignored(LSHOP_PROVIDER_WOOCOMMERCE, "order.deleted",
		       load_json(WC_FILE), NULL);
	expect_ignored(LSHOP_PROVIDER_WOOCOMMERCE, "product.updated",
		       json_pack("{s:i}", "id", 93), NULL);
	/* Status of another type is not what WooCommerce sends. */
	v = load_json(WC_FILE);
	json_object_set_new(v, "status", json_integer(1));
	expect_field_error(LSHOP_PROVIDER_WOOCOMMERCE, "order.created", v,
			   "status");
	v = load_json(WC_FILE);
	json_object_del(v, "status");
	expect_field_error(LSHOP_PROVIDER_WOOCOMMERCE, "order.created", v,
			   "status");
}

static json_t *stripe_session(json_t *event)
{
	return json_object_get(json_object_get(event, "data"), "object");
}

static json_t *stripe_meta(json_t *event)
{
	return json_object_get(stripe_session(event), "metadata");
}

/* The sample with other metadata.liveshop_items, amount and currency. */
static json_t *stripe_with(const char *items, json_int_t total,
			   const char *currency)
{
	json_t *v = load_json(STRIPE_FILE);

	json_object_set_new(stripe_meta(v), "liveshop_items",
			    json_string(items));
	json_object_set_new(stripe_session(v), "amount_total",
			    json_integer(total));
	json_object_set_new(stripe_session(v), "currency",
			    json_string(currency));
	return v;
}

static void test_map_stripe(void **state)
{
	lshop_order o;
	json_t *v;

	(void)state;
	parse_json(LSHOP_PROVIDER_STRIPE, NULL, load_json(STRIPE_FILE), 1, &o);
	assert_string_equal(o.delivery_id, "evt_1QKb7dLkdIwHu7ixS2p4VnQe");
	/* The session id (66 characters) is the order id. */
	assert_int_equal(strlen(o.order_id), 66);
	assert_memory_equal(o.order_id, "cs_live_", 8);
	assert_string_equal(o.stream, "live/demo");
	assert_int_equal(o.nitems, 2);
	/* 64.48 shared 2:1, in whole cents, the odd cent on the first. */
	assert_item(&o, 0, "sku-123", 2, "42.99", "EUR");
	assert_item(&o, 1, "sku-9", 1, "21.49", "EUR");
	roundtrip(&o);

	/* A short session id is the order id. */
	v = load_json(STRIPE_FILE);
	json_object_set_new(stripe_session(v), "id",
			    json_string("cs_test_123"));
	parse_json(LSHOP_PROVIDER_STRIPE, NULL, v, 1, &o);
	assert_string_equal(o.order_id, "cs_test_123");
	/* The payment intent is not needed (none for a free session). */
	v = load_json(STRIPE_FILE);
	json_object_set_new(stripe_session(v), "payment_intent", json_null());
	parse_json(LSHOP_PROVIDER_STRIPE, NULL, v, 1, &o);
	assert_int_equal(strlen(o.order_id), 66);

	/* Amounts per entry, exact. */
	parse_json(LSHOP_PROVIDER_STRIPE, NULL,
		   stripe_with("sku-123:2:39.98, sku-9:1:24.50", 6448, "eur"),
		   1, &o);
	assert_item(&o, 0, "sku-123", 2, "39.98", "EUR");
	assert_item(&o, 1, "sku-9", 1, "24.50", "EUR");
	/* One item takes amount_total. */
	parse_json(LSHOP_PROVIDER_STRIPE, NULL,
		   stripe_with("sku-123:3", 5997, "usd"), 1, &o);
	assert_int_equal(o.nitems, 1);
	assert_item(&o, 0, "sku-123", 3, "59.97", "USD");
	/* Zero-decimal, three-decimal, and Stripe's ISK in hundredths. */
	parse_json(LSHOP_PROVIDER_STRIPE, NULL,
		   stripe_with("sku-1:1", 1500, "jpy"), 1, &o);
	assert_item(&o, 0, "sku-1", 1, "1500", "JPY");
	parse_json(LSHOP_PROVIDER_STRIPE, NULL,
		   stripe_with("sku-1:1", 1234, "bhd"), 1, &o);
	assert_item(&o, 0, "sku-1", 1, "1.234", "BHD");
	parse_json(LSHOP_PROVIDER_STRIPE, NULL,
		   stripe_with("sku-1:1", 990000, "isk"), 1, &o);
	assert_item(&o, 0, "sku-1", 1, "9900", "ISK");
	/* Three ways of 100 cents: 34, 33, 33. */
	parse_json(LSHOP_PROVIDER_STRIPE, NULL,
		   stripe_with("a:1,b:1,c:1", 100, "eur"), 1, &o);
	assert_item(&o, 0, "a", 1, "0.34", "EUR");
	assert_item(&o, 1, "b", 1, "0.33", "EUR");
	assert_item(&o, 2, "c", 1, "0.33", "EUR");
	/* The same SKU twice is one item. */
	parse_json(LSHOP_PROVIDER_STRIPE, NULL,
		   stripe_with("a:1:1.00,b:1:2.00,a:2:2.50", 550, "eur"), 1,
		   &o);
	assert_int_equal(o.nitems, 2);
	assert_item(&o, 0, "a", 3, "3.50", "EUR");
	/* A trailing comma is fine. */
	parse_json(LSHOP_PROVIDER_STRIPE, NULL,
		   stripe_with("sku-1:1,", 100, "eur"), 1, &o);
	assert_int_equal(o.nitems, 1);

	/* Payments completed later count; other events and unpaid not. */
	v = load_json(STRIPE_FILE);
	json_object_set_new(v, "type",
			    json_string("checkout.session."
					"async_payment_succeeded"));
	parse_json(LSHOP_PROVIDER_STRIPE, NULL, v, 1, &o);
	v = load_json(STRIPE_FILE);
	json_object_set_new(v, "type", json_string("payment_intent.succeeded"));
	expect_ignored(LSHOP_PROVIDER_STRIPE, NULL, v, "type");
	v = load_json(STRIPE_FILE);
	json_object_set_new(stripe_session(v), "payment_status",
			    json_string("unpaid"));
	expect_ignored(LSHOP_PROVIDER_STRIPE, NULL, v,
		       "data.object.payment_status");
	v = load_json(STRIPE_FILE);
	json_object_del(stripe_meta(v), "liveshop_items");
	expect_ignored(LSHOP_PROVIDER_STRIPE, NULL, v, STRIPE_ITEMS);
	parse_json(LSHOP_PROVIDER_STRIPE, NULL, stripe_with(" , ", 100, "eur"),
		   0, &o);

	/* Bad entries are the shop's mistake: 400, naming the field. */
	expect_field_error(LSHOP_PROVIDER_STRIPE, NULL,
			   stripe_with("sku-1", 100, "eur"), STRIPE_ITEMS);
	expect_field_error(LSHOP_PROVIDER_STRIPE, NULL,
			   stripe_with("sku 1:1", 100, "eur"), STRIPE_ITEMS);
	expect_field_error(LSHOP_PROVIDER_STRIPE, NULL,
			   stripe_with("sku-1:0", 100, "eur"), STRIPE_ITEMS);
	expect_field_error(LSHOP_PROVIDER_STRIPE, NULL,
			   stripe_with("sku-1:two", 100, "eur"), STRIPE_ITEMS);
	expect_field_error(LSHOP_PROVIDER_STRIPE, NULL,
			   stripe_with("sku-1:1:abc", 100, "eur"),
			   STRIPE_ITEMS);
	expect_field_error(LSHOP_PROVIDER_STRIPE, NULL,
			   stripe_with("a:1:1.00,b:1", 100, "eur"),
			   STRIPE_ITEMS);
	expect_field_error(LSHOP_PROVIDER_STRIPE, NULL,
			   stripe_with("a:1", -1, "eur"),
			   "data.object.amount_total");
	expect_field_error(LSHOP_PROVIDER_STRIPE, NULL,
			   stripe_with("a:1", 100, "euro"),
			   "data.object.currency");
	v = load_json(STRIPE_FILE);
	json_object_set_new(stripe_meta(v), "liveshop_stream",
			    json_string("demo"));
	expect_field_error(LSHOP_PROVIDER_STRIPE, NULL, v,
			   "data.object.metadata.liveshop_stream");
	v = load_json(STRIPE_FILE);
	json_object_del(v, "id");
	expect_field_error(LSHOP_PROVIDER_STRIPE, NULL, v, "id");
	v = load_json(STRIPE_FILE);
	json_object_set_new(v, "data", json_string("x"));
	expect_field_error(LSHOP_PROVIDER_STRIPE, NULL, v, "data");
}

static void test_no_stream(void **state)
{
	lshop_order o;
	json_t *v, *attrs;

	(void)state;
	v = load_json(SHOPIFY_FILE);
	attrs = json_object_get(v, "note_attributes");
	json_array_remove(attrs, 1);
	expect_ignored(LSHOP_PROVIDER_SHOPIFY, "orders/paid", v,
		       "note_attributes");
	v = load_json(SHOPIFY_FILE);
	json_object_del(v, "note_attributes");
	expect_ignored(LSHOP_PROVIDER_SHOPIFY, "orders/paid", v,
		       "note_attributes");
	v = load_json(WC_FILE);
	json_array_remove(json_object_get(v, "meta_data"), 1);
	expect_ignored(LSHOP_PROVIDER_WOOCOMMERCE, "order.created", v,
		       "meta_data");
	v = load_json(STRIPE_FILE);
	json_object_set_new(stripe_session(v), "metadata", json_object());
	expect_ignored(LSHOP_PROVIDER_STRIPE, NULL, v,
		       "data.object.metadata.liveshop_stream");

	/* A stream attribute that is no stream name is an error. */
	v = load_json(SHOPIFY_FILE);
	attrs = json_object_get(v, "note_attributes");
	json_object_set_new(json_array_get(attrs, 1), "value",
			    json_string("live/../etc"));
	expect_field_error(LSHOP_PROVIDER_SHOPIFY, "orders/paid", v,
			   "note_attributes[1].value");
	v = load_json(WC_FILE);
	json_object_set_new(json_array_get(json_object_get(v, "meta_data"), 1),
			    "value", json_integer(3));
	expect_field_error(LSHOP_PROVIDER_WOOCOMMERCE, "order.created", v,
			   "meta_data[1].value");
	v = load_json(SHOPIFY_FILE);
	json_object_set_new(v, "note_attributes", json_string("x"));
	expect_field_error(LSHOP_PROVIDER_SHOPIFY, "orders/paid", v,
			   "note_attributes");
	(void)o;
}

/* ---- where the buyer came from (SPEC §16, docs/webhooks.md) ---- */

/* "ls1" 'q' '_' base64url("live/demo"), as written by hand */
#define REF_DEMO_QR     "ls1q_bGl2ZS9kZW1v"
#define REF_OTHER_QR    "ls1q_bGl2ZS9vdGhlcg"
#define REF_OTHER_PLAYER "ls1p_bGl2ZS9vdGhlcg"

/*
 * References that are not liveshop's, or not any more after decoding:
 * each is passed over as if the field were empty.
 */
static const char *const hostile_refs[] = {
    "",
    "cart-4711",                    /* the shop's own id */
    "ls2q_bGl2ZS9vdGhlcg",          /* another version */
    "ls1x_bGl2ZS9vdGhlcg",          /* no such source */
    "LS1q_bGl2ZS9vdGhlcg",          /* case matters */
    "ls1q-bGl2ZS9vdGhlcg",          /* no '_' */
    "ls1qbGl2ZS9vdGhlcg",           /* no '_' at all */
    "ls1q_",                        /* nothing after it */
    "ls1q_b",                       /* no whole byte */
    "ls1q_bGl2ZS9vdGhlcg==",        /* padding is not base64url's here */
    "ls1q_bGl2ZS9vdGhlcg!",         /* outside [A-Za-z0-9_-] */
    "ls1q_bGl2 ZS9vdGhlcg",         /* a space */
    "ls1q_bGl2ZS+vdGhlcg",          /* base64, not base64url */
    "ls1q_ZGVtbw",                  /* "demo": no APP/NAME */
    "ls1q_bGl2ZS8uLi9ldGM",         /* "live/../etc" */
    "ls1q_bGl2ZS9hIGI",             /* "live/a b" */
    "ls1q_bGl2ZS9kZW1vAHg",         /* "live/demo\0x" */
    "ls1q_bGl2ZS8",                 /* "live/" */
    "ls1q_-_-_-_-",                 /* bytes no stream is made of */
};
#define N_HOSTILE_REFS (sizeof(hostile_refs) / sizeof(hostile_refs[0]))

/* The Shopify sample with a liveshop_src attribute of value v. */
static json_t *shopify_with_src(json_t *v)
{
	json_t *o = load_json(SHOPIFY_FILE);

	json_array_append_new(json_object_get(o, "note_attributes"),
			      json_pack("{s:s,s:o}", "name", "liveshop_src",
					"value", v));
	return o;
}

static json_t *wc_with_src(json_t *v)
{
	json_t *o = load_json(WC_FILE);

	json_array_append_new(json_object_get(o, "meta_data"),
			      json_pack("{s:i,s:s,s:o}", "id", 13108, "key",
					"liveshop_src", "value", v));
	return o;
}

/* A Stripe session from a Payment Link: no liveshop_stream metadata,
 * client_reference_id ref (NULL: none). */
static json_t *stripe_link(const char *ref)
{
	json_t *v = load_json(STRIPE_FILE);

	json_object_del(stripe_meta(v), "liveshop_stream");
	json_object_set_new(stripe_session(v), "client_reference_id",
			    ref ? json_string(ref) : json_null());
	json_object_set_new(stripe_session(v), "payment_link",
			    json_string("plink_1QKb7dLkdIwHu7ixAbCdEfGh"));
	return v;
}

static void test_source_shopify(void **state)
{
	lshop_order o;
	json_t *attrs;
	char *json;

	(void)state;
	/* A cart permalink's attributes[liveshop_src]=qr. */
	parse_json(LSHOP_PROVIDER_SHOPIFY, "orders/paid",
		   shopify_with_src(json_string("qr")), 1, &o);
	assert_string_equal(o.stream, "live/demo");
	assert_string_equal(o.source, "qr");
	assert_int_equal(o.nitems, 2);
	json = lshop_order_to_json(&o, NULL);
	assert_non_null(strstr(json, "\"stream\":\"live/demo\",\"source\":"
				     "\"qr\","));
	free(json);
	roundtrip(&o);
	parse_json(LSHOP_PROVIDER_SHOPIFY, "orders/paid",
		   shopify_with_src(json_string("player")), 1, &o);
	assert_string_equal(o.source, "player");
	roundtrip(&o);

	/* None: "" (the player's plain buy URL carries no ls_src). */
	parse_json(LSHOP_PROVIDER_SHOPIFY, "orders/paid",
		   load_json(SHOPIFY_FILE), 1, &o);
	assert_string_equal(o.source, "");
	json = lshop_order_to_json(&o, NULL);
	assert_null(strstr(json, "source"));
	free(json);

	/* Any other value is left out; the order counts all the same. */
	parse_json(LSHOP_PROVIDER_SHOPIFY, "orders/paid",
		   shopify_with_src(json_string("QR")), 1, &o);
	assert_string_equal(o.source, "");
	parse_json(LSHOP_PROVIDER_SHOPIFY, "orders/paid",
		   shopify_with_src(json_string("qr ")), 1, &o);
	assert_string_equal(o.source, "");
	parse_json(LSHOP_PROVIDER_SHOPIFY, "orders/paid",
		   shopify_with_src(json_string("tiktok")), 1, &o);
	assert_string_equal(o.source, "");
	parse_json(LSHOP_PROVIDER_SHOPIFY, "orders/paid",
		   shopify_with_src(json_stringn("qr\0x", 4)), 1, &o);
	assert_string_equal(o.source, "");
	parse_json(LSHOP_PROVIDER_SHOPIFY, "orders/paid",
		   shopify_with_src(json_integer(1)), 1, &o);
	assert_string_equal(o.source, "");
	parse_json(LSHOP_PROVIDER_SHOPIFY, "orders/paid",
		   shopify_with_src(json_null()), 1, &o);
	assert_string_equal(o.source, "");
	/* An attribute without a value, or not an object after the
	 * stream's, is passed over too. */
	attrs = load_json(SHOPIFY_FILE);
	json_array_append_new(json_object_get(attrs, "note_attributes"),
			      json_pack("{s:s}", "name", "liveshop_src"));
	parse_json(LSHOP_PROVIDER_SHOPIFY, "orders/paid", attrs, 1, &o);
	assert_string_equal(o.source, "");
	/* A source without a stream is no live order. */
	attrs = shopify_with_src(json_string("qr"));
	json_array_remove(json_object_get(attrs, "note_attributes"), 1);
	expect_ignored(LSHOP_PROVIDER_SHOPIFY, "orders/paid", attrs,
		       "note_attributes");
}

static void test_source_woocommerce(void **state)
{
	lshop_order o;
	json_t *v;

	(void)state;
	/* ?add-to-cart=ID&ls_stream=live%2Fdemo&ls_src=qr, copied into
	 * the order's meta by the snippet of docs/webhooks.md */
	parse_json(LSHOP_PROVIDER_WOOCOMMERCE, "order.created",
		   wc_with_src(json_string("qr")), 1, &o);
	assert_string_equal(o.stream, "live/demo");
	assert_string_equal(o.source, "qr");
	roundtrip(&o);
	parse_json(LSHOP_PROVIDER_WOOCOMMERCE, "order.updated",
		   wc_with_src(json_string("player")), 1, &o);
	assert_string_equal(o.source, "player");
	parse_json(LSHOP_PROVIDER_WOOCOMMERCE, "order.created",
		   load_json(WC_FILE), 1, &o);
	assert_string_equal(o.source, "");
	parse_json(LSHOP_PROVIDER_WOOCOMMERCE, "order.created",
		   wc_with_src(json_string("<script>")), 1, &o);
	assert_string_equal(o.source, "");
	parse_json(LSHOP_PROVIDER_WOOCOMMERCE, "order.created",
		   wc_with_src(json_pack("[s]", "qr")), 1, &o);
	assert_string_equal(o.source, "");
	/* The first liveshop_src counts, as the first liveshop_stream. */
	v = wc_with_src(json_string("qr"));
	json_array_append_new(json_object_get(v, "meta_data"),
			      json_pack("{s:s,s:s}", "key", "liveshop_src",
					"value", "player"));
	parse_json(LSHOP_PROVIDER_WOOCOMMERCE, "order.created", v, 1, &o);
	assert_string_equal(o.source, "qr");
}

static void test_source_stripe(void **state)
{
	char ref[LSHOP_REF_MAX], *json;
	lshop_order o;
	json_t *v;
	size_t i;

	(void)state;
	/* A Payment Link opened with ?client_reference_id={ref}. */
	parse_json(LSHOP_PROVIDER_STRIPE, NULL, stripe_link(REF_OTHER_QR), 1,
		   &o);
	assert_string_equal(o.stream, "live/other");
	assert_string_equal(o.source, "qr");
	assert_int_equal(o.nitems, 2);
	assert_item(&o, 0, "sku-123", 2, "42.99", "EUR");
	roundtrip(&o);
	/* Nothing of the reference is kept beyond its stream and source. */
	json = lshop_order_to_json(&o, NULL);
	assert_null(strstr(json, "ls1q"));
	free(json);
	parse_json(LSHOP_PROVIDER_STRIPE, NULL, stripe_link(REF_OTHER_PLAYER),
		   1, &o);
	assert_string_equal(o.stream, "live/other");
	assert_string_equal(o.source, "player");
	/* What the core encodes, the adapter reads back. */
	assert_true(lshop_ref_encode("live/demo-2.x_y", LSHOP_SOURCE_QR, ref,
				     sizeof(ref)) > 0);
	parse_json(LSHOP_PROVIDER_STRIPE, NULL, stripe_link(ref), 1, &o);
	assert_string_equal(o.stream, "live/demo-2.x_y");
	assert_string_equal(o.source, "qr");

	/* Metadata and a reference: the metadata's stream wins; the
	 * reference's source only goes with its own stream. */
	v = stripe_link(REF_OTHER_QR);
	json_object_set_new(stripe_meta(v), "liveshop_stream",
			    json_string("live/demo"));
	parse_json(LSHOP_PROVIDER_STRIPE, NULL, v, 1, &o);
	assert_string_equal(o.stream, "live/demo");
	assert_string_equal(o.source, "");
	v = stripe_link(REF_DEMO_QR);
	json_object_set_new(stripe_meta(v), "liveshop_stream",
			    json_string("live/demo"));
	parse_json(LSHOP_PROVIDER_STRIPE, NULL, v, 1, &o);
	assert_string_equal(o.stream, "live/demo");
	assert_string_equal(o.source, "qr");
	v = stripe_link(REF_DEMO_QR);
	json_object_set_new(stripe_meta(v), "liveshop_stream",
			    json_string("live/demo"));
	json_object_set_new(stripe_meta(v), "liveshop_src",
			    json_string("player"));
	parse_json(LSHOP_PROVIDER_STRIPE, NULL, v, 1, &o);
	assert_string_equal(o.source, "player");
	/* metadata.liveshop_src alone, and a value of no source */
	v = load_json(STRIPE_FILE);
	json_object_set_new(stripe_meta(v), "liveshop_src", json_string("qr"));
	parse_json(LSHOP_PROVIDER_STRIPE, NULL, v, 1, &o);
	assert_string_equal(o.source, "qr");
	v = load_json(STRIPE_FILE);
	json_object_set_new(stripe_meta(v), "liveshop_src", json_string("q"));
	parse_json(LSHOP_PROVIDER_STRIPE, NULL, v, 1, &o);
	assert_string_equal(o.source, "");
	/* The sample: metadata, client_reference_id null. */
	parse_json(LSHOP_PROVIDER_STRIPE, NULL, load_json(STRIPE_FILE), 1, &o);
	assert_string_equal(o.source, "");

	/* Hostile references: with metadata, the order counts by it ... */
	for (i = 0; i < N_HOSTILE_REFS; i++) {
		v = load_json(STRIPE_FILE);
		json_object_set_new(stripe_session(v), "client_reference_id",
				    json_string(hostile_refs[i]));
		parse_json(LSHOP_PROVIDER_STRIPE, NULL, v, 1, &o);
		assert_string_equal(o.stream, "live/demo");
		assert_string_equal(o.source, "");
	}
	/* ... without, it is no live order, as without any reference. */
	for (i = 0; i < N_HOSTILE_REFS; i++)
		expect_ignored(LSHOP_PROVIDER_STRIPE, NULL,
			       stripe_link(hostile_refs[i]),
			       "data.object.metadata.liveshop_stream");
	expect_ignored(LSHOP_PROVIDER_STRIPE, NULL, stripe_link(NULL),
		       "data.object.metadata.liveshop_stream");
	/* NUL inside; too long for Stripe (200) and for a stream. */
	v = stripe_link(NULL);
	json_object_set_new(stripe_session(v), "client_reference_id",
			    json_stringn("ls1q_bGl2ZS9vdGhlcg\0", 20));
	expect_ignored(LSHOP_PROVIDER_STRIPE, NULL, v,
		       "data.object.metadata.liveshop_stream");
	memset(ref, 'A', sizeof(ref) - 1);
	memcpy(ref, "ls1q_", 5);
	ref[sizeof(ref) - 1] = '\0';
	expect_ignored(LSHOP_PROVIDER_STRIPE, NULL, stripe_link(ref),
		       "data.object.metadata.liveshop_stream");
	ref[150] = '\0';
	expect_ignored(LSHOP_PROVIDER_STRIPE, NULL, stripe_link(ref),
		       "data.object.metadata.liveshop_stream");
	/* The longest stream's reference still fits Stripe's 200. */
	memset(ref, 0, sizeof(ref));
	{
		char stream[LSHOP_STREAM_MAX + 1];

		memset(stream, 'a', LSHOP_STREAM_MAX);
		stream[64] = '/';
		stream[LSHOP_STREAM_MAX] = '\0';
		assert_true(lshop_stream_valid(stream, strlen(stream)));
		assert_true(lshop_ref_encode(stream, LSHOP_SOURCE_PLAYER, ref,
					     sizeof(ref)) > 0);
		assert_true(strlen(ref) <= 200);
		parse_json(LSHOP_PROVIDER_STRIPE, NULL, stripe_link(ref), 1,
			   &o);
		assert_string_equal(o.stream, stream);
		assert_string_equal(o.source, "player");
	}
	/* A client_reference_id of another type is the shop's business. */
	v = stripe_link(NULL);
	json_object_set_new(stripe_session(v), "client_reference_id",
			    json_integer(42));
	expect_ignored(LSHOP_PROVIDER_STRIPE, NULL, v,
		       "data.object.metadata.liveshop_stream");
	v = load_json(STRIPE_FILE);
	json_object_set_new(stripe_session(v), "client_reference_id",
			    json_pack("{s:s}", "ref", REF_OTHER_QR));
	parse_json(LSHOP_PROVIDER_STRIPE, NULL, v, 1, &o);
	assert_string_equal(o.stream, "live/demo");
	/* An invalid metadata stream stays the shop's mistake (400), a
	 * good reference notwithstanding. */
	v = stripe_link(REF_OTHER_QR);
	json_object_set_new(stripe_meta(v), "liveshop_stream",
			    json_string("demo"));
	expect_field_error(LSHOP_PROVIDER_STRIPE, NULL, v,
			   "data.object.metadata.liveshop_stream");
	/* A reference brings a stream, not items. */
	v = stripe_link(REF_OTHER_QR);
	json_object_del(stripe_meta(v), "liveshop_items");
	expect_ignored(LSHOP_PROVIDER_STRIPE, NULL, v, STRIPE_ITEMS);
}

static void test_source_standard(void **state)
{
	lshop_order o;
	json_t *v;
	char *json;

	(void)state;
	v = load_json(STANDARD_FILE);
	json_object_set_new(v, "source", json_string("qr"));
	parse_json(LSHOP_PROVIDER_STANDARD, NULL, v, 1, &o);
	assert_string_equal(o.source, "qr");
	json = lshop_order_to_json(&o, NULL);
	assert_string_equal(
	    json, "{\"type\":\"order.paid\",\"order_id\":\"1001\",\"stream\":"
		  "\"live/demo\",\"source\":\"qr\",\"items\":[{\"offer\":"
		  "\"sku-123\",\"quantity\":2,\"amount\":\"39.98\","
		  "\"currency\":\"EUR\"},{\"offer\":\"sku-9\",\"quantity\":1,"
		  "\"amount\":\"24.50\",\"currency\":\"EUR\"}]}");
	free(json);
	roundtrip(&o);
	v = load_json(STANDARD_FILE);
	json_object_set_new(v, "source", json_string("player"));
	parse_json(LSHOP_PROVIDER_STANDARD, NULL, v, 1, &o);
	assert_string_equal(o.source, "player");
	/* Optional, and never a reason to refuse the order. */
	parse_json(LSHOP_PROVIDER_STANDARD, NULL, load_json(STANDARD_FILE), 1,
		   &o);
	assert_string_equal(o.source, "");
	v = load_json(STANDARD_FILE);
	json_object_set_new(v, "source", json_string("email"));
	parse_json(LSHOP_PROVIDER_STANDARD, NULL, v, 1, &o);
	assert_string_equal(o.source, "");
	v = load_json(STANDARD_FILE);
	json_object_set_new(v, "source", json_integer(7));
	parse_json(LSHOP_PROVIDER_STANDARD, NULL, v, 1, &o);
	assert_string_equal(o.source, "");
	v = load_json(STANDARD_FILE);
	json_object_set_new(v, "source", json_null());
	parse_json(LSHOP_PROVIDER_STANDARD, NULL, v, 1, &o);
	assert_string_equal(o.source, "");
}

/* The answer names the source when there is one. */
static void test_source_answer(void **state)
{
	lshop_order o;
	char *a;

	(void)state;
	parse_json(LSHOP_PROVIDER_SHOPIFY, "orders/paid",
		   shopify_with_src(json_string("qr")), 1, &o);
	a = lshop_webhook_answer_json(&o, 0, 3, 0, NULL, NULL);
	assert_string_equal(a, "{\"ok\":true,\"duplicate\":false,"
			       "\"order_id\":\"5839204810771\",\"stream\":"
			       "\"live/demo\",\"source\":\"qr\",\"sold\":3,"
			       "\"oversold\":0}");
	free(a);
	a = lshop_webhook_answer_json(&o, 1, 0, 0, NULL, NULL);
	assert_null(strstr(a, "source"));
	free(a);
	o.source[0] = '\0';
	a = lshop_webhook_answer_json(&o, 0, 3, 0, NULL, NULL);
	assert_null(strstr(a, "source"));
	free(a);
}

static void test_skipped_items(void **state)
{
	lshop_order o;
	json_t *v, *lines;
	size_t i;

	(void)state;
	/* SKUs that are no offer id are another product, not an error. */
	v = load_json(SHOPIFY_FILE);
	lines = json_object_get(v, "line_items");
	json_object_set_new(json_array_get(lines, 0), "sku",
			    json_string("GIFT CARD"));
	json_object_set_new(json_array_get(lines, 0), "quantity",
			    json_string("not checked"));
	parse_json(LSHOP_PROVIDER_SHOPIFY, "orders/paid", v, 1, &o);
	assert_int_equal(o.nitems, 1);
	assert_item(&o, 0, "sku-9", 1, "24.50", "EUR");

	/* No liveshop item at all: acknowledged, ignored. */
	v = load_json(SHOPIFY_FILE);
	lines = json_object_get(v, "line_items");
	for (i = 0; i < json_array_size(lines); i++)
		json_object_set_new(json_array_get(lines, i), "sku",
				    json_string(""));
	expect_ignored(LSHOP_PROVIDER_SHOPIFY, "orders/paid", v, "line_items");
	v = load_json(WC_FILE);
	lines = json_object_get(v, "line_items");
	for (i = 0; i < json_array_size(lines); i++)
		json_object_del(json_array_get(lines, i), "sku");
	expect_ignored(LSHOP_PROVIDER_WOOCOMMERCE, "order.created", v,
		       "line_items");

	/* The same SKU on two lines is one item. */
	v = load_json(SHOPIFY_FILE);
	lines = json_object_get(v, "line_items");
	json_object_set_new(json_array_get(lines, 1), "sku",
			    json_string("sku-123"));
	parse_json(LSHOP_PROVIDER_SHOPIFY, "orders/paid", v, 1, &o);
	assert_int_equal(o.nitems, 1);
	assert_item(&o, 0, "sku-123", 3, "64.48", "EUR");
}

static void test_amounts(void **state)
{
	static const struct {
		const char *json, *currency, *want;
	} cases[] = {
	    {"\"19.99\"", "EUR", "19.99"},
	    {"19.99", "EUR", "19.99"},
	    {"20", "EUR", "20.00"},
	    {"\"20\"", "EUR", "20.00"},
	    {"0", "EUR", "0.00"},
	    {"\"19.995\"", "EUR", "20.00"},
	    {"\"19.994\"", "EUR", "19.99"},
	    {"\"1500\"", "JPY", "1500"},
	    {"1500.4", "JPY", "1500"},
	    {"\"1.2345\"", "KWD", "1.235"},
	    {"0.1", "USD", "0.10"},
	    {"\"999999999.9999\"", "CLF", "999999999.9999"},
	};
	lshop_order o;
	lshop_error err;
	char *body;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		body = fmt("{\"type\":\"order.paid\",\"order_id\":\"1\","
			   "\"stream\":\"live/demo\",\"items\":[{\"offer\":"
			   "\"a\",\"quantity\":1,\"amount\":%s,\"currency\":"
			   "\"%s\"}]}",
			   cases[i].json, cases[i].currency);
		if (parse(LSHOP_PROVIDER_STANDARD, NULL, body, &o, &err) != 1)
			fail_msg("%s: %s", body, err.message);
		assert_string_equal(o.items[0].amount, cases[i].want);
		free(body);
	}
	/* Shopify's price times quantity, exactly. */
	body = fmt("{\"id\":1,\"currency\":\"EUR\",\"financial_status\":"
		   "\"paid\",\"note_attributes\":[{\"name\":"
		   "\"liveshop_stream\",\"value\":\"a/b\"}],\"line_items\":"
		   "[{\"sku\":\"x\",\"quantity\":1000000,\"price\":"
		   "\"0.1\"},{\"sku\":\"y\",\"quantity\":3,\"price\":0.1}]}");
	assert_int_equal(
	    parse(LSHOP_PROVIDER_SHOPIFY, "orders/paid", body, &o, &err), 1);
	assert_item(&o, 0, "x", 1000000, "100000.00", "EUR");
	assert_item(&o, 1, "y", 3, "0.30", "EUR");
	free(body);
	/* Too large for a line. */
	body = fmt("{\"id\":1,\"currency\":\"EUR\",\"financial_status\":"
		   "\"paid\",\"note_attributes\":[{\"name\":"
		   "\"liveshop_stream\",\"value\":\"a/b\"}],\"line_items\":"
		   "[{\"sku\":\"x\",\"quantity\":1000000,\"price\":"
		   "\"999999999.99\"}]}");
	assert_int_equal(
	    parse(LSHOP_PROVIDER_SHOPIFY, "orders/paid", body, &o, &err), -1);
	assert_string_equal(err.field, "line_items[0].price");
	free(body);
}

static json_t *standard_with_item(const char *key, json_t *value)
{
	json_t *v = load_json(STANDARD_FILE);
	json_t *item = json_array_get(json_object_get(v, "items"), 1);

	if (value == NULL)
		json_object_del(item, key);
	else
		json_object_set_new(item, key, value);
	return v;
}

static void test_errors(void **state)
{
	static const char *const bodies[] = {
	    "", "{", "[1]", "\"order\"", "{\"a\":1,\"a\":2}", "null"};
	lshop_order o;
	lshop_error err;
	json_t *v, *items;
	char *s65, *body;
	size_t i;
	lshop_provider p;

	(void)state;
	/* Not JSON objects: for every provider. */
	for (p = LSHOP_PROVIDER_STANDARD; p <= LSHOP_PROVIDER_STRIPE; p++) {
		for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
			memset(&o, 0x5a, sizeof(o));
			assert_int_equal(parse(p, NULL, bodies[i], &o, &err),
					 -1);
			assert_string_equal(err.code, "invalid_json");
			assert_int_equal(o.nitems, 0);
		}
	}
	assert_int_equal(
	    lshop_order_parse(LSHOP_PROVIDER_STANDARD, NULL, NULL, 0, &o, &err),
	    -1);

	/* Standard: every field checked, named by its path. */
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL,
			   standard_with_item("offer", json_string("a b")),
			   "items[1].offer");
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL,
			   standard_with_item("offer", NULL), "items[1].offer");
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL,
			   standard_with_item("quantity", json_integer(0)),
			   "items[1].quantity");
	expect_field_error(
	    LSHOP_PROVIDER_STANDARD, NULL,
	    standard_with_item("quantity", json_integer(1000001)),
	    "items[1].quantity");
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL,
			   standard_with_item("quantity", json_string("2")),
			   "items[1].quantity");
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL,
			   standard_with_item("quantity", json_real(2.5)),
			   "items[1].quantity");
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL,
			   standard_with_item("amount", json_string("-1.00")),
			   "items[1].amount");
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL,
			   standard_with_item("amount", json_real(-0.5)),
			   "items[1].amount");
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL,
			   standard_with_item("amount", json_string("1e3")),
			   "items[1].amount");
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL,
			   standard_with_item("amount", json_true()),
			   "items[1].amount");
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL,
			   standard_with_item("currency", json_string("eur")),
			   "items[1].currency");
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL,
			   standard_with_item("currency", NULL),
			   "items[1].currency");
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL,
			   standard_with_item("qty", json_integer(1)),
			   "items[1].qty");
	v = load_json(STANDARD_FILE);
	json_array_set_new(json_object_get(v, "items"), 0, json_string("x"));
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL, v, "items[0]");
	v = load_json(STANDARD_FILE);
	json_object_set_new(v, "items", json_object());
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL, v, "items");
	v = load_json(STANDARD_FILE);
	json_object_set_new(v, "stream", json_string("live"));
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL, v, "stream");
	v = load_json(STANDARD_FILE);
	json_object_del(v, "stream");
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL, v, "stream");
	v = load_json(STANDARD_FILE);
	json_object_set_new(v, "customer", json_string("anna@example.com"));
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL, v, "customer");
	v = load_json(STANDARD_FILE);
	json_object_del(v, "type");
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL, v, "type");
	v = load_json(STANDARD_FILE);
	json_object_set_new(v, "type", json_string("order.cancelled"));
	expect_ignored(LSHOP_PROVIDER_STANDARD, NULL, v, "type");
	v = load_json(STANDARD_FILE);
	json_object_set_new(v, "items", json_array());
	expect_ignored(LSHOP_PROVIDER_STANDARD, NULL, v, "items");

	/* Order ids: 1-255 printable ASCII, or a whole number. */
	s65 = repeat("9", 256);
	v = load_json(STANDARD_FILE);
	json_object_set_new(v, "order_id", json_string(s65));
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL, v, "order_id");
	s65[255] = '\0';
	v = load_json(STANDARD_FILE);
	json_object_set_new(v, "order_id", json_string(s65));
	parse_json(LSHOP_PROVIDER_STANDARD, NULL, v, 1, &o);
	assert_string_equal(o.order_id, s65);
	free(s65);
	v = load_json(STANDARD_FILE);
	json_object_set_new(v, "order_id", json_string("10\n01"));
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL, v, "order_id");
	v = load_json(STANDARD_FILE);
	json_object_set_new(v, "order_id", json_string(""));
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL, v, "order_id");
	v = load_json(STANDARD_FILE);
	json_object_set_new(v, "order_id", json_string("Bestellung #1001"));
	parse_json(LSHOP_PROVIDER_STANDARD, NULL, v, 1, &o);
	assert_string_equal(o.order_id, "Bestellung #1001");
	v = load_json(STANDARD_FILE);
	json_object_set_new(v, "order_id", json_integer(-1));
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL, v, "order_id");

	/* At most 100 items. */
	v = load_json(STANDARD_FILE);
	items = json_array();
	for (i = 0; i < 101; i++) {
		body = fmt("o%zu", i);
		json_array_append_new(items,
				      json_pack("{s:s,s:i,s:s,s:s}", "offer",
						body, "quantity", 1, "amount",
						"1", "currency", "EUR"));
		free(body);
	}
	json_object_set_new(v, "items", items);
	expect_field_error(LSHOP_PROVIDER_STANDARD, NULL, v, "items");

	/* Shopify: the paths of its fields. */
	v = load_json(SHOPIFY_FILE);
	json_object_set_new(json_array_get(json_object_get(v, "line_items"), 1),
			    "quantity", json_string("1"));
	expect_field_error(LSHOP_PROVIDER_SHOPIFY, "orders/paid", v,
			   "line_items[1].quantity");
	v = load_json(SHOPIFY_FILE);
	json_object_set_new(json_array_get(json_object_get(v, "line_items"), 0),
			    "price", json_string("19,99"));
	expect_field_error(LSHOP_PROVIDER_SHOPIFY, "orders/paid", v,
			   "line_items[0].price");
	v = load_json(SHOPIFY_FILE);
	json_object_del(json_array_get(json_object_get(v, "line_items"), 0),
			"price");
	expect_field_error(LSHOP_PROVIDER_SHOPIFY, "orders/paid", v,
			   "line_items[0].price");
	v = load_json(SHOPIFY_FILE);
	json_array_set_new(json_object_get(v, "line_items"), 2, json_null());
	expect_field_error(LSHOP_PROVIDER_SHOPIFY, "orders/paid", v,
			   "line_items[2]");
	v = load_json(SHOPIFY_FILE);
	json_object_set_new(v, "line_items", json_object());
	expect_field_error(LSHOP_PROVIDER_SHOPIFY, "orders/paid", v,
			   "line_items");
	v = load_json(SHOPIFY_FILE);
	json_object_del(v, "line_items");
	expect_field_error(LSHOP_PROVIDER_SHOPIFY, "orders/paid", v,
			   "line_items");
	v = load_json(SHOPIFY_FILE);
	json_object_set_new(v, "currency", json_string("Euro"));
	expect_field_error(LSHOP_PROVIDER_SHOPIFY, "orders/paid", v,
			   "currency");
	v = load_json(SHOPIFY_FILE);
	json_object_del(v, "id");
	expect_field_error(LSHOP_PROVIDER_SHOPIFY, "orders/paid", v, "id");
	v = load_json(SHOPIFY_FILE);
	json_object_set_new(v, "id", json_real(1.5));
	expect_field_error(LSHOP_PROVIDER_SHOPIFY, "orders/paid", v, "id");
	v = load_json(SHOPIFY_FILE);
	json_array_set_new(json_object_get(v, "note_attributes"), 0,
			   json_integer(1));
	expect_field_error(LSHOP_PROVIDER_SHOPIFY, "orders/paid", v,
			   "note_attributes[0]");
	/* More than 100 different liveshop offers in one order. */
	v = load_json(SHOPIFY_FILE);
	items = json_array();
	for (i = 0; i < 101; i++) {
		body = fmt("s%zu", i);
		json_array_append_new(items, json_pack("{s:s,s:i,s:s}", "sku",
						       body, "quantity", 1,
						       "price", "1.00"));
		free(body);
	}
	json_object_set_new(v, "line_items", items);
	expect_field_error(LSHOP_PROVIDER_SHOPIFY, "orders/paid", v,
			   "line_items");

	/* WooCommerce. */
	v = load_json(WC_FILE);
	json_object_set_new(json_array_get(json_object_get(v, "line_items"), 1),
			    "total", json_string("abc"));
	expect_field_error(LSHOP_PROVIDER_WOOCOMMERCE, "order.created", v,
			   "line_items[1].total");
	v = load_json(WC_FILE);
	json_object_set_new(json_array_get(json_object_get(v, "line_items"), 0),
			    "quantity", json_integer(-2));
	expect_field_error(LSHOP_PROVIDER_WOOCOMMERCE, "order.created", v,
			   "line_items[0].quantity");
	v = load_json(WC_FILE);
	json_object_set_new(v, "id", json_string(""));
	expect_field_error(LSHOP_PROVIDER_WOOCOMMERCE, "order.created", v,
			   "id");
	/* Totals may come as numbers. */
	v = load_json(WC_FILE);
	json_object_set_new(json_array_get(json_object_get(v, "line_items"), 0),
			    "total", json_real(33.6));
	parse_json(LSHOP_PROVIDER_WOOCOMMERCE, "order.created", v, 1, &o);
	assert_item(&o, 0, "sku-123", 2, "33.60", "EUR");
}

/* ---- personal data ---- */

static int contains(const void *hay, size_t n, const char *needle)
{
	const char *h = hay;
	size_t len = strlen(needle), i;

	for (i = 0; i + len <= n; i++)
		if (memcmp(h + i, needle, len) == 0)
			return 1;
	return 0;
}

static void no_personal_data(const lshop_order *o, const char *const *personal,
			     size_t n)
{
	char *json = lshop_order_to_json(o, NULL);
	size_t i;

	assert_non_null(json);
	for (i = 0; i < n; i++) {
		if (strstr(json, personal[i]) != NULL)
			fail_msg("\"%s\" in %s", personal[i], json);
		/* Nor anywhere in the struct handed on. */
		assert_false(contains(o, sizeof(*o), personal[i]));
	}
	free(json);
}

static void test_personal_data(void **state)
{
	static const char *const shopify[] = {
	    "anna", "Anna",       "Schmidt",   "example.com",
	    "151",  "Lindenstra", "50674",     "198.51.100.23",
	    "Oma",  "Geschenk",   "K3PZ8WQ1A", "7012345678901"};
	static const char *const wc[] = {
	    "Jonas",        "Becker",
	    "jonas.becker", "example.org",
	    "Hauptstra",    "04109",
	    "341",          "203.0.113.77",
	    "Nachbarn",     "wc_order_Xq7Lk2pR9sT4v",
	    "Firefox"};
	static const char *const stripe[] = {
	    "Mia",         "Wagner", "mia.wagner", "example.net",
	    "Elbchaussee", "22763",  "1234567",    "cus_R3mXq8Lk2pR7sT",
	    "Hamburg"};
	lshop_order o;

	(void)state;
	parse_json(LSHOP_PROVIDER_SHOPIFY, "orders/paid",
		   load_json(SHOPIFY_FILE), 1, &o);
	no_personal_data(&o, shopify, sizeof(shopify) / sizeof(shopify[0]));
	parse_json(LSHOP_PROVIDER_WOOCOMMERCE, "order.created",
		   load_json(WC_FILE), 1, &o);
	no_personal_data(&o, wc, sizeof(wc) / sizeof(wc[0]));
	parse_json(LSHOP_PROVIDER_STRIPE, NULL, load_json(STRIPE_FILE), 1, &o);
	no_personal_data(&o, stripe, sizeof(stripe) / sizeof(stripe[0]));
}

/* ---- webhooks out ---- */

static void test_sign(void **state)
{
	static const char body[] = "{\"seq\":17,\"id\":\"live/demo:17\","
				   "\"type\":\"offer.pinned\"}";
	char id[LSHOP_DELIVERY_ID_MAX + 1], *s, *want, *long_id;
	lshop_error err;
	headers h;

	(void)state;
	s = lshop_webhook_sign(STD_SECRET, strlen(STD_SECRET), "live/demo:17",
			       NOW, body, strlen(body));
	assert_non_null(s);
	want = std_sig(std_key, STD_KEY_LEN, "live/demo:17", NOW, body,
		       strlen(body));
	assert_string_equal(s, want);
	assert_int_equal(strlen(s), 3 + 44);
	std_headers(&h, "live/demo:17", NOW, s);
	assert_int_equal(verify(LSHOP_PROVIDER_STANDARD, STD_SECRET, &h, body,
				strlen(body), id, &err),
			 LSHOP_VERIFY_OK);
	assert_string_equal(id, "live/demo:17");
	free(s);
	free(want);

	/* A raw secret, an empty body. */
	s = lshop_webhook_sign("raw-secret", 10, "msg_1", 0, "", 0);
	want = std_sig("raw-secret", 10, "msg_1", 0, "", 0);
	assert_string_equal(s, want);
	free(s);
	free(want);
	s = lshop_webhook_sign("raw-secret", 10, "msg_1", 0, NULL, 0);
	assert_non_null(s);
	free(s);

	/* Ids that no receiver could read back, times before 1970. */
	long_id = repeat("i", 129);
	assert_null(lshop_webhook_sign(STD_SECRET, strlen(STD_SECRET), NULL,
				       NOW, body, strlen(body)));
	assert_null(lshop_webhook_sign(STD_SECRET, strlen(STD_SECRET), "", NOW,
				       body, strlen(body)));
	assert_null(lshop_webhook_sign(STD_SECRET, strlen(STD_SECRET), "a b",
				       NOW, body, strlen(body)));
	assert_null(lshop_webhook_sign(STD_SECRET, strlen(STD_SECRET), long_id,
				       NOW, body, strlen(body)));
	assert_null(lshop_webhook_sign(STD_SECRET, strlen(STD_SECRET), "m", -1,
				       body, strlen(body)));
	free(long_id);
}

static void test_retry(void **state)
{
	int64_t prev = 0, d, total = 0;
	unsigned a, tries = 0;

	(void)state;
	assert_int_equal(lshop_webhook_retry_delay(1, 0), 5000);
	assert_int_equal(lshop_webhook_retry_delay(0, 0), 5000);
	for (a = 1; (d = lshop_webhook_retry_delay(a, 0)) >= 0; a++) {
		assert_true(d >= prev);
		assert_true(d <= INT64_C(86400000));
		prev = d;
		total += d;
		tries++;
		assert_true(a < 100);
	}
	/* Seconds, then minutes, up to a day; given up after ~3 days. */
	assert_int_equal(lshop_webhook_retry_delay(2, 0), 30000);
	assert_int_equal(lshop_webhook_retry_delay(4, 0), 600000);
	assert_int_equal(prev, INT64_C(86400000));
	assert_true(tries >= 10 && tries <= 14);
	assert_true(total >= INT64_C(2) * 86400000 &&
		    total <= INT64_C(3) * 86400000);
	/* And stays given up. */
	for (; a < 1000; a += 37)
		assert_int_equal(lshop_webhook_retry_delay(a, 0.5), -1);
	assert_int_equal(lshop_webhook_retry_delay(UINT32_MAX, 0), -1);

	/* Jitter spreads by up to a quarter, never less than the base. */
	for (a = 1; a <= tries; a++) {
		int64_t base = lshop_webhook_retry_delay(a, 0);
		double j;

		for (j = 0; j < 1; j += 0.125) {
			d = lshop_webhook_retry_delay(a, j);
			assert_true(d >= base);
			assert_true(d <= base + base / 4);
		}
		d = lshop_webhook_retry_delay(a, 0.999999);
		assert_true(d < base + base / 4 + 1);
		assert_int_equal(lshop_webhook_retry_delay(a, -3), base);
		assert_int_equal(lshop_webhook_retry_delay(a, NAN), base);
		assert_true(lshop_webhook_retry_delay(a, 7) <= base + base / 4);
	}
	assert_int_equal(lshop_webhook_retry_delay(1, 0.5), 5625);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_provider_names),
	    cmocka_unit_test(test_standard_verify),
	    cmocka_unit_test(test_standard_window),
	    cmocka_unit_test(test_shopify_verify),
	    cmocka_unit_test(test_woocommerce_verify),
	    cmocka_unit_test(test_woocommerce_ping),
	    cmocka_unit_test(test_stripe_verify),
	    cmocka_unit_test(test_secrets),
	    cmocka_unit_test(test_map_standard),
	    cmocka_unit_test(test_map_shopify),
	    cmocka_unit_test(test_map_woocommerce),
	    cmocka_unit_test(test_map_refunds),
	    cmocka_unit_test(test_map_stripe),
	    cmocka_unit_test(test_no_stream),
	    cmocka_unit_test(test_source_shopify),
	    cmocka_unit_test(test_source_woocommerce),
	    cmocka_unit_test(test_source_stripe),
	    cmocka_unit_test(test_source_standard),
	    cmocka_unit_test(test_source_answer),
	    cmocka_unit_test(test_skipped_items),
	    cmocka_unit_test(test_amounts),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_personal_data),
	    cmocka_unit_test(test_sign),
	    cmocka_unit_test(test_retry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
