/*
 * Events (event.h) and the timeline state (state.h).
 */
#include <jansson.h>

#include "lshop/event.h"
#include "lshop/state.h"
#include "lshop/time.h"

#include "testutil.h"

#define T0 INT64_C(1795514400123) /* 2026-11-24T10:00:00.123Z */

static lshop_offer sample_offer(const char *title)
{
	lshop_offer o;

	memset(&o, 0, sizeof(o));
	strcpy(o.id, "sku-123");
	strcpy(o.title, title);
	strcpy(o.price, "19.99");
	strcpy(o.compare_at, "29.99");
	strcpy(o.currency, "EUR");
	o.stock = 50;
	strcpy(o.url, "https://shop.example/p/123");
	strcpy(o.disclosure, "ad");
	return o;
}

static lshop_event make_event(lshop_event_type type, uint64_t seq)
{
	lshop_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.seq = seq;
	ev.type = type;
	ev.at_ms = T0;
	strcpy(ev.stream, "live/demo");
	switch (type) {
	case LSHOP_OFFER_PINNED:
		ev.offer = sample_offer("Vitamin C Serum 30 ml");
		ev.until_ms = T0 + 120000;
		break;
	case LSHOP_COUNTDOWN_STARTED:
		ev.ends_at_ms = T0 + 300000;
		/* fall through */
	case LSHOP_COUNTDOWN_ENDED:
		strcpy(ev.label, "Nur noch \"kurz\"");
		strcpy(ev.offer_id, "sku-123");
		break;
	case LSHOP_DISCLOSURE_SHOWN:
		strcpy(ev.text, "Dauerwerbesendung");
		/* fall through */
	case LSHOP_DISCLOSURE_HIDDEN:
		strcpy(ev.kind, "ad");
		break;
	case LSHOP_STOCK_CHANGED:
		ev.stock = 7;
		strcpy(ev.offer_id, "sku-123");
		break;
	case LSHOP_SHOW_STARTED:
		strcpy(ev.show.id, "glow-20261126");
		strcpy(ev.show.series, "glow");
		strcpy(ev.show.title, "Glow-Up Thursday");
		ev.show.starts_at_ms = T0;
		ev.show.duration_s = 3600;
		ev.show.noffers = 1;
		strcpy(ev.show.offers[0], "sku-123");
		break;
	case LSHOP_SHOW_ENDED:
		strcpy(ev.show.id, "glow-20261126");
		break;
	case LSHOP_QUESTION_PINNED:
		strcpy(ev.question.text, "Passt das auch bei <trockener> Haut?");
		strcpy(ev.question.name, "Anna");
		strcpy(ev.question.answer, "Ja \"sehr\" gut");
		/* fall through */
	case LSHOP_QUESTION_UNPINNED:
		strcpy(ev.question.id, "q7");
		break;
	case LSHOP_POLL_STARTED:
		strcpy(ev.poll.question, "Welche Farbe als n\xc3\xa4" "chstes?");
		strcpy(ev.poll.options[0], "Rot");
		strcpy(ev.poll.options[1], "Blau");
		ev.poll.ends_at_ms = T0 + 60000;
		/* fall through */
	case LSHOP_POLL_ENDED:
		strcpy(ev.poll.id, "p44");
		ev.poll.options_n = 2;
		if (type == LSHOP_POLL_ENDED) {
			ev.poll.counts[0] = 3;
			ev.poll.counts[1] = 5;
		}
		break;
	case LSHOP_PURCHASE_COMPLETED:
		ev.quantity = 2;
		/* fall through */
	default:
		strcpy(ev.offer_id, "sku-123");
	}
	return ev;
}

static void assert_event_equal(const lshop_event *a, const lshop_event *b)
{
	assert_true(a->seq == b->seq);
	assert_int_equal(a->type, b->type);
	assert_true(a->at_ms == b->at_ms);
	assert_string_equal(a->stream, b->stream);
	assert_string_equal(a->offer.id, b->offer.id);
	assert_string_equal(a->offer.title, b->offer.title);
	assert_string_equal(a->offer.price, b->offer.price);
	assert_string_equal(a->offer.compare_at, b->offer.compare_at);
	assert_string_equal(a->offer.currency, b->offer.currency);
	assert_string_equal(a->offer.url, b->offer.url);
	assert_string_equal(a->offer.image, b->offer.image);
	assert_string_equal(a->offer.disclosure, b->offer.disclosure);
	if (a->type == LSHOP_OFFER_PINNED)
		assert_true(a->offer.stock == b->offer.stock);
	assert_true(a->until_ms == b->until_ms);
	assert_string_equal(a->offer_id, b->offer_id);
	assert_true(a->ends_at_ms == b->ends_at_ms);
	assert_string_equal(a->label, b->label);
	assert_string_equal(a->kind, b->kind);
	assert_string_equal(a->text, b->text);
	assert_true(a->stock == b->stock);
	assert_true(a->quantity == b->quantity);
	assert_memory_equal(&a->show, &b->show, sizeof(a->show));
	assert_memory_equal(&a->question, &b->question, sizeof(a->question));
	assert_memory_equal(&a->poll, &b->poll, sizeof(a->poll));
}

static void round_trip(const lshop_event *ev)
{
	lshop_event back;
	lshop_error err;
	size_t len;
	char *s;

	s = lshop_event_to_json(ev, &len);
	assert_non_null(s);
	assert_int_equal(len, strlen(s));
	if (lshop_event_parse(s, len, &back, &err) != 0)
		fail_msg("%s: %s (%s)", s, err.message, err.field);
	assert_event_equal(ev, &back);
	free(s);
}

