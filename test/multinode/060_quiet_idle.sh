#!/bin/bash
# Quiet at idle (safety rule 7, issue 10): a 3-node cluster (ttl 10,
# loop_wait 2, retry_timeout 3) that nobody writes to is left alone for
# 20 s, and the test COUNTS what the keepers send to etcd.  Each node
# reaches etcd through a request-counting proxy (test/tools/count-proxy.pl)
# in place of its socat forwarder.  Over the window:
#   - the leader key is never rewritten (its mod_revision stays): the
#     lease keepalive alone keeps it;
#   - each keeper sends at most 2 requests per loop (a keepalive and one
#     range read), 2 * (20 / 2 + 1) = 22 in all;
#   - that holds for a standby that stays in recovery start-up as well
#     (hot_standby = off: its member key says "starting" for good), which
#     looks at its own state every 250 ms but asks etcd only per loop.
# The window starts once etcd's revision has stood still for 5 s (start-up
# writes are over).  The keepers' CPU time, the cluster's etcd revision
# and strace -c of the leader's keeper are printed too.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_SCOPE=quiet CLUSTER_PG_BASE=26050 CLUSTER_ETCD_PORT=24050
. test/cluster.sh

WINDOW=20

# every node reaches etcd through a counting proxy instead of socat
start_forwarder() {
	setsid perl "$CLUSTER_ROOT/test/tools/count-proxy.pl" --listen "$1" --target "$2" \
		--count-file "$TEST_TMP/count-$1" >/dev/null 2>&1 &
	CLEANUP_GROUPS+=("$!")
	FORWARDER=$!
	disown "$!"
}

requests() { awk '$1 == "total" { print $2 }' "$TEST_TMP/count-$(node_fwd_port "$1")"; }
# writes NODE: its kv/put and kv/txn requests so far (a key whose value changed)
writes() { awk '$1 == "kv/put" || $1 == "kv/txn" { s += $2 } END { print s + 0 }' "$TEST_TMP/count-$(node_fwd_port "$1")"; }
leader_mod_rev() {
	curl -sf -m 2 -XPOST "$CLUSTER_E/v3/kv/range" \
		-d "{\"key\":\"$(printf %s "/service/$CLUSTER_SCOPE/leader" | base64 -w0)\"}" |
		jq -r '.kvs[0].mod_revision // empty'
}
etcd_rev() { curl -sf -m 2 -XPOST "$CLUSTER_E/v3/kv/range" -d '{"key":"AA=="}' | jq -r '.header.revision'; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }

cluster_start 3 || bail_out "the cluster did not start"
expect "3 nodes: one primary, two streaming replicas" cluster_wait_healthy 60 ||
	bail_out "the cluster is not healthy"
leader=$(cluster_leader)
note "leader: $leader"
# a replica that never leaves recovery start-up
for n in n1 n2 n3; do [ "$n" != "$leader" ] && slow=$n; done
echo "hot_standby = off" >>"$TEST_TMP/$slow.conf"
cluster_stop_node "$slow" && cluster_restart_node "$slow"
slow_starting() { [ "$(cluster_etcd_get "/service/$CLUSTER_SCOPE/members/$slow" | jq -r .state)" = starting ]; }
expect "$slow (hot_standby = off) runs and its member key says starting" poll_until 60 slow_starting
# let the start-up writes (slots, history, the first standby snapshots of
# the WAL, which move the members' positions) settle: etcd's revision
# stays the same for 5 s
etcd_quiet() { local a b; a=$(etcd_rev); sleep 5; b=$(etcd_rev); [ -n "$a" ] && [ "$a" = "$b" ]; }
expect "nothing is written to etcd for 5 s once the cluster has settled" poll_until 90 etcd_quiet

declare -A r0 w0 c0 kp r1 w1
rev0=$(leader_mod_rev)
erev0=$(etcd_rev)
for n in n1 n2 n3; do
	kp[$n]=$(node_keeper_pid "$n")
done
# the window is measured, not assumed: on a busy machine reading the
# counters takes time of its own
t0=$(date +%s%3N)
for n in n1 n2 n3; do
	r0[$n]=$(requests "$n")
	w0[$n]=$(writes "$n")
	c0[$n]=$(cpu_ticks "${kp[$n]}")
done
# the leader's keeper's system calls over the same window (a diagnostic only)
if command -v strace >/dev/null; then
	timeout -s INT "$WINDOW" strace -c -p "${kp[$leader]}" -o "$TEST_TMP/strace-$leader" >/dev/null 2>&1 &
fi
sleep "$WINDOW"
for n in n1 n2 n3; do
	r1[$n]=$(requests "$n")
	w1[$n]=$(writes "$n")
done
t1=$(date +%s%3N)
elapsed=$(((t1 - t0 + 999) / 1000))
rev1=$(leader_mod_rev)
erev1=$(etcd_rev)

is "$rev1" "$rev0" "the leader key was not written in $WINDOW s of idle (mod_revision $rev0)"
note "etcd revision: $erev0 -> $erev1 ($((erev1 - erev0)) writes in $WINDOW s)"
# the loop: one keepalive and one range read per loop_wait (a window of
# WINDOW seconds holds at most WINDOW / loop_wait + 1 loop starts); writes
# only of a value that changed (a checkpoint moves every member's WAL
# position), each of them a revision of etcd's
max=$((2 * (elapsed / CLUSTER_LOOP_WAIT + 1)))
note "counted over $elapsed s (a $WINDOW s sleep and the reads around it)"
for n in n1 n2 n3; do
	w=$((w1[$n] - w0[$n]))
	d=$((r1[$n] - r0[$n] - w))
	cpu=$(($(cpu_ticks "${kp[$n]}") - c0[$n]))
	note "$n: $d etcd reads and $w writes in $WINDOW s ($(awk -v d="$((d + w))" -v w="$WINDOW" 'BEGIN { printf "%.1f", d / w }')/s), keeper CPU $((cpu * 10)) ms"
	check "$n's keeper sent at most $max keepalives and reads in $elapsed s (sent $d)" test "$d" -le "$max"
	check "$n's keeper wrote only changed values: $w writes, at most etcd's $((erev1 - erev0)) new revisions" \
		test "$w" -le "$((erev1 - erev0))"
done
sleep 1
[ -s "$TEST_TMP/strace-$leader" ] && note "strace -c of $leader's keeper over $WINDOW s:" &&
	grep -E '^ *[0-9]|^-|calls|total' "$TEST_TMP/strace-$leader" | head -12 | sed 's/^/#   /'
for n in n1 n2 n3; do
	note "$n requests by path: $(grep -v total "$TEST_TMP/count-$(node_fwd_port "$n")" | tr '\n' ' ')"
done
done_testing
