/*
 * live-shop OBS plugin: the obs-websocket vendor "live-shop" (SPEC §12).
 * Requests are parsed here and carried out with the shop_link actions,
 * so a request obeys exactly the rules of a hotkey.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <lshop/time.h>

#include "shop-link-internal.h"

#define REQUEST_TYPES                                                          \
	"pin, unpin, countdown, disclosure, get_state, pin_question, "         \
	"unpin_question, dismiss_question, block_question, pin_answer, "       \
	"start_poll, end_poll, get_questions"

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

/* Whether s is one of the NULL-ended list. */
static int one_of(const char *s, const char *const *list)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/* The first key of data not in keys, or NULL. */
static const char *unknown_key(json_t *data, const char *const *keys)
{
	const char *key;
	json_t *v;

	json_object_foreach(data, key, v)
	{
		if (!one_of(key, keys))
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

static char *slot_invalid(const char *request)
{
	return answer_error("invalid_field",
			    "%s: \"slot\" must be a whole number from 1 to 9",
			    request);
}

/* A slot that is a whole number: whether it is one of 1-9. */
static int slot_in_range(json_t *slot)
{
	return json_integer_value(slot) >= 1 && json_integer_value(slot) <= 9;
}

/*
 * What pin and pin_answer take: {"<key>": an id (what names it)} or
 * {"slot": 1-9}, each field of its type: 0 with *id and *slot (NULL
 * when absent), or -1 with *out, the answer.
 */
static int id_or_slot(json_t *data, const char *request, const char *key,
		      const char *what, const char **id, json_t **slot,
		      char **out)
{
	const char *const keys[] = {key, "slot", NULL};
	const char *bad = unknown_key(data, keys);

	*slot = json_object_get(data, "slot");
	*out = NULL;
	if (bad != NULL) {
		*out = answer_error("unknown_field",
				    "%s: unknown field \"%.60s\"; %s takes "
				    "\"%s\" (%s) or \"slot\" (1-9)",
				    request, bad, request, key, what);
		return -1;
	}
	if (opt_string(data, key, id)) {
		*out = answer_error("invalid_field",
				    "%s: \"%s\" must be a string, %s", request,
				    key, what);
		return -1;
	}
	if (*slot != NULL && !json_is_integer(*slot)) {
		*out = slot_invalid(request);
		return -1;
	}
	return 0;
}

/* ... and came with both or neither. */
static char *id_or_slot_missing(const char *request, const char *key,
				const char *what)
{
	return answer_error("missing_field",
			    "%s needs either \"%s\" (%s) or \"slot\" (1-9)",
			    request, key, what);
}

static char *vendor_pin(shop_link *link, json_t *data, int64_t now_ms)
{
	const char *offer;
	lshop_error err;
	json_t *slot;
	char *out;
	int rc;

	if (id_or_slot(data, "pin", "offer", "an offer id", &offer, &slot,
		       &out))
		return out;
	if ((offer == NULL) == (slot == NULL))
		return id_or_slot_missing("pin", "offer", "an offer id");
	if (offer != NULL)
		rc = shop_link_pin(link, offer, now_ms, &err);
	else if (!slot_in_range(slot))
		return slot_invalid("pin");
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

/* SPEC §15 */

/* {"id":"…"} and nothing else but the keys allowed. */
static int id_of(json_t *data, const char *request, const char *const *keys,
		 const char **id, char **out)
{
	const char *bad = unknown_key(data, keys);

	*out = NULL;
	if (bad != NULL) {
		*out =
		    answer_error("unknown_field", "%s: unknown field \"%.60s\"",
				 request, bad);
		return -1;
	}
	if (opt_string(data, "id", id) || *id == NULL) {
		*out = answer_error("missing_field",
				    "%s needs \"id\": a question id (a "
				    "string, as get_questions lists it)",
				    request);
		return -1;
	}
	return 0;
}

static char *vendor_pin_question(shop_link *link, json_t *data, int64_t now_ms)
{
	static const char *const keys[] = {"id", "answer", NULL};
	const char *id, *ans;
	lshop_error err;
	char *out;

	if (id_of(data, "pin_question", keys, &id, &out))
		return out;
	if (opt_string(data, "answer", &ans))
		return answer_error("invalid_field",
				    "pin_question: \"answer\" must be a "
				    "string of up to 280 characters");
	return answer(link, shop_link_question_pin(link, id, ans, now_ms, &err),
		      &err);
}

static char *vendor_drop_question(shop_link *link, json_t *data, int64_t now_ms,
				  int block)
{
	static const char *const keys[] = {"id", NULL};
	const char *id;
	lshop_error err;
	char *out;
	int rc;

	if (id_of(data, block ? "block_question" : "dismiss_question", keys,
		  &id, &out))
		return out;
	rc = block ? shop_link_question_block(link, id, now_ms, &err)
		   : shop_link_question_dismiss(link, id, now_ms, &err);
	return answer(link, rc, &err);
}

static char *vendor_pin_answer(shop_link *link, json_t *data, int64_t now_ms)
{
	const char *id;
	lshop_error err;
	json_t *slot;
	char *out;
	int rc;

	if (id_or_slot(data, "pin_answer", "id", "a saved answer's id", &id,
		       &slot, &out))
		return out;
	if (slot != NULL && !slot_in_range(slot))
		return slot_invalid("pin_answer");
	if ((id == NULL) == (slot == NULL))
		return id_or_slot_missing("pin_answer", "id",
					  "a saved answer's id");
	rc = id != NULL
		 ? shop_link_answer_pin(link, id, now_ms, &err)
		 : shop_link_answer_pin_slot(
		       link, (int)json_integer_value(slot), now_ms, &err);
	return answer(link, rc, &err);
}

/* The core's parser of POST polls checks the request, field by field. */
static char *vendor_start_poll(shop_link *link, json_t *data, int64_t now_ms)
{
	const char *options[LSHOP_POLL_OPTIONS_MAX];
	lshop_poll_request *req = malloc(sizeof(*req));
	lshop_error err;
	char *s = json_dumps(data, JSON_COMPACT), *out;
	int i, rc = -1;

	if (req == NULL || s == NULL) {
		free(req);
		free(s);
		return answer_error("enomem", "start_poll: out of memory");
	}
	if (lshop_poll_request_parse(s, strlen(s), req, &err) != 0) {
		out = answer_error(err.code, "start_poll: %s", err.message);
	} else {
		for (i = 0; i < req->poll.options_n; i++)
			options[i] = req->poll.options[i];
		rc = shop_link_poll_start(link, req->poll.question, options,
					  req->poll.options_n, req->seconds,
					  now_ms, &err);
		out = answer(link, rc, &err);
	}
	free(s);
	free(req);
	return out;
}

/* The waiting questions, the saved answers, the pinned question and the
 * poll with its live counts. */
static char *vendor_get_questions(shop_link *link)
{
	shop_questions *qs = calloc(1, sizeof(*qs));
	shop_view *view = malloc(sizeof(*view));
	json_t *v = NULL, *list, *answers, *q, *poll, *opts, *counts;
	char at[LSHOP_TIME_LEN], *s = NULL;
	size_t i;
	int k;

	if (qs == NULL || view == NULL)
		goto out;
	shop_link_questions(link, qs);
	/* the parts used, copied under the lock (not the catalog) */
	pthread_mutex_lock(&link->lock);
	view->status = link->view.status;
	view->question_pinned = link->view.question_pinned;
	view->question = link->view.question;
	view->poll_shown = link->view.poll_shown;
	view->poll_live = link->view.poll_live;
	view->poll = link->view.poll;
	view->poll_votes = link->view.poll_votes;
	pthread_mutex_unlock(&link->lock);
	list = json_array();
	for (i = 0; i < qs->n; i++) {
		lshop_time_format(at, qs->q[i].at_ms);
		json_array_append_new(
		    list,
		    json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "id", qs->q[i].id,
			      "text", qs->q[i].text, "name", qs->q[i].name,
			      "at", at, "held", qs->q[i].held, "session",
			      qs->q[i].session));
	}
	answers = json_array();
	for (i = 0; i < qs->nanswers; i++)
		json_array_append_new(
		    answers, json_pack("{s:s,s:s,s:s}", "id", qs->answers[i].id,
				       "question", qs->answers[i].question,
				       "answer", qs->answers[i].answer));
	q = json_null();
	if (view->question_pinned) {
		q = json_pack("{s:s,s:s,s:s}", "id", view->question.id, "text",
			      view->question.text, "name", view->question.name);
		if (q != NULL && view->question.answer[0])
			json_object_set_new(q, "answer",
					    json_string(view->question.answer));
	}
	poll = json_null();
	if (view->poll_shown) {
		opts = json_array();
		counts = json_array();
		for (k = 0; k < view->poll.options_n; k++) {
			json_array_append_new(
			    opts, json_string(view->poll.options[k]));
			json_array_append_new(
			    counts, json_integer(view->poll.counts[k]));
		}
		lshop_time_format(at, view->poll.ends_at_ms);
		poll = json_pack("{s:s,s:s,s:o,s:o,s:I,s:s,s:b}", "id",
				 view->poll.id, "question", view->poll.question,
				 "options", opts, "counts", counts, "votes",
				 (json_int_t)view->poll_votes, "ends_at", at,
				 "running", view->poll_live);
	}
	v = json_pack("{s:b,s:s,s:o,s:I,s:o,s:o,s:o}", "ok", 1, "status",
		      shop_status_name(view->status), "questions", list,
		      "blocked_sessions", (json_int_t)qs->blocked_sessions,
		      "answers", answers, "question", q, "poll", poll);
	if (v != NULL && !qs->have)
		json_object_set_new(v, "questions_loaded", json_false());
	s = v ? json_dumps(v, JSON_COMPACT) : NULL;
out:
	json_decref(v);
	free(qs);
	free(view);
	return s ? s : answer_error("enomem", "get_questions: out of memory");
}

char *shop_link_vendor_request(shop_link *link, const char *request_type,
			       const char *request_json, int64_t now_ms)
{
	static const char *const none[] = {NULL};
	static const char *const no_data[] = {"unpin",          "get_state",
					      "unpin_question", "end_poll",
					      "get_questions",  NULL};
	json_error_t jerr;
	lshop_error err;
	json_t *data;
	const char *bad;
	char *out;

	if (request_type == NULL || request_type[0] == '\0')
		return answer_error("invalid_request",
				    "no request type; one of " REQUEST_TYPES);
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
	bad = one_of(request_type, no_data) ? unknown_key(data, none) : NULL;
	if (bad != NULL) {
		out = answer_error("unknown_field",
				   "%s: unknown field \"%.60s\"; %s takes no "
				   "data",
				   request_type, bad, request_type);
	} else if (strcmp(request_type, "pin") == 0) {
		out = vendor_pin(link, data, now_ms);
	} else if (strcmp(request_type, "countdown") == 0) {
		out = vendor_countdown(link, data, now_ms);
	} else if (strcmp(request_type, "disclosure") == 0) {
		out = vendor_disclosure(link, data, now_ms);
	} else if (strcmp(request_type, "pin_question") == 0) {
		out = vendor_pin_question(link, data, now_ms);
	} else if (strcmp(request_type, "dismiss_question") == 0 ||
		   strcmp(request_type, "block_question") == 0) {
		out = vendor_drop_question(link, data, now_ms,
					   request_type[0] == 'b');
	} else if (strcmp(request_type, "pin_answer") == 0) {
		out = vendor_pin_answer(link, data, now_ms);
	} else if (strcmp(request_type, "start_poll") == 0) {
		out = vendor_start_poll(link, data, now_ms);
	} else if (strcmp(request_type, "unpin") == 0) {
		out = answer(link, shop_link_unpin(link, now_ms, &err), &err);
	} else if (strcmp(request_type, "get_state") == 0) {
		out = shop_link_state_answer(link, now_ms);
	} else if (strcmp(request_type, "unpin_question") == 0) {
		out = answer(link, shop_link_question_unpin(link, now_ms, &err),
			     &err);
	} else if (strcmp(request_type, "end_poll") == 0) {
		out =
		    answer(link, shop_link_poll_end(link, now_ms, &err), &err);
	} else if (strcmp(request_type, "get_questions") == 0) {
		out = vendor_get_questions(link);
	} else {
		out = answer_error(
		    "unknown_request",
		    "unknown request type \"%.60s\"; one of " REQUEST_TYPES,
		    request_type);
	}
	json_decref(data);
	return out;
}
