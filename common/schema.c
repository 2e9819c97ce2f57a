/* schema.c - argument validation from declarative field tables */
#include "schema.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

const struct ds_field *ds_field_find(const struct ds_field *fields, const char *name)
{
        for (const struct ds_field *f = fields; f && f->name; f++)
                if (strcmp(f->name, name) == 0)
                        return f;
        return NULL;
}

static const char *type_name(enum ds_type t)
{
        switch (t) {
        case DS_STR: return "string";
        case DS_INT: return "integer";
        case DS_BOOL: return "boolean";
        case DS_FLOAT: return "number";
        case DS_MAP: return "map";
        case DS_ARRAY: return "array";
        case DS_ANY: return "any";
        }
        return "?";
}

static bool type_ok(enum ds_type t, const msgpack_object *o)
{
        switch (t) {
        case DS_STR: return o->type == MSGPACK_OBJECT_STR;
        case DS_INT:
                return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                       o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
        case DS_BOOL: return o->type == MSGPACK_OBJECT_BOOLEAN;
        case DS_FLOAT:
                return o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32 ||
                       o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                       o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
        case DS_MAP: return o->type == MSGPACK_OBJECT_MAP;
        case DS_ARRAY: return o->type == MSGPACK_OBJECT_ARRAY;
        case DS_ANY: return true;
        }
        return false;
}

static int check_value(const struct ds_field *f, const msgpack_object *o, const char *path,
                       struct ds_err *e);

/* A field's name as errors give it: "name", or "outer.name" inside a map
 * (written into buf only then: every request goes through here). */
static const char *field_path(char *buf, size_t size, const char *prefix, const char *name)
{
        if (!prefix[0])
                return name;
        snprintf(buf, size, "%s.%s", prefix, name);
        return buf;
}

