/*
 * test_sync.c
 *	  Unit tests of synchronous mode without servers: the sync key
 *	  (src/common/model/sync_state.c), synchronous_mode in the config key, and
 *	  the leader's plan (src/common/policy/sync_plan.c) with the order that keeps
 *	  safety rule 3.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "sync_plan.h"

static PghaCluster cl;
static PghaSyncPeer peers[8];
static int	npeers;
static PghaSyncPlan plan;

static int
setup(void **state)
{
	memset(&cl, 0, sizeof(cl));
	memset(peers, 0, sizeof(peers));
	npeers = 0;
	cl.config.synchronous_mode = PGHA_SYNC_ON;
	cl.config.synchronous_node_count = 1;
	return 0;
}

/* --- the sync key ------------------------------------------------------ */

static void
test_sync_key_patroni_sample(void **state)
{
	PghaSyncState s;
	char		err[256];

	/* ../shared/PATRONI-OBSERVED.md */
	assert_true(pgha_sync_from_json("{\"leader\":\"pg3\",\"sync_standby\":\"pg1\"}",
									&s, err, sizeof(err)));
	assert_string_equal(s.leader, "pg3");
	assert_int_equal(s.nmembers, 1);
	assert_string_equal(s.members[0], "pg1");
	assert_true(pgha_sync_lists(&s, "PG1"));
	assert_false(pgha_sync_lists(&s, "pg3"));
	assert_false(pgha_sync_lists(&s, ""));
}

static void
test_sync_key_list_null_and_blanks(void **state)
{
	PghaSyncState s;
	char		err[256];

	assert_true(pgha_sync_from_json("{\"leader\":\"a\",\"sync_standby\":null}",
									&s, err, sizeof(err)));
	assert_int_equal(s.nmembers, 0);
	assert_true(pgha_sync_from_json("{\"leader\":\"a\",\"sync_standby\":\" b , c,,\"}",
									&s, err, sizeof(err)));
	assert_int_equal(s.nmembers, 2);
	assert_string_equal(s.members[0], "b");
	assert_string_equal(s.members[1], "c");
	assert_true(pgha_sync_from_json("{}", &s, err, sizeof(err)));
	assert_string_equal(s.leader, "");
	assert_int_equal(s.nmembers, 0);
}

static void
test_sync_key_garbage(void **state)
{
	PghaSyncState s;
	char		err[256];
	char		big[200];
	char		json[400];

	assert_false(pgha_sync_from_json("[1]", &s, err, sizeof(err)));
	assert_string_equal(err, "sync value is not a JSON object");
	assert_false(pgha_sync_from_json("{\"leader\":1}", &s, err, sizeof(err)));
	assert_string_equal(err, "\"leader\" is not a string");
	assert_false(pgha_sync_from_json("{\"sync_standby\":[\"a\"]}", &s, err, sizeof(err)));
	assert_false(pgha_sync_from_json("{\"leader\":\"a\\u0000b\"}", &s, err, sizeof(err)));
	assert_false(pgha_sync_from_json("nope", &s, err, sizeof(err)));
	memset(big, 'x', 100);
	big[100] = '\0';
	snprintf(json, sizeof(json), "{\"sync_standby\":\"%s\"}", big);
	assert_false(pgha_sync_from_json(json, &s, err, sizeof(err)));
	assert_string_equal(err, "a sync_standby name is longer than 63 bytes");
	assert_false(pgha_sync_from_json("{\"sync_standby\":\"a,b,c,d,e,f,g,h,i\"}",
									 &s, err, sizeof(err)));
	assert_string_equal(err, "sync_standby lists more than 8 members");
}

static void
test_sync_key_encode(void **state)
{
	PghaSyncState s;
	char	   *json;

	memset(&s, 0, sizeof(s));
	strcpy(s.leader, "pg3");
	json = pgha_sync_to_json(&s);
	assert_string_equal(json, "{\"leader\":\"pg3\",\"sync_standby\":null}");
	free(json);
	strcpy(s.members[s.nmembers++], "pg1");
	strcpy(s.members[s.nmembers++], "pg2");
	json = pgha_sync_to_json(&s);
	assert_string_equal(json, "{\"leader\":\"pg3\",\"sync_standby\":\"pg1,pg2\"}");
	free(json);
}

static EtcdKV
kv(const char *key, const char *value, int64_t modrev)
{
	EtcdKV		k;

	memset(&k, 0, sizeof(k));
	k.key = (char *) key;
	k.value = (char *) value;
	k.value_len = strlen(value);
	k.mod_revision = modrev;
	return k;
}

