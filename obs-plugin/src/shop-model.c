/*
 * live-shop OBS plugin: the local picture of a stream and the queue of
 * the host's actions (see shop-model.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <lshop/time.h>

#include "shop-model.h"

#define ALL_ENTRIES UINT64_MAX

_Static_assert(SHOP_CATALOG_MAX <= 64, "cat_dirty holds a bit per entry");

/* s truncated to cap - 1 bytes (snprintf's result, without its cost) */
static void copy_str(char *out, size_t cap, const char *s)
{
	size_t n = s ? strnlen(s, cap - 1) : 0;

	memcpy(out, s ? s : "", n);
	out[n] = '\0';
}

shop_model *shop_model_new(const char *stream, const char *locale)
{
	shop_model *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->cat = calloc(1, sizeof(*m->cat));
	m->questions = calloc(1, sizeof(*m->questions));
	if (m->cat == NULL || m->questions == NULL) {
		free(m->cat);
		free(m->questions);
		free(m);
		return NULL;
	}
	shop_model_reset(m, stream, locale);
	return m;
}

void shop_model_free(shop_model *m)
{
	if (m == NULL)
		return;
	free(m->cat);
	free(m->questions);
	free(m);
}

size_t shop_model_reset(shop_model *m, const char *stream, const char *locale)
{
	size_t dropped = m->qlen;
	shop_parsed_catalog *cat = m->cat;
	shop_questions *questions = m->questions;
	uint64_t qgen = questions->generation;

	memset(m, 0, sizeof(*m));
	m->cat = cat;
	memset(questions, 0, sizeof(*questions));
	questions->generation = qgen + 1;
	m->questions = questions;
	cat->n = 0;
	m->catalog = cat->offers;
	m->cat_dirty = ALL_ENTRIES;
	copy_str(m->stream, sizeof(m->stream), stream);
	copy_str(m->locale, sizeof(m->locale), locale);
	lshop_state_init(&m->server);
	lshop_state_init(&m->local);
	return dropped;
}

const lshop_offer *shop_model_offer(const shop_model *m, const char *id)
{
	size_t i;

	for (i = 0; i < m->ncatalog; i++)
		if (strcmp(m->catalog[i].id, id) == 0)
			return &m->catalog[i];
	if (m->local.pinned && strcmp(m->local.offer.id, id) == 0)
		return &m->local.offer;
	if (m->server.pinned && strcmp(m->server.offer.id, id) == 0)
		return &m->server.offer;
	return NULL;
}

static shop_action *queue_at(shop_model *m, size_t i)
{
	return &m->queue[(m->qhead + i) % SHOP_QUEUE_MAX];
}

static const shop_action *queue_at_const(const shop_model *m, size_t i)
{
	return &m->queue[(m->qhead + i) % SHOP_QUEUE_MAX];
}

/* The events a makes on st (the core's rules); 0 with err if refused. */
static size_t plan(const lshop_state *st, const shop_action *a,
		   const char *locale, lshop_event out[LSHOP_PLAN_MAX],
		   lshop_error *err)
{
	switch (a->type) {
	case SHOP_ACTION_PIN:
		return lshop_state_plan_pin(st, &a->offer, a->at_ms, 0, locale,
					    out, err);
	case SHOP_ACTION_UNPIN:
		return lshop_state_plan_unpin(st, a->at_ms, out, err);
	case SHOP_ACTION_COUNTDOWN:
		return lshop_state_plan_countdown(
		    st, a->at_ms, a->seconds, a->label, a->offer_id, out, err);
	case SHOP_ACTION_DISCLOSE:
		return lshop_state_plan_disclose(st, a->at_ms, a->kind, a->text,
						 locale, out, err);
	case SHOP_ACTION_HIDE:
		return lshop_state_plan_hide(st, a->at_ms, out, err);
	case SHOP_ACTION_STOP_COUNTDOWN:
		return lshop_state_plan_countdown_stop(st, a->at_ms, out, err);
	case SHOP_ACTION_QUESTION_PIN:
	case SHOP_ACTION_ANSWER_PIN:
		return lshop_state_plan_question_pin(st, &a->question, a->at_ms,
						     out, err);
	case SHOP_ACTION_QUESTION_UNPIN:
		return lshop_state_plan_question_unpin(st, a->at_ms, out, err);
	case SHOP_ACTION_POLL_START:
		return lshop_state_plan_poll_start(st, &a->poll, a->seconds,
						   a->at_ms, out, err);
	case SHOP_ACTION_POLL_END:
		/* any: the id it had may be SHOP_POLL_NEW_ID or the server's */
		return lshop_state_plan_poll_end(st, NULL, a->at_ms, out, err);
	case SHOP_ACTION_QUESTION_DISMISS:
	case SHOP_ACTION_QUESTION_BLOCK:
		break;
	}
	lshop_error_set(err, "invalid_action", "", "unknown action %d",
			(int)a->type);
	return 0;
}

/* Plans a on st and applies its events; 0, or -1 with err (st as was). */
static int plan_apply(lshop_state *st, const shop_action *a, const char *locale,
		      const char *stream, lshop_error *err)
{
	lshop_event ev[LSHOP_PLAN_MAX];
	lshop_state next = *st;
	size_t n, i;

	if (!shop_action_makes_event(a->type))
		return 0; /* the waiting queue's, not the timeline's */
	n = plan(st, a, locale, ev, err);
	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		ev[i].seq = next.seq + 1;
		copy_str(ev[i].stream, sizeof(ev[i].stream), stream);
		if (lshop_state_apply(&next, &ev[i], err))
			return -1;
	}
	*st = next;
	return 0;
}

/*
 * local = server + the queue. Answered actions whose events the server
 * state holds are dropped; an action the rules now refuse (someone else
 * changed the stream) is left out of the picture but stays queued: the
 * server says the last word on it.
 */
