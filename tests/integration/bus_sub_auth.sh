#!/bin/bash
# Operator subscriptions through busd and the real authd: devctl listen needs a
# session holding the authority of every topic its prefix could match
# (log.security: security; log.*: system-info or security; auth.*: security or
# account; the rest: system-info). Logging out, or losing the authority, ends
# the subscription, and devctl listen exits 3 saying why.
source "$(dirname "$0")/../lib/tap.sh"
stack_init authd testsvc
stack_acl testsvc 'testsvc = { serve = ["testsvc"]; call = ["bus.*"]; publish = ["*"]; subscribe = []; };'
sed -i 's/^hash_opslimit = .*/hash_opslimit = 1;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 8;/' "$T_DIR/etc/authd.conf"
stack_busd
bg authd "$B/authd"; svc_up authd
bg testsvc "$B/tests/testsvc"; svc_up testsvc

as() { local u=$1; shift; DEVSEC_TOKEN_FILE="$T_DIR/tok.$u" "$B/devctl" "$@"; }
# a listen that must be refused at once: bounded, so a listener that is let in fails the check
refused() { local u=$1; shift; DEVSEC_TOKEN_FILE="$T_DIR/tok.$u" timeout 10 "$B/devctl" listen "$@"; }
login() { printf '%s\n' "$3" | as "$1" login -u "$2" --password-stdin; }
pub() { dc call testsvc test.publish topic="$1" >/dev/null; }
# listen_bg NAME TOKEN ARGS...: devctl listen in the background; output in
# $T_DIR/NAME.out, pid in LP
listen_bg() {
        local n=$1 t=$2; shift 2
        DEVSEC_TOKEN_FILE="$T_DIR/tok.$t" "$B/devctl" --json listen "$@" > "$T_DIR/$n.out" 2>&1 &
        LP=$!; T_PIDS="$T_PIDS $LP"
}
# delivered TOPIC NAME: publishes TOPIC until the listener NAME has printed it
delivered() { wait_for 8 sh -c "'$B/devctl' call testsvc test.publish topic=$1 >/dev/null; grep -q '\"topic\":\"$1\"' '$T_DIR/$2.out'"; }
# exited DESC PID: ok when the listener ends with exit code 3 (run in this
# shell: only it can wait for its children)
exited() {
        local rc=0
        wait_for 8 sh -c "! kill -0 $2 2>/dev/null"
        if kill -0 "$2" 2>/dev/null; then nok "$1 (still running)"; return; fi
        wait "$2" 2>/dev/null || rc=$?
        if [ "$rc" = 3 ]; then ok "$1"; else nok "$1 (exit $rc, want 3)"; fi
}

ADMIN_PW='Zx9#mQ2$vL'; IAN_PW='Vw7#kP4!nR'; VIC_PW='Hq5%tN8=wY'
printf '%s\n' "$ADMIN_PW" | dc init --password-stdin >/dev/null
login admin admin "$ADMIN_PW" >/dev/null
as admin group add info system-info >/dev/null
printf '%s\n' "$IAN_PW" | as admin user add ian info --password-stdin >/dev/null
printf '%s\n' "$VIC_PW" | as admin user add vic viewer --password-stdin >/dev/null
login ian ian "$IAN_PW" >/dev/null
login vic vic "$VIC_PW" >/dev/null

# ---- no session
check_rc "no session: listen log.security refused (exit 3)" 3 refused nobody log.security --count=1
check_out "no session: the refusal says a login is needed" 'EAUTH: login required' refused nobody auth. --count=1
check_rc "no session: listen everything refused" 3 refused nobody --count=1

# ---- a session without security (ian: system-info)
check_rc "system-info only: listen log.security refused (exit 3)" 3 refused ian log.security --count=1
check_out "the refusal names the missing authority" "EPERM: prefix: user 'ian' lacks authority 'security' for events under 'log.security'" \
        refused ian log.security --count=1
check_out "auth.* needs security or account" "lacks authority 'security' or 'account' for events under 'auth.'" \
        refused ian auth. --count=1
check_out "log. covers log.security: refused" "lacks authority 'security' for events under 'log.'" refused ian log. --count=1
check_rc "the empty prefix covers every topic: refused" 3 refused ian "" --count=1
check_rc "'*' is everything too: refused" 3 refused ian '*' --count=1
check_out "a viewer may not read the other logs" "user 'vic' lacks authority 'system-info' or 'security' for events under 'log.storage'" \
        refused vic log.storage --count=1
check_out "busd logs the refusal" "user 'ian' refused events under 'log.security'" cat "$T_DIR/log/busd.log"

listen_bg ian-storage ian log.storage
if delivered log.storage.probe ian-storage; then ok "system-info receives log.storage events"; else nok "system-info receives log.storage events"; fi
kill "$LP" 2>/dev/null

# ---- an administrator's session receives security and auth events
listen_bg admin-all admin ""
if delivered log.security admin-all; then ok "security receives log.security"; else nok "security receives log.security"; fi
if delivered auth.demo admin-all; then ok "security receives auth.*"; else nok "security receives auth.*"; fi
check_out "the reset code stays private even to an administrator" '^0$' sh -c "pub auth.reset.code; sleep 0.3; grep -c auth.reset.code '$T_DIR/admin-all.out' || true"
kill "$LP" 2>/dev/null

# ---- logout ends the subscription
login admin2 admin "$ADMIN_PW" >/dev/null
listen_bg admin2 admin2 auth.
delivered auth.demo admin2 || nok "admin2 listener up"
as admin2 logout >/dev/null
exited "after logout the listener exits 3" "$LP"
check_out "and says its session ended" 'busd ended the subscription: EAUTH: .*session of .admin. ended' cat "$T_DIR/admin2.out"
pub auth.after
check_out "bus.stats counts the ended subscription" '"subs_ended":[1-9]' dc --json bus stats

# ---- losing the authority ends it too (group changed: busd checks again)
listen_bg ian2 ian log.storage
delivered log.storage.probe ian2 || nok "ian listener up"
as admin group set info authorities=monitor >/dev/null
exited "a lost authority ends the listener (exit 3)" "$LP"
check_out "naming the authority it lacks now" "EPERM: user 'ian' no longer holds authority 'system-info' or 'security' for events under 'log.storage'" \
        cat "$T_DIR/ian2.out"

# ---- a session ended by kick (another session id) ends only its own listener
as admin group set info authorities=system-info >/dev/null
login ian ian "$IAN_PW" >/dev/null
login ian-b ian "$IAN_PW" >/dev/null
listen_bg ian-a ian log.storage; PA=$LP
listen_bg ian-b ian-b log.storage; PB=$LP
delivered log.storage.a ian-a || nok "ian-a listener up"
delivered log.storage.b ian-b || nok "ian-b listener up"
SID=$(as ian-b --json whoami | sed -n 's/.*"sid":"\([0-9a-f]*\)".*/\1/p')
as admin session kick "$SID" >/dev/null
exited "a kicked session's listener exits 3" "$PB"
if kill -0 "$PA" 2>/dev/null && delivered log.storage.c ian-a; then ok "the user's other session keeps listening"; else nok "the user's other session keeps listening"; fi
kill "$PA" 2>/dev/null
