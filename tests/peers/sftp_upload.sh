#!/bin/bash
# sftp-storage against a real OpenSSH sshd (internal-sftp, key-only, chroot)
# on loopback: plain ftp:// refused at set; the host key shown and pinned only
# when given back; spooled files land under their final names with the right
# size next to the device's marker; a changed host key is refused until
# re-trusted; a directory with another device's marker is refused unless
# adopted; sshd stopped in the middle of a 64 MiB upload -> resumed, the final
# file byte-identical.
source "$(dirname "$0")/../lib/tap.sh"
source "$ROOT_DIR/tests/lib/sftp_lib.sh"
need_root || { skip "sftp-storage with OpenSSH" "needs root (chroot, a system user)"; exit 0; }
sftp_have_peer || { skip "sftp-storage with OpenSSH" "openssh-server not installed (tests/deps/sftp.txt)"; exit 0; }
trap sftp_cleanup EXIT
sftp_stack || { nok "stack up"; exit 0; }
sftp_peer_setup 16722 || { nok "sshd config"; exit 0; }
sftp_peer_start || { nok "sshd up"; exit 0; }
sftp_start || { nok "sftp-storage up"; exit 0; }
URL="sftp://127.0.0.1:$SFTP_PORT/upload"

# ---- plain FTP and bad directories refused at set, naming the field and why
check_out "ftp:// refused: EINVAL, field url, why" 'EINVAL.*url.*plain FTP' dc storage set url=ftp://127.0.0.1/upload username=$SFTP_USER
check_out "ftpes:// refused unless allow_ftps" 'EINVAL.*url.*allow_ftps' dc storage set url=ftpes://127.0.0.1/upload username=$SFTP_USER
check_out "the remote root is refused" 'EINVAL.*url.*system directory' dc storage set url=sftp://127.0.0.1/ username=$SFTP_USER
check_out "a system directory is refused" 'EINVAL.*url.*system directory' dc storage set url=sftp://127.0.0.1/etc username=$SFTP_USER
check_out "audit: storage.sftp n/a before configuration" 'storage.sftp.*(n/a|na|N/A)' dc audit --level 1
check_rc "set an SFTP destination" 0 dc storage set url="$URL" username=$SFTP_USER

# ---- the device key: generated on the device, exported by show
PUB=$(stor_field "['public_key']")
case "$PUB" in ssh-ed25519\ *) ok "show exports the device's Ed25519 public key" ;; *) nok "public key: '$PUB'" ;; esac
printf '%s\n' "$PUB" > "$SW/keys/$SFTP_USER"; chmod 644 "$SW/keys/$SFTP_USER"
check_out "the private key is 0600" '^600$' stat -c %a "$T_DIR/state/sftp-storage/id_ed25519"

# ---- trust: shown, never pinned silently
FP=$(sftp_hostsha)
check "trust shows the server's fingerprint" sh -c "'$B/devctl' storage trust | grep -F 'offered:' | grep -qF -- '${FP#SHA256:}'"
check_out "... and pins nothing by itself" "pinned: +no" dc storage trust
check_out "nothing is pinned yet" '^host_key_sha256: +-?$' dc storage show
check_out "audit: storage.hostkey fails while unpinned" 'storage.hostkey.*fail' dc audit --level 1
check_out "a wrong fingerprint is refused" 'EINVAL.*fingerprint' dc storage trust SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
check_out "the fingerprint given back is pinned" 'pinned: +yes' dc storage trust "$FP"
check "show has the pin" sh -c "'$B/devctl' storage show | grep -F 'host_key_sha256:' | grep -qF -- '${FP#SHA256:}'"

# ---- uploads land under their final names with the right size, next to our marker
sftp_drop a.bin 100; sftp_drop b.jpg 3
wait_for 20 sh -c "ls '$SFTP_CH/upload/' | grep -q -- '-b.jpg\$' && ls '$SFTP_CH/upload/' | grep -q -- '-a.bin\$'"
A=$(sftp_remote a.bin); BJ=$(sftp_remote b.jpg)
check_out "a.bin arrived with its size" '^102400$' stat -c %s "${A:-/nonexistent}"
check_out "b.jpg arrived with its size" '^3072$' stat -c %s "${BJ:-/nonexistent}"
check_until "a.bin has a SHA-256 sidecar that sha256sum accepts" 10 ': OK$' \
        sh -c "cd '$SFTP_CH/upload' && sha256sum -c \"\$(basename '$A').sha256\""
check_out "... and it holds the local file's sum" "^$(sha256sum < "$T_DIR/drop-a.bin" 2>/dev/null | cut -c1-64)" \
        cat "$A.sha256"
