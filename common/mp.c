/* mp.c - msgpack writing (mpw_*) and reading decoded objects (mp_get, mp_to_*) over msgpack-c */
#include <sodium.h>

#include "mp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const struct mp_limits mp_limits_default = {
        .max_msg = 1 << 20,
        .max_depth = 16,
        .max_items = 10000,
        .max_str = 1 << 20,
};

static int sbuffer_write(void *data, const char *buf, size_t len)
{
        return msgpack_sbuffer_write((msgpack_sbuffer *)data, buf, len);
}

void mpw_init(struct mpw *w)
{
        memset(w, 0, sizeof *w);
        msgpack_sbuffer_init(&w->sb);
        msgpack_packer_init(&w->pk, &w->sb, sbuffer_write);
}

void mpw_free(struct mpw *w)
{
        msgpack_sbuffer_destroy(&w->sb);
        memset(w, 0, sizeof *w);
}

void mpw_move(struct mpw *dst, struct mpw *src)
{
        *dst = *src;
        /* the packer points at its own sbuffer: re-aim it */
        msgpack_packer_init(&dst->pk, &dst->sb, sbuffer_write);
        mpw_init(src);
}

void mpw_wipe(struct mpw *w)
{
        if (w->sb.data)
                sodium_memzero(w->sb.data, w->sb.size);
        mpw_free(w);
}

void mpw_reset(struct mpw *w)
{
        w->sb.size = 0;
        w->depth = 0;
        w->count[0] = 0;
        w->bad = false;
}

struct mpw *mpw_reuse(struct mpw *w, size_t keep_max, bool wipe)
{
        if (!w->pk.data || w->sb.alloc > keep_max) {
                if (wipe)
                        mpw_wipe(w);
                else
                        mpw_free(w);
                mpw_init(w);
        } else {
                if (wipe && w->sb.data)
                        sodium_memzero(w->sb.data, w->sb.size);
                mpw_reset(w);
        }
        return w;
}

int mpw_finish(const struct mpw *w)
{
        return (w->bad || w->depth != 0) ? -EINVAL : 0;
}

static void item(struct mpw *w)
{
        w->count[w->depth]++;
}

static void open_container(struct mpw *w, bool map)
{
        static const char hdr[5] = { 0 };

        item(w);
        if (w->depth >= MPW_MAX_DEPTH) {
                w->bad = true;
                return;
        }
        w->hdr[w->depth] = w->sb.size;
        w->is_map[w->depth] = map;
        w->depth++;
        w->count[w->depth] = 0;
        msgpack_sbuffer_write(&w->sb, hdr, sizeof hdr);
}

static void close_container(struct mpw *w, bool map)
{
        unsigned char *p;
        uint32_t n;

        if (w->depth == 0 || w->is_map[w->depth - 1] != map) {
                w->bad = true;
                return;
        }
        n = w->count[w->depth];
        if (map) {
                if (n % 2)
                        w->bad = true;
                n /= 2;
        }
        w->depth--;
        p = (unsigned char *)w->sb.data + w->hdr[w->depth];
        p[0] = map ? 0xdf : 0xdd;
        p[1] = (unsigned char)(n >> 24);
        p[2] = (unsigned char)(n >> 16);
        p[3] = (unsigned char)(n >> 8);
        p[4] = (unsigned char)n;
}

void mpw_map_begin(struct mpw *w) { open_container(w, true); }
void mpw_map_end(struct mpw *w) { close_container(w, true); }
void mpw_arr_begin(struct mpw *w) { open_container(w, false); }
void mpw_arr_end(struct mpw *w) { close_container(w, false); }

/* room for n more bytes without growing the buffer */
static inline unsigned char *room(struct mpw *w, size_t n)
{
        return w->sb.alloc - w->sb.size >= n ? (unsigned char *)w->sb.data + w->sb.size : NULL;
}

void mpw_strn(struct mpw *w, const char *s, size_t n)
{
        unsigned char *p;

        item(w);
        /* a short string straight into the buffer: the bytes msgpack-c writes (fixstr) */
        if (n < 32 && (p = room(w, n + 1))) {
                p[0] = (unsigned char)(0xa0 | n);
                memcpy(p + 1, s, n);
                w->sb.size += n + 1;
                return;
        }
        msgpack_pack_str(&w->pk, n);
        msgpack_pack_str_body(&w->pk, s, n);
}

void mpw_str(struct mpw *w, const char *s) { mpw_strn(w, s, strlen(s)); }
void mpw_int(struct mpw *w, int64_t v)
{
        unsigned char *p;

        item(w);
        if (v >= 0 && v < 128 && (p = room(w, 1))) { /* positive fixint */
                *p = (unsigned char)v;
                w->sb.size++;
                return;
        }
        msgpack_pack_int64(&w->pk, v);
}

void mpw_uint(struct mpw *w, uint64_t v)
{
        unsigned char *p;

        item(w);
        if (v < 128 && (p = room(w, 1))) {
                *p = (unsigned char)v;
                w->sb.size++;
                return;
        }
        msgpack_pack_uint64(&w->pk, v);
}
void mpw_double(struct mpw *w, double v) { item(w); msgpack_pack_double(&w->pk, v); }
void mpw_nil(struct mpw *w) { item(w); msgpack_pack_nil(&w->pk); }

