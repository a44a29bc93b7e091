/*-------------------------------------------------------------------------
 *
 * node_plan.c
 *	  The watchdog's decisions (see node_plan.h): the plan for a stopped
 *	  node, the parsing of pg_controldata, and the hung-keeper guard.
 *
 * The plan, first matching row wins.  First, whatever the data directory:
 *
 *	 our name's member key is another live node's       -> wait (rule 6: the
 *	 (pgha_name_taken: another lease and instance)         name is taken; a
 *														   clone would take
 *														   its slot and key)
 *
 * No data directory yet (bootstrap):
 *
 *	 leader key held by another member with a conn_url -> clone it
 *	 leader key names this node                         -> wait (its lease
 *														   expires: nothing
 *														   to clone from)
 *	 leader key held, its member key unusable          -> wait
 *	 no leader, no initialize key, but member keys,     -> wait (etcd lost its
 *	   a status, history or pgha_final key				   keys: the leader
 *														   restores them)
 *	 no leader, no key at all, for less than            -> wait (members of a
 *	   PGHA_BOOTSTRAP_WAIT_MS								   running cluster put
 *														   their keys back)
 *	 no leader, no initialize key                       -> initdb (after
 *														   winning the key)
 *	 no leader, initialize key present                  -> wait
 *
 * A data directory:
 *
 *	 system identifier differs from initialize          -> wait (foreign)
 *	 no leader                                          -> start-replica - -
 *	 leader key names this node                         -> start-replica - -
 *	 leader's member key missing or no conn_url         -> wait
 *	 a standby past the end of its timeline (history    -> rewind (clone when
 *	   key), the leader on a newer one: a dead branch	   pg_rewind cannot work)
 *	 was a primary, leader's timeline unknown           -> wait
 *	 was a primary, leader on a newer timeline          -> rewind (clone
 *														   when pg_rewind
 *														   cannot work)
 *	 was a primary, leader's timeline not newer         -> wait (promoting)
 *	 otherwise (a standby)                              -> start-replica H P
 *
 * "Was a primary": pgha.fenced exists, or pg_controldata says the server
 * was (or was becoming) a primary; a backup_label overrides both, since a
 * fresh clone or a rewound directory carries its source's control file.
 * Starting as a standby is always safe for rule 1: only the keeper promotes,
 * and only while it holds the leader key.  A node that led a timeline the
 * leader has left must not stream before pg_rewind (rule 4); pg_rewind
 * itself says "no rewind required" when nothing diverged, so the cost of
 * asking is small.  A crashed primary that still holds the leader key is
 * restarted as a standby (as Patroni does): its keeper promotes it again,
 * so postgres never accepts writes unless the keeper holds the lock.
 *
 *-------------------------------------------------------------------------
 */
#include "node_plan.h"

#include "decide.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct
{
	const char *text;
	PghaDbState state;
}			db_states[] = {
	{"starting up", PGHA_DB_STARTING_UP},
	{"shut down", PGHA_DB_SHUT_DOWN},
	{"shut down in recovery", PGHA_DB_SHUT_DOWN_IN_RECOVERY},
	{"shutting down", PGHA_DB_SHUTTING_DOWN},
	{"in crash recovery", PGHA_DB_IN_CRASH_RECOVERY},
	{"in archive recovery", PGHA_DB_IN_ARCHIVE_RECOVERY},
	{"in production", PGHA_DB_IN_PRODUCTION},
};

#define NDBSTATES ((int) (sizeof(db_states) / sizeof(db_states[0])))

const char *
pgha_db_state_text(PghaDbState s)
{
	int			i;

	for (i = 0; i < NDBSTATES; i++)
		if (db_states[i].state == s)
			return db_states[i].text;
	return "unknown";
}

/* one hex number of at most 8 digits, all of s */
static bool
parse_hex32(const char *s, size_t len, uint32_t *out)
{
	uint64_t	v = 0;
	size_t		i;

	if (len == 0 || len > 8)
		return false;
	for (i = 0; i < len; i++)
	{
		int			c = (unsigned char) s[i];

		if (!isxdigit(c))
			return false;
		v = v * 16 + (uint64_t) (isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
	}
	*out = (uint32_t) v;
	return true;
}

bool
pgha_parse_lsn(const char *s, uint64_t *lsn)
{
	const char *slash = strchr(s, '/');
	uint32_t	hi,
				lo;

	if (slash == NULL ||
		!parse_hex32(s, (size_t) (slash - s), &hi) ||
		!parse_hex32(slash + 1, strlen(slash + 1), &lo))
		return false;
	*lsn = ((uint64_t) hi << 32) | lo;
	return true;
}

/* a non-negative decimal int, all of s */
static bool
parse_int(const char *s, int *out)
{
	char	   *end;
	long		v;

	if (!isdigit((unsigned char) s[0]))
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > INT_MAX)
		return false;
	*out = (int) v;
	return true;
}

