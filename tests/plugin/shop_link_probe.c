/*
 * shop_link_probe: a real shop_link driven line by line, for the
 * integration tests (test_link_nginx.py). One command a line on stdin,
 * one answer a line on stdout; the link's log lines go to stderr.
 *
 *   configure SERVER STREAM TOKEN    new settings       -> ok
 *   settings-load PATH               load, configure    -> ok {settings}
 *   settings-save PATH               save the settings  -> ok | error ..
 *   pin ID [AT_MS]                   the host's actions -> ok AT_MS |
 *   pin-slot N [AT_MS]                                     error CODE MSG
 *   unpin [AT_MS]
 *   countdown SECONDS [AT_MS]
 *   disclose KIND [AT_MS]
 *   hide [AT_MS]
 *   vendor TYPE [JSON]               a vendor request   -> its answer
 *   watch-questions                  as a shown dock: GET questions
 *                                    every 2 s          -> ok
 *   view                             the view as JSON
 *   wait-status NAME SECONDS         until the status is NAME
 *   wait-online SECONDS              until online
 *   wait-idle SECONDS                until online, nothing pending,
 *                                    the server's state caught up and
 *                                    the catalog read
 *                                    (waits answer ok, or timeout VIEW)
 *   quit
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <lshop/time.h>

#include "shop-link-internal.h"

static shop_link *link_;
static shop_view view_;

static void log_line(int level, const char *msg)
{
	fprintf(stderr, "log %d %s\n", level, msg);
	fflush(stderr);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static json_t *settings_json(const shop_settings *s)
{
	return json_pack("{s:s,s:s,s:I,s:I,s:s,s:s,s:s}", "server", s->server,
			 "stream", s->stream, "token_length",
			 (json_int_t)strlen(s->token), "countdown_seconds",
			 (json_int_t)s->countdown_seconds, "countdown_label",
			 s->countdown_label, "disclosure_kind",
			 s->disclosure_kind, "locale", s->locale);
}

static void fresh_view(void)
{
	/* the render path would retry next frame; we retry now */
	while (!shop_link_view(link_, &view_))
		usleep(1000);
}

/* The show's sales: {"show","orders","units","gmv":[[AMOUNT,CUR]..]}. */
static json_t *sales_json(void)
{
	const shop_show_sales *s = &view_.sales;
	json_t *gmv;
	size_t i;

	if (!view_.have_sales)
		return json_null();
	gmv = json_array();
	for (i = 0; i < s->ngmv; i++)
		json_array_append_new(gmv, json_pack("[s,s]", s->gmv[i].amount,
						     s->gmv[i].currency));
	return json_pack("{s:s,s:I,s:I,s:o}", "show", s->show_id, "orders",
			 (json_int_t)s->orders, "units", (json_int_t)s->units,
			 "gmv", gmv);
}

/* The pinned question: {"id","text","name","answer"} or null. */
static json_t *question_json(void)
{
	if (!view_.question_pinned)
		return json_null();
	return json_pack("{s:s,s:s,s:s,s:s}", "id", view_.question.id, "text",
			 view_.question.text, "name", view_.question.name,
			 "answer", view_.question.answer);
}

/* The poll shown: {"id","question","options","counts","votes","live"}. */
static json_t *poll_json(void)
{
	json_t *opts, *counts;
	int i;

	if (!view_.poll_shown)
		return json_null();
	opts = json_array();
	counts = json_array();
	for (i = 0; i < view_.poll.options_n; i++) {
		json_array_append_new(opts, json_string(view_.poll.options[i]));
		json_array_append_new(counts,
				      json_integer(view_.poll.counts[i]));
	}
	return json_pack("{s:s,s:s,s:o,s:o,s:I,s:b}", "id", view_.poll.id,
			 "question", view_.poll.question, "options", opts,
			 "counts", counts, "votes",
			 (json_int_t)view_.poll_votes, "live", view_.poll_live);
}

