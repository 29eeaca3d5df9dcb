/*
 * Fuzz targets of the encoders: a valid event built from fuzz bytes. The
 * free text (title, label, disclosure text) takes the bytes as they are,
 * quotes, CR, LF and control characters included (invalid UTF-8 becomes
 * '?'); the fields with a grammar (ids, stream, url) take bytes mapped
 * onto their alphabet, so that every input gives an event SPEC §3 allows.
 */
#ifndef LSHOP_FUZZ_EVENT_BUILD_H
#define LSHOP_FUZZ_EVENT_BUILD_H

#include "fuzz.h"
#include "lshop/event.h"

#define FUZZ_NOW_MS INT64_C(1795514400000)

static const char fuzz_id_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
static const char *const fuzz_kinds[] = {"ad", "sponsored", "affiliate",
					 "gifted", "own"};

/* 1..max characters of an id's alphabet; never "." or "..". */
static inline void fuzz_id(fuzz_in *in, char *out, size_t max)
{
	size_t n = 1 + fuzz_byte(in) % max, i;

	for (i = 0; i < n; i++)
		out[i] = fuzz_id_chars[fuzz_byte(in) % 64];
	out[n] = '\0';
	if (strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
		out[0] = 'x';
}

/* Free text: the next field, as fuzz_text makes it. */
static inline void fuzz_free_text(fuzz_in *in, char *out, size_t cap,
				  size_t max_chars)
{
	size_t len;
	char *s = fuzz_field(in, &len, 0);

	fuzz_text(out, cap, s, len, max_chars);
	free(s);
}

/* A show's title and host are one line: no C0, DEL or C1 controls. */
static inline void fuzz_no_controls(char *s)
{
	unsigned char *p = (unsigned char *)s;

	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = 'x';
		else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* one character for one: no longer than it was */
			p[0] = 'x';
			memmove(p + 1, p + 2, strlen((char *)p + 2) + 1);
		}
	}
}

/* Viewer text (SPEC §15) of 1..max_chars, clean as a request leaves it. */
static inline void fuzz_viewer_text(fuzz_in *in, char *out, size_t cap,
				    long max_chars, int may_be_empty)
{
	char raw[LSHOP_QUESTION_MAX + 1];

	fuzz_free_text(in, raw, sizeof(raw) < cap ? sizeof(raw) : cap,
		       max_chars);
	if (lshop_viewer_text_clean(raw, strlen(raw), out, cap) < 0)
		out[0] = '\0';
	if (out[0] == '\0' && !may_be_empty)
		strcpy(out, "t");
}

