/* upgrade-d - signed update bundles installed one service at a time, with a
 * health gate and automatic rollback. main.c: the service and its hooks. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "log.h"
#include "state.h"
#include "upgrade.h"
#include "util.h"

static const char *const topics[] = { "upgrade.done", "upgrade.rolled_back", "upgrade.progress", "log.operation", "log.security", NULL };

/* Every refusal of apply, so check_settings (a two-phase import's prepare)
 * runs it alone. An upgrade that starts between a prepare and its commit is
 * the one refusal prepare cannot see. */
static int upg_check_settings(struct ds_daemon *d, void *ctx, const struct ds_settings *s, struct ds_err *e)
{
        struct upg_ctx *x = ctx;
        const char *comp = ds_settings_str(s, "components_dir"), *trust = ds_settings_str(s, "trust_dir");
        const char *url = ds_settings_str(s, "online_url"), *ca = ds_settings_str(s, "online_ca_file");

        (void)d;
        if (comp[0] && ds_check_path(comp, strlen(comp)))
                return ds_err_set(e, -EINVAL, "components_dir", "must be an absolute path without '..'");
        if (trust[0] && ds_check_path(trust, strlen(trust)))
                return ds_err_set(e, -EINVAL, "trust_dir", "must be an absolute path without '..'");
        if (x->job.step != UPG_IDLE && comp[0] && strcmp(comp, x->components_dir))
                return ds_err_set(e, -EBUSY, "components_dir", "an upgrade is under way");
        if (url[0] && strncmp(url, "https://", 8))
                return ds_err_set(e, -EINVAL, "online_url", "must be https:// (no plaintext)");
        if (ca[0] && ds_check_path(ca, strlen(ca)))
                return ds_err_set(e, -EINVAL, "online_ca_file", "must be an absolute path");
        return 0;
}

static int upg_apply(struct ds_daemon *d, void *ctx, struct ds_err *e)
{
        struct upg_ctx *x = ctx;
        const struct ds_settings *s = &d->settings;
        const char *comp = ds_settings_str(s, "components_dir"), *trust = ds_settings_str(s, "trust_dir");
        const char *mgr = ds_settings_str(s, "service_manager");
        int r;

        if ((r = upg_check_settings(d, ctx, s, e)) < 0)
                return r;
        if (comp[0])
                snprintf(x->components_dir, sizeof x->components_dir, "%s", comp);
        else if (d->dry_run)
                snprintf(x->components_dir, sizeof x->components_dir, "%s/components", d->paths.rundir);
        else
                snprintf(x->components_dir, sizeof x->components_dir, "/usr/lib/devsec/components");
        if (trust[0])
                snprintf(x->trust_dir, sizeof x->trust_dir, "%s", trust);
        else
                snprintf(x->trust_dir, sizeof x->trust_dir, "%s/upgrade/trust", d->paths.confdir);
        snprintf(x->svcmgr_dir, sizeof x->svcmgr_dir, "%s/svcmgr", d->paths.rundir);
        x->systemd = !strcmp(mgr, "systemd") || (!strcmp(mgr, "auto") && !d->dry_run);
        x->health_timeout_ms = ds_settings_int(s, "health_timeout_s") * 1000;
        {
                const char *url = ds_settings_str(s, "online_url"), *ca = ds_settings_str(s, "online_ca_file");
                size_t n = strlen(url);
                while (n && url[n - 1] == '/')
                        n--;
                snprintf(x->online_url, sizeof x->online_url, "%.*s", (int)n, url);
                snprintf(x->online_ca, sizeof x->online_ca, "%s", ca);
                x->online_check = ds_settings_bool(s, "online_check");
                x->online_auto_install = ds_settings_bool(s, "online_auto_install");
                x->online_interval_s = ds_settings_int(s, "online_interval_s");
        }
        x->audit_level = (int)ds_settings_int(s, "audit_level");
        return 0;
}

