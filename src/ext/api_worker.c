/*-------------------------------------------------------------------------
 *
 * api_worker.c
 *	  The "pgha api" background worker: Patroni's REST api on
 *	  pgha.api_listen, served by libmicrohttpd from this worker's own latch
 *	  loop.
 *
 * A second worker, not the keeper, so that a slow or hostile client can
 * never delay the keeper's loop.  libmicrohttpd runs in external epoll
 * mode without threads of its own: its epoll descriptor sits in the
 * worker's WaitEventSet next to the latch and postmaster death, and
 * MHD_run() is called when it is readable or its timeout passed.  Limits:
 * connection memory (headers), connections in all and per client address,
 * an idle timeout, a deadline for a request's headers (slow clients) and
 * the body size (api.h).  Unsafe methods
 * need basic authentication when pgha.api_username is set, and with TLS a
 * client certificate as pgha.api_verify_client says.
 *
 * libmicrohttpd's callbacks run inside MHD_run(): nothing in them may
 * throw past it (api_handlers.c catches every error), and its panic
 * handler exits the worker instead of abort()ing, which would make the
 * postmaster restart every backend.
 *
 *-------------------------------------------------------------------------
 */
#include "api.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/memutils.h"

static struct MHD_Daemon *daemon_ = NULL;

/*
 * Every connection, to cut off slow clients: libmicrohttpd's timeout is an
 * idle timeout, which a client sending a byte a second never reaches
 * (slowloris).  A request's headers (and a TLS handshake) must be complete
 * within API_HEADER_TIMEOUT_MS of the connection or of the previous answer;
 * past that the loop shuts the socket down and libmicrohttpd closes it.
 */
typedef struct ApiSock
{
	struct ApiSock *next;
	int			fd;
	int64		since_ms;		/* connected, or the last request ended */
	bool		in_request;		/* headers complete, not answered yet */
	bool		cut;
} ApiSock;

static ApiSock *socks = NULL;
static MemoryContext request_cxt = NULL;
static bool use_tls = false;

void
pgha_register_api(void)
{
	if (pgha_api_listen == NULL || pgha_api_listen[0] == '\0')
		return;
	pgha_register_worker("pgha_api_main", "pgha api", 5);
}

void
pgha_api_url(char *buf, size_t len)
{
	const char *addr = pgha_api_connect_address[0] ? pgha_api_connect_address
		: pgha_api_listen;

	if (addr == NULL || addr[0] == '\0')
	{
		buf[0] = '\0';
		return;
	}
	snprintf(buf, len, "%s://%s/patroni",
			 pgha_api_certfile[0] ? "https" : "http", addr);
}

/* libmicrohttpd's messages: rate-limited, a hostile client must not flood the log */
static void
api_log(void *cls, const char *fmt, va_list ap)
{
	static TimestampTz last = 0;
	static int	suppressed = 0;
	char		msg[512];
	TimestampTz now = GetCurrentTimestamp();
	size_t		n;

	if (last != 0 && !TimestampDifferenceExceeds(last, now, 10000))
	{
		suppressed++;
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	ereport(LOG,
			(errmsg("pgha api: %s", msg),
			 suppressed > 0 ? errdetail("%d more messages of the HTTP server were suppressed in the last 10 s.",
										suppressed) : 0));
	last = now;
	suppressed = 0;
}

static void
api_panic(void *cls, const char *file, unsigned int line, const char *reason)
{
	ereport(LOG,
			(errmsg("pgha api: the HTTP server failed at %s:%u: %s; the api worker exits and restarts",
					file ? file : "?", line, reason ? reason : "unknown")));
	proc_exit(1);
}

/* constant-time comparison, so that a wrong password's length or prefix does not show */
static bool
same_secret(const char *a, const char *b)
{
	size_t		la = strlen(a);
	size_t		lb = strlen(b);
	unsigned char diff = (la != lb);

	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char) a[i] ^ (unsigned char) b[i % (lb ? lb : 1)];
	return diff == 0;
}

/* the client certificate, verified against pgha.api_cafile */
static bool
client_cert_ok(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;
	unsigned int status = 0;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL)
		return false;
	if (gnutls_certificate_type_get((gnutls_session_t) ci->tls_session) != GNUTLS_CRT_X509)
		return false;
	if (gnutls_certificate_verify_peers2((gnutls_session_t) ci->tls_session, &status) != 0)
		return false;
	return status == 0;
}

