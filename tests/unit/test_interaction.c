/*
 * Questions, saved answers and polls (SPEC §15): the viewer text rule,
 * every body's parser, the plans, the clock ending a poll, and the state
 * read back.
 */
#include "lshop/interaction.h"
#include "lshop/state.h"
#include "lshop/time.h"

#include "testutil.h"

#define T0 INT64_C(1795514400123) /* 2026-11-24T10:00:00.123Z */

static void clean_is(const char *in, const char *want, long chars)
{
	char out[2048];
	long n = lshop_viewer_text_clean(in, strlen(in), out, sizeof(out));

	assert_int_equal(n, chars);
	assert_string_equal(out, want);
	assert_true(lshop_viewer_text_valid(out, strlen(out), 0, 10000));
}

static void test_viewer_text_rule(void **state)
{
	char out[8], big[2048];
	int i;

	(void)state;
	clean_is("plain", "plain", 5);
	clean_is("  a\r\nb\t\tc  ", "a b c", 5);
	clean_is("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>",
		 28);
	/* U+202E RIGHT-TO-LEFT OVERRIDE and U+2066 LRI go; the rest stays */
	clean_is("abc\xe2\x80\xae" "def\xe2\x81\xa6g", "abcdefg", 7);
	/* U+2028, U+0085 and DEL become spaces; NEL in the middle */
	clean_is("a\xe2\x80\xa8" "b\xc2\x85" "c\x7f" "d", "a b c d", 7);
	clean_is("\r\n\t ", "", 0);
	clean_is("caf\xc3\xa9 \xf0\x9f\x9b\x8d", "caf\xc3\xa9 \xf0\x9f\x9b\x8d",
		 6);
	/* invalid UTF-8 and a too small buffer are refused */
	assert_int_equal(lshop_viewer_text_clean("a\xff", 2, big, sizeof(big)),
			 -1);
	assert_int_equal(lshop_viewer_text_clean("0123456789", 10, out,
						 sizeof(out)),
			 -1);
	/* 280 emoji count 280 */
	big[0] = '\0';
	for (i = 0; i < 280; i++)
		strcat(big, "\xf0\x9f\x98\x80");
	assert_true(lshop_viewer_text_valid(big, strlen(big), 1, 280));
	assert_false(lshop_viewer_text_valid(big, strlen(big), 1, 279));
	assert_false(lshop_viewer_text_valid("a\nb", 3, 1, 280));
	assert_false(lshop_viewer_text_valid(" a", 2, 1, 280));
}

static void test_question_request(void **state)
{
	lshop_question_request q;
	lshop_error err;
	char body[4096], emoji[1200];
	int i;

	(void)state;
#define PARSE(s) lshop_question_request_parse(s, strlen(s), &q, &err)
	assert_int_equal(PARSE("{\"text\":\" Does it\\r\\nfit?\\u202e \","
			       "\"name\":\"Ann\\tB\",\"session\":\"abcdefgh\"}"),
			 0);
	assert_string_equal(q.text, "Does it fit?");
	assert_string_equal(q.name, "Ann B");
	assert_string_equal(q.session, "abcdefgh");
	assert_int_equal(PARSE("{\"text\":\"hi\",\"session\":\"abcdefgh\"}"),
			 0);
	assert_string_equal(q.name, "");

	assert_int_equal(PARSE("{\"text\":\" \\n \",\"session\":\"abcdefgh\"}"),
			 -1);
	assert_string_equal(err.field, "text");
	assert_int_equal(PARSE("{\"session\":\"abcdefgh\"}"), -1);
	assert_string_equal(err.code, "missing_field");
	assert_string_equal(err.field, "text");
	assert_int_equal(PARSE("{\"text\":\"hi\",\"session\":\"short\"}"), -1);
	assert_string_equal(err.field, "session");
	assert_int_equal(PARSE("{\"text\":\"hi\",\"session\":\"abcdefgh\","
			       "\"name\":\"0123456789012345678901234567890"
			       "123456789x\"}"),
			 -1);
	assert_string_equal(err.field, "name");
	assert_int_equal(PARSE("{\"text\":\"hi\",\"session\":\"abcdefgh\","
			       "\"ip\":\"1.2.3.4\"}"),
			 -1);
	assert_int_equal(PARSE("{\"text\":\"a\\u0000b\",\"session\":\"abcdefgh\"}"),
			 -1);
	assert_int_equal(PARSE("not json"), -1);
	assert_string_equal(err.code, "invalid_json");

	/* 280 emoji pass; 281 do not */
	emoji[0] = '\0';
	for (i = 0; i < 280; i++)
		strcat(emoji, "\xf0\x9f\x98\x80");
	snprintf(body, sizeof(body),
		 "{\"text\":\"%s\",\"session\":\"abcdefgh\"}", emoji);
	assert_int_equal(PARSE(body), 0);
	assert_int_equal(strlen(q.text), 1120);
	snprintf(body, sizeof(body),
		 "{\"text\":\"%sx\",\"session\":\"abcdefgh\"}", emoji);
	assert_int_equal(PARSE(body), -1);
	assert_string_equal(err.field, "text");
#undef PARSE
}

