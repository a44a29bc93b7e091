/*-------------------------------------------------------------------------
 *
 * test_config_edit.c
 *	  Unit tests of the config key editing (src/common/model/config_edit.c):
 *	  patronictl's --set paths, validation of every known setting, and the
 *	  diff, checked against Python's difflib.unified_diff output.
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

#include "config_edit.h"

/* recorded from Patroni 3.0.2 (shared/PATRONI-OBSERVED.md) */
#define P_CONFIG "{\"ttl\":30,\"loop_wait\":10,\"retry_timeout\":10,\"maximum_lag_on_failover\":1048576,\"postgresql\":{\"use_pg_rewind\":true,\"use_slots\":true,\"parameters\":{\"wal_level\":\"replica\",\"hot_standby\":\"on\",\"wal_log_hints\":\"on\",\"max_wal_senders\":10,\"max_replication_slots\":10,\"wal_keep_size\":\"256MB\"}}}"

/* apply one assignment and compare the compact result */
static void
assert_set(const char *json, const char *assignment, const char *expected)
{
	char		err[256] = "";
	char	   *out = pgha_config_apply_set(json, assignment, err, sizeof(err));

	if (out == NULL)
		fail_msg("%s: %s", assignment, err);
	assert_string_equal(out, expected);
	free(out);
}

static void
assert_set_fails(const char *json, const char *assignment, const char *message)
{
	char		err[256] = "";
	char	   *out = pgha_config_apply_set(json, assignment, err, sizeof(err));

	assert_null(out);
	assert_string_equal(err, message);
}

static void
test_set_values(void **state)
{
	/* JSON when it parses, a string otherwise */
	assert_set("{}", "ttl=40", "{\"ttl\":40}");
	assert_set("{}", "pause=true", "{\"pause\":true}");
	assert_set("{}", "x=\"quoted\"", "{\"x\":\"quoted\"}");
	assert_set("{}", "x=256MB", "{\"x\":\"256MB\"}");
	assert_set("{}", "x=on", "{\"x\":\"on\"}");
	assert_set("{}", "x=", "{\"x\":\"\"}");
	assert_set("{}", "x=[1,2]", "{\"x\":[1,2]}");
	assert_set("{}", "x={\"a\":1}", "{\"x\":{\"a\":1}}");
	assert_set("{}", "x=0.9", "{\"x\":0.9}");
	assert_set("{}", "x=a=b", "{\"x\":\"a=b\"}");
	assert_set("{}", "x=caf\xc3\xa9", "{\"x\":\"caf\\u00E9\"}");
	/* the path is stripped, the value is not */
	assert_set("{}", " ttl =  40", "{\"ttl\":40}");
	assert_set("{}", "x= a", "{\"x\":\" a\"}");
	/* NULL or "" is an empty configuration */
	assert_set(NULL, "ttl=40", "{\"ttl\":40}");
	assert_set("", "ttl=40", "{\"ttl\":40}");
}

static void
test_set_keeps_order_and_fields(void **state)
{
	assert_set(P_CONFIG, "ttl=40",
			   "{\"ttl\":40,\"loop_wait\":10,\"retry_timeout\":10,\"maximum_lag_on_failover\":1048576,\"postgresql\":{\"use_pg_rewind\":true,\"use_slots\":true,\"parameters\":{\"wal_level\":\"replica\",\"hot_standby\":\"on\",\"wal_log_hints\":\"on\",\"max_wal_senders\":10,\"max_replication_slots\":10,\"wal_keep_size\":\"256MB\"}}}");
	assert_set(P_CONFIG, "pause=true",
			   "{\"ttl\":30,\"loop_wait\":10,\"retry_timeout\":10,\"maximum_lag_on_failover\":1048576,\"postgresql\":{\"use_pg_rewind\":true,\"use_slots\":true,\"parameters\":{\"wal_level\":\"replica\",\"hot_standby\":\"on\",\"wal_log_hints\":\"on\",\"max_wal_senders\":10,\"max_replication_slots\":10,\"wal_keep_size\":\"256MB\"}},\"pause\":true}");
	/* reals keep their short form, unless that would change them */
	assert_set("{\"a\":0.9,\"b\":0.30000000000000004}", "c=1",
			   "{\"a\":0.90000000000000002,\"b\":0.30000000000000004,\"c\":1}");
	assert_set("{\"a\":0.9,\"b\":1.5e-07}", "c=1", "{\"a\":0.9,\"b\":1.5e-7,\"c\":1}");
}

