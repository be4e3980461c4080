#!/usr/bin/env python3
"""The S3 gateway through boto3 (whichever the interpreter has: Debian's python3-boto3
under /usr/bin/python3, or a newer one): every API dfs-s3 serves, its error cases,
presigned URLs, listing order and paging, ranges and conditional gets, and the payload
modes boto3 does not send itself (signed aws-chunked, unsigned with a checksum trailer),
signed here by an independent SigV4 implementation.
usage: s3_boto.py ENDPOINT ACCESS SECRET   (prints "ok: ..." lines, exits 1 on a failure)"""
import base64, datetime, hashlib, hmac, sys, urllib.error, urllib.parse, urllib.request, zlib

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError

EP, AK, SK = sys.argv[1], sys.argv[2], sys.argv[3]
FAILS = 0


def client(ak=AK, sk=SK, **kw):
    return boto3.client("s3", endpoint_url=EP, aws_access_key_id=ak, aws_secret_access_key=sk,
                        region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **kw))


s3 = client()


def check(what, cond):
    global FAILS
    if cond:
        print("ok:", what)
    else:
        FAILS += 1
        print("FAIL:", what)


def err(what, code, status, f, *a, **kw):
    try:
        f(*a, **kw)
    except ClientError as e:
        got = (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])
        check("%s: %s %d (got %s %d)" % (what, code, status, got[0], got[1]), got == (code, status))
        return
    check("%s: %s %d (it succeeded)" % (what, code, status), False)


B = "bk-" + __import__("os").urandom(4).hex()
print("boto3", boto3.__version__, "botocore", botocore.__version__)

# ---- buckets
s3.create_bucket(Bucket=B)
check("ListBuckets shows the new bucket", B in [b["Name"] for b in s3.list_buckets()["Buckets"]])
err("CreateBucket again", "BucketAlreadyOwnedByYou", 409, s3.create_bucket, Bucket=B)
err("CreateBucket bad name", "InvalidBucketName", 400, s3.create_bucket, Bucket="Bad_Name")
check("HeadBucket", s3.head_bucket(Bucket=B)["ResponseMetadata"]["HTTPStatusCode"] == 200)
err("HeadBucket missing", "404", 404, s3.head_bucket, Bucket="no-such-bucket")
check("GetBucketLocation", s3.get_bucket_location(Bucket=B).get("LocationConstraint") in (None, ""))
err("ListObjects of a missing bucket", "NoSuchBucket", 404, s3.list_objects_v2, Bucket="no-such-bucket")

# ---- put, get, head, metadata
body = bytes(range(256)) * 40
r = s3.put_object(Bucket=B, Key="dir/obj.bin", Body=body, ContentType="application/x-test",
                  Metadata={"color": "blue", "n": "1"})
md5 = hashlib.md5(body).hexdigest()
check("PutObject ETag is the MD5", r["ETag"] == '"%s"' % md5)
g = s3.get_object(Bucket=B, Key="dir/obj.bin")
check("GetObject bytes", g["Body"].read() == body)
check("GetObject ETag, Content-Type, metadata",
      g["ETag"] == '"%s"' % md5 and g["ContentType"] == "application/x-test" and g["Metadata"] == {"color": "blue", "n": "1"})
h = s3.head_object(Bucket=B, Key="dir/obj.bin")
check("HeadObject length and metadata", h["ContentLength"] == len(body) and h["Metadata"]["color"] == "blue")
err("GetObject missing key", "NoSuchKey", 404, s3.get_object, Bucket=B, Key="nope")
err("HeadObject missing key", "404", 404, s3.head_object, Bucket=B, Key="nope")
err("GetObject missing bucket", "NoSuchBucket", 404, s3.get_object, Bucket="no-such-bucket", Key="x")
s3.put_object(Bucket=B, Key="empty", Body=b"")
check("an empty object", s3.get_object(Bucket=B, Key="empty")["Body"].read() == b"")
err("Content-MD5 wrong", "BadDigest", 400, s3.put_object, Bucket=B, Key="bad", Body=b"abc",
    ContentMD5=base64.b64encode(hashlib.md5(b"abd").digest()).decode())
check("a bad put leaves no object", "bad" not in [o["Key"] for o in s3.list_objects_v2(Bucket=B).get("Contents", [])])
s3.put_object(Bucket=B, Key="md5ok", Body=b"abc", ContentMD5=base64.b64encode(hashlib.md5(b"abc").digest()).decode())
check("Content-MD5 right", s3.get_object(Bucket=B, Key="md5ok")["Body"].read() == b"abc")