static void test_answers_and_words(void **state)
{
	lshop_saved_answer a;
	lshop_blocked_words *w = calloc(1, sizeof(*w));
	lshop_question q;
	lshop_error err;
	const char *which = NULL;
	char answer[LSHOP_QUESTION_MAX + 1], *s;
	const char *body = "{\"question\":\"Versand?\",\"answer\":"
			   "\"Ab 50 \xe2\x82\xac frei\"}";

	(void)state;
	assert_int_equal(lshop_saved_answer_parse(body, strlen(body),
						  "shipping", &a, &err),
			 0);
	s = lshop_saved_answer_to_json(&a, NULL);
	assert_string_equal(s, "{\"id\":\"shipping\",\"question\":\"Versand?\","
			       "\"answer\":\"Ab 50 \xe2\x82\xac frei\"}");
	free(s);
	lshop_saved_answer_question(&a, &q);
	assert_string_equal(q.id, "shipping");
	assert_string_equal(q.text, "Versand?");
	assert_string_equal(q.name, "");
	assert_string_equal(q.answer, "Ab 50 \xe2\x82\xac frei");
	assert_int_equal(lshop_saved_answer_parse("{\"question\":\"x\"}", 16,
						  "shipping", &a, &err),
			 -1);
	assert_string_equal(err.field, "answer");
	assert_int_equal(lshop_saved_answer_parse("{}", 2, "bad id", &a, &err),
			 -1);

	assert_int_equal(lshop_question_pin_request_parse(NULL, 0, answer,
							  &err),
			 0);
	assert_string_equal(answer, "");
	body = "{\"answer\":\"Yes\\n!\"}";
	assert_int_equal(lshop_question_pin_request_parse(body, strlen(body),
							  answer, &err),
			 0);
	assert_string_equal(answer, "Yes !");

	body = "{\"words\":[\"Spam\",\"SPAM\",\"scam link\"]}";
	assert_int_equal(lshop_blocked_words_parse(body, strlen(body), w, &err),
			 0);
	assert_int_equal(w->n, 2);
	s = lshop_blocked_words_to_json(w, NULL);
	assert_string_equal(s, "{\"words\":[\"spam\",\"scam link\"]}");
	free(s);
	assert_true(lshop_blocked_words_match(w, "Buy SpAm now", &which));
	assert_string_equal(which, "spam");
	assert_true(lshop_blocked_words_match(w, "a Scam Link here", NULL));
	assert_false(lshop_blocked_words_match(w, "scam-link", NULL));
	body = "{\"words\":[\"ok\",\"\"]}";
	assert_int_equal(lshop_blocked_words_parse(body, strlen(body), w, &err),
			 -1);
	assert_string_equal(err.field, "words[1]");
	free(w);
}

