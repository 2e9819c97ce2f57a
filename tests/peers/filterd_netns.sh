#!/bin/bash
# filterd against the real kernel: filterd runs in a network namespace of its
# own (busd stays in the host namespace; the ipc:// socket crosses over), two
# client namespaces reach it through veth pairs. Allow list, deny list, MAC
# entry, temporary bans (by hand and from auth.locked), the connection cap,
# commit-confirm with automatic revert, and `nft list table inet devsec`
# after every change.
source "$(dirname "$0")/../lib/tap.sh"
PLAN="allow deny mac ban cap confirm"

if ! need_root; then
        for p in $PLAN; do skip "filterd netns: $p" "needs root for network namespaces and nftables"; done
        exit 0
fi
for t in nft ip python3; do
        if ! have $t; then
                for p in $PLAN; do skip "filterd netns: $p" "$t is not installed"; done
                exit 0
        fi
done

FW=dsf-fw$$ C1=dsf-c1$$ C2=dsf-c2$$
NETNS_CLEANUP() { for n in $FW $C1 $C2; do ip netns del $n 2>/dev/null || true; done; }
trap 't_cleanup; NETNS_CLEANUP' EXIT

# ---- network: fw <-> c1 (10.99.70.0/26, fd99:70::/120), fw <-> c2 (10.99.70.64/26, fd99:70::100/120)
FW1=10.99.70.1 FW2=10.99.70.65 C1IP=10.99.70.10 C2IP=10.99.70.70
FW16=fd99:70::1 FW26=fd99:70::101 C16=fd99:70::a C26=fd99:70::10a
C1MAC=02:99:70:00:00:0a C2MAC=02:99:70:00:00:46
setup_net() {
        ip netns add $FW && ip netns add $C1 && ip netns add $C2 || return 1
        ip -n $FW link add f1 type veth peer name c1 netns $C1 || return 1
        ip -n $FW link add f2 type veth peer name c2 netns $C2 || return 1
        ip -n $C1 link set c1 address $C1MAC && ip -n $C2 link set c2 address $C2MAC || return 1
        ip -n $FW addr add $FW1/26 dev f1 && ip -n $FW addr add $FW2/26 dev f2 || return 1
        ip -n $FW addr add $FW16/120 dev f1 nodad && ip -n $FW addr add $FW26/120 dev f2 nodad || return 1
        ip -n $C1 addr add $C1IP/26 dev c1 && ip -n $C2 addr add $C2IP/26 dev c2 || return 1
        ip -n $C1 addr add $C16/120 dev c1 nodad && ip -n $C2 addr add $C26/120 dev c2 nodad || return 1
        for n in $FW $C1 $C2; do ip -n $n link set lo up; done
        ip -n $FW link set f1 up && ip -n $FW link set f2 up && ip -n $C1 link set c1 up && ip -n $C2 link set c2 up
}
if ! setup_net; then
        nok "network namespaces and veth pairs set up"
        exit 0
fi
ok "network namespaces $FW, $C1, $C2 joined by veth pairs"

# ---- the stack: busd in the host namespace, filterd in $FW
stack_init filterd testsvc netcfgd authd
stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = []; subscribe = []; };'
stack_acl netcfgd 'netcfgd = { call = ["bus.*"]; publish = ["net.*"]; subscribe = []; };'
stack_acl authd 'authd = { call = ["bus.*"]; publish = ["auth.*"]; subscribe = []; };'
stack_busd
# the session checker stands in for authd: tokens tok:USER:GROUP:AUTHORITIES
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/none.conf"
svc_up authd
export DEVSEC_TOKEN=tok:admin:admin:security,system-info,system
if have setpriv; then
        check_rc "without CAP_NET_ADMIN filterd refuses to start (fail closed)" 1 \
                ip netns exec $FW setpriv --bounding-set -net_admin "$B/filterd"
        check_out "and says why" 'nftables refused the ruleset.*Operation not permitted' \
                ip netns exec $FW setpriv --bounding-set -net_admin "$B/filterd"
else
        skip "without CAP_NET_ADMIN filterd refuses to start" "setpriv (util-linux) is not installed"
fi
bg filterd ip netns exec $FW "$B/filterd"; FILTERD=$LAST_PID
svc_up filterd 10 || { nok "filterd starts in $FW"; cat "$T_DIR/log/filterd.log"; exit 0; }

