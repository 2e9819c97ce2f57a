/* test_judge.c - listener judgement (functions, ports, well-known defaults,
 * the allow list, ephemeral UDP), allow-list parsing, loopback detection, the
 * UPnP verdicts and the child's answer (write, read back, hostile input) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "exposured.h"

static void net_default(struct exp_net *n)
{
        static const struct exp_port ports[] = {
                { "tcp", EXP_TCP, 37777, 37777 }, { "udp", EXP_UDP, 37778, 37778 }, { "http", EXP_TCP, 80, 80 },
                { "https", EXP_TCP, 8443, 443 },  { "rtsp", EXP_TCP, 554, 554 },     { "ssh", EXP_TCP, 2222, 22 },
                { "snmp", EXP_UDP, 161, 161 },
        };
        memset(n, 0, sizeof *n);
        memcpy(n->ports, ports, sizeof ports);
        n->n_ports = sizeof ports / sizeof ports[0];
        snprintf(n->fns[0].name, sizeof n->fns[0].name, "https");
        n->fns[0].enabled = true;
        snprintf(n->fns[1].name, sizeof n->fns[1].name, "ssh");
        n->fns[1].enabled = false;
        snprintf(n->fns[2].name, sizeof n->fns[2].name, "bonjour");
        n->fns[2].enabled = false;
        n->n_fns = 3;
        n->ports_known = n->fns_known = true;
}

static struct exp_listener *add(struct exp_listeners *l, enum exp_proto p, const char *addr, int port)
{
        struct exp_listener *e = &l->v[l->n++];

        memset(e, 0, sizeof *e);
        e->proto = p;
        e->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
        snprintf(e->addr, sizeof e->addr, "%s", addr);
        e->port = (uint16_t)port;
        snprintf(e->user, sizeof e->user, "root");
        return e;
}

static void test_judge_rules(void **state)
{
        static struct exp_listeners l;
        struct exp_net n;
        struct exp_rules r = { .ignore_ephemeral_udp = true, .eph_lo = 32768, .eph_hi = 60999 };
        const char *why;

        (void)state;
        net_default(&n);
        assert_int_equal(exp_allow_parse("udp/5353@bonjour", &r.allow[r.n_allow++], &why), 0);
        assert_int_equal(exp_allow_parse("udp/68", &r.allow[r.n_allow++], &why), 0);
        l.n = 0;
        struct exp_listener *https = add(&l, EXP_TCP, "0.0.0.0", 8443);
        struct exp_listener *sdk = add(&l, EXP_TCP, "10.0.0.2", 37777);
        struct exp_listener *ssh = add(&l, EXP_TCP, "::", 2222);
        struct exp_listener *old = add(&l, EXP_TCP, "10.0.0.2", 443);
        struct exp_listener *oldssh = add(&l, EXP_TCP, "10.0.0.2", 22);
        struct exp_listener *stray = add(&l, EXP_TCP, "10.0.0.2", 24201);
        struct exp_listener *udp_stray = add(&l, EXP_UDP, "10.0.0.2", 24201);
        struct exp_listener *mdns = add(&l, EXP_UDP, "0.0.0.0", 5353);
        struct exp_listener *dhcp = add(&l, EXP_UDP, "0.0.0.0", 68);
        struct exp_listener *eph = add(&l, EXP_UDP, "0.0.0.0", 40000);
        struct exp_listener *tcp_eph = add(&l, EXP_TCP, "0.0.0.0", 40000);
        struct exp_listener *snmp_tcp = add(&l, EXP_TCP, "0.0.0.0", 161);

        assert_int_equal(exp_judge(&l, &n, &r), 8);
        assert_int_equal(https->verdict, EXP_OK);
        assert_string_equal(https->owner, "https");
        assert_int_equal(sdk->verdict, EXP_OK); /* the SDK port has no switch */
        assert_string_equal(sdk->owner, "tcp");
        assert_int_equal(ssh->verdict, EXP_BAD);
        assert_non_null(strstr(ssh->why, "function 'ssh' is disabled"));
        assert_int_equal(old->verdict, EXP_BAD);
        assert_string_equal(old->why, "tcp/443 is the well-known https port, moved to 8443");
        assert_int_equal(oldssh->verdict, EXP_BAD);
        assert_non_null(strstr(oldssh->why, "well-known ssh port, moved to 2222"));
        assert_int_equal(stray->verdict, EXP_BAD);
        assert_string_equal(stray->why, "no enabled function owns tcp/24201");
        assert_int_equal(udp_stray->verdict, EXP_BAD);
        assert_int_equal(mdns->verdict, EXP_BAD); /* allowed only while bonjour is on */
        assert_non_null(strstr(mdns->why, "'bonjour'"));
        assert_int_equal(dhcp->verdict, EXP_OK);
        assert_int_equal(eph->verdict, EXP_CLIENT);
        assert_int_equal(tcp_eph->verdict, EXP_BAD); /* a TCP listener is never a client */
        assert_int_equal(snmp_tcp->verdict, EXP_BAD); /* SNMP is UDP: the protocol counts */

        /* function changes turn verdicts */
        n.fns[1].enabled = true;
        n.fns[2].enabled = true;
        r.ignore_ephemeral_udp = false;
        assert_int_equal(exp_judge(&l, &n, &r), 7);
        assert_int_equal(ssh->verdict, EXP_OK);
        assert_int_equal(mdns->verdict, EXP_OK);
        assert_int_equal(eph->verdict, EXP_BAD);

        char sum[256];
        exp_judge_summary(&l, sum, sizeof sum);
        assert_non_null(strstr(sum, "tcp 443 on 10.0.0.2 (user root): tcp/443 is the well-known"));
        exp_judge_summary(&l, sum, 20); /* truncation stays in bounds */
        assert_true(strlen(sum) < 20);
}

