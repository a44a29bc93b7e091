/*-------------------------------------------------------------------------
 *
 * pg_params.c
 *	  The config key's PostgreSQL parameters (see pg_params.h).
 *
 * The refusals follow Patroni 3 (postgresql/config.py, CMDLINE_OPTIONS and
 * the recovery parameters): what Patroni takes only from its own settings
 * or overrides, pgha refuses with the reason instead of ignoring it, since
 * a setting that is accepted must work.  The lower bounds are Patroni's,
 * so that a config key written for Patroni is accepted as it is.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_params.h"
#include "errbuf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cluster.h"
#include "pgha_json.h"

typedef struct Refused
{
	const char *name;			/* exact name, or a prefix ending in '*' */
	const char *reason;
} Refused;

static const Refused refused_names[] = {
	{"listen_addresses", "it is a node setting: set it in the node's configuration file"},
	{"port", "it is a node setting: set it in the node's configuration file (pgha.connect_address names it)"},
	{"cluster_name", "it is a node setting: set it in the node's configuration file"},
	{"data_directory", "it is a node setting: the data directory is pgha-watchdog's --pgdata"},
	{"config_file", "it is a node setting"},
	{"hba_file", "it is a node setting: set it in the node's configuration file"},
	{"ident_file", "it is a node setting: set it in the node's configuration file"},
	{"external_pid_file", "it is a node setting: set it in the node's configuration file"},
	{"primary_conninfo", "pgha sets it (pgha_recovery.conf): a standby follows the leader named in etcd"},
	{"primary_slot_name", "pgha sets it (pgha_recovery.conf): each member streams through its own slot"},
	{"synchronous_standby_names", "pgha sets it in synchronous mode: set synchronous_mode and synchronous_node_count in the config key instead"},
	{"promote_trigger_file", "pgha promotes through its keeper: a trigger file would promote behind its back"},
	{"recovery_target*", "a recovery target would stop every standby's replay: pgha runs standbys that follow the leader"},
	{"pgha.*", "pgha's settings are node settings (postgresql.conf); the shared ones are the config key's ttl, loop_wait, retry_timeout, ..."},
};

/* PostgreSQL 15's postmaster-context parameters (postgres --describe-config) */
static const char *const restart_names[] = {
	"archive_mode", "autovacuum_freeze_max_age", "autovacuum_max_workers",
	"autovacuum_multixact_freeze_max_age", "bonjour", "bonjour_name",
	"cluster_name", "data_directory", "data_sync_retry",
	"dynamic_shared_memory_type", "event_source", "external_pid_file",
	"hba_file", "hot_standby", "huge_page_size", "huge_pages", "ident_file",
	"jit_provider", "listen_addresses", "logging_collector",
	"max_connections", "max_files_per_process", "max_locks_per_transaction",
	"max_logical_replication_workers", "max_pred_locks_per_transaction",
	"max_prepared_transactions", "max_replication_slots", "max_wal_senders",
	"max_worker_processes", "min_dynamic_shared_memory",
	"old_snapshot_threshold", "port", "recovery_target",
	"recovery_target_action", "recovery_target_inclusive",
	"recovery_target_lsn", "recovery_target_name", "recovery_target_time",
	"recovery_target_timeline", "recovery_target_xid", "shared_buffers",
	"shared_memory_type", "shared_preload_libraries",
	"superuser_reserved_connections", "track_activity_query_size",
	"track_commit_timestamp", "unix_socket_directories", "unix_socket_group",
	"unix_socket_permissions", "wal_buffers", "wal_decode_buffer_size",
	"wal_level", "wal_log_hints", NULL
};

/* Patroni's lower bounds of the settings every node shares */
typedef struct Bound
{
	const char *name;
	long long	min;
	PghaControlParam control;
	const char *reason;
} Bound;

