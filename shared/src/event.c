/*
 * liveshop core: events (SPEC §3).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lshop/codec.h"
#include "lshop/event.h"
#include "lshop/time.h"

#include "internal.h"

/* Countdown labels and disclosure texts: short enough for an overlay. */
#define LABEL_CHARS 60

static const char *const type_names[LSHOP_EVENT_TYPES] = {
    [LSHOP_OFFER_PINNED] = "offer.pinned",
    [LSHOP_OFFER_UNPINNED] = "offer.unpinned",
    [LSHOP_COUNTDOWN_STARTED] = "countdown.started",
    [LSHOP_COUNTDOWN_ENDED] = "countdown.ended",
    [LSHOP_DISCLOSURE_SHOWN] = "disclosure.shown",
    [LSHOP_DISCLOSURE_HIDDEN] = "disclosure.hidden",
    [LSHOP_STOCK_CHANGED] = "stock.changed",
    [LSHOP_OFFER_SOLD_OUT] = "offer.sold_out",
    [LSHOP_PURCHASE_COMPLETED] = "purchase.completed",
    [LSHOP_SHOW_STARTED] = "show.started",
    [LSHOP_SHOW_ENDED] = "show.ended",
    [LSHOP_QUESTION_PINNED] = "question.pinned",
    [LSHOP_QUESTION_UNPINNED] = "question.unpinned",
    [LSHOP_POLL_STARTED] = "poll.started",
    [LSHOP_POLL_ENDED] = "poll.ended",
};

/* The keys of "data" per type, in the order they are written. */
static const char *const data_keys[LSHOP_EVENT_TYPES][5] = {
    [LSHOP_OFFER_PINNED] = {"offer", "until", NULL},
    [LSHOP_OFFER_UNPINNED] = {"offer_id", NULL},
    [LSHOP_COUNTDOWN_STARTED] = {"ends_at", "label", "offer_id", NULL},
    [LSHOP_COUNTDOWN_ENDED] = {"label", "offer_id", NULL},
    [LSHOP_DISCLOSURE_SHOWN] = {"kind", "text", "offer_id", NULL},
    [LSHOP_DISCLOSURE_HIDDEN] = {"kind", NULL},
    [LSHOP_STOCK_CHANGED] = {"offer_id", "stock", NULL},
    [LSHOP_OFFER_SOLD_OUT] = {"offer_id", NULL},
    [LSHOP_PURCHASE_COMPLETED] = {"offer_id", "quantity", NULL},
    [LSHOP_SHOW_STARTED] = {"show", NULL},
    [LSHOP_SHOW_ENDED] = {"show_id", NULL},
    [LSHOP_QUESTION_PINNED] = {"id", "text", "name", "answer"},
    [LSHOP_QUESTION_UNPINNED] = {"id", NULL},
    [LSHOP_POLL_STARTED] = {"id", "question", "options", "ends_at"},
    [LSHOP_POLL_ENDED] = {"id", "counts", NULL},
};

static const char *const event_keys[] = {"seq", "id",   "type", "stream",
					 "at",  "data", NULL};

const char *lshop_event_type_name(lshop_event_type type)
{
	if ((unsigned)type >= LSHOP_EVENT_TYPES)
		return NULL;
	return type_names[type];
}

int lshop_event_type_parse(const char *name, size_t len, lshop_event_type *type)
{
	int i = lshop_name_index(type_names, LSHOP_EVENT_TYPES, name, len);

	if (i < 0)
		return -1;
	*type = (lshop_event_type)i;
	return 0;
}

const char *lshop_event_class(lshop_event_type type)
{
	switch (type) {
	case LSHOP_OFFER_PINNED:
	case LSHOP_OFFER_UNPINNED:
		return "org.liveshop.offer";
	case LSHOP_COUNTDOWN_STARTED:
	case LSHOP_COUNTDOWN_ENDED:
		return "org.liveshop.countdown";
	case LSHOP_DISCLOSURE_SHOWN:
	case LSHOP_DISCLOSURE_HIDDEN:
		return "org.liveshop.disclosure";
	case LSHOP_QUESTION_PINNED:
	case LSHOP_QUESTION_UNPINNED:
		return "org.liveshop.question";
	case LSHOP_POLL_STARTED:
	case LSHOP_POLL_ENDED:
		return "org.liveshop.poll";
	default:
		return NULL;
	}
}

int lshop_event_opens(lshop_event_type type)
{
	return type == LSHOP_OFFER_PINNED || type == LSHOP_COUNTDOWN_STARTED ||
	       type == LSHOP_DISCLOSURE_SHOWN ||
	       type == LSHOP_QUESTION_PINNED || type == LSHOP_POLL_STARTED;
}

