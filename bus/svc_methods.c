/* svc_methods.c - the methods every service gets: sys.ping, config.get/set/
 * reset/export/import, and the generic table with the audit methods */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "svc_internal.h"

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

const char *svc_settings_auth(const struct ds_daemon *d)
{
        return d->svc->config_auth ? d->svc->config_auth : DS_AUTHZ_SYSTEM;
}

/* The state stands for the service's own methods: its authority, never less. */
const char *svc_state_auth(const struct ds_daemon *d)
{
        return d->svc->state_auth ? d->svc->state_auth : svc_settings_auth(d);
}

int svc_need_auth(struct ds_call *c, const char *need, const char *what)
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
        if ((r = svc_need_auth(c, svc_settings_auth(d), "config.set")) < 0)
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
        if ((r = svc_need_auth(c, svc_settings_auth(d), "config.reset")) < 0 ||
            (d->svc->reset_state && (r = svc_need_auth(c, svc_state_auth(d), "config.reset")) < 0))
                return r;
        if (svc_reset_settings(d, ds_call_actor(c), &c->err) < 0)
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
        if (d->svc->export_state && !ds_caller_allowed(&c->caller, svc_state_auth(d))) {
                /* backup alone is not enough to read accounts, rules or functions */
                mpw_kv_str(c->r, "state_omitted", svc_state_auth(d));
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
        if ((st && (r = svc_need_auth(c, svc_state_auth(d), "config.import of state")) < 0) ||
            (have_set && (r = svc_need_auth(c, svc_settings_auth(d), "config.import of settings")) < 0))
                return r;
        mpw_init(&sc.over);
        if (have_set) {
                r = svc_settings_change_prepare(d, set, &sc, &c->err);
                if (r == 0)
                        r = svc_swap_settings(d, &sc.fresh, &old, &c->err);
                if (r < 0) {
                        if (c->err.field[0] && strncmp(c->err.field, "settings", 8) != 0)
                                prefix_field(&c->err);
                        goto out;
                }
        }
        if (st && (r = d->svc->import_state(d, d->ctx, st, &c->err)) < 0) {
                if (have_set)
                        svc_restore_settings(d, &old);
                goto out;
        }
        if (have_set) {
                r = svc_settings_change_commit(d, &sc, set, ds_call_actor(c), &c->err);
                if (r < 0)
                        goto out;
                ds_settings_free(&old);
        }
        log_audit("operation", LOG_LVL_NOTICE, ds_call_actor(c), "%s: configuration imported by '%s'",
                  d->svc->name, ds_call_actor(c));
        mpw_kv_bool(c->r, "imported", true);
        r = 0;
out:
        svc_settings_change_free(&sc);
        return r;
}

const struct ds_method svc_generic_methods[] = {
        DS_METHOD("sys.ping", NULL, h_ping, AUTH_PUBLIC),
        DS_METHOD("config.get", NULL, h_config_get, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("config.set", config_set_args, h_config_set, AUTH_SESSION),
        DS_METHOD("config.reset", NULL, h_config_reset, AUTH_SESSION),
        DS_METHOD("config.export", NULL, h_config_export, AUTH_NEEDS(BACKUP)),
        DS_METHOD("config.import", config_import_args, h_config_import, AUTH_NEEDS(BACKUP)),
        DS_METHOD("audit.report", svc_audit_report_args, h_audit_report, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("audit.harden", svc_audit_harden_args, h_audit_harden, AUTH_NEEDS(SECURITY)),
        DS_METHOD("sys.factory_reset", svc_factory_args, svc_h_factory_reset, SVC_FACTORY_AUTH),
        { NULL },
};

const struct ds_method *ds_generic_methods(void)
{
        return svc_generic_methods;
}
