/*
 * live-shop OBS plugin: the worker thread, the only place that talks to
 * the server.
 *
 * One thread drives up to five transfers at once with libcurl's multi
 * interface: the SSE stream (open as long as the server is up), the
 * control call of the next queued action (one at a time, so they reach
 * the server strictly in order), a GET of the catalog or the state,
 * while a show is on air a GET of its report (its sales for the dock),
 * and while online a GET of the waiting questions or the saved answers
 * (SPEC §15).
 * curl_multi_poll waits for all of them and for curl_multi_wakeup, which
 * the API calls when an action is queued, the settings change or the
 * link is freed; it never waits longer than a second, so the thread
 * notices a stop within that even mid-request.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "shop-link-internal.h"

#define DELAY_MIN_MS       250
#define DELAY_MAX_MS       5000
#define REFUSED_RETRY_MS   5000
#define CATALOG_EVERY_MS   60000
#define CALL_TIMEOUT_MS    10000
#define CONNECT_TIMEOUT_MS 3000
#define BODY_MAX           (4 * 1024 * 1024)
#define POLL_MAX_MS        1000
/* GET report?show=ID while a show is on air (SPEC §14): at once when it
 * starts, every REPORT_EVERY_MS, and REPORT_SALE_MS after the last one
 * began when a purchase comes (so at most that often however many) */
#define REPORT_EVERY_MS 30000
#define REPORT_SALE_MS  5000
/* GET questions while online: every QUESTIONS_WATCHED_MS while the dock
 * is shown, else every QUESTIONS_IDLE_MS (a hotkey pins the oldest);
 * GET answers on connect and every ANSWERS_EVERY_MS. A server without
 * them (404) is asked again after LIST_MISSING_MS. */
#define QUESTIONS_WATCHED_MS 2000
#define QUESTIONS_IDLE_MS    10000
#define ANSWERS_EVERY_MS     60000
#define LIST_MISSING_MS      60000

typedef struct buf {
	char *data;
	size_t len, cap;
	int too_big;
} buf;

enum aux_kind { AUX_CATALOG, AUX_STATE };
enum list_kind { LIST_QUESTIONS, LIST_ANSWERS };

struct shop_worker {
	shop_link *link;
	CURLM *multi;

	uint64_t gen; /* of the settings below */
	int configured;
	shop_settings s;
	char *base; /* SERVER "v1/streams/" STREAM "/" */
	struct curl_slist *auth_headers;

	CURL *sse;
	lshop_sse *parser;
	struct curl_slist *sse_headers;
	int sse_started; /* the headers said 200 */
	int sse_gap;     /* closed by us to resume after a gap */
	int64_t sse_at;
	int sse_delay;

	CURL *ctrl;
	buf ctrl_body;
	char *ctrl_req;
	int64_t ctrl_at;
	int ctrl_delay;

	CURL *aux;
	enum aux_kind aux_kind;
	buf aux_body;
	int64_t aux_at;
	int aux_delay;
	int need_catalog, need_state;
	int64_t catalog_at; /* next periodic GET offers */

	CURL *report;
	buf report_body;
	char report_show[LSHOP_ID_MAX + 1]; /* the show on air; "" none */
	int64_t report_at;                  /* the next GET report?show= */
	int64_t report_started;             /* when the last one began */
	int report_sale;                    /* a purchase came since then */
	int report_said;                    /* its failure is in the log */

	CURL *list;
	enum list_kind list_kind;
	buf list_body;
	int64_t questions_at; /* the next GET questions */
	int64_t answers_at;   /* the next GET answers */
	int list_said;        /* a failure is in the log */

