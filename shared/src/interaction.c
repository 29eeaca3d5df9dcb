/*
 * liveshop core: questions, saved answers, polls (SPEC §15).
 */
#include <stdlib.h>
#include <string.h>

#include "lshop/audience.h"
#include "lshop/interaction.h"

#include "internal.h"

/* The code point of the valid sequence of n bytes at s. */
static uint32_t code_point(const unsigned char *s, size_t n)
{
	switch (n) {
	case 1:
		return s[0];
	case 2:
		return (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
	case 3:
		return (uint32_t)(s[0] & 0x0f) << 12 |
		       (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
	default:
		return (uint32_t)(s[0] & 0x07) << 18 |
		       (uint32_t)(s[1] & 0x3f) << 12 |
		       (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
	}
}

/* Controls and separators that break lines or fields: they become a space. */
static int becomes_space(uint32_t c)
{
	return c < 0x20 || c == 0x20 || (c >= 0x7f && c <= 0x9f) ||
	       c == 0x2028 || c == 0x2029;
}

/* Bidi controls: a viewer's text must not reorder what surrounds it. */
static int is_bidi_control(uint32_t c)
{
	return c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2066 && c <= 0x2069);
}

long lshop_viewer_text_clean(const char *in, size_t len, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, o = 0, n;
	int space = 0; /* a space is owed before the next character */
	long chars = 0;
	uint32_t c;

	if (cap == 0)
		return -1;
	while (i < len) {
		n = lshop_utf8_seq(p + i, len - i);
		if (n == 0)
			return -1;
		c = code_point(p + i, n);
		if (becomes_space(c)) {
			space = o > 0;
		} else if (!is_bidi_control(c)) {
			if (o + space + n + 1 > cap)
				return -1;
			if (space) {
				out[o++] = ' ';
				chars++;
				space = 0;
			}
			memcpy(out + o, p + i, n);
			o += n;
			chars++;
		}
		i += n;
	}
	out[o] = '\0';
	return chars;
}

int lshop_viewer_text_valid(const char *s, size_t len, long min, long max)
{
	char *clean;
	long chars;
	int ok;

	clean = malloc(len + 1);
	if (clean == NULL)
		return 0;
	chars = lshop_viewer_text_clean(s, len, clean, len + 1);
	ok = chars >= min && chars <= max && strlen(clean) == len &&
	     memcmp(clean, s, len) == 0;
	free(clean);
	return ok;
}

/*
 * obj[key] as viewer text of min..max characters after cleaning, into out
 * (cap bytes). Absent (or null) is "" when min is 0. field names the key
 * in errors (it may differ from key, e.g. "options[2]").
 */
static int viewer_text_field(const json_t *v, const char *field, long min,
			     long max, char *out, size_t cap, lshop_error *err)
{
	const char *s;
	size_t len;
	long chars;
	char *clean;

	if (v == NULL) {
		if (min == 0) {
			out[0] = '\0';
			return 0;
		}
		lshop_error_set(err, "missing_field", field,
				"%s is required: a text of %ld-%ld characters",
				field, min, max);
		return -1;
	}
	if (!lshop_json_text(v, &s, &len)) {
		lshop_error_set(err, "invalid_field", field,
				"%s must be a string of valid UTF-8", field);
		return -1;
	}
	clean = malloc(len + 1);
	if (clean == NULL) {
		lshop_error_set(err, "no_memory", field, "out of memory");
		return -1;
	}
	chars = lshop_viewer_text_clean(s, len, clean, len + 1);
	if (chars < min || chars > max || strlen(clean) >= cap) {
		lshop_error_set(err, "invalid_field", field,
				"%s must hold %ld-%ld characters (line breaks "
				"and controls count as one space; %ld here)",
				field, min, max, chars < 0 ? 0 : chars);
		free(clean);
		return -1;
	}
	memcpy(out, clean, strlen(clean) + 1);
	free(clean);
	return 0;
}

static const char *const question_keys[] = {"text", "name", "session", NULL};

int lshop_question_request_parse(const char *json, size_t len,
				 lshop_question_request *req,
				 lshop_error *err)
{
	lshop_question_request r;
	json_t *v;
	int rc = -1;

	v = lshop_json_load(json, len, "question", err);
	if (v == NULL)
		return -1;
	memset(&r, 0, sizeof(r));
	if (lshop_json_known_keys(v, question_keys, "", err) ||
	    viewer_text_field(lshop_json_get(v, "text"), "text", 1,
			      LSHOP_QUESTION_CHARS, r.text, sizeof(r.text),
			      err) ||
	    viewer_text_field(lshop_json_get(v, "name"), "name", 0,
			      LSHOP_VIEWER_NAME_CHARS, r.name, sizeof(r.name),
			      err) ||
	    lshop_json_session_field(v, r.session, err))
		goto out;
	*req = r;
	rc = 0;
out:
	json_decref(v);
	return rc;
}

static const char *const pin_keys[] = {"answer", NULL};

int lshop_question_pin_request_parse(const char *json, size_t len,
				     char *answer, lshop_error *err)
{
	char a[LSHOP_QUESTION_MAX + 1];
	json_t *v;
	int rc = -1;

	if (len == 0) {
		answer[0] = '\0';
		return 0;
	}
	v = lshop_json_load(json, len, "pin", err);
	if (v == NULL)
		return -1;
	if (lshop_json_known_keys(v, pin_keys, "", err) ||
	    viewer_text_field(lshop_json_get(v, "answer"), "answer", 0,
			      LSHOP_QUESTION_CHARS, a, sizeof(a), err))
		goto out;
	memcpy(answer, a, strlen(a) + 1);
	rc = 0;
out:
	json_decref(v);
	return rc;
}

static const char *const answer_keys[] = {"question", "answer", NULL};

int lshop_saved_answer_parse(const char *json, size_t len, const char *id,
			     lshop_saved_answer *answer, lshop_error *err)
{
	lshop_saved_answer a;
	json_t *v;
	int rc = -1;

	if (!lshop_id_valid(id, strlen(id))) {
		lshop_error_set(err, "invalid_field", "id",
				"a saved answer's id must be 1-64 of A-Z a-z "
				"0-9 . _ -");
		return -1;
	}
	v = lshop_json_load(json, len, "saved answer", err);
	if (v == NULL)
		return -1;
	memset(&a, 0, sizeof(a));
	memcpy(a.id, id, strlen(id));
	if (lshop_json_known_keys(v, answer_keys, "", err) ||
	    viewer_text_field(lshop_json_get(v, "question"), "question", 1,
			      LSHOP_QUESTION_CHARS, a.question,
			      sizeof(a.question), err) ||
	    viewer_text_field(lshop_json_get(v, "answer"), "answer", 1,
			      LSHOP_QUESTION_CHARS, a.answer, sizeof(a.answer),
			      err))
		goto out;
	*answer = a;
	rc = 0;
out:
	json_decref(v);
	return rc;
}

json_t *lshop_saved_answer_object(const lshop_saved_answer *a)
{
	json_t *v = json_object();

	if (v != NULL && (lshop_json_set(v, "id", json_string(a->id)) ||
			  lshop_json_set(v, "question",
					 json_string(a->question)) ||
			  lshop_json_set(v, "answer", json_string(a->answer)))) {
		json_decref(v);
		v = NULL;
	}
	return v;
}

char *lshop_saved_answer_to_json(const lshop_saved_answer *a, size_t *len)
{
	return lshop_json_dump_owned(lshop_saved_answer_object(a), len);
}

void lshop_saved_answer_question(const lshop_saved_answer *a,
				 lshop_question *q)
{
	memset(q, 0, sizeof(*q));
	memcpy(q->id, a->id, sizeof(q->id));
	memcpy(q->text, a->question, sizeof(q->text));
	memcpy(q->answer, a->answer, sizeof(q->answer));
}

/* ASCII letters folded to lower case; everything else as is. */
static void fold_ascii(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static const char *const words_keys[] = {"words", NULL};

int lshop_blocked_words_parse(const char *json, size_t len,
			      lshop_blocked_words *w, lshop_error *err)
{
	lshop_blocked_words *r;
	char field[40];
	json_t *v, *a;
	size_t i, k;
	int rc = -1;

	v = lshop_json_load(json, len, "blocked words", err);
	if (v == NULL)
		return -1;
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		lshop_error_set(err, "no_memory", "words", "out of memory");
		goto out;
	}
	if (lshop_json_known_keys(v, words_keys, "", err))
		goto out;
	a = json_object_get(v, "words");
	if (a == NULL || !json_is_array(a) ||
	    json_array_size(a) > LSHOP_BLOCKED_WORDS_MAX) {
		lshop_error_set(err, a ? "invalid_field" : "missing_field",
				"words",
				"words must be a list of up to %d words",
				LSHOP_BLOCKED_WORDS_MAX);
		goto out;
	}
	for (i = 0; i < json_array_size(a); i++) {
		snprintf(field, sizeof(field), "words[%zu]", i);
		if (viewer_text_field(json_array_get(a, i), field, 1,
				      LSHOP_BLOCKED_WORD_CHARS,
				      r->word[r->n], sizeof(r->word[0]), err))
			goto out;
		fold_ascii(r->word[r->n]);
		for (k = 0; k < r->n; k++)
			if (strcmp(r->word[k], r->word[r->n]) == 0)
				break;
		if (k == r->n)
			r->n++;
		else
			memset(r->word[r->n], 0, sizeof(r->word[0]));
	}
	memcpy(w, r, sizeof(*w));
	rc = 0;
out:
	free(r);
	json_decref(v);
	return rc;
}

json_t *lshop_blocked_words_array(const lshop_blocked_words *w)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < w->n; i++) {
		if (json_array_append_new(a, json_string(w->word[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

char *lshop_blocked_words_to_json(const lshop_blocked_words *w, size_t *len)
{
	json_t *v = json_object();

	if (v != NULL && lshop_json_set(v, "words", lshop_blocked_words_array(w))) {
		json_decref(v);
		v = NULL;
	}
	return lshop_json_dump_owned(v, len);
}

int lshop_blocked_words_match(const lshop_blocked_words *w, const char *text,
			      const char **which)
{
	char *folded;
	size_t i;
	int hit = 0;

	if (w->n == 0)
		return 0;
	folded = strdup(text);
	if (folded == NULL)
		return 1; /* hold for review rather than let it through */
	fold_ascii(folded);
	for (i = 0; i < w->n && !hit; i++) {
		if (strstr(folded, w->word[i]) != NULL) {
			hit = 1;
			if (which != NULL)
				*which = w->word[i];
		}
	}
	free(folded);
	return hit;
}

static const char *const poll_keys[] = {"question", "options", "seconds",
					NULL};

int lshop_poll_request_parse(const char *json, size_t len,
			     lshop_poll_request *req, lshop_error *err)
{
	lshop_poll_request *r;
	char field[40];
	json_t *v, *a, *j;
	size_t i, k;
	int rc = -1;

	v = lshop_json_load(json, len, "poll", err);
	if (v == NULL)
		return -1;
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		lshop_error_set(err, "no_memory", "poll", "out of memory");
		goto out;
	}
	if (lshop_json_known_keys(v, poll_keys, "", err) ||
	    viewer_text_field(lshop_json_get(v, "question"), "question", 1,
			      LSHOP_QUESTION_CHARS, r->poll.question,
			      sizeof(r->poll.question), err))
		goto out;
	a = json_object_get(v, "options");
	if (a == NULL || !json_is_array(a) ||
	    json_array_size(a) < LSHOP_POLL_OPTIONS_MIN ||
	    json_array_size(a) > LSHOP_POLL_OPTIONS_MAX) {
		lshop_error_set(err, a ? "invalid_field" : "missing_field",
				"options",
				"options must be a list of %d-%d texts",
				LSHOP_POLL_OPTIONS_MIN, LSHOP_POLL_OPTIONS_MAX);
		goto out;
	}
	for (i = 0; i < json_array_size(a); i++) {
		snprintf(field, sizeof(field), "options[%zu]", i);
		if (viewer_text_field(json_array_get(a, i), field, 1,
				      LSHOP_POLL_OPTION_CHARS,
				      r->poll.options[i],
				      sizeof(r->poll.options[i]), err))
			goto out;
		for (k = 0; k < i; k++) {
			if (strcmp(r->poll.options[k], r->poll.options[i]))
				continue;
			lshop_error_set(err, "invalid_field", field,
					"%s repeats options[%zu]; each option "
					"must differ",
					field, k);
			goto out;
		}
	}
	r->poll.options_n = (int)i;
	j = json_object_get(v, "seconds");
	if (j == NULL || !json_is_integer(j) ||
	    json_integer_value(j) < LSHOP_POLL_SECONDS_MIN ||
	    json_integer_value(j) > LSHOP_POLL_SECONDS_MAX) {
		lshop_error_set(err, j ? "invalid_field" : "missing_field",
				"seconds",
				"seconds must be a whole number of %d-%d",
				LSHOP_POLL_SECONDS_MIN, LSHOP_POLL_SECONDS_MAX);
		goto out;
	}
	r->seconds = json_integer_value(j);
	memcpy(req, r, sizeof(*req));
	rc = 0;
out:
	free(r);
	json_decref(v);
	return rc;
}

static const char *const vote_keys[] = {"option", "session", NULL};

int lshop_vote_request_parse(const char *json, size_t len, int options_n,
			     lshop_vote_request *req, lshop_error *err)
{
	lshop_vote_request r;
	json_t *v, *j;
	int rc = -1;

	v = lshop_json_load(json, len, "vote", err);
	if (v == NULL)
		return -1;
	memset(&r, 0, sizeof(r));
	if (lshop_json_known_keys(v, vote_keys, "", err))
		goto out;
	j = json_object_get(v, "option");
	if (j == NULL || !json_is_integer(j) || json_integer_value(j) < 0 ||
	    json_integer_value(j) >= options_n) {
		lshop_error_set(err, j ? "invalid_field" : "missing_field",
				"option",
				"option must be the number of an option, 0-%d",
				options_n - 1);
		goto out;
	}
	r.option = (int)json_integer_value(j);
	if (lshop_json_session_field(v, r.session, err))
		goto out;
	*req = r;
	rc = 0;
out:
	json_decref(v);
	return rc;
}

json_t *lshop_poll_counts_json(const lshop_poll *poll)
{
	json_t *a = json_array();
	int i;

	for (i = 0; a != NULL && i < poll->options_n; i++) {
		if (json_array_append_new(a, json_integer(poll->counts[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

char *lshop_poll_tally_json(const lshop_poll *poll, size_t *len)
{
	json_t *v = json_object();
	int64_t votes = 0;
	int i;

	for (i = 0; i < poll->options_n; i++)
		votes += poll->counts[i];
	if (v != NULL &&
	    (lshop_json_set(v, "id", json_string(poll->id)) ||
	     lshop_json_set(v, "counts", lshop_poll_counts_json(poll)) ||
	     lshop_json_set(v, "votes", json_integer(votes)))) {
		json_decref(v);
		v = NULL;
	}
	return lshop_json_dump_owned(v, len);
}

json_t *lshop_question_object(const lshop_question *q)
{
	json_t *v = json_object();

	if (v != NULL &&
	    (lshop_json_set(v, "id", json_string(q->id)) ||
	     lshop_json_set(v, "text", json_string(q->text)) ||
	     lshop_json_set(v, "name", json_string(q->name)) ||
	     (q->answer[0] &&
	      lshop_json_set(v, "answer", json_string(q->answer))))) {
		json_decref(v);
		return NULL;
	}
	return v;
}

json_t *lshop_poll_object(const lshop_poll *poll)
{
	json_t *v = json_object(), *a = json_array();
	int i, bad = v == NULL || a == NULL;

	for (i = 0; !bad && i < poll->options_n; i++)
		bad = json_array_append_new(a, json_string(poll->options[i]));
	if (bad) {
		json_decref(a);
		json_decref(v);
		return NULL;
	}
	if (lshop_json_set(v, "id", json_string(poll->id)) ||
	    lshop_json_set(v, "question", json_string(poll->question)) ||
	    lshop_json_set(v, "options", a) ||
	    lshop_json_set(v, "ends_at", lshop_json_time(poll->ends_at_ms))) {
		json_decref(v);
		return NULL;
	}
	return v;
}

/* obj[key] as clean viewer text of min..max characters (already clean). */
static int clean_text_field(const json_t *obj, const char *prefix,
			    const char *key, long min, long max, char *out,
			    lshop_error *err)
{
	json_t *v = lshop_json_get(obj, key);
	const char *s;
	size_t len;

	if (v == NULL && min == 0) {
		out[0] = '\0';
		return 0;
	}
	if (v == NULL || !lshop_json_text(v, &s, &len) ||
	    !lshop_viewer_text_valid(s, len, min, max)) {
		lshop_field_error(err, v ? "invalid_field" : "missing_field",
				  prefix, key,
				  "must be clean viewer text of %ld-%ld "
				  "characters (no controls, no bidi "
				  "controls, single spaces)",
				  min, max);
		return -1;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

int lshop_question_from_object(const json_t *obj, const char *prefix,
			       lshop_question *q, lshop_error *err)
{
	lshop_question r;

	memset(&r, 0, sizeof(r));
	if (lshop_json_id_field(obj, prefix, "id", r.id, err) ||
	    clean_text_field(obj, prefix, "text", 1, LSHOP_QUESTION_CHARS,
			     r.text, err) ||
	    clean_text_field(obj, prefix, "name", 0, LSHOP_VIEWER_NAME_CHARS,
			     r.name, err) ||
	    clean_text_field(obj, prefix, "answer", 0, LSHOP_QUESTION_CHARS,
			     r.answer, err))
		return -1;
	*q = r;
	return 0;
}

int lshop_poll_from_object(const json_t *obj, const char *prefix,
			   lshop_poll *poll, lshop_error *err)
{
	lshop_poll *r;
	json_t *a;
	size_t i, k;
	int rc = -1;

	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		lshop_error_set(err, "no_memory", "poll", "out of memory");
		return -1;
	}
	if (lshop_json_id_field(obj, prefix, "id", r->id, err) ||
	    clean_text_field(obj, prefix, "question", 1, LSHOP_QUESTION_CHARS,
			     r->question, err))
		goto out;
	a = json_object_get(obj, "options");
	if (a == NULL || !json_is_array(a) ||
	    json_array_size(a) < LSHOP_POLL_OPTIONS_MIN ||
	    json_array_size(a) > LSHOP_POLL_OPTIONS_MAX) {
		lshop_field_error(err, a ? "invalid_field" : "missing_field",
				  prefix, "options",
				  "must be a list of %d-%d texts",
				  LSHOP_POLL_OPTIONS_MIN,
				  LSHOP_POLL_OPTIONS_MAX);
		goto out;
	}
	for (i = 0; i < json_array_size(a); i++) {
		const char *s;
		size_t len;
		json_t *j = json_array_get(a, i);

		if (!lshop_json_text(j, &s, &len) ||
		    !lshop_viewer_text_valid(s, len, 1,
					     LSHOP_POLL_OPTION_CHARS)) {
			lshop_field_error(err, "invalid_field", prefix,
					  "options",
					  "must hold clean texts of 1-%d "
					  "characters",
					  LSHOP_POLL_OPTION_CHARS);
			goto out;
		}
		memcpy(r->options[i], s, len);
		for (k = 0; k < i; k++) {
			if (strcmp(r->options[k], r->options[i]) == 0) {
				lshop_field_error(err, "invalid_field", prefix,
						  "options",
						  "must not repeat an option");
				goto out;
			}
		}
	}
	r->options_n = (int)i;
	if (lshop_json_time_field(obj, "ends_at", prefix, 1, &r->ends_at_ms,
				  err) < 0)
		goto out;
	*poll = *r;
	rc = 0;
out:
	free(r);
	return rc;
}

static const char *const saved_answer_keys[] = {"id", "question", "answer",
						NULL};

int lshop_saved_answer_from_object(const json_t *obj, const char *prefix,
				   lshop_saved_answer *a, lshop_error *err)
{
	lshop_saved_answer r;

	memset(&r, 0, sizeof(r));
	if (!json_is_object(obj)) {
		lshop_field_error(err, "invalid_field", prefix, "",
				  "must be a saved answer object");
		return -1;
	}
	if (lshop_json_known_keys(obj, saved_answer_keys, prefix, err) ||
	    lshop_json_id_field(obj, prefix, "id", r.id, err) ||
	    clean_text_field(obj, prefix, "question", 1, LSHOP_QUESTION_CHARS,
			     r.question, err) ||
	    clean_text_field(obj, prefix, "answer", 1, LSHOP_QUESTION_CHARS,
			     r.answer, err))
		return -1;
	*a = r;
	return 0;
}

int lshop_blocked_words_from_array(const json_t *arr, const char *prefix,
				   lshop_blocked_words *w, lshop_error *err)
{
	lshop_blocked_words *r;
	const char *s;
	size_t i, len;
	json_t *j;
	int rc = -1;

	if (!json_is_array(arr) || json_array_size(arr) > LSHOP_BLOCKED_WORDS_MAX) {
		lshop_field_error(err, "invalid_field", prefix, "",
				  "must be a list of up to %d words",
				  LSHOP_BLOCKED_WORDS_MAX);
		return -1;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		lshop_error_set(err, "no_memory", prefix, "out of memory");
		return -1;
	}
	for (i = 0; i < json_array_size(arr); i++) {
		j = json_array_get(arr, i);
		if (!lshop_json_text(j, &s, &len) ||
		    !lshop_viewer_text_valid(s, len, 1,
					     LSHOP_BLOCKED_WORD_CHARS)) {
			lshop_field_error(err, "invalid_field", prefix, "",
					  "must hold clean words of 1-%d "
					  "characters",
					  LSHOP_BLOCKED_WORD_CHARS);
			goto out;
		}
		memcpy(r->word[i], s, len);
		fold_ascii(r->word[i]);
	}
	r->n = i;
	memcpy(w, r, sizeof(*w));
	rc = 0;
out:
	free(r);
	return rc;
}
