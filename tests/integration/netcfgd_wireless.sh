#!/bin/bash
# netcfgd renders the Wi-Fi AP and 802.1X settings into hostapd.conf and
# wpa_supplicant.conf (0600 in <statedir>/netcfgd/wifi/), and the programs'
# own parsers accept them: hostapd and wpa_supplicant have no check-only mode,
# so each runs on the file with an interface that does not exist and the test
# tells a parse error ("errors found in configuration file", "Failed to read
# or parse configuration") from the interface error that follows a good parse
# (a corrupted copy proves the check can fail). Audit items net.wifi.ap and
# net.dot1x; SNMP and Wi-Fi passphrases under authd's rules.
source "$(dirname "$0")/../lib/tap.sh"
have hostapd && have wpa_supplicant || { skip "netcfgd wireless rendering" "hostapd or wpasupplicant not installed"; exit 0; }
netcfgd_stack || { nok "stack comes up"; exit 0; }
export DEVSEC_TOKEN=tok:admin:admin:system,network,security,system-info,backup
WD="$DEVSEC_STATEDIR/netcfgd/wifi"; HC="$WD/hostapd.conf"; WC="$WD/wpa_supplicant.conf"
W="$T_DIR/w"; mkdir -p "$W"
PASS=Wq7-Lhz9-Tr
# hostapd parses the whole file before it touches the (absent) radio
hostapd_parses() {
        local out; out=$(timeout 10 hostapd "$1" 2>&1)
        printf '%s\n' "$out" > "$W/hostapd.out"
        ! grep -q 'errors found in configuration file' <<<"$out" && grep -q "Failed to initialize driver\|interface state UNINITIALIZED" <<<"$out"
}
wpas_parses() {
        local out; out=$(timeout 10 wpa_supplicant -dd -c "$1" -i devsecnone0 -D wired 2>&1)
        printf '%s\n' "$out" > "$W/wpas.out"
        ! grep -q 'Failed to read or parse configuration' <<<"$out" && grep -q 'Failed to initialize driver interface' <<<"$out"
}

check "nothing configured: no hostapd.conf" test ! -e "$HC"
check "nothing configured: no wpa_supplicant.conf" test ! -e "$WC"
check_out "net.wifi.ap is n/a while the AP hotspot is off" 'net.wifi.ap .*n/a .*AP hotspot function is off' \
        dc call netcfgd audit.report level=1

# the passphrase rules are authd's
check_out "a Wi-Fi passphrase containing the SSID is refused" \
        'EINVAL: settings.wifi_ap_passphrase: must not contain the user name or the user name reversed' \
        dc config set netcfgd wifi_ap_ssid=campus wifi_ap_passphrase=My-CAMPUS-9x
check_out "or its reverse" 'EINVAL: settings.wifi_ap_passphrase: must not contain the user name or the user name reversed' \
        dc config set netcfgd wifi_ap_ssid=campus wifi_ap_passphrase=Xsupmac-9q
check_out "a sequence is refused as for passwords" "EINVAL: settings.wifi_ap_passphrase: must not contain 3 or more consecutive" \
        dc config set netcfgd wifi_ap_ssid=campus wifi_ap_passphrase=Wq-abc-9x7
check_out "a passphrase of 64 characters is too long for WPA" 'EINVAL: settings.wifi_ap_passphrase: must be 8 to 63' \
        dc config set netcfgd wifi_ap_ssid=campus wifi_ap_passphrase="$(printf 'Wq7-%.0s' $(seq 16))"

# WPA2 access point
check_out "WPA2-PSK AP set" 'wifi_ap_ssid: +cam ap' dc config set netcfgd "wifi_ap_ssid=cam ap" wifi_ap_security=WPA2-PSK \
        wifi_ap_passphrase=$PASS wifi_ap_interface=devsecnone0
