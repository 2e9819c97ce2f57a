#!/bin/bash
# anr_netns: automatic network resume over a real network. An NVR namespace
# and five camera namespaces joined by veth pairs (10.99.4N.1 NVR side,
# 10.99.4N.2 camera side), each host with its own busd; each camera's anr-d
# joins the NVR's busd over TCP with CURVE (port 24101) and records 1-second
# segments. Links are cut with `ip link set ... down` and restored:
#   A (in parallel, one camera each): cam1 plain outage; cam3 camera's anr-d
#     killed -9 mid-transfer; cam4 a segment corrupted on the camera; cam5 the
#     rate limit on; cam2 untouched meanwhile.
#   B: cam2 with the NVR's anr-d killed and restarted during the outage, cam3
#     with the NVR's anr-d killed -9 mid-transfer.
#   C: a host whose key the NVR does not trust cannot read a camera's index;
#     a trusted identity other than the NVR's anr-d cannot either.
source "$(dirname "$0")/../lib/tap.sh"
source "$ROOT_DIR/tests/lib/anr_lib.sh"
NAME="anr-d over veth links, bus over TCP with CURVE"
need_root || { skip "$NAME" "needs root (network namespaces)"; exit 0; }
have ip && have jq || { skip "$NAME" "iproute2 and jq needed"; exit 0; }
[ -x "$B/anr-d" ] && [ -x "$B/busd" ] && [ -x "$B/tests/testsvc" ] || { skip "$NAME" "build anr-d, busd and tests/testsvc first (make all unit)"; exit 0; }
T0=$(date +%s)
W=$(mktemp -d /tmp/devsec-anr.XXXXXX); T_DIR=$W; mkdir -p "$W/log"
NSN=anr-n$$ PORT=24101 CAMS="1 2 3 4 5" SEG=131072
declare -A CAMPID
cleanup() {
        for i in $CAMS; do ip netns del "anr-c$$-$i" 2>/dev/null; done
        t_cleanup
        ip netns del "$NSN" 2>/dev/null
        return 0
}
trap cleanup EXIT

# ---- hosts --------------------------------------------------------------------
host_root() { local r=$W/$1; shift; mkdir -p "$r/etc" "$r/run" "$r/state"; cp -r "$ROOT_DIR/etc/devsec/." "$r/etc/"
        "$B/devsec-keygen" --confdir "$r/etc" busd devctl "$@" >/dev/null; }
NVRENV="DEVSEC_RUNDIR=$W/nvr/run DEVSEC_CONFDIR=$W/nvr/etc DEVSEC_STATEDIR=$W/nvr/state"
export DEVSEC_TOKEN=tok:admin:admin:system,security,system-info,storage
export $NVRENV  # devctl (and the functions above) speak to the NVR's bus by default
dcn() { "$B/devctl" "$@"; }
pause_until() { local ms=$(( $1 - $(date +%s%3N) )); [ $ms -gt 0 ] && sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"; return 0; }
host_root nvr anr-d testsvc
: > "$W/empty.conf"
echo 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = []; subscribe = []; };' > "$W/nvr/etc/bus.acl.d/testsvc.acl"
ip netns add "$NSN" && ip -n "$NSN" link set lo up || { nok "NVR namespace"; exit 1; }
eps=""
for i in $CAMS; do
        ns=anr-c$$-$i
        ip netns add "$ns" && ip -n "$ns" link set lo up
        ip -n "$NSN" link add "anrn$i" type veth peer name eth0 netns "$ns" || { nok "veth pair for cam$i"; exit 1; }
        ip -n "$NSN" addr add "10.99.4$i.1/24" dev "anrn$i"; ip -n "$NSN" link set "anrn$i" up
        ip -n "$ns" addr add "10.99.4$i.2/24" dev eth0; ip -n "$ns" link set eth0 up
        eps="$eps${eps:+, }\"tcp://10.99.4$i.1:$PORT\""
        # the camera's own stack, and its key for the NVR's bus (the NVR trusts its public half)
        host_root "c$i"
        mkdir -p "$W/c$i/nvrbus/bus/keys"
        "$B/devsec-keygen" --confdir "$W/c$i/nvrbus" "anr-d-cam$i" rogue >/dev/null
        cp "$W/nvr/etc/bus/keys/busd.pub" "$W/c$i/nvrbus/bus/keys/busd.pub"
        cp "$W/c$i/nvrbus/bus/keys/anr-d-cam$i.pub" "$W/nvr/etc/bus/keys/"
        anr_acl_camera "$W/nvr/etc" "cam$i"
