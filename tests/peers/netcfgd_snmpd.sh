#!/bin/bash
# netcfgd SNMP against the real net-snmp snmpd: secure-settings refusals by
# field, the rendered snmpd.conf fragment, snmpd on udp 127.0.0.1:16161 with it,
# snmpget -v3 authPriv SHA/AES works, wrong passphrase / authNoPriv / v2c fail.
source "$(dirname "$0")/../lib/tap.sh"
have snmpd && have snmpget || { skip "netcfgd against snmpd" "snmpd/snmp not installed (tests/deps/netcfgd.txt)"; exit 0; }
PORT=16161
stack_init netcfgd testsvc
stack_acl testsvc 'testsvc = { serve = ["authd"]; call = ["bus.*"]; publish = ["*"]; subscribe = []; };'
stack_busd
bg authd env TESTSVC_NAME=authd "$B/tests/testsvc" --identity testsvc -c "$T_DIR/none.conf"
bg netcfgd "$B/netcfgd" --dry-run
svc_up authd && svc_up netcfgd || { nok "stack comes up"; exit 0; }
export DEVSEC_TOKEN=tok:admin:admin:system,network,security,system-info,backup
FRAG="$DEVSEC_STATEDIR/netcfgd/snmp/snmpd.conf"
W="$T_DIR/snmp"; mkdir -p -m 700 "$W" "$W/persist" "$W/cpersist"
RO_A='Ro-auth-2024x' RO_P='Ro-priv-2024y' RW_A='Rw-auth-2024x' RW_P='Rw-priv-2024y'

# refusals, each naming the field (protection level 1 is the default)
check_out "v1/v2c refused at level 1 (field v1v2c)" 'EINVAL: v1v2c: SNMP v1/v2c is refused at protection level 1' dc snmp set v1v2c=true
check_out "MD5 refused at level 1 (field auth)" 'EINVAL: auth: only SHA' dc snmp set auth=MD5
check_out "DES refused at level 1 (field priv)" 'EINVAL: priv: only AES' dc snmp set priv=DES
check_out "an unknown auth protocol is refused by the schema" 'EINVAL: auth: ' dc snmp set auth=SHA512
check_out "passphrases on the command line are refused" 'give passphrases as ro_auth_pass=-' dc snmp set ro_auth_pass=secret123
check_out "a user without passphrases is refused (ro_auth_pass)" 'EINVAL: ro_auth_pass: ' dc snmp set ro_user=camro
check_out "same read-only and read-write user refused (rw_user)" 'EINVAL: rw_user: the read-write user must differ' \
        sh -c "printf '%s\n' '$RO_A' '$RO_P' '$RW_A' '$RW_P' | '$B/devctl' snmp set ro_user=cam ro_auth_pass=- ro_priv_pass=- rw_user=cam rw_auth_pass=- rw_priv_pass=-"
check_out "a short passphrase is refused" 'EINVAL: ro_auth_pass: must be 8 to 64 characters long' \
        sh -c "printf '%s\n' 'Ab1' '$RO_P' | '$B/devctl' snmp set ro_user=camro ro_auth_pass=- ro_priv_pass=-"
check_out "a one-class passphrase is refused" 'EINVAL: ro_auth_pass: must mix at least two' \
        sh -c "printf '%s\n' 'abcdefghij' '$RO_P' | '$B/devctl' snmp set ro_user=camro ro_auth_pass=- ro_priv_pass=-"
check_out "a passphrase containing the user name is refused (authd's rule)" 'EINVAL: ro_priv_pass: must not contain the user name or the user name reversed' \
        sh -c "printf '%s\n' '$RO_A' 'Camro2024' | '$B/devctl' snmp set ro_user=Camro2024 ro_auth_pass=- ro_priv_pass=-"
check_out "the same auth and priv passphrase is refused" 'EINVAL: ro_priv_pass: must differ' \
        sh -c "printf '%s\n' '$RO_A' '$RO_A' | '$B/devctl' snmp set ro_user=camro ro_auth_pass=- ro_priv_pass=-"

# a good configuration
check_out "snmp port moved to $PORT" "snmp +udp +$PORT" dc port set snmp=$PORT
check_out "snmp set with two v3 users (passphrases from stdin)" 'ro_user: +camro' \
        sh -c "printf '%s\n' '$RO_A' '$RO_P' '$RW_A' '$RW_P' | '$B/devctl' snmp set address=127.0.0.1 ro_user=camro ro_auth_pass=- ro_priv_pass=- rw_user=camrw rw_auth_pass=- rw_priv_pass=- sys_name=cam-test sys_location=lab-1"
