/*-------------------------------------------------------------------------
 *
 * api_body.h
 *	  The bodies of the REST api, in Patroni 3's formats: the node status
 *	  (GET /patroni and every health check), /cluster, /metrics; and the
 *	  parsers of request bodies (POST /switchover and /failover, PATCH and
 *	  PUT /config), with Patroni's answers to bad input.
 *
 * Plain C over jansson (api_body.c, api_metrics.c, api_request.c), no
 * PostgreSQL headers (pgha_json.h says why), so
 * the worker, the unit tests (test/unit/test_api_body.c) and the fuzz
 * target (test/fuzz/fuzz_api_bodies.c) share it.  Strings returned are
 * malloc'd; NULL means out of memory unless said otherwise.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_API_BODY_H
#define PGHA_API_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.h"

/* one row of Patroni's "replication" list (pg_stat_replication) */
typedef struct PghaApiReplication
{
	char		usename[PGHA_NAME_LEN];
	char		application_name[PGHA_NAME_LEN];
	char		client_addr[64];	/* "" = null (a Unix socket) */
	char		state[PGHA_WORD_LEN];
	char		sync_state[PGHA_WORD_LEN];
	int			sync_priority;
} PghaApiReplication;

/* the node status, as get_postgresql_status() + _write_status_response() */
typedef struct PghaApiStatus
{
	char		state[PGHA_WORD_LEN];	/* running, starting, stopping, ... */
	char		role[PGHA_WORD_LEN];	/* master, replica */
	bool		have_postgres;	/* false: only state, role (postgres not up) */
	char		postmaster_start_time[64];	/* "2026-11-23 23:47:34.504611+00:00" */
	double		postmaster_start_epoch;
	int			server_version;
	int64_t		location;		/* master */
	int64_t		received_location;	/* replica */
	int64_t		replayed_location;
	char		replayed_timestamp[64]; /* "" = null */
	double		replayed_epoch; /* 0 = null */
	bool		replay_paused;
	char		replication_state[32];	/* replica; "" = none */
	int			timeline;		/* 0 = unknown */
	int			nreplication;
	PghaApiReplication replication[PGHA_MAX_MEMBERS];
	bool		sync_standby;
	bool		cluster_unlocked;
	int64_t		dcs_last_seen;	/* epoch seconds, 0 = never */
	bool		nofailover;		/* tags */
	bool		nosync;
	int			failover_priority;
	char		system_identifier[PGHA_WORD_LEN];
	bool		pending_restart;
	char		scope[PGHA_NAME_LEN];
	bool		pause;
	bool		watchdog_failed;
} PghaApiStatus;

/* Patroni's status JSON, keys in Patroni's order */
extern char *pgha_api_status_json(const PghaApiStatus *st);

/*
 * GET /cluster: cluster_as_json() of Patroni's utils.py over the model
 * (members sorted by name, the leader's role "leader", sync standbys
 * "sync_standby", lag against the status key's optime, pause, a scheduled
 * switchover).
 */
extern char *pgha_api_cluster_json(const PghaCluster *cl);

/* pgha's own gauges for /metrics, next to Patroni's */
typedef struct PghaApiMetrics
{
	bool		has_fence_margin;
	double		fence_margin_s;	/* deadline - now on a primary holding the key */
	uint64_t	keeper_cycles;
	double		keeper_cycle_s;	/* the last loop's duration */
	double		keeper_cycle_max_s;
	double		keeper_age_s;	/* since the keeper's last loop; -1 never */
	uint64_t	etcd_requests;
	double		etcd_request_s; /* the last request's duration */
	double		etcd_request_sum_s;
	uint64_t	api_requests;
} PghaApiMetrics;

/* GET /metrics: Prometheus text, Patroni's metric names, then pgha_* */
extern char *pgha_api_metrics_text(const PghaApiStatus *st,
								   const PghaApiMetrics *m,
								   const char *version);

/*
 * POST /switchover and /failover: Patroni's body {"leader": ...,
 * "candidate" (or "member"): ..., "scheduled_at": ...}.  Returns 0 when
 * it is a JSON object with string-or-null fields that fit, else the
 * status code Patroni answers (400) with the message in errbuf.
 */
typedef struct PghaApiFailoverRequest
{
	char		leader[PGHA_NAME_LEN];
	char		candidate[PGHA_NAME_LEN];
	char		scheduled_at[64];
} PghaApiFailoverRequest;

extern int	pgha_api_parse_failover(const char *body, size_t len,
									PghaApiFailoverRequest *out,
									char *errbuf, size_t errlen);

/*
 * Patroni's first checks of a switchover (failover = false) or failover
 * request against the cluster, before pgha_switchover_check(): 0 when it
 * passes, else the status code with Patroni's message.  now_epoch: the
 * current time, to refuse a schedule in the past; scheduled_at gets
 * normalized to ISO 8601 UTC with "+00:00" when it parses.
 */
extern int	pgha_api_failover_precheck(const PghaCluster *cl, bool failover,
									   PghaApiFailoverRequest *req,
									   double now_epoch,
									   char *errbuf, size_t errlen);

/*
 * PATCH /config: Patroni's patch_config() of the current config (JSON text,
 * NULL or "" = {}) with the request body (a non-empty JSON object; null
 * removes a key, objects merge).  Returns the new compact JSON, or NULL
 * with *code set (400 bad body) and a message; *changed says whether
 * anything differs.
 */
extern char *pgha_api_config_patch(const char *current, const char *body,
								   size_t len, bool *changed, int *code,
								   char *errbuf, size_t errlen);

/* PUT /config: the body as a compact JSON object, NULL with *code 400 */
extern char *pgha_api_config_put(const char *body, size_t len, int *code,
								 char *errbuf, size_t errlen);

/* any JSON text re-dumped as Python's json.dumps() writes it; NULL if invalid */
extern char *pgha_api_json_python(const char *json);

/* POST /restart's filters (Patroni's names); role "primary" or "replica" */
typedef struct PghaApiRestartRequest
{
	bool		restart_pending;
	char		role[16];			/* "" = any */
	char		postgres_version[32];	/* "" = any */
	int			below_version;		/* its server_version_num; 0 = any */
	char		scheduled_at[64];	/* ISO 8601 UTC; "" = now */
} PghaApiRestartRequest;

/* 0, or Patroni's status (400, 422, 500) with its message */
extern int	pgha_api_parse_restart(const char *body, size_t len, bool paused,
								   double now_epoch, PghaApiRestartRequest *out,
								   char *errbuf, size_t errlen);

/* reinitialize/restart bodies may be empty; {"force": ...} is parse_bool()ed */
extern int	pgha_api_parse_force(const char *body, size_t len, bool *force,
								 char *errbuf, size_t errlen);

#endif							/* PGHA_API_BODY_H */
