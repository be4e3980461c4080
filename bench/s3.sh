#!/usr/bin/env bash
# The S3 gateway beside the dfs tool and the mount, in one run on a fresh local cluster
# (3 datanodes, replication 3, 64 MiB blocks):
#   SIZE_MB (default 1024) up and down: `aws s3 cp` (multipart, 8 MiB parts, 10
#     concurrent) beside `dfs put` / `dfs get` of the same file; ratios S3 / dfs;
#     the gateway's peak RSS while the object goes through (it streams);
#   OBJECTS (default 2000) objects of 4 KiB PUT then GET with `rclone --transfers 8`
#     beside 8 parallel `cp` into and out of the mount (when the mount is up); objects/s.
# Each figure is the best of RUNS (default 2). Asserts only that the bytes agree.
set -eu
BIN=${DFS_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
SIZE_MB=${SIZE_MB:-1024}
OBJECTS=${OBJECTS:-2000}
RUNS=${RUNS:-2}
for c in aws rclone; do command -v $c >/dev/null || { echo "bench/s3.sh: $c is not installed"; exit 0; }; done
T=$(mktemp -d /var/tmp/dfs-bench.XXXXXX)
trap '"$BIN/dfs" local down --dir "$T/c" -q >/dev/null 2>&1; rm -rf "$T"' EXIT
dfs() { "$BIN/dfs" --dir "$T/c" "$@"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'; }
best() { sort -n | head -n 1; }
dfs local up -q
st=$(dfs local status --json)
j() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" <<<"$st"; }
addr=$(j 'd["s3"]["addr"]')
mnt=$(j 'd["mount"] or ""')
pid=$(j 'd["s3"]["pid"]')
export AWS_ACCESS_KEY_ID=$(j 'd["s3"]["access_key"]') AWS_SECRET_ACCESS_KEY=$(j 'd["s3"]["secret_key"]')
export AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=$T/aws.conf AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=
printf '[default]\ns3 =\n  multipart_chunksize = 8MB\n  max_concurrent_requests = 10\n' >"$AWS_CONFIG_FILE"
aws() { command aws --endpoint-url "http://$addr" "$@"; }
head -c $((SIZE_MB * 1048576)) /dev/urandom >"$T/big"
aws s3 mb s3://bench >/dev/null

# peak RSS of the gateway while a command runs
rss_watch() { local peak=0 r; while [ -e "$T/watch" ]; do
	r=$(awk '/VmRSS/ {print $2}' /proc/"$pid"/status 2>/dev/null || echo 0)
	[ "${r:-0}" -gt $peak ] && peak=$r; sleep 0.05; done; echo $peak >"$T/peak"; }
put_s3=() get_s3=() put_dfs=() get_dfs=()
for i in $(seq "$RUNS"); do
	touch "$T/watch"; rss_watch & w=$!
	a=$(now); aws s3 cp --only-show-errors "$T/big" s3://bench/big; b=$(now); put_s3+=("$(secs "$a" "$b")")
	a=$(now); aws s3 cp --only-show-errors s3://bench/big "$T/big.s3"; b=$(now); get_s3+=("$(secs "$a" "$b")")
	rm -f "$T/watch"; wait $w
	cmp -s "$T/big" "$T/big.s3" || { echo "S3 round trip differs"; exit 1; }
	rm -f "$T/big.s3"
	a=$(now); dfs put -q -f "$T/big" /bench/big.dfs; b=$(now); put_dfs+=("$(secs "$a" "$b")")
	a=$(now); dfs get -q /bench/big.dfs "$T/big.dfs"; b=$(now); get_dfs+=("$(secs "$a" "$b")")
	cmp -s "$T/big" "$T/big.dfs" || { echo "dfs round trip differs"; exit 1; }
	rm -f "$T/big.dfs"
done
ps3=$(printf '%s\n' "${put_s3[@]}" | best); gs3=$(printf '%s\n' "${get_s3[@]}" | best)
pd=$(printf '%s\n' "${put_dfs[@]}" | best); gd=$(printf '%s\n' "${get_dfs[@]}" | best)
mbs() { awk -v s="$1" -v m="$SIZE_MB" 'BEGIN { printf "%.0f MB/s", m * 1.048576 / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", b / a }'; }
echo "$SIZE_MB MiB up:   aws s3 cp $ps3 s ($(mbs "$ps3"))   dfs put $pd s ($(mbs "$pd"))   S3/dfs $(ratio "$ps3" "$pd")"
echo "$SIZE_MB MiB down: aws s3 cp $gs3 s ($(mbs "$gs3"))   dfs get $gd s ($(mbs "$gd"))   S3/dfs $(ratio "$gs3" "$gd")"
echo "gateway peak RSS while $SIZE_MB MiB went up and down: $(( $(cat "$T/peak") / 1024 )) MiB"

# small objects
mkdir -p "$T/small"
python3 - "$T/small" "$OBJECTS" <<'PY'
import os, sys
for i in range(int(sys.argv[2])):
    open(os.path.join(sys.argv[1], "o%06d" % i), "wb").write(os.urandom(4096))
PY
export RCLONE_CONFIG=$T/rclone.conf RCLONE_CONFIG_D_TYPE=s3 RCLONE_CONFIG_D_PROVIDER=Other \
	RCLONE_CONFIG_D_ENDPOINT=http://$addr RCLONE_CONFIG_D_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID \
	RCLONE_CONFIG_D_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY RCLONE_CONFIG_D_REGION=us-east-1
: >"$RCLONE_CONFIG"
rcl() { env -u AWS_CA_BUNDLE rclone --transfers 8 --checkers 8 "$@"; }
ops() { awk -v n="$OBJECTS" -v s="$1" 'BEGIN { printf "%.0f objects/s", n / s }'; }
a=$(now); rcl copy "$T/small" d:bench/small; b=$(now); rp=$(secs "$a" "$b")
a=$(now); rcl copy d:bench/small "$T/small.back"; b=$(now); rg=$(secs "$a" "$b")
diff -r "$T/small" "$T/small.back" >/dev/null || { echo "rclone round trip differs"; exit 1; }
line="$OBJECTS x 4 KiB, rclone --transfers 8: PUT $(ops "$rp"), GET $(ops "$rg")"
if [ -n "$mnt" ]; then
	mkdir "$mnt/bench/msmall" "$T/small.mnt"
	a=$(now); ls "$T/small" | xargs -P 8 -n 50 sh -c 'cd "$0" && cp "$@" "'"$mnt"'/bench/msmall/"' "$T/small"; b=$(now); mp=$(secs "$a" "$b")
	a=$(now); ls "$T/small" | xargs -P 8 -n 50 sh -c 'cd "'"$mnt"'/bench/msmall" && cp "$@" "'"$T/small.mnt"'/"' x; b=$(now); mg=$(secs "$a" "$b")
	diff -r "$T/small" "$T/small.mnt" >/dev/null || { echo "mount round trip differs"; exit 1; }
	line="$line;  the mount, 8 parallel cp: PUT $(ops "$mp"), GET $(ops "$mg")"
fi
echo "$line"
