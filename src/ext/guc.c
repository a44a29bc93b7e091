/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  pgha's settings (pgha.*), defined once from _PG_init.
 *
 * What identifies the node (scope, node_name, namespace) needs a restart;
 * everything else reloads on SIGHUP.  Check hooks reject malformed values
 * with the same rules pghactl uses (settings.c).  ttl, loop_wait and
 * retry_timeout are this node's bootstrap values for the shared "config"
 * key, which wins once it exists; their combination (ttl >= loop_wait +
 * 2 * retry_timeout) is checked by the keeper, because a check hook sees
 * one setting at a time.  Files (certificates, password file) are checked
 * by the keeper too: a missing file must not keep postgres from starting.
 *
 *-------------------------------------------------------------------------
 */
#include "pgha.h"

#include "utils/guc.h"

#include "api_policy.h"
#include "keeper_identity.h"
#include "settings.h"
#include "watchdog_policy.h"

char	   *pgha_scope = NULL;
char	   *pgha_node_name = NULL;
char	   *pgha_namespace = NULL;
char	   *pgha_etcd_endpoints = NULL;
char	   *pgha_etcd_cacert = NULL;
char	   *pgha_etcd_cert = NULL;
char	   *pgha_etcd_key = NULL;
char	   *pgha_etcd_username = NULL;
char	   *pgha_etcd_password = NULL;
char	   *pgha_etcd_password_file = NULL;
char	   *pgha_connect_address = NULL;
int			pgha_ttl = 30;
int			pgha_loop_wait = 10;
int			pgha_retry_timeout = 10;
char	   *pgha_replication_user = NULL;
int			pgha_member_slot_retention = 600;
int			pgha_switchover_timeout = 60;
bool		pgha_nofailover = false;
bool		pgha_quick_exit = true;
int			pgha_failover_priority = 1;
char	   *pgha_api_listen = NULL;
char	   *pgha_api_connect_address = NULL;
char	   *pgha_api_username = NULL;
char	   *pgha_api_password = NULL;
char	   *pgha_api_certfile = NULL;
char	   *pgha_api_keyfile = NULL;
char	   *pgha_api_cafile = NULL;
int			pgha_api_verify_client = PGHA_API_VERIFY_NONE;

/* Patroni's restapi.verify_client */
static const struct config_enum_entry api_verify_modes[] = {
	{"none", PGHA_API_VERIFY_NONE, false},
	{"optional", PGHA_API_VERIFY_OPTIONAL, false},
	{"required", PGHA_API_VERIFY_REQUIRED, false},
	{NULL, 0, false}
};

static const struct config_enum_entry watchdog_modes[] = {
	{"off", PGHA_WD_OFF, false},
	{"automatic", PGHA_WD_AUTOMATIC, false},
	{"required", PGHA_WD_REQUIRED, false},
	/* Patroni's spellings */
	{"auto", PGHA_WD_AUTOMATIC, true},
	{"require", PGHA_WD_REQUIRED, true},
	{"disable", PGHA_WD_OFF, true},
	{"disabled", PGHA_WD_OFF, true},
	{NULL, 0, false}
};

typedef bool (*pgha_validator) (const char *s, char *errbuf, size_t errlen);

/* an empty value means "not set"; anything else must pass the validator */
static bool
check_with(pgha_validator validate, char **newval)
{
	char		err[256];

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (validate(*newval, err, sizeof(err)))
		return true;
	/* settings.c speaks in fragments; errdetail wants a sentence */
	err[0] = pg_toupper((unsigned char) err[0]);
	GUC_check_errdetail("%s.", err);
	return false;
}

static bool
check_name(char **newval, void **extra, GucSource source)
{
	return check_with(pgha_valid_name, newval);
}

static bool
check_namespace(char **newval, void **extra, GucSource source)
{
	return check_with(pgha_valid_namespace, newval);
}

static bool
check_endpoints(char **newval, void **extra, GucSource source)
{
	return check_with(pgha_valid_endpoints, newval);
}

