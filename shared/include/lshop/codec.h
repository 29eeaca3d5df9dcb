/*
 * liveshop core: byte encodings and primitives used by tokens, webhooks,
 * HLS and RTMP: base64 (standard and URL-safe), HMAC-SHA256, constant-time
 * comparison, UTF-8 checks.
 */
#ifndef LSHOP_CODEC_H
#define LSHOP_CODEC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LSHOP_SHA256_LEN 32

/* Bytes needed to base64-encode len bytes, including the NUL. */
#define LSHOP_BASE64_LEN(len) ((((len) + 2) / 3) * 4 + 1)

/*
 * Encodes len bytes of in as base64 into out (LSHOP_BASE64_LEN(len) bytes),
 * NUL-terminated. url != 0 selects the URL-safe alphabet without padding
 * (RFC 4648 §5). Returns the length written, without the NUL.
 */
size_t lshop_base64_encode(char *out, const void *in, size_t len, int url);

/*
 * Decodes base64 (either alphabet, padding optional) into out, which must
 * hold at least len * 3 / 4 + 3 bytes. Returns 0 and sets *out_len, or -1
 * on a character outside the alphabet or a bad length.
 */
int lshop_base64_decode(void *out, size_t *out_len, const char *in,
			size_t len);

/* out = HMAC-SHA256(key, msg). */
void lshop_hmac_sha256(uint8_t out[LSHOP_SHA256_LEN], const void *key,
		       size_t key_len, const void *msg, size_t msg_len);

/* 1 if the len bytes of a and b are equal; time independent of content. */
int lshop_equal_ct(const void *a, const void *b, size_t len);

/* Lower-case hex of len bytes into out (2 * len + 1 bytes), NUL-terminated. */
void lshop_hex_encode(char *out, const void *in, size_t len);

/*
 * Counts the characters (code points) of a UTF-8 string. Returns -1 if the
 * bytes are not valid UTF-8 (overlongs, surrogates, > U+10FFFF, truncated
 * sequences and NUL bytes are all invalid).
 */
long lshop_utf8_chars(const char *s, size_t len);

#ifdef __cplusplus
}
#endif

#endif
