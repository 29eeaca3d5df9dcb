/*
 * The "Live Shop Overlay" source (live_shop_overlay): the pinned product
 * card (title, price, struck-through anchor price, stock left), the
 * countdown mm:ss, the disclosure label, the pinned viewer question with
 * its answer, and the running poll's bars (SPEC §15), stacked in one
 * corner of a canvas-sized source. Nothing is drawn while nothing is
 * live.
 *
 * Viewer text is drawn as glyphs, never interpreted: it is cleaned once
 * more (controls, bidi overrides), broken into lines at spaces or, in a
 * run too long for a line, between characters (never inside one), and
 * cut with "…" after a few lines, so a card never outgrows the screen.
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
 *
 * Scan to buy (SPEC §16): beside the card, a QR code of the pinned
 * offer's buy URL for the link's stream (lshop_offer_buy_url, source
 * "qr"). The worker encodes it (libqrencode) only when the URL or the
 * quiet zone changes and publishes one pixel per module with the scene;
 * the graphics thread makes the texture from it when that serial moves
 * and otherwise only draws it, scaled by a whole number of pixels with
 * point sampling, so every module keeps sharp edges.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <graphics/vec4.h>
#include <obs-module.h>
#include <util/platform.h>
#include <util/threading.h>

#include <lshop/interaction.h>
#include <lshop/offer.h>

#include <qrencode.h>

#include "plugin.h"

#define TEXT_SOURCE_ID "text_ft2_source_v2"
#define POLL_MS        20
#define NDIGITS        11 /* "0".."9", then ":" */
#define COLON          10
#define TEXT_MAX       (LSHOP_QUESTION_MAX + 64) /* + line breaks, "…" */
/* a poll's final counts stay this long after it ended */
#define POLL_RESULT_MS 15000
/* the poll's time left: the countdown's digits at this scale */
#define POLL_DIGIT_SCALE 0.5f
/* QR code: version 40 is 177 modules wide, plus the widest quiet zone */
#define QR_QUIET_MIN 2 /* ISO/IEC 18004 asks for 4 */
#define QR_QUIET_MAX 8
#define QR_SIDE_MAX  (177 + 2 * QR_QUIET_MAX)

enum text_slot {
	TEXT_TITLE,
	TEXT_PRICE,
	TEXT_COMPARE,
	TEXT_STOCK,
	TEXT_LABEL,
	TEXT_DISCLOSURE,
	/* made when first needed: a text source holds a glyph atlas */
	TEXT_Q_NAME,
	TEXT_Q_TEXT,
	TEXT_Q_ANSWER,
	TEXT_POLL_QUESTION,
	TEXT_POLL_OPTION, /* 4 of them */
	TEXT_POLL_COUNT = TEXT_POLL_OPTION + LSHOP_POLL_OPTIONS_MAX,
	TEXT_POLL_STATUS = TEXT_POLL_COUNT + LSHOP_POLL_OPTIONS_MAX,
	TEXT_COUNT,
};

/* each text's size, relative to the font's */
static const double text_scale[TEXT_COUNT] = {
    [TEXT_TITLE] = 1.0,
    [TEXT_PRICE] = 1.0,
    [TEXT_COMPARE] = 0.75,
    [TEXT_STOCK] = 0.7,
    [TEXT_LABEL] = 0.7,
    [TEXT_DISCLOSURE] = 0.7,
    [TEXT_Q_NAME] = 0.65,
    [TEXT_Q_TEXT] = 0.8,
    [TEXT_Q_ANSWER] = 0.8,
    [TEXT_POLL_QUESTION] = 0.8,
    [TEXT_POLL_OPTION] = 0.65,
    [TEXT_POLL_OPTION + 1] = 0.65,
    [TEXT_POLL_OPTION + 2] = 0.65,
    [TEXT_POLL_OPTION + 3] = 0.65,
    [TEXT_POLL_COUNT] = 0.65,
    [TEXT_POLL_COUNT + 1] = 0.65,
    [TEXT_POLL_COUNT + 2] = 0.65,
    [TEXT_POLL_COUNT + 3] = 0.65,
    [TEXT_POLL_STATUS] = 0.6,
};

/* lines a viewer text may take on the overlay before it is cut */
static const int text_lines[TEXT_COUNT] = {
    [TEXT_Q_NAME] = 1,          [TEXT_Q_TEXT] = 4,
    [TEXT_Q_ANSWER] = 3,        [TEXT_POLL_QUESTION] = 2,
    [TEXT_POLL_OPTION] = 1,     [TEXT_POLL_OPTION + 1] = 1,
    [TEXT_POLL_OPTION + 2] = 1, [TEXT_POLL_OPTION + 3] = 1,
};

enum corner {
	CORNER_TOP_LEFT,
	CORNER_TOP_RIGHT,
	CORNER_BOTTOM_LEFT,
	CORNER_BOTTOM_RIGHT,
};

/* Where the QR code goes: beside the card, on its side toward the
 * canvas's middle, or in a corner of the canvas. */
