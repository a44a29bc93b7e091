/*-------------------------------------------------------------------------
 *
 * keeper.c
 *	  The keeper background worker: its life, its settings, its waits.
 *
 * The keeper starts with the postmaster (so it also runs on a standby that
 * is not consistent yet), needs no database connection, and loops: one HA
 * cycle against etcd (keeper_cycle.c), then a wait until loop_wait has
 * passed, its latch is set (SIGHUP, SIGTERM, a request), or the watch on
 * the cluster's keys reports a change of the leader, config, failover or
 * sync keys.  Every etcd request of a cycle shares one deadline of
 * retry_timeout, so a dead or hung etcd never stalls it longer.
 *
 * On SIGTERM it exits without revoking its lease or deleting the leader
 * key: during a shutdown the leader key must stay until the lease expires
 * or the watchdog hands it over (DESIGN.md).
 *
 *-------------------------------------------------------------------------
 */
#include "keeper.h"

#include <unistd.h>

#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "settings.h"

/* keys whose change wakes the keeper at once (and a member key's creation) */
static const char *const wake_keys[] = {
	"leader", "config", "initialize", "failover", "sync", NULL
};

void
pgha_register_keeper(void)
{
	pgha_register_worker("pgha_keeper_main", "pgha keeper", 1);
}

/* the etcd client's settings from the pgha.etcd_* GUCs (keeper and api worker) */
void
pgha_etcd_config_from_gucs(EtcdClientConfig *cc, const char *password,
						   int request_timeout_ms)
{
	memset(cc, 0, sizeof(*cc));
	cc->endpoints = pgha_etcd_endpoints;
	cc->cacert = pgha_etcd_cacert;
	cc->cert = pgha_etcd_cert;
	cc->key = pgha_etcd_key;
	cc->username = pgha_etcd_username;
	cc->password = password;
	cc->connect_timeout_ms = 1000;
	cc->request_timeout_ms = request_timeout_ms;
}

/*
 * pgha.etcd_password_file's content without its line end, in the current
 * memory context; NULL with the reason in problem.  The keeper and the api
 * worker read it when they (re)connect.
 */
