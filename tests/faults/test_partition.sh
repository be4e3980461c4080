#!/usr/bin/env bash
# Several hosts, and a datanode cut off from the network without dying: four hosts in
# network namespaces joined by a bridge (namenode + 3 datanodes, each with its own
# address and its own config file, as deployed); put, get and a job across them; the
# link of one datanode goes down, the namenode declares it dead after dead_node_timeout and
# re-replicates its blocks; when the link comes back the node re-registers and its
# now-excess replicas are removed. Everything started here is stopped by pid.
source "$(dirname "$0")/../integration/lib.sh"
NET=10.231.$(( $$ % 200 + 20 ))
hosts="nn dn1 dn2 dn3"
source "$(dirname "$0")/../integration/netns.sh"
trap 'netns_down; cleanup' EXIT
netns_up
nn=$NET.1:9000
"$BIN/dfs-namenode" format --dir "$T/nn" >/dev/null
key=$T/nn/cluster.key
# one config file per host, as in dist/dfs.conf.example
cat >"$T/nn.conf" <<EOF
# the namenode host
name_dir = $T/nn
key_file = $key
listen = $nn
http = $NET.1:9870
dead_node_timeout = 2
stale_node_timeout = 1
log_file = $T/nn.log
EOF
# `ip netns exec` execs the daemon in place: $! is the daemon's own pid
ip netns exec "$tag-nn" "$BIN/dfs-namenode" --config "$T/nn.conf" &
pids+=($!)
i=2
for h in dn1 dn2 dn3; do
	dirs=$T/$h
	[ "$h" = dn1 ] && dirs="$T/dn1,$T/dn1-disk2" # two disks on this host
	cat >"$T/$h.conf" <<EOF
namenode = $nn
key_file = $key
data_dir = $dirs
listen = 0.0.0.0:9866
advertise = $NET.$i:9866   # what the others connect to
http = $NET.$i:9864
dead_node_timeout = 2
stale_node_timeout = 1
log_file = $T/$h.log
EOF
	ip netns exec "$tag-$h" "$BIN/dfs-datanode" --config "$T/$h.conf" --id "$h" &
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
# a job across the hosts: every task on a host holding its block
python3 -c '
import random
random.seed(3)
with open("'"$T"'/text", "w") as f:
    for i in range(60000):
        f.write(" ".join(random.choice(["red", "green", "blue", "needle"]) for _ in range(random.randint(1, 9))) + "\n")'
check "put a text file" c put -r 2 -b 256K "$T/text" /text
check "a job across the hosts" c run -q --input /text --output /out --grep needle
check "... equals grep" bash -c "ip netns exec $tag-nn '$BIN/dfs' -n $nn --key '$key' cat '/out/part-*' | cmp - <(grep -F needle '$T/text')"
[ "$(c job list --json | json 'd[-1]["node_local"] == d[-1]["tasks"]["total"] > 1')" = True ] &&
	ok "its tasks ran node-local on several hosts" || fail "job placement: $(c job list --json)"
check "a map job across the hosts" c run -q --input /text --output /wc --map 'wc -l'
[ "$(ip netns exec "$tag-nn" "$BIN/dfs" -n "$nn" --key "$key" cat '/wc/part-*' | awk '{s += $1} END {print s}')" = 60000 ] &&
	ok "map outputs sum to the line count" || fail "map outputs"
two_disks() { [ -n "$(find "$T/dn1/current" -name 'blk_*' ! -name '*.meta')" ] &&
	[ -n "$(find "$T/dn1-disk2/current" -name 'blk_*' ! -name '*.meta')" ]; }
check "dn1 spreads its replicas over its two disks" two_disks
metrics_up() { in_ns nn python3 -c 'import urllib.request,sys; sys.exit(0 if b"dfs_datanodes{state=\"live\"} 3" in urllib.request.urlopen("http://'"$NET"'.1:9870/metrics", timeout=5).read() else 1)'; }
check "namenode /metrics on its host address" metrics_up

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
netns_down
mkdir -p "$DFS_DIR/logs" && cp "$T"/nn.log "$T"/dn*.log "$DFS_DIR/logs/" # finish scans them
finish
