/*-------------------------------------------------------------------------
 *
 * lease.h
 *	  The fencing deadline as a pure function of lease events.
 *
 * A primary may accept writes only while every lease that may still carry
 * its keys (the leader key and its member key) is alive in etcd.  This
 * module tracks those leases from the events the keeper feeds it (a
 * lease granted, a keepalive sent and answered, a key moved to a lease or
 * gone, a revoke, a restart of the keeper) and answers: the fencing
 * deadline (the earliest "renewal sent + granted ttl - margin" of any such
 * lease) and whether writes may continue now.  No I/O, no clock of its
 * own: times are passed in (CLOCK_BOOTTIME milliseconds in the keeper).
 * The state is a plain struct, so that it can live in shared memory and
 * survive a restart of the keeper (test/unit/test_lease.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_LEASE_H
#define PGHA_LEASE_H

#include <stdbool.h>
#include <stdint.h>

/* which of this node's keys may sit on a lease */
#define PGHA_KEY_LEADER 0x1
#define PGHA_KEY_MEMBER 0x2

typedef struct PghaLeaseSlot
{
	int64_t		id;				/* 0: slot unused */
	int			ttl_s;			/* granted TTL */
	int64_t		renewed_ms;		/* send time of the last grant/keepalive
								 * that etcd confirmed */
	int64_t		pending_ms;		/* send time of a keepalive not answered
								 * yet; 0 = none */
	unsigned	keys;			/* PGHA_KEY_* that may sit on it */
} PghaLeaseSlot;

/*
 * slot[0] is the lease the keeper renews and puts its keys on; slot[1] the
 * previous one while keys may still sit on it (a ttl change moves them).
 */
typedef struct PghaLeaseState
{
	PghaLeaseSlot slot[2];
	int64_t		retired_id;		/* a lease that carries none of our keys any
								 * more and may be revoked; 0 = none */
} PghaLeaseState;

/* stop writes this long before a lease can expire in etcd */
extern int64_t pgha_lease_margin_ms(int ttl_s);

/* events */
extern void pgha_lease_granted(PghaLeaseState *st, int64_t id, int ttl_s,
							   int64_t sent_ms);
extern void pgha_lease_keepalive_sent(PghaLeaseState *st, int64_t id,
									  int64_t sent_ms);
/* ttl_left 0: the lease is gone in etcd; returns the keys lost with it */
extern unsigned pgha_lease_keepalive_answered(PghaLeaseState *st, int64_t id,
											  int ttl_left);
/* a write confirmed that key sits on lease id (0 or a foreign lease: not ours) */
extern void pgha_lease_key_on(PghaLeaseState *st, unsigned key, int64_t id);
/* a write with an unknown outcome may have put key on lease id */
extern void pgha_lease_key_maybe_on(PghaLeaseState *st, unsigned key,
									int64_t id);
/* key deleted or written by someone else: on none of our leases */
extern void pgha_lease_key_gone(PghaLeaseState *st, unsigned key);
extern void pgha_lease_revoked(PghaLeaseState *st, int64_t id);
/* after a keeper restart, with the state copied from shared memory */
extern void pgha_lease_restored(PghaLeaseState *st);

/* questions */
extern int64_t pgha_lease_current(const PghaLeaseState *st);
/* the lease keys still have to move off (0 = none) */
extern int64_t pgha_lease_previous(const PghaLeaseState *st);
/* a lease with this ttl is wanted: grant one (false while keys still move) */
extern bool pgha_lease_need_grant(const PghaLeaseState *st, int ttl_s);
/* the lease key sits on now, as far as we know (0 = none of ours) */
extern int64_t pgha_lease_key_lease(const PghaLeaseState *st, unsigned key);
/* earliest expiry minus margin of any lease that may carry our keys; 0 = none */
extern int64_t pgha_lease_deadline(const PghaLeaseState *st);
extern bool pgha_lease_writes_allowed(const PghaLeaseState *st, int64_t now_ms);

#endif							/* PGHA_LEASE_H */
