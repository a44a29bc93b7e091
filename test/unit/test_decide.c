/*
 * test_decide.c
 *	  Unit tests of the keeper's decision table (src/common/policy/decide.c):
 *	  every row, without servers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "decide.h"
#include "watchdog_policy.h"

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
	assert_int_equal(d.verdict, PGHA_V_FENCE);
	assert_int_equal(d.leader_action, PGHA_LEADER_NONE);
	assert_false(d.publish_optime);
	assert_string_equal(d.reason, "member \"pg2\" holds the leader key");
}

static void
test_leader_name_prefix_is_not_ours(void **state)
{
	set_initialized("7711517793368109282");
	set_leader("pg10");
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_FENCE);
}

static void
add_member(const char *name, const char *role, int64_t lsn, int64_t modrev)
{
	PghaMember *m = &cl.members[cl.nmembers++];

	memset(m, 0, sizeof(*m));
	strcpy(m->name, name);
	strcpy(m->role, role);
	strcpy(m->state, "running");
	m->xlog_location = lsn;
	m->timeline = 1;
	m->failover_priority = 1;
	m->mod_revision = modrev;
}

static void
as_replica(int64_t lsn)
{
	set_initialized("7711517793368109282");
	local.in_recovery = true;
	local.lsn = lsn;
	local.timeline = 1;
	local.failover_priority = 1;
	local.fresh_after_revision = 10;
}

static void
test_replica_follows_leader(void **state)
{
	as_replica(1000);
	set_leader("pg2");
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_REPLICA);
	assert_int_equal(d.leader_action, PGHA_LEADER_NONE);
	assert_false(d.promote);
	assert_false(d.write_initialize);
}

static void
test_standby_holding_the_key_promotes(void **state)
{
	as_replica(1000);
	set_leader("pg1");
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_PROMOTING);
	assert_int_equal(d.leader_action, PGHA_LEADER_HOLD);
	assert_true(d.promote);
}

static void
test_best_replica_takes_over(void **state)
{
	as_replica(2000);
	add_member("pg2", "replica", 1500, 11);
	add_member("pg3", "replica", 2000, 12);
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_CANDIDATE);
	assert_int_equal(d.leader_action, PGHA_LEADER_ACQUIRE);
	assert_true(d.promote);
	assert_true(d.refresh_member);
}

static void
test_peer_ahead_wins(void **state)
{
	as_replica(2000);
	add_member("pg2", "replica", 2001, 11);
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_NOT_CANDIDATE);
	assert_int_equal(d.leader_action, PGHA_LEADER_NONE);
	assert_non_null(strstr(d.reason, "pg2"));
}

static void
test_tie_broken_by_priority_then_name(void **state)
{
	as_replica(2000);
	add_member("pg0", "replica", 2000, 11);
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_NOT_CANDIDATE);	/* "pg0" < "pg1" */

	cl.members[0].failover_priority = 0;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_CANDIDATE);	/* we have priority 1 */
}

static void
test_stale_peer_makes_candidate_wait(void **state)
{
	as_replica(2000);
	add_member("pg2", "replica", 1000, 5);	/* written before the leader left */
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_WAIT_PEERS);
	assert_int_equal(d.leader_action, PGHA_LEADER_NONE);

	local.peers_wait_over = true;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_CANDIDATE);
}

static void
test_ignored_peers(void **state)
{
	as_replica(2000);
	add_member("old", "master", 9000, 11);	/* the former leader's key */
	add_member("tagged", "replica", 9000, 11);
	cl.members[1].nofailover = true;
	add_member("oldtl", "replica", 9000, 11);
	cl.members[2].timeline = 7;
	add_member("nowal", "replica", -1, 11);
	add_member("prio0", "replica", 9000, 11);
	cl.members[4].failover_priority = 0;	/* Patroni: never a candidate */
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_CANDIDATE);
}

