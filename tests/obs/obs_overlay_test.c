/*
 * The live-shop plugin in real libobs (OpenGL, under Xvfb/llvmpipe):
 * loads text-freetype2 and the plugin, creates a live_shop_overlay,
 * presses the plugin's hotkeys through libobs (bindings provisioned in
 * the plugin's hotkeys.json), renders frames into a texrender and reads
 * them back with a stage surface.
 *
 * Usage: obs_overlay_test PLUGIN.so PLUGIN_DATA_DIR MODULE_CONFIG_DIR
 * Environment: LIVE_SHOP_OBS_PLUGINS (Debian's obs-plugins directory),
 * LIVE_SHOP_OBS_DATA (its data directory), LIVE_SHOP_BENCH_FRAMES.
 *
 * The server side (nginx with the module) is the pytest's: it provisions
 * MODULE_CONFIG_DIR/live-shop/config.json (server, stream, token) and
 * hotkeys.json, and a catalog whose first offer is sponsored. Lines on
 * stdout: "OK ...", "FIGURE ...", "FAIL ..." (exit 1); "PINNED ID" then
 * the program waits for a line on stdin before it shuts OBS down, so the
 * pytest can see the pin arrive at nginx while the link still runs.
 *
 * SPEC §15: the pytest has asked two questions before the start (one of
 * hostile text: markup, U+202E, CR/LF; one of 280 emoji). The program
 * pins them in turn with the "pin the oldest question" hotkey and finds
 * the question card (its own colour) with text on it; then says
 * "POLL?" and waits for a line while the pytest starts a poll and votes,
 * finds the poll's bars (their own colour) grow with the tally, ends the
 * poll and unpins the question with their hotkeys.
 *
 * SPEC §16: with offer 2 pinned, frames with the scan-to-buy QR code are
 * written as PGM (grey, the overlay over a mid-grey picture) to
 * LIVE_SHOP_FRAMES_DIR: a 1280x720 canvas at a 1280x720 output, a
 * 1920x1080 canvas at 1920x1080 and scaled to a 1280x720 output (as OBS
 * scales its canvas, bilinear), with "qr" off, and after the unpin. A
 * line "QRFRAME PATH code|none" names each; the pytest decodes them with
 * zbarimg.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <X11/Xlib.h>

#include <graphics/vec4.h>
#include <obs-nix-platform.h>
#include <obs.h>
#include <util/platform.h>
#include <util/threading.h>

#include "libobs_host.h"

#define W      1280
#define H      720
#define MARGIN 40
#define CARD_W 500

/* 0xAABBGGRR, as OBS stores colours */
#define CARD_ABGR     0xFFFF0000u /* blue */
#define ACCENT_ABGR   0xFF0000FFu /* red */
#define TEXT_ABGR     0xFFFFFFFFu
#define QUESTION_ABGR 0xFF00FF00u /* green */
#define POLL_ABGR     0xFF00FFFFu /* yellow */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_tail[64 * 1024];
static size_t log_len;
static int log_warnings;

static void log_handler(int level, const char *fmt, va_list args, void *p)
{
	char line[4096];

	(void)p;
	vsnprintf(line, sizeof(line), fmt, args);
	fprintf(stderr, "[obs %d] %s\n", level, line);
	pthread_mutex_lock(&log_lock);
	if (strncmp(line, "[live-shop]", 11) == 0) {
		size_t n = strlen(line);
		if (level <= LOG_WARNING)
			log_warnings++;
		if (log_len + n + 2 > sizeof(log_tail))
			log_len = 0;
		memcpy(log_tail + log_len, line, n);
		log_len += n;
		log_tail[log_len++] = '\n';
		log_tail[log_len] = '\0';
	}
	pthread_mutex_unlock(&log_lock);
}

static size_t log_mark(void)
{
	size_t n;

	pthread_mutex_lock(&log_lock);
	n = log_len;
	pthread_mutex_unlock(&log_lock);
	return n;
}

/* 1 if a plugin log line since mark holds needle */
static int log_since(size_t mark, const char *needle)
{
	int found;

	pthread_mutex_lock(&log_lock);
	found = mark <= log_len && strstr(log_tail + mark, needle) != NULL;
	pthread_mutex_unlock(&log_lock);
	return found;
}

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

