/*
 * live-shop OBS plugin: the picture of one stream that a shop_link keeps,
 * and the host's actions waiting to reach the server. Pure logic: no
 * threads, no I/O, so that tests drive it with strings. The shop_link
 * holds its lock around every call.
 *
 * The picture is the server's state (from GET state and the SSE stream),
 * and on top of it, planned with the core's lshop_state_plan_* rules, the
 * actions still queued, and those the server accepted whose events the
 * stream has not brought yet (so that nothing flickers back meanwhile).
 */
#ifndef SHOP_MODEL_H
#define SHOP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <lshop/state.h>

#include "shop-link.h"

#define SHOP_STOCK_MAX 1024 /* stock entries kept from the state's map */

typedef enum shop_action_type {
	SHOP_ACTION_PIN,
	SHOP_ACTION_UNPIN,
	SHOP_ACTION_COUNTDOWN,
	SHOP_ACTION_DISCLOSE,
	SHOP_ACTION_HIDE,
	SHOP_ACTION_STOP_COUNTDOWN,
	/* SPEC §15 */
	SHOP_ACTION_QUESTION_PIN,
	SHOP_ACTION_QUESTION_UNPIN,
	SHOP_ACTION_QUESTION_DISMISS, /* no event: the queue only */
	SHOP_ACTION_QUESTION_BLOCK,   /* no event: the queue only */
	SHOP_ACTION_ANSWER_PIN,
	SHOP_ACTION_POLL_START,
	SHOP_ACTION_POLL_END,
} shop_action_type;

/*
 * The id a poll started here has until the server names it ("p" and a
 * seq): the end of a poll whose start is still queued names it so, and
 * takes the server's id once the start is answered.
 */
#define SHOP_POLL_NEW_ID "new"

typedef struct shop_action {
	shop_action_type type;
	int64_t at_ms; /* the key press */
	int send_at;   /* 0 once the server refused the press time as too old */
	/* the seq of the event the server answered; 0 while unanswered */
	uint64_t answered_seq;
	lshop_offer offer;               /* pin: the offer as known */
	char offer_id[LSHOP_ID_MAX + 1]; /* countdown: "" for none */
	int64_t seconds;                 /* countdown */
	char label[LSHOP_LABEL_MAX + 1]; /* countdown */
	char kind[16];                   /* disclose */
	/* disclose: "" leaves the label to the server (its locale) */
	char text[LSHOP_DISCLOSURE_TEXT_MAX + 1];
	/* question pin: the question as listed, with the host's answer;
	 * answer pin: the saved answer as a question (id = the answer's);
	 * dismiss, block: id (and block: the asker's session) */
	lshop_question question;
	char session[SHOP_SESSION_HASH_LEN + 1];
	/* poll start: question and options (id SHOP_POLL_NEW_ID), seconds
	 * above; poll end: the poll's id */
	lshop_poll poll;
} shop_action;

/* Ids of waiting questions taken out of the queue here (pinned,
 * dismissed, blocked), so that a list fetched before the server heard
 * of it does not bring them back. */
#define SHOP_GONE_MAX 64

typedef struct shop_model {
	char stream[LSHOP_STREAM_MAX + 1];
	char locale[16];

	int have_state; /* the server has told its state */
	lshop_state server;
	size_t nstock;
	lshop_stock_value stock[SHOP_STOCK_MAX];

	int have_catalog;
	size_t ncatalog;
	lshop_offer *catalog;            /* cat->offers */
	struct shop_parsed_catalog *cat; /* owned; swapped in whole */
	/*
	 * Bit i: entry i of the view's catalog (its text or its stock) moved
	 * since shop_model_view_update last copied it. The published view
	 * only copies those, so a publish costs about the same with 64
	 * offers as with 2.
	 */
	uint64_t cat_dirty;

	size_t npurchases; /* newest first */
	shop_purchase purchases[SHOP_PURCHASES_MAX];

	/* a ring: answered actions first, then the unanswered ones */
	shop_action queue[SHOP_QUEUE_MAX];
	size_t qhead, qlen;

	lshop_state local; /* server + queue, what the view shows */

	/* the last report of a show's sales, in the view only while that
	 * show is on air (server.show) */
	int have_sales;
	shop_show_sales sales;

	/* SPEC §15: the waiting questions and saved answers (owned) */
	shop_questions *questions;
	char gone_id[SHOP_GONE_MAX][LSHOP_ID_MAX + 1];
	char gone_session[SHOP_GONE_MAX][SHOP_SESSION_HASH_LEN + 1];
	size_t gone_next;
	/* the last poll that ended, with its final counts */
	int have_last_poll;
	lshop_poll last_poll;
	int64_t last_poll_ended_ms;
	int64_t poll_votes;          /* of the running poll, from its tally */
	int64_t poll_end_pressed_ms; /* the last end pressed here */
} shop_model;

