#!/bin/bash
# A keeper that ends with an error is restarted by the postmaster 1 s
# later (bgw_restart_time); it must keep the fencing deadline of the lease
# it held (issue 9 item 5).  The leader is cut off from etcd; 2.5 s before
# its deadline (read from its heartbeat file, CLOCK_BOOTTIME) its keeper is
# made to exit with status 1 (gdb calls proc_exit(1), as an ERROR would).
# Before the fix the restarted keeper started over from "now +
# retry_timeout" and its first heartbeat said "replica", which disarmed the
# watchdog's guard: the old leader kept acknowledging writes past the
# original deadline.  Now its last acknowledged write must come by the
# original deadline, and the checker must find no lost write and no split
# brain.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_SCOPE=kprestart CLUSTER_PG_BASE=26080 CLUSTER_ETCD_PORT=24080
# a lease long enough that gdb may take seconds to attach (a loaded machine,
# the other lane of the suite) and the keeper still exits before the deadline
CLUSTER_TTL=16
. test/cluster.sh

boot_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
hb_deadline() { awk '$3 == "primary" { print $4 }' "$(node_data "$1")/pgha.heartbeat"; }

command -v gdb >/dev/null || bail_out "gdb is needed (apt-get install gdb)"
cluster_start_loaded
old=$CLUSTER_OLD

cluster_cut_etcd "$old" STOP
# the deadline of the last keepalive that went through: wait for it to settle
sleep 1
deadline=$(hb_deadline "$old")
[ -n "$deadline" ] && [ "$deadline" -gt 0 ] || bail_out "no deadline in $old's heartbeat"
deadline_wall=$(($(cluster_boot_to_wall_ms) + deadline))
note "$old cut off from etcd; its deadline is in $((deadline - $(boot_ms))) ms"
# early enough that the restarted keeper (bgw_restart_time 1 s) is up before
# the deadline even when gdb is slow to attach on a loaded machine
until [ $((deadline - $(boot_ms))) -le 10000 ]; do sleep 0.05; done
kp=$(node_keeper_pid "$old")
starts() { grep -c 'pgha keeper started for member' "$(node_data "$old").log"; }
starts0=$(starts)
# without the shared libraries' symbols (proc_exit is postgres' own): gdb
# attaches in a fraction of the time on a loaded machine
gdb -nx -p "$kp" -batch -iex 'set auto-solib-add off' -ex 'call (void) proc_exit(1)' >"$TEST_TMP/gdb.out" 2>&1
note "$old's keeper $kp made to exit with status 1, $((deadline - $(boot_ms))) ms before the deadline"
# the restarted keeper may fence at once when gdb was slow to attach (a
# loaded machine): its start is in the server log whether or not it lives on
keeper_restarted() { [ "$(starts)" -gt "$starts0" ]; }
check "the postmaster restarted the keeper" poll_until 15 keeper_restarted

expect "a new leader takes writes within ttl + 10 s" cluster_wait_leader $((CLUSTER_TTL + 10)) "$old" ||
	bail_out "no leader"
new=$CLUSTER_NEW_LEADER
cluster_wait_writes 100 15

cluster_restore_etcd "$old"
if expect "$old is back as a replica streaming from $new within 60 s" cluster_wait_streaming "$old" 60; then
	expect "the cluster is whole again" cluster_wait_healthy 30
fi
cluster_wait_writes 50 10

cluster_verdict 0
last=$(probe_last_ack "$old")
# 100 ms for the probe to log an answer and for /proc/uptime's 10 ms steps
check "$old's last acknowledged write came by its original deadline ($((last - deadline_wall)) ms after it, at most 100)" \
	test "$last" -le $((deadline_wall + 100))
cluster_check_handover "$old" "$new"
done_testing
