/*-------------------------------------------------------------------------
 *
 * test_pg_params.c
 *	  Unit tests of the config key's PostgreSQL parameters
 *	  (src/common/model/pg_params.c), of edit-config's refusals that use
 *	  them and of the not-implemented settings (config_edit.c), of the
 *	  member key's pending_restart and scheduled_restart (cluster.c), of
 *	  the watchdog's plan for a requested restart or reinit (node_plan.c)
 *	  and of pghactl topology's order (ctl_logic.c).
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

#include "config_edit.h"
#include "ctl_logic.h"
#include "node_plan.h"
#include "pg_params.h"

static void
test_refusals(void **state)
{
	/* what pgha or the node owns */
	assert_non_null(pgha_param_refusal("listen_addresses", "*"));
	assert_non_null(pgha_param_refusal("PORT", "5433"));
	assert_non_null(pgha_param_refusal("primary_conninfo", "host=x"));
	assert_non_null(pgha_param_refusal("primary_slot_name", "x"));
	assert_non_null(pgha_param_refusal("synchronous_standby_names", "*"));
	assert_non_null(pgha_param_refusal("recovery_target_time", "2026-01-01"));
	assert_non_null(pgha_param_refusal("pgha.ttl", "30"));
	assert_non_null(pgha_param_refusal("data_directory", "/x"));
	/* pgha needs them on, Patroni's own config key says on: accepted */
	assert_null(pgha_param_refusal("hot_standby", "on"));
	assert_null(pgha_param_refusal("wal_log_hints", "on"));
	assert_non_null(pgha_param_refusal("hot_standby", "off"));
	assert_non_null(pgha_param_refusal("wal_log_hints", "false"));
	/* the preload list must keep pgha */
	assert_null(pgha_param_refusal("shared_preload_libraries", "pgha"));
	assert_null(pgha_param_refusal("shared_preload_libraries", "pg_stat_statements, pgha"));
	assert_null(pgha_param_refusal("shared_preload_libraries", "\"pgha\",auto_explain"));
	assert_non_null(pgha_param_refusal("shared_preload_libraries", "pg_stat_statements"));
	assert_non_null(pgha_param_refusal("shared_preload_libraries", "pgha_other"));
	/* Patroni's lower bounds of the settings every node shares */
	assert_null(pgha_param_refusal("wal_level", "replica"));
	assert_null(pgha_param_refusal("wal_level", "logical"));
	assert_null(pgha_param_refusal("wal_level", "hot_standby"));
	assert_non_null(pgha_param_refusal("wal_level", "minimal"));
	assert_null(pgha_param_refusal("max_connections", "200"));
	assert_non_null(pgha_param_refusal("max_connections", "10"));
	assert_non_null(pgha_param_refusal("max_connections", "lots"));
	assert_non_null(pgha_param_refusal("max_wal_senders", "2"));
	assert_null(pgha_param_refusal("max_prepared_transactions", "0"));
	assert_non_null(pgha_param_refusal("max_locks_per_transaction", "16"));
	assert_non_null(pgha_param_refusal("max_worker_processes", "1"));
	assert_non_null(pgha_param_refusal("max_replication_slots", "3"));
	assert_null(pgha_param_refusal("wal_keep_size", "256MB"));
	assert_null(pgha_param_refusal("wal_keep_size", "1GB"));
	assert_non_null(pgha_param_refusal("wal_keep_size", "8MB"));
	assert_non_null(pgha_param_refusal("track_commit_timestamp", "maybe"));
	/* ordinary settings, custom ones */
	assert_null(pgha_param_refusal("work_mem", "64MB"));
	assert_null(pgha_param_refusal("pg_stat_statements.max", "1000"));
	assert_non_null(pgha_param_refusal("", "x"));
}

