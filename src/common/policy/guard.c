/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  The watchdog's hung-keeper guard over one postmaster's run: which
 *	  fencing deadline is armed, and when postgres must be killed (guard.h).
 *
 *-------------------------------------------------------------------------
 */
#include "guard.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void
pgha_guard_init(PghaGuard *g, int64_t postmaster_start_ms)
{
	memset(g, 0, sizeof(*g));
	g->postmaster_start_ms = postmaster_start_ms;
}

void
pgha_guard_observe(PghaGuard *g, const PghaHeartbeat *hb)
{
	if (hb == NULL)
		return;					/* missing or unparseable: keep what we know */
	/* a copy from another node or an earlier run (the watchdog removes it) */
	if (hb->written_ms < g->postmaster_start_ms)
		return;
	/* older than what we have: never go back */
	if (hb->written_ms < g->last_written_ms)
		return;
	g->last_written_ms = hb->written_ms;
	g->last_primary = hb->primary;
	strncpy(g->state, hb->state, sizeof(g->state) - 1);
	g->state[sizeof(g->state) - 1] = '\0';
	if (hb->primary)
	{
		/* a newer deadline, or none at all: maintenance mode never fences */
		g->primary_seen = true;
		g->deadline_ms = hb->fence_deadline_ms;
	}
	/*
	 * "replica" after a primary heartbeat of the same run: a keeper that
	 * restarted and does not know yet; the postmaster is still a primary
	 * (recovery is never entered again without a restart), so the deadline
	 * stays armed.
	 */
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

PghaGuardAction
pgha_guard_decide(const PghaGuard *g, int64_t now_ms, bool stopping,
				  int64_t *wake_ms, PghaGuardVerdict *level,
				  char *why, size_t whylen)
{
	int64_t		wake = INT64_MAX;

	*level = PGHA_GUARD_OK;
	if (g->deadline_ms > 0)
	{
		int64_t		kill_at = g->deadline_ms + PGHA_GUARD_GRACE_MS;
		int64_t		cut_at = g->deadline_ms + PGHA_GUARD_STOPPING_MAX_MS;

		if (now_ms >= kill_at)
		{
			if (stopping && now_ms < cut_at)
			{
				*wake_ms = cut_at;
				snprintf(why, whylen,
						 "past the fencing deadline and shutting down (the keeper's fence): killed if not down %d s after the deadline",
						 PGHA_GUARD_STOPPING_MAX_MS / 1000);
				return PGHA_GUARD_WAIT;
			}
			*wake_ms = now_ms;
			if (stopping)
				snprintf(why, whylen,
						 "a primary's shutdown still not finished %" PRId64 " ms after its fencing deadline",
						 now_ms - g->deadline_ms);
			else
				snprintf(why, whylen,
						 "keeper heartbeat past its fencing deadline: a primary %" PRId64 " ms past the deadline and not shutting down, last heartbeat written %" PRId64 " ms ago (state \"%s\")",
						 now_ms - g->deadline_ms,
						 g->last_written_ms > 0 ? now_ms - g->last_written_ms : -1,
						 g->state);
			return PGHA_GUARD_KILL;
		}
		wake = kill_at;
	}

	if (g->last_written_ms == 0)
	{
		int64_t		warn_at = g->postmaster_start_ms + PGHA_HEARTBEAT_ABSENT_WARN_MS;

		if (g->postmaster_start_ms > 0 && now_ms > warn_at)
		{
			*level = PGHA_GUARD_WARN;
			snprintf(why, whylen,
					 "no keeper heartbeat since postgres started more than %d s ago: is pgha in shared_preload_libraries, and is the keeper running?",
					 PGHA_HEARTBEAT_ABSENT_WARN_MS / 1000);
		}
		else
		{
			if (g->postmaster_start_ms > 0)
				wake = min64(wake, warn_at + 1);
			snprintf(why, whylen, "no keeper heartbeat yet");
		}
		*wake_ms = wake;
		return PGHA_GUARD_WAIT;
	}

	if (now_ms - g->last_written_ms > PGHA_HEARTBEAT_STALE_WARN_MS)
	{
		*level = PGHA_GUARD_WARN;
		snprintf(why, whylen,
				 "the keeper's last heartbeat is more than %d s old (%s, state \"%s\"): is it hung?%s",
				 PGHA_HEARTBEAT_STALE_WARN_MS / 1000,
				 g->last_primary ? "primary" : "replica", g->state,
				 g->deadline_ms > 0 ? " The fencing deadline stays armed." : "");
	}
	else
	{
		wake = min64(wake, g->last_written_ms + PGHA_HEARTBEAT_STALE_WARN_MS + 1);
		if (g->deadline_ms > 0 && g->last_primary)
			snprintf(why, whylen, "primary, fencing deadline armed (state \"%s\")", g->state);
		else if (g->deadline_ms > 0)
			snprintf(why, whylen,
					 "the keeper says replica (state \"%s\") but this postmaster was a primary: its last fencing deadline stays armed",
					 g->state);
		else
			snprintf(why, whylen, "%s (state \"%s\")",
					 g->last_primary ? "primary without a fencing deadline" : "replica",
					 g->state);
	}
	*wake_ms = wake;
	return PGHA_GUARD_WAIT;
}
