#!/bin/bash
# The generic paths check what the specific methods check: config.export,
# config.import, config.reset and audit.harden need the service's own
# authorities for its state (authd: account+security; filterd and netcfgd:
# network+security), never backup alone; a refused import changes nothing.
source "$(dirname "$0")/../lib/tap.sh"
stack_init authd filterd
# fast hashes for the scenario; the default cost has its own unit test and the bench
sed -i 's/^hash_opslimit = .*/hash_opslimit = 1;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 8;/' "$T_DIR/etc/authd.conf"
stack_busd
bg authd "$B/authd"; svc_up authd || { nok "authd starts"; exit 0; }
bg filterd "$B/filterd" --dry-run; svc_up filterd || { nok "filterd starts"; exit 0; }
as() { local u=$1; shift; DEVSEC_TOKEN_FILE="$T_DIR/tok.$u" "$B/devctl" "$@"; }
login() { printf '%s\n' "$2" | as "$1" login -u "$1" --password-stdin >/dev/null; }
adduser() { printf '%s\n' "$3" | as admin user add "$1" "$2" --password-stdin >/dev/null; }
ADMIN_PW='Zx9#mQ2$vL'; EVE_PW='Qm4!zT7#kW'; SAM_PW='Hq5%tN8=wY'
init_dev() { printf '%s\n' "$ADMIN_PW" | dc init --password-stdin >/dev/null 2>&1; }
init_dev
login admin "$ADMIN_PW"
adduser eve operator "$EVE_PW"
as admin group add secops security >/dev/null
adduser sam secops "$SAM_PW"
login eve "$EVE_PW"; login sam "$SAM_PW"
check_out "eve is an operator, who holds backup" 'authorities: .*backup' as eve whoami

# ---- export: backup alone gets the settings, never the accounts
as eve config export authd > "$T_DIR/eve.json" 2>&1
if grep -q '"users"' "$T_DIR/eve.json"; then nok "an operator's export carries no account store"; else ok "an operator's export carries no account store"; fi
check_out "and says why the state was left out" '"state_omitted": *"account\+security"' cat "$T_DIR/eve.json"
check_out "her export still has the settings" '"policy_profile"' cat "$T_DIR/eve.json"

# ---- import: eve makes herself admin in an export and imports it
as admin config export authd > "$T_DIR/admin.json"
python3 - "$T_DIR/admin.json" "$T_DIR/forged.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for u in d["state"]["users"]:
    if u["name"] == "eve":
        u["group"] = "admin"
json.dump(d, open(sys.argv[2], "w"))
PY
check_out "an operator importing an account store: EPERM naming the authorities" \
        "EPERM: config.import of state needs authority 'account\+security'" as eve config import authd "$T_DIR/forged.json"
login eve "$EVE_PW"
check_out "and she is still an operator" 'group: +operator' as eve whoami
printf '{"settings":{"max_sessions_per_user":1}}' > "$T_DIR/settings.json"
check_out "settings through import need config.set's authority (security)" \
        "EPERM: config.import of settings needs authority 'security'" as eve config import authd "$T_DIR/settings.json"
check_out "the setting is unchanged" 'max_sessions_per_user: +[^1]' as admin config get authd

# ---- reset: security alone may not wipe every account
check_out "a security-only user may not reset authd (EPERM)" \
        "EPERM: config.reset needs authority 'account\+security'" as sam config reset authd
check_out "the accounts are all still there" 'eve +operator' as admin user list
check_out "harden changes settings: an operator is refused" 'EPERM' as eve harden --level 1

# ---- import is all or nothing: a refused state leaves the settings as they were
python3 - "$T_DIR/admin.json" "$T_DIR/half.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["settings"]["max_sessions_per_user"] = 3
d["state"]["users"][0]["group"] = "nosuch"
json.dump(d, open(sys.argv[2], "w"))
PY
check_rc "an import whose state is bad fails" 1 as admin config import authd "$T_DIR/half.json"
check_out "and its settings did not take" 'max_sessions_per_user: +[^3]' as admin config get authd

# ---- filterd: its rules are network+security
as eve config export filterd > "$T_DIR/eve-f.json" 2>&1
check_out "an operator's filterd export leaves the rules out" '"state_omitted": *"network\+security"' cat "$T_DIR/eve-f.json"
as admin config export filterd > "$T_DIR/admin-f.json"
check_out "an operator importing filterd rules: EPERM" "EPERM: config.import of state needs authority 'network\+security'" \
        as eve config import filterd "$T_DIR/admin-f.json"
check_out "admin may import them" 'imported: +yes' as admin --timeout 30000 config import filterd "$T_DIR/admin-f.json"
