/*-------------------------------------------------------------------------
 *
 * keeper_identity.c
 *	  Safety rule 6 in the keeper: a node whose system identifier differs
 *	  from the initialize key, or whose name another live member uses,
 *	  holds no key, writes nothing, does not stay writable, and says why.
 *
 * The decision is decide.c's (PGHA_V_FOREIGN_CLUSTER, PGHA_V_DUPLICATE_NAME,
 * with pgha_name_taken()); here are the keeper's parts:
 *	 - the instance identity of this data directory (identity.h), published
 *	   in the member key and compared with the member key in etcd;
 *	 - PGDATA/pgha.lease, rewritten (without fsync) when the lease changes,
 *	   so that pghactl leader-release can tell the node's own lease;
 *	 - acting on the verdict: fence a primary, write nothing;
 *	 - refusing requests (pgha_switchover(), pause, ...) with the reason.
 *
 *-------------------------------------------------------------------------
 */
#include "keeper_identity.h"

#include "access/xlog.h"
#include "miscadmin.h"

#include "identity.h"

static char instance[PGHA_INSTANCE_LEN] = "";
static bool instance_tried = false;
static int64 lease_recorded = 0;

/* this data directory's instance identity; "" when it cannot be known */
const char *
keeper_instance(void)
{
	char		err[256];

	if (!instance_tried)
	{
		instance_tried = true;
		if (!pgha_instance_id(DataDir, instance, sizeof(instance), err, sizeof(err)))
		{
			instance[0] = '\0';
			ereport(WARNING,
					(errmsg("pgha: no instance identity: %s", err),
					 errdetail("A restarted postmaster then waits for its previous member key to expire.")));
		}
	}
	return instance;
}

/* record the lease in PGDATA/pgha.lease when it changed (no fsync) */
static void
record_lease(const Keeper *k)
{
	PghaLeaseFile lf;
	char	   *text;
	char		err[256];

	if (pgha_lease_current(&k->lease) == 0 || pgha_lease_current(&k->lease) == lease_recorded ||
		keeper_instance()[0] == '\0')
		return;
	memset(&lf, 0, sizeof(lf));
	lf.lease_id = pgha_lease_current(&k->lease);
	lf.lease_ttl = k->lease.slot[0].ttl_s;
	strlcpy(lf.instance, keeper_instance(), sizeof(lf.instance));
	text = pgha_lease_file_text(&lf);
	if (text == NULL)
		return;
	if (pgha_write_file_replace(DataDir, PGHA_LEASE_FILE, text, err, sizeof(err)))
		lease_recorded = pgha_lease_current(&k->lease);
	else
		keeper_log_problem(WARNING, ERRCODE_IO_ERROR, err);
	free(text);
}

/* the identity and watchdog inputs of pgha_decide() */
void
keeper_identity_fill(const Keeper *k, const CycleResult *res,
					 PghaLocalState *local)
{
	const PghaCluster *cl = res->cluster;
	bool		could_lead;

	record_lease(k);
	local->lease = pgha_lease_current(&k->lease);
	local->instance = keeper_instance();
	could_lead = !local->in_recovery || !cl->has_leader ||
		strcmp(cl->leader, local->name) == 0;
	if (pgha_name_taken(cl, local->name, local->lease, local->instance) != NULL)
		could_lead = false;
	local->watchdog_blocks = keeper_watchdog_blocks(k, could_lead,
													&local->watchdog_problem);
}

/*
 * FOREIGN or DUPLICATE_NAME: no key is written (not even our member key:
 * it would replace the other node's address), a primary stops writes.
 */
bool
keeper_identity_act(Keeper *k, CycleResult *res, const PghaDecision *d)
{
	if (res->role == PGHA_ROLE_PRIMARY)
		keeper_fence_now(k, d->reason);
	return true;
}

/* why a request must be refused now; NULL when it may be served */
const char *
keeper_identity_refusal(const Keeper *k, const CycleResult *res)
{
	const PghaCluster *cl = res->cluster;
	const PghaMember *other;
	char		sysid[32];
	char		why[PGHA_ERR_LEN];

	snprintf(sysid, sizeof(sysid), UINT64_FORMAT, GetSystemIdentifier());
	if (cl->has_initialize && cl->initialize[0] != '\0' &&
		strcmp(cl->initialize, sysid) != 0)
		return psprintf("refused: system identifier %s differs from the cluster's %s (initialize key): this node belongs to another cluster",
						sysid, cl->initialize);
	other = pgha_name_taken(cl, pgha_node_name, pgha_lease_current(&k->lease), keeper_instance());
	if (other != NULL)
	{
		pgha_name_taken_reason(other, why, sizeof(why));
		return psprintf("refused: %s", why);
	}
	return NULL;
}

/* the problem to report for this cycle (pgha_status().last_error, the log) */
bool
keeper_identity_problem(const CycleResult *res, char *buf, size_t len)
{
	const char *wd = keeper_watchdog_problem();

	if (res->verdict == PGHA_V_FOREIGN_CLUSTER ||
		res->verdict == PGHA_V_DUPLICATE_NAME)
	{
		snprintf(buf, len, "%s; this node holds no key, writes nothing to etcd%s",
				 res->reason,
				 res->role == PGHA_ROLE_PRIMARY ? " and stops writes (fenced)" : "");
		return true;
	}
	if (wd[0] != '\0')
	{
		snprintf(buf, len, "%s", wd);
		return true;
	}
	return false;
}
