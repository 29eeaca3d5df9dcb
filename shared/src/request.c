/*
 * liveshop core: bodies of the control calls (SPEC §5).
 */
#include <inttypes.h>
#include <string.h>

#include "lshop/codec.h"
#include "lshop/audience.h"
#include "lshop/request.h"

#include "internal.h"

static const char *const pin_keys[] = {"offer", "duration", "at", NULL};
static const char *const countdown_keys[] = {"seconds", "label", "offer", "at",
					     NULL};
static const char *const disclosure_keys[] = {"kind", "text", "at", NULL};
static const char *const moment_keys[] = {"at", NULL};

/*
 * The optional "at" of a control call: when the host pressed the key.
 * Sets *at_ms (now_ms when absent); 0, or -1 with err set.
 */
static int parse_at(const json_t *v, int64_t now_ms, int64_t *at_ms,
		    lshop_error *err)
{
	*at_ms = now_ms;
	switch (lshop_json_time_field(v, "at", "", 0, at_ms, err)) {
	case -1:
		return -1;
	case 1:
		/* SPEC §5: "at" may stamp a key press up to 10 s ago. */
		if (*at_ms < now_ms - LSHOP_AT_PAST_MAX ||
		    *at_ms > now_ms + LSHOP_AT_FUTURE_MAX) {
			lshop_error_set(err, "invalid_field", "at",
					"at must be within the last %d s "
					"(and not more than %d ms ahead of "
					"the server's clock); leave it out "
					"for now",
					LSHOP_AT_PAST_MAX / 1000,
					LSHOP_AT_FUTURE_MAX);
			return -1;
		}
		break;
	}
	return 0;
}

/*
 * An optional text field of at most max_chars characters and cap - 1
 * bytes, copied into out; min_chars 1 makes "" an error. 0, or -1.
 */
