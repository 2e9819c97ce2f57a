/* exposured - what the device exposes: the sockets listening on its network
 * addresses judged against netcfgd's enabled functions and ports, and the
 * port mappings the LAN's UPnP IGD makes to it. main.c: the service and its
 * hooks; methods.c the exposure.* methods and audit items; exposure.c the
 * exposure state (rules, verdicts, the event); listen.c the sockets
 * (sock_diag); judge.c pure logic; upnp.c the IGD (a child process, its end
 * reported through x->upnp_done); netcfg.c what netcfgd says. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "exposured.h"
#include "log.h"
#include "util.h"

static const char *const topics[] = { "net.exposure.changed", "log.system", "log.security", NULL };

static int exp_apply(struct ds_daemon *d, void *ctx, struct ds_err *e)
{
        struct exp_ctx *x = ctx;
        int r;

        x->d = d;
        if ((r = exp_settings_apply(x, &d->settings, e)) < 0)
                return r;
        /* a shorter interval takes effect now; a check running with the old
         * settings starts again with the new ones (its waiters stay) */
        x->next_upnp_ms = 0;
        if (x->child > 0 && !x->job.unmap) {
                exp_upnp_stop(x);
                exp_upnp_start(x, false, EXP_TCP, 0);
        }
        if (d->bus)
                exp_listen_refresh(x);
        return 0;
}

static int exp_check_settings(struct ds_daemon *d, void *ctx, const struct ds_settings *s, struct ds_err *e)
{
        (void)d;
        (void)ctx;
        return exp_settings_check(s, e);
}

static int on_tick(zloop_t *loop, int timer_id, void *arg)
{
        struct exp_ctx *x = arg;
        const struct ds_settings *s = &x->d->settings;
        int64_t now = ds_now_mono_ms();

        (void)loop;
        (void)timer_id;
        if (now >= x->next_listen_ms) {
                x->next_listen_ms = now + ds_settings_int(s, "listen_interval_s") * 1000;
                exp_listen_refresh(x);
                exp_publish_if_changed(x, "listeners");
        }
        /* the scheduled check waits for netcfgd's HTTPS port, or 10 s */
        /* --dry-run (make run): no SSDP on the host's LAN unless asked */
        if (!x->d->dry_run && x->child <= 0 && now >= x->next_upnp_ms &&
            (x->net.ports_known || now - x->d->started_ms > 10000)) {
                x->next_upnp_ms = now + ds_settings_int(s, "interval_s") * 1000;
                log_info("scheduled UPnP check");
                exp_upnp_start(x, false, EXP_TCP, 0);
        }
        return 0;
}

static int exp_init(struct ds_daemon *d, void *ctx)
{
        struct exp_ctx *x = ctx;

        x->d = d;
        x->child_fd = -1;
        x->child_timer = -1;
        x->tick_timer = -1;
        x->net_timer = -1;
        x->upnp_done = exp_upnp_done;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return log_errno(-errno, "PR_SET_NO_NEW_PRIVS: %m");
        return 0;
}

static int exp_start(struct ds_daemon *d, void *ctx)
{
        struct exp_ctx *x = ctx;

        x->tick_timer = zloop_timer(d->loop, 1000, 0, on_tick, x);
        exp_listen_refresh(x);
        return exp_netcfg_start(x);
}

static void exp_stop(struct ds_daemon *d, void *ctx)
{
        struct exp_ctx *x = ctx;

        (void)d;
        exp_upnp_stop(x);
        for (size_t i = 0; i < x->n_waiters; i++) {
                ds_call_fail(x->waiters[i], -DS_EUNAVAIL, NULL, "exposured is stopping");
                ds_call_finish(&x->waiters[i], -DS_EUNAVAIL);
        }
        x->n_waiters = 0;
        if (x->unmap_call) {
                ds_call_fail(x->unmap_call, -DS_EUNAVAIL, NULL, "exposured is stopping");
                ds_call_finish(&x->unmap_call, -DS_EUNAVAIL);
        }
}

static void exp_status(struct ds_daemon *d, void *ctx, struct mpw *w)
{
        struct exp_ctx *x = ctx;

        (void)d;
        mpw_kv_uint(w, "listeners", x->lis.n);
        mpw_kv_uint(w, "upnp_checks", x->checks);
        mpw_kv_uint(w, "changes", x->changes);
}

static const struct ds_service exp_service = {
        .name = "exposured",
        .version = DEVSEC_VERSION,
        .methods = exp_methods,
        .settings = exp_settings,
        .audit = exp_audit,
        .topics = topics,
        .init = exp_init,
        .apply = exp_apply,
        .check_settings = exp_check_settings,
        .start = exp_start,
        .stop = exp_stop,
        .status = exp_status,
};

int main(int argc, char **argv)
{
        static struct exp_ctx ctx;

        return ds_daemon_main(argc, argv, &exp_service, &ctx);
}
