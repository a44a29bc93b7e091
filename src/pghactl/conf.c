/*-------------------------------------------------------------------------
 *
 * conf.c
 *	  pghactl's settings: a postgresql.conf-style file, the environment and
 *	  the command line, checked with the server's own rules.
 *
 * Reading the server's postgresql.conf lets "pghactl -c $PGDATA/postgresql.conf
 * list" find etcd exactly as the keeper does.  The file is read with
 * postgresql.conf's syntax (guc-file.l): "name [=] value" lines, quoted
 * values with '' and backslash escapes, '#' comments, and the include,
 * include_if_exists and include_dir directives, later lines winning.  Only
 * pgha.* settings are kept; other settings are skipped, but a line that
 * postgres itself could not parse is reported, since the server would
 * refuse the file as well.
 *
 *-------------------------------------------------------------------------
 */
#include "conf.h"
#include "errbuf.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "settings.h"

/* as postgres' CONF_FILE_MAX_DEPTH */
#define CONF_MAX_DEPTH	10
#define PASSWORD_MAX_LEN 1024

typedef struct SettingDef
{
	const char *guc;			/* name in postgresql.conf */
	const char *env;			/* environment variable */
} SettingDef;

/* indexed by PghactlSettingId */
static const SettingDef setting_defs[PS_COUNT] = {
	[PS_SCOPE] = {"pgha.scope", "PGHA_SCOPE"},
	[PS_NAMESPACE] = {"pgha.namespace", "PGHA_NAMESPACE"},
	[PS_ENDPOINTS] = {"pgha.etcd_endpoints", "PGHA_ETCD_ENDPOINTS"},
	[PS_CACERT] = {"pgha.etcd_cacert", "PGHA_ETCD_CACERT"},
	[PS_CERT] = {"pgha.etcd_cert", "PGHA_ETCD_CERT"},
	[PS_KEY] = {"pgha.etcd_key", "PGHA_ETCD_KEY"},
	[PS_USERNAME] = {"pgha.etcd_username", "PGHA_ETCD_USERNAME"},
	[PS_PASSWORD] = {"pgha.etcd_password", "PGHA_ETCD_PASSWORD"},
	[PS_PASSWORD_FILE] = {"pgha.etcd_password_file", "PGHA_ETCD_PASSWORD_FILE"},
	[PS_NODE_NAME] = {"pgha.node_name", "PGHA_NODE_NAME"},
	[PS_CONNECT_ADDRESS] = {"pgha.connect_address", "PGHA_CONNECT_ADDRESS"},
	[PS_REPLICATION_USER] = {"pgha.replication_user", "PGHA_REPLICATION_USER"},
};


void
pghactl_conf_init(PghactlSettings *st)
{
	memset(st, 0, sizeof(*st));
}

void
pghactl_conf_free(PghactlSettings *st)
{
	int			i;

	for (i = 0; i < PS_COUNT; i++)
	{
		/* the password should not linger in freed memory */
		if (st->s[i].value != NULL && i == PS_PASSWORD)
			memset(st->s[i].value, 0, strlen(st->s[i].value));
		free(st->s[i].value);
		st->s[i].value = NULL;
	}
}

bool
pghactl_conf_set(PghactlSettings *st, PghactlSettingId id, const char *value,
				 const char *source)
{
	char	   *copy = strdup(value);

	if (copy == NULL)
		return false;
	if (st->s[id].value != NULL && id == PS_PASSWORD)
		memset(st->s[id].value, 0, strlen(st->s[id].value));
	free(st->s[id].value);
	st->s[id].value = copy;
	snprintf(st->s[id].source, sizeof(st->s[id].source), "%s", source);
	return true;
}

const char *
pghactl_conf_get(const PghactlSettings *st, PghactlSettingId id)
{
	const char *v = st->s[id].value;

	return (v == NULL || v[0] == '\0') ? NULL : v;
}

void
pghactl_conf_load_env(PghactlSettings *st)
{
	int			i;

	for (i = 0; i < PS_COUNT; i++)
	{
		const char *v = getenv(setting_defs[i].env);

		/* an empty variable is an unset one, as for the GUCs */
		if (v != NULL && v[0] != '\0')
			pghactl_conf_set(st, (PghactlSettingId) i, v, setting_defs[i].env);
	}
}

/* ---- postgresql.conf syntax ---- */

static bool
is_id_start(int c)
{
	return isalpha(c) || c == '_' || c >= 0x80;
}

