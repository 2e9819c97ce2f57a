/* cursor.c - reads the store in order for the forwarder, queries and the
 * verifier: one segment in memory at a time, refilled from the file as the
 * active segment grows, and on to the next segment when one ends. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_impl.h"
#include "state.h"
#include "util.h"

struct logd_cursor {
        const logd_store_t *s;
        bool have_seg;
        uint64_t seg_first; /* the current segment, by its first record */
        char name[SEAL_SEG_NAME_MAX];
        char *buf;
        size_t len, cap, off;
        uint64_t want; /* next_rec: the next record sought */
};

int logd_cursor_new(const logd_store_t *s, logd_cursor_t **ret)
{
        logd_cursor_t *c = calloc(1, sizeof *c);

        if (!c)
                return -ENOMEM;
        c->s = s;
        c->want = 1;
        *ret = c;
        return 0;
}

void logd_cursor_destroy(logd_cursor_t **cp)
{
        logd_cursor_t *c = cp ? *cp : NULL;

        if (!c)
                return;
        free(c->buf);
        free(c);
        *cp = NULL;
}

/* The index of the current segment now (a prune moves it), or -1 when gone. */
static ssize_t cur_index(const logd_cursor_t *c)
{
        ssize_t i;

        if (!c->have_seg)
                return -1;
        i = logd_store_find(c->s, c->seg_first);
        return i >= 0 && c->s->segs[i].first == c->seg_first && !strcmp(c->s->segs[i].name, c->name) ? i : -1;
}

/* Reads what the file holds beyond what is loaded: the file as it is, which
 * for a verifier may differ from what the store's table says. */
static int refill(logd_cursor_t *c, size_t i)
{
        const struct logd_seg *g = &c->s->segs[i];
        struct stat st;
        char *p;
        int fd, r = 0;

        if (g->size <= c->len && c->len)
                return 0; /* nothing new was written */
        p = path_join(c->s->dir, g->name);
        fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
        free(p);
        if (fd < 0)
                return p ? -errno : -ENOMEM;
        if (fstat(fd, &st) < 0 || (uint64_t)st.st_size > LOGD_SEG_LOAD_MAX) {
                r = fstat(fd, &st) < 0 ? -errno : -EFBIG;
                close(fd);
                return r;
        }
        if ((size_t)st.st_size > c->cap) {
                char *nb = realloc(c->buf, (size_t)st.st_size);
                if (!nb) {
                        close(fd);
                        return -ENOMEM;
                }
                c->buf = nb;
                c->cap = (size_t)st.st_size;
        }
        while (c->len < (size_t)st.st_size) {
                ssize_t n = pread(fd, c->buf + c->len, (size_t)st.st_size - c->len, (off_t)c->len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        r = n < 0 ? -errno : 0;
                        break;
                }
                c->len += (size_t)n;
        }
        close(fd);
        return r;
}

int logd_cursor_seek_segment(logd_cursor_t *c, size_t i)
{
        const struct logd_seg *g;

        if (i >= c->s->n_segs)
                return -ENOENT;
        g = &c->s->segs[i];
        c->have_seg = true;
        c->seg_first = g->first;
        memcpy(c->name, g->name, sizeof c->name);
        c->len = 0;
        c->off = SEAL_SEG_HDR_LEN;
        return refill(c, i);
}

int logd_cursor_seek_seq(logd_cursor_t *c, uint64_t seq)
{
        const logd_store_t *s = c->s;
        ssize_t i;

        if (!s->n_segs)
                return -ENOENT;
        if (seq < s->segs[0].first)
                seq = s->segs[0].first; /* pruned (before it could be read): on from the oldest */
        i = logd_store_find(s, seq);
        if (i < 0)
                return -ENOENT;
        c->want = seq;
        return logd_cursor_seek_segment(c, (size_t)i);
}

int logd_cursor_next(logd_cursor_t *c, struct seal_frame *f)
{
        ssize_t i = cur_index(c);
        size_t next;
        int r;

        if (i < 0)
                return 0;
        for (int pass = 0; pass < 2; pass++) {
                r = c->off < c->len ? seal_frame_parse(c->buf, c->len, c->off, f, &next) : -EAGAIN;
                if (r == 0) {
                        c->off = next;
                        return 1;
                }
                if (r != -EAGAIN || pass)
                        return 0; /* a frame that does not parse ends the segment for readers; verify names it */
                if ((r = refill(c, (size_t)i)) < 0)
                        return r;
        }
        return 0;
}

int logd_cursor_next_rec(logd_cursor_t *c, struct seal_rec *rec)
{
        const logd_store_t *s = c->s;

        for (;;) {
                struct seal_frame f;
                ssize_t i = cur_index(c);
                int r;

                if (i < 0) {
                        /* not positioned yet, or the segment was pruned under us */
                        if (logd_cursor_seek_seq(c, c->want) < 0)
                                return 0;
                        continue;
                }
                r = logd_cursor_next(c, &f);
                if (r < 0)
                        return r;
                if (r > 0) {
                        if (f.type != SEAL_FRAME_RECORD || seal_rec_decode(f.payload, f.len, rec) < 0 ||
                            rec->seq < c->want)
                                continue;
                        c->want = rec->seq + 1;
                        return 1;
                }
                if ((size_t)i + 1 >= s->n_segs)
                        return 0;
                /* end of this segment: on to the next one (past a hole, never waiting on it) */
                if (s->segs[i + 1].first > c->want)
                        c->want = s->segs[i + 1].first;
                if ((r = logd_cursor_seek_segment(c, (size_t)i + 1)) < 0)
                        return r;
        }
}

size_t logd_cursor_tell(const logd_cursor_t *c)
{
        return c->off;
}

int logd_cursor_seek_offset(logd_cursor_t *c, size_t off)
{
        if (off < SEAL_SEG_HDR_LEN || off > c->len)
                return -ERANGE;
        c->off = off;
        return 0;
}

void logd_cursor_segment(const logd_cursor_t *c, const char **ret_name, const char **ret_buf, size_t *ret_len)
{
        *ret_name = c->name;
        *ret_buf = c->buf ? c->buf : "";
        *ret_len = c->have_seg ? c->len : 0;
}
