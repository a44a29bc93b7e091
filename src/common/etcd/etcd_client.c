/*-------------------------------------------------------------------------
 *
 * etcd_client.c
 *	  The transport of the etcd v3 client: libcurl requests with timeouts,
 *	  endpoint failover, TLS, authentication, and a non-blocking watch.
 *
 * What the bytes mean is etcd_proto.c's business; this file decides where
 * to send them, how long to wait, and what a failure means.  It runs inside
 * a PostgreSQL background worker, so libcurl is used without signals
 * (CURLOPT_NOSIGNAL) and without any threads of ours; name resolution of a
 * host name may use libcurl's resolver thread on builds that have one, IP
 * addresses never do.  curl_global_init() is called lazily by the first
 * etcd_client_new() and never undone: that is not thread-safe, which is
 * fine for the single-threaded keeper and pghactl.
 *
 * Failure semantics (see ETCD-V3-HTTP.md §8): a refused connection, a
 * timeout, HTTP 5xx or "no leader" moves on to the next endpoint while the
 * time budget lasts, each endpoint being tried at most once per call.  A
 * write whose request left us without a complete answer (timeout, dropped
 * connection, etcd's own "request timed out") may still commit, so such a
 * write reports ETCD_ERR_TIMEOUT unless a later endpoint answered.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "etcd_proto.h"

#define ETCD_MAX_ENDPOINTS		16
#define ETCD_ENDPOINT_LEN		128	/* == sizeof(EtcdError.endpoint) */
#define ETCD_WATCH_MAX_SOCKETS	4

/* growable buffer for answers, bounded by ETCD_MAX_ANSWER */
typedef struct Buffer
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		too_large;
	bool		oom;
} Buffer;

struct EtcdClient
{
	char		endpoints[ETCD_MAX_ENDPOINTS][ETCD_ENDPOINT_LEN];
	int			nendpoints;
	int			current;		/* the endpoint that answered last */
	char	   *cacert;
	char	   *cert;
	char	   *key;
	char	   *username;		/* NULL: no authentication */
	char	   *password;
	int			connect_timeout_ms;
	int			request_timeout_ms;
	int64_t		deadline_ms;	/* 0: none */
	char	   *token;			/* NULL: not authenticated (yet) */
	bool		auth_disabled;	/* etcd said authentication is not enabled */
	CURL	   *curl;			/* reused: keeps connections alive */
	char		errbuf[CURL_ERROR_SIZE];
	EtcdClientStats stats;		/* for /metrics (etcd_client_stats) */
};

struct EtcdWatch
{
	CURLM	   *multi;
	CURL	   *easy;
	bool		added;			/* easy is in multi */
	struct curl_slist *headers; /* must live as long as the transfer */
	char		endpoint[ETCD_ENDPOINT_LEN];
	Buffer		buf;			/* received bytes not yet parsed as lines */
	EtcdWatchEvent *pending;	/* events that came with the creation answer */
	int			npending;
	bool		created;
	bool		ended;
	EtcdError	end;			/* why it ended; returned again by later polls */
	curl_socket_t socks[ETCD_WATCH_MAX_SOCKETS];
	int			nsocks;
	char		errbuf[CURL_ERROR_SIZE];
};

/* one unary RPC */
typedef EtcdStatus (*ParseFn) (const char *body, size_t len, void *out,
							   EtcdError *err);

typedef struct Call
{
	const char *path;
	const char *body;
	bool		is_write;		/* a lost answer leaves its outcome unknown */
	ParseFn		parse;
	void	   *out;
} Call;

/* what one HTTP exchange produced */
typedef struct Transfer
{
	long		http_code;		/* 0: no HTTP answer */
	Buffer		answer;
	bool		maybe_applied;	/* request sent, no complete answer back */
} Transfer;

typedef struct LeaseOut
{
	int64_t		id;
	int			ttl;
} LeaseOut;

static bool curl_ready = false;


/* ---------------------------------------------------------------------
 * Small helpers
 * ---------------------------------------------------------------------
 */

