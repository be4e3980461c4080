#!/usr/bin/env bash
# Hostile connections done for real: hundreds of silent connections, slow senders
# before and after the handshake, against the namenode and a datanode, while a normal
# client keeps working. Connections still in the handshake have their own cap (oldest
# dropped first) and a deadline; a frame begun must be finished within frame_timeout;
# rejected peers are logged at a bounded rate.
source "$(dirname "$0")/../integration/lib.sh"
start_cluster -o handshake_timeout=2 -o frame_timeout=3 -o max_unauth_connections=32

nn=$(dfs local status --json | json 'd["namenode"]["addr"]')
dn=$(dfs local status --json | json '[n["addr"] for n in d["datanodes"]][0]')
head -c 3M /dev/urandom >"$T/f"
dfs put "$T/f" /f

cat >"$T/flood.py" <<'PY'
import hashlib, hmac, os, socket, struct, sys, time
host, port = sys.argv[1].rsplit(":", 1)
key = bytes.fromhex(open(sys.argv[2]).read().strip())
n, secs, mode, ready = int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
def conn():
    s = socket.create_connection((host, int(port)), timeout=5)
    return s
def authed():
    s = conn()
    hdr = s.recv(24, socket.MSG_WAITALL)
    if len(hdr) < 24:
        raise OSError("dropped before its greeting")  # the flood pushed it out
    length = struct.unpack(">I", hdr[16:20])[0]
    body = s.recv(length, socket.MSG_WAITALL)
    if len(body) < 37:
        raise OSError("dropped during its greeting")
    snonce = body[5:37]
    cnonce = os.urandom(32)
    proof = hmac.new(key, b"dfs-client" + snonce + cnonce, hashlib.sha256).digest()
    version = struct.unpack(">I", body[0:4])[0]  # the server's protocol version
    p = struct.pack(">IB", version, 1) + cnonce + proof + struct.pack(">II", os.getuid(), os.getgid())
    s.sendall(struct.pack(">IHHQIi", 0x44465331, 2, 0, 1, len(p), 0) + p)
    s.recv(24, socket.MSG_WAITALL)
    return s
socks, closed = [], 0
for i in range(n):
    try:
        socks.append(authed() if mode == "slow-authed" else conn())
    except OSError:
        closed += 1
open(ready, "w").close()  # every connection is open: the test's clients start now
frame = struct.pack(">IHHQIi", 0x44465331, 0x15, 0, 7, 100, 0)
end = time.time() + secs
i = 0
while time.time() < end:
    for s in list(socks):
        if mode.startswith("slow"):
            try:
                s.send(frame[i % len(frame):i % len(frame) + 1])
            except OSError:
                socks.remove(s); closed += 1
    i += 1
    time.sleep(0.5)
# who is still open? (a closed peer reads as EOF or an error)
for s in socks:
    s.setblocking(False)
    try:
        while True:  # the server's HELLO may be waiting before the end of the stream
            if s.recv(65536) == b"":
                closed += 1
                break
    except BlockingIOError:
        pass
    except OSError:
        closed += 1
print(closed)
PY
key=$DFS_DIR/cluster.key
python3 "$T/flood.py" "$nn" "$key" 400 6 silent "$T/r1" >"$T/silent" &
p1=$!
python3 "$T/flood.py" "$nn" "$key" 10 6 slow "$T/r2" >"$T/slow" &
p2=$!
python3 "$T/flood.py" "$nn" "$key" 5 6 slow-authed "$T/r3" >"$T/slowauth" &
p3=$!
python3 "$T/flood.py" "$dn" "$key" 300 6 silent "$T/r4" >"$T/dnsilent" &
p4=$!
wait_for 30 test -e "$T/r1" -a -e "$T/r2" -a -e "$T/r3" -a -e "$T/r4" ||
	fail "the flood did not start"
for i in 1 2 3; do
	check "ls during the flood ($i)" timeout 10 dfs ls /
	check "put during the flood ($i)" timeout 10 dfs put -f "$T/f" /g$i
	check "get during the flood ($i)" bash -c "timeout 10 dfs get /f - | cmp - '$T/f'"
	sleep 1 # pacing: the three rounds spread over the flood's 6 s
done
wait $p1 $p2 $p3 $p4
[ "$(cat "$T/silent")" -ge 360 ] && ok "silent connections to the namenode dropped ($(cat "$T/silent") of 400)" ||
	fail "only $(cat "$T/silent") of 400 silent namenode connections were closed"
[ "$(cat "$T/slow")" = 10 ] && ok "slow senders in the handshake dropped" || fail "slow: $(cat "$T/slow") of 10 closed"
[ "$(cat "$T/slowauth")" = 5 ] && ok "authenticated slow senders dropped (frame_timeout)" ||
	fail "slow-authed: $(cat "$T/slowauth") of 5 closed"
[ "$(cat "$T/dnsilent")" -ge 200 ] && ok "silent connections to a datanode dropped ($(cat "$T/dnsilent") of 300)" ||
	fail "only $(cat "$T/dnsilent") of 300 silent datanode connections were closed"
lines=$(grep -c 'peer .*: \(dropped\|no handshake\|a frame\)' "$DFS_DIR/logs/namenode.log")
[ "$lines" -lt 100 ] && grep -q 'similar messages suppressed' "$DFS_DIR/logs/namenode.log" &&
	ok "rejections logged at a bounded rate ($lines lines for 400+ peers)" || fail "$lines rejection lines"
check "the namenode still serves" dfs stat /f
check "the cluster is healthy" bash -c "dfs fsck / >/dev/null"
finish