static void test_allow_parse(void **state)
{
        struct exp_allow a;
        const char *why = NULL;

        (void)state;
        assert_int_equal(exp_allow_parse("tcp/8000", &a, &why), 0);
        assert_int_equal(a.proto, EXP_TCP);
        assert_int_equal(a.port, 8000);
        assert_string_equal(a.fn, "");
        assert_int_equal(exp_allow_parse("UDP/1900@upnp", &a, &why), 0);
        assert_int_equal(a.proto, EXP_UDP);
        assert_string_equal(a.fn, "upnp");
        static const char *const bad[] = { "", "tcp", "tcp/", "tcp/0", "tcp/65536", "sctp/80", "tcp/80x", "tcp/80@",
                                           "tcp/80@a b", "tcp/-1", "/80", NULL };
        for (size_t i = 0; bad[i]; i++) {
                why = NULL;
                assert_int_equal(exp_allow_parse(bad[i], &a, &why), -EINVAL);
                assert_non_null(why);
        }
}

static void test_loopback(void **state)
{
        (void)state;
        assert_true(exp_addr_is_loopback("127.0.0.1"));
        assert_true(exp_addr_is_loopback("127.255.0.9"));
        assert_true(exp_addr_is_loopback("::1"));
        assert_true(exp_addr_is_loopback("::ffff:127.0.0.1"));
        assert_false(exp_addr_is_loopback("0.0.0.0"));
        assert_false(exp_addr_is_loopback("::"));
        assert_false(exp_addr_is_loopback("10.242.7.1"));
        assert_false(exp_addr_is_loopback("::ffff:10.0.0.1"));
        assert_false(exp_addr_is_loopback("fd42:242::1"));
        assert_false(exp_addr_is_loopback("garbage"));
}

