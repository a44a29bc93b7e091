/*-------------------------------------------------------------------------
 *
 * api_body.c
 *	  The JSON bodies of the REST api in Patroni 3's formats: the node
 *	  status (GET /patroni and the health checks) and GET /cluster, with
 *	  Python's json.dumps() separators.  /metrics is in api_metrics.c, the
 *	  request parsers in api_request.c.
 *
 *-------------------------------------------------------------------------
 */
#include "api_body.h"

#include <stdlib.h>
#include <string.h>

#include "pgha_json.h"

/* json_dumps() of Python's json.dumps(): ", " and ": " separators */
static char *
dump_python(json_t *v)
{
	/* jansson's non-compact output has the same separators at indent 0 */
	return json_dumps(v, JSON_PRESERVE_ORDER | JSON_INDENT(0));
}

static bool
set(json_t *obj, const char *key, json_t *v)
{
	return v != NULL && json_object_set_new(obj, key, v) == 0;
}

static json_t *
string_or_null(const char *s)
{
	return (s == NULL || s[0] == '\0') ? json_null() : json_string(s);
}

static json_t *
replication_json(const PghaApiStatus *st)
{
	json_t	   *arr = json_array();

	if (arr == NULL)
		return NULL;
	for (int i = 0; i < st->nreplication; i++)
	{
		const PghaApiReplication *r = &st->replication[i];
		json_t	   *o = pgha_json_object();

		if (o == NULL ||
			!set(o, "usename", string_or_null(r->usename)) ||
			!set(o, "application_name", json_string(r->application_name)) ||
			!set(o, "client_addr", string_or_null(r->client_addr)) ||
			!set(o, "state", json_string(r->state)) ||
			!set(o, "sync_state", json_string(r->sync_state)) ||
			!set(o, "sync_priority", json_integer(r->sync_priority)) ||
			json_array_append_new(arr, o) != 0)
		{
			json_decref(o);
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *
xlog_json(const PghaApiStatus *st)
{
	json_t	   *x = pgha_json_object();
	bool		ok;

	if (x == NULL)
		return NULL;
	if (strcmp(st->role, "master") == 0)
		ok = set(x, "location", json_integer(st->location));
	else
		ok = set(x, "received_location", json_integer(st->received_location)) &&
			set(x, "replayed_location", json_integer(st->replayed_location)) &&
			set(x, "replayed_timestamp", string_or_null(st->replayed_timestamp)) &&
			set(x, "paused", json_boolean(st->replay_paused));
	if (!ok)
	{
		json_decref(x);
		return NULL;
	}
	return x;
}

char *
pgha_api_json_python(const char *json)
{
	json_error_t jerr;
	json_t	   *v;
	char	   *out;

	if (json == NULL)
		return NULL;
	v = json_loads(json, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL)
		return NULL;
	out = json_dumps(v, JSON_PRESERVE_ORDER | JSON_INDENT(0) | JSON_ENCODE_ANY);
	json_decref(v);
	return out;
}

char *
pgha_api_status_json(const PghaApiStatus *st)
{
	json_t	   *root = pgha_json_object();
	bool		ok;
	char	   *out = NULL;

	if (root == NULL)
		return NULL;
	ok = set(root, "state", json_string(st->state));
	if (ok && st->have_postgres)
	{
		ok = set(root, "postmaster_start_time", string_or_null(st->postmaster_start_time)) &&
			set(root, "role", json_string(st->role)) &&
			set(root, "server_version", json_integer(st->server_version)) &&
			set(root, "xlog", xlog_json(st));
		if (ok && strcmp(st->role, "replica") == 0 && st->replication_state[0])
			ok = set(root, "replication_state", json_string(st->replication_state));
		if (ok && st->sync_standby)
			ok = set(root, "sync_standby", json_true());
		if (ok && st->timeline > 0)
			ok = set(root, "timeline", json_integer(st->timeline));
		if (ok && st->nreplication > 0)
			ok = set(root, "replication", replication_json(st));
	}
	else if (ok)
		ok = set(root, "role", json_string(st->role));
	if (ok && st->cluster_unlocked)
		ok = set(root, "cluster_unlocked", json_true());
	if (ok)
		ok = set(root, "dcs_last_seen", json_integer(st->dcs_last_seen));
	if (ok && (st->nofailover || st->nosync || st->failover_priority != 1))
	{
		json_t	   *tags = pgha_json_object();

		ok = tags != NULL;
		if (ok && st->nofailover)
			ok = set(tags, "nofailover", json_true());
		if (ok && st->nosync)
			ok = set(tags, "nosync", json_true());
		if (ok && st->failover_priority != 1)
			ok = set(tags, "failover_priority", json_integer(st->failover_priority));
		if (ok)
			ok = set(root, "tags", tags);
		else
			json_decref(tags);
	}
	if (ok && st->system_identifier[0])
		ok = set(root, "database_system_identifier", json_string(st->system_identifier));
	if (ok && st->pending_restart)
		ok = set(root, "pending_restart", json_true());
	if (ok)
	{
		json_t	   *p = json_pack("{s:s, s:s}", "version", PGHA_VERSION_STRING,
								  "scope", st->scope);

		ok = set(root, "patroni", p);
	}
	if (ok && st->watchdog_failed)
		ok = set(root, "watchdog_failed", json_true());
	if (ok && st->pause)
		ok = set(root, "pause", json_true());
	if (ok)
		out = dump_python(root);
	json_decref(root);
	return out;
}

static int
member_name_cmp(const void *a, const void *b)
{
	return strcmp((*(const PghaMember *const *) a)->name,
				  (*(const PghaMember *const *) b)->name);
}

static json_t *
member_json(const PghaCluster *cl, const PghaMember *m)
{
	json_t	   *o = pgha_json_object();
	const char *role;
	char		host[PGHA_URL_LEN];
	int			port;
	bool		is_leader = cl->has_leader && strcmp(cl->leader, m->name) == 0;
	bool		ok;

	if (o == NULL)
		return NULL;
	if (is_leader)
		role = "leader";
	else if (cl->has_sync && pgha_sync_lists(&cl->sync, m->name))
		role = "sync_standby";
	else
		role = "replica";
	ok = set(o, "name", json_string(m->name)) &&
		set(o, "role", json_string(role)) &&
		set(o, "state", json_string(m->state)) &&
		set(o, "api_url", string_or_null(m->api_url));
	if (ok && pgha_conn_url_host_port(m->conn_url, host, sizeof(host), &port))
		ok = set(o, "host", json_string(host)) &&
			set(o, "port", json_integer(port));
	if (ok && m->timeline > 0)
		ok = set(o, "timeline", json_integer(m->timeline));
	if (ok && (m->nofailover || m->nosync || m->failover_priority != 1))
	{
		json_t	   *tags = pgha_json_object();

		ok = tags != NULL;
		if (ok && m->nofailover)
			ok = set(tags, "nofailover", json_true());
		if (ok && m->nosync)
			ok = set(tags, "nosync", json_true());
		if (ok && m->failover_priority != 1)
			ok = set(tags, "failover_priority", json_integer(m->failover_priority));
		if (ok)
			ok = set(o, "tags", tags);
		else
			json_decref(tags);
	}
	if (ok && !is_leader)
	{
		int64_t		optime = cl->has_optime ? cl->optime : 0;

		if (m->xlog_location < 0)
			ok = set(o, "lag", json_string("unknown"));
		else
			ok = set(o, "lag", json_integer(optime >= m->xlog_location ?
											optime - m->xlog_location : 0));
	}
	if (!ok)
	{
		json_decref(o);
		return NULL;
	}
	return o;
}

char *
pgha_api_cluster_json(const PghaCluster *cl)
{
	json_t	   *root = pgha_json_object();
	json_t	   *members = json_array();
	const PghaMember *sorted[PGHA_MAX_MEMBERS];
	int			n = cl->nmembers;
	bool		ok = root != NULL && members != NULL;
	char	   *out = NULL;

	if (n > PGHA_MAX_MEMBERS)
		n = PGHA_MAX_MEMBERS;
	for (int i = 0; i < n; i++)
		sorted[i] = &cl->members[i];
	qsort(sorted, n, sizeof(sorted[0]), member_name_cmp);
	for (int i = 0; ok && i < n; i++)
	{
		json_t	   *m = member_json(cl, sorted[i]);

		ok = m != NULL && json_array_append_new(members, m) == 0;
	}
	if (ok)
	{
		ok = json_object_set(root, "members", members) == 0;
		if (ok && cl->config_valid && cl->config.pause)
			ok = set(root, "pause", json_true());
		if (ok && cl->has_failover && cl->failover.scheduled_at[0])
		{
			json_t	   *s = json_pack("{s:s}", "at", cl->failover.scheduled_at);

			ok = s != NULL;
			if (ok && cl->failover.leader[0])
				ok = set(s, "from", json_string(cl->failover.leader));
			if (ok && cl->failover.member[0])
				ok = set(s, "to", json_string(cl->failover.member));
			if (ok)
				ok = set(root, "scheduled_switchover", s);
			else
				json_decref(s);
		}
	}
	if (ok)
		out = dump_python(root);
	json_decref(members);
	json_decref(root);
	return out;
}
