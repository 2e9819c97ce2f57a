#!/bin/bash
# netcfgd's systemd backend (--svcmgr=systemd) against a stand-in for
# org.freedesktop.systemd1 on a private D-Bus (python3-dbusmock): disable =
# the flag file <statedir>/functions/disabled/<unit> then StopUnit, enable = the
# flag removed then StartUnit, and never a unit-file call or a reload (polkit
# grants netcfgd start/stop only); a refusal by systemd leaves the function and
# its flag as they were, a function flagged on the system is reported
# disabled, a devsec daemon's unit is devsec-<name>.service and the bus
# answers EDISABLED.
source "$(dirname "$0")/../lib/tap.sh"
have dbus-daemon && /usr/bin/python3 -c 'import dbusmock' 2>/dev/null || { skip "netcfgd systemd backend" "dbus-daemon or python3-dbusmock not installed"; exit 0; }
stack_init netcfgd testsvc
# the shipped table has smtp off (factory default); these scenarios drive a
# daemon-backed function that starts on, so the copy under test turns it on
sed -i '/name = "smtp"/s/factory_default = false/factory_default = true/' "$T_DIR/etc/functions.conf"
stack_acl testsvc 'testsvc = { serve = ["authd", "smtp-notifier"]; call = ["bus.*"]; publish = ["*"]; subscribe = []; };'
W="$T_DIR/dbus"; mkdir -p "$W"
bg dbus dbus-daemon --session --address="unix:path=$W/bus" --nofork
wait_for 5 test -S "$W/bus" || { nok "private D-Bus starts"; exit 0; }
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$W/bus"
LOG="$W/calls.log"
bg sdmock /usr/bin/python3 -m dbusmock --system -l "$LOG" org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager
wait_for 5 dbus-send --system --print-reply --dest=org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.DBus.Peer.Ping || { nok "systemd stand-in starts"; exit 0; }
add() { dbus-send --system --print-reply --dest=org.freedesktop.systemd1 /org/freedesktop/systemd1 \
        org.freedesktop.DBus.Mock.AddMethod string:org.freedesktop.systemd1.Manager "string:$1" "string:$2" "string:$3" "string:$4" >/dev/null; }
add StopUnit ss o "ret = '/org/freedesktop/systemd1/job/1'
if args[0] == 'iscsid.service': raise dbus.exceptions.DBusException('stop refused by the test', name='org.freedesktop.DBus.Error.AccessDenied')"
add StartUnit ss o "ret = '/org/freedesktop/systemd1/job/2'"
add MaskUnitFiles asbb 'a(sss)' "ret = dbus.Array([], signature='(sss)')"
add UnmaskUnitFiles asb 'a(sss)' "ret = dbus.Array([], signature='(sss)')"
add Reload '' '' ''

FL="$DEVSEC_STATEDIR/functions/disabled"
# flagged on the system before netcfgd starts, enabled in the table (factory on)
mkdir -p "$FL"; echo test > "$FL/avahi-daemon.service"
stack_busd
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/none.conf"
bg smtp env TESTSVC_NAME=smtp-notifier "$B/tests/testsvc" --identity testsvc -c "$T_DIR/none.conf"
bg netcfgd "$B/netcfgd" --svcmgr=systemd
svc_up authd && svc_up smtp-notifier && svc_up netcfgd || { nok "stack comes up"; exit 0; }
export DEVSEC_TOKEN=tok:admin:admin:system,network,security,system-info,backup
SM="$DEVSEC_RUNDIR/svcmgr"
# the calls since the last mark (the stand-in keeps its log open: never truncate it)
MARK=0
mark() { MARK=$(wc -l < "$LOG"); }
since() { tail -n +$((MARK + 1)) "$LOG"; }
# the calls for one unit since the mark, in order, as "Method" words
calls() { since | grep -F "\"$1\"" | awk '{print $2}' | tr '\n' ' '; }
methods() { since | awk '{print $2}' | tr '\n' ' '; }

