#!/usr/bin/env bash
# Corruption, done for real on the block files: a reader that meets a bad replica still
# gets the right bytes and the replica is replaced; the background scanner finds rot
# nobody read; a deleted block file is noticed; when every replica is bad the read fails
# with a clear error and fsck says CORRUPT.
source "$(dirname "$0")/../integration/lib.sh"
start_cluster -o block_size=1M -o scan_period=2

head -c 5M /dev/urandom >"$T/f"
dfs put -r 3 "$T/f" /f
blk=$(dfs blocks --json /f | json 'd["blocks"][2]["id"]')
file_of() { find "$DFS_DIR/$1/current" -name "blk_${blk}_*" ! -name '*.meta' | head -1; }
corrupt() { printf 'XXXXXXXXXXXXXXXX' | dd of="$1" bs=1 seek=${2:-1000} conv=notrunc status=none; }
[ "$(dfs fsck --json / | json 'd["status"]')" = HEALTHY ] && ok "fsck HEALTHY at first" || fail "fsck at first"

# a reader meets a rotten replica: right bytes anyway, and the replica gets replaced
first=$(dfs blocks --json /f | json 'd["blocks"][2]["locations"][0]')
corrupt "$(file_of "$first")"
check "read past a corrupt replica" bash -c "dfs cat /f | cmp - '$T/f'"
repaired() { dfs blocks --json /f | json 'len(d["blocks"][2]["locations"])' | grep -qx 3 &&
	for dn in dn1 dn2 dn3; do f=$(file_of $dn); [ -n "$f" ] && cmp -s <(dd if="$f" bs=1 skip=1000 count=16 status=none) <(printf 'XXXXXXXXXXXXXXXX') && return 1; done; return 0; }
check "corrupt replica replaced in place (3 nodes, all hold the block)" wait_for 30 repaired
check "still right" bash -c "dfs cat /f | cmp - '$T/f'"

# rot that nobody reads: the scanner (scan_period=2s) finds it
victim=$(dfs blocks --json /f | json 'd["blocks"][2]["locations"][1]')
corrupt "$(file_of "$victim")" 2000
check "scanner finds and the cluster repairs unread rot" wait_for 30 repaired

# a block file and its checksums deleted on disk
victim=$(dfs blocks --json /f | json 'd["blocks"][2]["locations"][0]')
f=$(file_of "$victim"); rm -f "$f" "$f.meta"
check "read with a deleted replica" bash -c "dfs cat /f | cmp - '$T/f'"
three() { [ "$(dfs blocks --json /f | json 'len(d["blocks"][2]["locations"])')" = 3 ] && [ -n "$(file_of "$victim")" ]; }
check "deleted replica re-created" wait_for 30 three

# a truncated block file
victim=$(dfs blocks --json /f | json 'd["blocks"][2]["locations"][1]')
truncate -s 100 "$(file_of "$victim")"
check "read with a truncated replica" bash -c "dfs cat /f | cmp - '$T/f'"
check "truncated replica replaced" wait_for 30 repaired

# every replica bad: a clear error, never a hang, and fsck says CORRUPT
for dn in dn1 dn2 dn3; do corrupt "$(file_of $dn)" 3000; done
expect_error "every replica corrupt" "every replica failed|checksum" timeout 30 dfs cat /f
bad() { [ "$(dfs fsck --json / | json 'd["status"], d["corrupt"]')" = "('CORRUPT', 1)" ]; }
check "fsck reports the corrupt block" wait_for 30 bad
expect_error "fsck exits 1 when corrupt" "" bash -c "dfs fsck / >/dev/null"
check "other blocks still readable" bash -c "dfs get /f - 2>/dev/null | head -c 1M | cmp - <(head -c 1M '$T/f')"
finish
