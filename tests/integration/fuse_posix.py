#!/usr/bin/env python3
"""POSIX checks through a dfs FUSE mount: python3 fuse_posix.py MOUNT [OTHER_MOUNT].

Each check prints "ok: ..." or "FAIL: ..."; the exit status is the number of failures.
Every errno a user can cause is checked by name (never EIO for a user's mistake).
"""
import ctypes
import errno
import fcntl
import os
import random
import stat
import sys

M = sys.argv[1]
OTHER = sys.argv[2] if len(sys.argv) > 2 else None
fails = 0


def ok(what):
    print("ok: " + what)


def fail(what):
    global fails
    fails += 1
    print("FAIL: " + what, file=sys.stderr)


def check(what, cond):
    ok(what) if cond else fail(what)


def expect_errno(what, code, fn, *args):
    try:
        fn(*args)
    except OSError as e:
        if e.errno == code:
            ok("%s -> %s" % (what, errno.errorcode[code]))
        else:
            fail("%s: expected %s, got %s" % (what, errno.errorcode[code],
                                               errno.errorcode.get(e.errno, e.errno)))
        return
    fail("%s: succeeded, expected %s" % (what, errno.errorcode[code]))


def p(*parts):
    return os.path.join(M, *parts)


def write(path, data, mode="wb"):
    with open(path, mode) as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2


def renameat2(a, b, flags):
    if libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


os.mkdir(p("posix"))
M = p("posix")

# --- errno for a user's mistakes ---
expect_errno("open a missing file", errno.ENOENT, open, p("missing"))
os.mkdir(p("d"))
expect_errno("mkdir an existing directory", errno.EEXIST, os.mkdir, p("d"))
write(p("d", "f"), b"x")
expect_errno("rmdir a non-empty directory", errno.ENOTEMPTY, os.rmdir, p("d"))
expect_errno("open a directory for writing", errno.EISDIR, os.open, p("d"), os.O_WRONLY)
expect_errno("a file used as a directory", errno.ENOTDIR, os.stat, p("d", "f", "x"))
expect_errno("rmdir a file", errno.ENOTDIR, os.rmdir, p("d", "f"))
expect_errno("unlink a directory", errno.EISDIR, os.unlink, p("d"))
expect_errno("a name of 256 bytes", errno.ENAMETOOLONG, open, p("n" * 256), "w")
expect_errno("O_EXCL on an existing file", errno.EEXIST, os.open, p("d", "f"),
             os.O_CREAT | os.O_EXCL | os.O_WRONLY)
expect_errno("hard link to a directory", errno.EPERM, os.link, p("d"), p("dlink"))
expect_errno("rename a directory into itself", errno.EINVAL, os.rename, p("d"), p("d", "sub"))
expect_errno("rename across file systems", errno.EXDEV, os.rename, p("d", "f"), "/tmp/dfs-xdev")
expect_errno("readlink of a regular file", errno.EINVAL, os.readlink, p("d", "f"))
expect_errno("getxattr of an unset attribute", errno.ENODATA, os.getxattr, p("d", "f"),
             "user.none")
expect_errno("removexattr of an unset attribute", errno.ENODATA, os.removexattr, p("d", "f"),
             "user.none")
os.setxattr(p("d", "f"), "user.a", b"1")
expect_errno("setxattr XATTR_CREATE on a set attribute", errno.EEXIST, os.setxattr,
             p("d", "f"), "user.a", b"2", os.XATTR_CREATE)
expect_errno("setxattr XATTR_REPLACE on an unset attribute", errno.ENODATA, os.setxattr,
             p("d", "f"), "user.b", b"2", os.XATTR_REPLACE)
