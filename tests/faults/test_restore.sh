#!/usr/bin/env bash
# Metadata safety done for real: take an online backup of the namespace while clients
# write, lose the namenode's whole directory (kill -9, rm -rf), restore it with
# dfs-namenode format --from-backup, and read every file back; what was written after
# the backup is gone and its orphan replicas are removed from the datanodes. Damaged
# backups and non-empty targets are refused without touching anything.
source "$(dirname "$0")/../integration/lib.sh"
start_cluster -o block_size=1M
head -c 5M /dev/urandom >"$T/a"
dfs mkdir -p /d/e && dfs put "$T/a" /d/a && echo small | dfs put - /d/e/s
dfs chmod 640 /d/e/s && dfs setrep 2 /d/a
(for i in $(seq 1 30); do echo "$i" | dfs put - "/busy/f$i" 2>/dev/null || dfs mkdir -p /busy; done) &
writer=$!
check "online backup while a client writes" dfs admin backup "$T/bk"
wait $writer
check "the backup file is there, private" bash -c "[ \"\$(stat -c %a '$T/bk/namespace.dfsbak')\" = 600 ]"
echo late | dfs put - /d/late
chmod 755 "$T" && cp "$DFS_DIR/cluster.key" "$T/key" && chmod 644 "$T/key"
expect_error "only the superuser takes backups" "only the superuser" \
	setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN/dfs" \
	-n "$(dfs local status --json | json 'd["namenode"]["addr"]')" --key "$T/key" \
	admin backup "$T/bk-nobody"
check "... and nothing was written" test ! -e "$T/bk-nobody"

check "kill -9 the namenode" dfs local stop-node namenode --kill
rm -rf "$DFS_DIR/namenode"
cp "$T/bk/namespace.dfsbak" "$T/damaged.dfsbak"
mkdir -p "$T/bad" && head -c 300 "$T/bk/namespace.dfsbak" >"$T/bad/namespace.dfsbak"
expect_error "a damaged backup is refused" "damaged or incomplete" \
	"$BIN/dfs-namenode" format --dir "$T/never" --from-backup "$T/bad"
check "... and leaves nothing behind" bash -c "[ ! -e '$T/never' ]"
mkdir -p "$T/full" && echo x >"$T/full/keep"
expect_error "a non-empty target is refused" "not empty" \
	"$BIN/dfs-namenode" format --dir "$T/full" --from-backup "$T/bk"
check "... and left alone" test -f "$T/full/keep"
check "restore the namespace" "$BIN/dfs-namenode" format --dir "$DFS_DIR/namenode" --from-backup "$T/bk"
check "start the namenode again" dfs local start-node namenode
out_of_safemode() { dfs admin safemode get | grep -q OFF; }
check "the datanodes report their blocks" wait_for 30 out_of_safemode
check "files read back whole" bash -c "dfs cat /d/a | cmp - '$T/a' && [ \"\$(dfs cat /d/e/s)\" = small ]"
[ "$(dfs stat --json /d/e/s | json 'd["mode"]')" = 0640 ] && [ "$(dfs stat --json /d/a | json 'd["replication"]')" = 2 ] &&
	ok "modes and replication restored" || fail "attributes after restore"
check "what came after the backup is gone" bash -c "! dfs stat /d/late 2>/dev/null"
healthy() { dfs fsck / >/dev/null; }
check "fsck healthy" wait_for 20 healthy
check "new writes work after the restore" bash -c "echo new | dfs put - /d/new && [ \"\$(dfs cat /d/new)\" = new ]"
finish
