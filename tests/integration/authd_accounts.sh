#!/bin/bash
# authd end to end through busd: first boot, policy, authority (EPERM), sessions
# (limits, kick, idle expiry, password change), lockout and its event, last admin,
# groups, ONVIF users, anonymous switch, expired password, reset by mailed code,
# restart keeping users and locks, and no secret at rest or in any log.
source "$(dirname "$0")/../lib/tap.sh"
stack_init authd smtp-notifier
stack_acl smtp-notifier 'smtp-notifier = { call = ["bus.*"]; publish = ["log.*"]; subscribe = ["auth.reset.code", "auth.locked"]; };'
# fast hashes for the scenario; the default cost has its own unit test and the bench
sed -i 's/^hash_opslimit = .*/hash_opslimit = 1;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 8;/' "$T_DIR/etc/authd.conf"
stack_busd
start_authd() { bg authd "$@" "$B/authd"; AUTHD_PID=$LAST_PID; svc_up authd; }
stop_authd() { kill "$AUTHD_PID"; wait "$AUTHD_PID" 2>/dev/null; }
start_authd
as() { local u=$1; shift; DEVSEC_TOKEN_FILE="$T_DIR/tok.$u" "$B/devctl" "$@"; }
login() { printf '%s\n' "$2" | as "$1" login -u "$1" --password-stdin; }

ADMIN_PW='Zx9#mQ2$vL'; BOB_PW='Vw7#kP4!nR'; BOB_PW2='Hq5%tN8=wY'; DAVE_PW='Lp3@rX6^bT'
SECRETS="$ADMIN_PW $BOB_PW $BOB_PW2 $DAVE_PW"

# ---- first boot: no default account
check_out "fresh device reports not initialised" 'initialised: +no' dc auth status
check_out "login before init: EAUTH device not initialised" 'EAUTH: device not initialised: run devctl init' login admin "$ADMIN_PW"
check_out "any token before init: busd relays authd's not-initialised answer" 'device not initialised' \
        env DEVSEC_TOKEN=abc "$B/devctl" call authd user.list
check_out "init refuses a weak password naming the rule" "EINVAL: password: rule 'sequence'" sh -c "echo 'Xk9#abcQvL' | '$B/devctl' init --password-stdin"
check_rc "init with a good password" 0 sh -c "printf '%s\n' '$ADMIN_PW' | '$B/devctl' init --password-stdin email=ops@example.com"
check_out "second init refused (EEXIST)" 'EEXIST' sh -c "printf '%s\n' '$ADMIN_PW' | '$B/devctl' init --password-stdin"
check_out "admin logs in" 'logged in as admin \(admin\)' login admin "$ADMIN_PW"
check_out "whoami shows the account authority" 'authorities: .*account' as admin whoami

# ---- users and policy
check_out "user add refuses the user name as password" "rule 'username'" sh -c "echo 'Bob12345' | DEVSEC_TOKEN_FILE='$T_DIR/tok.admin' '$B/devctl' user add bob12345 viewer --password-stdin"
check_out "user add refuses a dictionary password" "rule 'dictionary'" sh -c "echo 'Password1' | DEVSEC_TOKEN_FILE='$T_DIR/tok.admin' '$B/devctl' user add bob viewer --password-stdin"
check "the dictionary library is loaded only for the check (not mapped after it)" \
        sh -c "! grep -qE 'libpwquality|libcrack' /proc/$AUTHD_PID/maps"
check_rc "user add bob (viewer)" 0 sh -c "printf '%s\n' '$BOB_PW' | DEVSEC_TOKEN_FILE='$T_DIR/tok.admin' '$B/devctl' user add bob viewer --password-stdin"
check_rc "user add dave (operator)" 0 sh -c "printf '%s\n' '$DAVE_PW' | DEVSEC_TOKEN_FILE='$T_DIR/tok.admin' '$B/devctl' user add dave operator --password-stdin"
check_out "user add names a bad field" 'EINVAL: mac' sh -c "printf '%s\n' 'Qm4!zT7#kW' | DEVSEC_TOKEN_FILE='$T_DIR/tok.admin' '$B/devctl' user add eve viewer mac=zz --password-stdin"
check_out "user list shows both" 'bob +viewer' as admin user list

