/*
 * live-shop: module entry points, the settings file, the link's log, and
 * the dock's registration with whichever OBS frontend is running.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <obs-frontend-api.h>
#include <obs-module.h>
#include <util/platform.h>

#include "dock.h"
#include "plugin.h"

OBS_DECLARE_MODULE()
OBS_MODULE_USE_DEFAULT_LOCALE(LIVE_SHOP_NAME, "en-US")

#define DOCK_ID "live-shop-dock"

static shop_link *link_;

MODULE_EXPORT const char *obs_module_name(void)
{
	return obs_module_text("PluginName");
}

MODULE_EXPORT const char *obs_module_description(void)
{
	return obs_module_text("PluginDescription");
}

shop_link *live_shop_link(void)
{
	return link_;
}

int64_t live_shop_now_ms(void)
{
	struct timespec ts;

	timespec_get(&ts, TIME_UTC);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* shop_link's log lines (never holding the token) go to OBS's log. */
static void log_from_link(int level, const char *msg)
{
	ls_log(level, "%s", msg);
}

int live_shop_apply_settings(const shop_settings *s, lshop_error *err)
{
	char *path = obs_module_config_path("config.json");
	char *dir = obs_module_config_path("");
	int rc;

	if (!path || !dir) {
		lshop_error_set(err, "no_config_path", "",
				"OBS gives the plugin no config directory.");
		bfree(path);
		bfree(dir);
		return -1;
	}
	os_mkdirs(dir);
	rc = shop_settings_save(s, path, err);
	if (rc == 0) {
		shop_link_configure(link_, s);
		ls_log(LOG_INFO, "settings saved: server '%s', stream '%s'",
		       s->server, s->stream);
	} else {
		ls_log(LOG_WARNING, "could not save %s: %s", path,
		       err->message);
	}
	bfree(path);
	bfree(dir);
	return rc;
}

static void load_settings(shop_settings *s)
{
	char *path = obs_module_config_path("config.json");
	lshop_error err;

	shop_settings_init(s);
	if (!path)
		return;
	if (shop_settings_load(s, path, &err) != 0)
		ls_log(LOG_WARNING, "%s: %s (key '%s'); using the defaults",
		       path, err.message, err.field);
	bfree(path);
}

/*
 * obs_frontend_add_dock (OBS 29, a QDockWidget) is deprecated in 30 and
 * gone in 32; obs_frontend_add_dock_by_id (30+) takes the content. The
 * plugin links neither, so the same .so loads on 29 to 32.
 */
typedef bool (*add_dock_by_id_fn)(const char *id, const char *title,
				  void *widget);
typedef void *(*add_dock_fn)(void *dock);
typedef void (*remove_dock_fn)(const char *id);

/* How the dock was added, so that it is removed the same way. */
static enum {
	DOCK_NONE,
	DOCK_BY_ID,  /* OBS 30+: OBS's own dock, removed by id */
	DOCK_LEGACY, /* OBS 29: our QDockWidget, a child of the main window */
} dock_kind;

/*
 * OBS clears the frontend API right after OBS_FRONTEND_EVENT_EXIT, before
 * it unloads modules: from then on every obs_frontend_* call logs an error.
 */
static bool frontend_gone;

static void add_dock(void)
{
	void *main_window = obs_frontend_get_main_window();
	add_dock_by_id_fn by_id;
	add_dock_fn legacy;
	const char *title = obs_module_text("Dock.Title");
	void *content;

	if (!main_window)
		return;
	by_id = (add_dock_by_id_fn)dlsym(RTLD_DEFAULT,
					 "obs_frontend_add_dock_by_id");
	legacy = (add_dock_fn)dlsym(RTLD_DEFAULT, "obs_frontend_add_dock");
	if (!by_id && !legacy) {
		ls_log(LOG_WARNING, "this OBS offers no way to add a dock");
		return;
	}
	content = live_shop_dock_new(main_window);
	if (by_id) {
		if (!by_id(DOCK_ID, title, content)) {
			ls_log(LOG_WARNING, "the dock could not be added");
			return;
		}
		dock_kind = DOCK_BY_ID;
	} else {
		legacy(
		    live_shop_dock_wrap(main_window, content, DOCK_ID, title));
		dock_kind = DOCK_LEGACY;
	}
	ls_log(LOG_INFO, "dock '%s' added (%s)", DOCK_ID,
	       by_id ? "obs_frontend_add_dock_by_id" : "obs_frontend_add_dock");
}