static const Bound bounds[] = {
	{"max_connections", 25, PGHA_CP_MAX_CONNECTIONS, "max_connections must be an integer >= 25"},
	{"max_worker_processes", 2, PGHA_CP_MAX_WORKER_PROCESSES, "max_worker_processes must be an integer >= 2 (pgha's keeper is one)"},
	{"max_wal_senders", 3, PGHA_CP_MAX_WAL_SENDERS, "max_wal_senders must be an integer >= 3 (one per replica and clone)"},
	{"max_prepared_transactions", 0, PGHA_CP_MAX_PREPARED_XACTS, "max_prepared_transactions must be an integer >= 0"},
	{"max_locks_per_transaction", 32, PGHA_CP_MAX_LOCKS_PER_XACT, "max_locks_per_transaction must be an integer >= 32"},
	{"max_replication_slots", 4, PGHA_CP_NONE, "max_replication_slots must be an integer >= 4 (one per member)"},
};

static bool
name_matches(const char *pattern, const char *name)
{
	size_t		len = strlen(pattern);

	if (len > 0 && pattern[len - 1] == '*')
		return strncasecmp(pattern, name, len - 1) == 0;
	return strcasecmp(pattern, name) == 0;
}

/* a decimal integer, optional sign and spaces (Python's int()) */
static bool
int_text(const char *s, long long *out)
{
	int64_t		v;

	if (!pgha_parse_int64_text(s, &v))
		return false;
	*out = (long long) v;
	return true;
}

/* PostgreSQL's boolean words, any case, any unique prefix not needed here */
static int
bool_text(const char *s)
{
	static const char *const yes[] = {"on", "true", "yes", "1", "t", "y", NULL};
	static const char *const no[] = {"off", "false", "no", "0", "f", "n", NULL};

	for (int i = 0; yes[i]; i++)
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
	for (int i = 0; no[i]; i++)
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	return -1;
}

/* a size in MB: a number with an optional unit (kB, MB, GB, TB), default MB */
static bool
size_mb(const char *s, double *mb)
{
	char	   *end;
	double		v = strtod(s, &end);

	while (isspace((unsigned char) *end))
		end++;
	if (end == s)
		return false;
	if (*end == '\0' || strcmp(end, "MB") == 0)
		*mb = v;
	else if (strcmp(end, "kB") == 0)
		*mb = v / 1024;
	else if (strcmp(end, "GB") == 0)
		*mb = v * 1024;
	else if (strcmp(end, "TB") == 0)
		*mb = v * 1024 * 1024;
	else
		return false;
	return true;
}

/* is "pgha" one of the comma-separated names of a preload list? */
static bool
lists_pgha(const char *value)
{
	const char *p = value;

	while (*p)
	{
		const char *start;
		const char *end;

		while (*p == ',' || isspace((unsigned char) *p) || *p == '"')
			p++;
		start = p;
		while (*p && *p != ',')
			p++;
		end = p;
		while (end > start && (isspace((unsigned char) end[-1]) || end[-1] == '"'))
			end--;
		if (end - start == 4 && strncmp(start, "pgha", 4) == 0)
			return true;
	}
	return false;
}

const char *
pgha_param_refusal(const char *name, const char *value)
{
	long long	n;
	double		mb;

	if (name[0] == '\0')
		return "the parameter has no name";
	for (size_t i = 0; i < sizeof(refused_names) / sizeof(refused_names[0]); i++)
		if (name_matches(refused_names[i].name, name))
			return refused_names[i].reason;
	if (strcasecmp(name, "hot_standby") == 0 && bool_text(value) != 1)
		return "pgha runs every standby with hot_standby on (its keeper reads the standby's state)";
	if (strcasecmp(name, "wal_log_hints") == 0 && bool_text(value) != 1)
		return "pgha needs wal_log_hints on: pg_rewind rejoins an old leader with it";
	if (strcasecmp(name, "shared_preload_libraries") == 0 && !lists_pgha(value))
		return "shared_preload_libraries must list pgha, or the node loses its keeper at the next restart";
	if (strcasecmp(name, "wal_level") == 0 &&
		strcasecmp(value, "replica") != 0 && strcasecmp(value, "logical") != 0 &&
		strcasecmp(value, "hot_standby") != 0)
		return "wal_level must be replica or logical: standbys replay the leader's WAL";
	if (strcasecmp(name, "track_commit_timestamp") == 0 && bool_text(value) < 0)
		return "track_commit_timestamp must be on or off";
	if (strcasecmp(name, "wal_keep_size") == 0 && (!size_mb(value, &mb) || mb < 16))
		return "wal_keep_size must be at least 16MB";
	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++)
		if (strcasecmp(name, bounds[i].name) == 0 &&
			(!int_text(value, &n) || n < bounds[i].min))
			return bounds[i].reason;
	return NULL;
}

