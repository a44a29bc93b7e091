/*-------------------------------------------------------------------------
 *
 * fence_file.c
 *	  The fencing state across a crash restart of the instance.
 *
 * The keeper keeps the lease state and the fencing deadline in shared
 * memory, so that a keeper restarted after an ERROR fences by the original
 * deadline (keeper_lease.c).  A crash of any backend makes the postmaster
 * restart every process and create shared memory anew; after crash
 * recovery the instance is a primary again.  Without the old state its
 * new keeper would count a fresh deadline from its own start and the
 * backends would commit with no deadline at all, possibly after the lease
 * expired and a replica was promoted.  So the keeper also writes the
 * state to PGDATA/pgha.fence (when it changed, without fsync: it has to
 * survive a process crash, not a machine crash), and the postmaster reads
 * it back when it makes shared memory anew, before any backend starts.
 * The file counts only for the postmaster that wrote it (its pid and start
 * time are in it): a fresh start ignores what an earlier life left.
 *
 *-------------------------------------------------------------------------
 */
#include "pgha.h"

#include "miscadmin.h"
#include "utils/timestamp.h"

#include "node_files.h"

#define PGHA_FENCE_FILE "pgha.fence"
#define PGHA_FENCE_VERSION 1

static char last_written[512];

static void
format_state(char *buf, size_t len, const PghaLeaseState *lease,
			 int64 deadline_ms, bool fenced, bool paused, uint64 armed)
{
	const PghaLeaseSlot *a = &lease->slot[0];
	const PghaLeaseSlot *b = &lease->slot[1];

	snprintf(buf, len,
			 "%d %d " INT64_FORMAT " " INT64_FORMAT " %d %d " UINT64_FORMAT
			 " " INT64_FORMAT " %d " INT64_FORMAT " " INT64_FORMAT " %u"
			 " " INT64_FORMAT " %d " INT64_FORMAT " " INT64_FORMAT " %u"
			 " " INT64_FORMAT "\n",
			 PGHA_FENCE_VERSION, (int) PostmasterPid, (int64) PgStartTime,
			 (int64) deadline_ms, fenced ? 1 : 0, paused ? 1 : 0, armed,
			 (int64) a->id, a->ttl_s, (int64) a->renewed_ms,
			 (int64) a->pending_ms, a->keys,
			 (int64) b->id, b->ttl_s, (int64) b->renewed_ms,
			 (int64) b->pending_ms, b->keys,
			 (int64) lease->retired_id);
}

/*
 * The keeper, after it published the state (holding no lock): write the
 * file when the state changed.  A failure is logged; the state in shared
 * memory still serves a keeper restart.
 */
void
pgha_fence_file_save(const PghaLeaseState *lease, int64 deadline_ms,
					 bool fenced, bool paused, uint64 armed)
{
	char		line[sizeof(last_written)];
	char		err[256];

	format_state(line, sizeof(line), lease, deadline_ms, fenced, paused, armed);
	if (strcmp(line, last_written) == 0)
		return;
	if (!pgha_write_file_replace(DataDir, PGHA_FENCE_FILE, line, err, sizeof(err)))
	{
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("pgha: could not save the fencing state: %s", err),
				 errdetail("A crash restart of this instance would count its fencing deadline anew.")));
		return;
	}
	strlcpy(last_written, line, sizeof(last_written));
}

/*
 * The postmaster, making shared memory anew after a crash: take back the
 * state its keeper saved, and arm the backends' commit check with it.
 */
void
pgha_fence_file_restore(PghaShared *s)
{
	char	   *text = pgha_read_small_file(DataDir, PGHA_FENCE_FILE, sizeof(last_written));
	int			version,
				pm_pid,
				fenced,
				paused,
				n;
	int64		pm_start,
				deadline,
				retired;
	uint64		armed;
	PghaLeaseSlot a,
				b;

	if (text == NULL)
		return;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	n = sscanf(text,
			   "%d %d " INT64_FORMAT " " INT64_FORMAT " %d %d " UINT64_FORMAT
			   " " INT64_FORMAT " %d " INT64_FORMAT " " INT64_FORMAT " %u"
			   " " INT64_FORMAT " %d " INT64_FORMAT " " INT64_FORMAT " %u"
			   " " INT64_FORMAT,
			   &version, &pm_pid, &pm_start, &deadline, &fenced, &paused, &armed,
			   &a.id, &a.ttl_s, &a.renewed_ms, &a.pending_ms, &a.keys,
			   &b.id, &b.ttl_s, &b.renewed_ms, &b.pending_ms, &b.keys,
			   &retired);
	free(text);
	if (n != 18 || version != PGHA_FENCE_VERSION)
	{
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("pgha: ignoring \"%s\": not a fencing state this version wrote",
						PGHA_FENCE_FILE)));
		return;
	}
	if (pm_pid != (int) PostmasterPid || pm_start != (int64) PgStartTime)
		return;					/* an earlier life of this node */

	s->fence_saved = true;
	s->lease.slot[0] = a;
	s->lease.slot[1] = b;
	s->lease.retired_id = retired;
	s->fence_deadline_ms = deadline;
	s->fenced = fenced != 0;
	s->fence_paused = paused != 0;
	pg_atomic_write_u64(&s->commit_deadline_ms, armed);
	ereport(LOG,
			(errmsg("pgha: crash restart: the fencing state of this primary is kept (deadline in %lld ms%s)",
					(long long) (deadline - pgha_boottime_ms()),
					fenced ? ", already fenced" : "")));
}
