#!/bin/bash
# pgha-watchdog's guard and hand-over: a leader whose keeper is frozen
# (SIGSTOP) is stopped by its watchdog at the keeper's fencing deadline,
# before its lease can expire, so no write is accepted once another node
# may lead; it then rejoins as a standby through pg_rewind.  SIGTERM to the
# new leader's watchdog hands the leader key over at once (well before the
# lease would expire).
set -u
cd "$(dirname "$0")/../.." || exit 1
. test/lib.sh

E=http://127.0.0.1:23771
SCOPE=wdg
P=/service/$SCOPE
TTL=10
NODES=(n1 n2 n3)
declare -A PORT=([n1]=25771 [n2]=25772 [n3]=25773)
declare -A WATCHDOG=()

stop_watchdogs() {
	local n
	for n in "${!WATCHDOG[@]}"; do kill -TERM "${WATCHDOG[$n]}" 2>/dev/null; done
	for n in "${!WATCHDOG[@]}"; do
		for _ in $(seq 300); do kill -0 "${WATCHDOG[$n]}" 2>/dev/null || break; sleep 0.1; done
	done
}
# the keeper this test freezes: the guard SIGKILLs it with its postmaster;
# if the test ends before that, it must not outlive the test frozen (an
# orphan keeps the test lock's descriptor it inherited)
kp=
kill_frozen_keeper() {
	[ -n "$kp" ] && [[ $(ps -o args= -p "$kp" 2>/dev/null) == *"pgha keeper"* ]] &&
		kill -KILL "$kp" 2>/dev/null
	return 0
}
trap 'kill_frozen_keeper; stop_watchdogs; cleanup' EXIT

start_etcd e1 23771 23772 || { not_ok "etcd starts"; done_testing; exit 1; }

for n in "${NODES[@]}"; do
	cat >"$TEST_TMP/$n.conf" <<CONF
pgha.scope = '$SCOPE'
pgha.node_name = '$n'
pgha.etcd_endpoints = '$E'
pgha.connect_address = '127.0.0.1:${PORT[$n]}'
pgha.ttl = $TTL
pgha.loop_wait = 2
pgha.retry_timeout = 3
port = ${PORT[$n]}
listen_addresses = '127.0.0.1'
unix_socket_directories = '$TEST_TMP'
logging_collector = off
fsync = off
CONF
	"$PGBIN/pgha-watchdog" --config "$TEST_TMP/$n.conf" --pgdata "$TEST_TMP/pg-$n" \
		--log "$TEST_TMP/wd-$n.log" --pg-log "$TEST_TMP/pg-$n.log" \
		--initdb-options '-A trust -U postgres --no-sync' &
	WATCHDOG[$n]=$!
	CLEANUP_PIDS+=("$!")
	CLEANUP_DATADIRS+=("$TEST_TMP/pg-$n")
done

# keeper_pid NODE: the keeper of the node's running postmaster
keeper_pid() {
	local pm
	pm=$(head -1 "$TEST_TMP/pg-$1/postmaster.pid" 2>/dev/null) || return 1
	ps -o pid=,args= --ppid "$pm" | awk '/pgha keeper/ { print $1 }'
}
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
	[ -n "$p" ] && [ "${p// /}" = "$p" ] &&
		[ "$(psql_at "${PORT[$p]}" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" = 2 ]
}
ms() { date +%s%3N; }

check "three watchdogs bring up one primary and two streaming standbys" poll_until 60 one_primary_two_streaming
L=$(primaries)
is "$(etcd_get $E $P/leader)" "$L" "the leader key names the primary ($L)"
psql_at "${PORT[$L]}" "CREATE TABLE probe (at bigint)" >/dev/null

# ---- the leader's keeper freezes ----

kp=$(keeper_pid "$L")
check "found the leader's keeper" test -n "$kp"
kill -STOP "$kp"
t0=$(ms)
note "keeper $kp of $L stopped at $t0"

