#!/bin/bash
# Where a login comes from, and its MAC, are believed only from a front end
# (a gateway identity in authd's front_ends, known from busd's stamp):
# - devctl (an operator peer) or any other caller is "local" whatever its body
#   says: rotating a forged source gives no extra guesses, and a failure
#   "from" a management address asks for no ban of that address;
# - local attempts are limited per user name, so many names from the console
#   are not throttled as one source;
# - a vouching front end may give the source, which sessions then carry;
# - a MAC binding is satisfied only by the MAC a front end saw; the local
#   console (no MAC) is not bound; another daemon's body MAC proves nothing.
source "$(dirname "$0")/../lib/tap.sh"
stack_init authd webd rogue watcher
stack_acl webd 'webd = { gateway = true; call = ["authd.session.login"]; publish = []; subscribe = []; };'
stack_acl rogue 'rogue = { call = ["authd.session.login"]; publish = []; subscribe = []; };'
stack_acl watcher 'watcher = { call = ["bus.*"]; publish = []; subscribe = ["auth.locked"]; };'
sed -i 's/^hash_opslimit = .*/hash_opslimit = 1;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 8;/' "$T_DIR/etc/authd.conf"
check_out "the shipped configuration names webd as the front end" '^front_ends = \[ "webd" \];' cat "$T_DIR/etc/authd.conf"
stack_busd
bg authd "$B/authd"; AUTHD_PID=$LAST_PID
svc_up authd || { nok "authd starts"; exit 0; }
ADMIN_PW='Zx9#mQ2$vL'; BOB_PW='Vw7#kP4!nR'; CAM_PW='Hq5%tN8=wY'
printf '%s\n' "$ADMIN_PW" | dc init --password-stdin >/dev/null
printf '%s\n' "$ADMIN_PW" | dc login -u admin --password-stdin >/dev/null
for u in bob carl; do printf '%s\n' "$BOB_PW" | dc user add $u operator --password-stdin >/dev/null; done
printf '%s\n' "$CAM_PW" | dc user add cam viewer mac=02:00:00:00:00:01 --password-stdin >/dev/null
F="$B/tests/authd_flood"
flogin() { local pw=$1; shift; printf '%s\n' "$pw" | "$F" "$@"; }
"$B/devctl" --identity watcher listen auth.locked > "$T_DIR/events.txt" 2>&1 &
T_PIDS="$T_PIDS $!"

# ---- source: only a front end says
check_out "devctl with a forged source logs in as local" '^ok source=local$' flogin "$BOB_PW" -s 203.0.113.5 login bob
check_out "another daemon's body source is not believed either" '^ok source=local$' flogin "$BOB_PW" -i rogue -s 192.0.2.50 login bob
check_rc "a daemon may be listed in front_ends" 0 dc config set authd 'front_ends=["webd","rogue"]'
check_out "but a daemon listed in front_ends is still not believed: only a gateway is" '^ok source=local$' flogin "$BOB_PW" -i rogue -s 192.0.2.51 login bob
check_rc "front_ends back to webd" 0 dc config set authd 'front_ends=["webd"]'
check_out "a front end gives the source" '^ok source=192\.0\.2\.60$' flogin "$BOB_PW" -i webd -s 192.0.2.60 login bob
check_out "the session carries the front end's source" 'bob .*192\.0\.2\.60' dc session list
check_out "and the forged one is recorded as local" 'bob .*local' dc session list
ea=0; el=0
for i in $(seq 1 10); do
        case $(flogin "Wr0ng#$i" -s "198.51.100.$i" login carl) in
        *code=EAUTH*) ea=$((ea + 1)) ;; *code=ELOCKED*) el=$((el + 1)) ;; esac
done
if [ $ea = 5 ] && [ $el = 5 ]; then ok "rotating a forged source gives no extra guesses (5 failures, then locked)"
else nok "rotating forged sources: EAUTH=$ea ELOCKED=$el (want 5 and 5)"; fi
# a failure "from" the management address asks for no ban of it
"$F" -s 10.0.0.1 brute ghostx 5 >/dev/null
wait_for 5 grep -q '"user":"ghostx"' "$T_DIR/events.txt"
check_out "the lock event names the local source, not the forged address" '"user":"ghostx","source":"local"' cat "$T_DIR/events.txt"
check_out "so does the audit record" "account 'ghostx' locked after failed attempts from 'local'" cat "$T_DIR/log/authd.log"
if grep -q "10\.0\.0\.1" "$T_DIR/events.txt" "$T_DIR/log/authd.log"; then nok "the forged address reached an event or record"
else ok "the forged address is in no event and no record"; fi
# local attempts are limited per name: many names from the console are not one source
check_out "30 names from the console: each tried, none throttled as one source" '^EAUTH=30 ELOCKED=0 EBUSY=0 other=0' \
        "$F" spray console 30
check_out "an operator still logs in locally" '^ok source=local$' flogin "$ADMIN_PW" login admin
# a front end's one source is throttled as one
check_out "one front-end source is throttled as one" 'EBUSY=[1-9]' "$F" -i webd -s 192.0.2.70 spray webguess 30

# ---- MAC binding
check_out "user list says the binding is for front-end logins only" 'cam .*02:00:00:00:00:01 +front-end logins only' dc user list
check_out "front end with the bound MAC: logged in" '^ok source=192\.0\.2\.80$' \
        flogin "$CAM_PW" -i webd -s 192.0.2.80 -m 02:00:00:00:00:01 login cam
check_out "front end with another MAC: refused like a wrong password" 'code=EAUTH .*wrong user name or password' \
        flogin "$CAM_PW" -i webd -s 192.0.2.80 -m 02:00:00:00:00:02 login cam
check_out "front end that saw no MAC: refused" 'code=EAUTH' flogin "$CAM_PW" -i webd -s 192.0.2.81 login cam
check_out "another daemon's body MAC does not satisfy the binding" 'code=EAUTH' \
        flogin "$CAM_PW" -i rogue -m 02:00:00:00:00:01 login cam
check_out "the local console (no MAC) is not bound" '^ok source=local$' flogin "$CAM_PW" -m 02:00:00:00:00:09 login cam

# ---- settings are checked
check_out "login_burst below login_rate is refused naming the field" 'EINVAL: (settings\.)?login_burst: must be at least login_rate' \
        dc config set authd login_rate=5 login_burst=2
check_out "login_rate out of range is refused naming the field" 'EINVAL: (settings\.)?login_rate: must be between' dc config set authd login_rate=0
check_out "a bad front-end name is refused naming the field" 'EINVAL: (settings\.)?front_ends' \
        dc call authd config.set --args-json '{"front_ends":["web d"]}'
check_out "policy show tells the rate limit" 'login_burst: +10' dc auth policy show
