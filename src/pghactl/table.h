/*-------------------------------------------------------------------------
 *
 * table.h
 *	  Tables laid out like patronictl's (prettytable 3 with a title in the
 *	  top rule), so that pghactl's output can be compared line by line.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHACTL_TABLE_H
#define PGHACTL_TABLE_H

#include <stdbool.h>
#include <stdio.h>

#define PGHACTL_TABLE_MAX_COLS 16

typedef struct PghactlTable
{
	int			ncols;
	const char *headers[PGHACTL_TABLE_MAX_COLS];
	bool		right[PGHACTL_TABLE_MAX_COLS];	/* right-aligned column */
	int			nrows;
	int			caprows;
	char	  **cells;			/* nrows * ncols malloc'd strings */
} PghactlTable;

extern void pghactl_table_init(PghactlTable *t);
/* headers must outlive the table */
extern void pghactl_table_add_column(PghactlTable *t, const char *header,
									 bool right_aligned);
/* copies the ncols strings; a cell may hold several lines */
extern bool pghactl_table_add_row(PghactlTable *t, const char *const *cells);
/* title is written into the top rule, truncated to fit, like patronictl */
extern void pghactl_table_print(const PghactlTable *t, const char *title,
								FILE *out);
extern void pghactl_table_free(PghactlTable *t);

#endif							/* PGHACTL_TABLE_H */
