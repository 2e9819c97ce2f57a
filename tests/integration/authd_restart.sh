#!/bin/bash
# Sessions survive an authd restart: a login still works after kill -TERM and
# a new start (and after kill -KILL once the session was written), a logout
# after the restart revokes, a session that expired while authd was down is
# not revived, and busd's session cache (made long here) does not keep
# serving it: authd tells busd to drop its cache when it starts.
# sessions.mp is 0600 and holds token hashes, never a token.
source "$(dirname "$0")/../lib/tap.sh"
stack_init authd
sed -i 's/^hash_opslimit = .*/hash_opslimit = 1;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 8;/' "$T_DIR/etc/authd.conf"
sed -i 's/^session_cache_ms = .*/session_cache_ms = 60000;/' "$T_DIR/etc/busd.conf"
stack_busd
start_authd() { bg authd "$B/authd"; AUTHD_PID=$LAST_PID; svc_up authd; }
stop_authd() { kill "-${1:-TERM}" "$AUTHD_PID"; wait "$AUTHD_PID" 2>/dev/null; }
as() { local u=$1; shift; DEVSEC_TOKEN_FILE="$T_DIR/tok.$u" "$B/devctl" "$@"; }
login() { printf '%s\n' "$2" | as "$1" login -u "$1" --password-stdin; }
F="$DEVSEC_STATEDIR/authd/sessions.mp"
has_sid() { [ -f "$F" ] && grep -qF "$1" "$F"; }
sid_of() { as "$1" --json whoami | sed -n 's/.*"sid":"\([0-9a-f]*\)".*/\1/p'; }

start_authd || { nok "authd starts"; exit 0; }
ADMIN_PW='Zx9#mQ2$vL'; BOB_PW='Vw7#kP4!nR'; CAROL_PW='Hq5%tN8=wY'
printf '%s\n' "$ADMIN_PW" | dc init --password-stdin >/dev/null
login admin "$ADMIN_PW" >/dev/null
printf '%s\n' "$BOB_PW" | as admin user add bob viewer --password-stdin >/dev/null
printf '%s\n' "$CAROL_PW" | as admin user add carol viewer --password-stdin >/dev/null
login bob "$BOB_PW" >/dev/null
ASID=$(sid_of admin); BSID=$(sid_of bob)
check "both sessions are written within a second or so" wait_for 5 sh -c "grep -qF '$ASID' '$F' && grep -qF '$BSID' '$F'"
check_out "sessions.mp is 0600" '^600$' stat -c %a "$F"
leak=0
for t in "$T_DIR/tok.admin" "$T_DIR/tok.bob"; do
        tok=$(tr -d '\n' < "$t")
        [ -n "$tok" ] && grep -qF "$tok" "$F" && leak=1
done
check "no token in sessions.mp, only their hashes" test "$leak" = 0

# ---- kill -TERM, start again: the session is still there
stop_authd TERM
check "sessions flushed at stop" has_sid "$ASID"
start_authd
check_out "after the restart admin's session still works" 'user: +admin' as admin whoami
check_out "and is the same session" "sid: +$ASID" as admin whoami
check_out "bob's too" 'user: +bob' as bob whoami
check_out "session list shows both after the restart" "$BSID +bob" as admin session list
check_out "the restart was logged" 'session\(s\) kept across the restart' cat "$T_DIR/log/authd.log"

# ---- logout after the restart revokes (and busd's long cache drops it)
check_rc "admin logs out after the restart" 0 as admin logout
check_rc "the token is dead (EAUTH, exit 3)" 3 as admin whoami
check "the logout reached sessions.mp" wait_for 5 sh -c "! grep -qF '$ASID' '$F'"

# ---- kill -KILL loses at most the last second: a session written survives
login carol "$CAROL_PW" >/dev/null; CSID=$(sid_of carol)
check "carol's session is written" wait_for 5 has_sid "$CSID"
stop_authd KILL
start_authd
check_out "a written session survives kill -KILL" 'user: +carol' as carol whoami

# ---- expiry while authd is down: not revived, not served from busd's cache
login admin "$ADMIN_PW" >/dev/null
as admin config set authd session_idle_s=3 >/dev/null
check_out "bob's session works just before the stop (and busd caches it)" 'user: +bob' as bob whoami
stop_authd TERM
sleep 4
start_authd
check_rc "bob's session expired while authd was down: EAUTH (exit 3)" 3 as bob whoami
check_out "the dropped sessions were logged" '[1-9][0-9]* dropped' grep 'kept across the restart' "$T_DIR/log/authd.log"
check "expired sessions leave sessions.mp" wait_for 5 sh -c "! grep -qF '$BSID' '$F'"
