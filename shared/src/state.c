/*
 * liveshop core: the timeline of one stream.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lshop/codec.h"
#include "lshop/state.h"

#include "internal.h"

void lshop_state_init(lshop_state *st)
{
	memset(st, 0, sizeof(*st));
}

/* Moves a class's edge forward: intervals of one class never overlap. */
static void edge_forward(int64_t *edge, int64_t at_ms)
{
	if (at_ms > *edge)
		*edge = at_ms;
}

int lshop_state_apply(lshop_state *st, const lshop_event *ev, lshop_error *err)
{
	if (ev->seq != st->seq + 1) {
		lshop_error_set(err, "seq_gap", "seq",
				"event seq %" PRIu64 " does not follow %" PRIu64
				"; events are applied one by one, in order",
				ev->seq, st->seq);
		return -1;
	}
	switch (ev->type) {
	case LSHOP_OFFER_PINNED:
		st->pinned = 1;
		st->pin_seq = ev->seq;
		st->pin_at_ms = ev->at_ms;
		st->pin_until_ms = ev->until_ms;
		st->offer = ev->offer;
		edge_forward(&st->pin_edge_ms, ev->at_ms);
		break;
	case LSHOP_OFFER_UNPINNED:
		if (!st->pinned || strcmp(st->offer.id, ev->offer_id) != 0) {
			lshop_error_set(err, "not_pinned", "offer_id",
					"offer \"%.64s\" is not pinned, so it "
					"cannot be unpinned",
					ev->offer_id);
			return -1;
		}
		st->pinned = 0;
		st->pin_seq = 0;
		st->pin_at_ms = 0;
		st->pin_until_ms = 0;
		memset(&st->offer, 0, sizeof(st->offer));
		edge_forward(&st->pin_edge_ms, ev->at_ms);
		break;
	case LSHOP_COUNTDOWN_STARTED:
		st->countdown = 1;
		st->countdown_seq = ev->seq;
		st->countdown_at_ms = ev->at_ms;
		st->countdown_ends_at_ms = ev->ends_at_ms;
		memcpy(st->countdown_label, ev->label, sizeof(ev->label));
		memcpy(st->countdown_offer_id, ev->offer_id,
		       sizeof(ev->offer_id));
		edge_forward(&st->countdown_edge_ms, ev->at_ms);
		break;
	case LSHOP_COUNTDOWN_ENDED:
		/* Ending a countdown that already ended is harmless; a
		 * journal must replay whatever order its writer chose. */
		st->countdown = 0;
		st->countdown_seq = 0;
		st->countdown_at_ms = 0;
		st->countdown_ends_at_ms = 0;
		memset(st->countdown_label, 0, sizeof(st->countdown_label));
		memset(st->countdown_offer_id, 0,
		       sizeof(st->countdown_offer_id));
		edge_forward(&st->countdown_edge_ms, ev->at_ms);
		break;
	case LSHOP_DISCLOSURE_SHOWN:
		st->disclosure = 1;
		st->disclosure_seq = ev->seq;
		st->disclosure_at_ms = ev->at_ms;
		memcpy(st->disclosure_kind, ev->kind, sizeof(ev->kind));
		memcpy(st->disclosure_text, ev->text, sizeof(ev->text));
		memcpy(st->disclosure_offer_id, ev->offer_id,
		       sizeof(ev->offer_id));
		edge_forward(&st->disclosure_edge_ms, ev->at_ms);
		break;
	case LSHOP_DISCLOSURE_HIDDEN:
		st->disclosure = 0;
		st->disclosure_seq = 0;
		st->disclosure_at_ms = 0;
		/* Whole fields, so that a state rebuilt from a checkpoint
		 * is byte for byte the state of the full replay. */
		memset(st->disclosure_kind, 0, sizeof(st->disclosure_kind));
		memset(st->disclosure_text, 0, sizeof(st->disclosure_text));
		memset(st->disclosure_offer_id, 0,
		       sizeof(st->disclosure_offer_id));
		edge_forward(&st->disclosure_edge_ms, ev->at_ms);
		break;
	case LSHOP_STOCK_CHANGED:
	case LSHOP_OFFER_SOLD_OUT:
	case LSHOP_PURCHASE_COMPLETED:
		/* Stock lives with the catalog, not in the timeline. */
		break;
	case LSHOP_SHOW_STARTED:
		st->show_live = 1;
		st->show_seq = ev->seq;
		st->show_at_ms = ev->at_ms;
		st->show = ev->show;
		break;
	case LSHOP_SHOW_ENDED:
		/* Like countdown.ended: a journal replays as it was written. */
		st->show_live = 0;
		st->show_seq = 0;
		st->show_at_ms = 0;
		memset(&st->show, 0, sizeof(st->show));
		break;
	case LSHOP_QUESTION_PINNED:
		st->question_pinned = 1;
		st->question_seq = ev->seq;
		st->question_at_ms = ev->at_ms;
		st->question = ev->question;
		edge_forward(&st->question_edge_ms, ev->at_ms);
		break;
	case LSHOP_QUESTION_UNPINNED:
		/* Like countdown.ended: a journal replays as it was written. */
		st->question_pinned = 0;
		st->question_seq = 0;
		st->question_at_ms = 0;
		memset(&st->question, 0, sizeof(st->question));
		edge_forward(&st->question_edge_ms, ev->at_ms);
		break;
	case LSHOP_POLL_STARTED:
		st->poll_live = 1;
		st->poll_seq = ev->seq;
		st->poll_at_ms = ev->at_ms;
		st->poll = ev->poll;
		memset(st->poll.counts, 0, sizeof(st->poll.counts));
		edge_forward(&st->poll_edge_ms, ev->at_ms);
		break;
	case LSHOP_POLL_ENDED:
		st->poll_live = 0;
		st->poll_seq = 0;
		st->poll_at_ms = 0;
		memset(&st->poll, 0, sizeof(st->poll));
		edge_forward(&st->poll_edge_ms, ev->at_ms);
		break;
	default:
		lshop_error_set(err, "invalid_event", "type",
				"event type %d is not one of SPEC §3",
				(int)ev->type);
		return -1;
	}
	st->seq = ev->seq;
	return 0;
}