static bool
check_connect_address(char **newval, void **extra, GucSource source)
{
	return check_with(pgha_valid_connect_address, newval);
}

/* host:port of pgha.api_listen and pgha.api_connect_address */
static bool
check_api_address(char **newval, void **extra, GucSource source)
{
	char		host[256];
	char		err[256];
	int			port;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (pgha_api_split_host_port(*newval, host, sizeof(host), &port, err, sizeof(err)))
		return true;
	GUC_check_errdetail("%s (expected host:port, as Patroni's restapi.listen).", err);
	return false;
}

static bool
check_path(char **newval, void **extra, GucSource source)
{
	if (*newval != NULL && (*newval)[0] != '\0' && (*newval)[0] != '/')
	{
		GUC_check_errdetail("The path must be absolute.");
		return false;
	}
	return true;
}

static void
define_string(const char *name, const char *desc, char **var,
			  const char *boot, GucContext ctx, int flags,
			  GucStringCheckHook check)
{
	DefineCustomStringVariable(name, desc, NULL, var, boot, ctx, flags,
							   check, NULL, NULL);
}

static void
define_seconds(const char *name, const char *desc, int *var, int boot,
			   int min, int max)
{
	DefineCustomIntVariable(name, desc, NULL, var, boot, min, max,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
}

void
pgha_define_gucs(void)
{
	define_string("pgha.scope", "Name of the HA cluster (Patroni's scope).",
				  &pgha_scope, "", PGC_POSTMASTER, 0, check_name);
	define_string("pgha.node_name", "Name of this member in the cluster.",
				  &pgha_node_name, "", PGC_POSTMASTER, 0, check_name);
	define_string("pgha.namespace", "Prefix of the cluster's keys in etcd.",
				  &pgha_namespace, "/service", PGC_POSTMASTER, 0,
				  check_namespace);
	define_string("pgha.etcd_endpoints",
				  "Comma-separated etcd client URLs (http:// or https://host:port).",
				  &pgha_etcd_endpoints, "", PGC_SIGHUP, 0, check_endpoints);
	define_string("pgha.etcd_cacert", "CA certificate file for etcd's TLS.",
				  &pgha_etcd_cacert, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY,
				  check_path);
	define_string("pgha.etcd_cert", "Client certificate file for etcd.",
				  &pgha_etcd_cert, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY,
				  check_path);
	define_string("pgha.etcd_key", "Client private key file for etcd.",
				  &pgha_etcd_key, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY,
				  check_path);
	define_string("pgha.etcd_username", "User name for etcd authentication.",
				  &pgha_etcd_username, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY,
				  NULL);
	define_string("pgha.etcd_password", "Password for etcd authentication.",
				  &pgha_etcd_password, "", PGC_SIGHUP,
				  GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL, NULL);
	define_string("pgha.etcd_password_file",
				  "File holding the etcd password (used when pgha.etcd_password is empty).",
				  &pgha_etcd_password_file, "", PGC_SIGHUP,
				  GUC_SUPERUSER_ONLY, check_path);
	define_string("pgha.connect_address",
				  "host:port that other members and clients use to reach this node.",
				  &pgha_connect_address, "", PGC_SIGHUP, 0,
				  check_connect_address);
	define_seconds("pgha.ttl",
				   "Leader lease TTL (bootstrap value for the shared config).",
				   &pgha_ttl, 30, PGHA_TTL_MIN, PGHA_TTL_MAX);
	define_seconds("pgha.loop_wait",
				   "Seconds between keeper loops (bootstrap value for the shared config).",
				   &pgha_loop_wait, 10, PGHA_LOOP_WAIT_MIN, PGHA_LOOP_WAIT_MAX);
	define_seconds("pgha.retry_timeout",
				   "Time budget for etcd requests of one loop (bootstrap value for the shared config).",
				   &pgha_retry_timeout, 10, PGHA_RETRY_TIMEOUT_MIN,
				   PGHA_RETRY_TIMEOUT_MAX);

	define_string("pgha.replication_user",
				  "User that standbys use in primary_conninfo to stream from the leader.",
				  &pgha_replication_user, "postgres", PGC_SIGHUP, 0, check_name);
	DefineCustomIntVariable("pgha.member_slot_retention",
							"How long the leader keeps the replication slot of a member that left etcd.",
							NULL, &pgha_member_slot_retention, 600, 0, 7 * 24 * 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);

	DefineCustomIntVariable("pgha.switchover_timeout",
							"How long pgha_switchover() and pgha_failover() wait for the new leader.",
							NULL, &pgha_switchover_timeout, 60, 1, 3600,
							PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);

	DefineCustomBoolVariable("pgha.nofailover",
							 "Never promote this member (Patroni's nofailover tag).",
							 NULL, &pgha_nofailover, false, PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("pgha.quick_exit",
							 "End every server process with _exit() once PostgreSQL's own exit callbacks have run, skipping the libraries' teardown (quick_exit.c).",
							 NULL, &pgha_quick_exit, true, PGC_POSTMASTER, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("pgha.failover_priority",
							"Among equally advanced candidates, the higher priority wins (Patroni's failover_priority tag; 0 = never).",
							NULL, &pgha_failover_priority, 1, 0, 1000000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomEnumVariable("pgha.watchdog_mode",
							 "Use the Linux watchdog device while leading: off, automatic (when it works) or required (never lead without it), as Patroni's watchdog.mode.",
							 NULL, &pgha_watchdog_mode, PGHA_WD_OFF, watchdog_modes,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("pgha.watchdog_device",
							   "The watchdog device the leader keeps alive.",
							   NULL, &pgha_watchdog_device, "/dev/watchdog",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pgha.watchdog_safety_margin",
							"The watchdog fires this long before the leader lease can expire (timeout = ttl - margin; -1 = ttl / 2).",
							NULL, &pgha_watchdog_safety_margin, 5, -1, 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);

	define_string("pgha.api_listen",
				  "host:port on which the REST api listens (Patroni's restapi.listen); empty = no api.",
				  &pgha_api_listen, "", PGC_POSTMASTER, 0, check_api_address);
	define_string("pgha.api_connect_address",
				  "host:port published in the member key's api_url (default: pgha.api_listen).",
				  &pgha_api_connect_address, "", PGC_SIGHUP, 0, check_api_address);
	define_string("pgha.api_username",
				  "User name of the REST api's basic authentication for POST, PUT, PATCH and DELETE.",
				  &pgha_api_username, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL);
	define_string("pgha.api_password",
				  "Password of the REST api's basic authentication.",
				  &pgha_api_password, "", PGC_SIGHUP,
				  GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL, NULL);
	define_string("pgha.api_certfile", "Certificate file (PEM) of the REST api's TLS; empty = plain HTTP.",
				  &pgha_api_certfile, "", PGC_POSTMASTER, GUC_SUPERUSER_ONLY, check_path);
	define_string("pgha.api_keyfile", "Private key file (PEM) of the REST api's TLS.",
				  &pgha_api_keyfile, "", PGC_POSTMASTER, GUC_SUPERUSER_ONLY, check_path);
	define_string("pgha.api_cafile", "CA certificates (PEM) that the REST api verifies client certificates with.",
				  &pgha_api_cafile, "", PGC_POSTMASTER, GUC_SUPERUSER_ONLY, check_path);
	DefineCustomEnumVariable("pgha.api_verify_client",
							 "Client certificates of the REST api: none, optional (verified when sent; unsafe methods then need one), or required (every request), as Patroni's restapi.verify_client.",
							 NULL, &pgha_api_verify_client, PGHA_API_VERIFY_NONE,
							 api_verify_modes, PGC_POSTMASTER, 0, NULL, NULL, NULL);

	MarkGUCPrefixReserved("pgha");
}