# ---- authority end to end through busd
check_out "bob logs in" 'logged in as bob \(viewer\)' login bob "$BOB_PW"
check_out "viewer refused an account method: EPERM" "EPERM: user 'bob' lacks authority 'account'" as bob user list
check_rc "viewer refusal exits 3" 3 as bob user list
check_out "viewer may read its own session" 'group: +viewer' as bob whoami
check_rc "a forged token is EAUTH (exit 3)" 3 env DEVSEC_TOKEN=forged-token "$B/devctl" whoami

# ---- kick: the token dies at once (busd drops its cache on auth.session.revoked)
SID=$(as bob --json whoami | sed -n 's/.*"sid":"\([0-9a-f]*\)".*/\1/p')
check_out "session list shows bob's session" "$SID +bob" as admin session list
check_out "admin kicks bob's session" 'kicked: +1' as admin session kick "$SID"
check_out "kicked token gets EAUTH" 'EAUTH' as bob whoami

# ---- concurrency limits
as admin config set authd max_sessions_per_user=2 >/dev/null
login bob "$BOB_PW" >/dev/null; cp "$T_DIR/tok.bob" "$T_DIR/tok.bob1"
login bob "$BOB_PW" >/dev/null; cp "$T_DIR/tok.bob" "$T_DIR/tok.bob2"
check_out "third session of bob: EBUSY with the limit" 'EBUSY: .*too many sessions \(limit 2\)' login bob "$BOB_PW"

# ---- password change by the user revokes the other sessions only
check_out "bob changes his password (old required)" 'changed: +yes' \
        sh -c "printf '%s\n%s\n' '$BOB_PW' '$BOB_PW2' | DEVSEC_TOKEN_FILE='$T_DIR/tok.bob1' '$B/devctl' passwd --password-stdin"
check_out "the changing session still works" 'user: +bob' as bob1 whoami
check_out "bob's other session was revoked" 'EAUTH' as bob2 whoami
check_out "old password no longer logs in" 'EAUTH: wrong user name or password' login bob "$BOB_PW"
check_out "wrong old password refused" 'EAUTH: old_password' \
        sh -c "printf '%s\n%s\n' 'Nope#1234x' 'Tg6&yU2*pQ' | DEVSEC_TOKEN_FILE='$T_DIR/tok.bob1' '$B/devctl' passwd --password-stdin"
as admin user unlock bob >/dev/null

# ---- idle expiry
as admin config set authd session_idle_s=2 >/dev/null
login dave "$DAVE_PW" >/dev/null
sleep 2.5
check_out "an idle-expired token gets EAUTH" 'EAUTH: session expired or unknown' as dave whoami
login admin "$ADMIN_PW" >/dev/null
as admin config set authd session_idle_s=900 max_sessions_per_user=8 >/dev/null

# ---- lockout: 5 failures, uniform answers, event, refused even with the right password
# smtp-notifier's ACL names both topics; it subscribes to each
listen_bg "$T_DIR/events.txt" --identity smtp-notifier -- auth.locked
listen_bg "$T_DIR/codes.txt" --identity smtp-notifier -- auth.reset.code
for i in 1 2 3 4 5; do login dave "Wrong#Pass$i" >/dev/null 2>&1; done
check_out "unknown user and wrong password answer alike" 'EAUTH: wrong user name or password' login nosuchuser "Wrong#Pass1"
check_out "6th attempt: ELOCKED even with the right password" 'ELOCKED: account locked after failed attempts until' login dave "$DAVE_PW"
check_out "user list shows dave locked" 'dave +operator +yes +until' as admin user list
check_until "auth.locked {user, source, until} was published" 5 'auth.locked .*"user":"dave","source":"local","until":[0-9]+' cat "$T_DIR/events.txt"

