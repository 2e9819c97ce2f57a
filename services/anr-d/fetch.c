/* fetch.c - filling one outage interval of one camera: its index (widened by
 * pre_record_s, shifted by the measured skew), then each missing segment by
 * anr.read into <store>/<camera>/.anr/<segment>.part, resumed from the bytes
 * already there, under the camera's and the global token bucket; verified
 * (size, SHA-256; the entry's Ed25519 signature before any byte is fetched),
 * refetched once on a mismatch, then renamed into <store>/<camera>/<segment>;
 * and the scheduler that starts the fills, oldest outage first. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "anr.h"
#include "log.h"
#include "state.h"
#include "util.h"

#define READ_TIMEOUT_MS 15000
#define COVER_TOL_MS 250 /* a gap between segments above this is a hole */
#define ANR_WINDOW 16 /* reads in flight (8 MiB): the link keeps moving while a segment is fsynced */

struct anr_job {
        struct anr_ctx *x;
        struct anr_cam *cam;        /* NULL once aborted */
        struct anr_interval *iv;
        struct anr_entry *todo;     /* to fetch */
        size_t n_todo, cap_todo, cur;
        struct anr_entry *seen;     /* every entry of the interval, for its coverage */
        size_t n_seen, cap_seen;
        char after[ANR_NAME_MAX + 1];
        int64_t since, until;
        char *dir, *pdir;           /* <store>/<cam>, its .anr */
        int fd;                     /* the writer: segment cur, next byte off */
        uint64_t off;
        unsigned attempt;
        bool idx_inflight;
        int timer;
        /* the requester runs ahead of the writer, across segments, so the
         * network keeps moving while a finished segment is fsynced */
        size_t rq;
        uint64_t rq_off;
        bool rq_started;
        unsigned epoch;             /* bumped when the requester restarts: older replies are dropped */
        struct { size_t k; uint64_t off; unsigned epoch; } ring[ANR_WINDOW];
        unsigned r_head, r_n;
        unsigned unsynced;          /* segments renamed since the directories were last fsynced */
};

static const char *iv_stname(const struct anr_interval *iv) { return anr_istate_names[iv->state]; }

bool anr_fetch_busy(const struct anr_ctx *x, unsigned *ret_n)
{
        unsigned n = 0;

        for (unsigned i = 0; i < x->n_cams; i++)
                n += x->cams[i].job != NULL;
        *ret_n = n;
        return n > 0;
}

static void job_free(struct anr_job *j)
{
        if (j->fd >= 0)
                close(j->fd);
        if (j->timer >= 0)
                zloop_timer_end(j->x->d->loop, j->timer);
        free(j->todo);
        free(j->seen);
        free(j->dir);
        free(j->pdir);
        free(j);
}

static void job_end(struct anr_job *j)
{
        struct anr_cam *c = j->cam;

        if (c)
                c->job = NULL;
        if (j->idx_inflight || j->r_n) { /* the last reply's callback frees it */
                j->cam = NULL;
                if (j->fd >= 0) {
                        close(j->fd);
                        j->fd = -1;
                }
                if (j->timer >= 0) {
                        zloop_timer_end(j->x->d->loop, j->timer);
                        j->timer = -1;
                }
                return;
        }
        job_free(j);
}

void anr_fetch_abort(struct anr_cam *c, const char *why)
{
        struct anr_job *j = c->job;

        if (!j)
                return;
        log_notice("camera '%s': fill of the outage interval stopped (%s); partial files kept", c->id, why);
        if (j->iv->state == ANR_I_FETCHING)
                j->iv->state = ANR_I_PENDING;
        job_end(j);
}

static int push(struct anr_entry **v, size_t *n, size_t *cap, const struct anr_entry *e)
{
        if (*n == *cap) {
                size_t nc = *cap ? 2 * *cap : 64;
                struct anr_entry *p = realloc(*v, nc * sizeof *p);
                if (!p)
                        return -ENOMEM;
                *v = p;
                *cap = nc;
        }
        (*v)[(*n)++] = *e;
        return 0;
}

static int flush_dirs(struct anr_job *j);

