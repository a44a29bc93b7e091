/*-------------------------------------------------------------------------
 *
 * keeper_params.c
 *	  postgresql.parameters of the config key, applied on this node, and
 *	  whether a setting waits for a restart (Patroni's pending_restart).
 *
 * The accepted parameters (pg_params.c refuses the ones pgha or the node
 * owns) go to PGDATA/pgha_params.conf, which postgresql.conf includes
 * after the node's own settings (pgha-watchdog writes that include), so
 * that a cluster-wide setting wins over the node's file, as edit-config
 * promises.  The file is rewritten, with fsync, only when its content
 * changes, and the postmaster is sent SIGHUP then: reloadable settings
 * take effect at once, the others at the next restart.
 *
 * A value the server would reject never reaches the file: each parameter
 * is checked with set_config_option() without applying it (the check a
 * reload makes), and a rejected one is left out with the server's message
 * in the keeper's last error, since an invalid line in postgresql.conf
 * would stop the next start of the server.
 *
 * On a replica the settings that a hot standby needs at least as large as
 * its primary's (max_connections and friends) are raised to what
 * pg_control records, as Patroni does; the node then shows pending_restart
 * until the primary runs with the lower value.
 *
 * Pending restart is what pg_settings.pending_restart says in this
 * process, which reloads with every other child of the postmaster.
 *
 *-------------------------------------------------------------------------
 */
#include "keeper.h"

#include <signal.h>

#include "access/xlog.h"
#include "catalog/pg_control.h"
#include "common/controldata_utils.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/memutils.h"

#include "config_edit.h"

#include "pg_params.h"

/* the control file's value of each floor parameter; false on failure */
static bool
control_values(int *vals)
{
	ControlFileData *cf;
	bool		crc_ok = false;

	cf = get_controlfile(DataDir, &crc_ok);
	if (cf == NULL || !crc_ok)
		return false;
	vals[PGHA_CP_MAX_CONNECTIONS] = cf->MaxConnections;
	vals[PGHA_CP_MAX_WORKER_PROCESSES] = cf->max_worker_processes;
	vals[PGHA_CP_MAX_WAL_SENDERS] = cf->max_wal_senders;
	vals[PGHA_CP_MAX_PREPARED_XACTS] = cf->max_prepared_xacts;
	vals[PGHA_CP_MAX_LOCKS_PER_XACT] = cf->max_locks_per_xact;
	pfree(cf);
	return true;
}

/*
 * Would the server take name = value from its configuration file?  The
 * check of a reload (parse, range, check hook) without applying it; the
 * server's message in why when not.
 */
