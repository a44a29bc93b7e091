/*-------------------------------------------------------------------------
 *
 * keeper_rebuild.c
 *	  What the keeper does when etcd lost its keys, and when this replica
 *	  is left on a dead branch (issue 9; safety rules 4 and 6).
 *
 * Caches.  The config and history keys are copied into the data
 * directory (pgha.dynamic.json, pgha.history.json, as Patroni keeps
 * patroni.dynamic.json), written only when their value changed.  When the
 * config key is gone, the keeper decides with its cached copy (pause,
 * synchronous_mode and maximum_lag_on_failover survive) and the leader
 * writes it back; when the history key is gone, the leader writes back its
 * cached copy, or rebuilds it from its timeline's history file.
 *
 * A live upstream.  A replica whose WAL receiver streams and still
 * receives does not race its primary for a vanished leader key (decide.c,
 * upstream_alive): the primary takes it back at its next cycle.  The wait
 * is bounded by ttl from the moment the key was seen missing: a primary
 * that cannot take its key fences itself well before that.
 *
 * A stale leader key (an etcd restored from an old snapshot names this
 * standby): released, guarded by its value, without promoting.
 *
 * A dead branch: this replica replayed WAL on a timeline past the point
 * where the leader's history says that timeline ended.  It can never
 * stream from the leader, so it writes pgha.fenced (the reason) and shuts
 * down fast; the watchdog's plan is then pg_rewind (node_plan.c).
 *
 *-------------------------------------------------------------------------
 */
#include "keeper_rebuild.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "access/xlogrecovery.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "replication/walreceiver.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#define CONFIG_CACHE_FILE	"pgha.dynamic.json"
#define HISTORY_CACHE_FILE	"pgha.history.json"
#define CACHE_MAX			(PGHA_HISTORY_MAX + 1)

/* the cached values (TopMemoryContext), as in the files */
static char *config_cache = NULL;
static char *history_cache = NULL;
static bool caches_loaded = false;
static bool deciding_from_cache = false;	/* logged once, until it ends */

static char *
load_cache(const char *name)
{
	char	   *raw = pgha_read_small_file(DataDir, name, CACHE_MAX);
	char	   *copy;

	if (raw == NULL)
		return NULL;
	copy = MemoryContextStrdup(TopMemoryContext, raw);
	free(raw);
	return copy;
}

/* remember value in *cache and in the file, when it changed */
static void
store_cache(char **cache, const char *name, const char *value)
{
	char		err[256];

	if (*cache != NULL && strcmp(*cache, value) == 0)
		return;
	if (!pgha_write_file_atomic(DataDir, name, value, err, sizeof(err)))
	{
		keeper_log_problem(WARNING, ERRCODE_IO_ERROR, err);
		return;
	}
	if (*cache != NULL)
		pfree(*cache);
	*cache = MemoryContextStrdup(TopMemoryContext, value);
}

static const EtcdKV *
find_key(const Keeper *k, const EtcdKVList *kvs, const char *name)
{
	return etcd_kvlist_find(kvs, keeper_key_of(k, name));
}

/*
 * After the range read: cache config and history when etcd has them; when
 * the config key is gone, decide with the cached copy (has_config stays
 * false, so that the leader writes it back).
 */
void
keeper_rebuild_after_read(Keeper *k, CycleResult *res, const EtcdKVList *kvs)
{
	PghaCluster *cl = res->cluster;
	const EtcdKV *kv;
	char		err[PGHA_ERR_LEN];

	if (!caches_loaded)
	{
		config_cache = load_cache(CONFIG_CACHE_FILE);
		history_cache = load_cache(HISTORY_CACHE_FILE);
		caches_loaded = true;
	}
	kv = find_key(k, kvs, "config");
	if (kv != NULL && cl->config_valid && kv->value_len < CACHE_MAX &&
		strlen(kv->value) == kv->value_len)
		store_cache(&config_cache, CONFIG_CACHE_FILE, kv->value);
	kv = find_key(k, kvs, "history");
	if (kv != NULL && cl->history_valid && kv->value_len < CACHE_MAX)
		store_cache(&history_cache, HISTORY_CACHE_FILE, kv->value);

	if (cl->has_config && deciding_from_cache)
	{
		deciding_from_cache = false;
		ereport(LOG, (errmsg("pgha: the config key is back in etcd")));
	}
	if (!cl->has_config && config_cache != NULL)
	{
		PghaDynConfig cfg = cl->config;

		if (pgha_config_from_json(config_cache, &cfg, err, sizeof(err)))
		{
			cl->config = cfg;
			cl->config_valid = true;
			if (!deciding_from_cache)
				ereport(WARNING,
						(errmsg("pgha: the config key is gone from etcd: deciding with the copy cached in %s",
								CONFIG_CACHE_FILE),
						 errdetail("The leader writes it back.")));
			deciding_from_cache = true;
		}
		else
			keeper_log_problem(WARNING, ERRCODE_INVALID_PARAMETER_VALUE,
							   psprintf("the cached config in %s does not decode: %s",
										CONFIG_CACHE_FILE, err));
	}
}

