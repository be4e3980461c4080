#!/usr/bin/env bash
# Core data path: 3 datanodes, 1 MiB blocks; a 50 MiB random file at replication 3 goes
# in and comes back identical, each block on 3 distinct datanodes; namespace operations.
source "$(dirname "$0")/lib.sh"
start_cluster -o block_size=1M

head -c 50M /dev/urandom >"$T/r50"
check "mkdir -p" dfs mkdir -p /data
check "put 50 MiB at replication 3" dfs put -r 3 "$T/r50" /data/r50.bin
check "get returns identical bytes" bash -c "dfs get /data/r50.bin '$T/back' && cmp '$T/r50' '$T/back'"
check "get to stdout is identical" bash -c "dfs get /data/r50.bin - | cmp - '$T/r50'"
check "cat is identical" bash -c "dfs cat /data/r50.bin | cmp - '$T/r50'"

dfs blocks --json /data/r50.bin >"$T/blocks.json"
n=$(json 'len(d["blocks"])' <"$T/blocks.json")
[ "$n" = 50 ] && ok "50 blocks of 1 MiB" || fail "expected 50 blocks, got $n"
[ "$(json 'all(len(set(b["locations"]))==3 for b in d["blocks"])' <"$T/blocks.json")" = True ] &&
	ok "every block on 3 distinct datanodes" || fail "a block is not on 3 distinct datanodes"
[ "$(json 'sum(b["length"] for b in d["blocks"])' <"$T/blocks.json")" = 52428800 ] &&
	ok "block lengths add up" || fail "block lengths do not add up"
[ "$(json 'd["replication"], d["length"], d["block_size"]' <"$T/blocks.json")" = "(3, 52428800, 1048576)" ] &&
	ok "blocks --json header" || fail "blocks --json header: $(cat "$T/blocks.json" | head -c 200)"

# the replicas really are checksummed files on each datanode's disk
bid=$(json 'd["blocks"][0]["id"]' <"$T/blocks.json")
for dn in dn1 dn2 dn3; do
	f=$(find "$DFS_DIR/$dn/current" -name "blk_${bid}_*" ! -name '*.meta')
	[ -n "$f" ] && [ -f "$f.meta" ] && [ "$(stat -c %s "$f.meta")" = $((16 + 4 * 16)) ] &&
		ok "$dn holds block $bid with its checksums" || fail "$dn lacks block $bid"
done

# small files, empty file, stdin, replication 1
printf 'hello\n' | dfs put - /data/hello.txt
check "put from stdin" bash -c "[ \"\$(dfs cat /data/hello.txt)\" = hello ]"
: >"$T/empty"
dfs put "$T/empty" /data/empty
check "empty file round trip" bash -c "dfs get /data/empty '$T/empty.back' && cmp '$T/empty' '$T/empty.back'"
check "empty file has no blocks" bash -c "[ \$(dfs blocks --json /data/empty | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"blocks\"]))') = 0 ]"
# a last block that is a whole number of packets (1 MiB) but not a whole block:
# every byte went down the pipeline before close, which must still finalize it
head -c 3M /dev/urandom >"$T/three"
dfs put -b 64M "$T/three" /data/three
check "a 3 MiB file in a 64 MiB block comes back" bash -c "dfs get /data/three - | cmp - '$T/three'"
head -c 3000000 /dev/urandom >"$T/odd"
dfs put -r 1 -b 128K "$T/odd" /data/odd
check "odd size, 128K blocks, replication 1" bash -c "dfs cat /data/odd | cmp - '$T/odd'"
[ "$(dfs blocks --json /data/odd | json 'd["replication"], len(d["blocks"]), len(d["blocks"][0]["locations"])')" = "(1, 23, 1)" ] &&
	ok "per-file replication and block size" || fail "per-file replication/block size"

# capacity counts each file system once: the 3 datanodes keep their data on one disk,
# report it by the same file system id, and the cluster's capacity is that disk's
dfs report --json >"$T/rep.json"
[ "$(json 'len({n["fs_id"] for n in d["datanodes"]}) == 1 and all(n["fs_id"] for n in d["datanodes"])' <"$T/rep.json")" = True ] &&
	ok "the datanodes report one file system id" || fail "file system ids: $(json '[n["fs_id"] for n in d["datanodes"]]' <"$T/rep.json")"
disk=$(python3 -c "import os,sys; v=os.statvfs(sys.argv[1]); print(v.f_blocks * v.f_frsize, v.f_bavail * v.f_frsize)" "$DFS_DIR/dn1")
read -r dcap dfree <<<"$disk"
[ "$(json 'd["capacity"]' <"$T/rep.json")" = "$dcap" ] && ok "capacity is the disk's, once ($dcap)" ||
	fail "capacity $(json 'd["capacity"]' <"$T/rep.json") for a disk of $dcap"
[ "$(json 'd["remaining"] < 1.5 * '"$dfree"' + 2**30' <"$T/rep.json")" = True ] && ok "remaining counted once" ||
	fail "remaining $(json 'd["remaining"]' <"$T/rep.json") for $dfree free"

