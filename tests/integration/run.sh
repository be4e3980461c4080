#!/usr/bin/env bash
# Runs every tests/integration/test_*.sh and tests/faults/test_*.sh (or the ones named)
# and prints a summary line. A test that cannot run here (no root, no /dev/fuse, ...)
# exits 77 and counts as skipped; with CI set (CI=true), where everything must run, a
# skip counts as a failure.
cd "$(dirname "$0")/.." || exit 1
passed=0 failed=0 skipped=0 failed_names=() skipped_names=()
# this run's tests keep their state under $DFS_TEST_ROOT/dfs-test.* (lib.sh), so that
# the daemons of another run on the same machine are neither counted nor killed here
DFS_TEST_ROOT=$(mktemp -d /tmp/dfs-run.XXXXXX) || exit 1
chmod 755 "$DFS_TEST_ROOT" # tests run tools as other users, who must reach their files
export DFS_TEST_ROOT
trap 'rm -rf "$DFS_TEST_ROOT"' EXIT
# daemons of this run's tests that are alive; zombies waiting for their reaper do not
# count, nor does anyone else's cluster (a demo in .dfs, another run's tests)
daemons() {
	ps -eo pid=,stat=,comm= | awk '$2 !~ /^Z/ && $3 ~ /^dfs-(namenode|datanode|fuse|s3)$/ { print $1 }' |
		while read -r pid; do
			tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | grep -qF "$DFS_TEST_ROOT/dfs-test." &&
				echo "$pid"
		done | sort
}
tests=("$@")
[ ${#tests[@]} -eq 0 ] && tests=(integration/test_*.sh faults/test_*.sh)
for t in "${tests[@]}"; do
	echo "=== $t"
	start=$(date +%s)
	before=$(daemons)
	# (kept, so that a failure's lines are printed again at the end, where a CI log cut
	# short in the middle still shows them)
	out="$DFS_TEST_ROOT/$(echo "$t" | tr / _).out"
	# (not a pipe into tee: a daemon a test left running would hold the pipe open)
	timeout 600 bash "$t" > >(tee "$out") 2>&1
	rc=$?
	result=pass
	[ $rc -ne 0 ] && result=fail
	if [ $rc -eq 77 ]; then
		result=skip
		if [ -n "${CI:-}" ]; then
			echo "FAIL: $t skipped, and CI is set: under CI every test must run"
			result=fail
		fi
	fi
	# a test must stop everything it started
	left=$(comm -13 <(echo "$before") <(daemons))
	if [ -n "$left" ]; then
		echo "FAIL: $t left daemons running: $(echo $left)"
		kill -9 $left 2>/dev/null
		result=fail
	fi
	case $result in
	pass) passed=$((passed + 1)) ;;
	skip) skipped=$((skipped + 1)); skipped_names+=("$t") ;;
	*) failed=$((failed + 1)); failed_names+=("$t") ;;
	esac
	echo "--- $t took $(( $(date +%s) - start ))s"
done
[ $skipped -gt 0 ] && echo "skipped: ${skipped_names[*]}"
for t in "${failed_names[@]}"; do
	out="$DFS_TEST_ROOT/$(echo "$t" | tr / _).out"
	echo "=== again, what failed in $t:"
	grep -E '^(FAIL|FAILED|SKIP)' "$out" | head -20
	echo "--- its last 60 lines:"
	tail -n 60 "$out"
done
[ $failed -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "integration: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
