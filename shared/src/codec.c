/*
 * liveshop core: base64, HMAC-SHA256, constant-time comparison, UTF-8.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lshop/codec.h"

#include "internal.h"

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t lshop_base64_encode(char *out, const void *in, size_t len, int url)
{
	const unsigned char *s = in;
	const char *abc = url ? b64_url : b64_std;
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		out[o++] = abc[v >> 18];
		out[o++] = abc[(v >> 12) & 63];
		out[o++] = abc[(v >> 6) & 63];
		out[o++] = abc[v & 63];
	}
	if (i < len) {
		v = (uint32_t)s[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)s[i + 1] << 8;
		out[o++] = abc[v >> 18];
		out[o++] = abc[(v >> 12) & 63];
		if (i + 1 < len)
			out[o++] = abc[(v >> 6) & 63];
		else if (!url)
			out[o++] = '=';
		/* RFC 4648 §5 tokens go without padding. */
		if (!url)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int lshop_base64_decode(void *out, size_t *out_len, const char *in, size_t len)
{
	unsigned char *d = out;
	size_t i, o = 0, n = len;
	uint32_t v = 0;
	int bits = 0, c;

	if (in == NULL && len != 0)
		return -1;
	/* Padding is optional, but when present it completes a quantum. */
	if (n > 0 && in[n - 1] == '=') {
		if (n % 4 != 0)
			return -1;
		n--;
		if (in[n - 1] == '=')
			n--;
	}
	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		c = b64_value((unsigned char)in[i]);
		if (c < 0)
			return -1;
		v = (v << 6) | (uint32_t)c;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			d[o++] = (unsigned char)(v >> bits);
			v &= (1u << bits) - 1;
		}
	}
	/* RFC 4648 §3.5: refuse non-zero pad bits, so that one byte
	 * string has exactly one encoding. */
	if (v != 0)
		return -1;
	*out_len = o;
	return 0;
}

int lshop_hmac_sha256_ok(uint8_t out[LSHOP_SHA256_LEN], const void *key,
			 size_t key_len, const void *msg, size_t msg_len)
{
	static const unsigned char empty[1];
	unsigned int n = 0;

	/* OpenSSL reads a NULL key as "keep the previous key". */
	if (key == NULL)
		key = empty;
	if (msg == NULL)
		msg = empty;
	if (key_len > INT32_MAX)
		return -1;
	if (HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, out, &n) ==
		NULL ||
	    n != LSHOP_SHA256_LEN)
		return -1;
	return 0;
}

void lshop_hmac_sha256(uint8_t out[LSHOP_SHA256_LEN], const void *key,
		       size_t key_len, const void *msg, size_t msg_len)
{
	if (lshop_hmac_sha256_ok(out, key, key_len, msg, msg_len) != 0)
		memset(out, 0, LSHOP_SHA256_LEN);
}

int lshop_equal_ct(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

void lshop_hex_encode(char *out, const void *in, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = in;
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[s[i] >> 4];
		out[2 * i + 1] = hex[s[i] & 15];
	}
	out[2 * len] = '\0';
}

long lshop_utf8_chars(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	long chars = 0;

	while (i < len) {
		n = lshop_utf8_seq(p + i, len - i);
		if (n == 0)
			return -1;
		i += n;
		chars++;
	}
	return chars;
}
