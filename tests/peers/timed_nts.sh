#!/bin/bash
# timed with NTS (RFC 8915) against a real chronyd NTS server 30 s ahead
# (faketime) on loopback, its own test CA. The server's KE answers name
# 127.0.0.2 as the NTP server, where a tampering relay forwards to it: timed
# syncs through it; replies with a flipped authenticator or timestamp byte are
# counted bad_auth and never used; replies stripped of their fields are
# rejected; a restart reuses the cached cookies (no new KE, by timed's counter
# and the server's); a KE server with another name or an untrusted CA gives
# no sync and the reason in time show; plain sources stay out of selection
# unless nts_mix; a KE server that refuses or never answers fails with the
# reason, within the KE timeout; an NTP server the KE names by a name is
# looked up.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/timed_lib.sh"
source "$(dirname "$0")/../lib/timed_nts_lib.sh"
for p in chronyd chronyc openssl python3; do
        have $p || { skip "timed NTS scenario" "$p not installed (tests/deps/nts.txt)"; exit 0; }
done
OFF=30; [ -n "$FAKETIME_LIB" ] || OFF=
timed_stack
nts_mkca "$T_DIR/pki"
NTS_NTPSERVER=127.0.0.2 chrony_nts_srv a 24323 24360 server $OFF || nok "chronyd NTS server starts (NTP 24323, KE 24360)"
A_PID=$SRV_PID
NTS_NTPSERVER= chrony_nts_srv other 24324 24361 other || nok "chronyd NTS server with another name starts"
chrony_srv plain 24325 || nok "plain chronyd starts"
# on 127.0.0.3, naming its NTP server 'localhost' (127.0.0.1), where a relay forwards to it
NTS_BIND=127.0.0.3 NTS_NTPSERVER=localhost chrony_nts_srv named 24329 24364 server || nok "chronyd NTS server on 127.0.0.3 starts"
echo pass > "$T_DIR/mode-named"
bg relay-named timeout 300 python3 "$ROOT_DIR/tests/lib/timed_nts_tamper.py" 127.0.0.1 24329 127.0.0.3 "$T_DIR/mode-named"
wait_for 5 grep -q ready "$T_DIR/log/relay-named.log" || nok "relay 127.0.0.1:24329 -> 127.0.0.3"
echo pass > "$T_DIR/mode"
bg relay timeout 300 python3 "$ROOT_DIR/tests/lib/timed_nts_tamper.py" 127.0.0.2 24323 127.0.0.1 "$T_DIR/mode"
wait_for 5 grep -q ready "$T_DIR/log/relay.log" || nok "tampering relay on 127.0.0.2:24323"
CA="nts_ca=\"$T_DIR/pki/ca.pem\""
timed_conf 'nts_servers=["127.0.0.1:24360"]' 'servers=["127.0.0.1:24325"]' "$CA" poll_min_s=1 poll_max_s=1 save_interval_s=1
timed_start || nok "stack starts"
S=$(src 24360)
srvstat() { chronyc -h "$T_DIR/chrony-a/chronyd.sock" -n serverstats 2>/dev/null |
        awk -F: -v k="$1" '{ n = $1; sub(/ +$/, "", n); v = $2; gsub(/ /, "", v); if (n == k) print v }'; }

# ---- sync, authenticated
if wait_status 20 "j['sync_state']=='synchronised' and $S['authenticated']>=2"; then ok "synchronises to the NTS server"; else nok "synchronises to the NTS server"; dc time show; fi
if [ -n "$OFF" ]; then
        wait_for 5 grep -q '"topic":"time.changed"' "$T_DIR/log/listen.log"
        d=$(grep -m1 '"topic":"time.changed"' "$T_DIR/log/listen.log" | jq_ "j['data']['delta']" 2>/dev/null)
        if pyt "abs(${d:-99} - 30) < 0.05"; then ok "the 30 s offset measured and stepped by authenticated time ($d s)"; else nok "step of 30 s: '$d'"; fi
else
        skip "offset through NTS" "libfaketime not installed"
fi
if wait_status 10 "abs($S['offset_ms']) < 5"; then ok "after the step the NTS source is within 5 ms"; else nok "NTS source offset $(tstatus "$S['offset_ms']") ms"; fi
if st_true "$S['nts'] and $S['ke']==1 and $S['ntp_host']=='127.0.0.2' and $S['ntp_port']==24323 and $S['state']=='selected'"; then
        ok "the source is NTS, keyed once, polled at the NTP server the KE named (127.0.0.2:24323)"; else nok "NTS source: $(tstatus "$S")"; fi
