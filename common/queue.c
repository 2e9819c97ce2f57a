/* queue.c - the persistent delivery queue: one blob file and one header file
 * per item, both written atomically; the header commits the item. */
#include "queue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "state.h"
#include "util.h"

#define HDR_MAX 4096

struct dsq_vec {
        struct dsq_item *v;
        size_t n, cap;
};

struct dsq {
        char *dir, *pending, *failed;
        struct dsq_limits lim;
        struct dsq_vec p, f; /* each sorted by seq */
        uint64_t next_seq;
        uint64_t bytes;
        struct dsq_stats st;
        bool above;
};

static int vec_push(struct dsq_vec *v, const struct dsq_item *it)
{
        if (v->n == v->cap) {
                size_t cap = v->cap ? v->cap * 2 : 64;
                struct dsq_item *nv = realloc(v->v, cap * sizeof *nv);
                if (!nv)
                        return -ENOMEM;
                v->v = nv;
                v->cap = cap;
        }
        /* items arrive in seq order except at open: keep the vector sorted */
        size_t i = v->n;
        while (i > 0 && v->v[i - 1].seq > it->seq)
                i--;
        memmove(&v->v[i + 1], &v->v[i], (v->n - i) * sizeof *v->v);
        v->v[i] = *it;
        v->n++;
        return 0;
}

static void vec_del(struct dsq_vec *v, size_t i)
{
        memmove(&v->v[i], &v->v[i + 1], (v->n - i - 1) * sizeof *v->v);
        v->n--;
}

static ssize_t vec_find(const struct dsq_vec *v, const char *id)
{
        for (size_t i = 0; i < v->n; i++)
                if (!strcmp(v->v[i].id, id))
                        return (ssize_t)i;
        return -1;
}

static void clean_text(char *dst, size_t size, const char *src)
{
        size_t i = 0;

        for (; src && src[i] && i + 1 < size; i++)
                dst[i] = ((unsigned char)src[i] < 0x20 || src[i] == 0x7f) ? '?' : src[i];
        dst[i] = '\0';
}

static int hdr_write(const char *dir, const struct dsq_item *it)
{
        char name[32], buf[HDR_MAX];
        int n;

        snprintf(name, sizeof name, "%016" PRIx64 ".hdr", it->seq);
        n = snprintf(buf, sizeof buf,
                     "dsq 1\nid %s\ndest %s\nsize %" PRIu64 "\ncreated %" PRId64 "\nnext %" PRId64
                     "\nattempts %" PRIu32 "\nerror %s\n",
                     it->id, it->dest, it->size, it->created_ms, it->next_ms, it->attempts, it->error);
        if (n < 0 || n >= (int)sizeof buf)
                return -ENAMETOOLONG;
        return state_write(dir, name, buf, (size_t)n, 0600);
}

