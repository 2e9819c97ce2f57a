#!/bin/bash
# Batches of events: what a publisher's loop iteration publishes goes to busd in
# one message, and to a service that takes batches (logd) in one; each event is
# still checked by the bus ACL and stamped by busd on its own, and an operator
# subscriber still gets them one by one, under its credit window.
source "$(dirname "$0")/../lib/tap.sh"
stack_init logd logprod testsvc batchpub
stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = []; subscribe = []; };'
stack_acl batchpub 'batchpub = { serve = ["batchpub"]; call = ["bus.*"]; publish = ["log.*"]; subscribe = []; };'
stack_acl logprod 'logprod = { call = ["bus.*", "logd.log.status"]; publish = ["log.*"]; subscribe = []; };'
export DEVSEC_TOKEN=tok:admin:admin:system,security,system-info
: > "$T_DIR/empty.conf"
stack_busd
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/empty.conf"
bg batchpub env TESTSVC_NAME=batchpub "$B/tests/testsvc" --identity batchpub -c "$T_DIR/empty.conf"
bg logd "$B/logd"
svc_up authd; svc_up batchpub; svc_up logd
stat() { dc --json bus stats | python3 -c "import sys,json; print(json.load(sys.stdin)['$1'])"; }

# the first event: busd answers it with its word that it takes batches
dc call batchpub test.publish topic=log.system count=1 >/dev/null
wait_for 10 sh -c "[ \"\$('$B/devctl' --json log status | python3 -c 'import sys,json; print(json.load(sys.stdin)[\"records\"])')\" -ge 1 ]"
refused0=$(stat refused); bin0=$(stat batches_in); bout0=$(stat batches_out)

L="$T_DIR/listen.out"
listen_bg "$L" --json -- log.system --count=150
# one handler publishes 300 events: 150 log.system, 150 demo.no (not in its ACL)
check_out "one loop iteration publishes 300 events" '"published": *300' dc --json call batchpub test.publish topic=log.system alt=demo.no count=300
# (busd's own records of the 150 refusals go to logd too, as log.security from busd)
wait_for 10 sh -c "[ \$('$B/devctl' --json log query --service batchpub --limit 1000 | wc -l) -ge 151 ]"
check_out "logd stored the 150 allowed events (and the first one)" '^151$' \
        sh -c "'$B/devctl' --json log query --service batchpub --limit 1000 | wc -l"
check_out "and busd's record of each refusal" '^150$' \
        sh -c "'$B/devctl' --json log query --service busd --text 'demo.no' --limit 1000 | wc -l"
check_out "they came to busd in batches (fewer messages than events)" '^ok$' \
        sh -c "n=\$(( $(stat batches_in) - $bin0 )); [ \$n -ge 1 ] && [ \$n -le 10 ] && echo ok"
check_out "and went to logd in batches" '^ok$' sh -c "[ $(stat batches_out) -gt $bout0 ] && echo ok"
check_out "the ACL refused each of the 150 other events on its own" "^$((refused0 + 150))\$" stat refused
check_out "busd logged the refusal" "may not publish 'demo.no'" cat "$T_DIR/log/busd.log"
wait_for 10 sh -c "[ \$(grep -c '\"topic\":\"log.system\"' '$L') -ge 150 ]"
wait $LP 2>/dev/null
check_out "an operator subscriber got all 150, one by one" '^150$' sh -c "grep -c '\"topic\":\"log.system\"' '$L'"
check_out "each stamped with the publisher's identity" '^150$' sh -c "grep -c '\"src\":\"batchpub\"' '$L'"
check_out "none of the refused ones" '^0$' sh -c "grep -c 'demo.no' '$L' || true"
check_out "no event was lost for it" '^0$' stat events_dropped

# a client without a loop that batches (logd_produce): a body claiming another
# service is stored as its publisher, every record in order
"$B/tests/logd_produce" --category security --claim-service authd --prefix "held record" 500 >/dev/null
wait_for 10 sh -c "'$B/devctl' log query --text 'held record 500 ' --limit 1 | grep -q 'held record 500'"
dc --json log query --text "held record" --limit 1000 > "$T_DIR/q.json"
python3 - "$T_DIR/q.json" > "$T_DIR/verdict" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("n=%d" % len(recs))
print("service=" + ",".join(sorted({r["service"] for r in recs})))
# newest first: the record numbers fall as the store's sequence does
nums = [int(r["msg"].split()[2]) for r in sorted(recs, key=lambda r: r["seq"])]
print("ordered=%s" % (nums == list(range(1, len(nums) + 1))))
PY
check_out "the 500 records of the held publisher are stored" '^n=500$' cat "$T_DIR/verdict"
check_out "as their publisher (busd's stamp), not the body's claim" '^service=logprod$' cat "$T_DIR/verdict"
check_out "in the order they were published" '^ordered=True$' cat "$T_DIR/verdict"
check_out "and they too came in batches" '^ok$' sh -c "[ $(stat batches_in) -ge $(( bin0 + 5 )) ] && echo ok"
