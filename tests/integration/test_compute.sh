#!/usr/bin/env bash
# dfs run on a real local cluster with 256 KiB blocks: filters equal grep -F / grep -E
# (lines across block boundaries, lines longer than a block, no trailing newline, empty
# and many files), a `cat` map gives the input back byte for byte, counts, locality,
# job list/status/kill/logs, the task sandbox, bad inputs, and faults done for real: a
# command failing on one node, a node that is slow (speculation), a datanode killed
# mid-job, and a --no-exec datanode.
source "$(dirname "$0")/lib.sh"
start_cluster -o block_size=256K -o locality_delay=0.5

# ---------- data ----------
python3 - "$T" <<'EOF'
import random, sys, os
t = sys.argv[1]
random.seed(5)
words = ["alpha", "beta", "Gamma", "delta", "needle", "hay", "stack", "x1", "y22"]
with open(f"{t}/big.txt", "w") as f:
    for i in range(30000):
        n = random.choice([0, 1, 3, 8, 20, 60])
        f.write(" ".join(random.choice(words) for _ in range(n)) + "\n")
        if i % 7000 == 3:
            f.write("huge " + "z" * 600000 + " needle inside\n")   # longer than 2 blocks
    f.write("last line has a needle and no newline")
# a file whose lines end exactly at block boundaries
with open(f"{t}/exact.txt", "w") as f:
    line = "q" * 1023 + "\n"
    f.write(line * 1024)
os.makedirs(f"{t}/many")
for k in range(25):
    with open(f"{t}/many/f{k:02d}.txt", "w") as f:
        for i in range(random.randint(0, 400)):
            f.write(f"file {k} line {i} {'needle' if i % 13 == 0 else 'hay'}\n")
open(f"{t}/many/empty.txt", "w").close()
EOF
dfs put "$T/big.txt" /big.txt && dfs put "$T/exact.txt" /exact.txt && dfs put "$T/many" /many ||
	{ fail "put the inputs"; finish; }
dfs mkdir /empty && dfs put - /empty/nothing </dev/null

parts() { dfs cat "$1"/part-* 2>/dev/null; }
last_job() { dfs job list --json | json 'd[-1]["id"]'; }
status() { dfs job status "$1" --json | json "$2"; }

# ---------- filters and maps equal the local tools ----------
check "grep job" dfs run -q --input /big.txt --output /o/grep --grep needle
check "grep output equals grep -F" cmp <(parts /o/grep) <(grep -F needle "$T/big.txt")
id=$(last_job)
total=$(status "$id" 'd["tasks"]["total"]')
[ "$total" -ge 8 ] && ok "one task per block ($total)" || fail "only $total tasks"
[ "$(status "$id" 'd["node_local"] == d["tasks"]["total"] and d["remote"] == 0')" = True ] &&
	ok "every task node-local with free slots" || fail "not all node-local: $(dfs job status "$id" --json)"
check "_SUCCESS written, _temporary gone" bash -c "dfs stat /o/grep/_SUCCESS >/dev/null && ! dfs stat /o/grep/_temporary 2>/dev/null"

check "regex job" dfs run -q --input /big.txt --output /o/re --regex '^(alpha|Gamma) .*(x1|y22)$'
check "regex output equals grep -E" cmp <(parts /o/re) <(grep -E '^(alpha|Gamma) .*(x1|y22)$' "$T/big.txt")
check "inverted, case-blind regex" dfs run -q --input /big.txt --output /o/vi --regex 'gamma|needle' --invert --ignore-case
check "... equals grep -viE" cmp <(parts /o/vi) <(grep -viE 'gamma|needle' "$T/big.txt")
check "case-blind fixed string" dfs run -q --input /big.txt --output /o/ci --grep GAMMA --ignore-case
check "... equals grep -iF" cmp <(parts /o/ci) <(grep -iF GAMMA "$T/big.txt")

n=$(dfs run -q --input /big.txt --output /o/count --grep needle --count | tail -n 1)
[ "$n" = "$(grep -cF needle "$T/big.txt")" ] && ok "--count = grep -c ($n)" || fail "--count gave '$n'"

check "cat map" dfs run -q --input /big.txt --output /o/cat --map cat
check "cat map reproduces the input byte for byte" cmp <(parts /o/cat) "$T/big.txt"
check "cat map, lines ending on block boundaries" dfs run -q --input /exact.txt --output /o/exact --map cat
check "... byte for byte" cmp <(parts /o/exact) "$T/exact.txt"
check "wc -l map" dfs run -q --input /big.txt --output /o/wc --map 'wc -l'
[ "$(parts /o/wc | awk '{s += $1} END {print s}')" = "$(wc -l <"$T/big.txt")" ] &&
	ok "wc -l parts sum to wc -l" || fail "wc -l parts: $(parts /o/wc | tr '\n' ' ')"
