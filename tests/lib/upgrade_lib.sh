# upgrade_lib.sh - upgrade-d tests: a test update PKI made with openssl(1) and
# bundles made with devsec-bundle from freshly built daemons.

# upg_pki DIR: DIR/ca.pem (the anchor), code.{pem,key} (code signing),
# smime.{pem,key} (S/MIME only), other.{pem,key} (code signing, another CA)
upg_pki() {
        local d=$1 n
        mkdir -p "$d"
        for ca in ca otherca; do
                openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=devsec test $ca" \
                        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
                        -keyout "$d/$ca.key" -out "$d/$ca.pem" 2>/dev/null || return 1
        done
        for n in code:codeSigning:ca smime:emailProtection:ca other:codeSigning:otherca; do
                local name=${n%%:*} rest=${n#*:}; local eku=${rest%%:*} ca=${rest#*:}
                openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=devsec test $name signer" \
                        -keyout "$d/$name.key" -out "$d/$name.csr" 2>/dev/null || return 1
                printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n' "$eku" > "$d/$name.ext"
                openssl x509 -req -in "$d/$name.csr" -CA "$d/$ca.pem" -CAkey "$d/$ca.key" -CAcreateserial -days 30 \
                        -extfile "$d/$name.ext" -out "$d/$name.pem" 2>/dev/null || return 1
        done
}

# upg_bundle OUT NAME VERSION SV DIR [SIGNER]: a signed bundle of DIR as component NAME
upg_bundle() {
        "$B/devsec-bundle" create --key "$PKI/${6:-code}.key" --cert "$PKI/${6:-code}.pem" \
                --security-version "$4" --component "$2@$3=$5" --out "$1"
}
