/*-------------------------------------------------------------------------
 *
 * etcd_proto.c
 *	  Request bodies and answer parsing for etcd's v3 JSON gateway; no I/O.
 *
 * The shapes handled here are the ones recorded against etcd 3.4 in
 * ETCD-V3-HTTP.md: int64 fields arrive as JSON strings, zero/false/empty
 * fields are omitted (a failed txn has no "succeeded", a PUT watch event
 * has no "type", a keepalive for a lost lease has no "TTL"), unary errors
 * are {"error","message","code"} bodies, streaming calls wrap each message
 * as {"result":{...}} or {"error":{...}} on its own line.
 *
 * Requests send int64 values as JSON strings too: lease IDs are close to
 * 2^62 and would not survive a trip through a double anywhere on the way.
 * Bodies are serialized with json_dumpb into our own malloc'd buffer so that
 * callers can always release them with free().
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgha_json.h"

#include "etcd_proto.h"

#define CTX_LEN 96

static const char b64chars[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


/* ---------------------------------------------------------------------
 * Errors and status names
 * ---------------------------------------------------------------------
 */

void
etcd_error_clear(EtcdError *err)
{
	err->status = ETCD_OK;
	err->http_code = 0;
	err->grpc_code = -1;
	err->endpoint[0] = '\0';
	err->message[0] = '\0';
}

EtcdStatus
etcd_error_set(EtcdError *err, EtcdStatus status, const char *fmt,...)
{
	char		buf[sizeof(err->message)];
	va_list		ap;

	/* format into a copy: the arguments may point into err->message */
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	memcpy(err->message, buf, sizeof(buf));
	err->status = status;
	return status;
}

const char *
etcd_status_name(EtcdStatus s)
{
	switch (s)
	{
		case ETCD_OK:
			return "ok";
		case ETCD_ERR_UNAVAILABLE:
			return "unavailable";
		case ETCD_ERR_TIMEOUT:
			return "timeout";
		case ETCD_ERR_PROTOCOL:
			return "protocol error";
		case ETCD_ERR_AUTH:
			return "authentication failed";
		case ETCD_ERR_DENIED:
			return "permission denied";
		case ETCD_ERR_NOT_FOUND:
			return "not found";
		case ETCD_ERR_COMPACTED:
			return "revision compacted";
		case ETCD_ERR_SERVER:
			return "server error";
		case ETCD_ERR_CONFIG:
			return "configuration error";
		case ETCD_ERR_NOMEM:
			return "out of memory";
	}
	return "unknown status";
}

/*
 * Map what etcd said to a status.  The gRPC code decides where there is
 * one; etcd reports several authentication problems as InvalidArgument (3),
 * so the message is looked at too, and messages without any code (watch
 * cancel reasons) are classified by their text alone.
 */
EtcdStatus
etcd_status_from_codes(int http_code, int grpc_code, const char *message)
{
	const char *m = message ? message : "";

	if (grpc_code == 16 ||
		strstr(m, "invalid auth token") != NULL ||
		strstr(m, "authentication failed") != NULL ||
		strstr(m, "user name is empty") != NULL ||
		strstr(m, "revision of auth store is old") != NULL)
		return ETCD_ERR_AUTH;
	if (grpc_code == 7 || strstr(m, "permission denied") != NULL ||
		strstr(m, "PermissionDenied") != NULL)
		return ETCD_ERR_DENIED;
	if (grpc_code == 5 || strstr(m, "etcdserver: key not found") != NULL ||
		strstr(m, "requested lease not found") != NULL)
		return ETCD_ERR_NOT_FOUND;
	if (grpc_code == 11 || strstr(m, "has been compacted") != NULL)
		return ETCD_ERR_COMPACTED;
	switch (grpc_code)
	{
		case 1:					/* canceled */
		case 4:					/* deadline exceeded */
		case 8:					/* resource exhausted: too many requests */
		case 14:				/* unavailable: no leader, timed out */
			return ETCD_ERR_UNAVAILABLE;
		default:
			break;
	}
	if (strstr(m, "no leader") != NULL)
		return ETCD_ERR_UNAVAILABLE;
	if (grpc_code < 0)
	{
		if (http_code == 401)
			return ETCD_ERR_AUTH;
		if (http_code == 403)
			return ETCD_ERR_DENIED;
	}
	if (http_code >= 500 || http_code == 429)
		return ETCD_ERR_UNAVAILABLE;
	return ETCD_ERR_SERVER;
}

/* copy at most srclen bytes, control characters replaced, NUL-terminated */
static void
sanitize(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t		i;

	if (dstlen == 0)
		return;
	for (i = 0; i < srclen && i + 1 < dstlen; i++)
	{
		unsigned char ch = (unsigned char) src[i];

		dst[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char) ch;
	}
	dst[i] = '\0';
}

static EtcdStatus
malformed(EtcdError *err, const char *fmt,...) ETCD_PRINTF(2, 3);

static EtcdStatus
malformed(EtcdError *err, const char *fmt,...)
{
	char		buf[sizeof(err->message)];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return etcd_error_set(err, ETCD_ERR_PROTOCOL, "malformed answer: %s", buf);
}

static EtcdStatus
nomem(EtcdError *err)
{
	return etcd_error_set(err, ETCD_ERR_NOMEM, "out of memory");
}


/* ---------------------------------------------------------------------
 * base64 and prefixes
 * ---------------------------------------------------------------------
 */