static bool
is_id_char(int c)
{
	return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

/*
 * A quoted value, as guc-file.l's GUC_scanstr: '' is a quote, backslash
 * escapes \b \f \n \r \t and up to three octal digits, any other escaped
 * character stands for itself.  *pp points after the opening quote and is
 * left after the closing one.  Returns false when the quote is not closed
 * on this line.
 */
static bool
scan_quoted(const char **pp, char *out, size_t outlen)
{
	const char *p = *pp;
	size_t		n = 0;

	for (;;)
	{
		int			c = (unsigned char) *p;

		if (c == '\0')
			return false;
		if (c == '\'')
		{
			if (p[1] != '\'')
				break;
			p++;
		}
		else if (c == '\\')
		{
			p++;
			switch (*p)
			{
				case '\0':
					return false;
				case 'b':
					c = '\b';
					break;
				case 'f':
					c = '\f';
					break;
				case 'n':
					c = '\n';
					break;
				case 'r':
					c = '\r';
					break;
				case 't':
					c = '\t';
					break;
				case '0':
				case '1':
				case '2':
				case '3':
				case '4':
				case '5':
				case '6':
				case '7':
					{
						int			k;

						c = 0;
						for (k = 0; k < 3 && *p >= '0' && *p <= '7'; k++, p++)
							c = (c << 3) + (*p - '0');
						p--;
						c &= 0xff;
						break;
					}
				default:
					c = (unsigned char) *p;
					break;
			}
		}
		if (n + 1 >= outlen)
			return false;
		out[n++] = (char) c;
		p++;
	}
	out[n] = '\0';
	*pp = p + 1;
	return true;
}

static bool load_file(PghactlSettings *st, const char *path, int depth,
					  char *errbuf, size_t errlen);

/* a relative include names a file in the including file's directory */
static void
resolve_path(const char *base_file, const char *name, char *out, size_t outlen)
{
	const char *slash = strrchr(base_file, '/');

	if (name[0] == '/' || slash == NULL)
		snprintf(out, outlen, "%s", name);
	else
		snprintf(out, outlen, "%.*s/%s", (int) (slash - base_file), base_file, name);
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* include_dir: its *.conf files, not hidden ones, in name order */
static bool
load_dir(PghactlSettings *st, const char *dir, int depth,
		 char *errbuf, size_t errlen)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	char	  **names = NULL;
	size_t		n = 0,
				cap = 0,
				i;
	bool		ok = true;

	if (d == NULL)
	{
		pgha_set_error(errbuf, errlen, "cannot open directory \"%s\": %s", dir, strerror(errno));
		return false;
	}
	while ((de = readdir(d)) != NULL)
	{
		size_t		len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		if (n == cap)
		{
			char	  **grown;

			cap = cap ? cap * 2 : 16;
			grown = realloc(names, cap * sizeof(char *));
			if (grown == NULL)
			{
				ok = false;
				break;
			}
			names = grown;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
		{
			ok = false;
			break;
		}
		n++;
	}
	closedir(d);
	if (!ok)
		pgha_set_error(errbuf, errlen, "out of memory reading directory \"%s\"", dir);
	else
		qsort(names, n, sizeof(char *), compare_names);

	for (i = 0; i < n; i++)
	{
		char		path[PATH_MAX];

		if (ok)
		{
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			ok = load_file(st, path, depth + 1, errbuf, errlen);
		}
		free(names[i]);
	}
	free(names);
	return ok;
}

/*
 * One line.  Returns false with a message on a syntax error or when an
 * included file cannot be read.
 */
static bool
parse_line(PghactlSettings *st, const char *file, int lineno, const char *line,
		   int depth, char *errbuf, size_t errlen)
{
	const char *p = line;
	const char *name_start;
	char		name[128];
	char		value[4096];
	size_t		len;
	int			i;

	while (isspace((unsigned char) *p))
		p++;
	if (*p == '\0' || *p == '#')
		return true;

	/* ID or ID.ID */
	name_start = p;
	if (!is_id_start((unsigned char) *p))
		goto syntax;
	while (is_id_char((unsigned char) *p))
		p++;
	if (*p == '.')
	{
		p++;
		if (!is_id_start((unsigned char) *p))
			goto syntax;
		while (is_id_char((unsigned char) *p))
			p++;
	}
	len = (size_t) (p - name_start);
	if (len >= sizeof(name))
		goto syntax;
	memcpy(name, name_start, len);
	name[len] = '\0';

	while (isspace((unsigned char) *p))
		p++;
	if (*p == '=')
		p++;
	while (isspace((unsigned char) *p))
		p++;

	if (*p == '\'')
	{
		p++;
		if (!scan_quoted(&p, value, sizeof(value)))
		{
			pgha_set_error(errbuf, errlen, "%s:%d: unterminated or overlong quoted string",
					  file, lineno);
			return false;
		}
	}
	else
	{
		const char *v = p;

		while (*p != '\0' && *p != '#' && !isspace((unsigned char) *p))
			p++;
		len = (size_t) (p - v);
		if (len == 0 || len >= sizeof(value))
			goto syntax;
		memcpy(value, v, len);
		value[len] = '\0';
	}
	while (isspace((unsigned char) *p))
		p++;
	if (*p != '\0' && *p != '#')
		goto syntax;

	if (strcasecmp(name, "include") == 0 ||
		strcasecmp(name, "include_if_exists") == 0 ||
		strcasecmp(name, "include_dir") == 0)
	{
		char		path[PATH_MAX];

		if (depth >= CONF_MAX_DEPTH)
		{
			pgha_set_error(errbuf, errlen, "%s:%d: includes nested more than %d deep",
					  file, lineno, CONF_MAX_DEPTH);
			return false;
		}
		resolve_path(file, value, path, sizeof(path));
		if (strcasecmp(name, "include_dir") == 0)
			return load_dir(st, path, depth, errbuf, errlen);
		if (strcasecmp(name, "include_if_exists") == 0)
		{
			FILE	   *probe = fopen(path, "r");

			if (probe == NULL && errno == ENOENT)
				return true;
			if (probe != NULL)
				fclose(probe);
		}
		return load_file(st, path, depth + 1, errbuf, errlen);
	}

	for (i = 0; i < PS_COUNT; i++)
	{
		if (strcasecmp(name, setting_defs[i].guc) == 0)
		{
			char		source[320];

			snprintf(source, sizeof(source), "%s in %.*s:%d",
					 setting_defs[i].guc, 256, file, lineno);
			if (!pghactl_conf_set(st, (PghactlSettingId) i, value, source))
			{
				pgha_set_error(errbuf, errlen, "out of memory");
				return false;
			}
		}
	}
	return true;

syntax:
	pgha_set_error(errbuf, errlen, "%s:%d: syntax error near \"%.20s\"", file, lineno, p);
	return false;
}

static bool
load_file(PghactlSettings *st, const char *path, int depth,
		  char *errbuf, size_t errlen)
{
	FILE	   *f;
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		len;
	int			lineno = 0;
	bool		ok = true;

	f = fopen(path, "r");
	if (f == NULL)
	{
		pgha_set_error(errbuf, errlen, "cannot open \"%s\": %s", path, strerror(errno));
		return false;
	}
	while (ok && (len = getline(&line, &cap, f)) >= 0)
	{
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (strlen(line) != (size_t) len)
		{
			pgha_set_error(errbuf, errlen, "%s:%d: NUL byte in line", path, lineno);
			ok = false;
			break;
		}
		ok = parse_line(st, path, lineno, line, depth, errbuf, errlen);
	}
	if (ok && ferror(f))
	{
		pgha_set_error(errbuf, errlen, "cannot read \"%s\": %s", path, strerror(errno));
		ok = false;
	}
	free(line);
	fclose(f);
	return ok;
}

bool
pghactl_conf_load_file(PghactlSettings *st, const char *path,
					   char *errbuf, size_t errlen)
{
	return load_file(st, path, 0, errbuf, errlen);
}

/* ---- checks ---- */

/* the first line of the password file, without its line ending */
static bool
read_password_file(PghactlSettings *st, char *errbuf, size_t errlen)
{
	const char *path = pghactl_conf_get(st, PS_PASSWORD_FILE);
	char		err[256];
	char		buf[PASSWORD_MAX_LEN + 2];
	char		source[320];
	FILE	   *f;
	size_t		len;

	if (!pgha_valid_file_path(path, err, sizeof(err)))
	{
		pgha_set_error(errbuf, errlen, "%s (from %s)", err, st->s[PS_PASSWORD_FILE].source);
		return false;
	}
	f = fopen(path, "r");
	if (f == NULL)
	{
		pgha_set_error(errbuf, errlen, "cannot open \"%s\": %s (from %s)",
				  path, strerror(errno), st->s[PS_PASSWORD_FILE].source);
		return false;
	}
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	len = strcspn(buf, "\r\n");
	if (len > PASSWORD_MAX_LEN)
	{
		memset(buf, 0, sizeof(buf));
		pgha_set_error(errbuf, errlen, "the password in \"%s\" is longer than %d bytes",
				  path, PASSWORD_MAX_LEN);
		return false;
	}
	buf[len] = '\0';
	snprintf(source, sizeof(source), "%s", path);
	if (!pghactl_conf_set(st, PS_PASSWORD, buf, source))
	{
		memset(buf, 0, sizeof(buf));
		pgha_set_error(errbuf, errlen, "out of memory");
		return false;
	}
	memset(buf, 0, sizeof(buf));
	return true;
}

typedef bool (*Validator) (const char *s, char *errbuf, size_t errlen);

static bool
check(const PghactlSettings *st, PghactlSettingId id, Validator validate,
	  char *errbuf, size_t errlen)
{
	char		err[256];
	const char *v = pghactl_conf_get(st, id);

	if (v == NULL || validate(v, err, sizeof(err)))
		return true;
	pgha_set_error(errbuf, errlen, "%s (from %s)", err, st->s[id].source);
	return false;
}

bool
pghactl_conf_finish(PghactlSettings *st, bool need_etcd, char *errbuf,
					size_t errlen)
{
	if (pghactl_conf_get(st, PS_NAMESPACE) == NULL &&
		!pghactl_conf_set(st, PS_NAMESPACE, PGHACTL_DEFAULT_NAMESPACE, "the default"))
	{
		pgha_set_error(errbuf, errlen, "out of memory");
		return false;
	}
	if (pghactl_conf_get(st, PS_REPLICATION_USER) == NULL &&
		!pghactl_conf_set(st, PS_REPLICATION_USER,
						  PGHACTL_DEFAULT_REPLICATION_USER, "the default"))
	{
		pgha_set_error(errbuf, errlen, "out of memory");
		return false;
	}
	if (need_etcd && pghactl_conf_get(st, PS_SCOPE) == NULL)
	{
		pgha_set_error(errbuf, errlen,
				  "no cluster scope given: use --scope, PGHA_SCOPE or pgha.scope in a -c file");
		return false;
	}
	if (need_etcd && pghactl_conf_get(st, PS_ENDPOINTS) == NULL)
	{
		pgha_set_error(errbuf, errlen,
				  "no etcd endpoints given: use --endpoints, PGHA_ETCD_ENDPOINTS or pgha.etcd_endpoints in a -c file");
		return false;
	}
	if (!check(st, PS_SCOPE, pgha_valid_name, errbuf, errlen) ||
		!check(st, PS_NAMESPACE, pgha_valid_namespace, errbuf, errlen) ||
		!check(st, PS_ENDPOINTS, pgha_valid_endpoints, errbuf, errlen) ||
		!check(st, PS_CACERT, pgha_valid_file_path, errbuf, errlen) ||
		!check(st, PS_CERT, pgha_valid_file_path, errbuf, errlen) ||
		!check(st, PS_KEY, pgha_valid_file_path, errbuf, errlen) ||
		!check(st, PS_NODE_NAME, pgha_valid_name, errbuf, errlen) ||
		!check(st, PS_CONNECT_ADDRESS, pgha_valid_connect_address, errbuf, errlen) ||
		!check(st, PS_REPLICATION_USER, pgha_valid_name, errbuf, errlen))
		return false;
	if ((pghactl_conf_get(st, PS_CERT) == NULL) != (pghactl_conf_get(st, PS_KEY) == NULL))
	{
		pgha_set_error(errbuf, errlen,
				  "a client certificate needs both pgha.etcd_cert and pgha.etcd_key");
		return false;
	}

	/* an explicit password wins over a password file */
	if (pghactl_conf_get(st, PS_PASSWORD) == NULL &&
		pghactl_conf_get(st, PS_PASSWORD_FILE) != NULL &&
		!read_password_file(st, errbuf, errlen))
		return false;
	if ((pghactl_conf_get(st, PS_USERNAME) == NULL) !=
		(pghactl_conf_get(st, PS_PASSWORD) == NULL))
	{
		pgha_set_error(errbuf, errlen,
				  "etcd authentication needs both a username and a password");
		return false;
	}
	return true;
}