static enum MHD_Result
queue(struct MHD_Connection *conn, const ApiAnswer *ans, bool auth_fail)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t		len = ans->status_only ? 0 : ans->len;

	resp = MHD_create_response_from_buffer(len, len ? ans->body : (void *) "",
										   MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	if (ans->content_type && !ans->status_only)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ans->content_type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_SERVER, "pgha/" PGHA_VERSION_STRING);
	if (auth_fail)
		ret = MHD_queue_basic_auth_fail_response(conn, "pgha", resp);
	else
		ret = MHD_queue_response(conn, (unsigned int) ans->code, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void
text_answer(ApiAnswer *ans, int code, const char *text)
{
	ans->code = code;
	ans->content_type = "text/html";
	ans->body = (char *) text;
	ans->len = strlen(text);
}

/* basic authentication and client certificates of Patroni's check_access() */
static bool
check_access(struct MHD_Connection *conn, ApiConn *ac, ApiAnswer *ans,
			 bool *auth_fail)
{
	*auth_fail = false;
	if (use_tls && pgha_api_verify_client == PGHA_API_VERIFY_OPTIONAL &&
		pgha_api_method_is_unsafe(ac->method) && !client_cert_ok(conn))
	{
		text_answer(ans, 403, "client certificate required");
		return false;
	}
	if (pgha_api_method_is_unsafe(ac->method) && pgha_api_username[0] != '\0')
	{
		char	   *pass = NULL;
		char	   *user = MHD_basic_auth_get_username_password(conn, &pass);
		bool		ok = user != NULL && pass != NULL &&
			same_secret(user, pgha_api_username) &&
			same_secret(pass, pgha_api_password);

		if (user)
			MHD_free(user);
		if (pass)
			MHD_free(pass);
		if (!ok)
		{
			text_answer(ans, 401, user ? "not authenticated" : "no auth header received");
			*auth_fail = true;
			return false;
		}
	}
	return true;
}

static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
	{
		const union MHD_ConnectionInfo *ci;
		ApiSock    *s = calloc(1, sizeof(ApiSock));

		if (s == NULL)
			return;
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		s->fd = ci ? ci->connect_fd : -1;
		s->since_ms = etcd_now_ms();
		s->next = socks;
		socks = s;
		*socket_context = s;
	}
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context != NULL)
	{
		ApiSock    *s = *socket_context;

		for (ApiSock **pp = &socks; *pp; pp = &(*pp)->next)
			if (*pp == s)
			{
				*pp = s->next;
				break;
			}
		free(s);
		*socket_context = NULL;
	}
}

static ApiSock *
sock_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? (ApiSock *) ci->socket_context : NULL;
}

/* shut down the sockets of clients too slow to send their request */
static void
cut_slow_clients(void)
{
	int64		now = etcd_now_ms();

	for (ApiSock *s = socks; s; s = s->next)
		if (!s->in_request && !s->cut && s->fd >= 0 &&
			now - s->since_ms > API_HEADER_TIMEOUT_MS)
		{
			(void) shutdown(s->fd, SHUT_RDWR);
			s->cut = true;
		}
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
		   const char *method, const char *version, const char *upload_data,
		   size_t *upload_data_size, void **con_cls)
{
	ApiConn    *ac = *con_cls;
	ApiAnswer	ans;
	bool		auth_fail = false;
	enum MHD_Result ret;

	if (ac == NULL)
	{
		const char *clen;

		/* Patroni's verify_client: required -> no answer without a certificate */
		if (use_tls && pgha_api_verify_client == PGHA_API_VERIFY_REQUIRED &&
			!client_cert_ok(conn))
			return MHD_NO;
		ac = calloc(1, sizeof(ApiConn));
		if (ac == NULL)
			return MHD_NO;
		*con_cls = ac;
		{
			ApiSock    *s = sock_of(conn);

			if (s != NULL)
				s->in_request = true;
		}
		ac->method = pgha_api_method(method);
		ac->ep = pgha_api_endpoint(url);
		clen = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
										   MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (clen != NULL && strtoull(clen, NULL, 10) > API_MAX_BODY)
		{
			ac->refused = true;
			memset(&ans, 0, sizeof(ans));
			text_answer(&ans, 413, "request body too large");
			return queue(conn, &ans, false);
		}
		return MHD_YES;
	}
	if (ac->refused)
	{
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0)
	{
		size_t		n = *upload_data_size;

		*upload_data_size = 0;
		if (ac->too_large || ac->len + n > API_MAX_BODY)
		{
			/* chunked uploads have no Content-Length: count as they come */
			ac->too_large = true;
			return MHD_YES;
		}
		{
			char	   *b = realloc(ac->body, ac->len + n + 1);

			if (b == NULL)
				return MHD_NO;
			ac->body = b;
		}
		memcpy(ac->body + ac->len, upload_data, n);
		ac->len += n;
		ac->body[ac->len] = '\0';
		return MHD_YES;
	}

	/* the whole request is in (or resumed after a wait) */
	memset(&ans, 0, sizeof(ans));
	if (ac->pending != NULL)
	{
		if (!api_ops_answer(ac, &ans))
			return MHD_YES;		/* spurious wakeup: still waiting */
	}
	else if (ac->too_large)
		text_answer(&ans, 413, "request body too large");
	else if (check_access(conn, ac, &ans, &auth_fail))
	{
		MemoryContext old = MemoryContextSwitchTo(request_cxt);

		api_dispatch(conn, ac, url, &ans);
		MemoryContextSwitchTo(old);
		if (ac->pending != NULL)
			return MHD_YES;		/* suspended until the keeper answers */
	}
	api_requests_served++;
	ret = queue(conn, &ans, auth_fail);
	MemoryContextReset(request_cxt);
	return ret;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	ApiConn    *ac = *con_cls;
	ApiSock    *s = sock_of(conn);

	if (s != NULL)
	{
		/* keep-alive: the next request's headers have the same time */
		s->in_request = false;
		s->since_ms = etcd_now_ms();
	}
	if (ac == NULL)
		return;
	api_ops_forget(ac);
	free(ac->body);
	free(ac);
	*con_cls = NULL;
}

