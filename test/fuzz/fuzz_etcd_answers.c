/*-------------------------------------------------------------------------
 *
 * fuzz_etcd_answers.c
 *	  libFuzzer target: every etcd answer parser of etcd_proto.h.
 *
 * Each input is handed to every parser twice: as an exact-size buffer
 * with no terminating NUL (with its full length, so that AddressSanitizer
 * catches any read past len), and as a NUL-terminated copy with the
 * length strlen() gives (what a caller treating the body as a C string
 * would pass).  Everything the parsers return is freed, so LeakSanitizer
 * reports leaks on error paths too.  The first byte only picks the HTTP
 * code given to etcd_parse_error; the whole input is parsed regardless.
 * The input also goes through base64 encoding and back (which must give
 * it unchanged) and, as a key, through the request builders.
 *
 * Build and run: make fuzz-run (see README.md, "Fuzzing").
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_proto.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int http_codes[] = {200, 400, 401, 403, 404, 408, 412, 429,
								 500, 502, 503, 504, 0, 999};

/*
 * One answer through every parser.
 */
static void
parse_all(const char *body, size_t len, int http_code)
{
	EtcdError	err;
	int64_t		id;
	int64_t		n;
	int			ttl;
	EtcdKVList	kvs;
	EtcdTxnResult txn;
	char	   *token = NULL;
	char	   *decoded = NULL;
	size_t		decoded_len;
	bool		created;
	EtcdWatchEvent *events = NULL;
	int			nevents = 0;

	(void) etcd_parse_error(http_code, body, len, &err);

	(void) etcd_parse_lease_grant(body, len, &id, &ttl, &err);
	(void) etcd_parse_lease_keepalive(body, len, 6770214326162497814LL,
									  &ttl, &err);
	(void) etcd_parse_lease_keepalive(body, len, 999, &ttl, &err);
	(void) etcd_parse_lease_revoke(body, len, &err);

	memset(&kvs, 0, sizeof(kvs));
	(void) etcd_parse_range(body, len, &kvs, &err);
	etcd_kvlist_free(&kvs);

	(void) etcd_parse_put(body, len, &n, &err);
	(void) etcd_parse_delete(body, len, &n, &err);

	memset(&txn, 0, sizeof(txn));
	(void) etcd_parse_txn(body, len, &txn, &err);
	etcd_txn_result_free(&txn);

	(void) etcd_parse_authenticate(body, len, &token, &err);
	free(token);

	/* two lines in a row, so that events accumulate as in a real stream */
	(void) etcd_parse_watch_line(body, len, &created, &events, &nevents, &err);
	(void) etcd_parse_watch_line(body, len, &created, &events, &nevents, &err);
	etcd_watch_events_free(events, nevents);

	if (etcd_base64_decode(body, len, &decoded, &decoded_len, &err) == ETCD_OK)
		free(decoded);
}

/*
 * The input as data to encode and as a key: base64 must round-trip, and
 * the request builders must not fail on any NUL-terminated key.
 */
static void
encode_all(const char *bytes, size_t len, const char *key)
{
	EtcdError	err;
	char	   *enc;
	char	   *dec = NULL;
	size_t		declen = 0;
	size_t		endlen;
	char	   *s;

	enc = etcd_base64_encode(bytes, len);
	if (enc != NULL)
	{
		if (etcd_base64_decode(enc, strlen(enc), &dec, &declen, &err) != ETCD_OK ||
			declen != len || (len > 0 && memcmp(dec, bytes, len) != 0))
			abort();			/* base64 does not round-trip */
		free(dec);
		free(enc);
	}

	s = etcd_prefix_range_end(bytes, len, &endlen);
	free(s);
	free(etcd_build_range(key, true));
	free(etcd_build_put(key, key, 7));
	free(etcd_build_delete(key, true));
	free(etcd_build_txn(ETCD_TXN_CAS_VALUE, key, key, 3, key, ETCD_KEEP_LEASE));
	free(etcd_build_watch_create(key, 18));
	free(etcd_build_authenticate(key, key));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *exact;
	char	   *cstr;
	int			http_code;

	if (size > ETCD_MAX_ANSWER)
		return 0;
	http_code = size > 0 ?
		http_codes[data[0] % (sizeof(http_codes) / sizeof(http_codes[0]))] :
		400;

	/* length-delimited: exactly size bytes, no NUL after them */
	exact = malloc(size > 0 ? size : 1);
	if (exact == NULL)
		return 0;
	if (size > 0)
		memcpy(exact, data, size);
	parse_all(exact, size, http_code);

	/* NUL-terminated copy, length as a C string sees it */
	cstr = malloc(size + 1);
	if (cstr == NULL)
	{
		free(exact);
		return 0;
	}
	if (size > 0)
		memcpy(cstr, data, size);
	cstr[size] = '\0';
	parse_all(cstr, strlen(cstr), http_code);
	encode_all(exact, size, cstr);
	free(cstr);
	free(exact);

	return 0;
}