/* Planning */

/* Countdown labels and disclosure texts: short enough for an overlay. */
#define SHORT_TEXT_CHARS 60
#define COUNTDOWN_MAX_S  86400

static int64_t later(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* Appends a zeroed event of type to out[0..*n). */
static lshop_event *plan_add(lshop_event *out, size_t *n, lshop_event_type type)
{
	lshop_event *ev = &out[(*n)++];

	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	return ev;
}

/* When a countdown or a pin next ends by itself; 0 never. */
static int64_t timeline_next_due(const lshop_state *st)
{
	int64_t next = 0;

	if (st->countdown)
		next = st->countdown_ends_at_ms;
	if (st->pinned && st->pin_until_ms != 0 &&
	    (next == 0 || st->pin_until_ms < next))
		next = st->pin_until_ms;
	return next;
}

/* One action's events share one moment, so an end meets the next start. */
static size_t plan_stamp(lshop_event *out, size_t n, int64_t at_ms)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i].at_ms = at_ms;
	return n;
}

/* 1 if a disclosure is shown for the pinned offer (and goes with it). */
static int disclosure_tied(const lshop_state *st)
{
	return st->pinned && st->disclosure && st->disclosure_offer_id[0] &&
	       strcmp(st->disclosure_offer_id, st->offer.id) == 0;
}

/*
 * The end of the pinned offer: offer.unpinned, then disclosure.hidden of
 * a disclosure tied to it. Returns where the end may happen at the
 * earliest: the edges of the classes it touches. An offer with a
 * disclosure touches the disclosure class even when a stream-wide
 * disclosure covers it, so that its pin never outlasts a disclosure
 * change that was already stamped.
 */
static int64_t plan_end_pin(const lshop_state *st, lshop_event *out, size_t *n)
{
	int64_t edge = st->pin_edge_ms;
	lshop_event *ev;

	ev = plan_add(out, n, LSHOP_OFFER_UNPINNED);
	memcpy(ev->offer_id, st->offer.id, sizeof(ev->offer_id));
	if (st->offer.disclosure[0])
		edge = later(edge, st->disclosure_edge_ms);
	if (disclosure_tied(st)) {
		ev = plan_add(out, n, LSHOP_DISCLOSURE_HIDDEN);
		memcpy(ev->kind, st->disclosure_kind, sizeof(ev->kind));
		edge = later(edge, st->disclosure_edge_ms);
	}
	return edge;
}

