/*-------------------------------------------------------------------------
 *
 * decide.c
 *	  The keeper's decision table (see decide.h).
 *
 * Rows are checked top to bottom; the first that matches decides.
 *
 *	 sysid differs from "initialize"         -> foreign cluster: write
 *												nothing, fence a primary
 *	 our name's member key is another live   -> duplicate name: write
 *	 node's (pgha_name_taken)					nothing, fence a primary
 *	 watchdog required but not activated     -> never take or keep the key:
 *												a primary fences, a replica
 *												is no candidate
 *	 primary, leader key absent              -> acquire it
 *	 primary, leader key is ours             -> hold it, publish optime
 *	 primary, leader key is another's        -> fence (safety rule 1)
 *	 in recovery, leader key is ours         -> hold it and promote
 *	 in recovery, leader key is another's    -> replica (follow it)
 *	 in recovery, leader key absent          -> failover: the best candidate
 *												takes the key (rule 2), the
 *												others wait
 *
 * Best candidate (safety rule 2): not tagged nofailover, has WAL, within
 * maximum_lag_on_failover of the last leader optime, and no healthy peer
 * (a live member key of a replica on our timeline, not nofailover) is
 * further ahead; on equal positions the higher failover_priority, then
 * the smaller name wins, so that every replica reaches the same answer.
 * Peers' positions come from their member keys; when the leader goes away
 * every replica rewrites its key at once, and a candidate waits (briefly,
 * see peers_wait_over) until the peers' keys are fresh.
 *
 * Synchronous mode (config synchronous_mode on or strict, safety rule 3):
 * only a member listed in the sync key (or the leader it names) may take
 * the key, automatically or on request; it competes only with the other
 * listed members and has no lag limit, since it has every commit the
 * leader acknowledged.  Without a sync key nobody is promoted.  The
 * leader's side (synchronous_standby_names and the sync key) is in
 * sync_plan.c and keeper_sync.c.
 *
 * Maintenance mode (config "pause"): no automatic failover and no fencing;
 * only a manual failover naming a member is carried out.
 *
 * The failover key (switchover or manual failover, Patroni's format):
 *	 leader, request due, names us as "leader"  -> switchover: stop writes
 *												 (the keeper checks the
 *												 candidate first)
 *	 in recovery, no leader, names us "member"  -> take the key once we have
 *												 the old leader's final WAL
 *												 (status optime), or at once
 *												 for a manual failover
 *	 in recovery, no leader, names another      -> defer to it until
 *												 request_wait_over
 *
 * A primary also writes "initialize" (its system identifier) when the key
 * is absent or still empty (claimed by a bootstrapping watchdog), and
 * "config" when that key is absent: create-if-absent, so the first writer
 * wins.  The keeper writes its cached copy of the config key back
 * (keeper_rebuild.c); only a new cluster gets the bootstrap values.
 *
 * An etcd that lost its keys (issue 9; safety rule 6) is rebuilt by the
 * running leader, not by a replica's race:
 *
 *	 in recovery, no leader, WAL still arrives  -> wait (upstream_alive):
 *	   from a live primary						 the primary takes its key back
 *	 in recovery, the key names us, we did not  -> do not promote; release the
 *	   take it and WAL still arrives				 stale key (an etcd restored
 *												 from an old snapshot)
 *
 * Cold start (the "pgha_final" key: the last leader stopped cleanly and
 * released the key at that position):
 *
 *	 in recovery, no leader, behind it           -> wait for a member that has
 *												 it, or for pghactl failover
 *												 (which says how much WAL the
 *												 promotion gives up)
 *	 in recovery, no leader, has it, it shut    -> take over at once, without
 *	   down, no eligible peer ranks before us	 waiting for the peers'
 *	   (priority, then name)					 positions or for its
 *												 walsender to end
 *	 leader, holds the key                      -> delete "pgha_final"
 *
 *-------------------------------------------------------------------------
 */
