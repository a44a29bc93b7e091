/*-------------------------------------------------------------------------
 *
 * sync_state.c
 *	  The "sync" key, in Patroni's format:
 *
 *		{"leader":"n1","sync_standby":"n2"}			one synchronous standby
 *		{"leader":"n1","sync_standby":"n2,n3"}		synchronous_node_count 2
 *		{"leader":"n1","sync_standby":null}			none (yet)
 *
 * Patroni (patroni/dcs/__init__.py, SyncState) splits sync_standby on
 * commas, strips blanks and compares names case-insensitively; so does
 * pgha.  The members listed have every commit the leader acknowledged,
 * which is what makes them safe to promote (DESIGN.md, safety rule 3).
 *
 * Plain C (jansson), shared by pgha.so and pghactl; never trusts its input.
 *
 *-------------------------------------------------------------------------
 */
#include "cluster.h"
#include "errbuf.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "pgha_json.h"

/* "a, b,c" -> members; blanks around names are dropped, empty names skipped */
static bool
split_members(const char *list, PghaSyncState *s, char *errbuf, size_t errlen)
{
	const char *p = list;

	while (*p != '\0')
	{
		const char *start;
		const char *end;
		size_t		len;

		while (isspace((unsigned char) *p))
			p++;
		start = p;
		while (*p != '\0' && *p != ',')
			p++;
		end = p;
		while (end > start && isspace((unsigned char) end[-1]))
			end--;
		len = (size_t) (end - start);
		if (*p == ',')
			p++;
		if (len == 0)
			continue;
		if (len >= PGHA_NAME_LEN)
		{
			pgha_set_error(errbuf, errlen,
						   "a sync_standby name is longer than %d bytes",
						   PGHA_NAME_LEN - 1);
			return false;
		}
		if (s->nmembers >= PGHA_MAX_SYNC)
		{
			pgha_set_error(errbuf, errlen,
						   "sync_standby lists more than %d members", PGHA_MAX_SYNC);
			return false;
		}
		memcpy(s->members[s->nmembers], start, len);
		s->members[s->nmembers][len] = '\0';
		s->nmembers++;
	}
	return true;
}

bool
pgha_sync_from_json(const char *json, PghaSyncState *s, char *errbuf,
					size_t errlen)
{
	json_t	   *root;
	char		list[PGHA_MAX_SYNC * (PGHA_NAME_LEN + 1) + 64];
	PghaSyncState tmp;
	bool		ok;

	memset(&tmp, 0, sizeof(tmp));
	root = pgha_json_load_object(json, "sync value", errbuf, errlen);
	if (root == NULL)
		return false;
	ok = pgha_json_get_string(root, "leader", tmp.leader, sizeof(tmp.leader),
							  errbuf, errlen) &&
		pgha_json_get_string(root, "sync_standby", list, sizeof(list),
							 errbuf, errlen) &&
		split_members(list, &tmp, errbuf, errlen);
	json_decref(root);
	if (ok)
		*s = tmp;
	return ok;
}

char *
pgha_sync_to_json(const PghaSyncState *s)
{
	char		list[PGHA_MAX_SYNC * (PGHA_NAME_LEN + 1)] = "";
	json_t	   *root;
	char	   *out = NULL;

	for (int i = 0; i < s->nmembers && i < PGHA_MAX_SYNC; i++)
	{
		if (i > 0)
			strcat(list, ",");
		strncat(list, s->members[i], PGHA_NAME_LEN - 1);
	}
	root = json_pack("{s:s, s:o}", "leader", s->leader, "sync_standby",
					 list[0] ? json_string(list) : json_null());
	if (root != NULL)
		out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return out;
}

bool
pgha_sync_lists(const PghaSyncState *s, const char *name)
{
	if (name == NULL || name[0] == '\0')
		return false;
	for (int i = 0; i < s->nmembers; i++)
		if (strcasecmp(s->members[i], name) == 0)
			return true;
	return false;
}

/*
 * Patroni's SyncState.matches(name, check_leader=True): listed, or the
 * leader named (it had every commit it acknowledged).  Without a sync key
 * nobody may be promoted in synchronous mode.
 */
bool
pgha_sync_may_promote(const PghaCluster *cl, const char *name)
{
	if (!cl->has_sync || name == NULL || name[0] == '\0')
		return false;
	return pgha_sync_lists(&cl->sync, name) ||
		strcasecmp(cl->sync.leader, name) == 0;
}

const char *
pgha_sync_mode_name(PghaSyncMode mode)
{
	switch (mode)
	{
		case PGHA_SYNC_OFF:
			return "off";
		case PGHA_SYNC_ON:
			return "on";
		case PGHA_SYNC_STRICT:
			return "strict";
	}
	return "off";
}