void mpw_bool(struct mpw *w, bool v)
{
        unsigned char *p;

        item(w);
        if ((p = room(w, 1))) {
                *p = v ? 0xc3 : 0xc2;
                w->sb.size++;
                return;
        }
        if (v)
                msgpack_pack_true(&w->pk);
        else
                msgpack_pack_false(&w->pk);
}

void mpw_bin(struct mpw *w, const void *p, size_t n)
{
        item(w);
        msgpack_pack_bin(&w->pk, n);
        msgpack_pack_bin_body(&w->pk, p, n);
}

void mpw_obj(struct mpw *w, const msgpack_object *o)
{
        item(w);
        msgpack_pack_object(&w->pk, *o);
}

void mpw_raw(struct mpw *w, const void *p, size_t n)
{
        unsigned char *d;

        item(w);
        if ((d = room(w, n))) {
                memcpy(d, p, n);
                w->sb.size += n;
                return;
        }
        msgpack_sbuffer_write(&w->sb, p, n);
}

const msgpack_object *mp_get(const msgpack_object *map, const char *key)
{
        size_t kl;

        if (!map || map->type != MSGPACK_OBJECT_MAP)
                return NULL;
        kl = strlen(key);
        for (uint32_t i = 0; i < map->via.map.size; i++) {
                const msgpack_object *k = &map->via.map.ptr[i].key;
                if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == kl &&
                    memcmp(k->via.str.ptr, key, kl) == 0)
                        return &map->via.map.ptr[i].val;
        }
        return NULL;
}

bool mp_is_str(const msgpack_object *o)
{
        return o && o->type == MSGPACK_OBJECT_STR;
}

bool mp_streq(const msgpack_object *o, const char *s)
{
        size_t l = strlen(s);

        return mp_is_str(o) && o->via.str.size == l && memcmp(o->via.str.ptr, s, l) == 0;
}

char *mp_strdup(const msgpack_object *o)
{
        char *s;

        if (!mp_is_str(o) || memchr(o->via.str.ptr, '\0', o->via.str.size))
                return NULL;
        s = malloc(o->via.str.size + 1);
        if (!s)
                return NULL;
        memcpy(s, o->via.str.ptr, o->via.str.size);
        s[o->via.str.size] = '\0';
        return s;
}

int mp_strcpy(const msgpack_object *o, char *buf, size_t size)
{
        if (!mp_is_str(o) || memchr(o->via.str.ptr, '\0', o->via.str.size))
                return -EINVAL;
        if (o->via.str.size >= size)
                return -E2BIG;
        memcpy(buf, o->via.str.ptr, o->via.str.size);
        buf[o->via.str.size] = '\0';
        return 0;
}

int mp_to_int64(const msgpack_object *o, int64_t *ret)
{
        if (!o)
                return -EINVAL;
        if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
                if (o->via.u64 > INT64_MAX)
                        return -ERANGE;
                *ret = (int64_t)o->via.u64;
                return 0;
        }
        if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
                *ret = o->via.i64;
                return 0;
        }
        return -EINVAL;
}

int mp_to_double(const msgpack_object *o, double *ret)
{
        int64_t i;

        if (o && (o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32)) {
                *ret = o->via.f64;
                return 0;
        }
        if (mp_to_int64(o, &i) == 0) {
                *ret = (double)i;
                return 0;
        }
        return -EINVAL;
}

int mp_to_bool(const msgpack_object *o, bool *ret)
{
        if (!o || o->type != MSGPACK_OBJECT_BOOLEAN)
                return -EINVAL;
        *ret = o->via.boolean;
        return 0;
}

const char *mp_type_name(const msgpack_object *o)
{
        if (!o)
                return "nothing";
        switch (o->type) {
        case MSGPACK_OBJECT_NIL: return "nil";
        case MSGPACK_OBJECT_BOOLEAN: return "boolean";
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "integer";
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64: return "number";
        case MSGPACK_OBJECT_STR: return "string";
        case MSGPACK_OBJECT_ARRAY: return "array";
        case MSGPACK_OBJECT_MAP: return "map";
        case MSGPACK_OBJECT_BIN: return "binary";
        case MSGPACK_OBJECT_EXT: return "extension";
        }
        return "unknown";
}

int64_t mp_get_int(const msgpack_object *map, const char *key, int64_t def)
{
        int64_t v;

        return mp_to_int64(mp_get(map, key), &v) == 0 ? v : def;
}

bool mp_get_bool(const msgpack_object *map, const char *key, bool def)
{
        bool v;

        return mp_to_bool(mp_get(map, key), &v) == 0 ? v : def;
}

const char *mp_get_strn(const msgpack_object *map, const char *key, size_t *len)
{
        const msgpack_object *o = mp_get(map, key);

        if (!mp_is_str(o))
                return NULL;
        *len = o->via.str.size;
        return o->via.str.ptr;
}
