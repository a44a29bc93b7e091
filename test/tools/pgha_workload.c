/*-------------------------------------------------------------------------
 *
 * pgha_workload.c
 *	  What a client sees during a failover: a writer, per-node probes, and a
 *	  checker that turns their logs into outage, lost writes and split-brain
 *	  windows.
 *
 *	  pgha_workload writer --dsn DSN --seconds N --out FILE [--interval-ms 10]
 *	  pgha_workload probe  --dsn DSN --name NODE --seconds N --out FILE
 *						   [--interval-ms 20]
 *	  pgha_workload check  --writer FILE --probes F1,F2,... --final-dsn DSN
 *						   [--allow-loss N]
 *
 * The writer is an application: one autocommit INSERT after the other
 * through a multi-host connection string with target_session_attrs =
 * read-write, so libpq finds whichever node is primary now.  Every commit
 * the server acknowledged is logged, and those are the writes a correct HA
 * system must not lose (in synchronous mode) or may lose only within known
 * bounds (asynchronous mode).
 *
 * A probe talks to one node only and tries to write there at a fixed
 * interval.  Its log says when that node accepted writes, which is what
 * split-brain detection needs: two nodes that both accept writes over the
 * same stretch of time.
 *
 * Logs are written line by line and flushed at once, so that a test may read
 * them while the run goes on and nothing is lost when the process is
 * killed.  Every time is the wall clock in milliseconds since the epoch,
 * which is the same clock for all processes on the machine; the test scripts
 * use it too (date +%s%3N).
 *
 * Every wait is bounded: connections by the connect_timeout of the DSN,
 * queries by QUERY_TIMEOUT_MS and the end of the run, and SIGTERM or SIGINT
 * ends a run within about POLL_SLICE_MS.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libpq-fe.h"

/* how long one statement may take before its outcome is declared unknown */
#define QUERY_TIMEOUT_MS	10000
/* granularity of every wait, so that a signal ends the run promptly */
#define POLL_SLICE_MS		50
/* split-brain windows of one pair of nodes this close together are one */
#define WINDOW_MERGE_MS		1000
/* how many lost ids the checker lists by number */
#define LOST_IDS_SHOWN		20

typedef enum QueryOutcome
{
	QUERY_OK,					/* the server completed the command */
	QUERY_FAILED,				/* the server refused it: it did not commit */
	QUERY_UNKNOWN				/* no answer: it may or may not have committed */
} QueryOutcome;

typedef struct Options
{
	const char *mode;
	const char *dsn;
	const char *name;
	const char *out;
	const char *writer_log;
	const char *probes;
	const char *final_dsn;
	int			seconds;
	int			interval_ms;
	long		allow_loss;
} Options;

/* one acknowledged write of the writer */
typedef struct Ack
{
	int64_t		id;
	int64_t		sent_ms;
	int64_t		acked_ms;
	int			port;
} Ack;

/* one acknowledged probe write */
typedef struct ProbeWrite
{
	int			node;
	int64_t		sent_ms;
	int64_t		acked_ms;
} ProbeWrite;

/* consecutive probe writes (in ack order) of the same node */
typedef struct Run
{
	int			node;
	int64_t		first_sent_ms;
	int64_t		first_acked_ms;
	int64_t		last_acked_ms;
} Run;

/* a stretch of time during which two nodes may both have accepted writes */
typedef struct Window
{
	int			a;
	int			b;
	int64_t		from_ms;
	int64_t		to_ms;
	const char *why;
} Window;

static volatile sig_atomic_t stop_requested = 0;

