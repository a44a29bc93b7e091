/*-------------------------------------------------------------------------
 *
 * cmd_list.c
 *	  pghactl list: the cluster's members, as patronictl 3.0.2 lists them.
 *
 * The rows follow patronictl's output_members() and cluster_as_json():
 * members sorted by name; Host is the conn_url's host, with ":port" added
 * to every row as soon as one member runs on a port other than 5432 or two
 * share a host; Role comes from the leader key, not from the member's own
 * role field; TL is empty when unknown; "Lag in MB" is empty for the
 * leader, "unknown" without a WAL position, else rounded half to even as
 * Python's round() does; a Tags column appears when a member has tags;
 * " Maintenance mode: on" follows the table when the cluster is paused,
 * and a scheduled switchover is shown under it as patronictl shows it.
 * Like patronictl, a member whose value does not decode is still listed,
 * with blank fields; the reason goes to stderr, so that stdout stays
 * comparable with patronictl's.  Members are decoded here, one by one,
 * rather than through PghaCluster, so that the list is not bounded by
 * PGHA_MAX_MEMBERS and shows names of any length.
 *
 *-------------------------------------------------------------------------
 */
#include "pghactl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_logic.h"
#include "decide.h"
#include "identity.h"
#include "isotime.h"
#include "table.h"

#define CELL_LEN	512

typedef struct Row
{
	const char *name;			/* from the key: any length */
	PghaMember	m;				/* blank when the value did not decode */
	bool		has_host;
	char		host[PGHA_URL_LEN];
	int			port;
} Row;

static int
compare_rows(const void *a, const void *b)
{
	return strcmp(((const Row *) a)->name, ((const Row *) b)->name);
}

/*
 * etcd holds any bytes: keep control characters (escape sequences) off the
 * terminal.  A newline stays, since patronictl shows it as a multi-line
 * cell.
 */
static void
sanitize(char *dst, size_t dstlen, const char *src)
{
	size_t		i;

	for (i = 0; src[i] != '\0' && i + 1 < dstlen; i++)
	{
		unsigned char c = (unsigned char) src[i];

		dst[i] = ((c < 0x20 && c != '\n') || c == 0x7f) ? '?' : (char) c;
	}
	dst[i] = '\0';
}

static bool
has_tags(const PghaMember *m)
{
	return m->nofailover || m->nosync || m->failover_priority != 1;
}

/* patronictl formats tags as YAML, keys sorted */
static void
format_tags(const PghaMember *m, char *buf, size_t len)
{
	size_t		n = 0;

	buf[0] = '\0';
	if (m->failover_priority != 1)
		n += snprintf(buf + n, len - n, "failover_priority: %d", m->failover_priority);
	if (m->nofailover && n < len)
		n += snprintf(buf + n, len - n, "%snofailover: true", n ? "\n" : "");
	if (m->nosync && n < len)
		snprintf(buf + n, len - n, "%snosync: true", n ? "\n" : "");
}

static void
format_lag(const PghaCluster *cl, const PghaMember *m, char *buf, size_t len)
{
	int64_t		lag = pgha_member_lag_bytes(cl, m);

	if (cl->has_leader && strcmp(cl->leader, m->name) == 0)
		buf[0] = '\0';
	else if (lag < 0)
		snprintf(buf, len, "unknown");
	else
	{
		/* Python's round(lag / 1024 / 1024): nearest, ties to even */
		int64_t		mb = lag / 1048576;
		int64_t		rest = lag % 1048576;

		if (rest > 524288 || (rest == 524288 && (mb & 1)))
			mb++;
		snprintf(buf, len, "%" PRId64, mb);
	}
}

/*
 * One row per direct child of members/ (deeper keys are ignored, as
 * Patroni does).  Returns the number of rows, or -1 on out-of-memory.
 */
static int
collect_rows(const char *prefix, const EtcdKVList *kvs, Row **rowsp)
{
	char		members[PGHACTL_PREFIX_LEN + 16];
	size_t		mlen;
	Row		   *rows;
	int			n = 0,
				i;

	snprintf(members, sizeof(members), "%smembers/", prefix);
	mlen = strlen(members);
	rows = calloc(kvs->count > 0 ? kvs->count : 1, sizeof(Row));
	if (rows == NULL)
		return -1;
	for (i = 0; i < kvs->count; i++)
	{
		const EtcdKV *kv = &kvs->kvs[i];
		Row		   *r = &rows[n];
		char		err[PGHA_ERR_LEN];
		const char *name;

		if (strncmp(kv->key, members, mlen) != 0 || strchr(kv->key + mlen, '/') != NULL)
			continue;
		name = kv->key + mlen;
		r->name = name;
		/* a name the struct cannot hold must not match a truncated leader */
		if (strlen(name) < sizeof(r->m.name))
			strcpy(r->m.name, name);
		r->m.xlog_location = -1;
		r->m.failover_priority = 1;
		if (strlen(kv->value) != kv->value_len)
			fprintf(stderr, "pghactl: warning: member \"%s\": value contains a NUL byte\n", name);
		else if (!pgha_member_from_json(kv->value, &r->m, err, sizeof(err)))
			fprintf(stderr, "pghactl: warning: member \"%s\": %s\n", name, err);
		r->has_host = pgha_conn_url_host_port(r->m.conn_url, r->host,
											  sizeof(r->host), &r->port);
		n++;
	}
	*rowsp = rows;
	return n;
}

