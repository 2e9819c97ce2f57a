#!/bin/bash
# anr-d benchmark: retrieval of 256 MiB of segments (SIZE_MIB, 1 MiB each)
# over a veth link between an NVR namespace and a camera namespace, through
# anr-d (the camera's anr-d on the NVR's busd over TCP with CURVE: index,
# signed entries, 512 KiB reads, SHA-256 and Ed25519 checks, atomic store),
# against OpenSSH scp of the same files over the same link in the same run
# (target >= 0.7x). anr-d is timed from the start of the fill to its end (the
# interval's fill_start_ms/fill_end_ms), scp from its start to its exit. Also
# CPU per MiB of anr-d on both ends. Needs root (namespaces). Ports 24150-24151.
source "$(dirname "$0")/../lib/tap.sh"
source "$ROOT_DIR/tests/lib/anr_lib.sh"
SIZE_MIB=${SIZE_MIB:-256}
need_root || { bench "anr-d retrieval" "-" "-" "skipped: needs root"; exit 0; }
have jq && [ -x /usr/sbin/sshd ] && have scp || { bench "anr-d retrieval" "-" "-" "skipped: jq and openssh needed"; exit 0; }
W=$(mktemp -d /tmp/devsec-anrb.XXXXXX); T_DIR=$W; mkdir -p "$W/log"
NSN=anrb-n$$ NSC=anrb-c$$ PORT=24150 SSHP=24151
cleanup() { [ -n "${SSHD:-}" ] && kill "$SSHD" 2>/dev/null; t_cleanup; ip netns del "$NSN" 2>/dev/null; ip netns del "$NSC" 2>/dev/null; return 0; }
trap cleanup EXIT
ip netns add "$NSN"; ip netns add "$NSC"
ip -n "$NSN" link set lo up; ip -n "$NSC" link set lo up
ip -n "$NSN" link add anrb0 type veth peer name eth0 netns "$NSC"
ip -n "$NSN" addr add 10.99.50.1/24 dev anrb0; ip -n "$NSN" link set anrb0 up
ip -n "$NSC" addr add 10.99.50.2/24 dev eth0; ip -n "$NSC" link set eth0 up

for h in nvr cam; do mkdir -p "$W/$h/etc" "$W/$h/run" "$W/$h/state"; cp -r "$ROOT_DIR/etc/devsec/." "$W/$h/etc/"; done
"$B/devsec-keygen" --confdir "$W/nvr/etc" busd devctl anr-d testsvc >/dev/null
"$B/devsec-keygen" --confdir "$W/cam/etc" anr-d-cam1 >/dev/null
cp "$W/nvr/etc/bus/keys/busd.pub" "$W/cam/etc/bus/keys/"; cp "$W/cam/etc/bus/keys/anr-d-cam1.pub" "$W/nvr/etc/bus/keys/"
anr_acl_camera "$W/nvr/etc" cam1
echo 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = []; subscribe = []; };' > "$W/nvr/etc/bus.acl.d/testsvc.acl"
echo "endpoints = [ \"tcp://10.99.50.1:$PORT\" ];" >> "$W/nvr/etc/busd.conf"
export DEVSEC_RUNDIR=$W/nvr/run DEVSEC_CONFDIR=$W/nvr/etc DEVSEC_STATEDIR=$W/nvr/state
export DEVSEC_TOKEN=tok:admin:admin:system,security,system-info,storage
: > "$W/empty.conf"
bg busd timeout 500 ip netns exec "$NSN" "$B/busd"; BUSPID=$LAST_PID
wait_for 5 test -S "$W/nvr/run/bus.sock" || { bench "anr-d retrieval" "-" "-" "FAIL: busd"; exit 0; }
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$W/empty.conf"
REC=$W/cam/rec
mkdir -p "$REC"
anr_conf_camera "$W/cam/anr-d.conf" cam1 "$REC"
bg cam timeout 500 ip netns exec "$NSC" env DEVSEC_RUNDIR="$W/cam/run" DEVSEC_CONFDIR="$W/cam/etc" DEVSEC_STATEDIR="$W/cam/state" \
        DEVSEC_BUS_ENDPOINT="tcp://10.99.50.1:$PORT" "$B/anr-d" -c "$W/cam/anr-d.conf"
CAMPID=$LAST_PID
anr_conf_nvr "$W/nvr/anr-d.conf" "$W/nvr/store" '{ id = "cam1"; channel = 1; }'
bg nvr timeout 500 "$B/anr-d" -c "$W/nvr/anr-d.conf"; NVRPID=$LAST_PID
wait_for 20 sh -c "'$B/devctl' anr status | grep -q 'cam1 .* up '" || { bench "anr-d retrieval" "-" "-" "FAIL: camera not up"; exit 0; }