static void ok(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("OK ");
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
}

/* ------------------------------------------------------------ rendering */

static gs_texrender_t *texrender;
static gs_stagesurf_t *stage;
static uint8_t frame[W * H * 4];

/* ns of the last render() from texrender begin to the mapped pixels
 * (llvmpipe executes the draws there) */
static uint64_t last_frame_ns;

/* Renders src into frame; returns the ns the render call itself took. */
static uint64_t render(obs_source_t *src)
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
			for (int y = 0; y < H; y++)
				memcpy(frame + (size_t)y * W * 4,
				       data + (size_t)y * linesize, W * 4);
			gs_stagesurface_unmap(stage);
		}
	}
	obs_leave_graphics();
	last_frame_ns = os_gettime_ns() - start;
	return t1 - t0;
}

static int near(int a, int b)
{
	return abs(a - b) <= 48;
}

/* pixels in [x0,x1)x[y0,y1): drawn (alpha > 0), or of colour abgr */
static long count(int x0, int y0, int x1, int y1, int any, uint32_t abgr)
{
	long n = 0;

	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++) {
			const uint8_t *p = frame + ((size_t)y * W + x) * 4;

			if (any) {
				n += p[3] != 0;
				continue;
			}
			n += p[3] > 200 && near(p[0], abgr & 0xFF) &&
			     near(p[1], (abgr >> 8) & 0xFF) &&
			     near(p[2], (abgr >> 16) & 0xFF);
		}
	return n;
}

#define CARD_AREA MARGIN, MARGIN, MARGIN + CARD_W, H - MARGIN

static long drawn_all(void)
{
	return count(0, 0, W, H, 1, 0);
}

static long card_pixels(void)
{
	return count(CARD_AREA, 0, CARD_ABGR);
}

/* white (text) pixels on the card: from its first blue row down, so the
 * disclosure label's text above it does not count */
static long text_pixels(void)
{
	for (int y = MARGIN; y < H - MARGIN; y++)
		if (count(MARGIN, y, MARGIN + CARD_W, y + 1, 0, CARD_ABGR) > 0)
			return count(MARGIN, y, MARGIN + CARD_W, H - MARGIN, 0,
				     TEXT_ABGR);
	return 0;
}

static long disclosure_pixels(void)
{
	return count(CARD_AREA, 0, ACCENT_ABGR);
}

static long question_pixels(void)
{
	return count(CARD_AREA, 0, QUESTION_ABGR);
}

/* rows of the question card: from its first green row to its last */
static int question_rows(int *first)
{
	int last = -1;

	*first = -1;
	for (int y = 0; y < H; y++)
		if (count(MARGIN, y, MARGIN + CARD_W, y + 1, 0, QUESTION_ABGR) >
		    0) {
			if (*first < 0)
				*first = y;
			last = y;
		}
	return *first < 0 ? 0 : last - *first + 1;
}

/* white (text) pixels on the question card */
static long question_text_pixels(void)
{
	int first, rows = question_rows(&first);

	return rows ? count(MARGIN, first, MARGIN + CARD_W, first + rows, 0,
			    TEXT_ABGR)
		    : 0;
}

static long poll_pixels(void)
{
	return count(CARD_AREA, 0, POLL_ABGR);
}

static void save_ppm(const char *dir, const char *name)
{
	char path[1024];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s.ppm", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return;
	fprintf(f, "P6\n%d %d\n255\n", W, H);
	for (size_t i = 0; i < (size_t)W * H; i++)
		fwrite(frame + i * 4, 1, 3, f);
	fclose(f);
}

/*
 * src on a canvas of cw x ch, scaled to an ow x oh output the way OBS
 * scales its canvas (bilinear), to dir/name.pgm: grey, over a mid-grey
 * picture (the overlay's empty parts are transparent). Says "QRFRAME
 * PATH want".
 */
