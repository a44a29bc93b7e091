#!/bin/bash
# Run cmocka unit test binaries, under valgrind's memcheck when it is
# installed (PGHA_VALGRIND=0 skips it); print "unit: N passed, M failed".
# A binary's exit status is its number of failed tests; valgrind's errors
# or leaks make it exit 99 and count as one more failure.  The binaries
# run UNIT_JOBS at a time (default: the number of CPUs); their outputs are
# printed in the order given.
passed=0 failed=0
vg=()
if [ "${PGHA_VALGRIND:-1}" != 0 ] && command -v valgrind >/dev/null; then
	vg=(valgrind -q --leak-check=full --errors-for-leak-kinds=all --error-exitcode=99)
fi
out_dir=$(mktemp -d "${TMPDIR:-/tmp}/pgha-unit.XXXXXX")
trap 'rm -rf "$out_dir"' EXIT

# run_one I BIN: its output in $out_dir/I, its exit status in $out_dir/I.rc
run_one() {
	"${vg[@]}" "$2" >"$out_dir/$1" 2>&1
	echo $? >"$out_dir/$1.rc"
}

jobs_max=${UNIT_JOBS:-$(nproc 2>/dev/null || echo 1)}
i=0
for bin in "$@"; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
		wait -n
	done
	run_one "$i" "$bin" &
	i=$((i + 1))
done
wait

i=0
for bin in "$@"; do
	out=$(cat "$out_dir/$i")
	rc=$(cat "$out_dir/$i.rc")
	i=$((i + 1))
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	passed=$((passed + ${p:-0}))
	if [ "$rc" -eq 99 ]; then
		echo "$bin: valgrind reported memory errors or leaks (above)"
		f=$((${f:-0} + 1))
	elif [ -z "$f" ] && [ "$rc" -ne 0 ]; then
		f=1		# crashed before its summary
	fi
	failed=$((failed + ${f:-0}))
done
echo "unit: $passed passed, $failed failed${vg:+ (under valgrind)}"
[ "$failed" -eq 0 ]
