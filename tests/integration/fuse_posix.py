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

sys.exit(min(fails, 100))
