#!/usr/bin/env python3
"""Checks a namespace against the journals of the clients that changed it
(tests/faults/test_powercut_namenode.sh).

usage: nscheck.py DFS JOURNAL:DIR...

Each journal holds, in order, "try OP ARGS" before a client's change and "ok" once the
namenode acknowledged it; OP is mkdir PATH, put PATH (content: PATH and a newline), mv SRC
DST or rm PATH. Every acknowledged change must be in DIR, and nothing else: the last
change without an "ok" (the one in flight at the power cut) may be there or not, and a
put in flight may have left its temporary PATH._COPYING_. The
files' contents are read back too. Prints what differs; exit 1 if anything does.
"""
import subprocess
import sys


def apply(state, op, args):
    if op == "mkdir":
        state[args[0]] = ("d",)
    elif op == "put":
        state[args[0]] = ("f", args[0] + "\n")
    elif op in ("mv", "rm"):
        src = args[0]
        moved = {p: v for p, v in state.items() if p == src or p.startswith(src + "/")}
        for p in moved:
            del state[p]
        if op == "mv":
            for p, v in moved.items():
                state[args[1] + p[len(src):]] = v
    else:
        raise ValueError("unknown op " + op)


def expected(journal):
    """(the state after every acknowledged change, the same plus the one in flight or
    None, number acknowledged, the change in flight (op, args) or None)"""
    state, pending, acked = {}, None, 0
    with open(journal) as f:
        for line in f:
            words = line.split()
            if not words:
                continue
            if words[0] == "try":
                if pending:
                    raise ValueError(journal + ": two changes in flight")
                pending = (words[1], words[2:])
            elif words[0] == "ok":
                apply(state, *pending)
                pending, acked = None, acked + 1
    alt = None
    if pending:
        alt = dict(state)
        apply(alt, *pending)
    return state, alt, acked, pending


def actual(dfs, top):
    out = subprocess.run([dfs, "ls", "-R", "-l", top], capture_output=True, text=True, check=True)
    state = {}
    for line in out.stdout.splitlines():
        f = line.split()
        path = f[-1]
        if f[0].startswith("d"):
            state[path] = ("d",)
        else:
            cat = subprocess.run([dfs, "cat", path], capture_output=True, text=True)
            state[path] = ("f", cat.stdout if cat.returncode == 0 else "<unreadable>")
    return state


def diff(want, got):
    lines = []
    for p in sorted(set(want) | set(got)):
        if p not in got:
            lines.append("missing: %s %r" % (p, want[p]))
        elif p not in want:
            lines.append("unexpected: %s %r" % (p, got[p]))
        elif want[p] != got[p]:
            lines.append("differs: %s want %r got %r" % (p, want[p], got[p]))
    return lines


def main():
    dfs, bad, total = sys.argv[1], 0, 0
    for arg in sys.argv[2:]:
        journal, top = arg.split(":")
        want, alt, acked, pending = expected(journal)
        total += acked
        want = {p: v for p, v in want.items() if p.startswith(top + "/")}
        got = actual(dfs, top)
        if pending and pending[0] == "put":
            # a put in flight may have left its temporary file, under construction
            got.pop(pending[1][0] + "._COPYING_", None)
        d = diff(want, got)
        if d and alt is not None:
            alt = {p: v for p, v in alt.items() if p.startswith(top + "/")}
            if not diff(alt, got):
                d = []
        if d:
            bad += 1
            print("%s: %d acknowledged changes, the namespace differs:" % (top, acked))
            for line in d[:20]:
                print("  " + line)
            if len(d) > 20:
                print("  ... and %d more" % (len(d) - 20))
    if not bad:
        print("all %d acknowledged changes are there, nothing else" % total)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
