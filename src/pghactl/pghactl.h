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

/* etcd timeouts: an operator's tool should answer quickly or say why */
#define PGHACTL_CONNECT_TIMEOUT_MS	1000
#define PGHACTL_REQUEST_TIMEOUT_MS	2000

#define PGHACTL_PREFIX_LEN		256

/*
 * Read every key under the cluster prefix into *kvs and the prefix into
 * prefix.  On failure prints the reason on stderr and returns the exit
 * status; an empty cluster is PGHACTL_EXIT_NOT_FOUND.
 */
extern int	pghactl_fetch_cluster(const PghactlSettings *st, EtcdKVList *kvs,
								  char *prefix, size_t prefixlen);

extern int	pghactl_cmd_list(const PghactlSettings *st);
extern int	pghactl_cmd_show_config(const PghactlSettings *st);

#endif							/* PGHACTL_H */
