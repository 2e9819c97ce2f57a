#!/bin/bash
# net.https is checked from a real connection, not from the listener count:
# webd runs in a network namespace of the test's own; its audit item passes
# with the device certificate and the protocol named, fails naming the port
# when a firewall in front of the port drops the connections (webd still has
# its listener open), and passes again once the rule is gone. TLS 1.3 as the
# minimum: the probe sees TLS 1.2 refused.
source "$(dirname "$0")/../lib/tap.sh"
source "$ROOT_DIR/tests/lib/webd_lib.sh"
need_root && have nft || { skip "net.https from a local connection" "needs root and nft for a namespace of its own"; exit 0; }
NS=devsec-wprobe-$$
ip netns add "$NS" && ip -n "$NS" link set lo up || { nok "namespace $NS"; exit 0; }
trap 'ip netns del "$NS" 2>/dev/null; t_cleanup' EXIT
WEBD_WRAP="ip netns exec $NS"
webd_stack || exit 0
wait_for 5 test -s "$T_DIR/state/authd/setup-code"
printf '%s\n' "$ADMIN_PW" | dc init --password-stdin >/dev/null
check_rc "admin login" 0 sh -c "printf '%s\n' '$ADMIN_PW' | '$B/devctl' login -u admin --password-stdin"
audit() { dc call webd audit.report level=1; }
check_until "net.https passes from a TLS connection to the listener, the certificate named" 15 \
        'net.https .* pass +127\.0\.0\.1:'"$WEBD_PORT"': TLSv1\.[23], the device certificate \(SHA-256 [0-9a-f]{16}' audit
FP=$(openssl x509 -in "$T_DIR/state/netcfgd/certs/server.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f | cut -c1-16)
check_out "the fingerprint is netcfgd's server certificate" "SHA-256 $FP" audit

# a firewall in front of the port: the listener is still open, nobody gets through
ip netns exec "$NS" nft -f - <<EON
table inet devsec_wprobe {
        chain input { type filter hook input priority 0; tcp dport $WEBD_PORT drop; }
}
EON
check_out "webd still has its listener open" 'LISTEN' ip netns exec "$NS" ss -Hltn "sport = :$WEBD_PORT"
check_until "net.https fails naming the port when connections are dropped" 30 \
        "net.https .* fail +127\.0\.0\.1:$WEBD_PORT: no TLS handshake" audit
ip netns exec "$NS" nft delete table inet devsec_wprobe
check_until "and passes again once the rule is gone" 30 'net.https .* pass ' audit

# TLS 1.3 minimum: the probe sees 1.2 refused
check_rc "https set tls_min=1.3" 0 dc call netcfgd https.set tls_min=1.3
check_until "net.https passes with TLS 1.3, an older version refused" 30 'net.https .* pass .*TLSv1\.3' audit
check_out "a TLS 1.2 client is refused indeed" '^refused$' sh -c "ip netns exec '$NS' openssl s_client -connect '127.0.0.1:$WEBD_PORT' -tls1_2 </dev/null >/dev/null 2>&1 && echo accepted || echo refused"
