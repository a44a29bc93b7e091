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
 * Delete prefix+name through client if its value equals expected.
 * *deleted says whether it was; otherwise current gets the key's value, or
 * is set empty with *present false.
 */
static int
guarded_delete(const PghactlSettings *st, EtcdClient *client, const char *name,
			   const char *expected, bool *deleted, bool *present,
			   char *current, size_t currentlen, char *key, size_t keylen)
{
	char		prefix[PGHACTL_PREFIX_LEN];
	EtcdTxnResult txn;
	EtcdError	err;
	EtcdStatus	status;
	int			rc;

	*deleted = *present = false;
	if ((rc = pghactl_prefix(st, prefix, sizeof(prefix))) != PGHACTL_EXIT_OK)
		return rc;
	snprintf(key, keylen, "%s%s", prefix, name);
	memset(&txn, 0, sizeof(txn));
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
 * leader-release (and the guard's release): one etcd transaction that
 * deletes the leader key only when it names this node AND sits on the lease
 * this node's keeper recorded in PGDATA/pgha.lease, under this data
 * directory's instance identity (identity.h; safety rule 6: a clone or a
 * copied machine carries the leader's file with the leader's identity, so
 * it never releases the real leader's key), and in the same transaction
 * publishes the stopped leader's last WAL position (its last checkpoint,
 * the shutdown checkpoint after a clean stop):
 *	 - as the status optime, so that a switchover candidate knows what it
 *	   must have received;
 *	 - in "pgha_final" (a pgha-only key, final_state.c), so that a replica
 *	   behind it does not promote by itself while the cluster is started
 *	   again after a clean stop (decide.c).
 * All or nothing, one Raft write: another leader's optime is never
 * overwritten (the key may have expired and been taken meanwhile), and the
 * handover waits for one fsync of etcd's, not three.
 */
int
pghactl_leader_release(const PghactlSettings *st, const PghactlArgs *args,
					   FILE *out)
{
	const char *me = pghactl_conf_get(st, PS_NODE_NAME);
	char		prefix[PGHACTL_PREFIX_LEN];
	char		key[PGHACTL_PREFIX_LEN + 16];
	char		status_key[PGHACTL_PREFIX_LEN + 16];
	char		final_key[PGHACTL_PREFIX_LEN + 16];
	char		inst[PGHA_INSTANCE_LEN];
	char		errbuf[512];
	PghaControlData cd;
	int64_t		lease = 0;
	EtcdPutOp	puts[2];
	EtcdTxnResult txn;
	EtcdError	err;
	EtcdClient *client;
	int			rc;

	if (args->pgdata == NULL)
	{
		fprintf(out, "leader-release needs -D PGDATA to tell this node's lease: the leader key is left alone\n");
		return PGHACTL_EXIT_NOT_OURS;
	}
	if (!pghactl_read_controldata(args, &cd, errbuf, sizeof(errbuf)))
	{
		fprintf(stderr, "pghactl: %s\n", errbuf);
		return PGHACTL_EXIT_USAGE;
	}
	if (pgha_instance_id(args->pgdata, inst, sizeof(inst), errbuf, sizeof(errbuf)))
		lease = pgha_own_lease(args->pgdata, inst);
	if ((rc = pghactl_prefix(st, prefix, sizeof(prefix))) != PGHACTL_EXIT_OK)
		return rc;
	snprintf(key, sizeof(key), "%sleader", prefix);
	snprintf(status_key, sizeof(status_key), "%sstatus", prefix);
	snprintf(final_key, sizeof(final_key), "%spgha_final", prefix);
	puts[0].key = status_key;
	puts[0].value = pgha_status_to_json((int64_t) cd.checkpoint_lsn);
	puts[1].key = final_key;
	puts[1].value = pgha_final_to_json(me, (int64_t) cd.checkpoint_lsn,
									   cd.checkpoint_tli,
									   cd.state == PGHA_DB_SHUT_DOWN);
	if (puts[0].value == NULL || puts[1].value == NULL)
	{
		free((char *) puts[0].value);
		free((char *) puts[1].value);
		fprintf(stderr, "pghactl: out of memory\n");
		return PGHACTL_EXIT_ETCD;
	}

	/* one client, one connection: no lease (0) never matches the key's */
	client = pghactl_client(st, &rc);
	if (client != NULL)
	{
		memset(&txn, 0, sizeof(txn));
		if (etcd_cad_value_lease_puts(client, key, me, lease, puts, 2,
									  &txn, &err) != ETCD_OK)
			rc = pghactl_report_etcd(st, &err);
		pghactl_client_done(client);
	}
	free((char *) puts[0].value);
	free((char *) puts[1].value);
	if (client == NULL || rc != PGHACTL_EXIT_OK)
	{
		if (client != NULL)
			etcd_txn_result_free(&txn);
		return rc;
	}

	if (txn.succeeded)
	{
		fprintf(out, "published the final WAL position %X/%X (%s)\n",
				(unsigned int) (cd.checkpoint_lsn >> 32),
				(unsigned int) cd.checkpoint_lsn, pgha_db_state_text(cd.state));
		fprintf(out, "released the leader key %s (it named \"%s\")\n", key, me);
	}
	else if (txn.current.count == 0)
		fprintf(out, "there is no leader key %s: nothing to release\n", key);
	else if (strcmp(txn.current.kvs[0].value, me) != 0)
		fprintf(out, "the leader key %s names \"%s\", not \"%s\": left alone\n",
				key, txn.current.kvs[0].value, me);
	else
		fprintf(out, "the leader key %s names \"%s\" but sits on lease %lld, which is not this node's (%s): left alone\n",
				key, me, (long long) txn.current.kvs[0].lease,
				lease ? "its lease file names another" :
				"no lease file of this data directory's own");
	rc = txn.succeeded ? PGHACTL_EXIT_OK : PGHACTL_EXIT_NOT_OURS;
	etcd_txn_result_free(&txn);
	return rc;
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
	rc = guarded_delete(st, client, "initialize", "", &deleted, &present,
						value, sizeof(value), key, sizeof(key));
	pghactl_client_done(client);
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
