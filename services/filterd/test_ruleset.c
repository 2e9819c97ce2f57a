/* test_ruleset.c - the rendered transaction: whole-table replacement, sets, rules per mode, caps, bans, counters, ports */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "filterd.h"

#define NOW 1700000000000LL
#define MP(s) s, sizeof(s) - 1

static void add(struct fd_config *c, const char *s)
{
        struct fd_entry e;
        char why[128];

        assert_int_equal(fd_entry_parse(s, strlen(s), &e, why, sizeof why), 0);
        assert_int_equal(fd_list_add(&c->list, &e, 1, NULL), 0);
}

static char *render(const struct fd_config *c, const struct fd_ports *p, const struct fd_bans *b,
                    const struct fd_counters *cnt)
{
        char *t = NULL;
        size_t len;

        assert_int_equal(fd_ruleset_render(c, p, b, cnt, NOW, &t, &len), 0);
        assert_non_null(t);
        assert_int_equal(strlen(t), len);
        return t ? t : strdup("");
}

static void has(const char *t, const char *s)
{
        assert_non_null(t);
        if (!strstr(t, s))
                fail_msg("ruleset lacks '%s':\n%s", s, t);
}

static void lacks(const char *t, const char *s)
{
        assert_non_null(t);
        if (strstr(t, s))
                fail_msg("ruleset has '%s':\n%s", s, t);
}

static void test_one_transaction(void **state)
{
        struct fd_config c = { 0 };
        struct fd_ports p;
        char *t;

        (void)state;
        fd_ports_default(&p);
        t = render(&c, &p, NULL, NULL);
        /* the table is created (so that delete cannot fail), deleted and defined, in one buffer */
        assert_int_equal(strncmp(t, "add table inet devsec\ndelete table inet devsec\ntable inet devsec {\n", 66), 0);
        assert_null(strstr(t + 10, "add table")); /* exactly one table */
        has(t, "type filter hook input priority filter; policy accept;");
        has(t, "iif \"lo\" accept");
        has(t, "ct state established,related accept");
        /* loopback and established come before any drop of the list */
        assert_true(strstr(t, "ct state established") < strstr(t, "ct count") || !strstr(t, "ct count"));
        has(t, "elements = { tcp . 37777, udp . 37778, tcp . 80, tcp . 443, tcp . 554, tcp . 38800");
        /* mode off: no list rules, empty sets without elements */
        lacks(t, "@list4");
        lacks(t, "elements = { }");
        lacks(t, "ct count");
        free(t);
}

static void test_allow_and_deny(void **state)
{
        struct fd_config c = { .mode = FD_MODE_ALLOW };
        struct fd_ports p;
        char *t;

        (void)state;
        fd_ports_default(&p);
        add(&c, "10.0.0.0/24");
        add(&c, "10.0.0.7");
        add(&c, "10.0.2.0-10.0.2.9");
        add(&c, "fd00::/64");
        add(&c, "02:00:00:00:00:01");
        t = render(&c, &p, NULL, NULL);
        has(t, "set list4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.0.0.0/24, 10.0.2.0-10.0.2.9 }");
        has(t, "set list6 {\n\t\ttype ipv6_addr\n\t\tflags interval\n\t\telements = { fd00::/64 }");
        has(t, "set listmac {\n\t\ttype ether_addr\n\t\telements = { 02:00:00:00:00:01 }");
        has(t, "meta l4proto . th dport @svc ip saddr @list4 accept");
        has(t, "meta l4proto . th dport @svc ip6 saddr @list6 accept");
        has(t, "meta l4proto . th dport @svc ether saddr @listmac accept");
        has(t, "meta l4proto . th dport @svc counter name \"drop_unlisted\" drop");
        /* the catch-all drop comes after every accept */
        assert_true(strstr(t, "@listmac accept") < strstr(t, "\"drop_unlisted\" drop"));
        free(t);

        c.mode = FD_MODE_DENY;
        t = render(&c, &p, NULL, NULL);
        has(t, "meta l4proto . th dport @svc ip saddr @list4 counter name \"drop_list4\" drop");
        has(t, "meta l4proto . th dport @svc ip6 saddr @list6 counter name \"drop_list6\" drop");
        has(t, "meta l4proto . th dport @svc ether saddr @listmac counter name \"drop_listmac\" drop");
        lacks(t, "@list4 accept");
        lacks(t, "@listmac accept");
        lacks(t, "drop_unlisted\" drop");
        free(t);
        fd_config_free(&c);
}

