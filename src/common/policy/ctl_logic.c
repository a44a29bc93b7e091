/*-------------------------------------------------------------------------
 *
 * ctl_logic.c
 *	  Decisions of pghactl's operator commands (see ctl_logic.h).
 *
 *-------------------------------------------------------------------------
 */
#include "ctl_logic.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

PghaRequestOutcome
pgha_request_outcome(const PghaCluster *cl, const char *old_leader,
					 const char *candidate, char *new_leader,
					 size_t new_leader_len)
{
	if (new_leader_len > 0)
		new_leader[0] = '\0';

	/* the leader key first: it is the outcome, whatever the failover key says */
	if (cl->has_leader && cl->leader[0] != '\0' &&
		(old_leader == NULL || strcmp(cl->leader, old_leader) != 0))
	{
		snprintf(new_leader, new_leader_len, "%s", cl->leader);
		if (candidate == NULL || candidate[0] == '\0' ||
			strcmp(candidate, cl->leader) == 0)
			return PGHA_OUTCOME_DONE;
		return PGHA_OUTCOME_OTHER;
	}
	return cl->has_failover ? PGHA_OUTCOME_PENDING : PGHA_OUTCOME_GONE;
}

int
pgha_poll_pause_ms(int64_t now, int64_t deadline, int poll_ms, int read_ms)
{
	int64_t		room = deadline - now - read_ms;

	if (room <= 0)
		return -1;
	return room < poll_ms ? (int) room : poll_ms;
}

bool
pgha_cluster_is_live(const PghaCluster *cl, char *why, size_t whylen)
{
	size_t		used = 0;
	int			running = 0;
	int			i;

	if (whylen > 0)
		why[0] = '\0';
	if (cl->has_leader)
		used += snprintf(why, whylen, "the leader key names \"%s\"", cl->leader);
	for (i = 0; i < cl->nmembers; i++)
	{
		const PghaMember *m = &cl->members[i];

		if (strcmp(m->state, "running") != 0)
			continue;
		if (used < whylen)
		{
			const char *sep = running > 0 ? ", " :
				used > 0 ? "; members running: " : "members running: ";

			used += snprintf(why + used, whylen - used, "%s\"%s\"", sep, m->name);
		}
		running++;
	}
	return cl->has_leader || running > 0;
}

int
pgha_parse_yes_no(const char *answer)
{
	char		word[8];
	size_t		len;

	while (isspace((unsigned char) *answer))
		answer++;
	len = strlen(answer);
	while (len > 0 && isspace((unsigned char) answer[len - 1]))
		len--;
	if (len >= sizeof(word))
		return -1;
	memcpy(word, answer, len);
	word[len] = '\0';
	if (strcasecmp(word, "y") == 0 || strcasecmp(word, "yes") == 0)
		return 1;
	if (len == 0 || strcasecmp(word, "n") == 0 || strcasecmp(word, "no") == 0)
		return 0;
	return -1;
}

void
pgha_topology_order(const char *const *names, int n, const char *leader,
					int *order, int *level)
{
	int			k = 0;

	/* patronictl's topology_sort(): the leader, then the others under it */
	for (int i = 0; i < n; i++)
		if (leader != NULL && strcmp(names[i], leader) == 0)
		{
			order[k] = i;
			level[k++] = 0;
		}
	for (int i = 0; i < n; i++)
		if (leader == NULL || strcmp(names[i], leader) != 0)
		{
			order[k] = i;
			level[k++] = 1;
		}
}

void
pgha_topology_name(const char *name, int level, char *buf, size_t len)
{
	if (level <= 0)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%*s+ %s", (level - 1) * 2, "", name);
}
