#!/bin/bash
# First-boot ownership: authd writes a one-time setup code to a 0600 file in
# its state dir; auth.init needs it (none or a wrong one: EAUTH, counted and
# logged without the code); devctl init reads the file itself when it may, or
# takes --setup-code-file FILE|- ; the code is gone once used, and a factory
# reset (which needs account+security) writes a new one.
source "$(dirname "$0")/../lib/tap.sh"
stack_init authd
sed -i 's/^hash_opslimit = .*/hash_opslimit = 1;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 8;/' "$T_DIR/etc/authd.conf"
stack_busd
start_authd() { bg authd "$B/authd"; AUTHD_PID=$LAST_PID; svc_up authd; }
stop_authd() { kill "$AUTHD_PID"; wait "$AUTHD_PID" 2>/dev/null; }
start_authd || { nok "authd starts"; exit 0; }
as() { local u=$1; shift; DEVSEC_TOKEN_FILE="$T_DIR/tok.$u" "$B/devctl" "$@"; }
login() { printf '%s\n' "$2" | as "$1" login -u "$1" --password-stdin; }
ADMIN_PW='Zx9#mQ2$vL'; ACC_PW='Qm4!zT7#kW'
F="$T_DIR/state/authd/setup-code"

wait_for 5 test -s "$F"
check_out "a fresh device has a setup code file" '^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$' cat "$F"
check_out "the setup code file is 0600" '^600$' stat -c %a "$F"
CODE=$(cat "$F")
stop_authd; start_authd
check_out "an unused code survives a restart (it may be on the label)" "^$CODE\$" cat "$F"

# DEVSEC_STATEDIR elsewhere: devctl as on another host (or not root), unable to read the code
check_out "auth.init without the code: EAUTH naming setup_code" 'EAUTH: setup_code: auth.init needs the device.s setup code' \
        sh -c "printf '%s\n' '$ADMIN_PW' | DEVSEC_STATEDIR='$T_DIR/elsewhere' '$B/devctl' init --password-stdin"
printf 'AAAA-BBBB-CCCC-DDDD\n' > "$T_DIR/wrong"
check_out "auth.init with a wrong code: EAUTH" 'EAUTH: setup_code: wrong setup code' \
        sh -c "printf '%s\n' '$ADMIN_PW' | '$B/devctl' init --password-stdin --setup-code-file '$T_DIR/wrong'"
check_out "the wrong code is counted and logged" "auth.init refused from .*wrong setup code \(1 so far\)" cat "$T_DIR/log/authd.log"
check_out "still not initialised" 'initialised: +no' dc auth status
check "the code file is still there" test -s "$F"
check_out "--setup-code-file of a missing file is a usage error" 'cannot read the setup code from' \
        sh -c "printf '%s\n' '$ADMIN_PW' | '$B/devctl' init --password-stdin --setup-code-file '$T_DIR/nosuch'"

# the code as an operator reads it from the label: first line of stdin, then the password
check_out "auth.init with the code (from stdin) works" 'initialised: +yes' \
        sh -c "printf '%s\n%s\n' '$CODE' '$ADMIN_PW' | DEVSEC_STATEDIR='$T_DIR/elsewhere' '$B/devctl' init --setup-code-file - --password-stdin"
check "the code file is gone once the device is initialised" test ! -e "$F"
printf '%s\n' "$CODE" > "$T_DIR/used"
check_out "the used code does not initialise again (EEXIST)" 'EEXIST' \
        sh -c "printf '%s\n' 'Hq5%tN8=wY' | '$B/devctl' init --password-stdin --setup-code-file '$T_DIR/used'"
check_out "admin logs in with the password set" 'logged in as admin' login admin "$ADMIN_PW"

# ---- a factory reset needs account+security, and writes a new code
as admin group add acconly account >/dev/null
printf '%s\n' "$ACC_PW" | as admin user add acc acconly --password-stdin >/dev/null
login acc "$ACC_PW" >/dev/null
check_out "account alone may not reset authd (EPERM)" "EPERM: config.reset needs authority 'security'" as acc config reset authd
check "no code written by a refused reset" test ! -e "$F"
check_out "admin resets authd" 'policy_profile' as admin config reset authd
wait_for 5 test -s "$F"
check_out "after the reset: a new code file, 0600" '^600$' stat -c %a "$F"
NEW=$(cat "$F")
if [ -n "$NEW" ] && [ "$NEW" != "$CODE" ]; then ok "the new code differs from the used one"; else nok "the code after a reset is new"; fi
check_out "the old code is refused after the reset" 'EAUTH: setup_code: wrong setup code' \
        sh -c "printf '%s\n' '$ADMIN_PW' | '$B/devctl' init --password-stdin --setup-code-file '$T_DIR/used'"
# on the device, as root: devctl reads the code itself, one command as before
check_out "devctl init on the device reads the code itself" 'initialised: +yes' \
        sh -c "printf '%s\n' '$ADMIN_PW' | '$B/devctl' init --password-stdin"
check "and the code is gone again" test ! -e "$F"
check_out "admin logs in" 'logged in as admin' login admin "$ADMIN_PW"

leak=""
for s in "$CODE" "$NEW" "$ADMIN_PW" "$ACC_PW"; do
        if grep -rqF -- "$s" "$T_DIR/log" "$T_DIR/state" 2>/dev/null; then leak="$leak $s"; fi
done
if [ -z "$leak" ]; then ok "no setup code or password in the logs or the state"; else nok "found at rest:$leak"; fi
