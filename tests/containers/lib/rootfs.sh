# rootfs.sh - sourced by tests/containers/*.sh: a cached Debian 12 root
# filesystem with systemd as PID 1, `make install DESTDIR=` into a copy of it,
# nspawn boot/stop and nsenter helpers. Not a test itself (not matched by *.sh).
#
# The cache lives under $DEVSEC_TEST_CACHE (default /var/cache/devsec-test) as
# rootfs-<hash of suite, mirror and package list>; a changed list builds a new one.

: "${DEVSEC_TEST_CACHE:=/var/cache/devsec-test}"
: "${DEVSEC_TEST_MIRROR:=http://deb.debian.org/debian}"
CT_SUITE=bookworm
# systemd as PID 1, D-Bus for systemctl, the runtime libraries of every daemon
# (ldd of the build: czmq pulls zmq, msgpack-c, libconfig, libsodium...), procps
# for /bin/kill (ExecReload=), iproute2 for the veth pair of the two-host scenario.
CT_PACKAGES="systemd systemd-sysv dbus procps iproute2 libzmq5 libczmq4 libmsgpackc2 libconfig9 libsystemd0
libcurl4 libpwquality1 cracklib-runtime libsodium23 libnftables1 libssl3 ca-certificates"

ct_need() {
        # ct_need: prints the reason and returns 1 when the scenarios cannot run here
        if [ "$(id -u)" != 0 ]; then echo "not root"; return 1; fi
        local t
        for t in systemd-nspawn debootstrap nsenter; do
                command -v "$t" >/dev/null 2>&1 || { echo "$t not installed (apt-get install systemd-container debootstrap util-linux)"; return 1; }
        done
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
        ) 9>"$DEVSEC_TEST_CACHE/.lock" || return 1
        echo "$dir"
}
