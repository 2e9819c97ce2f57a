#!/bin/bash
# devctl backup: create (every service's export, secrets sealed to devctl,
# one file under a passphrase), change things, restore -> the originals back
# and the backed-up password logs in; a flipped byte, a truncated file, a
# wrong passphrase, a service refusing its part in prepare, a newer format
# major and missing authority are each refused with nothing changed. A plain
# config export still has no secrets; net.backup.recent sees the backup.
source "$(dirname "$0")/../lib/tap.sh"
stack_init authd filterd netcfgd
sed -i 's/^hash_opslimit = .*/hash_opslimit = 1;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 8;/' "$T_DIR/etc/authd.conf"
stack_busd
bg authd "$B/authd"; svc_up authd || { nok "authd starts"; exit 0; }
bg filterd "$B/filterd" --dry-run; svc_up filterd || { nok "filterd starts"; exit 0; }
bg netcfgd "$B/netcfgd" --dry-run; svc_up netcfgd || { nok "netcfgd starts"; exit 0; }
as() { local u=$1; shift; DEVSEC_TOKEN_FILE="$T_DIR/tok.$u" "$B/devctl" "$@"; }
login() { printf '%s\n' "$2" | as "$1" login -u "$1" --password-stdin >/dev/null; }
ADMIN_PW='Zx9#mQ2$vL'; EVE_PW='Qm4!zT7#kW'; NEW_PW='Wb6^pR3%dS'
printf '%s\n' "$ADMIN_PW" | dc init --password-stdin >/dev/null 2>&1
login admin "$ADMIN_PW"
printf '%s\n' "$EVE_PW" | as admin user add eve operator --password-stdin >/dev/null
login eve "$EVE_PW"
PF="$T_DIR/pass"; printf 'correct horse battery\n' > "$PF"
WRONG="$T_DIR/wrong"; printf 'incorrect horse battery\n' > "$WRONG"
BK="$T_DIR/dev.backup"
state() { # what an operator would compare: users, ports, filter entries
        as admin user list 2>&1 | awk '{print $1, $2}'
        as admin port show 2>&1 | grep -E 'http|ssh'
        as admin filter show --brief 2>&1 | grep -vE 'applied|ms|ago'
}

# ---- create
check_out "before any backup, net.backup.recent fails naming \"never\"" \
        '"id":"net\.backup\.recent"[^}]*"result":"fail","detail":"never' as admin --json audit --level 2
check_out "eve (operator: backup, not security+account) may not create a backup" \
        'backup create needs authorities backup\+security\+account \(missing: security\)' \
        as eve backup create --out "$T_DIR/eve.backup" --passphrase-file "$PF"
KEY=$(printf '%064d' 0 | tr 0 a)
check_out "nor ask a service for a sealed export herself" \
        "EPERM: config.export with secrets needs authority 'backup\+security\+account'" \
        as eve call authd config.export seal_to=$KEY
check_out "the refusal is a security record naming her" "refused config.export with secrets to 'eve'" cat "$T_DIR/log/authd.log"
check "and no file was written" test ! -e "$T_DIR/eve.backup"
check_out "admin creates one" 'backup written: .* \(3 services, [0-9]+ bytes, sha256 [0-9a-f]{64}\)' \
        as admin backup create --out "$BK" --passphrase-file "$PF"
check_out "the file is 0600" '^600$' stat -c %a "$BK"
if grep -aq 'argon2id\$\|"users"\|eve' "$BK"; then nok "no hash or user name in clear in the file"; else ok "no hash or user name in clear in the file"; fi
check_out "show prints the header after the passphrase" 'format: +1\.0' as admin backup show "$BK" --passphrase-file "$PF"
check_out "with each service's version" 'authd: +[0-9]' as admin backup show "$BK" --passphrase-file "$PF"
check_out "show with a wrong passphrase: refused" 'wrong passphrase' as admin backup show "$BK" --passphrase-file "$WRONG"
check_out "the device recorded it: net.backup.recent passes at level 2" 'net\.backup\.recent +2 +pass' as admin audit --level 2
"$B/tests/backup_tool" decode "$BK" "$PF" > "$T_DIR/payload.json"
check_out "inside, authd's export carries the password hashes" '"hash":"\$argon2id' cat "$T_DIR/payload.json"
as admin config export authd > "$T_DIR/plain.json"
check_out "a plain config export has the users" '"eve"' cat "$T_DIR/plain.json"
if grep -q 'argon2id' "$T_DIR/plain.json"; then nok "but no hash"; else ok "but no hash"; fi
ORIG=$(state)

# ---- change things
printf '%s\n' "$NEW_PW" | as admin user add mallory admin --password-stdin >/dev/null
printf '%s\n' "$NEW_PW" | as admin passwd eve --password-stdin >/dev/null
as admin port set http=8081 >/dev/null
as admin filter add 192.0.2.7 >/dev/null; as admin filter apply >/dev/null 2>&1
CHANGED=$(state)
if [ "$CHANGED" != "$ORIG" ]; then ok "the changes show"; else nok "the changes show"; fi

