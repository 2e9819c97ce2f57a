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

enum MHD_Result webd_static(struct webd_ctx *x, struct MHD_Connection *c, const char *url)
{
        const char *type = NULL;
        struct MHD_Response *r;
        enum MHD_Result ret;
        struct stat st;
        int fd = webd_static_open(x->dirfd, url, &type);

        if (!strncmp(url, "/cgi-bin/", 9) || fd < 0) {
                if (fd >= 0)
                        close(fd);
                return webd_reply_error(c, MHD_HTTP_NOT_FOUND, "ENOENT", "url", "not found");
        }
        if (fstat(fd, &st) < 0) {
                close(fd);
                return MHD_NO;
        }
        r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
        if (!r) {
                close(fd);
                return MHD_NO;
        }
        webd_add_headers(r, false);
        MHD_add_response_header(r, "Content-Type", type);
        MHD_add_response_header(r, "Cache-Control", "no-cache");
        ret = MHD_queue_response(c, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ret;
}