/*
 * OBS 30+: obs_frontend_remove_dock deletes the dock OBS made and our
 * content with it. OBS 29 has no remove: the QDockWidget is the main
 * window's child, listed there by a QPointer, and Qt deletes it with the
 * window; deleting it here too would delete it twice.
 */
static void remove_dock(void)
{
	remove_dock_fn remove;
	const char *how;

	if (dock_kind == DOCK_NONE)
		return;
	if (dock_kind == DOCK_BY_ID) {
		remove = (remove_dock_fn)dlsym(RTLD_DEFAULT,
					       "obs_frontend_remove_dock");
		if (remove) {
			remove(DOCK_ID);
			how = "obs_frontend_remove_dock";
		} else {
			how = "no obs_frontend_remove_dock: the main window "
			      "deletes it";
		}
	} else {
		how = "OBS 29: the main window owns it and deletes it";
	}
	dock_kind = DOCK_NONE;
	ls_log(LOG_INFO, "dock '%s' removed (%s)", DOCK_ID, how);
}

static void on_frontend_event(enum obs_frontend_event event, void *data)
{
	(void)data;
	if (event == OBS_FRONTEND_EVENT_EXIT) {
		live_shop_hotkeys_save();
		/* the window state (the dock's place) is saved by now; this
		 * is the last moment the frontend API answers */
		remove_dock();
		frontend_gone = true;
	}
}

/* Scene-collection saves happen often: keep the bindings with them. */
static void on_frontend_save(obs_data_t *save_data, bool saving, void *data)
{
	(void)save_data;
	(void)data;
	if (saving)
		live_shop_hotkeys_save();
}

/*
 * OBS's frontend runs a QApplication; a bare libobs host (the tests, a
 * headless tool) has none, and the frontend API only warns there.
 */
static bool have_frontend(void)
{
	return live_shop_dock_have_app();
}

bool obs_module_load(void)
{
	shop_settings s;

	shop_link_set_log(log_from_link);
	load_settings(&s);
	link_ = shop_link_new(&s);
	if (!link_) {
		ls_log(LOG_ERROR, "could not start the server link");
		return false;
	}
	obs_register_source(&live_shop_overlay_info);
	live_shop_hotkeys_register();
	if (have_frontend()) {
		/* during load, so OBS restores the dock's place and visibility
		 * from its saved window state */
		add_dock();
		obs_frontend_add_event_callback(on_frontend_event, NULL);
		obs_frontend_add_save_callback(on_frontend_save, NULL);
	}
	ls_log(LOG_INFO, "loaded (version %s): server '%s', stream '%s'%s",
	       LIVE_SHOP_VERSION, s.server, s.stream,
	       s.token[0] ? ", token set" : ", no token");
	return true;
}

void obs_module_post_load(void)
{
	live_shop_vendor_register();
}

void obs_module_unload(void)
{
	/* In OBS the dock went at OBS_FRONTEND_EVENT_EXIT; a host that
	 * unloads the module with its frontend still up gets it here. */
	if (have_frontend() && !frontend_gone) {
		remove_dock();
		obs_frontend_remove_event_callback(on_frontend_event, NULL);
		obs_frontend_remove_save_callback(on_frontend_save, NULL);
	}
	live_shop_hotkeys_unregister();
	shop_link_free(link_);
	link_ = NULL;
	ls_log(LOG_INFO, "unloaded");
}
