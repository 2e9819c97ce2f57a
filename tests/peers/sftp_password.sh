#!/bin/bash
# sftp-storage's password authentication against a real OpenSSH sshd that
# takes passwords only (internal-sftp, chroot, a test user with a password):
# the password given on stdin (never argv); a wrong one fails the directory
# test and an item with "Login denied", and the item is retried; the right
# one uploads it. And one SSH connection per upload: sshd sees one
# connection for list, upload, size check and sidecar.
source "$(dirname "$0")/../lib/tap.sh"
source "$ROOT_DIR/tests/lib/sftp_lib.sh"
need_root || { skip "sftp-storage password auth" "needs root (chroot, a system user)"; exit 0; }
sftp_have_peer || { skip "sftp-storage password auth" "openssh-server not installed (tests/deps/sftp.txt)"; exit 0; }
SFTP_USER=devsecpw # its own user: the key-only scenarios reset peersftp's password
PW='sftp-Test-Pass1' BADPW='not-the-Pass9'
trap sftp_cleanup EXIT
sftp_stack || { nok "stack up"; exit 0; }
sftp_peer_setup 16726 || { nok "sshd config"; exit 0; }
# passwords only: the device key cannot stand in for the password
sed -i -e 's/^AuthenticationMethods .*/AuthenticationMethods password/' \
        -e 's/^PasswordAuthentication .*/PasswordAuthentication yes/' "$SW/sshd_config"
printf '%s:%s\n' "$SFTP_USER" "$PW" | chpasswd
"$SSHD" -t -f "$SW/sshd_config" || { nok "sshd config (password)"; exit 0; }
sftp_peer_start || { nok "sshd up"; exit 0; }
sftp_start || { nok "sftp-storage up"; exit 0; }
SLOG="$T_DIR/log/sshd.log"
conns() { grep -c 'Connection from 127.0.0.1' "$SLOG" 2>/dev/null || true; }
set_pw() { printf '%s\n' "$1" | "$B/devctl" storage set --password-stdin; }

check_rc "an SFTP destination" 0 dc storage set url="sftp://127.0.0.1:$SFTP_PORT/upload" username=$SFTP_USER
check_out "pinned" 'pinned: +yes' dc storage trust "$(sftp_hostsha)"

# ---- a wrong password: refused with a clear error
check_rc "a wrong password, from stdin" 0 set_pw "$BADPW"
check_out "show says a password is set, not which" 'password_set: +yes' dc storage show
check_out "the directory test fails: Login denied" 'Login denied' dc storage test
check_out "sshd refused the password" "Failed password for $SFTP_USER" cat "$SLOG"

# ---- the right password: the directory is taken, a file uploaded
check_rc "the right password" 0 set_pw "$PW"
check_out "the directory test passes" 'exclusive: +marker written' dc storage test
check_out "sshd took the password (not the device key)" "Accepted password for $SFTP_USER" cat "$SLOG"
C0=$(conns)
sftp_drop a.bin 200
check_until "a.bin arrives with a matching sidecar" 20 ': OK$' \
        sh -c "cd '$SFTP_CH/upload' && f=\$(ls | grep -- '-a.bin\$') && cmp '$T_DIR/drop-a.bin' \"\$f\" && sha256sum -c \"\$f.sha256\""
check_until "the queue is empty" 10 '^queued: +0' dc storage show
C1=$(conns)
if [ $((C1 - C0)) = 1 ]; then ok "one SSH connection for the upload (list, put, rename, size check, sidecar)"
else nok "SSH connections for one upload: $((C1 - C0)), want 1"; fi

# ---- the password turns wrong: the item fails with a clear error, is retried
check_rc "the wrong password again" 0 set_pw "$BADPW"
sftp_drop b.bin 20
check_until "b.bin fails: Login denied" 20 'last_error: +Login denied' dc storage show
check_until "... and is retried (a second attempt)" 20 'b\.bin +queued +[2-9]' dc storage queue
check_out "... with the error in the queue" 'b\.bin.*Login denied' dc storage queue
check "nothing of b.bin on the server" sh -c "! ls -A '$SFTP_CH/upload' | grep -q -- '-b.bin'"
check_rc "the right password" 0 set_pw "$PW"
check_until "b.bin arrives at a retry" 20 '^same$' \
        sh -c "f=\$(ls '$SFTP_CH'/upload/*-b.bin 2>/dev/null) && cmp -s '$T_DIR/drop-b.bin' \"\$f\" && echo same"
check_until "the queue is empty" 10 '^queued: +0' dc storage show

# ---- the password is a secret
check "the password is in no log" sh -c "! grep -rqF -- '$PW' '$T_DIR/log'"
export_ok() { local out; out=$(DEVSEC_TOKEN=$DEVSEC_TOKEN,backup "$B/devctl" config export sftp-storage) && ! printf '%s' "$out" | grep -qF -- "$PW" && printf '%s' "$out" | grep -q username; }
check "... nor in the settings export" export_ok
