#!/usr/bin/env bash
# One-commit small files through the mount: a create is answered at once and written
# with the file's first block (one namespace sync per small file, counted by the
# namenode's own metric); a file held open but not yet written is seen by every
# observer (another mount's stat, ls and O_EXCL create, the dfs tool); an empty or
# small file is durable when close returns (kill -9 of the namenode right after);
# a namenode that forgot a deferred file never hands its inode number out again, and
# the writer's close makes the create again with that number; a mount that dies
# leaves nothing behind.
source "$(dirname "$0")/lib.sh"
[ -c /dev/fuse ] && [ "$(id -u)" = 0 ] || skip "needs root and /dev/fuse"
MOUNT=1 start_cluster
M=$DFS_DIR/mnt
M2=$T/m2
mkdir -p "$M2"
dfs mount "$M2" &
check "a second mount" wait_for 10 grep -q " $M2 fuse.dfs " /proc/mounts
metric() { # metric NAME: the namenode's value of NAME
	curl -sf "http://$(dfs local status --json | json 'd["namenode"]["http"]')/metrics" |
		awk -v n="$1" '$1 == n {print $2}'
}

# one sync per small file (it was three: the create, then the block, then the close)
mkdir "$M/small"
s0=$(metric dfs_namespace_syncs_total)
python3 - "$M/small" <<'PY'
import os, sys
data = os.urandom(4096)
for i in range(200):
    with open(os.path.join(sys.argv[1], "f%03d" % i), "wb") as f:
        f.write(data)
PY
s1=$(metric dfs_namespace_syncs_total)
[ -n "$s0" ] && [ -n "$s1" ] && [ $((s1 - s0)) -le 260 ] &&
	ok "200 small files took $((s1 - s0)) namespace syncs" ||
	fail "200 small files took $((s1 - s0)) namespace syncs (want about 200)"
check "... and all 200 are there, whole" bash -c "[ \$(ls '$M2/small' | wc -l) = 200 ] &&
	[ \"\$(cat '$M2'/small/* | wc -c)\" = 819200 ]"

# a file created and held open, nothing written: deferred, yet seen by every observer
hold() { # hold NAME: a process on the mount creates NAME and keeps it open until $T/go-NAME
	python3 - "$M/$1" "$T/go-$1" "$T/ino-$1" "$T/rc-$1" <<'PY' &
import os, sys, time
path, go, inof, rcf = sys.argv[1:]
fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640)
open(inof, "w").write(str(os.fstat(fd).st_ino))
while not os.path.exists(go):
    time.sleep(0.02)
try:  # (on a mount killed meanwhile the write fails: ENOTCONN, reported in rc)
    os.write(fd, b"written after the wait\n")
    os.close(fd)
    rc = "ok"
except OSError as e:
    rc = os.strerror(e.errno)
open(rcf, "w").write(rc)
PY
}
hold open1
check "the holder created it" wait_for 10 test -s "$T/ino-open1"
[ "$(metric dfs_deferred_creates)" = 1 ] && ok "the create is deferred while nothing observes it" ||
	fail "dfs_deferred_creates is '$(metric dfs_deferred_creates)', not 1"
check "another mount's stat sees it" stat "$M2/open1"
[ "$(metric dfs_deferred_creates)" = 0 ] && ok "... which wrote it" ||
	fail "dfs_deferred_creates is '$(metric dfs_deferred_creates)' after a stat"
[ "$(stat -c %i "$M2/open1")" = "$(cat "$T/ino-open1")" ] && ok "with the inode number its creator has" ||
	fail "inode $(stat -c %i "$M2/open1") on the other mount, $(cat "$T/ino-open1") on the creator's"
touch "$T/go-open1"
check "its writer closes it" wait_for 10 test -s "$T/rc-open1"
[ "$(cat "$T/rc-open1")" = ok ] && ok "the close succeeded" || fail "close: $(cat "$T/rc-open1")"
check "with its bytes" bash -c "[ \"\$(dfs cat /open1)\" = 'written after the wait' ]"

