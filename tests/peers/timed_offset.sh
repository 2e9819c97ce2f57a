#!/bin/bash
# timed against a real chronyd that is 30 s off (faketime): timed measures the
# offset, steps once at start (makestep-like), publishes time.changed, keeps
# the last known good time, and -- run with --dry-run as in make run -- never
# touches the host clock.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/timed_lib.sh"
for p in chronyd faketime python3; do
        have $p || { skip "timed offset scenario" "$p not installed (tests/deps/timed.txt)"; exit 0; }
done
timed_stack
chrony_srv ahead 11123 30 || nok "chronyd under faketime starts on 11123"
timed_conf 'servers=["127.0.0.1:11123"]' poll_min_s=1 poll_max_s=2 save_interval_s=1
SKEW0=$(epoch_skew)
timed_start || nok "stack starts"

if wait_status 15 "j['sync_state']=='synchronised' and j['steps']>=1"; then ok "synchronises to the server"; else nok "synchronises to the server"; dc time show; fi
wait_for 5 grep -q '"topic":"time.changed"' "$T_DIR/log/listen.log"
ev=$(grep -m1 '"topic":"time.changed"' "$T_DIR/log/listen.log")
d=$(printf '%s' "$ev" | jq_ "j['data']['delta']" 2>/dev/null)
if python3 -c "import sys; sys.exit(0 if abs($d - 30) < 0.05 else 1)" 2>/dev/null; then ok "time.changed reports the 30 s step (delta $d s)"; else nok "time.changed reports the 30 s step: '$ev'"; fi
check_out "time.changed names the reason" '"reason":"ntp-initial"' grep time.changed "$T_DIR/log/listen.log"
check_out "time.changed has old and new" '"old":[0-9]+,"new":[0-9]+' grep time.changed "$T_DIR/log/listen.log"
v=$(dc --json call timed-clock sys.ping | jq_ "j['virtual_offset_ns']/1e9")
if python3 -c "import sys; sys.exit(0 if abs($v - 30) < 0.05 else 1)"; then ok "the clock process recorded the correction ($v s)"; else nok "the clock process recorded the correction ($v s)"; fi
check_out "the clock process ran as a dry run" 'dry_run: +yes' dc call timed-clock sys.ping
wait_status 10 "abs(`src 11123`['offset_ms']) < 5"
o=$(tstatus "abs(`src 11123`['offset_ms'])")
if python3 -c "import sys; sys.exit(0 if $o < 5 else 1)"; then ok "after the step the source is within 5 ms ($o ms)"; else nok "after the step the source is within 5 ms ($o ms)"; fi
if st_true "`src 11123`['state']=='selected'"; then ok "the source is selected"; else nok "the source is selected"; fi
st=$(tstatus "`src 11123`['stratum']")
if [ "$st" = 8 ]; then ok "stratum of the server is reported (8)"; else nok "stratum reported: $st"; fi
n=$(grep -c time.changed "$T_DIR/log/listen.log")
if [ "$n" = 1 ]; then ok "exactly one step; later corrections are slews"; else nok "steps published: $n"; fi
check_until "slews go to the clock process" 10 'adjusts: +[1-9]' dc call timed-clock sys.ping
if wait_status 10 "j['poll_s']==2"; then ok "the poll interval adapts upwards on a quiet clock (1 -> 2 s)"; else nok "poll adapts: $(tstatus "j['poll_s']")"; fi
check_out "time show prints the source table" '127\.0\.0\.1:11123 +selected +8 ' dc time show

# the host clock was never set: realtime-monotonic did not move by 30 s
SKEW1=$(epoch_skew)
if python3 -c "import sys; sys.exit(0 if abs($SKEW1 - $SKEW0) < 0.5e9 else 1)"; then ok "--dry-run: the host clock was not touched"; else nok "--dry-run: the host clock moved by $(( (SKEW1 - SKEW0) / 1000000 )) ms"; fi

# the last known good time is saved (periodically, and at stop) and is the corrected time
sleep 1.5
lkg=$(python3 -c "
import sys
b=open('$T_DIR/state/timed/lkg.mp','rb').read()
i=b.index(b'time_ms')+7; t=b[i]
print(int.from_bytes(b[i+1:i+9],'big',signed=True) if t in (0xd3,0xcf) else -1)")
now=$(python3 -c 'import time; print(int(time.time()*1000))')
if [ $(( lkg - now )) -gt 28000 ] && [ $(( lkg - now )) -lt 32000 ]; then ok "last known good time saved ($(( (lkg - now) / 1000 )) s ahead of the host clock, as timed's clock is)"; else nok "last known good time: $lkg vs host $now"; fi
# no periodic save from now on (the save timer is re-armed): only the stop writes it
check_out "save interval changed while running" 'save_interval_s: +3600' dc config set timed save_interval_s=3600
sleep 1.2
before=$(md5sum < "$T_DIR/state/timed/lkg.mp")
sleep 0.5
kill $TIMED_PID; wait $TIMED_PID 2>/dev/null; rc=$?
after=$(md5sum < "$T_DIR/state/timed/lkg.mp")
if [ $rc = 0 ] && [ "$before" != "$after" ]; then ok "SIGTERM: exit 0, last known good time saved at stop"; else nok "SIGTERM: rc=$rc, lkg rewritten: $before vs $after"; fi
check "lkg file is 0600" test "$(stat -c %a "$T_DIR/state/timed/lkg.mp")" = 600

# a restart with the clock behind the saved time: stepped forward to it, never left behind
bg timed2 "$B/timed" --dry-run; TIMED_PID=$LAST_PID
if wait_for 10 sh -c "grep -c time.changed '$T_DIR/log/listen.log' | grep -q 2"; then ok "restart steps the clock forward to the last known good time"; else nok "restart steps to the last known good time"; fi
check_out "the step names its reason" '"reason":"last-known-good"' grep time.changed "$T_DIR/log/listen.log"
