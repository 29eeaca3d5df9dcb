/*
 * HLS: DATERANGE lines and the media playlist rewrite (hls.h), checked
 * against RFC 8216bis.
 */
#include "lshop/codec.h"
#include "lshop/event.h"
#include "lshop/hls.h"
#include "lshop/time.h"

#include "testutil.h"

#define T0 INT64_C(1795514400123) /* 2026-11-24T10:00:00.123Z */

/* One attribute of an attribute list (RFC 8216bis 4.2). */
struct attr {
	char name[32];
	char value[8192];
	int quoted;
};

/*
 * Parses "#EXT-X-DATERANGE:" attribute lists strictly: a quoted-string
 * holds no '"', CR or LF. Returns the number of attributes.
 */
static size_t parse_attrs(const char *line, size_t len, struct attr *a,
			  size_t max)
{
	const char *p = line, *end = line + len, *q;
	size_t n = 0;

	assert_true(len > 17);
	assert_memory_equal(p, "#EXT-X-DATERANGE:", 17);
	p += 17;
	while (p < end) {
		assert_true(n < max);
		q = p;
		while (q < end && ((*q >= 'A' && *q <= 'Z') ||
				   (*q >= '0' && *q <= '9') || *q == '-'))
			q++;
		assert_true(q > p && q < end && *q == '=');
		assert_true((size_t)(q - p) < sizeof(a[n].name));
		memcpy(a[n].name, p, (size_t)(q - p));
		a[n].name[q - p] = '\0';
		p = q + 1;
		if (p < end && *p == '"') {
			a[n].quoted = 1;
			q = ++p;
			while (q < end && *q != '"') {
				assert_true(*q != '\r' && *q != '\n');
				q++;
			}
			assert_true(q < end); /* closing quote */
			assert_true((size_t)(q - p) < sizeof(a[n].value));
			memcpy(a[n].value, p, (size_t)(q - p));
			a[n].value[q - p] = '\0';
			p = q + 1;
		} else {
			a[n].quoted = 0;
			q = p;
			while (q < end && *q != ',')
				q++;
			memcpy(a[n].value, p, (size_t)(q - p));
			a[n].value[q - p] = '\0';
			p = q;
		}
		n++;
		if (p < end) {
			assert_int_equal(*p, ',');
			p++;
			assert_true(p < end);
		}
	}
	return n;
}

static const char *attr(const struct attr *a, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(a[i].name, name) == 0)
			return a[i].value;
	return NULL;
}

static lshop_range make_range(lshop_event_type type, const char *id,
			      int64_t start, int64_t end, const char *json)
{
	lshop_range r;

	r.type = type;
	r.id = id;
	r.start_ms = start;
	r.end_ms = end;
	r.event_json = json;
	r.event_json_len = json ? strlen(json) : 0;
	return r;
}

static void test_daterange_exact(void **state)
{
	lshop_range r =
	    make_range(LSHOP_OFFER_PINNED, "live/demo:17", T0, 0, "{}");
	size_t len;
	char *s;

	(void)state;
	s = lshop_daterange_line(&r, &len);
	assert_non_null(s);
	assert_string_equal(
	    s, "#EXT-X-DATERANGE:ID=\"live/demo:17\",CLASS=\"org.liveshop."
	       "offer\",START-DATE=\"2026-11-24T10:00:00.123Z\",X-LIVESHOP-"
	       "TYPE=\"offer.pinned\",X-LIVESHOP-DATA=\"e30=\"\n");
	assert_int_equal(len, strlen(s));
	free(s);

	r = make_range(LSHOP_COUNTDOWN_STARTED, "live/demo:18", T0, T0 + 300000,
		       "{}");
	s = lshop_daterange_line(&r, NULL);
	assert_string_equal(
	    s, "#EXT-X-DATERANGE:ID=\"live/demo:18\",CLASS=\"org.liveshop."
	       "countdown\",START-DATE=\"2026-11-24T10:00:00.123Z\",END-"
	       "DATE=\"2026-11-24T10:05:00.123Z\",X-LIVESHOP-TYPE="
	       "\"countdown.started\",X-LIVESHOP-DATA=\"e30=\"\n");
	free(s);

	/* RFC 8216bis: END-DATE is never before START-DATE. */
	r = make_range(LSHOP_DISCLOSURE_SHOWN, "live/demo:19", T0, T0 - 5,
		       "{}");
	s = lshop_daterange_line(&r, NULL);
	assert_non_null(strstr(s, "CLASS=\"org.liveshop.disclosure\""));
	assert_non_null(strstr(s, "END-DATE=\"2026-11-24T10:00:00.123Z\""));
	free(s);
}

