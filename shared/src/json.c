/*
 * liveshop core: private JSON helpers.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lshop/audience.h"
#include "lshop/time.h"

#include "internal.h"

#define LOAD_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

static int hex4(const char *s, unsigned *v)
{
	unsigned r = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char c = s[i];

		r <<= 4;
		if (c >= '0' && c <= '9')
			r |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			r |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			r |= (unsigned)(c - 'A' + 10);
		else
			return 0;
	}
	*v = r;
	return 1;
}

/*
 * jansson refuses invalid UTF-8 and lone surrogate escapes wherever they
 * are, so its error cannot name the field. Inside string literals they are
 * replaced by \u0000, which JSON_ALLOW_NUL lets through and every string
 * check refuses, naming its field. Returns NULL when there was nothing to
 * replace (or on ENOMEM): the original error then stands.
 */
static char *mark_bad_text(const char *json, size_t len, size_t *out_len)
{
	static const char nul[] = "\\u0000";
	const unsigned char *s = (const unsigned char *)json;
	size_t i = 0, o = 0, n;
	int in_str = 0, changed = 0;
	unsigned u, u2;
	char *out;

	if (len > (SIZE_MAX - 1) / 6)
		return NULL;
	out = malloc(len * 6 + 1);
	if (out == NULL)
		return NULL;
	while (i < len) {
		if (!in_str || s[i] < 0x80) {
			if (s[i] == '"')
				in_str = !in_str;
			if (in_str && s[i] == '\\' && i + 1 < len) {
				if (s[i + 1] == 'u' && i + 6 <= len &&
				    hex4(json + i + 2, &u) && u >= 0xd800 &&
				    u <= 0xdfff) {
					if (u <= 0xdbff && i + 12 <= len &&
					    s[i + 6] == '\\' &&
					    s[i + 7] == 'u' &&
					    hex4(json + i + 8, &u2) &&
					    u2 >= 0xdc00 && u2 <= 0xdfff) {
						memcpy(out + o, json + i, 12);
						o += 12;
						i += 12;
						continue;
					}
					memcpy(out + o, nul, 6);
					o += 6;
					i += 6;
					changed = 1;
					continue;
				}
				out[o++] = json[i++];
			}
			out[o++] = json[i++];
			continue;
		}
		n = lshop_utf8_seq(s + i, len - i);
		if (n == 0) {
			memcpy(out + o, nul, 6);
			o += 6;
			i++;
			changed = 1;
			continue;
		}
		memcpy(out + o, json + i, n);
		o += n;
		i += n;
	}
	if (!changed) {
		free(out);
		return NULL;
	}
	*out_len = o;
	return out;
}

