# tap.sh - sourced by every shell test: results, assertions and a private bus stack.
# Output lines: "ok - DESC", "not ok - DESC", "skip - DESC # REASON". tests/run.sh counts them.
set -u
: "${BUILD:=build}"
ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B="$ROOT_DIR/$BUILD"
T_PIDS=""
T_DIR=""

ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; }
skip() { echo "skip - $1 # $2"; }
# check DESC CMD...: ok when CMD succeeds
check() { local d=$1; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else nok "$d"; fi; }
# check_rc DESC RC CMD...: ok when CMD exits RC
check_rc() {
        local d=$1 want=$2; shift 2; local got=0
        "$@" >/dev/null 2>&1 || got=$?
        if [ "$got" = "$want" ]; then ok "$d"; else nok "$d (exit $got, want $want)"; fi
}
# check_out DESC REGEX CMD...: ok when CMD's stdout+stderr matches REGEX (grep -E)
check_out() {
        local d=$1 re=$2; shift 2; local out
        out=$("$@" 2>&1) || true
        if printf '%s\n' "$out" | grep -Eq -- "$re"; then ok "$d"; else nok "$d"; printf '#   got: %s\n' "$(printf '%s' "$out" | head -c 600 | tr '\n' '|')"; fi
}
# check_until DESC SECONDS REGEX CMD...: like check_out, polling CMD until its
# output matches or SECONDS pass (for a state an event makes true later)
check_until() {
        local d=$1 s=$2 re=$3; shift 3; local out n=$(( s * 10 ))
        while :; do
                out=$("$@" 2>&1) || true
                printf '%s\n' "$out" | grep -Eq -- "$re" && { ok "$d"; return 0; }
                n=$((n - 1)); [ $n -le 0 ] && break; sleep 0.1
        done
        nok "$d"; printf '#   got: %s\n' "$(printf '%s' "$out" | head -c 600 | tr '\n' '|')"
}
need_root() { [ "$(id -u)" = 0 ]; }
have() { command -v "$1" >/dev/null 2>&1; }

