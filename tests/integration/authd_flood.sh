#!/bin/bash
# Flooding authd's lock table and one source's login budget (minimum hash cost,
# driven by tests/lib/authd_flood.c so that thousands of attempts take seconds):
# - 4,096 made-up names, each locked, do not switch the lockout off: 10 wrong
#   passwords for admin still lock it, and a second flood does not lift that lock;
# - made-up names still lock after 5 failures like real ones;
# - the per-source token bucket refuses a burst from one source (EBUSY, counted
#   in sys.ping, logged rate-limited) while another source still gets through,
#   and refused attempts count toward the lock.
source "$(dirname "$0")/../lib/tap.sh"
stack_init authd webd
stack_acl webd 'webd = { gateway = true; call = ["authd.session.login", "authd.sys.ping"]; publish = []; subscribe = []; };'
sed -i 's/^hash_opslimit = .*/hash_opslimit = 1;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 8;/;
        s/^login_burst = .*/login_burst = 5;/' "$T_DIR/etc/authd.conf"
stack_busd
bg authd "$B/authd"; AUTHD_PID=$LAST_PID
svc_up authd || { nok "authd starts"; exit 0; }
ADMIN_PW='Zx9#mQ2$vL'
printf '%s\n' "$ADMIN_PW" | dc init --password-stdin >/dev/null
F="$B/tests/authd_flood"
ping_val() { "$F" ping | sed -n "s/^$1=//p"; }

# ---- token bucket per source (a front end vouches for the source)
out=$("$F" -i webd -s 192.0.2.10 spray burst 20)
echo "# 20 names from 192.0.2.10 at once: $out"
ea=$(echo "$out" | sed 's/.*EAUTH=\([0-9]*\).*/\1/'); eb=$(echo "$out" | sed 's/.*EBUSY=\([0-9]*\).*/\1/')
if [ "$ea" -ge 5 ] && [ "$ea" -le 7 ] && [ "$eb" -ge 13 ] && [ $((ea + eb)) = 20 ]; then
        ok "a burst from one source: the first 5 are tried, the rest refused (EBUSY) before hashing"
else nok "a burst from one source is not limited: $out"; fi
check_out "another source still gets through" '^EAUTH=3 ELOCKED=0 EBUSY=0 other=0' "$F" -i webd -s 192.0.2.11 spray other 3
check_out "the refusal names the rate limit" 'code=EBUSY reason=rate-limited msg=too many login attempts from .192.0.2.10.' \
        sh -c "echo x | '$F' -i webd -s 192.0.2.10 login burst00000"
n=$(ping_val login_rate_refused)
if [ -n "$n" ] && [ "$n" -ge 14 ]; then ok "sys.ping counts refused attempts ($n)"; else nok "sys.ping login_rate_refused: '$n'"; fi
l=$(grep -c 'login rate limit' "$T_DIR/log/authd.log" || true)
if [ "$l" -ge 1 ] && [ "$l" -le 2 ]; then ok "refusals logged rate-limited ($l records for $n)"; else nok "rate-limit records: $l"; fi
# refused attempts count toward the lock: 192.0.2.10's bucket is empty, and
# carol gets locked by refusals alone
"$F" -i webd -s 192.0.2.10 brute carol 6 >/dev/null
check_out "refused attempts count: the name is locked for every source" 'code=ELOCKED' \
        sh -c "echo x | '$F' -i webd -s 192.0.2.12 login carol"

# ---- fill the lock table with made-up names, each holding a lock
out=$("$F" fill ghost 4096 5)
echo "# 4,096 made-up names x 5 wrong passwords: $out"
check_out "the flood answered like wrong passwords" '^EAUTH=20480 ELOCKED=0 EBUSY=0 other=0 ' echo "$out"
# in a full table a flood's half-counted names are evicted first (they hold no
# lock yet), so a made-up name's lock is checked on one tried after the flood
check_out "a made-up name tried after the flood is locked like a real one" '^EAUTH=5 ELOCKED=1 EBUSY=0 ' "$F" brute ghostlate 6
check_out "10 wrong passwords for admin still lock it" '^EAUTH=5 ELOCKED=5 EBUSY=0 other=0 ' "$F" brute admin 10
out=$("$F" fill phantom 4200 5)
echo "# a second flood, 4,200 more names: $out"
check_out "the second flood's names lock too (made-up records evict each other)" '^EAUTH=21000 ELOCKED=0 ' echo "$out"
check_out "a made-up name tried after the second flood is locked" '^EAUTH=5 ELOCKED=1 EBUSY=0 ' "$F" brute phantomlate 6
check_out "admin's lock survives the second flood, even with the right password" 'code=ELOCKED' \
        sh -c "printf '%s\n' '$ADMIN_PW' | '$F' login admin"
n=$(ping_val locked)
if [ -n "$n" ] && [ "$n" -le $((4096 + 4096)) ]; then ok "the lock table stays bounded ($n records)"; else nok "lock records: '$n'"; fi
kill "$AUTHD_PID"; wait "$AUTHD_PID" 2>/dev/null
check "locks.mp written at stop" test -s "$T_DIR/state/authd/locks.mp"
