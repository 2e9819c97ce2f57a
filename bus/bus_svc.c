/* bus_svc.c - the generic service contract (sys.ping, config.*, audit.*) and the daemon skeleton */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "bus_internal.h"
#include "log.h"
#include "service.h"
#include "state.h"
#include "util.h"

#define SETTINGS_FILE "settings.mp"

static struct ds_daemon *D(struct ds_call *c)
{
        return c->daemon;
}

/* ---- settings ------------------------------------------------------------ */

/* Builds effective settings from the file map and the overrides map. */
static int build_settings(struct ds_daemon *d, const msgpack_object *file, const msgpack_object *over,
                          struct ds_settings *ret, struct ds_err *e)
{
        static const struct ds_field none[] = { { NULL } };
        const msgpack_object *layers[2] = { file, over };

        return ds_settings_build(d->svc->settings ? d->svc->settings : none, layers, 2, ret, e);
}

struct layers {
        struct mpw file;
        msgpack_unpacked file_u, over_u;
        bool have_file, have_over;
        char *over_buf;
};

static void layers_free(struct layers *l)
{
        if (l->have_file)
                msgpack_unpacked_destroy(&l->file_u);
        if (l->have_over)
                msgpack_unpacked_destroy(&l->over_u);
        mpw_free(&l->file);
        free(l->over_buf);
        memset(l, 0, sizeof *l);
}

static int load_layers(struct ds_daemon *d, struct layers *l, struct ds_err *e)
{
        static const struct ds_field none[] = { { NULL } };
        const char *why;
        size_t len;
        int r;

        memset(l, 0, sizeof *l);
        mpw_init(&l->file);
        r = cfg_read_file(d->conf_path, d->svc->settings ? d->svc->settings : none, &l->file, e);
        if (r == -ENOENT) {
                ds_err_clear(e);
        } else if (r < 0) {
                return r;
        } else if (mp_decode(mpw_data(&l->file), mpw_len(&l->file), NULL, &l->file_u, &why) < 0) {
                /* never fall back to defaults for a file that is there but unusable */
                return ds_err_set(e, -EINVAL, NULL, "%s: cannot be used: %s", d->conf_path, why);
        } else {
                l->have_file = true;
        }
        r = state_read(d->statedir, SETTINGS_FILE, 1 << 20, &l->over_buf, &len);
        if (r == 0) {
                if (mp_decode(l->over_buf, len, NULL, &l->over_u, &why) < 0)
                        return ds_err_set(e, -EINVAL, NULL, "%s/%s: %s", d->statedir, SETTINGS_FILE, why);
                l->have_over = true;
        } else if (r != -ENOENT) {
                return ds_err_set(e, r, NULL, "%s/%s: %s", d->statedir, SETTINGS_FILE, strerror(-r));
        }
        return 0;
}

static int load_settings(struct ds_daemon *d, struct ds_settings *ret, struct ds_err *e)
{
        struct layers l;
        int r;

        r = load_layers(d, &l, e);
        if (r == 0)
                r = build_settings(d, l.have_file ? &l.file_u.data : NULL, l.have_over ? &l.over_u.data : NULL,
                                   ret, e);
        layers_free(&l);
        return r;
}

/* Puts back settings that swap_settings() returned, and applies them again. */
static void restore_settings(struct ds_daemon *d, struct ds_settings *old)
{
        struct ds_err ignore;

        ds_settings_free(&d->settings);
        d->settings = *old;
        memset(old, 0, sizeof *old);
        if (d->svc->apply)
                d->svc->apply(d, d->ctx, &ignore);
}

/* Swaps in new settings and applies them; on refusal the old ones stay. With
 * ret_old the replaced settings are handed back (for restore_settings()),
 * else freed. */
static int swap_settings(struct ds_daemon *d, struct ds_settings *fresh, struct ds_settings *ret_old,
                         struct ds_err *e)
{
        struct ds_settings old = d->settings;
        int r = 0;

        d->settings = *fresh;
        memset(fresh, 0, sizeof *fresh);
        if (d->svc->apply)
                r = d->svc->apply(d, d->ctx, e);
        if (r < 0) {
                restore_settings(d, &old);
                return r;
        }
        if (ret_old)
                *ret_old = old;
        else
                ds_settings_free(&old);
        return 0;
}

