#!/bin/bash
# netcfgd HTTPS certificates: the device CA and server certificate (EC P-256,
# SAN) verify with openssl verify and with s_client against s_server on
# 127.0.0.1:16143; keys are 0600 and never on the bus; cert.import refuses a
# mismatched key, an expired certificate, a SAN that misses the device and an
# unverifiable chain, and accepts a good externally signed pair.
source "$(dirname "$0")/../lib/tap.sh"
have openssl || { skip "netcfgd certificates" "openssl not installed"; exit 0; }
PORT=16143
netcfgd_stack || { nok "stack comes up"; exit 0; }
export DEVSEC_TOKEN=tok:admin:admin:system,network,security,system-info,backup
CD="$DEVSEC_STATEDIR/netcfgd/certs"
W="$T_DIR/w"; mkdir -p "$W"

# s_client against s_server using FILES, verifying with CA and host name; prints the verify line
tls_check() { # CERT KEY CAFILE HOST
        local p out
        openssl s_server -accept "127.0.0.1:$PORT" -cert "$1" -key "$2" -naccept 1 -quiet >"$W/srv.log" 2>&1 & p=$!
        T_PIDS="$T_PIDS $p"
        wait_for 5 sh -c "ss -Hltn 'sport = :$PORT' | grep -q ."
        out=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$3" -verify_return_error \
                -verify_hostname "$4" -brief 2>&1); echo "$out"
        kill $p 2>/dev/null; wait $p 2>/dev/null
}

# first start: a certificate from the settings, so first boot can be done over HTTPS
check_until "a first certificate is made at the first start" 5 'present: +yes' dc https cert show
check_out "its root can be exported at once" 'device CA written to' dc https cert export-root "$W/first.pem"
check "webd's copies: certificate and key in the TLS hand-over, 0640" sh -c \
        "[ \"\$(stat -c %a '$DEVSEC_STATEDIR/tls/server.key')\" = 640 ] && cmp -s '$CD/server.key' '$DEVSEC_STATEDIR/tls/server.key' && cmp -s '$CD/server.pem' '$DEVSEC_STATEDIR/tls/server.pem'"
check "netcfgd's own key stays 0600" test "$(stat -c %a "$CD/server.key")" = 600
rm -rf "$CD" "$DEVSEC_STATEDIR/tls"
check_out "with the files gone, cert show says none" 'present: +no' dc https cert show
check_out "export-root before a CA exists is ENOENT" 'ENOENT' dc https cert export-root "$W/none.pem"
check_out "days out of range names days" 'EINVAL: days: ' dc https cert create days=0
check_out "a bad DNS name names the field" 'EINVAL: dns' dc https cert create 'dns=["bad host!"]'
check_out "cert create issues a server certificate" 'fingerprint_sha256: ' dc https cert create days=30
check_out "the SAN has the configured DNS name and IP" 'DNS:localhost.*IP:127\.0\.0\.1' dc https cert show
check_out "the issuer is the device CA" 'issuer: +/O=devsec/CN=devsec-camera device CA' dc https cert show
check_out "https show carries the certificate" 'subject: +/O=devsec/CN=devsec-camera' dc https show

check "server.key is mode 0600" test "$(stat -c %a "$CD/server.key")" = 600
check "ca.key is mode 0600" test "$(stat -c %a "$CD/ca.key")" = 600
check_out "the server key is EC P-256" 'prime256v1|P-256' openssl pkey -in "$CD/server.key" -noout -text
check_out "the CA is a CA" 'CA:TRUE' openssl x509 -in "$CD/ca.pem" -noout -text
check_out "the server certificate is for serverAuth" 'TLS Web Server Authentication' openssl x509 -in "$CD/server.pem" -noout -text

check_out "export-root writes the CA" 'written' dc https cert export-root "$W/root.pem"
check "the exported root is the device CA" cmp -s "$W/root.pem" "$CD/ca.pem"
check_out "openssl verify: server.pem against the exported root" "$CD/server.pem: OK" openssl verify -CAfile "$W/root.pem" "$CD/server.pem"
check_out "openssl verify -x509_strict with purpose sslserver" ': OK' openssl verify -x509_strict -purpose sslserver -CAfile "$W/root.pem" "$CD/server.pem"
fp=$(openssl x509 -in "$CD/server.pem" -noout -fingerprint -sha256 | cut -d= -f2)
check_out "cert show's fingerprint is openssl's" "$fp" dc https cert show
out=$(tls_check "$CD/server.pem" "$CD/server.key" "$W/root.pem" localhost)
if echo "$out" | grep -q 'Verification: OK'; then ok "s_client verifies s_server running on the device files (host localhost)"; else nok "s_client verifies s_server on the device files"; echo "#   $out" | head -5; fi
out=$(tls_check "$CD/server.pem" "$CD/server.key" "$W/root.pem" evil.example)
if echo "$out" | grep -qi 'verify error\|hostname mismatch'; then ok "s_client refuses a host name outside the SAN"; else nok "s_client refuses a host name outside the SAN"; echo "#   $out" | head -3; fi