char *
etcd_base64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	char	   *out;
	char	   *o;
	size_t		i;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	out = malloc((len + 2) / 3 * 4 + 1);
	if (out == NULL)
		return NULL;
	o = out;
	for (i = 0; i + 2 < len; i += 3)
	{
		uint32_t	v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8 | in[i + 2];

		*o++ = b64chars[(v >> 18) & 63];
		*o++ = b64chars[(v >> 12) & 63];
		*o++ = b64chars[(v >> 6) & 63];
		*o++ = b64chars[v & 63];
	}
	if (i < len)
	{
		uint32_t	v = (uint32_t) in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t) in[i + 1] << 8;
		*o++ = b64chars[(v >> 18) & 63];
		*o++ = b64chars[(v >> 12) & 63];
		*o++ = (i + 1 < len) ? b64chars[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Strict padded standard base64, as Go's encoding/json writes []byte.
 * Returns 0, -1 for bad input (*badpos set), -2 for OOM.  Unused low bits
 * in the last quantum are ignored, like Go's non-strict decoder does.
 */
static int
b64_decode(const char *in, size_t inlen, char **out, size_t *outlen,
		   size_t *badpos)
{
	size_t		pad = 0;
	size_t		olen;
	size_t		i;
	char	   *buf;
	char	   *o;

	*out = NULL;
	*outlen = 0;
	if (inlen % 4 != 0)
	{
		*badpos = inlen;
		return -1;
	}
	if (inlen > 0 && in[inlen - 1] == '=')
		pad++;
	if (pad == 1 && inlen > 1 && in[inlen - 2] == '=')
		pad++;
	olen = inlen / 4 * 3 - pad;
	buf = malloc(olen + 1);
	if (buf == NULL)
		return -2;
	o = buf;
	for (i = 0; i < inlen; i += 4)
	{
		int			v[4];
		int			j;
		bool		last = (i + 4 == inlen);
		uint32_t	q;

		for (j = 0; j < 4; j++)
		{
			if (last && in[i + j] == '=' && (size_t) j >= 4 - pad)
				v[j] = 0;
			else if ((v[j] = b64_value(in[i + j])) < 0)
			{
				free(buf);
				*badpos = i + j;
				return -1;
			}
		}
		q = (uint32_t) v[0] << 18 | (uint32_t) v[1] << 12 |
			(uint32_t) v[2] << 6 | (uint32_t) v[3];
		*o++ = (char) (q >> 16);
		if (!last || pad < 2)
			*o++ = (char) (q >> 8);
		if (!last || pad < 1)
			*o++ = (char) q;
	}
	*o = '\0';
	*out = buf;
	*outlen = olen;
	return 0;
}

EtcdStatus
etcd_base64_decode(const char *in, size_t inlen, char **out, size_t *outlen,
				   EtcdError *err)
{
	size_t		badpos = 0;

	switch (b64_decode(in, inlen, out, outlen, &badpos))
	{
		case 0:
			return ETCD_OK;
		case -1:
			return etcd_error_set(err, ETCD_ERR_PROTOCOL,
								  "invalid base64 at byte %zu", badpos);
		default:
			return nomem(err);
	}
}

char *
etcd_prefix_range_end(const char *prefix, size_t len, size_t *endlen)
{
	size_t		i = len;
	char	   *end;

	/* a trailing 0xff cannot be incremented: drop it and carry */
	while (i > 0 && (unsigned char) prefix[i - 1] == 0xff)
		i--;
	if (i == 0)
	{
		end = calloc(2, 1);
		*endlen = end ? 1 : 0;
		return end;
	}
	end = malloc(i + 1);
	if (end == NULL)
	{
		*endlen = 0;
		return NULL;
	}
	memcpy(end, prefix, i);
	end[i - 1] = (char) ((unsigned char) end[i - 1] + 1);
	end[i] = '\0';
	*endlen = i;
	return end;
}


/* ---------------------------------------------------------------------
 * Request bodies
 * ---------------------------------------------------------------------
 */

/* json_object_set_new that records any failure (it accepts NULL values) */
static void
set_member(json_t *obj, const char *name, json_t *value, bool *bad)
{
	if (obj == NULL || json_object_set_new(obj, name, value) != 0)
		*bad = true;
}

static json_t *
b64_json(const void *data, size_t len)
{
	char	   *enc = etcd_base64_encode(data, len);
	json_t	   *s;

	if (enc == NULL)
		return NULL;
	s = json_string(enc);
	free(enc);
	return s;
}

static json_t *
int64_json(int64_t v)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return json_string(buf);
}

/* serialize into a malloc'd string and drop root; NULL on any failure */
static char *
finish_body(json_t *root, bool bad)
{
	char	   *out = NULL;
	size_t		n;

	if (root != NULL && !bad)
	{
		n = json_dumpb(root, NULL, 0, JSON_COMPACT);
		if (n > 0 && (out = malloc(n + 1)) != NULL)
		{
			if (json_dumpb(root, out, n, JSON_COMPACT) != n)
			{
				free(out);
				out = NULL;
			}
			else
				out[n] = '\0';
		}
	}
	json_decref(root);
	return out;
}

/* {"key":K} plus the prefix range_end when asked */
static json_t *
key_object(const char *key, bool prefix, bool *bad)
{
	json_t	   *obj = pgha_json_object();

	set_member(obj, "key", b64_json(key, strlen(key)), bad);
	if (prefix)
	{
		size_t		endlen;
		char	   *end = etcd_prefix_range_end(key, strlen(key), &endlen);

		set_member(obj, "range_end", end ? b64_json(end, endlen) : NULL, bad);
		free(end);
	}
	if (obj == NULL)
		*bad = true;
	return obj;
}

static json_t *
put_object(const char *key, const char *value, int64_t lease, bool *bad)
{
	json_t	   *obj = key_object(key, false, bad);

	set_member(obj, "value", b64_json(value, strlen(value)), bad);
	if (lease == ETCD_KEEP_LEASE)
		set_member(obj, "ignore_lease", json_true(), bad);
	else if (lease != 0)
		set_member(obj, "lease", int64_json(lease), bad);
	return obj;
}

