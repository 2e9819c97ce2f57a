#!/bin/bash
# logd's whole path in instructions per record (callgrind, deterministic where
# timings are not): the publisher, busd and logd each under callgrind, two runs
# of N1 and N2 records; per record = (run2 - run1) / (N2 - N1), so start-up,
# handshakes and idle timers cancel out. Each figure is split into the
# program's own share and libzmq's (CURVE, framing, syscalls; cg_split.awk).
# Prints BENCH lines (see tests/bench/run.sh).
source "$(dirname "$0")/../lib/tap.sh"
N1=${CG_N1:-1000}
N2=${CG_N2:-5000}
have valgrind || { bench "logd path instructions per record" - Ir "skipped: no valgrind"; exit 0; }
stack_init logd logprod testsvc
stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = []; subscribe = []; };'
stack_acl logprod 'logprod = { call = ["bus.*", "logd.log.status"]; publish = ["log.*"]; subscribe = []; };'
sed -i -e 's/^quota_mb = .*/quota_mb = 1024;/' "$T_DIR/etc/logd.conf"
export DEVSEC_TOKEN=tok:admin:admin:system,security,system-info
CG="$T_DIR/cg"; mkdir -p "$CG"
VG="valgrind --tool=callgrind --dump-instr=no ${CG_VG_OPTS:---dump-line=no}"
cg_file() { ls -t "$CG"/$1.* 2>/dev/null | head -1; }
split() { awk -f "$ROOT_DIR/tests/bench/cg_split.awk" "$1"; }
: > "$T_DIR/empty.conf"
bg busd $VG --callgrind-out-file="$CG/busd" "$B/busd"; CGB=$LAST_PID
wait_for 60 test -S "$DEVSEC_RUNDIR/bus.sock"
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/empty.conf"
svc_up authd 60
bg logd $VG --callgrind-out-file="$CG/logd" "$B/logd"; CGL=$LAST_PID
svc_up logd 60
# run TAG N: zeroes busd's and logd's counters, publishes N records under
# callgrind and waits until logd has stored them, dumps; prints the six
# "TOTAL OUTSIDE" pairs (publisher, busd, logd)
run() {
        callgrind_control -z "$CGB" >/dev/null 2>&1; callgrind_control -z "$CGL" >/dev/null 2>&1
        $VG --callgrind-out-file="$CG/pub-$1" "$B/tests/logd_produce" --wait-stored --category security \
                --user alice --prefix "bench record" "$2" >"$CG/out-$1" 2>&1
        callgrind_control -d "$1" "$CGB" >/dev/null 2>&1; callgrind_control -d "$1" "$CGL" >/dev/null 2>&1
        wait_for 30 sh -c "ls '$CG'/busd.*  '$CG'/logd.* >/dev/null 2>&1"
        echo "$(split "$CG/pub-$1") $(split "$(cg_file busd)") $(split "$(cg_file logd)")"
}
read -r p1 po1 b1 bo1 l1 lo1 < <(run a "$N1")
sleep 0.5
read -r p2 po2 b2 bo2 l2 lo2 < <(run b "$N2")
per() { awk -v a="$1" -v b="$2" -v n=$((N2 - N1)) 'BEGIN { printf "%.0f", (a - b) / n }'; }
pt=$(per "$p2" "$p1"); bt=$(per "$b2" "$b1"); lt=$(per "$l2" "$l1")
po=$(per "$((p2 - po2))" "$((p1 - po1))"); bo=$(per "$((b2 - bo2))" "$((b1 - bo1))"); lo=$(per "$((l2 - lo2))" "$((l1 - lo1))")
bench "logd_path_publisher_ir_per_record" "$pt" Ir "own $po, libzmq (CURVE, framing) $((pt - po)); runs of $N1 and $N2 records, the difference"
bench "logd_path_busd_ir_per_record" "$bt" Ir "own $bo, libzmq $((bt - bo))"
bench "logd_path_logd_ir_per_record" "$lt" Ir "own $lo, libzmq $((lt - lo)) (the store with its chain and seals included)"
bench "logd_path_total_ir_per_record" "$((pt + bt + lt))" Ir "publisher + busd + logd"
[ -n "${CG_KEEP:-}" ] && cp "$CG"/* "$CG_KEEP"/
exit 0
