#!/bin/bash
# devctl's session token fallback ($TMPDIR/devsec-<uid> when neither
# XDG_RUNTIME_DIR nor HOME is set): a directory that is not the user's own
# 0700 one, or a token file that is a link, is refused, naming the path.
source "$(dirname "$0")/../lib/tap.sh"
stack_init
stack_busd
export TMPDIR="$T_DIR/tmp"; mkdir -p "$TMPDIR"
D="$TMPDIR/devsec-$(id -u)"
# the token's name is per stack: BLAKE2b-64 of the runtime dir
F="$D/token-$(printf '%s' "$DEVSEC_RUNDIR" | b2sum -l 64 | cut -d' ' -f1)"
nosess() { env -u DEVSEC_TOKEN_FILE -u DEVSEC_TOKEN -u XDG_RUNTIME_DIR -u HOME "$B/devctl" "$@"; }
login() { echo 'Zx9#mQ2$vL' | nosess login -u admin --password-stdin; }

mkdir "$D"; chmod 0777 "$D"
check_out "a 0777 token directory is refused, naming it" "directory '$D' must be owned by uid $(id -u) with mode 0700" login
check_rc "and login exits 1" 1 login
if need_root; then
        chmod 0700 "$D"; chown nobody "$D"
        check_out "a token directory owned by another user is refused" \
                "directory '$D' must be owned by uid 0 with mode 0700 \(it is uid $(id -u nobody)" login
else
        skip "a token directory owned by another user is refused" "needs root to chown"
fi
rm -rf "$D"; ln -s "$T_DIR" "$D"
check_out "a token directory that is a symbolic link is refused" "directory '$D': not a directory" login
rm -f "$D"; mkdir -m 0700 "$D"
echo 'tok:mallory:admin:security' > "$T_DIR/elsewhere"; ln -s "$T_DIR/elsewhere" "$F"
check_out "a symlinked token file is refused by login" "token file '$F' is a symbolic link: refused" login
check_out "and never used as a session" "session token not used: token file '$F' is a symbolic link" nosess status
rm -f "$F"; printf 'x' > "$F"; chmod 0644 "$F"
check_out "a token file readable by others is refused" "token file '$F' must be a regular file of uid $(id -u), mode 0600" nosess status
rm -f "$F"
check_out "a private 0700 directory is accepted (login goes on to authd)" 'authd is not running|EUNAVAIL' login
