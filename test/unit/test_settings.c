/*-------------------------------------------------------------------------
 *
 * test_settings.c
 *	  Unit tests of the settings validators (src/common/model/settings.c).
 *
 * Each rule is tried from both sides: values that must pass, and values
 * that must fail with a message naming the bad part, since that message is
 * all an operator sees when postgres or pghactl refuses a setting.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "settings.h"

#define ERRLEN 256

static void
expect_ok(bool (*check) (const char *, char *, size_t), const char *value)
{
	char		err[ERRLEN] = "";

	if (!check(value, err, sizeof(err)))
		fail_msg("rejected \"%s\": %s", value, err);
}

/* must fail, and the message must contain needle */
static void
expect_bad(bool (*check) (const char *, char *, size_t), const char *value,
		   const char *needle)
{
	char		err[ERRLEN] = "";

	if (check(value, err, sizeof(err)))
		fail_msg("accepted \"%s\"", value);
	if (err[0] == '\0')
		fail_msg("no message for \"%s\"", value);
	if (needle != NULL && strstr(err, needle) == NULL)
		fail_msg("message for \"%s\" lacks \"%s\": %s", value, needle, err);
}

static void
test_name(void **state)
{
	char		name[80];

	expect_ok(pgha_valid_name, "pg1");
	expect_ok(pgha_valid_name, "a");
	expect_ok(pgha_valid_name, "anchor");
	expect_ok(pgha_valid_name, "node-1.dc_2");
	expect_ok(pgha_valid_name, "-x");
	memset(name, 'n', 63);
	name[63] = '\0';
	expect_ok(pgha_valid_name, name);

	name[63] = 'n';
	name[64] = '\0';
	expect_bad(pgha_valid_name, name, "longer than 63");
	expect_bad(pgha_valid_name, "", "empty");
	expect_bad(pgha_valid_name, NULL, "empty");
	expect_bad(pgha_valid_name, ".", "'.'");
	expect_bad(pgha_valid_name, "..", "'.'");
	expect_bad(pgha_valid_name, ".hidden", "'.'");
	expect_bad(pgha_valid_name, "a b", "' '");
	expect_bad(pgha_valid_name, "a/b", "\"a/b\"");
	expect_bad(pgha_valid_name, "pg1\n", "0x0a");
	expect_bad(pgha_valid_name, "caf\xc3\xa9", "0xc3");
	expect_bad(pgha_valid_name, "a:b", "':'");
	expect_bad(pgha_valid_name, "a*", "'*'");
}

static void
test_namespace(void **state)
{
	char		ns[200];

	expect_ok(pgha_valid_namespace, "/service");
	expect_ok(pgha_valid_namespace, "/service/");
	expect_ok(pgha_valid_namespace, "/");
	expect_ok(pgha_valid_namespace, "/a/b.c-d_e");
	ns[0] = '/';
	memset(ns + 1, 's', 127);
	ns[128] = '\0';
	expect_ok(pgha_valid_namespace, ns);

	ns[128] = 's';
	ns[129] = '\0';
	expect_bad(pgha_valid_namespace, ns, "longer than 128");
	expect_bad(pgha_valid_namespace, "", "empty");
	expect_bad(pgha_valid_namespace, NULL, "empty");
	expect_bad(pgha_valid_namespace, "service", "must start with '/'");
	expect_bad(pgha_valid_namespace, "//service", "\"//\"");
	expect_bad(pgha_valid_namespace, "/a//b", "\"//\"");
	expect_bad(pgha_valid_namespace, "/a b", "a space");
	expect_bad(pgha_valid_namespace, "/a\tb", "non-printable");
	expect_bad(pgha_valid_namespace, "/caf\xc3\xa9", "non-printable");
}

