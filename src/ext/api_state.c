/*-------------------------------------------------------------------------
 *
 * api_state.c
 *	  This node's state for the REST api: the keeper's view from shared
 *	  memory (role in the cluster, leader key, etcd contact, pause, sync
 *	  state, timing), and postgres' own WAL positions read directly, as
 *	  Patroni reads them with SQL (pg_current_wal_lsn(),
 *	  pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn(),
 *	  pg_last_xact_replay_timestamp(), pg_is_wal_replay_paused(),
 *	  pg_stat_replication).  The worker has no database connection: all of
 *	  it is shared memory, so it works on a standby that is not consistent.
 *
 *-------------------------------------------------------------------------
 */
#include "api.h"

#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "replication/walreceiver.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "lease.h"

static PghaShared *view_copy = NULL;

/* Python's str() of a UTC datetime: "2026-11-23 23:47:34.504611+00:00" */
static void
format_ts(TimestampTz ts, char *buf, size_t len, double *epoch)
{
	pg_time_t	t = timestamptz_to_time_t(ts);
	struct pg_tm *tm = pg_gmtime(&t);
	int			usec = (int) (((ts % USECS_PER_SEC) + USECS_PER_SEC) % USECS_PER_SEC);

	if (usec)
		snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%06d+00:00",
				 tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday,
				 tm->tm_hour, tm->tm_min, tm->tm_sec, usec);
	else
		snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d+00:00",
				 tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday,
				 tm->tm_hour, tm->tm_min, tm->tm_sec);
	*epoch = (double) t + usec / 1e6;
}

/* pg_stat_replication's rows that Patroni lists: walsenders and their clients */
static void
gather_replication(const PghaCluster *cl, bool sync_mode, PghaApiStatus *st)
{
	PghaWalSender *ws = palloc(Max(max_wal_senders, 1) * sizeof(PghaWalSender));
	int			n = pgha_walsenders_read(ws, max_wal_senders);

	for (int i = 0; i < n && st->nreplication < PGHA_MAX_MEMBERS; i++)
	{
		PghaApiReplication *r = &st->replication[st->nreplication++];

		memset(r, 0, sizeof(*r));
		strlcpy(r->application_name, ws[i].name, sizeof(r->application_name));
		strlcpy(r->client_addr, ws[i].client_addr, sizeof(r->client_addr));
		/* no database connection to look the role up: the replication user pgha sets up */
		strlcpy(r->usename, pgha_replication_user, sizeof(r->usename));
		strlcpy(r->state, ws[i].state, sizeof(r->state));
		strlcpy(r->sync_state,
				sync_mode && cl->has_sync && pgha_sync_lists(&cl->sync, r->application_name)
				? "sync" : "async", sizeof(r->sync_state));
		r->sync_priority = strcmp(r->sync_state, "sync") == 0 ? 1 : 0;
	}
	pfree(ws);
}

