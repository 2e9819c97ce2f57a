/* spool.c - files the media stack drops into the spool directory become
 * queue items. The media stack writes under a dot name and renames it into
 * place (a name starting with '.' is never taken). A taken file is moved to
 * held/ (same file system: one rename) before its item is pushed; a held file
 * without an item (a crash in between) is queued again at start. After its
 * upload it is deleted or moved to kept/ (retention). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "sftp.h"
#include "state.h"
#include "util.h"

char *stor_held_path(struct stor_ctx *x, const char *name)
{
        char *p = NULL;

        if (asprintf(&p, "%s/held/%s", x->d->statedir, name) < 0)
                return NULL;
        return p;
}

static int push(struct stor_ctx *x, const char *name)
{
        char dest[DSQ_DEST_MAX + 1], id[DSQ_ID_LEN + 1];
        int r;

        snprintf(dest, sizeof dest, "%.100s:%.150s", x->conf.url.host[0] ? x->conf.url.host : "-", x->conf.url.dir);
        r = dsq_push(x->q, dest, name, strlen(name), ds_now_real_ms(), id);
        if (r == -EBUSY) {
                x->refused_full++;
                log_warn("queue full: '%s' stays in the spool", name);
        } else if (r == 0) {
                log_info("'%s' queued for upload (%s)", name, id);
        }
        return r;
}

int stor_spool_scan(struct stor_ctx *x)
{
        DIR *d = opendir(x->conf.spool_dir);
        struct dirent *de;
        char held[4096];
        int n = 0;

        if (!d)
                return -errno;
        snprintf(held, sizeof held, "%s/held", x->d->statedir);
        while ((de = readdir(d))) {
                char *src = NULL, *dst = NULL;
                struct stat st;
                if (!stor_name_ok(de->d_name))
                        continue;
                if (asprintf(&src, "%s/%s", x->conf.spool_dir, de->d_name) < 0)
                        break;
                dst = stor_held_path(x, de->d_name);
                if (!dst || lstat(src, &st) < 0 || !S_ISREG(st.st_mode) || access(dst, F_OK) == 0) {
                        free(src);
                        free(dst);
                        continue; /* the same name still waiting: taken after its upload */
                }
                if (rename(src, dst) < 0) {
                        log_warn("spool: '%s' not taken: %m", src);
                } else if (push(x, de->d_name) < 0) {
                        if (rename(dst, src) < 0)
                                log_warn("spool: '%s' could not be put back: %m", dst);
                } else {
                        n++;
                }
                free(src);
                free(dst);
        }
        closedir(d);
        return n;
}

struct names {
        struct stor_ctx *x;
        char **v;
        size_t n;
};

static void collect(void *ud, const struct dsq_item *it)
{
        struct names *s = ud;
        char *blob = NULL, **nv;
        size_t len;

        if (dsq_read(s->x->q, it->id, &blob, &len) < 0)
                return;
        if (!(nv = realloc(s->v, (s->n + 1) * sizeof *nv))) {
                free(blob);
                return;
        }
        s->v = nv;
        s->v[s->n++] = blob;
}

/* Calls fn for each held file that no queue item (pending or failed) names. */
static int held_orphans(struct stor_ctx *x, int (*fn)(struct stor_ctx *x, const char *name))
{
        struct names s = { .x = x };
        char held[4096];
        DIR *d;
        struct dirent *de;
        int n = 0;

        snprintf(held, sizeof held, "%s/held", x->d->statedir);
        if (!(d = opendir(held)))
                return -errno;
        dsq_foreach(x->q, collect, &s);
        while ((de = readdir(d))) {
                bool have = false;
                if (!stor_name_ok(de->d_name))
                        continue;
                for (size_t i = 0; i < s.n && !have; i++)
                        have = !strcmp(s.v[i], de->d_name);
                if (!have && fn(x, de->d_name) == 0)
                        n++;
        }
        closedir(d);
        for (size_t i = 0; i < s.n; i++)
                free(s.v[i]);
        free(s.v);
        return n;
}

/* at start: a held file without its item (a crash between the move and the
 * push) is queued again */
int stor_spool_recover(struct stor_ctx *x)
{
        int n = held_orphans(x, push);

        if (n > 0)
                log_notice("spool: %d held file(s) without a queue item queued again", n);
        return n;
}

static int unlink_held(struct stor_ctx *x, const char *name)
{
        char *p = stor_held_path(x, name);
        int r = p && unlink(p) == 0 ? 0 : -errno;

        if (r < 0)
                log_warn("purge: held file '%s' not deleted: %s", name, strerror(-r));
        free(p);
        return r;
}

/* after a purge: the files of the dropped items go too, or the next start
 * would queue them again */
int stor_spool_prune(struct stor_ctx *x)
{
        return held_orphans(x, unlink_held);
}

int stor_spool_done(struct stor_ctx *x, const char *name)
{
        char *src = stor_held_path(x, name), *dst = NULL;
        int r = 0;

        if (!src)
                return -ENOMEM;
        if (x->conf.keep) {
                if (asprintf(&dst, "%s/kept/%s", x->d->statedir, name) < 0)
                        dst = NULL;
                if (!dst || rename(src, dst) < 0)
                        r = log_errno(-errno, "retention: '%s' not moved to kept/: %m", src);
        } else if (unlink(src) < 0) {
                r = log_errno(-errno, "retention: '%s' not deleted: %m", src);
        }
        free(src);
        free(dst);
        return r;
}

int stor_save_pin(struct stor_ctx *x, const char *fp)
{
        char line[80];
        int r;

        snprintf(line, sizeof line, "%s\n", fp);
        if ((r = state_write(x->d->statedir, "hostkey", line, strlen(line), 0600)) < 0)
                return log_errno(r, "host key pin: %m");
        snprintf(x->pin, sizeof x->pin, "%s", fp);
        return 0;
}
