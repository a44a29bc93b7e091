/*
 * test_node_plan.c
 *	  Unit tests of the watchdog's decisions (src/common/policy/node_plan.c): the
 *	  pg_controldata parser against outputs recorded on this machine and
 *	  against garbage, every row of the plan table, the plan lines, and the
 *	  hung-keeper guard.  No servers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "node_plan.h"
#include "controldata_fixtures.h"

#define SYSID "7711845574690029410"

static PghaCluster cl;
static PghaControlData cd;
static PghaLocalNode node;
static PghaNodePlan plan;
static char errbuf[256];

static int
setup(void **state)
{
	memset(&cl, 0, sizeof(cl));
	memset(&cd, 0, sizeof(cd));
	memset(&node, 0, sizeof(node));
	memset(&plan, 0, sizeof(plan));
	node.name = "n1";
	return 0;
}

static void
load(const char *fixture)
{
	assert_true(pgha_parse_controldata(fixture, &cd, errbuf, sizeof(errbuf)));
	node.cd = &cd;
}

static void
set_initialize(const char *value)
{
	cl.has_initialize = true;
	strcpy(cl.initialize, value);
}

static void
add_member(const char *name, const char *conn_url, int timeline)
{
	PghaMember *m = &cl.members[cl.nmembers++];

	memset(m, 0, sizeof(*m));
	strcpy(m->name, name);
	strcpy(m->conn_url, conn_url);
	strcpy(m->state, "running");
	strcpy(m->role, "replica");
	m->timeline = timeline;
	m->xlog_location = -1;
}

static void
set_leader(const char *name, int timeline)
{
	char		url[64];
	int			port = 25750 + (int) (name[strlen(name) - 1] - '0');

	cl.has_leader = true;
	strcpy(cl.leader, name);
	snprintf(url, sizeof(url), "postgres://127.0.0.1:%d/postgres", port);
	add_member(name, url, timeline);
	strcpy(cl.members[cl.nmembers - 1].role, "master");
}

static void
plan_is(PghaPlanAction action, const char *line)
{
	char		buf[600];

	pgha_node_plan(&node, &cl, &plan);
	pgha_node_plan_line(&plan, buf, sizeof(buf));
	if (plan.action != action)
		fail_msg("plan \"%s\", expected action %d", buf, (int) action);
	if (action == PGHA_PLAN_WAIT)
		assert_true(strncmp(buf, "wait ", 5) == 0 && strstr(buf, line) != NULL);
	else
		assert_string_equal(buf, line);
	/* every plan explains itself on one line */
	assert_true(plan.reason[0] != '\0');
	assert_null(strchr(plan.reason, '\n'));
}

/* ---- pg_controldata ---- */

static void
test_parse_primary_running(void **state)
{
	load(cd_primary_running);
	assert_string_equal(cd.system_identifier, SYSID);
	assert_int_equal(cd.state, PGHA_DB_IN_PRODUCTION);
	assert_int_equal(cd.checkpoint_tli, 1);
	assert_true(cd.checkpoint_lsn == 0x1511A88ULL);
	assert_true(cd.min_recovery_lsn == 0);
	assert_int_equal(cd.min_recovery_tli, 0);
	assert_true(cd.wal_log_hints);
	assert_int_equal(cd.checksum_version, 0);
}

static void
test_parse_every_recording(void **state)
{
	load(cd_primary_crashed);
	assert_int_equal(cd.state, PGHA_DB_IN_PRODUCTION);
	assert_true(cd.checkpoint_lsn == 0x30279C0ULL);

	load(cd_primary_shutdown);
	assert_int_equal(cd.state, PGHA_DB_SHUT_DOWN);
	assert_int_equal(cd.checkpoint_tli, 1);

	load(cd_basebackup_fresh);
	assert_int_equal(cd.state, PGHA_DB_IN_PRODUCTION);
	assert_true(cd.checkpoint_lsn == 0x2000060ULL);

	load(cd_standby_running);
	assert_int_equal(cd.state, PGHA_DB_IN_ARCHIVE_RECOVERY);
	assert_true(cd.min_recovery_lsn == 0x3027BD0ULL);
	assert_int_equal(cd.min_recovery_tli, 1);

	load(cd_standby_shutdown);
	assert_int_equal(cd.state, PGHA_DB_SHUT_DOWN_IN_RECOVERY);
	assert_string_equal(cd.system_identifier, SYSID);

	load(cd_promoted_tl2);
	assert_int_equal(cd.state, PGHA_DB_IN_PRODUCTION);
	assert_int_equal(cd.checkpoint_tli, 2);
	assert_true(cd.checkpoint_lsn == 0x3029D50ULL);
}

