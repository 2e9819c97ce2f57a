#!/bin/bash
# smtp-notifier never falls back to plaintext and never trusts a certificate
# it cannot verify: a server without STARTTLS gets nothing (the error shows in
# `devctl mail queue`), a wrong CA or a wrong host name is refused; with the
# right CA and name the same mail then goes out over implicit TLS too.
source "$(dirname "$0")/../lib/tap.sh"
source "$ROOT_DIR/tests/lib/smtp_lib.sh"
smtp_have_peer || { skip "smtp-notifier TLS refusals" "python3-aiosmtpd not installed (tests/deps/smtp.txt)"; exit 0; }
smtp_stack
export DEVSEC_TOKEN=tok:admin:admin:system,security,system-info
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/empty.conf"
svc_up authd || { nok "session checker up"; exit 0; }
smtp_mkca "$T_DIR/pki"
P=$T_DIR/pki
smtp_start || { nok "smtp-notifier up"; exit 0; }
base="from=cam@example.test alarm_to=ops@example.test"

# ---- a server that offers no STARTTLS: nothing is sent, not even MAIL FROM
MD1="$T_DIR/md-plain"
SMTP_DEBUG=1 smtp_peer_start 16631 "$MD1" "$P/server.pem" "$P/server.key" --no-starttls || nok "plain server up"
PLAIN=$SMTP_PID
check_rc "mail set to the plaintext-only server" 0 dc mail set host=localhost port=16631 ca_file="$P/ca.pem" $base
check_out "mail test queues" 'queued: +1' dc mail test
check_until "mail queue shows why it is not sent" 15 'STARTTLS|SSL|TLS' dc mail queue
check_out "the mail is still queued" 'queued +ops@example.test' dc mail queue
check_out "nothing reached the plaintext server" '^0$' smtp_count "$MD1"
check "the server saw the EHLO, then no MAIL FROM in clear" sh -c "grep -q 'EHLO' '$T_DIR/log/aiosmtpd-16631.log' && ! grep -q 'MAIL FROM' '$T_DIR/log/aiosmtpd-16631.log'"
smtp_peer_stop $PLAIN
check_out "retry of an unknown mail names the field" 'ENOENT: id: no such mail in the outbox' dc mail retry 0123456789abcdef0123456789abcdef
check_out "retry refuses failed_only, which is for purge" 'EINVAL: failed_only' dc call smtp-notifier mail.retry failed_only=true
check_out "purge answers how many it dropped" 'purged: +1$' dc mail purge
check_out "and the outbox is empty" '^0$' sh -c "'$B/devctl' mail queue | grep -c ops@example.test || true"

# ---- wrong CA: refused
MD2="$T_DIR/md-tls"
smtp_peer_start 16632 "$MD2" "$P/server.pem" "$P/server.key" || nok "TLS server up"
check_rc "mail set with a CA that did not sign the server" 0 dc mail set host=localhost port=16632 ca_file="$P/ca2.pem" $base
dc mail test >/dev/null
check_until "wrong CA: refused, the error in mail queue" 15 'certificate|SSL' dc mail queue
check_out "wrong CA: nothing delivered" '^0$' smtp_count "$MD2"
dc mail purge >/dev/null

# ---- wrong host name: a certificate of the right CA for another name
MD3="$T_DIR/md-name"
smtp_peer_start 16633 "$MD3" "$P/other.pem" "$P/other.key" || nok "other-name server up"
check_rc "mail set to a server whose certificate names another host" 0 dc mail set host=localhost port=16633 ca_file="$P/ca.pem" $base
dc mail test >/dev/null
check_until "wrong host name: refused, the error in mail queue" 15 'certificate|SSL|name' dc mail queue
check_out "wrong host name: nothing delivered" '^0$' smtp_count "$MD3"
dc mail purge >/dev/null

# ---- the right CA and name: delivered (STARTTLS), and over implicit TLS
check_rc "mail set to the right server" 0 dc mail set host=localhost port=16632 ca_file="$P/ca.pem" $base
dc mail test >/dev/null
check_until "delivered with the right CA and name" 15 '^1$' smtp_count "$MD2"
MD4="$T_DIR/md-smtps"
smtp_peer_start 16634 "$MD4" "$P/server.pem" "$P/server.key" --implicit || nok "smtps server up"
check_rc "mail set tls=implicit (smtps)" 0 dc mail set host=127.0.0.1 port=16634 tls=implicit ca_file="$P/ca.pem" $base
dc mail test >/dev/null
check_until "delivered over implicit TLS, the IP address verified" 15 '^1$' smtp_count "$MD4"
check_out "tls accepts no plaintext mode" 'EINVAL.*tls' dc mail set tls=none
