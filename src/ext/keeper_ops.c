/*-------------------------------------------------------------------------
 *
 * keeper_ops.c
 *	  Operations on this node, requested through shared memory (the SQL
 *	  functions of sql_ops.c, the api worker): restart, scheduled restart
 *	  and its cancellation, reload, reinit.  Patroni's POST /restart,
 *	  DELETE /restart, POST /reload and POST /reinitialize, with its
 *	  answers and HTTP statuses (pgha.h, PghaOutcome).
 *
 * The keeper cannot start its own postmaster again, so a restart or a
 * reinit is a fast shutdown with a marker file for pgha-watchdog, which
 * owns starting postgres: pgha.restart (start it again in its role,
 * keeping the leader key) or pgha.reinit (empty the data directory and
 * clone the leader).  The watchdog's plan (node_plan.c) reads them.  The
 * shutdown comes KEEPER_OP_DELAY_MS after the answer, so that the caller
 * on this node receives it before its session ends.
 *
 * A leader's restart keeps the leader key when postgres is back within
 * the lease's ttl: it starts as a standby without upstream and its keeper
 * takes the key to its new lease and promotes it (decide.c), so that the
 * node accepts writes only once it holds the key (safety rule 1), with
 * every commit of the fast shutdown in its WAL.  When it is not back in
 * time the lease expires and the best replica takes over, as after a crash.
 *
 * A scheduled restart lives in shared memory (it survives a restart of
 * the keeper, not of the postmaster, as Patroni's lives in its agent) and
 * shows in the member key as Patroni's "scheduled_restart".
 *
 *-------------------------------------------------------------------------
 */
#include "keeper.h"

#include <signal.h>

#include "access/xlog.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"

#include "isotime.h"
#include "node_files.h"

/* between the answer and the shutdown of a restart or reinit */
#define KEEPER_OP_DELAY_MS 300

static bool
scheduled(PghaRestart *out)
{
	bool		has;

	LWLockAcquire(pgha_shared->lock, LW_SHARED);
	has = pgha_shared->has_scheduled_restart;
	if (has && out != NULL)
		*out = pgha_shared->scheduled_restart;
	LWLockRelease(pgha_shared->lock);
	return has;
}

static void
set_scheduled(const PghaRestart *r)
{
	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	pgha_shared->has_scheduled_restart = (r != NULL);
	if (r != NULL)
		pgha_shared->scheduled_restart = *r;
	else
		memset(&pgha_shared->scheduled_restart, 0, sizeof(PghaRestart));
	LWLockRelease(pgha_shared->lock);
}

/*
 * Patroni's restart_matches(): why the filters do not hold now, or NULL.
 */
static const char *
restart_mismatch(const Keeper *k, const PghaRestart *r)
{
	bool		primary = !RecoveryInProgress();

	if (r->role[0] != '\0' &&
		(strcmp(r->role, "primary") == 0) != primary)
		return "host role mismatch";
	if (r->below_version > 0 && PG_VERSION_NUM >= r->below_version)
		return "postgres version mismatch";
	if (r->pending_only && !keeper_pending_restart(k))
		return "pending restart flag is not set";
	return NULL;
}

/* leave the marker for the watchdog and shut down shortly */
static bool
start_shutdown(Keeper *k, const char *marker, const char *why, char *msg,
			   size_t len)
{
	char		err[256];

	if (!pgha_write_file_atomic(DataDir, marker, why, err, sizeof(err)))
	{
		snprintf(msg, len, "could not write %s: %s", marker, err);
		return false;
	}
	k->op_shutdown_ms = etcd_now_ms() + KEEPER_OP_DELAY_MS;
	ereport(LOG,
			(errmsg("pgha: %s: postgres shuts down in %d ms (fast) and pgha-watchdog starts it again",
					why, KEEPER_OP_DELAY_MS)));
	return true;
}

static int
serve_restart(Keeper *k, CycleResult *res, const PghaRestart *r, char *msg,
			  size_t len)
{
	const char *why;

	if (r->scheduled_at[0] != '\0')
	{
		PghaTimestamp ts;
		char		err[128];

		if (res->cluster->config.pause)
		{
			snprintf(msg, len, "Can't schedule restart in the paused state");
			return 503;
		}
		if (!pgha_parse_isotime(r->scheduled_at, &ts, err, sizeof(err)))
		{
			snprintf(msg, len, "the scheduled time \"%s\" is not valid: %s",
					 r->scheduled_at, err);
			return 400;
		}
		if (scheduled(NULL))
		{
			snprintf(msg, len, "Another restart is already scheduled");
			return 409;
		}
		set_scheduled(r);
		ereport(LOG, (errmsg("pgha: restart scheduled at %s", r->scheduled_at)));
		snprintf(msg, len, "Restart scheduled");
		return 202;
	}
	if (k->op_shutdown_ms != 0)
	{
		snprintf(msg, len, "restart already in progress");
		return 503;
	}
	if ((why = restart_mismatch(k, r)) != NULL)
	{
		ereport(LOG, (errmsg("pgha: not proceeding with the restart: %s", why)));
		snprintf(msg, len, "restart conditions are not satisfied");
		return 503;
	}
	if (!start_shutdown(k, PGHA_RESTART_FILE, "restart requested", msg, len))
		return 503;
	snprintf(msg, len, "restart initiated");
	return 200;
}

