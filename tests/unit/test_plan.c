/*
 * Planning (state.h): which events each action and each tick of the clock
 * makes, when, and the compliance rules of SPEC §3: a pinned offer with a
 * disclosure always has that disclosure shown.
 */
#include "lshop/offer.h"
#include "lshop/state.h"

#include "timeline.h"

/* Assertions on one planned event, reported at the caller's line. */
#define IS_PINNED(ev, at, id_)                                                 \
	do {                                                                   \
		assert_int_equal((ev).type, LSHOP_OFFER_PINNED);               \
		assert_int_equal((ev).at_ms, (at));                            \
		assert_string_equal((ev).offer.id, (id_));                     \
	} while (0)
#define IS_UNPINNED(ev, at, id_)                                               \
	do {                                                                   \
		assert_int_equal((ev).type, LSHOP_OFFER_UNPINNED);             \
		assert_int_equal((ev).at_ms, (at));                            \
		assert_string_equal((ev).offer_id, (id_));                     \
	} while (0)
#define IS_SHOWN(ev, at, kind_, text_, id_)                                    \
	do {                                                                   \
		assert_int_equal((ev).type, LSHOP_DISCLOSURE_SHOWN);           \
		assert_int_equal((ev).at_ms, (at));                            \
		assert_string_equal((ev).kind, (kind_));                       \
		assert_string_equal((ev).text, (text_));                       \
		assert_string_equal((ev).offer_id, (id_));                     \
	} while (0)
#define IS_HIDDEN(ev, at, kind_)                                               \
	do {                                                                   \
		assert_int_equal((ev).type, LSHOP_DISCLOSURE_HIDDEN);          \
		assert_int_equal((ev).at_ms, (at));                            \
		assert_string_equal((ev).kind, (kind_));                       \
	} while (0)
#define IS_STARTED(ev, at, ends, label_, id_)                                  \
	do {                                                                   \
		assert_int_equal((ev).type, LSHOP_COUNTDOWN_STARTED);          \
		assert_int_equal((ev).at_ms, (at));                            \
		assert_int_equal((ev).ends_at_ms, (ends));                     \
		assert_string_equal((ev).label, (label_));                     \
		assert_string_equal((ev).offer_id, (id_));                     \
	} while (0)
#define IS_ENDED(ev, at, label_, id_)                                          \
	do {                                                                   \
		assert_int_equal((ev).type, LSHOP_COUNTDOWN_ENDED);            \
		assert_int_equal((ev).at_ms, (at));                            \
		assert_string_equal((ev).label, (label_));                     \
		assert_string_equal((ev).offer_id, (id_));                     \
	} while (0)

#define S(n) (INT64_C(n) * 1000) /* seconds after T0, in ms */

static lshop_offer plain, plain2, ad_a, ad_b, sponsored_c, affiliate_d;

static int setup(void **state)
{
	(void)state;
	plain = make_offer("sku-plain", "9.99", NULL);
	plain2 = make_offer("sku-plain2", "4.50", NULL);
	ad_a = make_offer("sku-a", "19.99", "ad");
	ad_b = make_offer("sku-b", "29.99", "ad");
	sponsored_c = make_offer("sku-c", "5", "sponsored");
	affiliate_d = make_offer("sku-d", "12.5", "affiliate");
	return 0;
}

/* Pins */

static void test_pin_plain(void **state)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	lshop_state st;

	(void)state;
	lshop_state_init(&st);
	assert_int_equal(
	    lshop_state_plan_pin(&st, &plain, T0, T0 + S(60), "en", evs, &err),
	    1);
	IS_PINNED(evs[0], T0, "sku-plain");
	assert_int_equal(evs[0].until_ms, T0 + S(60));
	assert_string_equal(evs[0].offer.title, "Title of sku-plain");
	/* seq and stream are the caller's. */
	assert_true(evs[0].seq == 0);
	assert_string_equal(evs[0].stream, "");
	/* Nothing changed in st. */
	assert_false(st.pinned);
	assert_true(st.seq == 0);
}

static void test_pin_sponsored_shows_its_disclosure(void **state)
{
	static const struct {
		const lshop_offer *offer;
		const char *locale, *kind, *text;
	} cases[] = {
	    {&ad_a, "de-DE", "ad", "Anzeige"},
	    {&ad_a, NULL, "ad", "Ad"},
	    {&sponsored_c, "de", "sponsored", "Werbung"},
	    {&sponsored_c, "en-GB", "sponsored", "Sponsored"},
	    {&affiliate_d, "de_AT", "affiliate", "Affiliate-Link"},
	    {&affiliate_d, "fr", "affiliate", "Affiliate link"},
	};
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	lshop_state st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		lshop_state_init(&st);
		assert_int_equal(lshop_state_plan_pin(&st, cases[i].offer, T0,
						      0, cases[i].locale, evs,
						      &err),
				 2);
		IS_SHOWN(evs[0], T0, cases[i].kind, cases[i].text,
			 cases[i].offer->id);
		IS_PINNED(evs[1], T0, cases[i].offer->id);
	}

	/* Applied, the disclosure is tied to the offer. */
	{
		timeline tl;

		tl_init(&tl);
		tl_pin(&tl, &ad_a, T0, 0);
		assert_true(tl.st.pinned && tl.st.disclosure);
		assert_string_equal(tl.st.disclosure_kind, "ad");
		assert_string_equal(tl.st.disclosure_text, "Ad");
		assert_string_equal(tl.st.disclosure_offer_id, "sku-a");
		tl_free(&tl);
	}
}

