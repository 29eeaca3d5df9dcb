/*
 * Server-Sent Events (sse.h): messages come out whole however the bytes
 * are cut, with every line ending of the format, a BOM, comments, ids and
 * retry, and the unnumbered "audience" message (SPEC §14) moves no id.
 */
#include "lshop/sse.h"

#include "testutil.h"

/* What the messages were, one "event|id|own|data" line each. */
typedef struct seen {
	char text[8192];
	int n;
	int stop_at; /* stop feeding after this many messages; 0: never */
} seen;

static int record(void *ctx, const lshop_sse_message *msg)
{
	seen *s = ctx;
	size_t at = strlen(s->text);

	assert_int_equal(strlen(msg->data), msg->len);
	snprintf(s->text + at, sizeof(s->text) - at, "%s|%s|%d|%s\n",
		 msg->event, msg->id, msg->own_id, msg->data);
	s->n++;
	return s->n == s->stop_at ? 7 : 0;
}

static lshop_sse *parser(void)
{
	lshop_sse *p = lshop_sse_new();

	assert_non_null(p);
	return p;
}

static int feed(lshop_sse *p, const char *s, seen *out)
{
	return lshop_sse_feed(p, s, strlen(s), record, out, NULL);
}

static const char stream[] = "\xef\xbb\xbf: hello\n"
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

static const char expect[] =
    "state|17|1|{\"stream\":\"live/demo\",\"seq\":17}\n"
    "offer.pinned|18|1|{\"seq\":18}\n"
    "two.lines|18|0|first\n second\n"
    "message|18|0|\n";

static void test_whole(void **state)
{
	lshop_sse *p = parser();
	seen s = {{0}, 0, 0};

	(void)state;
	assert_int_equal(lshop_sse_retry_ms(p), -1);
	assert_int_equal(feed(p, stream, &s), 0);
	assert_string_equal(s.text, expect);
	assert_int_equal(lshop_sse_retry_ms(p), 1000);
	/* the last message waits for its blank line */
	assert_int_equal(s.n, 4);
	assert_string_equal(lshop_sse_last_id(p), "18");
	assert_int_equal(feed(p, "\n", &s), 0);
	assert_int_equal(s.n, 4); /* no data: nothing dispatched, */
	assert_string_equal(lshop_sse_last_id(p), "19"); /* but the id */
	lshop_sse_free(p);
}

/* Cut at every byte, and byte by byte: the same messages. */
static void test_every_cut(void **state)
{
	size_t len = strlen(stream), cut, i;
	lshop_sse *p;
	seen s;

	(void)state;
	for (cut = 0; cut <= len; cut++) {
		memset(&s, 0, sizeof(s));
		p = parser();
		assert_int_equal(
		    lshop_sse_feed(p, stream, cut, record, &s, NULL), 0);
		assert_int_equal(lshop_sse_feed(p, stream + cut, len - cut,
						record, &s, NULL),
				 0);
		assert_string_equal(s.text, expect);
		lshop_sse_free(p);
	}
	memset(&s, 0, sizeof(s));
	p = parser();
	for (i = 0; i < len; i++)
		assert_int_equal(
		    lshop_sse_feed(p, stream + i, 1, record, &s, NULL), 0);
	assert_string_equal(s.text, expect);
	lshop_sse_free(p);
}

/* A CR at the end of one read and the LF at the start of the next are
 * one line end, not two (which would dispatch early). */
