/*
 * The shop_link (shop-link.c) without a server: the view and its
 * generation, what the worker's answers do (2xx, refusals, a stale
 * "at", 401, unreachable), the SSE stream fed as bytes (the audience
 * message, where the stream resumes), a show's report, new settings,
 * the log (never the token), and a stop within a second mid-request.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "plugin_test.h"
#include "shop-link-internal.h"

#define TOKEN "ls1.SECRET-TOKEN-never-logged"

static char logged[16384];

static void capture(int level, const char *msg)
{
	size_t at = strlen(logged);

	snprintf(logged + at, sizeof(logged) - at, "%d %s\n", level, msg);
}

static shop_link *link_;
static shop_view *v;

/* A link whose worker has nothing to do: no server. */
static int setup(void **state)
{
	shop_settings s;
	char *cat = catalog_json(3);

	(void)state;
	logged[0] = '\0';
	shop_link_set_log(capture);
	shop_settings_init(&s);
	strcpy(s.stream, STREAM); /* no server: the worker stays idle */
	strcpy(s.token, TOKEN);
	link_ = shop_link_new(&s);
	assert_non_null(link_);
	v = calloc(1, sizeof(*v));
	assert_non_null(v);
	assert_int_equal(
	    shop_link_on_catalog(link_, link_->settings_gen, cat, strlen(cat)),
	    0);
	free(cat);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	shop_link_free(link_);
	free(v);
	assert_null(strstr(logged, "SECRET-TOKEN"));
	shop_link_set_log(NULL);
	return 0;
}

/* The view as the overlay gets it. shop_link_view never waits: 0 means
 * the worker holds the lock for a moment (it wakes on every press), and
 * the overlay draws its last copy. Here: try again, for up to 1 s. */
/* 1 once attempt(arg) has said 1, trying every ms for up to 1 s */
static int within_1s(int (*attempt)(void *), void *arg)
{
	const struct timespec ms = {0, 1000000};
	int i;

	for (i = 0; i < 1000; i++) {
		if (attempt(arg))
			return 1;
		nanosleep(&ms, NULL);
	}
	return 0;
}

static int try_view(void *arg)
{
	(void)arg;
	return shop_link_view(link_, v);
}

static void view(void)
{
	if (!within_1s(try_view, NULL))
		fail_msg("the link's lock stayed busy for 1 s");
}

static void test_view_generation(void **state)
{
	uint64_t g;
	lshop_error err;

	(void)state;
	view();
	assert_int_equal(v->status, SHOP_UNCONFIGURED);
	assert_int_equal(v->ncatalog, 3);
	g = v->generation;
	assert_true(g > 0);
	/* not copied again while the generation stands */
	v->pending = 77;
	view();
	assert_int_equal(v->pending, 77);
	assert_int_equal(v->generation, g);
	/* an action moves it, and shows at once */
	assert_int_equal(shop_link_pin_slot(link_, 2, T0, &err), 0);
	view();
	assert_true(v->generation > g);
	assert_int_equal(v->pending, 1);
	assert_true(v->pinned);
	assert_string_equal(v->offer.id, "b");
	/* busy lock: 0, and out as it was */
	pthread_mutex_lock(&link_->lock);
	assert_int_equal(shop_link_view(link_, v), 0);
	pthread_mutex_unlock(&link_->lock);
}

static void test_action_errors(void **state)
{
	lshop_error err;

	(void)state;
	assert_int_equal(shop_link_pin(link_, "zz", T0, &err), -1);
	assert_string_equal(err.code, "unknown_offer");
	assert_int_equal(shop_link_pin(link_, "no way", T0, &err), -1);
	assert_string_equal(err.field, "offer");
	assert_int_equal(shop_link_pin_slot(link_, 4, T0, &err), -1);
	assert_string_equal(err.code, "unknown_offer");
	assert_int_equal(shop_link_pin_slot(link_, 0, T0, &err), -1);
	assert_string_equal(err.field, "slot");
	assert_int_equal(shop_link_unpin(link_, T0, &err), -1);
	assert_string_equal(err.code, "not_pinned");
	assert_int_equal(shop_link_countdown(link_, 0, NULL, "zz", T0, &err),
			 -1);
	assert_string_equal(err.code, "unknown_offer");
	assert_int_equal(shop_link_disclosure(link_, 1, "nope", NULL, T0, &err),
			 -1);
	assert_string_equal(err.field, "kind");
	view();
	assert_int_equal(v->pending, 0);

	/* the settings' countdown and disclosure kind by default */
	assert_int_equal(shop_link_countdown(link_, 0, NULL, "a", T0, &err), 0);
	assert_int_equal(shop_link_toggle_disclosure(link_, T0, &err), 0);
	view();
	assert_int_equal(v->countdown_ends_at_ms, T0 + 300 * 1000);
	assert_true(v->disclosure);
	assert_string_equal(v->disclosure_kind, "ad");
	assert_int_equal(shop_link_toggle_disclosure(link_, T0 + 1, &err), 0);
	view();
	assert_false(v->disclosure);
	assert_int_equal(v->pending, 3);
}

