/*
 * liveshop core: the timeline of one stream. Events are applied in seq
 * order to an lshop_state; the state is what is live now (SPEC §5 "state"),
 * and the same state is rebuilt from a journal by applying its events.
 *
 * An lshop_state is plain data (no pointers): it can live in shared memory.
 */
#ifndef LSHOP_STATE_H
#define LSHOP_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "event.h"
#include "offer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lshop_state {
	uint64_t seq; /* last event applied; 0 before the first */

	int pinned;
	uint64_t pin_seq;
	int64_t pin_at_ms;
	int64_t pin_until_ms; /* 0 = until unpinned */
	lshop_offer offer;
	int64_t pin_edge_ms; /* latest start or end of a pin interval */

	int countdown;
	uint64_t countdown_seq;
	int64_t countdown_edge_ms; /* latest start or end of a countdown */
	int64_t countdown_at_ms;
	int64_t countdown_ends_at_ms;
	char countdown_label[LSHOP_LABEL_MAX + 1];
	char countdown_offer_id[LSHOP_ID_MAX + 1];

	int disclosure;
	uint64_t disclosure_seq;
	int64_t disclosure_at_ms;
	char disclosure_kind[16];
	char disclosure_text[LSHOP_DISCLOSURE_TEXT_MAX + 1];
	/* the pinned offer it is shown for; "" for a stream-wide one */
	char disclosure_offer_id[LSHOP_ID_MAX + 1];
	int64_t disclosure_edge_ms; /* latest start or end of a disclosure */
	/* the show on air (SPEC §14): from show.started to show.ended */
	int show_live;
	uint64_t show_seq;
	int64_t show_at_ms;
	lshop_show show;
	/* the pinned question (SPEC §15) */
	int question_pinned;
	uint64_t question_seq;
	int64_t question_at_ms;
	lshop_question question;
	int64_t question_edge_ms;
	/* the running poll; poll.counts is its live tally, set by the host
	 * that counts votes before it writes the state's JSON (like
	 * viewers), never by events */
	int poll_live;
	uint64_t poll_seq;
	int64_t poll_at_ms;
	lshop_poll poll;
	int64_t poll_edge_ms;
	/* viewers now (SPEC §14): set by the host before it writes the
	 * state's JSON; counted, never made by events, never journalled */
	int64_t viewers;
} lshop_state;

/* The most events one planned action or one tick of the clock makes. */
#define LSHOP_PLAN_MAX 4

/* An offer's stock as reported in the state's "stock" map. */
typedef struct lshop_stock_entry {
	const char *offer_id;
	int64_t stock; /* LSHOP_STOCK_UNLIMITED entries are left out */
} lshop_stock_entry;

void lshop_state_init(lshop_state *st);

/*
 * Applies ev, whose seq must be st->seq + 1 (else -1, "seq_gap"), and
 * whose stream is the state's. offer.pinned replaces any pinned offer;
 * offer.unpinned of an offer that is not pinned is an error
 * ("not_pinned"). On error st is unchanged.
 */
int lshop_state_apply(lshop_state *st, const lshop_event *ev, lshop_error *err);

/*
 * Planning: each lshop_state_plan_* function says which events an action
 * makes on st, in order, into out (at most LSHOP_PLAN_MAX), and returns
 * how many (0 with err set when the action is refused). Nothing changes
 * until the caller applies them; seq and stream are left for the caller.
 * Every event is stamped at_ms, moved forward to the latest edge of its
 * class, so intervals of one class never overlap (SPEC §7) even when
 * callers stamp the moment a key was pressed.
 *
 * Compliance (SPEC §3): an offer with a "disclosure" cannot be pinned
 * without that disclosure shown; the pin shows it (text from
 * lshop_disclosure_text(kind, locale)) tied to the offer
 * (disclosure_offer_id), and unpinning the offer hides a tied disclosure.
 * A disclosure shown through plan_disclose is stream-wide: it stays until
 * hidden.
 */

/*
 * Pin offer from at_ms until until_ms (0 = until unpinned; must lie after
 * the start): unpins a pinned offer first (hiding its tied disclosure),
 * shows the offer's disclosure unless one of that kind is shown, then
 * offer.pinned.
 */
