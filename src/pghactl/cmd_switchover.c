/*-------------------------------------------------------------------------
 *
 * cmd_switchover.c
 *	  pghactl switchover and failover: requests written to the failover
 *	  key, as patronictl writes it when it cannot reach a REST api.
 *
 * A switchover hands the leader key from a healthy leader to a replica; a
 * manual failover promotes a replica when there is no healthy leader (or,
 * forced, even when there is).  Either way pghactl checks the candidate
 * with the rules the keeper applies (switchover.c), writes
 * {"leader":..,"member":..[,"scheduled_at":..]} with a compare-and-swap on
 * the key's mod_revision, so that a pending request of someone else is
 * never overwritten, and then waits for the leader key to move, as
 * Patroni's REST api does.  The keepers carry the request out, whoever
 * wrote it.  "switchover --cancel" withdraws a pending request the way
 * patronictl flush does: it writes {} over it, guarded by its
 * mod_revision.
 *
 *-------------------------------------------------------------------------
 */
#include "pghactl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isotime.h"
#include "switchover.h"

#define WRITE_ATTEMPTS	3

/* "switchover from "pg1" to "pg2" at TIME", for messages */
static void
describe(const PghaFailover *f, char *buf, size_t len)
{
	size_t		n;

	n = snprintf(buf, len, "%s", f->leader[0] ? "switchover" : "failover");
	if (f->leader[0] && n < len)
		n += snprintf(buf + n, len - n, " from \"%s\"", f->leader);
	if (n < len)
		n += snprintf(buf + n, len - n, " to %s%s%s",
					  f->member[0] ? "\"" : "",
					  f->member[0] ? f->member : "the best candidate",
					  f->member[0] ? "\"" : "");
	if (f->scheduled_at[0] && n < len)
		snprintf(buf + n, len - n, " scheduled at %s", f->scheduled_at);
}

static int
refuse_pending(const char *action, const PghaFailover *pending)
{
	char		what[256];
	char		detail[320];
	char		refused[64];

	describe(pending, what, sizeof(what));
	snprintf(detail, sizeof(detail), "The failover key holds a %s.", what);
	snprintf(refused, sizeof(refused), "%s refused", action);
	pghactl_refuse(refused, "another request is pending", detail,
				   "Wait for it to be carried out, or withdraw it with \"pghactl switchover --cancel\".");
	return PGHACTL_EXIT_REFUSED;
}

/*
 * Write req into the failover key if its mod_revision is still the one
 * read (0: absent).  A keeper clearing the key to {} in between is a lost
 * race worth retrying; a request written in between is refused.
 */
static int
write_request(const PghactlSettings *st, EtcdClient *client, const char *key,
			  int64_t mod_revision, const PghaFailover *req, const char *action)
{
	char	   *value = pgha_failover_to_json(req);
	int			rc = -1;
	int			attempt;

	if (value == NULL)
	{
		fprintf(stderr, "pghactl: out of memory\n");
		return PGHACTL_EXIT_ETCD;
	}
	for (attempt = 1; attempt <= WRITE_ATTEMPTS && rc < 0; attempt++)
	{
		EtcdTxnResult txn;
		EtcdError	err;
		PghaFailover current;
		char		why[PGHA_ERR_LEN];

		memset(&txn, 0, sizeof(txn));
		if (etcd_cas_mod(client, key, mod_revision, value, 0, &txn, &err) != ETCD_OK)
		{
			rc = pghactl_report_etcd(st, &err);
			if (err.status == ETCD_ERR_TIMEOUT)
				fprintf(stderr, "pghactl: the request may or may not have been written: \"pghactl switchover --cancel\" shows and withdraws a pending one\n");
		}
		else if (txn.succeeded)
			rc = PGHACTL_EXIT_OK;
		else if (txn.current.count > 0 &&
				 strlen(txn.current.kvs[0].value) == txn.current.kvs[0].value_len &&
				 pgha_failover_from_json(txn.current.kvs[0].value, &current, why, sizeof(why)) &&
				 !pgha_failover_empty(&current))
			rc = refuse_pending(action, &current);
		else
			mod_revision = txn.current.count > 0 ? txn.current.kvs[0].mod_revision : 0;
		etcd_txn_result_free(&txn);
	}
	free(value);
	if (rc < 0)
	{
		fprintf(stderr, "pghactl: the failover key changed %d times while writing it; nothing written, try again\n",
				WRITE_ATTEMPTS);
		rc = PGHACTL_EXIT_REFUSED;
	}
	return rc;
}

/* a client, the prefix, the failover key's name and the model */
typedef struct Session
{
	EtcdClient *client;
	char		prefix[PGHACTL_PREFIX_LEN];
	char		key[PGHACTL_PREFIX_LEN + 16];
	PghaCluster *cl;
} Session;