/* [{"<name>": op}] */
static json_t *
op_array(const char *name, json_t *op, bool *bad)
{
	json_t	   *arr = json_array();
	json_t	   *wrap = pgha_json_object();

	set_member(wrap, name, op, bad);
	if (arr == NULL || json_array_append_new(arr, wrap) != 0)
		*bad = true;
	return arr;
}

char *
etcd_build_range(const char *key, bool prefix)
{
	bool		bad = false;
	json_t	   *root = key_object(key, prefix, &bad);

	return finish_body(root, bad);
}

char *
etcd_build_put(const char *key, const char *value, int64_t lease)
{
	bool		bad = false;
	json_t	   *root = put_object(key, value, lease, &bad);

	return finish_body(root, bad);
}

char *
etcd_build_delete(const char *key, bool prefix)
{
	bool		bad = false;
	json_t	   *root = key_object(key, prefix, &bad);

	return finish_body(root, bad);
}

char *
etcd_build_txn(EtcdTxnKind kind, const char *key, const char *expected,
			   int64_t mod_revision, const char *value, int64_t lease)
{
	return etcd_build_txn_lease(kind, key, expected, -1, mod_revision, value,
								lease);
}

char *
etcd_build_txn_lease(EtcdTxnKind kind, const char *key, const char *expected,
					 int64_t expected_lease, int64_t mod_revision,
					 const char *value, int64_t lease)
{
	return etcd_build_txn_lease_puts(kind, key, expected, expected_lease,
									 mod_revision, value, lease, NULL, 0);
}

char *
etcd_build_txn_lease_puts(EtcdTxnKind kind, const char *key,
						  const char *expected, int64_t expected_lease,
						  int64_t mod_revision, const char *value,
						  int64_t lease, const EtcdPutOp *puts, int nputs)
{
	bool		bad = false;
	json_t	   *root = pgha_json_object();
	json_t	   *cmp = key_object(key, false, &bad);
	json_t	   *cmps = json_array();
	json_t	   *success;

	switch (kind)
	{
		case ETCD_TXN_CREATE:
			set_member(cmp, "target", json_string("CREATE"), &bad);
			set_member(cmp, "result", json_string("EQUAL"), &bad);
			set_member(cmp, "create_revision", int64_json(0), &bad);
			break;
		case ETCD_TXN_CAS_VALUE:
		case ETCD_TXN_CAD_VALUE:
			set_member(cmp, "target", json_string("VALUE"), &bad);
			set_member(cmp, "result", json_string("EQUAL"), &bad);
			set_member(cmp, "value", b64_json(expected, strlen(expected)), &bad);
			break;
		case ETCD_TXN_CAS_MOD:
			set_member(cmp, "target", json_string("MOD"), &bad);
			set_member(cmp, "result", json_string("EQUAL"), &bad);
			set_member(cmp, "mod_revision", int64_json(mod_revision), &bad);
			break;
	}
	if (cmps == NULL || json_array_append_new(cmps, cmp) != 0)
		bad = true;
	if (expected_lease >= 0)
	{
		/* etcd's Compare target LEASE (4): the key sits on that lease */
		json_t	   *lcmp = key_object(key, false, &bad);

		set_member(lcmp, "target", json_string("LEASE"), &bad);
		set_member(lcmp, "result", json_string("EQUAL"), &bad);
		set_member(lcmp, "lease", int64_json(expected_lease), &bad);
		if (cmps == NULL || json_array_append_new(cmps, lcmp) != 0)
			bad = true;
	}
	set_member(root, "compare", cmps, &bad);

	if (kind == ETCD_TXN_CAD_VALUE)
		success = op_array("request_delete_range",
						   key_object(key, false, &bad), &bad);
	else
		success = op_array("request_put",
						   put_object(key, value, lease, &bad), &bad);
	for (int i = 0; i < nputs && success != NULL; i++)
	{
		json_t	   *wrap = pgha_json_object();

		set_member(wrap, "request_put",
				   put_object(puts[i].key, puts[i].value, 0, &bad), &bad);
		if (json_array_append_new(success, wrap) != 0)
			bad = true;
	}
	set_member(root, "success", success, &bad);

	/* the failure branch reads the key: the caller learns who holds it */
	set_member(root, "failure",
			   op_array("request_range", key_object(key, false, &bad), &bad),
			   &bad);
	return finish_body(root, bad);
}

char *
etcd_build_lease_grant(int ttl)
{
	bool		bad = false;
	json_t	   *root = pgha_json_object();

	set_member(root, "TTL", json_integer(ttl), &bad);
	return finish_body(root, bad);
}

char *
etcd_build_lease_id(int64_t id)
{
	bool		bad = false;
	json_t	   *root = pgha_json_object();

	set_member(root, "ID", int64_json(id), &bad);
	return finish_body(root, bad);
}

char *
etcd_build_watch_create(const char *prefix, int64_t start_revision)
{
	bool		bad = false;
	json_t	   *root = pgha_json_object();
	json_t	   *req = key_object(prefix, true, &bad);

	set_member(req, "prev_kv", json_true(), &bad);
	if (start_revision > 0)
		set_member(req, "start_revision", int64_json(start_revision), &bad);
	set_member(root, "create_request", req, &bad);
	return finish_body(root, bad);
}

char *
etcd_build_authenticate(const char *name, const char *password)
{
	bool		bad = false;
	json_t	   *root = pgha_json_object();

	/* json_string refuses invalid UTF-8: reported as a build failure */
	set_member(root, "name", json_string(name), &bad);
	set_member(root, "password", json_string(password), &bad);
	return finish_body(root, bad);
}


/* ---------------------------------------------------------------------
 * Answer parsing helpers
 * ---------------------------------------------------------------------
 */

