#!/bin/bash
# The watchdog's fence does not depend on the postmaster (issue 9 items 3
# and 6).  The leader is cut off etcd (frozen forwarder) while:
#   A. its postmaster alone is frozen (SIGSTOP): its backends and keeper
#      keep running, the keeper's SIGINT is never acted on, the backends go
#      on acknowledging commits.  The watchdog must SIGKILL the postmaster's
#      process group shortly after the fencing deadline, before the lease can
#      expire: no two primaries, no acknowledged write lost beyond what
#      asynchronous replication may lose in flight (5).
#   B. the whole instance is frozen (postmaster and every child): a fence
#      through pg_ctl would block until the instance wakes up, and a commit
#      in flight would be acknowledged after another node was promoted.
#      SIGKILL works on stopped processes: the group is gone at once.
#   C. one backend is frozen, so the keeper's fast shutdown ("stopping")
#      never ends: the watchdog kills the group after a longer bound, and
#      the node rejoins.
# In each case the node later rejoins as a replica of the new leader.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_SCOPE=frozenpm CLUSTER_PG_BASE=26700 CLUSTER_ETCD_PORT=24700
. test/cluster.sh

FROZEN=()
thaw() {
	local p
	for p in ${FROZEN[@]+"${FROZEN[@]}"}; do kill -CONT "$p" 2>/dev/null; done
	FROZEN=()
}
trap 'thaw; cluster_cleanup' EXIT

# group_gone PGID: no process left in the postmaster's process group
group_gone() { ! pgrep -g "$1" >/dev/null; }
# all_gone PID...: none of these processes exists any more (postgres'
# children are in sessions of their own, so the group says nothing of them)
all_gone() { local p; for p in "$@"; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }

# rejoin OLD NEW: etcd back for OLD, OLD streams from NEW, the cluster is whole
rejoin() {
	cluster_restore_etcd "$1"
	expect "$1 is back as a replica streaming from $2 within 45 s" cluster_wait_streaming "$1" 45 &&
		expect "the cluster is whole again" cluster_wait_healthy 30
}

# ---- A: the postmaster alone is frozen ----
cluster_start_loaded
old=$CLUSTER_OLD
pm=$(node_postmaster_pid "$old")
t0=$(cluster_now_ms)
kill -STOP "$pm"
FROZEN+=("$pm")
cluster_cut_etcd "$old" STOP
note "A: postmaster $pm of $old frozen and $old cut off etcd"
expect "A: a new leader takes writes within ttl + 5 s" cluster_wait_leader $((CLUSTER_TTL + 5)) "$old" ||
	bail_out "no leader"
new=$CLUSTER_NEW_LEADER
note "A: new leader $new writable $((CLUSTER_LEADER_MS - t0)) ms after the cut"
check "A: the frozen postmaster's process group is gone" poll_until 3 group_gone "$pm"
check "A: the watchdog logged its fence" grep -q "FENCING" "$TEST_TMP/watchdog-$old.log"
thaw
rejoin "$old" "$new"
cluster_wait_writes 50 10
cluster_verdict 5
cluster_check_handover "$old" "$new"

# ---- B: the whole instance is frozen ----
old=$new
cluster_workload_start 80
expect "B: the writer's commits are acknowledged" cluster_wait_writes 100 15
pm=$(node_postmaster_pid "$old")
t0=$(cluster_now_ms)
kill -STOP "$pm"
FROZEN+=("$pm")
for p in $(pgrep -P "$pm"); do kill -STOP "$p"; FROZEN+=("$p"); done
cluster_cut_etcd "$old" STOP
note "B: every process of $old frozen (postmaster $pm and ${#FROZEN[@]} in all), $old cut off etcd"
expect "B: a new leader takes writes within ttl + 5 s" cluster_wait_leader $((CLUSTER_TTL + 5)) "$old" ||
	bail_out "no leader"
new=$CLUSTER_NEW_LEADER
note "B: new leader $new writable $((CLUSTER_LEADER_MS - t0)) ms after the cut"
check "B: the frozen instance's process group is gone" poll_until 3 group_gone "$pm"
# before the fix the guard's SIGKILL of the group ended the postmaster
# first: its children, reparented, were never found, and woke up at the
# thaw (a keeper wrote its heartbeat into the next instance's directory)
check "B: every frozen process of the instance is gone, children too (${#FROZEN[@]})" \
	poll_until 3 all_gone "${FROZEN[@]}"
# what was frozen wakes up: nothing of it may acknowledge a commit now
thaw
sleep 1
rejoin "$old" "$new"
cluster_wait_writes 50 10
cluster_verdict 5
cluster_check_handover "$old" "$new"

# ---- C: a frozen backend holds the keeper's fast shutdown ----
old=$new
cluster_workload_start 80
expect "C: the writer's commits are acknowledged" cluster_wait_writes 100 15
PGCONNECT_TIMEOUT=2 "$PGBIN/psql" -X -h 127.0.0.1 -p "$(node_port "$old")" -U postgres -d postgres \
	-c "SELECT pg_sleep(300) /* frozen */" >/dev/null 2>&1 &
CLEANUP_PIDS+=("$!")
sleeper() { node_sql "$old" "SELECT pid FROM pg_stat_activity WHERE query LIKE '%pg_sleep(300) /* frozen%' AND pid <> pg_backend_pid()"; }
poll_until 5 test -n "$(sleeper)"
bp=$(sleeper)
check "C: found the sleeping backend" test -n "$bp"
pm=$(node_postmaster_pid "$old")
kill -STOP "$bp"
FROZEN+=("$bp")
t0=$(cluster_now_ms)
cluster_cut_etcd "$old" STOP
note "C: backend $bp of $old frozen, $old cut off etcd"
expect "C: a new leader takes writes within ttl + 5 s" cluster_wait_leader $((CLUSTER_TTL + 5)) "$old" ||
	bail_out "no leader"
new=$CLUSTER_NEW_LEADER
check "C: $old's keeper fenced it (fast shutdown)" grep -qs "fencing this primary" "$(node_data "$old").log"
check "C: the shutdown held by the frozen backend is cut short within 30 s" poll_until 30 group_gone "$pm"
note "C: $old's processes gone $(($(cluster_now_ms) - t0)) ms after the cut"
thaw
rejoin "$old" "$new"
cluster_wait_writes 50 10
cluster_verdict 5
cluster_check_handover "$old" "$new"
done_testing