int64_t
etcd_now_ms(void)
{
	struct timespec ts;

	/*
	 * CLOCK_BOOTTIME: system-wide, never stepped by the wall clock, and it
	 * counts a suspend, as etcd's lease clock does; the keeper's deadlines,
	 * the heartbeat file and shared memory all use this clock.
	 */
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* set err for a failure at endpoint: "etcd at <endpoint>: <detail>" */
static EtcdStatus
fail(EtcdError *err, const char *endpoint, EtcdStatus status,
	 const char *fmt,...) ETCD_PRINTF(4, 5);

static EtcdStatus
fail(EtcdError *err, const char *endpoint, EtcdStatus status,
	 const char *fmt,...)
{
	char		detail[sizeof(err->message)];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	snprintf(err->endpoint, sizeof(err->endpoint), "%s", endpoint);
	return etcd_error_set(err, status, "etcd at %s: %s", endpoint, detail);
}

/* put "etcd at <endpoint>: " in front of a message from etcd_proto.c */
static EtcdStatus
at_endpoint(EtcdError *err, const char *endpoint)
{
	snprintf(err->endpoint, sizeof(err->endpoint), "%s", endpoint);
	return etcd_error_set(err, err->status, "etcd at %s: %s", endpoint,
						  err->message);
}

static EtcdStatus
config_error(EtcdError *err, const char *fmt,...) ETCD_PRINTF(2, 3);

static EtcdStatus
config_error(EtcdError *err, const char *fmt,...)
{
	char		detail[sizeof(err->message)];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return etcd_error_set(err, ETCD_ERR_CONFIG, "%s", detail);
}

static size_t
buffer_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	Buffer	   *b = userdata;
	size_t		n = size * nmemb;

	if (n > ETCD_MAX_ANSWER - b->len)
	{
		b->too_large = true;
		return 0;				/* makes libcurl abort the transfer */
	}
	if (b->len + n + 1 > b->cap)
	{
		size_t		cap = b->cap ? b->cap : 4096;
		char	   *grown;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > (size_t) ETCD_MAX_ANSWER + 1)
			cap = (size_t) ETCD_MAX_ANSWER + 1;
		grown = realloc(b->data, cap);
		if (grown == NULL)
		{
			b->oom = true;
			return 0;
		}
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

static void
buffer_free(Buffer *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/*
 * Sockets are opened with close-on-exec so that programs the keeper runs
 * (pg_ctl, archive commands) do not inherit etcd connections.  For a watch
 * the socket is also remembered, for etcd_watch_socket().
 */
static curl_socket_t
open_socket_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
	EtcdWatch  *w = clientp;
	curl_socket_t s;

	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	s = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
	if (s != CURL_SOCKET_BAD && w != NULL && w->nsocks < ETCD_WATCH_MAX_SOCKETS)
		w->socks[w->nsocks++] = s;
	return s;
}

static int
close_socket_cb(void *clientp, curl_socket_t s)
{
	EtcdWatch  *w = clientp;
	int			i;

	for (i = 0; w != NULL && i < w->nsocks; i++)
	{
		if (w->socks[i] == s)
		{
			w->socks[i] = w->socks[--w->nsocks];
			break;
		}
	}
	return close(s);
}

static struct curl_slist *
make_headers(const char *token)
{
	static const char *const fixed[] = {
		"Content-Type: application/json",
		/* a member without quorum fails at once instead of stalling */
		"Grpc-Metadata-Hasleader: true",
		/* no "Expect: 100-continue" round trip for larger bodies */
		"Expect:"
	};
	struct curl_slist *list = NULL;
	struct curl_slist *n;
	size_t		i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
	{
		if ((n = curl_slist_append(list, fixed[i])) == NULL)
			goto oom;
		list = n;
	}
	if (token != NULL && token[0] != '\0')
	{
		/* etcd wants the bare token, not "Bearer <token>" */
		size_t		len = strlen(token) + sizeof("Authorization: ");
		char	   *h = malloc(len);

		if (h == NULL)
			goto oom;
		snprintf(h, len, "Authorization: %s", token);
		n = curl_slist_append(list, h);
		free(h);
		if (n == NULL)
			goto oom;
		list = n;
	}
	return list;

oom:
	curl_slist_free_all(list);
	return NULL;
}

#define SETOPT(h, opt, val) \
	do { if (rc == CURLE_OK) rc = curl_easy_setopt((h), (opt), (val)); } while (0)

/* options shared by unary requests and watches */
static CURLcode
set_common_options(CURL *h, const EtcdClient *c, const char *url,
				   struct curl_slist *headers, char *errbuf,
				   int connect_timeout_ms, void *sockdata)
{
	CURLcode	rc = CURLE_OK;

	SETOPT(h, CURLOPT_URL, url);
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	SETOPT(h, CURLOPT_ERRORBUFFER, errbuf);
	SETOPT(h, CURLOPT_HTTPHEADER, headers);
	SETOPT(h, CURLOPT_POST, 1L);
	/* an http_proxy in the environment must not capture etcd traffic */
	SETOPT(h, CURLOPT_PROXY, "");
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SETOPT(h, CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SETOPT(h, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
	SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, (long) connect_timeout_ms);
	SETOPT(h, CURLOPT_OPENSOCKETFUNCTION, open_socket_cb);
	SETOPT(h, CURLOPT_OPENSOCKETDATA, sockdata);
	if (c->cacert)
		SETOPT(h, CURLOPT_CAINFO, c->cacert);
	if (c->cert)
		SETOPT(h, CURLOPT_SSLCERT, c->cert);
	if (c->key)
		SETOPT(h, CURLOPT_SSLKEY, c->key);
	errbuf[0] = '\0';
	return rc;
}

/* how long the next attempt may take; 0 when the deadline has passed */
static int
attempt_budget_ms(const EtcdClient *c)
{
	int64_t		t = c->request_timeout_ms;

	if (c->deadline_ms > 0)
	{
		int64_t		left = c->deadline_ms - etcd_now_ms();

		if (left < t)
			t = left;
	}
	return t > 0 ? (int) t : 0;
}

static bool
deadline_passed(const EtcdClient *c)
{
	return c->deadline_ms > 0 && etcd_now_ms() >= c->deadline_ms;
}

/* statuses after which another endpoint may do better */
static bool
try_next_endpoint(EtcdStatus st)
{
	return st == ETCD_ERR_UNAVAILABLE || st == ETCD_ERR_TIMEOUT;
}

/* a libcurl failure as a status; *maybe_applied if the request got out */
static EtcdStatus
curl_failure(CURL *h, CURLcode rc, char *errbuf, const Buffer *b,
			 int timeout_ms, const char *endpoint, bool *maybe_applied,
			 EtcdError *err)
{
	curl_off_t	pretransfer = 0;
	long		request_size = 0;
	size_t		n;
	const char *detail;

	/* a request whose connection was set up may have reached etcd */
	curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
	curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &request_size);
	*maybe_applied = (pretransfer > 0 || request_size > 0);

	n = strlen(errbuf);
	while (n > 0 && (errbuf[n - 1] == '\n' || errbuf[n - 1] == '\r'))
		errbuf[--n] = '\0';
	detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);

	if (b->too_large)
		return fail(err, endpoint, ETCD_ERR_PROTOCOL,
					"answer exceeds the %d byte limit", ETCD_MAX_ANSWER);
	if (b->oom || rc == CURLE_OUT_OF_MEMORY)
		return fail(err, endpoint, ETCD_ERR_NOMEM, "out of memory");
	switch (rc)
	{
		case CURLE_OPERATION_TIMEDOUT:
			if (*maybe_applied)
				return fail(err, endpoint, ETCD_ERR_TIMEOUT,
							"no answer within %d ms", timeout_ms);
			return fail(err, endpoint, ETCD_ERR_UNAVAILABLE,
						"%s (curl error %d)", detail, (int) rc);
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
		case CURLE_NOT_BUILT_IN:
		case CURLE_UNKNOWN_OPTION:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CIPHER:
		case CURLE_SSL_ENGINE_NOTFOUND:
		case CURLE_SSL_ENGINE_SETFAILED:
		case CURLE_SSL_ENGINE_INITFAILED:
		case CURLE_SSL_CRL_BADFILE:
		case CURLE_SSL_ISSUER_ERROR:
			*maybe_applied = false;
			return fail(err, endpoint, ETCD_ERR_CONFIG,
						"%s (curl error %d)", detail, (int) rc);
		default:
			return fail(err, endpoint, ETCD_ERR_UNAVAILABLE,
						"%s (curl error %d)", detail, (int) rc);
	}
}


