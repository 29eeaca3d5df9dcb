/*
 * live-shop OBS plugin: the shop_link's public side (shop-link.h): the
 * host's actions, the view, the settings, and what the worker's answers
 * do to them. The network is in shop-worker.c.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <lshop/sse.h>
#include <lshop/time.h>

#include "shop-link-internal.h"

typedef void (*shop_log_fn)(int level, const char *msg);

static shop_log_fn log_fn;

void shop_link_set_log(void (*log)(int level, const char *msg))
{
	__atomic_store_n(&log_fn, log, __ATOMIC_RELEASE);
}

int shop_log_enabled(void)
{
	return __atomic_load_n(&log_fn, __ATOMIC_ACQUIRE) != NULL;
}

void shop_log(int level, const char *fmt, ...)
{
	shop_log_fn fn = __atomic_load_n(&log_fn, __ATOMIC_ACQUIRE);
	char msg[1024];
	va_list ap;

	if (fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(level, msg);
}

const char *shop_status_name(shop_status status)
{
	static const char *const names[] = {"unconfigured", "connecting",
					    "online", "offline", "refused"};

	return (size_t)status < sizeof(names) / sizeof(names[0]) ? names[status]
								 : "unknown";
}

int shop_settings_complete(const shop_settings *s)
{
	return s->server[0] && s->stream[0] && s->token[0];
}

static shop_status status_of(const shop_link *link)
{
	if (!shop_settings_complete(&link->settings))
		return SHOP_UNCONFIGURED;
	if (link->refused)
		return SHOP_REFUSED;
	if (link->offline)
		return SHOP_OFFLINE;
	if (link->sse_open)
		return SHOP_ONLINE;
	return SHOP_CONNECTING;
}

/*
 * Kept short: the host's hotkey waits for the lock meanwhile. The view is
 * updated in place: its small parts, and of the catalog only the entries
 * that moved (prebuilt by the catalog's parser outside the lock).
 */
void shop_link_publish(shop_link *link)
{
	shop_view *v = &link->view;
	const char *msg;
	size_t n;

	link->published_entries = shop_model_view_update(link->model, v);
	v->status = status_of(link);
	msg = v->status == SHOP_OFFLINE || v->status == SHOP_REFUSED
		  ? link->status_message
		  : "";
	n = strnlen(msg, sizeof(v->status_message) - 1);
	memcpy(v->status_message, msg, n);
	v->status_message[n] = '\0';
	v->generation = ++link->generation;
}

/* Where the worker has parsed what it got, before it takes the lock. */
static void parsed_hook(shop_link *link, const char *what)
{
	if (link->parsed_hook != NULL)
		link->parsed_hook(link, what);
}

/*
 * Adaptive: a thread that finds the lock taken spins a little before it
 * sleeps, and every hold is a few microseconds, so the hotkey thread
 * rarely has to be woken up again (a context switch on a busy machine
 * costs far more than the hold).
 */
static int lock_init(pthread_mutex_t *lock)
{
	pthread_mutexattr_t attr;
	int rc;

	if (pthread_mutexattr_init(&attr) != 0)
		return -1;
#ifdef __GLIBC__
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
	rc = pthread_mutex_init(lock, &attr);
	pthread_mutexattr_destroy(&attr);
	return rc;
}

shop_link *shop_link_new(const shop_settings *s)
{
	shop_link *link = calloc(1, sizeof(*link));

	if (link == NULL)
		return NULL;
	if (lock_init(&link->lock) != 0) {
		free(link);
		return NULL;
	}
	if (s == NULL)
		shop_settings_init(&link->settings);
	else
		link->settings = *s;
	s = &link->settings;
	link->model = shop_model_new(s->stream, s->locale);
	if (link->model == NULL)
		goto fail;
	shop_link_publish(link);
	if (shop_worker_start(link) != 0)
		goto fail;
	return link;
fail:
	shop_model_free(link->model);
	pthread_mutex_destroy(&link->lock);
	free(link);
	return NULL;
}

void shop_link_free(shop_link *link)
{
	if (link == NULL)
		return;
	shop_worker_stop(link);
	shop_model_free(link->model);
	pthread_mutex_destroy(&link->lock);
	free(link);
}

static int settings_equal(const shop_settings *a, const shop_settings *b)
{
	return strcmp(a->server, b->server) == 0 &&
	       strcmp(a->stream, b->stream) == 0 &&
	       strcmp(a->token, b->token) == 0 &&
	       a->countdown_seconds == b->countdown_seconds &&
	       strcmp(a->countdown_label, b->countdown_label) == 0 &&
	       strcmp(a->disclosure_kind, b->disclosure_kind) == 0 &&
	       strcmp(a->locale, b->locale) == 0;
}

void shop_link_configure(shop_link *link, const shop_settings *s)
{
	size_t dropped = 0;
	int same_stream, reconnect;

	pthread_mutex_lock(&link->lock);
	if (settings_equal(&link->settings, s)) {
		/* the same again (a dialog closed with OK): no reconnect */
		pthread_mutex_unlock(&link->lock);
		return;
	}
	same_stream = strcmp(link->settings.server, s->server) == 0 &&
		      strcmp(link->settings.stream, s->stream) == 0;
	if (!same_stream) {
		dropped = shop_model_reset(link->model, s->stream, s->locale);
	} else {
		snprintf(link->model->locale, sizeof(link->model->locale), "%s",
			 s->locale);
	}
	reconnect = !same_stream || strcmp(link->settings.token, s->token) != 0;
	link->settings = *s;
	if (reconnect) {
		/* the worker starts over with them; the queue stays for a
		 * new token, so what a refused token kept goes now */
		link->settings_gen++;
		link->sse_open = link->offline = link->refused = 0;
		link->status_message[0] = '\0';
	}
	shop_link_publish(link);
	pthread_mutex_unlock(&link->lock);
	if (dropped)
		shop_log(SHOP_LOG_WARNING,
			 "settings changed to stream \"%s\": %zu action(s) "
			 "still queued for the old stream were dropped",
			 s->stream, dropped);
	shop_worker_wake(link);
}

