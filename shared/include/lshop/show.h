/*
 * liveshop core: shows (SPEC §14), their recurrence and their calendar.
 *
 * A scheduled show is what PUT …/shows/ID stores: a title, a start, a
 * duration and optionally a recurrence rule (a subset of RFC 5545 RRULE),
 * the offers it teases and a commission. A broadcast is one show on air:
 * what publishing the stream starts (lshop_show_broadcast) and what the
 * show.started event carries. Both are an lshop_show: plain data with no
 * pointers, so it can be copied anywhere, shared memory included.
 *
 * All times are UTC milliseconds since the Unix epoch; the recurrence is
 * computed in UTC (DTSTART = starts_at in UTC), so a weekly show at 19:00
 * UTC stays at 19:00 UTC across daylight saving changes.
 */
#ifndef LSHOP_SHOW_H
#define LSHOP_SHOW_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "offer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A scheduled show's id: 1–48 of A-Z a-z 0-9 . _ -, so that the id of
 * one of its broadcasts, "<ID>-YYYYMMDD", fits LSHOP_ID_MAX. */
#define LSHOP_SHOW_ID_MAX       48
#define LSHOP_SHOW_OFFERS_MAX   16
#define LSHOP_RRULE_MAX         200   /* bytes */
#define LSHOP_SHOW_DURATION_MIN 60    /* seconds */
#define LSHOP_SHOW_DURATION_MAX 86400 /* seconds */
/* A publish up to 30 minutes before an occurrence starts it. */
#define LSHOP_SHOW_NEAR_MS (30 * 60 * 1000)
/* The duration of an unscheduled broadcast, in seconds. */
#define LSHOP_SHOW_UNSCHEDULED_S 3600

typedef struct lshop_show {
	char id[LSHOP_ID_MAX + 1];
	/* broadcasts only: the scheduled show it comes from; "" for
	 * scheduled shows and unscheduled broadcasts */
	char series[LSHOP_ID_MAX + 1];
	char title[LSHOP_TITLE_MAX + 1]; /* 1–120 characters, no controls */
	char host[LSHOP_TITLE_MAX + 1]; /* "" when absent; 0–120 characters */
	int64_t starts_at_ms;
	int64_t duration_s; /* LSHOP_SHOW_DURATION_MIN..MAX */
	/* "" when absent; normalised: upper case, parts in the order FREQ,
	 * INTERVAL, BYDAY, BYMONTHDAY, COUNT, UNTIL, INTERVAL=1 and WKST=MO
	 * left out, BYDAY in week order MO..SU, BYMONTHDAY ascending */
	char rrule[LSHOP_RRULE_MAX + 1];
	size_t noffers;
	/* valid offer ids, no duplicates, in the order given */
	char offers[LSHOP_SHOW_OFFERS_MAX][LSHOP_ID_MAX + 1];
	/* "" when absent; a decimal 0 ≤ c ≤ 1 with ≤ 4 decimals ("0.10") */
	char commission[LSHOP_PRICE_MAX + 1];
} lshop_show;

/*
 * Parses and validates a scheduled show from JSON, the PUT body of
 * SPEC §14:
 *   {"id":"…","title":"…","host":"…","starts_at":"2026-11-26T19:00:00Z",
 *    "duration":3600,"rrule":"FREQ=WEEKLY;BYDAY=TH","offers":["sku-123"],
 *    "commission":"0.10"}
 * title, starts_at and duration are required; host, rrule, offers and
 * commission optional (null is taken as absent, "" as well for host and
 * rrule). id (1–48 characters) is required unless expect_id, the id from
 * the request path, is given: a body without "id" takes it, a body with
 * another id is an error on field "id". Unknown fields (and "series",
 * which only broadcasts have) are "unknown_field". A missing required
 * field is "missing_field", any other problem "invalid_field"; err->field
 * names the field ("offers[2]" for one offer id), and an rrule problem
 * names the rule part ("rrule part BYSETPOS is not supported"). Returns
 * 0, or -1 with err set; *show is only written on success.
 *
 * The rrule is the subset of RFC 5545 §3.3.10 that shows need:
 *   FREQ=DAILY|WEEKLY|MONTHLY (required), INTERVAL=1..366,
 *   BYDAY=MO,TU,… (WEEKLY only; no numbered days like 1MO),
 *   BYMONTHDAY=1..31,… (MONTHLY only; no negative days),
 *   COUNT=1..1000 or UNTIL=YYYYMMDDTHHMMSSZ (UTC form only, not before
 *   starts_at), not both, and WKST=MO (the default, dropped).
 * Names and values are case-insensitive and a leading "RRULE:" is
 * allowed; the rule is stored normalised (see lshop_show.rrule).
 */
int lshop_show_parse(const char *json, size_t len, const char *expect_id,
		     lshop_show *show, lshop_error *err);

/*
 * The show as compact JSON, keys in the order id, series (when set),
 * title, host (when set), starts_at (RFC 3339, ms), duration, rrule (when
 * set), offers (always, maybe []), commission (when set). UTF-8 is written
 * as is. Returns a malloc'd string (caller frees) and its length in *len
 * if len is not NULL; NULL on ENOMEM.
 */
