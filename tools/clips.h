/*
 * liveshopctl clips: a show's chapters (SPEC §16, chapters.vtt) read back,
 * and one short MP4 per chapter cut from the show's recording by ffmpeg.
 */
#ifndef LIVESHOPCTL_CLIPS_H
#define LIVESHOPCTL_CLIPS_H

#include <stddef.h>
#include <stdint.h>

#include <lshop/offer.h>

/* One cue of chapters.vtt: "N-OFFERID", its times, its text. */
typedef struct ctl_chapter {
	unsigned number; /* N, the pin's number in the show */
	char offer_id[LSHOP_ID_MAX + 1];
	int64_t start_ms, end_ms; /* from the start of the show's recording */
	char *title; /* the cue text, its character references resolved */
} ctl_chapter;

/*
 * Parses chapters.vtt as the server writes it (report.h,
 * lshop_report_show_chapters_vtt) and nothing looser: "WEBVTT", a blank
 * line, then cues of an identifier N-OFFERID, a timing line
 * "HH:MM:SS.mmm --> HH:MM:SS.mmm" (no settings), one line of text and a
 * blank line; cues in time order, not overlapping, each longer than 0.
 * LF or CRLF line ends. On success 0 with *out (malloc'd; free with
 * ctl_chapters_free) and *n set; else -1 with a message naming the line
 * in err ("line 7: ...").
 */
int ctl_chapters_parse(const char *vtt, size_t len, ctl_chapter **out,
		       size_t *n, char *err, size_t errcap);

void ctl_chapters_free(ctl_chapter *c, size_t n);

/* What ctl_clips_cut was given and what it says. */
typedef struct ctl_clips_job {
	const char *stream;
	const char *show;
	const char *recording; /* the show's recording, starting at its start */
	const char *out_dir;
	const char *ffmpeg; /* the program run; found in PATH if no '/' */
	int quiet;          /* 0: one line per clip on stdout */
} ctl_clips_job;

/*
 * Cuts one clip per chapter into out_dir/NN-OFFERID.mp4 (NN the cue's
 * number, at least 2 digits), then writes out_dir/index.json through a
 * temporary file and a rename, so an index is never half-written (and not
 * written at all when a clip fails). Each clip is
 *   ffmpeg -nostdin -hide_banner -loglevel error -y -ss START -i FILE
 *          -t DURATION -c copy -avoid_negative_ts make_zero OUT
 * (ffmpeg's usual choice of streams: the best video and audio): with
 * stream copy, seeking the input lands on the keyframe at or
 * before START, so a clip begins on a keyframe at most one GOP before
 * its chapter and holds the whole chapter, ending at its end (DURATION
 * counts from START). Returns 0, or -1 having said why on stderr (which
 * cue, and ffmpeg's exit status or signal).
 */
int ctl_clips_cut(const ctl_clips_job *job, const ctl_chapter *c, size_t n);

#endif
