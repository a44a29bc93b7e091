/*-------------------------------------------------------------------------
 *
 * keeper_cycle.c
 *	  One HA cycle of the keeper: lease, read, decide, write.
 *
 *	 1. keep the member lease alive (grant a new one when it is gone or
 *		the shared ttl changed);
 *	 2. read every key under the cluster prefix in one range request;
 *	 3. let pgha_decide() say what to do (decide.c);
 *	 4. carry it out with Patroni's guarded writes: initialize and config
 *		create-if-absent, leader create-if-absent / hold if value == us,
 *		the member key and the status key only when their value changed.
 *
 * Any etcd error ends the cycle and is reported; nothing here throws.
 *
 *-------------------------------------------------------------------------
 */
#include "keeper.h"

#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "replication/walreceiver.h"

#include "settings.h"

static void
read_local_state(CycleResult *res, uint64 *sysid)
{
	*sysid = GetSystemIdentifier();
	if (!RecoveryInProgress())
	{
		res->role = PGHA_ROLE_PRIMARY;
		res->timeline = (int) GetWALInsertionTimeLine();
		res->lsn = GetXLogWriteRecPtr();
	}
	else
	{
		TimeLineID	tli = 0;
		XLogRecPtr	replay = GetXLogReplayRecPtr(&tli);
		XLogRecPtr	flush = GetWalRcvFlushRecPtr(NULL, NULL);

		res->role = PGHA_ROLE_REPLICA;
		res->timeline = (int) tli;
		res->lsn = Max(replay, flush);
		res->starting = !HotStandbyActive();
	}
}

static char *
key_of(const Keeper *k, const char *name)
{
	return psprintf("%s%s", k->cfg.prefix, name);
}

static bool
fail(CycleResult *res, const EtcdError *err)
{
	res->etcd_ok = false;
	res->err = *err;
	return false;
}

/*
 * Keep the lease alive.  The time the keepalive was sent (not answered) is
 * what bounds the lease's expiry in etcd, so that is what is recorded.
 */
static bool
ensure_lease(Keeper *k, CycleResult *res)
{
	EtcdError	err;
	int			ttl_left = 0;
	int64		sent = etcd_now_ms();

	if (k->lease_id != 0 && k->lease_ttl == k->cfg.ttl)
	{
		if (etcd_lease_keepalive(k->client, k->lease_id, &ttl_left, &err) != ETCD_OK)
			return fail(res, &err);
		if (ttl_left > 0)
		{
			k->last_keepalive_sent_ms = sent;
			return true;
		}
		ereport(LOG,
				(errmsg("pgha: lease %lld expired in etcd, granting a new one",
						(long long) k->lease_id)));
		k->lease_id = 0;
	}
	else if (k->lease_id != 0)
	{
		/* ttl changed: move the keys to a new lease, revoke the old one later */
		k->old_lease_id = k->lease_id;
		k->lease_id = 0;
	}

	sent = etcd_now_ms();
	if (etcd_lease_grant(k->client, k->cfg.ttl, &k->lease_id, &k->lease_ttl,
						 &err) != ETCD_OK)
	{
		k->lease_id = 0;
		return fail(res, &err);
	}
	k->last_keepalive_sent_ms = sent;
	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	pgha_shared->lease_id = k->lease_id;
	pgha_shared->lease_ttl = k->lease_ttl;
	LWLockRelease(pgha_shared->lock);
	return true;
}

static bool
read_cluster(Keeper *k, CycleResult *res)
{
	EtcdKVList	kvs;
	EtcdError	err;

	if (etcd_get_prefix(k->client, k->cfg.prefix, &kvs, &err) != ETCD_OK)
		return fail(res, &err);
	res->cluster = palloc0(sizeof(PghaCluster));
	pgha_cluster_from_kvs(k->cfg.prefix, &kvs, res->cluster);
	etcd_kvlist_free(&kvs);
	res->have_cluster = true;
	if (res->cluster->has_config && !res->cluster->config_valid)
		keeper_log_problem(WARNING, ERRCODE_INVALID_PARAMETER_VALUE,
						   psprintf("the shared config key does not decode, using local settings: %s",
									res->cluster->last_decode_error));
	return true;
}