static void publish_changed(struct ds_daemon *d, const char *actor, const msgpack_object *changes,
                            const char *what)
{
        char topic[BUS_TOPIC_MAX + 1];
        struct mpw w;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "user", actor);
        mpw_kv_str(&w, "what", what);
        mpw_str(&w, "keys");
        mpw_arr_begin(&w);
        if (changes && changes->type == MSGPACK_OBJECT_MAP)
                for (uint32_t i = 0; i < changes->via.map.size; i++)
                        mpw_obj(&w, &changes->via.map.ptr[i].key);
        mpw_arr_end(&w);
        mpw_map_end(&w);
        snprintf(topic, sizeof topic, "%s.config.changed", d->svc->name);
        ds_daemon_publish(d, topic, &w);
        mpw_free(&w);
}

/* Settings being changed: validated and built, not yet in force. */
struct settings_change {
        struct ds_settings fresh;
        struct mpw over; /* the new overrides file */
};

static void settings_change_free(struct settings_change *sc)
{
        ds_settings_free(&sc->fresh);
        mpw_wipe(&sc->over);
}

/* Validates changes and builds the settings they make, changing nothing. */
static int settings_change_prepare(struct ds_daemon *d, const msgpack_object *changes, struct settings_change *sc,
                                   struct ds_err *e)
{
        struct layers l;
        msgpack_unpacked u;
        const char *why;
        int r;

        memset(sc, 0, sizeof *sc);
        mpw_init(&sc->over);
        if (!d->svc->settings)
                return ds_err_set(e, -EINVAL, "settings", "%s has no settings", d->svc->name);
        r = ds_validate(d->svc->settings, changes, e);
        if (r < 0)
                return r;
        r = load_layers(d, &l, e);
        if (r < 0) {
                layers_free(&l);
                return r;
        }
        /* new overrides: the changes, plus earlier overrides they do not name */
        mpw_map_begin(&sc->over);
        for (uint32_t i = 0; i < changes->via.map.size; i++) {
                mpw_obj(&sc->over, &changes->via.map.ptr[i].key);
                mpw_obj(&sc->over, &changes->via.map.ptr[i].val);
        }
        if (l.have_over)
                for (uint32_t i = 0; i < l.over_u.data.via.map.size; i++) {
                        const msgpack_object *k = &l.over_u.data.via.map.ptr[i].key;
                        char key[64];

                        if (mp_strcpy(k, key, sizeof key) < 0 || mp_get(changes, key) ||
                            !ds_field_find(d->svc->settings, key))
                                continue;
                        mpw_obj(&sc->over, k);
                        mpw_obj(&sc->over, &l.over_u.data.via.map.ptr[i].val);
                }
        mpw_map_end(&sc->over);
        r = mp_decode(mpw_data(&sc->over), mpw_len(&sc->over), NULL, &u, &why);
        if (r < 0) {
                r = ds_err_set(e, r, "settings", "%s", why);
        } else {
                r = build_settings(d, l.have_file ? &l.file_u.data : NULL, &u.data, &sc->fresh, e);
                msgpack_unpacked_destroy(&u);
        }
        layers_free(&l);
        return r;
}

/* Persists settings already in force; audits and announces the change. */
static int settings_change_commit(struct ds_daemon *d, struct settings_change *sc, const msgpack_object *changes,
                                  const char *actor, struct ds_err *e)
{
        int r = ds_daemon_save(d, SETTINGS_FILE, mpw_data(&sc->over), mpw_len(&sc->over));

        if (r < 0)
                return ds_err_set(e, r, NULL, "cannot save settings: %s", strerror(-r));
        log_audit("operation", LOG_LVL_NOTICE, actor, "%s: settings changed by '%s'", d->svc->name, actor);
        publish_changed(d, actor, changes, "set");
        return 0;
}

int ds_daemon_set_settings(struct ds_daemon *d, const msgpack_object *changes, const char *actor,
                           struct ds_err *e)
{
        struct settings_change sc;
        struct ds_settings old;
        int r;

