/*-------------------------------------------------------------------------
 *
 * api_ops.c
 *	  Requests of the REST api that the keeper carries out (switchover,
 *	  failover, and whatever PghaRequest kinds are added), handed over
 *	  through shared memory exactly as the SQL functions do (sql_admin.c),
 *	  and answered when the outcome is known.
 *
 * The connection is suspended meanwhile, so the worker goes on serving
 * health checks: a switchover waits for the keeper's outcome (bounded by
 * retry_timeout + 5 s, as the SQL functions) and then, like Patroni's
 * poll_failover_result(), for the leader key to name another member
 * (bounded by 2 * max(10, loop_wait) s).  The loop polls every 50 ms while
 * something is pending.
 *
 * On the leader, the keeper stops this server to hand over: the worker is
 * told to exit before the new leader is known.  It then answers 202 with
 * what is happening, as pgha_switchover() does there; the caller follows
 * the new leader elsewhere (patronictl prints the answer either way).
 *
 *-------------------------------------------------------------------------
 */
#include "api.h"

#include "miscadmin.h"
#include "storage/latch.h"

typedef enum ApiPhase
{
	PHASE_WAIT_OUTCOME,
	PHASE_WAIT_LEADER,
	PHASE_DONE
} ApiPhase;

struct ApiPending
{
	ApiPending *next;
	ApiConn    *ac;
	struct MHD_Connection *conn;
	uint64		id;
	ApiOpSpec	spec;
	ApiPhase	phase;
	int64		deadline_ms;
	uint64		cycles_at_outcome;
	int			code;
	char		text[PGHA_ERR_LEN + 128];
};

static ApiPending *pending_list = NULL;

bool
api_ops_pending(void)
{
	for (ApiPending *p = pending_list; p; p = p->next)
		if (p->phase != PHASE_DONE)
			return true;
	return false;
}

static void
finish(ApiPending *p, int code, const char *fmt,...)
pg_attribute_printf(3, 4);

static void
finish(ApiPending *p, int code, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(p->text, sizeof(p->text), fmt, ap);
	va_end(ap);
	p->code = code;
	p->phase = PHASE_DONE;
	MHD_resume_connection(p->conn);
}

/* "switchover" -> "switch", as Patroni's action[:-4] */
static const char *
verb(const ApiPending *p)
{
	return strcmp(p->spec.action, "failover") == 0 ? "fail" : "switch";
}

static void
refuse(ApiAnswer *ans, const char *text)
{
	ans->code = 503;
	ans->content_type = "text/html";
	ans->body = (char *) text;
	ans->len = strlen(text);
}

bool
api_ops_start(struct MHD_Connection *conn, ApiConn *ac, const PghaRequest *req,
			  const ApiOpSpec *spec, ApiAnswer *ans)
{
	ApiPending *p;
	Latch	   *latch;
	uint64		id;
	int			retry;

	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	if (pgha_shared->keeper_pid == 0 || pgha_shared->keeper_latch == NULL)
	{
		LWLockRelease(pgha_shared->lock);
		refuse(ans, "the pgha keeper is not running");
		return false;
	}
	if (pgha_shared->request.kind != PGHA_REQ_NONE)
	{
		LWLockRelease(pgha_shared->lock);
		refuse(ans, "another pgha request is being carried out; try again in a moment");
		return false;
	}
	p = calloc(1, sizeof(ApiPending));
	if (p == NULL)
	{
		LWLockRelease(pgha_shared->lock);
		refuse(ans, "out of memory");
		return false;
	}
	id = ++pgha_shared->last_request_id;
	pgha_shared->request = *req;
	pgha_shared->request.id = id;
	latch = pgha_shared->keeper_latch;
	retry = pgha_shared->retry_timeout;
	LWLockRelease(pgha_shared->lock);
	SetLatch(latch);

	p->ac = ac;
	p->conn = conn;
	p->id = id;
	p->spec = *spec;
	p->phase = PHASE_WAIT_OUTCOME;
	p->deadline_ms = etcd_now_ms() + (int64) (Max(retry, 1) + 5) * 1000;
	p->next = pending_list;
	pending_list = p;
	ac->pending = p;
	MHD_suspend_connection(conn);
	return true;
}

