#!/bin/bash
# The generic contract every service gets: sys.ping, config.get/set/reset/
# export/import (validated, persisted atomically, announced with the user),
# audit.report and audit.harden (dry run, apply), SIGHUP reload, -n.
source "$(dirname "$0")/../lib/tap.sh"
stack_init testsvc
stack_acl testsvc 'testsvc = { serve = ["testsvc", "authd"]; call = ["bus.*"]; publish = ["*"]; subscribe = ["*"]; };'
# only the two services of this stack are known (a known service that is down fails the audit)
find "$T_DIR/etc/bus.acl.d" -name '*.acl' ! -name testsvc.acl -delete
stack_busd
bg testsvc "$B/tests/testsvc"; SVC=$LAST_PID
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/none.conf"; AUTHD=$LAST_PID
svc_up testsvc; svc_up authd
export DEVSEC_TOKEN=tok:ann:admin:system,system-info,security,backup
VIEW=tok:val:viewer:monitor

check_out "sys.ping without a session" 'state: +running' env -u DEVSEC_TOKEN "$B/devctl" call testsvc sys.ping
check_out "config get shows defaults" 'greeting: +hello' dc config get testsvc
check_out "secrets never shown" '^0$' sh -c "'$B/devctl' config get testsvc | grep -c secret || true"
check_rc "viewer may not read config (3)" 3 env DEVSEC_TOKEN=$VIEW "$B/devctl" config get testsvc
listen_bg "$T_DIR/ev" -- testsvc.config. --count=1
check_out "config set validates and applies" 'limit: +4' dc config set testsvc limit=4 greeting=hi
wait_for 5 test -s "$T_DIR/ev"
check_out "config.changed names the user and the keys" '"user":"ann".*"keys":\["limit","greeting"\]' cat "$T_DIR/ev"
check_out "out of range names the field" 'EINVAL: settings.limit: must be between 1 and 100' dc config set testsvc limit=0
check_out "unknown setting names the field" 'EINVAL: settings.colour: unknown argument' dc config set testsvc colour=red
check_out "a refused change leaves the settings as they were" 'limit: +4' dc config get testsvc
check "settings file is private" sh -c "[ \"\$(stat -c %a '$T_DIR/state/testsvc/settings.mp')\" = 600 ]"
kill $SVC; wait $SVC 2>/dev/null
bg testsvc2 "$B/tests/testsvc"; SVC=$LAST_PID; svc_up testsvc
check_out "settings survive a restart" 'greeting: +hi' dc config get testsvc
dc config export testsvc > "$T_DIR/export.json"
check_out "export is JSON with service and settings" '"service":"testsvc".*"settings":\{' cat "$T_DIR/export.json"
check_out "reset restores factory defaults" 'limit: +10' dc config reset testsvc
check_out "import restores the export" 'imported: +yes' dc config import testsvc "$T_DIR/export.json"
check_out "imported values are back" 'greeting: +hi' dc config get testsvc
sed 's/"limit":4/"limit":400/' "$T_DIR/export.json" > "$T_DIR/bad.json"
check_out "a bad import changes nothing and names the field" 'EINVAL: settings.limit' dc config import testsvc "$T_DIR/bad.json"
sed 's/"limit":4/"limit":4,"limit":1/' "$T_DIR/export.json" > "$T_DIR/dup.json"
check_out "an import naming a key twice is refused with its place" "dup.json': not a configuration export: line 1 column [0-9]+: duplicate object key" dc config import testsvc "$T_DIR/dup.json"
printf '\xff' | cat "$T_DIR/export.json" - > "$T_DIR/utf.json"
check_rc "an import that is not UTF-8 is refused (usage, exit 2)" 2 dc config import testsvc "$T_DIR/utf.json"
head -c 1100000 /dev/zero | tr '\0' ' ' | cat "$T_DIR/export.json" - > "$T_DIR/big.json"
check_out "an import larger than a bus message is refused" 'larger than 1048576 bytes' dc config import testsvc "$T_DIR/big.json"
check_out "and none of them changed anything" 'greeting: +hi' dc config get testsvc
check_out "audit fails level 2 items" 'test\.limit +2 +fail' dc audit --level 2
check_rc "audit exits 1 on a failed item" 1 dc audit --level 2
check_out "harden dry run changes nothing" 'would-apply' dc harden --level 2 --dry-run
check_out "still failing after the dry run" 'test\.strict +1 +fail' dc audit --level 1
check_out "harden applies level 2" ' applied, 0 need an operator, 0 failed' dc harden --level 2
check_rc "audit passes after hardening" 0 dc audit --level 2
check_out "viewer cannot harden (EPERM)" 'EPERM' env DEVSEC_TOKEN=$VIEW "$B/devctl" call testsvc audit.harden level=1

# SIGHUP reload: a broken file is refused, the running settings stay
printf 'limit = 7;\n' > "$T_DIR/etc/testsvc.conf"
dc config reset testsvc >/dev/null
kill -HUP $SVC
check_until "SIGHUP reloads the file" 5 'limit: +7' dc config get testsvc
printf 'limit = 700;\n' > "$T_DIR/etc/testsvc.conf"
kill -HUP $SVC
check_until "a bad file on SIGHUP is refused and logged with file:line" 5 "testsvc.conf:1: 'limit' must be between 1 and 100" cat "$T_DIR/log/testsvc2.log"
check_out "the running settings stay" 'limit: +7' dc config get testsvc
check_out "-n names the bad line" "testsvc.conf:1: 'limit' must be between" "$B/tests/testsvc" -n
check_rc "-n exits 1 on a bad file" 1 "$B/tests/testsvc" -n
printf 'limit = 7;\n' > "$T_DIR/etc/testsvc.conf"
check_out "-n says configuration OK" 'configuration OK' "$B/tests/testsvc" -n

# a known service that is down fails the audit instead of leaving it: the score never rises
check_out "both services' items are in the audit" 'testsvc +test\.strict' dc audit --level 1
{ kill -9 "$AUTHD"; wait "$AUTHD"; } 2>/dev/null
wait_for 10 sh -c "'$B/devctl' --json status | grep -q '\"name\":\"authd\",\"state\":\"down\"'"
check_out "a service that is down fails each of its items (its installed table)" 'authd +auth\.initialised +1 +fail' dc audit --level 1
check_out "with the detail not running" '"id":"auth.lockout","level":1,[^}]*"result":"fail","detail":"not running"' dc audit --level 1 --json
check_out "a service without an installed table fails its running item" 'authd +authd\.running +1 +fail' \
        env DEVSEC_AUDIT_DIR=/nonexistent "$B/devctl" audit --level 1
check_rc "and the audit exits 1" 1 dc audit --level 1
check_out "the score counts it" 'level 1: [0-9]+ passed, [1-9][0-9]* failed' dc audit --level 1