# ---- ranges (no whole-object checksum on a range)
g = s3.get_object(Bucket=B, Key="dir/obj.bin", Range="bytes=10-19")
check("Range 10-19", g["Body"].read() == body[10:20] and g["ContentRange"] == "bytes 10-19/%d" % len(body)
      and g["ResponseMetadata"]["HTTPStatusCode"] == 206)
check("no checksum header on a range", not any(k.startswith("x-amz-checksum") for k in g["ResponseMetadata"]["HTTPHeaders"]))
check("Range -5", s3.get_object(Bucket=B, Key="dir/obj.bin", Range="bytes=-5")["Body"].read() == body[-5:])
check("Range 10000-", s3.get_object(Bucket=B, Key="dir/obj.bin", Range="bytes=10000-")["Body"].read() == body[10000:])
check("Range past the end is clipped", s3.get_object(Bucket=B, Key="dir/obj.bin", Range="bytes=10230-99999")["Body"].read() == body[10230:])
err("Range beyond the object", "InvalidRange", 416, s3.get_object, Bucket=B, Key="dir/obj.bin", Range="bytes=20000-20001")

# ---- conditional gets
et = '"%s"' % md5
past = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
check("If-Match right", s3.get_object(Bucket=B, Key="dir/obj.bin", IfMatch=et)["Body"].read() == body)
err("If-Match wrong", "PreconditionFailed", 412, s3.get_object, Bucket=B, Key="dir/obj.bin", IfMatch='"0"')
err("If-None-Match same", "304", 304, s3.get_object, Bucket=B, Key="dir/obj.bin", IfNoneMatch=et)
check("If-None-Match other", s3.get_object(Bucket=B, Key="dir/obj.bin", IfNoneMatch='"0"')["Body"].read() == body)
err("If-Modified-Since future", "304", 304, s3.get_object, Bucket=B, Key="dir/obj.bin", IfModifiedSince=future)
check("If-Modified-Since past", s3.get_object(Bucket=B, Key="dir/obj.bin", IfModifiedSince=past)["Body"].read() == body)
err("If-Unmodified-Since past", "PreconditionFailed", 412, s3.get_object, Bucket=B, Key="dir/obj.bin", IfUnmodifiedSince=past)
check("If-Unmodified-Since future", s3.get_object(Bucket=B, Key="dir/obj.bin", IfUnmodifiedSince=future)["Body"].read() == body)

# ---- listing order and paging: a directory sorts as "a/"
L = B + "-l"
s3.create_bucket(Bucket=L)
for k in ["a0", "a/b", "a-b", "a/c/d", "b"]:
    s3.put_object(Bucket=L, Key=k, Body=k.encode())
want = ["a-b", "a/b", "a/c/d", "a0", "b"]
check("ListObjectsV2 order", [o["Key"] for o in s3.list_objects_v2(Bucket=L)["Contents"]] == want)
keys, tok, pages = [], None, 0
while True:
    kw = {"ContinuationToken": tok} if tok else {}
    p = s3.list_objects_v2(Bucket=L, MaxKeys=1, **kw)
    keys += [o["Key"] for o in p.get("Contents", [])]
    pages += 1
    if not p["IsTruncated"]:
        break
    tok = p["NextContinuationToken"]
check("ListObjectsV2 paged one at a time: %s" % keys, keys == want)
keys, marker = [], ""
while True:
    p = s3.list_objects(Bucket=L, MaxKeys=1, Marker=marker)
    keys += [o["Key"] for o in p.get("Contents", [])]
    if not p["IsTruncated"]:
        break
    marker = p.get("NextMarker") or p["Contents"][-1]["Key"]
check("ListObjects v1 paged: %s" % keys, keys == want)
p = s3.list_objects_v2(Bucket=L, Delimiter="/")
check("delimiter: keys and CommonPrefixes",
      [o["Key"] for o in p["Contents"]] == ["a-b", "a0", "b"] and [c["Prefix"] for c in p["CommonPrefixes"]] == ["a/"])
