# rootfs.sh - sourced by tests/containers/*.sh: a cached Debian 12 root
# filesystem with systemd as PID 1, `make install DESTDIR=` into a copy of it,
# nspawn boot/stop and nsenter helpers. Not a test itself (not matched by *.sh).
#
# The cache lives under $DEVSEC_TEST_CACHE (default /var/cache/devsec-test) as
# rootfs-<hash of suite, mirror and package list>; a changed list builds a new one.

case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac   # debootstrap, nspawn helpers
: "${DEVSEC_TEST_CACHE:=/var/cache/devsec-test}"
: "${DEVSEC_TEST_MIRROR:=http://deb.debian.org/debian}"
CT_SUITE=bookworm
# systemd as PID 1, D-Bus for systemctl, the runtime libraries of every daemon
# (ldd of the build: czmq pulls zmq, msgpack-c, libconfig, libsodium...), procps
# for /bin/kill (ExecReload=), iproute2 for the veth pair of the two-host scenario,
# polkitd (and libpam-systemd, its logind) for netcfgd's unit switching (the rule
# make install generates from the function table); jansson for devctl, and
# libmicrohttpd with GnuTLS for webd, libminiupnpc for exposured.
CT_PACKAGES="systemd systemd-sysv dbus procps iproute2 libzmq5 libczmq4 libmsgpackc2 libconfig9 libsystemd0
libcurl4 libpwquality1 cracklib-runtime libsodium23 libnftables1 libssl3 ca-certificates polkitd libpam-systemd
libjansson4 libmicrohttpd12 libgnutls30 libminiupnpc17"

ct_need() {
        # ct_need: prints the reason and returns 1 when the scenarios cannot run here
        if [ "$(id -u)" != 0 ]; then echo "not root"; return 1; fi
        local t
        for t in systemd-nspawn debootstrap nsenter; do
                command -v "$t" >/dev/null 2>&1 || { echo "$t not installed (apt-get install systemd-container debootstrap util-linux)"; return 1; }
        done
        # a sanitizer build needs its runtime, which the device root filesystem
        # does not carry: the containers run in make test with the real build
        if ldd "$B/busd" 2>/dev/null | grep -q 'libasan\|libubsan'; then
                echo "sanitizer build: the device rootfs has no ASan runtime (make test runs the containers)"; return 1
        fi
        # the Debian root comes from the package archive: without it there is nothing to boot
        if ! ct_rootfs >/dev/null; then
                echo "no Debian 12 root filesystem: debootstrap could not build one (see $DEVSEC_TEST_CACHE/debootstrap-*.log)"
                return 1
        fi
        return 0
}

