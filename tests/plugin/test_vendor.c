/*
 * The obs-websocket vendor requests (shop-vendor.c): each request type,
 * its data checked field by field, and answers that name the problem.
 */
#include <jansson.h>

#include "plugin_test.h"
#include "shop-link-internal.h"

static shop_link *link_;

static int setup(void **state)
{
	shop_settings s;
	char *cat = catalog_json(3);

	(void)state;
	shop_settings_init(&s);
	s.countdown_seconds = 120;
	link_ = shop_link_new(&s);
	assert_non_null(link_);
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
	return 0;
}

/* The answer of a request, parsed; its "ok" must be ok. */
static json_t *request(const char *type, const char *data, int ok)
{
	char *out = shop_link_vendor_request(link_, type, data, T0);
	json_error_t jerr;
	json_t *v;

	assert_non_null(out);
	v = json_loads(out, 0, &jerr);
	if (v == NULL)
		fail_msg("answer is not JSON: %s", out);
	if (json_is_true(json_object_get(v, "ok")) != ok)
		fail_msg("%s %s answered %s", type, data ? data : "", out);
	if (!ok && json_string_length(json_object_get(v, "error")) < 10)
		fail_msg("error says too little: %s", out);
	free(out);
	return v;
}

/* A refused request whose error holds needle. */
static void refused(const char *type, const char *data, const char *needle)
{
	json_t *v = request(type, data, 0);
	const char *e = json_string_value(json_object_get(v, "error"));

	if (strstr(e, needle) == NULL)
		fail_msg("%s %s: error \"%s\" does not say \"%s\"", type, data,
			 e, needle);
	json_decref(v);
}

static void ok(const char *type, const char *data)
{
	json_decref(request(type, data, 1));
}

static void test_bad_requests(void **state)
{
	(void)state;
	refused("pin", "{\"offer\":", "not JSON");
	refused("pin", "[1]", "JSON object");
	refused("dance", "", "unknown request type \"dance\"");
	refused(NULL, "", "no request type");
	refused("pin", "", "either \"offer\"");
	refused("pin", "{\"offer\":\"a\",\"slot\":1}", "either \"offer\"");
	refused("pin", "{\"offer\":7}", "\"offer\" must be a string");
	refused("pin", "{\"slot\":\"1\"}", "\"slot\" must be a whole number");
	refused("pin", "{\"slot\":12}", "from 1 to 9");
	refused("pin", "{\"slot\":4}", "slot 4 is empty");
	refused("pin", "{\"offer\":\"zz\"}", "\"zz\" is not in the catalog");
	refused("pin", "{\"sku\":\"a\"}", "unknown field \"sku\"");
	refused("unpin", "", "nothing is pinned");
	refused("unpin", "{\"at\":1}", "takes no data");
	refused("countdown", "{\"seconds\":0}", "from 1 to 86400");
	refused("countdown", "{\"seconds\":\"60\"}", "from 1 to 86400");
	refused("countdown", "{\"label\":5}", "\"label\" must be a string");
	refused("countdown", "{\"seconds\":60,\"offer\":\"zz\"}",
		"not in the catalog");
	refused("countdown", "{\"stop\":true}", "no countdown is running");
	refused("countdown", "{\"stop\":1}", "\"stop\" must be true");
	refused("countdown", "{\"stop\":true,\"seconds\":5}",
		"takes no other field");
	refused("disclosure", "{}", "needs \"show\"");
	refused("disclosure", "{\"show\":\"yes\"}", "needs \"show\"");
	refused("disclosure", "{\"show\":true,\"kind\":\"secret\"}",
		"kind must be one of");
	refused("disclosure", "{\"show\":false}", "no disclosure is shown");
	/* nothing was queued by any of them */
	assert_int_equal(shop_model_pending(link_->model), 0);
}