enum qr_position {
	QR_BESIDE_CARD,
	QR_TOP_LEFT,
	QR_TOP_RIGHT,
	QR_BOTTOM_LEFT,
	QR_BOTTOM_RIGHT,
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
	uint32_t question_color;
	uint32_t poll_color;
	uint32_t width;
	uint32_t height;
	uint32_t card_width;
	uint32_t margin;
	int corner;
	bool show_disclosure;
	bool qr;
	uint32_t qr_size;  /* px: the code with its quiet zone, at most */
	uint32_t qr_quiet; /* modules */
	int qr_position;
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
	/* SPEC §15 */
	bool question;
	bool question_name;
	bool question_answer;
	bool poll;
	int poll_options;
	float poll_share[LSHOP_POLL_OPTIONS_MAX]; /* 0..1 of the votes */
	int64_t poll_ends_at_ms;
	int64_t poll_ended_at_ms; /* 0 while it runs */
	float font_size;
	uint32_t text_color;
	uint32_t card_color;
	uint32_t accent_color;
	uint32_t question_color;
	uint32_t poll_color;
	uint32_t width;
	uint32_t height;
	uint32_t card_width;
	uint32_t margin;
	int corner;
	bool qr; /* the published QR code is the pinned offer's */
	uint32_t qr_size;
	int qr_position;
};

struct overlay {
	obs_source_t *self;
	bool have_text; /* text-freetype2 is there */
	obs_source_t *text[TEXT_COUNT];
	obs_source_t *digit[NDIGITS];

	pthread_mutex_t lock; /* guards the fields down to qr_pixels */
	struct style style_next;
	uint64_t style_serial;
	struct scene published;
	uint64_t published_serial;
	/* the QR code, one RGBA pixel per module with its quiet zone:
	 * qr_side² of them (0: none) */
	uint64_t qr_serial;
	uint32_t qr_side;
	uint32_t qr_pixels[QR_SIDE_MAX * QR_SIDE_MAX];

	/* the worker's own */
	pthread_t worker;
	bool worker_started;
	os_event_t *stop;
	struct style style;
	uint64_t style_applied;
	uint64_t generation_applied;
	shop_view view;
	char last_text[TEXT_COUNT][TEXT_MAX];
	char fitted[TEXT_MAX];
	char qr_url[LSHOP_BUY_URL_MAX]; /* encoded; "" for no code */
	uint32_t qr_quiet;
	bool qr_encoded;
	char qr_refused[LSHOP_ID_MAX + 1]; /* the offer said to have none */

