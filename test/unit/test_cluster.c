/*-------------------------------------------------------------------------
 *
 * test_cluster.c
 *	  Unit tests of the cluster model (src/common/model/cluster.c).
 *
 * The fixtures are the exact values a Patroni 3.0.2 cluster wrote to etcd
 * (../shared/PATRONI-OBSERVED.md): pgha must encode the same bytes and
 * decode them into the same view patronictl shows.  The second half feeds
 * the decoders hostile input, ending with a deterministic mutation fuzz
 * loop (fixed seed) whose only assertions are "no crash, no leak" (run it
 * under valgrind) and "whatever decodes re-encodes and decodes the same".
 *
 *-------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

/* values recorded from Patroni 3.0.2 */
#define P_CONFIG "{\"ttl\":30,\"loop_wait\":10,\"retry_timeout\":10,\"maximum_lag_on_failover\":1048576,\"postgresql\":{\"use_pg_rewind\":true,\"use_slots\":true,\"parameters\":{\"wal_level\":\"replica\",\"hot_standby\":\"on\",\"wal_log_hints\":\"on\",\"max_wal_senders\":10,\"max_replication_slots\":10,\"wal_keep_size\":\"256MB\"}}}"
#define P_HISTORY "[[1,67560272,\"no recovery target specified\",\"2026-11-23T23:48:53.124401+00:00\",\"pg2\"]]"
#define P_PG1 "{\"conn_url\":\"postgres://127.0.0.1:5441/postgres\",\"api_url\":\"http://127.0.0.1:8008/patroni\",\"state\":\"running\",\"role\":\"replica\",\"version\":\"3.0.2\",\"xlog_location\":67712040,\"timeline\":2}"
#define P_PG2 "{\"conn_url\":\"postgres://127.0.0.1:5442/postgres\",\"api_url\":\"http://127.0.0.1:8009/patroni\",\"state\":\"running\",\"role\":\"master\",\"version\":\"3.0.2\",\"xlog_location\":67712040,\"timeline\":2}"
#define P_PG3 "{\"conn_url\":\"postgres://127.0.0.1:5443/postgres\",\"api_url\":\"http://127.0.0.1:8010/patroni\",\"state\":\"running\",\"role\":\"replica\",\"version\":\"3.0.2\",\"xlog_location\":67712040,\"timeline\":2}"
#define P_STATUS "{\"optime\":67712040}"
/* from the switchover watch */
#define P_PG2_MASTER_NOPOS "{\"conn_url\":\"postgres://127.0.0.1:5442/postgres\",\"api_url\":\"http://127.0.0.1:8009/patroni\",\"state\":\"running\",\"role\":\"master\",\"version\":\"3.0.2\"}"
#define P_PG2_DEMOTED "{\"conn_url\":\"postgres://127.0.0.1:5442/postgres\",\"api_url\":\"http://127.0.0.1:8009/patroni\",\"state\":\"stopped\",\"role\":\"demoted\",\"version\":\"3.0.2\"}"
#define P_PG3_CAP "{\"conn_url\":\"postgres://127.0.0.1:5443/postgres\",\"api_url\":\"http://127.0.0.1:8010/patroni\",\"state\":\"running\",\"role\":\"promoted\",\"version\":\"3.0.2\",\"checkpoint_after_promote\":false,\"xlog_location\":320380968,\"timeline\":35}"
#define P_FAILOVER "{\"leader\":\"pg2\",\"member\":\"pg3\"}"
#define P_SYNC "{\"leader\":\"pg3\",\"sync_standby\":\"pg1\"}"

#define PREFIX "/service/anchor/"

static EtcdKV
kv(const char *key, const char *value, int64_t mod_rev, int64_t lease)
{
	EtcdKV		k;

	memset(&k, 0, sizeof(k));
	k.key = (char *) key;
	k.value = (char *) value;
	k.value_len = strlen(value);
	k.create_revision = 1;
	k.mod_revision = mod_rev;
	k.version = 1;
	k.lease = lease;
	return k;
}

/* the whole range of PATRONI-OBSERVED.md, in etcd's key order */
static int
observed_kvs(EtcdKV *kvs)
{
	int			n = 0;

	kvs[n++] = kv(PREFIX "config", P_CONFIG, 7, 0);
	kvs[n++] = kv(PREFIX "failover", "{}", 45, 0);
	kvs[n++] = kv(PREFIX "history", P_HISTORY, 49, 0);
	kvs[n++] = kv(PREFIX "initialize", "7711517793368109282", 6, 0);
	kvs[n++] = kv(PREFIX "leader", "pg2", 44, INT64_C(8684525623755398929));
	kvs[n++] = kv(PREFIX "members/pg1", P_PG1, 59, INT64_C(8684525623755398918));
	kvs[n++] = kv(PREFIX "members/pg2", P_PG2, 60, INT64_C(8684525623755398929));
	kvs[n++] = kv(PREFIX "members/pg3", P_PG3, 61, INT64_C(8684525623755398932));
	kvs[n++] = kv(PREFIX "status", P_STATUS, 58, 0);
	return n;
}

static void
load(EtcdKV *kvs, int n, int64_t revision, PghaCluster *cl)
{
	EtcdKVList	l;

	l.kvs = kvs;
	l.count = n;
	l.revision = revision;
	pgha_cluster_from_kvs(PREFIX, &l, cl);
}

