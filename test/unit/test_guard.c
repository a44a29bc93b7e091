/*
 * test_guard.c
 *	  Unit tests of the watchdog's hung-keeper guard over one postmaster's
 *	  run (src/common/policy/guard.c): which deadline is armed, when it
 *	  fails closed, when postgres is killed.  No servers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "guard.h"

#define START	1000000			/* the postmaster's start (boottime ms) */

static PghaGuard g;

static int
setup(void **state)
{
	(void) state;
	pgha_guard_init(&g, START);
	return 0;
}

static PghaHeartbeat
hb_at(int64_t written, bool primary, int64_t deadline, const char *st)
{
	PghaHeartbeat hb;

	memset(&hb, 0, sizeof(hb));
	hb.written_ms = written;
	hb.primary = primary;
	hb.fence_deadline_ms = deadline;
	hb.keeper_pid = 42;
	strcpy(hb.state, st);
	return hb;
}

static PghaGuardAction
decide(int64_t now, bool stopping, int64_t *wake, const char *in_why)
{
	char		why[512];
	PghaGuardVerdict level;
	PghaGuardAction a = pgha_guard_decide(&g, now, stopping, wake, &level,
										  why, sizeof(why));

	if (strstr(why, in_why) == NULL)
		fail_msg("why \"%s\", expected \"%s\" in it", why, in_why);
	return a;
}

static void
test_no_heartbeat(void **state)
{
	int64_t		wake;

	(void) state;
	assert_int_equal(decide(START + 10, false, &wake, "no keeper heartbeat yet"), PGHA_GUARD_WAIT);
	/* wakes up once to warn */
	assert_int_equal(wake, START + PGHA_HEARTBEAT_ABSENT_WARN_MS + 1);
	assert_int_equal(decide(wake, false, &wake, "shared_preload_libraries"), PGHA_GUARD_WAIT);
	assert_true(wake == INT64_MAX);
}

static void
test_primary_armed_wakes_at_deadline_plus_grace(void **state)
{
	PghaHeartbeat hb = hb_at(START + 100, true, START + 9000, "leading");
	int64_t		wake;

	(void) state;
	pgha_guard_observe(&g, &hb);
	assert_int_equal(decide(START + 200, false, &wake, "fencing deadline armed"), PGHA_GUARD_WAIT);
	assert_int_equal(wake, START + 9000 + PGHA_GUARD_GRACE_MS);
	/* at the deadline the keeper's own fence has the first go */
	assert_int_equal(decide(START + 9000, false, &wake, "armed"), PGHA_GUARD_WAIT);
	assert_int_equal(decide(START + 9000 + PGHA_GUARD_GRACE_MS, false, &wake,
							"keeper heartbeat past its fencing deadline"), PGHA_GUARD_KILL);
}

static void
test_newer_heartbeat_moves_the_deadline(void **state)
{
	PghaHeartbeat a = hb_at(START + 100, true, START + 9000, "leading");
	PghaHeartbeat b = hb_at(START + 2100, true, START + 11000, "leading");
	int64_t		wake;

	(void) state;
	pgha_guard_observe(&g, &a);
	pgha_guard_observe(&g, &b);
	assert_int_equal(decide(START + 9500, false, &wake, "armed"), PGHA_GUARD_WAIT);
	assert_int_equal(wake, START + 11000 + PGHA_GUARD_GRACE_MS);
	/* an older heartbeat (out of order) changes nothing */
	pgha_guard_observe(&g, &a);
	assert_int_equal(decide(START + 9500, false, &wake, "armed"), PGHA_GUARD_WAIT);
}

static void
test_fails_closed(void **state)
{
	PghaHeartbeat a = hb_at(START + 100, true, START + 9000, "leading");
	PghaHeartbeat r = hb_at(START + 3000, false, 0, "starting");
	int64_t		wake;

	(void) state;
	pgha_guard_observe(&g, &a);
	/* missing or unparseable: the last deadline stays */
	pgha_guard_observe(&g, NULL);
	/* a restarted keeper says replica: still armed */
	pgha_guard_observe(&g, &r);
	assert_int_equal(decide(START + 3100, false, &wake, "stays armed"), PGHA_GUARD_WAIT);
	assert_int_equal(wake, START + 9000 + PGHA_GUARD_GRACE_MS);
	assert_int_equal(decide(START + 9200, false, &wake, "past its fencing deadline"), PGHA_GUARD_KILL);
}

