#!/bin/bash
# test/chaos/run.sh: a seeded fault-injection ("chaos") run against a 3-node
# pgha cluster on a 3-member etcd, with a writer and per-node probes all along.
#
#   test/chaos/run.sh [--seed S] [--faults N] [--mode async|sync|strict] [--keep]
#                     [--kinds K1,K2,...] [--sequence K1,K2,...] [--from I]
#                     [--heal-timeout S] [--port-base P] [--max-lag BYTES]
#                     [--tap] [--dry-run]
#
#   --seed S          the schedule's seed (default: from the clock; printed)
#   --faults N        how many faults (default 10)
#   --mode M          async (default): no synchronous mode in the config key;
#                     sync: "synchronous_mode": true; strict: and
#                     "synchronous_mode_strict": true
#   --keep            keep the cluster's files (logs, data) even on success
#   --kinds LIST      draw only these fault kinds (comma-separated, see below)
#   --sequence LIST   exactly these faults, in this order (--faults is their
#                     number; the seed still draws targets and durations)
#   --from I          draw the whole schedule, inject from fault I on (replay
#                     the end of a long run)
#   --heal-timeout S  how long a fault may take to heal (default 120)
#   --port-base P     the run's ports (default 24400, or CHAOS_PORT_BASE):
#                     etcd P..P+5, forwarders P+6..P+14, postgres P+2001..
#                     P+2003 (a dup_name duplicate P+2009); runs with bases
#                     at least 30 apart (24400, 24430, 24460) can run at once
#   --max-lag BYTES   maximum_lag_on_failover written to the config key
#                     (default: the key's own, Patroni's 1048576 when unset);
#                     async mode bounds its lost writes per fault with it
#   --tap             TAP output (ok / not ok lines), as the CI suite wants
#   --dry-run         print the schedule (one line per fault) and exit
#
# Fault kinds: pg_kill node_kill keeper_stop postmaster_stop leader_cutoff
# replica_cutoff etcd_member_down etcd_quorum_loss switchover slow_etcd
# ttl_change instance_stop clock_step dup_name etcd_wipe
# (test/chaos/README.md says what each does).  The same seed, fault count,
# mode and kinds give the same faults, targets (relative to the leader of
# the moment) and durations.  After each fault the harness heals what it
# broke and waits until the cluster is whole again: one leader, the other
# nodes streaming from it, etcd healthy, the writer's commits acknowledged.
# At the end: lost acknowledged writes (on the final leader) and split-brain
# windows (per fault window).  Exit status 1 when a fault did not heal, a
# split-brain window was found, (sync, strict) an acknowledged write was
# lost, or (async) a fault lost more acknowledged writes than
# maximum_lag_on_failover allows (README: "The checks"); 2 when the run
# could not start.
#
# As root it installs pgha (one run at a time: /tmp/pgha-chaos-install.lock)
# and runs as postgres from a copy of the tree.  Cleanup signals only the
# processes this run started, each checked by its start time.
set -u
cd "$(dirname "$0")/../.."

SEED=
FAULTS=10
MODE=async
KEEP=0
KINDS=
SEQUENCE=
FROM=1
HEAL_TIMEOUT=120
TAP=0
DRY_RUN=0
PORT_BASE=${CHAOS_PORT_BASE:-24400}
MAX_LAG=
ALL_KINDS=(pg_kill node_kill keeper_stop postmaster_stop leader_cutoff replica_cutoff
	etcd_member_down etcd_quorum_loss switchover slow_etcd
	ttl_change instance_stop clock_step dup_name etcd_wipe)

usage() {
	sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//'
	exit "${1:-0}"
}

ARGS=("$@")
while [ $# -gt 0 ]; do
	case $1 in
		--seed) SEED=${2:-}; shift ;;
		--seed=*) SEED=${1#*=} ;;
		--faults) FAULTS=${2:-}; shift ;;
		--faults=*) FAULTS=${1#*=} ;;
		--mode) MODE=${2:-}; shift ;;
		--mode=*) MODE=${1#*=} ;;
		--kinds) KINDS=${2:-}; shift ;;
		--kinds=*) KINDS=${1#*=} ;;
		--sequence) SEQUENCE=${2:-}; shift ;;
		--sequence=*) SEQUENCE=${1#*=} ;;
		--from) FROM=${2:-}; shift ;;
		--from=*) FROM=${1#*=} ;;
		--heal-timeout) HEAL_TIMEOUT=${2:-}; shift ;;
		--heal-timeout=*) HEAL_TIMEOUT=${1#*=} ;;
		--port-base) PORT_BASE=${2:-}; shift ;;
		--port-base=*) PORT_BASE=${1#*=} ;;
		--max-lag) MAX_LAG=${2:-}; shift ;;
		--max-lag=*) MAX_LAG=${1#*=} ;;
		--keep) KEEP=1 ;;
		--tap) TAP=1 ;;
		--dry-run) DRY_RUN=1 ;;
		-h | --help) usage ;;
		*) echo "run.sh: unknown argument '$1'" >&2; usage 2 ;;
	esac
	shift
