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
# no source file over ~800 lines (docs/hacking.md: one file per concern)
long=$(find common bus services tools tests -name '*.[ch]' -exec wc -l {} + | awk '$2 != "total" && $1 > 820 { print $2 " (" $1 ")" }' | tr '\n' ' ')
if [ -z "$long" ]; then ok "no source file is over 820 lines"; else nok "source files over 820 lines: $long"; fi
# no circle between the files of a directory: read off the objects the build made
if circles=$(python3 "$ROOT_DIR/tests/lib/file_circles.py" "$B" 2>&1); then
        ok "no circle between files (in every directory, no two files use each other, directly or through others)"
else
        nok "circles between files: $(printf '%s' "$circles" | tr '\n' ';')"
fi
