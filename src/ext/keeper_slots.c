/*-------------------------------------------------------------------------
 *
 * keeper_slots.c
 *	  The leader keeps a physical replication slot for every member, so
 *	  that a replica (or an old leader rejoining) finds the WAL it needs.
 *
 * Slots are named after members as Patroni names them (lower case,
 * [a-z0-9_]) and created with WAL reserved at once, as
 * pg_create_physical_replication_slot(name, true) does.  A slot is dropped
 * only when it belongs to a member this keeper has seen and that member has
 * been gone from etcd for pgha.member_slot_retention: slots that pgha did
 * not see as members (a DBA's own) are never touched.
 *
 * What this keeper has seen survives a keeper or postmaster restart in
 * PGDATA/pgha.slots, one line per member slot: "<slot> <gone_since>" with
 * the wall-clock time (ms since the epoch, 0 while present) the member left
 * etcd; a monotonic clock would not survive a reboot.  It is rewritten
 * (without fsync: losing it in a crash only delays a drop) only when a
 * member appears or leaves, not at every loop.
 *
 * The keeper has no transaction, so errors raised by the slot code are
 * caught here, logged and cleaned up (slot released, LWLocks released).
 *
 *-------------------------------------------------------------------------
 */
#include "keeper.h"

#include "access/xlog.h"
#include "access/xlogrecovery.h"

#include "miscadmin.h"
#include "replication/slot.h"
#include "storage/lwlock.h"
#include "utils/memutils.h"

#include "node_files.h"

#define MAX_KNOWN_SLOTS 64

/* member slots seen in etcd by this keeper, and since when each is gone */
typedef struct KnownSlot
{
	char		name[NAMEDATALEN];
	int64		gone_since_ms;	/* 0 while the member is present */
} KnownSlot;

static KnownSlot known[MAX_KNOWN_SLOTS];
static int	nknown = 0;
static bool loaded = false;

#define SLOTS_FILE "pgha.slots"

/* what an earlier life of this keeper saw (a missing file: nothing) */
static void
load_known(void)
{
	char	   *text = pgha_read_small_file(DataDir, SLOTS_FILE, 16384);
	char	   *line;
	char	   *save = NULL;

	loaded = true;
	nknown = 0;
	if (text == NULL)
		return;
	for (line = strtok_r(text, "\n", &save); line != NULL && nknown < MAX_KNOWN_SLOTS;
		 line = strtok_r(NULL, "\n", &save))
	{
		char		name[NAMEDATALEN];
		long long	since;

		if (sscanf(line, "%63s %lld", name, &since) != 2 || since < 0)
			continue;
		strlcpy(known[nknown].name, name, NAMEDATALEN);
		known[nknown].gone_since_ms = (int64) since;
		nknown++;
	}
	free(text);
}

static void
save_known(void)
{
	StringInfoData buf;
	char		err[256];

	initStringInfo(&buf);
	for (int i = 0; i < nknown; i++)
		appendStringInfo(&buf, "%s " INT64_FORMAT "\n", known[i].name,
						 known[i].gone_since_ms);
	if (!pgha_write_file_replace(DataDir, SLOTS_FILE, buf.data, err, sizeof(err)))
		ereport(WARNING, (errmsg("pgha: %s", err)));
	pfree(buf.data);
}

static bool
slot_exists(const char *name, bool *active)
{
	bool		found = false;

	*active = false;
	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	for (int i = 0; i < max_replication_slots; i++)
	{
		ReplicationSlot *s = &ReplicationSlotCtl->replication_slots[i];

		if (s->in_use && strcmp(NameStr(s->data.name), name) == 0)
		{
			found = true;
			*active = (s->active_pid != 0);
			break;
		}
	}
	LWLockRelease(ReplicationSlotControlLock);
	return found;
}

/* run fn(name) catching any ERROR; returns false (and logs) on error */
static bool
guarded(void (*fn) (const char *), const char *name, const char *what)
{
	MemoryContext cxt = CurrentMemoryContext;
	bool		ok = true;

	PG_TRY();
	{
		fn(name);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		if (MyReplicationSlot != NULL)
			ReplicationSlotRelease();
		LWLockReleaseAll();
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("pgha: could not %s replication slot \"%s\": %s",
						what, name, edata->message)));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

static void
create_slot(const char *name)
{
	CheckSlotRequirements();
	ReplicationSlotCreate(name, false, RS_PERSISTENT, false);
	ReplicationSlotReserveWal();
	ReplicationSlotMarkDirty();
	ReplicationSlotSave();
	ReplicationSlotRelease();
}

static void
drop_slot(const char *name)
{
	ReplicationSlotDrop(name, true);
}

static KnownSlot *
remember(const char *name)
{
	for (int i = 0; i < nknown; i++)
		if (strcmp(known[i].name, name) == 0)
			return &known[i];
	if (nknown == MAX_KNOWN_SLOTS)
		return NULL;
	strlcpy(known[nknown].name, name, NAMEDATALEN);
	known[nknown].gone_since_ms = 1;	/* marked present by the caller */
	return &known[nknown++];
}

/*
 * Make the slots match the members.  Called by the leader after every
 * successful read of the cluster, and at the promotion (the replicas
 * follow the new leader at once, and a missing slot costs them
 * wal_retrieve_retry_interval).  Not during a recovery that has not
 * reached consistency (a crashed primary restarted as a standby, whose
 * keeper may promote it at once): the startup process may not have loaded
 * the slots from pg_replslot yet, and a slot made then collides with its
 * own directory or is loaded twice.  Consistent = hot standby active; with
 * hot_standby = off the slots come with the first cycle after the
 * promotion.
 */
void
keeper_sync_slots(const PghaCluster *cl)
{
	int64		now = pgha_realtime_ms();
	bool		changed = false;
	bool		present[MAX_KNOWN_SLOTS];

	if (RecoveryInProgress() && !HotStandbyActive())
		return;

	if (!loaded)
		load_known();
	memset(present, 0, sizeof(present));

	for (int i = 0; i < cl->nmembers; i++)
	{
		char		name[NAMEDATALEN];
		bool		active;
		KnownSlot  *ks;

		if (strcmp(cl->members[i].name, pgha_node_name) == 0)
			continue;
		pgha_slot_name(cl->members[i].name, name, sizeof(name));
		ks = remember(name);
		if (ks)
		{
			changed |= (ks->gone_since_ms != 0);
			ks->gone_since_ms = 0;
			present[ks - known] = true;
		}
		if (!slot_exists(name, &active) &&
			guarded(create_slot, name, "create"))
			ereport(LOG,
					(errmsg("pgha: created replication slot \"%s\" for member \"%s\"",
							name, cl->members[i].name)));
	}

	/* members that left etcd since the last loop */
	for (int i = 0; i < nknown; i++)
		if (!present[i] && known[i].gone_since_ms == 0)
		{
			known[i].gone_since_ms = now;
			changed = true;
		}

	for (int i = 0; i < nknown; i++)
	{
		bool		active;

		if (known[i].gone_since_ms == 0 ||
			now - known[i].gone_since_ms < (int64) pgha_member_slot_retention * 1000)
			continue;
		if (slot_exists(known[i].name, &active) && !active &&
			guarded(drop_slot, known[i].name, "drop"))
			ereport(LOG,
					(errmsg("pgha: dropped replication slot \"%s\": its member has been gone for %d s",
							known[i].name, pgha_member_slot_retention)));
		known[i] = known[--nknown];
		present[i] = present[nknown];
		changed = true;
		i--;
	}
	if (changed)
		save_known();
}
