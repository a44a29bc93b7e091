/*
 * test_history.c
 *	  Unit tests of the history key (src/common/model/history.c): Patroni's
 *	  recorded value, appending, and malformed input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

/* recorded from Patroni 3.0.2 (shared/PATRONI-OBSERVED.md) */
static const char *patroni =
"[[1,67560272,\"no recovery target specified\",\"2026-11-23T23:48:53.124401+00:00\",\"pg2\"],"
"[2,225972928,\"no recovery target specified\",\"2026-11-23T23:51:46.820394+00:00\",\"pg1\"]]";

static void
test_decode_patroni(void **state)
{
	PghaHistoryEntry e[4];
	char		err[256];
	int			last;

	assert_int_equal(pgha_history_decode(patroni, e, 4, err, sizeof(err)), 2);
	assert_int_equal(e[0].timeline, 1);
	assert_int_equal(e[0].lsn, 67560272);
	assert_string_equal(e[0].reason, "no recovery target specified");
	assert_string_equal(e[0].time, "2026-11-23T23:48:53.124401+00:00");
	assert_string_equal(e[1].leader, "pg1");
	assert_true(pgha_history_last_timeline(patroni, &last, err, sizeof(err)));
	assert_int_equal(last, 2);
}

static void
test_append(void **state)
{
	char	   *json = pgha_history_append(NULL, 1, 4096, "r", "t", "n1");
	char	   *more;
	PghaHistoryEntry e[4];
	char		err[256];

	assert_string_equal(json, "[[1,4096,\"r\",\"t\",\"n1\"]]");
	more = pgha_history_append(json, 2, 8192, "no recovery target specified",
							   "2026-11-24T20:58:47+00:00", "n2");
	assert_int_equal(pgha_history_decode(more, e, 4, err, sizeof(err)), 2);
	assert_int_equal(e[1].timeline, 2);
	assert_int_equal(e[1].lsn, 8192);
	free(json);
	free(more);

	/* a broken value is replaced, not kept */
	json = pgha_history_append("{\"not\":\"an array\"}", 3, 1, "r", "t", "n3");
	assert_string_equal(json, "[[3,1,\"r\",\"t\",\"n3\"]]");
	free(json);
}

static void
test_short_and_odd_entries(void **state)
{
	PghaHistoryEntry e[4];
	char		err[256];

	/* Patroni's oldest entries have only timeline and lsn */
	assert_int_equal(pgha_history_decode("[[1,100],[2,\"x\",5,null]]", e, 4,
										 err, sizeof(err)), 2);
	assert_string_equal(e[0].reason, "");
	assert_int_equal(e[1].lsn, -1);
	assert_string_equal(e[1].reason, "");
	assert_int_equal(pgha_history_decode("", e, 4, err, sizeof(err)), 0);
	assert_int_equal(pgha_history_decode("[]", e, 4, err, sizeof(err)), 0);
	/* more entries than room: the first max */
	assert_int_equal(pgha_history_decode("[[1,1],[2,2],[3,3]]", e, 2, err, sizeof(err)), 2);
}

static void
test_malformed(void **state)
{
	static const char *bad[] = {
		"[", "{}", "[1]", "[[\"1\",2]]", "[[0,2]]", "[[-1,2]]",
		"[[99999999999,2]]", "[[1.5,2]]", "null", "[[]]", "garbage",
	};
	PghaHistoryEntry e[4];
	char		err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		int			last;

		assert_int_equal(pgha_history_decode(bad[i], e, 4, err, sizeof(err)), -1);
		assert_false(pgha_history_last_timeline(bad[i], &last, err, sizeof(err)));
	}
}

static void
test_truncations_never_crash(void **state)
{
	size_t		len = strlen(patroni);
	char	   *buf = malloc(len + 1);
	PghaHistoryEntry e[4];
	char		err[256];

	for (size_t cut = 0; cut <= len; cut++)
	{
		memcpy(buf, patroni, cut);
		buf[cut] = '\0';
		(void) pgha_history_decode(buf, e, 4, err, sizeof(err));
	}
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_patroni),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_short_and_odd_entries),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_truncations_never_crash),
	};

	return cmocka_run_group_tests_name("history", tests, NULL, NULL);
}
