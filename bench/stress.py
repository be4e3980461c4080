#!/usr/bin/env python3
"""An fsx-style stress run: python3 bench/stress.py DIR [OPS] [SEED] [DIR2 ...].

On one open file of up to 4 MiB: random writes (40%), reads (40%), truncates through the
descriptor (15%, growing and shrinking), a close and reopen (3%) and fsync (2%), every
read checked against an in-memory copy. Prints the seconds and operations per second for
each directory (a local one first, to compare), and stops at the first wrong byte.
Figures only.
"""
import os
import random
import sys
import time

OPS = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else 1
DIRS = [sys.argv[1]] + sys.argv[4:]
MAX = 4 << 20


def run(d):
    rng = random.Random(SEED)
    path = os.path.join(d, "stress.%d" % os.getpid())
    fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o644)
    ref = bytearray()
    t0 = time.time()
    for i in range(OPS):
        r = rng.random()
        if r < 0.40:
            off, n = rng.randrange(0, MAX - 65536), rng.randrange(1, 65536)
            data = rng.randbytes(n)
            os.pwrite(fd, data, off)
            if off > len(ref):
                ref.extend(b"\0" * (off - len(ref)))
            ref[off:off + n] = data
        elif r < 0.80:
            off, n = rng.randrange(0, MAX), rng.randrange(1, 65536)
            if os.pread(fd, n, off) != bytes(ref[off:off + n]):
                print("%s: WRONG BYTES at op %d (read %d at %d)" % (d, i, n, off))
                return False
        elif r < 0.95:
            size = rng.randrange(0, MAX)
            os.ftruncate(fd, size)
            if size < len(ref):
                del ref[size:]
            else:
                ref.extend(b"\0" * (size - len(ref)))
        elif r < 0.98:
            os.close(fd)
            fd = os.open(path, os.O_RDWR)
        else:
            os.fsync(fd)
    os.close(fd)
    with open(path, "rb") as f:
        ok = f.read() == bytes(ref)
    dt = time.time() - t0
    os.unlink(path)
    print("%-40s %8d ops %7.2f s %8.0f ops/s %s" % (d, OPS, dt, OPS / dt,
                                                      "intact" if ok else "WRONG AT THE END"))
    return ok


sys.exit(0 if all([run(d) for d in DIRS]) else 1)
