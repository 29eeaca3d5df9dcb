/*
 * liveshop core: reading Server-Sent Events, as the WHATWG HTML standard
 * interprets an event stream (9.2.6).
 */
#include <stdlib.h>
#include <string.h>

#include "lshop/sse.h"

#define BOM_PAST (-1) /* the start of the stream is behind */

static const char bom[3] = {'\xef', '\xbb', '\xbf'};

struct lshop_sse {
	char *line; /* a line cut by the end of a feed, without its end */
	size_t line_len, line_cap;
	int after_cr; /* the last feed ended in CR: a leading LF ends nothing */
	int bom;      /* bytes of a BOM read at the start, or BOM_PAST */

	char *data; /* the "data" values so far, each followed by "\n" */
	size_t data_len, data_cap;
	char event[LSHOP_SSE_EVENT_MAX + 1];
	char id_buf[LSHOP_SSE_ID_MAX + 1]; /* the standard's ID buffer */
	int own_id; /* the message being read has an "id" field */

	char last_id[LSHOP_SSE_ID_MAX + 1]; /* the standard's last event ID */
	int64_t retry_ms;
};

lshop_sse *lshop_sse_new(void)
{
	lshop_sse *p = calloc(1, sizeof(*p));

	if (p != NULL)
		p->retry_ms = -1;
	return p;
}

void lshop_sse_free(lshop_sse *p)
{
	if (p == NULL)
		return;
	free(p->line);
	free(p->data);
	free(p);
}

void lshop_sse_reset(lshop_sse *p)
{
	/* the buffers are kept for the next stream: no allocation per
	 * reconnection */
	p->line_len = 0;
	p->after_cr = 0;
	p->bom = 0;
	p->data_len = 0;
	p->event[0] = '\0';
	/* a stream's ID buffer starts empty; the last event ID is the
	 * event source's and stays until the new stream dispatches */
	p->id_buf[0] = '\0';
	p->own_id = 0;
}

const char *lshop_sse_last_id(const lshop_sse *p)
{
	return p->last_id;
}

int64_t lshop_sse_retry_ms(const lshop_sse *p)
{
	return p->retry_ms;
}

