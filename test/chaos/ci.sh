#!/bin/bash
# test/chaos/ci.sh: the short chaos suite of `make test` (test/run-all.sh,
# suite "chaos"): per mode (async, sync, strict) a fresh cluster and four
# or five faults of a fixed seed, together every fault kind of the first
# ten at least once, and two of the new ones (issue 9): instance_stop
# (sync) and etcd_wipe (strict), the cheapest; ttl_change, clock_step and
# dup_name run only in long runs (test/chaos/run.sh --kinds).  TAP
# lines numbered across the three runs, then "1..N" and the suite's count
# line "chaos: N passed, M failed".  About 4-5 minutes.  Runs as the
# postgres user with pgha installed (test/run-all.sh sees to both).
#
# A failed run keeps its files and prints the line that replays it.
set -u
cd "$(dirname "$0")/../.."

# mode seed faults, in order (every kind once at least, the dangerous ones
# where they matter most: a lost commit fails sync and strict)
RUNS=(
	"async 101 leader_cutoff,etcd_quorum_loss,slow_etcd,pg_kill"
	"sync 202 node_kill,keeper_stop,switchover,etcd_member_down,instance_stop"
	"strict 303 postmaster_stop,replica_cutoff,leader_cutoff,switchover,etcd_wipe"
)

n=0
failed=0
for r in "${RUNS[@]}"; do
	read -r mode seed seq <<<"$r"
	echo "# chaos: mode $mode, seed $seed: $seq"
	out=$(bash test/chaos/run.sh --tap --mode "$mode" --seed "$seed" --sequence "$seq" --heal-timeout 90 2>&1)
	rc=$?
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
	done <<<"$out"
	if [ "$rc" -ne 0 ] && ! grep -q '^not ok ' <<<"$out"; then
		n=$((n + 1))
		failed=$((failed + 1))
		echo "not ok $n - $mode: test/chaos/run.sh exited with status $rc"
	fi
done
echo "1..$n"
echo "chaos: $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
