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
set -u
cd "$(dirname "$0")/../.."
CLUSTER_SCOPE=cleanstop CLUSTER_PG_BASE=25820 CLUSTER_ETCD_PORT=23810
. test/cluster.sh

cluster_start_loaded
old=$CLUSTER_OLD

t0=$(cluster_now_ms)
cluster_stop_node "$old" nowait
note "SIGTERM sent to the watchdog of $old"
expect "a new leader takes writes within ttl + 5 s" cluster_wait_leader $((CLUSTER_TTL + 5)) "$old" ||
	bail_out "no leader"
new=$CLUSTER_NEW_LEADER
note "new leader $new writable $((CLUSTER_LEADER_MS - t0)) ms after the stop"
expect "the watchdog of $old exits" cluster_wait_stopped "$old" 60
check "the postgres of $old is stopped" node_stopped "$old"
check "the watchdog checkpointed before the fast shutdown (as Patroni)" \
	grep -q "checkpoint before the stop: done in" "$TEST_TMP/watchdog-$old.log"
check "the guard released the leader key once the control file said shut down" \
	grep -q "guard: release: postgres shut down at .*released the leader key" "$TEST_TMP/watchdog-$old.log"
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
done_testing