static void
assert_json(char *got, const char *want)
{
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
member_init(PghaMember *m, const char *name)
{
	memset(m, 0, sizeof(*m));
	strcpy(m->name, name);
	m->xlog_location = -1;
	m->failover_priority = 1;
}

static void
member_equal(const PghaMember *a, const PghaMember *b)
{
	assert_string_equal(a->conn_url, b->conn_url);
	assert_string_equal(a->api_url, b->api_url);
	assert_string_equal(a->state, b->state);
	assert_string_equal(a->role, b->role);
	assert_string_equal(a->version, b->version);
	assert_int_equal(a->xlog_location, b->xlog_location);
	assert_int_equal(a->timeline, b->timeline);
	assert_int_equal(a->nofailover, b->nofailover);
	assert_int_equal(a->nosync, b->nosync);
	assert_int_equal(a->failover_priority, b->failover_priority);
}

/* ---- members ---- */

static void
test_member_encode_patroni(void **state)
{
	PghaMember	m;

	member_init(&m, "pg1");
	strcpy(m.conn_url, "postgres://127.0.0.1:5441/postgres");
	strcpy(m.api_url, "http://127.0.0.1:8008/patroni");
	strcpy(m.state, "running");
	strcpy(m.role, "replica");
	strcpy(m.version, "3.0.2");
	m.xlog_location = 67712040;
	m.timeline = 2;
	m.lease = 12345;			/* not part of the JSON */
	assert_json(pgha_member_to_json(&m), P_PG1);

	strcpy(m.conn_url, "postgres://127.0.0.1:5442/postgres");
	strcpy(m.api_url, "http://127.0.0.1:8009/patroni");
	strcpy(m.role, "master");
	assert_json(pgha_member_to_json(&m), P_PG2);

	/* position unknown: both fields omitted, as Patroni does */
	m.xlog_location = -1;
	m.timeline = 0;
	assert_json(pgha_member_to_json(&m), P_PG2_MASTER_NOPOS);
	strcpy(m.state, "stopped");
	strcpy(m.role, "demoted");
	assert_json(pgha_member_to_json(&m), P_PG2_DEMOTED);
}

static void
test_member_encode_optional(void **state)
{
	PghaMember	m;

	member_init(&m, "n");
	strcpy(m.conn_url, "postgres://h:5432/postgres");
	strcpy(m.state, "running");
	strcpy(m.role, "replica");
	strcpy(m.version, "1.0.0");
	m.xlog_location = 0;		/* 0 is a position, not "absent" */
	m.timeline = 1;
	assert_json(pgha_member_to_json(&m),
				"{\"conn_url\":\"postgres://h:5432/postgres\",\"state\":\"running\",\"role\":\"replica\",\"version\":\"1.0.0\",\"xlog_location\":0,\"timeline\":1}");

	/* tags come before the position, as in Patroni's touch_member() */
	m.nofailover = true;
	assert_json(pgha_member_to_json(&m),
				"{\"conn_url\":\"postgres://h:5432/postgres\",\"state\":\"running\",\"role\":\"replica\",\"version\":\"1.0.0\",\"tags\":{\"nofailover\":true},\"xlog_location\":0,\"timeline\":1}");
	m.nosync = true;
	m.failover_priority = 0;
	assert_json(pgha_member_to_json(&m),
				"{\"conn_url\":\"postgres://h:5432/postgres\",\"state\":\"running\",\"role\":\"replica\",\"version\":\"1.0.0\",\"tags\":{\"nofailover\":true,\"nosync\":true,\"failover_priority\":0},\"xlog_location\":0,\"timeline\":1}");
	m.nofailover = m.nosync = false;
	m.failover_priority = 7;
	m.xlog_location = -1;
	m.timeline = 0;
	assert_json(pgha_member_to_json(&m),
				"{\"conn_url\":\"postgres://h:5432/postgres\",\"state\":\"running\",\"role\":\"replica\",\"version\":\"1.0.0\",\"tags\":{\"failover_priority\":7}}");

	/* a paused member says so last, as Patroni's touch_member(); read back */
	m.pause = true;
	assert_json(pgha_member_to_json(&m),
				"{\"conn_url\":\"postgres://h:5432/postgres\",\"state\":\"running\",\"role\":\"replica\",\"version\":\"1.0.0\",\"tags\":{\"failover_priority\":7},\"pause\":true}");
	{
		PghaMember	back;
		char		err[256];
		char	   *js = pgha_member_to_json(&m);

		assert_true(pgha_member_from_json(js, &back, err, sizeof(err)));
		free(js);
		assert_true(back.pause);
		assert_true(pgha_member_from_json("{\"pause\":false}", &back, err, sizeof(err)));
		assert_false(back.pause);
	}

	/* Python's json.dumps escapes non-ASCII and leaves '/' alone */
	member_init(&m, "n");
	strcpy(m.state, "caf\xc3\xa9\t\"x\"");
	assert_json(pgha_member_to_json(&m),
				"{\"conn_url\":\"\",\"state\":\"caf\\u00e9\\t\\\"x\\\"\",\"role\":\"\",\"version\":\"\"}");

	/* invalid UTF-8 cannot be encoded: NULL, no crash */
	strcpy(m.state, "\xff\xfe");
	assert_null(pgha_member_to_json(&m));
}

static void
test_member_decode_patroni(void **state)
{
	PghaMember	m;
	char		err[PGHA_ERR_LEN];
	const char *values[] = {P_PG1, P_PG2, P_PG3, P_PG2_MASTER_NOPOS, P_PG2_DEMOTED};
	size_t		i;

	member_init(&m, "pg1");
	m.lease = 99;
	assert_true(pgha_member_from_json(P_PG1, &m, err, sizeof(err)));
	assert_string_equal(m.name, "pg1");
	assert_int_equal(m.lease, 99);
	assert_string_equal(m.conn_url, "postgres://127.0.0.1:5441/postgres");
	assert_string_equal(m.api_url, "http://127.0.0.1:8008/patroni");
	assert_string_equal(m.state, "running");
	assert_string_equal(m.role, "replica");
	assert_string_equal(m.version, "3.0.2");
	assert_int_equal(m.xlog_location, 67712040);
	assert_int_equal(m.timeline, 2);
	assert_false(m.nofailover);
	assert_false(m.nosync);
	assert_int_equal(m.failover_priority, 1);

	/* every recorded value survives decode + encode byte for byte */
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++)
	{
		member_init(&m, "x");
		assert_true(pgha_member_from_json(values[i], &m, err, sizeof(err)));
		assert_json(pgha_member_to_json(&m), values[i]);
	}

	/* unknown fields (checkpoint_after_promote) are ignored */
	member_init(&m, "pg3");
	assert_true(pgha_member_from_json(P_PG3_CAP, &m, err, sizeof(err)));
	assert_string_equal(m.role, "promoted");
	assert_int_equal(m.xlog_location, 320380968);
	assert_int_equal(m.timeline, 35);

	/* absent position resets what the struct held before */
	m.xlog_location = 5;
	m.timeline = 5;
	assert_true(pgha_member_from_json(P_PG2_DEMOTED, &m, err, sizeof(err)));
	assert_int_equal(m.xlog_location, -1);
	assert_int_equal(m.timeline, 0);
	assert_string_equal(m.state, "stopped");
}

