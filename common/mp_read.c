/* mp_read.c - bounded msgpack reading: check, peek without decoding, decode */
#include "mp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- bounded checker ---------------------------------------------------- */

struct walk {
        const unsigned char *p, *end;
        const struct mp_limits *lim;
        const char *why;
};

static int need(struct walk *k, size_t n)
{
        if ((size_t)(k->end - k->p) < n) {
                k->why = "truncated message";
                return -EBADMSG;
        }
        return 0;
}

static uint64_t be(const unsigned char *p, int n)
{
        uint64_t v = 0;

        for (int i = 0; i < n; i++)
                v = (v << 8) | p[i];
        return v;
}

static int walk_obj(struct walk *k, unsigned depth);

/* The limits of a container of n items (entries when map) at depth, before
 * descending: the checker's and the decoder's one rule. */
static int container_ok(struct walk *k, uint64_t n, bool map, unsigned depth)
{
        if (depth + 1 > k->lim->max_depth) {
                k->why = "nesting too deep";
                return -EMSGSIZE;
        }
        if (n > k->lim->max_items) {
                k->why = map ? "map has too many entries" : "array has too many items";
                return -EMSGSIZE;
        }
        /* every item takes at least one byte: a cheap bound before descending */
        if (n * (map ? 2 : 1) > (uint64_t)(k->end - k->p)) {
                k->why = "truncated message";
                return -EBADMSG;
        }
        return 0;
}