static int hdr_parse(char *buf, struct dsq_item *it)
{
        char *save = NULL, *line;
        unsigned seen = 0;

        if (strncmp(buf, "dsq 1\n", 6))
                return -EBADMSG;
        for (line = strtok_r(buf + 6, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *sp = strchr(line, ' ');
                if (!sp)
                        continue;
                *sp++ = '\0';
                if (!strcmp(line, "id") && strlen(sp) == DSQ_ID_LEN) {
                        memcpy(it->id, sp, DSQ_ID_LEN + 1);
                        seen |= 1;
                } else if (!strcmp(line, "dest") && strlen(sp) <= DSQ_DEST_MAX && *sp) {
                        strcpy(it->dest, sp);
                        seen |= 2;
                } else if (!strcmp(line, "size")) {
                        it->size = strtoull(sp, NULL, 10);
                        seen |= 4;
                } else if (!strcmp(line, "created")) {
                        it->created_ms = strtoll(sp, NULL, 10);
                        seen |= 8;
                } else if (!strcmp(line, "next")) {
                        it->next_ms = strtoll(sp, NULL, 10);
                } else if (!strcmp(line, "attempts")) {
                        it->attempts = (uint32_t)strtoul(sp, NULL, 10);
                } else if (!strcmp(line, "error")) {
                        clean_text(it->error, sizeof it->error, sp);
                }
        }
        return seen == 15 ? 0 : -EBADMSG;
}

static int file_name_seq(const char *name, const char *ext, uint64_t *ret)
{
        char *end;
        uint64_t s;

        if (strlen(name) != 16 + strlen(ext) || strcmp(name + 16, ext))
                return -EINVAL;
        errno = 0;
        s = strtoull(name, &end, 16);
        if (errno || end != name + 16)
                return -EINVAL;
        *ret = s;
        return 0;
}

static int unlink_at(const char *dir, uint64_t seq, const char *ext)
{
        char p[4096];

        snprintf(p, sizeof p, "%s/%016" PRIx64 "%s", dir, seq, ext);
        return unlink(p) < 0 && errno != ENOENT ? -errno : 0;
}

static int64_t file_size(const char *dir, uint64_t seq)
{
        char p[4096];
        struct stat s;

        snprintf(p, sizeof p, "%s/%016" PRIx64 ".dat", dir, seq);
        return stat(p, &s) < 0 ? -errno : (int64_t)s.st_size;
}

/* Hard-links a blob to its new place (a leftover of a crash is replaced). */
static int link_blob(const char *from, const char *to)
{
        if (link(from, to) == 0)
                return 0;
        if (errno == ENOENT)
                return 0; /* no blob: the header alone moves, with its reason */
        if (errno != EEXIST)
                return -errno;
        if (unlink(to) < 0 || link(from, to) < 0)
                return -errno;
        return 0;
}

/* Moves an item's two files from pending/ to failed/ with a new header. */
static int move_failed(dsq_t *q, size_t i, const char *why)
{
        struct dsq_item it = q->p.v[i];
        char from[4096], to[4096];
        int r;

        clean_text(it.error, sizeof it.error, why);
        it.inflight = false;
        it.failed = true;
        snprintf(from, sizeof from, "%s/%016" PRIx64 ".dat", q->pending, it.seq);
        snprintf(to, sizeof to, "%s/%016" PRIx64 ".dat", q->failed, it.seq);
        /* link, new header, old header, old blob: at every step a crash
         * leaves the item whole in one place (both: open keeps failed/) */
        if ((r = link_blob(from, to)) < 0)
                return r;
        if ((r = hdr_write(q->failed, &it)) < 0)
                return r;
        if ((r = unlink_at(q->pending, it.seq, ".hdr")) < 0)
                return r;
        state_sync_dir(q->pending);
        unlink(from);
        q->bytes -= q->p.v[i].size;
        vec_del(&q->p, i);
        return vec_push(&q->f, &it);
}

static int load_dir(dsq_t *q, const char *dir, bool failed)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        int r = 0;

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                uint64_t seq;
                const char *n = de->d_name;

                if (!strcmp(n, ".") || !strcmp(n, ".."))
                        continue;
                if (n[0] == '.') { /* a temp file a crash left: never acknowledged */
                        unlinkat(dirfd(d), n, 0);
                        continue;
                }
                if (file_name_seq(n, ".dat", &seq) == 0) {
                        char h[32];
                        snprintf(h, sizeof h, "%016" PRIx64 ".hdr", seq);
                        if (faccessat(dirfd(d), h, F_OK, 0) < 0) /* blob without header: push never returned */
                                unlinkat(dirfd(d), n, 0);
                        if (seq >= q->next_seq)
                                q->next_seq = seq + 1;
                        continue;
                }
                if (file_name_seq(n, ".hdr", &seq) < 0)
                        continue;
                if (seq >= q->next_seq)
                        q->next_seq = seq + 1;
                char *buf = NULL;
                size_t len;
                struct dsq_item it = { .seq = seq, .failed = failed };
                if (state_read(dir, n, HDR_MAX, &buf, &len) < 0 || hdr_parse(buf, &it) < 0) {
                        free(buf);
                        /* a header is written whole or not at all; one we cannot
                         * read was not written by us: keep it aside, do not deliver */
                        char to[4096], from[4096];
                        snprintf(from, sizeof from, "%s/%s", dir, n);
                        snprintf(to, sizeof to, "%s/.bad-%s", q->failed, n);
                        if (!failed)
                                rename(from, to);
                        continue;
                }
                free(buf);
                if (failed && vec_find(&q->p, it.id) >= 0) {
                        /* crash inside move_failed(): the failed copy wins */
                        ssize_t pi = vec_find(&q->p, it.id);
                        q->bytes -= q->p.v[pi].size;
                        vec_del(&q->p, (size_t)pi);
                        unlink_at(q->pending, seq, ".hdr");
                        unlink_at(q->pending, seq, ".dat");
                }
                if ((r = vec_push(failed ? &q->f : &q->p, &it)) < 0)
                        break;
                if (!failed)
                        q->bytes += it.size;
        }
        closedir(d);
        return r;
}