nftl() { ip netns exec $FW nft list table inet devsec; }
# conn NS SRC DST PORT: one connection to the listener, 1.5 s to answer
conn() { ip netns exec $1 python3 "$ROOT_DIR/tests/lib/filterd_hold.py" $3 $4 1 $2 1.5; }
check_out "filterd loaded table inet devsec in its namespace" 'chain input' nftl
check_out "no table of ours in the host namespace" '^$' sh -c 'nft list table inet devsec 2>/dev/null || true'
check_out "the default service ports are filtered until netcfgd speaks" 'tcp \. 37777' nftl

# service ports from netcfgd: 8080 is a service port, 9090 is not
check "netcfgd's net.ports.changed is published" "$B/tests/filterd_pub" ports netcfgd 0 tcp/8080/http tcp/8554/rtsp
wait_for 5 sh -c "ip netns exec $FW nft list set inet devsec svc | grep -q 'tcp . 8080'"
svcset() { ip netns exec $FW nft list set inet devsec svc | tr -d '\n\t '; }
check_out "the ruleset follows netcfgd's ports" '^[^3]*elements=\{tcp\.(8554,tcp\.8080|8080,tcp\.8554)\}' svcset
bg listen ip netns exec $FW python3 "$ROOT_DIR/tests/lib/filterd_listen.py" 8080 $FW1 $FW2 $FW16 $FW26
bg listen2 ip netns exec $FW python3 "$ROOT_DIR/tests/lib/filterd_listen.py" 9090 $FW1 $FW2
wait_for 5 sh -c "ip netns exec $FW ss -Hltn 'sport = :9090' | grep -q ." && wait_for 5 sh -c "ip netns exec $FW ss -Hltn 'sport = :8080' | grep -q ."
check "mode off: client 1 connects" conn $C1 $C1IP $FW1 8080
check "mode off: client 2 connects" conn $C2 $C2IP $FW2 8080

# ---- allow list
check_rc "filter add stages entries" 0 dc filter add $C1IP $C16 10.99.70.128/27
check_out "allow without a management address in the list is refused" 'EINVAL: mode: .*lock' dc filter mode allow
check_rc "the refusal exits 1" 1 dc filter mode allow
check_rc "management address configured" 0 dc config set filterd management=$C1IP
check_rc "allow mode staged once the management address is listed" 0 dc filter mode allow
check_out "staged, not yet enforced" 'pending: +yes' dc filter show --brief
check_out "nothing enforced before apply" 'policy accept;' nftl
check_rc "filter apply" 0 dc filter apply
out=$(nftl)
if echo "$out" | grep -q 'ip saddr @list4 accept' && echo "$out" | grep -q 'counter name "drop_unlisted" drop' &&
        echo "$out" | grep -Eq 'elements = \{ 10\.99\.70\.10, 10\.99\.70\.128/27 \}'; then
        ok "allow: nft list shows the list set and the allow rules"
else
        nok "allow: nft list shows the list set and the allow rules"; printf '#  %s\n' "$out" | head -60
fi
check "allow: the listed client connects over IPv4" conn $C1 $C1IP $FW1 8080
check "allow: the listed client connects over IPv6" conn $C1 $C16 $FW16 8080
check_rc "allow: the unlisted client is dropped (IPv4)" 1 conn $C2 $C2IP $FW2 8080
check_rc "allow: the unlisted client is dropped (IPv6)" 1 conn $C2 $C26 $FW26 8080
check "allow: a port that is not a service port stays open" conn $C2 $C2IP $FW2 9090
check_out "filter.check agrees: listed client accepted" 'decision: +accept' dc filter check $C1IP
check_out "filter.check agrees: unlisted client dropped" 'reason: +not-listed' dc filter check $C2IP
check_out "status counts the dropped packets of unlisted sources" '"unlisted":\{"packets":[1-9]' dc --json filter status
check_out "and adds them to this hour's figure (the last of 24)" '"dropped_per_hour":\[(\{"hour":"[^"]*","packets":0\},){23}\{"hour":"[^"]*","packets":[1-9]' dc --json filter status

# ---- deny list
check_out "deny mode over a list holding the management address is refused" 'EINVAL: mode: .*covers the management address' dc filter mode deny
check_rc "deny mode applied (forced: client 1 is the management address)" 0 sh -c "'$B/devctl' filter mode deny --force && '$B/devctl' filter apply --force"
out=$(nftl)
if echo "$out" | grep -q 'ip saddr @list4 counter name "drop_list4" drop' && ! echo "$out" | grep -q 'drop_unlisted" drop'; then
        ok "deny: nft list shows the deny rules and no allow rules"
