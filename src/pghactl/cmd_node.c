/*-------------------------------------------------------------------------
 *
 * cmd_node.c
 *	  pghactl node-plan, recovery-conf and node-info: the decisions
 *	  pgha-watchdog asks for about the local node, the file it writes to
 *	  make a standby, and the node's settings it needs itself.
 *
 * node-plan gathers the facts (the data directory, pg_controldata's
 * output, every key of the cluster), lets pgha_node_plan() decide
 * (node_plan.c, unit-tested) and prints its line.  The one write it does
 * is the bootstrap claim: "initialize" created if absent with an empty
 * value, as Patroni does; the primary's keeper later puts the system
 * identifier there.
 *
 * An empty node that finds no key at all in the scope waits a while
 * before it claims "initialize" (PGHA_BOOTSTRAP_WAIT_MS, node_plan.h):
 * node-plan runs once per watchdog step, so it keeps when it first saw
 * the scope empty in PGDATA.pgha-bootstrap ("<first> <last>" boot-clock
 * milliseconds; a file not refreshed for a few seconds starts over).
 *
 * The control file is read directly (controlfile.c); when that fails,
 * pg_controldata is run (fork/exec, no shell, so any PGDATA path is safe)
 * with LC_ALL=C, since its field names are translated.
 *
 *-------------------------------------------------------------------------
 */
#include "pghactl.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "controlfile.h"
#include "node_files.h"
#include "identity.h"
#include "node_plan.h"
#include "settings.h"

#define CONTROLDATA_MAX		65536

typedef enum DirKind
{
	DIR_EMPTY,					/* missing or empty: bootstrap */
	DIR_CLUSTER,				/* has global/pg_control */
	DIR_OTHER					/* something else: leave it alone */
} DirKind;

/* does dir/name exist? */
bool
pghactl_file_exists(const char *dir, const char *name)
{
	char		path[PATH_MAX];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &sb) == 0;
}

/* returns false with errbuf set when PGDATA cannot be examined */
static bool
classify_pgdata(const char *pgdata, DirKind *kind, char *errbuf, size_t errlen)
{
	DIR		   *d;
	struct dirent *de;
	bool		empty = true;

	d = opendir(pgdata);
	if (d == NULL)
	{
		if (errno == ENOENT)
		{
			*kind = DIR_EMPTY;
			return true;
		}
		snprintf(errbuf, errlen, "cannot open the data directory \"%s\": %s",
				 pgdata, strerror(errno));
		return false;
	}
	while ((de = readdir(d)) != NULL)
	{
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
		{
			empty = false;
			break;
		}
	}
	closedir(d);
	if (empty)
		*kind = DIR_EMPTY;
	else
		*kind = pghactl_file_exists(pgdata, "global/pg_control") ? DIR_CLUSTER : DIR_OTHER;
	return true;
}

/*
 * The directory of PostgreSQL's programs: --bindir, else pghactl's own
 * directory when pg_controldata is there (it is installed with them),
 * else Debian's.
 */
static void
find_bindir(const PghactlArgs *args, char *out, size_t outlen)
{
	char		self[PATH_MAX];
	ssize_t		n;
	char	   *slash;
	char		probe[PATH_MAX + 32];

	if (args->bindir != NULL)
	{
		snprintf(out, outlen, "%s", args->bindir);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0)
	{
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash != NULL)
		{
			*slash = '\0';
			snprintf(probe, sizeof(probe), "%s/pg_controldata", self);
			if (access(probe, X_OK) == 0)
			{
				snprintf(out, outlen, "%s", self);
				return;
			}
		}
	}
	snprintf(out, outlen, "%s", PGHACTL_DEFAULT_BINDIR);
}

/*
 * stdout of "pg_controldata -D pgdata" (malloc'd), or NULL with errbuf set.
 * Its stderr goes to ours, so that its own message reaches the log.
 */
