/*
 * test_decide.c
 *	  Unit tests of the keeper's decision table (src/common/decide.c):
 *	  every row, without servers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "decide.h"

static PghaCluster cl;
static PghaLocalState local;
static PghaDecision d;

static int
setup(void **state)
{
	memset(&cl, 0, sizeof(cl));
	memset(&local, 0, sizeof(local));
	local.name = "pg1";
	local.system_identifier = 7711517793368109282ULL;
	return 0;
}

static void
set_initialized(const char *sysid)
{
	cl.has_initialize = true;
	strcpy(cl.initialize, sysid);
	cl.has_config = true;
	cl.config_valid = true;
}

static void
set_leader(const char *name)
{
	cl.has_leader = true;
	strcpy(cl.leader, name);
}

static void
test_new_cluster_primary_bootstraps(void **state)
{
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_LEADER);
	assert_int_equal(d.leader_action, PGHA_LEADER_ACQUIRE);
	assert_true(d.write_initialize);
	assert_true(d.write_config);
	assert_true(d.publish_optime);
}

static void
test_primary_holds_own_key(void **state)
{
	set_initialized("7711517793368109282");
	set_leader("pg1");
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_LEADER);
	assert_int_equal(d.leader_action, PGHA_LEADER_HOLD);
	assert_false(d.write_initialize);
	assert_false(d.write_config);
}

static void
test_primary_sees_other_leader(void **state)
{
	set_initialized("7711517793368109282");
	set_leader("pg2");
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_LEADER_ELSEWHERE);
	assert_int_equal(d.leader_action, PGHA_LEADER_NONE);
	assert_false(d.publish_optime);
}

static void
test_leader_name_prefix_is_not_ours(void **state)
{
	set_initialized("7711517793368109282");
	set_leader("pg10");
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_LEADER_ELSEWHERE);
}

static void
test_replica_never_takes_the_key(void **state)
{
	set_initialized("7711517793368109282");
	local.in_recovery = true;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_REPLICA_NO_LEADER);
	assert_int_equal(d.leader_action, PGHA_LEADER_NONE);
	assert_false(d.write_initialize);

	set_leader("pg2");
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_REPLICA);
	assert_int_equal(d.leader_action, PGHA_LEADER_NONE);
}

static void
test_replica_does_not_initialize(void **state)
{
	local.in_recovery = true;
	pgha_decide(&local, &cl, &d);
	assert_false(d.write_initialize);
	assert_true(d.write_config);
}

static void
test_foreign_system_touches_nothing(void **state)
{
	set_initialized("1234");
	cl.has_config = false;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_FOREIGN_CLUSTER);
	assert_int_equal(d.leader_action, PGHA_LEADER_NONE);
	assert_false(d.write_initialize);
	assert_false(d.write_config);
	assert_false(d.publish_optime);
}

static void
test_empty_initialize_is_not_foreign(void **state)
{
	/* Patroni writes "initialize" empty first, then the sysid */
	set_initialized("");
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_LEADER);
}

static void
test_verdict_texts(void **state)
{
	assert_string_equal(pgha_verdict_text(PGHA_V_LEADER), "leading");
	assert_string_equal(pgha_verdict_text(PGHA_V_REPLICA), "following");
	assert_string_equal(pgha_verdict_text((PghaVerdict) 99), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_new_cluster_primary_bootstraps, setup),
		cmocka_unit_test_setup(test_primary_holds_own_key, setup),
		cmocka_unit_test_setup(test_primary_sees_other_leader, setup),
		cmocka_unit_test_setup(test_leader_name_prefix_is_not_ours, setup),
		cmocka_unit_test_setup(test_replica_never_takes_the_key, setup),
		cmocka_unit_test_setup(test_replica_does_not_initialize, setup),
		cmocka_unit_test_setup(test_foreign_system_touches_nothing, setup),
		cmocka_unit_test_setup(test_empty_initialize_is_not_foreign, setup),
		cmocka_unit_test_setup(test_verdict_texts, setup),
	};

	return cmocka_run_group_tests_name("decide", tests, NULL, NULL);
}
