# timed_lib.sh - sourced by the timed scenarios after tap.sh: chronyd peers
# on loopback (ports 11100-11199), a private bus with timed and timed-clock
# (both --dry-run: the host clock is never touched), JSON queries.
FAKETIME_LIB=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -1)
export DEVSEC_TOKEN="tok:admin:admin:system,system-info,backup,security"

# chrony_srv NAME PORT [OFFSET_S]: a chronyd NTP server on 127.0.0.1:PORT,
# OFFSET_S seconds off (under faketime) when given. Sets SRV_PID.
chrony_srv() {
        local n=$1 port=$2 off=${3:-} d="$T_DIR/chrony-$1"
        mkdir -p -m 700 "$d"
        cat > "$d/chrony.conf" <<EOC
port $port
bindaddress 127.0.0.1
local stratum 8
allow 127.0.0.1
cmdport 0
bindcmdaddress $d/chronyd.sock
pidfile $d/chronyd.pid
driftfile $d/drift
EOC
        if [ -n "$off" ]; then
                case $off in [+-]*) ;; *) off="+$off" ;; esac
                # libfaketime preloaded directly: the faketime wrapper forks, and
                # its child would outlive a kill of the PID we hold
                bg "chrony-$n" env LD_PRELOAD="$FAKETIME_LIB" FAKETIME="${off}s" FAKETIME_DONT_RESET=1 \
                        chronyd -4 -x -d -u root -f "$d/chrony.conf"
        else
                bg "chrony-$n" chronyd -4 -x -d -u root -f "$d/chrony.conf"
        fi
        SRV_PID=$LAST_PID
        wait_for 5 sh -c "ss -Hlun 'sport = :$port' | grep -q ."
}

# timed_conf KEY=VALUE...: the test's timed.conf (libconfig lines)
timed_conf() {
        { for kv in "$@"; do printf '%s;\n' "${kv/=/ = }"; done; } > "$T_DIR/etc/timed.conf"
}

# timed_stack: busd, a session checker standing in for authd, timed-clock and timed
timed_stack() {
        stack_init timed timed-clock testsvc
        rm -f "$T_DIR/etc/authd.conf" # the stand-in has settings of its own
        stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = ["*"]; subscribe = ["*"]; };'
}
timed_start() {
        stack_busd
        bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc
        bg timed-clock "$B/timed-clock" --dry-run; CLOCK_PID=$LAST_PID
        # the listener's subscription is checked with the session stand-in: it must be up
        svc_up authd && svc_up timed-clock
        # every time.* event, as JSON lines, from before timed starts
        listen_bg "$T_DIR/log/listen.log" --json -- time.
        bg timed "$B/timed" --dry-run "$@"; TIMED_PID=$LAST_PID
        svc_up authd && svc_up timed-clock && svc_up timed
}

# jq_ EXPR: evaluates a python expression on the JSON from stdin as `j`
jq_() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
tstatus() { dc --json time show | jq_ "$1"; }
# st_true PYEXPR: the expression on `time show` (as j) is true
st_true() { "$B/devctl" --json time show 2>/dev/null | python3 -c "import json,sys; j=json.load(sys.stdin); sys.exit(0 if ($1) else 1)" 2>/dev/null; }
# wait_status SECONDS PYEXPR
wait_status() { wait_for "$1" st_true "$2"; }
# pyt PYEXPR: exit status of a python boolean expression
pyt() { python3 -c "import sys; sys.exit(0 if ($1) else 1)" 2>/dev/null; }
src() { printf "[s for s in j['sources'] if s['address']=='127.0.0.1:%s'][0]" "$1"; }
# epoch_skew: realtime - monotonic (ns); it changes only when the host clock is set
epoch_skew() { python3 -c 'import time; print(time.time_ns() - time.monotonic_ns())'; }
