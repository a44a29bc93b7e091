/*-------------------------------------------------------------------------
 *
 * api_request.c
 *	  The parsers of REST api request bodies (POST /switchover and
 *	  /failover, PATCH and PUT /config, {"force": ...}) and Patroni's first
 *	  checks of a switchover request.  Every one takes untrusted bytes
 *	  (fuzzed by test/fuzz/fuzz_api_bodies.c): NUL bytes, wrong types, deep
 *	  nesting and overlong strings are refused with Patroni's status code.
 *
 *-------------------------------------------------------------------------
 */
#include "api_body.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isotime.h"
#include "pg_params.h"
#include "pgha_json.h"

static void
set_err(char *errbuf, size_t errlen, const char *msg)
{
	snprintf(errbuf, errlen, "%s", msg);
}

/* a JSON object of at most len bytes with no NUL; NULL with a message */
static json_t *
load_body_object(const char *body, size_t len, bool allow_empty_object,
				 char *errbuf, size_t errlen)
{
	json_error_t jerr;
	json_t	   *root;

	if (body == NULL || len == 0)
	{
		set_err(errbuf, errlen, "the request has no body");
		return NULL;
	}
	if (memchr(body, '\0', len) != NULL)
	{
		set_err(errbuf, errlen, "the body contains a NUL byte");
		return NULL;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
	{
		snprintf(errbuf, errlen, "the body is not valid JSON: %s", jerr.text);
		return NULL;
	}
	if (!json_is_object(root) || (!allow_empty_object && json_object_size(root) == 0))
	{
		set_err(errbuf, errlen, json_is_object(root) ? "the body is an empty JSON object"
				: "the body is not a JSON object");
		json_decref(root);
		return NULL;
	}
	return root;
}

int
pgha_api_parse_failover(const char *body, size_t len,
						PghaApiFailoverRequest *out, char *errbuf,
						size_t errlen)
{
	json_t	   *root;
	bool		ok;

	memset(out, 0, sizeof(*out));
	root = load_body_object(body, len, false, errbuf, errlen);
	if (root == NULL)
		return 400;
	ok = pgha_json_get_string(root, "leader", out->leader, sizeof(out->leader), errbuf, errlen) &&
		pgha_json_get_string(root, "candidate", out->candidate, sizeof(out->candidate), errbuf, errlen) &&
		pgha_json_get_string(root, "scheduled_at", out->scheduled_at, sizeof(out->scheduled_at),
					 errbuf, errlen);
	/* Patroni: request.get('candidate') or request.get('member') */
	if (ok && out->candidate[0] == '\0')
		ok = pgha_json_get_string(root, "member", out->candidate, sizeof(out->candidate),
						  errbuf, errlen);
	json_decref(root);
	if (!ok)
	{
		memset(out, 0, sizeof(*out));
		return 400;
	}
	return 0;
}

/*
 * Patroni's parse_schedule(): an ISO 8601 time with a zone, not in the
 * past; rewritten in place as UTC with "+00:00".  0, or 400/422 with
 * Patroni's message.
 */
static int
parse_schedule(char *when, size_t whenlen, const char *action,
			   double now_epoch, char *errbuf, size_t errlen)
{
	PghaTimestamp ts;
	char		perr[128];
	size_t		n = strlen(when);
	bool		has_zone;

	if (!pgha_parse_isotime(when, &ts, perr, sizeof(perr)))
	{
		set_err(errbuf, errlen, "Unable to parse scheduled timestamp. It should be in an unambiguous format, e.g. ISO 8601");
		return 422;
	}
	/* a zone: Z, or +/- after the time part (the date has '-' too) */
	has_zone = (n > 0 && (when[n - 1] == 'Z' || when[n - 1] == 'z')) ||
		(n > 10 && (strchr(when + 10, '+') != NULL || strchr(when + 10, '-') != NULL));
	if (!has_zone)
	{
		snprintf(errbuf, errlen, "Timezone information is mandatory for the scheduled %s", action);
		return 400;
	}
	if ((double) ts.epoch_us / 1e6 < now_epoch)
	{
		snprintf(errbuf, errlen, "Cannot schedule %s in the past", action);
		return 422;
	}
	ts.offset_sec = 0;
	pgha_format_isotime(&ts, when, whenlen);
	return 0;
}

static void
title(const char *action, char *buf, size_t len)
{
	snprintf(buf, len, "%s", action);
	buf[0] = (char) toupper((unsigned char) buf[0]);
}

int
pgha_api_failover_precheck(const PghaCluster *cl, bool failover,
						   PghaApiFailoverRequest *req, double now_epoch,
						   char *errbuf, size_t errlen)
{
	const char *action = failover ? "failover" : "switchover";
	char		Action[16];
	bool		paused = cl->config_valid && cl->config.pause;

	title(action, Action, sizeof(Action));
	if (failover && req->candidate[0] == '\0')
	{
		set_err(errbuf, errlen, "Failover could be performed only to a specific candidate");
		return 400;
	}
	if (!failover && req->leader[0] == '\0')
	{
		set_err(errbuf, errlen, "Switchover could be performed only from a specific leader");
		return 400;
	}
	if (req->scheduled_at[0])
	{
		int			code;

		if (req->leader[0] == '\0')
		{
			snprintf(errbuf, errlen, "Scheduled %s is possible only from a specific leader", action);
			return 400;
		}
		if (paused)
		{
			snprintf(errbuf, errlen, "Can't schedule %s in the paused state", action);
			return 400;
		}
		code = parse_schedule(req->scheduled_at, sizeof(req->scheduled_at),
							  action, now_epoch, errbuf, errlen);
		if (code != 0)
			return code;
	}
	if (paused && req->candidate[0] == '\0')
	{
		snprintf(errbuf, errlen, "%s is possible only to a specific candidate in a paused state", Action);
		return 400;
	}
	if (req->scheduled_at[0] == '\0')
	{
		/* is_failover_possible() */
		if (req->leader[0] && (!cl->has_leader || strcmp(cl->leader, req->leader) != 0))
		{
			set_err(errbuf, errlen, "leader name does not match");
			return 412;
		}
		if (req->candidate[0])
		{
			if (!failover && cl->config_valid &&
				cl->config.synchronous_mode != PGHA_SYNC_OFF &&
				!(cl->has_sync && pgha_sync_lists(&cl->sync, req->candidate)))
			{
				set_err(errbuf, errlen, "candidate name does not match with sync_standby");
				return 412;
			}
			if (pgha_cluster_find_member(cl, req->candidate) == NULL)
			{
				set_err(errbuf, errlen, "candidate does not exists");
				return 412;
			}
		}
	}
	return 0;
}

/* Patroni's patch_config(): null deletes, objects merge, str() compares */
static bool
patch_object(json_t *config, json_t *patch)
{
	const char *name;
	json_t	   *value;
	bool		changed = false;

	json_object_foreach(patch, name, value)
	{
		json_t	   *cur = json_object_get(config, name);

		if (json_is_null(value))
		{
			if (cur != NULL)
			{
				/* pop(name, None) is not None: a null stored value is no change */
				if (!json_is_null(cur))
					changed = true;
				json_object_del(config, name);
			}
		}
		else if (cur != NULL)
		{
			if (json_is_object(value) && json_is_object(cur))
			{
				if (patch_object(cur, value))
					changed = true;
			}
			else if (!json_equal(cur, value))
			{
				json_object_set(config, name, value);
				changed = true;
			}
		}
		else
		{
			json_object_set(config, name, value);
			changed = true;
		}
	}
	return changed;
}

/* deep nesting costs the worker stack in jansson's recursion: refuse it */
static bool
too_deep(json_t *v, int depth)
{
	const char *k;
	json_t	   *c;
	size_t		i;

	if (depth > 32)
		return true;
	if (json_is_object(v))
	{
		json_object_foreach(v, k, c)
			if (too_deep(c, depth + 1))
			return true;
	}
	else if (json_is_array(v))
	{
		json_array_foreach(v, i, c)
			if (too_deep(c, depth + 1))
			return true;
	}
	return false;
}

char *
pgha_api_config_patch(const char *current, const char *body, size_t len,
					  bool *changed, int *code, char *errbuf, size_t errlen)
{
	json_t	   *patch;
	json_t	   *config;
	json_error_t jerr;
	char	   *out;

	*changed = false;
	*code = 400;
	patch = load_body_object(body, len, false, errbuf, errlen);
	if (patch == NULL)
		return NULL;
	if (too_deep(patch, 0))
	{
		set_err(errbuf, errlen, "the body is nested too deeply");
		json_decref(patch);
		return NULL;
	}
	if (current == NULL || current[0] == '\0')
		config = pgha_json_object();
	else
		config = json_loads(current, JSON_REJECT_DUPLICATES, &jerr);
	if (config == NULL || !json_is_object(config))
	{
		*code = 503;
		set_err(errbuf, errlen, "the config key is not a JSON object");
		json_decref(config);
		json_decref(patch);
		return NULL;
	}
	*changed = patch_object(config, patch);
	out = json_dumps(config, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(config);
	json_decref(patch);
	if (out == NULL)
	{
		*code = 500;
		set_err(errbuf, errlen, "out of memory");
	}
	return out;
}

char *
pgha_api_config_put(const char *body, size_t len, int *code, char *errbuf,
					size_t errlen)
{
	json_t	   *root;
	char	   *out;

	*code = 400;
	root = load_body_object(body, len, false, errbuf, errlen);
	if (root == NULL)
		return NULL;
	if (too_deep(root, 0))
	{
		set_err(errbuf, errlen, "the body is nested too deeply");
		json_decref(root);
		return NULL;
	}
	out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (out == NULL)
	{
		*code = 500;
		set_err(errbuf, errlen, "out of memory");
	}
	return out;
}

int
pgha_api_parse_force(const char *body, size_t len, bool *force, char *errbuf,
					 size_t errlen)
{
	json_t	   *root;
	json_t	   *v;

	*force = false;
	if (body == NULL || len == 0)
		return 0;
	root = load_body_object(body, len, true, errbuf, errlen);
	if (root == NULL)
		return 400;
	v = json_object_get(root, "force");
	if (v != NULL)
		*force = pgha_json_bool(v) == 1;
	json_decref(root);
	return 0;
}

/*
 * POST /restart's body, as Patroni's do_POST_restart() checks it: every
 * key one of schedule, role, postgres_version, restart_pending, timeout;
 * an empty body is {}.  timeout (how long Patroni waits for postgres to
 * start) is refused: pgha-watchdog starts postgres and waits as long as
 * recovery takes.
 */
int
pgha_api_parse_restart(const char *body, size_t len, bool paused,
					   double now_epoch, PghaApiRestartRequest *out,
					   char *errbuf, size_t errlen)
{
	json_t	   *root;
	const char *key;
	json_t	   *v;
	int			code = 0;

	memset(out, 0, sizeof(*out));
	if (body == NULL || len == 0)
		return 0;
	root = load_body_object(body, len, true, errbuf, errlen);
	if (root == NULL)
		return 400;
	if (paused && json_object_get(root, "schedule") != NULL)
	{
		json_decref(root);
		set_err(errbuf, errlen, "Can't schedule restart in the paused state");
		return 500;
	}
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "schedule") == 0)
		{
			if (!json_is_string(v) ||
				json_string_length(v) >= sizeof(out->scheduled_at) ||
				strlen(json_string_value(v)) != json_string_length(v))
			{
				set_err(errbuf, errlen, "Unable to parse scheduled timestamp. It should be in an unambiguous format, e.g. ISO 8601");
				code = 422;
				break;
			}
			strcpy(out->scheduled_at, json_string_value(v));
			code = parse_schedule(out->scheduled_at, sizeof(out->scheduled_at),
								  "restart", now_epoch, errbuf, errlen);
			if (code != 0)
				break;
		}
		else if (strcmp(key, "role") == 0)
		{
			const char *r = json_is_string(v) ? json_string_value(v) : "";

			if (strcmp(r, "master") != 0 && strcmp(r, "primary") != 0 &&
				strcmp(r, "replica") != 0)
			{
				set_err(errbuf, errlen, "PostgreSQL role should be either primary or replica");
				code = 400;
				break;
			}
			snprintf(out->role, sizeof(out->role), "%s",
					 strcmp(r, "replica") == 0 ? "replica" : "primary");
		}
		else if (strcmp(key, "postgres_version") == 0)
		{
			const char *ver = json_is_string(v) ? json_string_value(v) : "";

			out->below_version = pgha_postgres_version_num(ver);
			if (out->below_version <= 0 ||
				strlen(ver) >= sizeof(out->postgres_version))
			{
				snprintf(errbuf, errlen, "Invalid PostgreSQL version format: %.64s", ver);
				code = 400;
				break;
			}
			strcpy(out->postgres_version, ver);
		}
		else if (strcmp(key, "restart_pending") == 0)
			out->restart_pending = pgha_json_bool(v) == 1;
		else if (strcmp(key, "timeout") == 0)
		{
			set_err(errbuf, errlen, "timeout is not supported by pgha: pgha-watchdog waits for postgres to start as long as its recovery takes");
			code = 400;
			break;
		}
		else
		{
			snprintf(errbuf, errlen, "Unknown filter for the scheduled restart: %.64s", key);
			code = 400;
			break;
		}
	}
	json_decref(root);
	if (code != 0)
		memset(out, 0, sizeof(*out));
	return code;
}
