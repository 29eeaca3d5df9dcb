/*
 * WebVTT read back (vtt.h): one pass over the lines, the cues' strings
 * copied into one buffer allocated once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lshop/vtt.h"

#include "internal.h"

typedef struct reader {
	const char *s;
	size_t len, pos;
	size_t ln;        /* the number of the current line */
	const char *line; /* the current line, its end left out */
	size_t n;
	lshop_error *err;
	/* the strings of the cues: never more than the file's bytes + 1 */
	char *pool;
	size_t used, cap;
	int overflow; /* cannot happen: see lshop_vtt_parse */
} reader;

#define BAD(r, line_no, ...) bad_line((r)->err, (line_no), __VA_ARGS__)

static void bad_line(lshop_error *err, size_t ln, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void bad_line(lshop_error *err, size_t ln, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	lshop_error_set(err, "invalid_vtt", "", "line %zu: %s", ln, what);
}

/*
 * The next line into r->line, r->n: 1, or 0 at the end of the file, or -1
 * (err set) when it is too long, holds NUL or is no UTF-8.
 */
static int next_line(reader *r)
{
	size_t i, k;

	if (r->pos >= r->len)
		return 0;
	r->ln++;
	r->line = r->s + r->pos;
	for (i = 0; r->pos + i < r->len; i++) {
		unsigned char c = (unsigned char)r->line[i];

		if (c == '\n' || c == '\r')
			break;
		if (c == '\0') {
			BAD(r, r->ln, "a NUL byte");
			return -1;
		}
		if (c >= 0x80) {
			k = lshop_utf8_seq((const unsigned char *)r->line + i,
					   r->len - r->pos - i);
			if (k == 0) {
				BAD(r, r->ln, "bytes that are no UTF-8");
				return -1;
			}
			i += k - 1;
		}
		if (i >= LSHOP_VTT_LINE_MAX) {
			BAD(r, r->ln, "a line over %d bytes",
			    LSHOP_VTT_LINE_MAX);
			return -1;
		}
	}
	r->n = i;
	r->pos += i;
	if (r->pos < r->len && r->s[r->pos++] == '\r' && r->pos < r->len &&
	    r->s[r->pos] == '\n')
		r->pos++; /* CRLF */
	return 1;
}

static int has_arrow(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i + 3 <= n; i++)
		if (s[i] == '-' && s[i + 1] == '-' && s[i + 2] == '>')
			return 1;
	return 0;
}