static int
open_session(const PghactlSettings *st, Session *s)
{
	EtcdKVList	kvs;
	int			rc;

	memset(s, 0, sizeof(*s));
	if ((rc = pghactl_prefix(st, s->prefix, sizeof(s->prefix))) != PGHACTL_EXIT_OK)
		return rc;
	snprintf(s->key, sizeof(s->key), "%sfailover", s->prefix);
	s->cl = malloc(sizeof(PghaCluster));
	if (s->cl == NULL)
	{
		fprintf(stderr, "pghactl: out of memory\n");
		return PGHACTL_EXIT_ETCD;
	}
	s->client = pghactl_client(st, &rc);
	if (s->client == NULL)
		return rc;
	rc = pghactl_read_cluster(st, s->client, s->prefix, &kvs, s->cl);
	etcd_kvlist_free(&kvs);
	return rc;
}

static void
close_session(Session *s)
{
	if (s->client != NULL)
		pghactl_client_done(s->client);
	free(s->cl);
	fflush(stdout);
}

/* patronictl shows the members before it asks */
static bool
confirm(const PghactlSettings *st, const char *question)
{
	printf("Current cluster topology\n");
	(void) pghactl_cmd_list(st, NULL);
	return pghactl_confirm(question);
}

static int
cancel_request(const PghactlSettings *st)
{
	Session		s;
	EtcdTxnResult txn;
	EtcdError	err;
	char		what[256];
	int			rc;

	if ((rc = open_session(st, &s)) != PGHACTL_EXIT_OK)
	{
		close_session(&s);
		return rc;
	}
	if (!s.cl->has_failover)
	{
		printf("No pending switchover or failover request\n");
		close_session(&s);
		return PGHACTL_EXIT_OK;
	}
	describe(&s.cl->failover, what, sizeof(what));

	/* {} as Patroni leaves it, not a delete: the key's history stays readable */
	memset(&txn, 0, sizeof(txn));
	if (etcd_cas_mod(s.client, s.key, s.cl->failover_mod_revision, "{}", 0,
					 &txn, &err) != ETCD_OK)
		rc = pghactl_report_etcd(st, &err);
	else if (txn.succeeded)
	{
		printf("Success: %s deleted\n", what);
		rc = PGHACTL_EXIT_OK;
	}
	else
	{
		char		detail[512];

		snprintf(detail, sizeof(detail), "It now holds %s.",
				 txn.current.count > 0 ? txn.current.kvs[0].value : "nothing (deleted)");
		pghactl_refuse("switchover --cancel",
					   "the failover key changed while cancelling; nothing written",
					   detail, "Run the command again to see what is pending now.");
		rc = PGHACTL_EXIT_REFUSED;
	}
	etcd_txn_result_free(&txn);
	close_session(&s);
	return rc;
}

int
pghactl_cmd_switchover(const PghactlSettings *st, const PghactlArgs *args)
{
	const char *scope = pghactl_conf_get(st, PS_SCOPE);
	int			timeout = args->timeout > 0 ? args->timeout : PGHACTL_DEFAULT_WAIT_S;
	bool		scheduled = args->scheduled != NULL && strcmp(args->scheduled, "now") != 0;
	PghaTimestamp when;
	PghaSwitchoverCheck chk;
	PghaFailover req;
	Session		s;
	char		question[512];
	char		ts[40];
	int			rc;

	if (args->cancel)
	{
		if (args->leader || args->candidate || args->scheduled)
		{
			fprintf(stderr, "pghactl: --cancel takes no --leader, --candidate or --scheduled\n");
			return PGHACTL_EXIT_USAGE;
		}
		return cancel_request(st);
	}

	memset(&req, 0, sizeof(req));
	if (scheduled)
	{
		PghaTimestamp now;
		char		err[256];

		if (!pgha_parse_isotime(args->scheduled, &when, err, sizeof(err)))
		{
			fprintf(stderr, "pghactl: --scheduled: %s\n", err);
			return PGHACTL_EXIT_USAGE;
		}
		pgha_isotime_now(&now);
		pgha_format_isotime(&when, req.scheduled_at, sizeof(req.scheduled_at));
		if (when.epoch_us <= now.epoch_us)
		{
			char		now_text[PGHA_ISOTIME_LEN];
			char		detail[256];

			now.epoch_us -= now.epoch_us % 1000000;
			pgha_format_isotime(&now, now_text, sizeof(now_text));
			snprintf(detail, sizeof(detail), "%s is before the current time, %s.",
					 req.scheduled_at, now_text);
			pghactl_refuse("switchover refused", "the scheduled time is in the past",
						   detail, "Give a later time, or none for a switchover now.");
			return PGHACTL_EXIT_REFUSED;
		}
	}

	if ((rc = open_session(st, &s)) != PGHACTL_EXIT_OK)
	{
		close_session(&s);
		return rc;
	}

	rc = PGHACTL_EXIT_REFUSED;
	if (args->leader != NULL && s.cl->has_leader &&
		strcmp(args->leader, s.cl->leader) != 0)
	{
		char		detail[256];

		snprintf(detail, sizeof(detail), "Member \"%s\" holds the leader key of cluster \"%s\".",
				 s.cl->leader, scope);
		pghactl_refuse("switchover refused", "the member given with --leader is not the leader",
					   detail, NULL);
		goto done;
	}
	pgha_switchover_check(s.cl, args->candidate, false, false, &chk);
	if (chk.error != PGHA_SW_OK)
	{
		pghactl_refuse("switchover refused", chk.message, chk.detail, chk.hint);
		goto done;
	}
	if (s.cl->has_failover)
	{
		rc = refuse_pending("switchover", &s.cl->failover);
		goto done;
	}

	/*
	 * Without --candidate the member is left out, as patronictl does: the
	 * leader's keeper picks the best replica when it acts, which for a
	 * scheduled switchover may be hours from now.
	 */
	snprintf(req.leader, sizeof(req.leader), "%s", s.cl->leader);
	if (args->candidate != NULL)
		snprintf(req.member, sizeof(req.member), "%s", args->candidate);

	if (!args->force && pghactl_interactive())
	{
		if (scheduled)
			snprintf(question, sizeof(question),
					 "Are you sure you want to schedule switchover of cluster %s at %s, demoting current leader %s?",
					 scope, req.scheduled_at, req.leader);
		else
			snprintf(question, sizeof(question),
					 "Are you sure you want to switchover cluster %s, demoting current leader %s?",
					 scope, req.leader);
		if (!confirm(st, question))
		{
			fprintf(stderr, "pghactl: aborting %sswitchover\n", scheduled ? "scheduled " : "");
			rc = PGHACTL_EXIT_ABORTED;
			goto done;
		}
	}

	rc = write_request(st, s.client, s.key, s.cl->failover_mod_revision, &req,
					   "switchover");
	if (rc != PGHACTL_EXIT_OK)
		goto done;
	pghactl_timestamp(ts, sizeof(ts));
	if (scheduled)
	{
		printf("%s Switchover scheduled at %s: from \"%s\" to %s%s%s\n", ts,
			   req.scheduled_at, req.leader,
			   req.member[0] ? "\"" : "",
			   req.member[0] ? req.member : "the best candidate at that time",
			   req.member[0] ? "\"" : "");
		goto done;
	}
	printf("%s Switchover requested: from \"%s\" to %s%s%s; waiting up to %d s for the new leader\n",
		   ts, req.leader, req.member[0] ? "\"" : "",
		   req.member[0] ? req.member : "the best candidate",
		   req.member[0] ? "\"" : "", timeout);
	fflush(stdout);
	rc = pghactl_wait_new_leader(st, s.client, s.prefix, "switchover", req.leader,
								 args->candidate, timeout);

done:
	close_session(&s);
	return rc;
}

