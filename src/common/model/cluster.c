/*-------------------------------------------------------------------------
 *
 * cluster.c
 *	  The cluster model: Patroni 3's etcd values to and from C structs.
 *
 * Encoding writes byte for byte what Patroni writes (compact separators,
 * non-ASCII escaped like Python's json.dumps, Patroni's key order), so that
 * patronictl and vip-manager read a pgha cluster unchanged.  Decoding
 * follows Patroni's own leniency where it has one (unknown fields ignored,
 * missing fields take their defaults, null counts as missing, numeric
 * strings accepted in the config) but type-checks every field it uses: a
 * value pgha cannot represent exactly is an error, never a silent
 * truncation.  Nothing here trusts etcd: garbage, embedded NULs, wrong
 * types and huge numbers all come back as errors.
 *
 * Display helpers reproduce patronictl 3.0.2 (patroni/utils.py,
 * cluster_as_json): the role shown is derived from the leader key (and the
 * sync key), never from the member's own "role" field,
 * and lag is measured against the "status" optime, which counts as 0 when
 * absent.
 *
 * This file uses only the EtcdKV/EtcdKVList types, not the client, so the
 * unit tests link without a server.
 *
 *-------------------------------------------------------------------------
 */
#include "cluster.h"
#include "errbuf.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pgha_json.h"

#include "settings.h"

/* Patroni's defaults for the dynamic configuration (patroni/config.py) */
#define PATRONI_DEFAULT_TTL				30
#define PATRONI_DEFAULT_LOOP_WAIT		10
#define PATRONI_DEFAULT_RETRY_TIMEOUT	10
#define PATRONI_DEFAULT_MAX_LAG			1048576

/* Python's json.dumps(separators=(',', ':')) with ensure_ascii */
#define PATRONI_DUMP_FLAGS	(JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER)


/* bounded copy that refuses rather than truncates */
static bool
copy_bounded(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	if (srclen >= dstlen)
		return false;
	memcpy(dst, src, srclen);
	dst[srclen] = '\0';
	return true;
}

/*
 * Parse a JSON document that must be an object.  Returns NULL with a
 * message on garbage, on non-objects and on empty input.
 */
json_t *
pgha_json_load_object(const char *json, const char *what, char *errbuf,
					  size_t errlen)
{
	json_t	   *root;
	json_error_t jerr;

	if (json == NULL)
	{
		pgha_set_error(errbuf, errlen, "%s is missing", what);
		return NULL;
	}
	/* JSON_DECODE_ANY so that a scalar gets our message, not jansson's */
	root = json_loads(json, JSON_DECODE_ANY, &jerr);
	if (root == NULL)
	{
		pgha_set_error(errbuf, errlen, "%s is not valid JSON: %s (at byte %d)",
				  what, jerr.text, jerr.position);
		return NULL;
	}
	if (!json_is_object(root))
	{
		pgha_set_error(errbuf, errlen, "%s is not a JSON object", what);
		json_decref(root);
		return NULL;
	}
	return root;
}

/* field present and not null */
static json_t *
get_field(json_t *obj, const char *key)
{
	json_t	   *v = json_object_get(obj, key);

	return (v == NULL || json_is_null(v)) ? NULL : v;
}

/* optional string field into a fixed buffer; absent means "" */
bool
pgha_json_get_string(json_t *obj, const char *key, char *dst, size_t dstlen,
					 char *errbuf, size_t errlen)
{
	json_t	   *v = get_field(obj, key);
	const char *s;
	size_t		len;

	dst[0] = '\0';
	if (v == NULL)
		return true;
	if (!json_is_string(v))
	{
		pgha_set_error(errbuf, errlen, "\"%s\" is not a string", key);
		return false;
	}
	s = json_string_value(v);
	len = json_string_length(v);
	if (strlen(s) != len)
	{
		pgha_set_error(errbuf, errlen, "\"%s\" contains a NUL character", key);
		return false;
	}
	if (!copy_bounded(dst, dstlen, s, len))
	{
		pgha_set_error(errbuf, errlen, "\"%s\" is longer than %zu bytes",
				  key, dstlen - 1);
		return false;
	}
	return true;
}

/*
 * Decimal integer in a string, as Python's int() reads the numeric strings
 * Patroni tolerates in its configuration: optional surrounding whitespace,
 * optional sign, digits.
 */