/* The exact JSON of each type with make_event's data (SPEC §3). */
static const char *const expected_json[LSHOP_EVENT_TYPES] = {
    [LSHOP_OFFER_PINNED] =
	"{\"seq\":17,\"id\":\"live/demo:17\",\"type\":\"offer.pinned\","
	"\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:00:00.123Z\","
	"\"data\":{\"offer\":{\"id\":\"sku-123\",\"title\":\"Vitamin C "
	"Serum 30 ml\",\"price\":\"19.99\",\"currency\":\"EUR\","
	"\"compare_at\":\"29.99\",\"stock\":50,\"url\":\"https://"
	"shop.example/p/123\",\"disclosure\":\"ad\"},\"until\":\"2026-"
	"11-24T10:02:00.123Z\"}}",
    [LSHOP_OFFER_UNPINNED] =
	"{\"seq\":17,\"id\":\"live/demo:17\",\"type\":\"offer."
	"unpinned\",\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:00:"
	"00.123Z\",\"data\":{\"offer_id\":\"sku-123\"}}",
    [LSHOP_COUNTDOWN_STARTED] =
	"{\"seq\":17,\"id\":\"live/demo:17\",\"type\":\"countdown."
	"started\",\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:00:"
	"00.123Z\",\"data\":{\"ends_at\":\"2026-11-24T10:05:00.123Z\","
	"\"label\":\"Nur noch \\\"kurz\\\"\",\"offer_id\":\"sku-123\"}}",
    [LSHOP_COUNTDOWN_ENDED] =
	"{\"seq\":17,\"id\":\"live/demo:17\",\"type\":\"countdown."
	"ended\",\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:00:00."
	"123Z\",\"data\":{\"label\":\"Nur noch \\\"kurz\\\"\","
	"\"offer_id\":\"sku-123\"}}",
    [LSHOP_DISCLOSURE_SHOWN] =
	"{\"seq\":17,\"id\":\"live/demo:17\",\"type\":\"disclosure."
	"shown\",\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:00:00."
	"123Z\",\"data\":{\"kind\":\"ad\",\"text\":\"Dauerwerbesendung\""
	"}}",
    [LSHOP_DISCLOSURE_HIDDEN] =
	"{\"seq\":17,\"id\":\"live/demo:17\",\"type\":\"disclosure."
	"hidden\",\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:00:00."
	"123Z\",\"data\":{\"kind\":\"ad\"}}",
    [LSHOP_STOCK_CHANGED] =
	"{\"seq\":17,\"id\":\"live/demo:17\",\"type\":\"stock.changed\","
	"\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:00:00.123Z\","
	"\"data\":{\"offer_id\":\"sku-123\",\"stock\":7}}",
    [LSHOP_OFFER_SOLD_OUT] =
	"{\"seq\":17,\"id\":\"live/demo:17\",\"type\":\"offer.sold_out\""
	",\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:00:00.123Z\","
	"\"data\":{\"offer_id\":\"sku-123\"}}",
    [LSHOP_PURCHASE_COMPLETED] =
	"{\"seq\":17,\"id\":\"live/demo:17\",\"type\":\"purchase."
	"completed\",\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:00:"
	"00.123Z\",\"data\":{\"offer_id\":\"sku-123\",\"quantity\":2}}",
    [LSHOP_SHOW_STARTED] =
	"{\"seq\":17,\"id\":\"live/demo:17\",\"type\":\"show.started\","
	"\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:00:00.123Z\","
	"\"data\":{\"show\":{\"id\":\"glow-20261126\",\"series\":"
	"\"glow\",\"title\":\"Glow-Up Thursday\",\"starts_at\":"
	"\"2026-11-24T10:00:00.123Z\",\"duration\":3600,\"offers\":"
	"[\"sku-123\"]}}}",
    [LSHOP_SHOW_ENDED] =
	"{\"seq\":17,\"id\":\"live/demo:17\",\"type\":\"show.ended\","
	"\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:00:00.123Z\","
	"\"data\":{\"show_id\":\"glow-20261126\"}}",
    [LSHOP_QUESTION_PINNED] =
	"{\"seq\":17,\"id\":\"live/demo:17\",\"type\":\"question.pinned\","
	"\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:00:00.123Z\","
	"\"data\":{\"id\":\"q7\",\"text\":\"Passt das auch bei <trockener> "
	"Haut?\",\"name\":\"Anna\",\"answer\":\"Ja \\\"sehr\\\" gut\"}}",
    [LSHOP_QUESTION_UNPINNED] =
	"{\"seq\":17,\"id\":\"live/demo:17\",\"type\":\"question."
	"unpinned\",\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:00:"
	"00.123Z\",\"data\":{\"id\":\"q7\"}}",
    [LSHOP_POLL_STARTED] =
	"{\"seq\":17,\"id\":\"live/demo:17\",\"type\":\"poll.started\","
	"\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:00:00.123Z\","
	"\"data\":{\"id\":\"p44\",\"question\":\"Welche Farbe als "
	"n\xc3\xa4" "chstes?\",\"options\":[\"Rot\",\"Blau\"],\"ends_at\":"
	"\"2026-11-24T10:01:00.123Z\"}}",
    [LSHOP_POLL_ENDED] =
	"{\"seq\":17,\"id\":\"live/demo:17\",\"type\":\"poll.ended\","
	"\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:00:00.123Z\","
	"\"data\":{\"id\":\"p44\",\"counts\":[3,5]}}",
};