static void
test_member_decode_lenient(void **state)
{
	PghaMember	m;
	char		err[PGHA_ERR_LEN];

	member_init(&m, "a");
	assert_true(pgha_member_from_json("{}", &m, err, sizeof(err)));
	assert_string_equal(m.conn_url, "");
	assert_int_equal(m.xlog_location, -1);
	assert_int_equal(m.failover_priority, 1);

	/* null counts as absent; unknown keys and nested junk are ignored */
	assert_true(pgha_member_from_json(
									  "{\"api_url\":null,\"xlog_location\":null,\"timeline\":null,\"x\":[1,{\"y\":2}],\"pending_restart\":true}",
									  &m, err, sizeof(err)));
	assert_string_equal(m.api_url, "");

	/* tags, as Patroni's YAML config may spell them */
	assert_true(pgha_member_from_json(
									  "{\"tags\":{\"nofailover\":\"on\",\"nosync\":1,\"failover_priority\":\"3\",\"clonefrom\":true}}",
									  &m, err, sizeof(err)));
	assert_true(m.nofailover);
	assert_true(m.nosync);
	assert_int_equal(m.failover_priority, 3);
	assert_true(pgha_member_from_json(
									  "{\"tags\":{\"nofailover\":false,\"nosync\":\"No\",\"failover_priority\":0}}",
									  &m, err, sizeof(err)));
	assert_false(m.nofailover);
	assert_false(m.nosync);
	assert_int_equal(m.failover_priority, 0);

	/* exactly the struct's capacity is fine */
	{
		char		json[600];
		char		url[PGHA_URL_LEN];

		memset(url, 'u', sizeof(url) - 1);
		url[sizeof(url) - 1] = '\0';
		snprintf(json, sizeof(json), "{\"conn_url\":\"%s\"}", url);
		assert_true(pgha_member_from_json(json, &m, err, sizeof(err)));
		assert_int_equal(strlen(m.conn_url), PGHA_URL_LEN - 1);
	}
}

static void
test_member_decode_hostile(void **state)
{
	static const char *const bad[] = {
		"", " ", "{", "}", "[]", "[{}]", "null", "42", "\"str\"", "true",
		"{\"conn_url\":",
		"{\"conn_url\":\"postgres://x\"",
		"{\"conn_url\":\"postgres://x\",}",
		"{'conn_url':'x'}",
		"{\"conn_url\":42}",
		"{\"conn_url\":[\"x\"]}",
		"{\"state\":{}}",
		"{\"role\":true}",
		"{\"version\":1.5}",
		"{\"xlog_location\":\"67712040\"}",
		"{\"xlog_location\":-1}",
		"{\"xlog_location\":1.5}",
		"{\"xlog_location\":1e30}",
		"{\"xlog_location\":99999999999999999999}",
		"{\"xlog_location\":true}",
		"{\"timeline\":\"2\"}",
		"{\"timeline\":-2}",
		"{\"timeline\":2147483648}",
		"{\"tags\":[]}",
		"{\"tags\":\"nofailover\"}",
		"{\"tags\":{\"nofailover\":\"maybe\"}}",
		"{\"tags\":{\"nosync\":[]}}",
		"{\"tags\":{\"failover_priority\":-1}}",
		"{\"tags\":{\"failover_priority\":\"high\"}}",
		"{\"state\":\"a\\u0000b\"}",
		"{\"state\":\"\\ud800\"}",
		"{\"state\":\"\xff\"}",
		"{} {}",
		"{\"a\":1}x",
	};
	PghaMember	m,
				before;
	char		err[PGHA_ERR_LEN];
	size_t		i;

	member_init(&m, "a");
	assert_true(pgha_member_from_json(P_PG1, &m, err, sizeof(err)));
	before = m;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		err[0] = '\0';
		if (pgha_member_from_json(bad[i], &m, err, sizeof(err)))
			fail_msg("accepted bad member value %s", bad[i]);
		assert_true(err[0] != '\0');
		/* a failed decode leaves the struct alone */
		member_equal(&m, &before);
	}

	/* deep nesting and a huge value: errors, not stack or heap trouble */
	{
		size_t		big = 1 << 20;
		char	   *deep = malloc(big + 1);
		char	   *huge = malloc(big + 32);

		assert_non_null(deep);
		assert_non_null(huge);
		memset(deep, '[', big);
		deep[big] = '\0';
		assert_false(pgha_member_from_json(deep, &m, err, sizeof(err)));
		memset(deep, '{', 1);
		memset(deep + 1, '[', big - 1);
		assert_false(pgha_config_from_json(deep, &(PghaDynConfig) {0}, err, sizeof(err)));
		strcpy(huge, "{\"conn_url\":\"");
		memset(huge + 13, 'x', big);
		strcpy(huge + 13 + big, "\"}");
		assert_false(pgha_member_from_json(huge, &m, err, sizeof(err)));
		assert_non_null(strstr(err, "longer than"));
		free(deep);
		free(huge);
		member_equal(&m, &before);
	}

	/* a NULL or tiny error buffer is tolerated */
	assert_false(pgha_member_from_json("[", &m, NULL, 0));
	assert_false(pgha_member_from_json("[", &m, err, 1));
	assert_string_equal(err, "");
	assert_false(pgha_member_from_json(NULL, &m, err, sizeof(err)));
}

