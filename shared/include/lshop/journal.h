/*
 * liveshop core: the journal of a stream, one record per line.
 *
 * Every event (SPEC §3) is written as its JSON on a line of its own, so
 * the journal reads like the events themselves; the catalog and the
 * checkpoints that start a rotated journal are lines of their own kinds:
 *
 *   {"seq":17,"id":"live/demo:17","type":"offer.pinned",...}   an event
 *   {"offer":{OFFER},"at":T}                                    a catalog put
 *   {"show":{SHOW},"at":T}                              a show scheduled
 *   {"show_deleted":"ID","at":T}                        a show taken off
 *   {"audience":{"show":"ID","viewers":N,...},"at":T}   an audience tally
 *                                     (lshop_journal_audience_line)
 *   {"answer":{"id":..,"question":..,"answer":..},"at":T}  a saved answer
 *   {"answer_deleted":"ID","at":T}                      one taken off
 *   {"blocked_words":["..",..],"at":T}                  the blocked words
 *   {"order":{ORDER},"provider":"shopify","at":T,"events":[EVENT,...]}
 *                                                               an order
 *   {"refund":{REFUND},"provider":"shopify","at":T}              a refund
 *   {"checkpoint":{"seq":N,"at":T,"file":F,"edges":{"offer":T,...},
 *                  "offers":[OFFER,...],"open":[EVENT,...],
 *                  "shows":[SHOW,...]}}                        a checkpoint
 *
 * A checkpoint holds everything a replay needs from before it: the seq of
 * the last event, the latest edge of each interval class (so that new
 * intervals still never overlap), the catalog, and the events that opened
 * the intervals still open and the show on air (as
 * lshop_journal_checkpoint_line writes them from a state), and the shows
 * scheduled ("shows", left out when there are none). The saved answers
 * and blocked words of SPEC §15 follow a checkpoint as lines of their own
 * (its writer appends them), and replace those before it. So a journal
 * may be cut before any checkpoint: that is
 * how it is rotated. "file" numbers the journal files of a stream: the
 * first one, which begins without a checkpoint, is 0; each rotation
 * begins the next.
 *
 * An order line holds the canonical order (its items with "oversold"),
 * the provider it came from and its delivery id, and the events it made:
 * one line, so an order and its effects are journalled together or not at
 * all; replay applies its events like event lines. A refund line holds
 * the canonical refund ("type":"order.refunded", its items the amounts
 * refunded so far, without "oversold"): it makes no event and changes
 * no state; replay hands it to ops->order with order->refund set. A
 * journal from before refunds has none, and reads as it did.
 *
 * Every line ends with "\n". A last line without one is a write that a
 * crash cut short: replay skips it and says so.
 */
#ifndef LSHOP_JOURNAL_H
#define LSHOP_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "audience.h"
#include "event.h"
#include "offer.h"
#include "state.h"
#include "webhook.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The line of a catalog put, "\n" included; malloc'd, NULL on ENOMEM. */
char *lshop_journal_offer_line(const lshop_offer *offer, int64_t at_ms,
			       size_t *len);

/* The line of a show scheduled (SPEC §14); malloc'd, NULL on ENOMEM. */
char *lshop_journal_show_line(const lshop_show *show, int64_t at_ms,
			      size_t *len);

/* The lines of a saved answer, of one taken off, and of the blocked
 * words (SPEC §15); malloc'd, NULL on ENOMEM. */
char *lshop_journal_answer_line(const lshop_saved_answer *answer,
				int64_t at_ms, size_t *len);
char *lshop_journal_answer_deleted_line(const char *id, int64_t at_ms,
					size_t *len);
char *lshop_journal_blocked_words_line(const lshop_blocked_words *words,
				       int64_t at_ms, size_t *len);

/* The line of a scheduled show taken off; malloc'd, NULL on ENOMEM. */
char *lshop_journal_show_deleted_line(const char *id, int64_t at_ms,
				      size_t *len);

/* The line of an event: its JSON and "\n"; malloc'd, NULL on ENOMEM. */
char *lshop_journal_event_line(const lshop_event *ev, size_t *len);

/*
 * The line of an accepted order and the events[0..nevents) it made (their
 * seq set); of a refund (order->refund) the refund line, without events.
 * Malloc'd, "\n" included, NULL on ENOMEM.
 */
char *lshop_journal_order_line(const lshop_order *order, lshop_provider p,
			       int64_t at_ms, const lshop_event *events,
			       size_t nevents, size_t *len);

/*
 * The checkpoint line that begins journal file number file (≥ 1) of a
 * stream whose state is st, whose catalog is offers[0..noffers) and
 * whose schedule is shows[0..nshows);
 * malloc'd, "\n" included, NULL on ENOMEM.
 */
char *lshop_journal_checkpoint_line(const lshop_state *st, const char *stream,
				    int64_t at_ms, int64_t file,
				    const lshop_offer *offers, size_t noffers,
				    const lshop_show *shows, size_t nshows,
				    size_t *len);

/*
 * The number of the journal file in buf[0..len): its first line's
 * checkpoint "file", 0 for a file that does not begin with a checkpoint.
 */
int64_t lshop_journal_file(const char *buf, size_t len);

