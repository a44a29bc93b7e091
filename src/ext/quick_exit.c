/*-------------------------------------------------------------------------
 *
 * quick_exit.c
 *	  The workers' exit without the libraries' teardown.
 *
 * At exit() libcurl's TLS library (OpenSSL) and gnutls free their tables,
 * from atexit handlers and library destructors.  In a process forked from
 * the postmaster each first write to an inherited page is a copy-on-write
 * fault: the keeper needed ~55 ms after its last log line to exit (perf:
 * page faults under EVP_CIPHER_free, _int_free, _dl_fini), and a fast
 * shutdown waits for every worker before its checkpoint, inside the write
 * outage of a switchover.  Nothing of that teardown matters to the kernel.
 *
 * pgha_quick_exit_setup() initializes libcurl (so that OpenSSL registers
 * its atexit handler now) and then registers an on_exit() handler of its
 * own, which therefore runs first: exit() is only called by proc_exit(),
 * once PostgreSQL's own exit callbacks (shared memory, locks, files) have
 * run, and the handler ends the process there with _exit() and the same
 * status.
 *
 *-------------------------------------------------------------------------
 */
#include "pgha.h"

#include <stdlib.h>
#include <unistd.h>

#include "etcd_client.h"

static pid_t quick_exit_pid = 0;

static void
quick_exit_handler(int status, void *arg)
{
	/* only the worker itself, not a child forked from it */
	if (getpid() == quick_exit_pid)
		_exit(status);
}

void
pgha_quick_exit_setup(void)
{
	EtcdError	err;

	if (quick_exit_pid != 0)
		return;
	/* a failure shows again, with its reason, when a client is made */
	if (!etcd_global_init(&err))
		return;
	quick_exit_pid = getpid();
	if (on_exit(quick_exit_handler, NULL) != 0)
		quick_exit_pid = 0;
}
