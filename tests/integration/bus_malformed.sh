#!/bin/bash
# Hostile input: 1,000 malformed messages (random bytes, truncated maps, wrong
# types, 100-deep nesting, 10 MB strings, bad kinds and versions); busd and the
# service stay up, every message with an id is answered; forged stamps are dropped.
source "$(dirname "$0")/../lib/tap.sh"
stack_init testsvc twice
stack_acl testsvc 'testsvc = { serve = ["testsvc"]; call = ["bus.*"]; publish = ["*"]; subscribe = ["*"]; };'
stack_acl twice 'twice = { serve = ["probe-a", "probe-b"]; call = []; publish = []; subscribe = []; };'
stack_busd
bg testsvc "$B/tests/testsvc"
svc_up testsvc
out=$("$B/tests/busprobe" malformed 1000 2>&1); rc=$?
echo "# $out" | tail -3
if [ $rc = 0 ]; then ok "every malformed message carrying an id got an error reply"; else nok "unanswered malformed messages"; fi
check "busd is still running" kill -0 $BUSD_PID
check_out "the service still answers" 'text: +alive' dc call testsvc test.echo text=alive
check_out "busd counted the malformed messages" 'malformed: +[1-9][0-9]+' dc bus stats
check_out "a forged caller stamp in the envelope is replaced by busd's" "service saw caller 'devctl' user '' svc 0" \
        "$B/tests/busprobe" forge

# one connection, one service name: a second hello is refused and nothing dangles
check_out "a second service name on one connection is refused, visibly" \
        "refused: EINVAL: this connection already serves 'probe-a': one service name per connection" \
        env PROBE_IDENTITY=twice "$B/tests/busprobe" hello2 probe-a probe-b
check_out "busd logs the refused hello" "already serves 'probe-a' on this connection; hello for 'probe-b' refused" \
        cat "$T_DIR/log/busd.log"
wait_for 5 sh -c "! '$B/devctl' --json status | grep -q '\"name\":\"probe-a\",\"state\":\"running\"'"
check_out "the first service is dropped with its connection" 'probe-a +down' dc status
check_rc "calls to it answer EUNAVAIL (exit 4)" 4 dc call probe-a probe.x
check_out "the second name never registered" 'probe-b +down' dc status
check "busd is still running after the double hello" kill -0 $BUSD_PID
check_out "and still serves" 'text: +still' dc call testsvc test.echo text=still
if grep -qE 'ERROR: AddressSanitizer|runtime error' "$T_DIR"/log/*.log; then nok "no sanitizer reports"; else ok "no sanitizer reports"; fi
