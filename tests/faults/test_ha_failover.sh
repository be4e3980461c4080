#!/usr/bin/env bash
# A group of three namenodes (raft_addrs, raft_id) with three datanodes, started by hand
# on 127.0.0.1: kill -9 the leader in the middle of a stream of creates from two
# clients; the clients go on (their calls wait for the new leader), and every
# acknowledged create is there exactly once. The killed member comes back, rebuilds
# its namespace from the log and rejoins; the new leader is killed in turn and nothing
# is lost. With two of three members gone, writes are refused with a clear message;
# one back, service resumes.
source "$(dirname "$0")/../integration/lib.sh"
source "$(dirname "$0")/../integration/group.sh"
D=$T/g
mkdir -p "$D"
trap 'group_stop; cleanup' EXIT
group_start 3 3 || { fail "cannot start the group"; finish; }
# (the tool finds the group by $DFS_NAMENODE, before $DFS_DIR; logs where finish looks)
export DFS_KEY=$D/nn1/cluster.key DFS_NAMENODE=$NNS DFS_DIR=$D
start_nn() { group_start_nn "$@"; }
alive() { group_alive "$@"; }
leader() { group_leader; }
live3() { [ "$(dfs report --json | json 'sum(n["state"] == "live" for n in d["datanodes"])')" = 3 ]; }
check "a leader is elected and the datanodes find it" wait_for 30 live3
roles() { dfs admin namenodes --json | json '" ".join(sorted(m["role"] for m in d))'; }
[ "$(roles)" = "follower follower leader" ] && ok "admin namenodes: one leader, two followers" ||
	fail "admin namenodes: $(dfs admin namenodes)"
head -c 3000000 /dev/urandom >"$T/data"
check "put a file through the group" dfs put "$T/data" /data
dfs mkdir /s

# two clients, each a stream of creates (one dfs process per create)
writer() {
	local k=$1 i=0
	while [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		if dfs mkdir "/s/c${k}_$i" 2>>"$T/err$k"; then echo "/s/c${k}_$i" >>"$T/acked"; else
			echo "c${k}_$i" >>"$T/failed"; fi
	done
}
: >"$T/acked"
: >"$T/failed"
writer 1 &
w1=$!
writer 2 &
w2=$!
acked() { wc -l <"$T/acked"; }
some() { [ "$(acked)" -ge 30 ]; }
check "creates are flowing" wait_for 30 some

kill_leader() {
	local k
	k=$(leader) || { fail "no leader to kill"; return 1; }
	kill -9 "$(cat "$D/nn$k.pid")"
	wait_for 10 bash -c "! kill -0 $(cat "$D/nn$k.pid") 2>/dev/null"
	echo "$k"
}
first=$(kill_leader)
ok "killed the leader, nn$first, mid-stream"
n=$(acked)
more() { [ "$(acked)" -ge $((n + 30)) ]; }
check "the creates go on under a new leader" wait_for 60 more
new=$(leader) && [ "$new" != "$first" ] && ok "nn$new leads now" || fail "no new leader"
[ "$(dfs admin namenodes --json | json '[m["role"] for m in d if m["id"] == "nn'"$first"'"][0]')" = down ] &&
	ok "admin namenodes shows nn$first down" || fail "admin namenodes: $(dfs admin namenodes)"

# the killed member comes back: it rebuilds from the log and follows
start_nn "$first"
rebuilt() { grep -q "rebuilding the namespace from the group's log" "$D/logs/nn$first.log"; }
check "the old leader rebuilds its namespace from the log" wait_for 20 rebuilt
caught_up() { grep -q "group: member $first of 3" "$D/logs/nn$first.log" && alive "$first"; }
check "and runs as a member again" wait_for 20 caught_up
n=$(acked)
more2() { [ "$(acked)" -ge $((n + 10)) ]; }
check "creates go on" wait_for 60 more2
second=$(kill_leader)
ok "killed the second leader, nn$second"
n=$(acked)
more3() { [ "$(acked)" -ge $((n + 30)) ]; }
check "the creates go on under a third leader" wait_for 60 more3
touch "$T/stop"
wait $w1 $w2
nf=$(wc -l <"$T/failed")
[ "$nf" = 0 ] && ok "no create failed across two failovers ($(acked) acknowledged)" ||
	fail "$nf creates failed: $(cat "$T"/err* | sort | uniq -c | head -5)"

# every acknowledged create is there, exactly once; nothing is there unacknowledged
# but a create whose client gave up
dfs ls /s | sort >"$T/listed"
sort "$T/acked" >"$T/acked.sorted"
missing=$(comm -23 "$T/acked.sorted" "$T/listed" | wc -l)
[ "$missing" = 0 ] && ok "every acknowledged create is on the new leader" ||
	fail "$missing acknowledged creates missing: $(comm -23 "$T/acked.sorted" "$T/listed" | head -3)"
[ "$(uniq -d "$T/listed" | wc -l)" = 0 ] && ok "none twice" || fail "a name listed twice"
check "the file put before the failovers reads back intact" bash -c "dfs cat /data | cmp - '$T/data'"

# lose two of three: no majority, writes refused with a clear message
start_nn "$second"
wait_for 20 bash -c "grep -q 'group: member $second of 3' '$D/logs/nn$second.log'"
third=$(leader)
for k in 1 2 3; do [ "$k" != "$third" ] && alive $k && { kill -9 "$(cat "$D/nn$k.pid")"; break; }; done
kill -9 "$(cat "$D/nn$third.pid")"
expect_error "with one member of three, a write is refused" "no leader" dfs mkdir /s/minority
expect_error "and admin namenodes says none serves" "no member serves" dfs admin namenodes
for k in 1 2 3; do alive $k || { start_nn $k; break; }; done
check "with two members again, service resumes" wait_for 60 dfs mkdir /s/majority
check "and the namespace is whole" bash -c "[ \$(dfs ls /s | wc -l) -ge $(acked) ]"
group_stop
finish
