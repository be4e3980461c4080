# Power cuts of one daemon of a local cluster, for tests/faults/test_powercut_*.sh; sourced
# after tests/integration/lib.sh. The daemon runs under tests/power/powercut.c (an
# LD_PRELOAD library, see its comment for the model of the disk): everything it made
# durable is kept in a shadow copy of its directory; a power cut is a kill -9 and the
# shadow in place of the directory.
#
#   powercut_selftest             the library keeps what its model says (model.py)
#   powercut_start NODE [ARG...]  restarts NODE (namenode or a datanode id) under the
#                                 preload, with the same command line plus ARGs
#   powercut_cut NODE             kill -9 NODE, then only what it had made durable stays
#
# The library comes from $DFS_POWERCUT (the Makefile passes it), else build/tests/.
# Tests exit 77 (skipped) when it is missing or cannot be loaded into the daemons. With
# an AddressSanitizer build, libasan is preloaded first (ASan insists on coming first
# in the library list; its interceptors then call on into the preload's wrappers).
POWERCUT_LIB=${DFS_POWERCUT:-$(cd "$(dirname "$0")/../.." && pwd)/build/tests/libpowercut.so}

# powercut_skip REASON: not a failure, the test cannot run here
powercut_skip() { echo "SKIP $(basename "$0"): $*"; exit 77; }

[ -f "$POWERCUT_LIB" ] || powercut_skip "no preload library $POWERCUT_LIB (make $POWERCUT_LIB)"
POWERCUT_PRELOAD=$POWERCUT_LIB
asan_rt=$(ldd "$BIN/dfs-datanode" 2>/dev/null | awk '$1 ~ /^libasan/ { print $3 }')
[ -n "$asan_rt" ] && POWERCUT_PRELOAD="$asan_rt $POWERCUT_LIB"
mkdir -p "$T/probe" "$T/probe-shadow"
LD_PRELOAD=$POWERCUT_PRELOAD POWERCUT_DIR=$T/probe POWERCUT_SHADOW=$T/probe-shadow \
	"$BIN/dfs-datanode" --help 2>&1 | grep -q "^powercut: pid" ||
	powercut_skip "the preload does not load into $BIN/dfs-datanode" \
		"(LD_PRELOAD=$POWERCUT_PRELOAD)"

# powercut_selftest: the preload keeps what its model says (tests/power/model.py; run in
# the real interpreter, so that no wrapper script of python3 runs under the preload too)
powercut_selftest() {
	local py m=$T/model
	py=$(python3 -c 'import sys; print(sys.executable)') || return 1
	rm -rf "$m" && mkdir -p "$m/dir" "$m/shadow" "$m/outside" || return 1
	LD_PRELOAD=$POWERCUT_LIB POWERCUT_DIR=$m/dir POWERCUT_SHADOW=$m/shadow \
		"$py" "$(dirname "$0")/../power/model.py" do "$m/dir" "$m/outside" 2>/dev/null &&
		python3 "$(dirname "$0")/../power/model.py" check "$m/shadow"
}

powercut_start() {
	local node=$1; shift
	local pidf="$DFS_DIR/run/$node.pid" addrf="$DFS_DIR/run/$node.addr"
	local pid addr args=() a prev=
	pid=$(cat "$pidf") && addr=$(cat "$addrf") || { fail "$node is not running"; return 1; }
	# its command line, with the address it has now (the first start may have asked for :0)
	while IFS= read -r -d '' a; do
		[ "$prev" = --listen ] && a=$addr
		args+=("$a")
		prev=$a
	done <"/proc/$pid/cmdline"
	dfs local stop-node "$node" || return 1
	rm -rf "$T/shadow-$node" && cp -a "$DFS_DIR/$node" "$T/shadow-$node" || return 1
	rm -f "$addrf"
	LD_PRELOAD=$POWERCUT_PRELOAD POWERCUT_DIR=$DFS_DIR/$node POWERCUT_SHADOW=$T/shadow-$node \
		"${args[@]}" "$@" </dev/null >>"$DFS_DIR/logs/$node.log" 2>&1 &
	pid=$!
	disown "$pid" # its kill -9 is no news
	echo "$pid" >"$pidf"
	wait_for 30 powercut_up "$addrf" "$pid" ||
		{ fail "$node did not start under the preload"; return 1; }
	grep -q "^powercut: pid $pid: durable state of " "$DFS_DIR/logs/$node.log" ||
		{ fail "$node runs without the preload"; return 1; }
}

# powercut_up ADDR_FILE PID: the daemon wrote its address and still runs
powercut_up() { [ -s "$1" ] && is_running "$2"; }

powercut_cut() {
	local node=$1
	# stop-node --kill returns once the process is gone: nothing writes any more
	dfs local stop-node "$node" --kill || return 1
	[ -d "$T/shadow-$node" ] || { fail "$node was not started by powercut_start"; return 1; }
	rm -rf "$DFS_DIR/$node" && mv "$T/shadow-$node" "$DFS_DIR/$node"
}