static void finish(struct anr_job *j)
{
        struct anr_ctx *x = j->x;
        struct anr_cam *c = j->cam;
        struct anr_interval *iv = j->iv;

        if (flush_dirs(j) < 0)
                log_warn("camera '%s': fsync of the store: %m", c->id);
        iv->fill_end_ms = ds_now_real_ms();
        iv->missing_ms = anr_uncovered_ms(j->seen, j->n_seen, iv->opened_ms + iv->skew_ms, iv->closed_ms + iv->skew_ms,
                                          COVER_TOL_MS);
        if (iv->segs_failed) {
                iv->state = ANR_I_FAILED;
        } else if (iv->missing_ms > 0) {
                iv->state = ANR_I_PARTIAL;
                snprintf(iv->reason, sizeof iv->reason, "%lld s of the interval are not on the camera either",
                         (long long)((iv->missing_ms + 999) / 1000));
        } else {
                iv->state = ANR_I_FILLED;
                iv->reason[0] = 0;
        }
        log_notice("camera '%s': outage interval %s: %u segment(s) stored, %u already there, %u failed, %llu bytes%s%s",
                   c->id, iv_stname(iv), iv->segs_done, iv->segs_skipped, iv->segs_failed,
                   (unsigned long long)iv->bytes_done, iv->reason[0] ? "; " : "", iv->reason);
        anr_outage_save(x);
        anr_outage_publish(x, iv->state == ANR_I_FAILED ? "anr.failed" : "anr.filled", c, iv);
        job_end(j);
        anr_fetch_kick(x);
}

__attribute__((noinline)) static void fail_iv(struct anr_job *j, const char *fmt, const char *arg)
{
        snprintf(j->iv->reason, sizeof j->iv->reason, fmt, arg);
        j->iv->segs_failed++;
        finish(j);
}

static void next_segment(struct anr_job *j);
static void pump(struct anr_job *j);

static int on_wait(zloop_t *loop, int timer_id, void *arg)
{
        struct anr_job *j = arg;

        (void)loop;
        (void)timer_id;
        j->timer = -1;
        pump(j);
        return 0;
}

/* The requester starts again at the writer's position; replies already on
 * their way are dropped when they come. */
static void restart_requests(struct anr_job *j)
{
        j->epoch++;
        j->rq = j->cur;
        j->rq_started = false;
}

static bool stored(struct anr_job *j, const char *name)
{
        struct stat st;
        char *p = path_join(j->dir, name);
        bool r = p && stat(p, &st) == 0;

        free(p);
        return r;
}

/* the whole partial file against the entry: size and SHA-256 */
static bool verify(struct anr_job *j, const struct anr_entry *e)
{
        EVP_MD_CTX *st = EVP_MD_CTX_new(); /* OpenSSL's SHA-256 uses the CPU's SHA extensions: libsodium's does not */
        unsigned char buf[65536], h[32];
        uint64_t total = 0;
        ssize_t n;

        bool ok;

        if (!st || lseek(j->fd, 0, SEEK_SET) < 0 || EVP_DigestInit_ex(st, EVP_sha256(), NULL) != 1) {
                EVP_MD_CTX_free(st);
                return false;
        }
        while ((n = read(j->fd, buf, sizeof buf)) > 0) {
                EVP_DigestUpdate(st, buf, (size_t)n);
                total += (uint64_t)n;
        }
        ok = EVP_DigestFinal_ex(st, h, NULL) == 1;
        EVP_MD_CTX_free(st);
        return ok && n == 0 && total == e->size && sodium_memcmp(h, e->sha256, sizeof h) == 0;
}

/* Each file is fsynced before its rename (never a renamed file without its
 * bytes); the directories are fsynced every SYNC_EVERY segments, at the end,
 * and before the progress is saved: a segment whose rename a power loss undid
 * is simply fetched again, since the interval is not yet marked done. */
#define SYNC_EVERY 16
static int flush_dirs(struct anr_job *j)
{
        int r;

        if (!j->unsynced)
                return 0;
        if ((r = state_sync_dir(j->pdir)) < 0 || (r = state_sync_dir(j->dir)) < 0)
                return r;
        j->unsynced = 0;
        return 0;
}