static void test_daterange_refuses(void **state)
{
	static const char *const ids[] = {"live/demo:\"17", "live/demo:\r17",
					  "live/demo:17\n", NULL};
	lshop_range r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		r = make_range(LSHOP_OFFER_PINNED, ids[i], T0, 0, "{}");
		assert_null(lshop_daterange_line(&r, NULL));
	}
	r = make_range(LSHOP_STOCK_CHANGED, "live/demo:1", T0, 0, "{}");
	assert_null(lshop_daterange_line(&r, NULL));
	r = make_range((lshop_event_type)99, "live/demo:1", T0, 0, "{}");
	assert_null(lshop_daterange_line(&r, NULL));
}

static void test_daterange_hostile_titles(void **state)
{
	struct attr *a = malloc(16 * sizeof(*a));
	const char *titles[N_HOSTILE + 2];
	char *e120 = repeat("\xc3\xa9", 120);
	char *g120 = repeat("\xf0\x9f\x98\x80", 120);
	lshop_event ev, back;
	lshop_error err;
	lshop_range r;
	size_t i, j, n, len, json_len, dec_len, quotes;
	char *json, *line;
	uint8_t *dec;

	(void)state;
	assert_non_null(a);
	for (i = 0; i < N_HOSTILE; i++)
		titles[i] = hostile_titles[i];
	titles[N_HOSTILE] = e120;
	titles[N_HOSTILE + 1] = g120;
	for (i = 0; i < N_HOSTILE + 2; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.seq = 17;
		ev.type = LSHOP_OFFER_PINNED;
		ev.at_ms = T0;
		strcpy(ev.stream, "live/demo");
		strcpy(ev.offer.id, "sku-123");
		strcpy(ev.offer.title, titles[i]);
		strcpy(ev.offer.price, "19.99");
		strcpy(ev.offer.currency, "EUR");
		ev.offer.stock = 3;
		strcpy(ev.offer.url, "https://shop.example/p/123");
		strcpy(ev.offer.disclosure, "sponsored");
		json = lshop_event_to_json(&ev, &json_len);
		assert_non_null(json);
		r = make_range(LSHOP_OFFER_PINNED, "live/demo:17", T0, 0, json);
		r.event_json_len = json_len;
		line = lshop_daterange_line(&r, &len);
		assert_non_null(line);

		/* One line: LF only at its end, no CR anywhere. */
		assert_int_equal(line[len - 1], '\n');
		assert_null(memchr(line, '\n', len - 1));
		assert_null(memchr(line, '\r', len));
		/* Every '"' is a delimiter of one of the quoted values. */
		n = parse_attrs(line, len - 1, a, 16);
		assert_int_equal(n, 5);
		for (quotes = 0, j = 0; j < len; j++)
			quotes += line[j] == '"';
		assert_int_equal(quotes, 2 * n);
		for (j = 0; j < n; j++)
			assert_true(a[j].quoted);
		assert_string_equal(attr(a, n, "ID"), "live/demo:17");
		assert_string_equal(attr(a, n, "CLASS"), "org.liveshop.offer");
		assert_string_equal(attr(a, n, "START-DATE"),
				    "2026-11-24T10:00:00.123Z");
		assert_string_equal(attr(a, n, "X-LIVESHOP-TYPE"),
				    "offer.pinned");
		assert_null(attr(a, n, "END-DATE"));

		/* The data is the exact event, title and all. */
		dec = malloc(strlen(attr(a, n, "X-LIVESHOP-DATA")) + 3);
		assert_int_equal(
		    lshop_base64_decode(dec, &dec_len,
					attr(a, n, "X-LIVESHOP-DATA"),
					strlen(attr(a, n, "X-LIVESHOP-DATA"))),
		    0);
		assert_int_equal(dec_len, json_len);
		assert_memory_equal(dec, json, json_len);
		assert_int_equal(
		    lshop_event_parse((const char *)dec, dec_len, &back, &err),
		    0);
		assert_string_equal(back.offer.title, titles[i]);
		free(dec);
		free(line);
		free(json);
	}
	free(e120);
	free(g120);
	free(a);
}

