/*-------------------------------------------------------------------------
 *
 * keeper_sync.c
 *	  Synchronous mode on this node (config synchronous_mode on or strict):
 *	  the leader keeps synchronous_standby_names and the sync key in step,
 *	  in the order of safety rule 3 (sync_plan.h); a standby that is about
 *	  to be promoted sets both up before it accepts its first write.
 *
 * synchronous_standby_names lives in pgha_sync.conf in the data directory,
 * included by postgresql.conf after the node's own settings (the watchdog
 * writes that include); the keeper rewrites the file and sends SIGHUP to
 * the postmaster, as it does with pgha_recovery.conf.  Whether a setting
 * is in force is read from shared memory, not assumed: the walsender of a
 * standby publishes its sync_standby_priority once it has reloaded, and
 * the checkpointer publishes whether any synchronous standby is defined
 * (what backends check before they wait).  The keeper's own view of the
 * setting (SyncRepConfig) comes from its own reload.
 *
 * A standby is published in the sync key once the setting naming it has
 * been in force for KEEPER_SYNC_SETTLE_MS (every walsender has reloaded by
 * then) and it has flushed the leader's flush position of that moment:
 * every commit acknowledged before the setting took effect is below that
 * position, every later one waited for the standby.
 *
 * With synchronous mode off, the keeper leaves pgha_sync.conf without a
 * setting (the node's own synchronous_standby_names applies) and the
 * leader deletes the sync key, as Patroni does.
 *
 *-------------------------------------------------------------------------
 */
#include "keeper.h"

#include <signal.h>
#include <strings.h>

#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "replication/syncrep.h"
#include "replication/walsender.h"
#include "replication/walsender_private.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/wait_event.h"

#include "sync_plan.h"

/* how long the keeper waits for the startup process to take a promotion */
#define KEEPER_SYNC_PROMOTE_WAIT_MS 200

/* has the checkpointer published a non-empty synchronous_standby_names? */
static bool
sync_standbys_defined(void)
{
	bool		defined;

	LWLockAcquire(SyncRepLock, LW_SHARED);
#ifdef SYNC_STANDBY_DEFINED
	defined = (WalSndCtl->sync_standbys_status & SYNC_STANDBY_DEFINED) != 0;
#else
	defined = WalSndCtl->sync_standbys_defined;
#endif
	LWLockRelease(SyncRepLock);
	return defined;
}

/* does the setting in force in this process name the standby? */
static bool
setting_names(const char *name)
{
	const char *p;

	if (SyncRepConfig == NULL)
		return false;
	p = SyncRepConfig->member_names;
	for (int i = 0; i < SyncRepConfig->nmembers; i++)
	{
		if (pg_strcasecmp(p, name) == 0)
			return true;
		p += strlen(p) + 1;
	}
	return false;
}

static KeeperSyncTrack *
track_of(const char *name, KeeperSyncTrack *old, int nold)
{
	for (int i = 0; i < nold; i++)
		if (strcmp(old[i].name, name) == 0)
			return &old[i];
	return NULL;
}

/*
 * The standbys connected to this primary, with what the keeper knows of
 * the setting's effect on each; the tracking of standbys no longer named
 * is dropped, so a standby that comes back starts over.
 */
static int
collect_peers(Keeper *k, PghaSyncPeer *peers, int max)
{
	KeeperSyncTrack old[PGHA_MAX_MEMBERS];
	int			priority[PGHA_MAX_MEMBERS];
	int			nold = k->nsync_track;
	int			n;
	bool		defined = sync_standbys_defined();
	int64		now = etcd_now_ms();

	memcpy(old, k->sync_track, sizeof(KeeperSyncTrack) * nold);
	k->nsync_track = 0;
	n = pgha_walsender_peers(peers, priority, Min(max, PGHA_MAX_MEMBERS));
	for (int i = 0; i < n; i++)
	{
		PghaSyncPeer *p = &peers[i];
		KeeperSyncTrack *t;
		KeeperSyncTrack *prev;

		if (!p->streaming || !defined || priority[i] <= 0 || !setting_names(p->name) ||
			k->nsync_track >= PGHA_MAX_MEMBERS)
			continue;
		t = &k->sync_track[k->nsync_track++];
		prev = track_of(p->name, old, nold);
		if (prev != NULL)
			*t = *prev;
		else
		{
			memset(t, 0, sizeof(*t));
			strlcpy(t->name, p->name, sizeof(t->name));
			t->named_since_ms = now;
		}
		if (t->target == InvalidXLogRecPtr &&
			now - t->named_since_ms >= KEEPER_SYNC_SETTLE_MS)
			t->target = GetFlushRecPtr(NULL);
		p->named = true;
		p->caught_up = t->target != InvalidXLogRecPtr && p->flush >= (int64_t) t->target;
	}
	return n;
}

