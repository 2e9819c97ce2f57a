/* store.c - append-only segments: per-record checksum, hash chain, forward-secure seals.
 *
 * Segment file seg-<first seq>.log:
 *   "DSLOGSG1" | u64 first seq | prev chain hash[32] | crc32c    (header)
 *   frames: u32 len | u8 type | 3 x 0 | payload[len] | tail[32] | crc32c(all before)
 * A record's tail is its chain hash H(prev || payload); a seal's tail is
 * HMAC(k_e, "devsec-seal2" || epoch || n || seq || head) (common/seal.c). The
 * epoch is bound to time, e = (ts - t0) / interval; the key moves on to a later
 * epoch before a record of that epoch is written, and on the 1 s tick, so a key
 * taken from the device forges no seal of an earlier epoch. */
#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "logd.h"
#include "state.h"
#include "util.h"

#define KEY_FILE "seal.key"
#define INIT_FILE "seal.init"
#define WBUF_CAP (256 * 1024)

static void put32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p)
{
        return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static int copy_str(const msgpack_object *map, const char *key, char *buf, size_t size)
{
        const msgpack_object *o = mp_get(map, key);

        buf[0] = '\0';
        if (!o)
                return 0;
        return mp_strcpy(o, buf, size) < 0 ? -EBADMSG : 0;
}

int logd_rec_decode(const char *payload, size_t len, struct logd_rec *rec)
{
        msgpack_unpacked u;
        const msgpack_object *m;
        size_t off = 0;
        int r = -EBADMSG;

        msgpack_unpacked_init(&u);
        if (msgpack_unpack_next(&u, payload, len, &off) != MSGPACK_UNPACK_SUCCESS || u.data.type != MSGPACK_OBJECT_MAP)
                goto out;
        m = &u.data;
        memset(rec, 0, offsetof(struct logd_rec, msg));
        rec->msg[0] = '\0';
        rec->fields = NULL;
        rec->fields_len = 0;
        rec->prune = false;
        rec->seq = (uint64_t)mp_get_int(m, "seq", 0);
        rec->ts = mp_get_int(m, "ts", 0);
        rec->pub_ts = mp_get_int(m, "pts", 0);
        rec->mono = mp_get_int(m, "mono", 0);
        if (copy_str(m, "svc", rec->service, sizeof rec->service) < 0 ||
            copy_str(m, "cat", rec->category, sizeof rec->category) < 0 ||
            copy_str(m, "lvl", rec->level, sizeof rec->level) < 0 || copy_str(m, "user", rec->user, sizeof rec->user) < 0 ||
            copy_str(m, "src", rec->src, sizeof rec->src) < 0 || copy_str(m, "msg", rec->msg, sizeof rec->msg) < 0)
                goto out;
        /* structured fields, re-encoded into the record's own buffer */
        {
                const msgpack_object *f = mp_get(m, "f");
                if (f && f->type == MSGPACK_OBJECT_MAP) {
                        struct mpw t;
                        mpw_init(&t);
                        mpw_obj(&t, f);
                        if (mpw_len(&t) <= sizeof rec->fbuf) {
                                memcpy(rec->fbuf, mpw_data(&t), mpw_len(&t));
                                rec->fields = rec->fbuf;
                                rec->fields_len = mpw_len(&t);
                        }
                        mpw_free(&t);
                }
        }
        r = rec->seq ? 0 : -EBADMSG;
out:
        msgpack_unpacked_destroy(&u);
        return r;
}

static void rec_encode(struct mpw *w, const struct logd_rec *rec)
{
        mpw_map_begin(w);
        mpw_kv_uint(w, "seq", rec->seq);
        mpw_kv_int(w, "ts", rec->ts);
        if (rec->pub_ts)
                mpw_kv_int(w, "pts", rec->pub_ts);
        mpw_kv_int(w, "mono", rec->mono);
        mpw_kv_str(w, "svc", rec->service);
        mpw_kv_str(w, "cat", rec->category);
        mpw_kv_str(w, "lvl", rec->level);
        mpw_kv_str(w, "user", rec->user);
        mpw_kv_str(w, "src", rec->src);
        mpw_kv_str(w, "msg", rec->msg);
        if (rec->fields && rec->fields_len) {
                mpw_str(w, "f");
                mpw_raw(w, rec->fields, rec->fields_len);
        }
        if (rec->prune) {
                mpw_str(w, "prune");
                mpw_map_begin(w);
                mpw_kv_uint(w, "first_kept", rec->prune_first_kept);
                mpw_str(w, "head");
                mpw_bin(w, rec->prune_head, LOGD_HASH_LEN);
                mpw_map_end(w);
        }
        mpw_map_end(w);
}

static char *seg_path(const logd_store_t *s, const char *name)
{
        return path_join(s->dir, name);
}

int logd_seg_load(const logd_store_t *s, size_t i, char **ret, size_t *ret_len)
{
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

/* Scans one segment's frames; fills meta. Returns the offset of the end of the
 * last good frame; *ret_bad: stopped at a frame that does not parse. */
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
        size_t off = LOGD_SEG_HDR_LEN, next;
        struct logd_rec *rec;

        if (len < LOGD_SEG_HDR_LEN || memcmp(buf, LOGD_SEG_MAGIC, 8) ||
            seal_crc32c(0, buf, LOGD_SEG_HDR_LEN - 4) != get32((const uint8_t *)buf + LOGD_SEG_HDR_LEN - 4))
                return -EBADMSG;
        g->first = get64((const uint8_t *)buf + 8);
        g->last = g->first - 1;
        memcpy(sc->head, buf + 16, LOGD_HASH_LEN);
        rec = malloc(sizeof *rec);
        if (!rec)
                return -ENOMEM;
        sc->stop = 0;
        while (off < len) {
                int r = seal_frame_parse(buf, len, off, &f, &next);
                if (r < 0) {
                        sc->stop = r;
                        break;
                }
                if (f.type == LOGD_FRAME_RECORD) {
                        if (logd_rec_decode(f.payload, f.len, rec) == 0) {
                                if (!g->ts_first)
                                        g->ts_first = rec->ts;
                                g->ts_last = rec->ts;
                                g->last = rec->seq;
                                sc->last_seq = rec->seq;
                                sc->have_rec = true;
                        }
                        memcpy(sc->head, f.tail, LOGD_HASH_LEN);
                } else {
                        msgpack_unpacked u;
                        size_t o = 0;
                        msgpack_unpacked_init(&u);
                        if (msgpack_unpack_next(&u, f.payload, f.len, &o) == MSGPACK_UNPACK_SUCCESS) {
                                sc->last_seal_epoch = (uint64_t)mp_get_int(&u.data, "epoch", 0);
                                sc->last_seal_n = (uint64_t)mp_get_int(&u.data, "n", 0);
                                sc->last_seal_seq = (uint64_t)mp_get_int(&u.data, "seq", 0);
                                sc->have_seal = true;
                        }
                        msgpack_unpacked_destroy(&u);
                }
                off = next;
        }
        free(rec);
        sc->good_end = off;
        g->size = len;
        return 0;
}

static int seg_create(logd_store_t *s)
{
        uint8_t hdr[LOGD_SEG_HDR_LEN];
        char name[48], *path;
        int fd, r;

        snprintf(name, sizeof name, "seg-%020llu.log", (unsigned long long)s->next_seq);
        path = seg_path(s, name);
        if (!path)
                return -ENOMEM;
        memcpy(hdr, LOGD_SEG_MAGIC, 8);
        put64(hdr + 8, s->next_seq);
        memcpy(hdr + 16, s->head, LOGD_HASH_LEN);
        put32(hdr + 48, seal_crc32c(0, hdr, 48));
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

#define KEY_VERSION 2
#define INIT_LEN (LOGD_HASH_LEN + 16)

static int key_save(logd_store_t *s)
{
        struct mpw w;
        int r;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_int(&w, "v", KEY_VERSION);
        mpw_kv_int(&w, "t0", s->key_t0);
        mpw_kv_int(&w, "iv", s->key_iv);
        mpw_kv_uint(&w, "epoch", s->ks.epoch);
        mpw_kv_uint(&w, "n", s->seal_n);
        mpw_kv_uint(&w, "sealed_seq", s->sealed_seq);
        mpw_str(&w, "nodes");
        mpw_arr_begin(&w);
        for (size_t i = 0; i < s->ks.count; i++) {
                uint8_t b[LOGD_HASH_LEN + 9];
                memcpy(b, s->ks.n[i].k, LOGD_HASH_LEN);
                b[LOGD_HASH_LEN] = s->ks.n[i].depth;
                put64(b + LOGD_HASH_LEN + 1, s->ks.n[i].prefix);
                mpw_bin(&w, b, sizeof b);
                explicit_bzero(b, sizeof b);
        }
        mpw_arr_end(&w);
        mpw_map_end(&w);
        r = state_write(s->keydir, KEY_FILE, mpw_data(&w), mpw_len(&w), 0600);
        explicit_bzero(w.sb.data, w.sb.size);
        mpw_free(&w);
        return r < 0 ? log_errno(r, "store: save seal key: %m") : 0;
}

static int key_load(logd_store_t *s)
{
        char *buf = NULL;
        size_t len;
        msgpack_unpacked u;
        const msgpack_object *nodes;
        const char *why;
        int r;

        r = state_read(s->keydir, KEY_FILE, 16384, &buf, &len);
        if (r < 0)
                return r;
        r = mp_decode(buf, len, NULL, &u, &why);
        if (r == 0) {
                nodes = mp_get(&u.data, "nodes");
                if (mp_get_int(&u.data, "v", 0) != KEY_VERSION || !nodes || nodes->type != MSGPACK_OBJECT_ARRAY ||
                    !nodes->via.array.size || nodes->via.array.size > sizeof s->ks.n / sizeof *s->ks.n) {
                        r = -EPROTO;
                } else {
                        memset(&s->ks, 0, sizeof s->ks);
                        for (uint32_t i = 0; i < nodes->via.array.size; i++) {
                                const msgpack_object *b = &nodes->via.array.ptr[i];
                                if (b->type != MSGPACK_OBJECT_BIN || b->via.bin.size != LOGD_HASH_LEN + 9) {
                                        r = -EBADMSG;
                                        break;
                                }
                                memcpy(s->ks.n[i].k, b->via.bin.ptr, LOGD_HASH_LEN);
                                s->ks.n[i].depth = (uint8_t)b->via.bin.ptr[LOGD_HASH_LEN];
                                s->ks.n[i].prefix = get64((const uint8_t *)b->via.bin.ptr + LOGD_HASH_LEN + 1);
                        }
                        s->ks.count = nodes->via.array.size;
                        s->ks.epoch = (uint64_t)mp_get_int(&u.data, "epoch", 0);
                        s->key_t0 = mp_get_int(&u.data, "t0", 0);
                        s->key_iv = mp_get_int(&u.data, "iv", 0);
                        s->seal_n = (uint64_t)mp_get_int(&u.data, "n", 0);
                        s->sealed_seq = (uint64_t)mp_get_int(&u.data, "sealed_seq", 0);
                        if (r == 0 && (s->key_iv < 1000 || s->ks.n[0].depth != SEAL_TREE_DEPTH))
                                r = -EBADMSG;
                }
                msgpack_unpacked_destroy(&u);
        }
        explicit_bzero(buf, len);
        free(buf);
        return r;
}

static int key_new(logd_store_t *s)
{
        uint8_t init[INIT_LEN];
        int r;

        ds_random(init, LOGD_HASH_LEN);
        s->key_t0 = ds_now_real_ms();
        s->key_iv = s->cfg.epoch_ms >= 1000 ? s->cfg.epoch_ms : 10000;
        put64(init + LOGD_HASH_LEN, (uint64_t)s->key_t0);
        put64(init + LOGD_HASH_LEN + 8, (uint64_t)s->key_iv);
        seal_key_init(&s->ks, init);
        seal_key_seek(&s->ks, 0);
        s->seal_n = 0;
        s->sealed_seq = 0;
        r = state_write(s->keydir, INIT_FILE, init, sizeof init, 0600);
        explicit_bzero(init, sizeof init);
        if (r < 0)
                return log_errno(r, "store: save initial seal key: %m");
        s->init_key_pending = true;
        return key_save(s);
}

static int64_t epoch_start(const logd_store_t *s, uint64_t e)
{
        return s->key_t0 + (int64_t)e * s->key_iv;
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
        if (!s->wbuf) {
                free(s);
                return -ENOMEM;
        }
        s->dir = strdup(dir);
        s->keydir = strdup(keydir);
        if (!s->dir || !s->keydir) {
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
                if (strncmp(de->d_name, "seg-", 4) || l < 9 || strcmp(de->d_name + l - 4, ".log"))
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
                if (r == -EBADMSG && last && len < LOGD_SEG_HDR_LEN) {
                        /* a segment whose header was torn: nothing in it, remove */
                        char *p = seg_path(s, names[i]);
                        log_warn("store: removing segment '%s' with a torn header", names[i]);
                        if (p)
                                unlink(p);
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
                if (last) {
                        memcpy(s->head, sc.head, LOGD_HASH_LEN);
                        have_last = !sc.stop || sc.stop == -EAGAIN;
                }
                free(buf);
        }
        r = key_load(s);
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
                if ((r = key_new(s)) < 0)
                        goto fail;
        } else if (r < 0) {
                log_errno(r, "store: seal key unreadable: %m");
                goto fail;
        } else {
                struct stat st;
                char *ip = path_join(keydir, INIT_FILE);
                s->init_key_pending = ip && stat(ip, &st) == 0;
                free(ip);
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
                if ((r = key_save(s)) < 0)
                        goto fail;
        }
        if (any_seal && epoch_start(s, max_epoch) > s->last_ts)
                s->last_ts = epoch_start(s, max_epoch);
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
        } else if ((r = seg_create(s)) < 0) {
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
        }
        free(s->wbuf);
        seal_key_wipe(&s->ks);
        free(s->segs);
        free(s->dir);
        free(s->keydir);
        free(s);
        *sp = NULL;
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
        size_t total = LOGD_FRAME_HDR + len + LOGD_FRAME_TAIL;
        struct logd_seg *g = &s->segs[s->n_segs - 1];
        uint8_t *f;
        int r;

        if (len > LOGD_PAYLOAD_MAX)
                return -EMSGSIZE;
        if (s->wlen + total > s->wcap && (r = logd_store_flush(s)) < 0)
                return r;
        f = s->wbuf + s->wlen;
        put32(f, (uint32_t)len);
        f[4] = (uint8_t)type;
        f[5] = f[6] = f[7] = 0;
        memcpy(f + LOGD_FRAME_HDR, payload, len);
        memcpy(f + LOGD_FRAME_HDR + len, tail, LOGD_HASH_LEN);
        put32(f + total - 4, seal_crc32c(0, f, total - 4));
        s->wlen += total;
        g->size += total;
        s->total_bytes += total;
        return 0;
}

static int seal_write(logd_store_t *s, bool force);
static int logd_store_advance(logd_store_t *s, uint64_t e);

int logd_store_append(logd_store_t *s, struct logd_rec *rec)
{
        uint8_t h[LOGD_HASH_LEN];
        struct logd_seg *g;
        struct mpw w;
        int r;

        {
                uint64_t e = seal_epoch_of(s->key_t0, s->key_iv, rec->ts);
                if (e > s->ks.epoch) {
                        /* a new epoch: what the old key covers is sealed, then it goes */
                        if ((r = logd_store_advance(s, e)) < 0)
                                return r;
                } else if (e < s->ks.epoch && rec->ts >= s->last_ts) {
                        /* the clock is behind the key: a seal of the key's epoch first
                         * shows in the store that time went back */
                        if ((r = seal_write(s, true)) < 0)
                                return r;
                }
        }
        rec->seq = s->next_seq;
        mpw_init(&w);
        rec_encode(&w, rec);
        seal_chain_next(s->head, mpw_data(&w), mpw_len(&w), h);
        r = frame_write(s, LOGD_FRAME_RECORD, mpw_data(&w), mpw_len(&w), h);
        mpw_free(&w);
        if (r < 0)
                return r;
        memcpy(s->head, h, LOGD_HASH_LEN);
        g = &s->segs[s->n_segs - 1];
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

static int seal_write(logd_store_t *s, bool force)
{
        uint8_t mac[LOGD_HASH_LEN];
        uint64_t seq = s->next_seq - 1;
        struct mpw w;
        int r;

        if (!s->unsealed && !force)
                return 0;
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_uint(&w, "epoch", s->ks.epoch);
        mpw_kv_uint(&w, "n", s->seal_n);
        mpw_kv_uint(&w, "seq", seq);
        mpw_kv_int(&w, "ts", ds_now_real_ms());
        mpw_map_end(&w);
        seal_mac(seal_key_current(&s->ks), s->ks.epoch, s->seal_n, seq, s->head, mac);
        r = frame_write(s, LOGD_FRAME_SEAL, mpw_data(&w), mpw_len(&w), mac);
        mpw_free(&w);
        if (r == 0)
                r = logd_store_flush(s);
        if (r < 0)
                return r;
        if (fdatasync(s->fd) < 0)
                log_warn("store: fdatasync: %m");
        s->seal_n++;
        s->sealed_seq = seq;
        s->unsealed = 0;
        s->last_seal_mono = ds_now_mono_ms();
        if (epoch_start(s, s->ks.epoch) > s->last_ts)
                s->last_ts = epoch_start(s, s->ks.epoch);
        return key_save(s);
}

int logd_store_seal(logd_store_t *s)
{
        return seal_write(s, false);
}

static int logd_store_advance(logd_store_t *s, uint64_t e)
{
        int r = logd_store_seal(s);

        if (r < 0)
                return r;
        if ((r = seal_key_seek(&s->ks, e)) < 0)
                return r;
        /* the earlier key is gone from memory; now from the disk too */
        return key_save(s);
}

int logd_store_tick(logd_store_t *s, int64_t now_ms)
{
        uint64_t e = seal_epoch_of(s->key_t0, s->key_iv, now_ms);

        return e > s->ks.epoch ? logd_store_advance(s, e) : 0;
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
        return seg_create(s);
}

/* Before a segment goes, a prune record says so and is sealed: a verifier then
 * knows that the store honestly starts where the record says (first_kept, and
 * the chain hash that segment continues). */
static int write_prune_record(logd_store_t *s, const struct logd_seg *g, uint64_t first_kept, const uint8_t *head,
                              const char *why)
{
        struct logd_rec *rec = calloc(1, sizeof *rec);
        int r;

        if (!rec)
                return -ENOMEM;
        rec->ts = ds_now_real_ms();
        rec->mono = ds_now_mono_ms();
        snprintf(rec->service, sizeof rec->service, "logd");
        snprintf(rec->category, sizeof rec->category, "system");
        snprintf(rec->level, sizeof rec->level, "notice");
        snprintf(rec->src, sizeof rec->src, "logd");
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
                if ((r = logd_seg_prev(s, 1, head)) < 0)
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

int logd_store_seal_init(logd_store_t *s, char *text, size_t size)
{
        struct seal_vkey k;
        char *buf = NULL;
        size_t len;
        int r;

        if (size < SEAL_KEY_TEXT_MAX)
                return -EINVAL;
        r = state_read(s->keydir, INIT_FILE, 256, &buf, &len);
        if (r == -ENOENT)
                return -EEXIST;
        if (r < 0)
                return r;
        if (len != INIT_LEN) {
                explicit_bzero(buf, len);
                free(buf);
                return -EBADMSG;
        }
        memcpy(k.k0, buf, LOGD_HASH_LEN);
        k.t0_ms = (int64_t)get64((const uint8_t *)buf + LOGD_HASH_LEN);
        k.interval_ms = (int64_t)get64((const uint8_t *)buf + LOGD_HASH_LEN + 8);
        r = seal_vkey_format(&k, text, size);
        explicit_bzero(&k, sizeof k);
        explicit_bzero(buf, len);
        free(buf);
        if (r < 0)
                return r;
        {
                /* wipe the file's content before unlinking it */
                char *p = path_join(s->keydir, INIT_FILE);
                int fd = p ? open(p, O_WRONLY | O_CLOEXEC) : -1;
                if (fd >= 0) {
                        uint8_t z[INIT_LEN] = { 0 };
                        if (write(fd, z, sizeof z) < 0 || fsync(fd) < 0)
                                log_warn("store: wipe initial key: %m");
                        close(fd);
                }
                free(p);
        }
        r = state_remove(s->keydir, INIT_FILE);
        if (r < 0)
                return r;
        s->init_key_pending = false;
        return 0;
}

ssize_t logd_store_find(const logd_store_t *s, uint64_t seq)
{
        for (size_t i = s->n_segs; i-- > 0;)
                if (seq >= s->segs[i].first)
                        return (ssize_t)i;
        return -1;
}
