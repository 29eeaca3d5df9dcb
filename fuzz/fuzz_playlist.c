/*
 * lshop_playlist_rewrite and lshop_playlist_start (SPEC §7) on any
 * playlist bytes, with up to three ranges. The rewrite must keep every
 * line of the playlist but the dates and ranges it owns, date each
 * segment once, and be idempotent: rewriting its own output again with
 * the same ranges changes nothing.
 *
 * Input: a byte (bits 0-1 how many ranges, bits 4-6 which are open), 4
 * bytes of offset of the write time, 3 x (type, 3 bytes start, 2 bytes
 * length) of ranges, the playlist.
 */
#include "fuzz.h"
#include "lshop/hls.h"

#define NOW INT64_C(1795514400000)

static const char *const jsons[] = {
    "{\"seq\":1,\"type\":\"offer.pinned\"}",
    "{\"seq\":2,\"label\":\"\\\"quoted\\\"\\r\\n\"}",
    "",
};

static size_t count_lines(const char *s, size_t len, const char *tag)
{
	size_t n = 0, pos = 0, tl = strlen(tag);
	const char *nl;

	while (pos < len) {
		nl = memchr(s + pos, '\n', len - pos);
		if (len - pos >= tl && memcmp(s + pos, tag, tl) == 0)
			n++;
		pos = nl ? (size_t)(nl - s) + 1 : len;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_in in = {data, size};
	uint8_t mode = fuzz_byte(&in);
	int64_t written = NOW + (int64_t)(int32_t)fuzz_u64(&in, 4);
	lshop_range ranges[3];
	size_t nranges = mode % 4, i, len, out_len, again_len;
	char *m3u8, *out, *again;
	lshop_error err;
	static const char *const ids[] = {"live/demo:1", "live/demo:2",
					  "live/demo:3"};

	for (i = 0; i < 3; i++) {
		ranges[i].type =
		    (lshop_event_type)(fuzz_byte(&in) % LSHOP_EVENT_TYPES);
		ranges[i].id = ids[i];
		ranges[i].start_ms = written - (int64_t)fuzz_u64(&in, 3) * 10;
		ranges[i].end_ms =
		    mode & (16 << i)
			? 0
			: ranges[i].start_ms + (int64_t)fuzz_u64(&in, 2) * 10;
		ranges[i].event_json = jsons[i];
		ranges[i].event_json_len = strlen(jsons[i]);
	}
	m3u8 = fuzz_rest(&in, &len);

	(void)lshop_playlist_start(m3u8, len, written);
	out = lshop_playlist_rewrite(m3u8, len, written, ranges, nranges,
				     &out_len, &err);
	if (out == NULL) {
		FUZZ_CHECK(strcmp(err.code, "invalid_playlist") == 0);
		free(m3u8);
		return 0;
	}
	FUZZ_CHECK(out[out_len] == '\0');
	FUZZ_CHECK(count_lines(out, out_len, "#EXTINF:") ==
		   count_lines(m3u8, len, "#EXTINF:"));
	FUZZ_CHECK(
	    count_lines(out, out_len, "#EXT-X-PROGRAM-DATE-TIME:") ==
		count_lines(out, out_len, "#EXTINF:") ||
	    count_lines(out, out_len, "#EXT-X-STREAM-INF") +
		    count_lines(out, out_len, "#EXT-X-I-FRAME-STREAM-INF") >
		0 ||
	    count_lines(out, out_len, "#EXTINF:") == 0);

	again = lshop_playlist_rewrite(out, out_len, written, ranges, nranges,
				       &again_len, &err);
	FUZZ_CHECK(again != NULL);
	if (again_len != out_len || memcmp(again, out, out_len) != 0) {
		fprintf(stderr,
			"not idempotent:\n--- once\n%s\n--- twice\n%s\n", out,
			again);
		FUZZ_CHECK(!"a rewrite of a rewrite changes nothing");
	}
	free(again);
	free(out);
	free(m3u8);
	return 0;
}
