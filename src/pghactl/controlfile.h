/*-------------------------------------------------------------------------
 *
 * controlfile.h
 *	  A data directory's control file read directly (controlfile.c),
 *	  without a fork of pg_controldata.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHACTL_CONTROLFILE_H
#define PGHACTL_CONTROLFILE_H

#include <stdbool.h>

#include "node_plan.h"

/*
 * PGDATA/global/pg_control into *cd, as pgha_parse_controldata() reads
 * pg_controldata's output.  False when the file is missing or short, of
 * another PostgreSQL version, or fails its CRC (a read torn by a
 * concurrent write, garbage): the caller then asks pg_controldata.
 */
extern bool pghactl_control_read(const char *pgdata, PghaControlData *cd);

#endif