/*
 * pgha_sync.conf with that setting (NULL: none); reload when it changed,
 * unless the caller reloads itself (*changed says whether it did change).
 * Returns false when the file could not be written.
 */
static bool
write_setting_file(const char *ssn, bool reload, bool *changed)
{
	char		text[PGHA_MAX_SYNC * (PGHA_NAME_LEN * 2 + 4) + 256];
	char		err[256];
	char	   *have;
	bool		same;

	*changed = false;
	if (!pgha_sync_conf_text(ssn, text, sizeof(text)))
		return false;
	have = pgha_read_small_file(DataDir, PGHA_SYNC_CONF, 65536);
	/* off and no file: the node's own setting applies, nothing to do */
	same = have != NULL ? strcmp(have, text) == 0 : ssn == NULL;
	free(have);
	if (same)
		return true;
	if (!pgha_write_file_atomic(DataDir, PGHA_SYNC_CONF, text, err, sizeof(err)))
	{
		keeper_log_problem(WARNING, ERRCODE_IO_ERROR, err);
		return false;
	}
	ereport(LOG,
			(errmsg("pgha: synchronous_standby_names = '%s'",
					ssn ? ssn : "(the node's own setting)")));
	*changed = true;
	if (reload && kill(PostmasterPid, SIGHUP) != 0)
		ereport(WARNING,
				(errmsg("pgha: could not signal the postmaster to reload: %m")));
	return true;
}

static bool
write_setting(const char *ssn)
{
	bool		changed;

	return write_setting_file(ssn, true, &changed);
}

/*
 * Promote, then reload once the startup process has taken the promotion.
 *
 * A reload wakes the startup process (its SIGHUP handler sets the recovery
 * latch).  Sent before the promotion, while the standby waits out
 * wal_retrieve_retry_interval after losing its upstream, it cuts that wait
 * short: the startup process starts a new WAL receiver and waits for data
 * instead.  The promotion then lands in that state, where PostgreSQL
 * handles it as a failed source and first sleeps what is left of
 * wal_retrieve_retry_interval, counted from the wake-up: up to a second of
 * write outage in every synchronous-mode handover (50_sync_mode, bench/).
 * Sent after PromoteIsTriggered(), the same wake-up ends that sleep at once,
 * wherever the promotion landed.
 */
static void
promote_then_reload(Keeper *k)
{
	int64		until = etcd_now_ms() + KEEPER_SYNC_PROMOTE_WAIT_MS;

	keeper_promote(k);
	if (!k->promote_requested)
		return;					/* it failed and said why; the next cycle retries */
	while (!PromoteIsTriggered() && etcd_now_ms() < until)
	{
		(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 2,
						 PG_WAIT_EXTENSION);
	}
	if (kill(PostmasterPid, SIGHUP) != 0)
		ereport(WARNING,
				(errmsg("pgha: could not signal the postmaster to reload: %m")));
}