/* Playlists */

static const char system_m3u8[] = "#EXTM3U\n"
				  "#EXT-X-VERSION:3\n"
				  "#EXT-X-MEDIA-SEQUENCE:12\n"
				  "#EXT-X-TARGETDURATION:2\n"
				  "#EXTINF:1.000,\n"
				  "demo-1764000000123.ts\n"
				  "#EXT-X-DISCONTINUITY\n"
				  "#EXTINF:1.040,\n"
				  "demo-1764000001123.ts\n";

/* Segment starts and durations found in a checked playlist. */
struct seen {
	int64_t pdt[64];
	int64_t dur[64];
	size_t nseg;
	size_t ndaterange;
	char ids[16][64];
};

static int64_t extinf_ms(const char *l, size_t len)
{
	char buf[32];
	double d;

	assert_true(len - 8 < sizeof(buf));
	memcpy(buf, l + 8, len - 8);
	buf[len - 8] = '\0';
	d = strtod(buf, NULL);
	return (int64_t)(d * 1000 + 0.5);
}

/*
 * Checks out as a valid media playlist (RFC 8216bis 4.4): #EXTM3U first,
 * each line ends with eol, one PROGRAM-DATE-TIME right before each
 * EXTINF (DATERANGEs aside), ascending; every EXTINF has a URI; every
 * DATERANGE follows a PROGRAM-DATE-TIME and is well formed.
 */
static void check_playlist(const char *s, size_t len, const char *eol,
			   struct seen *seen)
{
	const char *p = s, *end = s + len, *nl;
	struct attr *a = malloc(16 * sizeof(*a));
	int after_pdt = 0, want_uri = 0, first = 1;
	int64_t t;
	size_t n, l;

	assert_non_null(a);
	memset(seen, 0, sizeof(*seen));
	assert_int_equal(strlen(s), len);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		assert_non_null(nl); /* every line ends */
		l = (size_t)(nl - p);
		if (strcmp(eol, "\r\n") == 0) {
			assert_true(l > 0 && p[l - 1] == '\r');
			l--;
		} else {
			assert_true(l == 0 || p[l - 1] != '\r');
		}
		assert_null(memchr(p, '\r', l));
		if (first) {
			assert_true(l == 7 && memcmp(p, "#EXTM3U", 7) == 0);
			first = 0;
		} else if (l > 25 &&
			   memcmp(p, "#EXT-X-PROGRAM-DATE-TIME:", 25) == 0) {
			assert_false(after_pdt);
			assert_false(want_uri);
			assert_int_equal(lshop_time_parse(p + 25, l - 25, &t),
					 0);
			assert_true(seen->nseg < 64);
			if (seen->nseg > 0)
				assert_true(t > seen->pdt[seen->nseg - 1]);
			seen->pdt[seen->nseg] = t;
			after_pdt = 1;
		} else if (l > 17 && memcmp(p, "#EXT-X-DATERANGE:", 17) == 0) {
			n = parse_attrs(p, l, a, 16);
			assert_true(n >= 2);
			assert_non_null(attr(a, n, "ID"));
			assert_non_null(attr(a, n, "START-DATE"));
			assert_int_equal(
			    lshop_time_parse(attr(a, n, "START-DATE"), 24, &t),
			    0);
			assert_true(seen->ndaterange < 16);
			strcpy(seen->ids[seen->ndaterange++], attr(a, n, "ID"));
		} else if (l > 8 && memcmp(p, "#EXTINF:", 8) == 0) {
			assert_true(after_pdt);
			assert_false(want_uri);
			seen->dur[seen->nseg++] = extinf_ms(p, l);
			after_pdt = 0;
			want_uri = 1;
		} else if (l > 0 && p[0] != '#') {
			assert_true(want_uri);
			want_uri = 0;
		} else {
			/* Other tags sit between segments. */
			assert_false(after_pdt);
		}
		p = nl + 1;
	}
	assert_false(want_uri);
	assert_false(after_pdt);
	/* RFC 8216bis 4.4.5.1: DATERANGE needs a PROGRAM-DATE-TIME. */
	assert_true(seen->ndaterange == 0 || seen->nseg > 0);
	free(a);
}

