/*-------------------------------------------------------------------------
 *
 * test_ctl_logic.c
 *	  Unit tests of pghactl's decisions (src/common/policy/ctl_logic.c): what came
 *	  of a switchover or failover request, whether a cluster is live, and
 *	  how a confirmation answer reads.
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

#include "ctl_logic.h"

/* leader NULL: no leader key; pending: the failover key holds a request */
static void
setup_cluster(PghaCluster *cl, const char *leader, bool pending)
{
	memset(cl, 0, sizeof(*cl));
	if (leader != NULL)
	{
		cl->has_leader = true;
		snprintf(cl->leader, sizeof(cl->leader), "%s", leader);
	}
	cl->has_failover = pending;
	if (pending)
	{
		snprintf(cl->failover.leader, sizeof(cl->failover.leader), "pg2");
		snprintf(cl->failover.member, sizeof(cl->failover.member), "pg3");
	}
}

static void
add_member(PghaCluster *cl, const char *name, const char *state)
{
	PghaMember *m = &cl->members[cl->nmembers++];

	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->state, sizeof(m->state), "%s", state);
}

static PghaRequestOutcome
outcome(const char *leader, bool pending, const char *old, const char *candidate,
		char *new_leader)
{
	PghaCluster *cl = malloc(sizeof(PghaCluster));
	PghaRequestOutcome o;

	setup_cluster(cl, leader, pending);
	o = pgha_request_outcome(cl, old, candidate, new_leader, PGHA_NAME_LEN);
	free(cl);
	return o;
}

static void
test_switchover_outcome(void **state)
{
	char		nl[PGHA_NAME_LEN];

	/* still the old leader, the request still there */
	assert_int_equal(outcome("pg2", true, "pg2", "pg3", nl), PGHA_OUTCOME_PENDING);
	assert_string_equal(nl, "");
	/* between the old leader's release and the candidate's take */
	assert_int_equal(outcome(NULL, true, "pg2", "pg3", nl), PGHA_OUTCOME_PENDING);
	/* the candidate took the key; the failover key may be cleared or not yet */
	assert_int_equal(outcome("pg3", true, "pg2", "pg3", nl), PGHA_OUTCOME_DONE);
	assert_string_equal(nl, "pg3");
	assert_int_equal(outcome("pg3", false, "pg2", "pg3", nl), PGHA_OUTCOME_DONE);
	/* no candidate named: whoever took it */
	assert_int_equal(outcome("pg1", false, "pg2", NULL, nl), PGHA_OUTCOME_DONE);
	assert_string_equal(nl, "pg1");
	assert_int_equal(outcome("pg1", false, "pg2", "", nl), PGHA_OUTCOME_DONE);
	/* someone else than the candidate */
	assert_int_equal(outcome("pg1", false, "pg2", "pg3", nl), PGHA_OUTCOME_OTHER);
	assert_string_equal(nl, "pg1");
	/* the request cleared while the old leader stays: declined */
	assert_int_equal(outcome("pg2", false, "pg2", "pg3", nl), PGHA_OUTCOME_GONE);
	assert_string_equal(nl, "");
	assert_int_equal(outcome(NULL, false, "pg2", "pg3", nl), PGHA_OUTCOME_GONE);
	/* an unusable leader value is no new leader */
	assert_int_equal(outcome("", true, "pg2", "pg3", nl), PGHA_OUTCOME_PENDING);
}

static void
test_failover_outcome(void **state)
{
	char		nl[PGHA_NAME_LEN];

	/* no leader before: any leader key is news */
	assert_int_equal(outcome(NULL, true, NULL, "pg3", nl), PGHA_OUTCOME_PENDING);
	assert_int_equal(outcome(NULL, true, "", "pg3", nl), PGHA_OUTCOME_PENDING);
	assert_int_equal(outcome("pg3", false, NULL, "pg3", nl), PGHA_OUTCOME_DONE);
	assert_int_equal(outcome("pg3", true, "", "pg3", nl), PGHA_OUTCOME_DONE);
	assert_int_equal(outcome("pg1", false, NULL, "pg3", nl), PGHA_OUTCOME_OTHER);
	assert_int_equal(outcome(NULL, false, NULL, "pg3", nl), PGHA_OUTCOME_GONE);
}

