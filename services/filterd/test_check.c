/* test_check.c - filter.check decisions (the kernel's order), the self-lockout guard, bans */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "filterd.h"

#define NOW 1700000000000LL

static void add(struct fd_config *c, const char *s)
{
        struct fd_entry e;
        char why[128];

        assert_int_equal(fd_entry_parse(s, strlen(s), &e, why, sizeof why), 0);
        assert_int_equal(fd_list_add(&c->list, &e, 1, NULL), 0);
}

/* decision for "ip" and/or "mac" (NULL: absent) */
static struct fd_decision decide(const struct fd_config *c, const struct fd_bans *b, const char *ip, const char *mac)
{
        uint8_t fam = 0, a[16] = { 0 }, mfam, m[16];
        struct fd_decision d;

        if (ip)
                assert_int_equal(fd_addr_parse(ip, &fam, a), 0);
        if (mac)
                assert_int_equal(fd_addr_parse(mac, &mfam, m), 0);
        fd_check(c, b, NOW, fam, a, mac ? m : NULL, &d);
        return d;
}

static void test_decisions(void **state)
{
        struct fd_config c = { 0 };
        struct fd_decision d;

        (void)state;
        add(&c, "10.0.0.0/24");
        add(&c, "10.1.1.5-10.1.1.9");
        add(&c, "fd00::/64");
        add(&c, "02:00:00:00:00:01");

        d = decide(&c, NULL, "192.0.2.1", NULL);
        assert_true(d.accept);
        assert_string_equal(d.reason, "off");

        c.mode = FD_MODE_ALLOW;
        static const struct {
                const char *ip, *mac;
                bool accept;
                const char *reason, *matched;
        } allow[] = {
                { "10.0.0.200", NULL, true, "allow-list", "ip" },
                { "10.0.1.1", NULL, false, "not-listed", "" },
                { "10.1.1.5", NULL, true, "allow-list", "ip" },   /* range start */
                { "10.1.1.9", NULL, true, "allow-list", "ip" },   /* range end */
                { "10.1.1.10", NULL, false, "not-listed", "" },
                { "fd00::abcd", NULL, true, "allow-list", "ip" },
                { "fd01::1", NULL, false, "not-listed", "" },
                { "192.0.2.1", "02:00:00:00:00:01", true, "allow-list", "mac" },
                { NULL, "02:00:00:00:00:02", false, "not-listed", "" },
        };
        for (size_t i = 0; i < sizeof allow / sizeof *allow; i++) {
                d = decide(&c, NULL, allow[i].ip, allow[i].mac);
                if (d.accept != allow[i].accept || strcmp(d.reason, allow[i].reason) ||
                    strcmp(d.matched, allow[i].matched))
                        fail_msg("allow %s/%s: got %d %s %s", allow[i].ip, allow[i].mac, d.accept, d.reason, d.matched);
        }

        c.mode = FD_MODE_DENY;
        d = decide(&c, NULL, "10.0.0.1", NULL);
        assert_false(d.accept);
        assert_string_equal(d.reason, "deny-list");
        d = decide(&c, NULL, "10.0.1.1", NULL);
        assert_true(d.accept);
        assert_string_equal(d.reason, "not-denied");
        d = decide(&c, NULL, "192.0.2.1", "02:00:00:00:00:01");
        assert_false(d.accept);
        assert_string_equal(d.matched, "mac");
        fd_config_free(&c);
}

static void test_bans_first(void **state)
{
        struct fd_config c = { .mode = FD_MODE_ALLOW };
        struct fd_bans b = { 0 };
        uint8_t fam, a[16];
        struct fd_decision d;

        (void)state;
        add(&c, "10.0.0.0/24");
        assert_int_equal(fd_addr_parse("10.0.0.9", &fam, a), 0);
        assert_int_equal(fd_bans_add(&b, fam, a, NOW + 1000), 1);
        d = decide(&c, &b, "10.0.0.9", NULL);
        assert_false(d.accept); /* banned even though listed */
        assert_string_equal(d.reason, "banned");
        /* an update extends rather than duplicates; an expired ban no longer counts */
        assert_int_equal(fd_bans_add(&b, fam, a, NOW - 1), 0);
        assert_int_equal(b.n, 1);
        d = decide(&c, &b, "10.0.0.9", NULL);
        assert_true(d.accept);
        assert_int_equal(fd_bans_prune(&b, NOW), 1);
        assert_int_equal(b.n, 0);
        assert_int_equal(fd_bans_del(&b, fam, a), -ENOENT);
        assert_int_equal(fd_bans_add(&b, FD_MAC, a, NOW + 1000), -EINVAL);
        fd_bans_free(&b);
        fd_config_free(&c);
}

static void test_bans_persist(void **state)
{
        struct fd_bans b = { 0 }, back = { 0 };
        uint8_t fam, a[16];
        msgpack_unpacked u;
        const char *why;
        struct mpw w;

        (void)state;
        assert_int_equal(fd_addr_parse("fd99:70::10a", &fam, a), 0);
        fd_bans_add(&b, fam, a, NOW + 60000);
        assert_int_equal(fd_addr_parse("10.99.70.70", &fam, a), 0);
        fd_bans_add(&b, fam, a, NOW - 5); /* expired: not written */
        mpw_init(&w);
        fd_bans_write(&b, &w, NOW);
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why), 0);
        assert_int_equal(fd_bans_read(&u.data, &back, NOW), 0);
        assert_int_equal(back.n, 1);
        assert_string_equal(back.v[0].text, "fd99:70::10a");
        assert_int_equal(back.v[0].until_ms, NOW + 60000);
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
        fd_bans_free(&b);
        fd_bans_free(&back);
}

