/*
 * live-shop OBS plugin: the glue between OBS and shop_link (shop-link.h).
 * Everything that decides something about offers, pins or time lives in
 * shop_link or the core; the files here only translate.
 */
#ifndef LIVE_SHOP_PLUGIN_H
#define LIVE_SHOP_PLUGIN_H

#include <stdint.h>

#include <obs-module.h>

#include "shop-link.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LIVE_SHOP_NAME "live-shop"
/* the project's version, from CMake (manifest.json is checked against it) */
#ifndef LIVE_SHOP_VERSION
#error "LIVE_SHOP_VERSION comes from obs-plugin/CMakeLists.txt"
#endif

#define ls_log(level, format, ...)                                             \
	blog(level, "[" LIVE_SHOP_NAME "] " format, ##__VA_ARGS__)

/* The plugin's one link to the server, alive between load and unload. */
shop_link *live_shop_link(void);

/* Wall-clock time in ms since the epoch: the "at" of a host's action. */
int64_t live_shop_now_ms(void);

/* Saves s to the plugin's config.json and reconfigures the link. */
int live_shop_apply_settings(const shop_settings *s, lshop_error *err);

/* overlay-source.c */
extern struct obs_source_info live_shop_overlay_info;

/* hotkeys.c: frontend hotkeys, bindings in the plugin's hotkeys.json */
void live_shop_hotkeys_register(void);
void live_shop_hotkeys_save(void);
void live_shop_hotkeys_unregister(void);

/* vendor.c: the obs-websocket vendor "live-shop" (from post_load) */
void live_shop_vendor_register(void);

#ifdef __cplusplus
}
#endif

#endif
