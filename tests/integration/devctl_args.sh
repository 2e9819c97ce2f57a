#!/bin/bash
# devctl as people type it: global options anywhere before "--", positionals
# also by name (--group operator), clear usage errors.
source "$(dirname "$0")/../lib/tap.sh"
stack_init authd
sed -i 's/^hash_opslimit = .*/hash_opslimit = 1;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 8;/' "$T_DIR/etc/authd.conf"
stack_busd
bg authd "$B/authd"; svc_up authd
PW='Zx9#mQ2$vL'; BOB='Vw7#kP4!nR'
check_rc "init" 0 sh -c "printf '%s\n' '$PW' | '$B/devctl' init --password-stdin"
check_rc "login" 0 sh -c "printf '%s\n' '$PW' | '$B/devctl' login -u admin --password-stdin"

check_out "--json before the command" '^\{"initialised":true' dc --json auth status
check_out "--json after the command" '^\{"initialised":true' dc auth status --json
check_out "--json between the words of a command" '^\{"initialised":true' dc auth --json status
check_out "--timeout after the command" 'initialised: +yes' dc auth status --timeout 3000
check_rc "--timeout without its value is a usage error" 2 dc auth status --timeout
check_out "and says so" '--timeout needs a value' dc auth status --timeout
check_rc "an unknown option before the command is a usage error" 2 dc --colour auth status
check_rc "after a lone -- a word is the command's own" 2 dc auth status -- --json

check_out "user add NAME --group GROUP" 'name: +bob' sh -c "printf '%s\n' '$BOB' | '$B/devctl' user add bob --group operator --password-stdin"
check_out "user add NAME --group=GROUP" 'name: +carl' sh -c "printf '%s\n' '$BOB' | '$B/devctl' user add carl --group=viewer --password-stdin"
check_out "user add --name NAME GROUP" 'name: +dora' sh -c "printf '%s\n' '$BOB' | '$B/devctl' user add --name dora operator --password-stdin"
check_out "user add NAME GROUP still works" 'name: +emil' sh -c "printf '%s\n' '$BOB' | '$B/devctl' user add emil operator --password-stdin"
check_out "the groups are the ones named" 'bob +operator.*carl +viewer.*dora +operator.*emil +operator' sh -c "'$B/devctl' user list | tr '\n' ' '"
check_out "a group given both ways names the field" 'user add: group: given twice' sh -c "printf '%s\n' '$BOB' | '$B/devctl' user add finn operator --group admin --password-stdin"
check_out "and added no one" '^0$' sh -c "'$B/devctl' user list | grep -c finn || true"
check_rc "a missing positional is a usage error" 2 sh -c "printf '%s\n' '$BOB' | '$B/devctl' user add gus --password-stdin"
