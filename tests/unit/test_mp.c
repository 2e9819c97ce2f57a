/* test_mp - the msgpack writer and the bounded decoder */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mp.h"

static void roundtrip_nested_maps(void **state)
{
        struct mpw w;
        msgpack_unpacked u;
        const char *why;
        const msgpack_object *inner;

        (void)state;
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "name", "cam1");
        mpw_kv_int(&w, "port", -37777);
        mpw_str(&w, "tags");
        mpw_arr_begin(&w);
        mpw_str(&w, "a");
        mpw_uint(&w, 7);
        mpw_arr_end(&w);
        mpw_str(&w, "inner");
        mpw_map_begin(&w);
        mpw_kv_bool(&w, "on", true);
        mpw_map_end(&w);
        mpw_map_end(&w);
        assert_int_equal(mpw_finish(&w), 0);
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why), 0);
        assert_true(mp_streq(mp_get(&u.data, "name"), "cam1"));
        assert_int_equal(mp_get_int(&u.data, "port", 0), -37777);
        assert_int_equal(mp_get(&u.data, "tags")->via.array.size, 2);
        inner = mp_get(&u.data, "inner");
        assert_true(mp_get_bool(inner, "on", false));
        assert_null(mp_get(&u.data, "absent"));
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
}

static void unbalanced_writer_is_reported(void **state)
{
        struct mpw w;

        (void)state;
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_str(&w, "key-without-value");
        mpw_map_end(&w);
        assert_int_not_equal(mpw_finish(&w), 0);
        mpw_reset(&w);
        mpw_map_begin(&w);
        assert_int_not_equal(mpw_finish(&w), 0);
        mpw_free(&w);
}

static void check_rejects(const void *buf, size_t len, const struct mp_limits *lim, int want, const char *why_part)
{
        const char *why = NULL;
        int r = mp_check(buf, len, lim, &why);

        assert_int_equal(r, want);
        assert_non_null(why);
        assert_non_null(strstr(why, why_part));
}

static void truncated_and_trailing(void **state)
{
        const unsigned char trunc_map[] = { 0x82, 0xa1, 'a', 0x01 };         /* map of 2, 1 given */
        const unsigned char trunc_str[] = { 0xa5, 'a', 'b' };                  /* str 5, 2 given */
        const unsigned char trailing[] = { 0x80, 0x00 };                       /* {} then 0 */
        const unsigned char bad_type[] = { 0xc1 };
        const unsigned char huge_map[] = { 0xdf, 0xff, 0xff, 0xff, 0xff };     /* 4G entries claimed */

        (void)state;
        check_rejects(trunc_map, sizeof trunc_map, NULL, -EBADMSG, "truncated");
        check_rejects(trunc_str, sizeof trunc_str, NULL, -EBADMSG, "truncated");
        check_rejects(trailing, sizeof trailing, NULL, -EBADMSG, "trailing");
        check_rejects(bad_type, sizeof bad_type, NULL, -EBADMSG, "invalid type");
        check_rejects(huge_map, sizeof huge_map, NULL, -EMSGSIZE, "too many");
        check_rejects("", 0, NULL, -EBADMSG, "empty");
}

static void limits_depth_items_size(void **state)
{
        struct mp_limits lim = { .max_msg = 64, .max_depth = 3, .max_items = 4, .max_str = 8 };
        unsigned char deep[100];
        unsigned char many[] = { 0x95, 1, 2, 3, 4, 5 };
        unsigned char longstr[] = { 0xa9, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a' };
        unsigned char big[65] = { 0 };

        (void)state;
        memset(deep, 0x91, sizeof deep); /* arrays of one array ... */
        deep[99] = 0x00;
        check_rejects(deep, 100, &lim, -EMSGSIZE, "large"); /* 100 > 64 bytes first */
        check_rejects(deep + 60, 40, &lim, -EMSGSIZE, "deep");
        check_rejects(many, sizeof many, &lim, -EMSGSIZE, "too many");
        check_rejects(longstr, sizeof longstr, &lim, -EMSGSIZE, "too long");
        check_rejects(big, sizeof big, &lim, -EMSGSIZE, "too large");
}

static void ints_and_strings(void **state)
{
        struct mpw w;
        msgpack_unpacked u;
        const char *why;
        int64_t v;
        char buf[4];

        (void)state;
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_uint(&w, "big", UINT64_MAX);
        mpw_kv_str(&w, "s", "hello");
        mpw_str(&w, "nul");
        mpw_strn(&w, "a\0b", 3);
        mpw_map_end(&w);
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why), 0);
        assert_int_equal(mp_to_int64(mp_get(&u.data, "big"), &v), -ERANGE);
        assert_int_equal(mp_strcpy(mp_get(&u.data, "s"), buf, sizeof buf), -E2BIG);
        assert_null(mp_strdup(mp_get(&u.data, "nul")));
        assert_int_equal(mp_strcpy(mp_get(&u.data, "nul"), buf, sizeof buf), -EINVAL);
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
}

