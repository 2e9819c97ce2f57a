/* methods.c - timed-clock's two methods, callable only by the engine's identity */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

enum { STEP_TO_NS, STEP_DELTA_NS, STEP_BACKWARD, STEP_REASON };
static const struct ds_field step_args[] = {
        [STEP_TO_NS] = { "to_ns", DS_INT, 0, .help = "absolute target, ns since the epoch" },
        [STEP_DELTA_NS] = { "delta_ns", DS_INT, 0, .help = "relative step, ns" },
        [STEP_BACKWARD] = { "backward", DS_BOOL, 0, .help = "allow a backwards step beyond max_backward_ms" },
        [STEP_REASON] = { "reason", DS_STR, 0, .max_len = 32, .check = ds_check_name },
        { NULL },
};

enum { ADJUST_DELTA_NS, ADJUST_REASON };
static const struct ds_field adjust_args[] = {
        [ADJUST_DELTA_NS] = { "delta_ns", DS_INT, DS_REQUIRED, .help = "offset to slew away, ns" },
        [ADJUST_REASON] = { "reason", DS_STR, 0, .max_len = 32, .check = ds_check_name },
        { NULL },
};

/* The bus ACL already limits who may call; the clock checks again itself. */
static int caller_ok(struct clockd_ctx *x, struct ds_call *c)
{
        if (!c->caller.svc || strcmp(c->caller.id, x->engine) != 0) {
                log_audit("security", LOG_LVL_WARNING, ds_call_actor(c), "clock change refused to '%s'",
                          ds_call_actor(c));
                x->be.refused++;
                return ds_call_fail(c, -EPERM, NULL, "only '%s' may change the clock", x->engine);
        }
        return 0;
}

static int refuse(struct clockd_ctx *x, struct ds_call *c, const char *field, const char *why, int64_t delta)
{
        x->be.refused++;
        log_audit("security", LOG_LVL_WARNING, ds_call_actor(c), "clock change of %+.6f s refused: %s",
                  (double)delta / 1e9, why);
        return ds_call_fail(c, -EINVAL, field, "%s", why);
}

static int h_clock_step(void *ctx, struct ds_call *c)
{
        struct clockd_ctx *x = ctx;
        bool has_to = ds_tb_has(c, STEP_TO_NS), has_delta = ds_tb_has(c, STEP_DELTA_NS);
        const char *field, *why;
        char reason[33];
        int64_t now, target;
        int r;

        if ((r = caller_ok(x, c)) < 0)
                return r;
        if (has_to == has_delta)
                return ds_call_fail(c, -EINVAL, "to_ns", "give exactly one of to_ns and delta_ns");
        ds_tb_str(c, STEP_REASON, reason, sizeof reason);
        now = clock_now_ns(&x->be);
        target = has_to ? ds_tb_int(c, STEP_TO_NS, 0) : now + ds_tb_int(c, STEP_DELTA_NS, 0);
        if (!has_to && ds_tb_int(c, STEP_DELTA_NS, 0) > INT64_MAX / 2)
                return refuse(x, c, "delta_ns", "out of range", 0);
        if (clock_check_step(&x->bounds, now, target, ds_tb_bool(c, STEP_BACKWARD, false), &field, &why) < 0)
                return refuse(x, c, !strcmp(field, "delta_ns") && has_to ? "to_ns" : field, why, target - now);
        r = clock_step(&x->be, target);
        if (r < 0)
                return ds_call_fail(c, -DS_EINTERNAL, NULL, "the clock could not be set: %s", strerror(-r));
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "clock stepped by %+.6f s (%s)%s",
                  (double)x->be.last_delta_ns / 1e9, reason[0] ? reason : "unspecified",
                  x->be.dry_run ? " [dry run: host clock untouched]" : "");
        mpw_kv_int(c->r, "old_ns", now);
        mpw_kv_int(c->r, "new_ns", now + x->be.last_delta_ns);
        mpw_kv_int(c->r, "delta_ns", x->be.last_delta_ns);
        mpw_kv_bool(c->r, "virtual", x->be.dry_run);
        return 0;
}

static int h_clock_adjust(void *ctx, struct ds_call *c)
{
        struct clockd_ctx *x = ctx;
        int64_t delta = ds_tb_int(c, ADJUST_DELTA_NS, 0);
        const char *why;
        int r;

        if ((r = caller_ok(x, c)) < 0)
                return r;
        if (clock_check_adjust(&x->bounds, delta, &why) < 0)
                return refuse(x, c, "delta_ns", why, delta);
        r = clock_adjust(&x->be, delta);
        if (r < 0)
                return ds_call_fail(c, -DS_EINTERNAL, NULL, "the clock could not be slewed: %s", strerror(-r));
        log_debug("slewing %+.6f s", (double)delta / 1e9);
        mpw_kv_int(c->r, "delta_ns", delta);
        mpw_kv_bool(c->r, "virtual", x->be.dry_run);
        return 0;
}

const struct ds_method clockd_methods[] = {
        DS_METHOD("clock.step", step_args, h_clock_step, AUTH_SERVICE),
        DS_METHOD("clock.adjust", adjust_args, h_clock_adjust, AUTH_SERVICE),
        { NULL },
};

const struct ds_field clockd_settings[] = {
        { "engine_identity", DS_STR, 0, .max_len = BUS_NAME_MAX, .check = ds_check_name, .def_str = "timed",
          .help = "the only bus identity allowed to change the clock" },
        { "max_step_s", DS_INT, 0, .min = 1, .max = 3153600000LL, .def_int = 31622400,
          .help = "largest step once the clock is set (s)" },
        { "max_backward_ms", DS_INT, 0, .min = 0, .max = 86400000, .def_int = 0,
          .help = "backwards steps beyond this need backward=true (ms)" },
        { "max_adjust_ms", DS_INT, 0, .min = 1, .max = 2000000, .def_int = 500,
          .help = "largest slew (ms)" },
        { "floor_s", DS_INT, 0, .min = 0, .max = 4102444800LL, .def_int = 1704067200,
          .help = "no step to before this time (s since the epoch); a clock below it counts as unset" },
        { "ceil_s", DS_INT, 0, .min = 1, .max = 253402300799LL, .def_int = 4102444800LL,
          .help = "no step to after this time (s since the epoch)" },
        { NULL },
};

const struct ds_audit_item clockd_audit[] = {
        { .id = "timed-clock.engine", .level = 1, .title = "only the NTP engine may change the clock",
          .remediation = "devctl config set timed-clock engine_identity=timed", .key = "engine_identity",
          .want_str = "timed" },
        { .id = "timed-clock.max-step", .level = 2, .title = "steps are bounded to one day once the clock is set",
          .remediation = "devctl config set timed-clock max_step_s=86400", .key = "max_step_s", .cmp = DS_CMP_LE,
          .want_int = 86400 },
        { NULL },
};
