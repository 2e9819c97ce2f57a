#!/bin/bash
# Delay and jitter from a userspace UDP relay in front of a real chronyd
# (no netem in this kernel). The server shares our clock, so the true offset
# is 0: whatever timed makes the (dry-run) clock do is its error. It must stay
# within the delay asymmetry the measurement cannot see (delay/2).
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/timed_lib.sh"
for p in chronyd python3; do have $p || { skip "timed relay scenario" "$p not installed"; exit 0; }; done
timed_stack
chrony_srv s 11123 || nok "chronyd"
bg relay python3 "$ROOT_DIR/tests/lib/timed_udp_delay.py" 11130 11123 40 40 10
bg relay2 python3 "$ROOT_DIR/tests/lib/timed_udp_delay.py" 11131 11123 30 5 2
wait_for 5 grep -q ready "$T_DIR/log/relay.log"; wait_for 5 grep -q ready "$T_DIR/log/relay2.log"

# symmetric 40 +- 10 ms each way
timed_conf 'servers=["127.0.0.1:11130"]' poll_min_s=1 poll_max_s=1
timed_start || nok "stack starts"
if wait_status 20 "j['sync_state']=='synchronised' and `src 11130`['rx']>=10"; then ok "synchronised through the relay"; else nok "synchronised through the relay"; dc time show; fi
d=$(tstatus "`src 11130`['delay_ms']")
# the filter keeps the least-delay sample of 8 draws of 2 x gauss(40, 10) ms: often near 60 ms, rarely under 30
if pyt "25 <= $d <= 130"; then ok "the measured delay shows the relay ($d ms)"; else nok "measured delay $d ms"; fi
e=$(dc --json call timed-clock sys.ping | jq_ "j['virtual_offset_ns']/1e6")
if pyt "abs($e) <= $d / 2"; then ok "clock error $e ms is within the delay asymmetry bound ($d/2 ms)"; else nok "clock error $e ms beyond $d/2 ms"; fi
if pyt "abs($e) <= 20"; then ok "and within 20 ms for 40+-10 ms each way ($e ms)"; else nok "clock error $e ms above 20 ms"; fi
check_out "no step for a sub-second offset" 'steps: +0$' dc call timed-clock sys.ping
kill $TIMED_PID; wait $TIMED_PID 2>/dev/null

# asymmetric: 30 ms out, 5 ms back: an error of ~12.5 ms nobody can see, bounded by delay/2
kill $CLOCK_PID; wait $CLOCK_PID 2>/dev/null
bg timed-clock2 "$B/timed-clock" --dry-run; CLOCK_PID=$LAST_PID; svc_up timed-clock
timed_conf 'servers=["127.0.0.1:11131"]' poll_min_s=1 poll_max_s=1
bg timed2 "$B/timed" --dry-run; TIMED_PID=$LAST_PID
if wait_status 20 "j['sync_state']=='synchronised' and `src 11131`['rx']>=8"; then ok "synchronised through the asymmetric relay"; else nok "synchronised through the asymmetric relay"; fi
d=$(tstatus "`src 11131`['delay_ms']")
e=$(dc --json call timed-clock sys.ping | jq_ "j['virtual_offset_ns']/1e6")
if pyt "abs($e) <= $d / 2"; then ok "asymmetric: error $e ms within delay/2 = $d/2 ms"; else nok "asymmetric: error $e ms beyond $d/2 ms"; fi
if pyt "8 <= $e <= 17"; then ok "asymmetric: the error is the expected (30-5)/2 ms ahead ($e ms)"; else nok "asymmetric: error $e ms, expected about +12.5"; fi
