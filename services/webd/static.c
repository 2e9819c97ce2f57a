/* static.c - the console's files, only from the console directory: each path
 * component is opened below the last one without following a link, and
 * "..", ".", empty components, dot files, control bytes and directories are
 * not found. No listing. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "webd.h"

static const struct {
        const char *ext, *type;
} types[] = {
        { ".html", "text/html; charset=utf-8" }, { ".css", "text/css; charset=utf-8" },
        { ".js", "text/javascript; charset=utf-8" }, { ".svg", "image/svg+xml" },
        { ".png", "image/png" }, { ".ico", "image/x-icon" }, { ".json", "application/json" },
        { ".txt", "text/plain; charset=utf-8" }, { ".woff2", "font/woff2" },
};

int webd_static_open(int dirfd, const char *url, const char **ret_type)
{
        char path[1024], *comp, *save = NULL;
        const char *type = "application/octet-stream";
        size_t n = strlen(url);
        int fd, next;
        struct stat st;

        if (dirfd < 0 || url[0] != '/' || n >= sizeof path - 16)
                return -ENOENT;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)url[i] < 0x20 || url[i] == 0x7f || url[i] == '\\')
                        return -ENOENT;
        if (!strcmp(url, "/"))
                snprintf(path, sizeof path, "index.html");
        else
                snprintf(path, sizeof path, "%s", url + 1);
        if (path[0] == 0 || path[strlen(path) - 1] == '/' || strstr(path, "//"))
                return -ENOENT;
        fd = dup(dirfd);
        if (fd < 0)
                return -errno;
        for (comp = strtok_r(path, "/", &save); comp; comp = next < 0 ? NULL : strtok_r(NULL, "/", &save)) {
                bool last = save == NULL || *save == 0;

                next = 0;
                if (comp[0] == '.' || strlen(comp) > 255) { /* ".", "..", dot files */
                        close(fd);
                        return -ENOENT;
                }
                next = openat(fd, comp, (last ? O_RDONLY : O_PATH | O_DIRECTORY) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
                close(fd);
                if (next < 0)
                        return -ENOENT;
                fd = next;
                if (last)
                        break;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return -ENOENT;
        }
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
                size_t el = strlen(types[i].ext), pl = strlen(url);
                if (pl > el && !strcmp(url + pl - el, types[i].ext))
                        type = types[i].type;
        }
        if (!strcmp(url, "/"))
                type = types[0].type;
        *ret_type = type;
        return fd;
}

/* Console files up to CACHE_FILE_MAX are kept as ready responses (MHD queues
 * one response on many connections): a URL that resolved under the rules
 * above is served from memory and resolved again, by the same rules, once it
 * was last checked more than a second ago — then a changed file (inode, size,
 * mtime) is read again and a removed one is not found. */
#define CACHE_N 32
#define CACHE_FILE_MAX (256u << 10)
static struct cached {
        char url[256];
        struct MHD_Response *r;
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime;
        int64_t checked_ms;
} cache[CACHE_N];

void webd_static_flush(void)
{
        for (size_t i = 0; i < CACHE_N; i++)
                if (cache[i].r) {
                        MHD_destroy_response(cache[i].r);
                        memset(&cache[i], 0, sizeof cache[i]);
                }
}

static struct cached *cache_find(const char *url)
{
        for (size_t i = 0; i < CACHE_N; i++)
                if (cache[i].r && !strcmp(cache[i].url, url))
                        return &cache[i];
        return NULL;
}

static void cache_drop(struct cached *e)
{
        MHD_destroy_response(e->r);
        memset(e, 0, sizeof *e);
}

static struct MHD_Response *make_response(int fd, const struct stat *st, const char *type, bool *in_memory)
{
        struct MHD_Response *r = NULL;

        *in_memory = false;
        if (st->st_size <= (off_t)CACHE_FILE_MAX) {
                char *buf = malloc(st->st_size ? (size_t)st->st_size : 1);
                ssize_t n = buf ? pread(fd, buf, (size_t)st->st_size, 0) : -1;
                if (n == st->st_size && (r = MHD_create_response_from_buffer((size_t)n, buf, MHD_RESPMEM_MUST_FREE)))
                        *in_memory = true;
                else
                        free(buf);
        }
        if (!r) {
                int dfd = dup(fd);
                if (dfd < 0 || !(r = MHD_create_response_from_fd((uint64_t)st->st_size, dfd))) {
                        if (dfd >= 0)
                                close(dfd);
                        return NULL;
                }
        }
        webd_add_headers(r, false);
        MHD_add_response_header(r, "Content-Type", type);
        MHD_add_response_header(r, "Cache-Control", "no-cache");
        return r;
}

enum MHD_Result webd_static(struct webd_ctx *x, struct MHD_Connection *c, const char *url)
{
        const char *type = NULL;
        struct MHD_Response *r;
        struct cached *e = cache_find(url);
        enum MHD_Result ret;
        struct stat st;
        bool in_memory;
        int64_t now = ds_now_mono_ms();
        int fd;

        if (!strncmp(url, "/cgi-bin/", 9))
                return webd_reply_error(c, MHD_HTTP_NOT_FOUND, "ENOENT", "url", "not found");
        if (e && now - e->checked_ms < 1000)
                return MHD_queue_response(c, MHD_HTTP_OK, e->r);
        fd = webd_static_open(x->dirfd, url, &type);
        if (fd < 0 || fstat(fd, &st) < 0) {
                if (e)
                        cache_drop(e);
                if (fd >= 0)
                        close(fd);
                return webd_reply_error(c, MHD_HTTP_NOT_FOUND, "ENOENT", "url", "not found");
        }
        if (e && e->dev == st.st_dev && e->ino == st.st_ino && e->size == st.st_size &&
            e->mtime.tv_sec == st.st_mtim.tv_sec && e->mtime.tv_nsec == st.st_mtim.tv_nsec) {
                close(fd);
                e->checked_ms = now;
                return MHD_queue_response(c, MHD_HTTP_OK, e->r);
        }
        if (e)
                cache_drop(e);
        r = make_response(fd, &st, type, &in_memory);
        close(fd);
        if (!r)
                return MHD_NO;
        ret = MHD_queue_response(c, MHD_HTTP_OK, r);
        if (in_memory && strlen(url) < sizeof cache[0].url && !(e = cache_find(""))) {
                for (size_t i = 0; i < CACHE_N && !e; i++)
                        if (!cache[i].r)
                                e = &cache[i];
        }
        if (in_memory && e && !e->r && strlen(url) < sizeof e->url) {
                snprintf(e->url, sizeof e->url, "%s", url);
                e->r = r; /* the cache keeps the reference */
                e->dev = st.st_dev;
                e->ino = st.st_ino;
                e->size = st.st_size;
                e->mtime = st.st_mtim;
                e->checked_ms = now;
        } else {
                MHD_destroy_response(r);
        }
        return ret;
}
