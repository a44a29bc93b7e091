/*-------------------------------------------------------------------------
 *
 * keeper_report.c
 *	  What the keeper tells the world: its view in shared memory (read by
 *	  pgha_status() and pgha_members()) and its problems in the log.
 *
 * A problem is logged once when it appears and once when it clears, not
 * every loop, so that a dead etcd does not flood the server log.
 *
 *-------------------------------------------------------------------------
 */
#include "keeper_identity.h"

#include "utils/timestamp.h"

static char logged_problem[PGHA_ERR_LEN] = "";

int
keeper_errcode_for(EtcdStatus st)
{
	switch (st)
	{
		case ETCD_OK:
			return ERRCODE_SUCCESSFUL_COMPLETION;
		case ETCD_ERR_UNAVAILABLE:
		case ETCD_ERR_TIMEOUT:
			return ERRCODE_CONNECTION_FAILURE;
		case ETCD_ERR_PROTOCOL:
			return ERRCODE_PROTOCOL_VIOLATION;
		case ETCD_ERR_AUTH:
			return ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION;
		case ETCD_ERR_DENIED:
			return ERRCODE_INSUFFICIENT_PRIVILEGE;
		case ETCD_ERR_CONFIG:
			return ERRCODE_INVALID_PARAMETER_VALUE;
		case ETCD_ERR_NOMEM:
			return ERRCODE_OUT_OF_MEMORY;
		case ETCD_ERR_NOT_FOUND:
		case ETCD_ERR_COMPACTED:
		case ETCD_ERR_SERVER:
			break;
	}
	return ERRCODE_EXTERNAL_ROUTINE_EXCEPTION;
}

void
keeper_log_problem(int elevel, int sqlerrcode, const char *msg)
{
	if (strcmp(logged_problem, msg) == 0)
		return;
	strlcpy(logged_problem, msg, sizeof(logged_problem));
	ereport(elevel, (errcode(sqlerrcode), errmsg("pgha: %s", msg)));
}

void
keeper_clear_problem(void)
{
	if (logged_problem[0] == '\0')
		return;
	ereport(LOG, (errmsg("pgha: resolved: %s", logged_problem)));
	logged_problem[0] = '\0';
}

static void
publish_common(const Keeper *k)
{
	pgha_shared->reported = true;
	pgha_shared->heartbeat = GetCurrentTimestamp();
	pgha_shared->ttl = k->cfg.ttl;
	pgha_shared->loop_wait = k->cfg.loop_wait;
	pgha_shared->retry_timeout = k->cfg.retry_timeout;
}

void
keeper_report_idle(const Keeper *k)
{
	keeper_log_problem(LOG, ERRCODE_INVALID_PARAMETER_VALUE, k->cfg.problem);
	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	publish_common(k);
	pgha_shared->role = PGHA_ROLE_UNKNOWN;
	strlcpy(pgha_shared->state, "idle", PGHA_STATE_LEN);
	strlcpy(pgha_shared->last_error, k->cfg.problem, PGHA_ERR_LEN);
	pgha_shared->has_cluster = false;
	LWLockRelease(pgha_shared->lock);
}

static int64
replica_lag(const CycleResult *res)
{
	if (res->role == PGHA_ROLE_PRIMARY)
		return 0;
	if (!res->have_cluster || !res->cluster->has_optime)
		return -1;
	return Max((int64) 0, res->cluster->optime - (int64) res->lsn);
}

void
keeper_report_cycle(const Keeper *k, const CycleResult *res)
{
	const char *state;
	char		problem[PGHA_ERR_LEN] = "";

	if (!res->etcd_ok)
	{
		snprintf(problem, sizeof(problem), "etcd request failed (%s): %s",
				 etcd_status_name(res->err.status), res->err.message);
		keeper_log_problem(WARNING, keeper_errcode_for(res->err.status), problem);
		state = "etcd unreachable";
	}
	else
	{
		if (keeper_identity_problem(res, problem, sizeof(problem)))
			keeper_log_problem(WARNING, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
							   problem);
		else
		{
			keeper_clear_problem();
			/* logged by keeper_params.c when it appeared */
			if (k->params_problem[0] != '\0')
				snprintf(problem, sizeof(problem),
						 "config key not applied: %s", k->params_problem);
		}
		state = res->starting ? "starting" : pgha_verdict_text(res->verdict);
	}

	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	publish_common(k);
	pgha_shared->role = res->role;
	strlcpy(pgha_shared->state, state, PGHA_STATE_LEN);
	pgha_shared->timeline = res->timeline;
	pgha_shared->wal_lsn = res->lsn;
	pgha_shared->lag_bytes = replica_lag(res);
	strlcpy(pgha_shared->last_error, problem, PGHA_ERR_LEN);
	pgha_shared->pending_restart = keeper_pending_restart(k);
	if (res->etcd_ok)
		pgha_shared->last_etcd_contact = GetCurrentTimestamp();
	if (res->have_cluster)
	{
		pgha_shared->has_cluster = true;
		memcpy(&pgha_shared->cluster, res->cluster, sizeof(PghaCluster));
		strlcpy(pgha_shared->history_json,
				res->history_json ? res->history_json : "", PGHA_HISTORY_MAX);
		pgha_shared->paused = res->cluster->config_valid &&
			res->cluster->config.pause;
	}
	LWLockRelease(pgha_shared->lock);
}

/* the loop's duration and the etcd client's counters, for /metrics */
void
keeper_report_timing(const Keeper *k, int64 cycle_us)
{
	EtcdClientStats st;

	memset(&st, 0, sizeof(st));
	if (k->client != NULL)
		etcd_client_stats(k->client, &st);
	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	pgha_shared->keeper_cycles++;
	pgha_shared->keeper_cycle_us = cycle_us;
	pgha_shared->keeper_cycle_max_us = Max(pgha_shared->keeper_cycle_max_us, cycle_us);
	pgha_shared->etcd_requests = st.requests;
	pgha_shared->etcd_request_us = st.last_us;
	pgha_shared->etcd_request_sum_us = st.sum_us;
	LWLockRelease(pgha_shared->lock);
}
