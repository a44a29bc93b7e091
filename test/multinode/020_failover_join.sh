#!/bin/bash
# A new node joins a running cluster under load: its watchdog clones the
# leader with pg_basebackup and starts it as a streaming replica.  The leader
# does not change, writes go on (the clone costs a checkpoint, not an
# outage), nothing is lost and no node but the leader ever takes a write.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_SCOPE=join CLUSTER_PG_BASE=25840 CLUSTER_ETCD_PORT=23810
. test/cluster.sh

cluster_start_loaded
leader=$CLUSTER_OLD

t0=$(cluster_now_ms)
cluster_add_node
added=$CLUSTER_ADDED
expect "$added joins as a replica streaming from $leader within 45 s" cluster_wait_streaming "$added" 45 &&
	note "$added streams $((CLUSTER_STREAM_MS - t0)) ms after its watchdog started"
is "$(cluster_leader)" "$leader" "the leader did not change"
expect "4 nodes: one primary, three streaming replicas" cluster_wait_healthy 30
is "$(node_sql "$added" "SELECT count(*) > 0 FROM pgha_writes")" "t" "$added has the writer's rows"
cluster_wait_writes 50 10

cluster_verdict 0
check "no write outage over 2 s while the node joined" test "$CHECK_OUTAGE_MS" -lt 2000
done_testing
