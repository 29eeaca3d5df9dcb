/*
 * What viewers and the host send about questions and polls (SPEC §15):
 * the first byte chooses (mod 6) the viewer text rule on raw bytes, a
 * question, a pin's answer, a saved answer, blocked words, or a poll and
 * a vote; the rest is the input. Whatever is accepted is clean viewer
 * text within its limits, and cleaning is idempotent.
 */
#include "fuzz.h"
#include "lshop/codec.h"
#include "lshop/interaction.h"

static void check_clean(const char *s, long min, long max)
{
	FUZZ_CHECK(lshop_viewer_text_valid(s, strlen(s), min, max));
}

static void text_rule(const char *s, size_t len)
{
	char *once = malloc(len + 1), *twice = malloc(len + 1);
	long n, m;

	FUZZ_CHECK(once != NULL && twice != NULL);
	n = lshop_viewer_text_clean(s, len, once, len + 1);
	FUZZ_CHECK((n < 0) == (lshop_utf8_chars(s, len) < 0));
	if (n >= 0) {
		FUZZ_CHECK(lshop_utf8_chars(once, strlen(once)) == n);
		FUZZ_CHECK(strchr(once, '\n') == NULL &&
			   strchr(once, '\r') == NULL);
		FUZZ_CHECK(once[0] != ' ' &&
			   (n == 0 || once[strlen(once) - 1] != ' '));
		FUZZ_CHECK(strstr(once, "\xe2\x80\xae") == NULL);
		m = lshop_viewer_text_clean(once, strlen(once), twice,
					    len + 1);
		FUZZ_CHECK(m == n && strcmp(once, twice) == 0);
	}
	free(once);
	free(twice);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_in in = {data, size};
	uint8_t which = fuzz_byte(&in);
	size_t len, i;
	char *json = fuzz_rest(&in, &len), *out;
	lshop_question_request q;
	lshop_saved_answer a;
	lshop_blocked_words *w;
	lshop_poll_request *p;
	lshop_vote_request v;
	lshop_error err;
	char answer[LSHOP_QUESTION_MAX + 1];

	switch (which % 6) {
	case 0:
		text_rule(json, len);
		break;
	case 1:
		if (lshop_question_request_parse(json, len, &q, &err) == 0) {
			check_clean(q.text, 1, LSHOP_QUESTION_CHARS);
			check_clean(q.name, 0, LSHOP_VIEWER_NAME_CHARS);
		}
		break;
	case 2:
		if (lshop_question_pin_request_parse(json, len, answer,
						     &err) == 0)
			check_clean(answer, 0, LSHOP_QUESTION_CHARS);
		break;
	case 3:
		if (lshop_saved_answer_parse(json, len, "a1", &a, &err) == 0) {
			check_clean(a.question, 1, LSHOP_QUESTION_CHARS);
			check_clean(a.answer, 1, LSHOP_QUESTION_CHARS);
			out = lshop_saved_answer_to_json(&a, NULL);
			FUZZ_CHECK(out != NULL);
			free(out);
		}
		break;
	case 4:
		w = calloc(1, sizeof(*w));
		FUZZ_CHECK(w != NULL);
		if (lshop_blocked_words_parse(json, len, w, &err) == 0) {
			FUZZ_CHECK(w->n <= LSHOP_BLOCKED_WORDS_MAX);
			for (i = 0; i < w->n; i++) {
				check_clean(w->word[i], 1,
					    LSHOP_BLOCKED_WORD_CHARS);
				/* every word is found in itself */
				FUZZ_CHECK(lshop_blocked_words_match(
				    w, w->word[i], NULL));
			}
			out = lshop_blocked_words_to_json(w, &len);
			FUZZ_CHECK(out != NULL);
			FUZZ_CHECK(lshop_blocked_words_parse(out, len, w,
							     &err) == 0);
			free(out);
		}
		free(w);
		break;
	default:
		p = calloc(1, sizeof(*p));
		FUZZ_CHECK(p != NULL);
		if (lshop_poll_request_parse(json, len, p, &err) == 0) {
			check_clean(p->poll.question, 1, LSHOP_QUESTION_CHARS);
			FUZZ_CHECK(p->poll.options_n >= LSHOP_POLL_OPTIONS_MIN &&
				   p->poll.options_n <= LSHOP_POLL_OPTIONS_MAX);
			for (i = 0; i < (size_t)p->poll.options_n; i++)
				check_clean(p->poll.options[i], 1,
					    LSHOP_POLL_OPTION_CHARS);
			FUZZ_CHECK(p->seconds >= LSHOP_POLL_SECONDS_MIN &&
				   p->seconds <= LSHOP_POLL_SECONDS_MAX);
		}
		if (lshop_vote_request_parse(json, len, 3, &v, &err) == 0)
			FUZZ_CHECK(v.option >= 0 && v.option < 3);
		free(p);
		break;
	}
	free(json);
	return 0;
}
