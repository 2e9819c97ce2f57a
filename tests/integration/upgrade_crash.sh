#!/bin/bash
# upgrade-d killed (-9) at every step boundary of an install, and the whole
# stack killed mid-gate: at the next start upgrade-d's journal completes the
# install (after the gate passed) or rolls it back (before), and timed runs
# either the old or the new version, never neither.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/upgrade_lib.sh"
have openssl && have python3 || { skip "upgrade crash scenario" "openssl or python3 missing"; exit 0; }
[ -x "$B/authd" ] && [ -x "$B/timed" ] && [ -x "$B/upgrade-d" ] || { skip "upgrade crash scenario" "daemons not built"; exit 0; }

stack_init authd timed timed-clock upgrade-d
PKI="$T_DIR/pki"; export PKI
upg_pki "$PKI" || { nok "test PKI"; exit 0; }
mkdir -p "$T_DIR/etc/upgrade/trust" && cp "$PKI/ca.pem" "$T_DIR/etc/upgrade/trust/"
sed -i 's/^hash_opslimit = .*/hash_opslimit = 1;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 8;/' "$T_DIR/etc/authd.conf"
sed -i 's/^health_timeout_s = .*/health_timeout_s = 6;/' "$T_DIR/etc/upgrade-d.conf"
C101=$(upg_build 1.0.1) || { nok "timed rebuilt as 1.0.1"; exit 0; }
mkdir -p "$T_DIR/bad" && cp "$(type -P false)" "$T_DIR/bad/timed"
upg_bundle "$T_DIR/t101.bundle" timed 1.0.1 1 "$C101" >/dev/null
upg_bundle "$T_DIR/bad.bundle" timed 1.0.2 1 "$T_DIR/bad" >/dev/null

stack_busd
bg authd "$B/authd"
bg timed-clock "$B/timed-clock" --dry-run
upg_supervise timed --dry-run
SUP=$!
for s in authd timed-clock timed; do svc_up $s || { nok "$s up"; exit 0; }; done
PW='Zx9#mQ2$vL'
printf '%s\n' "$PW" | dc init --password-stdin >/dev/null
printf '%s\n' "$PW" | dc login -u admin --password-stdin >/dev/null

UPG=""
upgd() { # [CRASH_AT]: (re)starts upgrade-d
        bg upgrade-d env ${1:+UPGRADE_D_CRASH_AT=$1} "$B/upgrade-d" --dry-run; UPG=$LAST_PID
        svc_up upgrade-d
}
idle() { dc --json upgrade status 2>/dev/null | grep -q '"state":"idle"' && [ ! -e "$DEVSEC_STATEDIR/upgrade-d/journal.json" ]; }
# crash STEP BUNDLE: an install that kills upgrade-d at STEP; then a fresh start
crash() {
        upgd "$1"
        DEVSEC_TIMEOUT_MS=30000 "$B/devctl" upgrade install "$2" >/dev/null 2>&1
        wait_for 10 sh -c "! kill -0 $UPG 2>/dev/null" || { nok "upgrade-d died at '$1'"; return; }
        check "the journal survived the kill at '$1'" test -s "$DEVSEC_STATEDIR/upgrade-d/journal.json"
        upgd
        wait_for 20 idle || nok "upgrade-d finished the journal of '$1'"
}

for step in unpacking unpacked switched gate; do
        crash $step "$T_DIR/t101.bundle"
        check_until "killed at '$step': rolled back, timed runs 1.0.0" 10 '^1\.0\.0$' ver_of timed
        check "killed at '$step': no version directory left" test ! -e "$DEVSEC_RUNDIR/components/timed/1.0.1"
        kill "$UPG" 2>/dev/null; wait "$UPG" 2>/dev/null
done
check_out "the history names the interruptions" "interrupted.*interrupted.*interrupted at step 'switched'.*interrupted at step 'health-gate'" \
        sh -c "tr -d '\n' < '$DEVSEC_STATEDIR/upgrade-d/history.json'"

crash committing "$T_DIR/t101.bundle"
check_until "killed while committing: completed, timed runs 1.0.1" 10 '^1\.0\.1$' ver_of timed
check_out "the anti-rollback counter was recorded" '"timed".*"security_version": 1' sh -c "tr -d '\n' < '$DEVSEC_STATEDIR/upgrade-d/counters.json'"
kill "$UPG" 2>/dev/null; wait "$UPG" 2>/dev/null

crash rollback "$T_DIR/bad.bundle"
check_until "killed while rolling back: rolled back again, timed runs 1.0.1" 10 '^1\.0\.1$' ver_of timed
check "the bad version is gone" test ! -e "$DEVSEC_RUNDIR/components/timed/1.0.2"
kill "$UPG" 2>/dev/null; wait "$UPG" 2>/dev/null

# the machine: everything killed once the link names a build that cannot start
upgd switched
DEVSEC_TIMEOUT_MS=30000 "$B/devctl" upgrade install "$T_DIR/bad.bundle" >/dev/null 2>&1 &
wait_for 15 sh -c "! kill -0 $UPG 2>/dev/null"
kill -9 "$SUP" "$(cat "$T_DIR/timed.pid")" 2>/dev/null
wait_for 10 test -e "$DEVSEC_STATEDIR/upgrade-d/journal.json"
upg_supervise timed --dry-run
upgd
check "after everything was killed the journal is finished" wait_for 20 idle
check_until "and timed runs the old version, 1.0.1" 10 '^1\.0\.1$' ver_of timed
