/*
 * test_api_body.c
 *	  Unit tests of the REST api's bodies (src/common/api/api_body.c): the
 *	  status and /cluster JSON byte for byte against what Patroni 3.0.2
 *	  answered (../shared/PATRONI-OBSERVED.md), /metrics' names, and the
 *	  request-body parsers with Patroni's codes and messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_body.h"

#define PREFIX "/service/anchor/"

static void
build_cluster(PghaCluster *cl, const char *failover)
{
	EtcdKV		kv[8];
	EtcdKVList l;
	const char *keys[] = {"leader", "members/pg1", "members/pg2", "members/pg3", "status", "config", "failover"};
	const char *vals[] = {
		"pg2",
		"{\"conn_url\":\"postgres://127.0.0.1:5441/postgres\",\"api_url\":\"http://127.0.0.1:8008/patroni\",\"state\":\"running\",\"role\":\"replica\",\"version\":\"3.0.2\",\"xlog_location\":67712040,\"timeline\":2}",
		"{\"conn_url\":\"postgres://127.0.0.1:5442/postgres\",\"api_url\":\"http://127.0.0.1:8009/patroni\",\"state\":\"running\",\"role\":\"master\",\"version\":\"3.0.2\",\"xlog_location\":67712040,\"timeline\":2}",
		"{\"conn_url\":\"postgres://127.0.0.1:5443/postgres\",\"api_url\":\"http://127.0.0.1:8010/patroni\",\"state\":\"running\",\"role\":\"replica\",\"version\":\"3.0.2\",\"xlog_location\":67712040,\"timeline\":2}",
		"{\"optime\":67712040}",
		"{\"ttl\":30,\"loop_wait\":10}",
		failover
	};
	char		names[8][64];

	memset(kv, 0, sizeof(kv));
	for (int i = 0; i < 7; i++)
	{
		snprintf(names[i], sizeof(names[i]), PREFIX "%s", keys[i]);
		kv[i].key = names[i];
		kv[i].value = (char *) vals[i];
		kv[i].value_len = strlen(vals[i]);
		kv[i].mod_revision = 10 + i;
		kv[i].create_revision = 1;
	}
	l.kvs = kv;
	l.count = 7;
	l.revision = 61;
	pgha_cluster_from_kvs(PREFIX, &l, cl);
}

static void
test_cluster_json_matches_patroni(void **state)
{
	PghaCluster *cl = calloc(1, sizeof(PghaCluster));
	char	   *s;

	build_cluster(cl, "{}");
	s = pgha_api_cluster_json(cl);
	assert_string_equal(s, "{\"members\": [{\"name\": \"pg1\", \"role\": \"replica\", \"state\": \"running\", \"api_url\": \"http://127.0.0.1:8008/patroni\", \"host\": \"127.0.0.1\", \"port\": 5441, \"timeline\": 2, \"lag\": 0}, {\"name\": \"pg2\", \"role\": \"leader\", \"state\": \"running\", \"api_url\": \"http://127.0.0.1:8009/patroni\", \"host\": \"127.0.0.1\", \"port\": 5442, \"timeline\": 2}, {\"name\": \"pg3\", \"role\": \"replica\", \"state\": \"running\", \"api_url\": \"http://127.0.0.1:8010/patroni\", \"host\": \"127.0.0.1\", \"port\": 5443, \"timeline\": 2, \"lag\": 0}]}");
	free(s);
	build_cluster(cl, "{\"leader\":\"pg2\",\"member\":\"pg3\",\"scheduled_at\":\"2030-01-01T00:00:00+00:00\"}");
	s = pgha_api_cluster_json(cl);
	assert_non_null(strstr(s, "\"scheduled_switchover\": {\"at\": \"2030-01-01T00:00:00+00:00\", \"from\": \"pg2\", \"to\": \"pg3\"}"));
	free(s);
	free(cl);
}

static void
replica_status(PghaApiStatus *st)
{
	memset(st, 0, sizeof(*st));
	strcpy(st->state, "running");
	strcpy(st->role, "replica");
	st->have_postgres = true;
	strcpy(st->postmaster_start_time, "2026-11-23 23:48:55.449395+00:00");
	st->server_version = 150018;
	st->received_location = 67712040;
	st->replayed_location = 67712040;
	strcpy(st->replayed_timestamp, "2026-11-23 23:48:57.555579+00:00");
	st->timeline = 2;
	st->dcs_last_seen = 1795477754;
	strcpy(st->system_identifier, "7711517793368109282");
	strcpy(st->scope, "anchor");
	st->failover_priority = 1;
}

static void
test_status_json_matches_patroni(void **state)
{
	PghaApiStatus st;
	char	   *s;

	replica_status(&st);
	s = pgha_api_status_json(&st);
	assert_string_equal(s, "{\"state\": \"running\", \"postmaster_start_time\": \"2026-11-23 23:48:55.449395+00:00\", \"role\": \"replica\", \"server_version\": 150018, \"xlog\": {\"received_location\": 67712040, \"replayed_location\": 67712040, \"replayed_timestamp\": \"2026-11-23 23:48:57.555579+00:00\", \"paused\": false}, \"timeline\": 2, \"dcs_last_seen\": 1795477754, \"database_system_identifier\": \"7711517793368109282\", \"patroni\": {\"version\": \"" PGHA_VERSION_STRING "\", \"scope\": \"anchor\"}}");
	free(s);

	/* the leader, with its replication list */
	strcpy(st.role, "master");
	st.location = 67712040;
	st.nreplication = 1;
	strcpy(st.replication[0].usename, "replicator");
	strcpy(st.replication[0].application_name, "pg3");
	strcpy(st.replication[0].client_addr, "127.0.0.1");
	strcpy(st.replication[0].state, "streaming");
	strcpy(st.replication[0].sync_state, "async");
	s = pgha_api_status_json(&st);
	assert_non_null(strstr(s, "\"xlog\": {\"location\": 67712040}, \"timeline\": 2, \"replication\": [{\"usename\": \"replicator\", \"application_name\": \"pg3\", \"client_addr\": \"127.0.0.1\", \"state\": \"streaming\", \"sync_state\": \"async\", \"sync_priority\": 0}], \"dcs_last_seen\""));
	free(s);

	/* postgres not up: state and role only; unlocked, paused, tags */
	replica_status(&st);
	st.have_postgres = false;
	strcpy(st.state, "starting");
	st.cluster_unlocked = true;
	st.pause = true;
	st.nofailover = true;
	s = pgha_api_status_json(&st);
	assert_string_equal(s, "{\"state\": \"starting\", \"role\": \"replica\", \"cluster_unlocked\": true, \"dcs_last_seen\": 1795477754, \"tags\": {\"nofailover\": true}, \"database_system_identifier\": \"7711517793368109282\", \"patroni\": {\"version\": \"" PGHA_VERSION_STRING "\", \"scope\": \"anchor\"}, \"pause\": true}");
	free(s);
}

