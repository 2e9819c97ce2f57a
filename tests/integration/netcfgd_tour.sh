#!/bin/bash
# The README tour for netcfgd with the real authd: an operator logs in as admin
# and runs the devctl net commands; a viewer may look but not change.
source "$(dirname "$0")/../lib/tap.sh"
[ -x "$B/authd" ] || { skip "netcfgd tour with authd" "authd not built"; exit 0; }
stack_init authd netcfgd
sed -i 's/^hash_opslimit = .*/hash_opslimit = 1;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 8;/' "$T_DIR/etc/authd.conf"
stack_busd
bg authd "$B/authd"
bg netcfgd "$B/netcfgd" --dry-run
svc_up authd && svc_up netcfgd || { nok "stack comes up"; exit 0; }
ADMIN_PW='Zx9#mQ2$vL'
check_rc "device initialised" 0 sh -c "printf '%s\n' '$ADMIN_PW' | '$B/devctl' init --password-stdin"
check_out "admin logs in" 'logged in as admin' sh -c "printf '%s\n' '$ADMIN_PW' | '$B/devctl' login -u admin --password-stdin"
cd "$T_DIR"
check_out "devctl port show" 'https +tcp +443' dc port show
check_out "devctl port set http=8088 https=8443" 'https +tcp +8443' dc port set http=8088 https=8443
check_out "devctl function list" 'upnp +no +no +unit +miniupnpd.service' dc function list
check_out "devctl function disable p2p" 'enabled: +no' dc function disable p2p
check_out "devctl https cert create days=365" 'fingerprint_sha256' dc https cert create days=365
check_out "devctl https cert export-root device-ca.pem" 'device CA written to device-ca.pem' dc https cert export-root device-ca.pem
check_out "the exported CA verifies the server certificate" ': OK' openssl verify -CAfile device-ca.pem "$DEVSEC_STATEDIR/netcfgd/certs/server.pem"
check_out "devctl snmp show" 'auth: +SHA' dc snmp show
check_out "netcfgd's level-2 audit reports the well-known ports left" 'net.ports.custom .*fail .*rtsp=554' dc call netcfgd audit.report level=2
