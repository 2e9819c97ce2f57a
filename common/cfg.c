/* cfg.c - libconfig to msgpack by schema, and layered settings */
#include "cfg.h"

#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int conv(const struct ds_field *f, config_setting_t *s, struct mpw *w, const char *path,
                struct ds_err *e);

static int conv_group(const struct ds_field *fields, bool open, config_setting_t *g,
                      struct mpw *w, const char *path, struct ds_err *e)
{
        int n = config_setting_length(g);

        mpw_map_begin(w);
        for (int i = 0; i < n; i++) {
                config_setting_t *c = config_setting_get_elem(g, (unsigned)i);
                const char *name = config_setting_name(c);
                const struct ds_field *f = ds_field_find(fields, name);
                int r;

                if (!f) {
                        if (open) {
                                mpw_str(w, name);
                                /* untyped: keep scalars as they are */
                                switch (config_setting_type(c)) {
                                case CONFIG_TYPE_INT:
                                case CONFIG_TYPE_INT64: mpw_int(w, config_setting_get_int64(c)); break;
                                case CONFIG_TYPE_BOOL: mpw_bool(w, config_setting_get_bool(c)); break;
                                case CONFIG_TYPE_FLOAT: mpw_double(w, config_setting_get_float(c)); break;
                                case CONFIG_TYPE_STRING: mpw_str(w, config_setting_get_string(c)); break;
                                default:
                                        return ds_err_set(e, -EINVAL, name, "%s:%d: '%s' must be a scalar",
                                                          path, config_setting_source_line(c), name);
                                }
                                continue;
                        }
                        return ds_err_set(e, -EINVAL, name, "%s:%d: unknown key '%s'", path,
                                          config_setting_source_line(c), name);
                }
                mpw_str(w, name);
                r = conv(f, c, w, path, e);
                if (r < 0)
                        return r;
        }
        mpw_map_end(w);
        return 0;
}

static int conv(const struct ds_field *f, config_setting_t *s, struct mpw *w, const char *path,
                struct ds_err *e)
{
        int t = config_setting_type(s);
        int line = config_setting_source_line(s);
        const char *name = config_setting_name(s) ? config_setting_name(s) : f->name;

        switch (f->type) {
        case DS_STR:
                if (t != CONFIG_TYPE_STRING)
                        goto mistyped;
                mpw_str(w, config_setting_get_string(s));
                return 0;
        case DS_INT:
                if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
                        goto mistyped;
                mpw_int(w, config_setting_get_int64(s));
                return 0;
        case DS_FLOAT:
                if (t == CONFIG_TYPE_FLOAT)
                        mpw_double(w, config_setting_get_float(s));
                else if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
                        mpw_double(w, (double)config_setting_get_int64(s));
                else
                        goto mistyped;
                return 0;
        case DS_BOOL:
                if (t != CONFIG_TYPE_BOOL)
                        goto mistyped;
                mpw_bool(w, config_setting_get_bool(s));
                return 0;
        case DS_MAP:
                if (t != CONFIG_TYPE_GROUP)
                        goto mistyped;
                return conv_group(f->sub, f->flags & DS_OPEN_MAP, s, w, path, e);
        case DS_ARRAY: {
                int n;

                if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
                        goto mistyped;
                n = config_setting_length(s);
                mpw_arr_begin(w);
                for (int i = 0; i < n; i++) {
                        int r;
                        if (!f->sub)
                                return ds_err_set(e, -EINVAL, name, "%s:%d: '%s' has no item type",
                                                  path, line, name);
                        r = conv(f->sub, config_setting_get_elem(s, (unsigned)i), w, path, e);
                        if (r < 0)
                                return r;
                }
                mpw_arr_end(w);
                return 0;
        }
        case DS_ANY:
                return ds_err_set(e, -EINVAL, name, "%s:%d: '%s' cannot be set in a file", path, line, name);
        }
mistyped:
        return ds_err_set(e, -EINVAL, name, "%s:%d: '%s' must be %s", path, line, name,
                          f->type == DS_STR ? "a string" : f->type == DS_INT ? "an integer" :
                          f->type == DS_BOOL ? "true or false" : f->type == DS_MAP ? "a group { ... }" :
                          f->type == DS_ARRAY ? "a list [ ... ]" : "a number");
}

int cfg_read_file(const char *path, const struct ds_field *schema, struct mpw *out, struct ds_err *e)
{
        msgpack_unpacked u;
        const char *why;
        config_t cfg;
        int r;

        config_init(&cfg);
        if (config_read_file(&cfg, path) != CONFIG_TRUE) {
                if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO) {
                        config_destroy(&cfg);
                        return ds_err_set(e, -ENOENT, NULL, "%s: cannot read file", path);
                }
                r = ds_err_set(e, -EINVAL, NULL, "%s:%d: %s", path, config_error_line(&cfg),
                               config_error_text(&cfg));
                config_destroy(&cfg);
                return r;
        }
        r = conv_group(schema, false, config_root_setting(&cfg), out, path, e);
        if (r == 0 && mpw_finish(out) < 0)
                r = ds_err_set(e, -EINVAL, NULL, "%s: nested too deeply", path);
        if (r == 0 && mp_decode(mpw_data(out), mpw_len(out), NULL, &u, &why) == 0) {
                struct ds_err ve;

                ds_err_clear(&ve);
                if (ds_validate(schema, &u.data, &ve) < 0) {
                        config_setting_t *s = config_lookup(&cfg, ve.field);
                        r = ds_err_set(e, -EINVAL, ve.field, "%s:%d: '%s' %s", path,
                                       s ? config_setting_source_line(s) : 0, ve.field, ve.msg);
                }
                msgpack_unpacked_destroy(&u);
        }
        config_destroy(&cfg);
        return r;
}