static void
test_parse_state_names(void **state)
{
	static const struct
	{
		const char *text;
		PghaDbState state;
	}			states[] = {
		{"starting up", PGHA_DB_STARTING_UP},
		{"shut down", PGHA_DB_SHUT_DOWN},
		{"shut down in recovery", PGHA_DB_SHUT_DOWN_IN_RECOVERY},
		{"shutting down", PGHA_DB_SHUTTING_DOWN},
		{"in crash recovery", PGHA_DB_IN_CRASH_RECOVERY},
		{"in archive recovery", PGHA_DB_IN_ARCHIVE_RECOVERY},
		{"in production", PGHA_DB_IN_PRODUCTION},
	};
	char		text[512];
	size_t		i;

	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
	{
		snprintf(text, sizeof(text),
				 "Database system identifier:           1\n"
				 "Database cluster state:               %s\n"
				 "Latest checkpoint location:           0/1\n"
				 "Latest checkpoint's TimeLineID:       1\n", states[i].text);
		assert_true(pgha_parse_controldata(text, &cd, errbuf, sizeof(errbuf)));
		assert_int_equal(cd.state, states[i].state);
		assert_string_equal(pgha_db_state_text(cd.state), states[i].text);
	}
	/* without a trailing newline, and with CR LF */
	assert_true(pgha_parse_controldata("Database system identifier: 1\r\n"
									   "Database cluster state: shut down\r\n"
									   "Latest checkpoint location: 0/1\r\n"
									   "Latest checkpoint's TimeLineID: 3",
									   &cd, errbuf, sizeof(errbuf)));
	assert_int_equal(cd.checkpoint_tli, 3);
	assert_int_equal(cd.state, PGHA_DB_SHUT_DOWN);
}

/* the recording with one line replaced (or removed, with repl NULL) */
static char *
edited(const char *fixture, const char *field, const char *repl)
{
	const char *at = strstr(fixture, field);
	const char *eol;
	char	   *out;
	size_t		head;

	assert_non_null(at);
	eol = strchr(at, '\n');
	assert_non_null(eol);
	head = (size_t) (at - fixture);
	out = malloc(strlen(fixture) + (repl ? strlen(repl) : 0) + 2);
	assert_non_null(out);
	memcpy(out, fixture, head);
	out[head] = '\0';
	if (repl)
	{
		strcat(out, repl);
		strcat(out, "\n");
	}
	strcat(out, eol + 1);
	return out;
}

static void
expect_parse_error(const char *text, const char *in_message)
{
	errbuf[0] = '\0';
	assert_false(pgha_parse_controldata(text, &cd, errbuf, sizeof(errbuf)));
	if (strstr(errbuf, in_message) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", errbuf, in_message);
}

static void
test_parse_garbage(void **state)
{
	static const struct
	{
		const char *field;
		const char *line;		/* NULL: line removed */
		const char *message;
	}			edits[] = {
		{"Database system identifier:", NULL, "Database system identifier"},
		{"Database cluster state:", NULL, "Database cluster state"},
		{"Latest checkpoint location:", NULL, "Latest checkpoint location"},
		{"Latest checkpoint's TimeLineID:", NULL, "TimeLineID"},
		{"Database system identifier:", "Database system identifier: 77x1", "malformed"},
		{"Database system identifier:", "Database system identifier:", "malformed"},
		{"Database system identifier:", "Database system identifier: 123456789012345678901", "malformed"},
		{"Database cluster state:", "Database cluster state: in limbo", "malformed"},
		{"Database cluster state:", "Database cluster state: IN PRODUCTION", "malformed"},
		{"Latest checkpoint location:", "Latest checkpoint location: 0/XYZ", "malformed"},
		{"Latest checkpoint location:", "Latest checkpoint location: 0-1000", "malformed"},
		{"Latest checkpoint location:", "Latest checkpoint location: 1/2/3", "malformed"},
		{"Latest checkpoint location:", "Latest checkpoint location: 123456789/0", "malformed"},
		{"Latest checkpoint location:", "Latest checkpoint location: /0", "malformed"},
		{"Latest checkpoint's TimeLineID:", "Latest checkpoint's TimeLineID: 0", "malformed"},
		{"Latest checkpoint's TimeLineID:", "Latest checkpoint's TimeLineID: -1", "malformed"},
		{"Latest checkpoint's TimeLineID:", "Latest checkpoint's TimeLineID: 99999999999", "malformed"},
		{"Latest checkpoint's TimeLineID:", "Latest checkpoint's TimeLineID: 1 2", "malformed"},
		{"Minimum recovery ending location:", "Minimum recovery ending location: zz", "malformed"},
		{"Min recovery ending loc's timeline:", "Min recovery ending loc's timeline: x", "malformed"},
		{"wal_log_hints setting:", "wal_log_hints setting: maybe", "malformed"},
		{"Data page checksum version:", "Data page checksum version: -", "malformed"},
	};
	size_t		i;

	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++)
	{
		char	   *text = edited(cd_standby_running, edits[i].field, edits[i].line);

		expect_parse_error(text, edits[i].message);
		free(text);
	}
	expect_parse_error("", "Database system identifier");
	expect_parse_error("pg_controldata: error: could not open file \"global/pg_control\"",
					   "Database system identifier");
	expect_parse_error("\x01\x02\xff:\xfe\n::::\n:\n\n", "Database system identifier");
}

static void
test_parse_optional_fields(void **state)
{
	char	   *text;

	/* missing optional lines: no wal_log_hints line means "assume on" */
	text = edited(cd_primary_shutdown, "wal_log_hints setting:", NULL);
	assert_true(pgha_parse_controldata(text, &cd, errbuf, sizeof(errbuf)));
	assert_true(cd.wal_log_hints);
	free(text);

	text = edited(cd_primary_shutdown, "wal_log_hints setting:", "wal_log_hints setting:                off");
	assert_true(pgha_parse_controldata(text, &cd, errbuf, sizeof(errbuf)));
	assert_false(cd.wal_log_hints);
	free(text);

	/* an overlong line is skipped, not fatal */
	{
		char		big[2048];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		big[10] = ':';
		text = edited(cd_primary_shutdown, "Mock authentication nonce:", big);
		assert_true(pgha_parse_controldata(text, &cd, errbuf, sizeof(errbuf)));
		free(text);
	}
}

