/*-------------------------------------------------------------------------
 *
 * test_etcd_proto.c
 *	  Unit tests of the etcd v3 JSON protocol layer (etcd_proto.c) and of
 *	  the parts of etcd_client.c that need no server.
 *
 * The fixtures are answers recorded from etcd 3.4.23 (ETCD-V3-HTTP.md and
 * a scratch server), copied byte for byte; the hostile cases and the fuzz
 * loop check that nothing malformed crashes, leaks or slips through as a
 * success.  Run under valgrind to check the "never leak" part.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_proto.h"

/* the header object H of ETCD-V3-HTTP.md, as recorded */
#define H "{\"cluster_id\":\"5577419299952351277\",\"member_id\":\"8813575065840868852\",\"revision\":\"10\",\"raft_term\":\"2\"}"

/* a string literal and its length, NULs included */
#define LIT(s) s, sizeof(s) - 1

#define KEY_LEADER	"L3NlcnZpY2UvYzEvbGVhZGVy"	/* /service/c1/leader */
#define KEY_PREFIX	"L3NlcnZpY2UvYzEv"	/* /service/c1/ */
#define KEY_END		"L3NlcnZpY2UvYzEw"	/* /service/c10 */

/* recorded answers */
static const char grant_ok[] =
"{\"header\":" H ",\"ID\":\"6770214326162497812\",\"TTL\":\"30\"}";
static const char keepalive_ok[] =
"{\"result\":{\"header\":" H ",\"ID\":\"6770214326162497814\",\"TTL\":\"30\"}}\n";
static const char keepalive_lost[] =
"{\"result\":{\"header\":" H ",\"ID\":\"999\"}}\n";
static const char keepalive_noleader[] =
"{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: no leader\",\"http_status\":\"Service Unavailable\"}}\n";
static const char revoke_ok[] = "{\"header\":" H "}";
static const char range_empty[] = "{\"header\":" H "}";
static const char range_full[] =
"{\"header\":" H ",\"kvs\":[{\"key\":\"L3NlcnZpY2UvYzEvY29uZmln\",\"create_revision\":\"9\",\"mod_revision\":\"9\",\"version\":\"1\",\"value\":\"eyJ0dGwiOjMwfQ==\"},"
"{\"key\":\"L3NlcnZpY2UvYzEvbGVhZGVy\",\"create_revision\":\"8\",\"mod_revision\":\"8\",\"version\":\"1\",\"value\":\"bm9kZTE=\",\"lease\":\"6770214326162497814\"},"
"{\"key\":\"L3NlcnZpY2UvYzEvbWVtYmVycy9ub2RlMQ==\",\"create_revision\":\"10\",\"mod_revision\":\"10\",\"version\":\"1\"}],\"count\":\"3\"}";
static const char put_ok[] =
"{\"header\":{\"cluster_id\":\"5577419299952351277\",\"member_id\":\"8813575065840868852\",\"revision\":\"8\",\"raft_term\":\"2\"}}";
static const char txn_won[] =
"{\"header\":" H ",\"succeeded\":true,\"responses\":[{\"response_put\":{\"header\":{\"revision\":\"11\"}}}]}";
static const char txn_lost[] =
"{\"header\":" H ",\"responses\":[{\"response_range\":{\"header\":{\"revision\":\"10\"},\"kvs\":[{\"key\":\"L3NlcnZpY2UvYzEvbGVhZGVy\",\"create_revision\":\"8\",\"mod_revision\":\"8\",\"version\":\"1\",\"value\":\"bm9kZTE=\",\"lease\":\"6770214326162497814\"}],\"count\":\"1\"}}]}";
static const char txn_lost_absent[] =
"{\"header\":" H ",\"responses\":[{\"response_range\":{\"header\":{\"revision\":\"10\"}}}]}";
static const char txn_nofail[] = "{\"header\":" H "}";
static const char txn_cad[] =
"{\"header\":" H ",\"succeeded\":true,\"responses\":[{\"response_delete_range\":{\"header\":{\"revision\":\"12\"},\"deleted\":\"1\",\"prev_kvs\":[{\"key\":\"L3NlcnZpY2UvYzEvc3luYw==\",\"create_revision\":\"11\",\"mod_revision\":\"11\",\"version\":\"1\",\"value\":\"bm9kZTI=\"}]}}]}";
static const char delete_one[] = "{\"header\":" H ",\"deleted\":\"1\"}";
static const char delete_none[] = "{\"header\":" H "}";
static const char auth_ok[] = "{\"header\":" H ",\"token\":\"gEMglOHydcwdDgCn.83\"}";
static const char watch_created[] = "{\"result\":{\"header\":" H ",\"created\":true}}";
static const char watch_put[] =
"{\"result\":{\"header\":" H ",\"events\":[{\"kv\":{\"key\":\"L3NlcnZpY2UvYzEvbGVhZGVy\",\"create_revision\":\"17\",\"mod_revision\":\"18\",\"version\":\"2\",\"value\":\"bm9kZTI=\",\"lease\":\"7668682433325528839\"},\"prev_kv\":{\"key\":\"L3NlcnZpY2UvYzEvbGVhZGVy\",\"create_revision\":\"17\",\"mod_revision\":\"17\",\"version\":\"1\",\"value\":\"bm9kZTE=\",\"lease\":\"7668682433325528839\"}}]}}";
static const char watch_delete[] =
"{\"result\":{\"header\":" H ",\"events\":[{\"type\":\"DELETE\",\"kv\":{\"key\":\"L3NlcnZpY2UvYzEvbGVhZGVy\",\"mod_revision\":\"20\"},\"prev_kv\":{\"key\":\"L3NlcnZpY2UvYzEvbGVhZGVy\",\"create_revision\":\"17\",\"mod_revision\":\"18\",\"version\":\"2\",\"value\":\"bm9kZTI=\",\"lease\":\"7668682433325528839\"}}]}}";
static const char watch_two[] =
"{\"result\":{\"header\":" H ",\"events\":[{\"kv\":{\"key\":\"YQ==\",\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":\"1\"}},{\"type\":\"DELETE\",\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"3\"},\"prev_kv\":{\"key\":\"YQ==\",\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":\"1\"}}]}}";
static const char watch_compacted[] =
"{\"result\":{\"header\":{\"cluster_id\":\"5577419299952351277\",\"member_id\":\"8813575065840868852\",\"raft_term\":\"2\"},\"canceled\":true,\"compact_revision\":\"5\"}}";
static const char watch_denied[] =
"{\"result\":{\"header\":" H ",\"watch_id\":\"-1\",\"created\":true,\"canceled\":true,\"cancel_reason\":\"rpc error: code = PermissionDenied desc = etcdserver: permission denied\"}}";
static const char watch_closing[] =
"{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"transport is closing\",\"http_status\":\"Service Unavailable\"}}";
static const char watch_progress[] = "{\"result\":{\"header\":" H "}}";


/* ---------------------------------------------------------------------
 * Invariant checkers, shared by the tests and the fuzz loop
 * ---------------------------------------------------------------------
 */

static void
check_kv(const EtcdKV *kv)
{
	assert_non_null(kv->key);
	assert_true(strlen(kv->key) > 0);
	assert_non_null(kv->value);
	assert_int_equal(kv->value[kv->value_len], '\0');
	assert_true(kv->mod_revision >= 0 && kv->create_revision >= 0 &&
				kv->version >= 0 && kv->lease >= 0);
}

static void
check_kvlist(const EtcdKVList *l)
{
	int			i;

	assert_true(l->count >= 0);
	assert_true((l->count == 0) == (l->kvs == NULL));
	for (i = 0; i < l->count; i++)
		check_kv(&l->kvs[i]);
}

