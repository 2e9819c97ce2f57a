#!/bin/bash
# exposure_listen: exposured in a network namespace the test creates judges
# every listener on a non-loopback address against netcfgd's functions and
# ports. Stray socat listeners (TCP v4, UDP, TCP v6) fail net.listen with
# their port and owner named; a loopback one is not listed; the configured
# port of an enabled function passes; a disabled function's port and a
# well-known default left behind after a custom one is set fail; enabling
# the function (net.function.changed) makes it pass; stopping the strays
# passes again, seen through net.exposure.changed (no sleeps).
source "$(dirname "$0")/../lib/tap.sh"
need_root || { skip "exposure listen" "needs root for a network namespace"; exit 0; }
have socat || { skip "exposure listen" "socat not installed (tests/deps/exposure.txt)"; exit 0; }
[ -x "$B/exposured" ] || { skip "exposure listen" "exposured not built"; exit 0; }

NS=exp-l$$
A4=10.242.7.1 A6=fd42:242::1
stack_init netcfgd exposured testsvc
stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = ["*"]; subscribe = []; };'
cleanup_ns() { ip netns del "$NS" 2>/dev/null || true; }
trap 't_cleanup; cleanup_ns' EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add expv0 type veth peer name expv1
ip -n "$NS" addr add $A4/24 dev expv0
ip -n "$NS" -6 addr add $A6/64 dev expv0 nodad
ip -n "$NS" link set expv0 up; ip -n "$NS" link set expv1 up
INNS="ip netns exec $NS"

# fast listener rescans; the router part has no IGD here and stays n/a
sed -i -e 's/^listen_interval_s = .*/listen_interval_s = 1;/' -e 's/^discover_ms = .*/discover_ms = 300;/' "$T_DIR/etc/exposured.conf"
stack_busd
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/none.conf"
bg netcfgd "$B/netcfgd" --dry-run
bg exposured $INNS timeout 300 "$B/exposured"
svc_up authd && svc_up netcfgd && svc_up exposured || { nok "exposured comes up"; exit 0; }
export DEVSEC_TOKEN=tok:admin:admin:system,network,security,system-info
ev=$T_DIR/ev.txt
aud() { dc --json call exposured audit.report level=1; }
# item ID RESULT: the regex of one audit item's start, up to its detail
item() { printf '"id":"%s","level":1,"title":"[^"]*","result":"%s","detail":"' "${1//./\\.}" "$2"; }

check_until "net.listen passes with nothing listening in the namespace" 10 "$(item net.listen pass)0 listener" aud
check_out "exposure show names the item" 'net.listen: +pass' dc exposure show

# strays: TCP v4, UDP v4, TCP v6, and one on loopback that is not exposed
listen_bg "$ev" -- net.exposure.changed
bg socat4 $INNS timeout 120 socat TCP4-LISTEN:24201,bind=$A4,reuseaddr,fork EXEC:/bin/cat; P_socat4=$LAST_PID
bg socatu $INNS timeout 120 socat -u UDP4-RECV:24202,bind=$A4 OPEN:/dev/null; P_socatu=$LAST_PID
bg socat6 $INNS timeout 120 socat TCP6-LISTEN:24203,bind=[$A6],reuseaddr,fork EXEC:/bin/cat; P_socat6=$LAST_PID
bg socatlo $INNS timeout 120 socat TCP4-LISTEN:24204,bind=127.0.0.1,reuseaddr,fork EXEC:/bin/cat; P_socatlo=$LAST_PID
wait_for 10 sh -c "$INNS ss -Hltn 'sport = :24204' | grep -q ." || nok "socat listeners up"
check_until "net.exposure.changed reports the stray TCP listener by port" 10 '"listen":"fail".*tcp 24201 on 10\.242\.7\.1' cat "$ev"
check_until "net.listen fails naming tcp 24201 and its owner (user, process)" 10 \
        "$(item net.listen fail)"'tcp 24201 on 10\.242\.7\.1 \(user root, socat\[[0-9]+\]\): no enabled function owns tcp/24201' aud