#include "decide.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static bool
same_system(const PghaLocalState *local, const PghaCluster *cl)
{
	char		sysid[PGHA_WORD_LEN];

	if (!cl->has_initialize || cl->initialize[0] == '\0')
		return true;
	snprintf(sysid, sizeof(sysid), "%" PRIu64, local->system_identifier);
	return strcmp(sysid, cl->initialize) == 0;
}

static bool
is_primary_role(const char *role)
{
	return strcmp(role, "master") == 0 || strcmp(role, "primary") == 0 ||
		strcmp(role, "demoted") == 0;
}

static bool
names(const char *field, const char *name)
{
	return field[0] != '\0' && strcmp(field, name) == 0;
}

static bool
sync_mode(const PghaCluster *cl)
{
	return cl->config.synchronous_mode != PGHA_SYNC_OFF;
}

/* may peer m take over in our place? (every failover rule's filter) */
static bool
peer_competes(const PghaLocalState *local, const PghaCluster *cl,
			  const PghaMember *m)
{
	if (strcmp(m->name, local->name) == 0 || m->nofailover ||
		m->failover_priority <= 0 || is_primary_role(m->role) ||
		(m->timeline != 0 && m->timeline != local->timeline))
		return false;
	/* in synchronous mode only the sync standbys compete */
	return !sync_mode(cl) || pgha_sync_may_promote(cl, m->name);
}

/* at equal positions: the higher failover priority, then the smaller name */
static bool
peer_ranks_first(const PghaLocalState *local, const PghaMember *m)
{
	if (m->failover_priority != local->failover_priority)
		return m->failover_priority > local->failover_priority;
	return strcmp(m->name, local->name) < 0;
}

/* is peer m a better candidate than we are? */
static bool
peer_is_better(const PghaLocalState *local, const PghaMember *m)
{
	if (m->xlog_location != local->lsn)
		return m->xlog_location > local->lsn;
	return peer_ranks_first(local, m);
}

/* true when the peers' positions say we are the best candidate */
static bool
best_among_peers(const PghaLocalState *local, const PghaCluster *cl,
				 PghaDecision *out)
{
	for (int i = 0; i < cl->nmembers; i++)
	{
		const PghaMember *m = &cl->members[i];

		if (!peer_competes(local, cl, m) || m->xlog_location < 0)
			continue;
		if (m->mod_revision <= local->fresh_after_revision &&
			!local->peers_wait_over)
		{
			out->verdict = PGHA_V_WAIT_PEERS;
			snprintf(out->reason, sizeof(out->reason),
					 "waiting for member \"%s\" to publish its position", m->name);
			return false;
		}
		if (peer_is_better(local, m))
		{
			snprintf(out->reason, sizeof(out->reason),
					 "member \"%s\" is a better candidate (at %" PRId64 ", we are at %" PRId64 ")",
					 m->name, m->xlog_location, local->lsn);
			return false;
		}
	}
	return true;
}

/* the last leader stopped cleanly at a position we have not got */
static bool
behind_final(const PghaLocalState *local, const PghaCluster *cl)
{
	return cl->has_final && local->lsn < cl->final_optime;
}

/*
 * The last leader shut down (its control file said so when it released the
 * key: it writes nothing more) and we have its last WAL record, on its
 * timeline: no member can have more.  The final optime is where that
 * record (the shutdown checkpoint) starts: we have it when we are past it.
 * The key was written after the last leader we saw (in the transaction
 * that deleted its key), not left by an earlier stop (an etcd restored
 * from a snapshot).
 */
static bool
has_everything(const PghaLocalState *local, const PghaCluster *cl)
{
	return cl->has_final && cl->final_shut_down &&
		cl->final_mod_revision > local->fresh_after_revision &&
		local->lsn > cl->final_optime &&
		(cl->final_timeline == 0 || cl->final_timeline == local->timeline);
}

