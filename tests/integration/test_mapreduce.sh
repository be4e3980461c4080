#!/usr/bin/env bash
# dfs run --reduce on a real local cluster with 64 KiB blocks and a 64 KiB sort buffer
# (so every map spills many times): word count equals `tr -s ' ' '\n' | LC_ALL=C sort |
# uniq -c` with 1, 3 and 7 reducers, with and without a combiner, built-in and shell
# reducers; `cat` as map and reduce gives each partition sorted and stable (keys with
# no tab, empty values, non-UTF-8 bytes, --key-fields 2); --partition range gives a
# globally sorted whole; built-ins sum/min/max; the
# counters; bad input refused before anything runs; the map outputs removed when jobs
# end; a datanode killed after its maps finished but before the reducers fetched
# (reducers held by the test-only setting test_hold_reduces, the job's state polled):
# its maps run again and the answer is unchanged; the same for a map output corrupted
# on disk (caught by its checksum), a reduce command failing on one node, and a
# reducer's node killed mid-reduce; and slow start (reducers copying while a map runs);
# a command combiner (`uniq -c | awk`, same answer, its counters, its failure named);
# the status page's counters table; each task's peak memory within its bound; a slow
# reducer backed up by LATE on another node (the slow one killed, one part per reducer).
source "$(dirname "$0")/lib.sh"
HOLD=$T/hold-reduces
start_cluster -o block_size=64K -o sort_buffer=64K -o locality_delay=0.2 \
	-o test_hold_reduces="$HOLD"
export LC_ALL=C

# ---------- data ----------
python3 - "$T" <<'EOF'
import random, sys
t = sys.argv[1]
random.seed(15)
words = ["apple", "Banana", "cherry", "d\xe9j\xe0", "x", "y", "zeta", "Zulu", "a-b", "a", "ab"]
with open(f"{t}/words.txt", "w", encoding="latin-1") as f:
    for i in range(40000):
        f.write(" ".join(random.choice(words) for _ in range(random.randint(1, 9))) + "\n")  # no empty line: tr -s would squeeze it locally
# key<TAB>value lines: values record the input position; some lines have no tab, some
# empty values, some three fields; raw non-UTF-8 bytes
with open(f"{t}/kv.txt", "wb") as f:
    keys = [b"k%d" % i for i in range(50)] + [b"\xff\xfe", b"\xc3\xa9", b"", b"K"]
    for i in range(30000):
        k = random.choice(keys)
        r = random.random()
        if r < 0.1:
            f.write(k + b"\n")                                  # no tab
        elif r < 0.2:
            f.write(k + b"\t\n")                                # empty value
        else:
            f.write(k + b"\t%d\t%d\n" % (random.randint(0, 3), i))
with open(f"{t}/nums.txt", "w") as f:
    for i in range(20000):
        f.write("g%d\t%d\n" % (random.randint(0, 30), random.randint(-1000, 1000)))
EOF
dfs put "$T/words.txt" /words.txt && dfs put "$T/kv.txt" /kv.txt && dfs put "$T/nums.txt" /nums.txt ||
	{ fail "put the inputs"; finish; }
nblocks=$(dfs blocks /words.txt --json | json 'len(d["blocks"])')
[ "$nblocks" -ge 8 ] && ok "words.txt has $nblocks blocks" || fail "only $nblocks blocks"

last_job() { dfs job list --json | json 'd[-1]["id"]'; }
status() { dfs job status "$1" --json | json "$2"; }
tr -s ' ' '\n' <"$T/words.txt" | sort | uniq -c >"$T/want.wc"
# built-in `key<TAB>count` lines in uniq -c's layout, sorted like the local answer
as_uniq() { awk -F'\t' '{printf "%7d %s\n", $2, $1}' | sort -k2; }
WANT_SORTED=$(sort -k2 "$T/want.wc" | md5sum)