static const char *event_json(uint64_t seq, const char *type_data)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf),
		 "{\"seq\":%llu,\"id\":\"live/demo:%llu\",%s}",
		 (unsigned long long)seq, (unsigned long long)seq, type_data);
	return buf;
}

static char hook_seen[128];

static void note_hook(shop_link *l, const char *what)
{
	(void)l;
	strncat(hook_seen, what, sizeof(hook_seen) - strlen(hook_seen) - 2);
	strcat(hook_seen, " ");
}

static json_t *usd_of(json_t *sales)
{
	return json_object_get(json_object_get(sales, "gmv_by_currency"),
			       "USD");
}

static void test_answers(void **state)
{
	uint64_t gen = link_->settings_gen;
	const char *ev;
	lshop_error err;
	int resync;

	(void)state;
	assert_int_equal(shop_link_pin(link_, "a", T0, &err), 0);
	assert_int_equal(shop_link_unpin(link_, T0 + 1, &err), 0);
	assert_int_equal(shop_link_pin(link_, "c", T0 + 2, &err), 0);

	/* unreachable: kept, offline, the reason shown */
	assert_int_equal(shop_link_on_answer(link_, gen, 0,
					     "Connection refused", 18, &resync),
			 SHOP_NEXT_RETRY_BACKOFF);
	view();
	assert_int_equal(v->pending, 3);
	/* (unconfigured wins over offline in the status; the flag is set) */
	assert_true(link_->offline);
	assert_non_null(strstr(link_->status_message, "Connection refused"));

	/* 401: refused, kept */
	ev = "{\"error\":{\"code\":\"unauthorized\",\"field\":\"\","
	     "\"message\":\"the token is forged\"}}";
	assert_int_equal(
	    shop_link_on_answer(link_, gen, 401, ev, strlen(ev), &resync),
	    SHOP_NEXT_RETRY_SLOW);
	assert_true(link_->refused);
	assert_non_null(strstr(link_->status_message, "the token is forged"));
	view();
	assert_int_equal(v->pending, 3);

	/* accepted: the next goes */
	ev =
	    event_json(1, "\"type\":\"offer.pinned\",\"stream\":\"live/demo\","
			  "\"at\":\"2026-11-24T10:00:00.123Z\",\"data\":{"
			  "\"offer\":{\"id\":\"a\",\"title\":\"Title of a\","
			  "\"price\":\"19.99\",\"currency\":\"EUR\","
			  "\"stock\":5,\"url\":\"https://shop.example/p/a\"}}");
	assert_int_equal(
	    shop_link_on_answer(link_, gen, 200, ev, strlen(ev), &resync),
	    SHOP_NEXT_GO);
	assert_true(resync); /* no SSE stream: the state is fetched */
	assert_null(strstr(logged, "not an event"));
	assert_int_equal(shop_model_next(link_->model)->type,
			 SHOP_ACTION_UNPIN);
	assert_int_equal(link_->model->queue[link_->model->qhead].answered_seq,
			 1);
	assert_false(link_->refused);
	view();
	assert_int_equal(v->pending, 2);
	assert_string_equal(v->offer.id, "c");

	/* "at" too old: sent again without it, once, and said so */
	ev = "{\"error\":{\"code\":\"invalid_field\",\"field\":\"at\","
	     "\"message\":\"at must be within the last 10 s\"}}";
	assert_int_equal(
	    shop_link_on_answer(link_, gen, 400, ev, strlen(ev), &resync),
	    SHOP_NEXT_RESEND);
	assert_non_null(strstr(logged, "too late to keep that time"));
	assert_int_equal(shop_model_next(link_->model)->send_at, 0);
	assert_int_equal(shop_model_pending(link_->model), 2);
	/* a second refusal of it is a refusal: dropped, resync */
	ev = "{\"error\":{\"code\":\"not_pinned\",\"field\":\"\","
	     "\"message\":\"nothing is pinned\"}}";
	assert_int_equal(
	    shop_link_on_answer(link_, gen, 409, ev, strlen(ev), &resync),
	    SHOP_NEXT_GO);
	assert_true(resync);
	assert_non_null(strstr(logged, "HTTP 409 not_pinned: nothing is "
				       "pinned"));
	view();
	assert_int_equal(v->pending, 1);
	assert_string_equal(shop_model_next(link_->model)->offer.id, "c");

	/* an answer for settings replaced meanwhile is ignored */
	assert_int_equal(
	    shop_link_on_answer(link_, gen + 1, 409, ev, strlen(ev), &resync),
	    SHOP_NEXT_GO);
	assert_int_equal(shop_model_pending(link_->model), 1);
	/* 5xx: kept, backoff */
	assert_int_equal(shop_link_on_answer(link_, gen, 503, "{}", 2, &resync),
			 SHOP_NEXT_RETRY_BACKOFF);
	assert_int_equal(shop_model_pending(link_->model), 1);
}

