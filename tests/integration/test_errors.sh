#!/usr/bin/env bash
# Every bad input the tool can meet gets a clear error and a non-zero exit, and hostile
# bytes on the daemons' ports (garbage, oversized frames, a wrong key) cost only that
# connection: the servers keep serving.
source "$(dirname "$0")/lib.sh"
start_cluster -o block_size=1M

echo data >"$T/f"
dfs mkdir -p /d/sub
dfs put "$T/f" /d/file

expect_error "get a missing path" "/nope: no such file or directory" dfs get /nope "$T/x"
expect_error "cat a missing path" "no such file or directory" dfs cat /nope
expect_error "ls a missing path" "no such file or directory" dfs ls /nope
expect_error "stat a missing path" "no such file or directory" dfs stat /nope
expect_error "rm a missing path" "no such file or directory" dfs rm /nope
check "rm -f a missing path" dfs rm -f /nope
expect_error "mv a missing path" "no such file or directory" dfs mv /nope /nope2
expect_error "put a missing local file" "no such file or directory" dfs put "$T/missing" /x
expect_error "put under a missing directory" "no such file or directory" dfs put "$T/f" /no/such/dir/f
expect_error "mkdir without -p under a missing parent" "no such file or directory" dfs mkdir /a/b/c
expect_error "put over an existing file" "put: /d/file: file exists" dfs put "$T/f" /d/file
check "put -f over an existing file" dfs put -f "$T/f" /d/file
expect_error "mkdir an existing directory" "file exists" dfs mkdir /d
expect_error "rm a non-empty directory without -r" "is a directory" dfs rm /d
expect_error "get onto an existing local file" "file exists" dfs get /d/file "$T/f"
expect_error "replication 0" "replication must be between 1 and 512" dfs put -r 0 "$T/f" /r0
expect_error "replication 513" "replication must be between 1 and 512" dfs put -r 513 "$T/f" /r513
expect_error "setrep 0" "replication must be between 1 and 512" dfs setrep 0 /d/file
expect_error "setrep 600" "replication must be between 1 and 512" dfs setrep 600 /d/file
expect_error "block size not a multiple of 64K" "multiple of 64K" dfs put -b 1000 "$T/f" /bs
expect_error "cat a directory" "is a directory" dfs cat /d
# space is checked by what a block will hold: no datanode has 1 TiB free, yet a 6-byte
# file and a 3 MiB one with 1 TiB blocks fit; a stream of unknown length needs a whole
# block, and the error says so
if [ "$(df -B1 --output=avail "$DFS_DIR" | tail -1)" -lt $((1 << 40)) ]; then
	printf 'small\n' >"$T/six"
	check "a 6-byte put with 1 TiB blocks" dfs put -b 1024G "$T/six" /six
	check "... reads back" bash -c "[ \"\$(dfs cat /six)\" = small ]"
	head -c 3M /dev/urandom >"$T/three"
	check "a 3 MiB put with 1 TiB blocks" bash -c "dfs put -b 1024G '$T/three' /three && dfs cat /three | cmp - '$T/three'"
	expect_error "a stream too big for the room left" "room for a block.*block size, 1048576 MiB" \
		bash -c "head -c 3M /dev/zero | dfs put -b 1024G - /stream"
else
	echo "(a datanode has 1 TiB free: the space checks are not tried)"
fi
expect_error "a file used as a directory" "not a directory" dfs put "$T/f" /d/file/x
expect_error "mkdir under a file" "not a directory" dfs mkdir -p /d/file/x
expect_error "blocks of a directory" "is a directory" dfs blocks /d
expect_error "mv a directory over a file" "not a directory" dfs mv /d/sub /d/file
expect_error "rm the root" "root|busy" dfs rm -r /
expect_error "a name over 255 bytes" "too long" dfs mkdir "/$(printf 'x%.0s' $(seq 300))"
expect_error "a '..' component" "invalid" dfs mkdir /d/../e
expect_error "several sources into a non-directory" "not a directory" dfs put "$T/f" "$T/f" /d/file
expect_error "unknown command" "unknown command" dfs frobnicate
expect_error "unknown option" "usage|unrecognized|invalid" dfs ls --frobnicate /
expect_error "missing operand" "usage" dfs put "$T/f"
expect_error "a bad -o setting" "unknown setting" dfs local up --dir "$T/other" -o nosuch=1
expect_error "no cluster to talk to" "no local cluster|cannot find" env DFS_DIR="$T/nothing" dfs ls /
check "dfs --help" bash -c "dfs --help | grep -q 'put \[-f\]'"
check "dfs put --help explains -r" bash -c "dfs put --help | grep -q -- '--replication'"

