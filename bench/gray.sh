#!/usr/bin/env bash
# Gray-failure benchmark: figures only, no assertions.
#
# A local cluster of 4 datanodes with heartbeat_interval=0.5, stale_node_timeout=1.5 and
# dead_node_timeout=3, mounted. A writer and then a reader move SIZE_MB (default 512)
# through the mount in 1 MiB steps (tests/integration/stallmeter.py), once undisturbed
# and once with a datanode of their transfer SIGSTOPped a moment after they start (it
# stays stopped until they end), at RATE MB/s (default 150) at most. Printed: each run's time, throughput and longest stall
# between two steps. Target: the longest stall with the hang <= stale_node_timeout + 1 s.
# Needs root (the mount, dropping the page cache).
set -u
SIZE_MB=${SIZE_MB:-512}
STALE=${STALE:-1.5}
RATE=${RATE:-150} # MB/s the transfers are held to, so that a hang lands inside them
BIN=${DFS_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
SM="python3 $(cd "$(dirname "$0")/.." && pwd)/tests/integration/stallmeter.py"
export PATH="$BIN:$PATH"
[ "$(id -u)" = 0 ] || { echo "bench/gray.sh: needs root (FUSE)"; exit 0; }
W=$(mktemp -d /tmp/dfs-bench-gray.XXXXXX)
export DFS_DIR=$W/c
stopped=
cleanup() {
	[ -n "$stopped" ] && kill -CONT "$stopped" 2>/dev/null
	dfs local down -q >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT
dfs local up -q --datanodes 4 -o heartbeat_interval=0.5 -o stale_node_timeout="$STALE" \
	-o dead_node_timeout=3 || exit 1
M=$DFS_DIR/mnt
st=$(dfs local status --json)
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print([n['$2'] for n in d['datanodes'] if n['id']=='$1'][0])" <<<"$st"; }
metric() { python3 -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "http://$(field "$1" http)/metrics" |
	awk -v m="$2" '$1 == m { print $2 }'; }
busy() { # a datanode whose METRIC grows within 0.2 s (one python: sampling is quick)
	python3 - "$1" "$st" <<'PY'
import json, sys, time, urllib.request
m, st = sys.argv[1], json.loads(sys.argv[2])
def sample():
    v = {}
    for n in st["datanodes"]:
        for line in urllib.request.urlopen("http://%s/metrics" % n["http"], timeout=5).read().decode().splitlines():
            if line.split(" ")[0] == m:
                v[n["id"]] = float(line.split()[1])
    return v
a = sample(); time.sleep(0.2); b = sample()
grown = [k for k in a if b.get(k, 0) > a[k]]
print(grown[0] if grown else "")
PY
}
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
wait_live() { for _ in $(seq 300); do
	[ "$(dfs report --json | python3 -c 'import json,sys; print(all(n["state"]=="live" for n in json.load(sys.stdin)["datanodes"]))')" = True ] && return
	sleep 0.1; done; }

# run MODE FILE HANG METRIC: prints "seconds MB/s max_stall node"
run() {
	local mode=$1 f=$2 hang=$3 m=$4 node=- out
	rm -f "$W/started"
	[ "$mode" = read ] && drop
	$SM "$mode" "$f" "$SIZE_MB" 5 --rate "$RATE" --started "$W/started" >"$W/out.json" &
	local pid=$!
	if [ "$hang" = 1 ]; then
		while [ ! -e "$W/started" ] && kill -0 $pid 2>/dev/null; do sleep 0.02; done
		node=$(busy "$m")
		if [ -n "$node" ]; then
			stopped=$(field "$node" pid)
			kill -STOP "$stopped"
		fi
	fi
	wait $pid
	[ -n "$stopped" ] && kill -CONT "$stopped" && stopped=
	out=$(cat "$W/out.json")
	python3 -c "import json,sys; r=json.loads(sys.argv[1]); print('%8.2f s %8.0f MB/s %8.2f s  %s%s' % (r['seconds'], r['mib']*1.048576/r['seconds'], r['max_stall'], sys.argv[2], '' if r['ok'] else '  FAILED: '+r.get('error','')))" "$out" "${node:--}"
	wait_live
}

echo "gray failures through the mount: $SIZE_MB MiB, replication 3, stale_node_timeout=${STALE}s"
printf '%-28s %10s %13s %10s  %s\n' "run" "time" "throughput" "max stall" "stopped"
printf '%-28s ' "write, undisturbed"; run write "$M/base" 0 dfs_datanode_bytes_written_total
printf '%-28s ' "write, pipeline node hung"; run write "$M/hung" 1 dfs_datanode_bytes_written_total
printf '%-28s ' "read, undisturbed"; run read "$M/base" 0 dfs_datanode_bytes_read_total
printf '%-28s ' "read, serving node hung"; run read "$M/base" 1 dfs_datanode_bytes_read_total
echo "target: max stall with a hung node <= stale_node_timeout + 1 s = $(python3 -c "print($STALE + 1)") s"
echo "what the mount logged about datanodes:"
grep -h "not using it\|datanode" "$DFS_DIR/logs/fuse.log" | sed 's/^/  /' | tail -20