static int walk_container(struct walk *k, uint64_t n, bool map, unsigned depth)
{
        int r;

        if ((r = container_ok(k, n, map, depth)) < 0)
                return r;
        for (uint64_t i = 0; i < n * (map ? 2 : 1); i++) {
                r = walk_obj(k, depth + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int walk_bytes(struct walk *k, uint64_t n)
{
        if (n > k->lim->max_str) {
                k->why = "string too long";
                return -EMSGSIZE;
        }
        if (need(k, n) < 0)
                return -EBADMSG;
        k->p += n;
        return 0;
}

static int walk_obj(struct walk *k, unsigned depth)
{
        unsigned char b;
        uint64_t n;

        if (need(k, 1) < 0)
                return -EBADMSG;
        b = *k->p++;
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
                return 0;
        if ((b & 0xf0) == 0x80)
                return walk_container(k, b & 0x0f, true, depth);
        if ((b & 0xf0) == 0x90)
                return walk_container(k, b & 0x0f, false, depth);
        if ((b & 0xe0) == 0xa0)
                return walk_bytes(k, b & 0x1f);
        switch (b) {
        case 0xc4: case 0xd9:
                if (need(k, 1) < 0) return -EBADMSG;
                n = be(k->p, 1); k->p += 1;
                return walk_bytes(k, n);
        case 0xc5: case 0xda:
                if (need(k, 2) < 0) return -EBADMSG;
                n = be(k->p, 2); k->p += 2;
                return walk_bytes(k, n);
        case 0xc6: case 0xdb:
                if (need(k, 4) < 0) return -EBADMSG;
                n = be(k->p, 4); k->p += 4;
                return walk_bytes(k, n);
        case 0xc7: case 0xc8: case 0xc9: {
                int l = b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4;
                if (need(k, l + 1) < 0) return -EBADMSG;
                n = be(k->p, l); k->p += l + 1;
                return walk_bytes(k, n);
        }
        case 0xca: case 0xce: case 0xd2: return walk_bytes(k, 4);
        case 0xcb: case 0xcf: case 0xd3: return walk_bytes(k, 8);
        case 0xcc: case 0xd0: return walk_bytes(k, 1);
        case 0xcd: case 0xd1: return walk_bytes(k, 2);
        case 0xd4: return walk_bytes(k, 2);
        case 0xd5: return walk_bytes(k, 3);
        case 0xd6: return walk_bytes(k, 5);
        case 0xd7: return walk_bytes(k, 9);
        case 0xd8: return walk_bytes(k, 17);
        case 0xdc: case 0xde:
                if (need(k, 2) < 0) return -EBADMSG;
                n = be(k->p, 2); k->p += 2;
                return walk_container(k, n, b == 0xde, depth);
        case 0xdd: case 0xdf:
                if (need(k, 4) < 0) return -EBADMSG;
                n = be(k->p, 4); k->p += 4;
                return walk_container(k, n, b == 0xdf, depth);
        default: /* 0xc1 is never used */
                k->why = "invalid type byte";
                return -EBADMSG;
        }
}

int mp_check(const void *buf, size_t len, const struct mp_limits *lim, const char **why)
{
        struct walk k = { .p = buf, .end = (const unsigned char *)buf + len, .lim = lim };
        int r;

        if (!lim)
                k.lim = lim = &mp_limits_default;
        if (len == 0) {
                *why = "empty message";
                return -EBADMSG;
        }
        if (len > lim->max_msg) {
                *why = "message too large";
                return -EMSGSIZE;
        }
        r = walk_obj(&k, 0);
        if (r == 0 && k.p != k.end) {
                k.why = "trailing bytes after message";
                r = -EBADMSG;
        }
        if (r < 0)
                *why = k.why;
        return r;
}

/* Size of one object's header and of its payload, and how many child items follow. */
static int item_shape(const unsigned char *p, const unsigned char *end, size_t *hdr, uint64_t *payload,
                      uint64_t *children)
{
        unsigned char b;
        static const struct { unsigned char first, last; unsigned char hdr; unsigned char pay; } fixed[] = {
                { 0xc0, 0xc0, 1, 0 }, { 0xc2, 0xc3, 1, 0 }, { 0xca, 0xca, 1, 4 }, { 0xcb, 0xcb, 1, 8 },
                { 0xcc, 0xcc, 1, 1 }, { 0xcd, 0xcd, 1, 2 }, { 0xce, 0xce, 1, 4 }, { 0xcf, 0xcf, 1, 8 },
                { 0xd0, 0xd0, 1, 1 }, { 0xd1, 0xd1, 1, 2 }, { 0xd2, 0xd2, 1, 4 }, { 0xd3, 0xd3, 1, 8 },
                { 0xd4, 0xd4, 1, 2 }, { 0xd5, 0xd5, 1, 3 }, { 0xd6, 0xd6, 1, 5 }, { 0xd7, 0xd7, 1, 9 },
                { 0xd8, 0xd8, 1, 17 },
        };

        if (p >= end)
                return -EBADMSG;
        b = *p;
        *children = 0;
        *payload = 0;
        *hdr = 1;
        if (b <= 0x7f || b >= 0xe0)
                return 0;
        if ((b & 0xf0) == 0x80) { *children = 2u * (b & 0x0f); return 0; }
        if ((b & 0xf0) == 0x90) { *children = b & 0x0f; return 0; }
        if ((b & 0xe0) == 0xa0) { *payload = b & 0x1f; return 0; }
        for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
                if (b >= fixed[i].first && b <= fixed[i].last) {
                        *payload = fixed[i].pay;
                        return 0;
                }
        {
                int l = (b == 0xc4 || b == 0xd9 || b == 0xc7) ? 1 : (b == 0xc5 || b == 0xda || b == 0xc8 || b == 0xdc || b == 0xde) ? 2 :
                        (b == 0xc6 || b == 0xdb || b == 0xc9 || b == 0xdd || b == 0xdf) ? 4 : 0;
                if (!l || end - p < 1 + l)
                        return -EBADMSG;
                *hdr = 1 + (size_t)l + (b >= 0xc7 && b <= 0xc9 ? 1 : 0);
                *payload = be(p + 1, l);
                if (b == 0xdc || b == 0xdd) { *children = *payload; *payload = 0; }
                if (b == 0xde || b == 0xdf) { *children = 2 * *payload; *payload = 0; }
                return 0;
        }
}

typedef int shape_fn(const unsigned char *p, const unsigned char *end, size_t *hdr, uint64_t *payload,
                     uint64_t *children);

/* Moves *pp past n whole items (bounds checked), iteratively. */
static int skip_items(const unsigned char **pp, const unsigned char *end, uint64_t n, shape_fn *shape)
{
        const unsigned char *p = *pp;
        uint64_t payload, children;
        size_t hdr;

        while (n > 0) {
                if (shape(p, end, &hdr, &payload, &children) < 0 || (uint64_t)(end - p) < hdr + payload)
                        return -EBADMSG;
                p += hdr + payload;
                n += children;
                n--;
        }
        *pp = p;
        return 0;
}

static int fast_shape(const unsigned char *p, const unsigned char *end, size_t *hdr, uint64_t *payload,
                      uint64_t *children);

int mp_peek_id(const void *buf, size_t len, const void **ret_p, size_t *ret_n)
{
        const unsigned char *p = buf, *end = p + len;
        uint64_t entries, children, payload;
        size_t hdr;

        if (item_shape(p, end, &hdr, &payload, &entries) < 0 || !((*p & 0xf0) == 0x80 || *p == 0xde || *p == 0xdf))
                return -ENOENT;
        p += hdr;
        for (uint64_t e = 0; e < entries; e += 2) {
                bool is_id = false;
                uint64_t skip = 1;

                /* key */
                if (item_shape(p, end, &hdr, &payload, &children) < 0 || (uint64_t)(end - p) < hdr + payload)
                        return -ENOENT;
                is_id = children == 0 && payload == 2 &&
                        ((*p & 0xe0) == 0xa0 || *p == 0xd9 || *p == 0xda || *p == 0xdb) && !memcmp(p + hdr, "id", 2);
                p += hdr + payload;
                /* a key that is a container: its items are part of the key */
                if (children && skip_items(&p, end, children, item_shape) < 0)
                        return -ENOENT;
                /* value: skip iteratively, never recursively */
                if (is_id) {
                        if (item_shape(p, end, &hdr, &payload, &children) < 0 || children ||
                            (uint64_t)(end - p) < hdr + payload)
                                return -ENOENT;
                        *ret_p = p;
                        *ret_n = hdr + payload;
                        return 0;
                }
                while (skip > 0) {
                        if (item_shape(p, end, &hdr, &payload, &children) < 0 || (uint64_t)(end - p) < hdr + payload)
                                return -ENOENT;
                        p += hdr + payload;
                        skip += children;
                        skip--;
                }
        }
        return -ENOENT;
}

/* The header size, payload size and child items of the object at p (checked
 * bytes), by its first byte. */
static int fast_shape(const unsigned char *p, const unsigned char *end, size_t *hdr, uint64_t *payload,
                      uint64_t *children)
{
        unsigned char b;

        if (p >= end)
                return -EBADMSG;
        b = *p;
        *hdr = 1;
        *payload = 0;
        *children = 0;
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
                return 0;
        if (b <= 0x8f) {
                *children = 2u * (b & 0x0f);
                return 0;
        }
        if (b <= 0x9f) {
                *children = b & 0x0f;
                return 0;
        }
        if (b <= 0xbf) {
                *payload = b & 0x1f;
                return 0;
        }
        switch (b) {
        case 0xcc: case 0xd0: *payload = 1; return 0;
        case 0xcd: case 0xd1: case 0xd4: *payload = 2; return 0;
        case 0xd5: *payload = 3; return 0;
        case 0xca: case 0xce: case 0xd2: *payload = 4; return 0;
        case 0xd6: *payload = 5; return 0;
        case 0xcb: case 0xcf: case 0xd3: *payload = 8; return 0;
        case 0xd7: *payload = 9; return 0;
        case 0xd8: *payload = 17; return 0;
        case 0xc4: case 0xd9:
                if (end - p < 2)
                        return -EBADMSG;
                *hdr = 2;
                *payload = p[1];
                return 0;
        case 0xc5: case 0xda: case 0xdc: case 0xde:
                if (end - p < 3)
                        return -EBADMSG;
                *hdr = 3;
                *payload = (uint64_t)p[1] << 8 | p[2];
                break;
        case 0xc6: case 0xdb: case 0xdd: case 0xdf:
                if (end - p < 5)
                        return -EBADMSG;
                *hdr = 5;
                *payload = (uint64_t)p[1] << 24 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 8 | p[4];
                break;
        default: return item_shape(p, end, hdr, payload, children);
        }
        if (b == 0xdc || b == 0xdd) {
                *children = *payload;
                *payload = 0;
        } else if (b == 0xde || b == 0xdf) {
                *children = 2 * *payload;
                *payload = 0;
        }
        return 0;
}

int mp_item_len(const void *buf, size_t len, size_t *ret_n)
{
        const unsigned char *p = buf, *end = p + len;
        uint64_t skip = 1, payload, children;
        size_t hdr;

        while (skip > 0) {
                if (p >= end || fast_shape(p, end, &hdr, &payload, &children) < 0 ||
                    (uint64_t)(end - p) < hdr + payload)
                        return -EBADMSG;
                p += hdr + payload;
                skip += children;
                skip--;
        }
        *ret_n = (size_t)(p - (const unsigned char *)buf);
        return 0;
}

int mp_peek_value(const void *buf, size_t len, const char *key, const void **ret_p, size_t *ret_n)
{
        const unsigned char *p = buf, *end = p + len;
        uint64_t entries, children, payload;
        size_t hdr, klen = strlen(key);

        if (fast_shape(p, end, &hdr, &payload, &entries) < 0 || !((*p & 0xf0) == 0x80 || *p == 0xde || *p == 0xdf))
                return -ENOENT;
        p += hdr;
        for (uint64_t e = 0; e < entries; e += 2) {
                const unsigned char *v;
                uint64_t skip = 1;
                bool hit;

                if (fast_shape(p, end, &hdr, &payload, &children) < 0 || (uint64_t)(end - p) < hdr + payload)
                        return -ENOENT;
                hit = children == 0 && payload == klen && ((*p & 0xe0) == 0xa0 || *p == 0xd9 || *p == 0xda || *p == 0xdb) &&
                      !memcmp(p + hdr, key, klen);
                p += hdr + payload;
                /* a key that is a container: its items are part of the key */
                if (children && skip_items(&p, end, children, fast_shape) < 0)
                        return -ENOENT;
                v = p;
                if (hit && e + 2 == entries) { /* the last value runs to the end */
                        *ret_p = v;
                        *ret_n = (size_t)(end - v);
                        return v < end ? 0 : -ENOENT;
                }
                while (skip > 0) { /* iteratively, never recursively */
                        if (fast_shape(p, end, &hdr, &payload, &children) < 0 || (uint64_t)(end - p) < hdr + payload)
                                return -ENOENT;
                        p += hdr + payload;
                        skip += children;
                        skip--;
                }
                if (hit) {
                        *ret_p = v;
                        *ret_n = (size_t)(p - v);
                        return 0;
                }
        }
        return -ENOENT;
}

/* The one-pass decoder below into a zone of the result's own, so that
 * msgpack_unpacked_destroy() frees it as it would msgpack-c's. */
int mp_decode(const void *buf, size_t len, const struct mp_limits *lim, msgpack_unpacked *ret,
              const char **why)
{
        msgpack_zone *z = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
        msgpack_object o;
        int r;

        if (!z) {
                *why = "out of memory";
                return -ENOMEM;
        }
        r = mp_decode_zone(buf, len, lim, z, &o, why);
        if (r < 0) {
                msgpack_zone_free(z);
                return r;
        }
        ret->zone = z;
        ret->data = o;
        return 0;
}

/* ---- one-pass decoder ------------------------------------------------------
 * The checks of mp_check() and the objects of msgpack_unpack() in one walk
 * over the bytes: the same limits and reasons, the same objects (strings,
 * bins and exts point into buf). */

struct dec {
        struct walk k;
        msgpack_zone *z;
        const unsigned char *base;
        struct mp_span *spans;
        size_t n_spans;
};

static int dec_obj(struct dec *d, msgpack_object *o, unsigned depth);

static int dec_container(struct dec *d, msgpack_object *o, uint64_t n, bool map, unsigned depth)
{
        struct walk *k = &d->k;
        void *ptr = NULL;
        int r;

        if ((r = container_ok(k, n, map, depth)) < 0)
                return r;
        if (n) {
                ptr = msgpack_zone_malloc(d->z, n * (map ? sizeof(msgpack_object_kv) : sizeof(msgpack_object)));
                if (!ptr) {
                        k->why = "out of memory";
                        return -ENOMEM;
                }
        }
        if (map) {
                msgpack_object_kv *kv = ptr;

                o->type = MSGPACK_OBJECT_MAP;
                o->via.map.size = (uint32_t)n;
                o->via.map.ptr = kv;
                for (uint64_t i = 0; i < n; i++) {
                        const unsigned char *v;
                        r = dec_obj(d, &kv[i].key, depth + 1);

                        if (r < 0)
                                return r;
                        v = k->p;
                        r = dec_obj(d, &kv[i].val, depth + 1);
                        if (r < 0)
                                return r;
                        if (depth == 0 && i < d->n_spans)
                                d->spans[i] = (struct mp_span){(uint32_t)(v - d->base), (uint32_t)(k->p - v)};
                }
        } else {
                msgpack_object *a = ptr;

                o->type = MSGPACK_OBJECT_ARRAY;
                o->via.array.size = (uint32_t)n;
                o->via.array.ptr = a;
                for (uint64_t i = 0; i < n; i++) {
                        r = dec_obj(d, &a[i], depth + 1);

                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* n bytes of payload at the cursor, within the string limit */
static int dec_bytes(struct walk *k, uint64_t n, const char **ret)
{
        int r = walk_bytes(k, n);

        if (r < 0)
                return r;
        *ret = (const char *)k->p - n;
        return 0;
}

static int dec_len(struct walk *k, int l, uint64_t *ret)
{
        if (need(k, (size_t)l) < 0)
                return -EBADMSG;
        *ret = be(k->p, l);
        k->p += l;
        return 0;
}

static int dec_obj(struct dec *d, msgpack_object *o, unsigned depth)
{
        struct walk *k = &d->k;
        const char *p;
        unsigned char b;
        uint64_t n;
        int r;

        if (need(k, 1) < 0)
                return -EBADMSG;
        b = *k->p++;
        if (b <= 0x7f) {
                o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
                o->via.u64 = b;
                return 0;
        }
        if (b >= 0xe0) {
                o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
                o->via.i64 = (int8_t)b;
                return 0;
        }
        if ((b & 0xf0) == 0x80)
                return dec_container(d, o, b & 0x0f, true, depth);
        if ((b & 0xf0) == 0x90)
                return dec_container(d, o, b & 0x0f, false, depth);
        if ((b & 0xe0) == 0xa0) {
                n = b & 0x1f;
                goto str;
        }
        switch (b) {
        case 0xc0:
                o->type = MSGPACK_OBJECT_NIL;
                return 0;
        case 0xc2:
        case 0xc3:
                o->type = MSGPACK_OBJECT_BOOLEAN;
                o->via.boolean = b == 0xc3;
                return 0;
        case 0xc4:
        case 0xc5:
        case 0xc6:
                if (dec_len(k, 1 << (b - 0xc4), &n) < 0)
                        return -EBADMSG;
                if ((r = dec_bytes(k, n, &p)) < 0)
                        return r;
                o->type = MSGPACK_OBJECT_BIN;
                o->via.bin.ptr = p;
                o->via.bin.size = (uint32_t)n;
                return 0;
        case 0xd9:
        case 0xda:
        case 0xdb:
                if (dec_len(k, 1 << (b - 0xd9), &n) < 0)
                        return -EBADMSG;
        str:
                if ((r = dec_bytes(k, n, &p)) < 0)
                        return r;
                o->type = MSGPACK_OBJECT_STR;
                o->via.str.ptr = p;
                o->via.str.size = (uint32_t)n;
                return 0;
        case 0xc7:
        case 0xc8:
        case 0xc9:
                if (need(k, (size_t)(1 << (b - 0xc7)) + 1) < 0 || dec_len(k, 1 << (b - 0xc7), &n) < 0)
                        return -EBADMSG;
                /* the limit on the data, as mp_check(); then the type byte with it */
                if (n > k->lim->max_str) {
                        k->why = "string too long";
                        return -EMSGSIZE;
                }
                if (need(k, n + 1) < 0)
                        return -EBADMSG;
                k->p += n + 1;
                p = (const char *)k->p - n - 1;
                n++;
                goto ext_at;
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
                n = (1u << (b - 0xd4)) + 1;
                if ((r = dec_bytes(k, n, &p)) < 0)
                        return r;
        ext_at:
                o->type = MSGPACK_OBJECT_EXT;
                o->via.ext.type = (int8_t)p[0];
                o->via.ext.ptr = p + 1;
                o->via.ext.size = (uint32_t)(n - 1);
                return 0;
        case 0xca:
        case 0xcb:
                if ((r = dec_bytes(k, b == 0xca ? 4 : 8, &p)) < 0)
                        return r;
                n = be((const unsigned char *)p, b == 0xca ? 4 : 8);
                if (b == 0xca) {
                        uint32_t u = (uint32_t)n;
                        float f;

                        memcpy(&f, &u, sizeof f);
                        o->type = MSGPACK_OBJECT_FLOAT32;
                        o->via.f64 = f;
                } else {
                        o->type = MSGPACK_OBJECT_FLOAT64;
                        memcpy(&o->via.f64, &n, sizeof n);
                }
                return 0;
        case 0xcc:
        case 0xcd:
        case 0xce:
        case 0xcf:
                if ((r = dec_bytes(k, 1u << (b - 0xcc), &p)) < 0)
                        return r;
                o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
                o->via.u64 = be((const unsigned char *)p, 1 << (b - 0xcc));
                return 0;
        case 0xd0:
        case 0xd1:
        case 0xd2:
        case 0xd3: {
                int l = 1 << (b - 0xd0);
                int64_t v;

                if ((r = dec_bytes(k, (uint64_t)l, &p)) < 0)
                        return r;
                n = be((const unsigned char *)p, l);
                /* sign-extend from l bytes */
                v = l == 8 ? (int64_t)n : (int64_t)(n ^ (1ull << (8 * l - 1))) - (int64_t)(1ull << (8 * l - 1));
                if (v < 0) {
                        o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
                        o->via.i64 = v;
                } else {
                        o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
                        o->via.u64 = (uint64_t)v;
                }
                return 0;
        }
        case 0xdc:
        case 0xde:
                if (dec_len(k, 2, &n) < 0)
                        return -EBADMSG;
                return dec_container(d, o, n, b == 0xde, depth);
        case 0xdd:
        case 0xdf:
                if (dec_len(k, 4, &n) < 0)
                        return -EBADMSG;
                return dec_container(d, o, n, b == 0xdf, depth);
        default: /* 0xc1 is never used */
                k->why = "invalid type byte";
                return -EBADMSG;
        }
}

int mp_decode_spans(const void *buf, size_t len, const struct mp_limits *lim, msgpack_zone *z, msgpack_object *ret,
                    struct mp_span *spans, size_t n_spans, const char **why)
{
        struct dec d = {.k = {.p = buf, .end = (const unsigned char *)buf + len, .lim = lim ? lim : &mp_limits_default},
                        .z = z,
                        .base = buf,
                        .spans = spans,
                        .n_spans = n_spans};
        msgpack_object o;
        int r;

        if (len == 0) {
                *why = "empty message";
                return -EBADMSG;
        }
        if (len > d.k.lim->max_msg) {
                *why = "message too large";
                return -EMSGSIZE;
        }
        r = dec_obj(&d, &o, 0);
        if (r == 0 && d.k.p != d.k.end) {
                d.k.why = "trailing bytes after message";
                r = -EBADMSG;
        }
        if (r < 0) {
                *why = d.k.why;
                return r;
        }
        *ret = o;
        return 0;
}

int mp_decode_zone(const void *buf, size_t len, const struct mp_limits *lim, msgpack_zone *z, msgpack_object *ret,
                   const char **why)
{
        return mp_decode_spans(buf, len, lim, z, ret, NULL, 0, why);
}

/* ---- accessors ---------------------------------------------------------- */