/*
 * disclosure.hidden of the shown disclosure. A hide never goes back
 * before the latest pin edge: a pin that relied on the disclosure stays
 * covered up to its end (SPEC §3).
 */
static int64_t plan_hide_shown(const lshop_state *st, lshop_event *out,
			       size_t *n)
{
	lshop_event *ev = plan_add(out, n, LSHOP_DISCLOSURE_HIDDEN);

	memcpy(ev->kind, st->disclosure_kind, sizeof(ev->kind));
	return later(st->disclosure_edge_ms, st->pin_edge_ms);
}

/* 1 if text is 0 (empty_ok) or 1 up to 60 characters of valid UTF-8. */
static int short_text_valid(const char *text, int empty_ok)
{
	long chars = lshop_utf8_chars(text, strlen(text));

	return chars >= (empty_ok ? 0 : 1) && chars <= SHORT_TEXT_CHARS;
}

static void disclosure_required(const lshop_state *st, const char *field,
				lshop_error *err)
{
	lshop_error_set(err, "disclosure_required", field,
			"offer \"%.64s\" is pinned and needs its \"%.15s\" "
			"disclosure; unpin it first",
			st->offer.id, st->offer.disclosure);
}

size_t lshop_state_plan_pin(const lshop_state *st, const lshop_offer *offer,
			    int64_t at_ms, int64_t until_ms, const char *locale,
			    lshop_event out[LSHOP_PLAN_MAX], lshop_error *err)
{
	const char *need = offer->disclosure, *text = NULL;
	int old_tied = disclosure_tied(st), hide = 0, show = 0;
	size_t n = 0;
	lshop_event *ev;

	if (need[0]) {
		text = lshop_disclosure_text(need, locale);
		if (text == NULL) {
			lshop_error_set(err, "invalid_field", "disclosure",
					"offer \"%.64s\" has the disclosure "
					"\"%.15s\", which is not one of ad, "
					"sponsored, affiliate, gifted, own",
					offer->id, need);
			return 0;
		}
		/* The pin relies on a disclosure: it cannot start before
		 * the disclosure's latest change (SPEC §3). */
		at_ms = later(at_ms, st->disclosure_edge_ms);
	}
	if (st->disclosure) {
		/* It goes with the offer that makes way; or it is of
		 * another kind, and the offer's own replaces it; or it is
		 * tied to an offer no longer pinned, and is tied anew. */
		if (old_tied)
			hide = 1;
		else if (need[0] && strcmp(st->disclosure_kind, need) != 0)
			hide = 1;
		else if (need[0] && st->disclosure_offer_id[0] &&
			 strcmp(st->disclosure_offer_id, offer->id) != 0)
			hide = 1;
	}
	show = need[0] && (!st->disclosure || hide);

	if (st->pinned) {
		/* plan_end_pin hides a tied disclosure itself. */
		at_ms = later(at_ms, plan_end_pin(st, out, &n));
		hide = hide && !old_tied;
	}
	at_ms = later(at_ms, st->pin_edge_ms);
	if (hide)
		at_ms = later(at_ms, plan_hide_shown(st, out, &n));
	if (show) {
		ev = plan_add(out, &n, LSHOP_DISCLOSURE_SHOWN);
		snprintf(ev->kind, sizeof(ev->kind), "%s", need);
		snprintf(ev->text, sizeof(ev->text), "%s", text);
		memcpy(ev->offer_id, offer->id, sizeof(ev->offer_id));
		at_ms = later(at_ms, st->disclosure_edge_ms);
	}
	if (until_ms != 0 && until_ms <= at_ms) {
		lshop_error_set(err, "invalid_field", "duration",
				"the pin would end before it starts");
		return 0;
	}
	ev = plan_add(out, &n, LSHOP_OFFER_PINNED);
	ev->offer = *offer;
	ev->until_ms = until_ms;
	return plan_stamp(out, n, at_ms);
}

size_t lshop_state_plan_unpin(const lshop_state *st, int64_t at_ms,
			      lshop_event out[LSHOP_PLAN_MAX], lshop_error *err)
{
	size_t n = 0;

	if (!st->pinned) {
		lshop_error_set(
		    err, "not_pinned", "",
		    "nothing is pinned, so nothing can be unpinned");
		return 0;
	}
	at_ms = later(at_ms, plan_end_pin(st, out, &n));
	return plan_stamp(out, n, at_ms);
}