static void test_pin_replaces_sponsored_with_plain(void **state)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	timeline tl;
	size_t n;

	(void)state;
	tl_init(&tl);
	tl_pin(&tl, &ad_a, T0, 0);
	n = lshop_state_plan_pin(&tl.st, &plain, T0 + S(10), 0, "en", evs,
				 &err);
	assert_int_equal(n, 3);
	IS_UNPINNED(evs[0], T0 + S(10), "sku-a");
	IS_HIDDEN(evs[1], T0 + S(10), "ad");
	IS_PINNED(evs[2], T0 + S(10), "sku-plain");
	tl_apply(&tl, evs, n);
	assert_false(tl.st.disclosure);
	assert_string_equal(tl.st.offer.id, "sku-plain");
	tl_free(&tl);
}

static void test_pin_sponsored_after_sponsored(void **state)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	timeline tl;
	size_t n;

	(void)state;
	tl_init(&tl);
	tl_pin(&tl, &ad_a, T0, 0);

	/* Same kind: the disclosure passes from one offer to the next,
	 * closing and reopening at the same moment. */
	n = lshop_state_plan_pin(&tl.st, &ad_b, T0 + S(10), 0, "en", evs, &err);
	assert_int_equal(n, LSHOP_PLAN_MAX);
	IS_UNPINNED(evs[0], T0 + S(10), "sku-a");
	IS_HIDDEN(evs[1], T0 + S(10), "ad");
	IS_SHOWN(evs[2], T0 + S(10), "ad", "Ad", "sku-b");
	IS_PINNED(evs[3], T0 + S(10), "sku-b");
	tl_apply(&tl, evs, n);
	assert_string_equal(tl.st.disclosure_offer_id, "sku-b");

	/* Another kind: the old one goes, the offer's own comes. */
	n = lshop_state_plan_pin(&tl.st, &affiliate_d, T0 + S(20), 0, "de", evs,
				 &err);
	assert_int_equal(n, 4);
	IS_UNPINNED(evs[0], T0 + S(20), "sku-b");
	IS_HIDDEN(evs[1], T0 + S(20), "ad");
	IS_SHOWN(evs[2], T0 + S(20), "affiliate", "Affiliate-Link", "sku-d");
	IS_PINNED(evs[3], T0 + S(20), "sku-d");
	tl_apply(&tl, evs, n);
	assert_string_equal(tl.st.disclosure_kind, "affiliate");
	tl_free(&tl);
}

static void test_pin_hides_another_kind_first(void **state)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	timeline tl;
	size_t n;

	(void)state;
	tl_init(&tl);
	tl_disclose(&tl, T0, "sponsored", "Werbung");
	n = lshop_state_plan_pin(&tl.st, &ad_a, T0 + S(5), 0, "de", evs, &err);
	assert_int_equal(n, 3);
	IS_HIDDEN(evs[0], T0 + S(5), "sponsored");
	IS_SHOWN(evs[1], T0 + S(5), "ad", "Anzeige", "sku-a");
	IS_PINNED(evs[2], T0 + S(5), "sku-a");

	/* With a plain offer pinned, that one makes way first. */
	tl_pin(&tl, &plain, T0 + S(1), 0);
	n = lshop_state_plan_pin(&tl.st, &ad_a, T0 + S(5), 0, "de", evs, &err);
	assert_int_equal(n, 4);
	IS_UNPINNED(evs[0], T0 + S(5), "sku-plain");
	IS_HIDDEN(evs[1], T0 + S(5), "sponsored");
	IS_SHOWN(evs[2], T0 + S(5), "ad", "Anzeige", "sku-a");
	IS_PINNED(evs[3], T0 + S(5), "sku-a");
	tl_free(&tl);
}

/*
 * A disclosure tied to an offer that is not pinned (a journal may hold
 * one, e.g. written by hand): a pin of the same kind ties it anew, so
 * that unpinning takes it along.
 */
