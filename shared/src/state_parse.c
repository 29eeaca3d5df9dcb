/*
 * liveshop core: the state's JSON read back (GET state, the first SSE
 * message), for clients that keep their own picture of a stream.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lshop/codec.h"
#include "lshop/state.h"

#include "internal.h"

static const char *const state_keys[] = {
    "stream", "seq",     "at",    "pinned", "countdown",
    "disclosure", "show", "question", "poll", "viewers", "stock", NULL};
static const char *const pinned_keys[] = {"id", "since", "until", "offer",
					  NULL};
static const char *const countdown_keys[] = {"id",    "since",    "ends_at",
					     "label", "offer_id", NULL};
static const char *const disclosure_keys[] = {"id", "since", "kind", "text",
					      NULL};
static const char *const show_keys[] = {"id", "since", "show", NULL};
static const char *const question_keys[] = {"id", "since", "question", NULL};
static const char *const poll_keys[] = {"id", "since", "poll", "counts",
					NULL};

/* "STREAM:SEQ" of an interval's opening event: its seq, or -1. */
static int interval_seq(const json_t *obj, const char *prefix,
			const char *stream, uint64_t max_seq, uint64_t *seq,
			lshop_error *err)
{
	const char *s, *colon, *p;
	size_t len, slen = strlen(stream);
	uint64_t v = 0;

	if (!lshop_json_text(lshop_json_get(obj, "id"), &s, &len) ||
	    len <= slen + 1 || memcmp(s, stream, slen) != 0 || s[slen] != ':')
		goto bad;
	colon = s + slen;
	for (p = colon + 1; p < s + len; p++) {
		if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
			goto bad;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v == 0 || v > max_seq)
		goto bad;
	*seq = v;
	return 0;
bad:
	lshop_field_error(err, "invalid_field", prefix, "id",
			  "must be the id \"%.129s:SEQ\" of an event up to "
			  "the state's seq",
			  stream);
	return -1;
}

