#!/bin/bash
# factory_reset: the device path of a factory reset. Debian 12 with systemd
# as PID 1 in systemd-nspawn, `make install DESTDIR=`, devsec.target. The admin
# runs devctl factory-reset --yes: every service answers, the daemons that make
# their keys anew exit 75 and systemd starts them again (new MainPID, active),
# the device is uninitialised, the old session is refused, the first login
# needs devctl init with the (new) setup code and a new password, and netcfgd
# has a new HTTPS certificate. Then the button's path: devsec-factory-reset as
# root, with the identity factory-reset whose key is root's alone (0600).
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/lib/rootfs.sh"

if ! reason=$(ct_need); then skip "container: factory reset under systemd" "$reason"; exit 0; fi
for d in authd netcfgd logd; do
        [ -x "$B/$d" ] || { skip "container: factory reset under systemd" "$d not built"; exit 0; }
done
W=$(mktemp -d /var/tmp/devsec-ct.XXXXXX); T_DIR=$W
R=$W/root
CT=dsc-factory
if ! ct_install "$R"; then nok "make install DESTDIR= into a Debian 12 root"; exit 1; fi
ok "make install DESTDIR=$R PREFIX=/usr"
check "devsec-factory-reset is installed" test -x "$R/usr/sbin/devsec-factory-reset"
check "its ACL is installed" test -f "$R/etc/devsec/bus.acl.d/factory-reset.acl"
if [ -f "$R/lib/systemd/system/devsec-timed-clock.service" ]; then
        # nspawn keeps CAP_SYS_TIME out of the bounding set (as in stack_boot)
        mkdir -p "$R/etc/systemd/system/devsec-timed-clock.service.d"
        printf '[Service]\nExecStart=\nExecStart=/usr/sbin/timed-clock -f --dry-run\n' \
                > "$R/etc/systemd/system/devsec-timed-clock.service.d/test-dry-run.conf"
fi
sed -i 's/^hash_opslimit = .*/hash_opslimit = 1;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 8;/' "$R/etc/devsec/authd.conf"

if ! ct_boot "$CT" "$R" --private-network; then nok "container boots"; exit 1; fi
if ct_wait_booted "$CT" 90; then ok "systemd boots the container"; else nok "systemd boots the container"; fi
prop() { ct "$CT" systemctl show -p "$2" --value "devsec-$1.service"; }
active() { [ "$(ct "$CT" systemctl is-active "devsec-$1.service")" = active ]; }
for n in busd authd netcfgd logd; do
        wait_for 30 active "$n" || nok "devsec-$n active"
done
check_out "the factory-reset key is root's, 0600" '^600 root$' ct "$CT" stat -c '%a %U' /etc/devsec/bus/private/factory-reset.key
PW='Adm1n-pass-42!'; PW2='N3w-pass-77#x'
dci() { ct "$CT" devctl "$@"; }
login() { printf '%s\n' "$1" | ct "$CT" devctl login -u admin --password-stdin; }
fp() { dci https cert show | sed -n 's/.*fingerprint_sha256: *//p' | head -1; }
printf '%s\n%s\n' "$PW" "$PW" | ct "$CT" devctl init --password-stdin >/dev/null 2>&1
check_out "admin logs in" 'logged in as admin' login "$PW"
dci config set authd session_idle_s=600 >/dev/null
check_until "netcfgd has its HTTPS certificate" 20 'present: +yes' dci https cert show
FP1=$(fp)
N0=$(prop netcfgd MainPID); A0=$(prop authd MainPID)

