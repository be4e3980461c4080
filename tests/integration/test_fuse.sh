#!/usr/bin/env bash
# The FUSE mount: everyday tools (cp -a, rsync, tar, git, sqlite3) on a real mount,
# POSIX semantics and errno (fuse_posix.py), two mounts of one cluster, permissions
# for a non-root user, a read-only mount, and a datanode killed during a large read.
source "$(dirname "$0")/lib.sh"
if [ ! -c /dev/fuse ] || [ "$(id -u)" != 0 ]; then
	skip "needs root and /dev/fuse"
fi
chmod 755 "$T" # other users must reach the mount (permission checks below)
MOUNT=1 start_cluster -o block_size=1M
M=$DFS_DIR/mnt
check "local up mounted the cluster" grep -q " $M fuse.dfs " /proc/mounts
[ "$(dfs local status --json | json 'd["mount"]')" = "$M" ] && ok "local status shows the mount" ||
	fail "local status --json mount is not $M"

# everyday tools
SRC=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$T/tree"
cp -a "$SRC/common" "$SRC/tests" "$T/tree/"
head -c 5M /dev/urandom >"$T/tree/big.bin"
ln -s big.bin "$T/tree/link"
check "cp -a a tree in" cp -a "$T/tree" "$M/tree"
check "diff -r against the original" diff -r "$T/tree" "$M/tree"
# the mount's page cache could hide lost data: read back around it with the dfs tool
check "what the mount wrote is on the datanodes" bash -c "dfs get /tree/big.bin - | cmp - '$T/tree/big.bin' &&
	dfs get /tree/common/client.c - | cmp - '$T/tree/common/client.c'"
check "cp -a keeps modes and times" bash -c \
	"[ \"\$(cd '$T/tree' && find . -printf '%p %m %T@\n' | sort)\" = \"\$(cd '$M/tree' && find . -printf '%p %m %T@\n' | sort)\" ]"
if command -v rsync >/dev/null; then
	check "rsync -a in" rsync -a "$T/tree/" "$M/rs/"
	check "rsync -a out" rsync -a "$M/rs/" "$T/rsback/"
	check "rsync round trip" diff -r "$T/tree" "$T/rsback"
	echo more >>"$T/tree/common/buf.h"
	check "rsync -a of a changed file (in-place delta)" rsync -a --inplace "$T/tree/" "$M/rs/"
	check "rsync result" cmp "$T/tree/common/buf.h" "$M/rs/common/buf.h"
else
	fail "rsync is not installed (make deps installs it)"
fi
tar -C "$T/tree" -cf "$T/t.tar" .
mkdir "$M/untar"
check "tar x into the mount" tar -C "$M/untar" -xf "$T/t.tar"
check "tar result" diff -r "$T/tree" "$M/untar"
check "find and du" bash -c "[ \$(find '$M/untar' -type f | wc -l) -gt 20 ] && du -s '$M/untar' >/dev/null"
check "df shows the cluster" bash -c "df -P '$M' | grep -q '^dfs '"
if command -v git >/dev/null; then
	check "git init/add/commit" bash -c "cd '$M' && git init -q repo && cd repo &&
		cp -a '$SRC/common' . && git add -A && git -c user.email=t@t -c user.name=t commit -qm one &&
		git fsck 2>/dev/null && [ \$(git log --oneline | wc -l) = 1 ]"