bool
pgha_parse_int64_text(const char *s, int64_t *out)
{
	const char *p = s;
	char	   *end;
	long long	v;

	while (isspace((unsigned char) *p))
		p++;
	if (*p == '+' || *p == '-')
		p++;
	if (!isdigit((unsigned char) *p))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0)
		return false;
	while (isspace((unsigned char) *end))
		end++;
	if (*end != '\0')
		return false;
	*out = (int64_t) v;
	return true;
}

/*
 * An integer field in [min, max].  allow_text accepts numeric strings (the
 * config key, where Patroni applies int()); elsewhere only JSON integers.
 * Returns 0 when absent, 1 when set, -1 on error.
 */
static int
get_int64(json_t *obj, const char *key, bool allow_text, int64_t min,
		  int64_t max, int64_t *out, char *errbuf, size_t errlen)
{
	json_t	   *v = get_field(obj, key);
	int64_t		n;

	if (v == NULL)
		return 0;
	if (json_is_integer(v))
		n = (int64_t) json_integer_value(v);
	else if (allow_text && json_is_string(v) &&
			 strlen(json_string_value(v)) == json_string_length(v) &&
			 pgha_parse_int64_text(json_string_value(v), &n))
		;
	else
	{
		pgha_set_error(errbuf, errlen, "\"%s\" is not an integer", key);
		return -1;
	}
	if (n < min || n > max)
	{
		pgha_set_error(errbuf, errlen,
				  "\"%s\" is out of range: %" PRId64 " (allowed %" PRId64 "..%" PRId64 ")",
				  key, n, min, max);
		return -1;
	}
	*out = n;
	return 1;
}

/*
 * Patroni's parse_bool() applied to str(value): on/true/yes/1 and
 * off/false/no/0, case-insensitive.  Returns 1, 0, or -1 when the value
 * means neither.
 */
