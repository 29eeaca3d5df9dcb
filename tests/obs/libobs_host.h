/*
 * What a program that hosts libobs itself needs, shared by the libobs
 * test (tests/obs/obs_overlay_test.c) and the overlay benchmark
 * (bench/obs_overlay_bench.c): a source that draws nothing (the
 * baseline), a hotkey by name, and a module loaded from a path.
 */
#ifndef LIBOBS_HOST_H
#define LIBOBS_HOST_H

#include <stdint.h>

#include <obs.h>

/* Registers "bench_empty_source": width × height, draws nothing. */
void libobs_host_register_empty(uint32_t width, uint32_t height);

/* The registered hotkey of that name, or OBS_INVALID_HOTKEY_ID. */
obs_hotkey_id libobs_host_hotkey(const char *name);

/* Opens and initialises the module bin with its data directory;
 * 0, or -1 after saying why on stderr. */
int libobs_host_load_module(const char *bin, const char *data);

/*
 * obs_shutdown() once every source released before it is destroyed. Since
 * OBS 30 a source's destroy runs on libobs's destruction thread, and a
 * source that releases others there (the overlay its text sources)
 * queues more: obs_shutdown() could unload text-freetype2 while one of
 * those still waits, and its destroy then crashes in FT_Done_Face. OBS's
 * own frontend waits the same way before it shuts down.
 */
void libobs_host_shutdown(void);

#endif