static bool
parse_sysid(const char *s, char *out, size_t outlen)
{
	size_t		len = strlen(s);
	size_t		i;

	if (len == 0 || len > 20 || len >= outlen)
		return false;
	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char) s[i]))
			return false;
	memcpy(out, s, len + 1);
	return true;
}

enum
{
	F_SYSID = 1 << 0,
	F_STATE = 1 << 1,
	F_CKPT_LSN = 1 << 2,
	F_CKPT_TLI = 1 << 3
};

/*
 * One "Name:   value" line; name and value are trimmed.  Returns false for
 * a known field with a malformed value.
 */
static bool
parse_field(const char *name, const char *value, PghaControlData *out,
			int *seen, char *errbuf, size_t errlen)
{
	int			i;

	if (strcmp(name, "Database system identifier") == 0)
	{
		if (!parse_sysid(value, out->system_identifier,
						 sizeof(out->system_identifier)))
			goto bad;
		*seen |= F_SYSID;
	}
	else if (strcmp(name, "Database cluster state") == 0)
	{
		for (i = 0; i < NDBSTATES; i++)
			if (strcmp(value, db_states[i].text) == 0)
				break;
		if (i == NDBSTATES)
			goto bad;
		out->state = db_states[i].state;
		*seen |= F_STATE;
	}
	else if (strcmp(name, "Latest checkpoint location") == 0)
	{
		if (!pgha_parse_lsn(value, &out->checkpoint_lsn))
			goto bad;
		*seen |= F_CKPT_LSN;
	}
	else if (strcmp(name, "Latest checkpoint's TimeLineID") == 0)
	{
		if (!parse_int(value, &out->checkpoint_tli) || out->checkpoint_tli == 0)
			goto bad;
		*seen |= F_CKPT_TLI;
	}
	else if (strcmp(name, "Minimum recovery ending location") == 0)
	{
		if (!pgha_parse_lsn(value, &out->min_recovery_lsn))
			goto bad;
	}
	else if (strcmp(name, "Min recovery ending loc's timeline") == 0)
	{
		if (!parse_int(value, &out->min_recovery_tli))
			goto bad;
	}
	else if (strcmp(name, "wal_log_hints setting") == 0)
	{
		if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0)
			goto bad;
		out->wal_log_hints = (strcmp(value, "on") == 0);
	}
	else if (strcmp(name, "Data page checksum version") == 0)
	{
		if (!parse_int(value, &out->checksum_version))
			goto bad;
	}
	return true;

bad:
	snprintf(errbuf, errlen, "pg_controldata: malformed \"%s\": \"%.60s\"",
			 name, value);
	return false;
}

bool
pgha_parse_controldata(const char *text, PghaControlData *out,
					   char *errbuf, size_t errlen)
{
	const char *line = text;
	int			seen = 0;

	memset(out, 0, sizeof(*out));
	/* without the line, pg_rewind is assumed possible (and tried) */
	out->wal_log_hints = true;
	errbuf[0] = '\0';

	while (line != NULL && *line != '\0')
	{
		const char *eol = strchr(line, '\n');
		size_t		len = eol ? (size_t) (eol - line) : strlen(line);
		char		buf[256];
		char	   *colon;
		char	   *name;
		char	   *value;
		char	   *end;

		/* no field pgha reads is anywhere near this long */
		if (len < sizeof(buf))
		{
			memcpy(buf, line, len);
			buf[len] = '\0';
			colon = strchr(buf, ':');
			if (colon != NULL)
			{
				*colon = '\0';
				name = buf;
				while (isspace((unsigned char) *name))
					name++;
				for (end = colon; end > name && isspace((unsigned char) end[-1]); end--)
					end[-1] = '\0';
				value = colon + 1;
				while (isspace((unsigned char) *value))
					value++;
				for (end = value + strlen(value);
					 end > value && isspace((unsigned char) end[-1]); end--)
					end[-1] = '\0';
				if (!parse_field(name, value, out, &seen, errbuf, errlen))
					return false;
			}
		}
		line = eol ? eol + 1 : NULL;
	}

	if (seen != (F_SYSID | F_STATE | F_CKPT_LSN | F_CKPT_TLI))
	{
		snprintf(errbuf, errlen, "pg_controldata: no %s in its output",
				 !(seen & F_SYSID) ? "\"Database system identifier\"" :
				 !(seen & F_STATE) ? "\"Database cluster state\"" :
				 !(seen & F_CKPT_LSN) ? "\"Latest checkpoint location\"" :
				 "\"Latest checkpoint's TimeLineID\"");
		return false;
	}
	return true;
}