static void test_every_type_json_and_round_trip(void **state)
{
	lshop_event ev;
	char *s;
	int t;

	(void)state;
	for (t = 0; t < LSHOP_EVENT_TYPES; t++) {
		ev = make_event((lshop_event_type)t, 17);
		s = lshop_event_to_json(&ev, NULL);
		assert_non_null(s);
		assert_string_equal(s, expected_json[t]);
		free(s);
		round_trip(&ev);
	}
}

static void test_optional_data(void **state)
{
	lshop_event ev;
	char *s;

	(void)state;
	/* offer.pinned without an end: no "until". */
	ev = make_event(LSHOP_OFFER_PINNED, 1);
	ev.until_ms = 0;
	s = lshop_event_to_json(&ev, NULL);
	assert_null(strstr(s, "until"));
	free(s);
	round_trip(&ev);
	/* Countdowns without an offer, with an empty label. */
	ev = make_event(LSHOP_COUNTDOWN_STARTED, 2);
	ev.offer_id[0] = '\0';
	ev.label[0] = '\0';
	s = lshop_event_to_json(&ev, NULL);
	assert_null(strstr(s, "offer_id"));
	assert_non_null(strstr(s, "\"label\":\"\""));
	free(s);
	round_trip(&ev);
	ev = make_event(LSHOP_COUNTDOWN_ENDED, 3);
	ev.offer_id[0] = '\0';
	round_trip(&ev);
	/* Stock back to unlimited is null. */
	ev = make_event(LSHOP_STOCK_CHANGED, 4);
	ev.stock = LSHOP_STOCK_UNLIMITED;
	s = lshop_event_to_json(&ev, NULL);
	assert_non_null(strstr(s, "\"stock\":null"));
	free(s);
	round_trip(&ev);
	ev = make_event(LSHOP_STOCK_CHANGED, 5);
	ev.stock = 0;
	round_trip(&ev);
	/* The offer's own optional fields. */
	ev = make_event(LSHOP_OFFER_PINNED, 6);
	ev.offer.stock = LSHOP_STOCK_UNLIMITED;
	ev.offer.compare_at[0] = '\0';
	ev.offer.disclosure[0] = '\0';
	strcpy(ev.offer.image, "https://shop.example/i.jpg");
	round_trip(&ev);
	/* A disclosure shown for an offer names it; a stream-wide one
	 * (make_event's) has no offer_id. */
	ev = make_event(LSHOP_DISCLOSURE_SHOWN, 7);
	s = lshop_event_to_json(&ev, NULL);
	assert_null(strstr(s, "offer_id"));
	free(s);
	strcpy(ev.offer_id, "sku-123");
	s = lshop_event_to_json(&ev, NULL);
	assert_non_null(strstr(s, "\"data\":{\"kind\":\"ad\",\"text\":"
				  "\"Dauerwerbesendung\",\"offer_id\":"
				  "\"sku-123\"}}"));
	free(s);
	round_trip(&ev);
	/* A big seq and a time before 1970. */
	ev = make_event(LSHOP_OFFER_SOLD_OUT, UINT64_C(9007199254740993));
	ev.at_ms = -1;
	round_trip(&ev);
}

static void test_hostile_titles(void **state)
{
	lshop_event ev, back;
	lshop_error err;
	json_t *v;
	size_t i, len;
	char *s, *e120 = repeat("\xc3\xa9", 120);
	char *g120 = repeat("\xf0\x9f\x98\x80", 120);
	const char *titles[N_HOSTILE + 2];

	(void)state;
	for (i = 0; i < N_HOSTILE; i++)
		titles[i] = hostile_titles[i];
	titles[N_HOSTILE] = e120;
	titles[N_HOSTILE + 1] = g120;
	for (i = 0; i < N_HOSTILE + 2; i++) {
		ev = make_event(LSHOP_OFFER_PINNED, 17);
		strcpy(ev.offer.title, titles[i]);
		s = lshop_event_to_json(&ev, &len);
		assert_non_null(s);
		/* Compact JSON, one line: no raw CR or LF. */
		assert_null(memchr(s, '\n', len));
		assert_null(memchr(s, '\r', len));
		assert_int_equal(lshop_event_parse(s, len, &back, &err), 0);
		assert_string_equal(back.offer.title, titles[i]);
		/* Any other JSON parser reads the same title. */
		v = json_loadb(s, len, 0, NULL);
		assert_non_null(v);
		assert_string_equal(
		    json_string_value(json_object_get(
			json_object_get(json_object_get(v, "data"), "offer"),
			"title")),
		    titles[i]);
		json_decref(v);
		free(s);
	}
	free(e120);
	free(g120);
}

static void expect_parse_error(const char *json, const char *code,
			       const char *field)
{
	lshop_event ev;
	lshop_error err;

	memset(&ev, 0x11, sizeof(ev));
	if (lshop_event_parse(json, strlen(json), &ev, &err) == 0)
		fail_msg("accepted %s", json);
	assert_string_equal(err.code, code);
	assert_string_equal(err.field, field);
	assert_true(strlen(err.message) > 5);
	assert_int_equal(((unsigned char *)&ev)[0], 0x11);
}

#define HEAD "\"seq\":17,\"id\":\"live/demo:17\",\"type\":"
#define AT   "\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:00:00.123Z\""

