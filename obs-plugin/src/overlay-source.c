/*
 * The "Live Shop Overlay" source (live_shop_overlay): the pinned product
 * card (title, price, struck-through anchor price, stock left), the
 * countdown mm:ss, and the disclosure label, placed in one corner of a
 * canvas-sized source. Nothing is drawn while nothing is live.
 *
 * Threads. A worker of each overlay polls shop_link_view (non-blocking)
 * and, only when the view's generation or the properties change, sets the
 * text of private text sources (text_ft2_source_v2: OBS applies such an
 * update at the text source's next tick, as for any property change). It
 * then publishes a small plain struct of what to show. The graphics
 * thread takes that struct with a trylock (else draws the previous one),
 * lays out from the text sources' sizes and draws: no allocation, no
 * wait. The countdown is drawn from pre-made "0".."9" and ":" sources, so
 * its ticking changes no text at all.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <graphics/vec4.h>
#include <obs-module.h>
#include <util/platform.h>
#include <util/threading.h>

#include <lshop/offer.h>

#include "plugin.h"

#define TEXT_SOURCE_ID "text_ft2_source_v2"
#define POLL_MS        20
#define NDIGITS        11 /* "0".."9", then ":" */
#define COLON          10

enum text_slot {
	TEXT_TITLE,
	TEXT_PRICE,
	TEXT_COMPARE,
	TEXT_STOCK,
	TEXT_LABEL,
	TEXT_DISCLOSURE,
	TEXT_COUNT,
};

/* each text's size, relative to the font's */
static const double text_scale[TEXT_COUNT] = {
    [TEXT_TITLE] = 1.0, [TEXT_PRICE] = 1.0, [TEXT_COMPARE] = 0.75,
    [TEXT_STOCK] = 0.7, [TEXT_LABEL] = 0.7, [TEXT_DISCLOSURE] = 0.7,
};

enum corner {
	CORNER_TOP_LEFT,
	CORNER_TOP_RIGHT,
	CORNER_BOTTOM_LEFT,
	CORNER_BOTTOM_RIGHT,
};

struct font {
	char face[128];
	char style[64];
	int64_t size;
	int64_t flags;
};

/* The properties, as the worker applies them. */
struct style {
	struct font font;
	struct font countdown_font;
	uint32_t text_color;
	uint32_t card_color;
	uint32_t accent_color;
	uint32_t width;
	uint32_t height;
	uint32_t card_width;
	uint32_t margin;
	int corner;
	bool show_disclosure;
};

/* What the graphics thread draws: plain data, copied under a trylock. */
struct scene {
	bool card;
	bool compare;
	bool stock;
	bool countdown;
	bool label;
	bool disclosure;
	int64_t ends_at_ms;
	float font_size;
	uint32_t text_color;
	uint32_t card_color;
	uint32_t accent_color;
	uint32_t width;
	uint32_t height;
	uint32_t card_width;
	uint32_t margin;
	int corner;
};

struct overlay {
	obs_source_t *self;
	obs_source_t *text[TEXT_COUNT];
	obs_source_t *digit[NDIGITS];

	pthread_mutex_t lock; /* guards the four fields below */
	struct style style_next;
	uint64_t style_serial;
	struct scene published;
	uint64_t published_serial;

	/* the worker's own */
	pthread_t worker;
	bool worker_started;
	os_event_t *stop;
	struct style style;
	uint64_t style_applied;
	uint64_t generation_applied;
	shop_view view;
	char last_text[TEXT_COUNT][LSHOP_TITLE_MAX + 64];

	/* the graphics thread's own */
	struct scene drawn;
	uint64_t drawn_serial;

	volatile uint32_t width;
	volatile uint32_t height;
};

/* ---------------------------------------------------------------- style */

static void read_font(obs_data_t *settings, const char *key, struct font *f)
{
	obs_data_t *obj = obs_data_get_obj(settings, key);

	snprintf(f->face, sizeof(f->face), "%s",
		 obj ? obs_data_get_string(obj, "face") : "");
	snprintf(f->style, sizeof(f->style), "%s",
		 obj ? obs_data_get_string(obj, "style") : "");
	f->size = obj ? obs_data_get_int(obj, "size") : 0;
	f->flags = obj ? obs_data_get_int(obj, "flags") : 0;
	if (f->size < 8)
		f->size = 8;
	obs_data_release(obj);
}