done
echo "endpoints = [ $eps ];" >> "$W/nvr/etc/busd.conf"
bg nvr-busd timeout 400 ip netns exec "$NSN" env $NVRENV "$B/busd"
wait_for 5 test -S "$W/nvr/run/bus.sock" || { nok "NVR busd up"; exit 1; }
bg nvr-authd timeout 400 env $NVRENV TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$W/empty.conf"
check_out "the NVR's busd listens on the cameras' links" "also listening on .tcp://10\.99\.41\.1:$PORT" cat "$W/log/nvr-busd.log"

cam_env() { echo "DEVSEC_RUNDIR=$W/c$1/run DEVSEC_CONFDIR=$W/c$1/nvrbus DEVSEC_STATEDIR=$W/c$1/state DEVSEC_BUS_ENDPOINT=tcp://10.99.4$1.1:$PORT"; }
cam_start() {
        bg "cam$1-anr" timeout 400 ip netns exec "anr-c$$-$1" env $(cam_env "$1") "$B/anr-d" -c "$W/c$1/anr-d.conf"
        CAMPID[$1]=$LAST_PID
}
for i in $CAMS; do
        anr_conf_camera "$W/c$i/anr-d.conf" "cam$i" "$W/c$i/rec"
        bg "c$i-busd" timeout 400 ip netns exec "anr-c$$-$i" env DEVSEC_RUNDIR="$W/c$i/run" DEVSEC_CONFDIR="$W/c$i/etc" \
                DEVSEC_STATEDIR="$W/c$i/state" "$B/busd"
        bg "c$i-gen" timeout 400 bash -c "source '$ROOT_DIR/tests/lib/anr_lib.sh'; anr_gen '$W/c$i/rec' $SEG"
        cam_start "$i"
done
for i in $CAMS; do
        wait_for 10 test -s "$W/c$i/state/anr-d/device.pub" || nok "cam$i made its device key"
done
# the NVR: cam1-cam4 with their device keys configured, cam5 pinned at first contact
entries=""
for i in 1 2 3 4; do
        k=$(cat "$W/c$i/state/anr-d/device.pub")
        rate=0; [ $i = 3 ] && rate=2000
        entries="$entries{ id = \"cam$i\"; channel = $i; public_key = \"$k\"; max_rate_kbps = $rate; }, "
done
entries="$entries{ id = \"cam5\"; channel = 5; max_rate_kbps = 4000; }"
anr_conf_nvr "$W/nvr/anr-d.conf" "$W/nvr/store" "$entries" "parallel = 4;"
nvr_start() { bg nvr-anr timeout 400 env $NVRENV "$B/anr-d" -c "$W/nvr/anr-d.conf"; NVRPID=$LAST_PID; }
nvr_start
check_until "all five cameras are up on the NVR over TCP+CURVE" 20 '^5$' \
        sh -c "env $NVRENV '$B/devctl' --json anr status | jq '[.cameras[] | select(.link == \"up\")] | length'"
check_out "cam5's key is pinned at first contact, the others configured" 'cam5 .*pinned' dcn anr status
check_out "the audit item anr.enabled passes with every camera reachable" 'anr\.enabled.*pass' dcn audit --level 2
listen_ok=yes
env $NVRENV "$B/devctl" listen anr. --ready > "$W/events" 2> "$W/events.err" & LP=$!; T_PIDS="$T_PIDS $LP"
wait_for 10 grep -q '^listening: ' "$W/events.err" || listen_ok=no

