/* functions.c - the function table (minimization): what each function is,
 * what stands behind it, its factory default and its current state */
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netcfgd.h"
#include "schema.h"

#define FN_MAX 64

static const char *const kind_names[] = { [FN_FLAG] = "flag", [FN_UNIT] = "unit", [FN_DAEMON] = "daemon" };

const char *functions_kind_name(enum fn_kind k)
{
        return kind_names[k];
}

static void fn_free(struct net_function *f)
{
        free(f->name);
        free(f->title);
        if (f->target != f->hook)
                free(f->target);
        free(f->hook);
        free(f->enforced_by);
        free(f->risk);
}

void functions_free(struct fn_table *t)
{
        for (size_t i = 0; t->v && i < t->n; i++)
                fn_free(&t->v[i]);
        free(t->v);
        t->v = NULL;
        t->n = 0;
}

/* A string member, copied; NULL when absent. */
static int member_str(config_setting_t *s, const char *key, bool required, const char *path, char **ret,
                      struct ds_err *e)
{
        config_setting_t *m = config_setting_get_member(s, key);

        *ret = NULL;
        if (!m)
                return required ? ds_err_set(e, -EINVAL, key, "%s:%d: function needs '%s'", path,
                                             config_setting_source_line(s), key)
                                : 0;
        if (config_setting_type(m) != CONFIG_TYPE_STRING)
                return ds_err_set(e, -EINVAL, key, "%s:%d: '%s' must be a string", path,
                                  config_setting_source_line(m), key);
        *ret = strdup(config_setting_get_string(m));
        return *ret ? 0 : -ENOMEM;
}

static const char *const fn_keys[] = { "name", "title", "factory_default", "unit", "daemon", "enforced_by", "risk",
                                       "off_level", "hook_unit", NULL };

static int load_one(config_setting_t *s, const char *path, struct net_function *f, struct ds_err *e)
{
        config_setting_t *m;
        char *unit = NULL, *daemon = NULL;
        int line = config_setting_source_line(s), lvl, b, r;

        memset(f, 0, sizeof *f);
        if (!config_setting_is_group(s))
                return ds_err_set(e, -EINVAL, "functions", "%s:%d: each function is a group { ... }", path, line);
        for (unsigned i = 0; i < (unsigned)config_setting_length(s); i++) {
                const char *k = config_setting_name(config_setting_get_elem(s, i));
                bool known = false;
                for (const char *const *p = fn_keys; *p; p++)
                        known |= k && !strcmp(k, *p);
                if (!known)
                        return ds_err_set(e, -EINVAL, k, "%s:%d: unknown key '%s'", path,
                                          config_setting_source_line(config_setting_get_elem(s, i)), k ? k : "?");
        }
        if ((r = member_str(s, "name", true, path, &f->name, e)) < 0 ||
            (r = member_str(s, "title", true, path, &f->title, e)) < 0 ||
            (r = member_str(s, "risk", true, path, &f->risk, e)) < 0 ||
            (r = member_str(s, "unit", false, path, &unit, e)) < 0 ||
            (r = member_str(s, "daemon", false, path, &daemon, e)) < 0 ||
            (r = member_str(s, "enforced_by", false, path, &f->enforced_by, e)) < 0 ||
            (r = member_str(s, "hook_unit", false, path, &f->hook, e)) < 0)
                goto fail;
        if (f->hook && (unit || daemon || f->enforced_by)) {
                r = ds_err_set(e, -EINVAL, "hook_unit",
                               "%s:%d: '%s': hook_unit is for a function nothing on the device backs (no unit, "
                               "daemon or enforced_by)", path, line, f->name);
                goto fail;
        }
        if (f->hook && ds_check_name(f->hook, strlen(f->hook))) {
                r = ds_err_set(e, -EINVAL, "hook_unit", "%s:%d: '%s': bad hook_unit name", path, line, f->name);
                goto fail;
        }
        if (f->enforced_by && (unit || daemon)) {
                r = ds_err_set(e, -EINVAL, "enforced_by", "%s:%d: '%s': enforced_by is for a flag (no unit, no daemon)",
                               path, line, f->name);
                goto fail;
        }
        if (ds_check_name(f->name, strlen(f->name))) {
                r = ds_err_set(e, -EINVAL, "name", "%s:%d: bad function name '%s'", path, line, f->name);
                goto fail;
        }
        if (unit && daemon) {
                r = ds_err_set(e, -EINVAL, "unit", "%s:%d: '%s' has both a unit and a daemon", path, line, f->name);
                goto fail;
        }
        if ((unit && ds_check_name(unit, strlen(unit))) || (daemon && ds_check_name(daemon, strlen(daemon)))) {
                r = ds_err_set(e, -EINVAL, unit ? "unit" : "daemon", "%s:%d: '%s': bad unit or daemon name", path,
                               line, f->name);
                goto fail;
        }
        f->kind = unit ? FN_UNIT : daemon ? FN_DAEMON : FN_FLAG;
        f->target = unit ? unit : daemon;
        unit = daemon = NULL;
        if (!config_setting_lookup_bool(s, "factory_default", &b)) {
                r = ds_err_set(e, -EINVAL, "factory_default", "%s:%d: '%s' needs factory_default = true|false",
                               path, line, f->name);
                goto fail;
        }
        f->def = f->enabled = b;
        f->off_level = 0;
        if ((m = config_setting_get_member(s, "off_level"))) {
                lvl = config_setting_get_int(m);
                if (config_setting_type(m) != CONFIG_TYPE_INT || lvl < 0 || lvl > 3) {
                        r = ds_err_set(e, -EINVAL, "off_level", "%s:%d: off_level must be 0-3", path,
                                       config_setting_source_line(m));
                        goto fail;
                }
                f->off_level = lvl;
        }
        return 0;
fail:
        free(unit);
        free(daemon);
        fn_free(f);
        memset(f, 0, sizeof *f);
        return r;
}

