#!/bin/bash
# The watchdog's guard runs on CLOCK_BOOTTIME only (issue 9 item 7).  Every
# node's watchdog (and so its postgres and pghactl) runs under libfaketime,
# whose wall clock a test steps by rewriting a file; CLOCK_MONOTONIC and
# CLOCK_BOOTTIME are left alone (FAKETIME_DONT_FAKE_MONOTONIC=1: checked
# below).  Then:
#   - the leader's wall clock steps 60 s forward: nothing happens (no fence,
#     same leader, same postmaster);
#   - a replica's steps 60 s forward and back: nothing happens;
#   - the leader's steps 60 s back and its keeper freezes: the guard still
#     fences at the deadline, before the lease can expire (no two
#     primaries).  It used to convert postmaster.pid's wall-clock start time,
#     so that every heartbeat looked older than the postmaster and was
#     ignored: the frozen keeper's primary was never fenced.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_SCOPE=clock CLUSTER_PG_BASE=26710 CLUSTER_ETCD_PORT=24710 CLUSTER_FAKETIME=1
. test/cluster.sh

[ -r "$CLUSTER_FAKETIME_LIB" ] || bail_out "libfaketime is not installed (package faketime, test/install-deps.sh)"
step() {
	if [ "$2" = 0 ]; then cluster_clock_reset "$1"; else cluster_clock_step "$1" "$2"; fi
	note "$1's wall clock: $(cluster_clock_offset "$1") s"
}

# what libfaketime does to the clocks (the premise of this test)
now_faked=$(LD_PRELOAD=$CLUSTER_FAKETIME_LIB FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME="+3600" date +%s)
check "libfaketime moves the wall clock of the processes it is loaded in" \
	test "$now_faked" -ge $(($(date +%s) + 3500))

pm_of() { node_postmaster_pid "$1"; }
no_fence() {
	! grep -qs FENCING "$TEST_TMP/watchdog-$1.log" && ! grep -qs "fencing this primary" "$(node_data "$1").log"
}

cluster_start_loaded
L=$CLUSTER_OLD
lpm=$(pm_of "$L")
R=
for n in "${CLUSTER_NODES[@]}"; do [ "$n" != "$L" ] && R=$n && break; done
rpm=$(pm_of "$R")

# ---- steps that must change nothing ----
step "$L" +60
step "$R" +60
sleep $((CLUSTER_TTL + 3))
step "$R" -120
sleep 5
check "60 s forward: the leader $L was not fenced" no_fence "$L"
is "$(cluster_leader)" "$L" "60 s forward: $L still leads"
is "$(pm_of "$L")" "$lpm" "60 s forward: $L's postmaster is the same"
check "forward and back: replica $R was not fenced" no_fence "$R"
is "$(pm_of "$R")" "$rpm" "forward and back: $R's postmaster is the same"
expect "the cluster is healthy" cluster_wait_healthy 10
step "$L" 0
step "$R" 0
sleep 3

# ---- the leader's clock steps back, its keeper freezes ----
kp=$(ps -o pid=,args= --ppid "$lpm" | awk '/pgha keeper/ { print $1 }')
check "found the leader's keeper" test -n "$kp"
step "$L" -60
sleep 1
kill -STOP "$kp"
t0=$(cluster_now_ms)
note "keeper $kp of $L frozen"
gone() { ! pgrep -g "$lpm" >/dev/null; }
check "60 s back, keeper frozen: the watchdog fences $L within ttl" poll_until "$CLUSTER_TTL" gone
note "$L's postgres gone $(($(cluster_now_ms) - t0)) ms after its keeper froze"
kill -CONT "$kp" 2>/dev/null
expect "a new leader takes writes within ttl + 5 s" cluster_wait_leader $((CLUSTER_TTL + 5)) "$L" ||
	bail_out "no leader"
new=$CLUSTER_NEW_LEADER
step "$L" 0
expect "$L is back as a replica streaming from $new within 45 s" cluster_wait_streaming "$L" 45
cluster_wait_writes 50 10
cluster_verdict 5
cluster_check_handover "$L" "$new"
done_testing
