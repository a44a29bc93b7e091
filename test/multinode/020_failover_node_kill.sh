#!/bin/bash
# Failover: the leader's host dies.  Its watchdog and postmaster and every
# postgres process are killed with SIGKILL at once: nothing hands over, the
# leader key stays until its lease expires, then the best replica takes it
# and promotes, and the other replica follows the new leader.  When the host
# comes back (its watchdog is started again) the old leader rejoins as a
# replica of the new one, with pg_rewind if its history diverged.
#
# Lost writes: replication is asynchronous, so the commits the old leader
# acknowledged but had not yet sent to the replica that took over are lost.
# The writer has one commit in flight at a time and a walsender ships each
# commit as soon as it is flushed, so that is a few commits at most: the
# bound is 5 and the test prints the count.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_SCOPE=nodekill CLUSTER_PG_BASE=25810 CLUSTER_ETCD_PORT=23810
. test/cluster.sh

cluster_start_loaded
old=$CLUSTER_OLD

t0=$(cluster_now_ms)
cluster_kill_node "$old"
note "node $old killed (watchdog, postmaster and children)"
expect "a new leader takes writes within ttl + 5 s" cluster_wait_leader $((CLUSTER_TTL + 5)) "$old" ||
	bail_out "no leader"
new=$CLUSTER_NEW_LEADER
note "new leader $new writable $((CLUSTER_LEADER_MS - t0)) ms after the kill"
expect "the other replica streams from $new" cluster_wait_healthy 30

t1=$(cluster_now_ms)
cluster_restart_node "$old"
if expect "$old is back as a replica streaming from $new within 45 s" cluster_wait_streaming "$old" 45; then
	note "$old streams again $((CLUSTER_STREAM_MS - t1)) ms after its host came back"
	expect "the cluster is whole again" cluster_wait_healthy 30
fi
cluster_wait_writes 50 10

cluster_verdict 5
check "the longest write outage is under ttl + 5 s" test "$CHECK_OUTAGE_MS" -lt $(((CLUSTER_TTL + 5) * 1000))
cluster_check_handover "$old" "$new"
done_testing
