#!/bin/bash
# netcfgd functions: the table, enable/disable through the dev service-manager
# backend (<rundir>/svcmgr/<name>.masked), EDISABLED from the bus for a devsec
# daemon's function, persistence across restarts, audit/harden, factory reset.
source "$(dirname "$0")/../lib/tap.sh"
stack_init netcfgd testsvc
# the shipped table has smtp off (factory default); these scenarios drive a
# daemon-backed function that starts on, so the copy under test turns it on
sed -i '/name = "smtp"/s/factory_default = false/factory_default = true/' "$T_DIR/etc/functions.conf"
stack_acl testsvc 'testsvc = { serve = ["authd", "smtp-notifier"]; call = ["bus.*"]; publish = ["*"]; subscribe = []; };'
stack_busd
NONE="$T_DIR/none.conf"
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$NONE"
bg smtp env TESTSVC_NAME=smtp-notifier "$B/tests/testsvc" --identity testsvc -c "$NONE"
bg netcfgd "$B/netcfgd" --dry-run; NPID=$LAST_PID
svc_up authd && svc_up smtp-notifier && svc_up netcfgd || { nok "stack comes up"; exit 0; }
export DEVSEC_TOKEN=tok:admin:admin:system,network,security,system-info,backup
SM="$DEVSEC_RUNDIR/svcmgr"

n=$(dc --json function list | grep -o '"name":' | wc -l)
if [ "$n" = 29 ]; then ok "function list has 29 functions (the 27 of the issue, https and av_encryption)"; else nok "function list has 29 functions (got $n)"; fi
check_out "the list names the backend" 'backend: +dev' dc function list
check_out "ssh: off by default, backed by ssh.service, off at level 1" 'ssh +no +no +unit +ssh.service +1 ' dc function list
check_out "smtp: backed by the smtp-notifier daemon" 'smtp +yes +yes +daemon +smtp-notifier' dc function list
check_out "each function carries a risk note" '"risk":"a shell on the device' dc --json function list
check "dev backend: a factory-off unit is recorded masked at start (ssh.masked)" test -f "$SM/ssh.masked"
check "dev backend: upnp's unit is recorded masked (miniupnpd.masked)" test -f "$SM/miniupnpd.masked"
check "dev backend: an enabled daemon has no mask file" test ! -e "$SM/smtp-notifier.masked"
check "nothing is recorded for flag functions (p2p)" test ! -e "$SM/p2p.masked"

check_out "unknown function is ENOENT naming name" 'ENOENT: name: no function .telnet.' dc function disable telnet
check_out "a malformed name is EINVAL naming name" 'EINVAL: name: ' dc function disable '../x'
check_rc "without a session the change is refused (exit 3)" 3 env -u DEVSEC_TOKEN "$B/devctl" function disable ssh

# a devsec daemon: disabling it makes the bus answer EDISABLED at once
check_out "smtp-notifier answers before" 'text: +hi' dc call smtp-notifier test.echo text=hi
listen_bg "$T_DIR/ev.txt" -- net.function --count=1
check_out "function disable smtp answers with the new state" 'enabled: +no' dc function disable smtp
check_out "the bus answers EDISABLED for smtp-notifier" 'EDISABLED' dc call smtp-notifier test.echo text=hi
check_out "audit: its items are n/a while its function is off, not failed" 'smtp-notifier +smtp\.tls +1 +n/a' dc audit --level 1
check_rc "a disabled service exits 4" 4 dc call smtp-notifier test.echo
check_out "devctl status shows it disabled" 'smtp-notifier +disabled' dc status
check "dev backend wrote smtp-notifier.masked (devsec-run stops it)" test -f "$SM/smtp-notifier.masked"
wait_for 3 grep -q smtp "$T_DIR/ev.txt"
check_out "net.function.changed names function, state and user" '"name":"smtp","enabled":false,"user":"admin"' cat "$T_DIR/ev.txt"
check_out "disabling twice is harmless" 'enabled: +no' dc function disable smtp

