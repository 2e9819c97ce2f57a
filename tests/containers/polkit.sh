#!/bin/bash
# polkit: what netcfgd's user may ask of systemd, and functions that stay off.
# Debian 12 with systemd as PID 1 and polkitd in systemd-nspawn, `make install
# DESTDIR=` of this build (which generates the polkit rule and the drop-ins
# from etc/devsec/functions.conf).
#  - as devsec-netcfgd (runuser ... systemctl): no link, enable, mask,
#    daemon-reload, transient unit, nor start/stop/restart of a unit outside
#    the function table (devsec-authd, a devsec-* unit root made); start and
#    stop of a function-table unit (devsec-webd, the https function) work
#  - a function disabled through devctl: its unit stopped and flagged, not
#    masked; after a reboot the unit (still in devsec.target.wants) does not
#    start (its drop-in's condition) and both function list and status say
#    disabled; enabled again it runs, and after the next reboot too
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/lib/rootfs.sh"
source "$(dirname "$0")/lib/units.sh"

if ! reason=$(ct_need); then skip "container: polkit rule and function flags" "$reason"; exit 0; fi
for n in busd authd netcfgd timed timed-clock webd; do
        [ -x "$B/$n" ] || { skip "container: polkit rule and function flags" "$n is not built in $BUILD"; exit 0; }
done
T0=$(date +%s)
W=$(mktemp -d /var/tmp/devsec-ct.XXXXXX); T_DIR=$W
R=$W/root
CT=dsc-polkit
FLAGS=/var/lib/devsec/functions/disabled

if ! ct_install "$R"; then nok "make install DESTDIR= into a Debian 12 root"; exit 1; fi
ok "make install DESTDIR=$R PREFIX=/usr"
RULE=$R/usr/share/polkit-1/rules.d/50-devsec-netcfgd.rules
if [ ! -d "$R/usr/share/polkit-1/rules.d" ] || [ ! -x "$R/usr/lib/polkit-1/polkitd" ]; then
        skip "container: polkit rule and function flags" "no polkitd in the root filesystem"; exit 0
fi
check "the generated rule is installed" test -f "$RULE"
check_out "it names the function table's units (devsec-webd.service for https)" '"devsec-webd.service"' cat "$RULE"
if grep -q '"devsec-timed.service"' "$RULE"; then nok "devsec-timed is not in it (ntp is timed's setting, not its unit)"; else ok "devsec-timed is not in it (ntp is timed's setting, not its unit)"; fi
if grep -Eq '"org\.freedesktop\.systemd1\.(manage-unit-files|reload-daemon)"|devsec-\[' "$RULE"; then nok "it grants no unit-file action, no reload, no devsec-* pattern"
else ok "it grants no unit-file action, no reload, no devsec-* pattern"; fi
check_out "devsec-webd.service carries the flag condition" "^ConditionPathExists=!$FLAGS/devsec-webd.service\$" \
        cat "$R/lib/systemd/system/devsec-webd.service.d/50-devsec-function.conf"

# as stack_boot.sh: the container has no CAP_SYS_TIME for timed-clock
mkdir -p "$R/etc/systemd/system/devsec-timed-clock.service.d"
printf '[Service]\nExecStart=\nExecStart=/usr/sbin/timed-clock -f --dry-run\n' \
        > "$R/etc/systemd/system/devsec-timed-clock.service.d/test-dry-run.conf"
# a devsec-named unit outside the function table, made by root
printf '[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n' > "$R/etc/systemd/system/devsec-extra.service"

# as netcfgd's user, never asking for a password
asn() { ct "$CT" runuser -u devsec-netcfgd -- "$@"; }
# refused WHAT CMD...: the command fails as devsec-netcfgd
refused() {
        local what=$1 out; shift
        if out=$(asn "$@" 2>&1); then nok "devsec-netcfgd cannot $what (it succeeded: $out)"
        else ok "devsec-netcfgd cannot $what (${out%%$'\n'*})"; fi
}

boot "first boot"
wait_out 30 '"name":"netcfgd","state":"running"' ct "$CT" devctl --json status
check_rc "devctl init (first boot)" 0 sh -c "printf 'Adm1n-pass-42!\nAdm1n-pass-42!\n' | nsenter -t ${CT_LEADER[$CT]} -a env -i PATH=/usr/sbin:/usr/bin HOME=/root devctl init --password-stdin"
login "first boot"
check_out "the flag directory is devsec-netcfgd's, 0755" '^755 devsec-netcfgd$' ct "$CT" stat -c '%a %U' "$FLAGS"
check_out "netcfgd runs with the systemd backend" 'backend: +systemd' ct "$CT" devctl function list

