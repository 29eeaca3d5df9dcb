/*
 * liveshop core: shows (SPEC §14), their recurrence (a subset of RFC 5545
 * RRULE) and their calendar (RFC 5545 text/calendar).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lshop/codec.h"
#include "lshop/show.h"
#include "lshop/time.h"

#include "internal.h"

#define MS_PER_DAY INT64_C(86400000)
/* Every time a show can have (years 0000-9999) is far inside ±2^62 ms;
 * windows are clamped to it, so that no sum below overflows. */
#define TIME_LIMIT (INT64_C(1) << 62)
/* The months lshop_show_occurrences steps through per call at most. */
#define MONTH_STEPS_MAX    10000
#define RRULE_COUNT_MAX    1000
#define RRULE_INTERVAL_MAX 366

static const char *const scheduled_keys[] = {"id",        "title",      "host",
					     "starts_at", "duration",   "rrule",
					     "offers",    "commission", NULL};

static const char *const broadcast_keys[] = {
    "id",       "series", "title",  "host",       "starts_at",
    "duration", "rrule",  "offers", "commission", NULL};

/* RFC 5545 §3.3.10 weekdays, in the order of the week (WKST=MO). */
static const char *const weekdays[] = {"MO", "TU", "WE", "TH",
				       "FR", "SA", "SU"};

/* ---------------------------------------------------------------- dates */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && (a < 0) != (b < 0))
		q--;
	return q;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30,
						31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return mdays[m - 1] + (m == 2 && leap);
}

static int64_t clamp_time(int64_t ms)
{
	return ms < -TIME_LIMIT  ? -TIME_LIMIT
	       : ms > TIME_LIMIT ? TIME_LIMIT
				 : ms;
}

/* RFC 5545 §3.3.5 UTC form, "20261126T190000Z" (17 bytes with NUL). */
static void ical_time(char out[17], int64_t ms)
{
	char t[LSHOP_TIME_LEN];

	lshop_time_format(t, ms);
	memcpy(out, t, 4);
	memcpy(out + 4, t + 5, 2);
	memcpy(out + 6, t + 8, 2);
	out[8] = 'T';
	memcpy(out + 9, t + 11, 2);
	memcpy(out + 11, t + 14, 2);
	memcpy(out + 13, t + 17, 2);
	out[15] = 'Z';
	out[16] = '\0';
}

/* ---------------------------------------------------------------- rrule */

enum freq { FREQ_DAILY = 1, FREQ_WEEKLY, FREQ_MONTHLY };

struct rule {
	enum freq freq;
	int64_t interval;
	unsigned byday;      /* bit 0 MO … bit 6 SU; 0: none */
	uint32_t bymonthday; /* bit d for day d; 0: none */
	int64_t count;       /* 0: none */
	int64_t until_ms;    /* INT64_MAX: none */
};

enum part {
	PART_FREQ,
	PART_INTERVAL,
	PART_BYDAY,
	PART_BYMONTHDAY,
	PART_COUNT,
	PART_UNTIL,
	PART_WKST,
	PARTS
};

