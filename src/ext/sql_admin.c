/*-------------------------------------------------------------------------
 *
 * sql_admin.c
 *	  The SQL functions that change the cluster: pgha_switchover(),
 *	  pgha_switchover_cancel(), pgha_failover(), pgha_pause(), pgha_resume().
 *
 * A user backend never talks to etcd.  These functions check the request
 * against the keeper's view (switchover.c, the same checks pghactl and the
 * keeper make), hand it to the keeper through shared memory, and wait on a
 * condition variable for the keeper to write it; a switchover then waits
 * until the keeper's view shows the new leader.  Not executable by PUBLIC:
 * the extension grants them to the role pgha_admin.
 *
 *-------------------------------------------------------------------------
 */
#include "pgha.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "switchover.h"

PG_FUNCTION_INFO_V1(pgha_switchover);
PG_FUNCTION_INFO_V1(pgha_switchover_cancel);
PG_FUNCTION_INFO_V1(pgha_failover);
PG_FUNCTION_INFO_V1(pgha_pause);
PG_FUNCTION_INFO_V1(pgha_resume);

/* the keeper's view of the cluster, or an error when there is none */
static PghaCluster *
cluster_view(void)
{
	PghaShared *sh = pgha_shared_or_error();
	PghaCluster *cl = palloc(sizeof(PghaCluster));
	bool		have;
	bool		running;

	LWLockAcquire(sh->lock, LW_SHARED);
	have = sh->has_cluster;
	running = sh->keeper_pid != 0;
	memcpy(cl, &sh->cluster, sizeof(PghaCluster));
	LWLockRelease(sh->lock);
	if (!running || !have)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the pgha keeper has no view of the cluster"),
				 errdetail(running ? "The keeper has not read the cluster from etcd yet."
						   : "The keeper is not running."),
				 errhint("SELECT * FROM pgha_status() shows the keeper's state and last error.")));
	return cl;
}

static int
check_errcode(PghaSwitchoverError e)
{
	switch (e)
	{
		case PGHA_SW_UNKNOWN_CANDIDATE:
			return ERRCODE_UNDEFINED_OBJECT;
		case PGHA_SW_CANDIDATE_IS_LEADER:
			return ERRCODE_INVALID_PARAMETER_VALUE;
		default:
			break;
	}
	return ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE;
}

static void
raise_check(const PghaSwitchoverCheck *c)
{
	ereport(ERROR,
			(errcode(check_errcode(c->error)),
			 errmsg("%s", c->message),
			 errdetail("%s", c->detail),
			 c->hint[0] ? errhint("%s", c->hint) : 0));
}

/*
 * Hand a request to the keeper and wait for its outcome, which *outcome
 * receives.  Errors when the keeper is not running, busy with another
 * request, or does not answer within timeout_ms; a refusal is an outcome.
 */
void
pgha_submit_request(PghaRequest *req, int timeout_ms, PghaOutcome *result)
{
	PghaShared *sh = pgha_shared_or_error();
	Latch	   *latch;
	TimestampTz start = GetCurrentTimestamp();
	PghaOutcome outcome;
	uint64		id;

	LWLockAcquire(sh->lock, LW_EXCLUSIVE);
	if (sh->keeper_pid == 0 || sh->keeper_latch == NULL)
	{
		LWLockRelease(sh->lock);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the pgha keeper is not running")));
	}
	if (sh->request.kind != PGHA_REQ_NONE)
	{
		LWLockRelease(sh->lock);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("another pgha request is being carried out"),
				 errhint("Try again in a moment.")));
	}
	id = ++sh->last_request_id;
	req->id = id;
	sh->request = *req;
	latch = sh->keeper_latch;
	LWLockRelease(sh->lock);
	SetLatch(latch);

	ConditionVariablePrepareToSleep(&sh->outcome_cv);
	for (;;)
	{
		bool		done;

		LWLockAcquire(sh->lock, LW_SHARED);
		outcome = sh->outcome;
		done = (outcome.id == id);
		LWLockRelease(sh->lock);
		if (done)
			break;
		if (TimestampDifferenceExceeds(start, GetCurrentTimestamp(), timeout_ms))
		{
			ConditionVariableCancelSleep();
			LWLockAcquire(sh->lock, LW_EXCLUSIVE);
			if (sh->request.id == id)
				sh->request.kind = PGHA_REQ_NONE;
			LWLockRelease(sh->lock);
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the pgha keeper did not answer within %d ms", timeout_ms),
					 errhint("SELECT * FROM pgha_status() shows the keeper's state and last error.")));
		}
		ConditionVariableTimedSleep(&sh->outcome_cv, 100, PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	*result = outcome;
}

/* the same, raising an error when the keeper refuses the request */
static void
submit(PghaRequest *req, int timeout_ms)
{
	PghaOutcome outcome;

	pgha_submit_request(req, timeout_ms, &outcome);
	if (!outcome.ok)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the request was not carried out: %s", outcome.message)));
}

/* the keeper's answer to a simple request should come within a loop */
int
pgha_request_timeout_ms(void)
{
	PghaShared *sh = pgha_shared_or_error();
	int			retry;

	LWLockAcquire(sh->lock, LW_SHARED);
	retry = sh->retry_timeout;
	LWLockRelease(sh->lock);
	return (Max(retry, 1) + 5) * 1000;
}

