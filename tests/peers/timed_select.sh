#!/bin/bash
# Selection against real chronyd servers: of three, one is an hour off
# (faketime): it is marked a falseticker and the clock follows the other two.
# A fourth server is added while running (devctl time ntp set); then it stops
# answering: it becomes unreachable and the rest carry on.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/timed_lib.sh"
for p in chronyd python3; do have $p || { skip "timed selection scenario" "$p not installed"; exit 0; }; done
[ -n "$FAKETIME_LIB" ] || { skip "timed selection scenario" "libfaketime not installed"; exit 0; }
timed_stack
chrony_srv a 11123 || nok "chronyd a"
chrony_srv b 11124 || nok "chronyd b"
chrony_srv wrong 11125 3600 || nok "chronyd wrong"
chrony_srv d 11126 || nok "chronyd d"; D_PID=$SRV_PID
timed_conf 'servers=["127.0.0.1:11123","127.0.0.1:11124","127.0.0.1:11125"]' \
        minsources=2 poll_min_s=1 poll_max_s=1
timed_start || nok "stack starts"

if wait_status 15 "j['sync_state']=='synchronised' and j['updates']>=3"; then ok "synchronised with three servers"; else nok "synchronised with three servers"; dc time show; fi
if st_true "`src 11125`['state']=='falseticker' and j['survivors']==2"; then ok "of three, the one an hour off is a falseticker; two survive"; else nok "of three: falseticker"; dc time show; fi
if st_true "{`src 11123`['state'], `src 11124`['state']} == {'selected','candidate'}"; then ok "the clock follows the other two"; else nok "the clock follows the other two"; fi
check_out "no step: the falseticker did not move the clock" 'steps: +0$' dc call timed-clock sys.ping

# a fourth server, added while running
check_out "servers changed while running" '127.0.0.1:11126' \
        dc time ntp set 127.0.0.1:11123 127.0.0.1:11124 127.0.0.1:11125 127.0.0.1:11126

if wait_status 15 "j['sync_state']=='synchronised' and j['updates']>=3 and len(j['sources'])==4"; then ok "synchronised with four servers"; else nok "synchronised with four servers"; dc time show; fi
if st_true "`src 11125`['state']=='falseticker'"; then ok "the server an hour off is a falseticker"; else nok "the server an hour off is a falseticker"; dc time show; fi
o=$(tstatus "`src 11125`['offset_ms']")
if pyt "abs($o - 3600000) < 50"; then ok "its offset is measured (${o} ms)"; else nok "its offset is measured (${o} ms)"; fi
if st_true "all(s['state'] in ('selected','candidate') for s in j['sources'] if s['address']!='127.0.0.1:11125')"; then ok "the other three are selected/candidates"; else nok "the other three are selected/candidates"; dc time show; fi
if st_true "j['survivors']==3"; then ok "three survivors combined"; else nok "three survivors combined"; fi
if st_true "abs(j['offset_ms']) < 5"; then ok "the combined offset follows the good servers"; else nok "combined offset"; dc time show; fi
check_out "no step was made: the falseticker did not move the clock" 'steps: +0$' dc call timed-clock sys.ping
v=$(dc --json call timed-clock sys.ping | jq_ "abs(j['virtual_offset_ns'])/1e6")
if pyt "$v < 10"; then ok "the clock moved by less than 10 ms in total ($v ms)"; else nok "the clock moved by $v ms"; fi
if ! grep -q time.changed "$T_DIR/log/listen.log"; then ok "no time.changed event"; else nok "time.changed published"; fi
check_out "time show lists the falseticker" '127\.0\.0\.1:11125 +falseticker' dc time show

# one good server stops answering
kill $D_PID; wait $D_PID 2>/dev/null
u0=$(tstatus "j['updates']")
if wait_status 10 "`src 11126`['state']=='unreachable'"; then ok "the stopped server becomes unreachable"; else nok "the stopped server becomes unreachable"; dc time show; fi
r=$(tstatus "`src 11126`['reach']")
if [ "${r: -1}" = 0 ]; then ok "its reach register shows the misses ($r)"; else nok "reach register: $r"; fi
sleep 3
if st_true "j['sync_state']=='synchronised' and j['survivors']==2 and j['updates']>$u0"; then ok "the rest carry on: still synchronised, updates continue"; else nok "the rest carry on"; dc time show; fi
if st_true "`src 11125`['state']=='falseticker'"; then ok "with two good servers left the falseticker stays out"; else nok "falseticker stays out"; fi
check_out "still no step" 'steps: +0$' dc call timed-clock sys.ping
