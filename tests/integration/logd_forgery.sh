#!/bin/bash
# logd forgeries by someone holding the device's current seal key, against
# `devctl log verify --key` (done by devctl, with the off-device key) and its
# per-device anchor: history rewritten from record 2 (with a forged prune record),
# a truncated tail, an old store put back and written over (replay), a segment
# removed without a prune record. Each is named. Also: logd never sees the key.
source "$(dirname "$0")/../lib/tap.sh"
stack_init logd logprod testsvc
stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = []; subscribe = []; };'
stack_acl logprod 'logprod = { call = ["bus.*"]; publish = ["log.*"]; subscribe = []; };'
# one-second epochs: records become "old" quickly; small segments for pruning
sed -i -e 's/^seal_every = .*/seal_every = 50;/' -e 's/^seal_interval_s = .*/seal_interval_s = 1;/' \
        -e 's/^segment_max_kb = .*/segment_max_kb = 8;/' "$T_DIR/etc/logd.conf"
export DEVSEC_TOKEN=tok:admin:admin:system,security,system-info
: > "$T_DIR/empty.conf"
stack_busd
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/empty.conf"
svc_up authd
ST="$T_DIR/state/logd"
n_logd=0
start_logd() { n_logd=$((n_logd + 1)); bg logd$n_logd "$B/logd"; LOGD=$LAST_PID; svc_up logd; }
stop_logd() { kill "$LOGD"; wait "$LOGD" 2>/dev/null; }
st() { dc --json log status | python3 -c "import sys,json; d=json.load(sys.stdin); print(d$1)"; }
recs_at_least() { [ "$(st '["records"]')" -ge "$1" ]; }
epoch_past() { [ "$(st '["seal_epoch"]')" -gt "$1" ]; }
snap() { rm -rf "$T_DIR/$1"; cp -a "$ST" "$T_DIR/$1"; }
restore() { rm -rf "$ST"; cp -a "$T_DIR/$1" "$ST"; }
V() { dc log verify --key "$T_DIR/seal.key" "$@"; }

start_logd
dc log seal init --out "$T_DIR/seal.key" 2>/dev/null
KEYHEX=$(cut -d/ -f1 "$T_DIR/seal.key")
"$B/tests/logd_produce" --category security --prefix first 100 >/dev/null
wait_for 10 recs_at_least 100
stop_logd; snap s1; start_logd
"$B/tests/logd_produce" --category security --prefix second 100 >/dev/null
wait_for 10 recs_at_least 200
e=$(st '["seal_epoch"]'); wait_for 5 epoch_past "$e"
check_out "first verification: OK, and it says there was no earlier anchor" \
        '^OK up to record .*verified with the key.*no earlier anchor for key [0-9a-f]{32}.*anchor saved' \
        sh -c "'$B/devctl' log verify --key '$T_DIR/seal.key' --anchor '$T_DIR/anchor' | tr '\n' ' '"
check_out "the next verification extends the anchor" '^extends the anchor at record [0-9]+' V --anchor "$T_DIR/anchor"
mode=$(stat -c %a "$T_DIR/anchor")
if [ "$mode" = 600 ]; then ok "the anchor file is 0600"; else nok "anchor file mode $mode"; fi
check_out "without --anchor the anchor goes to the operator's state dir (0700)" '^700$' \
        sh -c "XDG_STATE_HOME='$T_DIR/xdg' '$B/devctl' log verify --key '$T_DIR/seal.key' >/dev/null; stat -c %a '$T_DIR/xdg/devsec'"
cp "$T_DIR/anchor" "$T_DIR/anchor.good"
stop_logd; snap s2