void shop_link_settings(shop_link *link, shop_settings *out)
{
	pthread_mutex_lock(&link->lock);
	*out = link->settings;
	pthread_mutex_unlock(&link->lock);
}

/*
 * The lock is held for the copy of what is used: the head, the catalog's
 * entries and the purchases there are (a few KB with a short catalog,
 * not the whole ~50 KB), so the hotkey seldom finds it taken.
 */
static void view_copy(shop_view *out, const shop_view *v)
{
	memcpy(out, v, offsetof(shop_view, catalog));
	memcpy(out->catalog, v->catalog, v->ncatalog * sizeof(v->catalog[0]));
	out->npurchases = v->npurchases;
	memcpy(out->purchases, v->purchases,
	       v->npurchases * sizeof(v->purchases[0]));
}

int shop_link_view(shop_link *link, shop_view *out)
{
	if (pthread_mutex_trylock(&link->lock) != 0)
		return 0;
	if (out->generation != link->view.generation)
		view_copy(out, &link->view);
	pthread_mutex_unlock(&link->lock);
	return 1;
}

/* What a press says in the debug log, formatted once the lock is left. */
typedef struct pressed {
	shop_action_type type;
	int64_t at_ms;
	size_t pending;
} pressed;

/* Queues a (under the lock); 0, or -1 with err. */
static int act_locked(shop_link *link, shop_action *a, pressed *p,
		      lshop_error *err)
{
	a->send_at = 1;
	if (shop_model_act(link->model, a, err))
		return -1;
	shop_link_publish(link);
	p->type = a->type;
	p->at_ms = a->at_ms;
	p->pending = link->view.pending;
	return 0;
}

static int act_done(shop_link *link, int rc, const pressed *p)
{
	char at[LSHOP_TIME_LEN];

	pthread_mutex_unlock(&link->lock);
	if (rc != 0)
		return rc;
	if (shop_log_enabled()) {
		lshop_time_format(at, p->at_ms);
		shop_log(SHOP_LOG_DEBUG,
			 "%s pressed at %s, queued (%zu waiting)",
			 shop_action_name(p->type), at, p->pending);
	}
	/* last: the worker woken may take this CPU at once */
	shop_worker_wake(link);
	return 0;
}

static void action_init(shop_action *a, shop_action_type type, int64_t at_ms)
{
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->at_ms = at_ms;
}

/* id, of 1-64 of A-Z a-z 0-9 . _ - (what says whose): 0, or -1 with err
 * naming field. */
static int id_check(const char *id, const char *field, const char *what,
		    lshop_error *err)
{
	if (id != NULL && lshop_id_valid(id, strlen(id)))
		return 0;
	lshop_error_set(err, "invalid_field", field,
			"%s must be %s (1-64 of A-Z a-z 0-9 . _ -)", field,
			what);
	return -1;
}

/* A hotkey's slot: 0, or -1 with err. */
static int slot_check(int slot, lshop_error *err)
{
	if (slot >= 1 && slot <= 9)
		return 0;
	lshop_error_set(err, "invalid_field", "slot",
			"slot must be a number from 1 to 9");
	return -1;
}

static int pin_offer_locked(shop_link *link, const lshop_offer *offer,
			    int64_t at_ms, pressed *p, lshop_error *err)
{
	shop_action a;

	action_init(&a, SHOP_ACTION_PIN, at_ms);
	a.offer = *offer;
	return act_locked(link, &a, p, err);
}

int shop_link_pin(shop_link *link, const char *offer_id, int64_t at_ms,
		  lshop_error *err)
{
	const lshop_offer *o;
	pressed p;
	int rc = -1;

	if (id_check(offer_id, "offer", "an offer id", err))
		return -1;
	pthread_mutex_lock(&link->lock);
	o = shop_model_offer(link->model, offer_id);
	if (o == NULL)
		lshop_error_set(err, "unknown_offer", "offer",
				"offer \"%s\" is not in the catalog%s",
				offer_id,
				link->model->have_catalog
				    ? ""
				    : " (it is loaded once the server "
				      "answers)");
	else
		rc = pin_offer_locked(link, o, at_ms, &p, err);
	return act_done(link, rc, &p);
}

int shop_link_pin_slot(shop_link *link, int slot, int64_t at_ms,
		       lshop_error *err)
{
	pressed p;
	int rc = -1;

	if (slot_check(slot, err))
		return -1;
	pthread_mutex_lock(&link->lock);
	if ((size_t)slot > link->model->ncatalog)
		lshop_error_set(err, "unknown_offer", "slot",
				"slot %d is empty: the catalog holds %zu "
				"offer(s)%s",
				slot, link->model->ncatalog,
				link->model->have_catalog
				    ? ""
				    : " until the server answers");
	else
		rc = pin_offer_locked(link, &link->model->catalog[slot - 1],
				      at_ms, &p, err);
	return act_done(link, rc, &p);
}

