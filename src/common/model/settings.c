/*-------------------------------------------------------------------------
 *
 * settings.c
 *	  Validation of pgha's settings (see settings.h).
 *
 * The same rules serve the GUC check hooks of pgha.so and pghactl, so a
 * value is accepted or refused identically wherever it is given.  The rules
 * are deliberately strict: a typo in an etcd endpoint or a scope should be
 * reported where it is written, not discovered as a timeout or as a second
 * cluster in etcd.  Every message names the offending value.
 *
 *-------------------------------------------------------------------------
 */
#include "settings.h"
#include "errbuf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_LEN		63
#define NAMESPACE_MAX_LEN	128
#define ENDPOINT_MAX_LEN	127		/* out[][128] of pgha_split_endpoints */
#define HOSTNAME_MAX_LEN	253


bool
pgha_valid_name(const char *s, char *errbuf, size_t errlen)
{
	size_t		i;

	if (s == NULL || s[0] == '\0')
	{
		pgha_set_error(errbuf, errlen, "name must not be empty");
		return false;
	}
	if (strlen(s) > NAME_MAX_LEN)
	{
		pgha_set_error(errbuf, errlen, "name \"%.20s...\" is longer than %d characters",
				  s, NAME_MAX_LEN);
		return false;
	}
	/* a leading '.' would make "." and ".." possible as etcd key parts */
	if (s[0] == '.')
	{
		pgha_set_error(errbuf, errlen, "name \"%s\" must not start with '.'", s);
		return false;
	}
	for (i = 0; s[i] != '\0'; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (!isalnum(c) && c != '_' && c != '.' && c != '-')
		{
			if (isprint(c))
				pgha_set_error(errbuf, errlen,
						  "name \"%s\" contains '%c': only letters, digits, '_', '.' and '-' are allowed",
						  s, c);
			else
				pgha_set_error(errbuf, errlen,
						  "name contains the byte 0x%02x at position %zu: only letters, digits, '_', '.' and '-' are allowed",
						  c, i + 1);
			return false;
		}
	}
	return true;
}

bool
pgha_valid_namespace(const char *s, char *errbuf, size_t errlen)
{
	size_t		i;

	if (s == NULL || s[0] == '\0')
	{
		pgha_set_error(errbuf, errlen, "namespace must not be empty");
		return false;
	}
	if (s[0] != '/')
	{
		pgha_set_error(errbuf, errlen, "namespace \"%.*s\" must start with '/'",
				  NAMESPACE_MAX_LEN, s);
		return false;
	}
	if (strlen(s) > NAMESPACE_MAX_LEN)
	{
		pgha_set_error(errbuf, errlen, "namespace \"%.20s...\" is longer than %d characters",
				  s, NAMESPACE_MAX_LEN);
		return false;
	}
	for (i = 0; s[i] != '\0'; i++)
	{
		unsigned char c = (unsigned char) s[i];

		/* printable ASCII without space */
		if (c <= 0x20 || c >= 0x7f)
		{
			pgha_set_error(errbuf, errlen,
					  "namespace contains %s at position %zu: only printable characters without whitespace are allowed",
					  c == ' ' ? "a space" : "a non-printable byte", i + 1);
			return false;
		}
		if (c == '/' && s[i + 1] == '/')
		{
			pgha_set_error(errbuf, errlen, "namespace \"%s\" contains \"//\"", s);
			return false;
		}
	}
	return true;
}

/* letters, digits, '-' in dot-separated labels of 1..63; or an IPv4 address */
static bool
valid_hostname(const char *h, size_t len)
{
	char		buf[HOSTNAME_MAX_LEN + 1];
	struct in_addr a4;
	size_t		i,
				label = 0;
	bool		all_numeric = true;

	if (len == 0 || len > HOSTNAME_MAX_LEN)
		return false;
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) h[i];

		if (c == '.')
		{
			if (label == 0 || h[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		if (!isdigit(c))
			all_numeric = false;
		if (++label > 63)
			return false;
	}
	if (label == 0 || h[len - 1] == '-')
		return false;

	/* "999.1.1.1" or "10.1" is neither a name nor a proper IPv4 address */
	if (all_numeric)
	{
		memcpy(buf, h, len);
		buf[len] = '\0';
		return inet_pton(AF_INET, buf, &a4) == 1;
	}
	return true;
}

static bool
valid_ipv6(const char *h, size_t len)
{
	char		buf[64];
	struct in6_addr a6;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, h, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, &a6) == 1;
}

/*
 * "host:port" where host is a name, IPv4 or [IPv6] and port 1..65535 in
 * plain decimal.  what names the setting in messages; shown is the whole
 * value being checked.
 */
