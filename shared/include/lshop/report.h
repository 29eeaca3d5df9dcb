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

/*
 * The offers of the report as CSV (RFC 4180, text/csv; charset=utf-8):
 * CRLF line ends, a header row, then one row per offer in the order of
 * the JSON, with the fields of its per-offer object:
 *
 *   offer_id        the offer's id
 *   title           its title; empty if only seen in orders (JSON null)
 *   pins            how often it was pinned
 *   seconds_pinned  seconds, exact to the ms ("40.25", "0.0"); an open
 *                   pin counts up to now_ms
 *   orders          orders that held it
 *   units           units ordered, oversold ones included
 *   oversold        units beyond the stock
 *   revenue         exact decimal ("59.97"); empty when it cannot be
 *                   said as one number (JSON null)
 *   currency        ISO 4217 code of revenue; empty if unknown
 *
 * A field holding a comma, a quote, CR or LF is quoted, quotes doubled;
 * titles are UTF-8 as put, with no byte-order mark before the header.
 * Nothing is escaped for spreadsheets: a title starting with '=' stays
 * so. The stream-wide disclosure figures are the JSON's alone.
 * Malloc'd and NUL-terminated (*len, if len is not NULL, leaves the NUL
 * out); NULL on ENOMEM.
 */
char *lshop_report_to_csv(const lshop_report *r, int64_t now_ms, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
