# Hosts in network namespaces on one bridge, for the tests that need several hosts or a
# cable to pull. Source it after lib.sh, with `hosts` set to the host names and NET to a
# /24 prefix (10.x.y) of this test's own; then netns_up makes namespace "$tag-NAME" for
# each host, with address $NET.K (K its place in `hosts`, from 1) on eth0, plugged into
# a bridge in "$tag-sw" through the veth "v$tag$K" (down that one to pull the cable).
# Daemons started with `ip netns exec` (which execs in place, so $! is the daemon) go in
# `pids`; netns_down stops them (SIGTERM, then kill -9 after 5 s or `grace` tenths of a
# second) and deletes the namespaces. It needs root and iproute2 (skip otherwise).
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
	skip "needs root and iproute2 for network namespaces"
fi
tag=dfs$$
pids=()
in_ns() { local h=$1; shift; ip netns exec "$tag-$h" "$@"; }
netns_stop_pids() { # SIGNAL TENTHS: signal every daemon, wait up to TENTHS/10 s for all
	local p alive
	for p in "${pids[@]}"; do kill -"$1" "$p" 2>/dev/null; done
	for _ in $(seq "$2"); do
		alive=0
		for p in "${pids[@]}"; do is_running "$p" && alive=1; done
		[ $alive = 0 ] && return 0
		sleep 0.1
	done
	return 1
}
netns_down() {
	# a graceful stop first, so sanitizer builds get to report leaks
	netns_stop_pids TERM "${grace:-50}" || netns_stop_pids 9 50
	pids=()
	local h
	for h in $hosts sw; do ip netns del "$tag-$h" 2>/dev/null; done
}
netns_up() {
	ip netns add "$tag-sw" || { fail "cannot create network namespaces"; finish; }
	in_ns sw ip link add br0 type bridge
	in_ns sw ip link set br0 up
	local i=1 h
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
}