static bool
check_host_port(const char *hp, size_t len, const char *what,
				const char *shown, char *errbuf, size_t errlen)
{
	const char *colon;
	const char *port;
	size_t		hostlen,
				portlen,
				i;
	long		portnum = 0;

	if (len > 0 && hp[0] == '[')
	{
		const char *close = memchr(hp, ']', len);

		if (close == NULL || !valid_ipv6(hp + 1, (size_t) (close - hp - 1)))
		{
			pgha_set_error(errbuf, errlen, "%s \"%s\" has an invalid IPv6 address",
					  what, shown);
			return false;
		}
		colon = close + 1;
		if (colon >= hp + len || *colon != ':')
		{
			pgha_set_error(errbuf, errlen, "%s \"%s\" has no port", what, shown);
			return false;
		}
	}
	else
	{
		colon = NULL;
		for (i = 0; i < len; i++)
			if (hp[i] == ':')
				colon = hp + i;
		if (colon == NULL)
		{
			pgha_set_error(errbuf, errlen, "%s \"%s\" has no port", what, shown);
			return false;
		}
		hostlen = (size_t) (colon - hp);
		if (hostlen == 0)
		{
			pgha_set_error(errbuf, errlen, "%s \"%s\" has no host", what, shown);
			return false;
		}
		if (!valid_hostname(hp, hostlen))
		{
			pgha_set_error(errbuf, errlen,
					  "%s \"%s\" has an invalid host: expected a host name, an IPv4 address or an [IPv6] address",
					  what, shown);
			return false;
		}
	}

	port = colon + 1;
	portlen = (size_t) (hp + len - port);
	if (portlen == 0)
	{
		pgha_set_error(errbuf, errlen, "%s \"%s\" has no port", what, shown);
		return false;
	}
	for (i = 0; i < portlen; i++)
	{
		if (!isdigit((unsigned char) port[i]) || portlen > 5)
		{
			pgha_set_error(errbuf, errlen, "%s \"%s\" has an invalid port", what, shown);
			return false;
		}
		portnum = portnum * 10 + (port[i] - '0');
	}
	if (portnum < 1 || portnum > 65535)
	{
		pgha_set_error(errbuf, errlen, "%s \"%s\" has port %ld: ports are 1..65535",
				  what, shown, portnum);
		return false;
	}
	return true;
}

/* one trimmed endpoint: http(s)://host:port and nothing else */
static bool
check_endpoint(const char *e, char *errbuf, size_t errlen)
{
	const char *rest;
	size_t		i,
				len = strlen(e);

	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) e[i];

		if (isspace(c) || !isprint(c))
		{
			pgha_set_error(errbuf, errlen,
					  "endpoint \"%s\" contains whitespace or a non-printable character",
					  e);
			return false;
		}
	}
	if (strncasecmp(e, "http://", 7) == 0)
		rest = e + 7;
	else if (strncasecmp(e, "https://", 8) == 0)
		rest = e + 8;
	else
	{
		pgha_set_error(errbuf, errlen, "endpoint \"%s\" must start with http:// or https://",
				  e);
		return false;
	}

	/* the client appends /v3/...; a path, query or credentials would break it */
	if (strpbrk(rest, "/?#") != NULL)
	{
		pgha_set_error(errbuf, errlen,
				  "endpoint \"%s\" must be scheme://host:port, without a path, query or fragment",
				  e);
		return false;
	}
	if (strchr(rest, '@') != NULL)
	{
		pgha_set_error(errbuf, errlen,
				  "endpoint \"%s\" must not contain credentials: use the username and password settings",
				  e);
		return false;
	}
	return check_host_port(rest, strlen(rest), "endpoint", e, errbuf, errlen);
}

/*
 * The endpoint list parser behind both public functions.  out may be NULL
 * (validation only).
 */