static char *rewrite(const char *m3u8, int64_t written_ms,
		     const lshop_range *ranges, size_t n, size_t *len)
{
	lshop_error err;
	char *out;

	out = lshop_playlist_rewrite(m3u8, strlen(m3u8), written_ms, ranges, n,
				     len, &err);
	if (out == NULL)
		fail_msg("rewrite: %s", err.message);
	assert_int_equal(*len, strlen(out));
	return out;
}

static void test_system_naming(void **state)
{
	lshop_range r = make_range(LSHOP_OFFER_PINNED, "live/demo:17",
				   INT64_C(1764000000500), 0, "{}");
	struct seen seen;
	size_t len;
	char *out;

	(void)state;
	out = rewrite(system_m3u8, 0, &r, 1, &len);
	assert_string_equal(
	    out, "#EXTM3U\n"
		 "#EXT-X-VERSION:3\n"
		 "#EXT-X-MEDIA-SEQUENCE:12\n"
		 "#EXT-X-TARGETDURATION:2\n"
		 "#EXT-X-PROGRAM-DATE-TIME:2025-11-24T16:00:00.123Z\n"
		 "#EXT-X-DATERANGE:ID=\"live/demo:17\",CLASS=\"org."
		 "liveshop.offer\",START-DATE=\"2025-11-24T16:00:00.500Z\","
		 "X-LIVESHOP-TYPE=\"offer.pinned\",X-LIVESHOP-DATA="
		 "\"e30=\"\n"
		 "#EXTINF:1.000,\n"
		 "demo-1764000000123.ts\n"
		 "#EXT-X-DISCONTINUITY\n"
		 "#EXT-X-PROGRAM-DATE-TIME:2025-11-24T16:00:01.123Z\n"
		 "#EXTINF:1.040,\n"
		 "demo-1764000001123.ts\n");
	check_playlist(out, len, "\n", &seen);
	assert_int_equal(seen.nseg, 2);
	assert_int_equal(seen.ndaterange, 1);
	assert_true(seen.pdt[0] == INT64_C(1764000000123));
	assert_true(seen.pdt[1] == INT64_C(1764000001123));
	free(out);
}

static void test_fallback_naming(void **state)
{
	static const char m3u8[] = "#EXTM3U\n"
				   "#EXT-X-VERSION:3\n"
				   "#EXT-X-MEDIA-SEQUENCE:12\n"
				   "#EXT-X-TARGETDURATION:3\n"
				   "#EXTINF:2.000,\n"
				   "demo-12.ts\n"
				   "#EXTINF:2.002,\n"
				   "demo-13.ts\n"
				   "#EXT-X-DISCONTINUITY\n"
				   "#EXTINF:1.9985,\n"
				   "demo-14.ts\n"
				   "#EXTINF:3,\n"
				   "demo-123456789.ts\n";
	const int64_t written = T0;
	struct seen seen;
	size_t len, i;
	char *out;

	(void)state;
	out = rewrite(m3u8, written, NULL, 0, &len);
	check_playlist(out, len, "\n", &seen);
	assert_int_equal(seen.nseg, 4);
	/* The last segment ends when the playlist was written... */
	assert_true(seen.pdt[3] + seen.dur[3] == written);
	assert_true(seen.dur[2] == 1999); /* rounded */
	/* ...and each segment starts where the one before it ends. */
	for (i = 0; i + 1 < seen.nseg; i++)
		assert_true(seen.pdt[i] + seen.dur[i] == seen.pdt[i + 1]);
	assert_true(seen.pdt[0] == written - 3000 - 1999 - 2002 - 2000);
	free(out);
}

