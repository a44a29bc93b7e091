/*-------------------------------------------------------------------------
 *
 * sql_status.c
 *	  pgha_status() and pgha_members(): the keeper's view, read from shared
 *	  memory.  No etcd request is made from a user backend: the answer is
 *	  as fresh as the keeper's last loop (see last_etcd_contact).
 *
 *-------------------------------------------------------------------------
 */
#include "pgha.h"

#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(pgha_status);
PG_FUNCTION_INFO_V1(pgha_members);

#define STATUS_COLS 18
#define MEMBERS_COLS 8

static const char *
role_text(PghaRole role)
{
	switch (role)
	{
		case PGHA_ROLE_PRIMARY:
			return "primary";
		case PGHA_ROLE_REPLICA:
			return "replica";
		case PGHA_ROLE_UNKNOWN:
			break;
	}
	return "unknown";
}

/* copy the shared view, so that no work happens under the lock */
static void
snapshot(PghaShared *copy)
{
	PghaShared *sh = pgha_shared_or_error();

	LWLockAcquire(sh->lock, LW_SHARED);
	memcpy(copy, sh, sizeof(PghaShared));
	LWLockRelease(sh->lock);
}

static Datum
text_or_null(const char *s, bool *isnull)
{
	*isnull = (s == NULL || s[0] == '\0');
	return *isnull ? (Datum) 0 : CStringGetTextDatum(s);
}

/* the sync key's standbys, comma-separated; NULL when none or no key */
static const char *
sync_list(const PghaCluster *cl)
{
	StringInfoData buf;

	if (!cl->has_sync || cl->sync.nmembers == 0)
		return NULL;
	initStringInfo(&buf);
	for (int i = 0; i < cl->sync.nmembers; i++)
		appendStringInfo(&buf, "%s%s", i > 0 ? "," : "", cl->sync.members[i]);
	return buf.data;
}

Datum
pgha_status(PG_FUNCTION_ARGS)
{
	PghaShared *v = palloc(sizeof(PghaShared));
	TupleDesc	tupdesc;
	Datum		values[STATUS_COLS];
	bool		nulls[STATUS_COLS];
	bool		live;
	int			i = 0;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	snapshot(v);
	live = v->reported && v->keeper_pid != 0;
	memset(nulls, 0, sizeof(nulls));

	values[i] = text_or_null(pgha_node_name, &nulls[i]);
	i++;
	values[i] = text_or_null(pgha_scope, &nulls[i]);
	i++;
	values[i++] = CStringGetTextDatum(live ? role_text(v->role) : "unknown");
	values[i++] = CStringGetTextDatum(v->keeper_pid == 0 ? "keeper not running" : v->state);
	values[i] = text_or_null(v->has_cluster && v->cluster.has_leader ? v->cluster.leader : NULL,
							 &nulls[i]);
	i++;
	nulls[i] = !v->reported || v->timeline == 0;
	values[i++] = Int32GetDatum(v->timeline);
	nulls[i] = !v->reported || v->wal_lsn == InvalidXLogRecPtr;
	values[i++] = LSNGetDatum(v->wal_lsn);
	nulls[i] = !v->reported || v->lag_bytes < 0;
	values[i++] = Int64GetDatum(v->lag_bytes);
	nulls[i] = v->last_etcd_contact == 0;
	values[i++] = TimestampTzGetDatum(v->last_etcd_contact);
	values[i] = text_or_null(v->last_error, &nulls[i]);
	i++;
	values[i++] = BoolGetDatum(v->paused);
	nulls[i] = !v->reported;
	values[i++] = Int32GetDatum(v->ttl);
	nulls[i] = !v->reported;
	values[i++] = Int32GetDatum(v->loop_wait);
	nulls[i] = !v->reported;
	values[i++] = Int32GetDatum(v->retry_timeout);
	nulls[i] = !v->has_cluster;
	values[i++] = CStringGetTextDatum(pgha_sync_mode_name(v->cluster.config.synchronous_mode));
	values[i] = text_or_null(v->has_cluster ? sync_list(&v->cluster) : NULL, &nulls[i]);
	i++;
	nulls[i] = !live;
	values[i++] = BoolGetDatum(v->pending_restart);
	values[i] = text_or_null(v->has_scheduled_restart ? v->scheduled_restart.scheduled_at : NULL,
							 &nulls[i]);
	i++;
	Assert(i == STATUS_COLS);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

static int
member_cmp(const void *a, const void *b)
{
	return strcmp(((const PghaMember *) a)->name, ((const PghaMember *) b)->name);
}

Datum
pgha_members(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PghaShared *v = palloc(sizeof(PghaShared));
	PghaCluster *cl = &v->cluster;

	InitMaterializedSRF(fcinfo, 0);
	snapshot(v);
	if (!v->has_cluster)
		return (Datum) 0;

	qsort(cl->members, cl->nmembers, sizeof(PghaMember), member_cmp);
	for (int m = 0; m < cl->nmembers; m++)
	{
		const PghaMember *mem = &cl->members[m];
		Datum		values[MEMBERS_COLS];
		bool		nulls[MEMBERS_COLS];
		char		host[PGHA_URL_LEN];
		int			port;
		int64		lag = pgha_member_lag_bytes(cl, mem);
		int			i = 0;

		memset(nulls, 0, sizeof(nulls));
		values[i++] = CStringGetTextDatum(mem->name);
		if (pgha_conn_url_host_port(mem->conn_url, host, sizeof(host), &port))
			values[i++] = CStringGetTextDatum(psprintf("%s:%d", host, port));
		else
			nulls[i++] = true;
		values[i++] = CStringGetTextDatum(pgha_member_display_role(cl, mem));
		values[i++] = CStringGetTextDatum(mem->state[0] ? mem->state : "unknown");
		nulls[i] = mem->timeline <= 0;
		values[i++] = Int32GetDatum(mem->timeline);
		nulls[i] = lag < 0;
		values[i++] = Int64GetDatum(lag < 0 ? 0 : (lag + 524288) / 1048576);
		values[i++] = BoolGetDatum(mem->pending_restart);
		values[i] = text_or_null(mem->scheduled_restart, &nulls[i]);
		i++;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
