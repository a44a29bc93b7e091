/*-------------------------------------------------------------------------
 *
 * freshen.c
 *	  The members' keys as this node sees them now, for the switchover and
 *	  failover checks (pgha_switchover(), pgha_failover(), the api's POST
 *	  /switchover and /failover, the keeper's last check before it stops
 *	  writes).
 *
 * A member key is up to loop_wait old: after a WAL segment switch a
 * replica looks 16 MB behind, and right after a switchover or a rejoin it
 * still names the old timeline, so a check on the keys alone refuses a
 * candidate that is fine.  Patroni asks each member over REST; pgha reads
 * what this node knows live: on the leader its walsenders (every streaming
 * standby's flush position), on a replica its own WAL receiver (its
 * timeline and position).  The rules are pgha_switchover_freshen() and
 * pgha_switchover_freshen_replica() (switchover.c, unit-tested).
 *
 *-------------------------------------------------------------------------
 */
#include "pgha.h"

#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "replication/walreceiver.h"

#include "switchover.h"

void
pgha_freshen_live(PghaCluster *cl)
{
	PghaSyncPeer peers[PGHA_MAX_MEMBERS];
	TimeLineID	tli = 0;
	XLogRecPtr	flush;
	bool		streaming;
	int			n;

	if (!RecoveryInProgress())
	{
		n = pgha_walsender_peers(peers, NULL, PGHA_MAX_MEMBERS);
		pgha_switchover_freshen(cl, pgha_node_name, (int) GetWALInsertionTimeLine(),
								(int64_t) GetFlushRecPtr(NULL), peers, n);
		return;
	}
	flush = GetWalRcvFlushRecPtr(NULL, &tli);
	streaming = WalRcv != NULL && WalRcv->walRcvState == WALRCV_STREAMING;
	pgha_switchover_freshen_replica(cl, pgha_node_name, streaming, (int) tli,
									(int64_t) flush);
}