static int
parse_endpoints(const char *s, char out[][128], int max,
				char *errbuf, size_t errlen)
{
	const char *p = s;
	int			n = 0;

	if (s == NULL || s[0] == '\0')
	{
		pgha_set_error(errbuf, errlen, "no etcd endpoint given");
		return -1;
	}
	for (;;)
	{
		const char *start,
				   *end,
				   *comma;
		char		entry[ENDPOINT_MAX_LEN + 1];
		size_t		len;

		comma = strchr(p, ',');
		end = comma ? comma : p + strlen(p);
		start = p;
		while (start < end && isspace((unsigned char) *start))
			start++;
		while (end > start && isspace((unsigned char) end[-1]))
			end--;
		len = (size_t) (end - start);
		if (len == 0)
		{
			pgha_set_error(errbuf, errlen, "endpoint list \"%s\" has an empty entry (number %d)",
					  s, n + 1);
			return -1;
		}
		if (len > ENDPOINT_MAX_LEN)
		{
			pgha_set_error(errbuf, errlen, "endpoint \"%.40s...\" is longer than %d characters",
					  start, ENDPOINT_MAX_LEN);
			return -1;
		}
		memcpy(entry, start, len);
		entry[len] = '\0';
		if (!check_endpoint(entry, errbuf, errlen))
			return -1;
		if (n >= max)
		{
			pgha_set_error(errbuf, errlen,
					  "endpoint \"%s\" is number %d: at most %d etcd endpoints are allowed",
					  entry, n + 1, max);
			return -1;
		}
		if (out != NULL)
			memcpy(out[n], entry, len + 1);
		n++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return n;
}

bool
pgha_valid_endpoints(const char *s, char *errbuf, size_t errlen)
{
	return parse_endpoints(s, NULL, PGHA_MAX_ENDPOINTS, errbuf, errlen) > 0;
}

int
pgha_split_endpoints(const char *s, char out[][128], int max)
{
	if (max > PGHA_MAX_ENDPOINTS)
		max = PGHA_MAX_ENDPOINTS;
	return parse_endpoints(s, out, max, NULL, 0);
}

bool
pgha_valid_connect_address(const char *s, char *errbuf, size_t errlen)
{
	size_t		i;

	if (s == NULL || s[0] == '\0')
	{
		pgha_set_error(errbuf, errlen, "connect address must not be empty");
		return false;
	}
	for (i = 0; s[i] != '\0'; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (isspace(c) || !isprint(c))
		{
			pgha_set_error(errbuf, errlen,
					  "connect address \"%s\" contains whitespace or a non-printable character",
					  s);
			return false;
		}
	}
	if (strchr(s, '/') != NULL || strchr(s, '@') != NULL)
	{
		pgha_set_error(errbuf, errlen, "connect address \"%s\" must be host:port", s);
		return false;
	}
	return check_host_port(s, strlen(s), "connect address", s, errbuf, errlen);
}

bool
pgha_valid_timing(int ttl, int loop_wait, int retry_timeout,
				  char *errbuf, size_t errlen)
{
	if (ttl < PGHA_TTL_MIN || ttl > PGHA_TTL_MAX)
	{
		pgha_set_error(errbuf, errlen, "ttl %d is out of range (%d..%d)",
				  ttl, PGHA_TTL_MIN, PGHA_TTL_MAX);
		return false;
	}
	if (loop_wait < PGHA_LOOP_WAIT_MIN || loop_wait > PGHA_LOOP_WAIT_MAX)
	{
		pgha_set_error(errbuf, errlen, "loop_wait %d is out of range (%d..%d)",
				  loop_wait, PGHA_LOOP_WAIT_MIN, PGHA_LOOP_WAIT_MAX);
		return false;
	}
	if (retry_timeout < PGHA_RETRY_TIMEOUT_MIN || retry_timeout > PGHA_RETRY_TIMEOUT_MAX)
	{
		pgha_set_error(errbuf, errlen, "retry_timeout %d is out of range (%d..%d)",
				  retry_timeout, PGHA_RETRY_TIMEOUT_MIN, PGHA_RETRY_TIMEOUT_MAX);
		return false;
	}

	/*
	 * A leader must be able to miss one loop and exhaust a retry before its
	 * lease can expire, or it would lose the key while healthy (Patroni's
	 * rule).  The ranges above keep this sum far from overflow.
	 */
	if (ttl < loop_wait + 2 * retry_timeout)
	{
		pgha_set_error(errbuf, errlen,
				  "ttl %d is less than loop_wait + 2 * retry_timeout = %d",
				  ttl, loop_wait + 2 * retry_timeout);
		return false;
	}
	return true;
}

bool
pgha_valid_file_path(const char *s, char *errbuf, size_t errlen)
{
	struct stat st;

	if (s == NULL || s[0] == '\0')
		return true;
	if (s[0] != '/')
	{
		pgha_set_error(errbuf, errlen, "path \"%s\" is not absolute", s);
		return false;
	}
	if (stat(s, &st) != 0)
	{
		pgha_set_error(errbuf, errlen, "cannot access \"%s\": %s", s, strerror(errno));
		return false;
	}
	if (!S_ISREG(st.st_mode))
	{
		pgha_set_error(errbuf, errlen, "\"%s\" is not a regular file", s);
		return false;
	}
	if (access(s, R_OK) != 0)
	{
		pgha_set_error(errbuf, errlen, "cannot read \"%s\": %s", s, strerror(errno));
		return false;
	}
	return true;
}
