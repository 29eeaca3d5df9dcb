/*
 * lshop_token_verify on any token, secret and stream. When the stream is
 * valid, a token the target mints for it verifies (unless expired), and
 * is refused for another stream and with another secret.
 *
 * Input: 8 bytes of expiry (little-endian), the secret, NUL, the stream,
 * NUL, the token.
 */
#include "fuzz.h"
#include "lshop/offer.h"
#include "lshop/token.h"

#define NOW_S INT64_C(1795514400)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_in in = {data, size};
	int64_t expires = (int64_t)fuzz_u64(&in, 8);
	char *secret, *stream, *token, *minted;
	size_t secret_len, stream_len, token_len;
	lshop_token_result r;

	secret = fuzz_field(&in, &secret_len, 0);
	stream = fuzz_field(&in, &stream_len, 1);
	token = fuzz_rest(&in, &token_len);

	r = lshop_token_verify(secret, secret_len, token, token_len, stream,
			       stream_len, NOW_S);
	FUZZ_CHECK(lshop_token_result_text(r) != NULL);

	if (lshop_stream_valid(stream, stream_len) &&
	    strlen(stream) == stream_len) {
		minted = lshop_token_mint(secret, secret_len, stream, expires);
		FUZZ_CHECK((minted == NULL) ==
			   (secret_len == 0 || expires < 0));
		if (minted == NULL)
			goto out;
		r = lshop_token_verify(secret, secret_len, minted,
				       strlen(minted), stream, stream_len,
				       NOW_S);
		if (expires == 0 || expires > NOW_S)
			FUZZ_CHECK(r == LSHOP_TOKEN_OK);
		else
			FUZZ_CHECK(r == LSHOP_TOKEN_EXPIRED);
		r = lshop_token_verify(secret, secret_len, minted,
				       strlen(minted), "live/other", 10, NOW_S);
		FUZZ_CHECK(r != LSHOP_TOKEN_OK ||
			   strcmp(stream, "live/other") == 0);
		r = lshop_token_verify("another secret", 14, minted,
				       strlen(minted), stream, stream_len,
				       NOW_S);
		FUZZ_CHECK(r == LSHOP_TOKEN_FORGED ||
			   (secret_len == 14 &&
			    memcmp(secret, "another secret", 14) == 0));
		free(minted);
	}
out:
	free(secret);
	free(stream);
	free(token);
	return 0;
}