static void test_uris_with_paths_and_queries(void **state)
{
	static const char m3u8[] =
	    "#EXTM3U\n"
	    "#EXT-X-TARGETDURATION:2\n"
	    "#EXTINF:1.000,\n"
	    "/hls/demo-1764000000123.ts?x=1\n"
	    "#EXTINF:1.000,\n"
	    "https://cdn.example/live/demo/1764000001123.ts#frag\n"
	    "#EXTINF:1.000,\n"
	    "demo/1764000002123.ts?token=a.b&y=2\n";
	struct seen seen;
	size_t len;
	char *out;

	(void)state;
	out = rewrite(m3u8, 0, NULL, 0, &len);
	check_playlist(out, len, "\n", &seen);
	assert_int_equal(seen.nseg, 3);
	assert_true(seen.pdt[0] == INT64_C(1764000000123));
	assert_true(seen.pdt[1] == INT64_C(1764000001123));
	assert_true(seen.pdt[2] == INT64_C(1764000002123));
	assert_non_null(strstr(out, "\n/hls/demo-1764000000123.ts?x=1\n"));
	free(out);
}

static void test_crlf_and_missing_final_newline(void **state)
{
	static const char crlf[] = "#EXTM3U\r\n"
				   "#EXT-X-TARGETDURATION:2\r\n"
				   "#EXTINF:1.000,\r\n"
				   "demo-1764000000123.ts\r\n"
				   "#EXT-X-DISCONTINUITY\r\n"
				   "#EXTINF:1.000,\r\n"
				   "demo-1764000001123.ts";
	static const char lf[] = "#EXTM3U\n"
				 "#EXTINF:1.000,\n"
				 "demo-1764000000123.ts";
	lshop_range r = make_range(LSHOP_COUNTDOWN_STARTED, "live/demo:3",
				   INT64_C(1764000000000), 0, "{}");
	struct seen seen;
	size_t len;
	char *out;

	(void)state;
	out = rewrite(crlf, 0, &r, 1, &len);
	check_playlist(out, len, "\r\n", &seen);
	assert_int_equal(seen.nseg, 2);
	assert_int_equal(seen.ndaterange, 1);
	assert_true(seen.pdt[1] == INT64_C(1764000001123));
	free(out);

	out = rewrite(lf, 0, NULL, 0, &len);
	check_playlist(out, len, "\n", &seen);
	assert_int_equal(seen.nseg, 1);
	assert_string_equal(out, "#EXTM3U\n"
				 "#EXT-X-PROGRAM-DATE-TIME:2025-11-24T16:00:00."
				 "123Z\n"
				 "#EXTINF:1.000,\n"
				 "demo-1764000000123.ts\n");
	free(out);
}

static void test_unchanged(void **state)
{
	static const char master[] =
	    "#EXTM3U\n"
	    "#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n"
	    "low/index.m3u8\n"
	    "#EXT-X-STREAM-INF:BANDWIDTH=2000000\n"
	    "hi/index.m3u8";
	static const char empty[] = "#EXTM3U\n#EXT-X-VERSION:3\n"
				    "#EXT-X-TARGETDURATION:2\n";
	lshop_range r =
	    make_range(LSHOP_OFFER_PINNED, "live/demo:1", T0, 0, "{}");
	size_t len;
	char *out;

	(void)state;
	out = rewrite(master, T0, &r, 1, &len);
	assert_int_equal(len, strlen(master));
	assert_string_equal(out, master);
	assert_true(out != master);
	free(out);
	out = rewrite(empty, T0, &r, 1, &len);
	assert_string_equal(out, empty);
	free(out);
}

