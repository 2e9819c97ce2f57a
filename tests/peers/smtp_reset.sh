#!/bin/bash
# Password reset by mail, end to end with a real authd and a real aiosmtpd:
# `devctl auth reset request` ends with the code in the user's inbox, the
# code works once, and it appears in no log and stays nowhere in the outbox.
source "$(dirname "$0")/../lib/tap.sh"
source "$ROOT_DIR/tests/lib/smtp_lib.sh"
smtp_have_peer || { skip "password reset by mail" "python3-aiosmtpd not installed (tests/deps/smtp.txt)"; exit 0; }
smtp_stack authd
sed -i 's/^hash_opslimit = .*/hash_opslimit = 1;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 8;/' "$T_DIR/etc/authd.conf"
check_out "the shipped function table has smtp off by factory default" 'name = "smtp";.*factory_default = false' cat "$ROOT_DIR/etc/devsec/functions.conf"
bg authd "$B/authd"; svc_up authd || { nok "authd up"; exit 0; }
smtp_mkca "$T_DIR/pki"; P=$T_DIR/pki
MD="$T_DIR/maildir"; PORT=16651
smtp_peer_start $PORT "$MD" "$P/server.pem" "$P/server.key" || { nok "aiosmtpd up"; exit 0; }
smtp_start || { nok "smtp-notifier up"; exit 0; }
as() { local u=$1; shift; DEVSEC_TOKEN_FILE="$T_DIR/tok.$u" "$B/devctl" "$@"; }
ADMIN_PW='Zx9#mQ2$vL'; DAVE_PW='Lp3@rX6^bT'; NEW_PW='Cw2!dF9@gH'
check_rc "init" 0 sh -c "printf '%s\n' '$ADMIN_PW' | '$B/devctl' init --password-stdin email=ops@example.com"
check_out "admin logs in" 'logged in as admin' sh -c "printf '%s\n' '$ADMIN_PW' | DEVSEC_TOKEN_FILE='$T_DIR/tok.admin' '$B/devctl' login -u admin --password-stdin"
check_rc "user add dave with an e-mail" 0 sh -c "printf '%s\n' '$DAVE_PW' | DEVSEC_TOKEN_FILE='$T_DIR/tok.admin' '$B/devctl' user add dave operator email=dave@example.com --password-stdin"
check_rc "mail set" 0 as admin mail set host=localhost port=$PORT ca_file="$P/ca.pem" from=cam@example.test

check_out "reset request" 'requested: +yes' dc auth reset request dave
check_until "the reset mail is in dave's inbox" 20 'X-RcptTo: dave@example.com' sh -c "cat '$MD'/new/* 2>/dev/null"
F=$(smtp_grep 'X-RcptTo: dave@example.com' "$MD")
CODE=$(sed -n 's/^Reset code: \([0-9A-Za-z]*\).*/\1/p' "${F:-/dev/null}" | tr -d '\r')
if [ -n "$CODE" ]; then ok "the mail carries the code"; else nok "the mail carries the code"; fi
check_out "its subject names the account" '^Subject: Password reset code for dave' cat "${F:-/dev/null}"
check_out "the code from the mail sets the password" 'changed: +yes' sh -c "printf '%s\n%s\n' '$CODE' '$NEW_PW' | '$B/devctl' auth reset confirm dave --password-stdin"
check_out "dave logs in with the new password" 'logged in as dave' sh -c "printf '%s\n' '$NEW_PW' | DEVSEC_TOKEN_FILE='$T_DIR/tok.dave' '$B/devctl' login -u dave --password-stdin"
check_out "the code is one-time" 'EAUTH' sh -c "printf '%s\n%s\n' '$CODE' 'Kd4@fG7#hJ' | '$B/devctl' auth reset confirm dave --password-stdin"
check "the code is in no daemon's log" sh -c "[ -n '$CODE' ] && ! grep -rqF -- '$CODE' '$T_DIR'/log/busd.log '$T_DIR'/log/authd.log '$T_DIR'/log/smtp-notifier.log"
check "nor anywhere in smtp-notifier's state once sent" sh -c "[ -n '$CODE' ] && ! grep -rqF -- '$CODE' '$T_DIR/state/smtp-notifier'"
check_out "the reset is counted" 'resets_queued: +1' as admin mail show
