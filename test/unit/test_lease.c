/*
 * test_lease.c
 *	  Unit tests of the fencing deadline (src/common/policy/lease.c), one
 *	  test per rule: events in, deadline and "writes allowed" out.
 *	  Times are milliseconds of an arbitrary clock; ttl in seconds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "lease.h"

#define A 1001					/* lease ids */
#define B 2002
#define C 3003

static PghaLeaseState st;

static int
setup(void **state)
{
	(void) state;
	memset(&st, 0, sizeof(st));
	return 0;
}

/* margin: a quarter of the ttl, at most 1 s */
static void
test_margin(void **state)
{
	(void) state;
	assert_int_equal(pgha_lease_margin_ms(2), 500);
	assert_int_equal(pgha_lease_margin_ms(4), 1000);
	assert_int_equal(pgha_lease_margin_ms(30), 1000);
}

/* no lease: no deadline, no writes */
static void
test_no_lease(void **state)
{
	(void) state;
	assert_int_equal(pgha_lease_deadline(&st), 0);
	assert_false(pgha_lease_writes_allowed(&st, 1));
	assert_true(pgha_lease_need_grant(&st, 9));
}

/* granted at t=1000 (send time) with ttl 9: deadline 1000 + 9000 - 1000 */
static void
test_grant_sets_deadline(void **state)
{
	(void) state;
	pgha_lease_granted(&st, A, 9, 1000);
	assert_int_equal(pgha_lease_current(&st), A);
	assert_int_equal(pgha_lease_deadline(&st), 9000);
	assert_true(pgha_lease_writes_allowed(&st, 8999));
	assert_false(pgha_lease_writes_allowed(&st, 9000));
	assert_false(pgha_lease_need_grant(&st, 9));
}

/* the send time of the keepalive counts, not the time of the answer */
static void
test_keepalive_moves_deadline_by_send_time(void **state)
{
	(void) state;
	pgha_lease_granted(&st, A, 9, 1000);
	pgha_lease_keepalive_sent(&st, A, 3000);
	assert_int_equal(pgha_lease_deadline(&st), 9000);	/* not answered yet */
	assert_int_equal(pgha_lease_keepalive_answered(&st, A, 9), 0);
	assert_int_equal(pgha_lease_deadline(&st), 11000);
}

/* an unanswered keepalive does not move it; a later send keeps the earlier time */
static void
test_unanswered_keepalive(void **state)
{
	(void) state;
	pgha_lease_granted(&st, A, 9, 1000);
	pgha_lease_keepalive_sent(&st, A, 3000);	/* timed out */
	pgha_lease_keepalive_sent(&st, A, 6000);
	pgha_lease_keepalive_answered(&st, A, 9);
	/* the answer may belong to the first request: only 3000 is certain */
	assert_int_equal(pgha_lease_deadline(&st), 11000);
}

/* ttl 0 in the answer: the lease and the keys on it are gone */
static void
test_keepalive_lease_gone(void **state)
{
	(void) state;
	pgha_lease_granted(&st, A, 9, 1000);
	pgha_lease_key_on(&st, PGHA_KEY_LEADER | PGHA_KEY_MEMBER, A);
	pgha_lease_keepalive_sent(&st, A, 3000);
	assert_int_equal(pgha_lease_keepalive_answered(&st, A, 0),
					 PGHA_KEY_LEADER | PGHA_KEY_MEMBER);
	assert_int_equal(pgha_lease_current(&st), 0);
	assert_int_equal(pgha_lease_deadline(&st), 0);
	assert_false(pgha_lease_writes_allowed(&st, 3001));
	assert_true(pgha_lease_need_grant(&st, 9));
}

/*
 * ttl change (issue 9 item 4): the new lease does not move the deadline
 * while the leader key still sits on the old lease nobody renews.
 */
static void
test_ttl_change_keeps_old_deadline_until_moved(void **state)
{
	(void) state;
	pgha_lease_granted(&st, A, 9, 1000);	/* old: deadline 9000 */
	pgha_lease_key_on(&st, PGHA_KEY_LEADER | PGHA_KEY_MEMBER, A);
	assert_true(pgha_lease_need_grant(&st, 29));
	pgha_lease_granted(&st, B, 29, 5000);	/* new: 5000+29000-1000 */
	assert_int_equal(pgha_lease_current(&st), B);
	assert_int_equal(pgha_lease_previous(&st), A);
	assert_int_equal(pgha_lease_deadline(&st), 9000);
	assert_int_equal(pgha_lease_key_lease(&st, PGHA_KEY_LEADER), A);
	/* no third lease while the keys move */
	assert_false(pgha_lease_need_grant(&st, 19));
	/* the leader key moved: the member key still holds the old deadline */
	pgha_lease_key_on(&st, PGHA_KEY_LEADER, B);
	assert_int_equal(pgha_lease_deadline(&st), 9000);
	assert_int_equal(st.retired_id, 0);
	pgha_lease_key_on(&st, PGHA_KEY_MEMBER, B);
	assert_int_equal(pgha_lease_deadline(&st), 33000);
	assert_int_equal(pgha_lease_previous(&st), 0);
	assert_int_equal(st.retired_id, A);
	pgha_lease_revoked(&st, A);
	assert_int_equal(st.retired_id, 0);
}