static int write_sidecar(struct anr_job *j, const struct anr_entry *e)
{
        char tmp[ANR_NAME_MAX + 16], *tp = NULL, *fp = NULL;
        struct mpw w;
        int fd = -1, r = 0;

        snprintf(tmp, sizeof tmp, ".%s.tmp", e->name);
        if (!(tp = path_join(j->pdir, tmp)) || !(fp = path_join(j->pdir, e->name)))
                r = -ENOMEM;
        mpw_init(&w);
        anr_entry_write(&w, e);
        if (r == 0 && (fd = open(tp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640)) < 0)
                r = -errno;
        if (r == 0 && write(fd, mpw_data(&w), mpw_len(&w)) != (ssize_t)mpw_len(&w))
                r = -EIO;
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (fd >= 0)
                close(fd);
        if (r == 0 && rename(tp, fp) < 0)
                r = -errno;
        if (r < 0 && tp)
                unlink(tp);
        mpw_free(&w);
        free(tp);
        free(fp);
        return r;
}

static void complete(struct anr_job *j)
{
        struct anr_entry *e = &j->todo[j->cur];
        char part[ANR_NAME_MAX + 8], *from = NULL, *to = NULL;
        int r = 0;

        if (!verify(j, e)) {
                if (j->attempt++ == 0) {
                        log_warn("camera '%s': segment '%s' does not match its signed entry: fetching it again",
                                 j->cam->id, e->name);
                        if (ftruncate(j->fd, 0) == 0) {
                                j->iv->bytes_done -= j->off < j->iv->bytes_done ? j->off : j->iv->bytes_done;
                                j->off = 0;
                                restart_requests(j);
                                pump(j);
                                return;
                        }
                }
                log_audit("security", LOG_LVL_WARNING, NULL,
                          "camera '%s': segment '%s' failed verification twice (size or SHA-256): not stored",
                          j->cam->id, e->name);
                snprintf(part, sizeof part, "%s.part", e->name);
                state_remove(j->pdir, part);
                snprintf(j->iv->reason, sizeof j->iv->reason, "'%s': SHA-256 does not match the signed entry after a refetch",
                         e->name);
                j->iv->segs_failed++;
                close(j->fd);
                j->fd = -1;
                j->cur++;
                if (j->rq < j->cur) /* the refetch's requests are stale now */
                        restart_requests(j);
                next_segment(j);
                return;
        }
        /* the signed entry beside it, then the segment into place */
        r = write_sidecar(j, e);
        snprintf(part, sizeof part, "%s.part", e->name);
        if (r == 0 && fsync(j->fd) < 0)
                r = -errno;
        if (r == 0 && (!(from = path_join(j->pdir, part)) || !(to = path_join(j->dir, e->name))))
                r = -ENOMEM;
        if (r == 0 && rename(from, to) < 0)
                r = -errno;
        if (r == 0 && ++j->unsynced >= SYNC_EVERY)
                r = flush_dirs(j);
        free(from);
        free(to);
        close(j->fd);
        j->fd = -1;
        if (r < 0) {
                log_errno(r, "camera '%s': storing '%s': %m", j->cam->id, e->name);
                fail_iv(j, "the store refused a segment: %s", strerror(-r));
                return;
        }
        j->iv->segs_done++;
        j->cur++;
        if (!j->unsynced)
                j->x->dirty = true; /* progress, once durable: saved by the tick, at most once a second */
        next_segment(j);
}