/* Appends n bytes to *buf, keeping room for a NUL; -1 past max bytes. */
static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n,
		  size_t max)
{
	size_t c;
	char *b;

	if (n > max - *len)
		return -1;
	if (*len + n + 1 > *cap) {
		c = *cap ? *cap : 256;
		while (c < *len + n + 1)
			c *= 2;
		b = realloc(*buf, c);
		if (b == NULL)
			return -1;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

static int dispatch(lshop_sse *p, lshop_sse_dispatch_fn fn, void *ctx)
{
	lshop_sse_message msg;
	int rc = 0;

	/* the last event ID moves even when nothing is dispatched */
	memcpy(p->last_id, p->id_buf, sizeof(p->last_id));
	if (p->data_len > 0) {
		/* the "\n" after the last value is no part of the data */
		p->data[--p->data_len] = '\0';
		msg.event = p->event[0] ? p->event : "message";
		msg.id = p->last_id;
		msg.own_id = p->own_id;
		msg.data = p->data;
		msg.len = p->data_len;
		if (fn != NULL)
			rc = fn(ctx, &msg);
	}
	p->data_len = 0;
	p->event[0] = '\0';
	p->own_id = 0;
	return rc;
}

static void retry(lshop_sse *p, const char *v, size_t len)
{
	int64_t ms = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return; /* not only ASCII digits: ignored */
	}
	if (len == 0)
		return;
	for (i = 0; i < len; i++) {
		if (ms > (INT64_MAX - 9) / 10) {
			ms = INT64_MAX;
			break;
		}
		ms = ms * 10 + (v[i] - '0');
	}
	p->retry_ms = ms;
}

static int field(lshop_sse *p, const char *line, size_t len, lshop_error *err)
{
	const char *colon = memchr(line, ':', len);
	const char *v = line + len;
	size_t name_len = len, vlen = 0;

	if (colon != NULL) {
		name_len = (size_t)(colon - line);
		v = colon + 1;
		vlen = len - name_len - 1;
		if (vlen > 0 && v[0] == ' ') {
			v++;
			vlen--;
		}
	}
	if (name_len == 4 && memcmp(line, "data", 4) == 0) {
		/* the joined data, once the last "\n" goes, within the limit */
		if (vlen > LSHOP_SSE_MAX - p->data_len) {
			lshop_error_set(err, "too_long", "data",
					"a message's data is over %d bytes",
					LSHOP_SSE_MAX);
			return -1;
		}
		if (append(&p->data, &p->data_len, &p->data_cap, v, vlen,
			   LSHOP_SSE_MAX + 1) != 0 ||
		    append(&p->data, &p->data_len, &p->data_cap, "\n", 1,
			   LSHOP_SSE_MAX + 1) != 0) {
			lshop_error_set(err, "no_memory", "data",
					"out of memory");
			return -1;
		}
	} else if (name_len == 5 && memcmp(line, "event", 5) == 0) {
		/* the types the hosts know are short: a longer one is cut */
		if (vlen > LSHOP_SSE_EVENT_MAX)
			vlen = LSHOP_SSE_EVENT_MAX;
		memcpy(p->event, v, vlen);
		p->event[vlen] = '\0';
	} else if (name_len == 2 && memcmp(line, "id", 2) == 0) {
		/* the standard ignores an id holding NUL */
		if (memchr(v, '\0', vlen) != NULL)
			return 0;
		/* an id cut short would resume from the wrong place */
		if (vlen > LSHOP_SSE_ID_MAX) {
			lshop_error_set(err, "too_long", "id",
					"an id is over %d bytes",
					LSHOP_SSE_ID_MAX);
			return -1;
		}
		memcpy(p->id_buf, v, vlen);
		p->id_buf[vlen] = '\0';
		p->own_id = 1;
	} else if (name_len == 5 && memcmp(line, "retry", 5) == 0) {
		retry(p, v, vlen);
	}
	/* other fields are ignored */
	return 0;
}

static int line_done(lshop_sse *p, const char *line, size_t len,
		     lshop_sse_dispatch_fn fn, void *ctx, lshop_error *err)
{
	if (len == 0)
		return dispatch(p, fn, ctx);
	if (line[0] == ':')
		return 0; /* a comment: a keep-alive */
	return field(p, line, len, err);
}

int lshop_sse_feed(lshop_sse *p, const char *buf, size_t len,
		   lshop_sse_dispatch_fn fn, void *ctx, lshop_error *err)
{
	size_t i = 0, j, k;
	int rc;

	/* a UTF-8 BOM at the start of the stream, maybe split across feeds */
	while (p->bom != BOM_PAST && i < len) {
		if (buf[i] == bom[p->bom]) {
			i++;
			if (++p->bom == (int)sizeof(bom))
				p->bom = BOM_PAST;
			continue;
		}
		/* no BOM: what looked like its start is text */
		k = (size_t)p->bom;
		p->bom = BOM_PAST;
		if (append(&p->line, &p->line_len, &p->line_cap, bom, k,
			   LSHOP_SSE_MAX) != 0) {
			lshop_error_set(err, "no_memory", "line",
					"out of memory");
			goto fail;
		}
	}
	if (p->after_cr && i < len) {
		p->after_cr = 0;
		if (buf[i] == '\n')
			i++;
	}
	while (i < len) {
		for (j = i; j < len && buf[j] != '\n' && buf[j] != '\r'; j++)
			;
		if (j - i > LSHOP_SSE_MAX - p->line_len) {
			lshop_error_set(err, "too_long", "line",
					"a line is over %d bytes",
					LSHOP_SSE_MAX);
			goto fail;
		}
		if (j == len || p->line_len > 0) {
			if (append(&p->line, &p->line_len, &p->line_cap,
				   buf + i, j - i, LSHOP_SSE_MAX) != 0) {
				lshop_error_set(err, "no_memory", "line",
						"out of memory");
				goto fail;
			}
			if (j == len)
				return 0; /* the rest of the line comes later */
			rc = line_done(p, p->line, p->line_len, fn, ctx, err);
			p->line_len = 0;
		} else {
			rc = line_done(p, buf + i, j - i, fn, ctx, err);
		}
		if (buf[j] == '\r') {
			if (j + 1 == len)
				p->after_cr = 1;
			else if (buf[j + 1] == '\n')
				j++;
		}
		i = j + 1;
		if (rc < 0)
			goto fail;
		if (rc > 0)
			return rc;
	}
	return 0;
fail:
	lshop_sse_reset(p);
	return -1;
}
