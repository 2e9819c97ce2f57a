#!/bin/bash
# sftp-storage's SSH connection and trust probe bound to the configuration
# they started with, against real OpenSSH sshds: a user name changed while a
# connection is open ends it (the next item logs in as the new user, refused,
# nothing more is sent as the old one); a destination changed while a trust
# probe waits for the old server's host key fails the trust instead of
# pinning that key for the new destination; a server that takes the TCP
# connection and never speaks: the daemon answers meanwhile, a change of
# destination ends the attempt at once.
source "$(dirname "$0")/../lib/tap.sh"
source "$ROOT_DIR/tests/lib/sftp_lib.sh"
need_root || { skip "sftp-storage rebind" "needs root (chroot, a system user)"; exit 0; }
sftp_have_peer || { skip "sftp-storage rebind" "openssh-server not installed (tests/deps/sftp.txt)"; exit 0; }
trap sftp_cleanup EXIT
sftp_stack || { nok "stack up"; exit 0; }
sftp_peer_setup 16732 || { nok "sshd config"; exit 0; }
sftp_peer_start || { nok "sshd up"; exit 0; }
sftp_start || { nok "sftp-storage up"; exit 0; }
PUB=$(stor_field "['public_key']"); printf '%s\n' "$PUB" > "$SW/keys/$SFTP_USER"; chmod 644 "$SW/keys/$SFTP_USER"
URL="sftp://127.0.0.1:$SFTP_PORT/upload"
check_rc "an SFTP destination, a bandwidth cap to catch an upload in the middle" 0 \
        dc storage set url="$URL" username=$SFTP_USER rate_limit_kib_s=1024
check_out "pinned" 'pinned: +yes' dc storage trust "$(sftp_hostsha)"
check_out "the directory passes the test" 'exclusive: +marker written' dc storage test
ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ---- the user name changes while the connection is open
sftp_drop a.bin 4096
wait_for 20 sh -c "ls -A '$SFTP_CH/upload' | grep -q -- '-a.bin.part\$'" || nok "a.bin's upload did not start"
sftp_drop b.bin 8
check_until "b.bin is queued behind a.bin" 10 'b\.bin +queued' dc storage queue
check_rc "another user name while a.bin is sent" 0 dc storage set username=nosuchuser
check_until "the next attempt logs in as the new user: Login denied" 20 'last_error: +Login denied' dc storage show
check "nothing of b.bin reached the old account" sh -c "! ls -A '$SFTP_CH/upload' | grep -q -- '-b.bin'"
check_out "show names the new user" 'username: +nosuchuser' dc storage show
check_rc "the user name back, no cap" 0 dc storage set username=$SFTP_USER rate_limit_kib_s=0
dc storage retry >/dev/null
check_until "both arrive with the account of the configuration" 30 '^same$' sh -c \
        "a=\$(ls '$SFTP_CH'/upload/*-a.bin) && b=\$(ls '$SFTP_CH'/upload/*-b.bin) && cmp -s '$T_DIR/drop-a.bin' \"\$a\" && cmp -s '$T_DIR/drop-b.bin' \"\$b\" && echo same"

# ---- the destination changes while a trust probe waits for the old server
# a second sshd with a host key of its own, reached through a relay that
# holds each connection 2 s before passing it on
cp "$SW/sshd_config" "$SW/sshd2_config"
ssh-keygen -q -t ed25519 -N '' -f "$SW/hostkey2"
sed -i -e "s/^Port .*/Port 16733/" -e "s|^HostKey .*|HostKey $SW/hostkey2|" -e "s|^PidFile .*|PidFile $SW/sshd2.pid|" \
        "$SW/sshd2_config"
bg "sshd2" "$SSHD" -D -e -f "$SW/sshd2_config"; SSHD2_PID=$LAST_PID
sftp_waitport 16733 || nok "second sshd up"
bg "relay" python3 -c '
import socket, threading, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(("127.0.0.1", 16734)); l.listen(8)
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d: break
            b.sendall(d)
    except OSError: pass
    for s in (a, b):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
