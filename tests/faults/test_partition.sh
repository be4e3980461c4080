#!/usr/bin/env bash
# A datanode cut off from the network without dying: four hosts in network namespaces
# joined by a bridge (namenode + 3 datanodes, each with its own address); the link of
# one datanode goes down, the namenode declares it dead after dead_node_timeout and
# re-replicates its blocks; when the link comes back the node re-registers and its
# now-excess replicas are removed. Everything started here is stopped by pid.
source "$(dirname "$0")/../integration/lib.sh"
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
	echo "SKIP $(basename "$0"): needs root and iproute2 for network namespaces"; exit 0
fi
tag=dfs$$
NET=10.231.$(( $$ % 200 + 20 ))
hosts="nn dn1 dn2 dn3"
pids=()
netcleanup() {
	# a graceful stop first, so sanitizer builds get to report leaks
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for _ in $(seq 50); do
		alive=0
		for p in "${pids[@]}"; do is_running "$p" && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	pids=()
	for h in $hosts sw; do ip netns del "$tag-$h" 2>/dev/null; done
}
trap 'netcleanup; cleanup' EXIT
in_ns() { local h=$1; shift; ip netns exec "$tag-$h" "$@"; }

ip netns add "$tag-sw" || { fail "cannot create network namespaces"; finish; }
in_ns sw ip link add br0 type bridge
in_ns sw ip link set br0 up
i=1
for h in $hosts; do
	ip netns add "$tag-$h"
	ip link add "v$tag$i" type veth peer name eth0 netns "$tag-$h"
	ip link set "v$tag$i" netns "$tag-sw"
	in_ns sw ip link set "v$tag$i" master br0 up
	in_ns "$h" ip addr add "$NET.$i/24" dev eth0
	in_ns "$h" ip link set eth0 up
	in_ns "$h" ip link set lo up
	i=$((i + 1))
done
nn=$NET.1:9000
"$BIN/dfs-namenode" format --dir "$T/nn" >/dev/null
key=$T/nn/cluster.key
set_opts="--set dead_node_timeout=2 --set stale_node_timeout=1"
# `ip netns exec` execs the daemon in place: $! is the daemon's own pid
ip netns exec "$tag-nn" "$BIN/dfs-namenode" --dir "$T/nn" --listen "$nn" $set_opts \
	--log "$T/nn.log" &
pids+=($!)
i=2
for h in dn1 dn2 dn3; do
	ip netns exec "$tag-$h" "$BIN/dfs-datanode" --namenode "$nn" --key "$key" --id "$h" \
		--data "$T/$h" --listen "$NET.$i:9866" $set_opts --log "$T/$h.log" &
	pids+=($!)
	i=$((i + 1))
done
c() { in_ns nn "$BIN/dfs" -n "$nn" --key "$key" "$@"; }
state() { c report --json | json '[n["state"] for n in d["datanodes"] if n["id"]=="'"$1"'"][0]'; }
three_live() { [ "$(c report --json | json 'sum(n["state"]=="live" for n in d["datanodes"])')" = 3 ]; }
check "3 datanodes on 3 hosts registered" wait_for 20 three_live
[ "$(c report --json | json 'sorted(n["addr"].split(":")[0] for n in d["datanodes"])')" = "['$NET.2', '$NET.3', '$NET.4']" ] &&
	ok "each datanode at its own host address" || fail "datanode addresses: $(c report --json)"

head -c 12M /dev/urandom >"$T/f"
check "put at replication 2 across hosts" c put -r 2 -b 1M "$T/f" /f
check "get it back" bash -c "ip netns exec $tag-nn '$BIN/dfs' -n $nn --key '$key' cat /f | cmp - '$T/f'"
holds3() { [ "$(c blocks --json /f | json 'sum("dn3" in b["locations"] for b in d["blocks"])')" -gt 0 ]; }
check "dn3 holds blocks" holds3

in_ns sw ip link set "v${tag}4" down   # dn3's cable is pulled; its process lives on
dead() { [ "$(state dn3)" = dead ]; }
check "cut-off dn3 declared dead after dead_node_timeout" wait_for 20 dead
healed() { [ "$(c blocks --json /f | json 'all(len([l for l in b["locations"] if l != "dn3"]) >= 2 for b in d["blocks"])')" = True ]; }
check "its blocks re-replicated on the other hosts" wait_for 30 healed
check "data readable during the partition" bash -c "ip netns exec $tag-nn '$BIN/dfs' -n $nn --key '$key' cat /f | cmp - '$T/f'"

in_ns sw ip link set "v${tag}4" up
back() { [ "$(state dn3)" = live ]; }
check "dn3 back and live when the link returns" wait_for 30 back
exact2() { [ "$(c fsck --json / | json 'd["over_replicated"], d["under_replicated"], d["missing"]')" = "(0, 0, 0)" ]; }
check "excess replicas removed after the partition heals" wait_for 30 exact2
netcleanup
mkdir -p "$DFS_DIR/logs" && cp "$T"/nn.log "$T"/dn*.log "$DFS_DIR/logs/" # finish scans them
finish
