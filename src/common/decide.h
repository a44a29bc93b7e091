/*-------------------------------------------------------------------------
 *
 * decide.h
 *	  The keeper's decision, as a pure function: given what postgres and
 *	  etcd say now, what does this node do with the keys in etcd?
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
	PGHA_V_REPLICA_NO_LEADER,	/* in recovery and nobody leads */
	PGHA_V_LEADER_ELSEWHERE,	/* primary, but another member holds the key */
	PGHA_V_FOREIGN_CLUSTER		/* initialize names another system */
} PghaVerdict;

typedef struct PghaDecision
{
	PghaVerdict verdict;
	PghaLeaderAction leader_action;
	bool		write_initialize;	/* create "initialize" with our sysid */
	bool		write_config;	/* create "config" with bootstrap values */
	bool		publish_optime; /* put "status" {"optime": ...} */
} PghaDecision;

extern void pgha_decide(const PghaLocalState *local, const PghaCluster *cl,
						PghaDecision *out);
extern const char *pgha_verdict_text(PghaVerdict v);

#endif							/* PGHA_DECIDE_H */
