#!/bin/bash
# webd's API with a real curl: the session cookie and its flags, calls under
# the session, CSRF and Origin refusals that change nothing, JSON only, 1 MiB
# bodies, security headers, static files that never leave the console
# directory, the plain-HTTP redirect, and the https function switching the
# listener off and on.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/webd_lib.sh"
have curl || { skip "webd API" "curl missing"; exit 0; }
webd_stack || exit 0
J="$T_DIR/jar"
H="$T_DIR/h"

wait_for 5 test -s "$T_DIR/state/authd/setup-code"
check_out "a wrong setup code: 401 EAUTH" '"code":"EAUTH"' wpost /api/v1/init "{\"password\":\"$ADMIN_PW\",\"setup_code\":\"AAAA-BBBB-CCCC-DDDD\"}"
check_out "first boot through the API with the setup code" '^\{' \
        wpost /api/v1/init "{\"password\":\"$ADMIN_PW\",\"setup_code\":\"$(cat "$T_DIR/state/authd/setup-code")\"}"
check_out "authd is initialised" '"initialised":true' wcurl "$URL/api/v1/status"
wpost /api/v1/login "{\"user\":\"admin\",\"password\":\"$ADMIN_PW\"}" -D "$H" -o "$T_DIR/login.json"
check_out "login sets the __Host- cookie" '^Set-Cookie: __Host-devsec=[^;]+; Secure; HttpOnly; SameSite=Strict; Path=/' cat "$H"
TOK=$(sed -n 's/^Set-Cookie: __Host-devsec=\([^;]*\);.*/\1/p' "$H")
check "the token is not in the body" sh -c "[ -n '$TOK' ] && ! grep -qF -- '$TOK' '$T_DIR/login.json'"
check_out "the body names the user and a CSRF token" '"user":"admin".*"csrf":"[0-9a-f]{64}"' cat "$T_DIR/login.json"
CSRF=$(sed -n 's/.*"csrf":"\([0-9a-f]*\)".*/\1/p' "$T_DIR/login.json")
check_out "the login's source is the TCP peer" '"source":"127.0.0.1"' wcurl "$URL/api/v1/whoami"

check_out "a call under the session: the JSON devctl --json prints" '^\{"users":\[\{"name":"admin"' \
        wpost /api/v1/call '{"service":"authd","method":"user.list","args":{}}'
check_out "errors keep code, msg and field" '"code":"EINVAL".*"field":"name"' \
        wpost /api/v1/call '{"service":"authd","method":"user.add","args":{"name":"bad name!","group":"viewer","password":"Qm4!zT7#kWx"}}'
check_out "no cookie: 401 EAUTH" '"code":"EAUTH".*:401$' curl -sS --cacert "$CA" -w ':%{http_code}' -X POST -H "Origin: $ORIGIN" \
        -H 'Content-Type: application/json' -H "X-CSRF-Token: $CSRF" --data '{"service":"authd","method":"user.list"}' "$URL/api/v1/call"
check_out "the gateway's key without a token: EAUTH, as an anonymous operator" 'EAUTH' \
        env -u DEVSEC_TOKEN DEVSEC_TOKEN_FILE="$T_DIR/none" "$B/devctl" --identity webd call authd user.list

add_carol() { wcurl -o /dev/null -w '%{http_code}' -X POST "$@" -H 'Content-Type: application/json' \
        --data '{"service":"authd","method":"user.add","args":{"name":"carol","group":"viewer","password":"Qm4!zT7#kWx"}}' "$URL/api/v1/call"; }
check_out "no CSRF token: 403" '^403$' add_carol -H "Origin: $ORIGIN"
check_out "a wrong CSRF token: 403" '^403$' add_carol -H "Origin: $ORIGIN" -H "X-CSRF-Token: $(printf '%064d' 0)"
check_out "a foreign Origin with the right token: 403" '^403$' add_carol -H "Origin: https://evil.example" -H "X-CSRF-Token: $CSRF"
check_out "no Origin: 403" '^403$' add_carol -H "X-CSRF-Token: $CSRF"
check_out "a cross-site fetch (Sec-Fetch-Site): 403" '^403$' add_carol -H "Origin: $ORIGIN" -H "X-CSRF-Token: $CSRF" -H 'Sec-Fetch-Site: cross-site'
check_out "a foreign Origin on login: 403" '^403$' wcurl -o /dev/null -w '%{http_code}' -X POST -H 'Origin: https://evil.example' \
        -H 'Content-Type: application/json' --data "{\"user\":\"admin\",\"password\":\"$ADMIN_PW\"}" "$URL/api/v1/login"
check_out "nothing changed: no carol" '^\{"users":\[\{"name":"admin"[^]]*\]\}$' wpost /api/v1/call '{"service":"authd","method":"user.list"}'
check_out "a form post (not JSON): 415" '^415$' wcurl -o /dev/null -w '%{http_code}' -X POST -H "Origin: $ORIGIN" -H "X-CSRF-Token: $CSRF" \
        --data 'service=authd&method=user.list' "$URL/api/v1/call"
check_out "method tunnelling refused" '^400$' add_carol -H "Origin: $ORIGIN" -H "X-CSRF-Token: $CSRF" -H 'X-HTTP-Method-Override: DELETE'
check_out "PUT refused" '^405$' wcurl -o /dev/null -w '%{http_code}' -X PUT "$URL/api/v1/call"
check_out "with Origin and token the same call works" '^200$' add_carol -H "Origin: $ORIGIN" -H "X-CSRF-Token: $CSRF"

