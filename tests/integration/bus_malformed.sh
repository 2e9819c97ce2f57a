#!/bin/bash
# Hostile input: 1,000 malformed messages (random bytes, truncated maps, wrong
# types, 100-deep nesting, 10 MB strings, bad kinds and versions); busd and the
# service stay up, every message with an id is answered; forged stamps are dropped.
source "$(dirname "$0")/../lib/tap.sh"
stack_init testsvc
stack_acl testsvc 'testsvc = { serve = ["testsvc"]; call = ["bus.*"]; publish = ["*"]; subscribe = ["*"]; };'
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
if grep -qE 'ERROR: AddressSanitizer|runtime error' "$T_DIR"/log/*.log; then nok "no sanitizer reports"; else ok "no sanitizer reports"; fi