/* An action that carries nothing but its moment: unpin, stop, hide. */
static int simple_locked(shop_link *link, shop_action_type type, int64_t at_ms,
			 pressed *p, lshop_error *err)
{
	shop_action a;

	action_init(&a, type, at_ms);
	return act_locked(link, &a, p, err);
}

static int act_simple(shop_link *link, shop_action_type type, int64_t at_ms,
		      lshop_error *err)
{
	pressed p;

	pthread_mutex_lock(&link->lock);
	return act_done(link, simple_locked(link, type, at_ms, &p, err), &p);
}

int shop_link_unpin(shop_link *link, int64_t at_ms, lshop_error *err)
{
	return act_simple(link, SHOP_ACTION_UNPIN, at_ms, err);
}

int shop_link_countdown(shop_link *link, int64_t seconds, const char *label,
			const char *offer_id, int64_t at_ms, lshop_error *err)
{
	shop_action a;
	pressed p;
	int rc = -1;

	action_init(&a, SHOP_ACTION_COUNTDOWN, at_ms);
	pthread_mutex_lock(&link->lock);
	a.seconds = seconds > 0 ? seconds : link->settings.countdown_seconds;
	if (label == NULL)
		label = link->settings.countdown_label;
	if (strlen(label) >= sizeof(a.label)) {
		lshop_error_set(err, "invalid_field", "label",
				"label must be valid UTF-8 text of up to 60 "
				"characters");
		goto out;
	}
	strcpy(a.label, label);
	if (offer_id != NULL && offer_id[0]) {
		if (id_check(offer_id, "offer", "an offer id", err))
			goto out;
		if (shop_model_offer(link->model, offer_id) == NULL) {
			lshop_error_set(err, "unknown_offer", "offer",
					"offer \"%s\" is not in the catalog",
					offer_id);
			goto out;
		}
		strcpy(a.offer_id, offer_id);
	}
	rc = act_locked(link, &a, &p, err);
out:
	return act_done(link, rc, &p);
}

int shop_link_countdown_stop(shop_link *link, int64_t at_ms, lshop_error *err)
{
	return act_simple(link, SHOP_ACTION_STOP_COUNTDOWN, at_ms, err);
}

static int disclose_locked(shop_link *link, const char *kind, const char *text,
			   int64_t at_ms, pressed *p, lshop_error *err)
{
	shop_action a;

	action_init(&a, SHOP_ACTION_DISCLOSE, at_ms);
	if (kind == NULL)
		kind = link->settings.disclosure_kind;
	if (!lshop_disclosure_kind_valid(kind, strlen(kind))) {
		lshop_error_set(err, "invalid_field", "kind",
				"kind must be one of ad, sponsored, affiliate, "
				"gifted, own");
		return -1;
	}
	strcpy(a.kind, kind);
	/* With a locale of its own the plugin says the label, so that the
	 * server shows what the overlay shows; else the server's locale. */
	if (text == NULL && link->settings.locale[0])
		text = lshop_disclosure_text(kind, link->settings.locale);
	if (text != NULL && strlen(text) >= sizeof(a.text)) {
		lshop_error_set(err, "invalid_field", "text",
				"text must be valid UTF-8 text of 1 to 60 "
				"characters");
		return -1;
	}
	if (text != NULL)
		strcpy(a.text, text);
	return act_locked(link, &a, p, err);
}

int shop_link_disclosure(shop_link *link, int show, const char *kind,
			 const char *text, int64_t at_ms, lshop_error *err)
{
	pressed p;

	pthread_mutex_lock(&link->lock);
	return act_done(
	    link,
	    show ? disclose_locked(link, kind, text, at_ms, &p, err)
		 : simple_locked(link, SHOP_ACTION_HIDE, at_ms, &p, err),
	    &p);
}

int shop_link_toggle_disclosure(shop_link *link, int64_t at_ms,
				lshop_error *err)
{
	pressed p;

	pthread_mutex_lock(&link->lock);
	return act_done(
	    link,
	    link->model->local.disclosure
		? simple_locked(link, SHOP_ACTION_HIDE, at_ms, &p, err)
		: disclose_locked(link, NULL, NULL, at_ms, &p, err),
	    &p);
}

/* SPEC §15: questions and polls */

/*
 * What the host typed, as viewer text: cleaned (controls to spaces,
 * bidi controls out), then min..max characters. 0, or -1 with err
 * naming field.
 */
static int host_text(const char *in, const char *field, long min, long max,
		     char *out, size_t cap, lshop_error *err)
{
	long n = in ? lshop_viewer_text_clean(in, strlen(in), out, cap) : 0;

	if (in == NULL)
		out[0] = '\0';
	if (n < 0 || n < min || n > max) {
		lshop_error_set(err, "invalid_field", field,
				"%s must be valid UTF-8 text of %ld to %ld "
				"characters",
				field, min, max);
		return -1;
	}
	return 0;
}

/* Under the lock: the waiting question id, or NULL with err. */
static const shop_waiting_question *waiting(shop_link *link, const char *id,
					    lshop_error *err)
{
	const shop_waiting_question *q = shop_model_question(link->model, id);

	if (q == NULL)
		lshop_error_set(err, "unknown_question", "id",
				"question \"%s\" is not waiting%s", id,
				link->model->questions->have
				    ? " (pinned, dismissed or gone already?)"
				    : " (the queue is loaded once the server "
				      "answers)");
	return q;
}

