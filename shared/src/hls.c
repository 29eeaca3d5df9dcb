/*
 * liveshop core: HLS media playlists (SPEC §7, RFC 8216bis).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lshop/codec.h"
#include "lshop/hls.h"
#include "lshop/time.h"

#define TAG_EXTM3U    "#EXTM3U"
#define TAG_EXTINF    "#EXTINF:"
#define TAG_PDT       "#EXT-X-PROGRAM-DATE-TIME:"
#define TAG_DATERANGE "#EXT-X-DATERANGE:"
#define OUR_CLASS     "CLASS=\"org.liveshop."

/*
 * "hls_fragment_naming system" names segments by the server's clock in
 * ms: 13 or 14 digits from 2001 on. Sequence and timestamp names are far
 * smaller.
 */
#define NAME_MS_MIN INT64_C(1000000000000)
#define NAME_MS_MAX INT64_C(100000000000000)

static int id_quotable(const char *id)
{
	/* RFC 8216bis 4.2: a quoted-string cannot hold CR, LF or '"'. */
	return id != NULL && strpbrk(id, "\"\r\n") == NULL;
}

/*
 * Bytes of r's DATERANGE line with a line end of eol_len bytes, NUL
 * included; 0 if r makes no line (no class, an id that cannot be quoted,
 * or a size that does not fit).
 */
static size_t daterange_size(const lshop_range *r, size_t eol_len)
{
	size_t json_len = r->event_json ? r->event_json_len : 0;
	size_t head;

	if (lshop_event_class(r->type) == NULL || !id_quotable(r->id))
		return 0;
	/* Tag, fixed attributes, two times and the type name. */
	head = strlen(r->id) + 200 + eol_len;
	if (json_len / 3 >= (SIZE_MAX - head) / 4 - 2)
		return 0;
	return head + LSHOP_BASE64_LEN(json_len);
}

/* Writes r's line into out (daterange_size bytes); returns its length. */
static size_t daterange_write(char *out, size_t cap, const lshop_range *r,
			      const char *eol)
{
	char start[LSHOP_TIME_LEN], end[LSHOP_TIME_LEN];
	size_t json_len = r->event_json ? r->event_json_len : 0;
	size_t n;
	int h;

	lshop_time_format(start, r->start_ms);
	/* RFC 8216bis 4.4.5.1: END-DATE is not before START-DATE. */
	lshop_time_format(end,
			  r->end_ms < r->start_ms ? r->start_ms : r->end_ms);
	h = snprintf(out, cap,
		     TAG_DATERANGE
		     "ID=\"%s\",CLASS=\"%s\",START-DATE=\"%s\"%s%s"
		     "%s,X-LIVESHOP-TYPE=\"%s\",X-LIVESHOP-DATA=\"",
		     r->id, lshop_event_class(r->type), start,
		     r->end_ms ? ",END-DATE=\"" : "", r->end_ms ? end : "",
		     r->end_ms ? "\"" : "", lshop_event_type_name(r->type));
	n = (size_t)h;
	/* Base64 keeps the title's '"', CR and LF out of the quotes. */
	n += lshop_base64_encode(out + n, r->event_json, json_len, 0);
	out[n++] = '"';
	memcpy(out + n, eol, strlen(eol) + 1);
	return n + strlen(eol);
}

char *lshop_daterange_line(const lshop_range *r, size_t *len)
{
	size_t size = daterange_size(r, 1), n;
	char *out;

	if (size == 0)
		return NULL;
	out = malloc(size);
	if (out == NULL)
		return NULL;
	n = daterange_write(out, size, r, "\n");
	if (len != NULL)
		*len = n;
	return out;
}

/* One line of the input: text without its line end, and with it. */
struct line {
	const char *p;
	size_t len;
	size_t full;
};

static int next_line(const char *s, size_t len, size_t *pos, struct line *l)
{
	const char *nl;

	if (*pos >= len)
		return 0;
	l->p = s + *pos;
	nl = memchr(l->p, '\n', len - *pos);
	l->full = nl ? (size_t)(nl - l->p) + 1 : len - *pos;
	l->len = nl ? (size_t)(nl - l->p) : l->full;
	if (l->len > 0 && l->p[l->len - 1] == '\r')
		l->len--;
	*pos += l->full;
	return 1;
}

static int starts(const struct line *l, const char *tag)
{
	size_t n = strlen(tag);

	return l->len >= n && memcmp(l->p, tag, n) == 0;
}

/* RFC 8216bis 4.4.1.1: the first line is #EXTM3U (blanks after it aside). */
static int is_extm3u(const struct line *l)
{
	size_t i;

	if (!starts(l, TAG_EXTM3U))
		return 0;
	for (i = strlen(TAG_EXTM3U); i < l->len; i++)
		if (l->p[i] != ' ' && l->p[i] != '\t')
			return 0;
	return 1;
}

static int has(const struct line *l, const char *what)
{
	size_t n = strlen(what), i;

	for (i = 0; i + n <= l->len; i++)
		if (memcmp(l->p + i, what, n) == 0)
			return 1;
	return 0;
}

