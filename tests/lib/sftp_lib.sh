# sftp_lib.sh - sourced by the sftp-storage scenarios (after tap.sh): a real
# OpenSSH sshd with internal-sftp, key-only, chrooted, on 127.0.0.1; the stack.
# Ports 16700-16799 only. Needs root (the chroot, a system user).
SSHD=/usr/sbin/sshd
SFTP_USER=peersftp
sftp_have_peer() { [ -x "$SSHD" ] && command -v ssh-keygen >/dev/null; }
sftp_waitport() { local i; for i in $(seq 200); do ss -Hltn "sport = :$1" | grep -q . && return 0; sleep 0.05; done; return 1; }
# sftp_peer_setup PORT: host key, user, chroot $SFTP_CH with upload/ and upload2/
sftp_peer_setup() {
        # (its own dir, readable by the sftp user: sshd reads authorized keys as that user)
        SFTP_PORT=$1; SW=$(mktemp -d /tmp/devsec-sshd.XXXXXX); chmod 755 "$SW"; mkdir -p "$SW/keys" /run/sshd
        ssh-keygen -q -t ed25519 -N '' -f "$SW/hostkey"
        id "$SFTP_USER" >/dev/null 2>&1 || { useradd --system --no-create-home --home-dir /upload --shell /usr/sbin/nologin "$SFTP_USER"; SFTP_MADE_USER=1; }
        usermod -p '*' "$SFTP_USER"
        SFTP_CH=$(mktemp -d -p /run devsec-sftp.XXXXXX); chmod 755 "$SFTP_CH"
        mkdir "$SFTP_CH/upload" "$SFTP_CH/upload2" "$SFTP_CH/upload3"; chown "$SFTP_USER" "$SFTP_CH"/upload*
        cat > "$SW/sshd_config" <<CONF
Port $SFTP_PORT
ListenAddress 127.0.0.1
HostKey $SW/hostkey
PidFile $SW/sshd.pid
AuthorizedKeysFile $SW/keys/%u
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UsePAM no
StrictModes no
AllowUsers $SFTP_USER
Subsystem sftp internal-sftp
ChrootDirectory $SFTP_CH
ForceCommand internal-sftp
AllowTcpForwarding no
X11Forwarding no
PermitTTY no
LogLevel VERBOSE
CONF
        "$SSHD" -t -f "$SW/sshd_config"
}
sftp_peer_start() { bg "sshd" "$SSHD" -D -e -f "$SW/sshd_config"; SSHD_PID=$LAST_PID; sftp_waitport "$SFTP_PORT"; }
# stops the listener and the sessions it started (its children, by pid)
sftp_peer_stop() {
        local c
        for c in $(pgrep -P "$SSHD_PID" 2>/dev/null); do kill "$c" 2>/dev/null; done
        kill "$SSHD_PID" 2>/dev/null; wait "$SSHD_PID" 2>/dev/null
        for i in $(seq 100); do ss -Hltn "sport = :$SFTP_PORT" | grep -q . || return 0; sleep 0.05; done
}
sftp_hostsha() { ssh-keygen -lf "$SW/hostkey.pub" -E sha256 | awk '{print $2}'; }
sftp_cleanup() {
        [ -n "${SSHD_PID:-}" ] && sftp_peer_stop
        [ -n "${SFTP_CH:-}" ] && rm -rf "$SFTP_CH"
        [ -n "${SW:-}" ] && [ -z "${KEEP:-}" ] && rm -rf "$SW"
        [ -n "${SFTP_MADE_USER:-}" ] && userdel "$SFTP_USER" 2>/dev/null
        t_cleanup
}
sftp_stack() {
        stack_init sftp-storage testsvc "$@"
        : > "$T_DIR/empty.conf"
        sed -i -e 's/^retry_min_s = .*/retry_min_s = 1;/' -e 's/^retry_max_s = .*/retry_max_s = 2;/' \
                -e 's/^timeout_s = .*/timeout_s = 5;/' -e 's/^device_id = .*/device_id = "cam-test-1";/' \
                "$T_DIR/etc/sftp-storage.conf"
        stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = []; subscribe = []; };'
        stack_busd
        export DEVSEC_TOKEN=tok:admin:admin:system,security,system-info,storage
        bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/empty.conf"
        svc_up authd
}
sftp_start() { bg "sftp-storage" "$B/sftp-storage"; STORD=$LAST_PID; svc_up sftp-storage; }
SPOOL() { echo "$T_DIR/state/sftp-storage/spool"; }
# sftp_drop NAME SIZE_KIB: a file written under a dot name and renamed into the spool
sftp_drop() { head -c "$(( $2 * 1024 ))" /dev/urandom > "$T_DIR/drop-$1" && cp "$T_DIR/drop-$1" "$(SPOOL)/.$1.tmp" && mv "$(SPOOL)/.$1.tmp" "$(SPOOL)/$1"; }
# the remote file of spooled NAME (final name: <12 hex of the id>-NAME)
sftp_remote() { ls "$SFTP_CH/${2:-upload}"/*-"$1" 2>/dev/null | head -1; }
stor_field() { dc --json storage show | python3 -c "import sys,json; print(json.load(sys.stdin)$1)"; }
