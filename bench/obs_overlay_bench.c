/*
 * Benchmark 6: what the live-shop overlay costs OBS per frame, in real
 * libobs (OpenGL under Xvfb, llvmpipe), against an empty source measured
 * in the same run.
 *
 * - tick: libobs's own profiler ("tick_sources" of the graphics thread,
 *   which ticks every source, the overlay's private text sources
 *   included) over PHASE seconds with only an empty source, then over
 *   PHASE seconds with the overlay showing a pinned card and a running
 *   countdown. The difference is the overlay's tick cost per frame.
 * - render: obs_source_video_render() of the overlay (card, countdown,
 *   disclosure) and of the empty source, in turn, FRAMES times each, in
 *   a texrender of 1280x720; the render call's own time, and the whole
 *   frame with llvmpipe's draw and the read-back.
 * - the peer: what a host would build without the plugin, the same card
 *   made of OBS's own sources in a scene (text_ft2_source_v2 for each
 *   text, color_source_v3 for the card, the badge and the strike line,
 *   image_source for a QR code PNG), described by LIVE_SHOP_BENCH_PEER;
 *   its tick and render are measured like the overlay's, interleaved.
 * - hotkey: obs_hotkey_trigger_routed_callback() of the plugin's
 *   "pin offer 1/2" hotkeys, as OBS's frontend calls them, against a
 *   hotkey of this program whose callback does nothing. A press over
 *   100 us is printed with its cause: preempted (another thread or
 *   process had the CPU), waited (the thread blocked: a lock), or on CPU
 *   (the callback's own work).
 *
 * Usage: obs_overlay_bench PLUGIN.so PLUGIN_DATA_DIR MODULE_CONFIG_DIR
 * Environment: LIVE_SHOP_OBS_PLUGINS, LIVE_SHOP_OBS_DATA (Debian's
 * obs-plugins directory and its data), LIVE_SHOP_BENCH_FRAMES (default
 * 600), LIVE_SHOP_BENCH_PHASE (seconds, default 3), LIVE_SHOP_BENCH_HOTKEYS
 * (default 200), LIVE_SHOP_BENCH_HOTKEY_GAP_MS (ms between presses,
 * default 5), LIVE_SHOP_BENCH_PEER (the peer scene: a JSON object
 * {"items": [{"id", "x", "y", "settings"}, ...]}, drawn in that order),
 * LIVE_SHOP_BENCH_VERBOSE (print debug log lines too; OBS drops them
 * unless run with --verbose).
 *
 * The server side (nginx with the module, an offer pinned and a countdown
 * running, MODULE_CONFIG_DIR/live-shop/config.json) is bench/obs_overlay.py's.
 * Output: "FIGURE name: n=N mean=M median=M p99=M max=M us" lines, "FAIL
 * ..." (exit 1).
 */
#define _GNU_SOURCE /* RUSAGE_THREAD */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <X11/Xlib.h>

#include <graphics/vec2.h>
#include <graphics/vec4.h>
#include <obs-nix-platform.h>
#include <obs.h>
#include <util/platform.h>
#include <util/profiler.h>

#include "libobs_host.h"

#define W 1280
#define H 720

static int failures;

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("FAIL ");
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
	failures++;
}

/* As OBS's own log handler: debug lines are dropped unless verbose. */
static int verbose;

static void log_handler(int level, const char *fmt, va_list args, void *p)
{
	(void)p;
	if (level >= LOG_DEBUG && !verbose)
		return;
	fprintf(stderr, "[obs %d] ", level);
	vfprintf(stderr, fmt, args);
	fprintf(stderr, "\n");
}

static int env_int(const char *name, int def)
{
	const char *v = getenv(name);

	return v && atoi(v) > 0 ? atoi(v) : def;
}

/* ------------------------------------------------------------ rendering */

static gs_texrender_t *texrender;
static gs_stagesurf_t *stage;
static long drawn;
static uint64_t frame_ns;

/* Renders src; returns the ns of the render call itself. Sets drawn (the
 * pixels with alpha) and frame_ns (the whole frame with the read-back). */
