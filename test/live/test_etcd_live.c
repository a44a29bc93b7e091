/*-------------------------------------------------------------------------
 *
 * test_etcd_live.c
 *	  Integration tests of etcd_client.c against real etcd 3.4 servers.
 *
 * Started by test/live/run-etcd-live.sh, which runs the servers and passes
 * their addresses in the environment:
 *	  PGHA_LIVE_ETCD	   plain etcd (auth token TTL 2 s), e.g. http://127.0.0.1:23791
 *	  PGHA_LIVE_ETCD_PID   its PID: the last test stops it to end a watch
 *	  PGHA_LIVE_SLOW	   a socat forwarder to it
 *	  PGHA_LIVE_SOCAT_PID  the forwarder's PID (SIGSTOP makes etcd "slow")
 *	  PGHA_LIVE_TLS		   etcd with TLS and client certificates
 *	  PGHA_LIVE_CERTS	   directory with ca.crt, client.crt, client.key
 * Tests run in the order listed in main(); the last one stops etcd.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <curl/curl.h>

#include "etcd_client.h"

static const char *etcd_url;
static const char *slow_url;
static const char *tls_url;
static const char *cert_dir;
static pid_t etcd_pid;
static pid_t socat_pid;

static char ca_path[512];
static char cert_path[512];
static char key_path[512];

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || v[0] == '\0')
	{
		fprintf(stderr, "%s is not set: run test/live/run-etcd-live.sh\n", name);
		exit(2);
	}
	return v;
}

static EtcdClient *
client_for(const char *endpoints, int request_timeout_ms)
{
	EtcdClientConfig cfg;
	EtcdError	err;
	EtcdClient *c;

	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoints = endpoints;
	cfg.connect_timeout_ms = 500;
	cfg.request_timeout_ms = request_timeout_ms;
	c = etcd_client_new(&cfg, &err);
	if (c == NULL)
		fail_msg("etcd_client_new(%s): %s", endpoints, err.message);
	return c;
}

/* fail with etcd's message when a call did not give the expected status */
#define EXPECT(call, status) \
	do { \
		EtcdStatus st_ = (call); \
		if (st_ != (status)) \
			fail_msg("%s: %s instead of %s: %s", #call, etcd_status_name(st_), \
					 etcd_status_name(status), err.message); \
	} while (0)

/* the one value of key, "" if absent */
static char *
value_of(EtcdClient *c, const char *key, int64_t *lease)
{
	EtcdError	err;
	EtcdKVList	l;
	char	   *v;

	EXPECT(etcd_get(c, key, &l, &err), ETCD_OK);
	assert_true(l.count <= 1);
	v = strdup(l.count ? l.kvs[0].value : "");
	if (lease)
		*lease = l.count ? l.kvs[0].lease : -1;
	etcd_kvlist_free(&l);
	return v;
}

static void
assert_value(EtcdClient *c, const char *key, const char *expected)
{
	char	   *v = value_of(c, key, NULL);

	if (strcmp(v, expected) != 0)
		fail_msg("%s is \"%s\", expected \"%s\"", key, v, expected);
	free(v);
}

static size_t
sink(char *ptr, size_t size, size_t nmemb, void *data)
{
	(void) ptr;
	(void) data;
	return size * nmemb;
}

