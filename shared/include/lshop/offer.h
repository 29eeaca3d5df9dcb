/*
 * liveshop core: offers (SPEC §2) and the names they live under.
 *
 * An lshop_offer is plain data with no pointers, so it can be copied
 * anywhere, shared memory included.
 */
#ifndef LSHOP_OFFER_H
#define LSHOP_OFFER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LSHOP_ID_MAX 64           /* offer id: 1–64 of A-Z a-z 0-9 . _ - */
#define LSHOP_TITLE_CHARS 120     /* characters, not bytes */
#define LSHOP_TITLE_MAX (LSHOP_TITLE_CHARS * 4)
#define LSHOP_PRICE_MAX 14        /* 9 digits, '.', 4 digits */
#define LSHOP_URL_MAX 2048        /* bytes */
#define LSHOP_STREAM_PART_MAX 64  /* APP and NAME each */
#define LSHOP_STREAM_MAX (2 * LSHOP_STREAM_PART_MAX + 1)

#define LSHOP_STOCK_UNLIMITED (-1)

typedef struct lshop_offer {
	char id[LSHOP_ID_MAX + 1];
	char title[LSHOP_TITLE_MAX + 1];      /* valid UTF-8 */
	char price[LSHOP_PRICE_MAX + 1];      /* ^\d{1,9}(\.\d{1,4})?$ */
	char compare_at[LSHOP_PRICE_MAX + 1]; /* "" when absent; > price */
	char currency[4];                     /* ISO 4217, 3 upper-case */
	int64_t stock;                        /* LSHOP_STOCK_UNLIMITED or ≥ 0 */
	char url[LSHOP_URL_MAX + 1];          /* absolute http(s) */
	char image[LSHOP_URL_MAX + 1];        /* "" when absent */
	char disclosure[16];                  /* "" or a disclosure kind */
} lshop_offer;

/* 1 if s is a valid offer id (1–64 of A-Z a-z 0-9 . _ -). */
int lshop_id_valid(const char *s, size_t len);

/*
 * 1 if s is a valid stream name "APP/NAME": exactly one '/', each part
 * 1–64 of A-Z a-z 0-9 . _ - and neither part "." or "..". Such a name is
 * safe as a file name component once '/' is mapped.
 */
int lshop_stream_valid(const char *s, size_t len);

/* 1 if s is a disclosure kind: ad, sponsored, affiliate, gifted, own. */
int lshop_disclosure_kind_valid(const char *s, size_t len);

/*
 * The default label of a disclosure kind in a locale ("en", "de", or a
 * tag such as "de-DE"; anything else is "en"): ad "Ad" / "Anzeige",
 * sponsored "Sponsored" / "Werbung", affiliate "Affiliate link" /
 * "Affiliate-Link", gifted "Gifted" / "Unbezahlte Werbung", own
 * "Own product" / "Eigenes Produkt". NULL for an unknown kind.
 */
const char *lshop_disclosure_text(const char *kind, const char *locale);

/*
 * Parses and validates an offer from JSON (every rule of SPEC §2).
 * expect_id, if not NULL, is the id from the request path: a body without
 * "id" takes it, a body with another id is an error on field "id".
 * Unknown fields are an error (field named), so typos are not silently
 * dropped. Returns 0, or -1 with err naming the field; *offer is only
 * written on success.
 */
int lshop_offer_parse(const char *json, size_t len, const char *expect_id,
		      lshop_offer *offer, lshop_error *err);

/*
 * The offer as compact JSON in SPEC §2 field order; absent optional fields
 * are left out. UTF-8 is written as is (not \u-escaped). Returns a malloc'd
 * string (caller frees) and its length in *len if len is not NULL; NULL on
 * ENOMEM.
 */
char *lshop_offer_to_json(const lshop_offer *offer, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