static uint64_t render(obs_source_t *src, int count)
{
	uint64_t t0 = 0, t1 = 0, start = os_gettime_ns();
	uint8_t *data;
	uint32_t linesize;

	obs_enter_graphics();
	gs_texrender_reset(texrender);
	if (gs_texrender_begin(texrender, W, H)) {
		struct vec4 clear;

		vec4_zero(&clear);
		gs_clear(GS_CLEAR_COLOR, &clear, 0.0f, 0);
		gs_ortho(0.0f, (float)W, 0.0f, (float)H, -100.0f, 100.0f);
		gs_blend_state_push();
		gs_reset_blend_state();
		t0 = os_gettime_ns();
		obs_source_video_render(src);
		t1 = os_gettime_ns();
		gs_blend_state_pop();
		gs_texrender_end(texrender);
		gs_stage_texture(stage, gs_texrender_get_texture(texrender));
		if (gs_stagesurface_map(stage, &data, &linesize)) {
			if (count) {
				drawn = 0;
				for (int y = 0; y < H; y++)
					for (int x = 0; x < W; x++)
						drawn +=
						    data[(size_t)y * linesize +
							 (size_t)x * 4 + 3] !=
						    0;
			}
			gs_stagesurface_unmap(stage);
		}
	}
	obs_leave_graphics();
	frame_ns = os_gettime_ns() - start;
	return t1 - t0;
}

/* ------------------------------------------------------------- figures */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void figure(const char *what, uint64_t *ns, int n)
{
	double sum = 0;

	if (n <= 0) {
		fail("no samples for %s", what);
		return;
	}
	for (int i = 0; i < n; i++)
		sum += (double)ns[i];
	qsort(ns, (size_t)n, sizeof(*ns), cmp_u64);
	printf("FIGURE %s: n=%d mean=%.2f median=%.2f p99=%.2f max=%.2f us\n",
	       what, n, sum / n / 1000.0, ns[n / 2] / 1000.0,
	       ns[(n * 99) / 100] / 1000.0, ns[n - 1] / 1000.0);
	fflush(stdout);
}

/* --------------------------------------------- libobs's profiler: ticks */

#define HIST 4096 /* us; longer ticks count in the last bucket */

struct hist {
	uint64_t count[HIST];
};

static bool find_entry(void *ctx, profiler_snapshot_entry_t *e)
{
	struct hist *h = ctx;

	if (strcmp(profiler_snapshot_entry_name(e), "tick_sources") == 0) {
		profiler_time_entries_t *t = profiler_snapshot_entry_times(e);

		for (size_t i = 0; i < t->num; i++) {
			uint64_t us = t->array[i].time_delta;

			h->count[us < HIST ? us : HIST - 1] +=
			    t->array[i].count;
		}
		return true;
	}
	profiler_snapshot_enumerate_children(e, find_entry, ctx);
	return true;
}

static void tick_snapshot(struct hist *h)
{
	profiler_snapshot_t *snap = profile_snapshot_create();

	memset(h, 0, sizeof(*h));
	profiler_snapshot_enumerate_roots(snap, find_entry, h);
	profile_snapshot_free(snap);
}

/* the ticks between two snapshots, as a figure (us resolution) */
static void tick_figure(const char *what, const struct hist *a,
			const struct hist *b, double *mean_us)
{
	uint64_t n = 0, sum = 0, k = 0, med = 0, p99 = 0, max = 0;

	for (int i = 0; i < HIST; i++) {
		uint64_t c = b->count[i] - a->count[i];

		n += c;
		sum += c * (uint64_t)i;
		if (c)
			max = (uint64_t)i;
	}
	for (int i = 0; i < HIST && n; i++) {
		uint64_t c = b->count[i] - a->count[i];

		if (k < n / 2 && k + c >= n / 2)
			med = (uint64_t)i;
		if (k < (n * 99) / 100 && k + c >= (n * 99) / 100)
			p99 = (uint64_t)i;
		k += c;
	}
	if (!n) {
		fail("libobs's profiler saw no tick_sources for %s", what);
		return;
	}
	*mean_us = (double)sum / (double)n;
	printf("FIGURE %s: n=%llu mean=%.2f median=%.2f p99=%.2f max=%.2f "
	       "us\n",
	       what, (unsigned long long)n, *mean_us, (double)med, (double)p99,
	       (double)max);
	fflush(stdout);
}

/* ------------------------------------------------------------ the peer */

/* The card as a host would build it from OBS's own sources: a private
 * scene with one item per entry of LIVE_SHOP_BENCH_PEER's "items". */
