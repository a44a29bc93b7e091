/*
 * test_api_policy.c
 *	  Unit tests of the REST api's decisions (src/common/api/api_policy.c):
 *	  routing, every health check's status code on a leader, a replica and
 *	  nodes in between, as Patroni 3's do_GET decides them, and the
 *	  parsing of ?lag= and host:port.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "api_policy.h"

static PghaApiNode n;
static PghaApiQuery q;

static void
leader_node(void)
{
	memset(&n, 0, sizeof(n));
	memset(&q, 0, sizeof(q));
	n.state = "running";
	n.role = "master";
	n.is_leader = true;
	n.have_cluster = true;
	n.leader_optime = 67712040;
	n.keeper_age_ms = 100;
	n.ttl = 30;
	n.loop_wait = 10;
}

static void
replica_node(void)
{
	leader_node();
	n.role = "replica";
	n.is_leader = false;
	n.replayed_location = 67712040;
	n.replication_state = "streaming";
}

static int
code(PghaApiEndpoint ep)
{
	return pgha_api_check_code(ep, &n, &q);
}

static void
test_routes(void **state)
{
	assert_int_equal(pgha_api_endpoint("/"), PGHA_EP_PRIMARY);
	assert_int_equal(pgha_api_endpoint("/primary"), PGHA_EP_PRIMARY);
	assert_int_equal(pgha_api_endpoint("/master"), PGHA_EP_PRIMARY);
	assert_int_equal(pgha_api_endpoint("/read-write"), PGHA_EP_PRIMARY);
	assert_int_equal(pgha_api_endpoint("/leader"), PGHA_EP_LEADER);
	assert_int_equal(pgha_api_endpoint("/standby-leader"), PGHA_EP_STANDBY_LEADER);
	assert_int_equal(pgha_api_endpoint("/replica"), PGHA_EP_REPLICA);
	assert_int_equal(pgha_api_endpoint("/read-only"), PGHA_EP_READ_ONLY);
	assert_int_equal(pgha_api_endpoint("/sync"), PGHA_EP_SYNC);
	assert_int_equal(pgha_api_endpoint("/synchronous"), PGHA_EP_SYNC);
	assert_int_equal(pgha_api_endpoint("/async"), PGHA_EP_ASYNC);
	assert_int_equal(pgha_api_endpoint("/asynchronous"), PGHA_EP_ASYNC);
	assert_int_equal(pgha_api_endpoint("/read-only-sync"), PGHA_EP_READ_ONLY_SYNC);
	assert_int_equal(pgha_api_endpoint("/health"), PGHA_EP_HEALTH);
	assert_int_equal(pgha_api_endpoint("/patroni"), PGHA_EP_PATRONI);
	assert_int_equal(pgha_api_endpoint("/patroni/anything"), PGHA_EP_PATRONI);
	assert_int_equal(pgha_api_endpoint("/metrics"), PGHA_EP_METRICS);
	assert_int_equal(pgha_api_endpoint("/switchover"), PGHA_EP_SWITCHOVER);
	assert_int_equal(pgha_api_endpoint("/nope"), PGHA_EP_NOT_FOUND);
	assert_int_equal(pgha_api_endpoint("/primaryx"), PGHA_EP_NOT_FOUND);
	assert_int_equal(pgha_api_endpoint("primary"), PGHA_EP_NOT_FOUND);
	assert_int_equal(pgha_api_endpoint(NULL), PGHA_EP_NOT_FOUND);
	assert_true(pgha_api_is_check(PGHA_EP_HEALTH));
	assert_false(pgha_api_is_check(PGHA_EP_PATRONI));
	assert_int_equal(pgha_api_method("OPTIONS"), PGHA_HTTP_OPTIONS);
	assert_int_equal(pgha_api_method("get"), PGHA_HTTP_OTHER);
	assert_true(pgha_api_method_is_unsafe(PGHA_HTTP_PATCH));
	assert_false(pgha_api_method_is_unsafe(PGHA_HTTP_HEAD));
}

/* the recorded Patroni leader pg2: PATRONI-OBSERVED.md */
static void
test_leader_codes(void **state)
{
	leader_node();
	assert_int_equal(code(PGHA_EP_PRIMARY), 200);
	assert_int_equal(code(PGHA_EP_LEADER), 200);
	assert_int_equal(code(PGHA_EP_STANDBY_LEADER), 503);
	assert_int_equal(code(PGHA_EP_REPLICA), 503);
	assert_int_equal(code(PGHA_EP_READ_ONLY), 200);
	assert_int_equal(code(PGHA_EP_HEALTH), 200);
	assert_int_equal(code(PGHA_EP_SYNC), 503);
	assert_int_equal(code(PGHA_EP_ASYNC), 503);
	assert_int_equal(code(PGHA_EP_READ_ONLY_SYNC), 200);
	assert_int_equal(pgha_api_readiness_code(&n), 200);
	assert_int_equal(pgha_api_liveness_code(&n), 200);
}

