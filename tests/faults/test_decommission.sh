#!/usr/bin/env bash
# Decommission: a datanode being retired gets no new replicas, its blocks are copied to
# the others, it shows 'decommissioned', and it can then be stopped without any block
# falling below its replication. A hung datanode (SIGSTOP) is declared dead after
# dead_node_timeout and its blocks are re-replicated; when it resumes it re-registers.
source "$(dirname "$0")/../integration/lib.sh"
start_cluster --datanodes 4 -o block_size=1M -o dead_node_timeout=2 -o stale_node_timeout=1

head -c 20M /dev/urandom >"$T/f"
dfs put -r 3 "$T/f" /f
check "decommission dn1" dfs admin decommission dn1
state() { dfs report --json | json '[n["state"] for n in d["datanodes"] if n["id"]=="'"$1"'"][0]'; }
done_() { [ "$(state dn1)" = decommissioned ]; }
check "dn1 reaches 'decommissioned'" wait_for 30 done_
safe() { [ "$(dfs blocks --json /f | json 'all(sum(l != "dn1" for l in b["locations"]) >= 3 for b in d["blocks"])')" = True ]; }
check "every block has 3 replicas besides dn1" safe
echo x >"$T/small"
dfs put -r 3 "$T/small" /new
[ "$(dfs blocks --json /new | json '"dn1" in d["blocks"][0]["locations"]')" = False ] &&
	ok "no new replica on the decommissioned node" || fail "a new replica went to dn1"
check "stop dn1" dfs local stop-node dn1 --kill
healthy() { [ "$(dfs fsck --json / | json 'd["under_replicated"] + d["missing"]')" = 0 ]; }
check "nothing under-replicated without dn1" healthy
check "data intact" bash -c "dfs cat /f | cmp - '$T/f'"
check "start dn1 and recommission it" bash -c "dfs local start-node dn1 && dfs admin recommission dn1"
live() { [ "$(state dn1)" = live ]; }
check "dn1 live again" wait_for 20 live

# a hung node: SIGSTOP dn2
pid=$(dfs local status --json | json '[n["pid"] for n in d["datanodes"] if n["id"]=="dn2"][0]')
kill -STOP "$pid"
dead() { [ "$(state dn2)" = dead ]; }
check "a hung dn2 is declared dead after dead_node_timeout" wait_for 20 dead
full() { [ "$(dfs blocks --json /f | json 'all(len([l for l in b["locations"] if l != "dn2"]) >= 3 for b in d["blocks"])')" = True ] && healthy; }
check "its blocks re-replicated" wait_for 30 full
kill -CONT "$pid"
check "dn2 comes back live when it resumes" wait_for 20 bash -c "[ \"\$(dfs report --json | python3 -c 'import json,sys; print([n[\"state\"] for n in json.load(sys.stdin)[\"datanodes\"] if n[\"id\"]==\"dn2\"][0])')\" = live ]"
check "data intact" bash -c "dfs cat /f | cmp - '$T/f'"
finish