char *lshop_show_to_json(const lshop_show *show, size_t *len);

/*
 * The starts of the show's occurrences in [from_ms, to_ms), ascending:
 * at most cap of them are written to out. Returns how many were written.
 *
 * Without rrule the show has one occurrence, starts_at. With one, the
 * occurrences are those of RFC 5545 §3.8.5.3 with DTSTART = starts_at:
 * starts_at is always the first one, even when it does not match the
 * rule (BYDAY=TU with a Thursday start; "The DTSTART property value
 * always counts as the first occurrence", §3.3.10), and COUNT counts it;
 * then the rule's instances after it, at starts_at's time of day. Weeks
 * start on Monday (WKST=MO): WEEKLY;INTERVAL=2;BYDAY=TU,TH is the Tuesday
 * and Thursday of every other week from the week of starts_at. A MONTHLY
 * day a month does not have (BYMONTHDAY=31 in April, or the 31st of
 * starts_at without BYMONTHDAY) is skipped and not counted, as §3.3.10
 * says. UNTIL is inclusive.
 *
 * The work is bounded whatever the window: DAILY and WEEKLY jump to the
 * window arithmetically, so the cost is O(cap); MONTHLY jumps too when it
 * has no COUNT, and steps through at most 10000 months per call (with
 * COUNT it counts from starts_at, at most 1000 occurrences), so a rule
 * whose months rarely have its day may give fewer occurrences than it
 * has in a window far off.
 */
size_t lshop_show_occurrences(const lshop_show *show, int64_t from_ms,
			      int64_t to_ms, int64_t *out, size_t cap);

/*
 * Which scheduled show a stream published at now_ms starts: among the
 * occurrences of shows[0..n) with
 *   start - LSHOP_SHOW_NEAR_MS <= now_ms < start + duration,
 * the one whose start is nearest to now_ms (on a tie the one already
 * started, then the first in shows). Returns its index and sets
 * *occurrence_ms (if not NULL) to its start, or returns -1 when none
 * matches (*occurrence_ms untouched).
 */
long lshop_show_match(const lshop_show *shows, size_t n, int64_t now_ms,
		      int64_t *occurrence_ms);

/*
 * The broadcast a publish at now_ms starts, written to *out.
 * With scheduled (an occurrence found by lshop_show_match): a copy of it
 * with series = its id, starts_at = occurrence_ms and rrule cleared; the
 * id is the scheduled show's for a show without rrule, else
 * "<ID>-YYYYMMDD" (the UTC date of the occurrence).
 * With scheduled NULL (an unscheduled broadcast): id
 * "live-YYYYMMDD-HHMMSS" (UTC of now_ms), title default_title, starts_at
 * now_ms, duration LSHOP_SHOW_UNSCHEDULED_S, no host, offers, rrule or
 * commission. A default_title longer than 120 characters is cut to 120;
 * a NULL or empty one, or one that is not valid UTF-8 or holds control
 * characters, is replaced by "Live".
 */
void lshop_show_broadcast(const lshop_show *scheduled, int64_t occurrence_ms,
			  int64_t now_ms, const char *default_title,
			  lshop_show *out);

/* The title of an offer id, or NULL when unknown (see lshop_show_calendar). */
typedef const char *(*lshop_offer_title_fn)(void *arg, const char *offer_id);

/*
 * The RFC 5545 calendar (text/calendar) of shows[0..n) for stream
 * "APP/NAME": a VCALENDAR (VERSION:2.0, PRODID:-//liveshop//liveshop//EN,
 * CALSCALE:GREGORIAN, METHOD:PUBLISH, X-WR-CALNAME: the stream) with one
 * VEVENT per show that still has an occurrence ending after now_ms (a
 * finished single show is left out, a recurring one stays while it has
 * occurrences to come):
 *   UID "<show id>@<APP>.<NAME>.liveshop" (stable: the same show, the
 *   same UID), DTSTAMP now_ms, DTSTART and DTEND in UTC form
 *   (YYYYMMDDTHHMMSSZ, milliseconds dropped), RRULE when set, SUMMARY the
 *   title, DESCRIPTION "Host: …" and "Offers: A, B" (one line each, when
 *   there are any), URL player_url (left out when NULL, empty or not
 *   printable ASCII), and a VALARM (ACTION:DISPLAY, DESCRIPTION the title,
 *   TRIGGER:-PT15M).
 * offer_title (may be NULL: no "Offers:" line) maps an offer id to its
 * title for the DESCRIPTION; offers it returns NULL for are left out. arg
 * is passed to it as is.
 * Lines end in CRLF; TEXT values are escaped as §3.3.11 says (backslash,
 * ';', ',' and line breaks as \n; other control characters and invalid
 * UTF-8 are dropped); lines longer than 75 octets are folded (§3.1) with
 * CRLF and one space, never inside a UTF-8 sequence.
 * Returns a malloc'd string (caller frees) and its length in *len if len
 * is not NULL; NULL on ENOMEM.
 */
char *lshop_show_calendar(const lshop_show *shows, size_t n, const char *stream,
			  const char *player_url, int64_t now_ms,
			  lshop_offer_title_fn offer_title, void *arg,
			  size_t *len);

#ifdef __cplusplus
}
#endif

#endif