        r = settings_change_prepare(d, changes, &sc, e);
        if (r == 0)
                r = swap_settings(d, &sc.fresh, &old, e);
        if (r == 0) {
                r = settings_change_commit(d, &sc, changes, actor, e);
                if (r < 0)
                        restore_settings(d, &old); /* not saved: not in force either */
                else
                        ds_settings_free(&old);
        }
        settings_change_free(&sc);
        return r;
}

static int reset_settings(struct ds_daemon *d, const char *actor, struct ds_err *e)
{
        struct ds_settings fresh;
        struct layers l;
        int r;

        r = load_layers(d, &l, e);
        if (r == 0)
                r = build_settings(d, l.have_file ? &l.file_u.data : NULL, NULL, &fresh, e);
        layers_free(&l);
        if (r < 0)
                return r;
        r = swap_settings(d, &fresh, NULL, e);
        if (r < 0)
                return r;
        r = state_remove(d->statedir, SETTINGS_FILE);
        if (r < 0)
                return ds_err_set(e, r, NULL, "cannot remove saved settings: %s", strerror(-r));
        if (d->svc->reset_state && (r = d->svc->reset_state(d, d->ctx)) < 0)
                return ds_err_set(e, r, NULL, "cannot reset state: %s", strerror(-r));
        log_audit("operation", LOG_LVL_NOTICE, actor, "%s: factory defaults restored by '%s'", d->svc->name,
                  actor);
        publish_changed(d, actor, NULL, "reset");
        return 0;
}

/* ---- generic methods ---------------------------------------------------- */

static int h_ping(void *ctx, struct ds_call *c)
{
        struct ds_daemon *d = D(c);

        (void)ctx;
        mpw_kv_str(c->r, "service", d->svc->name);
        mpw_kv_str(c->r, "version", d->svc->version);
        mpw_kv_int(c->r, "pid", getpid());
        mpw_kv_int(c->r, "uptime_s", (ds_now_mono_ms() - d->started_ms) / 1000);
        mpw_kv_str(c->r, "state", "running");
        if (d->svc->status)
                d->svc->status(d, d->ctx, c->r);
        return 0;
}

static int h_config_get(void *ctx, struct ds_call *c)
{
        struct ds_daemon *d = D(c);

        (void)ctx;
        mpw_str(c->r, "settings");
        ds_settings_write(&d->settings, c->r, false);
        return 0;
}

static const struct ds_field config_set_args[] = {
        { "settings", DS_MAP, DS_REQUIRED | DS_OPEN_MAP, .help = "map of setting = value" },
        { NULL },
};

/* Names the field as the caller wrote it: settings.<key>. */
static void prefix_field(struct ds_err *e)
{
        char f[sizeof e->field];

        memcpy(f, e->field, sizeof f);
        snprintf(e->field, sizeof e->field, "settings.%.*s", (int)(sizeof e->field - 10), f);
}

static const char *settings_auth(const struct ds_daemon *d)
{
        return d->svc->config_auth ? d->svc->config_auth : DS_AUTHZ_SYSTEM;
}

/* The state stands for the service's own methods: its authority, never less. */
static const char *state_auth(const struct ds_daemon *d)
{
        return d->svc->state_auth ? d->svc->state_auth : settings_auth(d);
}

static int need_auth(struct ds_call *c, const char *need, const char *what)
{
        if (ds_caller_allowed(&c->caller, need))
                return 0;
        log_audit("security", LOG_LVL_WARNING, ds_call_actor(c), "refused %s to '%s': needs authority '%s'", what,
                  ds_call_actor(c), need);
        return ds_call_fail(c, -EPERM, NULL, "%s needs authority '%s'", what, need);
}

static int h_config_set(void *ctx, struct ds_call *c)
{
        struct ds_daemon *d = D(c);
        int r;

        (void)ctx;
        if ((r = need_auth(c, settings_auth(d), "config.set")) < 0)
                return r;
        r = ds_daemon_set_settings(d, ds_arg(c, "settings"), ds_call_actor(c), &c->err);
        if (r < 0) {
                /* name the field as the caller wrote it: settings.<key> */
                if (c->err.field[0] && strncmp(c->err.field, "settings", 8) != 0)
                        prefix_field(&c->err);
                return r;
        }
        mpw_str(c->r, "settings");
        ds_settings_write(&d->settings, c->r, false);
        return 0;
}