static void test_parse_rejects(void **state)
{
	(void)state;
	expect_parse_error("[]", "invalid_json", "");
	expect_parse_error("{\"seq\":1", "invalid_json", "");
	expect_parse_error("{" HEAD "\"offer.sold_out\"," AT
			   ",\"data\":{\"offer_id\":\"a\"},\"x\":1}",
			   "unknown_field", "x");
	expect_parse_error("{\"seq\":0,\"id\":\"live/demo:0\",\"type\":"
			   "\"offer.sold_out\"," AT
			   ",\"data\":{\"offer_id\":\"a\"}}",
			   "invalid_field", "seq");
	expect_parse_error("{\"seq\":\"17\",\"id\":\"live/demo:17\",\"type\":"
			   "\"offer.sold_out\"," AT
			   ",\"data\":{\"offer_id\":\"a\"}}",
			   "invalid_field", "seq");
	expect_parse_error("{\"id\":\"live/demo:17\",\"type\":"
			   "\"offer.sold_out\"," AT
			   ",\"data\":{\"offer_id\":\"a\"}}",
			   "missing_field", "seq");
	expect_parse_error("{\"seq\":17,\"id\":\"live/demo:18\",\"type\":"
			   "\"offer.sold_out\"," AT
			   ",\"data\":{\"offer_id\":\"a\"}}",
			   "invalid_field", "id");
	expect_parse_error("{" HEAD "\"offer.sold\"," AT
			   ",\"data\":{\"offer_id\":\"a\"}}",
			   "invalid_field", "type");
	expect_parse_error("{" HEAD "\"offer.sold_out\",\"stream\":\"live\","
			   "\"at\":\"2026-11-24T10:00:00.123Z\","
			   "\"data\":{\"offer_id\":\"a\"}}",
			   "invalid_field", "stream");
	expect_parse_error("{" HEAD "\"offer.sold_out\",\"stream\":"
			   "\"live/demo\",\"at\":\"yesterday\","
			   "\"data\":{\"offer_id\":\"a\"}}",
			   "invalid_field", "at");
	expect_parse_error("{" HEAD "\"offer.sold_out\"," AT "}",
			   "missing_field", "data");
	expect_parse_error("{" HEAD "\"offer.sold_out\"," AT ",\"data\":[]}",
			   "invalid_field", "data");
	expect_parse_error("{" HEAD "\"offer.sold_out\"," AT
			   ",\"data\":{\"offer_id\":\"a b\"}}",
			   "invalid_field", "data.offer_id");
	expect_parse_error("{" HEAD "\"offer.sold_out\"," AT ",\"data\":{}}",
			   "missing_field", "data.offer_id");
	expect_parse_error("{" HEAD "\"offer.pinned\"," AT
			   ",\"data\":{\"offer_id\":\"a\"}}",
			   "unknown_field", "data.offer_id");
	expect_parse_error("{" HEAD "\"offer.pinned\"," AT ",\"data\":{}}",
			   "missing_field", "data.offer");
	expect_parse_error("{" HEAD "\"offer.pinned\"," AT
			   ",\"data\":{\"offer\":{\"id\":\"a\",\"title\":\"t\","
			   "\"price\":19.99,\"currency\":\"EUR\",\"url\":"
			   "\"http://h\"}}}",
			   "invalid_field", "data.offer.price");
	expect_parse_error("{" HEAD "\"offer.pinned\"," AT
			   ",\"data\":{\"offer\":{\"id\":\"a\",\"title\":"
			   "\"\xff\",\"price\":\"1\",\"currency\":\"EUR\","
			   "\"url\":\"http://h\"}}}",
			   "invalid_field", "data.offer.title");
	expect_parse_error("{" HEAD "\"offer.pinned\"," AT
			   ",\"data\":{\"offer\":[]}}",
			   "invalid_field", "data.offer");
	expect_parse_error("{" HEAD "\"stock.changed\"," AT
			   ",\"data\":{\"offer_id\":\"a\",\"stock\":-2}}",
			   "invalid_field", "data.stock");
	expect_parse_error("{" HEAD "\"purchase.completed\"," AT
			   ",\"data\":{\"offer_id\":\"a\",\"quantity\":0}}",
			   "invalid_field", "data.quantity");
	expect_parse_error("{" HEAD "\"disclosure.shown\"," AT
			   ",\"data\":{\"kind\":\"paid\",\"text\":\"x\"}}",
			   "invalid_field", "data.kind");
	expect_parse_error("{" HEAD "\"disclosure.shown\"," AT
			   ",\"data\":{\"kind\":\"ad\",\"text\":\"x\","
			   "\"offer_id\":\"a/b\"}}",
			   "invalid_field", "data.offer_id");
	expect_parse_error("{" HEAD "\"disclosure.hidden\"," AT
			   ",\"data\":{\"kind\":\"ad\",\"offer_id\":\"a\"}}",
			   "unknown_field", "data.offer_id");
	expect_parse_error("{" HEAD "\"countdown.started\"," AT
			   ",\"data\":{\"label\":\"x\"}}",
			   "missing_field", "data.ends_at");
}

static void test_type_names(void **state)
{
	lshop_event_type t;
	char id[16];
	int i;

	(void)state;
	for (i = 0; i < LSHOP_EVENT_TYPES; i++) {
		const char *name = lshop_event_type_name((lshop_event_type)i);

		assert_non_null(name);
		assert_int_equal(lshop_event_type_parse(name, strlen(name), &t),
				 0);
		assert_int_equal(t, i);
	}
	assert_null(lshop_event_type_name(LSHOP_EVENT_TYPES));
	assert_null(lshop_event_type_name((lshop_event_type)-1));
	assert_int_equal(lshop_event_type_parse("offer.pinnedx", 13, &t), -1);
	assert_int_equal(lshop_event_type_parse("offer.pinned", 11, &t), -1);
	assert_string_equal(lshop_event_class(LSHOP_OFFER_PINNED),
			    "org.liveshop.offer");
	assert_string_equal(lshop_event_class(LSHOP_OFFER_UNPINNED),
			    "org.liveshop.offer");
	assert_string_equal(lshop_event_class(LSHOP_COUNTDOWN_STARTED),
			    "org.liveshop.countdown");
	assert_string_equal(lshop_event_class(LSHOP_DISCLOSURE_SHOWN),
			    "org.liveshop.disclosure");
	assert_null(lshop_event_class(LSHOP_STOCK_CHANGED));
	assert_null(lshop_event_class(LSHOP_PURCHASE_COMPLETED));
	assert_int_equal(lshop_event_id(id, sizeof(id), "live/demo", 17), 12);
	assert_string_equal(id, "live/demo:17");
	/* snprintf style: the full length, output cut to the buffer. */
	assert_int_equal(lshop_event_id(id, 5, "live/demo", 17), 12);
	assert_string_equal(id, "live");
}

