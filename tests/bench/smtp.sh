#!/bin/bash
# smtp-notifier benchmark: mails/s delivered to a real aiosmtpd (STARTTLS, no
# AUTH) from a backlog of 1,000 distinct mails queued while the server was
# down (coalescing does not apply to test mails); the daemon's idle USS.
# Prints BENCH<TAB>metric<TAB>value<TAB>unit<TAB>note lines. N=mails (default 1000).
source "$(dirname "$0")/../lib/tap.sh"
source "$ROOT_DIR/tests/lib/smtp_lib.sh"
N=${N:-1000}
smtp_have_peer || { bench "smtp-notifier backlog" "-" "-" "skipped: python3-aiosmtpd missing"; exit 0; }
smtp_stack
export DEVSEC_TOKEN=tok:admin:admin:system,security,system-info
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/empty.conf"
svc_up authd
smtp_mkca "$T_DIR/pki"; P=$T_DIR/pki; MD="$T_DIR/maildir"; PORT=16661
smtp_start
sleep 1
bench "smtp-notifier idle USS" "$(uss "$SMTPD")" "KiB" "after start, nothing queued"
dc mail set host=localhost port=$PORT ca_file="$P/ca.pem" from=cam@example.test coalesce_s=0 >/dev/null
dc mail test bench@example.test count="$N" >/dev/null
smtp_peer_start $PORT "$MD" "$P/server.pem" "$P/server.key"
dc mail retry >/dev/null
t0=$(date +%s%N)
wait_for 300 sh -c "[ \$(ls '$MD/new' | wc -l) -ge $N ]"
t1=$(date +%s%N)
got=$(smtp_count "$MD")
ms=$(( (t1 - t0) / 1000000 ))
bench "smtp-notifier backlog delivered" "$got" "mails" "of $N"
bench "smtp-notifier delivery rate" "$(echo "scale=1; $got * 1000 / ($ms + 1)" | bc)" "mails/s" "STARTTLS, one connection reused, fsync per mail"
bench "smtp-notifier USS after the backlog" "$(uss "$SMTPD")" "KiB" ""
