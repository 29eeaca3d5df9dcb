/*
 * liveshop core: errors as values.
 *
 * Every parser and validator fills an lshop_error on failure. The error
 * names a machine-readable code, the offending field (empty when none) and
 * a sentence a person can act on. SPEC §2: bad input answers
 * {"error":{"code":"...","field":"...","message":"..."}}.
 */
#ifndef LSHOP_ERROR_H
#define LSHOP_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lshop_error {
	char code[32];     /* e.g. "invalid_json", "invalid_field", "missing_field" */
	char field[48];    /* e.g. "price"; "" when the error has no field */
	char message[256]; /* one sentence, for a person */
} lshop_error;

/* Fills err (if not NULL); message is printf-formatted. */
void lshop_error_set(lshop_error *err, const char *code, const char *field,
		     const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Clears err to "no error". */
void lshop_error_clear(lshop_error *err);

/*
 * The error as {"error":{"code":..,"field":..,"message":..}}, compact JSON.
 * Returns a malloc'd NUL-terminated string (caller frees), NULL on ENOMEM.
 */
char *lshop_error_json(const lshop_error *err);

#ifdef __cplusplus
}
#endif

#endif
