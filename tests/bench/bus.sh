#!/bin/bash
# Bus benchmarks, measured side by side in one run: busd vs raw ZeroMQ and a
# plain zmq_proxy broker (each with CURVE, as busd, and without), pipelining,
# event fan-in, idle footprint, and callgrind's instructions per forwarded
# request (busd, its own share outside libzmq, zmq_proxy over the same calls).
# Prints BENCH lines (see tests/bench/run.sh); targets end "target ...: PASS|FAIL".
source "$(dirname "$0")/../lib/tap.sh"
N=${BENCH_N:-5000}
CG_N=${BENCH_CG_N:-2000}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
median() { awk -F'\t' '/median/ {print $3}'; }
stack_init testsvc
stack_acl testsvc 'testsvc = { serve = ["testsvc"]; call = ["bus.*"]; publish = ["*"]; subscribe = ["*"]; };'
stack_busd
bg testsvc "$B/tests/testsvc"; SVC=$LAST_PID
svc_up testsvc
pss() { awk '/^Pss:/ {print $2}' /proc/$1/smaps_rollup; }
# BENCH_CG_ONLY=1: only the callgrind step (deterministic; with KEEP=1 its
# files stay in the test directory for callgrind_annotate)
if [ -z "${BENCH_CG_ONLY:-}" ]; then
sleep 1
u=$(uss $BUSD_PID); bench "busd idle USS" "$u" KiB "PSS $(pss $BUSD_PID) KiB; target <= 1024: $(verdict "$u" "<=" 1024)"
u=$(uss $SVC); bench "service idle USS (testsvc)" "$u" KiB "PSS $(pss $SVC) KiB; target <= 1024: $(verdict "$u" "<=" 1024)"
raw=$("$B/bench/bus_bench" raw "$N")
rawc=$("$B/bench/bus_bench" raw "$N" curve)
plain=$("$B/bench/bus_bench" broker "$N")
plainc=$("$B/bench/bus_bench" broker "$N" curve)
bus=$("$B/bench/bus_bench" rtt "$N")
printf '%s\n' "$raw" "$rawc" "$plain" "$plainc" "$bus"
r=$(median <<<"$raw"); rc=$(median <<<"$rawc"); p=$(median <<<"$plain"); pc=$(median <<<"$plainc"); b=$(median <<<"$bus")
bench "plain broker / raw round-trip ratio (CURVE)" "$(ratio "$pc" "$rc")" x "reference: any forwarding broker; without CURVE $(ratio "$p" "$r")"
v=$(ratio "$b" "$rc"); bench "busd / raw round-trip ratio (CURVE)" "$v" x "target <= 2.0: $(verdict "$v" "<=" 2.0)"
v=$(ratio "$b" "$pc"); bench "busd / plain broker ratio (CURVE both hops)" "$v" x "what the ACL and the envelope add; target <= 1.0: $(verdict "$v" "<=" 1.0)"
bench "busd / raw round-trip ratio (raw without CURVE)" "$(ratio "$b" "$r")" x "reference"
bench "busd / plain broker ratio (broker without CURVE)" "$(ratio "$b" "$p")" x "reference"
pl=$("$B/bench/bus_bench" pipeline $((N * 4)) 32)
v=$(awk -F'\t' '{print $3}' <<<"$pl")
echo "$pl" | sed "s/\t\([0-9]* failed\)$/\t\1; target >= 80000: $(verdict "$v" ">=" 80000)/"
ev=$("$B/bench/bus_bench" events "${BENCH_EVENTS:-20000}" 4)
v=$(awk -F'\t' '{print $3}' <<<"$ev")
echo "$ev" | sed "s/received$/received; target >= 100000: $(verdict "$v" ">=" 100000)/"
bench "busd events dropped at the high-water mark" "$(dc --json bus stats | sed 's/.*"events_dropped":\([0-9]*\).*/\1/')" events counter
fi

