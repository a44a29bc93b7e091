/*-------------------------------------------------------------------------
 *
 * keeper.h
 *	  Internals of the keeper worker, split by concern:
 *	  keeper.c (worker life: signals, settings, waiting, watch),
 *	  keeper_cycle.c (one HA loop against etcd),
 *	  keeper_report.c (publishing the view, logging each problem once).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_KEEPER_H
#define PGHA_KEEPER_H

#include "pgha.h"

#include "decide.h"
#include "etcd_client.h"
#include "node_files.h"

/* settings as the keeper uses them, rebuilt at start and on SIGHUP */
typedef struct KeeperConfig
{
	bool		complete;		/* all required settings present and valid */
	char		problem[PGHA_ERR_LEN];	/* why not, when !complete */
	char		prefix[PGHA_URL_LEN];	/* "<namespace>/<scope>/" */
	char	   *password;		/* from pgha.etcd_password or its file */
	int			ttl;			/* effective: shared config wins */
	int			loop_wait;
	int			retry_timeout;
} KeeperConfig;

/* synchronous mode: since when a standby is named, and what it must flush */
typedef struct KeeperSyncTrack
{
	char		name[NAMEDATALEN];
	int64		named_since_ms;
	XLogRecPtr	target;			/* InvalidXLogRecPtr until the setting settled */
} KeeperSyncTrack;

/* the keeper's process-local state */
typedef struct Keeper
{
	KeeperConfig cfg;
	EtcdClient *client;
	EtcdWatch  *watch;
	int64		watch_started_ms;
	char	   *client_settings;	/* what k->client was built from */
	bool		have_shared_timing; /* the config key's timing, kept across
									 * reloads (shared_* below) */
	int			shared_ttl;
	int			shared_loop_wait;
	int			shared_retry_timeout;
	PghaLeaseState lease;		/* lease.c: our leases and keys on them */
	int64		started_ms;		/* start, or leaving the idle state */
	int64		fence_deadline_ms;	/* primary: stop writes by then; 0 = none */
	int64		last_status_ms; /* when the status key was last written */
	bool		fenced;			/* shutdown requested to stop writes */
	bool		promote_requested;
	bool		checkpoint_done;	/* after our promotion */
	int64		checkpoint_due_ms;	/* when to ask for it; 0 = not yet known */
	bool		quick_recheck;	/* run the next cycle soon (failover wait) */
	bool		settling;		/* a standby still starting or behind the
								 * leader's timeline: look again soon */
	bool		settle_starting;	/* what the settling standby was when */
	int			settle_timeline;	/* its last cycle ran */
	int64		last_leader_seen_rev;	/* revision of the last read with a leader */
	int64		no_leader_since_ms; /* 0 while a leader exists */
	bool		paused;			/* maintenance mode: never fence */
	bool		identity_refused;	/* foreign or duplicate name (rule 6): no
									 * commit may succeed, even after a
									 * promotion behind the keeper's back */
	int64		request_due_ms; /* a scheduled switchover is due then; 0 = none */
	int			nsync_track;
	KeeperSyncTrack sync_track[PGHA_MAX_MEMBERS];
	int64		sync_pending_since_ms;	/* a picked standby awaits publication */
	char	   *params_text;	/* pgha_params.conf as last read or written
								 * (TopMemoryContext); NULL = not read yet */
	char		params_problem[PGHA_ERR_LEN];	/* parameters left out, why */
	bool		params_raised;	/* a replica runs above the config key's
								 * value (pg_control): restart pending */
	int64		op_shutdown_ms; /* restart/reinit: fast shutdown then; 0 = none */
	int64		restart_due_ms; /* a scheduled restart is due then; 0 = none */
	int64		precheckpoint_since_ms; /* switchover: checkpoint requested
										 * then; 0 = not yet, -1 = done */
	XLogRecPtr	precheckpoint_lsn;	/* the control file's checkpoint before */
} Keeper;

/* how long a failover candidate waits for its peers' fresh positions */
#define KEEPER_PEER_WAIT_MS 1000
/*
 * How often a standby in transition looks at its own state (no etcd
 * request): its member key says "starting" or an older timeline until its
 * next cycle, and a switchover to it is refused until the key says
 * "running" on the leader's timeline.  The cycle runs as soon as that
 * changes, not every look; at idle a keeper sleeps loop_wait.
 */