done
[ -n "$SEED" ] || SEED=$(($(date +%s%N) / 1000 % 1000000))
[[ $SEED =~ ^[0-9]+$ ]] || { echo "run.sh: --seed must be a number" >&2; exit 2; }
[[ $FAULTS =~ ^[0-9]+$ ]] || { echo "run.sh: --faults must be a number" >&2; exit 2; }
[[ $FROM =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --from must be a number >= 1" >&2; exit 2; }
[[ $HEAL_TIMEOUT =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --heal-timeout must be a number" >&2; exit 2; }
[[ $PORT_BASE =~ ^[1-9][0-9]*$ ]] && [ "$PORT_BASE" -le 63000 ] ||
	{ echo "run.sh: --port-base must be a number <= 63000" >&2; exit 2; }
[ -z "$MAX_LAG" ] || [[ $MAX_LAG =~ ^[0-9]+$ ]] || { echo "run.sh: --max-lag must be a number" >&2; exit 2; }
case $MODE in async | sync | strict) ;; *) echo "run.sh: --mode must be async, sync or strict" >&2; exit 2 ;; esac
for k in ${KINDS//,/ } ${SEQUENCE//,/ }; do
	[[ " ${ALL_KINDS[*]} " == *" $k "* ]] || { echo "run.sh: unknown fault kind '$k'" >&2; exit 2; }
done
if [ -n "$KINDS" ]; then
	read -r -a DRAW_KINDS <<<"${KINDS//,/ }"
else
	DRAW_KINDS=("${ALL_KINDS[@]}")
fi
SEQ_KINDS=()
if [ -n "$SEQUENCE" ]; then
	read -r -a SEQ_KINDS <<<"${SEQUENCE//,/ }"
	FAULTS=${#SEQ_KINDS[@]}
fi

if [ "$DRY_RUN" = 1 ]; then
	. test/chaos/faults.sh
	chaos_schedule
	echo "# seed $SEED, $FAULTS faults${KINDS:+, kinds $KINDS}: index kind and draws" \
		"(who: 0,1 leader 2 replica; rep: replica; extra, dur, gap: s; lo, hi: ms)"
	for i in $(seq "$FROM" "$FAULTS"); do echo "$(schedule_line "$i"): $(schedule_plan "$i")"; done
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	bash test/install-deps.sh || exit 2
	# concurrent runs (other port bases) must not build and install at once
	flock /tmp/pgha-chaos-install.lock bash -c 'make -s >/dev/null && make -s install >/dev/null &&
		make -s test/tools/pgha_workload >/dev/null' || exit 2
	work=$(mktemp -d /tmp/pgha-chaos.XXXXXX)
	cp -a . "$work/src"
	chown -R postgres:postgres "$work"
	# the seed is chosen here, so that a replay line printed below is complete
	runuser -u postgres -- bash "$work/src/test/chaos/run.sh" --seed "$SEED" --port-base "$PORT_BASE" "${ARGS[@]}"
	rc=$?
	rm -rf "$work"
	exit $rc
fi

# --- the cluster ---------------------------------------------------------------

CLUSTER_SCOPE=chaos
CLUSTER_PG_BASE=${CHAOS_PG_BASE:-$((PORT_BASE + 2000))}
CLUSTER_ETCD_PORT=${CHAOS_ETCD_PORT:-$PORT_BASE}
CLUSTER_ETCD_MEMBERS=3
# sourced here, not in a function: its arrays must be global
. test/cluster.sh
CHAOS_DIR=$CLUSTER_ROOT/test/chaos
. "$CHAOS_DIR/faults.sh"
[ "$KEEP" = 1 ] && export PGHA_KEEP_TMP=1
CHAOS_LOG=$TEST_TMP/chaos.log

trap chaos_cleanup EXIT
# interrupted: the files stay for a look (lib.sh keeps them after a failure)
trap 'TAP_FAILED=$((TAP_FAILED + 1)); exit 130' INT
trap 'TAP_FAILED=$((TAP_FAILED + 1)); exit 143' TERM

chaos_main
