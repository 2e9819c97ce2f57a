#!/bin/bash
# two_hosts: an NVR and a camera, two booted containers on a veth pair
# (10.99.80.1 and 10.99.80.2). The NVR's busd also listens on
# tcp://10.99.80.1:7700 (busd.conf endpoints= and the drop-in of
# docs/install.md); the camera's processes reach it over TCP with CURVE:
# a service on the camera registers on the NVR's bus and answers the NVR's
# devctl, the camera's devctl sees the NVR's services, and a camera key the NVR
# does not trust is refused at the handshake.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/lib/rootfs.sh"

if ! reason=$(ct_need); then skip "container: two hosts, bus over TCP with CURVE" "$reason"; exit 0; fi
have ip || { skip "container: two hosts, bus over TCP with CURVE" "iproute2 not installed"; exit 0; }
T0=$(date +%s)
W=$(mktemp -d /var/tmp/devsec-ct.XXXXXX); T_DIR=$W
RA=$W/nvr RB=$W/cam
IFA=dsc-nvr0 IFB=dsc-cam0
EP=tcp://10.99.80.1:7700
cleanup() { ct_stop dsc-nvr; ct_stop dsc-cam; ip link del "$IFA" 2>/dev/null; t_cleanup; }
trap cleanup EXIT

[ -x "$B/tests/testsvc" ] || make -s -C "$ROOT_DIR" BUILD="$BUILD" "$B/tests/testsvc" >/dev/null 2>&1
if [ ! -x "$B/tests/testsvc" ]; then nok "tests/lib/testsvc builds"; exit 1; fi
ct_install "$RA" && ct_install "$RB" || { nok "make install into two Debian 12 roots"; exit 1; }
install -m 0755 "$B/tests/testsvc" "$RB/usr/sbin/testsvc"

# the address of each host, set before busd starts
netunit() {
        mkdir -p "$1/etc/systemd/system/multi-user.target.wants"
        cat > "$1/etc/systemd/system/dsc-net.service" <<EOF
[Unit]
Description=test address on the veth pair
Before=devsec-busd.service
[Service]
Type=oneshot
RemainAfterExit=yes
# the host moves the veth end in after boot (nspawn's --network-interface=
# wants udev on the host)
TimeoutStartSec=30s
ExecStart=/bin/sh -c 'until ip link show $2 >/dev/null 2>&1; do sleep 0.1; done'
ExecStart=/usr/sbin/ip link set lo up
ExecStart=/usr/sbin/ip addr add $3 dev $2
ExecStart=/usr/sbin/ip link set $2 up
[Install]
WantedBy=multi-user.target
EOF
        ln -s ../dsc-net.service "$1/etc/systemd/system/multi-user.target.wants/dsc-net.service"
}
netunit "$RA" "$IFA" 10.99.80.1/24
netunit "$RB" "$IFB" 10.99.80.2/24

# the NVR's busd listens on TCP too: config and the drop-in of docs/install.md
echo "endpoints = [ \"$EP\" ];" >> "$RA/etc/devsec/busd.conf"
mkdir -p "$RA/etc/systemd/system/devsec-busd.service.d"
cat > "$RA/etc/systemd/system/devsec-busd.service.d/multi-host.conf" <<'EOF'
[Unit]
After=network.target dsc-net.service
[Service]
PrivateNetwork=no
# ZeroMQ looks the bind address up among the interfaces (getifaddrs: netlink)
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
IPAddressAllow=10.99.80.0/24
EOF
# the camera's identities on the NVR's bus: ACL entries on the NVR
cat > "$RA/etc/devsec/bus.acl.d/cam.acl" <<'EOF'
camsvc = { serve = ["camsvc"]; call = ["bus.*"]; publish = ["*"]; subscribe = ["*"]; };
camctl = { operator = true; call = ["*"]; subscribe = ["*"]; publish = []; };
rogue = { operator = true; call = ["*"]; subscribe = ["*"]; publish = []; };
EOF