check "filter then map" dfs run -q --input /big.txt --output /o/fm --grep needle --map 'tr a-z A-Z'
check "... equals grep | tr" cmp <(parts /o/fm) <(grep -F needle "$T/big.txt" | tr a-z A-Z)

check "a directory of many files (and an empty one)" dfs run -q --input /many --output /o/many --grep needle
check "... equals grep over the files in order" cmp <(parts /o/many) <(cat "$T"/many/*.txt | grep -F needle)
check "several inputs, cat" dfs run -q --input /many/f03.txt /exact.txt --output /o/two --map cat
check "... in input order" cmp <(parts /o/two) <(cat "$T/many/f03.txt" "$T/exact.txt")

check "an empty input: zero tasks" dfs run -q --input /empty --output /o/none --grep x
check "... and still _SUCCESS" dfs stat /o/none/_SUCCESS
[ "$(status "$(last_job)" 'd["tasks"]["total"]')" = 0 ] && ok "no tasks for empty input" || fail "tasks for empty input"

# ---------- two jobs at once share the slots ----------
# the long job holds every slot first; as its tasks end, the slots go to the short one
# (fewest running), which therefore ends while the long one still runs: no time limits
j1=$(dfs run --detach --input /big.txt --output /o/par1 --map 'sleep 3; cat')
j2=$(dfs run --detach --input /big.txt --output /o/par2 --grep needle)
over() { [ "$(status "$1" 'd["state"]')" != running ]; }
check "the short job ends" wait_for 60 over "$j2"
[ "$(status "$j1" 'd["state"]')" = running ] && ok "... while the long one still runs (fair sharing)" ||
	fail "the short job was stuck behind the long one"
check "the long job ends" wait_for 90 over "$j1"
[ "$(status "$j1" 'd["state"]')/$(status "$j2" 'd["state"]')" = succeeded/succeeded ] &&
	ok "both succeeded" || fail "jobs at once: $(status "$j1" 'd["state"]') $(status "$j2" 'd["state"]')"
check "... with their own answers" bash -c "cmp <(dfs cat '/o/par1/part-*') '$T/big.txt' && cmp <(dfs cat '/o/par2/part-*') <(grep -F needle '$T/big.txt')"

# ---------- the task's sandbox ----------
check "environment job" dfs run -q --input /exact.txt --output /o/env --map \
	'echo "$(id -un) $DFS_JOB_ID $DFS_TASK_ID $DFS_NODE_ID $DFS_INPUT_FILE $DFS_BLOCK_OFFSET $PWD"; touch junk'
first=$(dfs cat /o/env/part-00001)
read -r user jid tid nid file off pwd <<<"$first"
[ "$user" = "$( [ "$(id -u)" = 0 ] && echo nobody || id -un)" ] && ok "map runs as $user" || fail "map ran as $user"
[ "$tid" = 00001 ] && [ "$file" = /exact.txt ] && [ "$off" = 262144 ] && [ "$jid" = "$(last_job)" ] &&
	ok "DFS_* environment ($first)" || fail "environment: $first"
[ ! -e "$pwd" ] && ok "scratch directory removed" || fail "scratch $pwd left behind"

# ---------- bad input ----------
expect_error "missing input" "does not exist" dfs run --input /nope --output /o/x --grep a
expect_error "existing output" "already exists" dfs run --input /big.txt --output /o/grep --grep a
check "--overwrite replaces it" dfs run -q --input /many/f01.txt --output /o/grep --grep needle --overwrite
check "... with the new output" cmp <(parts /o/grep) <(grep -F needle "$T/many/f01.txt")
expect_error "nothing to run" "give --map, --grep or --regex" dfs run --input /big.txt --output /o/x
expect_error "--count with --map" "count" dfs run --input /big.txt --output /o/x --map cat --count
expect_error "bad regex" "regular expression" dfs run --input /big.txt --output /o/x --regex 'a(b'
expect_error "output inside the input" "overlaps" dfs run --input /many --output /many/out --grep a
expect_error "a command that always fails" "task 0000.* on node 'dn.*status 3" \
	dfs run --input /big.txt --output /o/fails --map 'echo oh no >&2; exit 3'
dfs run --input /big.txt --output /o/fails --map 'echo oh no >&2; exit 3' 2>&1 | grep -q '^oh no$' &&
	ok "... and shows the command's stderr" || fail "the failed command's stderr is not shown"
check "a failed job leaves no output" bash -c "! dfs stat /o/fails 2>/dev/null"
fid=$(last_job)
[ "$(status "$fid" 'd["state"]')" = failed ] && ok "job status says failed" || fail "state of $fid"
[ "$(dfs job logs "$fid" | grep -c 'oh no')" -ge 4 ] && ok "job logs show the attempts' stderr" ||
	fail "job logs: $(dfs job logs "$fid" | head -5)"
expect_error "status of an unknown job" "no job" dfs job status job_nope
expect_error "logs of an unknown task" "no task" dfs job logs "$fid" 99999

# ---------- detach, list, kill ----------
kid=$(dfs run --detach --input /big.txt --output /o/slow --map 'sleep 60; cat')
[ -n "$kid" ] && ok "--detach prints the id ($kid)" || fail "--detach printed nothing"
running() { [ "$(status "$kid" 'd["tasks"]["running"]')" -gt 0 ]; }
check "its tasks run" wait_for 10 running
check "job list shows it" bash -c "dfs job list | grep -q '$kid.*running'"
check "job kill" dfs job kill "$kid"
[ "$(status "$kid" 'd["state"]')" = killed ] && ok "killed" || fail "not killed"
check "a killed job leaves no output" bash -c "! dfs stat /o/slow 2>/dev/null"
no_sleepers() { ! pgrep -f 'sleep 60; cat' >/dev/null; }
check "its commands are gone from the datanodes" wait_for 10 no_sleepers
expect_error "killing it again" "already ended" dfs job kill "$kid"

# ---------- faults ----------
check "a map that fails on dn2 only" dfs run -q --input /big.txt --output /o/dn2fails \
	--map 'if [ "$DFS_NODE_ID" = dn2 ]; then echo dn2 refuses >&2; exit 1; fi; cat'
check "... gives the right answer" cmp <(parts /o/dn2fails) "$T/big.txt"
j=$(last_job)
[ "$(status "$j" 'd["tasks"]["failed_attempts"]')" -ge 1 ] && ok "its dn2 attempts failed and were retried" ||
	fail "no failed attempts: $(dfs job status "$j" --json)"

# (a sleep of this run's own length, so that another test run's sleeps are not ours)
SLOW=600.$$
check "a map that is slow on dn2 only" dfs run -q --input /big.txt --output /o/slowdn2 \
	--map "if [ \"\$DFS_NODE_ID\" = dn2 ]; then sleep $SLOW; fi; cat"
j=$(last_job)
[ "$(status "$j" 'd["tasks"]["speculative"]')" -ge 1 ] && ok "speculative attempts ran" || fail "no speculation"
# every attempt dn2 got was overtaken by a backup elsewhere (without speculation the job
# would wait out the sleep): none of dn2's succeeded, all were killed
dfs job logs "$j" | grep ' on dn2: ' >"$T/dn2.attempts"
[ -s "$T/dn2.attempts" ] && ! grep -qv ': killed' "$T/dn2.attempts" &&
	ok "the slow node's attempts were overtaken and killed" || fail "dn2: $(cat "$T/dn2.attempts")"
check "... with the right answer" cmp <(parts /o/slowdn2) "$T/big.txt"
no_slow() { ! pgrep -f "sleep $SLOW" >/dev/null; }
check "the losing attempts were killed" wait_for 10 no_slow

jid=$(dfs run --detach --input /big.txt --output /o/kill9 --map 'sleep 2; cat')
busy() { [ "$(status "$jid" 'd["tasks"]["running"]')" -gt 0 ]; }
check "its tasks are running" wait_for 20 busy
check "kill -9 dn3 mid-job" dfs local stop-node dn3 --kill
over() { [ "$(status "$jid" 'd["state"]')" != running ]; }
check "the job ends" wait_for 60 over
[ "$(status "$jid" 'd["state"]')" = succeeded ] && ok "it succeeded without dn3" ||
	fail "job after kill -9: $(dfs job status "$jid" --json)"
check "... with the same output" cmp <(parts /o/kill9) "$T/big.txt"
check "dn3 back" dfs local start-node dn3

# a datanode that runs built-in filters only
nn=$(dfs local status --json | json 'd["namenode"]["addr"]')
"$BIN/dfs-datanode" --namenode "$nn" --data "$T/dn4" --id dn4 --listen 127.0.0.1:0 \
	--key "$DFS_DIR/cluster.key" --no-exec --log "$T/dn4.log" &
dn4=$!
trap 'kill "$dn4" 2>/dev/null; cleanup' EXIT # stopped by pid whatever happens below
up4() { dfs report --json | json '[n["state"] for n in d["datanodes"] if n["id"] == "dn4"][0]' | grep -qx live; }
check "dn4 (--no-exec) joins" wait_for 20 up4
dfs put -r 4 "$T/big.txt" /big4.txt
check "map job with a --no-exec node" dfs run -q --input /big4.txt --output /o/noexec --map cat
check "... right answer" cmp <(parts /o/noexec) "$T/big.txt"
! dfs job logs "$(last_job)" | grep -q ' on dn4:' && ok "no map attempt on dn4" || fail "a map ran on dn4"
check "grep job with a --no-exec node" dfs run -q --input /big4.txt --output /o/noexec2 --grep needle
dfs job logs "$(last_job)" | grep -q ' on dn4:' && ok "filters do run on dn4" || fail "no filter on dn4"
kill "$dn4"; wait "$dn4" 2>/dev/null

check "the cluster is healthy afterwards" bash -c "dfs fsck / >/dev/null"
finish