bool
pgha_param_cluster_wide(const char *name)
{
	if (strcasecmp(name, "wal_level") == 0 ||
		strcasecmp(name, "track_commit_timestamp") == 0)
		return true;
	return pgha_param_control_floor(name) != PGHA_CP_NONE;
}

PghaControlParam
pgha_param_control_floor(const char *name)
{
	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++)
		if (strcasecmp(name, bounds[i].name) == 0)
			return bounds[i].control;
	return PGHA_CP_NONE;
}

bool
pgha_param_needs_restart(const char *name)
{
	for (int i = 0; restart_names[i]; i++)
		if (strcasecmp(restart_names[i], name) == 0)
			return true;
	return false;
}

static bool
value_text(json_t *v, char *buf, size_t len)
{
	int			n;

	if (json_is_string(v))
	{
		if (strlen(json_string_value(v)) != json_string_length(v))
			return false;		/* a NUL inside */
		n = snprintf(buf, len, "%s", json_string_value(v));
	}
	else if (json_is_integer(v))
		n = snprintf(buf, len, "%lld", (long long) json_integer_value(v));
	else if (json_is_real(v))
		n = snprintf(buf, len, "%.15g", json_real_value(v));
	else if (json_is_true(v))
		n = snprintf(buf, len, "on");
	else if (json_is_false(v))
		n = snprintf(buf, len, "off");
	else
		return false;
	return n >= 0 && (size_t) n < len;
}

static void
append(char *buf, size_t len, const char *fmt, const char *a, const char *b)
{
	size_t		used;

	if (buf == NULL || len == 0)
		return;
	used = strlen(buf);
	if (used + 1 < len)
		snprintf(buf + used, len - used, fmt, a, b);
}

bool
pgha_params_from_config(const char *json, PghaParams *out, char *refused,
						size_t refusedlen, char *errbuf, size_t errlen)
{
	json_t	   *root;
	json_t	   *params;
	const char *name;
	json_t	   *v;

	memset(out, 0, sizeof(*out));
	if (refused != NULL && refusedlen > 0)
		refused[0] = '\0';
	root = pgha_json_load_object(json ? json : "", "the config key", errbuf, errlen);
	if (root == NULL)
		return false;
	params = json_object_get(json_object_get(root, "postgresql"), "parameters");
	if (json_is_object(params))
	{
		json_object_foreach(params, name, v)
		{
			char		text[PGHA_PARAM_VALUE_LEN];
			const char *why;

			if (json_is_null(v))
				continue;		/* null is absent, as in Patroni */
			if (strlen(name) >= PGHA_PARAM_NAME_LEN)
			{
				append(refused, refusedlen, "%.40s...: %s; ", name, "the name is too long");
				continue;
			}
			if (!value_text(v, text, sizeof(text)))
			{
				append(refused, refusedlen, "%s: %s; ", name,
					   "the value must be a string, a number or a boolean");
				continue;
			}
			if ((why = pgha_param_refusal(name, text)) != NULL)
			{
				append(refused, refusedlen, "%s: %s; ", name, why);
				continue;
			}
			if (!pgha_params_set(out, name, text))
			{
				append(refused, refusedlen, "%s: %s; ", name, "too many parameters");
				continue;
			}
		}
	}
	json_decref(root);
	/* drop the last "; " */
	if (refused != NULL && strlen(refused) >= 2)
		refused[strlen(refused) - 2] = '\0';
	return true;
}