/* State */

static void apply_ok(lshop_state *st, const lshop_event *ev)
{
	lshop_error err;

	if (lshop_state_apply(st, ev, &err) != 0)
		fail_msg("apply %d: %s", (int)ev->type, err.message);
}

static void test_state_apply(void **state)
{
	lshop_state st;
	lshop_event ev;

	(void)state;
	lshop_state_init(&st);
	assert_true(st.seq == 0);
	assert_false(st.pinned);

	ev = make_event(LSHOP_OFFER_PINNED, 1);
	apply_ok(&st, &ev);
	assert_true(st.pinned);
	assert_true(st.pin_seq == 1);
	assert_true(st.pin_at_ms == T0);
	assert_true(st.pin_until_ms == T0 + 120000);
	assert_string_equal(st.offer.title, "Vitamin C Serum 30 ml");

	ev = make_event(LSHOP_COUNTDOWN_STARTED, 2);
	apply_ok(&st, &ev);
	assert_true(st.countdown);
	assert_true(st.countdown_seq == 2);
	assert_true(st.countdown_ends_at_ms == T0 + 300000);
	assert_string_equal(st.countdown_label, "Nur noch \"kurz\"");
	assert_string_equal(st.countdown_offer_id, "sku-123");

	ev = make_event(LSHOP_DISCLOSURE_SHOWN, 3);
	apply_ok(&st, &ev);
	assert_true(st.disclosure);
	assert_true(st.disclosure_seq == 3);
	assert_string_equal(st.disclosure_kind, "ad");
	assert_string_equal(st.disclosure_text, "Dauerwerbesendung");

	/* Stock, sold-out and purchases only move seq on. */
	ev = make_event(LSHOP_STOCK_CHANGED, 4);
	apply_ok(&st, &ev);
	ev = make_event(LSHOP_OFFER_SOLD_OUT, 5);
	apply_ok(&st, &ev);
	ev = make_event(LSHOP_PURCHASE_COMPLETED, 6);
	apply_ok(&st, &ev);
	assert_true(st.seq == 6);
	assert_true(st.pinned && st.countdown && st.disclosure);

	/* Pinning another offer replaces the pinned one. */
	ev = make_event(LSHOP_OFFER_PINNED, 7);
	strcpy(ev.offer.id, "sku-2");
	ev.until_ms = 0;
	apply_ok(&st, &ev);
	assert_string_equal(st.offer.id, "sku-2");
	assert_true(st.pin_seq == 7);
	assert_true(st.pin_until_ms == 0);

	ev = make_event(LSHOP_COUNTDOWN_ENDED, 8);
	apply_ok(&st, &ev);
	assert_false(st.countdown);
	ev = make_event(LSHOP_DISCLOSURE_HIDDEN, 9);
	apply_ok(&st, &ev);
	assert_false(st.disclosure);
	ev = make_event(LSHOP_OFFER_UNPINNED, 10);
	strcpy(ev.offer_id, "sku-2");
	apply_ok(&st, &ev);
	assert_false(st.pinned);
	assert_true(st.seq == 10);
}

static void test_state_edges_and_tie(void **state)
{
	lshop_state st;
	lshop_event ev;

	(void)state;
	lshop_state_init(&st);
	assert_true(st.countdown_edge_ms == 0);
	assert_true(st.disclosure_edge_ms == 0);
	assert_string_equal(st.disclosure_offer_id, "");

	/* A disclosure shown for an offer is tied to it. */
	ev = make_event(LSHOP_DISCLOSURE_SHOWN, 1);
	strcpy(ev.offer_id, "sku-123");
	ev.at_ms = T0 + 1000;
	apply_ok(&st, &ev);
	assert_string_equal(st.disclosure_offer_id, "sku-123");
	assert_true(st.disclosure_edge_ms == T0 + 1000);
	assert_true(st.pin_edge_ms == 0);
	assert_true(st.countdown_edge_ms == 0);

	/* Each class moves its own edge, forward only. */
	ev = make_event(LSHOP_DISCLOSURE_HIDDEN, 2);
	ev.at_ms = T0 + 500;
	apply_ok(&st, &ev);
	assert_false(st.disclosure);
	assert_string_equal(st.disclosure_offer_id, "");
	assert_true(st.disclosure_edge_ms == T0 + 1000);
	ev = make_event(LSHOP_DISCLOSURE_SHOWN, 3); /* stream-wide */
	ev.at_ms = T0 + 3000;
	apply_ok(&st, &ev);
	assert_string_equal(st.disclosure_offer_id, "");
	assert_true(st.disclosure_edge_ms == T0 + 3000);

	ev = make_event(LSHOP_COUNTDOWN_STARTED, 4);
	ev.at_ms = T0 + 2000;
	apply_ok(&st, &ev);
	assert_true(st.countdown_edge_ms == T0 + 2000);
	ev = make_event(LSHOP_COUNTDOWN_ENDED, 5);
	ev.at_ms = T0 + 7000;
	apply_ok(&st, &ev);
	assert_true(st.countdown_edge_ms == T0 + 7000);
	ev = make_event(LSHOP_COUNTDOWN_STARTED, 6);
	ev.at_ms = T0 + 6000;
	apply_ok(&st, &ev);
	assert_true(st.countdown_edge_ms == T0 + 7000);

	ev = make_event(LSHOP_OFFER_PINNED, 7);
	ev.at_ms = T0 + 4000;
	apply_ok(&st, &ev);
	assert_true(st.pin_edge_ms == T0 + 4000);
	assert_true(st.disclosure_edge_ms == T0 + 3000);
	assert_true(st.countdown_edge_ms == T0 + 7000);

	/* Events outside the intervals move no edge. */
	ev = make_event(LSHOP_PURCHASE_COMPLETED, 8);
	ev.at_ms = T0 + 99000;
	apply_ok(&st, &ev);
	assert_true(st.pin_edge_ms == T0 + 4000);
	assert_true(st.disclosure_edge_ms == T0 + 3000);
	assert_true(st.countdown_edge_ms == T0 + 7000);
}

