#!/bin/bash
# logd record provenance: the service of a record is the publisher's identity as
# busd stamps it (`src`), never the body's claim, and its time is logd's clock at
# ingest; the publisher's own time is kept apart as pub_ts.
source "$(dirname "$0")/../lib/tap.sh"
stack_init logd logprod testsvc
stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = []; subscribe = []; };'
stack_acl logprod 'logprod = { call = ["bus.*"]; publish = ["log.*"]; subscribe = []; };'
export DEVSEC_TOKEN=tok:admin:admin:system,security,system-info
: > "$T_DIR/empty.conf"
stack_busd
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/empty.conf"
bg logd "$B/logd"
svc_up authd; svc_up logd

OLD=978307200000   # 2001-01-01T00:00:00Z
before=$(date +%s%3N)
"$B/tests/logd_produce" --category security --claim-service authd --pub-ts $OLD --prefix "forged login" 3 >/dev/null
wait_for 10 sh -c "'$B/devctl' log query --text 'forged login 3' --limit 1 | grep -q 'forged login 3'"
after=$(date +%s%3N)
dc --json log query --text "forged login" --limit 10 > "$T_DIR/q.json"
python3 - "$T_DIR/q.json" "$OLD" "$before" "$after" > "$T_DIR/verdict" <<'PY'
import json, sys
path, old, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
recs = [json.loads(l) for l in open(path) if l.strip()]
print("n=%d" % len(recs))
print("service=" + ",".join(sorted({r["service"] for r in recs})))
print("src=" + ",".join(sorted({r["src"] for r in recs})))
print("ts_ok=%s" % all(lo - 1000 <= r["ts"] <= hi + 1000 for r in recs))
print("pub_ts=" + ",".join(sorted({str(r.get("pub_ts")) for r in recs})))
PY
check_out "the three forged records are stored" '^n=3$' cat "$T_DIR/verdict"
check_out "a body claiming service authd is stored as its publisher (logprod)" '^service=logprod$' cat "$T_DIR/verdict"
check_out "src is busd's stamp, not the envelope's claim" '^src=logprod$' cat "$T_DIR/verdict"
check_out "the record's time is logd's time at ingest, not the publisher's backdated one" '^ts_ok=True$' cat "$T_DIR/verdict"
check_out "the publisher's time is kept apart as pub_ts" "^pub_ts=$OLD\$" cat "$T_DIR/verdict"
check_out "pub_time is shown in the export" '"pub_time":"2001-01-01T00:00:00' dc --json log query --text "forged login" --limit 1
check_out "the service filter does not find the records under the claimed name" '^$' dc log query --service authd --text "forged login"
check_out "since/until use logd's time: the records are not in 2001" '^$' dc log query --until 2002-01-01T00:00:00Z --text "forged login"
