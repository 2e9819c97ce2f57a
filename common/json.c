/* json.c - JSON <-> msgpack through jansson; see json.h for the rules */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* ---- JSON -> msgpack ----------------------------------------------------- */

static int to_mp(const json_t *j, struct mpw *w, int depth, const char **why)
{
        if (depth > DS_JSON_MAX_DEPTH) {
                *why = "nested too deeply";
                return -EINVAL;
        }
        switch (json_typeof(j)) {
        case JSON_OBJECT: {
                const char *k;
                if (json_object_size(j) > mp_limits_default.max_items) {
                        *why = "an object with more members than the bus carries";
                        return -EINVAL;
                }
                json_t *v;
                mpw_map_begin(w);
                json_object_foreach((json_t *)j, k, v) {
                        mpw_str(w, k);
                        int r = to_mp(v, w, depth + 1, why);
                        if (r < 0)
                                return r;
                }
                mpw_map_end(w);
                return 0;
        }
        case JSON_ARRAY: {
                size_t i;
                json_t *v;
                if (json_array_size(j) > mp_limits_default.max_items) {
                        *why = "an array with more items than the bus carries";
                        return -EINVAL;
                }
                mpw_arr_begin(w);
                json_array_foreach(j, i, v) {
                        int r = to_mp(v, w, depth + 1, why);
                        if (r < 0)
                                return r;
                }
                mpw_arr_end(w);
                return 0;
        }
        case JSON_STRING: mpw_strn(w, json_string_value(j), json_string_length(j)); return 0;
        case JSON_INTEGER: mpw_int(w, (int64_t)json_integer_value(j)); return 0;
        case JSON_REAL: mpw_double(w, json_real_value(j)); return 0;
        case JSON_TRUE: mpw_bool(w, true); return 0;
        case JSON_FALSE: mpw_bool(w, false); return 0;
        case JSON_NULL: mpw_nil(w); return 0;
        }
        *why = "unknown JSON type";
        return -EINVAL;
}

int ds_json_to_mp(const char *text, size_t len, struct mpw *w, char *err, size_t errlen)
{
        json_error_t je;
        const char *why = NULL;
        json_t *j;
        int r;

        if (len > DS_JSON_MAX_SIZE) {
                snprintf(err, errlen, "%zu bytes, more than the bus carries (%u)", len, DS_JSON_MAX_SIZE);
                return -EMSGSIZE;
        }
        j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
        if (!j) {
                snprintf(err, errlen, "line %d column %d: %s", je.line, je.column, je.text);
                return -EINVAL;
        }
        r = to_mp(j, w, 1, &why);
        json_decref(j);
        if (r < 0) {
                snprintf(err, errlen, "%s", why);
                return r;
        }
        if (w->bad) {
                snprintf(err, errlen, "nested too deeply");
                return -EINVAL;
        }
        return 0;
}

/* ---- msgpack -> JSON ----------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
        size_t len;
        uint32_t cp;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

/* A JSON string of the bytes; a byte that is not UTF-8 (or a NUL) becomes
 * U+FFFD, so what a service sent is shown, never refused or cut short. */
static json_t *mk_string(const char *p, size_t n)
{
        json_t *s = json_stringn(p, n);
        char *buf, *o;

        if (s || n > SIZE_MAX / 3)
                return s;
        buf = malloc(n * 3 + 1);
        if (!buf)
                return NULL;
        o = buf;
        for (size_t i = 0; i < n;) {
                size_t l = p[i] ? utf8_seq((const unsigned char *)p + i, n - i) : 0;
                if (l) {
                        memcpy(o, p + i, l);
                        o += l, i += l;
                } else {
                        memcpy(o, "\xef\xbf\xbd", 3);
                        o += 3, i++;
                }
        }
        s = json_stringn(buf, (size_t)(o - buf));
        free(buf);
        return s;
}

static json_t *mk_hex(const char *p, size_t n)
{
        static const char hx[] = "0123456789abcdef";
        char *buf = malloc(n * 2 + 1);
        json_t *s;

        if (!buf)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                buf[2 * i] = hx[(unsigned char)p[i] >> 4];
                buf[2 * i + 1] = hx[(unsigned char)p[i] & 15];
        }
        s = json_stringn(buf, n * 2);
        free(buf);
        return s;
}

static json_t *from_mp(const msgpack_object *o);

/* A map key that is not a string is shown as its JSON text. Caller owns. */
static char *key_of(const msgpack_object *k)
{
        json_t *j = k->type == MSGPACK_OBJECT_STR ? mk_string(k->via.str.ptr, k->via.str.size) : from_mp(k);
        char *s;

        if (!j)
                return NULL;
        if (json_is_string(j))
                s = strndup(json_string_value(j), json_string_length(j));
        else
                s = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
        json_decref(j);
        return s;
}

static json_t *from_mp(const msgpack_object *o)
{
        json_t *j;

        if (!o)
                return json_null();
        switch (o->type) {
        case MSGPACK_OBJECT_NIL: return json_null();
        case MSGPACK_OBJECT_BOOLEAN: return json_boolean(o->via.boolean);
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
                if (o->via.u64 > INT64_MAX)
                        return json_real((double)o->via.u64);
                return json_integer((json_int_t)o->via.u64);
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: return json_integer((json_int_t)o->via.i64);
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64: return isfinite(o->via.f64) ? json_real(o->via.f64) : json_null();
        case MSGPACK_OBJECT_STR: return mk_string(o->via.str.ptr, o->via.str.size);
        case MSGPACK_OBJECT_BIN: return mk_hex(o->via.bin.ptr, o->via.bin.size);
        case MSGPACK_OBJECT_EXT: return mk_hex(o->via.ext.ptr, o->via.ext.size);
        case MSGPACK_OBJECT_ARRAY:
                if (!(j = json_array()))
                        return NULL;
                for (uint32_t i = 0; i < o->via.array.size; i++)
                        if (json_array_append_new(j, from_mp(&o->via.array.ptr[i])) < 0)
                                goto fail;
                return j;
        case MSGPACK_OBJECT_MAP:
                if (!(j = json_object()))
                        return NULL;
                for (uint32_t i = 0; i < o->via.map.size; i++) {
                        char *k = key_of(&o->via.map.ptr[i].key);
                        if (!k)
                                goto fail;
                        int r = json_object_set_new(j, k, from_mp(&o->via.map.ptr[i].val));
                        free(k);
                        if (r < 0)
                                goto fail;
                }
                return j;
        }
        return json_null();
fail:
        json_decref(j);
        return NULL;
}

#define DUMP_FLAGS (JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(9))

int ds_json_write(FILE *f, const msgpack_object *o)
{
        json_t *j = from_mp(o);
        int r;

        if (!j)
                return -ENOMEM;
        r = json_dumpf(j, f, DUMP_FLAGS) < 0 ? -EIO : 0;
        json_decref(j);
        return r;
}

char *ds_json_dumps(const msgpack_object *o)
{
        json_t *j = from_mp(o);
        char *s;

        if (!j)
                return NULL;
        s = json_dumps(j, DUMP_FLAGS);
        json_decref(j);
        return s;
}

char *ds_json_dumps_mpw(const struct mpw *w)
{
        msgpack_unpacked u;
        const char *why;
        char *s;

        if (mpw_finish(w) < 0 || mp_decode(mpw_data(w), mpw_len(w), NULL, &u, &why) < 0)
                return NULL;
        s = ds_json_dumps(&u.data);
        msgpack_unpacked_destroy(&u);
        return s;
}
