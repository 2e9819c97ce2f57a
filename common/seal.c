/* seal.c - the store's frames, segment headers, hash chain and record codec
 * (the seal keys are in seal_key.c, the verifier in seal_verify.c). */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "mp.h"
#include "seal.h"
#include "util.h"

/* ---- CRC-32C: the CPU's instruction where there is one, else slicing by 8 ------ */

static uint32_t crc_tab[8][256];

static void crc_tab_init(void)
{
        for (uint32_t i = 0; i < 256; i++) {
                uint32_t c = i;
                for (int k = 0; k < 8; k++)
                        c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
                crc_tab[0][i] = c;
        }
        for (uint32_t i = 0; i < 256; i++)
                for (int t = 1; t < 8; t++)
                        crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xff];
}

static uint32_t crc_sw(uint32_t crc, const uint8_t *b, size_t n)
{
        if (!crc_tab[0][1])
                crc_tab_init();
        while (n >= 8) {
                uint32_t lo = crc ^ ((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
                crc = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^ crc_tab[5][(lo >> 16) & 0xff] ^
                      crc_tab[4][lo >> 24] ^ crc_tab[3][b[4]] ^ crc_tab[2][b[5]] ^ crc_tab[1][b[6]] ^ crc_tab[0][b[7]];
                b += 8;
                n -= 8;
        }
        while (n--)
                crc = crc_tab[0][(crc ^ *b++) & 0xff] ^ (crc >> 8);
        return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *b, size_t n)
{
        uint64_t c = crc;

        while (n >= 8) {
                uint64_t v;
                memcpy(&v, b, 8);
                c = __builtin_ia32_crc32di(c, v);
                b += 8;
                n -= 8;
        }
        crc = (uint32_t)c;
        while (n--)
                crc = __builtin_ia32_crc32qi(crc, *b++);
        return crc;
}
#endif

uint32_t seal_crc32c(uint32_t crc, const void *p, size_t n)
{
#if defined(__x86_64__)
        static int hw = -1;

        if (hw < 0)
                hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
        if (hw)
                return ~crc_hw(~crc, p, n);
#endif
        return ~crc_sw(~crc, p, n);
}

/* ---- segments ------------------------------------------------------------------ */

void seal_seg_name(uint64_t first, char buf[SEAL_SEG_NAME_MAX])
{
        snprintf(buf, SEAL_SEG_NAME_MAX, "seg-%020llu.log", (unsigned long long)first);
}

const char *seal_seg_name_check(const char *s, size_t n)
{
        if (n < 9 || n >= SEAL_SEG_NAME_MAX || strncmp(s, "seg-", 4) || memcmp(s + n - 4, ".log", 4))
                return "must be a segment name (seg-N.log) from log.segments";
        for (size_t i = 4; i < n - 4; i++)
                if (s[i] < '0' || s[i] > '9')
                        return "must be a segment name (seg-N.log) from log.segments";
        return NULL;
}

void seal_seg_header(uint8_t out[SEAL_SEG_HDR_LEN], uint64_t first, const uint8_t prev[SEAL_HASH_LEN])
{
        memcpy(out, SEAL_SEG_MAGIC, 8);
        seal_put64(out + 8, first);
        memcpy(out + 16, prev, SEAL_HASH_LEN);
        seal_put32(out + 16 + SEAL_HASH_LEN, seal_crc32c(0, out, SEAL_SEG_HDR_LEN - 4));
}

int seal_seg_header_parse(const void *buf, size_t len, uint64_t *ret_first, uint8_t prev[SEAL_HASH_LEN])
{
        const uint8_t *b = buf;

        if (len < SEAL_SEG_HDR_LEN || memcmp(b, SEAL_SEG_MAGIC, 8) ||
            seal_crc32c(0, b, SEAL_SEG_HDR_LEN - 4) != seal_get32(b + SEAL_SEG_HDR_LEN - 4))
                return -EBADMSG;
        if (ret_first)
                *ret_first = seal_get64(b + 8);
        if (prev)
                memcpy(prev, b + 16, SEAL_HASH_LEN);
        return 0;
}

/* ---- frames ---------------------------------------------------------------------- */

int seal_frame_parse(const char *buf, size_t len, size_t off, struct seal_frame *f, size_t *ret_next)
{
        const uint8_t *p = (const uint8_t *)buf + off;
        uint32_t plen;
        size_t total;

        if (off + SEAL_FRAME_HDR > len)
                return -EAGAIN;
        plen = seal_get32(p);
        if (plen > SEAL_PAYLOAD_MAX || (p[4] != SEAL_FRAME_RECORD && p[4] != SEAL_FRAME_SEAL) || p[5] || p[6] || p[7])
                return -EBADMSG;
        total = SEAL_FRAME_SIZE(plen);
        if (off + total > len)
                return -EAGAIN;
        if (seal_crc32c(0, p, total - 4) != seal_get32(p + total - 4))
                return -EBADMSG;
        f->type = p[4];
        f->payload = (const char *)p + SEAL_FRAME_HDR;
        f->len = plen;
        f->tail = p + SEAL_FRAME_HDR + plen;
        *ret_next = off + total;
        return 0;
}

size_t seal_frame_close(uint8_t *out, int type, size_t len, const uint8_t tail[SEAL_HASH_LEN])
{
        size_t total = SEAL_FRAME_SIZE(len);

        seal_put32(out, (uint32_t)len);
        out[4] = (uint8_t)type;
        out[5] = out[6] = out[7] = 0;
        memcpy(out + SEAL_FRAME_HDR + len, tail, SEAL_HASH_LEN);
        seal_put32(out + total - 4, seal_crc32c(0, out, total - 4));
        return total;
}

size_t seal_frame_put(uint8_t *out, int type, const void *payload, size_t len, const uint8_t tail[SEAL_HASH_LEN])
{
        memcpy(out + SEAL_FRAME_HDR, payload, len);
        return seal_frame_close(out, type, len, tail);
}

/* ---- the hash chain ---------------------------------------------------------------- */

struct seal_hasher {
        EVP_MD *md;
        EVP_MD_CTX *ctx;
};

seal_hasher_t *seal_hasher_new(void)
{
        seal_hasher_t *h = calloc(1, sizeof *h);

        if (!h)
                return NULL;
        h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
        h->ctx = EVP_MD_CTX_new();
        if (!h->md || !h->ctx)
                seal_hasher_destroy(&h);
        return h;
}

void seal_hasher_destroy(seal_hasher_t **hp)
{
        seal_hasher_t *h = hp ? *hp : NULL;

        if (!h)
                return;
        EVP_MD_CTX_free(h->ctx);
        EVP_MD_free(h->md);
        free(h);
        *hp = NULL;
}

int seal_chain_next(seal_hasher_t *h, const uint8_t prev[SEAL_HASH_LEN], const void *payload, size_t len,
                    uint8_t out[SEAL_HASH_LEN])
{
        unsigned int n = 0;

        if (EVP_DigestInit_ex2(h->ctx, h->md, NULL) != 1 || EVP_DigestUpdate(h->ctx, prev, SEAL_HASH_LEN) != 1 ||
            EVP_DigestUpdate(h->ctx, payload, len) != 1 || EVP_DigestFinal_ex(h->ctx, out, &n) != 1 ||
            n != SEAL_HASH_LEN)
                return -EIO;
        return 0;
}

/* ---- payloads: a small allocation-free msgpack reader ------------------------------ */

struct rd {
        const uint8_t *p, *end;
};

static uint64_t be(const uint8_t *p, int n)
{
        uint64_t v = 0;

        for (int i = 0; i < n; i++)
                v = v << 8 | p[i];
        return v;
}

static bool rd_take(struct rd *r, size_t n, const uint8_t **ret)
{
        if ((size_t)(r->end - r->p) < n)
                return false;
        if (ret)
                *ret = r->p;
        r->p += n;
        return true;
}

/* The length of the item's header and its count: bytes (str/bin/ext), entries
 * (array), pairs (map), or 0 for a scalar; kind 's' str, 'b' bin, 'a', 'm', 'i'
 * integer, 'x' other scalar, 'e' ext. */
static bool rd_head(struct rd *r, char *kind, uint64_t *count, uint64_t *ival, bool *neg)
{
        const uint8_t *q;
        uint8_t c;
        static const uint8_t fixext[] = { 1, 2, 4, 8, 16 };

        if (!rd_take(r, 1, &q))
                return false;
        c = *q;
        *neg = false;
        *count = 0;
        if (c <= 0x7f || c >= 0xe0) {
                *kind = 'i';
                *neg = c >= 0xe0;
                *ival = c >= 0xe0 ? (uint64_t)(int64_t)(int8_t)c : c;
                return true;
        }
        if (c >= 0x80 && c <= 0x8f)
                return *kind = 'm', *count = c & 0x0f, true;
        if (c >= 0x90 && c <= 0x9f)
                return *kind = 'a', *count = c & 0x0f, true;
        if (c >= 0xa0 && c <= 0xbf)
                return *kind = 's', *count = c & 0x1f, true;
        switch (c) {
        case 0xc0: case 0xc2: case 0xc3:
                return *kind = 'x', true;
        case 0xc4: case 0xc5: case 0xc6: {
                int n = 1 << (c - 0xc4);
                return rd_take(r, (size_t)n, &q) && (*kind = 'b', *count = be(q, n), true);
        }
        case 0xc7: case 0xc8: case 0xc9: {
                int n = 1 << (c - 0xc7);
                return rd_take(r, (size_t)n + 1, &q) && (*kind = 'e', *count = be(q, n), true);
        }
        case 0xca: case 0xcb:
                return rd_take(r, c == 0xca ? 4 : 8, NULL) && (*kind = 'x', true);
        case 0xcc: case 0xcd: case 0xce: case 0xcf: {
                int n = 1 << (c - 0xcc);
                return rd_take(r, (size_t)n, &q) && (*kind = 'i', *ival = be(q, n), true);
        }
        case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
                int n = 1 << (c - 0xd0);
                uint64_t v;
                if (!rd_take(r, (size_t)n, &q))
                        return false;
                v = be(q, n);
                if (n < 8 && (v >> (8 * n - 1)) & 1)
                        v |= ~(uint64_t)0 << (8 * n); /* sign-extend */
                *kind = 'i';
                *neg = (int64_t)v < 0;
                *ival = v;
                return true;
        }
        case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
                return rd_take(r, 1u + fixext[c - 0xd4], NULL) && (*kind = 'x', true);
        case 0xd9: case 0xda: case 0xdb: {
                int n = 1 << (c - 0xd9);
                return rd_take(r, (size_t)n, &q) && (*kind = 's', *count = be(q, n), true);
        }
        case 0xdc: case 0xdd: {
                int n = c == 0xdc ? 2 : 4;
                return rd_take(r, (size_t)n, &q) && (*kind = 'a', *count = be(q, n), true);
        }
        case 0xde: case 0xdf: {
                int n = c == 0xde ? 2 : 4;
                return rd_take(r, (size_t)n, &q) && (*kind = 'm', *count = be(q, n), true);
        }
        default:
                return false; /* 0xc1, never used */
        }
}

static bool rd_skip(struct rd *r, int depth)
{
        char k;
        uint64_t n, iv;
        bool neg;

        if (depth > 32 || !rd_head(r, &k, &n, &iv, &neg))
                return false;
        switch (k) {
        case 's': case 'b': case 'e':
                return rd_take(r, n, NULL);
        case 'a':
        case 'm':
                if (k == 'm') {
                        if (n > (uint64_t)(r->end - r->p))
                                return false; /* cannot hold that many pairs */
                        n *= 2;
                }
                for (uint64_t i = 0; i < n; i++)
                        if (!rd_skip(r, depth + 1))
                                return false;
                return true;
        default:
                return true;
        }
}

/* Map of the payload: its pair count. */
static bool rd_map(struct rd *r, uint64_t *pairs)
{
        char k;
        uint64_t iv;
        bool neg;

        return rd_head(r, &k, pairs, &iv, &neg) && k == 'm';
}

static bool rd_key(struct rd *r, const char **key, size_t *klen)
{
        char k;
        uint64_t n, iv;
        bool neg;
        const uint8_t *q;

        if (!rd_head(r, &k, &n, &iv, &neg) || k != 's' || !rd_take(r, n, &q))
                return false;
        *key = (const char *)q;
        *klen = n;
        return true;
}

static bool key_is(const char *k, size_t n, const char *want)
{
        return strlen(want) == n && !memcmp(k, want, n);
}

/* The value as an int64 (mp_get_int's rule: a mistyped value is the default);
 * *ok false when the bytes do not decode at all. */
static int64_t rd_int(struct rd *r, int64_t def, bool *ok)
{
        const uint8_t *start = r->p;
        char k;
        uint64_t n, iv;
        bool neg;

        if (!rd_head(r, &k, &n, &iv, &neg)) {
                *ok = false;
                return def;
        }
        if (k == 'i')
                return neg || iv <= INT64_MAX ? (int64_t)iv : def;
        r->p = start;
        *ok = rd_skip(r, 0);
        return def;
}

/* A string value copied into buf: -EBADMSG when it is not a string, does not
 * fit, or holds a NUL (mp_strcpy's rule). */
static int rd_strcpy(struct rd *r, char *buf, size_t size)
{
        char k;
        uint64_t n, iv;
        bool neg;
        const uint8_t *q;

        if (!rd_head(r, &k, &n, &iv, &neg) || k != 's' || !rd_take(r, n, &q) || n >= size || memchr(q, '\0', n))
                return -EBADMSG;
        memcpy(buf, q, n);
        buf[n] = '\0';
        return 0;
}

/* prune = { first_kept, head } */
static bool rd_prune(struct rd *r, uint64_t *first_kept, uint8_t head[SEAL_HASH_LEN], bool *have_head)
{
        uint64_t pairs;
        bool ok = true;

        *have_head = false;
        if (!rd_map(r, &pairs))
                return false;
        for (uint64_t i = 0; i < pairs && ok; i++) {
                const char *k;
                size_t kl;
                if (!rd_key(r, &k, &kl))
                        return false;
                if (key_is(k, kl, "first_kept")) {
                        *first_kept = (uint64_t)rd_int(r, 0, &ok);
                } else if (key_is(k, kl, "head")) {
                        const uint8_t *start = r->p, *q;
                        char t;
                        uint64_t n, iv;
                        bool neg;
                        if (!rd_head(r, &t, &n, &iv, &neg))
                                return false;
                        if (t == 'b' && n == SEAL_HASH_LEN && rd_take(r, n, &q)) {
                                memcpy(head, q, SEAL_HASH_LEN);
                                *have_head = true;
                        } else {
                                r->p = start;
                                ok = rd_skip(r, 0);
                        }
                } else {
                        ok = rd_skip(r, 0);
                }
        }
        return ok;
}

/* ---- the record encoder: straight into a buffer, the bytes msgpack-c's packer
 * (mpw) makes for the same record (a map32 header, the shortest integers and
 * string headers), so that the store encodes into its write buffer with no
 * callback per item and no copy ---------------------------------------------- */

static uint8_t *put_be(uint8_t *o, uint64_t v, int n)
{
        for (int i = n - 1; i >= 0; i--)
                *o++ = (uint8_t)(v >> (8 * i));
        return o;
}

static uint8_t *put_uint(uint8_t *o, uint64_t v)
{
        if (v < 128)
                *o++ = (uint8_t)v;
        else if (v < 256)
                *o++ = 0xcc, *o++ = (uint8_t)v;
        else if (v < 65536)
                *o++ = 0xcd, o = put_be(o, v, 2);
        else if (v < (1ull << 32))
                *o++ = 0xce, o = put_be(o, v, 4);
        else
                *o++ = 0xcf, o = put_be(o, v, 8);
        return o;
}

static uint8_t *put_int(uint8_t *o, int64_t v)
{
        if (v >= -32)
                return v < 128 ? (*o++ = (uint8_t)v, o) : put_uint(o, (uint64_t)v);
        if (v >= -128)
                *o++ = 0xd0, *o++ = (uint8_t)v;
        else if (v >= -32768)
                *o++ = 0xd1, o = put_be(o, (uint64_t)v, 2);
        else if (v >= -(1ll << 31))
                *o++ = 0xd2, o = put_be(o, (uint64_t)v, 4);
        else
                *o++ = 0xd3, o = put_be(o, (uint64_t)v, 8);
        return o;
}

static uint8_t *put_strn(uint8_t *o, const char *p, size_t n)
{
        if (n < 32)
                *o++ = (uint8_t)(0xa0 | n);
        else if (n < 256)
                *o++ = 0xd9, *o++ = (uint8_t)n;
        else if (n < 65536)
                *o++ = 0xda, o = put_be(o, n, 2);
        else
                *o++ = 0xdb, o = put_be(o, n, 4);
        memcpy(o, p, n);
        return o + n;
}

/* a key of the record: a short literal */
#define PUT_KEY(o, k) (*(o)++ = (uint8_t)(0xa0 | (sizeof k - 1)), memcpy((o), k, sizeof k - 1), (o) += sizeof k - 1)

size_t seal_rec_put(uint8_t *out, const struct seal_rec *rec)
{
        uint8_t *o = out + 5;
        uint32_t pairs = 9;

        if (rec->fields && rec->fields_len > SEAL_FIELDS_MAX)
                return 0;
        PUT_KEY(o, "seq");
        o = put_uint(o, rec->seq);
        PUT_KEY(o, "ts");
        o = put_int(o, rec->ts);
        if (rec->pub_ts) {
                PUT_KEY(o, "pts");
                o = put_int(o, rec->pub_ts);
                pairs++;
        }
        PUT_KEY(o, "mono");
        o = put_int(o, rec->mono);
        PUT_KEY(o, "svc");
        o = put_strn(o, rec->service, strnlen(rec->service, sizeof rec->service));
        PUT_KEY(o, "cat");
        o = put_strn(o, rec->category, strnlen(rec->category, sizeof rec->category));
        PUT_KEY(o, "lvl");
        o = put_strn(o, rec->level, strnlen(rec->level, sizeof rec->level));
        PUT_KEY(o, "user");
        o = put_strn(o, rec->user, strnlen(rec->user, sizeof rec->user));
        PUT_KEY(o, "src");
        o = put_strn(o, rec->src, strnlen(rec->src, sizeof rec->src));
        PUT_KEY(o, "msg");
        o = put_strn(o, rec->msg, strnlen(rec->msg, sizeof rec->msg));
        if (rec->fields && rec->fields_len) {
                PUT_KEY(o, "f");
                memcpy(o, rec->fields, rec->fields_len);
                o += rec->fields_len;
                pairs++;
        }
        if (rec->prune) {
                PUT_KEY(o, "prune");
                *o++ = 0xdf;
                o = put_be(o, 2, 4);
                PUT_KEY(o, "first_kept");
                o = put_uint(o, rec->prune_first_kept);
                PUT_KEY(o, "head");
                *o++ = 0xc4, *o++ = SEAL_HASH_LEN;
                memcpy(o, rec->prune_head, SEAL_HASH_LEN);
                o += SEAL_HASH_LEN;
                pairs++;
        }
        out[0] = 0xdf;
        put_be(out + 1, pairs, 4);
        return (size_t)(o - out);
}

void seal_rec_encode(struct mpw *w, const struct seal_rec *rec)
{
        uint8_t buf[SEAL_REC_PUT_MAX];
        size_t n = seal_rec_put(buf, rec);

        if (n)
                mpw_raw(w, buf, n);
        else
                w->bad = true;
}

/* The first of duplicate keys counts, for every reader alike. */
enum { K_SEQ, K_TS, K_PTS, K_MONO, K_SVC, K_CAT, K_LVL, K_USER, K_SRC, K_MSG, K_F, K_PRUNE, K_N };
static const char *const rec_keys[K_N] = { "seq", "ts", "pts", "mono", "svc", "cat",
                                           "lvl", "user", "src", "msg", "f", "prune" };

static int key_index(const char *k, size_t n)
{
        for (int i = 0; i < K_N; i++)
                if (key_is(k, n, rec_keys[i]))
                        return i;
        return -1;
}

int seal_rec_decode(const char *payload, size_t len, struct seal_rec *rec)
{
        struct rd r = { (const uint8_t *)payload, (const uint8_t *)payload + len };
        char *const strs[] = { [K_SVC] = rec->service, [K_CAT] = rec->category, [K_LVL] = rec->level,
                               [K_USER] = rec->user, [K_SRC] = rec->src, [K_MSG] = rec->msg };
        const size_t sizes[] = { [K_SVC] = sizeof rec->service, [K_CAT] = sizeof rec->category,
                                 [K_LVL] = sizeof rec->level, [K_USER] = sizeof rec->user,
                                 [K_SRC] = sizeof rec->src, [K_MSG] = sizeof rec->msg };
        uint32_t seen = 0;
        uint64_t pairs;
        bool ok = true;

        memset(rec, 0, offsetof(struct seal_rec, msg));
        rec->msg[0] = '\0';
        rec->prune = false;
        rec->prune_first_kept = 0;
        rec->fields = NULL;
        rec->fields_len = 0;
        if (!rd_map(&r, &pairs))
                return -EBADMSG;
        for (uint64_t i = 0; i < pairs && ok; i++) {
                const char *k;
                size_t kl;
                int ki;
                if (!rd_key(&r, &k, &kl))
                        return -EBADMSG;
                ki = key_index(k, kl);
                if (ki < 0 || (seen & (1u << ki))) {
                        ok = rd_skip(&r, 0);
                        continue;
                }
                seen |= 1u << ki;
                switch (ki) {
                case K_SEQ: rec->seq = (uint64_t)rd_int(&r, 0, &ok); break;
                case K_TS: rec->ts = rd_int(&r, 0, &ok); break;
                case K_PTS: rec->pub_ts = rd_int(&r, 0, &ok); break;
                case K_MONO: rec->mono = rd_int(&r, 0, &ok); break;
                case K_F: {
                        const uint8_t *start = r.p;
                        char t;
                        uint64_t n, iv;
                        bool neg;
                        ok = rd_head(&r, &t, &n, &iv, &neg);
                        r.p = start;
                        ok = ok && rd_skip(&r, 0);
                        if (ok && t == 'm' && (size_t)(r.p - start) <= sizeof rec->fbuf) {
                                memcpy(rec->fbuf, start, (size_t)(r.p - start));
                                rec->fields = rec->fbuf;
                                rec->fields_len = (size_t)(r.p - start);
                        }
                        break;
                }
                case K_PRUNE: {
                        const uint8_t *start = r.p;
                        bool hh;
                        if (rd_prune(&r, &rec->prune_first_kept, rec->prune_head, &hh)) {
                                rec->prune = hh && rec->prune_first_kept > 0;
                        } else {
                                r.p = start;
                                ok = rd_skip(&r, 0);
                        }
                        break;
                }
                default:
                        if (rd_strcpy(&r, strs[ki], sizes[ki]) < 0)
                                return -EBADMSG;
                }
        }
        return ok && rec->seq ? 0 : -EBADMSG;
}

int seal_rec_peek(const char *payload, size_t len, struct seal_peek *p)
{
        struct rd r = { (const uint8_t *)payload, (const uint8_t *)payload + len };
        bool have_seq = false, have_ts = false, have_prune = false, ok = true;
        uint64_t pairs;

        memset(p, 0, sizeof *p);
        if (!rd_map(&r, &pairs))
                return -EBADMSG;
        for (uint64_t i = 0; i < pairs && ok; i++) {
                const char *k;
                size_t kl;
                if (!rd_key(&r, &k, &kl))
                        return -EBADMSG;
                if (!have_seq && key_is(k, kl, "seq")) {
                        have_seq = true;
                        p->seq = (uint64_t)rd_int(&r, 0, &ok);
                } else if (!have_ts && key_is(k, kl, "ts")) {
                        have_ts = true;
                        p->ts = rd_int(&r, 0, &ok);
                } else if (!have_prune && key_is(k, kl, "prune")) {
                        const uint8_t *start = r.p;
                        bool hh;
                        have_prune = true;
                        if (rd_prune(&r, &p->first_kept, p->prune_head, &hh)) {
                                p->prune = hh && p->first_kept > 0;
                        } else {
                                r.p = start;
                                ok = rd_skip(&r, 0);
                        }
                } else {
                        ok = rd_skip(&r, 0);
                }
        }
        return ok && p->seq ? 0 : -EBADMSG;
}

void seal_info_encode(struct mpw *w, const struct seal_info *si)
{
        mpw_map_begin(w);
        mpw_kv_uint(w, "epoch", si->epoch);
        mpw_kv_uint(w, "n", si->n);
        mpw_kv_uint(w, "seq", si->seq);
        mpw_kv_int(w, "ts", si->ts);
        mpw_map_end(w);
}

int seal_info_decode(const char *payload, size_t len, struct seal_info *ret)
{
        struct rd r = { (const uint8_t *)payload, (const uint8_t *)payload + len };
        struct seal_info si = { 0 };
        uint32_t seen = 0;
        uint64_t pairs;
        bool ok = true;

        if (!rd_map(&r, &pairs))
                return -EBADMSG;
        for (uint64_t i = 0; i < pairs && ok; i++) {
                static const char *const keys[] = { "epoch", "n", "seq", "ts" };
                const char *k;
                size_t kl;
                int ki = -1;
                if (!rd_key(&r, &k, &kl))
                        return -EBADMSG;
                for (int j = 0; j < 4; j++)
                        if (key_is(k, kl, keys[j]))
                                ki = j;
                if (ki < 0 || (seen & (1u << ki))) {
                        ok = rd_skip(&r, 0);
                        continue;
                }
                seen |= 1u << ki;
                int64_t v = rd_int(&r, 0, &ok);
                if (ki == 0)
                        si.epoch = (uint64_t)v;
                else if (ki == 1)
                        si.n = (uint64_t)v;
                else if (ki == 2)
                        si.seq = (uint64_t)v;
                else
                        si.ts = v;
        }
        if (!ok || !(seen & 2))
                return -EBADMSG;
        *ret = si;
        return 0;
}