static void
test_lagging_replica_is_not_candidate(void **state)
{
	as_replica(1000);
	cl.has_optime = true;
	cl.optime = 1000 + 1048577;
	cl.config.maximum_lag_on_failover = 1048576;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_NOT_CANDIDATE);
	assert_non_null(strstr(d.reason, "maximum_lag_on_failover"));

	cl.optime = 1000 + 1048576;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_CANDIDATE);
}

static void
test_nofailover_and_no_wal(void **state)
{
	as_replica(1000);
	local.nofailover = true;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_NOT_CANDIDATE);
	assert_string_equal(d.reason, "tagged nofailover");

	local.nofailover = false;
	local.lsn = 0;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_NOT_CANDIDATE);
}

static void
test_replica_does_not_initialize(void **state)
{
	local.in_recovery = true;
	pgha_decide(&local, &cl, &d);
	assert_false(d.write_initialize);
	/* nor config: the leader writes it (back, from its cache) */
	assert_false(d.write_config);
}

/* etcd lost its keys; the replica's primary is alive: no race for the key */
static void
test_live_upstream_replica_waits(void **state)
{
	as_replica(2000);
	local.upstream_alive = true;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_WAIT_PEERS);
	assert_int_equal(d.leader_action, PGHA_LEADER_NONE);
	assert_false(d.promote);
	assert_non_null(strstr(d.reason, "live primary"));

	/* a manual failover naming it still wins */
	cl.has_failover = true;
	strcpy(cl.failover.member, "pg1");
	local.request_due = true;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_CANDIDATE);

	/* the wait over (the keeper bounds it by ttl): the best candidate */
	setup(state);
	as_replica(2000);
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_CANDIDATE);
}

/* an etcd restored from an old snapshot names this standby as leader */
static void
test_stale_leader_key_is_released(void **state)
{
	as_replica(2000);
	set_leader("pg1");
	local.upstream_alive = true;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_NOT_CANDIDATE);
	assert_int_equal(d.leader_action, PGHA_LEADER_NONE);
	assert_false(d.promote);
	assert_true(d.release_stale_leader);

	/* we took it and are promoting: hold it */
	local.promote_started = true;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_PROMOTING);
	assert_false(d.release_stale_leader);

	/* no live upstream (a crashed leader restarted as a standby): promote */
	local.promote_started = false;
	local.upstream_alive = false;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_PROMOTING);
	assert_true(d.promote);
}

/* cold start: the last leader stopped cleanly at a position we lack */
static void
test_behind_clean_stop_waits(void **state)
{
	as_replica(2000);
	cl.has_final = true;
	strcpy(cl.final_leader, "pg2");
	cl.final_optime = 3000;
	cl.has_optime = true;
	cl.optime = 3000;
	cl.config.maximum_lag_on_failover = 1048576;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_NOT_CANDIDATE);
	assert_int_equal(d.leader_action, PGHA_LEADER_NONE);
	assert_non_null(strstr(d.reason, "stopped cleanly 1000 bytes ahead"));

	/* a member that has it is the candidate */
	local.lsn = 3000;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_CANDIDATE);
	assert_int_equal(d.gives_up, 0);

	/* pghactl failover: promoted, saying what it gives up */
	local.lsn = 2000;
	cl.has_failover = true;
	strcpy(cl.failover.member, "pg1");
	local.request_due = true;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_CANDIDATE);
	assert_int_equal(d.gives_up, 1000);
	assert_non_null(strstr(d.reason, "giving up 1000 bytes"));
}

/*
 * A clean stop (pgha_final written with the key's release, shut down): the
 * first-ranked member that has the last WAL record takes over without
 * waiting for the peers to publish their positions
 */