/* ---------------------------------------------------------------------
 * Unary requests
 * ---------------------------------------------------------------------
 */

static int64_t
monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
etcd_client_stats(const EtcdClient *c, EtcdClientStats *out)
{
	*out = c->stats;
}

/*
 * POST body to endpoint idx.  ETCD_OK means an HTTP answer arrived (any
 * code); the caller owns t->answer either way.
 */
static EtcdStatus
http_post(EtcdClient *c, int idx, const char *path, const char *body,
		  bool with_token, Transfer *t, EtcdError *err)
{
	const char *ep = c->endpoints[idx];
	char		url[ETCD_ENDPOINT_LEN + 64];
	struct curl_slist *headers;
	int			timeout_ms = attempt_budget_ms(c);
	int			connect_ms;
	CURLcode	rc = CURLE_OK;

	memset(t, 0, sizeof(*t));
	etcd_error_clear(err);
	snprintf(err->endpoint, sizeof(err->endpoint), "%s", ep);
	if (timeout_ms <= 0)
		return fail(err, ep, ETCD_ERR_TIMEOUT,
					"deadline passed before the request was sent");
	connect_ms = c->connect_timeout_ms < timeout_ms ?
		c->connect_timeout_ms : timeout_ms;
	snprintf(url, sizeof(url), "%s%s", ep, path);
	headers = make_headers(with_token ? c->token : NULL);
	if (headers == NULL)
		return fail(err, ep, ETCD_ERR_NOMEM, "out of memory");

	curl_easy_reset(c->curl);
	rc = set_common_options(c->curl, c, url, headers, c->errbuf, connect_ms,
							NULL);
	SETOPT(c->curl, CURLOPT_TIMEOUT_MS, (long) timeout_ms);
	SETOPT(c->curl, CURLOPT_POSTFIELDS, body);
	SETOPT(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(body));
	SETOPT(c->curl, CURLOPT_WRITEFUNCTION, buffer_write);
	SETOPT(c->curl, CURLOPT_WRITEDATA, &t->answer);
	if (rc == CURLE_OK)
	{
		int64_t		t0 = monotonic_us();
		int64_t		took;

		rc = curl_easy_perform(c->curl);
		took = monotonic_us() - t0;
		c->stats.requests++;
		c->stats.last_us = took;
		c->stats.sum_us += took;
	}
	curl_slist_free_all(headers);
	if (rc != CURLE_OK)
		return curl_failure(c->curl, rc, c->errbuf, &t->answer, timeout_ms,
							ep, &t->maybe_applied, err);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &t->http_code);
	return ETCD_OK;
}

static bool
need_token(const EtcdClient *c)
{
	return c->username != NULL && c->token == NULL && !c->auth_disabled;
}

static void
drop_token(EtcdClient *c)
{
	free(c->token);
	c->token = NULL;
	c->auth_disabled = false;
}

/* POST /v3/auth/authenticate and keep the token */
static EtcdStatus
authenticate(EtcdClient *c, int idx, EtcdError *err)
{
	const char *ep = c->endpoints[idx];
	char	   *body = etcd_build_authenticate(c->username, c->password);
	char	   *token = NULL;
	Transfer	t;
	EtcdStatus	st;

	if (body == NULL)
		return fail(err, ep, ETCD_ERR_NOMEM, "out of memory");
	st = http_post(c, idx, "/v3/auth/authenticate", body, false, &t, err);
	free(body);
	if (st == ETCD_OK && t.http_code == 200)
	{
		st = etcd_parse_authenticate(t.answer.data, t.answer.len, &token, err);
		if (st == ETCD_OK)
		{
			drop_token(c);
			c->token = token;
		}
		else
			at_endpoint(err, ep);
	}
	else if (st == ETCD_OK)
	{
		st = etcd_parse_error((int) t.http_code, t.answer.data, t.answer.len,
							  err);
		if (strstr(err->message, "authentication is not enabled") != NULL)
		{
			/* go on without a token until etcd asks for one */
			drop_token(c);
			c->auth_disabled = true;
			etcd_error_clear(err);
			st = ETCD_OK;
		}
		else
			etcd_error_set(err, st, "etcd at %s: authentication as \"%s\" failed: %s",
						   ep, c->username, err->message);
	}
	buffer_free(&t.answer);
	return st;
}

/* errors of a write that may have been applied all the same */
static bool
outcome_unknown_answer(const EtcdError *err)
{
	return err->http_code >= 500 &&
		(strstr(err->message, "timed out") != NULL ||
		 strstr(err->message, "deadline exceeded") != NULL);
}

/* one endpoint: authenticate if needed, send, parse; re-authenticate once */
static EtcdStatus
attempt(EtcdClient *c, int idx, const Call *call, bool *maybe_applied,
		EtcdError *err)
{
	const char *ep = c->endpoints[idx];
	bool		reauthenticated = false;
	Transfer	t;
	EtcdStatus	st;

	*maybe_applied = false;
	for (;;)
	{
		if (need_token(c) && (st = authenticate(c, idx, err)) != ETCD_OK)
			return st;
		st = http_post(c, idx, call->path, call->body, true, &t, err);
		if (st != ETCD_OK)
		{
			*maybe_applied = t.maybe_applied;
			buffer_free(&t.answer);
			return st;
		}
		if (t.http_code == 200 && t.answer.len == 0)
		{
			/* the connection ended before etcd said anything */
			st = etcd_error_set(err, ETCD_ERR_UNAVAILABLE, "empty answer");
			*maybe_applied = true;
		}
		else if (t.http_code == 200)
			st = call->parse(t.answer.data, t.answer.len, call->out, err);
		else
		{
			st = etcd_parse_error((int) t.http_code, t.answer.data,
								  t.answer.len, err);
			if (outcome_unknown_answer(err))
				*maybe_applied = true;
		}
		buffer_free(&t.answer);
		if (st != ETCD_OK)
			at_endpoint(err, ep);

		/* an expired or invalidated token: get a new one, once */
		if (st == ETCD_ERR_AUTH && c->username != NULL && !reauthenticated)
		{
			reauthenticated = true;
			drop_token(c);
			continue;
		}
		return st;
	}
}

