/*-------------------------------------------------------------------------
 *
 * cmd_pause.c
 *	  pghactl pause and resume: maintenance mode, the "pause" flag of the
 *	  shared config key.
 *
 * patronictl asks a member's REST api to patch the config key; pghactl
 * writes the key itself, as the api would: "pause": true is added, or the
 * key is removed on resume (Patroni's api stores null, which drops it),
 * every other field kept as it is.  The write is a compare-and-swap on
 * the key's mod_revision, so that a concurrent edit (patronictl
 * edit-config, a keeper writing its bootstrap config) is never lost; a
 * lost race is retried from a fresh read a few times.
 *
 *-------------------------------------------------------------------------
 */
#include "pghactl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAUSE_ATTEMPTS	5

static int
set_pause(const PghactlSettings *st, bool pause)
{
	const char *state = pause ? "paused" : "resumed";
	char		prefix[PGHACTL_PREFIX_LEN];
	char		key[PGHACTL_PREFIX_LEN + 8];
	EtcdClient *client;
	PghaCluster *cl;
	int			attempt;
	int			rc;

	if ((rc = pghactl_prefix(st, prefix, sizeof(prefix))) != PGHACTL_EXIT_OK)
		return rc;
	snprintf(key, sizeof(key), "%sconfig", prefix);
	client = pghactl_client(st, &rc);
	if (client == NULL)
		return rc;
	cl = malloc(sizeof(PghaCluster));
	if (cl == NULL)
	{
		pghactl_client_done(client);
		fprintf(stderr, "pghactl: out of memory\n");
		return PGHACTL_EXIT_ETCD;
	}

	rc = -1;
	for (attempt = 1; attempt <= PAUSE_ATTEMPTS; attempt++)
	{
		EtcdKVList	kvs;
		const EtcdKV *kv;
		EtcdTxnResult txn;
		EtcdError	err;
		char		why[PGHA_ERR_LEN];
		char	   *value;

		rc = pghactl_read_cluster(st, client, prefix, &kvs, cl);
		if (rc != PGHACTL_EXIT_OK)
		{
			etcd_kvlist_free(&kvs);
			break;
		}

		/* the model reads pause as Patroni does, also from a broken config */
		if (cl->config.pause == pause)
		{
			printf("Cluster is %s paused\n", pause ? "already" : "not");
			etcd_kvlist_free(&kvs);
			rc = PGHACTL_EXIT_OK;
			break;
		}

		kv = etcd_kvlist_find(&kvs, key);
		value = NULL;
		if (kv != NULL && strlen(kv->value) != kv->value_len)
			snprintf(why, sizeof(why), "the config key contains a NUL byte");
		else
			value = pgha_config_set_pause(kv ? kv->value : NULL, pause, why, sizeof(why));
		if (value == NULL)
		{
			pghactl_refuse(pause ? "pause" : "resume", why,
						   "pause is a field of the config key, which must be a JSON object.",
						   "\"pghactl edit-config --replace FILE\" writes a new configuration.");
			etcd_kvlist_free(&kvs);
			rc = PGHACTL_EXIT_REFUSED;
			break;
		}

		memset(&txn, 0, sizeof(txn));
		if (etcd_cas_mod(client, key, kv ? kv->mod_revision : 0, value, 0,
						 &txn, &err) != ETCD_OK)
			rc = pghactl_report_etcd(st, &err);
		else if (txn.succeeded)
		{
			printf("Success: cluster management is %s\n", state);
			rc = PGHACTL_EXIT_OK;
		}
		else
			rc = -1;			/* someone else wrote the key: read it again */
		free(value);
		etcd_txn_result_free(&txn);
		etcd_kvlist_free(&kvs);
		if (rc >= 0)
			break;
	}
	if (rc < 0)
	{
		fprintf(stderr, "pghactl: the config key changed %d times while writing it; nothing written, try again\n",
				PAUSE_ATTEMPTS);
		rc = PGHACTL_EXIT_REFUSED;
	}
	fflush(stdout);
	free(cl);
	pghactl_client_done(client);
	return rc;
}

int
pghactl_cmd_pause(const PghactlSettings *st, const PghactlArgs *args)
{
	return set_pause(st, true);
}

int
pghactl_cmd_resume(const PghactlSettings *st, const PghactlArgs *args)
{
	return set_pause(st, false);
}
