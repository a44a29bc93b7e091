/*-------------------------------------------------------------------------
 *
 * main.c
 *	  pghactl: the operator's command-line tool for a pgha cluster.
 *
 * Parses the options, gathers the settings (file, environment, options,
 * in that order of precedence), and runs one command: the operator's
 * (list, show-config, edit-config, history, pause, resume, switchover,
 * failover, remove) or one that pgha-watchdog asks (node-plan,
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

#include <errno.h>
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
#define CMD_LEADER		(1 << 6)	/* --leader */
#define CMD_CANDIDATE	(1 << 7)	/* --candidate */
#define CMD_SCHEDULE	(1 << 8)	/* --scheduled, --cancel */
#define CMD_FORCE		(1 << 9)	/* --force */
#define CMD_TIMEOUT		(1 << 10)	/* --timeout */
#define CMD_EDIT		(1 << 11)	/* --set, --pg, --replace, --dry-run */
#define CMD_CONFIRM		(1 << 12)	/* --confirm */
#define CMD_MEMBERS		(1 << 13)	/* MEMBER... arguments */
#define CMD_RESTART		(1 << 14)	/* --pending, --pg-version */
#define CMD_ROLE		(1 << 15)	/* --role */

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
	return pghactl_cmd_list(st, args->pgdata);
}

static int
run_show_config(const PghactlSettings *st, const PghactlArgs *args)
{
	return pghactl_cmd_show_config(st);
}

