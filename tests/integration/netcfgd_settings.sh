#!/bin/bash
# netcfgd secure settings: HTTPS switches and audit, Wi-Fi AP, 802.1X (with
# real certificate files), multicast, DDNS refusals naming the setting; secrets
# never returned; export/import of the function state; -n and a refused
# configuration at start-up.
source "$(dirname "$0")/../lib/tap.sh"
netcfgd_stack || { nok "stack comes up"; exit 0; }
export DEVSEC_TOKEN=tok:admin:admin:system,network,security,system-info,backup
W="$T_DIR/w"; mkdir -p "$W"

check_out "-n accepts the shipped configuration" 'configuration OK' "$B/netcfgd" -n -c "$ROOT_DIR/etc/devsec/netcfgd.conf"
printf 'http_port = 443;\n' > "$W/bad.conf"
check_out "a port conflict in the file is refused at start-up" 'settings refused: tcp port 443 is already used by http' \
        "$B/netcfgd" --dry-run -c "$W/bad.conf" --statedir "$W/st"
printf 'tcp_port = 80;\n' > "$W/bad2.conf"
check_out "-n names the line of an out-of-range port" 'bad2.conf:1: .tcp_port. must be between 1025 and 65535' "$B/netcfgd" -n -c "$W/bad2.conf"

# HTTPS
check_out "https disable" 'enabled: +no' dc https disable
check_out "audit level 1 fails net.https.enabled" 'net.https.enabled .*fail' dc call netcfgd audit.report level=1
check_out "https enable" 'enabled: +yes' dc https enable
check_out "audit level 1 passes net.https.enabled" 'net.https.enabled .*pass' dc call netcfgd audit.report level=1
check_out "tls_min must be 1.2 or 1.3" 'EINVAL: tls_min: ' dc https set tls_min=1.1
check_out "tls_min 1.3 accepted" 'tls_min: +1.3' dc https set tls_min=1.3
check_out "audit level 3 passes net.tls13" 'net.tls13 .*pass' dc call netcfgd audit.report level=3

# Wi-Fi AP
check_out "WEP refused at level 1" 'EINVAL: settings.wifi_ap_security: .WEP. is refused' dc config set netcfgd wifi_ap_security=WEP
check_out "WPS refused at level 1" 'EINVAL: settings.wifi_ap_wps' dc config set netcfgd wifi_ap_wps=true
check_out "an SSID needs a passphrase" 'EINVAL: settings.wifi_ap_passphrase: the access point needs a passphrase' dc config set netcfgd wifi_ap_ssid=cam-ap
check_out "a weak Wi-Fi passphrase is refused" 'EINVAL: settings.wifi_ap_passphrase: must mix' dc config set netcfgd wifi_ap_ssid=cam-ap wifi_ap_passphrase=aaaaaaaaaa
check_out "WPA3 with a good passphrase is accepted" 'wifi_ap_security: +WPA3-SAE' dc config set netcfgd wifi_ap_ssid=cam-ap wifi_ap_security=WPA3-SAE wifi_ap_passphrase=Wq7-Lhz9-Tr
if dc --json config get netcfgd | grep -q Wq7-Lhz9-Tr; then nok "the Wi-Fi passphrase is never returned"; else ok "the Wi-Fi passphrase is never returned"; fi

# 802.1X with real files
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=radius CA" -keyout "$W/ca.key" -out "$W/ca.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=cam1" -keyout "$W/cl.key" -out "$W/cl.pem" 2>/dev/null
check_out "EAP-MD5 refused at level 1" 'EINVAL: settings.dot1x_eap' dc config set netcfgd dot1x_eap=EAP-MD5
check_out "a missing CA file is refused naming dot1x_ca_cert" "EINVAL: settings.dot1x_ca_cert: cannot read '/nonexistent/ca.pem'" \
        dc config set netcfgd dot1x_identity=cam1 dot1x_ca_cert=/nonexistent/ca.pem
check_out "a relative path is refused by the schema" 'EINVAL: settings.dot1x_ca_cert' dc config set netcfgd dot1x_identity=cam1 dot1x_ca_cert=ca.pem
check_out "EAP-TLS needs the client certificate" 'EINVAL: settings.dot1x_client_cert: needed' dc config set netcfgd dot1x_identity=cam1 dot1x_ca_cert="$W/ca.pem"
check_out "a key given as the client certificate is refused" 'EINVAL: settings.dot1x_client_cert: .* is not a PEM certificate' \
        dc config set netcfgd dot1x_identity=cam1 dot1x_ca_cert="$W/ca.pem" dot1x_client_cert="$W/cl.key" dot1x_client_key="$W/cl.key"
check_out "a certificate given as the key is refused" 'EINVAL: settings.dot1x_client_key: .* is not a PEM private key' \
        dc config set netcfgd dot1x_identity=cam1 dot1x_ca_cert="$W/ca.pem" dot1x_client_cert="$W/cl.pem" dot1x_client_key="$W/cl.pem"
check_out "EAP-TLS with readable PEM files is accepted" 'dot1x_identity: +cam1' \
        dc config set netcfgd dot1x_identity=cam1 dot1x_ca_cert="$W/ca.pem" dot1x_client_cert="$W/cl.pem" dot1x_client_key="$W/cl.key"
check_out "PEAP needs a password" 'EINVAL: settings.dot1x_password' dc config set netcfgd dot1x_eap=PEAP

# multicast, DDNS
check_out "a unicast multicast address is refused" 'EINVAL: settings.multicast_address: .10.0.0.1. is not a multicast group' dc config set netcfgd multicast_address=10.0.0.1
check_out "a group is accepted" 'multicast_address: +239.1.2.3' dc config set netcfgd multicast_address=239.1.2.3
check_out "multicast TTL range" 'EINVAL: settings.multicast_ttl: ' dc config set netcfgd multicast_ttl=0
check_out "DDNS over plain HTTP is refused at level 1" 'EINVAL: settings.ddns_https' \
        dc config set netcfgd ddns_provider=dyndns ddns_host=cam.example.net ddns_user=u ddns_password=Ddns-2024x ddns_https=false
check_out "DDNS needs an account" 'EINVAL: settings.ddns_user' dc config set netcfgd ddns_provider=dyndns ddns_host=cam.example.net
check_out "a complete DDNS setting is accepted" 'ddns_provider: +dyndns' \
        dc config set netcfgd ddns_provider=dyndns ddns_host=cam.example.net ddns_user=u ddns_password=Ddns-2024x
if dc config export netcfgd | grep -q 'Ddns-2024x'; then nok "config export leaves the DDNS password out"; else ok "config export leaves the DDNS password out"; fi

# export / import carries the function state
dc function disable p2p >/dev/null
dc config export netcfgd > "$W/export.json"
check_out "the export carries the function state" '"p2p":false' cat "$W/export.json"
dc function enable p2p >/dev/null
check_out "import restores it" 'imported: +yes' dc config import netcfgd "$W/export.json"
check_out "p2p is off again after the import" 'p2p +no +yes +flag' dc function list