static void test_poll_and_vote_requests(void **state)
{
	lshop_poll_request r;
	lshop_vote_request v;
	lshop_error err;

	(void)state;
#define POLL(s) lshop_poll_request_parse(s, strlen(s), &r, &err)
	assert_int_equal(POLL("{\"question\":\"Next?\",\"options\":[\"Red\","
			      "\"Blue\\n\",\"Green\"],\"seconds\":20}"),
			 0);
	assert_int_equal(r.poll.options_n, 3);
	assert_string_equal(r.poll.options[1], "Blue");
	assert_int_equal(r.seconds, 20);
	assert_int_equal(POLL("{\"question\":\"Next?\",\"options\":[\"Red\"],"
			      "\"seconds\":20}"),
			 -1);
	assert_string_equal(err.field, "options");
	assert_int_equal(POLL("{\"question\":\"Next?\",\"options\":[\"a\",\"b\","
			      "\"c\",\"d\",\"e\"],\"seconds\":20}"),
			 -1);
	assert_int_equal(POLL("{\"question\":\"Next?\",\"options\":[\"Red\","
			      "\" Red \"],\"seconds\":20}"),
			 -1);
	assert_string_equal(err.field, "options[1]");
	assert_int_equal(POLL("{\"question\":\"Next?\",\"options\":[\"a\","
			      "\"b\"],\"seconds\":5}"),
			 -1);
	assert_string_equal(err.field, "seconds");
#undef POLL
#define VOTE(s, n) lshop_vote_request_parse(s, strlen(s), n, &v, &err)
	assert_int_equal(VOTE("{\"option\":1,\"session\":\"abcdefgh\"}", 2), 0);
	assert_int_equal(v.option, 1);
	assert_int_equal(VOTE("{\"option\":2,\"session\":\"abcdefgh\"}", 2), -1);
	assert_string_equal(err.field, "option");
	assert_int_equal(VOTE("{\"option\":-1,\"session\":\"abcdefgh\"}", 2),
			 -1);
	assert_int_equal(VOTE("{\"option\":\"1\",\"session\":\"abcdefgh\"}", 2),
			 -1);
	assert_int_equal(VOTE("{\"option\":0}", 2), -1);
	assert_string_equal(err.field, "session");
#undef VOTE
}

static void apply_all(lshop_state *st, lshop_event *ev, size_t n)
{
	lshop_error err;
	size_t i;

	for (i = 0; i < n; i++) {
		ev[i].seq = st->seq + 1;
		strcpy(ev[i].stream, "live/demo");
		if (lshop_state_apply(st, &ev[i], &err))
			fail_msg("%s", err.message);
	}
}

