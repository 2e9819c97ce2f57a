#!/bin/bash
# upgrade-d from the build tree: timed rebuilt as 1.0.1 and 1.0.2, bundled with
# devsec-bundle, installed with devctl upgrade install behind the health gate
# while busd, authd, logd, timed-clock and upgrade-d keep their pids; bundles
# that must be refused (tampered byte, another CA, an S/MIME-only signer, a
# signed '../' path, truncated, downgrade, security rollback, unknown
# component) install nothing; a build that exits at start and one that does
# not report the version it claims are rolled back; an operator's rollback.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/upgrade_lib.sh"
have openssl && have python3 || { skip "upgrade install scenario" "openssl or python3 missing"; exit 0; }
[ -x "$B/authd" ] && [ -x "$B/timed" ] && [ -x "$B/upgrade-d" ] || { skip "upgrade install scenario" "daemons not built"; exit 0; }

stack_init authd logd timed timed-clock upgrade-d
PKI="$T_DIR/pki"; export PKI
upg_pki "$PKI" || { nok "test PKI"; exit 0; }
mkdir -p "$T_DIR/etc/upgrade/trust" && cp "$PKI/ca.pem" "$T_DIR/etc/upgrade/trust/"
sed -i 's/^hash_opslimit = .*/hash_opslimit = 1;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 8;/' "$T_DIR/etc/authd.conf"
sed -i 's/^health_timeout_s = .*/health_timeout_s = 6;/' "$T_DIR/etc/upgrade-d.conf"
C101=$(upg_build 1.0.1) && C102=$(upg_build 1.0.2) || { nok "timed rebuilt as 1.0.1 and 1.0.2"; exit 0; }
ok "timed rebuilt as 1.0.1 and 1.0.2"

stack_busd
bg authd "$B/authd"
bg logd "$B/logd"
bg timed-clock "$B/timed-clock" --dry-run
upg_supervise timed --dry-run
bg upgrade-d "$B/upgrade-d" --dry-run
for s in authd logd timed-clock timed upgrade-d; do svc_up $s || { nok "$s up"; exit 0; }; done
PW='Zx9#mQ2$vL'
printf '%s\n' "$PW" | dc init --password-stdin >/dev/null
check_out "admin logs in" 'logged in as admin' sh -c "printf '%s\n' '$PW' | '$B/devctl' login -u admin --password-stdin"
listen_bg "$T_DIR/log/events.log" --json -- upgrade.

B_DIR="$T_DIR/bundles"; mkdir -p "$B_DIR"
upg_bundle "$B_DIR/t101.bundle" timed 1.0.1 1 "$C101" >/dev/null
check_out "devsec-bundle inspect verifies a bundle against the anchor" 'signature +verified, signer .*code signer' \
        "$B/devsec-bundle" inspect --trust "$T_DIR/etc/upgrade/trust" "$B_DIR/t101.bundle"

pids() { for s in bus authd logd timed-clock upgrade-d; do printf '%s=%s ' $s "$(pid_of $s)"; done; }
P0=$(pids); T0=$(pid_of timed)
check_out "timed runs 1.0.0 before" '^1\.0\.0$' ver_of timed

# --- refusals: each names its reason, nothing is installed -------------------
refuse() { # DESC REGEX FILE...
        local d=$1 re=$2; shift 2
        check_out "$d" "$re" dc upgrade install "$@"
}
python3 -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); b[-100]^=1; open(sys.argv[2],'wb').write(b)" \
        "$B_DIR/t101.bundle" "$B_DIR/tampered.bundle"