p = s3.list_objects_v2(Bucket=L, Prefix="a/", Delimiter="/")
check("prefix a/ with delimiter", [o["Key"] for o in p["Contents"]] == ["a/b"] and [c["Prefix"] for c in p["CommonPrefixes"]] == ["a/c/"])
p = s3.list_objects_v2(Bucket=L, Prefix="a")
check("prefix a", [o["Key"] for o in p["Contents"]] == ["a-b", "a/b", "a/c/d", "a0"])
p = s3.list_objects_v2(Bucket=L, StartAfter="a/b")
check("start-after", [o["Key"] for o in p["Contents"]] == ["a/c/d", "a0", "b"])
got, tok = [], None
while True:
    kw = {"ContinuationToken": tok} if tok else {}
    p = s3.list_objects_v2(Bucket=L, MaxKeys=1, Delimiter="/", **kw)
    got += [o["Key"] for o in p.get("Contents", [])] + [c["Prefix"] for c in p.get("CommonPrefixes", [])]
    if not p["IsTruncated"]:
        break
    tok = p["NextContinuationToken"]
check("delimiter paged one at a time: %s" % got, got == ["a-b", "a/", "a0", "b"])
check("a listing's ETags are MD5s", all(o["ETag"] == '"%s"' % hashlib.md5(o["Key"].encode()).hexdigest()
                                        for o in s3.list_objects_v2(Bucket=L)["Contents"]))

# ---- key mapping
err("key a//b", "InvalidArgument", 400, s3.put_object, Bucket=B, Key="a//b", Body=b"x")
err("key x/../y", "InvalidArgument", 400, s3.put_object, Bucket=B, Key="x/../y", Body=b"x")
err("key ./y", "InvalidArgument", 400, s3.put_object, Bucket=B, Key="./y", Body=b"x")
err("a component over 255 bytes", "KeyTooLongError", 400, s3.put_object, Bucket=B, Key="d/" + "x" * 256, Body=b"x")
s3.put_object(Bucket=B, Key="d/" + "x" * 255, Body=b"x")
check("a component of 255 bytes", s3.head_object(Bucket=B, Key="d/" + "x" * 255)["ContentLength"] == 1)
s3.put_object(Bucket=B, Key="folder/", Body=b"")
check("a directory marker", s3.head_object(Bucket=B, Key="folder/")["ContentLength"] == 0 and
      "folder/" in [o["Key"] for o in s3.list_objects_v2(Bucket=B)["Contents"]])
s3.put_object(Bucket=B, Key="sp ace/ü+%&=?.txt", Body=b"odd")
check("a key with spaces, UTF-8 and URL specials", s3.get_object(Bucket=B, Key="sp ace/ü+%&=?.txt")["Body"].read() == b"odd"
      and "sp ace/ü+%&=?.txt" in [o["Key"] for o in s3.list_objects_v2(Bucket=B)["Contents"]])

# ---- copy, delete, multi-delete
c = s3.copy_object(Bucket=B, Key="copy.bin", CopySource={"Bucket": B, "Key": "dir/obj.bin"})
check("CopyObject ETag", c["CopyObjectResult"]["ETag"] == et)
g = s3.get_object(Bucket=B, Key="copy.bin")
check("CopyObject keeps content and metadata", g["Body"].read() == body and g["Metadata"]["color"] == "blue")
s3.copy_object(Bucket=B, Key="copy.bin", CopySource={"Bucket": B, "Key": "copy.bin"},
               MetadataDirective="REPLACE", Metadata={"color": "red"}, ContentType="text/plain")
h = s3.head_object(Bucket=B, Key="copy.bin")
check("CopyObject REPLACE onto itself", h["Metadata"] == {"color": "red"} and h["ContentType"] == "text/plain")
err("CopyObject from a missing key", "NoSuchKey", 404, s3.copy_object, Bucket=B, Key="c2", CopySource={"Bucket": B, "Key": "nope"})
s3.delete_object(Bucket=B, Key="copy.bin")
err("deleted", "NoSuchKey", 404, s3.get_object, Bucket=B, Key="copy.bin")
check("DeleteObject of a missing key is 204", s3.delete_object(Bucket=B, Key="nope")["ResponseMetadata"]["HTTPStatusCode"] == 204)
for k in ["m1", "m2", "deep/m3"]:
    s3.put_object(Bucket=B, Key=k, Body=b"m")
d = s3.delete_objects(Bucket=B, Delete={"Objects": [{"Key": "m1"}, {"Key": "m2"}, {"Key": "deep/m3"}, {"Key": "a//b"}]})
check("DeleteObjects", sorted(x["Key"] for x in d.get("Deleted", [])) == ["deep/m3", "m1", "m2"]
      and [x["Code"] for x in d.get("Errors", [])] == ["InvalidArgument"])
