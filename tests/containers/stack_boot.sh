#!/bin/bash
# stack_boot: the device path. Debian 12 with systemd as PID 1 in
# systemd-nspawn, `make install DESTDIR=` of this build, devsec.target enabled.
# From the host (nsenter): every unit active after READY with its sandbox in
# force, first-boot keys, devctl status, kill -9 and a stopped watchdog bring
# a restart and re-registration, and one service is replaced by a rebuilt
# binary (VERSION=1.0.1) while the rest keep running.
#
# Besides the daemons that are built, the container runs a stand-in service:
# tests/lib/testsvc under a unit made from devsec-authd.service (the same
# sandbox), so the restart/watchdog/replacement checks always have a daemon
# that is not busd.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/lib/rootfs.sh"

if ! reason=$(ct_need); then skip "container: boot devsec.target under systemd" "$reason"; exit 0; fi
T0=$(date +%s)
W=$(mktemp -d /var/tmp/devsec-ct.XXXXXX); T_DIR=$W
R=$W/root
CT=dsc-boot
V2=${BUILD}-v2

# the rebuilt stack for the replacement check, built while the container boots
( cd "$ROOT_DIR" && make -s -j2 BUILD="$V2" VERSION=1.0.1 all >"$W/v2.log" 2>&1 ||
  make -s -k -j2 BUILD="$V2" VERSION=1.0.1 all >>"$W/v2.log" 2>&1
  make -s BUILD="$V2" VERSION=1.0.1 "$V2/tests/testsvc" >>"$W/v2.log" 2>&1 ) &
V2_PID=$!
T_PIDS="$T_PIDS $V2_PID"

[ -x "$B/tests/testsvc" ] || make -s -C "$ROOT_DIR" BUILD="$BUILD" "$B/tests/testsvc" >/dev/null 2>&1
if ! ct_install "$R"; then nok "make install DESTDIR= into a Debian 12 root"; exit 1; fi
ok "make install DESTDIR=$R PREFIX=/usr"

# which daemons this build installed (their units are in devsec.target.wants)
# the daemons of functions that ship off (smtp-notifier, as Dahua's table 2-2
# says) are installed but must stay stopped: netcfgd flags them at first boot
OFF_DAEMONS=$(sed -n 's/.*factory_default = false;.*daemon = "\([^"]*\)".*/\1/p' "$ROOT_DIR/etc/devsec/functions.conf")
DAEMONS=(); OFF=()
for u in "$R"/lib/systemd/system/devsec.target.wants/devsec-*.service; do
        n=${u##*/devsec-}; n=${n%.service}
        [ "$n" = keygen ] && continue
        if printf '%s\n' $OFF_DAEMONS | grep -qx "$n"; then OFF+=("$n"); else DAEMONS+=("$n"); fi
done
echo "# installed daemons: ${DAEMONS[*]}; off by factory default: ${OFF[*]}"

# the stand-in service
if [ -x "$B/tests/testsvc" ]; then
        install -m 0755 "$B/tests/testsvc" "$R/usr/sbin/testsvc"
        sed -e 's/authd/testsvc/g' -e 's|@SBINDIR@|/usr/sbin|g' -e 's|^Description=.*|Description=devsec test stand-in service|' \
                "$ROOT_DIR/units/devsec-authd.service" > "$R/lib/systemd/system/devsec-testsvc.service"
        ln -s ../devsec-testsvc.service "$R/lib/systemd/system/devsec.target.wants/devsec-testsvc.service"
        printf 'u devsec-testsvc - "devsec test stand-in" /nonexistent /usr/sbin/nologin\nm devsec-testsvc devsec\n' \
                > "$R/usr/lib/sysusers.d/devsec-test.conf"
        echo 'testsvc = { serve = ["testsvc"]; call = ["bus.*"]; publish = ["*"]; subscribe = ["*"]; };' \
                > "$R/etc/devsec/bus.acl.d/testsvc.acl"
        DAEMONS+=(testsvc)
fi
# The container shares the host's clock, and nspawn keeps CAP_SYS_TIME out of
# its bounding set: timed-clock runs with --dry-run here (it checks for the
# capability otherwise) and its CapEff is empty, its unit unchanged otherwise.
if [ -f "$R/lib/systemd/system/devsec-timed-clock.service" ]; then
        mkdir -p "$R/etc/systemd/system/devsec-timed-clock.service.d"
        printf '[Service]\nExecStart=\nExecStart=/usr/sbin/timed-clock -f --dry-run\n' \
                > "$R/etc/systemd/system/devsec-timed-clock.service.d/test-dry-run.conf"
fi
# short watchdogs for the two daemons whose watchdog is tested (30 s in the units)
for n in busd testsvc; do
        mkdir -p "$R/etc/systemd/system/devsec-$n.service.d"
        printf '[Service]\nWatchdogSec=3s\nTimeoutAbortSec=2s\n' > "$R/etc/systemd/system/devsec-$n.service.d/test-watchdog.conf"
done
# an operator (devsec + devsec-operators) and a plain user (devsec only)
chroot "$R" useradd -M -s /usr/sbin/nologin op1 >/dev/null 2>&1
chroot "$R" useradd -M -s /usr/sbin/nologin nobody2 >/dev/null 2>&1

if ! ct_boot "$CT" "$R" --private-network; then nok "container boots"; exit 1; fi
if ct_wait_booted "$CT" 90; then ok "systemd boots the container to multi-user ($(($(date +%s) - T0)) s so far)"
else nok "systemd boots the container"; ct "$CT" systemctl --no-pager --failed | sed 's/^/#   /'; fi
ct "$CT" usermod -aG devsec,devsec-operators op1 >/dev/null 2>&1
ct "$CT" usermod -aG devsec nobody2 >/dev/null 2>&1

prop() { ct "$CT" systemctl show -p "$2" --value "devsec-$1.service"; }
mainpid() { prop "$1" MainPID; }
# status_of NAME: "state version pid" from devctl --json status inside
status_json() { ct "$CT" devctl --json status 2>/dev/null; }
status_of() {
        printf '%s\n' "$1" | tr '{' '\n' | grep "\"name\":\"$2\"" |
                sed -n 's/.*"state":"\([^"]*\)".*"version":"\([^"]*\)".*"pid":\([0-9]*\).*/\1 \2 \3/p' | head -1
}
# wait_running NAME SECONDS: until devctl status shows NAME running
wait_running() {
        local n=$1 s=${2:-15}
        for _ in $(seq $((s * 4))); do
                case $(status_of "$(status_json)" "$n") in running*) return 0 ;; esac
                sleep 0.25
        done
        return 1
}

