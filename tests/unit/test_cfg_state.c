/* test_cfg_state - libconfig files through a schema, layered settings, atomic state */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cfg.h"
#include "state.h"

static const struct ds_field srv = { "", DS_STR, 0, .check = ds_check_hostport };
static const struct ds_field schema[] = {
        { "port", DS_INT, 0, .min = 1, .max = 65535, .def_int = 443 },
        { "enabled", DS_BOOL, 0, .def_bool = true },
        { "name", DS_STR, 0, .max_len = 16, .def_str = "cam" },
        { "servers", DS_ARRAY, 0, .max_len = 8, .sub = &srv },
        { "secret", DS_STR, DS_SECRET, .def_str = "" },
        { NULL },
};

static char dir[64];

static int setup(void **state)
{
        (void)state;
        snprintf(dir, sizeof dir, "/tmp/ds-unit.XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
        char cmd[128];

        (void)state;
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        return system(cmd);
}

static void write_file(const char *name, const char *text)
{
        char p[256];
        FILE *f;

        snprintf(p, sizeof p, "%s/%s", dir, name);
        f = fopen(p, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static int read_conf(const char *text, struct ds_err *e)
{
        char p[256];
        struct mpw w;
        int r;

        write_file("x.conf", text);
        snprintf(p, sizeof p, "%s/x.conf", dir);
        mpw_init(&w);
        ds_err_clear(e);
        r = cfg_read_file(p, schema, &w, e);
        mpw_free(&w);
        return r;
}

static void config_errors_cite_file_and_line(void **state)
{
        struct ds_err e;

        (void)state;
        assert_int_equal(read_conf("port = 8443;\nservers = [\"ntp1:123\"];\n", &e), 0);
        assert_int_equal(read_conf("port = 8443;\n\nportt = 1;\n", &e), -EINVAL);
        assert_non_null(strstr(e.msg, "x.conf:3: unknown key 'portt'"));
        assert_int_equal(read_conf("port = \"443\";\n", &e), -EINVAL);
        assert_non_null(strstr(e.msg, "x.conf:1: 'port' must be an integer"));
        assert_int_equal(read_conf("enabled = true;\nport = 70000;\n", &e), -EINVAL);
        assert_non_null(strstr(e.msg, "x.conf:2: 'port' must be between 1 and 65535"));
        assert_int_equal(read_conf("port = ;\n", &e), -EINVAL);
        assert_non_null(strstr(e.msg, "x.conf:1:"));
        assert_int_equal(read_conf("servers = [\"a:b:c\"];\n", &e), -EINVAL);
        assert_non_null(strstr(e.msg, "servers[0]"));
}

static void settings_layering(void **state)
{
        struct ds_settings s;
        struct ds_err e;
        struct mpw a, b;
        msgpack_unpacked ua, ub;
        const char *why;
        const msgpack_object *layers[2];

        (void)state;
        mpw_init(&a);
        mpw_map_begin(&a);
        mpw_kv_int(&a, "port", 8443);
        mpw_kv_str(&a, "name", "file");
        mpw_map_end(&a);
        mpw_init(&b);
        mpw_map_begin(&b);
        mpw_kv_str(&b, "name", "override");
        mpw_kv_str(&b, "secret", "s3cr3t");
        mpw_map_end(&b);
        mp_decode(mpw_data(&a), mpw_len(&a), NULL, &ua, &why);
        mp_decode(mpw_data(&b), mpw_len(&b), NULL, &ub, &why);
        layers[0] = &ua.data;
        layers[1] = &ub.data;
        assert_int_equal(ds_settings_build(schema, layers, 2, &s, &e), 0);
        assert_int_equal(ds_settings_int(&s, "port"), 8443);
        assert_true(ds_settings_bool(&s, "enabled"));
        assert_string_equal(ds_settings_str(&s, "name"), "override");
        {
                struct mpw out;
                msgpack_unpacked u;
                mpw_init(&out);
                ds_settings_write(&s, &out, false);
                mp_decode(mpw_data(&out), mpw_len(&out), NULL, &u, &why);
                assert_null(mp_get(&u.data, "secret")); /* secrets never leave with a plain get */
                assert_non_null(mp_get(&u.data, "port"));
                msgpack_unpacked_destroy(&u);
                mpw_free(&out);
        }
        ds_settings_free(&s);
        msgpack_unpacked_destroy(&ua);
        msgpack_unpacked_destroy(&ub);
        mpw_free(&a);
        mpw_free(&b);
}

static void state_write_is_atomic_and_private(void **state)
{
        char *buf;
        size_t len;
        struct stat st;
        char p[256];

        (void)state;
        assert_int_equal(state_write(dir, "s.mp", "one", 3, 0600), 0);
        assert_int_equal(state_write(dir, "s.mp", "second", 6, 0600), 0);
        assert_int_equal(state_read(dir, "s.mp", 100, &buf, &len), 0);
        assert_int_equal(len, 6);
        assert_memory_equal(buf, "second", 6);
        free(buf);
        snprintf(p, sizeof p, "%s/s.mp", dir);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        /* no temp file is left behind */
        snprintf(p, sizeof p, "%s/.s.mp.tmp.%d", dir, (int)getpid());
        assert_int_not_equal(access(p, F_OK), 0);
        assert_int_equal(state_read(dir, "s.mp", 3, &buf, &len), -EFBIG);
        assert_int_equal(state_read(dir, "absent", 3, &buf, &len), -ENOENT);
        assert_int_equal(state_remove(dir, "s.mp"), 0);
        assert_int_equal(state_remove(dir, "s.mp"), 0);
        assert_int_equal(state_write("/nonexistent/dir", "x", "1", 1, 0600), -ENOENT);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(config_errors_cite_file_and_line),
                cmocka_unit_test(settings_layering),
                cmocka_unit_test(state_write_is_atomic_and_private),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
