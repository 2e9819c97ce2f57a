#!/bin/bash
# The device's audit, one aggregation: a daemon that should run and does not
# fails each of its items ("not running", the score goes down, nothing is
# dropped); one whose function is off has each n/a (off), so a factory device
# does not fail level 1 for SMTP and FTP being off; the guide's operator items
# are listed, never passed; --json carries the guide, ETSI and IEC references;
# --format sarif is SARIF 2.1.0; webd's /api/v1/audit gives devctl's verdicts.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/webd_lib.sh"
have curl || { skip "audit sweep" "curl missing"; exit 0; }
have python3 || { skip "audit sweep" "python3 missing"; exit 0; }
webd_stack || exit 0
webd_init
printf '%s\n' "$ADMIN_PW" | "$B/devctl" login -u admin --password-stdin >/dev/null 2>&1 || nok "devctl login"
A1="$T_DIR/a1.json"
dc --json audit --level 1 > "$A1"

# py FILE EXPR: evaluates EXPR with d = the JSON of FILE; ok when it prints True
py() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1" 2>&1; }
items_of() { printf "[i for i in d['items'] if i['service']=='%s']" "$1"; }

check_out "smtp off at the factory: each smtp-notifier item is n/a (off)" '^True$' py "$A1" \
        "len($(items_of smtp-notifier))>0 and all(i['result']=='n/a' and i['detail'].startswith('off') for i in $(items_of smtp-notifier))"
check_out "FTP off at the factory: each sftp-storage item is n/a (off)" '^True$' py "$A1" \
        "len($(items_of sftp-storage))>0 and all(i['result']=='n/a' and 'ftp' in i['detail'] for i in $(items_of sftp-storage))"
check_out "level 1 has no failed item of a switched-off function" '^0$' py "$A1" \
        "len([i for i in d['items'] if i['service'] in ('smtp-notifier','sftp-storage') and i['result']=='fail'])"
check_out "a daemon of the stack never started fails each of its items: not running" '^True$' py "$A1" \
        "len($(items_of logd))>0 and all(i['result']=='fail' and i['detail']=='not running' for i in $(items_of logd))"
check_out "the operator items are listed with the guide's advice, never passed" '^True$' py "$A1" \
        "[i['id'] for i in d['items'] if i['result']=='operator']==['client.latest'] and 'latest version' in [i for i in d['items'] if i['id']=='client.latest'][0]['remediation']"
check_out "--json: every item names its Dahua level and section, ETSI and IEC fields" '^True$' py "$A1" \
        "all(all(k in i for k in ('dahua_level','dahua_section','dahua_item','etsi','iec','level','result','detail')) for i in d['items'])"
check_out "--json: auth.lockout is 2.2.7 Set account lock, ETSI 5.1-5, IEC CR 1.11" '^True$' py "$A1" \
        "[(i['dahua_level'],i['dahua_section'],i['dahua_item'],i['etsi'],i['iec']) for i in d['items'] if i['id']=='auth.lockout']==[(1,'2.2.7','Set account lock','5.1-5','CR 1.11')]"
check_out "--json: the score is passed / (passed + failed)" '^True$' py "$A1" \
        "d['score']==100*d['passed']//(d['passed']+d['failed']) and d['failed']==len([i for i in d['items'] if i['result']=='fail'])"

