/*
 * liveshop core: counting viewers without personal data (SPEC §14).
 *
 * A viewer is a 64-bit hash: SipHash-2-4, a keyed pseudorandom function,
 * of the stream and an opaque id under a random salt (the key) the host
 * draws each UTC day, keeps in memory only
 * and never writes anywhere. Without the salt the hash cannot be tied to
 * a person, and with a new salt each day not to the same viewer of the
 * day before. The hashes go into a HyperLogLog sketch, which keeps no
 * hash at all: 2048 small counters from which the number of distinct
 * viewers is estimated. Beacons are limited with token buckets.
 *
 * Every type here is plain data with no pointers, so it can be copied
 * anywhere, shared memory included.
 */
#ifndef LSHOP_AUDIENCE_H
#define LSHOP_AUDIENCE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "offer.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * HyperLogLog (Flajolet, Fusy, Gandouet, Meunier 2007) with 2^P
 * registers of one byte each (values 0..64-P+1 = 0..54), 2 KiB.
 * Standard error 1.04 / sqrt(2048) ≈ 2.3 %. Measured (200 random sets
 * each): 1.4–2.0 % rms up to 3000, where linear counting is used; up to
 * 3.6 % rms (bias +1.6 to +1.9 %) around the switch at 5000–6000, the
 * known bias of the raw estimate there; 1.9–2.3 % from 7000 to 10^7.
 */
#define LSHOP_HLL_P       11
#define LSHOP_HLL_M       (1 << LSHOP_HLL_P)     /* 2048 registers */
#define LSHOP_HLL_REG_MAX (64 - LSHOP_HLL_P + 1) /* 54 */

typedef struct lshop_hll {
	uint8_t reg[LSHOP_HLL_M];
} lshop_hll;

/* Empties h (a zeroed lshop_hll is empty too). */
void lshop_hll_init(lshop_hll *h);

/*
 * Adds one hash (lshop_viewer_hash, or any well-mixed 64-bit value).
 * Adding the same hash again changes nothing. Returns 1 if a register
 * changed (the sketch needs saving again), 0 if not.
 */
int lshop_hll_add(lshop_hll *h, uint64_t hash);

/*
 * into = the union of into and from (register-wise max): the sketch of
 * every hash added to either, for combining workers, nodes and days.
 * Returns 1 if into changed, 0 if not.
 */
int lshop_hll_merge(lshop_hll *into, const lshop_hll *from);

/*
 * The estimated number of distinct hashes added: the raw HyperLogLog
 * estimate, or linear counting m·ln(m/V) while that is ≤ 2.5·m and V
 * registers are still 0 (Flajolet et al. 2007; Heule, Nunkesser, Hall
 * 2013, "HyperLogLog in Practice"). 0 for an empty sketch.
 */
uint64_t lshop_hll_count(const lshop_hll *h);

/*
 * Text form, ASCII from [A-Za-z0-9_:-] only (no quotes, commas, spaces
 * or newlines: safe in journal lines and as a Valkey value). The writer
 * picks the shorter of two forms; the reader takes both:
 *
 *   sparse = "hll1s:" *(IDX VAL)   each non-zero register in increasing
 *                                  order of index; IDX two base64url
 *                                  digits (index, high digit first), VAL
 *                                  one (1..54)
 *   dense  = "hll1:" 2048 * VAL    every register, VAL 0..54
 *
 * where a base64url digit is A-Z a-z 0-9 - _ for 0..63 (so 'A' is 0 and
 * '2' is 54). An empty sketch is "hll1s:" (6 bytes), 100 viewers about
 * 300, a sketch with more than 682 registers set 2053.
 */
#define LSHOP_HLL_TEXT_MAX (5 + LSHOP_HLL_M) /* without the NUL */

/*
 * Writes the text form of h into out, NUL-terminated. Returns its
 * length, without the NUL.
 */
size_t lshop_hll_write_text(const lshop_hll *h,
			    char out[LSHOP_HLL_TEXT_MAX + 1]);

/*
 * The text form of h, malloc'd (caller frees), and its length in *len if
 * len is not NULL. NULL on ENOMEM.
 */
char *lshop_hll_to_text(const lshop_hll *h, size_t *len);

/*
 * Reads a text form. Anything else is refused: another prefix, a length
 * that does not fit, a character outside the alphabet, a register value
 * above 54, and in the sparse form an index ≥ 2048, a value 0, or indices
 * not strictly increasing. Returns 0, or -1 with err set (code
 * "invalid_sketch", no field); *out is only written on success.
 */
int lshop_hll_from_text(const char *s, size_t len, lshop_hll *out,
			lshop_error *err);

/*
 * Viewer keys. The salt is LSHOP_SALT_LEN random bytes, drawn by the host
 * when lshop_audience_day changes, and never stored or sent.
 */
#define LSHOP_SALT_LEN      32
#define LSHOP_VIEWER_ID_MAX 256 /* bytes */

/* A new salt of random bytes (OpenSSL's RAND_bytes): 0, or -1. */
int lshop_salt_new(uint8_t salt[LSHOP_SALT_LEN]);

/* The UTC day of a time in Unix milliseconds: floor(ms / 86400000). */
int64_t lshop_audience_day(int64_t ms);

