#!/bin/bash
# netcfgd ports: show, set, range and conflict errors named by field (TCP and
# UDP apart), max connections, net.ports.changed with the full table, the
# level-2 audit of well-known defaults, persistence across a restart.
source "$(dirname "$0")/../lib/tap.sh"
netcfgd_stack || { nok "netcfgd comes up"; exit 0; }
export DEVSEC_TOKEN=tok:admin:admin:system,network,security,system-info,backup

check_out "port show lists the SDK TCP port with its default" 'tcp +tcp +37777 +37777 +1025-65535' dc port show
check_out "port show lists SNMP as UDP" 'snmp +udp +161' dc port show
check_out "port show has max_connections, 128 by default as in Dahua's port table" 'max_connections: +128' dc port show

# ranges: each error names the field
check_out "tcp below 1025 is refused naming tcp" 'EINVAL: tcp: must be between 1025 and 65535' dc port set tcp=1024
check_out "http 0 is refused naming http" 'EINVAL: http: must be between 1 and 65535' dc port set http=0
check_out "http 65536 is refused naming http" 'EINVAL: http: ' dc port set http=65536
check_out "max_connections 129 is refused by name" 'EINVAL: max_connections: must be between 0 and 128' dc port set max_connections=129
check_out "an unknown port name is refused by name" 'EINVAL: telnet: unknown argument' dc port set telnet=23
check_rc "a refused change exits 1" 1 dc port set http=0

# conflicts: same protocol only
check_out "two TCP services on one port: the new one is named" 'EINVAL: http: tcp port 443 is already used by https' dc port set http=443
check_out "conflict with the RTSP port names the field set" 'EINVAL: onvif: tcp port 554 is already used by rtsp' dc port set onvif=554
check_out "UDP against UDP conflicts" 'EINVAL: snmp: udp port 37778 is already used by udp' dc port set snmp=37778
check_out "TCP and UDP may share a number" 'snmp +udp +37777' dc port set snmp=37777
check_out "config.set conflict is named as a setting" 'EINVAL: settings.https_port: tcp port 80' dc config set netcfgd https_port=80
check_out "nothing changed by refused calls" 'http +tcp +80 ' dc port show

# an accepted change is published with the full table
listen_bg "$T_DIR/ev.txt" -- net.ports --count=1
check_out "http=8080 swap and max_connections=32 accepted" 'http +tcp +8080' dc port set onvif=8081 http=8080 max_connections=32
wait_for 3 grep -q ports "$T_DIR/ev.txt"
ev=$(cat "$T_DIR/ev.txt")
if echo "$ev" | grep -q '"name":"http","proto":"tcp","port":8080' && echo "$ev" | grep -q '"max_connections":32' \
   && [ "$(echo "$ev" | grep -o '"proto"' | wc -l)" = 9 ]; then ok "net.ports.changed carries the full table ({name, proto, port} x9, max_connections)"
else nok "net.ports.changed carries the full table"; echo "#   got: $ev"; fi
check_out "the event shows the UDP proto" '"name":"snmp","proto":"udp","port":37777' cat "$T_DIR/ev.txt"

# audit: well-known defaults are reported at level 2, not level 1
check_out "audit level 2 reports well-known ports still in use" 'net.ports.custom.*fail' dc call netcfgd audit.report level=2
check_out "the detail names them" 'https=443' dc call netcfgd audit.report level=2
if dc call netcfgd audit.report level=1 | grep -q net.ports.custom; then nok "level 1 does not ask for custom ports"; else ok "level 1 does not ask for custom ports"; fi
dc port set tcp=40001 udp=40002 https=8443 rtsp=10554 pos=38801 ssh=2222 snmp=16161 >/dev/null
check_out "custom ports pass the audit" 'net.ports.custom.*pass' dc call netcfgd audit.report level=2

# restart: the table survives
kill $NPID; wait $NPID 2>/dev/null
bg netcfgd2 "$B/netcfgd" --dry-run; NPID=$LAST_PID
sleep 0.3; svc_up netcfgd
check_out "ports survive a restart" 'https +tcp +8443' dc port show
check_out "max_connections survives a restart" 'max_connections: +32' dc port show
check_out "config reset restores the defaults" 'https_port: +443' dc config reset netcfgd
check_out "port show after reset" 'https +tcp +443 ' dc port show

# malformed and unauthorized requests
check_out "a mistyped port is named" 'EINVAL: http: must be an integer' dc call netcfgd port.set http=abc
check_out "an empty port.set is refused" 'EINVAL: .*name at least one port' dc call netcfgd port.set
check_out "a viewer may read the ports" 'http +tcp' env DEVSEC_TOKEN=tok:bob:viewer:monitor,system-info "$B/devctl" port show
check_out "a viewer may not change them (EPERM)" "EPERM: user 'bob' lacks authority 'network'" env DEVSEC_TOKEN=tok:bob:viewer:monitor,system-info "$B/devctl" port set http=8081
check_rc "without a session port set exits 3" 3 env -u DEVSEC_TOKEN "$B/devctl" port set http=8081
