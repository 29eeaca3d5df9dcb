/*
 * WebVTT read back (vtt.h): files as WebVTT allows them, malformed ones
 * named by line, the limits, the chapters' stricter rules, and whatever
 * lshop_report_show_chapters_vtt writes read back to the same cues.
 */
#include "lshop/report.h"
#include "lshop/vtt.h"

#include "timeline.h"

#define S(n) (INT64_C(n) * 1000)

static lshop_vtt *parse(const char *s)
{
	lshop_error err;
	lshop_vtt *v = lshop_vtt_parse(s, strlen(s), &err);

	if (v == NULL)
		fail_msg("%s", err.message);
	return v;
}

static void assert_cue(const lshop_vtt_cue *c, const char *id, int64_t start_ms,
		       int64_t end_ms, const char *settings, const char *text)
{
	assert_string_equal(c->id, id);
	assert_int_equal(c->start_ms, start_ms);
	assert_int_equal(c->end_ms, end_ms);
	assert_string_equal(c->settings, settings);
	assert_string_equal(c->text, text);
}

/* Hours or none, settings, identifiers with spaces, multi-line text. */
static void test_cues(void **state)
{
	lshop_vtt *v;

	(void)state;
	v = parse("WEBVTT - chapters of a show\n\n"
		  "intro part one\n"
		  "00:01.500 --> 00:02.000\nHello\n\n\n\n"
		  "00:00:02.004 --> 101:00:00.000 line:0 align:start  \n"
		  "two <b>lines</b>\nof text\n\n"
		  "x\n00:00:09.999\t-->  \t00:10.000\n"
		  "&amp; &lt;i&gt; &nbsp;&#233;&#x1F6CD; &lrm;&bogus; & &#0; "
		  "&#xD800; &amp\n");
	assert_int_equal(v->ncues, 3);
	assert_cue(&v->cues[0], "intro part one", 1500, 2000, "", "Hello");
	assert_int_equal(v->cues[0].line, 3);
	assert_int_equal(v->cues[0].timing_line, 4);
	assert_cue(&v->cues[1], "", 2004, S(363600), "line:0 align:start",
		   "two <b>lines</b>\nof text");
	assert_int_equal(v->cues[1].line, 9);
	assert_int_equal(v->cues[1].timing_line, 9);
	assert_cue(&v->cues[2], "x", 9999, S(10), "",
		   "& <i> \xc2\xa0\xc3\xa9\xf0\x9f\x9b\x8d \xe2\x80\x8e&bogus; "
		   "& &#0; &#xD800; &amp");
	lshop_vtt_free(v);

	/* the header alone, with or without its line end; no cues */
	v = parse("WEBVTT");
	assert_int_equal(v->ncues, 0);
	lshop_vtt_free(v);
	v = parse("WEBVTT\tx\n\n\n");
	assert_int_equal(v->ncues, 0);
	lshop_vtt_free(v);
	/* an empty payload; a cue of no time */
	v = parse("WEBVTT\n\n00:01.000 --> 00:01.000\n");
	assert_int_equal(v->ncues, 1);
	assert_cue(&v->cues[0], "", 1000, 1000, "", "");
	lshop_vtt_free(v);
	lshop_vtt_free(NULL);
}

