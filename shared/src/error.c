/*
 * liveshop core: errors as values.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "lshop/error.h"

#include "internal.h"

/*
 * Length of the valid UTF-8 sequence at s[0..len), or 0 if it is not one
 * (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF, no NUL).
 */
size_t lshop_utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (len < n)
		return 0;
	/* The second byte's range is what rules out overlongs (E0, F0),
	 * surrogates (ED) and code points above U+10FFFF (F4). */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/*
 * Copies src into dst (cap bytes, NUL-terminated) as valid UTF-8: a byte
 * that does not start a valid sequence becomes '?', and a sequence that
 * does not fit is dropped, so a message built from user input can always
 * be sent as JSON.
 */
static void copy_utf8(char *dst, size_t cap, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t len = strlen(src), o = 0, i = 0, n;

	while (i < len) {
		n = lshop_utf8_seq(s + i, len - i);
		if (n == 0) {
			if (o + 1 >= cap)
				break;
			dst[o++] = '?';
			i++;
			continue;
		}
		if (o + n >= cap)
			break;
		memmove(dst + o, s + i, n);
		o += n;
		i += n;
	}
	dst[o] = '\0';
}

void lshop_error_set(lshop_error *err, const char *code, const char *field,
		     const char *fmt, ...)
{
	char msg[sizeof(err->message)];
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	copy_utf8(err->code, sizeof(err->code), code ? code : "");
	copy_utf8(err->field, sizeof(err->field), field ? field : "");
	copy_utf8(err->message, sizeof(err->message), msg);
}

void lshop_error_clear(lshop_error *err)
{
	if (err != NULL)
		memset(err, 0, sizeof(*err));
}

char *lshop_error_json(const lshop_error *err)
{
	char code[sizeof(err->code)], field[sizeof(err->field)];
	char message[sizeof(err->message)];
	json_t *root, *e;
	char *out;

	/* The struct may have been filled by hand: bound and clean it. */
	memcpy(code, err->code, sizeof(code));
	code[sizeof(code) - 1] = '\0';
	copy_utf8(code, sizeof(code), code);
	memcpy(field, err->field, sizeof(field));
	field[sizeof(field) - 1] = '\0';
	copy_utf8(field, sizeof(field), field);
	memcpy(message, err->message, sizeof(message));
	message[sizeof(message) - 1] = '\0';
	copy_utf8(message, sizeof(message), message);

	e = json_object();
	root = json_object();
	if (e == NULL || root == NULL ||
	    lshop_json_set(e, "code", json_string(code)) ||
	    lshop_json_set(e, "field", json_string(field)) ||
	    lshop_json_set(e, "message", json_string(message))) {
		json_decref(e);
		json_decref(root);
		return NULL;
	}
	if (lshop_json_set(root, "error", e)) {
		json_decref(root);
		return NULL;
	}
	out = lshop_json_dump(root, NULL);
	json_decref(root);
	return out;
}
