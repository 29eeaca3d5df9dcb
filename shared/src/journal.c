/*
 * liveshop core: the journal of a stream, one record per line.
 *
 * A checkpoint also carries "edges": the latest start or end of each
 * interval class ("offer", "countdown", "disclosure", "question", "poll";
 * a class left out is 0). The opening events of the open intervals cannot say them (an
 * interval may have ended after the last one opened), and planning needs
 * them so that intervals of one class never overlap (SPEC §7) across a
 * rotation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lshop/journal.h"

#include "internal.h"

/*
 * The interval classes, as a state keeps them; a show on air is open like
 * them, but has no edge (shows are not ranges of SPEC §7).
 */
enum {
	CLASS_OFFER,
	CLASS_COUNTDOWN,
	CLASS_DISCLOSURE,
	CLASS_QUESTION,
	CLASS_POLL,
	CLASSES
};
#define OPEN_SHOW CLASSES
#define OPENS     (CLASSES + 1)

/* The keys of a checkpoint's "edges", by class; NULL-terminated. */
static const char *const edge_keys[CLASSES + 1] = {
    "offer", "countdown", "disclosure", "question", "poll", NULL};

static const char *const offer_line_keys[] = {"offer", "at", NULL};
static const char *const show_line_keys[] = {"show", "at", NULL};
static const char *const show_deleted_line_keys[] = {"show_deleted", "at",
						     NULL};
static const char *const audience_line_keys[] = {"audience", "at", NULL};
static const char *const answer_line_keys[] = {"answer", "at", NULL};
static const char *const answer_deleted_line_keys[] = {"answer_deleted", "at",
						       NULL};
static const char *const words_line_keys[] = {"blocked_words", "at", NULL};
static const char *const audience_keys[] = {
    "show",   "viewers", "peak",   "watch_ms", "impressions",
    "clicks", "unique",  "offers", NULL};
static const char *const audience_offer_keys[] = {
    "offer_id", "peak", "watch_ms", "impressions", "clicks", "unique", NULL};
static const char *const order_line_keys[] = {"order", "at", "provider",
					      "events", NULL};
static const char *const refund_line_keys[] = {"refund", "at", "provider",
					       NULL};
static const char *const order_keys[] = {
    "type", "order_id", "stream", "source", "delivery_id", "items", NULL};
static const char *const item_keys[] = {"offer",    "quantity", "amount",
					"currency", "oversold", NULL};
static const char *const refund_item_keys[] = {"offer", "quantity", "amount",
					       "currency", NULL};
static const char *const checkpoint_line_keys[] = {"checkpoint", NULL};
static const char *const checkpoint_keys[] = {"seq",   "at",   "file",
					      "offers", "open", "edges",
					      "shows", NULL};

/* v as compact JSON and "\n"; NULL on ENOMEM. */
static char *dump_line(const json_t *v, size_t *len)
{
	size_t n;
	char *s, *line;

	if (v == NULL)
		return NULL;
	s = lshop_json_dump(v, &n);
	if (s == NULL)
		return NULL;
	line = realloc(s, n + 2);
	if (line == NULL) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	if (len != NULL)
		*len = n + 1;
	return line;
}

char *lshop_journal_offer_line(const lshop_offer *offer, int64_t at_ms,
			       size_t *len)
{
	json_t *v = json_object();
	char *line = NULL;

	if (v == NULL)
		return NULL;
	if (!lshop_json_set(v, "offer", lshop_offer_json(offer)) &&
	    !lshop_json_set(v, "at", lshop_json_time(at_ms)))
		line = dump_line(v, len);
	json_decref(v);
	return line;
}

/* {key: value, "at": T}, value stolen. */
static char *keyed_line(const char *key, json_t *value, int64_t at_ms,
			size_t *len)
{
	json_t *v = json_object();
	char *line = NULL;

	if (v == NULL) {
		json_decref(value);
		return NULL;
	}
	if (!lshop_json_set(v, key, value) &&
	    !lshop_json_set(v, "at", lshop_json_time(at_ms)))
		line = dump_line(v, len);
	json_decref(v);
	return line;
}

char *lshop_journal_show_line(const lshop_show *show, int64_t at_ms,
			      size_t *len)
{
	return keyed_line("show", lshop_show_object(show), at_ms, len);
}

char *lshop_journal_show_deleted_line(const char *id, int64_t at_ms,
				      size_t *len)
{
	return keyed_line("show_deleted", json_string(id), at_ms, len);
}

char *lshop_journal_answer_line(const lshop_saved_answer *answer,
				int64_t at_ms, size_t *len)
{
	return keyed_line("answer", lshop_saved_answer_object(answer), at_ms,
			  len);
}

char *lshop_journal_answer_deleted_line(const char *id, int64_t at_ms,
					size_t *len)
{
	return keyed_line("answer_deleted", json_string(id), at_ms, len);
}

char *lshop_journal_blocked_words_line(const lshop_blocked_words *words,
				       int64_t at_ms, size_t *len)
{
	return keyed_line("blocked_words", lshop_blocked_words_array(words),
			  at_ms, len);
}

/* The figures a full audience line holds of a show or an offer. */
static int audience_figures(json_t *v, int64_t peak, int64_t watch_ms,
			    int64_t impressions, int64_t clicks,
			    const lshop_hll *unique)
{
	char text[LSHOP_HLL_TEXT_MAX + 1];

	lshop_hll_write_text(unique, text);
	return lshop_json_set(v, "peak", json_integer(peak)) ||
	       lshop_json_set(v, "watch_ms", json_integer(watch_ms)) ||
	       lshop_json_set(v, "impressions", json_integer(impressions)) ||
	       lshop_json_set(v, "clicks", json_integer(clicks)) ||
	       lshop_json_set(v, "unique", json_string(text));
}

char *lshop_journal_audience_line(const lshop_audience *a, int full,
				  int64_t at_ms, size_t *len)
{
	const lshop_audience_offer *o;
	json_t *v = json_object(), *d = json_object(), *offers = NULL, *ov;
	char *line = NULL;
	size_t i;

	if (v == NULL || d == NULL)
		goto done;
	if ((a->show_id[0] &&
	     lshop_json_set(d, "show", json_string(a->show_id))) ||
	    lshop_json_set(d, "viewers", json_integer(a->viewers)))
		goto done;
	if (full) {
		offers = json_array();
		if (offers == NULL ||
		    audience_figures(d, a->peak, a->watch_ms, a->impressions,
				     a->clicks, &a->unique))
			goto done;
		for (i = 0; i < a->noffers; i++) {
			o = &a->offers[i];
			ov = json_object();
			if (ov == NULL ||
			    json_array_append_new(offers, ov) != 0 ||
			    lshop_json_set(ov, "offer_id",
					   json_string(o->offer_id)) ||
			    audience_figures(ov, o->peak, o->watch_ms,
					     o->impressions, o->clicks,
					     &o->unique))
				goto done;
		}
		if (lshop_json_set(d, "offers", json_incref(offers)))
			goto done;
	}
	if (lshop_json_set(v, "audience", json_incref(d)) ||
	    lshop_json_set(v, "at", lshop_json_time(at_ms)))
		goto done;
	line = dump_line(v, len);
done:
	json_decref(offers);
	json_decref(d);
	json_decref(v);
	return line;
}