static void test_state_errors(void **state)
{
	lshop_state st, before;
	lshop_event ev;
	lshop_error err;

	(void)state;
	lshop_state_init(&st);
	ev = make_event(LSHOP_OFFER_PINNED, 2);
	before = st;
	assert_int_equal(lshop_state_apply(&st, &ev, &err), -1);
	assert_string_equal(err.code, "seq_gap");
	assert_memory_equal(&st, &before, sizeof(st));
	ev.seq = 0;
	assert_int_equal(lshop_state_apply(&st, &ev, &err), -1);
	assert_string_equal(err.code, "seq_gap");

	/* Unpinning when nothing is pinned. */
	ev = make_event(LSHOP_OFFER_UNPINNED, 1);
	assert_int_equal(lshop_state_apply(&st, &ev, &err), -1);
	assert_string_equal(err.code, "not_pinned");
	assert_memory_equal(&st, &before, sizeof(st));

	/* Unpinning another offer than the pinned one. */
	ev = make_event(LSHOP_OFFER_PINNED, 1);
	apply_ok(&st, &ev);
	before = st;
	ev = make_event(LSHOP_OFFER_UNPINNED, 2);
	strcpy(ev.offer_id, "sku-999");
	assert_int_equal(lshop_state_apply(&st, &ev, &err), -1);
	assert_string_equal(err.code, "not_pinned");
	assert_memory_equal(&st, &before, sizeof(st));

	/* The same seq twice is a gap too (replays never double). */
	ev = make_event(LSHOP_OFFER_PINNED, 1);
	assert_int_equal(lshop_state_apply(&st, &ev, &err), -1);
	assert_string_equal(err.code, "seq_gap");
}

static void test_state_json_empty(void **state)
{
	lshop_state st;
	size_t len;
	char *s;

	(void)state;
	lshop_state_init(&st);
	s = lshop_state_to_json(&st, "live/demo", T0, NULL, 0, &len);
	assert_non_null(s);
	assert_string_equal(s, "{\"stream\":\"live/demo\",\"seq\":0,\"at\":"
			       "\"2026-11-24T10:00:00.123Z\",\"pinned\":null,"
			       "\"countdown\":null,\"disclosure\":null,"
			       "\"show\":null,\"question\":null,"
			       "\"poll\":null,\"viewers\":0,\"stock\":{}}");
	assert_int_equal(len, strlen(s));
	free(s);
}

static void test_state_json_full(void **state)
{
	const lshop_stock_entry stock[] = {
	    {"sku-123", 50}, {"sku-free", LSHOP_STOCK_UNLIMITED}, {"sku-0", 0}};
	lshop_state st;
	lshop_event ev;
	char *s;

	(void)state;
	lshop_state_init(&st);
	ev = make_event(LSHOP_OFFER_PINNED, 1);
	apply_ok(&st, &ev);
	ev = make_event(LSHOP_COUNTDOWN_STARTED, 2);
	ev.at_ms = T0 + 1000;
	apply_ok(&st, &ev);
	ev = make_event(LSHOP_DISCLOSURE_SHOWN, 3);
	ev.at_ms = T0 + 2000;
	apply_ok(&st, &ev);
	s = lshop_state_to_json(&st, "live/demo", T0 + 5000, stock, 3, NULL);
	assert_non_null(s);
	assert_string_equal(
	    s, "{\"stream\":\"live/demo\",\"seq\":3,\"at\":\"2026-11-24T10:"
	       "00:05.123Z\",\"pinned\":{\"id\":\"live/demo:1\",\"since\":"
	       "\"2026-11-24T10:00:00.123Z\",\"until\":\"2026-11-24T10:02:00."
	       "123Z\",\"offer\":{\"id\":\"sku-123\",\"title\":\"Vitamin C "
	       "Serum 30 ml\",\"price\":\"19.99\",\"currency\":\"EUR\","
	       "\"compare_at\":\"29.99\",\"stock\":50,\"url\":\"https://"
	       "shop.example/p/123\",\"disclosure\":\"ad\"}},\"countdown\":{"
	       "\"id\":\"live/demo:2\",\"since\":\"2026-11-24T10:00:01.123Z\","
	       "\"ends_at\":\"2026-11-24T10:05:00.123Z\",\"label\":\"Nur noch "
	       "\\\"kurz\\\"\",\"offer_id\":\"sku-123\"},\"disclosure\":{"
	       "\"id\":\"live/demo:3\",\"since\":\"2026-11-24T10:00:02.123Z\","
	       "\"kind\":\"ad\",\"text\":\"Dauerwerbesendung\"},\"show\":"
	       "null,\"question\":null,\"poll\":null,\"viewers\":0,\"stock\":{\"sku-123\":50,\"sku-0\":0}}");
	free(s);

	/* Without until and countdown offer: those keys are left out. */
	ev = make_event(LSHOP_OFFER_PINNED, 4);
	ev.until_ms = 0;
	apply_ok(&st, &ev);
	ev = make_event(LSHOP_COUNTDOWN_STARTED, 5);
	ev.offer_id[0] = '\0';
	apply_ok(&st, &ev);
	s = lshop_state_to_json(&st, "live/demo", T0, NULL, 0, NULL);
	assert_null(strstr(s, "until"));
	assert_null(strstr(s, "offer_id"));
	assert_non_null(strstr(s, "\"id\":\"live/demo:4\""));
	free(s);
}

