/*-------------------------------------------------------------------------
 *
 * pghactl.h
 *	  Declarations shared by pghactl's commands.
 *
 * pghactl talks to etcd directly (not to a server), so it works while the
 * local postgres is down.  Each command gets the checked settings, reads
 * what it needs under the cluster's prefix and prints it; its return value
 * is the process exit status.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHACTL_H
#define PGHACTL_H

#include <stdio.h>
#include <sys/types.h>

#include "cluster.h"
#include "conf.h"
#include "etcd_client.h"

/* exit statuses, documented in --help */
#define PGHACTL_EXIT_OK			0
#define PGHACTL_EXIT_ETCD		1	/* etcd unreachable or etcd error */
#define PGHACTL_EXIT_USAGE		2	/* usage error or bad settings */
#define PGHACTL_EXIT_NOT_FOUND	3	/* no keys under the cluster prefix */
#define PGHACTL_EXIT_FENCE		4	/* heartbeat-check: past the fencing deadline */
#define PGHACTL_EXIT_NOT_OURS	5	/* leader-release, initialize-cancel: the key
									 * is absent or not ours */
#define PGHACTL_EXIT_REFUSED	6	/* the cluster's state, a check or a
									 * concurrent change refused the request */
#define PGHACTL_EXIT_TIMEOUT	7	/* no outcome within --timeout */
#define PGHACTL_EXIT_ABORTED	8	/* not confirmed */

/* etcd timeouts: an operator's tool should answer quickly or say why */
#define PGHACTL_CONNECT_TIMEOUT_MS	1000
#define PGHACTL_REQUEST_TIMEOUT_MS	2000

#define PGHACTL_PREFIX_LEN		256

/* where the watchdog's commands find PostgreSQL's programs by default */
#define PGHACTL_DEFAULT_BINDIR	"/usr/lib/postgresql/15/bin"

/* how long switchover and failover wait for the new leader by default */
#define PGHACTL_DEFAULT_WAIT_S	60
#define PGHACTL_MAX_WAIT_S		86400

/* one --set PATH=VALUE or --pg NAME=VALUE of edit-config */
typedef struct PghactlEdit
{
	const char *assignment;
	bool		pg;				/* --pg: below postgresql.parameters */
} PghactlEdit;

/* the options some commands take besides the settings */
typedef struct PghactlArgs
{
	const char *pgdata;			/* -D */
	const char *upstream;		/* --upstream HOST:PORT */
	bool		no_upstream;	/* --no-upstream */
	const char *bindir;			/* --bindir */
	const char *leader;			/* --leader (switchover) */
	const char *candidate;		/* --candidate */
	const char *scheduled;		/* --scheduled TIME or "now" */
	bool		cancel;			/* --cancel (switchover) */
	bool		force;			/* --force */
	int			timeout;		/* --timeout seconds; 0 = the default */
	PghactlEdit *edits;			/* --set and --pg, in command-line order */
	int			nedits;
	const char *replace;		/* --replace FILE ("-": stdin) */
	bool		dry_run;		/* --dry-run */
	const char *confirm;		/* --confirm SCOPE (remove) */
	const char **members;		/* restart, reload, reinit: MEMBER... */
	int			nmembers;
	bool		pending;		/* --pending (restart) */
	const char *role;			/* --role (restart, reload) */
	const char *pg_version;		/* --pg-version (restart) */
} PghactlArgs;

/*
 * Read every key under the cluster prefix into *kvs and the prefix into
 * prefix.  On failure prints the reason on stderr and returns the exit
 * status; an empty cluster is PGHACTL_EXIT_NOT_FOUND.
 */
/* pg_controldata of args->pgdata (its --bindir or the usual place), parsed */
struct PghaControlData;
extern bool pghactl_read_controldata(const PghactlArgs *args,
									 struct PghaControlData *cd,
									 char *errbuf, size_t errlen);

/*
 * The plan for this stopped node, as node-plan prints it (cmd_node.c);
 * with claim, "initdb" only once this node won the initialize key.
 */
struct PghaNodePlan;
extern bool pghactl_file_exists(const char *dir, const char *name);
extern int	pghactl_node_plan_for(const PghactlSettings *st,
								  const PghactlArgs *args, bool claim,
								  struct PghaNodePlan *plan);
/* the same from the cluster's keys read earlier (kvs), without a claim */
extern int	pghactl_node_plan_from(const PghactlSettings *st,
								   const PghactlArgs *args,
								   const EtcdKVList *kvs,
								   struct PghaNodePlan *plan);

/*
 * leader-release with its messages on out (cmd_keys.c): the command
 * prints them, the guard puts them in its "down:" line.
 */
extern int	pghactl_leader_release(const PghactlSettings *st,
								   const PghactlArgs *args, FILE *out);

extern int	pghactl_fetch_cluster(const PghactlSettings *st, EtcdKVList *kvs,
								  char *prefix, size_t prefixlen);

/*
 * The pieces of pghactl_fetch_cluster for commands that write: the key
 * prefix, a client (NULL with the reason printed and *rc set), and the
 * report of a failed request (prints it, returns the exit status).
 */
extern int	pghactl_prefix(const PghactlSettings *st, char *prefix,
						   size_t prefixlen);
