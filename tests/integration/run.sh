#!/usr/bin/env bash
# Runs every tests/integration/test_*.sh and tests/faults/test_*.sh (or the ones named)
# and prints a summary line.
cd "$(dirname "$0")/.." || exit 1
passed=0 failed=0 failed_names=()
tests=("$@")
[ ${#tests[@]} -eq 0 ] && tests=(integration/test_*.sh faults/test_*.sh)
for t in "${tests[@]}"; do
	echo "=== $t"
	start=$(date +%s)
	if timeout 600 bash "$t"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failed_names+=("$t")
	fi
	echo "--- $t took $(( $(date +%s) - start ))s"
done
[ $failed -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "integration: $passed passed, $failed failed"
[ $failed -eq 0 ]