static void
test_is_live(void **state)
{
	PghaCluster *cl = malloc(sizeof(PghaCluster));
	char		why[256];
	char		small[12];

	setup_cluster(cl, NULL, false);
	assert_false(pgha_cluster_is_live(cl, why, sizeof(why)));
	assert_string_equal(why, "");
	add_member(cl, "pg1", "stopped");
	add_member(cl, "pg2", "");
	assert_false(pgha_cluster_is_live(cl, why, sizeof(why)));

	add_member(cl, "pg3", "running");
	add_member(cl, "pg4", "running");
	assert_true(pgha_cluster_is_live(cl, why, sizeof(why)));
	assert_string_equal(why, "members running: \"pg3\", \"pg4\"");

	cl->has_leader = true;
	snprintf(cl->leader, sizeof(cl->leader), "pg3");
	assert_true(pgha_cluster_is_live(cl, why, sizeof(why)));
	assert_string_equal(why, "the leader key names \"pg3\"; members running: \"pg3\", \"pg4\"");

	/* a leader key alone lives on a lease someone keeps alive */
	setup_cluster(cl, "pg2", false);
	add_member(cl, "pg2", "stopped");
	assert_true(pgha_cluster_is_live(cl, why, sizeof(why)));
	assert_string_equal(why, "the leader key names \"pg2\"");

	/* a short buffer is cut, not overrun */
	setup_cluster(cl, "pg2", false);
	add_member(cl, "pg3", "running");
	add_member(cl, "pg4", "running");
	assert_true(pgha_cluster_is_live(cl, small, sizeof(small)));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	free(cl);
}

static void
test_yes_no(void **state)
{
	assert_int_equal(pgha_parse_yes_no("y"), 1);
	assert_int_equal(pgha_parse_yes_no("Y"), 1);
	assert_int_equal(pgha_parse_yes_no("yes"), 1);
	assert_int_equal(pgha_parse_yes_no(" YeS \n"), 1);
	assert_int_equal(pgha_parse_yes_no("n"), 0);
	assert_int_equal(pgha_parse_yes_no("No"), 0);
	assert_int_equal(pgha_parse_yes_no(""), 0);
	assert_int_equal(pgha_parse_yes_no("  \n"), 0);
	assert_int_equal(pgha_parse_yes_no("maybe"), -1);
	assert_int_equal(pgha_parse_yes_no("yess"), -1);
	assert_int_equal(pgha_parse_yes_no("y e s"), -1);
	assert_int_equal(pgha_parse_yes_no("1"), -1);
	assert_int_equal(pgha_parse_yes_no("yesyesyesyesyesyes"), -1);
}

/*
 * Every read a poll loop makes starts with read_ms before the deadline,
 * whatever the phase of the clock: the last read of 030's two-second
 * switchover wait was once sent after the deadline and failed.
 */
static void
test_poll_pause(void **state)
{
	const int64_t deadline = 1000000 + 2000;

	assert_int_equal(pgha_poll_pause_ms(1000000, deadline, 100, 300), 100);
	assert_int_equal(pgha_poll_pause_ms(deadline - 350, deadline, 100, 300), 50);
	assert_int_equal(pgha_poll_pause_ms(deadline - 301, deadline, 100, 300), 1);
	assert_int_equal(pgha_poll_pause_ms(deadline - 300, deadline, 100, 300), -1);
	assert_int_equal(pgha_poll_pause_ms(deadline + 5, deadline, 100, 300), -1);
	for (int64_t now = 1000000; now <= deadline; now++)
	{
		int			p = pgha_poll_pause_ms(now, deadline, 100, 300);

		if (p < 0)
			assert_true(deadline - now <= 300);
		else
		{
			assert_true(p > 0 && p <= 100);
			assert_true(now + p + 300 <= deadline);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_switchover_outcome),
		cmocka_unit_test(test_failover_outcome),
		cmocka_unit_test(test_is_live),
		cmocka_unit_test(test_yes_no),
		cmocka_unit_test(test_poll_pause),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