/* Raw spans: mp_item_len over every shape, mp_peek_value for the first,
 * middle and last key, duplicates, non-string keys and cut buffers. */
static void raw_spans(void **state)
{
        static const unsigned char shapes[][12] = {
                { 1, 0x05 }, { 1, 0xc0 }, { 2, 0xcc, 1 }, { 3, 0xcd, 1, 2 }, { 5, 0xce, 0, 0, 0, 1 },
                { 9, 0xcf, 0, 0, 0, 0, 0, 0, 0, 1 }, { 2, 0xd0, 0xff }, { 9, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0 },
                { 3, 0xa2, 'h', 'i' }, { 4, 0xd9, 2, 'h', 'i' }, { 5, 0xda, 0, 2, 'h', 'i' },
                { 4, 0xc4, 2, 1, 2 }, { 3, 0xd4, 1, 2 }, { 4, 0x92, 0x01, 0x91, 0x90 },
                { 3, 0xdc, 0, 0 }, { 7, 0xdf, 0, 0, 0, 1, 0x01, 0x02 }, { 4, 0x81, 0xa1, 'a', 0x80 },
        };
        struct mpw w;
        const void *p;
        size_t n;

        (void)state;
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
                size_t want = shapes[i][0], got = 0;
                unsigned char buf[16];

                memcpy(buf, shapes[i] + 1, want);
                buf[want] = 0xc0; /* a next item: never part of this one */
                assert_int_equal(mp_item_len(buf, want + 1, &got), 0);
                if (got != want)
                        fail_msg("shape %zu: %zu bytes, want %zu", i, got, want);
                if (mp_item_len(buf, want - 1, &got) != -EBADMSG)
                        fail_msg("shape %zu cut short accepted", i);
        }
        assert_int_equal(mp_item_len("", 0, &n), -EBADMSG);

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "a", "first");
        mpw_int(&w, 7); /* a key that is not a string */
        mpw_str(&w, "data");
        mpw_str(&w, "data");
        mpw_map_begin(&w);
        mpw_kv_int(&w, "x", 1);
        mpw_map_end(&w);
        mpw_kv_str(&w, "data", "second"); /* a duplicate: the first counts */
        mpw_str(&w, "z");
        mpw_arr_begin(&w);
        mpw_int(&w, 1);
        mpw_int(&w, 2);
        mpw_arr_end(&w);
        mpw_map_end(&w);
        assert_int_equal(mp_peek_value(mpw_data(&w), mpw_len(&w), "a", &p, &n), 0);
        assert_int_equal(n, 6);
        assert_memory_equal(p, "\xa5" "first", 6);
        assert_int_equal(mp_peek_value(mpw_data(&w), mpw_len(&w), "data", &p, &n), 0);
        assert_int_equal(n, 1 + 4 + 2 + 1); /* the map {"x": 1} with its 32-bit header */
        assert_int_equal(*(const unsigned char *)p, 0xdf);
        assert_int_equal(mp_peek_value(mpw_data(&w), mpw_len(&w), "z", &p, &n), 0); /* the last: to the end */
        assert_int_equal(n, 5 + 2);
        assert_int_equal(mp_peek_value(mpw_data(&w), mpw_len(&w), "missing", &p, &n), -ENOENT);
        /* checked bytes only: the last value is taken as it is, not walked */
        assert_int_equal(mp_peek_value(mpw_data(&w), mpw_len(&w) - 3, "z", &p, &n), 0);
        assert_int_equal(mp_peek_value(mpw_data(&w), 20, "data", &p, &n), -ENOENT); /* cut inside */
        assert_int_equal(mp_peek_value("\x93\x01\x02\x03", 4, "a", &p, &n), -ENOENT); /* not a map */
        assert_int_equal(mp_peek_value("\x81\xa1z", 3, "z", &p, &n), -ENOENT);       /* no value */
        mpw_free(&w);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(roundtrip_nested_maps),
                cmocka_unit_test(unbalanced_writer_is_reported),
                cmocka_unit_test(truncated_and_trailing),
                cmocka_unit_test(limits_depth_items_size),
                cmocka_unit_test(ints_and_strings),
                cmocka_unit_test(raw_spans),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
