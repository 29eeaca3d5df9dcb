/*
 * liveshopctl: incremental Server-Sent Events parser. Lines end in CRLF,
 * LF or CR; a CR that ends one chunk may have its LF at the start of the
 * next. A line starting with ':' is a comment (a keep-alive); a blank
 * line dispatches the message gathered so far.
 */
#include "sse.h"

#include <stdlib.h>
#include <string.h>

void ctl_sse_init(ctl_sse *p, ctl_sse_dispatch dispatch, void *ctx)
{
	memset(p, 0, sizeof(*p));
	p->dispatch = dispatch;
	p->ctx = ctx;
}

/* Appends n bytes to *buf, keeping room for a NUL; -1 past max. */
static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n,
		  size_t max)
{
	char *b;

	if (n > max - *len)
		return -1;
	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 256;

		while (c < *len + n + 1)
			c *= 2;
		b = realloc(*buf, c);
		if (!b)
			return -1;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

static void clear_message(ctl_sse *p)
{
	p->data_len = 0;
	p->event[0] = '\0';
	free(p->id);
	p->id = NULL;
}

static int dispatch(ctl_sse *p)
{
	const int has_data = p->data_len > 0; /* "data:" lines came */
	int rc = 0;

	if (has_data)
		p->data[--p->data_len] =
		    '\0'; /* the "\n" after the last line */
	if (has_data || p->id)
		rc = p->dispatch(p->ctx, p->event[0] ? p->event : "message",
				 has_data ? p->data : NULL, p->data_len, p->id);
	clear_message(p);
	return rc;
}

static int field(ctl_sse *p, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	const char *value = line + len;
	size_t name_len = len, value_len = 0;
	char *id;

	if (colon) {
		name_len = (size_t)(colon - line);
		value = colon + 1;
		value_len = len - name_len - 1;
		if (value_len > 0 && value[0] == ' ') {
			value++;
			value_len--;
		}
	}
	if (name_len == 4 && memcmp(line, "data", 4) == 0) {
		if (append(&p->data, &p->data_len, &p->data_cap, value,
			   value_len, CTL_SSE_DATA_MAX) < 0 ||
		    append(&p->data, &p->data_len, &p->data_cap, "\n", 1,
			   CTL_SSE_DATA_MAX) < 0)
			return -1;
	} else if (name_len == 5 && memcmp(line, "event", 5) == 0) {
		if (value_len > CTL_SSE_EVENT_MAX)
			value_len = CTL_SSE_EVENT_MAX;
		memcpy(p->event, value, value_len);
		p->event[value_len] = '\0';
	} else if (name_len == 2 && memcmp(line, "id", 2) == 0) {
		/* the standard ignores an id holding NUL */
		if (memchr(value, '\0', value_len))
			return 0;
		id = malloc(value_len + 1);
		if (!id)
			return -1;
		memcpy(id, value, value_len);
		id[value_len] = '\0';
		free(p->id);
		p->id = id;
	}
	/* "retry" and unknown fields are ignored: the caller paces retries */
	return 0;
}

static int line_done(ctl_sse *p, const char *line, size_t len)
{
	if (len == 0)
		return dispatch(p);
	if (line[0] == ':')
		return 0; /* a comment: a keep-alive */
	return field(p, line, len);
}

int ctl_sse_feed(ctl_sse *p, const char *buf, size_t len)
{
	size_t i = 0, j;
	int rc;

	if (p->after_cr && len > 0) {
		p->after_cr = 0;
		if (buf[0] == '\n')
			i = 1;
	}
	while (i < len) {
		for (j = i; j < len && buf[j] != '\n' && buf[j] != '\r'; j++)
			;
		if (j == len) /* no end yet: keep the start of the line */
			return append(&p->line, &p->line_len, &p->line_cap,
				      buf + i, len - i, CTL_SSE_LINE_MAX);
		if (p->line_len > 0) {
			if (append(&p->line, &p->line_len, &p->line_cap,
				   buf + i, j - i, CTL_SSE_LINE_MAX) < 0)
				return -1;
			rc = line_done(p, p->line, p->line_len);
			p->line_len = 0;
		} else {
			rc = line_done(p, buf + i, j - i);
		}
		if (buf[j] == '\r') {
			if (j + 1 == len)
				p->after_cr = 1;
			else if (buf[j + 1] == '\n')
				j++;
		}
		i = j + 1;
		if (rc)
			return rc;
	}
	return 0;
}

void ctl_sse_reset(ctl_sse *p)
{
	p->line_len = 0;
	p->after_cr = 0;
	clear_message(p);
}

void ctl_sse_free(ctl_sse *p)
{
	free(p->line);
	free(p->data);
	free(p->id);
	memset(p, 0, sizeof(*p));
}
