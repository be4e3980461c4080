#!/usr/bin/env bash
# A datanode whose disk fills up (its data dir on a 3 MiB tmpfs): writes that meet the
# full disk move to the other nodes, placement stops choosing it, and every block still
# gets its 3 replicas with the right bytes.
source "$(dirname "$0")/../integration/lib.sh"
if [ "$(id -u)" != 0 ]; then skip "needs root to mount a tmpfs"; fi
start_cluster --datanodes 4 -o block_size=1M
dfs local stop-node dn4
mkdir "$T/keep" && cp -a "$DFS_DIR/dn4/." "$T/keep/"
mount -t tmpfs -o size=3m tmpfs "$DFS_DIR/dn4" || { fail "cannot mount a tmpfs"; finish; }
umount_it() { umount "$DFS_DIR/dn4" 2>/dev/null; }
trap 'dfs local down -q >/dev/null 2>&1; umount_it; cleanup' EXIT
cp -a "$T/keep/." "$DFS_DIR/dn4/"
check "start dn4 on a 3 MiB disk" dfs local start-node dn4

head -c 24M /dev/urandom >"$T/f"
check "put 24 MiB at replication 3" dfs put -r 3 "$T/f" /f
check "bytes are right" bash -c "dfs cat /f | cmp - '$T/f'"
three() { [ "$(dfs blocks --json /f | json 'all(len(set(b["locations"])) == 3 for b in d["blocks"])')" = True ]; }
check "every block has 3 replicas" wait_for 20 three
[ "$(dfs blocks --json /f | json 'sum("dn4" in b["locations"] for b in d["blocks"])')" -le 3 ] &&
	ok "the full node holds no more than fits" || fail "dn4 holds more blocks than its disk"
check "more writes still work" bash -c "head -c 5M /dev/urandom >'$T/g' && dfs put -r 3 '$T/g' /g && dfs cat /g | cmp - '$T/g'"
dfs local stop-node dn4 >/dev/null
umount_it
finish
