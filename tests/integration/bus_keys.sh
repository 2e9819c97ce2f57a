#!/bin/bash
# Key reload: at SIGHUP busd disconnects every peer whose key was removed or
# rotated (the name stays the same for a rotated key: busd compares keys).
source "$(dirname "$0")/../lib/tap.sh"
stack_init rotated removed kept
for n in rotated removed kept; do stack_acl $n "$n = { call = [\"bus.bus.services\"]; publish = []; subscribe = []; };"; done
stack_busd
for n in rotated removed kept; do bg $n env PROBE_IDENTITY=$n "$B/tests/busprobe" hold "$T_DIR/go"; done
for n in rotated removed kept; do wait_for 5 grep -q "call 1: ok" "$T_DIR/log/$n.log"; done
check_out "the held connections work before the reload" '^3$' bash -c "cat '$T_DIR'/log/{rotated,removed,kept}.log | grep -c 'call 1: ok'"
"$B/devsec-keygen" --confdir "$T_DIR/etc" --force rotated >/dev/null
rm -f "$T_DIR/etc/bus/keys/removed.pub"
kill -HUP $BUSD_PID
wait_for 5 grep -q "ACL and keys reloaded" "$T_DIR/log/busd.log"
touch "$T_DIR/go"
for n in rotated removed kept; do wait_for 5 grep -q "call 2:" "$T_DIR/log/$n.log"; done
check_out "a rotated key's old connection is dropped: its calls fail" 'call 2: failed' cat "$T_DIR/log/rotated.log"
check_out "a removed key's connection is dropped" 'call 2: failed' cat "$T_DIR/log/removed.log"
check_out "a key still trusted keeps its connection" 'call 2: ok' cat "$T_DIR/log/kept.log"
check_out "busd says why" "'rotated' disconnected: its key is no longer in the key directory" cat "$T_DIR/log/busd.log"
check_out "the new key is accepted" 'busd +running' "$B/devctl" --identity rotated status
