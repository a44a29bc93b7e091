/*-------------------------------------------------------------------------
 *
 * test_switchover.c
 *	  Unit tests of the switchover and manual failover checks
 *	  (src/common/policy/switchover.c): every refusal, its message, detail and
 *	  hint, and the choice of the best candidate.
 *
 * The clusters are built from etcd keys in Patroni's format, through the
 * cluster model, as pghactl and the keeper see them.  The baseline is the
 * recorded Patroni cluster (../shared/PATRONI-OBSERVED.md): leader pg2,
 * replicas pg1 and pg3, all on timeline 2 at the leader's optime.
 *
 *-------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "switchover.h"

#define PREFIX "/service/anchor/"
#define OPTIME 67712040
#define MAX_KEYS 16

typedef struct Fixture
{
	char		keys[MAX_KEYS][128];
	char		values[MAX_KEYS][512];
	int			n;
	PghaCluster cl;
} Fixture;

static void
put(Fixture *f, const char *name, const char *value)
{
	int			i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->keys[i], name) == 0)
			break;
	if (i == f->n)
	{
		assert_true(f->n < MAX_KEYS);
		f->n++;
	}
	snprintf(f->keys[i], sizeof(f->keys[i]), "%s", name);
	snprintf(f->values[i], sizeof(f->values[i]), "%s", value);
}

static void
del(Fixture *f, const char *name)
{
	for (int i = 0; i < f->n; i++)
		if (strcmp(f->keys[i], name) == 0)
		{
			f->n--;
			memmove(f->keys[i], f->keys[i + 1], sizeof(f->keys[0]) * (f->n - i));
			memmove(f->values[i], f->values[i + 1], sizeof(f->values[0]) * (f->n - i));
			return;
		}
}

/*
 * A member key in Patroni's format.  xlog < 0 leaves xlog_location out,
 * timeline 0 leaves timeline out, tags NULL leaves tags out.
 */
static void
member(Fixture *f, const char *name, const char *role, const char *state,
	   int64_t xlog, int timeline, const char *tags)
{
	char		key[128];
	char		value[512];
	int			n;

	snprintf(key, sizeof(key), "members/%s", name);
	n = snprintf(value, sizeof(value),
				 "{\"conn_url\":\"postgres://127.0.0.1:5441/postgres\","
				 "\"api_url\":\"http://127.0.0.1:8008/patroni\","
				 "\"state\":\"%s\",\"role\":\"%s\",\"version\":\"3.0.2\"",
				 state, role);
	if (xlog >= 0)
		n += snprintf(value + n, sizeof(value) - n, ",\"xlog_location\":%lld",
					  (long long) xlog);
	if (timeline > 0)
		n += snprintf(value + n, sizeof(value) - n, ",\"timeline\":%d", timeline);
	if (tags != NULL)
		n += snprintf(value + n, sizeof(value) - n, ",\"tags\":%s", tags);
	snprintf(value + n, sizeof(value) - n, "}");
	put(f, key, value);
}

/* the recorded healthy cluster */
static void
baseline(Fixture *f)
{
	memset(f, 0, sizeof(*f));
	put(f, "config", "{\"ttl\":30,\"loop_wait\":10,\"retry_timeout\":10,\"maximum_lag_on_failover\":1048576}");
	put(f, "failover", "{}");
	put(f, "initialize", "7711517793368109282");
	put(f, "leader", "pg2");
	member(f, "pg1", "replica", "running", OPTIME, 2, NULL);
	member(f, "pg2", "master", "running", OPTIME, 2, NULL);
	member(f, "pg3", "replica", "running", OPTIME, 2, NULL);
	put(f, "status", "{\"optime\":67712040}");
}

static const PghaCluster *
build(Fixture *f)
{
	EtcdKV		kvs[MAX_KEYS];
	EtcdKVList	list;
	char		full[MAX_KEYS][160];

	memset(kvs, 0, sizeof(kvs));
	for (int i = 0; i < f->n; i++)
	{
		snprintf(full[i], sizeof(full[i]), "%s%s", PREFIX, f->keys[i]);
		kvs[i].key = full[i];
		kvs[i].value = f->values[i];
		kvs[i].value_len = strlen(f->values[i]);
		kvs[i].create_revision = 1;
		kvs[i].mod_revision = 10 + i;
		kvs[i].version = 1;
	}
	list.kvs = kvs;
	list.count = f->n;
	list.revision = 100;
	pgha_cluster_from_kvs(PREFIX, &list, &f->cl);
	return &f->cl;
}

