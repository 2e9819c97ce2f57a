/* test_entries.c - entry parsing (each bad form named), CIDR/range normalisation, the list, merging */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "filterd.h"

static struct fd_entry parse_ok(const char *s)
{
        struct fd_entry e;
        char why[128] = "";

        if (fd_entry_parse(s, strlen(s), &e, why, sizeof why) != 0)
                fail_msg("'%s' refused: %s", s, why);
        return e;
}

static void parse_bad(const char *s, const char *want_why)
{
        struct fd_entry e;
        char why[128] = "";

        assert_int_equal(fd_entry_parse(s, strlen(s), &e, why, sizeof why), -EINVAL);
        if (!strstr(why, want_why))
                fail_msg("'%s': why is '%s', want '%s'", s, why, want_why);
}

static void test_canonical_forms(void **state)
{
        static const struct {
                const char *in, *text;
                uint8_t fam;
        } cases[] = {
                { "10.0.0.1", "10.0.0.1", FD_V4 },
                { "10.0.0.5/24", "10.0.0.0/24", FD_V4 },      /* host bits cleared */
                { "10.0.0.1/32", "10.0.0.1", FD_V4 },         /* a /32 is an address */
                { "0.0.0.0/0", "0.0.0.0/0", FD_V4 },
                { "10.1.1.5-10.1.1.9", "10.1.1.5-10.1.1.9", FD_V4 },
                { "10.1.1.5-10.1.1.5", "10.1.1.5", FD_V4 },   /* one-address range */
                { "FD00:0:0::1/64", "fd00::/64", FD_V6 },
                { "fd00::1-fd00::00ff", "fd00::1-fd00::ff", FD_V6 },
                { "::1", "::1", FD_V6 },
                { "AA:bb:CC:dd:EE:ff", "aa:bb:cc:dd:ee:ff", FD_MAC },
        };

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                struct fd_entry e = parse_ok(cases[i].in);
                assert_string_equal(e.text, cases[i].text);
                assert_int_equal(e.fam, cases[i].fam);
        }
}

static void test_bounds(void **state)
{
        struct fd_entry e = parse_ok("192.168.7.77/20");
        uint8_t lo[4] = { 192, 168, 0, 0 }, hi[4] = { 192, 168, 15, 255 };

        (void)state;
        assert_memory_equal(e.lo, lo, 4);
        assert_memory_equal(e.hi, hi, 4);
        e = parse_ok("fd99:70::/120");
        assert_int_equal(e.lo[15], 0);
        assert_int_equal(e.hi[15], 0xff);
        assert_int_equal(e.hi[14], 0);
}