static void test_plans_and_state(void **state)
{
	lshop_event out[LSHOP_PLAN_MAX];
	lshop_state st, back;
	lshop_question q;
	lshop_poll p;
	lshop_error err;
	size_t n;
	char *s;

	(void)state;
	lshop_state_init(&st);
	n = lshop_state_plan_question_unpin(&st, T0, out, &err);
	assert_int_equal(n, 0);
	assert_string_equal(err.code, "not_pinned");

	memset(&q, 0, sizeof(q));
	strcpy(q.id, "q1");
	strcpy(q.text, "bad\ntext");
	assert_int_equal(lshop_state_plan_question_pin(&st, &q, T0, out, &err),
			 0);
	memset(q.text, 0, sizeof(q.text));
	strcpy(q.text, "Fits?");
	n = lshop_state_plan_question_pin(&st, &q, T0, out, &err);
	assert_int_equal(n, 1);
	apply_all(&st, out, n);
	strcpy(q.id, "q2");
	strcpy(q.answer, "Yes");
	/* a second pin unpins the first, stamped at the edge */
	n = lshop_state_plan_question_pin(&st, &q, T0 - 5000, out, &err);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].type, LSHOP_QUESTION_UNPINNED);
	assert_string_equal(out[0].question.id, "q1");
	assert_int_equal(out[1].type, LSHOP_QUESTION_PINNED);
	assert_true(out[1].at_ms == T0);
	apply_all(&st, out, n);

	memset(&p, 0, sizeof(p));
	strcpy(p.id, "p3");
	strcpy(p.question, "Next?");
	p.options_n = 2;
	strcpy(p.options[0], "Red");
	strcpy(p.options[1], "Blue");
	assert_int_equal(lshop_state_plan_poll_start(&st, &p, 5, T0, out, &err),
			 0);
	n = lshop_state_plan_poll_start(&st, &p, 20, T0 + 1000, out, &err);
	assert_int_equal(n, 1);
	assert_true(out[0].poll.ends_at_ms == T0 + 21000);
	apply_all(&st, out, n);
	assert_true(lshop_state_next_due(&st) == T0 + 21000);
	assert_int_equal(lshop_state_due(&st, T0 + 20999, out), 0);

	/* the state with both, read back */
	st.poll.counts[0] = 4;
	st.poll.counts[1] = 1;
	s = lshop_state_to_json(&st, "live/demo", T0 + 2000, NULL, 0, NULL);
	assert_non_null(strstr(s, "\"question\":{\"id\":\"live/demo:3\","));
	assert_non_null(strstr(s, "\"answer\":\"Yes\""));
	assert_non_null(strstr(s, "\"poll\":{\"id\":\"live/demo:4\","));
	assert_non_null(strstr(s, "\"counts\":[4,1]"));
	assert_int_equal(lshop_state_parse(s, strlen(s), &back, NULL, NULL, 0,
					   NULL, &err),
			 0);
	assert_memory_equal(&back.question, &st.question, sizeof(st.question));
	assert_memory_equal(&back.poll, &st.poll, sizeof(st.poll));
	free(s);

	/* the clock ends the poll with zero counts for the host to fill */
	n = lshop_state_due(&st, T0 + 30000, out);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].type, LSHOP_POLL_ENDED);
	assert_string_equal(out[0].poll.id, "p3");
	assert_int_equal(out[0].poll.options_n, 2);
	assert_true(out[0].at_ms == T0 + 21000);
	assert_true(out[0].poll.counts[0] == 0);
	out[0].poll.counts[0] = 4;
	out[0].poll.counts[1] = 1;
	s = lshop_event_to_json(&out[0], NULL);
	assert_non_null(strstr(s, "\"counts\":[4,1]"));
	free(s);
	apply_all(&st, out, n);
	assert_false(st.poll_live);
	n = lshop_state_plan_poll_end(&st, NULL, T0, out, &err);
	assert_int_equal(n, 0);
	assert_string_equal(err.code, "not_running");

	/* starting a poll while one runs ends that one first */
	n = lshop_state_plan_poll_start(&st, &p, 20, T0 + 30000, out, &err);
	apply_all(&st, out, n);
	strcpy(p.id, "p9");
	n = lshop_state_plan_poll_start(&st, &p, 20, T0 + 31000, out, &err);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].type, LSHOP_POLL_ENDED);
	assert_string_equal(out[0].poll.id, "p3");
	assert_int_equal(out[1].type, LSHOP_POLL_STARTED);
	n = lshop_state_plan_poll_end(&st, "p9", T0, out, &err);
	assert_int_equal(n, 0);
	assert_string_equal(err.code, "not_running");
}

/* Events from a journal are checked as strictly as requests. */
static void test_event_parse_rejects_unclean(void **state)
{
	lshop_event ev;
	lshop_error err;
	const char *bad[] = {
	    "{\"seq\":1,\"id\":\"live/demo:1\",\"type\":\"question.pinned\","
	    "\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:00:00.123Z\","
	    "\"data\":{\"id\":\"q1\",\"text\":\"a\\nb\",\"name\":\"\"}}",
	    "{\"seq\":1,\"id\":\"live/demo:1\",\"type\":\"question.pinned\","
	    "\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:00:00.123Z\","
	    "\"data\":{\"id\":\"q1\",\"text\":\"\",\"name\":\"\"}}",
	    "{\"seq\":1,\"id\":\"live/demo:1\",\"type\":\"poll.started\","
	    "\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:00:00.123Z\","
	    "\"data\":{\"id\":\"p1\",\"question\":\"q\",\"options\":[\"a\"],"
	    "\"ends_at\":\"2026-11-24T10:00:00.123Z\"}}",
	    "{\"seq\":1,\"id\":\"live/demo:1\",\"type\":\"poll.ended\","
	    "\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:00:00.123Z\","
	    "\"data\":{\"id\":\"p1\",\"counts\":[1,-1]}}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    lshop_event_parse(bad[i], strlen(bad[i]), &ev, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_viewer_text_rule),
	    cmocka_unit_test(test_question_request),
	    cmocka_unit_test(test_answers_and_words),
	    cmocka_unit_test(test_poll_and_vote_requests),
	    cmocka_unit_test(test_plans_and_state),
	    cmocka_unit_test(test_event_parse_rejects_unclean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
