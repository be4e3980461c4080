#!/usr/bin/env python3
"""A randomized fault soak of a local cluster (`make soak`).

A seeded schedule of faults runs against an embedded cluster of 4 datanodes (block size
1 MiB, replication 3, heartbeat 0.5 s, stale 1.5 s, dead 3 s, the scanner every 20 s)
while a verifying workload runs through the FUSE mount, `dfs put`/`dfs get` and `dfs
run`. Every byte written is a function of (seed, file, version), so every read is
checked as it happens, and a history of acknowledged changes is kept. After the faults
stop, the checker proves from that history that:
  - no acknowledged write was lost (each file whose last acknowledged change left it
    present has exactly its content, through the mount and through `dfs get`);
  - no read returned bytes that were never written (checked at every read);
  - no file is both present and absent (an acknowledged name is there, a name
    acknowledged as removed is not, both during the run and at the end);
  - every job's output is exact;
  - `dfs fsck /` ends HEALTHY.
Faults (one node fault at a time, so three replicas always leave one good copy):
kill -9, SIGSTOP/SIGCONT and SIGTERM (graceful stop) of a datanode; kill -9 and
SIGSTOP of the namenode (with SOAK_NAMENODES=3, of the leader or of a follower, and
SIGTERM of a member too); bytes flipped in a replica file (at most one replica of a
block); the file system of dn4's data directory (a tmpfs of its own) filled up for a
while; the mount killed (kill -9) and mounted again.

Settings: SOAK_MINUTES (default 3), SOAK_SEED (default: random, printed),
SOAK_NAMENODES (1 or an odd number: a namenode group; default 1), DFS_BIN.
Any failure prints the seed; the same seed replays the same fault schedule (the
interleaving with the workload is the machine's). Exits 0 when every check held, 1
otherwise, 77 when it cannot run here (not root, no /dev/fuse).
"""
import errno
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("DFS_BIN", os.path.join(ROOT, "bin"))
DFS = os.path.join(BIN, "dfs")
MINUTES = float(os.environ.get("SOAK_MINUTES", "3"))
SEED = int(os.environ.get("SOAK_SEED") or random.SystemRandom().randrange(1 << 31))
BLOCK = 1 << 20
NAMENODES = int(os.environ.get("SOAK_NAMENODES", "1"))
FILL_DN = "dn4"           # its data directory is a small file system of its own
FILL_MB = 2048  # room for what dn4 is given; the fault fills the rest


def log(*a):
    print("[soak %6.1fs]" % (time.monotonic() - T0), *a, flush=True)


def content(name, ver, size):
    """The bytes of version ver of file name: SHA-256 in counter mode."""
    out = bytearray()
    h = hashlib.sha256(("%d|%s|%d" % (SEED, name, ver)).encode()).digest()
    while len(out) < size:
        out += h * 256
        h = hashlib.sha256(h).digest()
    return bytes(out[:size])


