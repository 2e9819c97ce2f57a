/* test_ntp.c - packet checks, on-wire arithmetic, clock filter, Marzullo selection */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ntp.h"
#include "timed.h"

static double fabs_(double v)
{
        return v < 0 ? -v : v;
}
#define fabs fabs_

#define COOKIE 0x1122334455667788ULL

static void put32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
        put32(p, (uint32_t)(v >> 32));
        put32(p + 4, (uint32_t)v);
}

/* A server reply: rec/xmt at unix time t2/t3 ns. */
static void reply(uint8_t *b, int stratum, int leap, const char *refid, uint64_t org, int64_t t2, int64_t t3)
{
        memset(b, 0, NTP_PKT_LEN);
        b[0] = (uint8_t)(leap << 6 | 4 << 3 | 4);
        b[1] = (uint8_t)stratum;
        b[3] = (uint8_t)(int8_t)-20;
        put32(b + 4, 0x00000100);  /* root delay ~3.9 ms */
        put32(b + 8, 0x00000080);  /* root disp ~1.9 ms */
        memcpy(b + 12, refid, 4);
        put64(b + 24, org);
        put64(b + 32, ntp_unix_ns_to_ts(t2));
        put64(b + 40, ntp_unix_ns_to_ts(t3));
}

static void t_request(void **st)
{
        uint8_t b[NTP_PKT_LEN];

        (void)st;
        ntp_request_build(b, COOKIE);
        assert_int_equal(b[0], 0x23); /* v4 client */
        assert_int_equal(b[40], 0x11);
        assert_int_equal(b[47], 0x88);
        for (int i = 1; i < 40; i++)
                assert_int_equal(b[i], 0);
}

static void t_verdicts(void **st)
{
        const int64_t t = 1750000000LL * 1000000000LL;
        uint8_t b[NTP_PKT_LEN];
        struct ntp_pkt p;

        (void)st;
        reply(b, 2, 0, "GPS\0", COOKIE, t, t);
        assert_int_equal(ntp_check(b, sizeof b, COOKIE, &p), NTP_OK);
        assert_int_equal(p.stratum, 2);
        assert_true(fabs(p.root_delay - 256 / 65536.0) < 1e-9);
        assert_int_equal(ntp_check(b, 47, COOKIE, &p), NTP_SHORT);
        assert_int_equal(ntp_check(b, 0, COOKIE, &p), NTP_SHORT);
        assert_int_equal(ntp_check(b, sizeof b, COOKIE + 1, &p), NTP_BAD_ORIGIN);
        assert_int_equal(ntp_check(b, sizeof b, 0, &p), NTP_BAD_ORIGIN); /* nothing outstanding: replay */
        /* one reply each: stratum, leap, refid, origin -> verdict */
        static const struct {
                int stratum, leap;
                const char *refid;
                uint64_t org;
                int want;
        } kinds[] = {
                { 2, 0, "GPS\0", COOKIE ^ 1, NTP_BAD_ORIGIN },
                { 0, 3, "RATE", COOKIE, NTP_KOD_RATE },
                { 0, 3, "DENY", COOKIE, NTP_KOD_DENY },
                { 0, 3, "RSTR", COOKIE, NTP_KOD_DENY },
                { 0, 0, "XXXX", COOKIE, NTP_KOD_OTHER },
                { 0, 3, "DENY", COOKIE + 5, NTP_BAD_ORIGIN }, /* a spoofed kiss (wrong origin) is not believed */
                { 16, 0, "XXXX", COOKIE, NTP_BAD_STRATUM },
                { 3, 3, "XXXX", COOKIE, NTP_UNSYNC },
        };
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
                reply(b, kinds[i].stratum, kinds[i].leap, kinds[i].refid, kinds[i].org, t, t);
                assert_int_equal(ntp_check(b, sizeof b, COOKIE, &p), kinds[i].want);
        }
        reply(b, 3, 0, "XXXX", COOKIE, t, t);
        memset(b + 40, 0, 8);
        assert_int_equal(ntp_check(b, sizeof b, COOKIE, &p), NTP_BAD_TIME);
        reply(b, 3, 0, "XXXX", COOKIE, t, t);
        b[0] = (uint8_t)(4 << 3 | 3); /* a client packet echoed back */
        assert_int_equal(ntp_check(b, sizeof b, COOKIE, &p), NTP_BAD_MODE);
        b[0] = (uint8_t)(7 << 3 | 4);
        assert_int_equal(ntp_check(b, sizeof b, COOKIE, &p), NTP_BAD_VERSION);
        for (int v = 0; v < NTP_N_VERDICTS; v++)
                assert_non_null(ntp_verdict_names[v]);
}

