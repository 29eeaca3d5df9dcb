/*
 * liveshop core: events (SPEC §3), the one thing every channel carries.
 *
 * An lshop_event is plain data: the fields that a type does not use are
 * zero / empty. Its JSON is
 *   {"seq":17,"id":"live/demo:17","type":"offer.pinned","stream":"live/demo",
 *    "at":"2026-11-24T10:00:00.123Z","data":{...}}
 */
#ifndef LSHOP_EVENT_H
#define LSHOP_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "interaction.h"
#include "offer.h"
#include "show.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lshop_event_type {
	LSHOP_OFFER_PINNED,
	LSHOP_OFFER_UNPINNED,
	LSHOP_COUNTDOWN_STARTED,
	LSHOP_COUNTDOWN_ENDED,
	LSHOP_DISCLOSURE_SHOWN,
	LSHOP_DISCLOSURE_HIDDEN,
	LSHOP_STOCK_CHANGED,
	LSHOP_OFFER_SOLD_OUT,
	LSHOP_PURCHASE_COMPLETED,
	LSHOP_SHOW_STARTED,
	LSHOP_SHOW_ENDED,
	LSHOP_QUESTION_PINNED,
	LSHOP_QUESTION_UNPINNED,
	LSHOP_POLL_STARTED,
	LSHOP_POLL_ENDED,
	LSHOP_EVENT_TYPES
} lshop_event_type;

#define LSHOP_LABEL_MAX           240 /* countdown label, bytes (≤ 60 chars) */
#define LSHOP_DISCLOSURE_TEXT_MAX 240 /* disclosure text, bytes (≤ 60 chars) \
				       */

typedef struct lshop_event {
	uint64_t seq;
	lshop_event_type type;
	int64_t at_ms;
	char stream[LSHOP_STREAM_MAX + 1];

	lshop_offer offer;               /* offer.pinned */
	int64_t until_ms;                /* offer.pinned: 0 = no end set */
	/* the other offer-related types; for disclosure.shown (optional
	 * "offer_id" in its data) the offer it is shown for */
	char offer_id[LSHOP_ID_MAX + 1];
	int64_t ends_at_ms;              /* countdown.started */
	char label[LSHOP_LABEL_MAX + 1]; /* countdown.* */
	char kind[16];                   /* disclosure.* */
	char text[LSHOP_DISCLOSURE_TEXT_MAX + 1]; /* disclosure.shown */
	int64_t stock;                            /* stock.changed */
	int64_t quantity;                         /* purchase.completed */
	/* show.started: the broadcast (SPEC §14); show.ended: its id only */
	lshop_show show;
	/* question.pinned: the question; question.unpinned: its id only */
	lshop_question question;
	/* poll.started: all but counts; poll.ended: id and counts */
	lshop_poll poll;
} lshop_event;

/* "offer.pinned", ...; NULL for a value out of range. */
const char *lshop_event_type_name(lshop_event_type type);

/* Returns 0 and sets *type, or -1 for an unknown name. */
int lshop_event_type_parse(const char *name, size_t len,
			   lshop_event_type *type);

/*
 * The DATERANGE CLASS of SPEC §7 for the intervals a type opens or closes:
 * "org.liveshop.offer" (offer.pinned/unpinned), "org.liveshop.countdown",
 * "org.liveshop.disclosure", "org.liveshop.question" (question.pinned/
 * unpinned), "org.liveshop.poll" (poll.started/ended); NULL for types
 * that make no interval.
 */
const char *lshop_event_class(lshop_event_type type);

/*
 * 1 if an event of this type opens an interval (offer.pinned,
 * countdown.started, disclosure.shown, question.pinned, poll.started); the interval lasts until the
 * event of its class that closes it.
 */
int lshop_event_opens(lshop_event_type type);

/* Writes "STREAM:SEQ" into out; returns its length. */
size_t lshop_event_id(char *out, size_t cap, const char *stream, uint64_t seq);

/*
 * The event as compact JSON (keys in the order above; data per SPEC §3;
 * UTF-8 as is). Returns a malloc'd string (caller frees), its length in
 * *len if len is not NULL; NULL on ENOMEM.
 */
char *lshop_event_to_json(const lshop_event *ev, size_t *len);

/*
 * Parses the JSON of one event (as written by lshop_event_to_json) back,
 * validating every field. Returns 0, or -1 with err set.
 */
int lshop_event_parse(const char *json, size_t len, lshop_event *ev,
		      lshop_error *err);

#ifdef __cplusplus
}
#endif

#endif