refuse "a tampered byte is refused (sha256)" 'EINVAL: sha256: .timed/timed. does not match' "$B_DIR/tampered.bundle"
check_out "upgrade verify names the tampered file too" 'EINVAL: sha256: .timed/timed. does not match' dc upgrade verify "$B_DIR/tampered.bundle"
check_out "upgrade verify of a good bundle names its signer and component" 'signer: +/CN=devsec test code signer' dc upgrade verify "$B_DIR/t101.bundle"
upg_bundle "$B_DIR/other.bundle" timed 1.0.1 1 "$C101" other >/dev/null
refuse "a signer under another CA is refused" 'EINVAL: signature: does not verify against the update trust anchors' "$B_DIR/other.bundle"
upg_resign "$B_DIR/t101.bundle" "$B_DIR/smime.bundle" smime
refuse "an S/MIME-only signer (valid chain) is refused" 'EINVAL: signature: .*not for code signing' "$B_DIR/smime.bundle"
upg_resign "$B_DIR/t101.bundle" "$B_DIR/dotdot.bundle" code '"path":"timed"' '"path":"../../../bin/timed"'
refuse "a signed '../' path is refused" "EINVAL: components\[0\]\.files\[0\]\.path: .*'\.\.'" "$B_DIR/dotdot.bundle"
head -c 4096 "$B_DIR/t101.bundle" > "$B_DIR/trunc.bundle"
refuse "a truncated bundle is refused" 'EINVAL: file: truncated' "$B_DIR/trunc.bundle"
mkdir -p "$T_DIR/nosuchd" && cp "$C101/timed" "$T_DIR/nosuchd/nosuchd"
upg_bundle "$B_DIR/nosuch.bundle" nosuchd 1.0.0 1 "$T_DIR/nosuchd" >/dev/null
refuse "a component that does not exist is refused" "ENOENT: component: 'nosuchd' is not a running service" "$B_DIR/nosuch.bundle"
upg_bundle "$B_DIR/old.bundle" timed 0.9.0 1 "$C101" >/dev/null
refuse "a downgrade is refused" 'EINVAL: version: .*older than the installed 1\.0\.0' "$B_DIR/old.bundle"
check_rc "refusals exit 1" 1 dc upgrade install "$B_DIR/old.bundle"
check "nothing was installed" test ! -e "$DEVSEC_RUNDIR/components/timed"
if [ "$(pid_of timed)" = "$T0" ]; then ok "timed was never restarted by a refusal"; else nok "timed restarted by a refusal"; fi

# --- a good install ---------------------------------------------------------
check_out "devctl upgrade install: done" 'result: +done' dc upgrade install "$B_DIR/t101.bundle"
check_out "timed reports 1.0.1" '^1\.0\.1$' ver_of timed
if [ "$(pid_of timed)" != "$T0" ]; then ok "timed was restarted"; else nok "timed was restarted"; fi
P1=$(pids)
if [ "$P0" = "$P1" ]; then ok "every other daemon kept its pid ($P1)"; else nok "pids changed: $P0 -> $P1"; fi

check_out "devctl status shows timed 1.0.1" 'timed +running +1\.0\.1' dc status
check_until "upgrade.done is published" 5 '"upgrade.done".*"version":"1.0.1"' cat "$T_DIR/log/events.log"
check_out "the current link names 1.0.1" '^1\.0\.1$' readlink "$DEVSEC_RUNDIR/components/timed/current"
check_out "upgrade status shows the component" 'timed +1\.0\.1' dc upgrade status
check_out "upgrade status says whether RAUC is there" '"rauc":\{"present":(true|false)' dc --json upgrade status
check_out "upgrade.signed passes" 'upgrade.signed.*pass' dc call upgrade-d audit.report level=1
check_out "the install is an audit record naming the operator" "'timed' 1\.0\.0 -> 1\.0\.1 committed \(by 'admin'" cat "$T_DIR/log/upgrade-d.log"

# --- anti-rollback after the install ----------------------------------------
upg_bundle "$B_DIR/sv0.bundle" timed 1.0.3 0 "$C102" >/dev/null
refuse "a lower security version is refused" 'EINVAL: security_version: .*below the installed 1' "$B_DIR/sv0.bundle"
refuse "the same version again is refused" 'EEXIST: version: .*already installed' "$B_DIR/t101.bundle"

