/*-------------------------------------------------------------------------
 *
 * node_plan.h
 *	  What pgha-watchdog does with a node whose postgres is not running, and
 *	  whether a running primary has outlived its keeper's fencing deadline:
 *	  pure functions over what pg_controldata, the data directory, etcd and
 *	  the keeper's heartbeat say.
 *
 * The watchdog script only carries out these answers (pghactl node-plan,
 * pghactl heartbeat-check), so every rule is covered by unit tests without
 * servers (test/unit/test_node_plan.c).  Plain C, no PostgreSQL headers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_NODE_PLAN_H
#define PGHA_NODE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "node_files.h"

/* "Database cluster state" of pg_controldata (PostgreSQL's DBState) */
typedef enum PghaDbState
{
	PGHA_DB_STARTING_UP,		/* "starting up" */
	PGHA_DB_SHUT_DOWN,			/* "shut down": a primary stopped cleanly */
	PGHA_DB_SHUT_DOWN_IN_RECOVERY,	/* "shut down in recovery": a standby */
	PGHA_DB_SHUTTING_DOWN,		/* "shutting down" */
	PGHA_DB_IN_CRASH_RECOVERY,	/* "in crash recovery" */
	PGHA_DB_IN_ARCHIVE_RECOVERY,	/* "in archive recovery": a standby */
	PGHA_DB_IN_PRODUCTION		/* "in production": a primary */
} PghaDbState;

/* the parts of pg_controldata's output that the plan needs */
typedef struct PghaControlData
{
	char		system_identifier[PGHA_WORD_LEN];	/* decimal, as in etcd */
	PghaDbState state;
	uint64_t	checkpoint_lsn; /* Latest checkpoint location */
	int			checkpoint_tli; /* Latest checkpoint's TimeLineID */
	uint64_t	min_recovery_lsn;	/* Minimum recovery ending location */
	int			min_recovery_tli;	/* Min recovery ending loc's timeline */
	bool		wal_log_hints;	/* wal_log_hints setting: on */
	int			checksum_version;	/* Data page checksum version */
} PghaControlData;

/*
 * Parse the output of "LC_ALL=C pg_controldata".  Lines other than the
 * ones above are ignored; a missing or malformed required field (system
 * identifier, state, latest checkpoint location and timeline) makes it
 * false, with the reason in errbuf.
 */
extern bool pgha_parse_controldata(const char *text, PghaControlData *out,
								   char *errbuf, size_t errlen);
extern const char *pgha_db_state_text(PghaDbState s);
/* "X/Y" in hex, as PostgreSQL prints an LSN */
extern bool pgha_parse_lsn(const char *s, uint64_t *lsn);

/* what the watchdog knows about the local node */
typedef struct PghaLocalNode
{
	const char *name;			/* pgha.node_name */
	const PghaControlData *cd;	/* NULL: PGDATA missing or empty */
	bool		fenced;			/* PGDATA/pgha.fenced exists */
	bool		backup_label;	/* PGDATA/backup_label exists: a clone or a
								 * rewound copy that has not started yet */
	bool		restart;		/* PGDATA/pgha.restart: stopped for a requested
								 * restart, which keeps the leader key */
	bool		reinit;			/* PGDATA/pgha.reinit: wipe and clone again */
	const char *instance;		/* identity.h; NULL or "" = unknown */
	int64_t		lease;			/* from a trusted PGDATA/pgha.lease; 0 = none */
	int64_t		scope_empty_ms; /* no data directory: how long node-plan has
								 * seen no key at all in the scope (0: just
								 * now, or it is not empty) */
} PghaLocalNode;

/*
 * An empty node that finds no key at all in the scope waits this long for
 * members to reappear before it creates a new cluster: after etcd lost its
 * keys, every live keeper puts its member key back at its next cycle (at
 * once, on the watch event), and no node may run initdb while a member
 * may hold data (safety rule 6).
 */
#define PGHA_BOOTSTRAP_WAIT_MS	5000

typedef enum PghaPlanAction
{
	PGHA_PLAN_INITDB,			/* claim "initialize", then initdb + start */
	PGHA_PLAN_CLONE,			/* pg_basebackup from host:port, start */
	PGHA_PLAN_START_REPLICA,	/* start as a standby of host:port (or none) */
	PGHA_PLAN_REWIND,			/* pg_rewind from host:port, start as standby */
	PGHA_PLAN_RELEASE,			/* publish the final position, release the key */
	PGHA_PLAN_REINIT,			/* empty the data directory, clone host:port */
	PGHA_PLAN_WAIT				/* do nothing now; reason says why */
} PghaPlanAction;

typedef struct PghaNodePlan
{
	PghaPlanAction action;
	char		host[PGHA_URL_LEN];	/* "" when there is no upstream */
	int			port;
	char		reason[PGHA_ERR_LEN];	/* one line: why this plan */
} PghaNodePlan;

/*
 * The plan for a node whose postgres is not running (see node_plan.c for
 * the table).  PGHA_PLAN_INITDB means "the cluster is not initialized":
 * the caller claims the initialize key (create-if-absent) and plans again
 * with the key present when it loses that race.
 */
extern void pgha_node_plan(const PghaLocalNode *node, const PghaCluster *cl,
						   PghaNodePlan *out);

/*
 * The line pghactl node-plan prints: "initdb", "clone HOST PORT",
 * "start-replica HOST PORT", "start-replica - -", "rewind HOST PORT",
 * "release", "reinit HOST PORT", "wait REASON".
 */
extern void pgha_node_plan_line(const PghaNodePlan *plan, char *buf,
								size_t buflen);

/* the hung-keeper guard */
typedef enum PghaGuardVerdict
{
	PGHA_GUARD_OK,
	PGHA_GUARD_WARN,			/* worth a log line, nothing to do */
	PGHA_GUARD_FENCE			/* a primary past its fencing deadline */
} PghaGuardVerdict;

/* no heartbeat this long after the postmaster started: warn */
#define PGHA_HEARTBEAT_ABSENT_WARN_MS	30000
/* a heartbeat older than this: warn (the keeper may be hung) */
#define PGHA_HEARTBEAT_STALE_WARN_MS	60000
/*
 * The keeper fences itself at its deadline (SIGINT: a fast shutdown, which
 * hands the last WAL to the replicas); the guard, the backstop for a hung
 * keeper or a postmaster that does not act on the signal, kills postgres
 * this long after it unless it is visibly shutting down, so the two do not
 * race.  Safety margin: the deadline is the time the last keepalive was
 * sent + lease ttl - KEEPER_FENCE_MARGIN_MS, which is min(1000, 250 x lease
 * ttl) and so at least 500 ms (the lease ttl is at least 2 s); etcd can
 * expire the lease only ttl after it received that keepalive, later still.
 * The guard's SIGKILL at deadline + 100 ms therefore lands at least 400 ms
 * before any other node can take the leader key.
 */
#define PGHA_GUARD_GRACE_MS				100

/*
 * hb NULL: no heartbeat file, or a malformed one.  A heartbeat written
 * before the postmaster started belongs to an earlier run and is ignored.
 * postmaster_start_ms is the postmaster's start (CLOCK_BOOTTIME, from
 * /proc/PID/stat), 0 when unknown.
 */
extern PghaGuardVerdict pgha_heartbeat_verdict(const PghaHeartbeat *hb,
											   int64_t postmaster_start_ms,
											   int64_t now_ms,
											   char *why, size_t whylen);

#endif							/* PGHA_NODE_PLAN_H */