static void
handle_stop_signal(int signo)
{
	(void) signo;
	stop_requested = 1;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* HH:MM:SS.mmm of a wall-clock time, local time zone, in a static buffer */
static const char *
clock_text(int64_t ms)
{
	static char buf[2][32];
	static int	which = 0;
	time_t		secs = (time_t) (ms / 1000);
	struct tm	tm;
	char	   *out = buf[which];

	which = 1 - which;
	localtime_r(&secs, &tm);
	snprintf(out, sizeof(buf[0]), "%02d:%02d:%02d.%03d",
			 tm.tm_hour, tm.tm_min, tm.tm_sec, (int) (ms % 1000));
	return out;
}

/* sleep until the given time, the end of the run, or a stop signal */
static void
sleep_until(int64_t until_ms, int64_t end_ms)
{
	if (until_ms > end_ms)
		until_ms = end_ms;
	while (!stop_requested)
	{
		int64_t		left = until_ms - now_ms();

		if (left <= 0)
			break;
		(void) poll(NULL, 0, (int) (left < POLL_SLICE_MS ? left : POLL_SLICE_MS));
	}
}

/*
 * Error messages go into one log line: newlines and tabs become spaces and
 * trailing blanks are dropped.
 */
static void
one_line(const char *in, char *out, size_t outlen)
{
	size_t		n = 0;

	for (; *in && n + 1 < outlen; in++)
		out[n++] = (*in == '\n' || *in == '\r' || *in == '\t') ? ' ' : *in;
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

static void
log_line(FILE *log, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void
log_line(FILE *log, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vfprintf(log, fmt, ap);
	va_end(ap);
	fputc('\n', log);
	fflush(log);
}

static void
quiet_notice_processor(void *arg, const char *message)
{
	(void) arg;
	(void) message;
}

/*
 * Connect with the given connection string, blocking for at most the
 * connect_timeout of each host in it.  NULL on failure, with the reason.
 */
static PGconn *
connect_to(const char *dsn, char *errbuf, size_t errlen)
{
	PGconn	   *conn = PQconnectdb(dsn);

	if (conn == NULL)
	{
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK)
	{
		char		msg[1024];

		one_line(PQerrorMessage(conn), msg, sizeof(msg));
		snprintf(errbuf, errlen, "connect: %s", msg);
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, quiet_notice_processor, NULL);
	return conn;
}

/*
 * Whether the server's error proves that the statement did not commit.  Only
 * an ordinary error on a connection that is still fine does: a FATAL error
 * (admin shutdown, crash of another process), a lost connection or a
 * message libpq made up itself can all come after the commit record was
 * written.
 */
static bool
error_is_definite(PGconn *conn, const PGresult *res)
{
	const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);

	if (PQstatus(conn) != CONNECTION_OK || sqlstate == NULL)
		return false;
	if (severity != NULL && strcmp(severity, "ERROR") != 0)
		return false;
	/* connection exception, operator intervention, system and internal errors */
	if (strncmp(sqlstate, "08", 2) == 0 || strncmp(sqlstate, "57", 2) == 0 ||
		strncmp(sqlstate, "58", 2) == 0 || strncmp(sqlstate, "XX", 2) == 0)
		return false;
	return true;
}

/*
 * Wait until libpq can hand out the next result without blocking (or
 * knows there is none left), until deadline, the end of the run or a stop
 * signal.  False with the reason in errbuf otherwise.
 */
static bool
wait_not_busy(PGconn *conn, int64_t deadline_ms, char *errbuf, size_t errlen)
{
	for (;;)
	{
		struct pollfd pfd;
		int64_t		left;

		if (!PQconsumeInput(conn))
		{
			one_line(PQerrorMessage(conn), errbuf, errlen);
			return false;
		}
		if (!PQisBusy(conn))
			return true;
		left = deadline_ms - now_ms();
		if (stop_requested || left <= 0)
		{
			snprintf(errbuf, errlen, "%s before the server answered",
					 stop_requested ? "stopped" : "timed out");
			return false;
		}
		pfd.fd = PQsocket(conn);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0)
		{
			snprintf(errbuf, errlen, "connection has no socket");
			return false;
		}
		if (poll(&pfd, 1, (int) (left < POLL_SLICE_MS ? left : POLL_SLICE_MS)) < 0 &&
			errno != EINTR)
		{
			snprintf(errbuf, errlen, "poll: %s", strerror(errno));
			return false;
		}
	}
}

/*
 * Run one statement with parameters and wait for its outcome until deadline,
 * the end of the run or a stop signal, whichever comes first.  On QUERY_OK the
 * first value of the first row (if any) is copied to value.  On failure
 * errbuf has the reason and sqlstate the server's SQLSTATE ("" when none).
 * Afterwards the connection is either idle or bad.
 */
static QueryOutcome
run_query(PGconn *conn, const char *sql, int nparams,
		  const char *const *params, int64_t deadline_ms,
		  char *value, size_t valuelen, char *sqlstate,
		  char *errbuf, size_t errlen)
{
	QueryOutcome outcome = QUERY_UNKNOWN;
	bool		have_result = false;
	PGresult   *res;

	if (value != NULL && valuelen > 0)
		value[0] = '\0';
	sqlstate[0] = '\0';
	errbuf[0] = '\0';

	/*
	 * In blocking mode the whole message is flushed here.  A failure may
	 * come after the server got all of it, so it counts as unknown.
	 */
	if (!PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0))
	{
		one_line(PQerrorMessage(conn), errbuf, errlen);
		return QUERY_UNKNOWN;
	}

	/*
	 * Every result counts, up to ReadyForQuery (PQgetResult returns NULL).
	 * With the extended protocol the statement's implicit transaction
	 * commits at Sync, after CommandComplete: the commit (and its wait for
	 * a synchronous standby) is confirmed only by ReadyForQuery.  An error
	 * after a first good result, such as the connection lost while the
	 * commit waited, makes the outcome unknown (or failed, when definite),
	 * never acknowledged.
	 */
	for (;;)
	{
		ExecStatusType st;

		if (!wait_not_busy(conn, deadline_ms, errbuf, errlen))
			return QUERY_UNKNOWN;
		if ((res = PQgetResult(conn)) == NULL)
			break;
		st = PQresultStatus(res);

		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		{
			if (!have_result)
			{
				outcome = QUERY_OK;
				if (value != NULL && valuelen > 0 && PQntuples(res) > 0 &&
					PQnfields(res) > 0)
					snprintf(value, valuelen, "%s", PQgetvalue(res, 0, 0));
			}
		}
		else if (outcome != QUERY_FAILED)
		{
			const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

			if (state != NULL)
				snprintf(sqlstate, 6, "%s", state);
			one_line(PQresultErrorMessage(res), errbuf, errlen);
			if (errbuf[0] == '\0')
				one_line(PQerrorMessage(conn), errbuf, errlen);
			outcome = error_is_definite(conn, res) ? QUERY_FAILED : QUERY_UNKNOWN;
		}
		have_result = true;
		PQclear(res);
	}
	if (!have_result)
		one_line(PQerrorMessage(conn), errbuf, errlen);
	return outcome;
}

