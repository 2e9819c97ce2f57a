#!/bin/bash
# The one service shape, as docs/hacking.md describes it: every method's
# handler is found by grepping h_<object>_<verb>, every daemon has main.c
# (its service) and methods.c (its table).
source "$(dirname "$0")/../lib/tap.sh"
cd "$ROOT_DIR"
bad=$(grep -ho 'DS_METHOD[_A-Z]*("[a-z._-]*", *[A-Za-z_0-9]*, *[A-Za-z_0-9]*' services/*/*.c bus/*.c bus/broker/*.c |
        sed 's/DS_METHOD[_A-Z]*("\([^"]*\)", *[^,]*, *\(.*\)/\1 \2/' |
        awk '{ m = $1; gsub(/[.-]/, "_", m); if ("h_" m != $2) print $1 " -> " $2 }')
n=$(grep -ho 'DS_METHOD[_A-Z]*("' services/*/*.c bus/*.c bus/broker/*.c | wc -l)
if [ -z "$bad" ] && [ "$n" -gt 50 ]; then ok "all $n method handlers are named h_<object>_<verb> after their method"
else nok "handlers not named after their method: $(printf '%s' "$bad" | tr '\n' ';')"; fi
# arguments are bound by the validator and read by index (ds_tb_*), never searched again by name
byname=$(grep -ln 'ds_arg[_a-z]*(' services/*/*.c bus/*.c bus/broker/*.c tests/lib/*.c 2>/dev/null | tr '\n' ' ')
if [ -z "$byname" ]; then ok "no handler looks its arguments up by name"; else nok "by-name argument lookups in: $byname"; fi
miss=""
for d in services/*/; do
        [ -f "$d/main.c" ] || continue
        grep -q 'struct ds_service' "$d/main.c" || miss="$miss $(basename "$d"):main.c"
        grep -q 'DS_METHOD' "$d/methods.c" 2>/dev/null || miss="$miss $(basename "$d"):methods.c"
done
if [ -z "$miss" ]; then ok "every daemon has its service in main.c and its table in methods.c"; else nok "shape:$miss"; fi
