/* logd_forge - what root on the device can do with the current seal key: rebuild
 * the store without record 1 (records 2..N re-chained as they were, fresh seals
 * with the key of the current epoch, and a prune record claiming records 1-1 went).
 * For logd's forgery tests.
 *   logd_forge LOGD_STATEDIR */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mp.h"
#include "seal.h"
#include "state.h"
#include "util.h"


static struct mpw out;
static uint8_t head[SEAL_HASH_LEN];

static void frame(int type, const void *payload, size_t len, const uint8_t tail[SEAL_HASH_LEN])
{
        uint8_t h[SEAL_FRAME_HDR], c[4];
        struct mpw tmp;

        seal_put32(h, (uint32_t)len);
        h[4] = (uint8_t)type;
        h[5] = h[6] = h[7] = 0;
        mpw_init(&tmp);
        msgpack_sbuffer_write(&tmp.sb, (const char *)h, sizeof h);
        msgpack_sbuffer_write(&tmp.sb, payload, len);
        msgpack_sbuffer_write(&tmp.sb, (const char *)tail, SEAL_HASH_LEN);
        seal_put32(c, seal_crc32c(0, tmp.sb.data, tmp.sb.size));
        msgpack_sbuffer_write(&tmp.sb, (const char *)c, 4);
        msgpack_sbuffer_write(&out.sb, tmp.sb.data, tmp.sb.size);
        mpw_free(&tmp);
}

static seal_hasher_t *hasher;

static void record(const void *payload, size_t len)
{
        uint8_t h[SEAL_HASH_LEN];

        if (!hasher && !(hasher = seal_hasher_new())) {
                fprintf(stderr, "logd_forge: out of memory\n");
                exit(1);
        }
        if (seal_chain_next(hasher, head, payload, len, h) < 0) {
                fprintf(stderr, "logd_forge: cannot hash a record\n");
                exit(1);
        }
        frame(SEAL_FRAME_RECORD, payload, len, h);
        memcpy(head, h, sizeof h);
}