/* every truncation of a recording: no crash, and false until complete */
static void
test_parse_truncations(void **state)
{
	size_t		len = strlen(cd_standby_running);
	const char *needed = strstr(cd_standby_running, "Latest checkpoint's TimeLineID:");
	size_t		complete;
	size_t		n;

	assert_non_null(needed);
	complete = (size_t) (strchr(needed, '\n') - cd_standby_running);
	for (n = 0; n <= len; n++)
	{
		char	   *text = malloc(n + 1);
		bool		ok;

		assert_non_null(text);
		memcpy(text, cd_standby_running, n);
		text[n] = '\0';
		ok = pgha_parse_controldata(text, &cd, errbuf, sizeof(errbuf));
		/*
		 * A value cut short may still parse ("1" of "12") or not ("0/" of
		 * an LSN): check the prefixes without the last required line, and
		 * the ones made of whole lines after it.
		 */
		if (n < complete - 1)
			assert_false(ok);
		if (n >= complete && (cd_standby_running[n] == '\n' || n == len))
			assert_true(ok);
		free(text);
	}
}

static void
test_parse_lsn(void **state)
{
	uint64_t	lsn;

	assert_true(pgha_parse_lsn("0/0", &lsn));
	assert_true(lsn == 0);
	assert_true(pgha_parse_lsn("1/2", &lsn));
	assert_true(lsn == 0x100000002ULL);
	assert_true(pgha_parse_lsn("FFFFFFFF/ffffffff", &lsn));
	assert_true(lsn == UINT64_MAX);
	assert_false(pgha_parse_lsn("", &lsn));
	assert_false(pgha_parse_lsn("0", &lsn));
	assert_false(pgha_parse_lsn("0/", &lsn));
	assert_false(pgha_parse_lsn("/0", &lsn));
	assert_false(pgha_parse_lsn(" 0/0", &lsn));
	assert_false(pgha_parse_lsn("0/0 ", &lsn));
	assert_false(pgha_parse_lsn("100000000/0", &lsn));
	assert_false(pgha_parse_lsn("0x1/0", &lsn));
}

/* ---- the plan: no data directory ---- */

static void
test_bootstrap_new_cluster_initdb(void **state)
{
	/* an empty scope: first a bounded wait for members to reappear */
	plan_is(PGHA_PLAN_WAIT, "no key in the scope");
	node.scope_empty_ms = PGHA_BOOTSTRAP_WAIT_MS - 1;
	plan_is(PGHA_PLAN_WAIT, "no key in the scope");
	node.scope_empty_ms = PGHA_BOOTSTRAP_WAIT_MS;
	plan_is(PGHA_PLAN_INITDB, "initdb");
}

/* etcd lost its keys (or some): no initdb while a member may hold data */
static void
test_bootstrap_wiped_scope_waits(void **state)
{
	node.scope_empty_ms = PGHA_BOOTSTRAP_WAIT_MS * 10;
	add_member("n2", "postgres://127.0.0.1:25752/postgres", 2);
	plan_is(PGHA_PLAN_WAIT, "etcd lost its keys");
	assert_non_null(strstr(plan.reason, "member keys"));

	setup(state);
	node.scope_empty_ms = PGHA_BOOTSTRAP_WAIT_MS * 10;
	cl.has_optime = true;
	plan_is(PGHA_PLAN_WAIT, "etcd lost its keys");

	setup(state);
	node.scope_empty_ms = PGHA_BOOTSTRAP_WAIT_MS * 10;
	cl.has_history = true;
	plan_is(PGHA_PLAN_WAIT, "etcd lost its keys");

	setup(state);
	node.scope_empty_ms = PGHA_BOOTSTRAP_WAIT_MS * 10;
	cl.has_final = true;
	plan_is(PGHA_PLAN_WAIT, "pghactl remove");
}

static void
test_bootstrap_claimed_by_another_waits(void **state)
{
	set_initialize("");
	plan_is(PGHA_PLAN_WAIT, "being initialized by another node");
}

static void
test_bootstrap_initialized_without_leader_waits(void **state)
{
	set_initialize(SYSID);
	add_member("n2", "postgres://127.0.0.1:25752/postgres", 1);
	plan_is(PGHA_PLAN_WAIT, "no leader to clone from");
}

static void
test_bootstrap_clones_the_leader(void **state)
{
	set_initialize(SYSID);
	set_leader("n2", 1);
	plan_is(PGHA_PLAN_CLONE, "clone 127.0.0.1 25752");
	assert_string_equal(plan.host, "127.0.0.1");
	assert_int_equal(plan.port, 25752);
}

static void
test_bootstrap_clone_ipv6_and_default_port(void **state)
{
	cl.has_leader = true;
	strcpy(cl.leader, "n2");
	add_member("n2", "postgres://[::1]:5433/postgres", 1);
	plan_is(PGHA_PLAN_CLONE, "clone ::1 5433");

	setup(state);
	cl.has_leader = true;
	strcpy(cl.leader, "n2");
	add_member("n2", "postgres://db2.example/postgres", 1);
	plan_is(PGHA_PLAN_CLONE, "clone db2.example 5432");
}

