#!/usr/bin/env bash
# MapReduce (dfs run --reduce) beside local baselines over the same bytes, in one run:
# SIZE_MB (default 1024) of text in the local cluster (3 datanodes, 64 MiB blocks,
# replication 3), then
#   word count: dfs run --map 'tr -s " " "\n"' --combine count --reduce count
#     --reducers 2, against a single-process hash count (awk '{c[$1]++}' over the same
#     words) and `tr | LC_ALL=C sort --parallel=2 | uniq -c`;
#   sort: SIZE_MB of 100-byte records with 10-byte random keys, --partition range,
#     output replication 1, against LC_ALL=C sort --parallel=2 -S 50%.
# Prints seconds, the ratios, and the jobs' phases (map phase, the rest), spills and
# shuffle bytes; asserts only that the answers agree. Each figure is the best of RUNS
# (default 1). The sort's baselines are the issue's `LC_ALL=C sort --parallel=2 -S 50%`
# (whole lines) and the stable key sort that gives the job's exact answer
# (`-s -t TAB -k1,1`). BENCH_JOBS="wc sort" (default) picks the jobs.
set -eu
BIN=${DFS_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
SIZE_MB=${SIZE_MB:-1024}
RUNS=${RUNS:-1}
BENCH_JOBS=${BENCH_JOBS:-wc sort}
has_job() { case " $BENCH_JOBS " in *" $1 "*) return 0 ;; esac; return 1; }
T=$(mktemp -d /var/tmp/dfs-bench.XXXXXX)
trap '"$BIN/dfs" local down --dir "$T/c" -q >/dev/null 2>&1; rm -rf "$T"' EXIT
dfs() { "$BIN/dfs" --dir "$T/c" "$@"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
best() { sort -n | head -n 1; }
export LC_ALL=C

# text: lines of 1-20 words from a 5,000-word vocabulary (Zipf-like)
python3 - "$T/seed" <<'PY'
import random, sys
random.seed(7)
vocab = ["w%d" % i for i in range(5000)]
weights = [1.0 / (i + 1) for i in range(5000)]
out = []
for i in range(100000):
    out.append(" ".join(random.choices(vocab, weights, k=random.randint(1, 20))))
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
: >"$T/text"
while [ "$(stat -c %s "$T/text")" -lt $((SIZE_MB * 1048576)) ]; do cat "$T/seed" >>"$T/text"; done
truncate -s $((SIZE_MB * 1048576)) "$T/text"
sed -i '$ d' "$T/text" # no cut last line
# sort records: 10 random key bytes (printable), 89 bytes of payload, '\n'
python3 - "$T/recs" "$SIZE_MB" <<'PY'
import os, random, sys, string
random.seed(3)
n = int(sys.argv[2]) * 1048576 // 100
alpha = (string.ascii_letters + string.digits).encode()
pay = b"x" * 88
with open(sys.argv[1], "wb") as f:
    for _ in range(n // 10000):
        f.write(b"".join(bytes(random.choices(alpha, k=10)) + b"\t" + pay + b"\n"
                         for _ in range(10000)))
PY
dfs local up -q --no-mount
dfs put "$T/text" /text
dfs put "$T/recs" /recs
cat "$T/text" "$T/recs" >/dev/null # warm, as the replicas are after the put

# ---------- word count ----------
if has_job wc; then
for i in $(seq "$RUNS"); do
	a=$(now); tr -s ' ' '\n' <"$T/text" | awk '{c[$1]++} END {for (w in c) print w "\t" c[w]}' >"$T/awk"; b=$(now)
	secs "$a" "$b"
done | best >"$T/t_awk"
for i in $(seq "$RUNS"); do
	a=$(now); tr -s ' ' '\n' <"$T/text" | sort --parallel=2 | uniq -c >"$T/uniq"; b=$(now)
	secs "$a" "$b"
done | best >"$T/t_sort"
for i in $(seq "$RUNS"); do
	a=$(now)
	dfs run -q --input /text --output /o/wc$i --map 'tr -s " " "\n"' --combine count \
		--reduce count --reducers 2
	b=$(now); secs "$a" "$b"
done | best >"$T/t_wc"
cmp <(dfs cat '/o/wc1/part-r-*' | sort) <(sort "$T/awk") ||
	{ echo "word count differs from awk" >&2; exit 1; }
wc_id=$(dfs job list --json | python3 -c 'import json,sys; print([j["id"] for j in json.load(sys.stdin) if j["output"] == "/o/wc1"][0])')
fi

# ---------- sort ----------
if has_job sort; then
for i in $(seq "$RUNS"); do
	a=$(now); sort --parallel=2 -S 50% "$T/recs" >"$T/sorted.lines"; b=$(now)
	secs "$a" "$b"
done | best >"$T/t_gsort_plain"
rm -f "$T/sorted.lines"
for i in $(seq "$RUNS"); do
	a=$(now); sort --parallel=2 -S 50% -s -t$'\t' -k1,1 "$T/recs" >"$T/sorted"; b=$(now)
	secs "$a" "$b"
done | best >"$T/t_gsort"
for i in $(seq "$RUNS"); do
	a=$(now)
	dfs run -q --input /recs --output /o/s$i --reduce cat --reducers 2 --partition range \
		--output-replication 1
	b=$(now); secs "$a" "$b"
done | best >"$T/t_mrsort"
cmp <(dfs cat '/o/s1/part-r-*') "$T/sorted" || { echo "sort differs from GNU sort" >&2; exit 1; }
s_id=$(dfs job list --json | python3 -c 'import json,sys; print([j["id"] for j in json.load(sys.stdin) if j["output"] == "/o/s1"][0])')
fi

counters() {
	dfs job status "$1" --json | python3 -c 'import json,sys
d=json.load(sys.stdin); c=d["counters"]
print("    elapsed %.2f s (maps %.2f s, then %.2f s), peak memory map %.1f MiB / reduce %.1f MiB, map output %d records, spilled %.1f MiB, combine %d -> %d, shuffle %.1f MiB (%.0f%% remote), reduce %d groups / %d records" % (
    d["elapsed"], d["map_elapsed"], d["elapsed"] - d["map_elapsed"],
    d["peak_memory"]["map"] / 1048576.0, d["peak_memory"]["reduce"] / 1048576.0, c["map_output_records"], c["spilled_bytes"] / 1048576.0,
    c["combine_input_records"], c["combine_output_records"], c["shuffle_bytes"] / 1048576.0,
    100.0 * c["shuffle_bytes_remote"] / max(1, c["shuffle_bytes"]), c["reduce_input_groups"],
    c["reduce_input_records"]))'
}
printf '%-58s %8s %8s\n' "${SIZE_MB} MiB" "seconds" "ratio"
if has_job wc; then
printf '%-58s %8s %8s\n' "awk hash count (local, one process)" "$(cat "$T/t_awk")" "1.00"
printf '%-58s %8s %8s\n' "tr | sort --parallel=2 | uniq -c (local)" "$(cat "$T/t_sort")" \
	"$(ratio "$(cat "$T/t_sort")" "$(cat "$T/t_awk")")"
printf '%-58s %8s %8s\n' "dfs run word count (combine count, 2 reducers)" "$(cat "$T/t_wc")" \
	"$(ratio "$(cat "$T/t_wc")" "$(cat "$T/t_awk")")"
counters "$wc_id"
echo "  target: <= 1.00x the awk figure; the sort pipeline $(ratio "$(cat "$T/t_sort")" "$(cat "$T/t_wc")")x slower than dfs (target >= 3x)"
fi
if has_job sort; then
printf '%-58s %8s %8s\n' "sort -S 50% --parallel=2 (local, whole lines)" "$(cat "$T/t_gsort_plain")" "1.00"
printf '%-58s %8s %8s\n' "sort -S 50% --parallel=2 -s -t TAB -k1,1 (local, same answer)" "$(cat "$T/t_gsort")" \
	"$(ratio "$(cat "$T/t_gsort")" "$(cat "$T/t_gsort_plain")")"
printf '%-58s %8s %8s\n' "dfs run --partition range --reduce cat (2 reducers)" "$(cat "$T/t_mrsort")" \
	"$(ratio "$(cat "$T/t_mrsort")" "$(cat "$T/t_gsort_plain")")"
counters "$s_id"
echo "  target: within 1.5x of GNU sort ($(ratio "$(cat "$T/t_mrsort")" "$(cat "$T/t_gsort")")x the key sort)"
fi
