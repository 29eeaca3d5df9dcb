/*
 * liveshop core: stream-scoped control tokens (SPEC §5).
 *
 *   token   = "ls1." B64URL(stream) "." EXPIRES "." B64URL(mac)
 *   mac     = HMAC-SHA256(secret, "ls1." B64URL(stream) "." EXPIRES)
 *
 * EXPIRES is Unix seconds, 0 for a token that does not expire. The stream
 * is part of what is signed, so a token works for one stream only.
 */
#ifndef LSHOP_TOKEN_H
#define LSHOP_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lshop_token_result {
	LSHOP_TOKEN_OK = 0,
	LSHOP_TOKEN_MALFORMED,    /* 401: not a token at all */
	LSHOP_TOKEN_FORGED,       /* 401: signature does not verify */
	LSHOP_TOKEN_EXPIRED,      /* 401 */
	LSHOP_TOKEN_OTHER_STREAM  /* 403: genuine, but for another stream */
} lshop_token_result;

/*
 * Mints a token for stream (which must be lshop_stream_valid).
 * Returns a malloc'd string (caller frees), NULL on ENOMEM or a bad stream.
 */
char *lshop_token_mint(const char *secret, size_t secret_len,
		       const char *stream, int64_t expires_s);

/*
 * Verifies token for stream at now_s. The signature is checked with a
 * constant-time comparison before anything else of the token is trusted.
 */
lshop_token_result lshop_token_verify(const char *secret, size_t secret_len,
				      const char *token, size_t token_len,
				      const char *stream, size_t stream_len,
				      int64_t now_s);

/* A short English reason for a result, for logs and error messages. */
const char *lshop_token_result_text(lshop_token_result r);

#ifdef __cplusplus
}
#endif

#endif
