#!/bin/bash
# authd replaced by a new registration while busd waits for its answer to a
# session check (an upgrade starting the new authd while the old one hangs):
# a check is a read, so busd asks the new authd again instead of failing it.
# A listener subscribing at that moment and a request parked on the check both
# complete; before, both failed with EUNAVAIL "authd went away".
source "$(dirname "$0")/../lib/tap.sh"
stack_init authd testsvc
stack_acl testsvc 'testsvc = { serve = ["testsvc"]; call = ["bus.*"]; publish = ["*"]; subscribe = []; };'
sed -i 's/^hash_opslimit = .*/hash_opslimit = 1;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 8;/' "$T_DIR/etc/authd.conf"
stack_busd
bg authd "$B/authd"; A=$LAST_PID; svc_up authd
bg testsvc "$B/tests/testsvc"; svc_up testsvc

as() { local u=$1; shift; DEVSEC_TOKEN_FILE="$T_DIR/tok.$u" "$B/devctl" "$@"; }
login() { printf '%s\n' "$3" | as "$1" login -u "$2" --password-stdin; }
stat_of() { dc --json bus stats | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }

ADMIN_PW='Zx9#mQ2$vL'
printf '%s\n' "$ADMIN_PW" | dc init --password-stdin >/dev/null
# fresh sessions busd has not checked yet: their first use waits for authd
login l admin "$ADMIN_PW" >/dev/null
login c admin "$ADMIN_PW" >/dev/null
# authd saves its sessions within a second of a change: the new authd must find both
saved() { cat "$(find "$T_DIR" -name sessions.mp | head -1)" 2>/dev/null | grep -ao sid | wc -l; }
check_until "the old authd has saved both sessions" 10 '^[2-9]' saved

kill -STOP "$A"
: > "$T_DIR/l.out"; : > "$T_DIR/l.err"
DEVSEC_TOKEN_FILE="$T_DIR/tok.l" "$B/devctl" --json listen test. --ready > "$T_DIR/l.out" 2> "$T_DIR/l.err" &
LP=$!; T_PIDS="$T_PIDS $LP"
DEVSEC_TOKEN_FILE="$T_DIR/tok.c" "$B/devctl" call testsvc test.session text=parked > "$T_DIR/c.out" 2>&1 &
CP=$!; T_PIDS="$T_PIDS $CP"
check_until "busd holds both session checks for the hung authd" 10 '^[2-9]' stat_of inflight

# the new authd (same state: it loads the persisted sessions) replaces it
bg authd-new "$B/authd"
check_until "the listener is let in once the new authd answers" 10 '^listening: ' cat "$T_DIR/l.err"
rc=0; wait "$CP" || rc=$?
if [ "$rc" = 0 ] && grep -q parked "$T_DIR/c.out"; then ok "the parked request completes"; else nok "the parked request completes (exit $rc: $(cat "$T_DIR/c.out"))"; fi
check_out "busd counts the checks it asked again" '^[2-9]' stat_of session_checks_redone
check_out "busd logs the replacement" "service 'authd' re-registered" cat "$T_DIR/log/busd.log"
if wait_for 8 sh -c "'$B/devctl' call testsvc test.publish topic=test.after >/dev/null; grep -q '\"topic\":\"test.after\"' '$T_DIR/l.out'"; then
        ok "the listener receives events"
else
        nok "the listener receives events ($(cat "$T_DIR/l.err"))"
fi
kill -KILL "$A" 2>/dev/null; wait "$A" 2>/dev/null
kill "$LP" 2>/dev/null
