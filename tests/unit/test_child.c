/* test_child.c - ds_child_run: the child's result and error come back; what
 * the child changes stays in the child; a child that dies without an answer
 * is an error naming that, not a success. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "child.h"

static int touched;

static int ok_fn(void *ud, struct ds_err *e)
{
        (void)e;
        touched = *(int *)ud;
        return 0;
}

static int fail_fn(void *ud, struct ds_err *e)
{
        (void)ud;
        return ds_err_set(e, -EINVAL, "days", "must be between %d and %d", 1, 3650);
}

static int die_fn(void *ud, struct ds_err *e)
{
        (void)ud;
        (void)e;
        raise(SIGKILL);
        return 0;
}

static int exit_fn(void *ud, struct ds_err *e)
{
        (void)ud;
        (void)e;
        _exit(0);
}

static void t_result(void **state)
{
        struct ds_err e = { 0 };
        int v = 42;

        (void)state;
        touched = 0;
        assert_int_equal(ds_child_run(ok_fn, &v, &e), 0);
        assert_int_equal(touched, 0); /* the child's memory is its own */
        assert_int_equal(ds_child_run(fail_fn, NULL, &e), -EINVAL);
        assert_int_equal(e.code, -EINVAL);
        assert_string_equal(e.field, "days");
        assert_string_equal(e.msg, "must be between 1 and 3650");
}

static void t_died(void **state)
{
        struct ds_err e = { 0 };

        (void)state;
        assert_int_equal(ds_child_run(die_fn, NULL, &e), -ECHILD);
        assert_non_null(strstr(e.msg, "signal 9"));
        assert_int_equal(ds_child_run(exit_fn, NULL, &e), -ECHILD);
        assert_non_null(strstr(e.msg, "without an answer"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_result),
                cmocka_unit_test(t_died),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