# --- every unit active after READY, with its sandbox --------------------------
check "devsec.target is active" ct "$CT" systemctl is-active devsec.target
for n in "${OFF[@]}"; do
        check "devsec-$n (its function ships off) is flagged disabled and stopped after the first boot" wait_for 20 sh -c \
                "[ -e '$R/var/lib/devsec/functions/disabled/devsec-$n.service' ] && [ \"\$(nsenter -t ${CT_LEADER[$CT]} -a systemctl is-active devsec-$n.service)\" != active ]"
done
check "devsec-keygen ran on first boot" test -e "$R/etc/devsec/bus/private/busd.key"
for n in "${DAEMONS[@]}"; do
        wait_running "$n" 20 >/dev/null
        st="$(prop "$n" ActiveState)/$(prop "$n" SubState)"
        txt=$(prop "$n" StatusText)
        if [ "$st" = active/running ] && [ -n "$txt" ]; then ok "devsec-$n active after READY ($txt)"
        else nok "devsec-$n active after READY (state $st, status '$txt')"
                ct "$CT" journalctl --no-pager -n 15 -u "devsec-$n" | sed 's/^/#   /'; fi
        p=$(mainpid "$n")
        s=$(ct "$CT" cat "/proc/$p/status" 2>/dev/null)
        uid=$(printf '%s\n' "$s" | awk '/^Uid:/ { print $2 }')
        want=$(ct "$CT" id -u "devsec-$n" 2>/dev/null)
        nnp=$(printf '%s\n' "$s" | awk '/^NoNewPrivs:/ { print $2 }')
        sec=$(printf '%s\n' "$s" | awk '/^Seccomp:/ { print $2 }')
        capeff=$(printf '%s\n' "$s" | awk '/^CapEff:/ { print $2 }')
        # timed-clock: CAP_SYS_TIME (2000000) on a device, none inside nspawn
        # webd: CAP_NET_BIND_SERVICE (400) for the HTTPS port, nothing else
        case $n in filterd) wantcap=0000000000001000 ;; webd) wantcap=0000000000000400 ;; *) wantcap=0000000000000000 ;; esac
        if [ -n "$uid" ] && [ "$uid" = "$want" ] && [ "$nnp" = 1 ] && [ "$sec" = 2 ] && [ "$capeff" = "$wantcap" ]; then
                ok "devsec-$n runs as devsec-$n, no new privileges, seccomp filter, CapEff $capeff"
        else nok "devsec-$n sandbox: uid $uid (want $want) NoNewPrivs $nnp Seccomp $sec CapEff $capeff (want $wantcap)"; fi