static FILE *
open_log(const char *path)
{
	FILE	   *f = fopen(path, "w");

	if (f == NULL)
	{
		fprintf(stderr, "pgha_workload: could not open \"%s\": %s\n",
				path, strerror(errno));
		exit(2);
	}
	return f;
}

/*
 * One statement without parameters or result, bounded like the others.
 * Used for CREATE TABLE IF NOT EXISTS, which several processes may run at
 * once: it can then fail with a unique violation in the catalog, and
 * whoever lost the race finds the table there on its next try.
 */
static QueryOutcome
run_simple(PGconn *conn, const char *sql, int64_t end_ms, char *errbuf,
		   size_t errlen)
{
	char		sqlstate[6];
	int64_t		deadline = now_ms() + QUERY_TIMEOUT_MS;

	return run_query(conn, sql, 0, NULL, deadline < end_ms ? deadline : end_ms,
					 NULL, 0, sqlstate, errbuf, errlen);
}

/*
 * The writer: consecutive ids, one autocommit INSERT each.
 *
 * An id whose INSERT failed for sure is tried again; an id whose outcome is
 * unknown is given up ("unknown <id>"): retrying it could find the row
 * already there, and the checker must not count it either way.  Any error
 * drops the connection, and a new one is made at once: libpq walks the host
 * list until it finds a node that accepts writes.
 */