static void rebuild(shop_model *m)
{
	lshop_error err;
	size_t i;

	while (m->qlen > 0 && queue_at(m, 0)->answered_seq != 0 &&
	       queue_at(m, 0)->answered_seq <= m->server.seq) {
		m->qhead = (m->qhead + 1) % SHOP_QUEUE_MAX;
		m->qlen--;
	}
	m->local = m->server;
	for (i = 0; i < m->qlen; i++)
		plan_apply(&m->local, queue_at(m, i), m->locale, m->stream,
			   &err);
}

int shop_action_makes_event(shop_action_type type)
{
	return type != SHOP_ACTION_QUESTION_DISMISS &&
	       type != SHOP_ACTION_QUESTION_BLOCK;
}

static int gone(const shop_model *m, const shop_waiting_question *q)
{
	size_t i;

	for (i = 0; i < SHOP_GONE_MAX; i++)
		if (strcmp(m->gone_id[i], q->id) == 0 ||
		    (m->gone_session[i][0] &&
		     strcmp(m->gone_session[i], q->session) == 0))
			return 1;
	return 0;
}

/* Leaves out of the waiting list what is gone (in place). */
static void drop_gone(shop_model *m)
{
	shop_questions *qs = m->questions;
	size_t i, j = 0;

	for (i = 0; i < qs->n; i++)
		if (!gone(m, &qs->q[i])) {
			if (i != j)
				qs->q[j] = qs->q[i];
			j++;
		}
	if (j != qs->n) {
		qs->n = j;
		qs->generation++;
	}
}

/* A pin, dismiss or block takes its question out of the waiting list
 * at once; a block all of its asker's. */
static void take_out(shop_model *m, const shop_action *a)
{
	size_t i = m->gone_next;

	if (a->type != SHOP_ACTION_QUESTION_PIN &&
	    a->type != SHOP_ACTION_QUESTION_DISMISS &&
	    a->type != SHOP_ACTION_QUESTION_BLOCK)
		return;
	copy_str(m->gone_id[i], sizeof(m->gone_id[i]), a->question.id);
	copy_str(m->gone_session[i], sizeof(m->gone_session[i]),
		 a->type == SHOP_ACTION_QUESTION_BLOCK ? a->session : "");
	m->gone_next = (i + 1) % SHOP_GONE_MAX;
	drop_gone(m);
}

int shop_model_act(shop_model *m, const shop_action *a, lshop_error *err)
{
	if (m->qlen >= SHOP_QUEUE_MAX) {
		lshop_error_set(err, "queue_full", "",
				"%d actions wait for the server already; "
				"nothing more is kept until it answers",
				SHOP_QUEUE_MAX);
		return -1;
	}
	if (plan_apply(&m->local, a, m->locale, m->stream, err))
		return -1;
	take_out(m, a);
	if (a->type == SHOP_ACTION_POLL_END)
		m->poll_end_pressed_ms = a->at_ms;
	*queue_at(m, m->qlen) = *a;
	queue_at(m, m->qlen)->answered_seq = 0;
	m->qlen++;
	return 0;
}

/* Index of the first unanswered action; qlen when none. */
static size_t next_index(const shop_model *m)
{
	size_t i = 0;

	while (i < m->qlen && queue_at_const(m, i)->answered_seq != 0)
		i++;
	return i;
}

size_t shop_model_pending(const shop_model *m)
{
	return m->qlen - next_index(m);
}

shop_action *shop_model_next(shop_model *m)
{
	size_t i = next_index(m);

	return i < m->qlen ? queue_at(m, i) : NULL;
}

void shop_model_answered(shop_model *m, uint64_t seq)
{
	shop_action *a = shop_model_next(m);

	if (a == NULL)
		return;
	if (!shop_action_makes_event(a->type)) {
		/* nothing of it will come through the stream */
		shop_model_drop_next(m);
		return;
	}
	/* seq 0 would read as unanswered; an answer without one is held
	 * until the state passes the seq it had */
	a->answered_seq = seq ? seq : m->server.seq + 1;
	rebuild(m);
}

void shop_model_poll_named(shop_model *m, const char *poll_id)
{
	size_t i;
	shop_action *a;

	/* the ends queued after the start being answered, up to the next
	 * start */
	for (i = next_index(m) + 1; i < m->qlen; i++) {
		a = queue_at(m, i);
		if (a->type == SHOP_ACTION_POLL_START)
			break;
		if (a->type == SHOP_ACTION_POLL_END &&
		    strcmp(a->poll.id, SHOP_POLL_NEW_ID) == 0)
			copy_str(a->poll.id, sizeof(a->poll.id), poll_id);
	}
}

void shop_model_drop_next(shop_model *m)
{
	size_t i = next_index(m), j;

	if (i >= m->qlen)
		return;
	for (j = i; j + 1 < m->qlen; j++)
		*queue_at(m, j) = *queue_at(m, j + 1);
	m->qlen--;
	rebuild(m);
}

/*
 * The stock map is kept sorted by offer id (the parser sorts it, outside
 * the lock), so that the view's 64 entries find theirs by bisection
 * rather than by reading up to 1,024 entries each under the lock.
 */
static int stock_cmp(const void *a, const void *b)
{
	return strcmp(((const lshop_stock_value *)a)->offer_id,
		      ((const lshop_stock_value *)b)->offer_id);
}