/* a create-if-absent write; losing the race is fine */
static bool
create_key(Keeper *k, CycleResult *res, const char *name, const char *value)
{
	EtcdTxnResult txn;
	EtcdError	err;
	EtcdStatus	st;

	st = etcd_create(k->client, key_of(k, name), value, 0, &txn, &err);
	if (st == ETCD_OK && txn.succeeded)
		ereport(LOG, (errmsg("pgha: wrote the %s key of cluster \"%s\"",
							 name, pgha_scope)));
	etcd_txn_result_free(&txn);
	if (st != ETCD_OK)
		return fail(res, &err);
	return true;
}

static bool
write_bootstrap_keys(Keeper *k, CycleResult *res, const PghaDecision *d,
					 uint64 sysid)
{
	if (d->write_initialize &&
		!create_key(k, res, "initialize", psprintf(UINT64_FORMAT, sysid)))
		return false;
	if (d->write_config)
	{
		PghaDynConfig cfg;
		char	   *json;
		bool		ok;

		memset(&cfg, 0, sizeof(cfg));
		cfg.ttl = pgha_ttl;
		cfg.loop_wait = pgha_loop_wait;
		cfg.retry_timeout = pgha_retry_timeout;
		cfg.maximum_lag_on_failover = 1048576;
		json = pgha_config_to_json(&cfg);
		if (json == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
							errmsg("out of memory")));
		ok = create_key(k, res, "config", json);
		free(json);
		return ok;
	}
	return true;
}

/*
 * Take or hold the leader key.  A lost race or a key that is no longer
 * ours changes the verdict; the next cycle sees the new holder.
 */
static bool
leader_action(Keeper *k, CycleResult *res, const PghaDecision *d)
{
	EtcdTxnResult txn;
	EtcdError	err;
	EtcdStatus	st;
	char	   *key = key_of(k, "leader");

	if (d->leader_action == PGHA_LEADER_NONE)
		return true;
	if (d->leader_action == PGHA_LEADER_ACQUIRE)
		st = etcd_create(k->client, key, pgha_node_name, k->lease_id, &txn, &err);
	else
		st = etcd_cas_value(k->client, key, pgha_node_name, pgha_node_name,
							k->lease_id, &txn, &err);
	if (st != ETCD_OK)
	{
		etcd_txn_result_free(&txn);
		return fail(res, &err);
	}
	if (txn.succeeded)
	{
		if (d->leader_action == PGHA_LEADER_ACQUIRE)
			ereport(LOG,
					(errmsg("pgha: acquired the leader key; \"%s\" leads cluster \"%s\"",
							pgha_node_name, pgha_scope)));
		strlcpy(res->cluster->leader, pgha_node_name, PGHA_NAME_LEN);
		res->cluster->has_leader = true;
		res->cluster->leader_lease = k->lease_id;
	}
	else
	{
		const EtcdKV *cur = txn.current.count > 0 ? &txn.current.kvs[0] : NULL;

		res->verdict = PGHA_V_LEADER_ELSEWHERE;
		res->cluster->has_leader = (cur != NULL);
		if (cur)
			strlcpy(res->cluster->leader, cur->value, PGHA_NAME_LEN);
		ereport(WARNING,
				(errmsg("pgha: the leader key is held by \"%s\", not by this primary",
						cur ? cur->value : "(nobody)")));
	}
	etcd_txn_result_free(&txn);
	return true;
}

static void
fill_member(const CycleResult *res, PghaMember *m)
{
	memset(m, 0, sizeof(*m));
	strlcpy(m->name, pgha_node_name, sizeof(m->name));
	snprintf(m->conn_url, sizeof(m->conn_url), "postgres://%s/postgres",
			 pgha_connect_address);
	strlcpy(m->state, res->starting ? "starting" : "running", sizeof(m->state));
	strlcpy(m->role, res->role == PGHA_ROLE_PRIMARY ? "master" : "replica",
			sizeof(m->role));
	strlcpy(m->version, PGHA_VERSION_STRING, sizeof(m->version));
	m->xlog_location = (int64_t) res->lsn;
	m->timeline = res->timeline;
	m->failover_priority = 1;
}