static int question_pin_locked(shop_link *link, const shop_waiting_question *q,
			       const char *answer, int64_t at_ms, pressed *p,
			       lshop_error *err)
{
	shop_action a;

	action_init(&a, SHOP_ACTION_QUESTION_PIN, at_ms);
	snprintf(a.question.id, sizeof(a.question.id), "%s", q->id);
	memcpy(a.question.text, q->text, sizeof(a.question.text));
	memcpy(a.question.name, q->name, sizeof(a.question.name));
	if (host_text(answer, "answer", 0, LSHOP_QUESTION_CHARS,
		      a.question.answer, sizeof(a.question.answer), err))
		return -1;
	return act_locked(link, &a, p, err);
}

int shop_link_question_pin(shop_link *link, const char *id, const char *answer,
			   int64_t at_ms, lshop_error *err)
{
	const shop_waiting_question *q;
	pressed p;
	int rc = -1;

	if (id_check(id, "id", "a question id", err))
		return -1;
	pthread_mutex_lock(&link->lock);
	q = waiting(link, id, err);
	if (q != NULL)
		rc = question_pin_locked(link, q, answer, at_ms, &p, err);
	return act_done(link, rc, &p);
}

int shop_link_question_pin_oldest(shop_link *link, int64_t at_ms,
				  lshop_error *err)
{
	const shop_questions *qs;
	pressed p;
	size_t i;
	int rc = -1;

	pthread_mutex_lock(&link->lock);
	qs = link->model->questions;
	for (i = 0; i < qs->n && qs->q[i].held; i++)
		;
	if (i < qs->n)
		rc = question_pin_locked(link, &qs->q[i], NULL, at_ms, &p, err);
	else
		lshop_error_set(
		    err, "no_question", "", "no question is waiting%s",
		    qs->have ? (qs->n ? " but those held for review" : "")
			     : " (the queue is loaded once the "
			       "server answers)");
	return act_done(link, rc, &p);
}

int shop_link_question_unpin(shop_link *link, int64_t at_ms, lshop_error *err)
{
	return act_simple(link, SHOP_ACTION_QUESTION_UNPIN, at_ms, err);
}

/* dismiss or block: the waiting question id */
static int question_drop(shop_link *link, shop_action_type type, const char *id,
			 int64_t at_ms, lshop_error *err)
{
	const shop_waiting_question *q;
	shop_action a;
	pressed p;
	int rc = -1;

	if (id_check(id, "id", "a question id", err))
		return -1;
	action_init(&a, type, at_ms);
	pthread_mutex_lock(&link->lock);
	q = waiting(link, id, err);
	if (q != NULL) {
		snprintf(a.question.id, sizeof(a.question.id), "%s", q->id);
		memcpy(a.session, q->session, sizeof(a.session));
		rc = act_locked(link, &a, &p, err);
	}
	return act_done(link, rc, &p);
}

int shop_link_question_dismiss(shop_link *link, const char *id, int64_t at_ms,
			       lshop_error *err)
{
	return question_drop(link, SHOP_ACTION_QUESTION_DISMISS, id, at_ms,
			     err);
}

int shop_link_question_block(shop_link *link, const char *id, int64_t at_ms,
			     lshop_error *err)
{
	return question_drop(link, SHOP_ACTION_QUESTION_BLOCK, id, at_ms, err);
}

static int answer_pin_locked(shop_link *link, const lshop_saved_answer *sa,
			     int64_t at_ms, pressed *p, lshop_error *err)
{
	shop_action a;

	action_init(&a, SHOP_ACTION_ANSWER_PIN, at_ms);
	lshop_saved_answer_question(sa, &a.question);
	return act_locked(link, &a, p, err);
}

int shop_link_answer_pin(shop_link *link, const char *id, int64_t at_ms,
			 lshop_error *err)
{
	const lshop_saved_answer *sa;
	pressed p;
	int rc = -1;

	if (id_check(id, "id", "a saved answer's id", err))
		return -1;
	pthread_mutex_lock(&link->lock);
	sa = shop_model_answer(link->model, id);
	if (sa == NULL)
		lshop_error_set(err, "unknown_answer", "id",
				"saved answer \"%s\" is not known%s", id,
				link->model->questions->have_answers
				    ? ""
				    : " (the answers are loaded once the "
				      "server answers)");
	else
		rc = answer_pin_locked(link, sa, at_ms, &p, err);
	return act_done(link, rc, &p);
}

int shop_link_answer_pin_slot(shop_link *link, int slot, int64_t at_ms,
			      lshop_error *err)
{
	const shop_questions *qs;
	pressed p;
	int rc = -1;

	if (slot_check(slot, err))
		return -1;
	pthread_mutex_lock(&link->lock);
	qs = link->model->questions;
	if ((size_t)slot > qs->nanswers)
		lshop_error_set(err, "unknown_answer", "slot",
				"answer slot %d is empty: %zu saved "
				"answer(s)%s",
				slot, qs->nanswers,
				qs->have_answers ? ""
						 : " until the server answers");
	else
		rc = answer_pin_locked(link, &qs->answers[slot - 1], at_ms, &p,
				       err);
	return act_done(link, rc, &p);
}