static char *view_text(void)
{
	char at[LSHOP_TIME_LEN];
	json_t *v, *cat, *pur;
	size_t i;
	char *s;

	fresh_view();
	cat = json_array();
	for (i = 0; i < view_.ncatalog; i++)
		json_array_append_new(
		    cat, json_pack("{s:s,s:s,s:I}", "id", view_.catalog[i].id,
				   "title", view_.catalog[i].title, "stock",
				   (json_int_t)view_.catalog[i].stock));
	pur = json_array();
	for (i = 0; i < view_.npurchases; i++) {
		lshop_time_format(at, view_.purchases[i].at_ms);
		json_array_append_new(
		    pur, json_pack("{s:s,s:I,s:s}", "offer_id",
				   view_.purchases[i].offer_id, "quantity",
				   (json_int_t)view_.purchases[i].quantity,
				   "at", at));
	}
	v = json_pack(
	    "{s:I,s:s,s:s,s:I,s:b,s:s,s:I,s:b,s:I,s:s,s:b,s:s,s:s,s:b,s:o,"
	    "s:o}",
	    "generation", (json_int_t)view_.generation, "status",
	    shop_status_name(view_.status), "status_message",
	    view_.status_message, "pending", (json_int_t)view_.pending,
	    "pinned", view_.pinned, "offer", view_.pinned ? view_.offer.id : "",
	    "offer_stock", (json_int_t)view_.offer_stock, "countdown",
	    view_.countdown, "countdown_ends_at_ms",
	    (json_int_t)view_.countdown_ends_at_ms, "countdown_label",
	    view_.countdown_label, "disclosure", view_.disclosure,
	    "disclosure_kind", view_.disclosure_kind, "disclosure_text",
	    view_.disclosure_text, "disclosure_required",
	    view_.disclosure_required, "catalog", cat, "purchases", pur);
	/* SPEC §14: what the dock's viewers and show lines show */
	json_object_set_new(v, "viewers", json_integer(view_.viewers));
	json_object_set_new(v, "show_live", json_boolean(view_.show_live));
	json_object_set_new(v, "show_id", json_string(view_.show_id));
	json_object_set_new(v, "show_title", json_string(view_.show_title));
	json_object_set_new(v, "sales", sales_json());
	/* SPEC §15 */
	json_object_set_new(v, "question", question_json());
	json_object_set_new(v, "poll", poll_json());
	json_object_set_new(v, "questions_waiting",
			    json_integer(view_.questions_waiting));
	s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	return s;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int idle(void)
{
	int caught_up;

	fresh_view();
	pthread_mutex_lock(&link_->lock);
	caught_up = link_->model->qlen == 0 && link_->model->have_state &&
		    link_->model->have_catalog;
	pthread_mutex_unlock(&link_->lock);
	return view_.status == SHOP_ONLINE && view_.pending == 0 && caught_up;
}

static void wait_for(const char *status, double seconds)
{
	int64_t end = mono_ms() + (int64_t)(seconds * 1000);
	char *s;

	for (;;) {
		fresh_view();
		if (status ? strcmp(shop_status_name(view_.status), status) == 0
			   : idle()) {
			say("ok");
			return;
		}
		if (mono_ms() > end)
			break;
		usleep(10 * 1000);
	}
	s = view_text();
	say("timeout %s", s);
	free(s);
}

/* The optional AT_MS argument: the press time, else now. */
static int64_t at_arg(const char *s)
{
	return s && *s ? strtoll(s, NULL, 10) : lshop_now_ms();
}

static void acted(int rc, int64_t at, const lshop_error *err)
{
	if (rc == 0)
		say("ok %" PRId64, at);
	else
		say("error %s %s", err->code, err->message);
}

int main(void)
{
	char line[8192], *cmd, *a1, *a2, *a3, *rest, *s;
	shop_settings set;
	lshop_error err;
	json_t *jset;
	int64_t at;

	setvbuf(stdout, NULL, _IOLBF, 0);
	shop_link_set_log(log_line);
	shop_settings_init(&set);
	link_ = shop_link_new(&set);
	if (link_ == NULL) {
		say("error enomem cannot create the link");
		return 1;
	}
	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		cmd = strtok_r(line, " ", &rest);
		if (cmd == NULL)
			continue;
		a1 = strtok_r(NULL, " ", &rest);
		if (strcmp(cmd, "quit") == 0)
			break;
		if (strcmp(cmd, "configure") == 0) {
			a2 = strtok_r(NULL, " ", &rest);
			a3 = strtok_r(NULL, " ", &rest);
			shop_link_settings(link_, &set);
			snprintf(set.server, sizeof(set.server), "%s",
				 a1 ? a1 : "");
			snprintf(set.stream, sizeof(set.stream), "%s",
				 a2 ? a2 : "");
			snprintf(set.token, sizeof(set.token), "%s",
				 a3 ? a3 : "");
			shop_link_configure(link_, &set);
			say("ok");
		} else if (strcmp(cmd, "settings-load") == 0 && a1) {
			shop_link_settings(link_, &set);
			if (shop_settings_load(&set, a1, &err) != 0) {
				say("error %s %s", err.code, err.message);
				continue;
			}
			shop_link_configure(link_, &set);
			jset = settings_json(&set);
			s = json_dumps(jset, JSON_COMPACT | JSON_SORT_KEYS);
			json_decref(jset);
			say("ok %s", s);
			free(s);
		} else if (strcmp(cmd, "settings-save") == 0 && a1) {
			shop_link_settings(link_, &set);
			if (shop_settings_save(&set, a1, &err) != 0)
				say("error %s %s", err.code, err.message);
			else
				say("ok");
		} else if (strcmp(cmd, "pin") == 0 && a1) {
			at = at_arg(strtok_r(NULL, " ", &rest));
			acted(shop_link_pin(link_, a1, at, &err), at, &err);
		} else if (strcmp(cmd, "pin-slot") == 0 && a1) {
			at = at_arg(strtok_r(NULL, " ", &rest));
			acted(shop_link_pin_slot(link_, atoi(a1), at, &err), at,
			      &err);
		} else if (strcmp(cmd, "unpin") == 0) {
			at = at_arg(a1);
			acted(shop_link_unpin(link_, at, &err), at, &err);
		} else if (strcmp(cmd, "countdown") == 0 && a1) {
			at = at_arg(strtok_r(NULL, " ", &rest));
			acted(shop_link_countdown(link_, atoll(a1), NULL, NULL,
						  at, &err),
			      at, &err);
		} else if (strcmp(cmd, "disclose") == 0 && a1) {
			at = at_arg(strtok_r(NULL, " ", &rest));
			acted(
			    shop_link_disclosure(link_, 1, a1, NULL, at, &err),
			    at, &err);
		} else if (strcmp(cmd, "hide") == 0) {
			at = at_arg(a1);
			acted(shop_link_disclosure(link_, 0, NULL, NULL, at,
						   &err),
			      at, &err);
		} else if (strcmp(cmd, "vendor") == 0 && a1) {
			s = shop_link_vendor_request(link_, a1, rest,
						     lshop_now_ms());
			say("%s", s ? s : "null");
			free(s);
		} else if (strcmp(cmd, "watch-questions") == 0) {
			shop_link_watch_questions(link_, 1);
			say("ok");
		} else if (strcmp(cmd, "view") == 0) {
			s = view_text();
			say("%s", s);
			free(s);
		} else if (strcmp(cmd, "wait-status") == 0 && a1) {
			a2 = strtok_r(NULL, " ", &rest);
			wait_for(a1, a2 ? atof(a2) : 10);
		} else if (strcmp(cmd, "wait-online") == 0) {
			wait_for("online", a1 ? atof(a1) : 10);
		} else if (strcmp(cmd, "wait-idle") == 0) {
			wait_for(NULL, a1 ? atof(a1) : 10);
		} else {
			say("error usage unknown command or missing argument: "
			    "%s",
			    cmd);
		}
	}
	shop_link_free(link_);
	return 0;
}