same() { if [ "$(state)" = "$CHANGED" ]; then ok "$1: nothing changed"; else nok "$1: nothing changed"; diff <(echo "$CHANGED") <(state) | sed 's/^/#   /'; fi; }

# ---- refusals, each leaving everything as it is
cp "$BK" "$T_DIR/flip.backup"
python3 - "$T_DIR/flip.backup" <<'PY'
import sys; p = sys.argv[1]; d = bytearray(open(p, 'rb').read()); d[len(d) // 2] ^= 0x01; open(p, 'wb').write(d)
PY
check_out "one flipped byte: refused" 'fails authentication|wrong passphrase, or the file was altered' \
        as admin backup restore "$T_DIR/flip.backup" --passphrase-file "$PF"
same "flipped byte"
head -c $(( $(stat -c %s "$BK") - 40 )) "$BK" > "$T_DIR/trunc.backup"
check_out "a truncated file: refused" 'truncated' as admin backup restore "$T_DIR/trunc.backup" --passphrase-file "$PF"
same "truncated file"
check_out "a wrong passphrase: refused" 'wrong passphrase' as admin backup restore "$BK" --passphrase-file "$WRONG"
same "wrong passphrase"
python3 - "$T_DIR/payload.json" "$T_DIR/bad.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["services"]["netcfgd"]["settings"]["http_port"] = 8090   # would change, if anything went in
for u in d["services"]["authd"]["state"]["users"]:
    if u["name"] == "eve":
        u["group"] = "nosuch"
json.dump(d, open(sys.argv[2], "w"))
PY
"$B/tests/backup_tool" encode "$BK" "$PF" "$T_DIR/bad.backup" < "$T_DIR/bad.json"
check_out "a service refusing its part in prepare: named, with the field" \
        'devctl: authd: EINVAL: state\.users.*group' as admin backup restore "$T_DIR/bad.backup" --passphrase-file "$PF"
check_out "and the restore says nothing was changed" 'authd refused its part: nothing was changed' \
        as admin backup restore "$T_DIR/bad.backup" --passphrase-file "$PF"
same "a refused prepare (netcfgd had prepared a port change)"
python3 - "$BK" "$T_DIR/major.backup" <<'PY'
import sys; d = open(sys.argv[1], 'rb').read()
assert b'\xa5major\x01' in d
open(sys.argv[2], 'wb').write(d.replace(b'\xa5major\x01', b'\xa5major\x02', 1))
PY
check_out "a newer format major: refused by name" 'backup format 2\.0 is newer than this devctl reads \(1\.x\)' \
        as admin backup restore "$T_DIR/major.backup" --passphrase-file "$PF"
same "newer major"
login eve "$NEW_PW"
check_out "eve (no security+account) may not restore" 'backup restore needs authorities' as eve backup restore "$BK" --passphrase-file "$PF"
same "missing authority"

# ---- an older backup: a setting it lacks takes its default, one retired since is ignored
python3 - "$T_DIR/payload.json" "$T_DIR/old.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s = d["services"]["netcfgd"]["settings"]
del s["backup_max_age_days"]       # new in this version
s["retired_setting"] = True        # gone from this version
d["services"]["netcfgd"]["version"] = "0.9.0"
json.dump(d, open(sys.argv[2], "w"))
PY
"$B/tests/backup_tool" encode "$BK" "$PF" "$T_DIR/old.backup" < "$T_DIR/old.json"
as admin config set netcfgd backup_max_age_days=7 >/dev/null
check_out "an older backup restores, naming the setting it ignores" "netcfgd: setting 'retired_setting' is unknown to this version: ignored" \
        as admin backup restore "$T_DIR/old.backup" --passphrase-file "$PF"
login admin "$ADMIN_PW"
check_out "the setting it lacks is back at its default" 'backup_max_age_days: +30$' as admin config get netcfgd
check_out "and the rest is the backup's (http 80)" 'http_port: +80$' as admin config get netcfgd

# ---- restore
check_out "admin restores the backup" 'restored 3 service\(s\)' as admin backup restore "$BK" --passphrase-file "$PF"
login admin "$ADMIN_PW"
if [ "$(state)" = "$ORIG" ]; then ok "users, ports and filter rules are the originals"; else nok "users, ports and filter rules are the originals"; diff <(echo "$ORIG") <(state) | sed 's/^/#   /'; fi
check_rc "eve logs in with her backed-up password" 0 login eve "$EVE_PW"
check_rc "not with the one set after the backup" 3 login eve "$NEW_PW"
check_out "mallory, added after the backup, is gone" '^$' sh -c "'$B/devctl' user list 2>&1 | grep mallory || true"

# ---- the audit item: never, then too old
check_rc "backup_max_age_days is a netcfgd setting" 0 as admin config set netcfgd backup_max_age_days=1
check_out "a backup on record passes" 'net\.backup\.recent +2 +pass' as admin audit --level 2

