#!/bin/bash
# Failover: the leader is cut off from etcd (its forwarder is frozen, so its
# requests hang as in a partition that drops packets) while the replicas
# still reach etcd and still stream from it.  The leader cannot renew its
# lease: it must stop taking writes (fence) before the lease can expire,
# and only then may a replica take the key.  The probes check that no two
# nodes took writes at once.  Once etcd is reachable again, the old leader
# rejoins as a replica of the new one.
#
# Lost writes: none are expected, since the fenced leader shuts down fast
# and a fast shutdown sends all its WAL to the replicas that still stream
# from it, before its lease ends.  The bound is still 5, as for a dead host:
# a replica that lost its connection to the leader just before the fence
# could be the one that takes over; the test prints the count.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_SCOPE=cutoff CLUSTER_PG_BASE=25830 CLUSTER_ETCD_PORT=23810
. test/cluster.sh

cluster_start_loaded
old=$CLUSTER_OLD

t0=$(cluster_now_ms)
cluster_cut_etcd "$old" STOP
note "$old cut off from etcd"
expect "a new leader takes writes within ttl + 5 s" cluster_wait_leader $((CLUSTER_TTL + 5)) "$old" ||
	bail_out "no leader"
new=$CLUSTER_NEW_LEADER
note "new leader $new writable $((CLUSTER_LEADER_MS - t0)) ms after the cut"
check "$old no longer takes writes" node_not_writable "$old"
check "$old said why it fenced itself" grep -qs "fencing this primary" "$(node_data "$old").log"
# the watchdog's guard is for a hung keeper; a live one fences with a fast
# shutdown, which hands its last WAL to the replicas, and must not be cut
# short by an immediate stop
check "the keeper fenced, not the watchdog's hung-keeper guard" \
	bash -c "! grep -s FENCING '$TEST_TMP/watchdog-$old.log'"
# its guard reads the keys as the shutdown begins, 300 ms at most: a guard
# waiting on etcd does not watch its postmaster
check "the guard gave up its early read of the keys (etcd cut off) and went on" poll_until 10 \
	grep -q "guard: keys: not read as the shutdown began (300 ms at most), the release reads them: .*no answer within 300 ms" \
	"$TEST_TMP/watchdog-$old.log"

t1=$(cluster_now_ms)
cluster_restore_etcd "$old"
if expect "$old is back as a replica streaming from $new within 45 s" cluster_wait_streaming "$old" 45; then
	note "$old streams again $((CLUSTER_STREAM_MS - t1)) ms after etcd came back"
	expect "the cluster is whole again" cluster_wait_healthy 30
fi
cluster_wait_writes 50 10

cluster_verdict 5
check "the longest write outage is under ttl + 5 s" test "$CHECK_OUTAGE_MS" -lt $(((CLUSTER_TTL + 5) * 1000))
cluster_check_handover "$old" "$new"
done_testing
