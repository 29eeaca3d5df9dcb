/*
 * The bodies of the control calls (SPEC §5): pin, countdown, disclosure
 * and the moment of unpin / hide, the first byte choosing which (mod 4:
 * pin, countdown, disclosure, moment); the body is the rest.
 */
#include "fuzz.h"
#include "lshop/codec.h"
#include "lshop/request.h"

#define NOW INT64_C(1795514400000)

static void check_at(int64_t at_ms)
{
	FUZZ_CHECK(at_ms >= NOW - LSHOP_AT_PAST_MAX &&
		   at_ms <= NOW + LSHOP_AT_FUTURE_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_in in = {data, size};
	uint8_t which = fuzz_byte(&in);
	size_t len;
	char *json = fuzz_rest(&in, &len);
	lshop_pin_request pin;
	lshop_countdown_request cd;
	lshop_disclosure_request dr;
	lshop_error err;
	int64_t at;

	switch (which % 4) {
	case 0:
		if (lshop_pin_request_parse(json, len, NOW, &pin, &err) == 0) {
			FUZZ_CHECK(
			    lshop_id_valid(pin.offer_id, strlen(pin.offer_id)));
			FUZZ_CHECK(pin.duration_s >= 0 &&
				   pin.duration_s <= LSHOP_PIN_DURATION_MAX);
			check_at(pin.at_ms);
		}
		break;
	case 1:
		if (lshop_countdown_request_parse(json, len, NOW, &cd, &err) ==
		    0) {
			FUZZ_CHECK(cd.seconds >= 1 && cd.seconds <= 86400);
			FUZZ_CHECK(
			    lshop_utf8_chars(cd.label, strlen(cd.label)) >= 0);
			FUZZ_CHECK(
			    cd.offer_id[0] == '\0' ||
			    lshop_id_valid(cd.offer_id, strlen(cd.offer_id)));
			check_at(cd.at_ms);
		}
		break;
	case 2:
		if (lshop_disclosure_request_parse(json, len, NOW, &dr, &err) ==
		    0) {
			FUZZ_CHECK(lshop_disclosure_kind_valid(
			    dr.kind, strlen(dr.kind)));
			FUZZ_CHECK(lshop_utf8_chars(dr.text, strlen(dr.text)) >=
				   0);
			check_at(dr.at_ms);
		}
		break;
	default:
		if (lshop_moment_request_parse(json, len, NOW, &at, &err) == 0)
			check_at(at);
		break;
	}
	free(json);
	return 0;
}