static void on_read(void *ud, const struct bus_reply *rep)
{
        struct anr_job *j = ud;
        struct anr_entry *e;
        const msgpack_object *data;
        size_t k = j->ring[j->r_head].k;
        uint64_t roff = j->ring[j->r_head].off;
        unsigned ep = j->ring[j->r_head].epoch;

        j->r_head = (j->r_head + 1) % ANR_WINDOW;
        j->r_n--;
        if (!j->cam) {
                if (!j->r_n && !j->idx_inflight)
                        job_free(j);
                return;
        }
        if (ep != j->epoch) { /* from before a restart of the requests */
                pump(j);
                return;
        }
        if (rep->code == -DS_EUNAVAIL || rep->code == -ETIMEDOUT) {
                anr_fetch_abort(j->cam, rep->code == -ETIMEDOUT ? "a read timed out" : "the camera left the bus");
                return;
        }
        if (k != j->cur || roff != j->off) { /* replies out of order: ask again from the writer's byte */
                restart_requests(j);
                pump(j);
                return;
        }
        e = &j->todo[j->cur];
        if (rep->code == -ENOENT) { /* deleted on the camera since its index */
                log_warn("camera '%s': segment '%s' gone from the camera: %s", j->cam->id, e->name, rep->err.msg);
                close(j->fd);
                j->fd = -1;
                j->cur++;
                restart_requests(j);
                next_segment(j);
                return;
        }
        if (rep->code) {
                fail_iv(j, "anr.read: %s", rep->err.msg);
                return;
        }
        data = mp_get(rep->r, "data");
        if (!data || data->type != MSGPACK_OBJECT_BIN || mp_get_int(rep->r, "offset", -1) != (int64_t)j->off ||
            j->off + data->via.bin.size > e->size || (data->via.bin.size == 0 && j->off < e->size)) {
                fail_iv(j, "camera answered a read of '%s' with something else", e->name);
                return;
        }
        if (pwrite(j->fd, data->via.bin.ptr, data->via.bin.size, (off_t)j->off) != (ssize_t)data->via.bin.size) {
                fail_iv(j, "writing the partial file: %s", strerror(errno));
                return;
        }
        j->off += data->via.bin.size;
        j->iv->bytes_done += data->via.bin.size;
        if (j->off >= e->size)
                complete(j);
        else
                pump(j);
}

/* where a segment's fetch starts: the bytes its partial file already has */
static uint64_t resume_offset(struct anr_job *j, const struct anr_entry *e)
{
        char part[ANR_NAME_MAX + 8], *p;
        struct stat st;
        uint64_t off = 0;

        snprintf(part, sizeof part, "%s.part", e->name);
        if ((p = path_join(j->pdir, part)) && stat(p, &st) == 0 && (uint64_t)st.st_size <= e->size)
                off = (uint64_t)st.st_size;
        free(p);
        return off;
}

/* Keeps up to ANR_WINDOW reads in flight, from the writer's segment on,
 * within the camera's and the global token bucket. */
static void pump(struct anr_job *j)
{
        struct anr_ctx *x = j->x;
        struct anr_cam *c = j->cam;
        uint64_t chunk = x->chunk, burst;
        int r;

        if (!c || j->timer >= 0)
                return;
        /* a limited rate goes in smaller reads, so live traffic is never starved for long */
        burst = c->rate_Bps ? c->rate_Bps / 4 : chunk;
        if (x->rate_Bps && x->rate_Bps / 4 < burst)
                burst = x->rate_Bps / 4;
        if (burst < 4096)
                burst = 4096;
        if (chunk > burst)
                chunk = burst;
        while (j->r_n < ANR_WINDOW && j->rq < j->n_todo) {
                struct anr_entry *e = &j->todo[j->rq];
                uint64_t want, got, got2;
                int64_t now = ds_now_mono_ms(), wait1, wait2;
                struct mpw w;

                if (!j->rq_started) {
                        j->rq_off = j->rq == j->cur && j->fd >= 0 ? j->off : resume_offset(j, e);
                        j->rq_started = true;
                }
                if (j->rq_off >= e->size) {
                        j->rq++;
                        j->rq_started = false;
                        continue;
                }
                want = e->size - j->rq_off;
                if (want > chunk)
                        want = chunk;
                got = anr_bucket_take(&c->bucket, want, want, now, &wait1);
                if (!got) {
                        j->timer = zloop_timer(x->d->loop, (size_t)wait1, 1, on_wait, j);
                        return;
                }
                got2 = anr_bucket_take(&x->global, got, got, now, &wait2);
                if (!got2) {
                        c->bucket.tokens += (double)got;
                        j->timer = zloop_timer(x->d->loop, (size_t)wait2, 1, on_wait, j);
                        return;
                }
                mpw_init(&w);
                mpw_map_begin(&w);
                mpw_kv_str(&w, "segment", e->name);
                mpw_kv_uint(&w, "offset", j->rq_off);
                mpw_kv_uint(&w, "length", got2);
                mpw_map_end(&w);
                r = bus_call(x->d->bus, c->svc, "anr.read", &w, NULL, READ_TIMEOUT_MS, on_read, j);
                mpw_free(&w);
                if (r < 0) {
                        anr_fetch_abort(c, "the bus refused the read");
                        return;
                }
                unsigned slot = (j->r_head + j->r_n) % ANR_WINDOW;
                j->ring[slot].k = j->rq;
                j->ring[slot].off = j->rq_off;
                j->ring[slot].epoch = j->epoch;
                j->r_n++;
                j->rq_off += got2;
                if (j->rq_off >= e->size) {
                        j->rq++;
                        j->rq_started = false;
                }
        }
}

