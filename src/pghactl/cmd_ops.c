/*-------------------------------------------------------------------------
 *
 * cmd_ops.c
 *	  pghactl restart, reload, reinit: operations on members' servers.
 *
 * The members are found in etcd, as patronictl finds them; the request
 * goes to each member's own keeper through its server: pghactl connects
 * to the member's conn_url with libpq (user, password, TLS from the usual
 * PG* variables and ~/.pgpass) and calls pgha_restart(), pgha_reload() or
 * pgha_reinit(), which hand it to the keeper through shared memory, as
 * the api worker does for Patroni's REST calls.  Why not through etcd: the
 * member's keeper makes the same checks and gives its answer at once, the
 * role pgha_admin decides who may do it, and no request key is left behind
 * in etcd for a member that is down.  A member whose server does not
 * answer cannot be restarted anyway: its watchdog is already starting it.
 *
 * A restart of several members goes one at a time, replicas first, the
 * leader last (a hot standby needs max_connections and friends at least as
 * large as its primary's, so raising them works in that order), and waits
 * for each to be back (a new postmaster start time, the keeper following
 * or leading) before the next, so that the cluster never loses more than
 * one server at once.
 *
 *-------------------------------------------------------------------------
 */
#include "pghactl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "isotime.h"
#include "pg_params.h"

#define OPS_CONNECT_TIMEOUT "5"

typedef enum OpKind
{
	OP_RESTART,
	OP_RELOAD,
	OP_REINIT
} OpKind;