static void
poll_one(ApiPending *p, int64 now)
{
	PghaOutcome outcome;
	bool		has_leader;
	bool		has_failover;
	char		leader[PGHA_NAME_LEN];
	uint64		cycles;

	LWLockAcquire(pgha_shared->lock, LW_SHARED);
	outcome = pgha_shared->outcome;
	has_leader = pgha_shared->has_cluster && pgha_shared->cluster.has_leader;
	strlcpy(leader, has_leader ? pgha_shared->cluster.leader : "", sizeof(leader));
	has_failover = pgha_shared->has_cluster && pgha_shared->cluster.has_failover;
	cycles = pgha_shared->keeper_cycles;
	LWLockRelease(pgha_shared->lock);

	if (p->phase == PHASE_WAIT_OUTCOME)
	{
		if (outcome.id == p->id)
		{
			if (p->spec.outcome_answers)
				finish(p, outcome.status > 0 ? outcome.status : (outcome.ok ? 200 : 503),
					   "%s", outcome.message);
			else if (!outcome.ok)
				finish(p, 503, "failed to write %s key into DCS: %s", p->spec.action,
					   outcome.message);
			else if (!p->spec.wait_leader)
				finish(p, p->spec.accepted_code, "%s",
					   p->spec.accepted_text ? p->spec.accepted_text : outcome.message);
			else
			{
				int			loop_wait;

				LWLockAcquire(pgha_shared->lock, LW_SHARED);
				loop_wait = pgha_shared->loop_wait;
				LWLockRelease(pgha_shared->lock);
				p->phase = PHASE_WAIT_LEADER;
				p->cycles_at_outcome = cycles;
				p->deadline_ms = now + (int64) Max(10, loop_wait) * 2 * 1000;
			}
			return;
		}
		if (now >= p->deadline_ms)
		{
			/* withdraw it, unless the keeper has taken it already */
			LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
			if (pgha_shared->request.id == p->id)
				pgha_shared->request.kind = PGHA_REQ_NONE;
			LWLockRelease(pgha_shared->lock);
			finish(p, 503, "the pgha keeper did not answer in time");
		}
		return;
	}
	if (p->phase != PHASE_WAIT_LEADER)
		return;
	if (has_leader && strcmp(leader, p->spec.old_leader) != 0)
	{
		if (p->spec.candidate[0] == '\0' || strcmp(p->spec.candidate, leader) == 0)
			finish(p, 200, "Successfully %sed over to \"%s\"", verb(p), leader);
		else
			finish(p, 200, "%sed over to \"%s\" instead of \"%s\"",
				   strcmp(verb(p), "fail") == 0 ? "Fail" : "Switch", leader,
				   p->spec.candidate);
		return;
	}
	/*
	 * The request is gone and the leader did not change: it failed (after
	 * two of the keeper's loops, so that its view includes the key it wrote).
	 */
	if (!has_failover && has_leader && cycles >= p->cycles_at_outcome + 2)
	{
		finish(p, 503, "%s failed", strcmp(verb(p), "fail") == 0 ? "Failover" : "Switchover");
		return;
	}
	if (now >= p->deadline_ms)
		finish(p, 503, "%s status unknown", strcmp(verb(p), "fail") == 0 ? "Failover" : "Switchover");
}

void
api_ops_poll(void)
{
	int64		now = etcd_now_ms();

	for (ApiPending *p = pending_list; p; p = p->next)
		if (p->phase != PHASE_DONE)
			poll_one(p, now);
}

static void
unlink_pending(ApiPending *p)
{
	for (ApiPending **pp = &pending_list; *pp; pp = &(*pp)->next)
		if (*pp == p)
		{
			*pp = p->next;
			return;
		}
}

bool
api_ops_answer(ApiConn *ac, ApiAnswer *ans)
{
	ApiPending *p = ac->pending;
	static char text[PGHA_ERR_LEN + 128];

	if (p == NULL || p->phase != PHASE_DONE)
		return false;
	strlcpy(text, p->text, sizeof(text));
	ans->code = p->code;
	ans->content_type = "text/html";
	ans->body = text;
	ans->len = strlen(text);
	unlink_pending(p);
	free(p);
	ac->pending = NULL;
	return true;
}

void
api_ops_forget(ApiConn *ac)
{
	if (ac->pending == NULL)
		return;
	unlink_pending(ac->pending);
	free(ac->pending);
	ac->pending = NULL;
}

/* the worker is stopping: answer what waits, with what is known */
void
api_ops_shutdown(void)
{
	api_ops_poll();
	for (ApiPending *p = pending_list; p; p = p->next)
	{
		if (p->phase == PHASE_DONE)
			continue;
		if (p->phase == PHASE_WAIT_LEADER && strcmp(p->spec.old_leader, pgha_node_name) == 0)
			finish(p, 202, "%s to \"%s\" started: \"%s\" shuts down to hand over and rejoins as a replica",
				   strcmp(verb(p), "fail") == 0 ? "Failover" : "Switchover",
				   p->spec.candidate, pgha_node_name);
		else
			finish(p, 503, "the pgha api is shutting down; the outcome is unknown");
	}
}
