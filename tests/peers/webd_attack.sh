#!/bin/bash
# Attacks on webd with real clients on 127.0.0.1: a password flood from
# parallel curl clients ends with the account locked after 5 failures and
# webd and authd still answering, with their CPU bounded; twice the
# connection limit gets the excess refused and webd serves again once they
# go; slowloris clients are dropped at the header deadline.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/webd_lib.sh"
have curl || { skip "webd attacks" "curl missing"; exit 0; }
have python3 || { skip "webd attacks" "python3 missing"; exit 0; }
HOLD="$ROOT_DIR/tests/lib/webd_hold.py"
MAXC=8           # netcfgd's max_connections, set below
HDR_S=3          # header_timeout_s
WEBD_EXTRA_CONF="header_timeout_s = $HDR_S;
idle_timeout_s = 6;"
webd_stack || exit 0
webd_init
J="$T_DIR/jar"
wlogin admin "$ADMIN_PW" || nok "admin logs in through webd"
printf '%s\n' "$ADMIN_PW" | dc login -u admin --password-stdin >/dev/null
VICTIM_PW='Vw7#kP4!nR'
printf '%s\n' "$VICTIM_PW" | dc user add victim operator --password-stdin >/dev/null
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$1/stat"; }

# 1. password flood: CLIENTS curl processes, each PER attempts on one
# keep-alive connection (within per_source_max: all come from 127.0.0.1)
ATTEMPTS=${WEBD_ATTACK_ATTEMPTS:-10000}
CLIENTS=8
PER=$((ATTEMPTS / CLIENTS))
flood() {
        local urls=() i
        for ((i = 0; i < PER; i++)); do urls+=(-o /dev/null "$URL/api/v1/login"); done
        curl -s --cacert "$CA" -w '%{http_code}\n' -X POST -H "Origin: $ORIGIN" \
                -H 'Content-Type: application/json' --data '{"user":"victim","password":"wrong-Guess-1"}' "${urls[@]}"
}
a0=$(cpu_ms "$AUTHD_PID"); w0=$(cpu_ms "$WEBD_PID"); t0=$(date +%s%N)
FP=""
for ((c = 0; c < CLIENTS; c++)); do flood > "$T_DIR/flood.$c" & FP="$FP $!"; done
for p in $FP; do wait "$p"; done
t1=$(date +%s%N); a1=$(cpu_ms "$AUTHD_PID"); w1=$(cpu_ms "$WEBD_PID")
cat "$T_DIR"/flood.* | sort | uniq -c | sed 's/^/# HTTP /'
n401=$(cat "$T_DIR"/flood.* | grep -c '^401$'); nall=$(cat "$T_DIR"/flood.* | wc -l)
nrefused=$(cat "$T_DIR"/flood.* | grep -cE '^(423|429)$')
echo "# $nall attempts; authd CPU $((a1 - a0)) ms, webd CPU $((w1 - w0)) ms"
ms=$(( (t1 - t0) / 1000000 ))
check "$ATTEMPTS attempts answered within 60 s (${ms} ms)" test "$ms" -lt 60000
check_out "$ATTEMPTS attempts, each answered" "^$ATTEMPTS\$" echo "$nall"
check_out "5 wrong-password answers (401), no more" '^5$' echo "$n401"
check_out "the rest refused as locked or rate-limited (423/429)" "^$((ATTEMPTS - 5))\$" echo "$nrefused"
check_out "the right password now: ELOCKED with the lockout message" '"code":"ELOCKED","msg":"[^"]*lock' \
        wpost /api/v1/login "{\"user\":\"victim\",\"password\":\"$VICTIM_PW\"}" -b /dev/null -c /dev/null
check_out "webd still answers" '"initialised":true' wcurl "$URL/api/v1/status"
check_out "authd still answers: another user's call through webd" '"users":\[' \
        wpost /api/v1/call '{"service":"authd","method":"user.list","args":{}}'
# locked attempts are refused before any hashing: both daemons' CPU stays far
# below one millisecond-scale hash per attempt (generous for a slow CI box)
check "authd CPU bounded ($((a1 - a0)) ms for $ATTEMPTS attempts)" test $((a1 - a0)) -lt $((ATTEMPTS * 3))
check "webd CPU bounded ($((w1 - w0)) ms for $ATTEMPTS attempts)" test $((w1 - w0)) -lt $((ATTEMPTS * 5))

# 2. twice the connection limit: netcfgd's max_connections, followed live
n0=$(grep -c 'listening on 127.0.0.1 port [0-9]* (https)' "$T_DIR/log/webd.log")
check_rc "netcfgd max_connections=$MAXC" 0 dc config set netcfgd max_connections=$MAXC
check_until "webd rebuilds its listener with the limit" 10 "^$((n0 + 1))\$" \
        grep -c 'listening on 127.0.0.1 port [0-9]* (https)' "$T_DIR/log/webd.log"
# the holders trickle a header byte a second: a long header deadline keeps
# them for this part (webd reads it live)
check_rc "header_timeout_s=30 for now" 0 dc config set webd header_timeout_s=30
# from 16 source addresses: one each, so per_source_max is not what refuses
SRCS=$(seq -s, -f '127.0.0.%g' 10 25)
coproc HOLD_P { python3 "$HOLD" limit 127.0.0.1 "$WEBD_PORT" "$CA" "$SRCS" $((2 * MAXC)); }
HOLD_PID=$HOLD_P_PID; T_PIDS="$T_PIDS $HOLD_PID"
read -r -t 30 held <&"${HOLD_P[0]}" || held="no answer"
check_out "$((2 * MAXC)) clients: $MAXC accepted, the excess refused" "^accepted=$MAXC refused=$MAXC\$" echo "$held"
check_out "while they hold every slot a new client is refused" '^000$' \
        curl -s --cacert "$CA" -o /dev/null -w '%{http_code}' --max-time 3 "$URL/api/v1/status"
exec {HOLD_P[1]}>&-
wait "$HOLD_PID" 2>/dev/null
check_until "once they go, webd serves a normal request" 10 '"initialised":true' wcurl "$URL/api/v1/status"
check_rc "header_timeout_s=$HDR_S again" 0 dc config set webd header_timeout_s=$HDR_S

# 3. slowloris: a request line, then a header byte every 2 s (under the
# idle timeout of 6 s); the header deadline of 3 s drops every one
python3 "$HOLD" slow 127.0.0.1 "$WEBD_PORT" "$CA" 127.0.0.1 6 2 20 > "$T_DIR/slow"
sed 's/^/# /' "$T_DIR/slow" | sort -n -k3 | tr '\n' ' '; echo
check_out "6 slowloris clients: all dropped" '^6$' grep -c '^closed ' "$T_DIR/slow"
check "each within the header deadline plus 2 s" awk -v lim=$((HDR_S + 2)) '/^closed/ && $3 > lim { bad = 1 } /^open/ { bad = 1 } END { exit bad }' "$T_DIR/slow"
check_out "webd still serves" '"initialised":true' wcurl "$URL/api/v1/status"
