/*-------------------------------------------------------------------------
 *
 * quick_exit.c
 *	  Every postgres child's exit without the libraries' teardown.
 *
 * At exit() libcurl's TLS library (OpenSSL) and gnutls free their tables,
 * from atexit handlers and library destructors.  In a process forked from
 * the postmaster each first write to an inherited page is a copy-on-write
 * fault: the keeper needed ~55 ms after its last log line to exit (perf:
 * page faults under EVP_CIPHER_free, _int_free, _dl_fini), and a fast
 * shutdown waits for every worker before its checkpoint, inside the write
 * outage of a switchover.  Stock PostgreSQL pays it too: its postmaster
 * initializes OpenSSL for the cancel keys, so every backend's exit frees
 * OpenSSL's tables (on a 2-core VM, 30 ms of CPU per connection).  Nothing
 * of that teardown matters to the kernel.
 *
 * pgha_quick_exit_install(), called by _PG_init in the postmaster,
 * initializes libcurl (so that OpenSSL registers its atexit handler now)
 * and then registers an on_exit() handler of its own, which therefore runs
 * before those, in every child process forked later.  The handler acts only
 * once PostgreSQL's own exit callbacks have run (proc_exit_inprogress:
 * shared memory, locks, files are released), and then ends the process with
 * _exit() and the same status.  An exit() that did not come through
 * proc_exit() goes on as usual (PostgreSQL's own atexit callback cleans up),
 * and so does the postmaster's.  pgha.quick_exit = off (restart) leaves
 * every exit as it is.
 *
 *-------------------------------------------------------------------------
 */
#include "pgha.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "miscadmin.h"
#include "storage/ipc.h"

#include "etcd_client.h"

static pid_t installed_in = 0;

static void
quick_exit_handler(int status, void *arg)
{
	if (getpid() == installed_in || !proc_exit_inprogress)
		return;
	fflush(NULL);
	_exit(status);
}

void
pgha_quick_exit_install(void)
{
	EtcdError	err;

	if (installed_in != 0 || !pgha_quick_exit)
		return;
	/* a failure shows again, with its reason, when a client is made */
	if (!etcd_global_init(&err))
		return;
	if (on_exit(quick_exit_handler, NULL) == 0)
		installed_in = getpid();
}
