/*-------------------------------------------------------------------------
 *
 * cmd_heartbeat.c
 *	  pghactl heartbeat-check: the watchdog's guard against a hung keeper.
 *
 * A primary must stop accepting writes before its leader lease can expire
 * in etcd (rule 1).  The keeper fences itself at the deadline it publishes
 * in pgha.heartbeat; a keeper that is hung, stopped or stuck cannot, so the
 * watchdog, which calls this every interval, stops postgres when the
 * deadline has passed.  The rules are in pgha_heartbeat_verdict()
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

/*
 * The postmaster's start time from postmaster.pid (line 3, seconds since
 * the epoch), in ms; 0 when the file is absent; -1 when unreadable.
 */
static int64_t
postmaster_start_ms(const char *pgdata)
{
	char	   *text = pgha_read_small_file(pgdata, "postmaster.pid", 4096);
	char	   *line;
	long long	start;
	char	   *end;
	int			i;

	if (text == NULL)
		return errno == ENOENT ? 0 : -1;
	line = text;
	for (i = 0; i < 2 && line != NULL; i++)
	{
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	if (line == NULL)
	{
		free(text);
		return -1;
	}
	errno = 0;
	start = strtoll(line, &end, 10);
	if (errno != 0 || end == line || start <= 0 || (*end != '\n' && *end != '\0'))
	{
		free(text);
		return -1;
	}
	free(text);
	return (int64_t) start * 1000;
}

int
pghactl_cmd_heartbeat_check(const PghactlSettings *st, const PghactlArgs *args)
{
	PghaHeartbeat hb;
	bool		have_hb;
	char		errbuf[512];
	char		why[512];
	int64_t		start_ms;
	PghaGuardVerdict v;

	start_ms = postmaster_start_ms(args->pgdata);
	if (start_ms == 0)
	{
		printf("ok: postgres is not running (no %s/postmaster.pid)\n", args->pgdata);
		return PGHACTL_EXIT_OK;
	}

	errno = 0;
	have_hb = pgha_heartbeat_read(args->pgdata, &hb, errbuf, sizeof(errbuf));
	if (!have_hb && errno != ENOENT)
		fprintf(stderr, "pghactl: %s\n", errbuf);

	/* postmaster.pid gives the start on the wall clock: move it to boottime */
	if (start_ms > 0)
	{
		start_ms -= pgha_realtime_ms() - pgha_boottime_ms();
		if (start_ms <= 0)
			start_ms = 1;
	}
	v = pgha_heartbeat_verdict(have_hb ? &hb : NULL, start_ms < 0 ? 0 : start_ms,
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
