#!/usr/bin/env bash
# The retry cache: the namenode dies after a change is durable and before its reply
# leaves (test_exit_before_reply), it is started again, and the client's retry of the
# same call gets the first outcome instead of applying it twice or failing as already
# done (EEXIST, ENOENT). Through the dfs tool and through the mount; each call must
# succeed, and leave its change exactly once. A new call with the same arguments is a
# new call: it fails as it should.
source "$(dirname "$0")/../integration/lib.sh"
[ -e /dev/fuse ] && [ "$(id -u)" = 0 ] || skip "needs root and /dev/fuse"
TRIG=$T/trigger
MOUNT=1 start_cluster -o test_exit_before_reply="$TRIG"
M=$DFS_DIR/mnt
wait_for 10 grep -q " $M fuse.dfs " /proc/mounts || { fail "no mount"; finish; }
dfs mkdir /r

nn_pid() { dfs local status --json | json 'd["namenode"]["pid"]'; }
# lost_reply WHAT COMMAND...: COMMAND's change is made durable, the namenode exits
# before answering, comes back; COMMAND must then succeed
lost_reply() {
	local what=$1; shift
	local pid
	pid=$(nn_pid)
	touch "$TRIG"
	"$@" >"$T/out" 2>&1 &
	local call=$!
	if ! wait_for 20 bash -c "! kill -0 $pid 2>/dev/null"; then
		fail "$what: the namenode did not exit before the reply"
		rm -f "$TRIG"
		wait $call
		return
	fi
	grep -q "test_exit_before_reply: exiting with [1-9]" "$DFS_DIR/logs/namenode.log" ||
		fail "$what: the namenode exited with no reply waiting"
	kill -0 $call 2>/dev/null && ok "$what: the call waits for the namenode" ||
		fail "$what: the call ended while the namenode was down ($(cat "$T/out"))"
	dfs local start-node namenode -q || fail "$what: restart the namenode"
	if wait $call; then ok "$what: the retried call succeeded"; else
		fail "$what: the retried call failed: $(cat "$T/out")"; fi
}

lost_reply "dfs mkdir" dfs mkdir /r/a
[ "$(dfs ls /r | grep -c '/r/a$')" = 1 ] && ok "the directory is there once" ||
	fail "after the retried mkdir: $(dfs ls /r)"
expect_error "a second mkdir of it is a new call" "exist" dfs mkdir /r/a

lost_reply "dfs mv" dfs mv /r/a /r/b
dfs stat /r/b >/dev/null 2>&1 && ! dfs stat /r/a >/dev/null 2>&1 && ok "renamed once" ||
	fail "after the retried rename: $(dfs ls /r)"

lost_reply "mkdir through the mount" mkdir "$M/r/c"
[ -d "$M/r/c" ] && ok "the mount's directory is there" || fail "no $M/r/c"

# (a deferred create keeps no record, its retry creating the file anew: the replay
# count below comes from the rm, the last call)
lost_reply "create through the mount" touch "$M/r/new"
[ "$(dfs ls /r | grep -c '/r/new$')" = 1 ] && ok "the created file is there once" ||
	fail "after the retried create: $(dfs ls /r)"

echo hello >"$M/r/x"
lost_reply "rm through the mount" rm "$M/r/x"
[ ! -e "$M/r/x" ] && ! dfs stat /r/x >/dev/null 2>&1 && ok "the file is gone" ||
	fail "after the retried rm: $(dfs ls /r)"


# the cache is durable and replicated with the change, so it holds across restarts:
# check the namenode kept answering from it
[ "$(curl -s "http://$(dfs local status --json | json 'd["namenode"]["http"]')/metrics" |
	awk '/^dfs_retry_cache_replays_total/ {print $2}')" -ge 1 ] 2>/dev/null &&
	ok "the namenode counts its replayed replies" || fail "no dfs_retry_cache_replays_total"
check "the cluster is healthy" dfs fsck -q /
finish
