/*
 * Helpers shared by the unit tests of the core.
 */
#ifndef LSHOP_TESTUTIL_H
#define LSHOP_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off */
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

/* Titles every channel must carry byte for byte (SPEC §2). */
static const char *const hostile_titles[] = {
    "He said \"hi\"",
    "a\r\nb",
    "<script>alert(1)</script>",
    "\xf0\x9f\x9b\x8d\xef\xb8\x8f\xf0\x9f\x94\xa5", /* 🛍️🔥 */
    "back\\slash / and \t tab, 'single' & ampersand",
    "]]>--><!-- \xe2\x80\xa8 line separator",
    "#EXT-X-ENDLIST",
    "=?,\"=,\"\"\"",
};
#define N_HOSTILE (sizeof(hostile_titles) / sizeof(hostile_titles[0]))

/* s repeated n times, malloc'd. */
static inline char *repeat(const char *s, size_t n)
{
	size_t len = strlen(s), i;
	char *out = malloc(len * n + 1);

	assert_non_null(out);
	for (i = 0; i < n; i++)
		memcpy(out + i * len, s, len);
	out[len * n] = '\0';
	return out;
}

/*
 * A JSON string literal of the bytes of s: '"', '\' and control bytes are
 * escaped; everything else, invalid UTF-8 included, goes in raw.
 */
static inline char *json_quote(const char *s, size_t len)
{
	char *out = malloc(len * 6 + 3), *p = out;
	size_t i;

	assert_non_null(out);
	*p++ = '"';
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c < 0x20) {
			p += sprintf(p, "\\u%04x", c);
		} else {
			*p++ = (char)c;
		}
	}
	*p++ = '"';
	*p = '\0';
	return out;
}

/* printf into a malloc'd string. */
static inline char *fmt(const char *f, ...)
{
	va_list ap;
	char *out;
	int n;

	va_start(ap, f);
	n = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	out = malloc((size_t)n + 1);
	assert_non_null(out);
	va_start(ap, f);
	vsnprintf(out, (size_t)n + 1, f, ap);
	va_end(ap);
	return out;
}

#endif
