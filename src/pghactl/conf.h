/*-------------------------------------------------------------------------
 *
 * conf.h
 *	  pghactl's settings: where they come from and how they are checked.
 *
 * Sources, in increasing precedence: a postgresql.conf-style file (-c),
 * the PGHA_* environment variables, command-line options.  Each setting
 * remembers its source so that an error says where the bad value was
 * written.  Validation uses the same rules as the server (settings.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHACTL_CONF_H
#define PGHACTL_CONF_H

#include <stdbool.h>
#include <stddef.h>

typedef enum PghactlSettingId
{
	PS_SCOPE,
	PS_NAMESPACE,
	PS_ENDPOINTS,
	PS_CACERT,
	PS_CERT,
	PS_KEY,
	PS_USERNAME,
	PS_PASSWORD,
	PS_PASSWORD_FILE,
	PS_NODE_NAME,				/* the node's own settings: node-plan, ... */
	PS_CONNECT_ADDRESS,
	PS_REPLICATION_USER,
	PS_COUNT
} PghactlSettingId;

typedef struct PghactlSetting
{
	char	   *value;			/* malloc'd; NULL or "" when unset */
	char		source[320];	/* "--scope", "PGHA_SCOPE", "file:line" */
} PghactlSetting;

typedef struct PghactlSettings
{
	PghactlSetting s[PS_COUNT];
} PghactlSettings;

#define PGHACTL_DEFAULT_NAMESPACE "/service"
#define PGHACTL_DEFAULT_REPLICATION_USER "postgres"

extern void pghactl_conf_init(PghactlSettings *st);
extern void pghactl_conf_free(PghactlSettings *st);

/* read pgha.* from a postgresql.conf-style file (with its includes) */
extern bool pghactl_conf_load_file(PghactlSettings *st, const char *path,
								   char *errbuf, size_t errlen);
extern void pghactl_conf_load_env(PghactlSettings *st);
/* a command-line option; option is its spelling, e.g. "--scope" */
extern bool pghactl_conf_set(PghactlSettings *st, PghactlSettingId id,
							 const char *value, const char *source);

/*
 * Apply defaults, read the password file if one is named, and check every
 * setting.  need_etcd: scope and endpoints are required.  The message names
 * the setting's source.
 */
extern bool pghactl_conf_finish(PghactlSettings *st, bool need_etcd,
								char *errbuf, size_t errlen);

/* the value, or NULL when unset or empty */
extern const char *pghactl_conf_get(const PghactlSettings *st,
									PghactlSettingId id);

#endif							/* PGHACTL_CONF_H */