check "no temporary name is left" sh -c "! ls -A '$SFTP_CH/upload' | grep -q '\\.part\$'"
check_out "the marker names this device" '^device=cam-test-1$' cat "$SFTP_CH/upload/.devsec-storage"
check_until "the queue is empty, the spool file deleted (retention delete)" 10 '^queued: +0' dc storage show
check "the local copy is gone" sh -c "! ls '$T_DIR/state/sftp-storage/held' | grep -q ."
check_out "audit: storage.sftp passes" 'storage.sftp.*pass' dc audit --level 1
check_out "audit: storage.hostkey passes" 'storage.hostkey.*pass' dc audit --level 1
check_out "audit: storage.exclusive passes" 'storage.exclusive.*pass' dc audit --level 2

# ---- a changed host key: refused until re-trusted
sftp_peer_stop
rm -f "$SW/hostkey" "$SW/hostkey.pub"; ssh-keygen -q -t ed25519 -N '' -f "$SW/hostkey"
sftp_peer_start || nok "sshd up with a new host key"
sftp_drop c.bin 10
check_until "the new host key is refused" 20 'host_key_mismatch: +yes' dc storage show
check_out "the error says why" 'does not match the pinned' dc storage queue
check "nothing was uploaded with the new key" sh -c "! ls '$SFTP_CH/upload/' | grep -q -- '-c.bin\$'"
check_out "audit: storage.hostkey fails" 'storage.hostkey.*fail' dc audit --level 1
FP2=$(sftp_hostsha)
check "trust shows the new fingerprint" sh -c "'$B/devctl' storage trust | grep -F 'offered:' | grep -qF -- '${FP2#SHA256:}'"
check_out "re-trusted" 'pinned: +yes' dc storage trust "$FP2"
dc storage retry >/dev/null
wait_for 20 sh -c "ls '$SFTP_CH/upload/' | grep -q -- '-c.bin\$'"
check_out "after re-trust the file arrives" '^10240$' stat -c %s "$(sftp_remote c.bin)"

# ---- another device's marker: refused unless adopted
printf 'devsec-storage exclusive directory\ndevice=other-cam\n' > "$SFTP_CH/upload2/.devsec-storage"
touch "$SFTP_CH/upload3/someone-elses.txt"
check_rc "switch to a directory of another device" 0 dc storage set url="sftp://127.0.0.1:$SFTP_PORT/upload2"
check_out "its marker is refused" 'another device.*other-cam' dc storage test
check_out "audit: storage.exclusive fails" 'storage.exclusive.*fail' dc audit --level 2
check_rc "a directory with foreign files and no marker" 0 dc storage set url="sftp://127.0.0.1:$SFTP_PORT/upload3"
check_out "... is refused" 'someone else' dc storage test
check_out "--adopt takes it over" 'exclusive: +marker written' dc storage test --adopt
check_out "... writing our marker" '^device=cam-test-1$' cat "$SFTP_CH/upload3/.devsec-storage"
check_rc "back to our directory" 0 dc storage set url="$URL"
check_out "our own directory passes the test" 'exclusive: +marker of this device' dc storage test

# ---- sshd stopped in the middle of a 64 MiB upload: resumed, byte-identical
check_rc "a bandwidth cap to catch the upload in the middle" 0 dc storage set rate_limit_kib_s=8192
head -c $((64 * 1024 * 1024)) /dev/urandom > "$T_DIR/big.bin"
cp "$T_DIR/big.bin" "$(SPOOL)/.big.bin.tmp"; mv "$(SPOOL)/.big.bin.tmp" "$(SPOOL)/big.bin"
partsz() { stat -c %s "$SFTP_CH"/upload/.*-big.bin.part 2>/dev/null || echo 0; }
wait_for 30 sh -c "[ \"\$(stat -c %s '$SFTP_CH'/upload/.*-big.bin.part 2>/dev/null || echo 0)\" -gt 8388608 ]"
sftp_peer_stop
P1=$(partsz)
if [ "$P1" -gt 0 ] && [ "$P1" -lt $((64 * 1024 * 1024)) ]; then ok "sshd stopped mid-upload ($P1 bytes sent)"; else nok "sshd stopped mid-upload ($P1 bytes)"; fi
check_until "the interruption is in the queue" 20 'big.bin.*(queued|uploading).*[1-9]' dc storage queue
check_rc "the cap off again" 0 dc storage set rate_limit_kib_s=0
sftp_peer_start || nok "sshd up again"
wait_for 60 sh -c "ls '$SFTP_CH/upload/' | grep -q -- '-big.bin\$'"
check "the final file is byte-identical" cmp "$T_DIR/big.bin" "$(sftp_remote big.bin)"
check_until "the resumed file's sidecar (summed again after the resume) matches" 20 ': OK$' \
        sh -c "cd '$SFTP_CH/upload' && sha256sum -c \"\$(basename '$(sftp_remote big.bin)').sha256\""
check_out "it was resumed, not sent again" 'resumed: +[1-9]' dc storage show
check_until "the queue is empty" 10 '^queued: +0' dc storage show
