/*-------------------------------------------------------------------------
 *
 * api_etcd.c
 *	  The api worker's reads of the cluster's keys (GET /cluster, /history,
 *	  /config) and its one write (PATCH/PUT /config, a compare-and-swap on
 *	  the config key's mod_revision).
 *
 * Its own etcd client, built from the same pgha.etcd_* settings as the
 * keeper's; reads are cached for API_ETCD_CACHE_MS, so that a flood of
 * requests makes at most one range request a second.  Every request is
 * bounded (1 s connect, 2 s in all): a dead etcd delays an api answer, never
 * the keeper.
 *
 *-------------------------------------------------------------------------
 */
#include "api.h"

#include "utils/memutils.h"

#include "etcd_client.h"

static EtcdClient *client = NULL;
static char prefix[PGHA_URL_LEN];
static char problem[PGHA_ERR_LEN];

/* the cache: one range over the prefix */
static int64 cached_at_ms = 0;
static EtcdKVList cached;
static bool have_cached = false;

static char *
read_password(void)
{
	if (pgha_etcd_password[0] != '\0')
		return pstrdup(pgha_etcd_password);
	if (pgha_etcd_password_file[0] == '\0')
		return NULL;
	return pgha_read_password_file(pgha_etcd_password_file, problem, sizeof(problem));
}

static void
drop_cache(void)
{
	if (have_cached)
		etcd_kvlist_free(&cached);
	have_cached = false;
	cached_at_ms = 0;
}

void
api_etcd_close(void)
{
	drop_cache();
	if (client)
		etcd_client_free(client);
	client = NULL;
}

/* (re)build the client from the settings; at start and on SIGHUP */
void
api_etcd_configure(void)
{
	EtcdClientConfig cc;
	EtcdError	err;
	char	   *password;

	api_etcd_close();
	problem[0] = '\0';
	if (pgha_scope[0] == '\0' || pgha_etcd_endpoints[0] == '\0')
	{
		snprintf(problem, sizeof(problem), "pgha.scope or pgha.etcd_endpoints is not set");
		return;
	}
	if (!pgha_cluster_prefix(pgha_namespace, pgha_scope, prefix, sizeof(prefix)))
	{
		snprintf(problem, sizeof(problem), "pgha.namespace and pgha.scope make a key prefix that is too long");
		return;
	}
	password = read_password();
	if (problem[0] != '\0')
		return;
	pgha_etcd_config_from_gucs(&cc, password, 2000);
	client = etcd_client_new(&cc, &err);
	if (password)
	{
		explicit_bzero(password, strlen(password));
		pfree(password);
	}
	if (client == NULL)
		snprintf(problem, sizeof(problem), "could not set up the etcd client: %s", err.message);
}

static const char *
value_of(const EtcdKVList *l, const char *name, int64 *mod_revision)
{
	char		key[PGHA_URL_LEN + 32];
	const EtcdKV *kv;

	snprintf(key, sizeof(key), "%s%s", prefix, name);
	kv = etcd_kvlist_find(l, key);
	if (mod_revision)
		*mod_revision = kv ? kv->mod_revision : 0;
	return kv ? kv->value : NULL;
}

void
api_etcd_read(bool fresh, ApiEtcdRead *out)
{
	int64		now = etcd_now_ms();
	const char *v;

	memset(out, 0, sizeof(*out));
	if (client == NULL)
	{
		snprintf(out->error, sizeof(out->error), "%s", problem[0] ? problem : "no etcd client");
		return;
	}
	if (fresh || !have_cached || now - cached_at_ms >= API_ETCD_CACHE_MS)
	{
		EtcdKVList	l;
		EtcdError	err;

		etcd_client_set_deadline(client, now + 2000);
		if (etcd_get_prefix(client, prefix, &l, &err) != ETCD_OK)
		{
			etcd_client_set_deadline(client, 0);
			snprintf(out->error, sizeof(out->error), "etcd request failed (%s): %s",
					 etcd_status_name(err.status), err.message);
			return;
		}
		etcd_client_set_deadline(client, 0);
		drop_cache();
		cached = l;
		have_cached = true;
		cached_at_ms = now;
	}
	out->cluster = palloc0(sizeof(PghaCluster));
	pgha_cluster_from_kvs(prefix, &cached, out->cluster);
	v = value_of(&cached, "config", &out->config_mod_revision);
	out->config_json = v ? pstrdup(v) : NULL;
	v = value_of(&cached, "history", NULL);
	out->history_json = v ? pstrdup(v) : NULL;
	out->ok = true;
}

int
api_etcd_cas_config(const char *json, int64 mod_revision, char *errbuf,
					size_t errlen)
{
	char		key[PGHA_URL_LEN + 32];
	EtcdTxnResult res;
	EtcdError	err;
	EtcdStatus	st;

	if (client == NULL)
	{
		snprintf(errbuf, errlen, "%s", problem[0] ? problem : "no etcd client");
		return 503;
	}
	snprintf(key, sizeof(key), "%sconfig", prefix);
	etcd_client_set_deadline(client, etcd_now_ms() + 2000);
	st = etcd_cas_mod(client, key, mod_revision, json, 0, &res, &err);
	etcd_client_set_deadline(client, 0);
	drop_cache();
	if (st != ETCD_OK)
	{
		snprintf(errbuf, errlen, "etcd request failed (%s): %s",
				 etcd_status_name(err.status), err.message);
		return 503;
	}
	if (!res.succeeded)
	{
		etcd_txn_result_free(&res);
		snprintf(errbuf, errlen, "the config key was changed meanwhile");
		return 409;
	}
	etcd_txn_result_free(&res);
	return 200;
}
