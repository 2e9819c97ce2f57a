/* backup.c - the device backup file (see backup.h) */
#include "backup.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"

#define CHUNK     (64u << 10)
#define MAGIC_LEN 8
#define ABYTES    crypto_secretstream_xchacha20poly1305_ABYTES
#define SSHDR     crypto_secretstream_xchacha20poly1305_HEADERBYTES
/* what a header may ask of the KDF: no more than a device can give */
#define KDF_MEM_MAX (1ull << 30)
#define KDF_OPS_MAX 64u

const struct ds_backup_kdf ds_backup_kdf_default = {
        .ops = crypto_pwhash_OPSLIMIT_INTERACTIVE,
        .mem = crypto_pwhash_MEMLIMIT_INTERACTIVE,
};

static void put32(unsigned char *p, uint32_t v)
{
        p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
}

static uint32_t get32(const unsigned char *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int derive(unsigned char key[crypto_secretstream_xchacha20poly1305_KEYBYTES], const char *pass,
                  const unsigned char *salt, uint64_t ops, uint64_t mem)
{
        return crypto_pwhash(key, crypto_secretstream_xchacha20poly1305_KEYBYTES, pass, strlen(pass), salt, ops,
                             (size_t)mem, crypto_pwhash_ALG_ARGON2ID13) == 0
                       ? 0
                       : -ENOMEM;
}

static int fail(int r, char *why, size_t size, const char *msg)
{
        snprintf(why, size, "%s", msg);
        return r;
}

int ds_backup_write(const char *path, const void *meta, size_t meta_len, const void *data, size_t len, const char *pass,
                    const struct ds_backup_kdf *kdf, char *why, size_t why_size)
{
        unsigned char salt[crypto_pwhash_SALTBYTES], key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
        crypto_secretstream_xchacha20poly1305_state st;
        msgpack_unpacked mu;
        struct mpw h, out;
        const char *w;
        char *dir = NULL, *base = NULL;
        size_t off = 0;
        int r;

        if (sodium_init() < 0)
                return fail(-ENOSYS, why, why_size, "libsodium cannot start");
        if (mp_decode(meta, meta_len, NULL, &mu, &w) < 0 || mu.data.type != MSGPACK_OBJECT_MAP)
                return fail(-EINVAL, why, why_size, "the header is not a map");
        randombytes_buf(salt, sizeof salt);
        mpw_init(&h);
        mpw_init(&out);
        mpw_map_begin(&h);
        mpw_str(&h, "format");
        mpw_map_begin(&h);
        mpw_kv_int(&h, "major", DS_BACKUP_MAJOR);
        mpw_kv_int(&h, "minor", DS_BACKUP_MINOR);
        mpw_map_end(&h);
        mpw_str(&h, "kdf");
        mpw_map_begin(&h);
        mpw_kv_str(&h, "alg", "argon2id13");
        mpw_kv_uint(&h, "ops", kdf->ops);
        mpw_kv_uint(&h, "mem", kdf->mem);
        mpw_str(&h, "salt");
        mpw_bin(&h, salt, sizeof salt);
        mpw_map_end(&h);
        mpw_kv_str(&h, "cipher", "xchacha20poly1305-secretstream");
        for (uint32_t i = 0; i < mu.data.via.map.size; i++) {
                mpw_obj(&h, &mu.data.via.map.ptr[i].key);
                mpw_obj(&h, &mu.data.via.map.ptr[i].val);
        }
        mpw_map_end(&h);
        msgpack_unpacked_destroy(&mu);
        if (mpw_finish(&h) < 0 || mpw_len(&h) > DS_BACKUP_HEADER_MAX) {
                r = fail(-EMSGSIZE, why, why_size, "the header is too large");
                goto out;
        }
        /* magic, header length, header: the first chunk's additional data */
        {
                unsigned char l[4];
                put32(l, (uint32_t)mpw_len(&h));
                mpw_raw(&out, DS_BACKUP_MAGIC, MAGIC_LEN);
                mpw_raw(&out, l, 4);
                mpw_raw(&out, mpw_data(&h), mpw_len(&h));
        }
        if ((r = derive(key, pass, salt, kdf->ops, kdf->mem)) < 0) {
                fail(r, why, why_size, "the key derivation failed (memory)");
                goto out;
        }
        {
                unsigned char sh[SSHDR];
                crypto_secretstream_xchacha20poly1305_init_push(&st, sh, key);
                mpw_raw(&out, sh, sizeof sh);
        }
        do {
                size_t n = len - off > CHUNK ? CHUNK : len - off, ad_len = off == 0 ? MAGIC_LEN + 4 + mpw_len(&h) : 0;
                unsigned char c[CHUNK + ABYTES], l[4];
                unsigned char tag = off + n == len ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0;
                unsigned long long clen;

                crypto_secretstream_xchacha20poly1305_push(&st, c, &clen, (const unsigned char *)data + off, n,
                                                           ad_len ? (const unsigned char *)mpw_data(&out) : NULL,
                                                           ad_len, tag);
                put32(l, (uint32_t)clen);
                mpw_raw(&out, l, 4);
                mpw_raw(&out, c, (size_t)clen);
                off += n;
        } while (off < len);
        if (!(dir = strdup(path)) || !(base = strdup(path))) {
                r = fail(-ENOMEM, why, why_size, "out of memory");
                goto out;
        }
        r = state_write(dirname(dir), basename(base), mpw_data(&out), mpw_len(&out), 0600);
        if (r < 0)
                snprintf(why, why_size, "cannot write '%s': %s", path, strerror(-r));
out:
        sodium_memzero(key, sizeof key);
        sodium_memzero(&st, sizeof st);
        free(dir);
        free(base);
        mpw_free(&h);
        mpw_free(&out);
        return r;
}

static int read_file(const char *path, char **ret, size_t *ret_len)
{
        char *dir = strdup(path), *base = strdup(path);
        int r = dir && base ? state_read(dirname(dir), basename(base), DS_BACKUP_MAX_SIZE, ret, ret_len) : -ENOMEM;

        free(dir);
        free(base);
        return r;
}

int ds_backup_open(const char *path, struct ds_backup *b, char *why, size_t why_size)
{
        const msgpack_object *fmt;
        const char *w;
        uint32_t hlen;
        int r;

        memset(b, 0, sizeof *b);
        if ((r = read_file(path, &b->file, &b->file_len)) < 0) {
                snprintf(why, why_size, "cannot read '%s': %s", path, strerror(-r));
                return r;
        }
        if (b->file_len < MAGIC_LEN + 4 || memcmp(b->file, DS_BACKUP_MAGIC, MAGIC_LEN) != 0)
                return fail(-EINVAL, why, why_size, "not a device backup (no DSBACKUP magic)");
        hlen = get32((const unsigned char *)b->file + MAGIC_LEN);
        if (hlen > DS_BACKUP_HEADER_MAX || MAGIC_LEN + 4 + (size_t)hlen + SSHDR > b->file_len)
                return fail(-ENODATA, why, why_size, "truncated: the header is cut short");
        if (mp_decode(b->file + MAGIC_LEN + 4, hlen, NULL, &b->hdr, &w) < 0 || b->hdr.data.type != MSGPACK_OBJECT_MAP) {
                return fail(-EINVAL, why, why_size, "the header is damaged");
        }
        b->have_hdr = true;
        fmt = mp_get(&b->hdr.data, "format");
        b->major = (int)mp_get_int(fmt, "major", -1);
        b->minor = (int)mp_get_int(fmt, "minor", 0);
        if (b->major < 1) {
                return fail(-EINVAL, why, why_size, "the header names no format version");
        }
        if (b->major > DS_BACKUP_MAJOR) {
                snprintf(why, why_size, "backup format %d.%d is newer than this devctl reads (%d.x): upgrade first",
                         b->major, b->minor, DS_BACKUP_MAJOR);
                return -EPROTONOSUPPORT;
        }
        return 0;
}

int ds_backup_decrypt(struct ds_backup *b, const char *pass, char *why, size_t why_size)
{
        unsigned char key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
        crypto_secretstream_xchacha20poly1305_state st;
        const msgpack_object *kdf = mp_get(&b->hdr.data, "kdf"), *salt = mp_get(kdf, "salt");
        const unsigned char *p = (const unsigned char *)b->file;
        size_t hend = MAGIC_LEN + 4 + get32(p + MAGIC_LEN), off = hend + SSHDR, cap;
        int64_t ops = mp_get_int(kdf, "ops", 0), mem = mp_get_int(kdf, "mem", 0);
        bool final = false;
        int r = 0;

        if (sodium_init() < 0)
                return fail(-ENOSYS, why, why_size, "libsodium cannot start");
        if (!mp_streq(mp_get(kdf, "alg"), "argon2id13") || !salt || salt->type != MSGPACK_OBJECT_BIN ||
            salt->via.bin.size != crypto_pwhash_SALTBYTES || ops < (int64_t)crypto_pwhash_OPSLIMIT_MIN ||
            ops > KDF_OPS_MAX || mem < (int64_t)crypto_pwhash_MEMLIMIT_MIN || (uint64_t)mem > KDF_MEM_MAX)
                return fail(-EINVAL, why, why_size, "the header's key derivation parameters are not usable");
        if (derive(key, pass, (const unsigned char *)salt->via.bin.ptr, (uint64_t)ops, (uint64_t)mem) < 0)
                return fail(-ENOMEM, why, why_size, "the key derivation failed (memory)");
        cap = b->file_len;
        if (!(b->data = sodium_malloc(cap ? cap : 1))) {
                sodium_memzero(key, sizeof key);
                return fail(-ENOMEM, why, why_size, "out of memory");
        }
        b->len = 0;
        if (crypto_secretstream_xchacha20poly1305_init_pull(&st, p + hend, key) != 0)
                r = fail(-EKEYREJECTED, why, why_size, "the stream header is damaged");
        for (unsigned n = 0; r == 0 && !final; n++) {
                unsigned long long mlen;
                unsigned char tag;
                uint32_t clen;

                if (off == b->file_len) {
                        r = fail(-ENODATA, why, why_size, "truncated: the final chunk is missing");
                        break;
                }
                if (b->file_len - off < 4 || (clen = get32(p + off)) < ABYTES || clen > CHUNK + ABYTES ||
                    b->file_len - off - 4 < clen) {
                        r = fail(-ENODATA, why, why_size, "truncated: a chunk is cut short");
                        break;
                }
                if (crypto_secretstream_xchacha20poly1305_pull(&st, b->data + b->len, &mlen, &tag, p + off + 4, clen,
                                                               n == 0 ? p : NULL, n == 0 ? hend : 0) != 0) {
                        if (n == 0)
                                r = fail(-EKEYREJECTED, why, why_size,
                                         "wrong passphrase, or the file was altered (authentication fails)");
                        else
                                snprintf(why, why_size, "damaged: chunk %u fails authentication", n), r = -EBADMSG;
                        break;
                }
                b->len += (size_t)mlen;
                off += 4 + clen;
                final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
        }
        if (r == 0 && off != b->file_len)
                r = fail(-EBADMSG, why, why_size, "damaged: bytes after the final chunk");
        sodium_memzero(key, sizeof key);
        sodium_memzero(&st, sizeof st);
        if (r < 0) {
                sodium_free(b->data);
                b->data = NULL;
                b->len = 0;
        }
        return r;
}

void ds_backup_free(struct ds_backup *b)
{
        if (b->data)
                sodium_free(b->data); /* zeroes it */
        if (b->have_hdr)
                msgpack_unpacked_destroy(&b->hdr);
        free(b->file);
        memset(b, 0, sizeof *b);
}
