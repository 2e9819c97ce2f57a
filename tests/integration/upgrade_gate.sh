#!/bin/bash
# The health gate's audit comparison: a version of a service that comes up,
# says hello with its new version and answers sys.ping, but fails an audit
# item that passed before the install, is rolled back with that item named;
# the same service whose items all still pass is committed. The service is
# the test service (its item test.strict follows its setting strict); its
# "builds" are wrappers that start it with a version and a configuration.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/upgrade_lib.sh"
have openssl || { skip "upgrade gate scenario" "openssl missing"; exit 0; }
[ -x "$B/authd" ] && [ -x "$B/upgrade-d" ] && [ -x "$B/tests/testsvc" ] || { skip "upgrade gate scenario" "daemons or test helpers not built"; exit 0; }

stack_init authd upgrade-d testsvc
stack_acl testsvc 'testsvc = { serve = ["testsvc"]; call = [ ]; publish = ["log.*"]; subscribe = [ ]; };'
PKI="$T_DIR/pki"; export PKI
upg_pki "$PKI" || { nok "test PKI"; exit 0; }
mkdir -p "$T_DIR/etc/upgrade/trust" && cp "$PKI/ca.pem" "$T_DIR/etc/upgrade/trust/"
sed -i 's/^hash_opslimit = .*/hash_opslimit = 1;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 8;/' "$T_DIR/etc/authd.conf"
sed -i 's/^health_timeout_s = .*/health_timeout_s = 6;/' "$T_DIR/etc/upgrade-d.conf"
printf 'strict = true;\n' > "$T_DIR/strict.conf"
printf 'strict = false;\n' > "$T_DIR/lax.conf"
# wrapper VERSION CONF DIR: a "build" of testsvc reporting VERSION with CONF
wrapper() {
        mkdir -p "$3"
        printf '#!/bin/sh\nexec env TESTSVC_VERSION=%s "%s" -c "%s" "$@"\n' "$1" "$B/tests/testsvc" "$2" > "$3/testsvc"
        chmod 755 "$3/testsvc"
}
wrapper 1.0.0 "$T_DIR/strict.conf" "$T_DIR/base"; export UPG_BASE="$T_DIR/base/testsvc"
wrapper 1.1.0 "$T_DIR/lax.conf" "$T_DIR/lax"
wrapper 1.2.0 "$T_DIR/strict.conf" "$T_DIR/good"
upg_bundle "$T_DIR/lax.bundle" testsvc 1.1.0 1 "$T_DIR/lax" >/dev/null
upg_bundle "$T_DIR/good.bundle" testsvc 1.2.0 1 "$T_DIR/good" >/dev/null

stack_busd
bg authd "$B/authd"
upg_supervise testsvc
bg upgrade-d "$B/upgrade-d" --dry-run
for s in authd testsvc upgrade-d; do svc_up $s || { nok "$s up"; exit 0; }; done
PW='Zx9#mQ2$vL'
printf '%s\n' "$PW" | dc init --password-stdin >/dev/null
printf '%s\n' "$PW" | dc login -u admin --password-stdin >/dev/null
check_out "test.strict passes on 1.0.0" 'test.strict .*pass' dc call testsvc audit.report level=1

dc upgrade install "$T_DIR/lax.bundle" > "$T_DIR/lax.out" 2>&1
check_out "a version that fails an item which passed before is rolled back" 'result: +rolled_back' cat "$T_DIR/lax.out"
check_out "the reason names the item" "reason: +audit item 'test.strict' passed before and fails now" cat "$T_DIR/lax.out"
check_out "1.0.0 is back" '^1\.0\.0$' ver_of testsvc
check_out "test.strict passes again" 'test.strict .*pass' dc call testsvc audit.report level=1
check_out "the same items passing: committed" 'result: +done' dc upgrade install "$T_DIR/good.bundle"
check_out "testsvc reports 1.2.0" '^1\.2\.0$' ver_of testsvc