size_t lshop_state_plan_countdown(const lshop_state *st, int64_t at_ms,
				  int64_t seconds, const char *label,
				  const char *offer_id,
				  lshop_event out[LSHOP_PLAN_MAX],
				  lshop_error *err)
{
	size_t n = 0;
	lshop_event *ev;

	if (label == NULL)
		label = "";
	if (offer_id == NULL)
		offer_id = "";
	if (seconds < 1 || seconds > COUNTDOWN_MAX_S) {
		lshop_error_set(err, "invalid_field", "seconds",
				"seconds must be a whole number from 1 to %d "
				"(a day)",
				COUNTDOWN_MAX_S);
		return 0;
	}
	if (!short_text_valid(label, 1)) {
		lshop_error_set(err, "invalid_field", "label",
				"label must be valid UTF-8 text of up to %d "
				"characters",
				SHORT_TEXT_CHARS);
		return 0;
	}
	if (offer_id[0] && !lshop_id_valid(offer_id, strlen(offer_id))) {
		lshop_error_set(err, "invalid_field", "offer",
				"offer must be an offer id (1-64 of A-Z a-z "
				"0-9 . _ -)");
		return 0;
	}
	at_ms = later(at_ms, st->countdown_edge_ms);
	if (st->countdown) {
		/* Replaced, not run out: its offer stays pinned. */
		ev = plan_add(out, &n, LSHOP_COUNTDOWN_ENDED);
		memcpy(ev->label, st->countdown_label, sizeof(ev->label));
		memcpy(ev->offer_id, st->countdown_offer_id,
		       sizeof(ev->offer_id));
	}
	ev = plan_add(out, &n, LSHOP_COUNTDOWN_STARTED);
	ev->ends_at_ms = at_ms + seconds * 1000;
	snprintf(ev->label, sizeof(ev->label), "%s", label);
	snprintf(ev->offer_id, sizeof(ev->offer_id), "%s", offer_id);
	return plan_stamp(out, n, at_ms);
}

size_t lshop_state_plan_countdown_stop(const lshop_state *st, int64_t at_ms,
				       lshop_event out[LSHOP_PLAN_MAX],
				       lshop_error *err)
{
	size_t n = 0;
	lshop_event *ev;

	if (!st->countdown) {
		lshop_error_set(err, "not_running", "",
				"no countdown is running, so none can be "
				"stopped");
		return 0;
	}
	/* Stopped, not run out: its offer stays pinned. */
	ev = plan_add(out, &n, LSHOP_COUNTDOWN_ENDED);
	memcpy(ev->label, st->countdown_label, sizeof(ev->label));
	memcpy(ev->offer_id, st->countdown_offer_id, sizeof(ev->offer_id));
	return plan_stamp(out, n, later(at_ms, st->countdown_edge_ms));
}

size_t lshop_state_plan_disclose(const lshop_state *st, int64_t at_ms,
				 const char *kind, const char *text,
				 const char *locale,
				 lshop_event out[LSHOP_PLAN_MAX],
				 lshop_error *err)
{
	size_t n = 0;
	lshop_event *ev;

	if (kind == NULL || !lshop_disclosure_kind_valid(kind, strlen(kind))) {
		lshop_error_set(err, "invalid_field", "kind",
				"kind must be one of ad, sponsored, affiliate, "
				"gifted, own");
		return 0;
	}
	if (text == NULL || text[0] == '\0')
		text = lshop_disclosure_text(kind, locale);
	else if (!short_text_valid(text, 0)) {
		lshop_error_set(err, "invalid_field", "text",
				"text must be valid UTF-8 text of 1 to %d "
				"characters (or left out for the default "
				"label)",
				SHORT_TEXT_CHARS);
		return 0;
	}
	if (st->pinned && st->offer.disclosure[0] &&
	    strcmp(st->offer.disclosure, kind) != 0) {
		disclosure_required(st, "kind", err);
		return 0;
	}
	at_ms = later(at_ms, st->disclosure_edge_ms);
	if (st->disclosure)
		at_ms = later(at_ms, plan_hide_shown(st, out, &n));
	ev = plan_add(out, &n, LSHOP_DISCLOSURE_SHOWN);
	snprintf(ev->kind, sizeof(ev->kind), "%s", kind);
	snprintf(ev->text, sizeof(ev->text), "%s", text);
	return plan_stamp(out, n, at_ms);
}