static void
test_member_decode_overlong(void **state)
{
	static const struct
	{
		const char *field;
		size_t		cap;
	}			fields[] = {
		{"conn_url", PGHA_URL_LEN},
		{"api_url", PGHA_URL_LEN},
		{"state", PGHA_WORD_LEN},
		{"role", PGHA_WORD_LEN},
		{"version", PGHA_WORD_LEN},
	};
	char		json[2048];
	char		s[1024];
	PghaMember	m;
	char		err[PGHA_ERR_LEN];
	size_t		i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
	{
		memset(s, 'x', fields[i].cap);
		s[fields[i].cap] = '\0';	/* one byte too long */
		snprintf(json, sizeof(json), "{\"%s\":\"%s\"}", fields[i].field, s);
		member_init(&m, "a");
		assert_false(pgha_member_from_json(json, &m, err, sizeof(err)));
		assert_non_null(strstr(err, "longer than"));
		s[fields[i].cap - 1] = '\0';
		snprintf(json, sizeof(json), "{\"%s\":\"%s\"}", fields[i].field, s);
		assert_true(pgha_member_from_json(json, &m, err, sizeof(err)));
	}
	/* multi-byte characters count in bytes */
	snprintf(json, sizeof(json), "{\"state\":\"%s\"}",
			 "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9");
	assert_false(pgha_member_from_json(json, &m, err, sizeof(err)));
}

/* ---- config ---- */

static PghaDynConfig
defaults(void)
{
	PghaDynConfig c;

	c.ttl = 30;
	c.loop_wait = 10;
	c.retry_timeout = 10;
	c.maximum_lag_on_failover = 1048576;
	c.pause = false;
	return c;
}

static void
config_equal(const PghaDynConfig *a, const PghaDynConfig *b)
{
	assert_int_equal(a->ttl, b->ttl);
	assert_int_equal(a->loop_wait, b->loop_wait);
	assert_int_equal(a->retry_timeout, b->retry_timeout);
	assert_int_equal(a->maximum_lag_on_failover, b->maximum_lag_on_failover);
	assert_int_equal(a->pause, b->pause);
}

static void
test_config_encode(void **state)
{
	PghaDynConfig c = defaults();

	assert_json(pgha_config_to_json(&c),
				"{\"ttl\":30,\"loop_wait\":10,\"retry_timeout\":10,\"maximum_lag_on_failover\":1048576}");
	c.pause = true;
	c.ttl = 10;
	c.loop_wait = 2;
	c.retry_timeout = 3;
	c.maximum_lag_on_failover = INT64_C(9007199254740993);
	assert_json(pgha_config_to_json(&c),
				"{\"ttl\":10,\"loop_wait\":2,\"retry_timeout\":3,\"maximum_lag_on_failover\":9007199254740993,\"pause\":true}");
}

static void
test_config_decode(void **state)
{
	PghaDynConfig c = defaults();
	char		err[PGHA_ERR_LEN];
	char	   *json;

	c.ttl = 1;					/* must be overwritten */
	c.pause = true;
	assert_true(pgha_config_from_json(P_CONFIG, &c, err, sizeof(err)));
	assert_int_equal(c.ttl, 30);
	assert_int_equal(c.loop_wait, 10);
	assert_int_equal(c.retry_timeout, 10);
	assert_int_equal(c.maximum_lag_on_failover, 1048576);
	assert_false(c.pause);		/* absent pause is "not paused" */

	/* missing keys keep what was there */
	c.ttl = 77;
	assert_true(pgha_config_from_json("{\"loop_wait\":5}", &c, err, sizeof(err)));
	assert_int_equal(c.ttl, 77);
	assert_int_equal(c.loop_wait, 5);

	/* numeric strings, as Patroni's int() takes them */
	assert_true(pgha_config_from_json(
									  "{\"ttl\":\"20\",\"loop_wait\":\" 3 \",\"retry_timeout\":\"+4\",\"maximum_lag_on_failover\":\"0\"}",
									  &c, err, sizeof(err)));
	assert_int_equal(c.ttl, 20);
	assert_int_equal(c.loop_wait, 3);
	assert_int_equal(c.retry_timeout, 4);
	assert_int_equal(c.maximum_lag_on_failover, 0);

	/* pause: parse_bool() words */
	assert_true(pgha_config_from_json("{\"pause\":true}", &c, err, sizeof(err)));
	assert_true(c.pause);
	assert_true(pgha_config_from_json("{\"pause\":\"on\"}", &c, err, sizeof(err)));
	assert_true(c.pause);
	assert_true(pgha_config_from_json("{\"pause\":\"YES\"}", &c, err, sizeof(err)));
	assert_true(c.pause);
	assert_true(pgha_config_from_json("{\"pause\":1}", &c, err, sizeof(err)));
	assert_true(c.pause);
	assert_true(pgha_config_from_json("{\"pause\":false}", &c, err, sizeof(err)));
	assert_false(c.pause);
	c.pause = true;
	assert_true(pgha_config_from_json("{\"pause\":\"perhaps\"}", &c, err, sizeof(err)));
	assert_false(c.pause);
	c.pause = true;
	assert_true(pgha_config_from_json("{\"pause\":null}", &c, err, sizeof(err)));
	assert_false(c.pause);

	/* round trip */
	c = defaults();
	c.pause = true;
	c.ttl = 3600;
	json = pgha_config_to_json(&c);
	assert_non_null(json);
	{
		PghaDynConfig d = defaults();

		assert_true(pgha_config_from_json(json, &d, err, sizeof(err)));
		config_equal(&c, &d);
	}
	free(json);
}

