#!/bin/bash
# pgha-watchdog end to end: three nodes started only through their
# watchdogs bootstrap one cluster (exactly one initdb, two clones streaming
# through their slots); a leader whose postmaster is killed comes back (its
# watchdog restarts it as a standby and its keeper promotes it again) or
# hands over, with exactly one primary and two streaming standbys within
# ttl + 5 s; SIGTERM to each watchdog stops its postgres and releases the
# leader key.
set -u
cd "$(dirname "$0")/../.."
. test/lib.sh

E=http://127.0.0.1:23761
SCOPE=wd
P=/service/$SCOPE
TTL=10
NODES=(n1 n2 n3)
declare -A PORT=([n1]=25751 [n2]=25752 [n3]=25753)
declare -A WATCHDOG=()

# the watchdogs go first, so that none restarts a postgres that lib.sh's
# cleanup has just stopped
stop_watchdogs() {
	local n
	for n in "${!WATCHDOG[@]}"; do kill -TERM "${WATCHDOG[$n]}" 2>/dev/null; done
	for n in "${!WATCHDOG[@]}"; do
		for _ in $(seq 300); do kill -0 "${WATCHDOG[$n]}" 2>/dev/null || break; sleep 0.1; done
	done
}
trap 'stop_watchdogs; cleanup' EXIT

start_etcd e1 23761 23762 || { not_ok "etcd starts"; done_testing; exit 1; }

for n in "${NODES[@]}"; do
	cat >"$TEST_TMP/$n.conf" <<CONF
pgha.scope = '$SCOPE'
pgha.node_name = '$n'
pgha.etcd_endpoints = '$E'
pgha.connect_address = '127.0.0.1:${PORT[$n]}'
pgha.replication_user = 'postgres'
pgha.ttl = $TTL
pgha.loop_wait = 2
pgha.retry_timeout = 3
port = ${PORT[$n]}
listen_addresses = '127.0.0.1'
unix_socket_directories = '$TEST_TMP'
logging_collector = off
fsync = off
CONF
done

start_watchdog() {
	local n=$1
	"$PGBIN/pgha-watchdog" --config "$TEST_TMP/$n.conf" --pgdata "$TEST_TMP/pg-$n" \
		--log "$TEST_TMP/wd-$n.log" --pg-log "$TEST_TMP/pg-$n.log" \
		--initdb-options '-A trust -U postgres --no-sync' --interval-ms 200 &
	WATCHDOG[$n]=$!
	CLEANUP_PIDS+=("$!")
	CLEANUP_DATADIRS+=("$TEST_TMP/pg-$n")
}

# a watchdog refuses root, and says so (only checkable as root)
if [ "$(id -u)" -eq 0 ]; then
	out=$("$PGBIN/pgha-watchdog" --config "$TEST_TMP/n1.conf" --pgdata "$TEST_TMP/x" 2>&1)
	check "the watchdog refuses to run as root" grep -q "refusing to run as root" <<<"$out"
fi

t0=$(date +%s%N)
for n in "${NODES[@]}"; do start_watchdog "$n"; done

pghactl_list() { "$PGBIN/pghactl" -c "$TEST_TMP/n1.conf" list 2>&1; }
bootstrapped() {
	local l
	l=$(pghactl_list)
	[ "$(grep -cE '\| Leader +\| running' <<<"$l")" = 1 ] &&
		[ "$(grep -cE '\| Replica +\| running' <<<"$l")" = 2 ]
}
check "three watchdogs bootstrap one leader and two running replicas" poll_until 60 bootstrapped
note "bootstrapped in $((($(date +%s%N) - t0) / 1000000)) ms"
pghactl_list | sed 's/^/#   /'

is "$(cat "$TEST_TMP"/wd-n?.log | grep -c 'running initdb')" 1 "exactly one node ran initdb"
is "$(cat "$TEST_TMP"/wd-n?.log | grep -cE 'cloned 127\.0\.0\.1:[0-9]+$')" 2 "the two others cloned the leader"

L=$(etcd_get $E $P/leader)
LP=${PORT[$L]:-0}
note "leader: $L (port $LP)"
sysid=$("$PGBIN/pg_controldata" "$TEST_TMP/pg-$L" | sed -n 's/^Database system identifier: *//p')
is "$(etcd_get $E $P/initialize)" "$sysid" "the initialize key holds the leader's system identifier"

replicas=()
for n in "${NODES[@]}"; do [ "$n" != "$L" ] && replicas+=("$n"); done

