/*-------------------------------------------------------------------------
 *
 * ops.c
 *	  Pieces shared by pghactl's operator commands (pause, switchover,
 *	  failover, history, remove, edit-config): one read of the cluster
 *	  with a client the command keeps, the confirmation prompts, and the
 *	  wait for a new leader after a switchover or failover request.
 *
 * Prompts are patronictl's (click's): the question on stdout, the answer a
 * line of stdin.  Commands ask only when stdin is a terminal; a script
 * gives --force (or remove's --confirm) instead, and its exit status says
 * what happened without parsing messages.
 *
 *-------------------------------------------------------------------------
 */
#include "pghactl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "ctl_logic.h"

#define POLL_INTERVAL_MS	100
/* what the last read of a wait has left before --timeout ends */
#define POLL_READ_MS		300

int
pghactl_read_cluster(const PghactlSettings *st, EtcdClient *client,
					 const char *prefix, EtcdKVList *kvs, PghaCluster *cl)
{
	EtcdError	err;

	memset(kvs, 0, sizeof(*kvs));
	if (etcd_get_prefix(client, prefix, kvs, &err) != ETCD_OK)
		return pghactl_report_etcd(st, &err);
	if (kvs->count == 0)
	{
		fprintf(stderr, "pghactl: cluster \"%s\" not found: no keys under %s in etcd\n",
				pghactl_conf_get(st, PS_SCOPE), prefix);
		return PGHACTL_EXIT_NOT_FOUND;
	}
	if (cl != NULL)
		pgha_cluster_from_kvs(prefix, kvs, cl);
	return PGHACTL_EXIT_OK;
}

bool
pghactl_interactive(void)
{
	return isatty(STDIN_FILENO) == 1;
}

/* one line of stdin without its newline; false on EOF */
static bool
read_line(char *buf, size_t len)
{
	size_t		n;

	fflush(stdout);
	if (fgets(buf, (int) len, stdin) == NULL)
	{
		buf[0] = '\0';
		printf("\n");
		return false;
	}
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	else
	{
		int			c;

		/* an overlong answer: drop the rest of the line */
		while ((c = getchar()) != EOF && c != '\n')
			;
	}
	return true;
}

bool
pghactl_confirm(const char *question)
{
	char		answer[64];
	int			yes;

	for (;;)
	{
		printf("%s [y/N]: ", question);
		if (!read_line(answer, sizeof(answer)))
			return false;
		yes = pgha_parse_yes_no(answer);
		if (yes >= 0)
			return yes == 1;
		printf("Error: invalid input\n");
	}
}

bool
pghactl_prompt(const char *question, char *answer, size_t len)
{
	printf("%s: ", question);
	return read_line(answer, len);
}

void
pghactl_timestamp(char *buf, size_t len)
{
	struct timeval tv;
	struct tm	tm;
	char		date[32];
	time_t		now;

	gettimeofday(&tv, NULL);
	now = tv.tv_sec;
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
	/* strftime('%S.%f')[:-1]: five digits of the fraction */
	snprintf(buf, len, "%s.%05d", date, (int) (tv.tv_usec / 10));
}

void
pghactl_refuse(const char *what, const char *message, const char *detail,
			   const char *hint)
{
	fprintf(stderr, "pghactl: %s: %s\n", what, message);
	if (detail != NULL && detail[0] != '\0')
		fprintf(stderr, "DETAIL: %s\n", detail);
	if (hint != NULL && hint[0] != '\0')
		fprintf(stderr, "HINT: %s\n", hint);
}