static obs_source_t *peer_scene(const char *json)
{
	obs_data_t *root = json ? obs_data_create_from_json(json) : NULL;
	obs_data_array_t *items = root ? obs_data_get_array(root, "items")
				       : NULL;
	obs_scene_t *scene;
	size_t n = items ? obs_data_array_count(items) : 0;

	if (!n) {
		fail("LIVE_SHOP_BENCH_PEER has no items");
		obs_data_array_release(items);
		obs_data_release(root);
		return NULL;
	}
	scene = obs_scene_create_private("peer card");
	for (size_t i = 0; i < n; i++) {
		obs_data_t *it = obs_data_array_item(items, i);
		obs_data_t *settings = obs_data_get_obj(it, "settings");
		const char *id = obs_data_get_string(it, "id");
		obs_source_t *src;
		char name[32];

		snprintf(name, sizeof(name), "peer %zu", i);
		src = obs_source_create_private(id, name, settings);
		if (src) {
			struct vec2 pos;
			obs_sceneitem_t *item = obs_scene_add(scene, src);

			vec2_set(&pos, (float)obs_data_get_double(it, "x"),
				 (float)obs_data_get_double(it, "y"));
			obs_sceneitem_set_pos(item, &pos);
			obs_source_release(src);
		} else {
			fail("the peer's source %s (%s) not created", name,
			     id);
		}
		obs_data_release(settings);
		obs_data_release(it);
	}
	obs_data_array_release(items);
	obs_data_release(root);
	/* the scene's own reference: obs_source_release() ends it */
	return obs_scene_get_source(scene);
}

/* ------------------------------------------------------------- hotkeys */


static void noop_hotkey(void *data, obs_hotkey_id id, obs_hotkey_t *key,
			bool pressed)
{
	(void)data;
	(void)id;
	(void)key;
	(void)pressed;
}

/* the calling thread's CPU time, ns */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* voluntary (blocked, e.g. on a mutex) and involuntary (preempted)
 * context switches of the calling thread so far */
static void thread_switches(long *vol, long *invol)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	*vol = ru.ru_nvcsw;
	*invol = ru.ru_nivcsw;
}

/* ------------------------------------------------------------------ main */