static void
test_set_paths(void **state)
{
	/* nested objects are created */
	assert_set("{}", "postgresql.parameters.max_connections=200",
			   "{\"postgresql\":{\"parameters\":{\"max_connections\":200}}}");
	assert_set("{\"postgresql\":{\"use_slots\":true}}", "postgresql.parameters.work_mem=64MB",
			   "{\"postgresql\":{\"use_slots\":true,\"parameters\":{\"work_mem\":\"64MB\"}}}");
	/* below postgresql.parameters the rest is one GUC name */
	assert_set("{}", "postgresql.parameters.pg_stat_statements.max=1000",
			   "{\"postgresql\":{\"parameters\":{\"pg_stat_statements.max\":1000}}}");
	/* elsewhere dots nest */
	assert_set("{}", "standby_cluster.host=10.0.0.1",
			   "{\"standby_cluster\":{\"host\":\"10.0.0.1\"}}");
	assert_set("{}", "a.b.c=1", "{\"a\":{\"b\":{\"c\":1}}}");
	/* a scalar on the way is replaced by an object, as patronictl does */
	assert_set("{\"a\":5}", "a.b=1", "{\"a\":{\"b\":1}}");
}

static void
test_set_null_removes(void **state)
{
	assert_set("{\"ttl\":30,\"pause\":true}", "pause=null", "{\"ttl\":30}");
	/* removing what is not there changes nothing */
	assert_set("{\"ttl\":30}", "pause=null", "{\"ttl\":30}");
	assert_set("{\"ttl\":30}", "a.b.c=null", "{\"ttl\":30}");
	/* objects left empty go too; non-empty ones stay */
	assert_set("{\"postgresql\":{\"parameters\":{\"work_mem\":\"4MB\"}},\"ttl\":30}",
			   "postgresql.parameters.work_mem=null", "{\"ttl\":30}");
	assert_set("{\"postgresql\":{\"use_slots\":true,\"parameters\":{\"work_mem\":\"4MB\"}}}",
			   "postgresql.parameters.work_mem=null", "{\"postgresql\":{\"use_slots\":true}}");
	/* the string "null" is written quoted */
	assert_set("{}", "x=\"null\"", "{\"x\":\"null\"}");
}

static void
test_set_errors(void **state)
{
	char		long_path[1200];

	assert_set_fails("{}", "ttl", "\"ttl\" is not PATH=VALUE");
	assert_set_fails("{}", "=5", "\"=5\" has no path before \"=\"");
	assert_set_fails("{}", "  =5", "\"  =5\" has no path before \"=\"");
	assert_set_fails("{}", "a..b=1", "path \"a..b\" has an empty part");
	assert_set_fails("{}", ".a=1", "path \".a\" has an empty part");
	assert_set_fails("{}", "a.=1", "path \"a.\" has an empty part");
	assert_set_fails("{}", "postgresql.parameters.=1",
					 "path \"postgresql.parameters.\" has an empty part");
	assert_set_fails("[1]", "a=1", "the config key is not a JSON object");
	assert_set_fails("{\"a\":", "a=1",
					 "the config key is not valid JSON: unexpected token near end of file (line 1, column 5)");
	assert_set_fails("{}", "x=\xff\xfe", "the value of \"x\" is not valid UTF-8");
	assert_set_fails("{}", "\xff=1",
					 "cannot set \"\xff\" (a name that is not valid UTF-8, or out of memory)");
	memset(long_path, 'a', sizeof(long_path) - 3);
	strcpy(long_path + sizeof(long_path) - 3, "=1");
	{
		char		err[256];

		assert_null(pgha_config_apply_set("{}", long_path, err, sizeof(err)));
		assert_non_null(strstr(err, "is too long"));
	}
	assert_set_fails("{}", "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g=1",
					 "path \"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.g\" is deeper than 32 levels");
}

static void
test_parse_object(void **state)
{
	char		err[256];
	char	   *out;

	out = pgha_config_parse_object(" {\"ttl\": 30,\n \"loop_wait\": 10} \n", err, sizeof(err));
	assert_string_equal(out, "{\"ttl\":30,\"loop_wait\":10}");
	free(out);
	assert_null(pgha_config_parse_object("[]", err, sizeof(err)));
	assert_string_equal(err, "the new configuration is not a JSON object");
	assert_null(pgha_config_parse_object("ttl: 30", err, sizeof(err)));
	assert_non_null(strstr(err, "the new configuration is not valid JSON: "));
	assert_null(pgha_config_parse_object("", err, sizeof(err)));
}