static void
test_config_decode_hostile(void **state)
{
	static const char *const bad[] = {
		"", "[]", "30", "null", "{", "{\"ttl\":}",
		"{\"ttl\":1}", "{\"ttl\":3601}", "{\"ttl\":-30}",
		"{\"loop_wait\":0}", "{\"loop_wait\":3601}",
		"{\"retry_timeout\":0}", "{\"retry_timeout\":100000}",
		"{\"maximum_lag_on_failover\":-1}",
		"{\"maximum_lag_on_failover\":\"-1\"}",
		"{\"maximum_lag_on_failover\":99999999999999999999}",
		"{\"maximum_lag_on_failover\":\"99999999999999999999\"}",
		"{\"ttl\":\"30s\"}", "{\"ttl\":\"\"}", "{\"ttl\":\"  \"}", "{\"ttl\":\"3 0\"}",
		"{\"ttl\":30.5}", "{\"ttl\":true}", "{\"ttl\":[30]}", "{\"ttl\":{}}",
		"{\"ttl\":\"3\\u00000\"}",
		"{\"ttl\":2147483648}",
		"{\"ttl\":\"4294967326\"}",
	};
	PghaDynConfig c = defaults();
	PghaDynConfig before = c;
	char		err[PGHA_ERR_LEN];
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		err[0] = '\0';
		if (pgha_config_from_json(bad[i], &c, err, sizeof(err)))
			fail_msg("accepted bad config value %s", bad[i]);
		assert_true(err[0] != '\0');
		config_equal(&c, &before);
	}
	assert_false(pgha_config_from_json("{\"ttl\":1}", &c, err, sizeof(err)));
	assert_non_null(strstr(err, "out of range"));
}

/* ---- status ---- */

static void
test_status(void **state)
{
	static const char *const bad[] = {
		"", "{}", "[67712040]", "{\"optime\":-1}", "{\"optime\":1.5}",
		"{\"optime\":\"x\"}", "{\"optime\":null}", "{\"optime\":99999999999999999999}",
		"{\"optime\":true}",
	};
	int64_t		optime = 0;
	char		err[PGHA_ERR_LEN];
	size_t		i;

	assert_json(pgha_status_to_json(67712040), P_STATUS);
	assert_true(pgha_status_from_json(P_STATUS, &optime, err, sizeof(err)));
	assert_int_equal(optime, 67712040);
	assert_true(pgha_status_from_json("{\"optime\":\"42\",\"slots\":{\"pg1\":5}}",
									  &optime, err, sizeof(err)));
	assert_int_equal(optime, 42);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		optime = 7;
		if (pgha_status_from_json(bad[i], &optime, err, sizeof(err)))
			fail_msg("accepted bad status value %s", bad[i]);
		assert_int_equal(optime, 7);
	}
}

/* ---- helpers ---- */

static void
test_prefix(void **state)
{
	char		buf[256];
	char		small[8];
	char		longscope[300];

	assert_true(pgha_cluster_prefix("/service", "anchor", buf, sizeof(buf)));
	assert_string_equal(buf, "/service/anchor/");
	assert_true(pgha_cluster_prefix("/service/", "anchor", buf, sizeof(buf)));
	assert_string_equal(buf, "/service/anchor/");
	assert_true(pgha_cluster_prefix("service", "anchor", buf, sizeof(buf)));
	assert_string_equal(buf, "/service/anchor/");
	assert_true(pgha_cluster_prefix("/a//b/", "c", buf, sizeof(buf)));
	assert_string_equal(buf, "/a/b/c/");
	assert_true(pgha_cluster_prefix("/", "c", buf, sizeof(buf)));
	assert_string_equal(buf, "/c/");
	assert_true(pgha_cluster_prefix("", "c", buf, sizeof(buf)));
	assert_string_equal(buf, "/c/");
	assert_true(pgha_cluster_prefix(NULL, "c", buf, sizeof(buf)));
	assert_string_equal(buf, "/c/");

	assert_false(pgha_cluster_prefix("/service", "", buf, sizeof(buf)));
	assert_false(pgha_cluster_prefix("/service", NULL, buf, sizeof(buf)));
	assert_false(pgha_cluster_prefix("/service", "anchor", small, sizeof(small)));
	assert_true(pgha_cluster_prefix("/s", "abc", small, sizeof(small)));
	assert_string_equal(small, "/s/abc/");
	assert_false(pgha_cluster_prefix("/s", "abcd", small, sizeof(small)));
	memset(longscope, 'a', sizeof(longscope) - 1);
	longscope[sizeof(longscope) - 1] = '\0';
	assert_false(pgha_cluster_prefix("/service", longscope, buf, sizeof(buf)));
}

static void
test_conn_url(void **state)
{
	static const struct
	{
		const char *url;
		const char *host;
		int			port;
	}			good[] = {
		{"postgres://127.0.0.1:5441/postgres", "127.0.0.1", 5441},
		{"postgres://db1/postgres", "db1", 5432},
		{"postgresql://DB1.Example.COM:6000", "db1.example.com", 6000},
		{"postgres://user:pw@host:5433/x?sslmode=require", "host", 5433},
		{"postgres://a@b@host:1/", "host", 1},
		{"postgres://[::1]:5442/postgres", "::1", 5442},
		{"postgres://[fe80::1]/postgres", "fe80::1", 5432},
		{"postgres://h:/postgres", "h", 5432},
		{"postgres://h:0/postgres", "h", 5432},
		{"postgres://h#frag", "h", 5432},
	};
	static const char *const bad[] = {
		"", "127.0.0.1:5432", "postgres:/h:1", "://h:1", "postgres://",
		"postgres://:5432/x", "postgres://h:54x2/", "postgres://h:65536/",
		"postgres://h:1:2/", "postgres://[::1/", "postgres://[::1]x/",
		"postgres://user@/x", "1ab://h:1",
	};
	char		host[64];
	char		tiny[4];
	int			port;
	size_t		i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
	{
		port = -1;
		if (!pgha_conn_url_host_port(good[i].url, host, sizeof(host), &port))
			fail_msg("rejected %s", good[i].url);
		assert_string_equal(host, good[i].host);
		assert_int_equal(port, good[i].port);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pgha_conn_url_host_port(bad[i], host, sizeof(host), &port))
			fail_msg("accepted %s", bad[i]);
	assert_false(pgha_conn_url_host_port("postgres://abcd:1/", tiny, sizeof(tiny), &port));
	assert_true(pgha_conn_url_host_port("postgres://abc:1/", tiny, sizeof(tiny), NULL));
	assert_false(pgha_conn_url_host_port(NULL, host, sizeof(host), &port));
}

/* ---- the whole cluster ---- */