static void
test_clean_stop_first_ranked_takes_over(void **state)
{
	as_replica(3100);				/* past the shutdown checkpoint's start */
	add_member("pg2", "replica", 2500, 5);	/* position from before the stop */
	cl.has_final = true;
	strcpy(cl.final_leader, "pg3");
	cl.final_optime = 3000;
	cl.final_timeline = 1;
	cl.final_mod_revision = 12;		/* after the last leader we saw (10) */
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_WAIT_PEERS);	/* not shut down */

	cl.final_shut_down = true;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_CANDIDATE);
	assert_int_equal(d.leader_action, PGHA_LEADER_ACQUIRE);
	assert_non_null(strstr(d.reason, "last WAL record"));

	/*
	 * its walsender still sends (0.3-0.5 s after the shutdown checkpoint):
	 * the record is its last, no need to wait for the WAL receiver to end
	 */
	local.upstream_alive = true;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_CANDIDATE);
	assert_non_null(strstr(d.reason, "last WAL record"));
	/* at the record's start we lack the record itself: the upstream decides */
	local.lsn = 3000;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_WAIT_PEERS);
	assert_non_null(strstr(d.reason, "live primary"));
	local.lsn = 3100;
	local.upstream_alive = false;

	/* a key from an earlier stop (an etcd restored from a snapshot) */
	cl.final_mod_revision = 9;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_WAIT_PEERS);
	cl.final_mod_revision = 12;

	/* behind it, or on another timeline: the peers' positions decide */
	local.lsn = 2999;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_NOT_CANDIDATE);
	local.lsn = 3100;
	cl.final_timeline = 2;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_WAIT_PEERS);
	cl.final_timeline = 1;

	/* a peer ranks before us (a smaller name): it takes over, we wait */
	strcpy(cl.members[0].name, "pg0");
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_WAIT_PEERS);
	/* unless it may not (nofailover, priority 0) */
	cl.members[0].failover_priority = 0;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_CANDIDATE);
	/* or we have a higher priority */
	cl.members[0].failover_priority = 1;
	local.failover_priority = 2;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_CANDIDATE);
}

/* the new leader deletes pgha_final once it holds the key */
static void
test_leader_clears_final(void **state)
{
	set_initialized("7711517793368109282");
	set_leader("pg1");
	cl.has_final = true;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_LEADER);
	assert_true(d.clear_final);
	cl.has_final = false;
	pgha_decide(&local, &cl, &d);
	assert_false(d.clear_final);
}

static void
test_primary_fills_claimed_initialize(void **state)
{
	set_initialized("");
	pgha_decide(&local, &cl, &d);
	assert_true(d.write_initialize);
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

/* synchronous mode: the sync key decides who may take over */
static void
set_sync(const char *leader, const char *standby)
{
	cl.config.synchronous_mode = PGHA_SYNC_ON;
	cl.has_sync = true;
	memset(&cl.sync, 0, sizeof(cl.sync));
	strcpy(cl.sync.leader, leader);
	if (standby != NULL)
		strcpy(cl.sync.members[cl.sync.nmembers++], standby);
}

static void
test_sync_mode_only_sync_standby_takes_over(void **state)
{
	as_replica(5000);
	add_member("pg2", "replica", 4000, 20);		/* listed, behind us */
	set_sync("pg3", "pg2");
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_NOT_CANDIDATE);
	assert_int_equal(d.leader_action, PGHA_LEADER_NONE);
	assert_non_null(strstr(d.reason, "not a synchronous standby"));
}

static void
test_sync_mode_sync_standby_ignores_others_and_lag(void **state)
{
	as_replica(1000);
	local.name = "pg2";
	add_member("pg1", "replica", 900000000, 20);	/* async, far ahead */
	cl.has_optime = true;
	cl.optime = 900000000;		/* far beyond maximum_lag_on_failover */
	cl.config.maximum_lag_on_failover = 1048576;
	set_sync("pg3", "PG2");		/* Patroni compares case-insensitively */
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_CANDIDATE);
	assert_int_equal(d.leader_action, PGHA_LEADER_ACQUIRE);
}