static void
test_endpoints_ok(void **state)
{
	char		list[4096];
	int			i;

	expect_ok(pgha_valid_endpoints, "http://127.0.0.1:2379");
	expect_ok(pgha_valid_endpoints, "https://127.0.0.1:2379");
	expect_ok(pgha_valid_endpoints, "HTTP://etcd1:2379");
	expect_ok(pgha_valid_endpoints, "http://localhost:1");
	expect_ok(pgha_valid_endpoints, "http://etcd-1.example.com:65535");
	expect_ok(pgha_valid_endpoints, "http://[::1]:2379");
	expect_ok(pgha_valid_endpoints, "http://[2001:db8::7]:2379");
	expect_ok(pgha_valid_endpoints, "http://a:1,http://b:2");
	expect_ok(pgha_valid_endpoints, "  http://a:1 ,\thttp://b:2 ,  http://c:3  ");
	expect_ok(pgha_valid_endpoints, "http://3com.net:2379");

	list[0] = '\0';
	for (i = 0; i < PGHA_MAX_ENDPOINTS; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
				 "%shttp://10.0.0.%d:2379", i ? "," : "", i + 1);
	expect_ok(pgha_valid_endpoints, list);
}

static void
test_endpoints_bad(void **state)
{
	char		list[4096];
	char		longhost[200];
	int			i;

	expect_bad(pgha_valid_endpoints, "127.0.0.1:2379", "\"127.0.0.1:2379\" must start with http://");
	expect_bad(pgha_valid_endpoints, "ftp://x:1", "\"ftp://x:1\" must start");
	expect_bad(pgha_valid_endpoints, "http://x", "\"http://x\" has no port");
	expect_bad(pgha_valid_endpoints, "http://x:", "\"http://x:\" has no port");
	expect_bad(pgha_valid_endpoints, "http://x:0", "\"http://x:0\" has port 0");
	expect_bad(pgha_valid_endpoints, "http://x:65536", "has port 65536");
	expect_bad(pgha_valid_endpoints, "http://x:99999", "\"http://x:99999\" has port 99999");
	expect_bad(pgha_valid_endpoints, "http://x:123456", "\"http://x:123456\" has an invalid port");
	expect_bad(pgha_valid_endpoints, "http://x:+80", "invalid port");
	expect_bad(pgha_valid_endpoints, "http://x:2379/path", "\"http://x:2379/path\" must be scheme://host:port");
	expect_bad(pgha_valid_endpoints, "http://x:2379/", "without a path");
	expect_bad(pgha_valid_endpoints, "http://x:2379?a=b", "query");
	expect_bad(pgha_valid_endpoints, "http://x:2379#f", "fragment");
	expect_bad(pgha_valid_endpoints, "http://:2379", "\"http://:2379\" has no host");
	expect_bad(pgha_valid_endpoints, "http://user:pw@x:2379", "credentials");
	expect_bad(pgha_valid_endpoints, "http://x :2379", "\"http://x :2379\" contains whitespace");
	expect_bad(pgha_valid_endpoints, "http://x:23 79", "whitespace");
	expect_bad(pgha_valid_endpoints, "http ://x:2379", "whitespace");
	expect_bad(pgha_valid_endpoints, "http://x\x01:2379", "non-printable");
	expect_bad(pgha_valid_endpoints, "http://a_b:2379", "invalid host");
	expect_bad(pgha_valid_endpoints, "http://-a:2379", "invalid host");
	expect_bad(pgha_valid_endpoints, "http://a-:2379", "invalid host");
	expect_bad(pgha_valid_endpoints, "http://a..b:2379", "invalid host");
	expect_bad(pgha_valid_endpoints, "http://.a:2379", "invalid host");
	expect_bad(pgha_valid_endpoints, "http://a.:2379", "invalid host");
	expect_bad(pgha_valid_endpoints, "http://999.1.1.1:2379", "invalid host");
	expect_bad(pgha_valid_endpoints, "http://10.1:2379", "invalid host");
	expect_bad(pgha_valid_endpoints, "http://::1:2379", "invalid host");
	expect_bad(pgha_valid_endpoints, "http://[::1:2379", "invalid IPv6");
	expect_bad(pgha_valid_endpoints, "http://[::g]:2379", "invalid IPv6");
	expect_bad(pgha_valid_endpoints, "http://[::1]", "has no port");
	expect_bad(pgha_valid_endpoints, "http://[::1]2379", "has no port");
	expect_bad(pgha_valid_endpoints, "http://", "no port");

	/* empty entries */
	expect_bad(pgha_valid_endpoints, "", "no etcd endpoint");
	expect_bad(pgha_valid_endpoints, NULL, "no etcd endpoint");
	expect_bad(pgha_valid_endpoints, "   ", "empty entry");
	expect_bad(pgha_valid_endpoints, ",", "empty entry (number 1)");
	expect_bad(pgha_valid_endpoints, "http://a:1,", "empty entry (number 2)");
	expect_bad(pgha_valid_endpoints, "http://a:1,,http://b:2", "empty entry (number 2)");
	expect_bad(pgha_valid_endpoints, "http://a:1, ,http://b:2", "empty entry");

	/* the bad one of several is named */
	expect_bad(pgha_valid_endpoints, "http://a:1, http://b:0 ,http://c:3", "\"http://b:0\"");

	/* too long, too many */
	memset(longhost, 'h', sizeof(longhost) - 1);
	longhost[sizeof(longhost) - 1] = '\0';
	snprintf(list, sizeof(list), "http://%s:1", longhost);
	expect_bad(pgha_valid_endpoints, list, "longer than 127");
	memset(longhost, 'h', 70);
	longhost[70] = '\0';
	snprintf(list, sizeof(list), "http://%s.com:1", longhost);
	expect_bad(pgha_valid_endpoints, list, "invalid host");	/* label > 63 */

	list[0] = '\0';
	for (i = 0; i <= PGHA_MAX_ENDPOINTS; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
				 "%shttp://10.0.0.%d:2379", i ? "," : "", i + 1);
	expect_bad(pgha_valid_endpoints, list, "\"http://10.0.0.17:2379\" is number 17: at most 16");
}

