/* test_args - validated arguments bound once: ds_call_bind() puts the value
 * of field i of the method's table in c->tb[i] (NULL when absent or nil),
 * the ds_tb_* readers index it, errors still name the field, and
 * ds_methods_selftest() refuses a table whose indices and fields could have
 * drifted apart (an index left out, a table of unknown size); the generic
 * methods every daemon serves pass it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bus.h"
#include "svc_internal.h"

static int h_none(void *ctx, struct ds_call *c)
{
        (void)ctx;
        (void)c;
        return 0;
}

enum { T_NAME, T_PORT, T_ON, T_NOTE };
static const struct ds_field t_args[] = {
        [T_NAME] = { "name", DS_STR, DS_REQUIRED, .max_len = 8 },
        [T_PORT] = { "port", DS_INT, 0, .min = 1, .max = 65535 },
        [T_ON] = { "on", DS_BOOL, 0 },
        [T_NOTE] = { "note", DS_STR, 0 },
        { NULL },
};
static const struct ds_method t_methods[] = {
        DS_METHOD("t.set", t_args, h_none, AUTH_PUBLIC),
        DS_METHOD("t.none", NULL, h_none, AUTH_PUBLIC),
        { NULL },
};

struct bound {
        struct mpw w;
        msgpack_unpacked u;
        struct ds_call c;
        int r;
};

/* Encodes {name, port, on = nil}, given in another order than the table's. */
static void bind_args(struct bound *b, const char *name, int64_t port)
{
        const char *why;

        mpw_init(&b->w);
        mpw_map_begin(&b->w);
        mpw_str(&b->w, "on");
        mpw_nil(&b->w);
        if (port)
                mpw_kv_int(&b->w, "port", port);
        if (name)
                mpw_kv_str(&b->w, "name", name);
        mpw_map_end(&b->w);
        assert_int_equal(mpw_finish(&b->w), 0);
        assert_int_equal(mp_decode(mpw_data(&b->w), mpw_len(&b->w), NULL, &b->u, &why), 0);
        memset(&b->c, 0, sizeof b->c);
        b->c.m = &t_methods[0];
        b->r = ds_call_bind(&b->c, &b->u.data);
}

static void bound_free(struct bound *b)
{
        msgpack_unpacked_destroy(&b->u);
        mpw_free(&b->w);
}

static void test_bind_by_index(void **state)
{
        struct bound b;
        char buf[16];

        (void)state;
        bind_args(&b, "cam1", 8080);
        assert_int_equal(b.r, 0);
        assert_int_equal(ds_tb_str(&b.c, T_NAME, buf, sizeof buf), 0);
        assert_string_equal(buf, "cam1");
        assert_int_equal(ds_tb_int(&b.c, T_PORT, 0), 8080);
        assert_false(ds_tb_has(&b.c, T_ON)); /* nil is absent */
        assert_true(ds_tb_bool(&b.c, T_ON, true));
        assert_null(ds_tb(&b.c, T_NOTE));
        assert_null(ds_tb_strdup(&b.c, T_NOTE));
        assert_int_equal(ds_tb_str(&b.c, T_NOTE, buf, sizeof buf), 0);
        assert_string_equal(buf, "");
        assert_int_equal(ds_tb_str(&b.c, T_NAME, buf, 3), -E2BIG);
        bound_free(&b);
}

static void test_errors_name_the_field(void **state)
{
        struct bound b;

        (void)state;
        bind_args(&b, NULL, 8080);
        assert_int_equal(b.r, -EINVAL);
        assert_string_equal(b.c.err.field, "name");
        assert_string_equal(b.c.err.msg, "is required");
        bound_free(&b);
        bind_args(&b, "cam1", 70000);
        assert_int_equal(b.r, -EINVAL);
        assert_string_equal(b.c.err.field, "port");
        bound_free(&b);
}

enum { G_A, G_B, G_C };
static const struct ds_field gap_args[] = {
        [G_A] = { "a", DS_STR, 0 },
        [G_C] = { "c", DS_STR, 0 }, /* G_B left out: the table would end at it */
        { NULL },
};
static const struct ds_field *const gap_ptr = t_args;

static void test_selftest_refuses_drift(void **state)
{
        const struct ds_method gap[] = { DS_METHOD("t.gap", gap_args, h_none, AUTH_PUBLIC), { NULL } };
        const struct ds_method ptr[] = { { .name = "t.ptr", .args = gap_ptr, .fn = h_none, .auth = AUTH_PUBLIC },
                                         { NULL } };
        struct ds_err e;

        (void)state;
        assert_int_equal(ds_methods_selftest(t_methods, &e), 0);
        ds_err_clear(&e);
        assert_int_equal(ds_methods_selftest(gap, &e), -EINVAL);
        assert_string_equal(e.field, "t.gap");
        ds_err_clear(&e);
        assert_int_equal(ds_methods_selftest(ptr, &e), -EINVAL);
        assert_string_equal(e.field, "t.ptr");
}

static void test_generic_methods(void **state)
{
        struct ds_err e;

        (void)state;
        ds_err_clear(&e);
        assert_int_equal(ds_methods_selftest(svc_generic_methods, &e), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bind_by_index),
                cmocka_unit_test(test_errors_name_the_field),
                cmocka_unit_test(test_selftest_refuses_drift),
                cmocka_unit_test(test_generic_methods),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