done
# bus-only daemons live in a network namespace of their own
for n in busd authd netcfgd timed-clock testsvc; do
        printf '%s\n' "${DAEMONS[@]}" | grep -qx "$n" || continue
        p=$(mainpid "$n")
        a=$(ct "$CT" readlink "/proc/$p/ns/net"); b=$(ct "$CT" readlink /proc/1/ns/net)
        if [ -n "$a" ] && [ "$a" != "$b" ]; then ok "devsec-$n has a private network namespace"
        else nok "devsec-$n has a private network namespace ($a vs $b)"; fi
done
check_out "bus socket is srwxrwx--- devsec-busd:devsec" '^srwxrwx--- devsec-busd devsec$' \
        ct "$CT" stat -c '%A %U %G' /run/devsec/bus.sock
check_out "busd's secret key is 0600 devsec-busd" '^600 devsec-busd$' \
        ct "$CT" stat -c '%a %U' /etc/devsec/bus/private/busd.key
check_out "devctl's key is 0640 root:devsec-operators" '^640 root devsec-operators$' \
        ct "$CT" stat -c '%a %U %G' /etc/devsec/bus/private/devctl.key
miss=""
for n in "${DAEMONS[@]}"; do
        [ "$(ct "$CT" stat -c '%a %U' "/etc/devsec/bus/private/$n.key" 2>/dev/null)" = "600 devsec-$n" ] || miss="$miss $n"
done
if [ -z "$miss" ]; then ok "every installed daemon got its own key (0600, its user)"; else nok "keys missing or wrong:$miss"; fi

# --- devctl inside -----------------------------------------------------------
S=$(status_json)
miss=""
for n in "${DAEMONS[@]}"; do case $(status_of "$S" "$n") in running*) ;; *) miss="$miss $n" ;; esac; done
if [ -z "$miss" ]; then ok "devctl status lists every daemon running (${DAEMONS[*]})"
else nok "devctl status: not running:$miss"; ct "$CT" devctl status | sed 's/^/#   /'; fi
check_rc "an operator (groups devsec, devsec-operators) may use devctl" 0 \
        ct "$CT" setpriv --reuid=op1 --regid=op1 --init-groups devctl status
check_out "a local user outside devsec-operators cannot read devctl's key" 'only local operators' \
        ct "$CT" setpriv --reuid=nobody2 --regid=nobody2 --init-groups devctl status
if printf '%s\n' "${DAEMONS[@]}" | grep -qx authd; then
        check_rc "devctl init (first boot) inside" 0 sh -c "printf 'Adm1n-pass-42!\nAdm1n-pass-42!\n' | nsenter -t ${CT_LEADER[$CT]} -a env -i PATH=/usr/sbin:/usr/bin HOME=/root devctl init --password-stdin"
        check_rc "devctl login -u admin inside" 0 sh -c "printf 'Adm1n-pass-42!\n' | nsenter -t ${CT_LEADER[$CT]} -a env -i PATH=/usr/sbin:/usr/bin HOME=/root devctl login -u admin --password-stdin"
        check_out "devctl whoami shows admin" 'admin' ct "$CT" devctl whoami
else
        skip "devctl init/login inside" "authd is not built"
fi

# --- a function switched off through netcfgd: its unit stopped and flagged -----
# (the polkit rule and the drop-ins come from make install; polkit.sh goes further)
have_d() { printf '%s\n' "${DAEMONS[@]}" | grep -qx "$1"; }
if ! have_d netcfgd || ! have_d authd || ! have_d webd; then
        skip "function disable/enable through netcfgd" "needs netcfgd, authd and webd built"
elif [ ! -f "$R/usr/share/polkit-1/rules.d/50-devsec-netcfgd.rules" ]; then
        skip "function disable/enable through netcfgd" "no polkitd in the root filesystem"
