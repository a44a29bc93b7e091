/*-------------------------------------------------------------------------
 *
 * node_files.c
 *	  Reading and writing the keeper/watchdog files (see node_files.h).
 *
 * Every write goes through a temporary file and rename(), so that a reader
 * never sees half a file, even when the writer dies mid-way; files that must
 * survive a crash of the machine are also fsynced.
 *
 *-------------------------------------------------------------------------
 */
#include "node_files.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t
pgha_realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
pgha_boottime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
write_file(const char *dir, const char *name, const char *content, bool durable,
		   char *errbuf, size_t errlen)
{
	char		path[4096];
	char		tmp[4096];
	size_t		len = strlen(content);
	int			fd;
	bool		ok;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int) sizeof(path) ||
		snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name) >= (int) sizeof(tmp))
	{
		snprintf(errbuf, errlen, "path of %s is too long", name);
		return false;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
	{
		snprintf(errbuf, errlen, "could not create \"%s\": %s", tmp, strerror(errno));
		return false;
	}
	ok = write(fd, content, len) == (ssize_t) len && (!durable || fsync(fd) == 0);
	if (!ok)
		snprintf(errbuf, errlen, "could not write \"%s\": %s", tmp, strerror(errno));
	if (close(fd) != 0 && ok)
	{
		snprintf(errbuf, errlen, "could not close \"%s\": %s", tmp, strerror(errno));
		ok = false;
	}
	if (ok && rename(tmp, path) != 0)
	{
		snprintf(errbuf, errlen, "could not rename \"%s\": %s", tmp, strerror(errno));
		ok = false;
	}
	if (!ok)
		unlink(tmp);
	return ok;
}

bool
pgha_write_file_atomic(const char *dir, const char *name, const char *content,
					   char *errbuf, size_t errlen)
{
	return write_file(dir, name, content, true, errbuf, errlen);
}

bool
pgha_write_file_replace(const char *dir, const char *name, const char *content,
						char *errbuf, size_t errlen)
{
	return write_file(dir, name, content, false, errbuf, errlen);
}

char *
pgha_read_small_file(const char *dir, const char *name, size_t maxlen)
{
	char		path[4096];
	FILE	   *f;
	char	   *buf;
	size_t		n;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int) sizeof(path))
	{
		errno = ENAMETOOLONG;
		return NULL;
	}
	f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	buf = malloc(maxlen + 1);
	if (buf == NULL)
	{
		fclose(f);
		errno = ENOMEM;
		return NULL;
	}
	n = fread(buf, 1, maxlen, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

bool
pgha_heartbeat_write(const char *datadir, const PghaHeartbeat *hb,
					 char *errbuf, size_t errlen)
{
	char		line[256];

	snprintf(line, sizeof(line), "%d %" PRId64 " %s %" PRId64 " %d %s\n",
			 PGHA_HEARTBEAT_VERSION, hb->written_ms,
			 hb->primary ? "primary" : "replica", hb->fence_deadline_ms,
			 hb->keeper_pid, hb->state);
	return pgha_write_file_replace(datadir, PGHA_HEARTBEAT_FILE, line,
								   errbuf, errlen);
}

bool
pgha_heartbeat_parse(const char *text, PghaHeartbeat *hb)
{
	char		role[16];
	int			version = 0;
	int			consumed = 0;
	size_t		len;

	memset(hb, 0, sizeof(*hb));
	if (sscanf(text, "%d %" SCNd64 " %15s %" SCNd64 " %d %n", &version,
			   &hb->written_ms, role, &hb->fence_deadline_ms, &hb->keeper_pid,
			   &consumed) != 5 || version != PGHA_HEARTBEAT_VERSION)
		return false;
	if (strcmp(role, "primary") == 0)
		hb->primary = true;
	else if (strcmp(role, "replica") != 0)
		return false;
	if (hb->written_ms <= 0 || hb->fence_deadline_ms < 0 || hb->keeper_pid < 0)
		return false;
	snprintf(hb->state, sizeof(hb->state), "%s", text + consumed);
	len = strcspn(hb->state, "\n");
	hb->state[len] = '\0';
	return true;
}

bool
pgha_heartbeat_read(const char *datadir, PghaHeartbeat *hb, char *errbuf,
					size_t errlen)
{
	char	   *text = pgha_read_small_file(datadir, PGHA_HEARTBEAT_FILE, 255);
	bool		ok;

	if (text == NULL)
	{
		snprintf(errbuf, errlen, "could not read %s/%s: %s", datadir,
				 PGHA_HEARTBEAT_FILE, strerror(errno));
		return false;
	}
	ok = pgha_heartbeat_parse(text, hb);
	if (!ok)
		snprintf(errbuf, errlen, "%s/%s is malformed", datadir, PGHA_HEARTBEAT_FILE);
	free(text);
	return ok;
}

/* append s to buf quoted for a conninfo value inside a conf-file string */
static void
append_conninfo_value(char *buf, size_t buflen, const char *s)
{
	size_t		len = strlen(buf);

	/* conninfo quoting: \' and \\ ; conf quoting then doubles each ' */
	if (len + 3 < buflen)
	{
		buf[len++] = '\'';
		buf[len++] = '\'';
	}
	for (; *s && len + 6 < buflen; s++)
	{
		if (*s == '\'' || *s == '\\')
		{
			buf[len++] = '\\';
			if (*s == '\'')
				buf[len++] = '\'';
		}
		buf[len++] = *s;
	}
	if (len + 3 < buflen)
	{
		buf[len++] = '\'';
		buf[len++] = '\'';
	}
	buf[len] = '\0';
}

char *
pgha_recovery_conf_text(const char *host, int port, const char *user,
						const char *application_name, const char *slot)
{
	char		conninfo[2048] = "";
	char	   *out = malloc(4096);
	char		portbuf[16];

	if (out == NULL)
		return NULL;
	if (host != NULL)
	{
		snprintf(portbuf, sizeof(portbuf), "%d", port);
		strcat(conninfo, "host=");
		append_conninfo_value(conninfo, sizeof(conninfo), host);
		strcat(conninfo, " port=");
		append_conninfo_value(conninfo, sizeof(conninfo), portbuf);
		strcat(conninfo, " user=");
		append_conninfo_value(conninfo, sizeof(conninfo), user);
		strcat(conninfo, " application_name=");
		append_conninfo_value(conninfo, sizeof(conninfo), application_name);
	}
	snprintf(out, 4096,
			 "# written by pgha: the upstream of this standby\n"
			 "primary_conninfo = '%s'\n"
			 "primary_slot_name = '%s'\n",
			 conninfo, host != NULL ? slot : "");
	return out;
}

void
pgha_slot_name(const char *member, char *out, size_t outlen)
{
	size_t		i;

	for (i = 0; member[i] && i + 1 < outlen; i++)
	{
		unsigned char c = (unsigned char) tolower((unsigned char) member[i]);

		out[i] = (isalnum(c) || c == '_') ? (char) c : '_';
	}
	out[i] = '\0';
}
