/*-------------------------------------------------------------------------
 *
 * etcd_proto.h
 *	  The etcd v3 JSON gateway protocol without any I/O: request bodies,
 *	  base64, and the parsing of every answer etcd 3.4 sends.
 *
 * etcd_client.c only moves bytes; everything that knows what those bytes
 * mean lives here, so that the unit tests can feed recorded (and hostile)
 * answers to exactly the code the keeper runs.  The parsers trust nothing:
 * wrong types, truncation, oversize input, bad base64 and overflowing
 * integers all come back as ETCD_ERR_PROTOCOL with a message naming the
 * offending field; output parameters are zeroed on every error.
 *
 * Decisions on odd input:
 *	- keys that decode to an empty string or contain a NUL byte are
 *	  rejected (a C string cannot represent them); values may contain NUL
 *	  bytes, value_len then tells the real length;
 *	- int64 fields are accepted as JSON strings (what etcd sends) or JSON
 *	  integers, never as floats; JSON null counts as an omitted field;
 *	- duplicate object keys are rejected; answers above ETCD_MAX_ANSWER
 *	  bytes are rejected; nesting depth is bounded by jansson (2048).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_ETCD_PROTO_H
#define PGHA_ETCD_PROTO_H

#include "etcd_client.h"

/* largest answer (or single watch line) we accept */
#define ETCD_MAX_ANSWER		(16 * 1024 * 1024)

#if defined(__GNUC__)
#define ETCD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ETCD_PRINTF(f, a)
#endif

/* errors */
extern void etcd_error_clear(EtcdError *err);
extern EtcdStatus etcd_error_set(EtcdError *err, EtcdStatus status,
								 const char *fmt,...) ETCD_PRINTF(3, 4);
extern EtcdStatus etcd_status_from_codes(int http_code, int grpc_code,
										 const char *message);

/* base64 (standard alphabet, padded); NULL / ETCD_ERR_NOMEM on OOM */
extern char *etcd_base64_encode(const void *data, size_t len);
extern EtcdStatus etcd_base64_decode(const char *in, size_t inlen,
									 char **out, size_t *outlen,
									 EtcdError *err);

/*
 * range_end selecting every key that starts with prefix: the prefix cut
 * after its last byte below 0xff, that byte incremented.  A prefix made
 * only of 0xff bytes (or empty) gives "\0", which etcd reads as "to the
 * end of the key space".  Returns malloc'd bytes (NUL-terminated too),
 * NULL on OOM.
 */
extern char *etcd_prefix_range_end(const char *prefix, size_t len,
								   size_t *endlen);

/* request bodies: malloc'd compact JSON, NULL on OOM */
typedef enum EtcdTxnKind
{
	ETCD_TXN_CREATE,			/* put if create_revision == 0 */
	ETCD_TXN_CAS_VALUE,			/* put if value == expected */
	ETCD_TXN_CAS_MOD,			/* put if mod_revision == mod_revision */
	ETCD_TXN_CAD_VALUE			/* delete if value == expected */
} EtcdTxnKind;

extern char *etcd_build_range(const char *key, bool prefix);
extern char *etcd_build_put(const char *key, const char *value, int64_t lease);
extern char *etcd_build_delete(const char *key, bool prefix);
extern char *etcd_build_txn(EtcdTxnKind kind, const char *key,
							const char *expected, int64_t mod_revision,
							const char *value, int64_t lease);
/* the same; expected_lease >= 0 adds a LEASE == expected_lease compare */
extern char *etcd_build_txn_lease(EtcdTxnKind kind, const char *key,
								  const char *expected, int64_t expected_lease,
								  int64_t mod_revision, const char *value,
								  int64_t lease);
/* the same, whose success branch also puts these keys (nputs >= 0) */
extern char *etcd_build_txn_lease_puts(EtcdTxnKind kind, const char *key,
									   const char *expected,
									   int64_t expected_lease,
									   int64_t mod_revision,
									   const char *value, int64_t lease,
									   const EtcdPutOp *puts, int nputs);
extern char *etcd_build_lease_grant(int ttl);
extern char *etcd_build_lease_id(int64_t id);	/* keepalive and revoke */
extern char *etcd_build_watch_create(const char *prefix,
									 int64_t start_revision);
extern char *etcd_build_authenticate(const char *name, const char *password);

/*
 * A non-200 answer: the unary error body {"error","message","code"} (or
 * any text), mapped to a status.  Fills err->http_code/grpc_code and a
 * message "HTTP <code>: <etcd's message>".
 */
extern EtcdStatus etcd_parse_error(int http_code, const char *body, size_t len,
								   EtcdError *err);

/* 200 answers of the unary calls */
extern EtcdStatus etcd_parse_lease_grant(const char *body, size_t len,
										 int64_t *id, int *ttl,
										 EtcdError *err);
/* one-shot keepalive stream; *ttl_left = 0 when the lease is gone */
extern EtcdStatus etcd_parse_lease_keepalive(const char *body, size_t len,
											 int64_t id, int *ttl_left,
											 EtcdError *err);
extern EtcdStatus etcd_parse_lease_revoke(const char *body, size_t len,
										  EtcdError *err);
extern EtcdStatus etcd_parse_range(const char *body, size_t len,
								   EtcdKVList *out, EtcdError *err);
extern EtcdStatus etcd_parse_put(const char *body, size_t len,
								 int64_t *revision, EtcdError *err);
extern EtcdStatus etcd_parse_delete(const char *body, size_t len,
									int64_t *deleted, EtcdError *err);
extern EtcdStatus etcd_parse_txn(const char *body, size_t len,
								 EtcdTxnResult *res, EtcdError *err);
/* *token: malloc'd; an empty or header-unsafe token is a protocol error */
extern EtcdStatus etcd_parse_authenticate(const char *body, size_t len,
										  char **token, EtcdError *err);

/*
 * One line of the watch stream.  *created is set when the line is the
 * watch creation answer; events of the line are appended to
 * *events and *nevents (realloc'd) only when the whole line is valid.  A
 * canceled watch gives ETCD_ERR_COMPACTED (compact_revision set) or the
 * status of its cancel_reason; an in-stream {"error":{...}} gives the
 * status of its grpc/http codes.  Progress notifications give ETCD_OK and
 * no events.
 */
extern EtcdStatus etcd_parse_watch_line(const char *line, size_t len,
										bool *created,
										EtcdWatchEvent **events, int *nevents,
										EtcdError *err);

#endif							/* PGHA_ETCD_PROTO_H */
