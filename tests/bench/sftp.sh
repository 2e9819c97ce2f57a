#!/bin/bash
# sftp-storage benchmark: upload throughput of one file (256 MiB, SIZE_MIB) to
# a real OpenSSH sshd (internal-sftp, chroot) on loopback against OpenSSH's
# own sftp client putting the same file to the same server in the same run
# (target >= 0.9x). Both are timed from the first byte on the server's disk
# (the remote file appearing) to the complete file, so neither pays for its
# connection set-up or, for sftp-storage, the spool scan. And the daemon's
# idle USS. Needs root (chroot, a system user).
source "$(dirname "$0")/../lib/tap.sh"
source "$ROOT_DIR/tests/lib/sftp_lib.sh"
SIZE_MIB=${SIZE_MIB:-256}
need_root || { bench "sftp-storage upload" "-" "-" "skipped: needs root"; exit 0; }
sftp_have_peer && command -v sftp >/dev/null || { bench "sftp-storage upload" "-" "-" "skipped: openssh missing"; exit 0; }
trap sftp_cleanup EXIT
sftp_stack; sftp_peer_setup 16723; sftp_peer_start; sftp_start
wait_for 5 sh -c "'$B/devctl' storage show >/dev/null"
bench "sftp-storage idle USS" "$(uss "$STORD")" "KiB" "after start, nothing queued"
PUB=$(stor_field "['public_key']"); printf '%s\n' "$PUB" > "$SW/keys/$SFTP_USER"; chmod 644 "$SW/keys/$SFTP_USER"
dc storage set url="sftp://127.0.0.1:$SFTP_PORT/upload" username=$SFTP_USER >/dev/null
dc storage trust "$(sftp_hostsha)" >/dev/null
dc storage test >/dev/null
BYTES=$((SIZE_MIB * 1024 * 1024))
head -c "$BYTES" /dev/urandom > "$T_DIR/big.bin"
now() { date +%s%N; }
# first_and_done GLOB: ns when a file matching GLOB first exists, then when one has BYTES bytes
first_and_done() {
        local t0="" f
        for _ in $(seq 60000); do
                for f in $1; do [ -e "$f" ] && { t0=$(now); break 2; }; done
                sleep 0.005
        done
        for _ in $(seq 60000); do
                for f in $2; do [ -e "$f" ] && [ "$(stat -c %s "$f")" = "$BYTES" ] && { echo "$t0 $(now)"; return 0; }; done
                sleep 0.005
        done
        echo "$t0 0"
}
# OpenSSH's client, the same file, the same server and account (the device key)
: > "$T_DIR/ssh_known"
echo "put $T_DIR/big.bin /upload/openssh.bin" > "$T_DIR/batch"
( first_and_done "$SFTP_CH/upload/openssh.bin" "$SFTP_CH/upload/openssh.bin" > "$T_DIR/t_ssh" ) & W=$!
# its CPU time (user + system, ssh included) with time(1) when installed
TIMED=(); if [ -x /usr/bin/time ]; then TIMED=(/usr/bin/time -f '%U %S' -o "$T_DIR/cpu_ssh"); else echo "- -" > "$T_DIR/cpu_ssh"; fi
"${TIMED[@]}" sftp -q ${SSH_OPTS:-} -b "$T_DIR/batch" -P "$SFTP_PORT" -i "$T_DIR/state/sftp-storage/id_ed25519" \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile="$T_DIR/ssh_known" "$SFTP_USER@127.0.0.1" >/dev/null 2>&1
wait $W
# sftp-storage: the file dropped into the spool; its CPU time (user + system
# clock ticks of the whole process) from the drop to the end of the upload
ticks() { awk '{ print $14 + $15 }' "/proc/$STORD/stat"; }
k0=$(ticks)
( first_and_done "$SFTP_CH/upload/.*-big.bin.part" "$SFTP_CH/upload/*-big.bin" > "$T_DIR/t_ds" ) & W=$!
cp "$T_DIR/big.bin" "$(SPOOL)/.big.bin.tmp"; mv "$(SPOOL)/.big.bin.tmp" "$(SPOOL)/big.bin"
wait $W
k1=$(ticks)
read -r a b < "$T_DIR/t_ssh"; read -r c d < "$T_DIR/t_ds"
if [ -z "$a" ] || [ "$b" = 0 ] || [ -z "$c" ] || [ "$d" = 0 ]; then
        bench "sftp-storage upload" "-" "-" "FAIL: an upload did not complete (openssh $a..$b, sftp-storage $c..$d)"; exit 0
fi
ssh_mibs=$(echo "scale=1; $SIZE_MIB * 1000000000 / ($b - $a)" | bc)
ds_mibs=$(echo "scale=1; $SIZE_MIB * 1000000000 / ($d - $c)" | bc)
ratio=$(echo "scale=2; ($b - $a) / ($d - $c)" | bc)
bench "openssh sftp put ${SIZE_MIB} MiB" "$ssh_mibs" "MiB/s" "loopback, same sshd"
bench "sftp-storage upload ${SIZE_MIB} MiB" "$ds_mibs" "MiB/s" "libssh2, one connection, SHA-256 sidecar"
hz=$(getconf CLK_TCK)
bench "openssh sftp CPU ${SIZE_MIB} MiB" "$(awk '$1 == "-" { print "-"; next } { printf "%.2f", $1 + $2 }' "$T_DIR/cpu_ssh")" "s" "user + system"
bench "sftp-storage CPU ${SIZE_MIB} MiB" "$(echo "scale=2; ($k1 - $k0) / $hz" | bc)" "s" "user + system, upload and sidecar"
bench "sftp-storage / openssh sftp" "$ratio" "x" "target >= 0.90: $(echo "$ratio >= 0.9" | bc | sed 's/1/PASS/; s/0/FAIL/')"
wait_for 30 sh -c "'$B/devctl' storage show | grep -q '^queued: *0'"
bench "sftp-storage USS after the upload" "$(uss "$STORD")" "KiB" ""
