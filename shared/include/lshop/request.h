/*
 * liveshop core: bodies of the control calls of SPEC §5.
 */
#ifndef LSHOP_REQUEST_H
#define LSHOP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "event.h"
#include "offer.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LSHOP_PIN_DURATION_MAX 86400 /* s */
#define LSHOP_AT_PAST_MAX      10000 /* ms: SPEC §5, "at" ≤ 10 s past */
#define LSHOP_AT_FUTURE_MAX    1000  /* ms of clock skew we accept */

typedef struct lshop_pin_request {
	char offer_id[LSHOP_ID_MAX + 1];
	int64_t duration_s; /* 0 = until unpinned */
	int64_t at_ms;      /* when the host pressed the key; now if absent */
} lshop_pin_request;

/*
 * Parses {"offer":"ID","duration":120,"at":"…"}: offer required (a valid
 * id), duration optional (whole seconds, 1..LSHOP_PIN_DURATION_MAX), at
 * optional (RFC 3339, at most 10 s before now_ms and 1 s after). Unknown
 * fields are an error. Returns 0, or -1 with err naming the field.
 */
int lshop_pin_request_parse(const char *json, size_t len, int64_t now_ms,
			    lshop_pin_request *req, lshop_error *err);

typedef struct lshop_countdown_request {
	int64_t seconds;
	char label[LSHOP_LABEL_MAX + 1]; /* "" when absent */
	char offer_id[LSHOP_ID_MAX + 1]; /* "" when absent */
	int64_t at_ms;
} lshop_countdown_request;

/*
 * Parses {"seconds":300,"label":"…","offer":"ID","at":"…"}: seconds
 * required (whole, 1..86400), label optional (0-60 characters), offer
 * optional (an id), at as for a pin. Returns 0, or -1 with err naming
 * the field.
 */
int lshop_countdown_request_parse(const char *json, size_t len, int64_t now_ms,
				  lshop_countdown_request *req,
				  lshop_error *err);

typedef struct lshop_disclosure_request {
	char kind[16];
	char text[LSHOP_DISCLOSURE_TEXT_MAX + 1]; /* "": the default label */
	int64_t at_ms;
} lshop_disclosure_request;

/*
 * Parses {"kind":"ad","text":"Anzeige","at":"…"}: kind required (a
 * disclosure kind), text optional (1-60 characters), at as for a pin.
 * Returns 0, or -1 with err naming the field.
 */
int lshop_disclosure_request_parse(const char *json, size_t len, int64_t now_ms,
				   lshop_disclosure_request *req,
				   lshop_error *err);

/*
 * Parses the optional body of unpin and of hiding a disclosure:
 * {"at":"…"} (at as for a pin) or nothing at all (len 0: now_ms).
 * Returns 0 and sets *at_ms, or -1 with err naming the field.
 */
int lshop_moment_request_parse(const char *json, size_t len, int64_t now_ms,
			       int64_t *at_ms, lshop_error *err);

/*
 * Parses the optional body of starting and of ending a show (SPEC §14):
 * {"show":"ID","at":"…"} (both optional; at as for a pin) or nothing at
 * all. show_id (LSHOP_ID_MAX + 1 bytes) receives the id, "" when absent.
 * Returns 0, or -1 with err naming the field; nothing written on error.
 */
int lshop_show_request_parse(const char *json, size_t len, int64_t now_ms,
			     char *show_id, int64_t *at_ms, lshop_error *err);

/* A beacon of the player (SPEC §14). */
typedef struct lshop_beacon_request {
	int click; /* 0: an impression */
	char offer_id[LSHOP_ID_MAX + 1];
	char session[65];
} lshop_beacon_request;

/*
 * Parses {"type":"impression"|"click","offer":"ID","session":"SID"}: all
 * three required, session as lshop_session_valid says. Returns 0, or -1
 * with err naming the field; *req is only written on success.
 */
int lshop_beacon_request_parse(const char *json, size_t len,
			       lshop_beacon_request *req, lshop_error *err);

#ifdef __cplusplus
}
#endif

#endif
