/*
 * The worker (shop-worker.c) against a fake liveshop server in this
 * process, on a loopback port: GET state, offers, report?show=ID, and
 * the SSE stream, kept open and fed by the test. What SPEC §14 asks of
 * the plugin: the show's report is asked for at once when a show goes
 * on air, with the token, again at most every 5 s while purchases come,
 * and only for the show on air; the unnumbered audience message sets the
 * viewers, and a stream resumed after it asks from the last event.
 *
 * (The nginx module's report?show= is checked with real nginx in
 * tests/nginx; here the answer is the shape SPEC §14 gives.)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "plugin_test.h"
#include "shop-link-internal.h"

#define TOKEN    "ls1.worker-test-token"
#define PREFIX   "/shop/v1/streams/live/demo/"
#define REQS_MAX 256
#define SSE_MAX  64

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct request {
	char method[8];
	char path[256]; /* after PREFIX */
	int64_t at;     /* mono ms */
	int auth;       /* carried "Authorization: Bearer TOKEN" */
	char last_id[32];
} request;

static struct fake {
	int fd, port;
	pthread_t acceptor;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;

	lshop_state st;     /* the server's timeline */
	char started[8][8]; /* ids of the shows that went on air */
	size_t nstarted;
	int64_t orders; /* what the report says */

	char out[65536]; /* SSE bytes for the open stream */
	size_t out_len;
	int sse_gen; /* moves to close the open stream */

	request reqs[REQS_MAX];
	size_t nreq;

	pthread_t sse[SSE_MAX];
	size_t nsse;

	const char *questions; /* GET questions' answer */
} f;

