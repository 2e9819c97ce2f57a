#!/bin/bash
# anr_skew: a camera whose clock is 40 s ahead of the NVR's (its anr-d and its
# media stack under libfaketime). The NVR measures the skew from the camera's
# answers, reports it above max_skew_s, and matches the outage on the camera's
# clock: the segments recorded during the outage, named by the camera's clock,
# are all fetched.
source "$(dirname "$0")/../lib/tap.sh"
source "$ROOT_DIR/tests/lib/anr_lib.sh"
have jq || { skip "anr-d with a camera clock off" "jq not installed"; exit 0; }
have faketime || { skip "anr-d with a camera clock off" "faketime not installed"; exit 0; }
if ldd "$B/anr-d" 2>/dev/null | grep -q libasan; then
        skip "anr-d with a camera clock off" "under ASan preloading libfaketime aborts"; exit 0
fi
anr_one_bus || exit 0
export FAKETIME_DONT_FAKE_MONOTONIC=1
bg gen timeout 120 faketime -f +40s bash -c "source '$ROOT_DIR/tests/lib/anr_lib.sh'; anr_gen '$REC' 32768"
bg cam1 timeout 120 faketime -f +40s "$B/anr-d" -c "$T_DIR/cam1.conf" --statedir "$T_DIR/cam1"; CAM=$LAST_PID
svc_up anr-d-cam1 || nok "camera anr-d registers"
bg nvr timeout 120 "$B/anr-d" -c "$T_DIR/nvr.conf" --statedir "$T_DIR/nvr"; NVR=$LAST_PID
svc_up anr-d || nok "NVR anr-d up"
check_until "the NVR measures the camera 40 s ahead" 10 '^(39|40|41)[0-9]{3}$' \
        sh -c "'$B/devctl' --json anr status | jq '.cameras[0].skew_ms'"
check_out "the skew above max_skew_s is logged" "cam1': clock off by (39|40|41)[0-9]{3} ms" cat "$T_DIR/log/nvr.log"
CAMD=$(pgrep -P "$CAM" anr-d || pgrep -P "$(pgrep -P "$CAM" | head -1)" anr-d)  # faketime may run it as its child
kill -STOP "$CAMD"
check_until "the outage opens" 15 '^open$' anr_iv cam1 .state
sleep 5  # the outage lasts while segments keep coming
kill -CONT "$CAMD"
check_until "the interval is filled" 40 '^filled$' anr_iv cam1 .state
read -r S E K <<< "$(anr_iv cam1 '| "\(.start_ms) \(.end_ms) \(.skew_ms)"')"
check_out "the interval keeps the skew it was matched with" '^(39|40|41)[0-9]{3}$' echo "$K"
check_out "every segment of the outage (camera clock) is on the NVR" 'segments identical' \
        anr_all_stored "$REC" "$STORE/cam1" "$((S + K))" "$((E + K))"
