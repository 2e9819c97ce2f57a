#!/bin/bash
# Brute force through the bus at the default Argon2id cost: 10,000 wrong
# passwords leave the account locked, authd's CPU stays bounded because locked
# accounts are refused before any hashing, and another user still logs in.
source "$(dirname "$0")/../lib/tap.sh"
stack_init authd
stack_busd
bg authd "$B/authd"; AUTHD_PID=$LAST_PID
svc_up authd
ADMIN_PW='Zx9#mQ2$vL'; VICTIM_PW='Vw7#kP4!nR'
printf '%s\n' "$ADMIN_PW" | dc init --password-stdin >/dev/null
printf '%s\n' "$ADMIN_PW" | dc login -u admin --password-stdin >/dev/null
printf '%s\n' "$VICTIM_PW" | dc user add victim operator --password-stdin >/dev/null
check_out "default cost: Argon2id t=3, 64 MiB" 'hash_memlimit_kib: +65536' dc auth policy show

cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$1/stat"; }
printf '%s\n' 'Qm4!zT7#kW' | dc user add known viewer --password-stdin >/dev/null
# 4 wrong passwords (below the lock) cost 4 verifications: known and unknown users alike
k=$("$B/tests/authd_probe" brute known 4 | sed 's/.*ms=//')
u=$("$B/tests/authd_probe" brute ghost 4 | sed 's/.*ms=//')
hash_ms=$(( k / 4 ))
echo "# 4 wrong passwords: known user ${k} ms, unknown user ${u} ms"
if [ "$u" -ge $(( k / 2 )) ] && [ "$u" -le $(( k * 2 )) ] && [ "$hash_ms" -ge 40 ]; then
        ok "unknown user and wrong password take the same time (${k} vs ${u} ms for 4)"
else
        nok "timing differs: known ${k} ms, unknown ${u} ms for 4 attempts"
fi

c0=$(cpu_ms "$AUTHD_PID")
out=$("$B/tests/authd_probe" brute victim 10000)
c1=$(cpu_ms "$AUTHD_PID")
cpu=$((c1 - c0))
echo "# brute force: $out; authd CPU ${cpu} ms; one login ${hash_ms} ms"
check_out "10,000 attempts: 5 wrong-password answers, the rest refused as locked" '^EAUTH=5 ELOCKED=9995 other=0 ' echo "$out"
# hashing each attempt would cost 10,000 x hash time; allow the 5 real hashes and a
# generous per-request overhead (1 ms) — still far below 1% of that.
bound=$(( 10 * hash_ms + 10000 ))
if [ "$cpu" -lt "$bound" ] && [ "$cpu" -lt $(( 10000 * hash_ms / 100 )) ]; then
        ok "authd CPU bounded: ${cpu} ms for 10,000 attempts (bound ${bound} ms; hashing all would be $(( 10000 * hash_ms / 1000 )) s)"
else
        nok "authd CPU not bounded: ${cpu} ms (bound ${bound} ms)"
fi
check_out "the victim stays locked, even with its right password" 'code=ELOCKED' sh -c "printf '%s\n' '$VICTIM_PW' | '$B/tests/authd_probe' login victim"
check_out "another user's correct login still works" 'ok group=admin' sh -c "printf '%s\n' '$ADMIN_PW' | '$B/tests/authd_probe' login-ok admin"
check_out "the lock is in the user list" 'victim +operator +yes +until' dc user list
n=$(grep -c "locked account 'victim'" "$T_DIR/log/authd.log" || true)
if [ "$n" -le 101 ]; then ok "refusals are logged rate-limited ($n records for 9,995 refusals)"; else nok "refusal records not rate-limited ($n)"; fi

# unknown names lock the same way: nothing tells an attacker which accounts exist
out=$("$B/tests/authd_probe" brute nosuchuser 1000)
check_out "an unknown user name is locked alike" '^EAUTH=5 ELOCKED=995 other=0 ' echo "$out"
kill "$AUTHD_PID"; wait "$AUTHD_PID" 2>/dev/null
if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' "$T_DIR/log/authd.log"; then
        nok "authd log has a sanitizer report"; grep -E -A5 'Sanitizer|runtime error' "$T_DIR/log/authd.log" | head -20 | sed 's/^/#   /'
else ok "authd stopped cleanly, no sanitizer report"; fi