# ---------- word count ----------
for r in 1 3 7; do
	check "word count, count x $r" dfs run -q --input /words.txt --output /o/wc$r \
		--map 'tr -s " " "\n"' --reduce count --reducers $r
	n=$(dfs ls /o/wc$r | grep -c 'part-r-')
	[ "$n" -eq $r ] && ok "$r part-r files" || fail "$n part-r files for $r reducers"
	[ "$(dfs cat /o/wc$r/part-r-* | as_uniq | md5sum)" = "$WANT_SORTED" ] &&
		ok "... equals tr | sort | uniq -c" || fail "word count x $r differs"
	check "word count, combine count, count x $r" dfs run -q --input /words.txt \
		--output /o/wcc$r --map 'tr -s " " "\n"' --combine count --reduce count --reducers $r
	[ "$(dfs cat /o/wcc$r/part-r-* | as_uniq | md5sum)" = "$WANT_SORTED" ] &&
		ok "... with a combiner, the same" || fail "word count with combiner x $r differs"
	check "word count, reduce 'uniq -c' x $r" dfs run -q --input /words.txt --output /o/wcu$r \
		--map 'tr -s " " "\n"' --reduce 'uniq -c' --reducers $r
	[ "$(dfs cat /o/wcu$r/part-r-* | sort -k2 | md5sum)" = "$WANT_SORTED" ] &&
		ok "... a shell reducer in uniq -c's layout, the same" || fail "uniq -c reducer x $r differs"
done
check "one reducer's output is the local answer byte for byte" \
	cmp <(dfs cat /o/wcu1/part-r-00000) "$T/want.wc"
id=$(dfs job list --json | json '[j["id"] for j in d if j["output"] == "/o/wcc3"][0]')
c=$(dfs job status "$id" --json)
[ "$(json 'd["phase"] == "done" and d["tasks"]["reduce_total"] == 3 and d["tasks"]["reduce_done"] == 3' <<<"$c")" = True ] &&
	ok "status: phase done, 3 of 3 reducers" || fail "status: $c"
[ "$(json 'd["counters"]["map_input_records"] == 40000 and d["counters"]["combine_input_records"] == d["counters"]["map_output_records"] > d["counters"]["combine_output_records"] == d["counters"]["reduce_input_records"] > 0 and d["counters"]["spilled_bytes"] > 0 and d["counters"]["shuffle_bytes"] > 0' <<<"$c")" = True ] &&
	ok "counters add up" || fail "counters: $c"
groups=$(json 'd["counters"]["reduce_input_groups"]' <<<"$c")
[ "$groups" -eq "$(wc -l <"$T/want.wc")" ] && ok "reduce input groups = distinct words" ||
	fail "reduce_input_groups $groups"

# ---------- a command combiner, run on each spill ----------
COMB='uniq -c | awk '\''{printf "%s\t%d\n", $2, $1}'\'
for r in 1 3; do
	check "word count, combine 'uniq -c | awk', sum x $r" dfs run -q --input /words.txt \
		--output /o/wcs$r --map 'tr -s " " "\n"' --combine "$COMB" --reduce sum --reducers $r
	[ "$(dfs cat /o/wcs$r/part-r-* | as_uniq | md5sum)" = "$WANT_SORTED" ] &&
		ok "... a command combiner, the same answer" || fail "word count with a command combiner x $r differs"
done
c=$(dfs job status "$(last_job)" --json)
[ "$(json 'd["counters"]["combine_input_records"] == d["counters"]["map_output_records"] > d["counters"]["combine_output_records"] == d["counters"]["reduce_input_records"] > 0' <<<"$c")" = True ] &&
	ok "... it combined (combine input = map output > combine output = reduce input)" ||
	fail "command combiner counters: $c"
if dfs run -q --input /words.txt --output /o/badcomb --map 'tr -s " " "\n"' \
	--combine 'exit 5' --reduce count 2>"$T/badcomb.err"; then
	fail "a combiner that fails did not fail the job"
else
	grep -q 'combiner' "$T/badcomb.err" && grep -q 'status 5' "$T/badcomb.err" &&
		ok "a combiner that fails fails the job, naming it and its exit status" ||
		fail "combiner failure: $(cat "$T/badcomb.err")"
fi