/* the recorded Patroni replica pg1 */
static void
test_replica_codes(void **state)
{
	replica_node();
	assert_int_equal(code(PGHA_EP_PRIMARY), 503);
	assert_int_equal(code(PGHA_EP_LEADER), 503);
	assert_int_equal(code(PGHA_EP_STANDBY_LEADER), 503);
	assert_int_equal(code(PGHA_EP_REPLICA), 200);
	assert_int_equal(code(PGHA_EP_READ_ONLY), 200);
	assert_int_equal(code(PGHA_EP_HEALTH), 200);
	assert_int_equal(code(PGHA_EP_ASYNC), 200);
	assert_int_equal(code(PGHA_EP_SYNC), 503);
	assert_int_equal(code(PGHA_EP_READ_ONLY_SYNC), 503);
	n.sync_standby = true;
	assert_int_equal(code(PGHA_EP_SYNC), 200);
	assert_int_equal(code(PGHA_EP_ASYNC), 503);
	assert_int_equal(code(PGHA_EP_READ_ONLY_SYNC), 200);
	assert_int_equal(pgha_api_readiness_code(&n), 200);
}

/* a primary that lost or never had the key (fenced, cut off) is no primary */
static void
test_primary_without_key(void **state)
{
	leader_node();
	n.is_leader = false;
	assert_int_equal(code(PGHA_EP_PRIMARY), 503);
	assert_int_equal(code(PGHA_EP_LEADER), 503);
	assert_int_equal(code(PGHA_EP_REPLICA), 503);
	assert_int_equal(code(PGHA_EP_READ_ONLY), 503);
	assert_int_equal(code(PGHA_EP_HEALTH), 200);
	/* paused without etcd: Patroni trusts the role */
	n.have_cluster = false;
	n.paused = true;
	assert_int_equal(code(PGHA_EP_PRIMARY), 200);
	assert_int_equal(code(PGHA_EP_LEADER), 200);
	assert_int_equal(code(PGHA_EP_READ_ONLY), 200);
	/* sync endpoints need a cluster view */
	assert_int_equal(code(PGHA_EP_READ_ONLY_SYNC), 503);
	assert_int_equal(code(PGHA_EP_ASYNC), 503);
}

static void
test_replica_not_running(void **state)
{
	replica_node();
	n.state = "starting";
	assert_int_equal(code(PGHA_EP_REPLICA), 503);
	assert_int_equal(code(PGHA_EP_READ_ONLY), 503);
	assert_int_equal(code(PGHA_EP_HEALTH), 503);
	assert_int_equal(pgha_api_readiness_code(&n), 503);
	replica_node();
	n.have_cluster = false;
	assert_int_equal(code(PGHA_EP_REPLICA), 200);
	assert_int_equal(pgha_api_readiness_code(&n), 503);
	assert_int_equal(code(PGHA_EP_ASYNC), 503);
}