fi
if command -v sqlite3 >/dev/null; then
	check "sqlite3 transactions" bash -c "sqlite3 '$M/t.db' 'create table t(a,b);
		begin; $(for i in $(seq 1 200); do printf 'insert into t values(%d, randomblob(500));' $i; done) commit;
		update t set b=randomblob(300) where a%3=0; delete from t where a%7=0;' &&
		[ \"\$(sqlite3 '$M/t.db' 'pragma integrity_check; select count(*) from t;' | tr '\n' ' ')\" = 'ok 172 ' ]"
fi

# POSIX semantics and errno, with a second mount for close-to-open checks
M2=$T/m2
mkdir -p "$M2"
dfs mount "$M2" -o attr_timeout=1 &
wait_for 10 grep -q " $M2 fuse.dfs " /proc/mounts || fail "second mount did not come up"
check "POSIX checks (fuse_posix.py)" python3 "$(dirname "$0")/fuse_posix.py" "$M" "$M2"
# a lost write race is ESTALE, not EIO: mount 1 holds the file open, mount 2 rewrites
# its block (whose old replicas are then deleted), and mount 1's partial write of that
# block, which must read the old version, fails with ESTALE
head -c 300000 /dev/urandom >"$M/race"
old=$(dfs blocks --json /race | json 'd["blocks"][0]["id"]')
race_out=$(python3 - "$M/race" "$M2/race" "$DFS_DIR" "$old" <<'PY' 2>&1
import errno, glob, os, sys, time
a, b, d, old = sys.argv[1:]
fd = os.open(a, os.O_RDWR)
with open(b, "r+b") as g:
    g.seek(1000); g.write(b"y" * 100); g.flush(); os.fsync(g.fileno())
end = time.time() + 20
while glob.glob("%s/dn*/current/**/blk_%s_*" % (d, old), recursive=True) and time.time() < end:
    time.sleep(0.05)
try:
    os.pwrite(fd, b"x" * 10, 5000)
    os.fsync(fd)
    os.close(fd)
    print("no error")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
PY
)
[ "$race_out" = ESTALE ] && ok "a lost write race gives ESTALE" || fail "a lost write race gave '$race_out', not ESTALE"
# the mount against a local directory, call by call: the same errno, types, modes, link
# counts, sizes, listings and bytes, as root and as an unprivileged user
mkdir "$T/ldiff" "$T/ldiff-u" "$M/udiff" && chown 65534:65534 "$T/ldiff-u" "$M/udiff"
check "call by call like a local directory, as root" \
	python3 "$(dirname "$0")/fuse_diff.py" "$T/ldiff" "$M" 2000 1
check "... and as an unprivileged user" bash -c "setpriv --reuid=65534 --regid=65534 \
	--clear-groups /usr/bin/python3 - '$T/ldiff-u' '$M/udiff' 2000 2 <'$(dirname "$0")/fuse_diff.py'"

# what this mount wrote stays in its page cache: read back at memory speed, not refetched
dd if=/dev/urandom of="$M/cached" bs=1M count=16 conv=fsync status=none
resident() { fincore -b -r -n -o RES "$M/cached"; }
# (all of it but a few pages the kernel may drop on its own; without the feature: none)
[ "$(resident)" -ge 15728640 ] && ok "a file just written is in the page cache ($(resident) bytes)" ||
	fail "a file just written: $(resident) bytes of 16777216 in the page cache"
cmp -s "$M/cached" "$M2/cached" && ok "... and another mount reads the same bytes" ||
	fail "another mount reads other bytes"
check "random overwrites are on the datanodes" bash -c "dfs get /posix/rand - | cmp - '$M/posix/rand' &&
	dfs get /posix/sparse - | cmp - '$M/posix/sparse'"

# advisory locks hold across mounts (kept by the namenode)
echo x >"$M/lk"
touch "$T/hold"
flock -x "$M/lk" -c "while [ -e '$T/hold' ]; do sleep 0.05; done" &
holder=$!
check "flock held on one mount refuses another mount" \
	wait_for 10 bash -c "! flock -n -x '$M2/lk' -c true"
timeout 20 flock -x "$M2/lk" -c true &
waiter=$!
check "a blocking flock on another mount waits while the lock is held" is_running "$waiter"
rm -f "$T/hold"
wait "$holder"
wait "$waiter" && ok "the blocking flock got the lock once it was released" ||
	fail "the blocking flock did not get the lock"
# the kernel keeps directory flocks itself (FUSE gets none): they hold on one mount
mkdir -p "$M/lockdir"
check "flock on a directory" bash -c \
	"flock -x '$M/lockdir' -c \"! flock -n -x '$M/lockdir' -c true\" && flock -n -x '$M/lockdir' -c true"
check "fcntl byte-range locks across mounts" python3 - "$M/lk" "$M2/lk" <<'PY'
import fcntl, subprocess, sys
a, b = sys.argv[1], sys.argv[2]
f = open(a, "r+")
fcntl.lockf(f, fcntl.LOCK_EX, 10, 0)
probe = """
import fcntl, sys
f = open(sys.argv[1], "r+")
try:
    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, int(sys.argv[2])); print("granted")
except OSError:
    print("refused")
"""
run = lambda start: subprocess.run([sys.executable, "-c", probe, b, str(start)],
                                   capture_output=True, text=True).stdout.strip()
assert run(5) == "refused", "an overlapping range was granted"
assert run(20) == "granted", "a disjoint range was refused"
f.close()
assert run(5) == "granted", "the lock outlived its file's close"
PY
# a mount that goes away releases its locks
M4=$T/m4
mkdir -p "$M4"
dfs mount "$M4" &
wait_for 10 grep -q " $M4 fuse.dfs " /proc/mounts || fail "fourth mount did not come up"
flock -x "$M4/lk" -c 'sleep 60' &
holder=$!
wait_for 10 bash -c "! flock -n -x '$M/lk' -c true" || fail "the fourth mount's lock did not show"
# ... and the files it kept open past their last name: no hidden names, and the
# namenode deletes them when the mount dies
blocks() { dfs report --json | json 'd["blocks"]'; }
before=$(blocks)
head -c 3M /dev/urandom >"$M4/kept"
sleep 60 <"$M4/kept" &
reader=$!
rm "$M4/kept"
check "unlink while open: the name is gone" bash -c "! ls -a '$M4' | grep -q 'kept\|fuse_hidden'"
check "unlink while open: the data is still there" \
	bash -c "[ \$(stat -L -c %s /proc/$reader/fd/0) = 3145728 ]"
[ "$(blocks)" -gt "$before" ] && ok "unlink while open: the namenode keeps its blocks" ||
	fail "the kept file's blocks are gone already ($(blocks) <= $before)"
pkill -9 -f "dfs-fuse.* $M4\$"
kill "$holder" "$reader" 2>/dev/null
check "the locks of a mount that died are released" wait_for 10 flock -n -x "$M/lk" -c true
reclaimed() { [ "$(blocks)" = "$before" ]; }
check "the files it kept open are deleted when it dies" wait_for 10 reclaimed
fusermount3 -u -z "$M4" 2>/dev/null

# permissions as an unprivileged user (default_permissions + the caller's identity)
mkdir "$M/priv" && chmod 700 "$M/priv" && echo secret >"$M/priv/s"
mkdir "$M/pub" && chmod 1777 "$M/pub"
U="setpriv --reuid=65534 --regid=65534 --clear-groups"
expect_error "a private directory refuses another user" "denied" $U cat "$M/priv/s"
expect_error "a root-owned file is not writable by another user" "denied" $U bash -c "echo x >'$M/rootfile'"
echo x >"$M/rootfile"
expect_error "chmod by a non-owner" "not permitted" $U chmod 777 "$M/rootfile"
check "a user creates files in a sticky world-writable directory" $U bash -c "echo mine >'$M/pub/u'"
[ "$(stat -c %u:%g "$M/pub/u")" = 65534:65534 ] && ok "the new file belongs to its creator" ||
	fail "new file owner is $(stat -c %u:%g "$M/pub/u")"
echo root >"$M/pub/r"
expect_error "the sticky bit protects another user's file" "not permitted|denied" $U rm -f "$M/pub/r"

# a datanode dies while a large file is read: the reader does not notice
head -c 24M /dev/urandom >"$T/big"
cp "$T/big" "$M/big"
sync
python3 - "$M/big" "$T/big.read" <<'PY' &
import sys, time
with open(sys.argv[1], "rb") as f, open(sys.argv[2], "wb") as o:
    while True:
        b = f.read(1 << 20)
        if not b: break
        o.write(b); time.sleep(0.05)
PY
reader=$!
# kill it once the read is under way (2 MiB in), well before its end
wait_for 20 bash -c "[ \$(stat -c %s '$T/big.read' 2>/dev/null || echo 0) -ge 2097152 ]" ||
	fail "the read did not start"
dfs local stop-node dn2 --kill -q
wait $reader && ok "the read finished" || fail "the read failed"
check "what was read is intact" cmp "$T/big" "$T/big.read"
dfs local start-node dn2 -q

# a read-only mount refuses writes
M3=$T/m3
mkdir -p "$M3"
dfs mount "$M3" -o ro &
wait_for 10 grep -q " $M3 fuse.dfs " /proc/mounts || fail "read-only mount did not come up"
expect_error "a read-only mount refuses writes" "read-only" bash -c "echo x >'$M3/ro-test'"
check "a read-only mount reads" cmp "$T/big" "$M3/big"
fusermount3 -u "$M2"
fusermount3 -u "$M3"

# every datanode restarts: the connections the mount kept to them are dead, and a read
# opens new ones rather than failing (one replica, so there is no other to fall back on)
mkdir "$M/one" && setfattr -n user.dfs.replication -v 1 "$M/one"
head -c 4M /dev/urandom >"$T/one" && cp "$T/one" "$M/one/f"
uncached() { python3 -c "import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)" "$1"; }
for i in 1 2 3; do uncached "$M/one/f"; cmp -s "$T/one" "$M/one/f"; done
for dn in dn1 dn2 dn3; do dfs local stop-node $dn -q && dfs local start-node $dn -q; done
all_live() { [ "$(dfs report --json | json 'sum(n["state"] == "live" for n in d["datanodes"])')" = 3 ]; }
wait_for 30 all_live || fail "the datanodes did not come back"
uncached "$M/one/f"
check "a read after every datanode restarted" cmp "$T/one" "$M/one/f"

# the namenode restarts under the mount: a call made while it is gone waits for it
# (about 20 s at most, then EIO: tests/faults/test_mount_restart.sh) and succeeds once
# it is back; the mount reconnects on its own
dfs local stop-node namenode --kill -q
mkdir "$M/made-while-gone" 2>"$T/gone.err" &
waiting=$!
check "the namenode comes back" dfs local start-node namenode -q
if wait $waiting; then ok "a call made while the namenode was gone waited and succeeded"; else
	fail "a call made while the namenode was gone failed: $(cat "$T/gone.err")"; fi
check "the mount works again after the namenode restart" wait_for 30 bash -c \
	"echo again >'$M/after-restart' && [ \"\$(cat '$M/after-restart')\" = again ]"

# dfs-fuse killed with -9 leaves a dead mount (ENOTCONN): `local up` clears it and
# mounts again, and says "mounted at" only for a mount that answers; `dfs mount` too
echo survives >"$M/dead-mount-test"
kill_fuse() {
	local pid; pid=$(cat "$DFS_DIR/run/fuse.pid")
	kill -9 "$pid"
	wait_for 10 bash -c "! kill -0 $pid 2>/dev/null"
	stat "$M" >/dev/null 2>&1 && fail "the mount still answers after kill -9 of dfs-fuse"
}
kill_fuse
[ "$(dfs local status --json | json 'd["mount"]')" = None ] && ok "local status shows no mount once dfs-fuse is dead" ||
	fail "local status shows a dead mount"
out=$(dfs local up 2>&1); rc=$?
if [ $rc = 0 ] && grep -q "mounted at $M" <<<"$out" && [ "$(cat "$M/dead-mount-test" 2>&1)" = survives ]; then
	ok "local up cleared the dead mount and mounted again"
else
	fail "local up after a dead mount: exit $rc, '$out', the mount: $(cat "$M/dead-mount-test" 2>&1)"
fi
kill_fuse
dfs mount "$M" &
mounted_again() { [ "$(cat "$M/dead-mount-test")" = survives ]; }
check "dfs mount cleared the dead mount and mounted again" wait_for 15 mounted_again
fusermount3 -u -z "$M"

check "the cluster is healthy afterwards" dfs fsck -q /
dfs local down -q
check "local down unmounted" bash -c "! grep -q ' $M fuse.dfs ' /proc/mounts"
finish
