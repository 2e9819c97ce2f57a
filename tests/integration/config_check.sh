#!/bin/bash
# Every daemon checks the shipped etc/devsec with -n (configuration, bus ACL,
# keys, and its own method table and schemas), and names file:line of a bad one.
source "$(dirname "$0")/../lib/tap.sh"
stack_init
for d in "$ROOT_DIR"/services/*/main.c; do
        n=$(basename "$(dirname "$d")")
        [ -x "$B/$n" ] || continue
        check_out "$n -n accepts the shipped configuration" 'configuration OK' "$B/$n" -n
done
check_out "busd -n accepts the shipped configuration, ACL and keys" 'configuration OK \([0-9]+ keys\)' "$B/busd" -n
printf 'hb_ms = 1;\n' > "$T_DIR/etc/busd.conf"
check_out "busd -n names a value out of range with its line" "busd.conf:1: 'hb_ms' must be between 100 and 60000" "$B/busd" -n
printf 'devctl = { operator = true; call = [ "*" ] ; publsh = [ ]; };\n' > "$T_DIR/etc/bus.acl"
cp "$ROOT_DIR/etc/devsec/busd.conf" "$T_DIR/etc/busd.conf"
check_out "busd -n names an unknown ACL key with its line" "bus.acl:1: unknown key 'publsh'" "$B/busd" -n
check_rc "busd -n exits 1 on a bad ACL" 1 "$B/busd" -n
# a file that is there but cannot be used is never replaced by defaults
python3 -c "print('device_id = \"' + 'a' * 1100000 + '\";')" > "$T_DIR/huge.conf"
check_out "a configuration over 1 MiB is refused, naming the file" 'huge.conf: cannot be used: message too large' \
        "$B/logd" -n -c "$T_DIR/huge.conf"
check_rc "and the daemon does not start on it (exit 1)" 1 "$B/logd" -n -c "$T_DIR/huge.conf"
