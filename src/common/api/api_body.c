/*-------------------------------------------------------------------------
 *
 * api_body.c
 *	  Bodies of the REST api in Patroni 3's formats, and the parsers of
 *	  request bodies.  Every parser takes untrusted bytes (fuzzed by
 *	  test/fuzz/fuzz_api_bodies.c): NUL bytes, wrong types, deep nesting
 *	  and overlong strings are refused with Patroni's status code.
 *
 *-------------------------------------------------------------------------
 */
#include "api_body.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isotime.h"
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

/* a growing text buffer; on OOM it stays failed and the result is NULL */
typedef struct TextBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		failed;
} TextBuf;

static void textbuf_add(TextBuf *b, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

static void
textbuf_add(TextBuf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;

	if (b->failed)
		return;
	for (;;)
	{
		size_t		room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
		{
			b->failed = true;
			return;
		}
		if (b->data != NULL && (size_t) n < room)
		{
			b->len += n;
			return;
		}
		{
			size_t		cap = (b->cap ? b->cap * 2 : 4096) + n;
			char	   *d = realloc(b->data, cap);

			if (d == NULL)
			{
				b->failed = true;
				return;
			}
			b->data = d;
			b->cap = cap;
		}
	}
}

static void
metric(TextBuf *b, const char *name, const char *help, const char *type,
	   const char *scope, const char *value)
{
	textbuf_add(b, "# HELP %s %s\n# TYPE %s %s\n%s{scope=\"%s\"} %s\n",
				name, help, name, type, name, scope, value);
}

static const char *
num_i(char *buf, size_t len, int64_t v)
{
	snprintf(buf, len, "%lld", (long long) v);
	return buf;
}

/* Python's str(float): shortest repr; %.17g is exact, trimmed like repr */
static const char *
num_f(char *buf, size_t len, double v)
{
	for (int prec = 1; prec <= 17; prec++)
	{
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (strchr(buf, '.') == NULL && strchr(buf, 'e') == NULL &&
		strchr(buf, 'n') == NULL && strlen(buf) + 3 <= len)
		strcat(buf, ".0");
	return buf;
}

char *
pgha_api_metrics_text(const PghaApiStatus *st, const PghaApiMetrics *m,
					  const char *version)
{
	TextBuf		b = {0};
	char		v[64];
	char		padded[32] = "";
	const char *sc = st->scope;
	bool		master = strcmp(st->role, "master") == 0;
	bool		replica = strcmp(st->role, "replica") == 0;

	/* Patroni's semver without periods, each part padded: 3.0.2 -> 030002 */
	{
		const char *p = version;

		while (*p)
		{
			size_t		n = strcspn(p, ".");
			char		part[8];

			snprintf(part, sizeof(part), "%.*s", (int) (n < 6 ? n : 6), p);
			if (strlen(padded) + 8 < sizeof(padded))
			{
				if (strlen(part) < 2)
					strcat(padded, "0");
				strcat(padded, part);
			}
			p += n;
			if (*p == '.')
				p++;
		}
	}
	metric(&b, "patroni_version", "Patroni semver without periods.", "gauge", sc, padded);
	metric(&b, "patroni_postgres_running", "Value is 1 if Postgres is running, 0 otherwise.",
		   "gauge", sc, strcmp(st->state, "running") == 0 ? "1" : "0");
	metric(&b, "patroni_postmaster_start_time", "Epoch seconds since Postgres started.",
		   "gauge", sc, st->have_postgres ? num_f(v, sizeof(v), st->postmaster_start_epoch) : "0");
	metric(&b, "patroni_master", "Value is 1 if this node is the leader, 0 otherwise.",
		   "gauge", sc, master ? "1" : "0");
	metric(&b, "patroni_primary", "Value is 1 if this node is the leader, 0 otherwise.",
		   "gauge", sc, master ? "1" : "0");
	metric(&b, "patroni_xlog_location",
		   "Current location of the Postgres transaction log, 0 if this node is not the leader.",
		   "counter", sc, num_i(v, sizeof(v), master && st->have_postgres ? st->location : 0));
	metric(&b, "patroni_standby_leader", "Value is 1 if this node is the standby_leader, 0 otherwise.",
		   "gauge", sc, "0");
	metric(&b, "patroni_replica", "Value is 1 if this node is a replica, 0 otherwise.",
		   "gauge", sc, replica ? "1" : "0");
	metric(&b, "patroni_sync_standby", "Value is 1 if this node is a sync standby replica, 0 otherwise.",
		   "gauge", sc, st->sync_standby ? "1" : "0");
	metric(&b, "patroni_xlog_received_location",
		   "Current location of the received Postgres transaction log, 0 if this node is not a replica.",
		   "counter", sc, num_i(v, sizeof(v), replica && st->have_postgres ? st->received_location : 0));
	metric(&b, "patroni_xlog_replayed_location",
		   "Current location of the replayed Postgres transaction log, 0 if this node is not a replica.",
		   "counter", sc, num_i(v, sizeof(v), replica && st->have_postgres ? st->replayed_location : 0));
	metric(&b, "patroni_xlog_replayed_timestamp",
		   "Current timestamp of the replayed Postgres transaction log, 0 if null.",
		   "gauge", sc, replica && st->replayed_epoch > 0 ? num_f(v, sizeof(v), st->replayed_epoch) : "0");
	metric(&b, "patroni_xlog_paused", "Value is 1 if the Postgres xlog is paused, 0 otherwise.",
		   "gauge", sc, replica && st->replay_paused ? "1" : "0");
	/* Patroni writes this one with a space before the labels; so do we */
	textbuf_add(&b, "# HELP patroni_postgres_server_version Version of Postgres (if running), 0 otherwise.\n"
				"# TYPE patroni_postgres_server_version gauge\n"
				"patroni_postgres_server_version {scope=\"%s\"} %d\n",
				sc, st->have_postgres ? st->server_version : 0);
	metric(&b, "patroni_cluster_unlocked", "Value is 1 if the cluster is unlocked, 0 if locked.",
		   "gauge", sc, st->cluster_unlocked ? "1" : "0");
	metric(&b, "patroni_failsafe_mode_is_active", "Value is 1 if the cluster is unlocked, 0 if locked.",
		   "gauge", sc, "0");
	metric(&b, "patroni_postgres_timeline", "Postgres timeline of this node (if running), 0 otherwise.",
		   "counter", sc, num_i(v, sizeof(v), st->timeline));
	metric(&b, "patroni_dcs_last_seen", "Epoch timestamp when DCS was last contacted successfully by Patroni.",
		   "gauge", sc, num_i(v, sizeof(v), st->dcs_last_seen));
	metric(&b, "patroni_pending_restart", "Value is 1 if the node needs a restart, 0 otherwise.",
		   "gauge", sc, st->pending_restart ? "1" : "0");
	metric(&b, "patroni_is_paused", "Value is 1 if auto failover is disabled, 0 otherwise.",
		   "gauge", sc, st->pause ? "1" : "0");

	/* pgha's own */
	if (m->has_fence_margin)
		metric(&b, "pgha_fence_deadline_margin_seconds",
			   "Seconds left before this primary must stop writes unless its lease is renewed.",
			   "gauge", sc, num_f(v, sizeof(v), m->fence_margin_s));
	metric(&b, "pgha_keeper_cycles_total", "HA loops run by the keeper since it started.",
		   "counter", sc, num_i(v, sizeof(v), (int64_t) m->keeper_cycles));
	metric(&b, "pgha_keeper_cycle_seconds", "Duration of the keeper's last HA loop.",
		   "gauge", sc, num_f(v, sizeof(v), m->keeper_cycle_s));
	metric(&b, "pgha_keeper_cycle_max_seconds", "Longest HA loop of the keeper since it started.",
		   "gauge", sc, num_f(v, sizeof(v), m->keeper_cycle_max_s));
	metric(&b, "pgha_keeper_heartbeat_age_seconds", "Seconds since the keeper's last HA loop ended (-1: never).",
		   "gauge", sc, num_f(v, sizeof(v), m->keeper_age_s));
	metric(&b, "pgha_etcd_requests_total", "etcd requests made by the keeper.",
		   "counter", sc, num_i(v, sizeof(v), (int64_t) m->etcd_requests));
	metric(&b, "pgha_etcd_request_seconds_sum", "Total duration of the keeper's etcd requests.",
		   "counter", sc, num_f(v, sizeof(v), m->etcd_request_sum_s));
	metric(&b, "pgha_etcd_request_last_seconds", "Duration of the keeper's last etcd request.",
		   "gauge", sc, num_f(v, sizeof(v), m->etcd_request_s));
	metric(&b, "pgha_api_requests_total", "Requests answered by this REST api.",
		   "counter", sc, num_i(v, sizeof(v), (int64_t) m->api_requests));
	if (b.failed)
	{
		free(b.data);
		return NULL;
	}
	return b.data;
}

static void
set_err(char *errbuf, size_t errlen, const char *msg)
{
	snprintf(errbuf, errlen, "%s", msg);
}

/* a JSON object of at most len bytes with no NUL; NULL with a message */
static json_t *
load_body_object(const char *body, size_t len, bool allow_empty_object,
				 char *errbuf, size_t errlen)
{
	json_error_t jerr;
	json_t	   *root;

	if (body == NULL || len == 0)
	{
		set_err(errbuf, errlen, "the request has no body");
		return NULL;
	}
	if (memchr(body, '\0', len) != NULL)
	{
		set_err(errbuf, errlen, "the body contains a NUL byte");
		return NULL;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
	{
		snprintf(errbuf, errlen, "the body is not valid JSON: %s", jerr.text);
		return NULL;
	}
	if (!json_is_object(root) || (!allow_empty_object && json_object_size(root) == 0))
	{
		set_err(errbuf, errlen, json_is_object(root) ? "the body is an empty JSON object"
				: "the body is not a JSON object");
		json_decref(root);
		return NULL;
	}
	return root;
}

static bool
string_field(json_t *root, const char *name, char *dst, size_t len,
			 char *errbuf, size_t errlen)
{
	json_t	   *v = json_object_get(root, name);

	dst[0] = '\0';
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_string(v) || json_string_length(v) >= len ||
		strlen(json_string_value(v)) != json_string_length(v))
	{
		snprintf(errbuf, errlen, "\"%s\" must be a string of at most %zu bytes",
				 name, len - 1);
		return false;
	}
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return true;
}

int
pgha_api_parse_failover(const char *body, size_t len,
						PghaApiFailoverRequest *out, char *errbuf,
						size_t errlen)
{
	json_t	   *root;
	bool		ok;

	memset(out, 0, sizeof(*out));
	root = load_body_object(body, len, false, errbuf, errlen);
	if (root == NULL)
		return 400;
	ok = string_field(root, "leader", out->leader, sizeof(out->leader), errbuf, errlen) &&
		string_field(root, "candidate", out->candidate, sizeof(out->candidate), errbuf, errlen) &&
		string_field(root, "scheduled_at", out->scheduled_at, sizeof(out->scheduled_at),
					 errbuf, errlen);
	/* Patroni: request.get('candidate') or request.get('member') */
	if (ok && out->candidate[0] == '\0')
		ok = string_field(root, "member", out->candidate, sizeof(out->candidate),
						  errbuf, errlen);
	json_decref(root);
	if (!ok)
	{
		memset(out, 0, sizeof(*out));
		return 400;
	}
	return 0;
}

static void
title(const char *action, char *buf, size_t len)
{
	snprintf(buf, len, "%s", action);
	buf[0] = (char) toupper((unsigned char) buf[0]);
}

int
pgha_api_failover_precheck(const PghaCluster *cl, bool failover,
						   PghaApiFailoverRequest *req, double now_epoch,
						   char *errbuf, size_t errlen)
{
	const char *action = failover ? "failover" : "switchover";
	char		Action[16];
	bool		paused = cl->config_valid && cl->config.pause;

	title(action, Action, sizeof(Action));
	if (failover && req->candidate[0] == '\0')
	{
		set_err(errbuf, errlen, "Failover could be performed only to a specific candidate");
		return 400;
	}
	if (!failover && req->leader[0] == '\0')
	{
		set_err(errbuf, errlen, "Switchover could be performed only from a specific leader");
		return 400;
	}
	if (req->scheduled_at[0])
	{
		PghaTimestamp ts;
		char		perr[128];
		const char *p = req->scheduled_at;
		size_t		n = strlen(p);
		bool		has_zone;

		if (req->leader[0] == '\0')
		{
			snprintf(errbuf, errlen, "Scheduled %s is possible only from a specific leader", action);
			return 400;
		}
		if (paused)
		{
			snprintf(errbuf, errlen, "Can't schedule %s in the paused state", action);
			return 400;
		}
		if (!pgha_parse_isotime(p, &ts, perr, sizeof(perr)))
		{
			set_err(errbuf, errlen, "Unable to parse scheduled timestamp. It should be in an unambiguous format, e.g. ISO 8601");
			return 422;
		}
		/* a zone: Z, or +/- after the time part (the date has '-' too) */
		has_zone = (n > 0 && (p[n - 1] == 'Z' || p[n - 1] == 'z')) ||
			(n > 10 && (strchr(p + 10, '+') != NULL || strchr(p + 10, '-') != NULL));
		if (!has_zone)
		{
			snprintf(errbuf, errlen, "Timezone information is mandatory for the scheduled %s", action);
			return 400;
		}
		if ((double) ts.epoch_us / 1e6 < now_epoch)
		{
			snprintf(errbuf, errlen, "Cannot schedule %s in the past", action);
			return 422;
		}
		ts.offset_sec = 0;
		pgha_format_isotime(&ts, req->scheduled_at, sizeof(req->scheduled_at));
	}
	if (paused && req->candidate[0] == '\0')
	{
		snprintf(errbuf, errlen, "%s is possible only to a specific candidate in a paused state", Action);
		return 400;
	}
	if (req->scheduled_at[0] == '\0')
	{
		/* is_failover_possible() */
		if (req->leader[0] && (!cl->has_leader || strcmp(cl->leader, req->leader) != 0))
		{
			set_err(errbuf, errlen, "leader name does not match");
			return 412;
		}
		if (req->candidate[0])
		{
			if (!failover && cl->config_valid &&
				cl->config.synchronous_mode != PGHA_SYNC_OFF &&
				!(cl->has_sync && pgha_sync_lists(&cl->sync, req->candidate)))
			{
				set_err(errbuf, errlen, "candidate name does not match with sync_standby");
				return 412;
			}
			if (pgha_cluster_find_member(cl, req->candidate) == NULL)
			{
				set_err(errbuf, errlen, "candidate does not exists");
				return 412;
			}
		}
	}
	return 0;
}

/* Patroni's patch_config(): null deletes, objects merge, str() compares */
static bool
patch_object(json_t *config, json_t *patch)
{
	const char *name;
	json_t	   *value;
	bool		changed = false;

	json_object_foreach(patch, name, value)
	{
		json_t	   *cur = json_object_get(config, name);

		if (json_is_null(value))
		{
			if (cur != NULL)
			{
				/* pop(name, None) is not None: a null stored value is no change */
				if (!json_is_null(cur))
					changed = true;
				json_object_del(config, name);
			}
		}
		else if (cur != NULL)
		{
			if (json_is_object(value) && json_is_object(cur))
			{
				if (patch_object(cur, value))
					changed = true;
			}
			else if (!json_equal(cur, value))
			{
				json_object_set(config, name, value);
				changed = true;
			}
		}
		else
		{
			json_object_set(config, name, value);
			changed = true;
		}
	}
	return changed;
}

/* deep nesting costs the worker stack in jansson's recursion: refuse it */
static bool
too_deep(json_t *v, int depth)
{
	const char *k;
	json_t	   *c;
	size_t		i;

	if (depth > 32)
		return true;
	if (json_is_object(v))
	{
		json_object_foreach(v, k, c)
			if (too_deep(c, depth + 1))
			return true;
	}
	else if (json_is_array(v))
	{
		json_array_foreach(v, i, c)
			if (too_deep(c, depth + 1))
			return true;
	}
	return false;
}

char *
pgha_api_config_patch(const char *current, const char *body, size_t len,
					  bool *changed, int *code, char *errbuf, size_t errlen)
{
	json_t	   *patch;
	json_t	   *config;
	json_error_t jerr;
	char	   *out;

	*changed = false;
	*code = 400;
	patch = load_body_object(body, len, false, errbuf, errlen);
	if (patch == NULL)
		return NULL;
	if (too_deep(patch, 0))
	{
		set_err(errbuf, errlen, "the body is nested too deeply");
		json_decref(patch);
		return NULL;
	}
	if (current == NULL || current[0] == '\0')
		config = pgha_json_object();
	else
		config = json_loads(current, JSON_REJECT_DUPLICATES, &jerr);
	if (config == NULL || !json_is_object(config))
	{
		*code = 503;
		set_err(errbuf, errlen, "the config key is not a JSON object");
		json_decref(config);
		json_decref(patch);
		return NULL;
	}
	*changed = patch_object(config, patch);
	out = json_dumps(config, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(config);
	json_decref(patch);
	if (out == NULL)
	{
		*code = 500;
		set_err(errbuf, errlen, "out of memory");
	}
	return out;
}

char *
pgha_api_config_put(const char *body, size_t len, int *code, char *errbuf,
					size_t errlen)
{
	json_t	   *root;
	char	   *out;

	*code = 400;
	root = load_body_object(body, len, false, errbuf, errlen);
	if (root == NULL)
		return NULL;
	if (too_deep(root, 0))
	{
		set_err(errbuf, errlen, "the body is nested too deeply");
		json_decref(root);
		return NULL;
	}
	out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (out == NULL)
	{
		*code = 500;
		set_err(errbuf, errlen, "out of memory");
	}
	return out;
}

int
pgha_api_parse_force(const char *body, size_t len, bool *force, char *errbuf,
					 size_t errlen)
{
	json_t	   *root;
	json_t	   *v;

	*force = false;
	if (body == NULL || len == 0)
		return 0;
	root = load_body_object(body, len, true, errbuf, errlen);
	if (root == NULL)
		return 400;
	v = json_object_get(root, "force");
	if (v != NULL)
		*force = pgha_json_bool(v) == 1;
	json_decref(root);
	return 0;
}