static void test_requests(void **state)
{
	json_t *v, *st;

	(void)state;
	ok("pin", "{\"slot\":2}");
	/* b needs "ad": hiding it is refused, saying why */
	refused("disclosure", "{\"show\":false}", "needs its \"ad\"");
	refused("disclosure", "{\"show\":true,\"kind\":\"gifted\"}",
		"needs its \"ad\"");
	ok("countdown", "{\"label\":\"Nur heute\"}");
	ok("pin", "{\"offer\":\"a\"}");
	ok("disclosure", "{\"show\":true,\"kind\":\"sponsored\","
			 "\"text\":\"Dauerwerbesendung\"}");

	v = request("get_state", NULL, 1);
	assert_string_equal(json_string_value(json_object_get(v, "status")),
			    "unconfigured");
	assert_int_equal(json_integer_value(json_object_get(v, "pending")), 4);
	st = json_object_get(v, "state");
	assert_string_equal(
	    json_string_value(json_object_get(
		json_object_get(json_object_get(st, "pinned"), "offer"), "id")),
	    "a");
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(st, "disclosure"), "text")),
			    "Dauerwerbesendung");
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(st, "countdown"), "label")),
			    "Nur heute");
	/* the settings' length: 120 s from the press */
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(st, "countdown"), "ends_at")),
			    "2026-11-24T10:02:00.123Z");
	assert_int_equal(json_array_size(json_object_get(v, "catalog")), 3);
	json_decref(v);

	ok("disclosure", "{\"show\":false}");
	ok("unpin", NULL);
	refused("unpin", "{}", "nothing is pinned");
	ok("countdown", "{\"stop\":true}");
	v = request("get_state", NULL, 1);
	assert_true(json_is_null(
	    json_object_get(json_object_get(v, "state"), "countdown")));
	json_decref(v);
	refused("countdown", "{\"stop\":true}", "no countdown is running");
	assert_int_equal(shop_model_pending(link_->model), 7);
}

/* SPEC §15: the waiting questions and saved answers the server listed. */
static void load_questions(void)
{
	const char *q =
	    "{\"questions\":["
	    "{\"id\":\"q1\",\"text\":\"Ship to <i>Austria</i>?\",\"name\":"
	    "\"Eve\",\"at\":\"2026-11-24T10:00:01.000Z\",\"held\":false,"
	    "\"session\":\"0123456789abcdef\"},"
	    "{\"id\":\"q2\",\"text\":\"held one\",\"name\":\"\",\"held\":true,"
	    "\"session\":\"fedcba9876543210\"},"
	    "{\"id\":\"q3\",\"text\":\"Colours?\",\"name\":\"Bob\","
	    "\"held\":false,\"session\":\"00000000000000ff\"}],"
	    "\"blocked_sessions\":1}";
	const char *a = "{\"answers\":[{\"id\":\"ship\",\"question\":"
			"\"Shipping?\",\"answer\":\"Free over 50\"}]}";
	lshop_error err;

	assert_int_equal(shop_link_on_questions(link_, link_->settings_gen, q,
						strlen(q), &err),
			 0);
	assert_int_equal(shop_link_on_answers(link_, link_->settings_gen, a,
					      strlen(a), &err),
			 0);
}