/* a peer that competes ranks before us, whatever its position */
static bool
peer_ranks_before(const PghaLocalState *local, const PghaCluster *cl)
{
	for (int i = 0; i < cl->nmembers; i++)
		if (peer_competes(local, cl, &cl->members[i]) &&
			peer_ranks_first(local, &cl->members[i]))
			return true;
	return false;
}

static void
take_over(const PghaLocalState *local, const PghaCluster *cl,
		  PghaDecision *out, const char *why)
{
	out->verdict = PGHA_V_CANDIDATE;
	out->leader_action = PGHA_LEADER_ACQUIRE;
	out->promote = true;
	if (behind_final(local, cl))
	{
		out->gives_up = cl->final_optime - local->lsn;
		snprintf(out->reason, sizeof(out->reason),
				 "%s at %" PRId64 ", giving up %" PRId64 " bytes acknowledged by the stopped leader \"%.40s\"",
				 why, local->lsn, out->gives_up, cl->final_leader);
	}
	else
		snprintf(out->reason, sizeof(out->reason), "%s at %" PRId64, why, local->lsn);
}

static void
decide_failover(const PghaLocalState *local, const PghaCluster *cl,
				PghaDecision *out)
{
	int64_t		max_lag = cl->config_valid ? cl->config.maximum_lag_on_failover
		: 1048576;
	const PghaFailover *req = cl->has_failover && local->request_due ?
		&cl->failover : NULL;
	bool		named = req != NULL && names(req->member, local->name);

	out->refresh_member = true;
	out->verdict = PGHA_V_NOT_CANDIDATE;
	if (local->lsn <= 0)
	{
		snprintf(out->reason, sizeof(out->reason), "has received no WAL");
		return;
	}

	/*
	 * Synchronous mode (safety rule 3): only a member the sync key lists has
	 * every acknowledged commit, whoever asks.
	 */
	if (sync_mode(cl) && !pgha_sync_may_promote(cl, local->name))
	{
		snprintf(out->reason, sizeof(out->reason),
				 "synchronous mode: not a synchronous standby (sync key: %s)",
				 !cl->has_sync ? "absent" : cl->sync.nmembers > 0 ?
				 cl->sync.members[0] : "none listed");
		return;
	}

	/* a switchover or manual failover naming us */
	if (named)
	{
		bool		switchover = req->leader[0] != '\0';

		if (!switchover || !cl->has_optime || local->lsn > cl->optime ||
			local->request_wait_over)
			take_over(local, cl, out, switchover ? "the switchover candidate"
					  : "the manual failover candidate");
		else
		{
			out->verdict = PGHA_V_WAIT_PEERS;
			snprintf(out->reason, sizeof(out->reason),
					 "switchover: waiting for the old leader's final WAL (%" PRId64 ", we are at %" PRId64 ")",
					 cl->optime, local->lsn);
		}
		return;
	}
	if (req != NULL && req->member[0] != '\0' && !local->request_wait_over)
	{
		snprintf(out->reason, sizeof(out->reason),
				 "member \"%s\" is taking over (%s)", req->member,
				 req->leader[0] ? "switchover" : "manual failover");
		return;
	}

	if (cl->config.pause)
	{
		out->verdict = PGHA_V_PAUSED;
		snprintf(out->reason, sizeof(out->reason),
				 "paused: no automatic failover");
		return;
	}
	if (local->nofailover)
	{
		snprintf(out->reason, sizeof(out->reason), "tagged nofailover");
		return;
	}
	/*
	 * A clean stop: the first-ranked member with all of the stopped
	 * leader's WAL takes over at once, without waiting for the peers to
	 * publish their positions (none can have more).  The others rank the
	 * peers by position as below.  It does not wait for its WAL receiver
	 * to end either: the stopped leader's walsender still sends for
	 * 0.3-0.5 s after its shutdown checkpoint, but that record is the last
	 * it will ever write, and we have it.
	 */
	if (has_everything(local, cl) && !peer_ranks_before(local, cl))
	{
		take_over(local, cl, out, "has the stopped leader's last WAL record");
		return;
	}
	if (local->upstream_alive)
	{
		/* a quick recheck: the primary may be going down (a clean stop) */
		out->verdict = PGHA_V_WAIT_PEERS;
		snprintf(out->reason, sizeof(out->reason),
				 "no leader key, but WAL still arrives from a live primary: waiting for it to take the key back");
		return;
	}
	if (behind_final(local, cl))
	{
		snprintf(out->reason, sizeof(out->reason),
				 "leader \"%.40s\" stopped cleanly %" PRId64 " bytes ahead of us: waiting for a member with its WAL, or pghactl failover",
				 cl->final_leader, cl->final_optime - local->lsn);
		return;
	}
	/* a synchronous standby has every acknowledged commit: no lag check */
	if (!sync_mode(cl) && cl->has_optime && max_lag >= 0 &&
		cl->optime - local->lsn > max_lag)
	{
		snprintf(out->reason, sizeof(out->reason),
				 "%" PRId64 " bytes behind the last leader position, more than maximum_lag_on_failover (%" PRId64 ")",
				 cl->optime - local->lsn, max_lag);
		return;
	}
	if (best_among_peers(local, cl, out))
		take_over(local, cl, out, "the best candidate");
}

