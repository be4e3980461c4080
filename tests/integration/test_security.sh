#!/usr/bin/env bash
# Who gets in, and what they may touch, done for real on a running cluster:
# - block access tokens: a datanode refuses a read or write without a valid token for
#   that block and mode (none, forged, widened, another block's, expired), and the
#   client library fetches a fresh token by itself once its own expired;
# - block keys roll over every 2 s while data is written and read, and nothing breaks;
# - the cluster key is not the datanode key: a client-key holder cannot pose as a
#   datanode, to the namenode or to a datanode;
# - a captured handshake replayed on a new connection is refused.
source "$(dirname "$0")/lib.sh"
PROBE=${DFS_PROBE:?DFS_PROBE must name the blockprobe binary (make integration sets it)}
start_cluster -o block_size=64K -o block_token_lifetime=3 -o block_key_interval=2

nn=$(dfs local status --json | json 'd["namenode"]["addr"]')
key=$DFS_DIR/cluster.key
head -c 300K /dev/urandom >"$T/f"
check "put a five-block file" dfs put "$T/f" /f

# ---- tokens ----
out=$("$PROBE" "$nn" "$key" /f valid none forged widened other readsync asdatanode 2>&1)
echo "$out" | sed 's/^/  probe: /'
expect_line() { # CASE PATTERN
	if grep -qE "^$1: $2" <<<"$out"; then ok "$1: $2"; else fail "$1: expected '$2'"; fi
}
expect_line valid "ok"
expect_line none "refused: no block token"
expect_line forged "refused: forged block token"
expect_line widened "refused: forged block token"
expect_line other "refused: block token is for another block"
expect_line readsync "refused: block token does not allow writing"
expect_line asdatanode "refused: wrong key for the role"
out=$("$PROBE" "$nn" "$key" /f expired reread 2>&1)
echo "$out" | sed 's/^/  probe: /'
expect_line expired "refused: block token expired"
expect_line reread "ok"
grep -q "refused: block token expired" "$DFS_DIR"/logs/dn*.log &&
	ok "the datanode logged the refusal" || fail "no refusal in the datanode logs"

# ---- keys roll over under a running workload ----
head -c 40M /dev/urandom >"$T/big"
check "put while the block keys roll" dfs put "$T/big" /big
# the probe waits until a token it got now has expired (keys roll twice meanwhile)
out=$("$PROBE" "$nn" "$key" /big expired 2>&1)
expect_line expired "refused: block token expired"
check "get after several rolls" bash -c "dfs get /big '$T/big.out' && cmp '$T/big' '$T/big.out'"
check "a job after several rolls" bash -c "dfs run -q --input /big --output /job --map 'wc -c' >/dev/null"
sum=$(dfs cat '/job/part-*' | awk '{s += $1} END {print s}')
[ "$sum" = $((40 * 1024 * 1024)) ] && ok "the job read every byte ($sum)" ||
	fail "the job read $sum bytes"

# ---- a client-key holder posing as a datanode ----
mkdir -p "$T/fake"
"$BIN/dfs-datanode" --namenode "$nn" --data "$T/fake" --id fake --listen 127.0.0.1:0 \
	--key "$key" --datanode-key "$key" --log "$T/fake.log" &
fake=$!
trap 'kill "$fake" 2>/dev/null; cleanup' EXIT
if wait_for 10 grep -q "wrong datanode key" "$T/fake.log"; then
	ok "the namenode refused a datanode holding only the cluster key"
else
	fail "a fake datanode was not refused"
fi
dfs report --json | json '[n["id"] for n in d["datanodes"]]' | grep -q fake &&
	fail "the fake datanode is listed" || ok "the fake datanode is not listed"
kill "$fake"; wait "$fake" 2>/dev/null

# ---- a replayed handshake ----
cat >"$T/replay.py" <<'PY'
import hashlib, hmac, os, socket, struct, sys
host, port = sys.argv[1].rsplit(":", 1)
key = bytes.fromhex(open(sys.argv[2]).read().strip())
def hello():
    s = socket.create_connection((host, int(port)), timeout=5)
    h = s.recv(24, socket.MSG_WAITALL)
    return s, s.recv(struct.unpack(">I", h[16:20])[0], socket.MSG_WAITALL)
def answer(s, frame):
    s.sendall(frame)
    r = s.recv(24, socket.MSG_WAITALL)
    return struct.unpack(">i", r[20:24])[0] if len(r) == 24 else -1
# an honest handshake, captured
s, body = hello()
version, snonce, cn = struct.unpack(">I", body[:4])[0], body[5:37], os.urandom(32)
mac = hmac.new(key, b"dfs-client" + snonce + cn, hashlib.sha256).digest()
p = struct.pack(">IB", version, 1) + cn + mac + struct.pack(">II", os.getuid(), os.getgid())
captured = struct.pack(">IHHQIi", 0x44465331, 2, 0, 0, len(p), 0) + p
first = answer(s, captured)
# the same bytes on a new connection: that server nonce is another
s2, _ = hello()
second = answer(s2, captured)
print(first, second)
sys.exit(0 if first == 0 and second == 13 else 1)
PY
check "a captured handshake replayed on a new connection is refused" \
	python3 "$T/replay.py" "$nn" "$key"
check "the cluster still serves" bash -c "dfs cat /f | cmp - '$T/f'"
finish