static void
test_kinds(void **state)
{
	/* restart-only (postmaster context) or reloadable */
	assert_true(pgha_param_needs_restart("max_connections"));
	assert_true(pgha_param_needs_restart("shared_buffers"));
	assert_true(pgha_param_needs_restart("WAL_LEVEL"));
	assert_false(pgha_param_needs_restart("work_mem"));
	assert_false(pgha_param_needs_restart("log_min_duration_statement"));
	/* must agree across the cluster; the control-file floors */
	assert_true(pgha_param_cluster_wide("max_connections"));
	assert_true(pgha_param_cluster_wide("track_commit_timestamp"));
	assert_true(pgha_param_cluster_wide("wal_level"));
	assert_false(pgha_param_cluster_wide("shared_buffers"));
	assert_int_equal(pgha_param_control_floor("max_connections"), PGHA_CP_MAX_CONNECTIONS);
	assert_int_equal(pgha_param_control_floor("max_locks_per_transaction"), PGHA_CP_MAX_LOCKS_PER_XACT);
	assert_int_equal(pgha_param_control_floor("max_wal_senders"), PGHA_CP_MAX_WAL_SENDERS);
	assert_int_equal(pgha_param_control_floor("work_mem"), PGHA_CP_NONE);
}

static void
test_replica_floor(void **state)
{
	char		out[32];
	bool		raised;

	/* a replica never runs below what its pg_control records */
	assert_true(pgha_param_replica_floor("50", 100, out, sizeof(out), &raised));
	assert_string_equal(out, "100");
	assert_true(raised);
	assert_true(pgha_param_replica_floor("200", 100, out, sizeof(out), &raised));
	assert_string_equal(out, "200");
	assert_false(raised);
	assert_false(pgha_param_replica_floor("many", 100, out, sizeof(out), &raised));
}

static void
test_from_config(void **state)
{
	PghaParams *p = malloc(sizeof(PghaParams));
	char		refused[512];
	char		err[256];

	assert_true(pgha_params_from_config("{\"ttl\":30}", p, refused, sizeof(refused),
										err, sizeof(err)));
	assert_int_equal(p->n, 0);
	assert_string_equal(refused, "");

	/* Patroni's own config key: all accepted, values as postgresql.conf reads them */
	assert_true(pgha_params_from_config("{\"postgresql\":{\"use_slots\":true,\"parameters\":{\"wal_level\":\"replica\",\"hot_standby\":\"on\",\"wal_log_hints\":\"on\",\"max_wal_senders\":10,\"max_replication_slots\":10,\"wal_keep_size\":\"256MB\",\"jit\":false,\"checkpoint_completion_target\":0.9,\"work_mem\":null}}}",
										p, refused, sizeof(refused), err, sizeof(err)));
	assert_string_equal(refused, "");
	assert_int_equal(p->n, 8);
	assert_string_equal(pgha_params_get(p, "max_wal_senders"), "10");
	assert_string_equal(pgha_params_get(p, "JIT"), "off");
	assert_string_equal(pgha_params_get(p, "checkpoint_completion_target"), "0.9");
	assert_null(pgha_params_get(p, "work_mem"));

	/* the refused ones are named with the reason, the others kept */
	assert_true(pgha_params_from_config("{\"postgresql\":{\"parameters\":{\"port\":5433,\"work_mem\":\"8MB\",\"x\":[1]}}}",
										p, refused, sizeof(refused), err, sizeof(err)));
	assert_int_equal(p->n, 1);
	assert_non_null(strstr(refused, "port: it is a node setting"));
	assert_non_null(strstr(refused, "x: the value must be a string, a number or a boolean"));

	assert_false(pgha_params_from_config("[1]", p, refused, sizeof(refused), err, sizeof(err)));
	free(p);
}

static void
test_conf_text(void **state)
{
	PghaParams *p = calloc(1, sizeof(PghaParams));
	char		buf[4096];

	assert_true(pgha_params_set(p, "work_mem", "64MB"));
	assert_true(pgha_params_set(p, "search_path", "'$user', public"));
	assert_true(pgha_params_set(p, "archive_command", "cp %p /a\\b/%f"));
	assert_true(pgha_params_set(p, "WORK_MEM", "128MB"));	/* replaces */
	assert_int_equal(p->n, 3);
	assert_true(pgha_params_conf_text(p, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "\nWORK_MEM = '128MB'\n"));
	assert_non_null(strstr(buf, "\nsearch_path = '''$user'', public'\n"));
	assert_non_null(strstr(buf, "\narchive_command = 'cp %p /a\\\\b/%f'\n"));
	assert_false(pgha_params_conf_text(p, buf, 40));
	pgha_params_remove(p, "work_mem");
	assert_int_equal(p->n, 2);
	assert_null(pgha_params_get(p, "work_mem"));
	free(p);
}

