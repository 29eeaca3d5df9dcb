/*
 * liveshop core: stream-scoped control tokens (SPEC §5).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lshop/codec.h"
#include "lshop/offer.h"
#include "lshop/token.h"

#include "internal.h"

#define PREFIX             "ls1."
#define PREFIX_LEN         4
#define MAC_B64_LEN        43 /* 32 bytes, base64url without padding */
#define STREAM_B64_MAX     (LSHOP_BASE64_LEN(LSHOP_STREAM_MAX) - 1)
#define EXPIRES_MAX_DIGITS 19 /* INT64_MAX */
#define TOKEN_MAX                                                              \
	(PREFIX_LEN + STREAM_B64_MAX + 1 + EXPIRES_MAX_DIGITS + 1 + MAC_B64_LEN)

/* mac of the signed part, base64url: what the last part must equal. */
static int mac_b64(char out[MAC_B64_LEN + 1], const char *secret,
		   size_t secret_len, const char *signed_part, size_t len)
{
	uint8_t mac[LSHOP_SHA256_LEN];

	if (lshop_hmac_sha256_ok(mac, secret, secret_len, signed_part, len))
		return -1;
	lshop_base64_encode(out, mac, sizeof(mac), 1);
	return 0;
}

char *lshop_token_mint(const char *secret, size_t secret_len,
		       const char *stream, int64_t expires_s)
{
	char mac[MAC_B64_LEN + 1];
	char *t;
	size_t n;
	int e;

	/* An empty secret would let anyone mint tokens. */
	if (secret == NULL || secret_len == 0 || stream == NULL ||
	    !lshop_stream_valid(stream, strlen(stream)) || expires_s < 0)
		return NULL;
	t = malloc(TOKEN_MAX + 1);
	if (t == NULL)
		return NULL;
	memcpy(t, PREFIX, PREFIX_LEN);
	n = PREFIX_LEN;
	n += lshop_base64_encode(t + n, stream, strlen(stream), 1);
	e = snprintf(t + n, TOKEN_MAX + 1 - n, ".%" PRId64, expires_s);
	if (e < 0 || (size_t)e >= TOKEN_MAX + 1 - n)
		goto fail;
	n += (size_t)e;
	if (mac_b64(mac, secret, secret_len, t, n))
		goto fail;
	t[n++] = '.';
	memcpy(t + n, mac, MAC_B64_LEN + 1);
	return t;
fail:
	free(t);
	return NULL;
}

static int b64url_chars(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

lshop_token_result lshop_token_verify(const char *secret, size_t secret_len,
				      const char *token, size_t token_len,
				      const char *stream, size_t stream_len,
				      int64_t now_s)
{
	uint8_t name[LSHOP_STREAM_MAX + 3];
	char want[MAC_B64_LEN + 1];
	const char *s, *e, *m, *dot;
	size_t s_len, e_len, name_len, i;
	int64_t expires = 0;

	if (token == NULL || token_len <= PREFIX_LEN || token_len > TOKEN_MAX ||
	    memcmp(token, PREFIX, PREFIX_LEN) != 0)
		return LSHOP_TOKEN_MALFORMED;
	s = token + PREFIX_LEN;
	dot = memchr(s, '.', token_len - PREFIX_LEN);
	if (dot == NULL)
		return LSHOP_TOKEN_MALFORMED;
	s_len = (size_t)(dot - s);
	e = dot + 1;
	dot = memchr(e, '.', token_len - (size_t)(e - token));
	if (dot == NULL)
		return LSHOP_TOKEN_MALFORMED;
	e_len = (size_t)(dot - e);
	m = dot + 1;
	if (token_len - (size_t)(m - token) != MAC_B64_LEN ||
	    !b64url_chars(m, MAC_B64_LEN))
		return LSHOP_TOKEN_MALFORMED;
	if (s_len == 0 || s_len > STREAM_B64_MAX || !b64url_chars(s, s_len) ||
	    lshop_base64_decode(name, &name_len, s, s_len) != 0)
		return LSHOP_TOKEN_MALFORMED;
	/* Canonical decimal: "0" or no leading zero, at most INT64_MAX. */
	if (e_len == 0 || e_len > EXPIRES_MAX_DIGITS ||
	    (e_len > 1 && e[0] == '0'))
		return LSHOP_TOKEN_MALFORMED;
	for (i = 0; i < e_len; i++) {
		if (e[i] < '0' || e[i] > '9' ||
		    expires > (INT64_MAX - (e[i] - '0')) / 10)
			return LSHOP_TOKEN_MALFORMED;
		expires = expires * 10 + (e[i] - '0');
	}

	/* Nothing of the token is believed before its MAC checks out. */
	if (secret == NULL || secret_len == 0 ||
	    mac_b64(want, secret, secret_len, token, (size_t)(m - 1 - token)))
		return LSHOP_TOKEN_FORGED;
	if (!lshop_equal_ct(want, m, MAC_B64_LEN))
		return LSHOP_TOKEN_FORGED;
	if (expires != 0 && now_s >= expires)
		return LSHOP_TOKEN_EXPIRED;
	if (stream == NULL || stream_len != name_len ||
	    memcmp(stream, name, name_len) != 0)
		return LSHOP_TOKEN_OTHER_STREAM;
	return LSHOP_TOKEN_OK;
}

const char *lshop_token_result_text(lshop_token_result r)
{
	switch (r) {
	case LSHOP_TOKEN_OK:
		return "token is valid";
	case LSHOP_TOKEN_MALFORMED:
		return "not a liveshop token";
	case LSHOP_TOKEN_FORGED:
		return "token signature does not verify";
	case LSHOP_TOKEN_EXPIRED:
		return "token has expired";
	case LSHOP_TOKEN_OTHER_STREAM:
		return "token is for another stream";
	}
	return "unknown token result";
}