json_t *lshop_json_load(const char *json, size_t len, const char *what,
			lshop_error *err)
{
	json_error_t jerr, jerr2;
	json_t *v;
	char *fixed;
	size_t fixed_len;

	if (json == NULL || len == 0) {
		lshop_error_set(err, "invalid_json", "",
				"the %s is empty; send a JSON object", what);
		return NULL;
	}
	v = json_loadb(json, len, LOAD_FLAGS, &jerr);
	if (v == NULL) {
		fixed = mark_bad_text(json, len, &fixed_len);
		if (fixed != NULL) {
			v = json_loadb(fixed, fixed_len, LOAD_FLAGS, &jerr2);
			free(fixed);
		}
	}
	if (v == NULL) {
		lshop_error_set(err, "invalid_json", "",
				"the %s is not valid JSON: %s (line %d, "
				"column %d)",
				what, jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		lshop_error_set(err, "invalid_json", "",
				"the %s must be a JSON object {...}", what);
		return NULL;
	}
	return v;
}

struct dump_buf {
	char *p;
	size_t len;
	size_t cap;
};

static int dump_cb(const char *buf, size_t size, void *data)
{
	struct dump_buf *b = data;
	size_t cap;
	char *p;

	if (size >= b->cap - b->len) {
		cap = b->cap;
		while (size >= cap - b->len) {
			if (cap > SIZE_MAX / 2)
				return -1;
			cap *= 2;
		}
		p = realloc(b->p, cap);
		if (p == NULL)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, buf, size);
	b->len += size;
	return 0;
}

static char *dump(const json_t *v, size_t flags, size_t *len)
{
	struct dump_buf b = {NULL, 0, 256};

	b.p = malloc(b.cap);
	if (b.p == NULL)
		return NULL;
	/* No JSON_ENSURE_ASCII: UTF-8 is written as is (SPEC §3). Since
	 * jansson 2.8 objects keep and dump keys in insertion order. */
	if (json_dump_callback(v, dump_cb, &b, flags) != 0) {
		free(b.p);
		return NULL;
	}
	b.p[b.len] = '\0';
	if (len != NULL)
		*len = b.len;
	return b.p;
}

char *lshop_json_dump(const json_t *v, size_t *len)
{
	return dump(v, JSON_COMPACT, len);
}

char *lshop_json_dump_short_reals(const json_t *v, size_t *len)
{
	return dump(v, JSON_COMPACT | JSON_REAL_PRECISION(15), len);
}

int lshop_json_set(json_t *obj, const char *key, json_t *v)
{
	if (v == NULL)
		return -1;
	return json_object_set_new(obj, key, v) != 0;
}

json_t *lshop_json_time(int64_t ms)
{
	char t[LSHOP_TIME_LEN];

	lshop_time_format(t, ms);
	return json_string(t);
}

json_t *lshop_json_get(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

int lshop_json_text(const json_t *v, const char **s, size_t *len)
{
	const char *p;
	size_t n;

	if (!json_is_string(v))
		return 0;
	p = json_string_value(v);
	n = json_string_length(v);
	if (memchr(p, '\0', n) != NULL)
		return 0;
	*s = p;
	*len = n;
	return 1;
}

int lshop_json_known_keys(const json_t *obj, const char *const *keys,
			  const char *prefix, lshop_error *err)
{
	char field[sizeof(err->field)];
	char allowed[160];
	const char *key;
	void *it;
	size_t i, o;

	for (it = json_object_iter((json_t *)obj); it != NULL;
	     it = json_object_iter_next((json_t *)obj, it)) {
		key = json_object_iter_key(it);
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(key, keys[i]) == 0)
				break;
		if (keys[i] != NULL)
			continue;
		o = 0;
		allowed[0] = '\0';
		for (i = 0; keys[i] != NULL && o < sizeof(allowed); i++)
			o += (size_t)snprintf(allowed + o, sizeof(allowed) - o,
					      "%s%s", i ? ", " : "", keys[i]);
		snprintf(field, sizeof(field), "%s%s", prefix, key);
		lshop_error_set(err, "unknown_field", field,
				"unknown field \"%.60s%s\"; the fields allowed "
				"here are %s",
				key, strlen(key) > 60 ? "..." : "", allowed);
		return -1;
	}
	return 0;
}

void lshop_field_error(lshop_error *err, const char *code, const char *prefix,
		       const char *key, const char *fmt, ...)
{
	char field[sizeof(err->field)];
	char msg[sizeof(err->message)];
	va_list ap;

	if (err == NULL)
		return;
	snprintf(field, sizeof(field), "%s%s", prefix, key);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lshop_error_set(err, code, field, "%s%s %s", prefix, key, msg);
}

int lshop_json_time_field(const json_t *obj, const char *key,
			  const char *prefix, int required, int64_t *ms,
			  lshop_error *err)
{
	json_t *v = lshop_json_get(obj, key);
	const char *s;
	size_t len;

	if (v == NULL) {
		if (required) {
			lshop_field_error(err, "missing_field", prefix, key,
					  "is required: an RFC 3339 time like "
					  "\"2026-11-24T10:00:00.123Z\"");
			return -1;
		}
		return 0;
	}
	if (!lshop_json_text(v, &s, &len) || lshop_time_parse(s, len, ms)) {
		lshop_field_error(err, "invalid_field", prefix, key,
				  "must be an RFC 3339 time like "
				  "\"2026-11-24T10:00:00.123Z\" (or with an "
				  "offset like +01:00)");
		return -1;
	}
	return 1;
}

int lshop_name_index(const char *const *names, size_t n, const char *name,
		     size_t len)
{
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return (int)i;
	}
	return -1;
}

char *lshop_json_dump_owned(json_t *v, size_t *len)
{
	char *out;

	if (v == NULL)
		return NULL;
	out = lshop_json_dump(v, len);
	json_decref(v);
	return out;
}

int lshop_json_id_field(const json_t *obj, const char *prefix, const char *key,
			char *out, lshop_error *err)
{
	json_t *v = lshop_json_get(obj, key);
	const char *s;
	size_t len;

	if (v == NULL || !lshop_json_text(v, &s, &len) ||
	    !lshop_id_valid(s, len)) {
		lshop_field_error(err, v ? "invalid_field" : "missing_field",
				  prefix, key,
				  "must be an id (1-64 of A-Z a-z 0-9 . _ -)");
		return -1;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

int lshop_json_session_field(const json_t *obj, char *out, lshop_error *err)
{
	json_t *j = lshop_json_get(obj, "session");
	const char *s;
	size_t n;

	if (j == NULL || !lshop_json_text(j, &s, &n) ||
	    !lshop_session_valid(s, n)) {
		lshop_error_set(err, j ? "invalid_field" : "missing_field",
				"session",
				"session must be the player's session id: "
				"8-64 of A-Z a-z 0-9 _ -");
		return -1;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}