# kill_mid PID: kill -9 PID while one of cam3's segments is half fetched (frozen
# first, so the check and the kill see the same moment)
half() { find "$W/nvr/store/cam3/.anr" -name '*.part' -size +0 2>/dev/null | grep -q .; }
kill_mid() {
        local n
        for n in $(seq 50); do
                wait_for 10 half || return 1
                kill -STOP "$1"
                if half; then kill -9 "$1"; kill -CONT "$1" 2>/dev/null; return 0; fi
                kill -CONT "$1"; sleep 0.05
        done
        return 1
}

# ---- A: four outages at once -------------------------------------------------------
wait_for 10 sh -c "[ \$(ls '$W/c1/rec' | wc -l) -ge 3 ]"
CUT=$(date +%s%3N)
for i in 1 3 4 5; do ip -n "$NSN" link set "anrn$i" down; done
check_until "the outage intervals open on link loss" 15 '^4$' \
        sh -c "env $NVRENV '$B/devctl' --json anr status | jq '[.cameras[] | select(.link == \"down\" and .open_since != \"\")] | length'"
check_out "the audit item anr.enabled fails with cameras unreachable" 'anr\.enabled.*fail' dcn audit --level 2
# a segment of cam4's outage, indexed and signed, then altered on the camera
wait_for 10 sh -c "ls '$W/c4/state/anr-d/index' | awk -F- -v c=$CUT '\$1 > c + 2000' | grep -q ."
BAD=$(ls "$W/c4/state/anr-d/index" | awk -F- -v c="$CUT" '$1 > c + 2000' | head -1)
printf 'XXXXXXXX' | dd of="$W/c4/rec/$BAD" bs=1 seek=100 conv=notrunc status=none
pause_until $((CUT + 12000))  # the outage: 12 s of recording while the links are down
for i in 1 3 4 5; do ip -n "$NSN" link set "anrn$i" up; done
UP=$(date +%s%3N)
check_until "cam3's fill is under way (rate-limited)" 30 '^fetching [1-9]' anr_iv cam3 '| "\(.state) \(.bytes_done)"'
kill_mid "$(pgrep -P "${CAMPID[3]}" anr-d)" || nok "cam3's anr-d killed with a segment half fetched"
cam_start 3
for i in 1 3 5; do
        check_until "cam$i: the interval is filled" 60 '^filled$' anr_iv "cam$i" .state
        S=$(dcn --json anr intervals "cam$i" | jq '.intervals[-1].start_ms') E=$(dcn --json anr intervals "cam$i" | jq '.intervals[-1].end_ms')
        check_out "cam$i: every segment of the outage is on the NVR, byte-identical" 'segments identical' \
                anr_all_stored "$W/c$i/rec" "$W/nvr/store/cam$i" "$S" "$E"
done
check_out "cam3: the fill resumed from the bytes already written after its anr-d was killed" "camera 'cam3': resuming" \
        cat "$W/log/nvr-anr.log"
check_until "cam4: the interval is marked failed" 60 '^failed$' anr_iv cam4 .state
check_out "cam4: the reason names the corrupted segment" "$BAD.*SHA-256" anr_iv cam4 .reason
check "cam4: the corrupted segment is not stored, nor left partial" \
        sh -c "[ ! -e '$W/nvr/store/cam4/$BAD' ] && [ ! -e '$W/nvr/store/cam4/.anr/$BAD.part' ]"
check_out "cam4: the other segments of its outage are stored" '^[1-9][0-9]* stored' \
        sh -c "echo \$(ls '$W/nvr/store/cam4' | wc -l) stored"