static void test_crlf_split(void **state)
{
	lshop_sse *p = parser();
	seen s = {{0}, 0, 0};

	(void)state;
	assert_int_equal(feed(p, "data: a\r", &s), 0);
	assert_int_equal(feed(p, "\ndata: b\r\n", &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(feed(p, "\r\n", &s), 0);
	assert_string_equal(s.text, "message||0|a\nb\n");
	lshop_sse_free(p);
}

/* Only at the start of a stream, and whole: else the bytes are text. */
static void test_bom(void **state)
{
	lshop_sse *p = parser();
	seen s = {{0}, 0, 0};

	(void)state;
	assert_int_equal(feed(p, "\xef", &s), 0);
	assert_int_equal(feed(p, "\273\277data: 1\n\n", &s), 0);
	/* mid-stream, "\357\273\277data" is a field with another name */
	assert_int_equal(feed(p, "\357\273\277data: 2\n\n", &s), 0);
	lshop_sse_reset(p);
	assert_int_equal(feed(p, "\357\273data: 3\n\n", &s), 0);
	lshop_sse_reset(p);
	assert_int_equal(feed(p, "\357\273\277data: 4\n\n", &s), 0);
	assert_string_equal(s.text, "message||0|1\nmessage||0|4\n");
	lshop_sse_free(p);
}

/*
 * The fields as the standard reads them: one space dropped, not two; a
 * line without a colon is a name with an empty value; an id holding NUL
 * is ignored; "id" alone empties the id; "retry" takes digits only.
 */
static void test_fields(void **state)
{
	static const char msgs[] = "data:no space\n"
				   "data:  two spaces\n"
				   "DATA: case matters\n"
				   "unknown: field\n"
				   "event\n"
				   "\n"
				   "id: 5\n"
				   "data: a\n"
				   "\n"
				   "id: 6\0 7\n"
				   "retry: 12x\n"
				   "data: b\n"
				   "\n"
				   "id\n"
				   "retry: 300\n"
				   "retry:\n"
				   "data: c\n"
				   "\n";
	lshop_sse *p = parser();
	seen s = {{0}, 0, 0};

	(void)state;
	assert_int_equal(
	    lshop_sse_feed(p, msgs, sizeof(msgs) - 1, record, &s, NULL), 0);
	assert_string_equal(s.text, "message||0|no space\n two spaces\n"
				    "message|5|1|a\n"
				    "message|5|0|b\n"
				    "message||1|c\n");
	assert_int_equal(lshop_sse_retry_ms(p), 300);
	lshop_sse_free(p);
}

/* Data may hold NUL: len says where it ends. */
static int nul_data(void *ctx, const lshop_sse_message *msg)
{
	size_t *len = ctx;

	assert_int_equal(msg->data[msg->len], '\0');
	assert_memory_equal(msg->data, "a\0b", 3);
	*len = msg->len;
	return 0;
}

static void test_nul_data_len(void **state)
{
	static const char msg[] = "data: a\0b\n\n";
	lshop_sse *p = parser();
	size_t len = 0;

	(void)state;
	assert_int_equal(
	    lshop_sse_feed(p, msg, sizeof(msg) - 1, nul_data, &len, NULL), 0);
	assert_int_equal(len, 3);
	lshop_sse_free(p);
}

/* The callback stops the feed: the rest of the bytes is not read. */
static void test_stop(void **state)
{
	lshop_sse *p = parser();
	seen s = {{0}, 0, 1};

	(void)state;
	assert_int_equal(feed(p, "data: 1\r", &s), 0);
	assert_int_equal(feed(p, "\r\ndata: 2\n\n", &s), 7);
	assert_string_equal(s.text, "message||0|1\n");
	lshop_sse_free(p);
}

static int count(void *ctx, const lshop_sse_message *msg)
{
	size_t *len = ctx;

	*len = msg->len;
	return 0;
}

static void test_too_long(void **state)
{
	size_t n = LSHOP_SSE_MAX + 20, len = 0;
	char *big = malloc(n);
	const char *id;
	lshop_sse *p = parser();
	seen s = {{0}, 0, 0};
	lshop_error err;

	(void)state;
	assert_non_null(big);
	/* a line of LSHOP_SSE_MAX bytes, and one more */
	memset(big, 'x', n);
	memcpy(big, "data:", 5);
	memcpy(big + LSHOP_SSE_MAX, "\n\n", 2);
	assert_int_equal(
	    lshop_sse_feed(p, big, LSHOP_SSE_MAX + 2, count, &len, &err), 0);
	assert_int_equal(len, LSHOP_SSE_MAX - 5);
	memcpy(big + LSHOP_SSE_MAX, "x\n\n", 3);
	assert_int_equal(
	    lshop_sse_feed(p, big, LSHOP_SSE_MAX + 3, count, &len, &err), -1);
	assert_string_equal(err.code, "too_long");
	assert_string_equal(err.field, "line");
	/* reset: a new stream reads fine */
	assert_int_equal(feed(p, "data: ok\n\n", &s), 0);
	assert_string_equal(s.text, "message||0|ok\n");

	/* lines within the limit, their message's data over it */
	memset(big, 'x', n);
	memcpy(big, "data:", 5);
	big[LSHOP_SSE_MAX / 2] = '\n';
	memcpy(big + LSHOP_SSE_MAX / 2 + 1, "data:", 5);
	big[n - 1] = '\n';
	assert_int_equal(lshop_sse_feed(p, big, n, record, &s, &err), -1);
	assert_string_equal(err.field, "data");
	free(big);

	/* an id of 64 bytes: one cut short would resume from the wrong
	 * place */
	assert_int_equal(feed(p, "id: x\n", &s), 0);
	id = "id: 0123456789012345678901234567890123456789"
	     "012345678901234567890123\n";
	assert_int_equal(lshop_sse_feed(p, id, strlen(id), record, &s, &err),
			 -1);
	assert_string_equal(err.field, "id");
	assert_int_equal(s.n, 1);
	lshop_sse_free(p);
}

/* A long event type is cut, as both former parsers did. */
static void test_long_event(void **state)
{
	char msg[256];
	lshop_sse *p = parser();
	seen s = {{0}, 0, 0};

	(void)state;
	snprintf(msg, sizeof(msg), "event: %0100d\ndata: x\n\n", 0);
	assert_int_equal(feed(p, msg, &s), 0);
	assert_int_equal(strlen(s.text),
			 LSHOP_SSE_EVENT_MAX + strlen("||0|x\n"));
	lshop_sse_free(p);
}

/*
 * SPEC §14: "event: audience" with no "id:" line between numbered
 * events. It comes with the id before it (the standard's last event ID
 * persists; nothing here resets or moves it), so a client that resumes
 * from the last id still asks for what follows the last event; own_id
 * tells that it named none itself.
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
	lshop_sse *p = parser();
	seen s = {{0}, 0, 0};

	(void)state;
	assert_int_equal(feed(p, msgs, &s), 0);
	assert_string_equal(s.text, "purchase.completed|41|1|{\"seq\":41}\n"
				    "audience|41|0|{\"viewers\":12}\n"
				    "audience|41|0|{\"viewers\":13}\n"
				    "stock.changed|42|1|{\"seq\":42}\n"
				    "audience|42|0|{\"viewers\":14}\n");
	assert_string_equal(lshop_sse_last_id(p), "42");
	/* the event type does not stick to the next message */
	assert_int_equal(feed(p, "data: x\n\n", &s), 0);
	assert_non_null(strstr(s.text, "\nmessage|42|0|x\n"));
	lshop_sse_free(p);
}

/*
 * A reconnection: a partial message is forgotten; the last event ID is
 * kept for Last-Event-ID, and the new stream's messages start with none
 * (the standard gives each stream an empty ID buffer).
 */
static void test_reset(void **state)
{
	lshop_sse *p = parser();
	seen s = {{0}, 0, 0};

	(void)state;
	assert_int_equal(
	    feed(p, "retry: 500\nid: 9\ndata: a\n\nid: 10\ndata: b\n", &s), 0);
	lshop_sse_reset(p);
	assert_string_equal(lshop_sse_last_id(p), "9");
	assert_int_equal(lshop_sse_retry_ms(p), 500);
	assert_int_equal(feed(p, "\ndata: c\n\n", &s), 0);
	assert_string_equal(s.text, "message|9|1|a\nmessage||0|c\n");
	assert_string_equal(lshop_sse_last_id(p), "");
	lshop_sse_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole),
	    cmocka_unit_test(test_every_cut),
	    cmocka_unit_test(test_crlf_split),
	    cmocka_unit_test(test_bom),
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_nul_data_len),
	    cmocka_unit_test(test_stop),
	    cmocka_unit_test(test_too_long),
	    cmocka_unit_test(test_long_event),
	    cmocka_unit_test(test_unnumbered_audience),
	    cmocka_unit_test(test_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