static void
test_sync_mode_without_sync_key_nobody_takes_over(void **state)
{
	as_replica(5000);
	cl.config.synchronous_mode = PGHA_SYNC_STRICT;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_NOT_CANDIDATE);
	assert_non_null(strstr(d.reason, "sync key: absent"));
}

static void
test_sync_mode_old_leader_may_take_over(void **state)
{
	as_replica(5000);
	set_sync("pg1", NULL);		/* we led, with no sync standby */
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_CANDIDATE);
}

static void
test_sync_mode_two_sync_standbys_compete(void **state)
{
	as_replica(5000);
	add_member("pg2", "replica", 6000, 20);
	set_sync("pg3", "pg1");
	strcpy(cl.sync.members[cl.sync.nmembers++], "pg2");
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_NOT_CANDIDATE);
	assert_non_null(strstr(d.reason, "pg2"));
}

static void
test_sync_mode_refuses_named_non_sync(void **state)
{
	as_replica(5000);
	set_sync("pg3", "pg2");
	cl.has_failover = true;
	strcpy(cl.failover.member, "pg1");
	local.request_due = true;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_NOT_CANDIDATE);
	assert_int_equal(d.leader_action, PGHA_LEADER_NONE);
}

/* ---- safety rule 6: identity ---- */

static PghaMember *
add_id_member(const char *name, int64_t lease, const char *instance)
{
	PghaMember *m = &cl.members[cl.nmembers++];

	memset(m, 0, sizeof(*m));
	strcpy(m->name, name);
	strcpy(m->conn_url, "postgres://10.0.0.1:5432/postgres");
	strcpy(m->role, "master");
	strcpy(m->instance, instance);
	m->lease = lease;
	m->xlog_location = 100;
	m->failover_priority = 1;
	return m;
}

static void
test_duplicate_name_primary_holds_nothing(void **state)
{
	/* a clone of the leader pg1, promoted, with pg1's config */
	set_initialized("7711517793368109282");
	set_leader("pg1");
	add_id_member("pg1", 111, "aaaaaaaaaaaaaaaa");
	local.lease = 222;
	local.instance = "bbbbbbbbbbbbbbbb";
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_DUPLICATE_NAME);
	assert_int_equal(d.leader_action, PGHA_LEADER_NONE);
	assert_false(d.promote);
	assert_false(d.write_initialize);
	assert_false(d.write_config);
	assert_false(d.publish_optime);
	assert_false(d.refresh_member);
	assert_string_equal(d.reason,
						"member name \"pg1\" is used by a live member at postgres://10.0.0.1:5432/postgres");
}

static void
test_duplicate_name_replica_does_not_promote(void **state)
{
	set_initialized("7711517793368109282");
	set_leader("pg1");
	add_id_member("pg1", 111, "aaaaaaaaaaaaaaaa");
	local.in_recovery = true;
	local.lsn = 100;
	local.lease = 222;
	local.instance = "bbbbbbbbbbbbbbbb";
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_DUPLICATE_NAME);
	assert_false(d.promote);
	assert_int_equal(d.leader_action, PGHA_LEADER_NONE);
}

static void
test_own_member_key_is_not_a_duplicate(void **state)
{
	set_initialized("7711517793368109282");
	set_leader("pg1");
	/* on our lease */
	add_id_member("pg1", 222, "");
	local.lease = 222;
	local.instance = "bbbbbbbbbbbbbbbb";
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_LEADER);
	/* our previous life: another lease (shared memory lost), our instance */
	cl.members[0].lease = 111;
	strcpy(cl.members[0].instance, "bbbbbbbbbbbbbbbb");
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_LEADER);
	/* a key on no lease is no live node */
	cl.members[0].lease = 0;
	strcpy(cl.members[0].instance, "cccccccccccccccc");
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_LEADER);
}

