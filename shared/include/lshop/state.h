/*
 * liveshop core: the timeline of one stream. Events are applied in seq
 * order to an lshop_state; the state is what is live now (SPEC §5 "state"),
 * and the same state is rebuilt from a journal by applying its events.
 *
 * An lshop_state is plain data (no pointers): it can live in shared memory.
 */
#ifndef LSHOP_STATE_H
#define LSHOP_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "event.h"
#include "offer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lshop_state {
	uint64_t seq; /* last event applied; 0 before the first */

	int pinned;
	uint64_t pin_seq;
	int64_t pin_at_ms;
	int64_t pin_until_ms; /* 0 = until unpinned */
	lshop_offer offer;
	int64_t pin_edge_ms; /* latest start or end of a pin interval */

	int countdown;
	uint64_t countdown_seq;
	int64_t countdown_at_ms;
	int64_t countdown_ends_at_ms;
	char countdown_label[LSHOP_LABEL_MAX + 1];
	char countdown_offer_id[LSHOP_ID_MAX + 1];

	int disclosure;
	uint64_t disclosure_seq;
	int64_t disclosure_at_ms;
	char disclosure_kind[16];
	char disclosure_text[LSHOP_DISCLOSURE_TEXT_MAX + 1];
} lshop_state;

/* An offer's stock as reported in the state's "stock" map. */
typedef struct lshop_stock_entry {
	const char *offer_id;
	int64_t stock; /* LSHOP_STOCK_UNLIMITED entries are left out */
} lshop_stock_entry;

void lshop_state_init(lshop_state *st);

/*
 * Applies ev, whose seq must be st->seq + 1 (else -1, "seq_gap"), and
 * whose stream is the state's. offer.pinned replaces any pinned offer;
 * offer.unpinned of an offer that is not pinned is an error
 * ("not_pinned"). On error st is unchanged.
 */
int lshop_state_apply(lshop_state *st, const lshop_event *ev, lshop_error *err);

/*
 * The events a pin of offer makes on st, in order, written into out: an
 * offer.unpinned of the offer it replaces (if one is pinned), then the
 * offer.pinned. at_ms is moved forward to st->pin_edge_ms, so that pin
 * intervals never overlap (SPEC §7) even when callers stamp the moment a
 * key was pressed; until_ms (0 = until unpinned) must lie after it.
 * seq and stream are left for the caller. Returns the number of events
 * (1 or 2), or 0 with err set.
 */
size_t lshop_state_plan_pin(const lshop_state *st, const lshop_offer *offer,
			    int64_t at_ms, int64_t until_ms, lshop_event out[2],
			    lshop_error *err);

/*
 * The offer.unpinned event that ends the pinned offer at at_ms (moved
 * forward to when it was pinned). Returns 0, or -1 with err set
 * ("not_pinned") when nothing is pinned.
 */
int lshop_state_plan_unpin(const lshop_state *st, int64_t at_ms,
			   lshop_event *out, lshop_error *err);

/*
 * The events of an offer's stock going from old_stock to new_stock
 * (LSHOP_STOCK_UNLIMITED for none): a stock.changed when a limited stock
 * changes, then an offer.sold_out when it reaches 0 (SPEC §3). Returns
 * how many were written into out (0, 1 or 2).
 */
size_t lshop_stock_events(const char *offer_id, int64_t old_stock,
			  int64_t new_stock, int64_t at_ms, lshop_event out[2]);

/*
 * The state as compact JSON:
 *   {"stream":"live/demo","seq":17,"at":NOW,
 *    "pinned":{"id":"live/demo:17","since":T,"until":T?,"offer":{..}}|null,
 *    "countdown":{"id":..,"since":T,"ends_at":T,"label":..,
 *                 "offer_id":..?}|null,
 *    "disclosure":{"id":..,"since":T,"kind":..,"text":..}|null,
 *    "stock":{"sku-123":50,...}}
 * "id" is the event id of the event that opened each interval. stock may
 * be NULL when nstock is 0. Returns a malloc'd string (caller frees), its
 * length in *len if len is not NULL; NULL on ENOMEM.
 */
char *lshop_state_to_json(const lshop_state *st, const char *stream,
			  int64_t now_ms, const lshop_stock_entry *stock,
			  size_t nstock, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
