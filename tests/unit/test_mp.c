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
        msgpack_zone z;
        msgpack_object o;
        struct mp_span sp[4];

        assert_int_equal(r, want);
        assert_non_null(why);
        assert_non_null(strstr(why, why_part));
        /* the one-pass decoder refuses the same input for the same reason */
        why = NULL;
        assert_true(msgpack_zone_init(&z, 256));
        assert_int_equal(mp_decode_spans(buf, len, lim, &z, &o, sp, 4, &why), want);
        assert_non_null(why);
        assert_non_null(strstr(why, why_part));
        msgpack_zone_destroy(&z);
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

/* Every msgpack type, decoded in one pass, equals what msgpack-c unpacks;
 * the spans are the bytes of each top-level value. */
static void one_pass_equals_msgpack_c(void **state)
{
        static const unsigned char msg[] = {
                0x8f,                                           /* map of 15 */
                0xa1, 'a', 0x7f,                                /* positive fixint */
                0xa1, 'b', 0xe0,                                /* negative fixint -32 */
                0xa1, 'c', 0xd0, 0x05,                          /* int8 5: positive */
                0xa1, 'd', 0xd1, 0xff, 0x00,                    /* int16 -256 */
                0xa1, 'e', 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0,     /* int64 min */
                0xa1, 'f', 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* uint64 max */
                0xa1, 'g', 0xca, 0x3f, 0xc0, 0x00, 0x00,        /* float32 1.5 */
                0xa1, 'h', 0xcb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18, /* float64 pi */
                0xa1, 'i', 0xc4, 0x02, 0x00, 0x01,              /* bin 8 */
                0xa1, 'j', 0xd9, 0x03, 'x', 'y', 'z',           /* str 8 */
                0xa1, 'k', 0xd4, 0x07, 0x2a,                    /* fixext 1 */
                0xa1, 'l', 0xc7, 0x02, 0x09, 'p', 'q',          /* ext 8 */
                0xa1, 'm', 0x93, 0xc0, 0xc2, 0xc3,              /* [nil, false, true] */
                0xa1, 'n', 0xde, 0x00, 0x01, 0x01, 0x90,        /* map16 {1: []} */
                0xa1, 'o', 0x80,                                /* {} */
        };
        msgpack_zone z, z2;
        msgpack_object o, ref;
        struct mp_span sp[15];
        const char *why = NULL;
        size_t off = 0;

        (void)state;
        assert_true(msgpack_zone_init(&z, 64) && msgpack_zone_init(&z2, 64));
        assert_int_equal(mp_decode_spans(msg, sizeof msg, NULL, &z, &o, sp, 15, &why), 0);
        assert_int_equal(msgpack_unpack((const char *)msg, sizeof msg, &off, &z2, &ref), MSGPACK_UNPACK_SUCCESS);
        assert_true(msgpack_object_equal(o, ref));
        for (uint32_t i = 0; i < 15; i++) {
                const msgpack_object *v = &o.via.map.ptr[i].val, *rv = &ref.via.map.ptr[i].val;
                msgpack_object one;
                size_t o1 = 0;

                assert_int_equal(v->type, rv->type);
                /* the span holds exactly that value */
                assert_int_equal(msgpack_unpack((const char *)msg + sp[i].off, sp[i].len, &o1, &z2, &one),
                                 MSGPACK_UNPACK_SUCCESS);
                assert_true(msgpack_object_equal(one, *rv));
        }
        assert_int_equal(o.via.map.ptr[2].val.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
        assert_int_equal(o.via.map.ptr[4].val.via.i64, INT64_MIN);
        assert_int_equal(o.via.map.ptr[6].val.type, MSGPACK_OBJECT_FLOAT32);
        assert_null(o.via.map.ptr[14].val.via.map.ptr);
        msgpack_zone_destroy(&z);
        msgpack_zone_destroy(&z2);
}

/* The writer's shortcuts (short strings, small ints, bools, raw bytes
 * straight into its buffer) write what msgpack-c's packer writes. */
static void writer_bytes_as_msgpack_c(void **state)
{
        static const char s40[] = "0123456789012345678901234567890123456789";
        msgpack_sbuffer sb;
        msgpack_packer pk;
        struct mpw w;

        (void)state;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        mpw_init(&w);
        mpw_arr_begin(&w);
        for (size_t n = 0; n <= 40; n++) {
                mpw_strn(&w, s40, n);
                msgpack_pack_str(&pk, n);
                msgpack_pack_str_body(&pk, s40, n);
        }
        for (int64_t v = -40; v <= 300; v += 7) {
                mpw_int(&w, v);
                msgpack_pack_int64(&pk, v);
                if (v >= 0) {
                        mpw_uint(&w, (uint64_t)v);
                        msgpack_pack_uint64(&pk, (uint64_t)v);
                }
        }
        mpw_bool(&w, true);
        mpw_bool(&w, false);
        msgpack_pack_true(&pk);
        msgpack_pack_false(&pk);
        mpw_raw(&w, "\x93\x01\x02\x03", 4);
        msgpack_sbuffer_write(&sb, "\x93\x01\x02\x03", 4);
        mpw_arr_end(&w);
        assert_int_equal(mpw_finish(&w), 0);
        assert_int_equal(mpw_len(&w), sb.size + 5); /* + the array header */
        assert_memory_equal(mpw_data(&w) + 5, sb.data, sb.size);
        mpw_free(&w);
        msgpack_sbuffer_destroy(&sb);
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
                cmocka_unit_test(one_pass_equals_msgpack_c),
                cmocka_unit_test(writer_bytes_as_msgpack_c),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
