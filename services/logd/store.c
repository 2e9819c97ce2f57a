/* store.c - append-only segments: per-record checksum, hash chain, forward-secure
 * seals (the format: common/seal.h), rotation, quota and retention.
 *
 * The epoch of a seal is bound to time, e = (ts - t0) / interval; the key moves
 * on to a later epoch before a record of that epoch is written, and on the 1 s
 * tick, so a key taken from the device forges no seal of an earlier epoch.
 * Records are encoded straight into the write buffer, hashed there with a reused
 * context and framed in place: one write() per batch, fdatasync per seal. */
#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "state.h"
#include "store_impl.h"
#include "util.h"

#define WBUF_CAP (256 * 1024)

static char *seg_path(const logd_store_t *s, const char *name)
{
        return path_join(s->dir, name);
}

int logd_seg_load(const logd_store_t *s, size_t i, char **ret, size_t *ret_len)
{
        if (i >= s->n_segs)
                return -ENOENT;
        return state_read(s->dir, s->segs[i].name, LOGD_SEG_LOAD_MAX, ret, ret_len);
}

static int seg_add(logd_store_t *s, const char *name, uint64_t first)
{
        struct logd_seg *g;

        if (s->n_segs == s->cap_segs) {
                size_t cap = s->cap_segs ? s->cap_segs * 2 : 16;
                struct logd_seg *n = realloc(s->segs, cap * sizeof *n);
                if (!n)
                        return -ENOMEM;
                s->segs = n;
                s->cap_segs = cap;
        }
        g = &s->segs[s->n_segs++];
        memset(g, 0, sizeof *g);
        snprintf(g->name, sizeof g->name, "%s", name);
        g->first = first;
        g->last = first - 1;
        return 0;
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What a scan of one segment found; good_end: the end of the last good frame. */
struct scan {
        uint64_t last_seq;
        uint8_t head[LOGD_HASH_LEN];
        uint64_t last_seal_epoch, last_seal_seq, last_seal_n;
        bool have_seal, have_rec;
        int stop; /* 0, -EAGAIN (incomplete tail), -EBADMSG */
        size_t good_end;
};

static int seg_scan(logd_store_t *s, size_t i, const char *buf, size_t len, struct scan *sc)
{
        struct logd_seg *g = &s->segs[i];
        struct seal_frame f;
        size_t off = SEAL_SEG_HDR_LEN, next;

        if (seal_seg_header_parse(buf, len, &g->first, sc->head) < 0)
                return -EBADMSG;
        g->last = g->first - 1;
        sc->stop = 0;
        while (off < len) {
                int r = seal_frame_parse(buf, len, off, &f, &next);
                if (r < 0) {
                        sc->stop = r;
                        break;
                }
                if (f.type == SEAL_FRAME_RECORD) {
                        struct seal_peek p;
                        if (seal_rec_peek(f.payload, f.len, &p) == 0) {
                                if (!g->ts_first)
                                        g->ts_first = p.ts;
                                g->ts_last = p.ts;
                                g->last = p.seq;
                                sc->last_seq = p.seq;
                                sc->have_rec = true;
                        }
                        memcpy(sc->head, f.tail, LOGD_HASH_LEN);
                } else {
                        struct seal_info si;
                        if (seal_info_decode(f.payload, f.len, &si) == 0) {
                                sc->last_seal_epoch = si.epoch;
                                sc->last_seal_n = si.n;
                                sc->last_seal_seq = si.seq;
                                sc->have_seal = true;
                        }
                }
                off = next;
        }
        sc->good_end = off;
        g->size = len;
        return 0;
}

int logd_seg_create(logd_store_t *s)
{
        uint8_t hdr[SEAL_SEG_HDR_LEN];
        char name[SEAL_SEG_NAME_MAX], *path;
        int fd, r;

        seal_seg_name(s->next_seq, name);
        path = seg_path(s, name);
        if (!path)
                return -ENOMEM;
        seal_seg_header(hdr, s->next_seq, s->head);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST) {
                /* an empty segment of the same first seq from a damaged run: replace it */
                char alt[64];
                snprintf(alt, sizeof alt, "seg-%020llu.%lld.damaged", (unsigned long long)s->next_seq,
                         (long long)ds_now_real_ms());
                char *ap = seg_path(s, alt);
                if (ap && rename(path, ap) == 0)
                        log_warn("store: kept damaged segment '%s' as '%s'", name, alt);
                free(ap);
                for (size_t i = 0; i < s->n_segs; i++)
                        if (!strcmp(s->segs[i].name, name)) {
                                memmove(&s->segs[i], &s->segs[i + 1], (s->n_segs - i - 1) * sizeof *s->segs);
                                s->n_segs--;
                                break;
                        }
                fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
        }
        if (fd < 0) {
                r = log_errno(-errno, "store: create '%s': %m", path);
                free(path);
                return r;
        }
        free(path);
        if (write(fd, hdr, sizeof hdr) != (ssize_t)sizeof hdr) {
                r = -errno ?: -EIO;
                close(fd);
                return log_errno(r, "store: write segment header '%s': %m", name);
        }
        r = seg_add(s, name, s->next_seq);
        if (r < 0) {
                close(fd);
                return r;
        }
        s->segs[s->n_segs - 1].size = sizeof hdr;
        s->flushed_size = sizeof hdr;
        s->total_bytes += sizeof hdr;
        if (s->fd >= 0)
                close(s->fd);
        s->fd = fd;
        {
                int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd >= 0) {
                        fsync(dfd);
                        close(dfd);
                }
        }
        return 0;
}