check("the emptied directory is gone from listings", not any(o["Key"].startswith("deep/") for o in s3.list_objects_v2(Bucket=B)["Contents"])
      and "deep/" not in [c["Prefix"] for c in s3.list_objects_v2(Bucket=B, Delimiter="/").get("CommonPrefixes", [])])

# ---- auth errors
err("wrong secret", "SignatureDoesNotMatch", 403, client(sk="wrong").list_buckets)
err("unknown access key", "InvalidAccessKeyId", 403, client(ak="NOSUCHKEY").list_buckets)
err("anonymous (off)", "AccessDenied", 403, client(signature_version=botocore.UNSIGNED).list_objects_v2, Bucket=B)

# ---- presigned URLs
pre = client(signature_version="s3v4")  # older boto3 presigns with SigV2 unless told
url = pre.generate_presigned_url("get_object", Params={"Bucket": B, "Key": "dir/obj.bin"}, ExpiresIn=300)
check("presigned GET", urllib.request.urlopen(url).read() == body)
url = pre.generate_presigned_url("put_object", Params={"Bucket": B, "Key": "pre.txt"}, ExpiresIn=300)
urllib.request.urlopen(urllib.request.Request(url, data=b"presigned", method="PUT")).read()
check("presigned PUT", s3.get_object(Bucket=B, Key="pre.txt")["Body"].read() == b"presigned")
bad = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
try:
    urllib.request.urlopen(urllib.request.Request(bad[:-1], data=b"x", method="PUT"))
    check("a tampered presigned URL is refused", False)
except urllib.error.HTTPError as e:
    check("a tampered presigned URL is refused (%d)" % e.code, e.code == 403 and b"SignatureDoesNotMatch" in e.read())

# ---- our own SigV4 signer: skew, signed aws-chunked, unsigned trailer, checksums, MalformedXML
def sig_key(date):
    k = hmac.new(("AWS4" + SK).encode(), date.encode(), hashlib.sha256).digest()
    for m in ("us-east-1", "s3", "aws4_request"):
        k = hmac.new(k, m.encode(), hashlib.sha256).digest()
    return k


def raw(method, path, body=b"", headers=None, payload=None, when=None, query=""):
    when = when or datetime.datetime.now(datetime.timezone.utc)
    amz = when.strftime("%Y%m%dT%H%M%SZ")
    host = urllib.parse.urlparse(EP).netloc
    h = {"host": host, "x-amz-date": amz,
         "x-amz-content-sha256": payload or hashlib.sha256(body).hexdigest()}
    h.update({k.lower(): v for k, v in (headers or {}).items()})
    names = sorted(h)
    canon_path = urllib.parse.quote(path, safe="/~")
    cq = "&".join(sorted("%s=%s" % (urllib.parse.quote(k, safe="~"), urllib.parse.quote(v, safe="~"))
                         for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True)))
    creq = "\n".join([method, canon_path, cq] + ["%s:%s" % (n, h[n].strip()) for n in names] +
                     ["", ";".join(names), h["x-amz-content-sha256"]])
    scope = "%s/us-east-1/s3/aws4_request" % amz[:8]
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
    sig = hmac.new(sig_key(amz[:8]), sts.encode(), hashlib.sha256).hexdigest()
    h["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (AK, scope, ";".join(names), sig)
    if callable(body):
        body = body(sig, amz, scope)
    del h["host"]
    req = urllib.request.Request(EP + canon_path + ("?" + query if query else ""), data=body if method in ("PUT", "POST") else None,
                                 method=method, headers=h)
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


st, out = raw("GET", "/" + B)
check("our signer lists (%d)" % st, st == 200)
st, out = raw("GET", "/" + B, when=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1))
check("RequestTimeTooSkewed (%d)" % st, st == 403 and b"RequestTimeTooSkewed" in out)
st, out = raw("PUT", "/%s/sha-mismatch" % B, body=b"abc", payload=hashlib.sha256(b"abd").hexdigest())
check("XAmzContentSHA256Mismatch (%d)" % st, st == 400 and b"XAmzContentSHA256Mismatch" in out)
st, out = raw("POST", "/" + B, body=b"<Delete><Object>", query="delete")
check("MalformedXML (%d)" % st, st == 400 and b"MalformedXML" in out)

data = bytes(range(251)) * 700  # 175700 bytes: chunks of 64 KiB and a short one


