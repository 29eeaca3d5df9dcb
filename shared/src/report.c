/*
 * liveshop core: the report of a stream, computed in one pass over its
 * journal with one small record per offer and one per show.
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
 *
 * Shows cut the same sweep into windows: the show on air gets the part
 * of each swept stretch, pin and order that falls in it. Audience tallies
 * are cumulative (the last full line of a show holds its figures), so a
 * show keeps the latest, and an offer's figures for the whole stream add
 * up the latest of each show and each stretch between shows: each new
 * tally adds what it has more than the one before of its show.
 */
#include <errno.h>
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
/* a sum as a decimal string: its digits, '.' and NUL */
#define MONEY_TEXT_MAX (LIMBS * 9 + 8)

/* An exact sum of amounts in one currency. */
typedef struct money {
	uint32_t v[LIMBS];
	char currency[4]; /* of the amounts counted; "" none yet */
	int decimals;     /* the most of the amounts counted; -1 none yet */
	/* amounts in more than one currency, or unreadable: the sum cannot
	 * be said as one number */
	int unknown;
} money;

/* The counts of a host's tally (audience.h), which only grow. */
typedef struct counts {
	int64_t watch_ms; /* viewer-ms */
	int64_t impressions;
	int64_t clicks;
} counts;

/* Audience figures (audience.h) of a show, or of an offer. */
typedef struct tally {
	int64_t peak;
	counts sum; /* of every tally of it: their latest figures, added */
	/* the latest tally's own figures (shows and their offers) */
	counts last;
	lshop_hll *unique; /* NULL until a tally brings a viewer */
} tally;

typedef struct offer_rec {
	char id[LSHOP_ID_MAX + 1];
	char title[LSHOP_TITLE_MAX + 1]; /* "" until put or pinned */
	char price[LSHOP_PRICE_MAX + 1]; /* its price now; "" unknown */
	char currency[4];                /* the catalog's; "" unknown */
	/* its commission rate now (the catalog as last put or pinned), in
	 * 1/10000; -1 none */
	int64_t commission;
	int64_t pins;
	int64_t pinned_ms; /* closed pin intervals */
	int64_t orders;
	int64_t units; /* sold on stream and oversold */
	int64_t oversold;
	money revenue;
	/* the whole stream's: the latest figures of each show and each
	 * stretch between shows added up, their sketches merged */
	tally audience;
} offer_rec;

/* An offer within one show. */
typedef struct show_offer {
	size_t offer;      /* index into lshop_report.offers */
	int64_t pins;      /* pin intervals in the show's window */
	int64_t pinned_ms; /* closed ones, cut to the window */
	int64_t orders;
	int64_t units;
	int64_t oversold;
	money revenue;
	tally audience; /* as the show's latest full tally says */
} show_offer;

/* Where an item's commission rate comes from (docs/kpis.md). */
enum { RATE_NONE, RATE_SHOW, RATE_OFFER };

/*
 * A show's items of one offer in one currency at one rate: one row of
 * the payout CSV. Its commission is said from its revenue alone
 * (commission_due), so that rows add up to every total.
 */
typedef struct commission_row {
	size_t offer; /* index into lshop_report.offers */
	int source;   /* RATE_* */
	int64_t rate; /* in 1/10000; 0 with RATE_NONE */
	money revenue;
	/* what refunds took back of its kept items (kept_item), never more
	 * than its revenue: the commission is on revenue - refunded */
	money refunded;
} commission_row;

/*
 * An item of an order kept for the refunds that may come for it: its
 * row among its show's commission rows, its amount and what was
 * refunded of it so far (1/10000).
 */
typedef struct kept_item {
	size_t row;
	int64_t amount;
	int64_t refunded;
} kept_item;

/* An order of a show kept for its refunds (docs/kpis.md). */
typedef struct kept_order {
	char *id;
	kept_item *items;
	size_t nitems;
} kept_order;

typedef struct viewers_point {
	int64_t at_ms;
	int64_t viewers;
} viewers_point;

typedef struct orders_point {
	int64_t at_ms;
	int64_t orders; /* so far in the show */
	int64_t units;
	int has_gmv; /* 0: the orders so far are in more than one currency */
	double gmv;
} orders_point;

typedef struct pin_span {
	size_t offer;
	int64_t start_ms;
	int64_t end_ms; /* once closed */
	int open;
} pin_span;

/*
 * A series of at most max points: of the points offered (counting from
 * 0), every stride-th is kept, and the latest one offered while it is
 * not one of those (extra: the last point, replaced by the next). When
 * full, every other point kept goes and stride doubles.
 */
typedef struct points {
	void *p;
	size_t n, cap;
	int64_t offered;
	int64_t stride;
	int extra;
} points;

typedef struct show_rec {
	char id[LSHOP_ID_MAX + 1];
	char series[LSHOP_ID_MAX + 1];
	char title[LSHOP_TITLE_MAX + 1];
	char host[LSHOP_TITLE_MAX + 1];
	int64_t started_ms;
	int64_t ended_ms; /* while not on air */
	int64_t orders;
	int64_t units;
	money gmv[LSHOP_REPORT_CURRENCIES_MAX]; /* a sum per currency */
	size_t ngmv;
	int gmv_unknown; /* an amount unreadable, or too many currencies */
	int64_t sponsored_pins;
	int64_t sponsored_ms; /* the sweep's, within the window */
	int64_t disclosed_ms;
	tally audience;
	show_offer *offers; /* in the order first seen in the show */
	size_t noffers, offers_cap;
	points viewers;      /* viewers_point */
	points order_points; /* orders_point */
	pin_span *pins;
	size_t npins, pins_cap;
	int64_t commission; /* its rate as it last started, 1/10000; -1 none */
	commission_row *crows; /* in the order first seen */
	size_t ncrows, crows_cap;
	/* items left out: more than LSHOP_REPORT_COMMISSION_ROWS_MAX rows */
	int crows_full;
	kept_order *kept; /* its orders, for their refunds */
	size_t nkept, kept_cap;
	size_t *kept_slots; /* open addressing by order id: index + 1 */
	size_t nkept_slots; /* 0, or a power of 2 above twice nkept */
} show_rec;

/* An offer's figures in the latest tally between shows. */
typedef struct gap_offer {
	size_t offer;
	counts last;
} gap_offer;

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

	int64_t last_at_ms; /* the latest time fed */

	show_rec *shows[LSHOP_REPORT_SHOWS_MAX]; /* oldest first */
	size_t nshows;
	show_rec *on_air; /* NULL between shows */
	/* on air with a pin open: where the pin's part in the show began */
	int64_t show_pin_from;
	/* the latest tally between shows: its figures, its offers' */
	counts gap_last;
	gap_offer gap[LSHOP_AUDIENCE_OFFERS_MAX];
	size_t ngap;

	/* refunds (docs/kpis.md): the orders and items the kept shows hold
	 * for them, the orders past the bounds, the refund lines seen and
	 * those that matched no kept order or item */
	size_t kept_orders, kept_items;
	int64_t orders_unkept;
	int64_t refunds;
	int64_t refunds_unmatched;
};

lshop_report *lshop_report_new(void)
{
	return calloc(1, sizeof(lshop_report));
}

static void show_free(show_rec *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->noffers; i++)
		free(s->offers[i].audience.unique);
	free(s->offers);
	free(s->audience.unique);
	free(s->viewers.p);
	free(s->order_points.p);
	free(s->pins);
	free(s->crows);
	for (i = 0; i < s->nkept; i++) {
		free(s->kept[i].id);
		free(s->kept[i].items);
	}
	free(s->kept);
	free(s->kept_slots);
	free(s);
}

/* Empties r; its offer table keeps its memory. */
static void report_clear(lshop_report *r)
{
	offer_rec *offers = r->offers;
	size_t *slots = r->slots, cap = r->cap, nslots = r->nslots, i;

	for (i = 0; i < r->noffers; i++)
		free(r->offers[i].audience.unique);
	for (i = 0; i < r->nshows; i++)
		show_free(r->shows[i]);
	memset(r, 0, sizeof(*r));
	r->offers = offers;
	r->cap = cap;
	r->slots = slots;
	r->nslots = nslots;
	if (nslots)
		memset(slots, 0, nslots * sizeof(*slots));
}

void lshop_report_free(lshop_report *r)
{
	if (r == NULL)
		return;
	report_clear(r);
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

static void money_init(money *m)
{
	memset(m, 0, sizeof(*m));
	m->decimals = -1;
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
	o->commission = -1;
	money_init(&o->revenue);
	*find_slot(r, id) = r->noffers;
	return o;
}

/* A commission rate ("0.10", lshop_commission_field) in 1/10000; -1 none. */
static int64_t rate_scaled(const char *s)
{
	int64_t v;

	if (s[0] == '\0' || lshop_price_scaled(s, strlen(s), &v) != 0 ||
	    v > LSHOP_COMMISSION_MAX)
		return -1;
	return v;
}

static void offer_update(offer_rec *o, const lshop_offer *offer)
{
	memcpy(o->title, offer->title, sizeof(o->title));
	memcpy(o->price, offer->price, sizeof(o->price));
	memcpy(o->currency, offer->currency, sizeof(o->currency));
	o->commission = rate_scaled(offer->commission);
}

int lshop_report_add_offer(lshop_report *r, const lshop_offer *offer)
{
	offer_rec *o = offer_of(r, offer->id);

	if (o == NULL)
		return -1;
	offer_update(o, offer);
	return 0;
}

/* Exact decimal sums */

/* rev += v, in 1/10000. */
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

/* a += b; a sum of sums the report holds never carries out of the top. */
static void limbs_add(uint32_t a[LIMBS], const uint32_t b[LIMBS])
{
	uint32_t carry = 0, sum;
	size_t i;

	for (i = 0; i < LIMBS; i++) {
		sum = a[i] + b[i] + carry;
		carry = sum >= LIMB_BASE;
		a[i] = carry ? sum - LIMB_BASE : sum;
	}
}

/* a -= b, a ≥ b (what was refunded of a row never passes its revenue). */
static void limbs_sub(uint32_t a[LIMBS], const uint32_t b[LIMBS])
{
	uint32_t borrow = 0, x;
	size_t i;

	for (i = 0; i < LIMBS; i++) {
		x = b[i] + borrow;
		borrow = a[i] < x;
		a[i] = borrow ? a[i] + LIMB_BASE - x : a[i] - x;
	}
}

/* rev -= v, in 1/10000, rev ≥ v. */
static void revenue_sub(uint32_t rev[LIMBS], uint64_t v)
{
	uint32_t b[LIMBS];
	size_t i;

	for (i = 0; i < LIMBS; i++) {
		b[i] = (uint32_t)(v % LIMB_BASE);
		v /= LIMB_BASE;
	}
	limbs_sub(rev, b);
}

/* The decimals of a price string. */
static int price_decimals(const char *price)
{
	const char *dot = strchr(price, '.');

	return dot ? (int)strlen(dot + 1) : 0;
}

/* The digits of rev (in 1/10000), at least 5 of them; returns how many. */
static size_t limbs_digits(char *out, size_t cap, const uint32_t rev[LIMBS])
{
	size_t n;
	int top = LIMBS - 1;

	while (top > 0 && rev[top] == 0)
		top--;
	n = (size_t)snprintf(out, cap, "%05u", (unsigned)rev[top]);
	while (--top >= 0)
		n += (size_t)snprintf(out + n, cap - n, "%09u",
				      (unsigned)rev[top]);
	return n;
}

/* rev (in 1/10000) as a decimal string with decimals digits. */
static void revenue_format(char *out, size_t cap, const uint32_t rev[LIMBS],
			   int decimals)
{
	char digits[LIMBS * 9 + 8];
	size_t n = limbs_digits(digits, sizeof(digits), rev), len, i;

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

/*
 * out = rev × (mul10 ? 10 : 1) / div, rev in 1/10000 and the result in
 * 1/100, rounded half up, as "12.35". Long division a digit at a time:
 * the remainder stays below div ≤ 10^18, so remainder × 10 + 9 fits 64
 * bits. Returns 0, or -1 (out "") when div is 0 or above 10^18, which
 * no count of a report reaches.
 */
static int money_div(char *out, size_t cap, const uint32_t rev[LIMBS],
		     int mul10, uint64_t div)
{
	char digits[LIMBS * 9 + 8], q[LIMBS * 9 + 8];
	size_t n, i, k;
	uint64_t rem = 0;

	out[0] = '\0';
	if (div == 0 || div > UINT64_C(1000000000000000000))
		return -1;
	n = limbs_digits(digits, sizeof(digits), rev);
	if (mul10)
		digits[n++] = '0';
	q[0] = '0'; /* room for the carry of the rounding */
	for (i = 0; i < n; i++) {
		rem = rem * 10 + (uint64_t)(digits[i] - '0');
		q[i + 1] = (char)('0' + rem / div);
		rem %= div;
	}
	/* half up: rem / div ≥ 1/2 */
	if (rem >= div - rem) {
		for (k = n; q[k] == '9'; k--)
			q[k] = '0';
		q[k]++; /* at worst q[0] */
	}
	q[n + 1] = '\0';
	/* q[0..n] in 1/100, at least 6 digits: keep 3, "0.05" */
	for (i = 0; i + 3 < n + 1 && q[i] == '0'; i++)
		;
	snprintf(out, cap, "%.*s.%s", (int)(n + 1 - 2 - i), q + i, q + n - 1);
	return 0;
}

/* A sum's decimal string; decimals when it has counted none. */
static void money_text(const money *m, int decimals, char *out, size_t cap)
{
	revenue_format(out, cap, m->v,
		       m->decimals < 0 ? decimals : m->decimals);
}

/* A sum as a JSON number, for the charts of a show. */
static double money_double(const money *m)
{
	char t[MONEY_TEXT_MAX];

	revenue_format(t, sizeof(t), m->v, 4);
	return strtod(t, NULL);
}

/* An item's amount in 1/10000 and its decimals: 0, or -1. */
static int item_amount(const lshop_order_item *it, int64_t *v, int *d)
{
	const char *end = memchr(it->amount, '\0', sizeof(it->amount));

	if (end == NULL)
		return -1;
	return lshop_amount_scaled(it->amount, (size_t)(end - it->amount), v,
				   d);
}

/* An item's amount into a sum of one currency. */
static void money_count(money *m, const lshop_order_item *it)
{
	int64_t v;
	int d;

	if (m->unknown)
		return;
	if (item_amount(it, &v, &d) != 0 ||
	    (m->currency[0] != '\0' &&
	     strcmp(m->currency, it->currency) != 0)) {
		m->unknown = 1;
		return;
	}
	memcpy(m->currency, it->currency, sizeof(m->currency));
	revenue_add(m->v, (uint64_t)v);
	if (d > m->decimals)
		m->decimals = d;
}

/* The sum of currency among sums[0..*n), made if there is room. */
static money *money_of(money *sums, size_t *n, const char *currency)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(sums[i].currency, currency) == 0)
			return &sums[i];
	if (*n == LSHOP_REPORT_CURRENCIES_MAX)
		return NULL;
	money_init(&sums[*n]);
	snprintf(sums[*n].currency, sizeof(sums[*n].currency), "%s", currency);
	return &sums[(*n)++];
}

