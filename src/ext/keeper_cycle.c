/*-------------------------------------------------------------------------
 *
 * keeper_cycle.c
 *	  One HA cycle of the keeper: lease, read, decide, act.
 *
 *	 1. keep the member lease alive (grant a new one when it is gone or
 *		the shared ttl changed; keeper_lease.c); a primary's fencing
 *		deadline moves with each keepalive sent;
 *	 2. read every key under the cluster prefix in one range request;
 *	 3. let pgha_decide() say what to do (decide.c);
 *	 4. carry it out with Patroni's guarded writes: initialize and config
 *		create-if-absent, leader create-if-absent, held by the lease
 *		keepalive alone (written again only to move it to a new lease,
 *		guarded by value == us AND lease == the old one),
 *		the member key and the status key only when their value changed;
 *		fence, promote or follow (keeper_actions.c); on the leader, keep
 *		the members' slots and the history key.
 *
 * Any etcd error ends the cycle and is reported; nothing here throws.
 *
 *-------------------------------------------------------------------------
 */
#include "keeper.h"

#include <time.h>

#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "replication/walreceiver.h"

#include "keeper_identity.h"
#include "keeper_rebuild.h"
#include "settings.h"
#include "switchover.h"

void
keeper_read_local_state(CycleResult *res, uint64 *sysid)
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

char *
keeper_key_of(const Keeper *k, const char *name)
{
	return psprintf("%s%s", k->cfg.prefix, name);
}

bool
keeper_cycle_fail(CycleResult *res, const EtcdError *err)
{
	res->etcd_ok = false;
	res->err = *err;
	return false;
}

static inline bool
fail(CycleResult *res, const EtcdError *err)
{
	return keeper_cycle_fail(res, err);
}

static bool
read_cluster(Keeper *k, CycleResult *res)
{
	EtcdKVList	kvs;
	EtcdError	err;
	const EtcdKV *hist;

	if (etcd_get_prefix(k->client, k->cfg.prefix, &kvs, &err) != ETCD_OK)
		return fail(res, &err);
	res->cluster = palloc0(sizeof(PghaCluster));
	pgha_cluster_from_kvs(k->cfg.prefix, &kvs, res->cluster);
	hist = etcd_kvlist_find(&kvs, keeper_key_of(k, "history"));
	if (hist != NULL && hist->value_len < PGHA_HISTORY_MAX)
		res->history_json = pstrdup(hist->value);
	hist = etcd_kvlist_find(&kvs, keeper_key_of(k, "config"));
	if (hist != NULL)
		res->config_json = pstrdup(hist->value);
	keeper_rebuild_after_read(k, res, &kvs);
	etcd_kvlist_free(&kvs);
	res->have_cluster = true;
	if (res->cluster->has_config && !res->cluster->config_valid)
		keeper_log_problem(WARNING, ERRCODE_INVALID_PARAMETER_VALUE,
						   psprintf("the shared config key does not decode, using local settings: %s",
									res->cluster->last_decode_error));
	return true;
}

/* a guarded write of a key without lease; losing the race is fine */
static bool
guarded_put(Keeper *k, CycleResult *res, const char *name, const char *expected,
			const char *value)
{
	EtcdTxnResult txn;
	EtcdError	err;
	EtcdStatus	st;

	if (expected == NULL)
		st = etcd_create(k->client, keeper_key_of(k, name), value, 0, &txn, &err);
	else
		st = etcd_cas_value(k->client, keeper_key_of(k, name), expected, value, 0,
							&txn, &err);
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
	if (!keeper_rebuild_act(k, res, d))
		return false;
	if (d->write_initialize &&
		!guarded_put(k, res, "initialize",
					 res->cluster->has_initialize ? "" : NULL,
					 psprintf(UINT64_FORMAT, sysid)))
		return false;
	if (d->write_config)
	{
		PghaDynConfig cfg;
		char	   *json;
		bool		ok;

		/* etcd lost it: the copy cached in the data directory */
		if (keeper_cached_config() != NULL)
			return guarded_put(k, res, "config", NULL, keeper_cached_config());
		memset(&cfg, 0, sizeof(cfg));
		cfg.ttl = pgha_ttl;
		cfg.loop_wait = pgha_loop_wait;
		cfg.retry_timeout = pgha_retry_timeout;
		cfg.maximum_lag_on_failover = 1048576;
		json = pgha_config_to_json(&cfg);
		if (json == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
							errmsg("out of memory")));
		ok = guarded_put(k, res, "config", NULL, json);
		free(json);
		return ok;
	}
	return true;
}

