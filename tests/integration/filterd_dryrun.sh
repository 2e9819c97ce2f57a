#!/bin/bash
# filterd with --dry-run (as under `make run`): every method through busd and
# devctl, bad entries named, the 10,000-entry limit, authorities, the lockout
# guard, staged vs applied, the rendered ruleset, state across a restart,
# export/import/reset — and the host's own ruleset left alone.
source "$(dirname "$0")/../lib/tap.sh"
stack_init filterd testsvc netcfgd
stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = []; subscribe = []; };'
stack_acl netcfgd 'netcfgd = { call = ["bus.*"]; publish = ["net.*"]; subscribe = []; };'
stack_busd
# the session checker stands in for authd: tok:USER:GROUP:AUTHORITIES[:SOURCE]
bg authd "$B/tests/filterd_authd" --identity testsvc -c "$T_DIR/none.conf"
svc_up authd
host_before=$(need_root && have nft && nft list ruleset 2>/dev/null | md5sum)
bg filterd "$B/filterd" --dry-run; FILTERD=$LAST_PID
svc_up filterd || { nok "filterd starts with --dry-run"; cat "$T_DIR/log/filterd.log"; exit 0; }
export DEVSEC_TOKEN=tok:admin:admin:security,system-info,system,backup,network
VIEWER=tok:bob:viewer:monitor,system-info

check_out "the shipped configuration passes -n" 'configuration OK' "$B/filterd" -n -c "$ROOT_DIR/etc/devsec/filterd.conf"
printf 'ban_seconds = 0;\n' > "$T_DIR/bad.conf"
check_out "-n names a value out of range with file and line" 'bad.conf:1.*ban_seconds' "$B/filterd" -n -c "$T_DIR/bad.conf"
printf 'mangement = "10.0.0.1";\n' > "$T_DIR/typo.conf"
check_out "-n refuses an unknown key" "unknown key 'mangement'" "$B/filterd" -n -c "$T_DIR/typo.conf"
check_out "status lists filterd running" 'filterd +running +1\.' dc status
check_out "dry run: nothing enforced" 'enforced: +no' dc filter show --brief
check_out "the ruleset is rendered even so" 'table inet devsec \{' dc filter ruleset
check "the rendered ruleset is kept in the state dir" test -s "$DEVSEC_STATEDIR/filterd/ruleset.nft"

# bad entries: refused by name, nothing staged
check_out "a bad address is named with its index" "EINVAL: entries\\[1\\]: '10.0.0.300': not an IPv4/IPv6" \
        dc filter add 10.0.0.1 10.0.0.300
check_out "a bad prefix length is named" "entries\\[0\\]: '10.0.0.0/33': prefix length must be 0-32" dc filter add 10.0.0.0/33
check_out "a reversed range is named" "entries\\[0\\]: '10.9.0.9-10.9.0.1': range start is after its end" \
        dc filter add 10.9.0.9-10.9.0.1
check_out "a mixed range is named" "range mixes IPv4 and IPv6" dc filter add 10.0.0.1-fd00::1
check_out "a bad MAC is named" "entries\\[0\\]: 'aa:bb:cc:dd:ee:zz': not a MAC" dc filter add aa:bb:cc:dd:ee:zz
check_out "a refused add stages nothing" 'pending: +no' dc filter show --brief
check_out "a wrong mode is refused by the schema" 'EINVAL: mode: must be one of: off, allow, deny' dc filter mode block
check_out "an empty add is a usage error" 'usage' dc filter add
check_rc "ban seconds out of range" 1 dc filter ban add 10.0.0.1 0
check_out "ban of a MAC is refused" "EINVAL: ip: '02:00:00:00:00:01' is not an IPv4 or IPv6 address" \
        dc filter ban add 02:00:00:00:00:01 60
check_out "filter.check needs ip or mac" 'EINVAL: ip' dc filter check
check_out "filter.check names a bad mac" 'EINVAL: mac' dc filter check 10.0.0.1 mac=nope

# authorities: a viewer may look but not change
check_rc "a viewer may not add (EPERM, exit 3)" 3 env DEVSEC_TOKEN=$VIEWER "$B/devctl" filter add 10.0.0.1
check_out "a viewer may check" 'decision: +accept' env DEVSEC_TOKEN=$VIEWER "$B/devctl" filter check 10.0.0.1
check_rc "no session: EAUTH (exit 3)" 3 env DEVSEC_TOKEN= DEVSEC_TOKEN_FILE="$T_DIR/none" "$B/devctl" filter show