	char sse_err[CURL_ERROR_SIZE];
	char ctrl_err[CURL_ERROR_SIZE];
	char aux_err[CURL_ERROR_SIZE];
	char report_err[CURL_ERROR_SIZE];
	char list_err[CURL_ERROR_SIZE];
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int grow_delay(int *delay)
{
	int d = *delay;

	*delay = d * 2 > DELAY_MAX_MS ? DELAY_MAX_MS : d * 2;
	return d;
}

static size_t buf_write(char *p, size_t size, size_t n, void *ud)
{
	buf *b = ud;
	size_t len = size * n, cap;
	char *d;

	if (b->len + len + 1 > b->cap) {
		if (b->len + len + 1 > BODY_MAX) {
			b->too_big = 1;
			return 0;
		}
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len + 1)
			cap *= 2;
		d = realloc(b->data, cap);
		if (d == NULL)
			return 0;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return len;
}

static void buf_clear(buf *b)
{
	b->len = 0;
	b->too_big = 0;
	if (b->data)
		b->data[0] = '\0';
}

static void buf_free(buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static char *url_of(const struct shop_worker *w, const char *rest)
{
	size_t n = strlen(w->base) + strlen(rest) + 1;
	char *u = malloc(n);

	if (u != NULL)
		snprintf(u, n, "%s%s", w->base, rest);
	return u;
}

static CURL *easy_new(const struct shop_worker *w, const char *rest,
		      char *errbuf)
{
	CURL *h = curl_easy_init();
	char *url = url_of(w, rest);

	if (h == NULL || url == NULL) {
		curl_easy_cleanup(h);
		free(url);
		return NULL;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	free(url); /* libcurl keeps its own copy */
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "live-shop-obs/0.1");
	errbuf[0] = '\0';
	return h;
}

/* A call whose answer goes to body (with the token where auth): made. */
static void call_add(struct shop_worker *w, CURL *h, buf *body, int auth)
{
	buf_clear(body);
	if (auth)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, w->auth_headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)CALL_TIMEOUT_MS);
	curl_multi_add_handle(w->multi, h);
}

static void drop(struct shop_worker *w, CURL **h)
{
	if (*h == NULL)
		return;
	curl_multi_remove_handle(w->multi, *h);
	curl_easy_cleanup(*h);
	*h = NULL;
}

/* The reason a transfer failed, for the dock and the log. */
static const char *why(CURLcode rc, const char *errbuf)
{
	return errbuf[0] ? errbuf : curl_easy_strerror(rc);
}

/* The show's report: its sales, for the dock */

/* A purchase: the report again REPORT_SALE_MS after the last began. */
static void report_soon(struct shop_worker *w)
{
	int64_t at = w->report_started + REPORT_SALE_MS;

	if (w->report_show[0] == '\0')
		return;
	if (w->report != NULL)
		w->report_sale = 1; /* it may not count this one yet */
	else if (at < w->report_at)
		w->report_at = at;
}

/* The show on air is show ("" none): a new one is fetched at once. */
static void report_follow(struct shop_worker *w, const char *show)
{
	if (strcmp(show, w->report_show) == 0)
		return;
	drop(w, &w->report);
	snprintf(w->report_show, sizeof(w->report_show), "%s", show);
	w->report_at = w->report_started = 0;
	w->report_sale = w->report_said = 0;
}

static void report_start(struct shop_worker *w)
{
	char rest[sizeof("report?show=") + LSHOP_ID_MAX];

	/* a show id is 1-64 of A-Z a-z 0-9 . _ -: nothing to escape */
	snprintf(rest, sizeof(rest), "report?show=%s", w->report_show);
	w->report_started = mono_ms();
	w->report_sale = 0;
	w->report = easy_new(w, rest, w->report_err);
	if (w->report == NULL) {
		w->report_at = w->report_started + REPORT_EVERY_MS;
		return;
	}
	call_add(w, w->report, &w->report_body, 1);
}