static PghaSwitchoverCheck
check(Fixture *f, const char *candidate, bool failover, bool force)
{
	PghaSwitchoverCheck out;

	memset(&out, 0x7f, sizeof(out));	/* the check must set every field */
	pgha_switchover_check(build(f), candidate, failover, force, &out);
	return out;
}

static void
assert_ok(const PghaSwitchoverCheck *c, const char *chosen)
{
	assert_int_equal(c->error, PGHA_SW_OK);
	assert_string_equal(c->chosen, chosen);
	assert_string_equal(c->message, "");
	assert_string_equal(c->detail, "");
	assert_string_equal(c->hint, "");
}

static void
assert_refused(const PghaSwitchoverCheck *c, PghaSwitchoverError e,
			   const char *message, const char *detail)
{
	assert_int_equal(c->error, e);
	assert_string_equal(c->chosen, "");
	assert_string_equal(c->message, message);
	assert_string_equal(c->detail, detail);
}

static void
test_named_candidate(void **state)
{
	Fixture		f;
	PghaSwitchoverCheck c;

	baseline(&f);
	c = check(&f, "pg3", false, false);
	assert_ok(&c, "pg3");
	c = check(&f, "pg1", false, false);
	assert_ok(&c, "pg1");
	/* "" is "no candidate", like NULL */
	c = check(&f, "", false, false);
	assert_ok(&c, "pg1");
}

static void
test_best_candidate(void **state)
{
	Fixture		f;
	PghaSwitchoverCheck c;

	/* equal positions, equal priority: the smaller name */
	baseline(&f);
	c = check(&f, NULL, false, false);
	assert_ok(&c, "pg1");

	/* the most advanced first */
	member(&f, "pg1", "replica", "running", OPTIME - 100, 2, NULL);
	c = check(&f, NULL, false, false);
	assert_ok(&c, "pg3");

	/* equal positions: the higher failover_priority */
	baseline(&f);
	member(&f, "pg3", "replica", "running", OPTIME, 2, "{\"failover_priority\":2}");
	c = check(&f, NULL, false, false);
	assert_ok(&c, "pg3");

	/* position beats priority */
	member(&f, "pg3", "replica", "running", OPTIME - 1, 2, "{\"failover_priority\":5}");
	c = check(&f, NULL, false, false);
	assert_ok(&c, "pg1");

	/* the unfit are skipped, not fatal */
	baseline(&f);
	member(&f, "pg1", "replica", "running", OPTIME, 2, "{\"nofailover\":true}");
	c = check(&f, NULL, false, false);
	assert_ok(&c, "pg3");
	member(&f, "pg4", "replica", "starting", OPTIME + 10, 2, NULL);
	c = check(&f, NULL, false, false);
	assert_ok(&c, "pg3");
}

static void
test_no_leader(void **state)
{
	Fixture		f;
	PghaSwitchoverCheck c;

	baseline(&f);
	del(&f, "leader");
	c = check(&f, "pg3", false, false);
	assert_refused(&c, PGHA_SW_NO_LEADER,
				   "the cluster has no healthy leader to switch over from",
				   "No member holds the leader key.");
	assert_string_equal(c.hint, "Use pgha_failover() (pghactl failover) to promote a replica.");

	/* a leader key whose member key is gone (expired) is no healthy leader */
	baseline(&f);
	put(&f, "leader", "pg9");
	c = check(&f, NULL, false, false);
	assert_refused(&c, PGHA_SW_NO_LEADER,
				   "the cluster has no healthy leader to switch over from",
				   "The leader key names \"pg9\", which has no member key.");
}

