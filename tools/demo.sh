#!/usr/bin/env bash
# `make demo`: start the embedded local cluster in ./.dfs, store a generated dataset as
# replicated, checksummed blocks, show where they live, read it back and verify it,
# and run jobs next to the data (a filter and a map command) over it.
set -euo pipefail
BIN=${DFS_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
dfs() { "$BIN/dfs" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
DIR=${DFS_DIR:-$PWD/.dfs}
export DFS_DIR=$DIR
work=$(mktemp -d /tmp/dfs-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT

say "starting a local cluster: 1 namenode + 3 datanodes on 127.0.0.1, state in $DIR"
dfs local up
dfs local status

say "generating a sample dataset (sensor readings, ~40 MiB of CSV)"
awk 'BEGIN { srand(42); for (i = 0; i < 1500000; i++)
	printf "%d,sensor-%02d,%s,%.3f\n", i, i % 97, (i % 5 ? "ok" : "warn"), rand() * 100 }' \
	>"$work/readings.csv"
ls -l "$work/readings.csv"

say "dfs put: 8 MiB blocks, 3 replicas each"
dfs mkdir -p /demo
start=$(date +%s.%N)
dfs put -f -b 8M -r 3 "$work/readings.csv" /demo/readings.csv
end=$(date +%s.%N)
size=$(stat -c %s "$work/readings.csv")
awk -v s="$size" -v a="$start" -v b="$end" 'BEGIN { printf "stored %d bytes in %.2fs (%.0f MB/s)\n", s, b - a, s / (b - a) / 1e6 }'

say "dfs ls -l /demo"
dfs ls -l -h /demo

say "dfs blocks /demo/readings.csv: each block on 3 distinct datanodes"
dfs blocks /demo/readings.csv

say "dfs report"
dfs report -h

say "dfs get: reading it back, every chunk verified against its CRC32C"
dfs get -f /demo/readings.csv "$work/back.csv"
if cmp "$work/readings.csv" "$work/back.csv"; then
	echo "identical: $(sha256sum <"$work/back.csv" | cut -c1-16)... both sides"
else
	echo "MISMATCH" >&2
	exit 1
fi

say "dfs run: a filter job next to the data (one task per block, on a node holding it)"
dfs run --input /demo/readings.csv --output /demo/warnings --grep ',warn,' --overwrite
echo "part files: $(dfs ls /demo/warnings | tr '\n' ' ')"
local_n=$(grep -c ',warn,' "$work/readings.csv")
dfs_n=$(dfs cat '/demo/warnings/part-*' | wc -l)
echo "warn lines: $dfs_n from the job, $local_n from grep on the local copy"
[ "$dfs_n" = "$local_n" ] || { echo "MISMATCH" >&2; exit 1; }

say "dfs run: a map command (awk) on each block: readings per sensor, summed here"
dfs run --input /demo/readings.csv --output /demo/per-sensor --overwrite \
	--map "awk -F, '{ n[\$2]++ } END { for (s in n) print s, n[s] }'"
dfs cat '/demo/per-sensor/part-*' | awk '{ n[$1] += $2 } END { for (s in n) print s, n[s] }' |
	sort | head -5
echo "..."
dfs job list | tail -n 3

MNT=$(dfs local status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["mount"] or "")')
if [ -n "$MNT" ]; then
	say "the same file through the FUSE mount at $MNT"
	ls -l "$MNT/demo"
	head -3 "$MNT/demo/readings.csv"
	echo "warn readings: $(grep -c ',warn,' "$MNT/demo/readings.csv") (grep straight on the mount)"
	cmp "$work/readings.csv" "$MNT/demo/readings.csv" && echo "identical through the mount too"
fi

S3=$(dfs local status --json | python3 -c 'import json,sys; s=json.load(sys.stdin)["s3"]; print("%s %s %s" % (s["addr"], s["access_key"], s["secret_key"]) if s else "")')
if [ -n "$S3" ] && command -v aws >/dev/null; then
	read -r s3addr s3ak s3sk <<<"$S3"
	say "the same data through the S3 gateway at http://$s3addr (aws CLI)"
	s3() { AWS_ACCESS_KEY_ID=$s3ak AWS_SECRET_ACCESS_KEY=$s3sk AWS_DEFAULT_REGION=us-east-1 \
		AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER= \
		aws --endpoint-url "http://$s3addr" "$@"; }
	echo "\$ aws s3 ls s3://demo/"
	s3 s3 ls s3://demo/
	echo "\$ aws s3 cp s3://demo/readings.csv - | head -3"
	{ s3 s3 cp s3://demo/readings.csv - 2>/dev/null || true; } | head -3 # head closes the pipe early
	s3 s3 cp --only-show-errors s3://demo/readings.csv "$work/readings.s3" &&
		cmp "$work/readings.csv" "$work/readings.s3" && echo "identical through S3 too"
elif [ -n "$S3" ]; then
	say "the S3 gateway is at http://${S3%% *} (install awscli to see it read the data here)"
fi

cat <<EOT

The cluster keeps running. Try (from this directory, or with DFS_DIR=$DIR):
  $BIN/dfs ls -l /demo
  $BIN/dfs cat /demo/readings.csv | head
  $BIN/dfs put somefile /demo/
  $BIN/dfs run --input /demo --output /demo-out --regex ',sensor-0[0-9],warn,' --count
  $BIN/dfs job list ; $BIN/dfs job logs JOB_ID
  $BIN/dfs local stop-node dn2      # then read again: the other replicas serve it
  $BIN/dfs local status
  ls $DIR/mnt/demo                  # the mount (when started as root): cp, rsync, vim...
Stop it with:
  $BIN/dfs local down
EOT
