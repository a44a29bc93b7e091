/*-------------------------------------------------------------------------
 *
 * guard.h
 *	  The watchdog's hung-keeper guard, as a state kept over one postmaster's
 *	  run (pghactl guard, the watchdog's long-running helper).
 *
 * The keeper fences its primary at the fencing deadline it publishes in
 * pgha.heartbeat (SIGINT: a fast shutdown).  The guard is the backstop for
 * a keeper that cannot (hung, stopped, restarting) and for a postmaster
 * that does not act on the keeper's signal (stopped, stuck).  It remembers
 * the last deadline a primary heartbeat of this run gave, and keeps it
 * armed when the heartbeat goes missing, stale, unparseable, or says
 * "replica" (a primary never returns to recovery without a restart):
 * fail closed.  Only a newer primary heartbeat moves the deadline, and
 * only one without a deadline (maintenance mode) disarms it.
 *
 * Past deadline + PGHA_GUARD_GRACE_MS the guard kills postgres (SIGKILL to
 * its process group: works on stopped processes, needs nothing from the
 * postmaster), unless postgres is visibly shutting down (postmaster.pid
 * says "stopping": the keeper's fast shutdown, whose backends are already
 * terminated and whose shutdown checkpoint reaches the replicas); such a
 * shutdown is cut short only PGHA_GUARD_STOPPING_MAX_MS after the deadline.
 *
 * Every time is CLOCK_BOOTTIME in ms (pgha_boottime_ms()).  Pure functions,
 * unit-tested in test/unit/test_guard.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_GUARD_H
#define PGHA_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node_files.h"
#include "node_plan.h"

/*
 * A fast shutdown that started at the deadline and still says "stopping"
 * this long after it is killed: the writes stopped with the backends, but
 * a stuck shutdown (a stopped backend, a hung checkpoint) would keep the
 * node from rejoining for ever.  Long enough for the shutdown checkpoint
 * of a busy server.
 */
#define PGHA_GUARD_STOPPING_MAX_MS		15000

typedef struct PghaGuard
{
	int64_t		postmaster_start_ms;	/* a heartbeat written before is stale */
	int64_t		deadline_ms;	/* armed deadline; 0 = none */
	int64_t		last_written_ms;	/* of the newest heartbeat taken; 0 = none */
	bool		primary_seen;	/* a primary heartbeat of this run was seen */
	bool		last_primary;	/* what the newest heartbeat said */
	char		state[64];		/* its keeper state */
} PghaGuard;

typedef enum PghaGuardAction
{
	PGHA_GUARD_WAIT,			/* nothing to do until wake_ms */
	PGHA_GUARD_KILL				/* kill postgres now */
} PghaGuardAction;

extern void pgha_guard_init(PghaGuard *g, int64_t postmaster_start_ms);

/* take a heartbeat in (NULL: missing or unparseable, which changes nothing) */
extern void pgha_guard_observe(PghaGuard *g, const PghaHeartbeat *hb);

/*
 * What to do at now_ms, postgres running (stopping: postmaster.pid says
 * "stopping").  *wake_ms: when to decide again if nothing changes
 * (INT64_MAX: only when a heartbeat or postgres changes).  why: one line
 * for the log; *level: PGHA_GUARD_OK or PGHA_GUARD_WARN.
 */
extern PghaGuardAction pgha_guard_decide(const PghaGuard *g, int64_t now_ms,
										 bool stopping, int64_t *wake_ms,
										 PghaGuardVerdict *level,
										 char *why, size_t whylen);

#endif							/* PGHA_GUARD_H */
