#!/usr/bin/env bash
# Cache callbacks: mount B caches attributes for 60 s, yet every change closed on mount
# A is seen by a stat on B at once, with no sleep -- size, mode, owner, times, link
# counts, extended attributes, unlinks -- because the namenode sends B invalidations
# and answers A only once B acknowledged them. A control mount with the same cache
# and no callbacks (-o nocallbacks) shows what B would see without them. A hung mount
# (SIGSTOP) delays A's change by at most its lease, and voids its own cache when it
# wakes. A namenode restart voids B's cache (the new process knows nothing of it).
source "$(dirname "$0")/lib.sh"
[ -c /dev/fuse ] && [ "$(id -u)" = 0 ] || skip "needs root and /dev/fuse"
MOUNT=1 start_cluster
A=$DFS_DIR/mnt
B=$T/b
C=$T/control
mkdir -p "$B" "$C"
dfs-fuse --dir "$DFS_DIR" --log "$T/b.log" -o attr_timeout=60 "$B"
dfs-fuse --dir "$DFS_DIR" --log "$T/c.log" -o attr_timeout=60,nocallbacks "$C"
check "mount B" wait_for 10 grep -q " $B fuse.dfs " /proc/mounts
check "the control mount" wait_for 10 grep -q " $C fuse.dfs " /proc/mounts
check "B's callbacks are on" wait_for 10 grep -q "cache callbacks: on" "$T/b.log"

echo one >"$A/f"
mkdir "$A/d"
# B and the control cache what they see now, for 60 s, and B the block list of f
stat "$B/f" "$B/d" "$C/f" "$C/d" >/dev/null
cat "$B/f" "$B/f" >/dev/null # the second open needs no namenode call (bcache.h)
python3 -c "import os, sys; [os.listxattr(p) for p in sys.argv[1:]]" "$B/f" "$C/f" # (none)

same() { # same WHAT FORMAT PATH: the stat FORMAT of PATH on A and on B agree
	local a b
	a=$(stat -c "$2" "$A/$3") b=$(stat -c "$2" "$B/$3")
	[ "$a" = "$b" ] && ok "$1 is seen on B at once ($b)" || fail "$1: A says '$a', B says '$b'"
}
echo "one and more" >"$A/f"
same "a write closed on A: the size" %s f
# (this passes even without bcache's drop on invalidation: the read path fetches the
# new block list on its own once the old block is gone; the drop keeps a kept list
# from being used at all)
check "... and the bytes" bash -c \
	"[ \"\$(cat '$B/f')\" = 'one and more' ]"
[ "$(stat -c %s "$C/f")" = 4 ] && ok "(the control mount still says 4 bytes: its cache)" ||
	fail "the control mount saw the new size: the check above proves nothing"
chmod 0600 "$A/f"
same "a chmod" %a f
chown 65534:65533 "$A/f"
same "a chown" %u:%g f
touch -d @1000000000 "$A/f"
same "a utime" %Y f
mkdir "$A/d/sub"
same "a mkdir: the directory's link count" %h d
same "... and its mtime" %Y d
python3 -c "import os, sys; os.setxattr(sys.argv[1], 'user.k', b'v1')" "$A/f"
check "a setxattr on A is seen on B at once" python3 -c "
import os, sys
assert os.getxattr(sys.argv[1], 'user.k') == b'v1'" "$B/f"
ln "$A/f" "$A/f2"
same "a link: the link count" %h f
rm "$A/f2"
same "an unlink: the link count" %h f
stat "$B/d/sub" >/dev/null
rmdir "$A/d/sub"
check "an rmdir on A: B no longer finds it" bash -c "! stat '$B/d/sub' 2>/dev/null"
mv "$A/f" "$A/g"
check "a rename on A: B finds the new name" stat "$B/g"
check "... and, soon, not the old one" wait_for 5 bash -c "! stat '$B/f' 2>/dev/null"

# a namenode restarted knows nothing of what B holds: B trusts nothing it cached before
echo y >"$A/r"
stat "$B/r" >/dev/null
ons=$(grep -c "cache callbacks: on" "$T/b.log")
check "kill -9 the namenode" dfs local stop-node namenode --kill
check "start it again" dfs local start-node namenode
check "B watches again" wait_for 20 bash -c "[ \$(grep -c 'cache callbacks: on' '$T/b.log') -gt $ons ]"
chmod 0604 "$A/r"
same "a chmod after the restart" %a r

# a hung mount delays a change by at most its lease, and trusts nothing when it wakes
echo x >"$A/h"
stat "$B/h" >/dev/null
bpid=$(pgrep -f "dfs-fuse.* $B\$" | head -1)
kill -STOP "$bpid"
check "with mount B hung, a chmod on A still finishes" timeout 20 chmod 0640 "$A/h"
kill -CONT "$bpid"
check "B, awake, sees it" wait_for 10 bash -c "[ \"\$(stat -c %a '$B/h')\" = 640 ]"
check "B voided its cache when its watch came back late" wait_for 10 grep -q "voided" "$T/b.log"
cpid=$(pgrep -f "dfs-fuse.* $C\$" | head -1)
fusermount3 -u "$B"
fusermount3 -u "$C"
check "the mounts' dfs-fuse exit" wait_for 10 bash -c "! kill -0 $bpid 2>/dev/null && ! kill -0 ${cpid:-999999999} 2>/dev/null"
finish