# --- what netcfgd's user may ask of systemd ------------------------------------
SC="systemctl --no-ask-password"
asn sh -c 'printf "[Service]\nExecStart=/bin/sh -c id\n" > /var/tmp/netcfgd-made.service'
refused "link a unit file it wrote" $SC link /var/tmp/netcfgd-made.service
check "  and nothing was linked" test ! -e "$R/etc/systemd/system/netcfgd-made.service"
refused "start a unit it wrote" $SC start netcfgd-made.service
refused "enable a unit" $SC enable devsec-extra.service
check "  and nothing was enabled" sh -c "! ls '$R'/etc/systemd/system/*.wants/devsec-extra.service 2>/dev/null | grep -q ."
refused "mask a unit" $SC mask devsec-authd.service
check "  and nothing was masked" test ! -e "$R/etc/systemd/system/devsec-authd.service"
refused "unmask, disable or reenable a unit" $SC disable devsec-webd.service
refused "reload systemd" $SC daemon-reload
refused "run a transient unit" systemd-run --no-ask-password --wait /bin/true
refused "start a devsec unit outside the table (devsec-extra)" $SC start devsec-extra.service
check_out "  devsec-extra stayed inactive" '^inactive$' prop devsec-extra.service ActiveState
p0=$(prop devsec-authd.service MainPID)
refused "restart devsec-authd" $SC restart devsec-authd.service
refused "stop devsec-authd" $SC stop devsec-authd.service
refused "kill devsec-authd" $SC kill devsec-authd.service
st="$(prop devsec-authd.service ActiveState) $(prop devsec-authd.service MainPID)"
if [ "$st" = "active $p0" ]; then ok "  devsec-authd kept running, same pid ($p0)"; else nok "  devsec-authd: $st (was active $p0)"; fi
refused "restart a function-table unit (only start and stop)" $SC restart devsec-webd.service
check_rc "devsec-netcfgd can stop a function-table unit (devsec-webd)" 0 asn $SC stop devsec-webd.service
check "  it is stopped" wait_prop 10 devsec-webd.service ActiveState inactive
check_rc "devsec-netcfgd can start it again" 0 asn $SC start devsec-webd.service
check "  it is running" wait_prop 15 devsec-webd.service ActiveState active
wait_out 20 '"name":"webd","state":"running"' ct "$CT" devctl --json status

# --- a function disabled through devctl stays off across reboots ---------------
check_rc "devctl: netcfgd function.disable https" 0 ct "$CT" devctl --timeout 30000 call netcfgd function.disable name=https
if wait_prop 15 devsec-webd.service ActiveState inactive; then ok "https off: devsec-webd stopped"
else nok "https off: devsec-webd is $(prop devsec-webd.service ActiveState)"; ct "$CT" journalctl --no-pager -n 8 -u devsec-netcfgd | sed 's/^/#   /'; fi
check "  and flagged ($FLAGS/devsec-webd.service)" test -f "$R$FLAGS/devsec-webd.service"
check_out "  not masked: its unit is loaded as installed" '^loaded$' prop devsec-webd.service LoadState
check_out "  still wanted by devsec.target (no unit file changed)" 'devsec-webd.service' prop devsec.target Wants
check_out "  calls to webd get EDISABLED" 'EDISABLED' ct "$CT" devctl call webd sys.ping

ct_stop "$CT"
boot "reboot with https disabled"
check "devsec.target is active" wait_prop 30 devsec.target ActiveState active
wait_out 30 '"name":"netcfgd","state":"running"' ct "$CT" devctl --json status
login "after the reboot"
check_out "devsec-webd did not start at boot" '^inactive$' prop devsec-webd.service ActiveState
check_out "  its condition kept it off" '^no$' prop devsec-webd.service ConditionResult
check_out "function list says https is disabled" 'https +no +yes +daemon' ct "$CT" devctl function list
if wait_out 15 'webd +disabled' ct "$CT" devctl status; then ok "devctl status says webd is disabled"
else nok "devctl status says webd is disabled"; ct "$CT" devctl status | sed 's/^/#   /'; fi
ct "$CT" systemctl start devsec-webd.service
check_out "starting it by hand (root) is skipped too" '^inactive$' prop devsec-webd.service ActiveState

check_rc "devctl: netcfgd function.enable https" 0 ct "$CT" devctl --timeout 30000 call netcfgd function.enable name=https
if wait_prop 15 devsec-webd.service ActiveState active && wait_out 20 '"name":"webd","state":"running"' ct "$CT" devctl --json status
then ok "https on: devsec-webd started and registered"
else nok "https on: devsec-webd is $(prop devsec-webd.service ActiveState)"; fi
check "  its flag is gone" test ! -e "$R$FLAGS/devsec-webd.service"

ct_stop "$CT"
boot "reboot with https enabled"
if wait_prop 30 devsec-webd.service ActiveState active && wait_out 30 '"name":"webd","state":"running"' ct "$CT" devctl --json status
then ok "devsec-webd starts at boot again"
else nok "devsec-webd after the reboot: $(prop devsec-webd.service ActiveState)"; fi
login "after the second reboot"
check_out "function list says https is enabled" 'https +yes +yes +daemon' ct "$CT" devctl function list

ct_stop "$CT"
echo "# container scenario took $(($(date +%s) - T0)) s"
