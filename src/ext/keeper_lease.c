/*-------------------------------------------------------------------------
 *
 * keeper_lease.c
 *	  The keeper's lease and fencing deadline: the I/O around lease.c.
 *
 * Each cycle renews the current lease with one keepalive, and grants a
 * new lease when there is none or the effective (shared) ttl changed; the
 * leader key and the member key then move to it in the same cycle
 * (keeper_cycle.c), and until etcd confirms the move the deadline stays
 * the old lease's (lease.c).  The lease state and the deadline live in
 * shared memory, so that a keeper that ends with an ERROR and is
 * restarted by the postmaster keeps them: a restarted keeper on a primary
 * fences by the original deadline, and tells the watchdog so in its first
 * heartbeat.  PGDATA/pgha.fence keeps them across a crash restart of the
 * whole instance, which makes shared memory anew (fence_file.c).  The same deadline is armed for the commit check of every
 * backend (commit_guard.c) whenever this node is a primary not in
 * maintenance mode.
 *
 *-------------------------------------------------------------------------
 */
#include "keeper.h"

/*
 * The lease is granted for ttl - 1 s (at least etcd's minimum, 2 s): etcd
 * checks expiry every 0.5 s or so, so the keys of a dead leader are gone
 * within ttl of its last renewal, which is what ttl promises.
 */
static int
keeper_lease_ttl(const Keeper *k)
{
	return Max(k->cfg.ttl - 1, 2);
}

/*
 * Keep the lease alive.  The time a keepalive was sent (not answered) is
 * what bounds the lease's expiry in etcd, so that is what lease.c records.
 */
bool
keeper_ensure_lease(Keeper *k, CycleResult *res)
{
	EtcdError	err;
	int64		cur = pgha_lease_current(&k->lease);
	int			want = keeper_lease_ttl(k);
	int64		id = 0;
	int			granted = 0;
	int64		sent;

	if (cur != 0)
	{
		int			ttl_left = 0;

		pgha_lease_keepalive_sent(&k->lease, cur, etcd_now_ms());
		if (etcd_lease_keepalive(k->client, cur, &ttl_left, &err) != ETCD_OK)
		{
			keeper_lease_publish(k);
			return keeper_cycle_fail(res, &err);
		}
		if (pgha_lease_keepalive_answered(&k->lease, cur, ttl_left) != 0 ||
			ttl_left <= 0)
			ereport(LOG,
					(errmsg("pgha: lease %lld expired in etcd, granting a new one",
							(long long) cur)));
	}
	if (!pgha_lease_need_grant(&k->lease, want))
	{
		keeper_lease_publish(k);
		return true;
	}
	if (pgha_lease_current(&k->lease) != 0)
		ereport(LOG,
				(errmsg("pgha: the ttl is now %d s: moving this member's keys to a new lease",
						k->cfg.ttl),
				 errdetail("Until etcd confirms the move, writes stop by the old lease's deadline.")));
	sent = etcd_now_ms();
	if (etcd_lease_grant(k->client, want, &id, &granted, &err) != ETCD_OK)
	{
		keeper_lease_publish(k);
		return keeper_cycle_fail(res, &err);
	}
	pgha_lease_granted(&k->lease, id, granted, sent);
	keeper_lease_publish(k);
	return true;
}

/* a lease that carries none of our keys any more: revoke it (best effort) */
void
keeper_lease_revoke_retired(Keeper *k)
{
	EtcdError	err;
	int64		id = k->lease.retired_id;

	if (id == 0)
		return;
	if (etcd_lease_revoke(k->client, id, &err) == ETCD_OK ||
		err.status == ETCD_ERR_NOT_FOUND)
		pgha_lease_revoked(&k->lease, id);
	keeper_lease_publish(k);
}

/*
 * At the keeper's start: take over what an earlier keeper of this
 * postmaster left in shared memory.  Returns with k->fence_deadline_ms
 * set when one was saved.
 */
void
keeper_lease_restore(Keeper *k)
{
	LWLockAcquire(pgha_shared->lock, LW_SHARED);
	if (pgha_shared->fence_saved)
	{
		k->lease = pgha_shared->lease;
		k->fence_deadline_ms = pgha_shared->fence_deadline_ms;
		k->fenced = pgha_shared->fenced;
		k->paused = pgha_shared->fence_paused;
	}
	LWLockRelease(pgha_shared->lock);
	pgha_lease_restored(&k->lease);
}

/*
 * Bring the deadline up to date, save the state for a restarted keeper,
 * and arm (or disarm) the commit check of every backend.  The deadline
 * follows lease.c's answer; without any lease (none granted yet, or the
 * last one is gone) it stays where it was: after a fresh postmaster start
 * start + retry_timeout, later the last lease's.
 */
void
keeper_lease_publish(Keeper *k)
{
	uint64		armed = 0;
	int64		d = pgha_lease_deadline(&k->lease);

	if (d > 0)
		k->fence_deadline_ms = d;

	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	pgha_shared->fence_saved = true;
	pgha_shared->lease = k->lease;
	pgha_shared->fence_deadline_ms = k->fence_deadline_ms;
	pgha_shared->fenced = k->fenced;
	pgha_shared->fence_paused = k->paused;
	LWLockRelease(pgha_shared->lock);

	/*
	 * Armed on a standby too, harmlessly (a standby commits nothing with an
	 * xid), so that a promoted standby is covered from its first commit; a
	 * node that is not who it claims to be (a clone with a running member's
	 * name, another initdb's node) is kept at "past the deadline", so that
	 * a promotion behind the keeper's back (pg_ctl promote) never commits
	 * before the keeper's next cycle fences it.
	 */
	if (k->identity_refused)
		armed = 1;				/* rule 6: not even in maintenance mode */
	else if (!k->paused)
	{
		if (k->fenced)
			armed = 1;			/* in the past: no commit any more */
		else if (k->fence_deadline_ms > 0)
			armed = (uint64) k->fence_deadline_ms;
	}
	pg_atomic_write_u64(&pgha_shared->commit_deadline_ms, armed);

	/* and for the instance after a crash restart (fence_file.c) */
	pgha_fence_file_save(&k->lease, k->fence_deadline_ms, k->fenced,
						 k->paused, armed);
}
