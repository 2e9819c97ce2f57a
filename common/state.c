/* state.c - crash-safe state files */
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *path_join(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        char *p = malloc(la + lb + 2);

        if (!p)
                return NULL;
        memcpy(p, a, la);
        p[la] = '/';
        memcpy(p + la + 1, b, lb + 1);
        return p;
}

int state_mkdir_p(const char *dir, mode_t mode)
{
        char *p = strdup(dir);
        int r = 0;

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; ; s++) {
                if (*s == '/' || *s == '\0') {
                        char c = *s;
                        *s = '\0';
                        if (mkdir(p, mode) < 0 && errno != EEXIST) {
                                r = -errno;
                                break;
                        }
                        *s = c;
                        if (c == '\0')
                                break;
                }
        }
        free(p);
        return r;
}

int state_write_all(int fd, const void *data, size_t len)
{
        const char *p = data;

        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int state_sync_dir(const char *dir)
{
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0)
                r = -errno;
        close(fd);
        return r;
}

int state_write(const char *dir, const char *name, const void *data, size_t len, mode_t mode)
{
        char tmp[4096], dst[4096];
        int fd = -1, r;

        if (snprintf(dst, sizeof dst, "%s/%s", dir, name) >= (int)sizeof dst ||
            snprintf(tmp, sizeof tmp, "%s/.%s.tmp.%d", dir, name, (int)getpid()) >= (int)sizeof tmp)
                return -ENAMETOOLONG;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        /* the umask must not widen nor narrow what the caller asked for */
        if (fchmod(fd, mode) < 0) {
                r = -errno;
                goto fail;
        }
        r = state_write_all(fd, data, len);
        if (r < 0)
                goto fail;
        if (fsync(fd) < 0) {
                r = -errno;
                goto fail;
        }
        if (close(fd) < 0) {
                fd = -1;
                r = -errno;
                goto fail;
        }
        fd = -1;
        if (rename(tmp, dst) < 0) {
                r = -errno;
                goto fail;
        }
        state_sync_dir(dir);
        return 0;
fail:
        if (fd >= 0)
                close(fd);
        unlink(tmp);
        return r;
}

int state_read(const char *dir, const char *name, size_t max, char **ret, size_t *ret_len)
{
        char path[4096];
        struct stat st;
        char *buf = NULL;
        size_t got = 0;
        int fd, r = 0;

        if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
                return -ENAMETOOLONG;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto out;
        }
        if ((size_t)st.st_size > max) {
                r = -EFBIG;
                goto out;
        }
        buf = malloc((size_t)st.st_size + 1);
        if (!buf) {
                r = -ENOMEM;
                goto out;
        }
        while (got < (size_t)st.st_size) {
                ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        goto out;
                }
                if (n == 0)
                        break;
                got += (size_t)n;
        }
        buf[got] = '\0';
        *ret = buf;
        *ret_len = got;
        buf = NULL;
out:
        free(buf);
        close(fd);
        return r;
}

int state_read_mp(const char *dir, const char *name, size_t max, const struct mp_limits *lim, struct state_mp *m)
{
        int r;

        memset(m, 0, sizeof *m);
        if ((r = state_read(dir, name, max, &m->buf, &m->len)) < 0)
                return r;
        if ((r = mp_decode(m->buf, m->len, lim, &m->u, &m->why)) < 0)
                return r;
        m->decoded = true;
        return 0;
}

void state_mp_free(struct state_mp *m)
{
        if (m->decoded)
                msgpack_unpacked_destroy(&m->u);
        if (m->buf) {
                explicit_bzero(m->buf, m->len);
                free(m->buf);
        }
        memset(m, 0, sizeof *m);
}

int state_remove(const char *dir, const char *name)
{
        char path[4096];

        if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
                return -ENAMETOOLONG;
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int state_remove_tree(int dfd, const char *name)
{
        struct stat st;
        DIR *dh;
        struct dirent *de;
        int fd, r = 0;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (!(dh = fdopendir(fd))) {
                close(fd);
                return -errno;
        }
        while ((de = readdir(dh))) {
                int q;
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                if ((q = state_remove_tree(dirfd(dh), de->d_name)) < 0 && r == 0)
                        r = q;
        }
        closedir(dh);
        if (r == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                r = -errno;
        return r;
}