static void
test_bootstrap_leader_without_member_waits(void **state)
{
	cl.has_leader = true;
	strcpy(cl.leader, "n2");
	add_member("n3", "postgres://127.0.0.1:25753/postgres", 1);
	plan_is(PGHA_PLAN_WAIT, "leader \"n2\" has no member key");

	setup(state);
	cl.has_leader = true;
	strcpy(cl.leader, "n2");
	add_member("n2", "not a url", 1);
	plan_is(PGHA_PLAN_WAIT, "usable conn_url");
}

static void
test_bootstrap_own_leader_key_waits(void **state)
{
	set_initialize(SYSID);
	set_leader("n1", 1);
	plan_is(PGHA_PLAN_WAIT, "waiting for its lease to expire");
}

/* ---- safety rule 6: a name another live member uses ---- */

static void
set_member_identity(const char *name, int64_t lease, const char *instance)
{
	PghaMember *m = (PghaMember *) pgha_cluster_find_member(&cl, name);

	m->lease = lease;
	strcpy(m->instance, instance);
}

static void
test_clone_of_leader_with_its_name_waits(void **state)
{
	/* a clone of n1, stopped ("shut down"), named n1: no release, no start */
	load(cd_primary_shutdown);
	set_initialize(SYSID);
	set_leader("n1", 1);
	set_member_identity("n1", 111, "aaaaaaaaaaaaaaaa");
	node.instance = "bbbbbbbbbbbbbbbb";
	node.lease = 0;				/* its copied pgha.lease is not trusted */
	plan_is(PGHA_PLAN_WAIT,
			"member name \"n1\" is used by a live member at postgres://127.0.0.1:25751/postgres");
	/* the real n1, stopped cleanly: its own lease, it releases */
	node.instance = "aaaaaaaaaaaaaaaa";
	node.lease = 111;
	plan_is(PGHA_PLAN_RELEASE, "release");
}

static void
test_empty_node_named_like_a_replica_waits(void **state)
{
	/* no data directory, named n1 while a live replica n1 runs */
	set_initialize(SYSID);
	set_leader("n2", 1);
	add_member("n1", "postgres://127.0.0.1:25751/postgres", 1);
	set_member_identity("n1", 333, "aaaaaaaaaaaaaaaa");
	node.instance = "bbbbbbbbbbbbbbbb";
	plan_is(PGHA_PLAN_WAIT, "member name \"n1\" is used by a live member at postgres://127.0.0.1:25751/postgres");
	/* the same data directory after a postmaster restart: its own previous life */
	node.instance = "aaaaaaaaaaaaaaaa";
	plan_is(PGHA_PLAN_CLONE, "clone 127.0.0.1 25752");
}

static void
test_instance_identity_and_lease_file(void **state)
{
	char		a[PGHA_INSTANCE_LEN];
	char		b[PGHA_INSTANCE_LEN];
	char		c[PGHA_INSTANCE_LEN];
	PghaLeaseFile lf;
	PghaLeaseFile back;
	char	   *text;
	char		err[256];

	pgha_instance_id_of("0c3c-boot-1", "/var/lib/pg/data", a, sizeof(a));
	pgha_instance_id_of("0c3c-boot-1", "/var/lib/pg/clone", b, sizeof(b));
	pgha_instance_id_of("0c3c-boot-2", "/var/lib/pg/data", c, sizeof(c));
	assert_int_equal(strlen(a), 16);
	assert_string_not_equal(a, b);	/* a clone on the same machine */
	assert_string_not_equal(a, c);	/* a copied VM, or after a reboot */
	pgha_instance_id_of("0c3c-boot-1", "/var/lib/pg/data", b, sizeof(b));
	assert_string_equal(a, b);	/* a postmaster restart */
	assert_true(pgha_instance_id("/tmp", b, sizeof(b), err, sizeof(err)));
	assert_false(pgha_instance_id("/nonexistent/pgdata", b, sizeof(b), err, sizeof(err)));

	memset(&lf, 0, sizeof(lf));
	lf.lease_id = 7587869812345678LL;
	lf.lease_ttl = 9;
	strcpy(lf.instance, a);
	text = pgha_lease_file_text(&lf);
	assert_true(pgha_lease_file_parse(text, &back));
	assert_int_equal(back.lease_id, lf.lease_id);
	assert_int_equal(back.lease_ttl, 9);
	assert_string_equal(back.instance, a);
	free(text);
	assert_false(pgha_lease_file_parse("1 0 9 0123456789abcdef\n", &back));
	assert_false(pgha_lease_file_parse("2 5 9 0123456789abcdef\n", &back));
	assert_false(pgha_lease_file_parse("1 5 9 0123\n", &back));
	assert_false(pgha_lease_file_parse("garbage", &back));
	assert_false(pgha_lease_file_parse(NULL, &back));
}

/* ---- the plan: a data directory ---- */

static void
test_foreign_system_identifier_waits(void **state)
{
	load(cd_standby_shutdown);
	set_initialize("1234567890");
	set_leader("n2", 1);
	plan_is(PGHA_PLAN_WAIT, "belongs to another cluster");
}

