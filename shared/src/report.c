/*
 * liveshop core: the report of a stream, computed in one pass over its
 * journal with one small record per offer.
 *
 * Seconds pinned come from each offer's own offer.pinned -> offer
 * .unpinned intervals. Disclosure coverage sweeps the pin and disclosure
 * events in the order they were written: a sponsored pin's time counts
 * as disclosed while any disclosure is shown. Planning keeps those
 * events in time order (a sponsored pin and its end never go back before
 * the latest disclosure change, a hide never before the latest pin edge:
 * see state.c), so the sweep is exact for a planned timeline; an event
 * stamped before one already swept counts from that one's time.
 *
 * Orders, units and revenue come from the orders themselves (the order
 * lines of the journal), not from purchase.completed: an order's units
 * beyond the stock make no event but were paid for, and its amounts are
 * what the shop charged, whatever the catalog's price was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lshop/report.h"
#include "lshop/time.h"

#include "internal.h"

/*
 * Revenue in units of 1/10000 (amounts have at most 4 decimals), as
 * base-10^9 limbs, least significant first: 54 digits hold any sum of
 * int64 amounts that a report can be fed.
 */
#define LIMBS     6
#define LIMB_BASE 1000000000u

typedef struct offer_rec {
	char id[LSHOP_ID_MAX + 1];
	char title[LSHOP_TITLE_MAX + 1]; /* "" until put or pinned */
	char price[LSHOP_PRICE_MAX + 1]; /* its price now; "" unknown */
	char currency[4];                /* the catalog's; "" unknown */
	int64_t pins;
	int64_t pinned_ms; /* closed pin intervals */
	int64_t orders;
	int64_t units; /* sold on stream and oversold */
	int64_t oversold;
	uint32_t revenue[LIMBS];
	char revenue_currency[4]; /* of the amounts counted; "" none yet */
	int decimals; /* the most of the amounts counted; -1 none yet */
	/* amounts in more than one currency, or unreadable: the revenue
	 * cannot be said as one number */
	int revenue_unknown;
} offer_rec;

struct lshop_report {
	offer_rec *offers; /* in the order first seen */
	size_t noffers, cap;
	size_t *slots; /* open addressing by id: index + 1, 0 = empty */
	size_t nslots; /* a power of 2, at least twice noffers */

	int pinned; /* a pin interval is open */
	size_t pin_offer;
	int64_t pin_at_ms;

	/* disclosure coverage, swept up to sweep_ms */
	int swept;
	int sponsored; /* the pinned offer carries a disclosure */
	int shown;     /* a disclosure is shown */
	int64_t sweep_ms;
	int64_t sponsored_pins;
	int64_t sponsored_ms;
	int64_t disclosed_ms;
};

lshop_report *lshop_report_new(void)
{
	return calloc(1, sizeof(lshop_report));
}

void lshop_report_free(lshop_report *r)
{
	if (r == NULL)
		return;
	free(r->offers);
	free(r->slots);
	free(r);
}

/* FNV-1a */
static size_t id_hash(const char *id)
{
	uint64_t h = UINT64_C(14695981039346656037);

	while (*id)
		h = (h ^ (unsigned char)*id++) * UINT64_C(1099511628211);
	return (size_t)h;
}

static size_t *find_slot(const lshop_report *r, const char *id)
{
	size_t mask = r->nslots - 1, i = id_hash(id) & mask;

	while (r->slots[i] != 0 &&
	       strcmp(r->offers[r->slots[i] - 1].id, id) != 0)
		i = (i + 1) & mask;
	return &r->slots[i];
}

static int grow(lshop_report *r)
{
	size_t nslots = r->nslots ? r->nslots * 2 : 16, i, *slots, *old;
	offer_rec *offers;

	if (r->noffers == r->cap) {
		offers = realloc(r->offers, nslots / 2 * sizeof(*offers));
		if (offers == NULL)
			return -1;
		r->offers = offers;
		r->cap = nslots / 2;
	}
	slots = calloc(nslots, sizeof(*slots));
	if (slots == NULL)
		return -1;
	old = r->slots;
	r->slots = slots;
	r->nslots = nslots;
	for (i = 0; i < r->noffers; i++)
		*find_slot(r, r->offers[i].id) = i + 1;
	free(old);
	return 0;
}