int main(int argc, char **argv)
{
	const char *plugins = getenv("LIVE_SHOP_OBS_PLUGINS");
	const char *plugins_data = getenv("LIVE_SHOP_OBS_DATA");
	int frames = env_int("LIVE_SHOP_BENCH_FRAMES", 600);
	int phase = env_int("LIVE_SHOP_BENCH_PHASE", 3);
	int nhot = env_int("LIVE_SHOP_BENCH_HOTKEYS", 200);
	int gap = env_int("LIVE_SHOP_BENCH_HOTKEY_GAP_MS", 5);
	char bin[1024], data[1024];
	struct obs_video_info ovi = {0};
	struct hist *ta = calloc(6, sizeof(struct hist));
	uint64_t *ov, *em, *pe, *ovf, *emf, *pef, *hk, *hn, *hc;
	int blocked = 0, preempted = 0, slow = 0;
	int slow_waited = 0, slow_preempted = 0, slow_cpu = 0;
	double tick_empty = 0, tick_overlay = 0, tick_peer = 0;
	long peer_drawn = 0;
	Display *display;
	obs_data_t *settings;
	obs_source_t *overlay = NULL, *empty = NULL, *peer = NULL;
	obs_hotkey_id pin1, pin2, noop;
	uint64_t t0;

	if (argc != 4) {
		fprintf(stderr, "usage: %s PLUGIN.so DATA_DIR CONFIG_DIR\n",
			argv[0]);
		return 2;
	}
	if (!plugins)
		plugins = "/usr/lib/x86_64-linux-gnu/obs-plugins";
	if (!plugins_data)
		plugins_data = "/usr/share/obs/obs-plugins";
	ov = calloc((size_t)frames, sizeof(*ov));
	em = calloc((size_t)frames, sizeof(*em));
	pe = calloc((size_t)frames, sizeof(*pe));
	pef = calloc((size_t)frames, sizeof(*pef));
	ovf = calloc((size_t)frames, sizeof(*ovf));
	emf = calloc((size_t)frames, sizeof(*emf));
	hk = calloc((size_t)nhot, sizeof(*hk));
	hn = calloc((size_t)nhot, sizeof(*hn));
	hc = calloc((size_t)nhot, sizeof(*hc));
	if (!ta || !ov || !em || !pe || !ovf || !emf || !pef || !hk || !hn ||
	    !hc)
		return 1;
	verbose = getenv("LIVE_SHOP_BENCH_VERBOSE") != NULL;
	base_set_log_handler(log_handler, NULL);
	profiler_start();

	display = XOpenDisplay(NULL);
	if (!display) {
		fail("no X display (DISPLAY=%s)", getenv("DISPLAY"));
		return 1;
	}
	obs_set_nix_platform(OBS_NIX_PLATFORM_X11_EGL);
	obs_set_nix_platform_display(display);
	if (!obs_startup("en-US", argv[3], NULL)) {
		fail("obs_startup");
		return 1;
	}
	ovi.graphics_module = "libobs-opengl";
	ovi.fps_num = 30;
	ovi.fps_den = 1;
	ovi.base_width = ovi.output_width = W;
	ovi.base_height = ovi.output_height = H;
	ovi.output_format = VIDEO_FORMAT_NV12;
	ovi.colorspace = VIDEO_CS_709;
	ovi.range = VIDEO_RANGE_PARTIAL;
	ovi.gpu_conversion = true;
	ovi.scale_type = OBS_SCALE_BICUBIC;
	if (obs_reset_video(&ovi) != OBS_VIDEO_SUCCESS) {
		fail("obs_reset_video (OpenGL under X)");
		return 1;
	}
	libobs_host_register_empty(W, H);
	snprintf(bin, sizeof(bin), "%s/text-freetype2.so", plugins);
	snprintf(data, sizeof(data), "%s/text-freetype2", plugins_data);
	if (libobs_host_load_module(bin, data) != 0)
		return 1;
	snprintf(bin, sizeof(bin), "%s/image-source.so", plugins);
	snprintf(data, sizeof(data), "%s/image-source", plugins_data);
	if (libobs_host_load_module(bin, data) != 0 ||
	    libobs_host_load_module(argv[1], argv[2]) != 0)
		return 1;
	obs_post_load_modules();
	noop = obs_hotkey_register_frontend("bench.noop", "bench no-op",
					    noop_hotkey, NULL);

	obs_enter_graphics();
	texrender = gs_texrender_create(GS_RGBA, GS_ZS_NONE);
	stage = gs_stagesurface_create(W, H, GS_RGBA);
	obs_leave_graphics();

	/* ticks with the empty source only */
	empty = obs_source_create_private("bench_empty_source", "empty", NULL);
	os_sleep_ms(1000);
	tick_snapshot(&ta[0]);
	os_sleep_ms((uint32_t)phase * 1000);
	tick_snapshot(&ta[1]);

	settings = obs_data_create();
	obs_data_set_int(settings, "width", W);
	obs_data_set_int(settings, "height", H);
	overlay =
	    obs_source_create_private("live_shop_overlay", "overlay", settings);
	if (!overlay) {
		fail("live_shop_overlay not created");
		return 1;
	}
	/* the link fetches the state (a pinned offer, a countdown) */
	t0 = os_gettime_ns();
	do {
		os_sleep_ms(50);
		render(overlay, 1);
	} while (drawn < 20000 && os_gettime_ns() - t0 < 15000000000ULL);
	if (drawn < 20000) {
		fail("the overlay drew no card within 15 s (%ld pixels)",
		     drawn);
		goto out;
	}
	printf("OK card drawn (%ld pixels) %.0f ms after the overlay was "
	       "created\n",
	       drawn, (os_gettime_ns() - t0) / 1e6);
	os_sleep_ms(500);
	tick_snapshot(&ta[2]);
	os_sleep_ms((uint32_t)phase * 1000);
	tick_snapshot(&ta[3]);
	tick_figure("tick per frame, empty source only", &ta[0], &ta[1],
		    &tick_empty);
	tick_figure("tick per frame, with the overlay (card, countdown)",
		    &ta[2], &ta[3], &tick_overlay);
	printf("FIGURE overlay tick cost per frame: mean=%.2f us\n",
	       tick_overlay - tick_empty);

	/* the peer: OBS's own sources drawing the same card, beside the
	 * overlay; drawn once its image has loaded (the count settles) */
	peer = peer_scene(getenv("LIVE_SHOP_BENCH_PEER"));
	if (!peer)
		goto out;
	t0 = os_gettime_ns();
	do {
		peer_drawn = drawn;
		os_sleep_ms(100);
		render(peer, 1);
	} while ((drawn < 20000 || drawn != peer_drawn) &&
		 os_gettime_ns() - t0 < 15000000000ULL);
	if (drawn < 20000) {
		fail("the peer drew no card within 15 s (%ld pixels)", drawn);
		goto out;
	}
	printf("OK peer card drawn (%ld pixels)\n", drawn);
	os_sleep_ms(500);
	tick_snapshot(&ta[4]);
	os_sleep_ms((uint32_t)phase * 1000);
	tick_snapshot(&ta[5]);
	tick_figure("tick per frame, with the overlay and the peer", &ta[4],
		    &ta[5], &tick_peer);
	printf("FIGURE peer tick cost per frame: mean=%.2f us\n",
	       tick_peer - tick_overlay);

	for (int i = 0; i < frames; i++) {
		ov[i] = render(overlay, 0);
		ovf[i] = frame_ns;
		pe[i] = render(peer, 0);
		pef[i] = frame_ns;
		em[i] = render(empty, 0);
		emf[i] = frame_ns;
	}
	render(overlay, 1);
	if (drawn < 20000)
		fail("the card was gone during the render figures");
	figure("overlay render call per frame (card, countdown)", ov, frames);
	figure("peer render call per frame (OBS text, color, image sources)",
	       pe, frames);
	figure("empty source render call per frame", em, frames);
	figure("overlay frame incl. llvmpipe draw + read-back", ovf, frames);
	figure("peer frame incl. llvmpipe draw + read-back", pef, frames);
	figure("empty source frame incl. llvmpipe draw + read-back", emf,
	       frames);

	pin1 = libobs_host_hotkey("live_shop.pin_1");
	pin2 = libobs_host_hotkey("live_shop.pin_2");
	if (pin1 == OBS_INVALID_HOTKEY_ID || pin2 == OBS_INVALID_HOTKEY_ID) {
		fail("hotkeys live_shop.pin_1/2 not registered");
		goto out;
	}
	obs_hotkey_enable_callback_rerouting(true);
	for (int i = 0; i < nhot; i++) {
		uint64_t t, c;
		long v0, n0, v1, n1;

		thread_switches(&v0, &n0);
		c = thread_cpu_ns();
		t = os_gettime_ns();
		obs_hotkey_trigger_routed_callback(i % 2 ? pin2 : pin1, true);
		hk[i] = os_gettime_ns() - t;
		hc[i] = thread_cpu_ns() - c;
		thread_switches(&v1, &n1);
		blocked += v1 > v0;
		preempted += n1 > n0;
		if (hk[i] > 100000) {
			/* the cause: the switch that took the time, else the
			 * callback's own work */
			const char *cause = n1 > n0   ? "preempted"
					    : v1 > v0 ? "waited"
						      : "on CPU";

			slow++;
			slow_preempted += n1 > n0;
			slow_waited += n1 <= n0 && v1 > v0;
			slow_cpu += n1 <= n0 && v1 <= v0;
			printf("SLOW press %d: %s: %.1f us wall, %.1f us on "
			       "CPU, %ld blocking and %ld preempting context "
			       "switches\n",
			       i, cause, hk[i] / 1000.0, hc[i] / 1000.0,
			       v1 - v0, n1 - n0);
		}
		obs_hotkey_trigger_routed_callback(i % 2 ? pin2 : pin1, false);
		t = os_gettime_ns();
		obs_hotkey_trigger_routed_callback(noop, true);
		hn[i] = os_gettime_ns() - t;
		obs_hotkey_trigger_routed_callback(noop, false);
		os_sleep_ms((uint32_t)gap);
	}
	obs_hotkey_enable_callback_rerouting(false);
	figure("hotkey callback, pin offer 1/2 (routed)", hk, nhot);
	figure("hotkey callback on CPU (thread CPU time)", hc, nhot);
	printf("HOTKEYS %d presses %d ms apart: %d blocked (waited, e.g. on "
	       "a lock), %d preempted, %d over 100 us\n",
	       nhot, gap, blocked, preempted, slow);
	printf("FIGURE hotkey presses over 100 us by cause: preempted=%d "
	       "waited=%d on_cpu=%d\n",
	       slow_preempted, slow_waited, slow_cpu);
	figure("hotkey callback, no-op hotkey (routed)", hn, nhot);

out:
	obs_source_release(peer);
	obs_source_release(overlay);
	obs_source_release(empty);
	obs_data_release(settings);
	obs_enter_graphics();
	gs_texrender_destroy(texrender);
	gs_stagesurface_destroy(stage);
	obs_leave_graphics();
	libobs_host_shutdown();
	XCloseDisplay(display);
	profiler_stop();
	printf(failures ? "FAIL %d check(s)\n" : "OK all checks\n", failures);
	return failures ? 1 : 0;
}
