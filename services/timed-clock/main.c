/* timed-clock - sets the clock for timed: CAP_SYS_TIME only, no network.
 * main.c: the service and its hooks; methods.c the two methods. */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

static int clockd_check_settings(struct ds_daemon *d, void *ctx, const struct ds_settings *s, struct ds_err *e)
{
        (void)d;
        (void)ctx;
        if (ds_settings_int(s, "ceil_s") <= ds_settings_int(s, "floor_s"))
                return ds_err_set(e, -EINVAL, "ceil_s", "must be after floor_s");
        return 0;
}

static int clockd_apply(struct ds_daemon *d, void *ctx, struct ds_err *e)
{
        struct clockd_ctx *x = ctx;
        const struct ds_settings *s = &d->settings;
        struct clock_bounds b = {
                .max_step_ns = ds_settings_int(s, "max_step_s") * NSEC_PER_SEC,
                .max_backward_ns = ds_settings_int(s, "max_backward_ms") * 1000000,
                .max_adjust_ns = ds_settings_int(s, "max_adjust_ms") * 1000000,
                .floor_ns = ds_settings_int(s, "floor_s") * NSEC_PER_SEC,
                .ceil_ns = ds_settings_int(s, "ceil_s") * NSEC_PER_SEC,
        };

        if (b.ceil_ns <= b.floor_ns)
                return ds_err_set(e, -EINVAL, "ceil_s", "must be after floor_s");
        x->bounds = b;
        snprintf(x->engine, sizeof x->engine, "%s", ds_settings_str(s, "engine_identity"));
        x->d = d;
        return 0;
}

static bool have_cap_sys_time(void)
{
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[2];

        if (syscall(SYS_capget, &h, data) < 0)
                return false;
        return data[CAP_TO_INDEX(CAP_SYS_TIME)].effective & CAP_TO_MASK(CAP_SYS_TIME);
}

static int clockd_init(struct ds_daemon *d, void *ctx)
{
        struct clockd_ctx *x = ctx;

        x->be.dry_run = d->dry_run;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return log_errno(-errno, "PR_SET_NO_NEW_PRIVS: %m");
        if (d->dry_run) {
                log_notice("dry run: clock changes are recorded, the host clock is never touched");
                return 0;
        }
        if (!have_cap_sys_time())
                return log_errno(-EPERM, "CAP_SYS_TIME is not in the effective set; run with it or with --dry-run");
        return 0;
}

static void clockd_status(struct ds_daemon *d, void *ctx, struct mpw *w)
{
        struct clockd_ctx *x = ctx;

        (void)d;
        mpw_kv_bool(w, "dry_run", x->be.dry_run);
        mpw_kv_uint(w, "steps", x->be.steps);
        mpw_kv_uint(w, "adjusts", x->be.adjusts);
        mpw_kv_uint(w, "refused", x->be.refused);
        mpw_kv_str(w, "last_op", x->be.last_op);
        mpw_kv_int(w, "last_delta_ns", x->be.last_delta_ns);
        if (x->be.dry_run)
                mpw_kv_int(w, "virtual_offset_ns", x->be.virt_offset_ns);
}

static const struct ds_service clockd_service = {
        .name = "timed-clock",
        .version = DEVSEC_VERSION,
        .methods = clockd_methods,
        .settings = clockd_settings,
        .audit = clockd_audit,
        .init = clockd_init,
        .apply = clockd_apply,
        .check_settings = clockd_check_settings,
        .status = clockd_status,
};

int main(int argc, char **argv)
{
        static struct clockd_ctx ctx;

        return ds_daemon_main(argc, argv, &clockd_service, &ctx);
}
