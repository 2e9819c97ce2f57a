#!/bin/bash
# filterd follows the real netcfgd: its port table at start-up and every
# `devctl port set` reach filterd's ruleset (service-port set and caps).
source "$(dirname "$0")/../lib/tap.sh"
if [ ! -x "$B/netcfgd" ]; then
        skip "filterd follows netcfgd's ports" "netcfgd is not built in $BUILD"
        exit 0
fi
stack_init filterd testsvc netcfgd
stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = []; subscribe = []; };'
stack_busd
bg authd "$B/tests/filterd_authd" --identity testsvc -c "$T_DIR/none.conf"
svc_up authd
export DEVSEC_TOKEN=tok:admin:admin:security,system-info,system,network
bg filterd "$B/filterd" --dry-run
svc_up filterd
bg netcfgd "$B/netcfgd" --dry-run
svc_up netcfgd
wait_for 5 sh -c "'$B/devctl' filter show --brief | grep -q 'ports_from: *netcfgd'"
check_out "netcfgd's table at its start-up reaches filterd" 'ports_from: +netcfgd' dc filter show --brief
check_rc "port set http=8081 max_connections=7" 0 dc port set http=8081 max_connections=7
wait_for 5 sh -c "'$B/devctl' filter ruleset | grep -q 'tcp . 8081'"
check_out "the new HTTP port is a service port in the ruleset" 'tcp \. 8081' dc filter ruleset
check_out "the old one is not" '^$' sh -c "'$B/devctl' filter ruleset | grep -E 'tcp \. 80[,} ]' || true"
check_out "max_connections becomes a cap on each port" 'tcp dport 8081 ct count over 7 counter name "drop_cap" reject with tcp reset' dc filter ruleset
check_out "filterd shows the cap" 'max_connections: +7' dc filter show --brief
check_rc "max_connections=0 lifts the caps" 0 dc port set max_connections=0
wait_for 5 sh -c "! '$B/devctl' filter ruleset | grep -q 'ct count'"
check_out "no cap left in the ruleset" '^$' sh -c "'$B/devctl' filter ruleset | grep 'ct count' || true"
