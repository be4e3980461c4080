#!/usr/bin/env bash
# The namenode restarted under a busy mount: four processes create, rewrite, read and
# delete files through the mount at once; the namenode is killed (-9) while they run and
# started again. Every file a process closed successfully before, during or after is
# there with its bytes (what close acknowledged is durable); a call waits about 20 s
# for the namenode and then fails while it stays gone, and the same processes go on
# working once it is back.
source "$(dirname "$0")/../integration/lib.sh"
MOUNT=1 start_cluster -o block_size=1M
M=$DFS_DIR/mnt
wait_for 10 grep -q " $M fuse.dfs " /proc/mounts || { fail "no mount"; finish; }

# worker K: files w<K>_<i>, contents derived from the name; each successful close is
# logged as "<name> <sha256>"; a failed call is counted and the loop goes on
worker() {
	local k=$1 i=0
	mkdir -p "$M/busy$k" 2>/dev/null
	while [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		local f=$M/busy$k/f$i
		head -c $(((i * 7919) % 300000 + 1)) /dev/urandom >"$T/src$k"
		if cp "$T/src$k" "$f" 2>/dev/null; then
			echo "busy$k/f$i $(sha256sum <"$T/src$k" | cut -d' ' -f1)" >>"$T/acked$k"
		else
			echo x >>"$T/errors$k"
		fi
		# and some traffic that is not creates: a read back and a delete of an old one
		cat "$f" >/dev/null 2>&1
		# (logged before the rm: a delete the namenode made durable may still fail
		# here, when it died before answering)
		if [ $((i % 5)) = 0 ]; then
			echo "busy$k/f$((i - 4))" >>"$T/deleted$k"
			rm -f "$M/busy$k/f$((i - 4))" 2>/dev/null
		fi
	done
}
for k in 1 2 3 4; do
	: >"$T/acked$k"
	: >"$T/errors$k"
	: >"$T/deleted$k"
	worker $k &
	pids="${pids:-} $!"
done
acked() { cat "$T"/acked* | wc -l; }
before() { [ "$(acked)" -ge 40 ]; }
check "four processes write through the mount" wait_for 60 before
errlines() { grep -c ' ERROR ' "$DFS_DIR/logs/fuse.log"; }
err_before=$(errlines)
check "kill -9 the namenode under them" dfs local stop-node namenode --kill -q
n_kill=$(acked)
# (down long enough for calls to give up waiting: the mount must not log each one)
failing() { [ "$(cat "$T"/errors* | wc -l)" -ge 4 ]; }
check "calls fail once they waited long enough" wait_for 120 failing
nfailed=$(cat "$T"/errors* | wc -l)
logged=$(( $(errlines) - err_before ))
[ "$logged" -le 40 ] && ok "the mount's log is rate-limited ($logged ERROR lines for $nfailed failed calls)" ||
	fail "the mount logged $logged ERROR lines for $nfailed failed calls"
check "start the namenode again" dfs local start-node namenode -q
after() { [ "$(acked)" -ge $((n_kill + 40)) ]; }
check "the same processes go on writing" wait_for 90 after
touch "$T/stop"
for p in $pids; do wait "$p"; done
# every close that succeeded is durable, unless that file was deleted afterwards
lost=0
total=0
while read -r name sum; do
	grep -qx "$name" "$T"/deleted* && continue
	total=$((total + 1))
	[ "$(sha256sum <"$M/$name" 2>/dev/null | cut -d' ' -f1)" = "$sum" ] || {
		lost=$((lost + 1))
		echo "lost or damaged: $name" >&2
	}
done < <(cat "$T"/acked*)
[ $lost = 0 ] && ok "all $total files whose close succeeded are there, intact" ||
	fail "$lost of $total acknowledged files lost or damaged"
check "the cluster is healthy" dfs fsck -q /
finish
