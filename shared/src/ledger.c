/*
 * liveshop core: the ledger of a stream (ledger.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lshop/journal.h"
#include "lshop/ledger.h"

#include "internal.h"

static const char *const ledger_line_keys[] = {"ledger", NULL};
static const char *const ledger_keys[] = {"file",   "seq",    "at",
					  "report", "orders", NULL};

size_t lshop_order_key(char *out, size_t cap, lshop_provider p, char kind,
		       const char *id)
{
	int n = snprintf(out, cap, "%s:%c:%s", lshop_provider_name(p), kind,
			 id);

	if (n < 0)
		return 0;
	return (size_t)n < cap ? (size_t)n : cap - 1;
}

int lshop_order_keys(const lshop_order *order, lshop_provider p,
		     int64_t at_ms, lshop_order_key_fn fn, void *arg)
{
	char key[LSHOP_ORDER_KEY_MAX];
	size_t n;

	n = lshop_order_key(key, sizeof(key), p, 'o', order->order_id);
	if (fn(arg, key, n, at_ms) != 0)
		return -1;
	if (order->delivery_id[0] == '\0')
		return 0;
	n = lshop_order_key(key, sizeof(key), p, 'd', order->delivery_id);
	return fn(arg, key, n, at_ms);
}

/* The ledger object of a ledger line; NULL with err set. */
static json_t *ledger_load(const char *buf, size_t len, json_t **line,
			   lshop_error *err)
{
	json_t *v, *l;

	while (len > 0 && buf[len - 1] == '\n')
		len--;
	v = lshop_json_load(buf, len, "ledger", err);
	if (v == NULL)
		return NULL;
	l = json_object_get(v, "ledger");
	if (lshop_json_known_keys(v, ledger_line_keys, "", err))
		goto fail;
	if (!json_is_object(l)) {
		lshop_error_set(err, "invalid_field", "ledger",
				"ledger must be a JSON object");
		goto fail;
	}
	if (lshop_json_known_keys(l, ledger_keys, "ledger.", err))
		goto fail;
	*line = v;
	return l;
fail:
	json_decref(v);
	return NULL;
}

/*
 * A key as lshop_order_key writes it: printable ASCII, for its ids are.
 * A damaged ledger's "\u0000" would otherwise reach fn inside the key.
 */
