#!/usr/bin/env python3
"""Writes the fuzz seed corpus (tests/fuzz/corpus/T/seed-*): valid messages of every
family, so that libFuzzer starts from inputs that get past the first checks. Run it
again after a layout changes; crash inputs found later are added beside the seeds."""
import os, struct, zlib

HERE = os.path.dirname(os.path.abspath(__file__))

def s(x):
    x = x.encode() if isinstance(x, str) else x
    return struct.pack(">I", len(x)) + x

def frame(t, payload, reqid=1):
    return struct.pack(">IHHQIi", 0x44465331, t, 0, reqid, len(payload), 0) + payload

def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)

# ---- namenode: a role byte, then frames ----
attr_create = s("/a/f") + struct.pack(">IBHQ", 0o644, 0, 0, 0) + s("fuzz")
spec = (struct.pack(">I", 1) + s("/a") + s("/out") + s("wc -l") + struct.pack(">B", 1) +
        s("x") + struct.pack(">B", 0))
client = b"".join([
    frame(0x10, s("/a") + struct.pack(">IB", 0o755, 1)),            # mkdir -p
    frame(0x11, attr_create),                                      # create
    frame(0x12, struct.pack(">QQQI", 2, 0, 0, 0) + s("") + struct.pack(">I", 0)),  # add_block
    frame(0x13, struct.pack(">QQQI", 2, 0, 0, 0)),                 # complete
    frame(0x15, s("/a/f")),                                        # stat
    frame(0x16, s("/a") + s("") + struct.pack(">I", 100)),         # list
    frame(0x26, s("/a/f") + s("user.x") + struct.pack(">II", 0, 3) + b"abc"),  # setxattr
    frame(0x27, s("/a/f") + s("user.x")),                          # getxattr
    frame(0x30, spec),                                             # job submit
    frame(0x32, b""),                                              # job list
    frame(0x17, s("/a/f") + s("/a/g") + struct.pack(">I", 0)),     # rename
    frame(0x18, s("/a") + struct.pack(">B", 1)),                   # delete -r
    frame(0x1b, b""),                                              # report
    frame(0x1e, s("/")),                                           # fsck
    frame(0x37, struct.pack(">QQB", 1, 1, 1)),                     # block token
])
write("namenode", "client", b"\x00" + client)
write("namenode", "user", b"\x02" + client)  # the same as uid 1000: permission checks
datanode = b"".join([
    frame(0x40, s("dn9") + s("127.0.0.1:9") + struct.pack(">QQQIB", 1 << 30, 0, 1 << 30, 2, 0)),
    frame(0x42, struct.pack(">I", 2) + struct.pack(">QQQ", 5, 1, 100) * 2),
    frame(0x41, struct.pack(">QQQI", 1 << 30, 0, 1 << 30, 0)),
    frame(0x47, struct.pack(">I", 1) + s("job_x") + struct.pack(">IIBiQQQQ", 0, 1, 2, 0, 1, 1, 1, 1)
          + s("") + s("")),
    frame(0x44, struct.pack(">IQ", 1, 5)),
    frame(0x45, b""),
])
write("namenode", "datanode", b"\x01" + datanode)

# ---- wire: a selector byte, then the message ----
write("wire", "header", b"\x00" + frame(0x15, s("/x")))
crc = struct.pack(">I", zlib.crc32(b"hello") & 0xffffffff)
write("wire", "packet", b"\x01" + struct.pack(">QQIBI", 0, 0, 5, 1, 1) + crc + b"hello")
write("wire", "ack", b"\x02" + struct.pack(">QiI", 3, 0, 0xffffffff))
write("wire", "spec", b"\x03" + spec)
launch = (s("job_1") + struct.pack(">II", 0, 1) + s("cat") + b"\x02" + s("a|b") + b"\x01" +
          s("/in") + struct.pack(">QQQQQQ", 2, 100, 0, 100, 7, 1) + s("/o/_temporary/a") +
          struct.pack(">III", 0, 0, 600))
write("wire", "launch", b"\x04" + launch)
write("wire", "report", b"\x05" + s("job_1") + struct.pack(">IIBiQQQQ", 0, 1, 3, 1, 9, 9, 0, 0)
      + s("exit 1") + s("oops\n"))
write("wire", "info", b"\x06" + s("job_1") + b"\x02" + s("/o") + s("grep x") +
      struct.pack(">IIIIIIII", 0, 4, 4, 0, 0, 0, 4, 0) + struct.pack(">QQQBqq", 9, 9, 2, 4, 1, 2) +
      s("") + s(""))
write("wire", "attemptlog", b"\x07" + struct.pack(">II", 0, 1) + s("dn1") +
      struct.pack(">BiBBq", 2, 0, 0, 1, 5) + s("") + s(""))
write("wire", "auth", b"\x08" + struct.pack(">IB", 3, 1) + bytes(64) + struct.pack(">II", 0, 0))
write("wire", "grep", b"\x09" + b"\x00needle\x00hay\nneedle in hay\nno\n")
write("wire", "regex", b"\x09" + b"\x03^(a|b)+$\x00ab\nabc\nba\n")
write("wire", "split", b"\x0a" + b"\x05\x07" + b"one\ntwo\n\nlonger line here\nlast")

keys = struct.pack(">I", 2) + struct.pack(">Iq", 7, 1 << 40) + bytes(range(32)) + \
    struct.pack(">Iq", 8, 1 << 40) + bytes(32)
token = struct.pack(">IQQBqI", 7, 42, 1, 1, 1 << 40, 0) + bytes(32)
write("wire", "token", b"\x0c" + keys + token)
write("wire", "config", b"\x0b" + b"# a config\nblock_size = 1M\nreplication=2\n"
      b"metadata_sync = always\nspeculation = off\ntask_user = nobody\nlisten = 0.0.0.0:9000\n")

# ---- blockstore: u16 data length, data, .meta ----
data = b"block data\n" * 10
meta = b"DFSC" + struct.pack(">HHII", 1, 0, 65536, 0)
write("blockstore", "empty-meta", struct.pack(">H", len(data)) + data + meta)
write("blockstore", "short-meta", struct.pack(">H", len(data)) + data + meta[:10])
