#!/usr/bin/env bash
# A writer killed in the middle of a file loses its lease: lease_timeout later the
# namenode closes the file at what its datanodes fully stored, and it reads back as a
# prefix of what was written. Acknowledged files around it are untouched.
source "$(dirname "$0")/../integration/lib.sh"
start_cluster -o block_size=1M -o lease_timeout=1

head -c 3M /dev/urandom >"$T/src"
dfs put "$T/src" /whole
# a writer that streams 3 MiB, then stalls: killed while the file is open
mkfifo "$T/fifo"
{ cat "$T/src"; sleep 60; } >"$T/fifo" &
feeder=$!
dfs put - /partial <"$T/fifo" &
writer=$!
open_file() { [ "$(dfs stat --json /partial._COPYING_ | json 'd["under_construction"]')" = True ] &&
	[ "$(dfs blocks --json /partial._COPYING_ | json 'len(d["blocks"])')" -ge 3 ]; }
check "the writer has the file open" wait_for 20 open_file
kill -9 $writer
wait $writer 2>/dev/null
pkill -P $feeder sleep; kill $feeder 2>/dev/null; wait $feeder 2>/dev/null
closed() { [ "$(dfs stat --json /partial._COPYING_ | json 'd["under_construction"]')" = False ]; }
check "the namenode recovered the lease and closed the file" wait_for 20 closed
size=$(dfs stat --json /partial._COPYING_ | json 'd["length"]')
[ "$size" -ge 2097152 ] && [ "$size" -le 3145728 ] && ok "closed at $size bytes" || fail "closed at $size bytes"
check "its bytes are a prefix of what was written" bash -c "cmp <(dfs cat /partial._COPYING_) <(head -c $size '$T/src')"
check "the other file is untouched" bash -c "dfs cat /whole | cmp - '$T/src'"
[ "$(dfs fsck --json / | json 'd["status"]')" = HEALTHY ] && ok "fsck HEALTHY" || fail "fsck after recovery"

# No lease survives a namenode restart: a file open when the namenode died is recovered
# by the restarted namenode (the writer's connection died with it).
{ cat "$T/src"; sleep 60; } >"$T/fifo" &
feeder=$!
dfs put - /cut <"$T/fifo" &
writer=$!
cut_open() { [ "$(dfs stat --json /cut._COPYING_ | json 'd["under_construction"]')" = True ] &&
	[ "$(dfs blocks --json /cut._COPYING_ | json 'len(d["blocks"])')" -ge 3 ]; }
check "a second writer has a file open" wait_for 20 cut_open
check "kill -9 the namenode under it" dfs local stop-node namenode --kill
kill -9 $writer
wait $writer 2>/dev/null
pkill -P $feeder sleep; kill $feeder 2>/dev/null; wait $feeder 2>/dev/null
check "restart the namenode" dfs local start-node namenode
cut_closed() { [ "$(dfs stat --json /cut._COPYING_ 2>/dev/null | json 'd["under_construction"]')" = False ]; }
check "the restarted namenode recovered the lease" wait_for 30 cut_closed
size=$(dfs stat --json /cut._COPYING_ | json 'd["length"]')
check "its bytes are a prefix of what was written" bash -c "cmp <(dfs cat /cut._COPYING_) <(head -c $size '$T/src')"
healthy() { [ "$(dfs fsck --json / | json 'd["status"]')" = HEALTHY ]; }
check "fsck HEALTHY after the restart" wait_for 20 healthy
finish
