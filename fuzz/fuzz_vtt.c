/*
 * The core's WebVTT reader (lshop/vtt.h) on any bytes: it never crashes,
 * the cues it accepts keep its promises (times in order, end not before
 * start, strings within the limits, no "-->", no line end in an
 * identifier), and written out again (references for '&', '<', '>', CR
 * and LF) they read back the same. What the chapters reader accepts, the
 * plain one does too, held to the writer's rules. And the bytes as an
 * offer's title go through lshop_report_show_chapters_vtt and come back
 * out of lshop_vtt_parse_chapters unchanged but for CR and LF.
 *
 * Input: the file (and, as valid UTF-8 of 1-120 characters, the title).
 */
#include "fuzz.h"
#include "lshop/codec.h"
#include "lshop/report.h"
#include "lshop/vtt.h"

static int has_arrow(const char *s)
{
	return strstr(s, "-->") != NULL;
}

/* out grows by s, n bytes; realloc'd, never NULL. */
static void put(char **out, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*out = realloc(*out, *cap);
		if (*out == NULL)
			abort();
	}
	memcpy(*out + *len, s, n);
	*len += n;
	(*out)[*len] = '\0';
}

static void put_time(char **out, size_t *len, size_t *cap, int64_t ms)
{
	char t[48];
	int n = snprintf(t, sizeof(t), "%02lld:%02d:%02d.%03d",
			 (long long)(ms / 3600000), (int)(ms / 60000 % 60),
			 (int)(ms / 1000 % 60), (int)(ms % 1000));

	put(out, len, cap, t, (size_t)n);
}

/*
 * v written out as WebVTT, each cue's text on one line; NULL when a line
 * would be over the reader's limits.
 */
static char *write_vtt(const lshop_vtt *v, size_t *len)
{
	char *out = NULL;
	size_t cap = 0, i, line_start;
	const char *p;

	*len = 0;
	put(&out, len, &cap, "WEBVTT\n\n", 8);
	for (i = 0; i < v->ncues; i++) {
		const lshop_vtt_cue *c = &v->cues[i];

		if (c->id[0]) {
			put(&out, len, &cap, c->id, strlen(c->id));
			put(&out, len, &cap, "\n", 1);
		}
		line_start = *len;
		put_time(&out, len, &cap, c->start_ms);
		put(&out, len, &cap, " --> ", 5);
		put_time(&out, len, &cap, c->end_ms);
		if (c->settings[0]) {
			put(&out, len, &cap, " ", 1);
			put(&out, len, &cap, c->settings, strlen(c->settings));
		}
		if (*len - line_start > LSHOP_VTT_LINE_MAX) {
			free(out);
			return NULL;
		}
		put(&out, len, &cap, "\n", 1);
		line_start = *len;
		for (p = c->text; *p; p++) {
			if (*p == '&')
				put(&out, len, &cap, "&amp;", 5);
			else if (*p == '<')
				put(&out, len, &cap, "&lt;", 4);
			else if (*p == '>')
				put(&out, len, &cap, "&gt;", 4);
			else if (*p == '\n')
				put(&out, len, &cap, "&#10;", 5);
			else if (*p == '\r')
				put(&out, len, &cap, "&#13;", 5);
			else
				put(&out, len, &cap, p, 1);
		}
		if (*len - line_start + 1 > LSHOP_VTT_TEXT_MAX) {
			free(out);
			return NULL;
		}
		put(&out, len, &cap, "\n\n", c->text[0] ? 2 : 1);
	}
	return out;
}

static void check_cues(const lshop_vtt *v)
{
	size_t i;

	FUZZ_CHECK(v->ncues <= LSHOP_VTT_CUES_MAX);
	for (i = 0; i < v->ncues; i++) {
		const lshop_vtt_cue *c = &v->cues[i];

		FUZZ_CHECK(c->start_ms >= 0 && c->start_ms <= c->end_ms);
		FUZZ_CHECK(i == 0 || c->start_ms >= v->cues[i - 1].start_ms);
		FUZZ_CHECK(i == 0 || c->line > v->cues[i - 1].timing_line);
		FUZZ_CHECK(c->timing_line == c->line + (c->id[0] != '\0'));
		FUZZ_CHECK(strlen(c->id) <= LSHOP_VTT_ID_MAX);
		FUZZ_CHECK(strlen(c->text) <= LSHOP_VTT_TEXT_MAX);
		FUZZ_CHECK(strlen(c->settings) <= LSHOP_VTT_LINE_MAX);
		FUZZ_CHECK(strpbrk(c->id, "\r\n") == NULL);
		FUZZ_CHECK(strpbrk(c->settings, "\r\n") == NULL);
		FUZZ_CHECK(!has_arrow(c->id) && !has_arrow(c->settings));
		FUZZ_CHECK(lshop_utf8_chars(c->text, strlen(c->text)) >= 0);
	}
}

