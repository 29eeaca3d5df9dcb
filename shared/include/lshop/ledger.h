/*
 * liveshop core: the ledger of a stream, what its journal files leave
 * behind once rotated out.
 *
 * A journal is rotated to bound its size (journal.h), but a shop retries
 * an order for days and the report covers the whole show. So before a
 * rotated-out file is dropped, it is folded into the ledger: the report's
 * totals so far (with its shows: their figures, sketches and series, and
 * the show on air; report.h) and the keys of the orders taken, one JSON
 * line:
 *
 *   {"ledger":{"file":F,"seq":S,"at":T,"report":{...},
 *              "orders":[["shopify:o:1001",T],...]}}
 *
 * file is the last journal file folded in (journal.h numbers them), seq
 * the last event seq it held; "orders" lists order keys (lshop_order_key)
 * with the time each order was taken, oldest first. A fold forgets keys
 * older than LSHOP_ORDER_KEEP_MS: shops stop retrying long before.
 */
#ifndef LSHOP_LEDGER_H
#define LSHOP_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "report.h"
#include "webhook.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Shopify retries for 48 h, Stripe for 3 days: a week covers them all. */
#define LSHOP_ORDER_KEEP_MS (INT64_C(7) * 86400 * 1000)

/* "woocommerce:o:" (or ":d:") and an order or delivery id, with NUL */
#define LSHOP_ORDER_KEY_MAX (16 + 3 + LSHOP_ORDER_ID_MAX + 1)

/*
 * The key under which an order is known for duplicates: provider, kind
 * ('o' for its order_id, 'd' for a delivery id) and the id, e.g.
 * "shopify:o:1001". Writes it into out (cap ≥ LSHOP_ORDER_KEY_MAX) and
 * returns its length.
 */
size_t lshop_order_key(char *out, size_t cap, lshop_provider p, char kind,
		       const char *id);

/* Receives one order key; returns 0, or -1 to stop. */
typedef int (*lshop_order_key_fn)(void *arg, const char *key, size_t len,
				  int64_t at_ms);

/*
 * Hands fn the keys of an order taken at at_ms: its order_id's, then its
 * delivery id's if it has one. Returns 0, or -1 if fn stopped.
 */
int lshop_order_keys(const lshop_order *order, lshop_provider p,
		     int64_t at_ms, lshop_order_key_fn fn, void *arg);

/*
 * Reads the ledger in buf[0..len): sets *file and *seq, restores the
 * report's totals into report (a new, empty one; may be NULL) and hands
 * each order key to fn (may be NULL). Returns 0, or -1 with err naming
 * the field of a damaged ledger (report is then to be dropped).
 */
int lshop_ledger_read(const char *buf, size_t len, lshop_report *report,
		      lshop_order_key_fn fn, void *arg, int64_t *file,
		      uint64_t *seq, lshop_error *err);

/*
 * Folds the journal file in journal[0..journal_len) into the ledger in
 * ledger[0..ledger_len) (NULL or 0 bytes: no ledger yet) and returns the
 * new ledger, "\n" included, malloc'd, its length in *len. Refused with
 * "already_folded" when the ledger already holds that file (a fold cut
 * short after the ledger was written), and with the ledger's own error
 * when it is damaged.
 */
char *lshop_ledger_fold(const char *ledger, size_t ledger_len,
			const char *journal, size_t journal_len,
			int64_t now_ms, size_t *len, lshop_error *err);

#ifdef __cplusplus
}
#endif

#endif