/* Adds the sums from[0..nfrom) into sums[0..*n); -1 when out of room. */
static int money_merge(money *sums, size_t *n, const money *from, size_t nfrom)
{
	money *m;
	size_t i;

	for (i = 0; i < nfrom; i++) {
		m = money_of(sums, n, from[i].currency);
		if (m == NULL)
			return -1;
		limbs_add(m->v, from[i].v);
		if (from[i].decimals > m->decimals)
			m->decimals = from[i].decimals;
	}
	return 0;
}

/* Commissions (docs/kpis.md "Commissions") */

/* a += b, its decimals the most of both; unknown if either is. */
static void money_add(money *a, const money *b)
{
	limbs_add(a->v, b->v);
	if (b->decimals > a->decimals)
		a->decimals = b->decimals;
	a->unknown |= b->unknown;
}

/*
 * The commission due on a row: its revenue less what was refunded of it
 * (1/10000) times its rate (1/10000), exact in 1/10^8, rounded half up
 * to 1/100 once, here; as money in 1/10000 with 2 decimals. The product
 * of a sum the report holds (at most 38 digits) and 10^4 fits the limbs.
 */
static void commission_due(const commission_row *c, money *due)
{
	uint64_t x, carry = 0, rem = 0;
	uint32_t net[LIMBS];
	size_t i;

	money_init(due);
	memcpy(due->currency, c->revenue.currency, sizeof(due->currency));
	due->decimals = 2;
	due->unknown = c->revenue.unknown;
	memcpy(net, c->revenue.v, sizeof(net));
	limbs_sub(net, c->refunded.v);
	for (i = 0; i < LIMBS; i++) {
		x = (uint64_t)net[i] * (uint64_t)c->rate + carry;
		due->v[i] = (uint32_t)(x % LIMB_BASE);
		carry = x / LIMB_BASE;
	}
	/* 1/10^8 to 1/100: rem < 10^6, so rem × 10^9 + a limb fits */
	for (i = LIMBS; i-- > 0;) {
		x = rem * LIMB_BASE + due->v[i];
		due->v[i] = (uint32_t)(x / 1000000);
		rem = x % 1000000;
	}
	if (rem >= 500000)
		revenue_add(due->v, 1);
	/* back to 1/10000 */
	carry = 0;
	for (i = 0; i < LIMBS; i++) {
		x = (uint64_t)due->v[i] * 100 + carry;
		due->v[i] = (uint32_t)(x % LIMB_BASE);
		carry = x / LIMB_BASE;
	}
}

/*
 * An item of an order in show s into its commission row: the rate of its
 * offer o if it has one, else the show's, else none. *row: the row's
 * index, SIZE_MAX when the show has no room for it. -1 on ENOMEM.
 */
static int commission_count(show_rec *s, size_t offer, const offer_rec *o,
			    const lshop_order_item *it, size_t *row)
{
	commission_row *c = NULL;
	int source = RATE_NONE;
	int64_t rate = 0;
	size_t i, cap;

	if (o->commission >= 0) {
		source = RATE_OFFER;
		rate = o->commission;
	} else if (s->commission >= 0) {
		source = RATE_SHOW;
		rate = s->commission;
	}
	for (i = 0; i < s->ncrows; i++) {
		c = &s->crows[i];
		if (c->offer == offer && c->source == source &&
		    c->rate == rate &&
		    strncmp(c->revenue.currency, it->currency,
			    sizeof(c->revenue.currency)) == 0)
			break;
	}
	*row = SIZE_MAX;
	if (i == s->ncrows) {
		if (s->ncrows == LSHOP_REPORT_COMMISSION_ROWS_MAX) {
			s->crows_full = 1;
			return 0;
		}
		if (s->ncrows == s->crows_cap) {
			cap = s->crows_cap ? s->crows_cap * 2 : 8;
			if (cap > LSHOP_REPORT_COMMISSION_ROWS_MAX)
				cap = LSHOP_REPORT_COMMISSION_ROWS_MAX;
			c = realloc(s->crows, cap * sizeof(*c));
			if (c == NULL)
				return -1;
			s->crows = c;
			s->crows_cap = cap;
		}
		c = &s->crows[s->ncrows++];
		c->offer = offer;
		c->source = source;
		c->rate = rate;
		money_init(&c->revenue);
		snprintf(c->revenue.currency, sizeof(c->revenue.currency), "%s",
			 it->currency);
		money_init(&c->refunded);
		memcpy(c->refunded.currency, c->revenue.currency, 4);
	}
	money_count(&c->revenue, it);
	*row = (size_t)(c - s->crows);
	return 0;
}

/* Refunds (docs/kpis.md "Commissions") */

static size_t *kept_slot(const show_rec *s, const char *id)
{
	size_t mask = s->nkept_slots - 1, i = id_hash(id) & mask;

	while (s->kept_slots[i] != 0 &&
	       strcmp(s->kept[s->kept_slots[i] - 1].id, id) != 0)
		i = (i + 1) & mask;
	return &s->kept_slots[i];
}

static const kept_order *kept_find(const show_rec *s, const char *id)
{
	size_t k;

	if (s->nkept_slots == 0)
		return NULL;
	k = *kept_slot(s, id);
	return k ? &s->kept[k - 1] : NULL;
}

/* Room for one more kept order in s; -1 on ENOMEM. */
static int kept_grow(show_rec *s)
{
	size_t cap, nslots, i, *slots;
	kept_order *k;

	if (s->nkept == s->kept_cap) {
		cap = s->kept_cap ? s->kept_cap * 2 : 16;
		k = realloc(s->kept, cap * sizeof(*k));
		if (k == NULL)
			return -1;
		s->kept = k;
		s->kept_cap = cap;
	}
	if (2 * (s->nkept + 1) <= s->nkept_slots)
		return 0;
	nslots = s->nkept_slots ? s->nkept_slots * 2 : 32;
	slots = calloc(nslots, sizeof(*slots));
	if (slots == NULL)
		return -1;
	free(s->kept_slots);
	s->kept_slots = slots;
	s->nkept_slots = nslots;
	for (i = 0; i < s->nkept; i++)
		*kept_slot(s, s->kept[i].id) = i + 1;
	return 0;
}

/*
 * Keeps an order of show s for its refunds: its id and, per item counted
 * in a row (rows[i] not SIZE_MAX), that row and its amount. An order id
 * kept already in s keeps its first order; past the report's bounds the
 * order is not kept (counted in orders_unkept). -1 on ENOMEM.
 */
static int kept_add(lshop_report *r, show_rec *s, const lshop_order *order,
		    size_t n, const size_t *rows)
{
	kept_order *k;
	size_t i, m = 0, *slot;
	int64_t v;
	int d;

	for (i = 0; i < n; i++)
		m += rows[i] != SIZE_MAX;
	if (r->kept_orders >= LSHOP_REPORT_REFUND_ORDERS_MAX ||
	    r->kept_items + m > LSHOP_REPORT_REFUND_ITEMS_MAX) {
		r->orders_unkept++;
		return 0;
	}
	if (kept_find(s, order->order_id) != NULL)
		return 0;
	if (kept_grow(s) != 0)
		return -1;
	k = &s->kept[s->nkept];
	k->id = strdup(order->order_id);
	k->items = m ? calloc(m, sizeof(*k->items)) : NULL;
	if (k->id == NULL || (m && k->items == NULL)) {
		free(k->id);
		free(k->items);
		return -1;
	}
	k->nitems = 0;
	for (i = 0; i < n; i++) {
		if (rows[i] == SIZE_MAX)
			continue;
		k->items[k->nitems].row = rows[i];
		k->items[k->nitems].amount =
		    item_amount(&order->items[i], &v, &d) == 0 ? v : 0;
		k->items[k->nitems++].refunded = 0;
	}
	slot = kept_slot(s, k->id);
	*slot = ++s->nkept;
	r->kept_orders++;
	r->kept_items += m;
	return 0;
}

/*
 * A refund: what was refunded so far of a kept order, per offer and
 * currency, replaces what its earlier refunds said. Each of its items
 * goes to the order's items of that offer and currency in turn, each
 * taking at most its amount (the rest is not counted); the rows follow.
 * A refund of an order no kept show holds, or with an item that names
 * no item of its order, is counted unmatched (its matching items still
 * count).
 */
static void report_refund(lshop_report *r, const lshop_order *refund)
{
	int64_t now[LSHOP_ORDER_ITEMS_MAX], v, left, take;
	const kept_order *ko = NULL;
	const commission_row *c;
	commission_row *row;
	show_rec *s = NULL;
	size_t i, j, n;
	int matched = 1, found, d, dmax = -1;

	r->refunds++;
	for (i = r->nshows; ko == NULL && i-- > 0;) {
		s = r->shows[i];
		ko = kept_find(s, refund->order_id);
	}
	if (ko == NULL) {
		r->refunds_unmatched++;
		return;
	}
	memset(now, 0, sizeof(now));
	n = refund->nitems < LSHOP_ORDER_ITEMS_MAX ? refund->nitems
						   : LSHOP_ORDER_ITEMS_MAX;
	for (i = 0; i < n; i++) {
		if (item_amount(&refund->items[i], &left, &d) != 0) {
			matched = 0;
			continue;
		}
		if (d > dmax)
			dmax = d;
		found = 0;
		for (j = 0; j < ko->nitems; j++) {
			c = &s->crows[ko->items[j].row];
			if (strcmp(r->offers[c->offer].id,
				   refund->items[i].offer_id) != 0 ||
			    strncmp(c->revenue.currency,
				    refund->items[i].currency, 4) != 0)
				continue;
			found = 1;
			take = ko->items[j].amount - now[j];
			if (take > left)
				take = left;
			now[j] += take;
			left -= take;
		}
		matched &= found;
	}
	if (!matched)
		r->refunds_unmatched++;
	for (j = 0; j < ko->nitems && j < LSHOP_ORDER_ITEMS_MAX; j++) {
		v = ko->items[j].refunded;
		if (now[j] == v)
			continue;
		row = &s->crows[ko->items[j].row];
		revenue_sub(row->refunded.v, (uint64_t)v);
		revenue_add(row->refunded.v, (uint64_t)now[j]);
		if (dmax > row->refunded.decimals)
			row->refunded.decimals = dmax;
		ko->items[j].refunded = now[j];
	}
}

/* Audience tallies */

static int hll_empty(const lshop_hll *h)
{
	size_t i;

	for (i = 0; i < LSHOP_HLL_M; i++)
		if (h->reg[i] != 0)
			return 0;
	return 1;
}

/* Merges h into t's sketch, made when first needed; -1 on ENOMEM. */
static int tally_merge(tally *t, const lshop_hll *h)
{
	if (hll_empty(h))
		return 0;
	if (t->unique == NULL) {
		t->unique = malloc(sizeof(*t->unique));
		if (t->unique == NULL)
			return -1;
		*t->unique = *h;
		return 0;
	}
	lshop_hll_merge(t->unique, h);
	return 0;
}

static uint64_t tally_unique(const tally *t)
{
	return t->unique ? lshop_hll_count(t->unique) : 0;
}

static int64_t add_saturated(int64_t a, int64_t b)
{
	if (b <= 0)
		return a;
	return b > INT64_MAX - a ? INT64_MAX : a + b;
}

/*
 * What a host's tally (cumulative) adds since its figures last: now -
 * last, and last becomes now. A count never goes back within one tally.
 */
static int64_t gained(int64_t now, int64_t *last)
{
	int64_t d = now - *last; /* both >= 0 */

	*last = now;
	return d > 0 ? d : 0;
}

/*
 * 1 if a tally's figures went back from last: it is a new tally (a host
 * starts one at each change of show, with an empty full line, and after a
 * restart without the figures), whose figures add to the old ones.
 */
static int went_back(const counts *last, int64_t watch_ms, int64_t impressions,
		     int64_t clicks)
{
	return watch_ms < last->watch_ms || impressions < last->impressions ||
	       clicks < last->clicks;
}

/* sum += what the tally's figures add since last. */
static void counts_gain(counts *sum, counts *last, int64_t watch_ms,
			int64_t impressions, int64_t clicks)
{
	sum->watch_ms =
	    add_saturated(sum->watch_ms, gained(watch_ms, &last->watch_ms));
	sum->impressions = add_saturated(
	    sum->impressions, gained(impressions, &last->impressions));
	sum->clicks = add_saturated(sum->clicks, gained(clicks, &last->clicks));
}

/* Series */

static int points_add(points *ps, const void *pt, size_t size, size_t max)
{
	int kept = ps->offered % ps->stride == 0;
	size_t i, cap;
	char *p = ps->p;

	if (ps->extra) {
		/* the latest point offered takes the place of the one before,
		 * kept only as the latest */
		memcpy(p + (ps->n - 1) * size, pt, size);
		ps->extra = !kept;
		ps->offered++;
		return 0;
	}
	if (ps->n >= max) {
		for (i = 1; 2 * i < ps->n; i++)
			memcpy(p + i * size, p + 2 * i * size, size);
		ps->n = (ps->n + 1) / 2;
		if (ps->stride <= INT64_MAX / 2)
			ps->stride *= 2;
		kept = ps->offered % ps->stride == 0;
	}
	if (ps->n == ps->cap) {
		cap = ps->cap ? ps->cap * 2 : 16;
		if (cap > max)
			cap = max;
		p = realloc(ps->p, cap * size);
		if (p == NULL)
			return -1;
		ps->p = p;
		ps->cap = cap;
	}
	memcpy(p + ps->n++ * size, pt, size);
	ps->extra = !kept;
	ps->offered++;
	return 0;
}

/* Shows */

static show_offer *show_offer_find(const show_rec *s, size_t offer)
{
	size_t i;

	for (i = 0; i < s->noffers; i++)
		if (s->offers[i].offer == offer)
			return &s->offers[i];
	return NULL;
}

/* The record of an offer in a show, made when first seen; NULL on ENOMEM. */
static show_offer *show_offer_of(show_rec *s, size_t offer)
{
	show_offer *so = show_offer_find(s, offer);
	size_t cap;

	if (so != NULL)
		return so;
	if (s->noffers == s->offers_cap) {
		cap = s->offers_cap ? s->offers_cap * 2 : 8;
		so = realloc(s->offers, cap * sizeof(*so));
		if (so == NULL)
			return NULL;
		s->offers = so;
		s->offers_cap = cap;
	}
	so = &s->offers[s->noffers++];
	memset(so, 0, sizeof(*so));
	so->offer = offer;
	money_init(&so->revenue);
	return so;
}