static void
test_initialize_claim_in_progress_is_not_foreign(void **state)
{
	load(cd_standby_shutdown);
	set_initialize("");
	set_leader("n2", 1);
	plan_is(PGHA_PLAN_START_REPLICA, "start-replica 127.0.0.1 25752");
}

static void
test_no_leader_starts_standby_without_upstream(void **state)
{
	set_initialize(SYSID);
	load(cd_primary_crashed);
	plan_is(PGHA_PLAN_START_REPLICA, "start-replica - -");
	assert_string_equal(plan.host, "");

	load(cd_standby_shutdown);
	plan_is(PGHA_PLAN_START_REPLICA, "start-replica - -");

	node.fenced = true;
	load(cd_primary_shutdown);
	plan_is(PGHA_PLAN_START_REPLICA, "start-replica - -");

	/* no keys at all (etcd wiped): still only a standby */
	memset(&cl, 0, sizeof(cl));
	plan_is(PGHA_PLAN_START_REPLICA, "start-replica - -");
}

static void
test_own_leader_key_restarts_as_standby(void **state)
{
	set_initialize(SYSID);
	set_leader("n1", 1);
	add_member("n2", "postgres://127.0.0.1:25752/postgres", 1);
	load(cd_primary_crashed);
	plan_is(PGHA_PLAN_START_REPLICA, "start-replica - -");
	assert_non_null(strstr(plan.reason, "promotes"));

	/* stopped on purpose while named leader: hand the key over at once */
	node.fenced = true;
	plan_is(PGHA_PLAN_RELEASE, "release");
	assert_non_null(strstr(plan.reason, "fenced"));
	node.fenced = false;
	load(cd_primary_shutdown);
	plan_is(PGHA_PLAN_RELEASE, "release");
}

static void
test_switchover_rejoins_without_rewind(void **state)
{
	set_initialize(SYSID);
	set_leader("n2", 2);
	load(cd_primary_shutdown);	/* shut down cleanly, checkpoint 0/3027C48 */

	/* timeline 1 ended after our shutdown checkpoint: nothing diverged */
	cl.nhistory_tail = 1;
	cl.history_tail_tl[0] = 1;
	cl.history_tail_lsn[0] = 0x3027CC0;
	plan_is(PGHA_PLAN_START_REPLICA, "start-replica 127.0.0.1 25752");
	assert_non_null(strstr(plan.reason, "without pg_rewind"));

	/* it ended before: our checkpoint is not on the new timeline */
	cl.history_tail_lsn[0] = 0x3027C48;
	plan_is(PGHA_PLAN_REWIND, "rewind 127.0.0.1 25752");

	/* a crashed primary always rewinds */
	cl.history_tail_lsn[0] = 0x4000000;
	load(cd_primary_crashed);
	plan_is(PGHA_PLAN_REWIND, "rewind 127.0.0.1 25752");
}

static void
test_leader_without_member_key_waits(void **state)
{
	set_initialize(SYSID);
	cl.has_leader = true;
	strcpy(cl.leader, "n2");
	load(cd_standby_shutdown);
	plan_is(PGHA_PLAN_WAIT, "no member key");
}

static void
test_standby_follows_the_leader(void **state)
{
	set_initialize(SYSID);
	set_leader("n2", 1);
	load(cd_standby_shutdown);
	plan_is(PGHA_PLAN_START_REPLICA, "start-replica 127.0.0.1 25752");

	/* a crashed standby, and a leader on a newer timeline: still streams */
	setup(state);
	set_leader("n3", 2);
	load(cd_standby_running);
	plan_is(PGHA_PLAN_START_REPLICA, "start-replica 127.0.0.1 25753");
}

/*
 * A standby that replayed past the end of its timeline (a dead branch)
 * while the leader is on a newer one: pg_rewind, whether or not the keeper
 * left pgha.fenced (it does, with the reason).
 */
static void
test_dead_branch_standby_rewinds(void **state)
{
	set_initialize(SYSID);
	set_leader("n2", 2);
	load(cd_standby_shutdown);
	cd.checkpoint_tli = 1;
	cd.min_recovery_tli = 1;
	cd.min_recovery_lsn = 0x3000100;
	cd.wal_log_hints = true;
	cl.nhistory_tail = 1;
	cl.history_tail_tl[0] = 1;
	cl.history_tail_lsn[0] = 0x3000000;
	plan_is(PGHA_PLAN_REWIND, "rewind 127.0.0.1 25752");
	assert_non_null(strstr(plan.reason, "dead branch"));

	/* pg_rewind cannot work: a fresh clone */
	cd.wal_log_hints = false;
	cd.checksum_version = 0;
	plan_is(PGHA_PLAN_CLONE, "clone 127.0.0.1 25752");
	cd.wal_log_hints = true;

	/* no minimum recovery point: the last restartpoint tells */
	cd.min_recovery_lsn = 0;
	cd.checkpoint_lsn = 0x3000028;
	plan_is(PGHA_PLAN_REWIND, "rewind 127.0.0.1 25752");

	/* at or before the fork point: it follows the new timeline */
	cd.min_recovery_lsn = 0x3000000;
	plan_is(PGHA_PLAN_START_REPLICA, "start-replica 127.0.0.1 25752");

	/* fork point unknown (no history key): it starts; the keeper checks */
	cd.min_recovery_lsn = 0x3000100;
	cl.nhistory_tail = 0;
	plan_is(PGHA_PLAN_START_REPLICA, "start-replica 127.0.0.1 25752");

	/* the keeper found it on the dead branch: pgha.fenced */
	node.fenced = true;
	plan_is(PGHA_PLAN_REWIND, "rewind 127.0.0.1 25752");

	/* a standby on the leader's own timeline is never on a dead branch */
	setup(state);
	set_initialize(SYSID);
	set_leader("n2", 1);
	load(cd_standby_shutdown);
	cd.min_recovery_tli = 1;
	cd.min_recovery_lsn = 0x9000000;
	cl.nhistory_tail = 1;
	cl.history_tail_tl[0] = 1;
	cl.history_tail_lsn[0] = 0x3000000;
	plan_is(PGHA_PLAN_START_REPLICA, "start-replica 127.0.0.1 25752");
}