# stat
dfs stat --json /data/hello.txt >"$T/st.json"
[ "$(json 'd["type"], d["length"], d["replication"]' <"$T/st.json")" = "('file', 6, 3)" ] &&
	ok "stat --json" || fail "stat --json: $(cat "$T/st.json")"

# directories: recursive put and get
mkdir -p "$T/tree/a/b" "$T/tree/c"
for i in 1 2 3; do head -c $((i * 100000)) /dev/urandom >"$T/tree/a/b/f$i"; done
echo x >"$T/tree/c/x"
dfs mkdir -p /trees
check "put a directory recursively" dfs put "$T/tree" /trees
check "get a directory recursively" bash -c "dfs get /trees/tree '$T/tree.back' && diff -r '$T/tree' '$T/tree.back'"
check "ls -R lists the tree" bash -c "dfs ls -R /trees | grep -q '/trees/tree/a/b/f3'"
check "ls -l shows the size" bash -c "dfs ls -l /trees/tree/a/b | grep -q ' 300000 .*/trees/tree/a/b/f3'"
[ "$(dfs du -s /trees | awk '{print $1}')" = 600002 ] && ok "du -s" || fail "du -s: $(dfs du -s /trees)"

# rename: files, directories, into a directory
check "mv a file" dfs mv /data/hello.txt /data/hi.txt
check "old name is gone" bash -c "! dfs stat /data/hello.txt 2>/dev/null"
check "mv a directory" dfs mv /trees/tree /trees/moved
check "moved directory keeps its content" bash -c "dfs cat /trees/moved/a/b/f2 | cmp - '$T/tree/a/b/f2'"
dfs mkdir /dest
check "mv into a directory" dfs mv /data/hi.txt /dest
check "file is inside the directory" dfs stat /dest/hi.txt
expect_error "mv a directory into itself" "itself|invalid" dfs mv /trees /trees/moved/a

# recursive delete removes the blocks from the datanodes
check "rm -r" dfs rm -r /trees
check "tree is gone" bash -c "! dfs ls /trees 2>/dev/null"
check "rm a file" dfs rm /data/r50.bin
for i in $(seq 100); do
	left=$(find "$DFS_DIR"/dn*/current -name "blk_${bid}_*" | wc -l)
	[ "$left" = 0 ] && break
	sleep 0.1
done
[ "$left" = 0 ] && ok "deleted file's replicas removed from datanodes" || fail "$left replica files of block $bid remain"

# setrep and report
check "setrep 2" dfs setrep 2 /data/odd
[ "$(dfs stat --json /data/odd | json 'd["replication"]')" = 2 ] && ok "setrep changed replication" || fail "setrep"
dfs report --json >"$T/report.json"
[ "$(json 'len(d["datanodes"]), all(n["state"]=="live" for n in d["datanodes"])' <"$T/report.json")" = "(3, True)" ] &&
	ok "report: 3 live datanodes" || fail "report: $(cat "$T/report.json")"
[ "$(json 'sorted(n["id"] for n in d["datanodes"])' <"$T/report.json")" = "['dn1', 'dn2', 'dn3']" ] &&
	ok "report: persistent ids" || fail "report ids"
check "df" bash -c "dfs df -h | grep -q '^dfs '"

# chmod / chown / chgrp, octal and symbolic, -R
mode() { dfs stat --json "$1" | json 'd["mode"]'; }
dfs mkdir -p /perm/sub && dfs put - /perm/sub/f </dev/null
check "chmod 640" dfs chmod 640 /perm/sub/f
[ "$(mode /perm/sub/f)" = 0640 ] && ok "mode 640" || fail "mode $(mode /perm/sub/f)"
check "chmod u+x,g-r,o=r" dfs chmod u+x,g-r,o=r /perm/sub/f
[ "$(mode /perm/sub/f)" = 0704 ] && ok "symbolic mode" || fail "symbolic mode $(mode /perm/sub/f)"
check "chmod -R a+rX,go-w (X: f has u+x already)" dfs chmod -R a+rX,go-w /perm
[ "$(mode /perm/sub)" = 0755 ] && [ "$(mode /perm/sub/f)" = 0755 ] && ok "chmod -R" ||
	fail "chmod -R: $(mode /perm/sub) $(mode /perm/sub/f)"
check "chown -R 1234:5678" dfs chown -R 1234:5678 /perm
[ "$(dfs stat --json /perm/sub/f | json 'd["uid"], d["gid"]')" = "(1234, 5678)" ] && ok "chown -R" || fail "chown"
check "chgrp nogroup-by-number" dfs chgrp 42 /perm/sub/f
[ "$(dfs stat --json /perm/sub/f | json 'd["gid"]')" = 42 ] && ok "chgrp" || fail "chgrp"
expect_error "chmod with a bad mode" "not a mode" dfs chmod u+q /perm
expect_error "chown to an unknown user" "no such user" dfs chown no-such-user-here /perm
expect_error "chmod of a missing path" "no such file" dfs chmod 600 /perm/nope
finish
