/*-------------------------------------------------------------------------
 *
 * pgha.h
 *	  Declarations shared by the parts of pgha.so: settings (guc.c), the
 *	  shared-memory view (shmem.c), the keeper worker (keeper.c) and the
 *	  SQL functions (sql_status.c).
 *
 * Only these files include PostgreSQL headers.  jansson must never be
 * included next to them (utils/fmgrprotos.h declares json_object()).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_EXT_H
#define PGHA_EXT_H

#include "postgres.h"

#include "access/xlogdefs.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"

#include "cluster.h"
#include "lease.h"

/* settings (guc.c) */
extern char *pgha_scope;
extern char *pgha_node_name;
extern char *pgha_namespace;
extern char *pgha_etcd_endpoints;
extern char *pgha_etcd_cacert;
extern char *pgha_etcd_cert;
extern char *pgha_etcd_key;
extern char *pgha_etcd_username;
extern char *pgha_etcd_password;
extern char *pgha_etcd_password_file;
extern char *pgha_connect_address;
extern int	pgha_ttl;
extern int	pgha_loop_wait;
extern int	pgha_retry_timeout;
extern char *pgha_replication_user;
extern int	pgha_member_slot_retention;
extern int	pgha_switchover_timeout;
extern bool pgha_nofailover;
extern bool pgha_quick_exit;
extern int	pgha_failover_priority;

extern void pgha_define_gucs(void);

/* keeper.c: the etcd client's settings from the pgha.etcd_* GUCs */
struct EtcdClientConfig;
extern void pgha_etcd_config_from_gucs(struct EtcdClientConfig *cc,
									   const char *password,
									   int request_timeout_ms);

/* keeper.c: pgha.etcd_password_file's content (palloc), NULL with the reason */
extern char *pgha_read_password_file(const char *path, char *problem, size_t len);

/* the role column of pgha_status() */
typedef enum PghaRole
{
	PGHA_ROLE_UNKNOWN = 0,
	PGHA_ROLE_PRIMARY,
	PGHA_ROLE_REPLICA
} PghaRole;

/*
 * A request from a SQL function to the keeper, the only process that
 * writes etcd.  One at a time: the function fills it, sets the keeper's
 * latch and sleeps on the condition variable until the outcome with its id
 * appears.
 */
typedef enum PghaRequestKind
{
	PGHA_REQ_NONE = 0,
	PGHA_REQ_WRITE_FAILOVER,	/* write the failover key (switchover/failover) */
	PGHA_REQ_CANCEL_FAILOVER,	/* reset a pending request to {} */
	PGHA_REQ_PAUSE,
	PGHA_REQ_RESUME,
	PGHA_REQ_RESTART,			/* restart this node's postgres, now or at a time */
	PGHA_REQ_CANCEL_RESTART,	/* forget a scheduled restart */
	PGHA_REQ_RELOAD,			/* reload: the settings and postgresql.parameters */
	PGHA_REQ_REINIT				/* wipe this replica and clone the leader again */
} PghaRequestKind;

/*
 * A restart, with Patroni's POST /restart filters: it happens only when
 * they all hold (at the scheduled time, for a scheduled one).
 */
typedef struct PghaRestart
{
	bool		pending_only;	/* "restart_pending": only if pending_restart */
	char		role[16];		/* "primary", "replica", "" = any */
	int			below_version;	/* "postgres_version": only if the server's
								 * server_version_num is lower; 0 = any */
	char		version_text[PGHA_WORD_LEN];	/* as given, for the member key */
	char		scheduled_at[64];	/* ISO 8601 (UTC); "" = now */
} PghaRestart;

typedef struct PghaRequest
{
	uint64		id;
	PghaRequestKind kind;
	PghaFailover failover;		/* PGHA_REQ_WRITE_FAILOVER */
	PghaRestart restart;		/* PGHA_REQ_RESTART */
} PghaRequest;

/*
 * The keeper's answer.  status is the HTTP status Patroni's REST API
 * answers for the same request (200 done or started, 202 accepted for
 * later, 404 nothing to cancel, 409 conflict, 503 refused), so that the
 * api worker can pass it on; ok is status < 300.
 */
typedef struct PghaOutcome
{
	uint64		id;				/* of the request it answers */
	bool		ok;
	int			status;
	char		message[PGHA_ERR_LEN];
} PghaOutcome;

#define PGHA_STATE_LEN 64
#define PGHA_HISTORY_MAX 65536	/* bytes of the history key kept for SQL */

/*
 * The keeper's view, published in shared memory after every loop.  The
 * keeper is the only writer; readers take the lock in shared mode and copy.
 */