int logd_store_open(const char *dir, const char *keydir, const struct logd_store_cfg *cfg, logd_store_t **ret)
{
        logd_store_t *s;
        DIR *dh = NULL;
        struct dirent *de;
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct scan sc = { 0 };
        bool have_last = false, damaged = false, any_seal = false;
        uint64_t max_n = 0;
        uint64_t max_epoch = 0, max_sealed = 0;
        int r;

        if (sodium_init() < 0)
                return -EIO;
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->fd = -1;
        s->cfg = *cfg;
        s->wcap = WBUF_CAP;
        s->wbuf = malloc(s->wcap);
        s->hasher = seal_hasher_new();
        if (!s->wbuf || !s->hasher) {
                r = -ENOMEM;
                goto fail;
        }
        if (!(s->dir = strdup(dir)) || !(s->keydir = strdup(keydir))) {
                r = -ENOMEM;
                goto fail;
        }
        if ((r = state_mkdir_p(dir, 0700)) < 0 || (r = state_mkdir_p(keydir, 0700)) < 0) {
                log_errno(r, "store: directory '%s': %m", dir);
                goto fail;
        }
        dh = opendir(dir);
        if (!dh) {
                r = log_errno(-errno, "store: open '%s': %m", dir);
                goto fail;
        }
        while ((de = readdir(dh))) {
                size_t l = strlen(de->d_name);

                if (seal_seg_name_check(de->d_name, l))
                        continue;
                if (n == cap) {
                        char **nn = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof *nn);
                        if (!nn) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        names = nn;
                }
                if (!(names[n] = strdup(de->d_name))) {
                        r = -ENOMEM;
                        goto fail;
                }
                n++;
        }
        closedir(dh);
        dh = NULL;
        if (n)
                qsort(names, n, sizeof *names, name_cmp);
        memset(s->head, 0, sizeof s->head);
        s->next_seq = 1;
        for (size_t i = 0; i < n; i++) {
                char *buf = NULL;
                size_t len;
                bool last = i == n - 1;

                if ((r = seg_add(s, names[i], 0)) < 0)
                        goto fail;
                r = logd_seg_load(s, s->n_segs - 1, &buf, &len);
                if (r < 0) {
                        log_errno(r, "store: read '%s': %m", names[i]);
                        goto fail;
                }
                memset(&sc, 0, sizeof sc);
                r = seg_scan(s, s->n_segs - 1, buf, len, &sc);
                if (r == -EBADMSG && last && len < SEAL_SEG_HDR_LEN) {
                        /* a segment whose header was torn (killed in a rotation):
                         * nothing in it, remove; the chain goes on from the head
                         * of the segment before, already in s->head */
                        char *p = seg_path(s, names[i]);
                        if (p && unlink(p) == 0) {
                                s->torn_truncated += len;
                                log_audit("security", LOG_LVL_WARNING, NULL,
                                          "logd: removed segment '%s' with a torn header (%zu bytes) at start-up",
                                          names[i], len);
                        } else {
                                log_warn("store: cannot remove segment '%s' with a torn header: %m", names[i]);
                        }
                        free(p);
                        s->n_segs--;
                        free(buf);
                        continue;
                }
                if (r < 0) {
                        log_warn("store: segment '%s' has a bad header; verification will name it", names[i]);
                        s->segs[s->n_segs - 1].size = len;
                        s->total_bytes += len;
                        free(buf);
                        damaged = true;
                        continue;
                }
                if (last && sc.stop == -EAGAIN) {
                        /* torn last record: cut it so that appends continue a clean file */
                        char *p = seg_path(s, names[i]);
                        if (p && truncate(p, (off_t)sc.good_end) == 0) {
                                s->torn_truncated += len - sc.good_end;
                                log_audit("security", LOG_LVL_WARNING, NULL,
                                          "logd: truncated a torn last record (%zu bytes) of '%s' at start-up",
                                          len - sc.good_end, names[i]);
                                s->segs[s->n_segs - 1].size = sc.good_end;
                                len = sc.good_end;
                        } else {
                                damaged = true;
                        }
                        free(p);
                } else if (sc.stop) {
                        damaged = last ? true : damaged;
                }
                s->total_bytes += s->segs[s->n_segs - 1].size;
                if (sc.have_rec) {
                        s->next_seq = sc.last_seq + 1 > s->next_seq ? sc.last_seq + 1 : s->next_seq;
                }
                if (i > 0 && seal_seg_starts_chain(buf, len)) {
                        /* a new chain (factory reset): its seals, under its own key, count alone */
                        any_seal = false;
                        max_n = max_epoch = max_sealed = 0;
                }
                if (sc.have_seal) {
                        any_seal = true;
                        if (sc.last_seal_epoch >= max_epoch)
                                max_epoch = sc.last_seal_epoch;
                        if (sc.last_seal_seq > max_sealed)
                                max_sealed = sc.last_seal_seq;
                        if (sc.last_seal_n > max_n)
                                max_n = sc.last_seal_n;
                }
                if (s->segs[s->n_segs - 1].ts_last > s->last_ts)
                        s->last_ts = s->segs[s->n_segs - 1].ts_last;
                /* the head of every segment read, so that a last one removed
                 * above leaves the head of the one before */
                memcpy(s->head, sc.head, LOGD_HASH_LEN);
                if (last)
                        have_last = !sc.stop || sc.stop == -EAGAIN;
                free(buf);
        }
        r = logd_key_load(s);
        if (r == -EPROTO) {
                log_audit("security", LOG_LVL_WARNING, NULL,
                          "logd: seal key of an older format; starting a new time-bound key (earlier seals "
                          "verify only with the old key)");
                r = -ENOENT;
        }
        if (r == -ENOENT) {
                if (s->n_segs)
                        log_audit("security", LOG_LVL_ERR, NULL,
                                  "logd: seal key missing with a store present; starting a new key");
                if ((r = logd_key_new(s)) < 0)
                        goto fail;
        } else if (r < 0) {
                log_errno(r, "store: seal key unreadable: %m");
                goto fail;
        }
        /* a seal written but the key state not yet saved: catch up */
        if (any_seal && (max_n >= s->seal_n || max_epoch > s->ks.epoch || max_sealed > s->sealed_seq)) {
                if (max_n >= s->seal_n)
                        s->seal_n = max_n + 1;
                if (max_epoch > s->ks.epoch && seal_key_seek(&s->ks, max_epoch) < 0) {
                        r = -EINVAL;
                        goto fail;
                }
                if (max_sealed > s->sealed_seq)
                        s->sealed_seq = max_sealed;
                if ((r = logd_key_save(s)) < 0)
                        goto fail;
        }
        if (any_seal && logd_epoch_start(s, max_epoch) > s->last_ts)
                s->last_ts = logd_epoch_start(s, max_epoch);
        s->unsealed = s->next_seq - 1 > s->sealed_seq ? (uint32_t)(s->next_seq - 1 - s->sealed_seq) : 0;
        if (have_last && !damaged) {
                char *p = seg_path(s, s->segs[s->n_segs - 1].name);
                s->fd = p ? open(p, O_WRONLY | O_APPEND | O_CLOEXEC) : -1;
                free(p);
                s->flushed_size = s->segs[s->n_segs - 1].size;
                if (s->fd < 0) {
                        r = log_errno(-errno, "store: open active segment: %m");
                        goto fail;
                }
        } else if ((r = logd_seg_create(s)) < 0) {
                goto fail;
        }
        s->last_seal_mono = ds_now_mono_ms();
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        *ret = s;
        return 0;