static void send_all(int fd, const char *s, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, s, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

static void respond(int fd, int status, const char *body)
{
	char head[256];

	snprintf(head, sizeof(head),
		 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		 status, status == 200 ? "OK" : "Not Found", strlen(body));
	send_all(fd, head, strlen(head));
	send_all(fd, body, strlen(body));
}

/* Under f.lock: the state as GET state and the stream's first message. */
static char *state_now(void)
{
	char *s = lshop_state_to_json(&f.st, STREAM, T0, NULL, 0, NULL);

	assert_non_null(s);
	return s;
}

/* The report of one show (SPEC §14), its orders at 10.00 EUR each. */
static char *report_of(const char *show)
{
	char *out = malloc(1024);

	assert_non_null(out);
	snprintf(out, 1024,
		 "{\"stream\":\"live/demo\",\"at\":\"2026-11-24T10:05:00Z\","
		 "\"show\":{\"id\":\"%s\",\"title\":\"t\",\"orders\":%lld,"
		 "\"units\":%lld,\"gmv\":\"%lld.00\",\"currency\":%s,"
		 "\"aov\":null},\"offers\":[],\"series\":{\"viewers\":[]}}",
		 show, (long long)f.orders, (long long)f.orders,
		 (long long)f.orders * 10, f.orders ? "\"EUR\"" : "null");
	return out;
}

static void *sse_main(void *arg)
{
	int fd = (int)(intptr_t)arg, gen;
	static const char head[] = "HTTP/1.1 200 OK\r\n"
				   "Content-Type: text/event-stream\r\n"
				   "Cache-Control: no-cache\r\n\r\n";
	struct timespec until;
	char *s, first[8192];

	pthread_mutex_lock(&f.lock);
	gen = f.sse_gen;
	f.out_len = 0; /* the state holds what was queued */
	s = state_now();
	snprintf(first, sizeof(first), "id: %llu\nevent: state\ndata: %s\n\n",
		 (unsigned long long)f.st.seq, s);
	free(s);
	pthread_mutex_unlock(&f.lock);
	send_all(fd, head, strlen(head));
	send_all(fd, first, strlen(first));
	pthread_mutex_lock(&f.lock);
	while (!f.stop && gen == f.sse_gen) {
		if (f.out_len > 0) {
			send_all(fd, f.out, f.out_len);
			f.out_len = 0;
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 20 * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&f.cond, &f.lock, &until);
	}
	pthread_mutex_unlock(&f.lock);
	close(fd);
	return NULL;
}

/* Reads one request's head; 0, or -1 when the client went away. */
static int read_head(int fd, char *buf, size_t cap)
{
	struct pollfd p = {fd, POLLIN, 0};
	size_t len = 0;
	ssize_t n;

	while (len + 1 < cap) {
		if (poll(&p, 1, 2000) <= 0)
			return -1;
		n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			return 0;
	}
	return -1;
}

static void handle(int fd)
{
	char buf[8192], *p, *end, *body = NULL;
	request r;
	size_t i;
	int known = 0;

	if (read_head(fd, buf, sizeof(buf))) {
		close(fd);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.at = mono_ms();
	snprintf(r.method, sizeof(r.method), "%.*s", (int)strcspn(buf, " "),
		 buf);
	p = strstr(buf, " " PREFIX);
	end = p ? strchr(p + 1, ' ') : NULL;
	if (p && end)
		snprintf(r.path, sizeof(r.path), "%.*s",
			 (int)(end - p - 1 - strlen(PREFIX)),
			 p + 1 + strlen(PREFIX));
	r.auth = strstr(buf, "\r\nAuthorization: Bearer " TOKEN "\r\n") != NULL;
	p = strstr(buf, "\r\nLast-Event-ID: ");
	if (p)
		snprintf(r.last_id, sizeof(r.last_id), "%.*s",
			 (int)strcspn(p + 17, "\r"), p + 17);
	pthread_mutex_lock(&f.lock);
	if (f.nreq < REQS_MAX)
		f.reqs[f.nreq++] = r;
	if (strcmp(r.path, "events?viewer=no") == 0 && f.nsse < SSE_MAX) {
		pthread_create(&f.sse[f.nsse++], NULL, sse_main,
			       (void *)(intptr_t)fd);
		pthread_mutex_unlock(&f.lock);
		return;
	}
	if (strcmp(r.path, "state") == 0)
		body = state_now();
	else if (strcmp(r.path, "offers") == 0)
		body = catalog_json(3);
	else if (strcmp(r.path, "questions") == 0 && r.auth)
		body = strdup(f.questions);
	else if (strcmp(r.path, "answers") == 0 && r.auth)
		body = strdup("{\"answers\":[{\"id\":\"ship\",\"question\":"
			      "\"Shipping?\",\"answer\":\"Free\"}]}");
	else if (strcmp(r.method, "POST") == 0 && r.auth &&
		 strncmp(r.path, "questions/", 10) == 0 &&
		 strstr(r.path, "/dismiss") != NULL)
		body = strdup("{\"dismissed\":\"q1\"}");
	else if (strncmp(r.path, "report?show=", 12) == 0) {
		for (i = 0; i < f.nstarted; i++)
			known |= strcmp(f.started[i], r.path + 12) == 0;
		if (known)
			body = report_of(r.path + 12);
	}
	pthread_mutex_unlock(&f.lock);
	respond(
	    fd, body ? 200 : 404,
	    body ? body
		 : "{\"error\":{\"code\":\"not_found\",\"message\":\"no\"}}");
	free(body);
	close(fd);
}

static void *accept_main(void *arg)
{
	struct pollfd p = {f.fd, POLLIN, 0};
	int fd, stop;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&f.lock);
		stop = f.stop;
		pthread_mutex_unlock(&f.lock);
		if (stop)
			return NULL;
		if (poll(&p, 1, 20) <= 0)
			continue;
		fd = accept(f.fd, NULL, NULL);
		if (fd >= 0)
			handle(fd);
	}
}

static void fake_start(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	memset(&f, 0, sizeof(f));
	f.questions = "{\"questions\":[],\"blocked_sessions\":0}";
	pthread_mutex_init(&f.lock, NULL);
	pthread_cond_init(&f.cond, NULL);
	lshop_state_init(&f.st);
	f.fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(f.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f.fd, 16), 0);
	assert_int_equal(getsockname(f.fd, (struct sockaddr *)&sa, &sl), 0);
	f.port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&f.acceptor, NULL, accept_main, NULL),
			 0);
}

static void fake_stop(void)
{
	size_t i;

	pthread_mutex_lock(&f.lock);
	f.stop = 1;
	pthread_cond_broadcast(&f.cond);
	pthread_mutex_unlock(&f.lock);
	pthread_join(f.acceptor, NULL);
	for (i = 0; i < f.nsse; i++)
		pthread_join(f.sse[i], NULL);
	close(f.fd);
}

