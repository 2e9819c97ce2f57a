# units.sh - for the scenarios that boot the device's systemd more than once and
# watch its units: CT, R and T0 are the scenario's (container, root, start time).

# boot LABEL: boots the container and waits until systemd is up
boot() {
        if ! ct_boot "$CT" "$R" --private-network; then nok "container boots ($1)"; exit 1; fi
        if ct_wait_booted "$CT" 90; then ok "systemd boots the container ($1, $(($(date +%s) - T0)) s so far)"
        else nok "systemd boots the container ($1)"; ct "$CT" systemctl --no-pager --failed | sed 's/^/#   /'; fi
}
prop() { ct "$CT" systemctl show -p "$2" --value "$1"; }
# wait_prop SECONDS UNIT PROP VALUE: until systemd shows the value
wait_prop() {
        for _ in $(seq $(($1 * 4))); do [ "$(prop "$2" "$3")" = "$4" ] && return 0; sleep 0.25; done
        return 1
}
# wait_out SECONDS REGEX CMD...: until CMD's output matches
wait_out() {
        local s=$1 re=$2; shift 2
        for _ in $(seq $((s * 4))); do "$@" 2>&1 | grep -Eq -- "$re" && return 0; sleep 0.25; done
        return 1
}
# login LABEL: a fresh session as admin, as root on the device would open it
login() {
        ct "$CT" sh -c 'rm -f /root/.cache/devsec/token-*'
        check_rc "devctl login -u admin ($1)" 0 sh -c "printf 'Adm1n-pass-42!\n' | nsenter -t ${CT_LEADER[$CT]} -a env -i PATH=/usr/sbin:/usr/bin HOME=/root devctl login -u admin --password-stdin"
}