char *lshop_journal_event_line(const lshop_event *ev, size_t *len)
{
	json_t *v = lshop_event_json(ev);
	char *line = dump_line(v, len);

	json_decref(v);
	return line;
}

char *lshop_journal_order_line(const lshop_order *order, lshop_provider p,
			       int64_t at_ms, const lshop_event *events,
			       size_t nevents, size_t *len)
{
	json_t *v = json_object(), *evs = json_array();
	char *line = NULL;
	size_t i;

	if (v == NULL || evs == NULL)
		goto done;
	for (i = 0; !order->refund && i < nevents; i++)
		if (json_array_append_new(evs, lshop_event_json(&events[i])))
			goto done;
	/* a refund makes no event: its line has none */
	if (lshop_json_set(v, order->refund ? "refund" : "order",
			   lshop_order_json(order, 1)) ||
	    lshop_json_set(v, "provider",
			   json_string(lshop_provider_name(p))) ||
	    lshop_json_set(v, "at", lshop_json_time(at_ms)) ||
	    (!order->refund &&
	     lshop_json_set(v, "events", json_incref(evs))))
		goto done;
	line = dump_line(v, len);
done:
	json_decref(evs);
	json_decref(v);
	return line;
}

/* The edge of each class in st. */
static int64_t *state_edge(lshop_state *st, int cls)
{
	switch (cls) {
	case CLASS_OFFER:
		return &st->pin_edge_ms;
	case CLASS_COUNTDOWN:
		return &st->countdown_edge_ms;
	case CLASS_QUESTION:
		return &st->question_edge_ms;
	case CLASS_POLL:
		return &st->poll_edge_ms;
	default:
		return &st->disclosure_edge_ms;
	}
}

static int64_t edge_of(const lshop_state *st, int cls)
{
	return *state_edge((lshop_state *)st, cls);
}

/* The class of the interval an opening event opens; -1 for others. */
static int opening_class(lshop_event_type type)
{
	switch (type) {
	case LSHOP_OFFER_PINNED:
		return CLASS_OFFER;
	case LSHOP_COUNTDOWN_STARTED:
		return CLASS_COUNTDOWN;
	case LSHOP_DISCLOSURE_SHOWN:
		return CLASS_DISCLOSURE;
	case LSHOP_QUESTION_PINNED:
		return CLASS_QUESTION;
	case LSHOP_POLL_STARTED:
		return CLASS_POLL;
	case LSHOP_SHOW_STARTED:
		return OPEN_SHOW;
	default:
		return -1;
	}
}

/*
 * Rebuilds into ev the event that opened the interval of class cls that
 * is open in st. Returns its seq, 0 when none is open.
 */
static uint64_t opening_event(const lshop_state *st, const char *stream,
			      int cls, lshop_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	snprintf(ev->stream, sizeof(ev->stream), "%s", stream);
	switch (cls) {
	case CLASS_OFFER:
		if (!st->pinned)
			return 0;
		ev->type = LSHOP_OFFER_PINNED;
		ev->seq = st->pin_seq;
		ev->at_ms = st->pin_at_ms;
		ev->until_ms = st->pin_until_ms;
		ev->offer = st->offer;
		break;
	case CLASS_COUNTDOWN:
		if (!st->countdown)
			return 0;
		ev->type = LSHOP_COUNTDOWN_STARTED;
		ev->seq = st->countdown_seq;
		ev->at_ms = st->countdown_at_ms;
		ev->ends_at_ms = st->countdown_ends_at_ms;
		memcpy(ev->label, st->countdown_label, sizeof(ev->label));
		memcpy(ev->offer_id, st->countdown_offer_id,
		       sizeof(ev->offer_id));
		break;
	case CLASS_QUESTION:
		if (!st->question_pinned)
			return 0;
		ev->type = LSHOP_QUESTION_PINNED;
		ev->seq = st->question_seq;
		ev->at_ms = st->question_at_ms;
		ev->question = st->question;
		break;
	case CLASS_POLL:
		if (!st->poll_live)
			return 0;
		ev->type = LSHOP_POLL_STARTED;
		ev->seq = st->poll_seq;
		ev->at_ms = st->poll_at_ms;
		ev->poll = st->poll;
		memset(ev->poll.counts, 0, sizeof(ev->poll.counts));
		break;
	case OPEN_SHOW:
		if (!st->show_live)
			return 0;
		ev->type = LSHOP_SHOW_STARTED;
		ev->seq = st->show_seq;
		ev->at_ms = st->show_at_ms;
		ev->show = st->show;
		break;
	default:
		if (!st->disclosure)
			return 0;
		ev->type = LSHOP_DISCLOSURE_SHOWN;
		ev->seq = st->disclosure_seq;
		ev->at_ms = st->disclosure_at_ms;
		memcpy(ev->kind, st->disclosure_kind, sizeof(ev->kind));
		memcpy(ev->text, st->disclosure_text, sizeof(ev->text));
		memcpy(ev->offer_id, st->disclosure_offer_id,
		       sizeof(ev->offer_id));
		break;
	}
	return ev->seq;
}

