/*-------------------------------------------------------------------------
 *
 * main.c
 *	  pghactl: the operator's command-line tool for a pgha cluster.
 *
 * Parses the options, gathers the settings (file, environment, options,
 * in that order of precedence), and runs one command: the operator's
 * (list, show-config) or one that pgha-watchdog asks (node-plan,
 * recovery-conf, node-info, leader-release, initialize-cancel,
 * heartbeat-check).  Options may come
 * before or after the command name.  Everything a command prints for
 * people goes to stdout; diagnostics go to stderr with a "pghactl:"
 * prefix; the exit status says what kind of failure happened (see
 * usage()), so that scripts need not parse messages.
 *
 *-------------------------------------------------------------------------
 */
#include "pghactl.h"

#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* what a command needs and which of the command options it takes */
#define CMD_ETCD		(1 << 0)	/* scope and etcd endpoints */
#define CMD_NODE		(1 << 1)	/* pgha.node_name */
#define CMD_PGDATA		(1 << 2)	/* -D, required */
#define CMD_UPSTREAM	(1 << 3)	/* --upstream or --no-upstream, required */
#define CMD_BINDIR		(1 << 4)	/* --bindir, optional */
#define CMD_PGDATA_OPT	(1 << 5)	/* -D, optional */

typedef struct Command
{
	const char *name;
	int			(*run) (const PghactlSettings *st, const PghactlArgs *args);
	int			flags;
	const char *usage;			/* the command's own options */
	const char *summary;
	const char *help;
} Command;

static int
run_list(const PghactlSettings *st, const PghactlArgs *args)
{
	return pghactl_cmd_list(st);
}

static int
run_show_config(const PghactlSettings *st, const PghactlArgs *args)
{
	return pghactl_cmd_show_config(st);
}

