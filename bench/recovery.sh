#!/usr/bin/env bash
# Recovery speed: 4 datanodes, SIZE_MB (default 1024) MiB at replication 3; kill -9 one
# datanode, then (second round) SIGSTOP one; prints the seconds from the fault to full
# replication and the copy rate, beside the loopback TCP rate measured in the same run.
set -eu
BIN=${DFS_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
SIZE_MB=${SIZE_MB:-1024}
T=$(mktemp -d /var/tmp/dfs-bench.XXXXXX)
stopped=""
cleanup() {
	[ -n "$stopped" ] && kill -CONT "$stopped" 2>/dev/null
	"$BIN/dfs" local down --dir "$T/c" -q >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
dfs() { "$BIN/dfs" --dir "$T/c" "$@"; }
now() { date +%s.%N; }
healthy() { [ "$(dfs report --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["under_replicated"] + d["missing"])')" = 0 ]; }
held_by() { dfs report --json | python3 -c "import json,sys; d=json.load(sys.stdin); print([n['used'] for n in d['datanodes'] if n['id']=='$1'][0])"; }

loopback=$(python3 - <<'PY'
import socket, threading, time
N = 1 << 30
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
def sink():
    c, _ = srv.accept(); left = N
    while left > 0:
        left -= len(c.recv(1 << 20))
t = threading.Thread(target=sink); t.start()
s = socket.create_connection(srv.getsockname()); buf = b"\0" * (1 << 20)
t0 = time.time()
for _ in range(N >> 20):
    s.sendall(buf)
t.join(); print("%.0f" % (N / (time.time() - t0) / 1e6))
PY
)

dfs local up -q --datanodes 4
head -c "${SIZE_MB}M" /dev/urandom >"$T/src"
dfs put -r 3 "$T/src" /data
rm -f "$T/src"

round() { # $1 = how, $2 = node
	local bytes start end
	bytes=$(held_by "$2")
	start=$(now)
	if [ "$1" = kill ]; then dfs local stop-node "$2" --kill; else
		stopped=$(dfs local status --json | python3 -c "import json,sys; d=json.load(sys.stdin); print([n['pid'] for n in d['datanodes'] if n['id']=='$2'][0])")
		kill -STOP "$stopped"
	fi
	# healthy again only counts once the namenode has given the node up
	until [ "$(dfs report --json | python3 -c "import json,sys; d=json.load(sys.stdin); print([n['state'] for n in d['datanodes'] if n['id']=='$2'][0])")" = dead ] && healthy; do
		sleep 0.05
	done
	end=$(now)
	awk -v a="$start" -v b="$end" -v n="$bytes" -v how="$1" -v lo="$loopback" 'BEGIN {
		printf "%-12s %8.2f s %10.0f MB %8.0f MB/s   (loopback TCP %s MB/s)\n", how, b - a, n / 1e6, n / 1e6 / (b - a), lo }'
}
printf '%-12s %10s %13s %13s\n' "fault" "to healthy" "re-copied" "copy rate"
round kill dn2
dfs local start-node dn2 >/dev/null
until [ "$(dfs report --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(n["state"]=="live" for n in d["datanodes"]))')" = 4 ]; do sleep 0.1; done
sleep 2 # excess replicas on the returning node are removed
round sigstop dn3
echo "targets: kill -9 within 1.5 s; SIGSTOP within dead_node_timeout (10 s) + 1.5 s"