static void test_sse_bytes(void **state)
{
	lshop_offer a = make_offer("a", NULL, 5);
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	lshop_state st;
	char *s, msg[8192];
	lshop_sse *p;
	int flags;

	(void)state;
	lshop_state_init(&st);
	apply_all(&st, evs,
		  lshop_state_plan_pin(&st, &a, T0, 0, "en", evs, &err));
	s = state_json(&st);
	snprintf(msg, sizeof(msg),
		 "id: 1\nevent: state\ndata: %s\n\n: ping\n\n"
		 "id: 2\nevent: stock.changed\ndata: %s\n\n",
		 s,
		 event_json(2, "\"type\":\"stock.changed\",\"stream\":"
			       "\"live/demo\",\"at\":\"2026-11-24T10:00:01."
			       "000Z\",\"data\":{\"offer_id\":\"a\","
			       "\"stock\":4}"));
	free(s);
	p = lshop_sse_new();
	assert_non_null(p);
	flags =
	    shop_link_on_sse(link_, link_->settings_gen, p, msg, strlen(msg));
	assert_int_equal(flags, 0);
	view();
	assert_true(v->pinned);
	assert_string_equal(v->offer.id, "a");
	if (v->offer_stock != 4)
		fail_msg("stock %d; log: %s", (int)v->offer_stock, logged);
	assert_int_equal(v->catalog[0].stock, 4);

	/* a gap asks for a resume; bad JSON is logged, not applied */
	snprintf(msg, sizeof(msg), "event: purchase.completed\ndata: %s\n\n",
		 event_json(5, "\"type\":\"purchase.completed\",\"stream\":"
			       "\"live/demo\",\"at\":\"2026-11-24T10:00:01."
			       "000Z\",\"data\":{\"offer_id\":\"a\","
			       "\"quantity\":1}"));
	assert_int_equal(
	    shop_link_on_sse(link_, link_->settings_gen, p, msg, strlen(msg)),
	    SHOP_EVENT_GAP);
	flags = shop_link_on_sse(link_, link_->settings_gen, p,
				 "event: x\ndata: {\n\n", 18);
	assert_int_equal(flags, 0);
	assert_non_null(strstr(logged, "not understood"));
	view();
	assert_int_equal(v->npurchases, 0);
	lshop_sse_free(p);
}

/*
 * SPEC §14 over the SSE bytes: the state's viewers and show, then the
 * unnumbered audience message. It sets the viewers and leaves the point
 * the stream resumes from (Last-Event-ID) at the last event.
 */