/* EXTINF duration "1.040," in ms, rounded; locale independent. */
static int64_t extinf_ms(const struct line *l)
{
	size_t i = strlen(TAG_EXTINF), nd = 0;
	int64_t ms = 0, scale = 100;

	while (i < l->len && l->p[i] == ' ')
		i++;
	while (i < l->len && l->p[i] >= '0' && l->p[i] <= '9' && nd++ < 9)
		ms = ms * 10 + (l->p[i++] - '0');
	ms *= 1000;
	if (i < l->len && l->p[i] == '.') {
		for (i++; i < l->len && l->p[i] >= '0' && l->p[i] <= '9'; i++) {
			if (scale == 0) {
				ms += l->p[i] >= '5';
				break;
			}
			ms += (l->p[i] - '0') * scale;
			scale /= 10;
		}
	}
	return ms;
}

/* The trailing digits of a URI's file name as a time in ms, or -1. */
static int64_t uri_ms(const struct line *l)
{
	size_t end = 0, base = 0, dot, i;
	int64_t v = 0;

	while (end < l->len && l->p[end] != '?' && l->p[end] != '#')
		end++;
	for (i = 0; i < end; i++)
		if (l->p[i] == '/')
			base = i + 1;
	dot = end;
	for (i = base; i < end; i++)
		if (l->p[i] == '.')
			dot = i;
	i = dot;
	while (i > base && l->p[i - 1] >= '0' && l->p[i - 1] <= '9')
		i--;
	if (dot - i < 13 || dot - i > 14)
		return -1;
	for (; i < dot; i++)
		v = v * 10 + (l->p[i] - '0');
	return v >= NAME_MS_MIN && v < NAME_MS_MAX ? v : -1;
}

struct seg {
	int64_t dur_ms;
	int64_t name_ms; /* -1 when the URI carries no time */
	int64_t start_ms;
};

struct range_ref {
	int64_t start_ms;
	size_t i;
};

