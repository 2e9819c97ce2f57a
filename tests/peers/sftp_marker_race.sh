#!/bin/bash
# sftp-storage's marker against another device's appearing between the
# listing and the write: a real OpenSSH sshd whose SFTP server (a preloaded
# closedir) writes another device's marker into a directory of the user's
# just as a listing ends. The device writes its marker only where none is:
# the other device's marker stays, the directory is refused, nothing uploaded.
source "$(dirname "$0")/../lib/tap.sh"
source "$ROOT_DIR/tests/lib/sftp_lib.sh"
need_root || { skip "sftp-storage marker race" "needs root (chroot, a system user)"; exit 0; }
sftp_have_peer || { skip "sftp-storage marker race" "openssh-server not installed (tests/deps/sftp.txt)"; exit 0; }
have "${CC:-cc}" || { skip "sftp-storage marker race" "no C compiler for the server's preload"; exit 0; }
trap sftp_cleanup EXIT
sftp_stack || { nok "stack up"; exit 0; }
sftp_peer_setup 16736 || { nok "sshd config"; exit 0; }
cat > "$SW/race.c" <<'C'
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
/* in the user's session (not root): a directory of the user's gets another
 * device's marker as its listing is closed, before the client's next request */
int closedir(DIR *d)
{
        static int (*real)(DIR *);
        struct stat st;
        int fd = dirfd(d);
        if (!real)
                real = (int (*)(DIR *))dlsym(RTLD_NEXT, "closedir");
        if (geteuid() != 0 && fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid()) {
                int m = openat(fd, ".devsec-storage", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                if (m >= 0) {
                        static const char t[] = "devsec-storage exclusive directory\ndevice=cam-other-9\n";
                        if (write(m, t, sizeof t - 1) < 0) {
                        }
                        close(m);
                }
        }
        return real(d);
}
C
"${CC:-cc}" -shared -fPIC -O2 -o "$SW/race.so" "$SW/race.c" -ldl || { nok "the preload builds"; exit 0; }
chmod 755 "$SW/race.so"
bg "sshd" env LD_PRELOAD="$SW/race.so" "$SSHD" -D -e -f "$SW/sshd_config"; SSHD_PID=$LAST_PID
sftp_waitport "$SFTP_PORT" || { nok "sshd up"; exit 0; }
sftp_start || { nok "sftp-storage up"; exit 0; }
PUB=$(stor_field "['public_key']"); printf '%s\n' "$PUB" > "$SW/keys/$SFTP_USER"; chmod 644 "$SW/keys/$SFTP_USER"
check_rc "an SFTP destination, an empty directory" 0 dc storage set url="sftp://127.0.0.1:$SFTP_PORT/upload" username=$SFTP_USER
check_out "pinned" 'pinned: +yes' dc storage trust "$(sftp_hostsha)"
dc storage test > "$T_DIR/test.out" 2>&1
check "the directory test does not take the directory" sh -c "! grep -q 'exclusive:' '$T_DIR/test.out'"
check_out "the other device's marker is left as it was" '^device=cam-other-9$' cat "$SFTP_CH/upload/.devsec-storage"
check_until "the next check names the other device" 20 'directory_error: +.*cam-other-9' dc storage show
check_out "audit: storage.exclusive fails" 'storage.exclusive.*fail' dc audit --level 2
sftp_drop a.bin 4
check_until "a.bin waits in the queue" 10 'a\.bin +queued' dc storage queue
check "nothing uploaded into the other device's directory" sh -c "! ls -A '$SFTP_CH/upload' | grep -q -- '-a.bin'"
