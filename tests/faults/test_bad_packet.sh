#!/usr/bin/env bash
# A packet that arrives damaged: one datanode of four runs with the test-only setting
# test_corrupt_writes=1 (it flips a byte in every packet it receives, before verifying
# it), so each pipeline through it meets a checksum mismatch. The node answers with a
# checksum error, the client drops it and sends the block again down a pipeline of the
# others: the file has the right bytes and fsck is HEALTHY. With every node corrupting,
# the put fails, and says "checksum mismatch".
source "$(dirname "$0")/../integration/lib.sh"
start_cluster --datanodes 4 -o block_size=1M

# the local cluster re-reads DIR/settings at every start: dn4 alone gets the setting
settings=$DFS_DIR/settings
cp "$settings" "$T/settings"
check "stop dn4" dfs local stop-node dn4
echo "test_corrupt_writes=1" >>"$settings"
check "start dn4 corrupting every packet it receives" dfs local start-node dn4
cp "$T/settings" "$settings"
live4() { [ "$(dfs report --json | json '[n["state"] for n in d["datanodes"] if n["id"]=="dn4"][0]')" = live ]; }
check "dn4 is live again" wait_for 30 live4
grep -q "TEST ONLY: test_corrupt_writes = 1" "$DFS_DIR/logs/dn4.log" && ok "dn4 says it corrupts" ||
	fail "dn4 did not take test_corrupt_writes"

dn4web=$(dfs local status --json | json '[n["http"] for n in d["datanodes"] if n["id"]=="dn4"][0]')
metric() { python3 -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "http://$1/metrics" |
	awk -v m="$2" '$1 == m { print $2 }'; }

# 12 blocks at replication 3 on 4 nodes: placement picks dn4 for some of them (and the
# loop below puts more files until it did: never on a fixed count of tries alone)
head -c 12M /dev/urandom >"$T/f"
check "put with a corrupting datanode" dfs put -r 3 "$T/f" /f
files=/f
for i in 1 2 3 4 5; do
	[ "$(metric "$dn4web" dfs_datanode_checksum_errors_total)" -ge 1 ] && break
	check "put /f$i" dfs put -r 3 "$T/f" /f$i
	files="$files /f$i"
done
errs=$(metric "$dn4web" dfs_datanode_checksum_errors_total)
[ "$errs" -ge 1 ] && ok "dn4 found $errs bad packets" || fail "no pipeline went through dn4"
grep -q "checksum mismatch in a packet" "$DFS_DIR/logs/dn4.log" && ok "dn4 logged the checksum mismatch" ||
	fail "dn4 did not log a checksum mismatch"
nodn4() { [ "$(dfs blocks --json "$1" | json 'any("dn4" in b["locations"] for b in d["blocks"])')" = False ]; }
for f in $files; do
	check "$f has the right bytes" bash -c "dfs cat '$f' | cmp - '$T/f'"
	check "no block of $f on dn4" nodn4 "$f"
done
[ "$(dfs fsck --json / | json 'd["status"]')" = HEALTHY ] && ok "fsck HEALTHY" ||
	fail "fsck: $(dfs fsck / 2>&1 | tail -3)"

# every node corrupting: no pipeline can store the block, and the client says why
for dn in dn1 dn2 dn3; do check "stop $dn" dfs local stop-node "$dn"; done
echo "test_corrupt_writes=1" >>"$settings"
for dn in dn1 dn2 dn3; do check "start $dn corrupting" dfs local start-node "$dn"; done
cp "$T/settings" "$settings"
all_live() { [ "$(dfs report --json | json 'sum(n["state"] == "live" for n in d["datanodes"])')" = 4 ]; }
check "four live datanodes" wait_for 30 all_live
head -c 100K /dev/urandom >"$T/small"
expect_error "a put where every node corrupts" "checksum mismatch" dfs put -r 1 "$T/small" /small
finish