/* The opening events of st's open intervals, in seq order. */
static json_t *open_json(const lshop_state *st, const char *stream)
{
	lshop_event *ev;
	json_t *open = json_array();
	uint64_t seq[OPENS];
	int order[OPENS], n = 0, i, j, t;

	ev = malloc(sizeof(*ev));
	if (open == NULL || ev == NULL)
		goto fail;
	for (i = 0; i < OPENS; i++) {
		seq[i] = opening_event(st, stream, i, ev);
		if (seq[i] == 0)
			continue;
		for (j = n++; j > 0 && seq[order[j - 1]] > seq[i]; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	for (t = 0; t < n; t++) {
		opening_event(st, stream, order[t], ev);
		if (json_array_append_new(open, lshop_event_json(ev)) != 0)
			goto fail;
	}
	free(ev);
	return open;
fail:
	free(ev);
	json_decref(open);
	return NULL;
}

static json_t *edges_json(const lshop_state *st)
{
	json_t *v = json_object();
	int i;

	if (v == NULL)
		return NULL;
	for (i = 0; i < CLASSES; i++) {
		if (edge_of(st, i) == 0)
			continue;
		if (lshop_json_set(v, edge_keys[i],
				   lshop_json_time(edge_of(st, i)))) {
			json_decref(v);
			return NULL;
		}
	}
	return v;
}

char *lshop_journal_checkpoint_line(const lshop_state *st, const char *stream,
				    int64_t at_ms, int64_t file,
				    const lshop_offer *offers, size_t noffers,
				    const lshop_show *shows, size_t nshows,
				    size_t *len)
{
	json_t *v = json_object(), *cp = json_object(), *catalog = json_array();
	json_t *schedule = json_array();
	char *line = NULL;
	size_t i;

	if (v == NULL || cp == NULL || catalog == NULL || schedule == NULL ||
	    st->seq > INT64_MAX)
		goto done;
	for (i = 0; i < noffers; i++)
		if (json_array_append_new(catalog,
					  lshop_offer_json(&offers[i])) != 0)
			goto done;
	for (i = 0; i < nshows; i++)
		if (json_array_append_new(schedule,
					  lshop_show_object(&shows[i])) != 0)
			goto done;
	if (lshop_json_set(cp, "seq", json_integer((json_int_t)st->seq)) ||
	    lshop_json_set(cp, "at", lshop_json_time(at_ms)) ||
	    lshop_json_set(cp, "file", json_integer(file)) ||
	    lshop_json_set(cp, "offers", json_incref(catalog)) ||
	    lshop_json_set(cp, "open", open_json(st, stream)) ||
	    lshop_json_set(cp, "edges", edges_json(st)) ||
	    (nshows > 0 &&
	     lshop_json_set(cp, "shows", json_incref(schedule))) ||
	    lshop_json_set(v, "checkpoint", json_incref(cp)))
		goto done;
	line = dump_line(v, len);
done:
	json_decref(schedule);
	json_decref(catalog);
	json_decref(cp);
	json_decref(v);
	return line;
}

/* Replay */

/* What became of one line. */
enum { LINE_GOOD = 0, LINE_SKIPPED = 1, LINE_STOP = -1 };

/*
 * The scratch space of a replay: events and offers hold whole URLs, too
 * big to sit on the stack in a host's worker, and one of each serves
 * every line.
 */
typedef struct replay_ctx {
	lshop_state *st;
	const lshop_replay_ops *ops;
	lshop_event ev;
	lshop_offer offer;
	lshop_show show;
	lshop_audience audience;
	lshop_order order;
	lshop_state next; /* a checkpoint's or an order's state, until whole */
	lshop_error err;
} replay_ctx;

static int replay_event(replay_ctx *c, const json_t *v, const char *line,
			size_t len)
{
	if (lshop_event_from_json(v, &c->ev, &c->err) != 0 ||
	    lshop_state_apply(c->st, &c->ev, &c->err) != 0)
		return LINE_SKIPPED;
	if (c->ops->event != NULL &&
	    c->ops->event(c->ops->arg, &c->ev, line, len, 0) != 0)
		return LINE_STOP;
	return LINE_GOOD;
}

static int replay_offer(replay_ctx *c, const json_t *v)
{
	int64_t at_ms;

	if (lshop_json_known_keys(v, offer_line_keys, "", &c->err) ||
	    lshop_offer_from_json(json_object_get(v, "offer"), NULL, "offer.",
				  &c->offer, &c->err) ||
	    lshop_json_time_field(v, "at", "", 1, &at_ms, &c->err) < 0)
		return LINE_SKIPPED;
	if (c->ops->offer != NULL &&
	    c->ops->offer(c->ops->arg, &c->offer, at_ms) != 0)
		return LINE_STOP;
	return LINE_GOOD;
}

static int replay_show(replay_ctx *c, const json_t *v)
{
	int64_t at_ms;

	if (lshop_json_known_keys(v, show_line_keys, "", &c->err) ||
	    lshop_show_from_object(json_object_get(v, "show"), NULL, 0,
				   "show.", &c->show, &c->err) ||
	    lshop_json_time_field(v, "at", "", 1, &at_ms, &c->err) < 0)
		return LINE_SKIPPED;
	if (c->ops->show != NULL &&
	    c->ops->show(c->ops->arg, &c->show, NULL, at_ms) != 0)
		return LINE_STOP;
	return LINE_GOOD;
}

static int replay_show_deleted(replay_ctx *c, const json_t *v)
{
	const char *id;
	size_t len;
	int64_t at_ms;

	if (lshop_json_known_keys(v, show_deleted_line_keys, "", &c->err))
		return LINE_SKIPPED;
	if (!lshop_json_text(json_object_get(v, "show_deleted"), &id, &len) ||
	    len > LSHOP_SHOW_ID_MAX || !lshop_id_valid(id, len)) {
		lshop_error_set(&c->err, "invalid_field", "show_deleted",
				"show_deleted must be a show id");
		return LINE_SKIPPED;
	}
	if (lshop_json_time_field(v, "at", "", 1, &at_ms, &c->err) < 0)
		return LINE_SKIPPED;
	if (c->ops->show != NULL &&
	    c->ops->show(c->ops->arg, NULL, id, at_ms) != 0)
		return LINE_STOP;
	return LINE_GOOD;
}

static int replay_answer(replay_ctx *c, const json_t *v)
{
	lshop_saved_answer a;
	int64_t at_ms;

	if (lshop_json_known_keys(v, answer_line_keys, "", &c->err) ||
	    lshop_saved_answer_from_object(json_object_get(v, "answer"),
					   "answer.", &a, &c->err) ||
	    lshop_json_time_field(v, "at", "", 1, &at_ms, &c->err) < 0)
		return LINE_SKIPPED;
	if (c->ops->answer != NULL &&
	    c->ops->answer(c->ops->arg, &a, NULL, at_ms) != 0)
		return LINE_STOP;
	return LINE_GOOD;
}

static int replay_answer_deleted(replay_ctx *c, const json_t *v)
{
	const char *id;
	size_t len;
	int64_t at_ms;

	if (lshop_json_known_keys(v, answer_deleted_line_keys, "", &c->err))
		return LINE_SKIPPED;
	if (!lshop_json_text(json_object_get(v, "answer_deleted"), &id, &len) ||
	    !lshop_id_valid(id, len)) {
		lshop_error_set(&c->err, "invalid_field", "answer_deleted",
				"answer_deleted must be a saved answer's id");
		return LINE_SKIPPED;
	}
	if (lshop_json_time_field(v, "at", "", 1, &at_ms, &c->err) < 0)
		return LINE_SKIPPED;
	if (c->ops->answer != NULL &&
	    c->ops->answer(c->ops->arg, NULL, id, at_ms) != 0)
		return LINE_STOP;
	return LINE_GOOD;
}

static int replay_blocked_words(replay_ctx *c, const json_t *v)
{
	lshop_blocked_words *w;
	int64_t at_ms;
	int r = LINE_SKIPPED;

	w = malloc(sizeof(*w));
	if (w == NULL) {
		lshop_error_set(&c->err, "no_memory", "blocked_words",
				"out of memory");
		return LINE_SKIPPED;
	}
	if (lshop_json_known_keys(v, words_line_keys, "", &c->err) ||
	    lshop_blocked_words_from_array(json_object_get(v, "blocked_words"),
					   "blocked_words", w, &c->err) ||
	    lshop_json_time_field(v, "at", "", 1, &at_ms, &c->err) < 0)
		goto out;
	r = LINE_GOOD;
	if (c->ops->blocked_words != NULL &&
	    c->ops->blocked_words(c->ops->arg, w, at_ms) != 0)
		r = LINE_STOP;
out:
	free(w);
	return r;
}

/* A count of an audience line: a whole number >= 0. */
static int audience_count(const json_t *obj, const char *prefix,
			  const char *key, int64_t *out, lshop_error *err)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		lshop_field_error(err, v ? "invalid_field" : "missing_field",
				  prefix, key, "must be a whole number >= 0");
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static int audience_read(const json_t *obj, const char *prefix,
			 int64_t *peak, int64_t *watch_ms,
			 int64_t *impressions, int64_t *clicks, lshop_hll *unique,
			 lshop_error *err)
{
	const char *s;
	size_t len;

	if (audience_count(obj, prefix, "peak", peak, err) ||
	    audience_count(obj, prefix, "watch_ms", watch_ms, err) ||
	    audience_count(obj, prefix, "impressions", impressions, err) ||
	    audience_count(obj, prefix, "clicks", clicks, err))
		return -1;
	if (!lshop_json_text(json_object_get(obj, "unique"), &s, &len) ||
	    lshop_hll_from_text(s, len, unique, err)) {
		lshop_field_error(err, "invalid_field", prefix, "unique",
				  "must be a sketch of unique viewers "
				  "(\"hll1...\")");
		return -1;
	}
	return 0;
}

static int replay_audience(replay_ctx *c, const json_t *v, int64_t *at_ms,
			   int *full)
{
	lshop_audience *a = &c->audience;
	const json_t *d = json_object_get(v, "audience"), *offers, *ov;
	const char *s;
	size_t len, i;
	lshop_audience_offer *o;

	if (lshop_json_known_keys(v, audience_line_keys, "", &c->err))
		return -1;
	if (!json_is_object(d)) {
		lshop_error_set(&c->err, "invalid_field", "audience",
				"audience must be a JSON object");
		return -1;
	}
	if (lshop_json_known_keys(d, audience_keys, "audience.", &c->err) ||
	    lshop_json_time_field(v, "at", "", 1, at_ms, &c->err) < 0)
		return -1;
	lshop_audience_init(a, NULL);
	if (lshop_json_get(d, "show") != NULL) {
		if (!lshop_json_text(json_object_get(d, "show"), &s, &len) ||
		    !lshop_id_valid(s, len)) {
			lshop_error_set(&c->err, "invalid_field",
					"audience.show",
					"audience.show must be a show id");
			return -1;
		}
		memcpy(a->show_id, s, len);
	}
	if (audience_count(d, "audience.", "viewers", &a->viewers, &c->err))
		return -1;
	offers = json_object_get(d, "offers");
	*full = offers != NULL;
	if (!*full)
		return 0;
	if (!json_is_array(offers) ||
	    json_array_size(offers) > LSHOP_AUDIENCE_OFFERS_MAX) {
		lshop_error_set(&c->err, "invalid_field", "audience.offers",
				"audience.offers must be an array of up to %d",
				LSHOP_AUDIENCE_OFFERS_MAX);
		return -1;
	}
	if (audience_read(d, "audience.", &a->peak, &a->watch_ms,
			  &a->impressions, &a->clicks, &a->unique, &c->err))
		return -1;
	for (i = 0; i < json_array_size(offers); i++) {
		ov = json_array_get(offers, i);
		if (!json_is_object(ov) ||
		    lshop_json_known_keys(ov, audience_offer_keys,
					  "audience.offers.", &c->err) ||
		    !lshop_json_text(json_object_get(ov, "offer_id"), &s,
				     &len) ||
		    !lshop_id_valid(s, len)) {
			if (c->err.code[0] == '\0')
				lshop_error_set(&c->err, "invalid_field",
						"audience.offers",
						"audience.offers must hold "
						"objects with an offer_id");
			return -1;
		}
		o = &a->offers[a->noffers++];
		memcpy(o->offer_id, s, len);
		if (audience_read(ov, "audience.offers.", &o->peak,
				  &o->watch_ms, &o->impressions, &o->clicks,
				  &o->unique, &c->err))
			return -1;
	}
	return 0;
}

static int replay_audience_line(replay_ctx *c, const json_t *v)
{
	int64_t at_ms;
	int full = 0;

	if (replay_audience(c, v, &at_ms, &full) != 0)
		return LINE_SKIPPED;
	if (c->ops->audience != NULL &&
	    c->ops->audience(c->ops->arg, &c->audience, full, at_ms) != 0)
		return LINE_STOP;
	return LINE_GOOD;
}

/* 1 if s[0..len) is 1..max characters in [lo, 0x7e]. */
static int ascii_valid(const char *s, size_t len, size_t max, char lo)
{
	size_t i;

	if (len < 1 || len > max)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] < lo || s[i] > 0x7e)
			return 0;
	return 1;
}

