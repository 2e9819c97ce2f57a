#!/bin/bash
# netcfgd's ntp function and timed's ntp_enabled are one switch: the function
# off stops the NTP polling only (manual time and the zone keep working, timed
# is never EDISABLED), the setting off switches the function, and at start
# timed takes the function table's state.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/timed_lib.sh"
have python3 || { skip "ntp function and timed" "python3 not installed"; exit 0; }
day() { python3 -c "import datetime as d; print((d.datetime.now(d.timezone.utc).replace(hour=0,minute=0,second=0,microsecond=0)+d.timedelta(days=$1)).strftime('%Y-%m-%dT%H:%M:%SZ'))"; }
timed_stack
"$B/devsec-keygen" --confdir "$T_DIR/etc" netcfgd >/dev/null
timed_conf ntp_enabled=true 'servers=["127.0.0.1:24399"]'
timed_start || nok "stack starts"
bg netcfgd "$B/netcfgd" --dry-run; NPID=$LAST_PID
svc_up netcfgd || { nok "netcfgd up"; exit 0; }
check_out "the ntp function is obeyed by timed's setting" 'ntp +yes +yes +flag +timed: ntp_enabled' dc function list

check_rc "function disable ntp" 0 dc function disable ntp
check_until "timed follows: NTP disabled" 10 'sync: +disabled' dc time show
check_out "timed still answers (not EDISABLED)" 'service: +timed' dc call timed sys.ping
check_out "manual time works with NTP off" "new: +$(day 30 | cut -c1-16)" dc time set "$(day 30)"
check_rc "and the zone" 0 dc time zone set Europe/Paris
check_out "the setting says so" 'ntp_enabled: +no' dc config get timed

check_rc "time ntp enable (the setting)" 0 dc time ntp enable
check_until "switches the function on" 10 'ntp +yes +yes +flag' dc function list
check_rc "config set timed ntp_enabled=false (another path)" 0 dc config set timed ntp_enabled=false
check_until "switches it off too" 10 'ntp +no +yes +flag' dc function list

# timed restarted while the function is off, with its own setting on: the table wins
{ kill "$TIMED_PID"; wait "$TIMED_PID"; } 2>/dev/null
timed_conf ntp_enabled=true 'servers=["127.0.0.1:24399"]'
rm -f "$T_DIR/state/timed/settings.mp"
bg timed "$B/timed" --dry-run; TIMED_PID=$LAST_PID
svc_up timed || nok "timed back"
check_until "at start timed takes the function's state" 10 'sync: +disabled' dc time show
check_out "and the function stayed off" 'ntp +no +yes +flag' dc function list