# ---- last admin
check_out "the last admin cannot be deleted" "EPERM: name: 'admin' is the last enabled administrator" as admin user del admin
check_out "the last admin cannot be demoted" "EPERM: group: 'admin' is the last enabled administrator" as admin user set admin group=viewer
check_out "the last admin cannot be disabled" 'EPERM' as admin user set admin enabled=false

# ---- groups
check_out "group add with authorities" 'authorities: +monitor,account' as admin group add ops monitor,account
check_out "group add names an unknown authority" 'EINVAL: authorities\[1\]: unknown authority' as admin group add bad monitor,flying
check_rc "bob moves to ops" 0 as admin user set bob group=ops
login bob "$BOB_PW2" >/dev/null
check_out "bob now holds account authority" 'admin +admin' as bob user list
check_out "group set changes authorities" 'authorities: +monitor$' as admin group set ops authorities=monitor
check_out "bob loses account authority at once (cache dropped)" "EPERM: user 'bob' lacks authority 'account'" as bob user list
check_out "a group with members cannot be deleted" 'EBUSY' as admin group del ops
check_out "built-in groups cannot be deleted" 'EPERM' as admin group del viewer

# ---- ONVIF users
check_out "ONVIF user refuses a weak password" "rule 'repeat'" sh -c "echo 'Zx9#aaaQvL' | DEVSEC_TOKEN_FILE='$T_DIR/tok.admin' '$B/devctl' onvif-user add cam1 Operator --password-stdin"
check_rc "ONVIF user added" 0 sh -c "echo 'Rb8*hN3!cV' | DEVSEC_TOKEN_FILE='$T_DIR/tok.admin' '$B/devctl' onvif-user add cam1 Operator --password-stdin"
check_out "ONVIF list" 'cam1 +Operator' as admin onvif-user list
check_out "ONVIF level is validated" 'EINVAL: level' sh -c "echo 'Rb8*hN3!cV' | DEVSEC_TOKEN_FILE='$T_DIR/tok.admin' '$B/devctl' onvif-user add cam2 Root --password-stdin"

# ---- anonymous switch
check_out "anonymous login refused while off" 'EAUTH' login anonymous ""
as admin config set authd anonymous=true >/dev/null
check_out "anonymous login when on" 'logged in as anonymous' login anonymous ""
check_out "anonymous gets monitor only" 'authorities: +monitor$' as anonymous whoami
check_out "anonymous is refused account methods" 'EPERM' as anonymous user list
as admin config set authd anonymous=false >/dev/null
check_out "switching it off ends anonymous sessions" 'EAUTH' as anonymous whoami