/* What an event from the stream asks of the worker. */
#define SHOP_EVENT_CATALOG 1 /* the catalog changed: GET it again */
#define SHOP_EVENT_GAP     2 /* events are missing: resume from server.seq */
#define SHOP_EVENT_SALE    4 /* a purchase: the show's sales moved */

/* Allocates an empty model (about 2 MB); NULL on ENOMEM. */
shop_model *shop_model_new(const char *stream, const char *locale);
void shop_model_free(shop_model *m);

/* Forgets everything (a new stream); returns how many actions it drops. */
size_t shop_model_reset(shop_model *m, const char *stream, const char *locale);

/* The offer of the catalog (or the pinned one) with this id, or NULL. */
const lshop_offer *shop_model_offer(const shop_model *m, const char *id);

/*
 * Checks a against the local picture with the core's rules, applies it
 * and queues it. Returns 0, or -1 with err ("queue_full", or the
 * planner's refusal) and nothing changed.
 */
int shop_model_act(shop_model *m, const shop_action *a, lshop_error *err);

/* Actions queued and not answered yet. */
size_t shop_model_pending(const shop_model *m);

/* The first action not answered yet (the next to send), or NULL. */
shop_action *shop_model_next(shop_model *m);

/* The server accepted the next action with the event of seq. */
void shop_model_answered(shop_model *m, uint64_t seq);

/* The server refused the next action: it is dropped. */
void shop_model_drop_next(shop_model *m);

/* 1 if an action of type makes events (dismiss and block do not). */
int shop_action_makes_event(shop_action_type type);

/*
 * The poll started here is poll_id at the server: queued ends of it
 * (SHOP_POLL_NEW_ID) take that id.
 */
void shop_model_poll_named(shop_model *m, const char *poll_id);

/* The waiting question of this id, or NULL. */
const shop_waiting_question *shop_model_question(const shop_model *m,
						 const char *id);

/* The saved answer of this id, or NULL. */
const lshop_saved_answer *shop_model_answer(const shop_model *m,
					    const char *id);

/*
 * {"questions":[{"id","text","name","at","held","session"}..],
 * "blocked_sessions":N} of GET questions: the first SHOP_QUESTIONS_MAX,
 * texts checked as viewer text. Fills out's questions part. Returns 0,
 * or -1 with err naming the field.
 */
int shop_questions_parse(const char *json, size_t len, shop_questions *out,
			 lshop_error *err);

/* {"answers":[{"id","question","answer"}..]} of GET answers: fills out's
 * answers part. Returns 0, or -1 with err. */
int shop_answers_parse(const char *json, size_t len, shop_questions *out,
		       lshop_error *err);

/* Takes the questions part of q (those taken out here left out);
 * returns 1 if the list changed. */
int shop_model_put_questions(shop_model *m, const shop_questions *q);

/* Takes the answers part of q. */
void shop_model_put_answers(shop_model *m, const shop_questions *q);

/*
 * The SSE "poll" message, {"id":"p44","counts":[3,5],"votes":8}: 0, or
 * -1 with err. tally receives id, counts and options_n (their number).
 */
int shop_poll_tally_parse(const char *json, size_t len, lshop_poll *tally,
			  int64_t *votes, lshop_error *err);

/* The running poll's live counts; returns 1 if they changed. A tally of
 * another poll is ignored. */
int shop_model_set_poll_tally(shop_model *m, const lshop_poll *tally,
			      int64_t votes);

/* A state and a catalog parsed aside, so no lock is held meanwhile. */
typedef struct shop_parsed_state {
	char stream[LSHOP_STREAM_MAX + 1];
	lshop_state st;
	size_t nstock;
	lshop_stock_value stock[SHOP_STOCK_MAX];
} shop_parsed_state;

typedef struct shop_parsed_catalog {
	size_t n;
	lshop_offer offers[SHOP_CATALOG_MAX];
	/* the view's entries of offers, made by the parser (stock is the
	 * offer's; the view's comes from the state's map) */
	shop_catalog_entry entries[SHOP_CATALOG_MAX];
} shop_parsed_catalog;