static void test_pin_reties_a_stale_disclosure(void **state)
{
	lshop_event evs[LSHOP_PLAN_MAX], ev;
	lshop_error err;
	timeline tl;
	size_t n;

	(void)state;
	tl_init(&tl);
	memset(&ev, 0, sizeof(ev));
	ev.type = LSHOP_DISCLOSURE_SHOWN;
	ev.at_ms = T0;
	strcpy(ev.kind, "ad");
	strcpy(ev.text, "Anzeige");
	strcpy(ev.offer_id, "sku-gone");
	tl_apply(&tl, &ev, 1);
	n = lshop_state_plan_pin(&tl.st, &ad_a, T0 + S(1), 0, "de", evs, &err);
	assert_int_equal(n, 3);
	IS_HIDDEN(evs[0], T0 + S(1), "ad");
	IS_SHOWN(evs[1], T0 + S(1), "ad", "Anzeige", "sku-a");
	IS_PINNED(evs[2], T0 + S(1), "sku-a");
	tl_apply(&tl, evs, n);
	n = lshop_state_plan_unpin(&tl.st, T0 + S(2), evs, &err);
	assert_int_equal(n, 2);
	IS_HIDDEN(evs[1], T0 + S(2), "ad");
	tl_free(&tl);
}

/* "Dauerwerbesendung": a stream-wide disclosure outlives every pin. */
static void test_stream_wide_disclosure_survives(void **state)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	timeline tl;
	size_t n;

	(void)state;
	tl_init(&tl);
	n = lshop_state_plan_disclose(&tl.st, T0, "ad", "Dauerwerbesendung",
				      "de", evs, &err);
	assert_int_equal(n, 1);
	IS_SHOWN(evs[0], T0, "ad", "Dauerwerbesendung", "");
	tl_apply(&tl, evs, n);

	/* A pin of that kind relies on it: no second disclosure. */
	n = lshop_state_plan_pin(&tl.st, &ad_a, T0 + S(1), 0, "de", evs, &err);
	assert_int_equal(n, 1);
	IS_PINNED(evs[0], T0 + S(1), "sku-a");
	tl_apply(&tl, evs, n);

	/* Unpinning leaves it. */
	n = lshop_state_plan_unpin(&tl.st, T0 + S(2), evs, &err);
	assert_int_equal(n, 1);
	IS_UNPINNED(evs[0], T0 + S(2), "sku-a");
	tl_apply(&tl, evs, n);

	/* Offer to offer, sponsored or not. */
	tl_pin(&tl, &ad_b, T0 + S(3), 0);
	n = lshop_state_plan_pin(&tl.st, &plain, T0 + S(4), 0, "de", evs, &err);
	assert_int_equal(n, 2);
	IS_UNPINNED(evs[0], T0 + S(4), "sku-b");
	IS_PINNED(evs[1], T0 + S(4), "sku-plain");
	tl_apply(&tl, evs, n);
	n = lshop_state_plan_pin(&tl.st, &ad_a, T0 + S(5), 0, "de", evs, &err);
	assert_int_equal(n, 2);
	IS_UNPINNED(evs[0], T0 + S(5), "sku-plain");
	IS_PINNED(evs[1], T0 + S(5), "sku-a");
	tl_apply(&tl, evs, n);
	tl_unpin(&tl, T0 + S(6));

	/* Still the one shown at the start, still stream-wide. */
	assert_true(tl.st.disclosure);
	assert_true(tl.st.disclosure_seq == 1);
	assert_string_equal(tl.st.disclosure_text, "Dauerwerbesendung");
	assert_string_equal(tl.st.disclosure_offer_id, "");
	/* And hiding it is fine once nothing sponsored is pinned. */
	n = lshop_state_plan_hide(&tl.st, T0 + S(7), evs, &err);
	assert_int_equal(n, 1);
	IS_HIDDEN(evs[0], T0 + S(7), "ad");
	tl_free(&tl);
}

/* Unpin */

static void test_unpin_hides_only_a_tied_disclosure(void **state)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	timeline tl;
	size_t n;

	(void)state;
	tl_init(&tl);
	assert_int_equal(lshop_state_plan_unpin(&tl.st, T0, evs, &err), 0);
	assert_string_equal(err.code, "not_pinned");

	tl_pin(&tl, &ad_a, T0, 0);
	n = lshop_state_plan_unpin(&tl.st, T0 + S(5), evs, &err);
	assert_int_equal(n, 2);
	IS_UNPINNED(evs[0], T0 + S(5), "sku-a");
	IS_HIDDEN(evs[1], T0 + S(5), "ad");
	tl_apply(&tl, evs, n);
	assert_false(tl.st.pinned);
	assert_false(tl.st.disclosure);

	/* A plain offer with a stream-wide disclosure: only the unpin. */
	tl_disclose(&tl, T0 + S(6), "gifted", NULL);
	tl_pin(&tl, &plain, T0 + S(7), 0);
	n = lshop_state_plan_unpin(&tl.st, T0 + S(8), evs, &err);
	assert_int_equal(n, 1);
	IS_UNPINNED(evs[0], T0 + S(8), "sku-plain");
	tl_free(&tl);
}

/* Disclose and hide */

