#!/usr/bin/env bash
# A datanode killed while a block's pipeline is open and carrying data: the client
# drops it, gives the block up and sends it again down a pipeline of the survivors, and
# the file ends with the right bytes; once the node is back, re-replication tops every
# block up again. The kill is placed by state, not by time: the writer feeds `dfs put`
# through a FIFO and stops half way into the first block; the test finds that block's
# pipeline from the live TCP connections (client -> first -> middle -> last), waits
# until the middle node has received the bytes, kills it, and only then sends the rest.
source "$(dirname "$0")/../integration/lib.sh"
start_cluster --datanodes 3 -o block_size=4M

head -c 24M /dev/urandom >"$T/all"
mkfifo "$T/fifo"
dfs put -r 3 - /f <"$T/fifo" 2>"$T/put.err" &
writer=$!
exec 9>"$T/fifo"
head -c 2M "$T/all" >&9 # two packets of the first block; its pipeline stays open

st=$(dfs local status --json)
addr_of() { json '[n["addr"] for n in d["datanodes"] if n["id"] == "'"$1"'"][0]' <<<"$st"; }
web_of() { json '[n["http"] for n in d["datanodes"] if n["id"] == "'"$1"'"][0]' <<<"$st"; }
pid_of() { json '[n["pid"] for n in d["datanodes"] if n["id"] == "'"$1"'"][0]' <<<"$st"; }
metric() { python3 -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "http://$(web_of "$1")/metrics" |
	awk -v m="$2" '$1 == m { print $2 }'; }
# the datanode (id) that process $1 has an established connection to, if one
next_node() {
	local peers
	peers=$(ss -tnpH state established | awk -v p="pid=$1," 'index($0, p) { print $4 }')
	for dn in dn1 dn2 dn3; do
		grep -qxF "$(addr_of $dn)" <<<"$peers" && { echo $dn; return 0; }
	done
	return 1
}
received() { [ "$(metric "$1" dfs_datanode_bytes_written_total)" -ge $((2 << 20)) ]; }
flowed() { received dn1 && received dn2 && received dn3; }
check "the first 2 MiB reached every node of the pipeline" wait_for 30 flowed
first=$(next_node $writer)
middle=$(next_node "$(pid_of "$first")")
last=$(next_node "$(pid_of "$middle")")
echo "pipeline: $first -> $middle -> $last"
[ -n "$first" ] && [ -n "$middle" ] && [ -n "$last" ] && ok "found the open pipeline" ||
	fail "no open pipeline of three nodes: '$first' '$middle' '$last'"
open_block=$(dfs blocks --json /f._COPYING_ | json 'd["blocks"][-1]["id"]')
breaks0=$(metric "$first" dfs_datanode_pipeline_breaks_total)

check "kill -9 $middle, the middle of the open pipeline" dfs local stop-node "$middle" --kill
tail -c +$(((2 << 20) + 1)) "$T/all" >&9
exec 9>&-
if wait $writer; then ok "put finished despite the dead datanode"; else fail "put failed: $(cat "$T/put.err")"; fi
check "bytes are right" bash -c "dfs cat /f | cmp - '$T/all'"
# the recovery, seen in its effects: the first node lost its downstream mid-block, and
# the block that was open is gone, sent again as a new block without the dead node
breaks=$(metric "$first" dfs_datanode_pipeline_breaks_total)
[ "$breaks" -gt "$breaks0" ] && ok "$first lost its downstream mid-block ($breaks)" ||
	fail "$first saw no pipeline break: the kill did not meet an open pipeline"
blocks=$(dfs blocks --json /f)
[ "$(json "$open_block not in [b['id'] for b in d['blocks']]" <<<"$blocks")" = True ] &&
	ok "block $open_block was given up and sent again as a new block" ||
	fail "block $open_block is still in the file: no pipeline recovery"
[ "$(json "d['blocks'][0]['offset'] == 0 and sorted(d['blocks'][0]['locations']) == sorted(['$first', '$last'])" <<<"$blocks")" = True ] &&
	ok "the first block is on the survivors $first and $last" ||
	fail "first block: $(json 'd["blocks"][0]' <<<"$blocks")"
no_dead() { [ "$(dfs blocks --json /f | json 'any("'"$middle"'" in b["locations"] for b in d["blocks"])')" = False ]; }
check "no block claims the dead node" no_dead

check "start $middle again" dfs local start-node "$middle"
full() { [ "$(dfs blocks --json /f | json 'all(len(set(b["locations"])) == 3 for b in d["blocks"])')" = True ]; }
check "every block back to 3 replicas" wait_for 30 full
check "bytes still right" bash -c "dfs cat /f | cmp - '$T/all'"

# with every node of the cluster gone but one, a replication-3 put still stores the data
check "kill -9 $last" dfs local stop-node "$last" --kill
head -c 6M "$T/all" >"$T/a"
check "put at replication 3 with two of three nodes alive" bash -c "dfs put -r 3 '$T/a' /g"
check "and reads back" bash -c "dfs cat /g | cmp - '$T/a'"
finish
