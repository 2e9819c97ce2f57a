/* test_clock.c - the clock process's own bounds, its caller check and its dry-run backend */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

#define S NSEC_PER_SEC
#define NOW (1750000000LL * S)

static const struct clock_bounds B = {
        .max_step_ns = 86400 * S,
        .max_backward_ns = 0,
        .max_adjust_ns = S / 2,
        .floor_ns = 1704067200LL * S,
        .ceil_ns = 4102444800LL * S,
};

static void t_step_bounds(void **st)
{
        struct clock_bounds b2 = B;
        const char *f, *why;

        (void)st;
        assert_int_equal(clock_check_step(&B, NOW, NOW + 30 * S, false, &f, &why), 0);
        assert_int_equal(clock_check_step(&B, NOW, NOW + 86400 * S, false, &f, &why), 0);
        assert_int_equal(clock_check_step(&B, NOW, NOW + 86401 * S, false, &f, &why), -EINVAL);
        assert_string_equal(f, "delta_ns");
        assert_non_null(strstr(why, "max_step_s"));
        assert_int_equal(clock_check_step(&B, NOW, B.floor_ns - 1, true, &f, &why), -EINVAL);
        assert_string_equal(f, "to_ns");
        assert_int_equal(clock_check_step(&B, NOW, B.ceil_ns + 1, true, &f, &why), -EINVAL);
        assert_string_equal(f, "to_ns");
        /* an unset clock (1970 after a reset without RTC) may jump to the present */
        assert_int_equal(clock_check_step(&B, 5 * S, NOW, false, &f, &why), 0);
        /* backwards: refused without the flag, even by 1 ns; allowed with it */
        assert_int_equal(clock_check_step(&B, NOW, NOW - 1, false, &f, &why), -EINVAL);
        assert_string_equal(f, "backward");
        assert_int_equal(clock_check_step(&B, NOW, NOW - 10 * S, true, &f, &why), 0);
        assert_int_equal(clock_check_step(&B, NOW, NOW - 86401 * S, true, &f, &why), -EINVAL);
        /* a tolerance for small backwards steps */
        b2.max_backward_ns = S;
        assert_int_equal(clock_check_step(&b2, NOW, NOW - S, false, &f, &why), 0);
        assert_int_equal(clock_check_step(&b2, NOW, NOW - S - 1, false, &f, &why), -EINVAL);
}

static void t_adjust_bounds(void **st)
{
        const char *why;

        (void)st;
        assert_int_equal(clock_check_adjust(&B, S / 2, &why), 0);
        assert_int_equal(clock_check_adjust(&B, -S / 2, &why), 0);
        assert_int_equal(clock_check_adjust(&B, S / 2 + 1, &why), -EINVAL);
        assert_int_equal(clock_check_adjust(&B, -S / 2 - 1, &why), -EINVAL);
        assert_non_null(strstr(why, "max_adjust_ms"));
}

/* realtime - monotonic: changes only when someone sets the host clock */
static int64_t host_epoch_ns(void)
{
        struct timespec r, m;

        clock_gettime(CLOCK_REALTIME, &r);
        clock_gettime(CLOCK_MONOTONIC, &m);
        return ((int64_t)r.tv_sec - m.tv_sec) * S + (r.tv_nsec - m.tv_nsec);
}

static void t_dry_run_backend(void **st)
{
        struct clock_backend be = { .dry_run = true };
        int64_t before = host_epoch_ns(), now;

        (void)st;
        now = clock_now_ns(&be);
        assert_int_equal(clock_step(&be, now + 3600 * S), 0);
        assert_true(llabs(be.virt_offset_ns - 3600 * S) < S / 10);
        assert_true(llabs(clock_now_ns(&be) - (now + 3600 * S)) < S / 10);
        assert_int_equal(clock_adjust(&be, -S / 4), 0);
        assert_true(llabs(be.virt_offset_ns - (3600 * S - S / 4)) < S / 10);
        assert_int_equal(be.steps, 1);
        assert_int_equal(be.adjusts, 1);
        assert_string_equal(be.last_op, "slew");
        /* the host clock did not move */
        assert_true(llabs(host_epoch_ns() - before) < S / 100);
}

/* ---- handlers through the method table ---------------------------------- */

struct fix {
        struct clockd_ctx x;
        msgpack_unpacked u;
        struct mpw args, r;
        struct ds_call c;
};

static int call(struct fix *f, const char *method, const char *caller, bool svc, void (*args)(struct mpw *))
{
        const struct ds_method *tables[] = { clockd_methods, NULL };
        const struct ds_method *m = ds_methods_find(tables, method, strlen(method));
        const char *why;
        int r;

        assert_non_null(m);
        mpw_init(&f->args);
        mpw_map_begin(&f->args);
        args(&f->args);
        mpw_map_end(&f->args);
        assert_int_equal(mp_decode(mpw_data(&f->args), mpw_len(&f->args), NULL, &f->u, &why), 0);
        mpw_init(&f->r);
        mpw_map_begin(&f->r);
        memset(&f->c, 0, sizeof f->c);
        f->c.args = &f->u.data;
        f->c.r = &f->r;
        f->c.m = m;
        f->c.caller.svc = svc;
        snprintf(f->c.caller.id, sizeof f->c.caller.id, "%s", caller);
        /* what the dispatcher does before the handler */
        if (!ds_caller_allowed(&f->c.caller, m->auth))
                r = -EPERM;
        else if ((r = ds_call_bind(&f->c, &f->u.data)) == 0)
                r = m->fn(&f->x, &f->c);
        msgpack_unpacked_destroy(&f->u);
        mpw_free(&f->args);
        mpw_free(&f->r);
        return r;
}

