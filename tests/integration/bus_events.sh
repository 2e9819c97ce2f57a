#!/bin/bash
# Events: fan-out by prefix, src stamped by busd, publish ACL, restricted topics,
# subscriptions surviving a busd restart (subscribing again under the session).
source "$(dirname "$0")/../lib/tap.sh"
stack_init testsvc quiet
stack_acl testsvc 'testsvc = { serve = ["testsvc", "authd"]; call = ["bus.*"]; publish = ["*"]; subscribe = ["*"]; };'
stack_acl quiet 'quiet = { serve = ["quiet"]; call = []; publish = ["log.*"]; subscribe = []; };'
stack_busd
bg testsvc "$B/tests/testsvc"
bg quiet env TESTSVC_NAME=quiet "$B/tests/testsvc" --identity quiet; QUIET_PID=$LAST_PID
echo '' > "$T_DIR/none.conf"
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/none.conf"
svc_up testsvc; svc_up quiet; svc_up authd
# an operator's subscription needs a session holding the topics' authorities
export DEVSEC_TOKEN=tok:ann:admin:system-info,security

L="$T_DIR/listen.out"
listen_bg "$L" -- demo. --count=5
dc call testsvc test.publish topic=other.x count=3 >/dev/null
dc call testsvc test.publish topic=demo.tick count=5 >/dev/null
wait_for 5 sh -c "[ \$(wc -l < '$L') -ge 5 ]"
wait $LP 2>/dev/null
check_out "listener got the 5 events under its prefix" '^5$' sh -c "grep -c 'demo.tick' '$L'"
check_out "and none outside it" '^0$' sh -c "grep -c 'other.x' '$L' || true"
check_out "events carry the publisher identity stamped by busd" 'demo\.tick +testsvc' cat "$L"

# everything ("") also brings busd's own log.security record of the refusal
listen_bg "$L" --json -- "" --count=100
dc call quiet test.publish topic=demo.forbidden >/dev/null
dc call testsvc test.publish topic=auth.reset.code >/dev/null
dc call testsvc test.publish topic=demo.allowed >/dev/null
wait_for 5 grep -q '"topic":"demo.allowed"' "$L"; kill $LP 2>/dev/null; wait $LP 2>/dev/null
check_out "publish refused by the ACL never reaches subscribers" '"topic":"demo.allowed"' cat "$L"
if grep -q '"topic":"\(auth.reset.code\|demo.forbidden\)"' "$L"; then nok "restricted and refused topics stay private"; else ok "restricted and refused topics stay private"; fi
check_out "busd's record of the refusal is published as log.security from busd" \
        '"topic":"log.security","src":"busd".*"user":"quiet","msg":"bus: .quiet. may not publish .demo.forbidden. \(bus ACL\)"' cat "$L"
check_out "busd logs the refused publish" "may not publish 'demo.forbidden'" cat "$T_DIR/log/busd.log"

# a subscriber keeps its subscription across a busd restart
listen_bg "$L" -- demo. --count=1
kill $BUSD_PID; wait $BUSD_PID 2>/dev/null
stack_busd
# the listener's subscription is an operator's: busd checks it with authd, so
# both must be back before it can be taken again
svc_up testsvc 8; svc_up authd 8
# the listener hears "who" at its next heartbeat (or notices three missed ones) and
# subscribes again: publish until it has one, never guess how long that takes
wait_for 20 sh -c "'$B/devctl' call testsvc test.publish topic=demo.after >/dev/null; grep -q demo.after '$L'"
check_out "subscription survives a busd restart" 'demo.after' cat "$L"

# busd's word on presence: bus.service.down when a service goes away (with the
# reason), bus.service.up when it registers again (alarm rules mail these)
kill $LP 2>/dev/null
listen_bg "$L" --json -- bus.service. --count=2
kill -9 "$QUIET_PID"; wait "$QUIET_PID" 2>/dev/null
bg quiet env TESTSVC_NAME=quiet "$B/tests/testsvc" --identity quiet
wait_for 10 sh -c "[ \$(grep -c bus.service '$L') -ge 2 ]"
check_out "a killed service: bus.service.down from busd, with the reason" \
        '"topic":"bus.service.down","src":"busd".*"service":"quiet".*"pid":'"$QUIET_PID"'.*"reason":"(connection closed|missed three heartbeats|restarted: replaced by a new registration)"' cat "$L"
check_out "its return: bus.service.up with the new pid and version" \
        '"topic":"bus.service.up","src":"busd".*"service":"quiet","version":"[^"]+","pid":'"$LAST_PID"',"identity":"quiet"' cat "$L"