# item: logd never holds the key
start_logd
check_out "logd's log.verify refuses a key (the argument is gone)" 'EINVAL: key' dc call logd log.verify key="$KEYHEX"
V --anchor "$T_DIR/anchor.scan" >/dev/null
if grep -rqi "$KEYHEX" "$T_DIR/log/"; then nok "the key appears in a daemon log"; else ok "no daemon log contains the key"; fi
scan=$(python3 - "$LOGD" "$KEYHEX" <<'PY' 2>&1
import re, sys
pid, hexkey = sys.argv[1], sys.argv[2]
raw = bytes.fromhex(hexkey)
found = False
try:
    maps = open(f"/proc/{pid}/maps").read().splitlines()
    mem = open(f"/proc/{pid}/mem", "rb", 0)
except PermissionError as e:
    print("noperm"); sys.exit(0)
for l in maps:
    m = re.match(r'([0-9a-f]+)-([0-9a-f]+) (r...)', l)
    if not m or not m.group(3).startswith('r'): continue
    a, b = int(m.group(1), 16), int(m.group(2), 16)
    if b - a > 1 << 30:
        continue  # a sanitizer's shadow reservation, not logd's data
    prev, pos = b"", a
    while pos < b and not found:
        n = min(16 << 20, b - pos)
        try:
            mem.seek(pos); chunk = prev + mem.read(n)
        except (OSError, ValueError, OverflowError):
            break
        if raw in chunk or hexkey.encode() in chunk or hexkey.upper().encode() in chunk:
            found = True
        prev, pos = chunk[-2 * len(hexkey):], pos + n
print("found" if found else "clean")
PY
)
case "$scan" in
clean) ok "logd's memory holds neither the key nor its hex after devctl verified with it" ;;
noperm) skip "logd's memory holds no key" "cannot read /proc/$LOGD/mem here (not root)" ;;
*) nok "logd's memory: $scan" ;;
esac
stop_logd

# a tampered store fails however logd answers: devctl checks the bytes itself
restore s2
python3 - "$ST/store" <<'PY'
import os, sys
d = sys.argv[1]; seg = sorted(f for f in os.listdir(d) if f.endswith('.log'))[0]
p = os.path.join(d, seg); b = bytearray(open(p, 'rb').read()); b[52 + 8 + 12] ^= 1; open(p, 'wb').write(b)
PY
start_logd
check_out "a flipped byte is found by devctl itself" '^FAILED \(checksum\)' V --anchor "$T_DIR/anchor.tmp"
check_out "logd's own log.verify still works, without a key (structure only)" '"seals_checked":false' dc --json call logd log.verify
stop_logd

forgery() { # DESC REGEX: verify against the good anchor
        cp "$T_DIR/anchor.good" "$T_DIR/anchor"
        start_logd
        check_out "$1" "$2" V --anchor "$T_DIR/anchor"
        check_rc "$1: exit 1" 1 V --anchor "$T_DIR/anchor"
        stop_logd
}
# 1. rewritten from record 2 with the current key (records keep their times), prune record forged
restore s2
check_out "the forger rebuilt the store from record 2" '^forged: records 2-' "$B/tests/logd_forge" "$ST"
forgery "history rewritten from record 2 is named (time binding)" \
        '^FAILED \(rewritten\) after record [0-9]+: rewritten: record 2 dated .* is sealed by seal [0-9]+ of epoch'
rm -f "$T_DIR/anchor.none"
start_logd
check_out "... also without an earlier anchor" '^FAILED \(rewritten\)' V --anchor "$T_DIR/anchor.none"
stop_logd
# 2. truncated tail: the store cut back to what it was at 100 records
restore s1
forgery "a truncated tail is named against the anchor" \
        '^FAILED \(truncation\) .*the store ends at record 1[0-9][0-9] but record [0-9]+ was verified on .* \(anchor\)'
# 3. replay: the old store put back, then written over past the anchor
restore s1
start_logd
"$B/tests/logd_produce" --category security --prefix third 200 >/dev/null
wait_for 10 recs_at_least 300
stop_logd
forgery "an old store put back and written over is named (replay)" \
        '^FAILED \(replay\) .*record [0-9]+ is not the record verified on .* \(anchor\)'
# 4. the oldest segment deleted without a prune record
restore s2
rm -f "$(ls "$ST"/store/seg-*.log | head -1)"
forgery "a segment removed without a prune record is named" \
        '^FAILED \(unrecorded-prune\) .*records 1-[0-9]+ are not in the store and no sealed prune record accounts for them'
# the honest store still verifies and extends the anchor
restore s2
cp "$T_DIR/anchor.good" "$T_DIR/anchor"
start_logd
check_out "the untouched store still verifies against the anchor" '^extends the anchor at record' V --anchor "$T_DIR/anchor"
stop_logd