static void
test_failover(void **state)
{
	Fixture		f;
	PghaSwitchoverCheck c;

	/* a healthy leader: refused unless forced */
	baseline(&f);
	c = check(&f, "pg3", true, false);
	assert_refused(&c, PGHA_SW_HAS_LEADER, "the cluster has a healthy leader",
				   "Member \"pg2\" holds the leader key.");
	assert_string_equal(c.hint, "Use pgha_switchover() for a planned change of leader, or force the failover.");
	c = check(&f, "pg3", true, true);
	assert_ok(&c, "pg3");
	c = check(&f, NULL, true, true);
	assert_ok(&c, "pg1");
	c = check(&f, "pg2", true, true);
	assert_refused(&c, PGHA_SW_CANDIDATE_IS_LEADER,
				   "the candidate is the current leader",
				   "Member \"pg2\" already holds the leader key.");

	/* no leader: the candidates' timelines are not compared with anyone's */
	baseline(&f);
	del(&f, "leader");
	del(&f, "members/pg2");
	member(&f, "pg1", "replica", "running", OPTIME, 3, NULL);
	c = check(&f, NULL, true, false);
	assert_ok(&c, "pg1");
	c = check(&f, "pg3", true, false);
	assert_ok(&c, "pg3");

	/* a stale leader key without a member key: no healthy leader */
	put(&f, "leader", "pg2");
	c = check(&f, "pg3", true, false);
	assert_ok(&c, "pg3");
}

static void
test_paused(void **state)
{
	Fixture		f;
	PghaSwitchoverCheck c;

	baseline(&f);
	put(&f, "config", "{\"ttl\":30,\"loop_wait\":10,\"retry_timeout\":10,\"maximum_lag_on_failover\":1048576,\"pause\":true}");
	c = check(&f, "pg3", false, false);
	assert_refused(&c, PGHA_SW_PAUSED, "the cluster is paused",
				   "No switchover happens in maintenance mode.");
	assert_string_equal(c.hint, "Resume it first with pgha_resume() (pghactl resume).");
	c = check(&f, NULL, false, false);
	assert_int_equal(c.error, PGHA_SW_PAUSED);

	/* Patroni's words for true count too */
	put(&f, "config", "{\"pause\":\"on\"}");
	c = check(&f, "pg3", false, false);
	assert_int_equal(c.error, PGHA_SW_PAUSED);

	/* a manual failover is what a paused cluster is left with */
	baseline(&f);
	put(&f, "config", "{\"pause\":true}");
	del(&f, "leader");
	c = check(&f, "pg3", true, false);
	assert_ok(&c, "pg3");
	put(&f, "leader", "pg2");
	c = check(&f, "pg3", true, true);
	assert_ok(&c, "pg3");
}

/*
 * A config key whose other fields do not decode still pauses the cluster:
 * the model keeps the pause flag (cluster.c, config_pause_only, "when in
 * doubt, do not fail over automatically") and pghactl list shows
 * "Maintenance mode: on".  The switchover check must honour it as well.
 * Fails with switchover.c as written: it tests config_valid && pause.
 */
static void
test_paused_with_undecodable_config(void **state)
{
	Fixture		f;
	PghaSwitchoverCheck c;

	baseline(&f);
	put(&f, "config", "{\"ttl\":\"thirty\",\"pause\":true}");
	assert_true(build(&f)->config.pause);
	assert_false(build(&f)->config_valid);
	c = check(&f, "pg3", false, false);
	assert_int_equal(c.error, PGHA_SW_PAUSED);
}

static void
test_unknown_candidate(void **state)
{
	Fixture		f;
	PghaSwitchoverCheck c;

	baseline(&f);
	c = check(&f, "pg9", false, false);
	assert_refused(&c, PGHA_SW_UNKNOWN_CANDIDATE, "unknown candidate",
				   "No member named \"pg9\" is registered in the cluster.");
	assert_string_equal(c.hint, "pgha_members() lists the members.");
	c = check(&f, "pg9", true, true);
	assert_int_equal(c.error, PGHA_SW_UNKNOWN_CANDIDATE);
	/* names are exact: no prefix or case folding */
	c = check(&f, "pg", false, false);
	assert_int_equal(c.error, PGHA_SW_UNKNOWN_CANDIDATE);
	c = check(&f, "PG3", false, false);
	assert_int_equal(c.error, PGHA_SW_UNKNOWN_CANDIDATE);
}