const PghaMember *
pgha_name_taken(const PghaCluster *cl, const char *name, int64_t own_lease,
				const char *own_instance)
{
	const PghaMember *m = pgha_cluster_find_member(cl, name);

	if (m == NULL || m->lease == 0)
		return NULL;			/* absent, or on no lease: not a live node */
	if (own_lease != 0 && m->lease == own_lease)
		return NULL;
	if (own_instance != NULL && own_instance[0] != '\0' &&
		strcmp(m->instance, own_instance) == 0)
		return NULL;			/* our own previous life */
	return m;
}

void
pgha_name_taken_reason(const PghaMember *m, char *buf, size_t buflen)
{
	snprintf(buf, buflen, "member name \"%s\" is used by a live member at %s",
			 m->name, m->conn_url[0] ? m->conn_url : "an unknown address");
}

static void
decide_table(const PghaLocalState *local, const PghaCluster *cl,
			 PghaDecision *out)
{
	const PghaMember *other;

	memset(out, 0, sizeof(*out));
	out->leader_action = PGHA_LEADER_NONE;
	/* the leader (re)creates it: from its cache, or bootstrap values */
	out->write_config = !cl->has_config && !local->in_recovery;

	/* safety rule 6: write nothing, hold nothing, fence a primary */
	if (!same_system(local, cl))
	{
		char		sysid[PGHA_WORD_LEN];

		snprintf(sysid, sizeof(sysid), "%" PRIu64, local->system_identifier);
		out->verdict = PGHA_V_FOREIGN_CLUSTER;
		out->write_config = false;
		snprintf(out->reason, sizeof(out->reason),
				 "system identifier %s differs from the cluster's %s (initialize key): another cluster's node",
				 sysid, cl->initialize);
		return;
	}
	other = pgha_name_taken(cl, local->name, local->lease, local->instance);
	if (other != NULL)
	{
		out->verdict = PGHA_V_DUPLICATE_NAME;
		out->write_config = false;
		pgha_name_taken_reason(other, out->reason, sizeof(out->reason));
		return;
	}

	if (local->in_recovery)
	{
		if (!cl->has_leader)
			decide_failover(local, cl, out);
		else if (strcmp(cl->leader, local->name) == 0 &&
				 local->upstream_alive && !local->promote_started)
		{
			/*
			 * We did not take this key and our primary is alive: an etcd
			 * restored from an old snapshot names us.  Promoting would fork
			 * off a live primary (safety rules 1 and 4).
			 */
			out->verdict = PGHA_V_NOT_CANDIDATE;
			out->release_stale_leader = true;
			snprintf(out->reason, sizeof(out->reason),
					 "the leader key names us, but we did not take it and WAL still arrives from a live primary: releasing it");
		}
		else if (strcmp(cl->leader, local->name) == 0)
		{
			out->verdict = PGHA_V_PROMOTING;
			out->leader_action = PGHA_LEADER_HOLD;
			out->promote = true;
		}
		else
			out->verdict = PGHA_V_REPLICA;
		return;
	}

	out->write_initialize = !cl->has_initialize || cl->initialize[0] == '\0';
	if (!cl->has_leader)
	{
		out->verdict = PGHA_V_LEADER;
		out->leader_action = PGHA_LEADER_ACQUIRE;
		out->publish_optime = true;
	}
	else if (strcmp(cl->leader, local->name) == 0)
	{
		out->verdict = PGHA_V_LEADER;
		out->leader_action = PGHA_LEADER_HOLD;
		out->publish_optime = true;
		out->clear_final = cl->has_final;
		if (cl->has_failover && local->request_due &&
			(cl->failover.leader[0] == '\0' || names(cl->failover.leader, local->name)) &&
			!names(cl->failover.member, local->name))
		{
			out->verdict = PGHA_V_SWITCHOVER;
			snprintf(out->reason, sizeof(out->reason), "switchover to %s",
					 cl->failover.member[0] ? cl->failover.member : "the best replica");
		}
	}
	else if (cl->config.pause)
	{
		out->verdict = PGHA_V_PAUSED;
		snprintf(out->reason, sizeof(out->reason),
				 "paused: member \"%s\" holds the leader key, this primary is not fenced",
				 cl->leader);
	}
	else
	{
		out->verdict = PGHA_V_FENCE;
		snprintf(out->reason, sizeof(out->reason),
				 "member \"%s\" holds the leader key", cl->leader);
	}
}