size_t lshop_event_id(char *out, size_t cap, const char *stream, uint64_t seq)
{
	int n = snprintf(out, cap, "%s:%" PRIu64, stream, seq);

	return n < 0 ? 0 : (size_t)n;
}

static json_t *event_data(const lshop_event *ev)
{
	json_t *d = json_object();
	int bad = 0;

	if (d == NULL)
		return NULL;
	switch (ev->type) {
	case LSHOP_OFFER_PINNED:
		bad = lshop_json_set(d, "offer", lshop_offer_json(&ev->offer));
		if (!bad && ev->until_ms != 0)
			bad = lshop_json_set(d, "until",
					     lshop_json_time(ev->until_ms));
		break;
	case LSHOP_COUNTDOWN_STARTED:
		bad = lshop_json_set(d, "ends_at",
				     lshop_json_time(ev->ends_at_ms));
		/* fall through */
	case LSHOP_COUNTDOWN_ENDED:
		bad = bad || lshop_json_set(d, "label", json_string(ev->label));
		if (!bad && ev->offer_id[0])
			bad = lshop_json_set(d, "offer_id",
					     json_string(ev->offer_id));
		break;
	case LSHOP_DISCLOSURE_SHOWN:
	case LSHOP_DISCLOSURE_HIDDEN:
		bad = lshop_json_set(d, "kind", json_string(ev->kind));
		if (!bad && ev->type == LSHOP_DISCLOSURE_SHOWN)
			bad = lshop_json_set(d, "text", json_string(ev->text));
		/* The offer it is shown for; a stream-wide one has none. */
		if (!bad && ev->type == LSHOP_DISCLOSURE_SHOWN &&
		    ev->offer_id[0])
			bad = lshop_json_set(d, "offer_id",
					     json_string(ev->offer_id));
		break;
	case LSHOP_OFFER_UNPINNED:
	case LSHOP_STOCK_CHANGED:
	case LSHOP_OFFER_SOLD_OUT:
	case LSHOP_PURCHASE_COMPLETED:
		bad = lshop_json_set(d, "offer_id", json_string(ev->offer_id));
		/* Unlimited stock has no number: it is written as null. */
		if (!bad && ev->type == LSHOP_STOCK_CHANGED)
			bad = lshop_json_set(d, "stock",
					     ev->stock < 0
						 ? json_null()
						 : json_integer(ev->stock));
		if (!bad && ev->type == LSHOP_PURCHASE_COMPLETED)
			bad = lshop_json_set(d, "quantity",
					     json_integer(ev->quantity));
		break;
	case LSHOP_SHOW_STARTED:
		bad = lshop_json_set(d, "show", lshop_show_object(&ev->show));
		break;
	case LSHOP_SHOW_ENDED:
		bad = lshop_json_set(d, "show_id", json_string(ev->show.id));
		break;
	case LSHOP_QUESTION_PINNED:
		json_decref(d);
		return lshop_question_object(&ev->question);
	case LSHOP_QUESTION_UNPINNED:
		bad = lshop_json_set(d, "id", json_string(ev->question.id));
		break;
	case LSHOP_POLL_STARTED:
		json_decref(d);
		return lshop_poll_object(&ev->poll);
	case LSHOP_POLL_ENDED:
		bad = lshop_json_set(d, "id", json_string(ev->poll.id)) ||
		      lshop_json_set(d, "counts",
				     lshop_poll_counts_json(&ev->poll));
		break;
	default:
		bad = 1;
	}
	if (bad) {
		json_decref(d);
		return NULL;
	}
	return d;
}

json_t *lshop_event_json(const lshop_event *ev)
{
	char id[LSHOP_STREAM_MAX + 24];
	json_t *v;

	if (lshop_event_type_name(ev->type) == NULL || ev->seq > INT64_MAX)
		return NULL;
	lshop_event_id(id, sizeof(id), ev->stream, ev->seq);
	v = json_object();
	if (v == NULL)
		return NULL;
	if (lshop_json_set(v, "seq", json_integer((json_int_t)ev->seq)) ||
	    lshop_json_set(v, "id", json_string(id)) ||
	    lshop_json_set(v, "type",
			   json_string(lshop_event_type_name(ev->type))) ||
	    lshop_json_set(v, "stream", json_string(ev->stream)) ||
	    lshop_json_set(v, "at", lshop_json_time(ev->at_ms)) ||
	    lshop_json_set(v, "data", event_data(ev))) {
		json_decref(v);
		return NULL;
	}
	return v;
}

char *lshop_event_to_json(const lshop_event *ev, size_t *len)
{
	return lshop_json_dump_owned(lshop_event_json(ev), len);
}

