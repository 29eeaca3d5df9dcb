/*
 * Helpers of the timeline tests (planning, journal, report): offers, a
 * stream that numbers and applies planned events the way the store does,
 * and the journal it writes.
 */
#ifndef LSHOP_TIMELINE_H
#define LSHOP_TIMELINE_H

#include "lshop/event.h"
#include "lshop/journal.h"
#include "lshop/state.h"
#include "lshop/webhook.h"

#include "testutil.h"

#define T0     INT64_C(1795514400123) /* 2026-11-24T10:00:00.123Z */
#define STREAM "live/demo"

/* An offer; disclosure NULL for none. Zeroed whole, like a parsed one. */
static inline lshop_offer make_offer(const char *id, const char *price,
				     const char *disclosure)
{
	lshop_offer o;

	memset(&o, 0, sizeof(o));
	snprintf(o.id, sizeof(o.id), "%s", id);
	snprintf(o.title, sizeof(o.title), "Title of %s", id);
	snprintf(o.price, sizeof(o.price), "%s", price);
	strcpy(o.currency, "EUR");
	o.stock = LSHOP_STOCK_UNLIMITED;
	snprintf(o.url, sizeof(o.url), "https://shop.example/p/%s", id);
	if (disclosure != NULL)
		snprintf(o.disclosure, sizeof(o.disclosure), "%s", disclosure);
	return o;
}

/* A stream: its state and its journal so far. */
typedef struct timeline {
	lshop_state st;
	char *journal;
	size_t len, cap;
} timeline;

static inline void tl_init(timeline *tl)
{
	memset(tl, 0, sizeof(*tl));
	lshop_state_init(&tl->st);
}

static inline void tl_free(timeline *tl)
{
	free(tl->journal);
	tl->journal = NULL;
}

static inline void tl_write(timeline *tl, const char *line, size_t len)
{
	if (tl->len + len + 1 > tl->cap) {
		tl->cap = (tl->len + len + 1) * 2;
		tl->journal = realloc(tl->journal, tl->cap);
		assert_non_null(tl->journal);
	}
	memcpy(tl->journal + tl->len, line, len);
	tl->len += len;
	tl->journal[tl->len] = '\0';
}

/* Numbers, applies and journals events (n == 0 fails: it was refused). */
static inline void tl_apply(timeline *tl, lshop_event *evs, size_t n)
{
	lshop_error err;
	size_t i, len;
	char *line;

	assert_true(n > 0 && n <= LSHOP_PLAN_MAX);
	for (i = 0; i < n; i++) {
		evs[i].seq = tl->st.seq + 1;
		snprintf(evs[i].stream, sizeof(evs[i].stream), "%s", STREAM);
		if (lshop_state_apply(&tl->st, &evs[i], &err) != 0)
			fail_msg("apply %d: %s", (int)evs[i].type, err.message);
		line = lshop_journal_event_line(&evs[i], &len);
		assert_non_null(line);
		tl_write(tl, line, len);
		free(line);
	}
}

/* A catalog put in the journal. */
static inline void tl_put(timeline *tl, const lshop_offer *o, int64_t at_ms)
{
	size_t len;
	char *line = lshop_journal_offer_line(o, at_ms, &len);

	assert_non_null(line);
	tl_write(tl, line, len);
	free(line);
}

/* The planning calls, applied; each must be accepted. */
static inline void tl_pin(timeline *tl, const lshop_offer *o, int64_t at_ms,
			  int64_t until_ms)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	size_t n =
	    lshop_state_plan_pin(&tl->st, o, at_ms, until_ms, "en", evs, &err);

	if (n == 0)
		fail_msg("pin refused: %s", err.message);
	tl_apply(tl, evs, n);
}

static inline void tl_unpin(timeline *tl, int64_t at_ms)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	size_t n = lshop_state_plan_unpin(&tl->st, at_ms, evs, &err);

	if (n == 0)
		fail_msg("unpin refused: %s", err.message);
	tl_apply(tl, evs, n);
}

static inline void tl_disclose(timeline *tl, int64_t at_ms, const char *kind,
			       const char *text)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	size_t n = lshop_state_plan_disclose(&tl->st, at_ms, kind, text, "de",
					     evs, &err);

	if (n == 0)
		fail_msg("disclose refused: %s", err.message);
	tl_apply(tl, evs, n);
}

static inline void tl_hide(timeline *tl, int64_t at_ms)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	size_t n = lshop_state_plan_hide(&tl->st, at_ms, evs, &err);

	if (n == 0)
		fail_msg("hide refused: %s", err.message);
	tl_apply(tl, evs, n);
}

static inline void tl_countdown(timeline *tl, int64_t at_ms, int64_t seconds,
				const char *label, const char *offer_id)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	size_t n = lshop_state_plan_countdown(&tl->st, at_ms, seconds, label,
					      offer_id, evs, &err);

	if (n == 0)
		fail_msg("countdown refused: %s", err.message);
	tl_apply(tl, evs, n);
}

