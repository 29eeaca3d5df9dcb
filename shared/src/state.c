/*
 * liveshop core: the timeline of one stream.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lshop/state.h"

#include "internal.h"

void lshop_state_init(lshop_state *st)
{
	memset(st, 0, sizeof(*st));
}

int lshop_state_apply(lshop_state *st, const lshop_event *ev, lshop_error *err)
{
	if (ev->seq != st->seq + 1) {
		lshop_error_set(err, "seq_gap", "seq",
				"event seq %" PRIu64 " does not follow %" PRIu64
				"; events are applied one by one, in order",
				ev->seq, st->seq);
		return -1;
	}
	switch (ev->type) {
	case LSHOP_OFFER_PINNED:
		st->pinned = 1;
		st->pin_seq = ev->seq;
		st->pin_at_ms = ev->at_ms;
		st->pin_until_ms = ev->until_ms;
		st->offer = ev->offer;
		if (ev->at_ms > st->pin_edge_ms)
			st->pin_edge_ms = ev->at_ms;
		break;
	case LSHOP_OFFER_UNPINNED:
		if (!st->pinned || strcmp(st->offer.id, ev->offer_id) != 0) {
			lshop_error_set(err, "not_pinned", "offer_id",
					"offer \"%.64s\" is not pinned, so it "
					"cannot be unpinned",
					ev->offer_id);
			return -1;
		}
		st->pinned = 0;
		st->pin_seq = 0;
		st->pin_at_ms = 0;
		st->pin_until_ms = 0;
		memset(&st->offer, 0, sizeof(st->offer));
		if (ev->at_ms > st->pin_edge_ms)
			st->pin_edge_ms = ev->at_ms;
		break;
	case LSHOP_COUNTDOWN_STARTED:
		st->countdown = 1;
		st->countdown_seq = ev->seq;
		st->countdown_at_ms = ev->at_ms;
		st->countdown_ends_at_ms = ev->ends_at_ms;
		memcpy(st->countdown_label, ev->label, sizeof(ev->label));
		memcpy(st->countdown_offer_id, ev->offer_id,
		       sizeof(ev->offer_id));
		break;
	case LSHOP_COUNTDOWN_ENDED:
		/* Ending a countdown that already ended is harmless; a
		 * journal must replay whatever order its writer chose. */
		st->countdown = 0;
		st->countdown_seq = 0;
		st->countdown_at_ms = 0;
		st->countdown_ends_at_ms = 0;
		st->countdown_label[0] = '\0';
		st->countdown_offer_id[0] = '\0';
		break;
	case LSHOP_DISCLOSURE_SHOWN:
		st->disclosure = 1;
		st->disclosure_seq = ev->seq;
		st->disclosure_at_ms = ev->at_ms;
		memcpy(st->disclosure_kind, ev->kind, sizeof(ev->kind));
		memcpy(st->disclosure_text, ev->text, sizeof(ev->text));
		break;
	case LSHOP_DISCLOSURE_HIDDEN:
		st->disclosure = 0;
		st->disclosure_seq = 0;
		st->disclosure_at_ms = 0;
		st->disclosure_kind[0] = '\0';
		st->disclosure_text[0] = '\0';
		break;
	case LSHOP_STOCK_CHANGED:
	case LSHOP_OFFER_SOLD_OUT:
	case LSHOP_PURCHASE_COMPLETED:
		/* Stock lives with the catalog, not in the timeline. */
		break;
	default:
		lshop_error_set(err, "invalid_event", "type",
				"event type %d is not one of SPEC §3",
				(int)ev->type);
		return -1;
	}
	st->seq = ev->seq;
	return 0;
}

size_t lshop_state_plan_pin(const lshop_state *st, const lshop_offer *offer,
			    int64_t at_ms, int64_t until_ms, lshop_event out[2],
			    lshop_error *err)
{
	size_t n = 0;

	if (at_ms < st->pin_edge_ms)
		at_ms = st->pin_edge_ms;
	if (until_ms != 0 && until_ms <= at_ms) {
		lshop_error_set(err, "invalid_field", "duration",
				"the pin would end before it starts");
		return 0;
	}
	if (st->pinned) {
		/* The pinned offer makes way: its interval ends as the new
		 * one begins. */
		memset(&out[n], 0, sizeof(out[n]));
		out[n].type = LSHOP_OFFER_UNPINNED;
		out[n].at_ms = at_ms;
		memcpy(out[n].offer_id, st->offer.id, sizeof(st->offer.id));
		n++;
	}
	memset(&out[n], 0, sizeof(out[n]));
	out[n].type = LSHOP_OFFER_PINNED;
	out[n].at_ms = at_ms;
	out[n].until_ms = until_ms;
	out[n].offer = *offer;
	return n + 1;
}

