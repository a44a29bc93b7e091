/*-------------------------------------------------------------------------
 *
 * watchdog_policy.c
 *	  pgha.watchdog_mode decisions (see watchdog_policy.h).
 *
 *-------------------------------------------------------------------------
 */
#include "watchdog_policy.h"

#include <stdio.h>

int
pgha_watchdog_timeout(int ttl, int safety_margin)
{
	if (safety_margin == -1)
		return ttl / 2;
	return ttl - safety_margin;
}

PghaWatchdogVerdict
pgha_watchdog_verdict(PghaWatchdogMode mode, const PghaWatchdogAttempt *a,
					  char *msg, size_t msglen)
{
	PghaWatchdogVerdict bad = mode == PGHA_WD_REQUIRED ? PGHA_WDV_REFUSE
		: PGHA_WDV_WARN;

	msg[0] = '\0';
	if (mode == PGHA_WD_OFF)
		return PGHA_WDV_OK;
	if (a->wanted_timeout < a->loop_wait || a->wanted_timeout < 1)
	{
		snprintf(msg, msglen,
				 "the watchdog timeout ttl - pgha.watchdog_safety_margin (%d s) is shorter than loop_wait (%d s): no watchdog",
				 a->wanted_timeout, a->loop_wait);
		return bad;
	}
	if (!a->opened)
	{
		snprintf(msg, msglen, "the watchdog device %s could not be activated: %s",
				 a->device, a->error ? a->error : "unknown error");
		return bad;
	}
	if (a->actual_timeout > a->wanted_timeout)
	{
		snprintf(msg, msglen,
				 "the watchdog device %s took a timeout of %d s, longer than the %d s asked: it does not ensure the node is dead before its lease expires",
				 a->device, a->actual_timeout, a->wanted_timeout);
		return bad;
	}
	if (a->actual_timeout < a->loop_wait)
	{
		snprintf(msg, msglen,
				 "the watchdog device %s took a timeout of %d s, shorter than loop_wait (%d s)",
				 a->device, a->actual_timeout, a->loop_wait);
		return bad;
	}
	return PGHA_WDV_OK;
}
