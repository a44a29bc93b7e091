/*-------------------------------------------------------------------------
 *
 * cmd_remove.c
 *	  pghactl remove: delete every key of a cluster from etcd.
 *
 * This is for a cluster that is gone (its nodes stopped for good, or
 * rebuilt from scratch) and whose keys linger: initialize, config,
 * history, failover.  On a live cluster it is a footgun: the keepers
 * would put back some keys (members, leader) and not others, and a node
 * would find no initialize key to check its system identifier against.
 * So a live cluster (a leader key, which only exists on a lease some
 * member keeps alive, or a member reporting "running") is refused unless
 * --force.  The confirmation is patronictl's: type the cluster's name,
 * then "Yes I am aware", and the leader's name when there is one;
 * --confirm=SCOPE answers for scripts.
 *
 *-------------------------------------------------------------------------
 */
#include "pghactl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_logic.h"

#define AWARE "Yes I am aware"

/* patronictl's three questions; false when an answer is wrong */
static bool
ask(const PghactlSettings *st, const PghaCluster *cl)
{
	const char *scope = pghactl_conf_get(st, PS_SCOPE);
	char		answer[PGHA_NAME_LEN + 64];
	char		question[PGHA_NAME_LEN + 128];

	(void) pghactl_cmd_list(st, NULL);
	if (!pghactl_prompt("Please confirm the cluster name to remove", answer,
						sizeof(answer)) || strcmp(answer, scope) != 0)
	{
		fprintf(stderr, "pghactl: cluster names specified do not match\n");
		return false;
	}
	snprintf(question, sizeof(question),
			 "You are about to remove all information in DCS for %s, please type: \"%s\"",
			 scope, AWARE);
	if (!pghactl_prompt(question, answer, sizeof(answer)) ||
		strcmp(answer, AWARE) != 0)
	{
		fprintf(stderr, "pghactl: you did not exactly type \"%s\"\n", AWARE);
		return false;
	}
	if (cl->has_leader &&
		(!pghactl_prompt("This cluster currently is healthy. Please specify the leader name to continue",
						 answer, sizeof(answer)) ||
		 strcmp(answer, cl->leader) != 0))
	{
		fprintf(stderr, "pghactl: you did not specify the current leader of the cluster\n");
		return false;
	}
	return true;
}

int
pghactl_cmd_remove(const PghactlSettings *st, const PghactlArgs *args)
{
	const char *scope = pghactl_conf_get(st, PS_SCOPE);
	char		prefix[PGHACTL_PREFIX_LEN];
	EtcdClient *client = NULL;
	EtcdKVList	kvs;
	EtcdError	err;
	PghaCluster *cl = NULL;
	char		why[512];
	int64_t		deleted = 0;
	int			rc;

	memset(&kvs, 0, sizeof(kvs));
	if (args->confirm == NULL && !pghactl_interactive())
	{
		fprintf(stderr, "pghactl: remove asks for confirmation: run it on a terminal, or give --confirm=%s\n",
				scope);
		return PGHACTL_EXIT_USAGE;
	}
	if ((rc = pghactl_prefix(st, prefix, sizeof(prefix))) != PGHACTL_EXIT_OK)
		return rc;
	cl = malloc(sizeof(PghaCluster));
	if (cl == NULL)
	{
		fprintf(stderr, "pghactl: out of memory\n");
		return PGHACTL_EXIT_ETCD;
	}
	client = pghactl_client(st, &rc);
	if (client == NULL)
		goto done;
	if ((rc = pghactl_read_cluster(st, client, prefix, &kvs, cl)) != PGHACTL_EXIT_OK)
		goto done;

	if (pgha_cluster_is_live(cl, why, sizeof(why)) && !args->force)
	{
		char		detail[600];

		snprintf(detail, sizeof(detail), "In etcd, %s.", why);
		pghactl_refuse("remove refused", "the cluster is live", detail,
					   "Stop every node first (a leader key lasts until its lease expires, at most ttl seconds), or give --force to remove the keys anyway.");
		rc = PGHACTL_EXIT_REFUSED;
		goto done;
	}

	if (args->confirm != NULL)
	{
		if (strcmp(args->confirm, scope) != 0)
		{
			fprintf(stderr, "pghactl: --confirm names \"%s\", not this cluster \"%s\": nothing removed\n",
					args->confirm, scope);
			rc = PGHACTL_EXIT_ABORTED;
			goto done;
		}
	}
	else if (!ask(st, cl))
	{
		rc = PGHACTL_EXIT_ABORTED;
		goto done;
	}

	if (etcd_delete_prefix(client, prefix, &deleted, &err) != ETCD_OK)
	{
		rc = pghactl_report_etcd(st, &err);
		goto done;
	}
	printf("Removed cluster \"%s\": %" PRId64 " keys deleted under %s\n",
		   scope, deleted, prefix);
	rc = PGHACTL_EXIT_OK;

done:
	fflush(stdout);
	etcd_kvlist_free(&kvs);
	if (client != NULL)
		pghactl_client_done(client);
	free(cl);
	return rc;
}
