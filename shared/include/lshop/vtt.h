/*
 * liveshop core: reading WebVTT (W3C "WebVTT: The Web Video Text Tracks
 * Format"), the format of a show's chapters (SPEC §16, chapters.vtt,
 * written by lshop_report_show_chapters_vtt in report.h). The one reader
 * of that format: liveshopctl clips reads chapters through it.
 *
 * What is read (WebVTT 4.1, the syntax of a file): an optional UTF-8
 * BOM; the header "WEBVTT", alone or followed by a space or tab and any
 * text; a blank line (or the end of the file); then blocks separated by
 * one or more blank lines. Lines end in CRLF, LF or CR. A block whose
 * first line is NOTE, STYLE or REGION (alone or followed by a space or
 * tab) is skipped. Any other block is a cue: an optional identifier line,
 * a timing line "HH:MM:SS.mmm --> HH:MM:SS.mmm" (hours 2-10 digits, or
 * left out: "MM:SS.mmm"; spaces or tabs around "-->"; cue settings after
 * the end time kept, not read), then payload lines up to a blank line or
 * the end of the file, joined with LF. In the payload the character
 * references &amp; &lt; &gt; &nbsp; &lrm; &rlm; and numeric ones (&#NN;
 * &#xHH;, not 0 nor a surrogate) are resolved; any other '&' is itself;
 * tags such as <b> are kept as they are.
 *
 * Stricter than a WebVTT player, which skips what it cannot read: a
 * malformed file is an error naming its line ("line 4: ..."), in err's
 * message (code "invalid_vtt", no field): no header, no blank line after
 * it, a block that is no cue (an identifier without a timing line), a bad
 * timestamp, a cue ending before it starts or starting before the one
 * before it, "-->" in a payload or a NOTE, STYLE or REGION block (the
 * syntax forbids it; a blank line is missing), a NUL byte or bytes that
 * are no UTF-8, and anything over the limits below.
 */
#ifndef LSHOP_VTT_H
#define LSHOP_VTT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "offer.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LSHOP_VTT_MAX      (32 * 1024 * 1024) /* bytes of a file */
#define LSHOP_VTT_LINE_MAX 8192   /* bytes of a line, its end left out */
#define LSHOP_VTT_TEXT_MAX 8192   /* bytes of a cue's payload as written */
#define LSHOP_VTT_ID_MAX   255    /* bytes of a cue identifier */
#define LSHOP_VTT_CUES_MAX 100000 /* cues of a file */

typedef struct lshop_vtt_cue {
	const char *id;       /* "" when the cue has none */
	int64_t start_ms;     /* from the start of the media */
	int64_t end_ms;       /* >= start_ms */
	const char *settings; /* "" when none; as written, not read */
	const char *text;     /* payload lines joined with LF, references
				 resolved; valid UTF-8, no NUL */
	size_t line;          /* the cue's first line (from 1) */
	size_t timing_line;   /* its timing line: line, or line + 1 */
} lshop_vtt_cue;

/* A file's cues, in the file's order (by start time). */
typedef struct lshop_vtt {
	lshop_vtt_cue *cues;
	size_t ncues;
	char *strings; /* private: what the cues' strings point into */
} lshop_vtt;

/*
 * Parses len bytes of WebVTT (not NUL-terminated). Returns the cues
 * (free with lshop_vtt_free), or NULL with err filled (if not NULL):
 * "invalid_vtt" naming the line and the problem, or "no_memory".
 */
lshop_vtt *lshop_vtt_parse(const char *vtt, size_t len, lshop_error *err);

/*
 * lshop_vtt_parse, then held to what lshop_report_show_chapters_vtt
 * writes (report.h) and nothing looser, as a reader of chapters relies
 * on it: every cue has an identifier N-OFFERID (lshop_vtt_chapter_id),
 * no cue settings, a time (end after start) and one non-empty line of
 * text; cues do not overlap. A cue breaking one of these is named by its
 * line, as in lshop_vtt_parse. Whatever that function writes, this reads
 * back: the same identifiers, times and text (the title with CR and LF
 * as spaces, " — ", price and currency).
 */
lshop_vtt *lshop_vtt_parse_chapters(const char *vtt, size_t len,
				    lshop_error *err);

/*
 * Splits a chapter's cue identifier "N-OFFERID" (N from 1 to 999999
 * without leading zeros, OFFERID a valid offer id, lshop_id_valid):
 * 0 with *number and offer_id set, or -1.
 */
int lshop_vtt_chapter_id(const char *id, unsigned *number,
			 char offer_id[LSHOP_ID_MAX + 1]);

/* Frees v and its cues; NULL does nothing. */
void lshop_vtt_free(lshop_vtt *v);

#ifdef __cplusplus
}
#endif

#endif