# staging, normalisation, apply
check_out "entries are staged and normalised" 'added: +4' dc filter add 10.0.0.5/24 FD00::1 10.1.1.1-10.1.1.3 AA:BB:CC:DD:EE:FF
check_out "a duplicate in another spelling is already present" 'present: +1' dc filter add 10.0.0.0/24
check_out "show lists the canonical forms" 'candidate_entries: +aa:bb:cc:dd:ee:ff,10.0.0.0/24,10.1.1.1-10.1.1.3,fd00::1' dc filter show
check_out "allow with no management address is refused" 'EINVAL: mode: .*no management address' dc filter mode allow
# the operator's own source, stamped by busd from the session
OP="tok:carol:admin:security,system-info:192.0.2.50"
check_out "allow without the operator's source is refused, naming it" 'neither your source 192\.0\.2\.50' \
        env DEVSEC_TOKEN=$OP "$B/devctl" filter mode allow
check_rc "once the operator's network is listed, allow is accepted" 0 sh -c \
        "DEVSEC_TOKEN=$OP '$B/devctl' filter add 192.0.2.0/24 && DEVSEC_TOKEN=$OP '$B/devctl' filter mode allow"
check_out "removing the operator's own network in allow mode is refused" 'EINVAL: entries: .*192\.0\.2\.50' \
        env DEVSEC_TOKEN=$OP "$B/devctl" filter del 192.0.2.0/24
check_rc "with --force it is staged" 0 env DEVSEC_TOKEN=$OP "$B/devctl" filter del 192.0.2.0/24 --force
check_rc "back to off" 0 dc filter mode off
check_out "a bad management address is refused by name" 'EINVAL: settings.management' dc config set filterd management=10.0.0.0/8
check_rc "management address set" 0 dc config set filterd management=10.0.0.9
check_rc "allow staged" 0 dc filter mode allow
check_out "apply reports what it loaded" 'count: +4' dc filter apply
check_out "rendered: interval set with the merged entries" 'elements = \{ 10\.0\.0\.0/24, 10\.1\.1\.1-10\.1\.1\.3 \}' dc filter ruleset
check_out "rendered: allow rules" 'ip saddr @list4 accept' dc filter ruleset
check_out "filter.check: listed" 'reason: +allow-list' dc filter check 10.0.0.77
check_out "filter.check: not listed" 'reason: +not-listed' dc filter check 10.0.1.77
check_out "filter.check: by MAC" 'matched: +mac' dc filter check 192.0.2.1 mac=aa:bb:cc:dd:ee:ff
check_out "removing the management address in allow mode is refused" 'EINVAL: entries' dc filter del 10.0.0.0/24
check_out "deleting an absent entry is ENOENT naming it" "ENOENT: entries\\[0\\]: '10.7.7.7' is not in the list" dc filter del 10.7.7.7
check_rc "discard drops staged changes" 0 sh -c "'$B/devctl' filter add 10.8.8.8 && '$B/devctl' filter discard"
check_out "nothing pending after discard" 'pending: +no' dc filter show --brief

# events: ports from netcfgd, a wrong publisher ignored
check "net.ports.changed published" "$B/tests/filterd_pub" ports netcfgd 5 tcp/8443/https udp/5000/x
wait_for 5 sh -c "'$B/devctl' filter ruleset | grep -q 'tcp . 8443'"
check_out "the ports reach the ruleset" 'elements = \{ tcp \. 8443, udp \. 5000 \}' dc filter ruleset
check_out "and the cap" 'udp dport 5000 ct count over 5 counter name "drop_cap" drop' dc filter ruleset
"$B/devsec-keygen" --confdir "$DEVSEC_CONFDIR" intruder >/dev/null
stack_acl intruder 'intruder = { call = ["bus.*"]; publish = ["net.*"]; subscribe = []; };'
kill -HUP $BUSD_PID
# busd knows the new key once it has reloaded: publish until filterd has seen one
check "a ports event from another identity is ignored" wait_for 10 sh -c \
        "'$B/tests/filterd_pub' ports intruder 0 tcp/1/x; grep -q \"ignored: only 'netcfgd' publishes it\" '$T_DIR/log/filterd.log'"

# state: a restart keeps the filter; export, reset, import
kill $FILTERD; wait $FILTERD 2>/dev/null
bg filterd "$B/filterd" --dry-run; FILTERD=$LAST_PID
svc_up filterd
check_out "after a restart the applied filter is back" '^mode: +allow' dc filter show --brief
check_out "after a restart the count is the same" '^count: +4' dc filter show --brief
dc config export filterd > "$T_DIR/export.json"
check "export carries the list" grep -q '"mode":"allow"' "$T_DIR/export.json"
check_rc "config reset" 0 dc config reset filterd
check_out "reset: mode off, no entries" '^count: +0' dc filter show --brief
# the list's guard checks the management setting in force: an import's own settings go in first
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["settings"]={}; json.dump(d,open(sys.argv[2],"w"))' \
        "$T_DIR/export.json" "$T_DIR/state-only.json"