static const Command commands[] = {
	{"list", run_list, CMD_ETCD | CMD_PGDATA_OPT, " [-D PGDATA]",
		"show the members of the cluster, as patronictl list does",
		"Show the cluster's members, one row each, as patronictl 3 lists them:\n"
		"name, host, role (Leader or Replica, from the leader key), state,\n"
		"timeline and lag behind the leader's last known WAL position in MB\n"
		"(\"unknown\" when a member publishes no position).  Reads etcd only: the\n"
		"members' servers need not be reachable.  \" Maintenance mode: on\" follows\n"
		"the table when the cluster is paused.  Member keys that cannot be decoded\n"
		"are reported on stderr.  With -D, a line after the table says when this\n"
		"node is kept out of the cluster because another live member uses its\n"
		"name (safety rule 6).\n"},
	{"topology", pghactl_cmd_topology, CMD_ETCD, "",
		"show the members as a tree, as patronictl topology does",
		"The list of \"pghactl list\" with the leader first and every replica\n"
		"under it, its name prefixed with \"+ \", as patronictl topology shows it\n"
		"(pgha has no cascading replicas, so the tree has two levels).\n"},
	{"restart", pghactl_cmd_restart,
		CMD_ETCD | CMD_MEMBERS | CMD_RESTART | CMD_ROLE | CMD_SCHEDULE | CMD_FORCE | CMD_TIMEOUT,
		" [MEMBER]... [--pending] [--role=ROLE] [--pg-version=V] [--scheduled=TIME] [--force] [--timeout=S]\n"
		"       pghactl [OPTION]... restart [MEMBER]... --cancel",
		"restart members' postgres (a leader keeps the leader key)",
		"Restart the postgres of the members named (all without a name), one at\n"
		"a time, replicas first and the leader last, waiting for each to run\n"
		"again (a new postmaster start time, its keeper following or leading)\n"
		"before the next; as patronictl restart does through Patroni's REST API,\n"
		"pghactl calls pgha_restart() on each member's server, through its\n"
		"conn_url with libpq (PGUSER, PGPASSWORD, ~/.pgpass, PGSSLMODE apply; the\n"
		"user needs the role pgha_admin).  The member's keeper shuts postgres down\n"
		"(fast) and pgha-watchdog starts it again: a leader starts as a standby\n"
		"and its keeper promotes it while it holds the leader key (a new\n"
		"timeline, no failover); if it is not back before its lease expires, the\n"
		"best replica takes over.  Prints \"Success: restart on member M\" or\n"
		"\"Failed: restart for member M, (REASON)\"; exit status 6 when a member\n"
		"refused, 7 when one did not run again within --timeout (default 60).\n"
		"      --pending          only members whose settings wait for a restart\n"
		"                         (pending_restart; the others are skipped)\n"
		"      --role=ROLE        only the leader (leader, primary) or the replicas\n"
		"      --pg-version=V     only if the server's version is below V (15.2)\n"
		"      --scheduled=TIME   at that time (ISO 8601), by each member's keeper\n"
		"      --cancel           forget the members' scheduled restarts\n"
		"      --force            do not ask\n"
		"      --timeout=S        how long to wait for each member (default 60)\n"},
	{"reload", pghactl_cmd_reload, CMD_ETCD | CMD_MEMBERS | CMD_ROLE | CMD_FORCE,
		" [MEMBER]... [--role=ROLE] [--force]",
		"reload members' configuration",
		"Ask each member named (all without a name) to reload its configuration\n"
		"(pgha_reload() on its server, through its conn_url as restart does):\n"
		"its files, and postgresql.parameters of the config key, which every\n"
		"keeper applies within loop_wait anyway.  Exit status 6 when a member\n"
		"refused or could not be reached.\n"},
	{"reinit", pghactl_cmd_reinit, CMD_ETCD | CMD_MEMBERS | CMD_FORCE,
		" MEMBER... [--force]",
		"wipe a replica and clone the leader again",
		"Reinitialize the replicas named: each one's keeper shuts postgres down\n"
		"and pgha-watchdog empties its data directory and clones the leader with\n"
		"pg_basebackup (pgha_reinit() on its server).  Refused for the leader and\n"
		"when the cluster has no leader (exit status 6).\n"},
	{"show-config", run_show_config, CMD_ETCD, "",
		"show the cluster's dynamic configuration (the config key)",
		"Print the cluster's dynamic configuration, the JSON stored in the\n"
		"<namespace>/<scope>/config key, indented.  Exit status 3 when the\n"
		"cluster or its config key does not exist.\n"},
	{"edit-config", pghactl_cmd_edit_config, CMD_ETCD | CMD_EDIT | CMD_FORCE,
		" {--set=PATH=VALUE | --pg=NAME=VALUE}... [--replace=FILE] [--dry-run] [--force]",
		"change the dynamic configuration, checked",
		"Change the config key, as patronictl edit-config does (without an editor).\n"
		"--replace starts from the JSON object in FILE (\"-\": stdin) instead of the\n"
		"current configuration; then each --set and --pg is applied, in order.\n"
		"PATH is dotted (postgresql.parameters.work_mem); below\n"
		"postgresql.parameters the rest is one name, so pg_stat_statements.max\n"
		"works.  VALUE is JSON when it parses as JSON (200, true, \"x\", {...}),\n"
		"otherwise a string (256MB, on); null removes the setting.  The result is\n"
		"checked: ttl, loop_wait, retry_timeout in range with ttl >= loop_wait +\n"
		"2 * retry_timeout; maximum_lag_on_failover >= 0; synchronous_node_count\n"
		">= 1; pause, failsafe_mode, synchronous_mode_strict booleans;\n"
		"synchronous_mode a boolean or \"strict\"; postgresql and its parameters\n"
		"objects.  Refused: failsafe_mode true and a standby_cluster (not\n"
		"implemented by pgha), parameters pgha or the node owns (listen_addresses,\n"
		"port, primary_conninfo, synchronous_standby_names, recovery targets,\n"
		"pgha.*, ...), hot_standby or wal_log_hints off, shared_preload_libraries\n"
		"without pgha, and Patroni's lower bounds (max_connections >= 25, ...).\n"
		"Every keeper applies postgresql.parameters (pgha_params.conf and a\n"
		"reload); a value its server rejects is left out and shown in\n"
		"pgha_status().last_error; a setting that needs a restart shows as\n"
		"\"Pending restart\" in list (pghactl restart --pending).\n"
		"Other keys are kept as they are.  The change is shown as a\n"
		"diff, confirmed when stdin is a terminal, and written with a\n"
		"compare-and-swap: if the key changed meanwhile, nothing is written.\n"
		"Exit status 6 when the result is invalid or the key changed meanwhile,\n"
		"8 when not confirmed; \"Not changed\" (0) when there is nothing to do.\n"
		"      --set=PATH=VALUE   set (or, with null, remove) one setting\n"
		"      --pg=NAME=VALUE    --set=postgresql.parameters.NAME=VALUE\n"
		"      --replace=FILE     start from this JSON object\n"
		"      --dry-run          show the diff and the result, write nothing\n"
		"      --force            do not ask\n"},
	{"history", pghactl_cmd_history, CMD_ETCD, "",
		"show the timeline switches (failovers, switchovers)",
		"Print the history key as patronictl history does: one row per timeline\n"
		"switch with the timeline left (TL), the WAL position of the switch as a\n"
		"byte number (LSN), the reason, the time and the new leader, oldest\n"
		"first.  Without a history key only the header is printed.\n"},
	{"pause", pghactl_cmd_pause, CMD_ETCD, "",
		"put the cluster into maintenance mode (no automatic failover)",
		"Set \"pause\": true in the config key, keeping every other field: the\n"
		"keepers stop failing over and fencing until resume.  A compare-and-swap\n"
		"on the key's mod_revision, retried a few times when another writer got\n"
		"there first.  Prints \"Success: cluster management is paused\", or\n"
		"\"Cluster is already paused\" (exit status 0 as well).\n"},
	{"resume", pghactl_cmd_resume, CMD_ETCD, "",
		"leave maintenance mode",
		"Remove \"pause\" from the config key, keeping every other field, as pause\n"
		"sets it.  Prints \"Success: cluster management is resumed\", or \"Cluster\n"
		"is not paused\" (exit status 0 as well).\n"},
	{"switchover", pghactl_cmd_switchover,
		CMD_ETCD | CMD_LEADER | CMD_CANDIDATE | CMD_SCHEDULE | CMD_FORCE | CMD_TIMEOUT,
		" [--leader=NAME] [--candidate=NAME] [--scheduled=TIME] [--force] [--timeout=S]\n"
		"       pghactl [OPTION]... switchover --cancel",
		"hand the leader role to a replica (now or at a set time)",
		"Ask the keepers for a planned switchover by writing the failover key as\n"
		"patronictl does: {\"leader\":\"L\",\"member\":\"C\"}.  Refused (exit status 6)\n"
		"when the cluster has no healthy leader, is paused, the candidate is\n"
		"unknown, the leader, not a running replica on the leader's timeline,\n"
		"tagged nofailover or more than maximum_lag_on_failover behind, or when\n"
		"another request is pending.  Without --candidate the leader's keeper\n"
		"picks the best replica.  When stdin is a terminal it shows the members\n"
		"and asks first (exit status 8 when not confirmed), unless --force.  It\n"
		"then waits until the leader key names the new leader and prints\n"
		"'Successfully switched over to \"C\"'; after --timeout seconds (default\n"
		"60) without a new leader it prints the current one and exits with 7\n"
		"(the request stays pending).  If the keepers clear the request while\n"
		"the leader stays, exit status 6.\n"
		"With --scheduled the request carries \"scheduled_at\" (ISO 8601 with the\n"
		"offset, as Python writes it) and pghactl does not wait.  TIME is\n"
		"YYYY-MM-DDTHH:MM[:SS][+HH:MM] (a space may replace the T; without an\n"
		"offset it is local time) or \"now\"; a time in the past is refused.\n"
		"--cancel withdraws a pending request (scheduled or not), writing {} over\n"
		"it with a compare-and-swap, as patronictl flush does.\n"
		"      --leader=NAME      the current leader (refused if it is not)\n"
		"      --candidate=NAME   the member to take over\n"
		"      --scheduled=TIME   when\n"
		"      --force            do not ask\n"
		"      --timeout=S        how long to wait for the new leader (default 60)\n"
		"      --cancel           withdraw the pending request\n"},
	{"failover", pghactl_cmd_failover, CMD_ETCD | CMD_CANDIDATE | CMD_FORCE | CMD_TIMEOUT,
		" [--candidate=NAME] [--force] [--timeout=S]",
		"promote a replica when the cluster has no healthy leader",
		"A manual failover: write {\"member\":\"C\"} to the failover key so that\n"
		"the candidate takes the leader key, for a cluster without a healthy\n"
		"leader (e.g. paused, where nothing fails over by itself).  Without\n"
		"--candidate the best replica is named.  With a healthy leader it is\n"
		"refused unless --force, and the request then names that leader too.\n"
		"The candidate must pass the switchover checks (running replica, not\n"
		"nofailover, within maximum_lag_on_failover).  It asks first when stdin\n"
		"is a terminal, unless --force, then waits for the leader key to name\n"
		"the candidate ('Successfully failed over to \"C\"'), like switchover:\n"
		"exit status 6 refused, 7 timed out, 8 not confirmed.\n"
		"      --candidate=NAME   the member to promote\n"
		"      --force            allow a failover from a healthy leader; do not ask\n"
		"      --timeout=S        how long to wait for the new leader (default 60)\n"},
	{"remove", pghactl_cmd_remove, CMD_ETCD | CMD_CONFIRM | CMD_FORCE,
		" {--confirm=SCOPE | on a terminal} [--force]",
		"delete every key of a cluster that is gone",
		"Delete every key under <namespace>/<scope>/.  On a terminal it lists the\n"
		"members and asks, as patronictl does, for the cluster's name, then for\n"
		"\"Yes I am aware\" (and the leader's name when there is one); elsewhere\n"
		"--confirm=SCOPE must name the cluster.  A live cluster (a leader key, or\n"
		"a member reporting \"running\") is refused (exit status 6) unless --force:\n"
		"its keepers would rewrite some keys and miss the others.  Exit status 8\n"
		"when the confirmation does not match.\n"
		"      --confirm=SCOPE    the cluster's name, instead of the questions\n"
		"      --force            remove the keys of a live cluster too\n"},
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
		"have stopped writes then, and it did not (hung, stopped);\n"
		"pgha-watchdog's guard (pghactl guard) kills postgres then.  Otherwise\n"
		"exit status 0, and a line starting with \"ok:\" or, when something\n"
		"deserves a look, \"warning:\": no heartbeat written since the postmaster\n"
		"started more than 30 s ago (is pgha preloaded?), or a heartbeat older\n"
		"than 60 s (a hung keeper).  A heartbeat older than the postmaster (its\n"
		"start from /proc, on CLOCK_BOOTTIME) belongs to an earlier run and is\n"
		"ignored.  Needs no settings.\n"
		"  -D, --pgdata=DIR   the data directory\n"},
	{"guard", pghactl_cmd_guard, CMD_PGDATA | CMD_BINDIR, " -D PGDATA [--bindir=DIR]",
		"pgha-watchdog's long-running hung-keeper guard",
		"Guard the running postmaster of PGDATA until it exits: keep the fencing\n"
		"deadline of the keeper's heartbeat (PGDATA/pgha.heartbeat) armed while\n"
		"the node is a primary, also when the heartbeat goes missing, stale or\n"
		"says replica, and when the deadline has passed (+100 ms) and postgres\n"
		"is not shutting down, or still shutting down 15 s after it, SIGKILL the\n"
		"postmaster's process group (and its children) and write pgha.fenced.\n"
		"Sleeps until the postmaster exits, the deadline comes (CLOCK_BOOTTIME)\n"
		"or, when disarmed, the keeper writes a heartbeat.  Prints one line per event: \"ok:\",\n"
		"\"warning:\", \"fence:\", \"wake:\" (after SIGUSR1), \"down:\" (then exits).\n"
		"Needs no settings.  Given the node's settings (-c: pgha.node_name, scope\n"
		"and etcd endpoints), when the postmaster exits and node-plan would say\n"
		"\"release\" (stopped cleanly or fenced while the leader key names this\n"
		"node), it does what leader-release does before its \"down:\" line.\n"
		"  -D, --pgdata=DIR   the data directory\n"
		"      --bindir=DIR   where pg_controldata is (as node-plan)\n"},
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
			"      --leader, --candidate, --scheduled, --cancel, --force, --timeout,\n"
			"      --set, --pg, --replace, --dry-run, --confirm: see the commands' help\n"
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
			"     node's to delete\n"
			"  6  refused: the cluster's state or a check does not allow the request\n"
			"     (switchover, failover, remove, edit-config, pause), or the key\n"
			"     changed meanwhile; nothing was written\n"
			"  7  switchover, failover: no new leader within --timeout (the request\n"
			"     stays pending)\n"
			"  8  not confirmed at the prompt, or --confirm does not match\n",
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
	OPT_BINDIR,
	OPT_LEADER,
	OPT_CANDIDATE,
	OPT_SCHEDULED,
	OPT_CANCEL,
	OPT_FORCE,
	OPT_TIMEOUT,
	OPT_SET,
	OPT_PG,
	OPT_REPLACE,
	OPT_DRY_RUN,
	OPT_CONFIRM,
	OPT_PENDING,
	OPT_ROLE,
	OPT_PG_VERSION
};