size_t lshop_state_plan_pin(const lshop_state *st, const lshop_offer *offer,
			    int64_t at_ms, int64_t until_ms, const char *locale,
			    lshop_event out[LSHOP_PLAN_MAX], lshop_error *err);

/*
 * Unpin the pinned offer: offer.unpinned, then disclosure.hidden if its
 * disclosure is tied to it. Refused ("not_pinned") when nothing is
 * pinned.
 */
size_t lshop_state_plan_unpin(const lshop_state *st, int64_t at_ms,
			      lshop_event out[LSHOP_PLAN_MAX],
			      lshop_error *err);

/*
 * Start a countdown of seconds (1..86400) with label (0-60 characters,
 * valid UTF-8) and an optional offer_id ("" or NULL; when set, the offer
 * is unpinned as the countdown ends if it is pinned then; the caller
 * checks that it exists). A running countdown ends first.
 * Refused: "invalid_field" naming "seconds", "label" or "offer".
 */
size_t lshop_state_plan_countdown(const lshop_state *st, int64_t at_ms,
				  int64_t seconds, const char *label,
				  const char *offer_id,
				  lshop_event out[LSHOP_PLAN_MAX],
				  lshop_error *err);

/*
 * Stop the running countdown before it runs out: countdown.ended, and
 * its offer, if it has one, stays pinned. Refused ("not_running") when
 * none runs.
 */
size_t lshop_state_plan_countdown_stop(const lshop_state *st, int64_t at_ms,
				       lshop_event out[LSHOP_PLAN_MAX],
				       lshop_error *err);

/*
 * Show a stream-wide disclosure of kind with text (NULL or "": the
 * default text of kind in locale; else 1-60 characters, valid UTF-8). A
 * shown disclosure is hidden first. Refused: "invalid_field" ("kind",
 * "text"); "disclosure_required" when the pinned offer needs another
 * kind.
 */
size_t lshop_state_plan_disclose(const lshop_state *st, int64_t at_ms,
				 const char *kind, const char *text,
				 const char *locale,
				 lshop_event out[LSHOP_PLAN_MAX],
				 lshop_error *err);

/*
 * Hide the disclosure. Refused: "disclosure_required" while the pinned
 * offer has a disclosure (the message says which offer and why);
 * "not_shown" when none is shown.
 */
size_t lshop_state_plan_hide(const lshop_state *st, int64_t at_ms,
			     lshop_event out[LSHOP_PLAN_MAX],
			     lshop_error *err);

/*
 * What the clock makes happen by now_ms, each event stamped at its own
 * due time: countdown.ended at ends_at (then, for a countdown tied to the
 * pinned offer, offer.unpinned and the tied disclosure.hidden), and
 * offer.unpinned at a pin's until (with its tied disclosure.hidden),
 * and poll.ended at a poll's ends_at (zero counts: see plan_poll_start).
 * Returns how many events (0 when nothing is due).
 */
size_t lshop_state_due(const lshop_state *st, int64_t now_ms,
		       lshop_event out[LSHOP_PLAN_MAX]);

/*
 * Start the broadcast show (lshop_show_broadcast) at at_ms: show.started,
 * after a show.ended of a show still on air. Refused ("invalid_field",
 * "show") for a show without an id or a title.
 */
size_t lshop_state_plan_show_start(const lshop_state *st,
				   const lshop_show *show, int64_t at_ms,
				   lshop_event out[LSHOP_PLAN_MAX],
				   lshop_error *err);

/*
 * End the show on air: show.ended. Refused ("not_live") when no show is
 * on air, or when show_id (NULL or "": any) names another one.
 */
size_t lshop_state_plan_show_end(const lshop_state *st, const char *show_id,
				 int64_t at_ms, lshop_event out[LSHOP_PLAN_MAX],
				 lshop_error *err);

/*
 * Pin question q (SPEC §15): question.unpinned of a pinned one first,
 * then question.pinned. Refused ("invalid_field", "question") when q's
 * id or text is not valid, or its texts are not clean viewer text.
 */
size_t lshop_state_plan_question_pin(const lshop_state *st,
				     const lshop_question *q, int64_t at_ms,
				     lshop_event out[LSHOP_PLAN_MAX],
				     lshop_error *err);