/* put the sync key if it is still at mod_rev; *won says whether it was */
static bool
put_sync_key(Keeper *k, CycleResult *res, const PghaSyncState *s, bool *won)
{
	EtcdTxnResult txn;
	EtcdError	err;
	EtcdStatus	st;
	char	   *json = pgha_sync_to_json(s);

	*won = false;
	if (json == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	st = etcd_cas_mod(k->client, keeper_key_of(k, "sync"),
					  res->cluster->sync_mod_revision, json, 0, &txn, &err);
	free(json);
	if (st != ETCD_OK)
	{
		etcd_txn_result_free(&txn);
		res->etcd_ok = false;
		res->err = err;
		return false;
	}
	*won = txn.succeeded;
	if (txn.succeeded)
	{
		res->cluster->has_sync = true;
		res->cluster->sync = *s;
		res->cluster->sync_mod_revision = txn.revision;
		ereport(LOG,
				(errmsg("pgha: sync key: synchronous standby %s",
						s->nmembers == 0 ? "none" : s->members[0]),
				 s->nmembers > 1 ? errdetail("%d synchronous standbys are listed.", s->nmembers) : 0));
	}
	etcd_txn_result_free(&txn);
	return true;
}

/* synchronous mode off: no setting of ours, and no sync key */
static bool
sync_off(Keeper *k, CycleResult *res, bool leader)
{
	EtcdError	err;

	k->nsync_track = 0;
	k->sync_pending_since_ms = 0;
	write_setting(NULL);
	if (!leader || !res->cluster->has_sync)
		return true;
	if (etcd_delete(k->client, keeper_key_of(k, "sync"), &err) != ETCD_OK)
	{
		res->etcd_ok = false;
		res->err = err;
		return false;
	}
	ereport(LOG, (errmsg("pgha: synchronous mode is off: deleted the sync key")));
	res->cluster->has_sync = false;
	return true;
}

/*
 * Before this standby is promoted: its first writes must already follow
 * synchronous mode.  The sync key names us with no standby yet (so that
 * the old leader's sync standby can no longer be promoted over commits
 * we acknowledge), and synchronous_standby_names is "*" in strict mode
 * (writes wait for a standby) or empty.  Returns false when promotion
 * must wait: etcd did not take the key, or the strict setting is not in
 * force yet.
 *
 * In synchronous mode the promotion is requested here, after the key and
 * the setting (the caller's keeper_promote() then finds it requested), so
 * that the reload comes after it (promote_then_reload).  With mode "on"
 * the empty setting is written before the promotion and loaded right after
 * it: until then the setting in force is an older one, which can only make
 * a commit wait for a standby, never acknowledge one sooner.  Strict mode
 * needs "*" in force before the first write: it is loaded before, and the
 * reload after the promotion only wakes the startup process.
 */
bool
keeper_sync_before_promote(Keeper *k, CycleResult *res)
{
	PghaCluster *cl = res->cluster;
	PghaSyncMode mode = cl->config.synchronous_mode;
	PghaSyncState mine;
	bool		won;
	bool		changed;

	if (mode == PGHA_SYNC_OFF)
		return sync_off(k, res, false);

	k->nsync_track = 0;
	if (mode == PGHA_SYNC_STRICT && !write_setting("*"))
		return false;
	memset(&mine, 0, sizeof(mine));
	strlcpy(mine.leader, pgha_node_name, sizeof(mine.leader));
	if (!(cl->has_sync && pg_strcasecmp(cl->sync.leader, pgha_node_name) == 0 &&
		  cl->sync.nmembers == 0))
	{
		if (!put_sync_key(k, res, &mine, &won))
			return false;
		if (!won)
		{
			k->quick_recheck = true;
			return false;
		}
	}
	if (mode == PGHA_SYNC_STRICT && !sync_standbys_defined())
	{
		/* the checkpointer has not loaded "*" yet: a commit would not wait */
		k->quick_recheck = true;
		return false;
	}
	if (mode != PGHA_SYNC_STRICT && !write_setting_file("", false, &changed))
		return false;
	promote_then_reload(k);
	return true;
}

/*
 * On the leader, every cycle: the plan of sync_plan.c, carried out step by
 * step; any failure ends the cycle before the next step.
 */
bool
keeper_sync_manage(Keeper *k, CycleResult *res)
{
	PghaCluster *cl = res->cluster;
	PghaSyncPeer peers[PGHA_MAX_MEMBERS];
	int			npeers;
	PghaSyncPlan plan;
	char		ssn[PGHA_MAX_SYNC * (PGHA_NAME_LEN * 2 + 4) + 32];
	bool		won;

	if (cl->config.synchronous_mode == PGHA_SYNC_OFF)
		return sync_off(k, res, true);

	npeers = collect_peers(k, peers, PGHA_MAX_MEMBERS);
	pgha_sync_plan(cl, pgha_node_name, peers, npeers, &plan);

	if (plan.write_narrowed)
	{
		if (!put_sync_key(k, res, &plan.narrowed, &won))
			return false;
		if (!won)
		{
			k->quick_recheck = true;
			return true;		/* somebody else wrote it: re-read first */
		}
	}
	if (!pgha_sync_standby_names(&plan, ssn, sizeof(ssn)))
	{
		keeper_log_problem(WARNING, ERRCODE_NAME_TOO_LONG,
						   "synchronous_standby_names would be too long");
		return true;
	}
	if (!write_setting(ssn))
		return true;
	if (plan.write_final && (!put_sync_key(k, res, &plan.final, &won) || !won))
		return res->etcd_ok;

	/* a picked standby awaits publication: look again soon, for a while */
	if (!plan.pending)
		k->sync_pending_since_ms = 0;
	else if (k->sync_pending_since_ms == 0)
		k->sync_pending_since_ms = etcd_now_ms();
	if (plan.pending &&
		etcd_now_ms() - k->sync_pending_since_ms < KEEPER_SYNC_QUICK_MS)
		k->quick_recheck = true;
	return true;
}