static void
sleep_ms(int ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long) (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

int
pghactl_wait_new_leader(const PghactlSettings *st, EtcdClient *client,
						const char *prefix, const char *action,
						const char *old_leader, const char *candidate,
						int timeout_s)
{
	int64_t		deadline = etcd_now_ms() + (int64_t) timeout_s * 1000;
	PghaCluster *cl = malloc(sizeof(PghaCluster));
	EtcdError	last_err;
	bool		last_failed = false;
	bool		seen = false;	/* cl holds at least one read */
	int			rc = -1;
	char		ts[40];

	if (cl == NULL)
	{
		fprintf(stderr, "pghactl: out of memory\n");
		return PGHACTL_EXIT_ETCD;
	}
	memset(&last_err, 0, sizeof(last_err));

	while (rc < 0)
	{
		EtcdKVList	kvs;
		EtcdError	err;
		char		new_leader[PGHA_NAME_LEN];
		int			pause;

		/* no request may outlast the caller's --timeout */
		etcd_client_set_deadline(client, deadline);
		memset(&kvs, 0, sizeof(kvs));
		if (etcd_get_prefix(client, prefix, &kvs, &err) == ETCD_OK)
		{
			last_failed = false;
			seen = true;
			pgha_cluster_from_kvs(prefix, &kvs, cl);
			switch (pgha_request_outcome(cl, old_leader, candidate, new_leader,
										 sizeof(new_leader)))
			{
				case PGHA_OUTCOME_DONE:
					pghactl_timestamp(ts, sizeof(ts));
					printf("%s Successfully %s over to \"%s\"\n", ts,
						   strcmp(action, "switchover") == 0 ? "switched" : "failed",
						   new_leader);
					rc = PGHACTL_EXIT_OK;
					break;
				case PGHA_OUTCOME_OTHER:
					/* Patroni's api answers 200 to this as well */
					pghactl_timestamp(ts, sizeof(ts));
					printf("%s %s over to \"%s\" instead of \"%s\"\n", ts,
						   strcmp(action, "switchover") == 0 ? "Switched" : "Failed",
						   new_leader, candidate);
					rc = PGHACTL_EXIT_OK;
					break;
				case PGHA_OUTCOME_GONE:
					{
						char		detail[256];
						char		failed[64];

						if (old_leader != NULL && old_leader[0] != '\0')
							snprintf(detail, sizeof(detail),
									 "The failover key was cleared while \"%s\" still holds the leader key.",
									 old_leader);
						else
							snprintf(detail, sizeof(detail),
									 "The failover key was cleared and no member took the leader key.");
						snprintf(failed, sizeof(failed), "%s failed", action);
						pghactl_refuse(failed, "the request was not carried out",
									   detail,
									   "The keepers declined it; the leader's (or the candidate's) server log says why.");
						rc = PGHACTL_EXIT_REFUSED;
						break;
					}
				case PGHA_OUTCOME_PENDING:
					break;
			}
		}
		else
		{
			last_failed = true;
			last_err = err;
		}
		etcd_kvlist_free(&kvs);
		if (rc >= 0)
			break;
		pause = pgha_poll_pause_ms(etcd_now_ms(), deadline, POLL_INTERVAL_MS,
								   POLL_READ_MS);
		if (pause < 0)
		{
			if (last_failed)
			{
				rc = pghactl_report_etcd(st, &last_err);
				fprintf(stderr, "pghactl: the outcome of the %s is unknown: etcd did not answer at the end of the wait (%d s)\n",
						action, timeout_s);
				break;
			}
			if (cl->has_leader)
				fprintf(stderr, "pghactl: %s status unknown: after %d s the leader key still names \"%s\"\n",
						action, timeout_s, cl->leader);
			else
				fprintf(stderr, "pghactl: %s status unknown: after %d s no member holds the leader key\n",
						action, timeout_s);
			if (seen && cl->has_failover)
				fprintf(stderr, "HINT: The request is still pending in the failover key, and a keeper may still carry it out; \"pghactl switchover --cancel\" withdraws it.\n");
			rc = PGHACTL_EXIT_TIMEOUT;
			break;
		}
		sleep_ms(pause);
	}
	etcd_client_set_deadline(client, 0);
	fflush(stdout);
	free(cl);
	return rc;
}