static void
test_cluster_observed(void **state)
{
	EtcdKV		kvs[16];
	int			n = observed_kvs(kvs);
	PghaCluster *cl = malloc(sizeof(PghaCluster));
	const PghaMember *pg1,
			   *pg2,
			   *pg3;

	load(kvs, n, 61, cl);
	assert_int_equal(cl->revision, 61);
	assert_true(cl->has_initialize);
	assert_string_equal(cl->initialize, "7711517793368109282");
	assert_true(cl->has_config);
	assert_true(cl->config_valid);
	assert_int_equal(cl->config.ttl, 30);
	assert_int_equal(cl->config.loop_wait, 10);
	assert_int_equal(cl->config.retry_timeout, 10);
	assert_int_equal(cl->config.maximum_lag_on_failover, 1048576);
	assert_false(cl->config.pause);
	assert_int_equal(cl->config_mod_revision, 7);
	assert_true(cl->has_leader);
	assert_string_equal(cl->leader, "pg2");
	assert_int_equal(cl->leader_lease, INT64_C(8684525623755398929));
	assert_int_equal(cl->leader_mod_revision, 44);
	assert_true(cl->has_optime);
	assert_int_equal(cl->optime, 67712040);
	assert_int_equal(cl->nmembers, 3);
	assert_int_equal(cl->nbad_members, 0);
	assert_string_equal(cl->last_decode_error, "");

	pg1 = pgha_cluster_find_member(cl, "pg1");
	pg2 = pgha_cluster_find_member(cl, "pg2");
	pg3 = pgha_cluster_find_member(cl, "pg3");
	assert_non_null(pg1);
	assert_non_null(pg2);
	assert_non_null(pg3);
	assert_null(pgha_cluster_find_member(cl, "pg4"));
	assert_null(pgha_cluster_find_member(cl, "pg"));
	assert_int_equal(pg1->lease, INT64_C(8684525623755398918));
	assert_int_equal(pg2->lease, INT64_C(8684525623755398929));
	assert_int_equal(pg3->lease, INT64_C(8684525623755398932));
	assert_string_equal(pg2->role, "master");
	assert_string_equal(pg3->conn_url, "postgres://127.0.0.1:5443/postgres");

	/* what patronictl list showed */
	assert_string_equal(pgha_member_display_role(cl, pg1), "Replica");
	assert_string_equal(pgha_member_display_role(cl, pg2), "Leader");
	assert_string_equal(pgha_member_display_role(cl, pg3), "Replica");
	assert_int_equal(pgha_member_lag_bytes(cl, pg1), 0);
	assert_int_equal(pgha_member_lag_bytes(cl, pg2), -1);
	assert_int_equal(pgha_member_lag_bytes(cl, pg3), 0);

	/* every member re-encodes to exactly what Patroni wrote */
	assert_json(pgha_member_to_json(pg1), P_PG1);
	assert_json(pgha_member_to_json(pg2), P_PG2);
	assert_json(pgha_member_to_json(pg3), P_PG3);
	free(cl);
}

static void
test_cluster_switchover_moment(void **state)
{
	EtcdKV		kvs[8];
	int			n = 0;
	PghaCluster *cl = malloc(sizeof(PghaCluster));
	const PghaMember *m;

	/* after DELETE leader, before pg3 took it */
	kvs[n++] = kv(PREFIX "failover", P_FAILOVER, 70, 0);
	kvs[n++] = kv(PREFIX "members/pg1", P_PG1, 71, 11);
	kvs[n++] = kv(PREFIX "members/pg2", P_PG2_DEMOTED, 72, 22);
	kvs[n++] = kv(PREFIX "members/pg3", P_PG3_CAP, 73, 33);
	kvs[n++] = kv(PREFIX "status", "{\"optime\":320381024}", 74, 0);
	kvs[n++] = kv(PREFIX "sync", P_SYNC, 75, 0);
	load(kvs, n, 80, cl);
	assert_false(cl->has_leader);
	assert_false(cl->has_config);
	assert_false(cl->has_initialize);
	assert_int_equal(cl->nmembers, 3);

	/* without a leader key everyone is a replica; own role fields don't count */
	m = pgha_cluster_find_member(cl, "pg2");
	assert_string_equal(pgha_member_display_role(cl, m), "Replica");
	assert_int_equal(pgha_member_lag_bytes(cl, m), -1);	/* no xlog_location */
	m = pgha_cluster_find_member(cl, "pg3");
	assert_string_equal(pgha_member_display_role(cl, m), "Replica");
	assert_int_equal(pgha_member_lag_bytes(cl, m), 320381024 - 320380968);
	m = pgha_cluster_find_member(cl, "pg1");
	assert_int_equal(pgha_member_lag_bytes(cl, m), 320381024 - 67712040);

	/* a member ahead of the optime has lag 0, not a negative lag */
	kvs[4] = kv(PREFIX "status", "{\"optime\":1000}", 74, 0);
	load(kvs, n, 80, cl);
	m = pgha_cluster_find_member(cl, "pg3");
	assert_int_equal(pgha_member_lag_bytes(cl, m), 0);

	/* no status key: patronictl uses an optime of 0, so the lag is 0 */
	kvs[4] = kv(PREFIX "other", "x", 74, 0);
	load(kvs, n, 80, cl);
	assert_false(cl->has_optime);
	m = pgha_cluster_find_member(cl, "pg3");
	assert_int_equal(pgha_member_lag_bytes(cl, m), 0);

	/*
	 * A leader key naming an absent member marks nobody leader; the sync
	 * key's standby shows as such whatever the leader key says, as in
	 * cluster_as_json().
	 */
	kvs[4] = kv(PREFIX "leader", "pg9", 90, 99);
	load(kvs, n, 80, cl);
	assert_true(cl->has_leader);
	for (n = 0; n < cl->nmembers; n++)
		assert_string_equal(pgha_member_display_role(cl, &cl->members[n]),
							strcmp(cl->members[n].name, "pg1") == 0 ?
							"Sync Standby" : "Replica");
	free(cl);
}

