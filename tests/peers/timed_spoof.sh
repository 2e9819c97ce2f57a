#!/bin/bash
# Hostile and broken NTP replies from an injector on loopback: short, wrong
# origin (spoofed), replayed, stratum 0 and 16, leap 3, wrong mode/version,
# Kiss-o'-Death RATE (backs off) and DENY (source dropped). Every one is
# dropped and counted; none moves the clock; good replies still count.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/timed_lib.sh"
have python3 || { skip "timed spoofing scenario" "python3 not installed"; exit 0; }
timed_stack
bg inject1 python3 "$ROOT_DIR/tests/lib/timed_ntp_inject.py" 11140 \
        good short origin replay stratum0 stratum16 leap3 mode version good rate good
bg inject2 python3 "$ROOT_DIR/tests/lib/timed_ntp_inject.py" 11141 good deny good
wait_for 5 grep -q ready "$T_DIR/log/inject1.log"; wait_for 5 grep -q ready "$T_DIR/log/inject2.log"
timed_conf 'servers=["127.0.0.1:11140","127.0.0.1:11141"]' poll_min_s=1 poll_max_s=1
timed_start || nok "stack starts"

if wait_for 20 grep -q "req 12 good" "$T_DIR/log/inject1.log"; then ok "the injector saw 12 requests"; else nok "the injector saw 12 requests"; fi
sleep 0.5
J=$(dc --json time show)
drop() { printf '%s' "$J" | jq_ "[s for s in j['sources'] if s['address']=='127.0.0.1:$1'][0]$2"; }
for k in short bad_origin kod_other bad_stratum unsynchronised bad_mode bad_version kod_rate; do
        n=$(drop 11140 "['drops']['$k']")
        if [ "${n:-0}" -ge 1 ]; then ok "dropped and counted: $k ($n)"; else nok "dropped and counted: $k ($n)"; fi
done
n=$(drop 11140 "['drops']['bad_origin']")
if [ "$n" = 2 ]; then ok "wrong origin and the replayed copy both count as bad_origin"; else nok "bad_origin = $n, want 2"; fi
rx=$(drop 11140 "['rx']")
if [ "$rx" -ge 4 ]; then ok "good replies are accepted between the bad ones (rx $rx)"; else nok "good replies accepted: rx $rx"; fi
p=$(drop 11140 "['poll_s']")
if [ "$p" -ge 2 ]; then ok "kiss RATE backs off the poll (now $p s, was 1)"; else nok "RATE backs off: poll $p"; fi
check_out "RATE is logged" 'kiss RATE' cat "$T_DIR/log/timed.log"

if st_true "`src 11141`['state']=='denied'"; then ok "kiss DENY drops the source"; else nok "kiss DENY drops the source"; dc time show; fi
c1=$(grep -c '^req' "$T_DIR/log/inject2.log"); sleep 3; c2=$(grep -c '^req' "$T_DIR/log/inject2.log")
if [ "$c1" = "$c2" ] && [ "$c1" = 2 ]; then ok "a denied source is not polled again ($c2 requests)"; else nok "denied source polled: $c1 then $c2"; fi
check_out "DENY is logged" 'kiss DENY: not used any more' cat "$T_DIR/log/timed.log"
check_out "the clock was never stepped" 'steps: +0$' dc call timed-clock sys.ping
if st_true "`src 11140`['state'] in ('selected','candidate')"; then ok "the noisy source still serves with its good replies"; else nok "noisy source usable"; fi

# a spoofer on another port: the connected socket never even hands it to timed
before=$(drop 11140 "['drops']['bad_origin']")
lport=$(ss -Hunp | awk '/"timed"/ { for (i = 2; i <= NF; i++) if ($i == "127.0.0.1:11140") { l = $(i - 1); sub(/.*:/, "", l); print l } }')
if [ -n "$lport" ]; then ok "timed's socket for 11140 found (local port $lport)"; else nok "timed's socket for 11140 found"; fi
python3 -c "
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 11142))
pkt = bytes([0x24, 2, 4, 0xec]) + bytes(44)
for i in range(5): s.sendto(pkt, ('127.0.0.1', int('${lport:-1}')))"
sleep 0.5
J=$(dc --json time show)
after=$(drop 11140 "['drops']['bad_origin']")
if [ -n "$lport" ] && [ "$before" = "$after" ]; then ok "datagrams from another address never reach the engine"; else nok "foreign datagrams: $before -> $after"; fi
