/*-------------------------------------------------------------------------
 *
 * identity.c
 *	  The instance identity and the lease file (see identity.h).
 *
 *-------------------------------------------------------------------------
 */
#include "identity.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_files.h"

#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

/* FNV-1a, 64 bits: a name, not a secret */
static uint64_t
fnv1a(uint64_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
	{
		h ^= (unsigned char) s[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

void
pgha_instance_id_of(const char *boot_id, const char *realdir, char *out,
					size_t outlen)
{
	uint64_t	h = UINT64_C(14695981039346656037);

	h = fnv1a(h, boot_id, strlen(boot_id) + 1);
	h = fnv1a(h, realdir, strlen(realdir));
	snprintf(out, outlen, "%016" PRIx64, h);
}

bool
pgha_instance_id(const char *datadir, char *out, size_t outlen,
				 char *errbuf, size_t errlen)
{
	char		boot_id[64] = "";
	char		real[PATH_MAX];
	FILE	   *f;
	size_t		n;

	f = fopen(BOOT_ID_PATH, "r");
	if (f == NULL)
	{
		snprintf(errbuf, errlen, "could not read %s: %s", BOOT_ID_PATH,
				 strerror(errno));
		return false;
	}
	n = fread(boot_id, 1, sizeof(boot_id) - 1, f);
	fclose(f);
	boot_id[n] = '\0';
	while (n > 0 && (boot_id[n - 1] == '\n' || boot_id[n - 1] == ' '))
		boot_id[--n] = '\0';
	if (n == 0)
	{
		snprintf(errbuf, errlen, "%s is empty", BOOT_ID_PATH);
		return false;
	}
	if (realpath(datadir, real) == NULL)
	{
		snprintf(errbuf, errlen, "could not resolve the data directory \"%s\": %s",
				 datadir, strerror(errno));
		return false;
	}
	pgha_instance_id_of(boot_id, real, out, outlen);
	return true;
}

bool
pgha_lease_file_parse(const char *text, PghaLeaseFile *lf)
{
	int			version;
	long long	lease;
	int			ttl;
	char		inst[PGHA_INSTANCE_LEN + 1];

	memset(lf, 0, sizeof(*lf));
	if (text == NULL ||
		sscanf(text, "%d %lld %d %17s", &version, &lease, &ttl, inst) != 4 ||
		version != 1 || lease <= 0 || ttl <= 0 ||
		strlen(inst) != PGHA_INSTANCE_LEN - 1)
		return false;
	lf->lease_id = (int64_t) lease;
	lf->lease_ttl = ttl;
	memcpy(lf->instance, inst, PGHA_INSTANCE_LEN);
	return true;
}

char *
pgha_lease_file_text(const PghaLeaseFile *lf)
{
	char	   *buf = malloc(96);

	if (buf != NULL)
		snprintf(buf, 96, "1 %lld %d %s\n", (long long) lf->lease_id,
				 lf->lease_ttl, lf->instance);
	return buf;
}

int64_t
pgha_own_lease(const char *datadir, const char *instance)
{
	char	   *text = pgha_read_small_file(datadir, PGHA_LEASE_FILE, 256);
	PghaLeaseFile lf;
	bool		ok;

	if (text == NULL)
		return 0;
	ok = pgha_lease_file_parse(text, &lf);
	free(text);
	if (!ok || instance == NULL || strcmp(lf.instance, instance) != 0)
		return 0;
	return lf.lease_id;
}
