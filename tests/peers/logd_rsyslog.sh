#!/bin/bash
# logd -> real rsyslogd over TLS (RFC 5425 octet counting): records arrive and parse
# as RFC 5424 with the structured data; client certificate; pinning; wrong CA,
# wrong name or wrong pin -> no connection, error in log.status, nothing in the clear.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/logd_rsyslog_lib.sh"
if ! have rsyslogd || ! have openssl; then skip "logd to rsyslog over TLS" "rsyslogd or openssl not installed"; exit 0; fi
logd_stack
mkca "$T_DIR/pki"; mkca "$T_DIR/otherpki"
rsyslog_conf; rsyslog_start || nok "rsyslogd listens on 127.0.0.1:$RS_TLS/$RS_MTLS"
OUT="$W/out/messages.log"

dc log remote set 127.0.0.1:$RS_TLS --ca "$T_DIR/pki/ca.pem" >/dev/null
"$B/tests/logd_produce" --category security --user alice --prefix "tls record" 50 >/dev/null
wait_for 10 sh -c "grep -c 'tls record' '$OUT' 2>/dev/null | grep -qx 50"
check_out "50 records arrive at rsyslogd over TLS" '^50$' grep -c 'tls record' "$OUT"
check_out "they parse as RFC 5424 (version 1, app, msgid) with the structured data" \
        '^86 1 [0-9TZ:.+-]+ [^ ]+ logprod - security \[devsec@32473 seq="[0-9]+" dev="[^"]+" user="alice" src="logprod"\] tls record 50$' \
        tail -1 "$OUT"
wait_for 10 sh -c "'$B/devctl' --json log status | grep -Eq '\"state\":\"connected\".*\"pending\":0'"
check_out "log.status: connected, nothing pending" '"state":"connected".*"pending":0' dc --json log status
if ss -Htn state established "dport = :$RS_TLS" | grep -q 127.0.0.1; then ok "one TLS connection to the server"; else nok "no connection"; fi

# a host name is resolved off the loop (a child process), then verified against the certificate
dc log remote set localhost:$RS_TLS --ca "$T_DIR/pki/ca.pem" >/dev/null
"$B/tests/logd_produce" --prefix "by name" 3 >/dev/null
wait_for 10 sh -c "grep -q 'by name 3' '$OUT'"
check_out "a host name (localhost) is resolved and its certificate name verified" '^3$' grep -c 'by name' "$OUT"
dc log remote set no-such-host.invalid:$RS_TLS --ca "$T_DIR/pki/ca.pem" >/dev/null
wait_for 15 sh -c "'$B/devctl' --json log status | grep -q 'last_error\":\"resolve'"
check_out "an unresolvable name is an error in log.status" '"last_error":"resolve .no-such-host.invalid.' dc --json log status

# mutual TLS: the server requires a client certificate
dc log remote set 127.0.0.1:$RS_MTLS --ca "$T_DIR/pki/ca.pem" >/dev/null
"$B/tests/logd_produce" --prefix "no client cert" 3 >/dev/null
sleep 1
check_out "without a client certificate nothing is accepted" '^0$' sh -c "grep -c 'no client cert' '$OUT'"
dc log remote set 127.0.0.1:$RS_MTLS --ca "$T_DIR/pki/ca.pem" --client-cert "$T_DIR/pki/client.pem" --client-key "$T_DIR/pki/client.key" >/dev/null
"$B/tests/logd_produce" --prefix "mtls record" 5 >/dev/null
wait_for 10 sh -c "grep -q 'mtls record 5' '$OUT'"
check_out "with the client certificate, records arrive (mTLS)" '^5$' grep -c 'mtls record' "$OUT"

# pinning: the server certificate's SHA-256
pin=$(openssl x509 -in "$T_DIR/pki/server.pem" -noout -fingerprint -sha256 | cut -d= -f2)
dc log remote set 127.0.0.1:$RS_TLS --ca "$T_DIR/pki/ca.pem" --pin "$pin" >/dev/null
"$B/tests/logd_produce" --prefix "pinned record" 5 >/dev/null
wait_for 10 sh -c "grep -q 'pinned record 5' '$OUT'"
check_out "with the right pin, records arrive" '^5$' grep -c 'pinned record' "$OUT"

