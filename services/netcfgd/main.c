/* netcfgd - ports, function minimization, HTTPS certificates, secure network
 * settings. main.c: the service and its hooks; methods.c the table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "netcfgd.h"
#include "state.h"
#include "util.h"

static struct netcfgd_ctx *X(void *ctx)
{
        return ctx;
}

static int n_init(struct ds_daemon *d, void *ctx)
{
        struct netcfgd_ctx *x = X(ctx);
        char *path = NULL;
        struct state_mp m;
        struct ds_err e;
        int r;

        x->d = d;
        ds_err_clear(&e);
        if (netcfgd_port_args_check(&e) < 0)
                return log_errno(-EINVAL, "port table: '%s': %s", e.field, e.msg);
        /* --svcmgr=auto|dev|systemd: an explicit choice of backend */
        for (int i = 1; i < d->argc; i++) {
                const char *a = d->argv[i];
                if (!strncmp(a, "--svcmgr=", 9) && (!strcmp(a + 9, "auto") || !strcmp(a + 9, "dev") || !strcmp(a + 9, "systemd"))) {
                        x->want_backend = a + 9;
                } else {
                        log_err("unknown option '%s' (netcfgd takes --svcmgr=auto|dev|systemd)", a);
                        return -EINVAL;
                }
        }
        if (asprintf(&path, "%s/functions.conf", d->paths.confdir) < 0)
                return -ENOMEM;
        r = functions_load(path, &x->fns, &e);
        free(path);
        if (r < 0) {
                log_err("function table: %s", e.msg);
                return r;
        }
        r = state_read_mp(d->statedir, FN_STATE, 1 << 16, NULL, &m);
        if (r == 0) {
                if (functions_read_state(&x->fns, &m.u.data, &e) < 0)
                        log_warn("'%s/%s': %s; using factory defaults", d->statedir, FN_STATE, e.msg);
        } else if (r != -ENOENT) {
                log_warn("'%s/%s' unreadable; using factory defaults", d->statedir, FN_STATE);
        }
        state_mp_free(&m);
        x->certdir = path_join(d->statedir, "certs");
        x->snmpdir = path_join(d->statedir, "snmp");
        x->wifidir = path_join(d->statedir, "wifi");
        x->svcdir = path_join(d->paths.rundir, "svcmgr");
        x->flagdir = path_join(d->paths.statedir, "functions/disabled");
        x->tlsdir = path_join(d->paths.statedir, "tls");
        if (!x->certdir || !x->snmpdir || !x->wifidir || !x->svcdir || !x->flagdir || !x->tlsdir)
                return -ENOMEM;
        return 0;
}

/* The service manager asked again: a hook unit installed or removed, a unit's state. */
static int on_hook_tick(zloop_t *loop, int timer_id, void *arg)
{
        struct netcfgd_ctx *x = arg;

        (void)loop;
        (void)timer_id;
        netcfgd_hooks_scan(x, true);
        svcmgr_refresh(&x->mgr);
        return 0;
}

static int n_start(struct ds_daemon *d, void *ctx)
{
        struct netcfgd_ctx *x = X(ctx);
        /* the backend is chosen once: systemd when asked for, or when booted
         * with it and not --dry-run */
        bool sd = x->want_backend && strcmp(x->want_backend, "auto") ? !strcmp(x->want_backend, "systemd")
                                                                       : sd_booted() > 0 && !d->dry_run;
        int r;

        if (sd)
                r = svcmgr_systemd_new(d->loop, x->flagdir, &x->mgr);
        else
                r = svcmgr_dev_new(x->svcdir, &x->mgr);
        if (r < 0)
                return r;
        x->backend = x->mgr.ops->name;
        /* the service manager acts on the units of the function table and nothing else */
        if ((r = svcmgr_allow(&x->mgr, &x->fns)) < 0)
                return r;
        log_info("service manager: %s backend", x->backend);
        netcfgd_backup_load(x);
        /* hook units installed now are switched below like any unit */
        netcfgd_hooks_scan(x, false);
        x->hook_timer = zloop_timer(d->loop, HOOK_SCAN_MSEC, 0, on_hook_tick, x);
        svcmgr_refresh(&x->mgr);
        netcfgd_functions_adopt(x);
        netcfgd_functions_enforce(x, true);
        netcfgd_publish_ports(x);
        netcfgd_cert_ensure(x);
        netcfgd_tls_handover(x); /* webd's copies follow the files, whatever happened while netcfgd was down */
        return 0;
}

static void n_stop(struct ds_daemon *d, void *ctx)
{
        struct netcfgd_ctx *x = X(ctx);

        if (x->hook_timer > 0 && d->loop)
                zloop_timer_end(d->loop, x->hook_timer);
        svcmgr_destroy(&x->mgr);
        functions_free(&x->fns);
        free(x->certdir);
        free(x->tlsdir);
        free(x->snmpdir);
        free(x->wifidir);
        free(x->svcdir);
        free(x->flagdir);
}