int main(int argc, char **argv)
{
        char storedir[4096], *kbuf = NULL, **names = NULL;
        size_t klen, n = 0;
        struct seal_keystate ks = { 0 };
        msgpack_unpacked u;
        const msgpack_object *nodes;
        const char *why;
        uint64_t sealn, last = 0, pending = 0;
        int64_t t0, iv;
        uint8_t prev1[SEAL_HASH_LEN] = { 0 };
        DIR *d;
        struct dirent *de;

        if (argc != 2)
                return 2;
        snprintf(storedir, sizeof storedir, "%s/store", argv[1]);
        if (state_read(argv[1], "seal.key", 65536, &kbuf, &klen) < 0 || mp_decode(kbuf, klen, NULL, &u, &why) < 0)
                return fprintf(stderr, "logd_forge: cannot read seal.key\n"), 1;
        nodes = mp_get(&u.data, "nodes");
        for (uint32_t i = 0; nodes && i < nodes->via.array.size; i++) {
                const char *b = nodes->via.array.ptr[i].via.bin.ptr;
                memcpy(ks.n[i].k, b, SEAL_HASH_LEN);
                ks.n[i].depth = (uint8_t)b[SEAL_HASH_LEN];
                ks.n[i].prefix = seal_get64((const uint8_t *)b + SEAL_HASH_LEN + 1);
        }
        ks.count = nodes ? nodes->via.array.size : 0;
        ks.epoch = (uint64_t)mp_get_int(&u.data, "epoch", 0);
        sealn = (uint64_t)mp_get_int(&u.data, "n", 0);
        t0 = mp_get_int(&u.data, "t0", 0);
        iv = mp_get_int(&u.data, "iv", 0);
        msgpack_unpacked_destroy(&u);
        /* the key of now, as the device's own logd would have it */
        if (seal_key_seek(&ks, seal_epoch_of(t0, iv, ds_now_real_ms())) < 0)
                return fprintf(stderr, "logd_forge: cannot move the key on\n"), 1;
        d = opendir(storedir);
        if (!d)
                return 1;
        while ((de = readdir(d)))
                if (!strncmp(de->d_name, "seg-", 4)) {
                        names = realloc(names, (n + 1) * sizeof *names);
                        names[n++] = strdup(de->d_name);
                }
        closedir(d);
        for (size_t i = 0; i + 1 < n; i++) /* sort by name */
                for (size_t j = i + 1; j < n; j++)
                        if (strcmp(names[i], names[j]) > 0) {
                                char *t = names[i];
                                names[i] = names[j];
                                names[j] = t;
                        }
        mpw_init(&out);
        {
                uint8_t hdr[SEAL_SEG_HDR_LEN] = { 0 };
                msgpack_sbuffer_write(&out.sb, (const char *)hdr, sizeof hdr); /* filled in below */
        }
        for (size_t i = 0; i < n; i++) {
                char *buf = NULL;
                size_t len, off = SEAL_SEG_HDR_LEN, next;
                struct seal_frame f;
                if (state_read(storedir, names[i], 64 << 20, &buf, &len) < 0)
                        return 1;
                for (; off < len && seal_frame_parse(buf, len, off, &f, &next) == 0; off = next) {
                        msgpack_unpacked r;
                        size_t o = 0;
                        uint64_t seq;
                        if (f.type != SEAL_FRAME_RECORD)
                                continue; /* the old seals cannot be kept: new ones follow */
                        msgpack_unpacked_init(&r);
                        msgpack_unpack_next(&r, f.payload, f.len, &o);
                        seq = (uint64_t)mp_get_int(&r.data, "seq", 0);
                        msgpack_unpacked_destroy(&r);
                        if (seq == 1) {
                                memcpy(prev1, f.tail, SEAL_HASH_LEN);
                                memcpy(head, f.tail, SEAL_HASH_LEN);
                                continue; /* the record the attacker wants gone */
                        }
                        record(f.payload, f.len);
                        last = seq;
                        if (++pending == 50) {
                                struct mpw w;
                                uint8_t mac[SEAL_HASH_LEN];
                                mpw_init(&w);
                                mpw_map_begin(&w);
                                mpw_kv_uint(&w, "epoch", ks.epoch);
                                mpw_kv_uint(&w, "n", sealn);
                                mpw_kv_uint(&w, "seq", last);
                                mpw_kv_int(&w, "ts", ds_now_real_ms());
                                mpw_map_end(&w);
                                seal_mac(seal_key_current(&ks), ks.epoch, sealn, last, head, mac);
                                frame(SEAL_FRAME_SEAL, mpw_data(&w), mpw_len(&w), mac);
                                mpw_free(&w);
                                sealn++;
                                pending = 0;
                        }
                }
                free(buf);
        }
        {
                /* the prune record that "explains" the missing record 1, and a last seal */
                struct mpw w;
                uint8_t mac[SEAL_HASH_LEN];
                mpw_init(&w);
                mpw_map_begin(&w);
                mpw_kv_uint(&w, "seq", ++last);
                mpw_kv_int(&w, "ts", ds_now_real_ms());
                mpw_kv_int(&w, "mono", ds_now_mono_ms());
                mpw_kv_str(&w, "svc", "logd");
                mpw_kv_str(&w, "cat", "system");
                mpw_kv_str(&w, "lvl", "notice");
                mpw_kv_str(&w, "user", "");
                mpw_kv_str(&w, "src", "logd");
                mpw_kv_str(&w, "msg", "logd: removed segment 'seg-00000000000000000001.log' (records 1-1, quota)");
                mpw_str(&w, "prune");
                mpw_map_begin(&w);
                mpw_kv_uint(&w, "first_kept", 2);
                mpw_str(&w, "head");
                mpw_bin(&w, prev1, SEAL_HASH_LEN);
                mpw_map_end(&w);
                mpw_map_end(&w);
                record(mpw_data(&w), mpw_len(&w));
                mpw_reset(&w);
                mpw_map_begin(&w);
                mpw_kv_uint(&w, "epoch", ks.epoch);
                mpw_kv_uint(&w, "n", sealn);
                mpw_kv_uint(&w, "seq", last);
                mpw_kv_int(&w, "ts", ds_now_real_ms());
                mpw_map_end(&w);
                seal_mac(seal_key_current(&ks), ks.epoch, sealn, last, head, mac);
                frame(SEAL_FRAME_SEAL, mpw_data(&w), mpw_len(&w), mac);
                sealn++;
                mpw_free(&w);
        }
        {
                uint8_t *hdr = (uint8_t *)out.sb.data;
                memcpy(hdr, SEAL_SEG_MAGIC, 8);
                seal_put64(hdr + 8, 2);
                memcpy(hdr + 16, prev1, SEAL_HASH_LEN);
                seal_put32(hdr + 48, seal_crc32c(0, hdr, 48));
        }
        for (size_t i = 0; i < n; i++) {
                char *p = path_join(storedir, names[i]);
                unlink(p);
                free(p);
        }
        if (state_write(storedir, "seg-00000000000000000002.log", out.sb.data, out.sb.size, 0600) < 0)
                return 1;
        /* logd's key state agrees with the forged store */
        {
                struct mpw w;
                mpw_init(&w);
                mpw_map_begin(&w);
                mpw_kv_int(&w, "v", 2);
                mpw_kv_int(&w, "t0", t0);
                mpw_kv_int(&w, "iv", iv);
                mpw_kv_uint(&w, "epoch", ks.epoch);
                mpw_kv_uint(&w, "n", sealn);
                mpw_kv_uint(&w, "sealed_seq", last);
                mpw_str(&w, "nodes");
                mpw_arr_begin(&w);
                for (size_t i = 0; i < ks.count; i++) {
                        uint8_t b[SEAL_HASH_LEN + 9];
                        memcpy(b, ks.n[i].k, SEAL_HASH_LEN);
                        b[SEAL_HASH_LEN] = ks.n[i].depth;
                        seal_put64(b + SEAL_HASH_LEN + 1, ks.n[i].prefix);
                        mpw_bin(&w, b, sizeof b);
                }
                mpw_arr_end(&w);
                mpw_map_end(&w);
                state_write(argv[1], "seal.key", mpw_data(&w), mpw_len(&w), 0600);
                mpw_free(&w);
        }
        printf("forged: records 2-%llu re-chained and sealed with the key of epoch %llu\n", (unsigned long long)last,
               (unsigned long long)ks.epoch);
        explicit_bzero(kbuf, klen);
        explicit_bzero(&ks, sizeof ks);
        free(kbuf);
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        mpw_free(&out);
        seal_hasher_destroy(&hasher);
        return 0;
}