static void save_qr_frame(obs_source_t *src, int cw, int ch, int ow, int oh,
			  const char *dir, const char *name, const char *want)
{
	gs_texrender_t *canvas, *output = NULL;
	gs_stagesurf_t *surf;
	gs_texture_t *tex;
	char path[1024];
	uint8_t *data;
	uint32_t linesize;
	FILE *f = NULL;
	int written = 0;

	if (!dir) {
		fail("LIVE_SHOP_FRAMES_DIR is not set: no QR frame %s", name);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s.pgm", dir, name);
	obs_enter_graphics();
	canvas = gs_texrender_create(GS_RGBA, GS_ZS_NONE);
	surf = gs_stagesurface_create((uint32_t)ow, (uint32_t)oh, GS_RGBA);
	if (gs_texrender_begin(canvas, (uint32_t)cw, (uint32_t)ch)) {
		struct vec4 clear;

		vec4_zero(&clear);
		gs_clear(GS_CLEAR_COLOR, &clear, 0.0f, 0);
		gs_ortho(0.0f, (float)cw, 0.0f, (float)ch, -100.0f, 100.0f);
		gs_blend_state_push();
		gs_reset_blend_state();
		obs_source_video_render(src);
		gs_blend_state_pop();
		gs_texrender_end(canvas);
	}
	tex = gs_texrender_get_texture(canvas);
	if (ow != cw || oh != ch) {
		gs_effect_t *e = obs_get_base_effect(OBS_EFFECT_DEFAULT);
		gs_technique_t *tech = gs_effect_get_technique(e, "Draw");

		output = gs_texrender_create(GS_RGBA, GS_ZS_NONE);
		if (gs_texrender_begin(output, (uint32_t)ow, (uint32_t)oh)) {
			gs_ortho(0.0f, (float)ow, 0.0f, (float)oh, -100.0f,
				 100.0f);
			gs_blend_state_push();
			gs_enable_blending(false);
			gs_effect_set_texture(
			    gs_effect_get_param_by_name(e, "image"), tex);
			gs_technique_begin(tech);
			gs_technique_begin_pass(tech, 0);
			gs_draw_sprite(tex, 0, (uint32_t)ow, (uint32_t)oh);
			gs_technique_end_pass(tech);
			gs_technique_end(tech);
			gs_blend_state_pop();
			gs_texrender_end(output);
		}
		tex = gs_texrender_get_texture(output);
	}
	gs_stage_texture(surf, tex);
	if (gs_stagesurface_map(surf, &data, &linesize)) {
		f = fopen(path, "wb");
		if (f) {
			fprintf(f, "P5\n%d %d\n255\n", ow, oh);
			for (int y = 0; y < oh; y++)
				for (int x = 0; x < ow; x++) {
					const uint8_t *p =
					    data + (size_t)y * linesize + x * 4;
					int luma = (p[0] * 299 + p[1] * 587 +
						    p[2] * 114) /
						   1000;
					/* premultiplied: over grey 128 */
					int g = luma + 128 * (255 - p[3]) / 255;

					fputc(g > 255 ? 255 : g, f);
				}
			written = fclose(f) == 0;
		}
		gs_stagesurface_unmap(surf);
	}
	gs_stagesurface_destroy(surf);
	gs_texrender_destroy(canvas);
	if (output)
		gs_texrender_destroy(output);
	obs_leave_graphics();
	if (!written) {
		fail("QR frame %s not written", path);
		return;
	}
	printf("QRFRAME %s %s\n", path, want);
	fflush(stdout);
}

/* ------------------------------------------------------------- hotkeys */

static void press(uint32_t key, uint32_t modifiers)
{
	obs_key_combination_t combo = {.modifiers = modifiers,
				       .key = (obs_key_t)key};

	obs_hotkey_inject_event(combo, true);
	obs_hotkey_inject_event(combo, false);
}

/* --------------------------------------------------------- empty source */

/* ------------------------------------------------------------------ main */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void figure(const char *what, uint64_t *ns, int n)
{
	qsort(ns, (size_t)n, sizeof(*ns), cmp_u64);
	printf("FIGURE %s: n=%d median=%.1f us p99=%.1f us max=%.1f us\n", what,
	       n, ns[n / 2] / 1000.0, ns[(n * 99) / 100] / 1000.0,
	       ns[n - 1] / 1000.0);
	fflush(stdout);
}

static void sleep_ms(int ms)
{
	os_sleep_ms((uint32_t)ms);
}

/* Renders n frames, 10 ms apart. */
static void render_frames(obs_source_t *src, int n)
{
	for (int i = 0; i < n; i++) {
		render(src);
		sleep_ms(10);
	}
}

/* Renders until ready() holds or timeout_ms pass; returns ms waited. */
static long render_until(obs_source_t *src, int (*ready)(void), int timeout_ms)
{
	uint64_t t0 = os_gettime_ns();

	for (;;) {
		long waited = (long)((os_gettime_ns() - t0) / 1000000);

		render(src);
		if (ready())
			return waited;
		if (waited > timeout_ms)
			return -1;
		sleep_ms(10);
	}
}

static int card_shown(void)
{
	return card_pixels() > 20000 && text_pixels() > 1000;
}

static int card_and_disclosure_shown(void)
{
	return card_shown() && disclosure_pixels() > 500;
}

static int card_without_disclosure(void)
{
	return card_shown() && disclosure_pixels() == 0;
}

static int question_shown(void)
{
	return question_pixels() > 5000 && question_text_pixels() > 300;
}

static int no_question(void)
{
	return question_pixels() == 0;
}

static long poll_before;

/* the bars hold 3 votes: 2/3 and 1/3 of their width */
static int poll_tallied(void)
{
	return poll_pixels() > 1500;
}

static int no_offer_card(void)
{
	int first;

	/* the countdown row stays (it runs on); the card shrinks to it */
	return disclosure_pixels() == 0 && question_rows(&first) == 0;
}

/* A plugin hotkey as OBS's frontend calls it (routed), by name. */
static void trigger(const char *name)
{
	obs_hotkey_id id = libobs_host_hotkey(name);

	if (id == OBS_INVALID_HOTKEY_ID) {
		fail("hotkey %s not registered", name);
		return;
	}
	obs_hotkey_enable_callback_rerouting(true);
	obs_hotkey_trigger_routed_callback(id, true);
	obs_hotkey_trigger_routed_callback(id, false);
	obs_hotkey_enable_callback_rerouting(false);
}

/* Presses name until the plugin takes it (a refusal is logged) or
 * timeout_ms pass; 1 when taken. */
static int trigger_until_taken(obs_source_t *src, const char *name,
			       int timeout_ms)
{
	char needle[96];
	size_t mark;

	snprintf(needle, sizeof(needle), "hotkey %s", name);
	for (int waited = 0; waited <= timeout_ms; waited += 100) {
		render(src);
		mark = log_mark();
		trigger(name);
		if (!log_since(mark, needle))
			return 1;
		sleep_ms(100);
	}
	return 0;
}

/* SPEC §15: the pinned question and the poll in the rendered frame. */
static void questions_and_poll(obs_source_t *overlay, const char *artifacts)
{
	char line[64];
	long waited;
	int first, rows;

	/* the offer card goes, so the column has room (the countdown row
	 * stays: it runs on) */
	trigger("live_shop.unpin");
	if (render_until(overlay, no_offer_card, 3000) < 0)
		fail("the offer card did not go after unpin");
	/* SPEC §16: the QR code goes with the offer */
	render_frames(overlay, 5);
	save_qr_frame(overlay, W, H, W, H, artifacts, "qr-unpinned", "none");

	if (!trigger_until_taken(overlay, "live_shop.pin_question", 15000)) {
		fail("pin-question hotkey refused for 15 s: no waiting "
		     "question reached the link");
		return;
	}
	waited = render_until(overlay, question_shown, 3000);
	save_ppm(artifacts, "question-hostile");
	if (waited < 0)
		fail("no question card after the pin: %ld px, text %ld px",
		     question_pixels(), question_text_pixels());
	else
		ok("question card (%ld px, text %ld px) drawn %ld ms after "
		   "the key press; hostile text drawn as text",
		   question_pixels(), question_text_pixels(), waited);

	/* the oldest now: 280 emoji in one run, wrapped and cut */
	if (!trigger_until_taken(overlay, "live_shop.pin_question", 3000))
		fail("the second question could not be pinned");
	render_frames(overlay, 40);
	save_ppm(artifacts, "question-emoji");
	rows = question_rows(&first);
	if (!question_shown() || rows > 400)
		fail("280 emoji: question card %ld px over %d rows (want "
		     "drawn, at most 400 rows)",
		     question_pixels(), rows);
	else
		ok("280 emoji: question card drawn within %d rows", rows);

	/* the pytest starts a poll and votes 2:1 */
	poll_before = poll_pixels();
	printf("POLL?\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = '\0';
	waited = render_until(overlay, poll_tallied, 5000);
	/* the texts follow the bars at the text sources' next tick */
	render_frames(overlay, 20);
	save_ppm(artifacts, "poll");
	if (waited < 0)
		fail("no poll bars with the votes: %ld px (before %ld)",
		     poll_pixels(), poll_before);
	else
		ok("poll bars drawn with the live tally (%ld px, %ld ms)",
		   poll_pixels(), waited);

	/* end poll: its final counts stay drawn a while */
	if (!trigger_until_taken(overlay, "live_shop.end_poll", 1000))
		fail("the end-poll hotkey was refused");
	render_frames(overlay, 30);
	if (!poll_tallied())
		fail("the final counts are not drawn after the poll ended "
		     "(%ld px)",
		     poll_pixels());
	else
		ok("final counts drawn after the poll ended");

	if (!trigger_until_taken(overlay, "live_shop.unpin_question", 1000))
		fail("the unpin-question hotkey was refused");
	if (render_until(overlay, no_question, 3000) < 0)
		fail("the question card stays after unpin (%ld px)",
		     question_pixels());
	else
		ok("question card gone after unpin");
}

int main(int argc, char **argv)
{
	const char *plugins = getenv("LIVE_SHOP_OBS_PLUGINS");
	const char *plugins_data = getenv("LIVE_SHOP_OBS_DATA");
	const char *artifacts = getenv("LIVE_SHOP_FRAMES_DIR");
	int bench_frames = getenv("LIVE_SHOP_BENCH_FRAMES")
			       ? atoi(getenv("LIVE_SHOP_BENCH_FRAMES"))
			       : 300;
	char bin[1024], data[1024], line[64];
	struct obs_video_info ovi = {0};
	Display *display;
	obs_data_t *settings;
	obs_source_t *overlay, *empty;
	size_t mark;
	long waited;
	int tries = 0, pinned = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: %s PLUGIN.so DATA_DIR CONFIG_DIR\n",
			argv[0]);
		return 2;
	}
	if (!plugins)
		plugins = "/usr/lib/x86_64-linux-gnu/obs-plugins";
	if (!plugins_data)
		plugins_data = "/usr/share/obs/obs-plugins";
	base_set_log_handler(log_handler, NULL);

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
	ovi.adapter = 0;
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
	if (libobs_host_load_module(argv[1], argv[2]) != 0)
		return 1;
	obs_post_load_modules();
	if (log_warnings)
		fail("the plugin logged %d warning(s) while loading",
		     log_warnings);
	else
		ok("plugin loaded without warnings");

	obs_enter_graphics();
	texrender = gs_texrender_create(GS_RGBA, GS_ZS_NONE);
	stage = gs_stagesurface_create(W, H, GS_RGBA);
	obs_leave_graphics();

	settings = obs_data_create();
	obs_data_set_int(settings, "width", W);
	obs_data_set_int(settings, "height", H);
	obs_data_set_int(settings, "corner", 0); /* top left */
	obs_data_set_int(settings, "margin", MARGIN);
	obs_data_set_int(settings, "card_width", CARD_W);
	obs_data_set_int(settings, "card_color", CARD_ABGR);
	obs_data_set_int(settings, "accent_color", ACCENT_ABGR);
	obs_data_set_int(settings, "text_color", TEXT_ABGR);
	obs_data_set_int(settings, "question_color", QUESTION_ABGR);
	obs_data_set_int(settings, "poll_color", POLL_ABGR);
	overlay =
	    obs_source_create_private("live_shop_overlay", "overlay", settings);
	empty = obs_source_create_private("bench_empty_source", "empty", NULL);
	if (!overlay || obs_source_get_width(overlay) != W) {
		fail("live_shop_overlay not created at %dx%d", W, H);
		return 1;
	}

	/* Ctrl+1 (pin offer 1) until the link has the catalog: each refused
	 * press says why in the log; nothing may be drawn before the pin. */
	for (;;) {
		render(overlay);
		if (drawn_all() != 0) {
			fail("%ld pixels drawn before anything was pinned",
			     drawn_all());
			save_ppm(artifacts, "before-pin");
			break;
		}
		mark = log_mark();
		press(OBS_KEY_1, INTERACT_CONTROL_KEY);
		if (!log_since(mark, "hotkey live_shop.pin_1")) {
			pinned = 1;
			break;
		}
		if (++tries > 150) {
			fail("pin hotkey refused for 15 s: %s",
			     log_tail + mark);
			break;
		}
		sleep_ms(100);
	}
	if (pinned)
		ok("nothing drawn before the pin (%d frames); "
		   "Ctrl+1 pinned offer 1",
		   tries + 1);
	if (!pinned)
		goto out;

	waited = render_until(overlay, card_and_disclosure_shown, 3000);
	save_ppm(artifacts, "pinned-sponsored");
	if (waited < 0)
		fail("no card + disclosure after the pin: card %ld, text %ld, "
		     "disclosure %ld pixels",
		     card_pixels(), text_pixels(), disclosure_pixels());
	else
		ok("card (%ld px) and disclosure (%ld px) drawn %ld ms after "
		   "the key press",
		   card_pixels(), disclosure_pixels(), waited);

	/* The host tries to hide the disclosure: the property off, and
	 * Ctrl+D (toggle disclosure). A sponsored offer keeps it. */
	obs_data_set_bool(settings, "show_disclosure", false);
	obs_source_update(overlay, settings);
	mark = log_mark();
	press(OBS_KEY_D, INTERACT_CONTROL_KEY);
	if (!log_since(mark, "disclosure_required"))
		fail("toggling the disclosure of a sponsored pin was not "
		     "refused: %s",
		     log_tail + mark);
	render_frames(overlay, 30);
	save_ppm(artifacts, "sponsored-disclosure-off");
	if (disclosure_pixels() < 500 || !card_shown())
		fail("disclosure area not drawn while the sponsored offer is "
		     "pinned (%ld px)",
		     disclosure_pixels());
	else
		ok("disclosure stays drawn while the sponsored offer is pinned "
		   "(%ld px)",
		   disclosure_pixels());

	/* Ctrl+2: an offer without disclosure; with the property off the
	 * label goes (proves the check above can fail). */
	press(OBS_KEY_2, INTERACT_CONTROL_KEY);
	waited = render_until(overlay, card_without_disclosure, 3000);
	save_ppm(artifacts, "pinned-plain");
	if (waited < 0)
		fail("offer 2: card %ld px, disclosure %ld px (want 0)",
		     card_pixels(), disclosure_pixels());
	else
		ok("offer 2 pinned: card drawn, no disclosure (%ld ms)",
		   waited);

	/* SPEC §16: the scan-to-buy QR code of offer 2, at 720p and 1080p
	 * canvases and outputs, then with "qr" off */
	render_frames(overlay, 5);
	save_qr_frame(overlay, W, H, W, H, artifacts, "qr-720p", "code");
	obs_data_set_int(settings, "width", 1920);
	obs_data_set_int(settings, "height", 1080);
	obs_source_update(overlay, settings);
	render_frames(overlay, 20);
	save_qr_frame(overlay, 1920, 1080, 1920, 1080, artifacts, "qr-1080p",
		      "code");
	save_qr_frame(overlay, 1920, 1080, W, H, artifacts,
		      "qr-1080p-canvas-720p-output", "code");
	obs_data_set_bool(settings, "qr", false);
	obs_source_update(overlay, settings);
	render_frames(overlay, 20);
	save_qr_frame(overlay, 1920, 1080, 1920, 1080, artifacts, "qr-off",
		      "none");
	obs_data_set_bool(settings, "qr", true);
	obs_data_set_int(settings, "width", W);
	obs_data_set_int(settings, "height", H);
	obs_source_update(overlay, settings);
	render_frames(overlay, 20);

	/* Figures: the hotkey callback (as OBS's frontend calls it, routed)
	 * and the overlay's render call against an empty source. */
	{
		obs_hotkey_id pin1 = libobs_host_hotkey("live_shop.pin_1");
		obs_hotkey_id pin2 = libobs_host_hotkey("live_shop.pin_2");
		enum { N = 100 };
		uint64_t ns[N], ov[1000], em[1000];
		int nf = bench_frames > 1000 ? 1000 : bench_frames;

		if (pin1 == OBS_INVALID_HOTKEY_ID ||
		    pin2 == OBS_INVALID_HOTKEY_ID) {
			fail("hotkeys live_shop.pin_1/2 not registered");
			goto out;
		}
		obs_hotkey_enable_callback_rerouting(true);
		for (int i = 0; i < N; i++) {
			uint64_t t0 = os_gettime_ns();

			obs_hotkey_trigger_routed_callback(i % 2 ? pin2 : pin1,
							   true);
			ns[i] = os_gettime_ns() - t0;
			obs_hotkey_trigger_routed_callback(i % 2 ? pin2 : pin1,
							   false);
			sleep_ms(2);
		}
		figure("hotkey callback (pin slot, routed)", ns, N);

		/* the countdown hotkey: the card grows a mm:ss row */
		{
			long before, grown;
			uint64_t t0 = os_gettime_ns();

			sleep_ms(300);
			render(overlay);
			before = card_pixels();
			obs_hotkey_trigger_routed_callback(
			    libobs_host_hotkey("live_shop.countdown"), true);
			obs_hotkey_trigger_routed_callback(
			    libobs_host_hotkey("live_shop.countdown"), false);
			do {
				sleep_ms(10);
				render(overlay);
				grown = card_pixels();
			} while (grown < before + 5000 &&
				 os_gettime_ns() - t0 < 3000000000ULL);
			save_ppm(artifacts, "countdown");
			if (grown < before + 5000)
				fail("no countdown row: card %ld px, before "
				     "%ld px",
				     grown, before);
			else
				ok("countdown row drawn (card %ld -> %ld px)",
				   before, grown);
		}
		obs_hotkey_enable_callback_rerouting(false);

		static uint64_t ov_frame[1000], em_frame[1000];

		for (int i = 0; i < nf; i++) {
			ov[i] = render(overlay);
			ov_frame[i] = last_frame_ns;
			em[i] = render(empty);
			em_frame[i] = last_frame_ns;
		}
		figure("overlay render call per frame (card, countdown)", ov,
		       nf);
		figure("empty source render call per frame", em, nf);
		figure("overlay frame incl. GPU + readback (llvmpipe)",
		       ov_frame, nf);
		figure("empty source frame incl. GPU + readback (llvmpipe)",
		       em_frame, nf);
	}

	/* A binding changed as OBS's Settings > Hotkeys does it: the plugin
	 * must write it to its hotkeys.json (the pytest reads it). */
	{
		obs_data_array_t *a = obs_data_array_create();
		obs_data_t *b = obs_data_create();

		obs_data_set_string(b, "key", "OBS_KEY_3");
		obs_data_set_bool(b, "control", true);
		obs_data_array_push_back(a, b);
		obs_hotkey_load(libobs_host_hotkey("live_shop.pin_3"), a);
		obs_data_release(b);
		obs_data_array_release(a);
	}

	questions_and_poll(overlay, artifacts);

	/* The last pin: offer 1 again, for the pytest to find at nginx. */
	press(OBS_KEY_1, INTERACT_CONTROL_KEY);
	printf("PINNED slot1\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = '\0';

out:
	obs_source_release(overlay);
	obs_source_release(empty);
	obs_data_release(settings);
	obs_enter_graphics();
	gs_texrender_destroy(texrender);
	gs_stagesurface_destroy(stage);
	obs_leave_graphics();
	libobs_host_shutdown();
	XCloseDisplay(display);
	printf(failures ? "FAIL %d check(s)\n" : "OK all checks\n", failures);
	return failures ? 1 : 0;
}