static void
test_fresh_clone_is_a_standby(void **state)
{
	/* a base backup carries its source's "in production" control file */
	set_initialize(SYSID);
	set_leader("n2", 1);
	load(cd_basebackup_fresh);
	node.backup_label = true;
	plan_is(PGHA_PLAN_START_REPLICA, "start-replica 127.0.0.1 25752");

	/* rewound (backup_label), the fenced file not yet removed */
	node.fenced = true;
	plan_is(PGHA_PLAN_START_REPLICA, "start-replica 127.0.0.1 25752");

	/* without the label it would be a former primary */
	node.backup_label = false;
	node.fenced = false;
	plan_is(PGHA_PLAN_WAIT, "not a newer one");
}

static void
test_former_primary_rewinds_from_newer_timeline(void **state)
{
	set_initialize(SYSID);
	set_leader("n2", 2);
	load(cd_primary_crashed);
	plan_is(PGHA_PLAN_REWIND, "rewind 127.0.0.1 25752");

	load(cd_primary_shutdown);
	plan_is(PGHA_PLAN_REWIND, "rewind 127.0.0.1 25752");

	/* fenced: a primary, whatever the control file says */
	load(cd_standby_shutdown);
	node.fenced = true;
	plan_is(PGHA_PLAN_REWIND, "rewind 127.0.0.1 25752");
	assert_non_null(strstr(plan.reason, "fenced"));
}

static void
test_former_primary_states(void **state)
{
	static const char *const primary_states[] = {
		"starting up", "shut down", "shutting down", "in crash recovery",
		"in production"
	};
	char		text[512];
	size_t		i;

	set_initialize(SYSID);
	set_leader("n2", 2);
	for (i = 0; i < sizeof(primary_states) / sizeof(primary_states[0]); i++)
	{
		snprintf(text, sizeof(text),
				 "Database system identifier: " SYSID "\n"
				 "Database cluster state: %s\n"
				 "Latest checkpoint location: 0/3000000\n"
				 "Latest checkpoint's TimeLineID: 1\n", primary_states[i]);
		load(text);
		plan_is(PGHA_PLAN_REWIND, "rewind 127.0.0.1 25752");
	}
}

static void
test_former_primary_waits_for_promotion(void **state)
{
	set_initialize(SYSID);
	set_leader("n2", 1);
	load(cd_primary_shutdown);
	plan_is(PGHA_PLAN_WAIT, "waiting for its promotion");

	/* a leader on an older timeline than ours: never stream from it */
	setup(state);
	set_initialize(SYSID);
	set_leader("n2", 1);
	load(cd_promoted_tl2);
	plan_is(PGHA_PLAN_WAIT, "on timeline 1, not a newer one");

	setup(state);
	set_leader("n3", 3);
	load(cd_promoted_tl2);
	plan_is(PGHA_PLAN_REWIND, "rewind 127.0.0.1 25753");
}

static void
test_former_primary_leader_timeline_unknown(void **state)
{
	set_initialize(SYSID);
	set_leader("n2", 0);
	load(cd_primary_crashed);
	plan_is(PGHA_PLAN_WAIT, "is not known yet");
}

static void
test_min_recovery_timeline_counts(void **state)
{
	char	   *text;

	/* a fenced node whose control file has a newer min-recovery timeline */
	set_initialize(SYSID);
	set_leader("n2", 2);
	text = edited(cd_standby_shutdown, "Min recovery ending loc's timeline:",
				  "Min recovery ending loc's timeline:   2");
	load(text);
	node.fenced = true;
	plan_is(PGHA_PLAN_WAIT, "on timeline 2");
	free(text);
}

static void
test_rewind_impossible_clones(void **state)
{
	char	   *text;

	set_initialize(SYSID);
	set_leader("n2", 2);
	text = edited(cd_primary_shutdown, "wal_log_hints setting:",
				  "wal_log_hints setting:                off");
	load(text);
	plan_is(PGHA_PLAN_CLONE, "clone 127.0.0.1 25752");
	assert_non_null(strstr(plan.reason, "wal_log_hints"));
	free(text);

	/* data checksums make pg_rewind work without wal_log_hints */
	text = edited(cd_primary_shutdown, "wal_log_hints setting:",
				  "wal_log_hints setting:                off");
	{
		char	   *text2 = edited(text, "Data page checksum version:",
								   "Data page checksum version:           1");

		load(text2);
		plan_is(PGHA_PLAN_REWIND, "rewind 127.0.0.1 25752");
		free(text2);
	}
	free(text);
}