static void test_sse_audience_and_resume(void **state)
{
	lshop_event evs[LSHOP_PLAN_MAX], buy;
	lshop_error err;
	lshop_state st;
	char *s, *e, msg[8192];
	uint64_t seq = 77;
	lshop_sse *p;
	uint64_t g;

	(void)state;
	assert_int_equal(shop_link_resume_seq(link_, &seq), 0); /* no state */
	lshop_state_init(&st);
	apply_all(&st, evs, plan_show(&st, "s1", "Deals night", T0, evs));
	st.viewers = 5;
	s = state_json(&st);
	buy = purchase_event(st.seq + 1, "a", 2);
	e = lshop_event_to_json(&buy, NULL);
	assert_non_null(e);
	snprintf(msg, sizeof(msg),
		 "id: 1\nevent: state\ndata: %s\n\n"
		 "id: 2\nevent: purchase.completed\ndata: %s\n\n"
		 "event: audience\ndata: {\"viewers\":12}\n\n",
		 s, e);
	free(s);
	free(e);
	p = lshop_sse_new();
	assert_non_null(p);
	hook_seen[0] = '\0';
	link_->parsed_hook = note_hook;
	assert_int_equal(
	    shop_link_on_sse(link_, link_->settings_gen, p, msg, strlen(msg)),
	    SHOP_EVENT_SALE);
	assert_string_equal(hook_seen, "state event audience ");
	view();
	assert_int_equal(v->viewers, 12);
	assert_true(v->show_live);
	assert_string_equal(v->show_title, "Deals night");
	assert_int_equal(v->npurchases, 1);
	assert_int_equal(shop_link_resume_seq(link_, &seq), 1);
	assert_int_equal(seq, 2);

	/* more audience: viewers only; the same count publishes nothing */
	g = v->generation;
	s = "event: audience\ndata: {\"viewers\":12}\n\n"
	    ": ping\n\n";
	assert_int_equal(
	    shop_link_on_sse(link_, link_->settings_gen, p, s, strlen(s)), 0);
	view();
	assert_int_equal(v->generation, g);
	s = "event: audience\ndata: {\"viewers\":0}\n\n";
	assert_int_equal(
	    shop_link_on_sse(link_, link_->settings_gen, p, s, strlen(s)), 0);
	view();
	assert_int_equal(v->viewers, 0);
	assert_int_equal(shop_link_resume_seq(link_, &seq), 1);
	assert_int_equal(seq, 2);
	/* for settings replaced meanwhile: ignored */
	s = "event: audience\ndata: {\"viewers\":40}\n\n";
	shop_link_on_sse(link_, link_->settings_gen + 1, p, s, strlen(s));
	view();
	assert_int_equal(v->viewers, 0);
	/* not understood: said, nothing changes, no gap */
	s = "event: audience\ndata: {\"viewers\":\"many\"}\n\n";
	assert_int_equal(
	    shop_link_on_sse(link_, link_->settings_gen, p, s, strlen(s)), 0);
	assert_non_null(strstr(logged, "audience message is not understood"));
	view();
	assert_int_equal(v->viewers, 0);
	assert_int_equal(shop_link_resume_seq(link_, &seq), 1);
	assert_int_equal(seq, 2);
	link_->parsed_hook = NULL;
	lshop_sse_free(p);
	(void)err;
}

/* GET report?show=ID's answer: the sales of the show on air, in the
 * view and in get_state. */
