#!/bin/bash
# timed without NTP peers: manual time and zone, NTP on/off, argument errors
# named by field, authority, the clock process's own bounds and its caller
# check. Everything with --dry-run: the host clock is never touched.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/timed_lib.sh"
have python3 || { skip "timed manual scenario" "python3 not installed"; exit 0; }
check_out "timed -n accepts etc/devsec/timed.conf" 'configuration OK' "$B/timed" -n -c "$ROOT_DIR/etc/devsec/timed.conf"
check_out "timed-clock -n accepts etc/devsec/timed-clock.conf" 'configuration OK' "$B/timed-clock" -n -c "$ROOT_DIR/etc/devsec/timed-clock.conf"
printf 'poll_min_s = 0;\n' > /tmp/timed-bad.$$.conf
check_out "timed -n names a bad setting with its line" 'timed-bad.*:1: .poll_min_s. must be between 1 and 1024' "$B/timed" -n -c /tmp/timed-bad.$$.conf
rm -f /tmp/timed-bad.$$.conf

# dates within the clock process's max_step_s (366 days) of today
day() { python3 -c "import datetime as d; print((d.datetime.now(d.timezone.utc).replace(hour=0,minute=0,second=0,microsecond=0)+d.timedelta(days=$1)).strftime('%Y-%m-%dT%H:%M:%SZ'))"; }
T1=$(day 30); T2=$(day 20); T3=$(day 40)
timed_stack
timed_conf ntp_enabled=false
SKEW0=$(epoch_skew)
timed_start || nok "stack starts"
check_out "NTP disabled shows as such" 'sync: +disabled' dc time show
check_out "time show names the zone" 'zone: +UTC' dc time show

check_out "manual time with NTP disabled" "new: +${T1%:??Z}" dc time set $T1
check_out "time show follows it" "time: +${T1%:??Z}" dc time show
check_out "time.changed names the reason" '"reason":"manual"' cat "$T_DIR/log/listen.log"
check_out "the step is an audit record naming the operator" "time set manually by 'admin'" cat "$T_DIR/log/timed.log"
check_out "backwards by hand is allowed" "new: +${T2%:??Z}" dc time set $T2
check_out "the backwards step is published too" '"delta":-[0-9]' grep time.changed "$T_DIR/log/listen.log"
if [ "$(grep -c time.changed "$T_DIR/log/listen.log")" = 2 ]; then ok "every step published (2)"; else nok "every step published"; fi
check_out "bad time is EINVAL naming the field" 'EINVAL: time: must be an ISO 8601' dc time set yesterday
check_rc "bad time exits 1" 1 dc time set 2030-13-45T99:00:00Z
check_out "the clock process's ceiling refuses 2150" 'EINVAL: time: the clock process refused: the target is after the clock ceiling' dc time set 2150-01-01T00:00:00Z
check_out "the clock process's floor refuses 2001" 'EINVAL: time: the clock process refused: the target is before the clock floor' dc time set 2001-01-01T00:00:00Z
check_out "refusals are counted by the clock process" 'refused: +2' dc call timed-clock sys.ping

# NTP on: manual time needs force
check_out "NTP can be enabled" 'ntp_enabled: +yes' dc time ntp enable
check_out "manual time refused while NTP runs (EBUSY)" 'EBUSY: NTP is enabled' dc time set 2031-01-01T00:00:00Z
check_out "--force overrides" "new: +${T3%:??Z}" dc time set $T3 --force
check_out "the clock process refuses a step beyond max_step_s" 'EINVAL: time: the clock process refused: the step is larger than max_step_s' dc time set 2099-01-01T00:00:00Z --force
check_out "NTP off again" 'ntp_enabled: +no' dc time ntp disable
check_out "sync needs NTP (EBUSY)" 'EBUSY' dc time sync
check_out "the setting persists" 'ntp_enabled: +no' dc config get timed

# servers
check_out "servers are set" 'servers:' dc time ntp set 127.0.0.1:11160 localhost:11161
check_out "a bad server is named by index" 'EINVAL: servers\[1\]' dc time ntp set 127.0.0.1 'bad host!'
check_out "more than 8 servers refused" 'EINVAL: servers: must have at most 8' dc time ntp set a b c d e f g h i
check_rc "no server is a usage error" 2 dc time ntp set
check_out "servers land in the settings" '127.0.0.1:11160' dc --json config get timed

# zone
check_out "zone set" 'zone: +Europe/Berlin' dc time zone set Europe/Berlin
check "the zone file is installed in the state dir" sh -c "head -c4 '$T_DIR/state/timed/localtime' | grep -q TZif"
check_out "time show names the zone" 'zone: +Europe/Berlin' dc time show
check_out "a symlinked zone (UTC) works" 'zone: +UTC' dc time zone set UTC
check_out "an unknown zone is EINVAL naming the field" 'EINVAL: zone: .Nowhere/City. is not a zone' dc time zone set Nowhere/City
check_out "a path is refused" 'EINVAL: zone: must be a zone name' dc time zone set ../../etc/passwd
check_out "an absolute path is refused" 'EINVAL: zone: must be a zone name' dc time zone set /etc/passwd
check_out "unknown argument refused by name" 'EINVAL: bogus: unknown argument' dc call timed time.zone zone=UTC bogus=1

# authority
check_rc "a viewer may not set the time (exit 3)" 3 env DEVSEC_TOKEN=tok:bob:viewer:monitor "$B/devctl" time set 2030-01-01T00:00:00Z --force
check_rc "a viewer may not read NTP status without system-info (exit 3)" 3 env DEVSEC_TOKEN=tok:bob:viewer:monitor "$B/devctl" time show
check_rc "no session: exit 3" 3 env -u DEVSEC_TOKEN "$B/devctl" time zone set UTC

# the clock process: only timed may call it
check_out "devctl cannot call the clock process (EPERM)" 'EPERM' dc call timed-clock clock.step delta_ns=1
check_out "another daemon is stopped by the ACL" "EPERM: identity .testsvc. may not call timed-clock.clock.adjust" \
        dc --identity testsvc call timed-clock clock.adjust delta_ns=1
check_out "audit lists timed's items" 'timed.minsources' dc call timed audit.report level=2
check_out "audit lists the clock process's items" 'timed-clock.engine' dc call timed-clock audit.report level=1

SKEW1=$(epoch_skew)
if pyt "abs($SKEW1 - $SKEW0) < 0.5e9"; then ok "the host clock never moved (dry run)"; else nok "the host clock moved"; fi
