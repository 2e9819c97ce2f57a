/* filterd - IP/MAC filter, temporary bans and connection caps in the kernel
 * (nftables, table inet devsec). main.c: wiring only. */
#include "filterd.h"
#include "log.h"
#include "util.h"
#include "service.h"

static int filterd_init(struct ds_daemon *d, void *ctx)
{
        struct filterd *f = ctx;
        struct ds_err e;
        int r;

        f->d = d;
        f->confirm_timer = -1;
        f->prune_timer = -1;
        fd_ports_default(&f->ports);
        if (!d->dry_run) {
                f->nft = fd_nft_new();
                if (!f->nft)
                        return log_errno(-ENOMEM, "libnftables: cannot create a context");
        }
        r = filterd_load(f);
        if (r < 0)
                return r;
        /* fail closed: the saved filter is in force before the bus is served */
        ds_err_clear(&e);
        r = filterd_enforce(f, &f->running, &e);
        return r < 0 ? -EIO : 0; /* filterd_enforce() said why */
}

static int filterd_start(struct ds_daemon *d, void *ctx)
{
        struct filterd *f = ctx;

        if (bus_subscribe(d->bus, "net.ports.changed", filterd_on_event, f) < 0 ||
            bus_subscribe(d->bus, "auth.locked", filterd_on_event, f) < 0)
                return -ENOMEM;
        f->prune_timer = zloop_timer(d->loop, 5000, 0, filterd_prune, f);
        if (f->nft) { /* the per-hour drop figures count from here */
                struct fd_counters cnt = { 0 };
                if (fd_nft_counters(f->nft, &cnt) == 0)
                        fd_drops_sample(&f->drops, &cnt, ds_now_real_ms());
        }
        filterd_resume(f);
        return 0;
}

static void filterd_stop(struct ds_daemon *d, void *ctx)
{
        struct filterd *f = ctx;

        (void)d;
        /* the table stays loaded: the device keeps its filter while filterd restarts */
        fd_nft_destroy(&f->nft);
        fd_config_free(&f->running);
        fd_config_free(&f->candidate);
        fd_config_free(&f->confirmed);
        fd_bans_free(&f->bans);
        free(f->ruleset);
        f->ruleset = NULL;
}

static const char *const topics[] = { "filter.applied", NULL };

int main(int argc, char **argv)
{
        static struct filterd f;
        static const struct ds_service svc = {
                .name = "filterd",
                .version = DEVSEC_VERSION,
                .methods = filterd_methods,
                .settings = filterd_settings,
                .audit = filterd_audit,
                .topics = topics,
                .config_auth = DS_AUTHZ_SECURITY,
                .state_auth = AUTH_NEEDS2(NETWORK, SECURITY),
                .init = filterd_init,
                .start = filterd_start,
                .stop = filterd_stop,
                .apply = filterd_apply_settings,
                .export_state = filterd_export,
                .import_state = filterd_import,
                .check_state = filterd_check,
                .check_settings = filterd_check_settings,
                .reset_state = filterd_reset,
                .status = filterd_status,
        };

        return ds_daemon_main(argc, argv, &svc, &f);
}