/* a raw POST for administration (auth setup, compaction); returns HTTP code */
static long
raw_post(const char *path, const char *body, const char *token,
		 size_t (*writer) (char *, size_t, size_t, void *), void *data)
{
	CURL	   *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char		url[256];
	char		auth[512];
	long		code = 0;

	snprintf(url, sizeof(url), "%s%s", etcd_url, path);
	if (token)
	{
		snprintf(auth, sizeof(auth), "Authorization: %s", token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, writer ? writer : sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, data);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return code;
}

/* collects a raw answer into a fixed buffer */
typedef struct Raw
{
	char		text[4096];
	size_t		len;
} Raw;

static size_t
collect(char *ptr, size_t size, size_t nmemb, void *data)
{
	Raw		   *r = data;
	size_t		n = size * nmemb;

	if (n > sizeof(r->text) - 1 - r->len)
		n = sizeof(r->text) - 1 - r->len;
	memcpy(r->text + r->len, ptr, n);
	r->len += n;
	r->text[r->len] = '\0';
	return size * nmemb;
}

/* wait on the watch socket until want events arrived or the watch ended */
static EtcdStatus
wait_events(EtcdWatch *w, EtcdWatchEvent **ev, int *n, int want,
			int timeout_ms, EtcdError *err)
{
	int64_t		end = etcd_now_ms() + timeout_ms;
	EtcdStatus	st = ETCD_OK;

	while (*n < want && etcd_now_ms() < end)
	{
		struct pollfd p;

		p.fd = etcd_watch_socket(w);
		p.events = POLLIN;
		p.revents = 0;
		if (p.fd >= 0)
			(void) poll(&p, 1, 200);
		else
			usleep(20000);
		st = etcd_watch_poll(w, ev, n, err);
		if (st != ETCD_OK)
			break;
	}
	return st;
}


/* ---------------------------------------------------------------------
 * Tests
 * ---------------------------------------------------------------------
 */

static void
test_leases(void **state)
{
	EtcdClient *c = client_for(etcd_url, 2000);
	EtcdError	err;
	int64_t		id;
	int			ttl;
	int			left;

	(void) state;
	EXPECT(etcd_lease_grant(c, 5, &id, &ttl, &err), ETCD_OK);
	assert_true(id > 0);
	assert_int_equal(ttl, 5);
	EXPECT(etcd_lease_keepalive(c, id, &left, &err), ETCD_OK);
	assert_int_equal(left, 5);
	EXPECT(etcd_lease_revoke(c, id, &err), ETCD_OK);
	/* a revoked lease: keepalive answers, with no TTL */
	left = 99;
	EXPECT(etcd_lease_keepalive(c, id, &left, &err), ETCD_OK);
	assert_int_equal(left, 0);
	EXPECT(etcd_lease_revoke(c, id, &err), ETCD_ERR_NOT_FOUND);
	assert_int_equal(err.http_code, 404);
	assert_int_equal(err.grpc_code, 5);
	assert_non_null(strstr(err.message, "requested lease not found"));
	assert_non_null(strstr(err.message, etcd_url));
	/* a put with an unknown lease */
	EXPECT(etcd_put(c, "/live/lease/x", "v", id, &err), ETCD_ERR_NOT_FOUND);
	etcd_client_free(c);
}

static void
test_kv(void **state)
{
	EtcdClient *c = client_for(etcd_url, 2000);
	EtcdError	err;
	EtcdKVList	l;
	int64_t		deleted;

	(void) state;
	EXPECT(etcd_put(c, "/live/kv/a", "1", 0, &err), ETCD_OK);
	EXPECT(etcd_put(c, "/live/kv/b", "", 0, &err), ETCD_OK);
	EXPECT(etcd_put(c, "/live/kv0", "outside", 0, &err), ETCD_OK);
	EXPECT(etcd_put(c, "/live/kv/c", "{\"json\": \"\\u00e9\xc3\xa9\"}", 0, &err),
		   ETCD_OK);

	EXPECT(etcd_get(c, "/live/kv/a", &l, &err), ETCD_OK);
	assert_int_equal(l.count, 1);
	assert_string_equal(l.kvs[0].value, "1");
	assert_true(l.kvs[0].mod_revision > 0 && l.revision >= l.kvs[0].mod_revision);
	assert_true(l.kvs[0].lease == 0);
	etcd_kvlist_free(&l);

	EXPECT(etcd_get(c, "/live/kv/missing", &l, &err), ETCD_OK);
	assert_int_equal(l.count, 0);
	assert_true(l.revision > 0);
	etcd_kvlist_free(&l);

	/* the prefix ends at '/': /live/kv0 is not in it */
	EXPECT(etcd_get_prefix(c, "/live/kv/", &l, &err), ETCD_OK);
	assert_int_equal(l.count, 3);
	assert_string_equal(l.kvs[0].key, "/live/kv/a");
	assert_string_equal(l.kvs[1].key, "/live/kv/b");
	assert_string_equal(l.kvs[1].value, "");
	assert_string_equal(l.kvs[2].value, "{\"json\": \"\\u00e9\xc3\xa9\"}");
	assert_null(etcd_kvlist_find(&l, "/live/kv0"));
	etcd_kvlist_free(&l);

	EXPECT(etcd_delete(c, "/live/kv/a", &err), ETCD_OK);
	EXPECT(etcd_delete(c, "/live/kv/a", &err), ETCD_OK);	/* absent: fine */
	assert_value(c, "/live/kv/a", "");
	EXPECT(etcd_delete_prefix(c, "/live/kv/", &deleted, &err), ETCD_OK);
	assert_true(deleted == 2);
	assert_value(c, "/live/kv0", "outside");
	EXPECT(etcd_delete(c, "/live/kv0", &err), ETCD_OK);
	assert_string_equal(etcd_client_current_endpoint(c), etcd_url);
	etcd_client_free(c);
}

static void
test_keep_lease(void **state)
{
	EtcdClient *c = client_for(etcd_url, 2000);
	EtcdError	err;
	int64_t		id;
	int64_t		lease;
	int			ttl;
	char	   *v;

	(void) state;
	EXPECT(etcd_lease_grant(c, 30, &id, &ttl, &err), ETCD_OK);
	EXPECT(etcd_put(c, "/live/keep/k", "one", id, &err), ETCD_OK);
	EXPECT(etcd_put(c, "/live/keep/k", "two", ETCD_KEEP_LEASE, &err), ETCD_OK);
	v = value_of(c, "/live/keep/k", &lease);
	assert_string_equal(v, "two");
	assert_true(lease == id);
	free(v);
	/* lease 0 detaches the key from its lease */
	EXPECT(etcd_put(c, "/live/keep/k", "three", 0, &err), ETCD_OK);
	v = value_of(c, "/live/keep/k", &lease);
	assert_true(lease == 0);
	free(v);
	/* keeping the lease of a missing key is an etcd error */
	EXPECT(etcd_put(c, "/live/keep/missing", "x", ETCD_KEEP_LEASE, &err),
		   ETCD_ERR_NOT_FOUND);
	assert_non_null(strstr(err.message, "key not found"));
	EXPECT(etcd_lease_revoke(c, id, &err), ETCD_OK);
	EXPECT(etcd_delete(c, "/live/keep/k", &err), ETCD_OK);
	etcd_client_free(c);
}

static void
test_create(void **state)
{
	EtcdClient *c = client_for(etcd_url, 2000);
	EtcdError	err;
	EtcdTxnResult r;
	int64_t		id;
	int			ttl;

	(void) state;
	EXPECT(etcd_lease_grant(c, 30, &id, &ttl, &err), ETCD_OK);
	EXPECT(etcd_create(c, "/live/txn/leader", "node1", id, &r, &err), ETCD_OK);
	assert_true(r.succeeded);
	assert_true(r.revision > 0);
	assert_int_equal(r.current.count, 0);
	etcd_txn_result_free(&r);

	/* lost: the current holder comes back */
	EXPECT(etcd_create(c, "/live/txn/leader", "node2", 0, &r, &err), ETCD_OK);
	assert_false(r.succeeded);
	assert_int_equal(r.current.count, 1);
	assert_string_equal(r.current.kvs[0].key, "/live/txn/leader");
	assert_string_equal(r.current.kvs[0].value, "node1");
	assert_true(r.current.kvs[0].lease == id);
	etcd_txn_result_free(&r);

	/* revoking the lease deletes the key: creating works again */
	EXPECT(etcd_lease_revoke(c, id, &err), ETCD_OK);
	EXPECT(etcd_create(c, "/live/txn/leader", "node2", 0, &r, &err), ETCD_OK);
	assert_true(r.succeeded);
	etcd_txn_result_free(&r);
	EXPECT(etcd_delete(c, "/live/txn/leader", &err), ETCD_OK);
	etcd_client_free(c);
}

static void
test_cas(void **state)
{
	EtcdClient *c = client_for(etcd_url, 2000);
	EtcdError	err;
	EtcdTxnResult r;
	EtcdKVList	l;
	int64_t		mod;

	(void) state;
	EXPECT(etcd_put(c, "/live/cas/k", "a", 0, &err), ETCD_OK);

	/* compare on value */
	EXPECT(etcd_cas_value(c, "/live/cas/k", "a", "b", 0, &r, &err), ETCD_OK);
	assert_true(r.succeeded);
	etcd_txn_result_free(&r);
	EXPECT(etcd_cas_value(c, "/live/cas/k", "a", "c", 0, &r, &err), ETCD_OK);
	assert_false(r.succeeded);
	assert_int_equal(r.current.count, 1);
	assert_string_equal(r.current.kvs[0].value, "b");
	etcd_txn_result_free(&r);
	assert_value(c, "/live/cas/k", "b");

	/* compare on mod_revision */
	EXPECT(etcd_get(c, "/live/cas/k", &l, &err), ETCD_OK);
	mod = l.kvs[0].mod_revision;
	etcd_kvlist_free(&l);
	EXPECT(etcd_cas_mod(c, "/live/cas/k", mod, "d", 0, &r, &err), ETCD_OK);
	assert_true(r.succeeded);
	etcd_txn_result_free(&r);
	EXPECT(etcd_cas_mod(c, "/live/cas/k", mod, "e", 0, &r, &err), ETCD_OK);
	assert_false(r.succeeded);
	assert_int_equal(r.current.count, 1);
	assert_string_equal(r.current.kvs[0].value, "d");
	assert_true(r.current.kvs[0].mod_revision > mod);
	etcd_txn_result_free(&r);
	/* mod_revision 0 means "absent" */
	EXPECT(etcd_cas_mod(c, "/live/cas/new", 0, "n", 0, &r, &err), ETCD_OK);
	assert_true(r.succeeded);
	etcd_txn_result_free(&r);
	EXPECT(etcd_cas_mod(c, "/live/cas/new", 0, "n2", 0, &r, &err), ETCD_OK);
	assert_false(r.succeeded);
	etcd_txn_result_free(&r);

	/* compare-and-delete */
	EXPECT(etcd_cad_value(c, "/live/cas/k", "zzz", &r, &err), ETCD_OK);
	assert_false(r.succeeded);
	assert_string_equal(r.current.kvs[0].value, "d");
	etcd_txn_result_free(&r);
	assert_value(c, "/live/cas/k", "d");
	EXPECT(etcd_cad_value(c, "/live/cas/k", "d", &r, &err), ETCD_OK);
	assert_true(r.succeeded);
	etcd_txn_result_free(&r);
	assert_value(c, "/live/cas/k", "");
	/* on a missing key the value compare fails, with no current kv */
	EXPECT(etcd_cad_value(c, "/live/cas/k", "d", &r, &err), ETCD_OK);
	assert_false(r.succeeded);
	assert_int_equal(r.current.count, 0);
	etcd_txn_result_free(&r);
	EXPECT(etcd_delete(c, "/live/cas/new", &err), ETCD_OK);

	/* on value and lease, with puts: all or nothing (the leader's release) */
	{
		EtcdPutOp	puts[] = {{"/live/cas/p1", "x"}, {"/live/cas/p2", "y"}};
		int64_t		lease;
		int			ttl;

		EXPECT(etcd_lease_grant(c, 30, &lease, &ttl, &err), ETCD_OK);
		EXPECT(etcd_put(c, "/live/cas/k", "me", lease, &err), ETCD_OK);
		EXPECT(etcd_cad_value_lease_puts(c, "/live/cas/k", "me", 0, puts, 2, &r, &err),
			   ETCD_OK);
		assert_false(r.succeeded);	/* on another lease: nothing done */
		assert_int_equal(r.current.count, 1);
		assert_int_equal(r.current.kvs[0].lease, lease);
		etcd_txn_result_free(&r);
		assert_value(c, "/live/cas/p1", "");
		assert_value(c, "/live/cas/k", "me");
		EXPECT(etcd_cad_value_lease_puts(c, "/live/cas/k", "me", lease, puts, 2, &r, &err),
			   ETCD_OK);
		assert_true(r.succeeded);
		etcd_txn_result_free(&r);
		assert_value(c, "/live/cas/k", "");
		assert_value(c, "/live/cas/p1", "x");
		assert_value(c, "/live/cas/p2", "y");
		{
			int64_t		n;

			EXPECT(etcd_delete_prefix(c, "/live/cas/p", &n, &err), ETCD_OK);
			assert_int_equal(n, 2);
		}
		EXPECT(etcd_lease_revoke(c, lease, &err), ETCD_OK);
	}
	etcd_client_free(c);
}

static void
test_failover(void **state)
{
	char		endpoints[256];
	EtcdClient *c;
	EtcdError	err;
	EtcdKVList	l;
	int64_t		t0;

	(void) state;
	snprintf(endpoints, sizeof(endpoints), "http://127.0.0.1:1,%s", etcd_url);
	c = client_for(endpoints, 2000);
	assert_string_equal(etcd_client_current_endpoint(c), "http://127.0.0.1:1");
	t0 = etcd_now_ms();
	EXPECT(etcd_get(c, "/live/failover", &l, &err), ETCD_OK);
	etcd_kvlist_free(&l);
	assert_true(etcd_now_ms() - t0 < 1000);
	assert_string_equal(etcd_client_current_endpoint(c), etcd_url);
	assert_string_equal(err.endpoint, etcd_url);
	/* the good endpoint is remembered */
	EXPECT(etcd_put(c, "/live/failover", "x", 0, &err), ETCD_OK);
	assert_string_equal(etcd_client_current_endpoint(c), etcd_url);
	EXPECT(etcd_delete(c, "/live/failover", &err), ETCD_OK);
	etcd_client_free(c);
}

static void
test_dead(void **state)
{
	EtcdClient *c = client_for("http://127.0.0.1:1,http://127.0.0.1:2", 2000);
	EtcdError	err;
	EtcdKVList	l;
	EtcdTxnResult r;
	int64_t		t0 = etcd_now_ms();

	(void) state;
	EXPECT(etcd_get(c, "/live/dead", &l, &err), ETCD_ERR_UNAVAILABLE);
	assert_true(l.count == 0 && l.kvs == NULL);
	assert_non_null(strstr(err.message, "etcd at http://127.0.0.1:"));
	assert_non_null(strstr(err.message, "(2 endpoints tried)"));
	/* a refused connection sent nothing: a write fails plainly too */
	EXPECT(etcd_create(c, "/live/dead", "x", 0, &r, &err), ETCD_ERR_UNAVAILABLE);
	assert_false(r.succeeded);
	assert_null(etcd_watch_start(c, "/live/dead/", 0, &err));
	assert_int_equal(err.status, ETCD_ERR_UNAVAILABLE);
	assert_true(etcd_now_ms() - t0 < 1000);
	etcd_client_free(c);
}

static void
test_deadline(void **state)
{
	EtcdClient *c = client_for(etcd_url, 2000);
	EtcdError	err;
	EtcdKVList	l;
	int64_t		t0 = etcd_now_ms();

	(void) state;
	etcd_client_set_deadline(c, t0 - 10);
	EXPECT(etcd_get(c, "/live/deadline", &l, &err), ETCD_ERR_TIMEOUT);
	assert_non_null(strstr(err.message, "deadline"));
	EXPECT(etcd_put(c, "/live/deadline", "x", 0, &err), ETCD_ERR_TIMEOUT);
	assert_true(etcd_now_ms() - t0 < 50);
	etcd_client_set_deadline(c, 0);
	EXPECT(etcd_get(c, "/live/deadline", &l, &err), ETCD_OK);
	assert_int_equal(l.count, 0);	/* the put was never sent */
	etcd_kvlist_free(&l);
	etcd_client_free(c);
}

static int
resume_socat(void **state)
{
	(void) state;
	kill(socat_pid, SIGCONT);
	return 0;
}

static void
test_slow(void **state)
{
	char		endpoints[256];
	EtcdClient *c;
	EtcdError	err;
	EtcdKVList	l;
	int64_t		t0;
	int64_t		took;

	(void) state;
	/* through the forwarder while it runs */
	c = client_for(slow_url, 1000);
	EXPECT(etcd_get(c, "/live/slow", &l, &err), ETCD_OK);
	etcd_kvlist_free(&l);
	etcd_client_free(c);

	assert_int_equal(kill(socat_pid, SIGSTOP), 0);

	/* connect succeeds (kernel backlog), the answer never comes */
	c = client_for(slow_url, 1000);
	t0 = etcd_now_ms();
	EXPECT(etcd_get(c, "/live/slow", &l, &err), ETCD_ERR_TIMEOUT);
	took = etcd_now_ms() - t0;
	assert_true(took >= 900 && took < 1600);
	assert_non_null(strstr(err.message, slow_url));

	/* a write that timed out may still have been applied */
	EXPECT(etcd_put(c, "/live/slow", "x", 0, &err), ETCD_ERR_TIMEOUT);
	assert_non_null(strstr(err.message, "may have been applied"));

	/* the deadline cuts an attempt short */
	t0 = etcd_now_ms();
	etcd_client_set_deadline(c, t0 + 300);
	EXPECT(etcd_get(c, "/live/slow", &l, &err), ETCD_ERR_TIMEOUT);
	took = etcd_now_ms() - t0;
	assert_true(took >= 250 && took < 700);
	etcd_client_free(c);

	/* failover from the stalled endpoint to the real one */
	snprintf(endpoints, sizeof(endpoints), "%s,%s", slow_url, etcd_url);
	c = client_for(endpoints, 1000);
	t0 = etcd_now_ms();
	EXPECT(etcd_get(c, "/live/slow", &l, &err), ETCD_OK);
	etcd_kvlist_free(&l);
	took = etcd_now_ms() - t0;
	assert_true(took >= 900 && took < 2000);
	assert_string_equal(etcd_client_current_endpoint(c), etcd_url);
	/* ... and a watch started from there too */
	{
		EtcdWatch  *w = etcd_watch_start(c, "/live/slow/", 0, &err);

		if (w == NULL)
			fail_msg("watch: %s", err.message);
		etcd_watch_free(w);
	}
	etcd_client_free(c);
	kill(socat_pid, SIGCONT);
}

static void
test_watch(void **state)
{
	EtcdClient *c = client_for(etcd_url, 2000);
	EtcdError	err;
	EtcdWatch  *w;
	EtcdWatchEvent *ev = NULL;
	int			n = 0;
	int64_t		id;
	int			ttl;
	EtcdKVList	l;
	int64_t		rev;

	(void) state;
	w = etcd_watch_start(c, "/live/watch/", 0, &err);
	if (w == NULL)
		fail_msg("watch: %s", err.message);
	assert_true(etcd_watch_socket(w) >= 0);
	/* nothing happened yet */
	EXPECT(etcd_watch_poll(w, &ev, &n, &err), ETCD_OK);
	assert_int_equal(n, 0);

	EXPECT(etcd_put(c, "/live/watch/a", "v1", 0, &err), ETCD_OK);
	EXPECT(etcd_put(c, "/live/watchx", "not in prefix", 0, &err), ETCD_OK);
	EXPECT(etcd_put(c, "/live/watch/a", "v2", 0, &err), ETCD_OK);
	EXPECT(etcd_delete(c, "/live/watch/a", &err), ETCD_OK);
	EXPECT(wait_events(w, &ev, &n, 3, 5000, &err), ETCD_OK);
	assert_int_equal(n, 3);
	assert_false(ev[0].is_delete);
	assert_string_equal(ev[0].kv.key, "/live/watch/a");
	assert_string_equal(ev[0].kv.value, "v1");
	assert_false(ev[0].has_prev);
	assert_false(ev[1].is_delete);
	assert_string_equal(ev[1].kv.value, "v2");
	assert_true(ev[1].has_prev);
	assert_string_equal(ev[1].prev_kv.value, "v1");
	assert_true(ev[2].is_delete);
	assert_string_equal(ev[2].kv.key, "/live/watch/a");
	assert_true(ev[2].has_prev);
	assert_string_equal(ev[2].prev_kv.value, "v2");
	etcd_watch_events_free(ev, n);
	ev = NULL;
	n = 0;

	/* lease expiry is a DELETE whose prev_kv has the lease */
	EXPECT(etcd_lease_grant(c, 2, &id, &ttl, &err), ETCD_OK);
	EXPECT(etcd_put(c, "/live/watch/leased", "x", id, &err), ETCD_OK);
	EXPECT(wait_events(w, &ev, &n, 2, 8000, &err), ETCD_OK);
	assert_int_equal(n, 2);
	assert_true(ev[1].is_delete);
	assert_true(ev[1].has_prev && ev[1].prev_kv.lease == id);
	etcd_watch_events_free(ev, n);
	ev = NULL;
	n = 0;
	etcd_watch_free(w);

	/* replay from a revision */
	EXPECT(etcd_put(c, "/live/watch/r", "1", 0, &err), ETCD_OK);
	EXPECT(etcd_get(c, "/live/watch/r", &l, &err), ETCD_OK);
	rev = l.kvs[0].mod_revision;
	etcd_kvlist_free(&l);
	EXPECT(etcd_put(c, "/live/watch/r", "2", 0, &err), ETCD_OK);
	w = etcd_watch_start(c, "/live/watch/", rev, &err);
	if (w == NULL)
		fail_msg("watch: %s", err.message);
	EXPECT(wait_events(w, &ev, &n, 2, 5000, &err), ETCD_OK);
	assert_int_equal(n, 2);
	assert_string_equal(ev[0].kv.value, "1");
	assert_string_equal(ev[1].kv.value, "2");
	etcd_watch_events_free(ev, n);
	ev = NULL;
	n = 0;
	etcd_watch_free(w);
	EXPECT(etcd_delete(c, "/live/watch/r", &err), ETCD_OK);
	EXPECT(etcd_delete(c, "/live/watchx", &err), ETCD_OK);
	etcd_client_free(c);
}

static void
test_watch_compacted(void **state)
{
	EtcdClient *c = client_for(etcd_url, 2000);
	EtcdError	err;
	EtcdWatch  *w;
	EtcdWatchEvent *ev = NULL;
	int			n = 0;
	EtcdKVList	l;
	char		body[64];

	(void) state;
	EXPECT(etcd_get(c, "/live/compact", &l, &err), ETCD_OK);
	snprintf(body, sizeof(body), "{\"revision\":\"%lld\"}", (long long) l.revision);
	etcd_kvlist_free(&l);
	assert_int_equal(raw_post("/v3/kv/compaction", body, NULL, NULL, NULL), 200);

	w = etcd_watch_start(c, "/live/compact/", 1, &err);
	if (w == NULL)
		fail_msg("watch: %s", err.message);
	EXPECT(wait_events(w, &ev, &n, 1, 5000, &err), ETCD_ERR_COMPACTED);
	assert_int_equal(n, 0);
	assert_null(ev);
	/* the end is sticky */
	EXPECT(etcd_watch_poll(w, &ev, &n, &err), ETCD_ERR_COMPACTED);
	assert_int_equal(etcd_watch_socket(w), -1);
	etcd_watch_free(w);
	etcd_client_free(c);
}

/* --- authentication: enabled on the plain etcd, disabled in teardown --- */

static char root_token[256];

static bool
root_authenticate(void)
{
	Raw			r;
	char	   *p;
	char	   *q;

	memset(&r, 0, sizeof(r));
	if (raw_post("/v3/auth/authenticate",
				 "{\"name\":\"root\",\"password\":\"rootpw\"}", NULL, collect, &r) != 200)
		return false;
	p = strstr(r.text, "\"token\":\"");
	if (p == NULL)
		return false;
	p += 9;
	q = strchr(p, '"');
	if (q == NULL || (size_t) (q - p) >= sizeof(root_token))
		return false;
	memcpy(root_token, p, (size_t) (q - p));
	root_token[q - p] = '\0';
	return true;
}

static int
disable_auth(void **state)
{
	(void) state;
	if (root_authenticate())
		(void) raw_post("/v3/auth/disable", "{}", root_token, NULL, NULL);
	return 0;
}

static EtcdClient *
auth_client(const char *user, const char *password)
{
	EtcdClientConfig cfg;
	EtcdError	err;
	EtcdClient *c;

	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoints = etcd_url;
	cfg.username = user;
	cfg.password = password;
	cfg.request_timeout_ms = 2000;
	c = etcd_client_new(&cfg, &err);
	if (c == NULL)
		fail_msg("etcd_client_new: %s", err.message);
	return c;
}

static void
test_auth(void **state)
{
	static const char *const setup[][2] = {
		{"/v3/auth/user/add", "{\"name\":\"root\",\"password\":\"rootpw\"}"},
		{"/v3/auth/role/add", "{\"name\":\"root\"}"},
		{"/v3/auth/user/grant", "{\"user\":\"root\",\"role\":\"root\"}"},
		{"/v3/auth/user/add", "{\"name\":\"pgha\",\"password\":\"pghapw\"}"},
		{"/v3/auth/role/add", "{\"name\":\"pgha_live\"}"},
		/* /live/auth/ .. /live/auth0 */
		{"/v3/auth/role/grant", "{\"name\":\"pgha_live\",\"perm\":{\"permType\":\"READWRITE\",\"key\":\"L2xpdmUvYXV0aC8=\",\"range_end\":\"L2xpdmUvYXV0aDA=\"}}"},
		{"/v3/auth/user/grant", "{\"user\":\"pgha\",\"role\":\"pgha_live\"}"},
	};
	EtcdClient *c;
	EtcdError	err;
	EtcdKVList	l;
	EtcdWatch  *w;
	EtcdWatchEvent *ev = NULL;
	int			n = 0;
	size_t		i;

	(void) state;
	/* credentials while auth is off: the client goes on without a token */
	c = auth_client("pgha", "pghapw");
	EXPECT(etcd_put(c, "/live/auth/k", "before", 0, &err), ETCD_OK);
	etcd_client_free(c);

	for (i = 0; i < sizeof(setup) / sizeof(setup[0]); i++)
		assert_int_equal(raw_post(setup[i][0], setup[i][1], NULL, NULL, NULL), 200);
	assert_int_equal(raw_post("/v3/auth/enable", "{}", NULL, NULL, NULL), 200);

	c = auth_client("pgha", "pghapw");
	EXPECT(etcd_put(c, "/live/auth/k", "v", 0, &err), ETCD_OK);
	assert_value(c, "/live/auth/k", "v");
	EXPECT(etcd_put(c, "/live/other", "v", 0, &err), ETCD_ERR_DENIED);
	assert_non_null(strstr(err.message, "HTTP 403: etcdserver: permission denied"));
	w = etcd_watch_start(c, "/live/auth/", 0, &err);
	if (w == NULL)
		fail_msg("watch with auth: %s", err.message);
	EXPECT(etcd_put(c, "/live/auth/k", "w", 0, &err), ETCD_OK);
	EXPECT(wait_events(w, &ev, &n, 1, 5000, &err), ETCD_OK);
	assert_string_equal(ev[0].kv.value, "w");
	etcd_watch_events_free(ev, n);
	etcd_watch_free(w);

	/* the token expires after 2 s idle (--auth-token-ttl 2): re-authenticate */
	usleep(3500 * 1000);
	EXPECT(etcd_get(c, "/live/auth/k", &l, &err), ETCD_OK);
	assert_int_equal(l.count, 1);
	etcd_kvlist_free(&l);
	etcd_client_free(c);

	c = auth_client("pgha", "wrong");
	EXPECT(etcd_get(c, "/live/auth/k", &l, &err), ETCD_ERR_AUTH);
	assert_non_null(strstr(err.message, "authentication as \"pgha\" failed"));
	assert_null(etcd_watch_start(c, "/live/auth/", 0, &err));
	assert_int_equal(err.status, ETCD_ERR_AUTH);
	etcd_client_free(c);

	/* no credentials at all */
	c = client_for(etcd_url, 2000);
	EXPECT(etcd_get(c, "/live/auth/k", &l, &err), ETCD_ERR_AUTH);
	assert_non_null(strstr(err.message, "user name is empty"));
	etcd_client_free(c);

	assert_true(root_authenticate());
	assert_int_equal(raw_post("/v3/auth/disable", "{}", root_token, NULL, NULL), 200);
	c = client_for(etcd_url, 2000);
	EXPECT(etcd_delete(c, "/live/auth/k", &err), ETCD_OK);
	etcd_client_free(c);
}

/* --- TLS with client certificates --- */

static EtcdClient *
tls_client(const char *ca, const char *cert, const char *key, EtcdError *err)
{
	EtcdClientConfig cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoints = tls_url;
	cfg.cacert = ca;
	cfg.cert = cert;
	cfg.key = key;
	cfg.request_timeout_ms = 2000;
	return etcd_client_new(&cfg, err);
}

static void
test_tls(void **state)
{
	EtcdClient *c;
	EtcdError	err;
	EtcdKVList	l;
	EtcdWatch  *w;
	EtcdWatchEvent *ev = NULL;
	int			n = 0;

	(void) state;
	c = tls_client(ca_path, cert_path, key_path, &err);
	assert_non_null(c);
	EXPECT(etcd_put(c, "/live/tls/k", "secure", 0, &err), ETCD_OK);
	assert_value(c, "/live/tls/k", "secure");
	w = etcd_watch_start(c, "/live/tls/", 0, &err);
	if (w == NULL)
		fail_msg("watch over TLS: %s", err.message);
	EXPECT(etcd_delete(c, "/live/tls/k", &err), ETCD_OK);
	EXPECT(wait_events(w, &ev, &n, 1, 5000, &err), ETCD_OK);
	assert_true(ev[0].is_delete);
	etcd_watch_events_free(ev, n);
	etcd_watch_free(w);
	etcd_client_free(c);

	/* without a client certificate the server refuses the handshake */
	c = tls_client(ca_path, NULL, NULL, &err);
	assert_non_null(c);
	EXPECT(etcd_get(c, "/live/tls/k", &l, &err), ETCD_ERR_UNAVAILABLE);
	print_message("# no client certificate: %s\n", err.message);
	assert_non_null(strstr(err.message, tls_url));
	assert_true(strstr(err.message, "certificate") != NULL ||
				strstr(err.message, "alert") != NULL ||
				strstr(err.message, "SSL") != NULL);
	etcd_client_free(c);

	/* without the CA the server certificate cannot be verified */
	c = tls_client(NULL, cert_path, key_path, &err);
	assert_non_null(c);
	EXPECT(etcd_get(c, "/live/tls/k", &l, &err), ETCD_ERR_UNAVAILABLE);
	print_message("# no CA: %s\n", err.message);
	assert_non_null(strstr(err.message, "certificate"));
	etcd_client_free(c);

	/* a missing file is a configuration error, reported up front */
	assert_null(tls_client("/nonexistent/ca.crt", cert_path, key_path, &err));
	assert_int_equal(err.status, ETCD_ERR_CONFIG);
}

/* --- last: stopping etcd ends an open watch --- */

static void
test_watch_ends_when_etcd_stops(void **state)
{
	EtcdClient *c = client_for(etcd_url, 2000);
	EtcdError	err;
	EtcdWatch  *w;
	EtcdWatchEvent *ev = NULL;
	int			n = 0;
	EtcdStatus	st;
	int64_t		t0;

	(void) state;
	w = etcd_watch_start(c, "/live/stop/", 0, &err);
	if (w == NULL)
		fail_msg("watch: %s", err.message);
	assert_int_equal(kill(etcd_pid, SIGTERM), 0);
	t0 = etcd_now_ms();
	st = wait_events(w, &ev, &n, 1, 15000, &err);
	print_message("# watch ended after %lld ms: %s: %s\n",
				  (long long) (etcd_now_ms() - t0), etcd_status_name(st),
				  err.message);
	assert_int_equal(st, ETCD_ERR_UNAVAILABLE);
	assert_int_equal(n, 0);
	assert_non_null(strstr(err.message, etcd_url));
	EXPECT(etcd_watch_poll(w, &ev, &n, &err), ETCD_ERR_UNAVAILABLE);
	etcd_watch_free(w);

	/* and a new one cannot be started */
	assert_null(etcd_watch_start(c, "/live/stop/", 0, &err));
	assert_int_equal(err.status, ETCD_ERR_UNAVAILABLE);
	etcd_client_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leases),
		cmocka_unit_test(test_kv),
		cmocka_unit_test(test_keep_lease),
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_cas),
		cmocka_unit_test(test_failover),
		cmocka_unit_test(test_dead),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test_teardown(test_slow, resume_socat),
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_watch_compacted),
		cmocka_unit_test_teardown(test_auth, disable_auth),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_watch_ends_when_etcd_stops),
	};
	int			rc;

	etcd_url = env("PGHA_LIVE_ETCD");
	slow_url = env("PGHA_LIVE_SLOW");
	tls_url = env("PGHA_LIVE_TLS");
	cert_dir = env("PGHA_LIVE_CERTS");
	etcd_pid = (pid_t) atoi(env("PGHA_LIVE_ETCD_PID"));
	socat_pid = (pid_t) atoi(env("PGHA_LIVE_SOCAT_PID"));
	snprintf(ca_path, sizeof(ca_path), "%s/ca.crt", cert_dir);
	snprintf(cert_path, sizeof(cert_path), "%s/client.crt", cert_dir);
	snprintf(key_path, sizeof(key_path), "%s/client.key", cert_dir);
	if (etcd_pid <= 1 || socat_pid <= 1)
	{
		fprintf(stderr, "bad PIDs in the environment\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests_name("etcd_live", tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
