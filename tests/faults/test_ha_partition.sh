#!/usr/bin/env bash
# A namenode group split by the network: three namenodes, three datanodes and a client,
# each on a host of its own (network namespaces on a bridge). A client streams creates;
# the leader's cable is pulled while they flow. The majority elects a new leader and the
# creates go on; the cut-off member accepts no write (a client on its host is refused
# with a clear error, and the change is nowhere afterwards). The cable goes back: the
# old leader rejoins as a follower, every acknowledged create is there once, and the
# three members' namespaces are the same record for record (dfs-namenode digest).
# Everything started here is stopped by pid.
source "$(dirname "$0")/../integration/lib.sh"
NET=10.232.$(($$ % 200 + 20))
hosts="nn1 nn2 nn3 dn1 dn2 dn3 cl"
source "$(dirname "$0")/../integration/netns.sh"
grace=100
trap 'touch "$T/stop" "$T/stop_m"; netns_down; cleanup' EXIT
netns_up
NNS=$NET.1:9000,$NET.2:9000,$NET.3:9000
RAFT=$NET.1:9001,$NET.2:9001,$NET.3:9001
"$BIN/dfs-namenode" format --dir "$T/nn1" >/dev/null
key=$T/nn1/cluster.key
for k in 2 3; do
	mkdir -p "$T/nn$k"
	cp "$T/nn1/cluster.key" "$T/nn1/datanode.key" "$T/nn$k/"
	"$BIN/dfs-namenode" format --dir "$T/nn$k" >/dev/null
done
start_nn() { # K: `ip netns exec` execs the daemon in place, so $! is its pid
	ip netns exec "$tag-nn$1" "$BIN/dfs-namenode" --dir "$T/nn$1" --listen "$NET.$1:9000" \
		--set raft_id="$1" --set raft_addrs="$RAFT" --set namenodes="$NNS" \
		--set election_timeout=1 --set dead_node_timeout=4 --set stale_node_timeout=2 \
		--log "$T/nn$1.log" &
	pids+=($!)
	nnpid[$1]=$!
}
for k in 1 2 3; do start_nn $k; done
i=4
for h in dn1 dn2 dn3; do
	cat >"$T/$h.conf" <<EOF
namenodes = $NNS
key_file = $key
data_dir = $T/$h
listen = 0.0.0.0:9866
advertise = $NET.$i:9866
log_file = $T/$h.log
EOF
	ip netns exec "$tag-$h" "$BIN/dfs-datanode" --config "$T/$h.conf" --id "$h" &
	pids+=($!)
	i=$((i + 1))
done
c() { in_ns cl "$BIN/dfs" -n "$NNS" --key "$key" "$@"; }
live3() { [ "$(c report --json | json 'sum(n["state"] == "live" for n in d["datanodes"])')" = 3 ]; }
check "a leader is elected and the three datanodes find it" wait_for 40 live3
# the leader's host number (its address is $NET.K:9000)
leader() { c admin namenodes --json | json '[m["addr"] for m in d if m["role"] == "leader"][0].split(":")[0].split(".")[3]'; }
head -c 2000000 /dev/urandom >"$T/data"
check "put a file through the group" c put "$T/data" /data
c mkdir /s

