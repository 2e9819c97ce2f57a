#!/bin/bash
# sftp-storage's purge drops the items and their files: a purged upload is not
# queued again at the next start (its held file is gone), the others stay.
source "$(dirname "$0")/../lib/tap.sh"
source "$ROOT_DIR/tests/lib/sftp_lib.sh"
trap t_cleanup EXIT
sftp_stack || { nok "stack up"; exit 0; }
sftp_start || { nok "sftp-storage up"; exit 0; }
# a destination nobody answers on: the files wait in the queue
check_rc "a destination with no server behind it" 0 dc storage set url=sftp://127.0.0.1:16799/upload username=u
sftp_drop keep.bin 4; sftp_drop drop.bin 4
check_until "both files are taken into the queue" 10 '^2$' sh -c "'$B/devctl' storage queue | grep -c 'keep.bin\|drop.bin'"
HELD="$T_DIR/state/sftp-storage/held"
check "both are held" sh -c "[ -f '$HELD/keep.bin' ] && [ -f '$HELD/drop.bin' ]"
ID=$(dc storage queue | awk '$2 == "drop.bin" { print $1 }')
check_out "purge of one item reports its file deleted" 'files_deleted: +1' dc storage purge "$ID"
check "its held file is gone" test ! -e "$HELD/drop.bin"
check "the other's stays" test -f "$HELD/keep.bin"
kill "$STORD"; wait "$STORD" 2>/dev/null
sftp_start || nok "sftp-storage up again"
check_until "after a restart the other is queued" 10 'keep\.bin' dc storage queue
check "the purged one did not come back" sh -c "! '$B/devctl' storage queue | grep -q drop.bin"