static void
test_metrics_names(void **state)
{
	PghaApiStatus st;
	PghaApiMetrics m;
	char	   *s;
	const char *names[] = {
		"patroni_version{scope=\"anchor\"} 030002\n",
		"patroni_postgres_running{scope=\"anchor\"} 1\n",
		"patroni_postmaster_start_time{scope=\"anchor\"} 1795477735.449395\n",
		"patroni_master{scope=\"anchor\"} 0\n", "patroni_primary{scope=\"anchor\"} 0\n",
		"patroni_xlog_location{scope=\"anchor\"} 0\n",
		"patroni_standby_leader{scope=\"anchor\"} 0\n",
		"patroni_replica{scope=\"anchor\"} 1\n", "patroni_sync_standby{scope=\"anchor\"} 0\n",
		"patroni_xlog_received_location{scope=\"anchor\"} 67712040\n",
		"patroni_xlog_replayed_location{scope=\"anchor\"} 67712040\n",
		"patroni_xlog_replayed_timestamp{scope=\"anchor\"} 0\n",
		"patroni_xlog_paused{scope=\"anchor\"} 0\n",
		"patroni_postgres_server_version {scope=\"anchor\"} 150018\n",
		"patroni_cluster_unlocked{scope=\"anchor\"} 0\n",
		"patroni_failsafe_mode_is_active{scope=\"anchor\"} 0\n",
		"patroni_postgres_timeline{scope=\"anchor\"} 2\n",
		"patroni_dcs_last_seen{scope=\"anchor\"} 1795477754\n",
		"patroni_pending_restart{scope=\"anchor\"} 0\n",
		"patroni_is_paused{scope=\"anchor\"} 0\n",
		"pgha_fence_deadline_margin_seconds{scope=\"anchor\"} 7.5\n",
		"pgha_keeper_cycle_seconds{scope=\"anchor\"} 0.004\n",
		"pgha_etcd_requests_total{scope=\"anchor\"} 12\n",
	};

	replica_status(&st);
	st.postmaster_start_epoch = 1795477735.449395;
	memset(&m, 0, sizeof(m));
	m.has_fence_margin = true;
	m.fence_margin_s = 7.5;
	m.keeper_cycle_s = 0.004;
	m.etcd_requests = 12;
	s = pgha_api_metrics_text(&st, &m, "3.0.2");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
	{
		if (strstr(s, names[i]) == NULL)
			fail_msg("missing %s in\n%s", names[i], s);
	}
	free(s);
}