static int
run_writer(const Options *opt)
{
	static const char *ddl =
		"CREATE TABLE IF NOT EXISTS pgha_writes ("
		" id bigint PRIMARY KEY,"
		" at timestamptz DEFAULT clock_timestamp(),"
		" port int DEFAULT current_setting('port')::int)";
	FILE	   *log = open_log(opt->out);
	int64_t		end_ms = now_ms() + (int64_t) opt->seconds * 1000;
	int64_t		id = 0;
	PGconn	   *conn = NULL;
	char		errbuf[1024];
	long		acks = 0;
	long		errors = 0;
	long		unknown = 0;

	log_line(log, "# writer dsn=%s interval_ms=%d seconds=%d",
			 opt->dsn, opt->interval_ms, opt->seconds);
	while (!stop_requested && now_ms() < end_ms)
	{
		char		idtext[32];
		char		port[32];
		char		sqlstate[6];
		const char *params[1];
		int64_t		sent;
		int64_t		acked;
		int64_t		deadline;
		QueryOutcome outcome;

		if (conn == NULL)
		{
			conn = connect_to(opt->dsn, errbuf, sizeof(errbuf));
			if (conn != NULL &&
				run_simple(conn, ddl, end_ms, errbuf, sizeof(errbuf)) != QUERY_OK)
			{
				PQfinish(conn);
				conn = NULL;
			}

			/*
			 * The first id follows whatever an earlier run left in the table,
			 * so that runs against one cluster never collide.
			 */
			if (conn != NULL && id == 0)
			{
				char		first[32];

				deadline = now_ms() + QUERY_TIMEOUT_MS;
				if (run_query(conn, "SELECT coalesce(max(id), 0) + 1 FROM pgha_writes",
							  0, NULL, deadline < end_ms ? deadline : end_ms,
							  first, sizeof(first), sqlstate,
							  errbuf, sizeof(errbuf)) == QUERY_OK)
					id = strtoll(first, NULL, 10);
				else
				{
					PQfinish(conn);
					conn = NULL;
				}
			}
			if (conn == NULL)
			{
				errors++;
				log_line(log, "err %" PRId64 " %" PRId64 " %s", id, now_ms(), errbuf);
				/* nobody accepts writes right now: do not spin */
				sleep_until(now_ms() + opt->interval_ms, end_ms);
				continue;
			}
			log_line(log, "# connected %" PRId64 " to port %s", now_ms(), PQport(conn));
		}

		snprintf(idtext, sizeof(idtext), "%" PRId64, id);
		params[0] = idtext;
		sent = now_ms();
		deadline = sent + QUERY_TIMEOUT_MS;
		outcome = run_query(conn,
							"INSERT INTO pgha_writes(id) VALUES ($1) RETURNING port",
							1, params, deadline < end_ms ? deadline : end_ms,
							port, sizeof(port), sqlstate, errbuf, sizeof(errbuf));
		acked = now_ms();

		if (outcome == QUERY_OK)
		{
			acks++;
			log_line(log, "ack %" PRId64 " %" PRId64 " %" PRId64 " %s",
					 id, sent, acked, port);
			id++;
			sleep_until(sent + opt->interval_ms, end_ms);
			continue;
		}

		/* the run ended while the INSERT was out: not a failure of the server */
		if (stop_requested || acked >= end_ms)
		{
			unknown++;
			log_line(log, "unknown %" PRId64, id);
			break;
		}
		errors++;
		log_line(log, "err %" PRId64 " %" PRId64 " %s", id, acked, errbuf);

		/*
		 * A duplicate key means an earlier attempt with this id did commit
		 * after all; the id's fate is as unknown as a lost answer.
		 */
		if (outcome == QUERY_UNKNOWN || strcmp(sqlstate, "23505") == 0)
		{
			unknown++;
			log_line(log, "unknown %" PRId64, id);
			id++;
		}
		PQfinish(conn);
		conn = NULL;
	}
	if (conn != NULL)
		PQfinish(conn);
	log_line(log, "# end %" PRId64 " acks=%ld errors=%ld unknown=%ld",
			 now_ms(), acks, errors, unknown);
	fclose(log);
	return 0;
}

/*
 * A probe: one node, one write attempt per interval.  A standby refuses with
 * "read-only transaction" and nothing is logged; once that node is promoted
 * the same session can write.  Only a broken connection is replaced.
 */
static int
run_probe(const Options *opt)
{
	static const char *ddl =
		"CREATE TABLE IF NOT EXISTS pgha_probe ("
		" node text NOT NULL,"
		" at timestamptz NOT NULL)";
	FILE	   *log = open_log(opt->out);
	int64_t		end_ms = now_ms() + (int64_t) opt->seconds * 1000;
	PGconn	   *conn = NULL;
	char		errbuf[1024];
	const char *params[1];

	params[0] = opt->name;
	log_line(log, "# probe %s dsn=%s interval_ms=%d seconds=%d",
			 opt->name, opt->dsn, opt->interval_ms, opt->seconds);
	while (!stop_requested && now_ms() < end_ms)
	{
		char		sqlstate[6];
		int64_t		sent = now_ms();
		int64_t		deadline = sent + QUERY_TIMEOUT_MS;
		QueryOutcome outcome;

		if (conn == NULL)
		{
			conn = connect_to(opt->dsn, errbuf, sizeof(errbuf));
			if (conn == NULL)
			{
				sleep_until(sent + opt->interval_ms, end_ms);
				continue;
			}

			/*
			 * On a standby every attempt fails; keep those expected errors
			 * out of the server log (a superuser setting: a probe run as
			 * another user just logs them).
			 */
			(void) run_simple(conn, "SET log_min_messages = fatal", end_ms,
								errbuf, sizeof(errbuf));
			sent = now_ms();
			deadline = sent + QUERY_TIMEOUT_MS;
		}

		outcome = run_query(conn,
							"INSERT INTO pgha_probe(node, at) VALUES ($1, clock_timestamp())",
							1, params, deadline < end_ms ? deadline : end_ms,
							NULL, 0, sqlstate, errbuf, sizeof(errbuf));
		if (outcome == QUERY_OK)
			log_line(log, "w %" PRId64 " %" PRId64, sent, now_ms());
		else if (outcome == QUERY_FAILED && strcmp(sqlstate, "42P01") == 0)
		{
			/* a primary without the table yet; a standby refuses the DDL too */
			(void) run_simple(conn, ddl, end_ms, errbuf, sizeof(errbuf));
			if (PQstatus(conn) != CONNECTION_OK)
			{
				PQfinish(conn);
				conn = NULL;
			}
		}
		else if (outcome == QUERY_UNKNOWN || PQstatus(conn) != CONNECTION_OK)
		{
			PQfinish(conn);
			conn = NULL;
		}
		sleep_until(sent + opt->interval_ms, end_ms);
	}
	if (conn != NULL)
		PQfinish(conn);
	log_line(log, "# end %" PRId64, now_ms());
	fclose(log);
	return 0;
}