# ---------- the status page: the MapReduce counters ----------
web=$(dfs local status --json | json 'd["namenode"]["http"]')
mor=$(status "$id" 'd["counters"]["map_output_records"]')
python3 - "http://$web/" "$id" "$mor" <<'PY' &&
import sys, urllib.request
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(s):
        super().__init__(); s.table = None; s.rows = {}; s.row = None; s.cell = None
    def handle_starttag(s, tag, attrs):
        if tag == "table": s.table = dict(attrs).get("id")
        elif tag == "tr": s.row = []
        elif tag in ("td", "th"): s.cell = ""
    def handle_endtag(s, tag):
        if tag in ("td", "th") and s.row is not None: s.row.append(s.cell.strip()); s.cell = None
        elif tag == "tr" and s.row: s.rows.setdefault(s.table, []).append(s.row); s.row = None
    def handle_data(s, d):
        if s.cell is not None: s.cell += d
p = P(); p.feed(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())
rows = p.rows.get("counters", [])
head, body = rows[0], {r[0]: r for r in rows[1:]}
r = body[sys.argv[2]]
sys.exit(0 if r[head.index("phase")] == "done" and r[head.index("reducers done")] == "3/3"
         and r[head.index("map_output_records")] == sys.argv[3] else 1)
PY
	ok "the status page shows the job's phase, reducers and counters" ||
	fail "status page counters for $id (map_output_records $mor)"

# ---------- cat map and reduce: sorted, stable partitions ----------
check "cat | cat x 3" dfs run -q --input /kv.txt --output /o/cat3 --map cat --reduce cat --reducers 3
for p in 0 1 2; do
	dfs cat /o/cat3/part-r-0000$p >"$T/part$p"
	check "part-r-0000$p sorted by key" sort -c -s -t$'\t' -k1,1 "$T/part$p"
done
check "... each a stable sort of its keys (map index, then position)" \
	cmp <(cat "$T"/part[0-2] | sort -s -t$'\t' -k1,1) <(sort -s -t$'\t' -k1,1 "$T/kv.txt")
check "no --map: the input is the map output" dfs run -q --input /kv.txt --output /o/nomap --reduce cat
check "... one partition: the stable sort of the input" \
	cmp <(dfs cat /o/nomap/part-r-00000) <(sort -s -t$'\t' -k1,1 "$T/kv.txt")
check "--key-fields 2 x 3" dfs run -q --input /kv.txt --output /o/kf2 --reduce cat --reducers 3 --key-fields 2
for p in 0 1 2; do
	check "part-r-0000$p sorted by two fields" bash -c \
		"dfs cat /o/kf2/part-r-0000$p | sort -c -s -t\$'\t' -k1,2"
done
check "... and stable" cmp <(dfs cat /o/kf2/part-r-* | sort -s -t$'\t' -k1,2) \
	<(sort -s -t$'\t' -k1,2 "$T/kv.txt")

# ---------- --partition range: the parts in order are globally sorted ----------
check "cat | cat x 4, --partition range" dfs run -q --input /kv.txt --output /o/range \
	--map cat --reduce cat --reducers 4 --partition range
check "... part-r-* in order equal sort -s -t TAB -k1,1" \
	cmp <(dfs cat /o/range/part-r-*) <(sort -s -t$'\t' -k1,1 "$T/kv.txt")
nonempty=$(for p in 0 1 2 3; do dfs cat /o/range/part-r-0000$p | head -c1 | wc -c; done | grep -c 1)
[ "$nonempty" -ge 3 ] && ok "the sample spread the keys ($nonempty of 4 parts used)" ||
	fail "only $nonempty of 4 range parts used"
check "word count, --partition range x 3" dfs run -q --input /words.txt --output /o/wcr \
	--map 'tr -s " " "\n"' --combine count --reduce count --reducers 3 --partition range
check "... globally sorted and equal to uniq -c" cmp <(dfs cat /o/wcr/part-r-* | awk -F'\t' '{printf "%7d %s\n", $2, $1}') "$T/want.wc"
expect_error "--partition range without --reduce" "needs --reduce" \
	dfs run --input /kv.txt --output /o/bad5 --map cat --partition range

# ---------- edges: empty map output, one key with a million values, long keys ----------
check "a map with no output" dfs run -q --input /words.txt --output /o/empty --map true \
	--reduce count --reducers 3
[ -z "$(dfs cat /o/empty/part-r-*)" ] && [ "$(dfs ls /o/empty | grep -c part-r-)" = 3 ] &&
	ok "... three empty part-r files" || fail "empty map output: $(dfs ls /o/empty)"