ip link del "$IFA" 2>/dev/null
if ! ip link add "$IFA" type veth peer name "$IFB"; then nok "veth pair $IFA/$IFB"; exit 1; fi
ct_boot dsc-nvr "$RA" --private-network || { nok "NVR container boots"; exit 1; }
ct_boot dsc-cam "$RB" --private-network || { nok "camera container boots"; exit 1; }
ip link set "$IFA" netns "${CT_LEADER[dsc-nvr]}" && ip link set "$IFB" netns "${CT_LEADER[dsc-cam]}" ||
        nok "veth ends moved into the containers"
if ct_wait_booted dsc-nvr 90 && ct_wait_booted dsc-cam 90; then ok "NVR and camera containers booted ($(($(date +%s) - T0)) s)"
else nok "both containers boot"; fi
check "NVR busd active with its TCP endpoint" ct dsc-nvr systemctl is-active devsec-busd.service
check_out "NVR busd listens on $EP" 'also listening on .tcp://10\.99\.80\.1:7700' ct dsc-nvr journalctl --no-pager -u devsec-busd
# the camera's address comes up with its network unit: wait for the connection, do not try once
check "camera reaches the NVR's TCP endpoint over the veth pair" \
        wait_for 30 ct dsc-cam timeout 5 bash -c 'exec 3<>/dev/tcp/10.99.80.1/7700'

# key exchange: the camera makes its keys, the NVR trusts two of them
CONF=/etc/devsec-nvr
ct dsc-cam devsec-keygen --confdir "$CONF" camsvc camctl rogue >/dev/null
mkdir -p "$RB$CONF/bus/keys"
cp "$RA/etc/devsec/bus/keys/busd.pub" "$RB$CONF/bus/keys/busd.pub"
cp "$RB$CONF/bus/keys/camsvc.pub" "$RB$CONF/bus/keys/camctl.pub" "$RA/etc/devsec/bus/keys/"
ct dsc-nvr systemctl reload devsec-busd.service
sleep 0.5
check_out "NVR busd reloads its keys and ACL" 'keys reloaded' ct dsc-nvr journalctl --no-pager -u devsec-busd

# a service on the camera registers on the NVR's bus
ct dsc-cam systemd-run -q --unit=dsc-camsvc -p Restart=on-failure \
        -E DEVSEC_BUS_ENDPOINT="$EP" -E DEVSEC_CONFDIR="$CONF" -E TESTSVC_NAME=camsvc \
        /usr/sbin/testsvc --identity camsvc --statedir /var/lib/dsc-camsvc
up=no
for _ in $(seq 60); do
        ct dsc-nvr devctl --json status 2>/dev/null | grep -q '"name":"camsvc","state":"running"' && { up=yes; break; }
        sleep 0.25
done
if [ $up = yes ]; then ok "a camera service registers on the NVR's bus over TCP+CURVE"
else nok "camera service on the NVR's bus"; ct dsc-cam journalctl --no-pager -u dsc-camsvc | tail -5 | sed 's/^/#   /'; fi
check_out "the NVR's devctl calls the camera's service" 'text: +from-nvr' ct dsc-nvr devctl call camsvc test.echo text=from-nvr
camctl() { ct dsc-cam env DEVSEC_BUS_ENDPOINT="$EP" DEVSEC_CONFDIR="$CONF" devctl "$@"; }
check_out "the camera's devctl sees the NVR's services" 'camsvc +running' camctl --identity camctl status
check_out "the camera's devctl reaches the NVR's busd" 'version: +1\.' camctl --identity camctl call bus sys.ping
check_out "a camera key the NVR does not trust is refused" 'refused the key' camctl --identity rogue --timeout 3000 status
check_rc "the refused key exits 3" 3 camctl --identity rogue --timeout 3000 status
check_out "the NVR's busd logs the refused handshake" 'refused connection' ct dsc-nvr journalctl --no-pager -u devsec-busd
check_out "the camera's own bus still works" 'busd +running' ct dsc-cam devctl status

echo "# two-host scenario took $(($(date +%s) - T0)) s"
