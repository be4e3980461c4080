#!/usr/bin/env bash
# Power loss of a datanode, not just kill -9: with one datanode and replication 1, a file
# whose put was acknowledged (put syncs: the datanode fdatasyncs each replica before it
# acknowledges the last packet) is read back whole after the power of its datanode is cut
# (tests/power/: only what it had made durable stays) and it restarted. First the same
# with the datanode started --no-sync, which must lose the file: the harness can see a
# lost write, so the second half can fail.
source "$(dirname "$0")/../integration/lib.sh"
source "$(dirname "$0")/../power/lib.sh"
check "the power-cut preload keeps what its model says" powercut_selftest
start_cluster --datanodes 1 -o block_size=1M
head -c 3500000 /dev/urandom >"$T/a"
head -c 3500000 /dev/urandom >"$T/b"
echo small >"$T/s"
# block reports of dn1 the namenode took so far
reports() { grep -c "datanode 'dn1' reported" "$DFS_DIR/logs/namenode.log"; }
# back REPORTS: dn1 registered again since, and the namenode took its block report
back() { [ "$(reports)" -gt "$1" ]; }

check "the datanode runs under the power-cut preload, --no-sync" powercut_start dn1 --no-sync
check "put (acknowledged, not synced)" dfs put -r 1 "$T/a" /a
n=$(reports)
check "power cut of the datanode" powercut_cut dn1
check "restart it on what was durable" dfs local start-node dn1
check "it is back" wait_for 60 back "$n"
if dfs cat /a 2>/dev/null | cmp -s - "$T/a"; then
	fail "the unsynced file survived: the harness did not cut anything"
else
	ok "without its fdatasync the file is lost (the harness sees a lost write)"
fi
check "remove it" dfs rm --skip-trash /a

check "the datanode runs under the power-cut preload, syncing" powercut_start dn1
check "put two files (acknowledged: synced)" \
	bash -c "dfs put -r 1 '$T/b' /b && dfs put -r 1 '$T/s' /s"
n=$(reports)
check "power cut of the datanode" powercut_cut dn1
check "restart it on what was durable" dfs local start-node dn1
check "it is back with its replicas" wait_for 60 back "$n"
check "the files read back whole" bash -c "dfs cat /b | cmp - '$T/b' && dfs cat /s | cmp - '$T/s'"
healthy() { dfs fsck / >/dev/null; }
check "fsck healthy" wait_for 30 healthy
finish
