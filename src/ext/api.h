/*-------------------------------------------------------------------------
 *
 * api.h
 *	  Internals of the "pgha api" background worker, split by concern:
 *	  api_worker.c (its life: settings, libmicrohttpd in the latch loop,
 *	  limits, TLS, authentication), api_handlers.c (the dispatch table and
 *	  the endpoints), api_state.c (this node's state from shared memory and
 *	  the WAL functions), api_etcd.c (reads of the cluster's keys, cached,
 *	  and the config key's compare-and-swap), api_ops.c (requests handed to
 *	  the keeper, answered when their outcome is known).
 *
 * The worker is single-threaded: libmicrohttpd runs without threads of its
 * own, from the worker's WaitEventSet.  A request that must wait (a
 * switchover) suspends its connection and is resumed from the loop, so
 * that no client delays another, and none ever delays the keeper.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_API_H
#define PGHA_API_H

#include "pgha.h"

#include <microhttpd.h>

#include "api_body.h"
#include "api_policy.h"

#define API_MAX_BODY		(64 * 1024)		/* bytes of a request body */
#define API_CONN_MEMORY		(32 * 1024)		/* per connection: headers and buffers */
#define API_MAX_CONNECTIONS	64
#define API_MAX_PER_IP		16
#define API_CONN_TIMEOUT_S	10		/* idle clients are cut off */
#define API_HEADER_TIMEOUT_MS 10000	/* a request's headers must be in by then */
#define API_ETCD_CACHE_MS	1000	/* /cluster, /history, /config */

typedef struct ApiPending ApiPending;

/* one request on one connection (MHD's con_cls) */
typedef struct ApiConn
{
	PghaApiMethod method;
	PghaApiEndpoint ep;
	char	   *body;			/* malloc'd, NUL-terminated */
	size_t		len;
	bool		too_large;
	bool		refused;		/* answered before the body (413) */
	ApiPending *pending;		/* a request handed to the keeper */
} ApiConn;

/* what a handler answers */
typedef struct ApiAnswer
{
	int			code;
	const char *content_type;	/* NULL: none */
	char	   *body;			/* palloc'd or a constant; NULL: empty */
	size_t		len;
	bool		status_only;	/* HEAD / OPTIONS */
} ApiAnswer;

/* api_handlers.c */
extern void api_dispatch(struct MHD_Connection *conn, ApiConn *ac,
						 const char *url, ApiAnswer *ans);
extern uint64 api_requests_served;

/* api_state.c */
typedef struct ApiView
{
	PghaShared *sh;				/* a copy of the keeper's view */
	PghaApiStatus status;
	PghaApiNode node;
	PghaApiMetrics metrics;
	char		tag_fo[8];		/* the node's tags as text */
	char		tag_prio[16];
} ApiView;

extern void api_gather(ApiView *v);

/* api_etcd.c */
typedef struct ApiEtcdRead
{
	bool		ok;
	char		error[PGHA_ERR_LEN];
	PghaCluster *cluster;		/* palloc'd */
	char	   *config_json;	/* NULL when the key is absent */
	int64		config_mod_revision;	/* 0 when absent */
	char	   *history_json;	/* NULL when absent */
} ApiEtcdRead;

extern void api_etcd_configure(void);
extern void api_etcd_close(void);
/* fresh: bypass the cache (Patroni's get_cluster(True)) */
extern void api_etcd_read(bool fresh, ApiEtcdRead *out);
/*
 * Write the config key if its mod_revision is still mod_revision: 200, 409
 * when someone else changed it, 503 when etcd failed (message in errbuf).
 */
extern int	api_etcd_cas_config(const char *json, int64 mod_revision,
								char *errbuf, size_t errlen);

/* api_ops.c */
extern bool api_ops_pending(void);
extern void api_ops_poll(void);
extern void api_ops_shutdown(void);
/*
 * Hand req to the keeper and suspend the connection until the outcome, then
 * until done() says the operation finished.  false (with a 503 in ans)
 * when the keeper is not running or busy.
 */
typedef struct ApiOpSpec ApiOpSpec;
extern bool api_ops_start(struct MHD_Connection *conn, ApiConn *ac,
						  const PghaRequest *req, const ApiOpSpec *spec,
						  ApiAnswer *ans);
extern bool api_ops_answer(ApiConn *ac, ApiAnswer *ans);
extern void api_ops_forget(ApiConn *ac);

/*
 * How an operation ends: after the keeper's outcome, wait_leader (if set)
 * waits until the leader key names another member than old_leader, as
 * Patroni's poll_failover_result() does.
 */
struct ApiOpSpec
{
	const char *action;			/* "switchover", "failover" */
	bool		wait_leader;
	char		old_leader[PGHA_NAME_LEN];
	char		candidate[PGHA_NAME_LEN];
	/* without wait_leader: the answer once the keeper carried it out */
	int			accepted_code;	/* 200, or 202 (Patroni: scheduled) */
	const char *accepted_text;	/* a constant; NULL: the keeper's outcome
								 * message */
	/* restart, reload, reinitialize: the keeper's status and message */
	bool		outcome_answers;
};

#endif							/* PGHA_API_H */
