/*-------------------------------------------------------------------------
 *
 * api_policy.c
 *	  Routing, health-check status codes and query parsing of the REST
 *	  api, following Patroni 3's do_GET (patroni/api.py) rule by rule.
 *
 *-------------------------------------------------------------------------
 */
#include "api_policy.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

PghaApiMethod
pgha_api_method(const char *method)
{
	static const struct
	{
		const char *name;
		PghaApiMethod m;
	}			methods[] = {
		{"GET", PGHA_HTTP_GET}, {"HEAD", PGHA_HTTP_HEAD},
		{"OPTIONS", PGHA_HTTP_OPTIONS}, {"POST", PGHA_HTTP_POST},
		{"PUT", PGHA_HTTP_PUT}, {"PATCH", PGHA_HTTP_PATCH},
		{"DELETE", PGHA_HTTP_DELETE}
	};

	if (method == NULL)
		return PGHA_HTTP_OTHER;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(method, methods[i].name) == 0)
			return methods[i].m;
	return PGHA_HTTP_OTHER;
}

bool
pgha_api_method_is_unsafe(PghaApiMethod m)
{
	return m == PGHA_HTTP_POST || m == PGHA_HTTP_PUT ||
		m == PGHA_HTTP_PATCH || m == PGHA_HTTP_DELETE;
}

PghaApiEndpoint
pgha_api_endpoint(const char *path)
{
	static const struct
	{
		const char *name;
		PghaApiEndpoint ep;
	}			names[] = {
		{"", PGHA_EP_PRIMARY}, {"primary", PGHA_EP_PRIMARY},
		{"master", PGHA_EP_PRIMARY}, {"read-write", PGHA_EP_PRIMARY},
		{"leader", PGHA_EP_LEADER},
		{"standby-leader", PGHA_EP_STANDBY_LEADER},
		{"standby_leader", PGHA_EP_STANDBY_LEADER},
		{"replica", PGHA_EP_REPLICA}, {"read-only", PGHA_EP_READ_ONLY},
		{"synchronous", PGHA_EP_SYNC}, {"sync", PGHA_EP_SYNC},
		{"asynchronous", PGHA_EP_ASYNC}, {"async", PGHA_EP_ASYNC},
		{"read-only-sync", PGHA_EP_READ_ONLY_SYNC},
		{"read-only-synchronous", PGHA_EP_READ_ONLY_SYNC},
		{"health", PGHA_EP_HEALTH}, {"liveness", PGHA_EP_LIVENESS},
		{"readiness", PGHA_EP_READINESS}, {"patroni", PGHA_EP_PATRONI},
		{"cluster", PGHA_EP_CLUSTER}, {"history", PGHA_EP_HISTORY},
		{"config", PGHA_EP_CONFIG}, {"metrics", PGHA_EP_METRICS},
		{"switchover", PGHA_EP_SWITCHOVER}, {"failover", PGHA_EP_FAILOVER},
		{"restart", PGHA_EP_RESTART}, {"reload", PGHA_EP_RELOAD},
		{"reinitialize", PGHA_EP_REINITIALIZE}
	};
	const char *seg;
	size_t		len;

	if (path == NULL || path[0] != '/')
		return PGHA_EP_NOT_FOUND;
	/* Patroni dispatches on the first segment: /patroni/x is /patroni */
	seg = path + 1;
	len = strcspn(seg, "/");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == len && strncmp(seg, names[i].name, len) == 0)
			return names[i].ep;
	return PGHA_EP_NOT_FOUND;
}

bool
pgha_api_is_check(PghaApiEndpoint ep)
{
	return ep >= PGHA_EP_PRIMARY && ep <= PGHA_EP_HEALTH;
}