/*
 * Growable arrays for the checker.  Allocation failure ends the program:
 * the checker is a test tool with nothing to clean up.
 */
static void *
grow(void *array, size_t *cap, size_t used, size_t elemsize)
{
	if (used < *cap)
		return array;
	*cap = *cap ? *cap * 2 : 1024;
	array = realloc(array, *cap * elemsize);
	if (array == NULL)
	{
		fprintf(stderr, "pgha_workload: out of memory\n");
		exit(2);
	}
	return array;
}

static int
compare_probe_writes(const void *a, const void *b)
{
	const ProbeWrite *x = a;
	const ProbeWrite *y = b;

	if (x->acked_ms != y->acked_ms)
		return x->acked_ms < y->acked_ms ? -1 : 1;
	if (x->sent_ms != y->sent_ms)
		return x->sent_ms < y->sent_ms ? -1 : 1;
	return x->node - y->node;
}

static int
compare_int64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a;
	int64_t		y = *(const int64_t *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

static int
compare_windows(const void *a, const void *b)
{
	const Window *x = a;
	const Window *y = b;

	if (x->a != y->a)
		return x->a - y->a;
	if (x->b != y->b)
		return x->b - y->b;
	return x->from_ms < y->from_ms ? -1 : (x->from_ms > y->from_ms ? 1 : 0);
}

/* the name in a probe log's "# probe NAME" line, else the file's name */
static char *
probe_log_name(const char *path, const char *firstline)
{
	char		name[256];
	const char *base;
	char	   *copy;

	if (firstline != NULL && sscanf(firstline, "# probe %255s", name) == 1)
		copy = strdup(name);
	else
	{
		base = strrchr(path, '/');
		copy = strdup(base ? base + 1 : path);
	}
	if (copy == NULL)
	{
		fprintf(stderr, "pgha_workload: out of memory\n");
		exit(2);
	}
	return copy;
}

static void
add_window(Window **windows, size_t *nwin, size_t *cap, int a, int b,
		   int64_t from_ms, int64_t to_ms, const char *why)
{
	Window	   *w;

	*windows = grow(*windows, cap, *nwin, sizeof(Window));
	w = &(*windows)[(*nwin)++];
	w->a = a < b ? a : b;
	w->b = a < b ? b : a;
	w->from_ms = from_ms < to_ms ? from_ms : to_ms;
	w->to_ms = from_ms < to_ms ? to_ms : from_ms;
	w->why = why;
}

/*
 * Split-brain windows from the probe writes.
 *
 * A probe write is known to have committed somewhere between its send and
 * its ack.  Sorted by ack time, the writes form runs of one node each.  A
 * correct failover is a sequence of runs in which each node appears once
 * and each run starts after the previous one ended.  Two things break that
 * and are reported, as a window of time in which both nodes may have
 * accepted writes:
 *
 *	- overlap: a run's first write was sent before the previous run's last
 *	  write was acknowledged, so their commits may have been concurrent;
 *	- resumption: a node writes again after another node has written, so the
 *	  other node was writable while this one still was (or became writable
 *	  again, which a single failover never does).
 *
 * Windows of the same pair of nodes less than WINDOW_MERGE_MS apart are
 * merged: a split brain that flips between two nodes is one event.
 */
static size_t
find_windows(ProbeWrite *writes, size_t nwrites, Window **out)
{
	Run		   *runs = NULL;
	size_t		nruns = 0;
	size_t		runcap = 0;
	Window	   *windows = NULL;
	size_t		nwin = 0;
	size_t		wincap = 0;
	size_t		merged = 0;
	size_t		i;

	qsort(writes, nwrites, sizeof(ProbeWrite), compare_probe_writes);
	for (i = 0; i < nwrites; i++)
	{
		if (nruns > 0 && runs[nruns - 1].node == writes[i].node)
		{
			runs[nruns - 1].last_acked_ms = writes[i].acked_ms;
			continue;
		}
		runs = grow(runs, &runcap, nruns, sizeof(Run));
		runs[nruns].node = writes[i].node;
		runs[nruns].first_sent_ms = writes[i].sent_ms;
		runs[nruns].first_acked_ms = writes[i].acked_ms;
		runs[nruns].last_acked_ms = writes[i].acked_ms;
		nruns++;
	}

	for (i = 1; i < nruns; i++)
	{
		size_t		j;
		size_t		k;
		size_t		m;

		if (runs[i].first_sent_ms <= runs[i - 1].last_acked_ms)
			add_window(&windows, &nwin, &wincap, runs[i - 1].node, runs[i].node,
					   runs[i].first_sent_ms, runs[i - 1].last_acked_ms,
					   "their write intervals overlap");

		/* the latest earlier run of this node, and who wrote since */
		for (j = i - 1; j > 0 && runs[j].node != runs[i].node; j--)
			;
		if (runs[j].node != runs[i].node)
			continue;
		for (k = j + 1; k < i; k++)
		{
			bool		seen = false;

			/* one window per other node: from its first write since */
			for (m = j + 1; m < k; m++)
				if (runs[m].node == runs[k].node)
					seen = true;
			if (!seen)
				add_window(&windows, &nwin, &wincap, runs[i].node, runs[k].node,
						   runs[k].first_sent_ms, runs[i].first_acked_ms,
						   "one wrote again after the other had written");
		}
	}
	free(runs);

	if (nwin > 0)
	{
		qsort(windows, nwin, sizeof(Window), compare_windows);
		merged = 1;
		for (i = 1; i < nwin; i++)
		{
			Window	   *last = &windows[merged - 1];

			if (windows[i].a == last->a && windows[i].b == last->b &&
				windows[i].from_ms <= last->to_ms + WINDOW_MERGE_MS)
			{
				if (windows[i].to_ms > last->to_ms)
					last->to_ms = windows[i].to_ms;
				if (strcmp(windows[i].why, last->why) != 0)
					last->why = "their writes interleave";
				continue;
			}
			windows[merged++] = windows[i];
		}
	}
	*out = windows;
	return merged;
}

/*
 * The checker.  Reads the writer's and the probes' logs, asks the final
 * leader which rows of pgha_writes exist, and prints what was found and one
 * summary line.  Exit status 1 when more acknowledged writes were lost than
 * allowed or any split-brain window was found, 2 when it could not check.
 */
static int
run_check(const Options *opt)
{
	FILE	   *f;
	char		line[2048];
	Ack		   *acks = NULL;
	size_t		nacks = 0;
	size_t		ackcap = 0;
	long		unknown = 0;
	long		errors = 0;
	ProbeWrite *writes = NULL;
	size_t		nwrites = 0;
	size_t		writecap = 0;
	char	  **names = NULL;
	int			nnames = 0;
	char	   *probelist;
	char	   *tok;
	char	   *save = NULL;
	int64_t		outage = 0;
	int64_t		outage_from = 0;
	int64_t		outage_to = 0;
	int64_t    *present = NULL;
	size_t		npresent = 0;
	size_t		presentcap = 0;
	long		lost = 0;
	Window	   *windows = NULL;
	size_t		nwindows;
	size_t		i;
	PGconn	   *conn;
	PGresult   *res;
	char		errbuf[1024];
	int			n;
	int			r;

	/* the writer's log */
	f = fopen(opt->writer_log, "r");
	if (f == NULL)
	{
		fprintf(stderr, "pgha_workload: could not open \"%s\": %s\n",
				opt->writer_log, strerror(errno));
		return 2;
	}
	while (fgets(line, sizeof(line), f) != NULL)
	{
		Ack			a;

		if (sscanf(line, "ack %" SCNd64 " %" SCNd64 " %" SCNd64 " %d",
				   &a.id, &a.sent_ms, &a.acked_ms, &a.port) == 4)
		{
			acks = grow(acks, &ackcap, nacks, sizeof(Ack));
			acks[nacks++] = a;
		}
		else if (strncmp(line, "unknown ", 8) == 0)
			unknown++;
		else if (strncmp(line, "err ", 4) == 0)
			errors++;
	}
	fclose(f);

	/* the probes' logs */
	probelist = strdup(opt->probes);
	if (probelist == NULL)
		return 2;
	for (tok = strtok_r(probelist, ",", &save); tok != NULL;
		 tok = strtok_r(NULL, ",", &save))
	{
		bool		first = true;

		f = fopen(tok, "r");
		if (f == NULL)
		{
			fprintf(stderr, "pgha_workload: could not open \"%s\": %s\n",
					tok, strerror(errno));
			return 2;
		}
		names = realloc(names, (nnames + 1) * sizeof(char *));
		if (names == NULL)
			return 2;
		names[nnames] = NULL;
		while (fgets(line, sizeof(line), f) != NULL)
		{
			ProbeWrite	w;

			if (first)
				names[nnames] = probe_log_name(tok, line);
			first = false;
			if (sscanf(line, "w %" SCNd64 " %" SCNd64, &w.sent_ms, &w.acked_ms) == 2)
			{
				w.node = nnames;
				writes = grow(writes, &writecap, nwrites, sizeof(ProbeWrite));
				writes[nwrites++] = w;
			}
		}
		if (names[nnames] == NULL)
			names[nnames] = probe_log_name(tok, NULL);
		fclose(f);
		nnames++;
	}
	free(probelist);

	/* (a) the longest stretch without an acknowledged write */
	for (i = 1; i < nacks; i++)
	{
		int64_t		gap = acks[i].acked_ms - acks[i - 1].acked_ms;

		if (gap > outage)
		{
			outage = gap;
			outage_from = acks[i - 1].acked_ms;
			outage_to = acks[i].acked_ms;
		}
	}
	if (nacks > 0)
		printf("writer: %zu acknowledged writes from %s to %s, %ld unknown, %ld errors\n",
			   nacks, clock_text(acks[0].acked_ms),
			   clock_text(acks[nacks - 1].acked_ms), unknown, errors);
	else
		printf("writer: no acknowledged writes, %ld errors\n", errors);
	for (i = 0; i < nacks; i++)
	{
		/* print the port at every change: who was primary, when */
		if (i == 0 || acks[i].port != acks[i - 1].port)
			printf("writer: from %s on, writes acknowledged by port %d\n",
				   clock_text(acks[i].acked_ms), acks[i].port);
	}
	if (outage > 0)
		printf("outage: longest gap between acknowledged writes %" PRId64
			   " ms, from %s (%" PRId64 ") to %s (%" PRId64 ")\n",
			   outage, clock_text(outage_from), outage_from,
			   clock_text(outage_to), outage_to);

	/* (b) acknowledged writes missing on the final leader */
	conn = connect_to(opt->final_dsn, errbuf, sizeof(errbuf));
	if (conn == NULL)
	{
		fprintf(stderr, "pgha_workload: final leader: %s\n", errbuf);
		return 2;
	}
	res = PQexec(conn, "SELECT id FROM pgha_writes ORDER BY id");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		one_line(PQresultErrorMessage(res), errbuf, sizeof(errbuf));
		fprintf(stderr, "pgha_workload: reading pgha_writes on port %s: %s\n",
				PQport(conn), errbuf);
		PQclear(res);
		PQfinish(conn);
		return 2;
	}
	printf("final leader: port %s, %d rows in pgha_writes\n",
		   PQport(conn), PQntuples(res));
	for (r = 0; r < PQntuples(res); r++)
	{
		present = grow(present, &presentcap, npresent, sizeof(int64_t));
		present[npresent++] = strtoll(PQgetvalue(res, r, 0), NULL, 10);
	}
	PQclear(res);
	PQfinish(conn);
	{
		int64_t    *ids = malloc((nacks ? nacks : 1) * sizeof(int64_t));
		size_t		p = 0;
		size_t		k;

		if (ids == NULL)
			return 2;
		for (i = 0; i < nacks; i++)
			ids[i] = acks[i].id;
		qsort(ids, nacks, sizeof(int64_t), compare_int64);
		for (i = 0; i < nacks; i++)
		{
			while (p < npresent && present[p] < ids[i])
				p++;
			if (p < npresent && present[p] == ids[i])
				continue;
			lost++;
			if (lost <= LOST_IDS_SHOWN)
			{
				const Ack  *a = NULL;

				for (k = 0; k < nacks; k++)
					if (acks[k].id == ids[i])
						a = &acks[k];
				printf("lost: id %" PRId64 ", acknowledged by port %d at %s (%" PRId64 ")\n",
					   ids[i], a->port, clock_text(a->acked_ms), a->acked_ms);
			}
		}
		if (lost > LOST_IDS_SHOWN)
			printf("lost: ... %ld more\n", lost - LOST_IDS_SHOWN);
		free(ids);
	}

	/* (c) split-brain windows */
	for (n = 0; n < nnames; n++)
	{
		size_t		count = 0;
		int64_t		first = 0;
		int64_t		last = 0;

		for (i = 0; i < nwrites; i++)
			if (writes[i].node == n)
			{
				if (count == 0)
					first = writes[i].acked_ms;
				last = writes[i].acked_ms;
				count++;
			}
		if (count > 0)
			printf("probe %s: %zu writes acknowledged, first at %s, last at %s\n",
				   names[n], count, clock_text(first), clock_text(last));
		else
			printf("probe %s: no writes acknowledged\n", names[n]);
	}
	nwindows = find_windows(writes, nwrites, &windows);
	for (i = 0; i < nwindows; i++)
		printf("split-brain: %s and %s both accepted writes between %s (%" PRId64
			   ") and %s (%" PRId64 "), %" PRId64 " ms: %s\n",
			   names[windows[i].a], names[windows[i].b],
			   clock_text(windows[i].from_ms), windows[i].from_ms,
			   clock_text(windows[i].to_ms), windows[i].to_ms,
			   windows[i].to_ms - windows[i].from_ms, windows[i].why);

	printf("check: outage_ms=%" PRId64 " lost=%ld split_brain_windows=%zu acked=%zu"
		   " unknown=%ld outage_from_ms=%" PRId64 " outage_to_ms=%" PRId64 "\n",
		   outage, lost, nwindows, nacks, unknown, outage_from, outage_to);

	free(acks);
	free(writes);
	free(present);
	free(windows);
	for (n = 0; n < nnames; n++)
		free(names[n]);
	free(names);
	return (lost > opt->allow_loss || nwindows > 0) ? 1 : 0;
}