static void
test_replica_lag(void **state)
{
	replica_node();
	n.replayed_location = n.leader_optime - 20000;
	pgha_api_query_add(&q, "lag", "16kB");
	assert_int_equal(code(PGHA_EP_REPLICA), 503);
	assert_int_equal(code(PGHA_EP_READ_ONLY), 503);
	assert_int_equal(code(PGHA_EP_HEALTH), 200);
	memset(&q, 0, sizeof(q));
	pgha_api_query_add(&q, "lag", "1MB");
	assert_int_equal(code(PGHA_EP_REPLICA), 200);
	memset(&q, 0, sizeof(q));
	pgha_api_query_add(&q, "lag", "20000");
	assert_int_equal(code(PGHA_EP_REPLICA), 200);
	memset(&q, 0, sizeof(q));
	pgha_api_query_add(&q, "lag", "19999");
	assert_int_equal(code(PGHA_EP_REPLICA), 503);
	/* unparsable: Patroni applies no limit */
	memset(&q, 0, sizeof(q));
	pgha_api_query_add(&q, "lag", "lots");
	assert_int_equal(code(PGHA_EP_REPLICA), 200);
	/* only the first value counts */
	memset(&q, 0, sizeof(q));
	pgha_api_query_add(&q, "lag", "0");
	pgha_api_query_add(&q, "lag", "1GB");
	assert_int_equal(code(PGHA_EP_REPLICA), 503);
	/* unknown optime: never lagging */
	n.leader_optime = 0;
	assert_int_equal(code(PGHA_EP_REPLICA), 200);
}

static void
test_replication_state(void **state)
{
	replica_node();
	pgha_api_query_add(&q, "replication_state", "streaming");
	assert_int_equal(code(PGHA_EP_REPLICA), 200);
	n.replication_state = "in archive recovery";
	assert_int_equal(code(PGHA_EP_REPLICA), 503);
	leader_node();
	pgha_api_query_add(&q, "replication_state", "streaming");
	assert_int_equal(code(PGHA_EP_READ_ONLY), 200);
}

static void
test_tags(void **state)
{
	replica_node();
	n.ntags = 1;
	n.tags[0].name = "nofailover";
	n.tags[0].value = "true";
	pgha_api_query_add(&q, "tag_nofailover", "true");
	assert_int_equal(code(PGHA_EP_REPLICA), 200);
	memset(&q, 0, sizeof(q));
	pgha_api_query_add(&q, "tag_nofailover", "false");
	assert_int_equal(code(PGHA_EP_REPLICA), 503);
	memset(&q, 0, sizeof(q));
	pgha_api_query_add(&q, "tag_zone", "a");
	assert_int_equal(code(PGHA_EP_REPLICA), 503);
	/* primary, leader: tags ignored */
	leader_node();
	pgha_api_query_add(&q, "tag_zone", "a");
	assert_int_equal(code(PGHA_EP_PRIMARY), 200);
	assert_int_equal(code(PGHA_EP_LEADER), 200);
	assert_int_equal(code(PGHA_EP_READ_ONLY), 503);
	/* too many filters to hold: never matches */
	replica_node();
	for (int i = 0; i < PGHA_API_MAX_QUERY_TAGS + 1; i++)
	{
		char		k[16];

		snprintf(k, sizeof(k), "tag_t%d", i);
		pgha_api_query_add(&q, k, "x");
	}
	assert_true(q.too_many_tags);
	assert_int_equal(code(PGHA_EP_REPLICA), 503);
}

static void
test_liveness(void **state)
{
	replica_node();
	n.keeper_age_ms = 69000;	/* loop_wait + 2 ttl = 70 s on a replica */
	assert_int_equal(pgha_api_liveness_code(&n), 200);
	n.keeper_age_ms = 70000;
	assert_int_equal(pgha_api_liveness_code(&n), 503);
	leader_node();
	n.keeper_age_ms = 39999;	/* loop_wait + ttl on the primary */
	assert_int_equal(pgha_api_liveness_code(&n), 200);
	n.keeper_age_ms = 40000;
	assert_int_equal(pgha_api_liveness_code(&n), 503);
	n.paused = true;
	assert_int_equal(pgha_api_liveness_code(&n), 200);
	n.paused = false;
	n.keeper_age_ms = -1;
	assert_int_equal(pgha_api_liveness_code(&n), 503);
}

