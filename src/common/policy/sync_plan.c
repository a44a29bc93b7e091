/*-------------------------------------------------------------------------
 *
 * sync_plan.c
 *	  The leader's synchronous-mode plan (see sync_plan.h).
 *
 *-------------------------------------------------------------------------
 */
#include "sync_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct Ranked
{
	const PghaSyncPeer *peer;
	bool		listed;			/* in the sync key now */
} Ranked;

static int
rank_cmp(const void *a, const void *b)
{
	const Ranked *x = a;
	const Ranked *y = b;

	if (x->listed != y->listed)
		return x->listed ? -1 : 1;
	if (x->peer->named != y->peer->named)
		return x->peer->named ? -1 : 1;
	if (x->peer->flush != y->peer->flush)
		return x->peer->flush > y->peer->flush ? -1 : 1;
	return strcmp(x->peer->name, y->peer->name);
}

static bool
candidate(const PghaCluster *cl, const char *me, const PghaSyncPeer *p)
{
	const PghaMember *m;

	if (!p->streaming || p->name[0] == '\0' || strcasecmp(p->name, me) == 0)
		return false;
	m = pgha_cluster_find_member(cl, p->name);
	return m != NULL && !m->nosync && !m->nofailover && m->failover_priority > 0;
}

static void
copy_name(char *dst, const char *src)
{
	size_t		n = strnlen(src, PGHA_NAME_LEN - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static bool
same_state(const PghaSyncState *a, const PghaSyncState *b)
{
	if (strcmp(a->leader, b->leader) != 0 || a->nmembers != b->nmembers)
		return false;
	for (int i = 0; i < a->nmembers; i++)
		if (!pgha_sync_lists(b, a->members[i]))
			return false;
	return true;
}

static bool
picked(const PghaSyncPlan *plan, const char *name)
{
	for (int i = 0; i < plan->npicked; i++)
		if (strcasecmp(plan->picked[i], name) == 0)
			return true;
	return false;
}

void
pgha_sync_plan(const PghaCluster *cl, const char *me,
			   const PghaSyncPeer *peers, int npeers, PghaSyncPlan *out)
{
	bool		ours = cl->has_sync && strcasecmp(cl->sync.leader, me) == 0;
	const PghaSyncState *now = &cl->sync;
	Ranked		ranked[PGHA_MAX_MEMBERS];
	int			nranked = 0;
	int			want = cl->config.synchronous_node_count;

	memset(out, 0, sizeof(*out));
	if (want < 1)
		want = 1;
	if (want > PGHA_MAX_SYNC)
		want = PGHA_MAX_SYNC;

	for (int i = 0; i < npeers && nranked < PGHA_MAX_MEMBERS; i++)
	{
		if (!candidate(cl, me, &peers[i]))
			continue;
		ranked[nranked].peer = &peers[i];
		ranked[nranked].listed = ours && pgha_sync_lists(now, peers[i].name);
		nranked++;
	}
	qsort(ranked, nranked, sizeof(Ranked), rank_cmp);
	for (int i = 0; i < nranked && out->npicked < want; i++)
	{
		/* the same standby connected twice counts once */
		if (picked(out, ranked[i].peer->name))
			continue;
		copy_name(out->picked[out->npicked], ranked[i].peer->name);
		out->npicked++;
	}
	out->any = out->npicked == 0 &&
		cl->config.synchronous_mode == PGHA_SYNC_STRICT;

	/* 1: the key keeps only what is still picked, and names us */
	copy_name(out->narrowed.leader, me);
	if (ours)
		for (int i = 0; i < now->nmembers; i++)
			if (picked(out, now->members[i]))
				copy_name(out->narrowed.members[out->narrowed.nmembers++],
						  now->members[i]);
	out->write_narrowed = !ours || !same_state(&out->narrowed, now);

	/* 3: and gains the picked standbys that have caught up under the setting */
	out->final = out->narrowed;
	for (int i = 0; i < out->npicked; i++)
	{
		const PghaSyncPeer *p = NULL;

		if (pgha_sync_lists(&out->final, out->picked[i]))
			continue;
		for (int j = 0; j < npeers; j++)
			if (strcasecmp(peers[j].name, out->picked[i]) == 0 &&
				peers[j].streaming)
				p = &peers[j];
		if (p != NULL && p->named && p->caught_up &&
			out->final.nmembers < PGHA_MAX_SYNC)
			copy_name(out->final.members[out->final.nmembers++],
					  out->picked[i]);
		else
			out->pending = true;
	}
	out->write_final = !same_state(&out->final, &out->narrowed);
}

static bool
append(char *buf, size_t buflen, size_t *len, const char *s)
{
	size_t		n = strlen(s);

	if (*len + n + 1 > buflen)
		return false;
	memcpy(buf + *len, s, n + 1);
	*len += n;
	return true;
}

bool
pgha_sync_standby_names(const PghaSyncPlan *plan, char *buf, size_t buflen)
{
	size_t		len = 0;
	char		head[32];

	if (buflen == 0)
		return false;
	buf[0] = '\0';
	if (plan->any)
		return append(buf, buflen, &len, "*");
	if (plan->npicked == 0)
		return true;
	snprintf(head, sizeof(head), "FIRST %d (", plan->npicked);
	if (!append(buf, buflen, &len, head))
		return false;
	for (int i = 0; i < plan->npicked; i++)
	{
		if (i > 0 && !append(buf, buflen, &len, ", "))
			return false;
		if (!append(buf, buflen, &len, "\""))
			return false;
		for (const char *c = plan->picked[i]; *c; c++)
		{
			char		one[3] = {*c, '\0', '\0'};

			if (*c == '"')
				one[1] = '"';
			if (!append(buf, buflen, &len, one))
				return false;
		}
		if (!append(buf, buflen, &len, "\""))
			return false;
	}
	return append(buf, buflen, &len, ")");
}

bool
pgha_sync_conf_text(const char *ssn, char *buf, size_t buflen)
{
	size_t		len = 0;
	const char *head = "# written by pgha: synchronous mode (do not edit)\n";

	buf[0] = '\0';
	if (ssn == NULL)
		return append(buf, buflen, &len,
					  "# written by pgha: synchronous mode is off\n");
	if (!append(buf, buflen, &len, head) ||
		!append(buf, buflen, &len, "synchronous_standby_names = '"))
		return false;
	for (const char *c = ssn; *c; c++)
	{
		char		one[3] = {*c, '\0', '\0'};

		if (*c == '\'')
			one[1] = '\'';
		if (!append(buf, buflen, &len, one))
			return false;
	}
	return append(buf, buflen, &len, "'\n");
}