/* The state's JSON (GET state, SSE "state"): 0, or -1 with err. */
int shop_state_parse(const char *json, size_t len, shop_parsed_state *out,
		     lshop_error *err);

/*
 * Takes a parsed state as the server's. A state older than the one held
 * is ignored unless force (a new SSE stream starts from it). Returns 0,
 * or -1 with err for another stream's state.
 */
int shop_model_put_state(shop_model *m, const shop_parsed_state *ps, int force,
			 lshop_error *err);

/* Both in one (tests). */
int shop_model_set_state(shop_model *m, const char *json, size_t len, int force,
			 lshop_error *err);

/*
 * One event from the stream. Returns SHOP_EVENT_* flags; events already
 * held are ignored, a gap or an event that does not fit is
 * SHOP_EVENT_GAP.
 */
int shop_model_apply_event(shop_model *m, const lshop_event *ev);

/*
 * The SSE "audience" message's data, {"viewers":N} (SPEC §14): 0 with
 * *viewers, or -1 with err.
 */
int shop_audience_parse(const char *json, size_t len, int64_t *viewers,
			lshop_error *err);

/*
 * Viewers now, from the audience message. The message carries no id and
 * is no event: the seq, and so the resume point (Last-Event-ID), stays.
 * Returns 1 if the count changed.
 */
int shop_model_set_viewers(shop_model *m, int64_t viewers);

/* The id of the show on air, or NULL. */
const char *shop_model_show_on_air(const shop_model *m);

/*
 * The answer of GET report?show=ID (SPEC §14): its "show" object's id,
 * orders, units and gmv ("gmv_by_currency" when several currencies).
 * Returns 0, or -1 with err naming the field.
 */
int shop_report_parse(const char *json, size_t len, shop_show_sales *out,
		      lshop_error *err);

/*
 * Takes a show's sales; those of a show that is not on air (it ended
 * meanwhile) are dropped. Returns 1 if taken, else 0.
 */
int shop_model_put_sales(shop_model *m, const shop_show_sales *s);

/*
 * {"offers":[OFFER,...]} of GET offers, each checked with the core's
 * rules; the first SHOP_CATALOG_MAX are kept. Returns 0, or -1 with err
 * naming the offer and field.
 */
int shop_catalog_parse(const char *json, size_t len, shop_parsed_catalog *out,
		       lshop_error *err);
/*
 * Takes *c as the catalog by swapping pointers (no copy: the lock is held
 * for nothing more); *c is then the previous catalog, for the caller to
 * free (outside the lock) or reuse.
 */
void shop_model_put_catalog(shop_model *m, shop_parsed_catalog **c);

/* Both in one (tests). */
int shop_model_set_catalog(shop_model *m, const char *json, size_t len,
			   lshop_error *err);

/* Fills the parts of v the model knows (not generation and status). */
void shop_model_view(const shop_model *m, shop_view *v);

/*
 * The same for the one view kept up to date (the shop_link's published
 * view): the small parts, and only the catalog entries that moved since
 * the last call. Returns how many catalog entries it copied.
 */
size_t shop_model_view_update(shop_model *m, shop_view *v);

/* The local picture as the state's JSON (malloc'd), for get_state. */
char *shop_model_state_json(const shop_model *m, int64_t now_ms);

/* The same in two steps, so that only the copy needs the lock: the local
 * picture and the stock map into out, then out as JSON (malloc'd). */
void shop_model_snapshot(const shop_model *m, shop_parsed_state *out);
char *shop_state_json(const shop_parsed_state *ps, int64_t now_ms);

/* The body of an action's control call (malloc'd JSON), or NULL. */
char *shop_action_body(const shop_action *a);

/* "pin", "unpin", ... and the path/method of its control call. */
const char *shop_action_name(shop_action_type type);
const char *shop_action_path(shop_action_type type);
const char *shop_action_method(shop_action_type type);

/*
 * The path of a's control call under the stream's base: shop_action_path,
 * or for SPEC §15 "questions/ID/pin", "answers/ID/pin", "polls/ID/end",
 * .... Ids are 1-64 of A-Z a-z 0-9 . _ -: nothing to escape. Returns out.
 */
char *shop_action_url(const shop_action *a, char *out, size_t cap);

#endif