/* Under f.lock: queues text for the open stream. */
static void queue_sse(const char *text)
{
	size_t n = strlen(text);

	assert_true(f.out_len + n < sizeof(f.out));
	memcpy(f.out + f.out_len, text, n);
	f.out_len += n;
	pthread_cond_broadcast(&f.cond);
}

/* The server makes events: applied to its timeline and streamed. */
static void fake_events(lshop_event *evs, size_t n)
{
	char msg[8192], *j;
	size_t i;

	pthread_mutex_lock(&f.lock);
	apply_all(&f.st, evs, n);
	for (i = 0; i < n; i++) {
		if (evs[i].type == LSHOP_SHOW_STARTED && f.nstarted < 8)
			snprintf(f.started[f.nstarted++], sizeof(f.started[0]),
				 "%s", evs[i].show.id);
		if (evs[i].type == LSHOP_PURCHASE_COMPLETED)
			f.orders++;
		j = lshop_event_to_json(&evs[i], NULL);
		assert_non_null(j);
		snprintf(msg, sizeof(msg), "id: %llu\nevent: %s\ndata: %s\n\n",
			 (unsigned long long)evs[i].seq,
			 lshop_event_type_name(evs[i].type), j);
		free(j);
		queue_sse(msg);
	}
	pthread_mutex_unlock(&f.lock);
}

static void fake_show(const char *id, const char *title)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	size_t n;

	pthread_mutex_lock(&f.lock);
	n = plan_show(&f.st, id, title, T0, evs);
	pthread_mutex_unlock(&f.lock);
	fake_events(evs, n);
}

static void fake_show_end(void)
{
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	size_t n;

	memset(evs, 0, sizeof(evs));
	pthread_mutex_lock(&f.lock);
	n = lshop_state_plan_show_end(&f.st, NULL, T0 + 1, evs, &err);
	pthread_mutex_unlock(&f.lock);
	assert_int_equal(n, 1);
	fake_events(evs, n);
}

static void fake_purchase(void)
{
	lshop_event ev = purchase_event(0, "a", 1);

	fake_events(&ev, 1);
}

/* SPEC §14: no id, no seq; at most every 5 s from nginx. */
static void fake_audience(int64_t viewers)
{
	char msg[64];

	snprintf(msg, sizeof(msg),
		 "event: audience\ndata: {\"viewers\":%lld}"
		 "\n\n",
		 (long long)viewers);
	pthread_mutex_lock(&f.lock);
	f.st.viewers = viewers;
	queue_sse(msg);
	pthread_mutex_unlock(&f.lock);
}

/* The open stream ends (the server restarted, say). */
static void fake_drop_stream(void)
{
	pthread_mutex_lock(&f.lock);
	f.sse_gen++;
	pthread_cond_broadcast(&f.cond);
	pthread_mutex_unlock(&f.lock);
}

/* Requests for path (a prefix of it) seen so far; the last into *last. */
static size_t requests(const char *path, request *last)
{
	size_t i, n = 0;

	pthread_mutex_lock(&f.lock);
	for (i = 0; i < f.nreq; i++)
		if (strncmp(f.reqs[i].path, path, strlen(path)) == 0) {
			n++;
			if (last)
				*last = f.reqs[i];
		}
	pthread_mutex_unlock(&f.lock);
	return n;
}

static shop_link *link_;
static shop_view *v;

/* link_, to the fake server with its token. */
static void link_start(void)
{
	shop_settings s;

	shop_settings_init(&s);
	snprintf(s.server, sizeof(s.server), "http://127.0.0.1:%d/shop/",
		 f.port);
	strcpy(s.stream, STREAM);
	strcpy(s.token, TOKEN);
	link_ = shop_link_new(&s);
	assert_non_null(link_);
}

/* Polls the view until ok(v) or ms pass. */
static int view_until(int (*ok)(const shop_view *), int64_t ms)
{
	int64_t end = mono_ms() + ms;

	do {
		if (shop_link_view(link_, v) && ok(v))
			return 1;
		usleep(10 * 1000);
	} while (mono_ms() < end);
	return 0;
}

static int online_with_sales(const shop_view *w)
{
	return w->status == SHOP_ONLINE && w->have_sales;
}

static int viewers_9(const shop_view *w)
{
	return w->viewers == 9;
}

static int viewers_21(const shop_view *w)
{
	return w->viewers == 21;
}