static int check_map(const struct ds_field *fields, bool open, const msgpack_object *m,
                     const char *prefix, const msgpack_object **tb, size_t ntb, struct ds_err *e)
{
        size_t i = 0;
        char path[96];
        int r;

        /* unknown and duplicate keys */
        for (uint32_t i = 0; i < m->via.map.size; i++) {
                const msgpack_object *k = &m->via.map.ptr[i].key;
                char kbuf[64];

                if (k->type != MSGPACK_OBJECT_STR || mp_strcpy(k, kbuf, sizeof kbuf) < 0)
                        return ds_err_set(e, -EINVAL, prefix[0] ? prefix : NULL,
                                          "argument names must be short strings");
                for (uint32_t j = 0; j < i; j++)
                        if (mp_streq(&m->via.map.ptr[j].key, kbuf))
                                return ds_err_set(e, -EINVAL, field_path(path, sizeof path, prefix, kbuf),
                                                  "given twice");
                if (!open && !ds_field_find(fields, kbuf))
                        return ds_err_set(e, -EINVAL, field_path(path, sizeof path, prefix, kbuf), "unknown argument");
        }
        for (const struct ds_field *f = fields; f && f->name; f++, i++) {
                const msgpack_object *v = mp_get(m, f->name);

                if (i >= ntb)
                        tb = NULL;
                if (tb)
                        tb[i] = v && v->type != MSGPACK_OBJECT_NIL ? v : NULL;

                if (!v || v->type == MSGPACK_OBJECT_NIL) {
                        if (f->flags & DS_REQUIRED)
                                return ds_err_set(e, -EINVAL, field_path(path, sizeof path, prefix, f->name),
                                                  "is required");
                        continue;
                }
                r = check_value(f, v, field_path(path, sizeof path, prefix, f->name), e);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int check_value(const struct ds_field *f, const msgpack_object *o, const char *path,
                       struct ds_err *e)
{
        char ipath[96];
        const char *why;
        uint32_t maxl;

        if (!type_ok(f->type, o))
                return ds_err_set(e, -EINVAL, path, "must be %s %s, not %s",
                                  f->type == DS_INT || f->type == DS_ARRAY ? "an" : "a",
                                  type_name(f->type), mp_type_name(o));
        switch (f->type) {
        case DS_STR:
                maxl = f->max_len ? f->max_len : DS_STR_MAX_DEFAULT;
                if (o->via.str.size > maxl)
                        return ds_err_set(e, -EINVAL, path, "must be at most %u characters", maxl);
                if (o->via.str.size < f->min_len)
                        return ds_err_set(e, -EINVAL, path, "must be at least %u characters",
                                          f->min_len);
                if (memchr(o->via.str.ptr, '\0', o->via.str.size))
                        return ds_err_set(e, -EINVAL, path, "must not contain NUL bytes");
                if (f->enums) {
                        bool found = false;
                        char list[256] = "";
                        size_t ll = 0;

                        for (const char *const *p = f->enums; *p; p++) {
                                if (mp_streq(o, *p))
                                        found = true;
                                if (ll < sizeof list - 1)
                                        ll += (size_t)snprintf(list + ll, sizeof list - ll, "%s%s",
                                                               p == f->enums ? "" : ", ", *p);
                        }
                        if (!found)
                                return ds_err_set(e, -EINVAL, path, "must be one of: %s", list);
                }
                if (f->check && (why = f->check(o->via.str.ptr, o->via.str.size)))
                        return ds_err_set(e, -EINVAL, path, "%s", why);
                return 0;
        case DS_INT: {
                int64_t v;

                if (mp_to_int64(o, &v) < 0)
                        return ds_err_set(e, -EINVAL, path, "is out of range");
                if (f->max > f->min && (v < f->min || v > f->max))
                        return ds_err_set(e, -EINVAL, path, "must be between %lld and %lld",
                                          (long long)f->min, (long long)f->max);
                return 0;
        }
        case DS_FLOAT: {
                double v;

                mp_to_double(o, &v);
                if (v != v)
                        return ds_err_set(e, -EINVAL, path, "must be a number");
                if (f->max > f->min && (v < (double)f->min || v > (double)f->max))
                        return ds_err_set(e, -EINVAL, path, "must be between %lld and %lld",
                                          (long long)f->min, (long long)f->max);
                return 0;
        }
        case DS_MAP:
                if (!f->sub)
                        return (f->flags & DS_OPEN_MAP) ? 0 : ds_err_set(e, -EINVAL, path, "unexpected map");
                return check_map(f->sub, f->flags & DS_OPEN_MAP, o, path, NULL, 0, e);
        case DS_ARRAY:
                maxl = f->max_len ? f->max_len : 1024;
                if (o->via.array.size > maxl)
                        return ds_err_set(e, -EINVAL, path, "must have at most %u items", maxl);
                if (o->via.array.size < f->min_len)
                        return ds_err_set(e, -EINVAL, path, "must have at least %u items", f->min_len);
                if (!f->sub)
                        return 0;
                for (uint32_t i = 0; i < o->via.array.size; i++) {
                        int r;

                        snprintf(ipath, sizeof ipath, "%s[%u]", path, i);
                        r = check_value(f->sub, &o->via.array.ptr[i], ipath, e);
                        if (r < 0)
                                return r;
                }
                return 0;
        case DS_BOOL:
        case DS_ANY:
                return 0;
        }
        return 0;
}

int ds_validate(const struct ds_field *fields, const msgpack_object *args, struct ds_err *e)
{
        return ds_validate_bind(fields, args, NULL, 0, e);
}

int ds_validate_bind(const struct ds_field *fields, const msgpack_object *args, const msgpack_object **tb,
                     size_t ntb, struct ds_err *e)
{
        static const msgpack_object empty = { .type = MSGPACK_OBJECT_MAP };

        for (size_t i = 0; i < ntb; i++)
                tb[i] = NULL;
        if (!args || args->type == MSGPACK_OBJECT_NIL)
                args = &empty;
        if (args->type != MSGPACK_OBJECT_MAP)
                return ds_err_set(e, -EINVAL, "a", "arguments must be a map");
        return check_map(fields, false, args, "", tb, ntb, e);
}

int ds_schema_selftest(const struct ds_field *fields, struct ds_err *e)
{
        for (const struct ds_field *f = fields; f && f->name; f++) {
                if (ds_check_name(f->name, strlen(f->name)))
                        return ds_err_set(e, -EINVAL, f->name, "bad field name");
                for (const struct ds_field *g = fields; g != f; g++)
                        if (strcmp(f->name, g->name) == 0)
                                return ds_err_set(e, -EINVAL, f->name, "duplicate field");
                if (f->type < DS_STR || f->type > DS_ANY)
                        return ds_err_set(e, -EINVAL, f->name, "bad type");
                if (f->max < f->min)
                        return ds_err_set(e, -EINVAL, f->name, "max below min");
                if (f->max_len && f->min_len > f->max_len)
                        return ds_err_set(e, -EINVAL, f->name, "max_len below min_len");
                if (f->type == DS_MAP && f->sub) {
                        int r = ds_schema_selftest(f->sub, e);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* ---- patterns ----------------------------------------------------------- */

const char *ds_check_name(const char *s, size_t n)
{
        if (n < 1 || n > 32)
                return "must be 1 to 32 characters";
        if (!isalnum((unsigned char)s[0]))
                return "must start with a letter or digit";
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
                        return "may contain only letters, digits, '_', '-' and '.'";
        return NULL;
}

const char *ds_check_printable(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return "must not contain control characters";
        return NULL;
}

const char *ds_check_ip(const char *s, size_t n)
{
        char buf[INET6_ADDRSTRLEN + 1];
        unsigned char a[16];

        if (n == 0 || n >= sizeof buf)
                return "is not an IP address";
        memcpy(buf, s, n);
        buf[n] = '\0';
        if (inet_pton(AF_INET, buf, a) == 1 || inet_pton(AF_INET6, buf, a) == 1)
                return NULL;
        return "is not an IP address";
}

const char *ds_check_host(const char *s, size_t n)
{
        if (n == 0 || n > 253)
                return "must be a host name or IP address";
        if (!ds_check_ip(s, n))
                return NULL;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (!isalnum(c) && c != '-' && c != '.')
                        return "must be a host name or IP address";
        }
        if (s[0] == '-' || s[0] == '.')
                return "must be a host name or IP address";
        return NULL;
}

const char *ds_check_hostport(const char *s, size_t n)
{
        const char *colon;
        size_t hl;

        if (n > 0 && s[0] == '[') {
                const char *rb = memchr(s, ']', n);
                if (!rb || ds_check_ip(s + 1, (size_t)(rb - s - 1)))
                        return "must be HOST[:PORT] (IPv6 in brackets)";
                colon = rb + 1 < s + n ? rb + 1 : NULL;
                if (colon && *colon != ':')
                        return "must be HOST[:PORT] (IPv6 in brackets)";
        } else {
                colon = memchr(s, ':', n);
                if (colon && memchr(colon + 1, ':', (size_t)(s + n - colon - 1)))
                        return "must be HOST[:PORT] (IPv6 in brackets)";
                hl = colon ? (size_t)(colon - s) : n;
                if (ds_check_host(s, hl))
                        return "must be HOST[:PORT]";
        }
        if (colon) {
                unsigned long port = 0;
                size_t pl = (size_t)(s + n - colon - 1);

                if (pl == 0 || pl > 5)
                        return "port must be 1-65535";
                for (size_t i = 0; i < pl; i++) {
                        if (!isdigit((unsigned char)colon[1 + i]))
                                return "port must be 1-65535";
                        port = port * 10 + (unsigned long)(colon[1 + i] - '0');
                }
                if (port < 1 || port > 65535)
                        return "port must be 1-65535";
        }
        return NULL;
}

const char *ds_check_email(const char *s, size_t n)
{
        const char *at = memchr(s, '@', n);

        if (n > 254 || !at || at == s || at == s + n - 1 || memchr(at + 1, '@', (size_t)(s + n - at - 1)))
                return "must be an e-mail address (local@domain)";
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f || strchr("<>()[];:,\"\\", s[i]))
                        return "must be an e-mail address (local@domain)";
        if (ds_check_host(at + 1, (size_t)(s + n - at - 1)) || !memchr(at + 1, '.', (size_t)(s + n - at - 1)))
                return "must be an e-mail address with a domain (local@example.com)";
        return NULL;
}

const char *ds_check_mac(const char *s, size_t n)
{
        if (n != 17)
                return "must be a MAC address aa:bb:cc:dd:ee:ff";
        for (size_t i = 0; i < n; i++) {
                if (i % 3 == 2) {
                        if (s[i] != ':' && s[i] != '-')
                                return "must be a MAC address aa:bb:cc:dd:ee:ff";
                } else if (!isxdigit((unsigned char)s[i])) {
                        return "must be a MAC address aa:bb:cc:dd:ee:ff";
                }
        }
        return NULL;
}

const char *ds_check_path(const char *s, size_t n)
{
        if (n == 0 || s[0] != '/')
                return "must be an absolute path";
        if (ds_check_printable(s, n))
                return "must not contain control characters";
        for (size_t i = 0; i + 1 < n; i++)
                if (s[i] == '.' && s[i + 1] == '.' && (i == 0 || s[i - 1] == '/') &&
                    (i + 2 == n || s[i + 2] == '/'))
                        return "must not contain '..'";
        return NULL;
}