# ---- password reset by mailed code: only smtp-notifier sees the code
# an administrator's listener (security and account) on every auth.reset event
DEVSEC_TOKEN_FILE="$T_DIR/tok.admin" check "busd accepts an administrator's listener on auth.reset" listen_bg "$T_DIR/devctl-events.txt" -- auth.reset
as admin user set dave email=dave@example.com >/dev/null
check_out "reset request answers the same for unknown users" 'requested: +yes' dc auth reset request nosuchuser
check_out "reset request" 'requested: +yes' dc auth reset request dave
wait_for 5 grep -q '"user":"dave"' "$T_DIR/codes.txt"
CODE=$(sed -n 's/.*auth.reset.code.*"code":"\([0-9]*\)".*/\1/p' "$T_DIR/codes.txt" | tail -1)
if [ -n "$CODE" ] && grep -q '"user":"dave","email":"dave@example.com"' "$T_DIR/codes.txt"; then ok "smtp-notifier received auth.reset.code {user, email, code}"; else nok "smtp-notifier received auth.reset.code"; fi
if ! grep -q 'auth.reset.code' "$T_DIR/devctl-events.txt"; then ok "an administrator's listener on auth.reset does not receive the code"; else nok "devctl received the reset code"; fi
check_out "wrong code refused" 'EAUTH' sh -c "printf '%s\n%s\n' 00000000 'Cw2!dF9@gH' | '$B/devctl' auth reset confirm dave --password-stdin"
check_out "reset confirm still applies the policy" "rule 'classes'" sh -c "printf '%s\n%s\n' '$CODE' 'qwhvtkzmp' | '$B/devctl' auth reset confirm dave --password-stdin"
check_out "reset with the code sets the password (and lifts the lock)" 'changed: +yes' sh -c "printf '%s\n%s\n' '$CODE' 'Cw2!dF9@gH' | '$B/devctl' auth reset confirm dave --password-stdin"
check_out "the code is one-time" 'EAUTH' sh -c "printf '%s\n%s\n' '$CODE' 'Kd4@fG7#hJ' | '$B/devctl' auth reset confirm dave --password-stdin"
check_out "dave logs in with the new password" 'logged in as dave' login dave 'Cw2!dF9@gH'
SECRETS="$SECRETS Cw2!dF9@gH $CODE"
as admin config set authd password_reset=false >/dev/null
check_out "reset switched off: EDISABLED" 'EDISABLED' dc auth reset request dave
as admin config set authd password_reset=true >/dev/null

# ---- restart keeps users and locks
for i in 1 2 3 4 5; do login bob "Wrong#Pass$i" >/dev/null 2>&1; done
stop_authd
start_authd
check_out "after restart: users kept" 'logged in as admin' login admin "$ADMIN_PW"
check_out "after restart: bob still locked" 'ELOCKED' login bob "$BOB_PW2"
check_out "after restart: ONVIF users kept" 'cam1' as admin onvif-user list
check_out "admin unlocks bob" 'unlocked: +bob' as admin user unlock bob
check_out "bob logs in after unlock" 'logged in as bob' login bob "$BOB_PW2"
check_out "user lock by admin" 'locked: +bob' as admin user lock bob
check_out "locked by admin: ELOCKED until unlocked" 'ELOCKED: account locked: an administrator must unlock it' login bob "$BOB_PW2"
# a password reset lifts the failed-attempt lock, never an administrator's
BOB_PW3='Rt6%yU3*iO'; SECRETS="$SECRETS $BOB_PW3"
as admin user set bob email=bob@example.com >/dev/null
check_out "reset requested for the locked bob" 'requested: +yes' dc auth reset request bob
wait_for 5 grep -q '"user":"bob"' "$T_DIR/codes.txt"
BCODE=$(sed -n 's/.*auth.reset.code.*"user":"bob".*"code":"\([0-9]*\)".*/\1/p' "$T_DIR/codes.txt" | tail -1)
SECRETS="$SECRETS $BCODE"
check_out "the reset sets bob's password" 'changed: +yes' sh -c "printf '%s\n%s\n' '$BCODE' '$BOB_PW3' | '$B/devctl' auth reset confirm bob --password-stdin"
check_out "but the administrator's lock stays" 'ELOCKED: account locked: an administrator must unlock it' login bob "$BOB_PW3"
as admin user unlock bob >/dev/null
check_out "once unlocked, bob logs in with the reset password" 'logged in as bob' login bob "$BOB_PW3"

