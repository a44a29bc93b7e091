/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  The shared-memory struct through which the keeper publishes its view
 *	  of the cluster to SQL functions (and, later, takes their requests).
 *
 * Sized in shmem_request_hook and created in shmem_startup_hook, as PG 15
 * requires; protected by one LWLock of the "pgha" tranche.
 *
 *-------------------------------------------------------------------------
 */
#include "pgha.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"

PghaShared *pgha_shared = NULL;

/* the postmaster made shared memory before: the next time is a crash restart */
static bool made_before = false;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
pgha_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(PghaShared)));
	RequestNamedLWLockTranche("pgha", 1);
}

static void
pgha_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	pgha_shmem_attach();
}

void
pgha_shmem_install_hooks(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = pgha_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = pgha_shmem_startup;
}

/*
 * Create or attach the struct.  Called from shmem_startup_hook in the
 * postmaster (and again after a crash restart, when shared memory is new).
 */
void
pgha_shmem_attach(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	pgha_shared = ShmemInitStruct("pgha", sizeof(PghaShared), &found);
	if (!found)
	{
		memset(pgha_shared, 0, sizeof(PghaShared));
		pgha_shared->lock = &(GetNamedLWLockTranche("pgha"))->lock;
		pgha_shared->lag_bytes = -1;
		strlcpy(pgha_shared->state, "not started", PGHA_STATE_LEN);
		ConditionVariableInit(&pgha_shared->outcome_cv);
		pg_atomic_init_u64(&pgha_shared->commit_deadline_ms, 0);
		/* made anew by this postmaster: a crash restart */
		if (!IsUnderPostmaster && made_before)
			pgha_fence_file_restore(pgha_shared);
		made_before = true;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* for SQL functions: the struct, or a clear error when pgha is not preloaded */
PghaShared *
pgha_shared_or_error(void)
{
	if (pgha_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pgha is not loaded"),
				 errdetail("The keeper and its shared memory exist only when pgha is in shared_preload_libraries."),
				 errhint("Add pgha to shared_preload_libraries in postgresql.conf and restart the server.")));
	return pgha_shared;
}
