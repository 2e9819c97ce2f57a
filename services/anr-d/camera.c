/* camera.c - the camera role: the device key, the index of the recordings
 * directory (one signed entry per closed segment, each persisted atomically
 * as <state>/index/<segment>), and anr.index / anr.read / anr.key, served to
 * the NVR's identity only. */
#include <dirent.h>
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

#define INDEX_SUB "index"

int anr_key_ensure(struct anr_ctx *x)
{
        char *buf = NULL;
        size_t len = 0;
        int r;

        if (sodium_init() < 0)
                return -ENOMEM;
        r = state_read(x->d->statedir, "device.key", 256, &buf, &len);
        if (r == 0 && len == sizeof x->sk) {
                memcpy(x->sk, buf, sizeof x->sk);
                explicit_bzero(buf, len);
                free(buf);
                crypto_sign_ed25519_sk_to_pk(x->pk, x->sk);
        } else {
                if (buf) {
                        explicit_bzero(buf, len);
                        free(buf);
                }
                if (r == 0)
                        return log_errno(-EINVAL, "device key '%s/device.key' is not an Ed25519 key", x->d->statedir);
                if (r != -ENOENT)
                        return log_errno(r, "device key '%s/device.key': %m", x->d->statedir);
                crypto_sign_keypair(x->pk, x->sk);
                if ((r = state_write(x->d->statedir, "device.key", x->sk, sizeof x->sk, 0600)) < 0)
                        return log_errno(r, "device key '%s/device.key': %m", x->d->statedir);
                log_notice("generated the camera's Ed25519 device key");
        }
        ds_hex(x->pk, sizeof x->pk, x->pk_hex);
        char line[sizeof x->pk_hex + 1];
        snprintf(line, sizeof line, "%s\n", x->pk_hex);
        if ((r = state_write(x->d->statedir, "device.pub", line, strlen(line), 0644)) < 0)
                log_warn_errno(r, "public key '%s/device.pub': %m", x->d->statedir);
        return 0;
}

static int cmp_name(const void *a, const void *b)
{
        return strcmp(((const struct anr_entry *)a)->name, ((const struct anr_entry *)b)->name);
}

static struct anr_entry *idx_find(struct anr_ctx *x, const char *name)
{
        struct anr_entry key;

        snprintf(key.name, sizeof key.name, "%s", name);
        return x->n_idx ? bsearch(&key, x->idx, x->n_idx, sizeof *x->idx, cmp_name) : NULL;
}

static int idx_add(struct anr_ctx *x, const struct anr_entry *e)
{
        if (x->n_idx == x->cap_idx) {
                size_t cap = x->cap_idx ? 2 * x->cap_idx : 256;
                struct anr_entry *n = realloc(x->idx, cap * sizeof *n);
                if (!n)
                        return -ENOMEM;
                x->idx = n;
                x->cap_idx = cap;
        }
        /* names begin with the start time: appends are the common case */
        size_t at = x->n_idx;
        while (at > 0 && strcmp(x->idx[at - 1].name, e->name) > 0)
                at--;
        memmove(&x->idx[at + 1], &x->idx[at], (x->n_idx - at) * sizeof *x->idx);
        x->idx[at] = *e;
        x->n_idx++;
        return 0;
}

static char *index_dir(struct anr_ctx *x)
{
        return path_join(x->d->statedir, INDEX_SUB);
}

static int entry_save(struct anr_ctx *x, const struct anr_entry *e)
{
        char *dir = index_dir(x);
        struct mpw w;
        int r;

        if (!dir)
                return -ENOMEM;
        mpw_init(&w);
        anr_entry_write(&w, e);
        r = state_write(dir, e->name, mpw_data(&w), mpw_len(&w), 0600);
        mpw_free(&w);
        free(dir);
        return r;
}

static int hash_file(int dirfd, const char *name, uint64_t want, unsigned char out[32])
{
        EVP_MD_CTX *st = EVP_MD_CTX_new(); /* OpenSSL's SHA-256 uses the CPU's SHA extensions: libsodium's does not */
        unsigned char buf[65536];
        uint64_t total = 0;
        ssize_t n;
        int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), r = 0;

        if (fd < 0 || !st || EVP_DigestInit_ex(st, EVP_sha256(), NULL) != 1) {
                r = fd < 0 ? -errno : -ENOMEM;
                if (fd >= 0)
                        close(fd);
                EVP_MD_CTX_free(st);
                return r;
        }
        while ((n = read(fd, buf, sizeof buf)) > 0) {
                EVP_DigestUpdate(st, buf, (size_t)n);
                total += (uint64_t)n;
        }
        close(fd);
        if (n < 0)
                r = -EIO;
        else if (total != want)
                r = -EAGAIN; /* changed under us: not closed after all */
        else if (EVP_DigestFinal_ex(st, out, NULL) != 1)
                r = -EIO;
        EVP_MD_CTX_free(st);
        return r;
}