check_out "after reset, importing the allow list alone is refused: no management address" 'EINVAL: state.mode: .*no management address' \
        dc --timeout 30000 config import filterd "$T_DIR/state-only.json"
check_out "the refused import changed nothing" '^count: +0' dc filter show --brief
check_out "the whole export imports: its management setting guards its list" 'imported: +yes' \
        dc --timeout 30000 config import filterd "$T_DIR/export.json"
check_out "and brings the filter back" '^count: +4' dc filter show --brief
check_rc "management address set again" 0 dc config set filterd management=10.0.0.9
check_rc "config import" 0 dc --timeout 30000 config import filterd "$T_DIR/export.json"
check_out "import: the filter is back" '^count: +4' dc filter show --brief
# deny mode is guarded as allow mode is: no deny entry may cover a management address
check_out "deny mode with the management address in the list is refused" \
        'EINVAL: mode: .*deny list entry .10\.0\.0\.0/24. covers the management address 10\.0\.0\.9' dc filter mode deny
check_rc "deny of an unrelated address staged" 0 sh -c "'$B/devctl' filter discard && '$B/devctl' filter del 10.0.0.0/24 --force && '$B/devctl' filter mode deny"
check_out "in deny mode, adding 0.0.0.0/0 is refused, naming it" 'EINVAL: entries: .*0\.0\.0\.0/0.*management address 10\.0\.0\.9' \
        dc filter add 0.0.0.0/0
check_rc "filter discard" 0 dc filter discard
sed 's/"mode":"allow"/"mode":"deny"/' "$T_DIR/export.json" > "$T_DIR/deny.json"
check_out "config import of a deny list covering the management address is refused, field named" \
        'EINVAL: state.entries: .*covers the management address 10\.0\.0\.9' dc config import filterd "$T_DIR/deny.json"
check_out "the refused import changed nothing" '^mode: +allow' dc filter show --brief
printf '{"service":"filterd","settings":{},"state":{"mode":"allow","entries":["192.0.2.0/24"]}}\n' > "$T_DIR/lock.json"
check_out "config import of an allow list without a management address is refused" \
        'EINVAL: state.mode: .*no management address' dc config import filterd "$T_DIR/lock.json"
check_out "still the applied filter" '^count: +4' dc filter show --brief
# bans never cover a management address
check_out "ban of a management address is refused, naming ip" "EINVAL: ip: '10.0.0.9' is a management address" \
        dc filter ban add 10.0.0.9 60
check_out "the refusal is counted" 'bans_refused: +1' dc filter status
check_out "and logged" 'ban of management address 10.0.0.9 .*refused' cat "$T_DIR/log/filterd.log"
check_out "another address is banned" 'ip: +10.0.0.10' dc filter ban add 10.0.0.10 60
check_out "ban list holds only that one" '10\.0\.0\.10' dc filter ban list
check_out "audit level 2 passes with a filter in allow mode" 'filter.enabled +2 .* pass ' dc call filterd audit.report level=2
check_out "audit: enforcement is n/a in a dry run" 'filter.enforced +1 .* n/a ' dc call filterd audit.report level=2
# the 10,000-entry limit, over the bus in one call
seq 0 9995 | awk '{ printf "172.%d.%d.%d\n", 16 + int($1 / 65536), int($1 / 256) % 256, $1 % 256 }' > "$T_DIR/big.txt"
check_out "10,000 entries are accepted" 'count: +10000' dc filter add --from-file "$T_DIR/big.txt"
check_out "the 10,001st is refused" 'EINVAL: entries: the list would exceed 10000 entries' dc filter add 192.0.2.1
check_rc "apply with 10,000 entries" 0 dc --timeout 30000 filter apply
check_out "all 10,000 are in force" '^count: +10000' dc filter show --brief
check_out "show lists a page of them" 'page: +partial' dc filter show
check_out "a later page" 'entries: +172\.16\.39\.11,fd00::1' dc filter show offset=9998 limit=2
check_out "the rendered set holds them merged into one range" 'elements = \{ 10\.0\.0\.0/24, 10\.1\.1\.1-10\.1\.1\.3, 172\.16\.0\.0-172\.16\.39\.11' dc filter ruleset

if need_root && have nft; then
        host_after=$(nft list ruleset 2>/dev/null | md5sum)
        if [ "$host_before" = "$host_after" ]; then ok "dry run left the host's ruleset alone"; else nok "dry run left the host's ruleset alone"; fi
else
        skip "dry run left the host's ruleset alone" "needs root and nft to read the host ruleset"
fi
kill $FILTERD; wait $FILTERD 2>/dev/null
if grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error" "$T_DIR/log/filterd.log"; then
        nok "filterd ran clean under the sanitizers"; grep -A12 "Sanitizer\|runtime error" "$T_DIR/log/filterd.log" | head -40
else
        ok "filterd ran and stopped clean (no sanitizer report in its log)"
fi