# refusals: a relay in front of rsyslogd records every byte logd sends
cat > "$T_DIR/relay.py" <<'PY'
import socket, sys, threading
lp, tp, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', lp)); s.listen(8)
def pipe(a, b, rec):
    try:
        while True:
            d = a.recv(65536)
            if not d: break
            if rec:
                with open(log, 'ab') as f: f.write(d)
            b.sendall(d)
    except OSError: pass
    for x in (a, b):
        try: x.shutdown(socket.SHUT_RDWR)
        except OSError: pass
while True:
    c, _ = s.accept(); u = socket.create_connection(('127.0.0.1', tp))
    threading.Thread(target=pipe, args=(c, u, True), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c, False), daemon=True).start()
PY
# tlsonly.py FILE: the bytes are whole TLS records of type handshake/alert/ccs only
# (no application data, no plain text)
cat > "$T_DIR/tlsonly.py" <<'PY'
import sys
b = open(sys.argv[1], 'rb').read() if len(sys.argv) > 1 else b''
off, n = 0, 0
while off + 5 <= len(b):
    t, v, l = b[off], b[off + 1], int.from_bytes(b[off + 3:off + 5], 'big')
    if t not in (0x14, 0x15, 0x16) or v != 3 or off + 5 + l > len(b): break
    off += 5 + l; n += 1
ok = off == len(b) and n > 0 and b'SECRET' not in b
print(('tls-only' if ok else 'NOT-tls-only') + f' records={n} bytes={len(b)} parsed={off}')
PY
bg relay python3 "$T_DIR/relay.py" 16517 $RS_TLS "$T_DIR/wire.bin"
waitport 16517
refused() { # DESC ERROR-REGEX ARGS...
        local d=$1 re=$2; shift 2
        rm -f "$T_DIR/wire.bin"
        dc log remote set 127.0.0.1:16517 "$@" >/dev/null
        "$B/tests/logd_produce" --prefix "SECRET-$d" 5 >/dev/null
        wait_for 10 sh -c "'$B/devctl' --json log status | grep -Eq -- '$re'"
        check_out "$d: error in log.status" "$re" dc --json log status
        check_out "$d: no record reached rsyslogd" '^0$' sh -c "grep -c 'SECRET-$d' '$OUT'"
        check_out "$d: only TLS handshake and alert records on the wire, nothing in the clear" '^tls-only records=[1-9]' \
                python3 "$T_DIR/tlsonly.py" "$T_DIR/wire.bin"
}
refused "wrong CA" '"state":"(waiting|connecting)".*certificate verify failed: (unable to get local issuer certificate|self.signed)' \
        --ca "$T_DIR/otherpki/ca.pem"
refused "wrong name" '"state":"(waiting|connecting)".*certificate verify failed: [Hh]ostname mismatch' \
        --ca "$T_DIR/pki/ca.pem" --name wrong.example
# a wrong pin fails after the handshake, before any record is written
rm -f "$T_DIR/wire.bin"
dc log remote set 127.0.0.1:16517 --ca "$T_DIR/pki/ca.pem" --pin "$(printf '%064d' 0)" >/dev/null
"$B/tests/logd_produce" --prefix "SECRET-pin" 5 >/dev/null
wait_for 10 sh -c "'$B/devctl' --json log status | grep -q 'last_error\":\"pin: server certificate'"
check_out "wrong pin: error in log.status" '"last_error":"pin: server certificate SHA-256 [0-9a-f]{64} does not match' dc --json log status
check_out "wrong pin: no record reached rsyslogd" '^0$' sh -c "grep -c 'SECRET-pin' '$OUT'"
if ! grep -aq "SECRET" "$T_DIR/wire.bin"; then ok "wrong pin: nothing in the clear"; else nok "wrong pin: plain text on the wire"; fi
check_out "logd logs the refusal once, not per retry" '^1$' sh -c "grep -c 'pin: server certificate' '$T_DIR'/log/logd*.log"
check_out "audit level 3: pinned server passes" '"id":"logd.remote.pinned".*"result":"pass"' dc --json call logd audit.report level=3

# back to a good server: everything held back by the refusals is delivered, in order
dc log remote set 127.0.0.1:$RS_TLS --ca "$T_DIR/pki/ca.pem" >/dev/null
last=$(logd_status_field '["records"]')
wait_for 10 sh -c "grep -q 'seq=\"$last\"' '$OUT'"
check_out "after the refusals, every record 1..$last arrives in order" 'missing=0 .*inorder=True' received_check 1 "$last"