check "one key, a million values, no combiner" dfs run -q --input /words.txt --output /o/million \
	--map 'awk "{for (i = 0; i < 25; i++) print \"k\t1\"}"' --reduce sum --reducers 2
[ "$(dfs cat /o/million/part-r-*)" = "$(printf 'k\t1000000')" ] && ok "... summed to 1000000" ||
	fail "million: $(dfs cat /o/million/part-r-* | head -c 200)"
check "map output 12x the sort buffer" dfs run -q --input /kv.txt --output /o/x12 \
	--map 'awk "{for (i = 0; i < 12; i++) print}"' --reduce count --reducers 2
id=$(last_job)
sp=$(status "$id" 'd["counters"]["spilled_bytes"]')
nm=$(status "$id" 'd["tasks"]["total"] - d["tasks"]["reduce_total"]')
[ "$sp" -ge $((10 * 65536 * nm)) ] && ok "... spilled $sp bytes over $nm maps (>= 10 sort buffers each)" ||
	fail "spilled only $sp bytes over $nm maps"
pm=$(dfs job status "$id" --json | json 'json.dumps(d["peak_memory"])')
# the bound: the sort buffer plus the record in hand (lines are short here); a reducer
# holds a frame per merged run (fan-in 16 of 64 KiB) and its feed batch
[ "$(json '0 < d["map"] <= 65536 + 4096 and 0 < d["reduce"] <= 17 * 65536 + (256 << 10) + 65536 and d["map_command_rss"] > 0' <<<"$pm")" = True ] &&
	ok "... each task's peak memory within its bound ($pm)" || fail "peak memory: $pm"
dfs job logs "$id" | grep -q '^== task .*, memory [0-9]' &&
	ok "... and in the attempt log" || fail "no memory in the log: $(dfs job logs "$id" | head -3)"
check "... and counted right" cmp <(dfs cat /o/x12/part-r-* | sort) \
	<(cut -f1 "$T/kv.txt" | sort | uniq -c | awk '{printf "%s\t%d\n", $2, 12 * $1}' | sort)
python3 - "$T/long.txt" <<'EOF2'
import sys
with open(sys.argv[1], "w") as f:
    for k in ["b" * 300000, "a" * 200000, "b" * 300000, "short"]:
        f.write(k + "\t1\n")
EOF2
dfs put "$T/long.txt" /long.txt
check "keys longer than the sort buffer" dfs run -q --input /long.txt --output /o/long \
	--reduce count --reducers 2
check "... counted" cmp <(dfs cat /o/long/part-r-* | sort) \
	<(cut -f1 "$T/long.txt" | sort | uniq -c | awk '{print $2 "\t" $1}' | sort)

# ---------- sum, min, max ----------
for b in sum min max; do
	check "reduce $b" dfs run -q --input /nums.txt --output /o/$b --reduce $b --combine $b --reducers 2
done
awk -F'\t' '{s[$1]+=$2; if (!($1 in mn) || $2<mn[$1]) mn[$1]=$2; if (!($1 in mx) || $2>mx[$1]) mx[$1]=$2}
	END {for (k in s) {print k"\t"s[k] >"'"$T"'/want.sum"; print k"\t"mn[k] >"'"$T"'/want.min";
	print k"\t"mx[k] >"'"$T"'/want.max"}}' "$T/nums.txt"
for b in sum min max; do
	check "... $b equals awk" cmp <(dfs cat /o/$b/part-r-* | sort) <(sort "$T/want.$b")
done
expect_error "sum of a value that is not a number fails the job" "not a number" \
	dfs run -q --input /kv.txt --output /o/badsum --reduce sum

# ---------- bad input: a clear error, nothing run ----------
before=$(dfs job list --json | json 'len(d)')
expect_error "--reduce with --reducers 0" "at least one reducer" \
	dfs run --input /words.txt --output /o/bad1 --reduce count --reducers 0
expect_error "an unknown built-in" "unknown built-in" \
	dfs run --input /words.txt --output /o/bad2 --reduce summ