out=$(dc --json snmp show 2>&1)
if echo "$out" | grep -q "$RO_A\|$RO_P\|$RW_A"; then nok "snmp show never returns passphrases"; else ok "snmp show never returns passphrases"; fi
if dc config get netcfgd 2>&1 | grep -q "$RO_A"; then nok "config get never returns passphrases"; else ok "config get never returns passphrases"; fi
if grep -q "$RO_A" "$T_DIR/log/netcfgd.log"; then nok "passphrases are never logged"; else ok "passphrases are never logged"; fi
check_out "function enable snmp" 'enabled: +yes' dc function enable snmp
check "dev backend unmasked snmpd" test ! -e "$DEVSEC_RUNDIR/svcmgr/snmpd.masked"
check "the fragment is mode 0600" test "$(stat -c %a "$FRAG")" = 600
check_out "the fragment listens on 127.0.0.1:$PORT only" "^agentAddress udp:127\.0\.0\.1:$PORT\$" cat "$FRAG"
check_out "the fragment creates the read-only user with SHA and AES" '^createUser camro SHA ".*" AES ".*"$' cat "$FRAG"
check_out "read-only user needs priv" '^rouser camro priv$' cat "$FRAG"
check_out "read-write user needs priv" '^rwuser camrw priv$' cat "$FRAG"
if grep -qi 'community' "$FRAG"; then nok "no community at level 1"; else ok "no community at level 1"; fi

SNMP_PERSISTENT_DIR="$W/persist" MIBS=: bg snmpd snmpd -f -C -c "$FRAG" -I -smux -Lf "$W/snmpd.log" -p "$W/snmpd.pid"
SP=$LAST_PID
if wait_for 5 sh -c "ss -Hlun 'sport = :$PORT' | grep -q 127.0.0.1"; then ok "snmpd runs with the fragment on udp 127.0.0.1:$PORT"; else nok "snmpd runs with the fragment"; cat "$W/snmpd.log" | head -5 | sed 's/^/#   /'; fi
if { ss -Hlupn; ss -Hltpn; } 2>/dev/null | grep "pid=$SP," | awk '$4 ~ /^(0\.0\.0\.0|\[::\]|\*):/' | grep -q .; then nok "snmpd binds nothing on a wildcard address"; else ok "snmpd binds nothing on a wildcard address"; fi
get() { SNMP_PERSISTENT_DIR="$W/cpersist" MIBS=: timeout 10 snmpget -t 1 -r 0 "$@" 127.0.0.1:$PORT 1.3.6.1.2.1.1.5.0 1.3.6.1.2.1.1.6.0; }
check_out "snmpget -v3 authPriv SHA/AES as the read-only user" 'STRING: "cam-test"' get -v3 -l authPriv -u camro -a SHA -A "$RO_A" -x AES -X "$RO_P"
check_out "sysLocation from the fragment" 'STRING: "lab-1"' get -v3 -l authPriv -u camro -a SHA -A "$RO_A" -x AES -X "$RO_P"
check_out "snmpget -v3 authPriv as the read-write user" 'STRING: "cam-test"' get -v3 -l authPriv -u camrw -a SHA -A "$RW_A" -x AES -X "$RW_P"
check_rc "a wrong auth passphrase fails" 1 get -v3 -l authPriv -u camro -a SHA -A 'Wrong-pass-99' -x AES -X "$RO_P"
check "authNoPriv is refused (priv required)" sh -c "! SNMP_PERSISTENT_DIR='$W/cpersist' MIBS=: timeout 10 snmpget -t 1 -r 0 -v3 -l authNoPriv -u camro -a SHA -A '$RO_A' 127.0.0.1:$PORT 1.3.6.1.2.1.1.5.0"
check "v2c with community public is refused (no answer)" sh -c "! MIBS=: timeout 10 snmpget -t 1 -r 0 -v2c -c public 127.0.0.1:$PORT 1.3.6.1.2.1.1.5.0"
kill $SP 2>/dev/null; wait $SP 2>/dev/null

# level 0: v2c is possible, which shows the refusal above is the level's doing
check_out "protection level 0" 'protection_level: +0' dc config set netcfgd protection_level=0
check_out "v2c allowed at level 0" 'v1v2c: +yes' sh -c "echo 'Comm-2024-lab' | '$B/devctl' snmp set v1v2c=true community=-"
check_out "the fragment then has a read-only community" '^rocommunity Comm-2024-lab default$' cat "$FRAG"
check_out "back to level 1 is refused while v2c is on (names snmp_v1v2c)" 'EINVAL: settings.snmp_v1v2c' dc config set netcfgd protection_level=1