static void next_segment(struct anr_job *j)
{
        struct anr_entry *e;
        char part[ANR_NAME_MAX + 8], *p;
        struct stat st;

        if (j->cur >= j->n_todo) {
                finish(j);
                return;
        }
        e = &j->todo[j->cur];
        j->attempt = 0;
        snprintf(part, sizeof part, "%s.part", e->name);
        if (!(p = path_join(j->pdir, part))) {
                fail_iv(j, "%s", "out of memory");
                return;
        }
        j->fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
        free(p);
        if (j->fd < 0 || fstat(j->fd, &st) < 0) {
                fail_iv(j, "partial file: %s", strerror(errno));
                return;
        }
        j->off = (uint64_t)st.st_size;
        if (j->off > e->size) {
                if (ftruncate(j->fd, 0) < 0) {
                        fail_iv(j, "partial file: %s", strerror(errno));
                        return;
                }
                j->off = 0;
        }
        if (j->off) {
                log_notice("camera '%s': resuming '%s' at byte %llu of %llu", j->cam->id, e->name,
                           (unsigned long long)j->off, (unsigned long long)e->size);
                j->iv->bytes_done += j->off;
        }
        if (j->off >= e->size) {
                complete(j);
                return;
        }
        pump(j);
}

static void ask_index(struct anr_job *j);

static void on_index(void *ud, const struct bus_reply *rep)
{
        struct anr_job *j = ud;
        const msgpack_object *ents;
        struct anr_cam *c = j->cam;
        const char *field;

        j->idx_inflight = false;
        if (!c) {
                if (!j->r_n)
                        job_free(j);
                return;
        }
        if (rep->code == -DS_EUNAVAIL || rep->code == -ETIMEDOUT) {
                anr_fetch_abort(c, "the camera's index did not answer");
                return;
        }
        if (rep->code) {
                fail_iv(j, "anr.index: %s", rep->err.msg);
                return;
        }
        ents = mp_get(rep->r, "entries");
        if (!ents || ents->type != MSGPACK_OBJECT_ARRAY) {
                fail_iv(j, "%s", "anr.index answered without entries");
                return;
        }
        for (uint32_t i = 0; i < ents->via.array.size; i++) {
                struct anr_entry e;
                if (anr_entry_read(&ents->via.array.ptr[i], &e, &field) < 0) {
                        fail_iv(j, "anr.index: an entry with a bad '%s'", field);
                        return;
                }
                snprintf(j->after, sizeof j->after, "%s", e.name);
                if (!anr_entry_verify(c->id, &e, c->pk)) {
                        log_audit("security", LOG_LVL_WARNING, NULL,
                                  "camera '%s': index entry '%s' is not signed by the camera's key: not fetched", c->id,
                                  e.name);
                        snprintf(j->iv->reason, sizeof j->iv->reason, "'%s': signature does not verify", e.name);
                        j->iv->segs_failed++;
                        continue;
                }
                if (push(&j->seen, &j->n_seen, &j->cap_seen, &e) < 0) {
                        fail_iv(j, "%s", "out of memory");
                        return;
                }
                if (stored(j, e.name)) {
                        j->iv->segs_skipped++;
                        continue;
                }
                if (push(&j->todo, &j->n_todo, &j->cap_todo, &e) < 0) {
                        fail_iv(j, "%s", "out of memory");
                        return;
                }
                j->iv->bytes_total += e.size;
        }
        if (mp_get_bool(rep->r, "more", false)) {
                ask_index(j);
                return;
        }
        j->iv->segs_total = (uint32_t)(j->n_seen + j->iv->segs_failed);
        log_info("camera '%s': %zu segment(s) to fetch for the outage, %llu bytes", c->id, j->n_todo,
                 (unsigned long long)j->iv->bytes_total);
        anr_outage_save(j->x);
        next_segment(j);
}