static const char *const part_names[PARTS] = {
    "FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "COUNT", "UNTIL", "WKST"};

/* 1..max in decimal (leading zeros allowed), or -1. */
static int64_t small_number(const char *s, size_t len, int64_t max)
{
	int64_t v = 0;
	size_t i;

	if (len < 1 || len > 9)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= max ? v : -1;
}

static int weekday_index(const char *s, size_t len)
{
	size_t n = sizeof(weekdays) / sizeof(weekdays[0]);

	return lshop_name_index(weekdays, n, s, len);
}

/* "YYYYMMDDTHHMMSSZ" (RFC 5545 §3.3.5 form #2) into ms, or -1. */
static int until_parse(const char *s, size_t len, int64_t *ms)
{
	char t[21];
	size_t i;

	if (len != 16 || s[8] != 'T' || s[15] != 'Z')
		return -1;
	for (i = 0; i < 15; i++)
		if (i != 8 && (s[i] < '0' || s[i] > '9'))
			return -1;
	/* lshop_time_parse checks the date and the time of day. */
	snprintf(t, sizeof(t), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", s, s + 4,
		 s + 6, s + 9, s + 11, s + 13);
	return lshop_time_parse(t, 20, ms);
}

/*
 * Parses one NAME=VALUE part into r. Returns 0, or -1 with the reason in
 * why (the rest of a message starting "rrule ").
 */
static int part_parse(const char *s, size_t len, unsigned *seen, struct rule *r,
		      char *why, size_t cap)
{
	const char *eq = memchr(s, '=', len), *v, *item, *end;
	size_t nlen, vlen, ilen;
	int p, d;
	int64_t x;

	if (len == 0) {
		snprintf(why, cap,
			 "has an empty part (two ';' in a row, or one at "
			 "either end)");
		return -1;
	}
	if (eq == NULL) {
		snprintf(why, cap, "part \"%.*s\" must be NAME=VALUE",
			 (int)(len > 20 ? 20 : len), s);
		return -1;
	}
	nlen = (size_t)(eq - s);
	v = eq + 1;
	vlen = len - nlen - 1;
	p = lshop_name_index(part_names, PARTS, s, nlen);
	if (p < 0) {
		snprintf(why, cap,
			 "part %.*s is not supported; a show's rule has "
			 "FREQ, INTERVAL, BYDAY, BYMONTHDAY, COUNT or UNTIL",
			 (int)(nlen > 20 ? 20 : nlen), s);
		return -1;
	}
	if (*seen & (1u << p)) {
		snprintf(why, cap, "part %s must appear once", part_names[p]);
		return -1;
	}
	*seen |= 1u << p;
	switch (p) {
	case PART_FREQ:
		if (vlen == 5 && memcmp(v, "DAILY", 5) == 0)
			r->freq = FREQ_DAILY;
		else if (vlen == 6 && memcmp(v, "WEEKLY", 6) == 0)
			r->freq = FREQ_WEEKLY;
		else if (vlen == 7 && memcmp(v, "MONTHLY", 7) == 0)
			r->freq = FREQ_MONTHLY;
		else {
			snprintf(why, cap,
				 "FREQ=%.*s is not supported; use DAILY, "
				 "WEEKLY or MONTHLY",
				 (int)(vlen > 20 ? 20 : vlen), v);
			return -1;
		}
		return 0;
	case PART_INTERVAL:
		r->interval = small_number(v, vlen, RRULE_INTERVAL_MAX);
		if (r->interval < 0) {
			snprintf(why, cap,
				 "INTERVAL must be a whole number from 1 to "
				 "%d",
				 RRULE_INTERVAL_MAX);
			return -1;
		}
		return 0;
	case PART_COUNT:
		r->count = small_number(v, vlen, RRULE_COUNT_MAX);
		if (r->count < 0) {
			snprintf(why, cap,
				 "COUNT must be a whole number from 1 to %d",
				 RRULE_COUNT_MAX);
			return -1;
		}
		return 0;
	case PART_UNTIL:
		if (until_parse(v, vlen, &r->until_ms)) {
			snprintf(why, cap,
				 "UNTIL=%.*s is not supported; use a UTC "
				 "date-time like 20261231T235959Z",
				 (int)(vlen > 20 ? 20 : vlen), v);
			return -1;
		}
		return 0;
	case PART_WKST:
		if (vlen == 2 && memcmp(v, "MO", 2) == 0)
			return 0;
		snprintf(why, cap,
			 "WKST=%.*s is not supported; weeks start on Monday "
			 "(WKST=MO)",
			 (int)(vlen > 20 ? 20 : vlen), v);
		return -1;
	default:
		break;
	}
	/* BYDAY and BYMONTHDAY: comma-separated lists. */
	end = v + vlen;
	for (item = v; item <= end; item += ilen + 1) {
		const char *comma = memchr(item, ',', (size_t)(end - item));

		ilen = comma ? (size_t)(comma - item) : (size_t)(end - item);
		if (p == PART_BYDAY) {
			d = weekday_index(item, ilen);
			if (d >= 0) {
				r->byday |= 1u << d;
				continue;
			}
			if (ilen > 2 && weekday_index(item + ilen - 2, 2) >= 0)
				snprintf(why, cap,
					 "BYDAY=%.*s is not supported: no "
					 "numbered days like 1MO or -1FR; "
					 "use days like MO,TH",
					 (int)(ilen > 20 ? 20 : ilen), item);
			else
				snprintf(why, cap,
					 "BYDAY must be a list of days "
					 "MO, TU, WE, TH, FR, SA, SU like "
					 "MO,TH");
			return -1;
		}
		x = small_number(item, ilen, 31);
		if (x > 0) {
			r->bymonthday |= (uint32_t)1 << x;
			continue;
		}
		if (ilen > 0 && (item[0] == '-' || item[0] == '+'))
			snprintf(why, cap,
				 "BYMONTHDAY=%.*s is not supported: no days "
				 "counted from the month's end; use 1 to 31",
				 (int)(ilen > 20 ? 20 : ilen), item);
		else
			snprintf(why, cap,
				 "BYMONTHDAY must be a list of days 1 to 31 "
				 "like 1,15");
		return -1;
	}
	return 0;
}

/*
 * Parses an rrule (see lshop_show_parse). Returns 0, or -1 with the
 * reason in why (the rest of a message starting "rrule ").
 */
static int rule_parse(const char *s, size_t len, struct rule *r, char *why,
		      size_t cap)
{
	char buf[LSHOP_RRULE_MAX + 8];
	const char *p;
	unsigned seen = 0;
	size_t i, start;

	memset(r, 0, sizeof(*r));
	r->interval = 1;
	r->until_ms = INT64_MAX;
	if (len > LSHOP_RRULE_MAX + 6) {
		snprintf(why, cap, "must be at most %d bytes long",
			 LSHOP_RRULE_MAX);
		return -1;
	}
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c <= 0x20 || c >= 0x7f) {
			snprintf(why, cap,
				 "must be printable ASCII without spaces, "
				 "like FREQ=WEEKLY;BYDAY=TH");
			return -1;
		}
		/* RFC 5545 §2: names and values are case-insensitive. */
		buf[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
	}
	/* The property name, as copied from a calendar, is allowed. */
	p = buf;
	if (len >= 6 && memcmp(p, "RRULE:", 6) == 0) {
		p += 6;
		len -= 6;
	}
	if (len > LSHOP_RRULE_MAX) {
		snprintf(why, cap, "must be at most %d bytes long",
			 LSHOP_RRULE_MAX);
		return -1;
	}
	for (start = 0, i = 0; i <= len; i++) {
		if (i < len && p[i] != ';')
			continue;
		if (part_parse(p + start, i - start, &seen, r, why, cap))
			return -1;
		start = i + 1;
	}
	if (r->freq == 0) {
		snprintf(why, cap,
			 "must have FREQ=DAILY, FREQ=WEEKLY or FREQ=MONTHLY");
		return -1;
	}
	if (r->byday && r->freq != FREQ_WEEKLY) {
		snprintf(why, cap, "BYDAY is only supported with FREQ=WEEKLY");
		return -1;
	}
	if (r->bymonthday && r->freq != FREQ_MONTHLY) {
		snprintf(why, cap,
			 "BYMONTHDAY is only supported with FREQ=MONTHLY");
		return -1;
	}
	if (r->count && r->until_ms != INT64_MAX) {
		snprintf(why, cap,
			 "must not have both COUNT and UNTIL (RFC 5545 "
			 "§3.3.10); use one");
		return -1;
	}
	return 0;
}

