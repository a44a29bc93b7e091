#!/bin/bash
# Build the libFuzzer targets (make fuzz) and run each for FUZZ_SECONDS
# (default 10) on a scratch copy of its seed corpus test/fuzz/corpus/<t>/,
# after replaying the saved crashers of test/fuzz/regressions/<t>/; print
# "fuzz: N passed, M failed".  A target passes when libFuzzer exits 0: no
# crash, sanitizer report, leak, timeout or out-of-memory.  A failing
# target's crashing input is kept and its path printed.
# FUZZ_JOBS=2 runs the targets in parallel.
cd "$(dirname "$0")/.." || exit 1
seconds=${FUZZ_SECONDS:-10}
jobs=${FUZZ_JOBS:-1}
targets=(fuzz_etcd_answers fuzz_cluster_json fuzz_api_bodies)

if ! make -s fuzz; then
	echo "fuzz: 0 passed, ${#targets[@]} failed (build failed: needs clang and libclang-rt-14-dev)"
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pgha-fuzz.XXXXXX")

run_target() {
	local t=$1 dir=$work/$1 extra=()
	mkdir -p "$dir/corpus"
	cp test/fuzz/corpus/"$t"/* "$dir/corpus/"
	[ -d test/fuzz/regressions/"$t" ] && extra+=(test/fuzz/regressions/"$t")
	# new inputs go to the first (scratch) directory only
	test/fuzz/"$t"_fuzz -max_total_time="$seconds" -max_len=65536 \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$dir/" "$dir/corpus" "${extra[@]}" \
		>"$dir/log" 2>&1
	echo $? >"$dir/rc"
}

running=0
for t in "${targets[@]}"; do
	run_target "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

passed=0 failed=0
for t in "${targets[@]}"; do
	dir=$work/$t
	rc=$(cat "$dir/rc" 2>/dev/null || echo 1)
	stats=$(grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' "$dir/log" |
		sed 's/^stat:://' | tr -s ' \n' ' ')
	cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$dir/log" | tail -1)
	if [ "$rc" -eq 0 ]; then
		echo "$t: ok ($cov; $stats)"
		passed=$((passed + 1))
	else
		echo "$t: FAILED (libFuzzer exit $rc); log $dir/log"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$dir/log" | head -5
		ls "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-* 2>/dev/null | sed 's/^/  input: /'
		failed=$((failed + 1))
	fi
done
[ "$failed" -eq 0 ] && rm -rf "$work"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