/* WebVTT 4.1: "NOTE", "STYLE", "REGION" alone or before a space or tab. */
static int starts_block(const char *s, size_t n, const char *word)
{
	size_t k = strlen(word);

	return n >= k && memcmp(s, word, k) == 0 &&
	       (n == k || s[k] == ' ' || s[k] == '\t');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* n digits at s, or -1. */
static int64_t digits(const char *s, size_t n)
{
	int64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/*
 * A WebVTT timestamp at s (WebVTT 4.1): [HH+:]MM:SS.mmm, hours 2-10
 * digits when present, minutes and seconds 00-59. The bytes used, or 0.
 */
static size_t parse_timestamp(const char *s, size_t n, int64_t *ms)
{
	size_t a = 0, i;
	int64_t h = 0, m, sec, f;

	while (a < n && a <= 10 && is_digit(s[a]))
		a++;
	if (a < 2 || a > 10 || a >= n || s[a] != ':')
		return 0;
	if (n - a >= 10 && s[a + 3] == ':') {
		/* hours, minutes, seconds */
		h = digits(s, a);
		i = a + 1;
	} else {
		if (a != 2)
			return 0;
		i = 0;
	}
	if (n - i < 9 || s[i + 2] != ':' || s[i + 5] != '.')
		return 0;
	m = digits(s + i, 2);
	sec = digits(s + i + 3, 2);
	f = digits(s + i + 6, 3);
	if (m < 0 || sec < 0 || f < 0 || m > 59 || sec > 59)
		return 0;
	*ms = ((h * 60 + m) * 60 + sec) * 1000 + f;
	return i + 9;
}

static size_t skip_blanks(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

/*
 * A timing line: START --> END [SETTINGS]. 0 with the times and the
 * settings (trailing blanks left out) set, or -1.
 */
static int parse_timing(const char *s, size_t n, int64_t *start, int64_t *end,
			const char **settings, size_t *settings_len)
{
	size_t i, k;

	i = parse_timestamp(s, n, start);
	if (i == 0)
		return -1;
	k = skip_blanks(s, n, i);
	if (k == i || n - k < 3 || memcmp(s + k, "-->", 3) != 0)
		return -1;
	i = skip_blanks(s, n, k + 3);
	if (i == k + 3)
		return -1;
	k = parse_timestamp(s + i, n - i, end);
	if (k == 0)
		return -1;
	i += k;
	k = skip_blanks(s, n, i);
	if (k == i && i < n)
		return -1; /* "00:00.000 --> 00:01.000x" */
	while (n > k && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (has_arrow(s + k, n - k))
		return -1; /* WebVTT 4.1: no setting holds "-->" */
	*settings = s + k;
	*settings_len = n - k;
	return 0;
}

/* Appends to the pool, sized so that it never fills. */
static char *pool_put(reader *r, const char *s, size_t n)
{
	char *at = r->pool + r->used;

	if (n > r->cap - r->used) {
		r->overflow = 1;
		return at;
	}
	memcpy(at, s, n);
	r->used += n;
	return at;
}

static void put_utf8(reader *r, unsigned long cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	pool_put(r, b, n);
}

/*
 * The character reference at s[0] == '&': the bytes it takes and its code
 * point, or 0 when it is none (the '&' is then itself). Each one is
 * longer than its UTF-8, so text never grows.
 */
static size_t reference(const char *s, size_t n, unsigned long *cp)
{
	static const struct {
		const char *name;
		unsigned long cp;
	} named[] = {{"&amp;", '&'},   {"&lt;", '<'},     {"&gt;", '>'},
		     {"&nbsp;", 0xa0}, {"&lrm;", 0x200e}, {"&rlm;", 0x200f}};
	size_t i, k, start;
	unsigned long v = 0;
	int hex;

	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		k = strlen(named[i].name);
		if (n >= k && memcmp(s, named[i].name, k) == 0) {
			*cp = named[i].cp;
			return k;
		}
	}
	if (n < 4 || s[1] != '#')
		return 0;
	hex = s[2] == 'x' || s[2] == 'X';
	start = k = hex ? 3 : 2;
	for (; k < n && k - start < 7; k++) {
		char c = s[k];

		if (is_digit(c))
			v = v * (hex ? 16 : 10) + (unsigned long)(c - '0');
		else if (hex && c >= 'a' && c <= 'f')
			v = v * 16 + (unsigned long)(c - 'a' + 10);
		else if (hex && c >= 'A' && c <= 'F')
			v = v * 16 + (unsigned long)(c - 'A' + 10);
		else
			break;
	}
	if (k == start || k >= n || s[k] != ';' || v == 0 || v > 0x10ffff ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return k + 1;
}

/* One payload line into the pool, its references resolved. */
static void put_text(reader *r, const char *s, size_t n)
{
	unsigned long cp;
	size_t i = 0, k;

	while (i < n) {
		const char *amp = memchr(s + i, '&', n - i);

		k = amp ? (size_t)(amp - (s + i)) : n - i;
		pool_put(r, s + i, k);
		i += k;
		if (i == n)
			break;
		k = reference(s + i, n - i, &cp);
		if (k == 0) {
			pool_put(r, "&", 1);
			i++;
		} else {
			put_utf8(r, cp);
			i += k;
		}
	}
}

/* Skips a NOTE, STYLE or REGION block, its first line read. */
static int skip_block(reader *r, const char *what)
{
	int got;

	for (;;) {
		if (has_arrow(r->line, r->n)) {
			BAD(r, r->ln,
			    "a %s block cannot hold \"-->\" (is a blank line "
			    "missing before a cue?)",
			    what);
			return -1;
		}
		got = next_line(r);
		if (got <= 0)
			return got;
		if (r->n == 0)
			return 1;
	}
}

/* A cue, its first line read. 0 at the end of the file, 1, or -1. */
static int read_cue(reader *r, lshop_vtt_cue *c, int64_t last_start)
{
	const char *settings;
	size_t settings_len, raw = 0, first;
	int got;

	memset(c, 0, sizeof(*c));
	c->line = r->ln;
	if (!has_arrow(r->line, r->n)) {
		if (r->n > LSHOP_VTT_ID_MAX) {
			BAD(r, r->ln, "a cue identifier over %d bytes",
			    LSHOP_VTT_ID_MAX);
			return -1;
		}
		c->id = pool_put(r, r->line, r->n);
		pool_put(r, "", 1);
		got = next_line(r);
		if (got < 0)
			return -1;
		if (got == 0) {
			BAD(r, c->line,
			    "a cue identifier with no timing line after it");
			return -1;
		}
	} else {
		c->id = pool_put(r, "", 1);
	}
	c->timing_line = r->ln;
	if (parse_timing(r->line, r->n, &c->start_ms, &c->end_ms, &settings,
			 &settings_len) != 0) {
		BAD(r, r->ln,
		    "expected a timing line HH:MM:SS.mmm --> "
		    "HH:MM:SS.mmm (hours may be left out)");
		return -1;
	}
	if (c->end_ms < c->start_ms) {
		BAD(r, r->ln, "the cue ends before it starts");
		return -1;
	}
	if (c->start_ms < last_start) {
		BAD(r, r->ln, "the cue starts before the cue before it");
		return -1;
	}
	c->settings = pool_put(r, settings, settings_len);
	pool_put(r, "", 1);
	/* the payload: lines up to a blank one or the end */
	c->text = r->pool + r->used;
	first = 1;
	while ((got = next_line(r)) == 1 && r->n > 0) {
		if (has_arrow(r->line, r->n)) {
			BAD(r, r->ln,
			    "cue text cannot hold \"-->\" (is a blank line "
			    "missing before the next cue?)");
			return -1;
		}
		raw += r->n + 1;
		if (raw > LSHOP_VTT_TEXT_MAX) {
			BAD(r, r->ln, "a cue's text over %d bytes",
			    LSHOP_VTT_TEXT_MAX);
			return -1;
		}
		if (!first)
			pool_put(r, "\n", 1);
		first = 0;
		put_text(r, r->line, r->n);
	}
	pool_put(r, "", 1);
	if (r->overflow) {
		lshop_error_set(r->err, "no_memory", "",
				"the cues' text outgrew its buffer");
		return -1;
	}
	return got < 0 ? -1 : 1;
}

void lshop_vtt_free(lshop_vtt *v)
{
	if (v == NULL)
		return;
	free(v->cues);
	free(v->strings);
	free(v);
}

lshop_vtt *lshop_vtt_parse(const char *vtt, size_t len, lshop_error *err)
{
	reader r = {.s = vtt, .len = len, .err = err};
	lshop_vtt *v = NULL;
	lshop_vtt_cue *cues;
	size_t cap = 0;
	int got;

	if (len > LSHOP_VTT_MAX) {
		lshop_error_set(err, "invalid_vtt", "",
				"the file is over %d bytes", LSHOP_VTT_MAX);
		return NULL;
	}
	/*
	 * A cue's strings (identifier, settings, text, each with a NUL)
	 * come from bytes of its own lines, never grow (references are
	 * longer than what they stand for, line ends at least one byte),
	 * and its timing line has 23 bytes or more that are not copied:
	 * the file's length is room enough.
	 */
	r.cap = len + 1;
	r.pool = malloc(r.cap);
	v = calloc(1, sizeof(*v));
	if (r.pool == NULL || v == NULL)
		goto no_memory;
	v->strings = r.pool;
	if (len >= 3 && memcmp(vtt, "\xef\xbb\xbf", 3) == 0)
		r.pos = 3;
	got = next_line(&r);
	if (got < 0)
		goto fail;
	if (got == 0 || r.n < 6 || memcmp(r.line, "WEBVTT", 6) != 0 ||
	    (r.n > 6 && r.line[6] != ' ' && r.line[6] != '\t')) {
		BAD(&r, 1, "expected the header WEBVTT");
		goto fail;
	}
	got = next_line(&r);
	if (got < 0)
		goto fail;
	if (got == 1 && r.n != 0) {
		BAD(&r, r.ln, "expected a blank line after the header WEBVTT");
		goto fail;
	}
	while (got == 1) {
		got = next_line(&r);
		if (got <= 0)
			break;
		if (r.n == 0)
			continue;
		if (starts_block(r.line, r.n, "NOTE")) {
			got = skip_block(&r, "NOTE");
			continue;
		}
		if (starts_block(r.line, r.n, "STYLE") ||
		    starts_block(r.line, r.n, "REGION")) {
			got = skip_block(&r,
					 r.line[0] == 'S' ? "STYLE" : "REGION");
			continue;
		}
		if (v->ncues == cap) {
			if (cap == LSHOP_VTT_CUES_MAX) {
				BAD(&r, r.ln, "more than %d cues",
				    LSHOP_VTT_CUES_MAX);
				goto fail;
			}
			cap = cap ? cap * 2 : 16;
			if (cap > LSHOP_VTT_CUES_MAX)
				cap = LSHOP_VTT_CUES_MAX;
			cues = realloc(v->cues, cap * sizeof(*cues));
			if (cues == NULL)
				goto no_memory;
			v->cues = cues;
		}
		got = read_cue(&r, &v->cues[v->ncues],
			       v->ncues ? v->cues[v->ncues - 1].start_ms : 0);
		if (got < 0)
			goto fail;
		v->ncues++;
	}
	if (got < 0)
		goto fail;
	return v;
no_memory:
	lshop_error_set(err, "no_memory", "", "out of memory");
fail:
	if (v == NULL)
		free(r.pool);
	lshop_vtt_free(v);
	return NULL;
}

int lshop_vtt_chapter_id(const char *id, unsigned *number,
			 char offer_id[LSHOP_ID_MAX + 1])
{
	const char *dash = strchr(id, '-');
	size_t n, k;
	int64_t num;

	if (dash == NULL)
		return -1;
	n = (size_t)(dash - id);
	k = strlen(dash + 1);
	num = n >= 1 && n <= 6 && id[0] != '0' ? digits(id, n) : -1;
	if (num < 1 || !lshop_id_valid(dash + 1, k))
		return -1;
	*number = (unsigned)num;
	memcpy(offer_id, dash + 1, k + 1);
	return 0;
}

lshop_vtt *lshop_vtt_parse_chapters(const char *vtt, size_t len,
				    lshop_error *err)
{
	lshop_vtt *v = lshop_vtt_parse(vtt, len, err);
	char offer_id[LSHOP_ID_MAX + 1];
	const lshop_vtt_cue *c;
	unsigned number;
	size_t i;

	for (i = 0; v != NULL && i < v->ncues; i++) {
		c = &v->cues[i];
		if (lshop_vtt_chapter_id(c->id, &number, offer_id) != 0) {
			bad_line(err, c->line,
				 "expected a cue identifier N-OFFERID (N from "
				 "1, OFFERID 1-64 of A-Z a-z 0-9 . _ -)");
		} else if (c->settings[0] != '\0') {
			bad_line(err, c->timing_line,
				 "expected HH:MM:SS.mmm --> HH:MM:SS.mmm and "
				 "no cue settings");
		} else if (c->end_ms == c->start_ms) {
			bad_line(err, c->timing_line,
				 "the cue ends where it starts");
		} else if (i > 0 && c->start_ms < v->cues[i - 1].end_ms) {
			bad_line(err, c->timing_line,
				 "the cue starts before the previous one ends");
		} else if (c->text[0] == '\0') {
			bad_line(err, c->timing_line + 1,
				 "expected the cue's text (title and price)");
		} else if (strchr(c->text, '\n') != NULL) {
			bad_line(err, c->timing_line + 2,
				 "expected a blank line after the cue's one "
				 "line of text");
		} else {
			continue;
		}
		lshop_vtt_free(v);
		return NULL;
	}
	return v;
}