static EtcdStatus
load_object(const char *body, size_t len, json_t **root, EtcdError *err)
{
	json_error_t jerr;
	char		text[96];

	*root = NULL;
	if (body == NULL || len == 0)
		return malformed(err, "empty answer");
	if (len > ETCD_MAX_ANSWER)
		return malformed(err, "answer of %zu bytes exceeds the %d byte limit",
						 len, ETCD_MAX_ANSWER);
	*root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (*root == NULL)
	{
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return nomem(err);
		sanitize(text, sizeof(text), jerr.text, strlen(jerr.text));
		return malformed(err, "invalid JSON at byte %d: %s",
						 jerr.position, text);
	}
	if (!json_is_object(*root))
	{
		json_decref(*root);
		*root = NULL;
		return malformed(err, "not a JSON object");
	}
	return ETCD_OK;
}

/* an object member; JSON null counts as absent (proto3 JSON allows it) */
static json_t *
member(json_t *obj, const char *name)
{
	json_t	   *v = json_object_get(obj, name);

	return (v != NULL && json_is_null(v)) ? NULL : v;
}

/* "ctx.name", or "name" at the top level */
static void
field_path(char *buf, size_t len, const char *ctx, const char *name)
{
	snprintf(buf, len, "%s%s%s", ctx, (ctx[0] && name[0]) ? "." : "", name);
}

/* a short description of an unexpected value for error messages */
static void
describe(char *buf, size_t len, json_t *v)
{
	char		text[40];

	if (v == NULL)
	{
		snprintf(buf, len, "nothing");
		return;
	}
	switch (json_typeof(v))
	{
		case JSON_OBJECT:
			snprintf(buf, len, "an object");
			break;
		case JSON_ARRAY:
			snprintf(buf, len, "an array");
			break;
		case JSON_STRING:
			sanitize(text, sizeof(text), json_string_value(v),
					 json_string_length(v));
			snprintf(buf, len, "\"%s\"%s", text,
					 json_string_length(v) >= sizeof(text) ? "..." : "");
			break;
		case JSON_INTEGER:
			snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			break;
		case JSON_REAL:
			snprintf(buf, len, "the non-integer %g", json_real_value(v));
			break;
		case JSON_TRUE:
		case JSON_FALSE:
			snprintf(buf, len, "a boolean");
			break;
		default:
			snprintf(buf, len, "null");
			break;
	}
}

static EtcdStatus
wrong_type(EtcdError *err, const char *ctx, const char *name,
		   const char *expected, json_t *v)
{
	char		path[CTX_LEN + 32];
	char		what[64];

	field_path(path, sizeof(path), ctx, name);
	describe(what, sizeof(what), v);
	return malformed(err, "%s: expected %s, got %s", path, expected, what);
}

/* decimal int64 without sign tricks, spaces or overflow */
static bool
parse_int64_text(const char *s, size_t n, int64_t *out)
{
	bool		neg = false;
	uint64_t	acc = 0;
	uint64_t	limit;
	size_t		i = 0;

	if (n > 0 && s[0] == '-')
	{
		neg = true;
		i = 1;
	}
	if (i >= n)
		return false;
	limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
	for (; i < n; i++)
	{
		unsigned	d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned) (s[i] - '0');
		if (acc > (limit - d) / 10)
			return false;
		acc = acc * 10 + d;
	}
	if (neg)
		*out = (acc == (uint64_t) INT64_MAX + 1) ? INT64_MIN : -(int64_t) acc;
	else
		*out = (int64_t) acc;
	return true;
}

/* optional int64 field, as a JSON string or integer; absent -> 0 */
static EtcdStatus
get_int64(json_t *obj, const char *ctx, const char *name, bool nonneg,
		  int64_t *out, EtcdError *err)
{
	json_t	   *v = member(obj, name);
	int64_t		n = 0;

	*out = 0;
	if (v == NULL)
		return ETCD_OK;
	if (json_is_integer(v))
		n = (int64_t) json_integer_value(v);
	else if (!json_is_string(v) ||
			 !parse_int64_text(json_string_value(v), json_string_length(v), &n))
		return wrong_type(err, ctx, name, "an int64", v);
	if (nonneg && n < 0)
		return wrong_type(err, ctx, name, "a non-negative int64", v);
	*out = n;
	return ETCD_OK;
}

static EtcdStatus
get_bool(json_t *obj, const char *ctx, const char *name, bool *out,
		 EtcdError *err)
{
	json_t	   *v = member(obj, name);

	*out = false;
	if (v == NULL)
		return ETCD_OK;
	if (!json_is_boolean(v))
		return wrong_type(err, ctx, name, "a boolean", v);
	*out = json_is_true(v);
	return ETCD_OK;
}

/* optional string field without embedded NULs; absent -> NULL */
static EtcdStatus
get_string(json_t *obj, const char *ctx, const char *name, const char **out,
		   EtcdError *err)
{
	json_t	   *v = member(obj, name);

	*out = NULL;
	if (v == NULL)
		return ETCD_OK;
	if (!json_is_string(v))
		return wrong_type(err, ctx, name, "a string", v);
	*out = json_string_value(v);
	return ETCD_OK;
}

/* optional member that must be an object or an array when present */
static EtcdStatus
get_container(json_t *obj, const char *ctx, const char *name, bool array,
			  json_t **out, EtcdError *err)
{
	json_t	   *v = member(obj, name);

	*out = NULL;
	if (v == NULL)
		return ETCD_OK;
	if (array ? !json_is_array(v) : !json_is_object(v))
		return wrong_type(err, ctx, name, array ? "an array" : "an object", v);
	*out = v;
	return ETCD_OK;
}