static void test_hide_refused_while_sponsored_pinned(void **state)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	timeline tl;

	(void)state;
	tl_init(&tl);
	assert_int_equal(lshop_state_plan_hide(&tl.st, T0, evs, &err), 0);
	assert_string_equal(err.code, "not_shown");

	tl_pin(&tl, &ad_a, T0, 0);
	assert_int_equal(lshop_state_plan_hide(&tl.st, T0 + S(1), evs, &err),
			 0);
	assert_string_equal(err.code, "disclosure_required");
	assert_string_equal(err.message,
			    "offer \"sku-a\" is pinned and needs its \"ad\" "
			    "disclosure; unpin it first");

	/* Also when the disclosure it relies on is stream-wide. */
	tl_disclose(&tl, T0 + S(2), "ad", "Dauerwerbesendung");
	assert_int_equal(lshop_state_plan_hide(&tl.st, T0 + S(3), evs, &err),
			 0);
	assert_string_equal(err.code, "disclosure_required");

	/* Once unpinned, it can go. */
	tl_unpin(&tl, T0 + S(4));
	assert_int_equal(lshop_state_plan_hide(&tl.st, T0 + S(5), evs, &err),
			 1);
	IS_HIDDEN(evs[0], T0 + S(5), "ad");
	tl_free(&tl);
}

static void test_disclose_another_kind_refused(void **state)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	timeline tl;
	size_t n;

	(void)state;
	tl_init(&tl);
	tl_pin(&tl, &ad_a, T0, 0);
	assert_int_equal(lshop_state_plan_disclose(&tl.st, T0 + S(1),
						   "sponsored", NULL, "de", evs,
						   &err),
			 0);
	assert_string_equal(err.code, "disclosure_required");
	assert_string_equal(err.field, "kind");
	assert_non_null(strstr(err.message, "\"sku-a\""));
	assert_non_null(strstr(err.message, "\"ad\""));

	/* The same kind is fine: it replaces the tied one, stream-wide. */
	n = lshop_state_plan_disclose(&tl.st, T0 + S(1), "ad",
				      "Dauerwerbesendung", "de", evs, &err);
	assert_int_equal(n, 2);
	IS_HIDDEN(evs[0], T0 + S(1), "ad");
	IS_SHOWN(evs[1], T0 + S(1), "ad", "Dauerwerbesendung", "");
	tl_apply(&tl, evs, n);
	/* ... so the unpin no longer takes it along. */
	n = lshop_state_plan_unpin(&tl.st, T0 + S(2), evs, &err);
	assert_int_equal(n, 1);
	IS_UNPINNED(evs[0], T0 + S(2), "sku-a");
	tl_free(&tl);
}

static void test_disclose_texts_and_checks(void **state)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	lshop_state st;
	char *e60 = repeat("\xc3\xa9", 60), *e61 = repeat("\xc3\xa9", 61);
	size_t n;

	(void)state;
	lshop_state_init(&st);
	assert_int_equal(
	    lshop_state_plan_disclose(&st, T0, NULL, NULL, "de", evs, &err), 0);
	assert_string_equal(err.code, "invalid_field");
	assert_string_equal(err.field, "kind");
	assert_int_equal(
	    lshop_state_plan_disclose(&st, T0, "paid", NULL, "de", evs, &err),
	    0);
	assert_string_equal(err.field, "kind");
	assert_int_equal(
	    lshop_state_plan_disclose(&st, T0, "ad", e61, "de", evs, &err), 0);
	assert_string_equal(err.code, "invalid_field");
	assert_string_equal(err.field, "text");
	assert_int_equal(lshop_state_plan_disclose(&st, T0, "ad", "bad \xff",
						   "de", evs, &err),
			 0);
	assert_string_equal(err.field, "text");

	assert_int_equal(
	    lshop_state_plan_disclose(&st, T0, "ad", e60, "de", evs, &err), 1);
	IS_SHOWN(evs[0], T0, "ad", e60, "");
	/* No text: the kind's label in the locale. */
	assert_int_equal(
	    lshop_state_plan_disclose(&st, T0, "own", NULL, "de", evs, &err),
	    1);
	IS_SHOWN(evs[0], T0, "own", "Eigenes Produkt", "");
	assert_int_equal(
	    lshop_state_plan_disclose(&st, T0, "gifted", "", NULL, evs, &err),
	    1);
	IS_SHOWN(evs[0], T0, "gifted", "Gifted", "");

	/* A shown one is hidden first, at the same moment. */
	st.disclosure = 1;
	st.disclosure_seq = 1;
	st.seq = 1;
	strcpy(st.disclosure_kind, "own");
	strcpy(st.disclosure_text, "Eigenes Produkt");
	st.disclosure_edge_ms = T0 + S(3);
	n = lshop_state_plan_disclose(&st, T0, "ad", NULL, "de", evs, &err);
	assert_int_equal(n, 2);
	IS_HIDDEN(evs[0], T0 + S(3), "own");
	IS_SHOWN(evs[1], T0 + S(3), "ad", "Anzeige", "");
	free(e60);
	free(e61);
}

/* Edges: intervals of one class never overlap (SPEC §7). */