static void
test_split_endpoints(void **state)
{
	char		out[PGHA_MAX_ENDPOINTS][128];

	memset(out, 0, sizeof(out));
	assert_int_equal(pgha_split_endpoints(" http://a:1 ,https://[::1]:2,\thttp://c:3\n", out, PGHA_MAX_ENDPOINTS), 3);
	assert_string_equal(out[0], "http://a:1");
	assert_string_equal(out[1], "https://[::1]:2");
	assert_string_equal(out[2], "http://c:3");
	assert_int_equal(pgha_split_endpoints("http://a:1", out, 1), 1);
	assert_int_equal(pgha_split_endpoints("http://a:1,http://b:2", out, 1), -1);
	assert_int_equal(pgha_split_endpoints("http://a:1,http://b", out, 4), -1);
	assert_int_equal(pgha_split_endpoints("", out, 4), -1);
	assert_int_equal(pgha_split_endpoints(NULL, out, 4), -1);
	assert_int_equal(pgha_split_endpoints("http://a:1", out, 0), -1);
}

static void
test_connect_address(void **state)
{
	expect_ok(pgha_valid_connect_address, "127.0.0.1:5432");
	expect_ok(pgha_valid_connect_address, "db1:5432");
	expect_ok(pgha_valid_connect_address, "db1.example.com:1");
	expect_ok(pgha_valid_connect_address, "[::1]:5432");
	expect_ok(pgha_valid_connect_address, "[fe80::1:2]:65535");

	expect_bad(pgha_valid_connect_address, "", "empty");
	expect_bad(pgha_valid_connect_address, NULL, "empty");
	expect_bad(pgha_valid_connect_address, "127.0.0.1", "\"127.0.0.1\" has no port");
	expect_bad(pgha_valid_connect_address, ":5432", "no host");
	expect_bad(pgha_valid_connect_address, "h:0", "port 0");
	expect_bad(pgha_valid_connect_address, "h:65536", "port 65536");
	expect_bad(pgha_valid_connect_address, "h:5x", "invalid port");
	expect_bad(pgha_valid_connect_address, "h:54 32", "whitespace");
	expect_bad(pgha_valid_connect_address, " h:5432", "whitespace");
	expect_bad(pgha_valid_connect_address, "[::1]", "no port");
	expect_bad(pgha_valid_connect_address, "::1:5432", "invalid host");
	expect_bad(pgha_valid_connect_address, "h:5432/x", "host:port");
	expect_bad(pgha_valid_connect_address, "u@h:5432", "host:port");
	expect_bad(pgha_valid_connect_address, "postgres://h:5432", "host:port");
	expect_bad(pgha_valid_connect_address, "h_1:5432", "invalid host");
	expect_bad(pgha_valid_connect_address, "256.0.0.1:5432", "invalid host");
}

