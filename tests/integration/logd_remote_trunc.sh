#!/bin/bash
# logd remote syslog: a record whose RFC 5424 line exceeds remote_max_msg is sent
# with its MSG cut at a UTF-8 character boundary and a "...[truncated]" marker, and
# counted (remote.truncated) -- never skipped and passed off as forwarded. A real
# rsyslogd (plain TCP, octet counting) on loopback receives the records.
source "$(dirname "$0")/../lib/tap.sh"
if ! have rsyslogd; then skip "logd remote truncation" "rsyslogd not installed"; exit 0; fi
stack_init logd logprod testsvc
stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = []; subscribe = []; };'
stack_acl logprod 'logprod = { call = ["bus.*"]; publish = ["log.*"]; subscribe = []; };'
sed -i -e 's/^remote_backoff_max_s = .*/remote_backoff_max_s = 1;/' -e 's/^remote_max_msg = .*/remote_max_msg = 480;/' \
        "$T_DIR/etc/logd.conf"
export DEVSEC_TOKEN=tok:admin:admin:system,security,system-info
: > "$T_DIR/empty.conf"
PORT=16541
W="$T_DIR/rsyslog"; mkdir -p "$W/work" "$W/out"
cat > "$W/rsyslog.conf" <<CONF
global(workDirectory="$W/work" maxMessageSize="64k")
module(load="imtcp")
template(name="raw" type="string" string="%rawmsg%\n")
ruleset(name="r") { action(type="omfile" file="$W/out/messages.log" template="raw") }
input(type="imtcp" address="127.0.0.1" port="$PORT" ruleset="r")
CONF
bg rsyslogd rsyslogd -n -f "$W/rsyslog.conf" -i "$W/rsyslogd.pid"
wait_for 5 sh -c "ss -Hltn 'sport = :$PORT' | grep -q ."
stack_busd
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/empty.conf"
bg logd "$B/logd"
svc_up authd; svc_up logd
st() { dc --json log status | python3 -c "import sys,json; d=json.load(sys.stdin); print(d$1)"; }
dc log remote set 127.0.0.1:$PORT --insecure >/dev/null
wait_for 10 sh -c "'$B/devctl' --json log status | grep -q '\"state\":\"connected\"'"
check_out "remote_max_msg is shown" '"max_msg":480' dc --json log status
"$B/tests/logd_produce" --category security --prefix "long record" --msg-len 1500 1 >/dev/null
"$B/tests/logd_produce" --category security --prefix "short after" 1 >/dev/null
wait_for 10 grep -q 'short after 1' "$W/out/messages.log"
python3 - "$W/out/messages.log" > "$T_DIR/verdict" <<'PY'
import sys
lines = open(sys.argv[1], 'rb').read().split(b'\n')
long = [l for l in lines if b'long record 1' in l]
print("long=%d" % len(long))
if long:
    l = long[0]
    print("len_ok=%s" % (len(l) <= 480))
    print("marker=%s" % l.endswith(b'...[truncated]'))
    try:
        l.decode('utf-8'); print("utf8=True")
    except UnicodeDecodeError:
        print("utf8=False")
print("short=%d" % sum(1 for l in lines if l.endswith(b'short after 1')))
PY
check_out "the long record reaches the server" '^long=1$' cat "$T_DIR/verdict"
check_out "the line is at most remote_max_msg bytes" '^len_ok=True$' cat "$T_DIR/verdict"
check_out "its MSG ends with the truncation marker" '^marker=True$' cat "$T_DIR/verdict"
check_out "the cut does not split a UTF-8 character" '^utf8=True$' cat "$T_DIR/verdict"
check_out "the next record follows intact" '^short=1$' cat "$T_DIR/verdict"
check_out "log.status counts the truncated record" '^1$' st '["remote"]["truncated"]'
check_out "nothing was dropped" '^0$' st '["remote"]["dropped"]'
check_out "the stored record keeps its whole message" 'long record 1 (é){700}' dc log query --text "long record" --limit 1
check_out "remote_max_msg below 480 is refused naming the field" 'EINVAL: settings.remote_max_msg' dc config set logd remote_max_msg=100