static void test_events_move_forward_to_edges(void **state)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	timeline tl;
	size_t n;

	(void)state;
	/* A pin stamped before the last pin edge. */
	tl_init(&tl);
	tl_pin(&tl, &plain, T0 + S(10), 0);
	n = lshop_state_plan_pin(&tl.st, &plain2, T0, 0, "en", evs, &err);
	assert_int_equal(n, 2);
	IS_UNPINNED(evs[0], T0 + S(10), "sku-plain");
	IS_PINNED(evs[1], T0 + S(10), "sku-plain2");
	/* The end of a pin must lie after its moved start. */
	assert_int_equal(lshop_state_plan_pin(&tl.st, &plain2, T0, T0 + S(10),
					      "en", evs, &err),
			 0);
	assert_string_equal(err.code, "invalid_field");
	assert_string_equal(err.field, "duration");
	assert_int_equal(lshop_state_plan_pin(&tl.st, &plain2, T0, T0 + S(11),
					      "en", evs, &err),
			 2);
	tl_free(&tl);

	/* One action touching two classes: all its events share the
	 * latest edge, so an end meets the next start exactly. */
	tl_init(&tl);
	tl_pin(&tl, &plain, T0 + S(10), 0);
	tl_disclose(&tl, T0 + S(30), "sponsored", NULL);
	n = lshop_state_plan_pin(&tl.st, &ad_a, T0 + S(12), 0, "en", evs, &err);
	assert_int_equal(n, 4);
	IS_UNPINNED(evs[0], T0 + S(30), "sku-plain");
	IS_HIDDEN(evs[1], T0 + S(30), "sponsored");
	IS_SHOWN(evs[2], T0 + S(30), "ad", "Ad", "sku-a");
	IS_PINNED(evs[3], T0 + S(30), "sku-a");
	tl_free(&tl);

	/* A sponsored pin relying on a shown disclosure starts no earlier
	 * than that disclosure. */
	tl_init(&tl);
	tl_disclose(&tl, T0 + S(20), "ad", NULL);
	n = lshop_state_plan_pin(&tl.st, &ad_a, T0 + S(5), 0, "en", evs, &err);
	assert_int_equal(n, 1);
	IS_PINNED(evs[0], T0 + S(20), "sku-a");
	tl_apply(&tl, evs, n);
	/* ... nor does it end before a later disclosure change. */
	tl_disclose(&tl, T0 + S(25), "ad", "Werbung!");
	n = lshop_state_plan_unpin(&tl.st, T0 + S(21), evs, &err);
	assert_int_equal(n, 1);
	IS_UNPINNED(evs[0], T0 + S(25), "sku-a");
	tl_free(&tl);

	/* A hide never goes back before the latest pin edge, so no pin
	 * that relied on the disclosure loses it after the fact. */
	tl_init(&tl);
	tl_disclose(&tl, T0, "ad", NULL);
	tl_pin(&tl, &ad_a, T0 + S(4), 0);
	tl_unpin(&tl, T0 + S(8));
	n = lshop_state_plan_hide(&tl.st, T0 + S(2), evs, &err);
	assert_int_equal(n, 1);
	IS_HIDDEN(evs[0], T0 + S(8), "ad");
	tl_apply(&tl, evs, n);
	/* A show with nothing shown: only its own edge. */
	n = lshop_state_plan_disclose(&tl.st, T0 + S(1), "own", NULL, "en", evs,
				      &err);
	assert_int_equal(n, 1);
	IS_SHOWN(evs[0], T0 + S(8), "own", "Own product", "");
	tl_free(&tl);

	/* Countdowns have their own edge. */
	tl_init(&tl);
	tl_countdown(&tl, T0 + S(10), 60, "one", NULL);
	n = lshop_state_plan_countdown(&tl.st, T0, 30, "two", NULL, evs, &err);
	assert_int_equal(n, 2);
	IS_ENDED(evs[0], T0 + S(10), "one", "");
	IS_STARTED(evs[1], T0 + S(10), T0 + S(40), "two", "");
	/* ... which pins do not move. */
	n = lshop_state_plan_pin(&tl.st, &plain, T0, 0, "en", evs, &err);
	assert_int_equal(n, 1);
	IS_PINNED(evs[0], T0, "sku-plain");
	tl_free(&tl);
}

/* Countdowns */