fail:
        if (dh)
                closedir(dh);
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        logd_store_close(&s);
        return r;
}

void logd_store_close(logd_store_t **sp)
{
        logd_store_t *s = sp ? *sp : NULL;

        if (!s)
                return;
        if (s->fd >= 0) {
                logd_store_flush(s);
                fdatasync(s->fd);
                close(s->fd);
                logd_key_save(s); /* the seal count, so that the next start need not catch up */
        }
        free(s->wbuf);
        seal_hasher_destroy(&s->hasher);
        seal_key_wipe(&s->ks);
        free(s->segs);
        free(s->dir);
        free(s->keydir);
        free(s);
        *sp = NULL;
}

void logd_store_configure(logd_store_t *s, const struct logd_store_cfg *cfg)
{
        s->cfg = *cfg;
}

void logd_store_info(const logd_store_t *s, struct logd_store_info *ret)
{
        *ret = (struct logd_store_info){
                .first_seq = s->n_segs ? s->segs[0].first : 0,
                .last_seq = s->next_seq - 1,
                .segments = s->n_segs,
                .bytes = s->total_bytes,
                .quota_bytes = s->cfg.quota_bytes,
                .sealed_seq = s->sealed_seq,
                .seals_made = s->seal_n,
                .seal_epoch = s->ks.epoch,
                .unsealed = s->unsealed,
                .last_seal_mono = s->last_seal_mono,
                .key_t0 = s->key_t0,
                .key_iv = s->key_iv,
                .key_exported = !s->init_key_pending,
                .write_errors = s->write_errors,
                .torn_truncated = s->torn_truncated,
                .records_written = s->records_written,
        };
}

