/*-------------------------------------------------------------------------
 *
 * sql_history.c
 *	  pgha_history(): the cluster's timeline history, one row per switch,
 *	  from the history key as the keeper last read it (what patronictl
 *	  history shows).
 *
 *-------------------------------------------------------------------------
 */
#include "pgha.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(pgha_history);

#define HISTORY_COLS 5
#define HISTORY_MAX_ROWS 4096

/* Patroni writes ISO 8601 with a 'T'; timestamptz_in takes it as it is */
static Datum
parse_time(const char *s, bool *isnull)
{
	Datum		result = (Datum) 0;
	MemoryContext cxt = CurrentMemoryContext;

	*isnull = true;
	if (s[0] == '\0')
		return result;
	PG_TRY();
	{
		result = DirectFunctionCall3(timestamptz_in, CStringGetDatum(s),
									 ObjectIdGetDatum(InvalidOid),
									 Int32GetDatum(-1));
		*isnull = false;
	}
	PG_CATCH();
	{
		/* a malformed time in etcd is shown as NULL, not an error */
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
	}
	PG_END_TRY();
	return result;
}

Datum
pgha_history(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PghaShared *sh = pgha_shared_or_error();
	char	   *json = palloc(PGHA_HISTORY_MAX);
	PghaHistoryEntry *entries = palloc(sizeof(PghaHistoryEntry) * HISTORY_MAX_ROWS);
	char		err[PGHA_ERR_LEN];
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	LWLockAcquire(sh->lock, LW_SHARED);
	memcpy(json, sh->history_json, PGHA_HISTORY_MAX);
	LWLockRelease(sh->lock);

	n = pgha_history_decode(json, entries, HISTORY_MAX_ROWS, err, sizeof(err));
	if (n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the history key of the cluster is malformed"),
				 errdetail("%s", err)));
	for (int i = 0; i < n; i++)
	{
		Datum		values[HISTORY_COLS];
		bool		nulls[HISTORY_COLS];

		memset(nulls, 0, sizeof(nulls));
		values[0] = Int32GetDatum(entries[i].timeline);
		nulls[1] = entries[i].lsn < 0;
		values[1] = LSNGetDatum((XLogRecPtr) Max(entries[i].lsn, 0));
		values[2] = CStringGetTextDatum(entries[i].reason);
		values[3] = parse_time(entries[i].time, &nulls[3]);
		nulls[4] = entries[i].leader[0] == '\0';
		values[4] = nulls[4] ? (Datum) 0 : CStringGetTextDatum(entries[i].leader);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