static void t_timestamps(void **st)
{
        int64_t ns = 1750000000LL * 1000000000LL + 123456789;

        (void)st;
        assert_true(llabs(ntp_ts_to_unix_ns(ntp_unix_ns_to_ts(ns), ns) - ns) <= 1);
        /* era 1 (after 2036) round-trips near a 2040 clock */
        ns = 2200000000LL * 1000000000LL;
        assert_true(llabs(ntp_ts_to_unix_ns(ntp_unix_ns_to_ts(ns), ns) - ns) <= 1);
}

static void t_onwire(void **st)
{
        const int64_t t1 = 1750000000LL * 1000000000LL;
        uint8_t b[NTP_PKT_LEN];
        struct ntp_sample s;
        struct ntp_pkt p;

        (void)st;
        /* server 30 s ahead; 10 ms out, 30 ms back, 1 ms inside the server */
        reply(b, 2, 0, "GPS\0", COOKIE, t1 + 30000000000LL + 10000000, t1 + 30000000000LL + 11000000);
        assert_int_equal(ntp_check(b, sizeof b, COOKIE, &p), NTP_OK);
        ntp_sample_compute(&p, t1, t1 + 41000000, 0, &s);
        assert_true(fabs(s.delay - 0.040) < 1e-6);
        /* asymmetry (30-10)/2 = 10 ms of error, no more */
        assert_true(fabs(s.offset - (30.0 - 0.010)) < 1e-6);
}

static void t_filter(void **st)
{
        struct ntp_filter f = { 0 };
        struct ntp_sample s, best;
        double jit, disp;

        (void)st;
        assert_int_equal(ntp_filter_best(&f, 0, &best, &jit, &disp), -ENOENT);
        for (int i = 0; i < 12; i++) {
                s = (struct ntp_sample){ .offset = 0.001 * i, .delay = 0.05 - 0.001 * (i % 5), .disp = 0.001 };
                ntp_filter_add(&f, &s);
        }
        assert_int_equal(f.n, NTP_FILTER);
        assert_int_equal(ntp_filter_best(&f, 1000000000LL, &best, &jit, &disp), 0);
        /* the least delay among the last 8 (i = 4..11): i = 9 (delay 0.046) after i = 4 tie order */
        assert_true(fabs(best.delay - 0.046) < 1e-9);
        assert_true(jit > 0);
        assert_true(disp > 0.001 && disp < 0.001 + 2 * NTP_PHI);
        /* offset: the mean of the 4 lowest-delay samples (i = 4 or 9, 8, 7 and the other of 4/9) */
        assert_true(fabs(best.offset - (0.004 + 0.009 + 0.008 + 0.007) / 4) < 1e-9);
        ntp_filter_shift(&f, 0.5);
        assert_int_equal(ntp_filter_best(&f, 0, &best, &jit, &disp), 0);
        assert_true(best.offset < -0.49);
}

static void t_filter_few(void **st)
{
        struct ntp_filter f = { 0 };
        struct ntp_sample s, best;
        double jit, disp;

        (void)st;
        /* under four samples: the least-delay one alone */
        s = (struct ntp_sample){ .offset = 0.010, .delay = 0.08 };
        ntp_filter_add(&f, &s);
        s = (struct ntp_sample){ .offset = -0.002, .delay = 0.05 };
        ntp_filter_add(&f, &s);
        assert_int_equal(ntp_filter_best(&f, 0, &best, &jit, &disp), 0);
        assert_true(fabs(best.offset + 0.002) < 1e-12);
        assert_true(fabs(jit - 0.012) < 1e-9);
}

