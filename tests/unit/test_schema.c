/* test_schema - argument validation names the offending field */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "schema.h"

static const char *const modes[] = { "off", "allow", "deny", NULL };
static const struct ds_field item = { "", DS_STR, 0, .check = ds_check_ip };
static const struct ds_field inner[] = { { "host", DS_STR, DS_REQUIRED, .check = ds_check_hostport }, { NULL } };
static const struct ds_field fields[] = {
        { "name", DS_STR, DS_REQUIRED, .max_len = 32, .check = ds_check_name },
        { "port", DS_INT, 0, .min = 1, .max = 65535 },
        { "mode", DS_STR, 0, .enums = modes },
        { "on", DS_BOOL, 0 },
        { "ips", DS_ARRAY, 0, .max_len = 3, .sub = &item },
        { "server", DS_MAP, 0, .sub = inner },
        { "email", DS_STR, 0, .check = ds_check_email },
        { NULL },
};

/* builds a map from alternating key, "typed" value strings: i:N, b:1, s:text, a:ip,ip */
static void build(struct mpw *w, const char *const *kv)
{
        mpw_map_begin(w);
        for (; kv[0]; kv += 2) {
                const char *v = kv[1];
                mpw_str(w, kv[0]);
                if (v[0] == 'i')
                        mpw_int(w, atoll(v + 2));
                else if (v[0] == 'b')
                        mpw_bool(w, v[2] == '1');
                else if (v[0] == 'a') {
                        char tmp[256], *save, *t;
                        snprintf(tmp, sizeof tmp, "%s", v + 2);
                        mpw_arr_begin(w);
                        for (t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save))
                                mpw_str(w, t);
                        mpw_arr_end(w);
                } else if (v[0] == 'm') {
                        mpw_map_begin(w);
                        mpw_kv_str(w, "host", v + 2);
                        mpw_map_end(w);
                } else
                        mpw_str(w, v + 2);
        }
        mpw_map_end(w);
}

static int validate(const char *const *kv, struct ds_err *e)
{
        struct mpw w;
        msgpack_unpacked u;
        const char *why;
        int r;

        mpw_init(&w);
        build(&w, kv);
        assert_int_equal(mp_decode(mpw_data(&w), mpw_len(&w), NULL, &u, &why), 0);
        ds_err_clear(e);
        r = ds_validate(fields, &u.data, e);
        msgpack_unpacked_destroy(&u);
        mpw_free(&w);
        return r;
}

struct reject_case {
        const char *kv[8];
        const char *field;
        const char *msg_part;
};

static void valid_args_pass(void **state)
{
        struct ds_err e;
        const char *const kv[] = { "name", "s:cam-1", "port", "i:554", "mode", "s:allow", "on", "b:1",
                                   "ips", "a:10.0.0.1,::1", "server", "m:[::1]:514", "email", "s:ops@example.com", NULL };

        (void)state;
        assert_int_equal(validate(kv, &e), 0);
}

static void each_violation_names_its_field(void **state)
{
        static const struct reject_case cases[] = {
                { { "port", "i:1", NULL }, "name", "is required" },
                { { "name", "s:", NULL }, "name", "1 to 32" },
                { { "name", "s:a b", NULL }, "name", "may contain only" },
                { { "name", "s:x", "port", "i:0", NULL }, "port", "between 1 and 65535" },
                { { "name", "s:x", "port", "i:65536", NULL }, "port", "between 1 and 65535" },
                { { "name", "s:x", "port", "s:80", NULL }, "port", "must be an integer, not string" },
                { { "name", "s:x", "mode", "s:maybe", NULL }, "mode", "one of: off, allow, deny" },
                { { "name", "s:x", "on", "s:yes", NULL }, "on", "boolean" },
                { { "name", "s:x", "ips", "a:1.2.3.4,nope", NULL }, "ips[1]", "not an IP" },
                { { "name", "s:x", "ips", "a:1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4", NULL }, "ips", "at most 3" },
                { { "name", "s:x", "server", "m:host:99999", NULL }, "server.host", "port" },
                { { "name", "s:x", "email", "s:nobody", NULL }, "email", "e-mail" },
                { { "name", "s:x", "bogus", "i:1", NULL }, "bogus", "unknown argument" },
        };

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct ds_err e;
                int r = validate(cases[i].kv, &e);

                assert_int_equal(r, -EINVAL);
                if (strcmp(e.field, cases[i].field) || !strstr(e.msg, cases[i].msg_part))
                        fail_msg("case %zu: got field '%s' msg '%s'", i, e.field, e.msg);
        }
}

static void patterns(void **state)
{
        (void)state;
        assert_null(ds_check_hostport("ntp.example.com:123", 19));
        assert_null(ds_check_hostport("127.0.0.1", 9));
        assert_non_null(ds_check_hostport("a:b:c", 5));
        assert_non_null(ds_check_hostport("host:0", 6));
        assert_null(ds_check_mac("aa:bb:cc:dd:ee:ff", 17));
        assert_non_null(ds_check_mac("aa:bb:cc:dd:ee:gg", 17));
        assert_null(ds_check_path("/var/lib/x", 10));
        assert_non_null(ds_check_path("/var/../etc", 11));
        assert_non_null(ds_check_path("rel", 3));
        assert_non_null(ds_check_printable("a\x1b[2J", 5));
}

static void schema_selftest_catches_mistakes(void **state)
{
        const struct ds_field dup[] = { { "a", DS_INT }, { "a", DS_STR }, { NULL } };
        const struct ds_field range[] = { { "a", DS_INT, 0, .min = 5, .max = 1 }, { NULL } };
        struct ds_err e;

        (void)state;
        assert_int_equal(ds_schema_selftest(fields, &e), 0);
        assert_int_equal(ds_schema_selftest(dup, &e), -EINVAL);
        assert_int_equal(ds_schema_selftest(range, &e), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(valid_args_pass),
                cmocka_unit_test(each_violation_names_its_field),
                cmocka_unit_test(patterns),
                cmocka_unit_test(schema_selftest_catches_mistakes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
