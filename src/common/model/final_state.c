/*-------------------------------------------------------------------------
 *
 * final_state.c
 *	  The "pgha_final" key: where a leader that stopped cleanly left off.
 *
 *		{"leader":"n1","optime":67712040,"timeline":2,"shut_down":true}
 *
 * pghactl leader-release writes it (with the status optime) when a
 * stopped leader hands its key over; the next leader deletes it once it
 * holds the key.  While it is there, a replica behind that position does
 * not promote by itself (decide.c): the commits it lacks were acknowledged
 * and the stopped leader still has them.  "shut_down" (absent: false) says
 * the control file said "shut down": the position is the shutdown
 * checkpoint, the last WAL record the leader wrote, so a replica that has
 * it has everything (a fenced instance that was killed instead published
 * its last checkpoint, which later WAL may follow).  A pgha-only key, which Patroni
 * ignores (it reads only the keys it knows under the scope).
 *
 * Plain C (jansson), shared by pgha.so and pghactl; never trusts its input.
 *
 *-------------------------------------------------------------------------
 */
#include "cluster.h"
#include "errbuf.h"

#include <stdint.h>
#include <string.h>

#include "pgha_json.h"

char *
pgha_final_to_json(const char *leader, int64_t optime, int timeline,
				   bool shut_down)
{
	json_t	   *root = pgha_json_object();
	char	   *s;

	if (root == NULL)
		return NULL;
	if (json_object_set_new(root, "leader", json_string(leader)) != 0 ||
		json_object_set_new(root, "optime", json_integer(optime)) != 0 ||
		json_object_set_new(root, "timeline", json_integer(timeline)) != 0 ||
		json_object_set_new(root, "shut_down", json_boolean(shut_down)) != 0)
	{
		json_decref(root);
		return NULL;
	}
	s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	return s;
}

bool
pgha_final_from_json(const char *json, char *leader, size_t leaderlen,
					 int64_t *optime, int *timeline, bool *shut_down,
					 char *errbuf, size_t errlen)
{
	json_t	   *root;
	json_t	   *v;
	json_t	   *t;
	json_t	   *sd;
	bool		ok = false;

	root = pgha_json_load_object(json, "pgha_final value", errbuf, errlen);
	if (root == NULL)
		return false;
	if (!pgha_json_get_string(root, "leader", leader, leaderlen, errbuf, errlen))
		goto done;
	v = json_object_get(root, "optime");
	t = json_object_get(root, "timeline");
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		!json_is_integer(t) || json_integer_value(t) < 0 ||
		json_integer_value(t) > INT32_MAX)
	{
		pgha_set_error(errbuf, errlen,
					   "pgha_final value needs integer \"optime\" and \"timeline\"");
		goto done;
	}
	sd = json_object_get(root, "shut_down");
	if (sd != NULL && !json_is_boolean(sd))
	{
		pgha_set_error(errbuf, errlen,
					   "pgha_final value: \"shut_down\" must be true or false");
		goto done;
	}
	*optime = (int64_t) json_integer_value(v);
	*timeline = (int) json_integer_value(t);
	*shut_down = json_is_true(sd);
	ok = true;
done:
	json_decref(root);
	return ok;
}