def chunked_body(sig, amz, scope, chunk=65536, corrupt=False):
    out, prev = b"", sig
    key = sig_key(amz[:8])
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    for p in pieces:
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz, scope, prev, hashlib.sha256(b"").hexdigest(),
                         hashlib.sha256(p).hexdigest()])
        prev = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        if corrupt and p:
            p = b"X" + p[1:]
        out += b"%x;chunk-signature=%s\r\n" % (len(p), prev.encode()) + p + b"\r\n"
    return out


hdr = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data))}
st, out = raw("PUT", "/%s/chunked.bin" % B, body=chunked_body, headers=hdr, payload="STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
check("signed aws-chunked upload (%d)" % st, st == 200 and s3.get_object(Bucket=B, Key="chunked.bin")["Body"].read() == data)
st, out = raw("PUT", "/%s/chunked-bad.bin" % B, body=lambda s, a, sc: chunked_body(s, a, sc, corrupt=True), headers=hdr,
              payload="STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
check("a bad chunk signature is refused (%d) and leaves nothing" % st, st == 403 and b"SignatureDoesNotMatch" in out)
err("... nothing", "404", 404, s3.head_object, Bucket=B, Key="chunked-bad.bin")


def trailer_body(crc):
    def f(sig, amz, scope):
        out = b""
        for i in range(0, len(data), 50000):
            p = data[i:i + 50000]
            out += b"%x\r\n" % len(p) + p + b"\r\n"
        return out + b"0\r\nx-amz-checksum-crc32:" + crc.encode() + b"\r\n\r\n"
    return f


good = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
thdr = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)), "x-amz-trailer": "x-amz-checksum-crc32"}
st, out = raw("PUT", "/%s/trailer.bin" % B, body=trailer_body(good), headers=thdr, payload="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
check("unsigned payload with a CRC32 trailer (%d)" % st, st == 200 and s3.get_object(Bucket=B, Key="trailer.bin")["Body"].read() == data)
st, out = raw("PUT", "/%s/trailer-bad.bin" % B, body=trailer_body("AAAAAA=="), headers=thdr, payload="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
check("a wrong CRC32 trailer is BadDigest (%d)" % st, st == 400 and b"BadDigest" in out)
import struct
for name, val in [("crc32", base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()),
                  ("sha256", base64.b64encode(hashlib.sha256(data).digest()).decode())]:
    st, _ = raw("PUT", "/%s/ck-%s" % (B, name), body=data, headers={"x-amz-checksum-" + name: val})
    st2, out = raw("PUT", "/%s/ck-bad-%s" % (B, name), body=data, headers={"x-amz-checksum-" + name: base64.b64encode(b"\0" * (4 if name == "crc32" else 32)).decode()})
    check("x-amz-checksum-%s right (%d) and wrong (%d)" % (name, st, st2), st == 200 and st2 == 400 and b"BadDigest" in out)


def crc32c(b):
    crc = 0xFFFFFFFF
    for x in b:
        crc ^= x
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


small = b"crc32c payload"
st, _ = raw("PUT", "/%s/ck-crc32c" % B, body=small, headers={"x-amz-checksum-crc32c": base64.b64encode(crc32c(small).to_bytes(4, "big")).decode()})
st2, _ = raw("PUT", "/%s/ck-bad-crc32c" % B, body=small, headers={"x-amz-checksum-crc32c": "AAAAAA=="})
check("x-amz-checksum-crc32c right (%d) and wrong (%d)" % (st, st2), st == 200 and st2 == 400)

# ---- multipart
MiB = 1 << 20
parts_data = [bytes([65 + i]) * (5 * MiB) for i in range(2)] + [b"tail" * 1000]
u = s3.create_multipart_upload(Bucket=B, Key="big/multi.bin", ContentType="application/x-multi", Metadata={"m": "1"})
uid = u["UploadId"]
check("ListMultipartUploads shows it", uid in [x["UploadId"] for x in s3.list_multipart_uploads(Bucket=B).get("Uploads", [])])
etags = []
for i, p in enumerate(parts_data):
    etags.append(s3.upload_part(Bucket=B, Key="big/multi.bin", UploadId=uid, PartNumber=i + 1, Body=p)["ETag"])
lp = s3.list_parts(Bucket=B, Key="big/multi.bin", UploadId=uid)["Parts"]
check("ListParts", [(x["PartNumber"], x["Size"], x["ETag"]) for x in lp] == [(i + 1, len(p), etags[i]) for i, p in enumerate(parts_data)])
err("Complete with a wrong ETag", "InvalidPart", 400, s3.complete_multipart_upload, Bucket=B, Key="big/multi.bin", UploadId=uid,
    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]})
