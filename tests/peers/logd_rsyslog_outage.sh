#!/bin/bash
# logd -> rsyslogd outage: stop the server, produce 10,000 records, restart it:
# every record arrives (at least once, duplicates detectable by seq), in order,
# none lost. Then the same with logd killed -9 and restarted during the outage.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/logd_rsyslog_lib.sh"
if ! have rsyslogd || ! have openssl; then skip "logd outage to rsyslog" "rsyslogd or openssl not installed"; exit 0; fi
logd_stack
mkca "$T_DIR/pki"
rsyslog_conf; rsyslog_start || nok "rsyslogd listens"
OUT="$W/out/messages.log"
dc log remote set 127.0.0.1:$RS_TLS --ca "$T_DIR/pki/ca.pem" >/dev/null
"$B/tests/logd_produce" --prefix warmup 100 >/dev/null
wait_for 10 sh -c "grep -q 'warmup 100' '$OUT'"
check_out "warm-up records delivered" '^100$' grep -c warmup "$OUT"

# outage 1: the server goes away
rsyslog_stop
"$B/tests/logd_produce" --prefix outage1 10000 >/dev/null
wait_for 10 sh -c "'$B/devctl' --json log status | grep -Eq '\"last_error\":\"(connect|TLS handshake|read|write)'"
check_out "during the outage log.status shows the server unreachable" '"state":"(waiting|connecting)".*"last_error":"(connect|TLS handshake|read|write)' \
        dc --json log status
held() { [ "$(logd_status_field '["remote"]["pending"]')" -ge 10000 ]; }
wait_for 10 held
pending=$(logd_status_field '["remote"]["pending"]')
if [ "$pending" -ge 10000 ]; then ok "pending counts the held records ($pending)"; else nok "pending: $pending"; fi
t0=$(date +%s.%N)
rsyslog_start
last=$(logd_status_field '["records"]')
wait_for 30 sh -c "grep -q 'seq=\"$last\"' '$OUT'"
t1=$(date +%s.%N)
check_out "outage 1: records 1..$last all arrive, in order" 'missing=0 .*inorder=True' received_check 1 "$last"
n=$(grep -c 'outage1 ' "$OUT")
if [ "$n" -ge 10000 ]; then ok "all 10000 outage records delivered ($n lines, $(echo "$t1 - $t0" | bc | cut -c1-4) s after the restart)"; else nok "outage records delivered: $n"; fi
wait_for 10 sh -c "'$B/devctl' --json log status | grep -q '\"pending\":0'"
check_out "nothing pending once caught up" '"pending":0' dc --json log status

# outage 2: the server goes away and logd is killed -9 and restarted meanwhile
rsyslog_stop
"$B/tests/logd_produce" --prefix outage2a 5000 >/dev/null
sleep 0.3
kill -9 "$LOGD"; wait "$LOGD" 2>/dev/null
logd_start
"$B/tests/logd_produce" --prefix outage2b 5000 >/dev/null
rsyslog_start
last=$(logd_status_field '["records"]')
wait_for 30 sh -c "grep -q 'seq=\"$last\"' '$OUT'"
check_out "outage 2 with logd killed: records 1..$last all arrive, in order" 'missing=0 .*inorder=True' received_check 1 "$last"
a=$(grep -c 'outage2a ' "$OUT"); b=$(grep -c 'outage2b ' "$OUT")
if [ "$a" -ge 5000 ] && [ "$b" -ge 5000 ]; then ok "both halves delivered ($a + $b lines)"; else nok "delivered $a + $b"; fi
check_out "duplicates, if any, are only re-sends detectable by seq" 'dups=[0-9]+' received_check 1 "$last"
check_out "the store still verifies" '^OK up to record' dc log verify
