/*-------------------------------------------------------------------------
 *
 * watchdog_policy.h
 *	  pgha.watchdog_mode, as Patroni's watchdog.mode: may this node lead,
 *	  given what activating the Linux watchdog device gave?
 *
 * Pure, unit-tested (test/unit/test_decide.c); the device itself is driven
 * by src/ext/watchdog_dev.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_WATCHDOG_POLICY_H
#define PGHA_WATCHDOG_POLICY_H

#include <stdbool.h>
#include <stddef.h>

typedef enum PghaWatchdogMode
{
	PGHA_WD_OFF = 0,			/* never open the device */
	PGHA_WD_AUTOMATIC,			/* use it when it works, warn when not */
	PGHA_WD_REQUIRED			/* lead only with a working device */
} PghaWatchdogMode;

typedef struct PghaWatchdogAttempt
{
	bool		opened;			/* open() and WDIOC_SETTIMEOUT worked */
	int			wanted_timeout; /* ttl - safety_margin, seconds */
	int			actual_timeout; /* what the device took (WDIOC_GETTIMEOUT) */
	int			loop_wait;
	const char *error;			/* why it did not open, when !opened */
	const char *device;
} PghaWatchdogAttempt;

typedef enum PghaWatchdogVerdict
{
	PGHA_WDV_OK,				/* lead; nothing to say */
	PGHA_WDV_WARN,				/* lead, but say why the device does not protect */
	PGHA_WDV_REFUSE				/* do not lead; say why */
} PghaWatchdogVerdict;

/*
 * Patroni's rules (patroni/watchdog/base.py): a timeout of ttl -
 * safety_margin below loop_wait cannot be kept alive (unsafe: no device);
 * a device that did not open, or that took a longer timeout than asked,
 * does not ensure the old primary is dead before its lease expires.
 * required refuses then, automatic warns and goes on.
 */
extern PghaWatchdogVerdict pgha_watchdog_verdict(PghaWatchdogMode mode,
												 const PghaWatchdogAttempt *a,
												 char *msg, size_t msglen);

/* the timeout to ask for: ttl - safety_margin (Patroni: -1 = ttl / 2) */
extern int	pgha_watchdog_timeout(int ttl, int safety_margin);

#endif							/* PGHA_WATCHDOG_POLICY_H */
