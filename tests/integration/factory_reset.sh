#!/bin/bash
# Device-wide factory reset (devctl factory-reset, devsec-factory-reset): a
# wrong device name does nothing; then every service goes back to its factory
# state: users and sessions gone, auth status uninitialised with a new setup
# code, settings at their defaults, a new HTTPS certificate (new fingerprint),
# upgrade-d's anti-rollback counters untouched; a service that is down is
# reported and the others are reset (exit 1). The log store: the old chain ends
# with "factory reset by 'admin'" and a final seal, a new chain starts under a
# new key, and log verify shows two chains, each verifying with its own key.
# Then the local path (identity factory-reset, which may call nothing else)
# with --wipe-logs: one chain left, saying the store was wiped.
# The daemons that restart to make their keys anew exit 75 and are started
# again by the test, as their units' Restart= does.
source "$(dirname "$0")/../lib/tap.sh"
for d in authd netcfgd logd upgrade-d; do
        [ -x "$B/$d" ] || { skip "factory reset" "$d not built"; exit 0; }
done
have openssl || { skip "factory reset" "openssl not installed"; exit 0; }
stack_init authd netcfgd logd upgrade-d smtp-notifier factory-reset
# the daemons of this stack, and filterd (known, never started: it is down)
find "$T_DIR/etc/bus.acl.d" -name '*.acl' ! -name authd.acl ! -name netcfgd.acl ! -name logd.acl \
        ! -name upgrade-d.acl ! -name smtp-notifier.acl ! -name factory-reset.acl ! -name filterd.acl -delete
sed -i 's/^hash_opslimit = .*/hash_opslimit = 1;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 8;/' "$T_DIR/etc/authd.conf"
mkdir -p "$DEVSEC_STATEDIR/upgrade-d"
printf '{"timed": {"version": "1.4.0", "security_version": 7}}\n' > "$DEVSEC_STATEDIR/upgrade-d/counters.json"
cp "$DEVSEC_STATEDIR/upgrade-d/counters.json" "$T_DIR/counters.before"

# supervise NAME CMD...: runs CMD, starting it again when it exits 75 (a
# factory reset), as systemd's Restart=on-failure does; exits are in NAME.exits
supervise() {
        local n=$1; shift
        (
                c=
                trap '[ -n "$c" ] && kill "$c" 2>/dev/null; wait 2>/dev/null; exit 0' TERM
                while :; do
                        "$@" >>"$T_DIR/log/$n.log" 2>&1 &
                        c=$!
                        wait "$c"; rc=$?
                        echo "$rc" >> "$T_DIR/$n.exits"
                        [ "$rc" = 75 ] || exit 0
                done
        ) &
        T_PIDS="$T_PIDS $!"
}
stack_busd
supervise authd "$B/authd"
supervise netcfgd "$B/netcfgd" --dry-run
supervise logd "$B/logd"
supervise upgrade-d "$B/upgrade-d" --dry-run
supervise smtp-notifier "$B/smtp-notifier"
for s in authd netcfgd logd upgrade-d; do svc_up $s || { nok "$s up"; exit 0; }; done

ADMIN_PW='Zx9#mQ2$vL'; BOB_PW='Vw7#kP4!nR'; NEW_PW='Lp3#xR8!qT'
as() { local u=$1; shift; DEVSEC_TOKEN_FILE="$T_DIR/tok.$u" "$B/devctl" "$@"; }
login() { printf '%s\n' "$2" | as "$1" login -u "$1" --password-stdin; }
fp() { as admin https cert show | sed -n 's/.*fingerprint_sha256: *//p' | head -1; }
printf '%s\n' "$ADMIN_PW" | dc init --password-stdin >/dev/null
login admin "$ADMIN_PW" >/dev/null
printf '%s\n' "$BOB_PW" | as admin user add bob viewer --password-stdin >/dev/null
login bob "$BOB_PW" >/dev/null
as admin config set authd session_idle_s=600 >/dev/null
as admin config set netcfgd rtsp_port=8554 >/dev/null
as admin config set logd device_id=cam-7 >/dev/null
# smtp ships off: on for a setting, then off again, so the reset finds smtp-notifier disabled
as admin function enable smtp >/dev/null
check_until "smtp on: smtp-notifier running" 10 'smtp-notifier +running' dc status
as admin config set smtp-notifier host=mail.example.test from=cam@example.test >/dev/null
check_out "smtp-notifier has a setting" 'host: +mail.example.test' as admin config get smtp-notifier
as admin function disable smtp >/dev/null
check_until "smtp off again: smtp-notifier disabled" 10 'smtp-notifier +disabled' dc status
check_until "netcfgd made its HTTPS certificate" 5 'present: +yes' as admin https cert show
FP1=$(fp)
as admin log seal init --out "$T_DIR/key1" >/dev/null
check "the first seal key was exported" test -s "$T_DIR/key1"
check_out "before: bob is a user" 'bob' as admin user list

