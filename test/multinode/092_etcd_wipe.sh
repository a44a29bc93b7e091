#!/bin/bash
# etcd loses every key of the scope under a writer (issue 9, item 8).
#
# 1. After a switchover (so that there is a history) and with
#    maximum_lag_on_failover set, every key is deleted (etcdctl del
#    --prefix) while the leader's keeper is held still for 2.5 s (SIGSTOP,
#    well within its fencing deadline), so that the replicas see an empty
#    scope first.  They stream from a live primary: they must not take the
#    key.  A fresh node with an empty data directory started meanwhile must
#    not run initdb.  The leader writes back initialize, config (from its
#    cache) and history.
# 2. With synchronous_mode and pause set, every lease is revoked and every
#    key deleted: config comes back with both.
# No failover, no acknowledged write lost.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_SCOPE=wipe CLUSTER_PG_BASE=26720 CLUSTER_ETCD_PORT=24730
. test/cluster.sh

ctl() { ./pghactl --endpoints "$CLUSTER_E" --scope "$CLUSTER_SCOPE" "$@"; }
etcdctl_() { ETCDCTL_API=3 etcdctl --endpoints "$CLUSTER_E" "$@"; }
key() { cluster_etcd_get "/service/$CLUSTER_SCOPE/$1"; }
leader_is() { [ "$(cluster_leader)" = "$1" ]; }
key_is() { [ "$(key "$1")" = "$2" ]; }
config_has() { key config | jq -e "$1" >/dev/null 2>&1; }
timeline_of() { node_sql "$1" "SELECT timeline_id FROM pg_control_checkpoint()"; }

cluster_start_loaded
old=$CLUSTER_OLD
expect "a switchover (for a history key)" ctl switchover --force --leader "$old" --timeout 30
expect "healthy after the switchover" cluster_wait_healthy 30
L=$(cluster_leader)
check "maximum_lag_on_failover = 3 MB" ctl edit-config --force --set maximum_lag_on_failover=3145728
expect "the keepers saw the config" poll_until 10 config_has '.maximum_lag_on_failover == 3145728'
sleep 3	# a loop_wait: every keeper has read (and cached) the config
hist=$(key history) init=$(key initialize) tl=$(timeline_of "$L")
note "leader $L on timeline $tl, initialize $init, history $hist"
cluster_workload_stop
cluster_workload_start 70
cluster_wait_writes 50 15

# --- 1: every key deleted, the leader's keeper stopped for 2.5 s
kp=$(node_keeper_pid "$L")
check "found the keeper of $L ($kp)" test -n "$kp"
kill -STOP "$kp"
t0=$(cluster_now_ms)
etcdctl_ del --prefix "/service/$CLUSTER_SCOPE/" >/dev/null
# thawed 2.5 s after the wipe by a timer, however long the new node takes
# to start (the thaw once came 7.3 s after the wipe on a loaded machine,
# past the leader's deadline, and a replica rightly took over)
(sleep 2.5; kill -CONT "$kp"; echo "$(($(cluster_now_ms) - t0))" >"$TEST_TMP/thawed") &
thaw=$!
cluster_add_node
n4=$CLUSTER_ADDED
wait "$thaw"
note "keeper of $L continued $(cat "$TEST_TMP/thawed") ms after the wipe"
expect "$L holds the leader key again" poll_until 10 leader_is "$L"
expect "initialize is restored" poll_until 10 key_is initialize "$init"
expect "history is restored" poll_until 10 key_is history "$hist"
expect "config is restored with maximum_lag_on_failover" poll_until 10 config_has '.maximum_lag_on_failover == 3145728'
expect "$n4 (empty) clones $L and streams" cluster_wait_streaming "$n4" 90
check "$n4 did not run initdb" bash -c "! grep -q 'running initdb' '$TEST_TMP/watchdog-$n4.log'"
is "$(node_sql "$n4" "SELECT system_identifier FROM pg_control_system()")" "$init" "$n4 has the cluster's system identifier"
for n in n1 n2 n3; do
	[ "$n" = "$L" ] && continue
	is "$(node_sql "$n" "SELECT pg_is_in_recovery()")" t "$n is still a replica"
done
is "$(timeline_of "$L")" "$tl" "no new timeline: no failover"
expect "the cluster is healthy" cluster_wait_healthy 30

# --- 2: synchronous mode and pause, every lease revoked, every key deleted
check "synchronous_mode on, paused" ctl edit-config --force --set synchronous_mode=true --set pause=true
expect "the keepers saw the config" poll_until 10 config_has '.pause == true and .synchronous_mode == true'
sleep 3
for l in $(etcdctl_ lease list | awk 'NR > 1 { print $1 }'); do etcdctl_ lease revoke "$l" >/dev/null; done
etcdctl_ del --prefix "/service/$CLUSTER_SCOPE/" >/dev/null
expect "$L holds the leader key again" poll_until 15 leader_is "$L"
expect "config is restored with synchronous_mode, pause and maximum_lag_on_failover" poll_until 10 \
	config_has '.pause == true and .synchronous_mode == true and .maximum_lag_on_failover == 3145728'
expect "initialize is restored" poll_until 10 key_is initialize "$init"
expect "history is restored" poll_until 10 key_is history "$hist"
is "$(timeline_of "$L")" "$tl" "no new timeline: no failover"
check "resume, synchronous_mode off" ctl edit-config --force --set pause=null --set synchronous_mode=false
cluster_wait_writes 20 15

cluster_verdict 0
done_testing
