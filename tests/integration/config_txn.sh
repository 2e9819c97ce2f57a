#!/bin/bash
# config.import in two phases: prepare validates and stages (nothing changes),
# commit puts it in force, abort drops it; one staged import per service
# (EBUSY), continued only by the caller who prepared it (EPERM), dropped when
# it expires (ENOENT after); what a restore does not name goes back to its
# default, a setting this version does not know is ignored and named. The
# one-shot import keeps working.
source "$(dirname "$0")/../lib/tap.sh"
stack_init authd netcfgd
sed -i 's/^hash_opslimit = .*/hash_opslimit = 1;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 8;/' "$T_DIR/etc/authd.conf"
stack_busd
bg authd "$B/authd"; svc_up authd || { nok "authd starts"; exit 0; }
bg netcfgd "$B/netcfgd" --dry-run; svc_up netcfgd || { nok "netcfgd starts"; exit 0; }
as() { local u=$1; shift; DEVSEC_TOKEN_FILE="$T_DIR/tok.$u" "$B/devctl" "$@"; }
login() { printf '%s\n' "$2" | as "$1" login -u "$1" --password-stdin >/dev/null; }
ADMIN_PW='Zx9#mQ2$vL'; OPS_PW='Hq5%tN8=wY'
printf '%s\n' "$ADMIN_PW" | dc init --password-stdin >/dev/null 2>&1
login admin "$ADMIN_PW"
printf '%s\n' "$OPS_PW" | as admin user add ops admin --password-stdin >/dev/null
login ops "$OPS_PW"
imp() { local u=$1; shift; as "$u" call netcfgd config.import --args-json "$1"; }
http() { as admin config get netcfgd | awk '$1 == "http_port:" { print $2 }'; }

check_rc "ssh_port=2222 set the usual way" 0 as admin port set ssh=2222
check_out "prepare stages an import" 'prepared: +yes' imp admin '{"phase":"prepare","txn":"t1","settings":{"http_port":8081}}'
check_out "and changes nothing yet" '^80$' http
check_out "a second prepare while one is staged: EBUSY" "EBUSY: another import \(txn 't1'\) is staged" \
        imp admin '{"phase":"prepare","txn":"t2","settings":{"http_port":8082}}'
check_out "a one-shot import while one is staged: EBUSY" 'EBUSY' imp admin '{"settings":{"http_port":8082}}'
check_out "another caller (an admin too) may not commit it: EPERM" "EPERM: txn: txn 't1' was prepared by another caller" \
        imp ops '{"phase":"commit","txn":"t1"}'
check_out "nor abort it" 'EPERM' imp ops '{"phase":"abort","txn":"t1"}'
check_out "commit of a txn not staged: ENOENT" 'ENOENT: txn: ' imp admin '{"phase":"commit","txn":"t9"}'
check_out "the caller who prepared it commits" 'imported: +yes' imp admin '{"phase":"commit","txn":"t1"}'
check_out "now it is in force" '^8081$' http
check_out "what the import did not name went back to its default (ssh 22)" 'ssh_port: +22$' as admin config get netcfgd
check_out "a committed txn is gone: ENOENT" 'ENOENT' imp admin '{"phase":"commit","txn":"t1"}'

check_out "prepare checks settings as config.set does, naming the field" 'EINVAL: settings\.http_port' \
        imp admin '{"phase":"prepare","txn":"t3","settings":{"http_port":0}}'
check_out "prepare runs what applying would refuse too (two services on one port)" \
        'EINVAL: settings\.[a-z]+_port: tcp port 443 is already used by' \
        imp admin '{"phase":"prepare","txn":"t3","settings":{"http_port":443,"https_port":443}}'
check_out "prepare checks the state through the service (unknown function)" 'EINVAL: .*nosuchfn' \
        imp admin '{"phase":"prepare","txn":"t4","settings":{},"state":{"functions":{"nosuchfn":true}}}'
check_out "a refused prepare stages nothing: the next prepare is taken" 'prepared: +yes' \
        imp admin '{"phase":"prepare","txn":"t5","settings":{"http_port":8085,"retired_setting":1}}'
check_out "abort drops it" 'aborted: +yes' imp admin '{"phase":"abort","txn":"t5"}'
check_out "and nothing changed" '^8081$' http

check_out "a setting this version does not know is ignored and named" 'ignored:.*retired_setting' \
        imp admin '{"phase":"prepare","txn":"t6","settings":{"http_port":8086,"retired_setting":1}}'
check_out "its commit takes the rest" 'imported: +yes' imp admin '{"phase":"commit","txn":"t6"}'
check_out "http 8086" '^8086$' http

check_out "a prepare that expires in 1 s" 'expires_s: +1' \
        imp admin '{"phase":"prepare","txn":"t7","expires_s":1,"settings":{"http_port":8087}}'
check_until "once expired it is dropped: a new prepare is taken" 10 'prepared: +yes' \
        imp ops '{"phase":"prepare","txn":"t8","settings":{"http_port":8088}}'
check_out "the expired one cannot be committed: ENOENT" 'ENOENT' imp admin '{"phase":"commit","txn":"t7"}'
imp ops '{"phase":"abort","txn":"t8"}' >/dev/null 2>&1
check_out "nothing of either changed" '^8086$' http
check_out "the expiry is on record" 'staged import .t7. of .admin. expired uncommitted' cat "$T_DIR/log/netcfgd.log"

check_out "the one-shot import still works" 'imported: +yes' imp admin '{"settings":{"http_port":8089}}'
check_out "http 8089" '^8089$' http
check_out "a phase needs a txn" 'EINVAL: txn: required with phase' imp admin '{"phase":"commit"}'