static void
test_candidate_is_leader(void **state)
{
	Fixture		f;
	PghaSwitchoverCheck c;

	baseline(&f);
	c = check(&f, "pg2", false, false);
	assert_refused(&c, PGHA_SW_CANDIDATE_IS_LEADER,
				   "the candidate is the current leader",
				   "Member \"pg2\" already holds the leader key.");
	assert_string_equal(c.hint, "Name a replica, or none to let pgha choose.");
}

static void
test_not_healthy(void **state)
{
	Fixture		f;
	PghaSwitchoverCheck c;

	baseline(&f);
	member(&f, "pg3", "replica", "starting", OPTIME, 2, NULL);
	c = check(&f, "pg3", false, false);
	assert_refused(&c, PGHA_SW_NOT_HEALTHY, "the candidate cannot take over",
				   "Member \"pg3\" is not a running replica on timeline 2 (role replica, state starting, timeline 2).");
	assert_string_equal(c.hint, "");

	/* a demoted old primary is not a replica yet */
	member(&f, "pg3", "demoted", "stopped", -1, 0, NULL);
	c = check(&f, "pg3", false, false);
	assert_refused(&c, PGHA_SW_NOT_HEALTHY, "the candidate cannot take over",
				   "Member \"pg3\" is not a running replica on timeline 2 (role demoted, state stopped, timeline 0).");

	/* role and state absent */
	put(&f, "members/pg3", "{\"conn_url\":\"postgres://127.0.0.1:5443/postgres\"}");
	c = check(&f, "pg3", false, false);
	assert_refused(&c, PGHA_SW_NOT_HEALTHY, "the candidate cannot take over",
				   "Member \"pg3\" is not a running replica on timeline 2 (role unknown, state unknown, timeline 0).");

	/* another timeline than the leader's */
	member(&f, "pg3", "replica", "running", OPTIME, 1, NULL);
	c = check(&f, "pg3", false, false);
	assert_int_equal(c.error, PGHA_SW_NOT_HEALTHY);

	/*
	 * A leader without a timeline in its key (Patroni's leader writes none
	 * while it demotes) compares no timelines.
	 */
	member(&f, "pg2", "master", "running", -1, 0, NULL);
	c = check(&f, "pg3", false, false);
	assert_ok(&c, "pg3");
}

static void
test_lagging(void **state)
{
	Fixture		f;
	PghaSwitchoverCheck c;

	baseline(&f);
	member(&f, "pg3", "replica", "running", OPTIME - 1048577, 2, NULL);
	c = check(&f, "pg3", false, false);
	assert_refused(&c, PGHA_SW_LAGGING, "the candidate cannot take over",
				   "Member \"pg3\" is 1048577 bytes behind the leader; maximum_lag_on_failover is 1048576.");

	/* exactly at the limit is fine */
	member(&f, "pg3", "replica", "running", OPTIME - 1048576, 2, NULL);
	c = check(&f, "pg3", false, false);
	assert_ok(&c, "pg3");

	/* the limit comes from the config key */
	put(&f, "config", "{\"maximum_lag_on_failover\":0}");
	c = check(&f, "pg3", false, false);
	assert_refused(&c, PGHA_SW_LAGGING, "the candidate cannot take over",
				   "Member \"pg3\" is 1048576 bytes behind the leader; maximum_lag_on_failover is 0.");
	c = check(&f, "pg1", false, false);
	assert_ok(&c, "pg1");

	/* ahead of the last published optime: no lag */
	member(&f, "pg1", "replica", "running", OPTIME + 500, 2, NULL);
	c = check(&f, "pg1", false, false);
	assert_ok(&c, "pg1");

	/* no WAL position at all */
	baseline(&f);
	member(&f, "pg3", "replica", "running", -1, 2, NULL);
	c = check(&f, "pg3", false, false);
	assert_refused(&c, PGHA_SW_LAGGING, "the candidate cannot take over",
				   "Member \"pg3\" publishes no WAL position.");

	/* without a status key a position counts as current, none still does not */
	del(&f, "status");
	c = check(&f, "pg3", false, false);
	assert_int_equal(c.error, PGHA_SW_LAGGING);
	c = check(&f, "pg1", false, false);
	assert_ok(&c, "pg1");

	/* a config key that does not decode: Patroni's default limit */
	baseline(&f);
	put(&f, "config", "not json");
	member(&f, "pg3", "replica", "running", OPTIME - 1048577, 2, NULL);
	c = check(&f, "pg3", false, false);
	assert_refused(&c, PGHA_SW_LAGGING, "the candidate cannot take over",
				   "Member \"pg3\" is 1048577 bytes behind the leader; maximum_lag_on_failover is 1048576.");
}