static void test_countdown(void **state)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	timeline tl;
	char *l60 = repeat("\xf0\x9f\x94\xa5", 60), *l61 = repeat("x", 61);
	size_t n;

	(void)state;
	tl_init(&tl);
	n = lshop_state_plan_countdown(&tl.st, T0, 300, "Nur noch \"kurz\"",
				       "sku-a", evs, &err);
	assert_int_equal(n, 1);
	IS_STARTED(evs[0], T0, T0 + S(300), "Nur noch \"kurz\"", "sku-a");
	tl_apply(&tl, evs, n);

	/* A running countdown ends first; its offer stays pinned. */
	n = lshop_state_plan_countdown(&tl.st, T0 + S(5), 86400, l60, NULL, evs,
				       &err);
	assert_int_equal(n, 2);
	IS_ENDED(evs[0], T0 + S(5), "Nur noch \"kurz\"", "sku-a");
	IS_STARTED(evs[1], T0 + S(5), T0 + S(5) + S(86400), l60, "");
	n = lshop_state_plan_countdown(&tl.st, T0 + S(5), 1, "", "", evs, &err);
	assert_int_equal(n, 2);
	IS_STARTED(evs[1], T0 + S(5), T0 + S(6), "", "");

	/* Refusals name the field. */
	assert_int_equal(
	    lshop_state_plan_countdown(&tl.st, T0, 0, "x", NULL, evs, &err), 0);
	assert_string_equal(err.code, "invalid_field");
	assert_string_equal(err.field, "seconds");
	assert_int_equal(
	    lshop_state_plan_countdown(&tl.st, T0, 86401, "x", NULL, evs, &err),
	    0);
	assert_string_equal(err.field, "seconds");
	assert_int_equal(
	    lshop_state_plan_countdown(&tl.st, T0, -5, "x", NULL, evs, &err),
	    0);
	assert_string_equal(err.field, "seconds");
	assert_int_equal(
	    lshop_state_plan_countdown(&tl.st, T0, 10, l61, NULL, evs, &err),
	    0);
	assert_string_equal(err.field, "label");
	assert_int_equal(
	    lshop_state_plan_countdown(&tl.st, T0, 10, "\xc3", NULL, evs, &err),
	    0);
	assert_string_equal(err.field, "label");
	assert_int_equal(lshop_state_plan_countdown(&tl.st, T0, 10, "x",
						    "no/such", evs, &err),
			 0);
	assert_string_equal(err.field, "offer");
	free(l60);
	free(l61);
	tl_free(&tl);
}

static void test_countdown_stop(void **state)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	timeline tl;
	size_t n;

	(void)state;
	tl_init(&tl);
	assert_int_equal(
	    lshop_state_plan_countdown_stop(&tl.st, T0, evs, &err), 0);
	assert_string_equal(err.code, "not_running");
	tl_pin(&tl, &plain, T0, 0);
	n = lshop_state_plan_countdown(&tl.st, T0 + S(1), 300, "Deal", "sku-plain",
				       evs, &err);
	tl_apply(&tl, evs, n);
	/* stamped no earlier than the countdown's start */
	n = lshop_state_plan_countdown_stop(&tl.st, T0, evs, &err);
	assert_int_equal(n, 1);
	IS_ENDED(evs[0], T0 + S(1), "Deal", "sku-plain");
	n = lshop_state_plan_countdown_stop(&tl.st, T0 + S(30), evs, &err);
	IS_ENDED(evs[0], T0 + S(30), "Deal", "sku-plain");
	tl_apply(&tl, evs, n);
	/* stopped, not run out: the offer stays pinned, nothing is due */
	assert_true(tl.st.pinned && !tl.st.countdown);
	assert_int_equal(lshop_state_due(&tl.st, T0 + S(400), evs), 0);
	assert_int_equal(
	    lshop_state_plan_countdown_stop(&tl.st, T0 + S(31), evs, &err), 0);
	tl_free(&tl);
}

/* The clock */

static void test_due_nothing(void **state)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	timeline tl;

	(void)state;
	tl_init(&tl);
	assert_int_equal(lshop_state_due(&tl.st, T0 + S(99999), evs), 0);
	assert_int_equal(lshop_state_next_due(&tl.st), 0);
	/* A pin without an end and a disclosure never fall due. */
	tl_pin(&tl, &ad_a, T0, 0);
	assert_int_equal(lshop_state_due(&tl.st, T0 + S(99999), evs), 0);
	assert_int_equal(lshop_state_next_due(&tl.st), 0);
	/* Nor anything before its time. */
	tl_countdown(&tl, T0, 10, "x", "sku-a");
	tl_pin(&tl, &ad_b, T0, T0 + S(5));
	assert_int_equal(lshop_state_due(&tl.st, T0 + S(5) - 1, evs), 0);
	tl_free(&tl);
}

static void test_due_countdown_alone(void **state)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	timeline tl;

	(void)state;
	tl_init(&tl);
	tl_pin(&tl, &plain, T0, 0);
	tl_countdown(&tl, T0 + S(1), 10, "Gleich vorbei", NULL);
	assert_int_equal(lshop_state_next_due(&tl.st), T0 + S(11));
	assert_int_equal(lshop_state_due(&tl.st, T0 + S(11) - 1, evs), 0);
	/* However late the clock looks, it is stamped when it ran out. */
	assert_int_equal(lshop_state_due(&tl.st, T0 + S(500), evs), 1);
	IS_ENDED(evs[0], T0 + S(11), "Gleich vorbei", "");
	assert_int_equal(tl_tick(&tl, T0 + S(11)), 1);
	assert_false(tl.st.countdown);
	assert_true(tl.st.pinned);
	assert_int_equal(lshop_state_due(&tl.st, T0 + S(500), evs), 0);
	assert_int_equal(lshop_state_next_due(&tl.st), 0);
	tl_free(&tl);
}

