#!/bin/bash
# Run cmocka unit test binaries, under valgrind's memcheck when it is
# installed (PGHA_VALGRIND=0 skips it); print "unit: N passed, M failed".
# A binary's exit status is its number of failed tests; valgrind's errors
# or leaks make it exit 99 and count as one more failure.
passed=0 failed=0
vg=()
if [ "${PGHA_VALGRIND:-1}" != 0 ] && command -v valgrind >/dev/null; then
	vg=(valgrind -q --leak-check=full --errors-for-leak-kinds=all --error-exitcode=99)
fi
for bin in "$@"; do
	out=$("${vg[@]}" "$bin" 2>&1)
	rc=$?
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
