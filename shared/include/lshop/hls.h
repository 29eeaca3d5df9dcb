/*
 * liveshop core: HLS media playlists (SPEC §7, RFC 8216bis).
 *
 * A served media playlist gets an EXT-X-PROGRAM-DATE-TIME before each
 * segment and one EXT-X-DATERANGE per pin, countdown and disclosure
 * interval that overlaps it.
 */
#ifndef LSHOP_HLS_H
#define LSHOP_HLS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "event.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One interval on the timeline, opened by the event it carries. */
typedef struct lshop_range {
	lshop_event_type type; /* of the opening event: offer.pinned, ... */
	const char *id;        /* its event id, "live/demo:17" */
	int64_t start_ms;
	int64_t end_ms;         /* 0 = still open */
	const char *event_json; /* the opening event's JSON */
	size_t event_json_len;
} lshop_range;

/*
 * One line "#EXT-X-DATERANGE:ID=..,CLASS=..,START-DATE=..[,END-DATE=..],
 * X-LIVESHOP-TYPE=..,X-LIVESHOP-DATA=<base64 of event_json>\n".
 * RFC 8216bis 4.4.5.1: quoted strings cannot hold CR, LF or '"'; an id
 * holding one is refused (NULL). Returns a malloc'd string, its length in
 * *len if not NULL; NULL on ENOMEM or a type without a class.
 */
char *lshop_daterange_line(const lshop_range *r, size_t *len);

/*
 * When the playlist's first segment began, as the rewrite dates it; 0 for
 * a master playlist, one without segments, or on ENOMEM. A caller holding
 * many ranges hands the rewrite only those that reach this far.
 */
int64_t lshop_playlist_start(const char *m3u8, size_t len, int64_t written_ms);

/*
 * Rewrites a media playlist:
 *  - drops any EXT-X-PROGRAM-DATE-TIME it holds and writes one before each
 *    segment's EXTINF, from the segment's start: the trailing digits of the
 *    URI's file name when they are a time in ms (nginx-rtmp's
 *    "hls_fragment_naming system"), else counted back from written_ms (when
 *    the playlist was written, taken as the end of its last segment);
 *  - writes a DATERANGE for each range that has not ended before the first
 *    segment starts, right after the first PROGRAM-DATE-TIME.
 * A master playlist or one without segments is returned unchanged.
 * Returns a malloc'd playlist and its length in *out_len, or NULL with err
 * set ("invalid_playlist" when it does not start with #EXTM3U).
 */
char *lshop_playlist_rewrite(const char *m3u8, size_t len, int64_t written_ms,
			     const lshop_range *ranges, size_t nranges,
			     size_t *out_len, lshop_error *err);

#ifdef __cplusplus
}
#endif

#endif