/* What a replay hands its caller, record by record. */
typedef struct lshop_replay_ops {
	void *arg;
	/*
	 * A catalog put (also each offer of a checkpoint, after
	 * checkpoint() was called). Returns 0, or -1 to stop the replay.
	 */
	int (*offer)(void *arg, const lshop_offer *offer, int64_t at_ms);
	/*
	 * A checkpoint, beginning journal file number file: the catalog
	 * and the schedule so far are replaced by the offers and shows
	 * that follow. May be NULL.
	 */
	int (*checkpoint)(void *arg, uint64_t seq, int64_t file);
	/*
	 * An order line, before its events go to event(); also a refund
	 * line, with order->refund set (and no event). May be NULL.
	 */
	int (*order)(void *arg, const lshop_order *order, lshop_provider p,
		     int64_t at_ms);
	/*
	 * An event, once applied to the state; json is its line without
	 * "\n". Events a checkpoint re-lists come here too, with
	 * restored = 1. Returns 0, or -1 to stop the replay.
	 */
	int (*event)(void *arg, const lshop_event *ev, const char *json,
		     size_t len, int restored);
	/*
	 * A show scheduled (also each show of a checkpoint), or, with
	 * show NULL, the show deleted_id taken off the schedule. May be
	 * NULL.
	 */
	int (*show)(void *arg, const lshop_show *show, const char *deleted_id,
		    int64_t at_ms);
	/*
	 * An audience tally (audience.h): with full 0 a sample of the
	 * viewers then, with full 1 the figures of its show so far. May be
	 * NULL.
	 */
	int (*audience)(void *arg, const lshop_audience *a, int full,
			int64_t at_ms);
	/*
	 * A saved answer put, or, with answer NULL, the answer deleted_id
	 * taken off. A checkpoint (checkpoint()) drops the answers and
	 * blocked words before it: those after it are the stream's. May be
	 * NULL.
	 */
	int (*answer)(void *arg, const lshop_saved_answer *answer,
		      const char *deleted_id, int64_t at_ms);
	/* The blocked words put. May be NULL. */
	int (*blocked_words)(void *arg, const lshop_blocked_words *words,
			     int64_t at_ms);
} lshop_replay_ops;

typedef struct lshop_replay_result {
	size_t records;  /* lines replayed */
	size_t skipped;  /* lines skipped: torn, unreadable or out of order */
	size_t torn;     /* 1 if the last line had no "\n" */
	size_t last_good; /* byte offset after the last good line */
	lshop_error first_problem; /* the first skipped line, said */
} lshop_replay_result;

/*
 * Replays the journal in buf[0..len) onto st (which the caller
 * initialised, or holds the state a previous file left), calling ops for
 * each record. A line that does not parse, or an event whose seq does not
 * follow, is skipped, counted and described in result->first_problem; the
 * replay goes on. Returns 0, or -1 if a callback stopped it (err set by
 * the caller's callback is left to the caller).
 */
int lshop_journal_replay(const char *buf, size_t len, lshop_state *st,
			 const lshop_replay_ops *ops,
			 lshop_replay_result *result);

/*
 * Catch-up: the events after a seq, without replaying everything before
 * it. Events are written in seq order, so a file is its own index:
 * lshop_journal_seek() finds where to start by bisection, reading a few
 * blocks, and lshop_journal_events() hands out what follows.
 */

/*
 * Reads up to len bytes at offset of the file being sought into buf;
 * returns the bytes read (fewer only at its end), or -1.
 */
typedef int64_t (*lshop_journal_read_fn)(void *arg, char *buf, size_t len,
					 int64_t offset);

/*
 * Where a catch-up after event seq "after" starts reading a journal file
 * of size bytes (read through read(arg, ...)): *offset is the start of
 * the line after the last event line whose seq is at most after, or 0.
 * Every event of the file with a greater seq is at or after *offset.
 * Reads about 4 KiB per halving, and leaves at most 16 KiB more than
 * needed to the read that follows.
 *
 * Returns 1 if the events after "after" begin in this file (an event of
 * seq <= after is in it, it begins with a checkpoint of seq <= after, or
 * it is the first file of its stream), 0 if some may be in the file
 * before it (read that one first, from its own seek), -1 if a read
 * failed.
 */
int lshop_journal_seek(lshop_journal_read_fn read, void *arg, int64_t size,
		       uint64_t after, int64_t *offset);

/*
 * Hands ops->event (restored 0; the other callbacks are not called) the
 * events in buf[0..len), a journal from a line's start, whose seq is
 * greater than after and less than upto, in order: those of event lines
 * and of order lines, each once (a seq not above the last one handed out
 * is passed over). No state is kept or checked: what comes before buf is
 * not needed. Stops at the first event of seq >= upto.
 *
 * result (may be NULL): records the events handed out, skipped the lines
 * that look like events but do not read, torn as lshop_journal_replay,
 * last_good the byte after the last whole line looked at.
 *
 * Returns 1 if it stopped at upto, 0 at the end of buf, -1 if a callback
 * stopped it or memory ran out.
 */
int lshop_journal_events(const char *buf, size_t len, uint64_t after,
			 uint64_t upto, const lshop_replay_ops *ops,
			 lshop_replay_result *result);

#ifdef __cplusplus
}
#endif

#endif
