/*
 * live-shop OBS plugin: the obs-websocket vendor "live-shop" (SPEC §12).
 * Requests are parsed here and carried out with the shop_link actions,
 * so a request obeys exactly the rules of a hotkey.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "shop-link-internal.h"

static char *answer_error(const char *code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static char *answer_error(const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *v;
	char *s;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v = json_pack("{s:b,s:s,s:s}", "ok", 0, "error", msg, "code", code);
	s = v ? json_dumps(v, JSON_COMPACT) : NULL;
	json_decref(v);
	return s;
}

static char *answer_ok(shop_link *link)
{
	shop_view *view;
	json_t *v;
	char *s;
	size_t pending;
	shop_status status;

	pthread_mutex_lock(&link->lock);
	view = &link->view;
	pending = view->pending;
	status = view->status;
	pthread_mutex_unlock(&link->lock);
	v = json_pack("{s:b,s:s,s:I}", "ok", 1, "status",
		      shop_status_name(status), "pending", (json_int_t)pending);
	s = v ? json_dumps(v, JSON_COMPACT) : NULL;
	json_decref(v);
	return s;
}

static char *answer(shop_link *link, int rc, const lshop_error *err)
{
	if (rc == 0)
		return answer_ok(link);
	return answer_error(err->code, "%s", err->message);
}

/* The first key of data not in keys, or NULL. */
static const char *unknown_key(json_t *data, const char *const *keys)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(data, key, v)
	{
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(key, keys[i]) == 0)
				break;
		if (keys[i] == NULL)
			return key;
	}
	return NULL;
}

/*
 * An optional string field: 0 and *out (NULL when absent), or -1 when it
 * is of another type.
 */
