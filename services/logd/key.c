/* key.c - the seal key on the device: the evolving key state (the current epoch's
 * leaf and the tree nodes of later epochs, never an earlier one) and the initial
 * key, kept only until it is exported with log.seal.init. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "state.h"
#include "store_impl.h"
#include "util.h"

#define KEY_FILE "seal.key"
#define INIT_FILE "seal.init"


int64_t logd_epoch_start(const logd_store_t *s, uint64_t e)
{
        return s->key_t0 + (int64_t)e * s->key_iv;
}

#define KEY_VERSION 2
#define INIT_LEN (LOGD_HASH_LEN + 16)

int logd_key_save(logd_store_t *s)
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
                seal_put64(b + LOGD_HASH_LEN + 1, s->ks.n[i].prefix);
                mpw_bin(&w, b, sizeof b);
                explicit_bzero(b, sizeof b);
        }
        mpw_arr_end(&w);
        mpw_map_end(&w);
        r = state_write(s->keydir, KEY_FILE, mpw_data(&w), mpw_len(&w), 0600);
        mpw_wipe(&w);
        if (r < 0)
                return log_errno(r, "store: save seal key: %m");
        s->saved_epoch = s->ks.epoch;
        return 0;
}

int logd_key_load(logd_store_t *s)
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
                                s->ks.n[i].prefix = seal_get64((const uint8_t *)b->via.bin.ptr + LOGD_HASH_LEN + 1);
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
        if (r == 0) {
                struct stat st;
                char *ip = path_join(s->keydir, INIT_FILE);
                s->init_key_pending = ip && stat(ip, &st) == 0;
                free(ip);
                s->saved_epoch = s->ks.epoch;
        }
        return r;
}

int logd_key_new(logd_store_t *s)
{
        uint8_t init[INIT_LEN];
        int r;

        ds_random(init, LOGD_HASH_LEN);
        s->key_t0 = ds_now_real_ms();
        s->key_iv = s->cfg.epoch_ms >= 1000 ? s->cfg.epoch_ms : 10000;
        seal_put64(init + LOGD_HASH_LEN, (uint64_t)s->key_t0);
        seal_put64(init + LOGD_HASH_LEN + 8, (uint64_t)s->key_iv);
        seal_key_init(&s->ks, init);
        seal_key_seek(&s->ks, 0);
        s->seal_n = 0;
        s->sealed_seq = 0;
        r = state_write(s->keydir, INIT_FILE, init, sizeof init, 0600);
        explicit_bzero(init, sizeof init);
        if (r < 0)
                return log_errno(r, "store: save initial seal key: %m");
        s->init_key_pending = true;
        return logd_key_save(s);
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
        k.t0_ms = (int64_t)seal_get64((const uint8_t *)buf + LOGD_HASH_LEN);
        k.interval_ms = (int64_t)seal_get64((const uint8_t *)buf + LOGD_HASH_LEN + 8);
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