static void report_done(struct shop_worker *w, CURLcode rc)
{
	const char *body = w->report_body.data ? w->report_body.data : "";
	lshop_error err;
	long code = 0;
	int said = w->report_said;

	if (rc == CURLE_OK)
		curl_easy_getinfo(w->report, CURLINFO_RESPONSE_CODE, &code);
	drop(w, &w->report);
	w->report_at = w->report_sale ? w->report_started + REPORT_SALE_MS
				      : mono_ms() + REPORT_EVERY_MS;
	w->report_sale = 0;
	w->report_said = 1; /* unless it went well, below */
	if (code >= 200 && code < 300) {
		shop_link_call_status(w->link, code, body, w->report_body.len);
		if (shop_link_on_report(w->link, w->gen, body,
					w->report_body.len, &err) == 0)
			w->report_said = 0;
		else if (!said)
			shop_log(SHOP_LOG_WARNING,
				 "the report of show \"%s\" is not "
				 "understood: %s",
				 w->report_show, err.message);
	} else if (code == 401 || code == 403) {
		shop_link_call_status(w->link, code, body, w->report_body.len);
	} else if (said) {
		/* said once a show: the dock shows no sales meanwhile */
	} else if (code == 404) {
		shop_log(SHOP_LOG_INFO,
			 "the server has no report of show \"%s\" (yet); "
			 "asked again every %d s",
			 w->report_show, REPORT_EVERY_MS / 1000);
	} else if (code != 0) {
		shop_log(SHOP_LOG_WARNING,
			 "GET report of show \"%s\" answered HTTP %ld",
			 w->report_show, code);
	} else {
		shop_log(SHOP_LOG_DEBUG, "GET report of show \"%s\": %s",
			 w->report_show, why(rc, w->report_err));
	}
}

/* The SSE stream */

static size_t sse_header(char *p, size_t size, size_t n, void *ud)
{
	struct shop_worker *w = ud;
	long code = 0;

	/* the blank line after the headers: the status is known */
	if (size * n <= 2 && (p[0] == '\r' || p[0] == '\n')) {
		curl_easy_getinfo(w->sse, CURLINFO_RESPONSE_CODE, &code);
		if (code == 200 && !w->sse_started) {
			w->sse_started = 1;
			w->sse_delay = DELAY_MIN_MS;
			/* what was refused or missed may go now */
			w->need_catalog = 1;
			w->questions_at = w->answers_at = 0;
			w->ctrl_at = w->aux_at = 0;
			w->ctrl_delay = w->aux_delay = DELAY_MIN_MS;
			shop_link_sse_status(w->link, 1, NULL);
		}
	}
	return size * n;
}

static size_t sse_write(char *p, size_t size, size_t n, void *ud)
{
	struct shop_worker *w = ud;
	int flags;

	if (!w->sse_started)
		return 0; /* not 200: the error is reported when it ends */
	flags = shop_link_on_sse(w->link, w->gen, w->parser, p, size * n);
	if (flags & SHOP_EVENT_CATALOG)
		w->need_catalog = 1;
	if (flags & SHOP_EVENT_SALE)
		report_soon(w);
	if (flags & SHOP_EVENT_GAP) {
		w->sse_gap = 1;
		return 0; /* resume with Last-Event-ID */
	}
	return size * n;
}