static void
copy_bounded(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

void
pgha_api_query_add(PghaApiQuery *q, const char *key, const char *value)
{
	if (key == NULL)
		return;
	if (value == NULL)
		value = "";
	if (strcmp(key, "lag") == 0)
	{
		if (!q->has_lag)
		{
			q->has_lag = true;
			copy_bounded(q->lag, sizeof(q->lag), value);
		}
	}
	else if (strcmp(key, "replication_state") == 0)
	{
		if (q->replication_state[0] == '\0')
			copy_bounded(q->replication_state, sizeof(q->replication_state), value);
	}
	else if (strncmp(key, "tag_", 4) == 0)
	{
		const char *name = key + 4;

		for (int i = 0; i < q->ntags; i++)
			if (strcmp(q->tag_names[i], name) == 0)
				return;
		if (q->ntags >= PGHA_API_MAX_QUERY_TAGS ||
			strlen(name) >= sizeof(q->tag_names[0]) ||
			strlen(value) >= sizeof(q->tag_values[0]))
		{
			/* a filter we cannot hold cannot match either */
			q->too_many_tags = true;
			return;
		}
		copy_bounded(q->tag_names[q->ntags], sizeof(q->tag_names[0]), name);
		copy_bounded(q->tag_values[q->ntags], sizeof(q->tag_values[0]), value);
		q->ntags++;
	}
}

/* Python's round-half-even of rint() in patroni/utils.py */
static double
py_rint(double v)
{
	return nearbyint(v);
}

/* leading integer as Patroni's strtol(): hex, octal or decimal */
static bool
parse_integer_prefix(const char *s, double *val, const char **end)
{
	const char *p = s;
	int			sign = 1;
	int			base = 10;
	const char *digits;
	double		v = 0;

	if (*p == '+' || *p == '-')
		sign = (*p++ == '-') ? -1 : 1;
	if (p[0] == '0' && p[1] == 'x' && isxdigit((unsigned char) p[2]))
	{
		base = 16;
		p += 2;
	}
	else if (p[0] == '0')
		base = 8;
	else if (!isdigit((unsigned char) p[0]))
		return false;
	digits = p;
	for (;; p++)
	{
		int			d;

		if (isdigit((unsigned char) *p))
			d = *p - '0';
		else if (base == 16 && isxdigit((unsigned char) *p))
			d = tolower((unsigned char) *p) - 'a' + 10;
		else
			break;
		if (d >= base)
			break;
		v = v * base + d;
	}
	if (p == digits)
		return false;
	*val = sign * v;
	*end = p;
	return true;
}

/* Patroni's strtod(): [-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)? */
static bool
parse_double_prefix(const char *s, double *val, const char **end)
{
	const char *p = s;
	const char *start;
	bool		digits = false;

	if (*p == '+' || *p == '-')
		p++;
	start = p;
	while (isdigit((unsigned char) *p))
		p++;
	if (*p == '.' && isdigit((unsigned char) p[1]))
	{
		p++;
		while (isdigit((unsigned char) *p))
			p++;
		digits = true;
	}
	else if (p > start)
		digits = true;
	if (!digits)
		return false;
	if ((*p == 'e' || *p == 'E') &&
		(isdigit((unsigned char) p[1]) ||
		 ((p[1] == '+' || p[1] == '-') && isdigit((unsigned char) p[2]))))
	{
		p += 2;
		while (isdigit((unsigned char) *p))
			p++;
	}
	{
		char		buf[128];
		size_t		n = (size_t) (p - s);

		if (n >= sizeof(buf))
			return false;
		memcpy(buf, s, n);
		buf[n] = '\0';
		*val = strtod(buf, NULL);
	}
	*end = p;
	return true;
}

bool
pgha_api_parse_bytes(const char *s, int64_t *out)
{
	static const struct
	{
		const char *unit;
		double		mult;
		double		round_to;	/* Patroni rounds to the next smaller unit */
	}			units[] = {
		{"B", 1, 0}, {"kB", 1024.0, 1},
		{"MB", 1024.0 * 1024, 1024.0},
		{"GB", 1024.0 * 1024 * 1024, 1024.0 * 1024},
		{"TB", 1024.0 * 1024 * 1024 * 1024, 1024.0 * 1024 * 1024}
	};
	char		buf[128];
	const char *p;
	const char *end;
	double		v;
	size_t		len;

	if (s == NULL)
		return false;
	/* Python's str.strip() */
	while (isspace((unsigned char) *s))
		s++;
	len = strlen(s);
	while (len > 0 && isspace((unsigned char) s[len - 1]))
		len--;
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	p = buf;

	if (!parse_integer_prefix(p, &v, &end) ||
		*end == '.' || *end == 'e' || *end == 'E')
	{
		if (!parse_double_prefix(p, &v, &end))
			return false;
	}
	while (isspace((unsigned char) *end))
		end++;
	if (*end != '\0')
	{
		size_t		i;

		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strcmp(end, units[i].unit) == 0)
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return false;
		v *= units[i].mult;
		if (units[i].round_to > 0)
			v = py_rint(v / units[i].round_to) * units[i].round_to;
	}
	v = py_rint(v);
	if (!(v > -9.2e18 && v < 9.2e18))
		return false;
	*out = (int64_t) v;
	return true;
}

