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

/* etcd timeouts: an operator's tool should answer quickly or say why */
#define PGHACTL_CONNECT_TIMEOUT_MS	1000
#define PGHACTL_REQUEST_TIMEOUT_MS	2000

#define PGHACTL_PREFIX_LEN		256

/* where the watchdog's commands find PostgreSQL's programs by default */
#define PGHACTL_DEFAULT_BINDIR	"/usr/lib/postgresql/15/bin"

/* the options some commands take besides the settings */
typedef struct PghactlArgs
{
	const char *pgdata;			/* -D */
	const char *upstream;		/* --upstream HOST:PORT */
	bool		no_upstream;	/* --no-upstream */
	const char *bindir;			/* --bindir */
} PghactlArgs;

/*
 * Read every key under the cluster prefix into *kvs and the prefix into
 * prefix.  On failure prints the reason on stderr and returns the exit
 * status; an empty cluster is PGHACTL_EXIT_NOT_FOUND.
 */
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
extern int	pghactl_report_etcd(const PghactlSettings *st, const EtcdError *err);

extern int	pghactl_cmd_list(const PghactlSettings *st);
extern int	pghactl_cmd_show_config(const PghactlSettings *st);

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

#endif							/* PGHACTL_H */
