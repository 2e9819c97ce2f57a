#!/bin/bash
# Bus benchmarks, measured side by side in one run: busd vs raw ZeroMQ, pipelining,
# event fan-in, idle footprint. Prints BENCH lines (see tests/bench/run.sh).
source "$(dirname "$0")/../lib/tap.sh"
N=${BENCH_N:-5000}
stack_init testsvc
stack_acl testsvc 'testsvc = { serve = ["testsvc"]; call = ["bus.*"]; publish = ["*"]; subscribe = ["*"]; };'
stack_busd
bg testsvc "$B/tests/testsvc"; SVC=$LAST_PID
svc_up testsvc
pss() { awk '/^Pss:/ {print $2}' /proc/$1/smaps_rollup; }
sleep 1
echo -e "BENCH\tbusd idle USS\t$(uss $BUSD_PID)\tKiB\tPSS $(pss $BUSD_PID) KiB; target <= 1024"
echo -e "BENCH\tservice idle USS (testsvc)\t$(uss $SVC)\tKiB\tPSS $(pss $SVC) KiB; target <= 1024"
raw=$("$B/bench/bus_bench" raw "$N")
plain=$("$B/bench/bus_bench" broker "$N")
bus=$("$B/bench/bus_bench" rtt "$N")
echo "$raw"; echo "$plain"; echo "$bus"
r=$(echo "$raw" | awk -F'\t' '/median/ {print $3}'); b=$(echo "$bus" | awk -F'\t' '/median/ {print $3}')
p=$(echo "$plain" | awk -F'\t' '/median/ {print $3}')
echo -e "BENCH\tplain broker / raw round-trip ratio\t$(echo "scale=2; $p / $r" | bc)\tx\treference: any forwarding broker"
echo -e "BENCH\tbusd / raw round-trip ratio\t$(echo "scale=2; $b / $r" | bc)\tx\ttarget <= 2.0"
echo -e "BENCH\tbusd / plain broker ratio\t$(echo "scale=2; $b / $p" | bc)\tx\twhat CURVE, the ACL and the envelope add"
"$B/bench/bus_bench" pipeline $((N * 4)) 32 | sed 's/\t\([0-9]* failed\)$/\t\1; target >= 40000/'
"$B/bench/bus_bench" events "${BENCH_EVENTS:-20000}" 4 | sed 's/received$/received; target >= 100000/'
echo -e "BENCH\tbusd events dropped at the high-water mark\t$(dc --json bus stats | sed 's/.*"events_dropped":\([0-9]*\).*/\1/')\tevents\tcounter"