/* SPEC §14: the show on air, its plans, its JSON read back. */
static void test_show_on_air(void **state)
{
	lshop_event out[LSHOP_PLAN_MAX], ev;
	lshop_state st, back;
	lshop_error err;
	char stream[LSHOP_STREAM_MAX + 1], *s;
	size_t n;

	(void)state;
	lshop_state_init(&st);
	n = lshop_state_plan_show_end(&st, NULL, T0, out, &err);
	assert_int_equal(n, 0);
	assert_string_equal(err.code, "not_live");

	ev = make_event(LSHOP_SHOW_STARTED, 1);
	memset(&out[0].show, 0, sizeof(out[0].show));
	n = lshop_state_plan_show_start(&st, &out[0].show, T0, out, &err);
	assert_int_equal(n, 0); /* no id, no title */
	n = lshop_state_plan_show_start(&st, &ev.show, T0, out, &err);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].type, LSHOP_SHOW_STARTED);
	out[0].seq = 1;
	strcpy(out[0].stream, "live/demo");
	apply_ok(&st, &out[0]);
	assert_true(st.show_live && st.show_seq == 1);

	/* a second show ends the first, never earlier than it began */
	strcpy(ev.show.id, "special");
	n = lshop_state_plan_show_start(&st, &ev.show, T0 - 5000, out, &err);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].type, LSHOP_SHOW_ENDED);
	assert_string_equal(out[0].show.id, "glow-20261126");
	assert_int_equal(out[1].type, LSHOP_SHOW_STARTED);
	assert_true(out[0].at_ms == T0 && out[1].at_ms == T0);
	out[0].seq = 2;
	out[1].seq = 3;
	strcpy(out[0].stream, "live/demo");
	strcpy(out[1].stream, "live/demo");
	apply_ok(&st, &out[0]);
	apply_ok(&st, &out[1]);

	st.viewers = 42;
	s = lshop_state_to_json(&st, "live/demo", T0, NULL, 0, NULL);
	assert_non_null(strstr(s, "\"show\":{\"id\":\"live/demo:3\","
				  "\"since\":\"2026-11-24T10:00:00.123Z\","
				  "\"show\":{\"id\":\"special\""));
	assert_non_null(strstr(s, "\"viewers\":42"));
	assert_int_equal(lshop_state_parse(s, strlen(s), &back, stream, NULL, 0,
					   NULL, &err),
			 0);
	assert_true(back.show_live && back.show_seq == 3 && back.viewers == 42);
	free(s);
	s = lshop_show_to_json(&st.show, NULL);
	{
		char *t = lshop_show_to_json(&back.show, NULL);

		assert_string_equal(s, t);
		free(t);
	}
	free(s);

	n = lshop_state_plan_show_end(&st, "glow-20261126", T0, out, &err);
	assert_int_equal(n, 0); /* not the one on air */
	n = lshop_state_plan_show_end(&st, "special", T0 + 1000, out, &err);
	assert_int_equal(n, 1);
	assert_string_equal(out[0].show.id, "special");
}

static void test_state_rebuilt_from_events(void **state)
{
	lshop_state live, replay;
	lshop_event evs[6];
	lshop_error err;
	char *json, *a, *b;
	size_t i, len;

	(void)state;
	evs[0] = make_event(LSHOP_OFFER_PINNED, 1);
	strcpy(evs[0].offer.title, hostile_titles[0]);
	evs[1] = make_event(LSHOP_DISCLOSURE_SHOWN, 2);
	evs[2] = make_event(LSHOP_COUNTDOWN_STARTED, 3);
	evs[3] = make_event(LSHOP_PURCHASE_COMPLETED, 4);
	evs[4] = make_event(LSHOP_COUNTDOWN_ENDED, 5);
	evs[5] = make_event(LSHOP_STOCK_CHANGED, 6);
	lshop_state_init(&live);
	lshop_state_init(&replay);
	for (i = 0; i < 6; i++) {
		lshop_event back;

		apply_ok(&live, &evs[i]);
		/* The journal holds JSON: replay from it. */
		json = lshop_event_to_json(&evs[i], &len);
		assert_int_equal(lshop_event_parse(json, len, &back, &err), 0);
		apply_ok(&replay, &back);
		free(json);
	}
	a = lshop_state_to_json(&live, "live/demo", T0, NULL, 0, NULL);
	b = lshop_state_to_json(&replay, "live/demo", T0, NULL, 0, NULL);
	assert_string_equal(a, b);
	free(a);
	free(b);
}