expect_errno("mkdir under a missing parent", errno.ENOENT, os.mkdir, p("nope", "x"))
os.mkdir(p("d2"))
write(p("d2", "g"), b"")
expect_errno("rename over a non-empty directory", errno.ENOTEMPTY, os.rename, p("d"), p("d2"))
write(p("plain"), b"")
expect_errno("rename a directory over a file", errno.ENOTDIR, os.rename, p("d2"), p("plain"))
expect_errno("rename a file over a directory", errno.EISDIR, os.rename, p("plain"), p("d2"))

# --- files: create, O_APPEND, O_TRUNC, sparse, truncate ---
write(p("a"), b"hello\n")
write(p("a"), b"world\n", "ab")
check("O_APPEND appends", read(p("a")) == b"hello\nworld\n")
write(p("a"), b"new")
check("O_TRUNC replaces", read(p("a")) == b"new")
fd = os.open(p("sparse"), os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(fd, b"end", 3 * 1024 * 1024 + 5)
data = os.pread(fd, 3 * 1024 * 1024 + 8, 0)
os.close(fd)
check("a sparse gap reads as zeros", data == b"\0" * (3 * 1024 * 1024 + 5) + b"end")
check("the sparse file has its size", os.stat(p("sparse")).st_size == 3 * 1024 * 1024 + 8)
write(p("t"), bytes(range(256)) * 10000)
os.truncate(p("t"), 1000)
check("truncate shrinks", read(p("t")) == (bytes(range(256)) * 4)[:1000])
os.truncate(p("t"), 5000)
check("truncate grows with zeros", read(p("t")) == (bytes(range(256)) * 4)[:1000] + b"\0" * 4000)
fd = os.open(p("t"), os.O_RDWR)
os.ftruncate(fd, 10)
os.write(fd, b"abc")
os.close(fd)
check("ftruncate then write", read(p("t")) == b"abc" + bytes(range(3, 10)))

# random overwrites against a local reference, several block sizes' worth
ref = bytearray(os.urandom(2 * 1024 * 1024 + 777))
write(p("rand"), bytes(ref))
rng = random.Random(42)
fd = os.open(p("rand"), os.O_RDWR)
for i in range(200):
    r = rng.random()
    if r < 0.75:
        off, n = rng.randrange(0, 4 * 1024 * 1024), rng.randrange(1, 400000)
        b = os.urandom(n)
        os.pwrite(fd, b, off)
        if off > len(ref):
            ref.extend(b"\0" * (off - len(ref)))
        ref[off:off + n] = b
    elif r < 0.85:
        size = rng.randrange(0, 4 * 1024 * 1024)
        os.ftruncate(fd, size)
        if size < len(ref):
            del ref[size:]
        else:
            ref.extend(b"\0" * (size - len(ref)))
    elif r < 0.95:
        off, n = rng.randrange(0, 4 * 1024 * 1024), rng.randrange(1, 1500000)
        if os.pread(fd, n, off) != bytes(ref[off:off + n]):
            fail("random overwrite: read %d at %d differs (step %d)" % (n, off, i))
            break
    else:
        os.fsync(fd)
os.close(fd)
check("200 random overwrites/truncates match the reference", read(p("rand")) == bytes(ref))

# --- unlinked while open ---
fd = os.open(p("gone"), os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, b"still here")
os.unlink(p("gone"))
check("unlinked file is gone from the namespace", not os.path.exists(p("gone")))
os.pwrite(fd, b"!", 10)
check("unlinked file stays readable and writable", os.pread(fd, 100, 0) == b"still here!")
os.close(fd)


def cluster_blocks():
    import json
    import subprocess
    return json.loads(subprocess.run(["dfs", "report", "--json"], capture_output=True,
                                     check=True).stdout)["blocks"]


fd = os.open(p("replaced"), os.O_CREAT | os.O_RDWR, 0o644)
old = os.urandom(1100000)
os.write(fd, old)
os.fsync(fd)  # on the datanodes, not only in this mount's memory
write(p("replacement"), b"the new one")
blocks = cluster_blocks()
os.rename(p("replacement"), p("replaced"))
check("a file renamed over while open keeps its blocks", cluster_blocks() == blocks)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # read it from the cluster
check("... and stays readable through its handle", os.pread(fd, 1100000, 0) == old)
check("... and the name is the new file", read(p("replaced")) == b"the new one")
os.close(fd)

# --- renames ---
write(p("r1"), b"one")
write(p("r2"), b"two")
os.rename(p("r1"), p("r2"))
check("rename over an existing file", read(p("r2")) == b"one" and not os.path.exists(p("r1")))
write(p("r1"), b"again")
expect_errno("RENAME_NOREPLACE over an existing file", errno.EEXIST, renameat2, p("r1"),
             p("r2"), RENAME_NOREPLACE)
renameat2(p("r1"), p("r3"), RENAME_NOREPLACE)
check("RENAME_NOREPLACE to a free name", read(p("r3")) == b"again")
renameat2(p("r2"), p("r3"), RENAME_EXCHANGE)
check("RENAME_EXCHANGE swaps", read(p("r2")) == b"again" and read(p("r3")) == b"one")
os.makedirs(p("x", "y"))
write(p("x", "y", "z"), b"z")
os.rename(p("x"), p("x2"))
check("rename a directory tree", read(p("x2", "y", "z")) == b"z")
os.mkdir(p("empty"))
os.rename(p("x2"), p("empty"))
check("rename a directory over an empty one", read(p("empty", "y", "z")) == b"z")

# --- links, special files, attributes ---
os.symlink("r2", p("sym"))
check("symlink and readlink", os.readlink(p("sym")) == "r2" and read(p("sym")) == b"again")
check("symlink type", stat.S_ISLNK(os.lstat(p("sym")).st_mode))
os.link(p("r2"), p("hard"))
st1, st2 = os.stat(p("r2")), os.stat(p("hard"))
check("hard link shares the inode", st1.st_ino == st2.st_ino and st1.st_nlink == 2)
write(p("hard"), b"changed")
check("a write through one link shows through the other", read(p("r2")) == b"changed")
os.mkfifo(p("fifo"))
check("mkfifo", stat.S_ISFIFO(os.stat(p("fifo")).st_mode))
os.chmod(p("r2"), 0o640)
check("chmod", stat.S_IMODE(os.stat(p("r2")).st_mode) == 0o640)
os.chown(p("r2"), 1234, 5678)
check("chown", (os.stat(p("r2")).st_uid, os.stat(p("r2")).st_gid) == (1234, 5678))
os.utime(p("r2"), ns=(1000000000123456789, 1100000000987654321))
st = os.stat(p("r2"))
check("utimens keeps nanoseconds", st.st_mtime_ns == 1100000000987654321 and
      st.st_atime_ns == 1000000000123456789)
os.setxattr(p("r2"), "user.color", b"blue")
check("xattr set/get/list", os.getxattr(p("r2"), "user.color") == b"blue" and
      "user.color" in os.listxattr(p("r2")))
os.removexattr(p("r2"), "user.color")
check("xattr remove", "user.color" not in os.listxattr(p("r2")))
big = os.urandom(60000)
os.setxattr(p("r2"), "user.big", big)
check("a 60 KB xattr value", os.getxattr(p("r2"), "user.big") == big)

# --- hard links are one inode: a change through one name shows through the other at
# once (the mount addresses inodes, so there is no per-name cache to go stale) ---
write(p("hl_a"), b"x")
os.link(p("hl_a"), p("hl_b"))
os.chmod(p("hl_a"), 0o201)
os.chown(p("hl_a"), 65534, 65533)
st = os.stat(p("hl_b"))
check("hard link: chmod and chown through one name, seen through the other",
      stat.S_IMODE(st.st_mode) == 0o201 and (st.st_uid, st.st_gid) == (65534, 65533) and
      st.st_nlink == 2)
os.link(p("hl_a"), p("hl_c"))
check("hard link: a third name counts at once", os.stat(p("hl_b")).st_nlink == 3)
os.unlink(p("hl_a"))
check("hard link: unlink counts at once", os.stat(p("hl_b")).st_nlink == 2)
os.rename(p("hl_c"), p("hl_d"))
st = os.stat(p("hl_b"))
check("hard link: rename through another name keeps the inode",
      st.st_nlink == 2 and st.st_ino == os.stat(p("hl_d")).st_ino)

# --- a directory as an unlink or rmdir left it: the mount answers the kernel's GETATTR
# that follows from the namenode's reply, so it must be that directory, after the change
# (link count, times), and a change after it must not be hidden by it ---
os.mkdir(p("ud"))
os.mkdir(p("ud", "sub"))
write(p("ud", "f"), b"x")
write(p("ud", "f2"), b"x")
old = 1000000000 * 10**9
os.utime(p("ud"), ns=(old, old))
check("directory: a subdirectory counts a link", os.stat(p("ud")).st_nlink == 3)
os.unlink(p("ud", "f"))
st = os.stat(p("ud"))
check("directory after unlink: mtime and ctime moved, links kept",
      st.st_mtime_ns > old and st.st_nlink == 3 and not os.path.exists(p("ud", "f")))
os.utime(p("ud"), ns=(old, old))
os.rmdir(p("ud", "sub"))
st = os.stat(p("ud"))
check("directory after rmdir: one link fewer, mtime moved",
      st.st_nlink == 2 and st.st_mtime_ns > old)
os.unlink(p("ud", "f2"))
os.utime(p("ud"), ns=(old, old))
os.mkdir(p("ud", "sub2"))
st = os.stat(p("ud"))
check("directory: a change after an unlink is not hidden by the unlink's reply",
      st.st_nlink == 3 and st.st_mtime_ns > old)
if OTHER:
    check("directory: the same from another mount",
          os.stat(os.path.join(OTHER, "posix", "ud")).st_nlink == 3)
# the same for each call that adds a name: its reply carries the directory too
for what, make, links in [
        ("create", lambda: write(p("ud", "c1"), b"x"), 3),
        ("mkdir", lambda: os.mkdir(p("ud", "sub3")), 4),
        ("mknod (fifo)", lambda: os.mkfifo(p("ud", "fifo")), 4),
        ("symlink", lambda: os.symlink("c1", p("ud", "sym")), 4),
        ("link", lambda: os.link(p("ud", "c1"), p("ud", "c2")), 4)]:
    os.utime(p("ud"), ns=(old, old))
    make()
    st = os.stat(p("ud"))
    check("directory after %s: mtime and ctime moved, %d links" % (what, links),
          st.st_mtime_ns > old and st.st_ctime_ns > old and st.st_nlink == links)
    os.utime(p("ud"), ns=(old, old))
    os.chmod(p("ud"), 0o750)
    st = os.stat(p("ud"))
    check("directory: a chmod after a %s is not hidden by its reply" % what,
          st.st_mode & 0o7777 == 0o750 and st.st_mtime_ns == old)
    os.chmod(p("ud"), 0o755)

# --- no path limit but the kernel's: every call at a PATH_MAX-long relative path, in a
# directory that is itself more than PATH_MAX below the mount's root ---
os.mkdir(p("deep"))
comp = "d" * 255
here = os.open(p("deep"), os.O_RDONLY | os.O_DIRECTORY)
for level in range(2):
    rel = []
    while len("/".join(rel + [comp])) + 1 + 255 < 4000:
        rel.append(comp)
        os.mkdir("/".join(rel), dir_fd=here)
    base = "/".join(rel)
    if level == 0:  # go down there, and build the second chain below it
        down = os.open(base, os.O_RDONLY | os.O_DIRECTORY, dir_fd=here)
        os.close(here)
        here = down
name = "f" * 255
target = base + "/" + name
check("a relative path of %d bytes (255-byte names), %d bytes below the root" %
      (len(target), 2 * len(target)), len(target) > 3800)
calls = [
    ("create", lambda: os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=here))),
    ("open", lambda: os.close(os.open(target, os.O_RDONLY, dir_fd=here))),
    ("chmod", lambda: os.chmod(target, 0o600, dir_fd=here)),
    ("chown", lambda: os.chown(target, 1, 1, dir_fd=here)),
    ("truncate", lambda: os.truncate("/proc/self/fd/%d/%s" % (here, target), 5)),
    ("link", lambda: os.link(target, base + "/l" * 1, src_dir_fd=here, dst_dir_fd=here)),
    ("symlink", lambda: os.symlink("x" * 100, base + "/s", dir_fd=here)),
    ("rename", lambda: os.rename(target, base + "/g" * 1, src_dir_fd=here, dst_dir_fd=here)),
    ("unlink", lambda: os.unlink(base + "/g", dir_fd=here)),
    ("mkdir", lambda: os.mkdir(base + "/" + "m" * 255, dir_fd=here)),
    ("mkfifo", lambda: os.mkfifo(base + "/fifo", dir_fd=here)),
    ("mknod", lambda: os.mknod(base + "/node", 0o600 | stat.S_IFREG, dir_fd=here)),
    ("rmdir", lambda: os.rmdir(base + "/" + "m" * 255, dir_fd=here)),
    ("stat", lambda: os.stat(base + "/l", dir_fd=here)),
]
for what, fn in calls:
    try:
        fn()
        ok("deep %s" % what)
    except OSError as e:
        fail("deep %s: %s" % (what, errno.errorcode.get(e.errno, e.errno)))
