#!/bin/bash
# The web console in a real browser: Debian's chromium driven headless by
# playwright-core (pinned in tests/browser/package-lock.json) against webd,
# authd, netcfgd, filterd and logd on loopback. tests/browser/console.js does
# what an operator does (first boot, login, a user, a function, the filter with
# commit-confirm, the live log, logout, the lockout); this script then checks
# on the device, with devctl, that each of those really changed, and keeps a
# screenshot of every page in $BUILD/test-logs/browser/.
source "$(dirname "$0")/../lib/tap.sh"
source "$ROOT_DIR/tests/lib/webd_lib.sh"
BR="$ROOT_DIR/tests/browser"
[ -x /usr/bin/chromium ] || { skip "the console in a browser" "chromium not installed (tests/deps/webd.txt)"; exit 0; }
have node && [ "$(node -e 'console.log(process.versions.node.split(".")[0])')" -ge 20 ] ||
        { skip "the console in a browser" "Node.js 20 or later needed by playwright-core"; exit 0; }
if [ ! -d "$BR/node_modules/playwright-core" ]; then
        (cd "$BR" && timeout 180 npm ci --no-audit --no-fund --loglevel=error) ||
                { nok "npm ci of tests/browser (playwright-core from the lock file)"; exit 0; }
fi
WEBD_MORE_IDS="filterd logd"
webd_stack || exit 0
bg filterd "$B/filterd" --dry-run; svc_up filterd || nok "filterd starts"
bg logd "$B/logd"; svc_up logd || nok "logd starts"
wait_for 5 test -s "$T_DIR/state/authd/setup-code"
SHOTS="$ROOT_DIR/$BUILD/test-logs/browser"; rm -rf "$SHOTS"; mkdir -p "$SHOTS"
USER_PW='Qw7#rT5$yUo'
URL="$URL" SETUP_CODE_FILE="$T_DIR/state/authd/setup-code" ADMIN_PW="$ADMIN_PW" USER_PW="$USER_PW" SHOTS="$SHOTS" \
        timeout 240 node "$BR/console.js" 2>"$T_DIR/log/browser.err"
rc=$?
[ $rc = 124 ] && nok "the browser run ended within 240 s"
[ -s "$T_DIR/log/browser.err" ] && sed 's/^/#   /' "$T_DIR/log/browser.err" | head -20

# ---- on the device: what the console did is what the services hold
printf '%s\n' "$ADMIN_PW" | dc login -u admin --password-stdin >/dev/null 2>&1
check_out "devctl: alice exists in group operator" '^alice +operator' dc user list
check_out "devctl: alice is locked after the five failures" '^alice .*(yes|until)' dc user list
check_out "devctl: bonjour is on again (off, then on from the second tab)" '^bonjour +(true|yes)' dc function list
check_out "devctl: the filter runs in allow mode with both entries, nothing waiting for confirmation" \
        '"mode":"allow".*"192.0.2.0/24".*"confirm_pending":false' dc --json filter show
check_out "devctl: the log has the confirmation" 'confirm' dc log query --category security --text confirm
check_out "devctl: the http port kept its value (the refused one changed nothing)" '^http +tcp +80 ' dc port show
N=$(ls "$SHOTS"/*.png 2>/dev/null | wc -l)
if [ "$N" -ge 12 ]; then ok "a screenshot of every page ($N in $BUILD/test-logs/browser/)"; else nok "screenshots: $N"; fi
