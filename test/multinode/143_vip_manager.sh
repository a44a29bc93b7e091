#!/bin/bash
# Debian's vip-manager (1.0.2) keeps a virtual IP on the leader of a 3-node
# pgha cluster: one network namespace per node, made by this test, in
# which that node's vip-manager manages VIP on a veth interface, trigger
# value = its node name.  The VIP is on the leader's namespace only; after
# a switchover and after the leader node is killed it moves to the new
# leader's within a bounded time (measured); it is never on two
# namespaces at once (every address change in every namespace is logged by
# `ip monitor`, and the holders are sampled during each move).
#
# vip-manager 1.0.x reads the etcd v2 keys API only (its etcd client is
# github.com/coreos/etcd/client; v3 came with vip-manager 2.0), and pgha
# writes the v3 keys, as Patroni does with `etcd3:`.  The test shows that
# first (with the v2 API on, vip-manager never sees the leader), then
# mirrors the v3 leader key into the v2 store with bin/pgha-vip-mirror, the
# way a Debian 12 installation has to run vip-manager 1.0.2 next to pgha.
#
# Containment: the namespaces are unprivileged (unshare --user
# --map-root-user --net, as the postgres user the tests run as; no root,
# no `ip netns`), they vanish with their last process; the VIP only ever
# exists inside them.  vip-manager reaches etcd over 127.0.0.1:2379 of its
# namespace, a socat there forwarding to a unix socket in $TEST_TMP,
# where a socat on the host side connects to etcd on 127.0.0.1.
set -u
cd "$(dirname "$0")/../.."
CLUSTER_PG_BASE=27560
CLUSTER_ETCD_PORT=25060
CLUSTER_SCOPE=vip
. test/cluster.sh

VIP=10.143.0.10
KEY=/service/$CLUSTER_SCOPE/leader
E=$CLUSTER_E

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}
command -v vip-manager >/dev/null || skip_all "vip-manager is not installed (Debian package vip-manager)"
unshare --user --map-root-user --net true 2>/dev/null ||
	skip_all "unprivileged user and network namespaces are not available (unshare --user --net failed)"
note "$(vip-manager --version 2>&1 | head -1)"

declare -A VM_PID=()	# node -> vip-manager's pid (in its namespace)

# vip_start NAME: NAME's namespace with lo, a veth pair vip0/vip0p, vip0
# with an address of its own (the host's address on its interface:
# vip-manager's gratuitous ARP needs one; not 10.143.0.10N: vip-manager
# 1.0.2 takes an address that begins with the VIP for the VIP), an `ip
# monitor` of vip0's addresses, the etcd bridge, and vip-manager
vip_start() {
	local name=$1
	setsid unshare --user --map-root-user --net bash -c '
		set -e
		ip link set lo up
		ip link add vip0 type veth peer name vip0p
		ip link set vip0 up
		ip link set vip0p up
		ip addr add "$5" dev vip0
		ip -ts monitor address dev vip0 >"$1/vipmon-$2.log" 2>&1 &
		socat TCP-LISTEN:2379,bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:"$1/etcd.sock" &
		exec vip-manager --ip "$3" --netmask 24 --interface vip0 \
			--trigger-key "$4" --trigger-value "$2" \
			--dcs-type etcd --dcs-endpoints http://127.0.0.1:2379 --interval 200
	' _ "$TEST_TMP" "$name" "$VIP" "$KEY" "10.143.0.$((20 + ${name#n}))/24" >"$TEST_TMP/vip-manager-$name.log" 2>&1 </dev/null &
	VM_PID[$name]=$!
	cleanup_group "$!"
	disown "$!"
}

# has_vip NAME: the VIP is on vip0 in NAME's namespace
has_vip() {
	nsenter --preserve-credentials -U -n -t "${VM_PID[$1]}" ip -o -4 addr show dev vip0 2>/dev/null |
		grep -q " inet $VIP/24 "
}
holders() {
	local n h=""
	for n in n1 n2 n3; do has_vip "$n" && h+="${h:+,}$n"; done
	echo "${h:--}"
}
holders_are() { [ "$(holders)" = "$1" ]; }

# sample_until SECONDS PREDICATE [ARG...]: poll the holders every 0.1 s
# until PREDICATE HOLDERS [ARG...] succeeds; sets MAX_HOLDERS (the most at
# any sample) and MOVED_MS (when it first succeeded)
sample_until() {
	local end=$(($(cluster_now_ms) + $1 * 1000)) pred=$2 h k
	shift 2
	MAX_HOLDERS=0
	MOVED_MS=
	while [ "$(cluster_now_ms)" -lt "$end" ]; do
		h=$(holders)
		k=0
		[ "$h" = - ] || k=$(tr ',' '\n' <<<"$h" | wc -l)
		[ "$k" -gt "$MAX_HOLDERS" ] && MAX_HOLDERS=$k
		if "$pred" "$h" "$@"; then
			MOVED_MS=$(cluster_now_ms)
			return 0
		fi
		sleep 0.1
	done
	return 1
}
# HOLDERS is exactly EXPECTED
held_by() { [ "$1" = "$2" ]; }
# HOLDERS is one namespace, not OLD's
moved_from() { [ "$1" != - ] && [ "$1" != "$2" ] && [ "${1#*,}" = "$1" ]; }

# never_two: from every namespace's `ip monitor` log, the VIP was never on
# two namespaces at the same time; prints the longest overlap otherwise
never_two() {
	local n
	for n in n1 n2 n3; do
		# a line may carry more than one timestamp: the event's is the last
		sed -n "s/^.*\[\([^]]*\)\] \(Deleted \)\{0,1\}[0-9]*: vip0 *inet $VIP\/24 .*/\1 \2/p" \
			"$TEST_TMP/vipmon-$n.log" | while read -r ts del; do
			printf '%s %s %s\n' "$(date -d "$ts" +%s%6N)" "$n" "$([ -n "$del" ] && echo -1 || echo 1)"
		done
	done | sort -n | awk '{ c += $3; if (c > 1) { print "two holders at " $1 " (" $2 ")"; bad = 1 } } END { exit bad }'
}