static int h_config_reset(void *ctx, struct ds_call *c)
{
        struct ds_daemon *d = D(c);
        int r;

        (void)ctx;
        /* a reset wipes the state too: it needs what the state's methods need */
        if ((r = need_auth(c, settings_auth(d), "config.reset")) < 0 ||
            (d->svc->reset_state && (r = need_auth(c, state_auth(d), "config.reset")) < 0))
                return r;
        if (reset_settings(d, ds_call_actor(c), &c->err) < 0)
                return c->err.code;
        mpw_str(c->r, "settings");
        ds_settings_write(&d->settings, c->r, false);
        return 0;
}

void ds_export_secret(struct ds_export *x, const char *key, const char *val)
{
        if (!x->secrets || !val)
                return;
        mpw_kv_str(x->w, key, val);
}

static int h_config_export(void *ctx, struct ds_call *c)
{
        struct ds_daemon *d = D(c);
        int r;

        (void)ctx;
        mpw_kv_str(c->r, "service", d->svc->name);
        mpw_kv_str(c->r, "version", d->svc->version);
        mpw_kv_int(c->r, "exported_ms", ds_now_real_ms());
        mpw_str(c->r, "settings");
        ds_settings_write(&d->settings, c->r, false);
        if (d->svc->export_state && !ds_caller_allowed(&c->caller, state_auth(d))) {
                /* backup alone is not enough to read accounts, rules or functions */
                mpw_kv_str(c->r, "state_omitted", state_auth(d));
        } else if (d->svc->export_state) {
                struct ds_export x = { .w = c->r, .secrets = false };

                mpw_str(c->r, "state");
                r = d->svc->export_state(d, d->ctx, &x);
                if (r < 0)
                        return ds_call_fail(c, r, NULL, "cannot export state: %s", strerror(-r));
        }
        log_audit("operation", LOG_LVL_NOTICE, ds_call_actor(c), "%s: configuration exported by '%s'",
                  d->svc->name, ds_call_actor(c));
        return 0;
}

static const struct ds_field config_import_args[] = {
        { "service", DS_STR, 0, .max_len = BUS_NAME_MAX },
        { "version", DS_STR, 0, .max_len = 64 },
        { "exported_ms", DS_INT, 0 },
        { "settings", DS_MAP, DS_REQUIRED | DS_OPEN_MAP },
        { "state", DS_ANY, 0 },
        { "state_omitted", DS_STR, 0, .max_len = DS_AUTHZ_SET_MAX },
        { NULL },
};

/* All or nothing: the settings go through config.set's checks and the state
 * through the live methods' (the service's import_state); if the state is
 * refused, the settings already applied are put back. */
static int h_config_import(void *ctx, struct ds_call *c)
{
        struct ds_daemon *d = D(c);
        const msgpack_object *svc = ds_arg(c, "service"), *st = ds_arg(c, "state"), *set = ds_arg(c, "settings");
        bool have_set = set->via.map.size > 0;
        struct settings_change sc = { 0 };
        struct ds_settings old = { 0 };
        int r;

        (void)ctx;
        if (svc && !mp_streq(svc, d->svc->name))
                return ds_call_fail(c, -EINVAL, "service", "this export belongs to another service");
        if (st && !d->svc->import_state)
                return ds_call_fail(c, -EINVAL, "state", "%s keeps no state to import", d->svc->name);
        if ((st && (r = need_auth(c, state_auth(d), "config.import of state")) < 0) ||
            (have_set && (r = need_auth(c, settings_auth(d), "config.import of settings")) < 0))
                return r;
        mpw_init(&sc.over);
        if (have_set) {
                r = settings_change_prepare(d, set, &sc, &c->err);
                if (r == 0)
                        r = swap_settings(d, &sc.fresh, &old, &c->err);
                if (r < 0) {
                        if (c->err.field[0] && strncmp(c->err.field, "settings", 8) != 0)
                                prefix_field(&c->err);
                        goto out;
                }
        }
        if (st && (r = d->svc->import_state(d, d->ctx, st, &c->err)) < 0) {
                if (have_set)
                        restore_settings(d, &old);
                goto out;
        }
        if (have_set) {
                r = settings_change_commit(d, &sc, set, ds_call_actor(c), &c->err);
                if (r < 0)
                        goto out;
                ds_settings_free(&old);
        }
        log_audit("operation", LOG_LVL_NOTICE, ds_call_actor(c), "%s: configuration imported by '%s'",
                  d->svc->name, ds_call_actor(c));
        mpw_kv_bool(c->r, "imported", true);
        r = 0;
out:
        settings_change_free(&sc);
        return r;
}