/* the mandatory "header" of unary answers; *revision may be NULL */
static EtcdStatus
get_header(json_t *root, int64_t *revision, EtcdError *err)
{
	json_t	   *h;
	int64_t		rev;
	EtcdStatus	st;

	if (revision)
		*revision = 0;
	if ((st = get_container(root, "", "header", false, &h, err)) != ETCD_OK)
		return st;
	if (h == NULL)
		return malformed(err, "no \"header\"");
	if ((st = get_int64(h, "header", "revision", true, &rev, err)) != ETCD_OK)
		return st;
	if (revision)
		*revision = rev;
	return ETCD_OK;
}

/* a base64 field decoded; *out is "" when absent */
static EtcdStatus
get_b64(json_t *obj, const char *ctx, const char *name, char **out,
		size_t *outlen, EtcdError *err)
{
	json_t	   *v = member(obj, name);
	size_t		badpos = 0;
	char		path[CTX_LEN + 32];

	*out = NULL;
	*outlen = 0;
	if (v == NULL)
	{
		*out = calloc(1, 1);
		return *out ? ETCD_OK : nomem(err);
	}
	if (!json_is_string(v))
		return wrong_type(err, ctx, name, "a base64 string", v);
	switch (b64_decode(json_string_value(v), json_string_length(v), out,
					   outlen, &badpos))
	{
		case 0:
			return ETCD_OK;
		case -1:
			field_path(path, sizeof(path), ctx, name);
			return malformed(err, "%s: invalid base64 at byte %zu",
							 path, badpos);
		default:
			return nomem(err);
	}
}

static void
kv_free(EtcdKV *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

static EtcdStatus
parse_kv(json_t *v, const char *ctx, EtcdKV *kv, EtcdError *err)
{
	size_t		keylen;
	EtcdStatus	st;

	memset(kv, 0, sizeof(*kv));
	if (!json_is_object(v))
		return wrong_type(err, ctx, "", "an object", v);
	if (member(v, "key") == NULL)
		return malformed(err, "%s: no \"key\"", ctx);
	st = get_b64(v, ctx, "key", &kv->key, &keylen, err);
	if (st == ETCD_OK && keylen == 0)
		st = malformed(err, "%s.key: empty key", ctx);
	if (st == ETCD_OK && memchr(kv->key, '\0', keylen) != NULL)
		st = malformed(err, "%s.key: key contains a NUL byte", ctx);
	if (st == ETCD_OK)
		st = get_b64(v, ctx, "value", &kv->value, &kv->value_len, err);
	if (st == ETCD_OK)
		st = get_int64(v, ctx, "create_revision", true, &kv->create_revision, err);
	if (st == ETCD_OK)
		st = get_int64(v, ctx, "mod_revision", true, &kv->mod_revision, err);
	if (st == ETCD_OK)
		st = get_int64(v, ctx, "version", true, &kv->version, err);
	if (st == ETCD_OK)
		st = get_int64(v, ctx, "lease", true, &kv->lease, err);
	if (st != ETCD_OK)
		kv_free(kv);
	return st;
}

/* the "kvs" array of a range answer (or of a txn's response_range) */
static EtcdStatus
parse_kvs(json_t *obj, const char *ctx, EtcdKVList *out, EtcdError *err)
{
	json_t	   *arr;
	size_t		n;
	size_t		i;
	EtcdStatus	st;
	char		kctx[CTX_LEN];
	int64_t		count;
	bool		more;

	if ((st = get_container(obj, ctx, "kvs", true, &arr, err)) != ETCD_OK ||
		(st = get_int64(obj, ctx, "count", true, &count, err)) != ETCD_OK ||
		(st = get_bool(obj, ctx, "more", &more, err)) != ETCD_OK)
		return st;
	n = arr ? json_array_size(arr) : 0;
	if (n == 0)
		return ETCD_OK;
	if (n > INT_MAX / 2)
		return malformed(err, "%s%skvs: too many entries (%zu)",
						 ctx, ctx[0] ? "." : "", n);
	out->kvs = calloc(n, sizeof(EtcdKV));
	if (out->kvs == NULL)
		return nomem(err);
	for (i = 0; i < n; i++)
	{
		snprintf(kctx, sizeof(kctx), "%s%skvs[%zu]", ctx, ctx[0] ? "." : "", i);
		st = parse_kv(json_array_get(arr, i), kctx, &out->kvs[i], err);
		if (st != ETCD_OK)
			return st;			/* caller frees the partial list */
		out->count++;
	}
	return ETCD_OK;
}

/*
 * An in-stream error: {"grpc_code":14,"http_code":503,"message":"..."}.
 * Always returns a non-OK status (a malformed one is a protocol error).
 */
static EtcdStatus
parse_stream_error(json_t *e, EtcdError *err)
{
	int64_t		grpc;
	int64_t		http;
	const char *msg;
	char		text[160];
	EtcdStatus	st;

	if (!json_is_object(e))
		return wrong_type(err, "", "error", "an object", e);
	if ((st = get_int64(e, "error", "grpc_code", true, &grpc, err)) != ETCD_OK ||
		(st = get_int64(e, "error", "http_code", true, &http, err)) != ETCD_OK ||
		(st = get_string(e, "error", "message", &msg, err)) != ETCD_OK)
		return st;
	if (member(e, "grpc_code") == NULL)
		grpc = -1;
	if (grpc > 255 || http > 999)
		return malformed(err, "error: code out of range");
	sanitize(text, sizeof(text), msg ? msg : "", msg ? strlen(msg) : 0);
	err->grpc_code = (int) grpc;
	err->http_code = (int) http;
	st = etcd_status_from_codes((int) http, (int) grpc, text);
	if (st == ETCD_OK)
		st = ETCD_ERR_SERVER;
	return etcd_error_set(err, st, "stream error (grpc code %d): %s",
						  (int) grpc, text[0] ? text : "no message");
}

/* length of the first line of a streaming answer, without its newline */
static size_t
first_line_len(const char *body, size_t len)
{
	const char *nl = memchr(body, '\n', len);

	return nl ? (size_t) (nl - body) : len;
}


/* ---------------------------------------------------------------------
 * Answer parsers
 * ---------------------------------------------------------------------
 */

EtcdStatus
etcd_parse_error(int http_code, const char *body, size_t len, EtcdError *err)
{
	json_t	   *root = NULL;
	json_error_t jerr;
	json_t	   *code;
	const char *msg = NULL;
	char		text[192];
	int			grpc = -1;
	EtcdStatus	st;

	err->http_code = http_code;
	err->grpc_code = -1;
	text[0] = '\0';
	if (body != NULL && len > 0 && len <= ETCD_MAX_ANSWER)
		root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root != NULL && json_is_object(root))
	{
		code = member(root, "code");
		if (code != NULL && json_is_integer(code) &&
			json_integer_value(code) >= 0 && json_integer_value(code) <= 255)
			grpc = (int) json_integer_value(code);
		if (json_is_string(member(root, "message")))
			msg = json_string_value(member(root, "message"));
		else if (json_is_string(member(root, "error")))
			msg = json_string_value(member(root, "error"));
		if (msg != NULL)
			sanitize(text, sizeof(text), msg, strlen(msg));
	}
	else if (body != NULL && len > 0)
	{
		/* not etcd's JSON (a proxy, 404 text): show the start of it */
		sanitize(text, 80, body, first_line_len(body, len));
	}
	json_decref(root);
	err->grpc_code = grpc;
	st = etcd_status_from_codes(http_code, grpc, text);
	return etcd_error_set(err, st, "HTTP %d: %s", http_code,
						  text[0] ? text : "no error message");
}