/* SipHash-2-4 of data[0..len) under key: a keyed 64-bit hash. */
uint64_t lshop_siphash24(const uint8_t key[16], const void *data, size_t len);

/*
 * *hash = SipHash-2-4(K, stream || 0x00 || id), K the two halves of the
 * salt XORed (so that every byte of it counts). id is the session id the
 * player sends (lshop_session_valid), or for a client without one (an
 * RTMP player, HLS without a session) what the host chooses, e.g. the
 * address and port of the connection; either is used only here and is
 * not kept. The 0x00 keeps ("a", "bc") and ("ab", "c") apart.
 * Returns 0, or -1 (*hash untouched) for an empty id, an id longer than
 * LSHOP_VIEWER_ID_MAX, or a stream longer than LSHOP_STREAM_MAX.
 */
int lshop_viewer_hash(const uint8_t salt[LSHOP_SALT_LEN], const char *stream,
		      size_t stream_len, const char *id, size_t id_len,
		      uint64_t *hash);

/* 1 if s is a session id a player may send: 8–64 of A-Z a-z 0-9 _ -. */
int lshop_session_valid(const char *s, size_t len);

/*
 * A token bucket for rate limits (beacons per session, per address).
 * It holds up to burst tokens and gains rate_per_s tokens a second;
 * spent_milli is the thousandths of a token taken and not yet refilled,
 * so a zeroed bucket is full. at_ms is the latest time it has seen.
 */
typedef struct lshop_bucket {
	int64_t spent_milli; /* 0 .. burst * 1000 */
	int64_t at_ms;       /* host's clock, ms; only ever moves forward */
} lshop_bucket;

/*
 * Refills b for the time since b->at_ms, then takes one token. Returns 1
 * if there was one (allowed), 0 if not (over the limit: nothing taken).
 * A clock that goes back adds no tokens, nor does the time until it is
 * past b->at_ms again (0 in a zeroed bucket), so workers sharing a bucket
 * whose clocks differ by a few ms do not earn that time twice; hosts pass
 * a monotonic clock (ngx_current_msec is one). rate_per_s ≤ 0 never
 * refills; burst ≤ 0 refuses everything. Integer arithmetic only.
 */
int lshop_bucket_take(lshop_bucket *b, int64_t now_ms, int64_t rate_per_s,
		      int64_t burst);

/*
 * The audience of one show (SPEC §14), or of the time between shows
 * (show_id ""), as a host tallies it: viewers now, the most at once
 * (peak), watch time (viewers × time, in viewer-ms), unique viewers (a
 * sketch), and per offer pinned in it the same during its pins plus the
 * impressions and clicks its card got. Plain data, no pointers: it can
 * live in shared memory. Offers beyond LSHOP_AUDIENCE_OFFERS_MAX count
 * in the show's figures only.
 */
#define LSHOP_AUDIENCE_OFFERS_MAX 16

typedef struct lshop_audience_offer {
	char offer_id[LSHOP_ID_MAX + 1];
	int64_t peak;
	int64_t watch_ms;
	int64_t impressions;
	int64_t clicks;
	lshop_hll unique;
} lshop_audience_offer;

typedef struct lshop_audience {
	char show_id[LSHOP_ID_MAX + 1];
	int64_t viewers;
	int64_t peak;
	int64_t watch_ms;
	int64_t impressions;
	int64_t clicks;
	lshop_hll unique;
	size_t noffers;
	lshop_audience_offer offers[LSHOP_AUDIENCE_OFFERS_MAX];
} lshop_audience;

/* An empty tally of show_id (NULL or "": between shows). */
void lshop_audience_init(lshop_audience *a, const char *show_id);

/*
 * The figures of offer_id in a, made if there is room; NULL when the
 * table is full or offer_id is NULL or "".
 */
lshop_audience_offer *lshop_audience_offer_of(lshop_audience *a,
					      const char *offer_id);

/*
 * A viewer (its lshop_viewer_hash) seen while pinned_offer (NULL or "":
 * none) is pinned: counted among the show's unique viewers and the
 * offer's.
 */
void lshop_audience_see(lshop_audience *a, uint64_t hash,
			const char *pinned_offer);

/*
 * viewers were watching for the elapsed_ms since the last tally, with
 * pinned_offer pinned: they add to the watch time (of the show and the
 * offer), and raise the peaks they exceed.
 */
void lshop_audience_tally(lshop_audience *a, int64_t viewers,
			  int64_t elapsed_ms, const char *pinned_offer);

/* A beacon of SPEC §14: an impression (click 0) or a click on offer_id. */
void lshop_audience_beacon(lshop_audience *a, int click, const char *offer_id);

/*
 * Adds from into into, as the tallies of two nodes of one show: watch
 * times, impressions and clicks add up, sketches merge, peaks add up (the
 * nodes' viewers are others). viewers adds up too.
 */
void lshop_audience_merge(lshop_audience *into, const lshop_audience *from);

/*
 * The journal line of a tally at at_ms (journal.h): with full 0 only the
 * viewers now (a sample for the viewers over time), with full 1
 * everything (cumulative: the last full line of a show holds its
 * figures). Malloc'd, "\n" included; NULL on ENOMEM.
 */
char *lshop_journal_audience_line(const lshop_audience *a, int full,
				  int64_t at_ms, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