static int span_open(show_rec *s, size_t offer, int64_t at_ms)
{
	size_t cap, half;
	pin_span *p;

	if (s->npins == LSHOP_REPORT_PIN_SPANS_MAX) {
		half = s->npins / 2;
		memmove(s->pins, s->pins + half,
			(s->npins - half) * sizeof(*s->pins));
		s->npins -= half;
	}
	if (s->npins == s->pins_cap) {
		cap = s->pins_cap ? s->pins_cap * 2 : 16;
		if (cap > LSHOP_REPORT_PIN_SPANS_MAX)
			cap = LSHOP_REPORT_PIN_SPANS_MAX;
		p = realloc(s->pins, cap * sizeof(*p));
		if (p == NULL)
			return -1;
		s->pins = p;
		s->pins_cap = cap;
	}
	p = &s->pins[s->npins++];
	p->offer = offer;
	p->start_ms = at_ms;
	p->end_ms = at_ms;
	p->open = 1;
	return 0;
}

static void span_close(show_rec *s, int64_t at_ms)
{
	pin_span *p;

	if (s->npins == 0 || !s->pins[s->npins - 1].open)
		return;
	p = &s->pins[s->npins - 1];
	p->open = 0;
	p->end_ms = at_ms > p->start_ms ? at_ms : p->start_ms;
}

/* The pinned offer's part in the show on air begins at at_ms. */
static int show_pin_open(lshop_report *r, int64_t at_ms)
{
	show_offer *so = show_offer_of(r->on_air, r->pin_offer);

	if (so == NULL || span_open(r->on_air, r->pin_offer, at_ms) != 0)
		return -1;
	so->pins++;
	if (r->sponsored)
		r->on_air->sponsored_pins++;
	r->show_pin_from = at_ms;
	return 0;
}

static void show_pin_close(lshop_report *r, int64_t at_ms)
{
	show_offer *so = show_offer_find(r->on_air, r->pin_offer);

	if (so != NULL && at_ms > r->show_pin_from)
		so->pinned_ms += at_ms - r->show_pin_from;
	span_close(r->on_air, at_ms);
}

static show_rec *show_find(const lshop_report *r, const char *id)
{
	size_t i;

	for (i = r->nshows; i-- > 0;)
		if (strcmp(r->shows[i]->id, id) == 0)
			return r->shows[i];
	return NULL;
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
		if (r->on_air != NULL) {
			r->on_air->sponsored_ms += d;
			if (r->shown)
				r->on_air->disclosed_ms += d;
		}
	}
	r->sweep_ms = at_ms;
}

static void pin_close(lshop_report *r, int64_t at_ms)
{
	if (r->pinned && at_ms > r->pin_at_ms)
		r->offers[r->pin_offer].pinned_ms += at_ms - r->pin_at_ms;
	if (r->pinned && r->on_air != NULL)
		show_pin_close(r, at_ms);
	r->pinned = 0;
}

/* The show on air goes off at at_ms (swept up to there). */
static void show_end(lshop_report *r, int64_t at_ms)
{
	show_rec *s = r->on_air;

	if (r->pinned)
		show_pin_close(r, at_ms);
	s->ended_ms = at_ms > s->started_ms ? at_ms : s->started_ms;
	r->on_air = NULL;
}

static int show_start(lshop_report *r, const lshop_event *ev)
{
	show_rec *s;
	size_t i;

	if (r->on_air != NULL && strcmp(r->on_air->id, ev->show.id) == 0)
		return 0; /* re-listed by a checkpoint */
	if (r->on_air != NULL)
		show_end(r, ev->at_ms);
	s = show_find(r, ev->show.id);
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return -1;
		s->started_ms = ev->at_ms;
		s->viewers.stride = 1;
		s->order_points.stride = 1;
		if (r->nshows == LSHOP_REPORT_SHOWS_MAX) {
			/* its kept orders go with it */
			r->kept_orders -= r->shows[0]->nkept;
			for (i = 0; i < r->shows[0]->nkept; i++)
				r->kept_items -= r->shows[0]->kept[i].nitems;
			show_free(r->shows[0]);
			memmove(r->shows, r->shows + 1,
				(r->nshows - 1) * sizeof(r->shows[0]));
			r->nshows--;
		}
		r->shows[r->nshows++] = s;
	}
	memcpy(s->id, ev->show.id, sizeof(s->id));
	memcpy(s->series, ev->show.series, sizeof(s->series));
	memcpy(s->title, ev->show.title, sizeof(s->title));
	memcpy(s->host, ev->show.host, sizeof(s->host));
	s->commission = rate_scaled(ev->show.commission);
	r->on_air = s;
	if (r->pinned)
		return show_pin_open(r, ev->at_ms);
	return 0;
}

/* Orders */

/* An order, counted already for the stream, into the show on air. */
static int show_order(lshop_report *r, const lshop_order *order, size_t n,
		      int64_t at_ms)
{
	show_rec *s = r->on_air;
	const lshop_order_item *it;
	size_t rows[LSHOP_ORDER_ITEMS_MAX];
	orders_point pt;
	show_offer *so;
	offer_rec *o;
	money *m;
	int64_t v;
	size_t i, j;
	int d;

	for (i = 0; i < n; i++) {
		it = &order->items[i];
		o = offer_of(r, it->offer_id); /* there: counted above */
		so = o ? show_offer_of(s, (size_t)(o - r->offers)) : NULL;
		if (so == NULL)
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(order->items[j].offer_id, it->offer_id) == 0)
				break;
		if (j == i)
			so->orders++;
		so->units = add_saturated(so->units, it->quantity);
		so->oversold = add_saturated(so->oversold, it->oversold);
		money_count(&so->revenue, it);
		if (commission_count(s, so->offer, o, it, &rows[i]) != 0)
			return -1;
		s->units = add_saturated(s->units, it->quantity);
		if (s->gmv_unknown)
			continue;
		m = NULL;
		if (item_amount(it, &v, &d) == 0)
			m = money_of(s->gmv, &s->ngmv, it->currency);
		if (m == NULL) {
			s->gmv_unknown = 1;
			continue;
		}
		revenue_add(m->v, (uint64_t)v);
		if (d > m->decimals)
			m->decimals = d;
	}
	if (kept_add(r, s, order, n, rows) != 0)
		return -1;
	s->orders++;
	pt.at_ms = at_ms;
	pt.orders = s->orders;
	pt.units = s->units;
	pt.has_gmv = !s->gmv_unknown && s->ngmv <= 1;
	pt.gmv = pt.has_gmv && s->ngmv == 1 ? money_double(&s->gmv[0]) : 0.0;
	return points_add(&s->order_points, &pt, sizeof(pt),
			  LSHOP_REPORT_ORDER_POINTS_MAX);
}

int lshop_report_add_order_at(lshop_report *r, const lshop_order *order,
			      int64_t at_ms)
{
	const lshop_order_item *it;
	offer_rec *o;
	size_t n = order->nitems < LSHOP_ORDER_ITEMS_MAX
		       ? order->nitems
		       : LSHOP_ORDER_ITEMS_MAX;
	size_t i, j;

	if (at_ms > r->last_at_ms)
		r->last_at_ms = at_ms;
	if (order->refund) {
		/* commissions only: GMV and the other figures stay gross */
		report_refund(r, order);
		return 0;
	}
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
		money_count(&o->revenue, it);
	}
	if (r->on_air != NULL)
		return show_order(r, order, n, at_ms);
	return 0;
}

int lshop_report_add_order(lshop_report *r, const lshop_order *order)
{
	return lshop_report_add_order_at(r, order, r->last_at_ms);
}

int lshop_report_add_event(lshop_report *r, const lshop_event *ev)
{
	offer_rec *o;

	if (ev->at_ms > r->last_at_ms)
		r->last_at_ms = ev->at_ms;
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
		if (r->on_air != NULL)
			return show_pin_open(r, ev->at_ms);
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
	case LSHOP_SHOW_STARTED:
		sweep_to(r, ev->at_ms);
		return show_start(r, ev);
	case LSHOP_SHOW_ENDED:
		sweep_to(r, ev->at_ms);
		if (r->on_air != NULL &&
		    strcmp(r->on_air->id, ev->show.id) == 0)
			show_end(r, ev->at_ms);
		return 0;
	default:
		/* purchase.completed and stock: counted from the orders. */
		return 0;
	}
}

/* The latest tally between shows of an offer, made if there is room. */
static gap_offer *gap_of(lshop_report *r, size_t offer)
{
	gap_offer *g;
	size_t i;

	for (i = 0; i < r->ngap; i++)
		if (r->gap[i].offer == offer)
			return &r->gap[i];
	if (r->ngap == LSHOP_AUDIENCE_OFFERS_MAX)
		return NULL;
	g = &r->gap[r->ngap++];
	memset(g, 0, sizeof(*g));
	g->offer = offer;
	return g;
}

/* An offer's figures in a full tally of show s (NULL: between shows). */
static int audience_offer(lshop_report *r, show_rec *s,
			  const lshop_audience_offer *ao)
{
	offer_rec *o = offer_of(r, ao->offer_id);
	gap_offer none, *g;
	show_offer *so;
	counts *last;
	counts d = {0, 0, 0};

	if (o == NULL)
		return -1;
	if (s != NULL) {
		so = show_offer_of(s, (size_t)(o - r->offers));
		if (so == NULL)
			return -1;
		if (ao->peak > so->audience.peak)
			so->audience.peak = ao->peak;
		if (tally_merge(&so->audience, &ao->unique) != 0)
			return -1;
		last = &so->audience.last;
	} else {
		g = gap_of(r, (size_t)(o - r->offers));
		if (g == NULL) { /* a tally holds no more offers */
			memset(&none, 0, sizeof(none));
			g = &none;
		}
		last = &g->last;
	}
	counts_gain(&d, last, ao->watch_ms, ao->impressions, ao->clicks);
	if (s != NULL) {
		so->audience.sum.watch_ms =
		    add_saturated(so->audience.sum.watch_ms, d.watch_ms);
		so->audience.sum.impressions =
		    add_saturated(so->audience.sum.impressions, d.impressions);
		so->audience.sum.clicks =
		    add_saturated(so->audience.sum.clicks, d.clicks);
	}
	o->audience.sum.watch_ms =
	    add_saturated(o->audience.sum.watch_ms, d.watch_ms);
	o->audience.sum.impressions =
	    add_saturated(o->audience.sum.impressions, d.impressions);
	o->audience.sum.clicks =
	    add_saturated(o->audience.sum.clicks, d.clicks);
	if (ao->peak > o->audience.peak)
		o->audience.peak = ao->peak;
	return tally_merge(&o->audience, &ao->unique);
}

int lshop_report_add_audience(lshop_report *r, const lshop_audience *a,
			      int full, int64_t at_ms)
{
	show_rec *s = NULL;
	viewers_point pt;
	size_t i, n;

	if (at_ms > r->last_at_ms)
		r->last_at_ms = at_ms;
	if (a->show_id[0] != '\0') {
		s = show_find(r, a->show_id);
		if (s == NULL)
			return 0; /* never started here, or dropped */
		pt.at_ms = at_ms;
		pt.viewers = a->viewers;
		if (points_add(&s->viewers, &pt, sizeof(pt),
			       LSHOP_REPORT_VIEWER_POINTS_MAX) != 0)
			return -1;
		if (a->viewers > s->audience.peak)
			s->audience.peak = a->viewers;
	}
	if (!full)
		return 0;
	if (s != NULL) {
		if (went_back(&s->audience.last, a->watch_ms, a->impressions,
			      a->clicks)) {
			memset(&s->audience.last, 0, sizeof(s->audience.last));
			for (i = 0; i < s->noffers; i++)
				memset(&s->offers[i].audience.last, 0,
				       sizeof(s->offers[i].audience.last));
		}
		counts_gain(&s->audience.sum, &s->audience.last, a->watch_ms,
			    a->impressions, a->clicks);
		if (a->peak > s->audience.peak)
			s->audience.peak = a->peak;
		if (tally_merge(&s->audience, &a->unique) != 0)
			return -1;
	} else {
		if (went_back(&r->gap_last, a->watch_ms, a->impressions,
			      a->clicks)) {
			memset(&r->gap_last, 0, sizeof(r->gap_last));
			r->ngap = 0;
		}
		r->gap_last.watch_ms = a->watch_ms;
		r->gap_last.impressions = a->impressions;
		r->gap_last.clicks = a->clicks;
	}
	n = a->noffers < LSHOP_AUDIENCE_OFFERS_MAX ? a->noffers
						   : LSHOP_AUDIENCE_OFFERS_MAX;
	for (i = 0; i < n; i++)
		if (a->offers[i].offer_id[0] != '\0' &&
		    audience_offer(r, s, &a->offers[i]) != 0)
			return -1;
	return 0;
}

/* Output */

static json_t *seconds_json(int64_t ms)
{
	return json_real((double)ms / 1000.0);
}

/* A ratio, rounded to 4 decimals; unknown where it divides by 0. */
typedef struct ratio {
	int known;
	double v;
} ratio;

static ratio ratio_of(int64_t num, int64_t den)
{
	ratio q = {0, 0.0};
	double x;

	if (den <= 0)
		return q;
	x = (double)num / (double)den * 10000.0;
	q.known = 1;
	q.v = x < 9e15 ? (double)(int64_t)(x + 0.5) / 10000.0 : x / 10000.0;
	return q;
}

static json_t *ratio_json(ratio q)
{
	return q.known ? json_real(q.v) : json_null();
}

