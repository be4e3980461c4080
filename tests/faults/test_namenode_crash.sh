#!/usr/bin/env bash
# kill -9 the namenode during a stream of creates and restart it: every file whose put
# was acknowledged is there with its bytes; the namenode starts in safe mode and leaves
# it by itself once the datanodes have reported.
source "$(dirname "$0")/../integration/lib.sh"
start_cluster -o block_size=1M

dfs mkdir /s
: >"$T/acked"
(
	for i in $(seq 1 100000); do
		head -c $((i % 3000 + 1)) /dev/urandom >"$T/w$i"
		dfs put "$T/w$i" /s/f$i 2>/dev/null || exit 0
		echo "$i" >>"$T/acked"
	done
) &
loop=$!
some() { [ "$(wc -l <"$T/acked")" -ge 30 ]; }
check "creates are flowing" wait_for 30 some
check "kill -9 the namenode mid-stream" dfs local stop-node namenode --kill
wait $loop
n=$(wc -l <"$T/acked")
check "restart the namenode" dfs local start-node namenode
grep -q "in safe mode until" "$DFS_DIR/logs/namenode.log" && ok "started in safe mode" || fail "no safe mode at start"
left() { grep -q "leaving safe mode" "$DFS_DIR/logs/namenode.log"; }
check "left safe mode by itself" wait_for 30 left
missing=0
while read -r i; do
	dfs cat /s/f$i 2>/dev/null | cmp -s - "$T/w$i" || missing=$((missing + 1))
done <"$T/acked"
[ $missing -eq 0 ] && ok "all $n acknowledged files present and intact" || fail "$missing of $n acknowledged files lost or damaged"
check "writes work again" bash -c "echo again | dfs put - /s/again"
finish
