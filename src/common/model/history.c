/*-------------------------------------------------------------------------
 *
 * history.c
 *	  The "history" key: one entry per timeline switch, in Patroni's format
 *	  [[timeline, lsn, reason, time, new_leader], ...]  (see cluster.h).
 *
 * The keeper of a freshly promoted leader appends the entry of the
 * timeline it left, read from the new timeline's history file, so that
 * patronictl history and pgha_history() show every failover.
 *
 *-------------------------------------------------------------------------
 */
#include "cluster.h"

#include <stdio.h>
#include <string.h>

#include "pgha_json.h"

bool
pgha_history_last_timeline(const char *json, int *last_tl, char *errbuf,
						   size_t errlen)
{
	json_error_t jerr;
	json_t	   *root;
	size_t		i;
	json_t	   *entry;
	int			last = 0;

	*last_tl = 0;
	if (json == NULL || json[0] == '\0')
		return true;
	root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
	{
		snprintf(errbuf, errlen, "invalid JSON: %s", jerr.text);
		return false;
	}
	if (!json_is_array(root))
	{
		json_decref(root);
		snprintf(errbuf, errlen, "not a JSON array");
		return false;
	}
	json_array_foreach(root, i, entry)
	{
		json_t	   *tl = json_array_get(entry, 0);

		if (!json_is_array(entry) || !json_is_integer(tl) ||
			json_integer_value(tl) < 1 || json_integer_value(tl) > 0x7fffffff)
		{
			json_decref(root);
			snprintf(errbuf, errlen, "entry %zu is not [timeline, lsn, ...]", i);
			return false;
		}
		if (json_integer_value(tl) > last)
			last = (int) json_integer_value(tl);
	}
	json_decref(root);
	*last_tl = last;
	return true;
}

char *
pgha_history_append(const char *json, int timeline, int64_t lsn,
					const char *reason, const char *time_iso,
					const char *leader)
{
	json_t	   *root = NULL;
	json_t	   *entry;
	char	   *out;

	if (json != NULL && json[0] != '\0')
		root = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
	if (root == NULL || !json_is_array(root))
	{
		/* a malformed history is replaced rather than kept broken */
		json_decref(root);
		root = json_array();
	}
	if (root == NULL)
		return NULL;
	entry = json_pack("[I,I,s,s,s]", (json_int_t) timeline, (json_int_t) lsn,
					  reason, time_iso, leader);
	if (entry == NULL || json_array_append_new(root, entry) != 0)
	{
		json_decref(root);
		return NULL;
	}
	out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return out;
}

static void
copy_string(json_t *v, char *dst, size_t len)
{
	dst[0] = '\0';
	if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v))
		snprintf(dst, len, "%s", json_string_value(v));
}

int
pgha_history_decode(const char *json, PghaHistoryEntry *out, int max,
					char *errbuf, size_t errlen)
{
	int			last;
	json_t	   *root;
	json_t	   *entry;
	size_t		i;
	int			n = 0;

	if (!pgha_history_last_timeline(json, &last, errbuf, errlen))
		return -1;
	if (json == NULL || json[0] == '\0')
		return 0;
	root = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
	if (root == NULL)
	{
		snprintf(errbuf, errlen, "invalid JSON");
		return -1;
	}
	json_array_foreach(root, i, entry)
	{
		json_t	   *lsn = json_array_get(entry, 1);

		if (n >= max)
			break;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].timeline = (int) json_integer_value(json_array_get(entry, 0));
		out[n].lsn = json_is_integer(lsn) && json_integer_value(lsn) >= 0
			? (int64_t) json_integer_value(lsn) : -1;
		copy_string(json_array_get(entry, 2), out[n].reason, sizeof(out[n].reason));
		copy_string(json_array_get(entry, 3), out[n].time, sizeof(out[n].time));
		copy_string(json_array_get(entry, 4), out[n].leader, sizeof(out[n].leader));
		n++;
	}
	json_decref(root);
	return n;
}

int
pgha_history_tail(const char *json, int *tl, int64_t *lsn, int max)
{
	json_t	   *root;
	size_t		n;
	size_t		first;
	int			count = 0;
	int			last;
	char		err[PGHA_ERR_LEN];

	if (max <= 0 || !pgha_history_last_timeline(json, &last, err, sizeof(err)) ||
		json == NULL || json[0] == '\0')
		return 0;
	root = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
	if (root == NULL)
		return 0;
	n = json_array_size(root);
	first = n > (size_t) max ? n - (size_t) max : 0;
	for (size_t i = first; i < n; i++)
	{
		json_t	   *entry = json_array_get(root, i);
		json_t	   *l = json_array_get(entry, 1);

		tl[count] = (int) json_integer_value(json_array_get(entry, 0));
		lsn[count] = json_is_integer(l) && json_integer_value(l) >= 0 ?
			(int64_t) json_integer_value(l) : -1;
		count++;
	}
	json_decref(root);
	return count;
}
