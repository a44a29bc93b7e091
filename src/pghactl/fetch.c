/*-------------------------------------------------------------------------
 *
 * fetch.c
 *	  pghactl's way to etcd: the client, the cluster's key prefix, and the
 *	  read of every key under that prefix.
 *
 * Failures are turned into one line on stderr that names the endpoints and
 * etcd's or libcurl's reason, and into the exit status the caller returns:
 * an operator (or the watchdog script) must be able to tell "etcd is
 * unreachable" from "this cluster does not exist" from "my settings are
 * wrong".
 *
 *-------------------------------------------------------------------------
 */
#include "pghactl.h"

#include <stdio.h>
#include <string.h>

#include "settings.h"

/* the configured endpoints, normalised to "a, b" for messages */
static void
endpoint_list(const PghactlSettings *st, char *buf, size_t len)
{
	char		eps[PGHA_MAX_ENDPOINTS][128];
	int			n = pgha_split_endpoints(pghactl_conf_get(st, PS_ENDPOINTS), eps,
										 PGHA_MAX_ENDPOINTS);
	size_t		used = 0;
	int			i;

	buf[0] = '\0';
	for (i = 0; i < n && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s", i ? ", " : "", eps[i]);
}

int
pghactl_report_etcd(const PghactlSettings *st, const EtcdError *err)
{
	char		eps[PGHA_MAX_ENDPOINTS * 130];

	endpoint_list(st, eps, sizeof(eps));
	switch (err->status)
	{
		case ETCD_ERR_UNAVAILABLE:
		case ETCD_ERR_TIMEOUT:
			fprintf(stderr, "pghactl: cannot reach etcd at %s: %s\n",
					eps, err->message);
			return PGHACTL_EXIT_ETCD;
		case ETCD_ERR_CONFIG:
			fprintf(stderr, "pghactl: bad etcd client settings: %s\n",
					err->message);
			return PGHACTL_EXIT_USAGE;
		default:
			fprintf(stderr, "pghactl: etcd error at %s: %s (%s)\n",
					err->endpoint[0] ? err->endpoint : eps, err->message,
					etcd_status_name(err->status));
			return PGHACTL_EXIT_ETCD;
	}
}

int
pghactl_prefix(const PghactlSettings *st, char *prefix, size_t prefixlen)
{
	if (!pgha_cluster_prefix(pghactl_conf_get(st, PS_NAMESPACE),
							 pghactl_conf_get(st, PS_SCOPE), prefix, prefixlen))
	{
		fprintf(stderr, "pghactl: the key prefix for namespace \"%s\" and scope \"%s\" is too long\n",
				pghactl_conf_get(st, PS_NAMESPACE), pghactl_conf_get(st, PS_SCOPE));
		return PGHACTL_EXIT_USAGE;
	}
	return PGHACTL_EXIT_OK;
}

/* the one client pghactl_keep_client() asked for, once made */
static bool keep_client = false;
static EtcdClient *kept_client = NULL;

void
pghactl_keep_client(void)
{
	keep_client = true;
}

void
pghactl_client_done(EtcdClient *client)
{
	if (client != NULL && client != kept_client)
		etcd_client_free(client);
}

EtcdClient *
pghactl_client(const PghactlSettings *st, int *rc)
{
	EtcdClientConfig cfg;
	EtcdClient *client;
	EtcdError	err;

	if (kept_client != NULL)
	{
		*rc = PGHACTL_EXIT_OK;
		return kept_client;
	}

	memset(&cfg, 0, sizeof(cfg));
	memset(&err, 0, sizeof(err));
	cfg.endpoints = pghactl_conf_get(st, PS_ENDPOINTS);
	cfg.cacert = pghactl_conf_get(st, PS_CACERT);
	cfg.cert = pghactl_conf_get(st, PS_CERT);
	cfg.key = pghactl_conf_get(st, PS_KEY);
	cfg.username = pghactl_conf_get(st, PS_USERNAME);
	cfg.password = pghactl_conf_get(st, PS_PASSWORD);
	cfg.connect_timeout_ms = PGHACTL_CONNECT_TIMEOUT_MS;
	cfg.request_timeout_ms = PGHACTL_REQUEST_TIMEOUT_MS;

	client = etcd_client_new(&cfg, &err);
	*rc = client ? PGHACTL_EXIT_OK : pghactl_report_etcd(st, &err);
	if (keep_client)
		kept_client = client;
	return client;
}

int
pghactl_fetch_cluster(const PghactlSettings *st, EtcdKVList *kvs,
					  char *prefix, size_t prefixlen)
{
	EtcdClient *client;
	EtcdError	err;
	EtcdStatus	status;
	int			rc;

	memset(kvs, 0, sizeof(*kvs));
	if ((rc = pghactl_prefix(st, prefix, prefixlen)) != PGHACTL_EXIT_OK)
		return rc;
	client = pghactl_client(st, &rc);
	if (client == NULL)
		return rc;
	status = etcd_get_prefix(client, prefix, kvs, &err);
	pghactl_client_done(client);
	if (status != ETCD_OK)
	{
		etcd_kvlist_free(kvs);
		return pghactl_report_etcd(st, &err);
	}
	if (kvs->count == 0)
	{
		etcd_kvlist_free(kvs);
		fprintf(stderr, "pghactl: cluster \"%s\" not found: no keys under %s in etcd\n",
				pghactl_conf_get(st, PS_SCOPE), prefix);
		return PGHACTL_EXIT_NOT_FOUND;
	}
	return PGHACTL_EXIT_OK;
}
