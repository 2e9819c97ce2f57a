#!/bin/bash
# The outbox through an outage and through kill -9: 1,000 mails queued while
# the server is down are all delivered, in order, once, after it comes back;
# smtp-notifier killed with SIGKILL in the middle of a backlog loses none, and
# a mail it sends twice (delivered just before the kill) carries the same
# Message-ID both times. Also the quota: EBUSY when full.
source "$(dirname "$0")/../lib/tap.sh"
source "$ROOT_DIR/tests/lib/smtp_lib.sh"
smtp_have_peer || { skip "smtp-notifier outage" "python3-aiosmtpd not installed (tests/deps/smtp.txt)"; exit 0; }
smtp_stack
export DEVSEC_TOKEN=tok:admin:admin:system,security,system-info
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/empty.conf"
svc_up authd || { nok "session checker up"; exit 0; }
smtp_mkca "$T_DIR/pki"; P=$T_DIR/pki
MD="$T_DIR/maildir"; PORT=16641
smtp_start || { nok "smtp-notifier up"; exit 0; }
check_rc "mail set (the server is down)" 0 dc mail set host=localhost port=$PORT ca_file="$P/ca.pem" from=cam@example.test
# every subject "test mail N/1000" once, in order, and one Message-ID per N
verify() { # MAILDIR BATCH COUNT -> "ok" or why not
        /usr/bin/python3 - "$@" <<'PY'
import email, os, re, sys
md, batch, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = []
for n in os.listdir(os.path.join(md, "new")):
    m = email.message_from_binary_file(open(os.path.join(md, "new", n), "rb"))
    s = re.match(r"\[devsec\] test mail (\d+)/(\d+)", m["Subject"] or "")
    if not s or m["X-RcptTo"] != batch:
        continue
    # aiosmtpd writes files in arrival order: the file's mtime_ns orders them
    rows.append((os.stat(os.path.join(md, "new", n)).st_mtime_ns, int(s.group(1)), m["Message-ID"]))
rows.sort()
nums = [r[1] for r in rows]
ids = {}
for _, k, mid in rows:
    ids.setdefault(k, set()).add(mid)
missing = sorted(set(range(1, count + 1)) - set(nums))
dups = len(nums) - len(set(nums))
bad_dup = [k for k, v in ids.items() if len(v) > 1]
order_ok = all(nums[i] <= nums[i + 1] or nums[i + 1] in nums[:i] for i in range(len(nums) - 1))
print("ok" if not missing and not bad_dup and order_ok else "bad",
      f"got={len(nums)} distinct={len(set(nums))} missing={missing[:5]} dups={dups} dup_with_new_id={bad_dup[:5]} in_order={order_ok}")
PY
}

# ---- an outage with 1,000 queued mails
listen_bg "$T_DIR/log/svc-events.log" --json -- bus.service.
check_out "1,000 distinct mails queued while the server is down" 'queued: +1000' dc mail test a@example.test count=1000
# queued a slice per turn of its loop: its heartbeats kept flowing meanwhile
check "smtp-notifier stayed on the bus while they were queued (no bus.service.down)" \
        sh -c "! grep -q 'bus.service.down' '$T_DIR/log/svc-events.log'"
check_until "the outbox holds them, the connection error shown" 15 'Couldn.t connect|connect' dc mail queue max=1
check_out "queue_max_items is a quota: beyond it EBUSY" 'EBUSY' sh -c "dc() { '$B/devctl' \"\$@\"; }; '$B/devctl' config set smtp-notifier queue_max_items=1000 >/dev/null && '$B/devctl' mail test a@example.test"
check_out "the refusal is counted" 'refused_full: +[1-9]' dc mail show
dc config set smtp-notifier queue_max_items=5000 >/dev/null
smtp_peer_start $PORT "$MD" "$P/server.pem" "$P/server.key" || nok "aiosmtpd up"
SP=$SMTP_PID
wait_for 240 sh -c "[ \$(ls '$MD/new' | wc -l) -ge 1000 ]"
check_until "the outbox drains" 30 '^queued: +0' dc mail show
check_out "after the outage: all 1,000 delivered, in order, none twice" '^ok .*dups=0 ' verify "$MD" a@example.test 1000

# ---- kill -9 in the middle of a backlog
smtp_peer_stop $SP
check_out "500 more queued while the server is down" 'queued: +500' dc mail test b@example.test count=500
smtp_peer_start $PORT "$MD" "$P/server.pem" "$P/server.key" || nok "aiosmtpd up again"
wait_for 120 sh -c "[ \$(grep -l 'X-RcptTo: b@example.test' '$MD'/new/* 2>/dev/null | wc -l) -ge 100 ]"
smtp_kill9
N=$(grep -l 'X-RcptTo: b@example.test' "$MD"/new/* 2>/dev/null | wc -l)
if [ "$N" -lt 500 ]; then ok "smtp-notifier killed with SIGKILL after $N of 500"; else nok "the kill came too late ($N delivered)"; fi
check_until "the same listener saw the kill as bus.service.down (so it would have seen one before)" 15 \
        'bus.service.down.*smtp-notifier' cat "$T_DIR/log/svc-events.log"
smtp_start 2 || nok "smtp-notifier up again"
wait_for 120 sh -c "[ \$(grep -l 'X-RcptTo: b@example.test' '$MD'/new/* 2>/dev/null | wc -l) -ge 500 ]"
check_until "the outbox drains after the restart" 30 '^queued: +0' dc mail show
check_out "after kill -9: none lost; a duplicate only with the same Message-ID" '^ok ' verify "$MD" b@example.test 500
smtp_peer_stop $SP