static void
test_leader_name_prefix_is_not_ours(void **state)
{
	/* "n1" must not match a leader called "n10" */
	set_initialize(SYSID);
	node.name = "n1";
	cl.has_leader = true;
	strcpy(cl.leader, "n10");
	add_member("n10", "postgres://127.0.0.1:25760/postgres", 2);
	load(cd_primary_crashed);
	plan_is(PGHA_PLAN_REWIND, "rewind 127.0.0.1 25760");
}

static void
test_plan_lines(void **state)
{
	char		buf[600];

	plan.action = PGHA_PLAN_INITDB;
	pgha_node_plan_line(&plan, buf, sizeof(buf));
	assert_string_equal(buf, "initdb");

	plan.action = PGHA_PLAN_WAIT;
	strcpy(plan.reason, "no leader to clone from");
	pgha_node_plan_line(&plan, buf, sizeof(buf));
	assert_string_equal(buf, "wait no leader to clone from");

	plan.action = PGHA_PLAN_START_REPLICA;
	strcpy(plan.host, "");
	pgha_node_plan_line(&plan, buf, sizeof(buf));
	assert_string_equal(buf, "start-replica - -");

	strcpy(plan.host, "10.0.0.5");
	plan.port = 5432;
	pgha_node_plan_line(&plan, buf, sizeof(buf));
	assert_string_equal(buf, "start-replica 10.0.0.5 5432");

	plan.action = PGHA_PLAN_REWIND;
	pgha_node_plan_line(&plan, buf, sizeof(buf));
	assert_string_equal(buf, "rewind 10.0.0.5 5432");

	plan.action = PGHA_PLAN_CLONE;
	pgha_node_plan_line(&plan, buf, sizeof(buf));
	assert_string_equal(buf, "clone 10.0.0.5 5432");

	/* a short buffer truncates, never overflows */
	pgha_node_plan_line(&plan, buf, 8);
	assert_string_equal(buf, "clone 1");
}

/* ---- the hung-keeper guard ---- */

#define NOW		1790000000000LL		/* ms since the epoch */

static PghaHeartbeat
heartbeat(bool primary, int64_t written_ago_ms, int64_t deadline_in_ms)
{
	PghaHeartbeat hb;

	memset(&hb, 0, sizeof(hb));
	hb.written_ms = NOW - written_ago_ms;
	hb.primary = primary;
	hb.fence_deadline_ms = deadline_in_ms == 0 ? 0 : NOW + deadline_in_ms;
	strcpy(hb.state, "leading");
	return hb;
}

static void
verdict_is(const PghaHeartbeat *hb, int64_t started_ago_ms,
		   PghaGuardVerdict expected, const char *in_why)
{
	char		why[512];
	PghaGuardVerdict v;

	v = pgha_heartbeat_verdict(hb, started_ago_ms < 0 ? 0 : NOW - started_ago_ms,
							   NOW, why, sizeof(why));
	if (v != expected || strstr(why, in_why) == NULL)
		fail_msg("verdict %d \"%s\", expected %d with \"%s\"", (int) v, why,
				 (int) expected, in_why);
}

static void
test_guard_no_heartbeat(void **state)
{
	verdict_is(NULL, 2000, PGHA_GUARD_OK, "no keeper heartbeat yet");
	verdict_is(NULL, PGHA_HEARTBEAT_ABSENT_WARN_MS + 1, PGHA_GUARD_WARN,
			   "shared_preload_libraries");
	verdict_is(NULL, -1, PGHA_GUARD_OK, "start time unknown");
}

static void
test_guard_primary_deadline(void **state)
{
	PghaHeartbeat hb = heartbeat(true, 500, 4000);

	verdict_is(&hb, 60000, PGHA_GUARD_OK, "fencing deadline in 4000 ms");

	hb = heartbeat(true, 9000, -1 - PGHA_GUARD_GRACE_MS);
	verdict_is(&hb, 60000, PGHA_GUARD_FENCE, "past its fencing deadline");

	/* exactly at the deadline: not yet past it */
	hb = heartbeat(true, 9000, 0);
	hb.fence_deadline_ms = NOW;
	verdict_is(&hb, 60000, PGHA_GUARD_OK, "primary");

	/* just past it: the keeper's own fence is due first, no race with it */
	hb.fence_deadline_ms = NOW - PGHA_GUARD_GRACE_MS;
	verdict_is(&hb, 60000, PGHA_GUARD_OK, "primary");
	hb.fence_deadline_ms = NOW - PGHA_GUARD_GRACE_MS - 1;
	verdict_is(&hb, 60000, PGHA_GUARD_FENCE, "past its fencing deadline");

	/* no deadline (the keeper holds no lease to lose): nothing to enforce */
	hb = heartbeat(true, 500, 0);
	verdict_is(&hb, 60000, PGHA_GUARD_OK, "without a fencing deadline");

	/* past the deadline and stale: fencing wins over the warning */
	hb = heartbeat(true, 120000, -100000);
	verdict_is(&hb, 600000, PGHA_GUARD_FENCE, "past its fencing deadline");
}