# units: mask file only, nothing on the host
check_out "function enable ssh" 'enabled: +yes' dc function enable ssh
check "ssh.masked removed" test ! -e "$SM/ssh.masked"
dc function disable ssh >/dev/null
check "ssh.masked back after disable" test -f "$SM/ssh.masked"
check_out "a flag function changes state only" 'enabled: +no' dc function disable p2p
check "no svcmgr file for a flag" test ! -e "$SM/p2p.masked"

# restart: state survives, and is enforced again
kill $NPID; wait $NPID 2>/dev/null
rm -f "$SM/smtp-notifier.masked"
bg netcfgd2 "$B/netcfgd" --dry-run; NPID=$LAST_PID
sleep 0.3; svc_up netcfgd
check_out "smtp stays disabled after a restart" 'smtp +no +yes +daemon' dc function list
check_out "p2p stays disabled after a restart" 'p2p +no +yes +flag' dc function list
check "the restart re-enforces the mask file" wait_for 3 test -f "$SM/smtp-notifier.masked"
check_out "still EDISABLED after the restart" 'EDISABLED' dc call smtp-notifier test.echo

# enable again: the bus routes once more
check_out "function enable smtp" 'enabled: +yes' dc function enable smtp
check_out "smtp-notifier answers again" 'text: +back' dc call smtp-notifier test.echo text=back
check "smtp-notifier.masked removed" test ! -e "$SM/smtp-notifier.masked"

# audit and harden: level 1 wants bonjour off (p2p is off already)
check_out "audit level 1 names the risky function still on" 'net.functions.1 .*fail' dc call netcfgd audit.report level=1
check_out "the detail lists bonjour" 'still enabled: bonjour' dc call netcfgd audit.report level=1
check_out "harden level 1 applies it" 'net.functions.1 .*applied' dc harden --level 1
check "bonjour's unit is masked by the harden" wait_for 3 test -f "$SM/avahi-daemon.masked"
check_out "audit level 1 has no backed function on afterwards, and never passes a switch nothing obeys" \
        'net.functions.1 .*n/a .*nothing on this device obeys p2p ' dc call netcfgd audit.report level=1
check_out "p2p: nothing obeys it here" 'p2p .* none \(integrator\)' dc function list
check_out "cgi: webd obeys it" 'cgi .* webd: no CGI is served' dc function list

# factory reset restores the defaults
dc function disable smtp >/dev/null
dc function enable ssh >/dev/null
check_out "config reset" 'settings' dc config reset netcfgd
check_out "after reset: smtp back on" 'smtp +yes +yes' dc function list
check_out "after reset: ssh back off" 'ssh +no +no' dc function list
check_out "after reset: bonjour back on" 'bonjour +yes +yes' dc function list
check "after reset: ssh.masked again" wait_for 3 test -f "$SM/ssh.masked"
check "after reset: avahi-daemon unmasked" wait_for 3 test ! -e "$SM/avahi-daemon.masked"
check_out "after reset: smtp-notifier answers" 'text: +reset' dc call smtp-notifier test.echo text=reset

# config.import checks the function state as function.enable/disable check a name
dc config export netcfgd > "$T_DIR/n.json"
sed 's/"functions":{/"functions":{"telnet":true,/' "$T_DIR/n.json" > "$T_DIR/n-bad.json"
check_out "import of an unknown function is refused, field named" "EINVAL: state.functions.telnet: no function 'telnet'" \
        dc config import netcfgd "$T_DIR/n-bad.json"
sed 's/"ssh":false/"ssh":"maybe"/' "$T_DIR/n.json" > "$T_DIR/n-bad2.json"
check_out "import of a non-boolean state is refused, field named" 'EINVAL: state.functions.ssh: must be true or false' \
        dc config import netcfgd "$T_DIR/n-bad2.json"
check_out "the refused imports changed nothing" 'ssh +no +no' dc function list
sed 's/"ssh":false/"ssh":true/' "$T_DIR/n.json" > "$T_DIR/n-ssh.json"
check_rc "import turning ssh on" 0 dc config import netcfgd "$T_DIR/n-ssh.json"
check "the import goes through the service manager (ssh.masked removed)" wait_for 3 test ! -e "$SM/ssh.masked"
check_out "and is recorded once done" 'ssh +yes +no' dc function list