# ---- the confirmation
check_rc "a wrong device name: usage error (exit 2)" 2 sh -c "echo not-this-one | DEVSEC_TOKEN_FILE='$T_DIR/tok.admin' '$B/devctl' factory-reset"
check_out "and nothing was reset" 'bob' as admin user list
check_rc "a viewer may not reset the device (exit 1: every service refuses)" 1 as bob factory-reset --yes
check_out "still nothing reset" 'rtsp_port: +8554' as admin config get netcfgd

# ---- the reset, filterd down
as admin factory-reset --yes > "$T_DIR/out1" 2>&1; RC=$?
check "one service down: exit 1" test "$RC" = 1
check_out "filterd is reported as failed" '^filterd +FAILED' cat "$T_DIR/out1"
check_out "logd first: its chain closed with a final seal" '^logd +reset: log chain closed at record [0-9]+ with a final seal \(kept\)' cat "$T_DIR/out1"
check_out "netcfgd reset and restarting" '^netcfgd +reset: restarting with new keys' cat "$T_DIR/out1"
check_out "upgrade-d reset" '^upgrade-d +reset' cat "$T_DIR/out1"
check_out "smtp-notifier, disabled, is skipped: it resets at its next start" '^smtp-notifier +skipped: disabled: it resets at its next start' cat "$T_DIR/out1"
check_out "authd last: the device is uninitialised" 'authd +reset: no account.*uninitialised' sh -c "tail -2 '$T_DIR/out1' | head -1"
check_out "the summary says incomplete" 'factory reset INCOMPLETE: 4 service\(s\) reset, 1 failed' cat "$T_DIR/out1"
check "netcfgd exited 75 to start afresh" wait_for 10 grep -qx 75 "$T_DIR/netcfgd.exits"
check "upgrade-d exited 75 to start afresh" wait_for 10 grep -qx 75 "$T_DIR/upgrade-d.exits"
for s in netcfgd upgrade-d; do svc_up $s 10 || nok "$s back up"; done

check_out "auth status: uninitialised" 'initialised: +no' dc auth status
check_rc "the old admin session is refused (exit 3)" 3 as admin whoami
check_rc "bob's session too" 3 as bob whoami
check "a new setup code was written" test -s "$DEVSEC_STATEDIR/authd/setup-code"
check_out "login before init: device not initialised" 'EAUTH: device not initialised' login admin "$ADMIN_PW"
printf '%s\n' "$NEW_PW" | dc init --password-stdin >/dev/null
check_out "first login after init with the new password" 'user: +admin' sh -c "printf '%s\n' '$NEW_PW' | DEVSEC_TOKEN_FILE='$T_DIR/tok.admin' '$B/devctl' login -u admin --password-stdin >/dev/null && DEVSEC_TOKEN_FILE='$T_DIR/tok.admin' '$B/devctl' whoami"
as admin user list > "$T_DIR/users" 2>&1
check_out "the user list holds the new admin" 'admin' cat "$T_DIR/users"
check "and bob is gone" sh -c "! grep -q bob '$T_DIR/users'"
check_out "authd settings at defaults" 'session_idle_s: +900' as admin config get authd
check_out "netcfgd settings at defaults" 'rtsp_port: +554' as admin config get netcfgd
check_out "logd settings at defaults" 'device_id: +-?$' sh -c "DEVSEC_TOKEN_FILE='$T_DIR/tok.admin' '$B/devctl' config get logd | grep device_id"
check_until "netcfgd has a certificate again" 10 'present: +yes' as admin https cert show
FP2=$(fp)
check "a new HTTPS certificate (new fingerprint)" test -n "$FP2" -a "$FP1" != "$FP2"
# the disabled daemon: at its next start it finds the device's mark and resets
check "netcfgd wrote the device's reset mark" test -s "$DEVSEC_STATEDIR/functions/disabled/factory-reset.generation"
check "the daemons reset now recorded it" cmp -s "$DEVSEC_STATEDIR/functions/disabled/factory-reset.generation" "$DEVSEC_STATEDIR/upgrade-d/factory-generation"
check "smtp-notifier still holds its old settings while stopped" grep -q mail.example.test "$DEVSEC_STATEDIR/smtp-notifier/settings.mp"
SP=$(dc --json status | tr '{' '\n' | sed -n 's/.*"name":"smtp-notifier".*"pid":\([0-9]*\).*/\1/p')
[ -n "$SP" ] && kill "$SP"
wait_for 10 sh -c "! kill -0 $SP 2>/dev/null"
supervise smtp-notifier2 "$B/smtp-notifier"
check "started again, smtp-notifier makes up for the reset" wait_for 10 grep -q "happened while it was stopped: settings and state removed" "$T_DIR/log/smtp-notifier2.log"
check "its old settings are gone" sh -c "! grep -qs mail.example.test '$DEVSEC_STATEDIR/smtp-notifier/settings.mp'"
as admin function enable smtp >/dev/null
check_until "smtp on: smtp-notifier running" 10 'smtp-notifier +running' dc status
check_out "its settings are the defaults" 'host: +-?$' sh -c "DEVSEC_TOKEN_FILE='$T_DIR/tok.admin' '$B/devctl' config get smtp-notifier | grep -E '^ *host:'"
as admin function disable smtp >/dev/null
check "the anti-rollback counters are unchanged" cmp -s "$T_DIR/counters.before" "$DEVSEC_STATEDIR/upgrade-d/counters.json"