/* Indexes what is new, forgets what the media stack deleted. */
int anr_camera_scan(struct anr_ctx *x)
{
        DIR *dir = opendir(x->rec_dir);
        struct dirent *de;
        unsigned added = 0, removed = 0;
        bool complete = true;
        int r = 0;

        if (!dir)
                return -errno;
        for (size_t i = 0; i < x->n_idx; i++)
                x->idx[i].seen = false;
        while ((de = readdir(dir))) {
                const char *name = de->d_name;
                struct anr_entry e, *have;
                struct stat st;

                if (anr_segment_name_check(name, strlen(name)))
                        continue;
                if ((have = idx_find(x, name))) {
                        have->seen = true;
                        continue;
                }
                if (fstatat(dirfd(dir), name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                        continue;
                if (x->n_idx >= x->max_index) {
                        log_warn("index full (%zu entries): '%s' not indexed", x->n_idx, name);
                        complete = false;
                        break;
                }
                memset(&e, 0, sizeof e);
                memcpy(e.name, name, strlen(name) + 1); /* checked: at most ANR_NAME_MAX */
                if (anr_segment_times(name, &e.start_ms, &e.end_ms) < 0)
                        continue;
                if (!e.end_ms) /* closed at its last write */
                        e.end_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
                if (e.end_ms < e.start_ms)
                        e.end_ms = e.start_ms;
                e.size = (uint64_t)st.st_size;
                if (hash_file(dirfd(dir), name, e.size, e.sha256) < 0)
                        continue;
                if (anr_entry_sign(x->camera_id, &e, x->sk) < 0)
                        continue;
                if ((r = entry_save(x, &e)) < 0) {
                        log_warn_errno(r, "index entry '%s': %m", name);
                        continue;
                }
                e.seen = true;
                if (idx_add(x, &e) < 0) {
                        complete = false;
                        break;
                }
                added++;
        }
        closedir(dir);
        if (complete) {
                char *idir = index_dir(x);
                size_t w = 0;
                for (size_t i = 0; i < x->n_idx; i++) {
                        if (!x->idx[i].seen) {
                                if (idir)
                                        state_remove(idir, x->idx[i].name);
                                removed++;
                                continue;
                        }
                        x->idx[w++] = x->idx[i];
                }
                x->n_idx = w;
                free(idir);
        }
        if (added || removed)
                log_debug("index: %u segment(s) added, %u removed, %zu in all", added, removed, x->n_idx);
        return 0;
}

static int load_index(struct anr_ctx *x)
{
        char *dir = index_dir(x);
        DIR *dh;
        struct dirent *de;
        int r;

        if (!dir)
                return -ENOMEM;
        if ((r = state_mkdir_p(dir, 0700)) < 0 || !(dh = opendir(dir))) {
                r = r < 0 ? r : -errno;
                free(dir);
                return r;
        }
        while ((de = readdir(dh))) {
                char *buf = NULL;
                size_t len;
                msgpack_unpacked u;
                struct anr_entry e;
                const char *why, *field;

                if (anr_segment_name_check(de->d_name, strlen(de->d_name)))
                        continue;
                if (state_read(dir, de->d_name, 4096, &buf, &len) < 0)
                        continue;
                if (mp_decode(buf, len, &mp_limits_default, &u, &why) == 0) {
                        if (anr_entry_read(&u.data, &e, &field) == 0 && !strcmp(e.name, de->d_name) &&
                            anr_entry_verify(x->camera_id, &e, x->pk) && !idx_find(x, e.name))
                                idx_add(x, &e);
                        else
                                log_warn("index entry '%s' unreadable or not signed by this key: indexed again",
                                         de->d_name);
                        msgpack_unpacked_destroy(&u);
                }
                free(buf);
        }
        closedir(dh);
        free(dir);
        return 0;
}

static int on_scan(zloop_t *loop, int timer_id, void *arg)
{
        struct anr_ctx *x = arg;
        int r;

        (void)loop;
        (void)timer_id;
        if ((r = anr_camera_scan(x)) < 0)
                log_warn_errno(r, "recordings directory '%s': %m", x->rec_dir);
        return 0;
}

int anr_camera_init(struct anr_ctx *x)
{
        int r;

        if ((r = anr_key_ensure(x)) < 0)
                return r;
        if (state_mkdir_p(x->rec_dir, 0750) < 0)
                log_warn("recordings directory '%s' cannot be created: %m", x->rec_dir);
        if ((r = load_index(x)) < 0)
                return log_errno(r, "index '%s/index': %m", x->d->statedir);
        anr_camera_scan(x);
        log_notice("camera '%s': %zu segment(s) indexed in '%s', serving '%s' to '%s'", x->camera_id, x->n_idx,
                   x->rec_dir, x->svc_name, x->nvr_identity);
        return 0;
}

int anr_camera_start(struct anr_ctx *x)
{
        x->scan_timer = zloop_timer(x->d->loop, 500, 0, on_scan, x);
        return x->scan_timer < 0 ? -ENOMEM : 0;
}

void anr_camera_stop(struct anr_ctx *x)
{
        free(x->idx);
        x->idx = NULL;
        x->n_idx = x->cap_idx = 0;
        sodium_memzero(x->sk, sizeof x->sk);
}

void anr_camera_status(struct anr_ctx *x, struct mpw *w)
{
        mpw_kv_str(w, "camera", x->camera_id);
        mpw_kv_int(w, "now_ms", ds_now_real_ms());
        mpw_kv_uint(w, "segments", x->n_idx);
        mpw_kv_str(w, "public_key", x->pk_hex);
        mpw_kv_uint(w, "reads", x->reads);
        mpw_kv_uint(w, "read_bytes", x->read_bytes);
        mpw_kv_uint(w, "refused", x->refused);
}

/* Only the NVR: the bus ACL says so, and so does the camera. */
static int only_nvr(struct anr_ctx *x, struct ds_call *c)
{
        if (!x->camera_role)
                return ds_call_fail(c, -ENOENT, NULL, "%s is served by the camera role", c->m->name);
        if (strcmp(c->caller.id, x->nvr_identity)) {
                x->refused++;
                log_audit("security", LOG_LVL_WARNING, ds_call_actor(c), "'%s' refused: only '%s' may call %s",
                          c->caller.id, x->nvr_identity, c->m->name);
                return ds_call_fail(c, -EPERM, NULL, "only the NVR's identity '%s' may read this camera", x->nvr_identity);
        }
        return 0;
}

int h_anr_key(void *ctx, struct ds_call *c)
{
        struct anr_ctx *x = ctx;
        int r;

        if ((r = only_nvr(x, c)) < 0)
                return r;
        mpw_kv_str(c->r, "camera", x->camera_id);
        mpw_kv_str(c->r, "public_key", x->pk_hex);
        return 0;
}

int h_anr_index(void *ctx, struct ds_call *c)
{
        struct anr_ctx *x = ctx;
        int64_t since = ds_tb_int(c, ANR_INDEX_SINCE, 0), until = ds_tb_int(c, ANR_INDEX_UNTIL, INT64_MAX);
        int64_t max = ds_tb_int(c, ANR_INDEX_MAX, ANR_INDEX_PAGE), n = 0;
        char after[ANR_NAME_MAX + 1];
        bool more = false;
        int r;

        if ((r = only_nvr(x, c)) < 0)
                return r;
        if (until < since)
                return ds_call_fail(c, -EINVAL, "until", "must not be before since");
        ds_tb_str(c, ANR_INDEX_AFTER, after, sizeof after);
        mpw_kv_str(c->r, "camera", x->camera_id);
        mpw_kv_int(c->r, "now", ds_now_real_ms());
        mpw_str(c->r, "entries");
        mpw_arr_begin(c->r);
        for (size_t i = 0; i < x->n_idx; i++) {
                const struct anr_entry *e = &x->idx[i];
                if (after[0] && strcmp(e->name, after) <= 0)
                        continue;
                if (!anr_overlaps(e->start_ms, e->end_ms, since, until))
                        continue;
                if (n == max) {
                        more = true;
                        break;
                }
                anr_entry_write(c->r, e);
                n++;
        }
        mpw_arr_end(c->r);
        mpw_kv_bool(c->r, "more", more);
        return 0;
}

int h_anr_read(void *ctx, struct ds_call *c)
{
        struct anr_ctx *x = ctx;
        char name[ANR_NAME_MAX + 1];
        int64_t off = ds_tb_int(c, ANR_READ_OFFSET, 0), len = ds_tb_int(c, ANR_READ_LENGTH, ANR_READ_MAX);
        const struct anr_entry *e;
        unsigned char *buf;
        ssize_t got;
        int fd, r;

        if ((r = only_nvr(x, c)) < 0)
                return r;
        ds_tb_str(c, ANR_READ_SEGMENT, name, sizeof name);
        if (!(e = idx_find(x, name)))
                return ds_call_fail(c, -ENOENT, "segment", "'%s' is not in the index", name);
        if ((uint64_t)off > e->size)
                return ds_call_fail(c, -EINVAL, "offset", "beyond the segment's %llu bytes", (unsigned long long)e->size);
        if ((uint64_t)len > e->size - (uint64_t)off)
                len = (int64_t)(e->size - (uint64_t)off);
        {
                int dfd = open(x->rec_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        return ds_call_fail(c, -EIO, NULL, "recordings directory: %s", strerror(errno));
                fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                close(dfd);
        }
        if (fd < 0)
                return ds_call_fail(c, -ENOENT, "segment", "'%s': %s", name, strerror(errno));
        if (!(buf = malloc(len ? (size_t)len : 1))) {
                close(fd);
                return ds_call_fail(c, -ENOMEM, NULL, "out of memory");
        }
        got = len ? pread(fd, buf, (size_t)len, off) : 0;
        close(fd);
        if (got < 0) {
                free(buf);
                return ds_call_fail(c, -EIO, "segment", "'%s': %s", name, strerror(errno));
        }
        mpw_kv_uint(c->r, "size", e->size);
        mpw_kv_int(c->r, "offset", off);
        mpw_str(c->r, "data");
        mpw_bin(c->r, buf, (size_t)got);
        mpw_kv_bool(c->r, "eof", (uint64_t)(off + got) >= e->size);
        free(buf);
        x->reads++;
        x->read_bytes += (uint64_t)got;
        return 0;
}