static const Command commands[] = {
	{"list", run_list, CMD_ETCD, "",
		"show the members of the cluster, as patronictl list does",
		"Show the cluster's members, one row each, as patronictl 3 lists them:\n"
		"name, host, role (Leader or Replica, from the leader key), state,\n"
		"timeline and lag behind the leader's last known WAL position in MB\n"
		"(\"unknown\" when a member publishes no position).  Reads etcd only: the\n"
		"members' servers need not be reachable.  \" Maintenance mode: on\" follows\n"
		"the table when the cluster is paused.  Member keys that cannot be decoded\n"
		"are reported on stderr.\n"},
	{"show-config", run_show_config, CMD_ETCD, "",
		"show the cluster's dynamic configuration (the config key)",
		"Print the cluster's dynamic configuration, the JSON stored in the\n"
		"<namespace>/<scope>/config key, indented.  Exit status 3 when the\n"
		"cluster or its config key does not exist.\n"},
	{"node-plan", pghactl_cmd_node_plan, CMD_ETCD | CMD_NODE | CMD_PGDATA | CMD_BINDIR,
		" -D PGDATA [--bindir=DIR]",
		"what pgha-watchdog does next with a stopped node",
		"Print one line saying what pgha-watchdog should do with this node, whose\n"
		"postgres is not running: \"initdb\", \"clone HOST PORT\", \"start-replica\n"
		"HOST PORT\", \"start-replica - -\" (a standby without upstream), \"rewind HOST\n"
		"PORT\" or \"wait REASON\".  Why goes to stderr.  It looks at PGDATA (empty or\n"
		"missing: bootstrap; pgha.fenced; backup_label), at pg_controldata's output\n"
		"(state and timeline) and at etcd (leader key, the leader's conn_url and\n"
		"timeline, initialize).  \"initdb\" is printed only after this node won the\n"
		"<prefix>initialize key (created if absent, with an empty value, as Patroni\n"
		"does).  A node that was a primary on an older timeline than the leader's\n"
		"is rewound; a crashed primary that still holds the leader key is restarted\n"
		"as a standby, which its keeper promotes.  Needs pgha.node_name.\n"
		"  -D, --pgdata=DIR   the data directory\n"
		"      --bindir=DIR   where pg_controldata is (default: pghactl's own\n"
		"                     directory if it has one, else " PGHACTL_DEFAULT_BINDIR ")\n"},
	{"recovery-conf", pghactl_cmd_recovery_conf, CMD_NODE | CMD_PGDATA | CMD_UPSTREAM,
		" -D PGDATA {--upstream=HOST:PORT | --no-upstream}",
		"write PGDATA/pgha_recovery.conf (a standby's upstream)",
		"Write PGDATA/pgha_recovery.conf, which postgresql.conf includes: the\n"
		"primary_conninfo of a standby streaming from HOST:PORT as\n"
		"pgha.replication_user (default postgres; the password comes from\n"
		"~/.pgpass), with application_name = pgha.node_name and primary_slot_name\n"
		"= the node's slot name; or, with --no-upstream, an empty\n"
		"primary_conninfo.  The file is replaced atomically.  Needs pgha.node_name.\n"},
	{"node-info", pghactl_cmd_node_info, CMD_NODE, "",
		"this node's name, slot name and replication user",
		"Print this node's settings that pgha-watchdog needs, one \"key value\"\n"
		"line each: name (pgha.node_name), slot (the replication slot name\n"
		"derived from it, as the keeper derives it), replication_user\n"
		"(pgha.replication_user, default postgres), scope, connect_address.\n"
		"Needs pgha.node_name; reads no etcd.\n"},
	{"leader-release", pghactl_cmd_leader_release,
		CMD_ETCD | CMD_NODE | CMD_PGDATA_OPT | CMD_BINDIR, " [-D PGDATA]",
		"delete the leader key if it names this node",
		"Delete the leader key in one transaction guarded by value ==\n"
		"pgha.node_name, so that a replica takes over at once instead of waiting\n"
		"for the lease to expire.  Only for a node whose postgres is stopped.\n"
		"With -D, first publish the node's final WAL position (the latest\n"
		"checkpoint, from pg_controldata) as the status key's optime: a\n"
		"switchover candidate takes over only once it has received it.\n"
		"Exit status 0 when released, 5 when the key is absent or names another\n"
		"member (it says which), 1 on an etcd error.\n"},
	{"initialize-cancel", pghactl_cmd_initialize_cancel, CMD_ETCD, "",
		"delete an initialize key left empty by a failed bootstrap",
		"Delete the <prefix>initialize key when its value is still empty: a\n"
		"bootstrap claimed it (node-plan said \"initdb\") and failed before a\n"
		"primary wrote its system identifier there.  A key holding a system\n"
		"identifier is never deleted.  Exit status 0 when deleted, 5 when absent\n"
		"or already holding an identifier, 1 on an etcd error.\n"},
	{"heartbeat-check", pghactl_cmd_heartbeat_check, CMD_PGDATA, " -D PGDATA",
		"is a running primary past its keeper's fencing deadline?",
		"Read PGDATA/pgha.heartbeat, which the keeper writes after every loop,\n"
		"and PGDATA/postmaster.pid.  Exit status 4 when the node is a primary\n"
		"and the fencing deadline in the heartbeat has passed: the keeper should\n"
		"have stopped writes then, and it did not (hung, stopped); the watchdog\n"
		"then stops postgres.  Otherwise exit status 0, and a line starting with\n"
		"\"ok:\" or, when something deserves a look, \"warning:\": no heartbeat\n"
		"written since the postmaster started more than 30 s ago (is pgha\n"
		"preloaded?), or a heartbeat older than 60 s (a hung keeper).  A\n"
		"heartbeat older than the postmaster belongs to an earlier run and is\n"
		"ignored.  Needs no settings.\n"
		"  -D, --pgdata=DIR   the data directory\n"},
	{"version", NULL, 0, "",
		"show pghactl's version",
		"Print pghactl's version.  Needs no settings.\n"},
};

#define NCOMMANDS ((int) (sizeof(commands) / sizeof(commands[0])))

