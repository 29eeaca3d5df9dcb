/*
 * live-shop OBS plugin: the reading side of Server-Sent Events (the
 * WHATWG "event stream" format, SPEC §8), fed with whatever bytes the
 * transfer delivers. No I/O: the worker feeds it, tests feed it strings.
 */
#ifndef SHOP_SSE_H
#define SHOP_SSE_H

#include <stddef.h>

/* Longest line and message kept; a server sending more is broken. */
#define SHOP_SSE_LINE_MAX (1024 * 1024)

/*
 * One dispatched message: event "" means "message"; id is the last id
 * seen on the stream (it persists across messages, as the format says);
 * data is NUL-terminated, its trailing newline removed.
 */
typedef void (*shop_sse_message_fn)(void *ctx, const char *event,
				    const char *id, const char *data,
				    size_t len);

typedef struct shop_sse {
	char *line; /* the line being read */
	size_t len, cap;
	int after_cr; /* the last byte was CR: a following LF ends nothing */
	char event[64];
	char id[64];
	char *data;
	size_t data_len, data_cap;
	int have_data;
	unsigned long comments; /* ": ping" and the like, for liveness */
} shop_sse;

void shop_sse_init(shop_sse *p);
/* Frees the buffers and starts over (a new connection). */
void shop_sse_reset(shop_sse *p);

/*
 * Reads len bytes, calling fn for every message they complete. Returns 0,
 * or -1 when a line is longer than SHOP_SSE_LINE_MAX or memory runs out
 * (the stream should then be closed; p is reset).
 */
int shop_sse_feed(shop_sse *p, const char *buf, size_t len,
		  shop_sse_message_fn fn, void *ctx);

#endif