static bool
server_accepts(const char *name, const char *value, char *why, size_t len)
{
	MemoryContext cxt = CurrentMemoryContext;
	bool		ok = true;

	PG_TRY();
	{
		/* without changeVal, -1 means "valid", 0 "refused" */
		if (set_config_option(name, value, PGC_POSTMASTER, PGC_S_FILE,
							  GUC_ACTION_SET, false, ERROR, false) == 0)
		{
			snprintf(why, len, "the server does not take it");
			ok = false;
		}
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(cxt);
		ed = CopyErrorData();
		FlushErrorState();
		snprintf(why, len, "%s", ed->message);
		FreeErrorData(ed);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

static void
add_problem(StringInfo buf, const char *name, const char *why)
{
	appendStringInfo(buf, "%s%s: %s", buf->len > 0 ? "; " : "", name, why);
}

/* the parameters this node runs with: accepted, checked, floored */
static PghaParams *
effective_params(Keeper *k, const char *config_json, StringInfo problems)
{
	PghaParams *params = palloc0(sizeof(PghaParams));
	PghaParams *out = palloc0(sizeof(PghaParams));
	char		refused[PGHA_ERR_LEN * 4];
	char		err[PGHA_ERR_LEN];
	int			control[PGHA_CP_COUNT];
	bool		have_control = false;
	bool		replica = RecoveryInProgress();

	k->params_raised = false;
	if (!pgha_params_from_config(config_json, params, refused, sizeof(refused),
								 err, sizeof(err)))
	{
		add_problem(problems, "config", err);
		return NULL;
	}
	if (refused[0] != '\0')
		appendStringInfo(problems, "%s", refused);
	for (int i = 0; i < params->n; i++)
	{
		const char *name = params->p[i].name;
		const char *value = params->p[i].value;
		char		floored[PGHA_PARAM_VALUE_LEN];
		char		why[PGHA_ERR_LEN];
		PghaControlParam cp = pgha_param_control_floor(name);
		bool		raised = false;

		if (!server_accepts(name, value, why, sizeof(why)))
		{
			add_problem(problems, name, why);
			continue;
		}
		if (replica && cp != PGHA_CP_NONE)
		{
			if (!have_control && !(have_control = control_values(control)))
			{
				add_problem(problems, name, "pg_control could not be read: left to the node's own setting");
				continue;
			}
			if (pgha_param_replica_floor(value, control[cp], floored,
										 sizeof(floored), &raised) && raised)
			{
				ereport(LOG,
						(errmsg("pgha: %s = %s on this replica, not %s: its primary's WAL needs at least that (pg_control)",
								name, floored, value)));
				value = floored;
				k->params_raised = true;
			}
		}
		(void) pgha_params_set(out, name, value);
	}
	return out;
}

/*
 * Apply the config key's parameters: once per cycle, cheap when nothing
 * changed (the file's text is compared in memory).  The config key absent
 * (etcd lost it, or a new cluster): the file stays as it is.
 */
void
keeper_apply_params(Keeper *k, CycleResult *res)
{
	StringInfoData problems;
	PghaParams *params;
	char	   *text;
	char		err[PGHA_ERR_LEN];

	if (!res->have_cluster || res->config_json == NULL ||
		!res->cluster->config_valid)
		return;
	if (k->params_text == NULL)
	{
		char	   *have = pgha_read_small_file(DataDir, PGHA_PARAMS_CONF, 1024 * 1024);

		k->params_text = MemoryContextStrdup(TopMemoryContext, have ? have : "");
		free(have);
	}
	initStringInfo(&problems);
	params = effective_params(k, res->config_json, &problems);
	/* written past edit-config's checks (patronictl edit-config does) */
	if (!pgha_config_implemented(res->config_json, err, sizeof(err)))
		add_problem(&problems, "config", err);
	if (strcmp(problems.data, k->params_problem) != 0)
	{
		if (problems.len > 0)
			ereport(WARNING,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("pgha: the config key asks for what this node does not apply: %s", problems.data),
					 errhint("pghactl edit-config and the REST api refuse these; fix or remove them in the config key.")));
		strlcpy(k->params_problem, problems.data, sizeof(k->params_problem));
	}
	if (params == NULL)
		return;
	text = palloc(PGHA_MAX_PARAMS * (PGHA_PARAM_NAME_LEN + 2 * PGHA_PARAM_VALUE_LEN + 8) + 256);
	if (!pgha_params_conf_text(params, text,
							   PGHA_MAX_PARAMS * (PGHA_PARAM_NAME_LEN + 2 * PGHA_PARAM_VALUE_LEN + 8) + 256))
		return;
	if (strcmp(text, k->params_text) == 0)
		return;
	if (!pgha_write_file_atomic(DataDir, PGHA_PARAMS_CONF, text, err, sizeof(err)))
	{
		keeper_log_problem(WARNING, ERRCODE_IO_ERROR,
						   psprintf("could not write %s: %s", PGHA_PARAMS_CONF, err));
		return;
	}
	pfree(k->params_text);
	k->params_text = MemoryContextStrdup(TopMemoryContext, text);
	ereport(LOG,
			(errmsg("pgha: wrote %s (%d parameters of the config key); reloading",
					PGHA_PARAMS_CONF, params->n)));
	if (kill(PostmasterPid, SIGHUP) != 0)
		ereport(WARNING, (errmsg("pgha: could not send SIGHUP to the postmaster: %m")));
}

/*
 * pg_settings.pending_restart of this process: a setting of the files it
 * last reloaded differs from the value the server started with.
 */
bool
keeper_pending_restart(const Keeper *k)
{
	struct config_generic **vars = get_guc_variables();
	int			n = GetNumConfigOptions();

	if (k->params_raised)
		return true;
	for (int i = 0; i < n; i++)
		if (vars[i]->status & GUC_PENDING_RESTART)
			return true;
	return false;
}
