#!/usr/bin/env bash
# kill -9 the namenode during a stream of creates and restart it: the stream goes on
# (each put waits for the namenode), every file whose put was acknowledged is there with
# its bytes; the namenode starts in safe mode and leaves it by itself once the
# datanodes have reported.
source "$(dirname "$0")/../integration/lib.sh"
start_cluster -o block_size=1M

dfs mkdir /s
: >"$T/acked"
: >"$T/failed"
(
	for i in $(seq 1 100000); do
		[ -e "$T/stop" ] && exit 0
		head -c $((i % 3000 + 1)) /dev/urandom >"$T/w$i"
		if dfs put "$T/w$i" /s/f$i 2>>"$T/errors"; then
			echo "$i" >>"$T/acked"
		else
			echo "$i" >>"$T/failed"
		fi
	done
) &
loop=$!
some() { [ "$(wc -l <"$T/acked")" -ge 30 ]; }
check "creates are flowing" wait_for 30 some
check "kill -9 the namenode mid-stream" dfs local stop-node namenode --kill
check "restart the namenode" dfs local start-node namenode
# the puts waited for it (a put whose file was open when it died may fail: its lease
# was the old connection's)
k=$(wc -l <"$T/acked")
more() { [ "$(wc -l <"$T/acked")" -ge $((k + 20)) ]; }
check "the same stream of puts goes on" wait_for 60 more
touch "$T/stop"
wait $loop
n=$(wc -l <"$T/acked")
# every put waited for the namenode: one started while it was down waits to connect
# (DFS_CONNECT_WAIT), one connected waits for its call (a put whose file was open when
# it died may fail: its lease was the old connection's)
nf=$(wc -l <"$T/failed")
[ "$nf" -le 1 ] && ok "$nf puts failed across the restart" ||
	fail "$nf puts failed across the restart: $(tail -3 "$T/errors")"
grep -q "in safe mode until" "$DFS_DIR/logs/namenode.log" && ok "started in safe mode" || fail "no safe mode at start"
left() { grep -q "leaving safe mode" "$DFS_DIR/logs/namenode.log"; }
check "left safe mode by itself" wait_for 30 left
missing=0
while read -r i; do
	dfs cat /s/f$i 2>/dev/null | cmp -s - "$T/w$i" || missing=$((missing + 1))
done <"$T/acked"
[ $missing -eq 0 ] && ok "all $n acknowledged files present and intact" || fail "$missing of $n acknowledged files lost or damaged"
check "writes work again" bash -c "echo again | dfs put - /s/again"

# a command started while the namenode is down waits for it, says so once, and succeeds
# once it is back; with DFS_CONNECT_WAIT=0 it fails at once with a clear error
check "kill -9 the namenode again" dfs local stop-node namenode --kill
dfs ls /s >"$T/ls.out" 2>"$T/ls.err" &
lspid=$!
check "a dfs ls started now says it waits" wait_for 10 grep -q "waiting for the namenode" "$T/ls.err"
kill -0 $lspid 2>/dev/null && ok "... and is still waiting" || fail "dfs ls ended: $(cat "$T/ls.err")"
expect_error "with DFS_CONNECT_WAIT=0 a command fails at once" "cannot connect to namenode" \
	env DFS_CONNECT_WAIT=0 "$BIN/dfs" ls /s
expect_error "a bad DFS_CONNECT_WAIT is refused" "not a number of seconds" \
	env DFS_CONNECT_WAIT=soon "$BIN/dfs" ls /s
check "start the namenode" dfs local start-node namenode
wait $lspid && ok "the waiting dfs ls succeeded" || fail "the waiting dfs ls: $(cat "$T/ls.err")"
grep -q "^/s/again" "$T/ls.out" && ok "... with the listing" || fail "its listing: $(head -3 "$T/ls.out")"
[ "$(grep -c "waiting for the namenode" "$T/ls.err")" = 1 ] && ok "it said so once" ||
	fail "it said: $(cat "$T/ls.err")"
finish
