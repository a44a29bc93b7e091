/*-------------------------------------------------------------------------
 *
 * test_isotime.c
 *	  Unit tests of the ISO 8601 timestamps of the failover key's
 *	  "scheduled_at" (src/common/model/isotime.c): the forms operators type, the
 *	  form Python's isoformat() writes, local time, and what is refused.
 *
 *-------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "isotime.h"

/* 2030-01-01T00:00:00+00:00 */
#define Y2030 INT64_C(1893456000)
#define US INT64_C(1000000)

static PghaTimestamp
parse_ok(const char *s)
{
	PghaTimestamp t;
	char		err[256] = "";

	if (!pgha_parse_isotime(s, &t, err, sizeof(err)))
		fail_msg("%s: %s", s, err);
	return t;
}

static void
assert_parses(const char *s, int64_t epoch_us, int offset, const char *formatted)
{
	PghaTimestamp t = parse_ok(s);
	char		buf[PGHA_ISOTIME_LEN];

	assert_int_equal(t.epoch_us, epoch_us);
	assert_int_equal(t.offset_sec, offset);
	pgha_format_isotime(&t, buf, sizeof(buf));
	assert_string_equal(buf, formatted);
}

static void
assert_refused(const char *s, const char *message)
{
	PghaTimestamp t;
	char		err[256] = "";

	assert_false(pgha_parse_isotime(s, &t, err, sizeof(err)));
	assert_string_equal(err, message);
}

static void
test_offsets(void **state)
{
	assert_parses("2030-01-01T12:00:00+00:00", (Y2030 + 12 * 3600) * US, 0,
				  "2030-01-01T12:00:00+00:00");
	assert_parses("2030-01-01T12:00:00Z", (Y2030 + 12 * 3600) * US, 0,
				  "2030-01-01T12:00:00+00:00");
	assert_parses("2030-01-01t12:00z", (Y2030 + 12 * 3600) * US, 0,
				  "2030-01-01T12:00:00+00:00");
	assert_parses("2030-01-01 12:00+01:00", (Y2030 + 11 * 3600) * US, 3600,
				  "2030-01-01T12:00:00+01:00");
	assert_parses("2030-01-01 12:00:30+0100", (Y2030 + 11 * 3600 + 30) * US, 3600,
				  "2030-01-01T12:00:30+01:00");
	assert_parses("2030-01-01T12:00+05", (Y2030 + 7 * 3600) * US, 5 * 3600,
				  "2030-01-01T12:00:00+05:00");
	assert_parses("2030-01-01T01:00-05:30", (Y2030 + 6 * 3600 + 30 * 60) * US, -(5 * 3600 + 1800),
				  "2030-01-01T01:00:00-05:30");
	/* an offset that moves the instant into the day before */
	assert_parses("2030-01-01T00:30+01:00", (Y2030 - 1800) * US, 3600,
				  "2030-01-01T00:30:00+01:00");
	/* surrounding whitespace is fine */
	assert_parses("  2030-01-01T12:00Z \n", (Y2030 + 12 * 3600) * US, 0,
				  "2030-01-01T12:00:00+00:00");
}

static void
test_fractions(void **state)
{
	/* what Patroni writes into the history key, and isoformat() */
	assert_parses("2026-11-23T23:48:53.124401+00:00",
				  INT64_C(1795477733) * US + 124401, 0,
				  "2026-11-23T23:48:53.124401+00:00");
	assert_parses("2030-01-01T12:00:00.5Z", (Y2030 + 12 * 3600) * US + 500000, 0,
				  "2030-01-01T12:00:00.500000+00:00");
	/* beyond microseconds: dropped */
	assert_parses("2030-01-01T12:00:00,1234567Z", (Y2030 + 12 * 3600) * US + 123456, 0,
				  "2030-01-01T12:00:00.123456+00:00");
	/* no fraction digits: refused */
	assert_refused("2030-01-01T12:00:00.Z",
				   "\"2030-01-01T12:00:00.Z\" is not an ISO 8601 time: write YYYY-MM-DDTHH:MM[:SS][+HH:MM]");
}