/* a check on the leader, with its walsenders' view first */
static PghaSwitchoverCheck
check_fresh(Fixture *f, const char *candidate, const char *me, int my_tl,
			int64_t my_lsn, const PghaSyncPeer *peers, int npeers)
{
	PghaSwitchoverCheck out;

	build(f);
	pgha_switchover_freshen(&f->cl, me, my_tl, my_lsn, peers, npeers);
	pgha_switchover_check(&f->cl, candidate, false, false, &out);
	return out;
}

/* the check after pgha_switchover_freshen_replica() on me */
static PghaSwitchoverCheck
check_fresh_replica(Fixture *f, const char *candidate, const char *me,
					bool streaming, int tl, int64_t flush)
{
	PghaSwitchoverCheck out;

	build(f);
	pgha_switchover_freshen_replica(&f->cl, me, streaming, tl, flush);
	pgha_switchover_check(&f->cl, candidate, false, false, &out);
	return out;
}

static void
test_freshen_replica(void **state)
{
	Fixture		f;
	PghaSwitchoverCheck c;

	/* right after it rejoined: pg3's own key still names timeline 1 */
	baseline(&f);
	member(&f, "pg3", "replica", "running", OPTIME, 1, NULL);
	c = check(&f, "pg3", false, false);
	assert_int_equal(c.error, PGHA_SW_NOT_HEALTHY);
	c = check_fresh_replica(&f, "pg3", "pg3", true, 2, OPTIME);
	assert_ok(&c, "pg3");
	/* not streaming: what its key says stands */
	c = check_fresh_replica(&f, "pg3", "pg3", false, 2, OPTIME);
	assert_int_equal(c.error, PGHA_SW_NOT_HEALTHY);
	/* on another node only its own entry changes */
	c = check_fresh_replica(&f, "pg3", "pg1", true, 2, OPTIME);
	assert_int_equal(c.error, PGHA_SW_NOT_HEALTHY);

	/* a segment switch: its key says 16 MB behind, its receiver has it all */
	baseline(&f);
	member(&f, "pg3", "replica", "running", OPTIME - 16777216, 2, NULL);
	c = check_fresh_replica(&f, "pg3", "pg3", true, 2, OPTIME);
	assert_ok(&c, "pg3");
	/* never lowered: an older timeline or position changes nothing */
	baseline(&f);
	c = check_fresh_replica(&f, "pg3", "pg3", true, 1, OPTIME - 16777216);
	assert_ok(&c, "pg3");
	assert_int_equal(pgha_cluster_find_member(&f.cl, "pg3")->timeline, 2);
	assert_int_equal(pgha_cluster_find_member(&f.cl, "pg3")->xlog_location, OPTIME);

	/* the leader's own key still names timeline 1: it sends timeline 2 */
	baseline(&f);
	member(&f, "pg2", "master", "running", OPTIME, 1, NULL);
	c = check_fresh_replica(&f, "pg3", "pg3", true, 2, OPTIME);
	assert_ok(&c, "pg3");
	assert_int_equal(pgha_cluster_find_member(&f.cl, "pg2")->timeline, 2);

	/* the leader itself: pgha_switchover_freshen()'s business */
	baseline(&f);
	member(&f, "pg3", "replica", "running", OPTIME, 1, NULL);
	c = check_fresh_replica(&f, "pg3", "pg2", true, 2, OPTIME);
	assert_int_equal(c.error, PGHA_SW_NOT_HEALTHY);
	(void) state;
}

