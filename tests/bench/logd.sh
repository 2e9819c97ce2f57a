#!/bin/bash
# logd benchmark, side by side with rsyslogd in the same run:
#  - the store path alone: records appended by logd's store code (hash chain, a
#    seal and an fdatasync every 1000 records, rotation at 1 MiB), no bus;
#  - the publisher -> busd alone (nobody subscribed): the ceiling of the whole path;
#  - the whole path: a publisher -> busd (CURVE, ACL) -> logd -> the store, the
#    same durability, timed from the first publish to the last stored record;
#    events in batches (what the publisher queued, up to 64 a message; busd
#    checks and stamps each), then again one message per event;
#  - rsyslogd receiving the same records over TCP (octet counting) into a file,
#    timed from the connect to the last line written;
#  - verification of the whole store by devctl (log.segments/log.read pages).
# Each rate is compared with rsyslogd's: target and PASS/FAIL in the note.
# Prints BENCH<TAB>metric<TAB>value<TAB>unit<TAB>note lines. N=records (default 200000).
source "$(dirname "$0")/../lib/tap.sh"
N=${N:-200000}
rate() { echo "scale=0; $1 * 1000 / ($2 + 1)" | bc; }
ratio() { echo "scale=2; $1 / $2" | bc; }
[ -x "$B/tests/logd_test_bench" ] || make -s --no-print-directory BUILD="$BUILD" "$B/tests/logd_test_bench" >/dev/null

stack_init logd logprod testsvc
stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = []; subscribe = []; };'
stack_acl logprod 'logprod = { call = ["bus.*", "logd.log.status"]; publish = ["log.*"]; subscribe = []; };'
sed -i -e 's/^quota_mb = .*/quota_mb = 1024;/' "$T_DIR/etc/logd.conf"
export DEVSEC_TOKEN=tok:admin:admin:system,security,system-info

# reference first, on an idle machine like the others: rsyslogd into a file
ref=""
if have rsyslogd; then
        W="$T_DIR/rsyslog"; mkdir -p "$W/work" "$W/out"
        cat > "$W/rsyslog.conf" <<CONF
global(workDirectory="$W/work")
module(load="imtcp")
template(name="line" type="string" string="%timereported:::date-rfc3339% %hostname% %app-name% %msgid% %structured-data% %msg%\n")
ruleset(name="r") { action(type="omfile" file="$W/out/messages.log" template="line") }
input(type="imtcp" address="127.0.0.1" port="16520" ruleset="r")
CONF
        bg rsyslogd rsyslogd -n -f "$W/rsyslog.conf" -i "$W/rsyslogd.pid"
        wait_for 5 sh -c 'ss -Hltn "sport = :16520" | grep -q .'
        ref_ms=$(python3 - "$N" "$W/out/messages.log" <<'PY'
import os, socket, sys, time
n, out = int(sys.argv[1]), sys.argv[2]
ts = time.strftime('%Y-%m-%dT%H:%M:%S.000Z', time.gmtime())
buf = bytearray()
for i in range(1, n + 1):
    m = f'<86>1 {ts} cam logprod - security [devsec@32473 seq="{i}" dev="cam" user="alice" src="logprod"] bench record {i}'.encode()
    buf += str(len(m)).encode() + b' ' + m
t0 = time.monotonic()
s = socket.create_connection(("127.0.0.1", 16520)); s.sendall(buf); s.close()
deadline = t0 + 120
lines = 0
with open(out, 'ab+') as f:
    while lines < n and time.monotonic() < deadline:
        f.seek(0); lines = f.read().count(b'\n')
        if lines < n: time.sleep(0.002)
print(int((time.monotonic() - t0) * 1000))
PY
)
        ref=$(rate "$N" "$ref_ms")
        bench rsyslog_file_reference "$ref" records/s "$N records over TCP into a file by rsyslogd (no chain, no seals, no fsync) in $ref_ms ms"
        kill "$LAST_PID" 2>/dev/null; wait "$LAST_PID" 2>/dev/null