/* --timeout: whole seconds, 1 .. PGHACTL_MAX_WAIT_S */
static bool
parse_timeout(const char *s, int *out)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > PGHACTL_MAX_WAIT_S)
		return false;
	*out = (int) v;
	return true;
}

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
	else if (args->leader && !(cmd->flags & CMD_LEADER))
		wrong = "--leader";
	else if (args->candidate && !(cmd->flags & CMD_CANDIDATE))
		wrong = "--candidate";
	else if ((args->scheduled || args->cancel) && !(cmd->flags & CMD_SCHEDULE))
		wrong = args->scheduled ? "--scheduled" : "--cancel";
	else if (args->force && !(cmd->flags & CMD_FORCE))
		wrong = "--force";
	else if (args->timeout && !(cmd->flags & CMD_TIMEOUT))
		wrong = "--timeout";
	else if ((args->nedits || args->replace || args->dry_run) && !(cmd->flags & CMD_EDIT))
		wrong = args->nedits ? (args->edits[0].pg ? "--pg" : "--set")
			: args->replace ? "--replace" : "--dry-run";
	else if (args->confirm && !(cmd->flags & CMD_CONFIRM))
		wrong = "--confirm";
	else if ((args->pending || args->pg_version) && !(cmd->flags & CMD_RESTART))
		wrong = args->pending ? "--pending" : "--pg-version";
	else if (args->role && !(cmd->flags & CMD_ROLE))
		wrong = "--role";
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