static void
test_cluster_hostile(void **state)
{
	EtcdKV		kvs[64];
	char		names[40][32];
	char		longname[PGHA_NAME_LEN + 32];
	char		longleader[PGHA_NAME_LEN + 1];
	char		nul_value[] = "{\"state\":\"x\"}\0abc";
	EtcdKVList	l;
	PghaCluster *cl = malloc(sizeof(PghaCluster));
	int			n = 0,
				i;

	snprintf(longname, sizeof(longname), PREFIX "members/%0*d", PGHA_NAME_LEN, 7);
	memset(longleader, 'L', PGHA_NAME_LEN);
	longleader[PGHA_NAME_LEN] = '\0';

	kvs[n++] = kv("/service/other/members/x", P_PG1, 1, 0); /* other cluster */
	kvs[n++] = kv("/service/anchor", "x", 1, 0);	/* not under the prefix */
	kvs[n++] = kv(PREFIX "members/", P_PG1, 1, 0);	/* empty name */
	kvs[n++] = kv(PREFIX "members/a/b", P_PG1, 1, 0);	/* ignored, as Patroni */
	kvs[n++] = kv(longname, P_PG1, 1, 0);
	kvs[n++] = kv(PREFIX "members/bad", "[]", 1, 0);
	kvs[n++] = kv(PREFIX "members/nul", nul_value, 1, 0);
	kvs[n - 1].value_len = sizeof(nul_value) - 1;	/* bytes after a NUL */
	kvs[n++] = kv(PREFIX "members/good", P_PG1, 1, 5);
	kvs[n++] = kv(PREFIX "leader", longleader, 9, 5);
	kvs[n++] = kv(PREFIX "initialize", "123456789012345678901234567890123", 1, 0);
	kvs[n++] = kv(PREFIX "config", "{\"ttl\":0}", 3, 0);
	kvs[n++] = kv(PREFIX "status", "{\"optime\":-5}", 4, 0);
	kvs[n++] = kv(PREFIX "history", "garbage", 1, 0);
	kvs[n++] = kv(PREFIX "failsafe", "garbage", 1, 0);
	kvs[n++] = kv(PREFIX "config/extra", "garbage", 1, 0);
	load(kvs, n, 5, cl);

	assert_int_equal(cl->nmembers, 1);
	assert_string_equal(cl->members[0].name, "good");
	assert_int_equal(cl->nbad_members, 4);
	assert_true(cl->has_leader);	/* the key exists: the lock is held */
	assert_string_equal(cl->leader, "");
	assert_int_equal(cl->leader_mod_revision, 9);
	assert_true(cl->has_initialize);
	assert_string_equal(cl->initialize, "<invalid>");
	assert_true(cl->has_config);
	assert_false(cl->config_valid);
	assert_int_equal(cl->config.ttl, 30);	/* Patroni's default stands */
	assert_false(cl->config.pause);
	assert_false(cl->has_optime);
	assert_true(cl->last_decode_error[0] != '\0');
	assert_string_equal(pgha_member_display_role(cl, &cl->members[0]), "Replica");

	/* an undecodable config still carries the operator's pause */
	kvs[0] = kv(PREFIX "config", "{\"ttl\":1,\"pause\":\"on\"}", 3, 0);
	load(kvs, 1, 5, cl);
	assert_false(cl->config_valid);
	assert_true(cl->config.pause);
	assert_int_equal(cl->config.ttl, 30);
	kvs[0] = kv(PREFIX "config", "[{\"pause\":true}]", 3, 0);
	load(kvs, 1, 5, cl);
	assert_false(cl->config.pause);

	/* more members than the struct holds: the rest are counted as bad */
	n = 0;
	for (i = 0; i < 40; i++)
	{
		snprintf(names[i], sizeof(names[i]), PREFIX "members/m%02d", i);
		kvs[n++] = kv(names[i], "{}", 1, 0);
	}
	load(kvs, n, 5, cl);
	assert_int_equal(cl->nmembers, PGHA_MAX_MEMBERS);
	assert_int_equal(cl->nbad_members, 40 - PGHA_MAX_MEMBERS);

	/* empty and NULL inputs */
	l.kvs = NULL;
	l.count = 0;
	l.revision = 3;
	pgha_cluster_from_kvs(PREFIX, &l, cl);
	assert_int_equal(cl->revision, 3);
	assert_int_equal(cl->nmembers, 0);
	assert_false(cl->has_leader);
	pgha_cluster_from_kvs(PREFIX, NULL, cl);
	assert_int_equal(cl->nmembers, 0);

	/* a NULL value is an empty one */
	kvs[0] = kv(PREFIX "leader", "", 1, 0);
	kvs[0].value = NULL;
	kvs[0].value_len = 0;
	kvs[1] = kv(PREFIX "members/z", "", 1, 0);
	kvs[1].value = NULL;
	load(kvs, 2, 5, cl);
	assert_true(cl->has_leader);
	assert_int_equal(cl->nbad_members, 1);
	free(cl);
}

/* ---- fuzz ---- */

static uint64_t rng_state;

