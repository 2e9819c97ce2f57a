#!/bin/bash
# webd benchmark, side by side in one run:
#  - static file requests/s with wrk over TLS keep-alive: webd against nginx
#    serving the same file with the same certificate (target >= 0.8x);
#  - an API call's round trip through webd (POST /api/v1/call, keep-alive TLS,
#    one connection) against the same call through the bus client devctl uses;
#  - webd's idle USS.
source "$(dirname "$0")/../lib/tap.sh"
source "$ROOT_DIR/tests/lib/webd_lib.sh"
have wrk && have nginx || { bench "webd static files" "-" "-" "skipped: wrk or nginx missing (tests/deps/webd.txt)"; exit 0; }
DUR=${BENCH_SECONDS:-5}
WEBD_EXTRA_CONF="per_source_max = 64;
max_clients = 256;"
webd_stack >/dev/null || { bench "webd static files" "-" "-" "FAIL: webd did not start"; exit 0; }
sleep 1
bench "webd idle USS" "$(uss "$WEBD_PID")" "KiB" "listening, no client"

# nginx: the same file, the same certificate and key, one worker like webd's one loop
NG="$T_DIR/nginx"; NGPORT=$((WEBD_PORT + 2))
mkdir -p "$NG/tmp"
cat > "$NG/nginx.conf" <<EOC
user root;  # the test root is 0700
worker_processes 1;
pid $NG/nginx.pid;
error_log $NG/error.log;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path $NG/tmp/body; proxy_temp_path $NG/tmp/proxy; fastcgi_temp_path $NG/tmp/fcgi;
  uwsgi_temp_path $NG/tmp/uwsgi; scgi_temp_path $NG/tmp/scgi;
  types { text/css css; text/javascript js; text/html html; }
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGPORT ssl;
    server_name localhost;
    ssl_certificate $T_DIR/state/netcfgd/certs/server.pem;
    ssl_certificate_key $T_DIR/state/netcfgd/certs/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    root $T_DIR/www;
  }
}
EOC
bg nginx nginx -e "$NG/error.log" -p "$NG" -c "$NG/nginx.conf" -g 'daemon off;'
wait_for 10 sh -c "ss -Hltn 'sport = :$NGPORT' | grep -q ." || { bench "webd static files" "-" "-" "FAIL: nginx did not start"; exit 0; }
F=/style.css
check_same() { cmp -s <(curl -s --cacert "$CA" "https://localhost:$WEBD_PORT$F") <(curl -s --cacert "$CA" "https://localhost:$NGPORT$F"); }
check_same || { bench "webd static files" "-" "-" "FAIL: webd and nginx serve different bytes"; curl -sS --cacert "$CA" "https://localhost:$NGPORT$F" 2>&1 | head -3 >&2; exit 0; }
rps() { wrk -t2 -c16 -d"${DUR}s" "$1" 2>/dev/null | awk '/^Requests\/sec:/ { print int($2) }'; }
w=$(rps "https://localhost:$WEBD_PORT$F"); n=$(rps "https://localhost:$NGPORT$F")
bench "nginx static $F (TLS keep-alive, 16 conns)" "${n:-0}" "req/s" "1 worker, same file and certificate"
bench "webd static $F (TLS keep-alive, 16 conns)" "${w:-0}" "req/s" "libmicrohttpd+GnuTLS, one loop"
if [ "${n:-0}" -gt 0 ] && [ "${w:-0}" -gt 0 ]; then
        r=$(echo "scale=2; $w / $n" | bc)
        bench "webd / nginx static" "$r" "x" "target >= 0.80: $(echo "$r >= 0.8" | bc | sed 's/1/PASS/; s/0/FAIL/')"
else
        bench "webd / nginx static" "-" "x" "FAIL: no figure"
fi
bench "webd USS after the static run" "$(uss "$WEBD_PID")" "KiB" ""

# an API call: webd over one keep-alive TLS connection vs the bus client
webd_init
J="$T_DIR/jar"
wlogin admin "$ADMIN_PW" || { bench "webd API round trip" "-" "-" "FAIL: login"; exit 0; }
TOK=$(awk '$6 == "__Host-devsec" { print $7 }' "$J" 2>/dev/null)
[ -n "$TOK" ] || TOK=$(grep -o '__Host-devsec[[:space:]]*[^[:space:]]*' "$J" | awk '{print $2}')
cat > "$T_DIR/call.lua" <<EOL
wrk.method = "POST"
wrk.body = '{"service":"authd","method":"session.whoami"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Origin"] = "$ORIGIN"
wrk.headers["X-CSRF-Token"] = "$CSRF"
wrk.headers["Cookie"] = "__Host-devsec=$TOK"
EOL
out=$(wrk -t1 -c1 -d"${DUR}s" --latency -s "$T_DIR/call.lua" "$URL/api/v1/call" 2>/dev/null)
codes=$(printf '%s\n' "$out" | grep -c 'Non-2xx')
med=$(printf '%s\n' "$out" | awk '$1 == "50%" { v = $2; if (v ~ /ms$/) { sub(/ms/, "", v); v *= 1000 } else if (v ~ /us$/) sub(/us/, "", v); else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000000 }; print v }')
rate=$(printf '%s\n' "$out" | awk '/^Requests\/sec:/ { print int($2) }')
[ "$codes" = 0 ] || { bench "webd API round trip" "-" "-" "FAIL: non-2xx answers"; exit 0; }
bench "webd API authd.session.whoami median" "${med:--}" "us" "POST /api/v1/call, 1 keep-alive TLS connection; ${rate:-0} req/s"
printf '%s\n' "$ADMIN_PW" | dc login -u admin --password-stdin >/dev/null 2>&1
BT=$(head -1 "$DEVSEC_TOKEN_FILE")
bus=$(BENCH_TOKEN="$BT" "$B/bench/bus_bench" call 2000 authd session.whoami)
bmed=$(printf '%s\n' "$bus" | awk -F'\t' '$2 ~ /median$/ { print $3 }')
printf '%s\n' "$bus" | grep -q failures && { bench "bus client authd.session.whoami" "-" "-" "FAIL: calls failed"; exit 0; }
bench "bus client authd.session.whoami median" "${bmed:--}" "us" "what devctl does (CURVE, session)"
if [ -n "$med" ] && [ -n "$bmed" ]; then
        bench "webd API / bus client round trip" "$(echo "scale=2; $med / $bmed" | bc)" "x" "the price of HTTPS+JSON+the gateway"
fi
