#!/bin/bash
# Cold start after a clean stop of the whole cluster (issue 9, item 11).
#
# Replica B is stopped cleanly; the writer goes on (B misses those commits);
# then replica C and at last the leader L are stopped cleanly, so that L's
# watchdog releases the key and publishes L's final position.  Started
# alone, B is within maximum_lag_on_failover of that position, but it must
# not promote: the commits it lacks were acknowledged, and L still has them.
# It waits; once L is started, L leads again and nothing acknowledged is
# lost.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_SCOPE=coldstart CLUSTER_PG_BASE=26710 CLUSTER_ETCD_PORT=24720
. test/cluster.sh

ctl() { ./pghactl --endpoints "$CLUSTER_E" --scope "$CLUSTER_SCOPE" "$@"; }
no_leader_key() { [ -z "$(cluster_leader)" ]; }
in_recovery() { [ "$(node_sql "$1" "SELECT pg_is_in_recovery()")" = t ]; }

cluster_start_loaded
L=$CLUSTER_OLD
reps=()
for n in n1 n2 n3; do [ "$n" = "$L" ] || reps+=("$n"); done
B=${reps[0]} C=${reps[1]}
note "leader $L, behind $B, other replica $C"
check "maximum_lag_on_failover = 64 MB" ctl edit-config --force --set maximum_lag_on_failover=67108864

expect "$B stops cleanly" cluster_stop_node "$B"
expect "commits go on without $B" cluster_wait_writes 200 20
expect "$C stops cleanly" cluster_stop_node "$C"
expect "commits go on without $C" cluster_wait_writes 20 10
cluster_workload_stop
expect "the leader $L stops cleanly" cluster_stop_node "$L"
check "the leader key is released" no_leader_key
note "status: $(cluster_etcd_get "/service/$CLUSTER_SCOPE/status")"
note "final: $(cluster_etcd_get "/service/$CLUSTER_SCOPE/pgha_final")"

cluster_restart_node "$B"
t0=$(cluster_now_ms)
expect "$B starts as a standby" poll_until 30 in_recovery "$B"
# the other members' keys expire within ttl; before the fix B promoted then
if poll_until $((CLUSTER_TTL * 2 + 5)) node_writable "$B"; then
	not_ok "$B, behind the stopped leader's final position, does not promote alone ($(($(cluster_now_ms) - t0)) ms after its start it did)"
	cluster_dump
else
	ok "$B, behind the stopped leader's final position, does not promote alone"
fi
note "$B: $(node_sql "$B" "SELECT role, state, leader FROM pgha_status()")"

cluster_restart_node "$L"
expect "$L, which has every acknowledged commit, leads again" cluster_wait_leader 60
is "$CLUSTER_NEW_LEADER" "$L" "the leader is $L"
cluster_restart_node "$C"
expect "the cluster is whole again" cluster_wait_healthy 90

cluster_check 0
is "${CHECK_LOST:-x}" 0 "no acknowledged write is lost"
is "${CHECK_SPLIT:-x}" 0 "no split-brain window"
done_testing
