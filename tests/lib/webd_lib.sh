# webd_lib.sh - sourced by webd tests after tap.sh: a stack with authd,
# netcfgd and webd on 127.0.0.1, an initialised admin, curl helpers.
WEBD_PORT=${WEBD_PORT:-$((18000 + RANDOM % 1000))}
WEBD_HTTP=$((WEBD_PORT + 1000))
ADMIN_PW='Zx9#mQ2$vL'
webd_stack() {
        stack_init authd netcfgd webd webd-svc ${WEBD_MORE_IDS:-}
        cp -r "$ROOT_DIR/services/webd/www" "$T_DIR/www"
        sed -i 's/^hash_opslimit = .*/hash_opslimit = 1;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 8;/' "$T_DIR/etc/authd.conf"
        cat >> "$T_DIR/etc/webd.conf" <<EOC
listen = [ "127.0.0.1" ];
https_port = $WEBD_PORT;
http_port = $WEBD_HTTP;
www = "$T_DIR/www";
${WEBD_EXTRA_CONF:-}
EOC
        # a key given twice is refused: keep the last one
        awk '!seen[$1]++ || $1 ~ /^#/' <(tac "$T_DIR/etc/webd.conf") | tac > "$T_DIR/etc/webd.conf.new"
        mv "$T_DIR/etc/webd.conf.new" "$T_DIR/etc/webd.conf"
        stack_busd
        bg authd "$B/authd"; AUTHD_PID=$LAST_PID; svc_up authd
        bg netcfgd "$B/netcfgd" --dry-run; svc_up netcfgd
        bg webd ${WEBD_WRAP:-} "$B/webd" --dry-run ${WEBD_ARGS:-}; WEBD_PID=$LAST_PID; svc_up webd
        wait_for 10 ${WEBD_WRAP:-} sh -c "ss -Hltn 'sport = :$WEBD_PORT' | grep -q ." || { nok "webd listens on 127.0.0.1:$WEBD_PORT"; cat "$T_DIR/log/webd.log" | sed 's/^/#   /' | tail -20; return 1; }
        CA="$T_DIR/state/netcfgd/certs/ca.pem"
        URL="https://localhost:$WEBD_PORT"
        ORIGIN="https://localhost:$WEBD_PORT"
}
# webd_init: first boot through the API (setup code from authd's state dir)
webd_init() {
        wait_for 5 test -s "$T_DIR/state/authd/setup-code"
        wpost /api/v1/init "{\"password\":\"$ADMIN_PW\",\"setup_code\":\"$(cat "$T_DIR/state/authd/setup-code")\"}" >/dev/null
}
# wcurl ARGS...: curl against webd, verifying netcfgd's CA, cookie jar J
J=""
wcurl() { curl -sS --max-time 10 --cacert "$CA" -b "${J:-/dev/null}" -c "${J:-/dev/null}" "$@"; }
# wpost PATH JSON [extra curl args]: a same-origin POST (with the CSRF token when known)
CSRF=""
wpost() {
        local p=$1 d=$2; shift 2
        wcurl -X POST -H "Origin: $ORIGIN" -H 'Content-Type: application/json' ${CSRF:+-H "X-CSRF-Token: $CSRF"} \
                --data-binary "$d" "$@" "$URL$p"
}
# wlogin USER PASSWORD: logs in, keeps the cookie in $J and the CSRF token in $CSRF
wlogin() {
        local out
        out=$(wpost /api/v1/login "{\"user\":\"$1\",\"password\":\"$2\"}")
        CSRF=$(printf '%s' "$out" | sed -n 's/.*"csrf":"\([0-9a-f]*\)".*/\1/p')
        [ -n "$CSRF" ]
}