	/* the graphics thread's own */
	struct scene drawn;
	uint64_t drawn_serial;
	gs_texture_t *qr_texture;
	gs_samplerstate_t *qr_sampler;
	uint32_t qr_texture_side;
	uint64_t qr_drawn_serial;

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
	s->question_color =
	    (uint32_t)obs_data_get_int(settings, "question_color");
	s->poll_color = (uint32_t)obs_data_get_int(settings, "poll_color");
	s->width = (uint32_t)obs_data_get_int(settings, "width");
	s->height = (uint32_t)obs_data_get_int(settings, "height");
	s->card_width = (uint32_t)obs_data_get_int(settings, "card_width");
	s->margin = (uint32_t)obs_data_get_int(settings, "margin");
	s->corner = (int)obs_data_get_int(settings, "corner");
	s->show_disclosure = obs_data_get_bool(settings, "show_disclosure");
	s->qr = obs_data_get_bool(settings, "qr");
	s->qr_size = (uint32_t)obs_data_get_int(settings, "qr_size");
	s->qr_quiet = (uint32_t)obs_data_get_int(settings, "qr_quiet");
	if (s->qr_quiet < QR_QUIET_MIN)
		s->qr_quiet = QR_QUIET_MIN;
	if (s->qr_quiet > QR_QUIET_MAX)
		s->qr_quiet = QR_QUIET_MAX;
	s->qr_position = (int)obs_data_get_int(settings, "qr_position");
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

/* The code point at s (valid UTF-8: the text is cleaned) and its
 * length in bytes. */
static uint32_t next_cp(const unsigned char *s, size_t *len)
{
	if (s[0] < 0x80) {
		*len = 1;
		return s[0];
	}
	if ((s[0] & 0xE0) == 0xC0) {
		*len = 2;
		return ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
	}
	if ((s[0] & 0xF0) == 0xE0) {
		*len = 3;
		return ((uint32_t)(s[0] & 0x0F) << 12) |
		       ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
	}
	*len = 4;
	return ((uint32_t)(s[0] & 0x07) << 18) |
	       ((uint32_t)(s[1] & 0x3F) << 12) |
	       ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
}

/* Marks that belong to the character before them (combining marks, the
 * zero-width joiner, variation selectors, skin tones, tags): a line is
 * never broken before one, and they take no room. */
static bool joins(uint32_t cp)
{
	return (cp >= 0x0300 && cp <= 0x036F) || cp == 0x200D ||
	       (cp >= 0xFE00 && cp <= 0xFE0F) ||
	       (cp >= 0x1F3FB && cp <= 0x1F3FF) ||
	       (cp >= 0xE0020 && cp <= 0xE007F) ||
	       (cp >= 0x1AB0 && cp <= 0x1AFF) || (cp >= 0x20D0 && cp <= 0x20FF);
}

/* East Asian and emoji characters take about two columns. */
static int columns(uint32_t cp)
{
	return cp >= 0x1100 && !(cp >= 0x2000 && cp < 0x2E80) ? 2 : 1;
}

/*
 * Viewer text as the overlay draws it, into out (TEXT_MAX bytes):
 * cleaned again (it may come from a server older than the rule), broken
 * into lines of about per_line columns at the last space or, in a
 * longer run, between two characters, and cut with "…" when more than
 * max_lines would be needed. Never splits a UTF-8 sequence.
 */
static void fit_text(const char *in, int per_line, int max_lines, char *out)
{
	char clean[TEXT_MAX];
	size_t n = 0, i = 0, len, space = SIZE_MAX;
	int col = 0, col_space = 0, lines = 1, w;
	uint32_t cp;

	if (lshop_viewer_text_clean(in, strnlen(in, LSHOP_QUESTION_MAX), clean,
				    sizeof(clean)) < 0) {
		strcpy(out, "?");
		return;
	}
	if (per_line < 4)
		per_line = 4;
	while (clean[i]) {
		cp = next_cp((const unsigned char *)clean + i, &len);
		w = joins(cp) ? 0 : columns(cp);
		if (w > 0 && col + w > per_line) {
			if (lines >= max_lines) {
				/* no room for another line: cut, at the last
				 * space if the line has one */
				size_t cut = space != SIZE_MAX ? space : n;

				while (cut > 0 && out[cut - 1] == ' ')
					cut--;
				memcpy(out + cut, "\xE2\x80\xA6", 4);
				return;
			}
			if (space != SIZE_MAX) {
				out[space] = '\n';
				col -= col_space;
			} else {
				out[n++] = '\n';
				col = 0;
			}
			space = SIZE_MAX;
			lines++;
		}
		memcpy(out + n, clean + i, len);
		n += len;
		i += len;
		col += w;
		if (cp == ' ') {
			space = n - 1;
			col_space = col;
		}
	}
	out[n] = '\0';
}

/* mark ("%1", "%2") in a locale string is s (one pass: a mark in s
 * stays as it is). */
static void format_text(char *out, size_t size, const char *format,
			const char *mark, const char *s)
{
	const char *at = strstr(format, mark);

	if (!at) {
		snprintf(out, size, "%s", format);
		return;
	}
	snprintf(out, size, "%.*s%s%s", (int)(at - format), format, s, at + 2);
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

/* The width a text slot wraps at: the card's inside, the option's part
 * of a poll row. */
static uint32_t wrap_of(const struct style *st, int slot)
{
	uint32_t pad = (uint32_t)(st->font.size * 0.5);
	uint32_t inner =
	    st->card_width > 2 * pad + 100 ? st->card_width - 2 * pad : 100;

	if (slot >= TEXT_POLL_OPTION && slot < TEXT_POLL_COUNT)
		return inner * 7 / 10;
	if (slot == TEXT_TITLE || text_lines[slot] > 0)
		return inner;
	return 0;
}

/*
 * The question's and the poll's text sources, made the first time one is
 * shown (by this worker; the graphics thread reads a slot only once a
 * scene that shows it is published, under the lock, after this).
 */
static void need_texts(struct overlay *ov, int first, int end)
{
	for (int i = first; i < end; i++)
		if (ov->have_text && !ov->text[i])
			ov->text[i] = obs_source_create_private(
			    TEXT_SOURCE_ID, "live-shop text", NULL);
}

/* Viewer text into a slot: fitted to its lines first. */
static void update_viewer_text(struct overlay *ov, enum text_slot slot,
			       const char *text, bool restyle)
{
	const struct style *st = &ov->style;
	double px = (double)st->font.size * text_scale[slot];
	int per_line = (int)((double)wrap_of(st, slot) / (px * 0.6));

	fit_text(text, per_line, text_lines[slot], ov->fitted);
	update_text(ov, slot, ov->fitted, st->text_color, wrap_of(st, slot),
		    restyle);
}

/* The question card and the poll of v into sc. */
static void apply_interaction(struct overlay *ov, const shop_view *v,
			      struct scene *sc, bool restyle)
{
	const struct style *st = &ov->style;
	char buf[TEXT_MAX], pct[16];
	int64_t total = 0;
	int i;

	sc->question = v->question_pinned;
	if (sc->question) {
		need_texts(ov, TEXT_Q_NAME, TEXT_POLL_QUESTION);
		sc->question_name = true;
		if (v->question.name[0]) {
			/* the name fitted first: the locale's words stay */
			fit_text(v->question.name, LSHOP_VIEWER_NAME_CHARS, 1,
				 ov->fitted);
			format_text(buf, sizeof(buf),
				    obs_module_text("Question.From"), "%1",
				    ov->fitted);
		} else {
			snprintf(buf, sizeof(buf), "%s",
				 obs_module_text("Question.Anonymous"));
		}
		update_viewer_text(ov, TEXT_Q_NAME, buf, restyle);
		update_viewer_text(ov, TEXT_Q_TEXT, v->question.text, restyle);
		sc->question_answer = v->question.answer[0] != '\0';
		if (sc->question_answer)
			update_viewer_text(ov, TEXT_Q_ANSWER,
					   v->question.answer, restyle);
	}
	sc->poll = v->poll_shown && v->poll.options_n >= 2 &&
		   v->poll.options_n <= LSHOP_POLL_OPTIONS_MAX;
	if (!sc->poll)
		return;
	need_texts(ov, TEXT_POLL_QUESTION, TEXT_COUNT);
	update_viewer_text(ov, TEXT_POLL_QUESTION, v->poll.question, restyle);
	for (i = 0; i < v->poll.options_n; i++)
		total += v->poll.counts[i];
	sc->poll_options = v->poll.options_n;
	for (i = 0; i < v->poll.options_n; i++) {
		int64_t n = v->poll.counts[i];
		int64_t p = total > 0 ? (n * 100 + total / 2) / total : 0;

		sc->poll_share[i] = total > 0 ? (float)n / (float)total : 0.0f;
		update_viewer_text(ov, TEXT_POLL_OPTION + i, v->poll.options[i],
				   restyle);
		snprintf(pct, sizeof(pct), "%lld", (long long)p);
		format_count(buf, sizeof(buf), obs_module_text("Poll.Count"),
			     n);
		/* "%1" the votes, "%2" the percent */
		format_text(ov->fitted, sizeof(ov->fitted), buf, "%2", pct);
		update_text(ov, TEXT_POLL_COUNT + i, ov->fitted, st->text_color,
			    0, restyle);
	}
	format_count(
	    buf, sizeof(buf),
	    obs_module_text(v->poll_ended_at_ms ? "Poll.Final" : "Poll.Votes"),
	    v->poll_votes > total ? v->poll_votes : total);
	update_text(ov, TEXT_POLL_STATUS, buf, st->text_color, 0, restyle);
	sc->poll_ends_at_ms = v->poll.ends_at_ms;
	sc->poll_ended_at_ms = v->poll_ended_at_ms;
}

/*
 * SPEC §16: the QR code of the pinned offer's buy URL, encoded only when
 * that URL or the quiet zone changed (*changed); NULL for no code (none
 * pinned, "qr" off, no URL the rule accepts) or the same one as before.
 * The caller frees it.
 */
static QRcode *encode_qr(struct overlay *ov, const shop_view *v, bool *changed)
{
	const struct style *st = &ov->style;
	char url[LSHOP_BUY_URL_MAX];
	QRcode *qr;

	url[0] = '\0';
	if (v->pinned && st->qr &&
	    lshop_offer_buy_url(&v->offer, v->stream, LSHOP_SOURCE_QR, url,
				sizeof(url)) < 0) {
		url[0] = '\0';
		/* said once per pin, not at every change of the view */
		if (strcmp(ov->qr_refused, v->offer.id) != 0)
			ls_log(LOG_INFO,
			       "offer %s has no buy URL for stream \"%s\" "
			       "(SPEC §16): no QR code",
			       v->offer.id, v->stream);
		snprintf(ov->qr_refused, sizeof(ov->qr_refused), "%s",
			 v->offer.id);
	} else {
		ov->qr_refused[0] = '\0';
	}
	*changed = strcmp(url, ov->qr_url) != 0 || st->qr_quiet != ov->qr_quiet;
	if (!*changed)
		return NULL;
	snprintf(ov->qr_url, sizeof(ov->qr_url), "%s", url);
	ov->qr_quiet = st->qr_quiet;
	ov->qr_encoded = false;
	if (!url[0])
		return NULL;
	/* level M: 15% of the code may be lost to compression or a bad
	 * camera; 8-bit mode keeps the URL's bytes as they are */
	qr = QRcode_encodeString(url, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!qr || qr->width + 2 * (int)st->qr_quiet > QR_SIDE_MAX) {
		ls_log(LOG_WARNING, "offer %s: no QR code for its buy URL (%s)",
		       v->offer.id, qr ? "too long" : strerror(errno));
		if (qr)
			QRcode_free(qr);
		return NULL;
	}
	ov->qr_encoded = true;
	return qr;
}

/* qr (NULL: none) as the graphics thread makes its texture: dark
 * modules black, the rest and the quiet zone white. Under the lock. */
static void publish_qr(struct overlay *ov, const QRcode *qr)
{
	int quiet = (int)ov->qr_quiet;
	int side = qr ? qr->width + 2 * quiet : 0;

	for (int y = 0; y < side; y++)
		for (int x = 0; x < side; x++) {
			int mx = x - quiet, my = y - quiet;
			bool dark = mx >= 0 && my >= 0 && mx < qr->width &&
				    my < qr->width &&
				    (qr->data[my * qr->width + mx] & 1);

			/* GS_RGBA: R, G, B, A in memory */
			ov->qr_pixels[y * side + x] =
			    dark ? 0xFF000000u : 0xFFFFFFFFu;
		}
	ov->qr_side = (uint32_t)side;
	ov->qr_serial++;
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
	bool qr_changed;
	QRcode *qr;

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
				 st->text_color, wrap_of(st, i));
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

	apply_interaction(ov, v, &sc, restyle);

	sc.font_size = (float)st->font.size;
	sc.text_color = st->text_color;
	sc.card_color = st->card_color;
	sc.accent_color = st->accent_color;
	sc.question_color = st->question_color;
	sc.poll_color = st->poll_color;
	sc.width = st->width;
	sc.height = st->height;
	sc.card_width = st->card_width;
	sc.margin = st->margin;
	sc.corner = st->corner;
	qr = encode_qr(ov, v, &qr_changed);
	sc.qr = ov->qr_encoded;
	sc.qr_size = st->qr_size;
	sc.qr_position = st->qr_position;

	pthread_mutex_lock(&ov->lock);
	ov->published = sc;
	ov->published_serial++;
	if (qr_changed)
		publish_qr(ov, qr);
	pthread_mutex_unlock(&ov->lock);
	if (qr)
		QRcode_free(qr);
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

/* src drawn at (x, y) at scale (the poll's time left: small digits). */
static void draw_source_scaled(obs_source_t *src, float x, float y, float scale)
{
	if (!src)
		return;
	gs_matrix_push();
	gs_matrix_translate3f(x, y, 0.0f);
	gs_matrix_scale3f(scale, scale, 1.0f);
	obs_source_video_render(src);
	gs_matrix_pop();
}

/* The heights of what the frame shows, laid out from the text sources. */
struct layout {
	float pad, gap;
	float title_h, price_h, stock_h, cd_h, digit_w, digit_h;
	float card_h, badge_w, badge_h;
	float name_h, q_h, answer_h, question_h;
	float pq_h, row_h[LSHOP_POLL_OPTIONS_MAX], bar_h, status_h, poll_h;
	bool poll;
};

static void lay_out(struct overlay *ov, const struct scene *sc,
		    struct layout *l)
{
	float pad = l->pad, gap = l->gap;

	l->title_h = sc->card ? height_of(ov->text[TEXT_TITLE]) : 0.0f;
	l->price_h =
	    sc->card
		? maxf(height_of(ov->text[TEXT_PRICE]),
		       sc->compare ? height_of(ov->text[TEXT_COMPARE]) : 0.0f)
		: 0.0f;
	l->stock_h =
	    sc->card && sc->stock ? height_of(ov->text[TEXT_STOCK]) : 0.0f;
	l->digit_w = l->digit_h = 0.0f;
	if (sc->countdown || l->poll)
		for (int i = 0; i < 10; i++) {
			l->digit_w = maxf(l->digit_w, width_of(ov->digit[i]));
			l->digit_h = maxf(l->digit_h, height_of(ov->digit[i]));
		}
	l->cd_h = sc->countdown
		      ? maxf(l->digit_h,
			     sc->label ? height_of(ov->text[TEXT_LABEL]) : 0.0f)
		      : 0.0f;
	l->card_h = 0.0f;
	if (sc->card) {
		l->card_h = pad + l->title_h + gap + l->price_h;
		if (sc->stock)
			l->card_h += gap + l->stock_h;
		if (sc->countdown)
			l->card_h += gap + l->cd_h;
		l->card_h += pad;
	} else if (sc->countdown) {
		l->card_h = pad + l->cd_h + pad;
	}
	l->badge_w = l->badge_h = 0.0f;
	if (sc->disclosure) {
		l->badge_w = width_of(ov->text[TEXT_DISCLOSURE]) + 2.0f * pad;
		l->badge_h = height_of(ov->text[TEXT_DISCLOSURE]) + pad;
	}
	l->question_h = 0.0f;
	if (sc->question) {
		l->name_h = height_of(ov->text[TEXT_Q_NAME]);
		l->q_h = height_of(ov->text[TEXT_Q_TEXT]);
		l->answer_h = sc->question_answer
				  ? height_of(ov->text[TEXT_Q_ANSWER])
				  : 0.0f;
		l->question_h = pad + l->name_h + gap + l->q_h + pad;
		if (sc->question_answer)
			l->question_h += 2.0f * gap + l->answer_h;
	}
	l->poll_h = 0.0f;
	if (l->poll) {
		l->pq_h = height_of(ov->text[TEXT_POLL_QUESTION]);
		l->bar_h = maxf(4.0f, sc->font_size * 0.3f);
		l->status_h =
		    maxf(height_of(ov->text[TEXT_POLL_STATUS]),
			 sc->poll_ended_at_ms ? 0.0f
					      : l->digit_h * POLL_DIGIT_SCALE);
		l->poll_h = pad + l->pq_h;
		for (int i = 0; i < sc->poll_options; i++) {
			l->row_h[i] =
			    maxf(height_of(ov->text[TEXT_POLL_OPTION + i]),
				 height_of(ov->text[TEXT_POLL_COUNT + i]));
			l->poll_h += gap + l->row_h[i] + gap * 0.5f + l->bar_h;
		}
		l->poll_h += gap + l->status_h + pad;
	}
}

/* mm:ss digits from x, bottoms on y + h, at scale; returns the end x. */
static float draw_time(struct overlay *ov, const int *chars, int n,
		       float digit_w, float digit_h, float x, float y, float h,
		       float scale)
{
	for (int i = 0; i < n; i++) {
		obs_source_t *d = ov->digit[chars[i]];
		float w = chars[i] == COLON ? width_of(d) : digit_w;

		/* digits centred in equal cells: mm:ss never jitters */
		draw_source_scaled(d, x + (w - width_of(d)) * 0.5f * scale,
				   y + h - digit_h * scale, scale);
		x += w * scale;
	}
	return x;
}

static void draw_card(struct overlay *ov, const struct scene *sc,
		      const struct layout *l, float x0, float y)
{
	float pad = l->pad, gap = l->gap, card_w = (float)sc->card_width;
	int chars[8], nchars = 0;

	draw_rect(x0, y, card_w, l->card_h, sc->card_color);
	y += pad;
	if (sc->card) {
		float price_w = width_of(ov->text[TEXT_PRICE]);

		draw_source(ov->text[TEXT_TITLE], x0 + pad, y);
		y += l->title_h + gap;
		draw_source(ov->text[TEXT_PRICE], x0 + pad, y);
		if (sc->compare) {
			float cx = x0 + pad + price_w + pad;
			float ch = height_of(ov->text[TEXT_COMPARE]);
			float cw = width_of(ov->text[TEXT_COMPARE]);
			float line = maxf(2.0f, sc->font_size / 16.0f);
			float cy = y + l->price_h - ch;

			draw_source(ov->text[TEXT_COMPARE], cx, cy);
			draw_rect(cx, cy + ch * 0.55f - line * 0.5f, cw, line,
				  sc->text_color);
		}
		y += l->price_h;
		if (sc->stock) {
			y += gap;
			draw_source(ov->text[TEXT_STOCK], x0 + pad, y);
			y += l->stock_h;
		}
		if (sc->countdown)
			y += gap;
	}
	if (sc->countdown) {
		float x = x0 + pad;

		nchars = countdown_chars(sc->ends_at_ms, chars);
		if (sc->label) {
			draw_source(ov->text[TEXT_LABEL], x,
				    y + l->cd_h -
					height_of(ov->text[TEXT_LABEL]));
			x += width_of(ov->text[TEXT_LABEL]) + pad;
		}
		draw_time(ov, chars, nchars, l->digit_w, l->digit_h, x, y,
			  l->cd_h, 1.0f);
	}
}

static void draw_question(struct overlay *ov, const struct scene *sc,
			  const struct layout *l, float x0, float y)
{
	float pad = l->pad, gap = l->gap, card_w = (float)sc->card_width;
	float line = maxf(2.0f, sc->font_size / 16.0f);

	draw_rect(x0, y, card_w, l->question_h, sc->question_color);
	/* the accent on its edge tells the viewer's card from the shop's */
	draw_rect(x0, y, line * 2.0f, l->question_h, sc->accent_color);
	y += pad;
	draw_source(ov->text[TEXT_Q_NAME], x0 + pad, y);
	y += l->name_h + gap;
	draw_source(ov->text[TEXT_Q_TEXT], x0 + pad, y);
	y += l->q_h;
	if (sc->question_answer) {
		y += gap;
		draw_rect(x0 + pad, y - line * 0.5f, card_w - 2.0f * pad, line,
			  sc->text_color);
		y += gap;
		draw_source(ov->text[TEXT_Q_ANSWER], x0 + pad, y);
	}
}

static void draw_poll(struct overlay *ov, const struct scene *sc,
		      const struct layout *l, float x0, float y)
{
	float pad = l->pad, gap = l->gap, card_w = (float)sc->card_width;
	float inner = card_w - 2.0f * pad;
	int chars[8], nchars;

	draw_rect(x0, y, card_w, l->poll_h, sc->card_color);
	y += pad;
	draw_source(ov->text[TEXT_POLL_QUESTION], x0 + pad, y);
	y += l->pq_h;
	for (int i = 0; i < sc->poll_options; i++) {
		obs_source_t *count = ov->text[TEXT_POLL_COUNT + i];

		y += gap;
		draw_source(ov->text[TEXT_POLL_OPTION + i], x0 + pad, y);
		draw_source(count, x0 + pad + inner - width_of(count), y);
		y += l->row_h[i] + gap * 0.5f;
		/* the track, then the option's share of the votes */
		draw_rect(x0 + pad, y, inner, l->bar_h,
			  (sc->text_color & 0x00FFFFFF) | 0x40000000);
		draw_rect(x0 + pad, y, inner * sc->poll_share[i], l->bar_h,
			  sc->poll_color);
		y += l->bar_h;
	}
	y += gap;
	draw_source(ov->text[TEXT_POLL_STATUS], x0 + pad,
		    y + l->status_h - height_of(ov->text[TEXT_POLL_STATUS]));
	if (!sc->poll_ended_at_ms) {
		float w = 0.0f;

		nchars = countdown_chars(sc->poll_ends_at_ms, chars);
		for (int i = 0; i < nchars; i++)
			w += chars[i] == COLON ? width_of(ov->digit[COLON])
					       : l->digit_w;
		draw_time(ov, chars, nchars, l->digit_w, l->digit_h,
			  x0 + pad + inner - w * POLL_DIGIT_SCALE, y,
			  l->status_h, POLL_DIGIT_SCALE);
	}
}

/* The published QR code as a texture (under the lock, when it changed). */
static void make_qr_texture(struct overlay *ov)
{
	const uint8_t *pixels = (const uint8_t *)ov->qr_pixels;

	gs_texture_destroy(ov->qr_texture);
	ov->qr_texture = NULL;
	ov->qr_texture_side = ov->qr_side;
	if (!ov->qr_side)
		return;
	if (!ov->qr_sampler) {
		struct gs_sampler_info info = {
		    .filter = GS_FILTER_POINT,
		    .address_u = GS_ADDRESS_CLAMP,
		    .address_v = GS_ADDRESS_CLAMP,
		    .address_w = GS_ADDRESS_CLAMP,
		    .max_anisotropy = 1,
		};

		ov->qr_sampler = gs_samplerstate_create(&info);
	}
	ov->qr_texture =
	    gs_texture_create(ov->qr_side, ov->qr_side, GS_RGBA, 1, &pixels, 0);
}

/*
 * The QR code beside the card at (card_x, card_y): a whole number of
 * pixels per module, the largest that fits qr_size. Beside, it takes the
 * card's side toward the canvas's middle and lines up with the card's
 * edge toward the corner.
 */
static void draw_qr(struct overlay *ov, const struct scene *sc,
		    const struct layout *l, float card_x, float card_y)
{
	gs_effect_t *effect = obs_get_base_effect(OBS_EFFECT_DEFAULT);
	gs_eparam_t *image = gs_effect_get_param_by_name(effect, "image");
	gs_technique_t *tech = gs_effect_get_technique(effect, "Draw");
	uint32_t side = ov->qr_texture_side;
	uint32_t module = side && sc->qr_size > side ? sc->qr_size / side : 1;
	float size = (float)(module * side), x, y;
	bool left, top;

	if (sc->qr_position == QR_BESIDE_CARD) {
		left = sc->corner == CORNER_TOP_LEFT ||
		       sc->corner == CORNER_BOTTOM_LEFT;
		top = sc->corner == CORNER_TOP_LEFT ||
		      sc->corner == CORNER_TOP_RIGHT;
		x = left ? card_x + (float)sc->card_width + l->gap
			 : card_x - l->gap - size;
		y = top ? card_y : card_y + l->card_h - size;
		if (y + size > (float)sc->height)
			y = (float)sc->height - size;
		if (y < 0.0f)
			y = 0.0f;
	} else {
		left = sc->qr_position == QR_TOP_LEFT ||
		       sc->qr_position == QR_BOTTOM_LEFT;
		top = sc->qr_position == QR_TOP_LEFT ||
		      sc->qr_position == QR_TOP_RIGHT;
		x = left ? (float)sc->margin
			 : (float)sc->width - (float)sc->margin - size;
		y = top ? (float)sc->margin
			: (float)sc->height - (float)sc->margin - size;
	}

	gs_effect_set_texture(image, ov->qr_texture);
	gs_effect_set_next_sampler(image, ov->qr_sampler);
	gs_technique_begin(tech);
	gs_technique_begin_pass(tech, 0);
	gs_matrix_push();
	gs_matrix_translate3f(x, y, 0.0f);
	gs_draw_sprite(ov->qr_texture, 0, (uint32_t)size, (uint32_t)size);
	gs_matrix_pop();
	gs_technique_end_pass(tech);
	gs_technique_end(tech);
}

static void overlay_render(void *data, gs_effect_t *effect)
{
	struct overlay *ov = data;
	const struct scene *sc = &ov->drawn;
	struct layout l = {0};
	float card_w, block_h = 0.0f, x0, y0, y;
	int parts = 0;

	(void)effect;
	if (pthread_mutex_trylock(&ov->lock) == 0) {
		if (ov->published_serial != ov->drawn_serial) {
			ov->drawn = ov->published;
			ov->drawn_serial = ov->published_serial;
		}
		if (ov->qr_serial != ov->qr_drawn_serial) {
			make_qr_texture(ov);
			ov->qr_drawn_serial = ov->qr_serial;
		}
		pthread_mutex_unlock(&ov->lock);
	}
	/* a poll's final counts stay a while, then go */
	l.poll = sc->poll &&
		 (!sc->poll_ended_at_ms ||
		  live_shop_now_ms() - sc->poll_ended_at_ms < POLL_RESULT_MS);
	if (!sc->card && !sc->countdown && !sc->disclosure && !sc->question &&
	    !l.poll)
		return;

	l.pad = sc->font_size * 0.5f;
	l.gap = sc->font_size * 0.25f;
	card_w = (float)sc->card_width;
	lay_out(ov, sc, &l);
	/* badge, product card, question, poll: one column, gap between */
	{
		const float h[4] = {l.badge_h, l.card_h, l.question_h,
				    l.poll_h};

		for (int i = 0; i < 4; i++)
			if (h[i] > 0.0f) {
				block_h += (parts ? l.gap : 0.0f) + h[i];
				parts++;
			}
	}

	x0 = (float)sc->margin;
	if (sc->corner == CORNER_TOP_RIGHT || sc->corner == CORNER_BOTTOM_RIGHT)
		x0 = (float)sc->width - (float)sc->margin - card_w;
	y0 = (float)sc->margin;
	if (sc->corner == CORNER_BOTTOM_LEFT ||
	    sc->corner == CORNER_BOTTOM_RIGHT)
		y0 = (float)sc->height - (float)sc->margin - block_h;

	y = y0;
	if (l.badge_h > 0.0f) {
		draw_rect(x0, y, l.badge_w, l.badge_h, sc->accent_color);
		draw_source(ov->text[TEXT_DISCLOSURE], x0 + l.pad,
			    y + l.pad * 0.5f);
		y += l.badge_h + l.gap;
	}
	if (l.card_h > 0.0f) {
		draw_card(ov, sc, &l, x0, y);
		if (sc->card && sc->qr && ov->qr_texture)
			draw_qr(ov, sc, &l, x0, y);
		y += l.card_h + l.gap;
	}
	if (l.question_h > 0.0f) {
		draw_question(ov, sc, &l, x0, y);
		y += l.question_h + l.gap;
	}
	if (l.poll_h > 0.0f)
		draw_poll(ov, sc, &l, x0, y);
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
	if (ov->qr_texture || ov->qr_sampler) {
		obs_enter_graphics();
		gs_texture_destroy(ov->qr_texture);
		gs_samplerstate_destroy(ov->qr_sampler);
		obs_leave_graphics();
	}
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
	ov->have_text = have_text;
	if (have_text) {
		for (int i = 0; i < TEXT_Q_NAME; i++)
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
	obs_data_set_default_int(settings, "question_color", 0xD8402A1C);
	obs_data_set_default_int(settings, "poll_color", 0xFF3CC8F0);
	obs_data_set_default_int(settings, "width", 1920);
	obs_data_set_default_int(settings, "height", 1080);
	obs_data_set_default_int(settings, "card_width", 560);
	obs_data_set_default_int(settings, "margin", 48);
	obs_data_set_default_int(settings, "corner", CORNER_BOTTOM_LEFT);
	obs_data_set_default_bool(settings, "show_disclosure", true);
	/* SPEC §16. 240 px at a 1920x1080 canvas: a buy URL of up to about
	 * 150 bytes still gets 4 px per module, 2.7 px at a 720p output */
	obs_data_set_default_bool(settings, "qr", true);
	obs_data_set_default_int(settings, "qr_size", 240);
	obs_data_set_default_int(settings, "qr_position", QR_BESIDE_CARD);
	obs_data_set_default_int(settings, "qr_quiet", 4);
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
	obs_properties_add_color_alpha(
	    props, "question_color", obs_module_text("Overlay.QuestionColor"));
	obs_properties_add_color_alpha(props, "poll_color",
				       obs_module_text("Overlay.PollColor"));
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

	p = obs_properties_add_bool(props, "qr", obs_module_text("Overlay.QR"));
	obs_property_set_long_description(
	    p, obs_module_text("Overlay.QR.Description"));
	p = obs_properties_add_int(
	    props, "qr_size", obs_module_text("Overlay.QRSize"), 64, 2048, 1);
	obs_property_int_set_suffix(p, " px");
	obs_property_set_long_description(
	    p, obs_module_text("Overlay.QRSize.Description"));
	p = obs_properties_add_list(props, "qr_position",
				    obs_module_text("Overlay.QRPosition"),
				    OBS_COMBO_TYPE_LIST, OBS_COMBO_FORMAT_INT);
	obs_property_list_add_int(
	    p, obs_module_text("Overlay.QRPosition.BesideCard"),
	    QR_BESIDE_CARD);
	obs_property_list_add_int(p, obs_module_text("Overlay.Corner.TopLeft"),
				  QR_TOP_LEFT);
	obs_property_list_add_int(p, obs_module_text("Overlay.Corner.TopRight"),
				  QR_TOP_RIGHT);
	obs_property_list_add_int(
	    p, obs_module_text("Overlay.Corner.BottomLeft"), QR_BOTTOM_LEFT);
	obs_property_list_add_int(
	    p, obs_module_text("Overlay.Corner.BottomRight"), QR_BOTTOM_RIGHT);
	p = obs_properties_add_int(props, "qr_quiet",
				   obs_module_text("Overlay.QRQuiet"),
				   QR_QUIET_MIN, QR_QUIET_MAX, 1);
	obs_property_set_long_description(
	    p, obs_module_text("Overlay.QRQuiet.Description"));
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