void
api_gather(ApiView *v)
{
	PghaShared *sh;
	PghaApiStatus *st = &v->status;
	PghaApiNode *n = &v->node;
	PghaCluster *cl;
	TimestampTz now = GetCurrentTimestamp();
	bool		recovery = RecoveryInProgress();
	bool		sync_mode;
	bool		keeper_live;
	int64		now_boot = etcd_now_ms();

	if (view_copy == NULL)
		view_copy = MemoryContextAlloc(TopMemoryContext, sizeof(PghaShared));
	sh = view_copy;
	LWLockAcquire(pgha_shared->lock, LW_SHARED);
	memcpy(sh, pgha_shared, sizeof(PghaShared));
	LWLockRelease(pgha_shared->lock);
	v->sh = sh;
	cl = &sh->cluster;
	keeper_live = sh->reported && sh->keeper_pid != 0;

	memset(st, 0, sizeof(*st));
	strlcpy(st->role, recovery ? "replica" : "master", sizeof(st->role));
	if (sh->fenced && !recovery)
		strlcpy(st->state, "stopping", sizeof(st->state));
	else if (recovery && !HotStandbyActive())
		strlcpy(st->state, "starting", sizeof(st->state));
	else
		strlcpy(st->state, "running", sizeof(st->state));
	st->have_postgres = strcmp(st->state, "running") == 0;
	format_ts(PgStartTime, st->postmaster_start_time,
			  sizeof(st->postmaster_start_time), &st->postmaster_start_epoch);
	st->server_version = atoi(GetConfigOption("server_version_num", false, false));
	st->pending_restart = sh->pending_restart;	/* the keeper's judgement */
	if (!recovery)
	{
		st->location = (int64) GetXLogWriteRecPtr();
		st->timeline = (int) GetWALInsertionTimeLine();
	}
	else
	{
		TimeLineID	tli = 0;
		XLogRecPtr	replay = GetXLogReplayRecPtr(&tli);
		XLogRecPtr	received = GetWalRcvFlushRecPtr(NULL, NULL);
		TimestampTz xtime = GetLatestXTime();

		st->replayed_location = (int64) replay;
		st->received_location = received != InvalidXLogRecPtr ? (int64) received
			: (int64) replay;
		if (xtime != 0)
			format_ts(xtime, st->replayed_timestamp, sizeof(st->replayed_timestamp),
					  &st->replayed_epoch);
		st->replay_paused = GetRecoveryPauseState() != RECOVERY_NOT_PAUSED;
		st->timeline = (int) tli;
		strlcpy(st->replication_state,
				WalRcv != NULL && WalRcv->walRcvState == WALRCV_STREAMING
				? "streaming" : "in archive recovery",
				sizeof(st->replication_state));
	}
	sync_mode = sh->has_cluster && cl->config_valid &&
		cl->config.synchronous_mode != PGHA_SYNC_OFF;
	if (recovery && sync_mode && cl->has_sync && pgha_sync_lists(&cl->sync, pgha_node_name))
		st->sync_standby = true;
	if (!recovery && st->have_postgres)
		gather_replication(cl, sync_mode, st);
	st->cluster_unlocked = !sh->has_cluster || !cl->has_leader;
	st->dcs_last_seen = sh->last_etcd_contact ?
		(int64) timestamptz_to_time_t(sh->last_etcd_contact) : 0;
	st->nofailover = pgha_nofailover;
	st->failover_priority = pgha_failover_priority;
	snprintf(st->system_identifier, sizeof(st->system_identifier), UINT64_FORMAT,
			 GetSystemIdentifier());
	strlcpy(st->scope, pgha_scope, sizeof(st->scope));
	st->pause = sh->paused;

	/* the health checks' inputs */
	memset(n, 0, sizeof(*n));
	n->state = st->state;
	n->role = st->role;
	/*
	 * The leader: this node's name in the leader key of the keeper's last
	 * read, postgres a primary, and its fencing deadline not passed (past
	 * it commits fail: no load balancer should send writes here).
	 */
	n->is_leader = keeper_live && sh->has_cluster && cl->has_leader &&
		strcmp(cl->leader, pgha_node_name) == 0 && !recovery && !sh->fenced &&
		(sh->paused || sh->fence_deadline_ms == 0 || sh->fence_deadline_ms > now_boot);
	/* Patroni's dcs.cluster: a read younger than ttl */
	n->have_cluster = sh->has_cluster && sh->last_etcd_contact != 0 &&
		!TimestampDifferenceExceeds(sh->last_etcd_contact, now, Max(sh->ttl, 1) * 1000);
	n->paused = sh->paused;
	n->sync_standby = st->sync_standby;
	n->leader_optime = n->have_cluster && cl->has_optime ? cl->optime : 0;
	n->replayed_location = st->replayed_location;
	n->replication_state = st->replication_state;
	strlcpy(v->tag_fo, pgha_nofailover ? "true" : "false", sizeof(v->tag_fo));
	snprintf(v->tag_prio, sizeof(v->tag_prio), "%d", pgha_failover_priority);
	n->tags[n->ntags].name = "nofailover";
	n->tags[n->ntags++].value = v->tag_fo;
	n->tags[n->ntags].name = "failover_priority";
	n->tags[n->ntags++].value = v->tag_prio;
	n->keeper_age_ms = keeper_live && sh->heartbeat != 0 ?
		(int64) ((now - sh->heartbeat) / 1000) : -1;
	n->ttl = sh->ttl > 0 ? sh->ttl : pgha_ttl;
	n->loop_wait = sh->loop_wait > 0 ? sh->loop_wait : pgha_loop_wait;

	/* /metrics: pgha's own */
	memset(&v->metrics, 0, sizeof(v->metrics));
	if (!recovery && sh->fence_deadline_ms > 0 && !sh->paused)
	{
		v->metrics.has_fence_margin = true;
		v->metrics.fence_margin_s = (sh->fence_deadline_ms - now_boot) / 1000.0;
	}
	v->metrics.keeper_cycles = sh->keeper_cycles;
	v->metrics.keeper_cycle_s = sh->keeper_cycle_us / 1e6;
	v->metrics.keeper_cycle_max_s = sh->keeper_cycle_max_us / 1e6;
	v->metrics.keeper_age_s = n->keeper_age_ms < 0 ? -1 : n->keeper_age_ms / 1000.0;
	v->metrics.etcd_requests = sh->etcd_requests;
	v->metrics.etcd_request_s = sh->etcd_request_us / 1e6;
	v->metrics.etcd_request_sum_s = sh->etcd_request_sum_us / 1e6;
	v->metrics.api_requests = api_requests_served;
}
