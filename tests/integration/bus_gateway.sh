#!/bin/bash
# The gateway class (webd): an operator-class identity whose calls are always
# the calls of the session it carries. Without a token it can do nothing an
# anonymous operator cannot; busd stamps its calls "gw"; it serves nothing.
source "$(dirname "$0")/../lib/tap.sh"
stack_init testsvc gw daemon
stack_acl testsvc 'testsvc = { serve = ["testsvc", "authd"]; call = ["bus.*", "testsvc.*"]; publish = ["*"]; subscribe = ["*"]; };'
stack_acl gw 'gw = { gateway = true; call = ["testsvc.*"]; publish = []; subscribe = []; };'
stack_acl daemon 'daemon = { call = ["testsvc.*"]; publish = []; subscribe = []; };'
stack_busd
bg testsvc "$B/tests/testsvc"; svc_up testsvc
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/none.conf"; svc_up authd
g() { env -u DEVSEC_TOKEN "$B/devctl" --identity gw "$@"; }

check_out "a gateway's public call is stamped gw, not svc" 'gw: +yes' g call testsvc test.echo text=hi
check_out "and carries no daemon flag" 'svc: +no' g call testsvc test.echo text=hi
check_rc "a daemon's call needing an authority passes on its own account (the contrast)" 0 \
        env -u DEVSEC_TOKEN "$B/devctl" --identity daemon call testsvc test.secure
check_rc "a gateway without a token may not call a method needing an authority (3)" 3 g call testsvc test.secure
check_out "it is told to log in, as an anonymous operator is" 'EAUTH' g call testsvc test.secure
check_rc "nor a session-only method" 3 g call testsvc test.session
check_rc "nor a daemon-only method" 3 g call testsvc test.internal
check_out "a daemon-only method is refused as to an operator" 'for daemons only' g call testsvc test.internal
check_out "with a session the gateway's call is that user's" 'user: +ann' \
        env DEVSEC_TOKEN=tok:ann:operator:account "$B/devctl" --identity gw call testsvc test.secure
check_out "and still stamped gw" 'gw: +yes' env DEVSEC_TOKEN=tok:ann:operator:account "$B/devctl" --identity gw call testsvc test.secure
check_rc "a session without the authority is refused (3)" 3 \
        env DEVSEC_TOKEN=tok:val:viewer:monitor "$B/devctl" --identity gw call testsvc test.secure

# an ACL that makes a gateway serve a service is refused, naming the field
stack_acl gw 'gw = { gateway = true; serve = ["web"]; call = []; publish = []; subscribe = []; };'
check_out "busd -n refuses a gateway that serves, naming the file and line" "gw.acl:1: gateway 'gw' may not serve" "$B/busd" -n
kill -HUP $BUSD_PID
check_until "a reload with it is refused and logged" 5 "gateway 'gw' may not serve" cat "$T_DIR/log/busd.log"
check_out "busd keeps the ACL it had" 'gw: +yes' g call testsvc test.echo
