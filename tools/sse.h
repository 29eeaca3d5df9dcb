/*
 * liveshopctl: an incremental parser of Server-Sent Events (SPEC §8, and
 * the event stream format of the WHATWG HTML standard). Bytes go in as the
 * network hands them over, split anywhere; whole messages come out.
 */
#ifndef LIVESHOPCTL_SSE_H
#define LIVESHOPCTL_SSE_H

#include <stddef.h>

#define CTL_SSE_LINE_MAX  (16 * 1024 * 1024) /* bytes of one line */
#define CTL_SSE_DATA_MAX  (16 * 1024 * 1024) /* bytes of one message */
#define CTL_SSE_EVENT_MAX 64                 /* bytes of an event type */

/*
 * Called for each message: event is its type ("message" when it has no
 * "event:" line), data its "data:" lines joined with "\n" (NUL-terminated,
 * but may hold NULs), id the value of its "id:" line, NULL when it has
 * none. A message without data is not dispatched (the standard drops it),
 * except that one with an id comes with data NULL: its id still counts
 * as the last event id. Returns 0 to go on, anything else to stop
 * ctl_sse_feed, which then returns that value.
 */
typedef int (*ctl_sse_dispatch)(void *ctx, const char *event, const char *data,
				size_t data_len, const char *id);

typedef struct ctl_sse {
	ctl_sse_dispatch dispatch;
	void *ctx;

	char *line; /* the line so far, without its end */
	size_t line_len, line_cap;
	int after_cr; /* the last chunk ended in CR: skip a leading LF */

	char *data; /* "data:" values, each followed by "\n" */
	size_t data_len, data_cap;
	char event[CTL_SSE_EVENT_MAX + 1];
	char *id; /* malloc'd, or NULL: no "id:" in this message */
} ctl_sse;

void ctl_sse_init(ctl_sse *p, ctl_sse_dispatch dispatch, void *ctx);

/*
 * Parses len bytes. Returns 0, what dispatch returned when it asked to
 * stop, or -1 when a line or a message is longer than the limits above
 * or memory runs out (the stream is then unusable: reset it).
 */
int ctl_sse_feed(ctl_sse *p, const char *buf, size_t len);

/*
 * Forgets a partial line and message, as when a connection ends: a
 * message is only complete once its blank line has come.
 */
void ctl_sse_reset(ctl_sse *p);

void ctl_sse_free(ctl_sse *p);

#endif