os.close(here)

# --- a huge length is EFBIG (or EINVAL), never anything else ---
write(p("huge"), b"x")
for what, fn in [("truncate", lambda: os.truncate(p("huge"), 999999999999999)),
                 ("ftruncate", lambda: os.ftruncate(os.open(p("huge"), os.O_WRONLY),
                                                    999999999999999))]:
    try:
        fn()
        fail("%s to 999999999999999 succeeded" % what)
    except OSError as e:
        check("%s to 999999999999999 -> %s" % (what, errno.errorcode.get(e.errno, e.errno)),
              e.errno in (errno.EFBIG, errno.EINVAL))

# --- nanosecond times, UTIME_NOW and UTIME_OMIT ---
UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def utimensat(path, atime, mtime):
    ts = (Timespec * 2)(Timespec(*atime), Timespec(*mtime))
    if libc.utimensat(AT_FDCWD, path.encode(), ts, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


write(p("times"), b"t")
os.utime(p("times"), ns=(1000000000000000001, 1200000000000000002))
utimensat(p("times"), (0, UTIME_OMIT), (1300000000, 3))
st = os.stat(p("times"))
check("UTIME_OMIT keeps atime, mtime set to the nanosecond",
      st.st_atime_ns == 1000000000000000001 and st.st_mtime_ns == 1300000000000000003)
import time
before = time.time_ns()
utimensat(p("times"), (0, UTIME_NOW), (0, UTIME_OMIT))
st = os.stat(p("times"))
check("UTIME_NOW sets atime to now, UTIME_OMIT keeps mtime",
      st.st_atime_ns >= before - 10**9 and st.st_mtime_ns == 1300000000000000003)

# --- O_APPEND from two processes: every record lands whole, none lost ---
write(p("log"), b"")
pids = []
for k in range(2):
    pid = os.fork()
    if pid == 0:
        fd = os.open(p("log"), os.O_WRONLY | os.O_APPEND)
        for i in range(200):
            os.write(fd, b"%d:%03d\n" % (k, i))
        os.close(fd)
        os._exit(0)
    pids.append(pid)
for pid in pids:
    os.waitpid(pid, 0)
lines = read(p("log")).split(b"\n")[:-1]
check("O_APPEND from two processes: 400 whole records",
      sorted(lines) == sorted(b"%d:%03d" % (k, i) for k in range(2) for i in range(200)))

# --- a block streamed from its start, then grown by ftruncate before the close: the
# zeros are stored too (the stored block once stopped where the stream did) ---
os.mkdir(p("small_blocks"))
os.setxattr(p("small_blocks"), "user.dfs.block_size", b"1048576")
head = os.urandom(300000)
fd = os.open(p("small_blocks", "grown"), os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, head)
os.ftruncate(fd, 600000)
os.close(fd)
fd = os.open(p("small_blocks", "grown"), os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # from the cluster, not the cache
try:
    back = os.pread(fd, 700000, 0)
    check("a streamed block grown by ftruncate reads back whole",
          back == head + b"\0" * 300000)
except OSError as e:
    fail("a streamed block grown by ftruncate: %s" % e)
os.close(fd)

# --- per-directory replication and block size, inherited ---
os.mkdir(p("goal"))
os.setxattr(p("goal"), "user.dfs.replication", b"2")
os.setxattr(p("goal"), "user.dfs.block_size", b"131072")
write(p("goal", "f"), os.urandom(300000))
check("new files inherit the directory's replication",
      os.getxattr(p("goal", "f"), "user.dfs.replication") == b"2")
check("new files inherit the directory's block size",
      os.getxattr(p("goal", "f"), "user.dfs.block_size") == b"131072")
expect_errno("a bad replication value", errno.EINVAL, os.setxattr, p("goal"),
             "user.dfs.replication", b"zero")

# --- statfs, locks (local), fsync ---
sv = os.statvfs(M)
check("statfs shows the cluster's capacity", sv.f_blocks > 0 and sv.f_bavail <= sv.f_blocks)
with open(p("lock"), "w") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    fcntl.flock(f, fcntl.LOCK_UN)
    f.write("x")
    f.flush()
    os.fsync(f.fileno())
ok("flock and fsync")

# --- directories: listing with attributes ---
os.mkdir(p("many"))
for i in range(300):
    write(p("many", "f%03d" % i), b"%d" % i)
names = sorted(os.listdir(p("many")))
check("readdir lists 300 entries", names == ["f%03d" % i for i in range(300)])
check("sizes in the listing", all(os.stat(p("many", n)).st_size == len(b"%d" % int(n[1:]))
                                  for n in names[:50]))

# --- another mount: close-to-open ---
if OTHER:
    O = os.path.join(OTHER, "posix")
    write(p("shared"), b"v1")
    check("another mount sees a closed file", read(os.path.join(O, "shared")) == b"v1")
    write(p("shared"), b"version two")
    check("another mount sees the rewritten file at open",
          read(os.path.join(O, "shared")) == b"version two")
    write(p("shared.tmp"), b"replaced by rename")
    os.rename(p("shared.tmp"), p("shared"))
    check("another mount sees a rename over the file",
          read(os.path.join(O, "shared")) == b"replaced by rename")
    write(os.path.join(O, "back"), os.urandom(10) + b"tail")
    check("and the other way round", read(p("back")).endswith(b"tail"))
    write(p("ft"), b"y" * 100000)
    fd = os.open(p("ft"), os.O_RDWR)
    os.ftruncate(fd, 1000)
    check("ftruncate shows at once on its own mount", os.stat(p("ft")).st_size == 1000)
    os.close(fd)
    check("... and on another mount after close",
          os.stat(os.path.join(O, "ft")).st_size == 1000 and
          read(os.path.join(O, "ft")) == b"y" * 1000)
    import mmap
    write(p("mm"), b"\0" * 8192)
    fd = os.open(p("mm"), os.O_RDWR)
    m = mmap.mmap(fd, 8192)
    m[100:105] = b"mmapd"
    m.flush()
    m.close()
    os.close(fd)
    check("mmap writes are seen by another mount after close",
          read(os.path.join(O, "mm"))[100:105] == b"mmapd")

sys.exit(min(fails, 100))