static bool cmp_ok(const struct ds_audit_item *it, const msgpack_object *v)
{
        int64_t i;
        bool b;

        if (!v)
                return false;
        if (it->want_str) {
                bool eq = mp_streq(v, it->want_str);
                return it->cmp == DS_CMP_NE ? !eq : eq;
        }
        if (mp_to_bool(v, &b) == 0)
                return it->cmp == DS_CMP_NE ? b != it->want_bool : b == it->want_bool;
        if (mp_to_int64(v, &i) == 0) {
                switch (it->cmp) {
                case DS_CMP_EQ: return i == it->want_int;
                case DS_CMP_NE: return i != it->want_int;
                case DS_CMP_LE: return i <= it->want_int;
                case DS_CMP_GE: return i >= it->want_int;
                }
        }
        return false;
}

static enum ds_audit_result run_check(struct ds_daemon *d, const struct ds_audit_item *it, char *detail,
                                      size_t size)
{
        detail[0] = '\0';
        if (it->check)
                return it->check(d->ctx, detail, size);
        if (it->key) {
                bool ok = cmp_ok(it, ds_settings_get(&d->settings, it->key));
                if (!ok)
                        snprintf(detail, size, "setting '%s' is not as required", it->key);
                return ok ? DS_AUDIT_PASS : DS_AUDIT_FAIL;
        }
        return DS_AUDIT_NA;
}

/* A declarative item can be applied when its wanted value is one value. */
static bool can_harden(struct ds_daemon *d, const struct ds_audit_item *it)
{
        const struct ds_field *f;

        if (it->harden)
                return true;
        if (!it->key || !(f = ds_field_find(d->svc->settings, it->key)))
                return false;
        return it->cmp != DS_CMP_NE || f->type == DS_BOOL;
}

static const char *const result_names[] = { "pass", "fail", "n/a" };

static const struct ds_field audit_report_args[] = {
        { "level", DS_INT, 0, .min = 1, .max = 3, .help = "protection level 1-3 (default 3: all items)" },
        { NULL },
};

static int h_audit_report(void *ctx, struct ds_call *c)
{
        struct ds_daemon *d = D(c);
        int level = (int)ds_arg_int(c, "level", 3), pass = 0, fail = 0;

        (void)ctx;
        mpw_kv_str(c->r, "service", d->svc->name);
        mpw_kv_int(c->r, "level", level);
        mpw_str(c->r, "items");
        mpw_arr_begin(c->r);
        for (const struct ds_audit_item *it = d->svc->audit; it && it->id; it++) {
                char detail[256];
                enum ds_audit_result res;

                if (it->level > level)
                        continue;
                res = run_check(d, it, detail, sizeof detail);
                pass += res == DS_AUDIT_PASS;
                fail += res == DS_AUDIT_FAIL;
                mpw_map_begin(c->r);
                mpw_kv_str(c->r, "id", it->id);
                mpw_kv_int(c->r, "level", it->level);
                mpw_kv_str(c->r, "title", it->title);
                mpw_kv_str(c->r, "result", result_names[res]);
                mpw_kv_str(c->r, "detail", detail);
                mpw_kv_str(c->r, "remediation", it->remediation ? it->remediation : "");
                mpw_kv_bool(c->r, "automatic", can_harden(d, it));
                mpw_map_end(c->r);
        }
        mpw_arr_end(c->r);
        mpw_kv_int(c->r, "passed", pass);
        mpw_kv_int(c->r, "failed", fail);
        return 0;
}

