/*
 * liveshopctl clips: a show's chapters (SPEC §16, chapters.vtt, read back
 * by the core: lshop_vtt_parse_chapters in lshop/vtt.h), and one short
 * MP4 per chapter cut from the show's recording by ffmpeg.
 */
#ifndef LIVESHOPCTL_CLIPS_H
#define LIVESHOPCTL_CLIPS_H

#include <stddef.h>
#include <stdint.h>

#include <lshop/vtt.h>

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
 * Cuts one clip per chapter (chapters as lshop_vtt_parse_chapters read
 * them) into out_dir/NN-OFFERID.mp4 (NN the cue's number, at least 2
 * digits), then writes out_dir/index.json through a
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
int ctl_clips_cut(const ctl_clips_job *job, const lshop_vtt *chapters);

#endif
