#!/bin/bash
# reset.confirm costs the same for a known and an unknown name (by code and by
# answers), so its timing enumerates no account. Real Argon2id cost (tens of ms).
source "$(dirname "$0")/../lib/tap.sh"
stack_init authd
sed -i 's/^hash_opslimit = .*/hash_opslimit = 2;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 32768;/' "$T_DIR/etc/authd.conf"
stack_busd
bg authd "$B/authd"; svc_up authd || { nok "authd starts"; exit 0; }
ADMIN_PW='Zx9#mQ2$vL'
printf '%s\n' "$ADMIN_PW" | dc init --password-stdin >/dev/null
printf '%s\n' "$ADMIN_PW" | DEVSEC_TOKEN_FILE="$T_DIR/tok" dc login -u admin --password-stdin >/dev/null
for u in kim lee; do
        printf '%s\n' 'Qm4!zT7#kW' | DEVSEC_TOKEN_FILE="$T_DIR/tok" dc user add $u viewer --password-stdin >/dev/null
done
# ms of one reset.confirm (always refused here)
t_confirm() {
        local t0 t1
        t0=$(date +%s%N)
        dc call authd reset.confirm --args-json "{\"user\":\"$1\",$2,\"new_password\":\"Lp3@rX6^bTq\"}" >/dev/null 2>&1
        t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 ))
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for how in code answers; do
        if [ $how = code ]; then arg='"code":"12345678"'; else arg='"answers":["blue"]'; fi
        known=$(for u in kim lee kim lee; do t_confirm $u "$arg"; done | median)
        unknown=$(for u in kit lex kit lex; do t_confirm $u "$arg"; done | median)
        if [ "$unknown" -ge 5 ] && [ $(( known * 2 )) -ge "$unknown" ] && [ $(( unknown * 2 )) -ge "$known" ]; then
                ok "reset by $how: a known name costs what an unknown one does (${known} ms vs ${unknown} ms)"
        else
                nok "reset by $how: known ${known} ms, unknown ${unknown} ms"
        fi
done
