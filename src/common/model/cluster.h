/*-------------------------------------------------------------------------
 *
 * cluster.h
 *	  The cluster model: what pgha reads from and writes to etcd, in the
 *	  exact format Patroni 3 uses (../shared/PATRONI-OBSERVED.md).
 *
 * Plain C (jansson, malloc), shared by pgha.so and pghactl.  Fixed-size
 * structs so that the keeper can copy a whole view into shared memory.
 * Decoding never trusts its input: wrong types, missing fields, overlong
 * strings and garbage are reported as errors (or ignored field by field
 * where Patroni itself is lenient), never crash.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_CLUSTER_H
#define PGHA_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcd_client.h"

#define PGHA_NAME_LEN		64		/* member names, scope */
#define PGHA_URL_LEN		256		/* conn_url, api_url */
#define PGHA_WORD_LEN		32		/* state, role, version */
#define PGHA_MAX_MEMBERS	32
#define PGHA_ERR_LEN		256

#define PGHA_VERSION_STRING "1.0.0"

typedef struct PghaMember
{
	char		name[PGHA_NAME_LEN];
	char		conn_url[PGHA_URL_LEN];	/* postgres://host:port/postgres */
	char		api_url[PGHA_URL_LEN];	/* may be empty */
	char		state[PGHA_WORD_LEN];	/* running, starting, stopped, ... */
	char		role[PGHA_WORD_LEN];	/* master, replica, ... (Patroni's words) */
	char		version[PGHA_WORD_LEN];
	int64_t		xlog_location;	/* -1 when absent */
	int			timeline;		/* 0 when absent */
	bool		nofailover;		/* tags */
	bool		nosync;
	int			failover_priority;	/* default 1 */
	char		instance[PGHA_WORD_LEN];	/* "pgha_instance" (identity.h), a
											 * field Patroni ignores; "" when
											 * absent */
	bool		pending_restart;	/* Patroni's: a setting waits for a restart */
	bool		pause;			/* Patroni's: this member saw the cluster paused */
	char		scheduled_restart[64];	/* its "schedule" (ISO 8601); "" = none */
	char		scheduled_restart_version[PGHA_WORD_LEN];	/* its
															 * "postgres_version" */
	int64_t		lease;			/* etcd lease of the key (not JSON) */
	int64_t		mod_revision;	/* etcd revision of the key's last change */
} PghaMember;

/* synchronous_mode of the config key (Patroni: synchronous_mode[_strict]) */
typedef enum PghaSyncMode
{
	PGHA_SYNC_OFF = 0,
	PGHA_SYNC_ON,				/* commits wait for the sync standbys, if any */
	PGHA_SYNC_STRICT			/* commits wait, even when there is none */
} PghaSyncMode;

#define PGHA_MAX_SYNC		8	/* synchronous_node_count at most */

/* the shared dynamic configuration (the "config" key) */
typedef struct PghaDynConfig
{
	int			ttl;
	int			loop_wait;
	int			retry_timeout;
	int64_t		maximum_lag_on_failover;
	bool		pause;
	PghaSyncMode synchronous_mode;
	int			synchronous_node_count; /* 1..PGHA_MAX_SYNC, default 1 */
} PghaDynConfig;

/*
 * The "sync" key: {"leader":"n1","sync_standby":"n2,n3"} ("sync_standby"
 * null when there is none).  The members listed have every commit the
 * leader acknowledged (safety rule 3); in synchronous mode only they (and
 * the leader named) may be promoted.
 */
typedef struct PghaSyncState
{
	char		leader[PGHA_NAME_LEN];
	int			nmembers;
	char		members[PGHA_MAX_SYNC][PGHA_NAME_LEN];
} PghaSyncState;

/* a switchover or manual failover request: the "failover" key */
typedef struct PghaFailover
{
	char		leader[PGHA_NAME_LEN];	/* "" = any (manual failover) */
	char		member[PGHA_NAME_LEN];	/* "" = the best candidate */
	char		scheduled_at[64];	/* ISO 8601, "" = now */
} PghaFailover;

typedef struct PghaCluster
{
	int64_t		revision;		/* etcd revision of the read */

	bool		has_initialize;
	char		initialize[PGHA_WORD_LEN];	/* system identifier, as text */

	bool		has_config;
	bool		config_valid;	/* present but undecodable -> false */
	PghaDynConfig config;
	int64_t		config_mod_revision;

	bool		has_leader;
	char		leader[PGHA_NAME_LEN];
	int64_t		leader_lease;
	int64_t		leader_mod_revision;

	bool		has_history;
	bool		history_valid;	/* present and decodable */
	int64_t		history_mod_revision;
	int			history_last_timeline;	/* highest timeline listed; 0 if none */
	int			nhistory_tail;	/* the last entries: where each timeline ended */
	int			history_tail_tl[8];
	int64_t		history_tail_lsn[8];

	bool		has_failover;	/* a request is pending (not "{}") */
	PghaFailover failover;
	int64_t		failover_mod_revision;	/* 0 when the key is absent */

	bool		has_optime;
	int64_t		optime;			/* "status" key: leader's last WAL position */

	/*
	 * "pgha_final" (pgha only): a leader stopped cleanly and released the
	 * key at this position (final_state.c)
	 */
	bool		has_final;
	char		final_leader[PGHA_NAME_LEN];
	int64_t		final_optime;
	int			final_timeline;
	bool		final_shut_down;	/* optime is the last WAL record */
	int64_t		final_mod_revision;

	bool		has_sync;		/* the key exists (maybe undecodable) */
	PghaSyncState sync;			/* empty when undecodable: nobody listed */
	int64_t		sync_mod_revision;	/* 0 when the key is absent */

	int			nmembers;
	PghaMember	members[PGHA_MAX_MEMBERS];
	int			nbad_members;	/* member keys that failed to decode */
	char		last_decode_error[PGHA_ERR_LEN];
} PghaCluster;

