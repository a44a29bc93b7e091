/*-------------------------------------------------------------------------
 *
 * settings.h
 *	  Validation of pgha's settings, shared by the GUC check hooks of
 *	  pgha.so and by pghactl.
 *
 * Plain C, no PostgreSQL dependencies, so that the cmocka unit tests cover
 * every rule.  Each validator returns true when the value is acceptable and
 * otherwise writes one lower-case sentence fragment into errbuf that the
 * caller turns into errdetail / an error message.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_SETTINGS_H
#define PGHA_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#define PGHA_MAX_ENDPOINTS 16

/* ranges, in seconds, shared by GUCs, the config key and pghactl */
#define PGHA_TTL_MIN			2
#define PGHA_TTL_MAX			3600
#define PGHA_LOOP_WAIT_MIN		1
#define PGHA_LOOP_WAIT_MAX		3600
#define PGHA_RETRY_TIMEOUT_MIN	1
#define PGHA_RETRY_TIMEOUT_MAX	3600

/* member name or scope: 1..63 chars of [A-Za-z0-9_.-], not starting with '.' */
extern bool pgha_valid_name(const char *s, char *errbuf, size_t errlen);
/* "/service": starts with '/', printable, no whitespace, no "//", <= 128 */
extern bool pgha_valid_namespace(const char *s, char *errbuf, size_t errlen);
/* comma-separated http:// or https:// URLs host:port, no path; 1..16 */
extern bool pgha_valid_endpoints(const char *s, char *errbuf, size_t errlen);
/* "host:port", host a name, IPv4 or [IPv6], port 1..65535 */
extern bool pgha_valid_connect_address(const char *s, char *errbuf,
									   size_t errlen);
/* each in range and ttl >= loop_wait + 2 * retry_timeout */
extern bool pgha_valid_timing(int ttl, int loop_wait, int retry_timeout,
							  char *errbuf, size_t errlen);
/* "" or a readable file path (absolute) */
extern bool pgha_valid_file_path(const char *s, char *errbuf, size_t errlen);

/*
 * Split an endpoint list into at most max trimmed entries, copied into
 * out[i] (each outlen bytes).  Returns the count, or -1 when invalid.
 */
extern int	pgha_split_endpoints(const char *s, char out[][128], int max);

#endif							/* PGHA_SETTINGS_H */
