/* svc_methods.c - the methods every service gets: sys.ping, config.get/set/
 * reset/export/import, and the generic table with the audit methods */
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "svc_internal.h"

static int h_sys_ping(void *ctx, struct ds_call *c)
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

enum { CONFIG_SET_SETTINGS };
static const struct ds_field config_set_args[] = {
        [CONFIG_SET_SETTINGS] = { "settings", DS_MAP, DS_REQUIRED | DS_OPEN_MAP, .help = "map of setting = value" },
        { NULL },
};

/* Names the field as the caller wrote it: settings.<key>. */
static void prefix_field(struct ds_err *e)
{
        char f[sizeof e->field];

        memcpy(f, e->field, sizeof f);
        snprintf(e->field, sizeof e->field, "settings.%.*s", (int)(sizeof e->field - 10), f);
}

static int h_config_set(void *ctx, struct ds_call *c)
{
        struct ds_daemon *d = D(c);
        int r;

        (void)ctx;
        if ((r = svc_need_auth(c, svc_settings_auth(d), "config.set")) < 0)
                return r;
        r = ds_daemon_set_settings(d, ds_tb(c, CONFIG_SET_SETTINGS), ds_call_actor(c), &c->err);
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

/* A device backup's export: with secrets, so only sealed, and only for who
 * may read and set every account and security setting. */
#define SEAL_AUTH DS_AUTHZ_BACKUP "+" DS_AUTHZ_SECURITY "+" DS_AUTHZ_ACCOUNT

static const char *check_key_hex(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!strchr("0123456789abcdefABCDEF", s[i]))
                        return "an X25519 public key in hex (64 digits)";
        return n == 2 * crypto_box_PUBLICKEYBYTES ? NULL : "an X25519 public key in hex (64 digits)";
}

enum { EXPORT_SEAL_TO };
static const struct ds_field config_export_args[] = {
        [EXPORT_SEAL_TO] = { "seal_to", DS_STR, 0, .max_len = 2 * crypto_box_PUBLICKEYBYTES, .check = check_key_hex },
        { NULL },
};

/* The export's entries into an open map w; secrets only for a sealed one. */
static int write_export(struct ds_daemon *d, struct ds_call *c, struct mpw *w, bool secrets)
{
        int r;

        mpw_kv_str(w, "service", d->svc->name);
        mpw_kv_str(w, "version", d->svc->version);
        mpw_kv_int(w, "exported_ms", ds_now_real_ms());
        mpw_str(w, "settings");
        ds_settings_write(&d->settings, w, secrets);
        if (d->svc->export_state && !ds_caller_allowed(&c->caller, svc_state_auth(d))) {
                /* backup alone is not enough to read accounts, rules or functions */
                mpw_kv_str(w, "state_omitted", svc_state_auth(d));
        } else if (d->svc->export_state) {
                struct ds_export x = { .w = w, .secrets = secrets };

                mpw_str(w, "state");
                r = d->svc->export_state(d, d->ctx, &x);
                if (r < 0)
                        return ds_call_fail(c, r, NULL, "cannot export state: %s", strerror(-r));
        }
        return 0;
}

/* config.export {seal_to}: the export with its secrets, sealed to that key
 * (crypto_box_seal): never in clear on the bus. */
static int export_sealed(struct ds_daemon *d, struct ds_call *c, const char *hex)
{
        unsigned char pk[crypto_box_PUBLICKEYBYTES], *sealed = NULL;
        struct mpw w;
        int r;

        if ((r = svc_need_auth(c, SEAL_AUTH, "config.export with secrets")) < 0)
                return r;
        if (sodium_init() < 0 || sodium_hex2bin(pk, sizeof pk, hex, strlen(hex), NULL, NULL, NULL) < 0)
                return ds_call_fail(c, -EINVAL, "seal_to", "not an X25519 public key");
        mpw_init(&w);
        mpw_map_begin(&w);
        r = write_export(d, c, &w, true);
        mpw_map_end(&w);
        if (r == 0 && mpw_finish(&w) < 0)
                r = ds_call_fail(c, -ENOMEM, NULL, "cannot build the export");
        if (r == 0 && !(sealed = malloc(mpw_len(&w) + crypto_box_SEALBYTES)))
                r = ds_call_fail(c, -ENOMEM, NULL, "out of memory");
        if (r == 0 && crypto_box_seal(sealed, (const unsigned char *)mpw_data(&w), mpw_len(&w), pk) != 0)
                r = ds_call_fail(c, -DS_EINTERNAL, NULL, "cannot seal the export");
        if (r == 0) {
                mpw_kv_str(c->r, "service", d->svc->name);
                mpw_kv_str(c->r, "version", d->svc->version);
                mpw_str(c->r, "sealed");
                mpw_bin(c->r, sealed, mpw_len(&w) + crypto_box_SEALBYTES);
                log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c),
                          "%s: configuration with secrets exported, sealed to key %.16s..., by '%s'", d->svc->name,
                          hex, ds_call_actor(c));
        }
        free(sealed);
        mpw_wipe(&w); /* it held every hash */
        return r;
}

static int h_config_export(void *ctx, struct ds_call *c)
{
        struct ds_daemon *d = D(c);
        char hex[2 * crypto_box_PUBLICKEYBYTES + 1];
        int r;

        (void)ctx;
        if (ds_tb_str(c, EXPORT_SEAL_TO, hex, sizeof hex) == 0 && hex[0])
                return export_sealed(d, c, hex);
        if ((r = write_export(d, c, c->r, false)) < 0)
                return r;
        log_audit("operation", LOG_LVL_NOTICE, ds_call_actor(c), "%s: configuration exported by '%s'",
                  d->svc->name, ds_call_actor(c));
        return 0;
}

const struct ds_method svc_generic_methods[] = {
        DS_METHOD("sys.ping", NULL, h_sys_ping, AUTH_PUBLIC),
        DS_METHOD("config.get", NULL, h_config_get, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("config.set", config_set_args, h_config_set, AUTH_SESSION),
        DS_METHOD("config.reset", NULL, h_config_reset, AUTH_SESSION),
        DS_METHOD("config.export", config_export_args, h_config_export, AUTH_NEEDS(BACKUP)),
        DS_METHOD("config.import", svc_config_import_args, h_config_import, AUTH_NEEDS(BACKUP)),
        DS_METHOD("audit.report", svc_audit_report_args, h_audit_report, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("audit.harden", svc_audit_harden_args, h_audit_harden, AUTH_NEEDS(SECURITY)),
        DS_METHOD("sys.factory_reset", svc_factory_args, h_sys_factory_reset, SVC_FACTORY_AUTH),
        { NULL },
};

const struct ds_method *ds_generic_methods(void)
{
        return svc_generic_methods;
}