size_t lshop_state_plan_hide(const lshop_state *st, int64_t at_ms,
			     lshop_event out[LSHOP_PLAN_MAX], lshop_error *err)
{
	size_t n = 0;

	if (!st->disclosure) {
		lshop_error_set(err, "not_shown", "",
				"no disclosure is shown, so none can be "
				"hidden");
		return 0;
	}
	if (st->pinned && st->offer.disclosure[0]) {
		disclosure_required(st, "", err);
		return 0;
	}
	at_ms = later(at_ms, plan_hide_shown(st, out, &n));
	return plan_stamp(out, n, at_ms);
}

/*
 * The clock. A countdown tied to an offer unpins it as it runs out, if
 * the offer is still pinned then; a pin with an end unpins itself. The
 * earlier of the two goes first, and an offer is unpinned once.
 */
/* The poll.ended of the running poll (zero counts: the host's to fill). */
static size_t plan_end_poll(const lshop_state *st, lshop_event *out,
			    size_t *n, int64_t at_ms)
{
	lshop_event *ev = plan_add(out, n, LSHOP_POLL_ENDED);

	memcpy(ev->poll.id, st->poll.id, sizeof(ev->poll.id));
	ev->poll.options_n = st->poll.options_n;
	ev->at_ms = later(at_ms, st->poll_edge_ms);
	return *n;
}

static size_t due_timeline(const lshop_state *st, int64_t now_ms,
			   lshop_event out[LSHOP_PLAN_MAX]);

/*
 * A poll that ran out ends by itself; when a countdown or a pin is due
 * too, the earlier goes first and the other on the next call.
 */
size_t lshop_state_due(const lshop_state *st, int64_t now_ms,
		       lshop_event out[LSHOP_PLAN_MAX])
{
	size_t n = 0;
	int64_t other = timeline_next_due(st);

	if (st->poll_live && st->poll.ends_at_ms <= now_ms &&
	    (other == 0 || other > now_ms || st->poll.ends_at_ms <= other))
		return plan_end_poll(st, out, &n, st->poll.ends_at_ms);
	return due_timeline(st, now_ms, out);
}

static size_t due_timeline(const lshop_state *st, int64_t now_ms,
			   lshop_event out[LSHOP_PLAN_MAX])
{
	int countdown_due = st->countdown && st->countdown_ends_at_ms <= now_ms;
	int pin_due =
	    st->pinned && st->pin_until_ms != 0 && st->pin_until_ms <= now_ms;
	int64_t at_ms;
	size_t n = 0, from;
	lshop_event *ev;

	if (pin_due &&
	    (!countdown_due || st->pin_until_ms < st->countdown_ends_at_ms)) {
		at_ms = later(st->pin_until_ms, plan_end_pin(st, out, &n));
		plan_stamp(out, n, at_ms);
		/* The countdown no longer finds its offer pinned. */
		if (!countdown_due)
			return n;
		from = n;
		ev = plan_add(out, &n, LSHOP_COUNTDOWN_ENDED);
		memcpy(ev->label, st->countdown_label, sizeof(ev->label));
		memcpy(ev->offer_id, st->countdown_offer_id,
		       sizeof(ev->offer_id));
		at_ms = later(st->countdown_ends_at_ms, st->countdown_edge_ms);
		return from + plan_stamp(out + from, n - from, at_ms);
	}
	if (!countdown_due)
		return 0;
	ev = plan_add(out, &n, LSHOP_COUNTDOWN_ENDED);
	memcpy(ev->label, st->countdown_label, sizeof(ev->label));
	memcpy(ev->offer_id, st->countdown_offer_id, sizeof(ev->offer_id));
	at_ms = later(st->countdown_ends_at_ms, st->countdown_edge_ms);
	if (st->pinned && st->countdown_offer_id[0] &&
	    strcmp(st->countdown_offer_id, st->offer.id) == 0) {
		at_ms = later(at_ms, plan_end_pin(st, out, &n));
		return plan_stamp(out, n, at_ms);
	}
	plan_stamp(out, n, at_ms);
	if (!pin_due)
		return n;
	/* Both due, the countdown first and not tied to the pin. */
	from = n;
	at_ms = later(st->pin_until_ms, plan_end_pin(st, out, &n));
	return from + plan_stamp(out + from, n - from, at_ms);
}

