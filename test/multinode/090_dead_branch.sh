#!/bin/bash
# A replica left on a dead branch is repaired (issue 9, item 10).
#
# Replica P stops receiving WAL (its primary_conninfo points nowhere) while
# replica D, tagged nofailover, keeps streaming from the leader L under a
# writer, so D holds WAL that P never got.  L dies; P, the only candidate,
# is promoted (within maximum_lag_on_failover) and forks timeline 2 before
# D's position.  D can never follow P: without repair it stays in recovery
# on timeline 1 for ever.  The keeper of D sees it (leader on a newer
# timeline, its own position past the end of its timeline in the history
# key), writes pgha.fenced and stops postgres; the watchdog's plan is then
# pg_rewind, and D streams from P again.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_SCOPE=deadbranch CLUSTER_PG_BASE=26700 CLUSTER_ETCD_PORT=24710
. test/cluster.sh

ctl() { ./pghactl --endpoints "$CLUSTER_E" --scope "$CLUSTER_SCOPE" "$@"; }
lsn_of() { node_sql "$1" "SELECT greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())"; }
lsn_ge() { [ "$(node_sql "$1" "SELECT '$2'::pg_lsn >= '$3'::pg_lsn")" = t ]; }
not_replicating() { [ "$(node_sql "$1" "SELECT count(*) FROM pg_stat_replication WHERE application_name = '$2'")" = 0 ]; }
member_nofailover() { cluster_etcd_get "/service/$CLUSTER_SCOPE/members/$1" | grep -q '"nofailover":true'; }

cluster_start_loaded
L=$CLUSTER_OLD
reps=()
for n in n1 n2 n3; do [ "$n" = "$L" ] || reps+=("$n"); done
P=${reps[0]} D=${reps[1]}
note "leader $L, to be promoted $P, left ahead $D"

check "maximum_lag_on_failover = 64 MB" ctl edit-config --force --set maximum_lag_on_failover=67108864
echo "pgha.nofailover = on" >>"$TEST_TMP/$D.conf"
node_sql "$D" "SELECT pg_reload_conf()" >/dev/null
expect "$D is tagged nofailover in its member key" poll_until 15 member_nofailover "$D"

node_sql "$P" "ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=1 connect_timeout=1'" >/dev/null
node_sql "$P" "SELECT pg_reload_conf()" >/dev/null
expect "$P no longer streams from $L" poll_until 15 not_replicating "$L" "$P"
cluster_wait_writes 200 20
lp=$(lsn_of "$P") ld=$(lsn_of "$D")
note "received: $P $lp, $D $ld"
check "$D has WAL that $P lacks" test "$(node_sql "$L" "SELECT '$ld'::pg_lsn > '$lp'::pg_lsn")" = t

t0=$(cluster_now_ms)
cluster_kill_node "$L"
expect "$P takes over" cluster_wait_leader $((CLUSTER_TTL + 15)) "$L" || bail_out "no new leader"
is "$CLUSTER_NEW_LEADER" "$P" "the new leader is $P"
note "$P leads $((CLUSTER_LEADER_MS - t0)) ms after the kill"
node_sql "$P" "ALTER SYSTEM RESET primary_conninfo" >/dev/null
node_sql "$P" "SELECT pg_reload_conf()" >/dev/null

t1=$(cluster_now_ms)
if expect "$D, left on the dead branch of timeline 1, streams from $P again within 60 s" \
	cluster_wait_streaming "$D" 60; then
	note "$D streams again $((CLUSTER_STREAM_MS - t1)) ms after $P took over"
fi
is "$(node_sql "$D" "SELECT received_tli FROM pg_stat_wal_receiver")" \
	"$(node_sql "$P" "SELECT timeline_id FROM pg_control_checkpoint()")" "$D receives $P's timeline"
check "the keeper of $D said why it left the dead branch" grep -q 'dead branch' "$(node_data "$D").log"
check "the watchdog of $D rewound it" grep -q 'running pg_rewind' "$TEST_TMP/watchdog-$D.log"

# the writes P never received are lost by design (an async failover within
# maximum_lag_on_failover); the point here is that no node is left behind
cluster_verdict 1000000
done_testing