# write every 100 ms until the primary stops taking writes; then see when
# the leader key (on the frozen keeper's lease) leaves etcd
last_write=0
while [ $(($(ms) - t0)) -lt $((TTL * 1000 + 5000)) ]; do
	if psql_at "${PORT[$L]}" "INSERT INTO probe VALUES ($(ms))" >/dev/null 2>&1; then
		last_write=$(ms)
	elif [ "$last_write" -gt 0 ]; then
		break
	fi
	sleep 0.1
done
note "last write accepted $((last_write - t0)) ms after the keeper froze"
key_moved() { [ "$(etcd_get $E $P/leader)" != "$L" ]; }
check "the frozen leader's key leaves etcd (lease expiry)" poll_until $((TTL + 5)) key_moved
key_gone=$(ms)
note "leader key no longer $L $((key_gone - t0)) ms after the keeper froze"
check "the watchdog fenced the primary before its lease could expire" test "$last_write" -gt 0 -a "$last_write" -lt "$key_gone"
check "the watchdog logged why it fenced" grep -q "FENCING: fence: keeper heartbeat past its fencing deadline" "$TEST_TMP/wd-$L.log"

check "one primary and two streaming standbys again" poll_until 30 one_primary_two_streaming
N=$(primaries)
check "another node leads ($N)" test "$N" != "$L"
# The fenced node restarts as a standby: through pg_rewind from the new
# leader when that one holds the key by then, or, when the key is still
# free, as a standby without upstream that its keeper points at the new
# leader once there is one (the race of a loaded machine: CI stop 17's
# full run); either way it must then stream from the new leader
rejoin_plan() {
	grep -qE "plan: (rewind 127\.0\.0\.1 ${PORT[$N]}|start-replica - - \(no leader)" "$TEST_TMP/wd-$L.log"
}
check "$L's watchdog planned its rejoin (pg_rewind from $N, or a standby until there is a leader)" rejoin_plan
streams_from_new() {
	[ "$(psql_at "${PORT[$N]}" "SELECT count(*) FROM pg_stat_replication WHERE application_name = '$L' AND state = 'streaming'")" = 1 ]
}
check "$L streams from the new leader $N" poll_until 30 streams_from_new
check "$L's pgha.fenced is gone once it is a standby" test ! -e "$TEST_TMP/pg-$L/pgha.fenced"
is "$(psql_at "${PORT[$L]}" "SELECT pg_is_in_recovery()")" t "$L is a standby"

# ---- SIGTERM to the new leader's watchdog: the key is handed over ----

kill -TERM "${WATCHDOG[$N]}"
t0=$(ms)
new_leader() {
	local k
	k=$(etcd_get $E $P/leader)
	[ -n "$k" ] && [ "$k" != "$N" ] && [ "$(psql_at "${PORT[$k]}" "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ]
}
check "after SIGTERM to $N's watchdog another node leads within ttl / 2" poll_until $((TTL / 2)) new_leader
note "hand-over took $(($(ms) - t0)) ms; leader now $(etcd_get $E $P/leader)"
for _ in $(seq 300); do kill -0 "${WATCHDOG[$N]}" 2>/dev/null || break; sleep 0.1; done
wait "${WATCHDOG[$N]}"
is "$?" 0 "$N's watchdog exited with status 0"
unset "WATCHDOG[$N]"
check "$N's watchdog released the leader key" grep -q "released the leader key" "$TEST_TMP/wd-$N.log"
"$PGBIN/pg_ctl" status -D "$TEST_TMP/pg-$N" >/dev/null 2>&1
is "$?" 3 "$N's postgres is stopped"

stop_watchdogs
for n in "${NODES[@]}"; do
	"$PGBIN/pg_ctl" status -D "$TEST_TMP/pg-$n" >/dev/null 2>&1
	is "$?" 3 "$n's postgres is stopped at the end"
done
WATCHDOG=()

done_testing
