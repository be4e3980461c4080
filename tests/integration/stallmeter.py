#!/usr/bin/env python3
"""Writes or reads a file in 1 MiB steps at a steady rate and reports the longest stall.

    stallmeter.py write PATH MIB SEED [--rate MBPS] [--started FILE]
    stallmeter.py read  PATH MIB SEED [--rate MBPS] [--started FILE]

The content of step i is a function of (SEED, i), so a read checks every byte it gets
against what the write put there. --started names a file created once the first step is
done (so a caller can time a fault into the transfer). Prints one JSON line:
{"mib", "seconds", "max_stall", "stall_at_mib", "ok"}; exits 1 on a content mismatch
or an I/O error (with the error in "error").
"""
import argparse
import hashlib
import json
import os
import sys
import time

STEP = 1 << 20


def chunk(seed, i):
    # 32-byte SHA-256 blocks, counter mode: cheap, and any misplaced byte shows
    out = bytearray()
    base = hashlib.sha256(("%d:%d" % (seed, i)).encode()).digest()
    block = base
    while len(out) < STEP:
        out += block * 1024
        block = hashlib.sha256(block).digest()
    return bytes(out[:STEP])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["write", "read"])
    ap.add_argument("path")
    ap.add_argument("mib", type=int)
    ap.add_argument("seed", type=int)
    ap.add_argument("--rate", type=float, default=0, help="MB/s, 0 = as fast as it goes")
    ap.add_argument("--started")
    a = ap.parse_args()
    res = {"mib": a.mib, "ok": True}
    t0 = last = time.monotonic()
    max_stall, stall_at = 0.0, -1
    try:
        fd = os.open(a.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644) \
            if a.mode == "write" else os.open(a.path, os.O_RDONLY)
        for i in range(a.mib):
            want = chunk(a.seed, i)
            if a.mode == "write":
                view = memoryview(want)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
            else:
                got = bytearray()
                while len(got) < STEP:
                    b = os.read(fd, STEP - len(got))
                    if not b:
                        break
                    got += b
                if bytes(got) != want:
                    res.update(ok=False, error="MiB %d differs from what was written" % i)
                    break
            now = time.monotonic()
            if now - last > max_stall:
                max_stall, stall_at = now - last, i
            last = now
            if i == 0 and a.started:
                open(a.started, "w").close()
            if a.rate > 0:
                ahead = t0 + (i + 1) * STEP / (a.rate * 1e6) - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
                    last = time.monotonic()
        if a.mode == "write" and res["ok"]:
            os.fsync(fd)
            now = time.monotonic()
            if now - last > max_stall:
                max_stall, stall_at = now - last, a.mib
        os.close(fd)
    except OSError as e:
        res.update(ok=False, error=str(e))
    res.update(seconds=round(time.monotonic() - t0, 3), max_stall=round(max_stall, 3),
               stall_at_mib=stall_at)
    print(json.dumps(res))
    sys.exit(0 if res["ok"] else 1)


if __name__ == "__main__":
    main()