static void test_igd_judge_roundtrip(void **state)
{
        static struct exp_igd g, back;
        struct mpw w;
        msgpack_unpacked u;
        const char *why;

        (void)state;
        memset(&g, 0, sizeof g);
        g.state = EXP_IGD_FOUND;
        snprintf(g.ext_addr, sizeof g.ext_addr, "1.2.3.4");
        snprintf(g.status, sizeof g.status, "Connected");
        g.connected = true;
        g.n_total = 3;
        g.maps[0] = (struct exp_mapping){ .proto = EXP_TCP, .ext_port = 10554, .int_port = 554, .client = "192.168.77.2",
                                          .desc = "test\x01" };
        g.maps[1] = (struct exp_mapping){ .proto = EXP_TCP, .ext_port = 443, .int_port = 8443, .client = "192.168.77.2" };
        g.maps[2] = (struct exp_mapping){ .proto = EXP_UDP, .ext_port = 8443, .int_port = 8443, .client = "192.168.77.2" };
        g.n_maps = 3;
        assert_int_equal(exp_igd_judge(&g, 8443), 2);
        assert_true(g.maps[0].bad);
        assert_string_equal(g.maps[0].why, "tcp 10554 -> 192.168.77.2:554, not the HTTPS port (tcp 8443)");
        assert_false(g.maps[1].bad);
        assert_true(g.maps[2].bad); /* UDP to the HTTPS number is not HTTPS */

        mpw_init(&w);
        exp_igd_write(&g, &w);
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why), 0);
        assert_int_equal(exp_igd_read(&u.data, &back), 0);
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
        assert_int_equal(back.state, EXP_IGD_FOUND);
        assert_string_equal(back.ext_addr, "1.2.3.4");
        assert_int_equal(back.n_maps, 3);
        assert_int_equal(back.n_total, 3);
        assert_int_equal(back.maps[0].ext_port, 10554);
        assert_string_equal(back.maps[0].desc, "test?"); /* a router's control bytes are not printed */
        assert_int_equal(back.maps[2].proto, EXP_UDP);
}

static void test_igd_read_hostile(void **state)
{
        static struct exp_igd g;
        struct mpw w;
        msgpack_unpacked u;
        const char *why;
        char big[600];

        (void)state;
        assert_int_equal(exp_igd_read(NULL, &g), -EBADMSG);
        memset(big, 'A', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "state", "found");
        mpw_kv_str(&w, "external_addr", big);
        mpw_kv_int(&w, "reason", 5); /* mistyped: ignored */
        mpw_str(&w, "mappings");
        mpw_arr_begin(&w);
        for (int i = 0; i < EXP_MAP_MAX + 5; i++) {
                mpw_map_begin(&w);
                mpw_kv_str(&w, "proto", i % 2 ? "TCP" : "bogus");
                mpw_kv_int(&w, "external_port", i);
                mpw_map_end(&w);
        }
        mpw_arr_end(&w);
        mpw_map_end(&w);
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why), 0);
        assert_int_equal(exp_igd_read(&u.data, &g), 0);
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
        assert_int_equal(strlen(g.ext_addr), sizeof g.ext_addr - 1);
        assert_string_equal(g.reason, "");
        assert_true(g.n_maps <= EXP_MAP_MAX);
        for (size_t i = 0; i < g.n_maps; i++)
                assert_int_equal(g.maps[i].proto, EXP_TCP);
}

static void test_tables(void **state)
{
        struct ds_err e = { 0 };

        (void)state;
        assert_int_equal(ds_schema_selftest(exp_settings, &e), 0);
        assert_int_equal(ds_methods_selftest(exp_methods, &e), 0);
        assert_string_equal(exp_audit[0].id, "net.listen");
        assert_int_equal(exp_audit[0].level, 1);
        assert_string_equal(exp_audit[1].id, "net.exposure.upnp");
        assert_int_equal(exp_audit[1].level, 1);
        assert_string_equal(exp_port_function("http"), "https");
        assert_null(exp_port_function("rtsp"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_judge_rules),         cmocka_unit_test(test_allow_parse),
                cmocka_unit_test(test_loopback),            cmocka_unit_test(test_igd_judge_roundtrip),
                cmocka_unit_test(test_igd_read_hostile),    cmocka_unit_test(test_tables),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
