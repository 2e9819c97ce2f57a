#!/bin/bash
# netcfgd's integrator hooks through the dev service-manager backend: a
# function devsec has no backend for (av_encryption, onvif, p2p, ...) names a
# hook unit. Not installed: "none (integrator)", its audit items n/a with that
# reason, never a pass. Installed (<rundir>/svcmgr/<name>.unit, run by a
# stand-in runner that starts a TLS listener, the media stack's RTSPS, while
# the unit is not masked and records its pid): switching the function starts
# and stops it, function list shows the unit and its real state, and
# net.av-encryption passes only while the function is on and the unit active.
source "$(dirname "$0")/../lib/tap.sh"
have openssl || { skip "netcfgd hooks" "openssl not installed"; exit 0; }
netcfgd_stack || { nok "stack comes up"; exit 0; }
export DEVSEC_TOKEN=tok:admin:admin:system,network,security,system-info,backup
SM="$DEVSEC_RUNDIR/svcmgr"
AV=devsec-hook-av-crypt
W="$T_DIR/w"; mkdir -p "$W"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=rtsps" \
        -keyout "$W/k.pem" -out "$W/c.pem" 2>/dev/null
PORT=$((20000 + $$ % 20000))
rtsps_up() { timeout 5 openssl s_client -connect "127.0.0.1:$PORT" </dev/null >/dev/null 2>&1; }
# the integrator's unit as the dev backend sees it: running while not masked
runner() {
        local u=$1 p=""
        trap '[ -n "$p" ] && kill $p 2>/dev/null; rm -f "$SM/$u.pid"; exit 0' TERM
        while :; do
                if [ -e "$SM/$u.masked" ]; then
                        [ -n "$p" ] && { kill $p 2>/dev/null; wait $p 2>/dev/null; p=""; rm -f "$SM/$u.pid"; }
                elif [ -z "$p" ] || ! kill -0 $p 2>/dev/null; then
                        openssl s_server -accept "127.0.0.1:$PORT" -cert "$W/c.pem" -key "$W/k.pem" -quiet </dev/null >/dev/null 2>&1 &
                        p=$!; echo $p > "$SM/$u.pid"
                fi
                sleep 0.1
        done
}
audit() { dc call netcfgd audit.report level="$1"; }

# no hook installed: a switch nothing obeys
check_out "av_encryption ships off, a flag nothing obeys" 'av_encryption +no +no +flag +none \(integrator\) +0 ' dc function list
check_out "function list names its hook unit" "\"name\":\"av_encryption\"[^}]*\"hook_unit\":\"$AV.service\"" dc --json function list
check_out "onvif: none (integrator), hook devsec-hook-onvif.service" '"name":"onvif"[^}]*"backend":"none \(integrator\)","hook_unit":"devsec-hook-onvif.service"' \
        dc --json function list
check_out "net.av-encryption is n/a without the hook, naming it" \
        "net.av-encryption .*n/a .*integrator hook '$AV.service' not installed" audit 1
check_out "enabling av_encryption without the hook changes the switch only" 'enabled: +yes' dc function enable av_encryption
check "and writes nothing for the service manager" test ! -e "$SM/$AV.masked"
check_out "still n/a with the switch on: nothing encrypts, never a pass" "net.av-encryption .*n/a" audit 1
check_out "net.functions.3 does not count onvif (its hook is not installed) as off: named as nothing obeys it" \
        'net.functions.3 .*fail .*nothing obeys: onvif' audit 3
check_out "net.functions.2 names the functions whose hooks are not installed" \
        'net.functions.2 .*nothing obeys: multicast, register, nas, alarm_centre, gb28181 ' audit 2
dc function disable bonjour >/dev/null
check_out "net.functions.1 with bonjour off: n/a for p2p (no hook), never a pass" \
        'net.functions.1 .*n/a .*nothing on this device obeys p2p \(no integrator hook' audit 1
dc function disable av_encryption >/dev/null

