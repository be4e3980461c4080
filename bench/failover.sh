#!/usr/bin/env bash
# Failover benchmark: figures only, no assertions.
#
# A group of 3 namenodes (election_timeout ELECTION, default 1 s) and one datanode on
# 127.0.0.1, started by tests/integration/group.sh. A client creates a directory every
# 10 ms (`dfs mkdir`, one process each). TRIALS times (default 10): kill -9 the leader,
# measure the time from the kill to the first create that succeeds after it, and the
# longest gap between two successful creates around it; then start the killed member
# again (it rebuilds its namespace from the log) before the next trial. Printed: each
# trial, then min, median and max of both. Target: median <= 5 s.
# FAULT=stop hangs the leader instead (SIGSTOP), and after the measure lets it go on
# (SIGCONT: it finds itself deposed and runs itself again as a follower).
set -u
TRIALS=${TRIALS:-10}
export FAULT=${FAULT:-kill}
BIN=${DFS_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
export PATH="$BIN:$PATH"
W=$(mktemp -d /tmp/dfs-bench-failover.XXXXXX)
D=$W
source "$(dirname "$0")/../tests/integration/group.sh"
trap 'group_stop; rm -rf "$W"' EXIT
group_start 3 1 || exit 1
export DFS_KEY=$D/nn1/cluster.key DFS_NAMENODE=$NNS NNS RAFT GPS="${GP[*]}"
export GROUP_SH="$(cd "$(dirname "$0")/.." && pwd)/tests/integration/group.sh"
for _ in $(seq 300); do dfs mkdir /warm >/dev/null 2>&1 && break; sleep 0.1; done
python3 - "$D" "$TRIALS" <<'PY'
import os, signal, statistics, subprocess, sys, threading, time
d, trials = sys.argv[1], int(sys.argv[2])
ok_times, started, stop = [], [], False  # each successful create's end and start
def creator():
    i = 0
    while not stop:
        i += 1
        t = time.monotonic()
        if subprocess.run(["dfs", "mkdir", "/c%d" % i], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0:
            started.append(t)
            ok_times.append(time.monotonic())
        time.sleep(0.01)
def leader():
    out = subprocess.run(["bash", "-c", 'source "%s"; D="%s"; group_leader' % (
        os.environ["GROUP_SH"], d)], capture_output=True, text=True).stdout.strip()
    if not out:
        return None, None
    return int(out), int(open("%s/nn%s.pid" % (d, out)).read())
t = threading.Thread(target=creator); t.start()
recover, stall = [], []
for trial in range(trials):
    while len(ok_times) < 20 or time.monotonic() - ok_times[-1] > 0.5:
        time.sleep(0.05)
    k, pid = leader()
    while k is None:
        time.sleep(0.05); k, pid = leader()
    before = len(ok_times)
    t0 = time.monotonic()
    hang = os.environ["FAULT"] == "stop"
    def starts():
        return sum("group: member" in l for l in open("%s/logs/nn%d.log" % (d, k)))
    n0 = starts()
    os.kill(pid, signal.SIGSTOP if hang else signal.SIGKILL)
    # the first create begun after the fault and done (one begun before may have been
    # answered before the fault took hold)
    while not any(b > t0 for b in started[before:]):
        time.sleep(0.01)
    first = min(e for b, e in zip(started[before:], ok_times[before:]) if b > t0)
    time.sleep(0.5)
    gaps = [b - a for a, b in zip(ok_times[before - 1:], ok_times[before:])]
    recover.append(first - t0); stall.append(max(gaps))
    print("trial %2d: %s nn%d; first create after %.2f s, longest stall %.2f s"
          % (trial + 1, "stopped" if hang else "killed", k, first - t0, max(gaps)), flush=True)
    if hang:
        os.kill(pid, signal.SIGCONT)  # it runs itself again as a follower
        end = time.monotonic() + 10
        while starts() == n0 and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(1)
        continue
    subprocess.run(["bash", "-c", 'source "%s"; D="%s"; RAFT="%s"; NNS="%s"; GP=(%s); '
                    'ELECTION="%s"; group_start_nn %d' % (
                        os.environ["GROUP_SH"], d, os.environ["RAFT"], os.environ["NNS"],
                        os.environ["GPS"], os.environ.get("ELECTION", "1"), k)])
    # wait for the member to be back (it rebuilds, then follows)
    while starts() == n0:
        time.sleep(0.05)
    time.sleep(1)
stop = True; t.join()
def mmm(v): return "min %.2f s, median %.2f s, max %.2f s" % (min(v), statistics.median(v), max(v))
print("%s of the leader to the first successful create: " % (
    "SIGSTOP" if os.environ["FAULT"] == "stop" else "kill -9") + mmm(recover))
print("longest stall of a client creating every 10 ms:        " + mmm(stall))
PY