/* BOM, CRLF, CR, and NOTE, STYLE and REGION blocks skipped. */
static void test_line_ends_and_blocks(void **state)
{
	static const char *const files[] = {
	    "\xef\xbb\xbfWEBVTT\r\n\r\nREGION\r\nid:r\r\n\r\nSTYLE\r\n::cue "
	    "{ color: red }\r\n\r\nNOTE a comment\r\nover lines\r\n\r\n"
	    "1 a\r\n00:00:01.000 --> 00:00:02.000\r\nA\r\nB\r\n\r\nNOTE\r\n\r\n"
	    "2 b\r\n00:00:03.000 --> 00:00:04.000\r\nC\r\n",
	    "WEBVTT\r\rREGION\rid:r\r\rSTYLE\r::cue { color: red }\r\r"
	    "NOTE a comment\rover lines\r\r1 a\r00:00:01.000 --> "
	    "00:00:02.000\rA\rB\r\rNOTE\r\r2 b\r00:00:03.000 --> "
	    "00:00:04.000\rC",
	    "WEBVTT\n\nREGION\nid:r\n\nSTYLE\n::cue { color: red }\n\n"
	    "NOTE\ta comment\nover lines\n\n1 a\n00:00:01.000 --> "
	    "00:00:02.000\r\nA\rB\n\r\nNOTE\n\n2 b\n00:00:03.000 --> "
	    "00:00:04.000\nC\n\n\n",
	};
	size_t i;
	lshop_vtt *v;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		v = parse(files[i]);
		assert_int_equal(v->ncues, 2);
		assert_cue(&v->cues[0], "1 a", 1000, 2000, "", "A\nB");
		assert_cue(&v->cues[1], "2 b", 3000, 4000, "", "C");
		assert_int_equal(v->cues[0].line, 12);
		assert_int_equal(v->cues[1].timing_line, 20);
		lshop_vtt_free(v);
	}
}

static void assert_bad(lshop_vtt *(*fn)(const char *, size_t, lshop_error *),
		       const char *s, size_t len, const char *message)
{
	lshop_error err;
	lshop_vtt *v;

	memset(&err, 0, sizeof(err));
	v = fn(s, len, &err);
	if (v != NULL)
		fail_msg("accepted: %s", s);
	assert_true(strcmp(err.code, "invalid_vtt") == 0);
	if (strncmp(err.message, message, strlen(message)) != 0)
		fail_msg("\"%s\" is not \"%s...\"", err.message, message);
}