EtcdStatus
etcd_parse_lease_grant(const char *body, size_t len, int64_t *id, int *ttl,
					   EtcdError *err)
{
	json_t	   *root;
	const char *emsg;
	int64_t		gid = 0;
	int64_t		gttl = 0;
	EtcdStatus	st;

	*id = 0;
	*ttl = 0;
	if ((st = load_object(body, len, &root, err)) != ETCD_OK)
		return st;
	if ((st = get_header(root, NULL, err)) == ETCD_OK &&
		(st = get_string(root, "", "error", &emsg, err)) == ETCD_OK &&
		(st = get_int64(root, "", "ID", false, &gid, err)) == ETCD_OK &&
		(st = get_int64(root, "", "TTL", false, &gttl, err)) == ETCD_OK)
	{
		if (emsg != NULL && emsg[0] != '\0')
		{
			char		text[160];

			sanitize(text, sizeof(text), emsg, strlen(emsg));
			st = etcd_error_set(err, ETCD_ERR_SERVER, "lease grant failed: %s",
								text);
		}
		else if (gid <= 0)
			st = malformed(err, "lease grant without a valid \"ID\"");
		else if (gttl <= 0 || gttl > INT_MAX)
			st = malformed(err, "lease grant with TTL %" PRId64, gttl);
		else
		{
			*id = gid;
			*ttl = (int) gttl;
		}
	}
	json_decref(root);
	return st;
}

EtcdStatus
etcd_parse_lease_keepalive(const char *body, size_t len, int64_t id,
						   int *ttl_left, EtcdError *err)
{
	json_t	   *root;
	json_t	   *res;
	json_t	   *e;
	int64_t		rid = 0;
	int64_t		ttl = 0;
	EtcdStatus	st;

	*ttl_left = 0;
	/* one request object gives one answer line; anything after is ignored */
	if ((st = load_object(body, body ? first_line_len(body, len) : 0,
						  &root, err)) != ETCD_OK)
		return st;
	if ((st = get_container(root, "", "result", false, &res, err)) == ETCD_OK &&
		(st = get_container(root, "", "error", false, &e, err)) == ETCD_OK)
	{
		if (e != NULL)
			st = parse_stream_error(e, err);
		else if (res == NULL)
			st = malformed(err, "keepalive answer without \"result\"");
		else if ((st = get_int64(res, "result", "ID", false, &rid, err)) != ETCD_OK ||
				 (st = get_int64(res, "result", "TTL", false, &ttl, err)) != ETCD_OK)
			;
		else if (rid != id)
			st = malformed(err, "keepalive answer for lease %" PRId64
						   " instead of %" PRId64, rid, id);
		else if (ttl > INT_MAX)
			st = malformed(err, "keepalive TTL %" PRId64 " out of range", ttl);
		else
			*ttl_left = ttl > 0 ? (int) ttl : 0;	/* no TTL: lease gone */
	}
	json_decref(root);
	return st;
}

EtcdStatus
etcd_parse_lease_revoke(const char *body, size_t len, EtcdError *err)
{
	json_t	   *root;
	EtcdStatus	st;

	if ((st = load_object(body, len, &root, err)) != ETCD_OK)
		return st;
	st = get_header(root, NULL, err);
	json_decref(root);
	return st;
}

EtcdStatus
etcd_parse_range(const char *body, size_t len, EtcdKVList *out, EtcdError *err)
{
	json_t	   *root;
	EtcdStatus	st;

	memset(out, 0, sizeof(*out));
	if ((st = load_object(body, len, &root, err)) != ETCD_OK)
		return st;
	if ((st = get_header(root, &out->revision, err)) == ETCD_OK)
		st = parse_kvs(root, "", out, err);
	json_decref(root);
	if (st != ETCD_OK)
		etcd_kvlist_free(out);
	return st;
}

EtcdStatus
etcd_parse_put(const char *body, size_t len, int64_t *revision, EtcdError *err)
{
	json_t	   *root;
	EtcdStatus	st;

	*revision = 0;
	if ((st = load_object(body, len, &root, err)) != ETCD_OK)
		return st;
	st = get_header(root, revision, err);
	json_decref(root);
	return st;
}

