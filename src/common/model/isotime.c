/*-------------------------------------------------------------------------
 *
 * isotime.c
 *	  ISO 8601 timestamps for the failover key's "scheduled_at" (see
 *	  isotime.h).
 *
 * The calendar arithmetic is done here (days from a civil date and back,
 * proleptic Gregorian) rather than with timegm(), so that a timestamp with
 * an explicit offset never depends on the process's time zone; only a
 * timestamp without an offset asks mktime() what local time means.
 *
 *-------------------------------------------------------------------------
 */
#include "isotime.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define USECS_PER_SEC	INT64_C(1000000)
#define SECS_PER_DAY	INT64_C(86400)

/* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant) */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era;
	int64_t		yoe;
	int64_t		doy;
	int64_t		doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t		era;
	int64_t		doe;
	int64_t		yoe;
	int64_t		doy;
	int64_t		mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = (int) (yoe + era * 400 + (*m <= 2));
}

static int
days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool		leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return (m == 2 && leap) ? 29 : days[m - 1];
}

/* exactly n digits at *p; advances *p */
static bool
digits(const char **p, int n, int *out)
{
	int			v = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (!isdigit((unsigned char) (*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

bool
pgha_parse_isotime(const char *s, PghaTimestamp *out, char *errbuf,
				   size_t errlen)
{
	const char *p = s;
	int			year,
				month,
				day,
				hour,
				minute,
				second = 0;
	int64_t		usec = 0;
	bool		has_offset = false;
	int			offset = 0;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		s = p = "";
	while (isspace((unsigned char) *p))
		p++;
	if (!digits(&p, 4, &year) || *p++ != '-' || !digits(&p, 2, &month) ||
		*p++ != '-' || !digits(&p, 2, &day))
		goto syntax;
	if (*p != 'T' && *p != 't' && *p != ' ')
	{
		snprintf(errbuf, errlen,
				 "\"%s\" has no time of day: write YYYY-MM-DDTHH:MM[:SS][+HH:MM]", s);
		return false;
	}
	p++;
	if (!digits(&p, 2, &hour) || *p++ != ':' || !digits(&p, 2, &minute))
		goto syntax;
	if (*p == ':')
	{
		p++;
		if (!digits(&p, 2, &second))
			goto syntax;
		if (*p == '.' || *p == ',')
		{
			int			n = 0;

			p++;
			if (!isdigit((unsigned char) *p))
				goto syntax;
			for (; isdigit((unsigned char) *p); p++, n++)
				if (n < 6)
					usec = usec * 10 + (*p - '0');
			for (; n < 6; n++)
				usec *= 10;
		}
	}
	if (*p == 'Z' || *p == 'z')
	{
		has_offset = true;
		p++;
	}
	else if (*p == '+' || *p == '-')
	{
		int			sign = (*p == '-') ? -1 : 1;
		int			oh,
					om = 0;

		p++;
		if (!digits(&p, 2, &oh))
			goto syntax;
		if (*p == ':')
		{
			p++;
			if (!digits(&p, 2, &om))
				goto syntax;
		}
		else if (isdigit((unsigned char) *p) && !digits(&p, 2, &om))
			goto syntax;
		if (oh > 23 || om > 59)
		{
			snprintf(errbuf, errlen, "\"%s\" has an impossible UTC offset", s);
			return false;
		}
		has_offset = true;
		offset = sign * (oh * 3600 + om * 60);
	}
	while (isspace((unsigned char) *p))
		p++;
	if (*p != '\0')
		goto syntax;

	if (year < 1 || month < 1 || month > 12 || day < 1 ||
		day > days_in_month(year, month) || hour > 23 || minute > 59 ||
		second > 59)
	{
		snprintf(errbuf, errlen, "\"%s\" is not a valid date and time", s);
		return false;
	}

	if (has_offset)
	{
		int64_t		secs = days_from_civil(year, month, day) * SECS_PER_DAY +
			hour * 3600 + minute * 60 + second - offset;

		out->epoch_us = secs * USECS_PER_SEC + usec;
		out->offset_sec = offset;
	}
	else
	{
		struct tm	tm;
		time_t		t;

		/*
		 * Local time, as patronictl reads a time without an offset.  In a
		 * daylight-saving gap mktime() moves the time forward; the written
		 * value shows the instant it chose.
		 */
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = year - 1900;
		tm.tm_mon = month - 1;
		tm.tm_mday = day;
		tm.tm_hour = hour;
		tm.tm_min = minute;
		tm.tm_sec = second;
		tm.tm_isdst = -1;
		t = mktime(&tm);
		if (t == (time_t) -1 && !(tm.tm_year == 69 && tm.tm_mon == 11 &&
								  tm.tm_mday == 31 && tm.tm_hour == 23))
		{
			snprintf(errbuf, errlen, "\"%s\" cannot be represented in local time", s);
			return false;
		}
		out->epoch_us = (int64_t) t * USECS_PER_SEC + usec;
		out->offset_sec = (int) tm.tm_gmtoff;
	}
	return true;

syntax:
	snprintf(errbuf, errlen,
			 "\"%s\" is not an ISO 8601 time: write YYYY-MM-DDTHH:MM[:SS][+HH:MM]", s);
	return false;
}

void
pgha_format_isotime(const PghaTimestamp *t, char *buf, size_t buflen)
{
	int64_t		local_us = t->epoch_us + (int64_t) t->offset_sec * USECS_PER_SEC;
	int64_t		secs = local_us / USECS_PER_SEC;
	int64_t		usec = local_us % USECS_PER_SEC;
	int64_t		days;
	int64_t		sod;
	int			y,
				m,
				d;
	int			off = t->offset_sec < 0 ? -t->offset_sec : t->offset_sec;
	char		frac[8] = "";

	if (usec < 0)
	{
		usec += USECS_PER_SEC;
		secs--;
	}
	days = secs / SECS_PER_DAY;
	sod = secs % SECS_PER_DAY;
	if (sod < 0)
	{
		sod += SECS_PER_DAY;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	if (usec != 0)
		snprintf(frac, sizeof(frac), ".%06d", (int) usec);
	snprintf(buf, buflen, "%04d-%02d-%02dT%02d:%02d:%02d%s%c%02d:%02d",
			 y, m, d, (int) (sod / 3600), (int) (sod / 60 % 60), (int) (sod % 60),
			 frac, t->offset_sec < 0 ? '-' : '+', off / 3600, off / 60 % 60);
}

void
pgha_isotime_now(PghaTimestamp *out)
{
	struct timeval tv;
	struct tm	tm;
	time_t		now;

	gettimeofday(&tv, NULL);
	now = tv.tv_sec;
	localtime_r(&now, &tm);
	out->epoch_us = (int64_t) tv.tv_sec * USECS_PER_SEC + tv.tv_usec;
	out->offset_sec = (int) tm.tm_gmtoff;
}