static int setup(void **st)
{
        struct fix *f = calloc(1, sizeof *f);

        f->x.bounds = B;
        f->x.be.dry_run = true;
        snprintf(f->x.engine, sizeof f->x.engine, "timed");
        *st = f;
        return 0;
}

static int teardown(void **st)
{
        free(*st);
        return 0;
}

static void a_delta_30(struct mpw *w) { mpw_kv_int(w, "delta_ns", 30 * S); mpw_kv_str(w, "reason", "ntp-initial"); }
static void a_delta_back(struct mpw *w) { mpw_kv_int(w, "delta_ns", -2 * S); }
static void a_delta_back_ok(struct mpw *w) { mpw_kv_int(w, "delta_ns", -2 * S); mpw_kv_bool(w, "backward", true); }
static void a_both(struct mpw *w) { mpw_kv_int(w, "delta_ns", S); mpw_kv_int(w, "to_ns", NOW); }
static void a_none(struct mpw *w) { mpw_kv_str(w, "reason", "x"); }
static void a_huge(struct mpw *w) { mpw_kv_int(w, "delta_ns", 400 * 86400 * S); }
static void a_before_floor(struct mpw *w) { mpw_kv_int(w, "to_ns", 1000 * S); mpw_kv_bool(w, "backward", true); }
static void a_slew_ok(struct mpw *w) { mpw_kv_int(w, "delta_ns", S / 10); }
static void a_slew_big(struct mpw *w) { mpw_kv_int(w, "delta_ns", 2 * S); }
static void a_mistyped(struct mpw *w) { mpw_kv_str(w, "delta_ns", "30"); }
static void a_unknown(struct mpw *w) { mpw_kv_int(w, "delta_ns", 1); mpw_kv_bool(w, "force", true); }
static void a_bad_reason(struct mpw *w) { mpw_kv_int(w, "delta_ns", 1); mpw_kv_str(w, "reason", "a b;c"); }

static void t_handlers(void **st)
{
        struct fix *f = *st;
        int64_t before = host_epoch_ns();

        assert_int_equal(ds_methods_selftest(clockd_methods, &f->c.err), 0);
        assert_int_equal(call(f, "clock.step", "timed", true, a_delta_30), 0);
        assert_true(llabs(f->x.be.virt_offset_ns - 30 * S) < S / 10);
        assert_int_equal(f->x.be.steps, 1);

        /* only the engine: another daemon, or an operator's devctl, is refused */
        assert_int_equal(call(f, "clock.step", "netcfgd", true, a_delta_30), -EPERM);
        assert_int_equal(call(f, "clock.step", "devctl", false, a_delta_30), -EPERM);
        assert_int_equal(call(f, "clock.adjust", "authd", true, a_slew_ok), -EPERM);
        assert_int_equal(f->x.be.steps, 1);
        assert_int_equal(f->x.be.adjusts, 0);

        assert_int_equal(call(f, "clock.step", "timed", true, a_delta_back), -EINVAL);
        assert_string_equal(f->c.err.field, "backward");
        assert_int_equal(call(f, "clock.step", "timed", true, a_delta_back_ok), 0);
        assert_int_equal(call(f, "clock.step", "timed", true, a_both), -EINVAL);
        assert_string_equal(f->c.err.field, "to_ns");
        assert_int_equal(call(f, "clock.step", "timed", true, a_none), -EINVAL);
        assert_string_equal(f->c.err.field, "to_ns");
        assert_int_equal(call(f, "clock.step", "timed", true, a_huge), -EINVAL);
        assert_string_equal(f->c.err.field, "delta_ns");
        assert_int_equal(call(f, "clock.step", "timed", true, a_before_floor), -EINVAL);
        assert_string_equal(f->c.err.field, "to_ns");
        assert_int_equal(call(f, "clock.step", "timed", true, a_mistyped), -EINVAL);
        assert_string_equal(f->c.err.field, "delta_ns");
        assert_int_equal(call(f, "clock.step", "timed", true, a_unknown), -EINVAL);
        assert_string_equal(f->c.err.field, "force");
        assert_int_equal(call(f, "clock.step", "timed", true, a_bad_reason), -EINVAL);
        assert_string_equal(f->c.err.field, "reason");
        assert_int_equal(f->x.be.steps, 2);

        assert_int_equal(call(f, "clock.adjust", "timed", true, a_slew_ok), 0);
        assert_int_equal(call(f, "clock.adjust", "timed", true, a_slew_big), -EINVAL);
        assert_string_equal(f->c.err.field, "delta_ns");
        assert_int_equal(f->x.be.adjusts, 1);
        assert_true(llabs(f->x.be.virt_offset_ns - (28 * S + S / 10)) < S / 10);
        assert_int_equal(f->x.be.refused, 6); /* 2 callers, 4 bounds */
        /* dry run: every accepted change was virtual */
        assert_true(llabs(host_epoch_ns() - before) < S / 100);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_step_bounds),
                cmocka_unit_test(t_adjust_bounds),
                cmocka_unit_test(t_dry_run_backend),
                cmocka_unit_test_setup_teardown(t_handlers, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