# ct_rootfs: echoes the cached rootfs directory, building it when missing
ct_rootfs() {
        local h dir tmp inc
        h=$(printf '%s\n' "$CT_SUITE" "$DEVSEC_TEST_MIRROR" $CT_PACKAGES | sha256sum | cut -c1-12)
        dir="$DEVSEC_TEST_CACHE/rootfs-$h"
        mkdir -p "$DEVSEC_TEST_CACHE"
        (
                flock -w 900 9 || exit 1
                [ -e "$dir/.complete" ] && exit 0
                tmp="$dir.tmp.$$"
                rm -rf "$tmp"
                inc=$(echo $CT_PACKAGES | tr ' ' ',')
                echo "# building $dir (debootstrap $CT_SUITE, about a minute)" >&2
                if ! debootstrap --variant=minbase --include="$inc" "$CT_SUITE" "$tmp" "$DEVSEC_TEST_MIRROR" \
                        >"$DEVSEC_TEST_CACHE/debootstrap-$h.log" 2>&1; then
                        echo "# debootstrap failed, see $DEVSEC_TEST_CACHE/debootstrap-$h.log" >&2
                        rm -rf "$tmp"; exit 1
                fi
                # a quiet, fast boot: no getty on a console nobody reads, no apt timers
                rm -f "$tmp"/etc/systemd/system/getty.target.wants/* \
                      "$tmp"/etc/systemd/system/timers.target.wants/* 2>/dev/null
                ln -sf /dev/null "$tmp/etc/systemd/system/console-getty.service"
                ln -sf /dev/null "$tmp/etc/systemd/system/systemd-networkd-wait-online.service"
                echo "dsc-test" > "$tmp/etc/hostname"
                rm -rf "$tmp/var/cache/apt/archives/"*.deb "$tmp/var/lib/apt/lists/"*
                touch "$tmp/.complete"
                rm -rf "$dir"
                mv "$tmp" "$dir"
                # the roots of older package lists are not used any more
                for old in "$DEVSEC_TEST_CACHE"/rootfs-* "$DEVSEC_TEST_CACHE"/debootstrap-*.log; do
                        case $old in "$dir"|*"-$h.log") ;; *) rm -rf "$old" ;; esac
                done
        ) 9>"$DEVSEC_TEST_CACHE/.lock" || return 1
        echo "$dir"
}

# ct_install DIR: a fresh copy of the cached rootfs in DIR with this build
# installed (`make install DESTDIR=DIR PREFIX=/usr`) and devsec.target enabled
ct_install() {
        local dir=$1 base
        base=$(ct_rootfs) || return 1
        rm -rf "$dir"
        mkdir -p "$(dirname "$dir")"
        cp -a "$base" "$dir" || return 1
        make -s -C "$ROOT_DIR" -o all BUILD="$BUILD" DESTDIR="$dir" PREFIX=/usr install >"$dir.install.log" 2>&1 || {
                sed 's/^/#   /' "$dir.install.log"; return 1; }
        mkdir -p "$dir/etc/systemd/system/multi-user.target.wants"
        ln -sfn /lib/systemd/system/devsec.target "$dir/etc/systemd/system/multi-user.target.wants/devsec.target"
}

# ct_boot NAME DIR [nspawn args...]: boots DIR with systemd as PID 1 (machine
# NAME, which must start with dsc-); sets CT_PID[NAME] (nspawn) and
# CT_LEADER[NAME] (the container's PID 1 as the host sees it)
declare -A CT_PID CT_LEADER
ct_boot() {
        local name=$1 dir=$2 i leader=""; shift 2
        case $name in dsc-*) ;; *) echo "# container names start with dsc-"; return 1 ;; esac
        systemd-nspawn -q -D "$dir" -M "$name" -b --register=no --keep-unit --console=read-only "$@" \
                >"$dir.console.log" 2>&1 &
        CT_PID[$name]=$!
        T_PIDS="$T_PIDS $!"
        for i in $(seq 300); do
                leader=$(ps -o pid= --ppid "${CT_PID[$name]}" 2>/dev/null | head -1 | tr -d ' ')
                [ -n "$leader" ] && [ "$(cat /proc/"$leader"/comm 2>/dev/null)" = systemd ] && break
                leader=""
                kill -0 "${CT_PID[$name]}" 2>/dev/null || break
                sleep 0.1
        done
        [ -n "$leader" ] || { echo "# nspawn did not start:"; tail -20 "$dir.console.log" | sed 's/^/#   /'; return 1; }
        CT_LEADER[$name]=$leader
}

# ct NAME CMD...: runs CMD inside the container as root, with a clean environment
ct() {
        local name=$1; shift
        nsenter -t "${CT_LEADER[$name]}" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
}

# ct_wait_booted NAME SECONDS: until systemd inside finished start-up
ct_wait_booted() {
        local name=$1 s=${2:-60} st
        for _ in $(seq $((s * 5))); do
                st=$(ct "$name" systemctl is-system-running 2>/dev/null)
                case $st in running|degraded) return 0 ;; esac
                sleep 0.2
        done
        return 1
}

# ct_stop NAME: asks the container to halt (SIGTERM to nspawn), kills it after 20 s
ct_stop() {
        local name=$1 p=${CT_PID[$1]:-}
        [ -n "$p" ] || return 0
        kill "$p" 2>/dev/null
        for _ in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
        wait "$p" 2>/dev/null
        CT_PID[$name]=""
        return 0
}