/*
 * Take or hold the leader key.  Returns false on an etcd error.  *won says
 * whether the key is ours afterwards; when it is not, the cluster view is
 * corrected to the holder the failure branch returned.  A retried write
 * whose first attempt succeeded comes back "failed" with our own name as
 * the holder: that is a win.
 *
 * Holding the key means: its value is our name AND it sits on our current
 * lease.  Then the lease keepalive alone keeps it and nothing is written.
 * With our name on another lease (the previous one after a ttl change, or
 * one of an earlier life) it moves to the current lease with a write
 * guarded by both the value and that lease.
 */
static bool
leader_action(Keeper *k, CycleResult *res, PghaLeaderAction action, bool *won)
{
	EtcdTxnResult txn;
	EtcdError	err;
	EtcdStatus	st;
	char	   *key = keeper_key_of(k, "leader");
	const EtcdKV *cur;
	PghaCluster *cl = res->cluster;
	int64		lease = pgha_lease_current(&k->lease);

	*won = false;
	if (action == PGHA_LEADER_NONE)
		return true;
	if (action == PGHA_LEADER_HOLD && cl->has_leader &&
		strcmp(cl->leader, pgha_node_name) == 0 && cl->leader_lease == lease)
	{
		*won = true;
		return true;
	}
	if (action == PGHA_LEADER_ACQUIRE)
		st = etcd_create(k->client, key, pgha_node_name, lease, &txn, &err);
	else
	{
		ereport(LOG,
				(errmsg("pgha: moving the leader key from lease %lld to lease %lld",
						(long long) cl->leader_lease, (long long) lease)));
		st = etcd_cas_value_lease(k->client, key, pgha_node_name,
								  cl->leader_lease, pgha_node_name, lease,
								  &txn, &err);
	}
	if (st != ETCD_OK)
	{
		/* the outcome is unknown: the key may sit on the new lease too */
		pgha_lease_key_maybe_on(&k->lease, PGHA_KEY_LEADER, lease);
		etcd_txn_result_free(&txn);
		return fail(res, &err);
	}
	cur = txn.current.count > 0 ? &txn.current.kvs[0] : NULL;
	*won = txn.succeeded ||
		(cur != NULL && strcmp(cur->value, pgha_node_name) == 0 &&
		 cur->lease == lease);
	if (*won)
	{
		if (action == PGHA_LEADER_ACQUIRE)
			ereport(LOG,
					(errmsg("pgha: acquired the leader key; \"%s\" leads cluster \"%s\"",
							pgha_node_name, pgha_scope)));
		strlcpy(cl->leader, pgha_node_name, PGHA_NAME_LEN);
		cl->has_leader = true;
		cl->leader_lease = lease;
		pgha_lease_key_on(&k->lease, PGHA_KEY_LEADER, lease);
	}
	else
	{
		cl->has_leader = (cur != NULL);
		strlcpy(cl->leader, cur ? cur->value : "", PGHA_NAME_LEN);
		cl->leader_lease = cur ? cur->lease : 0;
		if (cur != NULL && strcmp(cur->value, pgha_node_name) == 0)
			pgha_lease_key_on(&k->lease, PGHA_KEY_LEADER, cur->lease);
		else
			pgha_lease_key_gone(&k->lease, PGHA_KEY_LEADER);
	}
	etcd_txn_result_free(&txn);
	return true;
}

static void
fill_member(const Keeper *k, const CycleResult *res, PghaMember *m)
{
	memset(m, 0, sizeof(*m));
	strlcpy(m->name, pgha_node_name, sizeof(m->name));
	snprintf(m->conn_url, sizeof(m->conn_url), "postgres://%s/postgres",
			 pgha_connect_address);
	pgha_api_url(m->api_url, sizeof(m->api_url));
	strlcpy(m->state, res->starting ? "starting" : "running", sizeof(m->state));
	strlcpy(m->role, res->role == PGHA_ROLE_PRIMARY ? "master" : "replica",
			sizeof(m->role));
	strlcpy(m->version, PGHA_VERSION_STRING, sizeof(m->version));
	m->xlog_location = (int64_t) res->lsn;
	m->timeline = res->timeline;
	m->nofailover = pgha_nofailover;
	m->failover_priority = pgha_failover_priority;
	strlcpy(m->instance, keeper_instance(), sizeof(m->instance));
	m->pause = k->paused;
	keeper_fill_member_ops(k, m);
}