# the hook installed: the function is unit-backed
bg runner runner "$AV"
touch "$SM/$AV.unit"
check_until "installed: av_encryption is backed by its unit" 5 "av_encryption +no +no +unit +$AV.service " dc function list
check_until "the function's off state is enforced: the unit is masked and stops" 5 '"name":"av_encryption"[^}]*"state":"inactive"' \
        dc --json function list
check "its mask file is written" test -e "$SM/$AV.masked"
check "the RTSPS listener is down" sh -c "! timeout 5 openssl s_client -connect 127.0.0.1:$PORT </dev/null >/dev/null 2>&1"
check_out "net.av-encryption fails while the function is off" 'net.av-encryption .*fail .*off: audio and video leave the device unencrypted' audit 1
check_out "harden level 1 applies it" 'net.av-encryption .*applied' dc harden --level 1
check_until "the unit runs: state active" 5 '"name":"av_encryption"[^}]*"enabled":true[^}]*"state":"active"' dc --json function list
check "the mask file is gone" test ! -e "$SM/$AV.masked"
check "the RTSPS listener answers" wait_for 5 rtsps_up
check_out "net.av-encryption passes: on and its unit active" "net.av-encryption .*pass .*'$AV.service' is active" audit 1
check_out "devctl audit shows the pass" 'net.av-encryption .*pass' dc audit --level 1
check_out "function disable av_encryption" 'enabled: +no' dc function disable av_encryption
check_until "disabling stops the unit" 5 '"name":"av_encryption"[^}]*"state":"inactive"' dc --json function list
check "the RTSPS listener is down again" sh -c "! timeout 5 openssl s_client -connect 127.0.0.1:$PORT </dev/null >/dev/null 2>&1"
check_out "function enable av_encryption" 'enabled: +yes' dc function enable av_encryption
check_until "enabling starts it again" 5 '"name":"av_encryption"[^}]*"state":"active"' dc --json function list
check "the RTSPS listener answers again" wait_for 5 rtsps_up

# the unit dies while the function is on: reported, and the audit fails
kill "$LAST_PID"; wait "$LAST_PID" 2>/dev/null
check_until "a unit that stopped by itself is reported inactive" 5 '"name":"av_encryption"[^}]*"enabled":true[^}]*"state":"inactive"' \
        dc --json function list
check_out "net.av-encryption fails: on, but the unit is inactive" "net.av-encryption .*fail .*on, but '$AV.service' is inactive" audit 1

# the hook removed: back to a switch nothing obeys
rm -f "$SM/$AV.unit"
check_until "uninstalled: none (integrator) again" 5 'av_encryption +yes +no +flag +none \(integrator\)' dc function list
check_out "and n/a again" "net.av-encryption .*n/a" audit 1

# onvif (factory on, off at level 3): with its hook installed, the audit counts it and harden stops it
touch "$SM/devsec-hook-onvif.unit"
check_until "onvif's hook installed: backed by its unit" 5 'onvif +yes +yes +unit +devsec-hook-onvif.service ' dc function list
check_out "net.functions.3 now fails naming onvif" 'net.functions.3 .*fail .*still enabled: .*onvif' audit 3
check_out "harden level 3 turns it off" 'net.functions.3 .*applied' dc harden --level 3
check_until "onvif is off" 5 'onvif +no +yes +unit' dc function list
check "and its unit is masked" test -e "$SM/devsec-hook-onvif.masked"

# a restart keeps both and re-reads the installed hooks at once
kill $NPID; wait $NPID 2>/dev/null
bg netcfgd2 "$B/netcfgd" --dry-run
svc_up netcfgd
check_out "after a restart: onvif still off and unit-backed" 'onvif +no +yes +unit +devsec-hook-onvif.service' dc function list
check_out "after a restart: av_encryption on, nothing obeys it" 'av_encryption +yes +no +flag +none \(integrator\)' dc function list
check_out "the hook changes are security records" "hook unit 'devsec-hook-onvif.service' is installed" cat "$T_DIR/log/netcfgd.log"
