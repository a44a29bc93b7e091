/*-------------------------------------------------------------------------
 *
 * identity.h
 *	  Which running instance is this node?  (safety rule 6)
 *
 * A member name alone does not identify a node: a clone of the leader
 * started with the leader's configuration, or a second machine configured
 * with a running replica's name, uses the same pgha.node_name.  pgha tells
 * them apart with an instance identity that a copy never shares: a hash of
 * the machine's boot id (/proc/sys/kernel/random/boot_id, new at every
 * boot, different on a copied VM) and the real path of the data directory.
 * A postmaster restart keeps it, so a node recognizes its own previous life
 * (its member key on the lease the lost shared memory knew).
 *
 * The keeper publishes the identity in its member key ("pgha_instance", a
 * field Patroni ignores) and records its lease in PGDATA/pgha.lease:
 *
 *	 "1 <lease_id> <lease_ttl> <instance>\n"
 *
 * written (without fsync) when the lease changes.  pg_basebackup copies
 * that file, so it is trusted only when its instance is the reader's own:
 * a clone's copy names the leader's data directory, not the clone's.
 *
 * Plain C, shared by pgha.so and pghactl.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_IDENTITY_H
#define PGHA_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PGHA_LEASE_FILE		"pgha.lease"
#define PGHA_INSTANCE_LEN	17	/* 16 hex digits and a NUL */

/*
 * The instance identity of the data directory datadir on this boot of this
 * machine, as 16 hex digits.  False (with the reason) when the boot id or
 * the real path cannot be read.
 */
extern bool pgha_instance_id(const char *datadir, char *out, size_t outlen,
							 char *errbuf, size_t errlen);
/* the same from its parts (unit tests) */
extern void pgha_instance_id_of(const char *boot_id, const char *realdir,
								char *out, size_t outlen);

typedef struct PghaLeaseFile
{
	int64_t		lease_id;
	int			lease_ttl;
	char		instance[PGHA_INSTANCE_LEN];
} PghaLeaseFile;

extern bool pgha_lease_file_parse(const char *text, PghaLeaseFile *lf);
extern char *pgha_lease_file_text(const PghaLeaseFile *lf);	/* malloc'd */

/*
 * The lease this node's keeper last used, from datadir/pgha.lease: 0 when
 * the file is absent, malformed or written by another instance (a copy).
 */
extern int64_t pgha_own_lease(const char *datadir, const char *instance);

#endif							/* PGHA_IDENTITY_H */
