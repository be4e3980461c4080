#!/usr/bin/env bash
# Gray failures: a datanode that hangs (SIGSTOP) or whose disk is slow, not one that
# dies. With heartbeat_interval=0.5, stale_node_timeout=1.5 and dead_node_timeout=3 the
# clients learn those settings from the namenode and give up on a silent node after
# about 1.5 s, so every transfer below finishes while the node is STILL stopped (with a
# fixed one-minute deadline, as before, none would within the 30 s allowed here):
#   1. `dfs put`: the middle node of an open pipeline is stopped (placed by state: the
#      writer feeds the put through a FIFO and pauses inside the first block);
#   2. a writer through the mount: a node its pipeline is sending to is stopped;
#   3. a reader through the mount: the node serving its reads is stopped;
#   4. a node whose disk answers each packet 3 s late (test_io_delay): `dfs get` of
#      files stored on every node moves off it and is not slowed by it again;
# every byte is checked, and each client names the node in one log line, not one per
# block. The longest stalls are printed (bench/gray.sh compares them).
source "$(dirname "$0")/../integration/lib.sh"
[ "$(id -u)" = 0 ] && [ -e /dev/fuse ] || skip "needs root and /dev/fuse"
MOUNT=1 start_cluster --datanodes 4 -o block_size=8M -o heartbeat_interval=0.5 \
	-o stale_node_timeout=1.5 -o dead_node_timeout=3
M=$DFS_DIR/mnt
SM="python3 $(dirname "$0")/../integration/stallmeter.py"
CAP=30 # seconds a transfer may take with a node stopped (expected: a few)

st=$(dfs local status --json)
addr_of() { json '[n["addr"] for n in d["datanodes"] if n["id"] == "'"$1"'"][0]' <<<"$st"; }
web_of() { json '[n["http"] for n in d["datanodes"] if n["id"] == "'"$1"'"][0]' <<<"$st"; }
pid_of() { json '[n["pid"] for n in d["datanodes"] if n["id"] == "'"$1"'"][0]' <<<"$st"; }
metric() { python3 -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "http://$(web_of "$1")/metrics" |
	awk -v m="$2" '$1 == m { print $2 }'; }
next_node() { # the datanode that process $1 has an established connection to
	local peers
	peers=$(ss -tnpH state established | awk -v p="pid=$1," 'index($0, p) { print $4 }')
	for dn in dn1 dn2 dn3 dn4; do
		grep -qxF "$(addr_of $dn)" <<<"$peers" && { echo $dn; return 0; }
	done
	return 1
}
# busy METRIC: a datanode whose METRIC grows within 0.3 s (one serving the transfer),
# sampled in one python process so that the hang lands early in the transfer
busy() {
	python3 - "$1" "$st" <<'PY'
import json, sys, time, urllib.request
m, st = sys.argv[1], json.loads(sys.argv[2])
def sample():
    v = {}
    for n in st["datanodes"]:
        body = urllib.request.urlopen("http://%s/metrics" % n["http"], timeout=5).read().decode()
        for line in body.splitlines():
            if line.split(" ")[0] == m:
                v[n["id"]] = float(line.split()[1])
    return v
a = sample(); time.sleep(0.3); b = sample()
grown = sorted((b.get(k, 0) - a[k], k) for k in a if b.get(k, 0) > a[k])
print(grown[-1][1] if grown else "")
PY
}
stopped=
hang() { kill -STOP "$(pid_of "$1")"; stopped=$1; }
resume() { [ -n "$stopped" ] && kill -CONT "$(pid_of "$stopped")"; stopped=; }
trap 'resume; cleanup' EXIT
# wait_done PID: the transfer ends within CAP seconds while the node is stopped
wait_done() {
	local n=$((CAP * 10))
	while is_running "$1" && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
	! is_running "$1"
}
live() { [ "$(dfs report --json | json '[n["state"] for n in d["datanodes"] if n["id"]=="'"$1"'"][0]')" = live ]; }
# hang_during WHAT PID METRIC JSON: stops the datanode whose METRIC grows (the one
# serving PID's transfer, found by state), checks that the transfer finishes while that
# node is stopped and succeeds (its stallmeter JSON is in the file JSON), then resumes
# the node and waits until it is live. Sets node; fails (status 1) if nothing was tested.
hang_during() {
	node=$(busy "$3")
	[ -n "$node" ] || { fail "no datanode was serving $1"; return 1; }
	hang "$node"
	is_running "$2" || fail "$1 ended before $node was stopped: nothing tested"
	wait_done "$2" && ok "$1 finished while $node was stopped" ||
		fail "$1 still waiting ${CAP}s after $node was stopped"
	wait "$2" && ok "$1 succeeded: $(cat "$4")" || fail "$1 failed: $(cat "$4")"
	resume
	check "$node is live again" wait_for 30 live "$node"
}