static void
usage(FILE *out)
{
	int			i;

	fprintf(out,
			"pghactl controls a pgha cluster through etcd, like patronictl.\n"
			"\n"
			"Usage:\n"
			"  pghactl [OPTION]... COMMAND\n"
			"  pghactl COMMAND --help\n"
			"\n"
			"Commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-18s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
			"\n"
			"Options:\n"
			"  -c, --config=FILE      read pgha.* settings from FILE, in postgresql.conf\n"
			"                         syntax (e.g. $PGDATA/postgresql.conf)\n"
			"      --scope=NAME       the cluster's name (pgha.scope)\n"
			"      --namespace=PATH   etcd key prefix (pgha.namespace, default /service)\n"
			"      --endpoints=URLS   etcd endpoints: comma-separated http(s)://host:port\n"
			"                         (pgha.etcd_endpoints)\n"
			"  -D, --pgdata=DIR       data directory (node-plan, recovery-conf,\n"
			"                         heartbeat-check)\n"
			"      --upstream=HOST:PORT, --no-upstream   (recovery-conf)\n"
			"      --bindir=DIR       PostgreSQL's programs (node-plan)\n"
			"  -h, --help             show this help, or a command's help\n"
			"  -V, --version          show the version\n"
			"\n"
			"Settings come from the -c file, then the environment, then the options,\n"
			"later ones winning.  Environment: PGHA_SCOPE, PGHA_NAMESPACE,\n"
			"PGHA_ETCD_ENDPOINTS, PGHA_ETCD_CACERT, PGHA_ETCD_CERT, PGHA_ETCD_KEY,\n"
			"PGHA_ETCD_USERNAME, PGHA_ETCD_PASSWORD, PGHA_ETCD_PASSWORD_FILE,\n"
			"PGHA_NODE_NAME, PGHA_CONNECT_ADDRESS, PGHA_REPLICATION_USER; in the\n"
			"file, the pgha.* settings of the same names (pgha.etcd_cacert, ...).\n"
			"etcd requests time out after %d s (connect: %d s) per endpoint.\n"
			"\n"
			"Exit status:\n"
			"  0  success\n"
			"  1  etcd unreachable, or etcd answered with an error\n"
			"  2  usage error, invalid settings, or a local file that cannot be\n"
			"     read or written\n"
			"  3  cluster not found (no keys under <namespace>/<scope>/)\n"
			"  4  heartbeat-check: a primary past its keeper's fencing deadline\n"
			"  5  leader-release, initialize-cancel: the key is absent or not this\n"
			"     node's to delete\n",
			PGHACTL_REQUEST_TIMEOUT_MS / 1000, PGHACTL_CONNECT_TIMEOUT_MS / 1000);
}

static void
command_help(const Command *cmd)
{
	printf("Usage: pghactl [OPTION]... %s%s\n\n%s\n"
		   "See pghactl --help for the options and the exit statuses.\n",
		   cmd->name, cmd->usage, cmd->help);
}

static const Command *
find_command(const char *name)
{
	int			i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int
usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "pghactl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry \"pghactl --help\" for more information.\n");
	return PGHACTL_EXIT_USAGE;
}

enum
{
	OPT_SCOPE = 1000,
	OPT_NAMESPACE,
	OPT_ENDPOINTS,
	OPT_UPSTREAM,
	OPT_NO_UPSTREAM,
	OPT_BINDIR
};

/* a command option given to a command that does not take it */
static int
check_command_options(const Command *cmd, const PghactlArgs *args)
{
	const char *wrong = NULL;

	if (args->pgdata && !(cmd->flags & (CMD_PGDATA | CMD_PGDATA_OPT)))
		wrong = "-D";
	else if ((args->upstream || args->no_upstream) && !(cmd->flags & CMD_UPSTREAM))
		wrong = args->upstream ? "--upstream" : "--no-upstream";
	else if (args->bindir && !(cmd->flags & CMD_BINDIR))
		wrong = "--bindir";
	if (wrong != NULL)
	{
		fprintf(stderr, "pghactl: option \"%s\" does not apply to command \"%s\"\n"
				"Try \"pghactl %s --help\" for more information.\n",
				wrong, cmd->name, cmd->name);
		return PGHACTL_EXIT_USAGE;
	}
	if ((cmd->flags & CMD_PGDATA) && args->pgdata == NULL)
		return usage_error("command \"%s\" needs -D PGDATA", cmd->name);
	if ((cmd->flags & CMD_UPSTREAM) &&
		(args->upstream != NULL) == args->no_upstream)
		return usage_error("command \"%s\" needs exactly one of --upstream=HOST:PORT and --no-upstream",
						   cmd->name);
	return PGHACTL_EXIT_OK;
}