if wait_status 10 "$S['authenticated']>=4 and $S['cookies']==8"; then ok "each reply refills the cookie its request used (8 after $(tstatus "$S['authenticated']") exchanges)"; else nok "cookies: $(tstatus "$S")"; fi
check_out "time show marks the source nts: yes" '127\.0\.0\.1:24360 +selected .* yes' dc time show
check_out "time show marks the plain source nts: no" '127\.0\.0\.1:24325 +unauthenticated .* no' dc time show
check "the server counted one NTS-KE and authenticated packets" pyt "'$(srvstat 'NTS-KE connections accepted')' == '1' and int('$(srvstat 'Authenticated NTP packets')' or 0) >= 2"

# ---- tampering: flipped authenticator byte, flipped timestamp byte, stripped fields
steps0=$(tstatus "j['steps']"); corr0=$(tstatus "j['correction_ns']")
tamper_phase() { # MODE DROP-COUNTER DESC
        local m=$1 ctr=$2 desc=$3 rx0 b0 rx1
        b0=$(tstatus "$S['drops']['$ctr']")
        echo "$m" > "$T_DIR/mode"
        wait_for 5 grep -q "^$m 1\$" "$T_DIR/log/relay.log"
        rx0=$(tstatus "$S['rx']")
        if wait_status 15 "$S['drops']['$ctr'] >= $b0 + 3"; then ok "$desc: counted $ctr"; else nok "$desc: $ctr $(tstatus "$S['drops']")"; fi
        rx1=$(tstatus "$S['rx']")
        if [ "$rx1" = "$rx0" ]; then ok "$desc: never used (rx stays $rx0)"; else nok "$desc: rx $rx0 -> $rx1"; fi
}
tamper_phase auth bad_auth "a flipped authenticator byte"
tamper_phase ts bad_auth "a flipped transmit timestamp byte"
tamper_phase strip no_auth "replies stripped of their NTS fields"
if st_true "j['steps']==$steps0 and abs(j['correction_ns'] - $corr0) < 50e6"; then ok "no tampered reply moved the clock"; else nok "clock moved: steps $(tstatus "j['steps']"), correction $(tstatus "j['correction_ns']")"; fi
echo pass > "$T_DIR/mode"
rx0=$(tstatus "$S['rx']")
if wait_status 20 "$S['rx'] >= $rx0 + 2"; then ok "untampered replies are used again (new cookies by a new KE: $(tstatus "$S['ke']") KE)"; else nok "recovery after tampering: $(tstatus "$S")"; fi

# ---- restart: cookies and keys from the cache, no KE
ke_srv=$(srvstat 'NTS-KE connections accepted')
kill $TIMED_PID; wait $TIMED_PID 2>/dev/null
check "the cookie cache is 0600" test "$(stat -c %a "$T_DIR/state/timed/nts.mp")" = 600
bg timed2 "$B/timed" --dry-run; TIMED_PID=$LAST_PID; svc_up timed
if wait_status 15 "$S['authenticated']>=2"; then ok "after a restart: authenticated replies at once"; else nok "after a restart: $(tstatus "$S")"; fi
if st_true "$S['ke']==0 and $S['ke_failed']==0"; then ok "after a restart: the KE counter stays 0 (cached cookies)"; else nok "KE after restart: $(tstatus "$S")"; fi
check "after a restart: the server saw no new NTS-KE connection" test "$(srvstat 'NTS-KE connections accepted')" = "$ke_srv"

# ---- the server restarts with new keys: our cookies are refused (NAK), a new KE follows
kill $A_PID; wait $A_PID 2>/dev/null
rm -f "$T_DIR/chrony-a/ntskeys"
NTS_NTPSERVER=127.0.0.2 chrony_nts_srv a 24323 24360 server $OFF || nok "chronyd NTS server restarts with new keys"
a0=$(tstatus "$S['authenticated']")
if wait_status 20 "$S['drops']['nts_nak']>=1 and $S['ke']>=1 and $S['authenticated']>$a0"; then ok "NAK (NTSN) for old cookies: new KE, authenticated again"; else nok "NAK: $(tstatus "$S")"; fi
check_out "the NAK is logged" 'NTS NAK \(cookie refused\)' cat "$T_DIR/log/timed2.log"