int shop_link_poll_start(shop_link *link, const char *question,
			 const char *const *options, int noptions,
			 int64_t seconds, int64_t at_ms, lshop_error *err)
{
	char field[16];
	shop_action a;
	pressed p;
	int i, j;

	action_init(&a, SHOP_ACTION_POLL_START, at_ms);
	a.seconds = seconds;
	strcpy(a.poll.id, SHOP_POLL_NEW_ID);
	if (host_text(question, "question", 1, LSHOP_QUESTION_CHARS,
		      a.poll.question, sizeof(a.poll.question), err))
		return -1;
	if (noptions < LSHOP_POLL_OPTIONS_MIN ||
	    noptions > LSHOP_POLL_OPTIONS_MAX || options == NULL) {
		lshop_error_set(err, "invalid_field", "options",
				"a poll has 2 to 4 options");
		return -1;
	}
	for (i = 0; i < noptions; i++) {
		snprintf(field, sizeof(field), "options[%d]", i);
		if (host_text(options[i], field, 1, LSHOP_POLL_OPTION_CHARS,
			      a.poll.options[i], sizeof(a.poll.options[i]),
			      err))
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(a.poll.options[i], a.poll.options[j]) == 0) {
				lshop_error_set(err, "invalid_field", field,
						"option %d is option %d again",
						i + 1, j + 1);
				return -1;
			}
	}
	a.poll.options_n = noptions;
	if (seconds < LSHOP_POLL_SECONDS_MIN ||
	    seconds > LSHOP_POLL_SECONDS_MAX) {
		lshop_error_set(err, "invalid_field", "seconds",
				"seconds must be a whole number from %d to %d",
				LSHOP_POLL_SECONDS_MIN, LSHOP_POLL_SECONDS_MAX);
		return -1;
	}
	pthread_mutex_lock(&link->lock);
	return act_done(link, act_locked(link, &a, &p, err), &p);
}

int shop_link_poll_end(shop_link *link, int64_t at_ms, lshop_error *err)
{
	shop_action a;
	pressed p;
	int rc = -1;

	action_init(&a, SHOP_ACTION_POLL_END, at_ms);
	pthread_mutex_lock(&link->lock);
	if (link->model->local.poll_live) {
		snprintf(a.poll.id, sizeof(a.poll.id), "%s",
			 link->model->local.poll.id);
		rc = act_locked(link, &a, &p, err);
	} else {
		lshop_error_set(err, "not_running", "", "no poll is running");
	}
	return act_done(link, rc, &p);
}

int shop_link_questions(shop_link *link, shop_questions *out)
{
	const shop_questions *qs;
	int copied = 0;

	pthread_mutex_lock(&link->lock);
	qs = link->model->questions;
	if (out->generation != qs->generation) {
		out->generation = qs->generation;
		out->have = qs->have;
		out->n = qs->n;
		memcpy(out->q, qs->q, qs->n * sizeof(qs->q[0]));
		out->blocked_sessions = qs->blocked_sessions;
		out->have_answers = qs->have_answers;
		out->nanswers = qs->nanswers;
		memcpy(out->answers, qs->answers,
		       qs->nanswers * sizeof(qs->answers[0]));
		copied = 1;
	}
	pthread_mutex_unlock(&link->lock);
	return copied;
}

void shop_link_watch_questions(shop_link *link, int watching)
{
	int was;

	pthread_mutex_lock(&link->lock);
	was = link->questions_watch;
	link->questions_watch = watching != 0;
	if (watching && !was)
		link->questions_refresh = 1;
	pthread_mutex_unlock(&link->lock);
	if (watching && !was)
		shop_worker_wake(link);
}

void shop_link_refresh_questions(shop_link *link)
{
	pthread_mutex_lock(&link->lock);
	link->questions_refresh = 1;
	pthread_mutex_unlock(&link->lock);
	shop_worker_wake(link);
}

/* The worker's side */

/* The {"error":{...}} of a refusal into err; a body that is not one too. */
static void answer_error(long status, const char *body, size_t len,
			 lshop_error *err)
{
	json_t *v = json_loadb(body, len, 0, NULL), *e;
	const char *code, *field, *msg;

	e = json_object_get(v, "error");
	code = json_string_value(json_object_get(e, "code"));
	field = json_string_value(json_object_get(e, "field"));
	msg = json_string_value(json_object_get(e, "message"));
	if (code != NULL)
		lshop_error_set(err, code, field ? field : "", "%s",
				msg ? msg : "");
	else
		lshop_error_set(err, "http_error", "",
				"HTTP %ld with a body that is not an error "
				"object",
				status);
	json_decref(v);
}

/* A log line said once the lock is left (the log may take its time). */
typedef struct later_log {
	int level; /* 0: none */
	char msg[768];
} later_log;