int
pghactl_cmd_failover(const PghactlSettings *st, const PghactlArgs *args)
{
	const char *scope = pghactl_conf_get(st, PS_SCOPE);
	int			timeout = args->timeout > 0 ? args->timeout : PGHACTL_DEFAULT_WAIT_S;
	PghaSwitchoverCheck chk;
	PghaFailover req;
	Session		s;
	char		old_leader[PGHA_NAME_LEN] = "";
	char		question[512];
	char		ts[40];
	int			rc;

	if ((rc = open_session(st, &s)) != PGHACTL_EXIT_OK)
	{
		close_session(&s);
		return rc;
	}
	rc = PGHACTL_EXIT_REFUSED;
	pgha_switchover_check(s.cl, args->candidate, true, args->force, &chk);
	if (chk.error != PGHA_SW_OK)
	{
		pghactl_refuse("failover refused", chk.message, chk.detail, chk.hint);
		goto done;
	}
	if (s.cl->has_failover)
	{
		rc = refuse_pending("failover", &s.cl->failover);
		goto done;
	}

	/*
	 * A failover names its member (Patroni's keepers take a failover only
	 * to a specific candidate), and names the leader only when a healthy
	 * one is demoted by force.
	 */
	memset(&req, 0, sizeof(req));
	snprintf(req.member, sizeof(req.member), "%s", chk.chosen);
	if (s.cl->has_leader)
	{
		snprintf(old_leader, sizeof(old_leader), "%s", s.cl->leader);
		if (pgha_cluster_find_member(s.cl, s.cl->leader) != NULL)
			snprintf(req.leader, sizeof(req.leader), "%s", s.cl->leader);
	}

	if (!args->force && pghactl_interactive())
	{
		snprintf(question, sizeof(question),
				 "Are you sure you want to failover cluster %s%s%s?", scope,
				 req.leader[0] ? ", demoting current leader " : "", req.leader);
		if (!confirm(st, question))
		{
			fprintf(stderr, "pghactl: aborting failover\n");
			rc = PGHACTL_EXIT_ABORTED;
			goto done;
		}
	}

	rc = write_request(st, s.client, s.key, s.cl->failover_mod_revision, &req,
					   "failover");
	if (rc != PGHACTL_EXIT_OK)
		goto done;
	pghactl_timestamp(ts, sizeof(ts));
	printf("%s Failover requested: to \"%s\"; waiting up to %d s for the new leader\n",
		   ts, req.member, timeout);
	fflush(stdout);
	rc = pghactl_wait_new_leader(st, s.client, s.prefix, "failover", old_leader,
								 req.member, timeout);

done:
	close_session(&s);
	return rc;
}