static int key_valid(const json_t *k)
{
	const char *s = json_string_value(k);
	size_t n = json_string_length(k), i;

	if (n == 0 || n >= LSHOP_ORDER_KEY_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* The order keys of a ledger, each checked: 0, or -1 with err. */
static int ledger_orders(const json_t *l, lshop_order_key_fn fn, void *arg,
			 lshop_error *err)
{
	json_t *orders = json_object_get(l, "orders"), *o, *k, *at;
	size_t i;

	if (!json_is_array(orders)) {
		lshop_error_set(err, "invalid_field", "ledger.orders",
				"ledger.orders must be a JSON array");
		return -1;
	}
	json_array_foreach(orders, i, o)
	{
		k = json_array_get(o, 0);
		at = json_array_get(o, 1);
		if (json_array_size(o) != 2 || !json_is_string(k) ||
		    !key_valid(k) || !json_is_integer(at)) {
			lshop_error_set(err, "invalid_field", "ledger.orders",
					"ledger.orders[%zu] must be [KEY, "
					"MS]",
					i);
			return -1;
		}
		if (fn != NULL &&
		    fn(arg, json_string_value(k), json_string_length(k),
		       json_integer_value(at)) != 0) {
			lshop_error_set(err, "stopped", "",
					"reading the ledger was stopped");
			return -1;
		}
	}
	return 0;
}

static int ledger_head(const json_t *l, int64_t *file, uint64_t *seq,
		       lshop_error *err)
{
	json_t *f = json_object_get(l, "file"), *s = json_object_get(l, "seq");

	if (!json_is_integer(f) || json_integer_value(f) < 0) {
		lshop_error_set(err, "invalid_field", "ledger.file",
				"ledger.file must be a whole number >= 0");
		return -1;
	}
	if (!json_is_integer(s) || json_integer_value(s) < 0) {
		lshop_error_set(err, "invalid_field", "ledger.seq",
				"ledger.seq must be a whole number >= 0");
		return -1;
	}
	*file = json_integer_value(f);
	*seq = (uint64_t)json_integer_value(s);
	return 0;
}

int lshop_ledger_read(const char *buf, size_t len, lshop_report *report,
		      lshop_order_key_fn fn, void *arg, int64_t *file,
		      uint64_t *seq, lshop_error *err)
{
	json_t *line, *l;
	int rc = -1;

	l = ledger_load(buf, len, &line, err);
	if (l == NULL)
		return -1;
	if (ledger_head(l, file, seq, err) ||
	    (report != NULL &&
	     lshop_report_restore(report, json_object_get(l, "report"),
				  err)) ||
	    ledger_orders(l, fn, arg, err))
		goto out;
	rc = 0;
out:
	json_decref(line);
	return rc;
}

/* A fold in progress: the report and keys so far. */
typedef struct fold_ctx {
	lshop_report *report;
	json_t *orders;
	uint64_t seq; /* events up to here are counted */
	int64_t keep_from;
	int failed;
} fold_ctx;

static int fold_key(void *arg, const char *key, size_t len, int64_t at_ms)
{
	fold_ctx *c = arg;
	json_t *pair;

	if (at_ms < c->keep_from)
		return 0;
	pair = json_pack("[s%I]", key, len, (json_int_t)at_ms);
	if (pair == NULL || json_array_append_new(c->orders, pair) != 0) {
		c->failed = 1;
		return -1;
	}
	return 0;
}

static int fold_offer(void *arg, const lshop_offer *offer, int64_t at_ms)
{
	fold_ctx *c = arg;

	(void)at_ms;
	if (lshop_report_add_offer(c->report, offer) != 0) {
		c->failed = 1;
		return -1;
	}
	return 0;
}

static int fold_order(void *arg, const lshop_order *order, lshop_provider p,
		      int64_t at_ms)
{
	fold_ctx *c = arg;

	if (lshop_report_add_order_at(c->report, order, at_ms) != 0) {
		c->failed = 1;
		return -1;
	}
	return lshop_order_keys(order, p, at_ms, fold_key, c);
}

static int fold_event(void *arg, const lshop_event *ev, const char *json,
		      size_t len, int restored)
{
	fold_ctx *c = arg;

	(void)json;
	(void)len;
	(void)restored;
	/* a checkpoint re-lists what the ledger counted already */
	if (ev->seq <= c->seq)
		return 0;
	c->seq = ev->seq;
	if (lshop_report_add_event(c->report, ev) != 0) {
		c->failed = 1;
		return -1;
	}
	return 0;
}

static int fold_audience(void *arg, const lshop_audience *a, int full,
			 int64_t at_ms)
{
	fold_ctx *c = arg;

	if (lshop_report_add_audience(c->report, a, full, at_ms) != 0) {
		c->failed = 1;
		return -1;
	}
	return 0;
}

char *lshop_ledger_fold(const char *ledger, size_t ledger_len,
			const char *journal, size_t journal_len,
			int64_t now_ms, size_t *len, lshop_error *err)
{
	lshop_replay_ops ops = {0};
	lshop_state *st = NULL;
	fold_ctx c = {0};
	json_t *out = NULL, *line = NULL, *l;
	int64_t file = -1, folded;
	char *s = NULL;

	c.report = lshop_report_new();
	c.orders = json_array();
	st = malloc(sizeof(*st));
	c.keep_from = now_ms - LSHOP_ORDER_KEEP_MS;
	if (c.report == NULL || c.orders == NULL || st == NULL)
		goto no_memory;

	if (ledger != NULL && ledger_len > 0) {
		l = ledger_load(ledger, ledger_len, &line, err);
		if (l == NULL ||
		    ledger_head(l, &file, &c.seq, err) ||
		    lshop_report_restore(c.report, json_object_get(l, "report"),
					 err) ||
		    ledger_orders(l, fold_key, &c, err))
			goto done;
		if (c.failed)
			goto no_memory;
	}

	folded = lshop_journal_file(journal, journal_len);
	if (folded <= file) {
		lshop_error_set(err, "already_folded", "",
				"journal file %lld is in the ledger already "
				"(it holds files up to %lld)",
				(long long)folded, (long long)file);
		goto done;
	}

	lshop_state_init(st);
	ops.arg = &c;
	ops.offer = fold_offer;
	ops.order = fold_order;
	ops.event = fold_event;
	ops.audience = fold_audience;
	if (lshop_journal_replay(journal, journal_len, st, &ops, NULL) != 0 ||
	    c.failed)
		goto no_memory;

	out = json_pack("{s:{s:I,s:I,s:o,s:o,s:O}}", "ledger", "file",
			(json_int_t)folded, "seq", (json_int_t)c.seq, "at",
			lshop_json_time(now_ms), "report",
			lshop_report_carry(c.report), "orders", c.orders);
	if (out == NULL)
		goto no_memory;
	s = lshop_json_dump(out, len);
	if (s == NULL)
		goto no_memory;
	{
		char *t = realloc(s, *len + 2);

		if (t == NULL) {
			free(s);
			s = NULL;
			goto no_memory;
		}
		s = t;
		s[(*len)++] = '\n';
		s[*len] = '\0';
	}
	goto done;

no_memory:
	lshop_error_set(err, "no_memory", "",
			"out of memory while folding the journal into the "
			"ledger");
done:
	json_decref(out);
	json_decref(line);
	json_decref(c.orders);
	lshop_report_free(c.report);
	free(st);
	return s;
}
