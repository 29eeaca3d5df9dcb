/*
 * The SSE reader (shop-sse.c): messages come out whole however the bytes
 * are cut, with every line ending of the format, comments and ids, and
 * the unnumbered "audience" message (SPEC §14) moves no id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include "shop-sse.h"

/* What the messages were, one "event|id|data" line each. */
typedef struct seen {
	char text[8192];
	int n;
} seen;

static void record(void *ctx, const char *event, const char *id,
		   const char *data, size_t len)
{
	seen *s = ctx;
	size_t at = strlen(s->text);

	assert_int_equal(strlen(data), len);
	snprintf(s->text + at, sizeof(s->text) - at, "%s|%s|%s\n", event, id,
		 data);
	s->n++;
}

static const char stream[] = ": hello\n"
			     "id: 17\n"
			     "event: state\n"
			     "data: {\"stream\":\"live/demo\",\"seq\":17}\n"
			     "\n"
			     ": ping\n"
			     "\n"
			     "id: 18\r\n"
			     "event: offer.pinned\r\n"
			     "data: {\"seq\":18}\r\n"
			     "\r\n"
			     "event: two.lines\r"
			     "data:first\r"
			     "data:  second\r"
			     "\r"
			     "retry: 1000\n"
			     "data\n"
			     "\n"
			     "id: 19\n"
			     "event: ignored\n";

static const char expect[] = "state|17|{\"stream\":\"live/demo\",\"seq\":17}\n"
			     "offer.pinned|18|{\"seq\":18}\n"
			     "two.lines|18|first\n second\n"
			     "|18|\n";

static void test_whole(void **state)
{
	shop_sse p;
	seen s = {{0}, 0};

	(void)state;
	shop_sse_init(&p);
	assert_int_equal(shop_sse_feed(&p, stream, strlen(stream), record, &s),
			 0);
	assert_string_equal(s.text, expect);
	assert_int_equal(p.comments, 2);
	/* the last message waits for its blank line */
	assert_int_equal(s.n, 4);
	assert_int_equal(shop_sse_feed(&p, "\n", 1, record, &s), 0);
	assert_int_equal(s.n, 4); /* no data: nothing dispatched */
	shop_sse_reset(&p);
}

/* Cut at every byte, and byte by byte: the same messages. */
static void test_every_cut(void **state)
{
	size_t len = strlen(stream), cut, i;
	shop_sse p;
	seen s;

	(void)state;
	for (cut = 0; cut <= len; cut++) {
		memset(&s, 0, sizeof(s));
		shop_sse_init(&p);
		assert_int_equal(shop_sse_feed(&p, stream, cut, record, &s), 0);
		assert_int_equal(
		    shop_sse_feed(&p, stream + cut, len - cut, record, &s), 0);
		assert_string_equal(s.text, expect);
		shop_sse_reset(&p);
	}
	memset(&s, 0, sizeof(s));
	shop_sse_init(&p);
	for (i = 0; i < len; i++)
		assert_int_equal(shop_sse_feed(&p, stream + i, 1, record, &s),
				 0);
	assert_string_equal(s.text, expect);
	shop_sse_reset(&p);
}

/* A CR at the end of one read and the LF at the start of the next are
 * one line end, not two (which would dispatch early). */
static void test_crlf_split(void **state)
{
	shop_sse p;
	seen s = {{0}, 0};

	(void)state;
	shop_sse_init(&p);
	assert_int_equal(shop_sse_feed(&p, "data: a\r", 8, record, &s), 0);
	assert_int_equal(shop_sse_feed(&p, "\ndata: b\r\n", 10, record, &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(shop_sse_feed(&p, "\r\n", 2, record, &s), 0);
	assert_string_equal(s.text, "||a\nb\n");
	shop_sse_reset(&p);
}

static void test_too_long(void **state)
{
	size_t n = SHOP_SSE_LINE_MAX + 10;
	char *big = malloc(n);
	shop_sse p;
	seen s = {{0}, 0};

	(void)state;
	assert_non_null(big);
	memset(big, 'x', n);
	memcpy(big, "data: ", 6);
	shop_sse_init(&p);
	assert_int_equal(shop_sse_feed(&p, big, n, record, &s), -1);
	/* reset: a new stream reads fine */
	assert_int_equal(shop_sse_feed(&p, "data: ok\n\n", 10, record, &s), 0);
	assert_string_equal(s.text, "||ok\n");
	shop_sse_reset(&p);
	free(big);
}

/*
 * SPEC §14: "event: audience" with no "id:" line between numbered
 * events. It comes with the id before it (the standard's last event ID
 * persists; nothing here resets or moves it), so a client that resumes
 * from the last id still asks for what follows the last event.
 */
static void test_unnumbered_audience(void **state)
{
	static const char msgs[] = "id: 41\n"
				   "event: purchase.completed\n"
				   "data: {\"seq\":41}\n"
				   "\n"
				   "event: audience\n"
				   "data: {\"viewers\":12}\n"
				   "\n"
				   ": ping\n"
				   "\n"
				   "event: audience\r\n"
				   "data: {\"viewers\":13}\r\n"
				   "\r\n"
				   "id: 42\n"
				   "event: stock.changed\n"
				   "data: {\"seq\":42}\n"
				   "\n"
				   "event: audience\n"
				   "data: {\"viewers\":14}\n"
				   "\n";
	shop_sse p;
	seen s = {{0}, 0};

	(void)state;
	shop_sse_init(&p);
	assert_int_equal(shop_sse_feed(&p, msgs, strlen(msgs), record, &s), 0);
	assert_string_equal(s.text, "purchase.completed|41|{\"seq\":41}\n"
				    "audience|41|{\"viewers\":12}\n"
				    "audience|41|{\"viewers\":13}\n"
				    "stock.changed|42|{\"seq\":42}\n"
				    "audience|42|{\"viewers\":14}\n");
	assert_string_equal(p.id, "42");
	/* the event type does not stick to the next message */
	assert_int_equal(shop_sse_feed(&p, "data: x\n\n", 9, record, &s), 0);
	assert_non_null(strstr(s.text, "\n|42|x\n"));
	shop_sse_reset(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole),
	    cmocka_unit_test(test_every_cut),
	    cmocka_unit_test(test_crlf_split),
	    cmocka_unit_test(test_too_long),
	    cmocka_unit_test(test_unnumbered_audience),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