static char *
run_controldata(const char *bindir, const char *pgdata, char *errbuf,
				size_t errlen)
{
	char		prog[PATH_MAX];
	int			fds[2];
	pid_t		pid;
	char	   *buf;
	size_t		len = 0;
	ssize_t		n;
	int			status;

	snprintf(prog, sizeof(prog), "%s/pg_controldata", bindir);
	buf = malloc(CONTROLDATA_MAX + 1);
	if (buf == NULL)
	{
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	if (pipe(fds) != 0)
	{
		snprintf(errbuf, errlen, "pipe: %s", strerror(errno));
		free(buf);
		return NULL;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0)
	{
		snprintf(errbuf, errlen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		free(buf);
		return NULL;
	}
	if (pid == 0)
	{
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		setenv("LC_ALL", "C", 1);
		unsetenv("LANGUAGE");
		/* a full argv[0]: it finds its installation (locale files) from it */
		execl(prog, prog, "-D", pgdata, (char *) NULL);
		fprintf(stderr, "pghactl: cannot run \"%s\": %s\n", prog, strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	while (len < CONTROLDATA_MAX &&
		   ((n = read(fds[0], buf + len, CONTROLDATA_MAX - len)) > 0 ||
			(n < 0 && errno == EINTR)))
	{
		if (n > 0)
			len += (size_t) n;
	}
	close(fds[0]);
	buf[len] = '\0';
	while (waitpid(pid, &status, 0) < 0)
	{
		if (errno != EINTR)
		{
			status = -1;
			break;
		}
	}
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
	{
		snprintf(errbuf, errlen, "\"%s -D %s\" failed (%s %d)", prog, pgdata,
				 status != -1 && WIFSIGNALED(status) ? "signal" : "exit status",
				 status == -1 ? -1 : WIFSIGNALED(status) ? WTERMSIG(status) :
				 WEXITSTATUS(status));
		free(buf);
		return NULL;
	}
	return buf;
}

/* print the plan line on stdout and why on stderr */
static int
print_plan(const PghaNodePlan *plan)
{
	char		line[PGHA_URL_LEN + PGHA_ERR_LEN + 32];

	pgha_node_plan_line(plan, line, sizeof(line));
	printf("%s\n", line);
	if (plan->action != PGHA_PLAN_WAIT)
		fprintf(stderr, "pghactl: %s\n", plan->reason);
	fflush(stdout);
	return PGHACTL_EXIT_OK;
}

/* create "initialize" if absent; *won says whether this call created it */
static int
claim_initialize(const PghactlSettings *st, EtcdClient *client,
				 const char *prefix, PghaCluster *cl, bool *won)
{
	char		key[PGHACTL_PREFIX_LEN + 16];
	EtcdTxnResult txn;
	EtcdError	err;
	EtcdStatus	status;

	snprintf(key, sizeof(key), "%sinitialize", prefix);
	memset(&txn, 0, sizeof(txn));
	status = etcd_create(client, key, "", 0, &txn, &err);
	if (status != ETCD_OK)
	{
		etcd_txn_result_free(&txn);
		return pghactl_report_etcd(st, &err);
	}
	*won = txn.succeeded;
	if (!txn.succeeded)
	{
		/* lost the race: plan again with the winner's key */
		cl->has_initialize = true;
		snprintf(cl->initialize, sizeof(cl->initialize), "%s",
				 txn.current.count > 0 ? txn.current.kvs[0].value : "");
	}
	etcd_txn_result_free(&txn);
	return PGHACTL_EXIT_OK;
}

#define BOOTSTRAP_STALE_MS	3000

/*
 * How long node-plan has seen the scope without any key (0 the first
 * time).  An unreadable or unwritable file counts as "just now": the node
 * then never runs initdb on an empty scope, which is the safe side, and
 * says why.
 */
static int64_t
scope_empty_for(const char *pgdata, bool empty)
{
	char		path[PATH_MAX];
	FILE	   *f;
	long long	first = 0,
				last = 0;
	int64_t		now = pgha_boottime_ms();

	snprintf(path, sizeof(path), "%s.pgha-bootstrap", pgdata);
	if (!empty)
	{
		unlink(path);
		return 0;
	}
	f = fopen(path, "r");
	if (f != NULL)
	{
		if (fscanf(f, "%lld %lld", &first, &last) != 2)
			first = last = 0;
		fclose(f);
	}
	if (first <= 0 || last < first || last > now || now - last > BOOTSTRAP_STALE_MS)
		first = now;
	f = fopen(path, "w");
	if (f == NULL)
	{
		fprintf(stderr, "pghactl: cannot write \"%s\": %s\n", path, strerror(errno));
		return 0;
	}
	fprintf(f, "%lld %lld\n", (long long) first, (long long) now);
	if (fclose(f) != 0)
		return 0;
	return now - first;
}

/*
 * The control file of args->pgdata: read directly (controlfile.c), else
 * pg_controldata's output parsed (another version's layout, a torn read)
 */
bool
pghactl_read_controldata(const PghactlArgs *args, PghaControlData *cd,
						 char *errbuf, size_t errlen)
{
	char		bindir[PATH_MAX];
	char	   *text;
	bool		ok;

	if (pghactl_control_read(args->pgdata, cd))
		return true;
	find_bindir(args, bindir, sizeof(bindir));
	text = run_controldata(bindir, args->pgdata, errbuf, errlen);
	if (text == NULL)
		return false;
	ok = pgha_parse_controldata(text, cd, errbuf, errlen);
	free(text);
	return ok;
}

/* a "wait" plan with its reason */
static int
plan_wait(PghaNodePlan *plan, const char *fmt, const char *a, const char *b)
{
	memset(plan, 0, sizeof(*plan));
	plan->action = PGHA_PLAN_WAIT;
	snprintf(plan->reason, sizeof(plan->reason), fmt, a, b);
	return PGHACTL_EXIT_OK;
}

/*
 * The plan for this stopped node (node-plan's line; the guard's release
 * when the postmaster exits): the facts gathered, pgha_node_plan()'s
 * answer in *plan.  The cluster's keys are given (kvs, read a moment
 * earlier: the guard's) or read now.  With claim (never with kvs given), an
 * "initdb" plan stands only once this node won the initialize key.
 * Returns the exit status; an etcd error is printed on stderr.
 */
static int
node_plan(const PghactlSettings *st, const PghactlArgs *args, bool claim,
		  const EtcdKVList *given, PghaNodePlan *plan)
{
	const char *me = pghactl_conf_get(st, PS_NODE_NAME);
	char		errbuf[512];
	char		prefix[PGHACTL_PREFIX_LEN];
	DirKind		kind;
	PghaControlData cd;
	PghaLocalNode node;
	PghaCluster *cl;
	char		inst[PGHA_INSTANCE_LEN];
	EtcdClient *client = NULL;
	EtcdKVList	kvs;
	const EtcdKVList *keys = given;
	EtcdError	err;
	int			rc;

	if (!classify_pgdata(args->pgdata, &kind, errbuf, sizeof(errbuf)))
	{
		fprintf(stderr, "pghactl: %s\n", errbuf);
		return PGHACTL_EXIT_USAGE;
	}
	if (kind == DIR_OTHER)
		return plan_wait(plan, "the data directory \"%s\" is not empty but holds no database cluster (no global/pg_control%s): move it away",
						 args->pgdata,
						 pghactl_file_exists(args->pgdata, "backup_label") ? "; an interrupted clone?" : "");

	memset(&node, 0, sizeof(node));
	node.name = me;
	/* rule 6: which instance is this, and which lease is its own */
	if (pgha_instance_id(args->pgdata, inst, sizeof(inst), errbuf, sizeof(errbuf)))
	{
		node.instance = inst;
		node.lease = pgha_own_lease(args->pgdata, inst);
	}
	if (kind == DIR_CLUSTER)
	{
		if (!pghactl_read_controldata(args, &cd, errbuf, sizeof(errbuf)))
			return plan_wait(plan, "cannot read the control file: %s%s", errbuf, "");
		node.cd = &cd;
		node.fenced = pghactl_file_exists(args->pgdata, PGHA_FENCED_FILE);
		node.backup_label = pghactl_file_exists(args->pgdata, "backup_label");
		node.restart = pghactl_file_exists(args->pgdata, PGHA_RESTART_FILE);
		node.reinit = pghactl_file_exists(args->pgdata, PGHA_REINIT_FILE);
	}

	if ((rc = pghactl_prefix(st, prefix, sizeof(prefix))) != PGHACTL_EXIT_OK)
		return rc;
	if (keys == NULL)
	{
		client = pghactl_client(st, &rc);
		if (client == NULL)
			return rc;
		if (etcd_get_prefix(client, prefix, &kvs, &err) != ETCD_OK)
		{
			pghactl_client_done(client);
			return pghactl_report_etcd(st, &err);
		}
		keys = &kvs;
	}
	cl = malloc(sizeof(PghaCluster));
	if (cl != NULL)
	{
		pgha_cluster_from_kvs(prefix, keys, cl);
		node.scope_empty_ms = scope_empty_for(args->pgdata,
											  kind == DIR_EMPTY && keys->count == 0);
	}
	if (keys == &kvs)
		etcd_kvlist_free(&kvs);
	if (cl == NULL)
	{
		pghactl_client_done(client);
		fprintf(stderr, "pghactl: out of memory\n");
		return PGHACTL_EXIT_ETCD;
	}

	pgha_node_plan(&node, cl, plan);
	if (plan->action == PGHA_PLAN_INITDB && (!claim || client == NULL))
		plan_wait(plan, "an empty data directory: node-plan claims the initialize key%s%s", "", "");
	else if (plan->action == PGHA_PLAN_INITDB)
	{
		bool		won = false;

		rc = claim_initialize(st, client, prefix, cl, &won);
		if (rc == PGHACTL_EXIT_OK && !won)
			pgha_node_plan(&node, cl, plan);
		else if (rc == PGHACTL_EXIT_OK)
			snprintf(plan->reason, sizeof(plan->reason),
					 "no data directory and the cluster is not initialized: this node won the %sinitialize key and creates it",
					 prefix);
	}
	pghactl_client_done(client);
	free(cl);
	return rc;
}

int
pghactl_node_plan_for(const PghactlSettings *st, const PghactlArgs *args,
					  bool claim, PghaNodePlan *plan)
{
	return node_plan(st, args, claim, NULL, plan);
}

int
pghactl_node_plan_from(const PghactlSettings *st, const PghactlArgs *args,
					   const EtcdKVList *kvs, PghaNodePlan *plan)
{
	return node_plan(st, args, false, kvs, plan);
}

int
pghactl_cmd_node_plan(const PghactlSettings *st, const PghactlArgs *args)
{
	PghaNodePlan plan;
	int			rc;

	rc = pghactl_node_plan_for(st, args, true, &plan);
	if (rc != PGHACTL_EXIT_OK)
		return rc;
	return print_plan(&plan);
}

/* "host:port" (host may be [IPv6]) into its parts */
static bool
split_host_port(const char *s, char *host, size_t hostlen, int *port)
{
	char		err[256];
	const char *colon = strrchr(s, ':');
	const char *h = s;
	size_t		hlen;

	if (!pgha_valid_connect_address(s, err, sizeof(err)) || colon == NULL)
		return false;
	hlen = (size_t) (colon - s);
	if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']')
	{
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= hostlen)
		return false;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = atoi(colon + 1);
	return *port > 0;
}

int
pghactl_cmd_recovery_conf(const PghactlSettings *st, const PghactlArgs *args)
{
	const char *me = pghactl_conf_get(st, PS_NODE_NAME);
	const char *user = pghactl_conf_get(st, PS_REPLICATION_USER);
	char		host[PGHA_URL_LEN];
	char		slot[PGHA_NAME_LEN];
	char		errbuf[512];
	int			port = 0;
	char	   *text;
	bool		ok;

	if (args->upstream != NULL &&
		!split_host_port(args->upstream, host, sizeof(host), &port))
	{
		fprintf(stderr, "pghactl: invalid --upstream \"%s\": expected HOST:PORT\n",
				args->upstream);
		return PGHACTL_EXIT_USAGE;
	}
	if (!pghactl_file_exists(args->pgdata, "PG_VERSION"))
	{
		fprintf(stderr, "pghactl: \"%s\" is not a data directory (no PG_VERSION)\n",
				args->pgdata);
		return PGHACTL_EXIT_USAGE;
	}
	pgha_slot_name(me, slot, sizeof(slot));
	text = pgha_recovery_conf_text(args->upstream ? host : NULL, port, user,
								   me, slot);
	if (text == NULL)
	{
		fprintf(stderr, "pghactl: out of memory\n");
		return PGHACTL_EXIT_USAGE;
	}
	ok = pgha_write_file_atomic(args->pgdata, PGHA_RECOVERY_CONF, text,
								errbuf, sizeof(errbuf));
	free(text);
	if (!ok)
	{
		fprintf(stderr, "pghactl: %s\n", errbuf);
		return PGHACTL_EXIT_USAGE;
	}
	if (args->upstream)
		printf("wrote %s/%s: stream from %s:%d as \"%s\" through slot \"%s\"\n",
			   args->pgdata, PGHA_RECOVERY_CONF, host, port, user, slot);
	else
		printf("wrote %s/%s: no upstream\n", args->pgdata, PGHA_RECOVERY_CONF);
	return PGHACTL_EXIT_OK;
}

/*
 * The node's own settings, one "key value" line each, so that the watchdog
 * need not parse postgresql.conf syntax and derives the slot name exactly
 * as the keeper does.
 */
int
pghactl_cmd_node_info(const PghactlSettings *st, const PghactlArgs *args)
{
	const char *me = pghactl_conf_get(st, PS_NODE_NAME);
	const char *scope = pghactl_conf_get(st, PS_SCOPE);
	const char *addr = pghactl_conf_get(st, PS_CONNECT_ADDRESS);
	char		slot[PGHA_NAME_LEN];

	pgha_slot_name(me, slot, sizeof(slot));
	printf("name %s\n", me);
	printf("slot %s\n", slot);
	printf("replication_user %s\n", pghactl_conf_get(st, PS_REPLICATION_USER));
	printf("scope %s\n", scope ? scope : "");
	printf("connect_address %s\n", addr ? addr : "");
	return PGHACTL_EXIT_OK;
}