/* "<namespace>/<scope>/" with exactly one '/' between parts; false if too long */
extern bool pgha_cluster_prefix(const char *namespace_, const char *scope,
								char *buf, size_t buflen);

/*
 * Build the model from a range over the cluster prefix.  Unknown keys are
 * ignored; a member or config value that does not decode is skipped and
 * counted, with the message in last_decode_error.  Always succeeds.
 */
extern void pgha_cluster_from_kvs(const char *prefix, const EtcdKVList *kvs,
								  PghaCluster *out);
extern const PghaMember *pgha_cluster_find_member(const PghaCluster *cl,
												  const char *name);

/* Patroni's member JSON; returns malloc'd string or NULL on OOM */
extern char *pgha_member_to_json(const PghaMember *m);
extern bool pgha_member_from_json(const char *json, PghaMember *m,
								  char *errbuf, size_t errlen);

extern char *pgha_config_to_json(const PghaDynConfig *cfg);
/* missing fields keep the values already in *cfg */
extern bool pgha_config_from_json(const char *json, PghaDynConfig *cfg,
								  char *errbuf, size_t errlen);

/*
 * The sync key.  Decoding is strict about types and sizes (an undecodable
 * key lists nobody, so nobody is promoted on its word); names are compared
 * case-insensitively, as Patroni does.
 */
extern bool pgha_sync_from_json(const char *json, PghaSyncState *s,
								char *errbuf, size_t errlen);
extern char *pgha_sync_to_json(const PghaSyncState *s);
extern bool pgha_sync_lists(const PghaSyncState *s, const char *name);
/* in synchronous mode, may this member be promoted? (listed, or the leader named) */
extern bool pgha_sync_may_promote(const PghaCluster *cl, const char *name);
extern const char *pgha_sync_mode_name(PghaSyncMode mode);

/* "pgha_final": {"leader":..,"optime":N,"timeline":T,"shut_down":B}; malloc'd */
extern char *pgha_final_to_json(const char *leader, int64_t optime,
								int timeline, bool shut_down);
extern bool pgha_final_from_json(const char *json, char *leader,
								 size_t leaderlen, int64_t *optime,
								 int *timeline, bool *shut_down,
								 char *errbuf, size_t errlen);

/* {"optime":N} */
extern char *pgha_status_to_json(int64_t optime);
extern bool pgha_status_from_json(const char *json, int64_t *optime,
								  char *errbuf, size_t errlen);

/*
 * A decimal integer in a string, as Python's int() reads the numeric
 * strings Patroni tolerates in its configuration: optional surrounding
 * whitespace, optional sign, digits.
 */
extern bool pgha_parse_int64_text(const char *s, int64_t *out);

/* host and port out of conn_url ("postgres://host:port/db"); false if unparsable */
extern bool pgha_conn_url_host_port(const char *conn_url, char *host,
									size_t hostlen, int *port);

/*
 * What patronictl list shows for a member: "Leader", "Replica",
 * "Sync Standby", ...; and the lag in MB against the cluster optime
 * (-1 when unknown or for the leader).
 */
extern const char *pgha_member_display_role(const PghaCluster *cl,
											 const PghaMember *m);
extern int64_t pgha_member_lag_bytes(const PghaCluster *cl, const PghaMember *m);

/* the failover key: {"leader":..,"member":..,"scheduled_at":..}, {} = none */
extern bool pgha_failover_from_json(const char *json, PghaFailover *f,
									char *errbuf, size_t errlen);
extern char *pgha_failover_to_json(const PghaFailover *f);
extern bool pgha_failover_empty(const PghaFailover *f);

/*
 * The config key with "pause" set (pause) or removed (resume), every other
 * field kept as it is (Patroni's postgresql section among them).  json NULL
 * or "" starts from {}.  malloc'd, NULL when json is not an object.
 */
extern char *pgha_config_set_pause(const char *json, bool pause,
								   char *errbuf, size_t errlen);

/*
 * The history key: a JSON array of [timeline, lsn, reason, time, leader],
 * one entry per timeline switch, as Patroni writes it.
 */
/* highest timeline in the array, 0 when empty; false when malformed */
extern bool pgha_history_last_timeline(const char *json, int *last_tl,
									   char *errbuf, size_t errlen);
typedef struct PghaHistoryEntry
{
	int			timeline;
	int64_t		lsn;
	char		reason[256];
	char		time[64];		/* ISO 8601, as written */
	char		leader[PGHA_NAME_LEN];	/* "" when the entry has none */
} PghaHistoryEntry;

/*
 * Decode up to max entries into out; returns the number decoded, or -1
 * when the JSON is malformed (message in errbuf).  Optional fields that are
 * absent or of another type are left empty, as patronictl shows them.
 */
extern int	pgha_history_decode(const char *json, PghaHistoryEntry *out,
								int max, char *errbuf, size_t errlen);
/* the array with one entry appended (json NULL or "" = new array); malloc'd */
/* the (timeline, lsn) of the last max entries; returns how many (0 on error) */
extern int	pgha_history_tail(const char *json, int *tl, int64_t *lsn, int max);
/* where timeline tl ended (its entry's lsn) per the model's history tail */
extern bool pgha_cluster_timeline_end(const PghaCluster *cl, int tl,
									  int64_t *lsn);
extern char *pgha_history_append(const char *json, int timeline, int64_t lsn,
								 const char *reason, const char *time_iso,
								 const char *leader);

#endif							/* PGHA_CLUSTER_H */