R5=$(anr_iv cam5 '| "\(.bytes) \(.fill_start_ms) \(.fill_end_ms)"')
read -r b5 s5 e5 <<< "$R5"
min5=$(( b5 * 8 / 4000 - 300 ))   # ms at 4000 kbit/s, less a quarter second of burst
if [ "$(( e5 - s5 ))" -ge "$min5" ]; then ok "cam5: the rate limit held ($b5 bytes in $(( e5 - s5 )) ms, >= $min5 ms at 4000 kbit/s)"
else nok "cam5: the rate limit held ($b5 bytes in $(( e5 - s5 )) ms, want >= $min5)"; fi
check_out "cam2 was unaffected: link up, no outage" '^up 0$' \
        sh -c "echo \$(env $NVRENV '$B/devctl' --json anr status | jq -r '.cameras[] | select(.camera == \"cam2\") | .link') \$(env $NVRENV '$B/devctl' --json anr intervals cam2 | jq '.intervals | length')"
if [ $listen_ok = yes ]; then
        check_out "anr.outage.opened, anr.outage.closed, anr.filled and anr.failed are published" \
                '^anr\.failed anr\.filled anr\.outage\.closed anr\.outage\.opened $' \
                sh -c "awk '{ print \$2 }' '$W/events' | sort -u | tr '\n' ' '"
else nok "event listener"; fi

# ---- B: the NVR restarted during an outage, and killed mid-transfer -------------------
CUT=$(date +%s%3N)
for i in 2 3; do ip -n "$NSN" link set "anrn$i" down; done
check_until "cam2: the outage interval opens" 15 'open' anr_iv cam2 .state
kill -9 "$(pgrep -P "$NVRPID" anr-d)"; wait "$NVRPID" 2>/dev/null
nvr_start
check_until "the NVR's anr-d, restarted during the outage, still has it open" 10 '^open$' anr_iv cam2 .state
pause_until $((CUT + 12000))
for i in 2 3; do ip -n "$NSN" link set "anrn$i" up; done
check_until "cam3's fill is under way again" 30 '^fetching [1-9]' anr_iv cam3 '| "\(.state) \(.bytes_done)"'
kill_mid "$(pgrep -P "$NVRPID" anr-d)" || nok "the NVR's anr-d killed with a segment half fetched"; wait "$NVRPID" 2>/dev/null
L=$(wc -l < "$W/log/nvr-anr.log")
nvr_start
for i in 2 3; do
        check_until "cam$i: the interval is filled" 60 '^filled$' anr_iv "cam$i" .state
        S=$(dcn --json anr intervals "cam$i" | jq '.intervals[-1].start_ms') E=$(dcn --json anr intervals "cam$i" | jq '.intervals[-1].end_ms')
        check_out "cam$i: every segment of the outage is on the NVR, byte-identical" 'segments identical' \
                anr_all_stored "$W/c$i/rec" "$W/nvr/store/cam$i" "$S" "$E"
done
check_out "the NVR resumed cam3's segment from its partial file after kill -9" "camera 'cam3': resuming" \
        tail -n "+$((L + 1))" "$W/log/nvr-anr.log"

# ---- C: refused ----------------------------------------------------------------------------
rogue() { ip netns exec "anr-c$$-2" env $(cam_env 2) "$B/devctl" --identity rogue --timeout 3000 "$@"; }
check_out "a host whose key the NVR does not trust is refused at the handshake" 'refused the key' \
        rogue call anr-d-cam1 anr.index
check_out "a trusted camera cannot read another camera's index (bus ACL)" 'EPERM' \
        ip netns exec "anr-c$$-2" env $(cam_env 2) "$B/devctl" --identity anr-d-cam2 --timeout 3000 call anr-d-cam1 anr.index
check_out "the NVR's operator tool cannot read it either (daemons only)" 'EPERM' dcn call anr-d-cam1 anr.index
echo "# anr_netns took $(( $(date +%s) - T0 )) s"
