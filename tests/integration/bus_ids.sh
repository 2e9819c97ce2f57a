#!/bin/bash
# A request's id comes back in its answer, so busd keeps it while the request
# is in flight. A client sending requests under ids of half a MiB to a
# service that does not answer must not grow busd by what it sends: an id is
# a scalar of at most 64 bytes (docs/protocol.md); a longer one is refused at
# once (EINVAL, field id) under a nil id, and a 64-byte id still works.
source "$(dirname "$0")/../lib/tap.sh"
# under ASan freed blocks sit in quarantine and would count as busd's memory
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1"
stack_init testsvc
stack_acl testsvc 'testsvc = { serve = ["testsvc"]; call = ["bus.*"]; publish = []; subscribe = []; };'
stack_busd
bg testsvc "$B/tests/testsvc"
SVC=$LAST_PID
svc_up testsvc
rss() { awk '/^VmRSS/ {print $2}' /proc/$BUSD_PID/status; }

kill -STOP "$SVC"
r0=$(rss)
out=$(PROBE_WAIT_MS=1500 "$B/tests/busprobe" ids testsvc 64 512); echo "# $out"
r1=$(rss)
echo "# busd VmRSS ${r0} -> ${r1} kB"
refused=$(echo "$out" | sed -n 's/^refused=\([0-9]*\) .*/\1/p')
malformed=$(echo "$out" | sed -n 's/.* malformed=\([0-9]*\) .*/\1/p')
other=$(echo "$out" | sed -n 's/.* other=\([0-9]*\) .*/\1/p')
if [ "${refused:-0}" -eq 66 ]; then ok "requests, a subscription and a hello under 512 KiB ids are refused at once, EINVAL field id, nil id (66 of 66)"
else nok "requests, a subscription and a hello under 512 KiB ids not all refused (${refused:-none} of 66 within 1.5 s): $out"; fi
if [ "${malformed:-0}" -eq 2 ] && [ "${other:-1}" -eq 0 ]; then ok "a malformed and a too large message under such an id are answered under a nil id, not echoed"
else nok "malformed or too large messages with a 512 KiB id: $out"; fi
check_out "busd counts the refused ids as malformed" '"malformed":(6[89]|[7-9][0-9])' dc --json bus stats
if [ $(( r1 - r0 )) -lt 16384 ]; then ok "busd grew by less than the 32 MiB of ids sent ($(( (r1 - r0) / 1024 )) MiB)"
else nok "busd grew by $(( (r1 - r0) / 1024 )) MiB for 32 MiB of ids in flight"; fi
kill -CONT "$SVC"
out=$(PROBE_WAIT_MS=5000 "$B/tests/busprobe" ids testsvc 0 1); echo "# $out"
check_out "a request under a 64-byte id is answered under it" 'small_back=1' echo "$out"
check "busd is still running" kill -0 $BUSD_PID
if grep -qE 'ERROR: AddressSanitizer|runtime error' "$T_DIR"/log/*.log; then nok "no sanitizer reports"; else ok "no sanitizer reports"; fi
