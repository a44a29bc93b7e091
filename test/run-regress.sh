#!/bin/bash
# pg_regress suite: start a real etcd, run `make installcheck` against a
# temporary instance that preloads pgha and talks to it, stop etcd.
# Prints "regress: N passed, M failed".
set -u
cd "$(dirname "$0")/.."
. test/lib.sh

ETCD_PORT=23701
start_etcd regress $ETCD_PORT 23702 || { echo "regress: 0 passed, 1 failed"; exit 1; }

# members that exist only in etcd, for the argument checks of
# pgha_switchover(): a replica far behind and one tagged nofailover
put_key() {
	curl -sf -XPOST "http://127.0.0.1:$ETCD_PORT/v3/kv/put" \
		-d "{\"key\":\"$(printf %s "$1" | base64 -w0)\",\"value\":\"$(printf %s "$2" | base64 -w0)\"}" >/dev/null
}
put_key /service/regress/members/laggard \
	'{"conn_url":"postgres://127.0.0.1:54330/postgres","state":"running","role":"replica","version":"1.0.0","xlog_location":0,"timeline":1}'
put_key /service/regress/members/tagged \
	'{"conn_url":"postgres://127.0.0.1:54331/postgres","state":"running","role":"replica","version":"1.0.0","tags":{"nofailover":true},"xlog_location":0,"timeline":1}'

out=$TEST_TMP/regress
mkdir -p "$out"
cat >"$out/pgha_regress.conf" <<CONF
shared_preload_libraries = 'pgha'
pgha.scope = 'regress'
pgha.node_name = 'regress1'
pgha.etcd_endpoints = 'http://127.0.0.1:$ETCD_PORT'
pgha.connect_address = '127.0.0.1:54329'
pgha.ttl = 10
pgha.loop_wait = 1
pgha.retry_timeout = 3
CONF

make -s installcheck PGHA_REGRESS_OUT="$out" >"$out/installcheck.log" 2>&1
rc=$?
cat "$out/installcheck.log"
if [ $rc -ne 0 ]; then
	TAP_FAILED=1	# keep the files for a look
	[ -f "$out/regression.diffs" ] && cat "$out/regression.diffs"
fi
total=$(grep -cE '^(test| |)[ ]*[a-z_]+ +\.\.\. ' "$out/installcheck.log" || true)
[ "$total" -gt 0 ] || total=$(grep -cE '^(ok|not ok) ' "$out/installcheck.log" || true)
failed=$(grep -cE '\.\.\. FAILED|^not ok ' "$out/installcheck.log" || true)
if [ $rc -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "regress: $((total - failed)) passed, $failed failed"
[ $rc -eq 0 ]
