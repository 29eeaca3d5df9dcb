/*
 * liveshop core: the report of a stream (SPEC §5 "report", §14), computed
 * from its journal: per offer, pins, seconds pinned, orders, units,
 * revenue; how much of the time a sponsored offer was pinned its
 * disclosure was shown; and per offer and per show the audience and sales
 * figures (KPIs) of docs/kpis.md.
 *
 * An offer is "sponsored" here when it carries a disclosure (SPEC §2).
 *
 * A show's window runs from its show.started to its show.ended (or to the
 * next show.started) in journal order: an order line counts in the show
 * on air when it comes, pins and sponsored time count in it cut to its
 * window. Its audience is the host's tallies (audience lines of
 * journal.h): the last full line of a show holds its figures.
 *
 * Memory is bounded: the report keeps the figures of the last
 * LSHOP_REPORT_SHOWS_MAX shows (an older one is dropped when one more
 * starts; the per-offer figures of the stream keep what it added), and
 * per show at most LSHOP_REPORT_VIEWER_POINTS_MAX viewer points,
 * LSHOP_REPORT_ORDER_POINTS_MAX order points (when full, every other
 * point is dropped and from then on only every other one is kept: the
 * series halves its resolution, its latest point always stays) and
 * LSHOP_REPORT_PIN_SPANS_MAX pin intervals (when full, the older half is
 * dropped). Sketches (2 KiB each) exist per offer seen in a tally and per
 * show, and per offer within a show only for offers in its tallies (at
 * most LSHOP_AUDIENCE_OFFERS_MAX).
 */
#ifndef LSHOP_REPORT_H
#define LSHOP_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "audience.h"
#include "event.h"
#include "offer.h"
#include "webhook.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lshop_report lshop_report;

#define LSHOP_REPORT_SHOWS_MAX         50   /* shows kept */
#define LSHOP_REPORT_LAST_SHOWS        10   /* lshop_report_to_json lists */
#define LSHOP_REPORT_VIEWER_POINTS_MAX 2000 /* per show */
#define LSHOP_REPORT_ORDER_POINTS_MAX  5000 /* per show */
#define LSHOP_REPORT_PIN_SPANS_MAX     2000 /* per show */
/* a show's orders in more currencies than this leave its gmv unsaid */
#define LSHOP_REPORT_CURRENCIES_MAX 8
/* commission rows (offer x currency x rate) kept per show */
#define LSHOP_REPORT_COMMISSION_ROWS_MAX 1024
/* orders of the kept shows, and their items, kept for their refunds */
#define LSHOP_REPORT_REFUND_ORDERS_MAX 100000
#define LSHOP_REPORT_REFUND_ITEMS_MAX  500000

/* A new, empty report; NULL on ENOMEM. Free with lshop_report_free. */
lshop_report *lshop_report_new(void);

void lshop_report_free(lshop_report *r);

/* The catalog as put: titles, prices and currencies for the report. */
int lshop_report_add_offer(lshop_report *r, const lshop_offer *offer);

/*
 * Feeds one event, in seq order (as a replay hands them out): pins,
 * disclosures, show.started and show.ended. A show.started of the show
 * on air changes nothing (a checkpoint re-lists it); one of a show that
 * ended and is still kept resumes it (a publish again within its
 * occurrence), its figures going on from where they were; a show.ended
 * that names another show than the one on air changes nothing. Returns
 * 0, -1 on ENOMEM.
 */
int lshop_report_add_event(lshop_report *r, const lshop_event *ev);

/*
 * Feeds one accepted order, taken at at_ms (its journal line's "at"), in
 * journal order, before the events of its line: per offer of its items,
 * an order, its units (sold on stream plus oversold), its revenue (the
 * items' amounts, exact decimal) and its oversold units; and the same in
 * the show on air, if any, with a point of its order series at at_ms.
 * An order of a show is kept (its id, per item its commission row and
 * amount; at most LSHOP_REPORT_REFUND_ORDERS_MAX orders and
 * LSHOP_REPORT_REFUND_ITEMS_MAX items over the kept shows, the orders
 * past that counted as "orders_not_kept") for the refunds that may come.
 * A refund (order->refund) says what was refunded so far of such an
 * order: per item, capped at its amount, it replaces the earlier refund
 * of the order in its commission row's "refunded"; nothing else changes
 * (GMV, revenue and the rest stay gross). A refund of an order no kept
 * show holds, or with an item of an offer and currency its order does
 * not have, is counted in "refunds_unmatched" (docs/kpis.md).
 * Returns 0, -1 on ENOMEM.
 */