int logd_store_seg(const logd_store_t *s, size_t i, struct logd_seg *ret)
{
        if (i >= s->n_segs)
                return -ENOENT;
        *ret = s->segs[i];
        return 0;
}

ssize_t logd_store_find(const logd_store_t *s, uint64_t seq)
{
        for (size_t i = s->n_segs; i-- > 0;)
                if (seq >= s->segs[i].first)
                        return (ssize_t)i;
        return -1;
}

ssize_t logd_store_find_name(const logd_store_t *s, const char *name)
{
        for (size_t i = 0; i < s->n_segs; i++)
                if (!strcmp(s->segs[i].name, name))
                        return (ssize_t)i;
        return -ENOENT;
}

int logd_store_pread(logd_store_t *s, size_t i, uint64_t off, void *buf, size_t size, size_t *ret_n)
{
        char *p;
        ssize_t n;
        int fd;

        if (i >= s->n_segs)
                return -ENOENT;
        if (i == s->n_segs - 1 && s->wlen)
                logd_store_flush(s);
        if (off > s->segs[i].size)
                return -ERANGE;
        if (size > s->segs[i].size - off)
                size = (size_t)(s->segs[i].size - off);
        p = seg_path(s, s->segs[i].name);
        fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
        free(p);
        if (fd < 0)
                return p ? -errno : -ENOMEM;
        n = size ? pread(fd, buf, size, (off_t)off) : 0;
        if (n < 0) {
                int e = -errno;
                close(fd);
                return e;
        }
        close(fd);
        *ret_n = (size_t)n;
        return 0;
}

