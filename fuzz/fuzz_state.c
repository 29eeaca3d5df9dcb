/*
 * lshop_state_parse on any bytes (what GET state and the first SSE
 * message carry). A state it accepts is written back with
 * lshop_state_to_json, which must parse again to the same JSON.
 */
#include "fuzz.h"
#include "lshop/state.h"

#define NOW       INT64_C(1795514400000)
#define STOCK_CAP 8

static char *state_json(const lshop_state *st, const char *stream,
			const lshop_stock_value *stock, size_t nstock,
			size_t *len)
{
	lshop_stock_entry e[STOCK_CAP];
	size_t i;

	for (i = 0; i < nstock; i++) {
		e[i].offer_id = stock[i].offer_id;
		e[i].stock = stock[i].stock;
	}
	return lshop_state_to_json(st, stream, NOW, nstock ? e : NULL, nstock,
				   len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *json = fuzz_copy(data, size), *out, *out2;
	char stream[LSHOP_STREAM_MAX + 1], stream2[LSHOP_STREAM_MAX + 1];
	lshop_stock_value stock[STOCK_CAP], stock2[STOCK_CAP];
	lshop_state st, st2;
	lshop_error err;
	size_t nstock = 0, nstock2 = 0, out_len, out2_len;

	lshop_state_init(&st);
	if (lshop_state_parse(json, size, &st, stream, stock, STOCK_CAP,
			      &nstock, &err) == 0) {
		FUZZ_CHECK(nstock <= STOCK_CAP);
		FUZZ_CHECK(memchr(stream, 0, sizeof(stream)) != NULL);
		out = state_json(&st, stream, stock, nstock, &out_len);
		FUZZ_CHECK(out != NULL && strlen(out) == out_len);
		lshop_state_init(&st2);
		if (lshop_state_parse(out, out_len, &st2, stream2, stock2,
				      STOCK_CAP, &nstock2, &err) != 0) {
			fprintf(stderr, "round trip: %s (%s): %s\n%s\n",
				err.code, err.field, err.message, out);
			FUZZ_CHECK(!"state_to_json parses again");
		}
		out2 = state_json(&st2, stream2, stock2, nstock2, &out2_len);
		FUZZ_CHECK(out2 != NULL && out2_len == out_len &&
			   memcmp(out, out2, out_len) == 0);
		free(out);
		free(out2);
	}
	free(json);
	return 0;
}
