/*-------------------------------------------------------------------------
 *
 * keeper_requests.c
 *	  Requests to change the cluster: from SQL functions (through shared
 *	  memory) and from the failover key (whoever wrote it: pgha's SQL,
 *	  pghactl, patronictl).
 *
 * SQL functions cannot talk to etcd (no etcd I/O in user backends), so the
 * keeper writes for them: the failover key for a switchover or manual
 * failover, the pause flag of the config key.  Each write is a
 * compare-and-swap on the key's mod_revision, so a concurrent change by
 * another member or tool is never overwritten.  The outcome goes back
 * through shared memory and a condition variable.
 *
 * The failover key itself is acted on by the decision table (decide.c);
 * here are the keeper's duties around it: reset it to {} once the named
 * member leads (as Patroni does) or when the leader refuses it.
 *
 *-------------------------------------------------------------------------
 */
#include "keeper_identity.h"

#include "storage/condition_variable.h"

#include "isotime.h"

/* the pending request, if any (copied) */
bool
keeper_pending_request(PghaRequest *out)
{
	LWLockAcquire(pgha_shared->lock, LW_SHARED);
	*out = pgha_shared->request;
	LWLockRelease(pgha_shared->lock);
	return out->kind != PGHA_REQ_NONE;
}

void
keeper_finish_request(uint64 id, bool ok, const char *message)
{
	keeper_finish_request_status(id, ok ? 200 : 503, message);
}

/* the outcome with Patroni's HTTP status for it (pgha.h) */
void
keeper_finish_request_status(uint64 id, int status, const char *message)
{
	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	if (pgha_shared->request.id == id)
		pgha_shared->request.kind = PGHA_REQ_NONE;
	pgha_shared->outcome.id = id;
	pgha_shared->outcome.ok = status < 300;
	pgha_shared->outcome.status = status;
	strlcpy(pgha_shared->outcome.message, message, PGHA_ERR_LEN);
	LWLockRelease(pgha_shared->lock);
	ConditionVariableBroadcast(&pgha_shared->outcome_cv);
}

/* put value on key if its mod_revision is still mod_rev; *won tells */
static bool
cas(Keeper *k, CycleResult *res, const char *name, int64 mod_rev,
	const char *value, bool *won)
{
	EtcdTxnResult txn;
	EtcdError	err;
	EtcdStatus	st;

	st = etcd_cas_mod(k->client, keeper_key_of(k, name), mod_rev, value, 0, &txn, &err);
	*won = (st == ETCD_OK && txn.succeeded);
	etcd_txn_result_free(&txn);
	if (st != ETCD_OK)
	{
		res->etcd_ok = false;
		res->err = err;
		return false;
	}
	return true;
}

static bool
set_pause(Keeper *k, CycleResult *res, bool pause, char *msg, size_t len)
{
	for (int attempt = 0; attempt < 3; attempt++)
	{
		EtcdKVList	cur;
		EtcdError	err;
		char	   *json;
		bool		won;
		int64		mod_rev;

		if (etcd_get(k->client, keeper_key_of(k, "config"), &cur, &err) != ETCD_OK)
		{
			res->etcd_ok = false;
			res->err = err;
			snprintf(msg, len, "etcd: %s", err.message);
			return false;
		}
		mod_rev = cur.count > 0 ? cur.kvs[0].mod_revision : 0;
		json = pgha_config_set_pause(cur.count > 0 ? cur.kvs[0].value : NULL,
									 pause, msg, len);
		etcd_kvlist_free(&cur);
		if (json == NULL)
			return false;
		if (!cas(k, res, "config", mod_rev, json, &won))
		{
			free(json);
			snprintf(msg, len, "etcd: %s", res->err.message);
			return false;
		}
		free(json);
		if (won)
		{
			res->cluster->config.pause = pause;
			ereport(LOG, (errmsg("pgha: cluster \"%s\" %s", pgha_scope,
								 pause ? "paused: no automatic failover or fencing"
								 : "resumed")));
			snprintf(msg, len, "%s", pause ? "paused" : "resumed");
			return true;
		}
	}
	snprintf(msg, len, "the config key kept changing; try again");
	return false;
}