static int range_cmp(const void *a, const void *b)
{
	const struct range_ref *x = a, *y = b;

	if (x->start_ms != y->start_ms)
		return x->start_ms < y->start_ms ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static char *copy_of(const char *s, size_t len, size_t *out_len)
{
	char *out = malloc(len + 1);

	if (out == NULL)
		return NULL;
	memcpy(out, s, len);
	out[len] = '\0';
	if (out_len != NULL)
		*out_len = len;
	return out;
}

/*
 * The playlist's segments, or 0 for a master playlist or one without
 * segments; -1 on ENOMEM.
 */
static long scan_segments(const char *m3u8, size_t len, struct seg **segs)
{
	struct line l;
	size_t pos = 0, nseg = 0, i = 0;
	int want_uri = 0;

	*segs = NULL;
	while (next_line(m3u8, len, &pos, &l)) {
		if (starts(&l, "#EXT-X-STREAM-INF") ||
		    starts(&l, "#EXT-X-I-FRAME-STREAM-INF"))
			return 0;
		nseg += starts(&l, TAG_EXTINF);
	}
	if (nseg == 0)
		return 0;
	*segs = calloc(nseg, sizeof(**segs));
	if (*segs == NULL)
		return -1;
	pos = 0;
	while (next_line(m3u8, len, &pos, &l)) {
		if (starts(&l, TAG_EXTINF)) {
			(*segs)[i].dur_ms = extinf_ms(&l);
			(*segs)[i].name_ms = -1;
			i++;
			want_uri = 1;
		} else if (want_uri && l.len > 0 && l.p[0] != '#') {
			(*segs)[i - 1].name_ms = uri_ms(&l);
			want_uri = 0;
		}
	}
	return (long)nseg;
}

/*
 * Segment starts: from the names when every name is a time and they
 * increase, else back from written_ms, the end of the last segment.
 */
static void segment_starts(struct seg *segs, size_t nseg, int64_t written_ms)
{
	size_t i;
	int named = 1;

	for (i = 0; i < nseg && named; i++)
		named = segs[i].name_ms >= 0 &&
			(i == 0 || segs[i].name_ms > segs[i - 1].name_ms);
	if (named) {
		for (i = 0; i < nseg; i++)
			segs[i].start_ms = segs[i].name_ms;
		return;
	}
	for (i = nseg; i-- > 0;)
		segs[i].start_ms =
		    (i + 1 < nseg ? segs[i + 1].start_ms : written_ms) -
		    segs[i].dur_ms;
}

struct out {
	char *p;
	size_t len;
	size_t cap;
};

/* Makes room for n more bytes. */
static int out_reserve(struct out *o, size_t n)
{
	size_t cap = o->cap;
	char *p;

	if (n < o->cap - o->len)
		return 0;
	while (n >= cap - o->len) {
		if (cap > SIZE_MAX / 2)
			return -1;
		cap *= 2;
	}
	p = realloc(o->p, cap);
	if (p == NULL)
		return -1;
	o->p = p;
	o->cap = cap;
	return 0;
}

static int out_put(struct out *o, const void *b, size_t n)
{
	if (out_reserve(o, n))
		return -1;
	memcpy(o->p + o->len, b, n);
	o->len += n;
	return 0;
}

/* The DATERANGE lines that overlap the playlist, sorted by start. */
static int daterange_lines(const lshop_range *ranges, size_t nranges,
			   int64_t first_ms, const char *eol, struct out *o)
{
	struct range_ref *refs;
	size_t i, n = 0, size;

	if (nranges == 0)
		return 0;
	if (nranges > SIZE_MAX / sizeof(*refs))
		return -1;
	refs = malloc(nranges * sizeof(*refs));
	if (refs == NULL)
		return -1;
	for (i = 0; i < nranges; i++) {
		/* Ranges that ended before the first segment are history
		 * no client can reach; open ranges are always kept. */
		if (ranges[i].end_ms != 0 && ranges[i].end_ms < first_ms)
			continue;
		if (daterange_size(&ranges[i], strlen(eol)) == 0)
			continue;
		refs[n].start_ms = ranges[i].start_ms;
		refs[n].i = i;
		n++;
	}
	qsort(refs, n, sizeof(*refs), range_cmp);
	for (i = 0; i < n; i++) {
		size = daterange_size(&ranges[refs[i].i], strlen(eol));
		if (out_reserve(o, size)) {
			free(refs);
			return -1;
		}
		o->len += daterange_write(o->p + o->len, size,
					  &ranges[refs[i].i], eol);
	}
	free(refs);
	return 0;
}

int64_t lshop_playlist_start(const char *m3u8, size_t len, int64_t written_ms)
{
	struct seg *segs;
	int64_t start;
	long nseg;

	if (m3u8 == NULL)
		return 0;
	nseg = scan_segments(m3u8, len, &segs);
	if (nseg <= 0)
		return 0;
	segment_starts(segs, (size_t)nseg, written_ms);
	start = segs[0].start_ms;
	free(segs);
	return start;
}

char *lshop_playlist_rewrite(const char *m3u8, size_t len, int64_t written_ms,
			     const lshop_range *ranges, size_t nranges,
			     size_t *out_len, lshop_error *err)
{
	char pdt[sizeof(TAG_PDT) + LSHOP_TIME_LEN];
	struct out o = {NULL, 0, 0};
	struct seg *segs;
	struct line l;
	const char *eol;
	size_t pos = 0, k = 0;
	long nseg;

	if (m3u8 == NULL || !next_line(m3u8, len, &pos, &l) || !is_extm3u(&l)) {
		lshop_error_set(err, "invalid_playlist", "",
				"a playlist must start with a line #EXTM3U "
				"(RFC 8216bis 4.4.1.1)");
		return NULL;
	}
	/* Inserted lines end like the playlist's first line. */
	eol = l.full > l.len + 1 ? "\r\n" : "\n";

	nseg = scan_segments(m3u8, len, &segs);
	if (nseg < 0)
		goto enomem;
	if (nseg == 0) {
		o.p = copy_of(m3u8, len, out_len);
		if (o.p == NULL)
			goto enomem;
		return o.p;
	}
	segment_starts(segs, (size_t)nseg, written_ms);

	o.cap = len + (size_t)nseg * sizeof(pdt) + 256;
	o.p = malloc(o.cap);
	if (o.p == NULL)
		goto enomem;
	pos = 0;
	while (next_line(m3u8, len, &pos, &l)) {
		/* Ours to write: stale dates, and our own ranges if the
		 * playlist was rewritten before. */
		if (starts(&l, TAG_PDT) ||
		    (starts(&l, TAG_DATERANGE) && has(&l, OUR_CLASS)))
			continue;
		if (starts(&l, TAG_EXTINF)) {
			memcpy(pdt, TAG_PDT, strlen(TAG_PDT));
			lshop_time_format(pdt + strlen(TAG_PDT),
					  segs[k].start_ms);
			if (out_put(&o, pdt, strlen(TAG_PDT) + 24) ||
			    out_put(&o, eol, strlen(eol)))
				goto enomem;
			/* RFC 8216bis 4.4.5.1: a playlist with DATERANGE
			 * has a PROGRAM-DATE-TIME; ours comes first. */
			if (k == 0 &&
			    daterange_lines(ranges, nranges, segs[0].start_ms,
					    eol, &o))
				goto enomem;
			k++;
		}
		if (out_put(&o, l.p, l.full))
			goto enomem;
		/* A last line without its line end gets one. */
		if (l.p[l.full - 1] != '\n' &&
		    out_put(&o, l.full > l.len ? "\n" : eol,
			    l.full > l.len ? 1 : strlen(eol)))
			goto enomem;
	}
	if (out_put(&o, "", 1))
		goto enomem;
	free(segs);
	if (out_len != NULL)
		*out_len = o.len - 1;
	return o.p;

enomem:
	free(segs);
	free(o.p);
	lshop_error_set(err, "no_memory", "", "out of memory");
	return NULL;
}