static void test_guard(void **state)
{
        struct fd_config c = { .mode = FD_MODE_ALLOW };
        char why[384];

        (void)state;
        add(&c, "10.0.0.0/24");
        add(&c, "02:00:00:00:00:01");
        /* the operator's own source listed: fine */
        assert_int_equal(fd_guard(&c, "10.0.0.7", "", why, sizeof why), 0);
        /* source known but not listed, and no management address listed */
        assert_int_equal(fd_guard(&c, "192.0.2.1", "198.51.100.1", why, sizeof why), -EPERM);
        assert_non_null(strstr(why, "192.0.2.1"));
        assert_non_null(strstr(why, "lock you out"));
        /* a listed management address satisfies it */
        assert_int_equal(fd_guard(&c, "192.0.2.1", "198.51.100.1, 10.0.0.1", why, sizeof why), 0);
        /* unknown source ("local", "") and no management address: refused */
        assert_int_equal(fd_guard(&c, "local", "", why, sizeof why), -EPERM);
        assert_int_equal(fd_guard(&c, "", "", why, sizeof why), -EPERM);
        assert_non_null(strstr(why, "management"));
        assert_int_equal(fd_guard(&c, "", "10.0.0.200", why, sizeof why), 0);
        /* a MAC source never counts as an IP source */
        assert_int_equal(fd_guard(&c, "02:00:00:00:00:01", "", why, sizeof why), -EPERM);
        /* deny: an entry covering the operator or a management address is refused */
        c.mode = FD_MODE_DENY;
        assert_int_equal(fd_guard(&c, "", "", why, sizeof why), 0);
        assert_int_equal(fd_guard(&c, "192.0.2.1", "198.51.100.1", why, sizeof why), 0);
        assert_int_equal(fd_guard(&c, "10.0.0.7", "", why, sizeof why), -EPERM);
        assert_non_null(strstr(why, "'10.0.0.0/24' covers your source 10.0.0.7"));
        assert_int_equal(fd_guard(&c, "", "198.51.100.1, 10.0.0.9", why, sizeof why), -EPERM);
        assert_non_null(strstr(why, "covers the management address 10.0.0.9"));
        add(&c, "0.0.0.0/0");
        assert_int_equal(fd_guard(&c, "", "198.51.100.1", why, sizeof why), -EPERM);
        assert_non_null(strstr(why, "'0.0.0.0/0'"));
        /* off never locks anybody out by the list */
        c.mode = FD_MODE_OFF;
        assert_int_equal(fd_guard(&c, "", "", why, sizeof why), 0);
        fd_config_free(&c);

        assert_int_equal(fd_management_check("10.0.0.1, fd00::1 192.0.2.9", why, sizeof why), 0);
        assert_int_equal(fd_management_check("", why, sizeof why), 0);
        assert_int_equal(fd_management_check("10.0.0.1,10.0.0.0/24", why, sizeof why), -EINVAL);
        assert_non_null(strstr(why, "'10.0.0.0/24'"));
        assert_int_equal(fd_management_check("02:00:00:00:00:01", why, sizeof why), -EINVAL);
}

static void test_management_has(void **state)
{
        uint8_t fam, a[16];

        (void)state;
        assert_int_equal(fd_addr_parse("10.0.0.9", &fam, a), 0);
        assert_true(fd_management_has("198.51.100.1, 10.0.0.9", fam, a));
        assert_false(fd_management_has("10.0.0.90", fam, a));
        assert_false(fd_management_has("", fam, a));
        assert_int_equal(fd_addr_parse("fd00::1", &fam, a), 0);
        assert_true(fd_management_has("10.0.0.9 FD00:0::1", fam, a));
}

static void test_modes(void **state)
{
        enum fd_mode m;

        (void)state;
        assert_int_equal(fd_mode_parse("allow", &m), 0);
        assert_int_equal(m, FD_MODE_ALLOW);
        assert_int_equal(fd_mode_parse("deny", &m), 0);
        assert_int_equal(m, FD_MODE_DENY);
        assert_int_equal(fd_mode_parse("Allow", &m), -EINVAL);
}

static void test_tables(void **state)
{
        struct ds_err e;

        (void)state;
        ds_err_clear(&e);
        if (ds_methods_selftest(filterd_methods, &e) < 0)
                fail_msg("method table: %s: %s", e.field, e.msg);
        if (ds_schema_selftest(filterd_settings, &e) < 0)
                fail_msg("settings: %s: %s", e.field, e.msg);
        for (const struct ds_audit_item *it = filterd_audit; it->id; it++)
                assert_non_null(it->check);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_decisions),    cmocka_unit_test(test_bans_first),
                cmocka_unit_test(test_bans_persist), cmocka_unit_test(test_guard),
                cmocka_unit_test(test_management_has),
                cmocka_unit_test(test_modes),        cmocka_unit_test(test_tables),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