static void
test_parse_bytes(void **state)
{
	int64_t		v;

	assert_true(pgha_api_parse_bytes("16kB", &v));
	assert_int_equal(v, 16384);
	assert_true(pgha_api_parse_bytes(" 1MB ", &v));
	assert_int_equal(v, 1048576);
	assert_true(pgha_api_parse_bytes("1 GB", &v));
	assert_int_equal(v, 1073741824);
	assert_true(pgha_api_parse_bytes("2TB", &v));
	assert_int_equal(v, 2199023255552LL);
	assert_true(pgha_api_parse_bytes("100", &v));
	assert_int_equal(v, 100);
	assert_true(pgha_api_parse_bytes("100B", &v));
	assert_int_equal(v, 100);
	assert_true(pgha_api_parse_bytes("0x400", &v));
	assert_int_equal(v, 1024);
	assert_true(pgha_api_parse_bytes("010", &v));
	assert_int_equal(v, 8);
	assert_true(pgha_api_parse_bytes("1.5kB", &v));
	assert_int_equal(v, 1536);
	assert_true(pgha_api_parse_bytes("-1", &v));
	assert_int_equal(v, -1);
	assert_true(pgha_api_parse_bytes("1e3", &v));
	assert_int_equal(v, 1000);
	assert_false(pgha_api_parse_bytes("16kb", &v));	/* units are case-sensitive */
	assert_false(pgha_api_parse_bytes("1s", &v));
	assert_false(pgha_api_parse_bytes("", &v));
	assert_false(pgha_api_parse_bytes("MB", &v));
	assert_false(pgha_api_parse_bytes("1 MB x", &v));
	assert_false(pgha_api_parse_bytes("99999999999TB", &v));
	assert_false(pgha_api_parse_bytes(NULL, &v));
}

static void
test_split_host_port(void **state)
{
	char		host[64];
	char		err[128];
	int			port;

	assert_true(pgha_api_split_host_port("127.0.0.1:8008", host, sizeof(host), &port, err, sizeof(err)));
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8008);
	assert_true(pgha_api_split_host_port("[::1]:8008", host, sizeof(host), &port, err, sizeof(err)));
	assert_string_equal(host, "::1");
	assert_true(pgha_api_split_host_port("node1.example:80", host, sizeof(host), &port, err, sizeof(err)));
	assert_false(pgha_api_split_host_port("127.0.0.1", host, sizeof(host), &port, err, sizeof(err)));
	assert_false(pgha_api_split_host_port("127.0.0.1:0", host, sizeof(host), &port, err, sizeof(err)));
	assert_false(pgha_api_split_host_port("127.0.0.1:65536", host, sizeof(host), &port, err, sizeof(err)));
	assert_false(pgha_api_split_host_port(":8008", host, sizeof(host), &port, err, sizeof(err)));
	assert_false(pgha_api_split_host_port("a b:8008", host, sizeof(host), &port, err, sizeof(err)));
	assert_false(pgha_api_split_host_port("127.0.0.1:80x", host, sizeof(host), &port, err, sizeof(err)));
	assert_false(pgha_api_split_host_port("", host, sizeof(host), &port, err, sizeof(err)));
	assert_string_equal(pgha_api_reason(431), "Request Header Fields Too Large");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_leader_codes),
		cmocka_unit_test(test_replica_codes),
		cmocka_unit_test(test_primary_without_key),
		cmocka_unit_test(test_replica_not_running),
		cmocka_unit_test(test_replica_lag),
		cmocka_unit_test(test_replication_state),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_liveness),
		cmocka_unit_test(test_parse_bytes),
		cmocka_unit_test(test_split_host_port),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