static void later(later_log *l, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void later(later_log *l, int level, const char *fmt, ...)
{
	va_list ap;

	if (!shop_log_enabled())
		return;
	l->level = level;
	va_start(ap, fmt);
	vsnprintf(l->msg, sizeof(l->msg), fmt, ap);
	va_end(ap);
}

static void later_say(const later_log *l)
{
	if (l->level)
		shop_log(l->level, "%s", l->msg);
}

static int is_refusal(long status)
{
	return status >= 400 && status < 500 && status != 408 && status != 429;
}

shop_next shop_link_on_answer(shop_link *link, uint64_t gen, long status,
			      const char *body, size_t len, int *resync)
{
	char at[LSHOP_TIME_LEN];
	shop_next next = SHOP_NEXT_GO;
	later_log log = {0};
	const char *name;
	lshop_event ev;
	lshop_error perr, err;
	int ok = status >= 200 && status < 300, parsed = 0;
	shop_action *a;

	*resync = 0;
	/* parsed before taking the lock: the hotkey waits for nothing */
	if (ok)
		parsed = lshop_event_parse(body, len, &ev, &perr) == 0;
	else if (is_refusal(status))
		answer_error(status, body, len, &err);
	parsed_hook(link, "answer");
	pthread_mutex_lock(&link->lock);
	a = shop_model_next(link->model);
	if (a == NULL || gen != link->settings_gen) {
		pthread_mutex_unlock(&link->lock);
		return SHOP_NEXT_GO;
	}
	name = shop_action_name(a->type);
	if (ok && !shop_action_makes_event(a->type)) {
		/* {"dismissed":..}, {"blocked":..}: done */
		shop_model_answered(link->model, 0);
		link->refused = link->offline = 0;
	} else if (ok) {
		if (parsed && a->type == SHOP_ACTION_POLL_START &&
		    ev.type == LSHOP_POLL_STARTED)
			shop_model_poll_named(link->model, ev.poll.id);
		if (!parsed) {
			lshop_time_format(at, a->at_ms);
			later(&log, SHOP_LOG_WARNING,
			      "%s (pressed at %s): the server's answer is "
			      "not an event (%s); state fetched again",
			      name, at, perr.message);
			ev.seq = 0;
			*resync = 1;
		}
		shop_model_answered(link->model, ev.seq);
		link->refused = link->offline = 0;
		*resync |= !link->sse_open;
	} else if (status == 401 || status == 403) {
		snprintf(link->status_message, sizeof(link->status_message),
			 "the server refused the token (HTTP %ld %s: %.150s)",
			 status, err.code, err.message);
		if (!link->refused)
			later(&log, SHOP_LOG_WARNING,
			      "%s: %s; %zu action(s) kept", name,
			      link->status_message,
			      shop_model_pending(link->model));
		link->refused = 1;
		link->offline = 0;
		next = SHOP_NEXT_RETRY_SLOW;
	} else if (is_refusal(status)) {
		link->refused = link->offline = 0;
		lshop_time_format(at, a->at_ms);
		if (status == 400 && strcmp(err.field, "at") == 0 &&
		    a->send_at) {
			/* SPEC §5: "at" may be at most 10 s old */
			later(&log, SHOP_LOG_WARNING,
			      "%s pressed at %s reached the server too "
			      "late to keep that time (%s); sent again to "
			      "take effect now",
			      name, at, err.message);
			a->send_at = 0;
			next = SHOP_NEXT_RESEND;
		} else {
			later(&log, SHOP_LOG_WARNING,
			      "%s (pressed at %s) was refused by the "
			      "server: HTTP %ld %s: %s; dropped, and the "
			      "state fetched again",
			      name, at, status, err.code, err.message);
			shop_model_drop_next(link->model);
			*resync = 1;
		}
	} else {
		if (status == 0)
			snprintf(link->status_message,
				 sizeof(link->status_message),
				 "the server cannot be reached: %.*s", (int)len,
				 body);
		else
			snprintf(link->status_message,
				 sizeof(link->status_message),
				 "the server answered HTTP %ld", status);
		if (!link->offline)
			later(&log, SHOP_LOG_WARNING,
			      "%s: %s; %zu action(s) kept until it answers",
			      name, link->status_message,
			      shop_model_pending(link->model));
		link->offline = 1;
		next = SHOP_NEXT_RETRY_BACKOFF;
	}
	shop_link_publish(link);
	pthread_mutex_unlock(&link->lock);
	later_say(&log);
	return next;
}

void shop_link_sse_status(shop_link *link, int open, const char *why)
{
	later_log log = {0};

	pthread_mutex_lock(&link->lock);
	if (open) {
		if (link->offline || !link->sse_open)
			later(&log, SHOP_LOG_INFO, "connected to stream \"%s\"",
			      link->settings.stream);
		link->sse_open = 1;
		link->offline = 0;
	} else if (why == NULL) {
		link->sse_open = 0;
	} else {
		if (link->sse_open || !link->offline)
			later(&log, SHOP_LOG_WARNING,
			      "the event stream of \"%s\" ended: %s",
			      link->settings.stream, why);
		link->sse_open = 0;
		link->offline = 1;
		snprintf(link->status_message, sizeof(link->status_message),
			 "the server cannot be reached: %s", why);
	}
	shop_link_publish(link);
	pthread_mutex_unlock(&link->lock);
	later_say(&log);
}

void shop_link_call_status(shop_link *link, long status, const char *body,
			   size_t len)
{
	later_log log = {0};
	lshop_error err;

	if (status == 401 || status == 403)
		answer_error(status, body, len, &err);
	pthread_mutex_lock(&link->lock);
	if (status == 401 || status == 403) {
		snprintf(link->status_message, sizeof(link->status_message),
			 "the server refused the token (HTTP %ld %s: %.150s)",
			 status, err.code, err.message);
		if (!link->refused)
			later(&log, SHOP_LOG_WARNING, "stream \"%s\": %s",
			      link->settings.stream, link->status_message);
		link->refused = 1;
	} else if (status >= 200 && status < 300) {
		link->refused = 0;
	}
	shop_link_publish(link);
	pthread_mutex_unlock(&link->lock);
	later_say(&log);
}
/* Parsed before taking the lock: the view and the host wait for nothing. */
static int put_state(shop_link *link, uint64_t gen, const char *json,
		     size_t len, int force)
{
	shop_parsed_state *ps = malloc(sizeof(*ps));
	lshop_error err;
	int rc = -1;

	if (ps == NULL)
		return -1;
	if (shop_state_parse(json, len, ps, &err) == 0) {
		parsed_hook(link, "state");
		pthread_mutex_lock(&link->lock);
		rc = 0;
		if (gen == link->settings_gen) {
			rc = shop_model_put_state(link->model, ps, force, &err);
			if (rc == 0)
				shop_link_publish(link);
		}
		pthread_mutex_unlock(&link->lock);
	}
	if (rc != 0)
		shop_log(SHOP_LOG_WARNING,
			 "the server's state is not understood: %s",
			 err.message);
	free(ps);
	return rc;
}

/* SPEC §14: event "audience", data {"viewers":N}, no id, no seq. */
static void audience(shop_link *link, uint64_t gen, const char *data,
		     size_t len)
{
	lshop_error err;
	int64_t viewers;

	if (shop_audience_parse(data, len, &viewers, &err) != 0) {
		shop_log(SHOP_LOG_WARNING,
			 "an audience message is not understood: %s",
			 err.message);
		return;
	}
	parsed_hook(link, "audience");
	pthread_mutex_lock(&link->lock);
	if (gen == link->settings_gen &&
	    shop_model_set_viewers(link->model, viewers))
		shop_link_publish(link);
	pthread_mutex_unlock(&link->lock);
}

/* SPEC §15: event "poll", data {"id","counts","votes"}, no id, no seq:
 * the running poll's live tally. */
static void poll_tally(shop_link *link, uint64_t gen, const char *data,
		       size_t len)
{
	lshop_error err;
	lshop_poll tally;
	int64_t votes = 0;

	if (shop_poll_tally_parse(data, len, &tally, &votes, &err) != 0) {
		shop_log(SHOP_LOG_WARNING,
			 "a poll message is not understood: %s", err.message);
		return;
	}
	parsed_hook(link, "poll");
	pthread_mutex_lock(&link->lock);
	if (gen == link->settings_gen &&
	    shop_model_set_poll_tally(link->model, &tally, votes))
		shop_link_publish(link);
	pthread_mutex_unlock(&link->lock);
}

struct sse_ctx {
	shop_link *link;
	uint64_t gen;
	int flags;
};

static int sse_message(void *ctx, const lshop_sse_message *msg)
{
	struct sse_ctx *c = ctx;
	shop_link *link = c->link;
	lshop_error err;
	lshop_event ev;

	/* msg->id is the last one the stream named, inherited by messages
	 * that name none (the standard's "last event ID"): where the stream
	 * resumes comes from the events applied instead, server.seq */
	if (strcmp(msg->event, "state") == 0) {
		put_state(link, c->gen, msg->data, msg->len, 1);
		return 0;
	}
	if (strcmp(msg->event, "audience") == 0) {
		audience(link, c->gen, msg->data, msg->len);
		return 0;
	}
	if (strcmp(msg->event, "poll") == 0) {
		poll_tally(link, c->gen, msg->data, msg->len);
		return 0;
	}
	/* parsed before taking the lock: the view waits for nothing */
	if (lshop_event_parse(msg->data, msg->len, &ev, &err) != 0) {
		shop_log(SHOP_LOG_WARNING,
			 "an event of type \"%s\" is not understood: %s",
			 msg->event, err.message);
		return 0;
	}
	parsed_hook(link, "event");
	pthread_mutex_lock(&link->lock);
	if (c->gen == link->settings_gen &&
	    strcmp(ev.stream, link->model->stream) == 0) {
		c->flags |= shop_model_apply_event(link->model, &ev);
		shop_link_publish(link);
	}
	pthread_mutex_unlock(&link->lock);
	return 0;
}

int shop_link_on_sse(shop_link *link, uint64_t gen, lshop_sse *parser,
		     const char *buf, size_t len)
{
	struct sse_ctx c = {link, gen, 0};
	lshop_error err;

	/* the parser starts over; the stream resumes from server.seq */
	if (lshop_sse_feed(parser, buf, len, sse_message, &c, &err) != 0) {
		shop_log(SHOP_LOG_WARNING, "the event stream is broken: %s",
			 err.message);
		c.flags |= SHOP_EVENT_GAP;
	}
	return c.flags;
}

int shop_link_resume_seq(shop_link *link, uint64_t *seq)
{
	int have;

	pthread_mutex_lock(&link->lock);
	have = link->model->have_state;
	*seq = link->model->server.seq;
	pthread_mutex_unlock(&link->lock);
	return have;
}

int shop_link_on_report(shop_link *link, uint64_t gen, const char *body,
			size_t len, lshop_error *err)
{
	shop_show_sales sales;

	/* parsed before taking the lock: a report runs to hundreds of KB */
	if (shop_report_parse(body, len, &sales, err) != 0)
		return -1;
	parsed_hook(link, "report");
	pthread_mutex_lock(&link->lock);
	if (gen == link->settings_gen &&
	    shop_model_put_sales(link->model, &sales))
		shop_link_publish(link);
	pthread_mutex_unlock(&link->lock);
	return 0;
}

/* GET questions / GET answers: parsed aside (up to ~300 KB), taken
 * under the lock with one copy. */
static int put_questions(shop_link *link, uint64_t gen, const char *body,
			 size_t len, int answers, lshop_error *err)
{
	shop_questions *q = malloc(sizeof(*q));
	int rc;

	if (q == NULL) {
		lshop_error_set(err, "enomem", "", "out of memory");
		return -1;
	}
	rc = answers ? shop_answers_parse(body, len, q, err)
		     : shop_questions_parse(body, len, q, err);
	if (rc == 0) {
		parsed_hook(link, answers ? "answers" : "questions");
		pthread_mutex_lock(&link->lock);
		if (gen == link->settings_gen) {
			if (answers) {
				shop_model_put_answers(link->model, q);
				shop_link_publish(link);
			} else if (shop_model_put_questions(link->model, q)) {
				shop_link_publish(link);
			}
		}
		pthread_mutex_unlock(&link->lock);
	}
	free(q);
	return rc;
}

int shop_link_on_questions(shop_link *link, uint64_t gen, const char *body,
			   size_t len, lshop_error *err)
{
	return put_questions(link, gen, body, len, 0, err);
}

int shop_link_on_answers(shop_link *link, uint64_t gen, const char *body,
			 size_t len, lshop_error *err)
{
	return put_questions(link, gen, body, len, 1, err);
}

int shop_link_on_state(shop_link *link, uint64_t gen, const char *body,
		       size_t len)
{
	return put_state(link, gen, body, len, 0);
}

int shop_link_on_catalog(shop_link *link, uint64_t gen, const char *body,
			 size_t len)
{
	shop_parsed_catalog *c = malloc(sizeof(*c));
	lshop_error err;
	int rc = -1;

	if (c == NULL)
		return -1;
	if (shop_catalog_parse(body, len, c, &err) != 0) {
		shop_log(SHOP_LOG_WARNING,
			 "the server's catalog is not understood: %s",
			 err.message);
		goto out;
	}
	rc = 0;
	parsed_hook(link, "catalog");
	/* the lock covers a pointer swap and the view's update; the old
	 * catalog is freed after */
	pthread_mutex_lock(&link->lock);
	if (gen == link->settings_gen) {
		shop_model_put_catalog(link->model, &c);
		shop_link_publish(link);
	}
	pthread_mutex_unlock(&link->lock);
out:
	free(c);
	return rc;
}

/* The show's sales as the report says them, or null while unknown. */
static json_t *sales_json(const shop_view *view)
{
	const shop_show_sales *s = &view->sales;
	json_t *v, *by;
	size_t i;

	if (!view->have_sales)
		return json_null();
	v = json_pack("{s:s,s:I,s:I}", "show", s->show_id, "orders",
		      (json_int_t)s->orders, "units", (json_int_t)s->units);
	if (v == NULL)
		return NULL;
	json_object_set_new(v, "gmv",
			    s->ngmv == 1 ? json_string(s->gmv[0].amount)
					 : json_null());
	json_object_set_new(v, "currency",
			    s->ngmv == 1 && s->gmv[0].currency[0]
				? json_string(s->gmv[0].currency)
				: json_null());
	if (s->ngmv > 1) {
		by = json_object();
		for (i = 0; i < s->ngmv; i++)
			json_object_set_new(by, s->gmv[i].currency,
					    json_string(s->gmv[i].amount));
		json_object_set_new(v, "gmv_by_currency", by);
	}
	return v;
}

char *shop_link_state_answer(shop_link *link, int64_t now_ms)
{
	json_t *v = json_object(), *state = NULL, *catalog, *purchases, *c;
	char *s, at[LSHOP_TIME_LEN];
	shop_parsed_state *ps;
	shop_view *view;
	size_t i;
	int bad = 0;

	view = malloc(sizeof(*view));
	ps = malloc(sizeof(*ps));
	if (v == NULL || view == NULL || ps == NULL) {
		free(view);
		free(ps);
		json_decref(v);
		return NULL;
	}
	/* the lock covers the copies; the JSON is made after */
	pthread_mutex_lock(&link->lock);
	shop_model_snapshot(link->model, ps);
	view_copy(view, &link->view);
	pthread_mutex_unlock(&link->lock);
	s = shop_state_json(ps, now_ms);
	free(ps);
	if (s != NULL)
		state = json_loads(s, 0, NULL);
	free(s);
	catalog = json_array();
	purchases = json_array();
	bad |= json_object_set_new(v, "ok", json_true());
	bad |= json_object_set_new(v, "status",
				   json_string(shop_status_name(view->status)));
	if (view->status_message[0])
		bad |= json_object_set_new(v, "status_message",
					   json_string(view->status_message));
	bad |= json_object_set_new(v, "pending",
				   json_integer((json_int_t)view->pending));
	for (i = 0; i < view->ncatalog; i++) {
		const shop_catalog_entry *e = &view->catalog[i];

		c = json_pack("{s:s,s:s,s:s,s:s}", "id", e->id, "title",
			      e->title, "price", e->price, "currency",
			      e->currency);
		if (c != NULL && e->stock >= 0)
			json_object_set_new(c, "stock", json_integer(e->stock));
		bad |= json_array_append_new(catalog, c);
	}
	for (i = 0; i < view->npurchases; i++) {
		lshop_time_format(at, view->purchases[i].at_ms);
		bad |= json_array_append_new(
		    purchases,
		    json_pack("{s:s,s:I,s:s}", "offer_id",
			      view->purchases[i].offer_id, "quantity",
			      (json_int_t)view->purchases[i].quantity, "at",
			      at));
	}
	bad |= json_object_set_new(v, "catalog", catalog);
	bad |= json_object_set_new(v, "purchases", purchases);
	bad |= json_object_set_new(v, "show_sales", sales_json(view));
	bad |= json_object_set_new(v, "state", state);
	s = bad ? NULL : json_dumps(v, JSON_COMPACT);
	json_decref(v);
	free(view);
	return s;
}