static bool
is_role(const PghaApiNode *n, const char *role)
{
	return n->role != NULL && strcmp(n->role, role) == 0;
}

static bool
is_running(const PghaApiNode *n)
{
	return n->state != NULL && strcmp(n->state, "running") == 0;
}

/* every ?tag_x=v must equal this node's tag x */
static bool
tags_match(const PghaApiNode *n, const PghaApiQuery *q)
{
	if (q->too_many_tags)
		return false;
	for (int i = 0; i < q->ntags; i++)
	{
		const char *mine = NULL;

		for (int t = 0; t < n->ntags; t++)
			if (strcmp(n->tags[t].name, q->tag_names[i]) == 0)
				mine = n->tags[t].value;
		if (mine == NULL || strcmp(mine, q->tag_values[i]) != 0)
			return false;
	}
	return true;
}

int
pgha_api_check_code(PghaApiEndpoint ep, const PghaApiNode *n,
					const PghaApiQuery *q)
{
	int64_t		max_lag = INT64_MAX;
	bool		lagging;
	int			replica;
	int			leader;
	int			primary;
	int			standby_leader;
	int			code = 503;
	bool		ignore_tags = false;
	bool		primary_role = is_role(n, "master") || is_role(n, "primary");

	if (q->has_lag && !pgha_api_parse_bytes(q->lag, &max_lag))
		max_lag = INT64_MAX;
	/* leader_optime > replayed + max_lag, without overflowing */
	lagging = n->leader_optime != 0 &&
		(max_lag >= 0 ? n->leader_optime - n->replayed_location > max_lag
		 : n->leader_optime > n->replayed_location + max_lag);

	replica = (!n->noloadbalance && !lagging && is_role(n, "replica") &&
			   is_running(n)) ? 200 : 503;
	/* Patroni 3.1: ?replication_state= filters replicas by their receiver */
	if (replica == 200 && q->replication_state[0] != '\0' &&
		(n->replication_state == NULL ||
		 strcmp(q->replication_state, n->replication_state) != 0))
		replica = 503;

	if (!n->have_cluster && n->paused)
	{
		leader = (primary_role || is_role(n, "standby_leader")) ? 200 : 503;
		primary = primary_role ? 200 : 503;
		standby_leader = is_role(n, "standby_leader") ? 200 : 503;
	}
	else if (n->is_leader)
	{
		/* pgha has no standby cluster: a leader is a primary */
		leader = 200;
		primary = 200;
		standby_leader = 503;
	}
	else
		leader = primary = standby_leader = 503;

	switch (ep)
	{
		case PGHA_EP_STANDBY_LEADER:
			code = standby_leader;
			ignore_tags = true;
			break;
		case PGHA_EP_LEADER:
			code = leader;
			ignore_tags = true;
			break;
		case PGHA_EP_PRIMARY:
			code = primary;
			ignore_tags = true;
			break;
		case PGHA_EP_REPLICA:
			code = replica;
			break;
		case PGHA_EP_READ_ONLY:
			code = (primary == 200 || standby_leader == 200) ? 200 : replica;
			break;
		case PGHA_EP_HEALTH:
			code = is_running(n) ? 200 : 503;
			break;
		case PGHA_EP_SYNC:
			if (n->have_cluster && n->sync_standby)
				code = replica;
			break;
		case PGHA_EP_ASYNC:
			if (n->have_cluster && !n->sync_standby)
				code = replica;
			break;
		case PGHA_EP_READ_ONLY_SYNC:
			if (n->have_cluster)
			{
				if (primary == 200 || standby_leader == 200)
					code = 200;
				else if (n->sync_standby)
					code = replica;
			}
			break;
		default:
			code = 503;
			break;
	}
	if (!ignore_tags && code == 200 && !tags_match(n, q))
		code = 503;
	return code;
}