char *
pgha_read_password_file(const char *path, char *problem, size_t len)
{
	FILE	   *f = fopen(path, "r");
	char		buf[1024];
	size_t		n;

	if (f == NULL)
	{
		snprintf(problem, len, "could not open pgha.etcd_password_file \"%s\": %m", path);
		return NULL;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return pstrdup(buf);
}

static bool
file_readable(const char *guc, const char *path, char *problem, size_t len)
{
	if (path[0] == '\0' || access(path, R_OK) == 0)
		return true;
	snprintf(problem, len, "%s file \"%s\" is not readable: %m", guc, path);
	return false;
}

/*
 * Rebuild the keeper's configuration from the GUCs.  A missing or bad
 * setting leaves the keeper idle with the reason in cfg.problem.
 */
static void
keeper_configure(Keeper *k)
{
	KeeperConfig *cfg = &k->cfg;
	StringInfoData missing;
	char		err[256];
	EtcdClientConfig cc;
	EtcdError	eerr;
	char	   *settings;

	if (cfg->password)
		pfree(cfg->password);
	memset(cfg, 0, sizeof(*cfg));

	initStringInfo(&missing);
	if (pgha_scope[0] == '\0')
		appendStringInfoString(&missing, ", pgha.scope");
	if (pgha_node_name[0] == '\0')
		appendStringInfoString(&missing, ", pgha.node_name");
	if (pgha_etcd_endpoints[0] == '\0')
		appendStringInfoString(&missing, ", pgha.etcd_endpoints");
	if (pgha_connect_address[0] == '\0')
		appendStringInfoString(&missing, ", pgha.connect_address");
	if (missing.len > 0)
	{
		snprintf(cfg->problem, sizeof(cfg->problem),
				 "required settings are not set: %s", missing.data + 2);
		pfree(missing.data);
		return;
	}
	pfree(missing.data);

	if (!pgha_valid_timing(pgha_ttl, pgha_loop_wait, pgha_retry_timeout,
						   err, sizeof(err)))
	{
		snprintf(cfg->problem, sizeof(cfg->problem),
				 "invalid pgha.ttl, pgha.loop_wait, pgha.retry_timeout: %s", err);
		return;
	}
	if (!pgha_cluster_prefix(pgha_namespace, pgha_scope, cfg->prefix,
							 sizeof(cfg->prefix)))
	{
		snprintf(cfg->problem, sizeof(cfg->problem),
				 "pgha.namespace and pgha.scope make a key prefix that is too long");
		return;
	}
	if (!file_readable("pgha.etcd_cacert", pgha_etcd_cacert, cfg->problem, sizeof(cfg->problem)) ||
		!file_readable("pgha.etcd_cert", pgha_etcd_cert, cfg->problem, sizeof(cfg->problem)) ||
		!file_readable("pgha.etcd_key", pgha_etcd_key, cfg->problem, sizeof(cfg->problem)))
		return;
	if (pgha_etcd_password[0] != '\0')
		cfg->password = MemoryContextStrdup(TopMemoryContext, pgha_etcd_password);
	else if (pgha_etcd_password_file[0] != '\0')
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		cfg->password = pgha_read_password_file(pgha_etcd_password_file,
												cfg->problem, sizeof(cfg->problem));
		MemoryContextSwitchTo(old);
		if (cfg->password == NULL)
			return;
	}

	/*
	 * The shared config key's timing, once read, survives a reload: a SIGHUP
	 * (also the keeper's own, after it rewrote pgha_sync.conf or
	 * pgha_recovery.conf) must not fall back to the local pgha.ttl, which
	 * would move the keys to a lease of another ttl.
	 */
	if (k->have_shared_timing)
	{
		cfg->ttl = k->shared_ttl;
		cfg->loop_wait = k->shared_loop_wait;
		cfg->retry_timeout = k->shared_retry_timeout;
	}
	else
	{
		cfg->ttl = pgha_ttl;
		cfg->loop_wait = pgha_loop_wait;
		cfg->retry_timeout = pgha_retry_timeout;
	}

	/* the same etcd settings: keep the client, its connections and the watch */
	settings = psprintf("%s|%s|%s|%s|%s|%s|%s|%d", cfg->prefix,
						pgha_etcd_endpoints, pgha_etcd_cacert, pgha_etcd_cert,
						pgha_etcd_key, pgha_etcd_username,
						cfg->password ? cfg->password : "", pgha_retry_timeout);
	if (k->client != NULL && k->client_settings != NULL &&
		strcmp(k->client_settings, settings) == 0)
	{
		pfree(settings);
		cfg->complete = true;
		return;
	}
	if (k->watch)
		etcd_watch_free(k->watch);
	k->watch = NULL;
	if (k->client)
		etcd_client_free(k->client);
	k->client = NULL;
	if (k->client_settings)
		pfree(k->client_settings);
	k->client_settings = MemoryContextStrdup(TopMemoryContext, settings);
	pfree(settings);

	pgha_etcd_config_from_gucs(&cc, cfg->password, Min(3000, pgha_retry_timeout * 1000));
	k->client = etcd_client_new(&cc, &eerr);
	if (k->client == NULL)
	{
		snprintf(cfg->problem, sizeof(cfg->problem),
				 "could not set up the etcd client: %s", eerr.message);
		return;
	}
	cfg->complete = true;
}

static void
keeper_detach(int code, Datum arg)
{
	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	pgha_shared->keeper_pid = 0;
	pgha_shared->keeper_latch = NULL;
	LWLockRelease(pgha_shared->lock);
}

/*
 * Does this event change what the keeper would decide?  A key that matters
 * created, deleted, or given another value (the leader key also: moved to
 * another lease).  A rewrite with the same value is not a change, so the
 * keeper's own quiet writes (and anyone's same-value rewrites) do not wake
 * every keeper of the cluster.
 */
static bool
is_wake_event(const Keeper *k, const EtcdWatchEvent *ev)
{
	const char *key = ev->kv.key;
	size_t		plen = strlen(k->cfg.prefix);
	bool		watched = false;

	if (strncmp(key, k->cfg.prefix, plen) != 0)
		return false;
	/* a new member: the leader creates its slot at once */
	if (strncmp(key + plen, "members/", 8) == 0)
		return !ev->is_delete && ev->kv.version == 1;
	for (int i = 0; wake_keys[i] != NULL; i++)
		if (strcmp(key + plen, wake_keys[i]) == 0)
			watched = true;
	if (!watched)
		return false;
	if (ev->is_delete || !ev->has_prev)
		return true;
	if (ev->kv.value_len != ev->prev_kv.value_len ||
		memcmp(ev->kv.value, ev->prev_kv.value, ev->kv.value_len) != 0)
		return true;
	return strcmp(key + plen, "leader") == 0 && ev->kv.lease != ev->prev_kv.lease;
}

/*
 * Drain the watch.  Returns true when the keeper should run a cycle now:
 * a key that matters changed, or the watch ended (etcd went away or
 * compacted; the next cycle notices and starts a new watch).
 */