static void sse_start(struct shop_worker *w)
{
	char last[48];
	uint64_t seq;
	int have;

	have = shop_link_resume_seq(w->link, &seq);
	snprintf(last, sizeof(last), "Last-Event-ID: %llu",
		 (unsigned long long)seq);

	/* SPEC §14: the host's OBS is no viewer of its own stream */
	w->sse = easy_new(w, "events?viewer=no", w->sse_err);
	if (w->sse == NULL) {
		w->sse_at = mono_ms() + grow_delay(&w->sse_delay);
		return;
	}
	curl_slist_free_all(w->sse_headers);
	w->sse_headers = curl_slist_append(NULL, "Accept: text/event-stream");
	if (have && w->sse_headers)
		curl_slist_append(w->sse_headers, last);
	lshop_sse_reset(w->parser);
	w->sse_started = w->sse_gap = 0;
	curl_easy_setopt(w->sse, CURLOPT_HTTPHEADER, w->sse_headers);
	curl_easy_setopt(w->sse, CURLOPT_HEADERFUNCTION, sse_header);
	curl_easy_setopt(w->sse, CURLOPT_HEADERDATA, w);
	curl_easy_setopt(w->sse, CURLOPT_WRITEFUNCTION, sse_write);
	curl_easy_setopt(w->sse, CURLOPT_WRITEDATA, w);
	/* a stream that stays silent (no event, no ping) for long is dead */
	curl_easy_setopt(w->sse, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(w->sse, CURLOPT_LOW_SPEED_TIME, 90L);
	curl_easy_setopt(w->sse, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_multi_add_handle(w->multi, w->sse);
}

static void sse_done(struct shop_worker *w, CURLcode rc)
{
	char reason[CURL_ERROR_SIZE + 64];
	long code = 0;

	curl_easy_getinfo(w->sse, CURLINFO_RESPONSE_CODE, &code);
	if (w->sse_gap) {
		/* a gap, not a failure: resume from what we hold */
		shop_log(SHOP_LOG_INFO, "events are missing from the stream; "
					"resuming after the last one held");
		w->sse_at = 0;
		w->need_state = 1;
	} else if (rc == CURLE_OK && w->sse_started) {
		shop_link_sse_status(w->link, 0, NULL);
		w->sse_at = mono_ms() + DELAY_MIN_MS;
	} else {
		if (code != 0 && code != 200)
			snprintf(reason, sizeof(reason),
				 "GET events answered HTTP %ld", code);
		else
			snprintf(reason, sizeof(reason), "%s",
				 why(rc, w->sse_err));
		shop_link_sse_status(w->link, 0, reason);
		w->sse_at = mono_ms() + grow_delay(&w->sse_delay);
	}
	drop(w, &w->sse);
}

/* Control calls: the next queued action */

static void ctrl_start(struct shop_worker *w)
{
	shop_link *link = w->link;
	shop_action a, *next;
	char rest[LSHOP_ID_MAX + 32];

	pthread_mutex_lock(&link->lock);
	next = shop_model_next(link->model);
	if (next != NULL)
		a = *next;
	/* the end of a poll whose start was answered without its id */
	if (next != NULL && a.type == SHOP_ACTION_POLL_END &&
	    strcmp(a.poll.id, SHOP_POLL_NEW_ID) == 0 &&
	    link->model->server.poll_live)
		snprintf(a.poll.id, sizeof(a.poll.id), "%s",
			 link->model->server.poll.id);
	pthread_mutex_unlock(&link->lock);
	if (next == NULL)
		return;

	free(w->ctrl_req);
	w->ctrl_req = shop_action_body(&a);
	w->ctrl =
	    easy_new(w, shop_action_url(&a, rest, sizeof(rest)), w->ctrl_err);
	if (w->ctrl == NULL || w->ctrl_req == NULL) {
		drop(w, &w->ctrl);
		w->ctrl_at = mono_ms() + grow_delay(&w->ctrl_delay);
		return;
	}
	curl_easy_setopt(w->ctrl, CURLOPT_CUSTOMREQUEST,
			 shop_action_method(a.type));
	curl_easy_setopt(w->ctrl, CURLOPT_POSTFIELDS, w->ctrl_req);
	curl_easy_setopt(w->ctrl, CURLOPT_POSTFIELDSIZE,
			 (long)strlen(w->ctrl_req));
	call_add(w, w->ctrl, &w->ctrl_body, 1);
}

static void ctrl_done(struct shop_worker *w, CURLcode rc)
{
	const char *reason = why(rc, w->ctrl_err);
	shop_next next;
	long code = 0;
	int resync = 0;

	if (rc == CURLE_OK)
		curl_easy_getinfo(w->ctrl, CURLINFO_RESPONSE_CODE, &code);
	drop(w, &w->ctrl);
	if (code != 0)
		next = shop_link_on_answer(w->link, w->gen, code,
					   w->ctrl_body.data ? w->ctrl_body.data
							     : "",
					   w->ctrl_body.len, &resync);
	else
		next = shop_link_on_answer(w->link, w->gen, 0, reason,
					   strlen(reason), &resync);
	if (resync)
		w->need_state = 1;
	switch (next) {
	case SHOP_NEXT_GO:
	case SHOP_NEXT_RESEND:
		w->ctrl_delay = DELAY_MIN_MS;
		w->ctrl_at = 0;
		break;
	case SHOP_NEXT_RETRY_SLOW:
		w->ctrl_at = mono_ms() + REFUSED_RETRY_MS;
		break;
	case SHOP_NEXT_RETRY_BACKOFF:
		w->ctrl_at = mono_ms() + grow_delay(&w->ctrl_delay);
		break;
	}
}

/* GET offers / GET state */

static void aux_start(struct shop_worker *w, enum aux_kind kind)
{
	w->aux =
	    easy_new(w, kind == AUX_CATALOG ? "offers" : "state", w->aux_err);
	if (w->aux == NULL) {
		w->aux_at = mono_ms() + grow_delay(&w->aux_delay);
		return;
	}
	w->aux_kind = kind;
	call_add(w, w->aux, &w->aux_body, kind == AUX_CATALOG);
}

static void aux_done(struct shop_worker *w, CURLcode rc)
{
	const char *what = w->aux_kind == AUX_CATALOG ? "offers" : "state";
	const char *body;
	long code = 0;
	int ok;

	if (rc == CURLE_OK)
		curl_easy_getinfo(w->aux, CURLINFO_RESPONSE_CODE, &code);
	drop(w, &w->aux);
	ok = code >= 200 && code < 300;
	body = w->aux_body.data ? w->aux_body.data : "";
	if (ok && w->aux_kind == AUX_CATALOG) {
		shop_link_call_status(w->link, code, body, w->aux_body.len);
		shop_link_on_catalog(w->link, w->gen, body, w->aux_body.len);
		w->need_catalog = 0;
		w->catalog_at = mono_ms() + CATALOG_EVERY_MS;
	} else if (ok) {
		shop_link_on_state(w->link, w->gen, body, w->aux_body.len);
		w->need_state = 0;
	}
	if (ok) {
		w->aux_delay = DELAY_MIN_MS;
		w->aux_at = 0;
		return;
	}
	if (code == 401 || code == 403) {
		shop_link_call_status(w->link, code, body, w->aux_body.len);
		w->aux_at = mono_ms() + REFUSED_RETRY_MS;
		return;
	}
	if (code != 0)
		shop_log(SHOP_LOG_WARNING, "GET %s answered HTTP %ld", what,
			 code);
	else
		shop_log(SHOP_LOG_DEBUG, "GET %s: %s", what,
			 why(rc, w->aux_err));
	w->aux_at = mono_ms() + grow_delay(&w->aux_delay);
}

/* GET questions / GET answers (SPEC §15) */

static void list_start(struct shop_worker *w, enum list_kind kind)
{
	w->list = easy_new(w, kind == LIST_QUESTIONS ? "questions" : "answers",
			   w->list_err);
	if (w->list == NULL) {
		if (kind == LIST_QUESTIONS)
			w->questions_at = mono_ms() + QUESTIONS_IDLE_MS;
		else
			w->answers_at = mono_ms() + ANSWERS_EVERY_MS;
		return;
	}
	w->list_kind = kind;
	call_add(w, w->list, &w->list_body, 1);
}

static void list_done(struct shop_worker *w, CURLcode rc, int watched)
{
	const char *what =
	    w->list_kind == LIST_QUESTIONS ? "questions" : "saved answers";
	const char *body = w->list_body.data ? w->list_body.data : "";
	int64_t now = mono_ms(), *next;
	lshop_error err;
	long code = 0;

	if (rc == CURLE_OK)
		curl_easy_getinfo(w->list, CURLINFO_RESPONSE_CODE, &code);
	drop(w, &w->list);
	next =
	    w->list_kind == LIST_QUESTIONS ? &w->questions_at : &w->answers_at;
	*next = now + (w->list_kind == LIST_ANSWERS ? ANSWERS_EVERY_MS
		       : watched                    ? QUESTIONS_WATCHED_MS
						    : QUESTIONS_IDLE_MS);
	if (code >= 200 && code < 300) {
		shop_link_call_status(w->link, code, body, w->list_body.len);
		if ((w->list_kind == LIST_QUESTIONS
			 ? shop_link_on_questions(w->link, w->gen, body,
						  w->list_body.len, &err)
			 : shop_link_on_answers(w->link, w->gen, body,
						w->list_body.len, &err)) == 0)
			w->list_said = 0;
		else if (!w->list_said++)
			shop_log(SHOP_LOG_WARNING,
				 "the server's %s are not understood: %s", what,
				 err.message);
	} else if (code == 401 || code == 403) {
		shop_link_call_status(w->link, code, body, w->list_body.len);
		*next = now + REFUSED_RETRY_MS;
	} else if (code == 404 || code == 405) {
		if (!w->list_said++)
			shop_log(SHOP_LOG_INFO,
				 "the server has no %s (HTTP %ld): a "
				 "liveshop before questions and polls?",
				 what, code);
		*next = now + LIST_MISSING_MS;
	} else if (code != 0) {
		if (!w->list_said++)
			shop_log(SHOP_LOG_WARNING, "GET %s answered HTTP %ld",
				 what, code);
	} else {
		shop_log(SHOP_LOG_DEBUG, "GET %s: %s", what,
			 why(rc, w->list_err));
	}
}

/* The settings of a run */

static void stop_transfers(struct shop_worker *w)
{
	drop(w, &w->sse);
	drop(w, &w->ctrl);
	drop(w, &w->aux);
	drop(w, &w->report);
	lshop_sse_reset(w->parser);
}

static void start_run(struct shop_worker *w, const shop_settings *s,
		      uint64_t gen)
{
	size_t n;
	char *auth;

	stop_transfers(w);
	w->s = *s;
	w->gen = gen;
	free(w->base);
	w->base = NULL;
	curl_slist_free_all(w->auth_headers);
	w->auth_headers = NULL;
	w->configured = shop_settings_complete(s);
	w->sse_at = w->ctrl_at = w->aux_at = 0;
	w->sse_delay = w->ctrl_delay = w->aux_delay = DELAY_MIN_MS;
	w->need_catalog = 1;
	w->need_state = 0;
	w->catalog_at = 0;
	w->questions_at = w->answers_at = 0;
	w->list_said = 0;
	report_follow(w, "");
	if (!w->configured)
		return;
	n = strlen(s->server) + strlen(s->stream) + 16;
	w->base = malloc(n);
	auth = malloc(strlen(s->token) + 32);
	if (w->base == NULL || auth == NULL) {
		free(auth);
		w->configured = 0;
		return;
	}
	snprintf(w->base, n, "%s%sv1/streams/%s/", s->server,
		 s->server[strlen(s->server) - 1] == '/' ? "" : "/", s->stream);
	sprintf(auth, "Authorization: Bearer %s", s->token);
	w->auth_headers = curl_slist_append(NULL, auth);
	if (w->auth_headers)
		curl_slist_append(w->auth_headers,
				  "Content-Type: application/json");
	free(auth);
	shop_log(SHOP_LOG_INFO, "connecting to %s for stream \"%s\"", s->server,
		 s->stream);
}

static int64_t until(int64_t at, int64_t now)
{
	return at <= now ? 0 : at - now;
}

/*
 * Linux: the worker is a batch thread, so that when a hotkey wakes it the
 * scheduler does not preempt the hotkey's thread (the host's callback) to
 * run it there and then; it runs on a free core, or a moment later. What
 * it sends keeps the time of the key press ("at"), so that moment costs
 * nothing on the server's side.
 */
static void worker_sched(void)
{
#ifdef __linux__
#ifndef SCHED_BATCH
#define SCHED_BATCH 3
#endif
	struct sched_param sp = {0};

	pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
#endif
}

static void *worker_main(void *arg)
{
	shop_link *link = arg;
	struct shop_worker *w = link->worker;
	shop_settings s;
	uint64_t gen;
	int64_t now, wait;
	int running, left, stop, has_next, watched = 0, refresh;
	char show[LSHOP_ID_MAX + 1];
	const char *on_air;
	CURLMsg *msg;

	worker_sched();

	for (;;) {
		pthread_mutex_lock(&link->lock);
		stop = link->stop;
		gen = link->settings_gen;
		if (gen != w->gen || w->base == NULL)
			s = link->settings;
		has_next = shop_model_next(link->model) != NULL;
		on_air = shop_model_show_on_air(link->model);
		snprintf(show, sizeof(show), "%s", on_air ? on_air : "");
		watched = link->questions_watch;
		refresh = link->questions_refresh;
		link->questions_refresh = 0;
		pthread_mutex_unlock(&link->lock);
		if (refresh)
			w->questions_at = w->answers_at = 0;
		if (stop)
			break;
		if (gen != w->gen || (w->configured && w->base == NULL))
			start_run(w, &s, gen);

		now = mono_ms();
		wait = POLL_MAX_MS;
		if (w->configured) {
			if (w->sse == NULL && now >= w->sse_at)
				sse_start(w);
			if (w->catalog_at && now >= w->catalog_at)
				w->need_catalog = 1;
			if (w->aux == NULL && now >= w->aux_at &&
			    (w->need_catalog || w->need_state))
				aux_start(w, w->need_catalog ? AUX_CATALOG
							     : AUX_STATE);
			if (w->ctrl == NULL && has_next && now >= w->ctrl_at)
				ctrl_start(w);
			report_follow(w, show);
			if (w->report == NULL && w->report_show[0] &&
			    now >= w->report_at)
				report_start(w);
			if (w->sse == NULL && until(w->sse_at, now) < wait)
				wait = until(w->sse_at, now);
			if (w->ctrl == NULL && has_next &&
			    until(w->ctrl_at, now) < wait)
				wait = until(w->ctrl_at, now);
			if (w->aux == NULL &&
			    (w->need_catalog || w->need_state) &&
			    until(w->aux_at, now) < wait)
				wait = until(w->aux_at, now);
			if (w->report == NULL && w->report_show[0] &&
			    until(w->report_at, now) < wait)
				wait = until(w->report_at, now);
			/* the lists while the stream is open (online) */
			if (w->list == NULL && w->sse && w->sse_started) {
				if (now >= w->answers_at)
					list_start(w, LIST_ANSWERS);
				else if (now >= w->questions_at)
					list_start(w, LIST_QUESTIONS);
			}
			if (w->list == NULL && w->sse && w->sse_started) {
				if (until(w->answers_at, now) < wait)
					wait = until(w->answers_at, now);
				if (until(w->questions_at, now) < wait)
					wait = until(w->questions_at, now);
			}
		}
		curl_multi_poll(w->multi, NULL, 0, (int)wait, NULL);
		curl_multi_perform(w->multi, &running);
		while ((msg = curl_multi_info_read(w->multi, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			if (msg->easy_handle == w->sse)
				sse_done(w, msg->data.result);
			else if (msg->easy_handle == w->ctrl)
				ctrl_done(w, msg->data.result);
			else if (msg->easy_handle == w->aux)
				aux_done(w, msg->data.result);
			else if (msg->easy_handle == w->report)
				report_done(w, msg->data.result);
			else if (msg->easy_handle == w->list)
				list_done(w, msg->data.result, watched);
		}
	}
	stop_transfers(w);
	return NULL;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int shop_worker_start(shop_link *link)
{
	struct shop_worker *w = calloc(1, sizeof(*w));

	pthread_once(&curl_once, curl_init_once);
	if (w == NULL)
		return -1;
	w->link = link;
	w->multi = curl_multi_init();
	w->gen = (uint64_t)-1; /* the first loop starts a run */
	w->parser = lshop_sse_new();
	if (w->multi == NULL || w->parser == NULL)
		goto fail;
	link->worker = w;
	if (pthread_create(&link->thread, NULL, worker_main, link) != 0)
		goto fail;
	link->thread_started = 1;
	return 0;
fail:
	if (w->multi)
		curl_multi_cleanup(w->multi);
	lshop_sse_free(w->parser);
	free(w);
	link->worker = NULL;
	return -1;
}

void shop_worker_wake(shop_link *link)
{
	if (link->worker != NULL)
		curl_multi_wakeup(link->worker->multi);
}

void shop_worker_stop(shop_link *link)
{
	struct shop_worker *w = link->worker;

	if (w == NULL)
		return;
	pthread_mutex_lock(&link->lock);
	link->stop = 1;
	pthread_mutex_unlock(&link->lock);
	curl_multi_wakeup(w->multi);
	if (link->thread_started)
		pthread_join(link->thread, NULL);
	curl_multi_cleanup(w->multi);
	curl_slist_free_all(w->sse_headers);
	curl_slist_free_all(w->auth_headers);
	buf_free(&w->ctrl_body);
	buf_free(&w->aux_body);
	buf_free(&w->report_body);
	buf_free(&w->list_body);
	free(w->ctrl_req);
	free(w->base);
	lshop_sse_free(w->parser);
	free(w);
	link->worker = NULL;
}