static const struct ds_field audit_harden_args[] = {
        { "level", DS_INT, DS_REQUIRED, .min = 1, .max = 3 },
        { "dry_run", DS_BOOL, 0 },
        { NULL },
};

static int harden_setting(struct ds_daemon *d, const struct ds_audit_item *it, const char *actor,
                          struct ds_err *e)
{
        const struct ds_field *f = ds_field_find(d->svc->settings, it->key);
        msgpack_unpacked u;
        const char *why;
        struct mpw w;
        int r;

        if (!f)
                return ds_err_set(e, -DS_EINTERNAL, it->key, "audit item names an unknown setting");
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_str(&w, it->key);
        if (it->want_str)
                mpw_str(&w, it->want_str);
        else if (f->type == DS_BOOL)
                mpw_bool(&w, it->cmp == DS_CMP_NE ? !it->want_bool : it->want_bool);
        else
                mpw_int(&w, it->want_int);
        mpw_map_end(&w);
        r = mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why);
        if (r == 0) {
                r = ds_daemon_set_settings(d, &u.data, actor, e);
                msgpack_unpacked_destroy(&u);
        }
        mpw_free(&w);
        return r;
}

static int h_audit_harden(void *ctx, struct ds_call *c)
{
        struct ds_daemon *d = D(c);
        int level = (int)ds_arg_int(c, "level", 1);
        bool dry = ds_arg_bool(c, "dry_run", false);
        int applied = 0, manual = 0, failed = 0, r;

        (void)ctx;
        /* harden changes settings: it needs what config.set needs (a dry run only reads) */
        if (!dry && ((r = need_auth(c, settings_auth(d), "audit.harden")) < 0 ||
                     (r = need_auth(c, state_auth(d), "audit.harden")) < 0))
                return r;
        mpw_kv_str(c->r, "service", d->svc->name);
        mpw_kv_bool(c->r, "dry_run", dry);
        mpw_str(c->r, "items");
        mpw_arr_begin(c->r);
        for (const struct ds_audit_item *it = d->svc->audit; it && it->id; it++) {
                char detail[256];
                const char *action;
                struct ds_err e;

                if (it->level > level || run_check(d, it, detail, sizeof detail) != DS_AUDIT_FAIL)
                        continue;
                ds_err_clear(&e);
                if (!can_harden(d, it)) {
                        action = "manual";
                        manual++;
                } else if (dry) {
                        action = "would-apply";
                        applied++;
                } else if ((it->harden ? it->harden(d->ctx, &e) : harden_setting(d, it, ds_call_actor(c), &e)) < 0) {
                        action = "failed";
                        failed++;
                } else {
                        action = "applied";
                        applied++;
                }
                mpw_map_begin(c->r);
                mpw_kv_str(c->r, "id", it->id);
                mpw_kv_str(c->r, "title", it->title);
                mpw_kv_str(c->r, "action", action);
                mpw_kv_str(c->r, "detail", e.msg[0] ? e.msg : (it->remediation ? it->remediation : ""));
                mpw_map_end(c->r);
        }
        mpw_arr_end(c->r);
        mpw_kv_int(c->r, "applied", applied);
        mpw_kv_int(c->r, "manual", manual);
        mpw_kv_int(c->r, "failed", failed);
        if (!dry && applied)
                log_audit("operation", LOG_LVL_NOTICE, ds_call_actor(c), "%s: hardened to level %d by '%s'",
                          d->svc->name, level, ds_call_actor(c));
        return 0;
}