static void test_invalid(void **state)
{
	static const char *const bad[] = {"", "hello\n", "#EXTM3Ux\n",
					  " #EXTM3U\n", "\n#EXTM3U\n"};
	lshop_error err;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lshop_error_clear(&err);
		assert_null(lshop_playlist_rewrite(bad[i], strlen(bad[i]), T0,
						   NULL, 0, &len, &err));
		assert_string_equal(err.code, "invalid_playlist");
	}
	assert_null(lshop_playlist_rewrite(NULL, 0, T0, NULL, 0, &len, &err));
	assert_string_equal(err.code, "invalid_playlist");
}

static void test_daterange_filtering(void **state)
{
	/* Segments start at S0 = 1764000000123 and S0 + 1000. */
	const int64_t s0 = INT64_C(1764000000123);
	const lshop_range ranges[] = {
	    /* starts after the first segment, open: kept, last */
	    make_range(LSHOP_OFFER_PINNED, "live/demo:9", s0 + 1500, 0,
		       "{\"n\":9}"),
	    /* ended before the first segment: left out */
	    make_range(LSHOP_OFFER_PINNED, "live/demo:1", s0 - 60000, s0 - 1,
		       "{\"n\":1}"),
	    /* began before the first segment, still open: kept */
	    make_range(LSHOP_DISCLOSURE_SHOWN, "live/demo:2", s0 - 30000, 0,
		       "{\"n\":2}"),
	    /* began before, ended inside: kept, with END-DATE */
	    make_range(LSHOP_COUNTDOWN_STARTED, "live/demo:3", s0 - 20000,
		       s0 + 500, "{\"n\":3}"),
	    /* no class: never a range */
	    make_range(LSHOP_STOCK_CHANGED, "live/demo:4", s0, 0, "{\"n\":4}"),
	    /* an id that cannot be quoted: left out */
	    make_range(LSHOP_OFFER_PINNED, "live/demo:\"5", s0, 0, "{\"n\":5}"),
	    /* starts after the playlist's end: kept for later */
	    make_range(LSHOP_COUNTDOWN_STARTED, "live/demo:6", s0 + 9000,
		       s0 + 12000, "{\"n\":6}"),
	};
	struct seen seen;
	const char *dr, *pdt, *extinf;
	size_t len;
	char *out;

	(void)state;
	out = rewrite(system_m3u8, 0, ranges, 7, &len);
	check_playlist(out, len, "\n", &seen);
	assert_int_equal(seen.ndaterange, 4);
	/* Sorted by start. */
	assert_string_equal(seen.ids[0], "live/demo:2");
	assert_string_equal(seen.ids[1], "live/demo:3");
	assert_string_equal(seen.ids[2], "live/demo:9");
	assert_string_equal(seen.ids[3], "live/demo:6");
	assert_null(strstr(out, "live/demo:1\""));
	assert_null(strstr(out, "live/demo:4"));
	assert_null(strstr(out, "live/demo:\\\"5"));
	/* All right after the first PROGRAM-DATE-TIME. */
	pdt = strstr(out, "#EXT-X-PROGRAM-DATE-TIME:");
	dr = strstr(out, "#EXT-X-DATERANGE:");
	extinf = strstr(out, "#EXTINF:");
	assert_true(pdt < dr && dr < extinf);
	assert_true(dr == strchr(pdt, '\n') + 1);
	assert_non_null(strstr(out, "ID=\"live/demo:3\",CLASS=\"org."
				    "liveshop.countdown\",START-DATE=\"2025-"
				    "11-24T15:59:40.123Z\",END-DATE=\"2025-"
				    "11-24T16:00:00.623Z\""));
	free(out);
}