check_out "the UDP stray is named" 'udp 24202 on 10\.242\.7\.1' aud
check_out "the IPv6 stray is named" 'tcp 24203 on fd42:242::1' dc exposure show
out=$(dc exposure show)
if printf '%s\n' "$out" | grep -q 24204; then nok "a loopback listener is not listed"; else ok "a loopback listener is not listed"; fi
check_out "exposure show lists the stray with its process and verdict" 'tcp +10\.242\.7\.1 +24201 +root +socat\[[0-9]+\] +- +FAIL' echo "$out"
check_rc "devctl audit --level 1 exits 1 on the failure" 1 dc audit --level 1
check_out "devctl audit --level 1 shows both exposure items" 'net\.exposure\.upnp' dc audit --level 1
check_out "the router item is n/a with the reason when there is no IGD" \
        "$(item net.exposure.upnp n/a)"'(no UPnP device answered|not checked yet)' aud

# the allow list: a malformed entry is refused naming the field; an entry
# makes the stray pass, one tied to a disabled function does not
check_out "a malformed allow entry is refused naming allow" "EINVAL: .*allow: 'tcp/0': the port must be" \
        dc call exposured config.set --args-json '{"settings":{"allow":["tcp/0"]}}'
dc call exposured config.set --args-json '{"settings":{"allow":["tcp/24201","udp/24202@snmp"]}}' >/dev/null
check_until "an allowed listener passes" 10 'tcp +10\.242\.7\.1 +24201 .* allowed +ok' dc exposure show
check_out "one allowed only with a disabled function fails" "udp +10\.242\.7\.1 +24202 .* snmp +FAIL +allowed only with function 'snmp'" dc exposure show
dc call exposured config.set --args-json '{"settings":{"allow":[]}}' >/dev/null
check_until "without the entry it fails again" 10 'tcp +10\.242\.7\.1 +24201 .* - +FAIL' dc exposure show

# a function's configured port passes; a disabled function's port fails;
# the well-known default left behind after moving HTTPS fails
dc port set https=24243 ssh=24222 >/dev/null
bg socath $INNS timeout 120 socat TCP4-LISTEN:24243,bind=$A4,reuseaddr,fork EXEC:/bin/cat; P_socath=$LAST_PID
bg socats $INNS timeout 120 socat TCP4-LISTEN:24222,bind=$A4,reuseaddr,fork EXEC:/bin/cat; P_socats=$LAST_PID
bg socatw $INNS timeout 120 socat TCP4-LISTEN:443,bind=$A4,reuseaddr,fork EXEC:/bin/cat; P_socatw=$LAST_PID
wait_for 10 sh -c "$INNS ss -Hltn 'sport = :443' | grep -q ." || nok "socat on 443 up"
check_until "the HTTPS port (moved to 24243) is owned by function https" 10 'tcp +10\.242\.7\.1 +24243 .* https +ok' dc exposure show
check_out "the SSH port fails while function ssh is off" "tcp +10\.242\.7\.1 +24222 .* ssh +FAIL +the ssh port, but function 'ssh' is disabled" dc exposure show
check_out "443 fails as the well-known HTTPS port moved to 24243" 'tcp +10\.242\.7\.1 +443 .*FAIL +tcp/443 is the well-known https port, moved to 24243' \
        dc exposure show
dc function enable ssh >/dev/null
check_until "after function enable ssh (net.function.changed) its port passes" 10 'tcp +10\.242\.7\.1 +24222 .* ssh +ok' dc exposure show

# stopping every stray passes again, announced by the event
for p in $P_socat4 $P_socatu $P_socat6 $P_socatw $P_socats; do kill $p 2>/dev/null; wait $p 2>/dev/null; done
check_until "net.exposure.changed reports net.listen passing once the strays stop" 10 '"listen":"pass"' tail -n 1 "$ev"
check_out "net.listen passes: only the HTTPS port is left" "$(item net.listen pass)1 listener" aud
check_out "exposure check exits 0 when nothing fails (router n/a)" '^net.listen: +pass' dc exposure check
check_rc "exposure check exits 0" 0 dc exposure check
check_out "a viewer may look" 'net.listen' env DEVSEC_TOKEN=tok:bob:viewer:monitor,system-info "$B/devctl" exposure show
check_out "a viewer may not unmap (EPERM, network)" "EPERM: .*network" env DEVSEC_TOKEN=tok:bob:viewer:monitor,system-info "$B/devctl" exposure unmap 24201
check_out "unmap of a port out of range is refused" "EINVAL: port: " dc call exposured exposure.unmap port=70000
check_out "unmap of an unknown protocol is refused naming proto" "EINVAL: proto: " dc call exposured exposure.unmap port=554 proto=sctp
check_out "unmap without an IGD is EUNAVAIL with the reason" "EUNAVAIL: .*no UPnP device answered" dc exposure unmap 554