/* A string field of at most cap - 1 bytes that valid() accepts. */
static int text_field(const json_t *obj, const char *key, const char *prefix,
		      int required, char *out, size_t cap,
		      int (*valid)(const char *, size_t), const char *rule,
		      lshop_error *err)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	size_t len;

	if (v == NULL && !required)
		return 0;
	if (v == NULL) {
		lshop_field_error(err, "missing_field", prefix, key,
				  "is required: %s", rule);
		return -1;
	}
	if (!lshop_json_text(v, &s, &len) || len >= cap || !valid(s, len)) {
		lshop_field_error(err, "invalid_field", prefix, key,
				  "must be %s", rule);
		return -1;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

static int order_id_valid(const char *s, size_t len)
{
	return ascii_valid(s, len, LSHOP_ORDER_ID_MAX, 0x20);
}

static int delivery_id_valid(const char *s, size_t len)
{
	return ascii_valid(s, len, LSHOP_DELIVERY_ID_MAX, 0x21);
}

static int amount_valid(const char *s, size_t len)
{
	int64_t v;

	return lshop_amount_scaled(s, len, &v, NULL) == 0;
}

static int currency_valid(const char *s, size_t len)
{
	return len == 3 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' &&
	       s[1] <= 'Z' && s[2] >= 'A' && s[2] <= 'Z';
}

/* An order's source as lshop_order_json writes it: never "". */
static int source_valid(const char *s, size_t len)
{
	return (len == strlen(LSHOP_SOURCE_PLAYER) &&
		memcmp(s, LSHOP_SOURCE_PLAYER, len) == 0) ||
	       (len == strlen(LSHOP_SOURCE_QR) &&
		memcmp(s, LSHOP_SOURCE_QR, len) == 0);
}

static int is_order_paid(const char *s, size_t len)
{
	return len == 10 && memcmp(s, "order.paid", 10) == 0;
}

static int is_order_refunded(const char *s, size_t len)
{
	return len == 14 && memcmp(s, "order.refunded", 14) == 0;
}

/* A whole number field in [min, max]. */
static int count_field(const json_t *obj, const char *key, const char *prefix,
		       int64_t min, int64_t max, int64_t *out, lshop_error *err)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		lshop_field_error(err, v ? "invalid_field" : "missing_field",
				  prefix, key,
				  "must be a whole number from %lld to %lld",
				  (long long)min, (long long)max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

/* An item of an order, or of a refund (refund: from 0 units, no
 * "oversold"). */
static int order_item_from_json(const json_t *v, const char *prefix,
				int refund, lshop_order_item *it,
				lshop_error *err)
{
	char field[sizeof(err->field)];

	if (!json_is_object(v)) {
		/* the prefix without its final '.' */
		snprintf(field, sizeof(field), "%.*s", (int)strlen(prefix) - 1,
			 prefix);
		lshop_field_error(err, "invalid_field", "", field,
				  "must be a JSON object {offer, quantity, "
				  "amount, currency, oversold}");
		return -1;
	}
	if (lshop_json_known_keys(v, refund ? refund_item_keys : item_keys,
				  prefix, err) ||
	    text_field(v, "offer", prefix, 1, it->offer_id,
		       sizeof(it->offer_id), lshop_id_valid, "an offer id",
		       err) ||
	    count_field(v, "quantity", prefix, refund ? 0 : 1, INT64_MAX,
			&it->quantity, err) ||
	    text_field(v, "amount", prefix, 1, it->amount, sizeof(it->amount),
		       amount_valid, "a decimal amount like \"39.98\"", err) ||
	    text_field(v, "currency", prefix, 1, it->currency,
		       sizeof(it->currency), currency_valid,
		       "3 upper-case letters (ISO 4217)", err))
		return -1;
	if (refund)
		return 0;
	/* The units the stock did not cover: never more than ordered. */
	return count_field(v, "oversold", prefix, 0, it->quantity,
			   &it->oversold, err);
}

/*
 * The order of an order line, or with refund the refund of a refund
 * line, read as strictly as it was written (the canonical order of
 * lshop_order_parse, its "source" included, plus "oversold" (not in a
 * refund) and "delivery_id"). order is zeroed first, so that it compares
 * whole.
 */
static int order_from_json(const json_t *v, int refund, lshop_order *order,
			   lshop_error *err)
{
	const char *name = refund ? "refund" : "order";
	char prefix[sizeof(err->field)], type[16], p[8];
	json_t *items;
	size_t i;

	memset(order, 0, sizeof(*order));
	order->refund = refund;
	snprintf(p, sizeof(p), "%s.", name);
	if (!json_is_object(v)) {
		lshop_error_set(err, "invalid_field", name,
				"%s must be a JSON object: the canonical "
				"order",
				name);
		return -1;
	}
	if (lshop_json_known_keys(v, order_keys, p, err) ||
	    text_field(v, "type", p, 1, type, sizeof(type),
		       refund ? is_order_refunded : is_order_paid,
		       refund ? "\"order.refunded\"" : "\"order.paid\"",
		       err) ||
	    text_field(v, "order_id", p, 1, order->order_id,
		       sizeof(order->order_id), order_id_valid,
		       "1-255 printable ASCII characters", err) ||
	    text_field(v, "stream", p, 1, order->stream,
		       sizeof(order->stream), lshop_stream_valid,
		       "a stream name APP/NAME", err) ||
	    /* absent from orders kept before sources were read: "" */
	    text_field(v, "source", p, 0, order->source,
		       sizeof(order->source), source_valid,
		       "\"player\" or \"qr\"", err) ||
	    text_field(v, "delivery_id", p, 0, order->delivery_id,
		       sizeof(order->delivery_id), delivery_id_valid,
		       "1-128 visible ASCII characters", err))
		return -1;
	items = json_object_get(v, "items");
	if (!json_is_array(items) ||
	    json_array_size(items) > LSHOP_ORDER_ITEMS_MAX) {
		lshop_error_set(err, items ? "invalid_field" : "missing_field",
				refund ? "refund.items" : "order.items",
				"%s.items must be a list of at most %d items",
				name, LSHOP_ORDER_ITEMS_MAX);
		return -1;
	}
	for (i = 0; i < json_array_size(items); i++) {
		snprintf(prefix, sizeof(prefix), "%s.items[%zu].", name, i);
		if (order_item_from_json(json_array_get(items, i), prefix,
					 refund, &order->items[i], err))
			return -1;
	}
	order->nitems = json_array_size(items);
	return 0;
}

/* Says which of an order line's events an error is about. */
static void event_error(lshop_error *err, size_t i)
{
	char field[sizeof(err->field) + 32];
	lshop_error e = *err;

	snprintf(field, sizeof(field), "events[%zu]%s%s", i,
		 e.field[0] ? "." : "", e.field);
	lshop_error_set(err, e.code, field, "events[%zu]: %s", i, e.message);
}


/*
 * What an order line and a refund line share: known keys, the order (or
 * refund) under its key, "at" and "provider" into c->order, *provider
 * and *at_ms. 0, or -1 with c->err set.
 */
static int line_order(replay_ctx *c, const json_t *v,
		      const char *const *keys, int refund,
		      lshop_provider *provider, int64_t *at_ms)
{
	json_t *p;

	if (lshop_json_known_keys(v, keys, "", &c->err) ||
	    order_from_json(json_object_get(v, refund ? "refund" : "order"),
			    refund, &c->order, &c->err) ||
	    lshop_json_time_field(v, "at", "", 1, at_ms, &c->err) < 0)
		return -1;
	p = json_object_get(v, "provider");
	if (!json_is_string(p) ||
	    lshop_provider_parse(json_string_value(p), json_string_length(p),
				 provider) != 0) {
		lshop_error_set(&c->err, p ? "invalid_field" : "missing_field",
				"provider",
				"provider must be one of standard, shopify, "
				"woocommerce, stripe");
		return -1;
	}
	return 0;
}

/*
 * An order line is taken whole or not at all: its order and its events
 * are read, and the events applied to a copy of the state, before
 * anything changes or any callback runs.
 */
static int replay_order(replay_ctx *c, const json_t *v)
{
	const lshop_replay_ops *ops = c->ops;
	json_t *events;
	lshop_provider provider;
	int64_t at_ms;
	size_t i, len;
	char *json;
	int r;

	if (line_order(c, v, order_line_keys, 0, &provider, &at_ms))
		return LINE_SKIPPED;
	events = json_object_get(v, "events");
	if (!json_is_array(events)) {
		lshop_error_set(&c->err,
				events ? "invalid_field" : "missing_field",
				"events",
				"events must be a JSON array: the events the "
				"order made");
		return LINE_SKIPPED;
	}
	memcpy(&c->next, c->st, sizeof(c->next));
	for (i = 0; i < json_array_size(events); i++) {
		if (lshop_event_from_json(json_array_get(events, i), &c->ev,
					  &c->err) != 0 ||
		    lshop_state_apply(&c->next, &c->ev, &c->err) != 0) {
			event_error(&c->err, i);
			return LINE_SKIPPED;
		}
		if (strcmp(c->ev.stream, c->order.stream) != 0) {
			lshop_error_set(&c->err, "invalid_field", "",
					"events[%zu] is on stream %s, the "
					"order on %s",
					i, c->ev.stream, c->order.stream);
			snprintf(c->err.field, sizeof(c->err.field),
				 "events[%zu].stream", i);
			return LINE_SKIPPED;
		}
	}

	memcpy(c->st, &c->next, sizeof(c->next));
	if (ops->order != NULL &&
	    ops->order(ops->arg, &c->order, provider, at_ms) != 0)
		return LINE_STOP;
	for (i = 0; ops->event != NULL && i < json_array_size(events); i++) {
		lshop_event_from_json(json_array_get(events, i), &c->ev, NULL);
		json = lshop_event_to_json(&c->ev, &len);
		if (json == NULL)
			return LINE_STOP;
		r = ops->event(ops->arg, &c->ev, json, len, 0);
		free(json);
		if (r != 0)
			return LINE_STOP;
	}
	return LINE_GOOD;
}

/*
 * A refund line: handed to ops->order (order->refund set); it changes
 * no state and carries no event.
 */
static int replay_refund(replay_ctx *c, const json_t *v)
{
	lshop_provider provider;
	int64_t at_ms;

	if (line_order(c, v, refund_line_keys, 1, &provider, &at_ms))
		return LINE_SKIPPED;
	if (c->ops->order != NULL &&
	    c->ops->order(c->ops->arg, &c->order, provider, at_ms) != 0)
		return LINE_STOP;
	return LINE_GOOD;
}

/*
 * Restores the open intervals of a checkpoint into c->next: each opening
 * event is applied as if it came right after the event before it, so it
 * keeps its own seq (interval ids are "STREAM:SEQ") while the state's
 * seq becomes the checkpoint's.
 */
static int restore_open(replay_ctx *c, const json_t *open, uint64_t seq)
{
	int seen[OPENS] = {0};
	size_t i;
	int cls;

	for (i = 0; i < json_array_size(open); i++) {
		if (lshop_event_from_json(json_array_get(open, i), &c->ev,
					  &c->err) != 0)
			return -1;
		cls = opening_class(c->ev.type);
		if (cls < 0 || seen[cls] || c->ev.seq > seq) {
			lshop_error_set(&c->err, "invalid_field",
					"checkpoint.open",
					"checkpoint.open must list the events "
					"that opened the intervals still open "
					"and the show on air: one per class, "
					"none after the "
					"checkpoint's seq %llu",
					(unsigned long long)seq);
			return -1;
		}
		seen[cls] = 1;
		c->next.seq = c->ev.seq - 1;
		if (lshop_state_apply(&c->next, &c->ev, &c->err) != 0)
			return -1;
	}
	c->next.seq = seq;
	return 0;
}

static int restore_edges(replay_ctx *c, const json_t *cp)
{
	json_t *edges = lshop_json_get(cp, "edges");
	int64_t ms, *edge;
	int i;

	if (edges == NULL)
		return 0;
	if (!json_is_object(edges)) {
		lshop_error_set(&c->err, "invalid_field", "checkpoint.edges",
				"checkpoint.edges must be a JSON object");
		return -1;
	}
	if (lshop_json_known_keys(edges, edge_keys, "checkpoint.edges.",
				  &c->err))
		return -1;
	for (i = 0; i < CLASSES; i++) {
		if (lshop_json_time_field(edges, edge_keys[i],
					  "checkpoint.edges.", 0, &ms,
					  &c->err) < 0)
			return -1;
		edge = state_edge(&c->next, i);
		if (json_object_get(edges, edge_keys[i]) != NULL && ms > *edge)
			*edge = ms;
	}
	return 0;
}

/*
 * A checkpoint is read whole before anything changes: a damaged one is
 * skipped like any other unreadable line and leaves st as it was.
 */
static int replay_checkpoint(replay_ctx *c, const json_t *v)
{
	const lshop_replay_ops *ops = c->ops;
	json_t *cp = json_object_get(v, "checkpoint"), *j, *offers, *open;
	json_t *shows;
	uint64_t seq;
	int64_t at_ms, file = 0;
	size_t i, len;
	char *json;
	int r;

	if (lshop_json_known_keys(v, checkpoint_line_keys, "", &c->err))
		return LINE_SKIPPED;
	if (!json_is_object(cp)) {
		lshop_error_set(&c->err, "invalid_field", "checkpoint",
				"checkpoint must be a JSON object");
		return LINE_SKIPPED;
	}
	if (lshop_json_known_keys(cp, checkpoint_keys, "checkpoint.", &c->err))
		return LINE_SKIPPED;
	j = json_object_get(cp, "seq");
	if (!json_is_integer(j) || json_integer_value(j) < 0) {
		lshop_error_set(&c->err, j ? "invalid_field" : "missing_field",
				"checkpoint.seq",
				"checkpoint.seq must be a whole number >= 0: "
				"the seq of the last event before it");
		return LINE_SKIPPED;
	}
	seq = (uint64_t)json_integer_value(j);
	r = lshop_json_time_field(cp, "at", "checkpoint.", 1, &at_ms, &c->err);
	if (r < 0)
		return LINE_SKIPPED;
	j = json_object_get(cp, "file");
	if (j != NULL) {
		if (!json_is_integer(j) || json_integer_value(j) < 1) {
			lshop_error_set(&c->err, "invalid_field",
					"checkpoint.file",
					"checkpoint.file must be a whole "
					"number >= 1: which rotation began "
					"the file");
			return LINE_SKIPPED;
		}
		file = json_integer_value(j);
	}
	offers = json_object_get(cp, "offers");
	open = json_object_get(cp, "open");
	if (!json_is_array(offers) || !json_is_array(open)) {
		lshop_error_set(&c->err, "invalid_field",
				json_is_array(offers) ? "checkpoint.open"
						      : "checkpoint.offers",
				"checkpoint.offers and checkpoint.open must "
				"be JSON arrays");
		return LINE_SKIPPED;
	}
	for (i = 0; i < json_array_size(offers); i++)
		if (lshop_offer_from_json(json_array_get(offers, i), NULL,
					  "checkpoint.offers.", &c->offer,
					  &c->err))
			return LINE_SKIPPED;
	shows = lshop_json_get(cp, "shows");
	if (shows != NULL && !json_is_array(shows)) {
		lshop_error_set(&c->err, "invalid_field", "checkpoint.shows",
				"checkpoint.shows must be a JSON array");
		return LINE_SKIPPED;
	}
	for (i = 0; i < json_array_size(shows); i++)
		if (lshop_show_from_object(json_array_get(shows, i), NULL, 0,
					   "checkpoint.shows.", &c->show,
					   &c->err))
			return LINE_SKIPPED;
	lshop_state_init(&c->next);
	if (restore_open(c, open, seq) || restore_edges(c, cp))
		return LINE_SKIPPED;

	memcpy(c->st, &c->next, sizeof(c->next));
	if (ops->checkpoint != NULL &&
	    ops->checkpoint(ops->arg, seq, file) != 0)
		return LINE_STOP;
	for (i = 0; ops->offer != NULL && i < json_array_size(offers); i++) {
		lshop_offer_from_json(json_array_get(offers, i), NULL, "",
				      &c->offer, NULL);
		if (ops->offer(ops->arg, &c->offer, at_ms) != 0)
			return LINE_STOP;
	}
	for (i = 0; ops->show != NULL && i < json_array_size(shows); i++) {
		lshop_show_from_object(json_array_get(shows, i), NULL, 0, "",
				       &c->show, NULL);
		if (ops->show(ops->arg, &c->show, NULL, at_ms) != 0)
			return LINE_STOP;
	}
	for (i = 0; ops->event != NULL && i < json_array_size(open); i++) {
		lshop_event_from_json(json_array_get(open, i), &c->ev, NULL);
		json = lshop_event_to_json(&c->ev, &len);
		if (json == NULL)
			return LINE_STOP;
		r = ops->event(ops->arg, &c->ev, json, len, 1);
		free(json);
		if (r != 0)
			return LINE_STOP;
	}
	return LINE_GOOD;
}

static int replay_line(replay_ctx *c, const char *line, size_t len)
{
	json_t *v;
	int r;

	if (len == 0) {
		lshop_error_set(&c->err, "invalid_json", "",
				"the line is empty");
		return LINE_SKIPPED;
	}
	v = lshop_json_load(line, len, "journal line", &c->err);
	if (v == NULL)
		return LINE_SKIPPED;
	/* An event has a "type"; the other records are named by their
	 * first key. */
	if (json_object_get(v, "checkpoint") != NULL)
		r = replay_checkpoint(c, v);
	else if (json_object_get(v, "order") != NULL &&
		 json_object_get(v, "type") == NULL)
		r = replay_order(c, v);
	else if (json_object_get(v, "refund") != NULL &&
		 json_object_get(v, "type") == NULL)
		r = replay_refund(c, v);
	else if (json_object_get(v, "offer") != NULL &&
		 json_object_get(v, "type") == NULL)
		r = replay_offer(c, v);
	else if (json_object_get(v, "show") != NULL &&
		 json_object_get(v, "type") == NULL)
		r = replay_show(c, v);
	else if (json_object_get(v, "show_deleted") != NULL)
		r = replay_show_deleted(c, v);
	else if (json_object_get(v, "audience") != NULL)
		r = replay_audience_line(c, v);
	else if (json_object_get(v, "answer") != NULL &&
		 json_object_get(v, "type") == NULL)
		r = replay_answer(c, v);
	else if (json_object_get(v, "answer_deleted") != NULL)
		r = replay_answer_deleted(c, v);
	else if (json_object_get(v, "blocked_words") != NULL)
		r = replay_blocked_words(c, v);
	else
		r = replay_event(c, v, line, len);
	json_decref(v);
	return r;
}

/* Says the first line skipped, where it is and why. */
static void note_problem(lshop_replay_result *res, size_t lineno, size_t offset,
			 const lshop_error *err)
{
	if (res->skipped++ != 0)
		return;
	lshop_error_set(&res->first_problem, err->code, err->field,
			"journal line %zu (byte %zu) is skipped: %s", lineno,
			offset, err->message);
}

static const lshop_replay_ops no_ops;

int lshop_journal_replay(const char *buf, size_t len, lshop_state *st,
			 const lshop_replay_ops *ops,
			 lshop_replay_result *result)
{
	lshop_replay_result local;
	replay_ctx *c;
	const char *nl;
	size_t pos = 0, lineno = 0, n;
	int r = LINE_GOOD;

	if (result == NULL)
		result = &local;
	memset(result, 0, sizeof(*result));
	lshop_error_clear(&result->first_problem);
	c = malloc(sizeof(*c));
	if (c == NULL) {
		lshop_error_set(&result->first_problem, "no_memory", "",
				"out of memory before the journal could be "
				"read");
		return -1;
	}
	c->st = st;
	c->ops = ops != NULL ? ops : &no_ops;
	while (pos < len) {
		lineno++;
		nl = memchr(buf + pos, '\n', len - pos);
		if (nl == NULL) {
			/* A write that a crash cut short. */
			result->torn = 1;
			lshop_error_set(&c->err, "torn_line", "",
					"it has no end of line, so its write "
					"was cut short (%zu bytes)",
					len - pos);
			note_problem(result, lineno, pos, &c->err);
			break;
		}
		n = (size_t)(nl - (buf + pos));
		lshop_error_clear(&c->err);
		r = replay_line(c, buf + pos, n);
		if (r == LINE_STOP)
			break;
		if (r == LINE_SKIPPED) {
			note_problem(result, lineno, pos, &c->err);
		} else {
			result->records++;
			result->last_good = pos + n + 1;
		}
		pos += n + 1;
	}
	free(c);
	return r == LINE_STOP ? -1 : 0;
}

int64_t lshop_journal_file(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len);
	json_t *v, *cp, *file;
	int64_t n = 0;

	if (nl == NULL)
		return 0;
	v = lshop_json_load(buf, (size_t)(nl - buf), "journal line", NULL);
	cp = json_object_get(v, "checkpoint");
	file = json_object_get(cp, "file");
	if (json_is_integer(file) && json_integer_value(file) > 0)
		n = json_integer_value(file);
	else if (json_is_object(cp))
		n = 1; /* written before files were numbered */
	json_decref(v);
	return n;
}

/* Catch-up */

#define SEEK_BLOCK 4096
#define SEEK_SPAN (16 * 1024) /* left to the read rather than halved */

/*
 * The seq that line[0..len) begins with after prefix, as
 * lshop_journal_event_line and lshop_journal_checkpoint_line write it
 * ("seq" first): 1 and *seq set, or 0 for a line that does not begin so.
 */
static int line_seq(const char *line, size_t len, const char *prefix,
		    uint64_t *seq)
{
	size_t n = strlen(prefix), i;
	uint64_t v = 0;

	if (len <= n || memcmp(line, prefix, n) != 0)
		return 0;
	for (i = n; i < len && line[i] >= '0' && line[i] <= '9'; i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(line[i] - '0');
	}
	if (i == n || i == len || line[i] != ',')
		return 0;
	*seq = v;
	return 1;
}

static const char event_prefix[] = "{\"seq\":";
static const char checkpoint_prefix[] = "{\"checkpoint\":{\"seq\":";
static const char order_prefix[] = "{\"order\":";

int lshop_journal_seek(lshop_journal_read_fn read, void *arg, int64_t size,
		       uint64_t after, int64_t *offset)
{
	char block[SEEK_BLOCK];
	const char *p, *nl, *end;
	int64_t lo = 0, hi = size, mid, n;
	uint64_t seq;
	int reaches = 0, found;

	*offset = 0;
	if (size <= 0)
		return 0;
	n = read(arg, block, (size_t)(size < SEEK_BLOCK ? size : SEEK_BLOCK),
		 0);
	if (n < 0)
		return -1;
	/*
	 * The first file begins without a checkpoint; a later one with the
	 * checkpoint of the events before it. A checkpoint that cannot be
	 * read here counts as beginning too late: the file before is read
	 * as well, which costs time but loses nothing.
	 */
	if (line_seq(block, (size_t)n, checkpoint_prefix, &seq))
		reaches = seq <= after;
	else
		reaches = n > 0 && (n < 14 ||
				    memcmp(block, "{\"checkpoint\":", 14) != 0);

	/*
	 * lo: a line's start with every event before it at most after.
	 * Only an event line seen whole moves it; a probe that sees none
	 * (long lines) only narrows hi, so the read starts earlier.
	 */
	while (hi - lo > SEEK_SPAN) {
		mid = lo + (hi - lo) / 2;
		n = read(arg, block,
			 (size_t)(size - mid < SEEK_BLOCK ? size - mid
							  : SEEK_BLOCK),
			 mid);
		if (n < 0)
			return -1;
		end = block + n;
		found = 0;
		p = memchr(block, '\n', (size_t)n);
		while (p != NULL && !found) {
			p++;
			nl = memchr(p, '\n', (size_t)(end - p));
			if (nl == NULL)
				break;
			found = line_seq(p, (size_t)(nl - p), event_prefix,
					 &seq);
			if (!found)
				p = nl;
		}
		if (found && seq <= after) {
			lo = mid + (int64_t)(nl + 1 - block);
			reaches = 1;
		} else {
			hi = mid;
		}
	}
	*offset = lo;
	return reaches;
}

typedef struct events_ctx {
	const lshop_replay_ops *ops;
	uint64_t after, upto;
	lshop_event ev;
	lshop_error err;
} events_ctx;

/* One event to hand out, if its seq is wanted: LINE_GOOD or LINE_STOP. */
static int events_hand(events_ctx *c, const char *json, size_t len,
		       size_t *records)
{
	if (c->ops->event != NULL &&
	    c->ops->event(c->ops->arg, &c->ev, json, len, 0) != 0)
		return LINE_STOP;
	c->after = c->ev.seq;
	(*records)++;
	return LINE_GOOD;
}

/*
 * An order line's events: all read before any is handed out, as replay
 * takes an order line whole or not at all.
 */
static int events_order(events_ctx *c, const char *line, size_t len,
			size_t *records, int *reached)
{
	json_t *v, *events;
	size_t i, n;
	char *json;
	int r = LINE_GOOD;

	v = lshop_json_load(line, len, "journal line", &c->err);
	if (v == NULL)
		return LINE_SKIPPED;
	events = json_object_get(v, "events");
	for (i = 0; i < json_array_size(events); i++)
		if (lshop_event_from_json(json_array_get(events, i), &c->ev,
					  &c->err) != 0) {
			event_error(&c->err, i);
			json_decref(v);
			return LINE_SKIPPED;
		}
	for (i = 0; i < json_array_size(events) && r == LINE_GOOD; i++) {
		lshop_event_from_json(json_array_get(events, i), &c->ev, NULL);
		if (c->ev.seq <= c->after)
			continue;
		if (c->ev.seq >= c->upto) {
			*reached = 1;
			break;
		}
		json = lshop_event_to_json(&c->ev, &n);
		if (json == NULL) {
			r = LINE_STOP;
			break;
		}
		r = events_hand(c, json, n, records);
		free(json);
	}
	json_decref(v);
	return r;
}

int lshop_journal_events(const char *buf, size_t len, uint64_t after,
			 uint64_t upto, const lshop_replay_ops *ops,
			 lshop_replay_result *result)
{
	lshop_replay_result local;
	events_ctx *c;
	const char *nl, *line;
	size_t pos = 0, lineno = 0, n;
	uint64_t seq;
	json_t *v;
	int r = LINE_GOOD, reached = 0;

	if (result == NULL)
		result = &local;
	memset(result, 0, sizeof(*result));
	lshop_error_clear(&result->first_problem);
	c = malloc(sizeof(*c));
	if (c == NULL) {
		lshop_error_set(&result->first_problem, "no_memory", "",
				"out of memory before the journal could be "
				"read");
		return -1;
	}
	c->ops = ops != NULL ? ops : &no_ops;
	c->after = after;
	c->upto = upto;
	while (pos < len && r != LINE_STOP && !reached) {
		lineno++;
		line = buf + pos;
		nl = memchr(line, '\n', len - pos);
		if (nl == NULL) {
			result->torn = 1;
			break;
		}
		n = (size_t)(nl - line);
		lshop_error_clear(&c->err);
		r = LINE_GOOD;
		/* only the lines wanted are parsed */
		if (line_seq(line, n, event_prefix, &seq)) {
			if (seq >= upto) {
				reached = 1;
				break;
			}
			if (seq > c->after) {
				v = lshop_json_load(line, n, "journal line",
						    &c->err);
				if (v == NULL ||
				    lshop_event_from_json(v, &c->ev,
							  &c->err) != 0)
					r = LINE_SKIPPED;
				else
					r = events_hand(c, line, n,
							&result->records);
				json_decref(v);
			}
		} else if (n >= sizeof(order_prefix) - 1 &&
			   memcmp(line, order_prefix,
				  sizeof(order_prefix) - 1) == 0) {
			r = events_order(c, line, n, &result->records,
					 &reached);
		}
		if (r == LINE_SKIPPED)
			note_problem(result, lineno, pos, &c->err);
		if (r != LINE_STOP)
			result->last_good = pos + n + 1;
		pos += n + 1;
	}
	free(c);
	if (r == LINE_STOP)
		return -1;
	return reached;
}
