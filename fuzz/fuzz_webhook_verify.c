/*
 * lshop_webhook_verify for each provider, with fuzzed secrets, header
 * values and bodies; also lshop_webhook_is_ping and
 * lshop_webhook_secret_check. Input: a byte choosing the provider and
 * whether the target signs the body itself (so that what follows a
 * matching signature is reached too), a byte saying which headers are
 * present, then NUL-separated fields: the secret, the values of the
 * headers below in order, and the body (the rest).
 */
#include "fuzz.h"
#include "lshop/codec.h"
#include "lshop/webhook.h"

#define NOW_S INT64_C(1795514400)

static const char *const names[] = {
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "X-Shopify-Hmac-Sha256",
    "X-Shopify-Webhook-Id",
    "X-WC-Webhook-Signature",
    "X-WC-Webhook-Delivery-ID",
    "Stripe-Signature",
};
#define NHEADERS (sizeof(names) / sizeof(names[0]))

typedef struct headers {
	char *value[NHEADERS]; /* NULL: absent */
	size_t len[NHEADERS];
} headers;

static const char *header_get(void *arg, const char *name, size_t *len)
{
	headers *h = arg;
	size_t i;

	for (i = 0; i < NHEADERS; i++) {
		if (strcasecmp(names[i], name) == 0) {
			if (h->value[i] == NULL)
				return NULL;
			*len = h->len[i];
			return h->value[i];
		}
	}
	return NULL;
}

/* Replaces header i by prefix and the fuzzed value after it. */
static void header_sign(headers *h, size_t i, const char *prefix,
			const char *sep)
{
	size_t plen = strlen(prefix), slen = strlen(sep), vlen = h->len[i];
	char *v = malloc(plen + slen + vlen + 1);

	if (v == NULL)
		abort();
	memcpy(v, prefix, plen);
	memcpy(v + plen, sep, slen);
	if (h->value[i] != NULL && vlen > 0)
		memcpy(v + plen + slen, h->value[i], vlen);
	else
		vlen = slen = 0;
	free(h->value[i]);
	h->value[i] = v;
	h->len[i] = plen + slen + vlen;
}

static void sign(lshop_provider p, headers *h, const char *secret,
		 size_t secret_len, const char *body, size_t len)
{
	uint8_t mac[LSHOP_SHA256_LEN];
	char b64[LSHOP_BASE64_LEN(LSHOP_SHA256_LEN)];
	char hex[2 * LSHOP_SHA256_LEN + 1], ts[32], *msg, *sig, *t;
	size_t n;

	switch (p) {
	case LSHOP_PROVIDER_STANDARD:
		if (h->value[0] == NULL)
			return;
		t = strndup(h->value[1] ? h->value[1] : "", h->len[1]);
		msg = strndup(h->value[0], h->len[0]);
		if (t == NULL || msg == NULL)
			abort();
		sig = lshop_webhook_sign(secret, secret_len, msg,
					 strtoll(t, NULL, 10), body, len);
		if (sig != NULL)
			header_sign(h, 2, sig, " ");
		free(sig);
		free(msg);
		free(t);
		break;
	case LSHOP_PROVIDER_SHOPIFY:
	case LSHOP_PROVIDER_WOOCOMMERCE:
		lshop_hmac_sha256(mac, secret, secret_len, body, len);
		lshop_base64_encode(b64, mac, sizeof(mac), 0);
		header_sign(h, p == LSHOP_PROVIDER_SHOPIFY ? 3 : 5, b64, "");
		/* a valid signature with nothing after it */
		h->len[p == LSHOP_PROVIDER_SHOPIFY ? 3 : 5] = strlen(b64);
		break;
	case LSHOP_PROVIDER_STRIPE:
		snprintf(ts, sizeof(ts), "%lld",
			 (long long)(NOW_S - (long long)(h->len[7] % 400)));
		n = strlen(ts);
		msg = malloc(n + 1 + len + 1);
		if (msg == NULL)
			abort();
		memcpy(msg, ts, n);
		msg[n] = '.';
		if (len > 0)
			memcpy(msg + n + 1, body, len);
		lshop_hmac_sha256(mac, secret, secret_len, msg, n + 1 + len);
		lshop_hex_encode(hex, mac, sizeof(mac));
		sig = malloc(n + 2 * sizeof(hex) + 16);
		if (sig == NULL)
			abort();
		sprintf(sig, "t=%s,v1=%s", ts, hex);
		header_sign(h, 7, sig, ",");
		free(sig);
		free(msg);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_in in = {data, size};
	uint8_t mode = fuzz_byte(&in), present = fuzz_byte(&in);
	lshop_provider p = (lshop_provider)(mode & 3);
	char delivery_id[LSHOP_DELIVERY_ID_MAX + 1];
	headers h;
	lshop_error err;
	lshop_verify_result r;
	char *secret, *body;
	size_t secret_len, len, i;

	secret = fuzz_field(&in, &secret_len, 0);
	for (i = 0; i < NHEADERS; i++) {
		h.value[i] = fuzz_field(&in, &h.len[i], 0);
		if (!(present & (1u << i))) {
			free(h.value[i]);
			h.value[i] = NULL;
		}
	}
	body = fuzz_rest(&in, &len);

	(void)lshop_webhook_secret_check(p, secret, secret_len, &err);
	(void)lshop_webhook_is_ping(p, header_get, &h, body, len);
	if (mode & 4)
		sign(p, &h, secret, secret_len, body, len);
	memset(delivery_id, 0x55, sizeof(delivery_id));
	r = lshop_webhook_verify(p, secret, secret_len, header_get, &h, body,
				 len, NOW_S, delivery_id, &err);
	FUZZ_CHECK(r >= LSHOP_VERIFY_OK && r <= LSHOP_VERIFY_STALE);
	if (r == LSHOP_VERIFY_OK) {
		FUZZ_CHECK(memchr(delivery_id, 0, sizeof(delivery_id)));
	} else {
		FUZZ_CHECK(err.code[0] != '\0');
		FUZZ_CHECK(memchr(err.message, 0, sizeof(err.message)));
	}
	/* A body signed with the secret is never forged. */
	if ((mode & 4) && secret_len > 0 &&
	    (p == LSHOP_PROVIDER_SHOPIFY || p == LSHOP_PROVIDER_WOOCOMMERCE))
		FUZZ_CHECK(r != LSHOP_VERIFY_FORGED);

	for (i = 0; i < NHEADERS; i++)
		free(h.value[i]);
	free(secret);
	free(body);
	return 0;
}