static void
test_parse_failover(void **state)
{
	PghaApiFailoverRequest r;
	char		err[256];
	const char *b;

	b = "{\"leader\":\"pg2\",\"candidate\":\"pg3\"}";
	assert_int_equal(pgha_api_parse_failover(b, strlen(b), &r, err, sizeof(err)), 0);
	assert_string_equal(r.leader, "pg2");
	assert_string_equal(r.candidate, "pg3");
	b = "{\"leader\":\"pg2\",\"member\":\"pg1\",\"scheduled_at\":null}";
	assert_int_equal(pgha_api_parse_failover(b, strlen(b), &r, err, sizeof(err)), 0);
	assert_string_equal(r.candidate, "pg1");
	b = "{\"leader\":2}";
	assert_int_equal(pgha_api_parse_failover(b, strlen(b), &r, err, sizeof(err)), 400);
	b = "{}";
	assert_int_equal(pgha_api_parse_failover(b, strlen(b), &r, err, sizeof(err)), 400);
	b = "[1]";
	assert_int_equal(pgha_api_parse_failover(b, strlen(b), &r, err, sizeof(err)), 400);
	b = "{\"leader\":";
	assert_int_equal(pgha_api_parse_failover(b, strlen(b), &r, err, sizeof(err)), 400);
	assert_non_null(strstr(err, "not valid JSON"));
	assert_int_equal(pgha_api_parse_failover("{\"a\":1}\0x", 9, &r, err, sizeof(err)), 400);
	assert_int_equal(pgha_api_parse_failover(NULL, 0, &r, err, sizeof(err)), 400);
}