# ---- expired password: strict profile, clock 100 days ahead
DAVE_NOW='Cw2!dF9@gH' # unless the expired-password flow below changes it
check_out "policy set to strict" 'max_age_days: +90' as admin auth policy set profile=strict
stop_authd
FT_LIB=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -1)
if [ -n "$FT_LIB" ]; then
        # preloaded by env (which execs authd: the PID stays authd's); under ASan
        # libfaketime comes ahead of the sanitizer runtime, which must be told
        start_authd env LD_PRELOAD="$FT_LIB" FAKETIME=+100d DONT_FAKE_MONOTONIC=1 \
                ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
        out=$(login dave 'Cw2!dF9@gH' 2>&1); rc=$?
        if [ $rc = 3 ] && echo "$out" | grep -q 'password expired'; then ok "expired password: EAUTH password expired"; else nok "expired password: rc=$rc $out"; fi
        check_out "reason password-expired is carried" 'code=EAUTH reason=password-expired' sh -c "printf '%s\n' 'Cw2!dF9@gH' | '$B/tests/authd_probe' login dave"
        check_out "change path refuses the same password" "rule 'history'" sh -c "printf '%s\n%s\n' 'Cw2!dF9@gH' 'Cw2!dF9@gH' | DEVSEC_TOKEN_FILE='$T_DIR/tok.dave' '$B/devctl' passwd --expired -u dave --password-stdin"
        check_out "change path sets a new password and logs in" 'password changed; logged in as dave' sh -c "printf '%s\n%s\n' 'Cw2!dF9@gH' 'Mn5^bV8%cX' | DEVSEC_TOKEN_FILE='$T_DIR/tok.dave' '$B/devctl' passwd --expired -u dave --password-stdin"
        check_out "the new session works" 'user: +dave' as dave whoami
        SECRETS="$SECRETS Mn5^bV8%cX"; DAVE_NOW='Mn5^bV8%cX'
        stop_authd
else
        skip "expired password flow" "libfaketime not installed"
fi
start_authd

# ---- hardening report, export, factory reset
check_out "admin logs in again" 'logged in as admin' login admin "$ADMIN_PW"
check_out "audit level 1: admin password set passes" 'authd +auth.initialised +1 +pass' as admin audit --level 1
check_out "audit level 3: strict profile passes after policy set" 'authd +auth.profile +3 +pass' as admin audit --level 3
check_out "audit flags the lowered test hash cost" 'authd +auth.hash-cost +1 +fail' as admin audit --level 1
as admin config export authd > "$T_DIR/export.json" 2>&1
check_out "config export carries the accounts" '"name": *"dave"' cat "$T_DIR/export.json"
if grep -Eq 'argon2|"hash"|"history"|"a": *"\$' "$T_DIR/export.json"; then nok "config export carries no hash (password, history, answer, ONVIF)"; else ok "config export carries no hash (password, history, answer, ONVIF)"; fi

