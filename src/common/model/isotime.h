/*-------------------------------------------------------------------------
 *
 * isotime.h
 *	  ISO 8601 timestamps as Patroni writes them in the failover key's
 *	  "scheduled_at" (Python's datetime.isoformat() of an aware datetime).
 *
 * pghactl parses the time an operator gives for a scheduled switchover and
 * writes it back in Patroni's form; a keeper parses the value patronictl,
 * pghactl or pgha_switchover() wrote.  Plain C, no PostgreSQL dependencies,
 * unit-tested in test/unit/test_isotime.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_ISOTIME_H
#define PGHA_ISOTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "2026-11-24T21:05:00.123456+01:00" plus room to spare */
#define PGHA_ISOTIME_LEN	40

typedef struct PghaTimestamp
{
	int64_t		epoch_us;		/* microseconds since 1970-01-01 UTC */
	int			offset_sec;		/* the offset it was written with (east > 0) */
} PghaTimestamp;

/*
 * Parse "YYYY-MM-DD[T or space]HH:MM[:SS[.fraction]][Z | +HH | +HHMM |
 * +HH:MM]" (any case for T and Z, "-" offsets too).  Without an offset the
 * time is local time, as patronictl assumes (dateutil's tzlocal).  Digits
 * of the fraction beyond microseconds are dropped.  false with a message
 * on anything else, including impossible dates (February 30) and trailing
 * text.
 */
extern bool pgha_parse_isotime(const char *s, PghaTimestamp *out,
							   char *errbuf, size_t errlen);

/*
 * Python's isoformat() of the same instant: "YYYY-MM-DDTHH:MM:SS+HH:MM",
 * with ".ffffff" only when there are microseconds.
 */
extern void pgha_format_isotime(const PghaTimestamp *t, char *buf,
								size_t buflen);

/* the current time with the local offset */
extern void pgha_isotime_now(PghaTimestamp *out);

#endif							/* PGHA_ISOTIME_H */