/* ---- layered settings --------------------------------------------------- */

static void write_default(const struct ds_field *f, struct mpw *w)
{
        switch (f->type) {
        case DS_STR: mpw_str(w, f->def_str ? f->def_str : ""); break;
        case DS_INT: mpw_int(w, f->def_int); break;
        case DS_FLOAT: mpw_double(w, (double)f->def_int); break;
        case DS_BOOL: mpw_bool(w, f->def_bool); break;
        case DS_ARRAY: mpw_arr_begin(w); mpw_arr_end(w); break;
        case DS_MAP:
                mpw_map_begin(w);
                for (const struct ds_field *g = f->sub; g && g->name; g++) {
                        mpw_str(w, g->name);
                        write_default(g, w);
                }
                mpw_map_end(w);
                break;
        case DS_ANY: mpw_nil(w); break;
        }
}

int ds_settings_build(const struct ds_field *schema, const msgpack_object *const *overlays,
                      size_t n_overlays, struct ds_settings *ret, struct ds_err *e)
{
        struct ds_settings s = { .schema = schema };
        struct mpw w;
        const char *why;
        size_t i = 0;
        int r;

        for (size_t k = 0; k < n_overlays; k++)
                if (overlays[k] && (r = ds_validate(schema, overlays[k], e)) < 0)
                        return r;
        mpw_init(&w);
        mpw_map_begin(&w);
        for (const struct ds_field *f = schema; f->name; f++) {
                const msgpack_object *v = NULL;

                /* the last overlay that names the key wins */
                for (size_t k = 0; k < n_overlays; k++) {
                        const msgpack_object *o = overlays[k] ? mp_get(overlays[k], f->name) : NULL;
                        if (o && o->type != MSGPACK_OBJECT_NIL)
                                v = o;
                }
                mpw_str(&w, f->name);
                if (v)
                        mpw_obj(&w, v);
                else
                        write_default(f, &w);
                s.n_fields++;
        }
        mpw_map_end(&w);
        s.len = mpw_len(&w);
        s.buf = malloc(s.len ? s.len : 1);
        if (!s.buf) {
                mpw_free(&w);
                return -ENOMEM;
        }
        memcpy(s.buf, mpw_data(&w), s.len);
        mpw_free(&w);
        r = mp_decode(s.buf, s.len, NULL, &s.u, &why);
        if (r < 0) {
                free(s.buf);
                return ds_err_set(e, r, NULL, "settings: %s", why);
        }
        s.strs = calloc(s.n_fields ? s.n_fields : 1, sizeof(char *));
        if (!s.strs) {
                ds_settings_free(&s);
                return -ENOMEM;
        }
        for (const struct ds_field *f = schema; f->name; f++, i++)
                if (f->type == DS_STR)
                        s.strs[i] = mp_strdup(mp_get(&s.u.data, f->name));
        *ret = s;
        return 0;
}

void ds_settings_free(struct ds_settings *s)
{
        if (s->strs) {
                for (size_t i = 0; i < s->n_fields; i++)
                        ds_free_secret(s->strs[i]);
                free(s->strs);
        }
        if (s->buf) {
                msgpack_unpacked_destroy(&s->u);
                free(s->buf);
        }
        memset(s, 0, sizeof *s);
}

const msgpack_object *ds_settings_map(const struct ds_settings *s)
{
        return &s->u.data;
}

const msgpack_object *ds_settings_get(const struct ds_settings *s, const char *key)
{
        return mp_get(&s->u.data, key);
}

int64_t ds_settings_int(const struct ds_settings *s, const char *key)
{
        int64_t v = 0;

        mp_to_int64(ds_settings_get(s, key), &v);
        return v;
}

bool ds_settings_bool(const struct ds_settings *s, const char *key)
{
        bool v = false;

        mp_to_bool(ds_settings_get(s, key), &v);
        return v;
}

double ds_settings_double(const struct ds_settings *s, const char *key)
{
        double v = 0;

        mp_to_double(ds_settings_get(s, key), &v);
        return v;
}

const char *ds_settings_str(const struct ds_settings *s, const char *key)
{
        size_t i = 0;

        for (const struct ds_field *f = s->schema; f && f->name; f++, i++)
                if (strcmp(f->name, key) == 0)
                        return s->strs && s->strs[i] ? s->strs[i] : "";
        return "";
}

void ds_settings_write(const struct ds_settings *s, struct mpw *w, bool with_secrets)
{
        const msgpack_object *m = &s->u.data;

        mpw_map_begin(w);
        for (uint32_t i = 0; i < m->via.map.size; i++) {
                char key[64];
                const struct ds_field *f;

                if (mp_strcpy(&m->via.map.ptr[i].key, key, sizeof key) < 0)
                        continue;
                f = ds_field_find(s->schema, key);
                if (f && (f->flags & DS_SECRET) && !with_secrets)
                        continue;
                mpw_obj(w, &m->via.map.ptr[i].key);
                mpw_obj(w, &m->via.map.ptr[i].val);
        }
        mpw_map_end(w);
}
