/*-------------------------------------------------------------------------
 *
 * fuzz_cluster_json.c
 *	  libFuzzer target: the decoders of the cluster model (cluster.h) and
 *	  the other text parsers that read what etcd or postgres hand us.
 *
 * Input layout: the first byte is a selector, the rest is the text.  The
 * selector picks (modulo 8) the key under which the text is given to
 * pgha_cluster_from_kvs as a one-kv range answer ("leader", "members/x",
 * "config", "initialize", "status", "history", "failover", "sync"); the
 * model then goes through the leader's synchronous-mode plan, with the
 * standbys it names as peers; and, through
 * its high bits, the size of the error buffer and of the history arrays
 * (all heap-allocated at exactly that size, so that AddressSanitizer sees
 * any write past them).  The text, as a NUL-terminated copy, then goes to
 * every decoder: member, config, status, failover, sync, history, config pause,
 * config editing, pg_controldata output and ISO 8601 times.
 *
 * Build and run: make fuzz-run (see README.md, "Fuzzing").
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "config_edit.h"
#include "isotime.h"
#include "node_plan.h"
#include "pg_params.h"
#include "sync_plan.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PREFIX "/service/fuzz/"

static const char *const kv_names[] = {
	"leader", "members/x", "config", "initialize", "status", "history",
	"failover", "sync"
};

#define NKV_NAMES	((int) (sizeof(kv_names) / sizeof(kv_names[0])))

static const size_t err_sizes[] = {PGHA_ERR_LEN, 1, 16, 256};
static const int hist_sizes[] = {8, 1, 0, 3};

/* the leader's plan over the model, its members and sync standbys as peers */
static void
fuzz_sync_plan(PghaCluster *cl)
{
	PghaSyncPeer peers[PGHA_MAX_SYNC + 2];
	PghaSyncPlan plan;
	int			n = 0;
	char		ssn[PGHA_MAX_SYNC * (PGHA_NAME_LEN * 2 + 4) + 32];
	char		conf[sizeof(ssn) * 2 + 128];

	memset(peers, 0, sizeof(peers));
	for (int i = 0; i < cl->sync.nmembers && n < PGHA_MAX_SYNC; i++, n++)
	{
		memcpy(peers[n].name, cl->sync.members[i], PGHA_NAME_LEN);
		peers[n].streaming = true;
		peers[n].named = (i & 1) != 0;
		peers[n].caught_up = (i & 2) != 0;
		peers[n].flush = i * 1000;
	}
	if (cl->nmembers > 0)
	{
		memcpy(peers[n].name, cl->members[0].name, PGHA_NAME_LEN);
		peers[n++].streaming = true;
	}
	cl->config.synchronous_mode = cl->sync.nmembers % 3;
	cl->config.synchronous_node_count = cl->sync.nmembers + 1;
	pgha_sync_plan(cl, cl->sync.leader[0] ? cl->sync.leader : "x", peers, n, &plan);
	if (pgha_sync_standby_names(&plan, ssn, sizeof(ssn)))
		(void) pgha_sync_conf_text(ssn, conf, sizeof(conf));
	(void) pgha_sync_may_promote(cl, cl->sync.leader);
}

/*
 * The text as the value of one key of the cluster prefix.
 */
static void
fuzz_from_kvs(const char *name, const uint8_t *text, size_t len)
{
	EtcdKV		kv;
	EtcdKVList	kvs;
	PghaCluster *cl;
	char		key[64];
	int64_t		lsn;

	snprintf(key, sizeof(key), "%s%s", FUZZ_PREFIX, name);
	memset(&kv, 0, sizeof(kv));
	kv.key = key;
	kv.value = malloc(len + 1);
	if (kv.value == NULL)
		return;
	if (len > 0)
		memcpy(kv.value, text, len);
	kv.value[len] = '\0';
	kv.value_len = len;			/* may hide NUL bytes, as etcd allows */
	kv.create_revision = 5;
	kv.mod_revision = 7;
	kv.version = 1;
	kv.lease = 6770214326162497814LL;

	kvs.kvs = &kv;
	kvs.count = 1;
	kvs.revision = 9;

	cl = malloc(sizeof(PghaCluster));
	if (cl != NULL)
	{
		pgha_cluster_from_kvs(FUZZ_PREFIX, &kvs, cl);
		if (cl->nmembers > 0)
		{
			(void) pgha_cluster_find_member(cl, cl->members[0].name);
			(void) pgha_member_display_role(cl, &cl->members[0]);
			(void) pgha_member_lag_bytes(cl, &cl->members[0]);
		}
		(void) pgha_cluster_timeline_end(cl, cl->history_last_timeline, &lsn);
		fuzz_sync_plan(cl);
		free(cl);
	}
	free(kv.value);
}

/*
 * The text through every decoder; errbuf is exactly errlen bytes.
 */