static void
check_error(const EtcdError *err, EtcdStatus st)
{
	assert_int_not_equal(st, ETCD_OK);
	assert_int_equal(err->status, st);
	assert_true(strlen(err->message) > 0);
	assert_true(strlen(err->message) < sizeof(err->message));
}

static bool
zero_kvlist(const EtcdKVList *l)
{
	return l->kvs == NULL && l->count == 0 && l->revision == 0;
}


/* ---------------------------------------------------------------------
 * base64 and range_end
 * ---------------------------------------------------------------------
 */

static void
test_base64_encode(void **state)
{
	static const char *const vec[][2] = {
		{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
		{"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
		{"/pgha/c1/leader", "L3BnaGEvYzEvbGVhZGVy"},
		{"/service/c1/", KEY_PREFIX}
	};
	size_t		i;
	char	   *s;

	(void) state;
	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++)
	{
		s = etcd_base64_encode(vec[i][0], strlen(vec[i][0]));
		assert_string_equal(s, vec[i][1]);
		free(s);
	}
	s = etcd_base64_encode("\xff\xfe", 2);
	assert_string_equal(s, "//4=");
	free(s);
	s = etcd_base64_encode("a\0b", 3);
	assert_string_equal(s, "YQBi");
	free(s);
}

static void
test_base64_decode(void **state)
{
	static const char *const bad[] = {
		"abc", "ab=c", "====", "a===", "ab!d", "YQ=", "Y Q==", "YQ==YQ==",
		"=YQ=", "YQ-_", "\xc3\xa9YQ="
	};
	EtcdError	err;
	char	   *out;
	size_t		len;
	size_t		i;
	unsigned char all[256];
	char	   *enc;

	(void) state;
	assert_int_equal(etcd_base64_decode(LIT(""), &out, &len, &err), ETCD_OK);
	assert_int_equal(len, 0);
	assert_string_equal(out, "");
	free(out);

	assert_int_equal(etcd_base64_decode(LIT("YQBi"), &out, &len, &err), ETCD_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(out, "a\0b", 4);
	free(out);

	/* unused low bits are ignored, as Go does */
	assert_int_equal(etcd_base64_decode(LIT("YR=="), &out, &len, &err), ETCD_OK);
	assert_string_equal(out, "a");
	free(out);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		out = (char *) 1;
		assert_int_equal(etcd_base64_decode(bad[i], strlen(bad[i]), &out, &len,
											&err), ETCD_ERR_PROTOCOL);
		assert_null(out);
		assert_int_equal(len, 0);
	}
	/* an embedded NUL in the text is just a bad character */
	assert_int_equal(etcd_base64_decode(LIT("YQ\0="), &out, &len, &err),
					 ETCD_ERR_PROTOCOL);

	/* round trip of every byte value */
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char) i;
	for (i = 0; i <= 256; i++)
	{
		enc = etcd_base64_encode(all, i);
		assert_int_equal(etcd_base64_decode(enc, strlen(enc), &out, &len, &err),
						 ETCD_OK);
		assert_int_equal(len, i);
		assert_memory_equal(out, all, i);
		free(out);
		free(enc);
	}
}

static void
check_range_end(const char *prefix, size_t plen, const char *expect,
				size_t elen)
{
	size_t		len;
	char	   *end = etcd_prefix_range_end(prefix, plen, &len);

	assert_non_null(end);
	assert_int_equal(len, elen);
	assert_memory_equal(end, expect, elen);
	assert_int_equal(end[len], '\0');
	free(end);
}

static void
test_range_end(void **state)
{
	(void) state;
	check_range_end(LIT("/service/c1/"), "/service/c10", 12);
	check_range_end(LIT("/pgha/c1/"), "/pgha/c10", 9);
	check_range_end(LIT("a"), "b", 1);
	check_range_end(LIT("a\xff"), "b", 1);
	check_range_end(LIT("a\xff\xff"), "b", 1);
	check_range_end(LIT("ab\x7f"), "ab\x80", 3);
	check_range_end(LIT("a\xfe"), "a\xff", 2);
	/* nothing to increment: "\0" means "to the end of the key space" */
	check_range_end(LIT("\xff\xff"), "\0", 1);
	check_range_end(LIT(""), "\0", 1);
}


/* ---------------------------------------------------------------------
 * Request bodies
 * ---------------------------------------------------------------------
 */

static void
expect_body(char *body, const char *expected)
{
	assert_non_null(body);
	assert_string_equal(body, expected);
	free(body);
}

static void
test_build_kv(void **state)
{
	(void) state;
	expect_body(etcd_build_range("/service/c1/leader", false),
				"{\"key\":\"" KEY_LEADER "\"}");
	expect_body(etcd_build_range("/service/c1/", true),
				"{\"key\":\"" KEY_PREFIX "\",\"range_end\":\"" KEY_END "\"}");
	expect_body(etcd_build_put("/service/c1/leader", "node1", 0),
				"{\"key\":\"" KEY_LEADER "\",\"value\":\"bm9kZTE=\"}");
	expect_body(etcd_build_put("/service/c1/leader", "node1", 7587869999960064014LL),
				"{\"key\":\"" KEY_LEADER "\",\"value\":\"bm9kZTE=\",\"lease\":\"7587869999960064014\"}");
	expect_body(etcd_build_put("/service/c1/leader", "", ETCD_KEEP_LEASE),
				"{\"key\":\"" KEY_LEADER "\",\"value\":\"\",\"ignore_lease\":true}");
	expect_body(etcd_build_delete("/service/c1/leader", false),
				"{\"key\":\"" KEY_LEADER "\"}");
	expect_body(etcd_build_delete("/service/c1/", true),
				"{\"key\":\"" KEY_PREFIX "\",\"range_end\":\"" KEY_END "\"}");
}

