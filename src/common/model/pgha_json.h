/*-------------------------------------------------------------------------
 *
 * pgha_json.h
 *	  The one way pgha's C code includes jansson.
 *
 * Inside a postgres process the executable exports json_object(), the SQL
 * function, and the dynamic linker binds pgha.so's calls of jansson's
 * json_object() to it (a base-version definition in the executable
 * satisfies the versioned reference): the keeper crashed with SIGSEGV on
 * its first JSON object.  So new objects are made with json_pack("{}"),
 * which runs inside libjansson where its own json_object() is bound, and
 * the name is poisoned so the mistake cannot come back.  No other jansson
 * symbol clashes with postgres 15's exports (checked with nm -D).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_JSON_H
#define PGHA_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

static inline json_t *
pgha_json_object(void)
{
	return json_pack("{}");
}

/*
 * Patroni's parse_bool(): a JSON boolean, 1 or 0, or one of on/off,
 * true/false, yes/no, 1/0 in any case: 1, 0, or -1 when none of these.
 * Defined in cluster.c.
 */
extern int	pgha_json_bool(json_t *v);

/*
 * The decoding helpers of cluster.c, for the other decoders of etcd values:
 * a JSON object (NULL with a message naming "what" otherwise), and an
 * optional string field copied into a fixed buffer (absent or null = "";
 * wrong type, NUL byte or too long = false with a message).
 */
extern json_t *pgha_json_load_object(const char *json, const char *what,
									 char *errbuf, size_t errlen);
extern bool pgha_json_get_string(json_t *obj, const char *key, char *dst,
								 size_t dstlen, char *errbuf, size_t errlen);

#pragma GCC poison json_object

#endif							/* PGHA_JSON_H */
