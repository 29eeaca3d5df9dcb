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
	/* "" or a link template carrying the stream itself (SPEC §16,
	 * lshop_buy_url): {stream}, {src} and {ref} are filled in */
	char checkout[LSHOP_URL_MAX + 1];
	/* "" or the host's commission rate on this offer's revenue: a
	 * decimal 0 <= c <= 1 with <= 4 decimals ("0.10"); a show's rate
	 * applies when the offer has none (docs/kpis.md) */
	char commission[LSHOP_PRICE_MAX + 1];
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

/* Where a buyer came from: the player's buy button or a QR code. */
#define LSHOP_SOURCE_PLAYER "player"
#define LSHOP_SOURCE_QR     "qr"
/* the longest buy URL lshop_buy_url writes, its NUL included */
#define LSHOP_BUY_URL_MAX (LSHOP_URL_MAX + 512)

/*
 * The buy URL of an offer for a stream (SPEC §16, docs/player.md "The buy
 * URL"; the player's buyUrl follows the same rule), from a source
 * (LSHOP_SOURCE_PLAYER or LSHOP_SOURCE_QR):
 *  - with a checkout template: the template with {stream} the stream
 *    name percent-encoded, {src} the source and {ref} the stream and
 *    source as a Stripe client_reference_id (lshop_ref_encode);
 *  - else the url, an absolute http(s) URL, with its parameters named
 *    ls_stream or ls_src and its empty ones left out of its query, then
 *    ls_stream=STREAM (percent-encoded) and, from a QR code, ls_src=qr
 *    added; everything else, the fragment included, byte for byte.
 * checkout may be NULL or "". Writes the URL and its NUL into out (cap
 * bytes) and returns its length; -1 when there is no URL the rule
 * accepts (not http(s), a byte RFC 3986 never allows raw, no host, an
 * invalid stream or source, or too long for cap).
 */
int lshop_buy_url(const char *url, const char *checkout, const char *stream,
		  const char *source, char *out, size_t cap);

/* lshop_buy_url of an offer's url and checkout. */
int lshop_offer_buy_url(const lshop_offer *offer, const char *stream,
			const char *source, char *out, size_t cap);

/* the longest reference lshop_ref_encode writes, its NUL included */
#define LSHOP_REF_MAX 200
/*
 * A stream and source as one reference of [A-Za-z0-9_-] (what Stripe
 * takes as client_reference_id): "ls1" 'p' (player) or 'q' (QR), '_',
 * then the stream name in base64url without padding. Returns its length,
 * -1 for an invalid stream or source.
 */
int lshop_ref_encode(const char *stream, const char *source, char *out,
		     size_t cap);
/*
 * Reads a reference of lshop_ref_encode back: 0 with the stream (cap
 * LSHOP_STREAM_MAX + 1) and source (LSHOP_SOURCE_*) filled, -1 when ref
 * is not one.
 */
int lshop_ref_decode(const char *ref, size_t len, char *stream,
		     const char **source);

#ifdef __cplusplus
}
#endif

#endif