static void read_style(obs_data_t *settings, struct style *s)
{
	read_font(settings, "font", &s->font);
	read_font(settings, "countdown_font", &s->countdown_font);
	/* text sources draw with the colour's alpha: text is always opaque */
	s->text_color =
	    (uint32_t)obs_data_get_int(settings, "text_color") | 0xFF000000;
	s->card_color = (uint32_t)obs_data_get_int(settings, "card_color");
	s->accent_color = (uint32_t)obs_data_get_int(settings, "accent_color");
	s->width = (uint32_t)obs_data_get_int(settings, "width");
	s->height = (uint32_t)obs_data_get_int(settings, "height");
	s->card_width = (uint32_t)obs_data_get_int(settings, "card_width");
	s->margin = (uint32_t)obs_data_get_int(settings, "margin");
	s->corner = (int)obs_data_get_int(settings, "corner");
	s->show_disclosure = obs_data_get_bool(settings, "show_disclosure");
}

/* ----------------------------------------------------------- the worker */

static void set_text(obs_source_t *src, const char *text, const struct font *f,
		     double scale, uint32_t color, uint32_t wrap_width)
{
	obs_data_t *settings, *font;

	if (!src)
		return;
	settings = obs_data_create();
	font = obs_data_create();
	obs_data_set_string(font, "face", f->face);
	obs_data_set_string(font, "style", f->style);
	obs_data_set_int(font, "size", (int64_t)(f->size * scale + 0.5));
	obs_data_set_int(font, "flags", f->flags);
	obs_data_set_obj(settings, "font", font);
	obs_data_set_string(settings, "text", text);
	obs_data_set_int(settings, "color1", color);
	obs_data_set_int(settings, "color2", color);
	obs_data_set_bool(settings, "word_wrap", wrap_width > 0);
	obs_data_set_int(settings, "custom_width", wrap_width);
	obs_source_update(src, settings);
	obs_data_release(font);
	obs_data_release(settings);
}

/* "%1" in a locale string is the number n. */
static void format_count(char *out, size_t size, const char *format, int64_t n)
{
	const char *at = strstr(format, "%1");

	if (!at) {
		snprintf(out, size, "%s", format);
		return;
	}
	snprintf(out, size, "%.*s%lld%s", (int)(at - format), format,
		 (long long)n, at + 2);
}

static const char *disclosure_label(const shop_view *v)
{
	const char *kind =
	    v->disclosure_kind[0] ? v->disclosure_kind : v->offer.disclosure;
	const char *label;

	if (v->disclosure_text[0])
		return v->disclosure_text;
	label = lshop_disclosure_text(kind, obs_get_locale());
	return label ? label : lshop_disclosure_text("ad", obs_get_locale());
}

/* Changes a text source only when its text or the style changed. */
static void update_text(struct overlay *ov, enum text_slot slot,
			const char *text, uint32_t color, uint32_t wrap,
			bool restyle)
{
	if (!restyle && strcmp(ov->last_text[slot], text) == 0)
		return;
	snprintf(ov->last_text[slot], sizeof(ov->last_text[slot]), "%s", text);
	set_text(ov->text[slot], text, &ov->style.font, text_scale[slot], color,
		 wrap);
}