static bool
write_failover(Keeper *k, CycleResult *res, const PghaRequest *req,
			   char *msg, size_t len)
{
	PghaCluster *cl = res->cluster;
	char	   *json;
	bool		won;

	if (req->kind == PGHA_REQ_CANCEL_FAILOVER)
	{
		if (!cl->has_failover)
		{
			snprintf(msg, len, "no switchover or failover request is pending");
			return false;
		}
		if (!cas(k, res, "failover", cl->failover_mod_revision, "{}", &won))
		{
			snprintf(msg, len, "etcd: %s", res->err.message);
			return false;
		}
		snprintf(msg, len, won ? "cancelled" : "the request changed meanwhile; look again");
		if (won)
			ereport(LOG, (errmsg("pgha: the pending switchover request was cancelled")));
		return won;
	}

	if (cl->has_failover)
	{
		snprintf(msg, len, "another request is pending: switchover from \"%s\" to \"%s\"%s%s",
				 cl->failover.leader, cl->failover.member,
				 cl->failover.scheduled_at[0] ? " at " : "", cl->failover.scheduled_at);
		return false;
	}
	json = pgha_failover_to_json(&req->failover);
	if (json == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (!cas(k, res, "failover", cl->failover_mod_revision, json, &won))
	{
		free(json);
		snprintf(msg, len, "etcd: %s", res->err.message);
		return false;
	}
	free(json);
	if (!won)
	{
		snprintf(msg, len, "the failover key changed meanwhile; look again");
		return false;
	}
	cl->has_failover = true;
	cl->failover = req->failover;
	ereport(LOG,
			(errmsg("pgha: requested %s to \"%s\"%s%s",
					req->failover.leader[0] ? "a switchover" : "a failover",
					req->failover.member, req->failover.scheduled_at[0] ? " at " : "",
					req->failover.scheduled_at)));
	snprintf(msg, len, "requested");
	return true;
}

/* serve the pending SQL request, if any, with the cluster just read */
void
keeper_serve_request(Keeper *k, CycleResult *res)
{
	PghaRequest req;
	char		msg[PGHA_ERR_LEN] = "";
	bool		ok = false;
	const char *refusal;

	if (!keeper_pending_request(&req))
		return;
	/* rule 6: a foreign node or a duplicate name writes nothing */
	if ((refusal = keeper_identity_refusal(k, res)) != NULL)
	{
		ereport(WARNING, (errmsg("pgha: %s", refusal)));
		keeper_finish_request(req.id, false, refusal);
		return;
	}
	switch (req.kind)
	{
		case PGHA_REQ_PAUSE:
		case PGHA_REQ_RESUME:
			ok = set_pause(k, res, req.kind == PGHA_REQ_PAUSE, msg, sizeof(msg));
			break;
		case PGHA_REQ_WRITE_FAILOVER:
		case PGHA_REQ_CANCEL_FAILOVER:
			ok = write_failover(k, res, &req, msg, sizeof(msg));
			break;
		case PGHA_REQ_RESTART:
		case PGHA_REQ_CANCEL_RESTART:
		case PGHA_REQ_RELOAD:
		case PGHA_REQ_REINIT:
			keeper_serve_operation(k, res, &req);	/* keeper_ops.c */
			return;
		case PGHA_REQ_NONE:
			return;
	}
	keeper_finish_request(req.id, ok, msg);
}

/* a cycle that could not reach etcd fails the pending request */
void
keeper_fail_request(const EtcdError *err)
{
	PghaRequest req;

	if (keeper_pending_request(&req))
		keeper_finish_request(req.id, false,
							  psprintf("etcd is unreachable: %s", err->message));
}

/* after a takeover or a refusal: the request is done, reset it to {} */
void
keeper_clear_failover_key(Keeper *k, CycleResult *res)
{
	bool		won;

	if (res->cluster->failover_mod_revision == 0 ||
		!res->cluster->has_failover)
		return;
	if (cas(k, res, "failover", res->cluster->failover_mod_revision, "{}", &won) && won)
		res->cluster->has_failover = false;
}

/*
 * Is the failover request due?  Sets *due_ms (monotonic) when it is
 * scheduled in the future, so that the keeper wakes up for it.
 */
bool
keeper_request_due(const PghaCluster *cl, int64 *due_ms)
{
	PghaTimestamp ts;
	char		err[256];
	int64		at;
	int64		now_rt;

	*due_ms = 0;
	if (!cl->has_failover || cl->failover.scheduled_at[0] == '\0')
		return cl->has_failover;
	if (!pgha_parse_isotime(cl->failover.scheduled_at, &ts, err, sizeof(err)))
	{
		keeper_log_problem(WARNING, ERRCODE_INVALID_DATETIME_FORMAT,
						   psprintf("the failover key's scheduled_at \"%s\" is not a valid time (%s); the request is ignored",
									cl->failover.scheduled_at, err));
		return false;
	}
	at = ts.epoch_us / 1000;
	now_rt = pgha_realtime_ms();
	if (at <= now_rt)
		return true;
	*due_ms = etcd_now_ms() + (at - now_rt);
	return false;
}