static bool
keeper_poll_watch(Keeper *k)
{
	EtcdWatchEvent *events = NULL;
	int			nevents = 0;
	EtcdError	err;
	EtcdStatus	st;
	bool		wake = false;

	st = etcd_watch_poll(k->watch, &events, &nevents, &err);
	for (int i = 0; i < nevents; i++)
		if (is_wake_event(k, &events[i]))
			wake = true;
	etcd_watch_events_free(events, nevents);
	if (st != ETCD_OK)
	{
		ereport(DEBUG1,
				(errmsg_internal("pgha: etcd watch ended: %s", err.message)));
		etcd_watch_free(k->watch);
		k->watch = NULL;
		wake = true;
	}
	return wake;
}

/* start the watch after a successful read at revision rev */
static void
keeper_ensure_watch(Keeper *k, int64 rev)
{
	EtcdError	err;

	if (k->watch != NULL || k->client == NULL || rev <= 0)
		return;
	k->watch = etcd_watch_start(k->client, k->cfg.prefix, rev + 1, &err);
	k->watch_started_ms = etcd_now_ms();
	if (k->watch == NULL)
		ereport(DEBUG1,
				(errmsg_internal("pgha: could not start the etcd watch: %s",
								 err.message)));
}

/*
 * A settling standby (keeper_cycle.c: standby_settling) became consistent,
 * switched timeline or was promoted: its member key is stale, run a cycle.
 */
static bool
settle_changed(const Keeper *k)
{
	CycleResult now;
	uint64		sysid;

	memset(&now, 0, sizeof(now));
	keeper_read_local_state(&now, &sysid);
	return now.role != PGHA_ROLE_REPLICA ||
		now.starting != k->settle_starting ||
		now.timeline != k->settle_timeline;
}

/*
 * Sleep until the next cycle is due, the latch is set or the watch says a
 * key that matters changed.  While the watch is still connecting, its
 * socket is not known yet: wake every 50 ms to let curl progress.
 */
static void
keeper_wait(Keeper *k, int64 cycle_start_ms)
{
	int64		due = cycle_start_ms + (int64) k->cfg.loop_wait * 1000;

	if (!k->cfg.complete)
		due = cycle_start_ms + 60 * 1000;
	if (k->quick_recheck)
		due = Min(due, cycle_start_ms + 100);
	k->quick_recheck = false;
	/* a primary wakes up at its fencing deadline, whatever else happens */
	if (k->fence_deadline_ms > 0 && !k->fenced && !k->paused &&
		!RecoveryInProgress())
		due = Min(due, k->fence_deadline_ms);
	/* and a scheduled switchover at its time */
	if (k->request_due_ms > 0)
		due = Min(due, k->request_due_ms);
	/* the shutdown of a restart or reinit, a scheduled restart */
	if (k->op_shutdown_ms > 0)
		due = Min(due, k->op_shutdown_ms);
	if (k->restart_due_ms > 0)
		due = Min(due, k->restart_due_ms);
	/* the checkpoint after our promotion */
	if (k->checkpoint_due_ms > 0)
		due = Min(due, k->checkpoint_due_ms);

	for (;;)
	{
		int64		now = etcd_now_ms();
		long		timeout = (long) (due - now);
		int			events = WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH;
		int			sock = -1;
		int			rc;

		if (timeout <= 0)
		{
			keeper_check_fence(k, "the leader lease could not be renewed in time");
			return;
		}
		if (k->settling)
		{
			if (settle_changed(k))
				return;
			timeout = Min(timeout, KEEPER_SETTLE_RECHECK_MS);
			/*
			 * Promoting: a startup process that saw its WAL receiver end
			 * just before the promote request sleeps out
			 * wal_retrieve_retry_interval before it acts on it (the
			 * request's own wakeup came before that sleep).  Wake it
			 * until the promotion is done.
			 */
			if (k->promote_requested && RecoveryInProgress())
			{
				WakeupRecovery();
				timeout = Min(timeout, KEEPER_PROMOTE_RECHECK_MS);
			}
		}
		if (k->watch != NULL)
		{
			sock = etcd_watch_socket(k->watch);
			if (sock >= 0)
				events |= WL_SOCKET_READABLE;
			else
				timeout = Min(timeout, 50);
		}
		rc = WaitLatchOrSocket(MyLatch, events, sock, timeout, PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			return;
		}
		if (k->watch != NULL && keeper_poll_watch(k))
			return;
	}
}