expect_error "an unknown built-in combiner" "unknown built-in combiner" \
	dfs run --input /words.txt --output /o/bad3 --reduce count --combine cnt
expect_error "--key-fields 0" "key-fields 0" \
	dfs run --input /words.txt --output /o/bad4 --reduce count --key-fields 0
expect_error "an existing output directory" "already exists" \
	dfs run --input /words.txt --output /o/wc1 --reduce count
[ "$(dfs job list --json | json 'len(d)')" = "$before" ] && ok "no job ran" || fail "a job ran"
check "no output made" bash -c '! dfs stat /o/bad1 && ! dfs stat /o/bad2 && ! dfs stat /o/bad4' 2>/dev/null
check "... and the earlier output is intact" bash -c "dfs stat /o/wc1/_SUCCESS >/dev/null"

# ---------- scratch removed once jobs end ----------
data_dirs=$(dfs local status --json | json '" ".join(n["data_dir"].split(",")[0] for n in d["datanodes"])')
no_map_outputs() {
	for d in $data_dirs; do
		[ -z "$(find "$d/tasks/shuffle" -type f 2>/dev/null)" ] || return 1
	done
}
check "map outputs removed from every node's scratch when the jobs ended" wait_for 10 no_map_outputs

# ---------- a node dies after its maps finished, before the reducers fetched ----------
touch "$HOLD"
jid=$(dfs run --detach --input /words.txt --output /o/fault --map 'tr -s " " "\n"' \
	--combine count --reduce count --reducers 3)
phase_is() { [ "$(status "$jid" "d['phase']")" = "$1" ]; }
check "maps finished, reducers held" wait_for 60 phase_is reduce
[ "$(status "$jid" 'd["tasks"]["reduce_done"]')" = 0 ] && ok "no reducer ran yet" || fail "a reducer ran"
# a node that holds finished map outputs
victim=$(dfs job logs "$jid" | awk '/^== task .* succeeded/ {print $7; exit}' | tr -d ':')
[ -n "$victim" ] && ok "dn '$victim' holds map outputs" || fail "no finished map in the log"
check "kill -9 $victim" dfs local stop-node "$victim" --kill
# the namenode saw it die: the outputs it held are marked lost, their maps run again
# (phase goes back to map, maybe too briefly to see; the attempt log keeps it)
lost_logged() { dfs job logs "$jid" | grep -q 'output was lost with its node'; }
check "its map outputs are marked lost" wait_for 30 lost_logged
[ "$(status "$jid" 'd["tasks"]["reduce_done"]')" = 0 ] && ok "... before any reducer ran" ||
	fail "a reducer ran before the hold was lifted"
rm -f "$HOLD"
check "the job finishes" wait_for 120 bash -c "[ \"\$(dfs job status $jid --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"state\"])')\" != running ]"
[ "$(status "$jid" 'd["state"]')" = succeeded ] && ok "succeeded without $victim" ||
	fail "job after the kill: $(dfs job status "$jid" --json)"
[ "$(dfs cat /o/fault/part-r-* | as_uniq | md5sum)" = "$WANT_SORTED" ] &&
	ok "... with the same answer" || fail "the answer changed after the node died"
reruns=$(dfs job logs "$jid" | grep -c 'output was lost with its node')
lost_tasks=$(dfs job logs "$jid" | awk '/output was lost with its node/ {print $3}' | sort -u)
again=0
for t in $lost_tasks; do
	dfs job logs "$jid" "$((10#$t))" | grep -q '^== task .* attempt [2-9] .*: succeeded' && again=$((again + 1))
done
[ "$reruns" -ge 1 ] && [ "$again" -eq "$(wc -w <<<"$lost_tasks")" ] &&
	ok "$reruns lost map outputs, each map run again" || fail "lost $reruns, run again $again"
check "restart $victim" dfs local start-node "$victim"
check "... it registers again" wait_for 20 bash -c \
	"dfs report --json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(sum(n[\"state\"] == \"live\" for n in d[\"datanodes\"]) != 3)'"

# ---------- a corrupt map output is caught by its checksum ----------
touch "$HOLD"
jid=$(dfs run --detach --input /words.txt --output /o/corrupt --map 'tr -s " " "\n"' \
	--reduce count --reducers 2)