static void
test_calendar(void **state)
{
	assert_parses("2028-02-29T00:00Z", INT64_C(1835395200) * US, 0, "2028-02-29T00:00:00+00:00");
	assert_parses("2000-02-29T00:00Z", INT64_C(951782400) * US, 0, "2000-02-29T00:00:00+00:00");
	assert_parses("1970-01-01T00:00Z", 0, 0, "1970-01-01T00:00:00+00:00");
	assert_parses("1969-12-31T23:59:59.5Z", -500000, 0, "1969-12-31T23:59:59.500000+00:00");
	assert_parses("0001-01-01T00:00Z", INT64_C(-62135596800) * US, 0, "0001-01-01T00:00:00+00:00");
	assert_parses("9999-12-31T23:59:59Z", INT64_C(253402300799) * US, 0, "9999-12-31T23:59:59+00:00");
	assert_refused("2030-02-29T00:00Z", "\"2030-02-29T00:00Z\" is not a valid date and time");
	assert_refused("1900-02-29T00:00Z", "\"1900-02-29T00:00Z\" is not a valid date and time");
	assert_refused("2030-04-31T00:00Z", "\"2030-04-31T00:00Z\" is not a valid date and time");
	assert_refused("2030-13-01T00:00Z", "\"2030-13-01T00:00Z\" is not a valid date and time");
	assert_refused("2030-00-10T00:00Z", "\"2030-00-10T00:00Z\" is not a valid date and time");
	assert_refused("2030-01-00T00:00Z", "\"2030-01-00T00:00Z\" is not a valid date and time");
	assert_refused("0000-01-01T00:00Z", "\"0000-01-01T00:00Z\" is not a valid date and time");
	assert_refused("2030-01-01T24:00Z", "\"2030-01-01T24:00Z\" is not a valid date and time");
	assert_refused("2030-01-01T12:60Z", "\"2030-01-01T12:60Z\" is not a valid date and time");
	assert_refused("2030-01-01T12:00:60Z", "\"2030-01-01T12:00:60Z\" is not a valid date and time");
}

static void
test_syntax(void **state)
{
	const char *const bad[] = {
		"", "garbage", "now", "2030", "2030-1-01T12:00Z", "2030-01-1T12:00Z",
		"2030/01/01T12:00Z", "2030-01-01T1200Z", "2030-01-01T12Z",
		"2030-01-01T12:00:0Z", "2030-01-01T12:00 tomorrow",
		"2030-01-01T12:00+1", "2030-01-01T12:00+01:0", "2030-01-01T12:00+010",
		"2030-01-01T12:00ZZ", "2030-01-01T12:00:00.12.3Z", "+2030-01-01T12:00Z",
	};
	char		expected[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		snprintf(expected, sizeof(expected),
				 "\"%s\" is not an ISO 8601 time: write YYYY-MM-DDTHH:MM[:SS][+HH:MM]", bad[i]);
		assert_refused(bad[i], expected);
	}
	assert_refused("2030-01-01", "\"2030-01-01\" has no time of day: write YYYY-MM-DDTHH:MM[:SS][+HH:MM]");
	assert_refused("2030-01-01X12:00", "\"2030-01-01X12:00\" has no time of day: write YYYY-MM-DDTHH:MM[:SS][+HH:MM]");
	assert_refused("2030-01-01T12:00+24:00", "\"2030-01-01T12:00+24:00\" has an impossible UTC offset");
	assert_refused("2030-01-01T12:00+05:60", "\"2030-01-01T12:00+05:60\" has an impossible UTC offset");
	{
		PghaTimestamp t;
		char		err[256];

		assert_false(pgha_parse_isotime(NULL, &t, err, sizeof(err)));
	}
}

/* without an offset: local time, with the offset in force at that date */
static void
test_local_time(void **state)
{
	char	   *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

	/* central Europe, POSIX rules: no tzdata needed */
	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tzset();
	assert_parses("2030-01-01T12:00", (Y2030 + 11 * 3600) * US, 3600,
				  "2030-01-01T12:00:00+01:00");
	assert_parses("2030-07-01 12:00:00", INT64_C(1909130400) * US, 7200,
				  "2030-07-01T12:00:00+02:00");
	/* an explicit offset does not depend on the zone */
	assert_parses("2030-07-01 12:00:00+00:00", INT64_C(1909137600) * US, 0,
				  "2030-07-01T12:00:00+00:00");

	setenv("TZ", "UTC0", 1);
	tzset();
	assert_parses("2030-01-01T12:00", (Y2030 + 12 * 3600) * US, 0,
				  "2030-01-01T12:00:00+00:00");

	if (old)
	{
		setenv("TZ", old, 1);
		free(old);
	}
	else
		unsetenv("TZ");
	tzset();
}

static void
test_now(void **state)
{
	PghaTimestamp t;
	char		buf[PGHA_ISOTIME_LEN];
	PghaTimestamp back;
	char		err[256];
	time_t		before = time(NULL);

	pgha_isotime_now(&t);
	assert_true(t.epoch_us / US >= before && t.epoch_us / US <= time(NULL));
	/* what is written reads back as the same instant */
	pgha_format_isotime(&t, buf, sizeof(buf));
	assert_true(pgha_parse_isotime(buf, &back, err, sizeof(err)));
	assert_int_equal(back.epoch_us, t.epoch_us);
	assert_int_equal(back.offset_sec, t.offset_sec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_fractions),
		cmocka_unit_test(test_calendar),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_local_time),
		cmocka_unit_test(test_now),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
