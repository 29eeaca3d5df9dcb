/*
 * live-shop OBS plugin: Server-Sent Events, parsed as the WHATWG HTML
 * standard's "event stream interpretation" says: lines end with CRLF, LF
 * or CR; a blank line dispatches; "data" lines join with LF; a line
 * starting with ':' is a comment; one space after the colon is dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "shop-sse.h"

void shop_sse_init(shop_sse *p)
{
	memset(p, 0, sizeof(*p));
}

void shop_sse_reset(shop_sse *p)
{
	free(p->line);
	free(p->data);
	shop_sse_init(p);
}

static int grow(char **buf, size_t *cap, size_t need)
{
	size_t n = *cap ? *cap : 256;
	char *b;

	if (need > SHOP_SSE_LINE_MAX + 1)
		return -1;
	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	b = realloc(*buf, n);
	if (b == NULL)
		return -1;
	*buf = b;
	*cap = n;
	return 0;
}

static void copy_value(char *out, size_t cap, const char *v, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(out, v, len);
	out[len] = '\0';
}

static int line(shop_sse *p, shop_sse_message_fn fn, void *ctx)
{
	const char *l = p->line, *colon, *v;
	size_t n = p->len, flen, vlen;

	if (n == 0) {
		if (p->have_data) {
			/* the last data line's LF is not part of the data */
			p->data_len--;
			p->data[p->data_len] = '\0';
			fn(ctx, p->event, p->id, p->data, p->data_len);
		}
		p->have_data = 0;
		p->data_len = 0;
		p->event[0] = '\0';
		return 0;
	}
	if (l[0] == ':') {
		p->comments++;
		return 0;
	}
	colon = memchr(l, ':', n);
	flen = colon ? (size_t)(colon - l) : n;
	v = colon ? colon + 1 : l + n;
	vlen = (size_t)(l + n - v);
	if (vlen > 0 && v[0] == ' ') {
		v++;
		vlen--;
	}
	if (flen == 4 && memcmp(l, "data", 4) == 0) {
		if (grow(&p->data, &p->data_cap, p->data_len + vlen + 2))
			return -1;
		memcpy(p->data + p->data_len, v, vlen);
		p->data_len += vlen;
		p->data[p->data_len++] = '\n';
		p->data[p->data_len] = '\0';
		p->have_data = 1;
	} else if (flen == 5 && memcmp(l, "event", 5) == 0) {
		copy_value(p->event, sizeof(p->event), v, vlen);
	} else if (flen == 2 && memcmp(l, "id", 2) == 0) {
		/* an id holding NUL is ignored, as the standard says */
		if (memchr(v, '\0', vlen) == NULL)
			copy_value(p->id, sizeof(p->id), v, vlen);
	}
	/* "retry" and unknown fields: nothing to do */
	return 0;
}

int shop_sse_feed(shop_sse *p, const char *buf, size_t len,
		  shop_sse_message_fn fn, void *ctx)
{
	size_t i;
	char c;

	for (i = 0; i < len; i++) {
		c = buf[i];
		if (c == '\n' && p->after_cr) {
			p->after_cr = 0;
			continue;
		}
		p->after_cr = c == '\r';
		if (c == '\n' || c == '\r') {
			if (line(p, fn, ctx))
				goto fail;
			p->len = 0;
			continue;
		}
		if (grow(&p->line, &p->cap, p->len + 2))
			goto fail;
		p->line[p->len++] = c;
		p->line[p->len] = '\0';
	}
	return 0;
fail:
	shop_sse_reset(p);
	return -1;
}