static uint64_t
rng(void)
{
	/* xorshift64*: deterministic across platforms */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static int	fuzz_decoded;
static int	fuzz_rejected;

/* run every decoder on one input; what decodes must round-trip */
static void
decode_all(const char *input)
{
	PghaMember	m,
				again;
	PghaDynConfig c = defaults(),
				c2 = defaults();
	int64_t		optime;
	char		err[PGHA_ERR_LEN];
	char		host[64];
	int			port;
	char	   *json;

	member_init(&m, "f");
	if (!pgha_member_from_json(input, &m, err, sizeof(err)))
		fuzz_rejected++;
	else
	{
		fuzz_decoded++;
		json = pgha_member_to_json(&m);
		assert_non_null(json);
		member_init(&again, "f");
		assert_true(pgha_member_from_json(json, &again, err, sizeof(err)));
		member_equal(&m, &again);
		free(json);
	}
	if (pgha_config_from_json(input, &c, err, sizeof(err)))
	{
		json = pgha_config_to_json(&c);
		assert_non_null(json);
		assert_true(pgha_config_from_json(json, &c2, err, sizeof(err)));
		config_equal(&c, &c2);
		free(json);
	}
	if (pgha_status_from_json(input, &optime, err, sizeof(err)))
		assert_true(optime >= 0);
	(void) pgha_conn_url_host_port(input, host, sizeof(host), &port);
}

static void
test_fuzz(void **state)
{
	static const char *const seeds[] = {
		P_CONFIG, P_PG1, P_PG2, P_PG3, P_STATUS, P_PG2_DEMOTED, P_PG3_CAP,
		P_HISTORY, P_FAILOVER, P_SYNC,
		"{\"tags\":{\"nofailover\":true,\"nosync\":\"on\",\"failover_priority\":\"3\"},\"xlog_location\":0,\"timeline\":1}",
		"{\"ttl\":\"20\",\"pause\":\"on\",\"maximum_lag_on_failover\":9223372036854775807}",
		"postgres://user@[::1]:5432/postgres?x=1",
	};
	static const char flips[] = "{}[]\",:0123456789-+.eE\\unlltrue \x00\x01\xff\x80";
	EtcdKV		kvs[16];
	char		buf[1024];
	PghaCluster *cl = malloc(sizeof(PghaCluster));
	size_t		s,
				len,
				i;
	int			iter,
				n;

	rng_state = UINT64_C(0x9e3779b97f4a7c15);

	/* every truncation of every seed */
	for (s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++)
	{
		len = strlen(seeds[s]);
		for (i = 0; i <= len; i++)
		{
			memcpy(buf, seeds[s], i);
			buf[i] = '\0';
			decode_all(buf);
		}
	}

	/* random byte mutations, also fed through the whole-cluster loader */
	for (iter = 0; iter < 6000; iter++)
	{
		int			nmut = 1 + (int) (rng() % 4);
		int			j;

		s = rng() % (sizeof(seeds) / sizeof(seeds[0]));
		len = strlen(seeds[s]);
		memcpy(buf, seeds[s], len + 1);
		for (j = 0; j < nmut; j++)
		{
			size_t		pos = rng() % len;

			switch (rng() % 3)
			{
				case 0:
					buf[pos] = (char) (rng() & 0xff);
					break;
				case 1:
					buf[pos] = flips[rng() % (sizeof(flips) - 1)];
					break;
				default:
					buf[pos] ^= (char) (1 << (rng() % 8));
					break;
			}
		}
		/* the mutated value as etcd could hand it over, NULs and all */
		decode_all(buf);

		n = observed_kvs(kvs);
		kvs[rng() % n].value = buf;
		for (i = 0; i < (size_t) n; i++)
			if (kvs[i].value == buf)
				kvs[i].value_len = len;
		load(kvs, n, 61, cl);
		assert_true(cl->nmembers + cl->nbad_members <= 3);
		for (j = 0; j < cl->nmembers; j++)
		{
			(void) pgha_member_display_role(cl, &cl->members[j]);
			assert_true(pgha_member_lag_bytes(cl, &cl->members[j]) >= -1);
		}
	}
	free(cl);

	/* the mutations reach both the accepting and the rejecting paths */
	print_message("fuzz: %d member values decoded, %d rejected\n",
				  fuzz_decoded, fuzz_rejected);
	assert_true(fuzz_decoded > 500);
	assert_true(fuzz_rejected > 500);
}

/* the pgha-only "pgha_final" key: round trip, and hostile values refused */
static void
test_final_key(void **state)
{
	char		leader[PGHA_NAME_LEN];
	int64_t		optime = 0;
	int			tl = 0;
	bool		sd = false;
	char		err[PGHA_ERR_LEN];
	char	   *json = pgha_final_to_json("n1", 67712040, 2, true);

	(void) state;
	assert_string_equal(json, "{\"leader\":\"n1\",\"optime\":67712040,\"timeline\":2,\"shut_down\":true}");
	assert_true(pgha_final_from_json(json, leader, sizeof(leader), &optime, &tl,
									 &sd, err, sizeof(err)));
	assert_string_equal(leader, "n1");
	assert_int_equal(optime, 67712040);
	assert_int_equal(tl, 2);
	assert_true(sd);
	free(json);
	/* written before "shut_down" existed, or by a fenced, killed leader */
	assert_true(pgha_final_from_json("{\"leader\":\"n1\",\"optime\":1,\"timeline\":2}",
									 leader, sizeof(leader), &optime, &tl, &sd, err, sizeof(err)));
	assert_false(sd);
	assert_false(pgha_final_from_json("{\"leader\":\"n1\",\"optime\":1,\"timeline\":2,\"shut_down\":1}",
									  leader, sizeof(leader), &optime, &tl, &sd, err, sizeof(err)));
	assert_false(pgha_final_from_json("{\"leader\":\"n1\",\"optime\":\"x\",\"timeline\":2}",
									  leader, sizeof(leader), &optime, &tl, &sd, err, sizeof(err)));
	assert_false(pgha_final_from_json("{\"leader\":\"n1\",\"optime\":-1,\"timeline\":2}",
									  leader, sizeof(leader), &optime, &tl, &sd, err, sizeof(err)));
	assert_false(pgha_final_from_json("[1]", leader, sizeof(leader), &optime, &tl,
									  &sd, err, sizeof(err)));
	assert_false(pgha_final_from_json("{\"leader\":7,\"optime\":1,\"timeline\":2}",
									  leader, sizeof(leader), &optime, &tl, &sd, err, sizeof(err)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_member_encode_patroni),
		cmocka_unit_test(test_member_encode_optional),
		cmocka_unit_test(test_member_decode_patroni),
		cmocka_unit_test(test_member_decode_lenient),
		cmocka_unit_test(test_member_decode_hostile),
		cmocka_unit_test(test_member_decode_overlong),
		cmocka_unit_test(test_config_encode),
		cmocka_unit_test(test_config_decode),
		cmocka_unit_test(test_config_decode_hostile),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_conn_url),
		cmocka_unit_test(test_cluster_observed),
		cmocka_unit_test(test_cluster_switchover_moment),
		cmocka_unit_test(test_cluster_hostile),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_final_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