size_t lshop_state_plan_show_start(const lshop_state *st,
				   const lshop_show *show, int64_t at_ms,
				   lshop_event out[LSHOP_PLAN_MAX],
				   lshop_error *err)
{
	size_t n = 0;
	lshop_event *ev;

	if (!show->id[0] || !show->title[0]) {
		lshop_error_set(err, "invalid_field", "show",
				"a show needs an id and a title to start");
		return 0;
	}
	if (st->show_live) {
		ev = plan_add(out, &n, LSHOP_SHOW_ENDED);
		memcpy(ev->show.id, st->show.id, sizeof(ev->show.id));
	}
	ev = plan_add(out, &n, LSHOP_SHOW_STARTED);
	ev->show = *show;
	return plan_stamp(out, n, later(at_ms, st->show_at_ms));
}

size_t lshop_state_plan_show_end(const lshop_state *st, const char *show_id,
				 int64_t at_ms, lshop_event out[LSHOP_PLAN_MAX],
				 lshop_error *err)
{
	size_t n = 0;
	lshop_event *ev;

	if (!st->show_live) {
		lshop_error_set(err, "not_live", "",
				"no show is on air, so none can end");
		return 0;
	}
	if (show_id != NULL && show_id[0] && strcmp(show_id, st->show.id)) {
		lshop_error_set(err, "not_live", "",
				"show \"%.64s\" is not on air; \"%.64s\" is",
				show_id, st->show.id);
		return 0;
	}
	ev = plan_add(out, &n, LSHOP_SHOW_ENDED);
	memcpy(ev->show.id, st->show.id, sizeof(ev->show.id));
	return plan_stamp(out, n, later(at_ms, st->show_at_ms));
}

int64_t lshop_state_next_due(const lshop_state *st)
{
	int64_t next = timeline_next_due(st);

	if (st->poll_live && (next == 0 || st->poll.ends_at_ms < next))
		next = st->poll.ends_at_ms;
	return next;
}

size_t lshop_state_plan_question_pin(const lshop_state *st,
				     const lshop_question *q, int64_t at_ms,
				     lshop_event out[LSHOP_PLAN_MAX],
				     lshop_error *err)
{
	size_t n = 0;
	lshop_event *ev;

	if (!lshop_id_valid(q->id, strlen(q->id)) ||
	    !lshop_viewer_text_valid(q->text, strlen(q->text), 1,
				     LSHOP_QUESTION_CHARS) ||
	    !lshop_viewer_text_valid(q->name, strlen(q->name), 0,
				     LSHOP_VIEWER_NAME_CHARS) ||
	    !lshop_viewer_text_valid(q->answer, strlen(q->answer), 0,
				     LSHOP_QUESTION_CHARS)) {
		lshop_error_set(err, "invalid_field", "question",
				"a question needs an id, a text of 1-%d "
				"characters and clean viewer text throughout",
				LSHOP_QUESTION_CHARS);
		return 0;
	}
	if (st->question_pinned) {
		ev = plan_add(out, &n, LSHOP_QUESTION_UNPINNED);
		memcpy(ev->question.id, st->question.id,
		       sizeof(ev->question.id));
	}
	ev = plan_add(out, &n, LSHOP_QUESTION_PINNED);
	ev->question = *q;
	return plan_stamp(out, n, later(at_ms, st->question_edge_ms));
}

size_t lshop_state_plan_question_unpin(const lshop_state *st, int64_t at_ms,
				       lshop_event out[LSHOP_PLAN_MAX],
				       lshop_error *err)
{
	size_t n = 0;
	lshop_event *ev;

	if (!st->question_pinned) {
		lshop_error_set(err, "not_pinned", "",
				"no question is pinned, so none can be "
				"unpinned");
		return 0;
	}
	ev = plan_add(out, &n, LSHOP_QUESTION_UNPINNED);
	memcpy(ev->question.id, st->question.id, sizeof(ev->question.id));
	return plan_stamp(out, n, later(at_ms, st->question_edge_ms));
}