void
pgha_keeper_main(Datum arg)
{
	Keeper		k;
	MemoryContext loop_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();

	memset(&k, 0, sizeof(k));
	k.started_ms = etcd_now_ms();
	loop_cxt = AllocSetContextCreate(TopMemoryContext, "pgha keeper loop",
									 ALLOCSET_DEFAULT_SIZES);

	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	pgha_shared->keeper_pid = MyProcPid;
	pgha_shared->keeper_latch = MyLatch;
	LWLockRelease(pgha_shared->lock);
	on_shmem_exit(keeper_detach, (Datum) 0);

	/*
	 * A keeper restarted by the postmaster (after an ERROR or a kill) takes
	 * over the lease and the deadline from shared memory, and a primary
	 * says so at once in its heartbeat, so that the watchdog's guard stays
	 * armed with the original deadline.  On a fresh postmaster, replace
	 * what a previous life of this node left for the watchdog.
	 */
	keeper_lease_restore(&k);
	if (k.fence_deadline_ms > 0 && !RecoveryInProgress())
	{
		ereport(LOG,
				(errmsg("pgha keeper restarted on a primary; its fencing deadline is in %lld ms",
						(long long) (k.fence_deadline_ms - etcd_now_ms()))));
		keeper_write_heartbeat(&k, true, "restarted");
		keeper_check_fence(&k, "the leader lease could not be renewed in time");
	}
	else
		keeper_write_heartbeat(&k, false, "starting");

	keeper_configure(&k);
	if (!k.cfg.complete)
		ereport(LOG,
				(errmsg("pgha keeper is idle: %s", k.cfg.problem),
				 errhint("Set the pgha.* settings in postgresql.conf and reload (pgha.scope and pgha.node_name need a restart).")));
	else
		ereport(LOG,
				(errmsg("pgha keeper started for member \"%s\" of cluster \"%s\"",
						pgha_node_name, pgha_scope),
				 errdetail("etcd endpoints: %s; keys under %s",
						   pgha_etcd_endpoints, k.cfg.prefix)));

	while (!ShutdownRequestPending)
	{
		int64		start = etcd_now_ms();
		MemoryContext old;

		if (ConfigReloadPending)
		{
			bool		was_complete = k.cfg.complete;

			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			keeper_configure(&k);
			if (!k.cfg.complete)
				keeper_log_problem(WARNING, ERRCODE_INVALID_PARAMETER_VALUE,
								   k.cfg.problem);
			else if (!was_complete)
			{
				ereport(LOG, (errmsg("pgha keeper configured, leaving idle state")));
				/*
				 * A primary's first deadline (no lease yet) counts from
				 * here: an idle keeper could not have renewed anything, and
				 * counted from its start a primary configured later than
				 * retry_timeout after it fenced itself at once.
				 */
				if (k.fence_deadline_ms == 0)
					k.started_ms = etcd_now_ms();
			}
		}

		MemoryContextReset(loop_cxt);
		old = MemoryContextSwitchTo(loop_cxt);
		if (k.cfg.complete)
		{
			CycleResult res;
			TimestampTz cycle_start = GetCurrentTimestamp();

			keeper_run_cycle(&k, &res);
			/*
			 * Fenced, the postmaster's fast shutdown waits for this process
			 * before its checkpoint: exit at once (the heartbeat says
			 * "fenced" already, the guard hands the key over).
			 */
			if (k.fenced && ShutdownRequestPending)
			{
				MemoryContextSwitchTo(old);
				break;
			}
			if (!res.etcd_ok)
				keeper_fail_request(&res.err);
			keeper_report_cycle(&k, &res);
			keeper_write_heartbeat(&k, res.role == PGHA_ROLE_PRIMARY,
								   res.etcd_ok ? pgha_verdict_text(res.verdict)
								   : "etcd unreachable");
			if (res.have_cluster)
				keeper_ensure_watch(&k, res.cluster->revision);
			keeper_report_timing(&k, GetCurrentTimestamp() - cycle_start);
		}
		else
		{
			PghaRequest req;

			keeper_report_idle(&k);
			if (keeper_pending_request(&req))
				keeper_finish_request(req.id, false,
									  psprintf("the keeper is idle: %s", k.cfg.problem));
		}
		MemoryContextSwitchTo(old);

		if (ShutdownRequestPending)
			break;
		keeper_wait(&k, start);
		CHECK_FOR_INTERRUPTS();
	}

	if (k.watch)
		etcd_watch_free(k.watch);
	if (k.client)
		etcd_client_free(k.client);
	ereport(LOG, (errmsg("pgha keeper stopped; the lease and the leader key are kept until they expire")));
	proc_exit(0);
}