else
        check_rc "devctl: netcfgd function.disable https" 0 ct "$CT" devctl --timeout 30000 call netcfgd function.disable name=https
        st=""
        for _ in $(seq 40); do
                st="$(prop webd LoadState)/$(prop webd ActiveState)"
                [ "$st" = loaded/inactive ] && [ -e "$R/var/lib/devsec/functions/disabled/devsec-webd.service" ] && break
                sleep 0.25
        done
        if [ "$st" = loaded/inactive ] && [ -e "$R/var/lib/devsec/functions/disabled/devsec-webd.service" ]; then
                ok "https off: devsec-webd stopped and flagged by netcfgd (not masked)"
        else nok "https off: devsec-webd is $st"; ct "$CT" journalctl --no-pager -n 8 -u devsec-netcfgd | sed 's/^/#   /'; fi
        check_out "calls to the disabled webd get EDISABLED" 'EDISABLED' ct "$CT" devctl call webd sys.ping
        check_rc "devctl: netcfgd function.enable https" 0 ct "$CT" devctl --timeout 30000 call netcfgd function.enable name=https
        if wait_running webd 20 && [ "$(prop webd LoadState)/$(prop webd ActiveState)" = loaded/active ]; then
                ok "https on: devsec-webd's flag removed, started and registered again"
        else nok "https on: devsec-webd is $(prop webd LoadState)/$(prop webd ActiveState)"; fi
fi
# --- ntp is timed's setting: off stops the polling, not the daemon ------------
if have_d netcfgd && have_d timed; then
        tp=$(prop timed MainPID)
        check_rc "devctl: netcfgd function.disable ntp" 0 ct "$CT" devctl --timeout 30000 call netcfgd function.disable name=ntp
        check_until "ntp off: timed stops polling" 15 'sync: +disabled' ct "$CT" devctl time show
        check_out "  devsec-timed keeps running, same pid" "^active $tp\$" sh -c "echo \$(nsenter -t ${CT_LEADER[$CT]} -a systemctl show -p ActiveState --value devsec-timed.service) \$(nsenter -t ${CT_LEADER[$CT]} -a systemctl show -p MainPID --value devsec-timed.service)"
        check_out "  and answers (manual time stays possible)" 'service: +timed' ct "$CT" devctl call timed sys.ping
        check_rc "devctl: netcfgd function.enable ntp" 0 ct "$CT" devctl --timeout 30000 call netcfgd function.enable name=ntp
        check_until "ntp on: timed's ntp_enabled follows" 15 'ntp_enabled: +yes' ct "$CT" devctl config get timed
fi

# --- the upload spool: the media stack drops files, reads nothing else ---------
if { have_d sftp-storage || printf "%s\n" "${OFF[@]}" | grep -qx sftp-storage; } && have_d netcfgd && [ -f "$R/usr/share/polkit-1/rules.d/50-devsec-netcfgd.rules" ]; then
        ct "$CT" useradd -M -s /usr/sbin/nologin -G devsec-media media1 >/dev/null 2>&1
        check_rc "ftp on: sftp-storage started" 0 ct "$CT" devctl --timeout 30000 call netcfgd function.enable name=ftp
        wait_running sftp-storage 20 >/dev/null
        check_out "its state dir is 0710 devsec-sftp-storage:devsec-media after the unit started" \
                '^710 devsec-sftp-storage devsec-media$' ct "$CT" stat -c '%a %U %G' /var/lib/devsec/sftp-storage
        check_out "the spool is setgid and sticky for devsec-media" '^3770 devsec-sftp-storage devsec-media$' \
                ct "$CT" stat -c '%a %U %G' /var/lib/devsec/sftp-storage/spool
        check_rc "a media user drops a recording into the spool (dot name, then rename)" 0 ct "$CT" setpriv \
                --reuid=media1 --regid=media1 --init-groups sh -c \
                'head -c 4096 /dev/zero > /var/lib/devsec/sftp-storage/spool/.rec1.mp4 && mv /var/lib/devsec/sftp-storage/spool/.rec1.mp4 /var/lib/devsec/sftp-storage/spool/rec1.mp4'
        check_until "sftp-storage takes it into its queue" 15 'rec1\.mp4' ct "$CT" devctl storage queue
        check_rc "the media user cannot list the state dir" 2 ct "$CT" setpriv --reuid=media1 --regid=media1 \
                --init-groups ls /var/lib/devsec/sftp-storage
        check_rc "... nor read the device's SSH key" 1 ct "$CT" setpriv --reuid=media1 --regid=media1 \
                --init-groups cat /var/lib/devsec/sftp-storage/id_ed25519
        check_rc "... nor reach what was taken (held/)" 2 ct "$CT" setpriv --reuid=media1 --regid=media1 \
                --init-groups ls /var/lib/devsec/sftp-storage/held
        check_rc "ftp off again" 0 ct "$CT" devctl --timeout 30000 call netcfgd function.disable name=ftp