const char *
pgha_params_get(const PghaParams *params, const char *name)
{
	for (int i = 0; i < params->n; i++)
		if (strcasecmp(params->p[i].name, name) == 0)
			return params->p[i].value;
	return NULL;
}

bool
pgha_params_set(PghaParams *params, const char *name, const char *value)
{
	PghaParam  *p = NULL;

	if (strlen(name) >= PGHA_PARAM_NAME_LEN || strlen(value) >= PGHA_PARAM_VALUE_LEN)
		return false;
	for (int i = 0; i < params->n; i++)
		if (strcasecmp(params->p[i].name, name) == 0)
			p = &params->p[i];
	if (p == NULL)
	{
		if (params->n >= PGHA_MAX_PARAMS)
			return false;
		p = &params->p[params->n++];
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->value, sizeof(p->value), "%s", value);
	return true;
}

void
pgha_params_remove(PghaParams *params, const char *name)
{
	for (int i = 0; i < params->n; i++)
		if (strcasecmp(params->p[i].name, name) == 0)
		{
			memmove(&params->p[i], &params->p[i + 1],
					sizeof(PghaParam) * (size_t) (params->n - i - 1));
			params->n--;
			return;
		}
}

bool
pgha_param_replica_floor(const char *value, int control_value, char *out,
						 size_t outlen, bool *raised)
{
	long long	n;

	*raised = false;
	if (!int_text(value, &n))
		return false;
	if (control_value > n)
	{
		n = control_value;
		*raised = true;
	}
	snprintf(out, outlen, "%lld", n);
	return true;
}

bool
pgha_params_conf_text(const PghaParams *params, char *buf, size_t len)
{
	size_t		used;
	int			w;

	w = snprintf(buf, len,
				 "# Written by the pgha keeper from postgresql.parameters of the config key\n"
				 "# (pghactl edit-config --pg NAME=VALUE).  Do not edit: it is rewritten.\n");
	if (w < 0 || (size_t) w >= len)
		return false;
	used = (size_t) w;
	for (int i = 0; i < params->n; i++)
	{
		const char *v = params->p[i].value;

		w = snprintf(buf + used, len - used, "%s = '", params->p[i].name);
		if (w < 0 || (size_t) w >= len - used)
			return false;
		used += (size_t) w;
		for (; *v; v++)
		{
			/* GUC_scanstr reads \\ and '' */
			if (*v == '\'' || *v == '\\')
			{
				if (used + 2 >= len)
					return false;
				buf[used++] = *v;
			}
			if (*v == '\n' || *v == '\r')
				continue;		/* a line break would end the setting */
			if (used + 1 >= len)
				return false;
			buf[used++] = *v;
		}
		if (used + 3 >= len)
			return false;
		buf[used++] = '\'';
		buf[used++] = '\n';
		buf[used] = '\0';
	}
	return true;
}

int
pgha_postgres_version_num(const char *s)
{
	int			c[3] = {0, 0, 0};
	int			n = 0;
	const char *p = s;

	while (n < 3)
	{
		char	   *end;
		long		v;

		if (!isdigit((unsigned char) *p))
			return -1;
		v = strtol(p, &end, 10);
		if (v < 0 || v > 9999)
			return -1;
		c[n++] = (int) v;
		p = end;
		if (*p == '\0')
			break;
		if (*p != '.')
			return -1;
		p++;
	}
	if (*p != '\0' || n < 2 || (n == 2 && c[0] < 10))
		return -1;
	if (n == 2)
		return c[0] * 10000 + c[1];
	return c[0] * 10000 + c[1] * 100 + c[2];
}