/* The index of id in the map, or where it would go (*found 0). */
static size_t stock_index(const shop_model *m, const char *id, int *found)
{
	size_t lo = 0, hi = m->nstock, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(m->stock[mid].offer_id, id);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

static int64_t stock_of(const shop_model *m, const lshop_offer *o)
{
	int found;
	size_t i = stock_index(m, o->id, &found);

	return found ? m->stock[i].stock : o->stock;
}

int shop_state_parse(const char *json, size_t len, shop_parsed_state *out,
		     lshop_error *err)
{
	if (lshop_state_parse(json, len, &out->st, out->stream, out->stock,
			      SHOP_STOCK_MAX, &out->nstock, err))
		return -1;
	qsort(out->stock, out->nstock, sizeof(out->stock[0]), stock_cmp);
	return 0;
}

static int64_t votes_of(const lshop_poll *p)
{
	int64_t n = 0;
	int i;

	for (i = 0; i < p->options_n && i < LSHOP_POLL_OPTIONS_MAX; i++)
		n += p->counts[i];
	return n;
}

int shop_model_put_state(shop_model *m, const shop_parsed_state *ps, int force,
			 lshop_error *err)
{
	if (strcmp(ps->stream, m->stream) != 0) {
		lshop_error_set(err, "invalid_field", "stream",
				"the state is of stream \"%s\", not \"%s\"",
				ps->stream, m->stream);
		return -1;
	}
	if (m->have_state && ps->st.seq < m->server.seq && !force)
		return 0;
	m->server = ps->st;
	memcpy(m->stock, ps->stock, ps->nstock * sizeof(ps->stock[0]));
	m->nstock = ps->nstock;
	m->have_state = 1;
	m->cat_dirty = ALL_ENTRIES; /* any stock may have moved */
	if (m->server.poll_live) {
		m->have_last_poll = 0;
		m->poll_votes = votes_of(&m->server.poll);
	}
	rebuild(m);
	return 0;
}

int shop_model_set_state(shop_model *m, const char *json, size_t len, int force,
			 lshop_error *err)
{
	shop_parsed_state *ps = malloc(sizeof(*ps));
	int rc = -1;

	if (ps == NULL) {
		lshop_error_set(err, "enomem", "", "out of memory");
		return -1;
	}
	if (shop_state_parse(json, len, ps, err) == 0)
		rc = shop_model_put_state(m, ps, force, err);
	free(ps);
	return rc;
}

static void set_stock(shop_model *m, const char *id, int64_t stock)
{
	int found;
	size_t i = stock_index(m, id, &found);

	if (!found) {
		if (m->nstock >= SHOP_STOCK_MAX)
			return;
		memmove(&m->stock[i + 1], &m->stock[i],
			(m->nstock - i) * sizeof(m->stock[0]));
		m->nstock++;
		copy_str(m->stock[i].offer_id, sizeof(m->stock[i].offer_id),
			 id);
	}
	m->stock[i].stock = stock;
}

/* 1 if id is in the catalog; its entries' view moves (dirty) */
static int in_catalog(shop_model *m, const char *id)
{
	int found = 0;
	size_t i;

	for (i = 0; i < m->ncatalog; i++)
		if (strcmp(m->catalog[i].id, id) == 0) {
			m->cat_dirty |= (uint64_t)1 << i;
			found = 1;
		}
	return found;
}

/* The view's entry of o, but its stock (the state's map says that). */
static void entry_of(shop_catalog_entry *c, const lshop_offer *o)
{
	copy_str(c->id, sizeof(c->id), o->id);
	copy_str(c->title, sizeof(c->title), o->title);
	copy_str(c->price, sizeof(c->price), o->price);
	copy_str(c->currency, sizeof(c->currency), o->currency);
	c->stock = o->stock;
	copy_str(c->disclosure, sizeof(c->disclosure), o->disclosure);
}

int shop_model_apply_event(shop_model *m, const lshop_event *ev)
{
	lshop_error err;
	lshop_state next;
	int flags = 0;
	size_t i;

	if (!m->have_state || ev->seq > m->server.seq + 1)
		return SHOP_EVENT_GAP;
	if (ev->seq <= m->server.seq)
		return 0;
	next = m->server;
	if (lshop_state_apply(&next, ev, &err))
		return SHOP_EVENT_GAP;
	if (ev->type == LSHOP_POLL_ENDED && m->server.poll_live) {
		/* the poll as it ran, with the event's final counts */
		m->last_poll = m->server.poll;
		memcpy(m->last_poll.counts, ev->poll.counts,
		       sizeof(m->last_poll.counts));
		m->last_poll_ended_ms = ev->at_ms;
		m->have_last_poll = 1;
	} else if (ev->type == LSHOP_POLL_STARTED) {
		m->have_last_poll = 0;
		m->poll_votes = 0;
	}
	m->server = next;
	switch (ev->type) {
	case LSHOP_OFFER_PINNED:
		/* the event carries the offer as it is now */
		for (i = 0; i < m->ncatalog; i++)
			if (strcmp(m->catalog[i].id, ev->offer.id) == 0) {
				m->catalog[i] = ev->offer;
				entry_of(&m->cat->entries[i], &ev->offer);
			}
		if (!in_catalog(m, ev->offer.id))
			flags |= SHOP_EVENT_CATALOG;
		break;
	case LSHOP_STOCK_CHANGED:
	case LSHOP_OFFER_SOLD_OUT:
		set_stock(m, ev->offer_id,
			  ev->type == LSHOP_OFFER_SOLD_OUT ? 0 : ev->stock);
		if (!in_catalog(m, ev->offer_id))
			flags |= SHOP_EVENT_CATALOG;
		break;
	case LSHOP_PURCHASE_COMPLETED:
		memmove(&m->purchases[1], &m->purchases[0],
			sizeof(m->purchases[0]) * (SHOP_PURCHASES_MAX - 1));
		copy_str(m->purchases[0].offer_id,
			 sizeof(m->purchases[0].offer_id), ev->offer_id);
		m->purchases[0].quantity = ev->quantity;
		m->purchases[0].at_ms = ev->at_ms;
		if (m->npurchases < SHOP_PURCHASES_MAX)
			m->npurchases++;
		flags |= SHOP_EVENT_SALE;
		break;
	default:
		break;
	}
	rebuild(m);
	return flags;
}

int shop_audience_parse(const char *json, size_t len, int64_t *viewers,
			lshop_error *err)
{
	json_error_t jerr;
	json_t *v = json_loadb(json, len, 0, &jerr), *n;
	int rc = -1;

	if (v == NULL) {
		lshop_error_set(err, "invalid_json", "",
				"the audience message is not JSON: %s",
				jerr.text);
		return -1;
	}
	n = json_object_get(v, "viewers");
	if (!json_is_integer(n) || json_integer_value(n) < 0)
		lshop_error_set(err, "invalid_field", "viewers",
				"the audience message must be "
				"{\"viewers\":N}, N a whole number >= 0");
	else {
		*viewers = json_integer_value(n);
		rc = 0;
	}
	json_decref(v);
	return rc;
}

int shop_model_set_viewers(shop_model *m, int64_t viewers)
{
	if (m->server.viewers == viewers && m->local.viewers == viewers)
		return 0;
	/* local is server + the queue: no action moves the viewers */
	m->server.viewers = viewers;
	m->local.viewers = viewers;
	return 1;
}

const char *shop_model_show_on_air(const shop_model *m)
{
	return m->server.show_live ? m->server.show.id : NULL;
}

/* An amount as the report writes it: digits, maybe a fraction. */
static int money_valid(const char *s)
{
	size_t i = s[0] == '-', digits = 0, point = 0;

	for (; s[i]; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else if (s[i] == '.' && digits > 0 && !point)
			point = i;
		else
			return 0;
	}
	return digits > 0 && i <= SHOP_MONEY_MAX && (!point || s[point + 1]);
}

static int currency_valid(const char *s)
{
	return strlen(s) == 3 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' &&
	       s[1] <= 'Z' && s[2] >= 'A' && s[2] <= 'Z';
}

static int money_cmp(const void *a, const void *b)
{
	return strcmp(((const shop_money *)a)->currency,
		      ((const shop_money *)b)->currency);
}

/* A count of the show object: a whole number >= 0. */
static int count_of(const json_t *show, const char *key, int64_t *out,
		    lshop_error *err)
{
	const json_t *n = json_object_get(show, key);

	if (!json_is_integer(n) || json_integer_value(n) < 0) {
		lshop_error_set(err, "invalid_field", key,
				"the report's show.%s must be a whole number "
				">= 0",
				key);
		return -1;
	}
	*out = json_integer_value(n);
	return 0;
}

/* "gmv_by_currency": {"EUR":"1.00","USD":"2.00"}, sorted by currency. */
static int gmv_by_currency(const json_t *by, shop_show_sales *out,
			   lshop_error *err)
{
	const char *cur;
	json_t *amount;

	json_object_foreach((json_t *)by, cur, amount)
	{
		if (!currency_valid(cur) || !json_is_string(amount) ||
		    !money_valid(json_string_value(amount))) {
			lshop_error_set(err, "invalid_field", "gmv_by_currency",
					"the report's show.gmv_by_currency "
					"must map currency codes to amounts "
					"(\"%.8s\" does not)",
					cur);
			return -1;
		}
		if (out->ngmv == SHOP_GMV_CURRENCIES_MAX) {
			out->ngmv = 0; /* a part of the sum would mislead */
			return 0;
		}
		copy_str(out->gmv[out->ngmv].currency,
			 sizeof(out->gmv[0].currency), cur);
		copy_str(out->gmv[out->ngmv].amount, sizeof(out->gmv[0].amount),
			 json_string_value(amount));
		out->ngmv++;
	}
	qsort(out->gmv, out->ngmv, sizeof(out->gmv[0]), money_cmp);
	return 0;
}

int shop_report_parse(const char *json, size_t len, shop_show_sales *out,
		      lshop_error *err)
{
	json_error_t jerr;
	json_t *v = json_loadb(json, len, 0, &jerr), *show, *gmv, *cur, *by;
	const char *id;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (v == NULL) {
		lshop_error_set(err, "invalid_json", "",
				"the report is not JSON: %s (line %d)",
				jerr.text, jerr.line);
		return -1;
	}
	show = json_object_get(v, "show");
	id = json_string_value(json_object_get(show, "id"));
	if (!json_is_object(show) || id == NULL ||
	    !lshop_id_valid(id, strlen(id))) {
		lshop_error_set(err, "invalid_field", "show",
				"the report has no \"show\" object with an "
				"\"id\" (a server without report?show=?)");
		goto out;
	}
	copy_str(out->show_id, sizeof(out->show_id), id);
	if (count_of(show, "orders", &out->orders, err) ||
	    count_of(show, "units", &out->units, err))
		goto out;
	gmv = json_object_get(show, "gmv");
	cur = json_object_get(show, "currency");
	by = json_object_get(show, "gmv_by_currency");
	if (json_is_string(gmv)) {
		if (!money_valid(json_string_value(gmv)) ||
		    !(cur == NULL || json_is_null(cur) ||
		      (json_is_string(cur) &&
		       currency_valid(json_string_value(cur))))) {
			lshop_error_set(err, "invalid_field", "gmv",
					"the report's show.gmv must be an "
					"amount (\"123.45\") and its "
					"currency a currency code or null");
			goto out;
		}
		copy_str(out->gmv[0].amount, sizeof(out->gmv[0].amount),
			 json_string_value(gmv));
		copy_str(out->gmv[0].currency, sizeof(out->gmv[0].currency),
			 json_string_value(cur));
		out->ngmv = 1;
	} else if (gmv != NULL && !json_is_null(gmv)) {
		lshop_error_set(err, "invalid_field", "gmv",
				"the report's show.gmv must be an amount "
				"(\"123.45\") or null");
		goto out;
	} else if (json_is_object(by)) {
		if (gmv_by_currency(by, out, err))
			goto out;
	} else if (by != NULL && !json_is_null(by)) {
		lshop_error_set(err, "invalid_field", "gmv_by_currency",
				"the report's show.gmv_by_currency must be an "
				"object");
		goto out;
	}
	rc = 0;
out:
	json_decref(v);
	return rc;
}

int shop_model_put_sales(shop_model *m, const shop_show_sales *s)
{
	const char *on_air = shop_model_show_on_air(m);

	if (on_air == NULL || strcmp(on_air, s->show_id) != 0)
		return 0;
	m->sales = *s;
	m->have_sales = 1;
	return 1;
}

/*
 * json as {"<key>":[...]} (what, "is" or "are", names it in errors):
 * the document, to json_decref, with *list; or NULL with err.
 */
static json_t *list_load(const char *json, size_t len, const char *key,
			 const char *what, const char *is, json_t **list,
			 lshop_error *err)
{
	json_error_t jerr;
	json_t *v = json_loadb(json, len, 0, &jerr);

	if (v == NULL) {
		lshop_error_set(err, "invalid_json", "",
				"%s %s not JSON: %s (line %d)", what, is,
				jerr.text, jerr.line);
		return NULL;
	}
	*list = json_object_get(v, key);
	if (!json_is_array(*list)) {
		lshop_error_set(err, "invalid_field", key,
				"%s must be {\"%s\":[...]}", what, key);
		json_decref(v);
		return NULL;
	}
	return v;
}

/* Item n of a list refused by the core's parser (e), or out of memory
 * where there was no text (s) to parse. */
static void item_error(lshop_error *err, const char *s, const lshop_error *e,
		       const char *what, size_t n)
{
	lshop_error_set(err, s ? e->code : "enomem", s ? e->field : "",
			"%s %zu: %s", what, n,
			s ? e->message : "out of memory");
}

int shop_catalog_parse(const char *json, size_t len, shop_parsed_catalog *out,
		       lshop_error *err)
{
	json_t *v, *list, *item;
	lshop_error e;
	size_t i;
	char *s;
	int rc = -1;

	out->n = 0;
	v = list_load(json, len, "offers", "the catalog", "is", &list, err);
	if (v == NULL)
		return -1;
	json_array_foreach(list, i, item)
	{
		if (out->n == SHOP_CATALOG_MAX)
			break;
		/* the core's parser, with every rule of SPEC §2 */
		s = json_dumps(item, JSON_COMPACT);
		if (s == NULL || lshop_offer_parse(s, strlen(s), NULL,
						   &out->offers[out->n], &e)) {
			item_error(err, s, &e, "catalog offer", i + 1);
			free(s);
			goto out;
		}
		free(s);
		entry_of(&out->entries[out->n], &out->offers[out->n]);
		out->n++;
	}
	rc = 0;
out:
	json_decref(v);
	return rc;
}

void shop_model_put_catalog(shop_model *m, shop_parsed_catalog **c)
{
	shop_parsed_catalog *old = m->cat;

	m->cat = *c;
	*c = old;
	m->catalog = m->cat->offers;
	m->ncatalog = m->cat->n;
	m->have_catalog = 1;
	m->cat_dirty = ALL_ENTRIES;
}

int shop_model_set_catalog(shop_model *m, const char *json, size_t len,
			   lshop_error *err)
{
	shop_parsed_catalog *c = malloc(sizeof(*c));
	int rc;

	if (c == NULL) {
		lshop_error_set(err, "enomem", "", "out of memory");
		return -1;
	}
	rc = shop_catalog_parse(json, len, c, err);
	if (rc == 0)
		shop_model_put_catalog(m, &c);
	free(c);
	return rc;
}

/* All of the view the model knows but the catalog entries. */
static void view_head(const shop_model *m, shop_view *v)
{
	const lshop_state *st = &m->local;

	v->pending = shop_model_pending(m);
	copy_str(v->stream, sizeof(v->stream), m->stream);
	v->pinned = st->pinned;
	if (st->pinned) {
		v->offer = st->offer;
		v->offer_stock = stock_of(m, &st->offer);
	} else {
		memset(&v->offer, 0, sizeof(v->offer));
		v->offer_stock = LSHOP_STOCK_UNLIMITED;
	}
	v->countdown = st->countdown;
	v->countdown_ends_at_ms = st->countdown ? st->countdown_ends_at_ms : 0;
	copy_str(v->countdown_label, sizeof(v->countdown_label),
		 st->countdown ? st->countdown_label : "");
	v->disclosure = st->disclosure;
	copy_str(v->disclosure_kind, sizeof(v->disclosure_kind),
		 st->disclosure ? st->disclosure_kind : "");
	copy_str(v->disclosure_text, sizeof(v->disclosure_text),
		 st->disclosure ? st->disclosure_text : "");
	v->disclosure_required = st->pinned && st->offer.disclosure[0];
	v->viewers = m->have_state ? st->viewers : -1;
	v->show_live = st->show_live;
	copy_str(v->show_id, sizeof(v->show_id),
		 st->show_live ? st->show.id : "");
	copy_str(v->show_title, sizeof(v->show_title),
		 st->show_live ? st->show.title : "");
	v->have_sales = st->show_live && m->have_sales &&
			strcmp(m->sales.show_id, st->show.id) == 0;
	if (v->have_sales)
		v->sales = m->sales;
	else
		memset(&v->sales, 0, sizeof(v->sales));
	v->question_pinned = st->question_pinned;
	if (st->question_pinned)
		v->question = st->question;
	else
		memset(&v->question, 0, sizeof(v->question));
	v->poll_live = st->poll_live;
	v->poll_shown =
	    st->poll_live || m->server.poll_live || m->have_last_poll;
	if (st->poll_live) {
		v->poll = st->poll;
		v->poll_votes = m->poll_votes;
		v->poll_ended_at_ms = 0;
	} else if (m->server.poll_live) {
		/* ended here, its poll.ended still to come: the counts so
		 * far, as ended when the host pressed */
		v->poll = m->server.poll;
		v->poll_votes = m->poll_votes;
		v->poll_ended_at_ms = m->poll_end_pressed_ms;
	} else if (m->have_last_poll) {
		v->poll = m->last_poll;
		v->poll_votes = votes_of(&m->last_poll);
		v->poll_ended_at_ms = m->last_poll_ended_ms;
	} else {
		memset(&v->poll, 0, sizeof(v->poll));
		v->poll_votes = 0;
		v->poll_ended_at_ms = 0;
	}
	v->questions_waiting =
	    m->questions->have ? (int64_t)m->questions->n : -1;
	v->ncatalog = m->ncatalog;
	v->npurchases = m->npurchases;
	memcpy(v->purchases, m->purchases,
	       m->npurchases * sizeof(m->purchases[0]));
}

static void view_entry(const shop_model *m, shop_view *v, size_t i)
{
	v->catalog[i] = m->cat->entries[i];
	v->catalog[i].stock = stock_of(m, &m->catalog[i]);
}

void shop_model_view(const shop_model *m, shop_view *v)
{
	size_t i;

	view_head(m, v);
	for (i = 0; i < m->ncatalog; i++)
		view_entry(m, v, i);
}

size_t shop_model_view_update(shop_model *m, shop_view *v)
{
	uint64_t dirty = m->cat_dirty;
	size_t i, n = 0;

	view_head(m, v);
	for (i = 0; dirty != 0 && i < m->ncatalog; i++)
		if (dirty & ((uint64_t)1 << i)) {
			view_entry(m, v, i);
			n++;
		}
	m->cat_dirty = 0;
	return n;
}

void shop_model_snapshot(const shop_model *m, shop_parsed_state *out)
{
	memcpy(out->stream, m->stream, sizeof(out->stream));
	out->st = m->local;
	out->nstock = m->nstock;
	memcpy(out->stock, m->stock, m->nstock * sizeof(m->stock[0]));
}

char *shop_state_json(const shop_parsed_state *ps, int64_t now_ms)
{
	lshop_stock_entry *stock = calloc(ps->nstock + 1, sizeof(*stock));
	size_t i;
	char *out;

	if (stock == NULL)
		return NULL;
	for (i = 0; i < ps->nstock; i++) {
		stock[i].offer_id = ps->stock[i].offer_id;
		stock[i].stock = ps->stock[i].stock;
	}
	out = lshop_state_to_json(&ps->st, ps->stream, now_ms, stock,
				  ps->nstock, NULL);
	free(stock);
	return out;
}

char *shop_model_state_json(const shop_model *m, int64_t now_ms)
{
	shop_parsed_state *ps = malloc(sizeof(*ps));
	char *out = NULL;

	if (ps == NULL)
		return NULL;
	shop_model_snapshot(m, ps);
	out = shop_state_json(ps, now_ms);
	free(ps);
	return out;
}

/* by type, so that a new type cannot shift the others */
static const char *const action_names[] = {
    [SHOP_ACTION_PIN] = "pin",
    [SHOP_ACTION_UNPIN] = "unpin",
    [SHOP_ACTION_COUNTDOWN] = "countdown",
    [SHOP_ACTION_DISCLOSE] = "disclosure",
    [SHOP_ACTION_HIDE] = "hide disclosure",
    [SHOP_ACTION_STOP_COUNTDOWN] = "stop countdown",
    [SHOP_ACTION_QUESTION_PIN] = "pin question",
    [SHOP_ACTION_QUESTION_UNPIN] = "unpin question",
    [SHOP_ACTION_QUESTION_DISMISS] = "dismiss question",
    [SHOP_ACTION_QUESTION_BLOCK] = "block question",
    [SHOP_ACTION_ANSWER_PIN] = "pin answer",
    [SHOP_ACTION_POLL_START] = "start poll",
    [SHOP_ACTION_POLL_END] = "end poll",
};

/* the first part of each call's path (shop_action_url adds the ids) */
static const char *const action_paths[] = {
    [SHOP_ACTION_PIN] = "pin",
    [SHOP_ACTION_UNPIN] = "unpin",
    [SHOP_ACTION_COUNTDOWN] = "countdown",
    [SHOP_ACTION_DISCLOSE] = "disclosure",
    [SHOP_ACTION_HIDE] = "disclosure",
    [SHOP_ACTION_STOP_COUNTDOWN] = "countdown",
    [SHOP_ACTION_QUESTION_PIN] = "questions",
    [SHOP_ACTION_QUESTION_UNPIN] = "unpin-question",
    [SHOP_ACTION_QUESTION_DISMISS] = "questions",
    [SHOP_ACTION_QUESTION_BLOCK] = "questions",
    [SHOP_ACTION_ANSWER_PIN] = "answers",
    [SHOP_ACTION_POLL_START] = "polls",
    [SHOP_ACTION_POLL_END] = "polls",
};

const char *shop_action_name(shop_action_type type)
{
	return (size_t)type < sizeof(action_names) / sizeof(action_names[0])
		   ? action_names[type]
		   : "?";
}

const char *shop_action_path(shop_action_type type)
{
	return (size_t)type < sizeof(action_paths) / sizeof(action_paths[0])
		   ? action_paths[type]
		   : "";
}

const char *shop_action_method(shop_action_type type)
{
	return type == SHOP_ACTION_HIDE || type == SHOP_ACTION_STOP_COUNTDOWN
		   ? "DELETE"
		   : "POST";
}

/*
 * Whether a call carries the moment of the press ("at", SPEC §5). Of
 * SPEC §15's, pinning a question and starting a poll take only their
 * data, and dismiss and block change no timeline: they happen when
 * they arrive.
 */
static int takes_at(shop_action_type type)
{
	switch (type) {
	case SHOP_ACTION_QUESTION_PIN:
	case SHOP_ACTION_QUESTION_DISMISS:
	case SHOP_ACTION_QUESTION_BLOCK:
	case SHOP_ACTION_POLL_START:
		return 0;
	default:
		return 1;
	}
}

static json_t *options_json(const lshop_poll *p)
{
	json_t *a = json_array();
	int i;

	for (i = 0; a != NULL && i < p->options_n; i++)
		json_array_append_new(a, json_string(p->options[i]));
	return a;
}

char *shop_action_url(const shop_action *a, char *out, size_t cap)
{
	switch (a->type) {
	case SHOP_ACTION_QUESTION_PIN:
		snprintf(out, cap, "questions/%s/pin", a->question.id);
		break;
	case SHOP_ACTION_QUESTION_DISMISS:
		snprintf(out, cap, "questions/%s/dismiss", a->question.id);
		break;
	case SHOP_ACTION_QUESTION_BLOCK:
		snprintf(out, cap, "questions/%s/block", a->question.id);
		break;
	case SHOP_ACTION_ANSWER_PIN:
		snprintf(out, cap, "answers/%s/pin", a->question.id);
		break;
	case SHOP_ACTION_POLL_END:
		snprintf(out, cap, "polls/%s/end", a->poll.id);
		break;
	default:
		snprintf(out, cap, "%s", shop_action_path(a->type));
		break;
	}
	return out;
}

char *shop_action_body(const shop_action *a)
{
	char at[LSHOP_TIME_LEN];
	json_t *v = json_object();
	char *out;
	int bad = 0;

	if (v == NULL)
		return NULL;
	switch (a->type) {
	case SHOP_ACTION_PIN:
		bad |=
		    json_object_set_new(v, "offer", json_string(a->offer.id));
		break;
	case SHOP_ACTION_COUNTDOWN:
		bad |=
		    json_object_set_new(v, "seconds", json_integer(a->seconds));
		bad |= json_object_set_new(v, "label", json_string(a->label));
		if (a->offer_id[0])
			bad |= json_object_set_new(v, "offer",
						   json_string(a->offer_id));
		break;
	case SHOP_ACTION_DISCLOSE:
		bad |= json_object_set_new(v, "kind", json_string(a->kind));
		if (a->text[0])
			bad |= json_object_set_new(v, "text",
						   json_string(a->text));
		break;
	case SHOP_ACTION_UNPIN:
	case SHOP_ACTION_HIDE:
	case SHOP_ACTION_STOP_COUNTDOWN:
		break;
	case SHOP_ACTION_QUESTION_PIN:
		if (a->question.answer[0])
			bad |= json_object_set_new(
			    v, "answer", json_string(a->question.answer));
		break;
	case SHOP_ACTION_POLL_START:
		bad |= json_object_set_new(v, "question",
					   json_string(a->poll.question));
		bad |=
		    json_object_set_new(v, "options", options_json(&a->poll));
		bad |=
		    json_object_set_new(v, "seconds", json_integer(a->seconds));
		break;
	default:
		break;
	}
	if (a->send_at && takes_at(a->type)) {
		lshop_time_format(at, a->at_ms);
		bad |= json_object_set_new(v, "at", json_string(at));
	}
	out = bad ? NULL : json_dumps(v, JSON_COMPACT);
	json_decref(v);
	return out;
}

/* SPEC §15: the waiting questions, saved answers and a poll's tally */

const shop_waiting_question *shop_model_question(const shop_model *m,
						 const char *id)
{
	size_t i;

	for (i = 0; i < m->questions->n; i++)
		if (strcmp(m->questions->q[i].id, id) == 0)
			return &m->questions->q[i];
	return NULL;
}

const lshop_saved_answer *shop_model_answer(const shop_model *m, const char *id)
{
	size_t i;

	for (i = 0; i < m->questions->nanswers; i++)
		if (strcmp(m->questions->answers[i].id, id) == 0)
			return &m->questions->answers[i];
	return NULL;
}

/* A string member that is viewer text of min..max characters, as the
 * server cleans it; copied into out (cap bytes). */
static int viewer_field(const json_t *o, const char *key, long min, long max,
			char *out, size_t cap)
{
	const json_t *j = json_object_get(o, key);
	const char *s = json_string_value(j);
	size_t len = json_string_length(j);

	if (j == NULL && min == 0) {
		out[0] = '\0';
		return 0;
	}
	if (s == NULL || len >= cap ||
	    !lshop_viewer_text_valid(s, len, min, max))
		return -1;
	memcpy(out, s, len + 1);
	return 0;
}

static int session_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == SHOP_SESSION_HASH_LEN;
}

