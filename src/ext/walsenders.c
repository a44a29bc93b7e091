/*-------------------------------------------------------------------------
 *
 * walsenders.c
 *	  What this primary's walsenders know of its standbys, read from shared
 *	  memory (no database connection, so the keeper and the api worker can
 *	  call it as well as a backend): each standby's application_name (its
 *	  member name), address, state, how far it has flushed, and its
 *	  synchronous priority.
 *
 * The keeper's synchronous mode (keeper_sync.c), the switchover checks on
 * the leader (freshen.c) and the api's "replication" list read them here.
 *
 *-------------------------------------------------------------------------
 */
#include "pgha.h"

#include <netdb.h>
#include <sys/socket.h>

#include "access/xlog.h"
#include "replication/walsender.h"
#include "replication/walsender_private.h"
#include "storage/spin.h"
#include "utils/backend_status.h"

#include "sync_plan.h"

/* pg_stat_replication's state column (walsender.c keeps its own static) */
static const char *
state_name(WalSndState state)
{
	switch (state)
	{
		case WALSNDSTATE_STARTUP:
			return "startup";
		case WALSNDSTATE_BACKUP:
			return "backup";
		case WALSNDSTATE_CATCHUP:
			return "catchup";
		case WALSNDSTATE_STREAMING:
			return "streaming";
		case WALSNDSTATE_STOPPING:
			return "stopping";
	}
	return "unknown";
}

/* the client of the backend with this pid: application_name, address */
static bool
client_of(int pid, PghaWalSender *w)
{
	int			n = pgstat_fetch_stat_numbackends();

	for (int i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *be = pgstat_fetch_stat_local_beentry(i);
		PgBackendStatus *st;

		if (be == NULL || be->backendStatus.st_procpid != pid)
			continue;
		st = &be->backendStatus;
		strlcpy(w->name, st->st_appname, sizeof(w->name));
		if (st->st_clientaddr.salen > 0 && st->st_clientaddr.addr.ss_family != AF_UNIX)
			(void) getnameinfo((struct sockaddr *) &st->st_clientaddr.addr,
							   st->st_clientaddr.salen, w->client_addr,
							   sizeof(w->client_addr), NULL, 0, NI_NUMERICHOST);
		return true;
	}
	return false;
}

int
pgha_walsenders_read(PghaWalSender *out, int max)
{
	int			n = 0;

	if (WalSndCtl == NULL)
		return 0;
	pgstat_clear_backend_activity_snapshot();
	for (int i = 0; i < max_wal_senders && n < max; i++)
	{
		WalSnd	   *w = &WalSndCtl->walsnds[i];
		PghaWalSender *o = &out[n];
		pid_t		pid;
		WalSndState state;

		memset(o, 0, sizeof(*o));
		SpinLockAcquire(&w->mutex);
		pid = w->pid;
		state = w->state;
		o->flush = (int64_t) w->flush;
		o->priority = w->sync_standby_priority;
		SpinLockRelease(&w->mutex);
		if (pid == 0)
			continue;
		o->state = state_name(state);
		o->streaming = (state == WALSNDSTATE_STREAMING);
		/* a walsender whose backend entry is gone ended meanwhile */
		if (client_of(pid, o))
			n++;
	}
	pgstat_clear_backend_activity_snapshot();
	return n;
}

int
pgha_walsender_peers(PghaSyncPeer *peers, int *priority, int max)
{
	PghaWalSender *ws = palloc(Max(max_wal_senders, 1) * sizeof(PghaWalSender));
	int			nws = pgha_walsenders_read(ws, max_wal_senders);
	int			n = 0;

	for (int i = 0; i < nws && n < max; i++)
	{
		if (ws[i].name[0] == '\0')
			continue;
		memset(&peers[n], 0, sizeof(peers[n]));
		strlcpy(peers[n].name, ws[i].name, sizeof(peers[n].name));
		peers[n].streaming = ws[i].streaming;
		peers[n].flush = ws[i].flush;
		if (priority != NULL)
			priority[n] = ws[i].priority;
		n++;
	}
	pfree(ws);
	return n;
}