/* the config value the leader writes back, or NULL: bootstrap values */
const char *
keeper_cached_config(void)
{
	return config_cache;
}

/*
 * The history rebuilt from pg_wal/<timeline>.history, without its last
 * entry (record_history() appends that one with its time and leader), or
 * NULL when there is nothing before it.
 */
static char *
history_from_file(int timeline)
{
	char		path[MAXPGPATH];
	char		buf[1024];
	FILE	   *f;
	char	   *json = NULL;

	snprintf(path, sizeof(path), XLOGDIR "/%08X.history", timeline);
	f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	while (fgets(buf, sizeof(buf), f) != NULL)
	{
		unsigned int tli,
					hi,
					lo;
		char		reason[512] = "";
		char	   *next;

		if (buf[0] == '#' || buf[0] == '\n' ||
			sscanf(buf, "%u\t%X/%X\t%511[^\n]", &tli, &hi, &lo, reason) < 3 ||
			(int) tli >= timeline - 1)
			continue;
		next = pgha_history_append(json, (int) tli, ((int64) hi << 32) | lo,
								   reason[0] ? reason : "no recovery target specified",
								   "", "");
		free(json);
		json = next;
		if (json == NULL)
			break;
	}
	fclose(f);
	return json;
}

/*
 * The leader, on a timeline after the first, finds no history key: write
 * back the cached one when it ends where our timeline began, else rebuild
 * the entries before our timeline's own from the timeline history file
 * (record_history() then appends ours, as after any promotion).
 * Create-if-absent.
 */
bool
keeper_restore_history(Keeper *k, CycleResult *res)
{
	int			last = 0;
	char		err[PGHA_ERR_LEN];
	char	   *json;
	EtcdTxnResult txn;
	EtcdError	eerr;
	EtcdStatus	st;
	bool		from_cache;

	if (res->cluster->has_history || res->timeline <= 1)
		return true;
	from_cache = history_cache != NULL &&
		pgha_history_last_timeline(history_cache, &last, err, sizeof(err)) &&
		last == res->timeline - 1;
	json = from_cache ? strdup(history_cache) : history_from_file(res->timeline);
	if (json == NULL)
		return true;			/* nothing to restore it from */
	st = etcd_create(k->client, keeper_key_of(k, "history"), json, 0, &txn, &eerr);
	free(json);
	if (st != ETCD_OK)
	{
		res->etcd_ok = false;
		res->err = eerr;
		return false;
	}
	if (txn.succeeded)
	{
		ereport(LOG,
				(errmsg("pgha: the history key was gone: wrote it back from %s",
						from_cache ? HISTORY_CACHE_FILE : "the timeline history file")));
		res->cluster->has_history = true;
		res->cluster->history_valid = true;
		res->cluster->history_last_timeline = from_cache ? res->timeline - 1 :
			res->timeline - 2;
	}
	else
		res->cluster->has_history = true;	/* another writer: record_history
											 * looks again next cycle */
	etcd_txn_result_free(&txn);
	return true;
}

/*
 * The WAL receiver streams from a live primary: it is streaming and a
 * message arrived within max(2 loop_wait, 3 s); and the leader key has
 * been missing for less than ttl.
 */
bool
keeper_upstream_alive(const Keeper *k)
{
	WalRcvState state;
	TimestampTz last;
	int64		window_ms = Max(2000 * (int64) k->cfg.loop_wait, 3000);

	if (WalRcv == NULL)
		return false;
	if (k->no_leader_since_ms != 0 &&
		etcd_now_ms() - k->no_leader_since_ms >= (int64) k->cfg.ttl * 1000)
		return false;
	SpinLockAcquire(&WalRcv->mutex);
	state = WalRcv->walRcvState;
	last = WalRcv->lastMsgReceiptTime;
	SpinLockRelease(&WalRcv->mutex);
	return state == WALRCV_STREAMING && last != 0 &&
		!TimestampDifferenceExceeds(last, GetCurrentTimestamp(), (int) window_ms);
}

