/*-------------------------------------------------------------------------
 *
 * sync_plan.h
 *	  Synchronous mode on the leader, as a pure function: which standbys
 *	  to make synchronous, what synchronous_standby_names says, and what
 *	  the sync key may list, in an order that keeps safety rule 3.
 *
 * The invariant: every member the sync key lists has every commit the
 * leader acknowledged.  synchronous_standby_names is FIRST n (all n
 * picked), so a commit is acknowledged only once every picked standby
 * has flushed it.  Hence:
 *
 *	 1. unpublish first: the sync key drops the members no longer picked
 *		(the key may list fewer than have every commit, never more);
 *	 2. then synchronous_standby_names names the picked standbys ("*" in
 *		strict mode when none can be picked, "" otherwise);
 *	 3. a newly picked standby is published in the sync key only once
 *		the setting is in force for it and it has flushed the position
 *		the leader had then (caught_up, measured by the keeper).
 *
 * Candidates: streaming standbys with a member key, not tagged nosync or
 * nofailover (failover_priority 0 counts as nofailover).  Preference: the
 * ones listed now, then those the setting names already, then the most
 * advanced, then by name: the choice is stable while nothing fails.
 *
 * Plain C, unit-tested in test/unit/test_sync_plan.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_SYNC_PLAN_H
#define PGHA_SYNC_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.h"

/* a standby connected to the leader, as the keeper sees it */
typedef struct PghaSyncPeer
{
	char		name[PGHA_NAME_LEN];	/* its application_name */
	bool		streaming;
	int64_t		flush;
	bool		named;			/* synchronous_standby_names in force names it */
	bool		caught_up;		/* named, and has every acknowledged commit */
} PghaSyncPeer;

typedef struct PghaSyncPlan
{
	bool		write_narrowed; /* step 1: put "narrowed" in the sync key */
	PghaSyncState narrowed;
	int			npicked;		/* step 2: synchronous_standby_names */
	char		picked[PGHA_MAX_SYNC][PGHA_NAME_LEN];
	bool		any;			/* strict and none picked: "*" */
	bool		write_final;	/* step 3: put "final" in the sync key */
	PghaSyncState final;
	bool		pending;		/* a picked standby is not published yet */
} PghaSyncPlan;

extern void pgha_sync_plan(const PghaCluster *cl, const char *me,
						   const PghaSyncPeer *peers, int npeers,
						   PghaSyncPlan *out);

/*
 * The synchronous_standby_names value: "" (none), "*" (any), or
 * FIRST n ("a", "b") with n = the number named.  Names are double-quoted
 * (a '"' inside is doubled).  Writes at most buflen bytes; false if it
 * does not fit.
 */
extern bool pgha_sync_standby_names(const PghaSyncPlan *plan, char *buf,
									size_t buflen);

/* the text of pgha_sync.conf for that value (NULL: synchronous mode off) */
extern bool pgha_sync_conf_text(const char *ssn, char *buf, size_t buflen);

#endif							/* PGHA_SYNC_PLAN_H */