int logd_store_flush(logd_store_t *s)
{
        struct logd_seg *g = &s->segs[s->n_segs - 1];
        size_t off = 0;
        int r = 0;

        while (off < s->wlen) {
                ssize_t n = write(s->fd, s->wbuf + off, s->wlen - off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        r = n < 0 ? -errno : -EIO;
                        break;
                }
                off += (size_t)n;
        }
        if (r < 0) {
                /* never leave half a batch: cut back to what was on disk; verify
                 * will report the lost records as a truncation */
                if (ftruncate(s->fd, (off_t)s->flushed_size) < 0)
                        log_warn("store: cannot undo a short write: %m");
                s->write_errors++;
                s->total_bytes -= g->size - s->flushed_size;
                g->size = s->flushed_size;
                log_errno(r, "store: write to '%s': %m", g->name);
        } else {
                s->flushed_size += s->wlen;
        }
        s->wlen = 0;
        return r;
}

static int frame_write(logd_store_t *s, int type, const void *payload, size_t len, const uint8_t tail[LOGD_HASH_LEN])
{
        size_t total = SEAL_FRAME_SIZE(len);
        struct logd_seg *g = &s->segs[s->n_segs - 1];
        int r;

        if (len > SEAL_PAYLOAD_MAX)
                return -EMSGSIZE;
        if (s->wlen + total > s->wcap && (r = logd_store_flush(s)) < 0)
                return r;
        s->wlen += seal_frame_put(s->wbuf + s->wlen, type, payload, len, tail);
        g->size += total;
        s->total_bytes += total;
        return 0;
}

static int seal_write(logd_store_t *s, bool force);
static int store_advance(logd_store_t *s, uint64_t e);

int logd_store_append(logd_store_t *s, struct seal_rec *rec)
{
        uint8_t h[LOGD_HASH_LEN], *p;
        struct logd_seg *g;
        size_t len, total;
        uint64_t e = seal_epoch_of(s->key_t0, s->key_iv, rec->ts);
        int r;

        if (e > s->ks.epoch) {
                /* a new epoch: what the old key covers is sealed, then it goes */
                if ((r = store_advance(s, e)) < 0)
                        return r;
        } else if (e < s->ks.epoch && rec->ts >= s->last_ts) {
                /* the clock is behind the key: a seal of the key's epoch first
                 * shows in the store that time went back */
                if ((r = seal_write(s, true)) < 0)
                        return r;
        }
        /* encoded straight into the write buffer, hashed there, framed around it */
        if (s->wlen + SEAL_FRAME_SIZE(SEAL_REC_PUT_MAX) > s->wcap && (r = logd_store_flush(s)) < 0)
                return r;
        rec->seq = s->next_seq;
        p = s->wbuf + s->wlen;
        if (!(len = seal_rec_put(p + SEAL_FRAME_HDR, rec)) || len > SEAL_PAYLOAD_MAX)
                return -EMSGSIZE;
        if ((r = seal_chain_next(s->hasher, s->head, p + SEAL_FRAME_HDR, len, h)) < 0)
                return r;
        total = seal_frame_close(p, SEAL_FRAME_RECORD, len, h);
        s->wlen += total;
        g = &s->segs[s->n_segs - 1];
        g->size += total;
        s->total_bytes += total;
        memcpy(s->head, h, LOGD_HASH_LEN);
        if (!g->ts_first)
                g->ts_first = rec->ts;
        g->ts_last = rec->ts;
        g->last = rec->seq;
        if (rec->ts > s->last_ts)
                s->last_ts = rec->ts;
        s->next_seq++;
        s->unsealed++;
        s->records_written++;
        if (s->cfg.seal_every && s->unsealed >= s->cfg.seal_every)
                return logd_store_seal(s);
        return 0;
}