check_out "function list names the systemd backend" 'backend: +systemd' dc function list
check_out "an unknown --svcmgr value is refused at start-up" "unknown option '--svcmgr=upstart'" "$B/netcfgd" --svcmgr=upstart --statedir "$T_DIR/x"
wait_for 5 grep -q 'StopUnit "ssh.service"' "$LOG"
check_out "start-up stops a factory-off unit (ssh)" '^StopUnit $' calls ssh.service
check "and flags it: ssh.service in the flag directory" test -f "$FL/ssh.service"
check_out "the flag directory and its files are 0755/0644" '^755 644$' sh -c "echo \$(stat -c %a '$FL') \$(stat -c %a '$FL/ssh.service')"
check_out "a unit flagged on the system is reported disabled (bonjour)" 'bonjour +no +yes' dc function list
check_out "and stopped, not started" '^StopUnit $' calls avahi-daemon.service
if grep 'StartUnit' "$LOG" | grep -vq '"devsec-'; then nok "start-up starts no unit of the system (enabled ones are left as the system has them)"
else ok "start-up starts no unit of the system (enabled ones are left as the system has them)"; fi
if ls "$SM" 2>/dev/null | grep -q masked; then nok "the systemd backend writes no dev-backend files"; else ok "the systemd backend writes no dev-backend files"; fi

mark
check_out "function enable ssh" 'enabled: +yes' dc function enable ssh
check_out "enable: StartUnit only" '^StartUnit $' calls ssh.service
check "the flag is removed" test ! -e "$FL/ssh.service"
check_out "StartUnit with mode replace" 'StartUnit "ssh.service" "replace"' since
mark
check_out "function disable ssh" 'enabled: +no' dc function disable ssh
check_out "disable: StopUnit only" '^StopUnit $' calls ssh.service
check "the flag is back" test -f "$FL/ssh.service"

# systemd refuses: the function stays as it was
check_out "function enable iscsi" 'enabled: +yes' dc function enable iscsi
check "iscsi has no flag" test ! -e "$FL/iscsid.service"
check_out "a refused stop fails the call" "EINTERNAL: cannot disable 'iscsi': systemd refused the change" dc function disable iscsi
check_rc "and exits 1" 1 dc function disable iscsi
check_out "iscsi is still enabled" 'iscsi +yes +no +unit' dc function list
check "and its flag is not left behind" test ! -e "$FL/iscsid.service"

# a devsec daemon: its unit, and the bus
mark
check_out "function disable smtp" 'enabled: +no' dc function disable smtp
check_out "the daemon's unit is devsec-smtp-notifier.service" '^StopUnit $' calls devsec-smtp-notifier.service
check "flagged as devsec-smtp-notifier.service" test -f "$FL/devsec-smtp-notifier.service"
check_out "and the bus answers EDISABLED" 'EDISABLED' dc call smtp-notifier test.echo
check_out "function enable smtp" 'enabled: +yes' dc function enable smtp
check_out "its unit is started again" 'StartUnit "devsec-smtp-notifier.service"' since
check_out "and the bus routes again" 'text: +up' dc call smtp-notifier test.echo text=up

# factory reset under systemd: a unit the operator turned off comes back
dc function disable bonjour >/dev/null
mark
check_out "config reset" 'settings' dc config reset netcfgd
wait_for 5 sh -c "tail -n +$((MARK + 1)) '$LOG' | grep -q 'StartUnit \"avahi-daemon.service\"'"
check_out "reset starts bonjour's unit again" '^StartUnit $' calls avahi-daemon.service
check "and removes its flag" test ! -e "$FL/avahi-daemon.service"
check_out "reset stops ssh again" 'StopUnit' calls ssh.service
check_out "bonjour is on after the reset" 'bonjour +yes +yes' dc function list

# netcfgd never asked systemd for a unit-file change or a reload
if grep -Eq 'MaskUnitFiles|UnmaskUnitFiles|LinkUnitFiles|EnableUnitFiles|DisableUnitFiles| Reload' "$LOG"; then
        nok "no unit-file call and no daemon reload at all"; grep -E 'UnitFiles| Reload' "$LOG" | sed 's/^/#   /'
else ok "no unit-file call and no daemon reload at all"; fi