int functions_load(const char *path, struct fn_table *ret, struct ds_err *e)
{
        struct fn_table t = { 0 };
        config_setting_t *list;
        config_t cfg;
        int r = 0, n;

        config_init(&cfg);
        if (config_read_file(&cfg, path) != CONFIG_TRUE) {
                if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
                        r = ds_err_set(e, -ENOENT, NULL, "%s: cannot read file", path);
                else
                        r = ds_err_set(e, -EINVAL, NULL, "%s:%d: %s", path, config_error_line(&cfg),
                                       config_error_text(&cfg));
                goto out;
        }
        list = config_lookup(&cfg, "functions");
        if (!list || !config_setting_is_list(list)) {
                r = ds_err_set(e, -EINVAL, "functions", "%s: needs 'functions = ( { ... }, ... );'", path);
                goto out;
        }
        n = config_setting_length(list);
        if (n < 1 || n > FN_MAX) {
                r = ds_err_set(e, -EINVAL, "functions", "%s: 1 to %d functions", path, FN_MAX);
                goto out;
        }
        t.v = calloc((size_t)n, sizeof *t.v);
        if (!t.v) {
                r = -ENOMEM;
                goto out;
        }
        for (int i = 0; i < n; i++) {
                r = load_one(config_setting_get_elem(list, (unsigned)i), path, &t.v[t.n], e);
                if (r < 0)
                        goto out;
                t.n++;
                for (size_t k = 0; k + 1 < t.n; k++)
                        if (!strcmp(t.v[k].name, t.v[t.n - 1].name)) {
                                r = ds_err_set(e, -EINVAL, "name", "%s:%d: function '%s' listed twice", path,
                                               config_setting_source_line(config_setting_get_elem(list, (unsigned)i)),
                                               t.v[k].name);
                                goto out;
                        }
        }
        *ret = t;
        memset(&t, 0, sizeof t);
out:
        functions_free(&t);
        config_destroy(&cfg);
        return r;
}