static void
fuzz_decoders(const char *text, char *errbuf, size_t errlen, int hmax)
{
	PghaMember	member;
	PghaDynConfig cfg;
	PghaFailover failover;
	PghaControlData cd;
	PghaTimestamp ts;
	PghaHistoryEntry *entries;
	int		   *tl;
	int64_t    *lsn;
	int64_t		optime;
	int64_t		i64;
	int			last_tl;
	int			port;
	uint64_t	u64;
	char		host[PGHA_URL_LEN];
	char	   *s;
	PghaSyncState sync;
	char		conf[256];

	memset(&member, 0, sizeof(member));
	if (pgha_member_from_json(text, &member, errbuf, errlen))
	{
		s = pgha_member_to_json(&member);
		free(s);
		(void) pgha_conn_url_host_port(member.conn_url, host, sizeof(host),
									   &port);
	}

	memset(&cfg, 0, sizeof(cfg));
	if (pgha_config_from_json(text, &cfg, errbuf, errlen))
	{
		s = pgha_config_to_json(&cfg);
		free(s);
	}

	(void) pgha_status_from_json(text, &optime, errbuf, errlen);

	memset(&failover, 0, sizeof(failover));
	if (pgha_failover_from_json(text, &failover, errbuf, errlen))
	{
		s = pgha_failover_to_json(&failover);
		free(s);
		if (failover.scheduled_at[0] != '\0')
			(void) pgha_parse_isotime(failover.scheduled_at, &ts,
									  errbuf, errlen);
	}

	/* the config key's postgresql.parameters, as every keeper applies them */
	{
		PghaParams *params = malloc(sizeof(PghaParams));
		char		refused[512];

		if (params != NULL &&
			pgha_params_from_config(text, params, refused, sizeof(refused),
									errbuf, errlen))
		{
			char	   *conf_text = malloc(65536);

			if (conf_text != NULL)
				(void) pgha_params_conf_text(params, conf_text, 65536);
			free(conf_text);
		}
		free(params);
		(void) pgha_config_validate(text, errbuf, errlen);
	}

	s = pgha_config_set_pause(text, true, errbuf, errlen);
	free(s);
	s = pgha_config_set_pause(text, false, errbuf, errlen);
	free(s);

	(void) pgha_history_last_timeline(text, &last_tl, errbuf, errlen);
	entries = malloc(sizeof(PghaHistoryEntry) * (hmax > 0 ? hmax : 1));
	tl = malloc(sizeof(int) * (hmax > 0 ? hmax : 1));
	lsn = malloc(sizeof(int64_t) * (hmax > 0 ? hmax : 1));
	if (entries != NULL && tl != NULL && lsn != NULL)
	{
		(void) pgha_history_decode(text, entries, hmax, errbuf, errlen);
		(void) pgha_history_tail(text, tl, lsn, hmax);
	}
	free(entries);
	free(tl);
	free(lsn);
	s = pgha_history_append(text, 2, 67560272, "fuzz",
							"2026-11-23T23:48:53.124401+00:00", "pg1");
	free(s);

	(void) pgha_config_validate(text, errbuf, errlen);
	s = pgha_config_parse_object(text, errbuf, errlen);
	free(s);
	s = pgha_config_pretty(text);
	free(s);
	(void) pgha_config_same(text, "{\"ttl\":30}");

	(void) pgha_parse_controldata(text, &cd, errbuf, errlen);
	(void) pgha_parse_isotime(text, &ts, errbuf, errlen);
	(void) pgha_parse_lsn(text, &u64);
	(void) pgha_parse_int64_text(text, &i64);
	(void) pgha_conn_url_host_port(text, host, sizeof(host), &port);

	if (pgha_sync_from_json(text, &sync, errbuf, errlen))
	{
		s = pgha_sync_to_json(&sync);
		free(s);
	}
	(void) pgha_sync_conf_text(text, conf, sizeof(conf));
	(void) pgha_sync_conf_text(text, conf, 8);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t		sel;
	const uint8_t *text;
	size_t		len;
	char	   *cstr;
	char	   *errbuf;
	size_t		errlen;

	if (size == 0)
		return 0;
	sel = data[0];
	text = data + 1;
	len = size - 1;

	fuzz_from_kvs(kv_names[sel % NKV_NAMES], text, len);

	errlen = err_sizes[(sel >> 4) & 3];
	errbuf = malloc(errlen);
	cstr = malloc(len + 1);
	if (errbuf != NULL && cstr != NULL)
	{
		if (len > 0)
			memcpy(cstr, text, len);
		cstr[len] = '\0';
		fuzz_decoders(cstr, errbuf, errlen, hist_sizes[(sel >> 6) & 3]);
	}
	free(cstr);
	free(errbuf);

	return 0;
}