/*
 * patronictl's lines under the table (get_cluster_service_info): the
 * pause, and a scheduled switchover with its time as Python's isoformat()
 * of the parsed value, then "from" and "to" right-aligned in 24 columns.
 * The entries are joined by a newline and a space, the from/to lines are
 * not indented further.
 */
static void
print_service_info(const PghaCluster *cl)
{
	const char *sep = " ";

	if (cl->has_config && cl->config.pause)
	{
		printf("%sMaintenance mode: on", sep);
		sep = "\n ";
	}
	if (cl->has_failover && cl->failover.scheduled_at[0] != '\0')
	{
		PghaTimestamp at;
		char		when[PGHA_ISOTIME_LEN];
		char		err[PGHA_ERR_LEN];
		char		clean[PGHA_NAME_LEN];

		/* a time that does not parse is not shown (and is never due) */
		if (pgha_parse_isotime(cl->failover.scheduled_at, &at, err, sizeof(err)))
		{
			pgha_format_isotime(&at, when, sizeof(when));
			printf("%sSwitchover scheduled at: %s", sep, when);
			sep = "\n ";
			if (cl->failover.leader[0])
			{
				sanitize(clean, sizeof(clean), cl->failover.leader);
				printf("\n%24s: %s", "from", clean);
			}
			if (cl->failover.member[0])
			{
				sanitize(clean, sizeof(clean), cl->failover.member);
				printf("\n%24s: %s", "to", clean);
			}
		}
	}
	if (sep[0] == '\n')
		printf("\n");
}

static bool
print_cluster(const PghactlSettings *st, const PghaCluster *cl, Row *rows,
			  int nrows, bool topology)
{
	PghactlTable t;
	bool		append_port = false;
	bool		show_tags = false;
	bool		show_pending = false;
	bool		show_scheduled = false;
	int		   *order = NULL;
	int		   *level = NULL;
	const char **names = NULL;
	int			i,
				j;
	char		title[PGHA_NAME_LEN + 16];
	bool		ok = true;

	qsort(rows, nrows, sizeof(Row), compare_rows);

	/* patronictl only looks at members with a host here */
	for (i = 0; i < nrows; i++)
	{
		if (!rows[i].has_host)
			continue;
		if (rows[i].port != 5432)
			append_port = true;
		if (has_tags(&rows[i].m))
			show_tags = true;
		if (rows[i].m.pending_restart)
			show_pending = true;
		if (rows[i].m.scheduled_restart[0] != '\0')
			show_scheduled = true;
		for (j = 0; j < i; j++)
			if (rows[j].has_host && strcmp(rows[j].host, rows[i].host) == 0)
				append_port = true;
	}

	pghactl_table_init(&t);
	pghactl_table_add_column(&t, "Member", false);
	pghactl_table_add_column(&t, "Host", false);
	pghactl_table_add_column(&t, "Role", false);
	pghactl_table_add_column(&t, "State", false);
	pghactl_table_add_column(&t, "TL", true);
	pghactl_table_add_column(&t, "Lag in MB", true);
	if (show_pending)
		pghactl_table_add_column(&t, "Pending restart", false);
	if (show_scheduled)
		pghactl_table_add_column(&t, "Scheduled restart", false);
	if (show_tags)
		pghactl_table_add_column(&t, "Tags", false);

	order = calloc(nrows > 0 ? nrows : 1, sizeof(int));
	level = calloc(nrows > 0 ? nrows : 1, sizeof(int));
	names = calloc(nrows > 0 ? nrows : 1, sizeof(char *));
	ok = order != NULL && level != NULL && names != NULL;
	for (i = 0; ok && i < nrows; i++)
	{
		names[i] = rows[i].name;
		order[i] = i;
	}
	if (ok && topology)
		pgha_topology_order(names, nrows, cl->has_leader ? cl->leader : NULL,
							order, level);

	for (int r = 0; ok && r < nrows; r++)
	{
		const PghaMember *m;
		char		name[1024];
		char		shown[1100];
		char		scheduled[PGHA_WORD_LEN + 96];
		int			c = 0;
		char		host[PGHA_URL_LEN + 8];
		char		host_clean[PGHA_URL_LEN + 8];
		char		state[PGHA_WORD_LEN];
		char		tl[16];
		char		lag[32];
		char		tags[CELL_LEN];
		const char *cells[9];

		i = order[r];
		m = &rows[i].m;
		pgha_topology_name(rows[i].name, level[r], shown, sizeof(shown));
		sanitize(name, sizeof(name), shown);
		host[0] = '\0';
		if (rows[i].has_host && append_port)
			snprintf(host, sizeof(host), "%s:%d", rows[i].host, rows[i].port);
		else if (rows[i].has_host)
			snprintf(host, sizeof(host), "%s", rows[i].host);
		sanitize(host_clean, sizeof(host_clean), host);
		sanitize(state, sizeof(state), m->state);
		tl[0] = '\0';
		if (m->timeline > 0)
			snprintf(tl, sizeof(tl), "%d", m->timeline);
		format_lag(cl, m, lag, sizeof(lag));
		format_tags(m, tags, sizeof(tags));

		scheduled[0] = '\0';
		if (m->scheduled_restart[0] != '\0')
			snprintf(scheduled, sizeof(scheduled), "%s%s%s", m->scheduled_restart,
					 m->scheduled_restart_version[0] ? " if version < " : "",
					 m->scheduled_restart_version);

		cells[c++] = name;
		cells[c++] = host_clean;
		cells[c++] = pgha_member_display_role(cl, m);
		cells[c++] = state;
		cells[c++] = tl;
		cells[c++] = lag;
		if (show_pending)
			cells[c++] = m->pending_restart ? "*" : "";
		if (show_scheduled)
			cells[c++] = scheduled;
		cells[c++] = tags;
		ok = pghactl_table_add_row(&t, cells);
	}
	free(order);
	free(level);
	free(names);

	if (ok)
	{
		snprintf(title, sizeof(title), " Cluster: %s ", pghactl_conf_get(st, PS_SCOPE));
		pghactl_table_print(&t, title, stdout);
		print_service_info(cl);
	}
	pghactl_table_free(&t);
	return ok;
}