/* What n_apply refuses, without acting (a two-phase import's prepare too). */
static int n_check_settings(struct ds_daemon *d, void *ctx, const struct ds_settings *s, struct ds_err *e)
{
        struct port_set p;
        size_t a, b;

        (void)d;
        (void)ctx;
        ports_from_settings(s, &p);
        if (ports_conflict(&p, &a, &b))
                return ds_err_set(e, -EINVAL, ports_table[b].key, "%s port %d is already used by %s",
                                  ports_proto_name(ports_table[b].proto), p.port[b], ports_table[a].name);
        return netcfg_settings_check(s, e);
}

static int n_apply(struct ds_daemon *d, void *ctx, struct ds_err *e)
{
        struct netcfgd_ctx *x = X(ctx);
        struct port_set p;
        int r;

        r = n_check_settings(d, ctx, &d->settings, e);
        if (r < 0)
                return r;
        ports_from_settings(&d->settings, &p);
        if (x->snmpdir && (r = netcfgd_write_snmp(x, &d->settings)) < 0)
                return ds_err_set(e, r, NULL, "cannot write the snmpd fragment in '%s': %s", x->snmpdir, strerror(-r));
        if (x->wifidir && (r = netcfgd_write_wireless(x, &d->settings)) < 0)
                return ds_err_set(e, r, NULL, "cannot write hostapd.conf or wpa_supplicant.conf in '%s': %s",
                                  x->wifidir, strerror(-r));
        if (!x->ports_known || memcmp(&p, &x->ports, sizeof p)) {
                bool was_known = x->ports_known;
                x->ports = p;
                x->ports_known = true;
                if (was_known && d->bus)
                        netcfgd_publish_ports(x);
        }
        return 0;
}

static int n_export(struct ds_daemon *d, void *ctx, struct ds_export *x)
{
        struct mpw *w = x->w;

        (void)d;
        mpw_map_begin(w);
        mpw_str(w, "functions");
        functions_write_state(&X(ctx)->fns, w);
        mpw_map_end(w);
        return 0;
}

static int n_check(struct ds_daemon *d, void *ctx, const msgpack_object *o, struct ds_err *e)
{
        (void)d;
        if (o->type != MSGPACK_OBJECT_MAP || !mp_get(o, "functions"))
                return ds_err_set(e, -EINVAL, "state", "expected {functions: {...}}");
        return functions_check_state(&X(ctx)->fns, mp_get(o, "functions"), e);
}

static int n_import(struct ds_daemon *d, void *ctx, const msgpack_object *o, struct ds_err *e)
{
        struct netcfgd_ctx *x = X(ctx);
        int r;

        r = n_check(d, ctx, o, e);
        if (r < 0)
                return r;
        /* as function.enable/disable: each change is recorded once it is done */
        for (uint32_t i = 0; i < mp_get(o, "functions")->via.map.size; i++) {
                const msgpack_object_kv *kv = &mp_get(o, "functions")->via.map.ptr[i];
                char name[64];
                struct net_function *f;
                bool b = false;

                mp_strcpy(&kv->key, name, sizeof name);
                mp_to_bool(&kv->val, &b);
                f = functions_find(&x->fns, name);
                if (f && f->enabled != b)
                        netcfgd_fn_change(x, f, b, NULL, "config.import");
        }
        return 0;
}

static int n_reset(struct ds_daemon *d, void *ctx)
{
        struct netcfgd_ctx *x = X(ctx);
        int r;

        (void)d;
        functions_reset(&x->fns);
        r = state_remove(d->statedir, FN_STATE);
        if (r < 0 && r != -ENOENT)
                return r;
        netcfgd_functions_enforce(x, false);
        return 0;
}

static void n_status(struct ds_daemon *d, void *ctx, struct mpw *w)
{
        (void)d;
        mpw_kv_str(w, "svcmgr", X(ctx)->backend ? X(ctx)->backend : "-");
}

static const char *const netcfgd_topics[] = { "net.ports.changed", "net.function.changed", NULL };

static const struct ds_service netcfgd_service = {
        .name = "netcfgd",
        .version = DEVSEC_VERSION,
        .methods = netcfgd_methods,
        .settings = netcfgd_settings,
        .audit = netcfgd_audit,
        .topics = netcfgd_topics,
        .config_auth = DS_AUTHZ_NETWORK,
        .state_auth = AUTH_NEEDS2(NETWORK, SECURITY),
        .init = n_init,
        .start = n_start,
        .stop = n_stop,
        .apply = n_apply,
        .export_state = n_export,
        .import_state = n_import,
        .check_state = n_check,
        .check_settings = n_check_settings,
        .reset_state = n_reset,
        .factory_marks = true,
        .status = n_status,
};

int main(int argc, char **argv)
{
        static struct netcfgd_ctx ctx;

        return ds_daemon_main(argc, argv, &netcfgd_service, &ctx);
}