static int parse_text(const json_t *v, const char *key, long min_chars,
		      long max_chars, char *out, size_t cap, lshop_error *err)
{
	const json_t *j = lshop_json_get(v, key);
	const char *s;
	size_t n;
	long chars;

	if (j == NULL)
		return 0;
	if (!lshop_json_text(j, &s, &n) || n >= cap ||
	    (chars = lshop_utf8_chars(s, n)) < min_chars || chars > max_chars) {
		lshop_error_set(err, "invalid_field", key,
				"%s must be text of %ld to %ld characters", key,
				min_chars, max_chars);
		return -1;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

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

	if (parse_at(v, now_ms, &r.at_ms, err))
		goto out;
	*req = r;
	rc = 0;
out:
	json_decref(v);
	return rc;
}

int lshop_countdown_request_parse(const char *json, size_t len, int64_t now_ms,
				  lshop_countdown_request *req,
				  lshop_error *err)
{
	lshop_countdown_request r;
	const char *s;
	size_t n;
	json_t *v, *j;
	int rc = -1;

	v = lshop_json_load(json, len, "countdown request", err);
	if (v == NULL)
		return -1;
	if (lshop_json_known_keys(v, countdown_keys, "", err))
		goto out;
	memset(&r, 0, sizeof(r));

	j = lshop_json_get(v, "seconds");
	if (j == NULL || !json_is_integer(j) || json_integer_value(j) < 1 ||
	    json_integer_value(j) > LSHOP_PIN_DURATION_MAX) {
		lshop_error_set(err, j ? "invalid_field" : "missing_field",
				"seconds",
				"seconds must be whole seconds from 1 to %d",
				LSHOP_PIN_DURATION_MAX);
		goto out;
	}
	r.seconds = json_integer_value(j);

	if (parse_text(v, "label", 0, 60, r.label, sizeof(r.label), err))
		goto out;

	j = lshop_json_get(v, "offer");
	if (j != NULL) {
		if (!lshop_json_text(j, &s, &n) || !lshop_id_valid(s, n)) {
			lshop_error_set(err, "invalid_field", "offer",
					"offer must be an offer id: 1-64 "
					"characters of A-Z a-z 0-9 . _ -");
			goto out;
		}
		memcpy(r.offer_id, s, n);
	}

	if (parse_at(v, now_ms, &r.at_ms, err))
		goto out;
	*req = r;
	rc = 0;
out:
	json_decref(v);
	return rc;
}

int lshop_disclosure_request_parse(const char *json, size_t len, int64_t now_ms,
				   lshop_disclosure_request *req,
				   lshop_error *err)
{
	lshop_disclosure_request r;
	const char *s;
	size_t n;
	json_t *v, *j;
	int rc = -1;

	v = lshop_json_load(json, len, "disclosure request", err);
	if (v == NULL)
		return -1;
	if (lshop_json_known_keys(v, disclosure_keys, "", err))
		goto out;
	memset(&r, 0, sizeof(r));

	j = lshop_json_get(v, "kind");
	if (j == NULL || !lshop_json_text(j, &s, &n) ||
	    !lshop_disclosure_kind_valid(s, n)) {
		lshop_error_set(err, j ? "invalid_field" : "missing_field",
				"kind",
				"kind must be one of ad, sponsored, "
				"affiliate, gifted, own");
		goto out;
	}
	memcpy(r.kind, s, n);

	if (parse_text(v, "text", 1, 60, r.text, sizeof(r.text), err))
		goto out;
	if (parse_at(v, now_ms, &r.at_ms, err))
		goto out;
	*req = r;
	rc = 0;
out:
	json_decref(v);
	return rc;
}

int lshop_moment_request_parse(const char *json, size_t len, int64_t now_ms,
			       int64_t *at_ms, lshop_error *err)
{
	int64_t at;
	json_t *v;
	int rc = -1;

	if (len == 0) {
		*at_ms = now_ms;
		return 0;
	}
	v = lshop_json_load(json, len, "request", err);
	if (v == NULL)
		return -1;
	if (lshop_json_known_keys(v, moment_keys, "", err))
		goto out;
	if (parse_at(v, now_ms, &at, err))
		goto out;
	*at_ms = at;
	rc = 0;
out:
	json_decref(v);
	return rc;
}

static const char *const show_request_keys[] = {"show", "at", NULL};

int lshop_show_request_parse(const char *json, size_t len, int64_t now_ms,
			     char *show_id, int64_t *at_ms, lshop_error *err)
{
	const char *id = "";
	size_t id_len = 0;
	int64_t at = now_ms;
	json_t *v = NULL, *j;
	int rc = -1;

	if (len != 0) {
		v = lshop_json_load(json, len, "request", err);
		if (v == NULL)
			return -1;
		if (lshop_json_known_keys(v, show_request_keys, "", err) ||
		    parse_at(v, now_ms, &at, err))
			goto out;
		j = lshop_json_get(v, "show");
		if (j != NULL &&
		    (!lshop_json_text(j, &id, &id_len) ||
		     !lshop_id_valid(id, id_len))) {
			lshop_error_set(err, "invalid_field", "show",
					"show must be a show id (1-64 of A-Z "
					"a-z 0-9 . _ -)");
			goto out;
		}
	}
	memcpy(show_id, id, id_len);
	show_id[id_len] = '\0';
	*at_ms = at;
	rc = 0;
out:
	json_decref(v);
	return rc;
}

static const char *const beacon_keys[] = {"type", "offer", "session", NULL};

int lshop_beacon_request_parse(const char *json, size_t len,
			       lshop_beacon_request *req, lshop_error *err)
{
	lshop_beacon_request r;
	const char *s;
	size_t n;
	json_t *v, *j;
	int rc = -1;

	v = lshop_json_load(json, len, "beacon", err);
	if (v == NULL)
		return -1;
	memset(&r, 0, sizeof(r));
	if (lshop_json_known_keys(v, beacon_keys, "", err))
		goto out;
	j = lshop_json_get(v, "type");
	if (j == NULL || !lshop_json_text(j, &s, &n) ||
	    !((n == 10 && memcmp(s, "impression", 10) == 0) ||
	      (n == 5 && memcmp(s, "click", 5) == 0))) {
		lshop_error_set(err, j ? "invalid_field" : "missing_field",
				"type", "type must be \"impression\" or "
					"\"click\"");
		goto out;
	}
	r.click = n == 5;
	j = lshop_json_get(v, "offer");
	if (j == NULL || !lshop_json_text(j, &s, &n) || !lshop_id_valid(s, n)) {
		lshop_error_set(err, j ? "invalid_field" : "missing_field",
				"offer",
				"offer must be an offer id (1-64 of A-Z a-z "
				"0-9 . _ -)");
		goto out;
	}
	memcpy(r.offer_id, s, n);
	if (lshop_json_session_field(v, r.session, err))
		goto out;
	*req = r;
	rc = 0;
out:
	json_decref(v);
	return rc;
}
