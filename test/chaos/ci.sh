#!/bin/bash
# test/chaos/ci.sh: the short chaos suite of `make test` (test/run-all.sh,
# suite "chaos"): per mode (async, sync, strict) a fresh cluster and four
# faults of a fixed seed, together every fault kind of the first ten once,
# and two of the new ones (issue 9): instance_stop (async) and etcd_wipe
# (strict), the cheapest; ttl_change, clock_step and dup_name run only in
# long runs (test/chaos/run.sh --kinds).  Five faults in a run (sync and
# strict had five, with switchover and leader_cutoff twice) made the
# suite ~50 s longer, as long as its longest run.  TAP
# lines numbered across the three runs, then "1..N" and the suite's count
# line "chaos: N passed, M failed".  The three runs go at once, on ports
# 24400, 24430 and 24460 (about 3 minutes in all), or one after the other.  Runs as the
# postgres user with pgha installed (test/run-all.sh sees to both).
#
# A failed run keeps its files and prints the line that replays it.
set -u
cd "$(dirname "$0")/../.."

# mode seed faults, in order (every kind once at least, the dangerous ones
# where they matter most: a lost commit fails sync and strict)
RUNS=(
	"async 101 etcd_quorum_loss,slow_etcd,pg_kill,instance_stop"
	"sync 202 node_kill,keeper_stop,switchover,etcd_member_down"
	"strict 303 postmaster_stop,replica_cutoff,leader_cutoff,etcd_wipe"
)

# the three runs at once, each on ports of its own (run.sh --port-base):
# most of a run is waiting for a fault to act or heal, so they share the
# machine well, and the suite takes as long as its longest run.
# CHAOS_ONE_AT_A_TIME=1 runs them one after the other (test/run-all.sh, when
# the suite runs beside the multinode lanes: one more cluster, not three).
out_dir=$(mktemp -d "${TMPDIR:-/tmp}/pgha-chaos-ci.XXXXXX")
pids=()
i=0
for r in "${RUNS[@]}"; do
	read -r mode seed seq <<<"$r"
	{
		bash test/chaos/run.sh --tap --mode "$mode" --seed "$seed" --sequence "$seq" \
			--heal-timeout 90 --port-base $((24400 + 30 * i)) >"$out_dir/$i" 2>&1
		echo $? >"$out_dir/$i.rc"
	} &
	pids+=($!)
	[ "${CHAOS_ONE_AT_A_TIME:-0}" = 1 ] && wait "$!"
	i=$((i + 1))
done

n=0
failed=0
i=0
for r in "${RUNS[@]}"; do
	read -r mode seed seq <<<"$r"
	wait "${pids[$i]}" 2>/dev/null
	rc=$(cat "$out_dir/$i.rc" 2>/dev/null || echo 1)
	echo "# chaos: mode $mode, seed $seed: $seq"
	# renumber the TAP lines of this run after the previous runs' ones
	while IFS= read -r line; do
		if [[ $line =~ ^(not\ )?ok\ [0-9]+\ -\ (.*)$ ]]; then
			n=$((n + 1))
			if [ -n "${BASH_REMATCH[1]}" ]; then
				failed=$((failed + 1))
				echo "not ok $n - $mode: ${BASH_REMATCH[2]}"
			else
				echo "ok $n - $mode: ${BASH_REMATCH[2]}"
			fi
		elif [[ $line =~ ^1\.\.[0-9]+$ ]]; then
			:
		elif [ "${line:0:1}" = "#" ]; then
			echo "$line"
		else
			echo "# $line"
		fi
	done <"$out_dir/$i"
	if [ "$rc" -ne 0 ] && ! grep -q '^not ok ' "$out_dir/$i"; then
		n=$((n + 1))
		failed=$((failed + 1))
		echo "not ok $n - $mode: test/chaos/run.sh exited with status $rc"
	fi
	i=$((i + 1))
done
rm -rf "$out_dir"
echo "1..$n"
echo "chaos: $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