dsq_t *dsq_open(const char *dir, const struct dsq_limits *lim, int *ret_err)
{
        dsq_t *q = calloc(1, sizeof *q);
        int r = -ENOMEM;

        if (!q)
                goto fail;
        q->dir = strdup(dir);
        q->pending = path_join(dir, "pending");
        q->failed = path_join(dir, "failed");
        if (!q->dir || !q->pending || !q->failed)
                goto fail;
        dsq_set_limits(q, lim);
        if ((r = state_mkdir_p(q->pending, 0700)) < 0 || (r = state_mkdir_p(q->failed, 0700)) < 0)
                goto fail;
        q->next_seq = 1;
        if ((r = load_dir(q, q->pending, false)) < 0 || (r = load_dir(q, q->failed, true)) < 0)
                goto fail;
        /* pending items whose blob is gone or truncated cannot be sent */
        for (size_t i = 0; i < q->p.n;) {
                int64_t sz = file_size(q->pending, q->p.v[i].seq);
                if (sz != (int64_t)q->p.v[i].size) {
                        char why[64];
                        snprintf(why, sizeof why, sz < 0 ? "blob missing" : "blob of %" PRId64 " bytes", sz);
                        if ((r = move_failed(q, i, why)) < 0)
                                goto fail;
                        continue;
                }
                i++;
        }
        q->st.items = (uint32_t)q->p.n;
        return q;
fail:
        if (ret_err)
                *ret_err = r;
        dsq_destroy(&q);
        return NULL;
}

void dsq_destroy(dsq_t **pq)
{
        dsq_t *q = pq ? *pq : NULL;

        if (!q)
                return;
        free(q->dir);
        free(q->pending);
        free(q->failed);
        free(q->p.v);
        free(q->f.v);
        free(q);
        *pq = NULL;
}

void dsq_set_limits(dsq_t *q, const struct dsq_limits *lim)
{
        q->lim = *lim;
        if (!q->lim.warn_pct || q->lim.warn_pct > 100)
                q->lim.warn_pct = 80;
        if (q->lim.backoff_min_ms <= 0)
                q->lim.backoff_min_ms = 1000;
        if (q->lim.backoff_max_ms <= 0)
                q->lim.backoff_max_ms = 600000;
        if (q->lim.backoff_max_ms < q->lim.backoff_min_ms)
                q->lim.backoff_max_ms = q->lim.backoff_min_ms;
}

static unsigned level_pct(const dsq_t *q)
{
        uint64_t a = q->lim.max_items ? (uint64_t)q->p.n * 100 / q->lim.max_items : 0;
        uint64_t b = q->lim.max_bytes ? q->bytes * 100 / q->lim.max_bytes : 0;

        return (unsigned)(a > b ? a : b);
}

static void check_level(dsq_t *q)
{
        unsigned pct = level_pct(q);
        bool above = pct >= q->lim.warn_pct;

        if (above != q->above) {
                q->above = above;
                if (q->lim.on_level)
                        q->lim.on_level(q->lim.ud, pct, above);
        }
}