EtcdStatus
etcd_parse_delete(const char *body, size_t len, int64_t *deleted,
				  EtcdError *err)
{
	json_t	   *root;
	EtcdStatus	st;

	*deleted = 0;
	if ((st = load_object(body, len, &root, err)) != ETCD_OK)
		return st;
	if ((st = get_header(root, NULL, err)) == ETCD_OK)
		st = get_int64(root, "", "deleted", true, deleted, err);
	json_decref(root);
	return st;
}

/*
 * Check one txn response and, for the failure branch, take the kvs of its
 * request_range into res->current.
 */
static EtcdStatus
parse_txn_response(json_t *r, size_t i, bool succeeded, EtcdTxnResult *res,
				   EtcdError *err)
{
	static const char *const kinds[] = {
		"response_range", "response_put", "response_delete_range",
		"response_txn"
	};
	char		ctx[CTX_LEN];
	json_t	   *op = NULL;
	size_t		k;
	EtcdStatus	st;

	snprintf(ctx, sizeof(ctx), "responses[%zu]", i);
	if (!json_is_object(r))
		return wrong_type(err, ctx, "", "an object", r);
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
	{
		json_t	   *v;

		if ((st = get_container(r, ctx, kinds[k], false, &v, err)) != ETCD_OK)
			return st;
		if (v != NULL && op != NULL)
			return malformed(err, "%s: more than one response", ctx);
		if (v != NULL)
			op = v;
	}
	if (op == NULL)
		return malformed(err, "%s: no known response", ctx);
	if (!succeeded && op == member(r, "response_range") &&
		res->current.kvs == NULL)
	{
		snprintf(ctx, sizeof(ctx), "responses[%zu].response_range", i);
		return parse_kvs(op, ctx, &res->current, err);
	}
	return ETCD_OK;
}

EtcdStatus
etcd_parse_txn(const char *body, size_t len, EtcdTxnResult *res,
			   EtcdError *err)
{
	json_t	   *root;
	json_t	   *responses;
	size_t		i;
	EtcdStatus	st;

	memset(res, 0, sizeof(*res));
	if ((st = load_object(body, len, &root, err)) != ETCD_OK)
		return st;
	/* "succeeded" is omitted when false */
	if ((st = get_header(root, &res->revision, err)) == ETCD_OK &&
		(st = get_bool(root, "", "succeeded", &res->succeeded, err)) == ETCD_OK &&
		(st = get_container(root, "", "responses", true, &responses, err)) == ETCD_OK)
	{
		res->current.revision = res->revision;
		for (i = 0; responses && i < json_array_size(responses); i++)
		{
			st = parse_txn_response(json_array_get(responses, i), i,
									res->succeeded, res, err);
			if (st != ETCD_OK)
				break;
		}
	}
	json_decref(root);
	if (st != ETCD_OK)
		etcd_txn_result_free(res);
	return st;
}

EtcdStatus
etcd_parse_authenticate(const char *body, size_t len, char **token,
						EtcdError *err)
{
	json_t	   *root;
	const char *t;
	EtcdStatus	st;
	size_t		i;

	*token = NULL;
	if ((st = load_object(body, len, &root, err)) != ETCD_OK)
		return st;
	if ((st = get_header(root, NULL, err)) == ETCD_OK &&
		(st = get_string(root, "", "token", &t, err)) == ETCD_OK)
	{
		if (t == NULL || t[0] == '\0')
			st = malformed(err, "authenticate answer without \"token\"");
		for (i = 0; st == ETCD_OK && t[i] != '\0'; i++)
		{
			/* it goes into an HTTP header: visible ASCII only */
			if ((unsigned char) t[i] <= 0x20 || (unsigned char) t[i] >= 0x7f)
				st = malformed(err, "token contains a byte not allowed in an HTTP header");
		}
		if (st == ETCD_OK && (*token = strdup(t)) == NULL)
			st = nomem(err);
	}
	json_decref(root);
	return st;
}

static EtcdStatus
parse_event(json_t *v, size_t i, EtcdWatchEvent *ev, EtcdError *err)
{
	char		ctx[CTX_LEN];
	char		sub[CTX_LEN + 16];
	json_t	   *type;
	json_t	   *kv;
	json_t	   *prev;
	EtcdStatus	st;

	memset(ev, 0, sizeof(*ev));
	snprintf(ctx, sizeof(ctx), "events[%zu]", i);
	if (!json_is_object(v))
		return wrong_type(err, ctx, "", "an object", v);
	/* PUT is the enum's zero value, so a PUT event has no "type" */
	type = member(v, "type");
	if (type == NULL ||
		(json_is_string(type) && strcmp(json_string_value(type), "PUT") == 0) ||
		(json_is_integer(type) && json_integer_value(type) == 0))
		ev->is_delete = false;
	else if ((json_is_string(type) &&
			  strcmp(json_string_value(type), "DELETE") == 0) ||
			 (json_is_integer(type) && json_integer_value(type) == 1))
		ev->is_delete = true;
	else
		return wrong_type(err, ctx, "type", "PUT or DELETE", type);

	if ((st = get_container(v, ctx, "kv", false, &kv, err)) != ETCD_OK ||
		(st = get_container(v, ctx, "prev_kv", false, &prev, err)) != ETCD_OK)
		return st;
	if (kv == NULL)
		return malformed(err, "%s: no \"kv\"", ctx);
	snprintf(sub, sizeof(sub), "%s.kv", ctx);
	if ((st = parse_kv(kv, sub, &ev->kv, err)) != ETCD_OK)
		return st;
	if (prev != NULL)
	{
		snprintf(sub, sizeof(sub), "%s.prev_kv", ctx);
		if ((st = parse_kv(prev, sub, &ev->prev_kv, err)) != ETCD_OK)
		{
			kv_free(&ev->kv);
			return st;
		}
		ev->has_prev = true;
	}
	return ETCD_OK;
}

