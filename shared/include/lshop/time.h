/*
 * liveshop core: time. All times are UTC milliseconds since the Unix epoch
 * (int64_t "ms"); on the wire they are RFC 3339 with milliseconds and "Z",
 * e.g. "2026-11-24T10:00:00.123Z" (SPEC §3).
 */
#ifndef LSHOP_TIME_H
#define LSHOP_TIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LSHOP_TIME_LEN 25 /* "2026-11-24T10:00:00.123Z" + NUL */

/* The wall clock, in ms. */
int64_t lshop_now_ms(void);

/* Formats ms into out (LSHOP_TIME_LEN bytes). Returns 24. */
size_t lshop_time_format(char out[LSHOP_TIME_LEN], int64_t ms);

/*
 * Parses an RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)".
 * Fractions beyond milliseconds are truncated. Returns 0 and sets *ms, or
 * -1 if s is not such a time.
 */
int lshop_time_parse(const char *s, size_t len, int64_t *ms);

#ifdef __cplusplus
}
#endif

#endif
