#!/bin/bash
# sftp-storage's upload path against a real OpenSSH sshd: the daemon answers
# while a large upload runs; a server that stops answering mid-upload fails
# the attempt within the timeout (timeout_s = 5); sftp-storage killed with
# SIGKILL mid-upload resumes from the remote size after its restart, the
# final file byte-identical with a matching sidecar.
source "$(dirname "$0")/../lib/tap.sh"
source "$ROOT_DIR/tests/lib/sftp_lib.sh"
need_root || { skip "sftp-storage resume" "needs root (chroot, a system user)"; exit 0; }
sftp_have_peer || { skip "sftp-storage resume" "openssh-server not installed (tests/deps/sftp.txt)"; exit 0; }
trap sftp_cleanup EXIT
sftp_stack || { nok "stack up"; exit 0; }
sftp_peer_setup 16724 || { nok "sshd config"; exit 0; }
sftp_peer_start || { nok "sshd up"; exit 0; }
sftp_start || { nok "sftp-storage up"; exit 0; }
PUB=$(stor_field "['public_key']"); printf '%s\n' "$PUB" > "$SW/keys/$SFTP_USER"; chmod 644 "$SW/keys/$SFTP_USER"
check_rc "an SFTP destination, a bandwidth cap to catch uploads in the middle" 0 \
        dc storage set url="sftp://127.0.0.1:$SFTP_PORT/upload" username=$SFTP_USER rate_limit_kib_s=8192
check_out "pinned" 'pinned: +yes' dc storage trust "$(sftp_hostsha)"
check_out "the directory passes the test" 'exclusive: +marker written' dc storage test
partsz() { stat -c %s "$SFTP_CH"/upload/.*-"$1".part 2>/dev/null || echo 0; }
# every process of the sshd's sessions (not the listener)
sessions() { local p c; for p in $(pgrep -P "$SSHD_PID"); do echo "$p"; for c in $(pgrep -P "$p"); do echo "$c"; pgrep -P "$c"; done; done; }

# ---- a server that stops answering: the attempt fails within the timeout
head -c $((48 * 1024 * 1024)) /dev/urandom > "$T_DIR/hang.bin"
cp "$T_DIR/hang.bin" "$(SPOOL)/.hang.bin.tmp"; mv "$(SPOOL)/.hang.bin.tmp" "$(SPOOL)/hang.bin"
wait_for 30 sh -c "[ \"\$(stat -c %s '$SFTP_CH'/upload/.*-hang.bin.part 2>/dev/null || echo 0)\" -gt 4194304 ]"
t0=$(date +%s%N)
check_until "the daemon answers while the upload runs" 2 '^queued: +1' dc storage show
t1=$(date +%s%N)
if [ $(( (t1 - t0) / 1000000 )) -lt 2000 ]; then ok "... within 2 s ($(( (t1 - t0) / 1000000 )) ms)"; else nok "show took $(( (t1 - t0) / 1000000 )) ms"; fi
S=$(sessions); kill -STOP $S 2>/dev/null
check_until "a server that stops answering fails the attempt within the timeout" 15 'last_error: +Upload failed' \
        dc storage show
kill -CONT $S 2>/dev/null
check_rc "the cap off" 0 dc storage set rate_limit_kib_s=0
dc storage retry >/dev/null
check_until "the file arrives after the server is back" 60 ': OK$' \
        sh -c "cd '$SFTP_CH/upload' && f=\$(ls | grep -- '-hang.bin\$') && cmp '$T_DIR/hang.bin' \"\$f\" && sha256sum -c \"\$f.sha256\""

# ---- SIGKILL mid-upload: resumed from the remote size after the restart
check_rc "the cap on again" 0 dc storage set rate_limit_kib_s=8192
head -c $((48 * 1024 * 1024)) /dev/urandom > "$T_DIR/big.bin"
cp "$T_DIR/big.bin" "$(SPOOL)/.big.bin.tmp"; mv "$(SPOOL)/.big.bin.tmp" "$(SPOOL)/big.bin"
wait_for 30 sh -c "[ \"\$(stat -c %s '$SFTP_CH'/upload/.*-big.bin.part 2>/dev/null || echo 0)\" -gt 8388608 ]"
kill -9 "$STORD"; wait "$STORD" 2>/dev/null
P1=$(partsz big.bin)
if [ "$P1" -gt 0 ] && [ "$P1" -lt $((48 * 1024 * 1024)) ]; then ok "killed mid-upload ($P1 bytes sent)"; else nok "killed mid-upload ($P1 bytes)"; fi
sed -i 's/^rate_limit_kib_s = .*/rate_limit_kib_s = 0;/' "$T_DIR/etc/sftp-storage.conf"
sftp_start || nok "sftp-storage up again"
dc storage set rate_limit_kib_s=0 >/dev/null
check_until "after the restart the file arrives byte-identical" 60 '^same$' \
        sh -c "f=\$(ls '$SFTP_CH'/upload/*-big.bin 2>/dev/null) && cmp -s '$T_DIR/big.bin' \"\$f\" && echo same"
check_until "its sidecar matches" 20 ': OK$' \
        sh -c "cd '$SFTP_CH/upload' && sha256sum -c \"\$(ls | grep -- '-big.bin\$').sha256\""
check_out "it was resumed, not sent again" 'resumed: +[1-9]' dc storage show
check_out "the log says from where" "resuming 'big.bin' at [1-9]" cat "$T_DIR/log/sftp-storage.log"
check_until "the queue is empty" 10 '^queued: +0' dc storage show
check "no temporary name is left" sh -c "! ls -A '$SFTP_CH/upload' | grep -q '\\.part\$'"
