#!/bin/bash
# testssl.sh's quick checks (-p -S -U) against webd on 127.0.0.1: no finding
# above LOW but the accepted ones below; TLS 1.0 and 1.1 refused (testssl
# and openssl s_client both), TLS 1.2 and 1.3 offered.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/webd_lib.sh"
TESTSSL=$(command -v testssl || command -v testssl.sh) || { skip "testssl.sh quick scan of webd" "testssl.sh missing (Debian package testssl.sh)"; exit 0; }
have openssl || { skip "testssl.sh quick scan of webd" "openssl missing"; exit 0; }
have python3 || { skip "testssl.sh quick scan of webd" "python3 missing"; exit 0; }
# Findings accepted above LOW, each with its reason:
#  cert_revocation      a device CA has no CRL distribution point or OCSP responder
#                       to name: nothing on a camera's LAN could serve them
#  engine_problem       about the local openssl binary testssl runs, not the server
#  TLS1_3               testssl's own socket probe reports "unexpected results" for
#                       GnuTLS's TLS 1.3 answer; TLS 1.3 is checked with s_client below
ACCEPTED="cert_revocation engine_problem TLS1_3"
webd_stack || exit 0
# the certificate scanned is the one netcfgd makes by default (cert_days 398,
# the CA/Browser Forum's limit, which testssl's lifetime rule checks)
printf '%s\n' "$ADMIN_PW" | { webd_init; dc login -u admin --password-stdin >/dev/null; }
check_out "the default server certificate lives at most 398 days" '^[0-9]+$' sh -c \
        "d=\$(( (\$(date -d \"\$(openssl x509 -in '$T_DIR/state/netcfgd/certs/server.pem' -noout -enddate | cut -d= -f2)\" +%s) - \$(date +%s)) / 86400 )); [ \$d -le 398 ] && echo \$d"

t0=$(date +%s)
timeout 150 "$TESTSSL" -p -S -U --quiet --color 0 --warnings off --add-ca "$CA" --jsonfile "$T_DIR/testssl.json" \
        "127.0.0.1:$WEBD_PORT" > "$T_DIR/testssl.out" 2>&1
echo "# testssl.sh -p -S -U: $(( $(date +%s) - t0 )) s"
check "testssl.sh wrote its findings" test -s "$T_DIR/testssl.json"
above_low() {
        python3 - "$T_DIR/testssl.json" "$ACCEPTED" <<'PY'
import json, sys
accepted = set(sys.argv[2].split())
for f in json.load(open(sys.argv[1])):
    if f["severity"] not in ("OK", "INFO", "LOW") and f["id"] not in accepted:
        print("%s %s %s" % (f["id"], f["severity"], f["finding"]))
PY
}
# testssl's client-renegotiation probe is timing-dependent on a loaded
# machine (it counts renegotiations done within a few seconds): a finding
# there must show again in a scan of renegotiation alone to count
if [ "$(above_low | awk '{print $1}' | sort -u)" = secure_client_renego ]; then
        echo "# secure_client_renego flagged once: $(above_low); scanning renegotiation alone again"
        timeout 60 "$TESTSSL" -R --quiet --color 0 --warnings off --add-ca "$CA" --jsonfile "$T_DIR/renego.json" \
                "127.0.0.1:$WEBD_PORT" > "$T_DIR/renego.out" 2>&1
        python3 - "$T_DIR/testssl.json" "$T_DIR/renego.json" <<'PY'
import json, sys
again = {f["id"]: f for f in json.load(open(sys.argv[2]))}
first = json.load(open(sys.argv[1]))
for f in first:
    if f["id"] == "secure_client_renego" and again.get(f["id"], {}).get("severity") in ("OK", "INFO", "LOW"):
        f.update(again[f["id"]])
json.dump(first, open(sys.argv[1], "w"))
PY
fi
# still flagged (a slow machine, ASan): ask directly whether a client-initiated
# renegotiation is honoured — a request after it must get no answer on that
# connection (webd closes it) — and say which of the two decided
if [ "$(above_low | awk '{print $1}' | sort -u)" = secure_client_renego ]; then
        out=$( (echo R; sleep 3; printf 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n'; sleep 2) |
                timeout 15 openssl s_client -tls1_2 -connect "127.0.0.1:$WEBD_PORT" -servername localhost -CAfile "$CA" 2>&1)
        if printf '%s\n' "$out" | grep -q '^RENEGOTIATING' && ! printf '%s\n' "$out" | grep -q '^HTTP/1\.'; then
                echo "# secure_client_renego flagged twice by testssl's timing probe; s_client: the renegotiation ends the connection"
                ok "a client-initiated renegotiation ends the connection (s_client), whatever testssl's timing probe says"
                python3 - "$T_DIR/testssl.json" <<'PY'
import json, sys
first = json.load(open(sys.argv[1]))
for f in first:
    if f["id"] == "secure_client_renego":
        f["severity"] = "OK"
json.dump(first, open(sys.argv[1], "w"))
PY
        fi
fi
check_out "no finding above LOW but the accepted ones ($ACCEPTED)" '^$' above_low
sev() { python3 -c 'import json,sys; print(" ".join(f["finding"] for f in json.load(open(sys.argv[1])) if f["id"] == sys.argv[2]))' "$T_DIR/testssl.json" "$1"; }
check_out "testssl: TLS 1.0 not offered" '^not offered' sev TLS1
check_out "testssl: TLS 1.1 not offered" '^not offered' sev TLS1_1
check_out "testssl: TLS 1.2 offered" '^offered' sev TLS1_2
s_client() { openssl s_client -connect "127.0.0.1:$WEBD_PORT" -servername localhost -CAfile "$CA" "$@" </dev/null 2>&1; }
check_out "s_client -tls1_1: refused" '(Cipher is \(NONE\)|no protocols available)' s_client -tls1_1
check_out "s_client -tls1: refused" '(Cipher is \(NONE\)|no protocols available)' s_client -tls1
check_out "s_client -tls1_3: TLSv1.3 with a verified certificate" 'Protocol version: TLSv1\.3\|.*Verification: OK' \
        sh -c "openssl s_client -connect 127.0.0.1:$WEBD_PORT -servername localhost -CAfile '$CA' -tls1_3 -brief </dev/null 2>&1 | tr '\n' '|'"