/* everything but the allocation of args->edits, which main() owns */
static int
run(int argc, char **argv, PghactlArgs *argsp)
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
		{"leader", required_argument, NULL, OPT_LEADER},
		{"primary", required_argument, NULL, OPT_LEADER},
		{"candidate", required_argument, NULL, OPT_CANDIDATE},
		{"scheduled", required_argument, NULL, OPT_SCHEDULED},
		{"cancel", no_argument, NULL, OPT_CANCEL},
		{"force", no_argument, NULL, OPT_FORCE},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"set", required_argument, NULL, OPT_SET},
		{"pg", required_argument, NULL, OPT_PG},
		{"replace", required_argument, NULL, OPT_REPLACE},
		{"dry-run", no_argument, NULL, OPT_DRY_RUN},
		{"confirm", required_argument, NULL, OPT_CONFIRM},
		{"pending", no_argument, NULL, OPT_PENDING},
		{"role", required_argument, NULL, OPT_ROLE},
		{"pg-version", required_argument, NULL, OPT_PG_VERSION},
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
	PghactlArgs args = *argsp;
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
			case OPT_LEADER:
				args.leader = optarg;
				break;
			case OPT_CANDIDATE:
				args.candidate = optarg;
				break;
			case OPT_SCHEDULED:
				args.scheduled = optarg;
				break;
			case OPT_CANCEL:
				args.cancel = true;
				break;
			case OPT_FORCE:
				args.force = true;
				break;
			case OPT_TIMEOUT:
				if (!parse_timeout(optarg, &args.timeout))
					return usage_error("--timeout must be a number of seconds from 1 to 86400, not \"%s\"",
									   optarg);
				break;
			case OPT_SET:
			case OPT_PG:
				args.edits[args.nedits].assignment = optarg;
				args.edits[args.nedits].pg = (c == OPT_PG);
				args.nedits++;
				break;
			case OPT_REPLACE:
				args.replace = optarg;
				break;
			case OPT_DRY_RUN:
				args.dry_run = true;
				break;
			case OPT_CONFIRM:
				args.confirm = optarg;
				break;
			case OPT_PENDING:
				args.pending = true;
				break;
			case OPT_ROLE:
				if (strcmp(optarg, "leader") != 0 && strcmp(optarg, "primary") != 0 &&
					strcmp(optarg, "master") != 0 && strcmp(optarg, "replica") != 0 &&
					strcmp(optarg, "any") != 0)
					return usage_error("--role must be leader, primary, replica or any, not \"%s\"",
									   optarg);
				args.role = strcmp(optarg, "any") == 0 ? NULL : optarg;
				break;
			case OPT_PG_VERSION:
				args.pg_version = optarg;
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
	if (cmd != NULL && (cmd->flags & CMD_MEMBERS))
	{
		/* MEMBER...: the rest (options after them were taken by getopt) */
		args.members = (const char **) (argv + optind);
		args.nmembers = argc - optind;
		optind = argc;
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

int
main(int argc, char **argv)
{
	PghactlArgs args;
	int			rc;

	memset(&args, 0, sizeof(args));
	/* every --set and --pg fits: at most one per argument */
	args.edits = calloc(argc > 0 ? argc : 1, sizeof(PghactlEdit));
	if (args.edits == NULL)
	{
		fprintf(stderr, "pghactl: out of memory\n");
		return PGHACTL_EXIT_USAGE;
	}
	rc = run(argc, argv, &args);
	free(args.edits);
	return rc;
}
