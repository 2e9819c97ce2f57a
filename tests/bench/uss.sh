#!/bin/bash
# Idle private memory (USS: Private_Clean + Private_Dirty of /proc/PID/smaps)
# of every daemon in one running stack, as `make run` starts it (--dry-run,
# the tree's configuration), a few seconds after the last came up. Targets:
# <= 1 MiB for the daemons without a TLS library, <= 2 MiB for those with one.
# A shared library only one daemon maps (libnftables in filterd, GnuTLS in
# webd) counts in that daemon's USS, as it would on the device; so do the
# pages of a shared library that only one daemon has touched (libcurl's in
# the one curl daemon that initialised it). The last line, the stack's PSS
# (each shared page split among the processes mapping it), is the memory
# the whole stack takes: a change that moves pages from one daemon's USS to
# another's shows there as what it is.
source "$(dirname "$0")/../lib/tap.sh"
SVCS=()
for d in "$ROOT_DIR"/services/*/main.c; do n=$(basename "$(dirname "$d")"); [ -x "$B/$n" ] && SVCS+=("$n"); done
IDS=("${SVCS[@]}"); [ -x "$B/webd" ] && IDS+=(webd-svc)
stack_init "${IDS[@]}"
PORT=$((19000 + RANDOM % 500))
sed -i -e 's|^listen = .*|listen = [ "127.0.0.1" ];|' -e "s|^https_port = .*|https_port = $PORT;|" \
        -e "s|^http_port = .*|http_port = $((PORT + 1));|" -e "s|^www = .*|www = \"$ROOT_DIR/services/webd/www\";|" \
        "$T_DIR/etc/webd.conf" 2>/dev/null
stack_busd
declare -A PID
for n in "${SVCS[@]}"; do bg "$n" "$B/$n" --dry-run; PID[$n]=$LAST_PID; done
for n in "${SVCS[@]}"; do svc_up "$n" 10 >/dev/null 2>&1 || true; done
sleep 3
tls_lib() { case "$1" in logd|webd|smtp-notifier|sftp-storage|upgrade-d|anr-d) return 0 ;; esac; return 1; }
row() {
        local n=$1 p=$2 k target
        kill -0 "$p" 2>/dev/null || { bench "$n idle USS" "-" "KiB" "not running (function off or failed to start)"; return; }
        k=$(uss "$p"); if tls_lib "$n"; then target=2048; else target=1024; fi
        bench "$n idle USS" "$k" "KiB" "target <= $target: $([ "$k" -le $target ] && echo PASS || echo FAIL)"
}
row busd "$BUSD_PID"
for n in "${SVCS[@]}"; do row "$n" "${PID[$n]}"; done
pss_of() { awk '/^Pss:/ { s += $2 } END { print s + 0 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
tot=$(pss_of "$BUSD_PID"); up=1
for n in "${SVCS[@]}"; do kill -0 "${PID[$n]}" 2>/dev/null || continue; tot=$((tot + $(pss_of "${PID[$n]}"))); up=$((up + 1)); done
bench "stack idle PSS (all $up processes)" "$tot" "KiB" "the memory the running stack takes"
