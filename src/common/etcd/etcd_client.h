/*-------------------------------------------------------------------------
 *
 * etcd_client.h
 *	  A small etcd v3 client over the HTTP/JSON gateway (libcurl + jansson).
 *
 * Plain C with malloc/free and no PostgreSQL dependencies: the same code is
 * linked into pgha.so (keeper) and into the pghactl command-line tool.  No
 * function here ever aborts or longjmps; every failure, including any
 * malformed or unexpected etcd answer, comes back as an EtcdStatus with a
 * message in EtcdError.
 *
 * Every request is bounded: a connect timeout, a total timeout, and an
 * optional absolute deadline shared by all requests until it is cleared
 * (the keeper uses it to bound one loop by retry_timeout).  On connection
 * failure, timeout, HTTP 5xx or "no leader" the client moves on to the next
 * endpoint while the time budget lasts.  Requests carry
 * "Grpc-Metadata-Hasleader: true" so that a member without quorum fails
 * fast instead of stalling.
 *
 * Keys and values are NUL-terminated C strings here; base64 is internal.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_ETCD_CLIENT_H
#define PGHA_ETCD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum EtcdStatus
{
	ETCD_OK = 0,
	ETCD_ERR_UNAVAILABLE,		/* no endpoint could be reached / all 5xx */
	ETCD_ERR_TIMEOUT,			/* timed out: a write's outcome is unknown */
	ETCD_ERR_PROTOCOL,			/* malformed or unexpected answer */
	ETCD_ERR_AUTH,				/* authentication failed / token invalid */
	ETCD_ERR_DENIED,			/* permission denied */
	ETCD_ERR_NOT_FOUND,			/* lease not found, key not found */
	ETCD_ERR_COMPACTED,			/* requested revision compacted */
	ETCD_ERR_SERVER,			/* any other error reported by etcd */
	ETCD_ERR_CONFIG,			/* bad client configuration */
	ETCD_ERR_NOMEM				/* out of memory */
} EtcdStatus;

typedef struct EtcdError
{
	EtcdStatus	status;
	int			http_code;		/* 0 when no HTTP answer */
	int			grpc_code;		/* -1 when unknown */
	char		endpoint[128];	/* endpoint of the last attempt */
	char		message[256];
} EtcdError;

typedef struct EtcdKV
{
	char	   *key;			/* malloc'd, NUL-terminated */
	char	   *value;			/* malloc'd, NUL-terminated ("" when absent) */
	size_t		value_len;
	int64_t		create_revision;
	int64_t		mod_revision;
	int64_t		version;
	int64_t		lease;			/* 0 when none */
} EtcdKV;

typedef struct EtcdKVList
{
	EtcdKV	   *kvs;			/* malloc'd array, NULL when count == 0 */
	int			count;
	int64_t		revision;		/* header revision of the answer */
} EtcdKVList;

typedef struct EtcdTxnResult
{
	bool		succeeded;
	int64_t		revision;		/* header revision */
	EtcdKVList	current;		/* failure branch: the key's current kv (0 or 1) */
} EtcdTxnResult;

typedef struct EtcdClientConfig
{
	const char *endpoints;		/* comma-separated http(s)://host:port */
	const char *cacert;			/* NULL or "" when unused */
	const char *cert;
	const char *key;
	const char *username;
	const char *password;
	int			connect_timeout_ms; /* per attempt, default 1000 */
	int			request_timeout_ms; /* per attempt, default 2000 */
} EtcdClientConfig;

typedef struct EtcdClient EtcdClient;

/* lease argument of put operations that keeps the key's current lease */
#define ETCD_KEEP_LEASE (-1)

/*
 * libcurl's global initialization (and with it its TLS library's), done
 * once; etcd_client_new() calls it.  A process that must register exit
 * handlers after the libraries' own calls it first.
 */
extern bool etcd_global_init(EtcdError *err);
extern EtcdClient *etcd_client_new(const EtcdClientConfig *cfg, EtcdError *err);
extern void etcd_client_free(EtcdClient *c);

/* absolute deadline (etcd_now_ms() clock) for all requests; 0 clears it */
extern void etcd_client_set_deadline(EtcdClient *c, int64_t deadline_ms);
extern int64_t etcd_now_ms(void);	/* CLOCK_BOOTTIME in ms */
extern const char *etcd_status_name(EtcdStatus s);
/* the requests made so far and their durations (not the watch's) */
typedef struct EtcdClientStats
{
	uint64_t	requests;
	int64_t		last_us;
	int64_t		sum_us;
} EtcdClientStats;
extern void etcd_client_stats(const EtcdClient *c, EtcdClientStats *out);

/* endpoint that answered last (for reports); never NULL */
extern const char *etcd_client_current_endpoint(EtcdClient *c);

/* leases */
extern EtcdStatus etcd_lease_grant(EtcdClient *c, int ttl, int64_t *lease_id,
								   int *granted_ttl, EtcdError *err);
