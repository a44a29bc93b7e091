/*-------------------------------------------------------------------------
 *
 * api_policy.h
 *	  The REST api's decisions, as Patroni 3 makes them (patroni/api.py):
 *	  which endpoint a request names, which status code a health check
 *	  answers given this node's state, and the parsing of query strings.
 *
 * Plain C, no I/O: the api worker (src/ext/api_*.c) gathers the node's
 * state into a PghaApiNode and serves what these functions decide.  Unit
 * tests: test/unit/test_api_policy.c, row by row.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_API_POLICY_H
#define PGHA_API_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.h"

typedef enum PghaApiMethod
{
	PGHA_HTTP_OTHER = 0,
	PGHA_HTTP_GET,
	PGHA_HTTP_HEAD,
	PGHA_HTTP_OPTIONS,
	PGHA_HTTP_POST,
	PGHA_HTTP_PUT,
	PGHA_HTTP_PATCH,
	PGHA_HTTP_DELETE
} PghaApiMethod;

/* what a request asks for: Patroni routes on the first path segment */
typedef enum PghaApiEndpoint
{
	PGHA_EP_NOT_FOUND = 0,
	/* health checks: a status code decided by pgha_api_check_code() */
	PGHA_EP_PRIMARY,			/* /, /primary, /master, /read-write */
	PGHA_EP_LEADER,
	PGHA_EP_STANDBY_LEADER,		/* /standby-leader, /standby_leader */
	PGHA_EP_REPLICA,
	PGHA_EP_READ_ONLY,
	PGHA_EP_SYNC,				/* /synchronous, /sync */
	PGHA_EP_ASYNC,				/* /asynchronous, /async */
	PGHA_EP_READ_ONLY_SYNC,		/* /read-only-sync, /read-only-synchronous */
	PGHA_EP_HEALTH,
	/* the rest */
	PGHA_EP_LIVENESS,
	PGHA_EP_READINESS,
	PGHA_EP_PATRONI,
	PGHA_EP_CLUSTER,
	PGHA_EP_HISTORY,
	PGHA_EP_CONFIG,
	PGHA_EP_METRICS,
	PGHA_EP_SWITCHOVER,
	PGHA_EP_FAILOVER,
	PGHA_EP_RESTART,
	PGHA_EP_RELOAD,
	PGHA_EP_REINITIALIZE
} PghaApiEndpoint;

extern PghaApiMethod pgha_api_method(const char *method);
/* the endpoint of a path (query string already cut off) */
extern PghaApiEndpoint pgha_api_endpoint(const char *path);
/* a health check answers GET, HEAD and OPTIONS with the same code */
extern bool pgha_api_is_check(PghaApiEndpoint ep);
/* POST, PUT, PATCH, DELETE need credentials when some are configured */
extern bool pgha_api_method_is_unsafe(PghaApiMethod m);

/* a tag of this node, as Patroni compares it: the value as text, booleans lower case */
typedef struct PghaApiTag
{
	const char *name;
	const char *value;
} PghaApiTag;

#define PGHA_API_MAX_TAGS 4

/*
 * What the health checks look at.  role is Patroni's word for postgres'
 * role: "master" (not in recovery) or "replica".  state is "running" once
 * postgres accepts connections (a standby: hot standby active), "starting"
 * before, "stopping" once a shutdown has begun.
 */
typedef struct PghaApiNode
{
	const char *state;
	const char *role;
	bool		is_leader;		/* holds the leader key on a live lease, not fenced */
	bool		have_cluster;	/* a view of etcd younger than ttl */
	bool		paused;			/* maintenance mode */
	bool		sync_standby;	/* named in the sync key, synchronous mode on */
	bool		noloadbalance;	/* Patroni's tag; pgha has none: false */
	int64_t		leader_optime;	/* the status key's optime, 0 when unknown */
	int64_t		replayed_location;	/* a replica's replay position */
	const char *replication_state;	/* a replica: "streaming" while its WAL
									 * receiver streams, else "in archive
									 * recovery" (Patroni 3.1's words) */
	int			ntags;
	PghaApiTag	tags[PGHA_API_MAX_TAGS];
	/* liveness: the keeper's last loop, its timing */
	int64_t		keeper_age_ms;	/* since the keeper's last loop; -1 never */
	int			ttl;
	int			loop_wait;
} PghaApiNode;

/* the query string, as the health checks read it */
#define PGHA_API_MAX_QUERY_TAGS 16
typedef struct PghaApiQuery
{
	bool		has_lag;
	char		lag[64];		/* ?lag= as given */
	char		replication_state[32];	/* ?replication_state= ("" none) */
	int			ntags;
	char		tag_names[PGHA_API_MAX_QUERY_TAGS][64];	/* ?tag_<name>=<value> */
	char		tag_values[PGHA_API_MAX_QUERY_TAGS][64];
	bool		too_many_tags;	/* more than fit: never matches */
} PghaApiQuery;

/*
 * Add one query argument (key, value; value NULL for "?key").  Unknown
 * keys are ignored, as Patroni ignores them.  Only the first value of a
 * key counts, as parse_qs()[key][0] in Patroni.
 */
extern void pgha_api_query_add(PghaApiQuery *q, const char *key,
							   const char *value);

/*
 * Patroni's parse_int(value, 'B'): a byte count with an optional unit
 * (B, kB, MB, GB, TB, case as PostgreSQL writes them), decimal, 0x hex or
 * 0 octal, or a decimal fraction; false when unparsable (Patroni then
 * applies no limit).
 */
extern bool pgha_api_parse_bytes(const char *s, int64_t *out);

/* the status code of a health check (PGHA_EP_PRIMARY .. PGHA_EP_HEALTH) */
extern int	pgha_api_check_code(PghaApiEndpoint ep, const PghaApiNode *n,
								const PghaApiQuery *q);

extern int	pgha_api_liveness_code(const PghaApiNode *n);
extern int	pgha_api_readiness_code(const PghaApiNode *n);

/* the reason phrase of a status code, as Python's http.server has it */
extern const char *pgha_api_reason(int code);

/*
 * "host:port" of pgha.api_listen / api_connect_address: host (brackets
 * of an IPv6 address removed) and port 1-65535; false with a message.
 */
extern bool pgha_api_split_host_port(const char *s, char *host, size_t hostlen,
									 int *port, char *errbuf, size_t errlen);

#endif							/* PGHA_API_POLICY_H */