head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' ' ' > "$T_DIR/big"
check_out "a body over 1 MiB: 413" '^413$' wcurl -o /dev/null -w '%{http_code}' -X POST -H "Origin: $ORIGIN" -H "X-CSRF-Token: $CSRF" \
        -H 'Content-Type: application/json' --data-binary @"$T_DIR/big" "$URL/api/v1/call"
# a chunked body has no length to refuse up front: webd stops reading at
# 1 MiB and closes the connection (MHD cannot queue a reply mid-upload); the
# check is that this happens promptly, not at the client's timeout
chunked_big() { wcurl -o /dev/null -w '%{http_code} %{time_total}' -X POST -H "Origin: $ORIGIN" -H "X-CSRF-Token: $CSRF" \
        -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' -H 'Expect:' --data-binary @"$T_DIR/big" "$URL/api/v1/call"; }
check_out "a chunked body over 1 MiB: 413 or closed within 5 s" '^(413|000) [0-4]\.' chunked_big

wcurl -D "$H" -o /dev/null "$URL/"
for h in "Content-Security-Policy: default-src 'self'" "frame-ancestors 'none'" 'X-Content-Type-Options: nosniff' \
        'Referrer-Policy: no-referrer' 'Strict-Transport-Security: max-age='; do
        check "the page carries $h" grep -qF "$h" "$H"
done
wcurl -D "$H" -o /dev/null "$URL/api/v1/whoami"
check "the API says Cache-Control: no-store" grep -q '^Cache-Control: no-store' "$H"
check_out "the console is served" '<script src="/app.js"' wcurl "$URL/"

echo secret > "$T_DIR/outside.txt"
ln -s "$T_DIR/outside.txt" "$T_DIR/www/link.txt"
mkdir -p "$T_DIR/www/sub"
for p in '/../outside.txt' '/%2e%2e/outside.txt' '/.%2e/outside.txt' '/%2e%2e%2foutside.txt' '//etc/passwd' \
        '/sub/../../outside.txt' '/link.txt' '/sub/' '/sub' '/index.html%00.js' '/.%00/x' '/cgi-bin/test.cgi' '/..%5coutside.txt'; do
        check_out "path '$p': 404" '^404$' wcurl --path-as-is -o /dev/null -w '%{http_code}' "$URL$p"
done

check_out "plain HTTP on the https port is refused" '^(000|400)' curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$WEBD_PORT/"
check_out "the http port redirects to https" "^301 https://127\.0\.0\.1:$WEBD_PORT/x\$" \
        curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --max-time 5 "http://127.0.0.1:$WEBD_HTTP/x"
check_out "the redirect serves nothing else" '^301$' curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$WEBD_HTTP/api/v1/whoami"

check_out "logout clears the cookie" '^Set-Cookie: __Host-devsec=; .*Max-Age=0' wpost /api/v1/logout '{}' -D - -o /dev/null
check_out "the old token no longer works" '"code":"EAUTH"' sh -c "curl -sS --cacert '$CA' -H 'Cookie: __Host-devsec=$TOK' $URL/api/v1/whoami"

# the https function off: webd stops listening; on again: it listens again
printf '%s\n' "$ADMIN_PW" | dc login -u admin --password-stdin >/dev/null
check_rc "function disable https" 0 dc function disable https
check_until "webd no longer listens" 10 '^closed$' sh -c "ss -Hltn 'sport = :$WEBD_PORT' | grep -q . && echo open || echo closed"
check_rc "function enable https" 0 dc function enable https
check_until "webd listens again" 10 '^open$' sh -c "ss -Hltn 'sport = :$WEBD_PORT' | grep -q . && echo open || echo closed"
if need_root; then
        check_out "webd listens on 127.0.0.1 only" "^127\.0\.0\.1:($WEBD_PORT|$WEBD_HTTP) 127\.0\.0\.1:($WEBD_PORT|$WEBD_HTTP) \$" \
                sh -c "ss -Hltnp | grep 'pid=$WEBD_PID,' | awk '{print \$4}' | tr '\n' ' '"
else
        skip "webd listens on 127.0.0.1 only" "ss -p needs root"
fi

# the console files are served from memory and checked again after a second:
# a changed file is served changed, a file replaced by a link or removed is not found
check_out "style.css served" 'body' wcurl "$URL/style.css"
printf '/* changed %s */\n' "$$" >> "$T_DIR/www/style.css"
check_until "a changed console file is served changed" 5 "changed $$" wcurl "$URL/style.css"
mv "$T_DIR/www/style.css" "$T_DIR/style.css.orig"; ln -s /etc/passwd "$T_DIR/www/style.css"
check_until "a console file replaced by a link is not found" 5 '^404$' wcurl -o /dev/null -w '%{http_code}' "$URL/style.css"
rm -f "$T_DIR/www/style.css"
check_until "a removed console file is not found" 5 '^404$' wcurl -o /dev/null -w '%{http_code}' "$URL/style.css"
mv "$T_DIR/style.css.orig" "$T_DIR/www/style.css"
check_until "and found again when it is back" 5 '^200$' wcurl -o /dev/null -w '%{http_code}' "$URL/style.css"

# the policy's verdict on a password: without a session only on a device not yet initialised
check_out "after first boot the password check needs a session" '"code":"EPERM"' \
        sh -c "curl -sS --max-time 10 --cacert '$CA' -X POST -H 'Origin: $ORIGIN' -H 'Content-Type: application/json' --data-binary '{\"password\":\"abc\"}' '$URL/api/v1/password-check'"
check "log in again" wlogin admin "$ADMIN_PW"
check_out "with a session it names the rule" '"rule":"length"' wpost /api/v1/password-check '{"password":"abc"}'