int dsq_push(dsq_t *q, const char *dest, const void *data, size_t len, int64_t now_ms,
             char ret_id[DSQ_ID_LEN + 1])
{
        struct dsq_item it = { 0 };
        unsigned char rnd[DSQ_ID_LEN / 2];
        char name[32];
        int r;

        if (!dest || !*dest || strlen(dest) > DSQ_DEST_MAX)
                return -EINVAL;
        for (const char *s = dest; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return -EINVAL;
        if ((q->lim.max_items && q->p.n + 1 > q->lim.max_items) ||
            (q->lim.max_bytes && q->bytes + len > q->lim.max_bytes)) {
                q->st.refused++;
                return -EBUSY;
        }
        ds_random(rnd, sizeof rnd);
        ds_hex(rnd, sizeof rnd, it.id);
        snprintf(it.dest, sizeof it.dest, "%s", dest);
        it.seq = q->next_seq++;
        it.size = len;
        it.created_ms = now_ms;
        it.next_ms = now_ms;
        snprintf(name, sizeof name, "%016" PRIx64 ".dat", it.seq);
        if ((r = state_write(q->pending, name, data, len, 0600)) < 0)
                return r;
        if ((r = hdr_write(q->pending, &it)) < 0) {
                unlink_at(q->pending, it.seq, ".dat");
                return r;
        }
        if ((r = vec_push(&q->p, &it)) < 0) /* on disk, found again at the next open */
                return r;
        q->bytes += len;
        q->st.pushed++;
        if (ret_id)
                memcpy(ret_id, it.id, DSQ_ID_LEN + 1);
        check_level(q);
        return 0;
}

/* Is dest already taken by an earlier item in [0, i)? Linear: the queue
 * holds thousands of items at most and a few destinations. */
static bool dest_before(const dsq_t *q, size_t i)
{
        for (size_t j = 0; j < i; j++)
                if (!strcmp(q->p.v[j].dest, q->p.v[i].dest))
                        return true;
        return false;
}

int dsq_next(dsq_t *q, int64_t now_ms, struct dsq_item *ret, int64_t *ret_wait_ms)
{
        int64_t wait = -1;

        for (size_t i = 0; i < q->p.n; i++) {
                struct dsq_item *it = &q->p.v[i];
                if (it->inflight || dest_before(q, i))
                        continue;
                if (it->next_ms <= now_ms) {
                        it->inflight = true;
                        *ret = *it;
                        return 0;
                }
                if (wait < 0 || it->next_ms - now_ms < wait)
                        wait = it->next_ms - now_ms;
        }
        if (ret_wait_ms)
                *ret_wait_ms = wait;
        return -EAGAIN;
}

int dsq_read(dsq_t *q, const char *id, char **ret, size_t *ret_len)
{
        ssize_t i = vec_find(&q->p, id);
        const char *dir = q->pending;
        const struct dsq_item *it;
        char name[32];

        if (i < 0) {
                if ((i = vec_find(&q->f, id)) < 0)
                        return -ENOENT;
                dir = q->failed;
                it = &q->f.v[i];
        } else {
                it = &q->p.v[i];
        }
        snprintf(name, sizeof name, "%016" PRIx64 ".dat", it->seq);
        return state_read(dir, name, it->size + 1, ret, ret_len);
}

int dsq_done(dsq_t *q, const char *id)
{
        ssize_t i = vec_find(&q->p, id);
        int r;

        if (i < 0)
                return -ENOENT;
        if ((r = unlink_at(q->pending, q->p.v[i].seq, ".hdr")) < 0)
                return r;
        state_sync_dir(q->pending);
        unlink_at(q->pending, q->p.v[i].seq, ".dat");
        q->bytes -= q->p.v[i].size;
        vec_del(&q->p, (size_t)i);
        q->st.delivered++;
        check_level(q);
        return 0;
}

int64_t dsq_backoff_ms(const struct dsq_limits *lim, uint32_t attempts)
{
        int64_t d = lim->backoff_min_ms > 0 ? lim->backoff_min_ms : 1000;
        int64_t cap = lim->backoff_max_ms > 0 ? lim->backoff_max_ms : 600000;

        for (uint32_t a = 1; a < attempts && d < cap; a++)
                d *= 2;
        return d < cap ? d : cap;
}

int dsq_fail(dsq_t *q, const char *id, const char *error, bool permanent, int64_t now_ms)
{
        ssize_t i = vec_find(&q->p, id);
        struct dsq_item it;
        int64_t d;
        int r;

        if (i < 0)
                return -ENOENT;
        it = q->p.v[i];
        it.attempts++;
        clean_text(it.error, sizeof it.error, error ? error : "failed");
        if (permanent) {
                q->p.v[i].attempts = it.attempts;
                r = move_failed(q, (size_t)i, it.error);
                check_level(q);
                return r;
        }
        d = dsq_backoff_ms(&q->lim, it.attempts);
        if (!q->lim.no_jitter && d > 1) {
                uint32_t rnd;
                ds_random(&rnd, sizeof rnd);
                d = d / 2 + (int64_t)(rnd % (uint64_t)(d / 2 + 1));
        }
        it.next_ms = now_ms + d;
        it.inflight = false;
        if ((r = hdr_write(q->pending, &it)) < 0) {
                q->p.v[i].inflight = false;
                return r;
        }
        q->p.v[i] = it;
        return 0;
}

int dsq_expire(dsq_t *q, int64_t now_ms)
{
        int n = 0;

        if (q->lim.max_age_ms <= 0)
                return 0;
        for (size_t i = 0; i < q->p.n;) {
                struct dsq_item *it = &q->p.v[i];
                if (!it->inflight && now_ms - it->created_ms > q->lim.max_age_ms) {
                        char why[DSQ_ERROR_MAX + 1];
                        snprintf(why, sizeof why, "expired after %" PRIu32 " attempts: %.150s", it->attempts,
                                 it->error[0] ? it->error : "never tried");
                        if (move_failed(q, i, why) == 0) {
                                n++;
                                q->st.expired++;
                                continue;
                        }
                }
                i++;
        }
        if (n)
                check_level(q);
        return n;
}

int dsq_retry(dsq_t *q, const char *id, int64_t now_ms)
{
        int n = 0, r;

        for (size_t i = 0; i < q->p.n; i++) {
                struct dsq_item *it = &q->p.v[i];
                if ((id && strcmp(it->id, id)) || it->inflight)
                        continue;
                it->next_ms = now_ms;
                hdr_write(q->pending, it);
                n++;
        }
        for (size_t i = 0; i < q->f.n;) {
                struct dsq_item it = q->f.v[i];
                char from[4096], to[4096];
                if (id && strcmp(it.id, id)) {
                        i++;
                        continue;
                }
                it.failed = false;
                it.attempts = 0;
                it.next_ms = now_ms;
                /* a retried item counts against the quota again, and keeps its seq:
                 * it goes back to its place in its destination's order */
                snprintf(from, sizeof from, "%s/%016" PRIx64 ".dat", q->failed, it.seq);
                snprintf(to, sizeof to, "%s/%016" PRIx64 ".dat", q->pending, it.seq);
                if (access(from, F_OK) < 0) { /* its blob is gone: nothing to send again */
                        i++;
                        continue;
                }
                if ((r = link_blob(from, to)) < 0)
                        return r;
                if ((r = hdr_write(q->pending, &it)) < 0)
                        return r;
                unlink_at(q->failed, it.seq, ".hdr");
                state_sync_dir(q->failed);
                unlink(from);
                vec_del(&q->f, i);
                if ((r = vec_push(&q->p, &it)) < 0)
                        return r;
                q->bytes += it.size;
                n++;
        }
        q->st.retried += (uint64_t)n;
        check_level(q);
        return n || !id ? n : -ENOENT;
}

int dsq_purge(dsq_t *q, const char *id, bool failed_only)
{
        int n = 0;

        for (size_t i = 0; i < q->f.n;) {
                if (id && strcmp(q->f.v[i].id, id)) {
                        i++;
                        continue;
                }
                unlink_at(q->failed, q->f.v[i].seq, ".hdr");
                unlink_at(q->failed, q->f.v[i].seq, ".dat");
                vec_del(&q->f, i);
                n++;
        }
        for (size_t i = 0; !failed_only && i < q->p.n;) {
                if ((id && strcmp(q->p.v[i].id, id)) || q->p.v[i].inflight) {
                        i++;
                        continue;
                }
                unlink_at(q->pending, q->p.v[i].seq, ".hdr");
                unlink_at(q->pending, q->p.v[i].seq, ".dat");
                q->bytes -= q->p.v[i].size;
                vec_del(&q->p, i);
                n++;
        }
        state_sync_dir(q->failed);
        state_sync_dir(q->pending);
        check_level(q);
        return n || !id ? n : -ENOENT;
}

void dsq_foreach(const dsq_t *q, void (*fn)(void *ud, const struct dsq_item *it), void *ud)
{
        for (size_t i = 0; i < q->p.n; i++)
                fn(ud, &q->p.v[i]);
        for (size_t i = 0; i < q->f.n; i++)
                fn(ud, &q->f.v[i]);
}

void dsq_get_stats(const dsq_t *q, struct dsq_stats *ret)
{
        *ret = q->st;
        ret->items = (uint32_t)q->p.n;
        ret->failed_items = (uint32_t)q->f.n;
        ret->bytes = q->bytes;
        ret->inflight = 0;
        for (size_t i = 0; i < q->p.n; i++)
                ret->inflight += q->p.v[i].inflight;
        ret->level_pct = level_pct(q);
}
