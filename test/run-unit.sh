#!/bin/bash
# Run cmocka unit test binaries; print one "unit: N passed, M failed" line.
# Each binary's exit status is its number of failed tests.
passed=0 failed=0
for bin in "$@"; do
	out=$("$bin" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	passed=$((passed + ${p:-0}))
	if [ -z "$f" ] && [ "$rc" -ne 0 ]; then f=1; fi	# crashed before its summary
	failed=$((failed + ${f:-0}))
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
