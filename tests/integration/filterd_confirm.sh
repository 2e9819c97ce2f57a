#!/bin/bash
# filterd's commit-confirm survives the process: the revert deadline of an
# unconfirmed apply is persisted; after kill -9 and a restart inside the
# window the unconfirmed filter stays, still awaiting filter.confirm, and is
# reverted at its deadline; a restart after the deadline brings the previous
# filter back at once (both announced as filter.applied what=reverted).
source "$(dirname "$0")/../lib/tap.sh"
stack_init filterd testsvc
stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = []; subscribe = []; };'
stack_busd
bg authd "$B/tests/filterd_authd" --identity testsvc -c "$T_DIR/none.conf"
svc_up authd
bg filterd "$B/filterd" --dry-run; FILTERD=$LAST_PID
svc_up filterd || { nok "filterd starts with --dry-run"; exit 0; }
export DEVSEC_TOKEN=tok:admin:admin:security,system-info,system,backup
# listen_reverted FILE: a subscriber for the next filter.applied, in the background
listen() { listen_bg "$1" -- filter.applied --count=1; }

check_rc "management address set" 0 dc config set filterd management=10.0.0.9
check_rc "allow list staged" 0 sh -c "'$B/devctl' filter add 10.0.0.0/24 && '$B/devctl' filter mode allow"
check_out "apply, to be confirmed within 8 s" 'confirm_within: +8' dc filter apply --confirm-within 8
check "the revert deadline is in filterd's state" test -s "$DEVSEC_STATEDIR/filterd/confirm.mp"
kill -9 $FILTERD; wait $FILTERD 2>/dev/null
bg filterd "$B/filterd" --dry-run; FILTERD=$LAST_PID
svc_up filterd
check_out "restarted inside the window: the unconfirmed filter is still in force" '^mode: +allow' dc filter show --brief
check_out "and still awaits confirmation" 'confirm_pending: +yes' dc filter show --brief
check_out "the ruleset is the unconfirmed one" 'ip saddr @list4 accept' dc filter ruleset
listen "$T_DIR/ev1.txt"
wait $LP 2>/dev/null
check_out "at the deadline it is reverted (event)" '"what":"reverted"' cat "$T_DIR/ev1.txt"
check_out "the previous filter is back (mode off)" '^mode: +off' dc filter show --brief
check_out "nothing awaits confirmation" 'confirm_pending: +no' dc filter show --brief
check "the deadline is gone from the state" test ! -e "$DEVSEC_STATEDIR/filterd/confirm.mp"

# a restart after the deadline: the previous filter at once
check_out "apply again, to be confirmed within 2 s" 'confirm_within: +2' dc filter apply --confirm-within 2
end=$(( $(date +%s) + 3 ))
kill -9 $FILTERD; wait $FILTERD 2>/dev/null
while [ "$(date +%s)" -le "$end" ]; do sleep 0.2; done   # filterd is down until the deadline has passed
listen "$T_DIR/ev2.txt"
bg filterd "$B/filterd" --dry-run; FILTERD=$LAST_PID
svc_up filterd
wait $LP 2>/dev/null
check_out "started after the deadline: reverted at start (event)" '"what":"reverted"' cat "$T_DIR/ev2.txt"
check_out "the previous filter is in force (mode off)" '^mode: +off' dc filter show --brief
if dc filter ruleset | grep -q '@list4 accept'; then nok "the ruleset is the previous one"; else ok "the ruleset is the previous one"; fi

# a confirmed apply drops the deadline and survives a restart
check_rc "apply within 30 s and confirm" 0 sh -c "'$B/devctl' filter apply --confirm-within 30 && '$B/devctl' filter confirm"
check "confirm drops the deadline" test ! -e "$DEVSEC_STATEDIR/filterd/confirm.mp"
kill -9 $FILTERD; wait $FILTERD 2>/dev/null
bg filterd "$B/filterd" --dry-run; FILTERD=$LAST_PID
svc_up filterd
check_out "the confirmed filter survives kill -9" '^mode: +allow' dc filter show --brief
check_out "with nothing pending" 'confirm_pending: +no' dc filter show --brief
