#!/bin/bash
# Integrator hooks on a real systemd: Debian 12 with systemd as PID 1 and
# polkitd in systemd-nspawn, `make install DESTDIR=` of this build. The
# media stack's unit for av_encryption (devsec-hook-av-crypt.service, a
# stand-in that only sleeps) is installed by the integrator; netcfgd, as its
# unprivileged user through the generated polkit rule, stops it while the
# function is off, starts it when it is switched on, function list shows
# systemd's ActiveState, net.av-encryption follows, and the function's flag
# keeps the unit off across a reboot.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/lib/rootfs.sh"
source "$(dirname "$0")/lib/units.sh"

if ! reason=$(ct_need); then skip "container: integrator hook units" "$reason"; exit 0; fi
for n in busd authd netcfgd timed timed-clock webd; do
        [ -x "$B/$n" ] || { skip "container: integrator hook units" "$n is not built in $BUILD"; exit 0; }
done
T0=$(date +%s)
W=$(mktemp -d /var/tmp/devsec-ct.XXXXXX); T_DIR=$W
R=$W/root
CT=dsc-hooks
AV=devsec-hook-av-crypt.service
FLAGS=/var/lib/devsec/functions/disabled

if ! ct_install "$R"; then nok "make install DESTDIR= into a Debian 12 root"; exit 1; fi
ok "make install DESTDIR=$R PREFIX=/usr"
check_out "the polkit rule names the hook unit" "\"$AV\"" cat "$R/usr/share/polkit-1/rules.d/50-devsec-netcfgd.rules"
check_out "the hook unit carries the flag condition" "^ConditionPathExists=!$FLAGS/$AV\$" \
        cat "$R/lib/systemd/system/$AV.d/50-devsec-function.conf"
# as stack_boot.sh: the container has no CAP_SYS_TIME for timed-clock
mkdir -p "$R/etc/systemd/system/devsec-timed-clock.service.d"
printf '[Service]\nExecStart=\nExecStart=/usr/sbin/timed-clock -f --dry-run\n' \
        > "$R/etc/systemd/system/devsec-timed-clock.service.d/test-dry-run.conf"
# the integrator's unit, wanted at boot like a media stack's part would be
printf '[Unit]\nDescription=stand-in for the media stack RTSPS/SRTP part\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n' \
        > "$R/etc/systemd/system/$AV"
ln -sfn "/etc/systemd/system/$AV" "$R/etc/systemd/system/multi-user.target.wants/$AV"

boot "first boot"
wait_out 30 '"name":"netcfgd","state":"running"' ct "$CT" devctl --json status
check_rc "devctl init (first boot)" 0 sh -c "printf 'Adm1n-pass-42!\nAdm1n-pass-42!\n' | nsenter -t ${CT_LEADER[$CT]} -a env -i PATH=/usr/sbin:/usr/bin HOME=/root devctl init --password-stdin"
login "first boot"
check_out "netcfgd runs with the systemd backend" 'backend: +systemd' ct "$CT" devctl function list
if wait_prop 20 "$AV" ActiveState inactive; then ok "av_encryption is off: netcfgd stopped the hook unit systemd started at boot"
else nok "av_encryption is off: the hook unit is $(prop "$AV" ActiveState)"; ct "$CT" journalctl --no-pager -n 8 -u devsec-netcfgd | sed 's/^/#   /'; fi
check "  and flagged it" test -f "$R$FLAGS/$AV"
if wait_out 10 "av_encryption +no +no +unit +$AV .* inactive" ct "$CT" devctl function list; then ok "function list: the unit and its state (inactive)"
else nok "function list: the unit and its state (inactive)"; ct "$CT" devctl function list | grep av_enc | sed 's/^/#   /'; fi
check_out "net.av-encryption fails while off" 'net.av-encryption .*fail' ct "$CT" devctl call netcfgd audit.report level=1
check_rc "devctl function enable av_encryption" 0 ct "$CT" devctl --timeout 30000 function enable av_encryption
check "the hook unit runs" wait_prop 15 "$AV" ActiveState active
check "  its flag is gone" test ! -e "$R$FLAGS/$AV"
if wait_out 10 "av_encryption +yes +no +unit +$AV .* active" ct "$CT" devctl function list; then ok "function list: active"
else nok "function list: active"; fi
check_out "net.av-encryption passes" "net.av-encryption .*pass .*'$AV' is active" ct "$CT" devctl call netcfgd audit.report level=1
ct "$CT" systemctl kill -s KILL "$AV"
if wait_out 10 "av_encryption +yes +no +unit +$AV .* (failed|inactive)" ct "$CT" devctl function list; then ok "the unit killed behind netcfgd's back is reported so"
else nok "the unit killed behind netcfgd's back is reported so"; fi
check_out "  and the audit fails" 'net.av-encryption .*fail .*on, but' ct "$CT" devctl call netcfgd audit.report level=1
ct "$CT" systemctl reset-failed "$AV" 2>/dev/null
check_rc "devctl function disable av_encryption" 0 ct "$CT" devctl --timeout 30000 function disable av_encryption
check "  flagged again" test -f "$R$FLAGS/$AV"

ct_stop "$CT"
boot "reboot with av_encryption off"
wait_out 30 '"name":"netcfgd","state":"running"' ct "$CT" devctl --json status
check_out "the hook unit did not start at boot (its drop-in's condition)" '^no$' prop "$AV" ConditionResult
check_out "  it is inactive" '^inactive$' prop "$AV" ActiveState
ct_stop "$CT"
echo "# container scenario took $(($(date +%s) - T0)) s"
