#!/usr/bin/env bash
# Namespace operations per second straight to the namenode (mkdir, create+complete of
# empty files, stat, list, rename, delete) with 1 and with 16 concurrent clients, every
# change durable before it is answered (metadata_sync = always). Figures only.
set -eu
BIN=${DFS_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
MB=${METABENCH:-$(cd "$(dirname "$0")/.." && pwd)/build/bench/metabench}
T=$(mktemp -d /tmp/dfs-bench.XXXXXX)
trap '"$BIN/dfs" local down --dir "$T/c" -q >/dev/null 2>&1; rm -rf "$T"' EXIT
"$BIN/dfs" local up --dir "$T/c" -q --datanodes 1
nn=$(sed -n 's/^namenode = //p' "$T/c/dfs.conf")
echo "namenode $nn, metadata_sync=always (one fsync per loop turn, shared by all clients)"
"$MB" -n "$nn" --key "$T/c/cluster.key" -t 1 -c ${OPS1:-2000}
"$BIN/dfs" -n "$nn" --key "$T/c/cluster.key" rm -r /bench
"$MB" -n "$nn" --key "$T/c/cluster.key" -t 16 -c ${OPS16:-1000}
echo "targets with 16 clients: stat >= 50000/s, durable create >= 10000/s"