static void
test_build_txn(void **state)
{
	(void) state;
	expect_body(etcd_build_txn(ETCD_TXN_CREATE, "/service/c1/leader", NULL, 0,
							   "node1", 7587869999960064014LL),
				"{\"compare\":[{\"key\":\"" KEY_LEADER "\",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":\"0\"}],"
				"\"success\":[{\"request_put\":{\"key\":\"" KEY_LEADER "\",\"value\":\"bm9kZTE=\",\"lease\":\"7587869999960064014\"}}],"
				"\"failure\":[{\"request_range\":{\"key\":\"" KEY_LEADER "\"}}]}");
	expect_body(etcd_build_txn(ETCD_TXN_CAS_VALUE, "/service/c1/leader", "node1", 0,
							   "node2", ETCD_KEEP_LEASE),
				"{\"compare\":[{\"key\":\"" KEY_LEADER "\",\"target\":\"VALUE\",\"result\":\"EQUAL\",\"value\":\"bm9kZTE=\"}],"
				"\"success\":[{\"request_put\":{\"key\":\"" KEY_LEADER "\",\"value\":\"bm9kZTI=\",\"ignore_lease\":true}}],"
				"\"failure\":[{\"request_range\":{\"key\":\"" KEY_LEADER "\"}}]}");
	expect_body(etcd_build_txn(ETCD_TXN_CAS_MOD, "/service/c1/leader", NULL, 3,
							   "node2", 0),
				"{\"compare\":[{\"key\":\"" KEY_LEADER "\",\"target\":\"MOD\",\"result\":\"EQUAL\",\"mod_revision\":\"3\"}],"
				"\"success\":[{\"request_put\":{\"key\":\"" KEY_LEADER "\",\"value\":\"bm9kZTI=\"}}],"
				"\"failure\":[{\"request_range\":{\"key\":\"" KEY_LEADER "\"}}]}");
	expect_body(etcd_build_txn(ETCD_TXN_CAD_VALUE, "/service/c1/leader", "node1", 0,
							   NULL, 0),
				"{\"compare\":[{\"key\":\"" KEY_LEADER "\",\"target\":\"VALUE\",\"result\":\"EQUAL\",\"value\":\"bm9kZTE=\"}],"
				"\"success\":[{\"request_delete_range\":{\"key\":\"" KEY_LEADER "\"}}],"
				"\"failure\":[{\"request_range\":{\"key\":\"" KEY_LEADER "\"}}]}");	/* value AND lease: "holding" the leader key */
	expect_body(etcd_build_txn_lease(ETCD_TXN_CAS_VALUE, "/service/c1/leader", "node1",
									 5, 0, "node1", 7),
				"{\"compare\":[{\"key\":\"" KEY_LEADER "\",\"target\":\"VALUE\",\"result\":\"EQUAL\",\"value\":\"bm9kZTE=\"},"
				"{\"key\":\"" KEY_LEADER "\",\"target\":\"LEASE\",\"result\":\"EQUAL\",\"lease\":\"5\"}],"
				"\"success\":[{\"request_put\":{\"key\":\"" KEY_LEADER "\",\"value\":\"bm9kZTE=\",\"lease\":\"7\"}}],"
				"\"failure\":[{\"request_range\":{\"key\":\"" KEY_LEADER "\"}}]}");
	/* the leader's release: delete on value and lease, and publish, at once */
	{
		EtcdPutOp	puts[] = {{"/service/c1/status", "s"}, {"/service/c1/x", "f"}};

		expect_body(etcd_build_txn_lease_puts(ETCD_TXN_CAD_VALUE, "/service/c1/leader",
											  "node1", 5, 0, NULL, 0, puts, 2),
					"{\"compare\":[{\"key\":\"" KEY_LEADER "\",\"target\":\"VALUE\",\"result\":\"EQUAL\",\"value\":\"bm9kZTE=\"},"
					"{\"key\":\"" KEY_LEADER "\",\"target\":\"LEASE\",\"result\":\"EQUAL\",\"lease\":\"5\"}],"
					"\"success\":[{\"request_delete_range\":{\"key\":\"" KEY_LEADER "\"}},"
					"{\"request_put\":{\"key\":\"L3NlcnZpY2UvYzEvc3RhdHVz\",\"value\":\"cw==\"}},"
					"{\"request_put\":{\"key\":\"L3NlcnZpY2UvYzEveA==\",\"value\":\"Zg==\"}}],"
					"\"failure\":[{\"request_range\":{\"key\":\"" KEY_LEADER "\"}}]}");
	}
}

static void
test_build_other(void **state)
{
	(void) state;
	expect_body(etcd_build_lease_grant(30), "{\"TTL\":30}");
	expect_body(etcd_build_lease_id(6770214326162497812LL),
				"{\"ID\":\"6770214326162497812\"}");
	expect_body(etcd_build_watch_create("/service/c1/", 0),
				"{\"create_request\":{\"key\":\"" KEY_PREFIX "\",\"range_end\":\"" KEY_END "\",\"prev_kv\":true}}");
	expect_body(etcd_build_watch_create("/service/c1/", 18),
				"{\"create_request\":{\"key\":\"" KEY_PREFIX "\",\"range_end\":\"" KEY_END "\",\"prev_kv\":true,\"start_revision\":\"18\"}}");
	expect_body(etcd_build_authenticate("pgha", "pg\"ha\\pw"),
				"{\"name\":\"pgha\",\"password\":\"pg\\\"ha\\\\pw\"}");
	/* JSON cannot carry invalid UTF-8 */
	assert_null(etcd_build_authenticate("pgha", "\xff\xfe"));
}


/* ---------------------------------------------------------------------
 * Unary answers
 * ---------------------------------------------------------------------
 */

static void
test_parse_lease(void **state)
{
	EtcdError	err;
	int64_t		id;
	int			ttl;

	(void) state;
	etcd_error_clear(&err);
	assert_int_equal(etcd_parse_lease_grant(grant_ok, strlen(grant_ok), &id,
											&ttl, &err), ETCD_OK);
	assert_true(id == 6770214326162497812LL);
	assert_int_equal(ttl, 30);

	/* the lease grant answer has its own "error" field */
	assert_int_equal(etcd_parse_lease_grant(LIT("{\"header\":{},\"ID\":\"5\",\"TTL\":\"5\",\"error\":\"no space\"}"), &id, &ttl, &err), ETCD_ERR_SERVER);
	assert_true(id == 0 && ttl == 0);
	check_error(&err, ETCD_ERR_SERVER);
	assert_int_equal(etcd_parse_lease_grant(LIT("{\"header\":{},\"TTL\":\"5\"}"),
											&id, &ttl, &err), ETCD_ERR_PROTOCOL);
	assert_int_equal(etcd_parse_lease_grant(LIT("{\"header\":{},\"ID\":\"5\"}"),
											&id, &ttl, &err), ETCD_ERR_PROTOCOL);
	assert_int_equal(etcd_parse_lease_grant(LIT("{\"header\":{},\"ID\":\"5\",\"TTL\":\"99999999999\"}"), &id, &ttl, &err), ETCD_ERR_PROTOCOL);

	assert_int_equal(etcd_parse_lease_keepalive(keepalive_ok, strlen(keepalive_ok),
												6770214326162497814LL, &ttl, &err),
					 ETCD_OK);
	assert_int_equal(ttl, 30);
	/* no TTL: the lease is gone */
	ttl = 5;
	assert_int_equal(etcd_parse_lease_keepalive(keepalive_lost, strlen(keepalive_lost),
												999, &ttl, &err), ETCD_OK);
	assert_int_equal(ttl, 0);
	assert_int_equal(etcd_parse_lease_keepalive(LIT("{\"result\":{\"ID\":\"999\",\"TTL\":\"-1\"}}"), 999, &ttl, &err), ETCD_OK);
	assert_int_equal(ttl, 0);
	/* an answer about another lease */
	assert_int_equal(etcd_parse_lease_keepalive(keepalive_lost, strlen(keepalive_lost),
												1000, &ttl, &err), ETCD_ERR_PROTOCOL);
	assert_non_null(strstr(err.message, "lease 999"));
	/* in-stream error */
	assert_int_equal(etcd_parse_lease_keepalive(keepalive_noleader,
												strlen(keepalive_noleader), 999,
												&ttl, &err), ETCD_ERR_UNAVAILABLE);
	assert_int_equal(err.grpc_code, 14);
	assert_int_equal(err.http_code, 503);
	assert_non_null(strstr(err.message, "no leader"));
	/* only the first line counts */
	assert_int_equal(etcd_parse_lease_keepalive(LIT("{\"result\":{\"ID\":\"7\",\"TTL\":\"9\"}}\n{garbage"), 7, &ttl, &err), ETCD_OK);
	assert_int_equal(ttl, 9);
	assert_int_equal(etcd_parse_lease_keepalive(LIT("{\"header\":{}}"), 7, &ttl, &err),
					 ETCD_ERR_PROTOCOL);
	assert_int_equal(etcd_parse_lease_keepalive(LIT("{\"result\":[]}"), 7, &ttl, &err),
					 ETCD_ERR_PROTOCOL);
	assert_int_equal(etcd_parse_lease_keepalive(LIT(""), 7, &ttl, &err),
					 ETCD_ERR_PROTOCOL);

	assert_int_equal(etcd_parse_lease_revoke(revoke_ok, strlen(revoke_ok), &err),
					 ETCD_OK);
	assert_int_equal(etcd_parse_lease_revoke(LIT("{}"), &err), ETCD_ERR_PROTOCOL);
}

