/*-------------------------------------------------------------------------
 *
 * cmd_keys.c
 *	  pghactl leader-release and initialize-cancel: the two guarded deletes
 *	  pgha-watchdog does.
 *
 * Both are one etcd transaction that deletes the key only when its value
 * is what this node expects (Patroni's compare-and-delete), so they can
 * never remove another member's leader key or a cluster's system
 * identifier, whatever happened in between.  A timed-out request has an
 * unknown outcome: it is reported as an etcd error, and running the
 * command again is safe.
 *
 *-------------------------------------------------------------------------
 */
#include "pghactl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "node_plan.h"

/*
 * Delete prefix+name through client if its value equals expected (and,
 * unless expected_lease is 0, it sits on that lease).  *deleted says whether
 * it was; otherwise current gets the key's value, or is set empty with
 * *present false.
 */
static int
guarded_delete(const PghactlSettings *st, EtcdClient *client, const char *name,
			   const char *expected, int64_t expected_lease,
			   bool *deleted, bool *present,
			   char *current, size_t currentlen, char *key, size_t keylen)
{
	char		prefix[PGHACTL_PREFIX_LEN];
	EtcdTxnResult txn;
	EtcdError	err;
	EtcdStatus	status;
	int			rc;

	if ((rc = pghactl_prefix(st, prefix, sizeof(prefix))) != PGHACTL_EXIT_OK)
		return rc;
	snprintf(key, keylen, "%s%s", prefix, name);
	memset(&txn, 0, sizeof(txn));
	if (expected_lease != 0)
		status = etcd_cad_value_lease(client, key, expected, expected_lease,
									  &txn, &err);
	else
		status = etcd_cad_value(client, key, expected, &txn, &err);
	if (status != ETCD_OK)
	{
		etcd_txn_result_free(&txn);
		return pghactl_report_etcd(st, &err);
	}
	*deleted = txn.succeeded;
	*present = !txn.succeeded && txn.current.count > 0;
	snprintf(current, currentlen, "%s", *present ? txn.current.kvs[0].value : "");
	etcd_txn_result_free(&txn);
	return PGHACTL_EXIT_OK;
}

/*
 * Before releasing: publish the stopped leader's last WAL position (its
 * shutdown checkpoint) as the status optime, so that a switchover
 * candidate knows what it must have received, and in "pgha_final" (a
 * pgha-only key, final_state.c), so that a replica behind it does not
 * promote by itself while the cluster is started again after a clean stop
 * (decide.c).  Called only once leader_key_is_ours() said the key is
 * ours: another leader's optime is not ours to overwrite.
 */
static int
put_key(const PghactlSettings *st, EtcdClient *client, const char *prefix,
		const char *name, char *json)
{
	char		key[PGHACTL_PREFIX_LEN + 16];
	EtcdError	err;
	EtcdStatus	status;

	if (json == NULL)
	{
		fprintf(stderr, "pghactl: out of memory\n");
		return PGHACTL_EXIT_ETCD;
	}
	snprintf(key, sizeof(key), "%s%s", prefix, name);
	status = etcd_put(client, key, json, 0, &err);
	free(json);
	return status == ETCD_OK ? PGHACTL_EXIT_OK : pghactl_report_etcd(st, &err);
}

static int
publish_final_position(const PghactlSettings *st, EtcdClient *client,
					   const PghactlArgs *args, const char *me, FILE *out)
{
	PghaControlData cd;
	char		errbuf[512];
	char		prefix[PGHACTL_PREFIX_LEN];
	int			rc;

	if (!pghactl_read_controldata(args, &cd, errbuf, sizeof(errbuf)))
	{
		fprintf(stderr, "pghactl: %s\n", errbuf);
		return PGHACTL_EXIT_USAGE;
	}
	if ((rc = pghactl_prefix(st, prefix, sizeof(prefix))) != PGHACTL_EXIT_OK)
		return rc;
	rc = put_key(st, client, prefix, "status",
				 pgha_status_to_json((int64_t) cd.checkpoint_lsn));
	if (rc == PGHACTL_EXIT_OK)
		rc = put_key(st, client, prefix, "pgha_final",
					 pgha_final_to_json(me, (int64_t) cd.checkpoint_lsn,
										cd.checkpoint_tli));
	if (rc == PGHACTL_EXIT_OK)
		fprintf(out, "published the final WAL position %X/%X (%s)\n",
			   (unsigned int) (cd.checkpoint_lsn >> 32),
			   (unsigned int) cd.checkpoint_lsn, pgha_db_state_text(cd.state));
	return rc;
}

/*
 * The guard (safety rule 6): the leader key is this node's only when its
 * value is our name and it sits on the lease this node's keeper recorded
 * in PGDATA/pgha.lease, under this data directory's instance identity
 * (identity.h).  A clone or a copied machine carries the leader's file
 * with the leader's identity, so it never releases the real leader's key.
 * *ours false with the reason printed.
 */