/* say how many endpoints a failed call went through */
static void
note_tried(EtcdError *err, int tried)
{
	if (tried > 1 && err->status != ETCD_OK)
		etcd_error_set(err, err->status, "%s (%d endpoints tried)",
					   err->message, tried);
}

static EtcdStatus
run_call(EtcdClient *c, const Call *call, EtcdError *err)
{
	EtcdError	unknown;
	bool		any_unknown = false;
	int			tried = 0;
	int			i;

	etcd_error_clear(err);
	for (i = 0; i < c->nendpoints; i++)
	{
		int			idx = (c->current + i) % c->nendpoints;
		bool		maybe_applied;
		EtcdStatus	st;

		if (i > 0 && deadline_passed(c))
			break;
		tried++;
		st = attempt(c, idx, call, &maybe_applied, err);
		if (st == ETCD_OK)
		{
			c->current = idx;
			return ETCD_OK;
		}
		if (maybe_applied && call->is_write && !any_unknown)
		{
			any_unknown = true;
			unknown = *err;
		}
		if (!try_next_endpoint(st))
			break;
	}
	if (any_unknown)
	{
		*err = unknown;
		etcd_error_set(err, ETCD_ERR_TIMEOUT,
					   "%s; the write may have been applied", err->message);
	}
	note_tried(err, tried);
	return err->status;
}

/* entry checks shared by every public call */
static bool
check_client(EtcdClient *c, EtcdError *err)
{
	etcd_error_clear(err);
	if (c == NULL)
	{
		config_error(err, "no etcd client");
		return false;
	}
	return true;
}

static bool
check_key(const char *key, const char *what, EtcdError *err)
{
	if (key == NULL || key[0] == '\0')
	{
		config_error(err, "%s must not be empty", what);
		return false;
	}
	return true;
}

static bool
check_lease(int64_t lease, EtcdError *err)
{
	if (lease < 0 && lease != ETCD_KEEP_LEASE)
	{
		config_error(err, "invalid lease %" PRId64, lease);
		return false;
	}
	return true;
}

static EtcdStatus
run_built(EtcdClient *c, const char *path, char *body, bool is_write,
		  ParseFn parse, void *out, EtcdError *err)
{
	Call		call;
	EtcdStatus	st;

	if (body == NULL)
		return etcd_error_set(err, ETCD_ERR_NOMEM, "out of memory");
	call.path = path;
	call.body = body;
	call.is_write = is_write;
	call.parse = parse;
	call.out = out;
	st = run_call(c, &call, err);
	free(body);
	return st;
}


/* ---------------------------------------------------------------------
 * Parse adapters: the uniform ParseFn shape over etcd_proto.c
 * ---------------------------------------------------------------------
 */

static EtcdStatus
parse_grant(const char *body, size_t len, void *out, EtcdError *err)
{
	LeaseOut   *l = out;

	return etcd_parse_lease_grant(body, len, &l->id, &l->ttl, err);
}

static EtcdStatus
parse_keepalive(const char *body, size_t len, void *out, EtcdError *err)
{
	LeaseOut   *l = out;

	return etcd_parse_lease_keepalive(body, len, l->id, &l->ttl, err);
}

static EtcdStatus
parse_revoke(const char *body, size_t len, void *out, EtcdError *err)
{
	(void) out;
	return etcd_parse_lease_revoke(body, len, err);
}

static EtcdStatus
parse_range(const char *body, size_t len, void *out, EtcdError *err)
{
	return etcd_parse_range(body, len, out, err);
}

static EtcdStatus
parse_put(const char *body, size_t len, void *out, EtcdError *err)
{
	return etcd_parse_put(body, len, out, err);
}

static EtcdStatus
parse_delete(const char *body, size_t len, void *out, EtcdError *err)
{
	return etcd_parse_delete(body, len, out, err);
}

static EtcdStatus
parse_txn(const char *body, size_t len, void *out, EtcdError *err)
{
	return etcd_parse_txn(body, len, out, err);
}


/* ---------------------------------------------------------------------
 * Client life cycle
 * ---------------------------------------------------------------------
 */

/* copy one trimmed endpoint, checking it is scheme://host[:port] */
static bool
add_endpoint(EtcdClient *c, const char *s, size_t len, bool *tls,
			 EtcdError *err)
{
	size_t		skip;
	size_t		i;

	if (len >= 7 && strncasecmp(s, "http://", 7) == 0)
		skip = 7;
	else if (len >= 8 && strncasecmp(s, "https://", 8) == 0)
	{
		skip = 8;
		*tls = true;
	}
	else
	{
		config_error(err, "etcd endpoint \"%.*s\" must start with http:// or https://",
					 (int) (len > 100 ? 100 : len), s);
		return false;
	}
	while (len > skip && s[len - 1] == '/')
		len--;
	if (len == skip)
	{
		config_error(err, "etcd endpoint \"%.*s\" has no host", (int) len, s);
		return false;
	}
	for (i = skip; i < len; i++)
	{
		unsigned char ch = (unsigned char) s[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '/' || ch == '?' || ch == '#' ||
			ch == '@')
		{
			config_error(err, "etcd endpoint \"%.*s\" must be scheme://host:port without path or user",
						 (int) (len > 100 ? 100 : len), s);
			return false;
		}
	}
	if (len >= ETCD_ENDPOINT_LEN)
	{
		config_error(err, "etcd endpoint \"%.40s...\" is too long", s);
		return false;
	}
	if (c->nendpoints >= ETCD_MAX_ENDPOINTS)
	{
		config_error(err, "too many etcd endpoints (at most %d)",
					 ETCD_MAX_ENDPOINTS);
		return false;
	}
	memcpy(c->endpoints[c->nendpoints], s, len);
	c->endpoints[c->nendpoints][len] = '\0';
	c->nendpoints++;
	return true;
}

static bool
parse_endpoints(EtcdClient *c, const char *list, bool *tls, EtcdError *err)
{
	const char *p = list;

	while (*p != '\0')
	{
		const char *end = strchr(p, ',');
		size_t		len = end ? (size_t) (end - p) : strlen(p);

		while (len > 0 && (*p == ' ' || *p == '\t'))
		{
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len > 0 && !add_endpoint(c, p, len, tls, err))
			return false;
		if (end == NULL)
			break;
		p = end + 1;
	}
	if (c->nendpoints == 0)
	{
		config_error(err, "no etcd endpoints configured");
		return false;
	}
	return true;
}

