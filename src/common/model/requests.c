/*-------------------------------------------------------------------------
 *
 * requests.c
 *	  The keys through which operators ask for things, in Patroni's format:
 *	  "failover" (a switchover or manual failover request) and the "pause"
 *	  flag of "config".  Written by pgha's SQL functions (through the
 *	  keeper), by pghactl and by patronictl alike; every keeper acts on them
 *	  whoever wrote them.
 *
 *-------------------------------------------------------------------------
 */
#include "cluster.h"

#include <stdio.h>
#include <string.h>

#include "pgha_json.h"

bool
pgha_failover_from_json(const char *json, PghaFailover *f, char *errbuf,
						size_t errlen)
{
	json_error_t jerr;
	json_t	   *root;
	bool		ok;

	memset(f, 0, sizeof(*f));
	if (json == NULL || json[0] == '\0')
		return true;			/* Patroni leaves "" behind too */
	root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL || !json_is_object(root))
	{
		snprintf(errbuf, errlen, root ? "not a JSON object" : "invalid JSON: %s",
				 jerr.text);
		json_decref(root);
		return false;
	}
	ok = pgha_json_get_string(root, "leader", f->leader, sizeof(f->leader), errbuf, errlen) &&
		pgha_json_get_string(root, "member", f->member, sizeof(f->member), errbuf, errlen) &&
		pgha_json_get_string(root, "scheduled_at", f->scheduled_at, sizeof(f->scheduled_at),
				   errbuf, errlen);
	json_decref(root);
	if (!ok)
		memset(f, 0, sizeof(*f));
	return ok;
}

bool
pgha_failover_empty(const PghaFailover *f)
{
	return f->leader[0] == '\0' && f->member[0] == '\0';
}

char *
pgha_failover_to_json(const PghaFailover *f)
{
	json_t	   *root = pgha_json_object();
	char	   *out;

	if (root == NULL)
		return NULL;
	if ((f->leader[0] && json_object_set_new(root, "leader", json_string(f->leader)) != 0) ||
		(f->member[0] && json_object_set_new(root, "member", json_string(f->member)) != 0) ||
		(f->scheduled_at[0] &&
		 json_object_set_new(root, "scheduled_at", json_string(f->scheduled_at)) != 0))
	{
		json_decref(root);
		return NULL;
	}
	out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return out;
}

char *
pgha_config_set_pause(const char *json, bool pause, char *errbuf, size_t errlen)
{
	json_error_t jerr;
	json_t	   *root;
	char	   *out;

	if (json == NULL || json[0] == '\0')
		root = pgha_json_object();
	else
		root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL || !json_is_object(root))
	{
		snprintf(errbuf, errlen, root ? "the config key is not a JSON object"
				 : "the config key is not valid JSON: %s", jerr.text);
		json_decref(root);
		return NULL;
	}
	if (pause)
		json_object_set_new(root, "pause", json_true());
	else
		json_object_del(root, "pause");
	out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (out == NULL)
		snprintf(errbuf, errlen, "out of memory");
	return out;
}

