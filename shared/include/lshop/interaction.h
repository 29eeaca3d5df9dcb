/*
 * liveshop core: what viewers and the host say to each other (SPEC §15):
 * questions, saved answers, polls, and the rule for viewer text.
 *
 * Anything a viewer writes can end up in the video, so every text here
 * passes one rule, lshop_viewer_text_clean, before it is counted, stored
 * or sent: controls become spaces, bidi controls go, spaces collapse.
 */
#ifndef LSHOP_INTERACTION_H
#define LSHOP_INTERACTION_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "offer.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LSHOP_QUESTION_CHARS     280 /* question text, answer, poll question */
#define LSHOP_VIEWER_NAME_CHARS  40
#define LSHOP_POLL_OPTION_CHARS  60
#define LSHOP_QUESTION_MAX       (LSHOP_QUESTION_CHARS * 4) /* bytes */
#define LSHOP_VIEWER_NAME_MAX    (LSHOP_VIEWER_NAME_CHARS * 4)
#define LSHOP_POLL_OPTION_MAX    (LSHOP_POLL_OPTION_CHARS * 4)
#define LSHOP_POLL_OPTIONS_MIN   2
#define LSHOP_POLL_OPTIONS_MAX   4
#define LSHOP_POLL_SECONDS_MIN   10
#define LSHOP_POLL_SECONDS_MAX   3600
#define LSHOP_SESSION_MAX        64
#define LSHOP_BLOCKED_WORDS_MAX  200
#define LSHOP_BLOCKED_WORD_CHARS 40
#define LSHOP_BLOCKED_WORD_MAX   (LSHOP_BLOCKED_WORD_CHARS * 4)

/* A question as pinned: a viewer's, or a saved answer's. */
typedef struct lshop_question {
	char id[LSHOP_ID_MAX + 1];
	char text[LSHOP_QUESTION_MAX + 1];
	char name[LSHOP_VIEWER_NAME_MAX + 1];   /* "": anonymous */
	char answer[LSHOP_QUESTION_MAX + 1];    /* "": none */
} lshop_question;

/* A poll; counts only in poll.ended (and in the host's live tally). */
typedef struct lshop_poll {
	char id[LSHOP_ID_MAX + 1];
	char question[LSHOP_QUESTION_MAX + 1];
	int options_n;
	char options[LSHOP_POLL_OPTIONS_MAX][LSHOP_POLL_OPTION_MAX + 1];
	int64_t ends_at_ms;
	int64_t counts[LSHOP_POLL_OPTIONS_MAX];
} lshop_poll;

/* A saved answer ("gespeicherte Antwort"), prepared before the show. */
typedef struct lshop_saved_answer {
	char id[LSHOP_ID_MAX + 1];
	char question[LSHOP_QUESTION_MAX + 1];
	char answer[LSHOP_QUESTION_MAX + 1];
} lshop_saved_answer;

/*
 * The rule for viewer text: in must be valid UTF-8 (else -1). Every C0
 * and C1 control (CR, LF, TAB, NUL, ...), U+0085, U+2028 and U+2029
 * become a space; the bidi controls U+200E, U+200F, U+202A-U+202E and
 * U+2066-U+2069 are removed; runs of spaces collapse into one, and
 * leading and trailing spaces go. Writes the result, NUL-terminated, into
 * out (cap ≥ len + 1 always suffices: the text only shrinks) and returns
 * its length in code points; -1 for invalid UTF-8 or a too small out.
 */
long lshop_viewer_text_clean(const char *in, size_t len, char *out,
			     size_t cap);

/*
 * 1 if s (len bytes) is viewer text already clean (what the clean
 * rule leaves unchanged) of min..max code points.
 */
int lshop_viewer_text_valid(const char *s, size_t len, long min, long max);

/* A viewer's question: POST …/questions. */
typedef struct lshop_question_request {
	char text[LSHOP_QUESTION_MAX + 1];
	char name[LSHOP_VIEWER_NAME_MAX + 1];
	char session[LSHOP_SESSION_MAX + 1];
} lshop_question_request;

