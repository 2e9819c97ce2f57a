#!/bin/bash
# upgrade_unit: upgrade-d on the device path. Debian 12 with systemd as PID 1
# in systemd-nspawn, `make install DESTDIR=`, timed's unit pointed at its
# component link (as an integrator's base image does), and timed installed as
# component 1.0.0. devctl upgrade install of a signed timed 1.0.1: systemd
# restarts devsec-timed alone (sd-bus RestartUnit, upgrade-d's polkit rule),
# every other devsec unit keeps its MainPID; a build that exits at start is
# rolled back to 1.0.1. The polkit rule lets devsec-upgrade-d restart the
# devsec units and nothing else (no stop, no other unit).
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/lib/rootfs.sh"
source "$ROOT_DIR/tests/lib/upgrade_lib.sh"

if ! reason=$(ct_need); then skip "container: upgrade one unit under systemd" "$reason"; exit 0; fi
[ -x "$B/upgrade-d" ] && [ -x "$B/timed" ] || { skip "container: upgrade one unit under systemd" "upgrade-d or timed not built"; exit 0; }
have openssl || { skip "container: upgrade one unit under systemd" "openssl missing"; exit 0; }
W=$(mktemp -d /var/tmp/devsec-ct.XXXXXX); T_DIR=$W
R=$W/root
CT=dsc-upg

C101=$(upg_build 1.0.1) || { nok "timed rebuilt as 1.0.1"; exit 1; }
if ! ct_install "$R"; then nok "make install DESTDIR= into a Debian 12 root"; exit 1; fi
ok "make install DESTDIR=$R PREFIX=/usr"
check "upgrade-d's polkit rule is installed" test -f "$R/usr/share/polkit-1/rules.d/devsec-upgrade-d.rules"

PKI="$W/pki"; export PKI
upg_pki "$PKI" || { nok "test PKI"; exit 1; }
mkdir -p "$R/etc/devsec/upgrade/trust" && cp "$PKI/ca.pem" "$R/etc/devsec/upgrade/trust/"
sed -i 's/^health_timeout_s = .*/health_timeout_s = 15;/' "$R/etc/devsec/upgrade-d.conf"
# the base image as make install lays it out: every daemon a component,
# /usr/sbin/NAME the link to its current version, which the unit runs
check_out "make install: timed is component 1.0.0 and /usr/sbin/timed its current link" \
        '^/usr/lib/devsec/components/timed/current/timed 1.0.0$' sh -c "echo \$(readlink '$R/usr/sbin/timed') \$(readlink '$R/usr/lib/devsec/components/timed/current')"
check "its unit runs /usr/sbin/timed" grep -q '^ExecStart=/usr/sbin/timed' "$R/lib/systemd/system/devsec-timed.service"
mkdir -p "$R/etc/systemd/system/devsec-timed-clock.service.d"
# nspawn keeps CAP_SYS_TIME out of the bounding set (as in stack_boot)
printf '[Service]\nExecStart=\nExecStart=/usr/sbin/timed-clock -f --dry-run\n' \
        > "$R/etc/systemd/system/devsec-timed-clock.service.d/test-dry-run.conf"
mkdir -p "$W/bad" && cp "$(type -P false)" "$W/bad/timed"
mkdir -p "$R/var/lib/devsec/upgrade-incoming"
upg_bundle "$R/var/lib/devsec/upgrade-incoming/timed-1.0.1.bundle" timed 1.0.1 1 "$C101" >/dev/null
upg_bundle "$R/var/lib/devsec/upgrade-incoming/timed-1.0.2.bundle" timed 1.0.2 1 "$W/bad" >/dev/null