int lshop_report_add_order_at(lshop_report *r, const lshop_order *order,
			      int64_t at_ms);

/*
 * lshop_report_add_order_at at the latest time the report has been fed
 * (an event's, an order's or a tally's): for callers that do not have
 * the order line's time.
 */
int lshop_report_add_order(lshop_report *r, const lshop_order *order);

/*
 * Feeds one audience line (journal.h, lshop_journal_audience_line) of
 * at_ms, in journal order. full 0, a sample: the viewers then become a
 * point of the viewer series of the show a->show_id and raise its peak.
 * full 1, the figures of that show's tally so far: being cumulative, they
 * add what they have more than its tally's figures before (watch time,
 * impressions, clicks) to the show and its offers; peaks keep the
 * highest, sketches merge. A tally whose figures went back is a new one
 * (a host starts one, with an empty full line, at each change of show,
 * and for a show that starts again), so its figures add to the old ones.
 * A tally of show "" (between shows) only adds to the per-offer figures
 * of the stream. A tally of a show the report does not keep (never
 * started, or dropped) is ignored: it may come after the show's
 * show.ended, or the next show's show.started, but not before its own
 * show.started. Returns 0, -1 on ENOMEM.
 */
int lshop_report_add_audience(lshop_report *r, const lshop_audience *a,
			      int full, int64_t at_ms);

/*
 * The report as compact JSON; intervals still open count up to now_ms:
 *   {"stream":S,"at":NOW,
 *    "offers":[{"offer_id":..,"title":..,"pins":N,"seconds_pinned":12.345,
 *               "orders":N,"units":N,"oversold":N,"revenue":"39.98",
 *               "currency":"EUR",
 *               "viewers_peak":N,"viewers_unique":N,"watch_seconds":S,
 *               "impressions":N,"clicks":N,"ctr":0.1234|null,
 *               "gmv":"39.98"|null,"aov":"19.99"|null,
 *               "conversion":x|null,"click_to_buy":x|null,
 *               "gmv_per_1000_viewers":"12.34"|null}],
 *    "disclosure":{"sponsored_pins":N,"sponsored_seconds":S,
 *                  "disclosed_seconds":S,"coverage":1.0},
 *    "shows":[SHOW,...],
 *    "across_shows":{"shows":N,"viewers_peak":..,...}}
 * Offers appear in the order first seen; revenue is exact decimal
 * arithmetic on the price strings; coverage is disclosed/sponsored
 * seconds (1.0 when nothing sponsored was pinned). An offer's audience
 * figures add up those of every show and every stretch between shows;
 * gmv is its revenue. "shows" lists the last last_shows shows kept,
 * oldest first, each
 *   {"id":..,"series":..(when set),"title":..,"host":..(when set),
 *    "started_at":T,"ended_at":T|null,"viewers_peak":N,
 *    "viewers_unique":N,"watch_seconds":S,"impressions":N,"clicks":N,
 *    "ctr":x|null,"orders":N,"units":N,"gmv":"1.00"|null,
 *    "gmv_by_currency":{"EUR":"1.00","USD":"2.00"} (only when its orders
 *    are in more than one currency: gmv, currency, aov and
 *    gmv_per_1000_viewers are then null),
 *    "currency":"EUR"|null,"aov":"1.00"|null,"conversion":x|null,
 *    "click_to_buy":x|null,"gmv_per_1000_viewers":"1.00"|null,
 *    "disclosure_coverage":x}
 * and "across_shows" says the same of those shows together ("shows" how
 * many; peaks the highest, sketches merged, the rest added up). Each
 * show also has "commission" (see Commissions below):
 *   {"rate":"0.10"|null,"revenue":{"EUR":"1.00"},"refunded":{...},
 *    "without_commission":{...},"due":{...},"complete":true,
 *    "offers":[{"offer_id":..,"title":..,"currency":"EUR",
 *               "rate":"0.15"|null,"rate_source":"offer"|"show"|null,
 *               "revenue":"1.00","refunded":"0.00",
 *               "commission":"0.15"}]}
 * and the report ends with "commission_by_host":[{"host":..|null,
 * "shows":N,"revenue":{..},"refunded":{..},"without_commission":{..},
 * "due":{..},"complete":true}] over the listed shows and "refunds":
 * {"refunds":N,"unmatched":N,"orders_not_kept":N}. The
 * formulas, units and null rules are docs/kpis.md's: ratios are numbers
 * rounded to 4 decimals, aov and gmv_per_1000_viewers decimal strings
 * with 2 (half up). Malloc'd, NULL on ENOMEM.
 */
