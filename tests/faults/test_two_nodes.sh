#!/usr/bin/env bash
# Two of five datanodes killed at once: blocks left with one live copy are copied first,
# and every block returns to 3 replicas on the three survivors.
source "$(dirname "$0")/../integration/lib.sh"
start_cluster --datanodes 5 -o block_size=1M

head -c 30M /dev/urandom >"$T/f"
dfs put -r 3 "$T/f" /f
both=$(dfs blocks --json /f | json 'sum("dn1" in b["locations"] and "dn2" in b["locations"] for b in d["blocks"])')
echo "$both blocks have replicas on both dn1 and dn2 (one live copy left after the kill)"
p1=$(dfs local status --json | json '[n["pid"] for n in d["datanodes"] if n["id"]=="dn1"][0]')
p2=$(dfs local status --json | json '[n["pid"] for n in d["datanodes"] if n["id"]=="dn2"][0]')
kill -9 "$p1" "$p2"
healthy() { [ "$(dfs fsck --json / | json 'd["under_replicated"], d["missing"]')" = "(0, 0)" ] &&
	[ "$(dfs blocks --json /f | json 'all(len(set(b["locations"]) - {"dn1", "dn2"}) == 3 for b in d["blocks"])')" = True ]; }
check "every block back to 3 replicas on the survivors" wait_for 60 healthy
check "data intact" bash -c "dfs cat /f | cmp - '$T/f'"
finish