size_t lshop_state_plan_poll_start(const lshop_state *st,
				   const lshop_poll *poll, int64_t seconds,
				   int64_t at_ms,
				   lshop_event out[LSHOP_PLAN_MAX],
				   lshop_error *err)
{
	size_t n = 0;
	int i, ok;
	lshop_event *ev;

	ok = lshop_id_valid(poll->id, strlen(poll->id)) &&
	     lshop_viewer_text_valid(poll->question, strlen(poll->question), 1,
				     LSHOP_QUESTION_CHARS) &&
	     poll->options_n >= LSHOP_POLL_OPTIONS_MIN &&
	     poll->options_n <= LSHOP_POLL_OPTIONS_MAX;
	for (i = 0; ok && i < poll->options_n; i++)
		ok = lshop_viewer_text_valid(poll->options[i],
					     strlen(poll->options[i]), 1,
					     LSHOP_POLL_OPTION_CHARS);
	if (!ok) {
		lshop_error_set(err, "invalid_field", "poll",
				"a poll needs an id, a question and %d-%d "
				"options of clean viewer text",
				LSHOP_POLL_OPTIONS_MIN, LSHOP_POLL_OPTIONS_MAX);
		return 0;
	}
	if (seconds < LSHOP_POLL_SECONDS_MIN ||
	    seconds > LSHOP_POLL_SECONDS_MAX) {
		lshop_error_set(err, "invalid_field", "seconds",
				"seconds must be %d-%d", LSHOP_POLL_SECONDS_MIN,
				LSHOP_POLL_SECONDS_MAX);
		return 0;
	}
	at_ms = later(at_ms, st->poll_edge_ms);
	if (st->poll_live)
		plan_end_poll(st, out, &n, at_ms);
	ev = plan_add(out, &n, LSHOP_POLL_STARTED);
	ev->poll = *poll;
	memset(ev->poll.counts, 0, sizeof(ev->poll.counts));
	ev->poll.ends_at_ms = at_ms + seconds * 1000;
	return plan_stamp(out, n, at_ms);
}

size_t lshop_state_plan_poll_end(const lshop_state *st, const char *poll_id,
				 int64_t at_ms, lshop_event out[LSHOP_PLAN_MAX],
				 lshop_error *err)
{
	size_t n = 0;

	if (!st->poll_live ||
	    (poll_id != NULL && poll_id[0] && strcmp(poll_id, st->poll.id))) {
		lshop_error_set(err, "not_running", "",
				"poll \"%.64s\" is not running", poll_id != NULL &&
				poll_id[0] ? poll_id : "(any)");
		return 0;
	}
	return plan_end_poll(st, out, &n, at_ms);
}

size_t lshop_stock_events(const char *offer_id, int64_t old_stock,
			  int64_t new_stock, int64_t at_ms, lshop_event out[2])
{
	size_t n = 0;

	if (new_stock == LSHOP_STOCK_UNLIMITED || new_stock == old_stock)
		return 0;
	memset(&out[0], 0, sizeof(out[0]));
	out[0].type = LSHOP_STOCK_CHANGED;
	out[0].at_ms = at_ms;
	snprintf(out[0].offer_id, sizeof(out[0].offer_id), "%s", offer_id);
	out[0].stock = new_stock;
	n = 1;
	if (new_stock == 0) {
		out[1] = out[0];
		out[1].type = LSHOP_OFFER_SOLD_OUT;
		out[1].stock = 0;
		n = 2;
	}
	return n;
}

static json_t *interval_id(const char *stream, uint64_t seq)
{
	char id[LSHOP_STREAM_MAX + 24];

	lshop_event_id(id, sizeof(id), stream, seq);
	return json_string(id);
}