/* Malformed files: the error names the line and the problem. */
static void test_malformed(void **state)
{
	static const struct {
		const char *vtt, *message;
	} cases[] = {
	    {"", "line 1: expected the header WEBVTT"},
	    {"WEBVTX\n\n", "line 1: expected the header WEBVTT"},
	    {"WEBVTTx\n\n", "line 1: expected the header WEBVTT"},
	    {"\n\nWEBVTT\n\n", "line 1: expected the header WEBVTT"},
	    {"WEBVTT\nx\n", "line 2: expected a blank line after the header"},
	    {"WEBVTT\n\n1\n00:01.000 -> 00:02.000\nA\n",
	     "line 4: expected a timing line"},
	    {"WEBVTT\n\n1\n", "line 3: a cue identifier with no timing line"},
	    {"WEBVTT\n\n1\n\n00:01.000 --> 00:02.000\n",
	     "line 4: expected a timing line"},
	    {"WEBVTT\n\n00:01.000 --> 00:02.000 -->\n",
	     "line 3: expected a timing line"},
	    {"WEBVTT\n\n00:01.000 --> 00:02.000x\n",
	     "line 3: expected a timing line"},
	    {"WEBVTT\n\n00:01.000-->00:02.000\n",
	     "line 3: expected a timing line"},
	    {"WEBVTT\n\n0:01.000 --> 00:02.000\n",
	     "line 3: expected a timing line"},
	    {"WEBVTT\n\n00:60.000 --> 01:00.000\n",
	     "line 3: expected a timing line"},
	    {"WEBVTT\n\n00:00:01.00 --> 00:00:02.000\n",
	     "line 3: expected a timing line"},
	    {"WEBVTT\n\n00:61:01.000 --> 01:00:02.000\n",
	     "line 3: expected a timing line"},
	    {"WEBVTT\n\n123:01.000 --> 200:02.000\n",
	     "line 3: expected a timing line"},
	    {"WEBVTT\n\n00000000000:00:01.000 --> 00000000000:00:02.000\n",
	     "line 3: expected a timing line"},
	    {"WEBVTT\n\nc\n00:02.000 --> 00:01.999\nA\n",
	     "line 4: the cue ends before it starts"},
	    {"WEBVTT\n\n00:02.000 --> 00:03.000\n\n00:01.000 --> 00:04.000\n",
	     "line 5: the cue starts before the cue before it"},
	    {"WEBVTT\n\n00:01.000 --> 00:02.000\nA\n00:02.000 --> 00:03.000\n",
	     "line 5: cue text cannot hold \"-->\""},
	    {"WEBVTT\n\nNOTE x\n00:01.000 --> 00:02.000\n",
	     "line 4: a NOTE block cannot hold \"-->\""},
	    {"WEBVTT\n\nSTYLE -->\n", "line 3: a STYLE block cannot hold"},
	    {"WEBVTT\n\n00:01.000 --> 00:02.000\nA\xff\n",
	     "line 4: bytes that are no UTF-8"},
	    {"WEBVTT\n\n00:01.000 --> 00:02.000\nA\xe2\x80\n",
	     "line 4: bytes that are no UTF-8"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_bad(lshop_vtt_parse, cases[i].vtt, strlen(cases[i].vtt),
			   cases[i].message);
	/* NUL: the length is the file's, not the string's */
	assert_bad(lshop_vtt_parse, "WEBVTT\n\nA\0\n", 11,
		   "line 3: a NUL byte");
}

/* What is over a limit is an error naming its line; at it, it reads. */
static void test_limits(void **state)
{
	char *big = malloc(LSHOP_VTT_MAX + 1), *p;
	size_t i, len;
	lshop_vtt *v;

	(void)state;
	assert_non_null(big);
	/* a line */
	len = (size_t)sprintf(big, "WEBVTT\n\nNOTE ");
	memset(big + len, 'n', LSHOP_VTT_LINE_MAX - 5);
	len += LSHOP_VTT_LINE_MAX - 5;
	v = lshop_vtt_parse(big, len, NULL);
	assert_non_null(v);
	lshop_vtt_free(v);
	big[len++] = 'n';
	assert_bad(lshop_vtt_parse, big, len, "line 3: a line over 8192 bytes");
	/* an identifier */
	len = (size_t)sprintf(big, "WEBVTT\n\n");
	memset(big + len, 'i', LSHOP_VTT_ID_MAX + 1);
	len += LSHOP_VTT_ID_MAX + 1;
	len += (size_t)sprintf(big + len, "\n00:01.000 --> 00:02.000\n");
	assert_bad(lshop_vtt_parse, big, len, "line 3: a cue identifier over");
	/* a cue's text, over lines */
	len = (size_t)sprintf(big, "WEBVTT\n\n00:01.000 --> 00:02.000\n");
	for (i = 0; i < LSHOP_VTT_TEXT_MAX / 100; i++) {
		memset(big + len, 't', 99);
		big[len + 99] = '\n';
		len += 100;
	}
	v = lshop_vtt_parse(big, len, NULL);
	assert_non_null(v);
	assert_int_equal(strlen(v->cues[0].text),
			 LSHOP_VTT_TEXT_MAX / 100 * 100 - 1);
	lshop_vtt_free(v);
	memset(big + len, 't', 98);
	big[len + 98] = '\n';
	len += 99;
	assert_bad(lshop_vtt_parse, big, len, "line 85: a cue's text over");
	/* cues */
	p = big + sprintf(big, "WEBVTT\n\n");
	for (i = 0; i < LSHOP_VTT_CUES_MAX; i++)
		p += sprintf(p, "00:01.000 --> 00:02.000\n\n");
	v = lshop_vtt_parse(big, (size_t)(p - big), NULL);
	assert_non_null(v);
	assert_int_equal(v->ncues, LSHOP_VTT_CUES_MAX);
	lshop_vtt_free(v);
	p += sprintf(p, "00:01.000 --> 00:02.000\n");
	assert_bad(lshop_vtt_parse, big, (size_t)(p - big),
		   "line 200003: more than 100000 cues");
	/* the file */
	memset(big, '\n', LSHOP_VTT_MAX + 1);
	memcpy(big, "WEBVTT", 6);
	v = lshop_vtt_parse(big, LSHOP_VTT_MAX, NULL);
	assert_non_null(v);
	lshop_vtt_free(v);
	assert_bad(lshop_vtt_parse, big, LSHOP_VTT_MAX + 1, "the file is over");
	free(big);
}

/* Chapters: held to what the server writes, each break named by line. */
static void test_chapters(void **state)
{
	static const char good[] = "WEBVTT\n\n1-sku-1\n00:00:01.000 --> "
				   "00:00:03.500\nA &amp; B \xe2\x80\x94 "
				   "19.99 EUR\n\n";
	static const struct {
		const char *vtt, *message;
	} cases[] = {
	    {"WEBVTX\n\n", "line 1: "},
	    {"WEBVTT\nx\n", "line 2: "},
	    {"WEBVTT\n\nsku-1\n00:00:01.000 --> 00:00:02.000\nA\n\n",
	     "line 3: expected a cue identifier N-OFFERID"},
	    {"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nA\n\n",
	     "line 3: expected a cue identifier N-OFFERID"},
	    {"WEBVTT\n\n0-sku\n00:00:01.000 --> 00:00:02.000\nA\n\n",
	     "line 3: expected a cue identifier N-OFFERID"},
	    {"WEBVTT\n\n1-sk u\n00:00:01.000 --> 00:00:02.000\nA\n\n",
	     "line 3: expected a cue identifier N-OFFERID"},
	    {"WEBVTT\n\n1-sku-1\n00:00:01.000 -> 00:00:02.000\nA\n\n",
	     "line 4: expected a timing line"},
	    {"WEBVTT\n\n1-sku-1\n00:00:01.000 --> 00:00:02.000 line:0\nA\n\n",
	     "line 4: expected HH:MM:SS.mmm --> HH:MM:SS.mmm and no cue"},
	    {"WEBVTT\n\n1-sku-1\n00:00:02.000 --> 00:00:01.000\nA\n\n",
	     "line 4: the cue ends before it starts"},
	    {"WEBVTT\n\n1-sku-1\n00:00:02.000 --> 00:00:02.000\nA\n\n",
	     "line 4: the cue ends where it starts"},
	    {"WEBVTT\n\n1-sku-1\n00:00:01.000 --> 00:00:02.000\n\n",
	     "line 5: expected the cue's text"},
	    {"WEBVTT\n\n1-sku-1\n00:00:01.000 --> 00:00:02.000\nA\nB\n",
	     "line 6: expected a blank line after the cue's one line"},
	};
	char buf[512];
	unsigned number = 0;
	char offer_id[LSHOP_ID_MAX + 1];
	lshop_vtt *v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_bad(lshop_vtt_parse_chapters, cases[i].vtt,
			   strlen(cases[i].vtt), cases[i].message);
	snprintf(buf, sizeof(buf), "%s%s", good,
		 "2-sku-2\n00:00:03.000 --> 00:00:04.000\nB\n\n");
	assert_bad(lshop_vtt_parse_chapters, buf, strlen(buf),
		   "line 8: the cue starts before the previous one ends");

	snprintf(buf, sizeof(buf), "%s%s", good,
		 "NOTE ok\n\n12-a.b_C-9\r\n00:03.500 --> 00:04.000\r\nB\r\n");
	v = lshop_vtt_parse_chapters(buf, strlen(buf), NULL);
	assert_non_null(v);
	assert_int_equal(v->ncues, 2);
	assert_cue(&v->cues[0], "1-sku-1", 1000, 3500, "",
		   "A & B \xe2\x80\x94 19.99 EUR");
	assert_int_equal(lshop_vtt_chapter_id(v->cues[1].id, &number, offer_id),
			 0);
	assert_int_equal(number, 12);
	assert_string_equal(offer_id, "a.b_C-9");
	lshop_vtt_free(v);

	assert_int_equal(lshop_vtt_chapter_id("999999-x", &number, offer_id),
			 0);
	assert_int_equal(number, 999999);
	assert_int_equal(lshop_vtt_chapter_id("1000000-x", &number, offer_id),
			 -1);
	assert_int_equal(lshop_vtt_chapter_id("01-x", &number, offer_id), -1);
	assert_int_equal(lshop_vtt_chapter_id("1-", &number, offer_id), -1);
	assert_int_equal(lshop_vtt_chapter_id("-x", &number, offer_id), -1);
	assert_int_equal(lshop_vtt_chapter_id("1x", &number, offer_id), -1);
}

static void add(lshop_report *r, lshop_event_type type, int64_t at)
{
	lshop_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.at_ms = at;
	strcpy(ev.stream, STREAM);
	strcpy(ev.show.id, "s1");
	strcpy(ev.show.title, "Show");
	assert_int_equal(lshop_report_add_event(r, &ev), 0);
}

static void pin(lshop_report *r, const lshop_offer *o, int64_t from, int64_t to)
{
	lshop_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = LSHOP_OFFER_PINNED;
	ev.at_ms = from;
	strcpy(ev.stream, STREAM);
	ev.offer = *o;
	assert_int_equal(lshop_report_add_event(r, &ev), 0);
	ev.type = LSHOP_OFFER_UNPINNED;
	ev.at_ms = to;
	strcpy(ev.offer_id, o->id);
	assert_int_equal(lshop_report_add_event(r, &ev), 0);
}

/*
 * The round trip: chapters written by the report with hostile titles
 * (markup, "-->", references, emoji, CR and LF, which the writer turns
 * into spaces), a long show, read back to the same cues.
 */
static void test_round_trip(void **state)
{
	static const char *const more[] = {
	    "--> 00:00:01.000 --> 00:00:02.000",
	    "&amp; &lt;b&gt; &#233; &nbsp;",
	    "NOTE\r\n\r\nWEBVTT",
	    "\r",
	    "a\n\n00:01.000 --> 00:02.000\nb",
	    "\xf0\x9f\x98\x80 <c.x>y</c> <00:00:01.000>",
	};
	char expected[LSHOP_TITLE_MAX * 2], id[LSHOP_ID_MAX + 1], *vtt;
	lshop_report *r = lshop_report_new();
	lshop_offer o;
	lshop_error err;
	lshop_vtt *v;
	size_t i, k, n = N_HOSTILE + sizeof(more) / sizeof(more[0]), len;
	int64_t at = T0 + S(10);
	const char *title;

	(void)state;
	assert_non_null(r);
	add(r, LSHOP_SHOW_STARTED, T0);
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "sku-%zu", i);
		o = make_offer(id, i % 2 ? "19.99" : "7", NULL);
		title = i < N_HOSTILE ? hostile_titles[i] : more[i - N_HOSTILE];
		snprintf(o.title, sizeof(o.title), "%s", title);
		/* a long show: the last pins past 100 hours */
		if (i == n - 2)
			at = T0 + S(360000) + 7;
		pin(r, &o, at, at + S(i + 1) + 1);
		at += S(i + 1) + 1;
	}
	vtt = lshop_report_show_chapters_vtt(r, "s1", at + S(1), &len);
	assert_non_null(vtt);
	v = lshop_vtt_parse_chapters(vtt, len, &err);
	if (v == NULL)
		fail_msg("%s\n%s", err.message, vtt);
	assert_int_equal(v->ncues, n);
	at = T0 + S(10);
	for (i = 0; i < n; i++) {
		title = i < N_HOSTILE ? hostile_titles[i] : more[i - N_HOSTILE];
		snprintf(id, sizeof(id), "%zu-sku-%zu", i + 1, i);
		snprintf(expected, sizeof(expected), "%s \xe2\x80\x94 %s EUR",
			 title, i % 2 ? "19.99" : "7");
		for (k = 0; expected[k]; k++)
			if (expected[k] == '\r' || expected[k] == '\n')
				expected[k] = ' ';
		if (i == n - 2)
			at = T0 + S(360000) + 7;
		assert_cue(&v->cues[i], id, at - T0, at - T0 + S(i + 1) + 1, "",
			   expected);
		at += S(i + 1) + 1;
	}
	assert_true(v->cues[n - 1].end_ms > S(360000));
	lshop_vtt_free(v);
	free(vtt);
	lshop_report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cues),
	    cmocka_unit_test(test_line_ends_and_blocks),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_chapters),
	    cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
