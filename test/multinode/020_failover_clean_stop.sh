#!/bin/bash
# Failover: the leader is stopped cleanly (SIGTERM to its watchdog, as
# systemd does).  The watchdog stops postgres and releases the leader key;
# the best replica takes it at the watch event and promotes, long before a
# lease could expire.  Started again, the old leader rejoins as a replica.
#
# Lost writes: none.  A clean (fast) shutdown sends the whole WAL, up to the
# shutdown checkpoint, to the connected replicas before the postmaster exits.
# The guard releases the key once the control file says "shut down" (the
# shutdown checkpoint, the last record, is written) with that checkpoint as
# the final position, and a replica takes over only once it has received
# it, so the new leader has every acknowledged commit.
#
# The other replica's keeper is frozen across the stop: the first-ranked
# replica (equal priorities: the smaller name) then cannot learn the
# other's position, and takes over only because it has the stopped
# leader's last WAL record (decide.c, pgha_final says "shut down").  Left
# running, the other replica's published position sometimes came first on
# a loaded machine, and the ordinary rule (the best candidate) won.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_SCOPE=cleanstop CLUSTER_PG_BASE=25820 CLUSTER_ETCD_PORT=23810
. test/cluster.sh

cluster_start_loaded
old=$CLUSTER_OLD

read -r first second <<<"$(for n in n1 n2 n3; do [ "$n" != "$old" ] && echo "$n"; done | sort | tr '\n' ' ')"
kp=$(node_keeper_pid "$second") || bail_out "no keeper on $second"
kill -STOP "$kp"
note "the keeper of $second (pid $kp) frozen"

t0=$(cluster_now_ms)
cluster_stop_node "$old" nowait
note "SIGTERM sent to the watchdog of $old"
expect "a new leader takes writes within ttl + 5 s" cluster_wait_leader $((CLUSTER_TTL + 5)) "$old" ||
	{ kill -CONT "$kp"; bail_out "no leader"; }
new=$CLUSTER_NEW_LEADER
kill -CONT "$kp"
is "$new" "$first" "the first-ranked replica took over"
note "new leader $new writable $((CLUSTER_LEADER_MS - t0)) ms after the stop"
expect "the watchdog of $old exits" cluster_wait_stopped "$old" 60
check "the postgres of $old is stopped" node_stopped "$old"
check "the watchdog checkpointed before the fast shutdown (as Patroni)" \
	grep -q "checkpoint before the stop: done in" "$TEST_TMP/watchdog-$old.log"
check "the guard released the leader key once the control file said shut down" \
	grep -q "guard: release: postgres shut down at .*released the leader key" "$TEST_TMP/watchdog-$old.log"
check "the release was one request: the guard had read the keys as the shutdown began" \
	grep -q "guard: release: .*one request: the keys were read as the shutdown began" "$TEST_TMP/watchdog-$old.log"
expect "the other replica streams from $new" cluster_wait_healthy 30

t1=$(cluster_now_ms)
cluster_restart_node "$old"
if expect "$old is back as a replica streaming from $new within 45 s" cluster_wait_streaming "$old" 45; then
	note "$old streams again $((CLUSTER_STREAM_MS - t1)) ms after its start"
	expect "the cluster is whole again" cluster_wait_healthy 30
fi
cluster_wait_writes 50 10

cluster_verdict 0
check "the longest write outage is under ttl + 5 s" test "$CHECK_OUTAGE_MS" -lt $(((CLUSTER_TTL + 5) * 1000))
cluster_check_handover "$old" "$new"
# the first-ranked replica with the shutdown checkpoint did not wait for
# the other's position (decide.c: pgha_final says "shut down")
check "$new took over as soon as it had the stopped leader's last WAL record" \
	grep -q "pgha: taking over: has the stopped leader's last WAL record" "$(node_data "$new").log"
# once, with its reason (the promoting cycles after it once logged
# "pgha: taking over: " again, with none)
is "$(grep -c "pgha: taking over:" "$(node_data "$new").log")" 1 "it logged why it took over once"
done_testing
