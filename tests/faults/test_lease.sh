#!/usr/bin/env bash
# A writer killed in the middle of a file loses its lease: lease_timeout later the
# namenode closes the file at what its datanodes fully stored, and it reads back as a
# prefix of what was written. Acknowledged files around it are untouched.
source "$(dirname "$0")/../integration/lib.sh"
start_cluster -o block_size=1M -o lease_timeout=1

head -c 3M /dev/urandom >"$T/src"
dfs put "$T/src" /whole
mkfifo "$T/fifo"
# stalled_writer PATH: a put of $T/src to PATH that streams its 3 MiB, then stalls (pids
# in $writer and $feeder); kill_writer kills it while the file is open
stalled_writer() {
	{ cat "$T/src"; sleep 60; } >"$T/fifo" &
	feeder=$!
	dfs put - "$1" <"$T/fifo" &
	writer=$!
}
kill_writer() {
	kill -9 $writer
	wait $writer 2>/dev/null
	pkill -P $feeder sleep; kill $feeder 2>/dev/null; wait $feeder 2>/dev/null
}
# under_construction PATH True|False; open_file PATH: open, its 3 blocks allocated
under_construction() { [ "$(dfs stat --json "$1" 2>/dev/null | json 'd["under_construction"]')" = "$2" ]; }
open_file() { under_construction "$1" True &&
	[ "$(dfs blocks --json "$1" | json 'len(d["blocks"])')" -ge 3 ]; }

stalled_writer /partial
check "the writer has the file open" wait_for 20 open_file /partial._COPYING_
kill_writer
check "the namenode recovered the lease and closed the file" \
	wait_for 20 under_construction /partial._COPYING_ False
size=$(dfs stat --json /partial._COPYING_ | json 'd["length"]')
[ "$size" -ge 2097152 ] && [ "$size" -le 3145728 ] && ok "closed at $size bytes" || fail "closed at $size bytes"
check "its bytes are a prefix of what was written" bash -c "cmp <(dfs cat /partial._COPYING_) <(head -c $size '$T/src')"
check "the other file is untouched" bash -c "dfs cat /whole | cmp - '$T/src'"
[ "$(dfs fsck --json / | json 'd["status"]')" = HEALTHY ] && ok "fsck HEALTHY" || fail "fsck after recovery"

# No lease survives a namenode restart: a file open when the namenode died is recovered
# by the restarted namenode (the writer's connection died with it).
stalled_writer /cut
check "a second writer has a file open" wait_for 20 open_file /cut._COPYING_
check "kill -9 the namenode under it" dfs local stop-node namenode --kill
kill_writer
check "restart the namenode" dfs local start-node namenode
check "the restarted namenode recovered the lease" \
	wait_for 30 under_construction /cut._COPYING_ False
size=$(dfs stat --json /cut._COPYING_ | json 'd["length"]')
# the last block's replicas were being written when the namenode died: the restarted
# namenode takes their reported length, it does not delete them as stale
[ "$size" -gt 2097152 ] && ok "closed at $size bytes: the open block survived the restart" ||
	fail "closed at $size bytes: the open last block was lost"
check "its bytes are a prefix of what was written" bash -c "cmp <(dfs cat /cut._COPYING_) <(head -c $size '$T/src')"
healthy() { [ "$(dfs fsck --json / | json 'd["status"]')" = HEALTHY ]; }
check "fsck HEALTHY after the restart" wait_for 20 healthy
finish
