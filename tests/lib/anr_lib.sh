# anr_lib.sh - sourced by the anr-d scenarios (after tap.sh): segment
# generators, camera and NVR configurations, checks of an outage's segments.
# Ports 24100-24199, namespaces and links named anr*.

# anr_conf_camera FILE ID RECDIR [extra lines]
anr_conf_camera() {
        local f=$1 id=$2 rec=$3; shift 3
        { echo "role = \"camera\";"; echo "camera_id = \"$id\";"; echo "recordings_dir = \"$rec\";"; printf '%s\n' "$@"; } > "$f"
}
# anr_conf_nvr FILE STORE "CAMERA-ENTRIES" [extra lines]
anr_conf_nvr() {
        local f=$1 store=$2 cams=$3; shift 3
        { echo "role = \"nvr\";"; echo "store_dir = \"$store\";"; echo "cameras = ( $cams );"
          echo "pre_record_s = 2;"; echo "ping_ms = 500;"; printf '%s\n' "$@"; } > "$f"
}
# anr_acl_camera DIR ID: the camera's entry in the NVR's bus ACL
anr_acl_camera() {
        printf 'anr-d-%s = { serve = [ "anr-d-%s" ]; call = [ ]; publish = [ "log.*" ]; subscribe = [ ]; };\n' "$2" "$2" \
                > "$1/bus.acl.d/anr-cam-$2.acl"
}
# anr_gen DIR SIZE_BYTES: 1-second segments, each written under a dot name
# and renamed into place as <start_ms>-<end_ms>.ts when its second ends.
# Runs until killed; bounded by the caller's timeout.
anr_gen() {
        local dir=$1 size=$2 s e
        mkdir -p "$dir"
        s=$(date +%s%3N)
        while :; do
                head -c "$size" /dev/urandom > "$dir/.seg.part"
                sleep 1
                e=$(date +%s%3N)
                mv "$dir/.seg.part" "$dir/$s-$e.ts"
                s=$e
        done
}
# anr_iv_field CAMERA JQ [devctl options]: a field of the camera's last interval
anr_iv() { "$B/devctl" "${@:3}" --json anr intervals "$1" 2>/dev/null | jq -r ".intervals[-1]$2"; }
# anr_outage_segments RECDIR START_MS END_MS: the segments recorded inside
# the outage (start and end within it)
anr_outage_segments() {
        local f n s e
        for f in "$1"/*.ts; do
                n=$(basename "$f" .ts); s=${n%-*}; e=${n#*-}
                [ "$s" -ge "$2" ] && [ "$e" -le "$3" ] && echo "$(basename "$f")"
        done
}
# anr_all_stored RECDIR STOREDIR START END: every outage segment stored, byte-identical
anr_all_stored() {
        local n c=0 list
        list=$(anr_outage_segments "$1" "$3" "$4")
        [ -n "$list" ] || { echo "no segment inside the outage"; return 1; }
        for n in $list; do
                cmp -s "$1/$n" "$2/$n" || { echo "missing or different: $n"; return 1; }
                c=$((c + 1))
        done
        echo "$c segments identical"
}

# anr_one_bus: a camera (cam1) and an NVR on one private bus with a session
# stand-in for authd; sets REC (the camera's recordings), STORE (the NVR's)
# and writes $T_DIR/cam1.conf and $T_DIR/nvr.conf
anr_one_bus() {
        stack_init anr-d anr-d-cam1 testsvc
        : > "$T_DIR/empty.conf"
        stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = []; subscribe = []; };'
        anr_acl_camera "$T_DIR/etc" cam1
        stack_busd || { nok "busd up"; return 1; }
        export DEVSEC_TOKEN=tok:admin:admin:system,security,system-info,storage
        bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/empty.conf"
        svc_up authd || { nok "authd stand-in up"; return 1; }
        REC=$T_DIR/cam1-rec STORE=$T_DIR/nvr-store
        mkdir -p "$T_DIR/cam1" "$T_DIR/nvr"
        anr_conf_camera "$T_DIR/cam1.conf" cam1 "$REC"
        anr_conf_nvr "$T_DIR/nvr.conf" "$STORE" '{ id = "cam1"; channel = 1; }'
}