static void test_idempotent_and_foreign_tags(void **state)
{
	static const char m3u8[] =
	    "#EXTM3U\n"
	    "#EXT-X-TARGETDURATION:2\n"
	    "#EXT-X-DATERANGE:ID=\"ad-1\",START-DATE=\"2025-11-24T16:00:"
	    "00.000Z\",DURATION=30.0\n"
	    "#EXT-X-PROGRAM-DATE-TIME:2001-01-01T00:00:00.000Z\n"
	    "#EXTINF:1.000,\n"
	    "demo-1764000000123.ts\n"
	    "#EXT-X-KEY:METHOD=NONE\n"
	    "#EXTINF:1.000,\n"
	    "#EXT-X-BYTERANGE:1000@0\n"
	    "demo-1764000001123.ts\n"
	    "\n"
	    "#EXT-X-ENDLIST\n";
	const lshop_range r = make_range(LSHOP_OFFER_PINNED, "live/demo:7",
					 INT64_C(1764000000200), 0, "{}");
	struct seen seen;
	size_t len, len2;
	char *out, *again;

	(void)state;
	out = rewrite(m3u8, 0, &r, 1, &len);
	check_playlist(out, len, "\n", &seen);
	assert_int_equal(seen.nseg, 2);
	/* The stale PROGRAM-DATE-TIME is gone, other tags stay. */
	assert_null(strstr(out, "2001-01-01"));
	assert_non_null(strstr(out, "ID=\"ad-1\""));
	assert_non_null(strstr(out, "#EXT-X-KEY:METHOD=NONE\n"));
	assert_non_null(strstr(out, "#EXT-X-BYTERANGE:1000@0\n"));
	assert_non_null(strstr(out, "\n\n#EXT-X-ENDLIST\n"));
	assert_int_equal(seen.ndaterange, 2);
	/* Rewriting a rewritten playlist changes nothing. */
	again = rewrite(out, 0, &r, 1, &len2);
	assert_string_equal(again, out);
	free(again);
	free(out);
}

static void test_garbage_never_crashes(void **state)
{
	static const char *const odd[] = {
	    "#EXTM3U\n#EXTINF:",
	    "#EXTM3U\n#EXTINF:abc,\nx.ts\n",
	    "#EXTM3U\n#EXTINF:1.0,\n#EXTINF:1.0,\nx.ts\n",
	    "#EXTM3U\n#EXTINF:99999999999999999999.9999999,\nx-1.ts\n",
	    "#EXTM3U\r",
	    "#EXTM3U\n\n\n#EXTINF:1,\n\n\nx-99999999999999999999.ts",
	    "#EXTM3U\n#EXTINF:1,\n.ts\n#EXTINF:1,\n/\n#EXTINF:1,\n?\n",
	};
	lshop_range r =
	    make_range(LSHOP_OFFER_PINNED, "live/demo:1", T0, 0, NULL);
	lshop_error err;
	size_t i, len;
	char *out;

	(void)state;
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		out = lshop_playlist_rewrite(odd[i], strlen(odd[i]), T0, &r, 1,
					     &len, &err);
		assert_non_null(out);
		assert_int_equal(strlen(out), len);
		free(out);
	}
}

static void test_playlist_start(void **state)
{
	const char *named = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n"
			    "#EXTINF:1.000,\ndemo-1795514400123.ts\n"
			    "#EXTINF:1.000,\ndemo-1795514401123.ts\n";
	const char *counted = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n"
			      "#EXTINF:1.500,\ndemo-7.ts\n"
			      "#EXTINF:2.000,\ndemo-8.ts\n";
	const char *master =
	    "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlo.m3u8\n";

	(void)state;
	assert_true(lshop_playlist_start(named, strlen(named), 0) ==
		    INT64_C(1795514400123));
	/* counted back from when it was written: 3.5 s of segments */
	assert_true(lshop_playlist_start(counted, strlen(counted),
					 INT64_C(1795514410000)) ==
		    INT64_C(1795514406500));
	assert_true(lshop_playlist_start(master, strlen(master), 1) == 0);
	assert_true(lshop_playlist_start("#EXTM3U\n", 8, 1) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_daterange_exact),
	    cmocka_unit_test(test_daterange_refuses),
	    cmocka_unit_test(test_daterange_hostile_titles),
	    cmocka_unit_test(test_system_naming),
	    cmocka_unit_test(test_fallback_naming),
	    cmocka_unit_test(test_uris_with_paths_and_queries),
	    cmocka_unit_test(test_crlf_and_missing_final_newline),
	    cmocka_unit_test(test_unchanged),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_daterange_filtering),
	    cmocka_unit_test(test_idempotent_and_foreign_tags),
	    cmocka_unit_test(test_garbage_never_crashes),
	    cmocka_unit_test(test_playlist_start),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
