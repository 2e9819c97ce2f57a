#!/bin/bash
# busd routing: status, calls, errors named by field, timeouts, EUNAVAIL on
# death, re-registration, EDISABLED, ACL EPERM, CURVE refusal, authority stamping.
source "$(dirname "$0")/../lib/tap.sh"
stack_init testsvc intruder netcfgd
stack_acl testsvc 'testsvc = { serve = ["testsvc", "authd"]; call = ["bus.*", "testsvc.*"]; publish = ["*"]; subscribe = ["*"]; };'
stack_acl intruder 'intruder = { call = ["bus.services"]; publish = []; subscribe = []; };'
check_out "devctl without a running bus says so at once" 'the bus is not running' timeout 2 "$B/devctl" status
check_rc "and exits 4" 4 timeout 2 "$B/devctl" status
stack_busd
bg testsvc "$B/tests/testsvc"; SVC=$LAST_PID
svc_up testsvc
check_out "status lists busd and testsvc running" 'testsvc +running +0\.1-' dc status
check_out "status lists authd (installed by ACL) as down" 'authd +down' dc status
check_out "public call answers" 'text: +hi' dc call testsvc test.echo text=hi
check_rc "schema violation exits 1" 1 dc call testsvc test.echo n=101
check_out "error names the field" 'EINVAL: n: must be between 0 and 100' dc call testsvc test.echo n=101
check_out "unknown argument is refused by name" 'EINVAL: bogus: unknown argument' dc call testsvc test.echo bogus=1
check_out "wrong type is named" 'EINVAL: text: must be a string, not integer' dc call testsvc test.echo text=5
check_out "unknown method is ENOENT" 'ENOENT' dc call testsvc no.such
check_rc "absent service exits 4" 4 dc call nosuch x.y
check_rc "daemon-only method refused to devctl (3)" 3 dc call testsvc test.internal
check_rc "authority method without session exits 3" 3 dc call testsvc test.secure
check_out "json output" '"service":"testsvc"' dc --json call testsvc sys.ping

# deferred replies and timeouts
check_out "deferred reply arrives" 'slept: +yes' dc call testsvc test.sleep ms=200
check_out "slow call times out with ETIMEDOUT" 'ETIMEDOUT' dc --timeout 300 call testsvc test.sleep ms=2000

# a killed service: in-flight calls get EUNAVAIL quickly, not silence
( sleep 0.3; kill -9 $SVC ) &
t0=$(date +%s%N)
out=$(dc --timeout 10000 call testsvc test.sleep ms=5000 2>&1); rc=$?
t1=$(date +%s%N); ms=$(( (t1 - t0) / 1000000 ))
if [ $rc = 4 ] && echo "$out" | grep -q EUNAVAIL && [ $ms -lt 1500 ]; then ok "in-flight call gets EUNAVAIL within 1 s of the kill (${ms} ms)"; else nok "in-flight call after kill: rc=$rc ${ms}ms $out"; fi
check_rc "calls to the dead service get EUNAVAIL (exit 4)" 4 dc call testsvc test.echo
bg testsvc2 "$B/tests/testsvc"; SVC=$LAST_PID
if svc_up testsvc; then ok "restarted service re-registers"; else nok "restarted service re-registers"; fi
check_out "calls work after re-registration" 'text: +again' dc call testsvc test.echo text=again

# busd restart: services reconnect by themselves
kill $BUSD_PID; wait $BUSD_PID 2>/dev/null
stack_busd
if svc_up testsvc 8; then ok "service re-registers after a busd restart"; else nok "service re-registers after a busd restart"; fi

# ACL: an identity may only do what bus.acl allows
check_out "ACL refuses a call not listed (EPERM)" 'EPERM: identity .intruder. may not call testsvc.test.echo' \
        dc --identity intruder call testsvc test.echo
check_rc "ACL refusal exits 3" 3 dc --identity intruder call testsvc test.echo

# CURVE: a key that is not in the key directory is refused at the handshake
"$B/devsec-keygen" --confdir "$T_DIR/etc" stranger >/dev/null
rm -f "$T_DIR/etc/bus/keys/stranger.pub"
check_out "unknown key refused at the handshake" 'refused the key' dc --identity stranger --timeout 3000 status
check_rc "unknown key exits 3" 3 dc --identity stranger --timeout 3000 status
if grep -q "refused connection" "$T_DIR/log/busd.log"; then ok "busd logs the refused handshake"; else nok "busd logs the refused handshake"; fi

