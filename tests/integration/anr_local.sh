#!/bin/bash
# anr_local: anr-d's two roles on one bus, no root needed. A camera's anr-d
# indexes 1-second segments; the camera is frozen (SIGSTOP) for a few seconds
# while segments keep coming, so busd drops it and the NVR's pings fail; once
# it is back the NVR fetches the outage's segments: byte-identical, interval
# filled, events published. Also: bad arguments named, an operator cannot read
# the camera, segment names cannot leave the directory.
source "$(dirname "$0")/../lib/tap.sh"
source "$ROOT_DIR/tests/lib/anr_lib.sh"
have jq || { skip "anr-d on one bus" "jq not installed"; exit 0; }
anr_one_bus || exit 0
bg gen timeout 120 bash -c "source '$ROOT_DIR/tests/lib/anr_lib.sh'; anr_gen '$REC' 65536"
bg cam1 timeout 120 "$B/anr-d" -c "$T_DIR/cam1.conf" --statedir "$T_DIR/cam1"; CAM=$LAST_PID
svc_up anr-d-cam1 || nok "camera anr-d registers as anr-d-cam1"
check "the camera's device key is 0600" sh -c "[ \$(stat -c %a '$T_DIR/cam1/anr-d/device.key') = 600 ]"
bg nvr timeout 120 "$B/anr-d" -c "$T_DIR/nvr.conf" --statedir "$T_DIR/nvr"; NVR=$LAST_PID
svc_up anr-d || nok "NVR anr-d up"
listen_bg "$T_DIR/events" -- anr. || nok "listener"
check_until "the NVR sees the camera, key pinned at first contact" 10 'cam1 .*up.*pinned' dc anr status
check_until "segments are indexed on the camera" 10 'segments: +[2-9]' dc call anr-d-cam1 sys.ping

# refused: an operator's devctl cannot read the camera; bad arguments are named
check_out "an operator cannot call anr.index (daemons only)" 'EPERM' dc call anr-d-cam1 anr.index
check_out "an unknown camera is named" 'ENOENT.*camera' dc anr intervals nosuch
check_out "a bad camera id is named" 'EINVAL.*camera' dc anr intervals 'a/b'

# the outage
CAMD=$(pgrep -P "$CAM" anr-d)
kill -STOP "$CAMD"
check_until "the outage interval opens" 15 'cam1 .*down' dc anr status
check_until "anr.outage.opened is published" 5 'anr\.outage\.opened' cat "$T_DIR/events"
sleep 5  # the outage lasts while segments keep coming (the generator runs on)
kill -CONT "$CAMD"
check_until "the interval closes when the camera is back" 20 '"state": *"(pending|fetching|filled)"' \
        sh -c "'$B/devctl' --json anr intervals cam1"
check_until "the interval is filled" 30 '^filled$' anr_iv cam1 .state
S=$(anr_iv cam1 .start_ms) E=$(anr_iv cam1 .end_ms)
check_out "every segment of the outage is on the NVR, byte-identical" 'segments identical' \
        anr_all_stored "$REC" "$STORE/cam1" "$S" "$E"
check_out "the signed entry is kept beside each segment" '\.ts$' ls "$STORE/cam1/.anr"
check_until "anr.filled is published" 5 'anr\.filled' cat "$T_DIR/events"
check_out "devctl anr intervals shows it" 'filled' dc anr intervals cam1
check_out "the audit item anr.enabled passes" 'anr\.enabled.*pass' dc audit --level 2

# a second outage while a segment of it is lost on the camera too: partly filled,
# with the seconds missing; a retry skips what is stored and stays partly filled
kill -STOP "$CAMD"
check_until "a second outage opens" 15 '^open$' anr_iv cam1 .state
T1=$(date +%s%3N)
wait_for 10 sh -c "ls '$REC' | awk -F- -v t=$T1 '\$1 > t + 1000' | grep -q ."
GONE=$(ls "$REC" | awk -F- -v t="$T1" '$1 > t + 1000' | head -1)
rm -f "$REC/$GONE"
wait_for 5 sh -c "ls '$REC' | awk -F- -v t=$T1 '\$1 > t + 2500' | grep -q ."
kill -CONT "$CAMD"
check_until "the interval is marked partly filled" 30 '^partly-filled$' anr_iv cam1 .state
check_out "the reason says what the camera lacks too" 'not on the camera either' anr_iv cam1 .reason
check_out "a retry is accepted" 'retried: +1' dc anr retry cam1
check_until "the retry skips the segments already stored (no duplicates)" 30 '^partly-filled [1-9][0-9]* [0-9]+$' anr_iv cam1 '| "\(.state) \(.skipped) \(.stored)"'

# flapping: the camera comes and goes three times before a fill could start:
# one interval, its flaps counted, then filled
N0=$(dc --json anr intervals cam1 | jq '.intervals | length')
for k in 1 2 3; do
        kill -STOP "$CAMD"
        wait_for 15 sh -c "'$B/devctl' anr status | grep -q 'cam1 .* down '" || nok "flap $k: link down"
        kill -CONT "$CAMD"
        wait_for 15 sh -c "'$B/devctl' anr status | grep -q 'cam1 .* up '" || nok "flap $k: link up"
done
check_out "three losses in a row make one interval" "^$((N0 + 1))\$" sh -c "'$B/devctl' --json anr intervals cam1 | jq '.intervals | length'"
check_out "its flaps are counted" '^[2-9]$' anr_iv cam1 .flaps
check_until "the merged interval is filled" 30 '^filled$' anr_iv cam1 .state
# the NVR stopped while a ping waits for the frozen camera (from 0.5 s after
# the freeze one always does, for 0.75 s): the stop answers that call while
# the cameras are still there (its callback once ran after they were freed,
# a use after free check-asan's log scan names)
kill -STOP "$CAMD"; sleep 0.6
kill "$NVR"; wait "$NVR" 2>/dev/null
kill -CONT "$CAMD"
check "the intervals are kept 0600 in the state dir" sh -c "[ \$(stat -c %a '$T_DIR/nvr/anr-d/intervals') = 600 ]"