/* A text of up to LABEL_CHARS characters (may be empty). */
static int short_text(const json_t *d, const char *key, char *out,
		      lshop_error *err)
{
	json_t *v = lshop_json_get(d, key);
	const char *s;
	size_t len;
	long chars;

	if (v == NULL) {
		lshop_field_error(err, "missing_field", "data.", key,
				  "is required: a string of up to %d "
				  "characters",
				  LABEL_CHARS);
		return -1;
	}
	if (!lshop_json_text(v, &s, &len) ||
	    (chars = lshop_utf8_chars(s, len)) < 0 || chars > LABEL_CHARS) {
		lshop_field_error(err, "invalid_field", "data.", key,
				  "must be a string of valid UTF-8, up to %d "
				  "characters",
				  LABEL_CHARS);
		return -1;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

static int offer_id_field(const json_t *d, int required, char *out,
			  lshop_error *err)
{
	json_t *v = lshop_json_get(d, "offer_id");
	const char *s;
	size_t len;

	if (v == NULL) {
		if (!required)
			return 0;
		lshop_field_error(err, "missing_field", "data.", "offer_id",
				  "is required: an offer id (1-64 of A-Z a-z "
				  "0-9 . _ -)");
		return -1;
	}
	if (!lshop_json_text(v, &s, &len) || !lshop_id_valid(s, len)) {
		lshop_field_error(err, "invalid_field", "data.", "offer_id",
				  "must be an offer id (1-64 of A-Z a-z 0-9 "
				  ". _ -)");
		return -1;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* poll.ended's counts: 1-4 whole numbers >= 0, one per option. */
static int poll_counts_field(const json_t *d, lshop_poll *poll,
			     lshop_error *err)
{
	json_t *a = json_object_get(d, "counts"), *j;
	size_t i;

	if (a == NULL || !json_is_array(a) ||
	    json_array_size(a) < LSHOP_POLL_OPTIONS_MIN ||
	    json_array_size(a) > LSHOP_POLL_OPTIONS_MAX) {
		lshop_field_error(err, a ? "invalid_field" : "missing_field",
				  "data.", "counts",
				  "must be a list of %d-%d whole numbers >= 0",
				  LSHOP_POLL_OPTIONS_MIN,
				  LSHOP_POLL_OPTIONS_MAX);
		return -1;
	}
	for (i = 0; i < json_array_size(a); i++) {
		j = json_array_get(a, i);
		if (!json_is_integer(j) || json_integer_value(j) < 0) {
			lshop_field_error(err, "invalid_field", "data.",
					  "counts",
					  "must hold whole numbers >= 0");
			return -1;
		}
		poll->counts[i] = json_integer_value(j);
	}
	poll->options_n = (int)i;
	return 0;
}

static int count_field(const json_t *d, const char *key, int64_t min,
		       int null_ok, int64_t *out, lshop_error *err)
{
	json_t *v = json_object_get(d, key);

	if (v == NULL) {
		lshop_field_error(err, "missing_field", "data.", key,
				  "is required: a whole number >= %" PRId64,
				  min);
		return -1;
	}
	if (null_ok && json_is_null(v)) {
		*out = LSHOP_STOCK_UNLIMITED;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min) {
		lshop_field_error(err, "invalid_field", "data.", key,
				  "must be a whole number >= %" PRId64 "%s",
				  min, null_ok ? " (or null: unlimited)" : "");
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static int kind_field(const json_t *d, char *out, lshop_error *err)
{
	json_t *v = lshop_json_get(d, "kind");
	const char *s;
	size_t len;

	if (v == NULL || !lshop_json_text(v, &s, &len) ||
	    !lshop_disclosure_kind_valid(s, len)) {
		lshop_field_error(err, v ? "invalid_field" : "missing_field",
				  "data.", "kind",
				  "must be one of ad, sponsored, affiliate, "
				  "gifted, own");
		return -1;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

static int parse_data(const json_t *d, lshop_event *ev, lshop_error *err)
{
	json_t *v;

	if (lshop_json_known_keys(d, data_keys[ev->type], "data.", err))
		return -1;
	switch (ev->type) {
	case LSHOP_OFFER_PINNED:
		v = json_object_get(d, "offer");
		if (v == NULL) {
			lshop_field_error(err, "missing_field", "data.",
					  "offer",
					  "is required: the offer "
					  "object");
			return -1;
		}
		if (lshop_offer_from_json(v, NULL, "data.offer.", &ev->offer,
					  err))
			return -1;
		return lshop_json_time_field(d, "until", "data.", 0,
					     &ev->until_ms, err) < 0
			   ? -1
			   : 0;
	case LSHOP_COUNTDOWN_STARTED:
		if (lshop_json_time_field(d, "ends_at", "data.", 1,
					  &ev->ends_at_ms, err) < 0)
			return -1;
		/* fall through */
	case LSHOP_COUNTDOWN_ENDED:
		if (short_text(d, "label", ev->label, err))
			return -1;
		return offer_id_field(d, 0, ev->offer_id, err);
	case LSHOP_DISCLOSURE_SHOWN:
		if (kind_field(d, ev->kind, err) ||
		    short_text(d, "text", ev->text, err))
			return -1;
		return offer_id_field(d, 0, ev->offer_id, err);
	case LSHOP_DISCLOSURE_HIDDEN:
		return kind_field(d, ev->kind, err);
	case LSHOP_STOCK_CHANGED:
		if (offer_id_field(d, 1, ev->offer_id, err))
			return -1;
		return count_field(d, "stock", 0, 1, &ev->stock, err);
	case LSHOP_PURCHASE_COMPLETED:
		if (offer_id_field(d, 1, ev->offer_id, err))
			return -1;
		return count_field(d, "quantity", 1, 0, &ev->quantity, err);
	case LSHOP_OFFER_UNPINNED:
	case LSHOP_OFFER_SOLD_OUT:
		return offer_id_field(d, 1, ev->offer_id, err);
	case LSHOP_SHOW_STARTED:
		v = json_object_get(d, "show");
		if (v == NULL) {
			lshop_field_error(err, "missing_field", "data.", "show",
					  "is required: the show object");
			return -1;
		}
		return lshop_show_from_object(v, NULL, 1, "data.show.",
					      &ev->show, err);
	case LSHOP_SHOW_ENDED:
		return lshop_json_id_field(d, "data.", "show_id", ev->show.id, err);
	case LSHOP_QUESTION_PINNED:
		return lshop_question_from_object(d, "data.", &ev->question,
						  err);
	case LSHOP_QUESTION_UNPINNED:
		return lshop_json_id_field(d, "data.", "id", ev->question.id, err);
	case LSHOP_POLL_STARTED:
		return lshop_poll_from_object(d, "data.", &ev->poll, err);
	case LSHOP_POLL_ENDED:
		if (lshop_json_id_field(d, "data.", "id", ev->poll.id, err))
			return -1;
		return poll_counts_field(d, &ev->poll, err);
	default:
		return -1;
	}
}

static int parse_event(const json_t *v, lshop_event *ev, lshop_error *err)
{
	char id[LSHOP_STREAM_MAX + 24];
	const char *s;
	size_t len;
	json_t *j;

	if (lshop_json_known_keys(v, event_keys, "", err))
		return -1;

	j = json_object_get(v, "seq");
	if (j == NULL || !json_is_integer(j) || json_integer_value(j) < 1) {
		lshop_field_error(err, j ? "invalid_field" : "missing_field",
				  "", "seq", "must be a whole number >= 1");
		return -1;
	}
	ev->seq = (uint64_t)json_integer_value(j);

	j = json_object_get(v, "stream");
	if (j == NULL || !lshop_json_text(j, &s, &len) ||
	    !lshop_stream_valid(s, len)) {
		lshop_field_error(err, j ? "invalid_field" : "missing_field",
				  "", "stream",
				  "must be APP/NAME, each 1-64 of A-Z a-z 0-9 "
				  ". _ -");
		return -1;
	}
	memcpy(ev->stream, s, len);

	lshop_event_id(id, sizeof(id), ev->stream, ev->seq);
	j = json_object_get(v, "id");
	if (j == NULL || !lshop_json_text(j, &s, &len) || strlen(id) != len ||
	    memcmp(id, s, len) != 0) {
		lshop_field_error(err, j ? "invalid_field" : "missing_field",
				  "", "id", "must be STREAM:SEQ, here \"%s\"",
				  id);
		return -1;
	}

	j = json_object_get(v, "type");
	if (j == NULL || !lshop_json_text(j, &s, &len) ||
	    lshop_event_type_parse(s, len, &ev->type)) {
		lshop_field_error(err, j ? "invalid_field" : "missing_field",
				  "", "type",
				  "must be an event type of SPEC §3, e.g. "
				  "\"offer.pinned\"");
		return -1;
	}

	if (lshop_json_time_field(v, "at", "", 1, &ev->at_ms, err) < 0)
		return -1;

	j = json_object_get(v, "data");
	if (j == NULL || !json_is_object(j)) {
		lshop_field_error(err, j ? "invalid_field" : "missing_field",
				  "", "data", "must be a JSON object");
		return -1;
	}
	return parse_data(j, ev, err);
}

int lshop_event_from_json(const json_t *v, lshop_event *ev, lshop_error *err)
{
	lshop_event e;

	memset(&e, 0, sizeof(e));
	if (parse_event(v, &e, err) != 0)
		return -1;
	*ev = e;
	return 0;
}

int lshop_event_parse(const char *json, size_t len, lshop_event *ev,
		      lshop_error *err)
{
	json_t *v;
	int r;

	v = lshop_json_load(json, len, "event", err);
	if (v == NULL)
		return -1;
	r = lshop_event_from_json(v, ev, err);
	json_decref(v);
	return r;
}
