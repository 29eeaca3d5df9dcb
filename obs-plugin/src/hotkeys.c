/*
 * Frontend hotkeys: pin offer 1-9 (catalog order), unpin, start the
 * countdown, toggle the disclosure; and (SPEC §15) pin the oldest
 * waiting question, pin saved answer 1-9, unpin the question, end the
 * poll. OBS keeps no bindings for a plugin's
 * frontend hotkeys, so they live in the plugin's hotkeys.json:
 * {"live_shop.pin_1": [<obs_hotkey_save array>], ...}, written whenever
 * libobs says one of ours changed ("hotkey_bindings_changed", e.g. from
 * OBS's Settings > Hotkeys) and when the frontend saves or exits. Not at
 * unload: libobs has dropped the bindings by then.
 *
 * The callbacks run on OBS's hotkey thread (or the UI thread when OBS
 * routes them); shop_link's actions neither block nor touch the network.
 */
#include <stdio.h>
#include <string.h>

#include <obs-module.h>
#include <util/platform.h>

#include "plugin.h"

enum hotkey_action {
	HOTKEY_PIN, /* slot = 1..9 */
	HOTKEY_UNPIN,
	HOTKEY_COUNTDOWN,
	HOTKEY_DISCLOSURE,
	HOTKEY_QUESTION_OLDEST,
	HOTKEY_QUESTION_UNPIN,
	HOTKEY_ANSWER, /* slot = 1..9 */
	HOTKEY_POLL_END,
};

struct hotkey {
	const char *name;        /* binding key in hotkeys.json */
	const char *description; /* locale key */
	enum hotkey_action action;
	int slot;
	obs_hotkey_id id;
};

static struct hotkey hotkeys[] = {
    {"live_shop.pin_1", "Hotkey.Pin1", HOTKEY_PIN, 1, OBS_INVALID_HOTKEY_ID},
    {"live_shop.pin_2", "Hotkey.Pin2", HOTKEY_PIN, 2, OBS_INVALID_HOTKEY_ID},
    {"live_shop.pin_3", "Hotkey.Pin3", HOTKEY_PIN, 3, OBS_INVALID_HOTKEY_ID},
    {"live_shop.pin_4", "Hotkey.Pin4", HOTKEY_PIN, 4, OBS_INVALID_HOTKEY_ID},
    {"live_shop.pin_5", "Hotkey.Pin5", HOTKEY_PIN, 5, OBS_INVALID_HOTKEY_ID},
    {"live_shop.pin_6", "Hotkey.Pin6", HOTKEY_PIN, 6, OBS_INVALID_HOTKEY_ID},
    {"live_shop.pin_7", "Hotkey.Pin7", HOTKEY_PIN, 7, OBS_INVALID_HOTKEY_ID},
    {"live_shop.pin_8", "Hotkey.Pin8", HOTKEY_PIN, 8, OBS_INVALID_HOTKEY_ID},
    {"live_shop.pin_9", "Hotkey.Pin9", HOTKEY_PIN, 9, OBS_INVALID_HOTKEY_ID},
    {"live_shop.unpin", "Hotkey.Unpin", HOTKEY_UNPIN, 0, OBS_INVALID_HOTKEY_ID},
    {"live_shop.countdown", "Hotkey.Countdown", HOTKEY_COUNTDOWN, 0,
     OBS_INVALID_HOTKEY_ID},
    {"live_shop.toggle_disclosure", "Hotkey.ToggleDisclosure",
     HOTKEY_DISCLOSURE, 0, OBS_INVALID_HOTKEY_ID},
    {"live_shop.pin_question", "Hotkey.PinQuestion", HOTKEY_QUESTION_OLDEST, 0,
     OBS_INVALID_HOTKEY_ID},
    {"live_shop.unpin_question", "Hotkey.UnpinQuestion", HOTKEY_QUESTION_UNPIN,
     0, OBS_INVALID_HOTKEY_ID},
    {"live_shop.answer_1", "Hotkey.Answer1", HOTKEY_ANSWER, 1,
     OBS_INVALID_HOTKEY_ID},
    {"live_shop.answer_2", "Hotkey.Answer2", HOTKEY_ANSWER, 2,
     OBS_INVALID_HOTKEY_ID},
    {"live_shop.answer_3", "Hotkey.Answer3", HOTKEY_ANSWER, 3,
     OBS_INVALID_HOTKEY_ID},
    {"live_shop.answer_4", "Hotkey.Answer4", HOTKEY_ANSWER, 4,
     OBS_INVALID_HOTKEY_ID},
    {"live_shop.answer_5", "Hotkey.Answer5", HOTKEY_ANSWER, 5,
     OBS_INVALID_HOTKEY_ID},
    {"live_shop.answer_6", "Hotkey.Answer6", HOTKEY_ANSWER, 6,
     OBS_INVALID_HOTKEY_ID},
    {"live_shop.answer_7", "Hotkey.Answer7", HOTKEY_ANSWER, 7,
     OBS_INVALID_HOTKEY_ID},
    {"live_shop.answer_8", "Hotkey.Answer8", HOTKEY_ANSWER, 8,
     OBS_INVALID_HOTKEY_ID},
    {"live_shop.answer_9", "Hotkey.Answer9", HOTKEY_ANSWER, 9,
     OBS_INVALID_HOTKEY_ID},
    {"live_shop.end_poll", "Hotkey.EndPoll", HOTKEY_POLL_END, 0,
     OBS_INVALID_HOTKEY_ID},
};