static const struct ds_method generic_methods[] = {
        DS_METHOD("sys.ping", NULL, h_ping, AUTH_PUBLIC),
        DS_METHOD("config.get", NULL, h_config_get, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("config.set", config_set_args, h_config_set, AUTH_SESSION),
        DS_METHOD("config.reset", NULL, h_config_reset, AUTH_SESSION),
        DS_METHOD("config.export", NULL, h_config_export, AUTH_NEEDS(BACKUP)),
        DS_METHOD("config.import", config_import_args, h_config_import, AUTH_NEEDS(BACKUP)),
        DS_METHOD("audit.report", audit_report_args, h_audit_report, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("audit.harden", audit_harden_args, h_audit_harden, AUTH_NEEDS(SECURITY)),
        { NULL },
};

const struct ds_method *ds_generic_methods(void)
{
        return generic_methods;
}

/* ---- daemon skeleton ----------------------------------------------------- */

int ds_daemon_publish(struct ds_daemon *d, const char *topic, const struct mpw *data)
{
        return d->bus ? bus_publish(d->bus, topic, data) : -DS_EUNAVAIL;
}

int ds_daemon_save(struct ds_daemon *d, const char *name, const void *data, size_t len)
{
        return state_write(d->statedir, name, data, len, 0600);
}

int ds_daemon_load(struct ds_daemon *d, const char *name, size_t max, char **ret, size_t *ret_len)
{
        return state_read(d->statedir, name, max, ret, ret_len);
}

static void bus_log_sink(void *ud, int level, const char *category, const char *user, const char *msg)
{
        struct ds_daemon *d = ud;
        char topic[BUS_TOPIC_MAX + 1];
        struct mpw w;

        if (!d->bus)
                return;
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "service", d->svc->name);
        mpw_kv_str(&w, "level", log_level_name(level));
        mpw_kv_str(&w, "user", user ? user : "");
        mpw_kv_str(&w, "msg", msg);
        mpw_map_end(&w);
        snprintf(topic, sizeof topic, "log.%s", category);
        bus_publish(d->bus, topic, &w);
        mpw_free(&w);
}

/* SIGHUP: the settings again, swapped in only when all of them are valid. */
static void reload_settings(void *ud)
{
        struct ds_daemon *d = ud;
        struct ds_settings fresh;
        struct ds_err e;

        ds_err_clear(&e);
        if (load_settings(d, &fresh, &e) < 0 || swap_settings(d, &fresh, NULL, &e) < 0)
                log_err("reload refused, keeping the running settings: %s", e.msg);
        else
                log_notice("settings reloaded");
}

static void usage(const char *name)
{
        fprintf(stderr,
                "usage: %s [-f] [-n] [-c FILE] [--rundir DIR] [--confdir DIR] [--statedir DIR]\n"
                "          [--identity NAME] [--dry-run] [service options]\n"
                "  -n   check the configuration and exit\n",
                name);
}

int ds_daemon_main(int argc, char **argv, const struct ds_service *svc, void *ctx)
{
        static struct ds_daemon dd; /* lives for the process */
        struct ds_daemon *d = &dd;
        const char *rundir = NULL, *confdir = NULL, *statedir = NULL, *conf = NULL;
        const struct ds_method *tables[3];
        struct bus_serve_info info;
        struct ds_err e;
        int r;

        memset(d, 0, sizeof *d);
        d->svc = svc;
        d->ctx = ctx;
        d->identity = svc->name;
        d->argv = calloc((size_t)argc + 1, sizeof *d->argv);
        if (!d->argv)
                return 1;
        d->argv[d->argc++] = argv[0];
        log_init(svc->name);
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
#define OPTARG_NEXT() (i + 1 < argc ? argv[++i] : (usage(svc->name), exit(2), ""))
                if (!strcmp(a, "-f"))
                        continue;
                else if (!strcmp(a, "-n"))
                        d->check_only = true;
                else if (!strcmp(a, "-c"))
                        conf = OPTARG_NEXT();
                else if (!strcmp(a, "--rundir"))
                        rundir = OPTARG_NEXT();
                else if (!strcmp(a, "--confdir"))
                        confdir = OPTARG_NEXT();
                else if (!strcmp(a, "--statedir"))
                        statedir = OPTARG_NEXT();
                else if (!strcmp(a, "--identity"))
                        d->identity = OPTARG_NEXT();
                else if (!strcmp(a, "--dry-run"))
                        d->dry_run = true;
                else if (!strcmp(a, "-v") || !strcmp(a, "--debug"))
                        log_set_level(LOG_LVL_DEBUG);
                else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
                        usage(svc->name);
                        return 0;
                } else if (!strcmp(a, "--version")) {
                        printf("%s %s\n", svc->name, svc->version);
                        return 0;
                } else
                        d->argv[d->argc++] = argv[i];
#undef OPTARG_NEXT
        }
        if (ds_paths_init(&d->paths, rundir, confdir, statedir) < 0)
                fatal("out of memory");
        d->statedir = ds_paths_state(&d->paths, svc->name);
        if (conf)
                d->conf_path = strdup(conf);
        else if (asprintf(&d->conf_path, "%s/%s.conf", d->paths.confdir, svc->name) < 0)
                d->conf_path = NULL;
        if (!d->statedir || !d->conf_path)
                fatal("out of memory");

        ds_err_clear(&e);
        if (ds_methods_selftest(svc->methods, &e) < 0)
                fatal("method table: %s: %s", e.field, e.msg);
        if (d->check_only) {
                struct layers l;
                ds_err_clear(&e);
                /* only the file: the state dir may not be ours to read */
                r = load_layers(&(struct ds_daemon){ .svc = svc, .conf_path = d->conf_path,
                                                     .statedir = "/nonexistent" }, &l, &e);
                if (r == 0)
                        r = build_settings(d, l.have_file ? &l.file_u.data : NULL, NULL, &d->settings, &e);
                layers_free(&l);
                if (r < 0) {
                        fprintf(stderr, "%s: %s\n", svc->name, e.msg);
                        return 1;
                }
                printf("%s: configuration OK\n", d->conf_path);
                ds_settings_free(&d->settings);
                return 0;
        }
        r = state_mkdir_p(d->statedir, 0700);
        if (r < 0)
                fatal("state directory '%s': %s", d->statedir, strerror(-r));
        if (load_settings(d, &d->settings, &e) < 0)
                fatal("%s", e.msg);

        /* signals go to a signalfd; block them before any thread exists */
        d->sigfd = ds_signalfd_open();
        if (d->sigfd < 0)
                fatal("signals: %s", strerror(-d->sigfd));
        zsys_handler_set(NULL);
        zsys_set_logident(svc->name);

        if (svc->init && (r = svc->init(d, ctx)) < 0)
                fatal("%s: initialisation failed: %s", svc->name, strerror(-r));
        if (svc->apply && (r = svc->apply(d, ctx, &e)) < 0)
                fatal("%s: settings refused: %s", svc->name, e.msg);

        d->bus = bus_new(&d->paths, d->identity, &r);
        if (!d->bus)
                fatal("bus: cannot use key of identity '%s' under '%s/bus': %s", d->identity, d->paths.confdir,
                      strerror(-r));
        d->loop = zloop_new();
        if (!d->loop || bus_attach(d->bus, d->loop) < 0)
                fatal("out of memory");
        tables[0] = svc->methods;
        tables[1] = generic_methods;
        tables[2] = NULL;
        info = (struct bus_serve_info){ .name = svc->name, .version = svc->version, .tables = tables,
                                        .topics = svc->topics, .ctx = ctx, .daemon = d };
        if (bus_serve(d->bus, &info) < 0)
                fatal("out of memory");
        log_set_sink(bus_log_sink, d);
        d->sig = (struct ds_signals){ .fd = d->sigfd, .reload = reload_settings, .ud = d };
        if (ds_loop_signals(d->loop, &d->sig) < 0 || ds_loop_watchdog(d->loop) < 0)
                fatal("out of memory");
        d->started_ms = ds_now_mono_ms();
        if (svc->start && (r = svc->start(d, ctx)) < 0)
                fatal("%s: start failed: %s", svc->name, strerror(-r));

        sd_notifyf(0, "READY=1\nSTATUS=serving %s %s on the bus\nMAINPID=%d", svc->name, svc->version,
                   (int)getpid());
        log_info("%s %s ready", svc->name, svc->version);
        zloop_start(d->loop);
        d->stopping = true;
        sd_notify(0, "STOPPING=1");
        if (svc->stop)
                svc->stop(d, ctx);
        log_set_sink(NULL, NULL);
        bus_destroy(&d->bus);
        zloop_destroy(&d->loop);
        ds_settings_free(&d->settings);
        close(d->sigfd);
        free(d->statedir);
        free(d->conf_path);
        free(d->argv);
        ds_paths_free(&d->paths);
        return 0;
}