static int opt_string(json_t *data, const char *key, const char **out)
{
	json_t *v = json_object_get(data, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

static char *vendor_pin(shop_link *link, json_t *data, int64_t now_ms)
{
	static const char *const keys[] = {"offer", "slot", NULL};
	json_t *slot = json_object_get(data, "slot");
	const char *offer, *bad = unknown_key(data, keys);
	lshop_error err;
	int rc;

	if (bad != NULL)
		return answer_error("unknown_field",
				    "pin: unknown field \"%.60s\"; pin takes "
				    "\"offer\" (an offer id) or \"slot\" "
				    "(1-9)",
				    bad);
	if (opt_string(data, "offer", &offer))
		return answer_error("invalid_field",
				    "pin: \"offer\" must be a string, an "
				    "offer id");
	if (slot != NULL && !json_is_integer(slot))
		return answer_error("invalid_field",
				    "pin: \"slot\" must be a whole number "
				    "from 1 to 9");
	if ((offer == NULL) == (slot == NULL))
		return answer_error("missing_field",
				    "pin needs either \"offer\" (an offer id) "
				    "or \"slot\" (1-9)");
	if (offer != NULL)
		rc = shop_link_pin(link, offer, now_ms, &err);
	else if (json_integer_value(slot) < 1 || json_integer_value(slot) > 9)
		return answer_error("invalid_field",
				    "pin: \"slot\" must be a whole number "
				    "from 1 to 9");
	else
		rc = shop_link_pin_slot(link, (int)json_integer_value(slot),
					now_ms, &err);
	return answer(link, rc, &err);
}

static char *vendor_countdown(shop_link *link, json_t *data, int64_t now_ms)
{
	static const char *const keys[] = {"seconds", "label", "offer", "stop",
					   NULL};
	json_t *seconds = json_object_get(data, "seconds");
	json_t *stop = json_object_get(data, "stop");
	const char *label, *offer, *bad = unknown_key(data, keys);
	lshop_error err;
	int64_t s = 0;
	int rc;

	if (bad != NULL)
		return answer_error("unknown_field",
				    "countdown: unknown field \"%.60s\"; "
				    "countdown takes \"seconds\", \"label\" "
				    "and \"offer\", or \"stop\"",
				    bad);
	if (stop != NULL && !json_is_boolean(stop))
		return answer_error("invalid_field",
				    "countdown: \"stop\" must be true or "
				    "false");
	if (json_is_true(stop)) {
		if (json_object_size(data) != 1)
			return answer_error("invalid_field",
					    "countdown: \"stop\" takes no "
					    "other field");
		rc = shop_link_countdown_stop(link, now_ms, &err);
		return answer(link, rc, &err);
	}
	if (seconds != NULL) {
		if (!json_is_integer(seconds) ||
		    json_integer_value(seconds) < 1 ||
		    json_integer_value(seconds) > 86400)
			return answer_error("invalid_field",
					    "countdown: \"seconds\" must be "
					    "a whole number from 1 to 86400");
		s = json_integer_value(seconds);
	}
	if (opt_string(data, "label", &label))
		return answer_error("invalid_field",
				    "countdown: \"label\" must be a string");
	if (opt_string(data, "offer", &offer))
		return answer_error("invalid_field",
				    "countdown: \"offer\" must be a string, "
				    "an offer id");
	rc = shop_link_countdown(link, s, label, offer, now_ms, &err);
	return answer(link, rc, &err);
}

static char *vendor_disclosure(shop_link *link, json_t *data, int64_t now_ms)
{
	static const char *const keys[] = {"show", "kind", "text", NULL};
	json_t *show = json_object_get(data, "show");
	const char *kind, *text, *bad = unknown_key(data, keys);
	lshop_error err;
	int rc;

	if (bad != NULL)
		return answer_error("unknown_field",
				    "disclosure: unknown field \"%.60s\"; "
				    "disclosure takes \"show\", \"kind\" and "
				    "\"text\"",
				    bad);
	if (show == NULL || !json_is_boolean(show))
		return answer_error("missing_field",
				    "disclosure needs \"show\": true or "
				    "false");
	if (opt_string(data, "kind", &kind))
		return answer_error("invalid_field",
				    "disclosure: \"kind\" must be a string: "
				    "ad, sponsored, affiliate, gifted, own");
	if (opt_string(data, "text", &text))
		return answer_error("invalid_field",
				    "disclosure: \"text\" must be a string");
	rc = shop_link_disclosure(link, json_is_true(show), kind, text, now_ms,
				  &err);
	return answer(link, rc, &err);
}

char *shop_link_vendor_request(shop_link *link, const char *request_type,
			       const char *request_json, int64_t now_ms)
{
	static const char *const none[] = {NULL};
	json_error_t jerr;
	lshop_error err;
	json_t *data;
	const char *bad;
	char *out;

	if (request_type == NULL || request_type[0] == '\0')
		return answer_error("invalid_request",
				    "no request type; one of pin, unpin, "
				    "countdown, disclosure, get_state");
	if (request_json == NULL || request_json[0] == '\0')
		data = json_object();
	else
		data = json_loads(request_json, JSON_REJECT_DUPLICATES, &jerr);
	if (data == NULL)
		return answer_error("invalid_json",
				    "%s: the request data is not JSON: %s "
				    "(line %d, column %d)",
				    request_type, jerr.text, jerr.line,
				    jerr.column);
	if (!json_is_object(data)) {
		json_decref(data);
		return answer_error("invalid_json",
				    "%s: the request data must be a JSON "
				    "object",
				    request_type);
	}
	if (strcmp(request_type, "pin") == 0) {
		out = vendor_pin(link, data, now_ms);
	} else if (strcmp(request_type, "countdown") == 0) {
		out = vendor_countdown(link, data, now_ms);
	} else if (strcmp(request_type, "disclosure") == 0) {
		out = vendor_disclosure(link, data, now_ms);
	} else if (strcmp(request_type, "unpin") == 0 ||
		   strcmp(request_type, "get_state") == 0) {
		bad = unknown_key(data, none);
		if (bad != NULL)
			out = answer_error("unknown_field",
					   "%s: unknown field \"%.60s\"; %s "
					   "takes no data",
					   request_type, bad, request_type);
		else if (request_type[0] == 'u')
			out = answer(link, shop_link_unpin(link, now_ms, &err),
				     &err);
		else
			out = shop_link_state_answer(link, now_ms);
	} else {
		out = answer_error("unknown_request",
				   "unknown request type \"%.60s\"; one of "
				   "pin, unpin, countdown, disclosure, "
				   "get_state",
				   request_type);
	}
	json_decref(data);
	return out;
}