/* The record of offer id, made when first seen; NULL on ENOMEM. */
static offer_rec *offer_of(lshop_report *r, const char *id)
{
	size_t *slot;
	offer_rec *o;

	if (r->nslots != 0) {
		slot = find_slot(r, id);
		if (*slot != 0)
			return &r->offers[*slot - 1];
	}
	if (r->noffers * 2 >= r->nslots && grow(r) != 0)
		return NULL;
	o = &r->offers[r->noffers++];
	memset(o, 0, sizeof(*o));
	snprintf(o->id, sizeof(o->id), "%s", id);
	o->decimals = -1;
	*find_slot(r, id) = r->noffers;
	return o;
}

static void offer_update(offer_rec *o, const lshop_offer *offer)
{
	memcpy(o->title, offer->title, sizeof(o->title));
	memcpy(o->price, offer->price, sizeof(o->price));
	memcpy(o->currency, offer->currency, sizeof(o->currency));
}

int lshop_report_add_offer(lshop_report *r, const lshop_offer *offer)
{
	offer_rec *o = offer_of(r, offer->id);

	if (o == NULL)
		return -1;
	offer_update(o, offer);
	return 0;
}

/* revenue += v, in 1/10000. */
static void revenue_add(uint32_t rev[LIMBS], uint64_t v)
{
	uint64_t sum, carry = 0;
	size_t i;

	for (i = 0; i < LIMBS; i++) {
		sum = rev[i] + v % LIMB_BASE + carry;
		v /= LIMB_BASE;
		rev[i] = (uint32_t)(sum % LIMB_BASE);
		carry = sum / LIMB_BASE;
	}
}

/* The decimals of a price string. */
static int price_decimals(const char *price)
{
	const char *dot = strchr(price, '.');

	return dot ? (int)strlen(dot + 1) : 0;
}

/* rev (in 1/10000) as a decimal string with decimals digits. */
static void revenue_format(char *out, size_t cap, const uint32_t rev[LIMBS],
			   int decimals)
{
	char digits[LIMBS * 9 + 8];
	size_t n = 0, len, i;
	int top = LIMBS - 1;

	while (top > 0 && rev[top] == 0)
		top--;
	n += (size_t)snprintf(digits, sizeof(digits), "%05u",
			      (unsigned)rev[top]);
	while (--top >= 0)
		n += (size_t)snprintf(digits + n, sizeof(digits) - n, "%09u",
				      (unsigned)rev[top]);
	/* digits holds at least 5: the units and the 4 decimals. */
	len = n - 4;
	for (i = 0; i + 1 < len && digits[i] == '0'; i++)
		;
	if (decimals > 0)
		snprintf(out, cap, "%.*s.%.*s", (int)(len - i), digits + i,
			 decimals, digits + len);
	else
		snprintf(out, cap, "%.*s", (int)(len - i), digits + i);
}

/* Moves the coverage sweep to at_ms. */
static void sweep_to(lshop_report *r, int64_t at_ms)
{
	int64_t d;

	if (!r->swept) {
		r->swept = 1;
		r->sweep_ms = at_ms;
		return;
	}
	if (at_ms <= r->sweep_ms)
		return;
	d = at_ms - r->sweep_ms;
	if (r->sponsored) {
		r->sponsored_ms += d;
		if (r->shown)
			r->disclosed_ms += d;
	}
	r->sweep_ms = at_ms;
}

static void pin_close(lshop_report *r, int64_t at_ms)
{
	if (r->pinned && at_ms > r->pin_at_ms)
		r->offers[r->pin_offer].pinned_ms += at_ms - r->pin_at_ms;
	r->pinned = 0;
}