static void test_due_tied_countdown_unpins(void **state)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	timeline tl;
	size_t n;

	(void)state;
	tl_init(&tl);
	tl_pin(&tl, &ad_a, T0, 0);
	tl_countdown(&tl, T0, 30, "Angebot endet", "sku-a");
	n = lshop_state_due(&tl.st, T0 + S(31), evs);
	assert_int_equal(n, 3);
	IS_ENDED(evs[0], T0 + S(30), "Angebot endet", "sku-a");
	IS_UNPINNED(evs[1], T0 + S(30), "sku-a");
	IS_HIDDEN(evs[2], T0 + S(30), "ad");
	tl_apply(&tl, evs, n);
	assert_false(tl.st.pinned || tl.st.countdown || tl.st.disclosure);
	assert_int_equal(lshop_state_due(&tl.st, T0 + S(99), evs), 0);

	/* Tied to an offer that is no longer pinned: it only ends. */
	tl_pin(&tl, &ad_a, T0 + S(40), 0);
	tl_countdown(&tl, T0 + S(40), 30, "x", "sku-a");
	tl_pin(&tl, &ad_b, T0 + S(50), 0);
	n = lshop_state_due(&tl.st, T0 + S(70), evs);
	assert_int_equal(n, 1);
	IS_ENDED(evs[0], T0 + S(70), "x", "sku-a");
	tl_apply(&tl, evs, n);
	assert_string_equal(tl.st.offer.id, "sku-b");
	assert_true(tl.st.disclosure);
	tl_free(&tl);
}

static void test_due_pin_until(void **state)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	timeline tl;
	size_t n;

	(void)state;
	tl_init(&tl);
	tl_pin(&tl, &ad_a, T0, T0 + S(60));
	assert_int_equal(lshop_state_next_due(&tl.st), T0 + S(60));
	assert_int_equal(lshop_state_due(&tl.st, T0 + S(60) - 1, evs), 0);
	n = lshop_state_due(&tl.st, T0 + S(60), evs);
	assert_int_equal(n, 2);
	IS_UNPINNED(evs[0], T0 + S(60), "sku-a");
	IS_HIDDEN(evs[1], T0 + S(60), "ad");
	tl_apply(&tl, evs, n);
	assert_int_equal(lshop_state_next_due(&tl.st), 0);

	/* A plain offer's end takes no stream-wide disclosure with it. */
	tl_disclose(&tl, T0 + S(61), "ad", "Dauerwerbesendung");
	tl_pin(&tl, &plain, T0 + S(62), T0 + S(70));
	n = lshop_state_due(&tl.st, T0 + S(80), evs);
	assert_int_equal(n, 1);
	IS_UNPINNED(evs[0], T0 + S(70), "sku-plain");
	tl_free(&tl);
}

static void test_due_both_at_once(void **state)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	timeline tl;
	size_t n;

	(void)state;
	/* The pin ends first: its offer is unpinned once, at its end; the
	 * tied countdown then only ends. */
	tl_init(&tl);
	tl_pin(&tl, &ad_a, T0, T0 + S(20));
	tl_countdown(&tl, T0, 30, "c", "sku-a");
	assert_int_equal(lshop_state_next_due(&tl.st), T0 + S(20));
	n = lshop_state_due(&tl.st, T0 + S(100), evs);
	assert_int_equal(n, 3);
	IS_UNPINNED(evs[0], T0 + S(20), "sku-a");
	IS_HIDDEN(evs[1], T0 + S(20), "ad");
	IS_ENDED(evs[2], T0 + S(30), "c", "sku-a");
	tl_apply(&tl, evs, n);
	assert_int_equal(lshop_state_due(&tl.st, T0 + S(100), evs), 0);
	tl_free(&tl);

	/* The tied countdown ends first: it unpins; the pin's own end
	 * does not unpin again. */
	tl_init(&tl);
	tl_pin(&tl, &ad_a, T0, T0 + S(60));
	tl_countdown(&tl, T0, 30, "c", "sku-a");
	assert_int_equal(lshop_state_next_due(&tl.st), T0 + S(30));
	n = lshop_state_due(&tl.st, T0 + S(100), evs);
	assert_int_equal(n, 3);
	IS_ENDED(evs[0], T0 + S(30), "c", "sku-a");
	IS_UNPINNED(evs[1], T0 + S(30), "sku-a");
	IS_HIDDEN(evs[2], T0 + S(30), "ad");
	tl_apply(&tl, evs, n);
	assert_int_equal(lshop_state_due(&tl.st, T0 + S(100), evs), 0);
	assert_int_equal(lshop_state_next_due(&tl.st), 0);
	tl_free(&tl);

	/* Both at the same moment, tied: one unpin. */
	tl_init(&tl);
	tl_pin(&tl, &ad_a, T0, T0 + S(30));
	tl_countdown(&tl, T0, 30, "c", "sku-a");
	n = lshop_state_due(&tl.st, T0 + S(30), evs);
	assert_int_equal(n, 3);
	IS_ENDED(evs[0], T0 + S(30), "c", "sku-a");
	IS_UNPINNED(evs[1], T0 + S(30), "sku-a");
	IS_HIDDEN(evs[2], T0 + S(30), "ad");
	tl_free(&tl);

	/* Not tied: each at its own time, in time order. */
	tl_init(&tl);
	tl_pin(&tl, &plain, T0, T0 + S(40));
	tl_countdown(&tl, T0, 30, "c", NULL);
	n = lshop_state_due(&tl.st, T0 + S(50), evs);
	assert_int_equal(n, 2);
	IS_ENDED(evs[0], T0 + S(30), "c", "");
	IS_UNPINNED(evs[1], T0 + S(40), "sku-plain");
	tl_apply(&tl, evs, n);
	tl_free(&tl);

	/* Only the earlier one is due yet. */
	tl_init(&tl);
	tl_pin(&tl, &plain, T0, T0 + S(40));
	tl_countdown(&tl, T0, 30, "c", NULL);
	n = lshop_state_due(&tl.st, T0 + S(35), evs);
	assert_int_equal(n, 1);
	IS_ENDED(evs[0], T0 + S(30), "c", "");
	tl_apply(&tl, evs, n);
	assert_int_equal(lshop_state_next_due(&tl.st), T0 + S(40));
	tl_free(&tl);
}

