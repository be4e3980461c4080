#!/usr/bin/env bash
# Node loss, done for real: kill -9 one datanode of 4 and every block returns to full
# replication by datanode-to-datanode copies, without the dead node; a graceful stop
# waits for maintenance_timeout; a node that returns has its now-excess replicas removed.
source "$(dirname "$0")/../integration/lib.sh"
start_cluster --datanodes 4 -o block_size=1M -o maintenance_timeout=4

head -c 30M /dev/urandom >"$T/f"
dfs put -r 3 "$T/f" /f

healthy() {
	[ "$(dfs report --json | json 'd["under_replicated"], d["missing"]')" = "(0, 0)" ] &&
	[ "$(dfs blocks --json /f | json 'all(len(b["locations"]) == 3 and "'"$1"'" not in b["locations"] for b in d["blocks"])')" = True ]
}
holds() { [ "$(dfs blocks --json /f | json 'sum("'"$1"'" in b["locations"] for b in d["blocks"])')" -gt 0 ]; }

check "dn2 holds some blocks" holds dn2
start=$(date +%s.%N)
check "kill -9 dn2" dfs local stop-node dn2 --kill
check "every block back to 3 live replicas without dn2" wait_for 30 healthy dn2
echo "re-replicated in $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')s"
[ "$(dfs report --json | json '[n["state"] for n in d["datanodes"] if n["id"]=="dn2"][0]')" = dead ] &&
	ok "dn2 reported dead" || fail "dn2 not reported dead"
check "data intact after the loss" bash -c "dfs cat /f | cmp - '$T/f'"

# the node returns: its old replicas make some blocks over-replicated; the excess is
# deleted (from whichever node is fullest), leaving exactly 3 per block, on disk too
check "start dn2 again" dfs local start-node dn2
nblocks=$(dfs blocks --json /f | json 'len(d["blocks"])')
exact3() { [ "$(dfs blocks --json /f | json 'all(len(set(b["locations"])) == 3 for b in d["blocks"])')" = True ] &&
	[ "$(dfs fsck --json / | json 'd["over_replicated"]')" = 0 ]; }
check "excess replicas removed after the node returned" wait_for 20 exact3
on_disk() { [ "$(find "$DFS_DIR"/dn*/current -name 'blk_*' ! -name '*.meta' | wc -l)" = $((3 * nblocks)) ]; }
check "exactly 3 replica files per block on disk" wait_for 20 on_disk
# report's per-node block counts are the block map's: after the loss, the copies and
# the excess deletes they match where `blocks` places the replicas and the datanodes'
# own /metrics; a delete lowers them (the count kept beside the map drifted)
counts_match() {
	dfs report --json >"$T/rep.json" && dfs blocks --json /f >"$T/bl.json" &&
	python3 - "$T/rep.json" "$T/bl.json" "$DFS_DIR" <<'PY'
import json, sys, urllib.request
rep, bl, d = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
st = json.loads(__import__("subprocess").check_output(["dfs", "local", "status", "--json", "--dir", d]))
http = {n["id"]: n["http"] for n in st["datanodes"]}
for n in rep["datanodes"]:
    want = sum(n["id"] in b["locations"] for b in bl["blocks"])
    m = urllib.request.urlopen("http://%s/metrics" % http[n["id"]], timeout=5).read().decode()
    disk = [int(float(l.split()[1])) for l in m.splitlines() if l.startswith("dfs_datanode_blocks ")][0]
    if n["blocks"] != want or disk != want:
        sys.exit("%s: report %d, blocks %d, /metrics %d" % (n["id"], n["blocks"], want, disk))
PY
}
check "per-node block counts match the block map and /metrics" wait_for 20 counts_match
counts_match || cat "$T/rep.json" >&2
head -c 5M /dev/urandom >"$T/g"
dfs put -r 3 "$T/g" /g
total() { dfs report --json | json 'sum(n["blocks"] for n in d["datanodes"])'; }
before=$(total)
dfs rm /g
after=$(total)
[ "$after" = $((before - 15)) ] && ok "a delete lowers the per-node counts ($before -> $after)" ||
	fail "a delete of 5 blocks x 3 moved the per-node counts $before -> $after"

# a graceful stop is maintenance: nothing is copied until maintenance_timeout (4s here)
# (checked by state: every block the node held is still short of a copy once the
# namenode saw it go, and the namenode had not yet given up waiting at that moment)
holder=$(dfs blocks --json /f | json 'd["blocks"][0]["locations"][0]')
held=$(dfs blocks --json /f | json 'sum("'"$holder"'" in b["locations"] for b in d["blocks"])')
state_of() { dfs report --json | json '[n["state"] for n in d["datanodes"] if n["id"]=="'"$1"'"][0]'; }
gone() { [ "$(state_of "$holder")" = maintenance ]; }
check "graceful stop of $holder" dfs local stop-node "$holder"
check "the namenode shows $holder in maintenance" wait_for 30 gone
under=$(dfs report --json | json 'd["under_replicated"]')
if grep -q "datanode '$holder' did not come back within maintenance_timeout" "$DFS_DIR/logs/namenode.log"; then
	fail "maintenance_timeout ran out before the check (too slow a machine for 4 s?)"
elif [ "$under" = "$held" ]; then
	ok "no copies during maintenance ($under blocks short of a copy)"
else
	fail "copies started during maintenance: $under of the $held blocks $holder held are short of a copy"
fi
check "copies after maintenance_timeout" wait_for 30 healthy "$holder"
[ "$(state_of "$holder")" = dead ] && ok "$holder dead after maintenance_timeout" ||
	fail "$holder is '$(state_of "$holder")' after maintenance_timeout, not dead"
check "data intact" bash -c "dfs cat /f | cmp - '$T/f'"

# setrep -w waits until the copies exist (and setrep down removes the excess)
check "start $holder again" dfs local start-node "$holder"
check "setrep -w 4" timeout 60 dfs setrep -w 4 /f
[ "$(dfs blocks --json /f | json 'all(len(set(b["locations"])) == 4 for b in d["blocks"])')" = True ] &&
	ok "every block on 4 nodes after setrep -w 4" || fail "setrep -w 4 returned early"
check "setrep -w 2" timeout 60 dfs setrep -w 2 /f
[ "$(dfs blocks --json /f | json 'all(len(b["locations"]) == 2 for b in d["blocks"])')" = True ] &&
	ok "excess copies removed after setrep 2" || fail "setrep 2 left extra copies"
check "data intact after setrep" bash -c "dfs cat /f | cmp - '$T/f'"
finish
