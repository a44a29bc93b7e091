/*-------------------------------------------------------------------------
 *
 * config_edit.h
 *	  Editing the shared "config" key: patronictl edit-config's --set
 *	  paths, validation of the settings that Patroni and pgha read from it,
 *	  and the diff shown before writing.
 *
 * Plain C over JSON text (jansson inside, nothing of it in this header), so
 * that pghactl and the unit tests (test/unit/test_config_edit.c) use the
 * same code.  Every function that returns a string returns it malloc'd;
 * NULL means failure, with one sentence in errbuf.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_CONFIG_EDIT_H
#define PGHA_CONFIG_EDIT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Apply one "PATH=VALUE" to the config object json (NULL or "": {}).
 * PATH is dotted (postgresql.parameters.max_connections); below
 * postgresql.parameters the rest of the path is one name, so that GUCs
 * with dots (pg_stat_statements.max) work, as in patronictl.  VALUE is
 * JSON when it parses as JSON (200, true, "x", {"a":1}), else a string
 * (256MB, on); null removes the setting.  Objects on the way are created
 * (replacing a non-object), and ones left empty by a removal are removed,
 * as patronictl does.  Returns the new object, compact.
 */
extern char *pgha_config_apply_set(const char *json, const char *assignment,
								   char *errbuf, size_t errlen);

/* text that must be one JSON object (a --replace file), compact */
extern char *pgha_config_parse_object(const char *text, char *errbuf,
									  size_t errlen);

/*
 * Check the settings Patroni and pgha read, leaving unknown keys alone:
 * ttl, loop_wait, retry_timeout in the ranges of settings.h with ttl >=
 * loop_wait + 2 * retry_timeout (absent ones count with Patroni's defaults
 * 30, 10, 10); maximum_lag_on_failover >= 0; synchronous_node_count >= 1;
 * Patroni's other integer settings; pause, failsafe_mode,
 * synchronous_mode_strict booleans (true/false or Patroni's words: on,
 * off, yes, no, 1, 0); synchronous_mode a boolean or "strict"; postgresql,
 * postgresql.parameters and standby_cluster objects.  Integers may be
 * decimal strings, since Patroni applies int() to them.  null is absent.
 * Refused because pgha does not implement them: failsafe_mode true, a
 * non-empty standby_cluster; and each parameter that pg_params.c refuses
 * (pgha_param_refusal: what pgha or the node owns, Patroni's bounds) or
 * whose value is not a string, number or boolean.
 */
extern bool pgha_config_validate(const char *json, char *errbuf,
								 size_t errlen);

/*
 * False, with the reason, when the config key asks for what pgha does not
 * implement (failsafe_mode true, a non-empty standby_cluster): edit-config
 * and the api refuse it, but patronictl edit-config writes the key itself,
 * so every keeper says so too (keeper_params.c).
 */
extern bool pgha_config_implemented(const char *json, char *errbuf,
									size_t errlen);

/* both parse and are equal JSON (object key order does not matter) */
extern bool pgha_config_same(const char *a, const char *b);

/* indented by two, keys in stored order (show-config's layout) */
extern char *pgha_config_pretty(const char *json);

/*
 * A unified diff of two texts, line by line, in the layout of Python's
 * difflib.unified_diff as patronictl prints it ("--- ", "+++ ", "@@ -l,n
 * +l,n @@" hunks with three lines of context); "" when they are equal.
 */
extern char *pgha_text_diff(const char *before, const char *after);

#endif							/* PGHA_CONFIG_EDIT_H */
