/*-------------------------------------------------------------------------
 *
 * commit_guard.c
 *	  The fencing deadline, enforced by every backend at commit.
 *
 * The keeper fences a primary at its deadline by asking the postmaster for
 * a fast shutdown, and the watchdog kills the instance a little later if
 * that did not work.  Both need a process that runs: a frozen keeper and
 * postmaster (SIGSTOP, a stalled VM) leave backends that still serve
 * clients.  So each backend checks the deadline itself, lock-free, from
 * shared memory (keeper_lease.c arms it on a node not in maintenance
 * mode, on CLOCK_BOOTTIME, 1 once the keeper fenced):
 *
 *	 - before commit (XACT_EVENT_PRE_COMMIT, _PARALLEL_PRE_COMMIT,
 *	   _PRE_PREPARE): a transaction with an xid past the deadline fails
 *	   with an ERROR; nothing was written for it, so nothing is lost;
 *	 - after commit (XACT_EVENT_COMMIT): the commit record is flushed (and,
 *	   with synchronous replication, acknowledged by the standby) but not
 *	   yet acknowledged to the client.  An ERROR here would be a PANIC
 *	   (xact.c: the transaction can no longer abort), so when the deadline
 *	   passed meanwhile (the instance was frozen in between, or waited for
 *	   its synchronous standby) the backend shuts the client's socket down
 *	   instead: the client sees the connection break, an unknown outcome,
 *	   never a "COMMIT" for a write that a new leader may not have.  The
 *	   backend ends at its next read from the socket.
 *
 * The cost: one atomic read and, for a transaction with an xid, one
 * clock_gettime() per commit.
 *
 *-------------------------------------------------------------------------
 */
#include "pgha.h"

#include <sys/socket.h>

#include "access/xact.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"

#include "node_files.h"

static bool guard_checked_xid = false;	/* the pre-commit check ran */

/* the client socket of this backend, none in a background worker */
static pgsocket
client_socket(void)
{
	if (MyProcPort == NULL)
		return PGINVALID_SOCKET;
	return MyProcPort->sock;
}

/* how long ago the deadline passed, 0 when none or not yet */
static int64
ms_past_deadline(void)
{
	uint64		deadline;
	int64		now;

	if (pgha_shared == NULL)
		return 0;
	deadline = pg_atomic_read_u64(&pgha_shared->commit_deadline_ms);
	if (deadline == 0)
		return 0;
	now = pgha_boottime_ms();
	return now >= (int64) deadline ? now - (int64) deadline : 0;
}

static bool
deadline_passed(void)
{
	uint64		deadline;

	if (pgha_shared == NULL)
		return false;
	deadline = pg_atomic_read_u64(&pgha_shared->commit_deadline_ms);
	return deadline != 0 && pgha_boottime_ms() >= (int64) deadline;
}

/*
 * The DETAIL of the refusal.  A deadline of 1 is no lease's: the keeper
 * fenced this primary on purpose (a switchover, another member's key; its
 * reason is in shared memory), or refused the node's identity, or the
 * fence survived a crash restart.
 */
static int
errdetail_why_fenced(void)
{
	char		reason[PGHA_ERR_LEN];

	if (pg_atomic_read_u64(&pgha_shared->commit_deadline_ms) != 1)
		return errdetail("This node could not renew its leader lease in etcd in time (by %lld ms); another node may lead the cluster now.",
						 (long long) ms_past_deadline());
	LWLockAcquire(pgha_shared->lock, LW_SHARED);
	strlcpy(reason, pgha_shared->fenced ? pgha_shared->fence_reason : "",
			sizeof(reason));
	LWLockRelease(pgha_shared->lock);
	if (reason[0] != '\0')
		return errdetail("Its keeper fenced this primary (%s): it takes no more writes and shuts down.",
						 reason);
	return errdetail("This node takes no writes: its keeper fenced it or refused its identity (pgha_status() says why).");
}

static void
pgha_commit_guard(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			guard_checked_xid = TransactionIdIsValid(GetTopTransactionIdIfAny());
			if (guard_checked_xid && deadline_passed())
			{
				guard_checked_xid = false;
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("pgha: this primary is past its fencing deadline, the transaction is not committed"),
						 errdetail_why_fenced(),
						 errhint("Reconnect: a multi-host connection string with target_session_attrs=read-write finds the current primary.")));
			}
			break;
		case XACT_EVENT_COMMIT:
			if (guard_checked_xid && deadline_passed() &&
				client_socket() != PGINVALID_SOCKET)
			{
				/*
				 * Committed locally, not acknowledged yet, and too late to
				 * say ERROR: make sure the acknowledgement never leaves.
				 */
				shutdown(client_socket(), SHUT_RDWR);
				ereport(LOG,
						(errmsg("pgha: transaction %u committed after the fencing deadline; its client connection is cut instead of acknowledging it",
								GetTopTransactionIdIfAny())));
			}
			guard_checked_xid = false;
			break;
		default:
			guard_checked_xid = false;
			break;
	}
}

void
pgha_commit_guard_install(void)
{
	RegisterXactCallback(pgha_commit_guard, NULL);
}
