#!/bin/bash
# exposure benchmark: what one look at the listeners costs. In a network
# namespace of its own, a Python process holds 500 TCP listeners (5 addresses x
# ports 24200-24299; exposured keeps 512); `devctl exposure show` (bus round trip, sock_diag dump,
# /proc walk for the owners, judgement) against `ss -Htlnp` (the same kernel
# dump and /proc walk, no judgement), each the mean of 10 runs. Target:
# exposured within 1.5x of ss. Then exposured's RSS.
# Prints BENCH<TAB>metric<TAB>value<TAB>unit<TAB>note.
source "$(dirname "$0")/../lib/tap.sh" >/dev/null
need_root || { echo "exposure bench: needs root for a network namespace" >&2; exit 0; }
[ -x "$B/exposured" ] || { echo "exposure bench: exposured not built" >&2; exit 0; }
NS=exp-b$$ RUNS=10
stack_init netcfgd exposured testsvc
stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = ["*"]; subscribe = []; };'
trap 't_cleanup; ip netns del $NS 2>/dev/null || true' EXIT
ip netns add $NS; ip -n $NS link set lo up
ip -n $NS link add expv0 type veth peer name expv1
for i in $(seq 1 5); do ip -n $NS addr add 10.242.9.$i/24 dev expv0; done
ip -n $NS link set expv0 up; ip -n $NS link set expv1 up
INNS="ip netns exec $NS"
sed -i 's/^listen_interval_s = .*/listen_interval_s = 3600;/' "$T_DIR/etc/exposured.conf"
bg holder $INNS timeout 300 python3 -c '
import socket, time
s = []
for a in range(1, 6):
    for p in range(24200, 24300):
        k = socket.socket(); k.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        k.bind(("10.242.9.%d" % a, p)); k.listen(1); s.append(k)
print("ready", len(s), flush=True); time.sleep(300)'
wait_for 20 grep -q ready "$T_DIR/log/holder.log" || { echo "exposure bench: listeners not up" >&2; exit 1; }
stack_busd
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/none.conf"
bg netcfgd "$B/netcfgd" --dry-run
bg exposured $INNS timeout 300 "$B/exposured"; EP=$LAST_PID
svc_up authd && svc_up netcfgd && svc_up exposured || { echo "exposure bench: stack not up" >&2; exit 1; }
export DEVSEC_TOKEN=tok:admin:admin:system-info
wait_for 10 sh -c "'$B/devctl' exposure show | grep -q '10.242.9.5 .*24299'"
n=$("$B/devctl" --json exposure show | grep -o '"verdict":"FAIL"' | wc -l)
mean_ms() { # CMD...: mean wall time of RUNS runs, ms
        local t0 t1; t0=$(date +%s%N)
        for _ in $(seq $RUNS); do "$@" >/dev/null 2>&1; done
        t1=$(date +%s%N); echo $(( (t1 - t0) / RUNS / 1000000 ))
}
e=$(mean_ms "$B/devctl" exposure show)
p=$(mean_ms "$B/devctl" call exposured sys.ping)
s=$(mean_ms $INNS ss -Htlnp)
ratio=$(awk -v e="$e" -v s="$s" 'BEGIN { printf "%.2f", s ? e / s : 0 }')
res=$(awk -v r="$ratio" 'BEGIN { print (r <= 1.5) ? "PASS" : "FAIL" }')
printf 'BENCH\texposure show, %d listeners (mean of %d)\t%s\tms\tsock_diag + /proc owners + judgement, via the bus\n' "$n" $RUNS "$e"
printf 'BENCH\tdevctl call exposured sys.ping (mean of %d)\t%s\tms\tthe bus round trip alone\n' $RUNS "$p"
printf 'BENCH\tss -Htlnp, same listeners (mean of %d)\t%s\tms\tthe same kernel dump and /proc walk\n' $RUNS "$s"
printf 'BENCH\texposure show / ss ratio\t%s\tx\ttarget <= 1.5: %s\n' "$ratio" "$res"
rss=$(awk '/VmRSS/ {print $2}' /proc/$(pgrep -P $EP exposured 2>/dev/null || echo $EP)/status 2>/dev/null)
printf 'BENCH\texposured RSS after the scans\t%s\tKiB\t%d listeners in its table\n' "${rss:-?}" "$n"
