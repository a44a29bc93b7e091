/*-------------------------------------------------------------------------
 *
 * api_handlers.c
 *	  The REST api's endpoints: one dispatch table of (method, endpoint,
 *	  handler), Patroni 3's answers (patroni/api.py).
 *
 * Health checks (/primary, /replica?lag=..., /read-only, /health, ...)
 * answer GET with the status JSON, HEAD and OPTIONS with the code alone
 * (HAProxy's "option httpchk OPTIONS /primary").  The policy (codes,
 * parsing, bodies) is plain C in src/common/api; handlers only gather and
 * serve.  A handler that asks the keeper for something fills a PghaRequest
 * and an ApiOpSpec and calls api_ops_start() (see post_failover() and
 * delete_switchover()); adding one is a row in the table and a few lines.
 *
 * Every handler runs inside libmicrohttpd's callback: an ERROR raised in
 * one is caught here, logged and answered 500, and never unwinds through
 * the HTTP server.
 *
 *-------------------------------------------------------------------------
 */
#include "api.h"

#include <time.h>

#include "storage/lwlock.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "config_edit.h"
#include "switchover.h"

uint64		api_requests_served = 0;

typedef void (*ApiHandler) (struct MHD_Connection *conn, ApiConn *ac,
							ApiAnswer *ans);

static void
answer_text(ApiAnswer *ans, int code, const char *text)
{
	ans->code = code;
	ans->content_type = "text/html";
	ans->body = (char *) text;
	ans->len = strlen(text);
}

/* a malloc'd string from src/common becomes the answer (copied to palloc) */
static void
answer_owned(ApiAnswer *ans, int code, const char *type, char *s)
{
	if (s == NULL)
	{
		answer_text(ans, 500, "out of memory");
		return;
	}
	ans->code = code;
	ans->content_type = type;
	ans->body = pstrdup(s);
	ans->len = strlen(ans->body);
	free(s);
}

static enum MHD_Result
add_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			  const char *value)
{
	pgha_api_query_add((PghaApiQuery *) cls, key, value);
	return MHD_YES;
}

/* GET/HEAD/OPTIONS of a health check */
static void
health_check(struct MHD_Connection *conn, ApiConn *ac, ApiAnswer *ans)
{
	ApiView    *v = palloc(sizeof(ApiView));
	PghaApiQuery q;
	int			code;

	memset(&q, 0, sizeof(q));
	(void) MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_query_arg, &q);
	api_gather(v);
	code = pgha_api_check_code(ac->ep, &v->node, &q);
	if (ac->method != PGHA_HTTP_GET)
	{
		ans->code = code;
		return;
	}
	answer_owned(ans, code, "application/json", pgha_api_status_json(&v->status));
}

static void
get_patroni(struct MHD_Connection *conn, ApiConn *ac, ApiAnswer *ans)
{
	ApiView    *v = palloc(sizeof(ApiView));

	api_gather(v);
	answer_owned(ans, 200, "application/json", pgha_api_status_json(&v->status));
}

static void
get_liveness(struct MHD_Connection *conn, ApiConn *ac, ApiAnswer *ans)
{
	ApiView    *v = palloc(sizeof(ApiView));

	api_gather(v);
	ans->code = pgha_api_liveness_code(&v->node);
	ans->status_only = true;
}

static void
get_readiness(struct MHD_Connection *conn, ApiConn *ac, ApiAnswer *ans)
{
	ApiView    *v = palloc(sizeof(ApiView));

	api_gather(v);
	ans->code = pgha_api_readiness_code(&v->node);
	ans->status_only = true;
}

static void
get_metrics(struct MHD_Connection *conn, ApiConn *ac, ApiAnswer *ans)
{
	ApiView    *v = palloc(sizeof(ApiView));

	api_gather(v);
	answer_owned(ans, 200, "text/plain",
				 pgha_api_metrics_text(&v->status, &v->metrics, PGHA_VERSION_STRING));
}

/* a read of the keys, or a 503 answer */
static bool
read_keys(ApiEtcdRead *r, bool fresh, ApiAnswer *ans)
{
	api_etcd_read(fresh, r);
	if (r->ok)
		return true;
	answer_text(ans, 503, psprintf("could not read the cluster from etcd: %s", r->error));
	return false;
}

static void
get_cluster(struct MHD_Connection *conn, ApiConn *ac, ApiAnswer *ans)
{
	ApiEtcdRead r;

	if (read_keys(&r, false, ans))
		answer_owned(ans, 200, "application/json", pgha_api_cluster_json(r.cluster));
}

static void
get_history(struct MHD_Connection *conn, ApiConn *ac, ApiAnswer *ans)
{
	ApiEtcdRead r;
	char	   *s;

	if (!read_keys(&r, false, ans))
		return;
	s = pgha_api_json_python(r.history_json);
	answer_owned(ans, 200, "application/json", s ? s : strdup("[]"));
}

