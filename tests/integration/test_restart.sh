#!/usr/bin/env bash
# Durability and restarts: every acknowledged namespace change survives kill -9 of the
# namenode; datanodes re-register and report their blocks; `dfs local up` on a stopped
# cluster brings it back on the same ports with its data.
source "$(dirname "$0")/lib.sh"
start_cluster -o block_size=1M

head -c 7M /dev/urandom >"$T/a"
dfs mkdir -p /keep/dir
dfs put "$T/a" /keep/a
for i in $(seq 1 50); do echo "$i" | dfs put - /keep/dir/f$i || fail "put f$i"; done
dfs mv /keep/dir/f1 /keep/dir/renamed
dfs rm /keep/dir/f2
before=$(dfs ls -R /keep | sort)

nn_pid=$(dfs local status --json | json 'd["namenode"]["pid"]')
nn_addr=$(dfs local status --json | json 'd["namenode"]["addr"]')
check "kill -9 the namenode" dfs local stop-node namenode --kill
not_running() { ! is_running "$1"; }
check "namenode process is gone" not_running "$nn_pid"
check "start the namenode again" dfs local start-node namenode
[ "$(dfs local status --json | json 'd["namenode"]["addr"]')" = "$nn_addr" ] &&
	ok "namenode back on the same address" || fail "namenode address changed"
after=$(dfs ls -R /keep | sort)
[ "$before" = "$after" ] && ok "namespace identical after kill -9" || fail "namespace differs: $(diff <(echo "$before") <(echo "$after"))"
check "deleted file stays deleted" bash -c "! dfs stat /keep/dir/f2 2>/dev/null"

# datanodes reconnect and report: the data is readable again
all_report() { [ "$(dfs report --json | json 'sum(n["state"]=="live" and n["blocks"]>0 for n in d["datanodes"])')" = 3 ]; }
check "datanodes re-registered with their blocks" wait_for 10 all_report
check "renamed file kept its content" bash -c "[ \"\$(dfs cat /keep/dir/renamed)\" = 1 ]"
check "file readable after namenode restart" bash -c "dfs cat /keep/a | cmp - '$T/a'"
check "new writes after restart" bash -c "echo new | dfs put - /keep/new && [ \"\$(dfs cat /keep/new)\" = new ]"

# a datanode stopped and started keeps its id, address and blocks
dn_addr=$(dfs local status --json | json 'd["datanodes"][1]["addr"]')
check "stop dn2" dfs local stop-node dn2
[ "$(dfs report --json | json '[n["state"] for n in d["datanodes"] if n["id"]=="dn2"][0]')" != live ] &&
	ok "namenode noticed dn2 left" || fail "dn2 still live"
check "read with dn2 down" bash -c "dfs cat /keep/a | cmp - '$T/a'"
check "start dn2" dfs local start-node dn2
[ "$(dfs local status --json | json 'd["datanodes"][1]["addr"]')" = "$dn_addr" ] &&
	ok "dn2 back on the same address" || fail "dn2 address changed"

# the whole cluster down and up again
check "local down" dfs local down
[ "$(dfs local status --json | json 'd["namenode"]["pid"]')" = None ] && ok "status shows it stopped" || fail "status after down"
check "local up again" dfs local up -q
[ "$(dfs local status --json | json 'd["namenode"]["addr"]')" = "$nn_addr" ] &&
	ok "same namenode port after restart" || fail "namenode port changed"
check "datanodes reported after a full restart" wait_for 10 all_report
check "data intact after a full restart" bash -c "dfs cat /keep/a | cmp - '$T/a'"
check "add-node" dfs local add-node
[ "$(dfs report --json | json 'len(d["datanodes"])')" = 4 ] && ok "4 datanodes" || fail "add-node"
finish
