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
# a put started while the namenode was down says it cannot connect (a clear error,
# nothing acknowledged); one that was connected waits for the namenode
nc=$(grep -c "cannot connect to namenode" "$T/errors")
nf=$(( $(wc -l <"$T/failed") - nc ))
[ "$nf" -le 1 ] && ok "$nf connected puts failed across the restart ($nc could not connect)" ||
	fail "$nf connected puts failed across the restart: $(grep -v 'cannot connect' "$T/errors" | tail -3)"
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