static int question_item(const json_t *item, shop_waiting_question *q)
{
	const char *id = json_string_value(json_object_get(item, "id"));
	const char *at = json_string_value(json_object_get(item, "at"));
	const char *session =
	    json_string_value(json_object_get(item, "session"));
	const json_t *held = json_object_get(item, "held");

	memset(q, 0, sizeof(*q));
	if (id == NULL || !lshop_id_valid(id, strlen(id)))
		return -1;
	copy_str(q->id, sizeof(q->id), id);
	if (viewer_field(item, "text", 1, LSHOP_QUESTION_CHARS, q->text,
			 sizeof(q->text)) ||
	    viewer_field(item, "name", 0, LSHOP_VIEWER_NAME_CHARS, q->name,
			 sizeof(q->name)))
		return -1;
	if (at != NULL && lshop_time_parse(at, strlen(at), &q->at_ms) != 0)
		return -1;
	if (held != NULL && !json_is_boolean(held))
		return -1;
	q->held = json_is_true(held);
	if (session != NULL) {
		if (!session_valid(session))
			return -1;
		copy_str(q->session, sizeof(q->session), session);
	}
	return 0;
}

int shop_questions_parse(const char *json, size_t len, shop_questions *out,
			 lshop_error *err)
{
	json_t *v, *list, *item, *blocked;
	size_t i;
	int rc = -1;

	out->n = 0;
	out->blocked_sessions = 0;
	v = list_load(json, len, "questions", "the questions", "are", &list,
		      err);
	if (v == NULL)
		return -1;
	json_array_foreach(list, i, item)
	{
		if (out->n == SHOP_QUESTIONS_MAX)
			break;
		if (question_item(item, &out->q[out->n]) != 0) {
			lshop_error_set(err, "invalid_field", "questions",
					"waiting question %zu is not an id, "
					"a text of 1-280 and a name of 0-40 "
					"characters of clean viewer text, an "
					"\"at\", \"held\" and a 16-hex-digit "
					"\"session\"",
					i + 1);
			goto out;
		}
		out->n++;
	}
	blocked = json_object_get(v, "blocked_sessions");
	if (json_is_integer(blocked) && json_integer_value(blocked) >= 0)
		out->blocked_sessions = json_integer_value(blocked);
	rc = 0;
out:
	json_decref(v);
	if (rc != 0)
		out->n = 0;
	return rc;
}

