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
}
