/*
 * live-shop OBS plugin: its own logic, with no libobs in it.
 *
 * A shop_link is the plugin's connection to one liveshop stream: the
 * settings, the host's actions (pin, unpin, countdown, disclosure), the
 * local picture of what is live, and a worker thread that talks to the
 * server with libcurl (control calls, the catalog, the SSE stream).
 *
 * Threads: every function here may be called from any thread (hotkey,
 * UI, obs-websocket, graphics). None of them does network I/O or waits
 * for the worker: an action is applied to the local state at once (so
 * the overlay shows it the moment the key is pressed), queued with the
 * time of the key press ("at"), and sent by the worker in order. While
 * the server is unreachable the queue keeps every action; on reconnect
 * they are sent in order with their original "at".
 *
 * The state shown is the server's once it answers: the worker rebuilds it
 * from GET state and the SSE stream, and local actions still queued are
 * planned on top of it with the core's lshop_state_plan_* rules, so the
 * overlay never shows something the server would refuse.
 */
#ifndef SHOP_LINK_H
#define SHOP_LINK_H

#include <stddef.h>
#include <stdint.h>

#include <lshop/error.h>
#include <lshop/event.h>
#include <lshop/interaction.h>
#include <lshop/offer.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SHOP_SERVER_MAX       512
#define SHOP_TOKEN_MAX        512
#define SHOP_CATALOG_MAX      64  /* offers kept for the dock and slots 1-9 */
#define SHOP_PURCHASES_MAX    8   /* last purchases kept for the dock */
#define SHOP_QUEUE_MAX        256 /* actions kept while offline */
#define SHOP_QUESTIONS_MAX    100 /* waiting questions kept for the dock */
#define SHOP_ANSWERS_MAX      50  /* saved answers kept; slots 1-9 */
#define SHOP_SESSION_HASH_LEN 16  /* the asker as the host sees it: hex */

/* a show's sums, one per currency: the report's LSHOP_REPORT_CURRENCIES_MAX */
#define SHOP_GMV_CURRENCIES_MAX 8
#define SHOP_MONEY_MAX          40 /* bytes of an amount: many prices summed */

/*
 * The plugin's settings (SPEC §12), kept in
 * obs_module_config_path("config.json"). Keys: "server" (base URL of the
 * live_shop_api location, e.g. "http://127.0.0.1:8080/shop/"), "stream"
 * ("live/demo"), "token", "countdown_seconds" (default 300),
 * "countdown_label" (default ""), "disclosure_kind" (the kind the toggle
 * shows, default "ad"), "locale" (default "" = the host's OBS locale).
 */
typedef struct shop_settings {
	char server[SHOP_SERVER_MAX + 1];
	char stream[LSHOP_STREAM_MAX + 1];
	char token[SHOP_TOKEN_MAX + 1];
	int64_t countdown_seconds;
	char countdown_label[LSHOP_LABEL_MAX + 1];
	char disclosure_kind[16];
	char locale[16];
} shop_settings;

/* Fills s with the defaults (empty server, stream and token). */
void shop_settings_init(shop_settings *s);

/*
 * Reads path into s (missing keys keep s's values). A missing file is
 * not an error (returns 0, s unchanged). Returns -1 with err naming the
 * key for a file that is not JSON or a value of the wrong type or range;
 * s is then unchanged.
 */
int shop_settings_load(shop_settings *s, const char *path, lshop_error *err);

/*
 * Writes s to path atomically (temporary file + rename), mode 0600 since
 * it holds the token. Returns 0, or -1 with err.
 */
int shop_settings_save(const shop_settings *s, const char *path,
		       lshop_error *err);

typedef enum shop_status {
	SHOP_UNCONFIGURED, /* no server, stream or token */
	SHOP_CONNECTING,
	SHOP_ONLINE,  /* the SSE stream is open */
	SHOP_OFFLINE, /* the server is unreachable; actions are kept */
	SHOP_REFUSED, /* 401/403: the token is wrong for this stream */
} shop_status;