static inline void fuzz_build_event(fuzz_in *in, lshop_event *ev)
{
	char app[LSHOP_STREAM_PART_MAX + 1], name[LSHOP_STREAM_PART_MAX + 1];
	lshop_offer *o = &ev->offer;
	uint8_t flags;
	int opt;

	memset(ev, 0, sizeof(*ev));
	ev->type = (lshop_event_type)(fuzz_byte(in) % LSHOP_EVENT_TYPES);
	flags = fuzz_byte(in);
	ev->seq = 1 + fuzz_u64(in, 4);
	ev->at_ms = FUZZ_NOW_MS + (int64_t)(int32_t)fuzz_u64(in, 4);
	if (flags & 1) {
		fuzz_id(in, app, 16);
		fuzz_id(in, name, LSHOP_STREAM_PART_MAX);
		snprintf(ev->stream, sizeof(ev->stream), "%s/%s", app, name);
	} else {
		strcpy(ev->stream, "live/demo");
	}
	switch (ev->type) {
	case LSHOP_OFFER_PINNED:
		fuzz_id(in, o->id, LSHOP_ID_MAX);
		fuzz_free_text(in, o->title, sizeof(o->title),
			       LSHOP_TITLE_CHARS);
		if (o->title[0] == '\0')
			strcpy(o->title, "t");
		snprintf(o->price, sizeof(o->price), "%u.%02u",
			 (unsigned)(fuzz_u64(in, 4) % 1000000000u),
			 (unsigned)(fuzz_byte(in) % 100));
		if (flags & 2)
			snprintf(o->compare_at, sizeof(o->compare_at),
				 "999999999.9999");
		memcpy(o->currency, flags & 4 ? "JPY" : "EUR", 4);
		o->stock = flags & 8 ? LSHOP_STOCK_UNLIMITED
				     : (int64_t)fuzz_u64(in, 4);
		snprintf(o->url, sizeof(o->url), "https://shop.example/p/");
		fuzz_id(in, o->url + strlen(o->url), 64);
		if (flags & 16) {
			snprintf(o->image, sizeof(o->image),
				 "http://img.example/");
			fuzz_id(in, o->image + strlen(o->image), 64);
		}
		if (flags & 32)
			strcpy(o->disclosure, fuzz_kinds[fuzz_byte(in) % 5]);
		if (flags & 64)
			ev->until_ms = ev->at_ms + 1 + fuzz_u64(in, 3);
		break;
	case LSHOP_COUNTDOWN_STARTED:
		ev->ends_at_ms = ev->at_ms + 1000 * (1 + fuzz_u64(in, 2));
		/* fall through */
	case LSHOP_COUNTDOWN_ENDED:
		fuzz_free_text(in, ev->label, sizeof(ev->label), 60);
		if (flags & 2)
			fuzz_id(in, ev->offer_id, LSHOP_ID_MAX);
		break;
	case LSHOP_DISCLOSURE_SHOWN:
		strcpy(ev->kind, fuzz_kinds[fuzz_byte(in) % 5]);
		fuzz_free_text(in, ev->text, sizeof(ev->text), 60);
		if (flags & 2)
			fuzz_id(in, ev->offer_id, LSHOP_ID_MAX);
		break;
	case LSHOP_DISCLOSURE_HIDDEN:
		strcpy(ev->kind, fuzz_kinds[fuzz_byte(in) % 5]);
		break;
	case LSHOP_STOCK_CHANGED:
		fuzz_id(in, ev->offer_id, LSHOP_ID_MAX);
		ev->stock = flags & 2 ? LSHOP_STOCK_UNLIMITED
				      : (int64_t)fuzz_u64(in, 4);
		break;
	case LSHOP_PURCHASE_COMPLETED:
		fuzz_id(in, ev->offer_id, LSHOP_ID_MAX);
		ev->quantity = 1 + (int64_t)fuzz_u64(in, 3);
		break;
	case LSHOP_SHOW_STARTED:
		/* a broadcast as lshop_show_broadcast makes one */
		fuzz_id(in, ev->show.id, LSHOP_ID_MAX);
		if (flags & 2)
			fuzz_id(in, ev->show.series, LSHOP_SHOW_ID_MAX);
		fuzz_free_text(in, ev->show.title, sizeof(ev->show.title),
			       LSHOP_TITLE_CHARS);
		fuzz_no_controls(ev->show.title);
		if (ev->show.title[0] == '\0')
			strcpy(ev->show.title, "t");
		if (flags & 4)
			fuzz_free_text(in, ev->show.host, sizeof(ev->show.host),
				       LSHOP_TITLE_CHARS);
		fuzz_no_controls(ev->show.host);
		ev->show.starts_at_ms = ev->at_ms;
		ev->show.duration_s =
		    LSHOP_SHOW_DURATION_MIN +
		    (int64_t)(fuzz_u64(in, 3) %
			      (LSHOP_SHOW_DURATION_MAX -
			       LSHOP_SHOW_DURATION_MIN + 1));
		if (flags & 8) {
			ev->show.noffers = 1;
			fuzz_id(in, ev->show.offers[0], LSHOP_ID_MAX);
		}
		break;
	case LSHOP_SHOW_ENDED:
		fuzz_id(in, ev->show.id, LSHOP_ID_MAX);
		break;
	case LSHOP_QUESTION_PINNED:
		fuzz_viewer_text(in, ev->question.text,
				 sizeof(ev->question.text),
				 LSHOP_QUESTION_CHARS, 0);
		fuzz_viewer_text(in, ev->question.name,
				 sizeof(ev->question.name),
				 LSHOP_VIEWER_NAME_CHARS, 1);
		if (flags & 2)
			fuzz_viewer_text(in, ev->question.answer,
					 sizeof(ev->question.answer),
					 LSHOP_QUESTION_CHARS, 1);
		/* fall through */
	case LSHOP_QUESTION_UNPINNED:
		fuzz_id(in, ev->question.id, LSHOP_ID_MAX);
		break;
	case LSHOP_POLL_STARTED:
	case LSHOP_POLL_ENDED:
		fuzz_id(in, ev->poll.id, LSHOP_ID_MAX);
		ev->poll.options_n = LSHOP_POLL_OPTIONS_MIN + (flags >> 4) % 3;
		for (opt = 0; opt < ev->poll.options_n; opt++) {
			char *text = ev->poll.options[opt];

			if (ev->type == LSHOP_POLL_ENDED) {
				ev->poll.counts[opt] = (int64_t)fuzz_u64(in, 3);
				continue;
			}
			/* options differ: a number at the end makes them */
			fuzz_viewer_text(in, text, LSHOP_POLL_OPTION_MAX - 1,
					 LSHOP_POLL_OPTION_CHARS - 2, 0);
			strcat(text, opt == 0 ? " 0" : opt == 1 ? " 1"
					 : opt == 2 ? " 2" : " 3");
		}
		if (ev->type == LSHOP_POLL_STARTED) {
			fuzz_viewer_text(in, ev->poll.question,
					 sizeof(ev->poll.question),
					 LSHOP_QUESTION_CHARS, 0);
			ev->poll.ends_at_ms = ev->at_ms + 10000;
		}
		break;
	default:
		fuzz_id(in, ev->offer_id, LSHOP_ID_MAX);
		break;
	}
}

/*
 * The event's JSON, which must parse back to the same JSON (SPEC §3: what
 * lshop_event_to_json writes is an event). Caller frees.
 */
static inline char *fuzz_event_json(const lshop_event *ev, size_t *len)
{
	lshop_event back;
	lshop_error err;
	char *json = lshop_event_to_json(ev, len), *again;
	size_t again_len;

	FUZZ_CHECK(json != NULL && strlen(json) == *len);
	if (lshop_event_parse(json, *len, &back, &err) != 0) {
		fprintf(stderr, "built event does not parse: %s (%s): %s\n%s\n",
			err.code, err.field, err.message, json);
		FUZZ_CHECK(!"a valid event's JSON parses");
	}
	again = lshop_event_to_json(&back, &again_len);
	FUZZ_CHECK(again != NULL && again_len == *len &&
		   memcmp(again, json, *len) == 0);
	free(again);
	return json;
}

#endif