: >"$T/acked"
writer() { # a stream of creates, one dfs process each, from the client's host
	local i=0
	while [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		c mkdir "/s/d$i" 2>>"$T/writer.err" && echo "/s/d$i" >>"$T/acked"
	done
}
writer &
wpid=$!
acked() { wc -l <"$T/acked"; }
some() { [ "$(acked)" -ge 20 ]; }
check "creates are flowing" wait_for 30 some

old=$(leader)
[ -n "$old" ] && ok "nn$old leads" || fail "no leader: $(c admin namenodes)"
# a second stream on the leader's own host, to it alone: what it acknowledges up to
# the cut and after must be there when the split heals (it acknowledges nothing that
# the majority does not hold)
: >"$T/acked_m"
c mkdir /m
mwriter() {
	local i=0
	while [ ! -e "$T/stop_m" ]; do
		i=$((i + 1))
		in_ns "nn$old" "$BIN/dfs" -n "$NET.$old:9000" --key "$key" mkdir "/m/d$i" \
			2>>"$T/mwriter.err" && echo "/m/d$i" >>"$T/acked_m"
	done
}
mwriter &
mpid=$!
msome() { [ "$(wc -l <"$T/acked_m")" -ge 10 ]; }
check "creates flow on the leader's host too" wait_for 30 msome
in_ns sw ip link set "v$tag$old" down # its cable is pulled; the process lives on
n=$(acked)
moved() { l=$(leader 2>/dev/null) && [ -n "$l" ] && [ "$l" != "$old" ]; }
check "the majority elects another leader" wait_for 30 moved
more() { [ "$(acked)" -ge $((n + 20)) ]; }
check "the creates go on with the majority" wait_for 60 more
is_running "${nnpid[$old]}" && ok "the cut-off nn$old still runs" || fail "nn$old exited"
# on the cut-off host: no write is accepted, and (once it has stepped down) no read
expect_error "the cut-off member refuses a write" "leader|timed out|no member" \
	in_ns "nn$old" "$BIN/dfs" -n "$NET.$old:9000" --key "$key" mkdir /minority
refuses() { ! in_ns "nn$old" "$BIN/dfs" -n "$NET.$old:9000" --key "$key" ls / >/dev/null 2>&1; }
check "the cut-off member serves no reads" wait_for 20 refuses

touch "$T/stop_m"
wait "$mpid"
in_ns sw ip link set "v$tag$old" up
rejoined() { [ "$(c admin namenodes --json | json '" ".join(sorted(m["role"] for m in d))')" = "follower follower leader" ]; }
check "the cable back: nn$old rejoins as a follower" wait_for 60 rejoined
n=$(acked)
check "creates still flow" wait_for 60 more
touch "$T/stop"
wait "$wpid"
c ls /s | sort >"$T/listed" # full paths, one a line
sort "$T/acked" >"$T/acked.sorted"
missing=$(comm -23 "$T/acked.sorted" "$T/listed" | wc -l)
[ "$missing" = 0 ] && ok "all $(acked) acknowledged creates are there" ||
	fail "$missing acknowledged creates are missing"
[ "$(uniq -d "$T/listed" | wc -l)" = 0 ] && [ -s "$T/listed" ] && ok "none twice" ||
	fail "duplicates in /s"
expect_error "the cut-off member's write is nowhere" "no such file" c ls /minority
c ls /m | sort >"$T/listed_m"
missing=$(comm -23 <(sort "$T/acked_m") "$T/listed_m" | wc -l)
[ "$missing" = 0 ] && ok "all $(wc -l <"$T/acked_m") creates the old leader acknowledged are there" ||
	fail "$missing creates the old leader acknowledged are lost: $(comm -23 <(sort "$T/acked_m") "$T/listed_m" | head -3)"
check "the file put before the split reads back" bash -c \
	"ip netns exec $tag-cl '$BIN/dfs' -n '$NNS' --key '$key' cat /data | cmp - '$T/data'"
caught_up() { [ "$(c admin namenodes --json | json 'len(set(m["applied_index"] for m in d)) == 1 and len(d) == 3')" = True ]; }
check "every member applied the same entries" wait_for 30 caught_up
netns_stop_pids TERM 100 && ok "everything stops on SIGTERM" || fail "a daemon did not stop"
for k in 1 2 3; do
	"$BIN/dfs-namenode" digest --dir "$T/nn$k" 2>/dev/null >"$T/digest$k" ||
		fail "no digest of nn$k"
done
[ -s "$T/digest1" ] && cmp -s "$T/digest1" "$T/digest2" && cmp -s "$T/digest1" "$T/digest3" &&
	ok "the three namespaces are the same: $(cat "$T/digest1")" ||
	fail "the members differ: $(cat "$T"/digest?)"
netns_down
mkdir -p "$DFS_DIR/logs" && cp "$T"/nn?.log "$T"/dn?.log "$DFS_DIR/logs/" # finish scans them
finish
