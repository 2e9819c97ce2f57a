/* test_acl - bus ACL matching: deny by default, globs, restricted topics, file errors */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "broker/bus_acl.h"

static char path[64];

static bus_acl_t *load(const char *text, struct ds_err *e, int *ret)
{
        bus_acl_t *acl = bus_acl_new();
        FILE *f;

        snprintf(path, sizeof path, "/tmp/ds-acl.%d.acl", (int)getpid());
        f = fopen(path, "w");
        fputs(text, f);
        fclose(f);
        ds_err_clear(e);
        *ret = bus_acl_load_file(acl, path, e);
        unlink(path);
        return acl;
}

static const char *const good =
        "restricted_topics = [ \"auth.reset.code\" ];\n"
        "devctl = { operator = true; call = [ \"*\" ]; subscribe = [ \"*\" ]; };\n"
        "authd = { serve = [ \"authd\" ]; call = [ \"bus.*\" ]; publish = [ \"auth.*\", \"log.*\" ]; };\n"
        "netcfgd = { serve = [ \"netcfgd\" ]; call = [ \"bus.disable\", \"bus.enable\" ]; subscribe = [ \"auth.*\" ]; };\n"
        "smtp-notifier = { serve = [ \"smtp-notifier\" ]; subscribe = [ \"auth.reset.code\", \"auth.locked\" ]; };\n";

static void decisions(void **state)
{
        struct ds_err e;
        int r;
        bus_acl_t *acl = load(good, &e, &r);

        (void)state;
        assert_int_equal(r, 0);
        assert_true(bus_acl_operator(acl, "devctl"));
        assert_false(bus_acl_operator(acl, "authd"));
        assert_true(bus_acl_may_serve(acl, "authd", "authd"));
        assert_false(bus_acl_may_serve(acl, "authd", "netcfgd"));
        assert_false(bus_acl_may_serve(acl, "stranger", "authd"));
        assert_true(bus_acl_may_call(acl, "netcfgd", "bus.disable"));
        assert_false(bus_acl_may_call(acl, "netcfgd", "authd.user.add"));
        assert_true(bus_acl_may_call(acl, "authd", "bus.services"));
        assert_true(bus_acl_may_publish(acl, "authd", "auth.locked"));
        assert_false(bus_acl_may_publish(acl, "netcfgd", "auth.locked"));
        /* restricted: only who names it receives it, "*" and "auth.*" do not count */
        assert_true(bus_acl_may_receive(acl, "smtp-notifier", "auth.reset.code"));
        assert_false(bus_acl_may_receive(acl, "devctl", "auth.reset.code"));
        assert_false(bus_acl_may_receive(acl, "netcfgd", "auth.reset.code"));
        assert_true(bus_acl_may_receive(acl, "netcfgd", "auth.locked"));
        assert_true(bus_acl_may_receive(acl, "devctl", "log.security"));
        assert_false(bus_acl_may_receive(acl, "authd", "log.security")); /* no subscribe list */
        assert_true(bus_acl_may_subscribe(acl, "netcfgd", "auth."));
        assert_false(bus_acl_may_subscribe(acl, "netcfgd", "log."));
        bus_acl_destroy(&acl);
        assert_null(acl);
}

static void errors_name_file_and_line(void **state)
{
        struct ds_err e;
        int r;
        bus_acl_t *acl;

        (void)state;
        acl = load("x = { call = [ \"*\" ]; cal = [ ]; };\n", &e, &r);
        assert_int_equal(r, -EINVAL);
        assert_non_null(strstr(e.msg, ":1: unknown key 'cal'"));
        bus_acl_destroy(&acl);
        acl = load("x = { call = \"*\"; };\n", &e, &r);
        assert_int_equal(r, -EINVAL);
        assert_non_null(strstr(e.msg, "must be a list"));
        bus_acl_destroy(&acl);
        acl = load("x = { };\nx = { };\n", &e, &r);
        assert_int_equal(r, -EINVAL);
        bus_acl_destroy(&acl);
        acl = load("x = { call = [ 1 ]; };\n", &e, &r);
        assert_int_equal(r, -EINVAL);
        bus_acl_destroy(&acl);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(decisions),
                cmocka_unit_test(errors_name_file_and_line),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
