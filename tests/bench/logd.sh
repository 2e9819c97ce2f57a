#!/bin/bash
# logd benchmark: sustained ingest from the bus into the store (hash chain, seals
# every 1000 records, fdatasync per seal), the same records written by rsyslogd to a
# file as the side-by-side reference, and verification speed.
# Prints BENCH<TAB>metric<TAB>value<TAB>unit<TAB>note lines. N=records (default 100000).
source "$(dirname "$0")/../lib/tap.sh"
N=${N:-100000}
stack_init logd logprod testsvc
stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = []; subscribe = []; };'
stack_acl logprod 'logprod = { call = ["bus.*"]; publish = ["log.*"]; subscribe = []; };'
sed -i -e 's/^quota_mb = .*/quota_mb = 1024;/' "$T_DIR/etc/logd.conf"
export DEVSEC_TOKEN=tok:admin:admin:system,security,system-info
: > "$T_DIR/empty.conf"
stack_busd
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/empty.conf"
bg logd "$B/logd"
svc_up authd; svc_up logd
st() { dc --json log status | python3 -c "import sys,json; d=json.load(sys.stdin); print(d['records'], d['dropped'])"; }
now() { date +%s.%N; }
rate() { echo "scale=0; $1 / ($2)" | bc; }

read base _ < <(st)
t0=$(now)
pub=$("$B/tests/logd_produce" --category security --user alice --prefix "bench record" "$N" | grep -o "in [0-9]* ms")
done_() { local r d; read r d < <(st); [ $((r - base + d)) -ge "$N" ]; }
wait_for 120 done_
t1=$(now)
read recs dropped < <(st)
stored=$((recs - base))
el=$(echo "$t1 - $t0" | bc)
printf 'BENCH\tlogd_ingest\t%s\trecords/s\t%s records from the bus into the store in %.2f s (chain, seal/1000, fsync per seal); %s dropped by the bounded queue; producer published %s\n' \
        "$(rate "$stored" "$el")" "$stored" "$el" "$dropped" "$pub"
bytes=$(dc --json log status | python3 -c "import sys,json; print(json.load(sys.stdin)['bytes'])")
printf 'BENCH\tlogd_store_bytes_per_record\t%s\tbytes\tsegments with checksums, chain hashes and seals\n' "$((bytes / (recs > 0 ? recs : 1)))"

# verification of the whole store
out=$(dc --json log verify)
vr=$(echo "$out" | python3 -c "import sys,json; d=json.load(sys.stdin); print(d['records'], d['elapsed_ms'], d['ok'])")
read vrecs vms vok <<<"$vr"
printf 'BENCH\tlogd_verify\t%s\trecords/s\t%s records, checksums + chain + seal presence in %s ms (ok=%s)\n' \
        "$(rate "$vrecs * 1000" "(${vms} + 1)")" "$vrecs" "$vms" "$vok"

# reference: rsyslogd receiving the same records over TCP (octet counting) into a file
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
        python3 - "$N" "$W/records.bin" <<'PY'
import sys, time
n, path = int(sys.argv[1]), sys.argv[2]
ts = time.strftime('%Y-%m-%dT%H:%M:%S.000Z', time.gmtime())
with open(path, 'wb') as f:
    for i in range(1, n + 1):
        m = f'<86>1 {ts} cam logprod - security [devsec@32473 seq="{i}" dev="cam" user="alice" src="logprod"] bench record {i}'.encode()
        f.write(str(len(m)).encode() + b' ' + m)
PY
        t0=$(now)
        python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",16520)); s.sendall(open(sys.argv[1],"rb").read()); s.close()' "$W/records.bin"
        wait_for 120 sh -c "[ \$(wc -l < '$W/out/messages.log' 2>/dev/null || echo 0) -ge $N ]"
        t1=$(now)
        el=$(echo "$t1 - $t0" | bc)
        printf 'BENCH\trsyslog_file_reference\t%s\trecords/s\t%s records over TCP into a file by rsyslogd (no chain, no seals, no fsync) in %.2f s\n' \
                "$(rate "$N" "$el")" "$N" "$el"
else
        skip "rsyslog reference" "rsyslogd not installed"
fi