# ---- callgrind: instructions per forwarded request, busd beside zmq_proxy
have valgrind || { bench "busd instructions per request" - Ir "skipped: no valgrind (apt-get install valgrind)"; exit 0; }
CG="$T_DIR/cg"; mkdir -p "$CG"
cg_file() { ls -t "$CG"/$1.* 2>/dev/null | head -1; }
# cg_window PID TAG CMD...: CMD prints "ready", waits for a line, makes its
# calls, prints "done", waits again. PID's counters are zeroed at "ready" and
# dumped at "done", then zeroed and dumped again after as long idle. Prints
# "TOTAL OUTSIDE IDLE_TOTAL IDLE_OUTSIDE" (see cg_split.awk).
cg_window() {
        local pid=$1 tag=$2 l t0 t1 run idle; shift 2
        coproc CGC { timeout 120 "$@"; } # a client stuck on its input fails the step, not the run
        read -r -t 60 l <&"${CGC[0]}"
        callgrind_control -z "$pid" >/dev/null 2>&1
        t0=$(date +%s%N)
        echo go >&"${CGC[1]}"
        read -r -t 120 l <&"${CGC[0]}"
        t1=$(date +%s%N)
        callgrind_control -d "$tag-run" "$pid" >/dev/null 2>&1
        run=$(cg_file "$tag"); echo go >&"${CGC[1]}"; wait "$CGC_PID" 2>/dev/null
        callgrind_control -z "$pid" >/dev/null 2>&1
        sleep "$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", d / 1e9 }')"
        callgrind_control -d "$tag-idle" "$pid" >/dev/null 2>&1
        idle=$(cg_file "$tag")
        echo "$(awk -f "$ROOT_DIR/tests/bench/cg_split.awk" "$run") $(awk -f "$ROOT_DIR/tests/bench/cg_split.awk" "$idle")"
}
per_req() { awk -v a="$1" -v b="$2" -v n="$CG_N" 'BEGIN { printf "%.0f", (a - b) / n }'; }
VG="valgrind --tool=callgrind --dump-instr=no --dump-line=no"
kill "$SVC" "$BUSD_PID"; wait "$SVC" "$BUSD_PID" 2>/dev/null
bg busd-cg $VG --callgrind-out-file="$CG/busd" "$B/busd"; CGB=$LAST_PID
wait_for 60 test -S "$DEVSEC_RUNDIR/bus.sock"
bg testsvc "$B/tests/testsvc"
svc_up testsvc 60
read -r bt bo it io < <(cg_window "$CGB" busd "$B/bench/bus_bench" rtt "$CG_N" --wait)
"$B/bench/bus_bench" keys "$CG/keys"
FE="ipc://$T_DIR/fe.sock"; BE="ipc://$T_DIR/be.sock"
bg proxy-cg $VG --callgrind-out-file="$CG/proxy" "$B/bench/bus_bench" proxy "$FE" "$BE" "$CG/keys"; CGP=$LAST_PID
wait_for 60 test -S "$T_DIR/be.sock"
bg worker "$B/bench/bus_bench" worker "$BE" "$CG/keys"
read -r pt po pit pio < <(cg_window "$CGP" proxy "$B/bench/bus_bench" client "$FE" "$CG_N" "$CG/keys")
busd_ir=$(per_req "$bt" "$it"); own_ir=$(per_req "$((bt - bo))" "$((it - io))"); proxy_ir=$(per_req "$pt" "$pit")
bench "busd instructions per request (callgrind)" "$busd_ir" Ir "all threads, $CG_N calls of test.echo minus as long idle"
bench "busd own instructions per request" "$own_ir" Ir "outside libzmq (CURVE included there); libzmq's share $((busd_ir - own_ir))"
bench "zmq_proxy instructions per request (callgrind)" "$proxy_ir" Ir "CURVE both hops, the same $CG_N round trips"
[ -n "${KEEP:-}" ] && echo "# callgrind files in $CG" >&2