/*
 * Put the member key on our lease, unless etcd already has exactly that.
 * force: put it anyway, so that its mod_revision says "fresh" (failover).
 */
static bool
publish_member(Keeper *k, CycleResult *res, bool force)
{
	PghaMember	m;
	const PghaMember *cur;
	char	   *json;
	char	   *now_json = NULL;
	EtcdError	err;
	EtcdStatus	st;

	int64		lease = pgha_lease_current(&k->lease);

	fill_member(k, res, &m);
	json = pgha_member_to_json(&m);
	if (json == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	cur = pgha_cluster_find_member(res->cluster, pgha_node_name);
	if (!force && cur != NULL && cur->lease == lease)
		now_json = pgha_member_to_json(cur);
	if (now_json != NULL && strcmp(now_json, json) == 0)
	{
		free(json);
		free(now_json);
		return true;
	}
	free(now_json);
	st = etcd_put(k->client, keeper_key_of(k, psprintf("members/%s", pgha_node_name)),
				  json, lease, &err);
	free(json);
	if (st != ETCD_OK)
	{
		pgha_lease_key_maybe_on(&k->lease, PGHA_KEY_MEMBER, lease);
		return fail(res, &err);
	}
	pgha_lease_key_on(&k->lease, PGHA_KEY_MEMBER, lease);
	return true;
}

static bool
publish_optime(Keeper *k, CycleResult *res)
{
	EtcdError	err;
	char	   *json;
	EtcdStatus	st;

	int64		now = etcd_now_ms();

	/* only a changed value, and at most once per loop_wait */
	if (res->cluster->has_optime && res->cluster->optime == (int64) res->lsn)
		return true;
	if (k->last_status_ms > 0 && res->cluster->has_optime &&
		now - k->last_status_ms < (int64) k->cfg.loop_wait * 1000)
		return true;
	k->last_status_ms = now;
	json = pgha_status_to_json((int64_t) res->lsn);
	if (json == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	st = etcd_put(k->client, keeper_key_of(k, "status"), json, 0, &err);
	free(json);
	if (st != ETCD_OK)
		return fail(res, &err);
	res->cluster->has_optime = true;
	res->cluster->optime = (int64) res->lsn;
	return true;
}

/*
 * After a promotion, record the timeline switch in the history key, from
 * the new timeline's history file (its last line: "<tli>\t<lsn>\t<reason>").
 */
static bool
record_history(Keeper *k, CycleResult *res)
{
	PghaCluster *cl = res->cluster;
	char		path[MAXPGPATH];
	char		line[1024] = "";
	char		buf[1024];
	FILE	   *f;
	unsigned int tli,
				hi,
				lo;
	char		reason[512] = "";
	EtcdKVList	cur;
	EtcdTxnResult txn;
	EtcdError	err;
	char	   *json;
	char		stamp[64];
	time_t		now = time(NULL);
	struct tm	tm;
	EtcdStatus	st;

	if (!keeper_restore_history(k, res))
		return false;
	if (res->timeline <= 1 || (cl->has_history && !cl->history_valid) ||
		cl->history_last_timeline >= res->timeline - 1)
		return true;
	snprintf(path, sizeof(path), "pg_wal/%08X.history", res->timeline);
	f = fopen(path, "r");
	if (f == NULL)
		return true;			/* e.g. recycled; nothing to record */
	while (fgets(buf, sizeof(buf), f) != NULL)
		if (buf[0] != '#' && buf[0] != '\n')
			strlcpy(line, buf, sizeof(line));
	fclose(f);
	if (sscanf(line, "%u\t%X/%X\t%511[^\n]", &tli, &hi, &lo, reason) < 3)
		return true;

	if (etcd_get(k->client, keeper_key_of(k, "history"), &cur, &err) != ETCD_OK)
		return fail(res, &err);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S+00:00", &tm);
	json = pgha_history_append(cur.count > 0 ? cur.kvs[0].value : NULL, (int) tli,
							   ((int64) hi << 32) | lo,
							   reason[0] ? reason : "no recovery target specified",
							   stamp, pgha_node_name);
	st = ETCD_ERR_NOMEM;
	if (json != NULL)
		st = etcd_cas_mod(k->client, keeper_key_of(k, "history"),
						  cur.count > 0 ? cur.kvs[0].mod_revision : 0, json, 0,
						  &txn, &err);
	etcd_kvlist_free(&cur);
	free(json);
	if (st != ETCD_OK)
	{
		if (st == ETCD_ERR_NOMEM)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		return fail(res, &err);
	}
	if (txn.succeeded)
		ereport(LOG, (errmsg("pgha: recorded the switch from timeline %u in the history key", tli)));
	etcd_txn_result_free(&txn);
	return true;
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
	bool		shared = false;

	if (cl->has_config && cl->config_valid)
	{
		if (pgha_valid_timing(cl->config.ttl, cl->config.loop_wait,
							  cl->config.retry_timeout, err, sizeof(err)))
		{
			shared = true;
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
	/* kept across reloads: a SIGHUP must not fall back to local values */
	k->have_shared_timing = shared;
	k->shared_ttl = ttl;
	k->shared_loop_wait = loop_wait;
	k->shared_retry_timeout = retry_timeout;
}

/*
 * What etcd says now about our keys: on which of our leases they sit (a
 * key on any other lease, or with another value, is not ours).
 */
static void
track_own_keys(Keeper *k, const PghaCluster *cl)
{
	const PghaMember *me = pgha_cluster_find_member(cl, pgha_node_name);

	if (cl->has_leader && strcmp(cl->leader, pgha_node_name) == 0)
		pgha_lease_key_on(&k->lease, PGHA_KEY_LEADER, cl->leader_lease);
	else
		pgha_lease_key_gone(&k->lease, PGHA_KEY_LEADER);
	if (me != NULL)
		pgha_lease_key_on(&k->lease, PGHA_KEY_MEMBER, me->lease);
	else
		pgha_lease_key_gone(&k->lease, PGHA_KEY_MEMBER);
}

/* remember when the leader was last seen, for the failover wait */
static void
track_leader(Keeper *k, const PghaCluster *cl)
{
	if (cl->has_leader)
	{
		k->last_leader_seen_rev = cl->revision;
		k->no_leader_since_ms = 0;
	}
	else if (k->no_leader_since_ms == 0)
		k->no_leader_since_ms = etcd_now_ms();
}

/*
 * The leader hands over: check the candidate once more (the cluster may
 * have changed since the request was written), checkpoint while writes
 * go on (keeper_precheckpoint_done: false until then, and the keeper
 * leads on), then stop writes as a fence does.  The watchdog publishes the final WAL position (the
 * shutdown checkpoint) and releases the leader key once postgres is down;
 * the candidate takes the key when it has received that position.
 */
static bool
switch_over(Keeper *k, CycleResult *res)
{
	PghaSwitchoverCheck check;
	const PghaFailover *f = &res->cluster->failover;
	PghaCluster *fresh = palloc(sizeof(PghaCluster));

	/* the candidate's key may be a loop_wait old: what our walsenders see */
	memcpy(fresh, res->cluster, sizeof(PghaCluster));
	pgha_freshen_live(fresh);
	pgha_switchover_check(fresh, f->member, false, false, &check);
	if (check.error != PGHA_SW_OK)
	{
		ereport(WARNING,
				(errmsg("pgha: refusing the switchover to \"%s\": %s",
						f->member[0] ? f->member : "the best replica", check.message),
				 errdetail("%s", check.detail)));
		keeper_clear_failover_key(k, res);
		res->verdict = PGHA_V_LEADER;
		return false;
	}
	if (!keeper_precheckpoint_done(k))
	{
		/* still leading, writes go on until the checkpoint is done */
		res->verdict = PGHA_V_LEADER;
		return false;
	}
	k->precheckpoint_since_ms = 0;
	keeper_fence_now(k, psprintf("switchover to %s", check.chosen));
	return true;
}

/* carry out the decision; false on an etcd error */
static bool
act(Keeper *k, CycleResult *res, const PghaDecision *d, uint64 sysid)
{
	bool		won = false;

	/* a switchover that went away (cancelled, refused) starts afresh */
	if (d->verdict != PGHA_V_SWITCHOVER)
		k->precheckpoint_since_ms = 0;
	switch (d->verdict)
	{
		case PGHA_V_FOREIGN_CLUSTER:
		case PGHA_V_DUPLICATE_NAME:
			return keeper_identity_act(k, res, d);	/* rule 6: write nothing */
		case PGHA_V_FENCE:
			keeper_fence_now(k, d->reason);
			return publish_member(k, res, false);
		case PGHA_V_PAUSED:
			return write_bootstrap_keys(k, res, d, sysid) &&
				publish_member(k, res, d->refresh_member);
		case PGHA_V_SWITCHOVER:
			/*
			 * Stop writes first.  Nothing else is written: the fast shutdown
			 * waits for this process to exit before its checkpoint, and the
			 * guard publishes the final position; a member key written here
			 * kept the outage ~0.1 s longer.
			 */
			if (switch_over(k, res))
				return true;
			/* FALLTHROUGH */
		case PGHA_V_LEADER:
			if (!write_bootstrap_keys(k, res, d, sysid) ||
				!leader_action(k, res, d->leader_action, &won))
				return false;
			if (!won && k->paused)
			{
				/* maintenance mode: never fence, as decide.c says */
				res->verdict = PGHA_V_PAUSED;
				return publish_member(k, res, false);
			}
			if (!won)
			{
				res->verdict = PGHA_V_FENCE;
				keeper_fence_now(k, psprintf("member \"%s\" holds the leader key",
											 res->cluster->leader));
				return publish_member(k, res, false);
			}
			/*
			 * After a promotion: a checkpoint, so that the control file says
			 * the new timeline (pg_rewind reads it there; a second after the
			 * promotion), and the history before the member key shows the
			 * new timeline to a rejoining old leader (node_plan.c).
			 */
			keeper_checkpoint_after_promote(k);
			if (!record_history(k, res) || !publish_member(k, res, false) ||
				!publish_optime(k, res) || !keeper_sync_manage(k, res))
				return false;
			keeper_sync_slots(res->cluster);
			if (res->cluster->has_failover &&
				strcmp(res->cluster->failover.member, pgha_node_name) == 0)
				keeper_clear_failover_key(k, res);	/* we took over: done */
			return res->etcd_ok;
		case PGHA_V_PROMOTING:
		case PGHA_V_CANDIDATE:
			/*
			 * The key first, then the member key: writes are waiting, and
			 * each etcd write is an fsync of etcd's.  In synchronous mode
			 * the sync key and setting come before the promotion.  The
			 * others' slots come in the cycle after it (the LEADER case):
			 * their files' fsyncs would compete with the startup process's
			 * new WAL segment.
			 */
			if (!write_bootstrap_keys(k, res, d, sysid) ||
				!leader_action(k, res, d->leader_action, &won))
				return false;
			if (won)
			{
				if (!keeper_sync_before_promote(k, res))
					return res->etcd_ok && publish_member(k, res, d->refresh_member);
				/* why, once: PROMOTING (the key is ours) has no reason */
				if (d->verdict == PGHA_V_CANDIDATE)
					keeper_note_promotion(d);
				keeper_promote(k);
				WakeupRecovery();	/* see keeper_wait() */
			}
			else
				res->verdict = res->cluster->has_leader ? PGHA_V_REPLICA
					: PGHA_V_NOT_CANDIDATE;
			return publish_member(k, res, d->refresh_member);
		case PGHA_V_WAIT_PEERS:
			k->quick_recheck = true;
			/* FALLTHROUGH */
		case PGHA_V_NOT_CANDIDATE:
			return write_bootstrap_keys(k, res, d, sysid) &&
				publish_member(k, res, d->refresh_member);
		case PGHA_V_REPLICA:
			if (!write_bootstrap_keys(k, res, d, sysid) ||
				!publish_member(k, res, false))
				return false;
			keeper_follow(res->cluster);
			keeper_check_dead_branch(k, res);
			return true;
	}
	return true;
}

/*
 * A standby whose member key will change soon on its own: still starting
 * (not consistent yet), promoting (the new leader's member key, its
 * members' slots and the checkpoint after the promotion wait for the
 * cycle after it), or replaying WAL of an older timeline than the
 * leader's (it rejoined, the switch record is on its way).
 */
static bool
standby_settling(const Keeper *k, const CycleResult *res)
{
	const PghaMember *leader;

	if (res->role != PGHA_ROLE_REPLICA || !res->have_cluster ||
		!res->etcd_ok)
		return false;
	if (res->starting || k->promote_requested)
		return true;
	if (!res->cluster->has_leader)
		return false;
	leader = pgha_cluster_find_member(res->cluster, res->cluster->leader);
	return leader != NULL && leader->timeline > res->timeline;
}

void
keeper_run_cycle(Keeper *k, CycleResult *res)
{
	PghaLocalState local;
	PghaDecision d;
	uint64		sysid;
	int64		deadline;

	memset(res, 0, sizeof(*res));
	res->etcd_ok = true;
	keeper_read_local_state(res, &sysid);
	if (res->role == PGHA_ROLE_PRIMARY && k->fence_deadline_ms == 0)
		k->fence_deadline_ms = k->started_ms + (int64) k->cfg.retry_timeout * 1000;
	keeper_check_fence(k, "the leader lease could not be renewed in time");
	if (k->fenced)
	{
		res->verdict = PGHA_V_FENCE;
		strlcpy(res->reason, "fenced: waiting for the shutdown", sizeof(res->reason));
		return;
	}

	/* every etcd request of this cycle ends before the fencing deadline */
	deadline = etcd_now_ms() + (int64) k->cfg.retry_timeout * 1000;
	if (res->role == PGHA_ROLE_PRIMARY)
		deadline = Min(deadline, k->fence_deadline_ms);
	etcd_client_set_deadline(k->client, deadline);

	if (!keeper_ensure_lease(k, res) || !read_cluster(k, res))
		goto done;
	track_own_keys(k, res->cluster);
	keeper_apply_shared_config(k, res->cluster);
	track_leader(k, res->cluster);
	k->paused = res->cluster->config.pause;
	keeper_serve_request(k, res);
	if (!res->etcd_ok)
		goto done;
	keeper_apply_params(k, res);

	memset(&local, 0, sizeof(local));
	local.name = pgha_node_name;
	local.in_recovery = (res->role != PGHA_ROLE_PRIMARY);
	local.system_identifier = sysid;
	local.lsn = (int64_t) res->lsn;
	local.timeline = res->timeline;
	/* Patroni: failover_priority 0 means the same as nofailover */
	local.nofailover = pgha_nofailover || pgha_failover_priority == 0;
	local.failover_priority = pgha_failover_priority;
	local.fresh_after_revision = k->last_leader_seen_rev;
	local.peers_wait_over = k->no_leader_since_ms != 0 &&
		etcd_now_ms() - k->no_leader_since_ms >= KEEPER_PEER_WAIT_MS;
	local.request_due = keeper_request_due(res->cluster, &k->request_due_ms);
	local.request_wait_over = k->no_leader_since_ms != 0 &&
		etcd_now_ms() - k->no_leader_since_ms >= KEEPER_REQUEST_WAIT_MS;
	keeper_identity_fill(k, res, &local);	/* rule 6, the watchdog device */
	local.upstream_alive = local.in_recovery && keeper_upstream_alive(k);
	local.promote_started = k->promote_requested || PromoteIsTriggered();
	pgha_decide(&local, res->cluster, &d);
	k->identity_refused = (d.verdict == PGHA_V_FOREIGN_CLUSTER ||
						   d.verdict == PGHA_V_DUPLICATE_NAME);
	res->verdict = d.verdict;
	strlcpy(res->reason, d.reason, sizeof(res->reason));

	if (act(k, res, &d, sysid))
		keeper_lease_revoke_retired(k);
	k->settling = standby_settling(k, res);
	k->settle_starting = res->starting;
	k->settle_timeline = res->timeline;

done:
	etcd_client_set_deadline(k->client, 0);
	/* the keys' moves of this cycle may have moved the deadline */
	keeper_lease_publish(k);
	keeper_check_fence(k, "the leader lease could not be renewed in time");
	keeper_watchdog_loop(k, res);
	keeper_run_operations(k, res);
}
