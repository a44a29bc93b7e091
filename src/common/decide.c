/*-------------------------------------------------------------------------
 *
 * decide.c
 *	  The keeper's decision table (see decide.h).
 *
 * Rows are checked top to bottom; the first that matches decides.
 *
 *	 sysid differs from "initialize"     -> foreign cluster: touch nothing
 *	 primary, leader key absent          -> acquire it
 *	 primary, leader key is ours         -> hold it, publish optime
 *	 primary, leader key is another's    -> leader elsewhere (fencing: later)
 *	 in recovery, leader key present     -> replica
 *	 in recovery, leader key absent      -> replica without leader
 *
 * A primary also creates "initialize" (with its system identifier) when the
 * key is absent, and anyone creates "config" from its bootstrap values when
 * that key is absent: both writes are create-if-absent, so the first
 * writer wins and nobody overwrites another's value.
 *
 *-------------------------------------------------------------------------
 */
#include "decide.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static bool
same_system(const PghaLocalState *local, const PghaCluster *cl)
{
	char		sysid[PGHA_WORD_LEN];

	if (!cl->has_initialize || cl->initialize[0] == '\0')
		return true;
	snprintf(sysid, sizeof(sysid), "%" PRIu64, local->system_identifier);
	return strcmp(sysid, cl->initialize) == 0;
}

void
pgha_decide(const PghaLocalState *local, const PghaCluster *cl,
			PghaDecision *out)
{
	memset(out, 0, sizeof(*out));
	out->leader_action = PGHA_LEADER_NONE;
	out->write_config = !cl->has_config;

	if (!same_system(local, cl))
	{
		out->verdict = PGHA_V_FOREIGN_CLUSTER;
		out->write_config = false;
		return;
	}

	if (local->in_recovery)
	{
		out->verdict = cl->has_leader ? PGHA_V_REPLICA : PGHA_V_REPLICA_NO_LEADER;
		return;
	}

	out->write_initialize = !cl->has_initialize;
	if (!cl->has_leader)
	{
		out->verdict = PGHA_V_LEADER;
		out->leader_action = PGHA_LEADER_ACQUIRE;
		out->publish_optime = true;
	}
	else if (strcmp(cl->leader, local->name) == 0)
	{
		out->verdict = PGHA_V_LEADER;
		out->leader_action = PGHA_LEADER_HOLD;
		out->publish_optime = true;
	}
	else
		out->verdict = PGHA_V_LEADER_ELSEWHERE;
}

const char *
pgha_verdict_text(PghaVerdict v)
{
	switch (v)
	{
		case PGHA_V_LEADER:
			return "leading";
		case PGHA_V_REPLICA:
			return "following";
		case PGHA_V_REPLICA_NO_LEADER:
			return "no leader";
		case PGHA_V_LEADER_ELSEWHERE:
			return "leader key held by another member";
		case PGHA_V_FOREIGN_CLUSTER:
			return "system identifier differs from the cluster's";
	}
	return "unknown";
}
