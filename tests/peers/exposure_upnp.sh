#!/bin/bash
# exposure_upnp: Debian's miniupnpd (nftables backend) as the LAN's router in
# namespaces the test creates (router, device, WAN peer). exposured runs in
# the device's namespace. upnpc, not devsec, maps the device's RTSP port 554:
# exposure show lists it with the external address and connection state and
# net.exposure.upnp fails naming it; exposure unmap deletes it and the
# router's own listing confirms; a mapping of only the HTTPS port passes;
# devsec never adds a mapping (the upnp function is off); an IGD that never
# answers is stopped after timeout_s; no IGD on the LAN is n/a with the reason.
source "$(dirname "$0")/../lib/tap.sh"
need_root || { skip "exposure upnp" "needs root for network namespaces"; exit 0; }
have upnpc && [ -x /usr/sbin/miniupnpd ] && have nft || { skip "exposure upnp" "miniupnpd/miniupnpc/nftables not installed (tests/deps/exposure.txt)"; exit 0; }
[ -x "$B/exposured" ] || { skip "exposure upnp" "exposured not built"; exit 0; }

NS=exp-u$$
R="ip netns exec $NS-r"; DV="ip netns exec $NS-d"; WN="ip netns exec $NS-w"
IGD=http://192.168.77.1:24250/rootDesc.xml
stack_init netcfgd exposured testsvc
stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = ["*"]; subscribe = []; };'
W=$T_DIR/router; mkdir -p "$W"
cleanup_ns() { for n in r d w; do ip netns del "$NS-$n" 2>/dev/null || true; done; }
trap 't_cleanup; cleanup_ns' EXIT
for n in r d w; do ip netns add $NS-$n; ip netns exec $NS-$n ip link set lo up; done
$R ip link add lan0 type veth peer name eth0 netns $NS-d
$R ip link add wan0 type veth peer name eth0 netns $NS-w
$R ip addr add 192.168.77.1/24 dev lan0
$R ip addr add 1.2.3.4/32 dev wan0     # a label: miniupnpd refuses private ranges as its external address
$R ip addr add 10.99.0.1/24 dev wan0
$R ip link set lan0 up; $R ip link set wan0 up; $R sysctl -qw net.ipv4.ip_forward=1
$DV ip addr add 192.168.77.2/24 dev eth0; $DV ip link set eth0 up
$DV ip route add default via 192.168.77.1
$WN ip addr add 10.99.0.2/24 dev eth0; $WN ip link set eth0 up
$R nft -f - <<'NFT'
table inet filter {
  chain forward { type filter hook forward priority 0; policy drop; ct state established,related accept; jump miniupnpd; }
  chain miniupnpd { }
  chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
  chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }
  chain prerouting_miniupnpd { }
  chain postrouting_miniupnpd { }
}
NFT
cat > $W/miniupnpd.conf <<'CONF'
ext_ifname=wan0
listening_ip=lan0
http_port=24250
enable_natpmp=no
enable_upnp=yes
secure_mode=yes
system_uptime=yes
uuid=8d7a3c52-6f0e-4b1a-9c33-2f4e5d6a7b80
allow 1-65535 192.168.77.0/24 1-65535
deny 0-65535 0.0.0.0/0 0-65535
CONF
bg miniupnpd $R timeout 120 /usr/sbin/miniupnpd -f $W/miniupnpd.conf -d -P $W/miniupnpd.pid; MP=$LAST_PID
wait_for 10 sh -c "$R ss -Hltn 'sport = :24250' | grep -q ." || { nok "miniupnpd listens"; exit 0; }
router_list() { $DV timeout 20 upnpc -u $IGD -l 2>&1; }

sed -i -e 's/^discover_ms = .*/discover_ms = 1000;/' -e 's/^timeout_s = .*/timeout_s = 10;/' "$T_DIR/etc/exposured.conf"
stack_busd
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/none.conf"
bg netcfgd "$B/netcfgd" --dry-run
bg exposured $DV timeout 300 "$B/exposured"
svc_up authd && svc_up netcfgd && svc_up exposured || { nok "exposured comes up"; exit 0; }
export DEVSEC_TOKEN=tok:admin:admin:system,network,security,system-info
dc port set https=24243 >/dev/null
aud() { dc --json call exposured audit.report level=1; }
item() { printf '"id":"%s","level":1,"title":"[^"]*","result":"%s","detail":"' "${1//./\\.}" "$2"; }

# the router found by SSDP discovery, nothing forwarded yet
out=$(dc exposure check); rc=$?
check_out "discovery finds the IGD" 'router \(IGD\): +found' echo "$out"
check_out "its external address is shown" 'external address: +1\.2\.3\.4' echo "$out"
check_out "its connection state is shown" 'connection: +Connected' echo "$out"
check_out "this device as the router sees it" 'this device: +192\.168\.77\.2' echo "$out"
check_out "the DMZ is said to be invisible over UPnP" 'DMZ: +not visible over UPnP IGD' echo "$out"
check_out "the upnp function is off: devsec only reads" 'upnp function: +off' echo "$out"
check_out "no mapping: net.exposure.upnp passes" "$(item net.exposure.upnp pass)the router \(external 1\.2\.3\.4\) forwards no port" aud
out=$(router_list)
if printf '%s\n' "$out" | grep -Eq '^ *[0-9]+ (TCP|UDP) '; then nok "devsec added no mapping on the router"; printf '#   %s\n' "$out" | tail -3
else ok "devsec added no mapping on the router"; fi

