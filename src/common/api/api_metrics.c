/*-------------------------------------------------------------------------
 *
 * api_metrics.c
 *	  GET /metrics: Prometheus text with Patroni 3's metric names (its
 *	  do_GET_metrics(), line for line, so that existing dashboards work),
 *	  then pgha's own gauges and counters.
 *
 *-------------------------------------------------------------------------
 */
#include "api_body.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
