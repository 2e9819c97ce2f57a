#!/bin/bash
# Functions that are a daemon's own setting are one switch (bus/svc_function.c):
# authd's anonymous and password_reset, logd's remote forwarding (a permit).
# Either side switched, the other follows; at start the function table wins.
source "$(dirname "$0")/../lib/tap.sh"
ADMIN_PW='Zx9#mQ2$vLa'
stack_init authd netcfgd logd
sed -i 's/^hash_opslimit = .*/hash_opslimit = 1;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 8;/' "$T_DIR/etc/authd.conf"
stack_busd
bg authd "$B/authd"; AUTHD=$LAST_PID; svc_up authd || { nok "authd up"; exit 0; }
bg netcfgd "$B/netcfgd" --dry-run; svc_up netcfgd || { nok "netcfgd up"; exit 0; }
bg logd "$B/logd"; LOGD=$LAST_PID; svc_up logd || { nok "logd up"; exit 0; }
wait_for 5 test -s "$T_DIR/state/authd/setup-code"
printf '%s\n' "$ADMIN_PW" | dc init --password-stdin >/dev/null
printf '%s\n' "$ADMIN_PW" | dc login -u admin --password-stdin >/dev/null || { nok "admin login"; exit 0; }

check_out "function list names who obeys them" 'anonymous_login .*authd: its anonymous setting' dc function list
check_out "password_reset too" 'password_reset .*authd: its password_reset setting' dc function list

# the function switched: the setting follows
check_rc "function enable anonymous_login" 0 dc function enable anonymous_login
check_until "authd's anonymous follows" 10 'anonymous: +yes' dc config get authd
check_out "and its audit item fails now" 'auth.anonymous .*fail' dc call authd audit.report level=1
check_rc "function disable password_reset" 0 dc function disable password_reset
check_until "authd's password_reset follows" 10 'password_reset: +no' dc config get authd
check_out "a reset request is refused" 'EDISABLED.*password reset is switched off' dc auth reset request admin

# the setting changed: the function follows
check_rc "config set authd anonymous=false" 0 dc config set authd anonymous=false
check_until "anonymous_login is off in the table" 10 'anonymous_login +no' dc function list
check_rc "config set authd password_reset=true" 0 dc config set authd password_reset=true
check_until "password_reset is on in the table" 10 'password_reset +yes' dc function list

# a permit: remote_log off turns logd's forwarding off; on does not turn it on
check_out "remote_log ships on, logd's forwarding off (no server)" 'remote_log +yes' dc function list
check_rc "function disable remote_log" 0 dc function disable remote_log
check_rc "function enable remote_log" 0 dc function enable remote_log
check_out "logd's forwarding stays off (a permit, not a twin)" 'remote_enabled: +no' dc config get logd

# authd restarted while the table says anonymous_login on: the table wins
check_rc "function enable anonymous_login" 0 dc function enable anonymous_login
check_until "authd follows" 10 'anonymous: +yes' dc config get authd
{ kill "$AUTHD"; wait "$AUTHD"; } 2>/dev/null
rm -f "$T_DIR/state/authd/settings.mp"
bg authd "$B/authd"; AUTHD=$LAST_PID; svc_up authd || nok "authd back"
check_until "at start authd takes the function's state" 10 'anonymous: +yes' dc config get authd
check_rc "function disable anonymous_login" 0 dc function disable anonymous_login
check_until "and follows it off again" 10 'anonymous: +no' dc config get authd