static void
assert_valid(const char *json)
{
	char		err[256] = "";

	if (!pgha_config_validate(json, err, sizeof(err)))
		fail_msg("%s: %s", json, err);
}

static void
assert_invalid(const char *json, const char *message)
{
	char		err[512] = "";

	assert_false(pgha_config_validate(json, err, sizeof(err)));
	assert_string_equal(err, message);
}

static void
test_validate_accepts(void **state)
{
	assert_valid("{}");
	assert_valid(P_CONFIG);
	assert_valid("{\"ttl\":10,\"loop_wait\":2,\"retry_timeout\":3}");
	/* Patroni int()s numeric strings */
	assert_valid("{\"ttl\":\"30\",\"loop_wait\":\" 10 \",\"maximum_lag_on_failover\":\"+5\"}");
	/* exactly ttl = loop_wait + 2 * retry_timeout */
	assert_valid("{\"ttl\":30}");
	assert_valid("{\"ttl\":12,\"loop_wait\":2,\"retry_timeout\":5}");
	/* Patroni's booleans */
	assert_valid("{\"pause\":true,\"failsafe_mode\":\"off\",\"synchronous_mode_strict\":\"YES\"}");
	assert_valid("{\"pause\":1,\"failsafe_mode\":0}");
	assert_valid("{\"synchronous_mode\":false}");
	assert_valid("{\"synchronous_mode\":\"on\"}");
	assert_valid("{\"synchronous_mode\":\"strict\"}");
	assert_valid("{\"synchronous_node_count\":2,\"maximum_lag_on_failover\":0}");
	assert_valid("{\"maximum_lag_on_syncnode\":-1,\"primary_start_timeout\":0,\"primary_stop_timeout\":30}");
	/* null is absent */
	assert_valid("{\"ttl\":null,\"pause\":null,\"postgresql\":null}");
	assert_valid("{\"postgresql\":{\"parameters\":null}}");
	/* unknown keys are anyone's business */
	assert_valid("{\"my_tool\":{\"x\":[1,2]},\"loop_wait_typo\":\"abc\"}");
	/* the settings pgha does not implement, when they ask for nothing */
	assert_valid("{\"standby_cluster\":{},\"failsafe_mode\":false}");
}

