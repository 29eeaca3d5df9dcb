/*
 * lshop_offer_parse on any bytes, with and without an id from the path.
 * An offer it accepts is written back with lshop_offer_to_json, which
 * must parse again to the same offer, and has a buy URL (SPEC §16) from
 * the player and from a QR code: its checkout filled in, or its url
 * with the stream added.
 *
 * Input: a byte (mod 3: no id, "sku-123" or "a" from the path), the
 * body.
 */
#include "fuzz.h"
#include "lshop/offer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_in in = {data, size};
	const char *expect = NULL;
	lshop_offer offer, again;
	lshop_error err;
	char *json, *out, *out2, buy[LSHOP_BUY_URL_MAX];
	size_t len, out_len, out2_len;
	int n;

	switch (fuzz_byte(&in) % 3) {
	case 1:
		expect = "sku-123";
		break;
	case 2:
		expect = "a";
		break;
	}
	json = fuzz_rest(&in, &len);
	if (lshop_offer_parse(json, len, expect, &offer, &err) == 0) {
		FUZZ_CHECK(lshop_id_valid(offer.id, strlen(offer.id)));
		FUZZ_CHECK(expect == NULL || strcmp(offer.id, expect) == 0);
		FUZZ_CHECK(offer.stock >= LSHOP_STOCK_UNLIMITED);
		out = lshop_offer_to_json(&offer, &out_len);
		FUZZ_CHECK(out != NULL && strlen(out) == out_len);
		FUZZ_CHECK(
		    lshop_offer_parse(out, out_len, NULL, &again, &err) == 0);
		out2 = lshop_offer_to_json(&again, &out2_len);
		FUZZ_CHECK(out2 != NULL && out2_len == out_len &&
			   memcmp(out, out2, out_len) == 0);
		free(out);
		free(out2);
		n = lshop_offer_buy_url(&offer, "live/demo", LSHOP_SOURCE_QR,
					buy, sizeof(buy));
		FUZZ_CHECK(n > 0 && (size_t)n == strlen(buy));
		FUZZ_CHECK(strchr(buy, '{') == NULL);
		FUZZ_CHECK(offer.checkout[0] ||
			   strstr(buy, "ls_stream=live%2Fdemo&ls_src=qr"));
		n = lshop_offer_buy_url(&offer, "live/demo", LSHOP_SOURCE_PLAYER,
					buy, sizeof(buy));
		FUZZ_CHECK(n > 0 && strchr(buy, '{') == NULL);
	} else {
		FUZZ_CHECK(err.code[0] != '\0');
		FUZZ_CHECK(memchr(err.message, 0, sizeof(err.message)));
	}
	free(json);
	return 0;
}