/* the model keeps only the last decode error: get the config's own */
static void
warn_config(const char *prefix, const EtcdKVList *kvs)
{
	char		key[PGHACTL_PREFIX_LEN + 8];
	char		err[PGHA_ERR_LEN];
	const EtcdKV *kv;
	PghaDynConfig cfg;

	snprintf(key, sizeof(key), "%sconfig", prefix);
	kv = etcd_kvlist_find(kvs, key);
	memset(&cfg, 0, sizeof(cfg));
	if (kv != NULL && !pgha_config_from_json(kv->value, &cfg, err, sizeof(err)))
		fprintf(stderr, "pghactl: warning: %s: %s\n", key, err);
}

/*
 * With -D: is this node kept out because another live member uses its name?
 * (Safety rule 6; such a node writes nothing to etcd, so only it can say.)
 */
static void
print_identity(const PghactlSettings *st, const PghaCluster *cl,
			   const char *pgdata)
{
	const char *me = pghactl_conf_get(st, PS_NODE_NAME);
	char		inst[PGHA_INSTANCE_LEN];
	char		err[256];
	char		why[PGHA_ERR_LEN];
	const PghaMember *other;

	if (pgdata == NULL || me == NULL || me[0] == '\0')
		return;
	if (!pgha_instance_id(pgdata, inst, sizeof(inst), err, sizeof(err)))
		inst[0] = '\0';
	other = pgha_name_taken(cl, me, pgha_own_lease(pgdata, inst), inst);
	if (other == NULL)
		return;
	pgha_name_taken_reason(other, why, sizeof(why));
	printf(" This node (%s): %s; it holds no key and writes nothing\n",
		   pgdata, why);
}

static int
list_members(const PghactlSettings *st, const char *pgdata, bool topology)
{
	EtcdKVList	kvs;
	char		prefix[PGHACTL_PREFIX_LEN];
	PghaCluster *cl;
	Row		   *rows = NULL;
	int			nrows;
	int			rc;

	rc = pghactl_fetch_cluster(st, &kvs, prefix, sizeof(prefix));
	if (rc != PGHACTL_EXIT_OK)
		return rc;

	/* leader, status and config from the model; members row by row */
	cl = malloc(sizeof(PghaCluster));
	nrows = cl ? collect_rows(prefix, &kvs, &rows) : -1;
	if (nrows >= 0)
	{
		pgha_cluster_from_kvs(prefix, &kvs, cl);
		warn_config(prefix, &kvs);
	}
	if (nrows < 0 || !print_cluster(st, cl, rows, nrows, topology))
	{
		fprintf(stderr, "pghactl: out of memory\n");
		rc = PGHACTL_EXIT_ETCD;
	}
	else
		print_identity(st, cl, pgdata);
	fflush(stdout);
	free(rows);
	free(cl);
	etcd_kvlist_free(&kvs);
	return rc;
}

int
pghactl_cmd_list(const PghactlSettings *st, const char *pgdata)
{
	return list_members(st, pgdata, false);
}

/* pghactl topology: the list with the leader first, its replicas under it */
int
pghactl_cmd_topology(const PghactlSettings *st, const PghactlArgs *args)
{
	return list_members(st, NULL, true);
}