static int
leader_key_is_ours(const PghactlSettings *st, EtcdClient *client,
				   const PghactlArgs *args, const char *me, bool *ours,
				   int64_t *our_lease, FILE *out)
{
	char		prefix[PGHACTL_PREFIX_LEN];
	char		key[PGHACTL_PREFIX_LEN + 16];
	char		inst[PGHA_INSTANCE_LEN];
	char		errbuf[512];
	EtcdKVList	kvs;
	EtcdError	err;
	int64_t		lease = 0;
	int			rc;

	*ours = false;
	if (args->pgdata == NULL)
	{
		fprintf(out, "leader-release needs -D PGDATA to tell this node's lease: the leader key is left alone\n");
		return PGHACTL_EXIT_OK;
	}
	if (pgha_instance_id(args->pgdata, inst, sizeof(inst), errbuf, sizeof(errbuf)))
		lease = pgha_own_lease(args->pgdata, inst);
	if ((rc = pghactl_prefix(st, prefix, sizeof(prefix))) != PGHACTL_EXIT_OK)
		return rc;
	snprintf(key, sizeof(key), "%sleader", prefix);
	if (etcd_get(client, key, &kvs, &err) != ETCD_OK)
		return pghactl_report_etcd(st, &err);
	if (kvs.count == 0)
		fprintf(out, "there is no leader key %s: nothing to release\n", key);
	else if (strcmp(kvs.kvs[0].value, me) != 0)
		fprintf(out, "the leader key %s names \"%s\", not \"%s\": left alone\n",
			   key, kvs.kvs[0].value, me);
	else if (lease == 0 || kvs.kvs[0].lease != lease)
		fprintf(out, "the leader key %s names \"%s\" but sits on lease %lld, which is not this node's (%s): left alone\n",
			   key, me, (long long) kvs.kvs[0].lease,
			   lease ? "its lease file names another" :
			   "no lease file of this data directory's own");
	else
	{
		*ours = true;
		*our_lease = lease;
	}
	etcd_kvlist_free(&kvs);
	return PGHACTL_EXIT_OK;
}

int
pghactl_leader_release(const PghactlSettings *st, const PghactlArgs *args,
					   FILE *out)
{
	const char *me = pghactl_conf_get(st, PS_NODE_NAME);
	char		key[PGHACTL_PREFIX_LEN + 16];
	char		holder[PGHA_NAME_LEN];
	bool		deleted;
	bool		present;
	bool		ours;
	int64_t		our_lease = 0;
	EtcdClient *client;
	int			rc;

	/* one client (one connection) for the four requests */
	client = pghactl_client(st, &rc);
	if (client == NULL)
		return rc;
	rc = leader_key_is_ours(st, client, args, me, &ours, &our_lease, out);
	if (rc == PGHACTL_EXIT_OK && !ours)
		rc = PGHACTL_EXIT_NOT_OURS;
	if (rc == PGHACTL_EXIT_OK && args->pgdata != NULL)
		rc = publish_final_position(st, client, args, me, out);
	if (rc == PGHACTL_EXIT_OK)
		rc = guarded_delete(st, client, "leader", me, our_lease, &deleted,
							&present, holder, sizeof(holder), key, sizeof(key));
	etcd_client_free(client);
	if (rc != PGHACTL_EXIT_OK)
		return rc;
	if (deleted)
	{
		fprintf(out, "released the leader key %s (it named \"%s\")\n", key, me);
		return PGHACTL_EXIT_OK;
	}
	if (present)
		fprintf(out, "the leader key %s names \"%s\", not \"%s\": left alone\n",
			   key, holder, me);
	else
		fprintf(out, "there is no leader key %s: nothing to release\n", key);
	return PGHACTL_EXIT_NOT_OURS;
}

int
pghactl_cmd_leader_release(const PghactlSettings *st, const PghactlArgs *args)
{
	return pghactl_leader_release(st, args, stdout);
}

int
pghactl_cmd_initialize_cancel(const PghactlSettings *st,
							  const PghactlArgs *args)
{
	char		key[PGHACTL_PREFIX_LEN + 16];
	char		value[PGHA_WORD_LEN];
	bool		deleted;
	bool		present;
	EtcdClient *client;
	int			rc;

	client = pghactl_client(st, &rc);
	if (client == NULL)
		return rc;
	rc = guarded_delete(st, client, "initialize", "", 0, &deleted, &present,
						value, sizeof(value), key, sizeof(key));
	etcd_client_free(client);
	if (rc != PGHACTL_EXIT_OK)
		return rc;
	if (deleted)
	{
		printf("deleted the unfinished bootstrap claim %s\n", key);
		return PGHACTL_EXIT_OK;
	}
	if (present)
		printf("%s holds the system identifier \"%s\": left alone\n", key, value);
	else
		printf("there is no %s key: nothing to cancel\n", key);
	return PGHACTL_EXIT_NOT_OURS;
}
