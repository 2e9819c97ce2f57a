#!/bin/bash
# sftp-storage's FTPS fallback against a real vsftpd with explicit FTPS on
# loopback: refused until turned on by name; with it on, uploads go through a
# TLS-verified control and data channel, land under their final names with the
# right size and a SHA-256 sidecar next to the device's marker; a server whose
# certificate another CA signed, and a server offering no TLS, get nothing.
source "$(dirname "$0")/../lib/tap.sh"
source "$ROOT_DIR/tests/lib/sftp_lib.sh"
source "$ROOT_DIR/tests/lib/smtp_lib.sh" # smtp_mkca: a private CA and a localhost certificate
need_root || { skip "sftp-storage with vsftpd (FTPS)" "needs root (a system user, PAM)"; exit 0; }
command -v vsftpd >/dev/null || { skip "sftp-storage with vsftpd (FTPS)" "vsftpd not installed (tests/deps/sftp.txt)"; exit 0; }
FTP_USER=peerftps FTP_PASS='ftp-Test-Pass1'
ftps_cleanup() {
        for p in ${FTPD_PID:-} ${FTPD2_PID:-}; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
        [ -n "${FTP_MADE_USER:-}" ] && userdel "$FTP_USER" 2>/dev/null
        rm -f /etc/pam.d/devsec-test-vsftpd
        [ -n "${FW:-}" ] && [ -z "${KEEP:-}" ] && rm -rf "$FW"
        t_cleanup
}
trap ftps_cleanup EXIT
FW=$(mktemp -d /tmp/devsec-vsftpd.XXXXXX); chmod 755 "$FW"; mkdir -p "$FW/empty" "$FW/home/upload"
smtp_mkca "$FW/pki"
id "$FTP_USER" >/dev/null 2>&1 || { useradd --system --no-create-home --home-dir "$FW/home" --shell /usr/sbin/nologin "$FTP_USER"; FTP_MADE_USER=1; }
echo "$FTP_USER:$FTP_PASS" | chpasswd; chown "$FTP_USER" "$FW/home/upload"
# Debian's PAM service for vsftpd has pam_shells, which refuses a nologin user
printf 'auth required pam_unix.so\naccount required pam_unix.so\nsession required pam_permit.so\n' > /etc/pam.d/devsec-test-vsftpd
# ftpd_conf FILE PORT PASV_MIN TLS(YES|NO)
ftpd_conf() {
        cat > "$1" <<CONF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$2
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
chroot_local_user=YES
allow_writeable_chroot=YES
secure_chroot_dir=$FW/empty
pam_service_name=devsec-test-vsftpd
pasv_enable=YES
pasv_address=127.0.0.1
pasv_min_port=$3
pasv_max_port=$(( $3 + 9 ))
ssl_enable=$4
rsa_cert_file=$FW/pki/server.pem
rsa_private_key_file=$FW/pki/server.key
force_local_logins_ssl=$4
force_local_data_ssl=$4
xferlog_enable=YES
vsftpd_log_file=$FW/vsftpd-$2.log
CONF
}
ftpd_conf "$FW/tls.conf" 16731 16740 YES
ftpd_conf "$FW/plain.conf" 16732 16750 NO
sftp_stack || { nok "stack up"; exit 0; }
bg vsftpd-tls vsftpd "$FW/tls.conf"; FTPD_PID=$LAST_PID
bg vsftpd-plain vsftpd "$FW/plain.conf"; FTPD2_PID=$LAST_PID
sftp_waitport 16731 && sftp_waitport 16732 || { nok "vsftpd up"; exit 0; }
ok "vsftpd up with explicit FTPS (16731) and without TLS (16732)"
sftp_start || { nok "sftp-storage up"; exit 0; }

check_out "ftpes:// refused while the fallback is off" 'EINVAL.*url.*allow_ftps' \
        dc storage set url=ftpes://localhost:16731/upload username=$FTP_USER
check_rc "the fallback turned on by name, with the server's CA, the password from stdin (never argv)" 0 \
        sh -c "printf '%s\n' '$FTP_PASS' | '$B/devctl' storage set --password-stdin allow_ftps=true \
        url=ftpes://localhost:16731/upload username=$FTP_USER ca_file='$FW/pki/ca.pem'"
check_out "the directory test writes our marker over FTPS" 'exclusive: +marker written' dc storage test
check_out "... the marker names this device" '^device=cam-test-1$' cat "$FW/home/upload/.devsec-storage"
check_out "audit: storage.sftp passes for verified FTPS" 'storage.sftp.*pass' dc audit --level 1

sftp_drop f1.bin 300; sftp_drop f2.jpg 2
wait_for 30 sh -c "ls '$FW/home/upload/' | grep -q -- '-f1.bin\$' && ls '$FW/home/upload/' | grep -q -- '-f2.jpg\$'"
F1=$(ls "$FW/home/upload"/*-f1.bin 2>/dev/null | head -1)
check "f1.bin arrived byte-identical" cmp "$T_DIR/drop-f1.bin" "${F1:-/nonexistent}"
check_out "f2.jpg arrived with its size" '^2048$' stat -c %s "$(ls "$FW/home/upload"/*-f2.jpg 2>/dev/null | head -1)"
check_until "f1.bin's sidecar is there and sha256sum accepts it" 15 ': OK$' \
        sh -c "cd '$FW/home/upload' && sha256sum -c \"\$(basename '${F1:-none}').sha256\""
check "no temporary name is left" sh -c "! ls -A '$FW/home/upload' | grep -q '\\.part\$'"
check_until "the queue is empty" 10 '^queued: +0' dc storage show
check_out "vsftpd, which forces TLS on the data channel, logged the upload" 'OK UPLOAD' cat "$FW/vsftpd-16731.log"

# ---- a certificate from another CA: nothing sent
check_rc "the CA of another server" 0 dc storage set ca_file="$FW/pki/ca2.pem"
check_out "the directory test is refused by the certificate check" 'EAUTH|ETIMEDOUT|certificate|SSL' dc storage test
sftp_drop f3.bin 5
check_until "f3.bin waits in the queue with the TLS error" 20 'f3.bin.*(SSL|certificate)' dc storage queue
check "nothing reached the server with the wrong CA" sh -c "! ls '$FW/home/upload/' | grep -q -- '-f3.bin'"

# ---- a server without TLS: refused (CURLUSESSL_ALL), the password never sent
check_rc "a server that offers no TLS" 0 dc storage set ca_file="$FW/pki/ca.pem" url=ftpes://localhost:16732/upload
check_out "its directory test fails on the missing TLS" 'EAUTH|ETIMEDOUT|SSL|TLS' dc storage test
check "no login was attempted in clear (vsftpd saw no USER)" sh -c "! grep -q 'LOGIN' '$FW/vsftpd-16732.log' 2>/dev/null"
