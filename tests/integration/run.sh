#!/usr/bin/env bash
# Runs every tests/integration/test_*.sh and tests/faults/test_*.sh (or the ones named)
# and prints a summary line.
cd "$(dirname "$0")/.." || exit 1
passed=0 failed=0 failed_names=()
# daemons of the tests (state under /tmp/dfs-test.*, see lib.sh) that are alive; zombies
# waiting for their reaper do not count, nor does anyone else's cluster (a demo in .dfs)
daemons() {
	ps -eo pid=,stat=,comm= | awk '$2 !~ /^Z/ && $3 ~ /^dfs-(namenode|datanode|fuse)$/ { print $1 }' |
		while read -r pid; do
			tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | grep -q '/tmp/dfs-test\.' && echo "$pid"
		done | sort
}
tests=("$@")
[ ${#tests[@]} -eq 0 ] && tests=(integration/test_*.sh faults/test_*.sh)
for t in "${tests[@]}"; do
	echo "=== $t"
	start=$(date +%s)
	before=$(daemons)
	ok=1
	timeout 600 bash "$t" || ok=0
	# a test must stop everything it started
	left=$(comm -13 <(echo "$before") <(daemons))
	if [ -n "$left" ]; then
		echo "FAIL: $t left daemons running: $(echo $left)"
		kill -9 $left 2>/dev/null
		ok=0
	fi
	if [ $ok = 1 ]; then
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
