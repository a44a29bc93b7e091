/*-------------------------------------------------------------------------
 *
 * switchover.c
 *	  The checks before a switchover or manual failover (see switchover.h).
 *
 * A candidate must be a running replica on the leader's timeline, not
 * tagged nofailover, in synchronous mode listed in the sync key, and
 * otherwise within maximum_lag_on_failover of the leader's
 * last published position (the status key), as in Patroni.  Without a
 * named candidate, the most advanced such replica is chosen (ties: higher
 * failover_priority, then the smaller name), the rule automatic failover
 * uses.  On the leader, pgha_switchover_freshen() first replaces the
 * replicas' published positions by what its walsenders see; on a replica,
 * pgha_switchover_freshen_replica() its own by what its WAL receiver has.
 *
 *-------------------------------------------------------------------------
 */
#include "switchover.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static void set(PghaSwitchoverCheck *out, PghaSwitchoverError e,
				const char *msg, const char *hint, const char *fmt,...)
			__attribute__((format(printf, 5, 6)));

static void
set(PghaSwitchoverCheck *out, PghaSwitchoverError e, const char *msg,
	const char *hint, const char *fmt,...)
{
	va_list		ap;

	out->error = e;
	snprintf(out->message, sizeof(out->message), "%s", msg);
	snprintf(out->hint, sizeof(out->hint), "%s", hint ? hint : "");
	va_start(ap, fmt);
	vsnprintf(out->detail, sizeof(out->detail), fmt, ap);
	va_end(ap);
}

static int64_t
lag_of(const PghaCluster *cl, const PghaMember *m)
{
	if (!cl->has_optime || m->xlog_location < 0)
		return m->xlog_location < 0 ? INT64_MAX : 0;
	return cl->optime > m->xlog_location ? cl->optime - m->xlog_location : 0;
}

/* why m cannot take over, or PGHA_SW_OK */
static PghaSwitchoverError
unfit(const PghaCluster *cl, const PghaMember *m, int leader_tl, char *why,
	  size_t len)
{
	int64_t		max_lag = cl->config_valid ? cl->config.maximum_lag_on_failover
		: 1048576;
	int64_t		lag = lag_of(cl, m);

	if (m->nofailover || m->failover_priority <= 0)
	{
		snprintf(why, len, "Member \"%s\" is tagged nofailover%s.", m->name,
				 m->nofailover ? "" : " (failover_priority 0)");
		return PGHA_SW_NOFAILOVER;
	}
	if (strcmp(m->role, "replica") != 0 || strcmp(m->state, "running") != 0 ||
		(leader_tl > 0 && m->timeline != leader_tl))
	{
		snprintf(why, len, "Member \"%s\" is not a running replica on timeline %d (role %s, state %s, timeline %d).",
				 m->name, leader_tl, m->role[0] ? m->role : "unknown",
				 m->state[0] ? m->state : "unknown", m->timeline);
		return PGHA_SW_NOT_HEALTHY;
	}
	if (cl->config.synchronous_mode != PGHA_SYNC_OFF &&
		!pgha_sync_may_promote(cl, m->name))
	{
		snprintf(why, len, "Member \"%s\" is not a synchronous standby, and the cluster is in synchronous mode.",
				 m->name);
		return PGHA_SW_NOT_SYNC;
	}
	if (cl->config.synchronous_mode == PGHA_SYNC_OFF && max_lag >= 0 &&
		lag > max_lag)
	{
		if (lag == INT64_MAX)
			snprintf(why, len, "Member \"%s\" publishes no WAL position.", m->name);
		else
			snprintf(why, len, "Member \"%s\" is %" PRId64 " bytes behind the leader; maximum_lag_on_failover is %" PRId64 ".",
					 m->name, lag, max_lag);
		return PGHA_SW_LAGGING;
	}
	return PGHA_SW_OK;
}

static bool
better(const PghaMember *a, const PghaMember *b)
{
	if (a->xlog_location != b->xlog_location)
		return a->xlog_location > b->xlog_location;
	if (a->failover_priority != b->failover_priority)
		return a->failover_priority > b->failover_priority;
	return strcmp(a->name, b->name) < 0;
}