static void
test_validate_refuses(void **state)
{
	assert_invalid("[]", "the configuration is not a JSON object");
	assert_invalid("nope", "the configuration is not valid JSON: invalid token near 'nope' (line 1, column 4)");
	assert_invalid("{\"ttl\":1}", "\"ttl\" must be an integer between 2 and 3600, not 1");
	assert_invalid("{\"ttl\":3601}", "\"ttl\" must be an integer between 2 and 3600, not 3601");
	assert_invalid("{\"ttl\":30.5}", "\"ttl\" must be an integer between 2 and 3600, not 30.5");
	assert_invalid("{\"ttl\":true}", "\"ttl\" must be an integer between 2 and 3600, not true");
	assert_invalid("{\"loop_wait\":\"abc\"}", "\"loop_wait\" must be an integer between 1 and 3600, not \"abc\"");
	assert_invalid("{\"loop_wait\":0}", "\"loop_wait\" must be an integer between 1 and 3600, not 0");
	assert_invalid("{\"retry_timeout\":\"10s\"}", "\"retry_timeout\" must be an integer between 1 and 3600, not \"10s\"");
	assert_invalid("{\"retry_timeout\":\"\"}", "\"retry_timeout\" must be an integer between 1 and 3600, not \"\"");
	assert_invalid("{\"ttl\":20}",
				   "ttl 20 is less than loop_wait + 2 * retry_timeout = 30 (a leader must survive a missed loop and a retry before its lease expires)");
	assert_invalid("{\"ttl\":10,\"loop_wait\":2,\"retry_timeout\":5}",
				   "ttl 10 is less than loop_wait + 2 * retry_timeout = 12 (a leader must survive a missed loop and a retry before its lease expires)");
	assert_invalid("{\"maximum_lag_on_failover\":-1}", "\"maximum_lag_on_failover\" must be an integer >= 0, not -1");
	assert_invalid("{\"maximum_lag_on_failover\":\"1MB\"}", "\"maximum_lag_on_failover\" must be an integer >= 0, not \"1MB\"");
	assert_invalid("{\"maximum_lag_on_failover\":99999999999999999999}",
				   "the configuration is not valid JSON: too big integer near '99999999999999999999' (line 1, column 47)");
	assert_invalid("{\"maximum_lag_on_failover\":\"99999999999999999999\"}",
				   "\"maximum_lag_on_failover\" must be an integer >= 0, not \"99999999999999999999\"");
	assert_invalid("{\"synchronous_node_count\":0}", "\"synchronous_node_count\" must be an integer between 1 and 8, not 0");
	assert_invalid("{\"primary_start_timeout\":\"soon\"}", "\"primary_start_timeout\" must be an integer between 0 and 2147483647, not \"soon\"");
	assert_invalid("{\"pause\":\"maybe\"}", "\"pause\" must be true or false, not \"maybe\"");
	assert_invalid("{\"pause\":2}", "\"pause\" must be true or false, not 2");
	assert_invalid("{\"pause\":[]}", "\"pause\" must be true or false, not []");
	assert_invalid("{\"failsafe_mode\":\"\"}", "\"failsafe_mode\" must be true or false, not \"\"");
	assert_invalid("{\"synchronous_mode_strict\":{}}", "\"synchronous_mode_strict\" must be true or false, not {}");
	assert_invalid("{\"synchronous_mode\":\"quorum\"}", "\"synchronous_mode\" must be true, false or \"strict\", not \"quorum\"");
	assert_invalid("{\"synchronous_mode\":\"STRICT\"}", "\"synchronous_mode\" must be true, false or \"strict\", not \"STRICT\"");
	assert_invalid("{\"postgresql\":\"x\"}", "\"postgresql\" must be an object, not \"x\"");
	assert_invalid("{\"postgresql\":{\"parameters\":[1]}}", "\"postgresql.parameters\" must be an object, not [1]");
	assert_invalid("{\"standby_cluster\":true}", "\"standby_cluster\" must be an object, not true");
	/* accepted and ignored before: a setting that is accepted must work */
	assert_invalid("{\"standby_cluster\":{\"host\":\"10.0.0.1\",\"port\":5432}}",
				   "\"standby_cluster\" is not implemented by pgha: the cluster cannot follow a remote primary (remove the setting)");
	assert_invalid("{\"failsafe_mode\":true}",
				   "\"failsafe_mode\" is not implemented by pgha: without it a leader cut off from etcd stops writes at its lease deadline (remove the setting or set it to false)");
	/* long values are cut in the message */
	assert_invalid("{\"pause\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
				   "\"pause\" must be true or false, not \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...");
	/* a NUL inside a string: refused by the parser already */
	assert_invalid("{\"ttl\":\"3\\u00000\"}",
				   "the configuration is not valid JSON: \\u0000 is not allowed without JSON_ALLOW_NUL near '\"3\\u00000\"' (line 1, column 17)");
}

static void
test_same_and_pretty(void **state)
{
	char	   *p;

	assert_true(pgha_config_same("{\"a\":1,\"b\":[1,2]}", "{\"b\":[1,2],\"a\":1}"));
	assert_false(pgha_config_same("{\"a\":1}", "{\"a\":\"1\"}"));
	assert_false(pgha_config_same("{\"a\":1}", "not json"));
	assert_false(pgha_config_same(NULL, "{}"));

	p = pgha_config_pretty("{\"ttl\":30,\"postgresql\":{\"parameters\":{\"x\":0.9}},\"a\":[]}");
	assert_string_equal(p, "{\n  \"ttl\": 30,\n  \"postgresql\": {\n    \"parameters\": {\n      \"x\": 0.9\n    }\n  },\n  \"a\": []\n}");
	free(p);
	assert_null(pgha_config_pretty("{"));
}

/* expected values: Python's difflib.unified_diff as patronictl prints it */
static void
assert_diff(const char *a, const char *b, const char *expected)
{
	char	   *d = pgha_text_diff(a, b);

	assert_non_null(d);
	assert_string_equal(d, expected);
	free(d);
}

