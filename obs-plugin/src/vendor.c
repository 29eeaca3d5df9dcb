/*
 * The obs-websocket vendor "live-shop" (SPEC §12), registered through the
 * proc handlers obs-websocket (5.x, OBS 28+) puts on libobs's global one:
 *   global "obs_websocket_api_get_ph" (out ptr ph)
 *   ph "vendor_register" (in string name, out ptr vendor)
 *   ph "vendor_request_register" (in ptr vendor, in string type,
 *                                 in ptr callback)
 * where callback points at {void (*)(obs_data_t *request,
 * obs_data_t *response, void *priv), void *priv}, copied by
 * obs-websocket. Requests arrive on obs-websocket's threads; the answer
 * comes from shop_link_vendor_request, which never blocks.
 */
#include <string.h>

#include <obs-module.h>

#include "plugin.h"

typedef void (*vendor_request_fn)(obs_data_t *request, obs_data_t *response,
				  void *priv);

struct vendor_request_callback {
	vendor_request_fn callback;
	void *priv;
};

static const char *const request_types[] = {
    "pin",
    "unpin",
    "countdown",
    "disclosure",
    "get_state",
    "pin_question",
    "unpin_question",
    "dismiss_question",
    "block_question",
    "pin_answer",
    "start_poll",
    "end_poll",
    "get_questions",
};

static void on_vendor_request(obs_data_t *request, obs_data_t *response,
			      void *priv)
{
	const char *type = priv;
	shop_link *link = live_shop_link();
	const char *json = request ? obs_data_get_json(request) : NULL;
	char *answer;
	obs_data_t *parsed;

	if (!link) {
		obs_data_set_bool(response, "ok", false);
		obs_data_set_string(response, "error", "unloaded");
		return;
	}
	answer = shop_link_vendor_request(link, type, json, live_shop_now_ms());
	parsed = answer ? obs_data_create_from_json(answer) : NULL;
	if (parsed) {
		obs_data_apply(response, parsed);
		obs_data_release(parsed);
	} else {
		obs_data_set_bool(response, "ok", false);
		obs_data_set_string(response, "error", "out_of_memory");
	}
	free(answer);
}

static proc_handler_t *websocket_ph(void)
{
	proc_handler_t *global = obs_get_proc_handler();
	proc_handler_t *ph = NULL;
	calldata_t cd = {0};

	if (global &&
	    proc_handler_call(global, "obs_websocket_api_get_ph", &cd))
		ph = calldata_ptr(&cd, "ph");
	calldata_free(&cd);
	return ph;
}

void live_shop_vendor_register(void)
{
	proc_handler_t *ph = websocket_ph();
	calldata_t cd = {0};
	void *vendor;
	size_t ok = 0;

	if (!ph) {
		ls_log(LOG_INFO, "obs-websocket is not loaded: no vendor "
				 "requests");
		return;
	}
	calldata_set_string(&cd, "name", LIVE_SHOP_NAME);
	proc_handler_call(ph, "vendor_register", &cd);
	vendor = calldata_ptr(&cd, "vendor");
	calldata_free(&cd);
	if (!vendor) {
		ls_log(LOG_WARNING, "obs-websocket refused the vendor '%s'",
		       LIVE_SHOP_NAME);
		return;
	}
	for (size_t i = 0; i < sizeof(request_types) / sizeof(*request_types);
	     i++) {
		struct vendor_request_callback cb = {
		    .callback = on_vendor_request,
		    .priv = (void *)request_types[i],
		};

		calldata_init(&cd);
		calldata_set_ptr(&cd, "vendor", vendor);
		calldata_set_string(&cd, "type", request_types[i]);
		calldata_set_ptr(&cd, "callback", &cb);
		proc_handler_call(ph, "vendor_request_register", &cd);
		if (calldata_bool(&cd, "success"))
			ok++;
		else
			ls_log(LOG_WARNING,
			       "obs-websocket refused the request '%s'",
			       request_types[i]);
		calldata_free(&cd);
	}
	ls_log(LOG_INFO, "obs-websocket vendor '%s': %zu requests registered",
	       LIVE_SHOP_NAME, ok);
}
