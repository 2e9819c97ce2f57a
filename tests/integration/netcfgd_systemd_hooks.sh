#!/bin/bash
# Integrator hooks under netcfgd's systemd backend, against a stand-in for
# org.freedesktop.systemd1 (python3-dbusmock) that keeps each unit's load and
# active state in a file: ListUnitsByNames reports them, StartUnit and
# StopUnit change them. A hook unit that systemd does not know leaves its
# function a flag nothing obeys (no call for it); once systemd loads it, the
# function is switched with it, function list shows systemd's ActiveState and
# net.av-encryption follows.
source "$(dirname "$0")/../lib/tap.sh"
have dbus-daemon && /usr/bin/python3 -c 'import dbusmock' 2>/dev/null || { skip "netcfgd hooks under systemd" "dbus-daemon or python3-dbusmock not installed"; exit 0; }
stack_init netcfgd testsvc
stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = ["*"]; subscribe = []; };'
W="$T_DIR/dbus"; U="$T_DIR/units"; mkdir -p "$W" "$U"
bg dbus dbus-daemon --session --address="unix:path=$W/bus" --nofork
wait_for 5 test -S "$W/bus" || { nok "private D-Bus starts"; exit 0; }
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$W/bus"
LOG="$W/calls.log"
bg sdmock /usr/bin/python3 -m dbusmock --system -l "$LOG" org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager
wait_for 5 dbus-send --system --print-reply --dest=org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.DBus.Peer.Ping || { nok "systemd stand-in starts"; exit 0; }
add() { dbus-send --system --print-reply --dest=org.freedesktop.systemd1 /org/freedesktop/systemd1 \
        org.freedesktop.DBus.Mock.AddMethod string:org.freedesktop.systemd1.Manager "string:$1" "string:$2" "string:$3" "string:$4" >/dev/null; }
# a unit is installed when $U/<unit> exists; its content is its ActiveState
add ListUnitsByNames as 'a(ssssssouso)' "import os
ret = []
for n in args[0]:
    p = os.path.join('$U', n)
    st = open(p).read().strip() if os.path.exists(p) else ''
    ret.append((n, '', 'loaded' if st else 'not-found', st or 'inactive', 'dead', '', '/org/freedesktop/systemd1/unit/x', dbus.UInt32(0), '', '/'))"
add StartUnit ss o "import os
p = os.path.join('$U', args[0])
if os.path.exists(p): open(p, 'w').write('active')
ret = '/org/freedesktop/systemd1/job/2'"
add StopUnit ss o "import os
p = os.path.join('$U', args[0])
if os.path.exists(p): open(p, 'w').write('inactive')
ret = '/org/freedesktop/systemd1/job/1'"
FL="$DEVSEC_STATEDIR/functions/disabled"
AV=devsec-hook-av-crypt.service
stack_busd
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/none.conf"
bg netcfgd "$B/netcfgd" --svcmgr=systemd
svc_up authd && svc_up netcfgd || { nok "stack comes up"; exit 0; }
export DEVSEC_TOKEN=tok:admin:admin:system,network,security,system-info,backup
audit() { dc call netcfgd audit.report level="$1"; }

check "netcfgd asks systemd for the state of the table's units" wait_for 5 grep -q 'ListUnitsByNames' "$LOG"
check_out "it asks for the hook units too" "ListUnitsByNames .*$AV" grep -m1 ListUnitsByNames "$LOG"
check_until "before its unit is installed: av_encryption is a flag nothing obeys" 5 \
        'av_encryption +no +no +flag +none \(integrator\)' dc function list
check_out "net.av-encryption n/a" 'net.av-encryption .*n/a .*not installed' audit 1
check_out "enabling it without the unit calls nothing" 'enabled: +yes' dc function enable av_encryption
if grep -E 'StartUnit|StopUnit' "$LOG" | grep -q "$AV"; then nok "no StartUnit/StopUnit for a hook systemd does not know"
else ok "no StartUnit/StopUnit for a hook systemd does not know"; fi

# the integrator installs the unit (not running yet)
echo inactive > "$U/$AV"
check "netcfgd starts the hook unit of a function that is on" wait_for 5 grep -q "StartUnit \"$AV\"" "$LOG"
check_until "function list: backed by the unit, systemd's state active" 5 \
        "\"name\":\"av_encryption\"[^}]*\"kind\":\"unit\",\"backend\":\"$AV\"[^}]*\"state\":\"active\"" dc --json function list
check_out "net.av-encryption passes" "net.av-encryption .*pass .*'$AV' is active" audit 1
check_out "function disable av_encryption" 'enabled: +no' dc function disable av_encryption
check "StopUnit for it" grep -q "StopUnit \"$AV\"" "$LOG"
check "and its flag is written (its drop-in keeps it from starting)" test -f "$FL/$AV"
check_until "state inactive" 5 '"name":"av_encryption"[^}]*"state":"inactive"' dc --json function list
check_out "net.av-encryption fails while off" 'net.av-encryption .*fail .*off' audit 1
dc function enable av_encryption >/dev/null
echo failed > "$U/$AV"
check_until "a unit systemd reports failed is shown failed" 5 '"name":"av_encryption"[^}]*"enabled":true[^}]*"state":"failed"' \
        dc --json function list
check_out "and the audit fails, naming the state" "net.av-encryption .*fail .*on, but '$AV' is failed" audit 1
rm -f "$U/$AV"
check_until "systemd no longer knows it: none (integrator) again" 5 'av_encryption +yes +no +flag +none \(integrator\)' dc function list
# flagged on the system while nothing obeyed the switch: it appears off, as at start-up
echo test > "$FL/$AV"; echo active > "$U/$AV"
check_until "a hook unit that appears flagged is recorded off, as at start-up" 5 "av_encryption +no +no +unit +$AV" dc function list
check_until "and stopped" 5 '"name":"av_encryption"[^}]*"state":"inactive"' dc --json function list
if tail -n 20 "$LOG" | grep -E 'StartUnit|StopUnit' | grep "$AV" | tail -1 | grep -q StopUnit; then ok "its last call was StopUnit"
else nok "its last call was StopUnit"; fi
if grep -Eq 'MaskUnitFiles|UnmaskUnitFiles|LinkUnitFiles|EnableUnitFiles|DisableUnitFiles| Reload' "$LOG"; then
        nok "no unit-file call and no daemon reload"; else ok "no unit-file call and no daemon reload"; fi