static void
test_guard_replica(void **state)
{
	PghaHeartbeat hb = heartbeat(false, 500, 0);

	verdict_is(&hb, 60000, PGHA_GUARD_OK, "replica");

	/* a replica is never fenced, whatever deadline it carries */
	hb = heartbeat(false, 500, -5000);
	verdict_is(&hb, 60000, PGHA_GUARD_OK, "replica");

	hb = heartbeat(false, PGHA_HEARTBEAT_STALE_WARN_MS + 1000, 0);
	verdict_is(&hb, 600000, PGHA_GUARD_WARN, "is it hung?");
}

static void
test_guard_heartbeat_of_an_earlier_run(void **state)
{
	/* written before this postmaster started: a copy or a leftover */
	PghaHeartbeat hb = heartbeat(true, 20000, -10000);

	verdict_is(&hb, 5000, PGHA_GUARD_OK, "no keeper heartbeat yet");

	/*
	 * postmaster.pid has whole seconds: a postmaster that started 500 ms
	 * ago says NOW - 1000, and a heartbeat from 300 ms ago is this run's
	 */
	hb = heartbeat(true, 300, -100 - PGHA_GUARD_GRACE_MS);
	verdict_is(&hb, 1000, PGHA_GUARD_FENCE, "past its fencing deadline");
}

static void
test_guard_parses_what_the_keeper_writes(void **state)
{
	PghaHeartbeat hb;
	char		line[128];

	snprintf(line, sizeof(line), "2 %lld primary %lld 4242 leading\n",
			 (long long) (NOW - 100), (long long) (NOW - 1 - PGHA_GUARD_GRACE_MS));
	assert_true(pgha_heartbeat_parse(line, &hb));
	assert_int_equal(hb.keeper_pid, 4242);
	verdict_is(&hb, 60000, PGHA_GUARD_FENCE, "state \"leading\"");
	/* the first format (wall clock, no version) is refused, not misread */
	snprintf(line, sizeof(line), "%lld primary %lld leading\n",
			 (long long) (NOW - 100), (long long) (NOW - 1));
	assert_false(pgha_heartbeat_parse(line, &hb));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_parse_primary_running, setup),
		cmocka_unit_test_setup(test_parse_every_recording, setup),
		cmocka_unit_test_setup(test_parse_state_names, setup),
		cmocka_unit_test_setup(test_parse_garbage, setup),
		cmocka_unit_test_setup(test_parse_optional_fields, setup),
		cmocka_unit_test_setup(test_parse_truncations, setup),
		cmocka_unit_test_setup(test_parse_lsn, setup),
		cmocka_unit_test_setup(test_bootstrap_new_cluster_initdb, setup),
		cmocka_unit_test_setup(test_bootstrap_wiped_scope_waits, setup),
		cmocka_unit_test_setup(test_dead_branch_standby_rewinds, setup),
		cmocka_unit_test_setup(test_bootstrap_claimed_by_another_waits, setup),
		cmocka_unit_test_setup(test_bootstrap_initialized_without_leader_waits, setup),
		cmocka_unit_test_setup(test_bootstrap_clones_the_leader, setup),
		cmocka_unit_test_setup(test_bootstrap_clone_ipv6_and_default_port, setup),
		cmocka_unit_test_setup(test_bootstrap_leader_without_member_waits, setup),
		cmocka_unit_test_setup(test_bootstrap_own_leader_key_waits, setup),
		cmocka_unit_test_setup(test_clone_of_leader_with_its_name_waits, setup),
		cmocka_unit_test_setup(test_empty_node_named_like_a_replica_waits, setup),
		cmocka_unit_test_setup(test_instance_identity_and_lease_file, setup),
		cmocka_unit_test_setup(test_foreign_system_identifier_waits, setup),
		cmocka_unit_test_setup(test_initialize_claim_in_progress_is_not_foreign, setup),
		cmocka_unit_test_setup(test_no_leader_starts_standby_without_upstream, setup),
		cmocka_unit_test_setup(test_own_leader_key_restarts_as_standby, setup),
		cmocka_unit_test_setup(test_leader_without_member_key_waits, setup),
		cmocka_unit_test_setup(test_standby_follows_the_leader, setup),
		cmocka_unit_test_setup(test_fresh_clone_is_a_standby, setup),
		cmocka_unit_test_setup(test_former_primary_rewinds_from_newer_timeline, setup),
		cmocka_unit_test_setup(test_switchover_rejoins_without_rewind, setup),
		cmocka_unit_test_setup(test_former_primary_states, setup),
		cmocka_unit_test_setup(test_former_primary_waits_for_promotion, setup),
		cmocka_unit_test_setup(test_former_primary_leader_timeline_unknown, setup),
		cmocka_unit_test_setup(test_min_recovery_timeline_counts, setup),
		cmocka_unit_test_setup(test_rewind_impossible_clones, setup),
		cmocka_unit_test_setup(test_leader_name_prefix_is_not_ours, setup),
		cmocka_unit_test_setup(test_plan_lines, setup),
		cmocka_unit_test_setup(test_guard_no_heartbeat, setup),
		cmocka_unit_test_setup(test_guard_primary_deadline, setup),
		cmocka_unit_test_setup(test_guard_replica, setup),
		cmocka_unit_test_setup(test_guard_heartbeat_of_an_earlier_run, setup),
		cmocka_unit_test_setup(test_guard_parses_what_the_keeper_writes, setup),
	};

	return cmocka_run_group_tests_name("node_plan", tests, NULL, NULL);
}
