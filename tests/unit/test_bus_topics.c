/* test_bus_topics - the topic authority table for operator subscriptions:
 * which rules a prefix covers, and what each topic needs */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "authz.h"
#include "broker/bus_acl.h"

static uint32_t bits(const char *a, const char *b)
{
        return (a ? ds_authz_bit(a, strlen(a)) : 0) | (b ? ds_authz_bit(b, strlen(b)) : 0);
}

static int check(const char *prefix, uint32_t have, char *missing, const char **rule)
{
        return bus_topic_sub_check(prefix, have, missing, 96, rule);
}

static void per_topic(void **state)
{
        uint32_t sec = bits("security", NULL), info = bits("system-info", NULL), acct = bits("account", NULL);

        (void)state;
        assert_true(bus_topic_allowed("log.security", sec));
        assert_false(bus_topic_allowed("log.security", info));
        assert_true(bus_topic_allowed("log.security.audit", sec));
        assert_false(bus_topic_allowed("log.security.audit", info));
        /* a sibling with the same letters is another log topic */
        assert_true(bus_topic_allowed("log.securityx", info));
        assert_true(bus_topic_allowed("log.storage", info));
        assert_true(bus_topic_allowed("log.storage", sec));
        assert_false(bus_topic_allowed("log.storage", acct));
        assert_true(bus_topic_allowed("auth.locked", acct));
        assert_true(bus_topic_allowed("auth.locked", sec));
        assert_false(bus_topic_allowed("auth.locked", info));
        assert_true(bus_topic_allowed("time.changed", info));
        assert_false(bus_topic_allowed("time.changed", sec));
        assert_false(bus_topic_allowed("authority.x", sec)); /* not under auth. */
        assert_true(bus_topic_allowed("authority.x", info));
        assert_false(bus_topic_allowed("demo", 0));
}

static void prefixes(void **state)
{
        char missing[96];
        const char *rule = NULL;
        uint32_t sec = bits("security", NULL), info = bits("system-info", NULL), both = sec | info;

        (void)state;
        /* everything: every rule */
        assert_int_equal(check("", both, missing, &rule), 0);
        assert_int_equal(check("", info, missing, &rule), -EPERM);
        assert_string_equal(missing, "'security'");
        assert_int_equal(check("", sec, missing, &rule), -EPERM);
        assert_string_equal(missing, "'system-info'");
        assert_string_equal(rule, "");
        /* log. covers log.security */
        assert_int_equal(check("log.", info, missing, &rule), -EPERM);
        assert_string_equal(rule, "log.security");
        assert_int_equal(check("log.", sec, missing, &rule), 0);
        assert_int_equal(check("log.security", sec, missing, &rule), 0);
        assert_int_equal(check("log.security.", sec, missing, &rule), 0);
        assert_int_equal(check("log.storage", info, missing, &rule), 0);
        assert_int_equal(check("log.storage", bits("account", NULL), missing, &rule), -EPERM);
        assert_string_equal(missing, "'system-info' or 'security'");
        /* "lo" could match log.* and lonely.x */
        assert_int_equal(check("lo", sec, missing, &rule), -EPERM);
        assert_int_equal(check("lo", both, missing, &rule), 0);
        assert_int_equal(check("auth.", bits("account", NULL), missing, &rule), 0);
        assert_int_equal(check("auth.", info, missing, &rule), -EPERM);
        assert_string_equal(missing, "'security' or 'account'");
        assert_int_equal(check("time.", info, missing, &rule), 0);
        assert_int_equal(check("time.", sec, missing, &rule), -EPERM);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(per_topic),
                cmocka_unit_test(prefixes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
