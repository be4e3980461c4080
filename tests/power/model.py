#!/usr/bin/env python3
"""Checks that the power-cut preload (powercut.c) keeps what its model says is durable.

usage: model.py do DIR OUTSIDE    (under LD_PRELOAD, POWERCUT_DIR=DIR)
       model.py check SHADOW      (afterwards, without it)

"do" makes changes in DIR (synced and unsynced writes, renames, links, truncates, an
exchange, four threads syncing at once) and OUTSIDE (a directory beside it); "check"
compares the shadow with what must be in it, exactly, and prints every difference.
"""
import ctypes
import os
import sys
import threading

EXPECTED = {
    "synced": b"A" * 5000,
    "unsynced": b"",
    "osync": b"C" * 100,
    "odsync": b"D" * 100,
    "half": b"H" * 10,
    "renamed": b"R" * 50,
    "renamed_unsynced": b"",
    "hard": b"A" * 5000,
    "from_outside": b"",
    "truncated": b"T" * 10,
    "grown": b"G" * 10 + b"\0" * 20,
    "retrunc": b"",
    "fopen": b"",
    "x1": b"2" * 7,
    "x2": b"1" * 7,
    "link": "synced",
    "d": None,
    "d/in_d": b"F" * 3,
    "moved_dir": None,
    "moved_dir/inner": b"I" * 4,
    "at_dir": None,
    "at_dir/at_file": b"Z" * 6,
}
for t in range(4):
    EXPECTED["thread%d" % t] = b"%d" % t * 99


def put(path, data, sync=None, flags=0):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | flags, 0o644)
    os.write(fd, data)
    if sync:
        sync(fd)
    os.close(fd)


def do(w, outside):
    j = lambda name: os.path.join(w, name)
    put(j("synced"), b"A" * 5000, os.fsync)
    put(j("unsynced"), b"B" * 100)
    put(j("osync"), b"C" * 100, flags=os.O_SYNC)
    put(j("odsync"), b"D" * 100, flags=os.O_DSYNC)
    fd = os.open(j("half"), os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"H" * 10)
    os.fdatasync(fd)
    os.write(fd, b"I" * 10)  # after the sync: lost
    os.close(fd)
    put(j("tmp"), b"R" * 50, os.fsync)
    os.rename(j("tmp"), j("renamed"))
    put(j("tmp2"), b"S" * 50)
    os.rename(j("tmp2"), j("renamed_unsynced"))
    os.link(j("synced"), j("hard"))
    put(os.path.join(outside, "o"), b"O" * 10, os.fsync)
    os.rename(os.path.join(outside, "o"), j("from_outside"))  # the shadow never saw it
    put(j("leaving"), b"L", os.fsync)
    os.rename(j("leaving"), os.path.join(outside, "left"))
    put(j("truncated"), b"T" * 30, os.fsync)
    os.truncate(j("truncated"), 10)
    put(j("grown"), b"G" * 10, os.fsync)
    fd = os.open(j("grown"), os.O_WRONLY)
    os.ftruncate(fd, 30)
    os.close(fd)
    put(j("retrunc"), b"Q" * 30, os.fsync)
    put(j("retrunc"), b"q" * 30)  # O_TRUNC is journalled, the new bytes are not
    with open(j("fopen"), "w") as f:
        f.write("never synced")
    put(j("x1"), b"1" * 7, os.fsync)
    put(j("x2"), b"2" * 7, os.fsync)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(-100, j("x1").encode(), -100, j("x2").encode(), 2) != 0:  # EXCHANGE
        raise OSError(ctypes.get_errno(), "renameat2")
    os.symlink("synced", j("link"))
    os.mkdir(j("d"))
    put(j("d/in_d"), b"F" * 3, os.fsync)
    dfd = os.open(w, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(dfd)  # a directory's fsync changes nothing
    os.close(dfd)
    os.mkdir(j("gone"))
    os.rmdir(j("gone"))
    put(j("deleted"), b"X", os.fsync)
    os.unlink(j("deleted"))
    os.mkdir(j("dir"))
    put(j("dir/inner"), b"I" * 4, os.fsync)
    os.rename(j("dir"), j("moved_dir"))
    os.mkdir(j("at_dir"))
    dfd = os.open(j("at_dir"), os.O_RDONLY | os.O_DIRECTORY)
    fd = os.open("at_file", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=dfd)
    os.write(fd, b"Z" * 6)
    os.fsync(fd)
    os.close(fd)
    os.rename("at_file", "at_tmp", src_dir_fd=dfd, dst_dir_fd=dfd)
    os.rename("at_tmp", "at_file", src_dir_fd=dfd, dst_dir_fd=dfd)
    os.close(dfd)

    def syncer(t):
        for i in range(1, 100):
            fd = os.open(j("thread%d" % t), os.O_WRONLY | os.O_CREAT, 0o644)
            os.pwrite(fd, b"%d" % t * i, 0)
            os.fsync(fd)
            os.close(fd)

    threads = [threading.Thread(target=syncer, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def check(shadow):
    got = {}
    for root, dirs, files in os.walk(shadow):
        for name in dirs + files:
            p = os.path.join(root, name)
            rel = os.path.relpath(p, shadow)
            if os.path.islink(p):
                got[rel] = os.readlink(p)
            elif os.path.isdir(p):
                got[rel] = None
            else:
                with open(p, "rb") as f:
                    got[rel] = f.read()
    bad = 0
    for rel in sorted(set(EXPECTED) | set(got)):
        if EXPECTED.get(rel, "absent") != got.get(rel, "absent"):
            print("%s: want %.40r, the shadow has %.40r" % (rel, EXPECTED.get(rel, "absent"),
                                                           got.get(rel, "absent")))
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "do":
        do(sys.argv[2], sys.argv[3])
    else:
        sys.exit(check(sys.argv[2]))