check "hostapd.conf is written" test -f "$HC"
check_out "hostapd.conf is 0600 in a 0700 directory" '^600 700$' sh -c "echo \$(stat -c %a '$HC') \$(stat -c %a '$WD')"
check_out "it names the interface, SSID, WPA2 and no WPS" 'interface=devsecnone0.*ssid=cam ap.*wpa=2.*wpa_key_mgmt=WPA-PSK.*wps_state=0' \
        sh -c "tr '\n' ' ' < '$HC'"
check "hostapd parses it" hostapd_parses "$HC"
cp "$HC" "$W/bad.conf"; echo 'wpa_passphrase=short' >> "$W/bad.conf"
check_out "hostapd refuses a corrupted copy (the check can fail)" 'Line [0-9]+: invalid WPA passphrase.*errors found in configuration file' \
        sh -c "timeout 10 hostapd '$W/bad.conf' 2>&1 | tr '\n' ' '"
if hostapd_parses "$W/bad.conf"; then nok "the parse check says no for it"; else ok "the parse check says no for it"; fi
check_out "net.wifi.ap still n/a: the function is off" 'net.wifi.ap .*n/a' dc call netcfgd audit.report level=1
dc function enable ap_hotspot >/dev/null
check_out "with ap_hotspot on, net.wifi.ap passes for WPA2 without WPS" 'net.wifi.ap .*pass .*WPA2-PSK, WPS off' \
        dc call netcfgd audit.report level=1
check_out "WPA3-SAE set" 'wifi_ap_security: +WPA3-SAE' dc config set netcfgd wifi_ap_security=WPA3-SAE
check_out "rendered as SAE with management frame protection required" 'wpa_key_mgmt=SAE ieee80211w=2' \
        sh -c "grep -E '^(wpa_key_mgmt|ieee80211w)=' '$HC' | tr '\n' ' '"
check "hostapd parses the WPA3 file" hostapd_parses "$HC"
check_out "WPA2-WPA3 set" 'wifi_ap_security: +WPA2-WPA3' dc config set netcfgd wifi_ap_security=WPA2-WPA3
check "hostapd parses the transition-mode file" hostapd_parses "$HC"
check_out "net.wifi.ap passes for WPA2-WPA3" 'net.wifi.ap .*pass' dc call netcfgd audit.report level=1
# at protection level 0 the weaker settings are accepted, and the audit says so
check_out "level 0 allows WPS" 'wifi_ap_wps: +yes' dc config set netcfgd protection_level=0 wifi_ap_wps=true
check "hostapd parses the WPS file" hostapd_parses "$HC"
check_out "net.wifi.ap fails with WPS on" 'net.wifi.ap .*fail .*WPS is on' dc call netcfgd audit.report level=1
check_out "an open AP at level 0" 'wifi_ap_security: +open' dc config set netcfgd wifi_ap_wps=false wifi_ap_security=open
check "hostapd parses the open file" hostapd_parses "$HC"
check_out "net.wifi.ap fails for an open AP" 'net.wifi.ap .*fail .*wifi_ap_security is open' dc call netcfgd audit.report level=1
dc config set netcfgd wifi_ap_security=WPA2-PSK protection_level=1 >/dev/null
check_out "clearing the SSID" 'wifi_ap_ssid: +-$' dc config set netcfgd wifi_ap_ssid=
check "removes hostapd.conf with its passphrase" test ! -e "$HC"

# 802.1X on the wired port
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=radius CA" -keyout "$W/ca.key" -out "$W/ca.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=cam1" -keyout "$W/cl.key" -out "$W/cl.pem" 2>/dev/null
check_out "net.dot1x fails while 802.1X is not configured" 'net.dot1x .*fail .*not configured' dc call netcfgd audit.report level=3
check_out "EAP-TLS set" 'dot1x_identity: +cam1' \
        dc config set netcfgd dot1x_identity=cam1 dot1x_ca_cert="$W/ca.pem" dot1x_client_cert="$W/cl.pem" dot1x_client_key="$W/cl.key"
check_out "wpa_supplicant.conf is 0600" '^600$' stat -c %a "$WC"
check "wpa_supplicant parses it" wpas_parses "$WC"
check_out "and read the identity, the CA and the client key" 'identity - hexdump_ascii\(len=4\).*cam1.*ca_cert.*private_key' \
        sh -c "tr '\n' ' ' < '$W/wpas.out'"
