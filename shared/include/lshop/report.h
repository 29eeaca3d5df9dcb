/*
 * liveshop core: the report of a stream (SPEC §5 "report"), computed from
 * its journal: per offer, pins, seconds pinned, orders, units, revenue;
 * and how much of the time a sponsored offer was pinned its disclosure
 * was shown.
 *
 * An offer is "sponsored" here when it carries a disclosure (SPEC §2).
 */
#ifndef LSHOP_REPORT_H
#define LSHOP_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "offer.h"
#include "webhook.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lshop_report lshop_report;

/* A new, empty report; NULL on ENOMEM. Free with lshop_report_free. */
lshop_report *lshop_report_new(void);

void lshop_report_free(lshop_report *r);

/* The catalog as put: titles, prices and currencies for the report. */
int lshop_report_add_offer(lshop_report *r, const lshop_offer *offer);

/*
 * Feeds one event, in seq order (as a replay hands them out): pins and
 * disclosures. Returns 0, -1 on ENOMEM.
 */
int lshop_report_add_event(lshop_report *r, const lshop_event *ev);

/*
 * Feeds one accepted order: per offer of its items, an order, its units
 * (sold on stream plus oversold), its revenue (the items' amounts, exact
 * decimal) and its oversold units. Returns 0, -1 on ENOMEM.
 */
int lshop_report_add_order(lshop_report *r, const lshop_order *order);

/*
 * The report as compact JSON; intervals still open count up to now_ms:
 *   {"stream":S,"at":NOW,
 *    "offers":[{"offer_id":..,"title":..,"pins":N,"seconds_pinned":12.345,
 *               "orders":N,"units":N,"oversold":N,"revenue":"39.98",
 *               "currency":"EUR"}],
 *    "disclosure":{"sponsored_pins":N,"sponsored_seconds":S,
 *                  "disclosed_seconds":S,"coverage":1.0}}
 * Offers appear in the order first seen; revenue is exact decimal
 * arithmetic on the price strings; coverage is disclosed/sponsored
 * seconds (1.0 when nothing sponsored was pinned). Malloc'd, NULL on
 * ENOMEM.
 */
char *lshop_report_to_json(const lshop_report *r, const char *stream,
			   int64_t now_ms, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