void
pgha_switchover_check(const PghaCluster *cl, const char *candidate,
					  bool failover, bool force, PghaSwitchoverCheck *out)
{
	const PghaMember *leader = cl->has_leader ?
		pgha_cluster_find_member(cl, cl->leader) : NULL;
	int			leader_tl = leader ? leader->timeline : 0;
	const PghaMember *best = NULL;
	char		why[256];

	memset(out, 0, sizeof(*out));
	if (!failover && leader == NULL)
	{
		set(out, PGHA_SW_NO_LEADER, "the cluster has no healthy leader to switch over from",
			"Use pgha_failover() (pghactl failover) to promote a replica.",
			cl->has_leader ? "The leader key names \"%s\", which has no member key."
			: "No member holds the leader key.", cl->leader);
		return;
	}
	if (failover && leader != NULL && !force)
	{
		set(out, PGHA_SW_HAS_LEADER, "the cluster has a healthy leader",
			"Use pgha_switchover() for a planned change of leader, or force the failover.",
			"Member \"%s\" holds the leader key.", cl->leader);
		return;
	}
	if (!failover && cl->config.pause)
	{
		set(out, PGHA_SW_PAUSED, "the cluster is paused",
			"Resume it first with pgha_resume() (pghactl resume).",
			"No switchover happens in maintenance mode.");
		return;
	}

	if (candidate != NULL && candidate[0] != '\0')
	{
		const PghaMember *m = pgha_cluster_find_member(cl, candidate);

		if (m == NULL)
		{
			set(out, PGHA_SW_UNKNOWN_CANDIDATE, "unknown candidate",
				"pgha_members() lists the members.",
				"No member named \"%s\" is registered in the cluster.", candidate);
			return;
		}
		if (cl->has_leader && strcmp(cl->leader, candidate) == 0)
		{
			set(out, PGHA_SW_CANDIDATE_IS_LEADER, "the candidate is the current leader",
				"Name a replica, or none to let pgha choose.",
				"Member \"%s\" already holds the leader key.", candidate);
			return;
		}
		out->error = unfit(cl, m, leader_tl, why, sizeof(why));
		if (out->error != PGHA_SW_OK)
		{
			set(out, out->error, "the candidate cannot take over", NULL, "%s", why);
			return;
		}
		snprintf(out->chosen, sizeof(out->chosen), "%s", m->name);
		return;
	}

	for (int i = 0; i < cl->nmembers; i++)
	{
		const PghaMember *m = &cl->members[i];

		if ((cl->has_leader && strcmp(m->name, cl->leader) == 0) ||
			unfit(cl, m, leader_tl, why, sizeof(why)) != PGHA_SW_OK)
			continue;
		if (best == NULL || better(m, best))
			best = m;
	}
	if (best == NULL)
	{
		set(out, PGHA_SW_NO_CANDIDATE, "no replica can take over",
			"pgha_members() shows the members' state and lag.",
			cl->config.synchronous_mode != PGHA_SYNC_OFF ?
			"No member is a running synchronous standby that is not tagged nofailover." :
			"No member is a running replica within maximum_lag_on_failover that is not tagged nofailover.");
		return;
	}
	snprintf(out->chosen, sizeof(out->chosen), "%s", best->name);
}

/* where timeline tl began: where tl - 1 ended (history key); -1 if unknown */
static int64_t
timeline_start(const PghaCluster *cl, int tl)
{
	if (tl <= 1)
		return 0;
	for (int i = 0; i < cl->nhistory_tail; i++)
		if (cl->history_tail_tl[i] == tl - 1)
			return cl->history_tail_lsn[i];
	return -1;
}

static PghaMember *
member_named(PghaCluster *cl, const char *name)
{
	for (int i = 0; i < cl->nmembers; i++)
		if (strcasecmp(cl->members[i].name, name) == 0)
			return &cl->members[i];
	return NULL;
}

void
pgha_switchover_freshen(PghaCluster *cl, const char *me, int my_timeline,
						int64_t my_lsn, const PghaSyncPeer *peers, int npeers)
{
	PghaMember *self;
	int64_t		start;

	if (!cl->has_leader || strcmp(cl->leader, me) != 0 || my_timeline <= 0)
		return;
	self = member_named(cl, me);
	if (self != NULL)
	{
		self->timeline = my_timeline;
		if (my_lsn > self->xlog_location)
			self->xlog_location = my_lsn;
	}
	start = timeline_start(cl, my_timeline);
	for (int i = 0; i < npeers; i++)
	{
		PghaMember *m;

		if (!peers[i].streaming || strcasecmp(peers[i].name, me) == 0 ||
			(m = member_named(cl, peers[i].name)) == NULL)
			continue;
		if (peers[i].flush > m->xlog_location)
			m->xlog_location = peers[i].flush;
		if (m->timeline != my_timeline && start >= 0 && peers[i].flush > start)
			m->timeline = my_timeline;
	}
}

void
pgha_switchover_freshen_replica(PghaCluster *cl, const char *me, bool streaming,
								int received_tl, int64_t flush)
{
	PghaMember *self;
	PghaMember *leader;

	if (!cl->has_leader || strcmp(cl->leader, me) == 0 || !streaming ||
		received_tl <= 0 || (self = member_named(cl, me)) == NULL)
		return;
	if (received_tl > self->timeline)
		self->timeline = received_tl;
	if (flush > self->xlog_location)
		self->xlog_location = flush;
	leader = member_named(cl, cl->leader);
	if (leader != NULL && received_tl > leader->timeline)
		leader->timeline = received_tl;
}