# the outage: the link is cut, SIZE_MIB one-MiB segments are recorded inside it
# (10 ms apiece: the interval ends partly filled, the rest of it has no segment)
ip -n "$NSN" link set anrb0 down
wait_for 15 sh -c "'$B/devctl' anr status | grep -q 'cam1 .* down '"
CUT=$(date +%s%3N)
for i in $(seq 1 "$SIZE_MIB"); do
        s=$((CUT + i * 10)); head -c 1048576 /dev/urandom > "$REC/.w"; mv "$REC/.w" "$REC/$s-$((s + 10)).ts"
done
wait_for 60 sh -c "[ \$(ls '$W/cam/state/anr-d/index' | wc -l) -ge $SIZE_MIB ]"
# the same files by OpenSSH, over the same link, before the link returns for anr-d
mkdir -p /run/sshd; ssh-keygen -q -t ed25519 -N '' -f "$W/hostkey"; ssh-keygen -q -t ed25519 -N '' -f "$W/ukey"
cat > "$W/sshd_config" <<EOF
Port $SSHP
ListenAddress 10.99.50.2
HostKey $W/hostkey
PidFile $W/sshd.pid
AuthorizedKeysFile $W/ukey.pub
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
EOF
CAMD=$(pgrep -P "$CAMPID" anr-d); NVRD=$(pgrep -P "$NVRPID" anr-d)
kill -STOP "$NVRD"  # the NVR's anr-d waits while scp has the link to itself
ip -n "$NSN" link set anrb0 up
bg sshd timeout 500 ip netns exec "$NSC" /usr/sbin/sshd -D -e -f "$W/sshd_config"; SSHD=$LAST_PID
wait_for 10 ip netns exec "$NSC" ss -Hltn "sport = :$SSHP" | grep -q . 2>/dev/null
mkdir -p "$W/scp"
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
t0=$(date +%s%N)
ip netns exec "$NSN" scp -q -i "$W/ukey" -P "$SSHP" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        "root@10.99.50.2:$REC/*.ts" "$W/scp/" || bench "scp" "-" "-" "FAIL: scp"
t1=$(date +%s%N)
BUSD=$(pgrep -P "$BUSPID" busd)
c0=$(cpu "$CAMD"); n0=$(cpu "$NVRD"); b0=$(cpu "$BUSD")
kill -CONT "$NVRD"
# polled once a second: the figures come from the interval's own times, and a
# tighter poll would take CPU from what it measures
filled() { "$B/devctl" --json anr intervals cam1 | jq -e '.intervals[-1].state | test("filled")' >/dev/null; }
n=0; until filled || [ $n -ge 300 ]; do sleep 1; n=$((n + 1)); done
filled || { bench "anr-d retrieval" "-" "-" "FAIL: $(anr_iv cam1 '| "\(.state) \(.reason)"')"; exit 0; }
c1=$(cpu "$CAMD"); n1=$(cpu "$NVRD"); b1=$(cpu "$BUSD")
read -r fs fe bytes <<< "$(anr_iv cam1 '| "\(.fill_start_ms) \(.fill_end_ms) \(.bytes)"')"
MIB=$((bytes / 1048576))
anr_ms=$((fe - fs)); scp_ms=$(( (t1 - t0) / 1000000 ))
hz=$(getconf CLK_TCK)
bench "scp ${MIB} MiB over veth" "$(echo "scale=1; $MIB * 1000 / $scp_ms" | bc)" "MiB/s" "OpenSSH, $SIZE_MIB files of 1 MiB"
bench "anr-d retrieval ${MIB} MiB over veth" "$(echo "scale=1; $MIB * 1000 / $anr_ms" | bc)" "MiB/s" "bus over TCP+CURVE, verified, atomic store"
ratio=$(echo "scale=2; $scp_ms / $anr_ms" | bc)
bench "anr-d / scp" "$ratio" "x" "target >= 0.70: $(echo "$ratio >= 0.7" | bc | sed 's/1/PASS/; s/0/FAIL/')"
bench "anr-d CPU per MiB, camera" "$(echo "scale=2; ($c1 - $c0) * 1000 / $hz / $MIB" | bc)" "ms/MiB" "index reads"
bench "anr-d CPU per MiB, NVR" "$(echo "scale=2; ($n1 - $n0) * 1000 / $hz / $MIB" | bc)" "ms/MiB" "writes, SHA-256"
bench "NVR busd CPU per MiB relayed" "$(echo "scale=2; ($b1 - $b0) * 1000 / $hz / $MIB" | bc)" "ms/MiB" "CURVE on the TCP and the ipc hop"
for f in "$W"/scp/*.ts; do cmp -s "$f" "$W/nvr/store/cam1/${f##*/}" || { bench "anr-d retrieval" "-" "-" "FAIL: ${f##*/} differs"; break; }; done
