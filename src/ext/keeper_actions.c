/*-------------------------------------------------------------------------
 *
 * keeper_actions.c
 *	  What the keeper does to its own postgres: fence it, promote it, point
 *	  it at a new leader, and tell the watchdog how it is (heartbeat).
 *
 * Fencing (safety rule 1): a primary must not accept writes once its
 * lease can have expired in etcd.  The deadline is the time the last
 * successful keepalive was *sent* plus ttl, minus a margin.  At the
 * deadline, or at once when another member holds the leader key, the
 * keeper writes pgha.fenced (the reason, for the watchdog) and asks the
 * postmaster for a fast shutdown: backends are terminated immediately, so
 * no further commit is acknowledged; the watchdog then rejoins the node
 * as a replica.  The watchdog also enforces the deadline from the
 * heartbeat file, in case this process is hung, and every backend checks
 * it at commit (commit_guard.c), in case the postmaster is.  The deadline
 * itself comes from lease.c (keeper_lease.c), on CLOCK_BOOTTIME.
 *
 *-------------------------------------------------------------------------
 */
#include "keeper.h"

#include <signal.h>
#include <unistd.h>

#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "common/controldata_utils.h"
#include "miscadmin.h"
#include "postmaster/bgwriter.h"
#include "postmaster/postmaster.h"
#include "utils/memutils.h"

#include "node_files.h"

void
keeper_write_heartbeat(const Keeper *k, bool primary, const char *state)
{
	PghaHeartbeat hb;
	char		err[256];
	int64		now = etcd_now_ms();

	memset(&hb, 0, sizeof(hb));
	hb.written_ms = pgha_boottime_ms();
	hb.primary = primary;
	hb.keeper_pid = MyProcPid;
	/*
	 * Fenced: the fast shutdown is under way.  The deadline stays in the
	 * heartbeat: the watchdog leaves a shutdown that postmaster.pid shows as
	 * "stopping" alone for a while, but kills a postmaster that did not act
	 * on the signal (stopped, stuck) at the deadline.
	 */
	if (k->fenced)
	{
		state = "fenced";
		primary = hb.primary = true;
	}
	if (primary && k->fence_deadline_ms > 0 && !k->paused)
		hb.fence_deadline_ms = Max(hb.written_ms + (k->fence_deadline_ms - now), 1);
	strlcpy(hb.state, state, sizeof(hb.state));
	if (!pgha_heartbeat_write(DataDir, &hb, err, sizeof(err)))
		keeper_log_problem(WARNING, ERRCODE_IO_ERROR, err);
}

static void
fence(Keeper *k, const char *reason)
{
	char		err[256];
	char	   *text = psprintf("%s\n", reason);

	if (k->fenced)
		return;
	k->fenced = true;
	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	strlcpy(pgha_shared->fence_reason, reason, sizeof(pgha_shared->fence_reason));
	LWLockRelease(pgha_shared->lock);
	/* from now on every backend's commit fails (commit_guard.c) */
	keeper_lease_publish(k);
	if (!pgha_write_file_atomic(DataDir, PGHA_FENCED_FILE, text, err, sizeof(err)))
		ereport(WARNING, (errmsg("pgha: %s", err)));
	keeper_write_heartbeat(k, true, "fenced");
	ereport(LOG,
			(errmsg("pgha: fencing this primary: %s", reason),
			 errdetail("The server shuts down now so that it accepts no more writes; pgha-watchdog rejoins it as a replica.")));
	if (kill(PostmasterPid, SIGINT) != 0)
		ereport(WARNING,
				(errmsg("pgha: could not signal the postmaster to shut down: %m")));
}

/*
 * Fence now if this primary is past its deadline.  Called at the start and
 * end of every cycle and when a wait ends.
 */
void
keeper_check_fence(Keeper *k, const char *why)
{
	if (k->fenced || k->paused || RecoveryInProgress() || k->fence_deadline_ms == 0)
		return;
	if (etcd_now_ms() >= k->fence_deadline_ms)
		fence(k, why);
}

void
keeper_fence_now(Keeper *k, const char *reason)
{
	fence(k, reason);
}

/* ask the startup process to finish recovery, as pg_promote() does */
void
keeper_promote(Keeper *k)
{
	FILE	   *f;

	if (k->promote_requested || PromoteIsTriggered())
		return;
	f = fopen(PROMOTE_SIGNAL_FILE, "w");
	if (f == NULL || fclose(f) != 0)
	{
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("pgha: could not create promote signal file \"%s\": %m",
						PROMOTE_SIGNAL_FILE)));
		return;
	}
	if (kill(PostmasterPid, SIGUSR1) != 0)
	{
		ereport(WARNING, (errmsg("pgha: could not signal the postmaster to promote: %m")));
		unlink(PROMOTE_SIGNAL_FILE);
		return;
	}
	k->promote_requested = true;
	ereport(LOG, (errmsg("pgha: promoting this standby: it holds the leader key")));
}

/*
 * Point this standby at the leader: rewrite pgha_recovery.conf when it
 * names another upstream, and reload (primary_conninfo is reloadable since
 * PostgreSQL 13: the WAL receiver restarts with the new value).
 */