static int64_t add_saturated(int64_t a, int64_t b)
{
	if (b <= 0)
		return a;
	return b > INT64_MAX - a ? INT64_MAX : a + b;
}

/* An item's amount into o's revenue. */
static void revenue_count(offer_rec *o, const lshop_order_item *it)
{
	const char *end;
	int64_t v;
	int d;

	if (o->revenue_unknown)
		return;
	end = memchr(it->amount, '\0', sizeof(it->amount));
	if (end == NULL ||
	    lshop_amount_scaled(it->amount, (size_t)(end - it->amount), &v,
				&d) != 0 ||
	    (o->revenue_currency[0] != '\0' &&
	     strcmp(o->revenue_currency, it->currency) != 0)) {
		o->revenue_unknown = 1;
		return;
	}
	memcpy(o->revenue_currency, it->currency, sizeof(o->revenue_currency));
	revenue_add(o->revenue, (uint64_t)v);
	if (d > o->decimals)
		o->decimals = d;
}

int lshop_report_add_order(lshop_report *r, const lshop_order *order)
{
	const lshop_order_item *it;
	offer_rec *o;
	size_t n = order->nitems < LSHOP_ORDER_ITEMS_MAX
		       ? order->nitems
		       : LSHOP_ORDER_ITEMS_MAX;
	size_t i, j;

	for (i = 0; i < n; i++) {
		it = &order->items[i];
		o = offer_of(r, it->offer_id);
		if (o == NULL)
			return -1;
		/* One order per offer, though a shop may list it twice
		 * (in two currencies, say). */
		for (j = 0; j < i; j++)
			if (strcmp(order->items[j].offer_id, it->offer_id) == 0)
				break;
		if (j == i)
			o->orders++;
		o->units = add_saturated(o->units, it->quantity);
		o->oversold = add_saturated(o->oversold, it->oversold);
		revenue_count(o, it);
	}
	return 0;
}

int lshop_report_add_event(lshop_report *r, const lshop_event *ev)
{
	offer_rec *o;

	switch (ev->type) {
	case LSHOP_OFFER_PINNED:
		o = offer_of(r, ev->offer.id);
		if (o == NULL)
			return -1;
		/* The offer as pinned is the catalog's at that moment. */
		offer_update(o, &ev->offer);
		o->pins++;
		pin_close(r, ev->at_ms); /* replaced without an unpin */
		r->pinned = 1;
		r->pin_offer = (size_t)(o - r->offers);
		r->pin_at_ms = ev->at_ms;
		sweep_to(r, ev->at_ms);
		r->sponsored = ev->offer.disclosure[0] != '\0';
		if (r->sponsored)
			r->sponsored_pins++;
		return 0;
	case LSHOP_OFFER_UNPINNED:
		if (!r->pinned ||
		    strcmp(r->offers[r->pin_offer].id, ev->offer_id) != 0)
			return 0;
		pin_close(r, ev->at_ms);
		sweep_to(r, ev->at_ms);
		r->sponsored = 0;
		return 0;
	case LSHOP_DISCLOSURE_SHOWN:
	case LSHOP_DISCLOSURE_HIDDEN:
		sweep_to(r, ev->at_ms);
		r->shown = ev->type == LSHOP_DISCLOSURE_SHOWN;
		return 0;
	default:
		/* purchase.completed and stock: counted from the orders. */
		return 0;
	}
}

static json_t *seconds_json(int64_t ms)
{
	return json_real((double)ms / 1000.0);
}

/* What the report says of one offer, in both its formats. */
typedef struct offer_figures {
	int64_t pinned_ms;           /* open interval counted up to now */
	char revenue[LIMBS * 9 + 8]; /* "" when it cannot be said */
	const char *currency;        /* "" unknown */
} offer_figures;

