#!/bin/bash
# filterd benchmark: a 10,000-entry allow list applied through filterd (devctl
# -> busd -> filterd -> libnftables, one transaction) against the same ruleset
# text loaded with `nft -f` from a file. Both run inside dsf- namespaces.
# Prints BENCH<TAB>metric<TAB>value<TAB>unit<TAB>note lines (median of RUNS).
source "$(dirname "$0")/../lib/tap.sh"
RUNS=${RUNS:-5}
if ! need_root || ! have nft || ! have ip; then
        bench filterd_apply_10k NA ms "skipped: needs root, nft and ip for a network namespace"
        exit 0
fi
NS=dsf-bench$$ REF=dsf-bref$$
trap 't_cleanup; ip netns del $NS 2>/dev/null; ip netns del $REF 2>/dev/null; true' EXIT
ip netns add $NS && ip netns add $REF || exit 1
ip -n $NS link set lo up; ip -n $REF link set lo up

stack_init filterd testsvc
stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = []; subscribe = []; };'
stack_busd
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/none.conf"
svc_up authd
bg filterd ip netns exec $NS "$B/filterd"
svc_up filterd 10 || { echo "filterd did not start" >&2; exit 1; }
export DEVSEC_TOKEN=tok:admin:admin:security,system-info

now_ms() { date +%s%N | awk '{ printf "%.1f", $1 / 1e6 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# 10,000 IPv4 addresses two apart, so that no two merge into one interval
seq 0 9999 | awk '{ n = $1 * 2; printf "10.%d.%d.%d\n", 100 + int(n / 65536), int(n / 256) % 256, n % 256 }' > "$T_DIR/list.txt"
t0=$(now_ms)
dc --timeout 30000 filter add --from-file "$T_DIR/list.txt" >/dev/null || exit 1
t1=$(now_ms)
bench filterd_stage_10k "$(echo "$t1 - $t0" | bc)" ms "devctl filter add --from-file: 10,000 entries validated and staged (one bus call)"
dc filter mode allow --force >/dev/null || exit 1

: > "$T_DIR/wall" ; : > "$T_DIR/inner"
for i in $(seq "$RUNS"); do
        t0=$(now_ms)
        out=$(dc --json --timeout 30000 filter apply --force) || exit 1
        t1=$(now_ms)
        echo "$t1 - $t0" | bc >> "$T_DIR/wall"
        echo "$out" | sed -n 's/.*"apply_ms":\([0-9.]*\).*/\1/p' >> "$T_DIR/inner"
done
n=$(ip netns exec $NS nft list set inet devsec list4 | tr ',' '\n' | grep -c '10\.')
bench filterd_apply_10k "$(median < "$T_DIR/wall")" ms "devctl filter apply, 10,000-entry allow list, whole table replaced in one transaction; $n elements in the kernel set"
bench filterd_apply_10k_inner "$(median < "$T_DIR/inner")" ms "inside filterd: counters read, render, nft_run_cmd_from_buffer"

: > "$T_DIR/rt"
for i in $(seq "$RUNS"); do
        t0=$(now_ms); dc filter check 10.100.0.2 >/dev/null; t1=$(now_ms)
        echo "$t1 - $t0" | bc >> "$T_DIR/rt"
done
bench filterd_check_roundtrip "$(median < "$T_DIR/rt")" ms "devctl filter check: process start, session check, one call (the overhead inside filterd_apply_10k)"

# the reference: the very ruleset filterd rendered, loaded with nft -f
cp "$DEVSEC_STATEDIR/filterd/ruleset.nft" "$T_DIR/ref.nft"
: > "$T_DIR/ref"
for i in $(seq "$RUNS"); do
        ip netns exec $REF bash -c 't0=$(date +%s%N); nft -f "$1" || exit 1; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 ))' _ "$T_DIR/ref.nft" |
                awk '{ printf "%.1f\n", $1 / 1000 }' >> "$T_DIR/ref"
done
bench nft_file_10k "$(median < "$T_DIR/ref")" ms "nft -f of the same ruleset file ($(wc -c < "$T_DIR/ref.nft") bytes), the reference"
