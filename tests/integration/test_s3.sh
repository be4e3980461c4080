#!/usr/bin/env bash
# The S3 gateway (dfs-s3) with the real clients Debian packages: boto3 over every API
# (s3_boto.py, under Debian's /usr/bin/python3 and under a newer python3 with its own
# boto3 when the machine has one), awscli (a 100 MiB multipart cp, sync, ls, rm,
# s3api), s3cmd (put, get, ls, del, multipart), rclone (sync in and out, check);
# crossing interfaces (S3 <-> dfs put/get <-> the mount), ETags invalidated by
# `put -f` and by a write through the mount, the hidden user.s3.* xattrs, a 300 MiB
# object through a gateway whose peak RSS barely grows, datanodes killed mid-GetObject
# and mid-multipart upload, permissions
# by access key (a second gateway whose key maps to uid 1234), and /metrics.
source "$(dirname "$0")/lib.sh"
for c in aws s3cmd rclone; do command -v $c >/dev/null || skip "$c is not installed (make deps-test)"; done
/usr/bin/python3 -c 'import boto3' 2>/dev/null || skip "python3-boto3 is not installed"
MOUNT=1 start_cluster -o block_size=4M
st=$(dfs local status --json)
[ "$(json 'd["s3"] is not None' <<<"$st")" = True ] && ok "local up started a gateway" || { fail "no s3 in local status: $st"; finish; }
addr=$(json 'd["s3"]["addr"]' <<<"$st")
AK=$(json 'd["s3"]["access_key"]' <<<"$st")
SK=$(json 'd["s3"]["secret_key"]' <<<"$st")
mnt=$(json 'd["mount"] or ""' <<<"$st")
EP=http://$addr

# ---- awscli
export AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=$T/aws.conf AWS_SHARED_CREDENTIALS_FILE=$T/aws.cred AWS_PAGER=
: >"$AWS_CONFIG_FILE"; : >"$AWS_SHARED_CREDENTIALS_FILE"
aws() { command aws --endpoint-url "$EP" "$@"; }
check "aws s3 mb" aws s3 mb s3://awsb
# ---- large objects stream: the gateway's peak RSS grows by far less than the object
s3pid=$(json 'd["s3"]["pid"]' <<<"$st")
hwm() { awk '/VmHWM/ {print int($2 / 1024)}' /proc/"$s3pid"/status; }
head -c 300M /dev/urandom >"$T/huge"
h0=$(hwm)
aws s3api put-object --bucket awsb --key huge --body "$T/huge" >/dev/null &&
	aws s3api get-object --bucket awsb --key huge "$T/huge.back" >/dev/null &&
	cmp -s "$T/huge" "$T/huge.back" && ok "a 300 MiB single PutObject and GetObject" || fail "300 MiB single put/get"
h1=$(hwm)
[ $((h1 - h0)) -lt 150 ] && ok "the gateway's peak RSS grew ${h0} -> ${h1} MiB while 300 MiB went through, each way" ||
	fail "the gateway's peak RSS grew ${h0} -> ${h1} MiB for a 300 MiB object"
rm -f "$T/huge" "$T/huge.back"

# ---- boto3
if /usr/bin/python3 "$(dirname "$0")/s3_boto.py" "$EP" "$AK" "$SK" >"$T/boto.out" 2>&1; then
	ok "boto3 $(/usr/bin/python3 -c 'import boto3; print(boto3.__version__)'): $(grep -c '^ok:' "$T/boto.out") checks"
else
	fail "boto3 (Debian's):"; grep -v '^ok:' "$T/boto.out" | tail -20 >&2
fi
py=$(command -v python3)
if [ "$py" != /usr/bin/python3 ] && "$py" -c 'import boto3' 2>/dev/null; then
	if "$py" "$(dirname "$0")/s3_boto.py" "$EP" "$AK" "$SK" >"$T/boto2.out" 2>&1; then
		ok "boto3 $("$py" -c 'import boto3; print(boto3.__version__)') ($py): $(grep -c '^ok:' "$T/boto2.out") checks"
	else
		fail "boto3 ($py):"; grep -v '^ok:' "$T/boto2.out" | tail -20 >&2
	fi
fi

