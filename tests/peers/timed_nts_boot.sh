#!/bin/bash
# The boot-time rule of NTS: timed and its clock process start with the clock
# three years behind (libfaketime), so the NTS-KE server's certificate (valid
# from today) is "not yet valid". Checked at max(now, last known good time,
# build time) it still fails without a saved time: one KE then skips the time
# check only (chain and name still verified), flagged in time show and the
# log (counted in time show); timed syncs, and once the clock is set the source is re-keyed with the
# full check. With a last known good time of today, no bypass is needed. An
# untrusted CA is refused even while the clock is not set.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/timed_lib.sh"
source "$(dirname "$0")/../lib/timed_nts_lib.sh"
for p in chronyd openssl python3; do
        have $p || { skip "timed NTS boot-time scenario" "$p not installed (tests/deps/nts.txt)"; exit 0; }
done
[ -n "$FAKETIME_LIB" ] || { skip "timed NTS boot-time scenario" "libfaketime not installed (tests/deps/nts.txt)"; exit 0; }
if ldd "$B/timed" 2>/dev/null | grep -q libasan; then
        skip "timed NTS boot-time scenario" "under ASan preloading libfaketime aborts"; exit 0
fi
BACK=-94608000 # 3 x 365 days, in seconds: 2023, before timed-clock's floor (the clock counts as unset)
timed_stack
nts_mkca "$T_DIR/pki"
chrony_nts_srv a 24326 24362 server || nok "chronyd NTS server starts (NTP 24326, KE 24362)"
S=$(src 24362)
FAKE=(env LD_PRELOAD="$FAKETIME_LIB" FAKETIME="${BACK}s" FAKETIME_DONT_RESET=1) # env execs: the PID is the daemon's
start_fake() { # NAME: timed-clock and timed three years behind
        bg "clock-$1" "${FAKE[@]}" "$B/timed-clock" --dry-run; CLOCK_PID=$LAST_PID; svc_up timed-clock
        bg "$1" "${FAKE[@]}" "$B/timed" --dry-run; TIMED_PID=$LAST_PID; svc_up timed
}
stop_both() {
        kill $TIMED_PID $CLOCK_PID; wait $TIMED_PID $CLOCK_PID 2>/dev/null
        wait_for 10 sh -c "! '$B/devctl' --json status | grep -q '\"name\":\"timed\",\"state\":\"running\"'"
}

timed_conf 'nts_servers=["127.0.0.1:24362"]' "nts_ca=\"$T_DIR/pki/ca.pem\"" poll_min_s=1 poll_max_s=1
stack_busd
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc; svc_up authd
start_fake boot1
if wait_status 20 "j['sync_state']=='synchronised' and j['steps']>=1"; then ok "clock 3 years behind: synchronised by NTS"; else nok "clock 3 years behind: $(tstatus "$S")"; fi
check_out "the bypass is a security record naming the reason" 'certificate is not yet valid.*without the certificate time check' cat "$T_DIR/log/boot1.log"
if pyt "$(tstatus "j['correction_ns']") > 94000000e9"; then ok "the step moved the clock forward about 3 years"; else nok "correction $(tstatus "j['correction_ns']")"; fi
if wait_status 15 "$S['ke']>=2 and not $S['time_check_bypassed'] and $S['time_check_bypasses']==1 and $S['authenticated']>=2"; then
        ok "once the clock is set: re-keyed with the certificate time checked"; else nok "re-key after sync: $(tstatus "$S")"; fi
check_out "the re-key is logged" 'the clock is set: new key establishment' cat "$T_DIR/log/boot1.log"
check_out "time show keeps the count of bypassed KEs" '"time_check_bypasses":1' dc --json time show
stop_both


# keys from a bypassed KE are never cached: with minsources=2 and one source the clock is never set,
# so the bypassed keys stay in use (flagged) until timed stops
rm -f "$T_DIR/state/timed/nts.mp" "$T_DIR/state/timed/lkg.mp"
timed_conf 'nts_servers=["127.0.0.1:24362"]' "nts_ca=\"$T_DIR/pki/ca.pem\"" poll_min_s=1 poll_max_s=1 minsources=2
start_fake boot2
if wait_status 20 "$S['ke']>=1 and $S['time_check_bypassed'] and $S['authenticated']>=2 and j['updates']==0"; then
        ok "clock not set: the bypassed keys in use are flagged per source"; else nok "bypass flag: $(tstatus "$S")"; fi
check_out "time show warns of the bypass" 'WITHOUT the certificate time check' dc time show
stop_both
check "the bypassed keys were not written to the cache" python3 -c "import sys; sys.exit(b'c2s' in open('$T_DIR/state/timed/nts.mp', 'rb').read())"
start_fake boot2b
if wait_status 20 "$S['ke']==1 and $S['time_check_bypasses']==1"; then ok "after a restart: a new KE, bypassed and flagged again, not cached keys"; else nok "restart with bypass: $(tstatus "$S")"; fi
stop_both
rm -f "$T_DIR/state/timed/nts.mp"

# with a last known good time of today the certificate is checked at that time: no bypass

rm -f "$T_DIR/state/timed/nts.mp"
python3 -c "
import struct, time
open('$T_DIR/state/timed/lkg.mp', 'wb').write(b'\x81\xa7time_ms\xd3' + struct.pack('>q', int(time.time() * 1000)))"
chmod 600 "$T_DIR/state/timed/lkg.mp"
start_fake boot3
if wait_status 20 "$S['ke']>=1 and $S['authenticated']>=1"; then ok "with a last known good time: keyed"; else nok "with lkg: $(tstatus "$S")"; fi
if st_true "$S['time_check_bypasses']==0 and $S['ke_failed']==0"; then ok "with a last known good time: no bypass needed"; else nok "with lkg: $(tstatus "$S")"; fi
stop_both

# an untrusted CA is refused before the first sync too: the bypass is of the time check only
rm -f "$T_DIR/state/timed/nts.mp" "$T_DIR/state/timed/lkg.mp"
timed_conf 'nts_servers=["127.0.0.1:24362"]' "nts_ca=\"$T_DIR/pki/ca2.pem\"" poll_min_s=1 poll_max_s=1
start_fake boot4
if wait_status 10 "$S['ke_failed']>=1"; then ok "clock unset, untrusted CA: the KE fails"; else nok "untrusted CA: $(tstatus "$S")"; fi
if st_true "$S['time_check_bypasses']==0 and not $S['time_check_bypassed'] and j['updates']==0"; then ok "clock unset, untrusted CA: no bypass, no sync"; else nok "untrusted CA: $(tstatus "$S")"; fi
stop_both
