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

# upg_build VERSION: timed rebuilt with another version string, once per build
# dir (make is incremental); echoes the binary's directory
upg_build() {
        local d="$B/upgrade-test/$1"
        make -s -C "$ROOT_DIR" BUILD="$d" VERSION="$1" "$d/timed" >/dev/null 2>&1 || return 1
        mkdir -p "$d/comp-timed" && cp "$d/timed" "$d/comp-timed/timed" && echo "$d/comp-timed"
}

# upg_resign IN OUT SIGNER [OLD NEW]: IN with its manifest (OLD replaced by NEW)
# signed again by openssl cms with SIGNER's key, whatever its key usage
upg_resign() {
        python3 - "$@" <<'PY'
import struct, subprocess, sys, tempfile, os
src, dst, signer = sys.argv[1:4]
b = open(src, 'rb').read()
fmt, ml, sl = struct.unpack('>III', b[8:20])
man, payload = b[20:20 + ml], b[20 + ml + sl:]
if len(sys.argv) > 5:
    man = man.replace(sys.argv[4].encode(), sys.argv[5].encode())
pki = os.environ['PKI']
with tempfile.NamedTemporaryFile() as m, tempfile.NamedTemporaryFile() as s:
    m.write(man); m.flush()
    subprocess.check_call(['openssl', 'cms', '-sign', '-binary', '-nosmimecap', '-outform', 'DER', '-in', m.name,
                           '-signer', f'{pki}/{signer}.pem', '-inkey', f'{pki}/{signer}.key', '-out', s.name])
    sig = open(s.name, 'rb').read()
open(dst, 'wb').write(b[:8] + struct.pack('>III', fmt, len(man), len(sig)) + man + sig + payload)
PY
}

# upg_supervise NAME ARGS...: the build-tree launcher's contract for one
# service (tools/devsec-run): started from its component link when there is
# one, restarted when it dies or when run/svcmgr/NAME.restart appears
upg_supervise() {
        local n=$1; shift
        (
                p=""
                trap '[ -n "$p" ] && kill "$p" 2>/dev/null; exit 0' TERM INT
                while :; do
                        if [ -e "$DEVSEC_RUNDIR/svcmgr/$n.restart" ]; then
                                rm -f "$DEVSEC_RUNDIR/svcmgr/$n.restart"
                                if [ -n "$p" ]; then kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; fi
                                p=""
                        fi
                        if [ -z "$p" ] || ! kill -0 "$p" 2>/dev/null; then
                                bin="${UPG_BASE:-$B/$n}"
                                [ -x "$DEVSEC_RUNDIR/components/$n/current/$n" ] && bin="$DEVSEC_RUNDIR/components/$n/current/$n"
                                "$bin" "$@" >>"$T_DIR/log/$n.log" 2>&1 &
                                p=$!
                                echo "$p" > "$T_DIR/$n.pid"
                        fi
                        sleep 0.2
                done
        ) &
        T_PIDS="$T_PIDS $!"
}
# pid_of NAME: the pid sys.ping reports
pid_of() { "$B/devctl" --json call "$1" sys.ping 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("pid",""))'; }
ver_of() { "$B/devctl" --json call "$1" sys.ping 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("version",""))'; }