static json_t *text_json(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

static json_int_t count_json(uint64_t n)
{
	return n > INT64_MAX ? INT64_MAX : (json_int_t)n;
}

/* The open stretch of the sweep up to now: sponsored, and disclosed. */
static void sweep_open(const lshop_report *r, int64_t now_ms,
		       int64_t *sponsored, int64_t *disclosed)
{
	int64_t d;

	if (!r->swept || !r->sponsored || now_ms <= r->sweep_ms)
		return;
	d = now_ms - r->sweep_ms;
	*sponsored += d;
	if (r->shown)
		*disclosed += d;
}

/* What the report says of an offer, in the stream or within a show. */
typedef struct offer_view {
	const offer_rec *o; /* its id, title, catalog price and currency */
	int64_t pins;
	int64_t pinned_ms; /* an open interval counted up to now */
	int64_t orders;
	int64_t units;
	int64_t oversold;
	const money *revenue;
	const tally *audience;
	/* what follows from them (view_derive) */
	char revenue_text[MONEY_TEXT_MAX]; /* "" when it cannot be said */
	const char *currency;              /* "" unknown */
	uint64_t unique;
	char aov[MONEY_TEXT_MAX]; /* "": null */
	char per_1000[MONEY_TEXT_MAX];
	ratio ctr, conversion, click_to_buy;
} offer_view;

/* A count of orders as the divisor of an average in 1/100; 0 if none. */
static uint64_t per_order(int64_t orders)
{
	if (orders <= 0 || orders > INT64_C(10000000000000000))
		return 0;
	return (uint64_t)orders * 100;
}

static void view_derive(offer_view *f)
{
	int decimals = f->revenue->decimals;

	if (decimals < 0)
		decimals = f->o->price[0] ? price_decimals(f->o->price) : 0;
	f->unique = tally_unique(f->audience);
	f->revenue_text[0] = '\0';
	f->aov[0] = '\0';
	f->per_1000[0] = '\0';
	if (!f->revenue->unknown) {
		revenue_format(f->revenue_text, sizeof(f->revenue_text),
			       f->revenue->v, decimals);
		money_div(f->aov, sizeof(f->aov), f->revenue->v, 0,
			  per_order(f->orders));
		money_div(f->per_1000, sizeof(f->per_1000), f->revenue->v, 1,
			  f->unique);
	}
	/* The revenue's currency once there is revenue, else the
	 * catalog's. */
	f->currency = f->revenue->currency[0] && !f->revenue->unknown
			  ? f->revenue->currency
			  : f->o->currency;
	f->ctr =
	    ratio_of(f->audience->sum.clicks, f->audience->sum.impressions);
	f->conversion = ratio_of(f->orders, (int64_t)count_json(f->unique));
	f->click_to_buy = ratio_of(f->orders, f->audience->sum.clicks);
}

static void offer_view_of(const lshop_report *r, const offer_rec *o,
			  int64_t now_ms, offer_view *f)
{
	f->o = o;
	f->pins = o->pins;
	f->pinned_ms = o->pinned_ms;
	if (r->pinned && &r->offers[r->pin_offer] == o && now_ms > r->pin_at_ms)
		f->pinned_ms += now_ms - r->pin_at_ms;
	f->orders = o->orders;
	f->units = o->units;
	f->oversold = o->oversold;
	f->revenue = &o->revenue;
	f->audience = &o->audience;
	view_derive(f);
}

static void show_offer_view(const lshop_report *r, const show_rec *s,
			    const show_offer *so, int64_t now_ms, offer_view *f)
{
	f->o = &r->offers[so->offer];
	f->pins = so->pins;
	f->pinned_ms = so->pinned_ms;
	if (r->on_air == s && r->pinned && r->pin_offer == so->offer &&
	    now_ms > r->show_pin_from)
		f->pinned_ms += now_ms - r->show_pin_from;
	f->orders = so->orders;
	f->units = so->units;
	f->oversold = so->oversold;
	f->revenue = &so->revenue;
	f->audience = &so->audience;
	view_derive(f);
}

static json_t *offer_json(const offer_view *f)
{
	const offer_rec *o = f->o;
	json_t *v = json_object();

	if (v == NULL)
		return NULL;
	/* An offer only seen in orders has no title: null, not "". */
	if (lshop_json_set(v, "offer_id", json_string(o->id)) ||
	    lshop_json_set(v, "title",
			   o->title[0] ? json_string(o->title) : json_null()) ||
	    lshop_json_set(v, "pins", json_integer(f->pins)) ||
	    lshop_json_set(v, "seconds_pinned", seconds_json(f->pinned_ms)) ||
	    lshop_json_set(v, "orders", json_integer(f->orders)) ||
	    lshop_json_set(v, "units", json_integer(f->units)) ||
	    lshop_json_set(v, "oversold", json_integer(f->oversold)) ||
	    lshop_json_set(v, "revenue", text_json(f->revenue_text)) ||
	    lshop_json_set(v, "currency", text_json(f->currency)) ||
	    lshop_json_set(v, "viewers_peak",
			   json_integer(f->audience->peak)) ||
	    lshop_json_set(v, "viewers_unique",
			   json_integer(count_json(f->unique))) ||
	    lshop_json_set(v, "watch_seconds",
			   seconds_json(f->audience->sum.watch_ms)) ||
	    lshop_json_set(v, "impressions",
			   json_integer(f->audience->sum.impressions)) ||
	    lshop_json_set(v, "clicks",
			   json_integer(f->audience->sum.clicks)) ||
	    lshop_json_set(v, "ctr", ratio_json(f->ctr)) ||
	    lshop_json_set(v, "gmv", text_json(f->revenue_text)) ||
	    lshop_json_set(v, "aov", text_json(f->aov)) ||
	    lshop_json_set(v, "conversion", ratio_json(f->conversion)) ||
	    lshop_json_set(v, "click_to_buy", ratio_json(f->click_to_buy)) ||
	    lshop_json_set(v, "gmv_per_1000_viewers", text_json(f->per_1000))) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static json_t *disclosure_object(int64_t pins, int64_t sponsored,
				 int64_t disclosed)
{
	json_t *v = json_object();

	if (v == NULL)
		return NULL;
	if (lshop_json_set(v, "sponsored_pins", json_integer(pins)) ||
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

static json_t *disclosure_json(const lshop_report *r, int64_t now_ms)
{
	int64_t sponsored = r->sponsored_ms, disclosed = r->disclosed_ms;

	/* Intervals still open count up to now. */
	sweep_open(r, now_ms, &sponsored, &disclosed);
	return disclosure_object(r->sponsored_pins, sponsored, disclosed);
}

/* The figures of one show, or of several together. */
typedef struct show_figures {
	size_t shows;
	int64_t peak;
	int64_t watch_ms;
	int64_t impressions;
	int64_t clicks;
	int64_t orders;
	int64_t units;
	money gmv[LSHOP_REPORT_CURRENCIES_MAX];
	size_t ngmv;
	int gmv_unknown;
	int64_t sponsored_pins;
	int64_t sponsored_ms; /* open stretches counted up to now */
	int64_t disclosed_ms;
	lshop_hll unique_sketch;
	/* what follows from them (show_figures_derive) */
	uint64_t unique;
	const money *one;              /* the gmv, if it is one sum */
	char gmv_text[MONEY_TEXT_MAX]; /* "": null */
	const char *currency;          /* "": null */
	char aov[MONEY_TEXT_MAX];
	char per_1000[MONEY_TEXT_MAX];
	ratio ctr, conversion, click_to_buy;
	double coverage;
} show_figures;

static void show_figures_init(show_figures *f)
{
	memset(f, 0, sizeof(*f));
}

static void show_figures_add(const lshop_report *r, const show_rec *s,
			     int64_t now_ms, show_figures *f)
{
	int64_t sponsored = s->sponsored_ms, disclosed = s->disclosed_ms;

	if (r->on_air == s)
		sweep_open(r, now_ms, &sponsored, &disclosed);
	f->shows++;
	if (s->audience.peak > f->peak)
		f->peak = s->audience.peak;
	f->watch_ms = add_saturated(f->watch_ms, s->audience.sum.watch_ms);
	f->impressions =
	    add_saturated(f->impressions, s->audience.sum.impressions);
	f->clicks = add_saturated(f->clicks, s->audience.sum.clicks);
	f->orders = add_saturated(f->orders, s->orders);
	f->units = add_saturated(f->units, s->units);
	if (s->gmv_unknown || money_merge(f->gmv, &f->ngmv, s->gmv, s->ngmv))
		f->gmv_unknown = 1;
	f->sponsored_pins = add_saturated(f->sponsored_pins, s->sponsored_pins);
	f->sponsored_ms = add_saturated(f->sponsored_ms, sponsored);
	f->disclosed_ms = add_saturated(f->disclosed_ms, disclosed);
	if (s->audience.unique != NULL)
		lshop_hll_merge(&f->unique_sketch, s->audience.unique);
}

static void show_figures_derive(show_figures *f)
{
	static const money zero = {{0}, "", -1, 0};

	f->unique = lshop_hll_count(&f->unique_sketch);
	f->one = NULL;
	if (!f->gmv_unknown && f->ngmv <= 1)
		f->one = f->ngmv ? &f->gmv[0] : &zero;
	f->gmv_text[0] = '\0';
	f->aov[0] = '\0';
	f->per_1000[0] = '\0';
	f->currency = "";
	if (f->one != NULL) {
		/* no orders yet: "0.00", in no currency */
		money_text(f->one, 2, f->gmv_text, sizeof(f->gmv_text));
		f->currency = f->one->currency;
		money_div(f->aov, sizeof(f->aov), f->one->v, 0,
			  per_order(f->orders));
		money_div(f->per_1000, sizeof(f->per_1000), f->one->v, 1,
			  f->unique);
	}
	f->ctr = ratio_of(f->clicks, f->impressions);
	f->conversion = ratio_of(f->orders, (int64_t)count_json(f->unique));
	f->click_to_buy = ratio_of(f->orders, f->clicks);
	f->coverage = f->sponsored_ms > 0
			  ? (double)f->disclosed_ms / (double)f->sponsored_ms
			  : 1.0;
}

/* The KPI keys of a show (or of shows together) into v: 0, or -1. */
static int show_kpis_json(json_t *v, const show_figures *f)
{
	json_t *by = NULL;
	char t[MONEY_TEXT_MAX];
	size_t i;

	if (lshop_json_set(v, "viewers_peak", json_integer(f->peak)) ||
	    lshop_json_set(v, "viewers_unique",
			   json_integer(count_json(f->unique))) ||
	    lshop_json_set(v, "watch_seconds", seconds_json(f->watch_ms)) ||
	    lshop_json_set(v, "impressions", json_integer(f->impressions)) ||
	    lshop_json_set(v, "clicks", json_integer(f->clicks)) ||
	    lshop_json_set(v, "ctr", ratio_json(f->ctr)) ||
	    lshop_json_set(v, "orders", json_integer(f->orders)) ||
	    lshop_json_set(v, "units", json_integer(f->units)) ||
	    lshop_json_set(v, "gmv", text_json(f->gmv_text)))
		return -1;
	if (!f->gmv_unknown && f->ngmv > 1) {
		by = json_object();
		if (lshop_json_set(v, "gmv_by_currency", by))
			return -1;
		for (i = 0; i < f->ngmv; i++) {
			money_text(&f->gmv[i], 2, t, sizeof(t));
			if (lshop_json_set(by, f->gmv[i].currency,
					   json_string(t)))
				return -1;
		}
	}
	if (lshop_json_set(v, "currency", text_json(f->currency)) ||
	    lshop_json_set(v, "aov", text_json(f->aov)) ||
	    lshop_json_set(v, "conversion", ratio_json(f->conversion)) ||
	    lshop_json_set(v, "click_to_buy", ratio_json(f->click_to_buy)) ||
	    lshop_json_set(v, "gmv_per_1000_viewers", text_json(f->per_1000)) ||
	    lshop_json_set(v, "disclosure_coverage", json_real(f->coverage)))
		return -1;
	return 0;
}

/* Commissions as JSON (docs/kpis.md "Commissions") */

/* A show's, or a host's, commission figures in one currency. */
typedef struct commission_total {
	money revenue; /* every item's; its currency is the total's */
	money refunded; /* what refunds took back of the rows */
	money without; /* the items with no rate */
	money due;     /* the rows' commissions, added */
} commission_total;

typedef struct commission_sums {
	commission_total t[LSHOP_REPORT_CURRENCIES_MAX]; /* first seen first */
	size_t n;
	size_t shows;
	/* a show left items out (crows_full), or more currencies than
	 * LSHOP_REPORT_CURRENCIES_MAX: the figures are not the whole */
	int incomplete;
} commission_sums;

static commission_total *commission_total_of(commission_sums *cs,
					     const char *currency)
{
	commission_total *t;
	size_t i;

	for (i = 0; i < cs->n; i++)
		if (strcmp(cs->t[i].revenue.currency, currency) == 0)
			return &cs->t[i];
	if (cs->n == LSHOP_REPORT_CURRENCIES_MAX)
		return NULL;
	t = &cs->t[cs->n++];
	money_init(&t->revenue);
	money_init(&t->refunded);
	money_init(&t->without);
	money_init(&t->due);
	snprintf(t->revenue.currency, sizeof(t->revenue.currency), "%s",
		 currency);
	memcpy(t->without.currency, t->revenue.currency, 4);
	memcpy(t->refunded.currency, t->revenue.currency, 4);
	memcpy(t->due.currency, t->revenue.currency, 4);
	t->due.decimals = 2;
	return t;
}

/* Adds a show's rows to cs. */
static void commission_sums_add(commission_sums *cs, const show_rec *s)
{
	const commission_row *c;
	commission_total *t;
	money due;
	size_t i;

	cs->shows++;
	if (s->crows_full)
		cs->incomplete = 1;
	for (i = 0; i < s->ncrows; i++) {
		c = &s->crows[i];
		t = commission_total_of(cs, c->revenue.currency);
		if (t == NULL) {
			cs->incomplete = 1;
			continue;
		}
		commission_due(c, &due);
		money_add(&t->revenue, &c->revenue);
		money_add(&t->refunded, &c->refunded);
		if (c->source == RATE_NONE)
			money_add(&t->without, &c->revenue);
		money_add(&t->due, &due);
	}
}

/* A sum as its decimal string (2 decimals when it has counted none). */
static json_t *money_json(const money *m)
{
	char t[MONEY_TEXT_MAX];

	if (m->unknown)
		return json_null();
	money_text(m, 2, t, sizeof(t));
	return json_string(t);
}

/* A rate in 1/10000 as a decimal with 2 to 4 decimals ("0.10", "0.125"). */
static void rate_text(int64_t rate, char out[16])
{
	int n = snprintf(out, 16, "%d.%04d", (int)(rate / 10000),
			 (int)(rate % 10000));

	while (n > 4 && out[n - 1] == '0' && out[n - 3] != '.')
		out[--n] = '\0';
}

static json_t *rate_json(int64_t rate)
{
	char t[16];

	if (rate < 0)
		return json_null();
	rate_text(rate, t);
	return json_string(t);
}

static const char *rate_source(int source)
{
	return source == RATE_OFFER  ? "offer"
	       : source == RATE_SHOW ? "show"
				     : "";
}

/* A row's refunded amount, with its revenue's decimals (at least 2). */
static void refunded_text(const commission_row *c, char *out, size_t cap)
{
	int d = c->revenue.decimals > c->refunded.decimals
		    ? c->revenue.decimals
		    : c->refunded.decimals;

	revenue_format(out, cap, c->refunded.v, d < 2 ? 2 : d);
}

static json_t *refunded_json(const commission_row *c)
{
	char t[MONEY_TEXT_MAX];

	if (c->revenue.unknown)
		return json_null();
	refunded_text(c, t, sizeof(t));
	return json_string(t);
}

/* One row: {"offer_id","title",...} or, in an offer's own object, without
 * offer_id and title. */
static json_t *commission_row_json(const lshop_report *r,
				   const commission_row *c, int with_offer)
{
	const offer_rec *o = &r->offers[c->offer];
	json_t *v = json_object();
	money due;

	commission_due(c, &due);
	if (v == NULL ||
	    (with_offer && (lshop_json_set(v, "offer_id", json_string(o->id)) ||
			    lshop_json_set(v, "title", text_json(o->title)))) ||
	    lshop_json_set(v, "currency", json_string(c->revenue.currency)) ||
	    lshop_json_set(v, "rate",
			   rate_json(c->source == RATE_NONE ? -1 : c->rate)) ||
	    lshop_json_set(v, "rate_source",
			   text_json(rate_source(c->source))) ||
	    lshop_json_set(v, "revenue", money_json(&c->revenue)) ||
	    lshop_json_set(v, "refunded", refunded_json(c)) ||
	    lshop_json_set(v, "commission", money_json(&due))) {
		json_decref(v);
		return NULL;
	}
	return v;
}

/* {"EUR":"1.00",...}: which 0 the revenue, 1 without, 2 due, 3
 * refunded */
static json_t *commission_map(const commission_sums *cs, int which)
{
	const commission_total *t;
	json_t *v = json_object();
	size_t i;

	for (i = 0; v != NULL && i < cs->n; i++) {
		t = &cs->t[i];
		if (lshop_json_set(v, t->revenue.currency,
				   money_json(which == 0   ? &t->revenue
					      : which == 1 ? &t->without
					      : which == 3 ? &t->refunded
							   : &t->due))) {
			json_decref(v);
			return NULL;
		}
	}
	return v;
}

/* The totals of cs into v: revenue, without_commission, due, complete. */
static int commission_sums_json(json_t *v, const commission_sums *cs)
{
	return lshop_json_set(v, "revenue", commission_map(cs, 0)) ||
	       lshop_json_set(v, "refunded", commission_map(cs, 3)) ||
	       lshop_json_set(v, "without_commission", commission_map(cs, 1)) ||
	       lshop_json_set(v, "due", commission_map(cs, 2)) ||
	       lshop_json_set(v, "complete", json_boolean(!cs->incomplete));
}

/* A show's "commission": its rate, its totals, its rows. */
static json_t *show_commission_json(const lshop_report *r, const show_rec *s)
{
	commission_sums cs;
	json_t *v = json_object(), *rows;
	size_t i;

	memset(&cs, 0, sizeof(cs));
	commission_sums_add(&cs, s);
	if (v == NULL || lshop_json_set(v, "rate", rate_json(s->commission)) ||
	    commission_sums_json(v, &cs) ||
	    lshop_json_set(v, "offers", rows = json_array()))
		goto fail;
	for (i = 0; i < s->ncrows; i++)
		if (json_array_append_new(
			rows, commission_row_json(r, &s->crows[i], 1)))
			goto fail;
	return v;
fail:
	json_decref(v);
	return NULL;
}

/* The rows of one offer in a show, for its object in the show's report. */
static json_t *offer_commission_json(const lshop_report *r, const show_rec *s,
				     size_t offer)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < s->ncrows; i++)
		if (s->crows[i].offer == offer &&
		    json_array_append_new(
			a, commission_row_json(r, &s->crows[i], 0))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* 1 if show s is the first of shows[from..] with its host */
static int host_first(const lshop_report *r, size_t from, size_t i)
{
	size_t j;

	for (j = from; j < i; j++)
		if (strcmp(r->shows[j]->host, r->shows[i]->host) == 0)
			return 0;
	return 1;
}

/* 1 if show s started in [from_ms, to_ms) */
static int show_in(const show_rec *s, int64_t from_ms, int64_t to_ms)
{
	return s->started_ms >= from_ms && s->started_ms < to_ms;
}

/* The totals of the shows of host (those of shows[from..] in a period). */
static void host_sums(const lshop_report *r, size_t from, const char *host,
		      int64_t from_ms, int64_t to_ms, commission_sums *cs)
{
	size_t i;

	memset(cs, 0, sizeof(*cs));
	for (i = from; i < r->nshows; i++)
		if (strcmp(r->shows[i]->host, host) == 0 &&
		    show_in(r->shows[i], from_ms, to_ms))
			commission_sums_add(cs, r->shows[i]);
}

/* "commission_by_host": one object per host of the listed shows. */
static json_t *hosts_json(const lshop_report *r, size_t from)
{
	commission_sums cs;
	json_t *a = json_array(), *v;
	size_t i;

	for (i = from; a != NULL && i < r->nshows; i++) {
		if (!host_first(r, from, i))
			continue;
		host_sums(r, from, r->shows[i]->host, INT64_MIN, INT64_MAX,
			  &cs);
		v = json_object();
		if (json_array_append_new(a, v) ||
		    lshop_json_set(v, "host", text_json(r->shows[i]->host)) ||
		    lshop_json_set(v, "shows",
				   json_integer((json_int_t)cs.shows)) ||
		    commission_sums_json(v, &cs)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* f: room for the figures (with a sketch, 2 KiB), reused by the caller */
static json_t *show_json(const lshop_report *r, const show_rec *s,
			 int64_t now_ms, show_figures *f)
{
	json_t *v = json_object();

	if (v == NULL)
		return NULL;
	show_figures_init(f);
	show_figures_add(r, s, now_ms, f);
	show_figures_derive(f);
	if (lshop_json_set(v, "id", json_string(s->id)) ||
	    (s->series[0] &&
	     lshop_json_set(v, "series", json_string(s->series))) ||
	    lshop_json_set(v, "title", json_string(s->title)) ||
	    (s->host[0] && lshop_json_set(v, "host", json_string(s->host))) ||
	    lshop_json_set(v, "started_at", lshop_json_time(s->started_ms)) ||
	    lshop_json_set(v, "ended_at",
			   r->on_air == s ? json_null()
					  : lshop_json_time(s->ended_ms)) ||
	    show_kpis_json(v, f) ||
	    lshop_json_set(v, "commission", show_commission_json(r, s))) {
		json_decref(v);
		return NULL;
	}
	return v;
}

/* The index of the first of the last n shows. */
static size_t shows_from(const lshop_report *r, size_t last_shows)
{
	return r->nshows > last_shows ? r->nshows - last_shows : 0;
}

static json_t *across_json(const lshop_report *r, size_t from, int64_t now_ms,
			   show_figures *f)
{
	json_t *v = json_object();
	size_t i;

	if (v == NULL)
		return NULL;
	show_figures_init(f);
	for (i = from; i < r->nshows; i++)
		show_figures_add(r, r->shows[i], now_ms, f);
	show_figures_derive(f);
	if (lshop_json_set(v, "shows", json_integer((json_int_t)f->shows)) ||
	    show_kpis_json(v, f)) {
		json_decref(v);
		return NULL;
	}
	return v;
}

char *lshop_report_json(const lshop_report *r, const char *stream,
			int64_t now_ms, size_t last_shows, size_t *len)
{
	json_t *v = json_object(), *offers = json_array(),
	       *shows = json_array();
	show_figures *sf = malloc(sizeof(*sf));
	offer_view f;
	char *out = NULL;
	size_t i, from = shows_from(r, last_shows);

	if (v == NULL || offers == NULL || shows == NULL || sf == NULL)
		goto done;
	for (i = 0; i < r->noffers; i++) {
		offer_view_of(r, &r->offers[i], now_ms, &f);
		if (json_array_append_new(offers, offer_json(&f)))
			goto done;
	}
	for (i = from; i < r->nshows; i++)
		if (json_array_append_new(
			shows, show_json(r, r->shows[i], now_ms, sf)))
			goto done;
	if (lshop_json_set(v, "stream", json_string(stream)) ||
	    lshop_json_set(v, "at", lshop_json_time(now_ms)) ||
	    lshop_json_set(v, "offers", json_incref(offers)) ||
	    lshop_json_set(v, "disclosure", disclosure_json(r, now_ms)) ||
	    lshop_json_set(v, "shows", json_incref(shows)) ||
	    lshop_json_set(v, "across_shows",
			   across_json(r, from, now_ms, sf)) ||
	    lshop_json_set(v, "commission_by_host", hosts_json(r, from)) ||
	    lshop_json_set(v, "refunds",
			   json_pack("{sIsIsI}", "refunds",
				     (json_int_t)r->refunds, "unmatched",
				     (json_int_t)r->refunds_unmatched,
				     "orders_not_kept",
				     (json_int_t)r->orders_unkept)))
		goto done;
	out = lshop_json_dump_short_reals(v, len);
done:
	free(sf);
	json_decref(shows);
	json_decref(offers);
	json_decref(v);
	return out;
}

char *lshop_report_to_json(const lshop_report *r, const char *stream,
			   int64_t now_ms, size_t *len)
{
	return lshop_report_json(r, stream, now_ms, LSHOP_REPORT_LAST_SHOWS,
				 len);
}

int lshop_report_has_show(const lshop_report *r, const char *show_id)
{
	return show_find(r, show_id) != NULL;
}

/* The show's series: its viewers, its orders and its pins. */
static json_t *series_json(const lshop_report *r, const show_rec *s)
{
	const viewers_point *vp = s->viewers.p;
	const orders_point *op = s->order_points.p;
	const pin_span *p;
	json_t *v = json_object(), *a, *e;
	size_t i;

	if (v == NULL)
		return NULL;
	if (lshop_json_set(v, "viewers", a = json_array()))
		goto fail;
	for (i = 0; i < s->viewers.n; i++)
		if (json_array_append_new(
			a, json_pack("[II]", (json_int_t)vp[i].at_ms,
				     (json_int_t)vp[i].viewers)))
			goto fail;
	if (lshop_json_set(v, "orders", a = json_array()))
		goto fail;
	for (i = 0; i < s->order_points.n; i++)
		if (json_array_append_new(
			a, json_pack("[IIIo]", (json_int_t)op[i].at_ms,
				     (json_int_t)op[i].orders,
				     (json_int_t)op[i].units,
				     op[i].has_gmv ? json_real(op[i].gmv)
						   : json_null())))
			goto fail;
	if (lshop_json_set(v, "pins", a = json_array()))
		goto fail;
	for (i = 0; i < s->npins; i++) {
		p = &s->pins[i];
		e = json_object();
		if (json_array_append_new(a, e) ||
		    lshop_json_set(e, "offer_id",
				   json_string(r->offers[p->offer].id)) ||
		    lshop_json_set(e, "start", json_integer(p->start_ms)) ||
		    lshop_json_set(e, "end",
				   p->open ? json_null()
					   : json_integer(p->end_ms)))
			goto fail;
	}
	return v;
fail:
	json_decref(v);
	return NULL;
}

char *lshop_report_show_json(const lshop_report *r, const char *stream,
			     const char *show_id, int64_t now_ms, size_t *len)
{
	const show_rec *s = show_find(r, show_id);
	json_t *v, *offers = json_array(), *o;
	show_figures *sf;
	int64_t sponsored, disclosed;
	offer_view f;
	char *out = NULL;
	size_t i;

	if (s == NULL) {
		json_decref(offers);
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	v = json_object();
	sf = malloc(sizeof(*sf));
	if (v == NULL || offers == NULL || sf == NULL)
		goto done;
	for (i = 0; i < s->noffers; i++) {
		show_offer_view(r, s, &s->offers[i], now_ms, &f);
		o = offer_json(&f);
		if (json_array_append_new(offers, o) ||
		    lshop_json_set(
			o, "commission",
			offer_commission_json(r, s, s->offers[i].offer)))
			goto done;
	}
	sponsored = s->sponsored_ms;
	disclosed = s->disclosed_ms;
	if (r->on_air == s)
		sweep_open(r, now_ms, &sponsored, &disclosed);
	if (lshop_json_set(v, "stream", json_string(stream)) ||
	    lshop_json_set(v, "at", lshop_json_time(now_ms)) ||
	    lshop_json_set(v, "show", show_json(r, s, now_ms, sf)) ||
	    lshop_json_set(v, "offers", json_incref(offers)) ||
	    lshop_json_set(
		v, "disclosure",
		disclosure_object(s->sponsored_pins, sponsored, disclosed)) ||
	    lshop_json_set(v, "series", series_json(r, s)))
		goto done;
	out = lshop_json_dump_short_reals(v, len);
done:
	free(sf);
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

/* A ratio with its 4 decimals ("0.2500"); empty where JSON says null. */
static void csv_ratio(csv_buf *b, ratio q, int last)
{
	char s[48];

	s[0] = '\0';
	if (q.known)
		snprintf(s, sizeof(s), "%.4f", q.v);
	csv_field(b, s, last);
}

static void csv_time(csv_buf *b, int64_t ms)
{
	char t[LSHOP_TIME_LEN];

	lshop_time_format(t, ms);
	csv_field(b, t, 0);
}

static const char offer_header[] =
    "offer_id,title,pins,seconds_pinned,orders,units,oversold,revenue,"
    "currency,viewers_peak,viewers_unique,watch_seconds,impressions,clicks,"
    "ctr,gmv,aov,conversion,click_to_buy,gmv_per_1000_viewers\r\n";

static void csv_offer(csv_buf *b, const offer_view *f)
{
	csv_field(b, f->o->id, 0);
	csv_field(b, f->o->title, 0);
	csv_int(b, f->pins);
	csv_seconds(b, f->pinned_ms);
	csv_int(b, f->orders);
	csv_int(b, f->units);
	csv_int(b, f->oversold);
	csv_field(b, f->revenue_text, 0);
	csv_field(b, f->currency, 0);
	csv_int(b, f->audience->peak);
	csv_int(b, count_json(f->unique));
	csv_seconds(b, f->audience->sum.watch_ms);
	csv_int(b, f->audience->sum.impressions);
	csv_int(b, f->audience->sum.clicks);
	csv_ratio(b, f->ctr, 0);
	csv_field(b, f->revenue_text, 0);
	csv_field(b, f->aov, 0);
	csv_ratio(b, f->conversion, 0);
	csv_ratio(b, f->click_to_buy, 0);
	csv_field(b, f->per_1000, 1);
}

static int csv_begin(csv_buf *b, const char *header, size_t rows)
{
	memset(b, 0, sizeof(*b));
	b->cap = strlen(header) + 1 + 256 * rows;
	b->data = malloc(b->cap);
	if (b->data == NULL)
		return -1;
	csv_put(b, header, strlen(header));
	return 0;
}

static char *csv_end(csv_buf *b, size_t *len)
{
	csv_put(b, "", 1); /* NUL, not counted */
	if (b->failed) {
		free(b->data);
		return NULL;
	}
	if (len != NULL)
		*len = b->len - 1;
	return b->data;
}

char *lshop_report_to_csv(const lshop_report *r, int64_t now_ms, size_t *len)
{
	csv_buf b;
	offer_view f;
	size_t i;

	if (csv_begin(&b, offer_header, r->noffers) != 0)
		return NULL;
	for (i = 0; i < r->noffers; i++) {
		offer_view_of(r, &r->offers[i], now_ms, &f);
		csv_offer(&b, &f);
	}
	return csv_end(&b, len);
}

char *lshop_report_show_csv(const lshop_report *r, const char *show_id,
			    int64_t now_ms, size_t *len)
{
	const show_rec *s = show_find(r, show_id);
	csv_buf b;
	offer_view f;
	size_t i;

	if (s == NULL) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (csv_begin(&b, offer_header, s->noffers) != 0)
		return NULL;
	for (i = 0; i < s->noffers; i++) {
		show_offer_view(r, s, &s->offers[i], now_ms, &f);
		csv_offer(&b, &f);
	}
	return csv_end(&b, len);
}

char *lshop_report_shows_csv(const lshop_report *r, size_t last_shows,
			     int64_t now_ms, size_t *len)
{
	static const char header[] =
	    "show_id,series,title,host,started_at,ended_at,viewers_peak,"
	    "viewers_unique,watch_seconds,impressions,clicks,ctr,orders,units,"
	    "gmv,currency,aov,conversion,click_to_buy,gmv_per_1000_viewers,"
	    "disclosure_coverage\r\n";
	show_figures *f = malloc(sizeof(*f));
	const show_rec *s;
	size_t i, from = shows_from(r, last_shows);
	csv_buf b;
	ratio coverage;

	if (f == NULL || csv_begin(&b, header, r->nshows - from) != 0) {
		free(f);
		return NULL;
	}
	for (i = from; i < r->nshows; i++) {
		s = r->shows[i];
		show_figures_init(f);
		show_figures_add(r, s, now_ms, f);
		show_figures_derive(f);
		csv_field(&b, s->id, 0);
		csv_field(&b, s->series, 0);
		csv_field(&b, s->title, 0);
		csv_field(&b, s->host, 0);
		csv_time(&b, s->started_ms);
		if (r->on_air == s)
			csv_field(&b, "", 0);
		else
			csv_time(&b, s->ended_ms);
		csv_int(&b, f->peak);
		csv_int(&b, count_json(f->unique));
		csv_seconds(&b, f->watch_ms);
		csv_int(&b, f->impressions);
		csv_int(&b, f->clicks);
		csv_ratio(&b, f->ctr, 0);
		csv_int(&b, f->orders);
		csv_int(&b, f->units);
		csv_field(&b, f->gmv_text, 0);
		csv_field(&b, f->currency, 0);
		csv_field(&b, f->aov, 0);
		csv_ratio(&b, f->conversion, 0);
		csv_ratio(&b, f->click_to_buy, 0);
		csv_field(&b, f->per_1000, 0);
		coverage.known = 1;
		coverage.v = f->coverage;
		csv_ratio(&b, coverage, 1);
	}
	free(f);
	return csv_end(&b, len);
}

/* WebVTT chapters of a show: one cue per pin (SPEC §16) */

/* A WebVTT timestamp, HH:MM:SS.mmm (more hour digits when needed). */
static void vtt_time(csv_buf *b, int64_t ms)
{
	char s[40];
	int n;

	n = snprintf(s, sizeof(s), "%02lld:%02d:%02d.%03d",
		     (long long)(ms / 3600000), (int)(ms / 60000 % 60),
		     (int)(ms / 1000 % 60), (int)(ms % 1000));
	csv_put(b, s, (size_t)n);
}

/*
 * Cue text (WebVTT 4.2.2): '&' and '<' would start a reference or a tag,
 * and a cue's text must not hold "-->", so all three are references; a
 * line terminator would start a new line of text, two would end the cue.
 */
static void vtt_text(csv_buf *b, const char *s)
{
	size_t n;

	for (;;) {
		n = strcspn(s, "&<>\r\n");
		csv_put(b, s, n);
		s += n;
		if (*s == '\0')
			return;
		if (*s == '&')
			csv_put(b, "&amp;", 5);
		else if (*s == '<')
			csv_put(b, "&lt;", 4);
		else if (*s == '>')
			csv_put(b, "&gt;", 4);
		else
			csv_put(b, " ", 1);
		s++;
	}
}

char *lshop_report_show_chapters_vtt(const lshop_report *r, const char *show_id,
				     int64_t now_ms, size_t *len)
{
	const show_rec *s = show_find(r, show_id);
	const offer_rec *o;
	const pin_span *p;
	int64_t open_end, start, end, last = 0;
	csv_buf b;
	char num[24];
	size_t i;
	char *out;

	if (s == NULL) {
		if (len != NULL)
			*len = 0;
		errno = ENOENT;
		return NULL;
	}
	open_end = r->on_air == s ? now_ms : s->ended_ms;
	if (csv_begin(&b, "WEBVTT\n\n", s->npins) != 0) {
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < s->npins; i++) {
		p = &s->pins[i];
		o = &r->offers[p->offer];
		start = p->start_ms - s->started_ms;
		end = (p->open ? open_end : p->end_ms) - s->started_ms;
		if (start < last)
			start = last;
		if (end <= start)
			continue;
		last = end;
		snprintf(num, sizeof(num), "%zu-", i + 1);
		csv_put(&b, num, strlen(num));
		csv_put(&b, o->id, strlen(o->id));
		csv_put(&b, "\n", 1);
		vtt_time(&b, start);
		csv_put(&b, " --> ", 5);
		vtt_time(&b, end);
		csv_put(&b, "\n", 1);
		vtt_text(&b, o->title[0] ? o->title : o->id);
		if (o->price[0]) {
			csv_put(&b, " \xe2\x80\x94 ", 5);
			csv_put(&b, o->price, strlen(o->price));
			if (o->currency[0]) {
				csv_put(&b, " ", 1);
				csv_put(&b, o->currency, strlen(o->currency));
			}
		}
		csv_put(&b, "\n\n", 2);
	}
	out = csv_end(&b, len);
	if (out == NULL)
		errno = ENOMEM;
	return out;
}

/* Commissions as CSV, for payouts (docs/kpis.md "Commissions") */

static void csv_money(csv_buf *b, const money *m, int last)
{
	char t[MONEY_TEXT_MAX];

	t[0] = '\0';
	if (!m->unknown)
		money_text(m, 2, t, sizeof(t));
	csv_field(b, t, last);
}

/* One row per show x offer x currency x rate of the shows of a period. */
static void csv_commission_rows(csv_buf *b, const lshop_report *r,
				int64_t from_ms, int64_t to_ms)
{
	const commission_row *c;
	const show_rec *s;
	char rate[16], refunded[MONEY_TEXT_MAX];
	money due;
	size_t i, k;

	for (i = 0; i < r->nshows; i++) {
		s = r->shows[i];
		if (!show_in(s, from_ms, to_ms))
			continue;
		for (k = 0; k < s->ncrows; k++) {
			c = &s->crows[k];
			commission_due(c, &due);
			rate[0] = '\0';
			if (c->source != RATE_NONE)
				rate_text(c->rate, rate);
			csv_field(b, s->id, 0);
			csv_field(b, s->host, 0);
			csv_time(b, s->started_ms);
			csv_field(b, r->offers[c->offer].id, 0);
			csv_field(b, r->offers[c->offer].title, 0);
			csv_field(b, c->revenue.currency, 0);
			csv_money(b, &c->revenue, 0);
			refunded[0] = '\0';
			if (!c->revenue.unknown)
				refunded_text(c, refunded, sizeof(refunded));
			csv_field(b, refunded, 0);
			csv_field(b, rate, 0);
			csv_field(b, rate_source(c->source), 0);
			csv_money(b, &due, 1);
		}
	}
}

/* One row per host x currency of the shows of a period. */
static void csv_commission_hosts(csv_buf *b, const lshop_report *r,
				 int64_t from_ms, int64_t to_ms)
{
	commission_sums cs;
	const commission_total *t;
	size_t i, k, first;

	for (i = 0; i < r->nshows; i++) {
		if (!show_in(r->shows[i], from_ms, to_ms))
			continue;
		/* the first show of its host in the period */
		for (first = 0; first < i; first++)
			if (show_in(r->shows[first], from_ms, to_ms) &&
			    strcmp(r->shows[first]->host, r->shows[i]->host) ==
				0)
				break;
		if (first < i)
			continue;
		host_sums(r, 0, r->shows[i]->host, from_ms, to_ms, &cs);
		for (k = 0; k < cs.n || k == 0; k++) {
			t = k < cs.n ? &cs.t[k] : NULL;
			csv_field(b, r->shows[i]->host, 0);
			csv_field(b, t ? t->revenue.currency : "", 0);
			csv_int(b, (int64_t)cs.shows);
			if (t != NULL) {
				csv_money(b, &t->revenue, 0);
				csv_money(b, &t->refunded, 0);
				csv_money(b, &t->without, 0);
				csv_money(b, &t->due, 0);
			} else { /* a host with no orders in the period */
				csv_field(b, "0.00", 0);
				csv_field(b, "0.00", 0);
				csv_field(b, "0.00", 0);
				csv_field(b, "0.00", 0);
			}
			csv_field(b, cs.incomplete ? "false" : "true", 1);
		}
	}
}

char *lshop_report_commissions_csv(const lshop_report *r, int64_t from_ms,
				   int64_t to_ms, int by_host, size_t *len)
{
	static const char rows_header[] =
	    "show_id,host,started_at,offer_id,title,currency,revenue,"
	    "refunded,rate,rate_source,commission\r\n";
	static const char hosts_header[] =
	    "host,currency,shows,revenue,refunded,"
	    "revenue_without_commission,commission,complete\r\n";
	csv_buf b;

	if (csv_begin(&b, by_host ? hosts_header : rows_header, r->nshows) != 0)
		return NULL;
	if (by_host)
		csv_commission_hosts(&b, r, from_ms, to_ms);
	else
		csv_commission_rows(&b, r, from_ms, to_ms);
	return csv_end(&b, len);
}

/* Carry: the whole of a report, so a ledger can take it past rotation */

static json_t *limbs_json(const uint32_t v[LIMBS])
{
	json_t *a = json_array();
	size_t i;

	if (a == NULL)
		return NULL;
	for (i = 0; i < LIMBS; i++)
		if (json_array_append_new(a, json_integer(v[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *money_carry(const money *m)
{
	json_t *v = json_object();

	if (v == NULL ||
	    lshop_json_set(v, "currency", json_string(m->currency)) ||
	    lshop_json_set(v, "revenue", limbs_json(m->v)) ||
	    lshop_json_set(v, "decimals", json_integer(m->decimals)) ||
	    lshop_json_set(v, "unknown", json_boolean(m->unknown))) {
		json_decref(v);
		return NULL;
	}
	return v;
}

/* [WATCH_MS, IMPRESSIONS, CLICKS] */
static json_t *counts_json(const counts *c)
{
	return json_pack("[III]", (json_int_t)c->watch_ms,
			 (json_int_t)c->impressions, (json_int_t)c->clicks);
}

/* Its sketch in the text form of audience.h, or null. */
static json_t *tally_carry(const tally *t)
{
	char text[LSHOP_HLL_TEXT_MAX + 1];
	json_t *v = json_object();

	if (t->unique != NULL)
		lshop_hll_write_text(t->unique, text);
	if (v == NULL || lshop_json_set(v, "peak", json_integer(t->peak)) ||
	    lshop_json_set(v, "watch_ms", json_integer(t->sum.watch_ms)) ||
	    lshop_json_set(v, "impressions",
			   json_integer(t->sum.impressions)) ||
	    lshop_json_set(v, "clicks", json_integer(t->sum.clicks)) ||
	    lshop_json_set(v, "last", counts_json(&t->last)) ||
	    lshop_json_set(v, "unique",
			   t->unique ? json_string(text) : json_null())) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static json_t *offer_carry(const offer_rec *o)
{
	json_t *v = json_object();

	if (v == NULL || lshop_json_set(v, "id", json_string(o->id)) ||
	    lshop_json_set(v, "title", json_string(o->title)) ||
	    lshop_json_set(v, "price", json_string(o->price)) ||
	    lshop_json_set(v, "currency", json_string(o->currency)) ||
	    lshop_json_set(v, "pins", json_integer(o->pins)) ||
	    lshop_json_set(v, "pinned_ms", json_integer(o->pinned_ms)) ||
	    lshop_json_set(v, "orders", json_integer(o->orders)) ||
	    lshop_json_set(v, "units", json_integer(o->units)) ||
	    lshop_json_set(v, "oversold", json_integer(o->oversold)) ||
	    lshop_json_set(v, "revenue", limbs_json(o->revenue.v)) ||
	    lshop_json_set(v, "revenue_currency",
			   json_string(o->revenue.currency)) ||
	    lshop_json_set(v, "decimals", json_integer(o->revenue.decimals)) ||
	    lshop_json_set(v, "revenue_unknown",
			   json_boolean(o->revenue.unknown)) ||
	    lshop_json_set(v, "audience", tally_carry(&o->audience)) ||
	    lshop_json_set(v, "commission", json_integer(o->commission))) {
		json_decref(v);
		return NULL;
	}
	return v;
}

/* A series: {"offered","stride","extra","points":[[...],...]}. */
static json_t *points_carry(const points *ps, int orders)
{
	const viewers_point *vp = ps->p;
	const orders_point *op = ps->p;
	json_t *v = json_object(), *a = json_array(), *e;
	size_t i;

	if (v == NULL || lshop_json_set(v, "points", a) ||
	    lshop_json_set(v, "offered", json_integer(ps->offered)) ||
	    lshop_json_set(v, "stride", json_integer(ps->stride)) ||
	    lshop_json_set(v, "extra", json_boolean(ps->extra)))
		goto fail;
	for (i = 0; i < ps->n; i++) {
		if (orders)
			e = json_pack(
			    "[IIIo]", (json_int_t)op[i].at_ms,
			    (json_int_t)op[i].orders, (json_int_t)op[i].units,
			    op[i].has_gmv ? json_real(op[i].gmv) : json_null());
		else
			e = json_pack("[II]", (json_int_t)vp[i].at_ms,
				      (json_int_t)vp[i].viewers);
		if (json_array_append_new(a, e))
			goto fail;
	}
	return v;
fail:
	json_decref(v);
	return NULL;
}

static json_t *show_carry(const show_rec *s)
{
	json_t *v = json_object(), *gmv, *offers, *pins, *crows, *kept, *e;
	const commission_row *c;
	const show_offer *so;
	const pin_span *p;
	size_t i, k;

	if (v == NULL || lshop_json_set(v, "id", json_string(s->id)) ||
	    lshop_json_set(v, "series", json_string(s->series)) ||
	    lshop_json_set(v, "title", json_string(s->title)) ||
	    lshop_json_set(v, "host", json_string(s->host)) ||
	    lshop_json_set(v, "started_ms", json_integer(s->started_ms)) ||
	    lshop_json_set(v, "ended_ms", json_integer(s->ended_ms)) ||
	    lshop_json_set(v, "orders", json_integer(s->orders)) ||
	    lshop_json_set(v, "units", json_integer(s->units)) ||
	    lshop_json_set(v, "gmv", gmv = json_array()) ||
	    lshop_json_set(v, "gmv_unknown", json_boolean(s->gmv_unknown)) ||
	    lshop_json_set(v, "sponsored_pins",
			   json_integer(s->sponsored_pins)) ||
	    lshop_json_set(v, "sponsored_ms", json_integer(s->sponsored_ms)) ||
	    lshop_json_set(v, "disclosed_ms", json_integer(s->disclosed_ms)) ||
	    lshop_json_set(v, "audience", tally_carry(&s->audience)) ||
	    lshop_json_set(v, "offers", offers = json_array()) ||
	    lshop_json_set(v, "viewers", points_carry(&s->viewers, 0)) ||
	    lshop_json_set(v, "order_points",
			   points_carry(&s->order_points, 1)) ||
	    lshop_json_set(v, "pins", pins = json_array()) ||
	    lshop_json_set(v, "commission", json_integer(s->commission)) ||
	    lshop_json_set(v, "crows_full", json_boolean(s->crows_full)) ||
	    lshop_json_set(v, "crows", crows = json_array()))
		goto fail;
	for (i = 0; i < s->ncrows; i++) {
		c = &s->crows[i];
		if (json_array_append_new(
			crows, json_pack("[IiIoo]", (json_int_t)c->offer,
					 c->source, (json_int_t)c->rate,
					 money_carry(&c->revenue),
					 money_carry(&c->refunded))))
			goto fail;
	}
	if (lshop_json_set(v, "kept", kept = json_array()))
		goto fail;
	for (i = 0; i < s->nkept; i++) {
		e = json_array();
		if (json_array_append_new(
			kept, json_pack("[so]", s->kept[i].id, e)))
			goto fail;
		for (k = 0; k < s->kept[i].nitems; k++)
			if (json_array_append_new(
				e, json_pack(
				       "[III]",
				       (json_int_t)s->kept[i].items[k].row,
				       (json_int_t)s->kept[i].items[k].amount,
				       (json_int_t)s->kept[i]
					   .items[k]
					   .refunded)))
				goto fail;
	}
	for (i = 0; i < s->ngmv; i++)
		if (json_array_append_new(gmv, money_carry(&s->gmv[i])))
			goto fail;
	for (i = 0; i < s->noffers; i++) {
		so = &s->offers[i];
		e = json_object();
		if (json_array_append_new(offers, e) ||
		    lshop_json_set(e, "offer",
				   json_integer((json_int_t)so->offer)) ||
		    lshop_json_set(e, "pins", json_integer(so->pins)) ||
		    lshop_json_set(e, "pinned_ms",
				   json_integer(so->pinned_ms)) ||
		    lshop_json_set(e, "orders", json_integer(so->orders)) ||
		    lshop_json_set(e, "units", json_integer(so->units)) ||
		    lshop_json_set(e, "oversold", json_integer(so->oversold)) ||
		    lshop_json_set(e, "revenue", money_carry(&so->revenue)) ||
		    lshop_json_set(e, "audience", tally_carry(&so->audience)))
			goto fail;
	}
	for (i = 0; i < s->npins; i++) {
		p = &s->pins[i];
		if (json_array_append_new(
			pins, json_pack("[IIIb]", (json_int_t)p->offer,
					(json_int_t)p->start_ms,
					(json_int_t)p->end_ms, p->open)))
			goto fail;
	}
	return v;
fail:
	json_decref(v);
	return NULL;
}

json_t *lshop_report_carry(const lshop_report *r)
{
	json_t *v = json_object(), *offers = json_array(), *shows, *gap;
	long on_air = -1;
	size_t i;

	if (v == NULL || offers == NULL)
		goto fail;
	for (i = 0; i < r->noffers; i++)
		if (json_array_append_new(offers, offer_carry(&r->offers[i])))
			goto fail;
	for (i = 0; i < r->nshows; i++)
		if (r->shows[i] == r->on_air)
			on_air = (long)i;
	if (lshop_json_set(v, "offers", json_incref(offers)) ||
	    lshop_json_set(v, "pinned", json_boolean(r->pinned)) ||
	    lshop_json_set(v, "pin_offer",
			   json_integer((json_int_t)r->pin_offer)) ||
	    lshop_json_set(v, "pin_at_ms", json_integer(r->pin_at_ms)) ||
	    lshop_json_set(v, "swept", json_boolean(r->swept)) ||
	    lshop_json_set(v, "sponsored", json_boolean(r->sponsored)) ||
	    lshop_json_set(v, "shown", json_boolean(r->shown)) ||
	    lshop_json_set(v, "sweep_ms", json_integer(r->sweep_ms)) ||
	    lshop_json_set(v, "sponsored_pins",
			   json_integer(r->sponsored_pins)) ||
	    lshop_json_set(v, "sponsored_ms", json_integer(r->sponsored_ms)) ||
	    lshop_json_set(v, "disclosed_ms", json_integer(r->disclosed_ms)) ||
	    lshop_json_set(v, "last_at_ms", json_integer(r->last_at_ms)) ||
	    lshop_json_set(v, "shows", shows = json_array()) ||
	    lshop_json_set(v, "on_air", json_integer(on_air)) ||
	    lshop_json_set(v, "show_pin_from",
			   json_integer(r->show_pin_from)) ||
	    lshop_json_set(v, "gap_last", counts_json(&r->gap_last)) ||
	    lshop_json_set(v, "gap", gap = json_array()) ||
	    lshop_json_set(v, "refunds",
			   json_pack("[III]", (json_int_t)r->refunds,
				     (json_int_t)r->refunds_unmatched,
				     (json_int_t)r->orders_unkept)))
		goto fail;
	for (i = 0; i < r->nshows; i++)
		if (json_array_append_new(shows, show_carry(r->shows[i])))
			goto fail;
	for (i = 0; i < r->ngap; i++)
		if (json_array_append_new(
			gap, json_pack("[IIII]", (json_int_t)r->gap[i].offer,
				       (json_int_t)r->gap[i].last.watch_ms,
				       (json_int_t)r->gap[i].last.impressions,
				       (json_int_t)r->gap[i].last.clicks)))
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

/* The array field key of obj, of at most max elements; NULL with err. */
static const json_t *carry_array(const json_t *obj, const char *prefix,
				 const char *key, size_t max, lshop_error *err)
{
	const json_t *a = json_object_get(obj, key);

	if (!json_is_array(a) || json_array_size(a) > max) {
		lshop_field_error(err, "invalid_field", prefix, key,
				  "must be a JSON array of at most %zu", max);
		return NULL;
	}
	return a;
}

static int carry_object(const json_t *v, const char *field, lshop_error *err)
{
	if (json_is_object(v))
		return 0;
	lshop_error_set(err, "invalid_field", field, "%s must be a JSON object",
			field);
	return -1;
}

static int no_memory(lshop_error *err)
{
	lshop_error_set(err, "no_memory", "", "out of memory");
	return -1;
}

static int carry_limbs(const json_t *rev, const char *field,
		       uint32_t out[LIMBS], lshop_error *err)
{
	json_t *j;
	int64_t n;
	size_t i;

	if (!json_is_array(rev) || json_array_size(rev) != LIMBS) {
		lshop_error_set(err, "invalid_field", field,
				"%s must list %d limbs", field, LIMBS);
		return -1;
	}
	for (i = 0; i < LIMBS; i++) {
		j = json_array_get(rev, i);
		n = json_integer_value(j);
		if (!json_is_integer(j) || n < 0 || n >= LIMB_BASE) {
			lshop_error_set(err, "invalid_field", field,
					"%s limbs must be whole numbers below "
					"%u",
					field, LIMB_BASE);
			return -1;
		}
		out[i] = (uint32_t)n;
	}
	return 0;
}

static int money_restore(const json_t *v, const char *field, money *m,
			 lshop_error *err)
{
	char prefix[96], limbs[104];
	int64_t n;

	snprintf(prefix, sizeof(prefix), "%s.", field);
	snprintf(limbs, sizeof(limbs), "%s.revenue", field);
	money_init(m);
	if (carry_object(v, field, err) ||
	    carry_text(v, prefix, "currency", m->currency, sizeof(m->currency),
		       err) ||
	    carry_limbs(json_object_get(v, "revenue"), limbs, m->v, err) ||
	    carry_int(v, prefix, "decimals", -1, 4, &n, err) ||
	    carry_bool(v, prefix, "unknown", &m->unknown, err))
		return -1;
	m->decimals = (int)n;
	return 0;
}

/* [WATCH_MS, IMPRESSIONS, CLICKS], each >= 0. */
static int carry_counts(const json_t *a, const char *prefix, const char *key,
			counts *c, lshop_error *err)
{
	int64_t n[3];
	size_t i;

	for (i = 0; i < 3; i++) {
		n[i] = json_integer_value(json_array_get(a, i));
		if (!json_is_integer(json_array_get(a, i)) || n[i] < 0)
			break;
	}
	if (json_array_size(a) != 3 || i < 3) {
		lshop_field_error(err, "invalid_field", prefix, key,
				  "must be [WATCH_MS, IMPRESSIONS, CLICKS]");
		return -1;
	}
	c->watch_ms = n[0];
	c->impressions = n[1];
	c->clicks = n[2];
	return 0;
}

/* Into t, whose sketch (made here) its owner frees. */
static int tally_restore(const json_t *v, const char *field, tally *t,
			 lshop_error *err)
{
	const json_t *u = json_object_get(v, "unique");
	char prefix[96];
	const char *s;
	size_t n;

	snprintf(prefix, sizeof(prefix), "%s.", field);
	if (carry_object(v, field, err) ||
	    carry_int(v, prefix, "peak", 0, INT64_MAX, &t->peak, err) ||
	    carry_int(v, prefix, "watch_ms", 0, INT64_MAX, &t->sum.watch_ms,
		      err) ||
	    carry_int(v, prefix, "impressions", 0, INT64_MAX,
		      &t->sum.impressions, err) ||
	    carry_int(v, prefix, "clicks", 0, INT64_MAX, &t->sum.clicks, err) ||
	    carry_counts(json_object_get(v, "last"), prefix, "last", &t->last,
			 err))
		return -1;
	if (json_is_null(u))
		return 0;
	if (!lshop_json_text(u, &s, &n)) {
		lshop_field_error(err, "invalid_field", prefix, "unique",
				  "must be a sketch (\"hll1...\") or null");
		return -1;
	}
	t->unique = malloc(sizeof(*t->unique));
	if (t->unique == NULL)
		return no_memory(err);
	if (lshop_hll_from_text(s, n, t->unique, err) != 0) {
		lshop_field_error(err, "invalid_field", prefix, "unique",
				  "must be a sketch (\"hll1...\") or null");
		return -1;
	}
	return 0;
}

static int points_restore(const json_t *v, const char *field, points *ps,
			  int orders, size_t max, lshop_error *err)
{
	size_t size = orders ? sizeof(orders_point) : sizeof(viewers_point);
	const json_t *a, *e, *g;
	viewers_point *vp;
	orders_point *op;
	char prefix[96];
	size_t i, n;

	snprintf(prefix, sizeof(prefix), "%s.", field);
	if (carry_object(v, field, err) ||
	    carry_int(v, prefix, "offered", 0, INT64_MAX, &ps->offered, err) ||
	    carry_int(v, prefix, "stride", 1, INT64_MAX / 2, &ps->stride,
		      err) ||
	    carry_bool(v, prefix, "extra", &ps->extra, err) ||
	    (a = carry_array(v, prefix, "points", max, err)) == NULL)
		return -1;
	n = json_array_size(a);
	if ((int64_t)n > ps->offered || (ps->extra && n == 0)) {
		lshop_field_error(err, "invalid_field", prefix, "points",
				  "must hold no more points than offered");
		return -1;
	}
	if (n == 0)
		return 0;
	ps->p = malloc(n * size);
	if (ps->p == NULL)
		return no_memory(err);
	ps->cap = n;
	vp = ps->p;
	op = ps->p;
	for (i = 0; i < n; i++) {
		e = json_array_get(a, i);
		g = json_array_get(e, 3);
		if (!json_is_array(e) ||
		    json_array_size(e) != (orders ? 4u : 2u) ||
		    !json_is_integer(json_array_get(e, 0)) ||
		    !json_is_integer(json_array_get(e, 1)) ||
		    json_integer_value(json_array_get(e, 1)) < 0 ||
		    (orders && (!json_is_integer(json_array_get(e, 2)) ||
				json_integer_value(json_array_get(e, 2)) < 0 ||
				!(json_is_null(g) || json_is_number(g))))) {
			lshop_field_error(err, "invalid_field", prefix,
					  "points",
					  "must list [MS, COUNT%s] arrays",
					  orders ? ", UNITS, GMV" : "");
			return -1;
		}
		if (orders) {
			op[i].at_ms = json_integer_value(json_array_get(e, 0));
			op[i].orders = json_integer_value(json_array_get(e, 1));
			op[i].units = json_integer_value(json_array_get(e, 2));
			op[i].has_gmv = json_is_number(g);
			op[i].gmv = op[i].has_gmv ? json_number_value(g) : 0.0;
		} else {
			vp[i].at_ms = json_integer_value(json_array_get(e, 0));
			vp[i].viewers =
			    json_integer_value(json_array_get(e, 1));
		}
		ps->n = i + 1;
	}
	return 0;
}

static int show_offer_restore(const lshop_report *r, const json_t *v,
			      show_offer *so, lshop_error *err)
{
	const char *p = "report.shows.offers.";
	int64_t n;

	if (carry_object(v, "report.shows.offers", err) ||
	    carry_int(v, p, "offer", 0, (int64_t)r->noffers - 1, &n, err) ||
	    carry_int(v, p, "pins", 0, INT64_MAX, &so->pins, err) ||
	    carry_int(v, p, "pinned_ms", 0, INT64_MAX, &so->pinned_ms, err) ||
	    carry_int(v, p, "orders", 0, INT64_MAX, &so->orders, err) ||
	    carry_int(v, p, "units", 0, INT64_MAX, &so->units, err) ||
	    carry_int(v, p, "oversold", 0, INT64_MAX, &so->oversold, err) ||
	    money_restore(json_object_get(v, "revenue"),
			  "report.shows.offers.revenue", &so->revenue, err) ||
	    tally_restore(json_object_get(v, "audience"),
			  "report.shows.offers.audience", &so->audience, err))
		return -1;
	so->offer = (size_t)n;
	return 0;
}

/*
 * A show's orders kept for their refunds: [[ID, [[ROW, AMOUNT,
 * REFUNDED], ...]], ...]; a ledger from before refunds has none (their
 * refunds then match nothing: docs/kpis.md). What each row was refunded
 * is carried with the row.
 */
static int kept_restore(lshop_report *r, const json_t *v, show_rec *s,
			lshop_error *err)
{
	const json_t *kept = json_object_get(v, "kept"), *e, *items, *x;
	kept_order *k;
	int64_t n[3];
	size_t i, j, m;

	if (kept == NULL)
		return 0;
	if (!json_is_array(kept) ||
	    json_array_size(kept) > LSHOP_REPORT_REFUND_ORDERS_MAX)
		goto bad;
	for (i = 0; i < json_array_size(kept); i++) {
		e = json_array_get(kept, i);
		items = json_array_get(e, 1);
		if (json_array_size(e) != 2 ||
		    !json_is_string(json_array_get(e, 0)) ||
		    json_string_length(json_array_get(e, 0)) == 0 ||
		    json_string_length(json_array_get(e, 0)) >
			LSHOP_ORDER_ID_MAX ||
		    strlen(json_string_value(json_array_get(e, 0))) !=
			json_string_length(json_array_get(e, 0)) ||
		    !json_is_array(items) ||
		    json_array_size(items) > LSHOP_ORDER_ITEMS_MAX)
			goto bad;
		if (kept_find(s, json_string_value(json_array_get(e, 0))))
			continue; /* listed twice: the first stays */
		if (r->kept_orders >= LSHOP_REPORT_REFUND_ORDERS_MAX ||
		    r->kept_items + json_array_size(items) >
			LSHOP_REPORT_REFUND_ITEMS_MAX) {
			r->orders_unkept++;
			continue;
		}
		if (kept_grow(s) != 0)
			return no_memory(err);
		k = &s->kept[s->nkept];
		m = json_array_size(items);
		k->id = strdup(json_string_value(json_array_get(e, 0)));
		k->items = m ? calloc(m, sizeof(*k->items)) : NULL;
		k->nitems = m;
		if (k->id == NULL || (m && k->items == NULL)) {
			free(k->id);
			free(k->items);
			return no_memory(err);
		}
		*kept_slot(s, k->id) = ++s->nkept; /* freed with s */
		r->kept_orders++;
		r->kept_items += m;
		for (j = 0; j < m; j++) {
			x = json_array_get(items, j);
			if (json_array_size(x) != 3 ||
			    !json_is_integer(json_array_get(x, 0)) ||
			    !json_is_integer(json_array_get(x, 1)) ||
			    !json_is_integer(json_array_get(x, 2)))
				goto bad;
			n[0] = json_integer_value(json_array_get(x, 0));
			n[1] = json_integer_value(json_array_get(x, 1));
			n[2] = json_integer_value(json_array_get(x, 2));
			if (n[0] < 0 || n[0] >= (int64_t)s->ncrows ||
			    n[1] < 0 || n[2] < 0 || n[2] > n[1])
				goto bad;
			k->items[j].row = (size_t)n[0];
			k->items[j].amount = n[1];
			k->items[j].refunded = n[2];
		}
	}
	return 0;
bad:
	lshop_error_set(err, "invalid_field", "report.shows.kept",
			"report.shows.kept must list [ORDER_ID, [[ROW, AMOUNT, "
			"REFUNDED], ...]] arrays, ROW a row of the show and "
			"REFUNDED at most AMOUNT");
	return -1;
}

/* A show's commission rate and rows; a ledger from before has none. */
static int crows_restore(lshop_report *r, const json_t *v, show_rec *s,
			 lshop_error *err)
{
	const char *p = "report.shows.";
	const json_t *crows, *e;
	commission_row *c;
	int64_t n[3];
	size_t i, k;

	s->commission = -1;
	if (json_object_get(v, "crows") == NULL)
		return 0;
	if (carry_int(v, p, "commission", -1, LSHOP_COMMISSION_MAX,
		      &s->commission, err) ||
	    carry_bool(v, p, "crows_full", &s->crows_full, err) ||
	    (crows = carry_array(
		 v, p, "crows", LSHOP_REPORT_COMMISSION_ROWS_MAX, err)) == NULL)
		return -1;
	if (json_array_size(crows) > 0) {
		s->crows = calloc(json_array_size(crows), sizeof(*s->crows));
		if (s->crows == NULL)
			return no_memory(err);
		s->crows_cap = json_array_size(crows);
	}
	for (i = 0; i < json_array_size(crows); i++) {
		e = json_array_get(crows, i);
		for (k = 0; k < 3; k++) {
			n[k] = json_integer_value(json_array_get(e, k));
			if (!json_is_integer(json_array_get(e, k)) || n[k] < 0)
				break;
		}
		/* REFUNDED: not in a ledger from before refunds */
		if ((json_array_size(e) != 4 && json_array_size(e) != 5) ||
		    k < 3 || n[0] >= (int64_t)r->noffers ||
		    n[1] > RATE_OFFER || n[2] > LSHOP_COMMISSION_MAX) {
			lshop_error_set(err, "invalid_field",
					"report.shows.crows",
					"report.shows.crows must list [OFFER, "
					"SOURCE, RATE, REVENUE, REFUNDED] "
					"arrays");
			return -1;
		}
		c = &s->crows[i];
		c->offer = (size_t)n[0];
		c->source = (int)n[1];
		c->rate = n[2];
		money_init(&c->refunded);
		if (money_restore(json_array_get(e, 3),
				  "report.shows.crows.revenue", &c->revenue,
				  err) ||
		    (json_array_size(e) == 5 &&
		     money_restore(json_array_get(e, 4),
				   "report.shows.crows.refunded",
				   &c->refunded, err)))
			return -1;
		memcpy(c->refunded.currency, c->revenue.currency, 4);
		s->ncrows = i + 1;
	}
	return kept_restore(r, v, s, err);
}

static int show_restore(lshop_report *r, const json_t *v, lshop_error *err)
{
	const char *p = "report.shows.";
	const json_t *gmv, *offers, *pins, *e;
	show_rec *s;
	int64_t n[4];
	size_t i;

	if (carry_object(v, "report.shows", err))
		return -1;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return no_memory(err);
	r->shows[r->nshows++] = s; /* freed with r from here on */
	if (carry_text(v, p, "id", s->id, sizeof(s->id), err) ||
	    carry_text(v, p, "series", s->series, sizeof(s->series), err) ||
	    carry_text(v, p, "title", s->title, sizeof(s->title), err) ||
	    carry_text(v, p, "host", s->host, sizeof(s->host), err) ||
	    carry_int(v, p, "started_ms", INT64_MIN, INT64_MAX, &s->started_ms,
		      err) ||
	    carry_int(v, p, "ended_ms", INT64_MIN, INT64_MAX, &s->ended_ms,
		      err) ||
	    carry_int(v, p, "orders", 0, INT64_MAX, &s->orders, err) ||
	    carry_int(v, p, "units", 0, INT64_MAX, &s->units, err) ||
	    (gmv = carry_array(v, p, "gmv", LSHOP_REPORT_CURRENCIES_MAX,
			       err)) == NULL ||
	    carry_bool(v, p, "gmv_unknown", &s->gmv_unknown, err) ||
	    carry_int(v, p, "sponsored_pins", 0, INT64_MAX, &s->sponsored_pins,
		      err) ||
	    carry_int(v, p, "sponsored_ms", 0, INT64_MAX, &s->sponsored_ms,
		      err) ||
	    carry_int(v, p, "disclosed_ms", 0, INT64_MAX, &s->disclosed_ms,
		      err) ||
	    tally_restore(json_object_get(v, "audience"),
			  "report.shows.audience", &s->audience, err) ||
	    (offers = carry_array(v, p, "offers", r->noffers, err)) == NULL ||
	    (pins = carry_array(v, p, "pins", LSHOP_REPORT_PIN_SPANS_MAX,
				err)) == NULL)
		return -1;
	for (i = 0; i < json_array_size(gmv); i++)
		if (money_restore(json_array_get(gmv, i), "report.shows.gmv",
				  &s->gmv[s->ngmv++], err))
			return -1;
	if (json_array_size(offers) > 0) {
		s->offers = calloc(json_array_size(offers), sizeof(*s->offers));
		if (s->offers == NULL)
			return no_memory(err);
		s->offers_cap = s->noffers = json_array_size(offers);
	}
	for (i = 0; i < s->noffers; i++)
		if (show_offer_restore(r, json_array_get(offers, i),
				       &s->offers[i], err))
			return -1;
	if (points_restore(json_object_get(v, "viewers"),
			   "report.shows.viewers", &s->viewers, 0,
			   LSHOP_REPORT_VIEWER_POINTS_MAX, err) ||
	    points_restore(json_object_get(v, "order_points"),
			   "report.shows.order_points", &s->order_points, 1,
			   LSHOP_REPORT_ORDER_POINTS_MAX, err))
		return -1;
	if (json_array_size(pins) > 0) {
		s->pins = calloc(json_array_size(pins), sizeof(*s->pins));
		if (s->pins == NULL)
			return no_memory(err);
		s->pins_cap = json_array_size(pins);
	}
	for (i = 0; i < json_array_size(pins); i++) {
		e = json_array_get(pins, i);
		if (json_array_size(e) != 4 ||
		    !json_is_integer(json_array_get(e, 0)) ||
		    !json_is_integer(json_array_get(e, 1)) ||
		    !json_is_integer(json_array_get(e, 2)) ||
		    !json_is_boolean(json_array_get(e, 3)) ||
		    (n[0] = json_integer_value(json_array_get(e, 0))) < 0 ||
		    n[0] >= (int64_t)r->noffers) {
			lshop_error_set(err, "invalid_field",
					"report.shows.pins",
					"report.shows.pins must list [OFFER, "
					"START, END, OPEN] arrays");
			return -1;
		}
		s->pins[i].offer = (size_t)n[0];
		s->pins[i].start_ms = json_integer_value(json_array_get(e, 1));
		s->pins[i].end_ms = json_integer_value(json_array_get(e, 2));
		s->pins[i].open = json_is_true(json_array_get(e, 3));
		s->npins = i + 1;
	}
	return crows_restore(r, v, s, err);
}

static int offer_restore(lshop_report *r, const json_t *v, lshop_error *err)
{
	const char *p = "report.offers.";
	const json_t *aud = json_object_get(v, "audience");
	offer_rec rec, *o;
	int64_t n;

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
	    carry_text(v, p, "revenue_currency", rec.revenue.currency,
		       sizeof(rec.revenue.currency), err) ||
	    carry_int(v, p, "decimals", -1, 4, &n, err) ||
	    carry_bool(v, p, "revenue_unknown", &rec.revenue.unknown, err) ||
	    carry_limbs(json_object_get(v, "revenue"), "report.offers.revenue",
			rec.revenue.v, err))
		return -1;
	rec.revenue.decimals = (int)n;
	/* a ledger from before commissions has no rate */
	rec.commission = -1;
	if (json_object_get(v, "commission") != NULL &&
	    carry_int(v, p, "commission", -1, LSHOP_COMMISSION_MAX,
		      &rec.commission, err))
		return -1;
	/* a ledger from before audience figures has none */
	if (aud != NULL &&
	    tally_restore(aud, "report.offers.audience", &rec.audience, err)) {
		free(rec.audience.unique);
		return -1;
	}
	o = offer_of(r, rec.id);
	if (o == NULL) {
		free(rec.audience.unique);
		return no_memory(err);
	}
	free(o->audience.unique); /* the id listed twice: the last wins */
	*o = rec;
	return 0;
}

int lshop_report_restore(lshop_report *r, const json_t *v, lshop_error *err)
{
	const char *p = "report.";
	json_t *offers = json_object_get(v, "offers");
	const json_t *shows, *gap, *e;
	int64_t n, on_air, g[4];
	size_t i, k;

	if (!json_is_object(v) || !json_is_array(offers)) {
		lshop_error_set(err, "invalid_field", "report",
				"report must be a JSON object with offers");
		return -1;
	}
	report_clear(r);
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
	    carry_int(v, p, "sponsored_pins", 0, INT64_MAX, &r->sponsored_pins,
		      err) ||
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

	/* A ledger written before shows has none of what follows. */
	if (json_object_get(v, "last_at_ms") != NULL &&
	    carry_int(v, p, "last_at_ms", INT64_MIN, INT64_MAX, &r->last_at_ms,
		      err))
		return -1;
	if (json_object_get(v, "shows") != NULL) {
		shows = carry_array(v, p, "shows", LSHOP_REPORT_SHOWS_MAX, err);
		if (shows == NULL)
			return -1;
		for (i = 0; i < json_array_size(shows); i++)
			if (show_restore(r, json_array_get(shows, i), err))
				return -1;
		if (carry_int(v, p, "on_air", -1, (int64_t)r->nshows - 1,
			      &on_air, err) ||
		    carry_int(v, p, "show_pin_from", INT64_MIN, INT64_MAX,
			      &r->show_pin_from, err))
			return -1;
		r->on_air = on_air >= 0 ? r->shows[on_air] : NULL;
	}
	if (json_object_get(v, "gap") != NULL) {
		gap = carry_array(v, p, "gap", LSHOP_AUDIENCE_OFFERS_MAX, err);
		if (gap == NULL)
			return -1;
		for (i = 0; i < json_array_size(gap); i++) {
			e = json_array_get(gap, i);
			for (k = 0; k < 4; k++) {
				g[k] = json_integer_value(json_array_get(e, k));
				if (!json_is_integer(json_array_get(e, k)) ||
				    g[k] < 0)
					break;
			}
			if (json_array_size(e) != 4 || k < 4 ||
			    g[0] >= (int64_t)r->noffers) {
				lshop_error_set(err, "invalid_field",
						"report.gap",
						"report.gap must list [OFFER, "
						"WATCH_MS, IMPRESSIONS, "
						"CLICKS] arrays");
				return -1;
			}
			r->gap[i].offer = (size_t)g[0];
			r->gap[i].last.watch_ms = g[1];
			r->gap[i].last.impressions = g[2];
			r->gap[i].last.clicks = g[3];
			r->ngap = i + 1;
		}
		if (carry_counts(json_object_get(v, "gap_last"), p, "gap_last",
				 &r->gap_last, err))
			return -1;
	}
	/* a ledger from before refunds has no counts of them */
	e = json_object_get(v, "refunds");
	if (e != NULL) {
		for (k = 0; k < 3; k++) {
			g[k] = json_integer_value(json_array_get(e, k));
			if (!json_is_integer(json_array_get(e, k)) || g[k] < 0)
				break;
		}
		if (json_array_size(e) != 3 || k < 3) {
			lshop_error_set(err, "invalid_field", "report.refunds",
					"report.refunds must be [REFUNDS, "
					"UNMATCHED, ORDERS_NOT_KEPT]");
			return -1;
		}
		r->refunds = g[0];
		r->refunds_unmatched = g[1];
		r->orders_unkept += g[2];
	}
	return 0;
}