static void same_cues(const lshop_vtt *a, const lshop_vtt *b)
{
	size_t i;

	FUZZ_CHECK(a->ncues == b->ncues);
	for (i = 0; i < a->ncues; i++) {
		FUZZ_CHECK(strcmp(a->cues[i].id, b->cues[i].id) == 0);
		FUZZ_CHECK(a->cues[i].start_ms == b->cues[i].start_ms);
		FUZZ_CHECK(a->cues[i].end_ms == b->cues[i].end_ms);
		FUZZ_CHECK(strcmp(a->cues[i].settings, b->cues[i].settings) ==
			   0);
		FUZZ_CHECK(strcmp(a->cues[i].text, b->cues[i].text) == 0);
	}
}

/* The bytes as a title, written as chapters and read back. */
static void writer_round_trip(const char *s, size_t len)
{
	lshop_report *r = lshop_report_new();
	char expected[LSHOP_TITLE_MAX + 32], *vtt, *p;
	const int64_t t0 = INT64_C(1795514400123);
	lshop_event ev;
	lshop_error err;
	lshop_vtt *v;
	size_t n;

	if (r == NULL)
		abort();
	memset(&ev, 0, sizeof(ev));
	strcpy(ev.stream, "live/demo");
	strcpy(ev.show.id, "s1");
	strcpy(ev.show.title, "Show");
	ev.type = LSHOP_SHOW_STARTED;
	ev.at_ms = t0;
	FUZZ_CHECK(lshop_report_add_event(r, &ev) == 0);
	ev.type = LSHOP_OFFER_PINNED;
	ev.at_ms = t0 + 1500;
	strcpy(ev.offer.id, "sku-1");
	fuzz_text(ev.offer.title, sizeof(ev.offer.title), s, len,
		  LSHOP_TITLE_CHARS);
	if (ev.offer.title[0] == '\0')
		strcpy(ev.offer.title, "-->");
	strcpy(ev.offer.price, "19.99");
	strcpy(ev.offer.currency, "EUR");
	ev.offer.stock = LSHOP_STOCK_UNLIMITED;
	strcpy(ev.offer.url, "https://shop.example/p/1");
	FUZZ_CHECK(lshop_report_add_event(r, &ev) == 0);
	ev.type = LSHOP_OFFER_UNPINNED;
	ev.at_ms = t0 + 3723004;
	strcpy(ev.offer_id, "sku-1");
	FUZZ_CHECK(lshop_report_add_event(r, &ev) == 0);

	vtt = lshop_report_show_chapters_vtt(r, "s1", t0 + 4000000, &n);
	FUZZ_CHECK(vtt != NULL);
	v = lshop_vtt_parse_chapters(vtt, n, &err);
	if (v == NULL)
		fprintf(stderr, "%s\n%s\n", err.message, vtt);
	FUZZ_CHECK(v != NULL && v->ncues == 1);
	snprintf(expected, sizeof(expected), "%s \xe2\x80\x94 19.99 EUR",
		 ev.offer.title);
	for (p = expected; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	FUZZ_CHECK(strcmp(v->cues[0].id, "1-sku-1") == 0);
	FUZZ_CHECK(v->cues[0].start_ms == 1500);
	FUZZ_CHECK(v->cues[0].end_ms == 3723004);
	FUZZ_CHECK(strcmp(v->cues[0].text, expected) == 0);
	lshop_vtt_free(v);
	free(vtt);
	lshop_report_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_copy(data, size), *again, offer_id[LSHOP_ID_MAX + 1];
	lshop_vtt *v, *w, *ch;
	lshop_error err;
	unsigned number;
	size_t len, i;

	v = lshop_vtt_parse(buf, size, &err);
	if (v == NULL)
		FUZZ_CHECK(err.message[0] != '\0');
	ch = lshop_vtt_parse_chapters(buf, size, NULL);
	FUZZ_CHECK(ch == NULL || v != NULL);
	if (v != NULL) {
		check_cues(v);
		again = write_vtt(v, &len);
		if (again != NULL) {
			w = lshop_vtt_parse(again, len, &err);
			if (w == NULL)
				fprintf(stderr, "%s\n", err.message);
			FUZZ_CHECK(w != NULL);
			same_cues(v, w);
			lshop_vtt_free(w);
			free(again);
		}
	}
	if (ch != NULL) {
		same_cues(v, ch);
		for (i = 0; i < ch->ncues; i++) {
			const lshop_vtt_cue *c = &ch->cues[i];

			FUZZ_CHECK(lshop_vtt_chapter_id(c->id, &number,
							offer_id) == 0);
			FUZZ_CHECK(number >= 1 && strlen(offer_id) >= 1);
			FUZZ_CHECK(c->end_ms > c->start_ms);
			FUZZ_CHECK(i == 0 ||
				   c->start_ms >= ch->cues[i - 1].end_ms);
			FUZZ_CHECK(c->text[0] && !strchr(c->text, '\n'));
			FUZZ_CHECK(c->settings[0] == '\0');
		}
	}
	lshop_vtt_free(v);
	lshop_vtt_free(ch);
	writer_round_trip(buf, size);
	free(buf);
	return 0;
}
