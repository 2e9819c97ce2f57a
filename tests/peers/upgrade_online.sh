#!/bin/bash
# upgrade-d's online check against nginx on loopback (TLS with a test CA,
# byte ranges) serving a TUF repository made by devsec-bundle repo: check,
# a download cut mid-way (nginx stopped) that resumes, the install of what
# was downloaded; refused with the reason: an expired timestamp, a replayed
# old snapshot, a tampered target, plain http, a server under another CA;
# root rotation (the new root signed by the old) is followed.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/upgrade_lib.sh"
NGINX=$(type -P nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] && have openssl && have python3 || { skip "upgrade online scenario" "nginx, openssl or python3 missing"; exit 0; }
[ -x "$B/authd" ] && [ -x "$B/upgrade-d" ] || { skip "upgrade online scenario" "daemons not built"; exit 0; }
PORT=24043

stack_init authd timed timed-clock upgrade-d
PKI="$T_DIR/pki"; export PKI
upg_pki "$PKI" || { nok "test PKI"; exit 0; }
mkdir -p "$T_DIR/etc/upgrade/trust" "$T_DIR/etc/upgrade/tuf" && cp "$PKI/ca.pem" "$T_DIR/etc/upgrade/trust/"
sed -i 's/^hash_opslimit = .*/hash_opslimit = 1;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 8;/' "$T_DIR/etc/authd.conf"
sed -i 's/^health_timeout_s = .*/health_timeout_s = 6;/' "$T_DIR/etc/upgrade-d.conf"

# TLS for the update server: its own CA, and another one
W="$T_DIR/www"; mkdir -p "$W/tmp" "$W/repo" "$T_DIR/tls"
# nginx's workers (nobody) pass through the test dir to the repository only
chmod 711 "$T_DIR"; chmod 755 "$W"
( cd "$T_DIR/tls" && for ca in ca other; do
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=TLS $ca" -keyout $ca.key -out $ca.pem \
                -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null; done
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.pem 2>/dev/null )
nginx_conf() { # RATE (0: none)
        cat > "$W/nginx.conf" <<EOF
worker_processes 1;
pid $W/nginx.pid;
error_log $W/error.log info;
events { worker_connections 64; }
http {
  access_log $W/access.log;
  client_body_temp_path $W/tmp/body; proxy_temp_path $W/tmp/proxy; fastcgi_temp_path $W/tmp/fcgi;
  uwsgi_temp_path $W/tmp/uwsgi; scgi_temp_path $W/tmp/scgi;
  types { application/json json; application/octet-stream bundle; }
  server {
    listen 127.0.0.1:$PORT ssl;
    server_name localhost;
    ssl_certificate $T_DIR/tls/server.pem;
    ssl_certificate_key $T_DIR/tls/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    limit_rate $1;
    root $W/repo;
  }
}
EOF
}
NGX=""
nginx_start() {
        nginx_conf "$1"
        "$NGINX" -e "$W/error.log" -p "$W" -c "$W/nginx.conf" -g 'daemon off;' 2>>"$W/error.log" &
        NGX=$!; T_PIDS="$T_PIDS $NGX"
        wait_for 10 sh -c "ss -Hltn 'sport = :$PORT' | grep -q ."
}
nginx_stop() { kill "$NGX" 2>/dev/null; wait "$NGX" 2>/dev/null; wait_for 10 sh -c "! ss -Hltn 'sport = :$PORT' | grep -q ."; }

# the repository: a bundle of timed 1.0.1 padded to ~2 MiB (room for a cut)
C101=$(upg_build 1.0.1) || { nok "timed rebuilt as 1.0.1"; exit 0; }
head -c 2000000 /dev/urandom > "$C101/padding.bin"
upg_bundle "$T_DIR/timed-1.0.1.bundle" timed 1.0.1 1 "$C101" >/dev/null
rm -f "$C101/padding.bin"
R="$W/repo"
check_rc "devsec-bundle repo init" 0 "$B/devsec-bundle" repo init "$R"
check_rc "devsec-bundle repo add" 0 "$B/devsec-bundle" repo add "$R" "$T_DIR/timed-1.0.1.bundle"
cp "$R/metadata/1.root.json" "$T_DIR/etc/upgrade/tuf/root.json"
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import securesystemslib' 2>/dev/null; then
        check_out "securesystemslib verifies every role's signature over its canonical JSON" '^root timestamp snapshot targets $' \
                /usr/bin/python3 - "$R" <<'PY'
import json, sys
from securesystemslib.formats import encode_canonical
from securesystemslib import keys
d = sys.argv[1]; root = json.load(open(f"{d}/metadata/root.json")); out = ""
for role in ["root", "timestamp", "snapshot", "targets"]:
    m = json.load(open(f"{d}/metadata/{role}.json"))
    kid = root["signed"]["roles"][role]["keyids"][0]
    k = dict(root["signed"]["keys"][kid]); k["keyid"] = kid
    if keys.verify_signature(k, m["signatures"][0], encode_canonical(m["signed"]).encode()): out += role + " "
print(out)
PY
else skip "securesystemslib cross-check" "python3-securesystemslib not installed"; fi

stack_busd
bg authd "$B/authd"
bg timed-clock "$B/timed-clock" --dry-run
upg_supervise timed --dry-run
bg upgrade-d "$B/upgrade-d" --dry-run
for s in authd timed-clock timed upgrade-d; do svc_up $s || { nok "$s up"; exit 0; }; done
PW='Zx9#mQ2$vL'
printf '%s\n' "$PW" | dc init --password-stdin >/dev/null
printf '%s\n' "$PW" | dc login -u admin --password-stdin >/dev/null
nginx_start 0 || { nok "nginx on 127.0.0.1:$PORT"; exit 0; }