char *lshop_report_json(const lshop_report *r, const char *stream,
			int64_t now_ms, size_t last_shows, size_t *len);

/* lshop_report_json with the last LSHOP_REPORT_LAST_SHOWS shows. */
char *lshop_report_to_json(const lshop_report *r, const char *stream,
			   int64_t now_ms, size_t *len);

/* 1 if the report keeps the show show_id, else 0 (the host's 404). */
int lshop_report_has_show(const lshop_report *r, const char *show_id);

/*
 * The report of one show as compact JSON, intervals still open counting
 * up to now_ms:
 *   {"stream":S,"at":NOW,"show":SHOW (as in "shows" above),
 *    "offers":[...the per-offer objects above, with the figures within
 *              the show: offers pinned, ordered or tallied in it...],
 *    "disclosure":{...as above, within the show's window...},
 *    "series":{"viewers":[[UNIX_MS,N],...],
 *              "orders":[[UNIX_MS,ORDERS,UNITS,GMV|null],...],
 *              "pins":[{"offer_id":..,"start":UNIX_MS,
 *                       "end":UNIX_MS|null},...]}}
 * viewers: the show's samples and full tallies; orders: one point per
 * order, the show's orders, units and gmv so far (a JSON number; null
 * while its orders are in more than one currency); pins: its pin
 * intervals cut to its window, end null while still pinned on air. All
 * in time order and thinned as said at the top. Malloc'd; NULL when the
 * report keeps no such show (lshop_report_has_show says 0: *len, if len
 * is not NULL, is then set to 0) or on ENOMEM.
 */
char *lshop_report_show_json(const lshop_report *r, const char *stream,
			     const char *show_id, int64_t now_ms, size_t *len);
/* (Its per-offer objects add "commission": that offer's rows, as the
 * show's "commission.offers" without offer_id and title.) */

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
 *   viewers_peak    most viewers at once while it was pinned
 *   viewers_unique  distinct viewers while it was pinned (estimate)
 *   watch_seconds   viewer-seconds while it was pinned, as seconds_pinned
 *   impressions     impressions of its card (beacons)
 *   clicks          clicks on its card (beacons)
 *   ctr             clicks / impressions, 4 decimals ("0.2500")
 *   gmv             its revenue; empty when revenue is
 *   aov             gmv / orders, 2 decimals; empty when JSON null
 *   conversion      orders / viewers_unique, 4 decimals
 *   click_to_buy    orders / clicks, 4 decimals
 *   gmv_per_1000_viewers  gmv x 1000 / viewers_unique, 2 decimals
 *
 * A field holding a comma, a quote, CR or LF is quoted, quotes doubled;
 * titles are UTF-8 as put, with no byte-order mark before the header.
 * Ratios are empty where the JSON says null. Nothing is escaped for
 * spreadsheets: a title starting with '=' stays so. The stream-wide
 * disclosure figures are the JSON's alone.
 * Malloc'd and NUL-terminated (*len, if len is not NULL, leaves the NUL
 * out); NULL on ENOMEM.
 */
char *lshop_report_to_csv(const lshop_report *r, int64_t now_ms, size_t *len);

/*
 * The offers of one show as CSV, the columns of lshop_report_to_csv with
 * the figures within the show (the per-offer objects of
 * lshop_report_show_json). NULL when the report keeps no such show
 * (*len, if len is not NULL, is then set to 0) or on ENOMEM.
 */
char *lshop_report_show_csv(const lshop_report *r, const char *show_id,
			    int64_t now_ms, size_t *len);

