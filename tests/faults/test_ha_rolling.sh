#!/usr/bin/env bash
# A rolling restart of a namenode group under a steady workload: `dfs local up
# --namenodes 3` with the mount; two streams run all along (creates by the dfs tool, and
# small files written and read back through the mount) while each member in turn is
# stopped (SIGTERM, as an operator's restart does) and started again, leader included.
# Neither stream sees an error, and every acknowledged change is there at the end.
source "$(dirname "$0")/../integration/lib.sh"
[ -e /dev/fuse ] && [ "$(id -u)" = 0 ] || skip "needs root and /dev/fuse"
MOUNT=1 start_cluster --namenodes 3
M=$DFS_DIR/mnt
roles() { dfs local status --json | json '" ".join(sorted(n["role"] for n in d["namenodes"]))'; }
dfs mkdir /t /m
: >"$T/acked_t"
: >"$T/acked_m"
tool_writer() {
	local i=0
	while [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		if dfs mkdir "/t/d$i" 2>>"$T/err_t"; then echo "/t/d$i" >>"$T/acked_t"
		else echo "mkdir /t/d$i failed" >>"$T/err_t"; fi
	done
}
mount_writer() {
	local i=0
	while [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		if echo "file $i" >"$M/m/f$i" 2>>"$T/err_m" && [ "$(cat "$M/m/f$i")" = "file $i" ]; then
			echo "f$i" >>"$T/acked_m"
		else
			echo "write or read of f$i failed" >>"$T/err_m"
		fi
	done
}
tool_writer &
tw=$!
mount_writer &
mw=$!
count() { wc -l <"$1"; }
check "both streams flow" wait_for 30 bash -c "[ \$(wc -l <'$T/acked_t') -ge 10 ] && [ \$(wc -l <'$T/acked_m') -ge 10 ]"
for k in 1 2 3; do
	nn=nn$k
	lead=$(dfs local status --json | json 'd["namenode"]["id"]')
	check "stop $nn$([ "$lead" = "$nn" ] && echo ", the leader")" dfs local stop-node "$nn" -q
	t0=$(count "$T/acked_t") m0=$(count "$T/acked_m")
	check "both streams go on without $nn" wait_for 60 bash -c \
		"[ \$(wc -l <'$T/acked_t') -ge $((t0 + 10)) ] && [ \$(wc -l <'$T/acked_m') -ge $((m0 + 10)) ]"
	check "start $nn again" dfs local start-node "$nn" -q
	back() { [ "$(roles)" = "follower follower leader" ]; }
	check "$nn rejoins" wait_for 60 back
done
t0=$(count "$T/acked_t") m0=$(count "$T/acked_m")
check "the streams still flow at the end" wait_for 60 bash -c \
	"[ \$(wc -l <'$T/acked_t') -ge $((t0 + 10)) ] && [ \$(wc -l <'$T/acked_m') -ge $((m0 + 10)) ]"
touch "$T/stop"
wait "$tw" "$mw"
[ ! -s "$T/err_t" ] && ok "the tool's $(count "$T/acked_t") creates saw no error" ||
	fail "the tool saw errors: $(head -5 "$T/err_t")"
[ ! -s "$T/err_m" ] && ok "the mount's $(count "$T/acked_m") files saw no error" ||
	fail "the mount saw errors: $(head -5 "$T/err_m")"
missing=$(comm -23 <(sort "$T/acked_t") <(dfs ls /t | sort) | wc -l)
[ "$missing" = 0 ] && ok "every acknowledged create is there" || fail "$missing creates lost"
bad=0
while read -r f; do
	[ "$(cat "$M/m/$f" 2>/dev/null)" = "file ${f#f}" ] || bad=$((bad + 1))
done <"$T/acked_m"
[ "$bad" = 0 ] && ok "every file written through the mount reads back" || fail "$bad files differ"
finish
