/*
 * The core's Server-Sent Events parser (lshop/sse.h) on any bytes, fed
 * whole and then in pieces whose sizes come from the input: both must
 * dispatch the same messages, each one whole, and end with the same last
 * event ID and reconnection time.
 *
 * Input: a byte for the piece sizes, the stream.
 */
#include "fuzz.h"
#include "lshop/sse.h"

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

static int on_message(void *ctx, const lshop_sse_message *msg)
{
	struct log *l = ctx;
	size_t event_len = strlen(msg->event), id_len = strlen(msg->id);

	FUZZ_CHECK(event_len > 0 && event_len <= LSHOP_SSE_EVENT_MAX);
	FUZZ_CHECK(id_len <= LSHOP_SSE_ID_MAX);
	FUZZ_CHECK(msg->own_id == 0 || msg->own_id == 1);
	FUZZ_CHECK(msg->len <= LSHOP_SSE_MAX && msg->data[msg->len] == '\0');
	l->hash = mix(l->hash, msg->event, event_len);
	l->hash = mix(l->hash, msg->id, id_len);
	l->hash = mix(l->hash, &msg->own_id, sizeof(msg->own_id));
	l->hash = mix(l->hash, msg->data, msg->len);
	l->messages++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_in in = {data, size};
	uint8_t step = fuzz_byte(&in);
	struct log whole = {0, 0}, pieces = {0, 0};
	lshop_sse *p = lshop_sse_new(), *q = lshop_sse_new();
	size_t len, pos, n;
	char *buf = fuzz_rest(&in, &len);
	char *piece;
	lshop_error err;
	int r1, r2 = 0;

	if (p == NULL || q == NULL)
		abort();
	r1 = lshop_sse_feed(p, buf, len, on_message, &whole, &err);
	if (r1 != 0)
		FUZZ_CHECK(err.message[0] != '\0');

	for (pos = 0; pos < len && r2 == 0; pos += n) {
		n = 1 + (step + pos) % (step ? step : 1);
		if (n > len - pos)
			n = len - pos;
		/* each piece in a buffer of its own size */
		piece = fuzz_copy((const uint8_t *)buf + pos, n);
		r2 = lshop_sse_feed(q, piece, n, on_message, &pieces, NULL);
		free(piece);
	}
	FUZZ_CHECK(r1 == r2);
	FUZZ_CHECK(r1 != 0 ||
		   (whole.messages == pieces.messages &&
		    whole.hash == pieces.hash &&
		    strcmp(lshop_sse_last_id(p), lshop_sse_last_id(q)) == 0 &&
		    lshop_sse_retry_ms(p) == lshop_sse_retry_ms(q)));

	/* a new stream on the same parser reads as on a new one */
	lshop_sse_reset(q);
	whole.messages = pieces.messages = 0;
	whole.hash = pieces.hash = 0;
	lshop_sse_free(p);
	p = lshop_sse_new();
	if (p == NULL)
		abort();
	r1 = lshop_sse_feed(p, buf, len, on_message, &whole, NULL);
	r2 = lshop_sse_feed(q, buf, len, on_message, &pieces, NULL);
	FUZZ_CHECK(r1 == r2);
	FUZZ_CHECK(whole.messages == pieces.messages &&
		   whole.hash == pieces.hash);

	lshop_sse_free(p);
	lshop_sse_free(q);
	free(buf);
	return 0;
}
