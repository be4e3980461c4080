# Shared helpers for the integration tests: each test script sources this, starts its
# own cluster in a fresh temp dir on 127.0.0.1, and always stops what it started.
set -u
BIN=${DFS_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/bin}
# under the run's directory when run.sh started the test (it checks what is left there)
T=$(mktemp -d "${DFS_TEST_ROOT:-/tmp}/dfs-test.XXXXXX")
export DFS_DIR=$T/c
FAILS=0

export PATH="$BIN:$PATH"

cleanup() {
	"$BIN/dfs" local down --dir "$DFS_DIR" -q >/dev/null 2>&1
	# FUSE mounts under the temp dir (extra mounts a test made, or a killed dfs-fuse)
	awk -v t="$T/" 'index($2, t) == 1 {print $2}' /proc/mounts 2>/dev/null | while read -r m; do
		fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	# anything still alive from this cluster (by pid file) goes too
	for f in "$DFS_DIR"/run/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		if [ -n "$pid" ] && grep -q '^(dfs-' <(awk '{print $2}' /proc/"$pid"/stat 2>/dev/null); then
			kill -9 "$pid" 2>/dev/null
		fi
	done
	[ -n "${KEEP:-}" ] && echo "kept $T" >&2 || rm -rf "$T"
}
trap cleanup EXIT

# is_running PID: the process exists and is not a zombie
is_running() {
	local st
	st=$(awk '{print $3}' /proc/"$1"/stat 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1s until it succeeds
wait_for() {
	local n=$(( $1 * 10 )); shift
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1; n=$((n - 1))
	done
	return 1
}

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
# skip REASON: this test cannot run here; exit 77 tells run.sh it was skipped (which
# fails the run under CI, where every test must run)
skip() { echo "SKIP $(basename "$0"): $*"; exit 77; }
ok() { echo "ok: $*"; }

# check DESCRIPTION COMMAND...: the command must succeed
check() {
	local what=$1; shift
	if "$@"; then ok "$what"; else fail "$what (exit $?)"; fi
}

# expect_error DESCRIPTION PATTERN COMMAND...: non-zero exit, stderr matching PATTERN
expect_error() {
	local what=$1 pat=$2; shift 2
	local err rc
	err=$("$@" 2>&1 >/dev/null); rc=$?
	if [ $rc -eq 0 ]; then
		fail "$what: succeeded, expected an error"
	elif ! grep -qiE -- "$pat" <<<"$err"; then
		fail "$what: message '$err' does not match '$pat'"
	else
		ok "$what ($err)"
	fi
}

# json FILTER: reads JSON on stdin, prints python expression FILTER over `d`
json() { python3 -c "import json,sys; d=json.load(sys.stdin); v=($1); print(v)"; }

start_cluster() {
	# no FUSE mount unless the test asks (MOUNT=1): most tests drive the dfs tool
	local m=--no-mount
	[ -n "${MOUNT:-}" ] && m=
	# DFS_TEST_TLS=1: the same test on a cluster with TLS on every connection
	local tls=
	[ -n "${DFS_TEST_TLS:-}" ] && tls=--tls
	dfs local up --dir "$DFS_DIR" -q $m $tls "$@" || { echo "cannot start the cluster" >&2; exit 1; }
	if [ -n "$tls" ] && [ "$(dfs local status --json | json 'd["tls"]')" != True ]; then
		echo "the cluster did not turn TLS on" >&2; exit 1
	fi
}

finish() {
	# stop the daemons first: sanitizers report leaks when a process exits
	"$BIN/dfs" local down --dir "$DFS_DIR" -q >/dev/null 2>&1
	if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$DFS_DIR"/logs/*.log 2>/dev/null; then
		fail "a daemon reported a sanitizer error (logs above)"
		grep -hE -A30 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$DFS_DIR"/logs/*.log | head -80 >&2
	fi
	if [ "$FAILS" -eq 0 ]; then echo "PASS $(basename "$0")"; exit 0; fi
	echo "FAILED $(basename "$0"): $FAILS checks" >&2
	for f in "$DFS_DIR"/logs/*.log; do
		[ -f "$f" ] && { echo "--- $f (tail)"; tail -n 20 "$f"; } >&2
	done
	exit 1
}
