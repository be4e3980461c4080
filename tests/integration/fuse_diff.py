#!/usr/bin/env python3
"""Differential POSIX test: python3 fuse_diff.py LOCAL_DIR MOUNT_DIR [STEPS] [SEED].

Runs the same random sequence of file-system calls in a local directory and in a
directory of the dfs mount, and compares every outcome: the errno of a failure, and
after every call the type, mode, link count and size of every name in the tree, the
listing of every directory and the bytes of every file. The first difference is
printed with the calls that led to it; the exit status is 1 on a difference.
"""
import errno
import os
import random
import stat
import sys

LOCAL, MOUNT = sys.argv[1], sys.argv[2]
STEPS = int(sys.argv[3]) if len(sys.argv) > 3 else 1500
SEED = int(sys.argv[4]) if len(sys.argv) > 4 else 42
NAMES = ["a", "b", "c", "d"]


def outcome(fn):
    try:
        r = fn()
        return ("ok", r)
    except OSError as e:
        return ("err", errno.errorcode.get(e.errno, e.errno))


def snapshot(root):
    """Every name below root: type, mode, nlink, size, and the bytes of files (a FIFO is
    never opened: every open here is O_NONBLOCK, and FIFOs are only stat-ed)."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        rel = os.path.relpath(dirpath, root)
        for n in sorted(dirs + files):
            p = os.path.join(dirpath, n)
            try:
                st = os.lstat(p)
            except OSError as e:  # a directory the caller may not search
                out[os.path.normpath(os.path.join(rel, n))] = errno.errorcode[e.errno]
                continue
            entry = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_nlink,
                     st.st_size if not stat.S_ISDIR(st.st_mode) else 0)
            if stat.S_ISREG(st.st_mode):
                try:  # an unprivileged caller may not read it: then compare that
                    with open(p, "rb") as f:
                        entry += (f.read(),)
                except OSError as e:
                    entry += (errno.errorcode[e.errno],)
            elif stat.S_ISLNK(st.st_mode):
                entry += (os.readlink(p),)
            out[os.path.normpath(os.path.join(rel, n))] = entry
    return out


def random_path(rng):
    parts = [rng.choice(NAMES) for _ in range(1 if rng.random() < 0.6 else 2)]
    return os.path.join(*parts)


class Tree:
    """The open descriptors of one side, by slot."""

    def __init__(self, root):
        self.root = root
        self.fds = {}

    def p(self, rel):
        return os.path.join(self.root, rel)


def make_op(rng):
    """One random call, as a function of a Tree (the same on both sides)."""
    k = rng.choice(list(range(22)) + [0, 2, 2, 2, 10, 11, 12, 12, 13])
    a, b = random_path(rng), random_path(rng)
    data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 3000)))
    off = rng.randrange(0, 5000)
    size = rng.randrange(0, 6000)
    mode = rng.choice([0o644, 0o600, 0o755, 0o700, 0o444])
    slot = rng.randrange(3)
    if k == 0:
        return "mkdir %s" % a, lambda t: os.mkdir(t.p(a), mode)
    if k == 1:
        return "rmdir %s" % a, lambda t: os.rmdir(t.p(a))
    if k == 2:
        def create(t):
            fd = os.open(t.p(a), os.O_CREAT | os.O_WRONLY | os.O_TRUNC | os.O_NONBLOCK, mode)
            os.write(fd, data)
            os.close(fd)
        return "create %s (%d bytes)" % (a, len(data)), create
    if k == 3:
        def excl(t):
            os.close(os.open(t.p(a), os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode))
        return "create O_EXCL %s" % a, excl
    if k == 4:
        return "unlink %s" % a, lambda t: os.unlink(t.p(a))
    if k == 5:
        return "rename %s %s" % (a, b), lambda t: os.rename(t.p(a), t.p(b))
    if k == 6:
        return "link %s %s" % (a, b), lambda t: os.link(t.p(a), t.p(b))
    if k == 7:
        return "symlink %s -> %s" % (a, b), lambda t: os.symlink(b, t.p(a))
    if k == 8:
        return "chmod %s %o" % (a, mode), lambda t: os.chmod(t.p(a), mode)
    if k == 9:
        return "truncate %s %d" % (a, size), lambda t: os.truncate(t.p(a), size)
    if k == 10:
        def pwrite(t):
            fd = os.open(t.p(a), os.O_WRONLY | os.O_NONBLOCK)
            try:
                os.pwrite(fd, data, off)
            finally:
                os.close(fd)
        return "pwrite %s at %d (%d bytes)" % (a, off, len(data)), pwrite
    if k == 11:
        def append(t):
            fd = os.open(t.p(a), os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        return "append %s (%d bytes)" % (a, len(data)), append
    if k == 12:
        def open_slot(t):
            if slot in t.fds:
                os.close(t.fds.pop(slot))
            t.fds[slot] = os.open(t.p(a), os.O_RDWR | os.O_NONBLOCK)
        return "open %s as fd%d" % (a, slot), open_slot
    if k == 13:
        def write_slot(t):
            if slot not in t.fds:
                raise OSError(errno.EBADF, "no such slot")
            os.pwrite(t.fds[slot], data, off)
        return "pwrite fd%d at %d (%d bytes)" % (slot, off, len(data)), write_slot
    if k == 14:
        def read_slot(t):
            if slot not in t.fds:
                raise OSError(errno.EBADF, "no such slot")
            return os.pread(t.fds[slot], 8192, 0)
        return "pread fd%d" % slot, read_slot
    if k == 15:
        def close_slot(t):
            if slot not in t.fds:
                raise OSError(errno.EBADF, "no such slot")
            os.close(t.fds.pop(slot))
        return "close fd%d" % slot, close_slot
    if k == 17:
        return "mkfifo %s" % a, lambda t: os.mkfifo(t.p(a), mode)
    if k == 18:
        flags = rng.choice([0, os.XATTR_CREATE, os.XATTR_REPLACE])
        return "setxattr %s user.%s (flags %d)" % (a, b[0], flags), \
            lambda t: os.setxattr(t.p(a), "user." + b[0], data[:100], flags)
    if k == 19:
        return "getxattr %s user.%s" % (a, b[0]), \
            lambda t: os.getxattr(t.p(a), "user." + b[0])
    if k == 20:
        return "removexattr %s user.%s" % (a, b[0]), \
            lambda t: os.removexattr(t.p(a), "user." + b[0])
    return "ftruncate fd%d %d" % (slot, size), lambda t: (
        os.ftruncate(t.fds[slot], size) if slot in t.fds else
        (_ for _ in ()).throw(OSError(errno.EBADF, "no such slot")))


def main():
    rng = random.Random(SEED)
    sides = [Tree(os.path.join(LOCAL, "diff")), Tree(os.path.join(MOUNT, "diff"))]
    for t in sides:
        os.mkdir(t.root)
    history = []
    succeeded = 0
    for step in range(STEPS):
        what, fn = make_op(rng)
        history.append(what)
        results = [outcome(lambda: fn(t)) for t in sides]
        succeeded += results[0][0] == "ok"
        if results[0] != results[1]:
            print("FAIL: step %d, %s: local %s, mount %s" % (step, what, results[0],
                                                           results[1]))
            print("  the last calls: " + "; ".join(history[-12:]))
            return 1
        if step % 10 == 9 or step == STEPS - 1:
            try:
                snaps = [snapshot(t.root) for t in sides]
            except OSError as e:
                print("FAIL: after step %d, reading the tree back: %s" % (step, e))
                print("  the last calls: " + "; ".join(history[-12:]))
                return 1
            if snaps[0] != snaps[1]:
                keys = sorted(set(snaps[0]) | set(snaps[1]))
                for k in keys:
                    if snaps[0].get(k) != snaps[1].get(k):
                        short = lambda e: e if e is None else e[:4]
                        print("FAIL: after step %d, %s differs: local %s, mount %s" %
                              (step, k, short(snaps[0].get(k)), short(snaps[1].get(k))))
                        break
                print("  the last calls: " + "; ".join(history[-12:]))
                return 1
    for t in sides:
        for fd in t.fds.values():
            os.close(fd)
    print("ok: %d random calls (%d succeeded, seed %d) gave the same results as a local "
          "directory" % (STEPS, succeeded, SEED))
    return 0


sys.exit(main())