else
        skip "the upload spool shared with the media stack" "needs sftp-storage, netcfgd and polkitd"
fi

# --- kill -9: systemd restarts, the bus re-registers ----------------------------
for n in "${DAEMONS[@]}"; do
        [ "$n" = busd ] && continue
        p0=$(mainpid "$n")
        # never "kill 0": that would be our own process group
        case $p0 in ''|0) nok "kill -9 $n: it is not running"; continue ;; esac
        ct "$CT" kill -9 "$p0"
        p1=""
        for _ in $(seq 60); do
                p1=$(mainpid "$n")
                [ "$p1" != 0 ] && [ "$p1" != "$p0" ] && [ "$(prop "$n" ActiveState)" = active ] && break
                p1=""; sleep 0.25
        done
        if [ -n "$p1" ] && wait_running "$n" 15 && [ "$(status_of "$(status_json)" "$n" | awk '{ print $3 }')" = "$p1" ]; then
                ok "kill -9 $n: restarted by systemd (pid $p0 -> $p1) and re-registered on the bus"
        else nok "kill -9 $n: restart/re-registration (pid $p0 -> ${p1:-none})"; fi
done
others_before=""
for n in "${DAEMONS[@]}"; do [ "$n" = busd ] || others_before="$others_before $n:$(mainpid "$n")"; done
p0=$(mainpid busd)
case $p0 in ''|0) p0=none ;; *) ct "$CT" kill -9 "$p0" ;; esac
sleep 1
miss=""
for n in "${DAEMONS[@]}"; do wait_running "$n" 20 || miss="$miss $n"; done
p1=$(mainpid busd)
if [ -z "$miss" ] && [ "$p1" != "$p0" ] && [ "$p1" != 0 ]; then
        ok "kill -9 busd: restarted (pid $p0 -> $p1), every service re-registered by itself"
else nok "kill -9 busd: pid $p0 -> $p1, not re-registered:$miss"; fi
others_after=""
for n in "${DAEMONS[@]}"; do [ "$n" = busd ] || others_after="$others_after $n:$(mainpid "$n")"; done
if [ "$others_before" = "$others_after" ]; then ok "a busd restart leaves the services running (same pids)"
else nok "services restarted with busd ($others_before ->$others_after)"; fi

# --- watchdog: a daemon that stops answering is restarted ------------------------
for n in testsvc busd; do
        printf '%s\n' "${DAEMONS[@]}" | grep -qx "$n" || continue
        p0=$(mainpid "$n"); r0=$(prop "$n" NRestarts)
        case $p0 in ''|0) nok "SIGSTOP $n: it is not running"; continue ;; esac
        ct "$CT" kill -STOP "$p0"
        p1=""
        for _ in $(seq 60); do
                p1=$(mainpid "$n")
                [ "$p1" != 0 ] && [ "$p1" != "$p0" ] && [ "$(prop "$n" ActiveState)" = active ] && break
                p1=""; sleep 0.25
        done
        if [ -n "$p1" ] && ct "$CT" journalctl --no-pager -u "devsec-$n" | grep -q 'Watchdog timeout' && wait_running "$n" 15; then
                ok "SIGSTOP $n: watchdog timeout, restarted (pid $p0 -> $p1, restarts $r0 -> $(prop "$n" NRestarts))"
        else nok "SIGSTOP $n: no watchdog restart (pid $p0 -> ${p1:-none})"; ct "$CT" kill -CONT "$p0"; fi
done
miss=""
for n in "${DAEMONS[@]}"; do wait_running "$n" 20 || miss="$miss $n"; done
if [ -z "$miss" ]; then ok "after the watchdog restarts every service is registered"; else nok "not registered:$miss"; fi