# ---- import: the live methods' checks, all or nothing; an export restores without hashes
users_now() { as admin --json user list 2>/dev/null | python3 -c 'import json,sys; print(" ".join(u["name"]+":"+u["group"] for u in json.load(sys.stdin)["users"]))' 2>/dev/null; }
BEFORE=$(users_now)
# mutate NAME PYTHON: writes $T_DIR/NAME.json, the export with PYTHON applied to its state s
mutate() { python3 - "$T_DIR/export.json" "$T_DIR/$1.json" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); s = d["state"]
exec(sys.argv[3])
json.dump(d, open(sys.argv[2], "w"))
PY
}
mutate demote 'next(u for u in s["users"] if u["name"] == "admin")["group"] = "viewer"'
mutate rights 'next(g for g in s["groups"] if g["name"] == "admin")["authorities"] = ["monitor"]'
mutate builtin 's["groups"] = [g for g in s["groups"] if g["name"] != "operator"]'
mutate nohash 's["users"].append({"name": "carol", "group": "viewer"})'
mutate cost 's["users"].append({"name": "carol", "group": "viewer", "hash": "$argon2id$v=19$m=4194304,t=1000,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo"})'
mutate notlist 's["users"] = "nobody"'
check_out "import demoting the last admin: refused" 'EINVAL: state.users: no enabled administrator' as admin config import authd "$T_DIR/demote.json"
check_out "import changing the admin group's rights: refused" 'EINVAL: state.groups\[0\].authorities: the admin group always holds every authority' as admin config import authd "$T_DIR/rights.json"
check_out "import deleting a built-in group: refused" "EINVAL: state.groups: the built-in group 'operator' is missing" as admin config import authd "$T_DIR/builtin.json"
check_out "import of a new account without a hash: refused naming it" "EINVAL: state.users\[3\].hash: user 'carol' is new here and has no password hash" as admin config import authd "$T_DIR/nohash.json"
check_out "import of a hash with out-of-bounds parameters: refused" 'EINVAL: state.users\[3\].hash: Argon2id parameters t=1000 m=4194304 p=1 out of bounds' as admin config import authd "$T_DIR/cost.json"
check_out "import of a non-list users: refused naming the field" 'EINVAL: state.users: must be a list' as admin config import authd "$T_DIR/notlist.json"
check_out "after the refusals: the admin session still works" 'user: +admin' as admin whoami
if [ "$(users_now)" = "$BEFORE" ]; then ok "after the refusals: every account as it was ($BEFORE)"; else nok "accounts changed: $(users_now), were $BEFORE"; fi
check_out "after the refusals: admin still logs in" 'logged in as admin' login admin "$ADMIN_PW"
check_out "the export imports back (no hashes: each account keeps its own)" 'imported: +yes' as admin config import authd "$T_DIR/export.json"
check_out "after the round trip: admin logs in with its password" 'logged in as admin' login admin "$ADMIN_PW"
check_out "after the round trip: bob logs in with his" 'logged in as bob' login bob "$BOB_PW3"
check_out "after the round trip: dave logs in with his" 'logged in as dave' login dave "$DAVE_NOW"
if [ "$(users_now)" = "$BEFORE" ]; then ok "after the round trip: the same accounts and groups"; else nok "round trip changed accounts: $(users_now)"; fi
check "after the round trip: users.mp still holds the hashes" grep -q argon2id "$T_DIR/state/authd/users.mp"
check_out "factory reset (config reset authd) restores defaults" 'policy_profile: +vendor' as admin config reset authd
check_out "after factory reset: not initialised" 'initialised: +no' dc auth status
check_out "after factory reset: old sessions are gone" 'EAUTH' as admin whoami
check_rc "after factory reset: init works again" 0 sh -c "printf '%s\n' '$ADMIN_PW' | '$B/devctl' init --password-stdin"

# ---- audit records and secrets
check_out "admin changes are audit records naming actor and source" "user 'bob' locked by 'admin' from 'local'" cat "$T_DIR/log/authd.log"
check_out "failed logins are audit records naming the source" "login failed for 'dave' from 'local'" cat "$T_DIR/log/authd.log"
check_out "locks are audit records" "account 'dave' locked after failed attempts from 'local'" cat "$T_DIR/log/authd.log"
leak=""
for tf in "$T_DIR"/tok.*; do [ -s "$tf" ] && SECRETS="$SECRETS $(cat "$tf")"; done
for s in $SECRETS; do
        if grep -rqF -- "$s" "$T_DIR/state" "$T_DIR/log" "$T_DIR/export.json" 2>/dev/null; then leak="$leak $s"; fi
done
if [ -z "$leak" ]; then ok "no password, code or token in state files or logs"; else nok "secrets found at rest:$leak"; fi
if grep -q '^\$argon2id\$\|argon2id' "$T_DIR/state/authd/users.mp"; then ok "users.mp holds Argon2id hashes"; else nok "users.mp holds Argon2id hashes"; fi
perm=$(stat -c %a "$T_DIR/state/authd/users.mp")
if [ "$perm" = 600 ]; then ok "users.mp is 0600"; else nok "users.mp mode $perm"; fi
stop_authd
if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' "$T_DIR/log/authd.log"; then
        nok "authd log has a sanitizer report"; grep -E -A5 'Sanitizer|runtime error' "$T_DIR/log/authd.log" | head -20 | sed 's/^/#   /'
else ok "authd stopped cleanly, no sanitizer report"; fi