int
main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"config", required_argument, NULL, 'c'},
		{"scope", required_argument, NULL, OPT_SCOPE},
		{"namespace", required_argument, NULL, OPT_NAMESPACE},
		{"endpoints", required_argument, NULL, OPT_ENDPOINTS},
		{"pgdata", required_argument, NULL, 'D'},
		{"upstream", required_argument, NULL, OPT_UPSTREAM},
		{"no-upstream", no_argument, NULL, OPT_NO_UPSTREAM},
		{"bindir", required_argument, NULL, OPT_BINDIR},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	const char *config_file = NULL;
	const char *opt_scope = NULL;
	const char *opt_namespace = NULL;
	const char *opt_endpoints = NULL;
	bool		help = false;
	bool		version = false;
	const Command *cmd = NULL;
	PghactlArgs args;
	PghactlSettings st;
	char		err[512];
	int			c;
	int			rc;

	/*
	 * Column widths are measured like prettytable's (wcwidth), which needs
	 * to know the text is UTF-8, whatever the user's locale: etcd values
	 * are UTF-8 JSON.  Only LC_CTYPE, so messages and numbers are unchanged.
	 */
	if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
		(void) setlocale(LC_CTYPE, "");

	memset(&args, 0, sizeof(args));
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:D:hV", long_options, NULL)) != -1)
	{
		switch (c)
		{
			case 'c':
				config_file = optarg;
				break;
			case OPT_SCOPE:
				opt_scope = optarg;
				break;
			case OPT_NAMESPACE:
				opt_namespace = optarg;
				break;
			case OPT_ENDPOINTS:
				opt_endpoints = optarg;
				break;
			case 'D':
				args.pgdata = optarg;
				break;
			case OPT_UPSTREAM:
				args.upstream = optarg;
				break;
			case OPT_NO_UPSTREAM:
				args.no_upstream = true;
				break;
			case OPT_BINDIR:
				args.bindir = optarg;
				break;
			case 'h':
				help = true;
				break;
			case 'V':
				version = true;
				break;
			case ':':
				return usage_error("option \"%s\" needs a value", argv[optind - 1]);
			default:
				return usage_error("unknown option \"%s\"", argv[optind - 1]);
		}
	}

	/* "pghactl help [COMMAND]" is --help spelt as a command */
	if (optind < argc && strcmp(argv[optind], "help") == 0)
	{
		help = true;
		optind++;
	}
	if (optind < argc)
	{
		cmd = find_command(argv[optind]);
		if (cmd == NULL)
			return usage_error("unknown command \"%s\"", argv[optind]);
		optind++;
	}
	if (optind < argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);

	if (help)
	{
		if (cmd)
			command_help(cmd);
		else
			usage(stdout);
		return PGHACTL_EXIT_OK;
	}
	if (version || (cmd != NULL && cmd->run == NULL))
	{
		printf("pghactl version %s\n", PGHA_VERSION_STRING);
		return PGHACTL_EXIT_OK;
	}
	if (cmd == NULL)
	{
		usage(stderr);
		return PGHACTL_EXIT_USAGE;
	}
	if ((rc = check_command_options(cmd, &args)) != PGHACTL_EXIT_OK)
		return rc;

	pghactl_conf_init(&st);
	rc = PGHACTL_EXIT_USAGE;
	if (config_file != NULL && !pghactl_conf_load_file(&st, config_file, err, sizeof(err)))
	{
		fprintf(stderr, "pghactl: %s\n", err);
		goto done;
	}
	pghactl_conf_load_env(&st);
	if ((opt_scope && !pghactl_conf_set(&st, PS_SCOPE, opt_scope, "--scope")) ||
		(opt_namespace && !pghactl_conf_set(&st, PS_NAMESPACE, opt_namespace, "--namespace")) ||
		(opt_endpoints && !pghactl_conf_set(&st, PS_ENDPOINTS, opt_endpoints, "--endpoints")))
	{
		fprintf(stderr, "pghactl: out of memory\n");
		goto done;
	}
	if (!pghactl_conf_finish(&st, (cmd->flags & CMD_ETCD) != 0, err, sizeof(err)))
	{
		fprintf(stderr, "pghactl: %s\n", err);
		goto done;
	}
	if ((cmd->flags & CMD_NODE) && pghactl_conf_get(&st, PS_NODE_NAME) == NULL)
	{
		fprintf(stderr, "pghactl: command \"%s\" needs this node's name: pgha.node_name in a -c file, or PGHA_NODE_NAME\n",
				cmd->name);
		goto done;
	}
	rc = cmd->run(&st, &args);

done:
	pghactl_conf_free(&st);
	return rc;
}
