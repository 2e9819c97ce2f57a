#!/bin/bash
# A stuck operator subscriber (subscribed under a session, then never reading)
# costs busd at most sub_queue_max events in flight: the rest are dropped for
# it and counted in bus.stats, busd keeps answering, its memory stays bounded,
# and a subscriber that reads keeps receiving.
source "$(dirname "$0")/../lib/tap.sh"
stack_init testsvc
stack_acl testsvc 'testsvc = { serve = ["testsvc", "authd"]; call = ["bus.*"]; publish = ["*"]; subscribe = []; };'
sed -i 's/^sub_queue_max = .*/sub_queue_max = 100;/' "$T_DIR/etc/busd.conf"
# under ASan freed blocks sit in quarantine and would count as busd's memory
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1"
stack_busd
echo '' > "$T_DIR/none.conf"
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/none.conf"
svc_up authd
export DEVSEC_TOKEN=tok:ann:admin:system-info,security
N=12000 SIZE=4096

rss() { awk '/^VmRSS/ { print $2 }' "/proc/$BUSD_PID/status"; }
stat_of() { dc --json bus stats | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }

bg idle "$B/tests/busprobe" idle "$DEVSEC_TOKEN" demo.
wait_for 5 grep -q subscribed "$T_DIR/log/idle.log"
check_out "the stuck subscriber subscribed under its session" '^subscribed$' cat "$T_DIR/log/idle.log"
"$B/devctl" listen demo.flood > "$T_DIR/reader.out" 2>&1 & READER=$!; T_PIDS="$T_PIDS $READER"
wait_for 8 sh -c "PROBE_IDENTITY=testsvc '$B/tests/busprobe' flood 1 16 demo.flood >/dev/null 2>&1; grep -q demo.flood '$T_DIR/reader.out'"
RSS0=$(rss)

PROBE_IDENTITY=testsvc "$B/tests/busprobe" flood $N $SIZE demo.flood > "$T_DIR/flood.out" 2>&1 & FLOOD=$!; T_PIDS="$T_PIDS $FLOOD"
# busd answers while the flood goes on
sleep 0.2
check_rc "busd answers sys.ping during the flood" 0 timeout 5 "$B/devctl" call bus sys.ping
wait_for 60 sh -c "! kill -0 $FLOOD 2>/dev/null"
check_out "the flood was published" "published $N" cat "$T_DIR/flood.out"
wait_for 10 sh -c "[ \"\$('$B/devctl' --json bus stats | sed -n 's/.*\"events_in\":\([0-9]*\).*/\1/p')\" -ge $N ]"
RSS1=$(rss)
SLOW=$(stat_of slow_subscriber)
if [ "${SLOW:-0}" -ge $((N - 100)) ]; then ok "events beyond the window are dropped for the stuck subscriber ($SLOW)"; else nok "events beyond the window are dropped for the stuck subscriber (${SLOW:-none})"; fi
check_out "bus.stats names the window" '"sub_queue_max":100' dc --json bus stats
GROW=$(( (RSS1 - RSS0) / 1024 ))
# N x SIZE is about 48 MiB: queued for the stuck peer it would all stay in busd
if [ "$GROW" -lt 8 ]; then ok "busd's memory stays bounded (+$GROW MiB)"; else nok "busd's memory stays bounded (+$GROW MiB for $((N * SIZE / 1048576)) MiB published)"; fi
check_rc "busd still answers sys.ping" 0 timeout 5 "$B/devctl" call bus sys.ping
check_out "busd warns about the stuck subscriber" "is not reading" cat "$T_DIR/log/busd.log"
check_out "a reading subscriber still receives" '[1-9][0-9]*' sh -c "grep -c demo.flood '$T_DIR/reader.out'"
if kill -0 "$READER" 2>/dev/null; then ok "the reading subscriber is still subscribed"; else nok "the reading subscriber is still subscribed"; fi