static void test_question_requests_refused(void **state)
{
	char json[2048];
	int i;

	(void)state;
	load_questions();
	refused("pin_question", "", "needs \"id\"");
	refused("pin_question", "{\"id\":7}", "needs \"id\"");
	refused("pin_question", "{\"id\":\"q1\",\"why\":1}",
		"unknown field \"why\"");
	refused("pin_question", "{\"id\":\"q1\",\"answer\":5}",
		"\"answer\" must be a string");
	refused("pin_question", "{\"id\":\"q 1\"}", "question id");
	refused("pin_question", "{\"id\":\"q9\"}", "\"q9\" is not waiting");
	/* 281 characters of answer: one too many */
	strcpy(json, "{\"id\":\"q1\",\"answer\":\"");
	for (i = 0; i < 281; i++)
		strcat(json, "x");
	strcat(json, "\"}");
	refused("pin_question", json, "0 to 280 characters");
	refused("pin_question", "{\"id\":\"q1\",\"answer\":\"\\u0000\"}",
		"not JSON");
	refused("dismiss_question", "{}", "needs \"id\"");
	refused("dismiss_question", "{\"id\":\"q9\"}", "not waiting");
	refused("block_question", "{\"id\":\"q1\",\"answer\":\"x\"}",
		"unknown field \"answer\"");
	refused("unpin_question", "", "no question is pinned");
	refused("unpin_question", "{\"id\":\"q1\"}", "takes no data");
	refused("pin_answer", "", "either \"id\"");
	refused("pin_answer", "{\"id\":\"ship\",\"slot\":1}", "either \"id\"");
	refused("pin_answer", "{\"slot\":0}", "from 1 to 9");
	refused("pin_answer", "{\"slot\":2}", "answer slot 2 is empty");
	refused("pin_answer", "{\"id\":\"nope\"}", "\"nope\" is not known");
	refused("pin_answer", "{\"id\":3}", "must be a string");
	refused("start_poll", "{}", "question");
	refused("start_poll",
		"{\"question\":\"Q?\",\"options\":[\"a\"],\"seconds\":60}",
		"options");
	refused("start_poll",
		"{\"question\":\"Q?\",\"options\":[\"a\",\"b\",\"c\",\"d\","
		"\"e\"],\"seconds\":60}",
		"options");
	refused("start_poll",
		"{\"question\":\"Q?\",\"options\":[\"a\",\"b\"],\"seconds\":5}",
		"seconds");
	refused("start_poll",
		"{\"question\":\"Q?\",\"options\":[\"a\",\"b\"],\"seconds\":60,"
		"\"color\":1}",
		"color");
	refused("end_poll", "", "no poll is running");
	refused("end_poll", "{\"id\":\"p1\"}", "takes no data");
	refused("get_questions", "{\"all\":true}", "takes no data");
	assert_int_equal(shop_model_pending(link_->model), 0);
}

static void test_question_requests(void **state)
{
	json_t *v, *list, *q, *poll;

	(void)state;
	load_questions();
	v = request("get_questions", NULL, 1);
	list = json_object_get(v, "questions");
	assert_int_equal(json_array_size(list), 3);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(list, 0), "text")),
	    "Ship to <i>Austria</i>?");
	assert_true(
	    json_is_true(json_object_get(json_array_get(list, 1), "held")));
	assert_int_equal(
	    json_integer_value(json_object_get(v, "blocked_sessions")), 1);
	assert_int_equal(json_array_size(json_object_get(v, "answers")), 1);
	assert_true(json_is_null(json_object_get(v, "question")));
	assert_true(json_is_null(json_object_get(v, "poll")));
	json_decref(v);

	/* the answer is viewer text: a CR LF becomes a space */
	ok("pin_question", "{\"id\":\"q1\",\"answer\":\"Yes,\\r\\nfree\"}");
	ok("dismiss_question", "{\"id\":\"q3\"}");
	ok("pin_answer", "{\"slot\":1}");
	ok("start_poll", "{\"question\":\"Which colour?\",\"options\":"
			 "[\"Red\",\"Blue\",\"Green\"],\"seconds\":90}");
	v = request("get_questions", NULL, 1);
	assert_int_equal(json_array_size(json_object_get(v, "questions")), 1);
	q = json_object_get(v, "question");
	/* the saved answer, pinned last, as the question */
	assert_string_equal(json_string_value(json_object_get(q, "id")),
			    "ship");
	assert_string_equal(json_string_value(json_object_get(q, "text")),
			    "Shipping?");
	assert_string_equal(json_string_value(json_object_get(q, "answer")),
			    "Free over 50");
	poll = json_object_get(v, "poll");
	assert_string_equal(
	    json_string_value(json_object_get(poll, "question")),
	    "Which colour?");
	assert_int_equal(json_array_size(json_object_get(poll, "options")), 3);
	assert_true(json_is_true(json_object_get(poll, "running")));
	json_decref(v);
	/* the first pin's answer was cleaned */
	assert_string_equal(link_->model->queue[0].question.answer,
			    "Yes, free");

	ok("end_poll", NULL);
	refused("end_poll", "", "no poll is running");
	ok("unpin_question", "{}");
	refused("unpin_question", "", "no question is pinned");
	ok("block_question", "{\"id\":\"q2\"}");
	v = request("get_questions", NULL, 1);
	assert_int_equal(json_array_size(json_object_get(v, "questions")), 0);
	json_decref(v);
	assert_int_equal(shop_model_pending(link_->model), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_requests, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_question_requests_refused,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_question_requests, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