check_out "wpa_supplicant read EAP-TLS (method 13)" 'eap methods - hexdump\(len=16\): 00 00 00 00 0d 00' cat "$W/wpas.out"
cp "$WC" "$W/bad-wpas.conf"; sed -i 's/key_mgmt=IEEE8021X/key_mgmt=BOGUS/' "$W/bad-wpas.conf"
check_out "wpa_supplicant refuses a corrupted copy (the check can fail)" 'Failed to read or parse configuration' \
        timeout 10 wpa_supplicant -c "$W/bad-wpas.conf" -i devsecnone0 -D wired
if wpas_parses "$W/bad-wpas.conf"; then nok "the parse check says no for it"; else ok "the parse check says no for it"; fi
check_out "net.dot1x passes with EAP-TLS and a CA" 'net.dot1x .*pass .*EAP-TLS' dc call netcfgd audit.report level=3
check_out "PEAP with a password" 'dot1x_eap: +PEAP' dc config set netcfgd dot1x_eap=PEAP 'dot1x_identity=cam"1' dot1x_password='Rad#us pw"9'
check "wpa_supplicant parses the PEAP file" wpas_parses "$WC"
check_out "an identity with a quote reaches wpa_supplicant intact (hex)" '63 61 6d 22 31 +cam"1' cat "$W/wpas.out"
check_out "wpa_supplicant read PEAP (method 25) and MSCHAPv2 inside" 'eap methods - hexdump\(len=16\): 00 00 00 00 19 00.*auth=MSCHAPV2' \
        sh -c "tr '\n' ' ' < '$W/wpas.out'"
check_out "the password is there (wpa_supplicant hides its value)" 'password - hexdump_ascii\(len=11\)' cat "$W/wpas.out"
check_out "net.dot1x passes with PEAP and a CA" 'net.dot1x .*pass .*PEAP' dc call netcfgd audit.report level=3
check_out "EAP-MD5 at level 0" 'dot1x_eap: +EAP-MD5' dc config set netcfgd protection_level=0 dot1x_eap=EAP-MD5
check "wpa_supplicant parses the MD5 file" wpas_parses "$WC"
check_out "net.dot1x fails for EAP-MD5" 'net.dot1x .*fail .*EAP-MD5' dc call netcfgd audit.report level=3
dc config set netcfgd dot1x_eap=PEAP protection_level=1 >/dev/null
check_out "clearing the identity" 'dot1x_identity: +-$' dc config set netcfgd dot1x_identity=
check "removes wpa_supplicant.conf with its password" test ! -e "$WC"

# SNMP: authd's rules, no passphrase shared between read-only and read-write
check_out "an SNMP passphrase containing the user name reversed is refused" \
        'EINVAL: ro_auth_pass: must not contain the user name or the user name reversed' \
        sh -c "printf 'Xormac-29q\nOther-2024\n' | '$B/devctl' snmp set ro_user=camro ro_auth_pass=- ro_priv_pass=-"
check_out "a read-write passphrase equal to a read-only one is refused, naming it" \
        "EINVAL: rw_auth_pass: must differ from the read-only user's passphrases" \
        sh -c "printf 'Secret-2024\nOther-2024\nOther-2024\nFourth-2024\n' | '$B/devctl' snmp set ro_user=ro ro_auth_pass=- ro_priv_pass=- rw_user=rw rw_auth_pass=- rw_priv_pass=-"
check_out "distinct passphrases are accepted" 'rw_user: +rw' \
        sh -c "printf 'Secret-2024\nOther-2024\nThird-2024\nFourth-2024\n' | '$B/devctl' snmp set ro_user=ro ro_auth_pass=- ro_priv_pass=- rw_user=rw rw_auth_pass=- rw_priv_pass=-"

if grep -rq -e "$PASS" -e 'Rad#us' -e 'Fourth-2024' "$T_DIR/log"; then nok "no passphrase in any log"; else ok "no passphrase in any log"; fi
