/*-------------------------------------------------------------------------
 *
 * main.c
 *	  pghactl: the operator's command-line tool for a pgha cluster.
 *
 * Parses the options, gathers the settings (file, environment, options,
 * in that order of precedence), and runs one command.  Options may come
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

typedef struct Command
{
	const char *name;
	int			(*run) (const PghactlSettings *st);
	const char *summary;
	const char *help;
} Command;

static const Command commands[] = {
	{"list", pghactl_cmd_list,
		"show the members of the cluster, as patronictl list does",
		"Show the cluster's members, one row each, as patronictl 3 lists them:\n"
		"name, host, role (Leader or Replica, from the leader key), state,\n"
		"timeline and lag behind the leader's last known WAL position in MB\n"
		"(\"unknown\" when a member publishes no position).  Reads etcd only: the\n"
		"members' servers need not be reachable.  \" Maintenance mode: on\" follows\n"
		"the table when the cluster is paused.  Member keys that cannot be decoded\n"
		"are reported on stderr.\n"},
	{"show-config", pghactl_cmd_show_config,
		"show the cluster's dynamic configuration (the config key)",
		"Print the cluster's dynamic configuration, the JSON stored in the\n"
		"<namespace>/<scope>/config key, indented.  Exit status 3 when the\n"
		"cluster or its config key does not exist.\n"},
	{"version", NULL,
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
		fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
			"\n"
			"Options:\n"
			"  -c, --config=FILE      read pgha.* settings from FILE, in postgresql.conf\n"
			"                         syntax (e.g. $PGDATA/postgresql.conf)\n"
			"      --scope=NAME       the cluster's name (pgha.scope)\n"
			"      --namespace=PATH   etcd key prefix (pgha.namespace, default /service)\n"
			"      --endpoints=URLS   etcd endpoints: comma-separated http(s)://host:port\n"
			"                         (pgha.etcd_endpoints)\n"
			"  -h, --help             show this help, or a command's help\n"
			"  -V, --version          show the version\n"
			"\n"
			"Settings come from the -c file, then the environment, then the options,\n"
			"later ones winning.  Environment: PGHA_SCOPE, PGHA_NAMESPACE,\n"
			"PGHA_ETCD_ENDPOINTS, PGHA_ETCD_CACERT, PGHA_ETCD_CERT, PGHA_ETCD_KEY,\n"
			"PGHA_ETCD_USERNAME, PGHA_ETCD_PASSWORD, PGHA_ETCD_PASSWORD_FILE; in the\n"
			"file, the pgha.* settings of the same names (pgha.etcd_cacert, ...).\n"
			"etcd requests time out after %d s (connect: %d s) per endpoint.\n"
			"\n"
			"Exit status:\n"
			"  0  success\n"
			"  1  etcd unreachable, or etcd answered with an error\n"
			"  2  usage error or invalid settings\n"
			"  3  cluster not found (no keys under <namespace>/<scope>/)\n",
			PGHACTL_REQUEST_TIMEOUT_MS / 1000, PGHACTL_CONNECT_TIMEOUT_MS / 1000);
}

static void
command_help(const Command *cmd)
{
	printf("Usage: pghactl [OPTION]... %s\n\n%s\n"
		   "See pghactl --help for the options and the exit statuses.\n",
		   cmd->name, cmd->help);
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
	OPT_ENDPOINTS
};

int
main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"config", required_argument, NULL, 'c'},
		{"scope", required_argument, NULL, OPT_SCOPE},
		{"namespace", required_argument, NULL, OPT_NAMESPACE},
		{"endpoints", required_argument, NULL, OPT_ENDPOINTS},
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

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:hV", long_options, NULL)) != -1)
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
	if (!pghactl_conf_finish(&st, err, sizeof(err)))
	{
		fprintf(stderr, "pghactl: %s\n", err);
		goto done;
	}
	rc = cmd->run(&st);

done:
	pghactl_conf_free(&st);
	return rc;
}