/*
 * Any sequence of accepted actions keeps the rules: a pinned offer with a
 * disclosure has that disclosure shown, intervals of one class never go
 * back in time, and nothing is unpinned twice (apply would refuse it).
 */
static void test_random_actions_keep_the_rules(void **state)
{
	const lshop_offer *const offers[] = {&plain, &ad_a, &ad_b, &sponsored_c,
					     &affiliate_d};
	lshop_event evs[LSHOP_PLAN_MAX], other[LSHOP_PLAN_MAX];
	int64_t now = T0, last[3] = {0, 0, 0};
	uint32_t rnd = 12345;
	timeline tl;
	size_t n, i, accepted = 0;
	int step, cls, due;

	(void)state;
	tl_init(&tl);
	for (step = 0; step < 3000; step++) {
		n = tl_random_plan(&tl, &rnd, &now, offers, 5, evs);
		if (n == 0)
			continue;
		accepted++;
		assert_true(n <= LSHOP_PLAN_MAX);
		/* One action's events share one moment (the clock's are
		 * each stamped at their own due time). */
		due = lshop_state_due(&tl.st, now, other) > 0;
		for (i = 0; i < n; i++) {
			if (!due)
				assert_int_equal(evs[i].at_ms, evs[0].at_ms);
			cls = evs[i].type == LSHOP_OFFER_PINNED ||
				      evs[i].type == LSHOP_OFFER_UNPINNED
				  ? 0
			      : evs[i].type == LSHOP_COUNTDOWN_STARTED ||
				      evs[i].type == LSHOP_COUNTDOWN_ENDED
				  ? 1
				  : 2;
			assert_true(evs[i].at_ms >= last[cls]);
			last[cls] = evs[i].at_ms;
		}
		tl_apply(&tl, evs, n);
		if (tl.st.pinned && tl.st.offer.disclosure[0]) {
			assert_true(tl.st.disclosure);
			assert_string_equal(tl.st.disclosure_kind,
					    tl.st.offer.disclosure);
		}
	}
	assert_true(accepted > 1000);
	tl_free(&tl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pin_plain),
	    cmocka_unit_test(test_countdown_stop),
	    cmocka_unit_test(test_pin_sponsored_shows_its_disclosure),
	    cmocka_unit_test(test_pin_replaces_sponsored_with_plain),
	    cmocka_unit_test(test_pin_sponsored_after_sponsored),
	    cmocka_unit_test(test_pin_hides_another_kind_first),
	    cmocka_unit_test(test_pin_reties_a_stale_disclosure),
	    cmocka_unit_test(test_stream_wide_disclosure_survives),
	    cmocka_unit_test(test_unpin_hides_only_a_tied_disclosure),
	    cmocka_unit_test(test_hide_refused_while_sponsored_pinned),
	    cmocka_unit_test(test_disclose_another_kind_refused),
	    cmocka_unit_test(test_disclose_texts_and_checks),
	    cmocka_unit_test(test_events_move_forward_to_edges),
	    cmocka_unit_test(test_countdown),
	    cmocka_unit_test(test_due_nothing),
	    cmocka_unit_test(test_due_countdown_alone),
	    cmocka_unit_test(test_due_tied_countdown_unpins),
	    cmocka_unit_test(test_due_pin_until),
	    cmocka_unit_test(test_due_both_at_once),
	    cmocka_unit_test(test_random_actions_keep_the_rules),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