int
pgha_api_liveness_code(const PghaApiNode *n)
{
	bool		primary = (is_role(n, "master") || is_role(n, "primary")) &&
		is_running(n);
	int64_t		threshold_ms;

	if (n->paused)
		return 200;
	if (n->keeper_age_ms < 0)
		return 503;
	/* Patroni: next_run (last loop + loop_wait) + ttl (x2 on a replica) > now */
	threshold_ms = ((int64_t) n->loop_wait + (int64_t) n->ttl * (primary ? 1 : 2)) * 1000;
	return n->keeper_age_ms < threshold_ms ? 200 : 503;
}

int
pgha_api_readiness_code(const PghaApiNode *n)
{
	if (n->is_leader)
		return 200;
	if (is_running(n))
		return n->have_cluster ? 200 : 503;
	return 503;
}

const char *
pgha_api_reason(int code)
{
	switch (code)
	{
		case 200:
			return "OK";
		case 202:
			return "Accepted";
		case 400:
			return "Bad Request";
		case 401:
			return "Unauthorized";
		case 403:
			return "Forbidden";
		case 404:
			return "Not Found";
		case 405:
			return "Method Not Allowed";
		case 409:
			return "Conflict";
		case 411:
			return "Length Required";
		case 412:
			return "Precondition Failed";
		case 413:
			return "Request Entity Too Large";
		case 422:
			return "Unprocessable Entity";
		case 431:
			return "Request Header Fields Too Large";
		case 500:
			return "Internal Server Error";
		case 501:
			return "Not Implemented";
		case 502:
			return "Bad Gateway";
		case 503:
			return "Service Unavailable";
		default:
			break;
	}
	return "Unknown";
}

bool
pgha_api_split_host_port(const char *s, char *host, size_t hostlen, int *port,
						 char *errbuf, size_t errlen)
{
	const char *colon;
	const char *h = s;
	size_t		hlen;
	char	   *end;
	long		p;

	if (s == NULL || s[0] == '\0')
	{
		snprintf(errbuf, errlen, "the address is empty");
		return false;
	}
	colon = strrchr(s, ':');
	if (colon == NULL)
	{
		snprintf(errbuf, errlen, "\"%s\" is not host:port", s);
		return false;
	}
	hlen = (size_t) (colon - s);
	if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']')
	{
		h = s + 1;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= hostlen)
	{
		snprintf(errbuf, errlen, "\"%s\": the host is empty or too long", s);
		return false;
	}
	for (size_t i = 0; i < hlen; i++)
		if (isspace((unsigned char) h[i]) || !isprint((unsigned char) h[i]) ||
			h[i] == '/' || h[i] == '@')
		{
			snprintf(errbuf, errlen, "\"%s\": the host contains '%c' or a non-printable character",
					 s, isprint((unsigned char) h[i]) ? h[i] : '?');
			return false;
		}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || p < 1 || p > 65535 ||
		!isdigit((unsigned char) colon[1]))
	{
		snprintf(errbuf, errlen, "\"%s\": the port must be a number from 1 to 65535", s);
		return false;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (int) p;
	return true;
}
