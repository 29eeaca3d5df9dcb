/*
 * liveshop fuzz targets: what they share. Each target is one
 * LLVMFuzzerTestOneInput over a public parser or encoder of the core
 * (shared/include/lshop); built with clang it links libFuzzer, built
 * with another compiler it links replay.c, which runs the target on
 * files (the regression tests).
 *
 * A target checks more than "does not crash": where the API promises
 * something for every input (a round trip, a well-formed output), it
 * says so with FUZZ_CHECK, which aborts, so the fuzzer keeps the input.
 */
#ifndef LSHOP_FUZZ_H
#define LSHOP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

/* The input, read front to back. */
typedef struct fuzz_in {
	const uint8_t *p;
	size_t n;
} fuzz_in;

/* One byte, 0 once the input is used up. */
static inline uint8_t fuzz_byte(fuzz_in *in)
{
	uint8_t b = 0;

	if (in->n > 0) {
		b = in->p[0];
		in->p++;
		in->n--;
	}
	return b;
}

/* Up to 8 bytes as a little-endian integer. */
static inline uint64_t fuzz_u64(fuzz_in *in, int bytes)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < bytes; i++)
		v |= (uint64_t)fuzz_byte(in) << (8 * i);
	return v;
}

/*
 * The next field: the bytes up to a NUL (which is dropped), or the rest.
 * It is copied into a buffer of exactly its length (plus a NUL after it,
 * which callers that take a length must not need: with nul = 0 there is
 * none, so AddressSanitizer sees any read past len). Caller frees.
 */
static inline char *fuzz_field(fuzz_in *in, size_t *len, int nul)
{
	const uint8_t *end = memchr(in->p, 0, in->n);
	size_t n = end ? (size_t)(end - in->p) : in->n;
	char *s = malloc(n + (nul ? 1 : 0) + (n == 0 && !nul));

	if (s == NULL)
		abort();
	if (n > 0)
		memcpy(s, in->p, n);
	if (nul)
		s[n] = '\0';
	in->p += n + (end ? 1 : 0);
	in->n -= n + (end ? 1 : 0);
	*len = n;
	return s;
}

/* The rest of the input, in a buffer of exactly its length. */
static inline char *fuzz_rest(fuzz_in *in, size_t *len)
{
	char *s = malloc(in->n ? in->n : 1);

	if (s == NULL)
		abort();
	if (in->n > 0)
		memcpy(s, in->p, in->n);
	*len = in->n;
	in->p += in->n;
	in->n = 0;
	return s;
}

/* The bytes, in a buffer of exactly their length (none NUL-terminated). */
static inline char *fuzz_copy(const uint8_t *data, size_t size)
{
	char *s = malloc(size ? size : 1);

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	return s;
}

/*
 * Copies at most cap - 1 bytes of s into out as printable ASCII or valid
 * UTF-8 (other bytes become '?'), NUL-terminated, stopping before max
 * characters: how a target turns fuzz bytes into a field an event or
 * offer may hold.
 */
static inline void fuzz_text(char *out, size_t cap, const char *s, size_t len,
			     size_t max_chars)
{
	size_t i = 0, o = 0, chars = 0, k, n;
	unsigned char c;

	while (i < len && chars < max_chars) {
		c = (unsigned char)s[i];
		n = c < 0x80             ? 1
		    : (c & 0xe0) == 0xc0 ? 2
		    : (c & 0xf0) == 0xe0 ? 3
		    : (c & 0xf8) == 0xf0 ? 4
					 : 0;
		if (n > 1 && i + n <= len) {
			/* Only the forms lshop_utf8_chars accepts. */
			unsigned long cp = c & (0x7f >> n);
			for (k = 1; k < n; k++) {
				if (((unsigned char)s[i + k] & 0xc0) != 0x80)
					break;
				cp = cp << 6 | ((unsigned char)s[i + k] & 0x3f);
			}
			if (k < n || (n == 2 && cp < 0x80) ||
			    (n == 3 && cp < 0x800) ||
			    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
			    (cp >= 0xd800 && cp <= 0xdfff))
				n = 0;
		}
		if (n == 0 || (n == 1 && c == 0) || i + n > len)
			n = 0;
		if (o + (n ? n : 1) >= cap)
			break;
		if (n == 0) {
			out[o++] = '?';
			i++;
		} else {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		}
		chars++;
	}
	out[o] = '\0';
}

#endif