/* ---- the plan ---- */

static void
plan_set(PghaNodePlan *out, PghaPlanAction action, const char *host, int port)
{
	out->action = action;
	snprintf(out->host, sizeof(out->host), "%s", host ? host : "");
	out->port = host ? port : 0;
}

static void
plan_reason(PghaNodePlan *out, const char *fmt,...)
__attribute__((format(printf, 2, 3)));

static void
plan_reason(PghaNodePlan *out, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

static bool
in_recovery_state(PghaDbState s)
{
	return s == PGHA_DB_SHUT_DOWN_IN_RECOVERY || s == PGHA_DB_IN_ARCHIVE_RECOVERY;
}

static bool
was_primary(const PghaLocalNode *node)
{
	if (node->backup_label)
		return false;
	if (node->fenced)
		return true;
	switch (node->cd->state)
	{
		case PGHA_DB_SHUT_DOWN_IN_RECOVERY:
		case PGHA_DB_IN_ARCHIVE_RECOVERY:
			return false;
		case PGHA_DB_STARTING_UP:
		case PGHA_DB_SHUT_DOWN:
		case PGHA_DB_SHUTTING_DOWN:
		case PGHA_DB_IN_CRASH_RECOVERY:
		case PGHA_DB_IN_PRODUCTION:
			break;
	}
	return true;
}

/*
 * Where a standby's WAL reaches, as Patroni reads it from the control
 * file: the minimum recovery ending location, or the last checkpoint.
 */
static uint64_t
standby_position(const PghaControlData *cd)
{
	return cd->min_recovery_lsn != 0 ? cd->min_recovery_lsn : cd->checkpoint_lsn;
}

/*
 * A standby that replayed WAL past the end of its timeline (the history
 * key says where it ended) while the leader is on a newer one: the WAL
 * it has after that point is not in the leader's history (rule 4).
 */
static bool
standby_diverged(const PghaLocalNode *node, const PghaCluster *cl,
				 const PghaMember *leader, int64_t *end)
{
	const PghaControlData *cd = node->cd;
	int			tli = cd->min_recovery_lsn != 0 ? cd->min_recovery_tli : cd->checkpoint_tli;

	return tli > 0 && leader->timeline > tli &&
		pgha_cluster_timeline_end(cl, tli, end) &&
		(int64_t) standby_position(cd) > *end;
}

/* rewind from the leader, or clone it when pg_rewind cannot work */
static void
plan_rejoin(const PghaLocalNode *node, const char *host, int port,
			PghaNodePlan *out)
{
	if (!node->cd->wal_log_hints && node->cd->checksum_version == 0)
		plan_set(out, PGHA_PLAN_CLONE, host, port);
	else
		plan_set(out, PGHA_PLAN_REWIND, host, port);
}

/* the leader's member key and where it listens; NULL when unusable */
static const PghaMember *
leader_member(const PghaCluster *cl, char *host, size_t hostlen, int *port)
{
	const PghaMember *m = pgha_cluster_find_member(cl, cl->leader);

	if (m == NULL || !pgha_conn_url_host_port(m->conn_url, host, hostlen, port))
		return NULL;
	return m;
}

/* keys that only a cluster that ran leaves behind */
static bool
scope_has_data(const PghaCluster *cl)
{
	return cl->nmembers > 0 || cl->has_optime || cl->has_history ||
		cl->has_final;
}

static void
plan_bootstrap(const PghaLocalNode *node, const PghaCluster *cl,
			   PghaNodePlan *out)
{
	char		host[PGHA_URL_LEN];
	int			port;
	const PghaMember *m;

	if (cl->has_leader && strcmp(cl->leader, node->name) == 0)
	{
		plan_set(out, PGHA_PLAN_WAIT, NULL, 0);
		plan_reason(out, "the leader key names this node, which has no data directory: waiting for its lease to expire");
	}
	else if (cl->has_leader)
	{
		m = leader_member(cl, host, sizeof(host), &port);
		if (m != NULL)
		{
			plan_set(out, PGHA_PLAN_CLONE, host, port);
			plan_reason(out, "no data directory: cloning the leader \"%s\" at %s:%d",
						cl->leader, host, port);
		}
		else
		{
			plan_set(out, PGHA_PLAN_WAIT, NULL, 0);
			plan_reason(out, "the leader \"%s\" has no member key with a usable conn_url yet",
						cl->leader);
		}
	}
	else if (!cl->has_initialize && scope_has_data(cl))
	{
		plan_set(out, PGHA_PLAN_WAIT, NULL, 0);
		plan_reason(out, "no data directory, no leader and no initialize key, but the scope has %s: etcd lost its keys? waiting for the leader to restore them (to start over on purpose, remove the scope: pghactl remove)",
					cl->nmembers > 0 ? "member keys" : "keys of a cluster that ran");
	}
	else if (!cl->has_initialize && node->scope_empty_ms < PGHA_BOOTSTRAP_WAIT_MS)
	{
		plan_set(out, PGHA_PLAN_WAIT, NULL, 0);
		plan_reason(out, "no data directory and no key in the scope: waiting %d ms for the members of a running cluster (if etcd lost its keys) to put theirs back before creating a new one",
					PGHA_BOOTSTRAP_WAIT_MS);
	}
	else if (!cl->has_initialize)
	{
		plan_set(out, PGHA_PLAN_INITDB, NULL, 0);
		plan_reason(out, "no data directory and the cluster is not initialized: this node creates it");
	}
	else
	{
		plan_set(out, PGHA_PLAN_WAIT, NULL, 0);
		plan_reason(out, "no data directory and no leader to clone from (the cluster is %s)",
					cl->initialize[0] ? "initialized" : "being initialized by another node");
	}
}

void
pgha_node_plan(const PghaLocalNode *node, const PghaCluster *cl,
			   PghaNodePlan *out)
{
	const PghaControlData *cd = node->cd;
	char		host[PGHA_URL_LEN];
	int			port;
	const PghaMember *m;
	int			our_tli;
	int64_t		switch_lsn;

	memset(out, 0, sizeof(*out));
	m = pgha_name_taken(cl, node->name, node->lease, node->instance);
	if (m != NULL)
	{
		plan_set(out, PGHA_PLAN_WAIT, NULL, 0);
		pgha_name_taken_reason(m, out->reason, sizeof(out->reason));
		return;
	}
	if (cd == NULL)
	{
		plan_bootstrap(node, cl, out);
		return;
	}

	if (cl->has_initialize && cl->initialize[0] != '\0' &&
		strcmp(cl->initialize, cd->system_identifier) != 0)
	{
		plan_set(out, PGHA_PLAN_WAIT, NULL, 0);
		plan_reason(out, "the data directory's system identifier %s differs from the cluster's %s: it belongs to another cluster",
					cd->system_identifier, cl->initialize);
		return;
	}
	if (!cl->has_leader)
	{
		plan_set(out, PGHA_PLAN_START_REPLICA, NULL, 0);
		plan_reason(out, "no leader: starting as a standby without upstream; the keeper contends for the leader key");
		return;
	}
	if (node->reinit && strcmp(cl->leader, node->name) != 0 &&
		leader_member(cl, host, sizeof(host), &port) != NULL)
	{
		plan_set(out, PGHA_PLAN_REINIT, host, port);
		plan_reason(out, "reinitialize requested: emptying the data directory and cloning the leader \"%s\" again",
					cl->leader);
		return;
	}
	if (strcmp(cl->leader, node->name) == 0 && node->restart &&
		!node->fenced && cd->state == PGHA_DB_SHUT_DOWN)
	{
		/*
		 * A requested restart of the leader: it keeps the key.  It starts as
		 * a standby and its keeper promotes it once it holds the key on its
		 * new lease (safety rule 1); back after the lease expired, it
		 * follows whoever took over.
		 */
		plan_set(out, PGHA_PLAN_START_REPLICA, NULL, 0);
		plan_reason(out, "restart requested: the leader key names this node: starting as a standby; the keeper promotes it while it holds the key");
		return;
	}
	if (strcmp(cl->leader, node->name) == 0 &&
		(node->fenced || cd->state == PGHA_DB_SHUT_DOWN))
	{
		/*
		 * Stopped on purpose (a switchover, a fence, a clean stop) while still
		 * named leader: hand over now instead of after the lease expires.
		 */
		plan_set(out, PGHA_PLAN_RELEASE, NULL, 0);
		plan_reason(out, "this node still holds the leader key but postgres was stopped (%s%s): publishing its final position and releasing the key",
					pgha_db_state_text(cd->state), node->fenced ? ", fenced" : "");
		return;
	}
	if (strcmp(cl->leader, node->name) == 0)
	{
		plan_set(out, PGHA_PLAN_START_REPLICA, NULL, 0);
		plan_reason(out, "the leader key names this node: starting as a standby; the keeper promotes it while it holds the key");
		return;
	}
	m = leader_member(cl, host, sizeof(host), &port);
	if (m == NULL)
	{
		plan_set(out, PGHA_PLAN_WAIT, NULL, 0);
		plan_reason(out, "the leader \"%s\" has no member key with a usable conn_url yet",
					cl->leader);
		return;
	}
	if (!was_primary(node) && standby_diverged(node, cl, m, &switch_lsn))
	{
		our_tli = cd->min_recovery_lsn != 0 ? cd->min_recovery_tli : cd->checkpoint_tli;
		plan_rejoin(node, host, port, out);
		plan_reason(out, "a standby on a dead branch: its WAL on timeline %d reaches %X/%X, past the end of that timeline (%X/%X), and the leader \"%s\" is on timeline %d: %s %s:%d",
					our_tli,
					(unsigned int) (standby_position(cd) >> 32),
					(unsigned int) standby_position(cd),
					(unsigned int) ((uint64_t) switch_lsn >> 32),
					(unsigned int) switch_lsn, cl->leader, m->timeline,
					out->action == PGHA_PLAN_REWIND ? "rewinding from" : "pg_rewind needs wal_log_hints or data checksums: cloning",
					host, port);
		return;
	}
	if (!was_primary(node))
	{
		plan_set(out, PGHA_PLAN_START_REPLICA, host, port);
		plan_reason(out, "a standby (%s): following the leader \"%s\" at %s:%d",
					pgha_db_state_text(cd->state), cl->leader, host, port);
		return;
	}

	/*
	 * A former primary.  Its control file's timeline is the one it wrote
	 * on; promotion writes a checkpoint on the new timeline at once, so it
	 * is not older than the truth.
	 */
	our_tli = cd->checkpoint_tli > cd->min_recovery_tli ?
		cd->checkpoint_tli : cd->min_recovery_tli;
	if (m->timeline <= 0)
	{
		plan_set(out, PGHA_PLAN_WAIT, NULL, 0);
		plan_reason(out, "this node was a primary (%s%s) and the timeline of the leader \"%s\" is not known yet",
					pgha_db_state_text(cd->state), node->fenced ? ", fenced" : "",
					cl->leader);
	}
	else if (m->timeline <= our_tli)
	{
		plan_set(out, PGHA_PLAN_WAIT, NULL, 0);
		plan_reason(out, "this node was a primary on timeline %d and the leader \"%s\" is on timeline %d, not a newer one: waiting for its promotion",
					our_tli, cl->leader, m->timeline);
	}
	else if (cd->state == PGHA_DB_SHUT_DOWN &&
			 pgha_cluster_timeline_end(cl, our_tli, &switch_lsn) &&
			 switch_lsn > (int64_t) cd->checkpoint_lsn)
	{
		/*
		 * A clean shutdown whose checkpoint the new timeline contains: the new
		 * leader replayed past it, so nothing diverged (a switchover).
		 */
		plan_set(out, PGHA_PLAN_START_REPLICA, host, port);
		plan_reason(out, "this node was a primary on timeline %d, shut down cleanly at %X/%X, and timeline %d of the leader \"%s\" forked after it (at %X/%X): following it without pg_rewind",
					our_tli, (unsigned int) (cd->checkpoint_lsn >> 32),
					(unsigned int) cd->checkpoint_lsn, our_tli + 1, cl->leader,
					(unsigned int) ((uint64_t) switch_lsn >> 32),
					(unsigned int) switch_lsn);
	}
	else if (!cd->wal_log_hints && cd->checksum_version == 0)
	{
		plan_set(out, PGHA_PLAN_CLONE, host, port);
		plan_reason(out, "this node was a primary on timeline %d, the leader \"%s\" is on timeline %d, and pg_rewind needs wal_log_hints or data checksums: cloning afresh",
					our_tli, cl->leader, m->timeline);
	}
	else
	{
		plan_set(out, PGHA_PLAN_REWIND, host, port);
		plan_reason(out, "this node was %s (%s%s) on timeline %d and the leader \"%s\" is on timeline %d: rewinding from %s:%d",
					in_recovery_state(cd->state) ?
					"stopped by its keeper (a standby on a dead branch, see pgha.fenced)" :
					"a primary",
					pgha_db_state_text(cd->state), node->fenced ? ", fenced" : "",
					our_tli, cl->leader, m->timeline, host, port);
	}
}

void
pgha_node_plan_line(const PghaNodePlan *plan, char *buf, size_t buflen)
{
	const char *hostport = "%s %s %d";

	switch (plan->action)
	{
		case PGHA_PLAN_INITDB:
			snprintf(buf, buflen, "initdb");
			break;
		case PGHA_PLAN_CLONE:
			snprintf(buf, buflen, hostport, "clone", plan->host, plan->port);
			break;
		case PGHA_PLAN_REWIND:
			snprintf(buf, buflen, hostport, "rewind", plan->host, plan->port);
			break;
		case PGHA_PLAN_START_REPLICA:
			if (plan->host[0] == '\0')
				snprintf(buf, buflen, "start-replica - -");
			else
				snprintf(buf, buflen, hostport, "start-replica", plan->host,
						 plan->port);
			break;
		case PGHA_PLAN_RELEASE:
			snprintf(buf, buflen, "release");
			break;
		case PGHA_PLAN_REINIT:
			snprintf(buf, buflen, hostport, "reinit", plan->host, plan->port);
			break;
		case PGHA_PLAN_WAIT:
			snprintf(buf, buflen, "wait %s", plan->reason);
			break;
	}
}

/* ---- the hung-keeper guard ---- */

PghaGuardVerdict
pgha_heartbeat_verdict(const PghaHeartbeat *hb, int64_t postmaster_start_ms,
					   int64_t now_ms, char *why, size_t whylen)
{
	int64_t		running_ms = postmaster_start_ms > 0 ? now_ms - postmaster_start_ms : -1;

	/*
	 * The watchdog removes the file before it starts postgres, so an older
	 * one can only be a copy (clone, rewind).
	 */
	if (hb != NULL && postmaster_start_ms > 0 &&
		hb->written_ms < postmaster_start_ms)
		hb = NULL;

	if (hb == NULL)
	{
		if (running_ms > PGHA_HEARTBEAT_ABSENT_WARN_MS)
		{
			snprintf(why, whylen,
					 "no keeper heartbeat since postgres started %" PRId64 " s ago: is pgha in shared_preload_libraries, and is the keeper running?",
					 running_ms / 1000);
			return PGHA_GUARD_WARN;
		}
		if (running_ms < 0)
			snprintf(why, whylen, "no keeper heartbeat yet (postgres start time unknown)");
		else
			snprintf(why, whylen, "no keeper heartbeat yet (postgres started %" PRId64 " ms ago)",
					 running_ms);
		return PGHA_GUARD_OK;
	}

	if (hb->primary && hb->fence_deadline_ms > 0 &&
		now_ms > hb->fence_deadline_ms + PGHA_GUARD_GRACE_MS)
	{
		snprintf(why, whylen,
				 "keeper heartbeat past its fencing deadline: a primary %" PRId64 " ms past the deadline, heartbeat written %" PRId64 " ms ago (state \"%s\")",
				 now_ms - hb->fence_deadline_ms, now_ms - hb->written_ms, hb->state);
		return PGHA_GUARD_FENCE;
	}
	if (now_ms - hb->written_ms > PGHA_HEARTBEAT_STALE_WARN_MS)
	{
		snprintf(why, whylen,
				 "the keeper's last heartbeat is %" PRId64 " s old (%s, state \"%s\"): is it hung?",
				 (now_ms - hb->written_ms) / 1000,
				 hb->primary ? "primary" : "replica", hb->state);
		return PGHA_GUARD_WARN;
	}
	if (hb->primary && hb->fence_deadline_ms > 0)
		snprintf(why, whylen, "primary, fencing deadline in %" PRId64 " ms (state \"%s\")",
				 hb->fence_deadline_ms - now_ms, hb->state);
	else
		snprintf(why, whylen, "%s%s, heartbeat %" PRId64 " ms old (state \"%s\")",
				 hb->primary ? "primary" : "replica",
				 hb->primary ? " without a fencing deadline" : "",
				 now_ms - hb->written_ms, hb->state);
	return PGHA_GUARD_OK;
}
