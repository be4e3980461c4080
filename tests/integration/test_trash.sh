#!/usr/bin/env bash
# The trash (trash_interval): dfs rm moves to /user/NAME/.Trash/Current, dfs mv brings
# it back, --skip-trash and removing from the trash delete at once, and the namenode
# empties the trash after the interval, freeing the blocks on the datanodes.
source "$(dirname "$0")/lib.sh"
start_cluster -o trash_interval=6 -o block_size=1M
head -c 3M /dev/urandom >"$T/f"
dfs mkdir -p /data/sub && dfs put "$T/f" /data/f && dfs put "$T/f" /data/sub/g

out=$(dfs rm /data/f 2>&1)
grep -q 'moved /data/f to the trash: /user/root/.Trash/Current/data/f' <<<"$out" &&
	ok "rm moves to the trash ($out)" || fail "rm said: $out"
check "it is gone from its place" bash -c "! dfs stat /data/f 2>/dev/null"
# The namenode checkpoints Current every tenth of the interval, so the name found can be
# renamed before the mv reaches it (a slow, sanitized build sees that): find it again and
# retry, as a user would. The file itself stays at least one interval.
restore() {
	local where
	where=$(dfs ls -R /user/root/.Trash | grep '/data/f$' | head -n 1)
	[ -n "$where" ] && dfs mv "$where" /data/f 2>/dev/null
}
check "mv brings it back from the trash" wait_for 5 restore
check "... whole" bash -c "dfs cat /data/f | cmp - '$T/f'"
check "rm -r of a directory" dfs rm -r /data/sub
check "... lands in the trash" bash -c "dfs ls -R /user/root/.Trash | grep -q '/data/sub/g$'"
echo x | dfs put - /data/f2 && dfs rm -q /data/f2 && echo y | dfs put - /data/f2 && dfs rm -q /data/f2
[ "$(dfs ls -R /user/root/.Trash | grep -c '/data/f2')" = 2 ] && ok "a name removed twice is kept twice" ||
	fail "f2 twice: $(dfs ls -R /user/root/.Trash)"
check "--skip-trash deletes at once" dfs rm --skip-trash /data/f
check "... not in the trash" bash -c "! dfs ls -R /user/root/.Trash | grep -q '/data/f$'"
empty() { [ -z "$(dfs ls -R /user/root/.Trash)" ]; }
check "the namenode empties the trash after trash_interval" wait_for 15 empty
files_on_disk() { [ "$(find "$DFS_DIR"/dn*/current -name 'blk_*' ! -name '*.meta' | wc -l)" = 0 ]; }
check "and the blocks are deleted on the datanodes" wait_for 15 files_on_disk
expect_error "rm of a missing path still fails" "no such file" dfs rm /nope
check "the cluster is healthy afterwards" bash -c "dfs fsck / >/dev/null"
finish
