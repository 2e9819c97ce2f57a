#!/bin/bash
# authd benchmark: login verification time at the default Argon2id cost, and
# session.check round trip through busd with 1,000 active sessions.
# Prints: BENCH<TAB>metric<TAB>value<TAB>unit<TAB>note
source "$(dirname "$0")/../lib/tap.sh"
stack_init authd authbench
stack_acl authbench 'authbench = { call = ["authd.*", "bus.*"]; publish = []; subscribe = []; };'
stack_busd
bg authd "$B/authd"
svc_up authd
PW='Zx9#mQ2$vL'
printf '%s\n' "$PW" | dc init --password-stdin >/dev/null
printf '%s\n' "$PW" | dc login -u admin --password-stdin >/dev/null
ms=$(printf '%s\n' "$PW" | "$B/bench/authd_bench" login admin 11) || { echo "authd bench: login failed" >&2; exit 1; }
printf 'BENCH\tauthd.login_verify\t%s\tms\tsession.login round trip, Argon2id t=3 m=64MiB, median of 11\n' "$ms"
# many sessions: cheap hashes for the bench user, no session limits
dc config set authd hash_opslimit=1 hash_memlimit_kib=8 max_sessions=0 max_sessions_per_user=0 >/dev/null
printf '%s\n' 'Vw7#kP4!nR' | dc user add bench viewer --password-stdin >/dev/null
us=$(printf '%s\n' 'Vw7#kP4!nR' | AUTHD_BENCH_ID=authbench "$B/bench/authd_bench" check bench 1000 5000) ||
        { echo "authd bench: check failed" >&2; exit 1; }
printf 'BENCH\tauthd.session_check_rtt\t%s\tus\tsession.check via busd, 1000 active sessions, median of 5000\n' "$us"
