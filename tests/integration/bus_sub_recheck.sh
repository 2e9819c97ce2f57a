#!/bin/bash
# A subscriber's session re-check that authd does not answer (authd hung right
# after a user-wide revocation): busd ends the subscription with EUNAVAIL, which
# is no verdict on the session, so the client subscribes again at the next
# heartbeat, says so, and devctl listen goes on (a session authd refuses still
# ends it: bus_sub_auth.sh). The hung authd is a stand-in (testsvc under authd's
# identity): a real authd cannot be made to hang between its revocation and
# the re-check.
source "$(dirname "$0")/../lib/tap.sh"
stack_init authd testsvc
stack_acl testsvc 'testsvc = { serve = ["testsvc"]; call = ["bus.*"]; publish = ["*"]; subscribe = []; };'
stack_busd
echo '' > "$T_DIR/none.conf"
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity authd -c "$T_DIR/none.conf"
bg testsvc "$B/tests/testsvc"
svc_up authd; svc_up testsvc
export DEVSEC_TOKEN=tok:ian:info:system-info
L="$T_DIR/listen.out"
# delivered TOPIC: publishes TOPIC until the listener has printed it
delivered() { wait_for "${2:-8}" sh -c "'$B/devctl' call testsvc test.publish topic=$1 >/dev/null; grep -q '$1' '$L'"; }
stat_of() { dc --json bus stats | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }

listen_bg "$L" -- demo.
check "the listener receives events" delivered demo.one
# the stand-in publishes the user-wide revocation, then holds its loop 4 s:
# busd's re-check (3 s) gets no answer
dc call authd session.revoke user=ian hold_ms=4000 >/dev/null 2>&1 &
check_until "busd ends the subscription for now (no answer)" 10 '^[1-9]' stat_of subs_ended
check_until "the listener says it subscribes again, and that events meanwhile are missed" 10 \
        "subscription to 'demo.' for now .*subscribing again.*missed" cat "$L.err"
check "the listener is still running" kill -0 "$LP"
check "events reach it again once authd answers" delivered demo.two 15
kill "$LP" 2>/dev/null; wait "$LP" 2>/dev/null