static PGconn *
connect_member(const PghaMember *m, char *err, size_t errlen)
{
	const char *const keys[] = {"dbname", "connect_timeout", "application_name", NULL};
	const char *const vals[] = {m->conn_url, OPS_CONNECT_TIMEOUT, "pghactl", NULL};
	PGconn	   *conn = PQconnectdbParams(keys, vals, 1);

	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		snprintf(err, errlen, "cannot connect to %s: %s", m->conn_url,
				 conn ? PQerrorMessage(conn) : "out of memory");
		err[strcspn(err, "\n")] = '\0';
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/* one value of a query, malloc'd; NULL with the server's message in err */
static char *
query_value(PGconn *conn, const char *sql, int nparams,
			const char *const *params, char *err, size_t errlen)
{
	PGresult   *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	char	   *out = NULL;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		out = strdup(PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
	else
	{
		const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

		snprintf(err, errlen, "%s", msg ? msg : PQerrorMessage(conn));
		err[strcspn(err, "\n")] = '\0';
	}
	PQclear(res);
	return out;
}

/*
 * Wait until the member's server runs again: a postmaster started after
 * before_start and a keeper that follows or leads.
 */
static bool
wait_back(const PghaMember *m, const char *before_start, int timeout_s)
{
	time_t		end = time(NULL) + timeout_s;
	char		err[PGHA_ERR_LEN];

	sleep(1);
	while (time(NULL) < end)
	{
		PGconn	   *conn = connect_member(m, err, sizeof(err));

		if (conn != NULL)
		{
			char	   *v = query_value(conn,
										"SELECT pg_postmaster_start_time()::text || ' ' || state FROM pgha_status()",
										0, NULL, err, sizeof(err));
			bool		back = false;

			if (v != NULL)
			{
				char	   *sp = strrchr(v, ' ');

				if (sp != NULL)
				{
					*sp = '\0';
					back = strcmp(v, before_start) != 0 &&
						(strcmp(sp + 1, "following") == 0 || strcmp(sp + 1, "leading") == 0);
				}
				free(v);
			}
			PQfinish(conn);
			if (back)
				return true;
		}
		usleep(250 * 1000);
	}
	return false;
}

/* the members named (all when none), in restart order; count in *n */
static const PghaMember **
pick_members(const PghaCluster *cl, const PghactlArgs *args, int *n, int *rc)
{
	const PghaMember **out = calloc(PGHA_MAX_MEMBERS + 1, sizeof(PghaMember *));
	int			k = 0;

	*rc = PGHACTL_EXIT_OK;
	if (out == NULL)
	{
		*rc = PGHACTL_EXIT_USAGE;
		return NULL;
	}
	for (int i = 0; i < args->nmembers; i++)
		if (pgha_cluster_find_member(cl, args->members[i]) == NULL)
		{
			fprintf(stderr, "pghactl: %s is not a member of cluster\n", args->members[i]);
			*rc = PGHACTL_EXIT_REFUSED;
			free(out);
			return NULL;
		}
	/* replicas first, the leader last */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < cl->nmembers; i++)
		{
			const PghaMember *m = &cl->members[i];
			bool		leader = cl->has_leader && strcmp(cl->leader, m->name) == 0;
			bool		named = args->nmembers == 0;

			if (leader != (pass == 1))
				continue;
			for (int j = 0; j < args->nmembers; j++)
				if (strcmp(args->members[j], m->name) == 0)
					named = true;
			if (!named)
				continue;
			if (args->role != NULL &&
				((strcmp(args->role, "leader") == 0 || strcmp(args->role, "primary") == 0 ||
				  strcmp(args->role, "master") == 0) ? !leader :
				 strcmp(args->role, "replica") == 0 ? leader : false))
				continue;
			out[k++] = m;
		}
	if (k == 0)
	{
		fprintf(stderr, "pghactl: no %s member among those given\n",
				args->role ? args->role : "such");
		*rc = PGHACTL_EXIT_REFUSED;
		free(out);
		return NULL;
	}
	*n = k;
	return out;
}

static int
run_on(const PghaMember *m, OpKind op, const PghactlArgs *args,
	   const char *scheduled_at, int loop_wait)
{
	char		err[PGHA_ERR_LEN];
	PGconn	   *conn = connect_member(m, err, sizeof(err));
	char	   *answer = NULL;
	char	   *start = NULL;
	int			rc = PGHACTL_EXIT_OK;

	if (conn == NULL)
	{
		printf("Failed: %s for member %s, (%s)\n",
			   op == OP_RESTART ? "restart" : op == OP_RELOAD ? "reload" : "reinitialize",
			   m->name, err);
		return PGHACTL_EXIT_REFUSED;
	}
	if (op == OP_RESTART)
	{
		const char *params[4];

		params[0] = args->pending ? "true" : "false";
		params[1] = scheduled_at;
		params[2] = NULL;
		params[3] = args->pg_version;
		if (args->cancel)
			answer = query_value(conn, "SELECT pgha_restart_cancel()", 0, NULL, err, sizeof(err));
		else
		{
			start = query_value(conn, "SELECT pg_postmaster_start_time()::text", 0, NULL,
								err, sizeof(err));
			if (start != NULL)
				answer = query_value(conn, "SELECT pgha_restart($1::boolean, $2::timestamptz, $3, $4)",
									 4, params, err, sizeof(err));
		}
	}
	else if (op == OP_RELOAD)
		answer = query_value(conn, "SELECT pgha_reload()", 0, NULL, err, sizeof(err));
	else
		answer = query_value(conn, "SELECT pgha_reinit()", 0, NULL, err, sizeof(err));
	PQfinish(conn);

	if (answer == NULL)
	{
		printf("Failed: %s for member %s, (%s)\n",
			   op == OP_RESTART ? (args->cancel ? "flush scheduled restart" : "restart")
			   : op == OP_RELOAD ? "reload" : "reinitialize", m->name, err);
		free(start);
		return PGHACTL_EXIT_REFUSED;
	}
	if (op == OP_RELOAD)
		printf("Reload request received for member %s and will be processed within %d seconds\n",
			   m->name, loop_wait);
	else if (op == OP_REINIT)
		printf("Success: reinitialize for member %s\n", m->name);
	else if (args->cancel)
		printf("Success: flush scheduled restart for member %s\n", m->name);
	else if (scheduled_at != NULL)
		printf("Success: restart scheduled on member %s\n", m->name);
	else
	{
		int			timeout = args->timeout > 0 ? args->timeout : PGHACTL_DEFAULT_WAIT_S;

		if (wait_back(m, start, timeout))
			printf("Success: restart on member %s\n", m->name);
		else
		{
			printf("Failed: restart for member %s, (not running again within %d s)\n",
				   m->name, timeout);
			rc = PGHACTL_EXIT_TIMEOUT;
		}
	}
	fflush(stdout);
	free(answer);
	free(start);
	return rc;
}

static int
run_op(const PghactlSettings *st, const PghactlArgs *args, OpKind op)
{
	EtcdKVList	kvs;
	char		prefix[PGHACTL_PREFIX_LEN];
	PghaCluster *cl;
	const PghaMember **members;
	char		scheduled_at[PGHA_ISOTIME_LEN] = "";
	char		names[1024] = "";
	int			n = 0;
	int			rc;

	if (op == OP_REINIT && args->nmembers == 0)
	{
		fprintf(stderr, "pghactl: reinit needs the member to reinitialize\n");
		return PGHACTL_EXIT_USAGE;
	}
	if (args->pg_version != NULL && pgha_postgres_version_num(args->pg_version) < 0)
	{
		fprintf(stderr, "pghactl: --pg-version: %s is not a valid PostgreSQL version number\n",
				args->pg_version);
		return PGHACTL_EXIT_USAGE;
	}
	if (args->scheduled != NULL && strcmp(args->scheduled, "now") != 0)
	{
		PghaTimestamp when;
		char		err[PGHA_ERR_LEN];

		if (!pgha_parse_isotime(args->scheduled, &when, err, sizeof(err)))
		{
			fprintf(stderr, "pghactl: --scheduled: %s\n", err);
			return PGHACTL_EXIT_USAGE;
		}
		pgha_format_isotime(&when, scheduled_at, sizeof(scheduled_at));
	}
	rc = pghactl_fetch_cluster(st, &kvs, prefix, sizeof(prefix));
	if (rc != PGHACTL_EXIT_OK)
		return rc;
	cl = malloc(sizeof(PghaCluster));
	if (cl == NULL)
	{
		etcd_kvlist_free(&kvs);
		fprintf(stderr, "pghactl: out of memory\n");
		return PGHACTL_EXIT_USAGE;
	}
	pgha_cluster_from_kvs(prefix, &kvs, cl);
	etcd_kvlist_free(&kvs);

	members = pick_members(cl, args, &n, &rc);
	if (members == NULL)
	{
		free(cl);
		return rc;
	}
	if (op == OP_REINIT)
		for (int i = 0; i < n; i++)
			if (cl->has_leader && strcmp(cl->leader, members[i]->name) == 0)
			{
				printf("Failed: reinitialize for member %s, (I am the leader, can not reinitialize)\n",
					   members[i]->name);
				free(members);
				free(cl);
				return PGHACTL_EXIT_REFUSED;
			}
	for (int i = 0; i < n; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 i ? ", " : "", members[i]->name);
	if (!args->force && pghactl_interactive())
	{
		char		q[1200];

		snprintf(q, sizeof(q), "Are you sure you want to %s members %s?",
				 op == OP_RESTART ? "restart" : op == OP_RELOAD ? "reload" : "reinitialize",
				 names);
		if (!pghactl_confirm(q))
		{
			free(members);
			free(cl);
			return PGHACTL_EXIT_ABORTED;
		}
	}
	for (int i = 0; i < n; i++)
	{
		int			r;

		/* --pending: only the members that say so (the keeper checks again) */
		if (op == OP_RESTART && args->pending && !args->cancel &&
			scheduled_at[0] == '\0' && !members[i]->pending_restart)
		{
			printf("Skipped: member %s has no pending restart\n", members[i]->name);
			continue;
		}
		r = run_on(members[i], op, args, scheduled_at[0] ? scheduled_at : NULL,
				   cl->config.loop_wait > 0 ? cl->config.loop_wait : 10);
		if (r != PGHACTL_EXIT_OK)
			rc = r;
	}
	free(members);
	free(cl);
	return rc;
}

int
pghactl_cmd_restart(const PghactlSettings *st, const PghactlArgs *args)
{
	return run_op(st, args, OP_RESTART);
}

int
pghactl_cmd_reload(const PghactlSettings *st, const PghactlArgs *args)
{
	return run_op(st, args, OP_RELOAD);
}

int
pghactl_cmd_reinit(const PghactlSettings *st, const PghactlArgs *args)
{
	return run_op(st, args, OP_REINIT);
}