typedef struct shop_catalog_entry {
	char id[LSHOP_ID_MAX + 1];
	char title[LSHOP_TITLE_MAX + 1];
	char price[LSHOP_PRICE_MAX + 1];
	char currency[4];
	int64_t stock; /* LSHOP_STOCK_UNLIMITED or ≥ 0 */
	char disclosure[16];
} shop_catalog_entry;

typedef struct shop_purchase {
	char offer_id[LSHOP_ID_MAX + 1];
	int64_t quantity;
	int64_t at_ms;
} shop_purchase;

/* An amount of money as the server writes it: "123.45" in "EUR". */
typedef struct shop_money {
	char amount[SHOP_MONEY_MAX + 1]; /* exact decimal, as received */
	char currency[4]; /* ISO 4217; "" when none (no orders yet) */
} shop_money;

/*
 * The sales of a show, from GET report?show=ID (SPEC §14): its "show"
 * object's orders, units and gmv. The gmv is one sum (ngmv 1, its
 * currency "" while the show has no orders), one sum per currency when
 * the orders are in several (ngmv > 1, "gmv_by_currency"), or not known
 * (ngmv 0: the server could not say it, e.g. too many currencies).
 */
typedef struct shop_show_sales {
	char show_id[LSHOP_ID_MAX + 1];
	int64_t orders;
	int64_t units;
	size_t ngmv;
	shop_money gmv[SHOP_GMV_CURRENCIES_MAX];
} shop_show_sales;

/*
 * What is live, as the overlay and the dock draw it. Plain data with no
 * pointers: copying it allocates nothing.
 */
typedef struct shop_view {
	uint64_t generation; /* grows whenever anything below changes */
	shop_status status;
	char status_message[256]; /* why offline/refused, for the dock */
	size_t pending;           /* actions queued, not yet answered */

	/* the stream the link is for: the QR code's buy URL (SPEC §16) */
	char stream[LSHOP_STREAM_MAX + 1];
	int pinned;
	lshop_offer offer;   /* the pinned offer */
	int64_t offer_stock; /* its current stock; LSHOP_STOCK_UNLIMITED */

	int countdown;
	int64_t countdown_ends_at_ms; /* wall clock, ms since the epoch */
	char countdown_label[LSHOP_LABEL_MAX + 1];

	int disclosure;
	char disclosure_kind[16];
	char disclosure_text[LSHOP_DISCLOSURE_TEXT_MAX + 1];
	/* 1 while the pinned offer needs the disclosure: it cannot be hidden */
	int disclosure_required;

	/* viewers now (GET state, then the SSE "audience" message); -1
	 * until the server has said its state */
	int64_t viewers;

	/* the show on air (show.started until show.ended) */
	int show_live;
	char show_id[LSHOP_ID_MAX + 1];
	char show_title[LSHOP_TITLE_MAX + 1];
	/* 1 when sales are the show on air's (its report has come) */
	int have_sales;
	shop_show_sales sales;

	/* the pinned question (SPEC §15), viewer text as the server
	 * cleaned it */
	int question_pinned;
	lshop_question question;

	/*
	 * The poll shown: the running one (poll_live, counts its live tally
	 * from the SSE "poll" message) or, once it ended, the last one with
	 * its final counts (poll_ended_at_ms, when poll.ended said so).
	 */
	int poll_shown;
	int poll_live;
	lshop_poll poll;
	int64_t poll_votes;
	int64_t poll_ended_at_ms; /* 0 while it runs */

	/* questions waiting at the server (GET questions); -1 unknown */
	int64_t questions_waiting;

	size_t ncatalog; /* catalog order = slots 1..9 */
	shop_catalog_entry catalog[SHOP_CATALOG_MAX];

	size_t npurchases; /* newest first */
	shop_purchase purchases[SHOP_PURCHASES_MAX];
} shop_view;