class Cluster:
    def __init__(self, work):
        self.dir = os.path.join(work, "c")
        self.mnt = os.path.join(self.dir, "mnt")
        self.env = dict(os.environ, DFS_DIR=self.dir, PATH=BIN + ":" + os.environ["PATH"])
        # odd while the mount is being killed and mounted again: a path under mnt may
        # then be the bare directory below it, whose ENOENT proves nothing
        self.epoch = 0

    def dfs(self, *args, timeout=120, check=False, stdin=None):
        p = subprocess.run([DFS, *args], env=self.env, capture_output=True, timeout=timeout,
                           stdin=stdin)
        if check and p.returncode:
            raise RuntimeError("dfs %s: %s" % (" ".join(args), p.stderr.decode().strip()))
        return p

    def up(self):
        # dn4's data directory on a tmpfs of its own, so that filling it up fills no
        # one else's disk (local up takes the empty directory as it finds it)
        fill = os.path.join(self.dir, FILL_DN)
        os.makedirs(fill)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" % FILL_MB, "dfs-soak", fill],
                       check=True)
        self.fill_mount = fill
        self.dfs("local", "up", "-q", "--datanodes", "4", "--namenodes", str(NAMENODES),
                 "-o", "block_size=1M",
                 "-o", "replication=3", "-o", "heartbeat_interval=0.5",
                 "-o", "stale_node_timeout=1.5", "-o", "dead_node_timeout=3",
                 "-o", "scan_period=20", timeout=180, check=True)
        self.refresh()

    def refresh(self):
        self.st = json.loads(self.dfs("local", "status", "--json", check=True).stdout)

    def pid(self, node):
        self.refresh()
        if node == "namenode":
            return self.st["namenode"]["pid"]
        if node.startswith("nn"):
            return [n["pid"] for n in self.st["namenodes"] if n["id"] == node][0]
        return [d["pid"] for d in self.st["datanodes"] if d["id"] == node][0]

    def namenode(self, which):
        """The id of the group member to fault: "leader" or "follower" ("namenode" when
        there is one)."""
        self.refresh()
        if NAMENODES == 1:
            return "namenode"
        lead = self.st["namenode"]["id"]
        if which == "leader":
            return lead
        return sorted(n["id"] for n in self.st["namenodes"] if n["id"] != lead)[0]

    def datanodes(self):
        return [d["id"] for d in self.st["datanodes"]]

    def data_dir(self, node):
        return [d["data_dir"] for d in self.st["datanodes"] if d["id"] == node][0]

    def fuse_pid(self):
        try:
            with open(os.path.join(self.dir, "run", "fuse.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return 0

    def mounted(self):
        with open("/proc/mounts") as f:
            return any(l.split()[1] == self.mnt for l in f)

    def remount(self):
        """After the mount was killed (the caller bumped epoch to odd first)."""
        if self.mounted():
            subprocess.run(["fusermount3", "-u", "-z", self.mnt], capture_output=True)
        p = self.dfs("local", "up", "-q", timeout=120)
        if p.returncode:
            raise RuntimeError("remount: " + p.stderr.decode().strip())

    def report(self):
        p = self.dfs("report", "--json", timeout=20)
        return json.loads(p.stdout) if p.returncode == 0 else None


class History:
    """What was acknowledged, name by name: ("present", ver, size), ("absent",) or
    ("unknown",) after a change whose outcome was not acknowledged either way."""

    def __init__(self):
        self.lock = threading.Lock()
        self.state = {}
        self.busy = set()  # names some worker is changing now
        self.violations = []
        self.counts = {}
        self.errors = {}

    def count(self, what, ok=True):
        with self.lock:
            d = self.counts if ok else self.errors
            d[what] = d.get(what, 0) + 1

    def violate(self, msg):
        with self.lock:
            self.violations.append(msg)
        log("VIOLATION:", msg)

    def set(self, name, st):
        with self.lock:
            self.state[name] = st

    def take(self, rng, want="present"):
        """A name in state want that nobody is changing, marked busy (or None)."""
        with self.lock:
            names = [n for n, s in self.state.items() if s[0] == want and n not in self.busy]
            if not names:
                return None, None
            n = rng.choice(sorted(names))
            self.busy.add(n)
            return n, self.state[n]

    def claim(self, name):
        with self.lock:
            self.busy.add(name)

    def release(self, *names):
        with self.lock:
            for n in names:
                self.busy.discard(n)


def read_all(path):
    with open(path, "rb") as f:
        return f.read()


class MountWorker(threading.Thread):
    """Creates, reads, renames, deletes and stats files under /soak/mK via the mount."""

    def __init__(self, k, cl, h, stop):
        super().__init__(daemon=True)
        self.k, self.cl, self.h, self.stop = k, cl, h, stop
        self.rng = random.Random(SEED * 31 + k)
        self.n = 0

    def steady(self):
        """The mount was the same one, up, all through the operation."""
        return self.epoch % 2 == 0 and self.cl.epoch == self.epoch

    def path(self, name):
        return os.path.join(self.cl.mnt, name.lstrip("/"))

    def run(self):
        d = "/soak/m%d" % self.k
        while not self.stop.is_set():
            try:
                os.makedirs(self.path(d), exist_ok=True)
                break
            except OSError:
                time.sleep(0.5)
        while not self.stop.is_set():
            op = self.rng.choices(["create", "read", "rename", "delete", "stat"],
                                  [4, 5, 1, 1, 2])[0]
            before = sum(self.h.errors.values())
            self.epoch = self.cl.epoch
            try:
                getattr(self, op)(d)
            except Exception as e:  # a bug in the soak itself must not pass silently
                self.h.violate("mount worker %d: %s: %r" % (self.k, op, e))
                time.sleep(1)
            if sum(self.h.errors.values()) > before:
                time.sleep(0.05)  # the mount is away: do not spin

    def create(self, d):
        self.n += 1
        name = "%s/f%05d" % (d, self.n)
        size = self.rng.choice([0, 1, 4096, 70000, BLOCK - 1, BLOCK + 17, 3 * BLOCK + 5])
        data = content(name, 1, size)
        self.h.claim(name)
        self.h.set(name, ("unknown",))
        try:
            fd = os.open(self.path(name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            self.h.set(name, ("present", 1, size))
            self.h.count("mount create")
        except OSError as e:
            self.h.count("mount create: " + errno.errorcode.get(e.errno, str(e.errno)), False)
        finally:
            self.h.release(name)

    def read(self, d):
        name, st = self.h.take(self.rng)
        if not name:
            return
        try:
            got = read_all(self.path(name))
            if got != content(name, st[1], st[2]) and self.steady():
                self.h.violate("read of %s (%d bytes acknowledged) returned %d bytes that "
                               "differ from what was written" % (name, st[2], len(got)))
            self.h.count("mount read")
        except OSError as e:
            if e.errno == errno.ENOENT and self.steady():
                self.h.violate("%s is acknowledged present, open says ENOENT" % name)
            self.h.count("mount read: " + errno.errorcode.get(e.errno, str(e.errno)), False)
        finally:
            self.h.release(name)

    def stat(self, d):
        want = self.rng.choice(["present", "absent"])
        name, st = self.h.take(self.rng, want)
        if not name:
            return
        try:
            s = os.stat(self.path(name))
            if want == "absent" and self.steady():
                self.h.violate("%s is acknowledged removed, stat finds it" % name)
            elif s.st_size != st[2]:
                self.h.violate("%s: size %d, acknowledged %d" % (name, s.st_size, st[2]))
            self.h.count("mount stat")
        except OSError as e:
            if e.errno == errno.ENOENT and want == "present" and self.steady():
                self.h.violate("%s is acknowledged present, stat says ENOENT" % name)
            elif e.errno == errno.ENOENT:
                self.h.count("mount stat")
            else:
                self.h.count("mount stat: " + errno.errorcode.get(e.errno, str(e.errno)), False)
        finally:
            self.h.release(name)

    def rename(self, d):
        name, st = self.h.take(self.rng)
        if not name:
            return
        self.n += 1
        new = "%s/r%05d" % (d, self.n)
        self.h.claim(new)
        self.h.set(name, ("unknown",))
        self.h.set(new, ("unknown",))
        try:
            os.rename(self.path(name), self.path(new))
            self.h.set(name, ("absent",))
            # the content keeps the name it was written under
            self.h.set(new, ("renamed", name, st))
            self.h.count("mount rename")
        except OSError as e:
            self.h.count("mount rename: " + errno.errorcode.get(e.errno, str(e.errno)), False)
        finally:
            self.h.release(name, new)

    def delete(self, d):
        name, st = self.h.take(self.rng)
        if not name:
            return
        self.h.set(name, ("unknown",))
        try:
            os.unlink(self.path(name))
            self.h.set(name, ("absent",))
            self.h.count("mount delete")
        except OSError as e:
            self.h.count("mount delete: " + errno.errorcode.get(e.errno, str(e.errno)), False)
        finally:
            self.h.release(name)


class ToolWorker(threading.Thread):
    """`dfs put` of new files, `dfs get` of acknowledged ones, and grep jobs."""

    def __init__(self, cl, h, stop, work):
        super().__init__(daemon=True)
        self.cl, self.h, self.stop, self.work = cl, h, stop, work
        self.rng = random.Random(SEED * 17 + 5)
        self.n = 0
        self.jobs = 0

    def run(self):
        while not self.stop.is_set():
            op = self.rng.choices(["put", "get", "job"], [4, 4, 1])[0]
            try:
                getattr(self, op)()
            except subprocess.TimeoutExpired:
                self.h.count("tool %s: timeout" % op, False)
            except Exception as e:
                self.h.violate("tool worker: %s: %r" % (op, e))
                time.sleep(1)

    def put(self):
        self.n += 1
        name = "/soak/p/f%05d" % self.n
        size = self.rng.choice([1, 5000, BLOCK, 2 * BLOCK + 3, 5 * BLOCK + 1])
        src = os.path.join(self.work, "put.src")
        with open(src, "wb") as f:
            f.write(content(name, 1, size))
        self.h.set(name, ("unknown",))
        p = self.cl.dfs("put", "-q", src, name, timeout=120)
        if p.returncode == 0:
            self.h.set(name, ("present", 1, size))
            self.h.count("dfs put")
        else:
            self.h.count("dfs put: failed", False)

    def get(self):
        name, st = self.h.take(self.rng)
        if not name:
            return
        dst = os.path.join(self.work, "get.out")
        try:
            if os.path.exists(dst):
                os.unlink(dst)
            p = self.cl.dfs("get", "-q", "-f", name, dst, timeout=120)
            if p.returncode == 0:
                if read_all(dst) != content(name, st[1], st[2]):
                    self.h.violate("dfs get %s returned bytes that differ from what was "
                                   "written" % name)
                self.h.count("dfs get")
            else:
                if b"No such file" in p.stderr or b"not found" in p.stderr:
                    self.h.violate("dfs get %s: %s" % (name, p.stderr.decode().strip()))
                self.h.count("dfs get: failed", False)
        finally:
            self.h.release(name)

    def job(self):
        self.jobs += 1
        out = "/soak/j/out%d" % self.jobs
        needle = "%x" % self.rng.randrange(16 ** 2)
        p = self.cl.dfs("run", "-q", "--input", "/soak/j/in", "--output", out, "--grep", needle,
                        timeout=180)
        if p.returncode:
            self.h.count("job: failed", False)
            return
        local = os.path.join(self.work, "job.out")
        shutil.rmtree(local, ignore_errors=True)
        g = self.cl.dfs("get", "-q", out, local, timeout=120)
        if g.returncode:
            self.h.count("job: output unreadable", False)
            return
        if not os.path.exists(os.path.join(local, "_SUCCESS")):
            self.h.violate("job %s ended well but has no _SUCCESS" % out)
        data = b"".join(read_all(os.path.join(local, n))
                        for n in sorted(os.listdir(local)) if n.startswith("part-"))
        want = b"".join(l + b"\n" for l in JOB_INPUT.split(b"\n") if needle.encode() in l)
        if data != want:
            self.h.violate("job --grep %s: output differs (%d bytes, want %d)" %
                           (needle, len(data), len(want)))
        self.h.count("job")
        self.cl.dfs("rm", "-r", "--skip-trash", out, timeout=60)


JOB_INPUT = b""


class Faults(threading.Thread):
    """The seeded schedule: one node fault at a time, flips and mount kills between."""

    KINDS = ["dn_kill", "dn_stop", "dn_term", "nn_kill", "nn_stop", "nn_term", "flip",
             "disk_fill", "mount_kill"]

    def __init__(self, cl, h, stop, deadline):
        super().__init__(daemon=True)
        self.cl, self.h, self.stop, self.deadline = cl, h, stop, deadline
        self.rng = random.Random(SEED)
        self.done = {}
        self.flipped = set()
        self.plan = []

    def run(self):
        nodes = self.cl.datanodes()
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            # every choice of a fault comes from the seed alone, so a seed replays it
            kind = self.rng.choices(self.KINDS, [3, 3, 2, 1, 1, 1 if NAMENODES > 1 else 0,
                                                  2, 1, 1])[0]
            dur = self.rng.uniform(1.0, 6.0)
            node = self.rng.choice(nodes)
            if kind.startswith("nn_"):
                node = self.cl.namenode(self.rng.choice(["leader", "follower"]))
            gap = self.rng.uniform(1.0, 4.0)
            self.pick = random.Random(self.rng.random())  # what a flip picks
            self.plan.append((kind, node, round(dur, 2)))
            try:
                t = time.monotonic()
                getattr(self, kind)(node, dur)
                self.done[kind] = self.done.get(kind, 0) + 1
                if time.monotonic() - t > dur + 10:
                    log("(%s on %s took %.1fs to do and undo)" % (kind, node, time.monotonic() - t))
            except Exception as e:
                self.h.violate("fault %s on %s could not be done or undone: %r" % (kind, node, e))
            self.stop.wait(gap)

    def sleep(self, s):
        time.sleep(s)  # a fault's length runs out even when the soak is ending

    def dn_kill(self, node, dur):
        log("kill -9", node, "for %.1fs" % dur)
        os.kill(self.cl.pid(node), signal.SIGKILL)
        self.sleep(dur)
        self.cl.dfs("local", "start-node", node, check=True, timeout=120)

    def dn_stop(self, node, dur):
        log("SIGSTOP", node, "for %.1fs" % dur)
        pid = self.cl.pid(node)
        os.kill(pid, signal.SIGSTOP)
        try:
            self.sleep(dur)
        finally:
            os.kill(pid, signal.SIGCONT)

    def dn_term(self, node, dur):
        log("SIGTERM (graceful stop)", node, "for %.1fs" % dur)
        self.cl.dfs("local", "stop-node", node, check=True, timeout=60)
        self.sleep(dur)
        self.cl.dfs("local", "start-node", node, check=True, timeout=120)

    def nn_kill(self, node, dur):
        dur = min(dur, 3) if NAMENODES == 1 else dur
        log("kill -9 %s for %.1fs" % (node, dur))
        os.kill(self.cl.pid(node), signal.SIGKILL)
        self.sleep(dur)
        self.cl.dfs("local", "start-node", node, check=True, timeout=120)

    def nn_term(self, node, dur):
        log("SIGTERM (graceful stop) %s for %.1fs" % (node, dur))
        self.cl.dfs("local", "stop-node", node, check=True, timeout=60)
        self.sleep(dur)
        self.cl.dfs("local", "start-node", node, check=True, timeout=120)

    def nn_stop(self, node, dur):
        dur = min(dur, 3) if NAMENODES == 1 else dur
        log("SIGSTOP %s for %.1fs" % (node, dur))
        pid = self.cl.pid(node)
        os.kill(pid, signal.SIGSTOP)
        try:
            self.sleep(dur)
        finally:
            os.kill(pid, signal.SIGCONT)

    def flip(self, node, dur):
        base = os.path.join(self.cl.data_dir(node), "current")
        files = []
        for dp, _, fs in os.walk(base):
            files += [os.path.join(dp, f) for f in fs
                      if f.startswith("blk_") and not f.endswith(".meta")]
        def size(f):
            try:
                return os.path.getsize(f)
            except OSError:  # deleted meanwhile (the namenode trims replicas)
                return 0
        files = [f for f in sorted(files)
                 if size(f) > 0 and os.path.basename(f).split("_")[1] not in self.flipped]
        if not files:
            return
        f = self.pick.choice(files)
        self.flipped.add(os.path.basename(f).split("_")[1])
        try:
            off = self.pick.randrange(os.path.getsize(f))
            with open(f, "r+b") as fh:
                fh.seek(off)
                b = fh.read(1)
                fh.seek(off)
                fh.write(bytes([b[0] ^ 0xFF]))
        except (FileNotFoundError, IndexError):
            log("the replica to flip on", node, "went meanwhile (deleted): no flip")
            return
        log("flipped a byte of", node, os.path.basename(f), "at", off)

    def disk_fill(self, node, dur):
        """dn4's file system filled to the last byte for a while: writes placed there
        fail (ENOSPC), and the namenode stops placing blocks there."""
        f = os.path.join(self.cl.fill_mount, "filler")
        st = os.statvfs(self.cl.fill_mount)
        free = st.f_bavail * st.f_frsize
        log("fill %s's file system (%d MiB free) for %.1fs" % (FILL_DN, free >> 20, dur))
        try:
            with open(f, "wb") as fh:
                chunk = b"\0" * (1 << 20)
                while True:
                    try:
                        fh.write(chunk)
                        fh.flush()
                    except OSError as e:
                        if e.errno != errno.ENOSPC:
                            raise
                        break
            self.sleep(dur)
        finally:
            try:
                os.unlink(f)
            except FileNotFoundError:
                pass

    def mount_kill(self, node, dur):
        pid = self.cl.fuse_pid()
        if not pid:
            return
        log("kill -9 the mount (dfs-fuse %d), mount again after %.1fs" % (pid, dur))
        self.cl.epoch += 1
        os.kill(pid, signal.SIGKILL)
        try:
            self.sleep(dur)
            self.cl.remount()
        finally:
            time.sleep(0.5)  # operations begun on the bare directory end first
            self.cl.epoch += 1


def wait_healthy(cl, h, seconds):
    """Every datanode live and fsck HEALTHY, polled."""
    end = time.monotonic() + seconds
    last = ""
    while time.monotonic() < end:
        r = cl.report()
        if r and all(d["state"] == "live" for d in r["datanodes"]):
            p = cl.dfs("fsck", "/", timeout=60)
            last = p.stdout.decode()
            if p.returncode == 0 and "HEALTHY" in last:
                return True
        time.sleep(1)
    h.violate("fsck did not end HEALTHY within %ds:\n%s" % (seconds, last[-2000:]))
    return False


def final_check(cl, h):
    """Every name's last acknowledged state, through the mount and through dfs get."""
    checked = 0
    work = tempfile.mkdtemp(prefix="soak-check.")
    try:
        for name, st in sorted(h.state.items()):
            path = os.path.join(cl.mnt, name.lstrip("/"))
            if st[0] == "unknown":
                continue
            if st[0] == "absent":
                if os.path.lexists(path):
                    h.violate("%s: acknowledged removed, still there at the end" % name)
                continue
            if st[0] == "renamed":
                src, st = st[1], st[2]
                want = content(src, st[1], st[2])
            else:
                want = content(name, st[1], st[2])
            try:
                got = read_all(path)
            except OSError as e:
                h.violate("%s: acknowledged, lost at the end (%s)" % (name, e))
                continue
            if got != want:
                h.violate("%s: acknowledged %d bytes, the mount reads %d other bytes" %
                          (name, len(want), len(got)))
            checked += 1
            if checked % 5 == 0:  # a sample through the tool as well
                dst = os.path.join(work, "g")
                p = cl.dfs("get", "-q", "-f", name, dst, timeout=120)
                if p.returncode or read_all(dst) != want:
                    h.violate("%s: dfs get differs at the end: %s" % (name, p.stderr.decode()))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return checked


def main():
    global T0, JOB_INPUT
    T0 = time.monotonic()
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse"):
        print("SKIP soak: needs root and /dev/fuse")
        return 77
    print("soak: seed %d, %.1f minutes (SOAK_SEED=%d replays this schedule)" %
          (SEED, MINUTES, SEED), flush=True)
    work = tempfile.mkdtemp(prefix="dfs-soak.", dir=os.environ.get("DFS_TEST_ROOT"))
    os.chmod(work, 0o755)
    cl = Cluster(work)
    h = History()
    stop = threading.Event()
    faults = None
    try:
        cl.up()
        rng = random.Random(SEED + 99)
        JOB_INPUT = b"\n".join(("%08x %s" % (rng.randrange(1 << 32), "x" * rng.randrange(60)))
                               .encode() for _ in range(60000))
        src = os.path.join(work, "job.in")
        with open(src, "wb") as f:
            f.write(JOB_INPUT + b"\n")
        cl.dfs("mkdir", "-p", "/soak/j", "/soak/p", check=True)
        cl.dfs("put", "-q", src, "/soak/j/in", check=True)
        workers = [MountWorker(k, cl, h, stop) for k in range(2)] + [ToolWorker(cl, h, stop, work)]
        for w in workers:
            w.start()
        deadline = time.monotonic() + MINUTES * 60
        faults = Faults(cl, h, stop, deadline)
        faults.start()
        while time.monotonic() < deadline and faults.is_alive():
            time.sleep(1)
        stop.set()
        faults.join(60)
        for w in workers:
            w.join(240)
        log("faults done; checking")
        if not cl.mounted() or not cl.fuse_pid():
            cl.remount()
        for n in cl.datanodes() + ["nn%d" % k for k in range(1, NAMENODES + 1)
                                   if NAMENODES > 1]:
            cl.dfs("local", "start-node", n, timeout=60)  # a no-op for a running node
        wait_healthy(cl, h, 180)
        checked = final_check(cl, h)
        wait_healthy(cl, h, 60)
    except Exception as e:
        h.violate("the soak itself failed: %r" % e)
        checked = 0
    finally:
        stop.set()
        cl.dfs("local", "down", "-q", timeout=120)
        if os.path.exists(cl.mnt):
            subprocess.run(["fusermount3", "-u", "-z", cl.mnt], capture_output=True)
        if getattr(cl, "fill_mount", None):
            subprocess.run(["umount", "-l", cl.fill_mount], capture_output=True)
    summary = {
        "seed": SEED, "minutes": MINUTES, "namenodes": NAMENODES,
        "faults": faults.done if faults else {},
        "ops": h.counts, "errors": h.errors, "files_checked_at_end": checked,
        "violations": len(h.violations),
    }
    print(json.dumps(summary, indent=1, sort_keys=True))
    if h.violations:
        print("SOAK FAILED with seed %d (replay: SOAK_SEED=%d make soak):" % (SEED, SEED))
        for v in h.violations[:30]:
            print("  " + v)
        print("logs kept in", work)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print("SOAK PASSED (seed %d)" % SEED)
    return 0


if __name__ == "__main__":
    sys.exit(main())