/* The seal's frame is made durable with the records before it (fdatasync). The
 * key state on disk changes only when the key moves on (store_advance): the
 * seal count and the sealed record are read back from the seals at start-up. */
static int seal_write(logd_store_t *s, bool force)
{
        uint8_t mac[LOGD_HASH_LEN];
        struct seal_info si = { .epoch = s->ks.epoch, .n = s->seal_n, .seq = s->next_seq - 1, .ts = ds_now_real_ms() };
        struct mpw w;
        int r;

        if (!s->unsealed && !force)
                return 0;
        mpw_init(&w);
        seal_info_encode(&w, &si);
        seal_mac(seal_key_current(&s->ks), si.epoch, si.n, si.seq, s->head, mac);
        r = frame_write(s, SEAL_FRAME_SEAL, mpw_data(&w), mpw_len(&w), mac);
        mpw_free(&w);
        if (r == 0)
                r = logd_store_flush(s);
        if (r < 0)
                return r;
        if (fdatasync(s->fd) < 0)
                log_warn("store: fdatasync: %m");
        s->seal_n++;
        s->sealed_seq = si.seq;
        s->unsealed = 0;
        s->last_seal_mono = ds_now_mono_ms();
        if (logd_epoch_start(s, s->ks.epoch) > s->last_ts)
                s->last_ts = logd_epoch_start(s, s->ks.epoch);
        return s->saved_epoch != s->ks.epoch ? logd_key_save(s) : 0;
}

int logd_store_seal(logd_store_t *s)
{
        return seal_write(s, false);
}

static int store_advance(logd_store_t *s, uint64_t e)
{
        int r = logd_store_seal(s);

        if (r < 0)
                return r;
        if ((r = seal_key_seek(&s->ks, e)) < 0)
                return r;
        /* the earlier key is gone from memory; now from the disk too */
        return logd_key_save(s);
}

int logd_store_tick(logd_store_t *s, int64_t now_ms)
{
        uint64_t e = seal_epoch_of(s->key_t0, s->key_iv, now_ms);

        return e > s->ks.epoch ? store_advance(s, e) : 0;
}

bool logd_store_rotate_due(const logd_store_t *s, int64_t now_ms)
{
        const struct logd_seg *g = &s->segs[s->n_segs - 1];

        if (g->last < g->first)
                return false;
        if (s->cfg.seg_max_bytes && g->size >= s->cfg.seg_max_bytes)
                return true;
        return s->cfg.seg_max_age_s > 0 && g->ts_first && now_ms - g->ts_first >= s->cfg.seg_max_age_s * 1000;
}

int logd_store_rotate(logd_store_t *s)
{
        int r = logd_store_seal(s);

        if (r == 0)
                r = logd_store_flush(s);
        if (r < 0)
                return r;
        return logd_seg_create(s);
}

/* The chain hash segment i continues, from its header. */
static int seg_prev(const logd_store_t *s, size_t i, uint8_t prev[LOGD_HASH_LEN])
{
        char *p = seg_path(s, s->segs[i].name);
        uint8_t hdr[SEAL_SEG_HDR_LEN];
        ssize_t n;
        int fd;

        if (!p)
                return -ENOMEM;
        fd = open(p, O_RDONLY | O_CLOEXEC);
        free(p);
        if (fd < 0)
                return -errno;
        n = pread(fd, hdr, sizeof hdr, 0);
        close(fd);
        if (n != (ssize_t)sizeof hdr)
                return -EBADMSG;
        return seal_seg_header_parse(hdr, sizeof hdr, NULL, prev);
}