/* The normalised text of r (see lshop_show.rrule); cap ≥ 200 suffices. */
static void rule_format(const struct rule *r, char *out, size_t cap)
{
	static const char *const freqs[] = {"", "DAILY", "WEEKLY", "MONTHLY"};
	char until[17];
	size_t o;
	int i, first;

	o = (size_t)snprintf(out, cap, "FREQ=%s", freqs[r->freq]);
	if (r->interval > 1)
		o += (size_t)snprintf(out + o, cap - o, ";INTERVAL=%lld",
				      (long long)r->interval);
	if (r->byday) {
		o += (size_t)snprintf(out + o, cap - o, ";BYDAY=");
		for (i = 0, first = 1; i < 7; i++) {
			if (!(r->byday & (1u << i)))
				continue;
			o += (size_t)snprintf(out + o, cap - o, "%s%s",
					      first ? "" : ",", weekdays[i]);
			first = 0;
		}
	}
	if (r->bymonthday) {
		o += (size_t)snprintf(out + o, cap - o, ";BYMONTHDAY=");
		for (i = 1, first = 1; i <= 31; i++) {
			if (!(r->bymonthday & ((uint32_t)1 << i)))
				continue;
			o += (size_t)snprintf(out + o, cap - o, "%s%d",
					      first ? "" : ",", i);
			first = 0;
		}
	}
	if (r->count)
		o += (size_t)snprintf(out + o, cap - o, ";COUNT=%lld",
				      (long long)r->count);
	if (r->until_ms != INT64_MAX) {
		ical_time(until, r->until_ms);
		snprintf(out + o, cap - o, ";UNTIL=%s", until);
	}
}

/* ---------------------------------------------------------- occurrences */

/* Adds t to out if in [from, to); 1 when out is full. */
static int emit(int64_t t, int64_t from, int64_t *out, size_t *n, size_t cap)
{
	if (t >= from)
		out[(*n)++] = t;
	return *n == cap;
}

/* DAILY, and WEEKLY without BYDAY: start + k * period, k ≥ 0. */
static size_t every_period(const struct rule *r, int64_t start, int64_t from,
			   int64_t to, int64_t *out, size_t cap)
{
	int64_t period =
	    r->interval * MS_PER_DAY * (r->freq == FREQ_WEEKLY ? 7 : 1);
	int64_t k = 0, t;
	size_t n = 0;

	if (from > start)
		k = (from - start + period - 1) / period;
	for (;; k++) {
		t = start + k * period;
		if (t >= to || t > r->until_ms || (r->count && k >= r->count))
			break;
		if (emit(t, from, out, &n, cap))
			break;
	}
	return n;
}

/*
 * WEEKLY with BYDAY: the days of every interval-th week (Monday to
 * Sunday) from the week of start. start is occurrence 0; the days of its
 * own week after it follow, then whole weeks, each with every day of
 * byday. That makes the index of each occurrence (for COUNT) arithmetic,
 * so the loop starts at the window.
 */