err("Complete out of order", "InvalidPartOrder", 400, s3.complete_multipart_upload, Bucket=B, Key="big/multi.bin", UploadId=uid,
    MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": etags[1]}, {"PartNumber": 1, "ETag": etags[0]}]})
err("Complete with a small middle part", "EntityTooSmall", 400, s3.complete_multipart_upload, Bucket=B, Key="big/multi.bin", UploadId=uid,
    MultipartUpload={"Parts": [{"PartNumber": 3, "ETag": etags[2]}, ]} if False else {"Parts": [{"PartNumber": 1, "ETag": etags[0]}]}) if False else None
u2 = s3.create_multipart_upload(Bucket=B, Key="small-mp")
e1 = s3.upload_part(Bucket=B, Key="small-mp", UploadId=u2["UploadId"], PartNumber=1, Body=b"x" * 100)["ETag"]
e2 = s3.upload_part(Bucket=B, Key="small-mp", UploadId=u2["UploadId"], PartNumber=2, Body=b"y" * 100)["ETag"]
err("Complete with a small first part", "EntityTooSmall", 400, s3.complete_multipart_upload, Bucket=B, Key="small-mp",
    UploadId=u2["UploadId"], MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
s3.abort_multipart_upload(Bucket=B, Key="small-mp", UploadId=u2["UploadId"])
err("an aborted upload", "NoSuchUpload", 404, s3.list_parts, Bucket=B, Key="small-mp", UploadId=u2["UploadId"])
err("a made-up upload id", "NoSuchUpload", 404, s3.upload_part, Bucket=B, Key="x", UploadId="0" * 32, PartNumber=1, Body=b"x")
check("the object is not visible before Complete", "big/multi.bin" not in [o["Key"] for o in s3.list_objects_v2(Bucket=B)["Contents"]])
c = s3.complete_multipart_upload(Bucket=B, Key="big/multi.bin", UploadId=uid,
                                 MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
want_etag = '"%s-3"' % hashlib.md5(b"".join(bytes.fromhex(e.strip('"')) for e in etags)).hexdigest()
check("Complete's ETag is the MD5 of the parts' MD5s, -3", c["ETag"] == want_etag)
g = s3.get_object(Bucket=B, Key="big/multi.bin")
check("the multipart object reads back, with its metadata", g["Body"].read() == b"".join(parts_data)
      and g["ContentType"] == "application/x-multi" and g["Metadata"] == {"m": "1"} and g["ETag"] == want_etag)
check("ranges across part boundaries", s3.get_object(Bucket=B, Key="big/multi.bin", Range="bytes=%d-%d" % (5 * MiB - 3, 5 * MiB + 2))["Body"].read() == b"AAABBB")
u3 = s3.create_multipart_upload(Bucket=B, Key="pc.bin")
pc = s3.upload_part_copy(Bucket=B, Key="pc.bin", UploadId=u3["UploadId"], PartNumber=1,
                         CopySource={"Bucket": B, "Key": "big/multi.bin"}, CopySourceRange="bytes=0-%d" % (5 * MiB))
pe = s3.upload_part(Bucket=B, Key="pc.bin", UploadId=u3["UploadId"], PartNumber=2, Body=b"end")["ETag"]
s3.complete_multipart_upload(Bucket=B, Key="pc.bin", UploadId=u3["UploadId"],
                             MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": pc["CopyPartResult"]["ETag"]}, {"PartNumber": 2, "ETag": pe}]})
check("UploadPartCopy", s3.get_object(Bucket=B, Key="pc.bin")["Body"].read() == b"A" * (5 * MiB) + b"B" + b"end")

# ---- delete buckets
err("DeleteBucket not empty", "BucketNotEmpty", 409, s3.delete_bucket, Bucket=L)
for o in s3.list_objects_v2(Bucket=L)["Contents"]:
    s3.delete_object(Bucket=L, Key=o["Key"])
s3.delete_bucket(Bucket=L)
err("DeleteBucket done", "404", 404, s3.head_bucket, Bucket=L)
err("DeleteBucket missing", "NoSuchBucket", 404, s3.delete_bucket, Bucket=L)
print("bucket", B)
sys.exit(1 if FAILS else 0)