head -c 100M /dev/urandom >"$T/big"
check "aws s3 cp 100 MiB up (multipart)" aws s3 cp --only-show-errors "$T/big" s3://awsb/data/big
etag=$(aws s3api head-object --bucket awsb --key data/big --query ETag --output text)
[[ $etag == *-* ]] && ok "it went multipart (ETag $etag)" || fail "not multipart: $etag"
check "aws s3 cp down" aws s3 cp --only-show-errors s3://awsb/data/big "$T/big.back"
cmp -s "$T/big" "$T/big.back" && ok "100 MiB round trip" || fail "100 MiB differs"
dfs get /awsb/data/big "$T/big.dfs" && cmp -s "$T/big" "$T/big.dfs" && ok "the S3 object reads the same through dfs get" ||
	fail "dfs get of an S3 object differs"
[ -n "$mnt" ] && { cmp -s "$T/big" "$mnt/awsb/data/big" && ok "... and through the mount" || fail "mount read differs"; }
mkdir -p "$T/tree/sub"
for i in 1 2 3; do echo "file $i" >"$T/tree/f$i"; echo "sub $i" >"$T/tree/sub/s$i"; done
check "aws s3 sync up" aws s3 sync --only-show-errors "$T/tree" s3://awsb/tree
out=$(aws s3 sync "$T/tree" s3://awsb/tree)
[ -z "$out" ] && ok "a second sync copies nothing" || fail "second sync copied: $out"
n=$(aws s3 ls --recursive s3://awsb/tree/ | wc -l)
[ "$n" = 6 ] && ok "aws s3 ls --recursive: 6 keys" || fail "aws s3 ls: $n keys"
aws s3 ls s3://awsb/tree/ | grep -q 'PRE sub/' && ok "aws s3 ls shows PRE sub/" || fail "no PRE sub/"
check "aws s3 sync down" aws s3 sync --only-show-errors s3://awsb/tree "$T/tree.back"
diff -r "$T/tree" "$T/tree.back" >/dev/null && ok "sync round trip" || fail "sync round trip differs"
echo changed >"$T/tree/f2"
aws s3 sync --only-show-errors "$T/tree" s3://awsb/tree
[ "$(aws s3 cp s3://awsb/tree/f2 -)" = changed ] && ok "sync uploads a changed file" || fail "changed file not synced"
check "aws s3 rm --recursive" aws s3 rm --only-show-errors --recursive s3://awsb/tree
[ -z "$(aws s3 ls s3://awsb/tree/)" ] && ok "all gone" || fail "keys left after rm"
aws s3api list-objects-v2 --bucket awsb --query 'Contents[].Key' --output text | grep -q data/big &&
	ok "aws s3api list-objects-v2" || fail "s3api list-objects-v2"

# ---- a datanode killed during a GetObject, then during a multipart upload
aws s3 cp --only-show-errors s3://awsb/data/big "$T/k.get" & cp_pid=$!
wait_for 30 test -s "$T/k.get" || fail "the GetObject did not start"
dfs local stop-node dn1 --kill
wait "$cp_pid" && cmp -s "$T/big" "$T/k.get" && ok "a GetObject survives a datanode killed mid-read" ||
	fail "GetObject with a datanode killed"
dfs local start-node dn1
head -c 60M /dev/urandom >"$T/k.up"
aws s3 cp --only-show-errors "$T/k.up" s3://awsb/killed-up & cp_pid=$!
has_part() { dfs ls -R /awsb/.dfs-s3-uploads 2>/dev/null | grep -q '/0000[1-9]'; }
wait_for 60 has_part || fail "the multipart upload did not start"
dfs local stop-node dn2 --kill
if wait "$cp_pid"; then
	aws s3 cp --only-show-errors s3://awsb/killed-up "$T/k.back" && cmp -s "$T/k.up" "$T/k.back" &&
		ok "a multipart upload survives a datanode killed mid-upload" || fail "the object differs"
else
	fail "the multipart upload failed when a datanode died"
fi
dfs local start-node dn2

# ---- crossing interfaces and ETags
head -c 3M /dev/urandom >"$T/p1"
dfs put "$T/p1" /awsb/fromdfs
aws s3 cp --only-show-errors s3://awsb/fromdfs "$T/p1.s3" && cmp -s "$T/p1" "$T/p1.s3" && ok "a dfs put file reads through S3" ||
	fail "dfs put file through S3"
e1=$(aws s3api head-object --bucket awsb --key fromdfs --query ETag --output text)
[ "$e1" = "\"$(md5sum <"$T/p1" | cut -d' ' -f1)\"" ] && ok "its ETag is computed on first need ($e1)" || fail "ETag $e1"
head -c 3M /dev/urandom >"$T/p2"
dfs put -f "$T/p2" /awsb/fromdfs
e2=$(aws s3api head-object --bucket awsb --key fromdfs --query ETag --output text)
[ "$e2" = "\"$(md5sum <"$T/p2" | cut -d' ' -f1)\"" ] && ok "put -f invalidates the ETag ($e2)" || fail "stale ETag after put -f: $e2"
if [ -n "$mnt" ]; then
	printf 'XXXX' | dd of="$mnt/awsb/fromdfs" bs=1 seek=100 conv=notrunc status=none
	cp "$T/p2" "$T/p3" && printf 'XXXX' | dd of="$T/p3" bs=1 seek=100 conv=notrunc status=none
	e3=$(aws s3api head-object --bucket awsb --key fromdfs --query ETag --output text)
	[ "$e3" = "\"$(md5sum <"$T/p3" | cut -d' ' -f1)\"" ] && ok "a write through the mount invalidates it ($e3)" ||
		fail "stale ETag after a mount write: $e3"
	x=$(python3 -c 'import os,sys; print(" ".join(os.listxattr(sys.argv[1])))' "$mnt/awsb/fromdfs")
	[[ $x != *user.s3.* ]] && ok "the mount does not list user.s3.* ('$x')" || fail "the mount shows $x"
fi

# ---- s3cmd
cat >"$T/s3cfg" <<CFG
[default]
access_key = $AK
secret_key = $SK
host_base = $addr
host_bucket = $addr
use_https = False
signature_v2 = False
bucket_location = us-east-1
CFG
s3c() { s3cmd -c "$T/s3cfg" --no-progress "$@"; }
check "s3cmd mb" s3c mb s3://s3cb
echo "s3cmd small" >"$T/small"
check "s3cmd put" s3c put "$T/small" s3://s3cb/small
head -c 12M /dev/urandom >"$T/mid"
check "s3cmd put multipart (5 MiB chunks)" s3c put --multipart-chunk-size-mb=5 "$T/mid" s3://s3cb/mid
check "s3cmd get" s3c get --force s3://s3cb/mid "$T/mid.back"
cmp -s "$T/mid" "$T/mid.back" && ok "s3cmd multipart round trip" || fail "s3cmd multipart differs"
s3c ls s3://s3cb | grep -q 's3://s3cb/small' && ok "s3cmd ls" || fail "s3cmd ls"
check "s3cmd del" s3c del s3://s3cb/small
s3c ls s3://s3cb | grep -q 's3://s3cb/small' && fail "s3cmd del left it" || ok "s3cmd del removed it"

# ---- rclone
# (rclone refuses an AWS_CA_BUNDLE for a plain-HTTP endpoint)
rclone() { env -u AWS_CA_BUNDLE rclone "$@"; }
export RCLONE_CONFIG=$T/rclone.conf RCLONE_CONFIG_D_TYPE=s3 RCLONE_CONFIG_D_PROVIDER=Other \
	RCLONE_CONFIG_D_ENDPOINT=$EP RCLONE_CONFIG_D_ACCESS_KEY_ID=$AK \
	RCLONE_CONFIG_D_SECRET_ACCESS_KEY=$SK RCLONE_CONFIG_D_REGION=us-east-1
: >"$RCLONE_CONFIG"
mkdir -p "$T/rc/a/b"
for i in $(seq 1 20); do head -c $((i * 1000)) /dev/urandom >"$T/rc/a/f$i"; done
head -c 7M /dev/urandom >"$T/rc/a/b/large"
check "rclone mkdir" rclone mkdir d:rcb
check "rclone sync in" rclone sync "$T/rc" d:rcb/rc
check "rclone check" rclone check "$T/rc" d:rcb/rc
check "rclone sync out" rclone sync d:rcb/rc "$T/rc.back"
diff -r "$T/rc" "$T/rc.back" >/dev/null && ok "rclone round trip" || fail "rclone round trip differs"
rm "$T/rc/a/f3"
rclone sync "$T/rc" d:rcb/rc && rclone check "$T/rc" d:rcb/rc && ok "rclone sync of a deletion, then check" || fail "rclone deletion sync"

# ---- permissions by access key: a second gateway with a key of uid 1234
echo "AKOTHER othersecret 1234:1234" >"$T/keys2"
dfs mkdir /priv && dfs chmod 700 /priv && echo secret | dfs put - /priv/s
dfs mkdir /pub && echo hello | dfs put - /pub/h
dfs mkdir /mine && dfs chown 1234:1234 /mine
"$BIN/dfs-s3" --dir "$DFS_DIR" --listen 127.0.0.1:0 --access-keys "$T/keys2" --ready-file "$T/s3b.addr" \
	--http 127.0.0.1:0 --log "$T/s3b.log" --log-level debug &
s3b=$!
wait_for 20 test -s "$T/s3b.addr" || fail "the second gateway did not start"
EP2=http://$(cat "$T/s3b.addr")
as2() { AWS_ACCESS_KEY_ID=AKOTHER AWS_SECRET_ACCESS_KEY=othersecret command aws --endpoint-url "$EP2" "$@"; }
[ "$(as2 s3 cp s3://pub/h - 2>/dev/null)" = hello ] && ok "uid 1234 reads a 0644 file" || fail "uid 1234 cannot read /pub/h"
as2 s3 cp s3://priv/s - >/dev/null 2>"$T/err" && fail "uid 1234 read /priv/s" ||
	{ grep -qE 'AccessDenied|\(403\)' "$T/err" && ok "uid 1234 is denied a 0700 directory" || fail "wrong error: $(cat "$T/err")"; }
echo x | as2 s3 cp - s3://pub/new 2>"$T/err" && fail "uid 1234 wrote into root's 0755 directory" ||
	{ grep -q AccessDenied "$T/err" && ok "uid 1234 cannot write into root's directory" || fail "wrong error: $(cat "$T/err")"; }
echo x | as2 s3 cp - s3://mine/new && [ "$(dfs stat --json /mine/new | json 'd["uid"]')" = 1234 ] &&
	ok "uid 1234 writes its own bucket, the file is its" || fail "uid 1234 in its own bucket"
as2 s3 mb s3://newtop 2>"$T/err" && fail "uid 1234 made a top-level bucket" ||
	{ grep -q AccessDenied "$T/err" && ok "uid 1234 cannot create a bucket in root's /" || fail "wrong error: $(cat "$T/err")"; }
maddr=$(sed -n 's/.*metrics on \([0-9.:]*\) .*/\1/p' "$T/s3b.log" | head -1)
m=$(python3 -c 'import sys,urllib.request; print(urllib.request.urlopen("http://"+sys.argv[1]+"/metrics").read().decode())' "$maddr")
grep -q '^dfs_s3_requests_total{api="GetObject",status="200"} [1-9]' <<<"$m" &&
	grep -q '^dfs_s3_requests_total{api="HeadObject",status="403"} [1-9]' <<<"$m" &&
	grep -q '^dfs_s3_request_seconds_bucket{api="PutObject",le="+Inf"} [1-9]' <<<"$m" &&
	grep -q '^dfs_s3_bytes_out_total [1-9]' <<<"$m" && ok "/metrics counts requests by API and status, latency, bytes" ||
	fail "metrics: $(grep dfs_s3 <<<"$m" | head -20)"
kill "$s3b"; wait "$s3b"

# ---- a gateway never leaves a partial object: a client that dies mid-put
# (a signed put whose client dies after 3 MiB of 20: the upload is streaming into its
# hidden temporary file when the connection drops; it must vanish, and no object)
/usr/bin/python3 - "$EP" "$AK" "$SK" "$T/cut" <<'PY'
import socket, sys, time, urllib.parse
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
ep, ak, sk, flag = sys.argv[1:5]
req = AWSRequest(method="PUT", url=ep + "/awsb/partial", headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
S3SigV4Auth(Credentials(ak, sk), "s3", "us-east-1").add_auth(req)
u = urllib.parse.urlparse(ep)
s = socket.create_connection((u.hostname, u.port))
head = "PUT /awsb/partial HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n" % (u.netloc, 20 << 20)
head += "".join("%s: %s\r\n" % (k, v) for k, v in req.headers.items() if k.lower() != "host")
s.sendall(head.encode() + b"\r\n" + b"x" * (3 << 20))
open(flag, "w").write("sent")
time.sleep(0.5)  # not a check: lets the gateway store a little before the cut
s.close()
PY
tmp_gone() { ! dfs ls /awsb | grep -q dfs-s3-tmp; }
wait_for 20 tmp_gone && ok "a put cut off mid-body leaves no temporary file" || fail "a temporary file is left: $(dfs ls /awsb)"
[ -z "$(aws s3 ls s3://awsb/partial)" ] && ok "... and no object" || fail "partial object visible"
finish