if ! ct_boot "$CT" "$R" --private-network; then nok "container boots"; exit 1; fi
if ct_wait_booted "$CT" 90; then ok "systemd boots the container"; else nok "systemd boots the container"; fi
check_out "systemd-tmpfiles gave upgrade-d the components" '^devsec-upgrade-d$' ct "$CT" stat -c %U /usr/lib/devsec/components/timed/1.0.0/timed
ct "$CT" chmod 0644 /var/lib/devsec/upgrade-incoming/timed-1.0.1.bundle /var/lib/devsec/upgrade-incoming/timed-1.0.2.bundle
prop() { ct "$CT" systemctl show -p "$2" --value "devsec-$1.service"; }
for n in busd authd timed upgrade-d; do
        wait_for 30 sh -c "[ \"\$(nsenter -t ${CT_LEADER[$CT]} -a systemctl is-active devsec-$n.service)\" = active ]" ||
                nok "devsec-$n active"
done
PW='Adm1n-pass-42!'
dci() { ct "$CT" devctl "$@"; }
printf '%s\n%s\n' "$PW" "$PW" | ct "$CT" devctl init --password-stdin >/dev/null 2>&1
check_out "admin logs in inside" 'logged in as admin' sh -c "printf '%s\n' '$PW' | nsenter -t ${CT_LEADER[$CT]} -a env -i PATH=/usr/sbin:/usr/bin HOME=/root devctl login -u admin --password-stdin"
check_out "timed runs 1.0.0 from its component link" '"version":"1\.0\.0"' dci --json call timed sys.ping

# the daemons of functions that ship off are stopped by netcfgd after the first boot: not compared
OFF=$(sed -n 's/.*factory_default = false;.*daemon = "\([^"]*\)".*/devsec-\1.service/p' "$ROOT_DIR/etc/devsec/functions.conf")
UNITS=$(ct "$CT" systemctl list-units --state=active --no-legend --plain 'devsec-*.service' | awk '{ print $1 }' |
        grep -v -x -e devsec-timed.service -e devsec-keygen.service $(printf -- '-e %s ' $OFF))
mainpids() { for u in $UNITS; do printf '%s=%s ' "$u" "$(ct "$CT" systemctl show -p MainPID --value "$u")"; done; }
P0=$(mainpids); T0=$(prop timed MainPID)
check_out "devctl upgrade install under systemd: done" 'result: +done' \
        dci upgrade install /var/lib/devsec/upgrade-incoming/timed-1.0.1.bundle
check_out "timed reports 1.0.1" '"version":"1\.0\.1"' dci --json call timed sys.ping
T1=$(prop timed MainPID)
if [ "$T1" != "$T0" ]; then ok "systemd restarted devsec-timed ($T0 -> $T1)"; else nok "systemd restarted devsec-timed"; fi
P1=$(mainpids)
if [ "$P0" = "$P1" ]; then ok "every other devsec unit kept its MainPID"; else nok "MainPIDs changed: $P0 -> $P1"; fi
check_out "the restart went through systemd" "restart: 'timed' queued by systemd" ct "$CT" journalctl -u devsec-upgrade-d.service --no-pager
check_out "a build that exits at start is rolled back" 'result: +rolled_back' \
        dci upgrade install /var/lib/devsec/upgrade-incoming/timed-1.0.2.bundle
check_until "timed is healthy on 1.0.1 again" 20 '"version":"1\.0\.1"' dci --json call timed sys.ping
P2=$(mainpids)
if [ "$P0" = "$P2" ]; then ok "the rollback left every other unit alone"; else nok "MainPIDs changed: $P0 -> $P2"; fi

# the polkit rule: restart of devsec units, nothing else
as_upg() { ct "$CT" setpriv --reuid=devsec-upgrade-d --regid=devsec-upgrade-d --clear-groups systemctl --no-ask-password "$@"; }
# (systemctl exits 4 when access is denied)
check_rc "devsec-upgrade-d may not stop a devsec unit" 4 as_upg stop devsec-logd.service
check_rc "devsec-upgrade-d may not restart another unit" 4 as_upg restart dbus.service
check_rc "devsec-upgrade-d may not start a devsec unit" 4 as_upg start devsec-logd.service
check_rc "devsec-upgrade-d may restart a devsec unit" 0 as_upg restart devsec-logd.service
ct_stop "$CT"