static void
test_name_taken_without_instance_field(void **state)
{
	/* Patroni or an older pgha: no pgha_instance, another lease */
	set_initialized("7711517793368109282");
	add_id_member("pg1", 111, "");
	local.lease = 222;
	local.instance = "bbbbbbbbbbbbbbbb";
	assert_non_null(pgha_name_taken(&cl, "pg1", 222, "bbbbbbbbbbbbbbbb"));
	/* no lease yet and no instance known: still taken */
	assert_non_null(pgha_name_taken(&cl, "pg1", 0, NULL));
	assert_null(pgha_name_taken(&cl, "pg2", 222, "bbbbbbbbbbbbbbbb"));
	/* another member's key under another name is no concern */
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_DUPLICATE_NAME);
}

static void
test_foreign_primary_says_why(void **state)
{
	set_initialized("1234");
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_FOREIGN_CLUSTER);
	assert_string_equal(d.reason,
						"system identifier 7711517793368109282 differs from the cluster's 1234 (initialize key): another cluster's node");
	/* foreign wins over a duplicate name: both write nothing */
	add_id_member("pg1", 111, "aaaaaaaaaaaaaaaa");
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_FOREIGN_CLUSTER);
}

/* ---- the watchdog device ---- */

static void
test_watchdog_required_vetoes_leading(void **state)
{
	set_initialized("7711517793368109282");
	local.watchdog_blocks = true;
	local.watchdog_problem = "no device";
	/* a primary, no leader: does not take the key, fences */
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_FENCE);
	assert_int_equal(d.leader_action, PGHA_LEADER_NONE);
	assert_false(d.publish_optime);
	assert_string_equal(d.reason, "pgha.watchdog_mode is required: no device; not leading");
	/* a primary holding the key lets it go */
	set_leader("pg1");
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_FENCE);
	assert_int_equal(d.leader_action, PGHA_LEADER_NONE);
	/* paused: not fenced */
	cl.config.pause = true;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_PAUSED);
}

static void
test_watchdog_required_candidate_does_not_promote(void **state)
{
	set_initialized("7711517793368109282");
	local.in_recovery = true;
	local.lsn = 100;
	local.peers_wait_over = true;
	local.watchdog_blocks = true;
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_NOT_CANDIDATE);
	assert_false(d.promote);
	assert_int_equal(d.leader_action, PGHA_LEADER_NONE);
	assert_non_null(strstr(d.reason, "pgha.watchdog_mode is required"));
	/* a replica following a leader is not concerned */
	set_leader("pg2");
	pgha_decide(&local, &cl, &d);
	assert_int_equal(d.verdict, PGHA_V_REPLICA);
	assert_string_equal(d.reason, "");
}