# a mapping made by another program: the device's RTSP port to the Internet
listen_bg "$T_DIR/ev.txt" -- net.exposure.changed
check_out "upnpc maps the device's 554 to external 24254" 'is redirected to internal 192\.168\.77\.2:554' \
        $DV timeout 20 upnpc -u $IGD -e rtsp-by-other -a 192.168.77.2 554 24254 TCP
out=$(dc exposure check); rc=$?
[ $rc = 1 ] && ok "exposure check exits 1 while a mapping fails" || nok "exposure check exits 1 (got $rc)"
check_out "exposure show lists the mapping with its description" 'tcp +24254 +192\.168\.77\.2 +554 +rtsp-by-other +[0-9]+ +FAIL' echo "$out"
check_out "net.exposure.upnp fails naming the mapping" \
        "$(item net.exposure.upnp fail)the router forwards tcp 24254 -> 192\.168\.77\.2:554, not the HTTPS port \(tcp 24243\)" aud
check_out "devctl audit --level 1 shows it" 'exposured +net\.exposure\.upnp +1 +fail' dc audit --level 1
check_until "net.exposure.changed carries the failure (for smtp-notifier)" 5 '"upnp":"fail".*24254' cat "$T_DIR/ev.txt"

# unmap: refused for what is not there, done and logged for the mapping
check_out "unmap of a port the router does not forward to us is ENOENT naming port" \
        'ENOENT: port: the router forwards no tcp 24299 to this device' dc exposure unmap 24299
check_out "exposure unmap 24254 deletes it" 'deleted: the router no longer forwards tcp 24254' dc exposure unmap 24254
out=$(router_list)
if printf '%s\n' "$out" | grep -q 24254; then nok "the router's own listing no longer has 24254"; printf '#   %s\n' "$out" | head -5
else ok "the router's own listing no longer has 24254"; fi
check_out "the deletion is logged with the operator" "mapping of tcp 24254 to this device deleted by 'admin'" cat "$T_DIR/log/exposured.log"

# only the HTTPS port forwarded: passes
$DV timeout 20 upnpc -u $IGD -e https -a 192.168.77.2 24243 24243 TCP >/dev/null 2>&1
check_out "only the HTTPS port mapped: exposure check passes" 'net\.exposure\.upnp: +pass' dc exposure check
check_out "net.exposure.upnp passes naming the HTTPS port" "$(item net.exposure.upnp pass)the router forwards only the HTTPS port \(tcp 24243\)" aud
check_out "a WAN peer reaches the device's HTTPS port through the forward" 'reached' \
        sh -c "$DV timeout 10 socat -u TCP4-LISTEN:24243,bind=192.168.77.2,reuseaddr SYSTEM:'echo reached' & sleep 0; \
               for i in \$(seq 50); do $DV ss -Hltn 'sport = :24243' | grep -q . && break; sleep 0.1; done; \
               $WN timeout 5 socat -u TCP4:1.2.3.4:24243 - 2>/dev/null || $WN timeout 5 socat -u TCP4:10.99.0.1:24243 -; wait"

# the HTTPS port moves (net.ports.changed): the old forward no longer is HTTPS
dc port set https=24244 >/dev/null
check_until "after the HTTPS port moves, the old forward fails without a new check" 10 \
        "$(item net.exposure.upnp fail)the router forwards tcp 24243 -> 192\.168\.77\.2:24243, not the HTTPS port \(tcp 24244\)" aud
dc port set https=24243 >/dev/null

# an IGD that accepts and never answers: the check is stopped after timeout_s
bg hang $R timeout 60 socat TCP4-LISTEN:24251,bind=192.168.77.1,reuseaddr,fork SYSTEM:'sleep 50'
wait_for 10 sh -c "$R ss -Hltn 'sport = :24251' | grep -q ."
check_out "config set points exposured at the silent IGD" 'igd_url' dc config set exposured igd_url=http://192.168.77.1:24251/rootDesc.xml timeout_s=2
t0=$(date +%s)
check_out "a silent IGD is n/a after timeout_s" 'did not finish within 2 s' dc exposure check
[ $(( $(date +%s) - t0 )) -le 8 ] && ok "the hung check ended within its time limit" || nok "the hung check ended within its time limit"
check_out "exposured still answers after killing the hung check" 'net.listen' dc exposure show
dc config set exposured igd_url= timeout_s=10 >/dev/null

# no IGD on the LAN: n/a with the reason
kill $MP; wait $MP 2>/dev/null
# miniupnpd says goodbye (ssdp:byebye) on its way out: a check while it is
# still going may hear it; wait for it to be gone
wait_for 10 sh -c '! pgrep -x miniupnpd'
check_until "without an IGD the item is n/a with the reason" 10 \
        "$(item net.exposure.upnp n/a)no UPnP device answered the SSDP discovery within 1000 ms" sh -c "'$B/devctl' exposure check >/dev/null; '$B/devctl' --json call exposured audit.report level=1"
check_out "exposure show says n/a and why" 'reason: +no UPnP device answered' dc exposure show
