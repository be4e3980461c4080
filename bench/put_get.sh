#!/usr/bin/env bash
# Streaming put/get on the local cluster (3 datanodes, 64 MiB blocks) beside a local
# copy with fsync of the same file, then the same put -r 3 and get on a TLS cluster
# (`dfs local up --tls`) beside the plaintext figures. Prints MB/s and ratios; asserts
# nothing. TLS=0 skips the TLS part.
set -eu
BIN=${DFS_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
SIZE_MB=${SIZE_MB:-1024}
T=$(mktemp -d /var/tmp/dfs-bench.XXXXXX)
trap '"$BIN/dfs" local down --dir "$T/c" -q >/dev/null 2>&1
      "$BIN/dfs" local down --dir "$T/t" -q >/dev/null 2>&1; rm -rf "$T"' EXIT
dfs() { "$BIN/dfs" --dir "$T/c" "$@"; }
now() { date +%s.%N; }
rate() { awk -v mb="$SIZE_MB" -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", mb * 1.048576 / (b - a) }'; }

head -c "${SIZE_MB}M" /dev/urandom >"$T/src"
sync
dfs local up -q

a=$(now); cp "$T/src" "$T/copy"; sync "$T/copy"; b=$(now)
local_rate=$(rate "$a" "$b"); rm -f "$T/copy"; sync

a=$(now); dfs put -r 1 "$T/src" /r1; b=$(now); r1=$(rate "$a" "$b")
a=$(now); dfs put -r 3 "$T/src" /r3; b=$(now); r3=$(rate "$a" "$b")
a=$(now); dfs get /r3 "$T/back"; b=$(now); g=$(rate "$a" "$b")
cmp "$T/src" "$T/back" || { echo "get returned different bytes" >&2; exit 1; }
rm -f "$T/back"
a=$(now); dfs get /r3 - >/dev/null; b=$(now); gnull=$(rate "$a" "$b")

printf '%-34s %8s %8s\n' "${SIZE_MB} MiB" "MB/s" "ratio"
printf '%-34s %8s %8s\n' "local cp + sync" "$local_rate" "1.00"
for row in "dfs put -r 1:$r1" "dfs put -r 3:$r3" "dfs get (to a local file):$g" "dfs get (to /dev/null):$gnull"; do
	name=${row%:*}; v=${row##*:}
	printf '%-34s %8s %8s\n' "$name" "$v" "$(awk -v a="$v" -v b="$local_rate" 'BEGIN { printf "%.2f", a / b }')"
done
echo "targets: put -r 1 >= 0.6x local, put -r 3 >= 0.3x local, get >= 1000 MB/s"

[ "${TLS:-1}" = 1 ] || exit 0
dfs local down -q >/dev/null
tdfs() { "$BIN/dfs" --dir "$T/t" "$@"; }
tdfs local up -q --tls --no-mount
a=$(now); tdfs put -r 3 "$T/src" /r3; b=$(now); t3=$(rate "$a" "$b")
a=$(now); tdfs get /r3 - >/dev/null; b=$(now); tnull=$(rate "$a" "$b")
tdfs get /r3 - | cmp - "$T/src" || { echo "TLS get returned different bytes" >&2; exit 1; }
printf '\n%-34s %8s %8s %8s\n' "${SIZE_MB} MiB, TLS 1.3 (AES-GCM)" "MB/s" "plain" "ratio"
for row in "dfs put -r 3:$t3:$r3" "dfs get (to /dev/null):$tnull:$gnull"; do
	IFS=: read -r name v p <<<"$row"
	printf '%-34s %8s %8s %8s\n' "$name" "$v" "$p" "$(awk -v a="$v" -v b="$p" 'BEGIN { printf "%.2f", a / b }')"
done