static void
usage(FILE *to)
{
	fprintf(to,
			"Usage:\n"
			"  pgha_workload writer --dsn DSN --seconds N --out FILE [--interval-ms 10]\n"
			"  pgha_workload probe --dsn DSN --name NODE --seconds N --out FILE [--interval-ms 20]\n"
			"  pgha_workload check --writer FILE --probes F1,F2,... --final-dsn DSN [--allow-loss N]\n"
			"\n"
			"writer: consecutive autocommit INSERTs into pgha_writes; logs\n"
			"  \"ack <id> <ms_sent> <ms_acked> <port>\", \"err <id> <ms> <message>\",\n"
			"  \"unknown <id>\" (outcome unknown, the id is not reused).\n"
			"probe:  one INSERT into pgha_probe per interval on one node; logs\n"
			"  \"w <ms_sent> <ms_acked>\" for each acknowledged one.\n"
			"check:  longest write outage, acknowledged writes missing on the final\n"
			"  leader, split-brain windows; exits 1 when lost > allow-loss or any\n"
			"  window was found, 2 when it could not check.\n"
			"Times are wall-clock milliseconds since the epoch.\n");
}

static int
parse_int(const char *text, const char *what, long min)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || *end != '\0' || end == text || v < min || v > 86400000)
	{
		fprintf(stderr, "pgha_workload: invalid %s \"%s\"\n", what, text);
		exit(2);
	}
	return (int) v;
}