static int
serve_reinit(Keeper *k, CycleResult *res, char *msg, size_t len)
{
	const PghaCluster *cl = res->cluster;

	if (!cl->has_leader)
	{
		snprintf(msg, len, "Cluster has no leader, can not reinitialize");
		return 503;
	}
	if (strcmp(cl->leader, pgha_node_name) == 0 || !RecoveryInProgress())
	{
		snprintf(msg, len, "I am the leader, can not reinitialize");
		return 503;
	}
	if (k->op_shutdown_ms != 0)
	{
		snprintf(msg, len, "restart already in progress");
		return 503;
	}
	if (!start_shutdown(k, PGHA_REINIT_FILE,
						psprintf("reinitialize from the leader %s", cl->leader), msg, len))
		return 503;
	snprintf(msg, len, "reinitialize started");
	return 200;
}

void
keeper_serve_operation(Keeper *k, CycleResult *res, const PghaRequest *req)
{
	char		msg[PGHA_ERR_LEN] = "";
	int			status = 503;

	switch (req->kind)
	{
		case PGHA_REQ_RESTART:
			status = serve_restart(k, res, &req->restart, msg, sizeof(msg));
			break;
		case PGHA_REQ_CANCEL_RESTART:
			if (scheduled(NULL))
			{
				set_scheduled(NULL);
				k->restart_due_ms = 0;
				ereport(LOG, (errmsg("pgha: the scheduled restart was cancelled")));
				snprintf(msg, sizeof(msg), "scheduled restart deleted");
				status = 200;
			}
			else
			{
				snprintf(msg, sizeof(msg), "no restarts are scheduled");
				status = 404;
			}
			break;
		case PGHA_REQ_RELOAD:
			if (kill(PostmasterPid, SIGHUP) != 0)
				snprintf(msg, sizeof(msg), "could not signal the postmaster: %m");
			else
			{
				ereport(LOG, (errmsg("pgha: reload requested: the server reloads its configuration")));
				snprintf(msg, sizeof(msg), "reload scheduled");
				status = 202;
			}
			break;
		case PGHA_REQ_REINIT:
			status = serve_reinit(k, res, msg, sizeof(msg));
			break;
		default:
			snprintf(msg, sizeof(msg), "unknown request");
			break;
	}
	keeper_finish_request_status(req->id, status, msg);
}

/*
 * Every cycle, etcd reachable or not: the shutdown of a restart or reinit
 * that was answered, and a scheduled restart that is due.
 */
void
keeper_run_operations(Keeper *k, CycleResult *res)
{
	PghaRestart r;
	int64		now = etcd_now_ms();

	k->restart_due_ms = 0;
	if (k->op_shutdown_ms == 0 && scheduled(&r))
	{
		PghaTimestamp ts;
		char		err[128];
		int64		at_rt;
		int64		now_rt = pgha_realtime_ms();

		if (!pgha_parse_isotime(r.scheduled_at, &ts, err, sizeof(err)))
			set_scheduled(NULL);
		else if ((at_rt = ts.epoch_us / 1000) > now_rt)
			k->restart_due_ms = now + (at_rt - now_rt);
		else
		{
			const char *why = restart_mismatch(k, &r);
			char		msg[PGHA_ERR_LEN];

			set_scheduled(NULL);
			if (why != NULL)
				ereport(LOG,
						(errmsg("pgha: scheduled restart at %s not carried out: %s",
								r.scheduled_at, why)));
			else if (!start_shutdown(k, PGHA_RESTART_FILE,
									 psprintf("restart scheduled at %s", r.scheduled_at),
									 msg, sizeof(msg)))
				ereport(WARNING, (errmsg("pgha: scheduled restart: %s", msg)));
			else
				k->op_shutdown_ms = now;
		}
	}
	if (k->op_shutdown_ms != 0 && now >= k->op_shutdown_ms && !k->fenced)
	{
		ereport(LOG, (errmsg("pgha: shutting postgres down (fast) for the requested operation")));
		if (kill(PostmasterPid, SIGINT) != 0)
			ereport(WARNING, (errmsg("pgha: could not signal the postmaster: %m")));
		k->op_shutdown_ms = -1;	/* done: the keeper ends with postgres */
	}
}

/* Patroni's pending_restart and scheduled_restart in the member key */
void
keeper_fill_member_ops(const Keeper *k, PghaMember *m)
{
	PghaRestart r;

	m->pending_restart = keeper_pending_restart(k);
	if (scheduled(&r))
	{
		strlcpy(m->scheduled_restart, r.scheduled_at, sizeof(m->scheduled_restart));
		strlcpy(m->scheduled_restart_version, r.version_text,
				sizeof(m->scheduled_restart_version));
	}
}
