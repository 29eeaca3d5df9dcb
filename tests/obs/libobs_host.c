/*
 * libobs_host.h: a source that draws nothing, hotkeys by name, modules.
 */
#include <stdio.h>
#include <string.h>

#include <obs-module.h>
#include <util/threading.h>

#include "libobs_host.h"

static uint32_t empty_w, empty_h;

static const char *empty_name(void *unused)
{
	(void)unused;
	return "empty";
}

static void *empty_create(obs_data_t *s, obs_source_t *src)
{
	(void)s;
	return src;
}

static void empty_destroy(void *data)
{
	(void)data;
}

static uint32_t empty_width(void *data)
{
	(void)data;
	return empty_w;
}

static uint32_t empty_height(void *data)
{
	(void)data;
	return empty_h;
}

static void empty_render(void *data, gs_effect_t *effect)
{
	(void)data;
	(void)effect;
}

static struct obs_source_info empty_info = {
    .id = "bench_empty_source",
    .type = OBS_SOURCE_TYPE_INPUT,
    .output_flags = OBS_SOURCE_VIDEO | OBS_SOURCE_CUSTOM_DRAW,
    .get_name = empty_name,
    .create = empty_create,
    .destroy = empty_destroy,
    .get_width = empty_width,
    .get_height = empty_height,
    .video_render = empty_render,
};

void libobs_host_register_empty(uint32_t width, uint32_t height)
{
	empty_w = width;
	empty_h = height;
	obs_register_source(&empty_info);
}

struct find_hotkey {
	const char *name;
	obs_hotkey_id id;
};

static bool find_hotkey_cb(void *data, obs_hotkey_id id, obs_hotkey_t *key)
{
	struct find_hotkey *f = data;

	if (strcmp(obs_hotkey_get_name(key), f->name) == 0) {
		f->id = id;
		return false;
	}
	return true;
}

obs_hotkey_id libobs_host_hotkey(const char *name)
{
	struct find_hotkey f = {name, OBS_INVALID_HOTKEY_ID};

	obs_enum_hotkeys(find_hotkey_cb, &f);
	return f.id;
}

int libobs_host_load_module(const char *bin, const char *data)
{
	obs_module_t *m = NULL;
	int rc = obs_open_module(&m, bin, data);

	if (rc != MODULE_SUCCESS) {
		fprintf(stderr, "obs_open_module %s: %d\n", bin, rc);
		return -1;
	}
	if (!obs_init_module(m)) {
		fprintf(stderr, "obs_init_module %s failed\n", bin);
		return -1;
	}
	return 0;
}

static void signal_done(void *param)
{
	os_event_signal(param);
}

void libobs_host_shutdown(void)
{
	os_event_t *done;

	/* obs_wait_for_destroy_queue() would do nothing here: it returns at
	 * once in a host without audio. A mark queued behind the destroys
	 * waits for them; each destroy queued by a destroy before the mark
	 * is behind the next mark. Our deepest chain is two (the overlay,
	 * then its text sources): four marks leave room. */
	if (os_event_init(&done, OS_EVENT_TYPE_AUTO) == 0) {
		for (int i = 0; i < 4; i++) {
			obs_queue_task(OBS_TASK_DESTROY, signal_done, done,
				       false);
			os_event_wait(done);
		}
		os_event_destroy(done);
	}
	obs_shutdown();
}
