/*
 * The OBS plugin's Server-Sent Events parser (obs-plugin/src/shop-sse.h)
 * on any bytes, fed whole and then in pieces whose sizes come from the
 * input: both must dispatch the same messages, each one whole.
 *
 * Input: a byte for the piece sizes, the stream.
 */
#include "fuzz.h"
#include "shop-sse.h"

struct log {
	uint64_t hash;
	size_t messages;
};

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * UINT64_C(1099511628211);
	return (h ^ n) * UINT64_C(1099511628211);
}

static void on_message(void *ctx, const char *event, const char *id,
		       const char *data, size_t len)
{
	struct log *l = ctx;

	FUZZ_CHECK(strlen(event) < 64 && strlen(id) < 64);
	FUZZ_CHECK(data[len] == '\0');
	l->hash = mix(l->hash, event, strlen(event));
	l->hash = mix(l->hash, id, strlen(id));
	l->hash = mix(l->hash, data, len);
	l->messages++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_in in = {data, size};
	uint8_t step = fuzz_byte(&in);
	struct log whole = {0, 0}, pieces = {0, 0};
	shop_sse p;
	size_t len, pos, n;
	char *buf = fuzz_rest(&in, &len);
	int r1, r2 = 0;

	shop_sse_init(&p);
	r1 = shop_sse_feed(&p, buf, len, on_message, &whole);
	shop_sse_reset(&p);

	for (pos = 0; pos < len && r2 == 0; pos += n) {
		n = 1 + (step + pos) % (step ? step : 1);
		if (n > len - pos)
			n = len - pos;
		/* each piece in a buffer of its own size */
		{
			char *piece = fuzz_copy((const uint8_t *)buf + pos, n);

			r2 = shop_sse_feed(&p, piece, n, on_message, &pieces);
			free(piece);
		}
	}
	shop_sse_reset(&p);
	FUZZ_CHECK(r1 == r2);
	FUZZ_CHECK(r1 != 0 || (whole.messages == pieces.messages &&
			       whole.hash == pieces.hash));
	free(buf);
	return 0;
}