# SARIF 2.1.0: a rule per item, a result per failed item, levels error/warning
dc audit --level 2 --format sarif > "$T_DIR/a.sarif"
dc --json audit --level 2 > "$T_DIR/a2.json"
sarif_ok() {
        python3 - "$T_DIR/a.sarif" "$T_DIR/a2.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1])); a = json.load(open(sys.argv[2]))
assert s["version"] == "2.1.0" and "sarif-2.1.0" in s["$schema"], "version/$schema"
assert isinstance(s["runs"], list) and len(s["runs"]) == 1, "runs"
run = s["runs"][0]
drv = run["tool"]["driver"]
assert isinstance(drv["name"], str) and drv["name"], "tool.driver.name"
rules = drv["rules"]
ids = [r["id"] for r in rules]
assert ids == [i["id"] for i in a["items"]], "a rule per item"
for r in rules:
    assert isinstance(r["shortDescription"]["text"], str)
fails = [i["id"] for i in a["items"] if i["result"] == "fail"]
res = run["results"]
assert [r["ruleId"] for r in res] == fails, "a result per failed item"
for r in res:
    assert r["level"] in ("error", "warning"), r["level"]
    assert isinstance(r["message"]["text"], str) and r["message"]["text"]
    assert rules[r["ruleIndex"]]["id"] == r["ruleId"], "ruleIndex"
assert any(r["level"] == "error" for r in res) and any(r["level"] == "warning" for r in res), "both levels"
print("sarif ok")
EOF
}
check_out "--format sarif: SARIF 2.1.0 with a rule per item and a result per failure" '^sarif ok$' sarif_ok

# webd's API: the same verdicts as devctl, under the session
J="$T_DIR/jar"
wlogin admin "$ADMIN_PW" || nok "web login"
verdicts() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(sorted((i['service'],i['id'],i['result']) for i in d['items']), d['passed'], d['failed'], d['na'], d['score'])" "$1"; }
for lv in 1 3; do
        wcurl "$URL/api/v1/audit?level=$lv" > "$T_DIR/w$lv.json"
        dc --json audit --level $lv > "$T_DIR/d$lv.json"
        if [ -n "$(verdicts "$T_DIR/d$lv.json" 2>/dev/null)" ] && [ "$(verdicts "$T_DIR/w$lv.json" 2>&1)" = "$(verdicts "$T_DIR/d$lv.json")" ]; then
                ok "GET /api/v1/audit?level=$lv: devctl's verdicts and score"
        else
                nok "GET /api/v1/audit?level=$lv: devctl's verdicts and score"; head -c 400 "$T_DIR/w$lv.json" | sed 's/^/#   /'; echo
        fi
done
check_out "a bad level: 400 naming level" '"field":"level".*:400$' wcurl -w ':%{http_code}' "$URL/api/v1/audit?level=7"
check_out "no session: 401" ':401$' curl -sS --cacert "$CA" -w ':%{http_code}' "$URL/api/v1/audit?level=1"
wpost /api/v1/call '{"service":"authd","method":"user.add","args":{"name":"vera","group":"viewer","password":"Qm4!zT7#kWx"}}' >/dev/null
J="$T_DIR/jar-vera"; CSRF=""
wlogin vera 'Qm4!zT7#kWx' || nok "viewer web login"
check_out "a viewer (no system-info): 403 EPERM" '"code":"EPERM".*:403$' wcurl -w ':%{http_code}' "$URL/api/v1/audit?level=1"

# a daemon that stops: each of its items fails, none is dropped, the score drops
before=$(py "$A1" "d['score']")
nbefore=$(py "$A1" "len($(items_of netcfgd))")
NPID=$(dc --json status | python3 -c "import json,sys; print([s['pid'] for s in json.load(sys.stdin) if s['name']=='netcfgd'][0])")
kill "$NPID" 2>/dev/null
wait_for 10 sh -c "'$B/devctl' --json status | grep -q '\"name\":\"netcfgd\",\"state\":\"down\"'" || nok "netcfgd is down"
dc --json audit --level 1 > "$T_DIR/a1-down.json"
check_out "netcfgd down: each of its items fails, not running" '^True$' py "$T_DIR/a1-down.json" \
        "len($(items_of netcfgd))==$nbefore and all(i['result']=='fail' and i['detail']=='not running' for i in $(items_of netcfgd))"
check_out "and the score goes down" '^True$' py "$T_DIR/a1-down.json" "d['score'] < $before"
check_rc "and devctl audit exits 1" 1 dc audit --level 1