# the private key is never on the bus
all=$( { dc --json https cert show; dc --json https show; dc --json call netcfgd cert.export_root; dc config export netcfgd; } 2>&1)
if echo "$all" | grep -q 'PRIVATE KEY'; then nok "no private key in any answer"; else ok "no private key in any answer"; fi

cafp=$(openssl x509 -in "$CD/ca.pem" -noout -fingerprint -sha256)
dc https cert create days=10 >/dev/null
check "a second cert create keeps the device CA" test "$cafp" = "$(openssl x509 -in "$CD/ca.pem" -noout -fingerprint -sha256)"
check_out "the new server certificate still verifies" ': OK' openssl verify -CAfile "$W/root.pem" "$CD/server.pem"
dc https cert create new_ca=true >/dev/null
check "new_ca=true replaces the device CA" test "$cafp" != "$(openssl x509 -in "$CD/ca.pem" -noout -fingerprint -sha256)"

# import: an external CA (EC) and its certificates
cd "$W"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=Ext CA" -keyout ext-ca.key \
        -out ext-ca.pem -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
mk() { # NAME SAN DAYS
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" -keyout "$1.key" -out "$1.csr" 2>/dev/null
        printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' "$2" > "$1.ext"
        openssl x509 -req -in "$1.csr" -CA ext-ca.pem -CAkey ext-ca.key -CAcreateserial -days "$3" -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
mk good 'DNS:localhost,IP:127.0.0.1' 2
mk expired 'DNS:localhost,IP:127.0.0.1' -1
mk narrow 'DNS:other.example' 2
mk noip 'DNS:localhost' 2
cd - >/dev/null
before=$(openssl x509 -in "$CD/server.pem" -noout -fingerprint -sha256)
check_out "import: mismatched key refused naming key" 'EINVAL: key: the key does not match' dc https cert import "$W/good.pem" "$W/narrow.key" "$W/ext-ca.pem"
check_out "import: expired certificate refused naming cert" 'EINVAL: cert: the certificate has expired' dc https cert import "$W/expired.pem" "$W/expired.key" "$W/ext-ca.pem"
check_out "import: SAN not covering the device name refused" "EINVAL: cert: the SAN does not cover the device name 'localhost'" dc https cert import "$W/narrow.pem" "$W/narrow.key" "$W/ext-ca.pem"
check_out "import: SAN not covering the device IP refused" "EINVAL: cert: the SAN does not cover the device address '127.0.0.1'" dc https cert import "$W/noip.pem" "$W/noip.key" "$W/ext-ca.pem"
check_out "import: a chain that does not verify is refused" 'EINVAL: cert: the chain does not verify' dc https cert import "$W/good.pem" "$W/good.key"
check_out "import: not a certificate" 'EINVAL: cert: not a PEM certificate' dc https cert import "$W/good.key" "$W/good.key" "$W/ext-ca.pem"
check "refused imports left the installed certificate alone" test "$before" = "$(openssl x509 -in "$CD/server.pem" -noout -fingerprint -sha256)"
check_out "import: a good externally signed pair is installed" 'issuer: +/CN=Ext CA' dc https cert import "$W/good.pem" "$W/good.key" "$W/ext-ca.pem"
check "the imported key is 0600" test "$(stat -c %a "$CD/server.key")" = 600
check "the imported key is the one given" cmp -s <(openssl pkey -in "$CD/server.key") <(openssl pkey -in "$W/good.key")
check "webd's copy follows the import" cmp -s "$CD/server.key" "$DEVSEC_STATEDIR/tls/server.key"
out=$(tls_check "$CD/server.pem" "$CD/server.key" "$W/ext-ca.pem" localhost)
if echo "$out" | grep -q 'Verification: OK'; then ok "s_client verifies s_server on the imported files"; else nok "s_client verifies s_server on the imported files"; echo "#   $out" | head -5; fi
if grep -q 'PRIVATE' "$T_DIR/log/netcfgd.log"; then nok "netcfgd never logs key material"; else ok "netcfgd never logs key material"; fi
head -c 70000 /dev/zero | tr '\0' 'A' > "$W/huge.pem"
check_out "devctl refuses an oversized file before sending it" 'File too large' dc https cert import "$W/huge.pem" "$W/good.key"
check_out "the schema refuses an oversized certificate by name" 'EINVAL: cert: ' dc call netcfgd cert.import cert="$(cat "$W/huge.pem")" key=x
check_out "cert.import needs the key" 'EINVAL: key: ' dc call netcfgd cert.import cert=x
check_out "a viewer may not create certificates" "EPERM: user 'bob' lacks authority 'security'" env DEVSEC_TOKEN=tok:bob:viewer:monitor,system-info "$B/devctl" https cert create
