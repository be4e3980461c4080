#!/usr/bin/env bash
# dfs run beside local grep over the same bytes: SIZE_MB (default 1024) of text in the
# local cluster (3 datanodes, 64 MiB blocks, replication 3), then in one run:
#   grep -c PATTERN FILE          (the file in the local page cache)
#   dfs run --grep PATTERN --count
#   dfs run --grep PATTERN        (matching lines written back as part files)
#   dfs run --regex ERE --count
# Prints seconds, ratios to local grep -c and the node-local share; asserts nothing
# but the counts agreeing. Each figure is the best of RUNS (default 3). (grep writes to
# a file: GNU grep stops at the first match when its output is /dev/null.)
set -eu
BIN=${DFS_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
SIZE_MB=${SIZE_MB:-1024}
RUNS=${RUNS:-3}
T=$(mktemp -d /var/tmp/dfs-bench.XXXXXX)
trap '"$BIN/dfs" local down --dir "$T/c" -q >/dev/null 2>&1; rm -rf "$T"' EXIT
dfs() { "$BIN/dfs" --dir "$T/c" "$@"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'; }

# text: lines of 0-20 words; "needle" in about 1 line in 500
python3 - "$T/seed" <<'PY'
import random, sys
random.seed(11)
words = "the of and to in is was for on that with by as at from his her an be this have".split()
out = []
for i in range(200000):
    w = [random.choice(words) for _ in range(random.randint(0, 20))]
    if random.random() < 0.002:
        w.insert(random.randint(0, len(w)), "needle")
    out.append(" ".join(w))
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
: >"$T/text"
while [ "$(stat -c %s "$T/text")" -lt $((SIZE_MB * 1048576)) ]; do cat "$T/seed" >>"$T/text"; done
truncate -s $((SIZE_MB * 1048576)) "$T/text"
dfs local up -q --no-mount
dfs put "$T/text" /text

best() { sort -n | head -n 1; }
cat "$T/text" >/dev/null # warm, as the datanodes' replicas are after the put
want=$(grep -c needle "$T/text")
for i in $(seq "$RUNS"); do
	a=$(now); grep -c needle "$T/text" >"$T/out"; b=$(now); secs "$a" "$b"
done | best >"$T/local"
for i in $(seq "$RUNS"); do
	a=$(now); got=$(dfs run -q --input /text --output /o/c$i --grep needle --count); b=$(now)
	[ "$got" = "$want" ] || { echo "count mismatch: dfs $got, grep $want" >&2; exit 1; }
	secs "$a" "$b"
done | best >"$T/count"
for i in $(seq "$RUNS"); do
	a=$(now); dfs run -q --input /text --output /o/g$i --grep needle; b=$(now); secs "$a" "$b"
done | best >"$T/grep"
for i in $(seq "$RUNS"); do
	a=$(now); dfs run -q --input /text --output /o/r$i --regex 'ne+dle$' --count >/dev/null; b=$(now)
	secs "$a" "$b"
done | best >"$T/regex"
for i in $(seq "$RUNS"); do
	a=$(now); grep -cE 'ne+dle$' "$T/text" >"$T/out"; b=$(now); secs "$a" "$b"
done | best >"$T/lre"
lre=$(cat "$T/lre")
share=$(dfs job list --json | python3 -c 'import json,sys
d=json.load(sys.stdin); l=sum(j["node_local"] for j in d); r=sum(j["remote"] for j in d)
print("%.1f" % (100.0 * l / max(1, l + r)))')

l=$(cat "$T/local")
printf '%-40s %8s %8s\n' "${SIZE_MB} MiB of text" "seconds" "x local"
printf '%-40s %8s %8s\n' "grep -c needle (local file)" "$l" "1.00"
for row in "dfs run --grep needle --count:$(cat "$T/count")" \
	"dfs run --grep needle (part files):$(cat "$T/grep")"; do
	name=${row%:*}; v=${row##*:}
	printf '%-40s %8s %8s\n' "$name" "$v" "$(awk -v a="$v" -v b="$l" 'BEGIN { printf "%.2f", a / b }')"
done
printf '%-40s %8s %8s\n' "grep -cE 'ne+dle\$' (local file)" "$lre" "1.00"
printf '%-40s %8s %8s\n' "dfs run --regex 'ne+dle\$' --count" "$(cat "$T/regex")" \
	"$(awk -v a="$(cat "$T/regex")" -v b="$lre" 'BEGIN { printf "%.2f", a / b }')"
echo "node-local tasks: ${share}% (target >= 95%); target: within 1.5x of local grep -c"
