#!/bin/bash
# sftp-storage looks the server's name up on its loop, not on the thread that
# holds the SSH connection: a lookup that hangs is given up at timeout_s and
# is cancelled by a change of destination at once. The name server is one
# this test starts in a network namespace of its own (ip netns exec gives the
# daemon that namespace's resolv.conf): it takes every query and never
# answers, as a dead resolver on a device's network does.
source "$(dirname "$0")/../lib/tap.sh"
source "$ROOT_DIR/tests/lib/sftp_lib.sh"
need_root || { skip "sftp-storage name lookup" "needs root (a network namespace)"; exit 0; }
have ip || { skip "sftp-storage name lookup" "iproute2 not installed"; exit 0; }
NS="dsdns$$"
cleanup() { ip netns del "$NS" 2>/dev/null; rm -rf "/etc/netns/$NS"; sftp_cleanup; }
trap cleanup EXIT
ip netns add "$NS" && ip -n "$NS" link set lo up || { nok "network namespace"; exit 0; }
mkdir -p "/etc/netns/$NS"
printf 'nameserver 127.0.0.1\noptions timeout:10 attempts:3\n' > "/etc/netns/$NS/resolv.conf"
sftp_stack
bg dnssink ip netns exec "$NS" python3 -u -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 53))
while True:
    s.recv(4096); print("query", flush=True)'
wait_for 10 sh -c "ip netns exec '$NS' ss -Huln 'sport = :53' | grep -q ." || { nok "the silent name server up"; exit 0; }
bg sftp-storage ip netns exec "$NS" "$B/sftp-storage"; STORD=$LAST_PID
svc_up sftp-storage || { nok "sftp-storage up in the namespace"; exit 0; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
HANG="files.hanging-dns.example.net"
check_rc "a destination whose name server never answers" 0 dc storage set url="sftp://$HANG:22/upload" username=cam

# a change of destination during the lookup ends it at once
dc --timeout 60000 storage trust > "$T_DIR/trust1.out" 2>&1 &
TR=$!
check "the lookup reached the name server" wait_for 10 grep -q query "$T_DIR/log/dnssink.log"
t0=$(ms)
check_rc "the destination changes while the lookup waits" 0 dc storage set url=sftp://127.0.0.1:1/upload
t1=$(ms)
if [ $(( t1 - t0 )) -lt 2000 ]; then ok "the change was answered in $(( t1 - t0 )) ms (the lookup was cancelled, not waited for)"
else nok "the change took $(( t1 - t0 )) ms: it waited for the lookup"; fi
wait "$TR"
check_out "the trust in progress fails, naming why" 'EINVAL|changed|cancel|resolve' cat "$T_DIR/trust1.out"
check_out "sftp-storage is still on the bus, at the new destination" 'host: +127\.0\.0\.1' dc storage show

# a lookup that never ends is given up at timeout_s (5 s here), not the resolver's 30 s
check_rc "the hanging name again" 0 dc storage set url="sftp://$HANG:22/upload"
: > "$T_DIR/log/dnssink.log"
t0=$(ms)
check_out "a trust fails on the lookup, naming the host" "resolve.*$HANG|$HANG.*resolve" dc --timeout 60000 storage trust
t1=$(ms)
if [ $(( t1 - t0 )) -ge 4000 ] && [ $(( t1 - t0 )) -lt 12000 ]; then ok "after timeout_s ($(( t1 - t0 )) ms), the name server asked"
else nok "the lookup took $(( t1 - t0 )) ms (timeout_s is 5 s)"; fi
check "the name server was asked" grep -q query "$T_DIR/log/dnssink.log"
check "sftp-storage is still running" kill -0 "$STORD"
check_rc "the hanging name once more" 0 dc storage set url="sftp://$HANG:22/upload"

# a stop during a lookup: the daemon ends within the 2 s it gives a lookup glibc still runs
: > "$T_DIR/log/dnssink.log"
dc --timeout 60000 storage trust > /dev/null 2>&1 &
TR=$!
check "a second lookup reached the name server" wait_for 10 grep -q query "$T_DIR/log/dnssink.log"
t0=$(ms)
kill -TERM "$STORD"; wait "$STORD" 2>/dev/null
t1=$(ms)
if [ $(( t1 - t0 )) -lt 4000 ]; then ok "SIGTERM during the lookup: stopped in $(( t1 - t0 )) ms"
else nok "SIGTERM during the lookup: stopped in $(( t1 - t0 )) ms"; fi
wait "$TR" 2>/dev/null || true # the trust fails: its daemon stopped