static void
get_config(struct MHD_Connection *conn, ApiConn *ac, ApiAnswer *ans)
{
	ApiEtcdRead r;
	char	   *s;

	if (!read_keys(&r, false, ans))
		return;
	s = pgha_api_json_python(r.config_json);
	if (s == NULL)
		answer_text(ans, 502, "the config key is absent or not valid JSON");
	else
		answer_owned(ans, 200, "application/json", s);
}

/* the checks of pghactl edit-config, then the compare-and-swap */
static void
write_config(ApiAnswer *ans, const char *json, int64 mod_revision)
{
	char		err[256];
	int			code;

	if (!pgha_config_validate(json, err, sizeof(err)))
	{
		answer_text(ans, 400, psprintf("invalid configuration: %s", err));
		return;
	}
	code = api_etcd_cas_config(json, mod_revision, err, sizeof(err));
	if (code != 200)
		answer_text(ans, code, pstrdup(err));
}

static void
patch_config(struct MHD_Connection *conn, ApiConn *ac, ApiAnswer *ans)
{
	ApiEtcdRead r;
	char		err[256];
	char	   *json;
	bool		changed;
	int			code;

	if (ac->body == NULL || ac->len == 0)
	{
		answer_text(ans, 411, "Length Required");
		return;
	}
	if (!read_keys(&r, true, ans))
		return;
	if (r.config_json == NULL)
	{
		answer_text(ans, 503, "the config key does not exist yet");
		return;
	}
	json = pgha_api_config_patch(r.config_json, ac->body, ac->len, &changed,
								 &code, err, sizeof(err));
	if (json == NULL)
	{
		answer_text(ans, code, pstrdup(err));
		return;
	}
	ans->code = 200;
	if (changed)
		write_config(ans, json, r.config_mod_revision);
	if (ans->code == 200)
		answer_owned(ans, 200, "application/json", pgha_api_json_python(json));
	free(json);
}

static void
put_config(struct MHD_Connection *conn, ApiConn *ac, ApiAnswer *ans)
{
	ApiEtcdRead r;
	char		err[256];
	char	   *json;
	int			code;

	if (ac->body == NULL || ac->len == 0)
	{
		answer_text(ans, 411, "Length Required");
		return;
	}
	json = pgha_api_config_put(ac->body, ac->len, &code, err, sizeof(err));
	if (json == NULL)
	{
		answer_text(ans, code, pstrdup(err));
		return;
	}
	if (!read_keys(&r, true, ans))
	{
		free(json);
		return;
	}
	ans->code = 200;
	if (r.config_json == NULL || !pgha_config_same(json, r.config_json))
		write_config(ans, json, r.config_mod_revision);
	if (ans->code == 502 || ans->code == 503)
		ans->code = 502;		/* Patroni's answer when the write fails */
	if (ans->code == 200)
		answer_owned(ans, 200, "application/json", pgha_api_json_python(json));
	free(json);
}

/* the keeper's view of the cluster, as pgha_switchover() checks against it */
static PghaCluster *
keeper_cluster(ApiAnswer *ans)
{
	PghaCluster *cl = palloc(sizeof(PghaCluster));
	bool		have;

	LWLockAcquire(pgha_shared->lock, LW_SHARED);
	have = pgha_shared->has_cluster && pgha_shared->keeper_pid != 0;
	memcpy(cl, &pgha_shared->cluster, sizeof(PghaCluster));
	LWLockRelease(pgha_shared->lock);
	if (!have)
	{
		answer_text(ans, 503, "the pgha keeper has no view of the cluster");
		return NULL;
	}
	return cl;
}