# a wrong key: both daemons refuse with a clear message
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/wrong.key"; echo >>"$T/wrong.key"
expect_error "a wrong key at the namenode" "wrong cluster key" dfs --key "$T/wrong.key" ls /
echo "not a key" >"$T/bad.key"
expect_error "a malformed key file" "malformed key" dfs --key "$T/bad.key" ls /
expect_error "a missing key file" "cannot load cluster key" dfs --key "$T/none.key" ls /

nn=$(dfs local status --json | json 'd["namenode"]["addr"]')
dn=$(dfs local status --json | json 'd["datanodes"][0]["addr"]')

# hostile bytes on both ports: garbage, an oversized header, a truncated frame, a wrong
# key (a correct-looking handshake made with another key), a silent client
python3 - "$nn" "$dn" <<'PY' && ok "hostile connections were all dropped" || fail "hostile connections"
import hashlib, hmac, os, socket, struct, sys
def conn(addr):
    h, p = addr.rsplit(":", 1)
    s = socket.create_connection((h, int(p)), timeout=5)
    hdr = s.recv(24, socket.MSG_WAITALL)
    ln = struct.unpack(">I", hdr[16:20])[0]
    body = s.recv(ln, socket.MSG_WAITALL)
    return s, body
def closed(s):
    try:
        while True:
            d = s.recv(4096)
            if not d:
                return True
    except (ConnectionResetError, socket.timeout):
        return True
    except OSError:
        return True
bad = 0
for addr in sys.argv[1:]:
    s, _ = conn(addr); s.sendall(os.urandom(4096)); bad += not closed(s)
    s, _ = conn(addr); s.sendall(struct.pack(">IHHQIi", 0x44465331, 2, 0, 1, 1 << 30, 0)); bad += not closed(s)
    s, _ = conn(addr); s.sendall(struct.pack(">IHHQIi", 0x44465331, 2, 0, 1, 100, 0) + b"x" * 10); s.shutdown(socket.SHUT_WR); bad += not closed(s)
    s, hello = conn(addr)
    snonce = hello[5:37]; cn = os.urandom(32); key = os.urandom(32)
    mac = hmac.new(key, b"dfs-client" + snonce + cn, hashlib.sha256).digest()
    version = struct.unpack(">I", hello[0:4])[0]  # the server's protocol version
    body = struct.pack(">IB", version, 1) + cn + mac + struct.pack(">II", 0, 0)
    s.sendall(struct.pack(">IHHQIi", 0x44465331, 2, 0, 0, len(body), 0) + body)
    r = s.recv(24, socket.MSG_WAITALL)
    status = struct.unpack(">i", r[20:24])[0] if len(r) == 24 else -1
    bad += status != 13  # PROTO_E_ACCES
    bad += not closed(s)
sys.exit(1 if bad else 0)
PY

check "namenode still serves after hostile input" bash -c "dfs ls /d >/dev/null"
check "datanodes still serve after hostile input" bash -c "dfs cat /d/file | grep -q data"
head -c 5M /dev/urandom >"$T/after"
check "writes still work" bash -c "dfs put '$T/after' /after && dfs cat /after | cmp - '$T/after'"
[ "$(dfs report --json | json 'sum(n["state"]=="live" for n in d["datanodes"])')" = 3 ] &&
	ok "all datanodes still live" || fail "a datanode died"
finish