/* a whole PEM file in palloc'd memory; NULL with a LOG message */
static char *
read_pem(const char *guc, const char *path)
{
	FILE	   *f = fopen(path, "r");
	char	   *buf;
	size_t		n;

	if (f == NULL)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("pgha api: could not open %s \"%s\": %m", guc, path)));
		return NULL;
	}
	buf = palloc(1024 * 1024 + 1);
	n = fread(buf, 1, 1024 * 1024, f);
	fclose(f);
	buf[n] = '\0';
	if (n == 0 || n >= 1024 * 1024)
	{
		ereport(LOG,
				(errmsg("pgha api: %s \"%s\" is empty or larger than 1 MB", guc, path)));
		return NULL;
	}
	return buf;
}

/*
 * Start libmicrohttpd on pgha.api_listen.  false with a LOG message;
 * *permanent when retrying cannot help (bad settings or files).
 */
static bool
api_start(bool *permanent)
{
	char		host[256];
	char		err[256];
	int			port;
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	char		portstr[16];
	int			rc;
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	struct MHD_OptionItem opts[16];
	int			n = 0;
	char	   *cert = NULL;
	char	   *key = NULL;
	char	   *ca = NULL;

	*permanent = true;
	if (!pgha_api_split_host_port(pgha_api_listen, host, sizeof(host), &port,
								  err, sizeof(err)))
	{
		ereport(LOG, (errmsg("pgha api: invalid pgha.api_listen: %s", err)));
		return false;
	}
	use_tls = pgha_api_certfile[0] != '\0';
	if (use_tls != (pgha_api_keyfile[0] != '\0'))
	{
		ereport(LOG,
				(errmsg("pgha api: pgha.api_certfile and pgha.api_keyfile must be set together"),
				 errhint("Set both for HTTPS, or neither for plain HTTP.")));
		return false;
	}
	if (pgha_api_verify_client != PGHA_API_VERIFY_NONE &&
		(!use_tls || pgha_api_cafile[0] == '\0'))
	{
		ereport(LOG,
				(errmsg("pgha api: pgha.api_verify_client needs pgha.api_certfile, pgha.api_keyfile and pgha.api_cafile")));
		return false;
	}
	if (use_tls)
	{
		cert = read_pem("pgha.api_certfile", pgha_api_certfile);
		key = cert ? read_pem("pgha.api_keyfile", pgha_api_keyfile) : NULL;
		if (cert == NULL || key == NULL)
			return false;
		if (pgha_api_cafile[0] != '\0' &&
			(ca = read_pem("pgha.api_cafile", pgha_api_cafile)) == NULL)
			return false;
		flags |= MHD_USE_TLS;
	}

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(portstr, sizeof(portstr), "%d", port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0 || res == NULL)
	{
		ereport(LOG,
				(errmsg("pgha api: could not resolve pgha.api_listen \"%s\": %s",
						pgha_api_listen, gai_strerror(rc))));
		*permanent = false;
		return false;
	}
	if (res->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;

	opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_SOCK_ADDR, 0, res->ai_addr};
	opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_CONNECTION_MEMORY_LIMIT, API_CONN_MEMORY, NULL};
	opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_CONNECTION_LIMIT, API_MAX_CONNECTIONS, NULL};
	opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_PER_IP_CONNECTION_LIMIT, API_MAX_PER_IP, NULL};
	opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_CONNECTION_TIMEOUT, API_CONN_TIMEOUT_S, NULL};
	opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t) on_completed, NULL};
	opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t) on_connection, NULL};
	opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_LISTEN_BACKLOG_SIZE, 64, NULL};
	if (use_tls)
	{
		opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_HTTPS_MEM_CERT, 0, cert};
		opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_HTTPS_MEM_KEY, 0, key};
		if (ca != NULL)
			opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_HTTPS_MEM_TRUST, 0, ca};
	}
	opts[n++] = (struct MHD_OptionItem) {MHD_OPTION_END, 0, NULL};

	daemon_ = MHD_start_daemon(flags, (uint16_t) port, NULL, NULL,
							   on_request, NULL,
							   MHD_OPTION_EXTERNAL_LOGGER, api_log, NULL,
							   MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	freeaddrinfo(res);
	if (cert)
	{
		/* MHD keeps its own copies in gnutls' credentials; do not leave the key around */
		explicit_bzero(key, strlen(key));
	}
	if (daemon_ == NULL)
	{
		ereport(LOG,
				(errmsg("pgha api: could not start the HTTP server on %s%s",
						pgha_api_listen, use_tls ? " (TLS)" : ""),
				 errdetail("The address may be in use, or the certificate and key do not match; the messages above say more."),
				 errhint("The api worker tries again in 5 seconds.")));
		*permanent = false;
		return false;
	}
	ereport(LOG,
			(errmsg("pgha api listening on %s (%s)", pgha_api_listen,
					use_tls ? "https" : "http")));
	return true;
}