struct seal_rec *logd_own_rec(const char *category, const char *level, const char *user)
{
        struct seal_rec *rec = calloc(1, sizeof *rec);

        if (!rec)
                return NULL;
        rec->ts = ds_now_real_ms();
        rec->mono = ds_now_mono_ms();
        snprintf(rec->service, sizeof rec->service, "logd");
        snprintf(rec->category, sizeof rec->category, "%s", category);
        snprintf(rec->level, sizeof rec->level, "%s", level);
        snprintf(rec->user, sizeof rec->user, "%s", user ? user : "");
        snprintf(rec->src, sizeof rec->src, "logd");
        return rec;
}

/* Before a segment goes, a prune record says so and is sealed: a verifier then
 * knows that the store honestly starts where the record says (first_kept, and
 * the chain hash that segment continues). */
static int write_prune_record(logd_store_t *s, const struct logd_seg *g, uint64_t first_kept, const uint8_t *head,
                              const char *why)
{
        struct seal_rec *rec = logd_own_rec("system", "notice", NULL);
        int r;

        if (!rec)
                return -ENOMEM;
        snprintf(rec->msg, sizeof rec->msg, "logd: removed segment '%s' (records %llu-%llu, %s)", g->name,
                 (unsigned long long)g->first, (unsigned long long)g->last, why);
        rec->prune = true;
        rec->prune_first_kept = first_kept;
        memcpy(rec->prune_head, head, LOGD_HASH_LEN);
        r = logd_store_append(s, rec);
        free(rec);
        if (r == 0)
                r = logd_store_seal(s);
        return r;
}

int logd_store_prune(logd_store_t *s, int64_t now_ms, uint64_t forwarded_to)
{
        int removed = 0;

        while (s->n_segs > 1) {
                struct logd_seg *g = &s->segs[0];
                bool over = s->cfg.quota_bytes && s->total_bytes > s->cfg.quota_bytes;
                bool old = s->cfg.retention_s > 0 && g->ts_last && now_ms - g->ts_last > s->cfg.retention_s * 1000;
                uint8_t head[LOGD_HASH_LEN];
                char *p;
                int r;

                if (!over && !old)
                        break;
                if (g->last >= g->first && g->last > forwarded_to)
                        break; /* not yet forwarded: keep it */
                if ((r = seg_prev(s, 1, head)) < 0)
                        return log_errno(r, "store: cannot read the header of '%s': %m", s->segs[1].name);
                if ((r = write_prune_record(s, g, s->segs[1].first, head, over ? "quota" : "retention")) < 0)
                        return log_errno(r, "store: cannot record the removal of '%s': %m", g->name);
                g = &s->segs[0];
                p = seg_path(s, g->name);
                if (!p || unlink(p) < 0) {
                        r = log_errno(-errno, "store: remove '%s': %m", g->name);
                        free(p);
                        return r;
                }
                free(p);
                log_notice("store: removed segment '%s' (records %llu-%llu, %s)", g->name, (unsigned long long)g->first,
                           (unsigned long long)g->last, over ? "quota" : "retention");
                s->total_bytes -= g->size < s->total_bytes ? g->size : s->total_bytes;
                memmove(&s->segs[0], &s->segs[1], (s->n_segs - 1) * sizeof *s->segs);
                s->n_segs--;
                removed++;
        }
        return removed;
}

int logd_store_maintain(logd_store_t *s, int64_t now_ms, uint64_t keep_from)
{
        int r;

        if (logd_store_rotate_due(s, now_ms) && (r = logd_store_rotate(s)) < 0)
                return r;
        if (s->n_segs < 2)
                return 0;
        return logd_store_prune(s, now_ms, keep_from);
}