/*
 * Parses {"text":"…","name":"…","session":"…"}: text 1-280 characters
 * and name 0-40 after cleaning, session a player's session id (8-64 of
 * A-Z a-z 0-9 _ -). Returns 0, or -1 with err naming the field.
 */
int lshop_question_request_parse(const char *json, size_t len,
				 lshop_question_request *req,
				 lshop_error *err);

/*
 * Parses the optional body of pinning a question, {"answer":"…"} (0-280
 * characters after cleaning) or nothing (len 0). answer receives it ("" when
 * absent; LSHOP_QUESTION_MAX + 1 bytes). Returns 0, or -1 with err.
 */
int lshop_question_pin_request_parse(const char *json, size_t len,
				     char *answer, lshop_error *err);

/*
 * Parses the body of PUT …/answers/ID, {"question":"…","answer":"…"}
 * (question 1-280, answer 1-280 characters after cleaning) into a saved
 * answer with id (already a valid id). Returns 0, or -1 with err.
 */
int lshop_saved_answer_parse(const char *json, size_t len, const char *id,
			     lshop_saved_answer *answer, lshop_error *err);

/* {"id":…,"question":…,"answer":…}, malloc'd (caller frees); NULL ENOMEM */
char *lshop_saved_answer_to_json(const lshop_saved_answer *a, size_t *len);

/* The question that pinning a saved answer pins: id, text, name "". */
void lshop_saved_answer_question(const lshop_saved_answer *a,
				 lshop_question *q);

/* A list of blocked words, each clean, ASCII-lower-cased viewer text. */
typedef struct lshop_blocked_words {
	size_t n;
	char word[LSHOP_BLOCKED_WORDS_MAX][LSHOP_BLOCKED_WORD_MAX + 1];
} lshop_blocked_words;

/*
 * Parses {"words":["…",…]} (0-200 words of 1-40 characters after
 * cleaning; duplicates after case folding count once). Returns 0, or -1
 * with err naming the field (e.g. "words[3]").
 */
int lshop_blocked_words_parse(const char *json, size_t len,
			      lshop_blocked_words *w, lshop_error *err);

/* {"words":[…]}, malloc'd (caller frees); NULL on ENOMEM. */
char *lshop_blocked_words_to_json(const lshop_blocked_words *w, size_t *len);

/*
 * 1 if clean text contains one of the words, ASCII letters compared
 * without case. The first such word goes to *which if not NULL.
 */
int lshop_blocked_words_match(const lshop_blocked_words *w, const char *text,
			      const char **which);

/* Starting a poll: POST …/polls. */
typedef struct lshop_poll_request {
	lshop_poll poll;   /* question and options; no id, no ends_at yet */
	int64_t seconds;
} lshop_poll_request;

/*
 * Parses {"question":"…","options":["…",…],"seconds":60}: question
 * 1-280 characters, 2-4 options of 1-60 characters (after cleaning, no
 * two alike), seconds 10-3600. Returns 0, or -1 with err naming the
 * field (e.g. "options[2]").
 */
int lshop_poll_request_parse(const char *json, size_t len,
			     lshop_poll_request *req, lshop_error *err);

/* A vote: POST …/polls/ID/vote. */
typedef struct lshop_vote_request {
	int option; /* 0-based */
	char session[LSHOP_SESSION_MAX + 1];
} lshop_vote_request;

/*
 * Parses {"option":N,"session":"…"}; option must be < options_n.
 * Returns 0, or -1 with err naming the field.
 */
int lshop_vote_request_parse(const char *json, size_t len, int options_n,
			     lshop_vote_request *req, lshop_error *err);

/* {"id":"p44","counts":[3,5],"votes":8}: the SSE `poll` message. */
char *lshop_poll_tally_json(const lshop_poll *poll, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