streaming_rows() { psql_at "$1" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"; }
two_streaming() { [ "$(streaming_rows "$1")" = 2 ]; }
check "the leader streams to both replicas" poll_until 15 two_streaming "$LP"
is "$(psql_at "$LP" "SELECT string_agg(application_name, ',' ORDER BY application_name) FROM pg_stat_replication")" \
	"$(IFS=,; echo "${replicas[*]}")" "pg_stat_replication names the replicas"

slots_active() {
	[ "$(psql_at "$LP" "SELECT string_agg(slot_name || ':' || active, ',' ORDER BY slot_name) FROM pg_replication_slots WHERE slot_type = 'physical'")" = \
		"${replicas[0]}:true,${replicas[1]}:true" ]
}
check "each replica streams through its own active slot" poll_until 15 slots_active
psql_at "$LP" "SELECT slot_name, active FROM pg_replication_slots" | sed 's/^/#   /'

psql_at "$LP" "CREATE EXTENSION pgha" >/dev/null
following() { [ "$(psql_at "${PORT[$1]}" "SELECT role || '/' || state || '/' || leader FROM pgha_status()" 2>/dev/null)" = "replica/following/$L" ]; }
for n in "${replicas[@]}"; do
	check "$n's pgha_status() says it follows $L" poll_until 15 following "$n"
	check "$n's postgresql.conf includes its own config, not the leader's" \
		grep -qx "include '$TEST_TMP/$n.conf'.*" "$TEST_TMP/pg-$n/postgresql.conf"
	check "$n's upstream is in pgha_recovery.conf with its slot" \
		grep -q "^primary_slot_name = '$n'" "$TEST_TMP/pg-$n/pgha_recovery.conf"
done
check "no watchdog logged a failure" bash -c "! grep -hE 'pgha-watchdog\[[0-9]+\]: .*(failed|error)' '$TEST_TMP'/wd-n?.log"

# ---- the leader's postmaster dies ----

primaries() {
	local n out=
	for n in "${NODES[@]}"; do
		[ "$(psql_at "${PORT[$n]}" "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ] && out+="$n "
	done
	echo "${out% }"
}
one_primary_two_streaming() {
	local p
	p=$(primaries)
	[ -n "$p" ] && [ "${p// /}" = "$p" ] && two_streaming "${PORT[$p]}"
}

psql_at "$LP" "CREATE TABLE t (i int); INSERT INTO t VALUES (1)" >/dev/null
replayed() { [ "$(psql_at "${PORT[$1]}" "SELECT count(*) FROM t" 2>/dev/null)" = 1 ]; }
both_replayed() { replayed "${replicas[0]}" && replayed "${replicas[1]}"; }
check "a committed row reaches both replicas" poll_until 10 both_replayed
kill -9 "$(head -1 "$TEST_TMP/pg-$L/postmaster.pid")"
t0=$(date +%s%N)
check "after kill -9 of the leader's postmaster: one primary, two streaming standbys within ttl + 5 s" \
	poll_until $((TTL + 5)) one_primary_two_streaming
note "recovered in $((($(date +%s%N) - t0) / 1000000)) ms: primary now $(primaries), leader key $(etcd_get $E $P/leader)"
NEWL=$(primaries)
is "$(etcd_get $E $P/leader)" "$NEWL" "the leader key names the primary"
if [ "$NEWL" = "$L" ]; then
	check "the watchdog restarted $L as a standby" grep -q 'postgres started as a standby without upstream' "$TEST_TMP/wd-$L.log"
else
	check "the watchdog rejoined $L as a standby of $NEWL" grep -qE "postgres started as a standby of 127\.0\.0\.1:${PORT[$NEWL]}" "$TEST_TMP/wd-$L.log"
fi
is "$(psql_at "${PORT[$NEWL]}" "SELECT count(*) FROM t")" 1 "the committed row survived"
settled() {
	local l
	l=$(pghactl_list)
	[ "$(grep -cE '\| Leader +\| running' <<<"$l")" = 1 ] &&
		[ "$(grep -cE '\| Replica +\| running' <<<"$l")" = 2 ]
}
check "pghactl list shows one Leader and two running Replicas" poll_until 10 settled
pghactl_list | sed 's/^/#   /'

# ---- SIGTERM: each watchdog stops its postgres; the leader's releases the key ----

stop_one() {
	local n=$1 rc
	kill -TERM "${WATCHDOG[$n]}"
	for _ in $(seq 300); do kill -0 "${WATCHDOG[$n]}" 2>/dev/null || break; sleep 0.1; done
	wait "${WATCHDOG[$n]}"
	rc=$?
	unset "WATCHDOG[$n]"
	is "$rc" 0 "SIGTERM: $n's watchdog exits with status 0"
	"$PGBIN/pg_ctl" status -D "$TEST_TMP/pg-$n" >/dev/null 2>&1
	is "$?" 3 "SIGTERM: $n's postgres is stopped"
}
for n in "${NODES[@]}"; do [ "$n" != "$NEWL" ] && stop_one "$n"; done
stop_one "$NEWL"
check "the leader's watchdog released the leader key" grep -q "released the leader key" "$TEST_TMP/wd-$NEWL.log"
is "$(etcd_get $E $P/leader)" "" "no leader key is left behind"

done_testing