static json_t *pinned_json(const lshop_state *st, const char *stream)
{
	json_t *v;

	if (!st->pinned)
		return json_null();
	v = json_object();
	if (v == NULL ||
	    lshop_json_set(v, "id", interval_id(stream, st->pin_seq)) ||
	    lshop_json_set(v, "since", lshop_json_time(st->pin_at_ms)) ||
	    (st->pin_until_ms != 0 &&
	     lshop_json_set(v, "until", lshop_json_time(st->pin_until_ms))) ||
	    lshop_json_set(v, "offer", lshop_offer_json(&st->offer))) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static json_t *countdown_json(const lshop_state *st, const char *stream)
{
	json_t *v;

	if (!st->countdown)
		return json_null();
	v = json_object();
	if (v == NULL ||
	    lshop_json_set(v, "id", interval_id(stream, st->countdown_seq)) ||
	    lshop_json_set(v, "since", lshop_json_time(st->countdown_at_ms)) ||
	    lshop_json_set(v, "ends_at",
			   lshop_json_time(st->countdown_ends_at_ms)) ||
	    lshop_json_set(v, "label", json_string(st->countdown_label)) ||
	    (st->countdown_offer_id[0] &&
	     lshop_json_set(v, "offer_id",
			    json_string(st->countdown_offer_id)))) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static json_t *disclosure_json(const lshop_state *st, const char *stream)
{
	json_t *v;

	if (!st->disclosure)
		return json_null();
	v = json_object();
	if (v == NULL ||
	    lshop_json_set(v, "id", interval_id(stream, st->disclosure_seq)) ||
	    lshop_json_set(v, "since", lshop_json_time(st->disclosure_at_ms)) ||
	    lshop_json_set(v, "kind", json_string(st->disclosure_kind)) ||
	    lshop_json_set(v, "text", json_string(st->disclosure_text))) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static json_t *show_json(const lshop_state *st, const char *stream)
{
	json_t *v;

	if (!st->show_live)
		return json_null();
	v = json_object();
	if (v == NULL ||
	    lshop_json_set(v, "id", interval_id(stream, st->show_seq)) ||
	    lshop_json_set(v, "since", lshop_json_time(st->show_at_ms)) ||
	    lshop_json_set(v, "show", lshop_show_object(&st->show))) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static json_t *question_json(const lshop_state *st, const char *stream)
{
	json_t *v;

	if (!st->question_pinned)
		return json_null();
	v = json_object();
	if (v == NULL ||
	    lshop_json_set(v, "id", interval_id(stream, st->question_seq)) ||
	    lshop_json_set(v, "since", lshop_json_time(st->question_at_ms)) ||
	    lshop_json_set(v, "question",
			   lshop_question_object(&st->question))) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static json_t *poll_json(const lshop_state *st, const char *stream)
{
	json_t *v;

	if (!st->poll_live)
		return json_null();
	v = json_object();
	if (v == NULL ||
	    lshop_json_set(v, "id", interval_id(stream, st->poll_seq)) ||
	    lshop_json_set(v, "since", lshop_json_time(st->poll_at_ms)) ||
	    lshop_json_set(v, "poll", lshop_poll_object(&st->poll)) ||
	    lshop_json_set(v, "counts", lshop_poll_counts_json(&st->poll))) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static json_t *stock_json(const lshop_stock_entry *stock, size_t nstock)
{
	json_t *v = json_object();
	size_t i;

	if (v == NULL)
		return NULL;
	for (i = 0; stock != NULL && i < nstock; i++) {
		if (stock[i].offer_id == NULL || stock[i].stock < 0)
			continue;
		if (lshop_json_set(v, stock[i].offer_id,
				   json_integer(stock[i].stock))) {
			json_decref(v);
			return NULL;
		}
	}
	return v;
}

char *lshop_state_to_json(const lshop_state *st, const char *stream,
			  int64_t now_ms, const lshop_stock_entry *stock,
			  size_t nstock, size_t *len)
{
	json_t *v;
	char *out;

	if (st->seq > INT64_MAX)
		return NULL;
	v = json_object();
	if (v == NULL)
		return NULL;
	if (lshop_json_set(v, "stream", json_string(stream)) ||
	    lshop_json_set(v, "seq", json_integer((json_int_t)st->seq)) ||
	    lshop_json_set(v, "at", lshop_json_time(now_ms)) ||
	    lshop_json_set(v, "pinned", pinned_json(st, stream)) ||
	    lshop_json_set(v, "countdown", countdown_json(st, stream)) ||
	    lshop_json_set(v, "disclosure", disclosure_json(st, stream)) ||
	    lshop_json_set(v, "show", show_json(st, stream)) ||
	    lshop_json_set(v, "question", question_json(st, stream)) ||
	    lshop_json_set(v, "poll", poll_json(st, stream)) ||
	    lshop_json_set(v, "viewers",
			   json_integer(st->viewers > 0 ? st->viewers : 0)) ||
	    lshop_json_set(v, "stock", stock_json(stock, nstock))) {
		json_decref(v);
		return NULL;
	}
	out = lshop_json_dump(v, len);
	json_decref(v);
	return out;
}