static void
test_cluster_reads_sync_key(void **state)
{
	EtcdKV		kvs[3];
	EtcdKVList	list = {kvs, 3, 40};
	PghaCluster c;

	kvs[0] = kv("/service/a/sync", "{\"leader\":\"pg3\",\"sync_standby\":\"pg1\"}", 33);
	kvs[1] = kv("/service/a/members/pg1", "{\"role\":\"replica\",\"state\":\"running\"}", 34);
	kvs[2] = kv("/service/a/leader", "pg3", 35);
	pgha_cluster_from_kvs("/service/a/", &list, &c);
	assert_true(c.has_sync);
	assert_int_equal(c.sync_mod_revision, 33);
	assert_string_equal(pgha_member_display_role(&c, &c.members[0]), "Sync Standby");
	assert_true(pgha_sync_may_promote(&c, "pg1"));
	assert_true(pgha_sync_may_promote(&c, "pg3"));
	assert_false(pgha_sync_may_promote(&c, "pg2"));

	/* undecodable: present, lists nobody */
	kvs[0] = kv("/service/a/sync", "{\"leader\":\"pg3\",\"sync_standby\":7}", 36);
	pgha_cluster_from_kvs("/service/a/", &list, &c);
	assert_true(c.has_sync);
	assert_int_equal(c.sync.nmembers, 0);
	assert_false(pgha_sync_may_promote(&c, "pg1"));
	assert_false(pgha_sync_may_promote(&c, "pg3"));
	assert_string_equal(pgha_member_display_role(&c, &c.members[0]), "Replica");
	assert_non_null(strstr(c.last_decode_error, "sync key"));
}

/* --- synchronous_mode in the config key --------------------------------- */

static PghaSyncMode
mode_of(const char *json, bool *ok)
{
	PghaDynConfig cfg;
	char		err[256];

	memset(&cfg, 0, sizeof(cfg));
	*ok = pgha_config_from_json(json, &cfg, err, sizeof(err));
	return cfg.synchronous_mode;
}

static void
test_config_sync_mode(void **state)
{
	bool		ok;

	assert_int_equal(mode_of("{}", &ok), PGHA_SYNC_OFF);
	assert_true(ok);
	assert_int_equal(mode_of("{\"synchronous_mode\":true}", &ok), PGHA_SYNC_ON);
	assert_int_equal(mode_of("{\"synchronous_mode\":\"on\"}", &ok), PGHA_SYNC_ON);
	assert_int_equal(mode_of("{\"synchronous_mode\":\"strict\"}", &ok), PGHA_SYNC_STRICT);
	assert_int_equal(mode_of("{\"synchronous_mode\":true,\"synchronous_mode_strict\":true}", &ok),
					 PGHA_SYNC_STRICT);
	/* strict without synchronous_mode is off, as in Patroni */
	assert_int_equal(mode_of("{\"synchronous_mode_strict\":true}", &ok), PGHA_SYNC_OFF);
	assert_int_equal(mode_of("{\"synchronous_mode\":false}", &ok), PGHA_SYNC_OFF);
	assert_true(ok);
	mode_of("{\"synchronous_mode\":\"maybe\"}", &ok);
	assert_false(ok);
	mode_of("{\"synchronous_mode\":true,\"synchronous_mode_strict\":[]}", &ok);
	assert_false(ok);
}

static void
test_config_node_count(void **state)
{
	PghaDynConfig cfg;
	char		err[256];
	char	   *json;

	memset(&cfg, 0, sizeof(cfg));
	cfg.synchronous_node_count = 1;
	assert_true(pgha_config_from_json("{\"synchronous_node_count\":\"2\"}", &cfg, err, sizeof(err)));
	assert_int_equal(cfg.synchronous_node_count, 2);
	assert_false(pgha_config_from_json("{\"synchronous_node_count\":0}", &cfg, err, sizeof(err)));
	assert_false(pgha_config_from_json("{\"synchronous_node_count\":9}", &cfg, err, sizeof(err)));
	cfg.synchronous_mode = PGHA_SYNC_STRICT;
	json = pgha_config_to_json(&cfg);
	assert_non_null(strstr(json, "\"synchronous_mode\":true"));
	assert_non_null(strstr(json, "\"synchronous_mode_strict\":true"));
	assert_non_null(strstr(json, "\"synchronous_node_count\":2"));
	free(json);
}

