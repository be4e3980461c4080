#!/usr/bin/env bash
# A datanode killed in the middle of a `put`: the client drops it from the pipeline,
# sends the block again down a pipeline of the survivors, and the file ends with the
# right bytes; once the node is back, re-replication tops every block up again.
source "$(dirname "$0")/../integration/lib.sh"
start_cluster --datanodes 3 -o block_size=4M

head -c 24M /dev/urandom >"$T/a"
head -c 24M /dev/urandom >"$T/b"
cat "$T/a" "$T/b" >"$T/all"
# the writer pauses half way; dn2 (in every pipeline: 3 nodes, replication 3) dies then
{ cat "$T/a"; sleep 1.5; cat "$T/b"; } | dfs put -r 3 - /f &
writer=$!
sleep 0.8
check "kill -9 dn2 during the put" dfs local stop-node dn2 --kill
if wait $writer; then ok "put finished despite the dead datanode"; else fail "put failed"; fi
check "bytes are right" bash -c "dfs cat /f | cmp - '$T/all'"
no_dn2() { [ "$(dfs blocks --json /f | json 'any("dn2" in b["locations"] for b in d["blocks"])')" = False ]; }
check "no block claims the dead node" no_dn2

check "start dn2 again" dfs local start-node dn2
full() { [ "$(dfs blocks --json /f | json 'all(len(set(b["locations"])) == 3 for b in d["blocks"])')" = True ]; }
check "every block back to 3 replicas" wait_for 30 full
check "bytes still right" bash -c "dfs cat /f | cmp - '$T/all'"

# with every node of the cluster gone but one, a replication-3 put still stores the data
check "kill -9 dn3" dfs local stop-node dn3 --kill
check "put at replication 3 with two of three nodes alive" bash -c "dfs put -r 3 '$T/a' /g"
check "and reads back" bash -c "dfs cat /g | cmp - '$T/a'"
finish
