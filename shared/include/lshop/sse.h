/*
 * liveshop core: reading Server-Sent Events (SPEC §8), the event stream
 * format of the WHATWG HTML standard ("9.2.6 Interpreting an event
 * stream"), for the clients of the events: the OBS plugin and
 * liveshopctl. No I/O: bytes go in as the network hands them over, split
 * anywhere; whole messages come out through a callback.
 *
 * What the standard says and this parser does: a UTF-8 BOM at the start
 * of a stream is skipped; lines end in CRLF, LF or CR (a CR at the end of
 * one feed and an LF at the start of the next are one line end); a line
 * starting with ':' is a comment; a line without ':' is a field name with
 * an empty value; one space after the colon is dropped; "data" values are
 * joined with LF; "event" names the type of the message; "id" sets the
 * last event ID, which persists across messages, unless its value holds
 * NUL; "retry" with only ASCII digits sets the reconnection time; other
 * fields are ignored; a blank line dispatches the message, unless it has
 * no "data" line.
 *
 * Memory is bounded: a line or a message's data over LSHOP_SSE_MAX bytes,
 * or an id over LSHOP_SSE_ID_MAX, is an error (the server is broken; the
 * connection should be closed).
 */
#ifndef LSHOP_SSE_H
#define LSHOP_SSE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LSHOP_SSE_MAX       (1024 * 1024) /* bytes of a line, of a message */
#define LSHOP_SSE_EVENT_MAX 63 /* bytes of an event type kept; more are cut */
#define LSHOP_SSE_ID_MAX    63 /* bytes of an id */

typedef struct lshop_sse lshop_sse;

/* One dispatched message; valid during the callback only. */
typedef struct lshop_sse_message {
	const char *event; /* "message" when the message names none */
	/*
	 * The last event ID: the message's own "id" field, or the one of an
	 * earlier message (it persists, as the standard says); "" when the
	 * stream has named none, or named "".
	 */
	const char *id;
	int own_id;       /* 1 when this message had an "id" field itself */
	const char *data; /* the "data" values joined with "\n", NUL-terminated
			     (it may hold NULs too) */
	size_t len;       /* bytes of data */
} lshop_sse_message;

/*
 * Called for each message; returns 0 to go on, or a positive value to
 * stop lshop_sse_feed, which then returns it.
 */
typedef int (*lshop_sse_dispatch_fn)(void *ctx, const lshop_sse_message *msg);

/* A parser at the start of a stream; NULL on ENOMEM. */
lshop_sse *lshop_sse_new(void);

/* Frees p and its buffers; NULL does nothing. */
void lshop_sse_free(lshop_sse *p);

/*
 * Reads len bytes of the stream, calling fn(ctx, msg) for each message
 * they complete. Returns 0 when all were read; what fn returned when it
 * asked to stop (the rest of buf is not read); or -1, with err filled
 * (if not NULL), when a line, a message or an id is over its limit or
 * memory runs out: p is then reset (lshop_sse_reset).
 */
int lshop_sse_feed(lshop_sse *p, const char *buf, size_t len,
		   lshop_sse_dispatch_fn fn, void *ctx, lshop_error *err);

/*
 * Starts a new stream, as on a reconnection: a partial line and message
 * are forgotten (a message is complete only once its blank line has
 * come). The last event ID and the reconnection time stay: they are the
 * event source's, what the reconnection sends back as Last-Event-ID.
 */
void lshop_sse_reset(lshop_sse *p);

/*
 * The last event ID of the messages dispatched so far ("" when none),
 * also of those without data, which are not dispatched: the value for a
 * Last-Event-ID header. Valid until the next call on p.
 */
const char *lshop_sse_last_id(const lshop_sse *p);

/* The reconnection time the stream asked for, in ms; -1 if none. */
int64_t lshop_sse_retry_ms(const lshop_sse *p);

#ifdef __cplusplus
}
#endif

#endif
