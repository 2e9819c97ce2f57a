/* token.c - the operator's session token: its file (0600, in a 0700 directory
 * of the user's, opened without following links), loaded at start, saved at
 * login, cleared at logout */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devctl.h"
#include "log.h"
#include "state.h"
#include "util.h"

static void token_path(struct devctl *dc)
{
        const char *e = getenv("DEVSEC_TOKEN_FILE"), *base;
        char dir[3072];
        uint8_t h[8];
        char hx[17];

        if (e && *e) {
                snprintf(dc->token_path, sizeof dc->token_path, "%s", e);
                return;
        }
        /* one token per stack: the build-tree stack and the device's never mix */
        crypto_generichash(h, sizeof h, (const uint8_t *)dc->paths.rundir, strlen(dc->paths.rundir), NULL, 0);
        ds_hex(h, sizeof h, hx);
        base = getenv("XDG_RUNTIME_DIR");
        if (base && *base)
                snprintf(dir, sizeof dir, "%s/devsec", base);
        else if ((base = getenv("HOME")) && *base)
                snprintf(dir, sizeof dir, "%s/.cache/devsec", base);
        else
                snprintf(dir, sizeof dir, "%s/devsec-%d", (base = getenv("TMPDIR")) && *base ? base : "/tmp",
                         (int)getuid());
        snprintf(dc->token_path, sizeof dc->token_path, "%s/token-%s", dir, hx);
        dc->token_dir_private = true;
}

/* Opens the token's directory (creating the default one when asked) and
 * checks it; returns a descriptor or -errno with why[] set. */
static int token_dir_open(struct devctl *dc, bool create, char *why, size_t n)
{
        char *slash = strrchr(dc->token_path, '/');
        struct stat st;
        int fd;

        if (!slash)
                return snprintf(why, n, "'%s' is not a path", dc->token_path), -EINVAL;
        *slash = '\0';
        if (create && dc->token_dir_private) {
                char *up = strrchr(dc->token_path, '/');
                if (up && up != dc->token_path) {
                        *up = '\0';
                        state_mkdir_p(dc->token_path, 0700);
                        *up = '/';
                }
                if (mkdir(dc->token_path, 0700) < 0 && errno != EEXIST)
                        fprintf(stderr, "devctl: cannot create '%s': %s\n", dc->token_path, strerror(errno));
        }
        fd = open(dc->token_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                int r = -errno;
                snprintf(why, n, "directory '%s': %s", dc->token_path,
                         r == -ELOOP || r == -ENOTDIR ? "not a directory (a symbolic link?)" : strerror(-r));
                *slash = '/';
                return r;
        }
        if (fstat(fd, &st) < 0 ||
            (dc->token_dir_private && (st.st_uid != getuid() || (st.st_mode & 07777) != 0700))) {
                snprintf(why, n, "directory '%s' must be owned by uid %d with mode 0700 (it is uid %d, mode %04o): "
                                 "refusing to keep a session token there", dc->token_path, (int)getuid(),
                         (int)st.st_uid, (unsigned)(st.st_mode & 07777));
                close(fd);
                *slash = '/';
                return -EPERM;
        }
        *slash = '/';
        return fd;
}

/* Opens the token file itself: never through a link, ours, private. */
static int token_file_open(struct devctl *dc, int dfd, char *why, size_t n)
{
        const char *name = strrchr(dc->token_path, '/') + 1;
        struct stat st;
        int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

        if (fd < 0) {
                int r = -errno;
                if (r == -ELOOP)
                        snprintf(why, n, "token file '%s' is a symbolic link: refused", dc->token_path);
                else
                        snprintf(why, n, "token file '%s': %s", dc->token_path, strerror(-r));
                return r;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077)) {
                snprintf(why, n, "token file '%s' must be a regular file of uid %d, mode 0600: refused",
                         dc->token_path, (int)getuid());
                close(fd);
                return -EPERM;
        }
        return fd;
}

int devctl_token_check(struct devctl *dc)
{
        char why[4400];
        int dfd, fd;

        dfd = token_dir_open(dc, true, why, sizeof why);
        if (dfd < 0) {
                fprintf(stderr, "devctl: %s\n", why);
                return dfd;
        }
        fd = token_file_open(dc, dfd, why, sizeof why);
        close(dfd);
        if (fd >= 0)
                close(fd);
        else if (fd != -ENOENT) {
                fprintf(stderr, "devctl: %s\n", why);
                return fd;
        }
        return 0;
}

void devctl_token_load(struct devctl *dc)
{
        const char *e = getenv("DEVSEC_TOKEN");
        char why[4400], buf[1025];
        ssize_t len;
        int dfd, fd;

        token_path(dc);

        if (e && *e) {
                dc->token = strdup(e);
                return;
        }
        dfd = token_dir_open(dc, false, why, sizeof why);
        if (dfd < 0) {
                if (dfd != -ENOENT)
                        fprintf(stderr, "devctl: warning: session token not used: %s\n", why);
                return;
        }
        fd = token_file_open(dc, dfd, why, sizeof why);
        close(dfd);
        if (fd < 0) {
                if (fd != -ENOENT)
                        fprintf(stderr, "devctl: warning: session token not used: %s\n", why);
                return;
        }
        len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0)
                return;
        buf[len] = '\0';
        while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
                buf[--len] = '\0';
        dc->token = strdup(buf);
        sodium_memzero(buf, sizeof buf);
}

int devctl_token_save(struct devctl *dc, const char *tok)
{
        const char *name = strrchr(dc->token_path, '/');
        char why[4400], tmp[300];
        size_t len = strlen(tok);
        int dfd, fd, r = 0;

        if (!name)
                return -EINVAL;
        name++;
        dfd = token_dir_open(dc, true, why, sizeof why);
        if (dfd < 0) {
                fprintf(stderr, "devctl: %s\n", why);
                return dfd;
        }
        snprintf(tmp, sizeof tmp, ".%s.%d", name, (int)getpid());
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
                r = -errno;
        } else {
                if (write(fd, tok, len) != (ssize_t)len || fsync(fd) < 0)
                        r = -EIO;
                close(fd);
                /* rename replaces a link at the name, it never follows it */
                if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
                        r = -errno;
                if (r < 0)
                        unlinkat(dfd, tmp, 0);
        }
        close(dfd);
        return r;
}
int devctl_token_clear(struct devctl *dc)
{
        char why[4400];
        int dfd = token_dir_open(dc, false, why, sizeof why), r = 0;

        if (dfd < 0)
                return dfd;
        if (unlinkat(dfd, strrchr(dc->token_path, '/') + 1, 0) < 0 && errno != ENOENT)
                r = -errno;
        close(dfd);
        return r;
}