extern EtcdClient *pghactl_client(const PghactlSettings *st, int *rc);
/* every client of pghactl_client() goes back here (freed, or kept) */
extern void pghactl_client_done(EtcdClient *client);

/*
 * From now on pghactl_client() hands out one client, made at its first
 * use and kept with its connection: the guard's, whose release must not
 * wait for a new connection (cmd_guard.c).
 */
extern void pghactl_keep_client(void);
extern int	pghactl_report_etcd(const PghactlSettings *st, const EtcdError *err);

extern int	pghactl_cmd_list(const PghactlSettings *st, const char *pgdata);
extern int	pghactl_cmd_topology(const PghactlSettings *st,
								 const PghactlArgs *args);
/* operations on members' servers, through libpq (cmd_ops.c) */
extern int	pghactl_cmd_restart(const PghactlSettings *st,
								const PghactlArgs *args);
extern int	pghactl_cmd_reload(const PghactlSettings *st,
							   const PghactlArgs *args);
extern int	pghactl_cmd_reinit(const PghactlSettings *st,
							   const PghactlArgs *args);
extern int	pghactl_cmd_show_config(const PghactlSettings *st);

/* the operator's requests (cmd_pause.c, cmd_switchover.c, ...) */
extern int	pghactl_cmd_pause(const PghactlSettings *st, const PghactlArgs *args);
extern int	pghactl_cmd_resume(const PghactlSettings *st, const PghactlArgs *args);
extern int	pghactl_cmd_switchover(const PghactlSettings *st,
								   const PghactlArgs *args);
extern int	pghactl_cmd_failover(const PghactlSettings *st,
								 const PghactlArgs *args);
extern int	pghactl_cmd_history(const PghactlSettings *st,
								const PghactlArgs *args);
extern int	pghactl_cmd_remove(const PghactlSettings *st, const PghactlArgs *args);
extern int	pghactl_cmd_edit_config(const PghactlSettings *st,
									const PghactlArgs *args);

/*
 * Shared by those commands (ops.c).  pghactl_read_cluster reads every key
 * under prefix with the caller's client into *kvs (freed by the caller,
 * also on failure) and, when cl is not NULL, the model; like
 * pghactl_fetch_cluster it prints why it failed and returns the status.
 */
extern int	pghactl_read_cluster(const PghactlSettings *st, EtcdClient *client,
								 const char *prefix, EtcdKVList *kvs,
								 PghaCluster *cl);
/* stdin is a terminal, so that an operator can be asked */
extern bool pghactl_interactive(void);
/* click.confirm's "QUESTION [y/N]: "; false on no, EOF or an empty answer */
extern bool pghactl_confirm(const char *question);
/* click.prompt's "QUESTION: "; the line without its newline; false on EOF */
extern bool pghactl_prompt(const char *question, char *answer, size_t len);
/* patronictl's timestamp(): local "YYYY-MM-DD HH:MM:SS.fffff" */
extern void pghactl_timestamp(char *buf, size_t len);
/* "pghactl: WHAT: MESSAGE" with DETAIL and HINT lines, on stderr */
extern void pghactl_refuse(const char *what, const char *message,
						   const char *detail, const char *hint);
/*
 * Wait (polling every 100 ms, at most timeout_s) until the leader key
 * names a member other than old_leader, and say what happened; see
 * pgha_request_outcome().  action is "switchover" or "failover".
 */
extern int	pghactl_wait_new_leader(const PghactlSettings *st,
									EtcdClient *client, const char *prefix,
									const char *action, const char *old_leader,
									const char *candidate, int timeout_s);

/* the watchdog's commands (cmd_node.c, cmd_keys.c, cmd_heartbeat.c) */
extern int	pghactl_cmd_node_plan(const PghactlSettings *st,
								  const PghactlArgs *args);
extern int	pghactl_cmd_recovery_conf(const PghactlSettings *st,
									  const PghactlArgs *args);
extern int	pghactl_cmd_node_info(const PghactlSettings *st,
								  const PghactlArgs *args);
extern int	pghactl_cmd_leader_release(const PghactlSettings *st,
									   const PghactlArgs *args);
extern int	pghactl_cmd_initialize_cancel(const PghactlSettings *st,
										  const PghactlArgs *args);
extern int	pghactl_cmd_heartbeat_check(const PghactlSettings *st,
										const PghactlArgs *args);
extern int	pghactl_cmd_guard(const PghactlSettings *st,
							  const PghactlArgs *args);

/* a process, from /proc/PID/stat (cmd_guard.c) */
typedef struct PghactlProc
{
	pid_t		pid;
	pid_t		ppid;
	pid_t		pgrp;
	char		state;			/* R, S, T, Z, ... */
	char		comm[32];
	int64_t		start_ms;		/* CLOCK_BOOTTIME */
} PghactlProc;

/*
 * The running postmaster of pgdata (postmaster.pid names a live process
 * called postgres); status: postmaster.pid's status word, "" if none.
 */
extern bool pghactl_postmaster_proc(const char *pgdata, PghactlProc *p,
									char *status, size_t statuslen);

#endif							/* PGHACTL_H */