/* wait until the keeper's view names candidate as leader */
static void
wait_for_leader(const char *candidate, const char *what)
{
	PghaShared *sh = pgha_shared_or_error();
	TimestampTz start = GetCurrentTimestamp();
	char		leader[PGHA_NAME_LEN];

	for (;;)
	{
		bool		has;

		LWLockAcquire(sh->lock, LW_SHARED);
		has = sh->has_cluster && sh->cluster.has_leader;
		strlcpy(leader, has ? sh->cluster.leader : "", sizeof(leader));
		LWLockRelease(sh->lock);
		if (strcmp(leader, candidate) == 0)
			return;
		if (TimestampDifferenceExceeds(start, GetCurrentTimestamp(),
									   pgha_switchover_timeout * 1000))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("%s to \"%s\" did not complete within %d s", what,
							candidate, pgha_switchover_timeout),
					 errdetail(leader[0] ? "The leader is \"%s\"." : "No member holds the leader key%s.",
							   leader[0] ? leader : ""),
					 errhint("The cluster elects a leader by itself if the candidate fails; pgha_members() shows the members.")));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 50, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

static void
format_utc(TimestampTz ts, char *buf, size_t len)
{
	pg_time_t	t = timestamptz_to_time_t(ts);
	struct pg_tm *tm = pg_gmtime(&t);

	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d+00:00",
			 tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday,
			 tm->tm_hour, tm->tm_min, tm->tm_sec);
}

Datum
pgha_switchover(PG_FUNCTION_ARGS)
{
	char	   *candidate = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		scheduled = !PG_ARGISNULL(1);
	bool		wait = PG_ARGISNULL(2) ? true : PG_GETARG_BOOL(2);
	PghaCluster *cl;
	PghaSwitchoverCheck check;
	PghaRequest req;

	if (scheduled && PG_GETARG_TIMESTAMPTZ(1) <= GetCurrentTimestamp())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("scheduled_at must be in the future"),
				 errhint("Pass NULL for a switchover now.")));
	cl = cluster_view();
	pgha_freshen_live(cl);
	pgha_switchover_check(cl, candidate, false, false, &check);
	if (check.error != PGHA_SW_OK)
		raise_check(&check);

	memset(&req, 0, sizeof(req));
	req.kind = PGHA_REQ_WRITE_FAILOVER;
	strlcpy(req.failover.leader, cl->leader, PGHA_NAME_LEN);
	strlcpy(req.failover.member, check.chosen, PGHA_NAME_LEN);
	if (scheduled)
	{
		TimestampTz at = PG_GETARG_TIMESTAMPTZ(1);

		format_utc(at, req.failover.scheduled_at, sizeof(req.failover.scheduled_at));
	}
	submit(&req, pgha_request_timeout_ms());

	if (scheduled)
	{
		ereport(NOTICE,
				(errmsg("switchover from \"%s\" to \"%s\" scheduled at %s",
						req.failover.leader, check.chosen, req.failover.scheduled_at),
				 errhint("pgha_switchover_cancel() cancels it.")));
		PG_RETURN_TEXT_P(cstring_to_text(check.chosen));
	}
	if (strcmp(cl->leader, pgha_node_name) == 0)
	{
		/*
		 * This server is the leader: it shuts down now to stop writes, and
		 * this session with it, so the outcome cannot be awaited here.
		 */
		ereport(NOTICE,
				(errmsg("switchover to \"%s\" started: this server shuts down now and rejoins as a replica",
						check.chosen),
				 errhint("Connect to \"%s\" or use pgha_members() on another node to follow it.",
						 check.chosen)));
		PG_RETURN_TEXT_P(cstring_to_text(check.chosen));
	}
	if (wait)
		wait_for_leader(check.chosen, "the switchover");
	PG_RETURN_TEXT_P(cstring_to_text(check.chosen));
}

Datum
pgha_switchover_cancel(PG_FUNCTION_ARGS)
{
	PghaRequest req;

	(void) cluster_view();
	memset(&req, 0, sizeof(req));
	req.kind = PGHA_REQ_CANCEL_FAILOVER;
	submit(&req, pgha_request_timeout_ms());
	PG_RETURN_VOID();
}

Datum
pgha_failover(PG_FUNCTION_ARGS)
{
	char	   *candidate = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		force = PG_ARGISNULL(1) ? false : PG_GETARG_BOOL(1);
	PghaCluster *cl = cluster_view();
	PghaSwitchoverCheck check;
	PghaRequest req;

	pgha_freshen_live(cl);
	pgha_switchover_check(cl, candidate, true, force, &check);
	if (check.error != PGHA_SW_OK)
		raise_check(&check);
	memset(&req, 0, sizeof(req));
	req.kind = PGHA_REQ_WRITE_FAILOVER;
	if (cl->has_leader)
		strlcpy(req.failover.leader, cl->leader, PGHA_NAME_LEN);
	strlcpy(req.failover.member, check.chosen, PGHA_NAME_LEN);
	submit(&req, pgha_request_timeout_ms());
	wait_for_leader(check.chosen, "the failover");
	PG_RETURN_TEXT_P(cstring_to_text(check.chosen));
}

static Datum
set_pause(bool pause)
{
	PghaRequest req;

	(void) cluster_view();
	memset(&req, 0, sizeof(req));
	req.kind = pause ? PGHA_REQ_PAUSE : PGHA_REQ_RESUME;
	submit(&req, pgha_request_timeout_ms());
	PG_RETURN_VOID();
}

Datum
pgha_pause(PG_FUNCTION_ARGS)
{
	return set_pause(true);
}

Datum
pgha_resume(PG_FUNCTION_ARGS)
{
	return set_pause(false);
}