check "maps finished, reducers held (corrupt)" wait_for 60 phase_is reduce
# a winning map attempt's partition 0 (a losing speculative copy is never read)
victim_file=
while read -r t at node; do
	dir=$(dfs local status --json | json "[n['data_dir'].split(',')[0] for n in d['datanodes'] if n['id'] == '$node'][0]")
	f=$(find "$dir/tasks/shuffle/$jid" -name "m${t}_${at}.p0" -size +1k 2>/dev/null)
	[ -n "$f" ] && { victim_file=$f; break; }
done < <(dfs job logs "$jid" | awk '$1 == "==" && /: succeeded/ {sub(":", "", $7); print $3, $5, $7}')
if [ -n "$victim_file" ]; then
	python3 - "$victim_file" <<'EOF2'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(100); b = f.read(1); f.seek(100); f.write(bytes([b[0] ^ 0x55]))
EOF2
	ok "flipped a byte of $(basename "$victim_file")"
else
	fail "no map output to corrupt"
fi
rm -f "$HOLD"
job_over() { [ "$(status "$1" "d['state']")" != running ]; }
check "the job finishes (corrupt)" wait_for 120 job_over "$jid"
[ "$(status "$jid" 'd["state"]')" = succeeded ] && ok "succeeded" ||
	fail "job with a corrupt map output: $(dfs job status "$jid" --json)"
[ "$(dfs cat /o/corrupt/part-r-* | as_uniq | md5sum)" = "$WANT_SORTED" ] &&
	ok "... with the same answer" || fail "the answer changed with a corrupt map output"
dfs job logs "$jid" | grep -q 'corrupt' && ok "the corruption is in the attempt log" ||
	fail "no corruption logged: $(dfs job logs "$jid" | grep '^==')"

# ---------- a reduce command that fails on one node only ----------
check "reduce failing on dn1 only" dfs run -q --input /words.txt --output /o/failone \
	--map 'tr -s " " "\n"' --reduce 'if [ "$DFS_NODE_ID" = dn1 ]; then exit 3; fi; uniq -c' \
	--reducers 7
[ "$(dfs cat /o/failone/part-r-* | sort -k2 | md5sum)" = "$WANT_SORTED" ] &&
	ok "... the same answer" || fail "the answer changed with a failing reducer"
id=$(last_job)
nm=$(status "$id" 'd["tasks"]["total"] - d["tasks"]["reduce_total"]')
reduce_attempts() { dfs job logs "$1" | awk -v nm="$nm" '$1 == "==" && $3 + 0 >= nm'; }
on_dn1=$(reduce_attempts "$id" | awk '$7 == "dn1:"' | wc -l)
bad_dn1=$(reduce_attempts "$id" | awk '$7 == "dn1:"' | grep -vc 'exit status 3')
[ "$on_dn1" -ge 1 ] && [ "$bad_dn1" -eq 0 ] && ok "$on_dn1 reduce attempts failed on dn1, retried elsewhere" ||
	fail "reduce attempts on dn1: $(dfs job logs "$id" | grep '^==')"