/* a broken config keeps synchronous mode on: never promote a lagging standby */
static void
test_broken_config_keeps_sync_mode(void **state)
{
	EtcdKV		kvs[1];
	EtcdKVList	list = {kvs, 1, 40};
	PghaCluster c;

	kvs[0] = kv("/service/a/config", "{\"ttl\":\"x\",\"synchronous_mode\":true}", 3);
	pgha_cluster_from_kvs("/service/a/", &list, &c);
	assert_false(c.config_valid);
	assert_int_equal(c.config.synchronous_mode, PGHA_SYNC_ON);
	kvs[0] = kv("/service/a/config", "{\"ttl\":\"x\",\"synchronous_mode\":\"??\"}", 3);
	pgha_cluster_from_kvs("/service/a/", &list, &c);
	assert_int_equal(c.config.synchronous_mode, PGHA_SYNC_ON);
	kvs[0] = kv("/service/a/config", "{\"ttl\":\"x\"}", 3);
	pgha_cluster_from_kvs("/service/a/", &list, &c);
	assert_int_equal(c.config.synchronous_mode, PGHA_SYNC_OFF);
}

/* --- the leader's plan --------------------------------------------------- */

static void
member(const char *name)
{
	PghaMember *m = &cl.members[cl.nmembers++];

	memset(m, 0, sizeof(*m));
	strcpy(m->name, name);
	strcpy(m->role, "replica");
	m->failover_priority = 1;
}

static PghaSyncPeer *
peer(const char *name, int64_t flush, bool named, bool caught_up)
{
	PghaSyncPeer *p = &peers[npeers++];

	strcpy(p->name, name);
	p->streaming = true;
	p->flush = flush;
	p->named = named;
	p->caught_up = caught_up;
	return p;
}

static void
sync_key(const char *leader, const char *standby)
{
	cl.has_sync = true;
	memset(&cl.sync, 0, sizeof(cl.sync));
	strcpy(cl.sync.leader, leader);
	if (standby)
		strcpy(cl.sync.members[cl.sync.nmembers++], standby);
}

static const char *
ssn(void)
{
	static char buf[512];

	assert_true(pgha_sync_standby_names(&plan, buf, sizeof(buf)));
	return buf;
}

static void
test_plan_fresh_leader_claims_key_then_names_best(void **state)
{
	member("n2");
	member("n3");
	peer("n2", 100, false, false);
	peer("n3", 200, false, false);
	pgha_sync_plan(&cl, "n1", peers, npeers, &plan);
	/* the key names us first, with nobody */
	assert_true(plan.write_narrowed);
	assert_string_equal(plan.narrowed.leader, "n1");
	assert_int_equal(plan.narrowed.nmembers, 0);
	/* the most advanced standby is named in the setting... */
	assert_string_equal(ssn(), "FIRST 1 (\"n3\")");
	/* ...but not published before it is named and caught up */
	assert_false(plan.write_final);
	assert_true(plan.pending);
}

static void
test_plan_publishes_after_catch_up(void **state)
{
	member("n2");
	member("n3");
	sync_key("n1", NULL);
	peer("n2", 100, false, false);
	peer("n3", 200, true, true);
	pgha_sync_plan(&cl, "n1", peers, npeers, &plan);
	assert_false(plan.write_narrowed);
	assert_string_equal(ssn(), "FIRST 1 (\"n3\")");
	assert_true(plan.write_final);
	assert_int_equal(plan.final.nmembers, 1);
	assert_string_equal(plan.final.members[0], "n3");
	assert_false(plan.pending);
}

static void
test_plan_steady_state_writes_nothing(void **state)
{
	member("n2");
	member("n3");
	sync_key("n1", "n2");
	peer("n2", 100, true, true);
	peer("n3", 900, false, false);	/* more advanced, but n2 is listed */
	pgha_sync_plan(&cl, "n1", peers, npeers, &plan);
	assert_false(plan.write_narrowed);
	assert_false(plan.write_final);
	assert_string_equal(ssn(), "FIRST 1 (\"n2\")");
}

static void
test_plan_unpublishes_before_renaming(void **state)
{
	member("n2");
	member("n3");
	sync_key("n1", "n2");
	peers[0].streaming = false;		/* n2 went away */
	strcpy(peers[0].name, "n2");
	npeers = 1;
	peer("n3", 300, false, false);
	pgha_sync_plan(&cl, "n1", peers, npeers, &plan);
	/* n2 leaves the key first ... */
	assert_true(plan.write_narrowed);
	assert_int_equal(plan.narrowed.nmembers, 0);
	/* ... then the setting names n3, which is not published yet */
	assert_string_equal(ssn(), "FIRST 1 (\"n3\")");
	assert_false(plan.write_final);
}

