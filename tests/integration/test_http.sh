#!/usr/bin/env bash
# The status page and metrics: the namenode's HTML page rendered by headless Chromium
# shows the datanode table; /api/status has the shape of `dfs report --json`; /metrics
# (namenode and datanodes) is Prometheus text whose counters move with the traffic;
# unknown paths and methods are refused; a dead datanode shows on the page.
source "$(dirname "$0")/lib.sh"
start_cluster
st=$(dfs local status --json)
web=$(json 'd["namenode"]["http"]' <<<"$st")
dnweb=$(json 'd["datanodes"][0]["http"]' <<<"$st")
[ "$web" != None ] && [ "$dnweb" != None ] && ok "http addresses in local status ($web, $dnweb)" ||
	fail "no http address: $st"
get() { python3 -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "$1"; }
code() { python3 - "$@" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], method=sys.argv[2] if len(sys.argv) > 2 else "GET")
try:
    print(urllib.request.urlopen(req, timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)
PY
}
metric() { get "$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'; }

# /api/status: the same shape as dfs report --json
a=$(get "http://$web/api/status" | json 'sorted(d.keys()), sorted(n["id"] for n in d["datanodes"])')
b=$(dfs report --json | json 'sorted(d.keys()), sorted(n["id"] for n in d["datanodes"])')
[ "$a" = "$b" ] && ok "/api/status has the shape of report --json" || fail "/api/status $a vs $b"

# metrics move with the traffic
before=$(metric "http://$web" 'dfs_rpc_requests_total{op="create"}')
wb=$(metric "http://$dnweb" dfs_datanode_bytes_written_total)
head -c 5M /dev/urandom >"$T/f"
dfs put "$T/f" /f && dfs put "$T/f" /g
after=$(metric "http://$web" 'dfs_rpc_requests_total{op="create"}')
wa=$(metric "http://$dnweb" dfs_datanode_bytes_written_total)
[ "${after:-0}" -ge $(( ${before:-0} + 2 )) ] && ok "create count moved (${before:-0} -> $after)" ||
	fail "create count ${before:-0} -> ${after:-none}"
[ "${wa:-0}" -gt "${wb:-0}" ] && ok "datanode bytes written moved ($wb -> $wa)" || fail "bytes written $wb -> $wa"
[ "$(metric "http://$web" dfs_blocks)" -ge 2 ] && ok "dfs_blocks" || fail "dfs_blocks"
[ "$(metric "http://$web" 'dfs_datanodes{state="live"}')" = 3 ] && ok "3 live datanodes" || fail "datanodes"
[ -n "$(metric "http://$web" 'dfs_rpc_seconds_total{op="create"}')" ] && ok "latencies" || fail "no latencies"
[ "$(metric "http://$dnweb" dfs_datanode_blocks)" -ge 1 ] && ok "datanode blocks" || fail "datanode blocks"
dfs run -q --input /f --output /o --grep zzz
[ "$(metric "http://$web" 'dfs_jobs{state="succeeded"}')" = 1 ] && ok "jobs in metrics" || fail "jobs metric"
get "http://$web/metrics" | python3 -c '
import re, sys
ok = all(re.match(r"^(# (HELP|TYPE) .*|[a-z_]+(\{[a-z_]+=\"[^\"]*\"\})? [0-9.e+-]+)$", l) for l in sys.stdin.read().splitlines())
sys.exit(0 if ok else 1)' && ok "every metrics line is Prometheus text" || fail "bad metrics line"
[ "$(code "http://$web/nope")" = 404 ] && ok "404 for an unknown path" || fail "unknown path"
[ "$(code "http://$web/" POST)" = 405 ] && ok "405 for POST" || fail "POST"

# the page, as a browser renders it
dfs local stop-node dn3 --kill
dead() { dfs report --json | json '[n["state"] for n in d["datanodes"] if n["id"] == "dn3"][0]' | grep -qx dead; }
check "dn3 is dead" wait_for 20 dead
if command -v chromium >/dev/null; then
	timeout 60 chromium --headless --no-sandbox --disable-gpu --dump-dom "http://$web/" >"$T/page.html" 2>/dev/null
	how=chromium
elif [ -n "${CI:-}" ]; then
	fail "chromium is not installed: CI must render the page in a browser (make deps-test)"
	how=none; : >"$T/page.html"
else
	get "http://$web/" >"$T/page.html"
	how="python (chromium is not installed)"
fi
python3 - "$T/page.html" <<'PY' && ok "the page ($how) shows the datanode table with dn3 dead and the job" || fail "page: $(head -c 300 "$T/page.html")"
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(s):
        super().__init__(); s.table = None; s.rows = {}; s.row = None; s.cell = None
    def handle_starttag(s, tag, attrs):
        if tag == "table": s.table = dict(attrs).get("id")
        elif tag == "tr": s.row = []
        elif tag == "td": s.cell = ""
    def handle_endtag(s, tag):
        if tag == "td" and s.row is not None: s.row.append(s.cell.strip()); s.cell = None
        elif tag == "tr" and s.row: s.rows.setdefault(s.table, []).append(s.row); s.row = None
    def handle_data(s, d):
        if s.cell is not None: s.cell += d
p = P(); p.feed(open(sys.argv[1]).read())
dn = {r[0]: r[2] for r in p.rows.get("datanodes", [])}
jobs = p.rows.get("jobs", [])
sys.exit(0 if dn == {"dn1": "live", "dn2": "live", "dn3": "dead"} and
         any(r[1] == "succeeded" for r in jobs) else 1)
PY
check "dn3 back" dfs local start-node dn3
finish