# --- bad builds are rolled back ---------------------------------------------
mkdir -p "$T_DIR/bad" && cp "$(type -P false)" "$T_DIR/bad/timed"
upg_bundle "$B_DIR/bad.bundle" timed 1.0.2 1 "$T_DIR/bad" >/dev/null
check_out "a build that exits at start is rolled back" 'result: +rolled_back' dc upgrade install "$B_DIR/bad.bundle"
check_rc "a rollback exits 1" 1 dc upgrade install "$B_DIR/bad.bundle"
check_out "1.0.1 is back" '^1\.0\.1$' ver_of timed
check_until "upgrade.rolled_back names the reason" 5 '"upgrade.rolled_back".*no hello with version 1.0.2' cat "$T_DIR/log/events.log"
check_out "the link names 1.0.1 again" '^1\.0\.1$' readlink "$DEVSEC_RUNDIR/components/timed/current"
check "the failed version is not kept" test ! -e "$DEVSEC_RUNDIR/components/timed/1.0.2"
upg_bundle "$B_DIR/liar.bundle" timed 1.0.5 1 "$C101" >/dev/null
check_out "a build that does not report the version it claims is rolled back" 'result: +rolled_back' \
        dc upgrade install "$B_DIR/liar.bundle"
P2=$(pids)
if [ "$P0" = "$P2" ]; then ok "rollbacks left every other daemon alone"; else nok "pids changed: $P0 -> $P2"; fi

# --- 1.0.2, then an operator's rollback to the kept 1.0.1 -------------------
upg_bundle "$B_DIR/t102.bundle" timed 1.0.2 1 "$C102" >/dev/null
check_out "1.0.2 installs over 1.0.1" 'result: +done' dc upgrade install "$B_DIR/t102.bundle"
check_out "the previous link keeps 1.0.1" '^1\.0\.1$' readlink "$DEVSEC_RUNDIR/components/timed/previous"
check_out "devctl upgrade rollback timed" 'result: +done' dc upgrade rollback timed
check_out "timed reports 1.0.1 after the rollback" '^1\.0\.1$' ver_of timed
check_out "only two versions are kept" '^1\.0\.1 1\.0\.2 current previous $' sh -c "ls '$DEVSEC_RUNDIR/components/timed' | tr '\n' ' '"
check_out "history lists each outcome" 'done.*rolled_back.*rolled_back.*done.*done' sh -c "'$B/devctl' --json upgrade history | tr -d '\n'"
check_out "a rollback with nothing kept is ENOENT" 'ENOENT: component' dc upgrade rollback logd

# --- authorities: maintenance alone may look, not install ---------------------
MPW='Vw7#kP4!nR'
dc group add maint maintenance >/dev/null
printf '%s\n' "$MPW" | dc user add mia maint --password-stdin >/dev/null
as_mia() { DEVSEC_TOKEN_FILE="$T_DIR/tok.mia" "$B/devctl" "$@"; }
printf '%s\n' "$MPW" | as_mia login -u mia --password-stdin >/dev/null
check_out "maintenance alone may see the status" 'timed +1\.0\.1' as_mia upgrade status
check_out "maintenance alone may verify a bundle" 'signer' as_mia upgrade verify "$B_DIR/t102.bundle"
check_out "maintenance alone may not install (EPERM)" 'EPERM' as_mia upgrade install "$B_DIR/t102.bundle"
check_out "maintenance alone may not roll back (EPERM)" 'EPERM' as_mia upgrade rollback timed
check_out "a downgrade needs an administrator, not only the two authorities" 'EPERM: allow_downgrade' \
        sh -c "'$B/devctl' group add ms maintenance,security >/dev/null; printf '%s\n' '$MPW' | '$B/devctl' user add sam ms --password-stdin >/dev/null;
                printf '%s\n' '$MPW' | DEVSEC_TOKEN_FILE='$T_DIR/tok.sam' '$B/devctl' login -u sam --password-stdin >/dev/null;
                DEVSEC_TOKEN_FILE='$T_DIR/tok.sam' '$B/devctl' upgrade install '$B_DIR/t101.bundle' --allow-downgrade"
dc logout >/dev/null 2>&1
check_out "install without a session is refused" 'EAUTH' dc upgrade install "$B_DIR/t102.bundle"