# ---- nts_mix: the plain source may join selection
if st_true "`src 24325`['state']=='unauthenticated'"; then ok "nts_mix off: the plain source is not selectable"; else nok "plain source: $(tstatus "`src 24325`['state']")"; fi
dc config set timed nts_mix=true >/dev/null
# it is 30 s behind the NTS server: in selection, it is the falseticker
if wait_status 10 "`src 24325`['state'] in ('selected','candidate','falseticker')"; then ok "nts_mix on: the plain source joins selection ($(tstatus "`src 24325`['state']"))"; else nok "nts_mix: $(tstatus "`src 24325`['state']")"; fi
check_out "time show has nts_mix" '"nts_mix":true' dc --json time show
check_out "audit timed.nts fails with nts_mix on" 'timed\.nts.*fail' dc call timed audit.report level=3
dc config set timed nts_mix=false >/dev/null
check_until "audit timed.nts passes with minsources NTS sources" 5 'timed\.nts.*pass' dc call timed audit.report level=3

# ---- a KE server with another name (set while running); an untrusted CA
check_out "devctl time nts set replaces the NTS servers" '127\.0\.0\.1:24361' dc time nts set 127.0.0.1:24361
check_rc "a bad NTS server is refused" 1 dc time nts set 'bad host'
check_out "the error names the field" 'servers' dc time nts set 'bad host'
if wait_status 10 "`src 24361`['ke_failed']>=1"; then ok "wrong name: the KE fails"; else nok "wrong name: $(tstatus "`src 24361`")"; fi
check_out "wrong name: the reason is in time show" 'IP address mismatch' dc --json time show
check "wrong name: no sync" st_true "j['sync_state']!='synchronised' and j['updates']==0 and `src 24361`['rx']==0"
check_out "a new CA is taken" 'nts_ca' dc config set timed "nts_ca=$T_DIR/pki/ca2.pem"
check_out "back to the first server" '127\.0\.0\.1:24360' dc time nts set 127.0.0.1:24360
if wait_status 10 "$S['ke_failed']>=1"; then ok "untrusted CA: the KE fails (cached keys of the old CA not reused)"; else nok "untrusted CA: $(tstatus "$S")"; fi
check_out "untrusted CA: the reason is in time show" 'unable to get local issuer certificate' dc --json time show
check "untrusted CA: no sync" st_true "j['sync_state']!='synchronised' and j['updates']==0 and $S['rx']==0"
check_out "the failure is logged with the reason" 'NTS key establishment failed: certificate .* not accepted' cat "$T_DIR/log/timed2.log"

# ---- a KE server that is not there; one that accepts and never answers (bounded by the KE timeout)
check_out "no KE server listening" '127\.0\.0\.1:24369' dc time nts set 127.0.0.1:24369
check_until "refused connection: the reason is in time show" 10 '"nts_error":"connect: Connection refused"' dc --json time show
bg hold timeout 120 python3 -c "
import socket
s = socket.socket(); s.bind(('127.0.0.1', 24368)); s.listen(); print('ready', flush=True); held = []
while True: held.append(s.accept()[0])"
wait_for 5 grep -q ready "$T_DIR/log/hold.log"
dc time nts set 127.0.0.1:24368 >/dev/null
check_until "a KE server that never answers: given up after the timeout, reason in time show" 20 \
        '"nts_error":"no complete answer within the timeout"' dc --json time show
check "and timed still answers (nothing waited in the loop)" st_true "`src 24368`['nts_state'] in ('failed','key-establishment')"
# a CA file that is not there: named in time show
dc config set timed "nts_ca=$T_DIR/pki/missing.pem" >/dev/null
check_until "a missing CA file: the reason is in time show" 10 "cannot load the CA certificates '$T_DIR/pki/missing.pem'" dc --json time show

# a KE naming its NTP server by a name: looked up (without blocking the loop), then polled there
dc config set timed "nts_ca=$T_DIR/pki/ca.pem" >/dev/null
dc time nts set 127.0.0.3:24364 >/dev/null
N="[s for s in j['sources'] if s['address']=='127.0.0.3:24364'][0]"
if wait_status 15 "$N['authenticated']>=2 and $N['ntp_host']=='127.0.0.1' and $N['ntp_port']==24329"; then
        ok "the NTP server name 'localhost' from the KE of 127.0.0.3 is looked up and polled (127.0.0.1:24329)"; else nok "named NTP server: $(tstatus "$N")"; fi