static void offer_figures_of(const lshop_report *r, const offer_rec *o,
			     int64_t now_ms, offer_figures *f)
{
	int decimals = o->decimals;

	f->pinned_ms = o->pinned_ms;
	if (r->pinned && &r->offers[r->pin_offer] == o && now_ms > r->pin_at_ms)
		f->pinned_ms += now_ms - r->pin_at_ms;
	if (decimals < 0)
		decimals = o->price[0] ? price_decimals(o->price) : 0;
	f->revenue[0] = '\0';
	if (!o->revenue_unknown)
		revenue_format(f->revenue, sizeof(f->revenue), o->revenue,
			       decimals);
	/* The revenue's currency once there is revenue, else the
	 * catalog's. */
	f->currency = o->revenue_currency[0] && !o->revenue_unknown
			  ? o->revenue_currency
			  : o->currency;
}

static json_t *offer_json(const lshop_report *r, const offer_rec *o,
			  int64_t now_ms)
{
	offer_figures f;
	json_t *v = json_object();

	if (v == NULL)
		return NULL;
	offer_figures_of(r, o, now_ms, &f);
	/* An offer only seen in orders has no title: null, not "". */
	if (lshop_json_set(v, "offer_id", json_string(o->id)) ||
	    lshop_json_set(v, "title",
			   o->title[0] ? json_string(o->title) : json_null()) ||
	    lshop_json_set(v, "pins", json_integer(o->pins)) ||
	    lshop_json_set(v, "seconds_pinned", seconds_json(f.pinned_ms)) ||
	    lshop_json_set(v, "orders", json_integer(o->orders)) ||
	    lshop_json_set(v, "units", json_integer(o->units)) ||
	    lshop_json_set(v, "oversold", json_integer(o->oversold)) ||
	    lshop_json_set(v, "revenue",
			   f.revenue[0] ? json_string(f.revenue)
					: json_null()) ||
	    lshop_json_set(v, "currency",
			   f.currency[0] ? json_string(f.currency)
					 : json_null())) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static json_t *disclosure_json(const lshop_report *r, int64_t now_ms)
{
	int64_t sponsored = r->sponsored_ms, disclosed = r->disclosed_ms, d;
	json_t *v = json_object();

	if (v == NULL)
		return NULL;
	/* Intervals still open count up to now. */
	if (r->swept && r->sponsored && now_ms > r->sweep_ms) {
		d = now_ms - r->sweep_ms;
		sponsored += d;
		if (r->shown)
			disclosed += d;
	}
	if (lshop_json_set(v, "sponsored_pins",
			   json_integer(r->sponsored_pins)) ||
	    lshop_json_set(v, "sponsored_seconds", seconds_json(sponsored)) ||
	    lshop_json_set(v, "disclosed_seconds", seconds_json(disclosed)) ||
	    lshop_json_set(v, "coverage",
			   json_real(sponsored > 0
					 ? (double)disclosed / (double)sponsored
					 : 1.0))) {
		json_decref(v);
		return NULL;
	}
	return v;
}

char *lshop_report_to_json(const lshop_report *r, const char *stream,
			   int64_t now_ms, size_t *len)
{
	json_t *v = json_object(), *offers = json_array();
	char *out = NULL;
	size_t i;

	if (v == NULL || offers == NULL)
		goto done;
	for (i = 0; i < r->noffers; i++)
		if (json_array_append_new(offers,
					  offer_json(r, &r->offers[i], now_ms)))
			goto done;
	if (lshop_json_set(v, "stream", json_string(stream)) ||
	    lshop_json_set(v, "at", lshop_json_time(now_ms)) ||
	    lshop_json_set(v, "offers", json_incref(offers)) ||
	    lshop_json_set(v, "disclosure", disclosure_json(r, now_ms)))
		goto done;
	out = lshop_json_dump_short_reals(v, len);
done:
	json_decref(offers);
	json_decref(v);
	return out;
}

/* CSV (RFC 4180): the offers, one record each, as offer_json has them */

typedef struct csv_buf {
	char *data;
	size_t len, cap;
	int failed; /* ENOMEM: everything after is dropped */
} csv_buf;

static void csv_put(csv_buf *b, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (b->failed)
		return;
	if (n > b->cap - b->len) {
		cap = b->cap;
		while (n > cap - b->len)
			cap *= 2;
		p = realloc(b->data, cap);
		if (p == NULL) {
			b->failed = 1;
			return;
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

/*
 * One field and its separator (',' or "\r\n" after the last). RFC 4180
 * 2.6-2.7: a field holding a comma, a quote, CR or LF is quoted, and a
 * quote inside is doubled.
 */
static void csv_field(csv_buf *b, const char *s, int last)
{
	size_t n;

	if (strpbrk(s, ",\"\r\n") == NULL) {
		csv_put(b, s, strlen(s));
	} else {
		csv_put(b, "\"", 1);
		while (*s) {
			n = strcspn(s, "\"");
			csv_put(b, s, n);
			s += n;
			if (*s == '"') {
				csv_put(b, "\"\"", 2);
				s++;
			}
		}
		csv_put(b, "\"", 1);
	}
	csv_put(b, last ? "\r\n" : ",", last ? 2 : 1);
}

static void csv_int(csv_buf *b, int64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%lld", (long long)v);
	csv_field(b, s, 0);
}

/* Seconds from ms, exact: "40.25", "60.0", as the JSON writes them. */
static void csv_seconds(csv_buf *b, int64_t ms)
{
	char s[32];
	int n;

	n = snprintf(s, sizeof(s), "%lld.%03d", (long long)(ms / 1000),
		     (int)(ms % 1000));
	while (s[n - 1] == '0' && s[n - 2] != '.')
		s[--n] = '\0';
	csv_field(b, s, 0);
}

char *lshop_report_to_csv(const lshop_report *r, int64_t now_ms, size_t *len)
{
	static const char header[] = "offer_id,title,pins,seconds_pinned,"
				     "orders,units,oversold,revenue,currency"
				     "\r\n";
	csv_buf b = {0};
	offer_figures f;
	const offer_rec *o;
	size_t i;

	b.cap = sizeof(header) + 128 * r->noffers;
	b.data = malloc(b.cap);
	if (b.data == NULL)
		return NULL;
	csv_put(&b, header, sizeof(header) - 1);
	for (i = 0; i < r->noffers; i++) {
		o = &r->offers[i];
		offer_figures_of(r, o, now_ms, &f);
		csv_field(&b, o->id, 0);
		csv_field(&b, o->title, 0);
		csv_int(&b, o->pins);
		csv_seconds(&b, f.pinned_ms);
		csv_int(&b, o->orders);
		csv_int(&b, o->units);
		csv_int(&b, o->oversold);
		csv_field(&b, f.revenue, 0);
		csv_field(&b, f.currency, 1);
	}
	csv_put(&b, "", 1); /* NUL, not counted */
	if (b.failed) {
		free(b.data);
		return NULL;
	}
	if (len != NULL)
		*len = b.len - 1;
	return b.data;
}

/* Carry: the whole of a report, so a ledger can take it past rotation */

static json_t *offer_carry(const offer_rec *o)
{
	json_t *v = json_object(), *rev = json_array();
	size_t i;

	if (v == NULL || rev == NULL)
		goto fail;
	for (i = 0; i < LIMBS; i++)
		if (json_array_append_new(rev, json_integer(o->revenue[i])))
			goto fail;
	if (lshop_json_set(v, "id", json_string(o->id)) ||
	    lshop_json_set(v, "title", json_string(o->title)) ||
	    lshop_json_set(v, "price", json_string(o->price)) ||
	    lshop_json_set(v, "currency", json_string(o->currency)) ||
	    lshop_json_set(v, "pins", json_integer(o->pins)) ||
	    lshop_json_set(v, "pinned_ms", json_integer(o->pinned_ms)) ||
	    lshop_json_set(v, "orders", json_integer(o->orders)) ||
	    lshop_json_set(v, "units", json_integer(o->units)) ||
	    lshop_json_set(v, "oversold", json_integer(o->oversold)) ||
	    lshop_json_set(v, "revenue", json_incref(rev)) ||
	    lshop_json_set(v, "revenue_currency",
			   json_string(o->revenue_currency)) ||
	    lshop_json_set(v, "decimals", json_integer(o->decimals)) ||
	    lshop_json_set(v, "revenue_unknown",
			   json_boolean(o->revenue_unknown)))
		goto fail;
	json_decref(rev);
	return v;
fail:
	json_decref(rev);
	json_decref(v);
	return NULL;
}

json_t *lshop_report_carry(const lshop_report *r)
{
	json_t *v = json_object(), *offers = json_array();
	size_t i;

	if (v == NULL || offers == NULL)
		goto fail;
	for (i = 0; i < r->noffers; i++)
		if (json_array_append_new(offers, offer_carry(&r->offers[i])))
			goto fail;
	if (lshop_json_set(v, "offers", json_incref(offers)) ||
	    lshop_json_set(v, "pinned", json_boolean(r->pinned)) ||
	    lshop_json_set(v, "pin_offer", json_integer((json_int_t)r->pin_offer)) ||
	    lshop_json_set(v, "pin_at_ms", json_integer(r->pin_at_ms)) ||
	    lshop_json_set(v, "swept", json_boolean(r->swept)) ||
	    lshop_json_set(v, "sponsored", json_boolean(r->sponsored)) ||
	    lshop_json_set(v, "shown", json_boolean(r->shown)) ||
	    lshop_json_set(v, "sweep_ms", json_integer(r->sweep_ms)) ||
	    lshop_json_set(v, "sponsored_pins",
			   json_integer(r->sponsored_pins)) ||
	    lshop_json_set(v, "sponsored_ms", json_integer(r->sponsored_ms)) ||
	    lshop_json_set(v, "disclosed_ms", json_integer(r->disclosed_ms)))
		goto fail;
	json_decref(offers);
	return v;
fail:
	json_decref(offers);
	json_decref(v);
	return NULL;
}

/* An integer field of a carry: 0, or -1 with err naming prefix + key. */
static int carry_int(const json_t *obj, const char *prefix, const char *key,
		     int64_t min, int64_t max, int64_t *out, lshop_error *err)
{
	json_t *j = json_object_get(obj, key);

	if (!json_is_integer(j) || json_integer_value(j) < min ||
	    json_integer_value(j) > max) {
		lshop_field_error(err, "invalid_field", prefix, key,
				  "must be a whole number from %lld to %lld",
				  (long long)min, (long long)max);
		return -1;
	}
	*out = json_integer_value(j);
	return 0;
}

static int carry_bool(const json_t *obj, const char *prefix, const char *key,
		      int *out, lshop_error *err)
{
	json_t *j = json_object_get(obj, key);

	if (!json_is_boolean(j)) {
		lshop_field_error(err, "invalid_field", prefix, key,
				  "must be true or false");
		return -1;
	}
	*out = json_is_true(j);
	return 0;
}

static int carry_text(const json_t *obj, const char *prefix, const char *key,
		      char *out, size_t cap, lshop_error *err)
{
	const char *s;
	size_t n;

	if (!lshop_json_text(json_object_get(obj, key), &s, &n) || n >= cap) {
		lshop_field_error(err, "invalid_field", prefix, key,
				  "must be a string of at most %zu bytes",
				  cap - 1);
		return -1;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static int offer_restore(lshop_report *r, const json_t *v, lshop_error *err)
{
	const char *p = "report.offers.";
	offer_rec rec, *o;
	json_t *rev = json_object_get(v, "revenue");
	int64_t n;
	size_t i;

	memset(&rec, 0, sizeof(rec));
	if (!json_is_object(v)) {
		lshop_error_set(err, "invalid_field", "report.offers",
				"report.offers must list JSON objects");
		return -1;
	}
	if (carry_text(v, p, "id", rec.id, sizeof(rec.id), err) ||
	    !lshop_id_valid(rec.id, strlen(rec.id))) {
		lshop_error_set(err, "invalid_field", "report.offers.id",
				"report.offers.id must be an offer id");
		return -1;
	}
	if (carry_text(v, p, "title", rec.title, sizeof(rec.title), err) ||
	    carry_text(v, p, "price", rec.price, sizeof(rec.price), err) ||
	    carry_text(v, p, "currency", rec.currency, sizeof(rec.currency),
		       err) ||
	    carry_int(v, p, "pins", 0, INT64_MAX, &rec.pins, err) ||
	    carry_int(v, p, "pinned_ms", 0, INT64_MAX, &rec.pinned_ms, err) ||
	    carry_int(v, p, "orders", 0, INT64_MAX, &rec.orders, err) ||
	    carry_int(v, p, "units", 0, INT64_MAX, &rec.units, err) ||
	    carry_int(v, p, "oversold", 0, INT64_MAX, &rec.oversold, err) ||
	    carry_text(v, p, "revenue_currency", rec.revenue_currency,
		       sizeof(rec.revenue_currency), err) ||
	    carry_int(v, p, "decimals", -1, 4, &n, err) ||
	    carry_bool(v, p, "revenue_unknown", &rec.revenue_unknown, err))
		return -1;
	rec.decimals = (int)n;
	if (!json_is_array(rev) || json_array_size(rev) != LIMBS) {
		lshop_error_set(err, "invalid_field", "report.offers.revenue",
				"report.offers.revenue must list %d limbs",
				LIMBS);
		return -1;
	}
	for (i = 0; i < LIMBS; i++) {
		n = json_integer_value(json_array_get(rev, i));
		if (!json_is_integer(json_array_get(rev, i)) || n < 0 ||
		    n >= LIMB_BASE) {
			lshop_error_set(err, "invalid_field",
					"report.offers.revenue",
					"report.offers.revenue limbs must be "
					"whole numbers below %u",
					LIMB_BASE);
			return -1;
		}
		rec.revenue[i] = (uint32_t)n;
	}
	o = offer_of(r, rec.id);
	if (o == NULL) {
		lshop_error_set(err, "no_memory", "", "out of memory");
		return -1;
	}
	*o = rec;
	return 0;
}

int lshop_report_restore(lshop_report *r, const json_t *v, lshop_error *err)
{
	const char *p = "report.";
	json_t *offers = json_object_get(v, "offers");
	int64_t n;
	size_t i;

	if (!json_is_object(v) || !json_is_array(offers)) {
		lshop_error_set(err, "invalid_field", "report",
				"report must be a JSON object with offers");
		return -1;
	}
	r->noffers = 0;
	if (r->nslots)
		memset(r->slots, 0, r->nslots * sizeof(*r->slots));
	for (i = 0; i < json_array_size(offers); i++)
		if (offer_restore(r, json_array_get(offers, i), err))
			return -1;
	if (carry_bool(v, p, "pinned", &r->pinned, err) ||
	    carry_int(v, p, "pin_offer", 0,
		      r->noffers ? (int64_t)r->noffers - 1 : 0, &n, err) ||
	    carry_int(v, p, "pin_at_ms", INT64_MIN, INT64_MAX, &r->pin_at_ms,
		      err) ||
	    carry_bool(v, p, "swept", &r->swept, err) ||
	    carry_bool(v, p, "sponsored", &r->sponsored, err) ||
	    carry_bool(v, p, "shown", &r->shown, err) ||
	    carry_int(v, p, "sweep_ms", INT64_MIN, INT64_MAX, &r->sweep_ms,
		      err) ||
	    carry_int(v, p, "sponsored_pins", 0, INT64_MAX,
		      &r->sponsored_pins, err) ||
	    carry_int(v, p, "sponsored_ms", 0, INT64_MAX, &r->sponsored_ms,
		      err) ||
	    carry_int(v, p, "disclosed_ms", 0, INT64_MAX, &r->disclosed_ms,
		      err))
		return -1;
	if (r->pinned && r->noffers == 0) {
		lshop_error_set(err, "invalid_field", "report.pin_offer",
				"report.pin_offer names no offer");
		return -1;
	}
	r->pin_offer = (size_t)n;
	return 0;
}