/* strdup of an optional setting; "" counts as unset */
static bool
copy_setting(char **dst, const char *src, EtcdError *err)
{
	*dst = NULL;
	if (src == NULL || src[0] == '\0')
		return true;
	if ((*dst = strdup(src)) == NULL)
	{
		etcd_error_set(err, ETCD_ERR_NOMEM, "out of memory");
		return false;
	}
	return true;
}

static bool
check_readable(const char *path, const char *what, EtcdError *err)
{
	FILE	   *f;

	if (path == NULL)
		return true;
	if ((f = fopen(path, "r")) == NULL)
	{
		config_error(err, "cannot read etcd %s file \"%s\": %s",
					 what, path, strerror(errno));
		return false;
	}
	fclose(f);
	return true;
}

static bool
setup_client(EtcdClient *c, const EtcdClientConfig *cfg, EtcdError *err)
{
	bool		tls = false;
	char	   *probe;

	if (!parse_endpoints(c, cfg->endpoints, &tls, err))
		return false;
	if (!copy_setting(&c->cacert, cfg->cacert, err) ||
		!copy_setting(&c->cert, cfg->cert, err) ||
		!copy_setting(&c->key, cfg->key, err) ||
		!copy_setting(&c->username, cfg->username, err) ||
		!copy_setting(&c->password, cfg->password, err))
		return false;
	if (!check_readable(c->cacert, "CA certificate", err) ||
		!check_readable(c->cert, "client certificate", err) ||
		!check_readable(c->key, "client key", err))
		return false;
	if (c->key != NULL && c->cert == NULL)
	{
		config_error(err, "an etcd client key needs a client certificate");
		return false;
	}
	if (c->username != NULL)
	{
		if (c->password == NULL && (c->password = strdup("")) == NULL)
		{
			etcd_error_set(err, ETCD_ERR_NOMEM, "out of memory");
			return false;
		}
		/* JSON needs UTF-8: find out now rather than at every request */
		probe = etcd_build_authenticate(c->username, c->password);
		if (probe == NULL)
		{
			config_error(err, "etcd user name or password is not valid UTF-8");
			return false;
		}
		free(probe);
	}
	c->connect_timeout_ms = cfg->connect_timeout_ms > 0 ?
		cfg->connect_timeout_ms : 1000;
	c->request_timeout_ms = cfg->request_timeout_ms > 0 ?
		cfg->request_timeout_ms : 2000;

	if (!etcd_global_init(err))
		return false;
	if (tls && !(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_SSL))
	{
		config_error(err, "https etcd endpoints need a libcurl with TLS support");
		return false;
	}
	if ((c->curl = curl_easy_init()) == NULL)
	{
		etcd_error_set(err, ETCD_ERR_NOMEM, "could not create a libcurl handle");
		return false;
	}
	return true;
}

bool
etcd_global_init(EtcdError *err)
{
	if (curl_ready)
		return true;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
	{
		etcd_error_set(err, ETCD_ERR_CONFIG, "could not initialize libcurl");
		return false;
	}
	curl_ready = true;
	return true;
}