static void
test_watchdog_mode_verdicts(void **state)
{
	PghaWatchdogAttempt a;
	char		msg[256];

	memset(&a, 0, sizeof(a));
	a.device = "/dev/watchdog";
	a.loop_wait = 2;
	a.wanted_timeout = pgha_watchdog_timeout(10, 5);
	assert_int_equal(a.wanted_timeout, 5);
	assert_int_equal(pgha_watchdog_timeout(10, -1), 5);
	a.error = "No such file or directory";

	assert_int_equal(pgha_watchdog_verdict(PGHA_WD_OFF, &a, msg, sizeof(msg)), PGHA_WDV_OK);
	assert_int_equal(pgha_watchdog_verdict(PGHA_WD_AUTOMATIC, &a, msg, sizeof(msg)), PGHA_WDV_WARN);
	assert_string_equal(msg, "the watchdog device /dev/watchdog could not be activated: No such file or directory");
	assert_int_equal(pgha_watchdog_verdict(PGHA_WD_REQUIRED, &a, msg, sizeof(msg)), PGHA_WDV_REFUSE);

	a.opened = true;
	a.actual_timeout = 5;
	assert_int_equal(pgha_watchdog_verdict(PGHA_WD_REQUIRED, &a, msg, sizeof(msg)), PGHA_WDV_OK);
	assert_string_equal(msg, "");
	/* the device kept a longer timeout than asked: unsafe */
	a.actual_timeout = 60;
	assert_int_equal(pgha_watchdog_verdict(PGHA_WD_REQUIRED, &a, msg, sizeof(msg)), PGHA_WDV_REFUSE);
	assert_int_equal(pgha_watchdog_verdict(PGHA_WD_AUTOMATIC, &a, msg, sizeof(msg)), PGHA_WDV_WARN);
	/* shorter than loop_wait: it would fire between two pings */
	a.actual_timeout = 1;
	assert_int_equal(pgha_watchdog_verdict(PGHA_WD_REQUIRED, &a, msg, sizeof(msg)), PGHA_WDV_REFUSE);
	/* ttl - safety_margin below loop_wait: no safe watchdog at all */
	a.actual_timeout = 5;
	a.wanted_timeout = pgha_watchdog_timeout(6, 5);
	assert_int_equal(pgha_watchdog_verdict(PGHA_WD_REQUIRED, &a, msg, sizeof(msg)), PGHA_WDV_REFUSE);
	assert_non_null(strstr(msg, "shorter than loop_wait"));
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
		cmocka_unit_test_setup(test_replica_follows_leader, setup),
		cmocka_unit_test_setup(test_standby_holding_the_key_promotes, setup),
		cmocka_unit_test_setup(test_best_replica_takes_over, setup),
		cmocka_unit_test_setup(test_peer_ahead_wins, setup),
		cmocka_unit_test_setup(test_tie_broken_by_priority_then_name, setup),
		cmocka_unit_test_setup(test_stale_peer_makes_candidate_wait, setup),
		cmocka_unit_test_setup(test_ignored_peers, setup),
		cmocka_unit_test_setup(test_lagging_replica_is_not_candidate, setup),
		cmocka_unit_test_setup(test_nofailover_and_no_wal, setup),
		cmocka_unit_test_setup(test_replica_does_not_initialize, setup),
		cmocka_unit_test_setup(test_live_upstream_replica_waits, setup),
		cmocka_unit_test_setup(test_stale_leader_key_is_released, setup),
		cmocka_unit_test_setup(test_behind_clean_stop_waits, setup),
		cmocka_unit_test_setup(test_clean_stop_first_ranked_takes_over, setup),
		cmocka_unit_test_setup(test_leader_clears_final, setup),
		cmocka_unit_test_setup(test_primary_fills_claimed_initialize, setup),
		cmocka_unit_test_setup(test_foreign_system_touches_nothing, setup),
		cmocka_unit_test_setup(test_empty_initialize_is_not_foreign, setup),
		cmocka_unit_test_setup(test_sync_mode_only_sync_standby_takes_over, setup),
		cmocka_unit_test_setup(test_sync_mode_sync_standby_ignores_others_and_lag, setup),
		cmocka_unit_test_setup(test_sync_mode_without_sync_key_nobody_takes_over, setup),
		cmocka_unit_test_setup(test_sync_mode_old_leader_may_take_over, setup),
		cmocka_unit_test_setup(test_sync_mode_two_sync_standbys_compete, setup),
		cmocka_unit_test_setup(test_sync_mode_refuses_named_non_sync, setup),
		cmocka_unit_test_setup(test_duplicate_name_primary_holds_nothing, setup),
		cmocka_unit_test_setup(test_duplicate_name_replica_does_not_promote, setup),
		cmocka_unit_test_setup(test_own_member_key_is_not_a_duplicate, setup),
		cmocka_unit_test_setup(test_name_taken_without_instance_field, setup),
		cmocka_unit_test_setup(test_foreign_primary_says_why, setup),
		cmocka_unit_test_setup(test_watchdog_required_vetoes_leading, setup),
		cmocka_unit_test_setup(test_watchdog_required_candidate_does_not_promote, setup),
		cmocka_unit_test_setup(test_watchdog_mode_verdicts, setup),
		cmocka_unit_test_setup(test_verdict_texts, setup),
	};

	return cmocka_run_group_tests_name("decide", tests, NULL, NULL);
}