static int three_orders(const shop_view *w)
{
	return w->have_sales && w->sales.orders == 3;
}

static int s2_with_sales(const shop_view *w)
{
	return w->show_live && strcmp(w->show_id, "s2") == 0 && w->have_sales;
}

static int no_show(const shop_view *w)
{
	return !w->show_live;
}

static void test_show_report_refresh(void **state)
{
	request r, first;
	int64_t pushed;
	size_t n;
	char seq[32];

	(void)state;
	v = calloc(1, sizeof(*v));
	assert_non_null(v);
	fake_start();
	fake_show("s1", "Deals night");
	pthread_mutex_lock(&f.lock);
	f.st.viewers = 3;
	pthread_mutex_unlock(&f.lock);

	link_start();

	/* the show on air in the first state: its report at once */
	if (!view_until(online_with_sales, 5000))
		fail_msg("no sales of the show on air within 5 s (status %s, "
			 "%zu report requests)",
			 shop_status_name(v->status), requests("report", NULL));
	assert_int_equal(v->viewers, 3);
	assert_string_equal(v->show_title, "Deals night");
	assert_int_equal(requests("report", &first), 1);
	assert_string_equal(first.path, "report?show=s1");
	assert_true(first.auth); /* the token, as control calls send it */
	assert_int_equal(v->sales.orders, 0);
	assert_int_equal(v->sales.ngmv, 1);
	assert_string_equal(v->sales.gmv[0].amount, "0.00");

	/* audience: the viewers, nothing asked of the server */
	fake_audience(9);
	assert_true(view_until(viewers_9, 2000));
	assert_int_equal(requests("report", NULL), 1);

	/* three purchases at once: one report, 5 s after the last began */
	fake_purchase();
	fake_purchase();
	fake_purchase();
	if (!view_until(three_orders, 8000))
		fail_msg("the purchases' report did not come within 8 s");
	assert_int_equal(requests("report", &r), 2);
	assert_string_equal(r.path, "report?show=s1");
	if (r.at - first.at < 4900)
		fail_msg("report again after %lld ms: at most every 5 s",
			 (long long)(r.at - first.at));
	assert_string_equal(v->sales.gmv[0].amount, "30.00");
	assert_string_equal(v->sales.gmv[0].currency, "EUR");

	/* the next show, less than 5 s later: its report at once */
	pushed = mono_ms();
	fake_show("s2", "Second");
	if (!view_until(s2_with_sales, 3000))
		fail_msg("no sales of show s2 within 3 s");
	n = requests("report", &r);
	assert_int_equal(n, 3);
	assert_string_equal(r.path, "report?show=s2");
	if (r.at - pushed > 1500)
		fail_msg("show s2's report %lld ms after it started",
			 (long long)(r.at - pushed));
	assert_int_equal(requests("report?show=s1", NULL), 2);

	/* audience, then the stream ends: it resumes after the last event,
	 * not after the message with no id */
	fake_audience(21);
	assert_true(view_until(viewers_21, 2000));
	n = requests("events", NULL);
	fake_drop_stream();
	for (pushed = mono_ms(); requests("events", &r) == n;) {
		if (mono_ms() - pushed > 3000)
			fail_msg("the stream was not opened again in 3 s");
		usleep(10 * 1000);
	}
	pthread_mutex_lock(&f.lock);
	snprintf(seq, sizeof(seq), "%llu", (unsigned long long)f.st.seq);
	pthread_mutex_unlock(&f.lock);
	assert_string_equal(r.last_id, seq);

	/* the show ends: "no show on air", its report no longer asked for */
	fake_show_end();
	assert_true(view_until(no_show, 3000));
	assert_false(v->have_sales);
	n = requests("report", NULL);
	usleep(1200 * 1000);
	assert_int_equal(requests("report", NULL), n);

	shop_link_free(link_);
	fake_stop();
	free(v);
}

/* SPEC §15 */

static shop_questions *qs;

static int one_question_and_answers(void)
{
	shop_link_questions(link_, qs);
	return qs->have && qs->n == 1 && qs->have_answers && qs->nanswers == 1;
}

static int no_question(void)
{
	shop_link_questions(link_, qs);
	return qs->n == 0;
}

static int tally_2_1(const shop_view *w)
{
	return w->poll_live && w->poll.counts[0] == 2 &&
	       w->poll.counts[1] == 1 && w->poll_votes == 3;
}