# ---------- a reducer killed mid-way (its node dies) ----------
jid=$(dfs run --detach --input /words.txt --output /o/rkill --map 'tr -s " " "\n"' \
	--reduce 'if [ "$DFS_ATTEMPT$DFS_PARTITION" = 10 ]; then
		while [ -e /proc/$PPID ]; do sleep 0.1; done; exit 1; fi; uniq -c' --reducers 2)
# reduce task 0 (partition 0) is task number nm: its first attempt waits while its
# datanode lives
r0=$(printf '%05d' "$nm")
reducer_running() { dfs job logs "$jid" | grep -q "^== task $r0 attempt 1 on .*: running"; }
check "reducer 0 is running" wait_for 60 reducer_running
rnode=$(dfs job logs "$jid" | awk -v t="$r0" '$3 == t && /: running/ {print $7; exit}' | tr -d ':')
check "kill -9 $rnode, mid-reduce" dfs local stop-node "$rnode" --kill
check "the job finishes (reducer killed)" wait_for 120 job_over "$jid"
[ "$(status "$jid" 'd["state"]')" = succeeded ] && ok "succeeded" ||
	fail "job with a killed reducer: $(dfs job status "$jid" --json)"
[ "$(dfs cat /o/rkill/part-r-* | sort -k2 | md5sum)" = "$WANT_SORTED" ] &&
	ok "... with the same answer" || fail "the answer changed with a killed reducer"
check "restart $rnode" dfs local start-node "$rnode"
check "... it registers again" wait_for 20 bash -c \
	"dfs report --json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(sum(n[\"state\"] == \"live\" for n in d[\"datanodes\"]) != 3)'"

# ---------- a slow reducer: LATE backs it up, the first to finish wins, once ----------
# reducer 1's first attempt sleeps (a sleep of this run's own length, so that another
# test run's sleeps are not ours); without speculation the job would wait it out
SLOW=600.$$
check "a reducer whose first attempt is slow" dfs run -q --input /words.txt --output /o/slowred \
	--map 'tr -s " " "\n"' --reducers 3 \
	--reduce "if [ \"\$DFS_PARTITION\$DFS_ATTEMPT\" = 11 ]; then sleep $SLOW; fi; uniq -c"
id=$(last_job)
nm=$(status "$id" 'd["tasks"]["total"] - d["tasks"]["reduce_total"]')
r1=$(printf '%05d' $((nm + 1)))
dfs job logs "$id" | grep "^== task $r1 " >"$T/red.attempts"
grep -q "^== task $r1 attempt 1 on .*: killed" "$T/red.attempts" &&
	grep -q "^== task $r1 attempt 2 on .*: succeeded.*speculative" "$T/red.attempts" &&
	[ "$(status "$id" 'd["tasks"]["speculative"]')" -ge 1 ] &&
	ok "the slow reducer was overtaken by a speculative attempt and killed" ||
	fail "reducer 1's attempts: $(cat "$T/red.attempts")"
slow_node=$(awk '$5 == "1" {print $7; exit}' "$T/red.attempts" | tr -d ':')
backup_node=$(awk '$5 == "2" {print $7; exit}' "$T/red.attempts" | tr -d ':')
[ -n "$slow_node" ] && [ "$slow_node" != "$backup_node" ] &&
	ok "... the backup ran on another node ($slow_node, then $backup_node)" ||
	fail "backup on the slow node: $(cat "$T/red.attempts")"
[ "$(dfs ls /o/slowred | grep -c 'part-r-')" = 3 ] && ! dfs ls /o/slowred | grep -q _temporary &&
	ok "... exactly one part-r file per reducer, nothing temporary left" ||
	fail "outputs: $(dfs ls /o/slowred)"
[ "$(dfs cat /o/slowred/part-r-* | sort -k2 | md5sum)" = "$WANT_SORTED" ] &&
	ok "... with the same answer" || fail "the answer changed with a slow reducer"
no_slow() { ! pgrep -f "sleep $SLOW" >/dev/null; }
check "the losing reducer's command was killed" wait_for 10 no_slow

# ---------- slow start: reducers run while the last maps do ----------
# map 0 waits until a reduce command has started: the job can only finish if its
# reducers start before every map is done (reduce_slowstart 0.8 of the maps)
marker=/tmp/dfs-slowstart.$$
jid=$(dfs run --detach --input /words.txt --output /o/slow --reducers 2 \
	--map "if [ \"\$DFS_TASK_ID\" = 00000 ]; then while [ ! -e $marker.\$DFS_JOB_ID ]; do sleep 0.05; done; fi; tr -s ' ' '\n'" \
	--reduce "touch $marker.\$DFS_JOB_ID; uniq -c")
check "the job finishes: its reducers started before map 0 ended" wait_for 120 job_over "$jid"
[ "$(status "$jid" 'd["state"]')" = succeeded ] && ok "succeeded" ||
	fail "slow start job: $(dfs job status "$jid" --json)"
[ "$(dfs cat /o/slow/part-r-* | sort -k2 | md5sum)" = "$WANT_SORTED" ] &&
	ok "... with the same answer" || fail "the answer changed with slow start"
rm -f "$marker".*
[ "$(status "$jid" 'd["state"]')" = running ] && dfs job kill "$jid" >/dev/null 2>&1

finish