static void
test_failover_precheck(void **state)
{
	PghaCluster *cl = calloc(1, sizeof(PghaCluster));
	PghaApiFailoverRequest r;
	char		err[256];

	build_cluster(cl, "{}");
	memset(&r, 0, sizeof(r));
	strcpy(r.candidate, "pg3");
	assert_int_equal(pgha_api_failover_precheck(cl, false, &r, 0, err, sizeof(err)), 400);
	assert_string_equal(err, "Switchover could be performed only from a specific leader");
	strcpy(r.leader, "pg1");
	assert_int_equal(pgha_api_failover_precheck(cl, false, &r, 0, err, sizeof(err)), 412);
	assert_string_equal(err, "leader name does not match");
	strcpy(r.leader, "pg2");
	strcpy(r.candidate, "pg9");
	assert_int_equal(pgha_api_failover_precheck(cl, false, &r, 0, err, sizeof(err)), 412);
	assert_string_equal(err, "candidate does not exists");
	strcpy(r.candidate, "pg3");
	assert_int_equal(pgha_api_failover_precheck(cl, false, &r, 0, err, sizeof(err)), 0);
	/* failover needs a candidate */
	memset(&r, 0, sizeof(r));
	assert_int_equal(pgha_api_failover_precheck(cl, true, &r, 0, err, sizeof(err)), 400);
	assert_string_equal(err, "Failover could be performed only to a specific candidate");
	/* schedules */
	strcpy(r.leader, "pg2");
	strcpy(r.candidate, "pg3");
	strcpy(r.scheduled_at, "2030-01-01T10:00:00");
	assert_int_equal(pgha_api_failover_precheck(cl, false, &r, 1.8e9, err, sizeof(err)), 400);
	assert_string_equal(err, "Timezone information is mandatory for the scheduled switchover");
	strcpy(r.scheduled_at, "yesterday");
	assert_int_equal(pgha_api_failover_precheck(cl, false, &r, 1.8e9, err, sizeof(err)), 422);
	strcpy(r.scheduled_at, "2020-01-01T10:00:00+00:00");
	assert_int_equal(pgha_api_failover_precheck(cl, false, &r, 1.8e9, err, sizeof(err)), 422);
	assert_string_equal(err, "Cannot schedule switchover in the past");
	strcpy(r.scheduled_at, "2030-01-01T12:00:00+02:00");
	assert_int_equal(pgha_api_failover_precheck(cl, false, &r, 1.8e9, err, sizeof(err)), 0);
	assert_string_equal(r.scheduled_at, "2030-01-01T10:00:00+00:00");
	free(cl);
}

static void
test_config_patch(void **state)
{
	const char *cur = "{\"ttl\":30,\"postgresql\":{\"parameters\":{\"max_connections\":100,\"work_mem\":\"4MB\"}}}";
	const char *b;
	char		err[256];
	bool		changed;
	int			code;
	char	   *s;

	b = "{\"ttl\":20,\"postgresql\":{\"parameters\":{\"work_mem\":null,\"shared_buffers\":\"1GB\"}}}";
	s = pgha_api_config_patch(cur, b, strlen(b), &changed, &code, err, sizeof(err));
	assert_non_null(s);
	assert_true(changed);
	assert_string_equal(s, "{\"ttl\":20,\"postgresql\":{\"parameters\":{\"max_connections\":100,\"shared_buffers\":\"1GB\"}}}");
	free(s);
	b = "{\"ttl\":30,\"nothing\":null}";
	s = pgha_api_config_patch(cur, b, strlen(b), &changed, &code, err, sizeof(err));
	assert_false(changed);
	free(s);
	b = "{\"ttl\":";
	assert_null(pgha_api_config_patch(cur, b, strlen(b), &changed, &code, err, sizeof(err)));
	assert_int_equal(code, 400);
	b = "{}";
	assert_null(pgha_api_config_patch(cur, b, strlen(b), &changed, &code, err, sizeof(err)));
	assert_int_equal(code, 400);
	b = "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}";
	assert_null(pgha_api_config_patch(cur, b, strlen(b), &changed, &code, err, sizeof(err)));
	assert_int_equal(code, 400);
	b = "{\"a\":1}";
	assert_null(pgha_api_config_patch("[1]", b, strlen(b), &changed, &code, err, sizeof(err)));
	assert_int_equal(code, 503);
	b = "{\"loop_wait\":5}";
	s = pgha_api_config_put(b, strlen(b), &code, err, sizeof(err));
	assert_string_equal(s, "{\"loop_wait\":5}");
	free(s);
	assert_null(pgha_api_config_put("\"x\"", 3, &code, err, sizeof(err)));
	assert_int_equal(code, 400);
}

