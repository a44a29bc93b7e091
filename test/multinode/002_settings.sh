#!/bin/bash
# Settings the keeper cannot work with: required ones missing, a timing that
# breaks ttl >= loop_wait + 2 * retry_timeout, an unreadable certificate.
# The keeper stays idle, says why in pgha_status() and once in the log,
# and leaves the idle state on reload once the settings are fixed.  Without
# shared_preload_libraries the SQL functions give a clear error.
set -u
cd "$(dirname "$0")/../.."
. test/lib.sh

start_etcd s1 23721 23722 || { not_ok "etcd starts"; done_testing; exit 1; }
conf_set() { sed -i "/^$2 = /d" "$1/postgresql.conf"; echo "$2 = $3" >>"$1/postgresql.conf"; }

pg_node n1 25441 "pgha.scope = 'settings'" "pgha.node_name = 'n1'"
pg_start "$PGDATA_n1" && ok "postgres starts with required pgha settings missing" || not_ok "postgres starts"
psql_at 25441 "CREATE EXTENSION pgha" >/dev/null
st() { psql_at 25441 "SELECT state || '|' || role || '|' || coalesce(last_error, '') FROM pgha_status()"; }
idle() { [[ "$(st)" == idle* ]]; }
check "keeper is idle" poll_until 5 idle
is "$(st)" "idle|unknown|required settings are not set: pgha.etcd_endpoints, pgha.connect_address" \
	"pgha_status() names the missing settings"
is "$(grep -c 'keeper is idle: required settings are not set' "$PGDATA_n1/server.log")" "1" "the log says it once"
# the settings come later than retry_timeout after the start, as from an
# operator: the first deadline counts from leaving the idle state (it once
# counted from the keeper's start, and the primary fenced itself at once)
sleep 4

conf_set "$PGDATA_n1" pgha.etcd_endpoints "'http://127.0.0.1:23721'"
conf_set "$PGDATA_n1" pgha.connect_address "'127.0.0.1:25441'"
conf_set "$PGDATA_n1" pgha.ttl 10
conf_set "$PGDATA_n1" pgha.loop_wait 5
conf_set "$PGDATA_n1" pgha.retry_timeout 3
psql_at 25441 "SELECT pg_reload_conf()" >/dev/null
timing() { [[ "$(st)" == "idle|unknown|invalid pgha.ttl"* ]]; }
check "ttl < loop_wait + 2 * retry_timeout keeps the keeper idle" poll_until 5 timing
note "$(st)"
check "the etcd keys were not touched" test -z "$(etcd_get http://127.0.0.1:23721 /service/settings/leader)"

conf_set "$PGDATA_n1" pgha.loop_wait 2
conf_set "$PGDATA_n1" pgha.etcd_cacert "'$TEST_TMP/missing-ca.crt'"
psql_at 25441 "SELECT pg_reload_conf()" >/dev/null
cert() { [[ "$(st)" == *"pgha.etcd_cacert file"*"is not readable"* ]]; }
check "an unreadable certificate file is named" poll_until 5 cert

sed -i "/^pgha.etcd_cacert = /d" "$PGDATA_n1/postgresql.conf"
psql_at 25441 "SELECT pg_reload_conf()" >/dev/null
leads() { [ "$(st)" = "leading|primary|" ]; }
check "fixed settings take effect on reload" poll_until 10 leads
check "the log says the keeper left the idle state" grep -q "leaving idle state" "$PGDATA_n1/server.log"

# a bad value in postgresql.conf at reload is refused by the check hook
conf_set "$PGDATA_n1" pgha.etcd_endpoints "'etcd:2379'"
psql_at 25441 "SELECT pg_reload_conf()" >/dev/null
# the log line shows the reload was processed; only then is SHOW telling
check "the log says the malformed value was refused" poll_until 10 \
	grep -q 'invalid value for parameter "pgha.etcd_endpoints": "etcd:2379"' "$PGDATA_n1/server.log"
is "$(psql_at 25441 "SHOW pgha.etcd_endpoints")" "http://127.0.0.1:23721" "a malformed endpoint list is not applied"
pg_stop "$PGDATA_n1"

# not preloaded: a clear error
pg_node n2 25442
sed -i "/^shared_preload_libraries/d" "$PGDATA_n2/postgresql.conf"
pg_start "$PGDATA_n2"
psql_at 25442 "CREATE EXTENSION pgha" >/dev/null
err=$("$PGBIN/psql" -X -h "$TEST_TMP" -p 25442 -U postgres -d postgres -Atq -v VERBOSITY=verbose -c "SELECT * FROM pgha_status()" 2>&1)
check "pgha_status() without preload fails with 55000" grep -q "ERROR:  55000: pgha is not loaded" <<<"$err"
check "and hints at shared_preload_libraries" grep -q "HINT:  Add pgha to shared_preload_libraries" <<<"$err"
pg_stop "$PGDATA_n2"

done_testing
