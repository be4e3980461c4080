# A namenode group started by hand on 127.0.0.1, for the tests and benchmarks that need
# one (until `dfs local up --namenodes N` exists). Source it with D set to an empty
# directory and dfs-namenode / dfs-datanode on $PATH; group_start N DATANODES formats
# and starts N namenodes (each with the first one's keys) and the datanodes, and sets
# NNS (the members' client addresses) and RAFT. Every process's pid is in $D/NAME.pid;
# group_stop kills them all (kill -9, by pid).
group_ports() { # N: N free local ports
	python3 -c '
import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))' "$1"
}
group_start_nn() { # K
	dfs-namenode --dir "$D/nn$1" --listen "127.0.0.1:${GP[$(($1 - 1))]}" \
		--set raft_id="$1" --set raft_addrs="$RAFT" --set namenodes="$NNS" \
		--set election_timeout="${ELECTION:-1}" --log "$D/logs/nn$1.log" \
		--http 127.0.0.1:0 --http-port-file "$D/nn$1.http" &
	echo $! >"$D/nn$1.pid"
	disown $!
}
group_start() { # N DATANODES
	local n=$1 dns=$2 k
	mkdir -p "$D/logs"
	read -r -a GP < <(group_ports $((2 * n)))
	NNS= RAFT=
	for k in $(seq 1 "$n"); do
		NNS=$NNS${NNS:+,}127.0.0.1:${GP[$((k - 1))]}
		RAFT=$RAFT${RAFT:+,}127.0.0.1:${GP[$((n + k - 1))]}
	done
	dfs-namenode format --dir "$D/nn1" >/dev/null || return 1
	for k in $(seq 2 "$n"); do
		mkdir -p "$D/nn$k"
		cp "$D/nn1/cluster.key" "$D/nn1/datanode.key" "$D/nn$k/"
		dfs-namenode format --dir "$D/nn$k" >/dev/null || return 1
	done
	for k in $(seq 1 "$n"); do group_start_nn "$k"; done
	for k in $(seq 1 "$dns"); do
		dfs-datanode --namenode "$NNS" --id dn$k --data "$D/dn$k" \
			--key "$D/nn1/cluster.key" --listen 127.0.0.1:0 --log "$D/logs/dn$k.log" &
		echo $! >"$D/dn$k.pid"
		disown $!
	done
}
group_stop() {
	local f
	for f in "$D"/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
}
group_alive() { kill -0 "$(cat "$D/nn$1.pid")" 2>/dev/null; }
# the member serving now: alive, and its /metrics says so
group_leader() {
	local k
	for k in 1 2 3 4 5; do
		[ -f "$D/nn$k.pid" ] && group_alive $k &&
			curl -s --max-time 2 "http://$(cat "$D/nn$k.http" 2>/dev/null)/metrics" |
			grep -q '^dfs_namenode_group_state{state="leader"' && { echo $k; return 0; }
	done
	return 1
}