t_cleanup() {
        local p f
        for p in $T_PIDS; do kill "$p" 2>/dev/null || true; done
        for p in $T_PIDS; do wait "$p" 2>/dev/null || true; done
        # under make check-asan: every daemon's log must be free of sanitizer reports
        if [ -n "$T_DIR" ] && [ -d "$T_DIR/log" ]; then
                for f in "$T_DIR"/log/*.log; do
                        [ -f "$f" ] || continue
                        if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$f"; then
                                nok "sanitizer report in $(basename "$f")"
                                grep -m3 -E 'ERROR: |runtime error:|#[0-9] ' "$f" | sed 's/^/#   /'
                        fi
                done
        fi
        [ -n "$T_DIR" ] && [ -z "${KEEP:-}" ] && rm -rf "$T_DIR"
        return 0
}
trap t_cleanup EXIT

# stack_init IDENTITY...: a private runtime root with the tree's etc/devsec,
# keys for busd, devctl and each identity, and env for every binary.
stack_init() {
        T_DIR=$(mktemp -d /tmp/devsec-test.XXXXXX)
        mkdir -p "$T_DIR/etc" "$T_DIR/run" "$T_DIR/state" "$T_DIR/log"
        cp -r "$ROOT_DIR/etc/devsec/." "$T_DIR/etc/"
        export DEVSEC_RUNDIR="$T_DIR/run" DEVSEC_CONFDIR="$T_DIR/etc" DEVSEC_STATEDIR="$T_DIR/state"
        export DEVSEC_TOKEN_FILE="$T_DIR/token"
        export DEVSEC_AUDIT_DIR="$B/share/audit" # the build's item tables (make install: share/devsec/audit)
        "$B/devsec-keygen" --confdir "$T_DIR/etc" busd devctl "$@" >/dev/null
}
# stack_acl NAME TEXT: adds an ACL file
stack_acl() { printf '%s\n' "$2" > "$T_DIR/etc/bus.acl.d/$1.acl"; }
# bg NAME CMD...: starts CMD in the background, logging to $T_DIR/log/NAME.log; sets LAST_PID
bg() {
        local n=$1; shift
        "$@" >>"$T_DIR/log/$n.log" 2>&1 &
        LAST_PID=$!
        T_PIDS="$T_PIDS $LAST_PID"
}
# wait_for SECONDS CMD...: polls CMD every 50 ms
wait_for() {
        local s=$1; shift; local n=$(( s * 20 ))
        while [ $n -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; n=$((n - 1)); done
        return 1
}
stack_busd() {
        bg busd "$B/busd"; BUSD_PID=$LAST_PID
        wait_for 5 test -S "$DEVSEC_RUNDIR/bus.sock"
}
# svc_up NAME: waits until devctl status shows NAME running
svc_up() { wait_for "${2:-5}" sh -c "'$B/devctl' --json status | grep -q '\"name\":\"$1\",\"state\":\"running\"'"; }
dc() { "$B/devctl" "$@"; }
# netcfgd_stack [NETCFGD ARGS...]: busd, a stand-in authd (testsvc) and netcfgd
# (--dry-run unless ARGS say otherwise), both up; NPID is netcfgd's pid
netcfgd_stack() {
        stack_init netcfgd testsvc
        stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = ["*"]; subscribe = []; };'
        stack_busd
        bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/none.conf"
        if [ $# -gt 0 ]; then bg netcfgd "$B/netcfgd" "$@"; else bg netcfgd "$B/netcfgd" --dry-run; fi
        NPID=$LAST_PID
        svc_up authd && svc_up netcfgd
}
# listen_bg OUT [devctl options...] -- [listen args...]: a background listener
# writing events to OUT (stderr to OUT.err), returned once busd has accepted
# its subscription, so no event of the next action is missed; sets LP.
listen_bg() {
        local out=$1; shift
        local pre=() ; while [ $# -gt 0 ] && [ "$1" != -- ]; do pre+=("$1"); shift; done
        [ "${1:-}" = -- ] && shift
        # emptied before the listener starts (its own redirection runs later, in
        # the child): an earlier listener's "listening:" left in the same file
        # must not pass for this one's
        : > "$out"; : > "$out.err"
        "$B/devctl" "${pre[@]}" listen "$@" --ready > "$out" 2> "$out.err" &
        LP=$!; T_PIDS="$T_PIDS $LP"
        # a listener that exits (no bus, refused) is not waited for
        wait_for 10 sh -c "grep -q '^listening: ' '$out.err' || ! kill -0 $LP"
        grep -q '^listening: ' "$out.err" || { echo "# listener on '$*' not ready: $(cat "$out.err")"; return 1; }
}

# test_mkca DIR SERVER_SAN OTHER_CN: a test PKI in DIR: ca.pem/key, ca2.pem (a
# CA nobody trusts), server.pem/key (CN localhost, SERVER_SAN) and other.pem/key
# (CN and SAN OTHER_CN), both issued by ca.pem for serverAuth, two days long
test_mkca() {
        local D=$1 ssan=$2 other=$3 n cn san
        mkdir -p "$D"
        ( cd "$D" || exit 1
        for ca in ca ca2; do
                openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Test $ca" -keyout $ca.key -out $ca.pem \
                        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
        done
        for n in server other; do
                if [ $n = server ]; then cn=localhost; san=$ssan; else cn=$other; san="DNS:$other"; fi
                openssl req -newkey rsa:2048 -nodes -subj "/CN=$cn" -keyout $n.key -out $n.csr 2>/dev/null
                printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' "$san" > $n.ext
                openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile $n.ext -out $n.pem 2>/dev/null
                rm -f $n.csr $n.ext
        done; rm -f ca.srl )
}

# for tests/bench/*.sh: one figure line ("BENCH\tmetric\tvalue\tunit\tnote"),
# and a process's USS in KiB (Private_Clean + Private_Dirty)
bench() { printf 'BENCH\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4"; }
# verdict VALUE OP TARGET (OP <= or >=): PASS or FAIL; a figure that was
# not measured (empty, "-", zero) fails, whatever the direction
verdict() {
        awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
                if (v !~ /^[0-9]*\.?[0-9]+$/ || v + 0 <= 0) { print "FAIL (not measured)"; exit }
                ok = op == "<=" ? v + 0 <= t + 0 : v + 0 >= t + 0; print ok ? "PASS" : "FAIL" }'
}
uss() { awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s }' "/proc/$1/smaps_rollup" 2>/dev/null; }
