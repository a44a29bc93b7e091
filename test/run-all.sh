#!/bin/bash
# The test command (`make test`): every suite, then one line
# "N passed, M failed" over all of them.
#
#   unit       cmocka tests of the pure C modules       (make unittest)
#   live       the etcd client against a real etcd      (test/live/)
#   regress    pg_regress on a temporary instance       (make installcheck)
#   multinode  real etcd + real postgres servers        (test/multinode/*.sh)
#   fuzz       libFuzzer on the parsers, 10 s a target  (test/run-fuzz.sh)
#   chaos      seeded faults on a 3-node cluster with a 3-member etcd, in
#              async, sync and strict mode, 4 faults each (test/chaos/ci.sh);
#              beside the multinode lanes when both run
#
# postgres refuses to run as root: as root, this script installs pgha, copies
# the tree to a directory owned by the postgres user and runs there as that
# user.  PGHA_SUITES="unit regress" runs a subset; PGHA_MULTINODE="test/multinode/020_*.sh"
# narrows the multinode suite, which runs in three lanes (PGHA_MULTINODE_LANES=1: one).
set -u
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
	make -s install >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
	work=$(mktemp -d /tmp/pgha-ci.XXXXXX)
	cp -a . "$work/src"
	chown -R postgres:postgres "$work"
	runuser -u postgres -- env PGHA_SUITES="${PGHA_SUITES:-}" PGHA_MULTINODE="${PGHA_MULTINODE:-}" \
		PGHA_MULTINODE_LANES="${PGHA_MULTINODE_LANES:-3}" bash "$work/src/test/run-all.sh"
	rc=$?
	[ $rc -eq 0 ] && rm -rf "$work"
	exit $rc
fi

if [ ! -f "$(pg_config --pkglibdir)/pgha.so" ]; then
	echo "pgha is not installed: run 'make install' as root first (or 'make test' as root)" >&2
	exit 2
fi

suites=${PGHA_SUITES:-"unit live regress multinode fuzz chaos"}
passed=0
failed=0
log=$(mktemp -d "${TMPDIR:-/tmp}/pgha-tests.XXXXXX")

# add the counts of a line "<suite>: N passed, M failed"
count() {
	local line
	line=$(grep -E '^[a-z]+: [0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
	if [ -z "$line" ]; then
		echo "# $2 printed no count: counted as 1 failure"
		failed=$((failed + 1))
		return
	fi
	passed=$((passed + $(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")))
	failed=$((failed + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
}

# run a TAP script and print "<name>: N passed, M failed"
tap() {
	local script=$1 out rc p f t0
	t0=$(date +%s)
	out=$(bash "$script" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	echo "# $(basename "$script" .sh) took $(($(date +%s) - t0)) s"
	p=$(grep -cE '^ok [0-9]+' <<<"$out")
	f=$(grep -cE '^not ok [0-9]+' <<<"$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	echo "$(basename "$script" .sh): $p passed, $f failed"
}

# The multinode tests in three lanes at once: 070-099 and 143 (watchdog,
# identity, etcd rebuild, vip-manager), 060-064 and 110-142 (fencing,
# config, REST api, the Patroni tools) beside the others.  Their ports are
# disjoint lane from lane (tests that share ports are in the same lane and
# run one after the other), and most of a test is waiting for a cluster to
# act.  Each test's
# output is printed whole, in the order of the lane that ends first.
# PGHA_MULTINODE_LANES=2 puts the third lane's tests in the second, =1
# runs them one by one.
lane_of() {
	local lanes=${PGHA_MULTINODE_LANES:-3}
	[ "$lanes" -gt 1 ] || { echo 1; return; }
	case $(basename "$1") in
		143_*) echo 2 ;;	# to even the lanes out (its ports are its own)
		06[0-9]_* | 1[0-9][0-9]_*) [ "$lanes" -gt 2 ] && echo 3 || echo 2 ;;
		0[7-9][0-9]_*) echo 2 ;;
		*) echo 1 ;;
	esac
}

multinode_lanes() {
	local t lane pids=() l
	for lane in 1 2 3; do
		(
			for t in "$@"; do
				[ "$(lane_of "$t")" = "$lane" ] || continue
				tap "$t" >"$log/lane$lane.out" 2>&1
				# whole, not interleaved with the other lane
				flock "$log/print.lock" bash -c 'tee -a "$2" <"$1"' _ "$log/lane$lane.out" "$log/multinode.raw"
			done
		) &
		pids+=($!)
	done
	for l in "${pids[@]}"; do wait "$l"; done
}

# The chaos suite runs beside the multinode lanes, its three runs one after
# the other (as a fourth lane: the lanes leave a third of the 2 cores idle,
# and it took ~3.5 minutes after them), when both are asked for; its output
# is printed at its turn.
chaos_bg=""

for s in $suites; do
	echo "=== $s"
	case $s in
		unit)
			make -s unittest 2>&1 | tee "$log/unit" ;;
		live)
			bash test/live/run-etcd-live.sh >"$log/live.raw" 2>&1
			rc=$?
			cat "$log/live.raw"
			p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log/live.raw" | awk '{s+=$1} END {print s+0}')
			f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log/live.raw" | awk '{s+=$1} END {print s+0}')
			if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
			echo "live: $p passed, $f failed" | tee "$log/live" ;;
		regress)
			bash test/run-regress.sh 2>&1 | tee "$log/regress" ;;
		fuzz)
			bash test/run-fuzz.sh 2>&1 | tee "$log/fuzz" ;;
		chaos)
			if [ -n "$chaos_bg" ]; then
				wait "$chaos_bg"
				tee "$log/chaos" <"$log/chaos.raw"
			else
				bash test/chaos/ci.sh 2>&1 | tee "$log/chaos"
			fi ;;
		multinode)
			: >"$log/multinode"
			: >"$log/multinode.raw"
			if [[ " $suites " == *" chaos "* ]]; then
				CHAOS_ONE_AT_A_TIME=1 bash test/chaos/ci.sh >"$log/chaos.raw" 2>&1 &
				chaos_bg=$!
			fi
			multinode_lanes ${PGHA_MULTINODE:-test/multinode/[0-9]*.sh}
			grep -E '^[0-9a-z_]+: [0-9]+ passed' "$log/multinode.raw" |
				awk -F'[ :]+' '{p+=$2; f+=$4} END {printf "multinode: %d passed, %d failed\n", p, f}' |
				tee "$log/multinode" ;;
		*)
			echo "unknown suite $s" >&2
			echo "$s: 0 passed, 1 failed" >"$log/$s" ;;
	esac
	count "$log/$s" "$s"
done
rm -rf "$log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