else
        skip "rsyslog reference" "rsyslogd not installed"
fi
cmp_note() { # RATE TARGET
        if [ -n "$ref" ]; then echo "$(ratio "$1" "$ref")x rsyslogd; target >= $2x: $(verdict "$(ratio "$1" "$ref")" ">=" "$2")"
        else echo "no rsyslogd to compare with; target >= $2x: NA"; fi
}

# the store path alone
read sn sms < <("$B/tests/logd_test_bench" --bench "$N" "$T_DIR/storebench")
rm -rf "$T_DIR/storebench"
sr=$(rate "$sn" "$sms")
bench logd_store_path "$sr" records/s "$sn records by the store code alone in $sms ms (chain, seal + fdatasync per 1000, rotation at 1 MiB); $(cmp_note "$sr" 1.0)"

# the whole path: publisher -> busd -> logd -> store
: > "$T_DIR/empty.conf"
stack_busd
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/empty.conf"
svc_up authd
# the ceiling busd and the publisher set on their own: the same records
# published with nobody subscribed (busd checks, stamps and drops them)
pout=$("$B/tests/logd_produce" --category security --user alice --prefix "bench record" "$N")
pms=$(echo "$pout" | sed -n 's/^published .* in \([0-9]*\) ms/\1/p')
pr=$(rate "$N" "${pms:-1}")
bench bus_publish_only "$pr" records/s "$N records from a publisher into busd with no subscriber in ${pms:-?} ms: the most the whole path can reach; $(cmp_note "$pr" 0.8)"
bg logd "$B/logd"
svc_up logd
out=$("$B/tests/logd_produce" --wait-stored --category security --user alice --prefix "bench record" "$N")
pub=$(echo "$out" | sed -n 's/^published .* in \([0-9]*\) ms/\1/p')
read stored ims < <(echo "$out" | sed -n 's/^stored \([-0-9]*\) records in \([0-9]*\) ms/\1 \2/p')
dropped=$(dc --json log status | python3 -c "import sys,json; print(json.load(sys.stdin)['dropped'])")
ir=$(rate "${stored:-0}" "${ims:-1}")
bench logd_ingest "$ir" records/s "${stored:-0} records from a publisher through busd into the store in ${ims:-?} ms (published in ${pub:-?} ms, $dropped dropped by the bounded queue); $(cmp_note "$ir" 0.8)"
# the same with one message per event (a publisher that does not batch, or an older busd)
out=$("$B/tests/logd_produce" --no-batch --wait-stored --category security --user alice --prefix "bench record" "$N")
read ustored uims < <(echo "$out" | sed -n 's/^stored \([-0-9]*\) records in \([0-9]*\) ms/\1 \2/p')
ur=$(rate "${ustored:-0}" "${uims:-1}")
bench logd_ingest_unbatched "$ur" records/s "${ustored:-0} records as above, one bus message per event (logd_produce --no-batch) in ${uims:-?} ms; $(cmp_note "$ur" 0.8)"
read recs bytes < <(dc --json log status | python3 -c "import sys,json; d=json.load(sys.stdin); print(d['records'], d['bytes'])")
bench logd_store_bytes_per_record "$((bytes / (recs > 0 ? recs : 1)))" bytes "segments with checksums, chain hashes and seals"

# verification of the whole store, by devctl over the bus
t0=$(date +%s%N)
vr=$(dc --json --timeout 60000 log verify | python3 -c "import sys,json; d=json.load(sys.stdin); print(d['records'], d['ok'])")
t1=$(date +%s%N)
read vrecs vok <<<"$vr"
vms=$(( (t1 - t0) / 1000000 ))
bench logd_verify "$(rate "$vrecs" "$vms")" records/s "devctl log verify: $vrecs records fetched over the bus (log.read pages of up to 1008 KiB) and checked (checksums, chain, seals) in $vms ms, devctl's start included (ok=$vok)"
