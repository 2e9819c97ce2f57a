#!/bin/bash
# config.import prepare refuses what commit would refuse: for each service,
# a setting that only applying used to refuse (a cross-field rule, a URL
# scheme, a wildcard address, a zone the host lacks) is now named in prepare
# (settings.FIELD), nothing is staged and nothing changed; a valid prepare of
# the same service is still taken.
source "$(dirname "$0")/../lib/tap.sh"
SVCS="smtp-notifier sftp-storage webd anr-d upgrade-d logd exposured timed"
stack_init authd netcfgd webd webd-svc $SVCS
sed -i 's/^hash_opslimit = .*/hash_opslimit = 1;/; s/^hash_memlimit_kib = .*/hash_memlimit_kib = 8;/' "$T_DIR/etc/authd.conf"
printf 'listen = [ "127.0.0.1" ];\nhttps_port = %d;\nhttp_port = %d;\n' $((18000 + RANDOM % 1000)) \
        $((19000 + RANDOM % 1000)) >> "$T_DIR/etc/webd.conf"
awk '!seen[$1]++ || $1 ~ /^#/' <(tac "$T_DIR/etc/webd.conf") | tac > "$T_DIR/etc/webd.conf.new"
mv "$T_DIR/etc/webd.conf.new" "$T_DIR/etc/webd.conf"
stack_busd
bg authd "$B/authd"; svc_up authd || { nok "authd starts"; exit 0; }
bg netcfgd "$B/netcfgd" --dry-run; svc_up netcfgd || { nok "netcfgd starts"; exit 0; }
# up NAME: on the bus (a service whose function is off by default shows "disabled")
up() { wait_for 10 sh -c "'$B/devctl' --json status | grep -qE '\"name\":\"$1\",\"state\":\"(running|disabled)\"'"; }
for s in $SVCS; do
        bg "$s" timeout 120 "$B/$s" --dry-run
        up "$s" || { nok "$s starts"; dc --json status | tr "{" "\n" | grep "\"$s\""; sed 's/^/#   /' "$T_DIR/log/$s.log" | tail -5; exit 0; }
done
ADMIN_PW='Zx9#mQ2$vL'
printf '%s\n' "$ADMIN_PW" | dc init --password-stdin >/dev/null 2>&1
printf '%s\n' "$ADMIN_PW" | dc login -u admin --password-stdin >/dev/null
# smtp-notifier and sftp-storage serve only with their function on
for f in smtp ftp; do dc function enable $f >/dev/null; done
wait_for 10 sh -c "! '$B/devctl' --json status | grep -q '\"state\":\"disabled\"'" || nok "smtp and ftp enabled"
imp() { dc call "$1" config.import --args-json "$2"; }
# refused SVC FIELD SETTINGS KEY: prepare names settings.FIELD, KEY keeps its value
refused() {
        local before; before=$(dc config get "$1" | grep "^$4:")
        check_out "$1: prepare names settings.$2" "EINVAL: settings\\.$2: " \
                imp "$1" "{\"phase\":\"prepare\",\"txn\":\"r-$1\",\"settings\":$3}"
        check_out "$1: nothing changed ($4) and nothing is staged" "^${before//[/\\[}\$" \
                sh -c "'$B/devctl' config get '$1' | grep '^$4:'; '$B/devctl' call '$1' config.import \
                --args-json '{\"phase\":\"abort\",\"txn\":\"r-$1\"}' >/dev/null 2>&1 && echo staged"
}
# taken SVC SETTINGS: a valid prepare is staged (then aborted)
taken() {
        check_out "$1: a valid prepare is taken" 'prepared: +yes' \
                imp "$1" "{\"phase\":\"prepare\",\"txn\":\"ok-$1\",\"settings\":$2}"
        imp "$1" "{\"phase\":\"abort\",\"txn\":\"ok-$1\"}" >/dev/null 2>&1
}

refused smtp-notifier from '{"host":"mail.example.com"}' host
taken smtp-notifier '{"host":"mail.example.com","from":"cam@example.com"}'
refused sftp-storage username '{"url":"sftp://store.example.com/cams"}' url
taken sftp-storage '{"url":"sftp://store.example.com/cams","username":"cam"}'
refused webd listen '{"listen":["0.0.0.0"]}' listen
taken webd '{"listen":["127.0.0.1"]}'
refused anr-d camera_id '{"role":"camera"}' role
refused anr-d cameras '{"cameras":[{"id":"cam1","channel":1},{"id":"cam1","channel":2}]}' cameras
taken anr-d '{"pre_record_s":7}'
refused upgrade-d online_url '{"online_url":"http://updates.example.com"}' online_url
taken upgrade-d '{"online_url":"https://updates.example.com"}'
refused logd remote_host '{"remote_enabled":true,"remote_insecure":true}' remote_enabled
refused logd remote_client_key '{"remote_client_cert":"/etc/ssl/cam.pem"}' remote_client_cert
taken logd '{"remote_enabled":true,"remote_insecure":true,"remote_host":"127.0.0.1"}'
refused exposured igd_url '{"igd_url":"https://igd.example.com/desc.xml"}' igd_url
taken exposured '{"igd_url":"http://192.0.2.1:5000/desc.xml"}'
refused timed timezone '{"timezone":"Nowhere/Atlantis"}' timezone
taken timed '{"timezone":"UTC"}'