/* a move with an unknown outcome: the key counts on both leases */
static void
test_unknown_outcome_counts_both(void **state)
{
	(void) state;
	pgha_lease_granted(&st, A, 29, 1000);	/* old: 29000 */
	pgha_lease_key_on(&st, PGHA_KEY_LEADER, A);
	pgha_lease_granted(&st, B, 9, 20000);	/* new: 28000 */
	pgha_lease_key_maybe_on(&st, PGHA_KEY_LEADER, B);
	assert_int_equal(pgha_lease_deadline(&st), 28000);
	pgha_lease_keepalive_sent(&st, B, 25000);
	pgha_lease_keepalive_answered(&st, B, 9);
	/* the new one renewed, the old one may still carry the key */
	assert_int_equal(pgha_lease_deadline(&st), 29000);
}

/* a grant while no key sits on the current lease retires it at once */
static void
test_grant_without_keys_retires(void **state)
{
	(void) state;
	pgha_lease_granted(&st, A, 9, 1000);
	pgha_lease_granted(&st, B, 29, 2000);
	assert_int_equal(pgha_lease_previous(&st), 0);
	assert_int_equal(st.retired_id, A);
	assert_int_equal(pgha_lease_deadline(&st), 30000);
}

/* the key taken or deleted: the old lease no longer matters */
static void
test_key_gone_drops_old_lease(void **state)
{
	(void) state;
	pgha_lease_granted(&st, A, 9, 1000);
	pgha_lease_key_on(&st, PGHA_KEY_LEADER, A);
	pgha_lease_granted(&st, B, 29, 5000);
	pgha_lease_key_gone(&st, PGHA_KEY_LEADER);
	assert_int_equal(pgha_lease_previous(&st), 0);
	assert_int_equal(pgha_lease_deadline(&st), 33000);
}

/* a key found on a lease that is not ours is not held */
static void
test_key_on_foreign_lease(void **state)
{
	(void) state;
	pgha_lease_granted(&st, A, 9, 1000);
	pgha_lease_key_on(&st, PGHA_KEY_LEADER, C);
	assert_int_equal(pgha_lease_key_lease(&st, PGHA_KEY_LEADER), 0);
	pgha_lease_key_on(&st, PGHA_KEY_LEADER, A);
	assert_int_equal(pgha_lease_key_lease(&st, PGHA_KEY_LEADER), A);
}

/* a keeper restart keeps the deadline; a keepalive in flight is forgotten */
static void
test_restore_keeps_deadline(void **state)
{
	PghaLeaseState copy;

	(void) state;
	pgha_lease_granted(&st, A, 9, 1000);
	pgha_lease_key_on(&st, PGHA_KEY_LEADER, A);
	pgha_lease_keepalive_sent(&st, A, 4000);
	memcpy(&copy, &st, sizeof(copy));	/* the shared-memory copy */
	pgha_lease_restored(&copy);
	assert_int_equal(pgha_lease_deadline(&copy), 9000);
	pgha_lease_keepalive_answered(&copy, A, 9); /* a stray answer */
	assert_int_equal(pgha_lease_deadline(&copy), 9000);
	assert_int_equal(pgha_lease_key_lease(&copy, PGHA_KEY_LEADER), A);
}

/* garbage in shared memory (never written) restores to "no lease" */
static void
test_restore_garbage(void **state)
{
	(void) state;
	st.slot[0].id = A;
	st.slot[0].ttl_s = 0;
	st.slot[1].id = B;
	st.slot[1].ttl_s = 9;
	st.slot[1].renewed_ms = 0;
	pgha_lease_restored(&st);
	assert_int_equal(pgha_lease_deadline(&st), 0);
}

/* revoke of the current lease: its keys are gone with it */
static void
test_revoke_current(void **state)
{
	(void) state;
	pgha_lease_granted(&st, A, 9, 1000);
	pgha_lease_key_on(&st, PGHA_KEY_MEMBER, A);
	pgha_lease_revoked(&st, A);
	assert_int_equal(pgha_lease_current(&st), 0);
	assert_int_equal(pgha_lease_deadline(&st), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_margin, setup),
		cmocka_unit_test_setup(test_no_lease, setup),
		cmocka_unit_test_setup(test_grant_sets_deadline, setup),
		cmocka_unit_test_setup(test_keepalive_moves_deadline_by_send_time, setup),
		cmocka_unit_test_setup(test_unanswered_keepalive, setup),
		cmocka_unit_test_setup(test_keepalive_lease_gone, setup),
		cmocka_unit_test_setup(test_ttl_change_keeps_old_deadline_until_moved, setup),
		cmocka_unit_test_setup(test_unknown_outcome_counts_both, setup),
		cmocka_unit_test_setup(test_grant_without_keys_retires, setup),
		cmocka_unit_test_setup(test_key_gone_drops_old_lease, setup),
		cmocka_unit_test_setup(test_key_on_foreign_lease, setup),
		cmocka_unit_test_setup(test_restore_keeps_deadline, setup),
		cmocka_unit_test_setup(test_restore_garbage, setup),
		cmocka_unit_test_setup(test_revoke_current, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