hold open2
check "a second held file" wait_for 10 test -s "$T/ino-open2"
check "ls on another mount lists it" bash -c "ls '$M2' | grep -qx open2"
hold open3
check "a third held file" wait_for 10 test -s "$T/ino-open3"
check "the dfs tool lists it" bash -c "dfs ls / | grep -qx /open3"
hold open4
check "a fourth held file" wait_for 10 test -s "$T/ino-open4"
expect_error "O_EXCL on another mount is refused" "exists" python3 -c "
import os, sys
try:
    os.open('$M2/open4', os.O_CREAT | os.O_EXCL | os.O_WRONLY)
except OSError as e:
    sys.exit(os.strerror(e.errno))"
touch "$T/go-open2" "$T/go-open3" "$T/go-open4"
check "their writers close them" wait_for 10 bash -c \
	"[ \"\$(cat '$T/rc-open2' '$T/rc-open3' '$T/rc-open4' 2>/dev/null)\" = okokok ]"

# durable at close: kill -9 of the namenode right after
: >"$M/empty"
echo tiny >"$M/tiny"
check "kill -9 the namenode right after the closes" dfs local stop-node namenode --kill
check "start it again" dfs local start-node namenode
check "the empty file and the small one survived" bash -c \
	"dfs stat /empty >/dev/null && [ \"\$(dfs cat /tiny)\" = tiny ]"

# forgotten by a namenode that died: its inode number is never handed out again, and
# the writer's close makes the create again (CN_RECREATE), with that number
hold lost
check "a file held unwritten" wait_for 10 test -s "$T/ino-lost"
check "kill -9 the namenode while it is deferred" dfs local stop-node namenode --kill
check "start it again" dfs local start-node namenode
check "a new file after the restart" bash -c "echo new >'$M/after'"
after=$(stat -c %i "$M/after")
[ "$after" -gt "$(cat "$T/ino-lost")" ] &&
	ok "its inode number ($after) is past the forgotten one ($(cat "$T/ino-lost"))" ||
	fail "inode $after handed out again after $(cat "$T/ino-lost") was forgotten"
touch "$T/go-lost"
check "the forgotten file's writer finishes" wait_for 20 test -s "$T/rc-lost"
[ "$(cat "$T/rc-lost")" = ok ] && ok "its close succeeded" || fail "its close: $(cat "$T/rc-lost")"
check "the file is there with its bytes" bash -c "[ \"\$(dfs cat /lost)\" = 'written after the wait' ]"
[ "$(stat -c %i "$M2/lost")" = "$(cat "$T/ino-lost")" ] && ok "under the inode number it was created with" ||
	fail "inode $(stat -c %i "$M2/lost"), created as $(cat "$T/ino-lost")"
check "the namenode logged the create made again" grep -q "made again" "$DFS_DIR/logs/namenode.log"

# a mount that dies with a file held unwritten leaves nothing behind
hold gone
check "a file held unwritten" wait_for 10 test -s "$T/ino-gone"
fpid=$(pgrep -f "dfs-fuse.* $M\$" | head -1)
[ -n "$fpid" ] && kill -9 "$fpid"
check "the namenode forgets it with the mount" wait_for 20 bash -c \
	"[ \"\$(curl -sf http://$(dfs local status --json | json 'd["namenode"]["http"]')/metrics |
		awk '\$1 == \"dfs_deferred_creates\" {print \$2}')\" = 0 ]"
check "the name is free" bash -c "! dfs stat /gone 2>/dev/null && ! ls '$M2/gone' 2>/dev/null"
touch "$T/go-gone"
fusermount3 -u -z "$M" 2>/dev/null
m2pid=$(pgrep -f "dfs-fuse.* $M2\$" | head -1)
fusermount3 -u "$M2"
[ -z "$m2pid" ] || check "the second mount's dfs-fuse exits" wait_for 10 bash -c "! kill -0 $m2pid 2>/dev/null"
finish