static void
api_detach(int code, Datum arg)
{
	if (pgha_shared == NULL)
		return;
	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	if (pgha_shared->api_pid == MyProcPid)
		pgha_shared->api_pid = 0;
	LWLockRelease(pgha_shared->lock);
}

/* answer the suspended requests and let libmicrohttpd send them, briefly */
static void
api_stop(void)
{
	if (daemon_ == NULL)
		return;
	api_ops_shutdown();
	for (int i = 0; i < 20; i++)
	{
		MHD_run(daemon_);
		pg_usleep(1000);
	}
	MHD_stop_daemon(daemon_);
	daemon_ = NULL;
	api_etcd_close();
}

void
pgha_api_main(Datum arg)
{
	WaitEventSet *wes;
	const union MHD_DaemonInfo *info;
	bool		permanent;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGPIPE, SIG_IGN);
	BackgroundWorkerUnblockSignals();
	MHD_set_panic_func(api_panic, NULL);

	request_cxt = AllocSetContextCreate(TopMemoryContext, "pgha api request",
										ALLOCSET_DEFAULT_SIZES);
	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	pgha_shared->api_pid = MyProcPid;
	LWLockRelease(pgha_shared->lock);
	on_shmem_exit(api_detach, (Datum) 0);

	if (!api_start(&permanent))
	{
		if (permanent)
			ereport(LOG,
					(errmsg("pgha api is off until the settings are fixed and the server restarted")));
		/* exit code 0: the postmaster does not restart the worker */
		proc_exit(permanent ? 0 : 1);
	}
	api_etcd_configure();

	info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_EPOLL_FD);
	if (info == NULL || info->epoll_fd < 0)
	{
		ereport(LOG, (errmsg("pgha api: the HTTP server has no epoll descriptor")));
		MHD_stop_daemon(daemon_);
		proc_exit(1);
	}
	wes = CreateWaitEventSet(TopMemoryContext, 3);
	AddWaitEventToSet(wes, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(wes, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	AddWaitEventToSet(wes, WL_SOCKET_READABLE, info->epoll_fd, NULL, NULL);

	while (!ShutdownRequestPending)
	{
		WaitEvent	ev;
		MHD_UNSIGNED_LONG_LONG mhd_timeout;
		long		timeout = 1000;

		if (MHD_get_timeout(daemon_, &mhd_timeout) == MHD_YES)
			timeout = (long) Min(mhd_timeout, (MHD_UNSIGNED_LONG_LONG) 1000);
		if (api_ops_pending())
			timeout = Min(timeout, 50);
		(void) WaitEventSetWait(wes, timeout, &ev, 1, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ShutdownRequestPending)
			break;
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			api_etcd_configure();
		}
		api_ops_poll();
		MHD_run(daemon_);
		cut_slow_clients();
	}
	api_stop();
	proc_exit(0);
}