static void
test_parse_range(void **state)
{
	EtcdError	err;
	EtcdKVList	l;
	const EtcdKV *kv;

	(void) state;
	assert_int_equal(etcd_parse_range(range_full, strlen(range_full), &l, &err),
					 ETCD_OK);
	check_kvlist(&l);
	assert_int_equal(l.count, 3);
	assert_true(l.revision == 10);
	assert_string_equal(l.kvs[0].key, "/service/c1/config");
	assert_string_equal(l.kvs[0].value, "{\"ttl\":30}");
	assert_int_equal(l.kvs[0].value_len, 10);
	assert_true(l.kvs[0].lease == 0);
	kv = etcd_kvlist_find(&l, "/service/c1/leader");
	assert_non_null(kv);
	assert_string_equal(kv->value, "node1");
	assert_true(kv->lease == 6770214326162497814LL);
	assert_true(kv->create_revision == 8 && kv->mod_revision == 8 &&
				kv->version == 1);
	/* empty value: no "value" key */
	kv = etcd_kvlist_find(&l, "/service/c1/members/node1");
	assert_non_null(kv);
	assert_string_equal(kv->value, "");
	assert_int_equal(kv->value_len, 0);
	assert_null(etcd_kvlist_find(&l, "/service/c1/"));
	etcd_kvlist_free(&l);
	assert_true(zero_kvlist(&l));

	assert_int_equal(etcd_parse_range(range_empty, strlen(range_empty), &l, &err),
					 ETCD_OK);
	assert_int_equal(l.count, 0);
	assert_null(l.kvs);
	assert_true(l.revision == 10);
	etcd_kvlist_free(&l);

	/* integers as JSON numbers are accepted too, null is "absent" */
	assert_int_equal(etcd_parse_range(LIT("{\"header\":{\"revision\":17},\"kvs\":[{\"key\":\"YQ==\",\"mod_revision\":5,\"lease\":null}],\"count\":1}"), &l, &err), ETCD_OK);
	assert_true(l.revision == 17 && l.kvs[0].mod_revision == 5 &&
				l.kvs[0].lease == 0);
	etcd_kvlist_free(&l);

	/* values keep embedded NUL bytes, value_len tells */
	assert_int_equal(etcd_parse_range(LIT("{\"header\":{},\"kvs\":[{\"key\":\"YQ==\",\"value\":\"YQBi\"}]}"), &l, &err), ETCD_OK);
	assert_int_equal(l.kvs[0].value_len, 3);
	assert_memory_equal(l.kvs[0].value, "a\0b", 4);
	etcd_kvlist_free(&l);

	/* int64 extremes */
	assert_int_equal(etcd_parse_range(LIT("{\"header\":{\"revision\":\"9223372036854775807\"}}"), &l, &err), ETCD_OK);
	assert_true(l.revision == INT64_MAX);
	etcd_kvlist_free(&l);
}

