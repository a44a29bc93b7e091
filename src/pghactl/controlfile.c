/*-------------------------------------------------------------------------
 *
 * controlfile.c
 *	  The control file read directly.  A fork of pg_controldata costs
 *	  ~30 ms on an idle machine and several times that on a busy one, and
 *	  the guard reads the file each time the checkpointer rewrites it while
 *	  a primary shuts down, on the way to handing the leader key over.
 *
 * pghactl is built against the server headers of the PostgreSQL major
 * version it runs with (as pg_controldata is), so the layout comes from
 * catalog/pg_control.h; the version field and the CRC-32C are checked, so
 * a file of another version, a torn read or garbage is refused and the
 * caller falls back on pg_controldata (which reads the same file).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>

#include "catalog/pg_control.h"

#include "controlfile.h"

/* port.h's pg_snprintf is in libpgport, which pghactl does not link */
#undef snprintf

/* CRC-32C (Castagnoli, reflected), as PostgreSQL's pg_crc32c */
static uint32_t
crc32c(const unsigned char *p, size_t len)
{
	uint32_t	crc = 0xFFFFFFFF;

	while (len-- > 0)
	{
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78 & (0U - (crc & 1)));
	}
	return crc ^ 0xFFFFFFFF;
}

static bool
db_state(DBState s, PghaDbState *out)
{
	switch (s)
	{
		case DB_STARTUP:
			*out = PGHA_DB_STARTING_UP;
			return true;
		case DB_SHUTDOWNED:
			*out = PGHA_DB_SHUT_DOWN;
			return true;
		case DB_SHUTDOWNED_IN_RECOVERY:
			*out = PGHA_DB_SHUT_DOWN_IN_RECOVERY;
			return true;
		case DB_SHUTDOWNING:
			*out = PGHA_DB_SHUTTING_DOWN;
			return true;
		case DB_IN_CRASH_RECOVERY:
			*out = PGHA_DB_IN_CRASH_RECOVERY;
			return true;
		case DB_IN_ARCHIVE_RECOVERY:
			*out = PGHA_DB_IN_ARCHIVE_RECOVERY;
			return true;
		case DB_IN_PRODUCTION:
			*out = PGHA_DB_IN_PRODUCTION;
			return true;
	}
	return false;
}

bool
pghactl_control_read(const char *pgdata, PghaControlData *cd)
{
	char		path[MAXPGPATH];
	ControlFileData cf;
	int			fd;
	ssize_t		n;

	memset(cd, 0, sizeof(*cd));
	snprintf(path, sizeof(path), "%s/global/pg_control", pgdata);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = pread(fd, &cf, sizeof(cf), 0);
	close(fd);
	if (n != (ssize_t) sizeof(cf) || cf.pg_control_version != PG_CONTROL_VERSION ||
		crc32c((const unsigned char *) &cf, offsetof(ControlFileData, crc)) != cf.crc ||
		!db_state(cf.state, &cd->state))
		return false;
	snprintf(cd->system_identifier, sizeof(cd->system_identifier), "%" PRIu64,
			 (uint64_t) cf.system_identifier);
	cd->checkpoint_lsn = cf.checkPoint;
	cd->checkpoint_tli = (int) cf.checkPointCopy.ThisTimeLineID;
	cd->min_recovery_lsn = cf.minRecoveryPoint;
	cd->min_recovery_tli = (int) cf.minRecoveryPointTLI;
	cd->wal_log_hints = cf.wal_log_hints;
	cd->checksum_version = (int) cf.data_checksum_version;
	return true;
}