else
        nok "deny: nft list shows the deny rules and no allow rules"; printf '#  %s\n' "$out" | head -60
fi
check_rc "deny: the listed client is dropped" 1 conn $C1 $C1IP $FW1 8080
check_rc "deny: the listed client is dropped over IPv6" 1 conn $C1 $C16 $FW16 8080
check "deny: the other client connects" conn $C2 $C2IP $FW2 8080
check_out "filter.check agrees: listed client dropped in deny mode" 'reason: +deny-list' dc filter check $C1IP
check_out "status counts drops of the IPv4 list" '"list4":\{"packets":[1-9]' dc --json filter status
check_out "counters survive a table replacement" '"unlisted":\{"packets":[1-9]' dc --json filter status

# ---- MAC entries
check_rc "IP entries removed, client 1's MAC added" 0 sh -c \
        "'$B/devctl' filter del $C1IP $C16 && '$B/devctl' filter add $C1MAC && '$B/devctl' filter apply"
check_out "mac: nft list shows the MAC set" "elements = \\{ $C1MAC \\}" nftl
check_rc "mac deny: client 1 is dropped by its MAC" 1 conn $C1 $C1IP $FW1 8080
check "mac deny: client 2 connects" conn $C2 $C2IP $FW2 8080
check_out "allow with only a MAC is refused without force" 'lock' dc filter mode allow
check_rc "mac allow applied with --force" 0 sh -c "'$B/devctl' filter mode allow --force && '$B/devctl' filter apply --force"
check_out "mac allow: nft list accepts the MAC set" 'ether saddr @listmac accept' nftl
check "mac allow: client 1 connects by its MAC" conn $C1 $C1IP $FW1 8080
check_rc "mac allow: client 2 is dropped" 1 conn $C2 $C2IP $FW2 8080
check_out "filter.check by MAC" 'matched: +mac' dc filter check $C2IP mac=$C1MAC

# ---- temporary bans
check_rc "mode off applied" 0 sh -c "'$B/devctl' filter mode off && '$B/devctl' filter apply"
check_out "mode off: nft list has no list rules" '^$' sh -c "ip netns exec $FW nft list chain inet devsec input | grep -E '@list|drop_unlisted' || true"
t_ban=$(date +%s.%N)
check_rc "ban add for 8 s" 0 dc filter ban add $C2IP 8
check_out "ban: nft list shows the element with its timeout" "$C2IP timeout (8s|7s[0-9]+ms) expires" nftl
check_out "ban list shows it" "$C2IP" dc filter ban list
check_out "filter.check reports the ban" 'reason: +banned' dc filter check $C2IP
check_rc "ban: the banned client is dropped" 1 conn $C2 $C2IP $FW2 8080
check "ban: the other client connects" conn $C1 $C1IP $FW1 8080
sleep "$(echo "$t_ban + 8.2 - $(date +%s.%N)" | bc | sed 's/^-.*/0/')"
check "ban expired: the client connects again" conn $C2 $C2IP $FW2 8080
check_out "ban expired: ban list is empty" 'none' dc filter ban list
check "auth.locked from authd is published" "$B/tests/filterd_pub" locked authd mallory $C2IP $(( $(date +%s) + 30 ))
wait_for 5 sh -c "ip netns exec $FW nft list set inet devsec ban4 | grep -q '$C2IP'"
check_out "auth.locked bans the source in the kernel" "$C2IP timeout" nftl
check_rc "auth.locked: the source is dropped" 1 conn $C2 $C2IP $FW2 8080
check "auth.locked from another identity is ignored" "$B/tests/filterd_pub" locked netcfgd x $C1IP $(( $(date +%s) + 30 ))
check_out "an event from the wrong publisher bans nobody" "$C2IP  " dc filter ban list
check_rc "ban del lifts it" 0 dc filter ban del $C2IP
check "ban lifted: the client connects" conn $C2 $C2IP $FW2 8080
check_out "ban del of an address that is not banned is ENOENT" 'ENOENT: ip' dc filter ban del $C2IP

