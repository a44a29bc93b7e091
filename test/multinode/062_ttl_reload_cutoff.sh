#!/bin/bash
# A reload must not move the leader's fencing deadline past its lease
# (issue 9 item 4).  The cluster's shared config says ttl 10; the leader's
# own postgresql.conf is changed to pgha.ttl = 30 and reloaded while it is
# cut off from etcd except for lease grants (test/tools/count-proxy.pl in
# place of its socat forwarders: every other request hangs).  Before the
# fix the reload made the keeper grant a lease of 29 s and count its
# deadline from it, while the leader key stayed on the old 9 s lease that
# nobody renewed any more: a replica took over ~10 s later and the old
# leader kept acknowledging writes until ~28 s (split brain, lost writes).
# The shared timing must survive the reload: the keeper keeps its lease and
# fences before it can expire.  Under load; the checker counts lost writes
# and split-brain windows.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_SCOPE=ttlreload CLUSTER_PG_BASE=26070 CLUSTER_ETCD_PORT=24070
. test/cluster.sh

start_forwarder() {
	setsid perl "$CLUSTER_ROOT/test/tools/count-proxy.pl" --listen "$1" --target "$2" \
		--count-file "$TEST_TMP/count-$1" --budget-file "$TEST_TMP/budget-$1" --pass 'lease/grant' >/dev/null 2>&1 &
	CLEANUP_GROUPS+=("$!")
	FORWARDER=$!
	disown "$!"
}

cluster_start_loaded
old=$CLUSTER_OLD
budget=$TEST_TMP/budget-$(node_fwd_port "$old")

echo "pgha.ttl = 30" >>"$TEST_TMP/$old.conf"
echo 0 >"$budget"
"$PGBIN/pg_ctl" -D "$(node_data "$old")" reload >/dev/null
note "$old: cut off from etcd except for lease grants; pgha.ttl = 30 reloaded"

expect "a new leader takes writes within ttl + 10 s" cluster_wait_leader $((CLUSTER_TTL + 10)) "$old" ||
	bail_out "no leader"
new=$CLUSTER_NEW_LEADER
cluster_wait_writes 100 15
check "$old fenced itself" grep -qs "fencing this primary" "$(node_data "$old").log"

rm -f "$budget"
note "$old reaches etcd again"
if expect "$old is back as a replica streaming from $new within 60 s" cluster_wait_streaming "$old" 60; then
	expect "the cluster is whole again" cluster_wait_healthy 30
fi
cluster_wait_writes 50 10

cluster_verdict 0
cluster_check_handover "$old" "$new"
done_testing
