#!/bin/bash
# authd benchmark:
# - login verification time at the default Argon2id cost;
# - a login flood: 4 clients, each a front end with its own source, trying
#   wrong passwords as fast as answers come for made-up names (a new one every
#   4 tries: nothing locks, every attempt is hashed; the per-source rate limit
#   set to its maximum so that hashing is what is measured). During it, another
#   operator's sys.ping to authd and a daemon's session.check through busd,
#   side by side with the same figures idle; login throughput against
#   0.8 x CPUs / one hash;
# - session.check round trip through busd with 1,000 active sessions.
# Prints: BENCH<TAB>metric<TAB>value<TAB>unit<TAB>note ("target ...: PASS/FAIL")
source "$(dirname "$0")/../lib/tap.sh"
FLOOD_S=${FLOOD_S:-15}
us2ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
stack_init authd authbench flood1 flood2 flood3 flood4
stack_acl authbench 'authbench = { call = ["authd.*", "bus.*"]; publish = []; subscribe = []; };'
for i in 1 2 3 4; do
        stack_acl flood$i "flood$i = { gateway = true; call = [\"authd.session.login\"]; publish = []; subscribe = []; };"
done
sed -i 's/^login_rate = .*/login_rate = 1000;/; s/^login_burst = .*/login_burst = 1000;/;
        s/^front_ends = .*/front_ends = [ "webd", "flood1", "flood2", "flood3", "flood4" ];/' "$T_DIR/etc/authd.conf"
stack_busd
bg authd "$B/authd"
svc_up authd
PW='Zx9#mQ2$vL'; BPW='Vw7#kP4!nR'
printf '%s\n' "$PW" | dc init --password-stdin >/dev/null
printf '%s\n' "$PW" | dc login -u admin --password-stdin >/dev/null
ms=$(printf '%s\n' "$PW" | "$B/bench/authd_bench" login admin 11) || { echo "authd bench: login failed" >&2; exit 1; }
bench authd.login_verify "$ms" ms "session.login round trip, Argon2id t=3 m=64MiB, median of 11"

# ---- the flood, at the default cost
dc config set authd max_sessions=0 max_sessions_per_user=0 >/dev/null
printf '%s\n' "$BPW" | dc user add bench viewer --password-stdin >/dev/null
cpus=$(nproc)
hash=$("$B/bench/authd_bench" hash 5) || { echo "authd bench: hash failed" >&2; exit 1; }
bench authd.hash_verify "$hash" ms "one Argon2id verification in the bench process, t=3 m=64MiB, median of 5 ($cpus CPUs)"
probe() { # probe LABEL: p50/p95 of sys.ping and session.check, spaced 5 ms apart
        read -r PING50 PING95 < <(AUTHD_BENCH_ID=devctl "$B/bench/authd_bench" ping 300 5)
        read -r CHK50 CHK95 < <(printf '%s\n' "$BPW" | AUTHD_BENCH_ID=authbench "$B/bench/authd_bench" check bench 8 300 5)
}
probe
IPING50=$PING50 IPING95=$PING95 ICHK50=$CHK50 ICHK95=$CHK95
FP=""
for i in 1 2 3 4; do
        "$B/tests/authd_flood" -i flood$i -s 198.51.100.$i -n 2 flood f$i- "$FLOOD_S" > "$T_DIR/flood$i.out" 2>&1 &
        FP="$FP $!"
done
T_PIDS="$T_PIDS $FP"
sleep 1
probe
for p in $FP; do wait "$p"; done
n=0; msmax=0
for i in 1 2 3 4; do
        read -r e m < <(sed -n 's/^EAUTH=\([0-9]*\) .* ms=\([0-9]*\) .*/\1 \2/p' "$T_DIR/flood$i.out")
        n=$((n + ${e:-0})); [ "${m:-0}" -gt "$msmax" ] && msmax=$m
done
rate=$(awk -v n="$n" -v ms="$msmax" 'BEGIN { printf "%.1f", ms ? n * 1000 / ms : 0 }')
want=$(awk -v c="$cpus" -v h="$hash" 'BEGIN { printf "%.1f", 0.8 * c * 1000 / h }')
bench authd.ping_p95_idle "$(us2ms "$IPING95")" ms "sys.ping to authd via busd, no load (p50 $(us2ms "$IPING50"))"
bench authd.ping_p95_flood "$(us2ms "$PING95")" ms "same during the flood (p50 $(us2ms "$PING50")); idle $(us2ms "$IPING95"); target <= 2: $(verdict "$(us2ms "$PING95")" "<=" 2)"
bench authd.check_p95_idle "$(us2ms "$ICHK95")" ms "session.check via busd, no load (p50 $(us2ms "$ICHK50"))"
bench authd.check_p95_flood "$(us2ms "$CHK95")" ms "same during the flood (p50 $(us2ms "$CHK50")); idle $(us2ms "$ICHK95"); target <= 2: $(verdict "$(us2ms "$CHK95")" "<=" 2)"
bench authd.flood_logins "$rate" "/s" "$n wrong passwords hashed in ${msmax} ms by 4 clients; target >= 0.8 x $cpus / $hash ms = $want: $(verdict "$rate" ">=" "$want")"

# ---- many sessions: cheap hashes (bench's hash is lowered at its next login)
dc config set authd hash_opslimit=1 hash_memlimit_kib=8 >/dev/null
us=$(printf '%s\n' "$BPW" | AUTHD_BENCH_ID=authbench "$B/bench/authd_bench" check bench 1000 5000 | cut -d' ' -f1) ||
        { echo "authd bench: check failed" >&2; exit 1; }
bench authd.session_check_rtt "$us" us "session.check via busd, 1000 active sessions, median of 5000"
