#!/usr/bin/env bash
# kill -9 of the namenode group's leader in the middle of real work: a `cp -r` of a tree
# of small files into the mount, a `dfs put` of a large file, and a `dfs run` job over a
# file written before. Each finishes without an error under the next leader, and what
# it wrote is exact: the tree compares equal, the file reads back, the job's output is
# grep's. (The mount's small files are deferred creates: one in flight at the kill is
# made again by its close, CN_RECREATE.)
source "$(dirname "$0")/../integration/lib.sh"
[ -c /dev/fuse ] && [ "$(id -u)" = 0 ] || skip "needs root and /dev/fuse"
MOUNT=1 start_cluster --namenodes 3 -o block_size=1M
M=$DFS_DIR/mnt
python3 - "$T/tree" <<'PY'
import os, random, sys
r = random.Random(7)
for d in range(12):
    os.makedirs(os.path.join(sys.argv[1], "d%02d" % d))
    for f in range(120):
        with open(os.path.join(sys.argv[1], "d%02d" % d, "f%03d" % f), "wb") as o:
            o.write(r.randbytes(r.randint(0, 8192)))
with open(os.path.join(sys.argv[1], "big.bin"), "wb") as o:
    o.write(r.randbytes(6 << 20))
PY
head -c 120000000 /dev/urandom >"$T/big"
python3 -c "
import random
r = random.Random(3)
with open('$T/text', 'w') as o:
    for i in range(400000):
        o.write('line %d %s\n' % (i, 'needle' if r.random() < 0.01 else 'hay'))"
check "the job's input, written before" dfs put "$T/text" /text
leader=$(dfs local status --json | json 'd["namenode"]["id"]')

cp -r "$T/tree" "$M/tree" 2>"$T/cp.err" &
cpid=$!
# the kill comes once the copy is well under way, with the put and the job running
check "the copy is under way" wait_for 60 bash -c \
	"[ \$(find '$M/tree' -type f 2>/dev/null | wc -l) -ge 300 ]"
dfs put "$T/big" /big 2>"$T/put.err" &
ppid=$!
dfs run -q --input /text --output /out --grep needle >"$T/run.out" 2>"$T/run.err" &
rpid=$!
wait_for 10 bash -c "[ \$(dfs ls / 2>/dev/null | grep -c '^/big') -ge 1 ]" # (the put began)
running=""
for p in $cpid $ppid $rpid; do kill -0 $p 2>/dev/null && running="$running $p"; done
check "kill -9 the leader ($leader) mid-work" dfs local stop-node "$leader" --kill -q
echo "(at the kill, still running: cp=$(kill -0 $cpid 2>/dev/null && echo y) of$running)"
wait $cpid && ok "cp -r finished without an error" || fail "cp -r: $(head -5 "$T/cp.err")"
wait $ppid && ok "dfs put finished without an error" || fail "dfs put: $(cat "$T/put.err")"
wait $rpid && ok "dfs run finished without an error" || fail "dfs run: $(cat "$T/run.err")"
new=$(dfs local status --json | json 'd["namenode"]["id"]')
[ "$new" != "$leader" ] && ok "$new leads now" || fail "the leader is still $leader"
check "the tree is exact" diff -r "$T/tree" "$M/tree"
check "... and so on the datanodes" bash -c "dfs get /tree/big.bin - | cmp - '$T/tree/big.bin'"
check "the put file is exact" bash -c "dfs get /big - | cmp - '$T/big'"
check "the job's output is grep's" bash -c \
	"cmp <(dfs cat /out/part-* | sort) <(grep -F needle '$T/text' | sort)"
check "the killed member comes back" dfs local start-node "$leader" -q
check "fsck is healthy" dfs fsck -q /
finish
