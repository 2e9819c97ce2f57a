#!/bin/bash
# Raw copies on hostile shapes: busd passes an event's data on as the
# publisher encoded it, found by a walk over the bytes; a map key that is
# itself a container (msgpack allows any key) must not lead that walk to
# another value than the one busd decoded (a single pub, and inside a batch).
source "$(dirname "$0")/../lib/tap.sh"
stack_init testsvc pubprobe
stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = []; subscribe = []; };'
stack_acl pubprobe 'pubprobe = { call = []; publish = ["test.*"]; subscribe = []; };'
export DEVSEC_TOKEN=tok:admin:admin:system,security,system-info
: > "$T_DIR/empty.conf"
stack_busd
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/empty.conf"
svc_up authd

L="$T_DIR/listen.out"
listen_bg "$L" --json -- test.peek --count=2
check "the probe published its two events" env PROBE_IDENTITY=pubprobe "$B/tests/busprobe" pubkey test.peek
wait_for 10 sh -c "[ \$(grep -c '\"topic\":\"test.peek\"' '$L') -ge 2 ]"
kill $LP 2>/dev/null; wait $LP 2>/dev/null
check_out "the single event reached the subscriber with its own data" '"data":\{"n":2\}' cat "$L"
check_out "the batched event too, not the value of a key's item" '"data":\{"n":3\}' cat "$L"
check_out "the batched event is stamped with its publisher, not the src it claimed" '"src":"pubprobe","data":\{"n":3\}' cat "$L"
check_out "and the stamp it wrote (c) went nowhere" '^0$' sh -c "grep -c '\"c\"\|\"svc\"' '$L' || true"
check_out "no other data was passed on" '^0$' sh -c "grep -c '\"data\":7' '$L' || true"
check "busd is still running" kill -0 $BUSD_PID
if grep -qE 'ERROR: AddressSanitizer|runtime error' "$T_DIR"/log/*.log; then nok "no sanitizer reports"; else ok "no sanitizer reports"; fi
