/*-------------------------------------------------------------------------
 *
 * cmd_heartbeat.c
 *	  pghactl heartbeat-check: the watchdog's guard against a hung keeper.
 *
 * A primary must stop accepting writes before its leader lease can expire
 * in etcd (rule 1).  The keeper fences itself at the deadline it publishes
 * in pgha.heartbeat; a keeper that is hung, stopped or stuck cannot, so the
 * watchdog's guard (pghactl guard, cmd_guard.c) kills postgres when the
 * deadline has passed; this one-shot check says what it would decide from
 * the heartbeat alone, for people and scripts.  The rules are in pgha_heartbeat_verdict()
 * (node_plan.c).  Local files only: no settings, no etcd, so the check
 * works however etcd is doing.
 *
 *-------------------------------------------------------------------------
 */
#include "pghactl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_files.h"
#include "node_plan.h"

int
pghactl_cmd_heartbeat_check(const PghactlSettings *st, const PghactlArgs *args)
{
	PghaHeartbeat hb;
	bool		have_hb;
	char		errbuf[512];
	char		why[512];
	PghactlProc pm;
	PghaGuardVerdict v;

	(void) st;
	if (!pghactl_postmaster_proc(args->pgdata, &pm, NULL, 0))
	{
		printf("ok: postgres is not running in %s\n", args->pgdata);
		return PGHACTL_EXIT_OK;
	}

	errno = 0;
	have_hb = pgha_heartbeat_read(args->pgdata, &hb, errbuf, sizeof(errbuf));
	if (!have_hb && errno != ENOENT)
		fprintf(stderr, "pghactl: %s\n", errbuf);

	/* the postmaster's start from /proc (CLOCK_BOOTTIME), no wall clock */
	v = pgha_heartbeat_verdict(have_hb ? &hb : NULL, pm.start_ms,
							   pgha_boottime_ms(), why, sizeof(why));
	switch (v)
	{
		case PGHA_GUARD_FENCE:
			printf("fence: %s\n", why);
			return PGHACTL_EXIT_FENCE;
		case PGHA_GUARD_WARN:
			printf("warning: %s\n", why);
			break;
		case PGHA_GUARD_OK:
			printf("ok: %s\n", why);
			break;
	}
	return PGHACTL_EXIT_OK;
}
