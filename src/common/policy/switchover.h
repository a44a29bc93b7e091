/*-------------------------------------------------------------------------
 *
 * switchover.h
 *	  Who may take over in a switchover or a manual failover: the checks
 *	  shared by pgha_switchover() / pgha_failover() (SQL), pghactl and the
 *	  keeper that carries the request out.
 *
 * Plain C over the cluster model; unit-tested in test/unit/test_switchover.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_SWITCHOVER_H
#define PGHA_SWITCHOVER_H

#include <stdbool.h>
#include <stddef.h>

#include "cluster.h"
#include "sync_plan.h"

typedef enum PghaSwitchoverError
{
	PGHA_SW_OK = 0,
	PGHA_SW_NO_LEADER,			/* switchover needs a healthy leader */
	PGHA_SW_HAS_LEADER,			/* manual failover while a leader is healthy */
	PGHA_SW_PAUSED,				/* switchover refused in maintenance mode */
	PGHA_SW_UNKNOWN_CANDIDATE,
	PGHA_SW_CANDIDATE_IS_LEADER,
	PGHA_SW_NOT_HEALTHY,		/* candidate not a running replica on the timeline */
	PGHA_SW_LAGGING,			/* beyond maximum_lag_on_failover */
	PGHA_SW_NOFAILOVER,			/* tagged nofailover */
	PGHA_SW_NOT_SYNC,			/* synchronous mode, not in the sync key */
	PGHA_SW_NO_CANDIDATE		/* no member qualifies */
} PghaSwitchoverError;

typedef struct PghaSwitchoverCheck
{
	PghaSwitchoverError error;
	char		chosen[PGHA_NAME_LEN];	/* the candidate, when OK */
	char		message[256];	/* errmsg: lower case, no period */
	char		detail[256];	/* errdetail: a sentence */
	char		hint[256];		/* errhint: a sentence, may be "" */
} PghaSwitchoverCheck;

/*
 * failover: a manual failover (no healthy leader needed; with force, even
 * when one is there).  candidate NULL or "": the best replica.
 */
extern void pgha_switchover_check(const PghaCluster *cl, const char *candidate,
								  bool failover, bool force,
								  PghaSwitchoverCheck *out);

/*
 * The leader's fresher view, before a check made on the leader itself: a
 * replica's member key is up to loop_wait old (a WAL segment switch makes
 * it look 16 MB behind; right after a promotion it still names the old
 * timeline), while the leader's walsenders know where each streaming
 * standby is now.  me is this node, my_timeline and my_lsn its own
 * timeline and flush position; nothing changes unless me holds the leader
 * key.  A streaming standby's position is raised to its flush position,
 * and it counts as on my_timeline once it has flushed past the point where
 * that timeline began (the history key); positions are never lowered.
 */
extern void pgha_switchover_freshen(PghaCluster *cl, const char *me,
									int my_timeline, int64_t my_lsn,
									const PghaSyncPeer *peers, int npeers);

/*
 * The same on a replica (its api, pgha_switchover() run there), which
 * knows only itself: while its WAL receiver streams, on received_tl up to
 * flush, its own entry is on that timeline and at least that far, and the
 * leader, which sends that timeline, is on it or a later one.  Nothing
 * changes when me holds the leader key or does not stream; timelines and
 * positions are never lowered.
 */
extern void pgha_switchover_freshen_replica(PghaCluster *cl, const char *me,
											bool streaming, int received_tl,
											int64_t flush);

#endif							/* PGHA_SWITCHOVER_H */
