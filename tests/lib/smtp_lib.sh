# smtp_lib.sh - sourced by the smtp-notifier scenarios (after tap.sh): a private
# CA, a real aiosmtpd (tests/lib/smtp_server.py) on loopback, the stack.
# Ports 16600-16699 only.
SMTP_PY=/usr/bin/python3
smtp_have_peer() { $SMTP_PY -c 'import aiosmtpd' 2>/dev/null; }
smtp_mkca() { test_mkca "$1" 'DNS:localhost,IP:127.0.0.1' mail.other.test; } # DIR: ca, ca2, server (localhost), other (mail.other.test)
smtp_waitport() { local i; for i in $(seq 200); do ss -Hltn "sport = :$1" | grep -q . && return 0; sleep 0.05; done; return 1; }
# smtp_peer_start PORT MAILDIR [server args...]: sets SMTP_PID
smtp_peer_start() {
        local port=$1 md=$2; shift 2
        bg "aiosmtpd-$port" $SMTP_PY "$ROOT_DIR/tests/lib/smtp_server.py" "$port" "$md" "$@"; SMTP_PID=$LAST_PID
        smtp_waitport "$port"
}
smtp_peer_stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; return 0; }
# mails in a maildir
smtp_count() { ls "$1/new" 2>/dev/null | wc -l; }
smtp_grep() { local re=$1 md=$2; grep -l -E -- "$re" "$md"/new/* 2>/dev/null | head -1; }
# smtp_stack [IDENTITY...]: busd, a session checker standing in for authd
# (unless authd itself is one of the identities), smtp-notifier
smtp_stack() {
        stack_init smtp-notifier testsvc "$@"
        stack_acl testsvc 'testsvc = { serve = ["authd", "pubsvc"]; call = ["bus.*"]; publish = ["auth.locked", "time.changed", "net.exposure.changed", "anr.failed"]; subscribe = []; };'
        : > "$T_DIR/empty.conf"
        sed -i -e 's/^retry_min_s = .*/retry_min_s = 1;/' -e 's/^retry_max_s = .*/retry_max_s = 2;/' \
                -e 's/^timeout_s = .*/timeout_s = 5;/' "$T_DIR/etc/smtp-notifier.conf"
        stack_busd
}
smtp_start() { bg "smtp-notifier${1:-}" "$B/smtp-notifier"; SMTPD=$LAST_PID; svc_up smtp-notifier; }
smtp_kill9() { kill -9 "$SMTPD" 2>/dev/null; wait "$SMTPD" 2>/dev/null; return 0; }
mailq_field() { dc --json mail queue | $SMTP_PY -c "import sys,json; d=json.load(sys.stdin); print(d$1)"; }
