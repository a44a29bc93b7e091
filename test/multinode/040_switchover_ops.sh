#!/bin/bash
# Planned switchover, scheduled switchover and its cancellation, pause
# preventing failover, and manual failover, on 3 nodes run by pgha-watchdog,
# all through the SQL functions.  During the switchovers a writer (through
# a multi-host DSN) and a probe per node run: no acknowledged write may be
# lost (a switchover hands over only once the candidate has the old
# leader's final WAL), no two nodes may accept writes at overlapping times,
# and the old leader must stream again without pg_rewind.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_PG_BASE=26200
CLUSTER_ETCD_PORT=24210
CLUSTER_SCOPE=ops
. test/cluster.sh

sql() { psql_at "$(node_port "$1")" "$2"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
others() { for n in n1 n2 n3; do [ "$n" != "$1" ] && [ "$n" != "${2:-}" ] && echo "$n"; done; }
leader_is() { [ "$(cluster_leader)" = "$1" ]; }
no_leader() { [ -z "$(cluster_leader)" ]; }

cluster_workload_build || { not_ok "workload tool builds"; done_testing; exit 1; }
cluster_start 3
check "three nodes bootstrap and stream" cluster_wait_healthy 90
L=$(cluster_leader)
read -r C R <<<"$(others "$L" | tr '\n' ' ')"
note "leader $L, candidate $C, third $R"
sql "$L" "CREATE ROLE ops_user LOGIN IN ROLE pgha_admin" >/dev/null

# 1. switchover under load, asked on the third node, which waits for it
cluster_workload_start 20
cluster_wait_writes 100 15
t0=$(date +%s%N)
got=$("$PGBIN/psql" -X -h "$TEST_TMP" -p "$(node_port "$R")" -U ops_user -d postgres -Atq \
	-c "SELECT pgha_switchover('$C')" 2>&1)
note "pgha_switchover('$C') on $R returned after $(ms_since "$t0") ms: $got"
is "$got" "$C" "pgha_switchover() returns the new leader"
check "the old leader streams again" cluster_wait_healthy 20
note "old leader $L streams from $C $(ms_since "$t0") ms after the request"
check "the old leader checkpointed before it stopped writes (as Patroni)" \
	grep -q "pgha: checkpoint before the switchover done in" "$(node_data "$L").log"
check "its guard released the leader key once the control file said shut down, before the postmaster exited" \
	grep -q "guard: release: postgres shut down at .*released the leader key" "$TEST_TMP/watchdog-$L.log"
check "the release was one request: the guard had read the keys as the shutdown began" \
	grep -q "guard: release: .*one request: the keys were read as the shutdown began" "$TEST_TMP/watchdog-$L.log"
check "the old leader rejoined without pg_rewind" \
	grep -q "following it without pg_rewind" "$TEST_TMP/watchdog-$L.log"
check "and pg_rewind never ran on it" bash -c "! grep -q 'running pg_rewind\|pg_rewind --' '$TEST_TMP/watchdog-$L.log'"
cluster_workload_wait
if cluster_check 0; then ok "no acknowledged write lost, no split brain"; else not_ok "no acknowledged write lost, no split brain"; fi
note "switchover write outage: $CHECK_OUTAGE_MS ms (acked $CHECK_ACKED, lost $CHECK_LOST)"
is "$CHECK_SPLIT" "0" "never two writable primaries"
is "$(sql "$C" "SELECT count(*) FROM pgha_history()")" "1" "pgha_history() lists the switch"
is "$(sql "$C" "SELECT new_leader FROM pgha_history() ORDER BY timeline DESC LIMIT 1")" "$C" \
	"... with the new leader"
is "$(etcd_get "$CLUSTER_E" /service/ops/failover)" "{}" "the failover key is reset to {}"

# 2. a scheduled switchover is carried out at its time
L=$C
read -r C R <<<"$(others "$L" | tr '\n' ' ')"
# 5 s ahead: the two checks below and the 2 s watch end before it even on
# a loaded machine (with 3 s a slow etcd_get/jq let the watch reach it)
out=$(sql "$R" "SELECT pgha_switchover('$C', now() + interval '5 seconds')" 2>&1)
check "a scheduled switchover is accepted" grep -q "scheduled at" <<<"$out"
check "it is stored in Patroni's format" \
	jq -e --arg l "$L" --arg c "$C" '.leader == $l and .member == $c and (.scheduled_at | test("T"))' \
	<<<"$(etcd_get "$CLUSTER_E" /service/ops/failover)"
# A session on the leader holds a transaction open across the handover,
# and the leader's postmaster is frozen before the switchover's time (not
# after the 2 s watch: on a loaded machine the fast shutdown had begun by
# then and ended the session, CI stop 15).  The keeper fences at the
# switchover's time but the fast shutdown waits: a commit meanwhile is
# refused by the backend itself, and says why (it once blamed the lease,
# "by <uptime> ms").
sql "$L" "CREATE TABLE fence_probe(x int)" >/dev/null
coproc HOLD { "$PGBIN/psql" -X -h "$TEST_TMP" -p "$(node_port "$L")" -U postgres -d postgres -Atq 2>&1; }
hold_w=${HOLD[1]} hold_r=${HOLD[0]} hold_pid=$HOLD_PID
echo "BEGIN; INSERT INTO fence_probe VALUES (1); SELECT 'in transaction';" >&"$hold_w"
read -r -t 10 line <&"$hold_r"
is "$line" "in transaction" "a session on the leader holds a transaction open"
pm=$(node_postmaster_pid "$L")
kill -STOP "$pm"
check "nothing happens before its time (2 s watched)" holds_for 2 leader_is "$L"
fenced() { grep -q "pgha: fencing this primary: switchover to $C" "$(node_data "$L").log"; }
check "the leader's keeper fences at the switchover's time" poll_until 15 fenced
echo "COMMIT;" >&"$hold_w"
refusal=""
while read -r -t 10 line <&"$hold_r"; do
	refusal+="$line"$'\n'
	[[ $line == DETAIL:* ]] && break
done
kill -CONT "$pm"
note "$(head -2 <<<"$refusal")"
check "a commit after the fence is refused" grep -q "past its fencing deadline, the transaction is not committed" <<<"$refusal"
check "and the refusal gives the fence's reason, not the lease" \
	grep -q "DETAIL:  Its keeper fenced this primary (switchover to $C)" <<<"$refusal"
# the coprocess may have ended (bash then closes its descriptors)
{ eval "exec $hold_w>&-"; } 2>/dev/null
wait "$hold_pid" 2>/dev/null
check "it happens at its time" poll_until 15 leader_is "$C"
check "and the cluster is whole again" cluster_wait_healthy 20

# 3. a scheduled switchover can be cancelled.  Asked on the leader while
# the candidate's member key is stale: its keeper frozen across a WAL
# segment switch, the key says 16 MB behind the published optime; the
# leader checks with what its walsenders see (it refused, "16777216 bytes
# behind the leader", when its keys were a loop_wait old)
L=$C
read -r C R <<<"$(others "$L" | tr '\n' ' ')"
kp=$(node_keeper_pid "$C")
kill -STOP "$kp"
sql "$L" "INSERT INTO fence_probe VALUES (2); SELECT pg_switch_wal(); INSERT INTO fence_probe VALUES (3)" >/dev/null
key_lag() {
	local opt pos
	opt=$(etcd_get "$CLUSTER_E" /service/ops/status | jq -r .optime)
	pos=$(etcd_get "$CLUSTER_E" "/service/ops/members/$C" | jq -r .xlog_location)
	echo $((opt - pos))
}
stale() { [ "$(key_lag)" -gt 1048576 ]; }
check "$C's frozen keeper leaves its member key > 1 MB behind the published optime" \
	poll_until $((CLUSTER_LOOP_WAIT + 5)) stale
note "$C's key is $(key_lag) bytes behind; its walsender on $L: $(sql "$L" "SELECT state, flush_lsn = pg_current_wal_flush_lsn() FROM pg_stat_replication WHERE application_name = '$C'")"
out=$(sql "$L" "SELECT pgha_switchover('$C', now() + interval '1 hour')" 2>&1)
kill -CONT "$kp"
check "asked on the leader, it is accepted (the walsender's position, not the stale key)" \
	grep -q "scheduled at" <<<"$out"
note "$out"
sql "$R" "SELECT pgha_switchover_cancel()" >/dev/null
is "$(etcd_get "$CLUSTER_E" /service/ops/failover)" "{}" "pgha_switchover_cancel() clears the request"
err=$(sql "$R" "SELECT pgha_switchover_cancel()" 2>&1)
check "cancelling nothing is an error" grep -q "no switchover or failover request is pending" <<<"$err"

# 4. paused: the leader's death is not followed by a failover
sql "$R" "SELECT pgha_pause()" >/dev/null
paused() { [ "$(sql "$1" "SELECT paused FROM pgha_status()")" = t ]; }
for n in n1 n2 n3; do
	check "pgha_status() on $n shows the pause" poll_until 10 paused "$n"
done
check "pghactl list says maintenance mode" grep -q "Maintenance mode: on" \
	<<<"$(./pghactl --endpoints "$CLUSTER_E" --scope ops list 2>&1)"
cluster_kill_node "$L"
t0=$(date +%s%N)
check "the leader key expires" poll_until $((CLUSTER_TTL + 10)) no_leader
note "leader key gone $(ms_since "$t0") ms after the kill"
check "no replica takes over while paused ($((2 * CLUSTER_LOOP_WAIT + 2)) s watched)" \
	holds_for $((2 * CLUSTER_LOOP_WAIT + 2)) no_leader
for n in $C $R; do
	is "$(sql "$n" "SELECT role FROM pgha_status()")" "replica" "$n is still a replica"
done

# 5. manual failover while paused and leaderless
t0=$(date +%s%N)
got=$(sql "$R" "SELECT pgha_failover('$C')" 2>&1)
is "$got" "$C" "pgha_failover() promotes the candidate"
note "manual failover took $(ms_since "$t0") ms"
sql "$R" "SELECT pgha_resume()" >/dev/null
cluster_restart_node "$L"
check "the killed leader rejoins after resume" cluster_wait_healthy 60
is "$(cluster_leader)" "$C" "the manual failover's candidate leads"

done_testing
