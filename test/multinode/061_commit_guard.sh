#!/bin/bash
# The commit check of every backend (commit_guard.c, issue 9 item 6): the
# leader is cut off from etcd and, at once, its keeper, its postmaster and
# its watchdog are frozen (SIGSTOP): nothing can fence it, not the keeper's
# fast shutdown nor the watchdog's guard, but its backends still serve
# the connections they have (the writer's and the probe's).  Once the
# deadline in shared memory has passed, their commits must fail, so that
# when a replica takes over no acknowledged write is lost and no two nodes
# acknowledge writes at once.  Then everything is thawed and the old
# leader rejoins.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_SCOPE=guard CLUSTER_PG_BASE=26060 CLUSTER_ETCD_PORT=24060
. test/cluster.sh

keeper_pid() {
	local pm
	pm=$(node_postmaster_pid "$1") || return 1
	ps -o pid=,args= --ppid "$pm" | awk '/pgha keeper/ { print $1; exit }'
}

cluster_start_loaded
old=$CLUSTER_OLD
pm=$(node_postmaster_pid "$old")
kp=$(keeper_pid "$old")
wd=${NODE_WD[$old]}
note "$old: postmaster $pm, keeper $kp, watchdog $wd"

cluster_cut_etcd "$old" STOP
kill -STOP "$wd" "$pm" "$kp"
note "$old cut off from etcd; its watchdog, postmaster and keeper frozen"
expect "a new leader takes writes within ttl + 5 s" cluster_wait_leader $((CLUSTER_TTL + 5)) "$old" ||
	bail_out "no leader"
new=$CLUSTER_NEW_LEADER
cluster_wait_writes 100 15
check "$old's backends refused commits past the deadline" \
	grep -qsE "past its fencing deadline|committed after the fencing deadline" "$(node_data "$old").log"

kill -CONT "$kp" "$pm" "$wd"
cluster_restore_etcd "$old"
note "$old thawed and back on etcd"
if expect "$old is back as a replica streaming from $new within 60 s" cluster_wait_streaming "$old" 60; then
	expect "the cluster is whole again" cluster_wait_healthy 30
fi
cluster_wait_writes 50 10

cluster_verdict 0
cluster_check_handover "$old" "$new"
done_testing
