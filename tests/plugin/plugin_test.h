/*
 * Helpers of the plugin's unit tests: offers, a catalog and a state as
 * the server writes them (with the core's own serializers).
 */
#ifndef PLUGIN_TEST_H
#define PLUGIN_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <lshop/offer.h>
#include <lshop/show.h>
#include <lshop/state.h>

#define T0     INT64_C(1795514400123) /* 2026-11-24T10:00:00.123Z */
#define STREAM "live/demo"

static inline lshop_offer make_offer(const char *id, const char *disclosure,
				     int64_t stock)
{
	lshop_offer o;

	memset(&o, 0, sizeof(o));
	snprintf(o.id, sizeof(o.id), "%s", id);
	snprintf(o.title, sizeof(o.title), "Title of %s", id);
	strcpy(o.price, "19.99");
	strcpy(o.currency, "EUR");
	o.stock = stock;
	snprintf(o.url, sizeof(o.url), "https://shop.example/p/%s", id);
	if (disclosure != NULL)
		snprintf(o.disclosure, sizeof(o.disclosure), "%s", disclosure);
	return o;
}

/* {"offers":[...]} of n offers: a (plain, stock 5), b ("ad"), c... */
static inline char *catalog_json(size_t n)
{
	size_t cap = 256 + n * 400, len, i;
	char *out = malloc(cap), *o, id[16];
	lshop_offer offer;

	assert_non_null(out);
	strcpy(out, "{\"offers\":[");
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%c%zu", (char)('a' + i % 26), i / 26);
		if (i < 26)
			id[1] = '\0';
		offer = make_offer(id, i == 1 ? "ad" : NULL,
				   i == 0 ? 5 : LSHOP_STOCK_UNLIMITED);
		o = lshop_offer_to_json(&offer, &len);
		assert_non_null(o);
		assert_true(strlen(out) + len + 4 < cap);
		if (i)
			strcat(out, ",");
		strcat(out, o);
		free(o);
	}
	strcat(out, "]}");
	return out;
}

/* The state's JSON after applying evs (numbered from st->seq + 1). */
static inline void apply_all(lshop_state *st, lshop_event *evs, size_t n)
{
	lshop_error err;
	size_t i;

	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		evs[i].seq = st->seq + 1;
		strcpy(evs[i].stream, STREAM);
		assert_int_equal(lshop_state_apply(st, &evs[i], &err), 0);
	}
}

/* A broadcast on air, as show.started carries it. */
static inline lshop_show make_show(const char *id, const char *title)
{
	lshop_show s;

	memset(&s, 0, sizeof(s));
	snprintf(s.id, sizeof(s.id), "%s", id);
	strcpy(s.series, "weekly");
	snprintf(s.title, sizeof(s.title), "%s", title);
	s.starts_at_ms = T0;
	s.duration_s = 3600;
	return s;
}

/* The events of show going on air (after the one on air ends). */
static inline size_t plan_show(const lshop_state *st, const char *id,
			       const char *title, int64_t at_ms,
			       lshop_event out[LSHOP_PLAN_MAX])
{
	lshop_show show = make_show(id, title);
	lshop_error err;
	size_t n;

	memset(out, 0, sizeof(lshop_event) * LSHOP_PLAN_MAX);
	n = lshop_state_plan_show_start(st, &show, at_ms, out, &err);
	if (n == 0)
		fail_msg("plan_show_start: %s", err.message);
	return n;
}

/* A purchase.completed of seq, unapplied. */
static inline lshop_event purchase_event(uint64_t seq, const char *offer_id,
					 int64_t quantity)
{
	lshop_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.seq = seq;
	strcpy(ev.stream, STREAM);
	ev.type = LSHOP_PURCHASE_COMPLETED;
	ev.at_ms = T0 + (int64_t)seq;
	snprintf(ev.offer_id, sizeof(ev.offer_id), "%s", offer_id);
	ev.quantity = quantity;
	return ev;
}

/* A viewer's question as question.pinned carries it. */
static inline lshop_question make_question(const char *id, const char *text,
					   const char *name, const char *answer)
{
	lshop_question q;

	memset(&q, 0, sizeof(q));
	snprintf(q.id, sizeof(q.id), "%s", id);
	snprintf(q.text, sizeof(q.text), "%s", text);
	snprintf(q.name, sizeof(q.name), "%s", name ? name : "");
	snprintf(q.answer, sizeof(q.answer), "%s", answer ? answer : "");
	return q;
}

/* A poll of two to four options, as poll.started carries it. */
static inline lshop_poll make_poll(const char *id, const char *question, int n,
				   const char *const *options)
{
	lshop_poll p;
	int i;

	memset(&p, 0, sizeof(p));
	snprintf(p.id, sizeof(p.id), "%s", id);
	snprintf(p.question, sizeof(p.question), "%s", question);
	for (i = 0; i < n; i++)
		snprintf(p.options[i], sizeof(p.options[i]), "%s", options[i]);
	p.options_n = n;
	return p;
}

static inline char *state_json(const lshop_state *st)
{
	char *s = lshop_state_to_json(st, STREAM, T0, NULL, 0, NULL);

	assert_non_null(s);
	return s;
}

#endif
