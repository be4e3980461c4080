#!/usr/bin/env bash
# Power loss of the namenode, not just kill -9 (which keeps the page cache): the namenode
# runs under the power-cut preload (tests/power/), three clients stream namespace changes
# (mkdir, put of small files, rename of files and directories, rm to the trash and past
# it) and journal what was acknowledged; the power is cut while they are at it, only what
# the namenode had fsynced stays, and after a restart every acknowledged change is there
# with nothing else (the change in flight may go either way), fsck is healthy and writes
# work. This holds with metadata_sync=always (the default: the namenode syncs before it
# answers); with a period (metadata_sync=N seconds) the last N seconds may be lost by design.
source "$(dirname "$0")/../integration/lib.sh"
source "$(dirname "$0")/../power/lib.sh"
check "the power-cut preload keeps what its model says" powercut_selftest
start_cluster -o block_size=1M -o lease_timeout=1
clients="1 2 3"
for k in $clients; do dfs mkdir -p /p/c$k; done
check "the namenode runs under the power-cut preload" powercut_start namenode
out_of_safemode() { dfs admin safemode get | grep -q OFF; }
check "the namenode is out of safe mode" wait_for 60 out_of_safemode

# step JOURNAL WHAT COMMAND...: one change, journalled before and after its acknowledgement
step() {
	local j=$1 what=$2; shift 2
	echo "try $what" >>"$j"
	"$@" 2>/dev/null || return 1
	echo ok >>"$j"
}
put() { echo "$1" | dfs put - "$1"; }
# a client: blocks of changes under /p/cK until a change fails (the namenode is gone)
client() {
	local j=$T/journal$1 b
	: >"$j"
	for i in $(seq 1 100000); do
		b=/p/c$1/b$i
		step "$j" "mkdir $b.d" dfs mkdir "$b.d" &&
			step "$j" "put $b.f" put "$b.f" &&
			step "$j" "mv $b.f $b.r" dfs mv "$b.f" "$b.r" &&
			step "$j" "put $b.g" put "$b.g" &&
			step "$j" "mkdir $b.e" dfs mkdir "$b.e" &&
			step "$j" "put $b.e/h" put "$b.e/h" &&
			step "$j" "rm $b.d" dfs rm -r --skip-trash "$b.d" &&
			step "$j" "rm $b.r" dfs rm "$b.r" &&
			step "$j" "mv $b.e $b.x" dfs mv "$b.e" "$b.x" || return 0
	done
}
pids=()
for k in $clients; do client $k & pids+=($!); done
acked() { [ "$(grep -c '^ok' "$T/journal$1" 2>/dev/null)" -ge "$2" ]; }
every_client_acked() { for k in $clients; do acked $k 40 || return 1; done; }
check "changes are flowing from every client" wait_for 120 every_client_acked
check "power cut of the namenode mid-stream" powercut_cut namenode
wait "${pids[@]}"
in_flight=0
for k in $clients; do [ "$(tail -n 1 "$T/journal$k")" != ok ] && in_flight=$((in_flight + 1)); done
[ $in_flight -gt 0 ] && ok "$in_flight clients had a change in flight at the cut" ||
	fail "no change was in flight at the cut"
check "restart the namenode on what was durable" dfs local start-node namenode
check "it leaves safe mode" wait_for 60 out_of_safemode
args=()
for k in $clients; do args+=("$T/journal$k:/p/c$k"); done
check "every acknowledged change survived the power cut" \
	python3 "$(dirname "$0")/../power/nscheck.py" "$BIN/dfs" "${args[@]}"
# A put in flight may have left its temporary file under construction: its writer's lease
# died with the namenode, so the restarted namenode recovers it after lease_timeout.
no_open_copy() {
	for f in $(dfs ls -R /p | grep '\._COPYING_$'); do
		[ "$(dfs stat --json "$f" | json 'd["under_construction"]')" = False ] || return 1
	done
}
check "the put in flight is closed by lease recovery" wait_for 30 no_open_copy
healthy() { dfs fsck / >/dev/null; }
check "fsck healthy" wait_for 60 healthy
check "writes work again" \
	bash -c "echo again | dfs put - /p/again && [ \"\$(dfs cat /p/again)\" = again ]"
finish