check_out "plain http is refused" 'EINVAL: settings.online_url: must be https' dc config set upgrade-d online_url="http://127.0.0.1:$PORT"
check_out "upgrade.online fails before any check" 'upgrade.online.*fail' dc call upgrade-d audit.report level=1
check_out "upgrade.latest fails before any check: the latest is unknown" 'upgrade.latest.*fail.*no verified update check' \
        dc call upgrade-d audit.report level=1
dc config set upgrade-d online_url="https://localhost:$PORT" online_ca_file="$T_DIR/tls/other.pem" >/dev/null
check_out "a server under another CA is refused" 'EUNAVAIL: url: metadata: .*(SSL|certificate)' dc upgrade check
dc config set upgrade-d online_ca_file="$T_DIR/tls/ca.pem" >/dev/null
check_out "upgrade check lists the bundle" 'timed-1\.0\.1\.bundle +timed +1\.0\.1 .*yes' dc upgrade check
check_out "upgrade.online passes after a check" 'upgrade.online.*pass' dc call upgrade-d audit.report level=1
check_out "upgrade.latest fails naming the newer component" "upgrade.latest.*fail.*'timed' 1\.0\.1 is available" \
        dc call upgrade-d audit.report level=1

# a download cut by stopping nginx, then resumed with a range
nginx_stop; nginx_start 200k
listen_bg "$T_DIR/log/progress.log" --json -- upgrade.progress
( DEVSEC_TIMEOUT_MS=60000 "$B/devctl" upgrade download timed-1.0.1.bundle > "$T_DIR/dl1.out" 2>&1 ) &
DL=$!
PART="$DEVSEC_STATEDIR/upgrade-d/downloads/timed-1.0.1.bundle.part"
wait_for 20 sh -c "[ \$(stat -c %s '$PART' 2>/dev/null || echo 0) -gt 300000 ]" || nok "the download started"
nginx_stop
wait "$DL"
check_out "the cut download fails, naming the transfer" 'EUNAVAIL: url: download of timed-1\.0\.1\.bundle' cat "$T_DIR/dl1.out"
check "the partial file is kept" test -s "$PART"
check_until "progress was published" 5 '"upgrade.progress".*"total":' cat "$T_DIR/log/progress.log"
nginx_start 0
dc --json upgrade download timed-1.0.1.bundle > "$T_DIR/dl2.out" 2>&1
check_out "the download resumes and is verified" '"resumed":true' cat "$T_DIR/dl2.out"
check_out "devctl --json prints its progress events" '^\{"target":"timed-1\.0\.1\.bundle","bytes":[0-9]+,"total":[0-9]+,"done":true' cat "$T_DIR/dl2.out"
check_out "nginx served a range" '" 206 ' cat "$W/access.log"
F="$DEVSEC_STATEDIR/upgrade-d/downloads/timed-1.0.1.bundle"
check_out "what was downloaded installs" 'result: +done' dc upgrade install "$F"
check_out "timed reports 1.0.1" '^1\.0\.1$' ver_of timed
check_out "upgrade.latest passes once it is installed" 'upgrade.latest.*pass.*newest version' \
        dc call upgrade-d audit.report level=1

# metadata attacks
cp -r "$R/metadata" "$T_DIR/old-metadata"
"$B/devsec-bundle" repo sign "$R" --role snapshot >/dev/null
check_out "a newer snapshot is taken" '"targets_version":' dc --json upgrade check
cp "$T_DIR/old-metadata/timestamp.json" "$T_DIR/old-metadata/snapshot.json" "$R/metadata/"
check_out "a replayed old timestamp and snapshot are refused" 'EINVAL: timestamp: .*replayed' dc upgrade check
"$B/devsec-bundle" repo sign "$R" --role timestamp --expires-in -60 >/dev/null
check_out "an expired timestamp is refused" 'EINVAL: timestamp: timestamp metadata expired' dc upgrade check
"$B/devsec-bundle" repo sign "$R" --role snapshot >/dev/null
python3 -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); b[-5]^=1; open(sys.argv[1],'wb').write(b)" "$R/targets/timed-1.0.1.bundle"
rm -f "$F"
check_out "a tampered target is refused after its download" 'EINVAL: sha256: .*does not match' dc upgrade download timed-1.0.1.bundle
check "and nothing is left of it" test ! -e "$F" -a ! -e "$PART"
check_rc "devsec-bundle repo rotate-root" 0 "$B/devsec-bundle" repo rotate-root "$R"
check_out "a rotated root signed by the old one is followed" '"root_version":2' dc --json upgrade check
check_out "the new root is kept" '"version": 2' cat "$DEVSEC_STATEDIR/upgrade-d/tuf/root.json"

# the online check installs what it finds, behind the same checks and gate
C102=$(upg_build 1.0.2) || nok "timed rebuilt as 1.0.2"
upg_bundle "$T_DIR/timed-1.0.2.bundle" timed 1.0.2 1 "$C102" >/dev/null
"$B/devsec-bundle" repo add "$R" "$T_DIR/timed-1.0.2.bundle" >/dev/null
dc config set upgrade-d online_auto_install=true >/dev/null
check_out "a check with online_auto_install names what it installs" '"auto_install":"timed-1\.0\.2\.bundle"' dc --json upgrade check
check_until "timed is upgraded to 1.0.2 without an operator" 30 '^1\.0\.2$' ver_of timed
check_until "the automatic install is an audit record of upgrade-d" 10 "'timed' 1\.0\.1 -> 1\.0\.2 committed \(by 'upgrade-d'" cat "$T_DIR/log/upgrade-d.log"