static void test_bad_forms_named(void **state)
{
        (void)state;
        parse_bad("", "empty");
        parse_bad("10.0.0.300", "not an IPv4/IPv6 address, CIDR prefix, range a-b or MAC");
        parse_bad("hello", "not an IPv4/IPv6 address");
        parse_bad("10.0.0.0/33", "prefix length must be 0-32 for IPv4");
        parse_bad("fd00::/129", "prefix length must be 0-128 for IPv6");
        parse_bad("10.0.0.0/", "prefix length is not a number");
        parse_bad("10.0.0.0/2x", "prefix length is not a number");
        parse_bad("10.0.0.0/08", "prefix length is not a number");
        parse_bad("10.0.0.999/8", "'10.0.0.999' before the prefix length is not an IP address");
        parse_bad("10.0.0.9-10.0.0.1", "range start is after its end");
        parse_bad("10.0.0.1-fd00::1", "range mixes IPv4 and IPv6");
        parse_bad("10.0.0.x-10.0.0.9", "range start '10.0.0.x' is not an IP address");
        parse_bad("10.0.0.1-10.0.0.z", "range end '10.0.0.z' is not an IP address");
        parse_bad("10.0.0.1/24-10.0.0.9", "a range cannot also have a prefix length");
        parse_bad("aa:bb:cc:dd:ee:gg", "not a MAC address");
        parse_bad("10.0.0.1 ", "space or control character");
        parse_bad("10.0.0.1\t", "space or control character");
        parse_bad("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                  "too long");
}

static void test_nul_byte(void **state)
{
        struct fd_entry e;
        char why[128];

        (void)state;
        assert_int_equal(fd_entry_parse("10.0.0.1\0x", 10, &e, why, sizeof why), -EINVAL);
        assert_non_null(strstr(why, "NUL"));
}

static void test_list_add_dedupe_del(void **state)
{
        struct fd_list l = { 0 };
        struct fd_entry v[4] = { parse_ok("10.0.0.2"), parse_ok("10.0.0.1"), parse_ok("10.0.0.2"),
                                 parse_ok("aa:bb:cc:dd:ee:ff") };
        struct fd_entry x = parse_ok("10.0.0.1/32");
        size_t added = 99;

        (void)state;
        assert_int_equal(fd_list_add(&l, v, 4, &added), 0);
        assert_int_equal(added, 3);
        assert_int_equal(l.n, 3);
        assert_int_equal(fd_list_add(&l, &x, 1, &added), 0); /* same entry, other spelling */
        assert_int_equal(added, 0);
        /* sorted: MAC family first, then IPv4 by address */
        assert_string_equal(l.v[0].text, "aa:bb:cc:dd:ee:ff");
        assert_string_equal(l.v[1].text, "10.0.0.1");
        assert_int_equal(fd_list_del(&l, &x), 0);
        assert_int_equal(fd_list_del(&l, &x), -ENOENT);
        assert_int_equal(l.n, 2);
        fd_list_free(&l);
}

static void test_list_limit(void **state)
{
        struct fd_list l = { 0 };
        struct fd_entry *v = calloc(FD_MAX_ENTRIES + 1, sizeof *v);
        size_t added;

        (void)state;
        for (int i = 0; i <= FD_MAX_ENTRIES; i++) {
                char s[32];
                snprintf(s, sizeof s, "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
                v[i] = parse_ok(s);
        }
        assert_int_equal(fd_list_add(&l, v, FD_MAX_ENTRIES, &added), 0);
        assert_int_equal(added, FD_MAX_ENTRIES);
        /* one more is refused and the list is left as it was */
        assert_int_equal(fd_list_add(&l, &v[FD_MAX_ENTRIES], 1, &added), -E2BIG);
        assert_int_equal(l.n, FD_MAX_ENTRIES);
        /* re-adding what is there is fine */
        assert_int_equal(fd_list_add(&l, v, 10, &added), 0);
        assert_int_equal(added, 0);
        fd_list_free(&l);
        free(v);
}

static void test_merge(void **state)
{
        struct fd_list l = { 0 };
        struct fd_entry v[] = { parse_ok("10.0.0.0/24"), parse_ok("10.0.0.128-10.0.1.5"), parse_ok("10.0.1.6"),
                                parse_ok("10.0.3.0/24"), parse_ok("10.0.3.7"), parse_ok("fd00::1"),
                                parse_ok("fd00::2"), parse_ok("02:00:00:00:00:01") };
        struct fd_range *r;
        size_t n;
        char buf[FD_ENTRY_TEXT];

        (void)state;
        assert_int_equal(fd_list_add(&l, v, sizeof v / sizeof *v, NULL), 0);
        assert_int_equal(fd_list_merge(&l, FD_V4, &r, &n), 0);
        assert_int_equal(n, 2); /* overlapping and adjacent joined, contained dropped */
        fd_range_format(FD_V4, &r[0], buf, sizeof buf);
        assert_string_equal(buf, "10.0.0.0-10.0.1.6");
        fd_range_format(FD_V4, &r[1], buf, sizeof buf);
        assert_string_equal(buf, "10.0.3.0/24");
        free(r);
        assert_int_equal(fd_list_merge(&l, FD_V6, &r, &n), 0);
        assert_int_equal(n, 1);
        fd_range_format(FD_V6, &r[0], buf, sizeof buf);
        assert_string_equal(buf, "fd00::1-fd00::2");
        free(r);
        assert_int_equal(fd_list_merge(&l, FD_MAC, &r, &n), 0);
        assert_int_equal(n, 1);
        free(r);
        fd_list_free(&l);
}

static void test_range_spelled_as_prefix(void **state)
{
        struct fd_entry e = parse_ok("10.0.0.0-10.0.0.255");
        struct fd_range r;
        char buf[FD_ENTRY_TEXT];

        (void)state;
        memcpy(r.lo, e.lo, 16);
        memcpy(r.hi, e.hi, 16);
        fd_range_format(FD_V4, &r, buf, sizeof buf);
        assert_string_equal(buf, "10.0.0.0/24");
}

static void test_config_roundtrip(void **state)
{
        struct fd_config c = { .mode = FD_MODE_DENY }, back = { 0 };
        struct fd_entry v[] = { parse_ok("10.0.0.1"), parse_ok("fd00::/64") };
        msgpack_unpacked u;
        const char *why;
        struct ds_err e;
        struct mpw w;

        (void)state;
        assert_int_equal(fd_list_add(&c.list, v, 2, NULL), 0);
        mpw_init(&w);
        fd_config_write(&c, &w);
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why), 0);
        assert_int_equal(fd_config_read(&u.data, &back, &e), 0);
        assert_true(fd_config_equal(&c, &back));
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
        fd_config_free(&back);

        /* a damaged entry in saved state is named */
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "mode", "allow");
        mpw_str(&w, "entries");
        mpw_arr_begin(&w);
        mpw_str(&w, "10.0.0.1");
        mpw_str(&w, "10.0.0.0/40");
        mpw_arr_end(&w);
        mpw_map_end(&w);
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why), 0);
        ds_err_clear(&e);
        assert_int_equal(fd_config_read(&u.data, &back, &e), -EINVAL);
        assert_string_equal(e.field, "state.entries[1]");
        assert_non_null(strstr(e.msg, "'10.0.0.0/40'"));
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
        fd_config_free(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_canonical_forms),  cmocka_unit_test(test_bounds),
                cmocka_unit_test(test_bad_forms_named),  cmocka_unit_test(test_nul_byte),
                cmocka_unit_test(test_list_add_dedupe_del), cmocka_unit_test(test_list_limit),
                cmocka_unit_test(test_merge),            cmocka_unit_test(test_range_spelled_as_prefix),
                cmocka_unit_test(test_config_roundtrip),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