static void apply_view(struct overlay *ov, bool restyle)
{
	const shop_view *v = &ov->view;
	const struct style *st = &ov->style;
	uint32_t pad = (uint32_t)(st->font.size * 0.5);
	uint32_t wrap =
	    st->card_width > 2 * pad + 100 ? st->card_width - 2 * pad : 100;
	bool required = v->pinned && v->disclosure_required;
	char buf[LSHOP_TITLE_MAX + 64];
	struct scene sc = {0};

	if (restyle) {
		static const char *const chars[NDIGITS] = {
		    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", ":"};

		for (int i = 0; i < NDIGITS; i++)
			set_text(ov->digit[i], chars[i], &st->countdown_font,
				 1.0, st->text_color, 0);
		/* every text takes the new style now (the shown ones again
		 * below), so fonts load here, not when an offer is pinned */
		for (int i = 0; i < TEXT_COUNT; i++) {
			ov->last_text[i][0] = '\0';
			set_text(ov->text[i], " ", &st->font, text_scale[i],
				 st->text_color, i == TEXT_TITLE ? wrap : 0);
		}
	}

	sc.card = v->pinned;
	if (v->pinned) {
		update_text(ov, TEXT_TITLE, v->offer.title, st->text_color,
			    wrap, restyle);
		snprintf(buf, sizeof(buf), "%s %s", v->offer.price,
			 v->offer.currency);
		update_text(ov, TEXT_PRICE, buf, st->text_color, 0, restyle);
		sc.compare = v->offer.compare_at[0] != '\0';
		if (sc.compare) {
			snprintf(buf, sizeof(buf), "%s %s", v->offer.compare_at,
				 v->offer.currency);
			update_text(ov, TEXT_COMPARE, buf, st->text_color, 0,
				    restyle);
		}
		sc.stock = v->offer_stock != LSHOP_STOCK_UNLIMITED;
		if (sc.stock) {
			if (v->offer_stock == 0)
				snprintf(buf, sizeof(buf), "%s",
					 obs_module_text("Card.SoldOut"));
			else
				format_count(buf, sizeof(buf),
					     obs_module_text("Card.OnlyLeft"),
					     v->offer_stock);
			update_text(ov, TEXT_STOCK, buf, st->text_color, 0,
				    restyle);
		}
	}
	sc.countdown = v->countdown;
	sc.ends_at_ms = v->countdown_ends_at_ms;
	sc.label = v->countdown && v->countdown_label[0];
	if (sc.label)
		update_text(ov, TEXT_LABEL, v->countdown_label, st->text_color,
			    0, restyle);
	/* SPEC §3: a pinned offer's disclosure cannot be hidden */
	sc.disclosure = required || (v->disclosure && st->show_disclosure);
	if (sc.disclosure)
		update_text(ov, TEXT_DISCLOSURE, disclosure_label(v),
			    st->text_color, 0, restyle);

	sc.font_size = (float)st->font.size;
	sc.text_color = st->text_color;
	sc.card_color = st->card_color;
	sc.accent_color = st->accent_color;
	sc.width = st->width;
	sc.height = st->height;
	sc.card_width = st->card_width;
	sc.margin = st->margin;
	sc.corner = st->corner;

	pthread_mutex_lock(&ov->lock);
	ov->published = sc;
	ov->published_serial++;
	pthread_mutex_unlock(&ov->lock);
}

static void *overlay_worker(void *data)
{
	struct overlay *ov = data;

	os_set_thread_name("live-shop-overlay");
	while (os_event_timedwait(ov->stop, POLL_MS) == ETIMEDOUT) {
		shop_link *link = live_shop_link();
		bool restyle = false;

		pthread_mutex_lock(&ov->lock);
		if (ov->style_serial != ov->style_applied) {
			ov->style = ov->style_next;
			ov->style_applied = ov->style_serial;
			restyle = true;
		}
		pthread_mutex_unlock(&ov->lock);

		if (link)
			shop_link_view(link, &ov->view);
		if (restyle || ov->view.generation != ov->generation_applied) {
			ov->generation_applied = ov->view.generation;
			apply_view(ov, restyle);
		}
	}
	return NULL;
}

/* ---------------------------------------------------- the graphics side */

static void draw_rect(float x, float y, float w, float h, uint32_t color)
{
	gs_effect_t *solid = obs_get_base_effect(OBS_EFFECT_SOLID);
	gs_eparam_t *param = gs_effect_get_param_by_name(solid, "color");
	gs_technique_t *tech = gs_effect_get_technique(solid, "Solid");
	struct vec4 c;

	if (w < 1.0f || h < 1.0f)
		return;
	vec4_from_rgba_srgb(&c, color);
	gs_effect_set_vec4(param, &c);
	gs_technique_begin(tech);
	gs_technique_begin_pass(tech, 0);
	gs_matrix_push();
	gs_matrix_translate3f(x, y, 0.0f);
	gs_draw_sprite(NULL, 0, (uint32_t)w, (uint32_t)h);
	gs_matrix_pop();
	gs_technique_end_pass(tech);
	gs_technique_end(tech);
}

static void draw_source(obs_source_t *src, float x, float y)
{
	if (!src)
		return;
	gs_matrix_push();
	gs_matrix_translate3f(x, y, 0.0f);
	obs_source_video_render(src);
	gs_matrix_pop();
}

static float width_of(obs_source_t *src)
{
	return src ? (float)obs_source_get_width(src) : 0.0f;
}

static float height_of(obs_source_t *src)
{
	return src ? (float)obs_source_get_height(src) : 0.0f;
}

static float maxf(float a, float b)
{
	return a > b ? a : b;
}

/* mm:ss left of the countdown, as digit indices; returns how many. */
static int countdown_chars(int64_t ends_at_ms, int out[8])
{
	int64_t left_ms = ends_at_ms - live_shop_now_ms();
	int64_t secs = left_ms > 0 ? (left_ms + 999) / 1000 : 0;
	int64_t minutes = secs / 60;
	int n = 0;

	if (minutes > 999)
		minutes = 999;
	if (minutes >= 100)
		out[n++] = (int)(minutes / 100);
	out[n++] = (int)(minutes / 10 % 10);
	out[n++] = (int)(minutes % 10);
	out[n++] = COLON;
	out[n++] = (int)(secs % 60 / 10);
	out[n++] = (int)(secs % 10);
	return n;
}

static void overlay_render(void *data, gs_effect_t *effect)
{
	struct overlay *ov = data;
	const struct scene *sc = &ov->drawn;
	float pad, gap, card_w, card_h = 0.0f, badge_w = 0.0f, badge_h = 0.0f;
	float title_h, price_h, stock_h, cd_h = 0.0f, digit_w = 0.0f;
	float digit_h = 0.0f, block_h, x0, y0, y;
	int chars[8], nchars = 0;

	(void)effect;
	if (pthread_mutex_trylock(&ov->lock) == 0) {
		if (ov->published_serial != ov->drawn_serial) {
			ov->drawn = ov->published;
			ov->drawn_serial = ov->published_serial;
		}
		pthread_mutex_unlock(&ov->lock);
	}
	if (!sc->card && !sc->countdown && !sc->disclosure)
		return;

	pad = sc->font_size * 0.5f;
	gap = sc->font_size * 0.25f;
	card_w = (float)sc->card_width;
	title_h = sc->card ? height_of(ov->text[TEXT_TITLE]) : 0.0f;
	price_h =
	    sc->card
		? maxf(height_of(ov->text[TEXT_PRICE]),
		       sc->compare ? height_of(ov->text[TEXT_COMPARE]) : 0.0f)
		: 0.0f;
	stock_h =
	    sc->card && sc->stock ? height_of(ov->text[TEXT_STOCK]) : 0.0f;
	if (sc->countdown) {
		nchars = countdown_chars(sc->ends_at_ms, chars);
		for (int i = 0; i < 10; i++) {
			digit_w = maxf(digit_w, width_of(ov->digit[i]));
			digit_h = maxf(digit_h, height_of(ov->digit[i]));
		}
		cd_h = maxf(digit_h,
			    sc->label ? height_of(ov->text[TEXT_LABEL]) : 0.0f);
	}
	if (sc->card) {
		card_h = pad + title_h + gap + price_h;
		if (sc->stock)
			card_h += gap + stock_h;
		if (sc->countdown)
			card_h += gap + cd_h;
		card_h += pad;
	} else if (sc->countdown) {
		card_h = pad + cd_h + pad;
	}
	if (sc->disclosure) {
		badge_w = width_of(ov->text[TEXT_DISCLOSURE]) + 2.0f * pad;
		badge_h = height_of(ov->text[TEXT_DISCLOSURE]) + pad;
	}
	block_h =
	    badge_h + (badge_h > 0.0f && card_h > 0.0f ? gap : 0.0f) + card_h;

	x0 = (float)sc->margin;
	if (sc->corner == CORNER_TOP_RIGHT || sc->corner == CORNER_BOTTOM_RIGHT)
		x0 = (float)sc->width - (float)sc->margin - card_w;
	y0 = (float)sc->margin;
	if (sc->corner == CORNER_BOTTOM_LEFT ||
	    sc->corner == CORNER_BOTTOM_RIGHT)
		y0 = (float)sc->height - (float)sc->margin - block_h;

	y = y0;
	if (sc->disclosure) {
		draw_rect(x0, y, badge_w, badge_h, sc->accent_color);
		draw_source(ov->text[TEXT_DISCLOSURE], x0 + pad,
			    y + pad * 0.5f);
		y += badge_h + (card_h > 0.0f ? gap : 0.0f);
	}
	if (card_h <= 0.0f)
		return;
	draw_rect(x0, y, card_w, card_h, sc->card_color);
	y += pad;
	if (sc->card) {
		float price_w = width_of(ov->text[TEXT_PRICE]);

		draw_source(ov->text[TEXT_TITLE], x0 + pad, y);
		y += title_h + gap;
		draw_source(ov->text[TEXT_PRICE], x0 + pad, y);
		if (sc->compare) {
			float cx = x0 + pad + price_w + pad;
			float ch = height_of(ov->text[TEXT_COMPARE]);
			float cw = width_of(ov->text[TEXT_COMPARE]);
			float line = maxf(2.0f, sc->font_size / 16.0f);
			float cy = y + price_h - ch;

			draw_source(ov->text[TEXT_COMPARE], cx, cy);
			draw_rect(cx, cy + ch * 0.55f - line * 0.5f, cw, line,
				  sc->text_color);
		}
		y += price_h;
		if (sc->stock) {
			y += gap;
			draw_source(ov->text[TEXT_STOCK], x0 + pad, y);
			y += stock_h;
		}
		if (sc->countdown)
			y += gap;
	}
	if (sc->countdown) {
		float x = x0 + pad;

		if (sc->label) {
			draw_source(ov->text[TEXT_LABEL], x,
				    y + cd_h - height_of(ov->text[TEXT_LABEL]));
			x += width_of(ov->text[TEXT_LABEL]) + pad;
		}
		for (int i = 0; i < nchars; i++) {
			obs_source_t *d = ov->digit[chars[i]];
			float w = chars[i] == COLON ? width_of(d) : digit_w;

			/* digits centred in equal cells: mm:ss never jitters */
			draw_source(d, x + (w - width_of(d)) * 0.5f,
				    y + cd_h - digit_h);
			x += w;
		}
	}
}

/* ------------------------------------------------------------ lifecycle */

static const char *overlay_get_name(void *type_data)
{
	(void)type_data;
	return obs_module_text("Overlay.Name");
}

static void overlay_update(void *data, obs_data_t *settings)
{
	struct overlay *ov = data;
	struct style s;

	read_style(settings, &s);
	pthread_mutex_lock(&ov->lock);
	ov->style_next = s;
	ov->style_serial++;
	pthread_mutex_unlock(&ov->lock);
	ov->width = s.width;
	ov->height = s.height;
}

static void overlay_destroy(void *data)
{
	struct overlay *ov = data;

	if (ov->worker_started) {
		os_event_signal(ov->stop);
		pthread_join(ov->worker, NULL);
	}
	os_event_destroy(ov->stop);
	for (int i = 0; i < TEXT_COUNT; i++)
		obs_source_release(ov->text[i]);
	for (int i = 0; i < NDIGITS; i++)
		obs_source_release(ov->digit[i]);
	pthread_mutex_destroy(&ov->lock);
	bfree(ov);
}

static void *overlay_create(obs_data_t *settings, obs_source_t *source)
{
	struct overlay *ov = bzalloc(sizeof(*ov));
	bool have_text = obs_get_source_output_flags(TEXT_SOURCE_ID) != 0;

	ov->self = source;
	pthread_mutex_init(&ov->lock, NULL);
	if (os_event_init(&ov->stop, OS_EVENT_TYPE_MANUAL) != 0) {
		pthread_mutex_destroy(&ov->lock);
		bfree(ov);
		return NULL;
	}
	if (have_text) {
		for (int i = 0; i < TEXT_COUNT; i++)
			ov->text[i] = obs_source_create_private(
			    TEXT_SOURCE_ID, "live-shop text", NULL);
		for (int i = 0; i < NDIGITS; i++)
			ov->digit[i] = obs_source_create_private(
			    TEXT_SOURCE_ID, "live-shop digit", NULL);
	} else {
		ls_log(LOG_WARNING,
		       "the text source '%s' (text-freetype2) is missing: "
		       "the overlay draws no text",
		       TEXT_SOURCE_ID);
	}
	overlay_update(ov, settings);
	ov->worker_started =
	    pthread_create(&ov->worker, NULL, overlay_worker, ov) == 0;
	if (!ov->worker_started) {
		ls_log(LOG_ERROR, "could not start the overlay's worker");
		overlay_destroy(ov);
		return NULL;
	}
	return ov;
}

static uint32_t overlay_get_width(void *data)
{
	struct overlay *ov = data;
	return ov->width;
}

static uint32_t overlay_get_height(void *data)
{
	struct overlay *ov = data;
	return ov->height;
}

static void overlay_defaults(obs_data_t *settings)
{
	obs_data_t *font = obs_data_create();
	obs_data_t *countdown_font = obs_data_create();

	obs_data_set_string(font, "face", "DejaVu Sans");
	obs_data_set_string(font, "style", "Book");
	obs_data_set_int(font, "size", 36);
	obs_data_set_int(font, "flags", 0);
	obs_data_set_default_obj(settings, "font", font);
	obs_data_set_string(countdown_font, "face", "DejaVu Sans Mono");
	obs_data_set_string(countdown_font, "style", "Bold");
	obs_data_set_int(countdown_font, "size", 48);
	obs_data_set_int(countdown_font, "flags", OBS_FONT_BOLD);
	obs_data_set_default_obj(settings, "countdown_font", countdown_font);
	obs_data_release(font);
	obs_data_release(countdown_font);

	/* OBS colours are 0xAABBGGRR */
	obs_data_set_default_int(settings, "text_color", 0xFFFFFFFF);
	obs_data_set_default_int(settings, "card_color", 0xD8201A14);
	obs_data_set_default_int(settings, "accent_color", 0xFF2020C8);
	obs_data_set_default_int(settings, "width", 1920);
	obs_data_set_default_int(settings, "height", 1080);
	obs_data_set_default_int(settings, "card_width", 560);
	obs_data_set_default_int(settings, "margin", 48);
	obs_data_set_default_int(settings, "corner", CORNER_BOTTOM_LEFT);
	obs_data_set_default_bool(settings, "show_disclosure", true);
}

static obs_properties_t *overlay_properties(void *data)
{
	obs_properties_t *props = obs_properties_create();
	obs_property_t *p;

	(void)data;
	obs_properties_add_font(props, "font", obs_module_text("Overlay.Font"));
	obs_properties_add_font(props, "countdown_font",
				obs_module_text("Overlay.CountdownFont"));
	obs_properties_add_color(props, "text_color",
				 obs_module_text("Overlay.TextColor"));
	obs_properties_add_color_alpha(props, "card_color",
				       obs_module_text("Overlay.CardColor"));
	obs_properties_add_color_alpha(props, "accent_color",
				       obs_module_text("Overlay.AccentColor"));
	obs_properties_add_int(props, "width", obs_module_text("Overlay.Width"),
			       64, 8192, 1);
	obs_properties_add_int(props, "height",
			       obs_module_text("Overlay.Height"), 64, 8192, 1);
	obs_properties_add_int(props, "card_width",
			       obs_module_text("Overlay.CardWidth"), 160, 4096,
			       1);
	obs_properties_add_int(props, "margin",
			       obs_module_text("Overlay.Margin"), 0, 1024, 1);
	p = obs_properties_add_list(props, "corner",
				    obs_module_text("Overlay.Corner"),
				    OBS_COMBO_TYPE_LIST, OBS_COMBO_FORMAT_INT);
	obs_property_list_add_int(p, obs_module_text("Overlay.Corner.TopLeft"),
				  CORNER_TOP_LEFT);
	obs_property_list_add_int(p, obs_module_text("Overlay.Corner.TopRight"),
				  CORNER_TOP_RIGHT);
	obs_property_list_add_int(p,
				  obs_module_text("Overlay.Corner.BottomLeft"),
				  CORNER_BOTTOM_LEFT);
	obs_property_list_add_int(p,
				  obs_module_text("Overlay.Corner.BottomRight"),
				  CORNER_BOTTOM_RIGHT);
	p = obs_properties_add_bool(props, "show_disclosure",
				    obs_module_text("Overlay.ShowDisclosure"));
	obs_property_set_long_description(
	    p, obs_module_text("Overlay.ShowDisclosure.Description"));
	return props;
}

struct obs_source_info live_shop_overlay_info = {
    .id = "live_shop_overlay",
    .type = OBS_SOURCE_TYPE_INPUT,
    .output_flags = OBS_SOURCE_VIDEO | OBS_SOURCE_CUSTOM_DRAW,
    .get_name = overlay_get_name,
    .create = overlay_create,
    .destroy = overlay_destroy,
    .update = overlay_update,
    .get_defaults = overlay_defaults,
    .get_properties = overlay_properties,
    .get_width = overlay_get_width,
    .get_height = overlay_get_height,
    .video_render = overlay_render,
    .icon_type = OBS_ICON_TYPE_TEXT,
};