static void
test_diff(void **state)
{
	assert_diff("a\nb\nc\n", "a\nb\nc\n", "");
	assert_diff("a\nb\nc\n", "a\nb\nc", "");
	assert_diff("a\nb\nc\n", "a\nB\nc\n",
				"--- \n+++ \n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
	/* two hunks when the changes are more than two contexts apart */
	assert_diff("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\n18\n19\n20\n",
				"1\nX\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\n18\nY\n20\n",
				"--- \n+++ \n@@ -1,5 +1,5 @@\n 1\n-2\n+X\n 3\n 4\n 5\n@@ -16,5 +16,5 @@\n 16\n 17\n 18\n-19\n+Y\n 20\n");
	/* one hunk when they are not */
	assert_diff("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "1\n2\n3\n4\nX\n6\n7\n8\n9\nY\n",
				"--- \n+++ \n@@ -2,9 +2,9 @@\n 2\n 3\n 4\n-5\n+X\n 6\n 7\n 8\n 9\n-10\n+Y\n");
	assert_diff("x\ny\n", "y\nz\n", "--- \n+++ \n@@ -1,2 +1,2 @@\n-x\n y\n+z\n");
	/* difflib's ranges: a single line has no length, an empty one ",0" */
	assert_diff("", "a\nb\n", "--- \n+++ \n@@ -1 +1,2 @@\n-\n+a\n+b\n");
	assert_diff("a\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\nd\ne\nf\ng\nh\ni\n",
				"--- \n+++ \n@@ -6,3 +6,4 @@\n f\n g\n h\n+i\n");
	assert_diff("a\nb\nc\nd\n", "a\nb\nc\nd\ne\n",
				"--- \n+++ \n@@ -2,3 +2,4 @@\n b\n c\n d\n+e\n");
	assert_diff("a\nb\nc\nd\ne\nf\n", "a\nb\nc\nX\nd\ne\nf\n",
				"--- \n+++ \n@@ -1,6 +1,7 @@\n a\n b\n c\n+X\n d\n e\n f\n");
	/* a replaced block: its removed lines, then its added ones */
	assert_diff("{\n  \"ttl\": 30,\n  \"loop_wait\": 10\n}",
				"{\n  \"ttl\": 40,\n  \"loop_wait\": 10,\n  \"pause\": true\n}",
				"--- \n+++ \n@@ -1,4 +1,5 @@\n {\n-  \"ttl\": 30,\n-  \"loop_wait\": 10\n+  \"ttl\": 40,\n+  \"loop_wait\": 10,\n+  \"pause\": true\n }\n");
}

/* beyond the LCS table's budget every line shows as changed */
static void
test_diff_large(void **state)
{
	size_t		n = 2100;
	char	   *a = malloc(n * 8 + 1);
	char	   *b = malloc(n * 8 + 1);
	char	   *d;
	size_t		i,
				la = 0,
				lb = 0;

	for (i = 0; i < n; i++)
	{
		la += sprintf(a + la, "%zu\n", i);
		lb += sprintf(b + lb, "%zu\n", i == 1000 ? 99999 : i);
	}
	d = pgha_text_diff(a, b);
	assert_non_null(d);
	assert_true(strncmp(d, "--- \n+++ \n@@ -1,2100 +1,2100 @@\n-0\n", 34) == 0);
	free(d);
	free(a);
	free(b);
}

/* what a keeper reports of a config key written past edit-config */
static void
test_implemented(void **state)
{
	char		err[512];

	(void) state;
	assert_true(pgha_config_implemented("{\"ttl\":10,\"failsafe_mode\":false,\"standby_cluster\":{}}",
										err, sizeof(err)));
	assert_true(pgha_config_implemented("not json", err, sizeof(err)));
	assert_false(pgha_config_implemented("{\"failsafe_mode\":true}", err, sizeof(err)));
	assert_non_null(strstr(err, "\"failsafe_mode\" is not implemented by pgha"));
	assert_false(pgha_config_implemented("{\"standby_cluster\":{\"host\":\"10.0.0.9\"}}",
										 err, sizeof(err)));
	assert_non_null(strstr(err, "\"standby_cluster\" is not implemented by pgha"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_values),
		cmocka_unit_test(test_set_keeps_order_and_fields),
		cmocka_unit_test(test_set_paths),
		cmocka_unit_test(test_set_null_removes),
		cmocka_unit_test(test_set_errors),
		cmocka_unit_test(test_parse_object),
		cmocka_unit_test(test_validate_accepts),
		cmocka_unit_test(test_validate_refuses),
		cmocka_unit_test(test_same_and_pretty),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_diff_large),
		cmocka_unit_test(test_implemented),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