static void
post_failover_action(struct MHD_Connection *conn, ApiConn *ac, ApiAnswer *ans,
					 bool failover)
{
	PghaApiFailoverRequest fr;
	PghaSwitchoverCheck check;
	PghaCluster *cl;
	PghaRequest req;
	ApiOpSpec	spec;
	char		err[256];
	int			code;

	if (ac->body == NULL || ac->len == 0)
	{
		answer_text(ans, 411, "Length Required");
		return;
	}
	code = pgha_api_parse_failover(ac->body, ac->len, &fr, err, sizeof(err));
	if (code != 0)
	{
		answer_text(ans, code, pstrdup(err));
		return;
	}
	if ((cl = keeper_cluster(ans)) == NULL)
		return;
	code = pgha_api_failover_precheck(cl, failover, &fr,
									  (double) time(NULL), err, sizeof(err));
	if (code != 0)
	{
		answer_text(ans, code, pstrdup(err));
		return;
	}
	/* pgha's own checks, as pgha_switchover() and pghactl make them */
	pgha_freshen_live(cl);
	pgha_switchover_check(cl, fr.candidate, failover, failover, &check);
	if (check.error != PGHA_SW_OK)
	{
		answer_text(ans, 412, psprintf("%s is not possible: %s. %s",
									   failover ? "failover" : "switchover",
									   check.message, check.detail));
		return;
	}
	ereport(LOG,
			(errmsg("pgha api: %s requested with leader=%s candidate=%s scheduled_at=%s",
					failover ? "failover" : "switchover",
					fr.leader[0] ? fr.leader : "(none)", check.chosen,
					fr.scheduled_at[0] ? fr.scheduled_at : "(now)")));

	memset(&req, 0, sizeof(req));
	req.kind = PGHA_REQ_WRITE_FAILOVER;
	strlcpy(req.failover.leader, fr.leader[0] ? fr.leader : cl->leader, PGHA_NAME_LEN);
	strlcpy(req.failover.member, check.chosen, PGHA_NAME_LEN);
	strlcpy(req.failover.scheduled_at, fr.scheduled_at, sizeof(req.failover.scheduled_at));

	memset(&spec, 0, sizeof(spec));
	spec.action = failover ? "failover" : "switchover";
	spec.wait_leader = fr.scheduled_at[0] == '\0';
	strlcpy(spec.old_leader, cl->has_leader ? cl->leader : "", sizeof(spec.old_leader));
	strlcpy(spec.candidate, fr.candidate[0] ? fr.candidate : check.chosen,
			sizeof(spec.candidate));
	spec.accepted_code = 202;
	spec.accepted_text = failover ? "Failover scheduled" : "Switchover scheduled";
	(void) api_ops_start(conn, ac, &req, &spec, ans);
}

static void
post_switchover(struct MHD_Connection *conn, ApiConn *ac, ApiAnswer *ans)
{
	post_failover_action(conn, ac, ans, false);
}

static void
post_failover(struct MHD_Connection *conn, ApiConn *ac, ApiAnswer *ans)
{
	post_failover_action(conn, ac, ans, true);
}

static void
delete_switchover(struct MHD_Connection *conn, ApiConn *ac, ApiAnswer *ans)
{
	PghaCluster *cl;
	PghaRequest req;
	ApiOpSpec	spec;

	if ((cl = keeper_cluster(ans)) == NULL)
		return;
	if (!cl->has_failover || cl->failover.scheduled_at[0] == '\0')
	{
		answer_text(ans, 404, "no switchover is scheduled");
		return;
	}
	memset(&req, 0, sizeof(req));
	req.kind = PGHA_REQ_CANCEL_FAILOVER;
	memset(&spec, 0, sizeof(spec));
	spec.action = "switchover";
	spec.accepted_code = 200;
	spec.accepted_text = "scheduled switchover deleted";
	(void) api_ops_start(conn, ac, &req, &spec, ans);
}

/* a keeper request whose outcome (status, message) is the answer */
static void
submit_op(struct MHD_Connection *conn, ApiConn *ac, PghaRequest *req,
		  const char *action, ApiAnswer *ans)
{
	ApiOpSpec	spec;

	memset(&spec, 0, sizeof(spec));
	spec.action = action;
	spec.outcome_answers = true;
	(void) api_ops_start(conn, ac, req, &spec, ans);
}

/* POST /restart: Patroni's filters, now or scheduled (sql_ops.c: pgha_restart) */
static void
post_restart(struct MHD_Connection *conn, ApiConn *ac, ApiAnswer *ans)
{
	PghaApiRestartRequest rr;
	PghaRequest req;
	char		err[256];
	int			code;
	bool		paused;

	LWLockAcquire(pgha_shared->lock, LW_SHARED);
	paused = pgha_shared->has_cluster && pgha_shared->cluster.config_valid &&
		pgha_shared->cluster.config.pause;
	LWLockRelease(pgha_shared->lock);
	code = pgha_api_parse_restart(ac->body, ac->len, paused, (double) time(NULL),
								  &rr, err, sizeof(err));
	if (code != 0)
	{
		answer_text(ans, code, pstrdup(err));
		return;
	}
	memset(&req, 0, sizeof(req));
	req.kind = PGHA_REQ_RESTART;
	req.restart.pending_only = rr.restart_pending;
	strlcpy(req.restart.role, rr.role, sizeof(req.restart.role));
	req.restart.below_version = rr.below_version;
	strlcpy(req.restart.version_text, rr.postgres_version, sizeof(req.restart.version_text));
	strlcpy(req.restart.scheduled_at, rr.scheduled_at, sizeof(req.restart.scheduled_at));
	submit_op(conn, ac, &req, "restart", ans);
}

/* a keeper request without arguments */
static void
submit_kind(struct MHD_Connection *conn, ApiConn *ac, PghaRequestKind kind,
			const char *action, ApiAnswer *ans)
{
	PghaRequest req;

	memset(&req, 0, sizeof(req));
	req.kind = kind;
	submit_op(conn, ac, &req, action, ans);
}