static void test_report_answer(void **state)
{
	const char *rep =
	    "{\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:05:00.000Z\","
	    "\"show\":{\"id\":\"s1\",\"title\":\"One\",\"orders\":2,"
	    "\"units\":3,\"gmv\":null,\"gmv_by_currency\":{\"EUR\":\"19.99\","
	    "\"USD\":\"5.00\"},\"currency\":null},\"offers\":[]}";
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	lshop_state st;
	char *s, *answer;
	json_t *a, *sales;

	(void)state;
	/* no show on air: taken by nobody */
	assert_int_equal(shop_link_on_report(link_, link_->settings_gen, rep,
					     strlen(rep), &err),
			 0);
	view();
	assert_false(v->have_sales);

	lshop_state_init(&st);
	apply_all(&st, evs, plan_show(&st, "s1", "One", T0, evs));
	s = state_json(&st);
	assert_int_equal(
	    shop_link_on_state(link_, link_->settings_gen, s, strlen(s)), 0);
	free(s);
	/* for settings replaced meanwhile: ignored */
	assert_int_equal(shop_link_on_report(link_, link_->settings_gen + 1,
					     rep, strlen(rep), &err),
			 0);
	view();
	assert_false(v->have_sales);
	assert_int_equal(shop_link_on_report(link_, link_->settings_gen, rep,
					     strlen(rep), &err),
			 0);
	view();
	assert_true(v->have_sales);
	assert_int_equal(v->sales.orders, 2);
	assert_int_equal(v->sales.ngmv, 2);
	assert_string_equal(v->sales.gmv[1].currency, "USD");

	answer = shop_link_vendor_request(link_, "get_state", NULL, T0);
	assert_non_null(answer);
	a = json_loads(answer, 0, NULL);
	assert_non_null(a);
	sales = json_object_get(a, "show_sales");
	assert_true(json_is_object(sales));
	assert_string_equal(json_string_value(json_object_get(sales, "show")),
			    "s1");
	assert_int_equal(json_integer_value(json_object_get(sales, "orders")),
			 2);
	assert_true(json_is_null(json_object_get(sales, "gmv")));
	assert_string_equal(json_string_value(usd_of(sales)), "5.00");
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(a, "state"), "viewers")),
			 0);
	json_decref(a);
	free(answer);

	/* not a report: -1 with why, nothing changes */
	assert_int_equal(
	    shop_link_on_report(link_, link_->settings_gen, "{}", 2, &err), -1);
	assert_string_equal(err.field, "show");
	view();
	assert_int_equal(v->sales.orders, 2);
}

/*
 * The worker's handlers parse what the server sent before they take the
 * lock, and a publish copies only the catalog entries that moved: a
 * press made meanwhile (from the hook, as if on the hotkey thread) finds
 * the lock free and goes through at once, whatever the catalog's size.
 */
static int hook_calls, hook_presses, hook_held;

/* 1 when the link's lock could be taken (and is given back) */
static int lock_is_free(void *arg)
{
	shop_link *l = arg;

	if (pthread_mutex_trylock(&l->lock) != 0)
		return 0;
	pthread_mutex_unlock(&l->lock);
	return 1;
}

static void press_in_hook(shop_link *l, const char *what)
{
	lshop_error err;

	hook_calls++;
	strncat(hook_seen, what, sizeof(hook_seen) - strlen(hook_seen) - 2);
	strcat(hook_seen, " ");
	/* Held by this thread (the parse under the lock), the lock is never
	 * free here; held by the link's worker (woken by a press), only for
	 * a moment. */
	if (!within_1s(lock_is_free, l)) {
		hook_held++; /* a press would wait for the worker */
		return;
	}
	/* shown, hidden, shown...: always allowed (no offer needs it) */
	if (shop_link_toggle_disclosure(l, T0 + hook_calls, &err) == 0)
		hook_presses++;
	else
		fail_msg("pressed in the hook: %s", err.message);
}

static void test_press_while_the_worker_handles(void **state)
{
	char *cat = catalog_json(SHOP_CATALOG_MAX), *s, msg[8192];
	lshop_error err;
	lshop_state st;
	lshop_sse *p;
	int resync;

	(void)state;
	hook_calls = hook_presses = hook_held = 0;
	hook_seen[0] = '\0';
	link_->parsed_hook = press_in_hook;

	/* a full catalog: its entries are made by the parser, the lock
	 * covers a pointer swap and one copy of them into the view */
	assert_int_equal(
	    shop_link_on_catalog(link_, link_->settings_gen, cat, strlen(cat)),
	    0);
	free(cat);
	assert_int_equal(link_->published_entries, SHOP_CATALOG_MAX);
	view();
	assert_int_equal(v->ncatalog, SHOP_CATALOG_MAX);
	assert_string_equal(v->catalog[63].id, "l2");
	assert_string_equal(v->catalog[63].title, "Title of l2");

	/* a press publishes no catalog entry */
	assert_int_equal(shop_link_pin_slot(link_, 1, T0 + 100, &err), 0);
	assert_int_equal(link_->published_entries, 0);

	/* the state, then one stock change: one entry copied */
	lshop_state_init(&st);
	s = state_json(&st);
	snprintf(msg, sizeof(msg),
		 "id: 0\nevent: state\ndata: %s\n\n"
		 "id: 1\nevent: stock.changed\ndata: %s\n\n",
		 s,
		 event_json(1, "\"type\":\"stock.changed\",\"stream\":"
			       "\"live/demo\",\"at\":\"2026-11-24T10:00:01."
			       "000Z\",\"data\":{\"offer_id\":\"a\","
			       "\"stock\":4}"));
	free(s);
	p = lshop_sse_new();
	assert_non_null(p);
	assert_int_equal(
	    shop_link_on_sse(link_, link_->settings_gen, p, msg, strlen(msg)),
	    0);
	lshop_sse_free(p);
	assert_int_equal(link_->published_entries, 1);

	/* the answer to a control call */
	assert_int_equal(shop_link_on_answer(link_, link_->settings_gen, 0,
					     "Connection refused", 18, &resync),
			 SHOP_NEXT_RETRY_BACKOFF);

	link_->parsed_hook = NULL;
	assert_string_equal(hook_seen, "catalog state event answer ");
	assert_int_equal(hook_held, 0);
	assert_int_equal(hook_presses, hook_calls);
	view();
	assert_int_equal(v->pending, 1 + hook_presses);
	assert_int_equal(v->catalog[0].stock, 4);
	assert_true(v->pinned);
}

