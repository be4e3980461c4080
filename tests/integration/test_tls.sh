#!/usr/bin/env bash
# TLS on every connection (`dfs local up --tls`), done for real:
# - the core integration test passes on a TLS cluster (test_core.sh, DFS_TEST_TLS=1);
# - the namenode and the datanodes speak TLS 1.3 only, and ask for a client certificate
#   from the cluster's CA: without one, or with another CA's, the handshake fails;
# - a plaintext client is refused with a message that says why, and so is a TLS client
#   against a plaintext cluster;
# - the tool, a job and the FUSE mount work over TLS; the status pages are HTTPS.
source "$(dirname "$0")/lib.sh"

echo "--- test_core.sh on a TLS cluster"
if DFS_TEST_TLS=1 DFS_BIN="$BIN" bash "$(dirname "$0")/test_core.sh" >"$T/core.out" 2>&1; then
	ok "test_core.sh passes with TLS on ($(grep -c '^ok:' "$T/core.out") checks)"
else
	fail "test_core.sh failed with TLS on"; tail -30 "$T/core.out" >&2
fi

MOUNT=1 start_cluster --tls -o block_size=1M
trap 'dfs local down --dir "$T/other" -q >/dev/null 2>&1; cleanup' EXIT
nn=$(dfs local status --json | json 'd["namenode"]["addr"]')
dn=$(dfs local status --json | json 'd["datanodes"][0]["addr"]')
mnt=$(dfs local status --json | json 'd["mount"]')
tls=$DFS_DIR/tls

# ---- what is on the wire ----
cat >"$T/wire.py" <<'PY'
import socket, ssl, struct, sys
addr, tls, mode = sys.argv[1], sys.argv[2], sys.argv[3]
host, port = addr.rsplit(":", 1)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(tls + "/ca.pem")
if mode == "cert":
    ctx.load_cert_chain(tls + "/client.pem", tls + "/client.key")
raw = socket.create_connection((host, int(port)), timeout=5)
try:
    s = ctx.wrap_socket(raw, server_hostname=host)
    # TLS 1.3 only: the server proves itself; with no client certificate it ends the
    # session at once (a TLS 1.3 client learns that on its first read)
    hdr = s.recv(24)
    if len(hdr) < 24:
        print("refused"); sys.exit(0)
    magic, typ = struct.unpack(">IH", hdr[:6])
    print("%s hello=%s" % (s.version(), magic == 0x44465331 and typ == 1))
except (ssl.SSLError, ConnectionError, socket.timeout) as e:
    print("refused", type(e).__name__)
PY
out=$(python3 "$T/wire.py" "$nn" "$tls" cert)
[ "$out" = "TLSv1.3 hello=True" ] && ok "namenode: TLS 1.3 with a client certificate, dfs inside ($out)" ||
	fail "namenode with a client certificate: $out"
out=$(python3 "$T/wire.py" "$dn" "$tls" cert)
[ "$out" = "TLSv1.3 hello=True" ] && ok "datanode: TLS 1.3 with a client certificate, dfs inside ($out)" ||
	fail "datanode with a client certificate: $out"
for a in "$nn" "$dn"; do
	out=$(python3 "$T/wire.py" "$a" "$tls" nocert)
	[[ $out == refused* ]] && ok "$a refuses a TLS client without a certificate ($out)" ||
		fail "$a let in a client without a certificate: $out"
done
cat >"$T/plain.py" <<'PY'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=8)
s.sendall(b"DFS1" + bytes(200))  # a dfs frame, not a TLS hello
try:
    d = s.recv(4096)
    print("closed" if not d or d[:1] == b"\x15" else "answered %r" % d[:8])
except (ConnectionError, socket.timeout) as e:
    print("closed", type(e).__name__)
PY
for a in "$nn" "$dn"; do
	out=$(python3 "$T/plain.py" "$a")
	[[ $out == closed* ]] && ok "$a drops plaintext bytes ($out)" || fail "$a answered plaintext: $out"
done

# the status page and metrics are HTTPS with the node's certificate
cat >"$T/https.py" <<'PY'
import ssl, sys, urllib.request
addr, ca = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
body = urllib.request.urlopen("https://%s/metrics" % addr, context=ctx, timeout=5).read()
if b"dfs_" not in body:
    sys.exit("no metrics over HTTPS")
try:
    urllib.request.urlopen("http://%s/metrics" % addr, timeout=5).read()
    sys.exit("plain HTTP answered")
except OSError:
    pass
PY
for w in "$(dfs local status --json | json 'd["namenode"]["http"]')" \
	"$(dfs local status --json | json 'd["datanodes"][0]["http"]')"; do
	check "$w serves /metrics over HTTPS only" python3 "$T/https.py" "$w" "$tls/ca.pem"
done

# ---- clients that do not fit ----
expect_error "a plaintext client is refused" "no greeting.*TLS" \
	env -u DFS_DIR dfs -n "$nn" --key "$DFS_DIR/cluster.key" ls /
dfs local up --dir "$T/other" --tls --no-mount -q --datanodes 1 ||
	fail "cannot start a second TLS cluster"
expect_error "a client certificate from another CA is refused" "certificate|unknown ca" \
	env -u DFS_DIR dfs -n "$nn" --key "$DFS_DIR/cluster.key" --tls-cert "$T/other/tls/client.pem" \
	--tls-key "$T/other/tls/client.key" --tls-ca "$tls/ca.pem" ls /
expect_error "a server certificate from another CA is refused" "certificate" \
	env -u DFS_DIR dfs -n "$nn" --key "$DFS_DIR/cluster.key" --tls-cert "$tls/client.pem" \
	--tls-key "$tls/client.key" --tls-ca "$T/other/tls/ca.pem" ls /
dfs local down --dir "$T/other" -q >/dev/null
rm -rf "$T/other/tls" # the same cluster, restarted plaintext
dfs local up --dir "$T/other" --no-mount -q >/dev/null || fail "cannot restart it plaintext"
other=$(dfs --dir "$T/other" local status --json | json 'd["namenode"]["addr"]')
expect_error "a TLS client is refused by a plaintext cluster" "TLS" \
	env -u DFS_DIR dfs -n "$other" --key "$T/other/cluster.key" --tls-cert "$tls/client.pem" \
	--tls-key "$tls/client.key" --tls-ca "$tls/ca.pem" ls /
dfs local down --dir "$T/other" -q >/dev/null

# ---- everyday use over TLS ----
head -c 7M /dev/urandom >"$T/f"
check "put and get over TLS" bash -c "dfs put '$T/f' /f && dfs get /f '$T/f.out' && cmp '$T/f' '$T/f.out'"
check "a job over TLS" bash -c "dfs run -q --input /f --output /wc --map 'wc -c' >/dev/null"
sum=$(dfs cat '/wc/part-*' | awk '{s += $1} END {print s}')
[ "$sum" = $((7 * 1024 * 1024)) ] && ok "the job read every byte" || fail "the job read $sum bytes"
check "FUSE over TLS: cp in, read back" bash -c "cp '$T/f' '$mnt/g' && cmp '$T/f' '$mnt/g'"
check "FUSE over TLS: append, then read through the tool" \
	bash -c "echo tail >>'$mnt/g' && dfs cat /g | tail -c 5 | grep -q tail"
finish