# ---- the log store: two chains
check_out "the final record of the old chain" "factory reset by 'admin': this chain ends here with a final seal" as admin log query --limit 500
check_out "the first record of the new chain" "a new chain after the factory reset by 'admin'" as admin log query --limit 500
as admin log seal init --out "$T_DIR/key2" >/dev/null
check "a new seal key to export" test -s "$T_DIR/key2"
check "the new key is not the old one" sh -c "! cmp -s '$T_DIR/key1' '$T_DIR/key2'"
as admin log verify --key "$T_DIR/key1" --key "$T_DIR/key2" --anchor "$T_DIR/anchors" > "$T_DIR/v1" 2>&1; RC=$?
check "log verify with both keys: exit 0" test "$RC" = 0
check_out "two chains" '^2 chains' cat "$T_DIR/v1"
check_out "chain 1 is closed, sealed to its end, with the first key" '^chain 1: OK records 1-[0-9]+, closed \(sealed to its end\), seals verified with key' cat "$T_DIR/v1"
check_out "chain 2 verifies with the second key" '^chain 2: OK records [0-9]+-[0-9]+.*seals verified with key' cat "$T_DIR/v1"
check_out "logd's own verify sees two chains" 'chains: +2' as admin call logd log.verify
# logd started again on a store of two chains: the last chain's seals alone restore the key state
LP=$(dc --json status | tr '{' '\n' | sed -n 's/.*"name":"logd".*"pid":\([0-9]*\).*/\1/p')
[ -n "$LP" ] && kill "$LP"
wait_for 10 sh -c "! kill -0 $LP 2>/dev/null"
supervise logd2 "$B/logd"
svc_up logd 10 || nok "logd back up"
as admin config set authd session_idle_s=900 >/dev/null
check_out "after a logd restart both chains still verify" '^chain 2: OK records' as admin log verify --key "$T_DIR/key1" --key "$T_DIR/key2" --anchor "$T_DIR/anchors"
check_out "and logd's own verify too" 'result: +ok' as admin call logd log.verify
check_rc "only the first key: chain 2 unchecked, not failed (exit 0)" 0 as admin log verify --key "$T_DIR/key1" --anchor "$T_DIR/anchors"
check_rc "a key that verifies no chain: exit 1" 1 sh -c "DEVSEC_TOKEN_FILE='$T_DIR/tok.admin' '$B/devctl' log verify --key '$T_DIR/key2' --key '$T_DIR/key2' --anchor '$T_DIR/anchors'"

# ---- the local path, with --wipe-logs
check_rc "the factory-reset identity may call nothing else (EPERM, exit 3)" 3 env -u DEVSEC_TOKEN DEVSEC_TOKEN_FILE=/nonexistent "$B/devctl" --identity factory-reset user list
find "$T_DIR/etc/bus.acl.d" -name filterd.acl -delete
kill -HUP "$BUSD_PID"
check_until "filterd is no longer known" 5 '^0$' sh -c "'$B/devctl' status | grep -c filterd || true"
DEVSEC_DEVCTL="$B/devctl" "$ROOT_DIR/tools/factory-reset/devsec-factory-reset" --wipe-logs > "$T_DIR/out2" 2>&1; RC=$?
check "devsec-factory-reset --wipe-logs: exit 0" test "$RC" = 0
check_out "its summary" 'factory reset done: 4 service\(s\) reset, 1 disabled one\(s\) reset at their next start' cat "$T_DIR/out2"
check_out "logd wiped the closed chain" '^logd +reset: .*\(wiped\)' cat "$T_DIR/out2"
check "netcfgd restarted again" wait_for 10 sh -c "[ \$(grep -cx 75 '$T_DIR/netcfgd.exits') = 2 ]"
for s in netcfgd upgrade-d; do svc_up $s 10 || nok "$s back up"; done
check_out "uninitialised again" 'initialised: +no' dc auth status
printf '%s\n' "$NEW_PW" | dc init --password-stdin >/dev/null
login admin "$NEW_PW" >/dev/null
check_out "the reset is recorded as by the local identity" "a new chain after the factory reset by 'factory-reset'.*was wiped" as admin log query --limit 500
as admin log query --limit 500 > "$T_DIR/q3" 2>&1
check_out "the log is readable after the wipe" 'a new chain after the factory reset' cat "$T_DIR/q3"
check "the earlier chains are gone" sh -c "! grep -q 'ends here' '$T_DIR/q3'"
as admin log seal init --out "$T_DIR/key3" >/dev/null
check_out "one chain left, verifying with the third key" '^OK up to record ' as admin log verify --key "$T_DIR/key3" --anchor "$T_DIR/anchors"
check "the counters survive this one too" cmp -s "$T_DIR/counters.before" "$DEVSEC_STATEDIR/upgrade-d/counters.json"