static void
test_freshen(void **state)
{
	Fixture		f;
	PghaSwitchoverCheck c;
	PghaSyncPeer peers[2];

	memset(peers, 0, sizeof(peers));
	strcpy(peers[0].name, "pg3");
	peers[0].streaming = true;
	peers[0].flush = OPTIME;
	strcpy(peers[1].name, "PG1");	/* application_name: any case */
	peers[1].streaming = true;
	peers[1].flush = OPTIME + 100;

	/* a segment switch: pg3's key still says 16 MB behind */
	baseline(&f);
	member(&f, "pg3", "replica", "running", OPTIME - 16777216, 2, NULL);
	c = check(&f, "pg3", false, false);
	assert_int_equal(c.error, PGHA_SW_LAGGING);
	c = check_fresh(&f, "pg3", "pg2", 2, OPTIME, peers, 2);
	assert_ok(&c, "pg3");
	assert_int_equal(pgha_cluster_find_member(&f.cl, "pg1")->xlog_location, OPTIME + 100);
	assert_int_equal(pgha_cluster_find_member(&f.cl, "pg2")->xlog_location, OPTIME);

	/* only the leader's walsenders speak for the cluster */
	c = check_fresh(&f, "pg3", "pg1", 2, OPTIME, peers, 2);
	assert_int_equal(c.error, PGHA_SW_LAGGING);
	/* a standby that is not streaming (catching up, backup) is not raised */
	peers[0].streaming = false;
	c = check_fresh(&f, "pg3", "pg2", 2, OPTIME, peers, 2);
	assert_int_equal(c.error, PGHA_SW_LAGGING);
	peers[0].streaming = true;
	/* a position is never lowered */
	baseline(&f);
	peers[0].flush = OPTIME - 2000000;
	c = check_fresh(&f, "pg3", "pg2", 2, OPTIME, peers, 2);
	assert_ok(&c, "pg3");
	assert_int_equal(pgha_cluster_find_member(&f.cl, "pg3")->xlog_location, OPTIME);

	/* right after a switchover: pg3's key still names timeline 1 */
	baseline(&f);
	put(&f, "history", "[[1,67109200,\"no recovery target specified\",\"2026-12-01T08:49:23+00:00\",\"pg2\"]]");
	member(&f, "pg3", "replica", "running", OPTIME, 1, NULL);
	c = check(&f, "pg3", false, false);
	assert_int_equal(c.error, PGHA_SW_NOT_HEALTHY);
	peers[0].flush = OPTIME;
	c = check_fresh(&f, "pg3", "pg2", 2, OPTIME, peers, 1);
	assert_ok(&c, "pg3");
	/* not past the start of timeline 2: it may still be on timeline 1 */
	peers[0].flush = 67109200;
	c = check_fresh(&f, "pg3", "pg2", 2, OPTIME, peers, 1);
	assert_int_equal(c.error, PGHA_SW_NOT_HEALTHY);
	/* where timeline 2 began is not known (no history key): unchanged */
	del(&f, "history");
	peers[0].flush = OPTIME;
	c = check_fresh(&f, "pg3", "pg2", 2, OPTIME, peers, 1);
	assert_int_equal(c.error, PGHA_SW_NOT_HEALTHY);

	/* the leader's own key a timeline behind (just promoted) */
	baseline(&f);
	member(&f, "pg2", "master", "running", OPTIME, 1, NULL);
	put(&f, "history", "[[1,67109200,\"no recovery target specified\",\"2026-12-01T08:49:23+00:00\",\"pg2\"]]");
	c = check(&f, "pg3", false, false);
	assert_int_equal(c.error, PGHA_SW_NOT_HEALTHY);
	c = check_fresh(&f, "pg3", "pg2", 2, OPTIME, peers, 1);
	assert_ok(&c, "pg3");
	assert_int_equal(pgha_cluster_find_member(&f.cl, "pg2")->timeline, 2);
}

static void
test_sync_mode(void **state)
{
	Fixture		f;
	PghaSwitchoverCheck c;

	baseline(&f);
	put(&f, "config", "{\"synchronous_mode\":true}");
	put(&f, "sync", "{\"leader\":\"pg2\",\"sync_standby\":\"pg3\"}");
	c = check(&f, "pg1", false, false);
	assert_refused(&c, PGHA_SW_NOT_SYNC, "the candidate cannot take over",
				   "Member \"pg1\" is not a synchronous standby, and the cluster is in synchronous mode.");
	c = check(&f, "pg1", true, true);
	assert_int_equal(c.error, PGHA_SW_NOT_SYNC);
	/* the sync standby, even far behind: it has every acknowledged commit */
	member(&f, "pg3", "replica", "running", 1000, 2, NULL);
	c = check(&f, "pg3", false, false);
	assert_ok(&c, "pg3");
	c = check(&f, NULL, false, false);
	assert_ok(&c, "pg3");
	/* no sync key: nobody */
	put(&f, "sync", "garbage");
	c = check(&f, NULL, false, false);
	assert_int_equal(c.error, PGHA_SW_NO_CANDIDATE);
	assert_string_equal(c.detail, "No member is a running synchronous standby that is not tagged nofailover.");
}