int shop_answers_parse(const char *json, size_t len, shop_questions *out,
		       lshop_error *err)
{
	json_t *v, *list, *item, *rest;
	lshop_error e;
	const char *id;
	size_t i;
	char *s;
	int rc = -1;

	out->nanswers = 0;
	v = list_load(json, len, "answers", "the saved answers", "are", &list,
		      err);
	if (v == NULL)
		return -1;
	json_array_foreach(list, i, item)
	{
		if (out->nanswers == SHOP_ANSWERS_MAX)
			break;
		id = json_string_value(json_object_get(item, "id"));
		if (id == NULL || !lshop_id_valid(id, strlen(id))) {
			lshop_error_set(err, "invalid_field", "answers",
					"saved answer %zu has no valid id",
					i + 1);
			goto out;
		}
		/* the core's parser, with every rule of SPEC §15, on the
		 * answer without its id */
		rest = json_deep_copy(item);
		if (rest != NULL)
			json_object_del(rest, "id");
		s = rest ? json_dumps(rest, JSON_COMPACT) : NULL;
		json_decref(rest);
		if (s == NULL || lshop_saved_answer_parse(
				     s, strlen(s), id,
				     &out->answers[out->nanswers], &e) != 0) {
			item_error(err, s, &e, "saved answer", i + 1);
			free(s);
			goto out;
		}
		free(s);
		out->nanswers++;
	}
	rc = 0;
out:
	json_decref(v);
	if (rc != 0)
		out->nanswers = 0;
	return rc;
}