/* A viewer's question waiting in the stream's queue (GET questions). */
typedef struct shop_waiting_question {
	char id[LSHOP_ID_MAX + 1];
	char text[LSHOP_QUESTION_MAX + 1];
	char name[LSHOP_VIEWER_NAME_MAX + 1]; /* "": anonymous */
	int64_t at_ms;
	int held; /* caught by a blocked word: for review */
	char session[SHOP_SESSION_HASH_LEN + 1];
} shop_waiting_question;

/*
 * The waiting questions (oldest first) and the saved answers, for the
 * dock, the hotkeys and get_questions. Kept out of shop_view: the
 * overlay never needs them.
 */
typedef struct shop_questions {
	uint64_t generation; /* grows whenever anything below changes */
	int have;            /* GET questions has answered */
	size_t n;
	shop_waiting_question q[SHOP_QUESTIONS_MAX];
	int64_t blocked_sessions;
	int have_answers; /* GET answers has answered */
	size_t nanswers;  /* the server's order = slots 1..9 */
	lshop_saved_answer answers[SHOP_ANSWERS_MAX];
} shop_questions;

typedef struct shop_link shop_link;

/*
 * Creates a link with settings s and starts its worker thread (which
 * connects when s is complete). Returns NULL on ENOMEM or if the thread
 * cannot start. The token is never logged.
 */
shop_link *shop_link_new(const shop_settings *s);

/* Stops the worker (within about 1 s, even mid-request) and frees. */
void shop_link_free(shop_link *link);

/*
 * New settings: the worker reconnects with them. Actions still queued for
 * the old stream are dropped (and said so in the log).
 */
void shop_link_configure(shop_link *link, const shop_settings *s);

/* A copy of the current settings. */
void shop_link_settings(shop_link *link, shop_settings *out);

/*
 * Copies the view into out unless out->generation is already current.
 * Never blocks: if the worker holds the lock this instant, returns 0 and
 * leaves out as it was (the caller draws the previous view); else 1.
 * Safe to call from the render and tick paths (no allocation, no wait).
 */
int shop_link_view(shop_link *link, shop_view *out);

/*
 * The host's actions. at_ms is the wall-clock time of the key press (ms
 * since the epoch). Each checks the action against the local state with
 * the core's rules, applies it locally, queues it and returns 0; or
 * returns -1 with err (e.g. "not_pinned", "disclosure_required",
 * "unknown_offer", "queue_full") and changes nothing.
 */
int shop_link_pin(shop_link *link, const char *offer_id, int64_t at_ms,
		  lshop_error *err);
/* slot 1..9: the slot-th offer of the catalog */
int shop_link_pin_slot(shop_link *link, int slot, int64_t at_ms,
		       lshop_error *err);
int shop_link_unpin(shop_link *link, int64_t at_ms, lshop_error *err);
/* seconds ≤ 0: the settings' countdown_seconds; label NULL: theirs */
int shop_link_countdown(shop_link *link, int64_t seconds, const char *label,
			const char *offer_id, int64_t at_ms, lshop_error *err);
/* stops the running countdown before it runs out ("not_running") */
int shop_link_countdown_stop(shop_link *link, int64_t at_ms, lshop_error *err);
/* show: kind NULL = the settings' kind, text NULL = the locale's label */
int shop_link_disclosure(shop_link *link, int show, const char *kind,
			 const char *text, int64_t at_ms, lshop_error *err);
/* shows the settings' kind when none is shown, else hides */
int shop_link_toggle_disclosure(shop_link *link, int64_t at_ms,
				lshop_error *err);

/*
 * Questions and polls (SPEC §15), queued like the actions above. Texts
 * the host types (an answer, a poll's question and options) are viewer
 * text: cleaned with lshop_viewer_text_clean, then checked for length.
 *
 * question_pin: a waiting question (id as GET questions lists it; the
 * view needs its text at once), with answer NULL or "" for none.
 * question_pin_oldest: the oldest waiting question not held for review.
 * answer_pin: a saved answer by id, or by slot 1..9 (GET answers' order).
 * poll_start: 2-4 options, seconds 10-3600. poll_end ends the running
 * poll. dismiss and block name a waiting question; block blocks its
 * asker on this stream.
 */