/* *ttl_left = 0 when the lease is gone */
extern EtcdStatus etcd_lease_keepalive(EtcdClient *c, int64_t lease_id,
									   int *ttl_left, EtcdError *err);
extern EtcdStatus etcd_lease_revoke(EtcdClient *c, int64_t lease_id,
									EtcdError *err);

/* reads */
extern EtcdStatus etcd_get(EtcdClient *c, const char *key, EtcdKVList *out,
						   EtcdError *err);
/* all keys starting with prefix; prefix should end with '/' */
extern EtcdStatus etcd_get_prefix(EtcdClient *c, const char *prefix,
								  EtcdKVList *out, EtcdError *err);

/* writes; lease 0 = no lease, ETCD_KEEP_LEASE = keep the current lease */
extern EtcdStatus etcd_put(EtcdClient *c, const char *key, const char *value,
						   int64_t lease, EtcdError *err);
extern EtcdStatus etcd_delete(EtcdClient *c, const char *key, EtcdError *err);
extern EtcdStatus etcd_delete_prefix(EtcdClient *c, const char *prefix,
									 int64_t *deleted, EtcdError *err);

/*
 * Transactions.  On a failed comparison the call still returns ETCD_OK with
 * res->succeeded = false and res->current holding the key's current kv (if
 * any), so the caller can see who holds it.
 */
/* put only if the key does not exist (create_revision == 0) */
extern EtcdStatus etcd_create(EtcdClient *c, const char *key, const char *value,
							  int64_t lease, EtcdTxnResult *res, EtcdError *err);
/* put only if the key's value equals expected */
extern EtcdStatus etcd_cas_value(EtcdClient *c, const char *key,
								 const char *expected, const char *value,
								 int64_t lease, EtcdTxnResult *res,
								 EtcdError *err);
/* put only if the key's mod_revision equals mod_revision (0: key absent) */
extern EtcdStatus etcd_cas_mod(EtcdClient *c, const char *key,
							   int64_t mod_revision, const char *value,
							   int64_t lease, EtcdTxnResult *res,
							   EtcdError *err);
/* delete only if the key's value equals expected */
extern EtcdStatus etcd_cad_value(EtcdClient *c, const char *key,
								 const char *expected, EtcdTxnResult *res,
								 EtcdError *err);
/*
 * The same, guarded by the value AND the key's lease (LEASE == expected_lease,
 * 0 = no lease): the leader key is only "held" on the holder's own lease.
 */
extern EtcdStatus etcd_cas_value_lease(EtcdClient *c, const char *key,
									   const char *expected,
									   int64_t expected_lease,
									   const char *value, int64_t lease,
									   EtcdTxnResult *res, EtcdError *err);

/* a put in a transaction's success branch, beside its own operation */
typedef struct EtcdPutOp
{
	const char *key;
	const char *value;			/* on no lease */
} EtcdPutOp;

/*
 * Delete the key if its value equals expected and it sits on expected_lease
 * (0 = no lease), and put these keys (on no lease) in the
 * same transaction: all or nothing, one Raft write.  On a failed comparison
 * res->current holds the key, as above.
 */
extern EtcdStatus etcd_cad_value_lease_puts(EtcdClient *c, const char *key,
											const char *expected,
											int64_t expected_lease,
											const EtcdPutOp *puts, int nputs,
											EtcdTxnResult *res,
											EtcdError *err);

extern void etcd_kvlist_free(EtcdKVList *l);
extern void etcd_txn_result_free(EtcdTxnResult *r);
/* first kv with exactly this key, or NULL */
extern const EtcdKV *etcd_kvlist_find(const EtcdKVList *l, const char *key);

/*
 * Watch on a prefix, driven without blocking (curl multi).  The caller
 * waits on etcd_watch_socket() (or just its own timeout) and then calls
 * etcd_watch_poll(), which never blocks.  Any status other than ETCD_OK
 * means the watch has ended (stream closed, canceled, compacted, error);
 * the caller frees it and starts a new one after re-reading the prefix.
 */
typedef struct EtcdWatchEvent
{
	bool		is_delete;
	EtcdKV		kv;
	bool		has_prev;
	EtcdKV		prev_kv;
} EtcdWatchEvent;

typedef struct EtcdWatch EtcdWatch;

extern EtcdWatch *etcd_watch_start(EtcdClient *c, const char *prefix,
								   int64_t start_revision, EtcdError *err);
/* socket to wait on for readability, or -1 when not known yet */
extern int	etcd_watch_socket(EtcdWatch *w);
/* appends new events to *events (malloc'd, *nevents entries) */
extern EtcdStatus etcd_watch_poll(EtcdWatch *w, EtcdWatchEvent **events,
								  int *nevents, EtcdError *err);
extern void etcd_watch_events_free(EtcdWatchEvent *events, int nevents);
extern void etcd_watch_free(EtcdWatch *w);

#endif							/* PGHA_ETCD_CLIENT_H */