static void ask_index(struct anr_job *j)
{
        struct mpw w;
        int r;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_int(&w, "since", j->since);
        mpw_kv_int(&w, "until", j->until);
        if (j->after[0])
                mpw_kv_str(&w, "after", j->after);
        mpw_map_end(&w);
        r = bus_call(j->x->d->bus, j->cam->svc, "anr.index", &w, NULL, READ_TIMEOUT_MS, on_index, j);
        mpw_free(&w);
        if (r < 0) {
                anr_fetch_abort(j->cam, "the bus refused the index request");
                return;
        }
        j->idx_inflight = true;
}

int anr_fetch_start(struct anr_ctx *x, struct anr_cam *c, struct anr_interval *iv)
{
        struct anr_job *j = calloc(1, sizeof *j);
        int r = -ENOMEM;

        if (!j)
                return -ENOMEM;
        j->x = x;
        j->cam = c;
        j->iv = iv;
        j->fd = -1;
        j->timer = -1;
        j->dir = path_join(x->store_dir, c->id);
        j->pdir = j->dir ? path_join(j->dir, ".anr") : NULL;
        if (!j->pdir || (r = state_mkdir_p(j->pdir, 0750)) < 0) {
                r = j->pdir ? r : -ENOMEM;
                log_errno(r, "camera '%s': store '%s': %m", c->id, j->dir ? j->dir : "?");
                job_free(j);
                return r;
        }
        /* a new pass counts again what it finds */
        iv->bytes_total = iv->bytes_done = 0;
        iv->segs_total = iv->segs_done = iv->segs_skipped = iv->segs_failed = 0;
        iv->missing_ms = 0;
        iv->reason[0] = 0;
        iv->state = ANR_I_FETCHING;
        iv->fill_start_ms = ds_now_real_ms();
        iv->fill_end_ms = 0;
        j->since = iv->opened_ms + iv->skew_ms - x->pre_record_ms;
        j->until = iv->closed_ms + iv->skew_ms + x->pre_record_ms;
        c->job = j;
        log_notice("camera '%s': filling the outage of %lld s (widened by %lld s)", c->id,
                   (long long)((iv->closed_ms - iv->opened_ms) / 1000), (long long)(x->pre_record_ms / 1000));
        ask_index(j);
        return c->job ? 0 : -EIO;
}

/* oldest outage first, as many cameras at a time as parallel allows */
void anr_fetch_kick(struct anr_ctx *x)
{
        int64_t now = ds_now_real_ms();
        unsigned busy;

        anr_fetch_busy(x, &busy);
        while (busy < x->parallel) {
                struct anr_cam *best = NULL;
                struct anr_interval *biv = NULL;
                for (unsigned i = 0; i < x->n_cams; i++) {
                        struct anr_cam *c = &x->cams[i];
                        if (!c->up || c->job || !c->have_pk)
                                continue;
                        for (unsigned k = 0; k < c->n_iv; k++) {
                                struct anr_interval *iv = &c->iv[k];
                                /* the segments that cover the widened end close after it */
                                if (iv->state != ANR_I_PENDING || now < iv->closed_ms + x->pre_record_ms + 2000)
                                        continue;
                                if (!biv || iv->opened_ms < biv->opened_ms) {
                                        best = c;
                                        biv = iv;
                                }
                                break;
                        }
                }
                if (!best || anr_fetch_start(x, best, biv) < 0)
                        return;
                busy++;
        }
}