struct net_function *functions_find(struct fn_table *t, const char *name)
{
        for (size_t i = 0; i < t->n; i++)
                if (!strcmp(t->v[i].name, name))
                        return &t->v[i];
        return NULL;
}

void functions_reset(struct fn_table *t)
{
        for (size_t i = 0; i < t->n; i++)
                t->v[i].enabled = t->v[i].def;
}

void functions_write_state(const struct fn_table *t, struct mpw *w)
{
        mpw_map_begin(w);
        for (size_t i = 0; i < t->n; i++) {
                mpw_str(w, t->v[i].name);
                mpw_bool(w, t->v[i].enabled);
        }
        mpw_map_end(w);
}

int functions_read_state(struct fn_table *t, const msgpack_object *o, struct ds_err *e)
{
        if (!o || o->type != MSGPACK_OBJECT_MAP)
                return ds_err_set(e, -EINVAL, "state", "function state must be a map of name = true|false");
        /* check everything before changing anything */
        for (uint32_t i = 0; i < o->via.map.size; i++) {
                bool b;
                if (!mp_is_str(&o->via.map.ptr[i].key) || mp_to_bool(&o->via.map.ptr[i].val, &b) < 0)
                        return ds_err_set(e, -EINVAL, "state", "function state must be a map of name = true|false");
        }
        for (uint32_t i = 0; i < o->via.map.size; i++) {
                char name[64];
                struct net_function *f;
                bool b = false;

                if (mp_strcpy(&o->via.map.ptr[i].key, name, sizeof name) < 0 || !(f = functions_find(t, name)))
                        continue;
                mp_to_bool(&o->via.map.ptr[i].val, &b);
                f->enabled = b;
        }
        return 0;
}

int functions_check_state(struct fn_table *t, const msgpack_object *o, struct ds_err *e)
{
        if (!o || o->type != MSGPACK_OBJECT_MAP)
                return ds_err_set(e, -EINVAL, "state.functions", "must be a map of name = true|false");
        for (uint32_t i = 0; i < o->via.map.size; i++) {
                const msgpack_object *k = &o->via.map.ptr[i].key;
                char name[64], field[96];
                bool b;

                if (!mp_is_str(k) || mp_strcpy(k, name, sizeof name) < 0 || ds_check_name(name, strlen(name)))
                        return ds_err_set(e, -EINVAL, "state.functions", "a function name is malformed");
                snprintf(field, sizeof field, "state.functions.%s", name);
                if (!functions_find(t, name))
                        return ds_err_set(e, -EINVAL, field, "no function '%s' (see function list)", name);
                if (mp_to_bool(&o->via.map.ptr[i].val, &b) < 0)
                        return ds_err_set(e, -EINVAL, field, "must be true or false");
                if (functions_find(t, name)->busy)
                        return ds_err_set(e, -EBUSY, field, "a change of '%s' is in progress", name);
        }
        return 0;
}

void functions_hook_set(struct net_function *f, bool installed)
{
        if (!f->hook)
                return;
        f->kind = installed ? FN_UNIT : FN_FLAG;
        if (f->target && f->target != f->hook)
                free(f->target);
        f->target = installed ? f->hook : NULL;
}

void functions_write_row(const struct net_function *f, struct mpw *w)
{
        mpw_map_begin(w);
        mpw_kv_str(w, "name", f->name);
        mpw_kv_str(w, "title", f->title);
        mpw_kv_bool(w, "enabled", f->enabled);
        mpw_kv_bool(w, "factory_default", f->def);
        mpw_kv_str(w, "kind", functions_kind_name(f->kind));
        mpw_kv_str(w, "backend", f->target ? f->target : f->enforced_by ? f->enforced_by : "none (integrator)");
        if (f->hook)
                mpw_kv_str(w, "hook_unit", f->hook);
        if (f->unit_state)
                mpw_kv_str(w, "state", f->unit_state);
        mpw_kv_int(w, "off_level", f->off_level);
        mpw_kv_str(w, "risk", f->risk);
        mpw_map_end(w);
}