/*
 * The last last_shows shows as CSV, oldest first, one row each, as the
 * JSON's "shows" has them, with the columns
 *   show_id, series, title, host, started_at, ended_at (RFC 3339; empty
 *   while on air), viewers_peak, viewers_unique, watch_seconds,
 *   impressions, clicks, ctr, orders, units, gmv, currency, aov,
 *   conversion, click_to_buy, gmv_per_1000_viewers, disclosure_coverage
 * (empty where the JSON says null; a show whose orders are in more than
 * one currency has empty gmv, currency, aov and gmv_per_1000_viewers).
 * Malloc'd, NULL on ENOMEM.
 */
char *lshop_report_shows_csv(const lshop_report *r, size_t last_shows,
			     int64_t now_ms, size_t *len);

/*
 * The chapters of one show as WebVTT (SPEC §16, text/vtt; charset=utf-8):
 * "WEBVTT", a blank line, then one cue per pin interval of the show (its
 * series.pins of lshop_report_show_json), each followed by a blank line:
 *
 *   N-OFFERID
 *   HH:MM:SS.mmm --> HH:MM:SS.mmm
 *   TITLE — PRICE CURRENCY
 *
 * N is the pin's number in the show from 1 (in the order of series.pins,
 * so a cue keeps its number while the show goes on, until the pin
 * intervals are thinned), OFFERID the pinned offer's id: a reader gets
 * the offer back as what follows the first '-'. Times are relative to
 * the show's start (its show.started, the start of its recording): a
 * cue runs from the pin's start to its end, an open pin's to now_ms
 * while the show is on air (to the show's end otherwise); hours take
 * more than two digits past 99. Cues are in time order and never
 * overlap: a cue starting before the previous one's end starts there,
 * and a cue left with no time (end not after start) is left out, its
 * number unused. The text is the offer's title, " — " (U+2014), its
 * price and currency as the catalog says them now (the title alone
 * when the price is unknown; the offer id when the title is), with
 * '&', '<' and '>' escaped as character references (so no "-->" can
 * appear) and CR and LF (which titles may hold) as spaces. A show with
 * no pins gives the header alone.
 * Malloc'd and NUL-terminated (*len, if len is not NULL, leaves the NUL
 * out). NULL with errno ENOENT when the report keeps no such show (*len,
 * if len is not NULL, is then set to 0), NULL with errno ENOMEM when out
 * of memory.
 */
char *lshop_report_show_chapters_vtt(const lshop_report *r, const char *show_id,
				     int64_t now_ms, size_t *len);

/*
 * Commissions (docs/kpis.md "Commissions"). An order item in a show has
 * a rate: its offer's commission as the catalog said when the order came
 * (put or pinned before it in the journal) if it has one, else the
 * commission of the show on air as it last started, else none (0: its
 * revenue is "without commission"). Items of one offer in one currency
 * at one rate (and source) make a row of the show; a row's commission is
 * its exact revenue less what refunds took back of it (its "refunded")
 * times its rate, rounded half up to 2 decimals once,
 * per row; every total (a show's, a host's) is the sum of its rows'
 * rounded commissions, so rows add up to totals exactly. Orders outside
 * any show have no host and no commission. A show keeps at most
 * LSHOP_REPORT_COMMISSION_ROWS_MAX rows: items that would make one more
 * are left out and its totals say "complete":false.
 *
 * The payout CSV of the shows started in [from_ms, to_ms) that the report
 * keeps (the last LSHOP_REPORT_SHOWS_MAX), oldest first, with by_host 0
 * one row per show x offer x currency x rate:
 *   show_id, host, started_at, offer_id, title, currency, revenue,
 *   refunded, rate (empty: none), rate_source (offer, show or empty),
 *   commission
 * and with by_host 1 one row per host x currency (hosts and currencies
 * in the order first seen; a host with no orders in the period has one
 * row with an empty currency and zeros):
 *   host, currency, shows (of the host in the period), revenue,
 *   refunded, revenue_without_commission, commission, complete
 *   (true/false)
 * Amounts are decimal strings (revenue with the most decimals of its
 * amounts, commission with 2). Malloc'd and NUL-terminated (*len, if not
 * NULL, leaves the NUL out); NULL on ENOMEM.
 */
char *lshop_report_commissions_csv(const lshop_report *r, int64_t from_ms,
				   int64_t to_ms, int by_host, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