EtcdClient *
etcd_client_new(const EtcdClientConfig *cfg, EtcdError *err)
{
	EtcdError	local;
	EtcdClient *c;

	err = err ? err : &local;
	etcd_error_clear(err);
	if (cfg == NULL || cfg->endpoints == NULL)
	{
		config_error(err, "no etcd endpoints configured");
		return NULL;
	}
	if ((c = calloc(1, sizeof(EtcdClient))) == NULL)
	{
		etcd_error_set(err, ETCD_ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (!setup_client(c, cfg, err))
	{
		etcd_client_free(c);
		return NULL;
	}
	return c;
}

static void
free_secret(char *s)
{
	if (s != NULL)
	{
		memset(s, 0, strlen(s));
		free(s);
	}
}

void
etcd_client_free(EtcdClient *c)
{
	if (c == NULL)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->cacert);
	free(c->cert);
	free(c->key);
	free(c->username);
	free_secret(c->password);
	free_secret(c->token);
	free(c);
}

void
etcd_client_set_deadline(EtcdClient *c, int64_t deadline_ms)
{
	if (c != NULL)
		c->deadline_ms = deadline_ms > 0 ? deadline_ms : 0;
}

const char *
etcd_client_current_endpoint(EtcdClient *c)
{
	if (c == NULL || c->nendpoints == 0)
		return "";
	return c->endpoints[c->current];
}


/* ---------------------------------------------------------------------
 * Leases
 * ---------------------------------------------------------------------
 */

EtcdStatus
etcd_lease_grant(EtcdClient *c, int ttl, int64_t *lease_id, int *granted_ttl,
				 EtcdError *err)
{
	EtcdError	local;
	LeaseOut	out = {0, 0};
	EtcdStatus	st;

	err = err ? err : &local;
	*lease_id = 0;
	*granted_ttl = 0;
	if (!check_client(c, err))
		return err->status;
	if (ttl <= 0)
		return config_error(err, "lease TTL must be positive, not %d", ttl);
	/* a retry after a lost answer may grant a second lease: it just expires */
	st = run_built(c, "/v3/lease/grant", etcd_build_lease_grant(ttl), true,
				   parse_grant, &out, err);
	if (st == ETCD_OK)
	{
		*lease_id = out.id;
		*granted_ttl = out.ttl;
	}
	return st;
}

EtcdStatus
etcd_lease_keepalive(EtcdClient *c, int64_t lease_id, int *ttl_left,
					 EtcdError *err)
{
	EtcdError	local;
	LeaseOut	out;
	EtcdStatus	st;

	err = err ? err : &local;
	*ttl_left = 0;
	if (!check_client(c, err))
		return err->status;
	if (lease_id <= 0)
		return config_error(err, "invalid lease %" PRId64, lease_id);
	out.id = lease_id;
	out.ttl = 0;
	st = run_built(c, "/v3/lease/keepalive", etcd_build_lease_id(lease_id),
				   false, parse_keepalive, &out, err);
	if (st == ETCD_OK)
		*ttl_left = out.ttl;
	return st;
}

EtcdStatus
etcd_lease_revoke(EtcdClient *c, int64_t lease_id, EtcdError *err)
{
	EtcdError	local;

	err = err ? err : &local;
	if (!check_client(c, err))
		return err->status;
	if (lease_id <= 0)
		return config_error(err, "invalid lease %" PRId64, lease_id);
	return run_built(c, "/v3/lease/revoke", etcd_build_lease_id(lease_id),
					 true, parse_revoke, NULL, err);
}


/* ---------------------------------------------------------------------
 * Key-value operations
 * ---------------------------------------------------------------------
 */

static EtcdStatus
get_common(EtcdClient *c, const char *key, bool prefix, EtcdKVList *out,
		   EtcdError *err)
{
	EtcdError	local;

	err = err ? err : &local;
	memset(out, 0, sizeof(*out));
	if (!check_client(c, err) ||
		!check_key(key, prefix ? "prefix" : "key", err))
		return err->status;
	return run_built(c, "/v3/kv/range", etcd_build_range(key, prefix), false,
					 parse_range, out, err);
}

EtcdStatus
etcd_get(EtcdClient *c, const char *key, EtcdKVList *out, EtcdError *err)
{
	return get_common(c, key, false, out, err);
}

EtcdStatus
etcd_get_prefix(EtcdClient *c, const char *prefix, EtcdKVList *out,
				EtcdError *err)
{
	return get_common(c, prefix, true, out, err);
}

EtcdStatus
etcd_put(EtcdClient *c, const char *key, const char *value, int64_t lease,
		 EtcdError *err)
{
	EtcdError	local;
	int64_t		revision;

	err = err ? err : &local;
	if (!check_client(c, err) || !check_key(key, "key", err) ||
		!check_lease(lease, err))
		return err->status;
	if (value == NULL)
		return config_error(err, "value must not be NULL");
	return run_built(c, "/v3/kv/put", etcd_build_put(key, value, lease), true,
					 parse_put, &revision, err);
}

EtcdStatus
etcd_delete(EtcdClient *c, const char *key, EtcdError *err)
{
	EtcdError	local;
	int64_t		deleted;

	err = err ? err : &local;
	if (!check_client(c, err) || !check_key(key, "key", err))
		return err->status;
	return run_built(c, "/v3/kv/deleterange", etcd_build_delete(key, false),
					 true, parse_delete, &deleted, err);
}

EtcdStatus
etcd_delete_prefix(EtcdClient *c, const char *prefix, int64_t *deleted,
				   EtcdError *err)
{
	EtcdError	local;
	int64_t		n = 0;
	EtcdStatus	st;

	err = err ? err : &local;
	if (deleted)
		*deleted = 0;
	if (!check_client(c, err) || !check_key(prefix, "prefix", err))
		return err->status;
	st = run_built(c, "/v3/kv/deleterange", etcd_build_delete(prefix, true),
				   true, parse_delete, &n, err);
	if (st == ETCD_OK && deleted)
		*deleted = n;
	return st;
}

static EtcdStatus txn_guarded(EtcdClient *c, EtcdTxnKind kind, const char *key,
							  const char *expected, int64_t expected_lease,
							  int64_t mod_revision, const char *value,
							  int64_t lease, const EtcdPutOp *puts, int nputs,
							  EtcdTxnResult *res, EtcdError *err);

static EtcdStatus
txn_common(EtcdClient *c, EtcdTxnKind kind, const char *key,
		   const char *expected, int64_t mod_revision, const char *value,
		   int64_t lease, EtcdTxnResult *res, EtcdError *err)
{
	return txn_guarded(c, kind, key, expected, -1, mod_revision, value, lease,
					   NULL, 0, res, err);
}

/* expected_lease >= 0: the txn also compares the key's lease to it */
static EtcdStatus
txn_guarded(EtcdClient *c, EtcdTxnKind kind, const char *key,
			const char *expected, int64_t expected_lease,
			int64_t mod_revision, const char *value, int64_t lease,
			const EtcdPutOp *puts, int nputs,
			EtcdTxnResult *res, EtcdError *err)
{
	EtcdError	local;

	err = err ? err : &local;
	memset(res, 0, sizeof(*res));
	if (!check_client(c, err) || !check_key(key, "key", err) ||
		!check_lease(lease, err))
		return err->status;
	if (kind != ETCD_TXN_CAD_VALUE && value == NULL)
		return config_error(err, "value must not be NULL");
	if ((kind == ETCD_TXN_CAS_VALUE || kind == ETCD_TXN_CAD_VALUE) &&
		expected == NULL)
		return config_error(err, "expected value must not be NULL");
	if (kind == ETCD_TXN_CAS_MOD && mod_revision < 0)
		return config_error(err, "invalid mod_revision %" PRId64, mod_revision);
	/* etcd rejects ignore_lease on a missing key, which create requires */
	if (kind == ETCD_TXN_CREATE && lease == ETCD_KEEP_LEASE)
		return config_error(err, "a key being created has no lease to keep");
	for (int i = 0; i < nputs; i++)
		if (!check_key(puts[i].key, "key", err))
			return err->status;
		else if (puts[i].value == NULL)
			return config_error(err, "value must not be NULL");
	return run_built(c, "/v3/kv/txn",
					 etcd_build_txn_lease_puts(kind, key, expected,
											   expected_lease, mod_revision,
											   value, lease, puts, nputs),
					 true, parse_txn, res, err);
}

EtcdStatus
etcd_create(EtcdClient *c, const char *key, const char *value, int64_t lease,
			EtcdTxnResult *res, EtcdError *err)
{
	return txn_common(c, ETCD_TXN_CREATE, key, NULL, 0, value, lease, res,
					  err);
}

EtcdStatus
etcd_cas_value(EtcdClient *c, const char *key, const char *expected,
			   const char *value, int64_t lease, EtcdTxnResult *res,
			   EtcdError *err)
{
	return txn_common(c, ETCD_TXN_CAS_VALUE, key, expected, 0, value, lease,
					  res, err);
}

EtcdStatus
etcd_cas_mod(EtcdClient *c, const char *key, int64_t mod_revision,
			 const char *value, int64_t lease, EtcdTxnResult *res,
			 EtcdError *err)
{
	return txn_common(c, ETCD_TXN_CAS_MOD, key, NULL, mod_revision, value,
					  lease, res, err);
}

EtcdStatus
etcd_cad_value(EtcdClient *c, const char *key, const char *expected,
			   EtcdTxnResult *res, EtcdError *err)
{
	return txn_common(c, ETCD_TXN_CAD_VALUE, key, expected, 0, NULL, 0, res,
					  err);
}

EtcdStatus
etcd_cas_value_lease(EtcdClient *c, const char *key, const char *expected,
					 int64_t expected_lease, const char *value, int64_t lease,
					 EtcdTxnResult *res, EtcdError *err)
{
	if (expected_lease < 0)
		expected_lease = 0;
	return txn_guarded(c, ETCD_TXN_CAS_VALUE, key, expected, expected_lease, 0,
					   value, lease, NULL, 0, res, err);
}

EtcdStatus
etcd_cad_value_lease_puts(EtcdClient *c, const char *key, const char *expected,
						  int64_t expected_lease, const EtcdPutOp *puts,
						  int nputs, EtcdTxnResult *res, EtcdError *err)
{
	if (expected_lease < 0)
		expected_lease = 0;
	return txn_guarded(c, ETCD_TXN_CAD_VALUE, key, expected, expected_lease, 0,
					   NULL, 0, puts, nputs, res, err);
}

/* ---------------------------------------------------------------------
 * Watch
 * ---------------------------------------------------------------------
 */

static EtcdStatus
watch_end(EtcdWatch *w, EtcdError *err)
{
	w->ended = true;
	w->end = *err;
	return err->status;
}

/* the transfer is over: why? */
static EtcdStatus
watch_transfer_done(EtcdWatch *w, EtcdError *err)
{
	CURLMsg    *msg;
	int			left;
	bool		maybe;

	while ((msg = curl_multi_info_read(w->multi, &left)) != NULL)
	{
		if (msg->msg == CURLMSG_DONE && msg->data.result != CURLE_OK)
		{
			curl_failure(w->easy, msg->data.result, w->errbuf, &w->buf, 0,
						 w->endpoint, &maybe, err);
			return etcd_error_set(err, err->status, "%s (watch ended)",
								  err->message);
		}
	}
	return fail(err, w->endpoint, ETCD_ERR_UNAVAILABLE,
				"watch stream closed by etcd");
}

/*
 * Run libcurl once (never blocks) and parse the complete lines received,
 * appending their events.
 */
static EtcdStatus
watch_step(EtcdWatch *w, EtcdWatchEvent **events, int *nevents,
		   EtcdError *err)
{
	int			running = 0;
	long		http_code = 0;
	size_t		pos = 0;
	CURLMcode	mc;
	EtcdStatus	st = ETCD_OK;

	etcd_error_clear(err);
	snprintf(err->endpoint, sizeof(err->endpoint), "%s", w->endpoint);
	mc = curl_multi_perform(w->multi, &running);
	if (mc != CURLM_OK)
		return fail(err, w->endpoint,
					mc == CURLM_OUT_OF_MEMORY ? ETCD_ERR_NOMEM : ETCD_ERR_UNAVAILABLE,
					"watch: %s", curl_multi_strerror(mc));
	curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &http_code);
	if (http_code != 0 && http_code != 200)
	{
		/* an error answer instead of a stream: parse it once complete */
		if (running)
			return ETCD_OK;
		etcd_parse_error((int) http_code, w->buf.data, w->buf.len, err);
		return at_endpoint(err, w->endpoint);
	}
	while (pos < w->buf.len)
	{
		char	   *line = w->buf.data + pos;
		char	   *nl = memchr(line, '\n', w->buf.len - pos);
		bool		created = false;

		if (nl == NULL)
			break;
		pos += (size_t) (nl - line) + 1;
		if (nl == line || (nl == line + 1 && line[0] == '\r'))
			continue;
		st = etcd_parse_watch_line(line, (size_t) (nl - line), &created,
								   events, nevents, err);
		if (st != ETCD_OK)
		{
			at_endpoint(err, w->endpoint);
			break;
		}
		if (created)
			w->created = true;
	}
	/* keep only the unparsed tail */
	if (pos > 0)
	{
		memmove(w->buf.data, w->buf.data + pos, w->buf.len - pos);
		w->buf.len -= pos;
		w->buf.data[w->buf.len] = '\0';
	}
	if (st != ETCD_OK)
		return st;
	if (!running)
		return watch_transfer_done(w, err);
	return ETCD_OK;
}