static void
test_timing(void **state)
{
	char		err[ERRLEN];

	assert_true(pgha_valid_timing(30, 10, 10, err, sizeof(err)));
	assert_true(pgha_valid_timing(10, 2, 3, err, sizeof(err)));
	assert_true(pgha_valid_timing(3, 1, 1, err, sizeof(err)));
	assert_true(pgha_valid_timing(3600, 3600, 0 + 1, err, sizeof(err)) == false);
	assert_true(pgha_valid_timing(3600, 1000, 1300, err, sizeof(err)));

	assert_false(pgha_valid_timing(29, 10, 10, err, sizeof(err)));
	assert_non_null(strstr(err, "loop_wait + 2 * retry_timeout = 30"));
	assert_false(pgha_valid_timing(1, 1, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "ttl 1 is out of range"));
	assert_false(pgha_valid_timing(3601, 10, 10, err, sizeof(err)));
	assert_non_null(strstr(err, "ttl 3601"));
	assert_false(pgha_valid_timing(30, 0, 10, err, sizeof(err)));
	assert_non_null(strstr(err, "loop_wait 0"));
	assert_false(pgha_valid_timing(30, 3601, 10, err, sizeof(err)));
	assert_non_null(strstr(err, "loop_wait 3601"));
	assert_false(pgha_valid_timing(30, 10, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "retry_timeout 0"));
	assert_false(pgha_valid_timing(30, 10, -5, err, sizeof(err)));
	assert_false(pgha_valid_timing(-2147483647 - 1, 10, 10, err, sizeof(err)));
	assert_false(pgha_valid_timing(30, 10, 2147483647, err, sizeof(err)));
	assert_false(pgha_valid_timing(30, 10, 10 + 1, NULL, 0));
}

static void
test_file_path(void **state)
{
	char		path[] = "/tmp/pgha_test_settings_XXXXXX";
	char		dir[] = "/tmp/pgha_test_settings_dir_XXXXXX";
	int			fd;

	expect_ok(pgha_valid_file_path, "");
	expect_ok(pgha_valid_file_path, NULL);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	expect_ok(pgha_valid_file_path, path);
	assert_non_null(mkdtemp(dir));

	expect_bad(pgha_valid_file_path, "relative/ca.pem", "not absolute");
	expect_bad(pgha_valid_file_path, "ca.pem", "\"ca.pem\"");
	expect_bad(pgha_valid_file_path, "/nonexistent/pgha/ca.pem", "No such file");
	expect_bad(pgha_valid_file_path, dir, "not a regular file");

	/* root reads everything; only an ordinary user sees the permission rule */
	if (geteuid() != 0)
	{
		chmod(path, 0);
		expect_bad(pgha_valid_file_path, path, "cannot read");
	}
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_namespace),
		cmocka_unit_test(test_endpoints_ok),
		cmocka_unit_test(test_endpoints_bad),
		cmocka_unit_test(test_split_endpoints),
		cmocka_unit_test(test_connect_address),
		cmocka_unit_test(test_timing),
		cmocka_unit_test(test_file_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