/* Unpin the pinned question; refused ("not_pinned") when none is. */
size_t lshop_state_plan_question_unpin(const lshop_state *st, int64_t at_ms,
				       lshop_event out[LSHOP_PLAN_MAX],
				       lshop_error *err);

/*
 * Start poll (id, question and options set and valid) for seconds
 * (LSHOP_POLL_SECONDS_MIN..MAX): poll.ended of a running poll first, then
 * poll.started, whose ends_at is its stamp + seconds.
 *
 * Every poll.ended a plan (or lshop_state_due) makes carries zero counts:
 * the votes are the host's, and the host that tallies them writes the
 * counts into the event's poll.counts before applying it.
 */
size_t lshop_state_plan_poll_start(const lshop_state *st,
				   const lshop_poll *poll, int64_t seconds,
				   int64_t at_ms,
				   lshop_event out[LSHOP_PLAN_MAX],
				   lshop_error *err);

/*
 * End the running poll: poll.ended. Refused ("not_running") when none
 * runs or poll_id (NULL or "": any) names another one.
 */
size_t lshop_state_plan_poll_end(const lshop_state *st, const char *poll_id,
				 int64_t at_ms, lshop_event out[LSHOP_PLAN_MAX],
				 lshop_error *err);

/* When the clock next makes something happen on st, in ms; 0 never. */
int64_t lshop_state_next_due(const lshop_state *st);

/*
 * The events of an offer's stock going from old_stock to new_stock
 * (LSHOP_STOCK_UNLIMITED for none): a stock.changed when a limited stock
 * changes, then an offer.sold_out when it reaches 0 (SPEC §3). Returns
 * how many were written into out (0, 1 or 2).
 */
size_t lshop_stock_events(const char *offer_id, int64_t old_stock,
			  int64_t new_stock, int64_t at_ms, lshop_event out[2]);

/*
 * The state as compact JSON:
 *   {"stream":"live/demo","seq":17,"at":NOW,
 *    "pinned":{"id":"live/demo:17","since":T,"until":T?,"offer":{..}}|null,
 *    "countdown":{"id":..,"since":T,"ends_at":T,"label":..,
 *                 "offer_id":..?}|null,
 *    "disclosure":{"id":..,"since":T,"kind":..,"text":..}|null,
 *    "show":{"id":"live/demo:12","since":T,"show":{SHOW}}|null,
 *    "question":{"id":..,"since":T,"question":{"id","text","name",
 *                "answer"?}}|null,
 *    "poll":{"id":..,"since":T,"poll":{"id","question","options",
 *            "ends_at"},"counts":[N,..]}|null,
 *    "viewers":N,
 *    "stock":{"sku-123":50,...}}
 * "id" is the event id of the event that opened each interval. stock may
 * be NULL when nstock is 0. Returns a malloc'd string (caller frees), its
 * length in *len if len is not NULL; NULL on ENOMEM.
 */
char *lshop_state_to_json(const lshop_state *st, const char *stream,
			  int64_t now_ms, const lshop_stock_entry *stock,
			  size_t nstock, size_t *len);

/* An offer's stock as read back from a state's "stock" map. */
typedef struct lshop_stock_value {
	char offer_id[LSHOP_ID_MAX + 1];
	int64_t stock; /* ≥ 0 */
} lshop_stock_value;

/*
 * Parses the JSON of lshop_state_to_json back (what GET state and the
 * first SSE message carry), validating every field: st receives the
 * timeline, stream (if not NULL, LSHOP_STREAM_MAX + 1 bytes) its name,
 * stock (if not NULL) the first cap entries of the "stock" map and
 * *nstock (if not NULL) how many were written.
 *
 * The JSON keeps less than the state: the edges of each class are set to
 * the start of its open interval (0 when none is open), and whether a
 * disclosure was shown for the pinned offer is inferred from the events'
 * order (plan_pin shows it right before offer.pinned, of the offer's
 * kind) so that unpinning it plans the tied disclosure.hidden.
 * Returns 0, or -1 with err naming the field; st and stream are then
 * unchanged.
 */
int lshop_state_parse(const char *json, size_t len, lshop_state *st,
		      char *stream, lshop_stock_value *stock, size_t cap,
		      size_t *nstock, lshop_error *err);

#ifdef __cplusplus
}
#endif

#endif