/* A required text field of at most cap - 1 bytes into out. */
static int text_field(const json_t *obj, const char *prefix, const char *key,
		      int empty_ok, char *out, size_t cap, lshop_error *err)
{
	const char *s;
	size_t len;

	if (!lshop_json_text(lshop_json_get(obj, key), &s, &len) ||
	    len >= cap || (len == 0 && !empty_ok)) {
		lshop_field_error(err, "invalid_field", prefix, key,
				  "must be text of %s%zu bytes",
				  empty_ok ? "up to " : "1 to ", cap - 1);
		return -1;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* An interval object: NULL for JSON null (nothing open), else checked. */
static int interval_object(const json_t *v, const char *key,
			   const char *const *keys, const json_t **out,
			   lshop_error *err)
{
	const json_t *j = lshop_json_get(v, key);
	char prefix[24];

	*out = NULL;
	if (j == NULL)
		return 0;
	if (!json_is_object(j)) {
		lshop_field_error(err, "invalid_field", "", key,
				  "must be an object or null");
		return -1;
	}
	snprintf(prefix, sizeof(prefix), "%s.", key);
	if (lshop_json_known_keys(j, keys, prefix, err))
		return -1;
	*out = j;
	return 0;
}

static int parse_pinned(const json_t *j, const char *stream, lshop_state *st,
			lshop_error *err)
{
	const char *prefix = "pinned.";

	if (interval_seq(j, prefix, stream, st->seq, &st->pin_seq, err) ||
	    lshop_json_time_field(j, "since", prefix, 1, &st->pin_at_ms, err) <
		0 ||
	    lshop_json_time_field(j, "until", prefix, 0, &st->pin_until_ms,
				  err) < 0 ||
	    lshop_offer_from_json(lshop_json_get(j, "offer"), NULL,
				  "pinned.offer.", &st->offer, err))
		return -1;
	st->pinned = 1;
	st->pin_edge_ms = st->pin_at_ms;
	return 0;
}

static int parse_countdown(const json_t *j, const char *stream, lshop_state *st,
			   lshop_error *err)
{
	const char *prefix = "countdown.";
	const json_t *o = lshop_json_get(j, "offer_id");

	if (interval_seq(j, prefix, stream, st->seq, &st->countdown_seq, err) ||
	    lshop_json_time_field(j, "since", prefix, 1, &st->countdown_at_ms,
				  err) < 0 ||
	    lshop_json_time_field(j, "ends_at", prefix, 1,
				  &st->countdown_ends_at_ms, err) < 0 ||
	    text_field(j, prefix, "label", 1, st->countdown_label,
		       sizeof(st->countdown_label), err))
		return -1;
	if (o != NULL) {
		if (text_field(j, prefix, "offer_id", 0, st->countdown_offer_id,
			       sizeof(st->countdown_offer_id), err))
			return -1;
		if (!lshop_id_valid(st->countdown_offer_id,
				    strlen(st->countdown_offer_id))) {
			lshop_field_error(err, "invalid_field", prefix,
					  "offer_id", "must be an offer id");
			return -1;
		}
	}
	st->countdown = 1;
	st->countdown_edge_ms = st->countdown_at_ms;
	return 0;
}

static int parse_disclosure(const json_t *j, const char *stream,
			    lshop_state *st, lshop_error *err)
{
	const char *prefix = "disclosure.";

	if (interval_seq(j, prefix, stream, st->seq, &st->disclosure_seq,
			 err) ||
	    lshop_json_time_field(j, "since", prefix, 1, &st->disclosure_at_ms,
				  err) < 0 ||
	    text_field(j, prefix, "kind", 0, st->disclosure_kind,
		       sizeof(st->disclosure_kind), err) ||
	    text_field(j, prefix, "text", 0, st->disclosure_text,
		       sizeof(st->disclosure_text), err))
		return -1;
	if (!lshop_disclosure_kind_valid(st->disclosure_kind,
					 strlen(st->disclosure_kind))) {
		lshop_field_error(err, "invalid_field", prefix, "kind",
				  "must be one of ad, sponsored, affiliate, "
				  "gifted, own");
		return -1;
	}
	st->disclosure = 1;
	st->disclosure_edge_ms = st->disclosure_at_ms;
	return 0;
}

static int parse_show(const json_t *j, const char *stream, lshop_state *st,
		      lshop_error *err)
{
	const char *prefix = "show.";
	const json_t *o = lshop_json_get(j, "show");

	if (interval_seq(j, prefix, stream, st->seq, &st->show_seq, err) ||
	    lshop_json_time_field(j, "since", prefix, 1, &st->show_at_ms,
				  err) < 0)
		return -1;
	if (o == NULL) {
		lshop_field_error(err, "missing_field", prefix, "show",
				  "is required: the show on air");
		return -1;
	}
	if (lshop_show_from_object(o, NULL, 1, "show.show.", &st->show, err))
		return -1;
	st->show_live = 1;
	return 0;
}

static int parse_question(const json_t *j, const char *stream,
			  lshop_state *st, lshop_error *err)
{
	const char *prefix = "question.";
	const json_t *o = lshop_json_get(j, "question");

	if (interval_seq(j, prefix, stream, st->seq, &st->question_seq, err) ||
	    lshop_json_time_field(j, "since", prefix, 1, &st->question_at_ms,
				  err) < 0)
		return -1;
	if (o == NULL || !json_is_object(o)) {
		lshop_field_error(err, o ? "invalid_field" : "missing_field",
				  prefix, "question",
				  "is required: the pinned question");
		return -1;
	}
	if (lshop_question_from_object(o, "question.question.", &st->question,
				       err))
		return -1;
	st->question_pinned = 1;
	st->question_edge_ms = st->question_at_ms;
	return 0;
}

static int parse_poll(const json_t *j, const char *stream, lshop_state *st,
		      lshop_error *err)
{
	const char *prefix = "poll.";
	const json_t *o = lshop_json_get(j, "poll"), *a, *c;
	size_t i;

	if (interval_seq(j, prefix, stream, st->seq, &st->poll_seq, err) ||
	    lshop_json_time_field(j, "since", prefix, 1, &st->poll_at_ms,
				  err) < 0)
		return -1;
	if (o == NULL || !json_is_object(o)) {
		lshop_field_error(err, o ? "invalid_field" : "missing_field",
				  prefix, "poll", "is required: the poll");
		return -1;
	}
	if (lshop_poll_from_object(o, "poll.poll.", &st->poll, err))
		return -1;
	a = lshop_json_get(j, "counts");
	if (a != NULL && (!json_is_array(a) ||
			  json_array_size(a) != (size_t)st->poll.options_n)) {
		lshop_field_error(err, "invalid_field", prefix, "counts",
				  "must hold one whole number per option");
		return -1;
	}
	for (i = 0; a != NULL && i < json_array_size(a); i++) {
		c = json_array_get(a, i);
		if (!json_is_integer(c) || json_integer_value(c) < 0) {
			lshop_field_error(err, "invalid_field", prefix,
					  "counts",
					  "must hold whole numbers >= 0");
			return -1;
		}
		st->poll.counts[i] = json_integer_value(c);
	}
	st->poll_live = 1;
	st->poll_edge_ms = st->poll_at_ms;
	return 0;
}

static int parse_viewers(const json_t *v, lshop_state *st, lshop_error *err)
{
	const json_t *j = lshop_json_get(v, "viewers");

	if (j == NULL)
		return 0;
	if (!json_is_integer(j) || json_integer_value(j) < 0) {
		lshop_error_set(err, "invalid_field", "viewers",
				"viewers must be a whole number >= 0");
		return -1;
	}
	st->viewers = json_integer_value(j);
	return 0;
}

static int parse_stock(const json_t *v, lshop_stock_value *stock, size_t cap,
		       size_t *nstock, lshop_error *err)
{
	const json_t *map = lshop_json_get(v, "stock"), *j;
	const char *key;
	size_t n = 0, klen;

	if (map == NULL) {
		*nstock = 0;
		return 0;
	}
	if (!json_is_object(map)) {
		lshop_error_set(err, "invalid_field", "stock",
				"stock must be an object of offer id to "
				"stock");
		return -1;
	}
	json_object_foreach((json_t *)map, key, j)
	{
		klen = strlen(key);
		if (!lshop_id_valid(key, klen)) {
			lshop_field_error(err, "invalid_field", "stock.", key,
					  "is not an offer id");
			return -1;
		}
		if (!json_is_integer(j) || json_integer_value(j) < 0) {
			lshop_field_error(err, "invalid_field", "stock.", key,
					  "must be a whole number >= 0");
			return -1;
		}
		if (stock != NULL && n < cap) {
			memcpy(stock[n].offer_id, key, klen + 1);
			stock[n].stock = json_integer_value(j);
			n++;
		}
	}
	*nstock = n;
	return 0;
}

int lshop_state_parse(const char *json, size_t len, lshop_state *st,
		      char *stream, lshop_stock_value *stock, size_t cap,
		      size_t *nstock, lshop_error *err)
{
	char name[LSHOP_STREAM_MAX + 1];
	const json_t *pinned, *countdown, *disclosure, *show, *question, *poll;
	const json_t *j;
	lshop_state s;
	size_t n = 0;
	int64_t at;
	json_t *v;
	int rc = -1;

	v = lshop_json_load(json, len, "state", err);
	if (v == NULL)
		return -1;
	lshop_state_init(&s);
	if (lshop_json_known_keys(v, state_keys, "", err) ||
	    text_field(v, "", "stream", 0, name, sizeof(name), err))
		goto out;
	if (!lshop_stream_valid(name, strlen(name))) {
		lshop_error_set(err, "invalid_field", "stream",
				"stream must be a stream name \"APP/NAME\"");
		goto out;
	}
	j = lshop_json_get(v, "seq");
	if (!json_is_integer(j) || json_integer_value(j) < 0) {
		lshop_error_set(err, "invalid_field", "seq",
				"seq must be a whole number >= 0");
		goto out;
	}
	s.seq = (uint64_t)json_integer_value(j);
	if (lshop_json_time_field(v, "at", "", 0, &at, err) < 0 ||
	    interval_object(v, "pinned", pinned_keys, &pinned, err) ||
	    interval_object(v, "countdown", countdown_keys, &countdown, err) ||
	    interval_object(v, "disclosure", disclosure_keys, &disclosure,
			    err) ||
	    interval_object(v, "show", show_keys, &show, err) ||
	    interval_object(v, "question", question_keys, &question, err) ||
	    interval_object(v, "poll", poll_keys, &poll, err) ||
	    (pinned && parse_pinned(pinned, name, &s, err)) ||
	    (countdown && parse_countdown(countdown, name, &s, err)) ||
	    (disclosure && parse_disclosure(disclosure, name, &s, err)) ||
	    (show && parse_show(show, name, &s, err)) ||
	    (question && parse_question(question, name, &s, err)) ||
	    (poll && parse_poll(poll, name, &s, err)) ||
	    parse_viewers(v, &s, err) ||
	    parse_stock(v, stock, cap, &n, err))
		goto out;
	/* plan_pin shows an offer's own disclosure just before offer.pinned;
	 * a stream-wide one of that kind shown just before looks the same,
	 * and the next disclosure event sets it right. */
	if (s.pinned && s.disclosure && s.offer.disclosure[0] &&
	    s.disclosure_seq + 1 == s.pin_seq &&
	    strcmp(s.disclosure_kind, s.offer.disclosure) == 0)
		memcpy(s.disclosure_offer_id, s.offer.id,
		       sizeof(s.disclosure_offer_id));
	*st = s;
	if (stream != NULL)
		memcpy(stream, name, sizeof(name));
	if (nstock != NULL)
		*nstock = n;
	rc = 0;
out:
	json_decref(v);
	return rc;
}