# ---- connection cap from netcfgd's max_connections
check "max_connections 3 published" "$B/tests/filterd_pub" ports netcfgd 3 tcp/8080/http tcp/8554/rtsp
wait_for 5 sh -c "ip netns exec $FW nft list chain inet devsec input | grep -q 'ct count over 3'"
check_out "cap: nft list shows ct count over 3 on the port" 'tcp dport 8080 ct count over 3 counter name "drop_cap" reject' nftl
check_out "cap: the 4th and 5th connections are refused" '^3/5 connected' \
        ip netns exec $C1 python3 "$ROOT_DIR/tests/lib/filterd_hold.py" $FW1 8080 5 $C1IP 1.5
check_out "cap refusals are counted" '"cap":\{"packets":[1-9]' dc --json filter status

# ---- commit-confirm: an unconfirmed apply reverts by itself
check_rc "allow list with client 2 staged" 0 sh -c \
        "'$B/devctl' filter del $C1MAC && '$B/devctl' filter add $C2IP && '$B/devctl' filter mode allow --force"
t_apply=$(date +%s.%N)
check_rc "apply with --confirm-within 10" 0 dc filter apply --force --confirm-within 10
check_out "confirm: the new filter is in force" 'ip saddr @list4 accept' nftl
check_rc "confirm: client 1 is dropped meanwhile" 1 conn $C1 $C1IP $FW1 8080
check_out "confirm: show says a confirmation is pending" 'confirm_pending: +yes' dc filter show --brief
check_out "a second apply while one awaits confirmation is EBUSY" 'EBUSY' dc filter apply --force
sleep "$(echo "$t_apply + 10.3 - $(date +%s.%N)" | bc | sed 's/^-.*/0/')"
check_out "not confirmed in time: the previous filter is back (mode off)" '^mode: +off' dc filter show --brief
check_out "reverted: nft list has no allow rules" '^$' sh -c "ip netns exec $FW nft list chain inet devsec input | grep -E '@list4 accept' || true"
check "reverted: client 1 connects again" conn $C1 $C1IP $FW1 8080
check_rc "apply --confirm-within 2 then confirm" 0 sh -c \
        "'$B/devctl' filter apply --force --confirm-within 2 && '$B/devctl' filter confirm"
sleep 2.5
check_out "confirmed: the filter stays after the deadline" '^mode: +allow' dc filter show --brief
check_out "confirm with nothing pending is ENOENT" 'ENOENT' dc filter confirm

# ---- atomicity: filterd's transaction (add, delete, define) refused by the
# kernel itself (a jump loop, found only at commit) leaves the table exactly
# as it was, its delete included
awk '/^\t\tiif "lo" accept$/ { print; print "\t\tjump loop_a"; next }
     /^}$/ { print "\tchain loop_a {\n\t\tjump loop_b\n\t}\n\tchain loop_b {\n\t\tjump loop_a\n\t}" }
     { print }' "$DEVSEC_STATEDIR/filterd/ruleset.nft" > "$T_DIR/bad.nft"
before=$(nftl | grep -v packets | md5sum)
check_out "a transaction with a jump loop is refused by the kernel" 'Could not process rule' ip netns exec $FW nft -f "$T_DIR/bad.nft"
after=$(nftl | grep -v packets | md5sum)
if [ "$before" = "$after" ] && grep -q '^delete table inet devsec' "$T_DIR/bad.nft"; then
        ok "the refused transaction left the table whole (its delete was rolled back)"
else
        nok "the refused transaction left the table whole (its delete was rolled back)"
fi

# ---- restart: the saved filter is loaded before filterd serves
kill $FILTERD; wait $FILTERD 2>/dev/null
ip netns exec $FW nft delete table inet devsec
bg filterd ip netns exec $FW "$B/filterd"; FILTERD=$LAST_PID
svc_up filterd 10
check_out "after a restart the confirmed filter is enforced again" 'ip saddr @list4 accept' nftl
check_out "after a restart the list is the same" 'count: +2' dc filter show --brief
check_out "after a restart netcfgd's last port table is kept" 'ports_from: +netcfgd' dc filter show --brief
kill $FILTERD 2>/dev/null; wait $FILTERD 2>/dev/null
if grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error" "$T_DIR/log/filterd.log"; then
        nok "filterd ran clean under the sanitizers"; grep -A12 "Sanitizer\|runtime error" "$T_DIR/log/filterd.log" | head -40
else
        ok "filterd ran and stopped clean (no sanitizer report in its log)"
fi
exit 0