static void
test_plan_no_candidate(void **state)
{
	member("n2");
	sync_key("n1", "n2");
	pgha_sync_plan(&cl, "n1", peers, npeers, &plan);
	assert_true(plan.write_narrowed);
	assert_string_equal(ssn(), "");
	cl.config.synchronous_mode = PGHA_SYNC_STRICT;
	pgha_sync_plan(&cl, "n1", peers, npeers, &plan);
	assert_string_equal(ssn(), "*");
	assert_int_equal(plan.narrowed.nmembers, 0);
}

static void
test_plan_excludes_tagged_and_unknown(void **state)
{
	member("n2");
	member("n3");
	member("n4");
	cl.members[0].nosync = true;
	cl.members[1].nofailover = true;
	cl.members[2].failover_priority = 0;
	peer("n2", 100, true, true);
	peer("n3", 100, true, true);
	peer("n4", 100, true, true);
	peer("pg_basebackup", 100, true, true);	/* no member key */
	peer("n1", 100, true, true);	/* ourselves, somehow */
	pgha_sync_plan(&cl, "n1", peers, npeers, &plan);
	assert_int_equal(plan.npicked, 0);
	assert_string_equal(ssn(), "");
}

static void
test_plan_node_count_two(void **state)
{
	member("n2");
	member("n3");
	member("n4");
	cl.config.synchronous_node_count = 2;
	sync_key("n1", "n4");
	peer("n2", 100, true, true);
	peer("n3", 300, false, false);
	peer("n4", 50, true, true);
	peer("n3", 300, false, false);	/* connected twice */
	pgha_sync_plan(&cl, "n1", peers, npeers, &plan);
	/* listed first, then named, then the most advanced */
	assert_int_equal(plan.npicked, 2);
	assert_string_equal(ssn(), "FIRST 2 (\"n4\", \"n2\")");
	assert_true(plan.write_final);
	assert_int_equal(plan.final.nmembers, 2);
}

static void
test_plan_other_leaders_key_is_replaced(void **state)
{
	member("n2");
	sync_key("n9", "n2");
	peer("n2", 100, true, true);
	pgha_sync_plan(&cl, "n1", peers, npeers, &plan);
	/* n2 was sync for n9, not for us: it must qualify again */
	assert_true(plan.write_narrowed);
	assert_int_equal(plan.narrowed.nmembers, 0);
	assert_string_equal(plan.narrowed.leader, "n1");
	assert_true(plan.write_final);
}

static void
test_setting_text_quotes(void **state)
{
	char		buf[256];

	memset(&plan, 0, sizeof(plan));
	plan.npicked = 1;
	strcpy(plan.picked[0], "we\"ird'name");
	assert_string_equal(ssn(), "FIRST 1 (\"we\"\"ird'name\")");
	assert_true(pgha_sync_conf_text(ssn(), buf, sizeof(buf)));
	assert_string_equal(buf, "# written by pgha: synchronous mode (do not edit)\n"
						"synchronous_standby_names = 'FIRST 1 (\"we\"\"ird''name\")'\n");
	assert_true(pgha_sync_conf_text(NULL, buf, sizeof(buf)));
	assert_string_equal(buf, "# written by pgha: synchronous mode is off\n");
	assert_false(pgha_sync_conf_text("x", buf, 20));
	assert_false(pgha_sync_standby_names(&plan, buf, 8));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_sync_key_patroni_sample, setup),
		cmocka_unit_test_setup(test_sync_key_list_null_and_blanks, setup),
		cmocka_unit_test_setup(test_sync_key_garbage, setup),
		cmocka_unit_test_setup(test_sync_key_encode, setup),
		cmocka_unit_test_setup(test_cluster_reads_sync_key, setup),
		cmocka_unit_test_setup(test_config_sync_mode, setup),
		cmocka_unit_test_setup(test_config_node_count, setup),
		cmocka_unit_test_setup(test_broken_config_keeps_sync_mode, setup),
		cmocka_unit_test_setup(test_plan_fresh_leader_claims_key_then_names_best, setup),
		cmocka_unit_test_setup(test_plan_publishes_after_catch_up, setup),
		cmocka_unit_test_setup(test_plan_steady_state_writes_nothing, setup),
		cmocka_unit_test_setup(test_plan_unpublishes_before_renaming, setup),
		cmocka_unit_test_setup(test_plan_no_candidate, setup),
		cmocka_unit_test_setup(test_plan_excludes_tagged_and_unknown, setup),
		cmocka_unit_test_setup(test_plan_node_count_two, setup),
		cmocka_unit_test_setup(test_plan_other_leaders_key_is_replaced, setup),
		cmocka_unit_test_setup(test_setting_text_quotes, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