static int poll_final(const shop_view *w)
{
	return !w->poll_live && w->poll_shown && w->poll.counts[0] == 7;
}

static int idle_online(const shop_view *w)
{
	return w->status == SHOP_ONLINE && w->pending == 0;
}

static void test_questions_and_poll_tally(void **state)
{
	static const char *const colours[] = {"Red", "Blue"};
	lshop_poll p = make_poll("p1", "Colour?", 2, colours);
	lshop_event evs[LSHOP_PLAN_MAX];
	lshop_error err;
	request r, first;
	int64_t t0;
	size_t n;

	(void)state;
	v = calloc(1, sizeof(*v));
	qs = calloc(1, sizeof(*qs));
	assert_non_null(v);
	assert_non_null(qs);
	fake_start();
	f.questions = "{\"questions\":[{\"id\":\"q1\",\"text\":\"Ship?\","
		      "\"name\":\"Eve\",\"at\":\"2026-11-24T10:00:01.000Z\","
		      "\"held\":false,\"session\":\"0123456789abcdef\"}],"
		      "\"blocked_sessions\":0}";
	link_start();

	/* online: the saved answers and the waiting questions, with the
	 * token */
	t0 = mono_ms();
	while (!one_question_and_answers()) {
		if (mono_ms() - t0 > 5000)
			fail_msg("no questions and answers within 5 s (%zu "
				 "GET questions, %zu GET answers)",
				 requests("questions", NULL),
				 requests("answers", NULL));
		usleep(10 * 1000);
	}
	assert_int_equal(requests("answers", &r), 1);
	assert_true(r.auth);
	assert_true(requests("questions", &first) >= 1);
	assert_true(first.auth);
	assert_string_equal(qs->q[0].text, "Ship?");

	/* the dock shown: asked for every 2 s */
	shop_link_watch_questions(link_, 1);
	n = requests("questions", NULL);
	t0 = mono_ms();
	while (requests("questions", NULL) < n + 2 && mono_ms() - t0 < 6000)
		usleep(20 * 1000);
	assert_true(requests("questions", &r) >= n + 2);
	if (mono_ms() - t0 < 1800)
		fail_msg("GET questions more often than every 2 s");

	/* dismiss: POST …/questions/q1/dismiss, gone from the list at once
	 * (and from the fake's next answer) */
	pthread_mutex_lock(&f.lock);
	f.questions = "{\"questions\":[],\"blocked_sessions\":0}";
	pthread_mutex_unlock(&f.lock);
	assert_int_equal(shop_link_question_dismiss(link_, "q1", T0, &err), 0);
	assert_true(no_question());
	assert_true(view_until(idle_online, 3000));
	assert_int_equal(requests("questions/q1/dismiss", &r), 1);
	assert_string_equal(r.method, "POST");
	assert_true(r.auth);

	/* a poll: started, its live tally (no id), then its final counts */
	memset(evs, 0, sizeof(evs));
	pthread_mutex_lock(&f.lock);
	n = lshop_state_plan_poll_start(&f.st, &p, 60, T0, evs, &err);
	pthread_mutex_unlock(&f.lock);
	assert_int_equal(n, 1);
	fake_events(evs, n);
	pthread_mutex_lock(&f.lock);
	queue_sse("event: poll\ndata: {\"id\":\"p1\",\"counts\":[2,1],"
		  "\"votes\":3}\n\n");
	pthread_mutex_unlock(&f.lock);
	assert_true(view_until(tally_2_1, 3000));

	memset(evs, 0, sizeof(evs));
	pthread_mutex_lock(&f.lock);
	n = lshop_state_plan_poll_end(&f.st, "p1", T0 + 1000, evs, &err);
	pthread_mutex_unlock(&f.lock);
	assert_int_equal(n, 1);
	evs[0].poll.counts[0] = 7;
	evs[0].poll.counts[1] = 4;
	fake_events(evs, n);
	assert_true(view_until(poll_final, 3000));
	assert_int_equal(v->poll.counts[1], 4);
	assert_int_equal(v->poll_votes, 11);

	shop_link_free(link_);
	fake_stop();
	free(qs);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_show_report_refresh),
	    cmocka_unit_test(test_questions_and_poll_tally),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