typedef struct PghaShared
{
	LWLock	   *lock;
	pid_t		keeper_pid;		/* 0 when not running */
	Latch	   *keeper_latch;	/* to wake the keeper */

	/*
	 * Fencing state, written by the keeper, kept across its restarts and,
	 * through PGDATA/pgha.fence, across a crash restart of the instance
	 * (fence_file.c); not across a restart of the postmaster.
	 * Times are CLOCK_BOOTTIME ms (pgha_boottime_ms()).
	 */
	bool		fence_saved;	/* the fields below were written */
	PghaLeaseState lease;		/* leases that may carry our keys */
	int64		fence_deadline_ms;	/* primary: stop writes by then */
	bool		fenced;			/* the keeper asked for the shutdown */
	char		fence_reason[PGHA_ERR_LEN]; /* why, for the commit check */
	bool		fence_paused;	/* maintenance mode: no fencing */

	/*
	 * What every backend checks at commit, lock-free (commit_guard.c):
	 * 0 = not armed (replica, pause), else the deadline (1 once fenced).
	 */
	pg_atomic_uint64 commit_deadline_ms;

	bool		reported;		/* false until the keeper's first loop */
	TimestampTz heartbeat;		/* end of the keeper's last loop */
	PghaRole	role;
	char		state[PGHA_STATE_LEN];
	int			timeline;
	XLogRecPtr	wal_lsn;
	int64		lag_bytes;		/* -1 when unknown */
	TimestampTz last_etcd_contact;	/* 0 = never */
	char		last_error[PGHA_ERR_LEN];
	bool		paused;
	int			ttl;			/* effective values (config key wins) */
	int			loop_wait;
	int			retry_timeout;
	bool		has_cluster;	/* cluster below is from a successful read */
	PghaCluster cluster;
	char		history_json[PGHA_HISTORY_MAX]; /* "" when absent or too long */

	/* operations (keeper_ops.c): kept across keeper restarts */
	bool		pending_restart;	/* a setting waits for a restart */
	bool		has_scheduled_restart;
	PghaRestart scheduled_restart;

	uint64		last_request_id;
	PghaRequest request;		/* kind NONE when there is none */
	PghaOutcome outcome;
	ConditionVariable outcome_cv;

	/* the keeper's timing, for the api's /metrics (keeper_report_timing) */
	uint64		keeper_cycles;
	int64		keeper_cycle_us;	/* the last loop's duration */
	int64		keeper_cycle_max_us;
	uint64		etcd_requests;	/* the keeper's etcd client's requests */
	int64		etcd_request_us;	/* the last one's duration */
	int64		etcd_request_sum_us;
	pid_t		api_pid;		/* the "pgha api" worker; 0 when not running */
} PghaShared;

extern PghaShared *pgha_shared;

extern void pgha_shmem_install_hooks(void);
extern void pgha_shmem_attach(void);
extern PghaShared *pgha_shared_or_error(void);

/* fence_file.c: the fencing state across a crash restart */
extern void pgha_fence_file_save(const PghaLeaseState *lease, int64 deadline_ms,
								 bool fenced, bool paused, uint64 armed);
extern void pgha_fence_file_restore(PghaShared *s);

/* sql_admin.c: hand a request to the keeper (for SQL and the api worker) */
extern void pgha_submit_request(PghaRequest *req, int timeout_ms,
								PghaOutcome *result);
extern int	pgha_request_timeout_ms(void);

/* commit_guard.c */
extern void pgha_commit_guard_install(void);

/* keeper.c */
extern PGDLLEXPORT void pgha_keeper_main(Datum arg);
extern void pgha_register_keeper(void);

/* the REST api (api_worker.c, guc.c) */
extern char *pgha_api_listen;
extern char *pgha_api_connect_address;
extern char *pgha_api_username;
extern char *pgha_api_password;
extern char *pgha_api_certfile;
extern char *pgha_api_keyfile;
extern char *pgha_api_cafile;
extern int	pgha_api_verify_client;

typedef enum PghaApiVerify
{
	PGHA_API_VERIFY_NONE = 0,
	PGHA_API_VERIFY_OPTIONAL,
	PGHA_API_VERIFY_REQUIRED
} PghaApiVerify;

extern PGDLLEXPORT void pgha_api_main(Datum arg);
extern void pgha_register_api(void);
/* pgha.c */
extern void pgha_register_worker(const char *function, const char *name,
								 int restart_s);
/* "http[s]://<connect address>/patroni" for the member key, "" when off */
extern void pgha_api_url(char *buf, size_t len);

/* walsenders.c: this primary's standbys, from its walsenders */
typedef struct PghaWalSender
{
	char		name[NAMEDATALEN];	/* application_name, "" when none */
	char		client_addr[64];	/* numeric, "" for a Unix socket */
	const char *state;			/* pg_stat_replication's state */
	bool		streaming;
	int64_t		flush;
	int			priority;		/* sync_standby_priority */
} PghaWalSender;
extern int	pgha_walsenders_read(PghaWalSender *out, int max);
struct PghaSyncPeer;
extern int	pgha_walsender_peers(struct PghaSyncPeer *peers, int *priority, int max);
/* freshen.c: what this node sees live over the members' keys */
extern void pgha_freshen_live(PghaCluster *cl);

/* quick_exit.c: a child's exit() skips the libraries' teardown */
extern void pgha_quick_exit_install(void);

#endif							/* PGHA_EXT_H */
