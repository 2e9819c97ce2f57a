#!/bin/bash
# Requests parked for a session check: each holds its whole message in busd
# until authd answers. With authd not reading, a client sending large
# requests under ever new tokens must not grow busd without bound: past
# busd's budget for parked requests they are answered EBUSY at once.
source "$(dirname "$0")/../lib/tap.sh"
# under ASan freed blocks sit in quarantine and would count as busd's memory
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1"
stack_init testsvc
stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = []; subscribe = []; };'
: > "$T_DIR/empty.conf"
stack_busd
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/empty.conf"
AUTHD_PID=$LAST_PID
svc_up authd
rss() { awk '/^VmRSS/ {print $2}' /proc/$BUSD_PID/status; }

kill -STOP $AUTHD_PID
r0=$(rss)
out=$("$B/tests/busprobe" park 64 768); echo "# $out"
r1=$(rss)
kill -CONT $AUTHD_PID
echo "# busd VmRSS ${r0} -> ${r1} kB"
busy=$(echo "$out" | sed -n 's/^busy=\([0-9]*\) .*/\1/p')
if [ "${busy:-0}" -ge 32 ]; then ok "past the budget, parked requests are refused at once (EBUSY: $busy of 64)"
else nok "48 MiB of requests parked without limit (EBUSY: ${busy:-none} of 64)"; fi
if [ $(( r1 - r0 )) -lt 40000 ]; then ok "busd grew by less than the 48 MiB sent ($(( (r1 - r0) / 1024 )) MiB)"
else nok "busd grew by $(( (r1 - r0) / 1024 )) MiB for 48 MiB of parked requests"; fi
check "busd is still running" kill -0 $BUSD_PID
wait_for 10 sh -c "'$B/devctl' call authd test.echo text=back | grep -q back"
check_out "authd answers again once it reads" 'text: +back' dc call authd test.echo text=back
if grep -qE 'ERROR: AddressSanitizer|runtime error' "$T_DIR"/log/*.log; then nok "no sanitizer reports"; else ok "no sanitizer reports"; fi