int
pgha_json_bool(json_t *v)
{
	static const char *const yes[] = {"on", "true", "yes", "1"};
	static const char *const no[] = {"off", "false", "no", "0"};
	const char *s;
	int			i;

	if (json_is_boolean(v))
		return json_is_true(v) ? 1 : 0;
	if (json_is_integer(v))
	{
		if (json_integer_value(v) == 1)
			return 1;
		return json_integer_value(v) == 0 ? 0 : -1;
	}
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	s = json_string_value(v);
	for (i = 0; i < 4; i++)
	{
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* a boolean tag: JSON boolean or a parse_bool() word; absent is false */
static bool
get_bool_tag(json_t *tags, const char *key, bool *out,
			 char *errbuf, size_t errlen)
{
	json_t	   *v = get_field(tags, key);
	int			b;

	*out = false;
	if (v == NULL)
		return true;
	b = pgha_json_bool(v);
	if (b < 0)
	{
		pgha_set_error(errbuf, errlen, "tag \"%s\" is not a boolean", key);
		return false;
	}
	*out = (b == 1);
	return true;
}

static void
member_set_defaults(PghaMember *m)
{
	m->conn_url[0] = '\0';
	m->api_url[0] = '\0';
	m->state[0] = '\0';
	m->role[0] = '\0';
	m->version[0] = '\0';
	m->instance[0] = '\0';
	m->xlog_location = -1;
	m->timeline = 0;
	m->nofailover = false;
	m->nosync = false;
	m->failover_priority = 1;
	m->pending_restart = false;
	m->pause = false;
	m->scheduled_restart[0] = '\0';
	m->scheduled_restart_version[0] = '\0';
}

/* Patroni's "scheduled_restart": {"schedule": ISO, "postgres_version": ..} */
static bool
get_scheduled_restart(json_t *root, PghaMember *m, char *errbuf, size_t errlen)
{
	json_t	   *sr = get_field(root, "scheduled_restart");

	if (sr == NULL)
		return true;
	if (!json_is_object(sr))
	{
		pgha_set_error(errbuf, errlen, "\"scheduled_restart\" is not an object");
		return false;
	}
	return pgha_json_get_string(sr, "schedule", m->scheduled_restart,
								sizeof(m->scheduled_restart), errbuf, errlen) &&
		pgha_json_get_string(sr, "postgres_version", m->scheduled_restart_version,
							 sizeof(m->scheduled_restart_version), errbuf, errlen);
}

bool
pgha_cluster_prefix(const char *namespace_, const char *scope,
					char *buf, size_t buflen)
{
	char		joined[1024];
	size_t		i,
				n = 0;
	int			len;

	if (buf == NULL || buflen == 0 || scope == NULL || scope[0] == '\0')
		return false;
	if (namespace_ == NULL)
		namespace_ = "";

	/*
	 * Patroni builds its base path as re.sub('/+', '/', '/'.join(['',
	 * namespace, scope])); do the same and add the trailing '/' of a prefix.
	 */
	len = snprintf(joined, sizeof(joined), "/%s/%s/", namespace_, scope);
	if (len < 0 || (size_t) len >= sizeof(joined))
		return false;
	for (i = 0; joined[i] != '\0'; i++)
	{
		if (joined[i] == '/' && n > 0 && buf[n - 1] == '/')
			continue;
		if (n + 1 >= buflen)
			return false;
		buf[n++] = joined[i];
	}
	buf[n] = '\0';
	return true;
}

/*
 * Members: the decoded fields replace all JSON-derived fields of *m; name
 * and lease (which do not come from the JSON) are left as they are.  On
 * error *m is not modified.
 */
bool
pgha_member_from_json(const char *json, PghaMember *m,
					  char *errbuf, size_t errlen)
{
	json_t	   *root;
	json_t	   *tags;
	PghaMember	tmp = *m;
	int64_t		n;
	bool		ok = false;
	int			rc;

	root = pgha_json_load_object(json, "member value", errbuf, errlen);
	if (root == NULL)
		return false;

	member_set_defaults(&tmp);
	if (!pgha_json_get_string(root, "conn_url", tmp.conn_url, sizeof(tmp.conn_url), errbuf, errlen) ||
		!pgha_json_get_string(root, "api_url", tmp.api_url, sizeof(tmp.api_url), errbuf, errlen) ||
		!pgha_json_get_string(root, "state", tmp.state, sizeof(tmp.state), errbuf, errlen) ||
		!pgha_json_get_string(root, "role", tmp.role, sizeof(tmp.role), errbuf, errlen) ||
		!pgha_json_get_string(root, "version", tmp.version, sizeof(tmp.version), errbuf, errlen) ||
		!pgha_json_get_string(root, "pgha_instance", tmp.instance, sizeof(tmp.instance), errbuf, errlen))
		goto done;

	rc = get_int64(root, "xlog_location", false, 0, INT64_MAX, &n, errbuf, errlen);
	if (rc < 0)
		goto done;
	if (rc > 0)
		tmp.xlog_location = n;

	/* timeline 0 means "absent" in the struct; Patroni never writes it */
	rc = get_int64(root, "timeline", false, 0, INT_MAX, &n, errbuf, errlen);
	if (rc < 0)
		goto done;
	if (rc > 0)
		tmp.timeline = (int) n;

	if (!get_bool_tag(root, "pending_restart", &tmp.pending_restart, errbuf, errlen) ||
		!get_bool_tag(root, "pause", &tmp.pause, errbuf, errlen) ||
		!get_scheduled_restart(root, &tmp, errbuf, errlen))
		goto done;

	tags = get_field(root, "tags");
	if (tags != NULL)
	{
		if (!json_is_object(tags))
		{
			pgha_set_error(errbuf, errlen, "\"tags\" is not an object");
			goto done;
		}
		if (!get_bool_tag(tags, "nofailover", &tmp.nofailover, errbuf, errlen) ||
			!get_bool_tag(tags, "nosync", &tmp.nosync, errbuf, errlen))
			goto done;
		rc = get_int64(tags, "failover_priority", true, 0, INT_MAX, &n,
					   errbuf, errlen);
		if (rc < 0)
			goto done;
		if (rc > 0)
			tmp.failover_priority = (int) n;
	}

	*m = tmp;
	ok = true;

done:
	json_decref(root);
	return ok;
}

/* json_object_set_new that tolerates a NULL value (failed allocation) */
static bool
put(json_t *obj, const char *key, json_t *value)
{
	if (value == NULL)
		return false;
	return json_object_set_new(obj, key, value) == 0;
}

/*
 * Serialise, consuming the reference to root.  jansson writes \u00E9 where
 * Python writes \u00e9: lower-case the hex digits of \u escapes so that the
 * bytes match what Patroni writes.
 */
static char *
dump_and_free(json_t *root, bool ok)
{
	char	   *out = NULL;
	char	   *p;
	int			i;

	if (ok)
		out = json_dumps(root, PATRONI_DUMP_FLAGS);
	json_decref(root);
	for (p = out; p != NULL && *p != '\0'; p++)
	{
		if (*p != '\\')
			continue;
		p++;					/* the escaped character, never the NUL */
		if (*p != 'u')
			continue;
		for (i = 0; i < 4 && p[1] != '\0'; i++)
		{
			p++;
			*p = (char) tolower((unsigned char) *p);
		}
	}
	return out;
}

/*
 * Patroni's member value (patroni/ha.py, touch_member): conn_url, api_url,
 * state, role, version, then tags when there are any, pending_restart when
 * set, then xlog_location and timeline when known, then scheduled_restart,
 * then pause when the member sees the cluster paused.  Returns NULL on
 * out-of-memory or when a string is not valid UTF-8 (jansson refuses
 * those).
 */
char *
pgha_member_to_json(const PghaMember *m)
{
	json_t	   *root = pgha_json_object();
	bool		ok;

	if (root == NULL)
		return NULL;
	ok = put(root, "conn_url", json_string(m->conn_url));
	if (ok && m->api_url[0] != '\0')
		ok = put(root, "api_url", json_string(m->api_url));
	ok = ok && put(root, "state", json_string(m->state));
	ok = ok && put(root, "role", json_string(m->role));
	ok = ok && put(root, "version", json_string(m->version));
	if (ok && (m->nofailover || m->nosync || m->failover_priority != 1))
	{
		json_t	   *tags = pgha_json_object();

		ok = (tags != NULL);
		if (ok && m->nofailover)
			ok = put(tags, "nofailover", json_true());
		if (ok && m->nosync)
			ok = put(tags, "nosync", json_true());
		if (ok && m->failover_priority != 1)
			ok = put(tags, "failover_priority", json_integer(m->failover_priority));
		if (ok)
			ok = put(root, "tags", tags);
		else
			json_decref(tags);
	}
	if (ok && m->pending_restart)
		ok = put(root, "pending_restart", json_true());
	if (ok && m->xlog_location >= 0)
		ok = put(root, "xlog_location", json_integer(m->xlog_location));
	if (ok && m->timeline > 0)
		ok = put(root, "timeline", json_integer(m->timeline));
	if (ok && m->scheduled_restart[0] != '\0')
	{
		json_t	   *sr = pgha_json_object();

		ok = (sr != NULL) && put(sr, "schedule", json_string(m->scheduled_restart));
		if (ok && m->scheduled_restart_version[0] != '\0')
			ok = put(sr, "postgres_version", json_string(m->scheduled_restart_version));
		if (ok)
			ok = put(root, "scheduled_restart", sr);
		else if (sr != NULL)
			json_decref(sr);
	}
	/* patronictl pause/resume --wait read it back from every member */
	if (ok && m->pause)
		ok = put(root, "pause", json_true());
	if (ok && m->instance[0] != '\0')
		ok = put(root, "pgha_instance", json_string(m->instance));
	return dump_and_free(root, ok);
}

char *
pgha_config_to_json(const PghaDynConfig *cfg)
{
	json_t	   *root = pgha_json_object();
	bool		ok;

	if (root == NULL)
		return NULL;
	ok = put(root, "ttl", json_integer(cfg->ttl)) &&
		put(root, "loop_wait", json_integer(cfg->loop_wait)) &&
		put(root, "retry_timeout", json_integer(cfg->retry_timeout)) &&
		put(root, "maximum_lag_on_failover",
			json_integer(cfg->maximum_lag_on_failover));
	/* "patronictl resume" removes the key rather than writing false */
	if (ok && cfg->pause)
		ok = put(root, "pause", json_true());
	if (ok && cfg->synchronous_mode != PGHA_SYNC_OFF)
		ok = put(root, "synchronous_mode", json_true());
	if (ok && cfg->synchronous_mode == PGHA_SYNC_STRICT)
		ok = put(root, "synchronous_mode_strict", json_true());
	if (ok && cfg->synchronous_node_count > 1)
		ok = put(root, "synchronous_node_count",
				 json_integer(cfg->synchronous_node_count));
	return dump_and_free(root, ok);
}

/*
 * Patroni's synchronous_mode (a boolean) and synchronous_mode_strict; pgha
 * also takes synchronous_mode: "strict".  Absent means off.
 */
static bool
get_sync_mode(json_t *root, PghaSyncMode *mode, char *errbuf, size_t errlen)
{
	json_t	   *v = get_field(root, "synchronous_mode");
	json_t	   *strict = get_field(root, "synchronous_mode_strict");
	int			b = 0;
	int			st = 0;

	if (v != NULL && json_is_string(v) &&
		strcmp(json_string_value(v), "strict") == 0)
		b = st = 1;
	else if (v != NULL && (b = pgha_json_bool(v)) < 0)
	{
		pgha_set_error(errbuf, errlen,
					   "\"synchronous_mode\" is not a boolean or \"strict\"");
		return false;
	}
	if (strict != NULL && st == 0 && (st = pgha_json_bool(strict)) < 0)
	{
		pgha_set_error(errbuf, errlen,
					   "\"synchronous_mode_strict\" is not a boolean");
		return false;
	}
	*mode = b == 0 ? PGHA_SYNC_OFF : st == 1 ? PGHA_SYNC_STRICT : PGHA_SYNC_ON;
	return true;
}

/*
 * The config key.  Absent ttl/loop_wait/retry_timeout/maximum_lag_on_failover
 * keep the values already in *cfg (callers start from Patroni's defaults);
 * "pause" is always set, because an absent pause means "not paused".  A
 * pause value that parse_bool() does not understand counts as not paused,
 * as in Patroni.  On error *cfg is not modified.
 */
bool
pgha_config_from_json(const char *json, PghaDynConfig *cfg,
					  char *errbuf, size_t errlen)
{
	json_t	   *root;
	json_t	   *pause;
	PghaDynConfig tmp = *cfg;
	int64_t		n;
	bool		ok = false;
	int			rc;

	root = pgha_json_load_object(json, "config value", errbuf, errlen);
	if (root == NULL)
		return false;

	rc = get_int64(root, "ttl", true, PGHA_TTL_MIN, PGHA_TTL_MAX, &n, errbuf, errlen);
	if (rc < 0)
		goto done;
	if (rc > 0)
		tmp.ttl = (int) n;
	rc = get_int64(root, "loop_wait", true, PGHA_LOOP_WAIT_MIN, PGHA_LOOP_WAIT_MAX,
				   &n, errbuf, errlen);
	if (rc < 0)
		goto done;
	if (rc > 0)
		tmp.loop_wait = (int) n;
	rc = get_int64(root, "retry_timeout", true, PGHA_RETRY_TIMEOUT_MIN,
				   PGHA_RETRY_TIMEOUT_MAX, &n, errbuf, errlen);
	if (rc < 0)
		goto done;
	if (rc > 0)
		tmp.retry_timeout = (int) n;
	rc = get_int64(root, "maximum_lag_on_failover", true, 0, INT64_MAX,
				   &n, errbuf, errlen);
	if (rc < 0)
		goto done;
	if (rc > 0)
		tmp.maximum_lag_on_failover = n;

	rc = get_int64(root, "synchronous_node_count", true, 1, PGHA_MAX_SYNC,
				   &n, errbuf, errlen);
	if (rc < 0)
		goto done;
	if (rc > 0)
		tmp.synchronous_node_count = (int) n;
	if (!get_sync_mode(root, &tmp.synchronous_mode, errbuf, errlen))
		goto done;

	pause = get_field(root, "pause");
	tmp.pause = (pause != NULL && pgha_json_bool(pause) == 1);

	*cfg = tmp;
	ok = true;

done:
	json_decref(root);
	return ok;
}

char *
pgha_status_to_json(int64_t optime)
{
	json_t	   *root = pgha_json_object();

	if (root == NULL)
		return NULL;
	return dump_and_free(root, put(root, "optime", json_integer(optime)));
}

/*
 * {"optime":N}; other fields ("slots", ...) are ignored.  Like Patroni's
 * int(), a numeric string is accepted.  A status without optime is an
 * error here: the caller then treats the optime as unknown.
 */
bool
pgha_status_from_json(const char *json, int64_t *optime,
					  char *errbuf, size_t errlen)
{
	json_t	   *root;
	int64_t		n;
	int			rc;

	root = pgha_json_load_object(json, "status value", errbuf, errlen);
	if (root == NULL)
		return false;
	rc = get_int64(root, "optime", true, 0, INT64_MAX, &n, errbuf, errlen);
	json_decref(root);
	if (rc == 0)
		pgha_set_error(errbuf, errlen, "status value has no \"optime\"");
	if (rc <= 0)
		return false;
	*optime = n;
	return true;
}

/*
 * Host and port as Python's urlparse() finds them (Patroni's
 * Member.conn_kwargs): netloc after "scheme://" up to '/', '?' or '#';
 * userinfo dropped up to the last '@'; IPv6 unbracketed; hostname
 * lower-cased; missing or zero port means 5432.
 */
bool
pgha_conn_url_host_port(const char *conn_url, char *host, size_t hostlen,
						int *port)
{
	const char *p,
			   *netloc,
			   *end,
			   *at,
			   *h,
			   *hend,
			   *ps;
	size_t		i,
				hlen;
	long		portnum = 0;

	if (conn_url == NULL || host == NULL || hostlen == 0)
		return false;
	p = conn_url;
	if (!isalpha((unsigned char) *p))
		return false;
	while (isalnum((unsigned char) *p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	if (strncmp(p, "://", 3) != 0)
		return false;
	netloc = p + 3;
	end = netloc + strcspn(netloc, "/?#");

	at = NULL;
	for (p = netloc; p < end; p++)
		if (*p == '@')
			at = p;
	h = at ? at + 1 : netloc;

	if (*h == '[')
	{
		h++;
		hend = memchr(h, ']', (size_t) (end - h));
		if (hend == NULL)
			return false;
		ps = hend + 1;
		if (ps < end && *ps != ':')
			return false;
	}
	else
	{
		hend = memchr(h, ':', (size_t) (end - h));
		if (hend == NULL)
			hend = end;
		ps = hend;
	}
	hlen = (size_t) (hend - h);
	if (hlen == 0 || hlen >= hostlen)
		return false;

	if (ps < end)
	{
		/* ps points at ':' */
		for (p = ps + 1; p < end; p++)
		{
			if (!isdigit((unsigned char) *p))
				return false;
			portnum = portnum * 10 + (*p - '0');
			if (portnum > 65535)
				return false;
		}
	}
	for (i = 0; i < hlen; i++)
		host[i] = (char) tolower((unsigned char) h[i]);
	host[hlen] = '\0';
	if (port != NULL)
		*port = portnum == 0 ? 5432 : (int) portnum;
	return true;
}

static void
note_error(PghaCluster *out, const char *fmt,...)
__attribute__((format(printf, 2, 3)));

static void
note_error(PghaCluster *out, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(out->last_decode_error, sizeof(out->last_decode_error), fmt, ap);
	va_end(ap);
}

/* a kv value as a C string, or NULL when it holds a NUL byte */
static const char *
kv_text(const EtcdKV *kv)
{
	const char *v = kv->value ? kv->value : "";

	if (kv->value != NULL && strlen(v) != kv->value_len)
		return NULL;
	return v;
}

static void
add_member(PghaCluster *out, const char *name, const EtcdKV *kv)
{
	PghaMember *m;
	const char *value = kv_text(kv);
	char		err[PGHA_ERR_LEN];

	/* Patroni lists nameless members too, but pgha cannot address them */
	if (name[0] == '\0' || strlen(name) >= PGHA_NAME_LEN)
	{
		out->nbad_members++;
		note_error(out, "member key \"%.80s\": name is empty or longer than %d bytes",
				   kv->key, PGHA_NAME_LEN - 1);
		return;
	}
	if (out->nmembers >= PGHA_MAX_MEMBERS)
	{
		out->nbad_members++;
		note_error(out, "member \"%s\": more than %d members", name,
				   PGHA_MAX_MEMBERS);
		return;
	}
	if (value == NULL)
	{
		out->nbad_members++;
		note_error(out, "member \"%s\": value contains a NUL byte", name);
		return;
	}

	m = &out->members[out->nmembers];
	memset(m, 0, sizeof(*m));
	strcpy(m->name, name);
	m->lease = kv->lease;
	m->mod_revision = kv->mod_revision;
	member_set_defaults(m);
	if (!pgha_member_from_json(value, m, err, sizeof(err)))
	{
		out->nbad_members++;
		note_error(out, "member \"%s\": %s", name, err);
		return;
	}
	out->nmembers++;
}

static void
set_leader(PghaCluster *out, const EtcdKV *kv)
{
	const char *value = kv_text(kv);

	/*
	 * The key exists, so somebody holds the lock even if its value is
	 * unusable: report it held, under a name no member can have.
	 */
	out->has_leader = true;
	out->leader_lease = kv->lease;
	out->leader_mod_revision = kv->mod_revision;
	out->leader[0] = '\0';
	if (value == NULL || !copy_bounded(out->leader, sizeof(out->leader),
									   value, strlen(value)))
		note_error(out, "leader value is not a member name (NUL byte or longer than %d bytes)",
				   PGHA_NAME_LEN - 1);
}

static void
set_initialize(PghaCluster *out, const EtcdKV *kv)
{
	const char *value = kv_text(kv);

	out->has_initialize = true;
	if (value == NULL || !copy_bounded(out->initialize, sizeof(out->initialize),
									   value, strlen(value)))
	{
		/*
		 * Not a system identifier: store text that can never equal one, so
		 * that nobody mistakes the cluster for theirs (an empty value would
		 * read as "initializing").
		 */
		strcpy(out->initialize, "<invalid>");
		note_error(out, "initialize value is not a system identifier");
	}
}

/*
 * The pause flag and synchronous mode of a config value that failed to
 * decode as a whole.  Patroni reads "pause" on its own (Cluster.is_paused),
 * so a bad ttl does not unpause a cluster; pgha keeps the operator's pause
 * and synchronous mode for the same reason: when in doubt, do not fail
 * over automatically, and never to a standby that may lack commits.
 */
static void
config_safe_flags(const char *value, PghaDynConfig *cfg)
{
	json_t	   *root = json_loads(value, JSON_DECODE_ANY, NULL);
	char		err[PGHA_ERR_LEN];

	cfg->pause = false;
	cfg->synchronous_mode = PGHA_SYNC_OFF;
	if (root != NULL && json_is_object(root))
	{
		json_t	   *v = get_field(root, "pause");

		cfg->pause = (v != NULL && pgha_json_bool(v) == 1);
		/* a synchronous_mode that does not read as off is taken as on */
		if (!get_sync_mode(root, &cfg->synchronous_mode, err, sizeof(err)))
			cfg->synchronous_mode = PGHA_SYNC_ON;
	}
	json_decref(root);
}

static void
set_config(PghaCluster *out, const EtcdKV *kv)
{
	const char *value = kv_text(kv);
	char		err[PGHA_ERR_LEN];

	out->has_config = true;
	out->config_mod_revision = kv->mod_revision;
	out->config.ttl = PATRONI_DEFAULT_TTL;
	out->config.loop_wait = PATRONI_DEFAULT_LOOP_WAIT;
	out->config.retry_timeout = PATRONI_DEFAULT_RETRY_TIMEOUT;
	out->config.maximum_lag_on_failover = PATRONI_DEFAULT_MAX_LAG;
	out->config.pause = false;
	out->config.synchronous_mode = PGHA_SYNC_OFF;
	out->config.synchronous_node_count = 1;
	if (value == NULL)
	{
		out->config_valid = false;
		note_error(out, "config: value contains a NUL byte");
		return;
	}
	out->config_valid = pgha_config_from_json(value, &out->config, err, sizeof(err));
	if (!out->config_valid)
	{
		note_error(out, "config: %s", err);
		config_safe_flags(value, &out->config);
	}
}

static void
set_status(PghaCluster *out, const EtcdKV *kv)
{
	const char *value = kv_text(kv);
	char		err[PGHA_ERR_LEN];

	out->has_optime = false;
	out->optime = 0;
	if (value == NULL)
	{
		note_error(out, "status: value contains a NUL byte");
		return;
	}
	if (pgha_status_from_json(value, &out->optime, err, sizeof(err)))
		out->has_optime = true;
	else
		note_error(out, "status: %s", err);
}

/* an undecodable pgha_final is ignored: it only ever holds promotion back */
static void
set_final(PghaCluster *out, const EtcdKV *kv)
{
	const char *value = kv_text(kv);
	char		err[PGHA_ERR_LEN] = "value contains a NUL byte";

	out->final_mod_revision = kv->mod_revision;
	out->has_final = value != NULL &&
		pgha_final_from_json(value, out->final_leader,
							 sizeof(out->final_leader), &out->final_optime,
							 &out->final_timeline, &out->final_shut_down,
							 err, sizeof(err));
	if (!out->has_final)
		note_error(out, "pgha_final key: %s", err);
}

/* an undecodable sync key lists nobody: no promotion on its word */
static void
set_sync(PghaCluster *out, const EtcdKV *kv)
{
	const char *value = kv_text(kv);
	char		err[PGHA_ERR_LEN] = "value contains a NUL byte";

	out->has_sync = true;
	out->sync_mod_revision = kv->mod_revision;
	if (value == NULL || !pgha_sync_from_json(value, &out->sync, err, sizeof(err)))
	{
		memset(&out->sync, 0, sizeof(out->sync));
		note_error(out, "sync key: %s", err);
	}
}

/* keep where the last few timelines ended, for the watchdog's rejoin */
static void
set_history_tail(PghaCluster *out, const char *json)
{
	out->nhistory_tail = pgha_history_tail(json, out->history_tail_tl,
										   out->history_tail_lsn, 8);
}

bool
pgha_cluster_timeline_end(const PghaCluster *cl, int tl, int64_t *lsn)
{
	for (int i = 0; i < cl->nhistory_tail; i++)
		if (cl->history_tail_tl[i] == tl && cl->history_tail_lsn[i] >= 0)
		{
			*lsn = cl->history_tail_lsn[i];
			return true;
		}
	return false;
}

void
pgha_cluster_from_kvs(const char *prefix, const EtcdKVList *kvs,
					  PghaCluster *out)
{
	size_t		plen = prefix ? strlen(prefix) : 0;
	int			i;

	memset(out, 0, sizeof(*out));
	out->config.ttl = PATRONI_DEFAULT_TTL;
	out->config.loop_wait = PATRONI_DEFAULT_LOOP_WAIT;
	out->config.retry_timeout = PATRONI_DEFAULT_RETRY_TIMEOUT;
	out->config.maximum_lag_on_failover = PATRONI_DEFAULT_MAX_LAG;
	out->config.synchronous_node_count = 1;
	if (kvs == NULL)
		return;
	out->revision = kvs->revision;
	if (kvs->kvs == NULL)
		return;

	for (i = 0; i < kvs->count; i++)
	{
		const EtcdKV *kv = &kvs->kvs[i];
		const char *rel;

		if (kv->key == NULL || strncmp(kv->key, prefix ? prefix : "", plen) != 0)
			continue;
		rel = kv->key + plen;

		if (strcmp(rel, "leader") == 0)
			set_leader(out, kv);
		else if (strncmp(rel, "members/", 8) == 0)
		{
			/* like Patroni, only direct children of members/ */
			if (strchr(rel + 8, '/') == NULL)
				add_member(out, rel + 8, kv);
		}
		else if (strcmp(rel, "config") == 0)
			set_config(out, kv);
		else if (strcmp(rel, "initialize") == 0)
			set_initialize(out, kv);
		else if (strcmp(rel, "status") == 0)
			set_status(out, kv);
		else if (strcmp(rel, "failover") == 0)
		{
			char		err[PGHA_ERR_LEN] = "value contains a NUL byte";

			out->failover_mod_revision = kv->mod_revision;
			memset(&out->failover, 0, sizeof(out->failover));
			if (kv->value != NULL && strlen(kv->value) == kv->value_len &&
				pgha_failover_from_json(kv->value, &out->failover, err, sizeof(err)))
				out->has_failover = !pgha_failover_empty(&out->failover);
			else
				note_error(out, "failover key: %s", err);
		}
		else if (strcmp(rel, "history") == 0)
		{
			char		err[PGHA_ERR_LEN] = "value contains a NUL byte";

			out->has_history = true;
			out->history_mod_revision = kv->mod_revision;
			out->history_valid = kv->value != NULL &&
				strlen(kv->value) == kv->value_len &&
				pgha_history_last_timeline(kv->value, &out->history_last_timeline,
										   err, sizeof(err));
			if (!out->history_valid)
				note_error(out, "history key: %s", err);
			else
				set_history_tail(out, kv->value);
		}

		else if (strcmp(rel, "sync") == 0)
			set_sync(out, kv);
		else if (strcmp(rel, "pgha_final") == 0)
			set_final(out, kv);

		/* failsafe and anything else are not modelled yet */
	}
}

const PghaMember *
pgha_cluster_find_member(const PghaCluster *cl, const char *name)
{
	int			i;

	if (cl == NULL || name == NULL)
		return NULL;
	for (i = 0; i < cl->nmembers; i++)
		if (strcmp(cl->members[i].name, name) == 0)
			return &cl->members[i];
	return NULL;
}

static bool
is_leader(const PghaCluster *cl, const PghaMember *m)
{
	return cl->has_leader && cl->leader[0] != '\0' &&
		strcmp(cl->leader, m->name) == 0;
}

/*
 * patronictl 3.0.2 derives the role from the keys, not from the member's
 * "role" field: the leader key's member is the leader ("Standby Leader" in
 * a standby cluster, not modelled), members of the sync key are "Sync
 * Standby", everyone else is "Replica", whatever its
 * own role says (a demoted or stopped old primary shows as Replica).
 */
const char *
pgha_member_display_role(const PghaCluster *cl, const PghaMember *m)
{
	if (is_leader(cl, m))
		return "Leader";
	if (cl->has_sync && pgha_sync_lists(&cl->sync, m->name))
		return "Sync Standby";
	return "Replica";
}

/*
 * cluster_as_json(): none for the leader, unknown without xlog_location,
 * otherwise the optime (0 when the status key is missing) minus the
 * member's position, never negative.
 */
int64_t
pgha_member_lag_bytes(const PghaCluster *cl, const PghaMember *m)
{
	int64_t		optime;

	if (is_leader(cl, m) || m->xlog_location < 0)
		return -1;
	optime = cl->has_optime ? cl->optime : 0;
	return optime >= m->xlog_location ? optime - m->xlog_location : 0;
}
