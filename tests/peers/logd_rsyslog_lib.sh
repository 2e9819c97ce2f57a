# logd_rsyslog_lib.sh - sourced by the logd rsyslog scenarios: a private CA, a real
# rsyslogd with RFC 5425 TLS listeners on loopback (16514 anon, 16515 client cert
# required), and helpers to start/stop it. Ports 16500-16599 only.
RS_TLS=16514 RS_MTLS=16515
mkca() { # DIR: ca.pem/key, server (CN=localhost, SAN localhost + 127.0.0.1), client (CN=client.test)
        local D=$1 n cn san
        mkdir -p "$D"
        ( cd "$D" || exit 1
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Test CA" -keyout ca.key -out ca.pem \
                -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
        for n in server client; do
                if [ $n = server ]; then cn=localhost; san='DNS:localhost,IP:127.0.0.1'; else cn=client.test; san='DNS:client.test'; fi
                openssl req -newkey rsa:2048 -nodes -subj "/CN=$cn" -keyout $n.key -out $n.csr 2>/dev/null
                printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n' "$san" > $n.ext
                openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile $n.ext -out $n.pem 2>/dev/null
                rm -f $n.csr $n.ext
        done; rm -f ca.srl )
}
waitport() { local i; for i in $(seq 200); do ss -Hltn "sport = :$1" | grep -q . && return 0; sleep 0.05; done; return 1; }
rsyslog_conf() {
        W="$T_DIR/rsyslog"; mkdir -p "$W/work" "$W/out"
        cat > "$W/rsyslog.conf" <<CONF
global(workDirectory="$W/work"
       DefaultNetstreamDriverCAFile="$T_DIR/pki/ca.pem"
       DefaultNetstreamDriverCertFile="$T_DIR/pki/server.pem"
       DefaultNetstreamDriverKeyFile="$T_DIR/pki/server.key")
module(load="imtcp")
template(name="parsed" type="string"
         string="%pri% %protocol-version% %timereported:::date-rfc3339% %hostname% %app-name% %procid% %msgid% %structured-data% %msg%\n")
ruleset(name="r") { action(type="omfile" file="$W/out/messages.log" template="parsed") }
input(type="imtcp" address="127.0.0.1" port="$RS_TLS" ruleset="r"
      streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imtcp" address="127.0.0.1" port="$RS_MTLS" ruleset="r"
      streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="x509/certvalid")
CONF
}
rsyslog_start() {
        bg rsyslogd rsyslogd -n -f "$W/rsyslog.conf" -i "$W/rsyslogd.pid"; RS_PID=$LAST_PID
        waitport $RS_TLS && waitport $RS_MTLS
}
rsyslog_stop() { kill "$RS_PID" 2>/dev/null; wait "$RS_PID" 2>/dev/null; }
# logd_stack: busd, a session checker standing in for authd, logd
logd_stack() {
        stack_init logd logprod testsvc
        stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = []; subscribe = []; };'
        stack_acl logprod 'logprod = { call = ["bus.*"]; publish = ["log.*"]; subscribe = []; };'
        sed -i -e 's/^remote_backoff_max_s = .*/remote_backoff_max_s = 1;/' "$T_DIR/etc/logd.conf"
        export DEVSEC_TOKEN=tok:admin:admin:system,security,system-info
        : > "$T_DIR/empty.conf"
        stack_busd
        bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/empty.conf"
        svc_up authd
        N_LOGD=0
        logd_start
}
logd_start() { N_LOGD=$((N_LOGD + 1)); bg logd$N_LOGD "$B/logd"; LOGD=$LAST_PID; svc_up logd; }
logd_status_field() { dc --json log status | python3 -c "import sys,json; d=json.load(sys.stdin); print(d$1)"; }
# received_check FIRST LAST: every seq FIRST..LAST arrived; order and duplicates
received_check() {
        python3 - "$W/out/messages.log" "$1" "$2" <<'PY'
import re, sys
path, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seen, order, dups = set(), [], 0
for line in open(path, errors='replace'):
    m = re.search(r'\[devsec@32473 seq="(\d+)"', line)
    if not m: continue
    s = int(m.group(1))
    if s in seen: dups += 1; continue
    seen.add(s); order.append(s)
missing = [s for s in range(first, last + 1) if s not in seen]
inorder = all(a < b for a, b in zip(order, order[1:]))
print(f"missing={len(missing)} dups={dups} inorder={inorder} first_missing={missing[:5]}")
sys.exit(0 if not missing and inorder else 1)
PY
}