static void
test_parse_force(void **state)
{
	bool		force;
	char		err[256];

	assert_int_equal(pgha_api_parse_force(NULL, 0, &force, err, sizeof(err)), 0);
	assert_false(force);
	assert_int_equal(pgha_api_parse_force("{\"force\":\"yes\"}", 15, &force, err, sizeof(err)), 0);
	assert_true(force);
	assert_int_equal(pgha_api_parse_force("{}", 2, &force, err, sizeof(err)), 0);
	assert_false(force);
	assert_int_equal(pgha_api_parse_force("{", 1, &force, err, sizeof(err)), 400);
}

/* POST /restart's body, row by row as Patroni's do_POST_restart() */
static void
test_parse_restart(void **state)
{
	PghaApiRestartRequest r;
	char		err[256];
	const double now = 1796000000.0;	/* 2026-11-30 */
	const char *b;

#define RESTART(body, paused) \
	pgha_api_parse_restart((body), strlen(body), (paused), now, &r, err, sizeof(err))

	/* no body: restart now */
	assert_int_equal(pgha_api_parse_restart(NULL, 0, false, now, &r, err, sizeof(err)), 0);
	assert_string_equal(r.scheduled_at, "");
	assert_int_equal(RESTART("{}", false), 0);
	b = "{\"restart_pending\": true, \"role\": \"master\", \"postgres_version\": \"15.21\"}";
	assert_int_equal(RESTART(b, false), 0);
	assert_true(r.restart_pending);
	assert_string_equal(r.role, "primary");
	assert_int_equal(r.below_version, 150021);
	assert_string_equal(r.postgres_version, "15.21");
	assert_int_equal(RESTART("{\"role\": \"replica\", \"restart_pending\": \"no\"}", false), 0);
	assert_string_equal(r.role, "replica");
	assert_false(r.restart_pending);
	/* a schedule: zone required, not in the past, written as UTC */
	assert_int_equal(RESTART("{\"schedule\": \"2027-01-01T03:00:00+01:00\"}", false), 0);
	assert_string_equal(r.scheduled_at, "2027-01-01T02:00:00+00:00");
	assert_int_equal(RESTART("{\"schedule\": \"2027-01-01T03:00:00\"}", false), 400);
	assert_non_null(strstr(err, "Timezone information is mandatory"));
	assert_int_equal(RESTART("{\"schedule\": \"2020-01-01T03:00:00Z\"}", false), 422);
	assert_non_null(strstr(err, "Cannot schedule restart in the past"));
	assert_int_equal(RESTART("{\"schedule\": \"soon\"}", false), 422);
	assert_int_equal(RESTART("{\"schedule\": 5}", false), 422);
	assert_int_equal(RESTART("{\"schedule\": \"2027-01-01T03:00:00Z\"}", true), 500);
	assert_string_equal(err, "Can't schedule restart in the paused state");
	/* refusals, each with Patroni's message */
	assert_int_equal(RESTART("{\"role\": \"leader\"}", false), 400);
	assert_string_equal(err, "PostgreSQL role should be either primary or replica");
	assert_int_equal(RESTART("{\"role\": 1}", false), 400);
	assert_int_equal(RESTART("{\"postgres_version\": \"fifteen\"}", false), 400);
	assert_non_null(strstr(err, "Invalid PostgreSQL version format"));
	assert_int_equal(RESTART("{\"timeout\": 30}", false), 400);
	assert_non_null(strstr(err, "timeout is not supported"));
	assert_int_equal(RESTART("{\"when\": 1}", false), 400);
	assert_string_equal(err, "Unknown filter for the scheduled restart: when");
	assert_int_equal(RESTART("[1]", false), 400);
	assert_int_equal(RESTART("{", false), 400);
	/* a refused body leaves nothing half filled */
	assert_string_equal(r.role, "");
#undef RESTART
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cluster_json_matches_patroni),
		cmocka_unit_test(test_status_json_matches_patroni),
		cmocka_unit_test(test_metrics_names),
		cmocka_unit_test(test_parse_failover),
		cmocka_unit_test(test_failover_precheck),
		cmocka_unit_test(test_config_patch),
		cmocka_unit_test(test_parse_force),
		cmocka_unit_test(test_parse_restart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
