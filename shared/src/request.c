/*
 * liveshop core: bodies of the control calls (SPEC §5).
 */
#include <inttypes.h>
#include <string.h>

#include "lshop/request.h"

#include "internal.h"

static const char *const pin_keys[] = {"offer", "duration", "at", NULL};

int lshop_pin_request_parse(const char *json, size_t len, int64_t now_ms,
			    lshop_pin_request *req, lshop_error *err)
{
	lshop_pin_request r;
	const char *s;
	size_t n;
	json_t *v, *j;
	int rc = -1;

	v = lshop_json_load(json, len, "pin request", err);
	if (v == NULL)
		return -1;
	if (lshop_json_known_keys(v, pin_keys, "", err))
		goto out;
	memset(&r, 0, sizeof(r));

	j = lshop_json_get(v, "offer");
	if (j == NULL) {
		lshop_error_set(err, "missing_field", "offer",
				"offer is required: the id of the offer to "
				"pin");
		goto out;
	}
	if (!lshop_json_text(j, &s, &n) || !lshop_id_valid(s, n)) {
		lshop_error_set(err, "invalid_field", "offer",
				"offer must be an offer id: 1-64 characters "
				"of A-Z a-z 0-9 . _ -");
		goto out;
	}
	memcpy(r.offer_id, s, n);

	j = lshop_json_get(v, "duration");
	if (j != NULL) {
		if (!json_is_integer(j) || json_integer_value(j) < 1 ||
		    json_integer_value(j) > LSHOP_PIN_DURATION_MAX) {
			lshop_error_set(err, "invalid_field", "duration",
					"duration must be whole seconds from "
					"1 to %d; leave it out to pin until "
					"unpinned",
					LSHOP_PIN_DURATION_MAX);
			goto out;
		}
		r.duration_s = json_integer_value(j);
	}

	r.at_ms = now_ms;
	switch (lshop_json_time_field(v, "at", "", 0, &r.at_ms, err)) {
	case -1:
		goto out;
	case 1:
		/* SPEC §5: "at" may stamp a key press up to 10 s ago. */
		if (r.at_ms < now_ms - LSHOP_AT_PAST_MAX ||
		    r.at_ms > now_ms + LSHOP_AT_FUTURE_MAX) {
			lshop_error_set(err, "invalid_field", "at",
					"at must be within the last %d s "
					"(and not more than %d ms ahead of "
					"the server's clock); leave it out "
					"for now",
					LSHOP_AT_PAST_MAX / 1000,
					LSHOP_AT_FUTURE_MAX);
			goto out;
		}
		break;
	}
	*req = r;
	rc = 0;
out:
	json_decref(v);
	return rc;
}