int
main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"dsn", required_argument, NULL, 'd'},
		{"name", required_argument, NULL, 'n'},
		{"seconds", required_argument, NULL, 's'},
		{"out", required_argument, NULL, 'o'},
		{"interval-ms", required_argument, NULL, 'i'},
		{"writer", required_argument, NULL, 'w'},
		{"probes", required_argument, NULL, 'p'},
		{"final-dsn", required_argument, NULL, 'f'},
		{"allow-loss", required_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	Options		opt;
	struct sigaction sa;
	int			c;

	memset(&opt, 0, sizeof(opt));
	opt.interval_ms = -1;
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
	{
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	opt.mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1)
	{
		switch (c)
		{
			case 'd':
				opt.dsn = optarg;
				break;
			case 'n':
				opt.name = optarg;
				break;
			case 's':
				opt.seconds = parse_int(optarg, "--seconds", 1);
				break;
			case 'o':
				opt.out = optarg;
				break;
			case 'i':
				opt.interval_ms = parse_int(optarg, "--interval-ms", 1);
				break;
			case 'w':
				opt.writer_log = optarg;
				break;
			case 'p':
				opt.probes = optarg;
				break;
			case 'f':
				opt.final_dsn = optarg;
				break;
			case 'a':
				opt.allow_loss = parse_int(optarg, "--allow-loss", 0);
				break;
			case 'h':
				usage(stdout);
				return 0;
			default:
				usage(stderr);
				return 2;
		}
	}
	if (optind < argc)
	{
		fprintf(stderr, "pgha_workload: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}

	/* no SA_RESTART: a signal must cut a poll() short */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handle_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (strcmp(opt.mode, "writer") == 0 && opt.dsn && opt.seconds && opt.out)
	{
		if (opt.interval_ms < 0)
			opt.interval_ms = 10;
		return run_writer(&opt);
	}
	if (strcmp(opt.mode, "probe") == 0 && opt.dsn && opt.name && opt.seconds && opt.out)
	{
		if (opt.interval_ms < 0)
			opt.interval_ms = 20;
		return run_probe(&opt);
	}
	if (strcmp(opt.mode, "check") == 0 && opt.writer_log && opt.probes && opt.final_dsn)
		return run_check(&opt);
	fprintf(stderr, "pgha_workload: missing or unknown options for mode \"%s\"\n", opt.mode);
	usage(stderr);
	return 2;
}