/*
 * pgha.watchdog_mode = required and the device could not be activated:
 * whatever the table said, take and keep no leader key (Patroni: "Demoting
 * self because watchdog could not be activated").  Maintenance mode keeps
 * the primary as it is, as for every other fence.
 */
static void
watchdog_veto(const PghaLocalState *local, const PghaCluster *cl,
			  PghaDecision *out)
{
	const char *why = local->watchdog_problem ? local->watchdog_problem
		: "the watchdog device could not be activated";

	if (!local->watchdog_blocks || out->leader_action == PGHA_LEADER_NONE)
		return;
	out->leader_action = PGHA_LEADER_NONE;
	out->promote = false;
	out->publish_optime = false;
	if (local->in_recovery)
		out->verdict = cl->has_leader ? PGHA_V_REPLICA : PGHA_V_NOT_CANDIDATE;
	else
		out->verdict = cl->config.pause ? PGHA_V_PAUSED : PGHA_V_FENCE;
	snprintf(out->reason, sizeof(out->reason),
			 "pgha.watchdog_mode is required: %s; not leading", why);
}

void
pgha_decide(const PghaLocalState *local, const PghaCluster *cl,
			PghaDecision *out)
{
	decide_table(local, cl, out);
	watchdog_veto(local, cl, out);
}

const char *
pgha_verdict_text(PghaVerdict v)
{
	switch (v)
	{
		case PGHA_V_LEADER:
			return "leading";
		case PGHA_V_REPLICA:
			return "following";
		case PGHA_V_PROMOTING:
			return "promoting";
		case PGHA_V_CANDIDATE:
			return "taking over";
		case PGHA_V_WAIT_PEERS:
			return "no leader, waiting for peers";
		case PGHA_V_NOT_CANDIDATE:
			return "no leader";
		case PGHA_V_FENCE:
			return "fencing";
		case PGHA_V_SWITCHOVER:
			return "switching over";
		case PGHA_V_PAUSED:
			return "paused";
		case PGHA_V_FOREIGN_CLUSTER:
			return "system identifier differs from the cluster's";
		case PGHA_V_DUPLICATE_NAME:
			return "member name used by another live member";
	}
	return "unknown";
}
