/* test_json - the JSON <-> msgpack bridge and its limits */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"

/* Parses text, re-encodes the value and returns the JSON (caller frees). */
static char *through(const char *text)
{
        struct mpw w;
        msgpack_unpacked u;
        const char *why;
        char err[160];
        char *out;

        mpw_init(&w);
        assert_int_equal(ds_json_to_mp(text, strlen(text), &w, err, sizeof err), 0);
        assert_int_equal(mpw_finish(&w), 0);
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why), 0);
        out = ds_json_dumps(&u.data);
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
        assert_non_null(out);
        return out;
}

/* Parses text expecting a refusal; returns the error text (static). */
static const char *refused(const char *text, size_t len, int want)
{
        static char err[160];
        struct mpw w;

        mpw_init(&w);
        assert_int_equal(ds_json_to_mp(text, len, &w, err, sizeof err), want);
        mpw_free(&w);
        return err;
}

static void roundtrip_keeps_types_and_order(void **state)
{
        const char *in = "{\"service\":\"authd\",\"n\":-37777,\"big\":9007199254740993,\"on\":true,"
                         "\"off\":false,\"none\":null,\"x\":0.25,\"list\":[1,\"a\",[]],\"m\":{}}";
        char *out;

        (void)state;
        out = through(in);
        assert_string_equal(out, in);
        free(out);
}

static void unicode_escapes_decode(void **state)
{
        char *out;

        (void)state;
        out = through("\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\"\"");
        assert_string_equal(out, "\"caf\xc3\xa9 \xf0\x9f\x98\x80 \\\"q\\\"\"");
        free(out);
}

static void malformed_input_is_refused_with_its_place(void **state)
{
        const char *e;

        (void)state;
        e = refused("{\"a\":1,}", 8, -EINVAL);
        assert_non_null(strstr(e, "line 1 column"));
        refused("{\"a\":1", 6, -EINVAL);
        refused("[1 2]", 5, -EINVAL);
        refused("{\"a\":1} x", 9, -EINVAL);
        refused("", 0, -EINVAL);
        refused("\"\\x\"", 4, -EINVAL);
        refused("nul", 3, -EINVAL);
}

static void a_key_given_twice_is_refused(void **state)
{
        const char *e;

        (void)state;
        e = refused("{\"group\":\"operator\",\"group\":\"admin\"}", 37, -EINVAL);
        assert_non_null(strstr(e, "group"));
}

static void invalid_utf8_and_nul_are_refused(void **state)
{
        (void)state;
        refused("\"\xc3\x28\"", 4, -EINVAL);
        refused("\"\xed\xa0\x80\"", 5, -EINVAL); /* a surrogate written as UTF-8 */
        refused("\"a\\u0000b\"", 10, -EINVAL);
        refused("\"a\0b\"", 5, -EINVAL);
}

static void integers_beyond_64_bits_are_refused(void **state)
{
        const char *e;

        (void)state;
        e = refused("18446744073709551616", 20, -EINVAL);
        assert_non_null(strstr(e, "integer"));
}

static void nesting_is_bounded(void **state)
{
        char deep[2 * (DS_JSON_MAX_DEPTH + 1) + 1], ok[2 * DS_JSON_MAX_DEPTH + 1];
        const char *e;
        char *out;

        (void)state;
        memset(deep, '[', DS_JSON_MAX_DEPTH + 1);
        memset(deep + DS_JSON_MAX_DEPTH + 1, ']', DS_JSON_MAX_DEPTH + 1);
        deep[sizeof deep - 1] = '\0';
        e = refused(deep, strlen(deep), -EINVAL);
        assert_non_null(strstr(e, "nested too deeply"));
        memset(ok, '[', DS_JSON_MAX_DEPTH);
        memset(ok + DS_JSON_MAX_DEPTH, ']', DS_JSON_MAX_DEPTH);
        ok[sizeof ok - 1] = '\0';
        out = through(ok);
        assert_string_equal(out, ok);
        free(out);
}

static void items_are_bounded_by_the_bus(void **state)
{
        size_t n = (size_t)mp_limits_default.max_items + 1;
        char *big = malloc(2 * n + 2);
        const char *e;
        char *p = big;

        (void)state;
        assert_non_null(big);
        *p++ = '[';
        for (size_t i = 0; i < n; i++) {
                *p++ = '0';
                *p++ = ',';
        }
        p[-1] = ']';
        e = refused(big, (size_t)(p - big), -EINVAL);
        assert_non_null(strstr(e, "more items"));
        free(big);
}

static void size_is_bounded_by_the_bus(void **state)
{
        size_t n = DS_JSON_MAX_SIZE + 1;
        char *big = malloc(n);

        (void)state;
        assert_non_null(big);
        memset(big, ' ', n);
        big[0] = '1';
        refused(big, n, -EMSGSIZE);
        free(big);
}

static void output_of_what_json_cannot_hold(void **state)
{
        struct mpw w;
        msgpack_unpacked u;
        const char *why;
        char *out;

        (void)state;
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_str(&w, "bin");
        mpw_bin(&w, "\x01\xab", 2);
        mpw_str(&w, "bad");
        mpw_strn(&w, "a\xffz", 3);
        mpw_int(&w, 7); /* a key that is not a string */
        mpw_str(&w, "seven");
        mpw_str(&w, "inf");
        mpw_double(&w, 1.0 / 0.0);
        mpw_map_end(&w);
        assert_int_equal(mpw_finish(&w), 0);
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why), 0);
        out = ds_json_dumps(&u.data);
        assert_string_equal(out, "{\"bin\":\"01ab\",\"bad\":\"a\xef\xbf\xbdz\",\"7\":\"seven\",\"inf\":null}");
        free(out);
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(roundtrip_keeps_types_and_order),
                cmocka_unit_test(unicode_escapes_decode),
                cmocka_unit_test(malformed_input_is_refused_with_its_place),
                cmocka_unit_test(a_key_given_twice_is_refused),
                cmocka_unit_test(invalid_utf8_and_nul_are_refused),
                cmocka_unit_test(integers_beyond_64_bits_are_refused),
                cmocka_unit_test(nesting_is_bounded),
                cmocka_unit_test(items_are_bounded_by_the_bus),
                cmocka_unit_test(size_is_bounded_by_the_bus),
                cmocka_unit_test(output_of_what_json_cannot_hold),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
