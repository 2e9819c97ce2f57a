#!/bin/bash
# sftp-storage's temporary name replaced by a symlink on the server (someone
# else with write access to the directory, who read the name off an earlier
# attempt): the upload never writes through it into the file it points at;
# the item fails with a clear error and is kept for a retry.
source "$(dirname "$0")/../lib/tap.sh"
source "$ROOT_DIR/tests/lib/sftp_lib.sh"
need_root || { skip "sftp-storage temp symlink" "needs root (chroot, a system user)"; exit 0; }
sftp_have_peer || { skip "sftp-storage temp symlink" "openssh-server not installed (tests/deps/sftp.txt)"; exit 0; }
trap sftp_cleanup EXIT
sftp_stack || { nok "stack up"; exit 0; }
sftp_peer_setup 16738 || { nok "sshd config"; exit 0; }
sftp_peer_start || { nok "sshd up"; exit 0; }
sftp_start || { nok "sftp-storage up"; exit 0; }
PUB=$(stor_field "['public_key']"); printf '%s\n' "$PUB" > "$SW/keys/$SFTP_USER"; chmod 644 "$SW/keys/$SFTP_USER"
check_rc "an SFTP destination" 0 dc storage set url="sftp://127.0.0.1:$SFTP_PORT/upload" username=$SFTP_USER
check_out "pinned" 'pinned: +yes' dc storage trust "$(sftp_hostsha)"
check_out "the directory passes the test" 'exclusive: +marker written' dc storage test

# the server away: a.bin waits with its id known
sftp_peer_stop
sftp_drop a.bin 64
check_until "a.bin's attempt fails while the server is away" 20 "a\\.bin +queued.*connect" dc storage queue
ID=$(grep -rhs '^id ' "$T_DIR/state/sftp-storage/queue" | awk '{print $2}' | head -1)
[ ${#ID} = 32 ] && ok "the item's id ($ID)" || nok "no item id in the queue's state"
head -c 65536 /dev/urandom > "$SFTP_CH/upload2/victim"; cp "$SFTP_CH/upload2/victim" "$T_DIR/victim.orig"
chown "$SFTP_USER" "$SFTP_CH/upload2/victim"
ln -s /upload2/victim "$SFTP_CH/upload/.${ID:0:12}-a.bin.part"
sftp_peer_start || nok "sshd up again"
dc storage retry >/dev/null
check_until "the attempt fails: the temporary name is not a regular file" 20 'last_error: +.*not a regular file' dc storage show
check "the file the symlink points at is untouched" cmp -s "$T_DIR/victim.orig" "$SFTP_CH/upload2/victim"
check "nothing under the final name" sh -c "! ls -A '$SFTP_CH/upload' | grep -q -- '-a.bin\$'"
check_out "a.bin is kept for a retry" 'a\.bin +queued' dc storage queue
rm -f "$SFTP_CH/upload/.${ID:0:12}-a.bin.part"
dc storage retry >/dev/null
check_until "a.bin arrives once the symlink is gone" 20 '^same$' sh -c \
        "a=\$(ls '$SFTP_CH'/upload/*-a.bin) && cmp -s '$T_DIR/drop-a.bin' \"\$a\" && echo same"