/* put the member key on our lease, unless etcd already has exactly that */
static bool
publish_member(Keeper *k, CycleResult *res)
{
	PghaMember	m;
	const PghaMember *cur;
	char	   *json;
	char	   *now_json = NULL;
	EtcdError	err;
	EtcdStatus	st;

	fill_member(res, &m);
	json = pgha_member_to_json(&m);
	if (json == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	cur = pgha_cluster_find_member(res->cluster, pgha_node_name);
	if (cur != NULL && cur->lease == k->lease_id)
		now_json = pgha_member_to_json(cur);
	if (now_json != NULL && strcmp(now_json, json) == 0)
	{
		free(json);
		free(now_json);
		return true;
	}
	free(now_json);
	st = etcd_put(k->client, key_of(k, psprintf("members/%s", pgha_node_name)),
				  json, k->lease_id, &err);
	free(json);
	if (st != ETCD_OK)
		return fail(res, &err);
	return true;
}

static bool
publish_optime(Keeper *k, CycleResult *res)
{
	EtcdError	err;
	char	   *json;
	EtcdStatus	st;

	if (res->cluster->has_optime && res->cluster->optime == (int64) res->lsn)
		return true;
	json = pgha_status_to_json((int64_t) res->lsn);
	if (json == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	st = etcd_put(k->client, key_of(k, "status"), json, 0, &err);
	free(json);
	if (st != ETCD_OK)
		return fail(res, &err);
	res->cluster->has_optime = true;
	res->cluster->optime = (int64) res->lsn;
	return true;
}

/* the keys have moved to the new lease: the old one can go */
static void
revoke_old_lease(Keeper *k)
{
	EtcdError	err;

	if (k->old_lease_id == 0)
		return;
	if (etcd_lease_revoke(k->client, k->old_lease_id, &err) == ETCD_OK ||
		err.status == ETCD_ERR_NOT_FOUND)
		k->old_lease_id = 0;
}

/*
 * The shared config key wins over the local bootstrap values, as in
 * Patroni, but only when its timing is valid.
 */
void
keeper_apply_shared_config(Keeper *k, const PghaCluster *cl)
{
	char		err[256];
	int			ttl = pgha_ttl;
	int			loop_wait = pgha_loop_wait;
	int			retry_timeout = pgha_retry_timeout;

	if (cl->has_config && cl->config_valid)
	{
		if (pgha_valid_timing(cl->config.ttl, cl->config.loop_wait,
							  cl->config.retry_timeout, err, sizeof(err)))
		{
			ttl = cl->config.ttl;
			loop_wait = cl->config.loop_wait;
			retry_timeout = cl->config.retry_timeout;
		}
		else
			keeper_log_problem(WARNING, ERRCODE_INVALID_PARAMETER_VALUE,
							   psprintf("ignoring the timing of the shared config key: %s", err));
	}
	k->cfg.ttl = ttl;
	k->cfg.loop_wait = loop_wait;
	k->cfg.retry_timeout = retry_timeout;
}

void
keeper_run_cycle(Keeper *k, CycleResult *res)
{
	PghaLocalState local;
	PghaDecision d;
	uint64		sysid;

	memset(res, 0, sizeof(*res));
	res->etcd_ok = true;
	read_local_state(res, &sysid);
	etcd_client_set_deadline(k->client,
							 etcd_now_ms() + (int64) k->cfg.retry_timeout * 1000);

	if (!ensure_lease(k, res) || !read_cluster(k, res))
		goto done;
	keeper_apply_shared_config(k, res->cluster);

	local.name = pgha_node_name;
	local.in_recovery = (res->role != PGHA_ROLE_PRIMARY);
	local.system_identifier = sysid;
	pgha_decide(&local, res->cluster, &d);
	res->verdict = d.verdict;

	if (d.verdict == PGHA_V_FOREIGN_CLUSTER)
		goto done;				/* touch nothing of another system's cluster */
	if (!write_bootstrap_keys(k, res, &d, sysid) ||
		!leader_action(k, res, &d) ||
		!publish_member(k, res))
		goto done;
	if (d.publish_optime && res->verdict == PGHA_V_LEADER &&
		!publish_optime(k, res))
		goto done;
	revoke_old_lease(k);

done:
	etcd_client_set_deadline(k->client, 0);
}