static void t_select_falseticker(void **st)
{
        struct ntp_cand c[3] = { { 0.0001, 0.006 }, { 3600.0, 0.006 }, { -0.0002, 0.007 } };
        double off = 99;
        int best = -1;

        (void)st;
        assert_int_equal(ntp_select(c, 3, &off, &best), 2);
        assert_true(c[0].truechimer);
        assert_false(c[1].truechimer);
        assert_true(c[2].truechimer);
        assert_true(fabs(off) < 0.001);
        assert_int_equal(best, 0);
}

static void t_select_no_majority(void **st)
{
        struct ntp_cand two[2] = { { 0.0, 0.01 }, { 3600.0, 0.01 } };
        struct ntp_cand one[1] = { { 5.0, 0.01 } };
        double off = 0;
        int best;

        (void)st;
        assert_int_equal(ntp_select(two, 2, &off, &best), 0);
        assert_int_equal(ntp_select(one, 1, &off, &best), 1);
        assert_true(fabs(off - 5.0) < 1e-9);
        assert_int_equal(ntp_select(one, 0, &off, &best), 0);
}

static void t_select_weighting(void **st)
{
        struct ntp_cand c[2] = { { 0.010, 0.02 }, { 0.020, 0.04 } };
        double off;
        int best;

        (void)st;
        assert_int_equal(ntp_select(c, 2, &off, &best), 2);
        /* 1/rootdist weights: (0.010/0.02 + 0.020/0.04) / (1/0.02 + 1/0.04) */
        assert_true(fabs(off - (0.5 + 0.5) / 75.0) < 1e-9);
        assert_int_equal(best, 0);
}

static void t_root_distance(void **st)
{
        (void)st;
        assert_true(fabs(ntp_root_distance(0, 0, 0, 0, 0) - NTP_MINDISP / 2) < 1e-12);
        assert_true(fabs(ntp_root_distance(0.1, 0.05, 0.1, 0.01, 0.02) - (0.1 + 0.05 + 0.01 + 0.02)) < 1e-12);
}

static void t_hostport(void **st)
{
        static const struct {
                const char *in;
                int r;
                const char *host, *port; /* NULL: not looked at */
        } cases[] = {
                { "pool.ntp.org", 0, "pool.ntp.org", "123" },
                { "127.0.0.1:11123", 0, "127.0.0.1", "11123" },
                { "[::1]:11124", 0, "::1", "11124" },
                { "fe80::1", 0, "fe80::1", "123" },
                { "[::1]", 0, NULL, "123" },
                { "[::1", -EINVAL, NULL, NULL },
                { "[::1]x", -EINVAL, NULL, NULL },
                { ":123", -EINVAL, NULL, NULL },
                { "host:", -EINVAL, NULL, NULL },
                { "host:123456789", -EINVAL, NULL, NULL },
        };
        char h[64], p[8];

        (void)st;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                assert_int_equal(ntp_split_hostport(cases[i].in, h, sizeof h, p, sizeof p), cases[i].r);
                if (cases[i].host)
                        assert_string_equal(h, cases[i].host);
                if (cases[i].port)
                        assert_string_equal(p, cases[i].port);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_request),        cmocka_unit_test(t_verdicts),
                cmocka_unit_test(t_timestamps),     cmocka_unit_test(t_onwire),
                cmocka_unit_test(t_filter), cmocka_unit_test(t_filter_few),         cmocka_unit_test(t_select_falseticker),
                cmocka_unit_test(t_select_no_majority), cmocka_unit_test(t_select_weighting),
                cmocka_unit_test(t_root_distance), cmocka_unit_test(t_hostport),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
