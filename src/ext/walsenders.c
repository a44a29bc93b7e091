/*-------------------------------------------------------------------------
 *
 * walsenders.c
 *	  What this primary's walsenders know of its standbys, read from shared
 *	  memory (no database connection, so the keeper and the api worker can
 *	  call it as well as a backend): each standby's application_name (its
 *	  member name), whether it streams, and how far it has flushed.
 *
 * The keeper's synchronous mode (keeper_sync.c) and the switchover checks
 * on the leader (pgha_freshen_on_leader: pgha_switchover_freshen() over
 * these positions, because a replica's member key may be up to loop_wait
 * old) read them here.
 *
 *-------------------------------------------------------------------------
 */
#include "pgha.h"

#include "access/xlog.h"
#include "replication/walsender.h"
#include "replication/walsender_private.h"
#include "storage/spin.h"
#include "utils/backend_status.h"

#include "switchover.h"

/* the application_name of the backend with this pid, NULL if none */
static const char *
application_name_of(int pid)
{
	int			n = pgstat_fetch_stat_numbackends();

	for (int i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *be = pgstat_fetch_stat_local_beentry(i);

		if (be != NULL && be->backendStatus.st_procpid == pid)
			return be->backendStatus.st_appname;
	}
	return NULL;
}

int
pgha_walsender_peers(PghaSyncPeer *peers, int *priority, int max)
{
	int			n = 0;

	if (WalSndCtl == NULL)
		return 0;
	pgstat_clear_backend_activity_snapshot();
	for (int i = 0; i < max_wal_senders && n < max; i++)
	{
		WalSnd	   *w = &WalSndCtl->walsnds[i];
		pid_t		pid;
		WalSndState state;
		XLogRecPtr	flush;
		int			prio;
		const char *app;

		SpinLockAcquire(&w->mutex);
		pid = w->pid;
		state = w->state;
		flush = w->flush;
		prio = w->sync_standby_priority;
		SpinLockRelease(&w->mutex);
		if (pid == 0 || (app = application_name_of(pid)) == NULL || app[0] == '\0')
			continue;
		memset(&peers[n], 0, sizeof(peers[n]));
		strlcpy(peers[n].name, app, sizeof(peers[n].name));
		peers[n].streaming = (state == WALSNDSTATE_STREAMING);
		peers[n].flush = (int64_t) flush;
		if (priority != NULL)
			priority[n] = prio;
		n++;
	}
	pgstat_clear_backend_activity_snapshot();
	return n;
}

void
pgha_freshen_on_leader(PghaCluster *cl)
{
	PghaSyncPeer peers[PGHA_MAX_MEMBERS];
	int			n;

	if (RecoveryInProgress())
		return;
	n = pgha_walsender_peers(peers, NULL, PGHA_MAX_MEMBERS);
	pgha_switchover_freshen(cl, pgha_node_name, (int) GetWALInsertionTimeLine(),
							(int64_t) GetFlushRecPtr(NULL), peers, n);
}
