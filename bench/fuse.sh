#!/usr/bin/env bash
# FUSE benchmark: figures only, no assertions.
#
#   bench/fuse.sh                 starts a local cluster with its mount and compares a
#                                 local directory, the mount at replication 1 and at 3
#   bench/fuse.sh DIR [DIR...]    measures each directory, ratios to the first
#
# For each directory: sequential write of SIZE_MB (dd, 1 MiB blocks, conv=fsync),
# sequential read (after dropping the page cache, then again warm, then of a file read
# right after it was written), and FILES files of 4 KiB in one directory: create (by one
# process, and by four at once), `ls -l`, read cold, read again warm, delete (by one
# process, and the four processes' files by eight at once) -- each as a
# rate. Dropping caches needs root (otherwise "cold" is warm).
set -u
SIZE_MB=${SIZE_MB:-1024}
FILES=${FILES:-10000}
BIN=${DFS_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
export PATH="$BIN:$PATH"
W=$(mktemp -d /tmp/dfs-bench-fuse.XXXXXX)
STARTED=

cleanup() {
	[ -n "$STARTED" ] && dfs local down --dir "$W/c" -q >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT

drop() { sync; [ "$(id -u)" = 0 ] && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; true; }
now() { date +%s.%N; }
rate() { python3 -c "import sys; print('%.0f' % (float(sys.argv[1]) / (float(sys.argv[3]) - float(sys.argv[2]))))" "$@"; }

# small-file phases in one python process each, so fork/exec is not what is measured
small() { # small PHASE DIR
	python3 - "$1" "$2" "$FILES" <<'PY'
import os, sys
phase, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = os.urandom(4096)
if phase == "create":
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        with open(os.path.join(d, "f%05d" % i), "wb") as f:
            f.write(data)
elif phase == "read":
    for i in range(n):
        with open(os.path.join(d, "f%05d" % i), "rb") as f:
            if len(f.read()) != 4096:
                sys.exit("short read")
elif phase == "delete":
    for i in range(n):
        os.unlink(os.path.join(d, "f%05d" % i))
    os.rmdir(d)
elif phase == "unlink":  # this process's share of d: files i with i % N == K (SHARE=K/N)
    k, parts = map(int, os.environ["SHARE"].split("/"))
    for i in range(k, n, parts):
        os.unlink(os.path.join(d, "f%05d" % i))
PY
}

declare -A R
measure() { # measure LABEL DIR
	local label=$1 d=$2 t0 t1
	mkdir -p "$d"
	t0=$(now); dd if=/dev/zero of="$d/seq" bs=1M count="$SIZE_MB" conv=fsync status=none; t1=$(now)
	R[$label,write]=$(rate $((SIZE_MB * 1048576)) "$t0" "$t1")
	drop
	t0=$(now); dd if="$d/seq" of=/dev/null bs=1M status=none; t1=$(now)
	R[$label,read]=$(rate $((SIZE_MB * 1048576)) "$t0" "$t1")
	t0=$(now); dd if="$d/seq" of=/dev/null bs=1M status=none; t1=$(now)
	R[$label,reread]=$(rate $((SIZE_MB * 1048576)) "$t0" "$t1")
	rm -f "$d/seq"
	# written, then read back at once (what the page cache kept of the writer's data)
	dd if=/dev/zero of="$d/seq" bs=1M count="$SIZE_MB" conv=fsync status=none
	t0=$(now); dd if="$d/seq" of=/dev/null bs=1M status=none; t1=$(now)
	R[$label,afterwrite]=$(rate $((SIZE_MB * 1048576)) "$t0" "$t1")
	rm -f "$d/seq"
	# four processes creating at once, each its share of FILES in its own directory
	t0=$(now)
	for p in 1 2 3 4; do FILES=$((FILES / 4)) small create "$d/par$p" & done
	wait
	t1=$(now)
	R[$label,create4]=$(rate "$FILES" "$t0" "$t1")
	# eight processes deleting those files at once, two in each directory
	t0=$(now)
	for p in 1 2 3 4; do
		for k in 0 1; do SHARE=$k/2 FILES=$((FILES / 4)) small unlink "$d/par$p" & done
	done
	wait
	t1=$(now)
	R[$label,delete8]=$(rate $((FILES / 4 * 4)) "$t0" "$t1")
	rm -rf "$d"/par?
	t0=$(now); small create "$d/small"; t1=$(now); R[$label,create]=$(rate "$FILES" "$t0" "$t1")
	drop
	t0=$(now); ls -l "$d/small" >/dev/null; t1=$(now); R[$label,ls]=$(rate "$FILES" "$t0" "$t1")
	drop
	t0=$(now); small read "$d/small"; t1=$(now); R[$label,readcold]=$(rate "$FILES" "$t0" "$t1")
	# again at once: the page cache holds them (kept, for dfs, while unchanged)
	t0=$(now); small read "$d/small"; t1=$(now); R[$label,readwarm]=$(rate "$FILES" "$t0" "$t1")
	t0=$(now); small delete "$d/small"; t1=$(now); R[$label,delete]=$(rate "$FILES" "$t0" "$t1")
	echo "measured $label ($d)" >&2
}

labels=()
if [ $# -eq 0 ]; then
	dfs local up --dir "$W/c" -q || exit 1
	STARTED=1
	M=$W/c/mnt
	grep -q " $M fuse.dfs " /proc/mounts || { echo "the cluster did not mount (needs root and /dev/fuse)" >&2; exit 1; }
	mkdir -p "$M/r1" "$M/r3"
	setfattr() { python3 -c "import os,sys; os.setxattr(sys.argv[1], 'user.dfs.replication', sys.argv[2].encode())" "$@"; }
	setfattr "$M/r1" 1
	setfattr "$M/r3" 3
	set -- "$W/local" "$M/r1" "$M/r3"
	labels=(local dfs-r1 dfs-r3)
else
	for d in "$@"; do labels+=("$(basename "$d")"); done
fi
i=0
for d in "$@"; do
	measure "${labels[$i]}" "$d"
	i=$((i + 1))
done

base=${labels[0]}
printf '\n%-24s' "($SIZE_MB MiB, $FILES files)"
for l in "${labels[@]}"; do printf '%16s' "$l"; done
[ ${#labels[@]} -gt 1 ] && for l in "${labels[@]:1}"; do printf '%16s' "$l/$base"; done
echo
row() { # row KEY TITLE DIVISOR UNIT
	printf '%-24s' "$2"
	for l in "${labels[@]}"; do
		printf '%16s' "$(python3 -c "print('%.0f %s' % (${R[$l,$1]} / $3, '$4'))")"
	done
	for l in "${labels[@]:1}"; do
		printf '%16s' "$(python3 -c "print('%.2fx' % (${R[$l,$1]} / ${R[$base,$1]}))")"
	done
	echo
}
row write "write (dd, fsync)" 1e6 MB/s
row read "read, cold" 1e6 MB/s
row reread "read, warm" 1e6 MB/s
row afterwrite "read right after write" 1e6 MB/s
row create "create 4K files" 1 /s
row create4 "create, 4 processes" 1 /s
row ls "ls -l" 1 /s
row readwarm "read 4K, warm" 1 /s
row readcold "read 4K, cold" 1 /s
row delete "delete" 1 /s
row delete8 "delete, 8 processes" 1 /s
