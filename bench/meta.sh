#!/usr/bin/env bash
# Namespace operations per second straight to the namenode (mkdir, create+complete of
# empty files, stat, list, rename, delete) with 1 and with 16 concurrent clients, every
# change durable before it is answered (metadata_sync = always). Then (GROUP=1, the
# default) the same against a group of 3 namenodes on this machine
# (tests/integration/group.sh), where durable means on a majority's Raft log, and the
# ratios group / single side by side. Figures only.
set -eu
BIN=${DFS_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
MB=${METABENCH:-$(cd "$(dirname "$0")/.." && pwd)/build/bench/metabench}
T=$(mktemp -d /tmp/dfs-bench.XXXXXX)
D=$T/g
export PATH="$BIN:$PATH"
source "$(dirname "$0")/../tests/integration/group.sh"
trap 'group_stop 2>/dev/null; "$BIN/dfs" local down --dir "$T/c" -q >/dev/null 2>&1; rm -rf "$T"' EXIT
"$BIN/dfs" local up --dir "$T/c" -q --datanodes 1 --no-mount --no-s3
nn=$(sed -n 's/^namenode = //p' "$T/c/dfs.conf")
echo "namenode $nn, metadata_sync=always (one fsync per loop turn, shared by all clients)"
"$MB" -n "$nn" --key "$T/c/cluster.key" -t 1 -c ${OPS1:-2000} | tee "$T/one1"
"$BIN/dfs" -n "$nn" --key "$T/c/cluster.key" rm -r /bench
"$MB" -n "$nn" --key "$T/c/cluster.key" -t 16 -c ${OPS16:-1000} | tee "$T/one16"
echo "targets with 16 clients: stat >= 50000/s, durable create >= 10000/s"
[ "${GROUP:-1}" = 1 ] || exit 0
"$BIN/dfs" local down --dir "$T/c" -q >/dev/null 2>&1
mkdir -p "$D"
group_start 3 1
for _ in $(seq 300); do
	"$BIN/dfs" -n "$NNS" --key "$D/nn1/cluster.key" ls / >/dev/null 2>&1 && break
	sleep 0.1
done
echo "group of 3 namenodes $NNS (each turn's changes on a majority's Raft log)"
"$MB" -n "$NNS" --key "$D/nn1/cluster.key" -t 1 -c ${OPS1:-2000} | tee "$T/grp1"
"$BIN/dfs" -n "$NNS" --key "$D/nn1/cluster.key" rm -r /bench
"$MB" -n "$NNS" --key "$D/nn1/cluster.key" -t 16 -c ${OPS16:-1000} | tee "$T/grp16"
echo
printf '%-18s %-10s %12s %12s %8s\n' operation clients "1 namenode" "group of 3" ratio
for c in 1 16; do
	join <(sed 's/ (per entry)/_per_entry/' "$T/one$c" | awk '/ops\/s/ {print $1, $4}' | sort) \
		<(sed 's/ (per entry)/_per_entry/' "$T/grp$c" | awk '/ops\/s/ {print $1, $4}' | sort) |
		awk -v c="$c" '{printf "%-18s %-10s %10.0f/s %10.0f/s %7.2fx\n", $1, c, $2, $3, $3 / $2}'
done
echo "target: durable creates with 3 namenodes >= 0.7x of 1"