void
etcd_watch_free(EtcdWatch *w)
{
	if (w == NULL)
		return;
	/* the close-socket callback still needs w while connections close */
	if (w->added)
		curl_multi_remove_handle(w->multi, w->easy);
	if (w->easy)
		curl_easy_cleanup(w->easy);
	if (w->multi)
		curl_multi_cleanup(w->multi);
	curl_slist_free_all(w->headers);
	buffer_free(&w->buf);
	etcd_watch_events_free(w->pending, w->npending);
	free(w);
}

/* set up the streaming request to endpoint idx (nothing is sent yet) */
static EtcdStatus
watch_open(EtcdClient *c, int idx, const char *body, int budget_ms,
		   EtcdWatch **out, EtcdError *err)
{
	const char *ep = c->endpoints[idx];
	char		url[ETCD_ENDPOINT_LEN + 32];
	EtcdWatch  *w;
	CURLcode	rc;
	int			connect_ms = c->connect_timeout_ms < budget_ms ?
		c->connect_timeout_ms : budget_ms;

	*out = NULL;
	if ((w = calloc(1, sizeof(EtcdWatch))) == NULL)
		return fail(err, ep, ETCD_ERR_NOMEM, "out of memory");
	snprintf(w->endpoint, sizeof(w->endpoint), "%s", ep);
	snprintf(url, sizeof(url), "%s/v3/watch", ep);
	w->headers = make_headers(c->token);
	w->easy = curl_easy_init();
	w->multi = curl_multi_init();
	if (w->headers == NULL || w->easy == NULL || w->multi == NULL)
	{
		etcd_watch_free(w);
		return fail(err, ep, ETCD_ERR_NOMEM, "out of memory");
	}
	rc = set_common_options(w->easy, c, url, w->headers, w->errbuf,
							connect_ms, w);
	SETOPT(w->easy, CURLOPT_CLOSESOCKETFUNCTION, close_socket_cb);
	SETOPT(w->easy, CURLOPT_CLOSESOCKETDATA, w);
	SETOPT(w->easy, CURLOPT_COPYPOSTFIELDS, body);
	SETOPT(w->easy, CURLOPT_WRITEFUNCTION, buffer_write);
	SETOPT(w->easy, CURLOPT_WRITEDATA, &w->buf);

	/*
	 * No total timeout: the stream lives as long as the watch.  No low-speed
	 * limit either, since an idle prefix legitimately sends nothing for
	 * minutes (etcd's progress notifications come every 10 min).  TCP
	 * keepalive finds a vanished peer; a member that loses quorum ends the
	 * stream itself because of Grpc-Metadata-Hasleader.
	 */
	SETOPT(w->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(w->easy, CURLOPT_TCP_KEEPIDLE, 10L);
	SETOPT(w->easy, CURLOPT_TCP_KEEPINTVL, 5L);
	if (rc != CURLE_OK)
	{
		etcd_watch_free(w);
		return fail(err, ep, rc == CURLE_OUT_OF_MEMORY ? ETCD_ERR_NOMEM : ETCD_ERR_CONFIG,
					"watch: %s", curl_easy_strerror(rc));
	}
	if (curl_multi_add_handle(w->multi, w->easy) != CURLM_OK)
	{
		etcd_watch_free(w);
		return fail(err, ep, ETCD_ERR_NOMEM, "watch: could not start the transfer");
	}
	w->added = true;
	*out = w;
	return ETCD_OK;
}

/*
 * Drive the new watch until etcd confirms it, within budget_ms.  Lines that
 * arrived together with the confirmation are parsed now (their socket
 * readiness is gone): their events wait in w->pending, an error there ends
 * the watch for the first etcd_watch_poll() to report.
 */
static EtcdStatus
watch_wait_created(EtcdWatch *w, int budget_ms, EtcdError *err)
{
	int64_t		end = etcd_now_ms() + budget_ms;
	EtcdStatus	st;

	for (;;)
	{
		int64_t		left;

		st = watch_step(w, &w->pending, &w->npending, err);
		if (w->created)
		{
			if (st != ETCD_OK)
				watch_end(w, err);
			return ETCD_OK;
		}
		if (st != ETCD_OK)
			return st;
		left = end - etcd_now_ms();
		if (left <= 0)
			return fail(err, w->endpoint, ETCD_ERR_TIMEOUT,
						"watch not confirmed within %d ms", budget_ms);
		curl_multi_wait(w->multi, NULL, 0, left < 100 ? (int) left : 100, NULL);
	}
}

EtcdWatch *
etcd_watch_start(EtcdClient *c, const char *prefix, int64_t start_revision,
				 EtcdError *err)
{
	EtcdError	local;
	EtcdWatch  *w = NULL;
	char	   *body;
	int			tried = 0;
	int			i;

	err = err ? err : &local;
	if (!check_client(c, err) || !check_key(prefix, "prefix", err))
		return NULL;
	if (start_revision < 0)
	{
		config_error(err, "invalid start revision %" PRId64, start_revision);
		return NULL;
	}
	if ((body = etcd_build_watch_create(prefix, start_revision)) == NULL)
	{
		etcd_error_set(err, ETCD_ERR_NOMEM, "out of memory");
		return NULL;
	}
	for (i = 0; i < c->nendpoints; i++)
	{
		int			idx = (c->current + i) % c->nendpoints;
		bool		reauthenticated = false;
		EtcdStatus	st = ETCD_ERR_UNAVAILABLE;

		if (i > 0 && deadline_passed(c))
			break;
		tried++;
		for (;;)
		{
			int			budget = attempt_budget_ms(c);

			if (need_token(c) && (st = authenticate(c, idx, err)) != ETCD_OK)
				break;
			if (budget <= 0)
			{
				st = fail(err, c->endpoints[idx], ETCD_ERR_TIMEOUT,
						  "deadline passed before the watch was started");
				break;
			}
			st = watch_open(c, idx, body, budget, &w, err);
			if (st == ETCD_OK)
				st = watch_wait_created(w, budget, err);
			if (st == ETCD_OK)
				break;
			etcd_watch_free(w);
			w = NULL;
			if (st != ETCD_ERR_AUTH || c->username == NULL || reauthenticated)
				break;
			reauthenticated = true;
			drop_token(c);
		}
		if (st == ETCD_OK)
		{
			c->current = idx;
			etcd_error_clear(err);
			snprintf(err->endpoint, sizeof(err->endpoint), "%s", w->endpoint);
			break;
		}
		if (!try_next_endpoint(st))
			break;
	}
	if (w == NULL)
		note_tried(err, tried);
	free(body);
	return w;
}

int
etcd_watch_socket(EtcdWatch *w)
{
	if (w == NULL || w->ended || w->nsocks == 0)
		return -1;
	return (int) w->socks[w->nsocks - 1];
}

EtcdStatus
etcd_watch_poll(EtcdWatch *w, EtcdWatchEvent **events, int *nevents,
				EtcdError *err)
{
	EtcdError	local;
	EtcdWatchEvent *got = NULL;
	int			ngot = 0;
	EtcdWatchEvent *grown;
	EtcdStatus	st;

	err = err ? err : &local;
	etcd_error_clear(err);
	if (w == NULL || events == NULL || nevents == NULL)
		return config_error(err, "etcd_watch_poll needs a watch and an event array");
	if (w->ended)
	{
		etcd_watch_events_free(w->pending, w->npending);
		w->pending = NULL;
		w->npending = 0;
		*err = w->end;
		return err->status;
	}
	got = w->pending;
	ngot = w->npending;
	w->pending = NULL;
	w->npending = 0;
	st = watch_step(w, &got, &ngot, err);
	if (st != ETCD_OK)
	{
		/* the caller re-reads the prefix anyway: drop this batch */
		etcd_watch_events_free(got, ngot);
		return watch_end(w, err);
	}
	if (ngot == 0)
		return ETCD_OK;
	grown = realloc(*events, (size_t) (*nevents + ngot) * sizeof(EtcdWatchEvent));
	if (grown == NULL)
	{
		etcd_watch_events_free(got, ngot);
		fail(err, w->endpoint, ETCD_ERR_NOMEM, "out of memory");
		return watch_end(w, err);
	}
	memcpy(grown + *nevents, got, (size_t) ngot * sizeof(EtcdWatchEvent));
	free(got);
	*events = grown;
	*nevents += ngot;
	return ETCD_OK;
}
