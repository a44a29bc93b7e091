/*-------------------------------------------------------------------------
 *
 * sql_ops.c
 *	  The SQL functions of the operations on this node: pgha_restart(),
 *	  pgha_restart_cancel(), pgha_reload(), pgha_reinit().
 *
 * Each is one request to the keeper (keeper_ops.c) through shared memory,
 * answered with Patroni's words for the same REST call; a refusal is an
 * error.  A restart or reinit ends this server, and this session with it,
 * shortly after the answer.  pghactl calls them on other members through
 * their conn_url.  Granted to pgha_admin, like pgha_switchover().
 *
 *-------------------------------------------------------------------------
 */
#include "pgha.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "pg_params.h"

PG_FUNCTION_INFO_V1(pgha_restart);
PG_FUNCTION_INFO_V1(pgha_restart_cancel);
PG_FUNCTION_INFO_V1(pgha_reload);
PG_FUNCTION_INFO_V1(pgha_reinit);

static text *
run(PghaRequest *req)
{
	PghaOutcome outcome;

	pgha_submit_request(req, pgha_request_timeout_ms(), &outcome);
	if (!outcome.ok)
		ereport(ERROR,
				(errcode(outcome.status == 404 ? ERRCODE_UNDEFINED_OBJECT
						 : ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s", outcome.message),
				 errdetail("The pgha keeper of member \"%s\" refused the request (HTTP status %d in Patroni's REST API).",
						   pgha_node_name, outcome.status)));
	return cstring_to_text(outcome.message);
}

/*
 * pgha_restart(pending_only, scheduled_at, role, postgres_version):
 * Patroni's POST /restart with restart_pending, schedule, role and
 * postgres_version.
 */
Datum
pgha_restart(PG_FUNCTION_ARGS)
{
	PghaRequest req;

	memset(&req, 0, sizeof(req));
	req.kind = PGHA_REQ_RESTART;
	req.restart.pending_only = PG_ARGISNULL(0) ? false : PG_GETARG_BOOL(0);
	if (!PG_ARGISNULL(1))
	{
		TimestampTz at = PG_GETARG_TIMESTAMPTZ(1);
		pg_time_t	t;
		struct pg_tm *tm;

		if (at <= GetCurrentTimestamp())
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("scheduled_at must be in the future"),
					 errhint("Pass NULL for a restart now.")));
		t = timestamptz_to_time_t(at);
		tm = pg_gmtime(&t);
		snprintf(req.restart.scheduled_at, sizeof(req.restart.scheduled_at),
				 "%04d-%02d-%02dT%02d:%02d:%02d+00:00",
				 tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday,
				 tm->tm_hour, tm->tm_min, tm->tm_sec);
	}
	if (!PG_ARGISNULL(2))
	{
		char	   *role = text_to_cstring(PG_GETARG_TEXT_PP(2));

		if (strcmp(role, "master") == 0 || strcmp(role, "primary") == 0)
			strlcpy(req.restart.role, "primary", sizeof(req.restart.role));
		else if (strcmp(role, "replica") == 0)
			strlcpy(req.restart.role, "replica", sizeof(req.restart.role));
		else if (strcmp(role, "any") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("PostgreSQL role should be either primary or replica")));
	}
	if (!PG_ARGISNULL(3))
	{
		char	   *v = text_to_cstring(PG_GETARG_TEXT_PP(3));

		req.restart.below_version = pgha_postgres_version_num(v);
		if (req.restart.below_version < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s is not a valid PostgreSQL version number", v),
					 errhint("Give it as major.minor, for example 15.2.")));
		strlcpy(req.restart.version_text, v, sizeof(req.restart.version_text));
	}
	PG_RETURN_TEXT_P(run(&req));
}

Datum
pgha_restart_cancel(PG_FUNCTION_ARGS)
{
	PghaRequest req;

	memset(&req, 0, sizeof(req));
	req.kind = PGHA_REQ_CANCEL_RESTART;
	PG_RETURN_TEXT_P(run(&req));
}

Datum
pgha_reload(PG_FUNCTION_ARGS)
{
	PghaRequest req;

	memset(&req, 0, sizeof(req));
	req.kind = PGHA_REQ_RELOAD;
	PG_RETURN_TEXT_P(run(&req));
}

Datum
pgha_reinit(PG_FUNCTION_ARGS)
{
	PghaRequest req;

	memset(&req, 0, sizeof(req));
	req.kind = PGHA_REQ_REINIT;
	PG_RETURN_TEXT_P(run(&req));
}
