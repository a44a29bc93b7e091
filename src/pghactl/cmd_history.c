/*-------------------------------------------------------------------------
 *
 * cmd_history.c
 *	  pghactl history: the cluster's timeline switches, as patronictl
 *	  3.0.2 prints the history key.
 *
 * patronictl's history command prints one row per entry of the key's
 * array with columns TL, LSN, Reason, Timestamp, New Leader (TL and LSN
 * right-aligned), in stored order, values as stored (the LSN as a
 * decimal byte position, the time as written), short entries padded with
 * empty cells; the table has no title.  A cluster without a history key
 * gets the header alone.
 *
 *-------------------------------------------------------------------------
 */
#include "pghactl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

/*
 * Keep control characters (escape sequences) from etcd off the terminal;
 * a newline stays, patronictl shows it as a multi-line cell.
 */
static void
sanitize(char *s)
{
	for (; *s; s++)
		if (((unsigned char) *s < 0x20 && *s != '\n') || *s == 0x7f)
			*s = '?';
}

int
pghactl_cmd_history(const PghactlSettings *st, const PghactlArgs *args)
{
	EtcdKVList	kvs;
	char		prefix[PGHACTL_PREFIX_LEN];
	char		key[PGHACTL_PREFIX_LEN + 8];
	const EtcdKV *kv;
	PghaHistoryEntry *entries = NULL;
	PghactlTable t;
	int			n = 0;
	int			i;
	int			rc;

	rc = pghactl_fetch_cluster(st, &kvs, prefix, sizeof(prefix));
	if (rc != PGHACTL_EXIT_OK)
		return rc;
	snprintf(key, sizeof(key), "%shistory", prefix);
	kv = etcd_kvlist_find(&kvs, key);
	if (kv != NULL && kv->value_len > 0)
	{
		char		err[PGHA_ERR_LEN] = "the value contains a NUL byte";
		/* an entry takes at least "[1,2]," in the text: room for all */
		int			max = (int) (kv->value_len / 6) + 1;

		entries = malloc(sizeof(PghaHistoryEntry) * (size_t) max);
		if (entries == NULL)
		{
			fprintf(stderr, "pghactl: out of memory\n");
			etcd_kvlist_free(&kvs);
			return PGHACTL_EXIT_ETCD;
		}
		n = strlen(kv->value) == kv->value_len
			? pgha_history_decode(kv->value, entries, max, err, sizeof(err)) : -1;
		if (n < 0)
		{
			fprintf(stderr, "pghactl: the history key %s cannot be read: %s\n",
					key, err);
			free(entries);
			etcd_kvlist_free(&kvs);
			return PGHACTL_EXIT_ETCD;
		}
	}
	etcd_kvlist_free(&kvs);

	pghactl_table_init(&t);
	pghactl_table_add_column(&t, "TL", true);
	pghactl_table_add_column(&t, "LSN", true);
	pghactl_table_add_column(&t, "Reason", false);
	pghactl_table_add_column(&t, "Timestamp", false);
	pghactl_table_add_column(&t, "New Leader", false);
	for (i = 0; i < n; i++)
	{
		PghaHistoryEntry *e = &entries[i];
		char		tl[16];
		char		lsn[32];
		const char *cells[5];

		snprintf(tl, sizeof(tl), "%d", e->timeline);
		lsn[0] = '\0';
		if (e->lsn >= 0)
			snprintf(lsn, sizeof(lsn), "%" PRId64, e->lsn);
		sanitize(e->reason);
		sanitize(e->time);
		sanitize(e->leader);
		cells[0] = tl;
		cells[1] = lsn;
		cells[2] = e->reason;
		cells[3] = e->time;
		cells[4] = e->leader;
		if (!pghactl_table_add_row(&t, cells))
		{
			fprintf(stderr, "pghactl: out of memory\n");
			pghactl_table_free(&t);
			free(entries);
			return PGHACTL_EXIT_ETCD;
		}
	}
	pghactl_table_print(&t, NULL, stdout);
	fflush(stdout);
	pghactl_table_free(&t);
	free(entries);
	return PGHACTL_EXIT_OK;
}