/* parse every event of the array into a new array of n entries */
static EtcdStatus
parse_events(json_t *arr, EtcdWatchEvent **out, int *n, EtcdError *err)
{
	size_t		count = json_array_size(arr);
	size_t		i;
	EtcdWatchEvent *evs;
	EtcdStatus	st;

	*out = NULL;
	*n = 0;
	if (count == 0)
		return ETCD_OK;
	if (count > INT_MAX / 4)
		return malformed(err, "events: too many entries (%zu)", count);
	evs = calloc(count, sizeof(EtcdWatchEvent));
	if (evs == NULL)
		return nomem(err);
	for (i = 0; i < count; i++)
	{
		st = parse_event(json_array_get(arr, i), i, &evs[i], err);
		if (st != ETCD_OK)
		{
			etcd_watch_events_free(evs, (int) i);
			return st;
		}
	}
	*out = evs;
	*n = (int) count;
	return ETCD_OK;
}

static EtcdStatus
append_events(EtcdWatchEvent **events, int *nevents, EtcdWatchEvent *add,
			  int nadd, EtcdError *err)
{
	EtcdWatchEvent *grown;

	if (nadd == 0)
		return ETCD_OK;
	if (*nevents > INT_MAX / 4 - nadd)
		return malformed(err, "too many watch events");
	grown = realloc(*events, (size_t) (*nevents + nadd) * sizeof(EtcdWatchEvent));
	if (grown == NULL)
		return nomem(err);
	memcpy(grown + *nevents, add, (size_t) nadd * sizeof(EtcdWatchEvent));
	*events = grown;
	*nevents += nadd;
	return ETCD_OK;
}

/* the status of a canceled watch */
static EtcdStatus
watch_canceled(json_t *res, EtcdError *err)
{
	int64_t		compact;
	const char *reason;
	char		text[160];
	EtcdStatus	st;

	if ((st = get_int64(res, "result", "compact_revision", true, &compact, err)) != ETCD_OK ||
		(st = get_string(res, "result", "cancel_reason", &reason, err)) != ETCD_OK)
		return st;
	if (compact > 0)
		return etcd_error_set(err, ETCD_ERR_COMPACTED,
							  "watch canceled: revision compacted (oldest available %" PRId64 ")",
							  compact);
	sanitize(text, sizeof(text), reason ? reason : "", reason ? strlen(reason) : 0);
	st = etcd_status_from_codes(0, -1, text);
	return etcd_error_set(err, st, "watch canceled: %s",
						  text[0] ? text : "no reason given");
}

EtcdStatus
etcd_parse_watch_line(const char *line, size_t len, bool *created,
					  EtcdWatchEvent **events, int *nevents, EtcdError *err)
{
	json_t	   *root;
	json_t	   *res;
	json_t	   *e;
	json_t	   *arr;
	json_t	   *h;
	bool		canceled = false;
	int64_t		dummy;
	EtcdWatchEvent *evs = NULL;
	int			nevs = 0;
	EtcdStatus	st;

	*created = false;
	if ((st = load_object(line, len, &root, err)) != ETCD_OK)
		return st;
	if ((st = get_container(root, "", "result", false, &res, err)) != ETCD_OK ||
		(st = get_container(root, "", "error", false, &e, err)) != ETCD_OK)
		goto done;
	if (e != NULL)
	{
		st = parse_stream_error(e, err);
		goto done;
	}
	if (res == NULL)
	{
		st = malformed(err, "watch message without \"result\"");
		goto done;
	}
	if ((st = get_container(res, "result", "header", false, &h, err)) != ETCD_OK ||
		(h && (st = get_int64(h, "result.header", "revision", true, &dummy, err)) != ETCD_OK) ||
		(st = get_int64(res, "result", "watch_id", false, &dummy, err)) != ETCD_OK ||
		(st = get_bool(res, "result", "created", created, err)) != ETCD_OK ||
		(st = get_bool(res, "result", "canceled", &canceled, err)) != ETCD_OK ||
		(st = get_container(res, "result", "events", true, &arr, err)) != ETCD_OK)
		goto done;
	if (arr != NULL && (st = parse_events(arr, &evs, &nevs, err)) != ETCD_OK)
		goto done;
	if (canceled)
		st = watch_canceled(res, err);
	else
		st = append_events(events, nevents, evs, nevs, err);
	if (st == ETCD_OK)
	{
		free(evs);				/* the entries now belong to *events */
		evs = NULL;
		nevs = 0;
	}
done:
	etcd_watch_events_free(evs, nevs);
	json_decref(root);
	if (st != ETCD_OK)
		*created = false;
	return st;
}


/* ---------------------------------------------------------------------
 * Result helpers declared in etcd_client.h
 * ---------------------------------------------------------------------
 */

void
etcd_kvlist_free(EtcdKVList *l)
{
	int			i;

	if (l == NULL)
		return;
	for (i = 0; i < l->count; i++)
		kv_free(&l->kvs[i]);
	free(l->kvs);
	memset(l, 0, sizeof(*l));
}

void
etcd_txn_result_free(EtcdTxnResult *r)
{
	if (r == NULL)
		return;
	etcd_kvlist_free(&r->current);
	memset(r, 0, sizeof(*r));
}

const EtcdKV *
etcd_kvlist_find(const EtcdKVList *l, const char *key)
{
	int			i;

	if (l == NULL || key == NULL)
		return NULL;
	for (i = 0; i < l->count; i++)
	{
		if (strcmp(l->kvs[i].key, key) == 0)
			return &l->kvs[i];
	}
	return NULL;
}

void
etcd_watch_events_free(EtcdWatchEvent *events, int nevents)
{
	int			i;

	for (i = 0; i < nevents; i++)
	{
		kv_free(&events[i].kv);
		kv_free(&events[i].prev_kv);
	}
	free(events);
}