# ---- 1. dfs put: the middle node of the pipeline hangs
head -c 24M /dev/urandom >"$T/all"
mkfifo "$T/fifo"
dfs put -r 3 - /put <"$T/fifo" 2>"$T/put.err" &
writer=$!
exec 9>"$T/fifo"
head -c 2M "$T/all" >&9 # inside the first block: its pipeline stays open
received() { [ "$(metric "$1" dfs_datanode_bytes_written_total)" -ge $((2 << 20)) ]; }
in_pipeline() { [ "$(for i in 1 2 3 4; do received dn$i && echo; done | wc -l)" -ge 3 ]; }
check "the first 2 MiB reached the whole pipeline" wait_for 30 in_pipeline
first=$(next_node $writer)
middle=$(next_node "$(pid_of "$first")")
echo "pipeline: $first -> $middle"
hang "$middle"
tail -c +$((2 * 1024 * 1024 + 1)) "$T/all" >&9
exec 9>&-
if wait_done $writer; then
	wait $writer && ok "put finished while $middle was stopped" || fail "put failed: $(cat "$T/put.err")"
else
	fail "put still waiting ${CAP}s after $middle was stopped"
fi
grep -q "$middle.*sent no ack\|downstream datanode at $(addr_of "$middle") sent no ack" \
	"$DFS_DIR/logs/$first.log" && ok "$first named the silent node" ||
	fail "$first did not log the silent downstream node"
resume
dfs get /put "$T/put.out" 2>/dev/null && cmp -s "$T/all" "$T/put.out" && ok "put: every byte" ||
	fail "put: the file differs"
check "$middle is live again" wait_for 30 live "$middle"

# ---- 2. a writer through the mount: a pipeline node hangs
$SM write "$M/w" 128 7 --rate 16 --started "$T/w.started" >"$T/w.json" 2>&1 &
writer=$!
check "the mount's writer started" wait_for 30 test -e "$T/w.started"
hang_during "the mount's write" $writer dfs_datanode_bytes_written_total "$T/w.json" &&
	{ $SM read "$M/w" 128 7 >/dev/null && ok "mount write: every byte" || fail "mount write: bytes differ"; }

# ---- 3. a reader through the mount: the serving node hangs
# first the re-replication after case 2 ends: a copy's source counts its bytes as read
total_read() { local t=0 i; for i in 1 2 3 4; do t=$((t + $(metric dn$i dfs_datanode_bytes_read_total))); done; echo $t; }
quiet() { local a; a=$(total_read); sleep 0.5; [ "$(total_read)" = "$a" ]; }
check "fsck HEALTHY after case 2" wait_for 60 eval 'dfs fsck / | grep -q HEALTHY'
check "no datanode is reading (re-replication done)" wait_for 60 quiet
check "a 96 MiB file at replication 3" $SM write "$T/r.src" 96 11
check "put it" dfs put -r 3 "$T/r.src" /r
echo 3 >/proc/sys/vm/drop_caches
$SM read "$M/r" 96 11 --rate 12 --started "$T/r.started" >"$T/r.json" 2>&1 &
reader=$!
check "the mount's reader started" wait_for 30 test -e "$T/r.started"
if hang_during "the mount's read" $reader dfs_datanode_bytes_read_total "$T/r.json"; then
	lines=$(grep -c "datanode '$node'.*not using it" "$DFS_DIR/logs/fuse.log")
	[ "$lines" -ge 1 ] && [ "$lines" -le 3 ] && ok "the mount named $node in $lines line(s)" ||
		fail "the mount logged $node $lines times (want 1..3)"
fi

# ---- 4. a slow disk: readers move off it
for i in 1 2 3 4 5 6; do head -c 3M /dev/urandom >"$T/s$i"; done
for i in 1 2 3 4 5 6; do dfs put -q -r 4 -b 1M "$T/s$i" /s$i || fail "put /s$i"; done
settings=$DFS_DIR/settings
cp "$settings" "$T/settings"
check "stop dn4" dfs local stop-node dn4
echo "test_io_delay=3" >>"$settings"
check "start dn4 with a disk 3 s slow per packet" dfs local start-node dn4
cp "$T/settings" "$settings"
check "dn4 is live again" wait_for 30 live dn4
grep -q "TEST ONLY: test_io_delay" "$DFS_DIR/logs/dn4.log" && ok "dn4 says its disk is slow" ||
	fail "dn4 did not take test_io_delay"
st=$(dfs local status --json)
mkdir -p "$T/got"
# one client for all 18 blocks (each on all four nodes, dn4 among the first at random)
dfs get /s1 /s2 /s3 /s4 /s5 /s6 "$T/got/" >"$T/get.out" 2>"$T/get.err" &
getter=$!
wait_done $getter && wait $getter && ok "get of 18 blocks with dn4 slow" ||
	fail "get with a slow dn4: $(tail -3 "$T/get.err")"
for i in 1 2 3 4 5 6; do cmp -s "$T/s$i" "$T/got/s$i" || fail "/s$i differs"; done
n=$(grep -c "datanode 'dn4'.*not using it" "$T/get.err")
[ "$n" -le 1 ] && ok "the get named dn4 at most once ($n)" || fail "the get named dn4 $n times"
served=$(metric dn4 dfs_datanode_bytes_read_total)
[ "${served:-0}" -le $((2 << 20)) ] && ok "dn4 served $served bytes of 18 MiB" ||
	fail "dn4 served $served bytes: readers did not move off it"

check "fsck HEALTHY" dfs fsck /
finish