static size_t weekly_byday(const struct rule *r, int64_t start, int64_t from,
			   int64_t to, int64_t *out, size_t cap)
{
	int64_t day0 = floor_div(start, MS_PER_DAY);
	int64_t tod = start - day0 * MS_PER_DAY;
	int wd = (int)(day0 + 3 - floor_div(day0 + 3, 7) * 7); /* 0: MO */
	int64_t monday0 = day0 - wd, week_days = 7 * r->interval;
	int64_t idx = 1, w = 1, wf, t;
	int per_week = 0, d;
	size_t n = 0;

	for (d = 0; d < 7; d++)
		per_week += (r->byday >> d) & 1;
	for (d = wd + 1; d < 7; d++) {
		if (!(r->byday & (1u << d)))
			continue;
		t = (monday0 + d) * MS_PER_DAY + tod;
		if (t >= to || t > r->until_ms || (r->count && idx >= r->count))
			return n;
		idx++;
		if (emit(t, from, out, &n, cap))
			return n;
	}
	/* Weeks before wf end before from. */
	wf = floor_div(from - (monday0 * MS_PER_DAY + tod),
		       week_days * MS_PER_DAY);
	if (wf > w) {
		idx += (wf - w) * per_week;
		w = wf;
	}
	for (;; w++) {
		for (d = 0; d < 7; d++) {
			if (!(r->byday & (1u << d)))
				continue;
			t = (monday0 + w * week_days + d) * MS_PER_DAY + tod;
			if (t >= to || t > r->until_ms ||
			    (r->count && idx >= r->count))
				return n;
			idx++;
			if (emit(t, from, out, &n, cap))
				return n;
		}
	}
}

/*
 * MONTHLY: the days (BYMONTHDAY, else start's day) of every interval-th
 * month from the month of start; days a month does not have are skipped
 * and not counted (RFC 5545 §3.3.10). Months hold a varying number of
 * occurrences, so with COUNT the months are counted from start; without
 * it the loop starts at the window.
 */
static size_t monthly(const struct rule *r, int64_t start, int64_t from,
		      int64_t to, int64_t *out, size_t cap)
{
	int64_t day0 = floor_div(start, MS_PER_DAY);
	int64_t tod = start - day0 * MS_PER_DAY;
	int64_t y, month0, k = 0, idx = 1, mi, t, steps;
	unsigned m, d, dim;
	uint32_t days;
	size_t n = 0;

	lshop_civil_from_days(day0, &y, &m, &d);
	days = r->bymonthday ? r->bymonthday : (uint32_t)1 << d;
	month0 = y * 12 + (m - 1);
	if (!r->count && from > start) {
		lshop_civil_from_days(floor_div(from, MS_PER_DAY), &y, &m, &d);
		k = floor_div(y * 12 + (m - 1) - month0, r->interval);
		if (k < 0)
			k = 0;
	}
	for (steps = 0; steps < MONTH_STEPS_MAX; steps++, k++) {
		mi = month0 + k * r->interval;
		y = floor_div(mi, 12);
		m = (unsigned)(mi - y * 12) + 1;
		if (lshop_days_from_civil(y, m, 1) * MS_PER_DAY >= to)
			return n;
		dim = days_in_month(y, m);
		for (d = 1; d <= dim; d++) {
			if (!(days & ((uint32_t)1 << d)))
				continue;
			t = lshop_days_from_civil(y, m, d) * MS_PER_DAY + tod;
			if (t <= start)
				continue;
			if (t >= to || t > r->until_ms ||
			    (r->count && idx >= r->count))
				return n;
			idx++;
			if (emit(t, from, out, &n, cap))
				return n;
		}
	}
	return n;
}

size_t lshop_show_occurrences(const lshop_show *show, int64_t from_ms,
			      int64_t to_ms, int64_t *out, size_t cap)
{
	struct rule r;
	char why[200];
	int64_t start = show->starts_at_ms;
	size_t n = 0;

	from_ms = clamp_time(from_ms);
	to_ms = clamp_time(to_ms);
	if (cap == 0 || from_ms >= to_ms)
		return 0;
	/* DTSTART is always the first occurrence (RFC 5545 §3.8.5.3). */
	if (start >= from_ms && start < to_ms) {
		out[n++] = start;
		if (n == cap)
			return n;
	}
	if (!show->rrule[0] ||
	    rule_parse(show->rrule, strlen(show->rrule), &r, why, sizeof(why)))
		return n;
	if (r.count == 1)
		return n;
	out += n;
	cap -= n;
	if (r.freq == FREQ_MONTHLY)
		return n + monthly(&r, start, from_ms, to_ms, out, cap);
	if (r.byday)
		return n + weekly_byday(&r, start, from_ms, to_ms, out, cap);
	/* every_period gives start too, as its k = 0: skip it. */
	if (from_ms <= start)
		from_ms = start + 1;
	return n + every_period(&r, start, from_ms, to_ms, out, cap);
}

long lshop_show_match(const lshop_show *shows, size_t n, int64_t now_ms,
		      int64_t *occurrence_ms)
{
	int64_t starts[8], dist, best_dist = 0, best_t = 0, dur;
	size_t i, j, k;
	long best = -1;

	now_ms = clamp_time(now_ms);
	for (i = 0; i < n; i++) {
		dur = shows[i].duration_s * 1000;
		if (dur < 1)
			dur = 1;
		/* start - NEAR <= now < start + duration, for start in
		 * (now - duration, now + NEAR]. Occurrences are a day apart
		 * at least and a window is at most ~1 day: 8 is plenty. */
		k = lshop_show_occurrences(&shows[i], now_ms - dur + 1,
					   now_ms + LSHOP_SHOW_NEAR_MS + 1,
					   starts, 8);
		for (j = 0; j < k; j++) {
			dist = starts[j] > now_ms ? starts[j] - now_ms
						  : now_ms - starts[j];
			/* On a tie the one already on (the earlier) wins. */
			if (best >= 0 &&
			    (dist > best_dist ||
			     (dist == best_dist && starts[j] >= best_t)))
				continue;
			best = (long)i;
			best_dist = dist;
			best_t = starts[j];
		}
	}
	if (best >= 0 && occurrence_ms != NULL)
		*occurrence_ms = best_t;
	return best;
}