static void
test_version_num(void **state)
{
	assert_int_equal(pgha_postgres_version_num("15.2"), 150002);
	assert_int_equal(pgha_postgres_version_num("9.6.3"), 90603);
	assert_int_equal(pgha_postgres_version_num("16.0"), 160000);
	assert_int_equal(pgha_postgres_version_num("15"), -1);
	assert_int_equal(pgha_postgres_version_num("9.6"), -1);
	assert_int_equal(pgha_postgres_version_num("15.x"), -1);
	assert_int_equal(pgha_postgres_version_num("1.2.3.4"), -1);
}

static void
assert_refused(const char *json, const char *needle)
{
	char		err[512] = "";

	assert_false(pgha_config_validate(json, err, sizeof(err)));
	if (strstr(err, needle) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", err, needle);
}

static void
test_edit_config_refusals(void **state)
{
	char		err[512];

	/* accepted settings must work: the ones pgha does not implement are refused */
	assert_refused("{\"failsafe_mode\":true}", "\"failsafe_mode\" is not implemented by pgha");
	assert_refused("{\"failsafe_mode\":\"on\"}", "not implemented by pgha");
	assert_refused("{\"standby_cluster\":{\"host\":\"10.0.0.1\",\"port\":5432}}",
				   "\"standby_cluster\" is not implemented by pgha");
	assert_true(pgha_config_validate("{\"failsafe_mode\":false,\"standby_cluster\":{}}", err, sizeof(err)));
	assert_true(pgha_config_validate("{\"failsafe_mode\":null,\"standby_cluster\":null}", err, sizeof(err)));
	/* parameters: the same refusals as the keeper's */
	assert_refused("{\"postgresql\":{\"parameters\":{\"listen_addresses\":\"*\"}}}",
				   "postgresql.parameters.listen_addresses is refused: it is a node setting");
	assert_refused("{\"postgresql\":{\"parameters\":{\"max_connections\":10}}}",
				   "max_connections must be an integer >= 25");
	assert_refused("{\"postgresql\":{\"parameters\":{\"work_mem\":{\"a\":1}}}}",
				   "must be a string, a number or a boolean");
	assert_refused("{\"postgresql\":{\"parameters\":{\"synchronous_standby_names\":\"*\"}}}",
				   "synchronous_mode");
	assert_true(pgha_config_validate("{\"postgresql\":{\"parameters\":{\"max_connections\":200,\"work_mem\":\"8MB\",\"hot_standby\":\"on\"}}}",
									 err, sizeof(err)));
}

static void
test_member_ops_fields(void **state)
{
	PghaMember	m;
	PghaMember	back;
	char		err[256];
	char	   *json;

	memset(&m, 0, sizeof(m));
	strcpy(m.conn_url, "postgres://127.0.0.1:5432/postgres");
	strcpy(m.state, "running");
	strcpy(m.role, "replica");
	strcpy(m.version, "1.0.0");
	m.failover_priority = 1;
	m.xlog_location = 100;
	m.timeline = 2;
	m.pending_restart = true;
	strcpy(m.scheduled_restart, "2026-12-01T10:00:00+00:00");
	strcpy(m.scheduled_restart_version, "15.9");
	json = pgha_member_to_json(&m);
	/* Patroni's order: pending_restart before xlog_location, scheduled_restart after timeline */
	assert_string_equal(json,
						"{\"conn_url\":\"postgres://127.0.0.1:5432/postgres\",\"state\":\"running\",\"role\":\"replica\",\"version\":\"1.0.0\",\"pending_restart\":true,\"xlog_location\":100,\"timeline\":2,\"scheduled_restart\":{\"schedule\":\"2026-12-01T10:00:00+00:00\",\"postgres_version\":\"15.9\"}}");
	memset(&back, 0, sizeof(back));
	assert_true(pgha_member_from_json(json, &back, err, sizeof(err)));
	assert_true(back.pending_restart);
	assert_string_equal(back.scheduled_restart, "2026-12-01T10:00:00+00:00");
	assert_string_equal(back.scheduled_restart_version, "15.9");
	free(json);
	assert_false(pgha_member_from_json("{\"scheduled_restart\":1}", &back, err, sizeof(err)));
	assert_false(pgha_member_from_json("{\"pending_restart\":\"perhaps\"}", &back, err, sizeof(err)));
}

/* a leader stopped for a requested restart keeps the key; reinit clones */
static void
test_plan_restart_reinit(void **state)
{
	PghaCluster *cl = calloc(1, sizeof(PghaCluster));
	PghaControlData cd;
	PghaLocalNode node;
	PghaNodePlan plan;
	char		line[512];

	memset(&cd, 0, sizeof(cd));
	strcpy(cd.system_identifier, "7000");
	cd.state = PGHA_DB_SHUT_DOWN;
	cd.checkpoint_tli = 1;
	cd.checkpoint_lsn = 1000;
	cd.wal_log_hints = true;
	cl->has_initialize = true;
	strcpy(cl->initialize, "7000");
	cl->has_leader = true;
	strcpy(cl->leader, "n1");
	cl->nmembers = 2;
	strcpy(cl->members[0].name, "n1");
	strcpy(cl->members[0].conn_url, "postgres://127.0.0.1:5001/postgres");
	cl->members[0].timeline = 1;
	cl->members[0].xlog_location = -1;
	strcpy(cl->members[1].name, "n2");
	strcpy(cl->members[1].conn_url, "postgres://127.0.0.1:5002/postgres");
	cl->members[1].timeline = 1;
	cl->members[1].xlog_location = -1;

	memset(&node, 0, sizeof(node));
	node.name = "n1";
	node.cd = &cd;
	/* a clean stop of the leader hands the key over */
	pgha_node_plan(&node, cl, &plan);
	assert_int_equal(plan.action, PGHA_PLAN_RELEASE);
	/* a requested restart keeps it: a standby its keeper promotes */
	node.restart = true;
	pgha_node_plan(&node, cl, &plan);
	pgha_node_plan_line(&plan, line, sizeof(line));
	assert_string_equal(line, "start-replica - -");
	/* fenced meanwhile: the fence wins */
	node.fenced = true;
	pgha_node_plan(&node, cl, &plan);
	assert_int_equal(plan.action, PGHA_PLAN_RELEASE);

	/* reinit of a replica: empty and clone the leader */
	memset(&node, 0, sizeof(node));
	node.name = "n2";
	node.cd = &cd;
	cd.state = PGHA_DB_SHUT_DOWN_IN_RECOVERY;
	node.reinit = true;
	pgha_node_plan(&node, cl, &plan);
	pgha_node_plan_line(&plan, line, sizeof(line));
	assert_string_equal(line, "reinit 127.0.0.1 5001");
	/* never on the leader itself */
	node.name = "n1";
	pgha_node_plan(&node, cl, &plan);
	assert_int_not_equal(plan.action, PGHA_PLAN_REINIT);
	/* nor without a leader */
	node.name = "n2";
	cl->has_leader = false;
	pgha_node_plan(&node, cl, &plan);
	assert_int_not_equal(plan.action, PGHA_PLAN_REINIT);
	free(cl);
}

static void
test_topology(void **state)
{
	const char *names[] = {"n1", "n2", "n3"};
	int			order[3];
	int			level[3];
	char		buf[64];

	pgha_topology_order(names, 3, "n2", order, level);
	assert_int_equal(order[0], 1);
	assert_int_equal(level[0], 0);
	assert_int_equal(order[1], 0);
	assert_int_equal(level[1], 1);
	assert_int_equal(order[2], 2);
	assert_int_equal(level[2], 1);
	pgha_topology_name("n2", 0, buf, sizeof(buf));
	assert_string_equal(buf, "n2");
	pgha_topology_name("n1", 1, buf, sizeof(buf));
	assert_string_equal(buf, "+ n1");
	pgha_topology_name("n4", 2, buf, sizeof(buf));
	assert_string_equal(buf, "  + n4");
	/* no leader: everyone under the missing root */
	pgha_topology_order(names, 3, NULL, order, level);
	assert_int_equal(order[0], 0);
	assert_int_equal(level[0], 1);
	pgha_topology_order(names, 3, "gone", order, level);
	assert_int_equal(level[0], 1);
	assert_int_equal(level[2], 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_replica_floor),
		cmocka_unit_test(test_from_config),
		cmocka_unit_test(test_conf_text),
		cmocka_unit_test(test_version_num),
		cmocka_unit_test(test_edit_config_refusals),
		cmocka_unit_test(test_member_ops_fields),
		cmocka_unit_test(test_plan_restart_reinit),
		cmocka_unit_test(test_topology),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
