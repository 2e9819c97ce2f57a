#!/bin/bash
# Hashing off authd's loop:
# - while 4 front-end clients flood logins with wrong passwords for made-up
#   names (a new one every 4 tries, so every attempt is hashed), an
#   operator's session.check through busd (devctl whoami, busd's cache off)
#   and sys.ping still complete;
# - with one worker and a queue of one, a burst of concurrent logins gets
#   EBUSY (reason queue-full) at once, not after the hashes before it, and
#   sys.ping counts them;
# - hash_workers is validated, naming the field;
# - the worker threads run only while there is hashing: none when idle, at
#   most hash_workers during the flood, none again a few seconds after it.
source "$(dirname "$0")/../lib/tap.sh"
stack_init authd flood1 flood2 flood3 flood4
for i in 1 2 3 4; do
        stack_acl flood$i "flood$i = { gateway = true; call = [\"authd.session.login\", \"authd.sys.ping\"]; publish = []; subscribe = []; };"
done
# a real cost (t=2, 32 MiB: tens of ms a hash), the rate limit out of the way
sed -i 's/^hash_opslimit = .*/hash_opslimit = 2;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 32768;/;
        s/^login_rate = .*/login_rate = 1000;/; s/^login_burst = .*/login_burst = 1000;/;
        s/^front_ends = .*/front_ends = [ "webd", "flood1", "flood2", "flood3", "flood4" ];/' "$T_DIR/etc/authd.conf"
sed -i 's/^session_cache_ms = .*/session_cache_ms = 0;/' "$T_DIR/etc/busd.conf"
stack_busd
bg authd "$B/authd"; AUTHD_PID=$LAST_PID
svc_up authd || { nok "authd starts"; exit 0; }
ADMIN_PW='Zx9#mQ2$vL'
printf '%s\n' "$ADMIN_PW" | dc init --password-stdin >/dev/null
printf '%s\n' "$ADMIN_PW" | dc login -u admin --password-stdin >/dev/null
F="$B/tests/authd_flood"
ping_val() { "$F" ping | sed -n "s/^$1=//p"; }
check_out "sys.ping shows the workers (one per CPU by default)" "^hash_workers=$(nproc)\$" "$F" ping
threads() { ls "/proc/$AUTHD_PID/task" | wc -l; }
check_until "an idle authd runs no hash worker (hash_threads=0)" 5 '^hash_threads=0$' "$F" ping
t_idle=$(threads)

# ---- the flood
FP=""
for i in 1 2 3 4; do
        "$F" -i flood$i -s 198.51.100.$i -n 2 flood f$i- 8 > "$T_DIR/flood$i.out" 2>&1 &
        FP="$FP $!"
done
T_PIDS="$T_PIDS $FP"
busy() { [ "$(ping_val hash_running)" -ge 1 ] 2>/dev/null; }
check "the flood keeps the workers busy" wait_for 5 busy
ht=$(ping_val hash_threads); tf=$(threads)
if [ "${ht:-0}" -ge 1 ] && [ "$ht" -le "$(nproc)" ] && [ "$tf" -gt "$t_idle" ]; then ok "the flood started workers ($ht of at most $(nproc); threads $t_idle -> $tf)"
else nok "hash_threads=${ht:-?} threads $t_idle -> $tf during the flood"; fi
t0=$(date +%s%N)
check_out "whoami (session.check through busd) completes during the flood" 'user: +admin' timeout 5 "$B/devctl" whoami
t1=$(date +%s%N)
echo "# whoami during the flood: $(( (t1 - t0) / 1000000 )) ms (process start included)"
check_out "sys.ping completes during the flood" '^state=' timeout 5 "$F" ping
running=0; for p in $FP; do kill -0 "$p" 2>/dev/null && running=$((running + 1)); done
if [ "$running" = 4 ]; then ok "the 4 flooders were still at it"; else nok "only $running flooders still running"; fi
for p in $FP; do wait "$p"; done
tot=0; bad=0
for i in 1 2 3 4; do
        out=$(cat "$T_DIR/flood$i.out"); echo "# flood$i: $out"
        n=$(echo "$out" | sed -n 's/^EAUTH=\([0-9]*\) .*/\1/p'); tot=$((tot + ${n:-0}))
        echo "$out" | grep -q ' ELOCKED=0 .* other=0 ' || bad=1
done
if [ "$tot" -gt 20 ] && [ $bad = 0 ]; then ok "every flood attempt was hashed and refused ($tot EAUTH, no lock)"
else nok "flood answers: $tot EAUTH, bad=$bad"; fi
check_until "the workers end once idle (hash_threads=0)" 10 '^hash_threads=0$' "$F" ping
check "and so do their threads ($t_idle left)" wait_for 5 sh -c "[ \$(ls /proc/$AUTHD_PID/task | wc -l) -le $t_idle ]"

# ---- a full queue answers EBUSY at once
check_out "hash_workers is validated, naming the field" 'EINVAL: .*hash_workers: must be between 0 and 64' \
        dc config set authd hash_workers=65
check_out "workers x memory must fit in half the RAM, naming hash_workers" \
        'EINVAL: .*hash_workers: 64 worker\(s\) x 1048576 KiB .* exceed half' \
        dc config set authd hash_workers=64 hash_memlimit_kib=1048576
check_rc "one worker, a queue of one, the default cost" 0 dc config set authd hash_workers=1 hash_queue=1 \
        hash_opslimit=3 hash_memlimit_kib=65536
check_out "sys.ping shows one worker" '^hash_workers=1$' "$F" ping
full0=$(ping_val hash_queue_full)
out=$("$F" -i flood1 -s 198.51.100.9 -n 16 fill q 4 4)
echo "# 16 logins at once, one worker, queue of one: $out"
eb=$(echo "$out" | sed -n 's/.* EBUSY=\([0-9]*\) .*/\1/p'); ea=$(echo "$out" | sed -n 's/^EAUTH=\([0-9]*\) .*/\1/p')
bm=$(echo "$out" | sed -n 's/.*busy_max_ms=\([0-9]*\).*/\1/p')
if [ "${eb:-0}" -ge 8 ] && [ "${ea:-0}" -ge 1 ] && [ $((ea + eb)) = 16 ]; then ok "a full queue answers EBUSY ($eb of 16), the rest are hashed ($ea)"
else nok "full queue: $out"; fi
if [ "${eb:-0}" -ge 1 ] && [ -n "$bm" ] && [ "$bm" -lt 50 ]; then ok "EBUSY comes at once (slowest ${bm} ms, a hash takes ~100)"
else nok "EBUSY took ${bm:-?} ms"; fi
full1=$(ping_val hash_queue_full)
if [ -n "$full1" ] && [ -n "$full0" ] && [ "${eb:-0}" -ge 1 ] && [ "$((full1 - full0))" -ge "$eb" ]; then ok "sys.ping counts full-queue refusals ($full0 -> $full1)"
else nok "hash_queue_full: $full0 -> $full1"; fi
"$F" -i flood2 -s 198.51.100.10 -n 8 flood g 6 > /dev/null 2>&1 & BG=$!; T_PIDS="$T_PIDS $BG"
check_until "the refusal says why (reason queue-full)" 5 'code=EBUSY reason=queue-full' \
        sh -c "echo x | '$F' -i flood3 -s 198.51.100.11 login nobody"
wait "$BG"
kill "$AUTHD_PID"; wait "$AUTHD_PID" 2>/dev/null
check_out "authd stopped cleanly with the pool" 'authd.*(stopping|signal)' cat "$T_DIR/log/authd.log"
