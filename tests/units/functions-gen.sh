#!/bin/bash
# functions-gen: the polkit rule and drop-ins make install generates from
# etc/devsec/functions.conf (tools/devsec-functions-gen), without root or
# polkitd: the rule is run under node with a stand-in for polkit's API.
#  - devsec-netcfgd may "start" and "stop" each unit of the table, nothing else:
#    no other verb, no other unit (devsec-authd, names like "constructor"), no
#    action without a unit (transient units), no unit-file change, no reload
#  - other users are left to polkit's other rules (NOT_HANDLED)
#  - each drop-in's condition names the unit's own flag file
#  - names that are not what netcfgd accepts fail the generator
source "$(dirname "$0")/../lib/tap.sh"
G="$ROOT_DIR/tools/devsec-functions-gen"
CONF="$ROOT_DIR/etc/devsec/functions.conf"
W=$(mktemp -d /tmp/devsec-fgen.XXXXXX); T_DIR=$W

units=$(sh "$G" units "$CONF")
check_out "the table's units: plain units and devsec daemons" 'ssh\.service' echo "$units"
check_out "a daemon function's unit is devsec-<daemon>.service" '^devsec-webd\.service$' echo "$units"
if printf '%s\n' "$units" | grep -Eq '^(p2p|password_reset|multicast)'; then nok "a flag function has no unit (p2p, password_reset)"
else ok "a flag function has no unit (p2p, password_reset)"; fi
check_out "a function's integrator hook is a unit of the table (devsec-hook-p2p.service)" '^devsec-hook-p2p\.service$' echo "$units"
check_out "av_encryption's hook too" '^devsec-hook-av-crypt\.service$' echo "$units"
if printf '%s\n' "$units" | grep -q '^devsec-hook-password'; then nok "a flag a daemon obeys has no hook"; else ok "a flag a daemon obeys has no hook"; fi
if printf '%s\n' "$units" | sort | uniq -d | grep -q .; then nok "each unit once"; else ok "each unit once"; fi

sh "$G" polkit "$CONF" > "$W/rule.js"
if ! have node; then
        skip "the rule under node" "node not installed"
else
        cat > "$W/eval.js" <<'JS'
const fs = require('fs');
let rule = null;
const polkit = { Result: { YES: 'yes', NO: 'no', NOT_HANDLED: null }, addRule: f => { rule = f; } };
new Function('polkit', fs.readFileSync(process.argv[2], 'utf8'))(polkit);
const ask = (user, id, unit, verb) => {
        const r = rule({ id, lookup: k => ({ unit, verb })[k] }, { user });
        return r === null ? 'not_handled' : r;
};
const units = fs.readFileSync(process.argv[3], 'utf8').split('\n').filter(Boolean);
const MU = 'org.freedesktop.systemd1.manage-units';
const out = [];
for (const u of units)
        for (const v of ['start', 'stop', 'restart', 'reload', 'try-restart', 'kill', 'set-property', 'reset-failed'])
                out.push(`${u} ${v} ${ask('devsec-netcfgd', MU, u, v)}`);
for (const u of ['devsec-authd.service', 'devsec-busd.service', 'getty@tty1.service', 'constructor', '__proto__',
                 'toString', 'ssh', 'SSH.service', ' ssh.service'])
        out.push(`other:${u} start ${ask('devsec-netcfgd', MU, u, 'start')}`);
out.push(`transient start ${ask('devsec-netcfgd', MU, undefined, undefined)}`);
for (const id of ['org.freedesktop.systemd1.manage-unit-files', 'org.freedesktop.systemd1.reload-daemon',
                  'org.freedesktop.systemd1.set-environment', 'org.freedesktop.login1.reboot'])
        out.push(`action:${id} ${ask('devsec-netcfgd', id, 'ssh.service', 'start')}`);
out.push(`user:root ${ask('root', MU, 'ssh.service', 'start')}`);
out.push(`user:devsec-authd ${ask('devsec-authd', MU, 'ssh.service', 'start')}`);
console.log(out.join('\n'));
JS
        printf '%s\n' "$units" > "$W/units.txt"
        if node "$W/eval.js" "$W/rule.js" "$W/units.txt" > "$W/res.txt" 2> "$W/node.err"; then
                ok "the generated rule loads"
                n=$(wc -l < "$W/units.txt")
                check_out "start and stop of each of the $n units: yes" "^$((n * 2))\$" sh -c "grep -Ec ' (start|stop) yes$' '$W/res.txt'"
                if grep -E '^[^ ]+\.service (restart|reload|try-restart|kill|set-property|reset-failed) ' "$W/res.txt" | grep -qv ' no$'
                then nok "every other verb on them: no"; else ok "every other verb on them: no"; fi
                if grep '^other:' "$W/res.txt" | grep -qv ' no$'; then nok "any other unit name: no"; grep '^other:' "$W/res.txt" | sed 's/^/#   /'
                else ok "any other unit name (devsec-authd, constructor, __proto__, ssh without suffix): no"; fi
                check_out "an action that names no unit (transient units): no" '^transient start no$' cat "$W/res.txt"
                if grep '^action:' "$W/res.txt" | grep -qv ' no$'; then nok "unit-file changes, daemon reload, any other action: no"
                else ok "unit-file changes, daemon reload, any other action: no"; fi
                check_out "other users: not handled here" '^user:root not_handled$' cat "$W/res.txt"
                check_out "  (devsec-authd too)" '^user:devsec-authd not_handled$' cat "$W/res.txt"
        else
                nok "the generated rule loads"; sed 's/^/#   /' "$W/node.err"
        fi
fi

sh "$G" install "$CONF" "$W/units" "$W/polkit" /var/lib/devsec/functions/disabled > /dev/null
check "install writes the rule" test -f "$W/polkit/50-devsec-netcfgd.rules"
miss=""
for u in $units; do
        grep -qx "ConditionPathExists=!/var/lib/devsec/functions/disabled/$u" "$W/units/$u.d/50-devsec-function.conf" 2>/dev/null || miss="$miss $u"
done
if [ -z "$miss" ]; then ok "each unit's drop-in names its own flag file"; else nok "drop-ins wrong or missing:$miss"; fi
check_out "rule and drop-ins are 0644" '^644 644$' sh -c "echo \$(stat -c %a '$W/polkit/50-devsec-netcfgd.rules' '$W/units/ssh.service.d/50-devsec-function.conf')"

printf 'functions = ( { name = "a"; title = "A"; risk = "r"; factory_default = true; unit = "x\\"); evil"; } );\n' > "$W/bad.conf"
check_out "a unit name netcfgd would refuse fails the generator" 'bad unit name' sh "$G" units "$W/bad.conf"
check_rc "  with exit 1" 1 sh "$G" polkit "$W/bad.conf"
printf 'functions = ( { name = "a"; title = "A"; risk = "# unit = \\"evil\\" // x"; factory_default = true; /* unit = "c" */ unit = "ok1"; } );\n# unit = "commented"\n' > "$W/cmt.conf"
check_out "comments and strings are not read as keys" '^ok1\.service$' sh "$G" units "$W/cmt.conf"
check_out "a relative flag directory is refused" 'absolute' sh "$G" dropin ssh.service var/lib
