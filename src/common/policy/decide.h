/*-------------------------------------------------------------------------
 *
 * decide.h
 *	  The keeper's decision, as a pure function: given what postgres and
 *	  etcd say now, what does this node do?
 *
 * No I/O and no PostgreSQL dependencies, so that every case is covered by
 * unit tests without servers (test/unit/test_decide.c).  The keeper
 * gathers the inputs, calls pgha_decide(), and carries out the result.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_DECIDE_H
#define PGHA_DECIDE_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster.h"

/* what the keeper knows about its own postgres */
typedef struct PghaLocalState
{
	const char *name;			/* pgha.node_name */
	bool		in_recovery;	/* RecoveryInProgress() */
	uint64_t	system_identifier;
	int64_t		lsn;			/* write LSN, or max(received, replayed) */
	int			timeline;
	bool		nofailover;		/* tags of this member */
	int			failover_priority;

	/*
	 * Failover: member keys changed after this revision count as fresh (they
	 * were written after the leader was last seen).  Until peers_wait_over,
	 * a candidate waits for stale peers to refresh their positions.
	 */
	int64_t		fresh_after_revision;
	bool		peers_wait_over;

	/*
	 * The failover key: its scheduled time has come (or it has none), and,
	 * for the others than the named candidate, the time they defer to it
	 * is over (the candidate did not take the key).
	 */
	bool		request_due;
	bool		request_wait_over;

	/*
	 * Identity (safety rule 6): the lease this keeper holds (0 = none yet)
	 * and its instance identity (identity.h; NULL or "" = unknown).  A
	 * member key with our name on a live lease that is not ours, carrying
	 * another instance, means another live node uses our name.
	 */
	int64_t		lease;
	const char *instance;

	/*
	 * The watchdog device (pgha.watchdog_mode = required): false when it
	 * could not be activated; then this node neither takes nor keeps the
	 * leader key, and watchdog_problem says why.
	 */
	bool		watchdog_blocks;
	const char *watchdog_problem;

	/*
	 * The WAL receiver streams from a live primary and WAL still arrives
	 * (keeper_rebuild.c; false once the wait is bounded out): the leader key
	 * is gone but the primary is not (an etcd that lost its keys), so this
	 * replica does not race it for the key.
	 */
	bool		upstream_alive;
	/* this keeper asked for (or saw) the promotion of this standby */
	bool		promote_started;
} PghaLocalState;

typedef enum PghaLeaderAction
{
	PGHA_LEADER_NONE,			/* leave the leader key alone */
	PGHA_LEADER_ACQUIRE,		/* create it (create_revision == 0) */
	PGHA_LEADER_HOLD			/* refresh it (value == own name) */
} PghaLeaderAction;

typedef enum PghaVerdict
{
	PGHA_V_LEADER,				/* primary, holds or takes the leader key */
	PGHA_V_REPLICA,				/* in recovery, a leader exists */
	PGHA_V_PROMOTING,			/* in recovery and holds the leader key */
	PGHA_V_CANDIDATE,			/* in recovery, nobody leads, we are the best */
	PGHA_V_WAIT_PEERS,			/* nobody leads; waiting for peers' positions */
	PGHA_V_NOT_CANDIDATE,		/* nobody leads; another member is better */
	PGHA_V_FENCE,				/* primary, another member holds the key */
	PGHA_V_SWITCHOVER,			/* leader, a switchover away from it is due */
	PGHA_V_PAUSED,				/* maintenance mode: no failover, no fencing */
	PGHA_V_FOREIGN_CLUSTER,		/* initialize names another system */
	PGHA_V_DUPLICATE_NAME		/* another live member uses our name */
} PghaVerdict;

typedef struct PghaDecision
{
	PghaVerdict verdict;
	PghaLeaderAction leader_action;
	bool		promote;		/* trigger promotion once the key is ours */
	bool		write_initialize;	/* put our sysid in "initialize" */
	bool		write_config;	/* create "config" with bootstrap values */
	bool		publish_optime; /* put "status" {"optime": ...} */
	bool		refresh_member; /* put our member key even if unchanged */
	bool		release_stale_leader;	/* delete the leader key (value ==
										 * us): we did not take it */
	bool		clear_final;	/* delete "pgha_final": we lead now */
	int64_t		gives_up;		/* promoting: bytes of the stopped leader's
								 * final position we lack (0: none) */
	char		reason[160];	/* why, for the log and pgha_status() */
} PghaDecision;

extern void pgha_decide(const PghaLocalState *local, const PghaCluster *cl,
						PghaDecision *out);
extern const char *pgha_verdict_text(PghaVerdict v);

/*
 * The member key of another live node that uses name: on a lease (it
 * lives) that is not own_lease, with an instance other than own_instance
 * (our own previous life, after a postmaster restart, has ours).  NULL when
 * the name is ours to use.  A key without pgha_instance (Patroni, an older
 * pgha) on another lease counts as another node: its lease runs out within
 * ttl if it is in fact our own.
 */
extern const PghaMember *pgha_name_taken(const PghaCluster *cl,
										 const char *name, int64_t own_lease,
										 const char *own_instance);

/* the one-line reason for a taken name: member name "n1" is used by ... */
extern void pgha_name_taken_reason(const PghaMember *m, char *buf,
								   size_t buflen);

#endif							/* PGHA_DECIDE_H */
