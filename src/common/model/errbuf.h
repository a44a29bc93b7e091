/*-------------------------------------------------------------------------
 *
 * errbuf.h
 *	  The error convention of pgha's plain-C modules: a function that can
 *	  fail takes (char *errbuf, size_t errlen) and writes one message
 *	  there; NULL or 0 means the caller does not want it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_ERRBUF_H
#define PGHA_ERRBUF_H

#include <stddef.h>

extern void pgha_set_error(char *errbuf, size_t errlen, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

#endif							/* PGHA_ERRBUF_H */