# operator authority: busd checks the token with "authd" and stamps the caller
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/none.conf"
svc_up authd
check_out "viewer session is stamped" 'user: +bob' env DEVSEC_TOKEN=tok:bob:viewer:monitor "$B/devctl" call testsvc test.session
check_out "viewer refused an account method (EPERM)" "EPERM: user 'bob' lacks authority 'account'" \
        env DEVSEC_TOKEN=tok:bob:viewer:monitor "$B/devctl" call testsvc test.secure
check_out "admin with account authority passes" 'group: +admin' \
        env DEVSEC_TOKEN=tok:alice:admin:account "$B/devctl" call testsvc test.secure
check_out "a set needs every authority: account alone is refused" "EPERM: user 'alice' lacks authority 'account\+security'" \
        env DEVSEC_TOKEN=tok:alice:admin:account "$B/devctl" call testsvc test.both
check_out "security alone is refused" "EPERM: user 'carol' lacks authority 'account\+security'" \
        env DEVSEC_TOKEN=tok:carol:admin:security "$B/devctl" call testsvc test.both
check_out "account and security together pass" 'user: +dave' \
        env DEVSEC_TOKEN=tok:dave:admin:account,security "$B/devctl" call testsvc test.both
check_rc "unknown token is EAUTH (exit 3)" 3 env DEVSEC_TOKEN=forged "$B/devctl" call testsvc test.session

# disable: only netcfgd (the function table's owner) may, whatever an ACL grants
check_out "another daemon may not disable a service even when its ACL grants bus.*" \
        "EPERM: identity 'testsvc' may not call bus.disable: only netcfgd may" \
        dc --identity testsvc call bus bus.disable service=testsvc
check_rc "and that refusal exits 3" 3 dc --identity testsvc call bus bus.disable service=testsvc
check_out "nor enable one" 'EPERM' dc --identity testsvc call bus bus.enable service=testsvc
# bus.* run under the caller busd knows from the connection: a stamp the client wrote is never read
check_out "a client-written stamp is ignored: testsvc claiming to be netcfgd is still refused" \
        "EPERM: identity 'testsvc' may not call bus.disable: only netcfgd may" \
        env PROBE_IDENTITY=testsvc "$B/tests/busprobe" call bus bus.disable netcfgd service=testsvc
check_out "an operator with a forged daemon stamp gets no daemon-only method" "EPERM: bus.bus.disable is for daemons only" \
        "$B/tests/busprobe" call bus bus.disable netcfgd service=testsvc
check_out "and testsvc is still running" 'testsvc +running' dc status
check_out "bus.disable names a bad service by field" 'EINVAL: service: ' \
        dc --identity netcfgd call bus bus.disable service=-bad
check_out "netcfgd may not disable authd" "EPERM: 'authd' cannot be disabled: the bus needs it to check operator sessions" \
        dc --identity netcfgd call bus bus.disable service=authd
check_out "nor busd itself" "EPERM: 'busd' cannot be disabled" dc --identity netcfgd call bus bus.disable service=busd
check_out "nor the bus" "EPERM: 'bus' cannot be disabled" dc --identity netcfgd call bus bus.disable service=bus
check_out "authd still answers after the refusals" 'user: +bob' env DEVSEC_TOKEN=tok:bob:viewer:monitor "$B/devctl" call testsvc test.session
# disable: callers get EDISABLED at once
check_out "netcfgd can disable a service" 'disabled: +yes' dc --identity netcfgd call bus bus.disable service=testsvc
check_rc "disabled service answers EDISABLED (exit 4)" 4 dc call testsvc test.echo
check_out "status shows disabled" 'testsvc +disabled' dc status
check_out "devctl may not disable services itself" 'EPERM' dc call bus bus.disable service=testsvc
dc --identity netcfgd call bus bus.enable service=testsvc >/dev/null
check_out "enabled again" 'text: +back' dc call testsvc test.echo text=back
