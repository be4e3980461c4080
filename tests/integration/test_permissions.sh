#!/usr/bin/env bash
# POSIX permissions checked by the namenode, through the tool run as unprivileged
# users (nobody, and uid 1234): traverse, read, write, create, delete, rename,
# chmod/chown rules, the sticky bit, extended attributes, and jobs (inputs read and
# outputs written as the submitter). Root is the superuser and passes everything.
source "$(dirname "$0")/lib.sh"
start_cluster
command -v setpriv >/dev/null || { echo "setpriv (util-linux) is needed" >&2; exit 1; }

nn=$(dfs local status --json | json 'd["namenode"]["addr"]')
chmod 755 "$T"
cp "$DFS_DIR/cluster.key" "$T/key" && chmod 644 "$T/key"
as() { local uid=$1; shift; setpriv --reuid="$uid" --regid="$uid" --clear-groups \
	"$BIN/dfs" -n "$nn" --key "$T/key" "$@"; }
nobody() { as 65534 "$@"; }
other() { as 1234 "$@"; }

dfs mkdir -p /home/u /private /ro /shared /tmpw
dfs chown 65534:65534 /home/u
dfs chmod 700 /private && echo secret | dfs put - /private/secret
echo hello | dfs put - /ro/f
dfs chmod 1777 /shared
dfs chmod 777 /tmpw

check "nobody lists /" nobody ls / >/dev/null
expect_error "list a 0700 directory" "permission denied" nobody ls /private
expect_error "read through a 0700 directory" "permission denied" nobody cat /private/secret
expect_error "stat through a 0700 directory" "permission denied" nobody stat /private/secret
[ "$(nobody cat /ro/f)" = hello ] && ok "read a 0644 file" || fail "read a 0644 file"
expect_error "create in a 0755 directory of root" "permission denied" nobody put - /ro/new </dev/null
expect_error "mkdir there" "permission denied" nobody mkdir /ro/d
expect_error "remove root's file" "permission denied" nobody rm /ro/f
expect_error "rename root's file away" "permission denied" nobody mv /ro/f /home/u/f
expect_error "chmod root's file" "not permitted" nobody chmod 777 /ro/f
expect_error "chown (only root gives files away)" "not permitted" nobody chown 65534 /ro/f
expect_error "setrep needs write" "permission denied" nobody setrep 1 /ro/f
check "create in its own directory" nobody put - /home/u/mine </dev/null
[ "$(dfs stat --json /home/u/mine | json 'd["uid"], d["gid"]')" = "(65534, 65534)" ] &&
	ok "owned by its creator" || fail "owner of /home/u/mine"
check "chmod its own file" nobody chmod 600 /home/u/mine
check "mkdir -p below its own directory" nobody mkdir -p /home/u/a/b/c
check "rm -r its own tree" nobody rm -r /home/u/a
expect_error "another user reads a 0600 file" "permission denied" other cat /home/u/mine
expect_error "another user writes into a 0755 directory" "permission denied" other put - /home/u/x </dev/null
check "nobody creates in a sticky 1777 directory" nobody put - /shared/n1 </dev/null
expect_error "another user cannot remove it (sticky)" "not permitted" other rm /shared/n1
expect_error "... nor rename it (sticky)" "not permitted" other mv /shared/n1 /shared/n2
check "its owner can" nobody rm /shared/n1
check "nobody creates in a 0777 directory" nobody put - /tmpw/x </dev/null
check "another user removes it (no sticky bit)" other rm /tmpw/x
dfs mkdir -p /home/u/tree/sub && dfs chmod 755 /home/u/tree/sub && dfs chown -R 0:0 /home/u/tree/sub
echo z | dfs put - /home/u/tree/sub/z
expect_error "rm -r needs write on every directory below" "permission denied" nobody rm -r /home/u/tree
check "root (the superuser) removes anything" dfs rm -r /home/u/tree

# jobs run as their submitter
check "a job by nobody over a readable file" nobody run -q --input /ro/f --output /home/u/out --grep hell
[ "$(dfs cat /home/u/out/part-00000)" = hello ] && ok "its output" || fail "job output"
[ "$(dfs stat --json /home/u/out/part-00000 | json 'd["uid"]')" = 65534 ] &&
	ok "output owned by the submitter" || fail "output owner"
expect_error "a job over an unreadable input" "permission denied" \
	nobody run --input /private --output /home/u/out2 --grep x
expect_error "a job writing where it may not" "permission denied" \
	nobody run --input /ro/f --output /ro/out --grep x
check "root's job reads anything" dfs run -q --input /private --output /priv-out --grep secret

check "the cluster is healthy afterwards" bash -c "dfs fsck / >/dev/null"
finish