int shop_link_question_pin(shop_link *link, const char *id, const char *answer,
			   int64_t at_ms, lshop_error *err);
int shop_link_question_pin_oldest(shop_link *link, int64_t at_ms,
				  lshop_error *err);
int shop_link_question_unpin(shop_link *link, int64_t at_ms, lshop_error *err);
int shop_link_question_dismiss(shop_link *link, const char *id, int64_t at_ms,
			       lshop_error *err);
int shop_link_question_block(shop_link *link, const char *id, int64_t at_ms,
			     lshop_error *err);
int shop_link_answer_pin(shop_link *link, const char *id, int64_t at_ms,
			 lshop_error *err);
int shop_link_answer_pin_slot(shop_link *link, int slot, int64_t at_ms,
			      lshop_error *err);
int shop_link_poll_start(shop_link *link, const char *question,
			 const char *const *options, int noptions,
			 int64_t seconds, int64_t at_ms, lshop_error *err);
int shop_link_poll_end(shop_link *link, int64_t at_ms, lshop_error *err);

/*
 * Copies the waiting questions and saved answers into out unless
 * out->generation is current. Returns 1 if it copied. Takes the lock
 * for the copy (the dock's timer, not the render path).
 */
int shop_link_questions(shop_link *link, shop_questions *out);

/*
 * The dock is shown (watching 1) or hidden: while shown, the worker asks
 * for the waiting questions every 2 s, else every 10 s.
 */
void shop_link_watch_questions(shop_link *link, int watching);

/* Asks the worker for the questions and saved answers again now. */
void shop_link_refresh_questions(shop_link *link);

/*
 * obs-websocket vendor "live-shop" (SPEC §12): request_type is "pin"
 * ({"offer":"ID"} or {"slot":N}), "unpin", "countdown"
 * ({"seconds":N,"label":"…"}, or {"stop":true}), "disclosure"
 * ({"show":true,"kind":"ad","text":"…"}) or "get_state"; request_json
 * the request data ("" or NULL for none). Returns a malloc'd JSON
 * object (caller frees): {"ok":true,...} or {"ok":false,"error":"…"}.
 * get_state answers {"ok":true,"status":"online",...,"state":{...},
 * "show_sales":{"show":"ID","orders":N,"units":N,"gmv":..,"currency":..,
 * "gmv_by_currency":{..}?}|null}.
 *
 * SPEC §15: "pin_question" ({"id":"q7","answer":"…"?}),
 * "unpin_question", "dismiss_question" and "block_question"
 * ({"id":"q7"}), "pin_answer" ({"id":"ID"} or {"slot":N}), "start_poll"
 * ({"question":"…","options":["…",…],"seconds":N}), "end_poll", and
 * "get_questions" (answers "questions", "blocked_sessions", "answers",
 * "question" (the pinned one or null) and "poll" (null or its live
 * counts)).
 */
char *shop_link_vendor_request(shop_link *link, const char *request_type,
			       const char *request_json, int64_t now_ms);

/*
 * Added for the glue: where shop_link's log lines go. Levels are OBS's
 * (LOG_ERROR 100, LOG_WARNING 200, LOG_INFO 300, LOG_DEBUG 400), so the
 * plugin passes them on to blog() as they are. The default, and NULL,
 * drops them. No line ever holds the token. Set it before the first
 * shop_link_new; msg is only valid during the call.
 */
#define SHOP_LOG_ERROR   100
#define SHOP_LOG_WARNING 200
#define SHOP_LOG_INFO    300
#define SHOP_LOG_DEBUG   400
void shop_link_set_log(void (*log)(int level, const char *msg));

/* "unconfigured", "connecting", "online", "offline", "refused". */
const char *shop_status_name(shop_status status);

#ifdef __cplusplus
}
#endif

#endif