static void test_new_stream_drops_the_queue(void **state)
{
	shop_settings s;
	lshop_error err;

	(void)state;
	assert_int_equal(shop_link_pin(link_, "a", T0, &err), 0);
	shop_link_settings(link_, &s);
	strcpy(s.stream, "live/other");
	shop_link_configure(link_, &s);
	view();
	assert_int_equal(v->pending, 0);
	assert_int_equal(v->ncatalog, 0);
	assert_non_null(strstr(logged, "1 action(s) still queued"));
	shop_link_settings(link_, &s);
	assert_string_equal(s.stream, "live/other");
}

/* A new token keeps the queue (it may be what a refusal waited for);
 * settings that do not touch the connection do not reconnect. */
static void test_new_token_keeps_the_queue(void **state)
{
	shop_settings s;
	lshop_error err;
	uint64_t gen;

	(void)state;
	assert_int_equal(shop_link_pin(link_, "a", T0, &err), 0);
	shop_link_settings(link_, &s);
	gen = link_->settings_gen;
	shop_link_configure(link_, &s);
	assert_int_equal(link_->settings_gen, gen);
	s.countdown_seconds = 99;
	shop_link_configure(link_, &s);
	assert_int_equal(link_->settings_gen, gen);
	assert_int_equal(shop_link_countdown(link_, 0, NULL, NULL, T0, &err),
			 0);
	view();
	assert_int_equal(v->countdown_ends_at_ms, T0 + 99 * 1000);
	strcpy(s.token, "ls1.another");
	shop_link_configure(link_, &s);
	assert_int_equal(link_->settings_gen, gen + 1);
	view();
	assert_int_equal(v->pending, 2);
	assert_int_equal(v->ncatalog, 3);
	assert_null(strstr(logged, "dropped"));
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A server that accepts and never answers: free still returns in ~1 s. */
static void test_free_mid_request(void **state)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	shop_settings s;
	shop_link *l;
	lshop_error err;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int64_t t;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	shop_settings_init(&s);
	snprintf(s.server, sizeof(s.server), "http://127.0.0.1:%d/shop",
		 ntohs(sa.sin_port));
	strcpy(s.stream, "live/demo");
	strcpy(s.token, TOKEN);
	l = shop_link_new(&s);
	assert_non_null(l);
	assert_int_equal(shop_link_countdown(l, 30, "x", NULL, T0, &err), 0);
	usleep(300 * 1000); /* the requests are out, waiting */
	assert_int_equal(shop_link_view(l, v), 1);
	assert_int_equal(v->status, SHOP_CONNECTING);
	t = mono_ms();
	shop_link_free(l);
	t = mono_ms() - t;
	assert_true(t < 1100);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_view_generation, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_action_errors, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_answers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sse_bytes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sse_audience_and_resume, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_report_answer, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_press_while_the_worker_handles,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_new_stream_drops_the_queue,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_new_token_keeps_the_queue,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_free_mid_request, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
