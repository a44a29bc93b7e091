#!/bin/bash
# pghactl's requests carried out by real keepers: 3 nodes run by
# pgha-watchdog; a switchover now and one at a set time, pause (every
# keeper sees it, switchover refused), a manual failover of the paused,
# leaderless cluster, resume; history as patronictl prints it.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_PG_BASE=25900
CLUSTER_ETCD_PORT=23905
CLUSTER_SCOPE=ctl
. test/cluster.sh

E=$CLUSTER_E
P=/service/$CLUSTER_SCOPE
OUT= ERR= RC=
pghactl() {
	OUT=$(./pghactl --endpoints "$E" --scope $CLUSTER_SCOPE "$@" 2>"$TEST_TMP/stderr")
	RC=$?
	ERR=$(cat "$TEST_TMP/stderr")
	{ echo "$OUT"; echo "$ERR"; } | sed '/^$/d; s/^/#   /'
}
others() { for n in n1 n2 n3; do [ "$n" != "$1" ] && [ "$n" != "${2:-}" ] && echo "$n"; done; }
leader_is() { [ "$(cluster_leader)" = "$1" ]; }
no_leader() { [ -z "$(cluster_leader)" ]; }
paused() { [ "$(node_sql "$1" "SELECT paused FROM pgha_status()")" = t ]; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
# member_on_leader_timeline NAME: its member key shows the leader's timeline
# (a keeper publishes its own change at its next loop, within loop_wait)
member_on_leader_timeline() {
	local tl lt
	tl=$(etcd_get "$E" "$P/members/$1" | jq -r .timeline)
	lt=$(etcd_get "$E" "$P/members/$(cluster_leader)" | jq -r .timeline)
	[ -n "$tl" ] && [ "$tl" = "$lt" ]
}

cat >"$TEST_TMP/patroni.yml" <<YML
scope: $CLUSTER_SCOPE
namespace: /service/
etcd3:
  hosts: 127.0.0.1:$CLUSTER_ETCD_PORT
YML

cluster_start 3 || { not_ok "the cluster starts"; done_testing; exit 1; }
check "three nodes bootstrap and stream" cluster_wait_healthy 90
L=$(cluster_leader)
read -r C R <<<"$(others "$L" | tr '\n' ' ')"
note "leader $L, candidate $C, third $R"

# 1. a switchover now: pghactl waits for the new leader
t0=$(date +%s%N)
pghactl switchover --leader "$L" --candidate "$C" --force --timeout 60
is "$RC" 0 "pghactl switchover: exit 0"
check "it says 'Successfully switched over to \"$C\"'" grep -q "Successfully switched over to \"$C\"" <<<"$OUT"
note "pghactl switchover returned after $(ms_since "$t0") ms"
is "$(cluster_leader)" "$C" "the leader key names $C"
check "the cluster is whole again (the old leader streams from $C)" cluster_wait_healthy 40
is "$(etcd_get "$E" $P/failover)" "{}" "the keepers reset the failover key to {}"
pghactl history
is "$OUT" "$(patronictl -c "$TEST_TMP/patroni.yml" history $CLUSTER_SCOPE 2>&1)" \
	"pghactl history prints what patronictl history prints"
check "history names $C as the new leader" grep -qE "^\| +1 \| +[0-9]+ \| .* \| $C +\|$" <<<"$OUT"

# 2. a switchover at a set time: pghactl does not wait, the keeper acts then
L=$C
read -r C R <<<"$(others "$L" | tr '\n' ' ')"
check "$C's member key shows the new timeline within loop_wait" \
	poll_until $((CLUSTER_LOOP_WAIT + 3)) member_on_leader_timeline "$C"
when=$(date -d '+4 seconds' '+%Y-%m-%dT%H:%M:%S%:z')
pghactl switchover --candidate "$C" --scheduled "$when" --force
is "$RC" 0 "scheduled switchover: exit 0 at once"
is "$(cluster_leader)" "$L" "nothing happens before its time"
check "the keeper carries it out at its time" poll_until 20 leader_is "$C"
check "the cluster is whole again" cluster_wait_healthy 40

# 3. paused: every keeper sees it, a switchover is refused
L=$C
read -r C R <<<"$(others "$L" | tr '\n' ' ')"
pghactl pause
is "$RC:$OUT" "0:Success: cluster management is paused" "pghactl pause"
for n in n1 n2 n3; do
	check "pgha_status() on $n shows the pause" poll_until 10 paused "$n"
done
pghactl switchover --candidate "$C" --force
is "$RC" 6 "switchover while paused: refused (6)"

# 4. the paused cluster loses its leader: nobody takes over until asked
cluster_kill_node "$L"
check "the leader key expires" poll_until $((CLUSTER_TTL + 10)) no_leader
check "no replica takes over while paused ($((2 * CLUSTER_LOOP_WAIT + 2)) s watched)" \
	holds_for $((2 * CLUSTER_LOOP_WAIT + 2)) no_leader
t0=$(date +%s%N)
pghactl failover --candidate "$C" --timeout 60
is "$RC" 0 "pghactl failover of the leaderless cluster: exit 0 (no --force needed)"
check "it says 'Successfully failed over to \"$C\"'" grep -q "Successfully failed over to \"$C\"" <<<"$OUT"
note "pghactl failover returned after $(ms_since "$t0") ms"
pghactl resume
is "$RC:$OUT" "0:Success: cluster management is resumed" "pghactl resume"
cluster_restart_node "$L"
check "the killed leader rejoins" cluster_wait_healthy 90
is "$(cluster_leader)" "$C" "the failover's candidate leads"
pghactl history
is "$(grep -c '^| *[0-9]' <<<"$OUT")" 3 "history lists the three switches"

done_testing