/* Applies planned events in order, numbering them as the store does. */
static void apply_planned(lshop_state *st, lshop_event *evs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		evs[i].seq = st->seq + 1;
		apply_ok(st, &evs[i]);
	}
}

static void test_plan_pin_replaces_and_never_overlaps(void **state)
{
	lshop_state st;
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_offer a = sample_offer("first"), b = sample_offer("second");
	lshop_error err;
	size_t n;

	(void)state;
	/* No disclosure: only pin intervals (test_plan covers the rest). */
	a.disclosure[0] = '\0';
	b.disclosure[0] = '\0';
	strcpy(b.id, "sku-456");
	lshop_state_init(&st);

	n = lshop_state_plan_pin(&st, &a, T0, 0, "en", evs, &err);
	assert_int_equal(n, 1);
	assert_int_equal(evs[0].type, LSHOP_OFFER_PINNED);
	assert_true(evs[0].at_ms == T0);
	apply_planned(&st, evs, n);

	/* a second pin, stamped 5 s before the first began */
	n = lshop_state_plan_pin(&st, &b, T0 - 5000, T0 + 60000, "en", evs,
				 &err);
	assert_int_equal(n, 2);
	assert_int_equal(evs[0].type, LSHOP_OFFER_UNPINNED);
	assert_string_equal(evs[0].offer_id, a.id);
	assert_int_equal(evs[1].type, LSHOP_OFFER_PINNED);
	assert_string_equal(evs[1].offer.id, "sku-456");
	assert_string_equal(evs[1].offer.title, "second");
	/* moved forward to the first pin's start: no overlap */
	assert_true(evs[0].at_ms == T0);
	assert_true(evs[1].at_ms == T0);
	assert_true(evs[1].until_ms == T0 + 60000);
	apply_planned(&st, evs, n);
	assert_string_equal(st.offer.id, "sku-456");
	assert_true(st.seq == 3);

	/* an end before the (moved) start is refused */
	n = lshop_state_plan_pin(&st, &a, T0 - 9000, T0 - 1000, "en", evs,
				 &err);
	assert_int_equal(n, 0);
	assert_string_equal(err.field, "duration");
}

static void test_plan_unpin(void **state)
{
	lshop_state st;
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_offer a = sample_offer("first");
	lshop_error err;

	(void)state;
	a.disclosure[0] = '\0';
	lshop_state_init(&st);
	assert_int_equal(lshop_state_plan_unpin(&st, T0, evs, &err), 0);
	assert_string_equal(err.code, "not_pinned");

	apply_planned(&st, evs,
		      lshop_state_plan_pin(&st, &a, T0, 0, "en", evs, &err));
	assert_int_equal(lshop_state_plan_unpin(&st, T0 - 3000, evs, &err), 1);
	assert_int_equal(evs[0].type, LSHOP_OFFER_UNPINNED);
	assert_string_equal(evs[0].offer_id, a.id);
	assert_true(evs[0].at_ms == T0);
	apply_planned(&st, evs, 1);
	assert_false(st.pinned);
	assert_true(st.pin_edge_ms == T0);
}

static void test_stock_events(void **state)
{
	lshop_event evs[2];

	(void)state;
	assert_int_equal(lshop_stock_events("sku-1", 5, 5, T0, evs), 0);
	assert_int_equal(
	    lshop_stock_events("sku-1", 5, LSHOP_STOCK_UNLIMITED, T0, evs), 0);
	assert_int_equal(lshop_stock_events("sku-1", 5, 3, T0, evs), 1);
	assert_int_equal(evs[0].type, LSHOP_STOCK_CHANGED);
	assert_string_equal(evs[0].offer_id, "sku-1");
	assert_true(evs[0].stock == 3);
	assert_int_equal(lshop_stock_events("sku-1", 3, 0, T0, evs), 2);
	assert_int_equal(evs[0].type, LSHOP_STOCK_CHANGED);
	assert_true(evs[0].stock == 0);
	assert_int_equal(evs[1].type, LSHOP_OFFER_SOLD_OUT);
	assert_string_equal(evs[1].offer_id, "sku-1");
	assert_true(evs[1].at_ms == T0);
}

static void test_event_opens(void **state)
{
	(void)state;
	assert_true(lshop_event_opens(LSHOP_OFFER_PINNED));
	assert_true(lshop_event_opens(LSHOP_COUNTDOWN_STARTED));
	assert_true(lshop_event_opens(LSHOP_DISCLOSURE_SHOWN));
	assert_false(lshop_event_opens(LSHOP_OFFER_UNPINNED));
	assert_false(lshop_event_opens(LSHOP_COUNTDOWN_ENDED));
	assert_false(lshop_event_opens(LSHOP_DISCLOSURE_HIDDEN));
	assert_false(lshop_event_opens(LSHOP_STOCK_CHANGED));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_type_json_and_round_trip),
	    cmocka_unit_test(test_optional_data),
	    cmocka_unit_test(test_hostile_titles),
	    cmocka_unit_test(test_parse_rejects),
	    cmocka_unit_test(test_type_names),
	    cmocka_unit_test(test_state_apply),
	    cmocka_unit_test(test_state_edges_and_tie),
	    cmocka_unit_test(test_state_errors),
	    cmocka_unit_test(test_state_json_empty),
	    cmocka_unit_test(test_state_json_full),
	    cmocka_unit_test(test_state_rebuilt_from_events),
	    cmocka_unit_test(test_plan_pin_replaces_and_never_overlaps),
	    cmocka_unit_test(test_plan_unpin),
	    cmocka_unit_test(test_stock_events),
	    cmocka_unit_test(test_event_opens),
	    cmocka_unit_test(test_show_on_air),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