dci factory-reset --yes > "$W/out1" 2>&1; RC=$?
sed 's/^/#   /' "$W/out1"
check "devctl factory-reset under systemd: exit 0" test "$RC" = 0
check_out "netcfgd reset, restarting" '^netcfgd +reset: restarting' cat "$W/out1"
check_out "authd reset last" 'authd +reset: no account' sh -c "tail -2 '$W/out1' | head -1"
check "systemd started netcfgd again (a new MainPID, active)" wait_for 30 sh -c \
        "p=\$(nsenter -t ${CT_LEADER[$CT]} -a systemctl show -p MainPID --value devsec-netcfgd.service); [ \"\$p\" != 0 ] && [ \"\$p\" != '$N0' ] && [ \"\$(nsenter -t ${CT_LEADER[$CT]} -a systemctl is-active devsec-netcfgd.service)\" = active ]"
check_out "its exit was the factory reset's (status 75)" 'factory reset done: exiting to start afresh' \
        ct "$CT" journalctl -u devsec-netcfgd.service --no-pager
check "systemd took status 75 for a success and restarted anyway (no failure recorded)" sh -c \
        "! nsenter -t ${CT_LEADER[$CT]} -a journalctl -u devsec-netcfgd.service --no-pager | grep -q 'Failed with result'"
check "authd reset in place (same MainPID)" test "$(prop authd MainPID)" = "$A0"
for u in $(ct "$CT" systemctl list-units --state=failed --no-legend --plain 'devsec-*.service' | awk '{ print $1 }'); do
        nok "unit $u failed after the reset"
done
check_out "auth status: uninitialised" 'initialised: +no' dci auth status
check_rc "the old session is refused (exit 3)" 3 dci whoami
check_out "the first login is refused until a password is set" 'device not initialised: run devctl init' login "$PW"
check "a new setup code for the first boot" ct "$CT" test -s /var/lib/devsec/authd/setup-code
printf '%s\n%s\n' "$PW2" "$PW2" | ct "$CT" devctl init --password-stdin >/dev/null 2>&1
check_out "devctl init sets the new password; the first login with it works" 'logged in as admin' login "$PW2"
check_out "authd settings at defaults" 'session_idle_s: +900' dci config get authd
check_until "netcfgd has a certificate again" 20 'present: +yes' dci https cert show
FP2=$(fp)
check "a new HTTPS certificate" test -n "$FP2" -a "$FP1" != "$FP2"
check_out "the log holds the final record" "factory reset by 'admin': this chain ends here" dci log query --limit 1000

if [ -f "$R/lib/systemd/system/devsec-smtp-notifier.service" ]; then
        # smtp ships off: smtp-notifier was stopped during the reset and makes up for it when it starts
        dci function enable smtp >/dev/null
        check "smtp-notifier, stopped during the reset, resets when its function is enabled" wait_for 30 sh -c \
                "nsenter -t ${CT_LEADER[$CT]} -a journalctl -u devsec-smtp-notifier.service --no-pager | grep -q 'happened while it was stopped'"
        check_out "and records the device's mark" "^$(cat "$R/var/lib/devsec/functions/disabled/factory-reset.generation")\$" \
                cat "$R/var/lib/devsec/smtp-notifier/factory-generation"
        dci function disable smtp >/dev/null
fi

# ---- the button's path
check_rc "the factory-reset key is not an operator's: a non-root user cannot read it" 1 \
        ct "$CT" setpriv --reuid=nobody --regid=nogroup --clear-groups cat /etc/devsec/bus/private/factory-reset.key
N1=$(prop netcfgd MainPID)
ct "$CT" devsec-factory-reset --wipe-logs > "$W/out2" 2>&1; RC=$?
sed 's/^/#   /' "$W/out2"
check "devsec-factory-reset as root: exit 0" test "$RC" = 0
check "systemd started netcfgd again" wait_for 30 sh -c \
        "p=\$(nsenter -t ${CT_LEADER[$CT]} -a systemctl show -p MainPID --value devsec-netcfgd.service); [ \"\$p\" != 0 ] && [ \"\$p\" != '$N1' ]"
check_out "uninitialised again" 'initialised: +no' dci auth status
check_rc "the session made after the first reset is refused" 3 dci whoami
ct_stop "$CT"