/* a body that every unary parser must reject with a protocol error */
static void
expect_range_rejected(const char *body, size_t len, const char *needle)
{
	EtcdError	err;
	EtcdKVList	l;
	EtcdStatus	st;

	etcd_error_clear(&err);
	memset(&l, 0x55, sizeof(l));
	st = etcd_parse_range(body, len, &l, &err);
	if (st != ETCD_ERR_PROTOCOL)
		fail_msg("accepted or misclassified (%s): %.80s", etcd_status_name(st), body);
	check_error(&err, st);
	assert_true(zero_kvlist(&l));
	if (needle && strstr(err.message, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.message, needle);
}

#define REJECT(lit, needle) expect_range_rejected(lit, sizeof(lit) - 1, needle)

static void
test_parse_range_malformed(void **state)
{
	(void) state;
	REJECT("", "empty");
	REJECT("{\"header\":{}", "invalid JSON");
	REJECT("{\"header\":{}}}", "invalid JSON");
	REJECT("[]", "not a JSON object");
	REJECT("\"header\"", "invalid JSON");
	REJECT("{}", "no \"header\"");
	REJECT("{\"header\":[]}", "header: expected an object");
	REJECT("{\"header\":{},\"kvs\":{}}", "kvs: expected an array, got an object");
	REJECT("{\"header\":{},\"kvs\":\"x\"}", "kvs: expected an array");
	REJECT("{\"header\":{\"revision\":\"abc\"}}", "header.revision: expected an int64, got \"abc\"");
	REJECT("{\"header\":{\"revision\":1.5}}", "non-integer");
	REJECT("{\"header\":{\"revision\":\"1.5\"}}", "int64");
	REJECT("{\"header\":{\"revision\":\"9223372036854775808\"}}", "int64");
	REJECT("{\"header\":{\"revision\":\"-1\"}}", "non-negative");
	REJECT("{\"header\":{\"revision\":\" 1\"}}", "int64");
	REJECT("{\"header\":{\"revision\":\"+1\"}}", "int64");
	REJECT("{\"header\":{\"revision\":\"\"}}", "int64");
	REJECT("{\"header\":{\"revision\":\"-\"}}", "int64");
	REJECT("{\"header\":{\"revision\":99999999999999999999999}}", "invalid JSON");
	REJECT("{\"header\":{\"revision\":1e3}}", "non-integer");
	REJECT("{\"header\":{\"revision\":true}}", "boolean");
	REJECT("{\"header\":{},\"kvs\":[{}]}", "kvs[0]: no \"key\"");
	REJECT("{\"header\":{},\"kvs\":[{\"key\":null}]}", "no \"key\"");
	REJECT("{\"header\":{},\"kvs\":[1]}", "kvs[0]: expected an object");
	REJECT("{\"header\":{},\"kvs\":[{\"key\":\"YQ==\"},{\"key\":\"YQ\"}]}", "kvs[1].key: invalid base64");
	REJECT("{\"header\":{},\"kvs\":[{\"key\":\"!!!!\"}]}", "invalid base64");
	REJECT("{\"header\":{},\"kvs\":[{\"key\":5}]}", "kvs[0].key: expected a base64 string");
	REJECT("{\"header\":{},\"kvs\":[{\"key\":\"\"}]}", "empty key");
	REJECT("{\"header\":{},\"kvs\":[{\"key\":\"YQBi\"}]}", "NUL byte");
	REJECT("{\"header\":{},\"kvs\":[{\"key\":\"YQ==\",\"value\":\"Y\"}]}", "kvs[0].value: invalid base64");
	REJECT("{\"header\":{},\"kvs\":[{\"key\":\"YQ==\",\"value\":[]}]}", "value");
	REJECT("{\"header\":{},\"kvs\":[{\"key\":\"YQ==\",\"lease\":\"x\"}]}", "kvs[0].lease");
	REJECT("{\"header\":{},\"kvs\":[{\"key\":\"YQ==\",\"version\":{}}]}", "kvs[0].version");
	REJECT("{\"header\":{},\"kvs\":[],\"count\":\"many\"}", "count");
	REJECT("{\"header\":{},\"more\":\"yes\"}", "more: expected a boolean");
	/* duplicate members are ambiguous */
	REJECT("{\"header\":{},\"header\":{}}", "duplicate");
	/* raw NUL, escaped NUL, bad UTF-8 */
	expect_range_rejected(LIT("{\"header\":{}\0}"), "invalid JSON");
	REJECT("{\"header\":{},\"kvs\":[{\"key\":\"Y\\u0000==\"}]}", "invalid JSON");
	REJECT("{\"header\":{},\"x\":\"\xff\xfe\"}", "invalid JSON");
}

static void
test_parse_hostile(void **state)
{
	size_t		n = 200000;
	size_t		i;
	char	   *big;
	size_t		len;
	EtcdError	err;
	EtcdKVList	l;
	static const char item[] = "{\"key\":\"YQ==\",\"mod_revision\":\"1\"},";

	(void) state;
	/* deep nesting: jansson stops at its depth limit */
	big = malloc(2 * n + 32);
	len = (size_t) sprintf(big, "{\"header\":{},\"kvs\":");
	memset(big + len, '[', n);
	memset(big + len + n, ']', n);
	len += 2 * n;
	big[len++] = '}';
	expect_range_rejected(big, len, "invalid JSON");
	free(big);

	/* oversize input is refused before parsing */
	big = malloc((size_t) ETCD_MAX_ANSWER + 2);
	memset(big, ' ', (size_t) ETCD_MAX_ANSWER + 1);
	big[0] = '{';
	big[ETCD_MAX_ANSWER] = '}';
	expect_range_rejected(big, (size_t) ETCD_MAX_ANSWER + 1, "byte limit");
	free(big);

	/* a big but legal array works */
	n = 50000;
	big = malloc((n + 1) * (sizeof(item) - 1) + 64);
	len = (size_t) sprintf(big, "{\"header\":{},\"kvs\":[");
	for (i = 0; i < n; i++)
	{
		memcpy(big + len, item, sizeof(item) - 1);
		len += sizeof(item) - 1;
	}
	big[len - 1] = ']';
	big[len++] = '}';
	assert_int_equal(etcd_parse_range(big, len, &l, &err), ETCD_OK);
	assert_int_equal(l.count, (int) n);
	check_kvlist(&l);
	etcd_kvlist_free(&l);

	/* ... and one bad entry at its end fails it without leaking the rest */
	len -= 2;
	len += (size_t) sprintf(big + len, ",{\"key\":\"YQ==\",\"lease\":\"x\"}]}");
	expect_range_rejected(big, len, "kvs[50000].lease");
	free(big);

	/* a long string in an error message is cut */
	big = malloc(100100);
	len = (size_t) sprintf(big, "{\"header\":{\"revision\":\"");
	memset(big + len, '7', 100000);
	len += 100000;
	len += (size_t) sprintf(big + len, "x\"}}");
	expect_range_rejected(big, len, "...");
	free(big);
}

static void
test_parse_put_delete(void **state)
{
	EtcdError	err;
	int64_t		n;

	(void) state;
	assert_int_equal(etcd_parse_put(put_ok, strlen(put_ok), &n, &err), ETCD_OK);
	assert_true(n == 8);
	assert_int_equal(etcd_parse_put(LIT("{\"header\":5}"), &n, &err),
					 ETCD_ERR_PROTOCOL);
	assert_true(n == 0);
	assert_int_equal(etcd_parse_delete(delete_one, strlen(delete_one), &n, &err),
					 ETCD_OK);
	assert_true(n == 1);
	assert_int_equal(etcd_parse_delete(delete_none, strlen(delete_none), &n, &err),
					 ETCD_OK);
	assert_true(n == 0);
	assert_int_equal(etcd_parse_delete(LIT("{\"header\":{},\"deleted\":\"-2\"}"),
									   &n, &err), ETCD_ERR_PROTOCOL);
	assert_true(n == 0);
}

static void
test_parse_txn(void **state)
{
	EtcdError	err;
	EtcdTxnResult r;

	(void) state;
	assert_int_equal(etcd_parse_txn(txn_won, strlen(txn_won), &r, &err), ETCD_OK);
	assert_true(r.succeeded);
	assert_true(r.revision == 10);
	assert_int_equal(r.current.count, 0);
	etcd_txn_result_free(&r);

	/* lost: no "succeeded", the failure range tells who holds the key */
	assert_int_equal(etcd_parse_txn(txn_lost, strlen(txn_lost), &r, &err), ETCD_OK);
	assert_false(r.succeeded);
	assert_int_equal(r.current.count, 1);
	check_kvlist(&r.current);
	assert_string_equal(r.current.kvs[0].key, "/service/c1/leader");
	assert_string_equal(r.current.kvs[0].value, "node1");
	assert_true(r.current.kvs[0].lease == 6770214326162497814LL);
	assert_true(r.current.kvs[0].mod_revision == 8);
	etcd_txn_result_free(&r);
	assert_null(r.current.kvs);

	assert_int_equal(etcd_parse_txn(txn_lost_absent, strlen(txn_lost_absent), &r,
									&err), ETCD_OK);
	assert_false(r.succeeded);
	assert_int_equal(r.current.count, 0);
	etcd_txn_result_free(&r);

	assert_int_equal(etcd_parse_txn(txn_nofail, strlen(txn_nofail), &r, &err),
					 ETCD_OK);
	assert_false(r.succeeded);
	assert_int_equal(r.current.count, 0);
	etcd_txn_result_free(&r);

	assert_int_equal(etcd_parse_txn(txn_cad, strlen(txn_cad), &r, &err), ETCD_OK);
	assert_true(r.succeeded);
	assert_int_equal(r.current.count, 0);
	etcd_txn_result_free(&r);
}

static void
expect_txn_rejected(const char *body, const char *needle)
{
	EtcdError	err;
	EtcdTxnResult r;

	etcd_error_clear(&err);
	assert_int_equal(etcd_parse_txn(body, strlen(body), &r, &err),
					 ETCD_ERR_PROTOCOL);
	assert_false(r.succeeded);
	assert_true(r.revision == 0 && zero_kvlist(&r.current));
	if (strstr(err.message, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.message, needle);
}

static void
test_parse_txn_malformed(void **state)
{
	(void) state;
	expect_txn_rejected("{\"header\":{},\"succeeded\":\"true\"}", "succeeded: expected a boolean");
	expect_txn_rejected("{\"header\":{},\"succeeded\":1}", "succeeded");
	expect_txn_rejected("{\"header\":{},\"responses\":{}}", "responses: expected an array");
	expect_txn_rejected("{\"header\":{},\"responses\":[7]}", "responses[0]: expected an object");
	expect_txn_rejected("{\"header\":{},\"responses\":[{}]}", "no known response");
	expect_txn_rejected("{\"header\":{},\"responses\":[{\"response_put\":{},\"response_range\":{}}]}", "more than one");
	expect_txn_rejected("{\"header\":{},\"responses\":[{\"response_range\":[]}]}", "response_range: expected an object");
	expect_txn_rejected("{\"header\":{},\"responses\":[{\"response_range\":{\"kvs\":[{\"key\":\"YQ==\"},{\"key\":1}]}}]}",
						"responses[0].response_range.kvs[1].key");
	expect_txn_rejected("{\"responses\":[]}", "header");
}

static void
test_parse_authenticate(void **state)
{
	EtcdError	err;
	char	   *token;

	(void) state;
	assert_int_equal(etcd_parse_authenticate(auth_ok, strlen(auth_ok), &token,
											 &err), ETCD_OK);
	assert_string_equal(token, "gEMglOHydcwdDgCn.83");
	free(token);
	assert_int_equal(etcd_parse_authenticate(LIT("{\"header\":{}}"), &token, &err),
					 ETCD_ERR_PROTOCOL);
	assert_null(token);
	assert_int_equal(etcd_parse_authenticate(LIT("{\"header\":{},\"token\":\"\"}"),
											 &token, &err), ETCD_ERR_PROTOCOL);
	assert_int_equal(etcd_parse_authenticate(LIT("{\"header\":{},\"token\":\"a\\r\\nX-Evil: 1\"}"), &token, &err), ETCD_ERR_PROTOCOL);
	assert_null(token);
	assert_non_null(strstr(err.message, "HTTP header"));
	assert_int_equal(etcd_parse_authenticate(LIT("{\"header\":{},\"token\":5}"),
											 &token, &err), ETCD_ERR_PROTOCOL);
}

typedef struct ErrorCase
{
	int			http;
	const char *body;
	EtcdStatus	status;
	int			grpc;
	const char *message;
} ErrorCase;

#define EB(msg, code) "{\"error\":\"" msg "\",\"message\":\"" msg "\",\"code\":" #code "}"

static void
test_parse_error(void **state)
{
	static const ErrorCase cases[] = {
		{400, EB("unexpected EOF", 3), ETCD_ERR_SERVER, 3, "HTTP 400: unexpected EOF"},
		{400, EB("illegal base64 data at input byte 3", 3), ETCD_ERR_SERVER, 3, NULL},
		{400, EB("etcdserver: key not found", 3), ETCD_ERR_NOT_FOUND, 3, NULL},
		{400, EB("etcdserver: user name is empty", 3), ETCD_ERR_AUTH, 3, NULL},
		{400, EB("etcdserver: authentication failed, invalid user ID or password", 3), ETCD_ERR_AUTH, 3, NULL},
		{400, EB("etcdserver: mvcc: required revision has been compacted", 11), ETCD_ERR_COMPACTED, 11, NULL},
		{401, EB("etcdserver: invalid auth token", 16), ETCD_ERR_AUTH, 16, NULL},
		{403, EB("etcdserver: permission denied", 7), ETCD_ERR_DENIED, 7, "HTTP 403: etcdserver: permission denied"},
		{404, EB("etcdserver: requested lease not found", 5), ETCD_ERR_NOT_FOUND, 5, NULL},
		{412, EB("etcdserver: lease already exists", 9), ETCD_ERR_SERVER, 9, NULL},
		{412, EB("etcdserver: authentication is not enabled", 9), ETCD_ERR_SERVER, 9, NULL},
		{503, EB("etcdserver: request timed out", 14), ETCD_ERR_UNAVAILABLE, 14, NULL},
		{503, EB("etcdserver: request timed out, possibly due to previous leader failure", 14), ETCD_ERR_UNAVAILABLE, 14, NULL},
		{503, EB("etcdserver: no leader", 14), ETCD_ERR_UNAVAILABLE, 14, NULL},
		{503, EB("connection closed", 14), ETCD_ERR_UNAVAILABLE, 14, NULL},
		{500, EB("context deadline exceeded", 2), ETCD_ERR_UNAVAILABLE, 2, NULL},
		{405, "Method Not Allowed", ETCD_ERR_SERVER, -1, "HTTP 405: Method Not Allowed"},
		{404, "404 page not found\n", ETCD_ERR_SERVER, -1, "HTTP 404: 404 page not found"},
		{401, "", ETCD_ERR_AUTH, -1, "HTTP 401: no error message"},
		{403, "{}", ETCD_ERR_DENIED, -1, NULL},
		{502, "<html>\r\nBad Gateway</html>", ETCD_ERR_UNAVAILABLE, -1, "HTTP 502: <html>?"},
		{400, "{\"code\":\"7\",\"message\":5}", ETCD_ERR_SERVER, -1, NULL},
		{429, EB("etcdserver: too many requests", 8), ETCD_ERR_UNAVAILABLE, 8, NULL},
	};
	size_t		i;
	EtcdError	err;

	(void) state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		const ErrorCase *c = &cases[i];
		EtcdStatus	st;

		etcd_error_clear(&err);
		st = etcd_parse_error(c->http, c->body, strlen(c->body), &err);
		if (st != c->status)
			fail_msg("case %zu: %s instead of %s (%s)", i, etcd_status_name(st),
					 etcd_status_name(c->status), err.message);
		check_error(&err, st);
		assert_int_equal(err.http_code, c->http);
		assert_int_equal(err.grpc_code, c->grpc);
		if (c->message && strcmp(err.message, c->message) != 0)
			fail_msg("case %zu: message \"%s\"", i, err.message);
	}
	/* a NULL body (no answer bytes) is fine too */
	assert_int_equal(etcd_parse_error(503, NULL, 0, &err), ETCD_ERR_UNAVAILABLE);
}


/* ---------------------------------------------------------------------
 * Watch stream lines
 * ---------------------------------------------------------------------
 */

static EtcdStatus
watch_line(const char *line, bool *created, EtcdWatchEvent **ev, int *n,
		   EtcdError *err)
{
	etcd_error_clear(err);
	return etcd_parse_watch_line(line, strlen(line), created, ev, n, err);
}

static void
test_watch_lines(void **state)
{
	EtcdError	err;
	EtcdWatchEvent *ev = NULL;
	int			n = 0;
	bool		created;

	(void) state;
	assert_int_equal(watch_line(watch_created, &created, &ev, &n, &err), ETCD_OK);
	assert_true(created);
	assert_int_equal(n, 0);
	assert_null(ev);

	assert_int_equal(watch_line(watch_put, &created, &ev, &n, &err), ETCD_OK);
	assert_false(created);
	assert_int_equal(n, 1);
	assert_false(ev[0].is_delete);
	assert_string_equal(ev[0].kv.key, "/service/c1/leader");
	assert_string_equal(ev[0].kv.value, "node2");
	assert_true(ev[0].kv.mod_revision == 18 && ev[0].kv.version == 2);
	assert_true(ev[0].has_prev);
	assert_string_equal(ev[0].prev_kv.value, "node1");

	/* appended to what the caller already has */
	assert_int_equal(watch_line(watch_delete, &created, &ev, &n, &err), ETCD_OK);
	assert_int_equal(n, 2);
	assert_true(ev[1].is_delete);
	assert_string_equal(ev[1].kv.key, "/service/c1/leader");
	assert_string_equal(ev[1].kv.value, "");
	assert_true(ev[1].kv.mod_revision == 20);
	/* lease expiry shows only through prev_kv.lease */
	assert_true(ev[1].has_prev && ev[1].prev_kv.lease == 7668682433325528839LL);

	assert_int_equal(watch_line(watch_two, &created, &ev, &n, &err), ETCD_OK);
	assert_int_equal(n, 4);
	assert_false(ev[2].is_delete);
	assert_false(ev[2].has_prev);
	assert_true(ev[3].is_delete);

	assert_int_equal(watch_line(watch_progress, &created, &ev, &n, &err), ETCD_OK);
	assert_false(created);
	assert_int_equal(n, 4);

	/* numeric enum values are accepted as well */
	assert_int_equal(watch_line("{\"result\":{\"events\":[{\"type\":1,\"kv\":{\"key\":\"YQ==\"}},{\"type\":\"PUT\",\"kv\":{\"key\":\"YQ==\"}}]}}",
								&created, &ev, &n, &err), ETCD_OK);
	assert_int_equal(n, 6);
	assert_true(ev[4].is_delete);
	assert_false(ev[5].is_delete);
	etcd_watch_events_free(ev, n);
}

static void
test_watch_end(void **state)
{
	EtcdError	err;
	EtcdWatchEvent *ev = NULL;
	int			n = 0;
	bool		created;

	(void) state;
	assert_int_equal(watch_line(watch_compacted, &created, &ev, &n, &err),
					 ETCD_ERR_COMPACTED);
	assert_non_null(strstr(err.message, "5"));
	assert_int_equal(watch_line(watch_denied, &created, &ev, &n, &err),
					 ETCD_ERR_DENIED);
	assert_false(created);
	assert_non_null(strstr(err.message, "permission denied"));
	assert_int_equal(watch_line(watch_closing, &created, &ev, &n, &err),
					 ETCD_ERR_UNAVAILABLE);
	assert_int_equal(err.grpc_code, 14);
	assert_non_null(strstr(err.message, "transport is closing"));
	assert_int_equal(watch_line("{\"result\":{\"canceled\":true}}", &created, &ev,
								&n, &err), ETCD_ERR_SERVER);
	assert_int_equal(watch_line("{\"result\":{\"canceled\":true,\"cancel_reason\":\"etcdserver: no leader\"}}",
								&created, &ev, &n, &err), ETCD_ERR_UNAVAILABLE);
	assert_int_equal(watch_line("{\"error\":{}}", &created, &ev, &n, &err),
					 ETCD_ERR_SERVER);
	assert_int_equal(n, 0);
	assert_null(ev);
}

static void
test_watch_malformed(void **state)
{
	static const char *const bad[] = {
		"", "{", "[]", "{}", "{\"result\":5}", "{\"error\":\"x\"}",
		"{\"result\":{\"created\":\"yes\"}}",
		"{\"result\":{\"events\":{}}}",
		"{\"result\":{\"events\":[5]}}",
		"{\"result\":{\"events\":[{}]}}",
		"{\"result\":{\"events\":[{\"type\":\"EXPIRE\",\"kv\":{\"key\":\"YQ==\"}}]}}",
		"{\"result\":{\"events\":[{\"type\":2,\"kv\":{\"key\":\"YQ==\"}}]}}",
		"{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\"},\"prev_kv\":{\"key\":\"#\"}}]}}",
		"{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\"}},{\"kv\":{\"value\":\"YQ==\"}}]}}",
		"{\"result\":{\"canceled\":true,\"compact_revision\":\"x\"}}",
		"{\"result\":{\"header\":{\"revision\":\"x\"}}}",
		"{\"result\":{\"watch_id\":[]}}",
		"{\"result\":{}}{\"result\":{}}",
	};
	EtcdError	err;
	EtcdWatchEvent *ev = NULL;
	int			n = 0;
	bool		created;
	size_t		i;

	(void) state;
	/* one good event first: errors must leave it alone */
	assert_int_equal(watch_line(watch_put, &created, &ev, &n, &err), ETCD_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		EtcdStatus	st = watch_line(bad[i], &created, &ev, &n, &err);

		if (st != ETCD_ERR_PROTOCOL)
			fail_msg("line %zu: %s (%s)", i, etcd_status_name(st), err.message);
		assert_false(created);
		assert_int_equal(n, 1);
		assert_string_equal(ev[0].kv.key, "/service/c1/leader");
	}
	etcd_watch_events_free(ev, n);
}


/* ---------------------------------------------------------------------
 * Statuses and the client without a server
 * ---------------------------------------------------------------------
 */

static void
test_status_names(void **state)
{
	int			i;
	int			j;

	(void) state;
	for (i = ETCD_OK; i <= ETCD_ERR_NOMEM; i++)
	{
		assert_true(strlen(etcd_status_name((EtcdStatus) i)) > 0);
		for (j = ETCD_OK; j < i; j++)
			assert_string_not_equal(etcd_status_name((EtcdStatus) i),
									etcd_status_name((EtcdStatus) j));
	}
	assert_int_equal(etcd_status_from_codes(0, -1, "etcdserver: no leader"),
					 ETCD_ERR_UNAVAILABLE);
	assert_int_equal(etcd_status_from_codes(400, 3, "etcdserver: revision of auth store is old"),
					 ETCD_ERR_AUTH);
}

static void
expect_config_error(const char *endpoints, const char *cacert,
					const char *cert, const char *key, const char *needle)
{
	EtcdClientConfig cfg;
	EtcdError	err;
	EtcdClient *c;

	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoints = endpoints;
	cfg.cacert = cacert;
	cfg.cert = cert;
	cfg.key = key;
	c = etcd_client_new(&cfg, &err);
	assert_null(c);
	check_error(&err, ETCD_ERR_CONFIG);
	if (needle && strstr(err.message, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.message, needle);
}

static void
test_client_config(void **state)
{
	EtcdClientConfig cfg;
	EtcdError	err;
	EtcdClient *c;

	(void) state;
	expect_config_error("", NULL, NULL, NULL, "no etcd endpoints");
	expect_config_error(" , ,", NULL, NULL, NULL, "no etcd endpoints");
	expect_config_error("127.0.0.1:2379", NULL, NULL, NULL, "http://");
	expect_config_error("ftp://127.0.0.1", NULL, NULL, NULL, "http://");
	expect_config_error("http://", NULL, NULL, NULL, "no host");
	expect_config_error("http://127.0.0.1:2379/v3", NULL, NULL, NULL, "without path");
	expect_config_error("http://u:p@127.0.0.1:2379", NULL, NULL, NULL, "without path");
	expect_config_error("http://a b", NULL, NULL, NULL, NULL);
	expect_config_error("http://1,http://2,http://3,http://4,http://5,http://6,"
						"http://7,http://8,http://9,http://10,http://11,http://12,"
						"http://13,http://14,http://15,http://16,http://17",
						NULL, NULL, NULL, "too many");
	expect_config_error("https://127.0.0.1:2379", "/nonexistent/ca.crt", NULL,
						NULL, "cannot read etcd CA certificate file \"/nonexistent/ca.crt\"");
	expect_config_error("https://127.0.0.1:2379", NULL, NULL, "/dev/null",
						"needs a client certificate");
	assert_null(etcd_client_new(NULL, NULL));

	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoints = "http://127.0.0.1:9";
	cfg.username = "pgha";
	cfg.password = "\xff";
	assert_null(etcd_client_new(&cfg, &err));
	check_error(&err, ETCD_ERR_CONFIG);
	assert_non_null(strstr(err.message, "UTF-8"));

	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoints = " http://127.0.0.1:9/ ,HTTPS://localhost:2379,, ";
	c = etcd_client_new(&cfg, &err);
	assert_non_null(c);
	assert_int_equal(err.status, ETCD_OK);
	assert_string_equal(etcd_client_current_endpoint(c), "http://127.0.0.1:9");
	etcd_client_free(c);
	etcd_client_free(NULL);
	assert_string_equal(etcd_client_current_endpoint(NULL), "");
}

static void
test_client_arguments(void **state)
{
	EtcdClientConfig cfg;
	EtcdError	err;
	EtcdClient *c;
	EtcdKVList	l;
	EtcdTxnResult r;
	int64_t		id = 5;
	int			ttl = 5;
	int64_t		t0;

	(void) state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoints = "http://127.0.0.1:9";
	c = etcd_client_new(&cfg, &err);
	assert_non_null(c);

	assert_int_equal(etcd_get(c, "", &l, &err), ETCD_ERR_CONFIG);
	assert_true(zero_kvlist(&l));
	assert_int_equal(etcd_get_prefix(c, NULL, &l, &err), ETCD_ERR_CONFIG);
	assert_int_equal(etcd_put(c, "/k", NULL, 0, &err), ETCD_ERR_CONFIG);
	assert_int_equal(etcd_put(c, "/k", "v", -7, &err), ETCD_ERR_CONFIG);
	assert_int_equal(etcd_create(c, "/k", "v", ETCD_KEEP_LEASE, &r, &err),
					 ETCD_ERR_CONFIG);
	assert_false(r.succeeded);
	assert_int_equal(etcd_cas_value(c, "/k", NULL, "v", 0, &r, &err),
					 ETCD_ERR_CONFIG);
	assert_int_equal(etcd_cas_mod(c, "/k", -1, "v", 0, &r, &err),
					 ETCD_ERR_CONFIG);
	assert_int_equal(etcd_lease_grant(c, 0, &id, &ttl, &err), ETCD_ERR_CONFIG);
	assert_true(id == 0 && ttl == 0);
	assert_int_equal(etcd_lease_keepalive(c, 0, &ttl, &err), ETCD_ERR_CONFIG);
	assert_int_equal(etcd_lease_revoke(c, -3, &err), ETCD_ERR_CONFIG);
	assert_null(etcd_watch_start(c, "", 0, &err));
	assert_int_equal(err.status, ETCD_ERR_CONFIG);
	assert_int_equal(etcd_get(NULL, "/k", &l, &err), ETCD_ERR_CONFIG);

	/* a deadline in the past fails at once, without sending anything */
	t0 = etcd_now_ms();
	etcd_client_set_deadline(c, t0 - 1);
	assert_int_equal(etcd_put(c, "/k", "v", 0, &err), ETCD_ERR_TIMEOUT);
	assert_non_null(strstr(err.message, "deadline"));
	assert_string_equal(err.endpoint, "http://127.0.0.1:9");
	assert_int_equal(etcd_get(c, "/k", &l, &err), ETCD_ERR_TIMEOUT);
	assert_true(zero_kvlist(&l));
	assert_null(etcd_watch_start(c, LIT("/k/"), &err));
	assert_int_equal(err.status, ETCD_ERR_TIMEOUT);
	/* (a bound that valgrind on a busy machine keeps too) */
	assert_true(etcd_now_ms() - t0 < 1000);
	etcd_client_set_deadline(c, 0);
	etcd_client_free(c);
}


/* ---------------------------------------------------------------------
 * Deterministic fuzzing of the recorded answers
 * ---------------------------------------------------------------------
 */

/* run every parser on the input; they must fail cleanly or give sane data */
static void
parse_everything(const char *buf, size_t len)
{
	EtcdError	err;
	EtcdKVList	l;
	EtcdTxnResult r;
	EtcdWatchEvent *ev = NULL;
	int			n = 0;
	int64_t		i64;
	int			ttl;
	char	   *token;
	bool		created;
	EtcdStatus	st;

	etcd_error_clear(&err);
	if ((st = etcd_parse_range(buf, len, &l, &err)) == ETCD_OK)
		check_kvlist(&l);
	else
	{
		check_error(&err, st);
		assert_true(zero_kvlist(&l));
	}
	etcd_kvlist_free(&l);

	if ((st = etcd_parse_txn(buf, len, &r, &err)) == ETCD_OK)
		check_kvlist(&r.current);
	else
		check_error(&err, st);
	etcd_txn_result_free(&r);

	if ((st = etcd_parse_lease_grant(buf, len, &i64, &ttl, &err)) == ETCD_OK)
		assert_true(i64 > 0 && ttl > 0);
	else
		assert_true(i64 == 0 && ttl == 0);
	if ((st = etcd_parse_lease_keepalive(buf, len, 6770214326162497814LL, &ttl,
										 &err)) == ETCD_OK)
		assert_true(ttl >= 0);
	else
		assert_int_equal(ttl, 0);
	(void) etcd_parse_lease_revoke(buf, len, &err);
	(void) etcd_parse_put(buf, len, &i64, &err);
	(void) etcd_parse_delete(buf, len, &i64, &err);
	if (etcd_parse_authenticate(buf, len, &token, &err) == ETCD_OK)
		assert_true(strlen(token) > 0);
	free(token);
	(void) etcd_parse_error(400, buf, len, &err);
	assert_true(err.status != ETCD_OK);

	st = etcd_parse_watch_line(buf, len, &created, &ev, &n, &err);
	if (st != ETCD_OK)
		assert_true(n == 0 && ev == NULL && !created);
	else
	{
		int			k;

		for (k = 0; k < n; k++)
		{
			check_kv(&ev[k].kv);
			if (ev[k].has_prev)
				check_kv(&ev[k].prev_kv);
		}
	}
	etcd_watch_events_free(ev, n);
}

static uint32_t
lcg(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

static void
test_fuzz(void **state)
{
	static const char *const fixtures[] = {
		grant_ok, keepalive_ok, keepalive_lost, keepalive_noleader, revoke_ok,
		range_empty, range_full, put_ok, txn_won, txn_lost, txn_lost_absent,
		txn_nofail, txn_cad, delete_one, auth_ok, watch_created, watch_put,
		watch_delete, watch_two, watch_compacted, watch_denied, watch_closing,
		watch_progress
	};
	static const char interesting[] = "{}[]\",:0123456789-=.eE\\ntfu\0\xff/+A";
	size_t		nfix = sizeof(fixtures) / sizeof(fixtures[0]);
	uint32_t	seed = 20240601u;
	size_t		f;
	size_t		cut;
	int			iter;
	char	   *buf;

	(void) state;
	/* every truncation of every recorded answer */
	for (f = 0; f < nfix; f++)
	{
		size_t		len = strlen(fixtures[f]);

		for (cut = 0; cut < len; cut++)
		{
			buf = malloc(cut + 1);
			memcpy(buf, fixtures[f], cut);
			parse_everything(buf, cut);
			free(buf);
		}
	}
	/* random byte flips, insertions of structural characters, deletions */
	for (iter = 0; iter < 4000; iter++)
	{
		const char *src = fixtures[lcg(&seed) % nfix];
		size_t		len = strlen(src);
		int			edits = 1 + (int) (lcg(&seed) % 4);
		int			e;

		buf = malloc(len + 8);
		memcpy(buf, src, len);
		for (e = 0; e < edits && len > 0; e++)
		{
			size_t		pos = lcg(&seed) % len;

			switch (lcg(&seed) % 4)
			{
				case 0:
					buf[pos] ^= (char) (1 << (lcg(&seed) % 8));
					break;
				case 1:
					buf[pos] = interesting[lcg(&seed) % (sizeof(interesting) - 1)];
					break;
				case 2:
					memmove(buf + pos, buf + pos + 1, len - pos - 1);
					len--;
					break;
				default:
					if (e == 0)
					{
						memmove(buf + pos + 1, buf + pos, len - pos);
						buf[pos] = interesting[lcg(&seed) % (sizeof(interesting) - 1)];
						len++;
					}
					break;
			}
		}
		parse_everything(buf, len);
		free(buf);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_encode),
		cmocka_unit_test(test_base64_decode),
		cmocka_unit_test(test_range_end),
		cmocka_unit_test(test_build_kv),
		cmocka_unit_test(test_build_txn),
		cmocka_unit_test(test_build_other),
		cmocka_unit_test(test_parse_lease),
		cmocka_unit_test(test_parse_range),
		cmocka_unit_test(test_parse_range_malformed),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_parse_put_delete),
		cmocka_unit_test(test_parse_txn),
		cmocka_unit_test(test_parse_txn_malformed),
		cmocka_unit_test(test_parse_authenticate),
		cmocka_unit_test(test_parse_error),
		cmocka_unit_test(test_watch_lines),
		cmocka_unit_test(test_watch_end),
		cmocka_unit_test(test_watch_malformed),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_client_config),
		cmocka_unit_test(test_client_arguments),
		cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests_name("etcd_proto", tests, NULL, NULL);
}
