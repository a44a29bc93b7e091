/*-------------------------------------------------------------------------
 *
 * pgha.c
 *	  Entry point of pgha.so: settings, shared memory, the keeper and the
 *	  REST api worker (when pgha.api_listen is set).
 *
 * Loaded through shared_preload_libraries, pgha defines its settings,
 * reserves shared memory and registers the keeper background worker.
 * Loaded any other way (CREATE EXTENSION alone) it does nothing: settings
 * that need a restart cannot be defined after startup (that is FATAL), and
 * the SQL functions then report that pgha is not preloaded.
 *
 *-------------------------------------------------------------------------
 */
#include "pgha.h"

#include "postmaster/bgworker.h"

#include "fmgr.h"
#include "miscadmin.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	pgha_define_gucs();
	pgha_shmem_install_hooks();
	pgha_commit_guard_install();
	pgha_register_keeper();
	pgha_register_api();
	pgha_quick_exit_install();
}

/* a background worker of pgha.so, started with the postmaster */
void
pgha_register_worker(const char *function, const char *name, int restart_s)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_PostmasterStart;
	worker.bgw_restart_time = restart_s;
	strlcpy(worker.bgw_library_name, "pgha", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, function, BGW_MAXLEN);
	strlcpy(worker.bgw_name, name, BGW_MAXLEN);
	strlcpy(worker.bgw_type, name, BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}