#define KEEPER_SETTLE_RECHECK_MS 250
/* how often a promoting standby's keeper wakes the startup process */
#define KEEPER_PROMOTE_RECHECK_MS 20
/*
 * The checkpoint after a promotion waits this long after it: PostgreSQL's
 * own end-of-recovery checkpoint is spread, an immediate one at once would
 * compete with the new leader's first commits for the disk
 */
#define KEEPER_POST_PROMOTE_CHECKPOINT_MS 1000
/* how long the others defer to a member named by a switchover or failover */
#define KEEPER_REQUEST_WAIT_MS 5000
/* a switchover waits at most this long for its checkpoint before stopping */
#define KEEPER_PRECHECKPOINT_MAX_MS 10000
/* a new synchronous_standby_names is in force in every walsender after this */
#define KEEPER_SYNC_SETTLE_MS 500
/* how long the keeper rechecks quickly for a standby to become synchronous */
#define KEEPER_SYNC_QUICK_MS 5000

/* what one cycle saw, for the report */
typedef struct CycleResult
{
	bool		etcd_ok;
	EtcdError	err;			/* when !etcd_ok */
	PghaRole	role;
	bool		starting;
	int			timeline;
	XLogRecPtr	lsn;
	PghaVerdict verdict;
	char		reason[160];
	bool		have_cluster;
	PghaCluster *cluster;		/* palloc'd in the loop context */
	char	   *history_json;	/* the history key's value, or NULL */
	char	   *config_json;	/* the config key's value, or NULL */
} CycleResult;

extern void keeper_run_cycle(Keeper *k, CycleResult *res);
extern void keeper_read_local_state(CycleResult *res, uint64 *sysid);
extern bool keeper_cycle_fail(CycleResult *res, const EtcdError *err);

/* keeper_lease.c */
extern bool keeper_ensure_lease(Keeper *k, CycleResult *res);
extern void keeper_lease_revoke_retired(Keeper *k);
extern void keeper_lease_restore(Keeper *k);
extern void keeper_lease_publish(Keeper *k);
extern void keeper_check_fence(Keeper *k, const char *why);
extern void keeper_fence_now(Keeper *k, const char *reason);
extern void keeper_promote(Keeper *k);
extern void keeper_follow(const PghaCluster *cl);
extern void keeper_checkpoint_after_promote(Keeper *k);
extern bool keeper_precheckpoint_done(Keeper *k);
extern void keeper_write_heartbeat(const Keeper *k, bool primary, const char *state);
extern void keeper_sync_slots(const PghaCluster *cl);
extern char *keeper_key_of(const Keeper *k, const char *name);
extern bool keeper_sync_before_promote(Keeper *k, CycleResult *res);
extern bool keeper_sync_manage(Keeper *k, CycleResult *res);

/* keeper_requests.c */
extern bool keeper_pending_request(PghaRequest *out);
extern void keeper_finish_request(uint64 id, bool ok, const char *message);
extern void keeper_finish_request_status(uint64 id, int status,
										 const char *message);
extern void keeper_serve_request(Keeper *k, CycleResult *res);
extern void keeper_fail_request(const EtcdError *err);
extern void keeper_clear_failover_key(Keeper *k, CycleResult *res);
extern bool keeper_request_due(const PghaCluster *cl, int64 *due_ms);
extern void keeper_apply_shared_config(Keeper *k, const PghaCluster *cl);

/* keeper_params.c */
extern void keeper_apply_params(Keeper *k, CycleResult *res);
extern bool keeper_pending_restart(const Keeper *k);

/* keeper_ops.c */
extern void keeper_serve_operation(Keeper *k, CycleResult *res,
								   const PghaRequest *req);
extern void keeper_run_operations(Keeper *k, CycleResult *res);
extern void keeper_fill_member_ops(const Keeper *k, PghaMember *m);

extern void keeper_report_idle(const Keeper *k);
extern void keeper_report_cycle(const Keeper *k, const CycleResult *res);
extern void keeper_report_timing(const Keeper *k, int64 cycle_us);
extern void keeper_log_problem(int elevel, int sqlerrcode, const char *msg);
extern void keeper_clear_problem(void);
extern int	keeper_errcode_for(EtcdStatus st);

#endif							/* PGHA_KEEPER_H */