# --- replacing one service at a time ---------------------------------------------
wait "$V2_PID" 2>/dev/null
REPL=""
for n in authd netcfgd logd timed filterd timed-clock busd; do
        printf '%s\n' "${DAEMONS[@]}" | grep -qx "$n" || continue
        [ -x "$ROOT_DIR/$V2/$n" ] || continue
        REPL=$n; break
done
if [ -z "$REPL" ]; then
        nok "replacement: nothing rebuilt in $V2"; sed 's/^/#   /' "$W/v2.log" | tail -20
else
        declare -A PID0
        for n in "${DAEMONS[@]}"; do PID0[$n]=$(mainpid "$n"); done
        files0=$(ct "$CT" find "/var/lib/devsec/$REPL" -type f | sort)
        install -m 0755 "$ROOT_DIR/$V2/$REPL" "$R/usr/sbin/.$REPL.new" && mv -f "$R/usr/sbin/.$REPL.new" "$R/usr/sbin/$REPL"
        check_out "the rebuilt $REPL reports 1.0.1" "^$REPL 1\.0\.1" ct "$CT" "/usr/sbin/$REPL" --version
        ct "$CT" systemctl restart "devsec-$REPL.service"
        miss=""
        for n in "${DAEMONS[@]}"; do wait_running "$n" 20 || miss="$miss $n"; done
        S=$(status_json)
        if [ "$(status_of "$S" "$REPL" | awk '{ print $1, $2 }')" = "running 1.0.1" ] && [ -z "$miss" ]; then
                ok "devsec-$REPL restarted alone: devctl status shows $REPL 1.0.1 running"
        else nok "replaced $REPL: $(status_of "$S" "$REPL"), not running:$miss"; ct "$CT" devctl status | sed 's/^/#   /'; fi
        same=yes; mixed=""
        for n in "${DAEMONS[@]}"; do
                [ "$n" = "$REPL" ] && continue
                [ "$(mainpid "$n")" = "${PID0[$n]}" ] || same="no ($n ${PID0[$n]} -> $(mainpid "$n"))"
                [ "$(status_of "$S" "$n" | awk '{ print $3 }')" = "${PID0[$n]}" ] || same="no (devctl: $n)"
                mixed="$mixed $n=$(status_of "$S" "$n" | awk '{ print $2 }')"
        done
        if [ "$same" = yes ]; then ok "the rest kept running, same pids (mixed versions:$mixed $REPL=1.0.1)"
        else nok "the rest kept running: $same"; fi
        if [ "$REPL" = authd ]; then
                # sessions live in authd's memory; the accounts are state on disk
                ct "$CT" sh -c 'rm -f /root/.cache/devsec/token-*'
                check_rc "admin logs in to the replaced authd (accounts survived)" 0 sh -c "printf 'Adm1n-pass-42!\n' | nsenter -t ${CT_LEADER[$CT]} -a env -i PATH=/usr/sbin:/usr/bin HOME=/root devctl login -u admin --password-stdin"
        fi
        to=$REPL; [ "$REPL" = busd ] && to=bus
        check_out "a call to the replaced $REPL works" 'version: +1\.0\.1' ct "$CT" devctl call "$to" sys.ping
        if printf '%s\n' "${DAEMONS[@]}" | grep -qx testsvc; then
                check_out "a call through the mixed stack works (testsvc 1.0.0 via busd)" 'text: +mixed' \
                        ct "$CT" devctl call testsvc test.echo text=mixed
        fi
        files1=$(ct "$CT" find "/var/lib/devsec/$REPL" -type f | sort)
        if [ "$files0" = "$files1" ]; then ok "$REPL's state directory survived the replacement ($(printf '%s' "$files0" | grep -c .) files)"
        else nok "$REPL state changed: [$files0] -> [$files1]"; fi
fi

# --- the target stops the stack -----------------------------------------------
ct "$CT" systemctl stop devsec.target
# the stop jobs of the PartOf= units may still be running when systemctl returns
all_inactive() { miss=""; for n in "${DAEMONS[@]}"; do [ "$(prop "$n" ActiveState)" = inactive ] || miss="$miss $n"; done; [ -z "$miss" ]; }
if wait_for 30 all_inactive; then ok "systemctl stop devsec.target stops every daemon"; else all_inactive; nok "still running 30 s after stop:$miss"; fi

ct_stop "$CT"
echo "# container scenario took $(($(date +%s) - T0)) s"
