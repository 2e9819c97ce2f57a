/* test_authz - method authorities: markers, single authorities, '+' sets, and the dispatcher's check */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bus.h"

static void masks(void **state)
{
        uint32_t m = 1;

        (void)state;
        assert_int_equal(ds_authz_mask(AUTH_PUBLIC, &m), 0);
        assert_int_equal(m, 0);
        assert_int_equal(ds_authz_mask("account", &m), 0);
        assert_int_equal(m, ds_authz_bit("account", 7));
        assert_int_equal(ds_authz_mask(AUTH_NEEDS2(ACCOUNT, SECURITY), &m), 0);
        assert_int_equal(m, ds_authz_bit("account", 7) | ds_authz_bit("security", 8));
        assert_true(ds_authz_valid("network+security+account"));
        /* malformed sets are refused, not read as their valid part */
        assert_int_equal(ds_authz_mask("account+", &m), -EINVAL);
        assert_int_equal(ds_authz_mask("+account", &m), -EINVAL);
        assert_int_equal(ds_authz_mask("account++security", &m), -EINVAL);
        assert_int_equal(ds_authz_mask("account+account", &m), -EINVAL);
        assert_int_equal(ds_authz_mask("account+nosuch", &m), -EINVAL);
        assert_int_equal(ds_authz_mask("public+account", &m), -EINVAL);
        assert_int_equal(ds_authz_mask("", &m), -EINVAL);
        assert_false(ds_authz_valid(NULL));
}

static void caller_needs_every_authority(void **state)
{
        struct ds_caller c = { .user = "eve", .group = "operator" };
        const char *both = AUTH_NEEDS2(ACCOUNT, SECURITY);

        (void)state;
        c.authz = ds_authz_bit("account", 7);
        assert_false(ds_caller_allowed(&c, both));
        assert_true(ds_caller_allowed(&c, AUTH_NEEDS(ACCOUNT)));
        c.authz = ds_authz_bit("security", 8);
        assert_false(ds_caller_allowed(&c, both));
        c.authz |= ds_authz_bit("account", 7);
        assert_true(ds_caller_allowed(&c, both));
        assert_false(ds_caller_allowed(&c, "account+bogus"));
        /* no session: only public */
        c.user[0] = '\0';
        assert_false(ds_caller_allowed(&c, AUTH_SESSION));
        assert_true(ds_caller_allowed(&c, AUTH_PUBLIC));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(masks),
                cmocka_unit_test(caller_needs_every_authority),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
