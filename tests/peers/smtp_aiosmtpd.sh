#!/bin/bash
# smtp-notifier against a real aiosmtpd with STARTTLS and AUTH on loopback:
# a test mail arrives (Message-ID from the queue id), the password stays out
# of argv, logs and exports, alarms arrive and a burst is coalesced into a
# few digests, the audit items pass, a killed service arrives as a
# bus.service.down alarm.
source "$(dirname "$0")/../lib/tap.sh"
source "$ROOT_DIR/tests/lib/smtp_lib.sh"
smtp_have_peer || { skip "smtp-notifier with aiosmtpd" "python3-aiosmtpd not installed (tests/deps/smtp.txt)"; exit 0; }
smtp_stack
export DEVSEC_TOKEN=tok:admin:admin:system,security,system-info
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/empty.conf"
svc_up authd || { nok "session checker up"; exit 0; }
smtp_mkca "$T_DIR/pki"
PW='Sm7p#acct-Pw9'
printf '%s\n' "$PW" > "$T_DIR/smtp.pw"
MD="$T_DIR/maildir"; PORT=16625
smtp_peer_start $PORT "$MD" "$T_DIR/pki/server.pem" "$T_DIR/pki/server.key" --user cam --password-file "$T_DIR/smtp.pw" || { nok "aiosmtpd up"; exit 0; }
smtp_start || { nok "smtp-notifier up"; exit 0; }

check_out "mail show before configuration: not configured" 'configured: +no' dc mail show
check_out "audit: smtp.tls is n/a without a server" 'smtp.tls.*(n/a|na|N/A)' dc audit --level 1
check_rc "a password in argv is refused (usage)" 2 dc mail set password="$PW"
check_out "mail set names a bad field" 'EINVAL.*from' dc mail set host=localhost from=not-an-address
check_rc "mail set: server, CA, account (password from stdin), alarms" 0 sh -c "printf '%s\n' '$PW' | '$B/devctl' mail set host=localhost port=$PORT from=cam@example.test ca_file='$T_DIR/pki/ca.pem' username=cam alarm_to=ops@example.test coalesce_s=2 burst=3 --password-stdin"
check_out "mail show: STARTTLS required, the password only as set" 'password_set: +yes' dc mail show
check_out "mail test queues" 'queued: +1' dc mail test ops@example.test
wait_for 15 test "$(smtp_count "$MD")" -ge 1
F=$(smtp_grep 'test mail 1/1' "$MD")
if [ -n "$F" ]; then ok "the test mail arrived over STARTTLS with AUTH"; else nok "the test mail arrived"; dc mail queue; fi
check_out "it went to the recipient" 'X-RcptTo: ops@example.test' cat "${F:-/dev/null}"
check_out "its Message-ID is derived from the queue id" '^Message-ID: <[0-9a-f]{32}@example.test>' cat "${F:-/dev/null}"
check_until "the outbox is empty again" 5 '^queued: +0' dc mail show

# ---- the account password: 0600 state, never in logs or exports
SF="$T_DIR/state/smtp-notifier/settings.mp"
check_out "settings with the password are 0600" '^600$' stat -c %a "$SF"
check "the password is in no log" sh -c "! grep -rqF -- '$PW' '$T_DIR/log'"
check "config get does not show it" sh -c "! '$B/devctl' --json config get smtp-notifier | grep -qF -- '$PW'"
check "config export does not carry it" sh -c "! '$B/devctl' config export smtp-notifier | grep -qF -- '$PW'"

# ---- alarms: one lockout is one mail; a burst of 1000 becomes a few digests
bg pubsvc env TESTSVC_NAME=pubsvc "$B/tests/testsvc" --identity testsvc -c "$T_DIR/empty.conf"
PUB_PID=$LAST_PID
svc_up pubsvc || nok "publisher up"
sleep 2.1  # a fresh coalescing window
check_out "an auth.locked event" 'published: +1' dc call pubsvc test.publish topic=auth.locked
wait_for 15 sh -c "grep -l 'Subject: \[devsec\] auth.locked' '$MD'/new/* | grep -q ."
check "the lockout arrived as an alarm mail" sh -c "grep -l 'Subject: \[devsec\] auth.locked' '$MD'/new/* | grep -q ."
BEFORE=$(smtp_count "$MD")
dc call pubsvc test.publish topic=auth.locked count=1000 >/dev/null
# the digest goes out when the window (2 s) ends
wait_for 20 sh -c "grep -l 'digest' '$MD'/new/* | grep -q ."
sleep 3
AFTER=$(smtp_count "$MD")
N=$((AFTER - BEFORE))
if [ "$N" -ge 1 ] && [ "$N" -le 8 ]; then ok "a burst of 1000 lockouts became $N mails"; else nok "a burst of 1000 lockouts became $N mails (want 1..8)"; fi
TOTAL=$(cat "$MD"/new/* | sed -n 's/^\([0-9]*\) events of auth.locked\* in a burst.*/\1/p' | awk '{s+=$1} END {print s+0}')
SINGLE=$(grep -l 'Subject: \[devsec\] auth.locked$' "$MD"/new/* | wc -l)
if [ $((TOTAL + SINGLE)) -ge 1000 ]; then ok "every event is accounted for in a mail or a digest ($SINGLE + $TOTAL)"; else nok "events accounted for: $SINGLE + $TOTAL"; fi
check_out "mail show counts the coalesced events" 'events_coalesced: +[1-9]' dc mail show

# ---- audit
check_out "audit: smtp.tls passes (level 1)" 'smtp.tls.*pass' dc audit --level 1
check_out "audit: smtp.auth passes" 'smtp.auth.*pass' dc audit --level 2

# ---- what the router exposes and a failed recording fetch are alarms too
check_out "a net.exposure.changed event" 'published: +1' dc call pubsvc test.publish topic=net.exposure.changed
check_out "an anr.failed event" 'published: +1' dc call pubsvc test.publish topic=anr.failed
wait_for 15 sh -c "grep -l 'Subject: \[devsec\] net.exposure.changed' '$MD'/new/* | grep -q . && grep -l 'Subject: \[devsec\] anr.failed' '$MD'/new/* | grep -q ."
check "both arrived as alarm mails" sh -c "grep -l 'Subject: \[devsec\] net.exposure.changed' '$MD'/new/* | grep -q . && grep -l 'Subject: \[devsec\] anr.failed' '$MD'/new/* | grep -q ."

# ---- a service that goes down reaches the operator's mailbox (busd's bus.service.down)
{ kill -9 "$PUB_PID"; wait "$PUB_PID"; } 2>/dev/null
wait_for 20 sh -c "grep -l 'Subject: \[devsec\] bus.service.down' '$MD'/new/* | grep -q ."
F=$(grep -l 'Subject: \[devsec\] bus.service.down' "$MD"/new/* 2>/dev/null | head -1)
if [ -n "$F" ]; then ok "a killed service arrived as a bus.service.down alarm"; else nok "a killed service arrived as a bus.service.down alarm"; fi
check_out "the alarm names the service and why it is down" '"service": *"pubsvc".*"reason": *"[a-z]' cat "${F:-/dev/null}"