def serve(c):
    time.sleep(2)
    u = socket.create_connection(("127.0.0.1", 16733))
    threading.Thread(target=pipe, args=(c, u), daemon=True).start(); pipe(u, c)
while True:
    c, _ = l.accept(); print("accepted", flush=True)
    threading.Thread(target=serve, args=(c,), daemon=True).start()
'
RELAY_PID=$LAST_PID
sftp_waitport 16734 || nok "relay up"
FP2=$(ssh-keygen -lf "$SW/hostkey2.pub" -E sha256 | awk '{print $2}')
PIN1=$(stor_field "['host_key_sha256']")
accepted() { grep -c '^accepted' "$T_DIR/log/relay.log" 2>/dev/null || true; }
# the directory check meets the second server's key: refused, nothing pinned
check_rc "the destination behind the relay" 0 dc storage set url="sftp://127.0.0.1:16734/upload"
check_until "its key is not the pinned one" 15 'host_key_mismatch: +yes' dc storage show
A0=$(accepted)
"$B/devctl" storage trust "$FP2" > "$T_DIR/trust.out" 2>&1 &
TRUST=$!
wait_for 5 sh -c "[ \"\$(grep -c '^accepted' '$T_DIR/log/relay.log')\" -gt $A0 ]" || nok "the probe did not connect"
check_rc "the destination changes while the probe waits" 0 dc storage set url="$URL"
wait "$TRUST"
check "the trust of the old destination's key is not pinned" sh -c "! grep -q 'pinned: *yes' '$T_DIR/trust.out'"
check_out "... and says why" 'destination or its account changed' cat "$T_DIR/trust.out"
PIN=$(stor_field "['host_key_sha256']")
if [ "$PIN" = "$PIN1" ]; then ok "the pin is the configured server's still"; else nok "pin '$PIN', was '$PIN1'"; fi
sftp_drop c.bin 8
check_until "c.bin uploads to the configured server" 20 '^same$' sh -c \
        "c=\$(ls '$SFTP_CH'/upload/*-c.bin) && cmp -s '$T_DIR/drop-c.bin' \"\$c\" && echo same"
kill "$RELAY_PID" 2>/dev/null; wait "$RELAY_PID" 2>/dev/null

# ---- a server that accepts and never speaks
bg "mute" python3 -c '
import socket, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(("127.0.0.1", 16735)); l.listen(8)
cs = []
while True:
    c, _ = l.accept(); cs.append(c)
'
MUTE_PID=$LAST_PID
sftp_waitport 16735 || nok "mute server up"
check_rc "a destination that never speaks, a long timeout" 0 dc storage set url="sftp://127.0.0.1:16735/upload" timeout_s=60
dc storage test > /dev/null 2>&1 &
TEST=$!
wait_for 5 sh -c "ss -Htn state established '( dport = :16735 )' | grep -q ." || nok "the test did not connect"
t0=$(ms); dc storage show > /dev/null; t1=$(ms)
if [ $((t1 - t0)) -lt 2000 ]; then ok "the daemon answers while the handshake hangs ($((t1 - t0)) ms)"; else nok "show took $((t1 - t0)) ms"; fi
t0=$(ms); dc storage set url="$URL" timeout_s=5 >/dev/null; t1=$(ms)
if [ $((t1 - t0)) -lt 2000 ]; then ok "a destination change ends the hung attempt at once ($((t1 - t0)) ms)"; else nok "the change took $((t1 - t0)) ms"; fi
wait "$TEST"
kill "$MUTE_PID" "$SSHD2_PID" 2>/dev/null; wait "$MUTE_PID" "$SSHD2_PID" 2>/dev/null
check "no secret or key material in the logs" sh -c "! grep -rq 'PRIVATE KEY' '$T_DIR/log'"