static void
test_the_fenced_heartbeat_keeps_the_deadline(void **state)
{
	PghaHeartbeat f = hb_at(START + 9000, true, START + 9000, "fenced");
	int64_t		wake;

	(void) state;
	pgha_guard_observe(&g, &f);
	/* the postmaster never acted on SIGINT (stopped): killed */
	assert_int_equal(decide(START + 9000 + PGHA_GUARD_GRACE_MS, false, &wake, "not shutting down"),
					 PGHA_GUARD_KILL);
}

static void
test_a_stopping_shutdown_gets_a_longer_bound(void **state)
{
	PghaHeartbeat f = hb_at(START + 9000, true, START + 9000, "fenced");
	int64_t		wake;

	(void) state;
	pgha_guard_observe(&g, &f);
	assert_int_equal(decide(START + 9000 + PGHA_GUARD_GRACE_MS, true, &wake, "shutting down"),
					 PGHA_GUARD_WAIT);
	assert_int_equal(wake, START + 9000 + PGHA_GUARD_STOPPING_MAX_MS);
	assert_int_equal(decide(wake - 1, true, &wake, "shutting down"), PGHA_GUARD_WAIT);
	assert_int_equal(decide(START + 9000 + PGHA_GUARD_STOPPING_MAX_MS, true, &wake,
							"shutdown still not finished"), PGHA_GUARD_KILL);
}

static void
test_maintenance_mode_disarms(void **state)
{
	PghaHeartbeat a = hb_at(START + 100, true, START + 9000, "leading");
	PghaHeartbeat p = hb_at(START + 2100, true, 0, "paused");
	int64_t		wake;

	(void) state;
	pgha_guard_observe(&g, &a);
	pgha_guard_observe(&g, &p);
	assert_int_equal(decide(START + 20000, false, &wake, "primary without a fencing deadline"),
					 PGHA_GUARD_WAIT);
	assert_int_equal(wake, START + 2100 + PGHA_HEARTBEAT_STALE_WARN_MS + 1);
}

static void
test_replica_never_fences(void **state)
{
	PghaHeartbeat r = hb_at(START + 100, false, 0, "following");
	int64_t		wake;

	(void) state;
	pgha_guard_observe(&g, &r);
	assert_int_equal(decide(START + 5000, false, &wake, "replica"), PGHA_GUARD_WAIT);
	assert_int_equal(decide(START + 5000, true, &wake, "replica"), PGHA_GUARD_WAIT);
	/* stale: a warning, still nothing to do */
	assert_int_equal(decide(START + 100 + PGHA_HEARTBEAT_STALE_WARN_MS + 1, false, &wake, "is it hung"),
					 PGHA_GUARD_WAIT);
}

static void
test_heartbeat_of_an_earlier_run_is_ignored(void **state)
{
	PghaHeartbeat old = hb_at(START - 10, true, START + 50, "leading");
	int64_t		wake;

	(void) state;
	pgha_guard_observe(&g, &old);
	assert_int_equal(decide(START + 5000, false, &wake, "no keeper heartbeat yet"), PGHA_GUARD_WAIT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_no_heartbeat, setup),
		cmocka_unit_test_setup(test_primary_armed_wakes_at_deadline_plus_grace, setup),
		cmocka_unit_test_setup(test_newer_heartbeat_moves_the_deadline, setup),
		cmocka_unit_test_setup(test_fails_closed, setup),
		cmocka_unit_test_setup(test_the_fenced_heartbeat_keeps_the_deadline, setup),
		cmocka_unit_test_setup(test_a_stopping_shutdown_gets_a_longer_bound, setup),
		cmocka_unit_test_setup(test_maintenance_mode_disarms, setup),
		cmocka_unit_test_setup(test_replica_never_fences, setup),
		cmocka_unit_test_setup(test_heartbeat_of_an_earlier_run_is_ignored, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