int shop_model_put_questions(shop_model *m, const shop_questions *q)
{
	shop_questions *qs = m->questions;
	uint64_t gen = qs->generation;

	if (qs->have && qs->n == q->n &&
	    qs->blocked_sessions == q->blocked_sessions &&
	    memcmp(qs->q, q->q, q->n * sizeof(q->q[0])) == 0)
		return 0; /* the same again: every 2 s while nothing moves */
	memcpy(qs->q, q->q, q->n * sizeof(q->q[0]));
	qs->n = q->n;
	qs->blocked_sessions = q->blocked_sessions;
	qs->have = 1;
	qs->generation++;
	drop_gone(m);
	return qs->generation != gen;
}

void shop_model_put_answers(shop_model *m, const shop_questions *q)
{
	shop_questions *qs = m->questions;

	memcpy(qs->answers, q->answers, q->nanswers * sizeof(q->answers[0]));
	qs->nanswers = q->nanswers;
	qs->have_answers = 1;
	qs->generation++;
}

int shop_poll_tally_parse(const char *json, size_t len, lshop_poll *tally,
			  int64_t *votes, lshop_error *err)
{
	json_error_t jerr;
	json_t *v = json_loadb(json, len, 0, &jerr), *counts, *n;
	const char *id;
	size_t i;
	int rc = -1;

	memset(tally, 0, sizeof(*tally));
	if (v == NULL) {
		lshop_error_set(err, "invalid_json", "",
				"the poll message is not JSON: %s", jerr.text);
		return -1;
	}
	id = json_string_value(json_object_get(v, "id"));
	counts = json_object_get(v, "counts");
	n = json_object_get(v, "votes");
	if (id == NULL || !lshop_id_valid(id, strlen(id)) ||
	    !json_is_array(counts) || json_array_size(counts) < 1 ||
	    json_array_size(counts) > LSHOP_POLL_OPTIONS_MAX) {
		lshop_error_set(err, "invalid_field", "counts",
				"the poll message must be {\"id\":\"p44\","
				"\"counts\":[N,..],\"votes\":N}, 1-4 counts");
		goto out;
	}
	copy_str(tally->id, sizeof(tally->id), id);
	*votes = 0;
	for (i = 0; i < json_array_size(counts); i++) {
		const json_t *c = json_array_get(counts, i);

		if (!json_is_integer(c) || json_integer_value(c) < 0) {
			lshop_error_set(err, "invalid_field", "counts",
					"the poll message's counts must be "
					"whole numbers >= 0");
			goto out;
		}
		tally->counts[i] = json_integer_value(c);
		*votes += tally->counts[i];
	}
	tally->options_n = (int)i;
	if (json_is_integer(n) && json_integer_value(n) >= 0)
		*votes = json_integer_value(n);
	rc = 0;
out:
	json_decref(v);
	return rc;
}

int shop_model_set_poll_tally(shop_model *m, const lshop_poll *tally,
			      int64_t votes)
{
	lshop_poll *p = &m->server.poll;

	if (!m->server.poll_live || strcmp(p->id, tally->id) != 0 ||
	    tally->options_n != p->options_n)
		return 0;
	if (memcmp(p->counts, tally->counts, sizeof(p->counts)) == 0 &&
	    m->poll_votes == votes)
		return 0;
	memcpy(p->counts, tally->counts, sizeof(p->counts));
	m->poll_votes = votes;
	/* local is server + the queue: the same poll, unless one queued
	 * ends it or starts another */
	if (m->local.poll_live && strcmp(m->local.poll.id, tally->id) == 0)
		memcpy(m->local.poll.counts, tally->counts,
		       sizeof(m->local.poll.counts));
	return 1;
}
