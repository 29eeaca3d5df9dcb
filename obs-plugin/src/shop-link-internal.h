/*
 * live-shop OBS plugin: what shop-link.c, shop-worker.c and
 * shop-vendor.c share. Not for the OBS glue: it uses shop-link.h.
 */
#ifndef SHOP_LINK_INTERNAL_H
#define SHOP_LINK_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include <lshop/sse.h>

#include "shop-link.h"
#include "shop-model.h"

struct shop_link {
	pthread_mutex_t lock; /* guards everything below but the worker */

	shop_settings settings;
	uint64_t settings_gen; /* the worker starts over when it moves */
	shop_model *model;

	/* what the status is made of */
	int sse_open; /* the SSE stream delivers */
	int offline;  /* the last call could not reach the server */
	int refused;  /* the last authorized call got 401/403 */
	char status_message[256];

	shop_view view; /* published: shop_link_view copies it */
	uint64_t generation;
	size_t published_entries; /* catalog entries the last publish copied */

	/*
	 * Tests: called by the worker's handlers (shop_link_on_answer,
	 * _on_state, _on_catalog, _on_report, each SSE event and audience
	 * message) once what the server sent is parsed and before the lock
	 * is taken; what is "answer", "state", "catalog", "report", "event"
	 * or "audience". NULL in the plugin.
	 */
	void (*parsed_hook)(shop_link *link, const char *what);

	/* SPEC §15: how often the worker asks for the waiting questions
	 * (the dock shown: often), and a refresh asked for */
	int questions_watch;
	int questions_refresh;

	int stop;
	struct shop_worker *worker; /* owned by the worker thread */
	pthread_t thread;
	int thread_started;
};

/* 1 when a log function is set (else a line need not be formatted). */
int shop_log_enabled(void);

/* Logs through the function of shop_link_set_log (never the token). */
void shop_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* 1 when s names a server, a stream and a token. */
int shop_settings_complete(const shop_settings *s);

/*
 * Under link->lock: the view is brought up to date in place (its small
 * parts, and only the catalog entries that moved) and its generation
 * moves.
 */
void shop_link_publish(shop_link *link);

/*
 * What the worker does after a control call's answer: the next action,
 * the same one again at once (sent without "at"), or the same one later.
 */
typedef enum shop_next {
	SHOP_NEXT_GO,
	SHOP_NEXT_RESEND,
	SHOP_NEXT_RETRY_SLOW,    /* 401/403: settings may change */
	SHOP_NEXT_RETRY_BACKOFF, /* unreachable, timeout, 5xx */
} shop_next;

/*
 * The answer to the control call of the next queued action: HTTP status
 * (0 when the server could not be reached; body is then the reason) and
 * body, for the settings of generation gen (an answer for settings
 * replaced meanwhile is ignored). Takes the lock. *resync is set when the state
 * must be fetched again (the server refused what we thought it would accept).
 */
shop_next shop_link_on_answer(shop_link *link, uint64_t gen, long status,
			      const char *body, size_t len, int *resync);

/*
 * The SSE stream opened, or ended: cleanly (why NULL; it reconnects at
 * once) or not (why says how: the server is offline). Takes the lock.
 */
void shop_link_sse_status(shop_link *link, int open, const char *why);

/*
 * The answer to a call other than a control call (GET offers): 401/403
 * (body says why) makes the link refused, 2xx clears that. Takes the
 * lock.
 */
void shop_link_call_status(shop_link *link, long status, const char *body,
			   size_t len);

/*
 * The SSE stream's bytes, read for the settings of generation gen;
 * returns SHOP_EVENT_* flags. Takes the lock for each message.
 */
int shop_link_on_sse(shop_link *link, uint64_t gen, lshop_sse *parser,
		     const char *buf, size_t len);

/*
 * Where the SSE stream resumes: 1 with *seq, the last event the model
 * holds (the Last-Event-ID header), or 0 before any state (no header).
 * Only events move it: the unnumbered "audience" message does not, and
 * neither does the id a message without "id:" inherits. Takes the lock.
 */
int shop_link_resume_seq(shop_link *link, uint64_t *seq);

/*
 * The answer of GET report?show=ID (a 2xx body), for the settings of
 * generation gen: the show's sales, taken while it is on air. Returns 0,
 * or -1 with err when the body is not such a report. Takes the lock.
 */
int shop_link_on_report(shop_link *link, uint64_t gen, const char *body,
			size_t len, lshop_error *err);

/*
 * GET questions and GET answers answers (2xx bodies), for the settings
 * of generation gen. Return 0, or -1 with err. Take the lock.
 */
int shop_link_on_questions(shop_link *link, uint64_t gen, const char *body,
			   size_t len, lshop_error *err);
int shop_link_on_answers(shop_link *link, uint64_t gen, const char *body,
			 size_t len, lshop_error *err);

/* GET state and GET offers answers (2xx bodies). Take the lock. */
int shop_link_on_state(shop_link *link, uint64_t gen, const char *body,
		       size_t len);
int shop_link_on_catalog(shop_link *link, uint64_t gen, const char *body,
			 size_t len);

/* Starts and stops the worker thread (shop-worker.c). */
int shop_worker_start(shop_link *link);
void shop_worker_wake(shop_link *link);
void shop_worker_stop(shop_link *link);

/* The local picture as {"ok":true,"status":..,...,"state":{..}} (vendor). */
char *shop_link_state_answer(shop_link *link, int64_t now_ms);

#endif