static void test_caps_and_ports(void **state)
{
        static const char ev[] = "\x82\xa5ports\x94"
                                 "\x83\xa4name\xa4http\xa5proto\xa3tcp\xa4port\xcd\x1f\x90"  /* 8080 */
                                 "\x83\xa4name\xa5onvif\xa5proto\xa3tcp\xa4port\xcd\x1f\x90" /* same port */
                                 "\x83\xa4name\xa3snm\xa5proto\xa3udp\xa4port\xcc\xa1"      /* 161 */
                                 "\x83\xa4name\xa3off\xa5proto\xa3tcp\xa4port\x00"          /* 0: not listening */
                                 "\xafmax_connections\x03";
        struct fd_config c = { 0 };
        msgpack_unpacked u;
        struct fd_ports p;
        struct ds_err e;
        const char *why;
        char *t;

        (void)state;
        assert_int_equal(mp_decode(ev, sizeof ev - 1, NULL, &u, &why), 0);
        assert_int_equal(fd_ports_read(&u.data, &p, &e), 0);
        msgpack_unpacked_destroy(&u);
        assert_int_equal(p.n, 3);
        assert_int_equal(p.max_connections, 3);
        assert_true(p.from_netcfgd);
        t = render(&c, &p, NULL, NULL);
        has(t, "elements = { tcp . 8080, udp . 161 }");
        has(t, "tcp dport 8080 ct count over 3 counter name \"drop_cap\" reject with tcp reset\n");
        has(t, "udp dport 161 ct count over 3 counter name \"drop_cap\" drop\n");
        /* one cap rule per port even when two services share it */
        assert_null(strstr(strstr(t, "tcp dport 8080 ct count") + 1, "tcp dport 8080 ct count"));
        free(t);
}

static void test_ports_errors_named(void **state)
{
        static const struct {
                const char *mp;
                size_t len;
                const char *field;
        } bad[] = {
                { MP("\x81\xa5ports\xa1x"), "ports" },
                { MP("\x81\xa5ports\x91\x82\xa5proto\xa4icmp\xa4port\x01"), "ports[0]" },
                { MP("\x81\xa5ports\x91\x82\xa5proto\xa3tcp\xa4port\xce\x00\x01\x86\xa0"), "ports[0]" },
                { MP("\x82\xa5ports\x90\xafmax_connections\xff"), "max_connections" },
        };

        (void)state;
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                msgpack_unpacked u;
                struct fd_ports p;
                struct ds_err e;
                const char *why;

                ds_err_clear(&e);
                if (mp_decode(bad[i].mp, bad[i].len, NULL, &u, &why) != 0)
                        fail_msg("case %zu: %s", i, why);
                assert_int_equal(fd_ports_read(&u.data, &p, &e), -EINVAL);
                assert_string_equal(e.field, bad[i].field);
                msgpack_unpacked_destroy(&u);
        }
}

static void test_bans_and_counters(void **state)
{
        struct fd_config c = { 0 };
        struct fd_bans b = { 0 };
        struct fd_counters cnt = { .valid = true }, back;
        struct fd_ports p;
        uint8_t a4[16] = { 10, 99, 70, 70 }, a6[16] = { 0xfd, 0x99, 0, 0x70 };
        char *t;

        (void)state;
        fd_ports_default(&p);
        a6[15] = 1;
        assert_int_equal(fd_bans_add(&b, FD_V4, a4, NOW + 30000), 1);
        assert_int_equal(fd_bans_add(&b, FD_V6, a6, NOW + 500), 1);
        cnt.packets[FD_CNT_BAN4] = 5;
        cnt.bytes[FD_CNT_BAN4] = 300;
        t = render(&c, &p, &b, &cnt);
        has(t, "elements = { 10.99.70.70 timeout 30000ms }");
        has(t, "elements = { fd99:70::1 timeout 1000ms }"); /* at least a second */
        has(t, "ip saddr @ban4 counter name \"drop_ban4\" drop");
        has(t, "counter drop_ban4 { packets 5 bytes 300 }");
        /* the bans come before established/related: a ban also cuts what is open */
        assert_true(strstr(t, "@ban4 counter") < strstr(t, "ct state established"));
        free(t);
        fd_bans_free(&b);

        assert_int_equal(fd_counters_parse("table inet devsec {\n\tcounter drop_ban4 {\n\t\tpackets 7 bytes 420\n\t}\n"
                                           "\tcounter drop_cap {\n\t\tpackets 2 bytes 120\n\t}\n}\n",
                                           &back),
                         0);
        assert_int_equal(back.packets[FD_CNT_BAN4], 7);
        assert_int_equal(back.bytes[FD_CNT_BAN4], 420);
        assert_int_equal(back.packets[FD_CNT_CAP], 2);
        assert_int_equal(fd_counters_parse("table inet devsec {\n}\n", &back), -ENOENT);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_one_transaction), cmocka_unit_test(test_allow_and_deny),
                cmocka_unit_test(test_caps_and_ports),  cmocka_unit_test(test_ports_errors_named),
                cmocka_unit_test(test_bans_and_counters),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