int lshop_state_plan_unpin(const lshop_state *st, int64_t at_ms,
			   lshop_event *out, lshop_error *err)
{
	if (!st->pinned) {
		lshop_error_set(
		    err, "not_pinned", "",
		    "nothing is pinned, so nothing can be unpinned");
		return -1;
	}
	memset(out, 0, sizeof(*out));
	out->type = LSHOP_OFFER_UNPINNED;
	out->at_ms = at_ms < st->pin_edge_ms ? st->pin_edge_ms : at_ms;
	memcpy(out->offer_id, st->offer.id, sizeof(st->offer.id));
	return 0;
}

size_t lshop_stock_events(const char *offer_id, int64_t old_stock,
			  int64_t new_stock, int64_t at_ms, lshop_event out[2])
{
	size_t n = 0;

	if (new_stock == LSHOP_STOCK_UNLIMITED || new_stock == old_stock)
		return 0;
	memset(&out[0], 0, sizeof(out[0]));
	out[0].type = LSHOP_STOCK_CHANGED;
	out[0].at_ms = at_ms;
	snprintf(out[0].offer_id, sizeof(out[0].offer_id), "%s", offer_id);
	out[0].stock = new_stock;
	n = 1;
	if (new_stock == 0) {
		out[1] = out[0];
		out[1].type = LSHOP_OFFER_SOLD_OUT;
		out[1].stock = 0;
		n = 2;
	}
	return n;
}

static json_t *interval_id(const char *stream, uint64_t seq)
{
	char id[LSHOP_STREAM_MAX + 24];

	lshop_event_id(id, sizeof(id), stream, seq);
	return json_string(id);
}

static json_t *pinned_json(const lshop_state *st, const char *stream)
{
	json_t *v;

	if (!st->pinned)
		return json_null();
	v = json_object();
	if (v == NULL ||
	    lshop_json_set(v, "id", interval_id(stream, st->pin_seq)) ||
	    lshop_json_set(v, "since", lshop_json_time(st->pin_at_ms)) ||
	    (st->pin_until_ms != 0 &&
	     lshop_json_set(v, "until", lshop_json_time(st->pin_until_ms))) ||
	    lshop_json_set(v, "offer", lshop_offer_json(&st->offer))) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static json_t *countdown_json(const lshop_state *st, const char *stream)
{
	json_t *v;

	if (!st->countdown)
		return json_null();
	v = json_object();
	if (v == NULL ||
	    lshop_json_set(v, "id", interval_id(stream, st->countdown_seq)) ||
	    lshop_json_set(v, "since", lshop_json_time(st->countdown_at_ms)) ||
	    lshop_json_set(v, "ends_at",
			   lshop_json_time(st->countdown_ends_at_ms)) ||
	    lshop_json_set(v, "label", json_string(st->countdown_label)) ||
	    (st->countdown_offer_id[0] &&
	     lshop_json_set(v, "offer_id",
			    json_string(st->countdown_offer_id)))) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static json_t *disclosure_json(const lshop_state *st, const char *stream)
{
	json_t *v;

	if (!st->disclosure)
		return json_null();
	v = json_object();
	if (v == NULL ||
	    lshop_json_set(v, "id", interval_id(stream, st->disclosure_seq)) ||
	    lshop_json_set(v, "since", lshop_json_time(st->disclosure_at_ms)) ||
	    lshop_json_set(v, "kind", json_string(st->disclosure_kind)) ||
	    lshop_json_set(v, "text", json_string(st->disclosure_text))) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static json_t *stock_json(const lshop_stock_entry *stock, size_t nstock)
{
	json_t *v = json_object();
	size_t i;

	if (v == NULL)
		return NULL;
	for (i = 0; stock != NULL && i < nstock; i++) {
		if (stock[i].offer_id == NULL || stock[i].stock < 0)
			continue;
		if (lshop_json_set(v, stock[i].offer_id,
				   json_integer(stock[i].stock))) {
			json_decref(v);
			return NULL;
		}
	}
	return v;
}

char *lshop_state_to_json(const lshop_state *st, const char *stream,
			  int64_t now_ms, const lshop_stock_entry *stock,
			  size_t nstock, size_t *len)
{
	json_t *v;
	char *out;

	if (st->seq > INT64_MAX)
		return NULL;
	v = json_object();
	if (v == NULL)
		return NULL;
	if (lshop_json_set(v, "stream", json_string(stream)) ||
	    lshop_json_set(v, "seq", json_integer((json_int_t)st->seq)) ||
	    lshop_json_set(v, "at", lshop_json_time(now_ms)) ||
	    lshop_json_set(v, "pinned", pinned_json(st, stream)) ||
	    lshop_json_set(v, "countdown", countdown_json(st, stream)) ||
	    lshop_json_set(v, "disclosure", disclosure_json(st, stream)) ||
	    lshop_json_set(v, "stock", stock_json(stock, nstock))) {
		json_decref(v);
		return NULL;
	}
	out = lshop_json_dump(v, len);
	json_decref(v);
	return out;
}
