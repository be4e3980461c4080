#!/usr/bin/env bash
# Runs every tests/integration/test_*.sh and tests/faults/test_*.sh (or the ones named)
# and prints a summary line. A test that exits 77 could not run here (skipped).
cd "$(dirname "$0")/.." || exit 1
passed=0 failed=0 skipped=0 failed_names=()
bin=$(cd "${DFS_BIN:-bin}" 2>/dev/null && pwd -P)
# daemons of the tests (state under /tmp/dfs-test.*, see lib.sh) that are alive; zombies
# waiting for their reaper do not count, nor does anyone else's cluster (a demo in .dfs,
# or tests of another build running at the same time: only programs from $DFS_BIN count)
daemons() {
	ps -eo pid=,stat=,comm= | awk '$2 !~ /^Z/ && $3 ~ /^dfs-(namenode|datanode|fuse)$/ { print $1 }' |
		while read -r pid; do
			case $(readlink /proc/"$pid"/exe 2>/dev/null) in "$bin"/*) ;; *) continue ;; esac
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
	timeout 600 bash "$t"
	rc=$?
	[ $rc = 77 ] && ok=skip
	[ $rc != 0 ] && [ $rc != 77 ] && ok=0
	# a test must stop everything it started
	left=$(comm -13 <(echo "$before") <(daemons))
	if [ -n "$left" ]; then
		echo "FAIL: $t left daemons running: $(echo $left)"
		kill -9 $left 2>/dev/null
		ok=0
	fi
	if [ $ok = skip ]; then
		skipped=$((skipped + 1))
	elif [ $ok = 1 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failed_names+=("$t")
	fi
	echo "--- $t took $(( $(date +%s) - start ))s"
done
[ $failed -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "integration: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
