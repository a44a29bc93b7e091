/*-------------------------------------------------------------------------
 *
 * pg_params.h
 *	  The PostgreSQL parameters of the config key (postgresql.parameters,
 *	  Patroni's layout): which ones pgha refuses and why, which ones must
 *	  agree across the cluster, how they are written to pgha_params.conf.
 *
 * The keeper applies them on every node (keeper_params.c): it writes the
 * accepted ones to PGDATA/pgha_params.conf, which postgresql.conf includes
 * after the node's own settings, and reloads.  PostgreSQL itself then says
 * which of them wait for a restart (pg_settings.pending_restart).
 * pghactl edit-config refuses the same names with the same reasons
 * (config_edit.c calls pgha_param_refusal()), so that what is accepted is
 * applied.
 *
 * Plain C, shared by pgha.so, pghactl and the unit tests
 * (test/unit/test_pg_params.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_PG_PARAMS_H
#define PGHA_PG_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PGHA_PARAMS_CONF		"pgha_params.conf"

#define PGHA_MAX_PARAMS			128
#define PGHA_PARAM_NAME_LEN		64	/* NAMEDATALEN */
#define PGHA_PARAM_VALUE_LEN	512

typedef struct PghaParam
{
	char		name[PGHA_PARAM_NAME_LEN];
	char		value[PGHA_PARAM_VALUE_LEN];
} PghaParam;

typedef struct PghaParams
{
	int			n;
	PghaParam	p[PGHA_MAX_PARAMS];
} PghaParams;

/*
 * Parameters whose value on a hot standby must be at least the primary's
 * (PostgreSQL refuses or pauses recovery otherwise), read from the control
 * file: a replica never runs with less than its pg_control says, as in
 * Patroni (postgresql/config.py, effective_configuration).
 */
typedef enum PghaControlParam
{
	PGHA_CP_NONE = -1,
	PGHA_CP_MAX_CONNECTIONS = 0,
	PGHA_CP_MAX_WORKER_PROCESSES,
	PGHA_CP_MAX_WAL_SENDERS,
	PGHA_CP_MAX_PREPARED_XACTS,
	PGHA_CP_MAX_LOCKS_PER_XACT,
	PGHA_CP_COUNT
} PghaControlParam;

/*
 * Why pgha does not take name=value from the config key, or NULL when it
 * does.  value is the text postgresql.conf would read.  Refused:
 * settings pgha or the node owns (listen_addresses, port, the recovery
 * settings, synchronous_standby_names, ...), node paths, pgha.* (node
 * settings), hot_standby or wal_log_hints off (pgha needs them on),
 * shared_preload_libraries without pgha, and Patroni's lower bounds for
 * the settings every node must share (wal_level replica or logical,
 * max_connections >= 25, max_wal_senders >= 3, ...).
 */
extern const char *pgha_param_refusal(const char *name, const char *value);

/*
 * Must every node run the same value (max_connections and friends,
 * wal_level, track_commit_timestamp)?  They are the ones a replica checks
 * against its primary's WAL.
 */
extern bool pgha_param_cluster_wide(const char *name);

/*
 * Does a change of name wait for a restart (postmaster context in
 * PostgreSQL 15)?  For messages before the change: the keeper itself asks
 * the server (pg_settings' context and pending_restart).
 */
extern bool pgha_param_needs_restart(const char *name);

/* which control-file minimum applies to name, PGHA_CP_NONE when none */
extern PghaControlParam pgha_param_control_floor(const char *name);

/*
 * The parameters of a config key (JSON text): every accepted one in
 * out, in the key's order, its value as postgresql.conf reads it (strings
 * as they are, integers in decimal, reals in %.15g, true/false as on/off); each refused one adds "name: reason; " to
 * refused (may be NULL).  A config without postgresql.parameters gives an
 * empty list.  False when json is not an object (errbuf says why).
 */
extern bool pgha_params_from_config(const char *json, PghaParams *out,
									char *refused, size_t refusedlen,
									char *errbuf, size_t errlen);

/* name's value in params, NULL when absent (names are case-insensitive) */
extern const char *pgha_params_get(const PghaParams *params, const char *name);
/* set or add; false when full */
extern bool pgha_params_set(PghaParams *params, const char *name,
							const char *value);
/* drop name when present */
extern void pgha_params_remove(PghaParams *params, const char *name);

/*
 * A replica's value for a control-file parameter: the configured value,
 * raised to the control file's when that is higher (*raised says so).
 * value is an integer as text; false when it is not one.
 */
extern bool pgha_param_replica_floor(const char *value, int control_value,
									 char *out, size_t outlen, bool *raised);

/*
 * The text of pgha_params.conf: a header, then "name = 'value'" lines
 * with quotes and backslashes escaped for postgresql.conf.  False when it
 * does not fit.
 */
extern bool pgha_params_conf_text(const PghaParams *params, char *buf,
								  size_t len);

/*
 * Patroni's postgres_version_to_int(): "15.2" -> 150002, "9.6.3" -> 90603;
 * -1 when it is not such a version.
 */
extern int	pgha_postgres_version_num(const char *s);

#endif							/* PGHA_PG_PARAMS_H */