/* The scheduled online check, when it is on and due. */
static int on_minute(zloop_t *loop, int timer_id, void *arg)
{
        struct upg_ctx *x = arg;
        int64_t now = ds_now_real_ms() / 1000;

        (void)loop;
        (void)timer_id;
        if (x->online_check && x->online_url[0] && !x->on.busy && now - x->on.last_check_s >= x->online_interval_s) {
                x->on.last_check_s = now; /* once per interval, even when it fails */
                upg_online_check(x, NULL, "upgrade-d");
        }
        return 0;
}

static int upg_init(struct ds_daemon *d, void *ctx)
{
        struct upg_ctx *x = ctx;
        int r;

        x->d = d;
        x->timer = -1;
        x->work_timer = -1;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return log_errno(-errno, "PR_SET_NO_NEW_PRIVS: %m");
        if ((r = upg_counters_load(d->statedir, &x->counters)) < 0) {
                /* refuse installs rather than start from zero: that would allow a rollback */
                log_errno(r, "anti-rollback counters '%s/%s' unreadable: installs refused: %m", d->statedir, UPG_COUNTERS);
                x->counters_bad = true;
        }
        return 0;
}

static int upg_start(struct ds_daemon *d, void *ctx)
{
        struct upg_ctx *x = ctx;
        int r;

        /* known only once the settings are applied */
        if ((r = state_mkdir_p(x->components_dir, 0755)) < 0)
                log_warn("components directory '%s' cannot be created: %s", x->components_dir, strerror(-r));
        if ((r = bus_subscribe(d->bus, "bus.service.up", upg_on_event, x)) < 0)
                log_warn("cannot subscribe to bus.service.up (%s): the gate asks sys.ping alone", strerror(-r));
        x->timer = zloop_timer(d->loop, 500, 0, upg_on_tick, x);
        zloop_timer(d->loop, 60000, 0, on_minute, x);
        upg_restart_init(x, upg_restart_refused);
        if ((r = upg_online_init(x)) < 0)
                return log_errno(r, "online check: libcurl: %m");
        log_info("components in '%s', trust anchors in '%s', restarts through %s", x->components_dir, x->trust_dir,
                 x->systemd ? "systemd" : "the launcher");
        upg_recover(x);
        return 0;
}

static void upg_stop(struct ds_daemon *d, void *ctx)
{
        struct upg_ctx *x = ctx;

        (void)d;
        /* a job under way stays in the journal: the next start finishes it */
        if (x->job.call)
                ds_call_finish(&x->job.call, -DS_EUNAVAIL);
        for (size_t i = 0; i < x->job.n_baseline; i++)
                free(x->job.baseline[i]);
        free(x->job.baseline);
        if (x->job.work)
                bundle_cursor_end(&x->job.cur, false);
        bundle_close(&x->job.bundle);
        upg_counters_free(&x->counters);
        upg_online_fini(x);
        upg_restart_fini(x);
}

static void upg_status(struct ds_daemon *d, void *ctx, struct mpw *w)
{
        struct upg_ctx *x = ctx;

        (void)d;
        mpw_kv_str(w, "upgrade", x->job.step == UPG_IDLE ? "idle" : x->job.component);
}

static const struct ds_service upg_service = {
        .name = "upgrade-d",
        .version = DEVSEC_VERSION,
        .methods = upg_methods,
        .settings = upg_settings,
        .audit = upg_audit,
        .topics = topics,
        /* online_upgrade permits the scheduled check: off turns it off, the check on turns it on */
        .functions = (const struct ds_function_link[]){ { "online_upgrade", "online_check", .permission = true },
                                                         { NULL } },
        .config_auth = AUTH_NEEDS2(MAINTENANCE, SECURITY),
        .init = upg_init,
        .apply = upg_apply,
        .check_settings = upg_check_settings,
        .start = upg_start,
        .stop = upg_stop,
        .status = upg_status,
        /* anti-rollback survives a factory reset, and so does an install under way */
        .factory_keep = (const char *const[]){ UPG_COUNTERS, UPG_JOURNAL, NULL },
};

int main(int argc, char **argv)
{
        static struct upg_ctx ctx;

        return ds_daemon_main(argc, argv, &upg_service, &ctx);
}
