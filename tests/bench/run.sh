#!/bin/bash
# run.sh - every tests/bench/*.sh, one table. Each prints
# "BENCH<TAB>metric<TAB>value<TAB>unit<TAB>note" lines.
cd "$(dirname "$0")/../.."
: "${BUILD:=build}"; export BUILD
printf '%-52s %14s  %-8s %s\n' METRIC VALUE UNIT NOTE
for s in tests/bench/*.sh; do
        [ "$(basename "$s")" = run.sh ] && continue
        [ -n "${1:-}" ] && [ "$(basename "$s" .sh)" != "$1" ] && continue
        echo "== $(basename "$s" .sh)"
        timeout 600 bash "$s" 2>/dev/null | awk -F'\t' '$1 == "BENCH" { printf "%-52s %14s  %-8s %s\n", $2, $3, $4, $5 }'
done
