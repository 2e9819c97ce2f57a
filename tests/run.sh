#!/bin/bash
# run.sh [all|unit|integration|peers|units|containers] - runs the suites and
# prints, as its last line, "N passed, N failed[, N skipped]".
set -u
cd "$(dirname "$0")/.."
: "${BUILD:=build}"
export BUILD
WHAT=${1:-all}
P=0; F=0; S=0
LOG=$BUILD/test-logs; mkdir -p "$LOG"
RED=""; [ -t 1 ] && RED=$'\e[31m'; NC=""; [ -t 1 ] && NC=$'\e[0m'

run_cmocka() {
        local bin=$1 name out p f s
        name=$(basename "$bin")
        out=$(timeout 300 "$bin" 2>&1); local rc=$?
        printf '%s\n' "$out" > "$LOG/$name.log"
        p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
        f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
        s=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | tail -1)
        p=${p:-0}; f=${f:-0}; s=${s:-0}
        if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
        P=$((P + p)); F=$((F + f)); S=$((S + s))
        printf '%-40s %3d passed %3d failed %3d skipped\n' "unit/$name" "$p" "$f" "$s"
        [ "$f" != 0 ] && { printf '%s' "$RED"; grep -E '^\[  (FAILED|  ERROR) |Failure|error' "$LOG/$name.log" | head -20; printf '%s' "$NC"; }
        return 0
}

run_script() {
        local sc=$1 name out p f s rc t0 t1
        name=$(echo "$sc" | sed 's|^tests/||; s|\.sh$||; s|/|-|g')
        t0=$(date +%s)
        timeout "${TEST_TIMEOUT:-900}" bash "$sc" > "$LOG/$name.log" 2>&1; rc=$?
        t1=$(date +%s)
        p=$(grep -c '^ok - ' "$LOG/$name.log"); f=$(grep -c '^not ok - ' "$LOG/$name.log"); s=$(grep -c '^skip - ' "$LOG/$name.log")
        if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
                f=1; echo "not ok - $name exited $rc" >> "$LOG/$name.log"
        fi
        P=$((P + p)); F=$((F + f)); S=$((S + s))
        printf '%-40s %3d passed %3d failed %3d skipped  (%ss)\n' "$name" "$p" "$f" "$s" $((t1 - t0))
        if [ "$f" != 0 ]; then printf '%s' "$RED"; grep -A3 '^not ok - ' "$LOG/$name.log" | head -30; printf '%s' "$NC"; fi
        grep '^skip - ' "$LOG/$name.log" | head -5 | sed 's/^/    /'
        return 0
}

suite_unit() {
        for b in "$BUILD"/tests/test_* "$BUILD"/tests/*_test_*; do [ -x "$b" ] && run_cmocka "$b"; done
}
suite_scripts() {
        local sc
        for sc in tests/$1/*.sh; do
                case "$sc" in *_lib.sh) continue ;; esac # sourced by the scenarios, not one itself
                [ -f "$sc" ] && run_script "$sc"
        done
}

case "$WHAT" in
all) suite_unit; suite_scripts integration; suite_scripts peers; suite_scripts units; suite_scripts containers ;;
unit) suite_unit ;;
integration|peers|units|containers) suite_scripts "$WHAT" ;;
*) echo "usage: $0 [all|unit|integration|peers|units|containers]"; exit 2 ;;
esac
echo "logs in $LOG/"
if [ "$S" -gt 0 ]; then echo "$P passed, $F failed, $S skipped"; else echo "$P passed, $F failed"; fi
[ "$F" = 0 ]
