#!/bin/bash
# busd's own audit records reach logd: a call the bus refuses (a session
# without the authority, an identity its ACL does not let call) is published
# as log.security from "busd" and stored, so `devctl log query --category
# security` shows it.
source "$(dirname "$0")/../lib/tap.sh"
stack_init logd testsvc
stack_acl testsvc 'testsvc = { serve = ["testsvc", "authd"]; call = ["bus.*"]; publish = ["*"]; subscribe = []; };'
export XDG_STATE_HOME="$T_DIR/xdg"
ADMIN=tok:admin:admin:system,security,system-info
stack_busd
: > "$T_DIR/empty.conf"  # the session checker stand-in must not read authd's own settings
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/empty.conf"
bg testsvc "$B/tests/testsvc" -c "$T_DIR/empty.conf"
bg logd "$B/logd"
svc_up authd; svc_up testsvc; svc_up logd

# a session that lacks 'security' asks logd for the security log: busd refuses it
check_rc "a viewer's log query is refused (EPERM, exit 3)" 3 env DEVSEC_TOKEN=tok:eve:viewer:monitor "$B/devctl" log query
check_until "busd's refusal is in the security log, from busd, naming the user" 10 \
        "security +[a-z]+ +busd +eve +bus: user 'eve' refused logd\.log\.query: needs authority 'system-info'" \
        env DEVSEC_TOKEN=$ADMIN "$B/devctl" log query --category security --user eve
# an identity the ACL does not let call a service: the ACL refusal is stored too
check_rc "testsvc may not call logd (bus ACL)" 1 env PROBE_IDENTITY=testsvc "$B/tests/busprobe" call logd sys.ping
check_until "the ACL refusal is in the security log" 10 "busd .*'testsvc' may not call logd\.sys\.ping \(bus ACL\)" \
        env DEVSEC_TOKEN=$ADMIN "$B/devctl" log query --category security --text "may not call"