static void
delete_restart(struct MHD_Connection *conn, ApiConn *ac, ApiAnswer *ans)
{
	submit_kind(conn, ac, PGHA_REQ_CANCEL_RESTART, "restart", ans);
}

static void
post_reload(struct MHD_Connection *conn, ApiConn *ac, ApiAnswer *ans)
{
	submit_kind(conn, ac, PGHA_REQ_RELOAD, "reload", ans);
}

/*
 * POST /reinitialize: {"force": true} is accepted as Patroni's clients send
 * it; it cancels Patroni's running task, and the keeper never has one
 * running when it takes a request, so there is nothing for it to do.
 */
static void
post_reinitialize(struct MHD_Connection *conn, ApiConn *ac, ApiAnswer *ans)
{
	bool		force;
	char		err[256];

	if (pgha_api_parse_force(ac->body, ac->len, &force, err, sizeof(err)) != 0)
	{
		answer_text(ans, 400, pstrdup(err));
		return;
	}
	submit_kind(conn, ac, PGHA_REQ_REINIT, "reinitialize", ans);
}

/*
 * The dispatch table.  Health checks are not listed: every endpoint for
 * which pgha_api_is_check() holds answers GET, HEAD and OPTIONS through
 * health_check().  HEAD and OPTIONS of a listed GET answer its code alone.
 */
typedef struct ApiRoute
{
	PghaApiMethod method;
	PghaApiEndpoint ep;
	ApiHandler	handler;
} ApiRoute;

static const ApiRoute routes[] = {
	{PGHA_HTTP_GET, PGHA_EP_PATRONI, get_patroni},
	{PGHA_HTTP_GET, PGHA_EP_LIVENESS, get_liveness},
	{PGHA_HTTP_GET, PGHA_EP_READINESS, get_readiness},
	{PGHA_HTTP_GET, PGHA_EP_METRICS, get_metrics},
	{PGHA_HTTP_GET, PGHA_EP_CLUSTER, get_cluster},
	{PGHA_HTTP_GET, PGHA_EP_HISTORY, get_history},
	{PGHA_HTTP_GET, PGHA_EP_CONFIG, get_config},
	{PGHA_HTTP_PATCH, PGHA_EP_CONFIG, patch_config},
	{PGHA_HTTP_PUT, PGHA_EP_CONFIG, put_config},
	{PGHA_HTTP_POST, PGHA_EP_SWITCHOVER, post_switchover},
	{PGHA_HTTP_POST, PGHA_EP_FAILOVER, post_failover},
	{PGHA_HTTP_DELETE, PGHA_EP_SWITCHOVER, delete_switchover},
	{PGHA_HTTP_POST, PGHA_EP_RESTART, post_restart},
	{PGHA_HTTP_DELETE, PGHA_EP_RESTART, delete_restart},
	{PGHA_HTTP_POST, PGHA_EP_RELOAD, post_reload},
	{PGHA_HTTP_POST, PGHA_EP_REINITIALIZE, post_reinitialize},
};

static ApiHandler
find_handler(PghaApiMethod method, PghaApiEndpoint ep, bool *known_path)
{
	PghaApiMethod m = method;

	*known_path = ep != PGHA_EP_NOT_FOUND;
	if (pgha_api_is_check(ep) &&
		(m == PGHA_HTTP_GET || m == PGHA_HTTP_HEAD || m == PGHA_HTTP_OPTIONS))
		return health_check;
	if (m == PGHA_HTTP_HEAD || m == PGHA_HTTP_OPTIONS)
		m = PGHA_HTTP_GET;
	for (size_t i = 0; i < lengthof(routes); i++)
		if (routes[i].method == m && routes[i].ep == ep)
			return routes[i].handler;
	return NULL;
}

void
api_dispatch(struct MHD_Connection *conn, ApiConn *ac, const char *url,
			 ApiAnswer *ans)
{
	bool		known;
	ApiHandler	h = find_handler(ac->method, ac->ep, &known);
	MemoryContext cxt = CurrentMemoryContext;

	memset(ans, 0, sizeof(*ans));
	if (h == NULL)
	{
		if (!known)
			answer_text(ans, 404, "Not Found");
		else
			answer_text(ans, 501, "Unsupported method");
		return;
	}
	PG_TRY();
	{
		h(conn, ac, ans);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		EmitErrorReport();
		FlushErrorState();
		LWLockReleaseAll();
		memset(ans, 0, sizeof(*ans));
		answer_text(ans, 500, "internal error; the server log says more");
	}
	PG_END_TRY();
	if (ac->method == PGHA_HTTP_HEAD || ac->method == PGHA_HTTP_OPTIONS)
		ans->status_only = true;
}