void
keeper_follow(const PghaCluster *cl)
{
	const PghaMember *leader = pgha_cluster_find_member(cl, cl->leader);
	char		host[PGHA_URL_LEN];
	int			port;
	char		slot[NAMEDATALEN];
	char	   *want;
	char	   *have;
	char		err[256];

	if (leader == NULL ||
		!pgha_conn_url_host_port(leader->conn_url, host, sizeof(host), &port))
		return;
	pgha_slot_name(pgha_node_name, slot, sizeof(slot));
	want = pgha_recovery_conf_text(host, port, pgha_replication_user,
								   pgha_node_name, slot);
	if (want == NULL)
		return;
	have = pgha_read_small_file(DataDir, PGHA_RECOVERY_CONF, 8192);
	if (have == NULL || strcmp(have, want) != 0)
	{
		if (pgha_write_file_atomic(DataDir, PGHA_RECOVERY_CONF, want, err, sizeof(err)))
		{
			ereport(LOG,
					(errmsg("pgha: following the new leader \"%s\" at %s:%d",
							cl->leader, host, port)));
			if (kill(PostmasterPid, SIGHUP) != 0)
				ereport(WARNING, (errmsg("pgha: could not signal the postmaster to reload: %m")));
		}
		else
			keeper_log_problem(WARNING, ERRCODE_IO_ERROR, err);
	}
	free(have);
	free(want);
}

/*
 * A fresh leader's control file names the old timeline until the first
 * checkpoint after promotion; pg_rewind of the old leader reads it there
 * and would wrongly find "no rewind required".  Patroni does the same
 * (checkpoint_after_promote).  Once per promotion by this keeper,
 * KEEPER_POST_PROMOTE_CHECKPOINT_MS after the promotion is done (the
 * keeper's wait ends then: keeper_wait); the watchdog of a rewinding node
 * also asks the source for a CHECKPOINT and retries while pg_rewind still
 * finds both on the same timeline.
 */
void
keeper_checkpoint_after_promote(Keeper *k)
{
	MemoryContext cxt = CurrentMemoryContext;

	if (!k->promote_requested || k->checkpoint_done)
		return;
	if (k->checkpoint_due_ms == 0)
		k->checkpoint_due_ms = etcd_now_ms() + KEEPER_POST_PROMOTE_CHECKPOINT_MS;
	if (etcd_now_ms() < k->checkpoint_due_ms)
		return;
	k->checkpoint_done = true;
	k->checkpoint_due_ms = 0;
	PG_TRY();
	{
		/* not waited for: writes go on meanwhile (see pgha-watchdog's rewind) */
		RequestCheckpoint(CHECKPOINT_IMMEDIATE | CHECKPOINT_FORCE);
		ereport(LOG, (errmsg("pgha: requested a checkpoint after the promotion")));
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(WARNING,
				(errmsg("pgha: could not checkpoint after the promotion: %s",
						edata->message)));
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

/* the latest checkpoint's location in the control file; 0 when unreadable */
static XLogRecPtr
control_checkpoint(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	XLogRecPtr	lsn = InvalidXLogRecPtr;

	PG_TRY();
	{
		bool		crc_ok;
		ControlFileData *cf = get_controlfile(DataDir, &crc_ok);

		if (crc_ok)
			lsn = cf->checkPoint;
		pfree(cf);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
	}
	PG_END_TRY();
	return lsn;
}

/*
 * Before a planned shutdown of the primary (a switchover): an immediate
 * checkpoint while writes go on, as Patroni does before it stops a
 * primary, so that the shutdown checkpoint, which is inside the write
 * outage, has little left to write.  Not waited for in the loop: true once
 * the control file shows a newer checkpoint, or KEEPER_PRECHECKPOINT_MAX_MS
 * after the request whatever happened (the shutdown checkpoint then does
 * the rest); until then the keeper looks again every 100 ms.  The lease is
 * kept meanwhile: a cycle runs each time.
 */
bool
keeper_precheckpoint_done(Keeper *k)
{
	int64		now = etcd_now_ms();
	MemoryContext cxt = CurrentMemoryContext;

	if (k->precheckpoint_since_ms == 0)
	{
		k->precheckpoint_lsn = control_checkpoint();
		k->precheckpoint_since_ms = now;
		PG_TRY();
		{
			RequestCheckpoint(CHECKPOINT_IMMEDIATE | CHECKPOINT_FORCE);
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(cxt);
			FlushErrorState();
			k->precheckpoint_since_ms = now - KEEPER_PRECHECKPOINT_MAX_MS;
		}
		PG_END_TRY();
	}
	else if (control_checkpoint() != k->precheckpoint_lsn)
	{
		ereport(LOG,
				(errmsg("pgha: checkpoint before the switchover done in %lld ms",
						(long long) (now - k->precheckpoint_since_ms))));
		k->precheckpoint_since_ms = -1;
	}
	if (k->precheckpoint_since_ms == -1 ||
		now - k->precheckpoint_since_ms >= KEEPER_PRECHECKPOINT_MAX_MS)
		return true;
	k->quick_recheck = true;
	return false;
}
