#!/bin/bash
# The commit check of every backend (commit_guard.c, issue 9 item 6): the
# leader is cut off from etcd and, at once, its keeper, its postmaster, its
# watchdog and the watchdog's guard (pghactl guard, a process of its own)
# are frozen (SIGSTOP): nothing can fence it, not the keeper's fast
# shutdown nor the guard's SIGKILL, but its backends still serve
# the connections they have (the writer's and the probe's).  Once the
# deadline in shared memory has passed, their commits must fail, so that
# when a replica takes over no acknowledged write is lost and no two nodes
# acknowledge writes at once.  Then everything is thawed and the old
# leader rejoins.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_SCOPE=guard CLUSTER_PG_BASE=26060 CLUSTER_ETCD_PORT=24060
. test/cluster.sh


cluster_start_loaded
old=$CLUSTER_OLD
pm=$(node_postmaster_pid "$old")
kp=$(node_keeper_pid "$old")
wd=${NODE_WD[$old]}
# left running, the guard SIGKILLed the instance 100 ms after the deadline,
# on a loaded machine before any backend had tried a commit (mn8)
gd=$(pgrep -P "$wd" -f "guard -D") || bail_out "no guard under the watchdog $wd"
note "$old: postmaster $pm, keeper $kp, watchdog $wd, guard $gd"

cluster_cut_etcd "$old" STOP
kill -STOP "$wd" "$gd" "$pm" "$kp"
note "$old cut off from etcd; its watchdog, guard, postmaster and keeper frozen"
# the replicas still get WAL (keepalives) from the live walsenders: they
# wait up to ttl after the key expired before they take over (decide.c,
# upstream_alive), so within 2 ttl + 5 s
expect "a new leader takes writes within 2 ttl + 5 s" cluster_wait_leader $((2 * CLUSTER_TTL + 5)) "$old" ||
	bail_out "no leader"
new=$CLUSTER_NEW_LEADER
cluster_wait_writes 100 15
check "$old's backends refused commits past the deadline" \
	grep -qsE "past its fencing deadline|committed after the fencing deadline" "$(node_data "$old").log"

kill -CONT "$kp" "$pm" "$gd" "$wd"
cluster_restore_etcd "$old"
note "$old thawed and back on etcd"
if expect "$old is back as a replica streaming from $new within 60 s" cluster_wait_streaming "$old" 60; then
	expect "the cluster is whole again" cluster_wait_healthy 30
fi
cluster_wait_writes 50 10

cluster_verdict 0
cluster_check_handover "$old" "$new"
done_testing
