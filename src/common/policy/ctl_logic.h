/*-------------------------------------------------------------------------
 *
 * ctl_logic.h
 *	  Decisions of pghactl's operator commands over the cluster model:
 *	  what came of a switchover or failover request, whether a cluster is
 *	  live (remove), and how a confirmation prompt's answer reads.
 *
 * Plain C in src/common so that the unit tests link it
 * (test/unit/test_ctl_logic.c); pghactl does the I/O around it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_CTL_LOGIC_H
#define PGHA_CTL_LOGIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.h"

typedef enum PghaRequestOutcome
{
	PGHA_OUTCOME_PENDING,		/* the request is still waiting */
	PGHA_OUTCOME_DONE,			/* the leader key names the candidate */
	PGHA_OUTCOME_OTHER,			/* another member took the leader key */
	PGHA_OUTCOME_GONE			/* the request was cleared without a new leader */
} PghaRequestOutcome;

/*
 * What came of a request for candidate (NULL or "": any member), judged
 * from one consistent read of the cluster, as Patroni's REST api polls it
 * (api.py, poll_failover_result): a leader key naming someone other than
 * old_leader (NULL or "": there was none) is the result, DONE when it is
 * the requested member or none was named, OTHER otherwise; the new leader
 * goes into new_leader.  Otherwise an empty failover key means the
 * keepers gave up on the request: GONE (a request written over it by
 * someone else keeps the wait going, as in Patroni, since the leader key
 * decides).  This relies on Patroni's order, which pgha's keeper must keep:
 * the new leader takes the leader key first and clears the failover key
 * after; a leader that declines clears the key and keeps the leader key.
 */
extern PghaRequestOutcome pgha_request_outcome(const PghaCluster *cl,
											   const char *old_leader,
											   const char *candidate,
											   char *new_leader,
											   size_t new_leader_len);

/*
 * How long a poll loop waiting until deadline (ms, the clock of now)
 * should pause before its next read: poll_ms, shortened so that the next
 * read still has read_ms before the deadline; -1 when no read of read_ms
 * fits any more and the wait is over.  The reserve keeps the last read of
 * a wait from being sent after the deadline (a sleep that overshoots by a
 * millisecond then made it fail as if etcd had not answered).
 */
extern int	pgha_poll_pause_ms(int64_t now, int64_t deadline, int poll_ms,
							   int read_ms);

/*
 * Is the cluster live: a leader key held (it lives on a lease, so some
 * member renewed it less than ttl ago) or a member reporting "running"?
 * Removing a live cluster's keys makes its keepers rewrite some of them
 * while others (initialize, config, history) are gone.  why says what was
 * seen, for the refusal.
 */
extern bool pgha_cluster_is_live(const PghaCluster *cl, char *why,
								 size_t whylen);

/*
 * A confirmation prompt's answer, as click.confirm reads it: y or yes (any
 * case) is 1, n, no or an empty line (the default, No) is 0, anything
 * else -1 (ask again).  Surrounding whitespace and the newline are ignored.
 */
extern int	pgha_parse_yes_no(const char *answer);

/*
 * pghactl topology, as patronictl's topology_sort(): the leader first
 * (level 0), then every other member under it (level 1) in the given
 * order; without a leader (NULL or absent) every member is at level 1.
 * order and level receive n entries (indexes into names).  pgha has no
 * cascading replicas (no replicatefrom tag), so there is no deeper level.
 */
extern void pgha_topology_order(const char *const *names, int n,
								const char *leader, int *order, int *level);

/* the Member cell: "name" at level 0, "+ name" indented 2 per level below */
extern void pgha_topology_name(const char *name, int level, char *buf,
							   size_t len);

#endif							/* PGHA_CTL_LOGIC_H */