/* What the clock makes happen by now_ms, applied; returns how many. */
static inline size_t tl_tick(timeline *tl, int64_t now_ms)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	size_t n = lshop_state_due(&tl->st, now_ms, evs);

	if (n > 0)
		tl_apply(tl, evs, n);
	return n;
}

static inline void tl_purchase(timeline *tl, int64_t at_ms, const char *id,
			       int64_t quantity)
{
	lshop_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = LSHOP_PURCHASE_COMPLETED;
	ev.at_ms = at_ms;
	snprintf(ev.offer_id, sizeof(ev.offer_id), "%s", id);
	ev.quantity = quantity;
	tl_apply(tl, &ev, 1);
}

/*
 * A canonical order on STREAM with one item (EUR), zeroed whole like a
 * parsed one; add items with order_add.
 */
static inline void order_add(lshop_order *o, const char *offer_id,
			     int64_t quantity, const char *amount)
{
	lshop_order_item *it = &o->items[o->nitems++];

	snprintf(it->offer_id, sizeof(it->offer_id), "%s", offer_id);
	it->quantity = quantity;
	snprintf(it->amount, sizeof(it->amount), "%s", amount);
	strcpy(it->currency, "EUR");
}

static inline lshop_order make_order(const char *order_id, const char *offer_id,
				     int64_t quantity, const char *amount)
{
	lshop_order o;

	memset(&o, 0, sizeof(o));
	snprintf(o.order_id, sizeof(o.order_id), "%s", order_id);
	strcpy(o.stream, STREAM);
	order_add(&o, offer_id, quantity, amount);
	return o;
}

/*
 * An accepted order, as the store takes it: the events of each item on
 * its offer's stock (stocks[i] for item i, updated; NULL: all unknown),
 * numbered and applied, and the order journalled with them on one line.
 * Returns how many events it made.
 */
static inline size_t tl_order(timeline *tl, lshop_order *order,
			      lshop_provider p, int64_t at_ms, int64_t *stocks)
{
	lshop_event *evs = calloc(3 * LSHOP_ORDER_ITEMS_MAX, sizeof(*evs));
	int64_t unknown;
	lshop_error err;
	size_t i, n = 0, len;
	char *line;

	assert_non_null(evs);
	for (i = 0; i < order->nitems; i++) {
		unknown = LSHOP_STOCK_UNKNOWN;
		n += lshop_purchase_events(&order->items[i],
					   stocks ? &stocks[i] : &unknown,
					   at_ms, evs + n);
	}
	for (i = 0; i < n; i++) {
		evs[i].seq = tl->st.seq + 1;
		snprintf(evs[i].stream, sizeof(evs[i].stream), "%s", STREAM);
		if (lshop_state_apply(&tl->st, &evs[i], &err) != 0)
			fail_msg("apply %d: %s", (int)evs[i].type, err.message);
	}
	line = lshop_journal_order_line(order, p, at_ms, evs, n, &len);
	assert_non_null(line);
	assert_ptr_equal(strchr(line, '\n'), line + len - 1);
	tl_write(tl, line, len);
	free(line);
	free(evs);
	return n;
}

/*
 * One random action on tl at the (moving) clock *now: first whatever the
 * clock makes happen, else a pin, unpin, disclose, hide or countdown
 * stamped up to 10 s in the past, as callers may. Returns the events
 * planned into evs (0 when the action was refused); nothing is applied.
 */
static inline size_t tl_random_plan(timeline *tl, uint32_t *rnd, int64_t *now,
				    const lshop_offer *const *offers,
				    size_t noffers,
				    lshop_event evs[LSHOP_PLAN_MAX])
{
	static const char *const kinds[] = {"ad", "sponsored", "affiliate",
					    "own"};
	const lshop_offer *o;
	lshop_error err;
	uint32_t r;
	int64_t at;
	size_t n;

	r = *rnd = *rnd * 1103515245u + 12345u;
	*now += (int64_t)((r >> 8) % 4000);
	at = *now - (int64_t)((r >> 4) % 10000);
	o = offers[(r >> 16) % noffers];
	n = lshop_state_due(&tl->st, *now, evs);
	if (n > 0)
		return n;
	switch ((r >> 20) % 6) {
	case 0:
	case 1:
		return lshop_state_plan_pin(&tl->st, o, at,
					    (r >> 24) % 2 ? *now + 5000 : 0,
					    "de", evs, &err);
	case 2:
		return lshop_state_plan_unpin(&tl->st, at, evs, &err);
	case 3:
		return lshop_state_plan_disclose(
		    &tl->st, at, kinds[(r >> 24) % 4], NULL, "de", evs, &err);
	case 4:
		return lshop_state_plan_hide(&tl->st, at, evs, &err);
	default:
		return lshop_state_plan_countdown(
		    &tl->st, at, 1 + (r >> 24) % 8, "c",
		    (r >> 12) % 2 ? o->id : NULL, evs, &err);
	}
}

#endif