#define NHOTKEYS (sizeof(hotkeys) / sizeof(hotkeys[0]))
#define PREFIX   "live_shop."

static bool loading; /* our own obs_hotkey_load calls signal too */

static void on_hotkey(void *data, obs_hotkey_id id, obs_hotkey_t *hotkey,
		      bool pressed)
{
	struct hotkey *hk = data;
	shop_link *link = live_shop_link();
	int64_t at_ms = live_shop_now_ms();
	lshop_error err;
	int rc = -1;

	(void)id;
	(void)hotkey;
	if (!pressed || !link)
		return;
	switch (hk->action) {
	case HOTKEY_PIN:
		rc = shop_link_pin_slot(link, hk->slot, at_ms, &err);
		break;
	case HOTKEY_UNPIN:
		rc = shop_link_unpin(link, at_ms, &err);
		break;
	case HOTKEY_COUNTDOWN:
		rc = shop_link_countdown(link, 0, NULL, NULL, at_ms, &err);
		break;
	case HOTKEY_DISCLOSURE:
		rc = shop_link_toggle_disclosure(link, at_ms, &err);
		break;
	case HOTKEY_QUESTION_OLDEST:
		rc = shop_link_question_pin_oldest(link, at_ms, &err);
		break;
	case HOTKEY_QUESTION_UNPIN:
		rc = shop_link_question_unpin(link, at_ms, &err);
		break;
	case HOTKEY_ANSWER:
		rc = shop_link_answer_pin_slot(link, hk->slot, at_ms, &err);
		break;
	case HOTKEY_POLL_END:
		rc = shop_link_poll_end(link, at_ms, &err);
		break;
	}
	if (rc != 0)
		ls_log(LOG_INFO, "hotkey %s: %s (%s)", hk->name, err.message,
		       err.code);
}

static char *bindings_path(void)
{
	return obs_module_config_path("hotkeys.json");
}

static void on_bindings_changed(void *data, calldata_t *cd)
{
	/* libobs sets "key" (its declaration says "hotkey") */
	obs_hotkey_t *key = calldata_ptr(cd, "key");

	(void)data;
	if (loading || !key ||
	    obs_hotkey_get_registerer_type(key) !=
		OBS_HOTKEY_REGISTERER_FRONTEND ||
	    strncmp(obs_hotkey_get_name(key), PREFIX, strlen(PREFIX)) != 0)
		return;
	live_shop_hotkeys_save();
}

void live_shop_hotkeys_register(void)
{
	char *path = bindings_path();
	obs_data_t *saved = NULL;

	if (path && os_file_exists(path))
		saved = obs_data_create_from_json_file_safe(path, "bak");
	loading = true;
	for (size_t i = 0; i < NHOTKEYS; i++) {
		struct hotkey *hk = &hotkeys[i];
		obs_data_array_t *bindings;

		hk->id = obs_hotkey_register_frontend(
		    hk->name, obs_module_text(hk->description), on_hotkey, hk);
		if (!saved)
			continue;
		bindings = obs_data_get_array(saved, hk->name);
		if (bindings) {
			obs_hotkey_load(hk->id, bindings);
			obs_data_array_release(bindings);
		}
	}
	if (path && os_file_exists(path) && !saved)
		ls_log(LOG_WARNING, "%s is not JSON; hotkeys start unbound",
		       path);
	loading = false;
	obs_data_release(saved);
	bfree(path);
	signal_handler_connect(obs_get_signal_handler(),
			       "hotkey_bindings_changed", on_bindings_changed,
			       NULL);
}

void live_shop_hotkeys_save(void)
{
	char *path = bindings_path();
	char *dir = obs_module_config_path("");
	obs_data_t *out;

	if (!path || !dir || hotkeys[0].id == OBS_INVALID_HOTKEY_ID) {
		bfree(path);
		bfree(dir);
		return;
	}
	out = obs_data_create();
	for (size_t i = 0; i < NHOTKEYS; i++) {
		obs_data_array_t *bindings = obs_hotkey_save(hotkeys[i].id);

		obs_data_set_array(out, hotkeys[i].name, bindings);
		obs_data_array_release(bindings);
	}
	os_mkdirs(dir);
	if (!obs_data_save_json_safe(out, path, "tmp", "bak"))
		ls_log(LOG_WARNING, "could not save the hotkeys to %s", path);
	obs_data_release(out);
	bfree(path);
	bfree(dir);
}

void live_shop_hotkeys_unregister(void)
{
	signal_handler_disconnect(obs_get_signal_handler(),
				  "hotkey_bindings_changed",
				  on_bindings_changed, NULL);
	for (size_t i = 0; i < NHOTKEYS; i++) {
		if (hotkeys[i].id != OBS_INVALID_HOTKEY_ID)
			obs_hotkey_unregister(hotkeys[i].id);
		hotkeys[i].id = OBS_INVALID_HOTKEY_ID;
	}
}
