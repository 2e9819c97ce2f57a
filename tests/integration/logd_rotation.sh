#!/bin/bash
# logd rotation and retention: size and age rotation, the 80% quota warning event,
# the quota enforced by dropping the oldest segments, and never a segment that was
# not yet forwarded while remote logging is on.
source "$(dirname "$0")/../lib/tap.sh"
stack_init logd logprod testsvc
stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = []; subscribe = []; };'
stack_acl logprod 'logprod = { call = ["bus.*"]; publish = ["log.*"]; subscribe = []; };'
sed -i -e 's/^segment_max_kb = .*/segment_max_kb = 64;/' -e 's/^quota_mb = .*/quota_mb = 1;/' \
        -e 's/^seal_every = .*/seal_every = 500;/' -e 's/^remote_backoff_max_s = .*/remote_backoff_max_s = 1;/' "$T_DIR/etc/logd.conf"
export DEVSEC_TOKEN=tok:admin:admin:system,security,system-info
: > "$T_DIR/empty.conf"
stack_busd
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/empty.conf"
bg logd "$B/logd"; LOGD=$LAST_PID
svc_up authd; svc_up logd
st() { dc --json log status | python3 -c "import sys,json; d=json.load(sys.stdin); print($1)"; }
# the records reach logd from busd a little after logd_produce returns: wait for them
recs_at_least() { [ "$(st 'd["records"]')" -ge "$1" ]; }

listen_bg "$T_DIR/log/listen.log" --json -- log.storage --count=1
"$B/tests/logd_produce" --prefix fill 4000 >/dev/null
wait_for 10 recs_at_least 4000
segs=$(st 'd["segments"]')
if [ "$segs" -ge 8 ]; then ok "segments rotate by size ($segs segments of 64 KiB)"; else nok "rotation by size: $segs segments"; fi
check_out "below the quota nothing is dropped yet" '^1$' st 'd["first"]'
"$B/tests/logd_produce" --prefix fill2 2000 >/dev/null
wait_for 5 grep -q threshold "$T_DIR/log/listen.log"
check_out "the 80% quota warning is published (log.storage.threshold)" '"topic":"log.storage.threshold".*"percent":(8[0-9]|9[0-9]|1[0-9][0-9])' cat "$T_DIR/log/listen.log"
wait_for 5 sh -c "'$B/devctl' log query --text threshold --limit 1 | grep -q log.storage.threshold"
check_out "the warning is stored as a record too" 'log.storage.threshold' dc log query --text threshold --limit 1
"$B/tests/logd_produce" --prefix fill3 3000 >/dev/null
wait_for 10 recs_at_least 9000
first=$(st 'd["first"]'); bytes=$(st 'd["bytes"]')
if [ "$first" -gt 1 ] && [ "$bytes" -le 1048576 ]; then ok "over the quota the oldest segments go (first record now $first, $bytes bytes)"; else nok "quota: first=$first bytes=$bytes"; fi
wait_for 5 sh -c "'$B/devctl' log query --text 'removed segment' --limit 100 | grep -q 'seg-0*1\.log'"
check_out "removals are recorded" 'removed segment .seg-0+1\.log. \(records 1-[0-9]+, quota\)' dc log query --text "removed segment" --limit 100
check_out "a store whose oldest segments were dropped still verifies" '^OK up to record' dc log verify

# remote on, server unreachable: nothing unforwarded may go
dc log remote set 127.0.0.1:16530 --insecure >/dev/null
held_from=$(st 'd["records"]')
"$B/tests/logd_produce" --prefix held 4000 >/dev/null
wait_for 10 recs_at_least $((held_from + 4000))
first2=$(st 'd["first"]'); bytes2=$(st 'd["bytes"]'); acked=$(st 'd["remote"]["acked"]')
if [ "$first2" = "$first" ] && [ "$bytes2" -gt 1048576 ]; then
        ok "unforwarded segments are kept over the quota (first still $first2, $bytes2 bytes, acked $acked)"
else nok "unforwarded kept: first $first -> $first2, bytes $bytes2"; fi
# a receiver appears: once forwarded, the quota applies again
cat > "$T_DIR/sink.py" <<'PY'
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(1)
c, _ = s.accept()
with open(sys.argv[2], 'wb') as f:
    while True:
        d = c.recv(65536)
        if not d: break
        f.write(d); f.flush()
PY
bg sink python3 "$T_DIR/sink.py" 16530 "$T_DIR/sink.bin"
forwarded() { [ "$(st 'd["remote"]["pending"]')" = 0 ]; }
wait_for 15 forwarded
"$B/tests/logd_produce" --prefix after 200 >/dev/null
pruned_again() { [ "$(st 'd["first"]')" -gt "$first2" ] && [ "$(st 'd["bytes"]')" -le 1048576 ]; }
wait_for 10 pruned_again
first3=$(st 'd["first"]'); bytes3=$(st 'd["bytes"]')
if [ "$first3" -gt "$first2" ] && [ "$bytes3" -le 1048576 ]; then ok "after forwarding, old segments go again (first $first3, $bytes3 bytes)"; else nok "after forwarding: first=$first3 bytes=$bytes3"; fi
check_out "the plain-TCP receiver got octet-counted RFC 5424 frames" '^[0-9]+ <[0-9]+>1 ' head -c 200 "$T_DIR/sink.bin"
dc log remote disable >/dev/null

# age rotation: a segment older than segment_max_age_s is closed by the timer
dc config set logd segment_max_age_s=1 >/dev/null
segs1=$(st 'd["segments"]')
"$B/tests/logd_produce" --prefix aged 5 >/dev/null
more_segs() { [ "$(st 'd["segments"]')" -gt "$segs1" ]; }
wait_for 5 more_segs
segs2=$(st 'd["segments"]')
if [ "$segs2" -gt "$segs1" ]; then ok "segments rotate by age ($segs1 -> $segs2)"; else nok "age rotation: $segs1 -> $segs2"; fi
check_out "the store verifies at the end" '^OK up to record' dc log verify
