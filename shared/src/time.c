/*
 * liveshop core: time as UTC milliseconds, RFC 3339 on the wire.
 */
/* clock_gettime, whatever the compiler's C dialect */
#define _POSIX_C_SOURCE 200809L

#include <time.h>

#include "lshop/time.h"

#include "internal.h"

#define MS_PER_DAY INT64_C(86400000)

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t lshop_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void lshop_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int64_t lshop_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put_digits(char *out, unsigned v, int n)
{
	while (n-- > 0) {
		out[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

size_t lshop_time_format(char out[LSHOP_TIME_LEN], int64_t ms)
{
	/* RFC 3339 years have four digits: clamp to 0000..9999. */
	const int64_t lo = lshop_days_from_civil(0, 1, 1) * MS_PER_DAY;
	const int64_t hi = lshop_days_from_civil(10000, 1, 1) * MS_PER_DAY - 1;
	int64_t days, rem, y;
	unsigned m, d;

	if (ms < lo)
		ms = lo;
	if (ms > hi)
		ms = hi;
	days = ms / MS_PER_DAY;
	rem = ms % MS_PER_DAY;
	if (rem < 0) {
		rem += MS_PER_DAY;
		days--;
	}
	lshop_civil_from_days(days, &y, &m, &d);
	put_digits(out, (unsigned)y, 4);
	out[4] = '-';
	put_digits(out + 5, m, 2);
	out[7] = '-';
	put_digits(out + 8, d, 2);
	out[10] = 'T';
	put_digits(out + 11, (unsigned)(rem / 3600000), 2);
	out[13] = ':';
	put_digits(out + 14, (unsigned)(rem / 60000 % 60), 2);
	out[16] = ':';
	put_digits(out + 17, (unsigned)(rem / 1000 % 60), 2);
	out[19] = '.';
	put_digits(out + 20, (unsigned)(rem % 1000), 3);
	out[23] = 'Z';
	out[24] = '\0';
	return 24;
}

/* Reads exactly n digits at s[*i]. */
static int digits(const char *s, size_t len, size_t *i, int n, int *v)
{
	int r = 0;

	if (len - *i < (size_t)n)
		return -1;
	while (n-- > 0) {
		if (s[*i] < '0' || s[*i] > '9')
			return -1;
		r = r * 10 + (s[(*i)++] - '0');
	}
	*v = r;
	return 0;
}

static int expect(const char *s, size_t len, size_t *i, char c)
{
	if (*i >= len || s[*i] != c)
		return -1;
	(*i)++;
	return 0;
}

static int leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int lshop_time_parse(const char *s, size_t len, int64_t *ms)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, frac = 0, scale = 100;
	int sign = 0;
	size_t i = 0;
	int64_t t;

	if (s == NULL)
		return -1;
	if (digits(s, len, &i, 4, &y) || expect(s, len, &i, '-') ||
	    digits(s, len, &i, 2, &mo) || expect(s, len, &i, '-') ||
	    digits(s, len, &i, 2, &d))
		return -1;
	/* RFC 3339 §5.6 note: "T" and "Z" may be lower case. */
	if (i >= len || (s[i] != 'T' && s[i] != 't'))
		return -1;
	i++;
	if (digits(s, len, &i, 2, &h) || expect(s, len, &i, ':') ||
	    digits(s, len, &i, 2, &mi) || expect(s, len, &i, ':') ||
	    digits(s, len, &i, 2, &sec))
		return -1;
	if (i < len && s[i] == '.') {
		i++;
		if (i >= len || s[i] < '0' || s[i] > '9')
			return -1;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			frac += (s[i++] - '0') * scale;
			scale /= 10;
		}
	}
	if (i >= len)
		return -1;
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		sign = s[i++] == '-' ? -1 : 1;
		if (digits(s, len, &i, 2, &oh) || expect(s, len, &i, ':') ||
		    digits(s, len, &i, 2, &om))
			return -1;
	} else {
		return -1;
	}
	if (i != len)
		return -1;
	/* Unix time has no leap seconds, so ":60" cannot be represented. */
	if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59 ||
	    oh > 23 || om > 59)
		return -1;
	if (d > mdays[mo - 1] + (mo == 2 && leap(y)))
		return -1;
	t = lshop_days_from_civil(y, (unsigned)mo, (unsigned)d) * MS_PER_DAY +
	    (int64_t)h * 3600000 + (int64_t)mi * 60000 + (int64_t)sec * 1000 +
	    frac;
	t -= (int64_t)sign * ((int64_t)oh * 3600000 + (int64_t)om * 60000);
	*ms = t;
	return 0;
}