static void
test_nofailover(void **state)
{
	Fixture		f;
	PghaSwitchoverCheck c;

	baseline(&f);
	member(&f, "pg3", "replica", "running", OPTIME, 2, "{\"nofailover\":true}");
	c = check(&f, "pg3", false, false);
	assert_refused(&c, PGHA_SW_NOFAILOVER, "the candidate cannot take over",
				   "Member \"pg3\" is tagged nofailover.");

	/* Patroni's string booleans; the tag wins over an unhealthy state */
	member(&f, "pg3", "replica", "stopped", -1, 0, "{\"nofailover\":\"yes\"}");
	c = check(&f, "pg3", true, true);
	assert_int_equal(c.error, PGHA_SW_NOFAILOVER);
	member(&f, "pg3", "replica", "running", OPTIME, 2, "{\"nofailover\":false}");
	c = check(&f, "pg3", false, false);
	assert_ok(&c, "pg3");
}

static void
test_no_candidate(void **state)
{
	Fixture		f;
	PghaSwitchoverCheck c;
	const char *detail = "No member is a running replica within maximum_lag_on_failover that is not tagged nofailover.";

	baseline(&f);
	member(&f, "pg1", "replica", "running", OPTIME, 2, "{\"nofailover\":true}");
	member(&f, "pg3", "replica", "running", 0, 2, NULL);
	c = check(&f, NULL, false, false);
	assert_refused(&c, PGHA_SW_NO_CANDIDATE, "no replica can take over", detail);
	assert_string_equal(c.hint, "pgha_members() shows the members' state and lag.");
	c = check(&f, NULL, true, true);
	assert_int_equal(c.error, PGHA_SW_NO_CANDIDATE);

	/* the leader alone */
	baseline(&f);
	del(&f, "members/pg1");
	del(&f, "members/pg3");
	c = check(&f, NULL, false, false);
	assert_refused(&c, PGHA_SW_NO_CANDIDATE, "no replica can take over", detail);

	/* no members at all, no leader: a failover has no one to promote */
	baseline(&f);
	del(&f, "leader");
	del(&f, "members/pg1");
	del(&f, "members/pg2");
	del(&f, "members/pg3");
	c = check(&f, NULL, true, false);
	assert_int_equal(c.error, PGHA_SW_NO_CANDIDATE);
}

/* the order of the checks decides which reason an operator reads */
static void
test_precedence(void **state)
{
	Fixture		f;
	PghaSwitchoverCheck c;

	/* no leader before paused before the candidate */
	baseline(&f);
	put(&f, "config", "{\"pause\":true}");
	del(&f, "leader");
	c = check(&f, "pg9", false, false);
	assert_int_equal(c.error, PGHA_SW_NO_LEADER);
	put(&f, "leader", "pg2");
	c = check(&f, "pg9", false, false);
	assert_int_equal(c.error, PGHA_SW_PAUSED);

	/* a healthy leader before the candidate, for an unforced failover */
	baseline(&f);
	c = check(&f, "pg9", true, false);
	assert_int_equal(c.error, PGHA_SW_HAS_LEADER);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_named_candidate),
		cmocka_unit_test(test_freshen),
		cmocka_unit_test(test_freshen_replica),
		cmocka_unit_test(test_best_candidate),
		cmocka_unit_test(test_no_leader),
		cmocka_unit_test(test_failover),
		cmocka_unit_test(test_paused),
		cmocka_unit_test(test_paused_with_undecodable_config),
		cmocka_unit_test(test_unknown_candidate),
		cmocka_unit_test(test_candidate_is_leader),
		cmocka_unit_test(test_not_healthy),
		cmocka_unit_test(test_lagging),
		cmocka_unit_test(test_nofailover),
		cmocka_unit_test(test_sync_mode),
		cmocka_unit_test(test_no_candidate),
		cmocka_unit_test(test_precedence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