# etcd with its v2 API on (etcd 3.4 reads ETCD_ENABLE_V2 like --enable-v2)
export ETCD_ENABLE_V2=true
cluster_start 3 || bail_out "the cluster did not start"
unset ETCD_ENABLE_V2
expect "three nodes bootstrap and stream" cluster_wait_healthy 90 || bail_out "the cluster is not healthy"
check "etcd serves the v2 keys API" sh -c "curl -sf '$E/v2/keys/' | jq -e '.node.dir' >/dev/null"
L=$(cluster_leader)
note "leader $L"

setsid socat UNIX-LISTEN:"$TEST_TMP/etcd.sock",fork TCP:127.0.0.1:"$CLUSTER_ETCD_PORT" >/dev/null 2>&1 &
cleanup_group "$!"
disown "$!"
for n in n1 n2 n3; do vip_start "$n"; done
ns_ready() {
	local n
	for n in n1 n2 n3; do
		kill -0 "${VM_PID[$n]}" 2>/dev/null &&
			nsenter --preserve-credentials -U -n -t "${VM_PID[$n]}" ip -o link show vip0 >/dev/null 2>&1 || return 1
	done
}
check "three namespaces, vip-manager running in each" poll_until 10 ns_ready
check "the VIP is not in the test's own namespace" bash -c "! ip -o -4 addr | grep -q ' inet $VIP/'"
check "vip-manager in $L's namespace reaches etcd through the bridge (v2 GET, key not found)" \
	poll_until 10 grep -q "Key not found" "$TEST_TMP/vip-manager-$L.log"

# pgha writes the v3 key only: vip-manager 1.0.2 does not see it
check "without the mirror no namespace gets the VIP for 3 s (vip-manager 1.0.2 reads etcd v2)" \
	holds_for 3 holders_are -
sed -n '1,3p' "$TEST_TMP/vip-manager-$L.log" | sed 's/^/#   vip-manager: /'

# the mirror holds a change of holder back 800 ms (4 of vip-manager's
# 200 ms intervals): a PUT straight over the old holder let both
# vip-managers act in the same interval, and `ip monitor` once saw the VIP
# on two namespaces (CI, stop 15)
setsid bin/pgha-vip-mirror --endpoint "$E" --key "$KEY" --hold-off 800 >"$TEST_TMP/mirror.log" 2>&1 </dev/null &
cleanup_group "$!"
disown "$!"
t0=$(cluster_now_ms)
check "with the v3 leader key mirrored into v2: the VIP on $L only" poll_until 10 holders_are "$L"
note "VIP on $L $(($(cluster_now_ms) - t0)) ms after the mirror started"
check "it holds there for 3 s" holds_for 3 holders_are "$L"

# a switchover: the VIP follows
C=$(for n in n1 n2 n3; do [ "$n" != "$L" ] && echo "$n"; done | head -1)
t0=$(cluster_now_ms)
./pghactl --endpoints "$E" --scope "$CLUSTER_SCOPE" switchover --leader "$L" --candidate "$C" --force \
	>"$TEST_TMP/switchover.out" 2>&1 &
sw=$!
check "switchover $L -> $C: the VIP moves to $C's namespace within 20 s" sample_until 20 held_by "$C"
note "VIP on $C $((${MOVED_MS:-0} - t0)) ms after the switchover was asked for (leader key: $(cluster_leader))"
is "$MAX_HOLDERS" 1 "never on two namespaces at any sample"
wait "$sw"
expect "the cluster is whole again" cluster_wait_healthy 60
check "the VIP stays on $C only" holds_for 2 holders_are "$C"

# the leader node dies: the VIP goes to the new leader's namespace (the dead
# node's vip-manager goes on running, and must let go of it)
L=$C
t0=$(cluster_now_ms)
cluster_kill_node "$L"
note "killed $L at $(date +%T.%3N)"
sample_until $((CLUSTER_TTL + CLUSTER_LOOP_WAIT + 15)) moved_from "$L"
N=$(holders)
check "node $L killed: the VIP moves to another namespace within ttl + loop_wait + 15 s ($N)" test -n "$MOVED_MS"
note "VIP on $N $((${MOVED_MS:-0} - t0)) ms after $L was killed (ttl $CLUSTER_TTL s)"
is "$MAX_HOLDERS" 1 "never on two namespaces at any sample"
leader_is() { [ "$(cluster_leader)" = "$1" ]; }
check "the new holder is the new leader (the leader key names it)" poll_until 10 leader_is "$N"
# vip-manager follows the key, which the new leader takes before it is
# promoted: the VIP may be there a moment before writes are accepted
check "$N accepts writes" poll_until 10 node_writable "$N"
note "$N writable $(($(cluster_now_ms) - ${MOVED_MS:-0})) ms after the VIP was seen on it"
check "the VIP stays on $N only for 3 s" holds_for 3 holders_are "$N"
check "every address change, in every namespace: never two holders at once" never_two
for n in n1 n2 n3; do
	note "$n: VIP added $(grep -c "\] [0-9]*: vip0 *inet $VIP/" "$TEST_TMP/vipmon-$n.log") times, removed $(grep -c "Deleted [0-9]*: vip0 *inet $VIP/" "$TEST_TMP/vipmon-$n.log")"
done
sed 's/^/#   mirror: /' "$TEST_TMP/mirror.log"

done_testing