/* ------------------------------------------------------------ the JSON */

/* Characters of valid UTF-8 text, -1 if invalid, -2 with a control
 * character (C0, DEL, C1). */
static long text_chars(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	long chars = 0;

	while (i < len) {
		n = lshop_utf8_seq(p + i, len - i);
		if (n == 0)
			return -1;
		if ((n == 1 && (p[i] < 0x20 || p[i] == 0x7f)) ||
		    (n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0))
			return -2;
		i += n;
		chars++;
	}
	return chars;
}

/*
 * A text field of min..120 characters into out. Returns 1 when present,
 * 0 when absent and optional, -1 with err set.
 */
static int title_field(const json_t *obj, const char *key, const char *prefix,
		       int required, const char *what, char *out,
		       lshop_error *err)
{
	json_t *v = lshop_json_get(obj, key);
	const char *s;
	size_t len;
	long chars;

	if (v == NULL) {
		if (required)
			lshop_field_error(err, "missing_field", prefix, key,
					  "is required: %s", what);
		return required ? -1 : 0;
	}
	if (!json_is_string(v)) {
		lshop_field_error(err, "invalid_field", prefix, key,
				  "must be %s", what);
		return -1;
	}
	chars = lshop_json_text(v, &s, &len) ? text_chars(s, len) : -1;
	if (chars == -1) {
		lshop_field_error(err, "invalid_field", prefix, key,
				  "must be valid UTF-8 text without NUL "
				  "characters");
		return -1;
	}
	if (chars == -2) {
		lshop_field_error(err, "invalid_field", prefix, key,
				  "must be one line of text, without control "
				  "characters (line breaks, tabs)");
		return -1;
	}
	if (chars > LSHOP_TITLE_CHARS || (required && chars < 1)) {
		lshop_field_error(err, "invalid_field", prefix, key,
				  "must be %d-%d characters long (it has %ld)",
				  required, LSHOP_TITLE_CHARS, chars);
		return -1;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 1;
}

/* 1 if v is an id of 1..max characters (A-Z a-z 0-9 . _ -). */
static int id_ok(const json_t *v, size_t max, const char **s, size_t *len)
{
	return lshop_json_text(v, s, len) && *len <= max &&
	       lshop_id_valid(*s, *len);
}

static int id_field(const json_t *obj, const char *expect_id, size_t max,
		    const char *prefix, char *out, lshop_error *err)
{
	json_t *j = lshop_json_get(obj, "id");
	const char *s = "";
	size_t len = 0;

	if (j == NULL && expect_id == NULL) {
		lshop_field_error(err, "missing_field", prefix, "id",
				  "is required: 1-%zu characters of A-Z a-z "
				  "0-9 . _ -",
				  max);
		return -1;
	}
	if (j == NULL) {
		s = expect_id;
		len = strlen(expect_id);
		if (len > max || !lshop_id_valid(s, len))
			len = 0;
	} else if (!id_ok(j, max, &s, &len)) {
		len = 0;
	}
	if (len == 0) {
		lshop_field_error(err, "invalid_field", prefix, "id",
				  "must be 1-%zu characters of A-Z a-z 0-9 "
				  ". _ -",
				  max);
		return -1;
	}
	if (expect_id != NULL &&
	    (strlen(expect_id) != len || memcmp(expect_id, s, len) != 0)) {
		lshop_field_error(err, "invalid_field", prefix, "id",
				  "\"%.*s\" does not match the show id in "
				  "the path, \"%.64s\"",
				  (int)len, s, expect_id);
		return -1;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

static int offers_field(const json_t *obj, const char *prefix, lshop_show *o,
			lshop_error *err)
{
	char key[24];
	json_t *v = lshop_json_get(obj, "offers"), *e;
	const char *s;
	size_t i, j, len;

	if (v == NULL)
		return 0;
	if (!json_is_array(v)) {
		lshop_field_error(err, "invalid_field", prefix, "offers",
				  "must be a list of offer ids like "
				  "[\"sku-123\"]");
		return -1;
	}
	if (json_array_size(v) > LSHOP_SHOW_OFFERS_MAX) {
		lshop_field_error(err, "invalid_field", prefix, "offers",
				  "must list at most %d offers (it has %zu)",
				  LSHOP_SHOW_OFFERS_MAX, json_array_size(v));
		return -1;
	}
	json_array_foreach(v, i, e)
	{
		snprintf(key, sizeof(key), "offers[%zu]", i);
		if (!id_ok(e, LSHOP_ID_MAX, &s, &len)) {
			lshop_field_error(err, "invalid_field", prefix, key,
					  "must be an offer id (1-64 "
					  "characters of A-Z a-z 0-9 . _ -)");
			return -1;
		}
		for (j = 0; j < i; j++) {
			if (strlen(o->offers[j]) == len &&
			    memcmp(o->offers[j], s, len) == 0) {
				lshop_field_error(err, "invalid_field", prefix,
						  key,
						  "\"%.*s\" is listed already "
						  "(offers[%zu])",
						  (int)len, s, j);
				return -1;
			}
		}
		memcpy(o->offers[i], s, len);
		o->offers[i][len] = '\0';
	}
	o->noffers = json_array_size(v);
	return 0;
}

static int rrule_field(const json_t *obj, const char *prefix, lshop_show *o,
		       lshop_error *err)
{
	json_t *v = lshop_json_get(obj, "rrule");
	char why[200];
	struct rule r;
	const char *s;
	size_t len;

	if (v == NULL)
		return 0;
	if (!lshop_json_text(v, &s, &len)) {
		lshop_field_error(err, "invalid_field", prefix, "rrule",
				  "must be a string, an RFC 5545 RRULE like "
				  "\"FREQ=WEEKLY;BYDAY=TH\"");
		return -1;
	}
	if (len == 0)
		return 0;
	if (rule_parse(s, len, &r, why, sizeof(why))) {
		lshop_field_error(err, "invalid_field", prefix, "rrule", "%s",
				  why);
		return -1;
	}
	if (r.until_ms < o->starts_at_ms) {
		lshop_field_error(err, "invalid_field", prefix, "rrule",
				  "UNTIL is before starts_at; the show would "
				  "never repeat");
		return -1;
	}
	rule_format(&r, o->rrule, sizeof(o->rrule));
	return 0;
}

int lshop_show_from_object(const json_t *obj, const char *expect_id,
			   int broadcast, const char *prefix, lshop_show *show,
			   lshop_error *err)
{
	char name[sizeof(err->field)];
	lshop_show o;
	const char *s;
	size_t len;
	json_t *j;

	if (!json_is_object(obj)) {
		/* The field is the show itself: prefix without its '.'. */
		snprintf(name, sizeof(name), "%s", *prefix ? prefix : "show.");
		name[strlen(name) - 1] = '\0';
		lshop_field_error(err, "invalid_field", "", name,
				  "must be a JSON object");
		return -1;
	}
	if (lshop_json_known_keys(
		obj, broadcast ? broadcast_keys : scheduled_keys, prefix, err))
		return -1;
	memset(&o, 0, sizeof(o));

	if (id_field(obj, expect_id,
		     broadcast ? LSHOP_ID_MAX : LSHOP_SHOW_ID_MAX, prefix, o.id,
		     err))
		return -1;

	j = lshop_json_get(obj, "series");
	if (j != NULL && !(lshop_json_text(j, &s, &len) && len == 0)) {
		if (!id_ok(j, LSHOP_SHOW_ID_MAX, &s, &len)) {
			lshop_field_error(err, "invalid_field", prefix,
					  "series",
					  "must be the id of a scheduled show "
					  "(1-%d characters of A-Z a-z 0-9 "
					  ". _ -)",
					  LSHOP_SHOW_ID_MAX);
			return -1;
		}
		memcpy(o.series, s, len);
	}

	if (title_field(obj, "title", prefix, 1,
			"a string of 1-120 characters (the show's name)",
			o.title, err) < 0 ||
	    title_field(obj, "host", prefix, 0,
			"a string of up to 120 characters (who presents it)",
			o.host, err) < 0)
		return -1;

	if (lshop_json_time_field(obj, "starts_at", prefix, 1, &o.starts_at_ms,
				  err) < 0)
		return -1;

	j = lshop_json_get(obj, "duration");
	if (j == NULL || !json_is_integer(j) ||
	    json_integer_value(j) < LSHOP_SHOW_DURATION_MIN ||
	    json_integer_value(j) > LSHOP_SHOW_DURATION_MAX) {
		lshop_field_error(
		    err, j ? "invalid_field" : "missing_field", prefix,
		    "duration",
		    "%s a whole number of seconds from %d to "
		    "%d, like 3600",
		    j ? "must be" : "is required:", LSHOP_SHOW_DURATION_MIN,
		    LSHOP_SHOW_DURATION_MAX);
		return -1;
	}
	o.duration_s = json_integer_value(j);

	if (rrule_field(obj, prefix, &o, err) ||
	    offers_field(obj, prefix, &o, err) ||
	    lshop_commission_field(obj, prefix, o.commission, err))
		return -1;

	*show = o;
	return 0;
}

int lshop_show_parse(const char *json, size_t len, const char *expect_id,
		     lshop_show *show, lshop_error *err)
{
	json_t *v;
	int r;

	v = lshop_json_load(json, len, "show", err);
	if (v == NULL)
		return -1;
	r = lshop_show_from_object(v, expect_id, 0, "", show, err);
	json_decref(v);
	return r;
}

json_t *lshop_show_object(const lshop_show *s)
{
	json_t *v = json_object(), *offers;
	size_t i;

	if (v == NULL)
		return NULL;
	if (lshop_json_set(v, "id", json_string(s->id)))
		goto fail;
	if (s->series[0] && lshop_json_set(v, "series", json_string(s->series)))
		goto fail;
	if (lshop_json_set(v, "title", json_string(s->title)))
		goto fail;
	if (s->host[0] && lshop_json_set(v, "host", json_string(s->host)))
		goto fail;
	if (lshop_json_set(v, "starts_at", lshop_json_time(s->starts_at_ms)) ||
	    lshop_json_set(v, "duration", json_integer(s->duration_s)))
		goto fail;
	if (s->rrule[0] && lshop_json_set(v, "rrule", json_string(s->rrule)))
		goto fail;
	offers = json_array();
	if (lshop_json_set(v, "offers", offers))
		goto fail;
	for (i = 0; i < s->noffers && i < LSHOP_SHOW_OFFERS_MAX; i++)
		if (json_array_append_new(offers, json_string(s->offers[i])))
			goto fail;
	if (s->commission[0] &&
	    lshop_json_set(v, "commission", json_string(s->commission)))
		goto fail;
	return v;
fail:
	json_decref(v);
	return NULL;
}

char *lshop_show_to_json(const lshop_show *show, size_t *len)
{
	return lshop_json_dump_owned(lshop_show_object(show), len);
}

/* ------------------------------------------------------------ broadcast */

/* Up to 120 characters of title into out; 0 if it is not a valid title. */
static int copy_title(char *out, const char *title)
{
	const unsigned char *p = (const unsigned char *)title;
	size_t len, i = 0, n;
	long chars = 0;

	if (title == NULL || title[0] == '\0')
		return 0;
	len = strlen(title);
	if (text_chars(title, len) < 0)
		return 0;
	while (i < len && chars < LSHOP_TITLE_CHARS) {
		n = lshop_utf8_seq(p + i, len - i);
		i += n;
		chars++;
	}
	memcpy(out, title, i);
	out[i] = '\0';
	return 1;
}

void lshop_show_broadcast(const lshop_show *scheduled, int64_t occurrence_ms,
			  int64_t now_ms, const char *default_title,
			  lshop_show *out)
{
	char t[LSHOP_TIME_LEN], id[LSHOP_ID_MAX + 1];

	if (scheduled != NULL) {
		/* out may be scheduled itself. */
		memcpy(id, scheduled->id, sizeof(id));
		id[LSHOP_ID_MAX] = '\0';
		*out = *scheduled;
		memcpy(out->series, id, sizeof(out->series));
		out->starts_at_ms = occurrence_ms;
		if (out->rrule[0]) {
			lshop_time_format(t, occurrence_ms);
			memset(out->id, 0, sizeof(out->id));
			snprintf(out->id, sizeof(out->id), "%.48s-%.4s%.2s%.2s",
				 id, t, t + 5, t + 8);
			memset(out->rrule, 0, sizeof(out->rrule));
		}
		return;
	}
	memset(out, 0, sizeof(*out));
	lshop_time_format(t, now_ms);
	snprintf(out->id, sizeof(out->id), "live-%.4s%.2s%.2s-%.2s%.2s%.2s", t,
		 t + 5, t + 8, t + 11, t + 14, t + 17);
	if (!copy_title(out->title, default_title))
		memcpy(out->title, "Live", 5);
	out->starts_at_ms = now_ms;
	out->duration_s = LSHOP_SHOW_UNSCHEDULED_S;
}

/* ------------------------------------------------------------- calendar */

/* A growing string; oom set once an allocation failed. */
struct buf {
	char *p;
	size_t len;
	size_t cap;
	int oom;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return;
	if (n >= b->cap - b->len) {
		cap = b->cap ? b->cap : 1024;
		while (n >= cap - b->len)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/*
 * RFC 5545 §3.3.11 TEXT: backslash, ';' and ',' escaped, line breaks
 * (CRLF, CR or LF) as \n. Other control characters (but HTAB) are not
 * allowed in TEXT and invalid UTF-8 would break the folding: both are
 * dropped.
 */
static void buf_text(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, n;

	while (i < len) {
		if (p[i] == '\\' || p[i] == ';' || p[i] == ',') {
			buf_add(b, "\\", 1);
			buf_add(b, s + i++, 1);
		} else if (p[i] == '\r' || p[i] == '\n') {
			buf_add(b, "\\n", 2);
			i += p[i] == '\r' && i + 1 < len && p[i + 1] == '\n'
				 ? 2
				 : 1;
		} else if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f) {
			i++;
		} else {
			n = lshop_utf8_seq(p + i, len - i);
			if (n > 0)
				buf_add(b, s + i, n);
			i += n ? n : 1;
		}
	}
}

/*
 * Ends the content line in line: appends it to out folded (RFC 5545
 * §3.1: at most 75 octets a line, without the CRLF; a continuation line
 * starts with one space), never inside a UTF-8 sequence; empties line.
 */
static void line_end(struct buf *out, struct buf *line)
{
	const unsigned char *p = (const unsigned char *)line->p;
	size_t i = 0, n, used = 0;

	if (line->oom) {
		out->oom = 1;
		return;
	}
	while (i < line->len) {
		/* line holds valid UTF-8 (buf_text sees to it) */
		n = lshop_utf8_seq(p + i, line->len - i);
		if (n == 0)
			n = 1;
		if (used + n > 75) {
			buf_add(out, "\r\n ", 3);
			used = 1;
		}
		buf_add(out, line->p + i, n);
		used += n;
		i += n;
	}
	buf_add(out, "\r\n", 2);
	line->len = 0;
}

/* A content line NAME:VALUE with VALUE as is (ASCII). */
static void put_line(struct buf *out, struct buf *line, const char *name,
		     const char *value)
{
	buf_str(line, name);
	buf_add(line, ":", 1);
	buf_str(line, value);
	line_end(out, line);
}

/* A content line NAME:VALUE with VALUE as TEXT. */
static void put_text(struct buf *out, struct buf *line, const char *name,
		     const char *value)
{
	buf_str(line, name);
	buf_add(line, ":", 1);
	buf_text(line, value);
	line_end(out, line);
}

static void put_time(struct buf *out, struct buf *line, const char *name,
		     int64_t ms)
{
	char t[17];

	ical_time(t, ms);
	put_line(out, line, name, t);
}

/* A URI property value must not need escaping: printable ASCII only. */
static int url_printable(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/* 1 if show has an occurrence that ends after now_ms. */
static int show_coming(const lshop_show *show, int64_t now_ms)
{
	int64_t t;

	return lshop_show_occurrences(show,
				      now_ms - show->duration_s * 1000 + 1,
				      TIME_LIMIT, &t, 1) > 0;
}

static void put_description(struct buf *out, struct buf *line,
			    const lshop_show *show,
			    lshop_offer_title_fn offer_title, void *arg)
{
	const char *title;
	size_t i, listed = 0;
	int any = 0;

	buf_str(line, "DESCRIPTION:");
	if (show->host[0]) {
		buf_text(line, "Host: ");
		buf_text(line, show->host);
		any = 1;
	}
	for (i = 0; offer_title != NULL && i < show->noffers &&
		    i < LSHOP_SHOW_OFFERS_MAX;
	     i++) {
		title = offer_title(arg, show->offers[i]);
		if (title == NULL || title[0] == '\0')
			continue;
		if (listed++ == 0) {
			if (any)
				buf_add(line, "\\n", 2);
			buf_text(line, "Offers: ");
		} else {
			buf_text(line, ", ");
		}
		buf_text(line, title);
		any = 1;
	}
	if (any)
		line_end(out, line);
	else
		line->len = 0;
}

static void put_event(struct buf *out, struct buf *line, const lshop_show *show,
		      const char *stream, const char *player_url,
		      int64_t now_ms, lshop_offer_title_fn offer_title,
		      void *arg)
{
	const char *c;

	buf_str(line, "UID:");
	buf_text(line, show->id);
	buf_add(line, "@", 1);
	for (c = stream; *c; c++)
		buf_add(line, *c == '/' ? "." : c, 1);
	buf_str(line, ".liveshop");
	line_end(out, line);
	put_time(out, line, "DTSTAMP", now_ms);
	put_time(out, line, "DTSTART", show->starts_at_ms);
	put_time(out, line, "DTEND",
		 show->starts_at_ms + show->duration_s * 1000);
	if (show->rrule[0])
		put_line(out, line, "RRULE", show->rrule);
	put_text(out, line, "SUMMARY", show->title);
	put_description(out, line, show, offer_title, arg);
	if (url_printable(player_url))
		put_line(out, line, "URL", player_url);
	put_line(out, line, "BEGIN", "VALARM");
	put_line(out, line, "ACTION", "DISPLAY");
	put_text(out, line, "DESCRIPTION", show->title);
	/* RFC 5545 §3.8.6.3: relative to the start by default. */
	put_line(out, line, "TRIGGER", "-PT15M");
	put_line(out, line, "END", "VALARM");
}

char *lshop_show_calendar(const lshop_show *shows, size_t n, const char *stream,
			  const char *player_url, int64_t now_ms,
			  lshop_offer_title_fn offer_title, void *arg,
			  size_t *len)
{
	struct buf out = {NULL, 0, 0, 0}, line = {NULL, 0, 0, 0};
	size_t i;

	if (stream == NULL)
		stream = "";
	now_ms = clamp_time(now_ms);
	put_line(&out, &line, "BEGIN", "VCALENDAR");
	put_line(&out, &line, "VERSION", "2.0");
	put_line(&out, &line, "PRODID", "-//liveshop//liveshop//EN");
	put_line(&out, &line, "CALSCALE", "GREGORIAN");
	put_line(&out, &line, "METHOD", "PUBLISH");
	put_text(&out, &line, "X-WR-CALNAME", stream);
	for (i = 0; i < n; i++) {
		if (!show_coming(&shows[i], now_ms))
			continue;
		put_line(&out, &line, "BEGIN", "VEVENT");
		put_event(&out, &line, &shows[i], stream, player_url, now_ms,
			  offer_title, arg);
		put_line(&out, &line, "END", "VEVENT");
	}
	put_line(&out, &line, "END", "VCALENDAR");
	free(line.p);
	if (out.oom) {
		free(out.p);
		return NULL;
	}
	if (len != NULL)
		*len = out.len;
	return out.p;
}
