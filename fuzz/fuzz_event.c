/*
 * lshop_event_parse on any bytes. An event it accepts is written back
 * with lshop_event_to_json, which must parse again to the same JSON.
 */
#include "fuzz.h"
#include "lshop/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *json = fuzz_copy(data, size), *out, *out2;
	lshop_event ev, again;
	lshop_error err;
	size_t out_len, out2_len;

	if (lshop_event_parse(json, size, &ev, &err) == 0) {
		FUZZ_CHECK(lshop_event_type_name(ev.type) != NULL);
		out = lshop_event_to_json(&ev, &out_len);
		FUZZ_CHECK(out != NULL && strlen(out) == out_len);
		if (lshop_event_parse(out, out_len, &again, &err) != 0) {
			fprintf(stderr, "round trip: %s (%s): %s\n%s\n",
				err.code, err.field, err.message, out);
			FUZZ_CHECK(!"event_to_json parses again");
		}
		out2 = lshop_event_to_json(&again, &out2_len);
		FUZZ_CHECK(out2 != NULL && out2_len == out_len &&
			   memcmp(out, out2, out_len) == 0);
		free(out);
		free(out2);
	}
	free(json);
	return 0;
}
