/*-------------------------------------------------------------------------
 *
 * cmd_config.c
 *	  pghactl show-config: the cluster's dynamic configuration.
 *
 * Prints the "config" key as indented JSON, keeping every key Patroni or
 * an operator put there (postgresql.parameters, ...), not only the ones
 * pgha models: the point is to see what is stored.  patronictl prints the
 * same data as YAML.
 *
 *-------------------------------------------------------------------------
 */
#include "pghactl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgha_json.h"

int
pghactl_cmd_show_config(const PghactlSettings *st)
{
	EtcdKVList	kvs;
	char		prefix[PGHACTL_PREFIX_LEN];
	char		key[PGHACTL_PREFIX_LEN + 8];
	const EtcdKV *kv;
	json_t	   *root;
	json_error_t jerr;
	char	   *text;
	int			rc;

	rc = pghactl_fetch_cluster(st, &kvs, prefix, sizeof(prefix));
	if (rc != PGHACTL_EXIT_OK)
		return rc;

	snprintf(key, sizeof(key), "%sconfig", prefix);
	kv = etcd_kvlist_find(&kvs, key);
	if (kv == NULL)
	{
		fprintf(stderr, "pghactl: cluster \"%s\" has no config key (%s)\n",
				pghactl_conf_get(st, PS_SCOPE), key);
		etcd_kvlist_free(&kvs);
		return PGHACTL_EXIT_NOT_FOUND;
	}

	/* by length, so that a NUL inside the value is an error, not an end */
	root = json_loadb(kv->value, kv->value_len, JSON_DECODE_ANY, &jerr);
	if (root == NULL)
	{
		fprintf(stderr, "pghactl: the config key %s is not valid JSON: %s (at byte %d)\n",
				key, jerr.text, jerr.position);
		etcd_kvlist_free(&kvs);
		return PGHACTL_EXIT_ETCD;
	}
	etcd_kvlist_free(&kvs);

	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	json_decref(root);
	if (text == NULL)
	{
		fprintf(stderr, "pghactl: out of memory\n");
		return PGHACTL_EXIT_ETCD;
	}
	printf("%s\n", text);
	free(text);
	fflush(stdout);
	return PGHACTL_EXIT_OK;
}