/* the decision's extra writes: a stale leader key, a spent pgha_final */
bool
keeper_rebuild_act(Keeper *k, CycleResult *res, const PghaDecision *d)
{
	EtcdTxnResult txn;
	EtcdError	err;

	if (d->release_stale_leader)
	{
		if (etcd_cad_value(k->client, keeper_key_of(k, "leader"), pgha_node_name,
						   &txn, &err) != ETCD_OK)
		{
			etcd_txn_result_free(&txn);
			res->etcd_ok = false;
			res->err = err;
			return false;
		}
		if (txn.succeeded)
			ereport(LOG,
					(errmsg("pgha: released a leader key naming this standby that it did not take"),
					 errdetail("It still receives WAL from a live primary; an etcd restored from an old snapshot?")));
		etcd_txn_result_free(&txn);
	}
	if (d->clear_final)
	{
		if (etcd_delete(k->client, keeper_key_of(k, "pgha_final"), &err) != ETCD_OK &&
			err.status != ETCD_ERR_NOT_FOUND)
		{
			res->etcd_ok = false;
			res->err = err;
			return false;
		}
		res->cluster->has_final = false;
	}
	return true;
}

/*
 * Why this node takes over, in the log: a WARNING when the promotion gives
 * up WAL that a cleanly stopped leader acknowledged.
 */
void
keeper_note_promotion(const PghaDecision *d)
{
	if (d->gives_up > 0)
		ereport(WARNING,
				(errmsg("pgha: promoting without %lld bytes of WAL that the stopped leader acknowledged",
						(long long) d->gives_up),
				 errdetail("%s", d->reason)));
	else
		ereport(LOG, (errmsg("pgha: taking over: %s", d->reason)));
}

/* where timeline tl ended, from the history key or the history file of newer */
static bool
timeline_end(const PghaCluster *cl, int tl, int newer, XLogRecPtr *end)
{
	char		path[MAXPGPATH];
	char		buf[1024];
	FILE	   *f;
	bool		found = false;
	int64_t		lsn;

	if (pgha_cluster_timeline_end(cl, tl, &lsn))
	{
		*end = (XLogRecPtr) lsn;
		return true;
	}
	snprintf(path, sizeof(path), XLOGDIR "/%08X.history", newer);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	while (!found && fgets(buf, sizeof(buf), f) != NULL)
	{
		unsigned int tli,
					hi,
					lo;

		if (buf[0] != '#' && sscanf(buf, "%u\t%X/%X", &tli, &hi, &lo) == 3 &&
			(int) tli == tl)
		{
			*end = ((XLogRecPtr) hi << 32) | lo;
			found = true;
		}
	}
	fclose(f);
	return found;
}

/*
 * A replica of a leader on a newer timeline that replayed WAL of its own
 * timeline past the point where that timeline ended: stop for pg_rewind.
 */
void
keeper_check_dead_branch(Keeper *k, const CycleResult *res)
{
	const PghaCluster *cl = res->cluster;
	const PghaMember *leader;
	TimeLineID	tli = 0;
	XLogRecPtr	replay;
	XLogRecPtr	end;
	char		err[256];
	char	   *why;

	if (k->fenced || res->role != PGHA_ROLE_REPLICA || !cl->has_leader)
		return;
	leader = pgha_cluster_find_member(cl, cl->leader);
	if (leader == NULL || leader->timeline <= 0)
		return;
	replay = GetXLogReplayRecPtr(&tli);
	if (tli == 0 || (int) tli >= leader->timeline ||
		!timeline_end(cl, (int) tli, leader->timeline, &end) || replay <= end)
		return;

	why = psprintf("dead branch: replayed WAL up to %X/%X on timeline %u, which ended at %X/%X; the leader \"%s\" is on timeline %d",
				   LSN_FORMAT_ARGS(replay), tli, LSN_FORMAT_ARGS(end),
				   cl->leader, leader->timeline);
	k->fenced = true;
	if (!pgha_write_file_atomic(DataDir, PGHA_FENCED_FILE, psprintf("%s\n", why),
								err, sizeof(err)))
		ereport(WARNING, (errmsg("pgha: %s", err)));
	ereport(LOG,
			(errmsg("pgha: this replica is on a %s", why),
			 errdetail("It can never stream from the leader: it shuts down now, and pgha-watchdog rejoins it with pg_rewind.")));
	if (kill(PostmasterPid, SIGINT) != 0)
		ereport(WARNING,
				(errmsg("pgha: could not signal the postmaster to shut down: %m")));
}
