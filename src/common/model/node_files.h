/*-------------------------------------------------------------------------
 *
 * node_files.h
 *	  The files in the data directory through which the keeper (inside
 *	  postgres) and pgha-watchdog (outside) talk to each other.
 *
 *	 pgha.heartbeat		written by the keeper once per loop (and when it starts or
 *						fences), through rename() but without fsync (it serves
 *						the live processes, not crash recovery):
 *						"2 <written_ms> <primary|replica> <fence_deadline_ms> <keeper_pid> <state>"
 *						Times are CLOCK_BOOTTIME milliseconds: one clock for every
 *						process of the machine (/proc/uptime shows it), which
 *						wall-clock steps do not move and which keeps counting
 *						while the machine is suspended.  Fence deadline 0 = none.
 *						A primary must not accept writes after its fence
 *						deadline: the keeper fences itself then, and the
 *						watchdog stops a primary whose (hung) keeper did not.
 *	 pgha.fenced		written by the keeper just before it shuts postgres down
 *						to stop writes (lost lease, another leader): one line,
 *						the reason.  Tells the watchdog to rejoin as a replica.
 *						Removed by the watchdog once the node is a replica.
 *	 pgha_recovery.conf	included from postgresql.conf (include_if_exists):
 *						primary_conninfo and primary_slot_name of a standby.
 *						Written by the watchdog when it sets up a replica and by
 *						the keeper when the standby must follow a new leader
 *						(then the keeper sends SIGHUP to the postmaster).
 *	 pgha_sync.conf		included from postgresql.conf after it (include_if_exists):
 *						synchronous_standby_names in synchronous mode, written
 *						by the keeper (keeper_sync.c) with a SIGHUP; without a
 *						setting when synchronous mode is off.
 *
 *	 pgha.restart		written by the keeper before it shuts postgres down for a
 *						requested restart (pghactl restart, pgha_restart()):
 *						the watchdog starts it again in the same role, keeping
 *						the leader key (node_plan.c).  Removed by the watchdog.
 *	 pgha.reinit		the same for a reinit: the watchdog empties the data
 *						directory and clones the leader again.
 *	 pgha_params.conf	included from postgresql.conf after the node's own file:
 *						postgresql.parameters of the config key, written by
 *						the keeper (keeper_params.c) with a SIGHUP.
 *
 * Plain C, shared by pgha.so and pghactl.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_NODE_FILES_H
#define PGHA_NODE_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PGHA_HEARTBEAT_FILE		"pgha.heartbeat"
#define PGHA_FENCED_FILE		"pgha.fenced"
#define PGHA_RECOVERY_CONF		"pgha_recovery.conf"
#define PGHA_SYNC_CONF			"pgha_sync.conf"
#define PGHA_RESTART_FILE		"pgha.restart"
#define PGHA_REINIT_FILE		"pgha.reinit"

#define PGHA_HEARTBEAT_VERSION	2

typedef struct PghaHeartbeat
{
	int64_t		written_ms;		/* pgha_boottime_ms() */
	bool		primary;
	int64_t		fence_deadline_ms;	/* pgha_boottime_ms(); 0 = no deadline */
	int			keeper_pid;		/* the keeper that wrote it */
	char		state[64];		/* one word or phrase, no newline */
} PghaHeartbeat;

/* wall clock, ms since the epoch: only for what etcd or people read */
extern int64_t pgha_realtime_ms(void);
/* CLOCK_BOOTTIME in ms: for deadlines shared between processes */
extern int64_t pgha_boottime_ms(void);

/* write content to dir/name through a temporary file, fsync and rename() */
extern bool pgha_write_file_atomic(const char *dir, const char *name,
								   const char *content, char *errbuf,
								   size_t errlen);
/* the same without fsync: atomic for readers, not durable across a crash */
extern bool pgha_write_file_replace(const char *dir, const char *name,
									const char *content, char *errbuf,
									size_t errlen);
/* malloc'd content of dir/name (at most maxlen bytes), or NULL with errno set */
extern char *pgha_read_small_file(const char *dir, const char *name,
								  size_t maxlen);

extern bool pgha_heartbeat_write(const char *datadir, const PghaHeartbeat *hb,
								 char *errbuf, size_t errlen);
extern bool pgha_heartbeat_parse(const char *text, PghaHeartbeat *hb);
extern bool pgha_heartbeat_read(const char *datadir, PghaHeartbeat *hb,
								char *errbuf, size_t errlen);

/*
 * Text of pgha_recovery.conf.  host NULL: a standby with no upstream yet
 * (primary_conninfo = '').  Values are quoted for both conninfo and
 * postgresql.conf syntax.  malloc'd; NULL on OOM.
 */
extern char *pgha_recovery_conf_text(const char *host, int port,
									 const char *user,
									 const char *application_name,
									 const char *slot);

/* Patroni's slot name for a member: lower case, [a-z0-9_] only */
extern void pgha_slot_name(const char *member, char *out, size_t outlen);

#endif							/* PGHA_NODE_FILES_H */
